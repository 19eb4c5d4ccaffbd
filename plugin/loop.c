/*
 * loop.c - the event loop of tw_loop.h: epoll, an eventfd for wake-ups
 * from other threads, and a binary heap of one-shot timers.
 *
 * Owns: the epoll descriptor, the eventfd, the per-descriptor records
 * (what each registered descriptor watches, its callback, a generation
 * number) and the timer heap. Thread rules are in tw_loop.h: one loop
 * thread; wake and stop from anywhere.
 *
 * Each registration carries a generation in its epoll data, so an event
 * collected in an iteration is dropped when a callback earlier in the same
 * iteration removed that descriptor, even if the number was registered
 * again meanwhile (a closed socket's number is reused at once).
 */
#include "tw_loop.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#define LOOP_EVENTS     64 /* events collected per epoll_wait */
#define LOOP_TIMERS_MIN 8  /* timers preallocated (see tw_loop_timer_add) */

typedef struct loop_file {
	int mask;     /* TW_LOOP_READ|WRITE, 0: not registered */
	uint32_t gen; /* of the current registration */
	tw_loop_file_fn *fn;
	void *ud;
} loop_file;

typedef struct loop_timer {
	long long due; /* monotonic ms */
	long long id;
	tw_loop_timer_fn *fn;
	void *ud;
} loop_timer;

struct tw_loop {
	int epfd;
	int wakefd;
	loop_file *files; /* indexed by descriptor, grown on demand */
	size_t nfiles;
	uint32_t gen;
	loop_timer *timers; /* a min-heap on (due, id) */
	size_t ntimers, cap_timers;
	long long next_id;
	atomic_int stop;
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The wake-up fd's epoll data: a descriptor never reaches this value. */
#define WAKE_DATA UINT64_MAX

tw_loop *tw_loop_new(char *err, size_t errlen)
{
	tw_loop *l = calloc(1, sizeof(*l));
	struct epoll_event ev = {.events = EPOLLIN, .data.u64 = WAKE_DATA};

	if (!l) {
		snprintf(err, errlen,
		         "could not create the event loop: out "
		         "of memory");
		return NULL;
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	l->wakefd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	l->timers = calloc(LOOP_TIMERS_MIN, sizeof(*l->timers));
	l->cap_timers = LOOP_TIMERS_MIN;
	l->next_id = 1;
	atomic_init(&l->stop, 0);
	if (l->epfd < 0 || l->wakefd < 0 || !l->timers ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, l->wakefd, &ev) != 0) {
		snprintf(err, errlen,
		         "could not create the event loop (epoll, eventfd): %s",
		         l->timers ? strerror(errno) : "out of memory");
		tw_loop_free(l);
		return NULL;
	}
	return l;
}

void tw_loop_free(tw_loop *l)
{
	if (!l)
		return;
	if (l->epfd >= 0)
		close(l->epfd);
	if (l->wakefd >= 0)
		close(l->wakefd);
	free(l->files);
	free(l->timers);
	free(l);
}

/* ---------------------------------------------------------- file events */

/* FD's record, grown on demand; NULL out of memory. */
static loop_file *file_rec(tw_loop *l, int fd)
{
	if ((size_t)fd >= l->nfiles) {
		size_t n = l->nfiles ? l->nfiles : 64;
		loop_file *p;

		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(l->files, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + l->nfiles, 0, (n - l->nfiles) * sizeof(*p));
		l->files = p;
		l->nfiles = n;
	}
	return &l->files[fd];
}

int tw_loop_file_set(tw_loop *l, int fd, int mask, tw_loop_file_fn *fn,
                     void *ud)
{
	struct epoll_event ev = {0};
	loop_file *f;
	uint32_t gen;

	if (fd < 0 || !fn || !(mask & (TW_LOOP_READ | TW_LOOP_WRITE)) ||
	    (mask & ~(TW_LOOP_READ | TW_LOOP_WRITE))) {
		errno = EINVAL;
		return -1;
	}
	f = file_rec(l, fd);
	if (!f) {
		errno = ENOMEM;
		return -1;
	}
	/* a registered descriptor keeps its generation: its events already
	 * collected in this iteration are still for the same socket */
	gen = f->mask ? f->gen : ++l->gen;
	ev.events = (mask & TW_LOOP_READ ? EPOLLIN : 0u) |
	            (mask & TW_LOOP_WRITE ? EPOLLOUT : 0u);
	ev.data.u64 = (uint64_t)gen << 32 | (uint32_t)fd;
	/* registered: MOD; ENOENT (closed and reopened meanwhile): ADD;
	 * EEXIST (a closed number came back before it was forgotten): MOD */
	if ((f->mask && epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0) ||
	    epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) == 0 ||
	    (errno == EEXIST &&
	     epoll_ctl(l->epfd, EPOLL_CTL_MOD, fd, &ev) == 0)) {
		f->mask = mask;
		f->gen = gen;
		f->fn = fn;
		f->ud = ud;
		return 0;
	}
	f->mask = 0;
	return -1;
}

int tw_loop_file_del(tw_loop *l, int fd)
{
	if (fd < 0) {
		errno = EINVAL;
		return -1;
	}
	tw_loop_file_forget(l, fd);
	return epoll_ctl(l->epfd, EPOLL_CTL_DEL, fd, NULL);
}

void tw_loop_file_forget(tw_loop *l, int fd)
{
	if (l && fd >= 0 && (size_t)fd < l->nfiles)
		memset(&l->files[fd], 0, sizeof(l->files[fd]));
}

int tw_loop_file_mask(const tw_loop *l, int fd)
{
	if (fd < 0 || (size_t)fd >= l->nfiles)
		return 0;
	return l->files[fd].mask;
}

