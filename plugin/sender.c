/*
 * sender.c - the event thread and its curl multi engine.
 *
 * Owns: the event thread, the multi handle, the share handle (TLS sessions
 * and DNS), the pool of easy handles ("slots", at most
 * TWILIO_MAX_CONCURRENCY), the ready queue and back-off list of recipients,
 * and every call between submit and complete.
 *
 * No second SMS: a recipient is retried only when its request certainly
 * never reached Twilio (429, or a failure before any request byte went
 * out). libcurl silently re-sends a request on a fresh connection when a
 * reused one dies before the answer; every such attempt passes through the
 * pre-request callback first (libcurl's DO state is the only way to send),
 * and that callback lets a transfer's request go out once: a second attempt
 * after any byte went out is aborted and becomes TWILIO_OUTCOME_UNKNOWN.
 * (DESIGN 5 names a read callback with a non-rewinding seek callback for
 * this; docs/architecture.md says why the pre-request guard replaced it.)
 *
 * The loop (tw_loop.h, its own file): the sockets libcurl names
 * (CURLMOPT_SOCKETFUNCTION) are file events, libcurl's timer
 * (CURLMOPT_TIMERFUNCTION) is a loop timer, host threads wake it through
 * tw_loop_wake(); curl_multi_socket_action for each ready socket and when
 * libcurl's timer is due. Work per wake-up follows the sockets that are
 * ready, not the transfers in flight (curl_multi_perform and poll visit all
 * of them).
 *
 * Locks: s->lock guards the incoming list, the call registry links, the
 * reservation count and the stop flag. It is never held while calling
 * libcurl or a host service.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "tw_errors.h"
#include "tw_loop.h"
#include "tw_mask.h"
#include "tw_response.h"
#include "tw_sender.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

struct tw_slot {
	CURL *easy;
	tw_job *job;
	tw_slot *next_free;
	tw_buf body;        /* the form, sent as CURLOPT_POSTFIELDS */
	int attempts;       /* times libcurl began this transfer's request */
	int resend_refused; /* the guard stopped a re-send */
	tw_buf resp;
	int overflow; /* response larger than TW_RESPONSE_MAX */
	int kind;     /* the kind the handle is set up for, -1 none */
	char errbuf[CURL_ERROR_SIZE];
};

/* What the sender knows of one socket number beside the loop's record
 * (whether it is in the epoll set: tw_loop_file_mask). A connection socket
 * (opened through open_cb) that libcurl stops watching when a transfer
 * ends stays in the epoll set, its events ignored, until libcurl wants it
 * again for the next transfer on that kept-alive connection: one
 * epoll_ctl (MOD) per request instead of two (DEL, then ADD). */
typedef struct tw_fd {
	unsigned char known;  /* opened by open_cb, not yet closed */
	unsigned char wanted; /* libcurl asked to watch it */
} tw_fd;

struct tw_sender {
	const conn_host *host;
	const tw_config *cfg;
	char *messages_url;
	char *account_url;
	struct curl_slist *headers;

	pthread_mutex_t lock;
	tw_call *incoming; /* submitted, not yet seen (lock) */
	tw_call *calls;    /* seen by the event thread (links: lock) */
	long reserved;     /* calls accepted and not completed (lock) */
	int stopping;      /* (lock) */
	int64_t stop_deadline;

	CURLM *multi;
	tw_loop *loop;        /* libcurl's sockets and timer, wake-ups */
	long long curl_timer; /* the loop timer of libcurl's timer, 0 none */
	tw_fd *fds;           /* per socket number: known, wanted */
	size_t nfds;
	CURLSH *share;
	pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
	int curl_inited;
	pthread_t thread;
	int thread_started;

	tw_slot *slots;
	tw_slot *free_slots;
	tw_job *ready_head, *ready_tail;
	tw_job *backoff;
	uint64_t rng;

	atomic_ullong n_calls, n_requests, n_sent, n_failed, n_retries,
	        n_unknown, n_queue_full;
};

/* ---------------------------------------------------------------- calls */

tw_call *tw_call_new(size_t njobs)
{
	tw_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	if (njobs) {
		c->jobs = calloc(njobs, sizeof(*c->jobs));
		if (!c->jobs) {
			free(c);
			return NULL;
		}
	}
	c->njobs = njobs;
	atomic_init(&c->cancel, 0);
	return c;
}

void tw_call_free(tw_call *c)
{
	size_t i;

	if (!c)
		return;
	for (i = 0; i < c->njobs; i++) {
		tw_job *j = &c->jobs[i];

		free(j->input);
		free(j->to);
		free(j->claim_key);
		json_object_put(j->result);
		json_object_put(j->error);
	}
	free(c->jobs);
	tw_buf_free(&c->form);
	free(c->url);
	if (c->free_data)
		c->free_data(c->data);
	free(c);
}

void tw_job_settle(const conn_host *host, const tw_config *cfg, tw_job *job,
                   int maybe_sent)
{
	json_object *v = NULL;
	uint32_t ttl = (uint32_t)cfg->idempotency_ttl_ms;

	if (!job->claim_key)
		return;
	if (job->result) {
		json_object *r = job->result, *x;

		v = json_object_new_object();
		if (v) {
			const char *keys[] = {"to", "sid", "status",
			                      "segments"};
			size_t i;

			for (i = 0; i < 4; i++)
				if (json_object_object_get_ex(r, keys[i], &x))
					json_object_object_add(
					        v, keys[i], json_object_get(x));
		}
	} else if (maybe_sent) {
		v = json_object_new_object();
		if (v) {
			json_object_object_add(
			        v, "outcome",
			        json_object_new_string("unknown"));
		}
	}
	/* a failed allocation of V forgets the claim: the safe fallback for
	 * a result is a later resend only if the store also lost it */
	conn_host_settle(host, job->claim_key, job->claim_owner, v, ttl);
	free(job->claim_key);
	job->claim_key = NULL;
}

/* ------------------------------------------------------------- logging */

static void log_job(tw_sender *s, conn_log_level lvl, tw_job *j,
                    const char *error, const char *msg)
{
	json_object *f = json_object_new_object();
	char *masked = tw_mask_number(j->to, s->cfg->log_numbers);

	if (f) {
		json_object_object_add(
		        f, "call_id", json_object_new_uint64(j->call->call_id));
		json_object_object_add(f, "index",
		                       json_object_new_int(j->index));
		if (masked)
			json_object_object_add(f, "to",
			                       json_object_new_string(masked));
		if (error)
			json_object_object_add(f, "error",
			                       json_object_new_string(error));
	}
	free(masked);
	tw_log(s->host, lvl, f, msg);
}

/* ------------------------------------------------------ job completion */

/* Add a key certainly not in O yet (skips json-c's look-up). */
static void add_new(json_object *o, const char *key, json_object *v)
{
	json_object_object_add_ex(o, key, v, JSON_C_OBJECT_ADD_KEY_IS_NEW);
}

static void job_ok(tw_sender *s, tw_job *j, const tw_response *r)
{
	json_object *o = json_object_new_object();

	if (!o)
		return;
	if (j->call->kind == TW_CALL_CHECK) {
		add_new(o, "ok", json_object_new_boolean(1));
		add_new(o, "accountSid", json_object_new_string(r->sid));
		add_new(o, "status", json_object_new_string(r->status));
	} else {
		add_new(o, "index", json_object_new_int(j->index));
		add_new(o, "input", json_object_new_string(j->input));
		add_new(o, "to", json_object_new_string(j->to));
		add_new(o, "sid", json_object_new_string(r->sid));
		add_new(o, "status", json_object_new_string(r->status));
		add_new(o, "segments",
		        json_object_new_int(r->segments >= 0
		                                    ? r->segments
		                                    : j->call->segments));
	}
	j->result = o;
	atomic_fetch_add(&s->n_sent, 1);
}

