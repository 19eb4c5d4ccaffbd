/*
 * tw_loop.h - a small event loop over epoll, an eventfd and timers, in the
 * manner of Redis's ae.h: file events (a descriptor, READ/WRITE, a
 * callback and its user data) and one-shot timers (milliseconds, a
 * callback), run one iteration at a time or until stopped.
 *
 * Threads: one thread runs the loop (the "loop thread") and only it may
 * call the functions below, callbacks included, with two exceptions:
 * tw_loop_wake() and tw_loop_stop() may be called from any thread at any
 * time while the loop exists. Nothing here takes a lock; callbacks run on
 * the loop thread, one at a time, and may add, modify or remove any file
 * event or timer (their own too). A callback must not free the loop.
 *
 * Ownership: the loop owns its epoll descriptor, its eventfd and its
 * tables; it never owns or closes the descriptors it watches (the caller
 * closes them, after tw_loop_file_del() or with tw_loop_file_forget()).
 *
 * Economy: the loop keeps a record of what each descriptor is registered
 * for, so tw_loop_file_set() on a registered descriptor is one
 * epoll_ctl(MOD), never DEL then ADD; a caller may leave an idle
 * descriptor registered and ignore its events (plugin/sender.c does this
 * for kept-alive connections) and remove it only when it reports news.
 * An event already collected for a descriptor that a callback removed (or
 * removed and registered again) in the same iteration is not delivered.
 *
 * Who uses it: plugin/sender.c (the libcurl multi engine: libcurl's
 * sockets are file events, libcurl's timer is a loop timer, host threads
 * wake it). The webhook does not: libmicrohttpd runs its own internal
 * threads and polling (MHD_USE_INTERNAL_POLLING_THREAD with MHD_USE_ITC),
 * and the webhook's worker threads block on the host's publish, which a
 * loop thread must never do (it would stall every other connection on
 * the loop). One loop per user, each for its stated reason.
 */
#ifndef TW_LOOP_H
#define TW_LOOP_H

#include <signal.h>
#include <stddef.h>

typedef struct tw_loop tw_loop;

/* What a file event watches (tw_loop_file_set) and what fired (the
 * callback's FIRED: READ/WRITE as asked, ERROR and HUP always reported). */
enum {
	TW_LOOP_READ = 1,
	TW_LOOP_WRITE = 2,
	TW_LOOP_ERROR = 4, /* EPOLLERR */
	TW_LOOP_HUP = 8    /* EPOLLHUP or EPOLLRDHUP */
};

/* A descriptor is ready: FIRED is a mask of TW_LOOP_*. Loop thread. */
typedef void tw_loop_file_fn(tw_loop *loop, int fd, int fired, void *ud);

/* Timer ID is due (it is no longer armed when this runs). Loop thread. */
typedef void tw_loop_timer_fn(tw_loop *loop, long long id, void *ud);

/*
 * A new loop: an epoll set holding its own eventfd (for tw_loop_wake),
 * both close-on-exec.
 * Returns NULL with ERR naming the system call and the reason (out of
 * descriptors, out of memory).
 */
tw_loop *tw_loop_new(char *err, size_t errlen);

/* Close the loop's epoll set and eventfd and free it. Registered
 * descriptors are not closed; armed timers never fire. LOOP may be NULL.
 * Not from a callback; no other thread may still wake or stop it. */
void tw_loop_free(tw_loop *loop);

/*
 * Watch FD for MASK (TW_LOOP_READ and/or TW_LOOP_WRITE, not 0), calling
 * FN(loop, fd, fired, UD) when it is ready; replaces FD's mask, callback
 * and data when FD is registered already (one epoll_ctl MOD; ADD when the
 * kernel no longer holds it, as after a close and reuse of the number).
 * Returns 0, or -1 with errno set (EINVAL for a bad FD or MASK, ENOMEM,
 * or epoll_ctl's error); on failure FD is not registered.
 */
int tw_loop_file_set(tw_loop *loop, int fd, int mask, tw_loop_file_fn *fn,
                     void *ud);

/* Stop watching FD (epoll_ctl DEL, issued even when the loop has no
 * record of FD). Returns 0, or -1 with errno when the kernel did not hold
 * FD (the record is cleared all the same). */
int tw_loop_file_del(tw_loop *loop, int fd);

/* FD was closed (which took it out of the epoll set): drop the record
 * without a system call. LOOP may be NULL. */
void tw_loop_file_forget(tw_loop *loop, int fd);

/* What FD is registered for (TW_LOOP_READ|TW_LOOP_WRITE), 0 when it is
 * not registered. */
int tw_loop_file_mask(const tw_loop *loop, int fd);

/*
 * Call FN(loop, id, UD) once, MS milliseconds from now (0: in the next
 * iteration). Timers fire in the order of their due times, equal ones in
 * the order they were added; a timer added by a timer callback fires in a
 * later iteration, never in the one that added it.
 * Returns the timer's id (> 0), or -1 out of memory. The first 8 timers
 * need no allocation: a caller that keeps at most 8 armed cannot fail.
 * Cost: O(log n) to add, O(n) to cancel (meant for a handful of timers).
 */
long long tw_loop_timer_add(tw_loop *loop, long long ms, tw_loop_timer_fn *fn,
                            void *ud);

/* Disarm timer ID. 0, or -1 when it is not armed (fired or unknown). */
int tw_loop_timer_cancel(tw_loop *loop, long long id);

/* Wake the loop thread from tw_loop_run_once()'s wait. Any thread;
 * async-signal-safe (one write to the eventfd); never blocks. */
void tw_loop_wake(tw_loop *loop);

/*
 * Run one iteration: wait up to TIMEOUT_MS (-1: no limit) or until the
 * nearest timer is due, whichever comes first, or until a descriptor is
 * ready or a wake-up arrives; then call the callbacks of the ready
 * descriptors, then those of the due timers.
 * Returns the number of callbacks called, or -1 with errno when
 * epoll_wait failed (not EINTR, which counts as an empty iteration).
 */
int tw_loop_run_once(tw_loop *loop, int timeout_ms);

/* Run iterations until tw_loop_stop(). Returns 0, or -1 as
 * tw_loop_run_once(). Clears the stop request on return. */
int tw_loop_run(tw_loop *loop);

/* Make tw_loop_run() return after the current iteration. Any thread. */
void tw_loop_stop(tw_loop *loop);

/*
 * Block every asynchronous signal in the calling thread, saving its mask
 * in OLD; restore it with pthread_sigmask(SIG_SETMASK, OLD, NULL). Called
 * around the creation of the plugin's threads (the sender's, and
 * libmicrohttpd's, which inherit the mask of the thread that starts the
 * daemon): a process-directed signal (SIGTERM, SIGHUP, SIGINT, SIGPIPE,
 * SIGCHLD, ...) is then never delivered to a plugin thread, whose code the
 * host may unmap, and never interrupts its system calls. Synchronous
 * signals (SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP, SIGSYS, SIGABRT) stay
 * deliverable: blocking those would turn a crash into a hang.
 * Threads: any (affects only the calling thread).
 */
void tw_block_async_signals(sigset_t *old);

#endif /* TW_LOOP_H */
