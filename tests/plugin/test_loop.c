/*
 * test_loop.c - plugin/loop.c: file events fire with what fired, modify and
 * remove take effect, timers fire in order and once, cancel works (also
 * from a callback), a wake-up or stop from another thread ends the wait,
 * and removing or replacing a descriptor inside a callback never delivers
 * a stale event.
 *
 * No timing assertions: waits are bounded by alarm() only so that a broken
 * wake-up fails the test instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include "tap.h"
#include "tw_loop.h"

typedef struct seen {
	int calls;
	int fd;
	int fired;
} seen;

static void on_file(tw_loop *l, int fd, int fired, void *ud)
{
	seen *s = ud;

	(void)l;
	s->calls++;
	s->fd = fd;
	s->fired = fired;
}

static void pipe_nb(int p[2])
{
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
		perror("pipe2");
		exit(1);
	}
}

static void test_file_events(void)
{
	char err[256] = "";
	tw_loop *l = tw_loop_new(err, sizeof(err));
	seen r = {0}, w = {0};
	int p[2];
	char c;

	ok(l != NULL, "a loop is created (%s)", err);
	pipe_nb(p);
	is_int(0, tw_loop_file_set(l, p[0], TW_LOOP_READ, on_file, &r),
	       "watch the read end");
	is_int(TW_LOOP_READ, tw_loop_file_mask(l, p[0]), "its mask is READ");
	is_int(0, tw_loop_run_once(l, 0), "nothing ready: no callback");
	is_int(0, r.calls, "the read callback has not run");
	ok(write(p[1], "x", 1) == 1, "write a byte");
	is_int(1, tw_loop_run_once(l, 5000), "one callback when readable");
	is_int(1, r.calls, "the read callback ran");
	is_int(p[0], r.fd, "with its descriptor");
	ok(r.fired & TW_LOOP_READ, "and READ in what fired");

	/* modify: the same descriptor, another mask and callback */
	is_int(0, tw_loop_file_set(l, p[1], TW_LOOP_WRITE, on_file, &w),
	       "watch the write end");
	is_int(0,
	       tw_loop_file_set(l, p[0], TW_LOOP_READ | TW_LOOP_WRITE, on_file,
	                        &w),
	       "modify the read end's mask and data");
	is_int(TW_LOOP_READ | TW_LOOP_WRITE, tw_loop_file_mask(l, p[0]),
	       "the new mask is recorded");
	r.calls = w.calls = 0;
	ok(tw_loop_run_once(l, 5000) >= 1, "callbacks ran");
	is_int(0, r.calls, "the old data is no longer used");
	ok(w.calls >= 1, "the new data is");

	/* remove */
	is_int(0, tw_loop_file_del(l, p[0]), "remove the read end");
	is_int(0, tw_loop_file_del(l, p[1]), "remove the write end");
	is_int(0, tw_loop_file_mask(l, p[0]), "no mask once removed");
	r.calls = w.calls = 0;
	is_int(0, tw_loop_run_once(l, 0), "removed: no callback");
	is_int(0, r.calls + w.calls, "although the pipe is still readable");
	ok(read(p[0], &c, 1) == 1, "drain");

	/* bad arguments */
	errno = 0;
	is_int(-1, tw_loop_file_set(l, p[0], 0, on_file, &r), "mask 0 refused");
	is_int(EINVAL, errno, "with EINVAL");
	is_int(-1, tw_loop_file_set(l, -1, TW_LOOP_READ, on_file, &r),
	       "a negative descriptor refused");

	/* a registered number closed behind the loop's back and reused */
	is_int(0, tw_loop_file_set(l, p[0], TW_LOOP_READ, on_file, &r),
	       "watch the read end again");
	close(p[0]);
	close(p[1]);
	pipe_nb(p);
	r.calls = 0;
	is_int(0, tw_loop_file_set(l, p[0], TW_LOOP_READ, on_file, &r),
	       "a reused number is registered again (MOD fails, ADD)");
	ok(write(p[1], "y", 1) == 1, "write a byte");
	is_int(1, tw_loop_run_once(l, 5000), "the new pipe's event fires");
	is_int(1, r.calls, "once");
	tw_loop_file_forget(l, p[0]);
	is_int(0, tw_loop_file_mask(l, p[0]), "forget drops the record");
	close(p[0]);
	close(p[1]);
	tw_loop_free(l);
}