/* Finish J with an error entry; FIELD NULL: the default (smsTo, none for
 * a check). MESSAGE and MORE_INFO may hold outside text (libcurl's error
 * buffer, Twilio's words): they are scrubbed here, the one place every
 * job error passes, secrets out of the output, and numbers masked too in
 * the log line. LOG 0: no log line (the caller logs a summary). */
static void job_error(tw_sender *s, tw_job *j, tw_err e, const char *field,
                      int code, long http, const char *message,
                      const char *more_info, int retryable, int maybe_sent,
                      int log)
{
	char *msg = tw_config_scrub(s->cfg, message, 0);
	char *more = tw_config_scrub(s->cfg, more_info, 0);

	if (!field && j->call->kind == TW_CALL_SEND)
		field = "smsTo";
	j->error =
	        tw_err_entry(e, j->call->kind != TW_CALL_SEND ? -1 : j->index,
	                     field, j->to, code, (int)http,
	                     msg       ? msg
	                     : message ? "out of memory"
	                               : NULL,
	                     more, retryable);
	free(msg);
	free(more);
	atomic_fetch_add(&s->n_failed, 1);
	if (maybe_sent)
		atomic_fetch_add(&s->n_unknown, 1);
	if (log) {
		char *lmsg = tw_config_scrub(s->cfg, message, 1);

		log_job(s, maybe_sent ? CONN_LOG_WARN : CONN_LOG_INFO, j,
		        tw_err_name(e), lmsg ? lmsg : "(out of memory)");
		free(lmsg);
	}
}

/* Finish J with an error. MAYBE_SENT: the request may have reached Twilio. */
static void job_fail(tw_sender *s, tw_job *j, tw_err e, int code, long http,
                     const char *message, const char *more_info, int retryable,
                     int maybe_sent)
{
	job_error(s, j, e, NULL, code, http, message, more_info, retryable,
	          maybe_sent, 1);
}

static void job_done(tw_sender *s, tw_job *j, int maybe_sent)
{
	j->state = TW_JOB_DONE;
	j->slot = NULL;
	j->call->unfinished--;
	tw_job_settle(s->host, s->cfg, j, maybe_sent);
}

/* ---------------------------------------------------------- callbacks */

/* Called by libcurl each time it is about to send this transfer's request
 * on a connection: the first time, and again for each silent re-send on a
 * fresh connection after a reused one died. A re-send is let through only
 * when no byte of the request has been written yet (CURLINFO_REQUEST_SIZE
 * counts every attempt of the transfer); otherwise Twilio may already have
 * created the message, and the transfer fails instead. */
static int prereq_cb(void *ud, char *primary_ip, char *local_ip,
                     int primary_port, int local_port)
{
	tw_slot *sl = ud;
	long written = -1;

	(void)primary_ip;
	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (sl->attempts++ == 0 || sl->kind != TW_CALL_SEND)
		return CURL_PREREQFUNC_OK;
	if (curl_easy_getinfo(sl->easy, CURLINFO_REQUEST_SIZE, &written) ==
	            CURLE_OK &&
	    written == 0)
		return CURL_PREREQFUNC_OK;
	sl->resend_refused = 1;
	return CURL_PREREQFUNC_ABORT;
}