/* --------------------------------------------------------------- timers */

static int timer_before(const loop_timer *a, const loop_timer *b)
{
	return a->due < b->due || (a->due == b->due && a->id < b->id);
}

static void timer_swap(tw_loop *l, size_t a, size_t b)
{
	loop_timer t = l->timers[a];

	l->timers[a] = l->timers[b];
	l->timers[b] = t;
}

static void sift_up(tw_loop *l, size_t i)
{
	while (i > 0 && timer_before(&l->timers[i], &l->timers[(i - 1) / 2])) {
		timer_swap(l, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void sift_down(tw_loop *l, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1, m = i;

		if (c < l->ntimers &&
		    timer_before(&l->timers[c], &l->timers[m]))
			m = c;
		if (c + 1 < l->ntimers &&
		    timer_before(&l->timers[c + 1], &l->timers[m]))
			m = c + 1;
		if (m == i)
			return;
		timer_swap(l, i, m);
		i = m;
	}
}

/* Take the timer at heap index I out of the heap. */
static void timer_remove_at(tw_loop *l, size_t i)
{
	l->ntimers--;
	if (i == l->ntimers)
		return;
	l->timers[i] = l->timers[l->ntimers];
	sift_up(l, i);
	sift_down(l, i);
}

long long tw_loop_timer_add(tw_loop *l, long long ms, tw_loop_timer_fn *fn,
                            void *ud)
{
	loop_timer *t;

	if (l->ntimers == l->cap_timers) {
		loop_timer *p =
		        realloc(l->timers, 2 * l->cap_timers * sizeof(*p));

		if (!p)
			return -1;
		l->timers = p;
		l->cap_timers *= 2;
	}
	t = &l->timers[l->ntimers];
	/* a year is "never" enough, and keeps NOW + MS from overflowing */
	t->due = now_ms() + (ms < 0               ? 0
	                     : ms > 31536000000LL ? 31536000000LL
	                                          : ms);
	t->id = l->next_id++;
	t->fn = fn;
	t->ud = ud;
	sift_up(l, l->ntimers++);
	return l->next_id - 1;
}

int tw_loop_timer_cancel(tw_loop *l, long long id)
{
	size_t i;

	for (i = 0; i < l->ntimers; i++)
		if (l->timers[i].id == id) {
			timer_remove_at(l, i);
			return 0;
		}
	return -1;
}

/* Fire the due timers that existed when this started. */
static int run_timers(tw_loop *l)
{
	long long now = now_ms(), last = l->next_id - 1;
	int n = 0;

	/* a timer added by a callback (id > LAST) waits for the next
	 * iteration, so a callback re-arming itself at 0 ms cannot spin here;
	 * the older due timers behind it fire then too, in order */
	while (l->ntimers > 0 && l->timers[0].due <= now &&
	       l->timers[0].id <= last) {
		loop_timer t = l->timers[0];

		timer_remove_at(l, 0);
		t.fn(l, t.id, t.ud);
		n++;
	}
	return n;
}

/* ----------------------------------------------------------------- run */

void tw_loop_wake(tw_loop *l)
{
	uint64_t one = 1;
	/* fails only when the counter is full: the loop is awake anyway */
	ssize_t r = write(l->wakefd, &one, sizeof(one));

	(void)r;
}

static int fired_mask(uint32_t events)
{
	return (events & EPOLLIN ? TW_LOOP_READ : 0) |
	       (events & EPOLLOUT ? TW_LOOP_WRITE : 0) |
	       (events & EPOLLERR ? TW_LOOP_ERROR : 0) |
	       (events & (EPOLLHUP | EPOLLRDHUP) ? TW_LOOP_HUP : 0);
}

int tw_loop_run_once(tw_loop *l, int timeout_ms)
{
	struct epoll_event ev[LOOP_EVENTS];
	int n, i, calls = 0;

	if (l->ntimers > 0) {
		long long left = l->timers[0].due - now_ms();

		if (left < 0)
			left = 0;
		if (left > INT_MAX)
			left = INT_MAX;
		if (timeout_ms < 0 || left < timeout_ms)
			timeout_ms = (int)left;
	}
	n = epoll_wait(l->epfd, ev, LOOP_EVENTS, timeout_ms);
	if (n < 0) {
		if (errno != EINTR)
			return -1;
		n = 0;
	}
	for (i = 0; i < n; i++) {
		uint64_t d = ev[i].data.u64;
		int fd = (int)(uint32_t)d;
		loop_file *f;

		if (d == WAKE_DATA) {
			uint64_t v;
			/* resets the counter; EAGAIN: reset already */
			ssize_t r = read(l->wakefd, &v, sizeof(v));

			(void)r;
			continue;
		}
		if ((size_t)fd >= l->nfiles)
			continue;
		f = &l->files[fd];
		if (!f->mask || f->gen != (uint32_t)(d >> 32))
			continue; /* removed by an earlier callback */
		f->fn(l, fd, fired_mask(ev[i].events), f->ud);
		calls++;
	}
	return calls + run_timers(l);
}

int tw_loop_run(tw_loop *l)
{
	int rc = 0;

	while (!atomic_load(&l->stop))
		if (tw_loop_run_once(l, -1) < 0) {
			rc = -1;
			break;
		}
	atomic_store(&l->stop, 0);
	return rc;
}

void tw_loop_stop(tw_loop *l)
{
	atomic_store(&l->stop, 1);
	tw_loop_wake(l);
}

void tw_block_async_signals(sigset_t *old)
{
	sigset_t all;

	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGTRAP);
	sigdelset(&all, SIGSYS);
	sigdelset(&all, SIGABRT);
	pthread_sigmask(SIG_BLOCK, &all, old);
}