/* ---------------------------------------------------------------- timers */

static long long order[16];
static int norder;

static void on_timer(tw_loop *l, long long id, void *ud)
{
	(void)l;
	(void)ud;
	if (norder < 16)
		order[norder++] = id;
}

static long long victim;

static void cancel_victim(tw_loop *l, long long id, void *ud)
{
	int *rc = ud;

	on_timer(l, id, NULL);
	*rc = tw_loop_timer_cancel(l, victim);
}

static void readd_zero(tw_loop *l, long long id, void *ud)
{
	long long *added = ud;

	on_timer(l, id, NULL);
	if (!*added)
		*added = tw_loop_timer_add(l, 0, on_timer, NULL);
}

static void run_until(tw_loop *l, int n)
{
	int guard = 0;

	while (norder < n && guard++ < 1000)
		tw_loop_run_once(l, 5000);
}

static void test_timers(void)
{
	char err[256] = "";
	tw_loop *l = tw_loop_new(err, sizeof(err));
	long long a, b, c, d, e, added = 0;
	long long ids[12];
	int rc = 1, i;

	norder = 0;
	/* 100 ms apart: the order holds unless adding stalls that long */
	c = tw_loop_timer_add(l, 300, on_timer, NULL);
	a = tw_loop_timer_add(l, 100, on_timer, NULL);
	d = tw_loop_timer_add(l, 200, on_timer, NULL);
	b = tw_loop_timer_add(l, 100, on_timer, NULL);
	ok(a > 0 && b > 0 && c > 0 && d > 0, "timers added");
	run_until(l, 4);
	is_int(4, norder, "all four fired");
	is_int(a, order[0], "the first 100 ms timer first");
	is_int(b, order[1], "the second 100 ms timer next (added later)");
	is_int(d, order[2], "then the 200 ms one");
	is_int(c, order[3], "then the 300 ms one");
	is_int(-1, tw_loop_timer_cancel(l, a), "a fired timer is not armed");

	/* cancel */
	norder = 0;
	a = tw_loop_timer_add(l, 5, on_timer, NULL);
	b = tw_loop_timer_add(l, 10, on_timer, NULL);
	is_int(0, tw_loop_timer_cancel(l, a), "cancel an armed timer");
	is_int(-1, tw_loop_timer_cancel(l, a), "cancel it twice: not armed");
	run_until(l, 1);
	for (i = 0; i < 3; i++)
		tw_loop_run_once(l, 0);
	is_int(1, norder, "only the other timer fired");
	is_int(b, order[0], "and it is the one left");

	/* cancel inside a callback: both due, the first cancels the second */
	norder = 0;
	a = tw_loop_timer_add(l, 0, cancel_victim, &rc);
	victim = tw_loop_timer_add(l, 0, on_timer, NULL);
	run_until(l, 1);
	for (i = 0; i < 3; i++)
		tw_loop_run_once(l, 0);
	is_int(0, rc, "a callback cancels a due timer");
	is_int(1, norder, "the cancelled one never fires");

	/* a timer added by a timer callback waits for the next iteration */
	norder = 0;
	e = tw_loop_timer_add(l, 0, readd_zero, &added);
	run_until(l, 1);
	is_int(1, norder, "the re-adding timer fired alone");
	ok(added > 0, "it added a 0 ms timer");
	tw_loop_run_once(l, 5000);
	is_int(2, norder, "which fired in the next iteration");
	is_int(e, order[0], "order: the first");
	is_int(added, order[1], "then the one it added");

	/* more than the preallocated timers, in shuffled order: the heap
	 * grows and keeps the order (50 ms apart) */
	norder = 0;
	for (i = 0; i < 12; i++) {
		ids[i] = tw_loop_timer_add(l, 50LL * ((i * 7) % 12), on_timer,
		                           NULL);
		ok(ids[i] > 0, "timer %d of 12 added", i + 1);
	}
	run_until(l, 12);
	is_int(12, norder, "all twelve fired");
	for (i = 0; i < 12; i++)
		is_int(ids[(i * 7) % 12], order[i],
		       "fired %d: the one due after %d ms", i + 1, 50 * i);
	tw_loop_free(l);
}