static size_t write_cb(char *data, size_t size, size_t nmemb, void *ud)
{
	tw_slot *sl = ud;
	size_t n = size * nmemb;

	if (sl->resp.len + n > TW_RESPONSE_MAX) {
		sl->overflow = 1;
		return 0;
	}
	if (tw_buf_append(&sl->resp, data, n))
		return 0;
	return n;
}

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *ud)
{
	tw_sender *s = ud;

	(void)h;
	(void)a;
	if (d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_lock(&s->share_locks[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *ud)
{
	tw_sender *s = ud;

	(void)h;
	if (d >= 0 && d < CURL_LOCK_DATA_LAST)
		pthread_mutex_unlock(&s->share_locks[d]);
}

/* The record for socket FD, grown on demand; NULL when out of memory (the
 * socket is then handled as one whose life is not known). */
static tw_fd *fd_slot(tw_sender *s, curl_socket_t fd)
{
	if (fd < 0)
		return NULL;
	if ((size_t)fd >= s->nfds) {
		size_t n = s->nfds ? s->nfds : 64;
		tw_fd *p;

		while (n <= (size_t)fd)
			n *= 2;
		p = realloc(s->fds, n * sizeof(*p));
		if (!p)
			return NULL;
		memset(p + s->nfds, 0, (n - s->nfds) * sizeof(*p));
		s->fds = p;
		s->nfds = n;
	}
	return &s->fds[fd];
}

/* libcurl opens a connection socket (CURLOPT_OPENSOCKETFUNCTION): also
 * close-on-exec, so a host that forks does not leak Twilio connections
 * into its children. */
static curl_socket_t open_cb(void *ud, curlsocktype purpose,
                             struct curl_sockaddr *a)
{
	tw_sender *s = ud;
	curl_socket_t fd;
	tw_fd *st;

	(void)purpose;
	fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
	if (fd == CURL_SOCKET_BAD)
		return CURL_SOCKET_BAD;
	st = fd_slot(s, fd);
	if (st) {
		memset(st, 0, sizeof(*st));
		st->known = 1;
	}
	return fd;
}

/* libcurl closes a socket it opened through open_cb
 * (CURLOPT_CLOSESOCKETFUNCTION); closing takes it out of the epoll set, so
 * the loop forgets it without a system call. */
static int close_cb(void *ud, curl_socket_t fd)
{
	tw_sender *s = ud;

	if (fd >= 0 && (size_t)fd < s->nfds)
		memset(&s->fds[fd], 0, sizeof(s->fds[fd]));
	tw_loop_file_forget(s->loop, fd);
	return close(fd);
}

/* The kernel refused to watch a socket (out of memory, or the user's epoll
 * watch limit). Returning -1 to libcurl would kill the whole multi handle;
 * instead the transfer goes unwatched and ends at its own timeout, which
 * reports whether anything was sent. */
static void socket_unwatched(tw_sender *s, curl_socket_t fd)
{
	int err = errno;
	json_object *f = json_object_new_object();

	if (f) {
		json_object_object_add(f, "fd", json_object_new_int(fd));
		json_object_object_add(f, "errno", json_object_new_int(err));
	}
	tw_log(s->host, CONN_LOG_ERROR, f,
	       "could not watch a connection to Twilio (epoll_ctl failed); "
	       "its request will time out");
}

/* A socket libcurl watches is ready (loop callback). */
static void socket_ready(tw_loop *loop, int fd, int fired, void *ud)
{
	tw_sender *s = ud;
	int flags = 0, running;

	if ((size_t)fd < s->nfds && !s->fds[fd].wanted) {
		/* an idle connection has news (the server closed it, most
		 * likely): stop watching it until libcurl wants it; libcurl
		 * checks a kept connection before reusing it */
		tw_loop_file_del(loop, fd);
		return;
	}
	if (fired & (TW_LOOP_READ | TW_LOOP_HUP))
		flags |= CURL_CSELECT_IN;
	if (fired & TW_LOOP_WRITE)
		flags |= CURL_CSELECT_OUT;
	if (fired & TW_LOOP_ERROR)
		flags |= CURL_CSELECT_ERR;
	curl_multi_socket_action(s->multi, fd, flags, &running);
}

/* libcurl tells which socket to watch for what (CURLMOPT_SOCKETFUNCTION). */
static int socket_cb(CURL *e, curl_socket_t fd, int what, void *ud, void *sockp)
{
	tw_sender *s = ud;
	tw_fd *st = fd_slot(s, fd);
	int mask;

	(void)e;
	(void)sockp;
	if (what == CURL_POLL_REMOVE) {
		if (st && st->known && tw_loop_file_mask(s->loop, fd)) {
			/* idle, most likely kept alive for the next request:
			 * left in the set, its events ignored (socket_ready) */
			st->wanted = 0;
			return 0;
		}
		tw_loop_file_del(s->loop, fd);
		if (st)
			st->wanted = 0;
		return 0;
	}
	mask = (what & CURL_POLL_IN ? TW_LOOP_READ : 0) |
	       (what & CURL_POLL_OUT ? TW_LOOP_WRITE : 0);
	/* in the set already (a kept connection back in use): one MOD */
	if (tw_loop_file_set(s->loop, fd, mask, socket_ready, s) == 0) {
		if (st)
			st->wanted = 1;
	} else {
		if (st)
			st->wanted = 0;
		socket_unwatched(s, fd);
	}
	return 0;
}

static void curl_timer_due(tw_loop *loop, long long id, void *ud);

/* Arm the loop timer for libcurl's next timeout MS (-1: none). */
static int arm_curl_timer(tw_sender *s, long ms)
{
	long long id;

	if (s->curl_timer)
		tw_loop_timer_cancel(s->loop, s->curl_timer);
	s->curl_timer = 0;
	if (ms < 0)
		return 0;
	/* the loop preallocates room for 8 timers and this is the only one:
	 * cannot fail, but a failure would fail libcurl's transfers rather
	 * than hang them */
	id = tw_loop_timer_add(s->loop, ms, curl_timer_due, s);
	if (id < 0)
		return -1;
	s->curl_timer = id;
	return 0;
}

/* libcurl's next timeout changed (CURLMOPT_TIMERFUNCTION). */
static int timer_cb(CURLM *multi, long ms, void *ud)
{
	(void)multi;
	return arm_curl_timer(ud, ms);
}

/* Run libcurl's timers that are due, and make sure the loop timer stands
 * for the next one. Asked of curl_multi_timeout() rather than trusted to
 * the loop's millisecond clock: libcurl reports a timer once, and a loop
 * timer that fires a fraction of a millisecond before libcurl's deadline
 * would otherwise lose it; then it is armed again from what libcurl says
 * is left. */
static void curl_timer(tw_sender *s)
{
	long ms = -1;
	int running;

	if (curl_multi_timeout(s->multi, &ms) == CURLM_OK && ms == 0) {
		curl_multi_socket_action(s->multi, CURL_SOCKET_TIMEOUT, 0,
		                         &running);
		if (curl_multi_timeout(s->multi, &ms) != CURLM_OK)
			ms = -1;
	}
	if (!s->curl_timer && ms >= 0)
		arm_curl_timer(s, ms);
}

/* The loop timer of libcurl's timer is due (loop callback). */
static void curl_timer_due(tw_loop *loop, long long id, void *ud)
{
	tw_sender *s = ud;

	(void)loop;
	if (s->curl_timer == id)
		s->curl_timer = 0;
	curl_timer(s);
}

/* Wake the event thread (any thread). */
static void wake(tw_sender *s)
{
	tw_loop_wake(s->loop);
}

/* ------------------------------------------------------------- slots */

static int slot_setup(tw_sender *s, tw_slot *sl)
{
	const tw_config *c = s->cfg;
	CURL *e = curl_easy_init();

	if (!e)
		return -1;
	sl->easy = e;
	sl->kind = -1;
	curl_easy_setopt(e, CURLOPT_PRIVATE, sl);
	curl_easy_setopt(e, CURLOPT_SHARE, s->share);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, sl->errbuf);
	curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_PROXY, c->proxy ? c->proxy : "");
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->ca_bundle)
		curl_easy_setopt(e, CURLOPT_CAINFO, c->ca_bundle);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME,
	                 c->api_key ? c->api_key : c->account);
	curl_easy_setopt(e, CURLOPT_PASSWORD,
	                 c->api_key ? c->api_secret : c->token);
	curl_easy_setopt(e, CURLOPT_USERAGENT,
	                 "twilio-connector/" PACKAGE_VERSION);
	curl_easy_setopt(e, CURLOPT_HTTPHEADER, s->headers);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_cb);
	curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, s);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETFUNCTION, close_cb);
	curl_easy_setopt(e, CURLOPT_CLOSESOCKETDATA, s);
	/* no request leaves without the re-send guard */
	if (curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, prereq_cb) !=
	            CURLE_OK ||
	    curl_easy_setopt(e, CURLOPT_PREREQDATA, sl) != CURLE_OK) {
		curl_easy_cleanup(e);
		sl->easy = NULL;
		return -1;
	}
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, sl);
	curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
	return 0;
}

static tw_slot *slot_get(tw_sender *s)
{
	tw_slot *sl = s->free_slots;

	if (!sl)
		return NULL;
	if (!sl->easy && slot_setup(s, sl))
		return NULL;
	s->free_slots = sl->next_free;
	return sl;
}

static void slot_put(tw_sender *s, tw_slot *sl)
{
	sl->job = NULL;
	sl->next_free = s->free_slots;
	s->free_slots = sl;
}

/* ------------------------------------------------------- job queues */

static void ready_push(tw_sender *s, tw_job *j)
{
	j->state = TW_JOB_WAITING;
	j->next = NULL;
	if (s->ready_tail)
		s->ready_tail->next = j;
	else
		s->ready_head = j;
	s->ready_tail = j;
}

static tw_job *ready_pop(tw_sender *s)
{
	tw_job *j = s->ready_head;

	if (j) {
		s->ready_head = j->next;
		if (!s->ready_head)
			s->ready_tail = NULL;
		j->next = NULL;
	}
	return j;
}

/* Remove every queued job of CALL from the ready queue and back-off list. */
static void unqueue_call(tw_sender *s, tw_call *call)
{
	tw_job **pp = &s->ready_head, *last = NULL;

	while (*pp) {
		if ((*pp)->call == call) {
			*pp = (*pp)->next;
		} else {
			last = *pp;
			pp = &(*pp)->next;
		}
	}
	s->ready_tail = last;
	pp = &s->backoff;
	while (*pp) {
		if ((*pp)->call == call)
			*pp = (*pp)->next;
		else
			pp = &(*pp)->next;
	}
}

static uint64_t rng_next(tw_sender *s)
{
	uint64_t x = s->rng;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	s->rng = x;
	return x;
}

/* twilio-node's back-off: random() * min(3000, 100 * 2^n) ms. */
static int64_t backoff_ms(tw_sender *s, int attempt)
{
	int64_t cap = attempt >= 5 ? 3000 : 100LL << attempt;

	if (cap > 3000)
		cap = 3000;
	return (int64_t)((double)(rng_next(s) >> 11) / 9007199254740992.0 *
	                 (double)cap);
}

/* Schedule a retry of J after WAIT ms; 0, or -1 when no retry is left or
 * it would end after the deadline. */
static int retry_later(tw_sender *s, tw_job *j, int64_t wait)
{
	int64_t now = conn_now_ms();

	if (j->attempts >= s->cfg->max_retries)
		return -1;
	if (now + wait >= j->call->deadline_ms || atomic_load(&j->call->cancel))
		return -1;
	j->attempts++;
	j->state = TW_JOB_BACKOFF;
	j->due_ms = now + wait;
	j->next = s->backoff;
	s->backoff = j;
	atomic_fetch_add(&s->n_retries, 1);
	return 0;
}