/* --------------------------------------------------------- other threads */

static void *waker(void *arg)
{
	usleep(50000); /* let the main thread block in epoll_wait */
	tw_loop_wake(arg);
	return NULL;
}

static void *stopper(void *arg)
{
	usleep(50000);
	tw_loop_stop(arg);
	return NULL;
}

static void test_threads(void)
{
	char err[256] = "";
	tw_loop *l = tw_loop_new(err, sizeof(err));
	pthread_t t;

	/* no descriptor, no timer, no limit: only the wake-up ends it
	 * (alarm() fails the test if it never comes) */
	pthread_create(&t, NULL, waker, l);
	is_int(0, tw_loop_run_once(l, -1),
	       "a wake-up from another thread ends an unbounded wait");
	pthread_join(t, NULL);
	tw_loop_wake(l);
	tw_loop_wake(l);
	is_int(0, tw_loop_run_once(l, -1), "wake-ups before the wait count");
	is_int(0, tw_loop_run_once(l, 0), "and are consumed once");

	pthread_create(&t, NULL, stopper, l);
	is_int(0, tw_loop_run(l), "tw_loop_stop from another thread ends run");
	pthread_join(t, NULL);
	tw_loop_free(l);
}

/* ------------------------------------------------ removal in a callback */

typedef struct pair {
	int fd[2]; /* the two read ends, both readable */
	int calls[2];
	int replaced[2]; /* a pipe that took a removed number */
	int late;        /* calls of the replacement's callback */
} pair;

static void on_late(tw_loop *l, int fd, int fired, void *ud)
{
	pair *p = ud;

	(void)l;
	(void)fd;
	(void)fired;
	p->late++;
}

/* Whichever runs first removes and closes the other, then opens a pipe
 * that most likely gets the closed number, and registers it. */
static void on_pair(tw_loop *l, int fd, int fired, void *ud)
{
	pair *p = ud;
	int me = fd == p->fd[0] ? 0 : 1, other = !me;

	(void)fired;
	p->calls[me]++;
	if (p->fd[other] < 0)
		return;
	tw_loop_file_del(l, p->fd[other]);
	close(p->fd[other]);
	p->fd[other] = -1;
	pipe_nb(p->replaced);
	tw_loop_file_set(l, p->replaced[0], TW_LOOP_READ, on_late, p);
	/* and itself, too */
	tw_loop_file_del(l, fd);
}

static void test_remove_in_callback(void)
{
	char err[256] = "";
	tw_loop *l = tw_loop_new(err, sizeof(err));
	int a[2], b[2];
	pair p = {.fd = {-1, -1}};

	pipe_nb(a);
	pipe_nb(b);
	p.fd[0] = a[0];
	p.fd[1] = b[0];
	ok(write(a[1], "a", 1) == 1 && write(b[1], "b", 1) == 1,
	   "both pipes readable");
	tw_loop_file_set(l, a[0], TW_LOOP_READ, on_pair, &p);
	tw_loop_file_set(l, b[0], TW_LOOP_READ, on_pair, &p);
	is_int(1, tw_loop_run_once(l, 5000),
	       "one callback: the other descriptor was removed before its "
	       "turn");
	is_int(1, p.calls[0] + p.calls[1], "the removed one never ran");
	is_int(0, p.late,
	       "its replacement (same number, not readable) did "
	       "not get the stale event");
	is_int(0, tw_loop_run_once(l, 0), "nothing more");
	close(a[1]);
	close(b[1]);
	if (p.fd[0] >= 0)
		close(p.fd[0]);
	if (p.fd[1] >= 0)
		close(p.fd[1]);
	close(p.replaced[0]);
	close(p.replaced[1]);
	tw_loop_free(l);
}

int main(void)
{
	alarm(60);
	test_file_events();
	test_timers();
	test_threads();
	test_remove_in_callback();
	tw_loop_free(NULL);
	return done_testing();
}