/* ------------------------------------------------------------ starting */

static int start_job(tw_sender *s, tw_slot *sl, tw_job *j)
{
	tw_call *c = j->call;
	int64_t left = conn_ms_left(c->deadline_ms);
	long total, conn;
	CURL *e = sl->easy;

	tw_buf_clear(&sl->resp);
	sl->overflow = 0;
	sl->attempts = 0;
	sl->resend_refused = 0;
	sl->errbuf[0] = '\0';
	if (c->kind == TW_CALL_HTTP) {
		/* a URL and a method of its own each time; -1 makes the next
		 * send or check set theirs again */
		curl_easy_setopt(e, CURLOPT_URL, c->url);
		if (c->form.len) {
			curl_easy_setopt(e, CURLOPT_POST, 1L);
			curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
			                 (curl_off_t)c->form.len);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, c->form.data);
		} else {
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
			curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		}
		sl->kind = -1;
	} else if ((int)c->kind != sl->kind) {
		if (c->kind == TW_CALL_CHECK) {
			curl_easy_setopt(e, CURLOPT_URL, s->account_url);
			curl_easy_setopt(e, CURLOPT_POSTFIELDS, NULL);
			curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
		} else {
			curl_easy_setopt(e, CURLOPT_URL, s->messages_url);
			curl_easy_setopt(e, CURLOPT_POST, 1L);
		}
		sl->kind = c->kind;
	}
	if (c->kind == TW_CALL_SEND) {
		tw_buf_clear(&sl->body);
		if (tw_buf_append(&sl->body, c->form.data, c->form.len) ||
		    tw_form_add(&sl->body, "To", j->to, strlen(j->to)))
			return -1;
		/* the body goes out in the same send() as the headers; the
		 * buffer stays put until the transfer is removed */
		curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)sl->body.len);
		curl_easy_setopt(e, CURLOPT_POSTFIELDS, sl->body.data);
	}
	/* the call's deadline is enforced by the sweep (DEADLINE_EXCEEDED);
	 * libcurl's own timeout stays just behind it */
	total = (long)(left < s->cfg->request_timeout_ms - 50
	                       ? left + 50
	                       : s->cfg->request_timeout_ms);
	conn = (long)(left < s->cfg->connect_timeout_ms
	                      ? left
	                      : s->cfg->connect_timeout_ms);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, total > 0 ? total : 1L);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, conn > 0 ? conn : 1L);
	sl->job = j;
	j->slot = sl;
	j->state = TW_JOB_RUNNING;
	if (curl_multi_add_handle(s->multi, e) != CURLM_OK) {
		sl->job = NULL;
		j->slot = NULL;
		return -1;
	}
	atomic_fetch_add(&s->n_requests, 1);
	return 0;
}

static void start_ready(tw_sender *s)
{
	tw_job *j;

	while (s->free_slots && s->ready_head) {
		tw_slot *sl = slot_get(s);

		if (!sl)
			break;
		j = ready_pop(s);
		if (conn_now_ms() >= j->call->deadline_ms) {
			slot_put(s, sl);
			job_fail(s, j, TW_DEADLINE_EXCEEDED, 0, 0,
			         "the call's deadline passed before the "
			         "request was sent; nothing was sent",
			         NULL, 1, 0);
			job_done(s, j, 0);
			continue;
		}
		if (start_job(s, sl, j)) {
			slot_put(s, sl);
			job_fail(s, j, TW_UNKNOWN, 0, 0,
			         "could not start the request (out of memory)",
			         NULL, 1, 0);
			job_done(s, j, 0);
		}
	}
}

/* ------------------------------------------------------------ finishing */

static int tls_config_error(CURLcode rc)
{
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CRL_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN: return 1;
	default: return 0;
	}
}

/* Twilio's error code for a sender it refuses for this account. */
static int sender_refused(int code)
{
	switch (code) {
	case 21212: /* invalid From */
	case 21601: /* not an SMS-capable number */
	case 21603: /* From required */
	case 21606: /* not a message-capable number of this account */
	case 21659: /* not a Twilio number */
	case 21660: /* From does not belong to the account */
	case 21661: /* not SMS-capable */
	case 21701: /* messaging service SID invalid */
	case 21702:
	case 21703:
	case 21704:
	case 21705: return 1;
	default: return 0;
	}
}

/*
 * Whether answer R proves that every request of this call would fail the
 * same way: the credentials (401), the account (unknown at this host, not
 * active) or the sender (refused for this account). Then R's message is
 * rewritten to name what to fix, Twilio's own words kept at the end, and
 * *FIELD names the configuration key or input concerned. The wording is
 * the same for check_connection (`check --online`) and send_sms.
 */
static int account_level(tw_sender *s, tw_response *r, const char **field)
{
	const char *what;
	char *m = NULL;

	/* only a refusal proves anything: behind a 5xx the message may
	 * exist, whatever code its body names */
	if (r->http < 400 || r->http >= 500)
		return 0;
	/* the code is more specific than the status (a suspended account
	 * may answer 401) */
	if (r->code == 20005 || r->code == 10001 || r->code == 30002) {
		*field = "TWILIO_ACCOUNT";
		what = "the Twilio account TWILIO_ACCOUNT is not active "
		       "(suspended or closed): reactivate it in the Twilio "
		       "console or configure another account";
	} else if (r->http == 401 || r->code == 20003) {
		*field = s->cfg->api_key ? "TWILIO_API_KEY" : "TWILIO_TOKEN";
		what = s->cfg->api_key
		               ? "Twilio refused the API key: check "
		                 "TWILIO_API_KEY (SK...) and "
		                 "TWILIO_API_SECRET, "
		                 "that the key belongs to account "
		                 "TWILIO_ACCOUNT, and that it was created in "
		                 "the region of the API host (TWILIO_REGION, "
		                 "TWILIO_EDGE or TWILIO_BASE_URL)"
		               : "Twilio refused the credentials: check that "
		                 "TWILIO_ACCOUNT is the Account SID (AC..., "
		                 "not "
		                 "the account's name) and TWILIO_TOKEN its "
		                 "current Auth Token";
	} else if (r->http == 404) {
		*field = "TWILIO_ACCOUNT";
		what = "Twilio does not know this Account SID (TWILIO_ACCOUNT) "
		       "at this API host, or the credentials belong to "
		       "another account";
	} else if (sender_refused(r->code)) {
		*field = "smsFrom";
		what = "Twilio refused smsFrom as a sender for this account "
		       "(TWILIO_ACCOUNT): use one of the account's SMS-capable "
		       "numbers, a short code, an alphanumeric sender ID "
		       "where the destination allows one, or a messaging "
		       "service SID (MG...)";
	} else {
		return 0;
	}
	if (r->code > 0 && r->message)
		m = tw_strdupf("%s (Twilio %d: %s)", what, r->code, r->message);
	else
		m = strdup(what);
	if (m) {
		free(r->message);
		r->message = m;
	}
	if (r->err != TW_INVALID_FROM)
		r->err = TW_AUTHENTICATION;
	r->retryable = 0;
	return 1;
}

/* An answer proved every request of CALL would fail (account_level()):
 * its recipients still queued or backing off get the same error without
 * a request; those in flight finish on their own. */
static void stop_call(tw_sender *s, tw_call *call, tw_job *first,
                      const char *field, const tw_response *r)
{
	size_t i, stopped = 0;
	char *msg = tw_strdupf("not sent: %s", r->message);

	unqueue_call(s, call);
	for (i = 0; i < call->njobs; i++) {
		tw_job *j = &call->jobs[i];

		if (j->state != TW_JOB_WAITING && j->state != TW_JOB_BACKOFF)
			continue;
		job_error(s, j, r->err, field, r->code, r->http,
		          msg ? msg : r->message, r->more_info, 0, 0, 0);
		job_done(s, j, 0);
		stopped++;
	}
	free(msg);
	if (stopped) {
		json_object *f = json_object_new_object();

		if (f) {
			json_object_object_add(
			        f, "call_id",
			        json_object_new_uint64(call->call_id));
			json_object_object_add(
			        f, "index", json_object_new_int(first->index));
			json_object_object_add(
			        f, "error",
			        json_object_new_string(tw_err_name(r->err)));
			json_object_object_add(
			        f, "not_sent",
			        json_object_new_uint64((uint64_t)stopped));
		}
		tw_log(s->host, CONN_LOG_WARN, f,
		       "every request of this call would fail the same way; "
		       "the recipients not yet sent are not sent");
	}
}

/* The wait a 429 asks for, in ms: Retry-After (seconds, or an HTTP date
 * that libcurl turned into seconds) clamped to the call's deadline (a
 * value up to 2^63 - 1 must not overflow), else the back-off. *PAST: the
 * wait ends after the deadline. */
static int64_t retry_after_ms(tw_sender *s, tw_slot *sl, tw_job *j, int *past)
{
	curl_off_t ra = 0;
	int64_t left = conn_ms_left(j->call->deadline_ms);

	*past = 0;
	if (curl_easy_getinfo(sl->easy, CURLINFO_RETRY_AFTER, &ra) !=
	            CURLE_OK ||
	    ra <= 0) /* absent, garbage, negative, a date in the past */
		return backoff_ms(s, j->attempts);
	if (ra >= left / 1000 + 1) {
		*past = 1;
		return left;
	}
	return (int64_t)ra * 1000;
}

/* An HTTP answer arrived. */
static void finish_http(tw_sender *s, tw_slot *sl, tw_job *j, long http)
{
	tw_response r;
	const char *expect = j->call->kind == TW_CALL_CHECK ? "AC" : "SM";
	const char *field = NULL;
	int ra_past = 0;

	if (j->call->kind == TW_CALL_HTTP && http != 429) {
		tw_call *c = j->call;

		if (c->on_http(c, j, http, sl->resp.data ? sl->resp.data : "",
		               sl->overflow ? TW_RESPONSE_MAX + 1
		                            : sl->resp.len) == 1 &&
		    !atomic_load(&c->cancel)) {
			/* the next request of the same job, at once */
			j->state = TW_JOB_BACKOFF;
			j->due_ms = conn_now_ms();
			j->next = s->backoff;
			s->backoff = j;
			return;
		}
		if (!j->result && !j->error)
			job_fail(s, j, TW_UNKNOWN, 0, http, "out of memory",
			         NULL, 1, 0);
		job_done(s, j, 0);
		return;
	}
	if (http == 429) {
		int64_t wait = retry_after_ms(s, sl, j, &ra_past);

		if (retry_later(s, j, wait) == 0) {
			char msg[160];

			snprintf(msg, sizeof(msg),
			         "Twilio answered 429; retrying in %lld ms "
			         "(attempt %d of %ld)",
			         (long long)wait, j->attempts + 1,
			         s->cfg->max_retries + 1);
			log_job(s, CONN_LOG_INFO, j, "RATE_LIMITED", msg);
			return;
		}
	}
	if (tw_response_parse(http, sl->resp.data ? sl->resp.data : "",
	                      sl->overflow ? TW_RESPONSE_MAX + 1 : sl->resp.len,
	                      expect, &r)) {
		/* only a 4xx certainly created nothing */
		int maybe = http < 400 || http >= 500;

		job_fail(s, j, TW_UNKNOWN, 0, http, "out of memory", NULL, 1,
		         maybe);
		job_done(s, j, maybe);
		return;
	}
	if (r.err == TW_OK) {
		job_ok(s, j, &r);
		job_done(s, j, 1);
	} else {
		int maybe = r.err == TW_OUTCOME_UNKNOWN, stop = 0;

		if (j->call->kind == TW_CALL_CHECK && maybe) {
			/* a GET created nothing: the check just did not
			 * complete */
			char *m = tw_strdupf("Twilio answered HTTP %ld: the "
			                     "check did not complete; try "
			                     "again later",
			                     http);

			if (m) {
				free(r.message);
				r.message = m;
			}
			r.err = TW_CONNECTION;
			r.retryable = 1;
			maybe = 0;
		} else if (account_level(s, &r, &field)) {
			stop = j->call->kind == TW_CALL_SEND;
		} else if (r.err == TW_INVALID_FROM ||
		           r.err == TW_SENDER_QUEUE_FULL) {
			field = "smsFrom";
		}
		if (r.err == TW_RATE_LIMITED) {
			char *m;

			if (ra_past)
				m = tw_strdupf(
				        "%s (HTTP 429; Twilio's Retry-After "
				        "asks to wait past the call's "
				        "deadline: not sent, retry later)",
				        r.message);
			else
				m = tw_strdupf("%s (HTTP 429 after %d retries "
				               "or the deadline; not sent, "
				               "retry later)",
				               r.message, j->attempts);
			if (m) {
				free(r.message);
				r.message = m;
			}
		}
		job_error(s, j, r.err, field, r.code, http, r.message,
		          r.more_info, r.retryable, maybe, 1);
		job_done(s, j, maybe);
		if (stop)
			stop_call(s, j->call, j, field, &r);
	}
	tw_response_clear(&r);
}

/* What libcurl reported for a failed transfer: the evidence behind
 * "retry" versus "outcome unknown". */
static void log_transport(tw_sender *s, tw_job *j, CURLcode rc, long reqsize,
                          curl_off_t body_sent, int attempts)
{
	json_object *f = json_object_new_object();

	if (f) {
		json_object_object_add(
		        f, "call_id", json_object_new_uint64(j->call->call_id));
		json_object_object_add(f, "index",
		                       json_object_new_int(j->index));
		json_object_object_add(f, "curl_code", json_object_new_int(rc));
		json_object_object_add(
		        f, "curl_error",
		        json_object_new_string(curl_easy_strerror(rc)));
		json_object_object_add(f, "request_size",
		                       json_object_new_int64(reqsize));
		json_object_object_add(
		        f, "body_bytes_sent",
		        json_object_new_int64((int64_t)body_sent));
		json_object_object_add(f, "attempts",
		                       json_object_new_int(attempts));
	}
	tw_log(s->host, CONN_LOG_DEBUG, f, "transfer failed without an answer");
}

/* What to check when the API host cannot be reached: the settings that
 * chose where the connection goes. */
static const char *unreachable_hint(const tw_config *c)
{
	if (c->proxy && c->base_url_set)
		return "check TWILIO_PROXY (the proxy) and TWILIO_BASE_URL "
		       "(the API host), and that this host can reach them";
	if (c->proxy)
		return "check TWILIO_PROXY (the proxy) and that this host "
		       "can reach it";
	if (c->base_url_set)
		return "check TWILIO_BASE_URL (or TWILIO_EDGE/TWILIO_REGION) "
		       "and that this host can reach it";
	return "check this host's network access and DNS for "
	       "api.twilio.com (or set TWILIO_PROXY)";
}

/* A transfer ended without an HTTP answer; WHY: libcurl's words, scrubbed. */
static void transport_failed(tw_sender *s, tw_slot *sl, tw_job *j, CURLcode rc,
                             const char *why)
{
	curl_off_t reqsize = 0, body = 0;
	long rs = 0;
	char msg[512];

	if (curl_easy_getinfo(sl->easy, CURLINFO_REQUEST_SIZE, &rs) == CURLE_OK)
		reqsize = rs;
	else
		reqsize = -1;
	if (curl_easy_getinfo(sl->easy, CURLINFO_SIZE_UPLOAD_T, &body) !=
	    CURLE_OK)
		body = -1;
	log_transport(s, j, rc, (long)reqsize, body, sl->attempts);
	if (tls_config_error(rc)) {
		snprintf(msg, sizeof(msg),
		         "could not connect to Twilio securely: %s (check "
		         "TWILIO_CA_BUNDLE and TWILIO_BASE_URL; verification "
		         "is never turned off)",
		         why);
		job_fail(s, j, TW_CONNECTION, 0, 0, msg, NULL, 0, 0);
		job_done(s, j, 0);
		return;
	}
	if (reqsize == 0 && body == 0 && !sl->resend_refused) {
		int64_t wait = backoff_ms(s, j->attempts);

		if (retry_later(s, j, wait) == 0) {
			snprintf(msg, sizeof(msg),
			         "no request byte was sent; retrying in %lld "
			         "ms (attempt %d of %ld)",
			         (long long)wait, j->attempts + 1,
			         s->cfg->max_retries + 1);
			log_job(s, CONN_LOG_INFO, j, "TWILIO_CONNECTION_ERROR",
			        msg);
			return;
		}
		snprintf(msg, sizeof(msg),
		         "could not reach Twilio: %s; nothing was sent (after "
		         "%d retries): %s",
		         why, j->attempts, unreachable_hint(s->cfg));
		job_fail(s, j, TW_CONNECTION, 0, 0, msg, NULL, 1, 0);
		job_done(s, j, 0);
		return;
	}
	if (rc == CURLE_OPERATION_TIMEDOUT &&
	    conn_now_ms() >= j->call->deadline_ms) {
		snprintf(msg, sizeof(msg),
		         "the call's deadline passed while the request was in "
		         "flight: the message may have been created, do not "
		         "resend blindly");
		job_fail(s, j, TW_DEADLINE_EXCEEDED, 0, 0, msg, NULL, 0, 1);
		job_done(s, j, 1);
		return;
	}
	if (sl->resend_refused)
		snprintf(msg, sizeof(msg),
		         "the connection to Twilio was lost after the request "
		         "was sent; it was not sent again because Twilio may "
		         "already have created the message: do not resend "
		         "blindly");
	else if (rc == CURLE_OPERATION_TIMEDOUT)
		snprintf(msg, sizeof(msg),
		         "no answer from Twilio in time after the request was "
		         "sent (%s); the message may have been created: do not "
		         "resend blindly",
		         why);
	else
		snprintf(msg, sizeof(msg),
		         "the connection to Twilio failed after the request "
		         "was sent (%s); the message may have been created: do "
		         "not resend blindly",
		         why);
	job_fail(s, j,
	         j->call->kind == TW_CALL_CHECK ? TW_CONNECTION
	                                        : TW_OUTCOME_UNKNOWN,
	         0, 0, msg, NULL, 0, 1);
	job_done(s, j, 1);
}

/* A transfer ended without an HTTP answer. */
static void finish_transport(tw_sender *s, tw_slot *sl, tw_job *j, CURLcode rc)
{
	/* libcurl's buffer may quote the proxy URL, credentials included,
	 * cut to 256 bytes: scrubbed before it is put into any text, so a
	 * later cut cannot leave a piece of a secret the scrubber misses */
	char *clean =
	        sl->errbuf[0] ? tw_config_scrub(s->cfg, sl->errbuf, 0) : NULL;

	transport_failed(s, sl, j, rc,
	                 clean           ? clean
	                 : sl->errbuf[0] ? "(out of memory)"
	                                 : curl_easy_strerror(rc));
	free(clean);
}

/* Finish the transfers libcurl reports done; how many. */
static int read_infos(tw_sender *s)
{
	CURLMsg *m;
	int left, n = 0;

	while ((m = curl_multi_info_read(s->multi, &left))) {
		tw_slot *sl = NULL;
		tw_job *j;
		long http = 0;
		CURLcode rc = m->data.result;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
		                  (char **)&sl);
		curl_easy_getinfo(m->easy_handle, CURLINFO_RESPONSE_CODE,
		                  &http);
		curl_multi_remove_handle(s->multi, m->easy_handle);
		j = sl->job;
		if (rc == CURLE_OK ||
		    (rc == CURLE_WRITE_ERROR && sl->overflow && http > 0))
			finish_http(s, sl, j, http);
		else
			finish_transport(s, sl, j, rc);
		slot_put(s, sl);
		n++;
	}
	return n;
}

/* ----------------------------------------------- deadlines and cancels */

/* Abort J's request in flight (deadline or shutdown). */
static void abort_running(tw_sender *s, tw_job *j, tw_err e, const char *why)
{
	tw_slot *sl = j->slot;
	long rs = 0;
	int maybe;
	char msg[400];

	curl_easy_getinfo(sl->easy, CURLINFO_REQUEST_SIZE, &rs);
	/* the pre-request callback runs just before the request is written */
	maybe = rs > 0 || sl->attempts > 0;
	curl_multi_remove_handle(s->multi, sl->easy);
	snprintf(msg, sizeof(msg), "%s %s", why,
	         maybe ? "while the request was in flight: the message may "
	                 "have been created, do not resend blindly"
	               : "before the request was sent; nothing was sent");
	job_fail(s, j, e, 0, 0, msg, NULL, !maybe, maybe);
	job_done(s, j, maybe);
	slot_put(s, sl);
}

/* Fail every unfinished job of CALL: queued ones with E (nothing sent),
 * running ones too when ABORT. */
static void fail_call(tw_sender *s, tw_call *call, tw_err e, const char *why,
                      int abort)
{
	size_t i;
	char msg[300];

	unqueue_call(s, call);
	for (i = 0; i < call->njobs; i++) {
		tw_job *j = &call->jobs[i];

		if (j->state == TW_JOB_WAITING || j->state == TW_JOB_BACKOFF) {
			snprintf(msg, sizeof(msg), "%s; nothing was sent", why);
			job_fail(s, j, e, 0, 0, msg, NULL, 1, 0);
			job_done(s, j, 0);
		} else if (j->state == TW_JOB_RUNNING && abort) {
			abort_running(s, j, e, why);
		}
	}
}

static void complete_call(tw_sender *s, tw_call *call)
{
	json_object *out;
	uint64_t id = call->call_id;

	pthread_mutex_lock(&s->lock);
	if (call->prev)
		call->prev->next = call->next;
	else
		s->calls = call->next;
	if (call->next)
		call->next->prev = call->prev;
	s->reserved--;
	pthread_mutex_unlock(&s->lock);
	out = call->outputs(call);
	if (!out)
		out = json_object_new_object();
	/* Free the call (and its jobs' results and errors) before the host
	 * owns OUT: an outputs() may share a child of a job's object
	 * (check_outputs, nw_outputs: json_object_get), and json-c's
	 * reference counts are not atomic, so a put here racing the host's
	 * put of OUT on its thread could free a string the host is still
	 * reading (TSan: send_sms_basic.sh, `check --online`). */
	tw_call_free(call);
	s->host->complete(s->host->ctx, id, out);
}

/* Sweep calls: cancels, deadlines, completions. Returns the nearest
 * deadline of a call still open (INT64_MAX if none). */
static int64_t sweep_calls(tw_sender *s, int stopping)
{
	int64_t now = conn_now_ms(), next = INT64_MAX;
	tw_call *c = s->calls, *n;

	for (; c; c = n) {
		n = c->next;
		if (!c->cancel_seen && atomic_load(&c->cancel)) {
			c->cancel_seen = 1;
			fail_call(s, c, TW_CANCELLED, "the call was cancelled",
			          0);
		}
		if (stopping && !c->cancel_seen) {
			c->cancel_seen = 1;
			fail_call(s, c, TW_CANCELLED,
			          "the connector instance is shutting down", 0);
		}
		if (c->unfinished && now >= c->deadline_ms)
			fail_call(s, c, TW_DEADLINE_EXCEEDED,
			          "the call's deadline passed", 1);
		else if (c->unfinished && stopping && now >= s->stop_deadline)
			fail_call(s, c, TW_CANCELLED,
			          "the connector instance shut down", 1);
		if (c->unfinished == 0)
			complete_call(s, c);
		else if (c->deadline_ms < next)
			next = c->deadline_ms;
	}
	return next;
}

/* Move due back-off jobs to the ready queue; the nearest due time left. */
static int64_t sweep_backoff(tw_sender *s)
{
	int64_t now = conn_now_ms(), next = INT64_MAX;
	tw_job **pp = &s->backoff;

	while (*pp) {
		tw_job *j = *pp;

		if (j->due_ms <= now) {
			*pp = j->next;
			ready_push(s, j);
		} else {
			if (j->due_ms < next)
				next = j->due_ms;
			pp = &j->next;
		}
	}
	return next;
}

static void queue_new_jobs(tw_sender *s, tw_call *c)
{
	size_t i;

	for (i = 0; i < c->njobs; i++)
		if (c->jobs[i].state == TW_JOB_WAITING)
			ready_push(s, &c->jobs[i]);
}

/* ---------------------------------------------------------- the thread */

static void *run(void *arg)
{
	tw_sender *s = arg;

	for (;;) {
		int stopping, timeout;
		int64_t next, nb, now;
		tw_call *in, *c, *n, *rev = NULL;

		pthread_mutex_lock(&s->lock);
		in = s->incoming;
		s->incoming = NULL;
		stopping = s->stopping;
		pthread_mutex_unlock(&s->lock);
		/* incoming is newest first: reverse to queue in order */
		for (c = in; c; c = n) {
			n = c->next;
			c->next = rev;
			rev = c;
		}
		for (c = rev; c; c = n) {
			n = c->next;
			pthread_mutex_lock(&s->lock);
			c->prev = NULL;
			c->next = s->calls;
			if (s->calls)
				s->calls->prev = c;
			s->calls = c;
			pthread_mutex_unlock(&s->lock);
			queue_new_jobs(s, c);
		}
		nb = sweep_backoff(s);
		/* a request can be answered within the action that sends it:
		 * collect until libcurl has nothing more to report */
		do {
			start_ready(s);
			curl_timer(s);
		} while (read_infos(s) > 0);
		next = sweep_calls(s, stopping);
		if (stopping && !s->calls) {
			long reserved;

			/* a call reserved before the stop may still arrive */
			pthread_mutex_lock(&s->lock);
			n = s->incoming;
			reserved = s->reserved;
			pthread_mutex_unlock(&s->lock);
			if (!n && (reserved == 0 ||
			           conn_now_ms() >= s->stop_deadline))
				break;
			if (!n)
				tw_loop_run_once(s->loop, 10);
			continue;
		}
		if (nb < next)
			next = nb;
		if (stopping && s->stop_deadline < next)
			next = s->stop_deadline;
		/* libcurl's timer is a loop timer: the wait ends by it too */
		now = conn_now_ms();
		timeout = next == INT64_MAX   ? 1000
		          : next <= now       ? 0
		          : next - now > 1000 ? 1000
		                              : (int)(next - now);
		if (s->ready_head && s->free_slots)
			timeout = 0;
		tw_loop_run_once(s->loop, timeout);
	}
	return NULL;
}

/* ------------------------------------------------------------- public */

static char *join_url(const char *a, const char *b, const char *c)
{
	char *u = NULL;

	if (asprintf(&u, "%s%s%s", a, b, c) < 0)
		return NULL;
	return u;
}

tw_sender *tw_sender_new(const conn_host *host, const tw_config *cfg, char *err,
                         size_t errlen)
{
	tw_sender *s = calloc(1, sizeof(*s));
	long i;

	if (!s) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->host = host;
	s->cfg = cfg;
	pthread_mutex_init(&s->lock, NULL);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_init(&s->share_locks[i], NULL);
	s->rng = (uint64_t)conn_now_ms() * 0x9E3779B97F4A7C15ULL ^
	         (uint64_t)(uintptr_t)s;
	if (!s->rng)
		s->rng = 1;
	s->messages_url =
	        join_url(cfg->base_url, "/2010-04-01/Accounts/", cfg->account);
	if (s->messages_url) {
		char *m = join_url(s->messages_url, "/Messages.json", "");

		s->account_url = join_url(s->messages_url, ".json", "");
		free(s->messages_url);
		s->messages_url = m;
	}
	s->headers = curl_slist_append(NULL, "Accept: application/json");
	if (s->headers)
		s->headers = curl_slist_append(s->headers, "Expect:");
	s->slots = calloc((size_t)cfg->max_concurrency, sizeof(*s->slots));
	if (!s->messages_url || !s->account_url || !s->headers || !s->slots) {
		snprintf(err, errlen, "out of memory");
		tw_sender_stop(s, 0);
		return NULL;
	}
	for (i = cfg->max_concurrency - 1; i >= 0; i--) {
		s->slots[i].next_free = s->free_slots;
		s->free_slots = &s->slots[i];
	}
	return s;
}

/* Open descriptors of the process, by number (a /proc/self/fd scan). */
typedef struct fd_list {
	int *fd;
	size_t n, cap;
} fd_list;

static void list_fds(fd_list *l)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	while (d && (e = readdir(d)) != NULL) {
		/* the directory's own descriptor is not one that stays */
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? 2 * l->cap : 64;
			int *p = realloc(l->fd, cap * sizeof(*p));

			if (!p)
				break;
			l->fd = p;
			l->cap = cap;
		}
		l->fd[l->n++] = atoi(e->d_name);
	}
	if (d)
		closedir(d);
}

static int in_list(const fd_list *l, int fd)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		if (l->fd[i] == fd)
			return 1;
	return 0;
}

/*
 * libcurl before 8.x makes its multi handle's wake-up socketpair without
 * SOCK_CLOEXEC, and offers no way to reach it: a child the host forks and
 * execs would inherit two descriptors of ours (and keep our end open).
 * The two AF_UNIX sockets that appeared during curl_multi_init() (BEFORE:
 * the descriptors open before it) without FD_CLOEXEC get it. Only when
 * exactly two such appeared: anything else means another thread opened
 * descriptors in that instant, and those are left as they are.
 */
static void cloexec_wakeup_pair(const fd_list *before)
{
	fd_list after = {0};
	int pair[2], k = 0;
	size_t i;

	if (!before->fd)
		return; /* no list (out of memory, no /proc): nothing known */
	list_fds(&after);
	for (i = 0; i < after.n; i++) {
		int fd = after.fd[i], dom = 0, fl;
		socklen_t len = sizeof(dom);

		if (in_list(before, fd) || (fl = fcntl(fd, F_GETFD)) < 0 ||
		    (fl & FD_CLOEXEC))
			continue;
		if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &len) != 0 ||
		    dom != AF_UNIX || k == 2) {
			k = 3;
			break;
		}
		pair[k++] = fd;
	}
	if (k == 2) {
		fcntl(pair[0], F_SETFD, FD_CLOEXEC);
		fcntl(pair[1], F_SETFD, FD_CLOEXEC);
	}
	free(after.fd);
}

int tw_sender_start(tw_sender *s, char *err, size_t errlen)
{
	const curl_version_info_data *ver = curl_version_info(CURLVERSION_NOW);
	int rc;

	/* Each instance takes one curl_global_init/cleanup pair, on whichever
	 * host thread starts or shuts it down, possibly two at once: that is
	 * only safe where libcurl reference-counts it under a lock. */
	if (!(ver->features & CURL_VERSION_THREADSAFE)) {
		snprintf(err, errlen,
		         "libcurl %s is not thread-safe "
		         "(CURL_VERSION_THREADSAFE): the connector needs 7.84 "
		         "or later built with thread support",
		         ver->version);
		return CONN_EABI;
	}
	/* the guard against libcurl's silent re-send (prereq_cb) */
	if (ver->version_num < 0x075000) {
		snprintf(err, errlen,
		         "libcurl %s has no CURLOPT_PREREQFUNCTION: the "
		         "connector needs 7.80 or later to stop libcurl "
		         "re-sending a message on its own",
		         ver->version);
		return CONN_EABI;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		snprintf(err, errlen, "libcurl could not be initialised");
		return CONN_EIO;
	}
	s->curl_inited = 1;
	{
		fd_list before = {0};

		list_fds(&before);
		s->multi = curl_multi_init();
		cloexec_wakeup_pair(&before);
		free(before.fd);
	}
	s->share = curl_share_init();
	if (!s->multi || !s->share) {
		snprintf(err, errlen, "libcurl: out of memory");
		return CONN_ENOMEM;
	}
	s->loop = tw_loop_new(err, errlen);
	if (!s->loop)
		return CONN_EIO;
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(s->multi, CURLMOPT_SOCKETDATA, s);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(s->multi, CURLMOPT_TIMERDATA, s);
	curl_share_setopt(s->share, CURLSHOPT_LOCKFUNC, share_lock);
	curl_share_setopt(s->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
	curl_share_setopt(s->share, CURLSHOPT_USERDATA, s);
	curl_share_setopt(s->share, CURLSHOPT_SHARE,
	                  CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(s->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_multi_setopt(s->multi, CURLMOPT_PIPELINING,
	                  (long)CURLPIPE_MULTIPLEX);
	/* the slot pool already bounds transfers; a connection limit here would
	 * park new transfers as "pending" and make libcurl redo their set-up
	 * each time another one finishes (measured: 3x per request at 256) */
	curl_multi_setopt(s->multi, CURLMOPT_MAXCONNECTS,
	                  s->cfg->max_concurrency);
	{
		sigset_t old;

		/* the thread (and libcurl's resolver threads it starts)
		 * inherit a mask without asynchronous signals */
		tw_block_async_signals(&old);
		rc = pthread_create(&s->thread, NULL, run, s);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	if (rc) {
		snprintf(err, errlen, "could not start the sender thread: %s",
		         strerror(rc));
		return CONN_EIO;
	}
	s->thread_started = 1;
	return 0;
}

int tw_sender_reserve(tw_sender *s)
{
	int rc = 0;

	pthread_mutex_lock(&s->lock);
	if (s->stopping)
		rc = -2;
	else if (s->reserved >= s->cfg->queue_capacity)
		rc = -1;
	else
		s->reserved++;
	pthread_mutex_unlock(&s->lock);
	if (rc == -1)
		atomic_fetch_add(&s->n_queue_full, 1);
	return rc;
}

void tw_sender_unreserve(tw_sender *s)
{
	pthread_mutex_lock(&s->lock);
	s->reserved--;
	pthread_mutex_unlock(&s->lock);
}

void tw_sender_submit(tw_sender *s, tw_call *call)
{
	size_t i;

	call->unfinished = 0;
	for (i = 0; i < call->njobs; i++) {
		call->jobs[i].call = call;
		if (call->jobs[i].state != TW_JOB_DONE)
			call->unfinished++;
	}
	atomic_fetch_add(&s->n_calls, 1);
	pthread_mutex_lock(&s->lock);
	call->prev = NULL;
	call->next = s->incoming;
	s->incoming = call;
	pthread_mutex_unlock(&s->lock);
	wake(s);
}

int tw_sender_cancel(tw_sender *s, uint64_t call_id)
{
	tw_call *lists[2], *c;
	int found = 0, i;

	pthread_mutex_lock(&s->lock);
	lists[0] = s->incoming;
	lists[1] = s->calls;
	for (i = 0; i < 2 && !found; i++)
		for (c = lists[i]; c; c = c->next)
			if (c->call_id == call_id) {
				atomic_store(&c->cancel, 1);
				found = 1;
				break;
			}
	pthread_mutex_unlock(&s->lock);
	if (!found)
		return CONN_ENOENT;
	wake(s);
	return 0;
}

static int join_by(pthread_t t, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t left = conn_ms_left(deadline_ms);

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)(left / 1000);
	ts.tv_nsec += (long)(left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return pthread_timedjoin_np(t, NULL, &ts);
}

int tw_sender_stop(tw_sender *s, int64_t deadline_ms)
{
	long i;

	if (!s)
		return 0;
	if (s->thread_started) {
		pthread_mutex_lock(&s->lock);
		if (!s->stopping) {
			s->stopping = 1;
			s->stop_deadline = deadline_ms;
		}
		pthread_mutex_unlock(&s->lock);
		wake(s);
		/* the thread fails what is left at the deadline; give it a
		 * moment beyond to complete those calls and exit */
		if (join_by(s->thread, conn_deadline_add(deadline_ms, 1000)) !=
		    0)
			return CONN_EBUSY;
		s->thread_started = 0;
	}
	for (i = 0; s->slots && i < s->cfg->max_concurrency; i++) {
		if (s->slots[i].easy)
			curl_easy_cleanup(s->slots[i].easy);
		tw_buf_free(&s->slots[i].body);
		tw_buf_free(&s->slots[i].resp);
	}
	free(s->slots);
	if (s->multi)
		curl_multi_cleanup(s->multi);
	if (s->share)
		curl_share_cleanup(s->share);
	/* after the multi handle: its clean-up may still name and close
	 * sockets and set its timer */
	free(s->fds);
	tw_loop_free(s->loop);
	if (s->curl_inited)
		curl_global_cleanup();
	curl_slist_free_all(s->headers);
	free(s->messages_url);
	free(s->account_url);
	for (i = 0; i < CURL_LOCK_DATA_LAST; i++)
		pthread_mutex_destroy(&s->share_locks[i]);
	pthread_mutex_destroy(&s->lock);
	free(s);
	return 0;
}

json_object *tw_sender_stats(tw_sender *s)
{
	json_object *o = json_object_new_object();

	if (!o)
		return NULL;
#define STAT(name, field)                                                      \
	json_object_object_add(o, name,                                        \
	                       json_object_new_uint64(atomic_load(&s->field)))
	STAT("calls", n_calls);
	STAT("requests", n_requests);
	STAT("sent", n_sent);
	STAT("failed", n_failed);
	STAT("retries", n_retries);
	STAT("outcome_unknown", n_unknown);
	STAT("queue_full", n_queue_full);
#undef STAT
	return o;
}
