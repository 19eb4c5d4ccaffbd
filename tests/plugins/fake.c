/*
 * fake.c - a fake connector for testing libconnhost and connector-host
 * without Twilio. Built twice, as fake-v1.la and fake-v2.la
 * (-DFAKE_VERSION=1/2), so the hot swap has two versions to swap.
 *
 * Actions: echo (completes inline), sleep (completes from the worker
 * thread after inputs.ms, or at the deadline with an error), fail
 * (completes inline with an error), fire (publishes one TICK to every
 * subscription from the worker thread and completes with the results).
 * Event TICK; params {"interval_ms":N,"count":M} make the worker publish M
 * ticks every N ms to that subscription. A listening TCP socket on
 * 127.0.0.1:0 (bound in start() or taken from the handoff) goes into the
 * handoff on quiesce() and comes back on resume(); while started, an
 * acceptor thread answers each connection with "fake N\n" (N the version)
 * and closes it. quiesce() stops the acceptor before it hands the socket
 * over, so connections made during a swap wait in the kernel's backlog for
 * the next acceptor and are never refused: tests check exactly that.
 * FAKE_FAIL=init|start|subscribe makes that step fail (rollback tests).
 * Owns one instance struct, its worker and acceptor threads, its jobs, its
 * socket and the acceptor's wake-up pipe.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connector.h"

#ifndef FAKE_VERSION
#define FAKE_VERSION 1
#endif
#define STR_(x)  #x
#define STR(x)   STR_(x)
#define LISTENER "fake-listener"

enum state { ST_INIT, ST_STARTED, ST_QUIESCED, ST_STOPPING };
enum kind { JOB_SLEEP, JOB_FIRE, JOB_TICKS, JOB_HANG };

struct job {
	enum kind kind;
	uint64_t call_id, sub_id;
	int64_t due, deadline, ms, interval;
	int remaining, timed_out;
	struct job *next;
};

struct sub {
	uint64_t id;
	json_object *params;
	struct sub *next;
};

struct conn_instance {
	const conn_host *host;
	char *name;
	long limit;
	int online_fail, busy;
	struct job *hung; /* "hang" calls, completed at shutdown */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t worker;
	int worker_started, stop;
	enum state state;
	int fd, port;
	int fail_start, fail_subscribe;
	pthread_t acceptor;
	int acceptor_running;
	int wake[2]; /* wakes the acceptor to stop; -1 when not made */
	uint64_t accepted;
	struct job *jobs;
	struct sub *subs;
	uint64_t publishing; /* the sub being published to, 0 when none */
	long pending;
	uint64_t invoked, completed, published, refused, ticks;
};

/* clang-format off */
static const char describe_text[] =
	"{\"name\":\"fake\",\"version\":\"" STR(FAKE_VERSION) ".0.0\","
	"\"description\":\"A fake connector for testing hosts.\","
	"\"config\":{"
	"\"FAKE_NAME\":{\"type\":\"string\",\"required\":true,\"secure\":false,"
		"\"description\":\"A name echoed back in outputs.\"},"
	"\"FAKE_TOKEN\":{\"type\":\"string\",\"required\":false,\"secure\":true,"
		"\"description\":\"A secret of at least 8 characters.\"},"
	"\"FAKE_LIMIT\":{\"type\":\"integer\",\"required\":false,\"secure\":false,"
		"\"default\":1000,\"minimum\":1,\"maximum\":1000000,"
		"\"description\":\"Most sleeping calls at once.\"},"
	"\"FAKE_ONLINE\":{\"type\":\"string\",\"required\":false,\"secure\":false,"
		"\"default\":\"ok\",\"description\":\"ok or fail: what "
		"check_connection reports.\"},"
	"\"FAKE_BUSY\":{\"type\":\"boolean\",\"required\":false,\"secure\":false,"
		"\"default\":false,\"description\":\"The first shutdown() "
		"returns CONN_EBUSY.\"},"
	"\"FAKE_FAIL\":{\"type\":\"string\",\"required\":false,\"secure\":false,"
		"\"description\":\"init, start or subscribe: that step fails "
		"(for testing a host's rollback).\"}},"
	"\"actions\":{"
	"\"echo\":{\"description\":\"Completes inline with the inputs.\","
		"\"inputs\":{},\"outputs\":{\"echo\":{\"type\":\"json\"},"
		"\"vars\":{\"type\":\"json\"},\"version\":{\"type\":\"integer\"}}},"
	"\"sleep\":{\"description\":\"Completes after ms milliseconds.\","
		"\"inputs\":{\"ms\":{\"type\":\"integer\",\"required\":true}},"
		"\"outputs\":{\"slept\":{\"type\":\"integer\"},"
		"\"error\":{\"type\":\"string\"}}},"
	"\"fail\":{\"description\":\"Completes inline with an error.\","
		"\"inputs\":{},\"outputs\":{\"error\":{\"type\":\"string\"}}},"
	"\"fire\":{\"description\":\"Publishes a TICK to every subscription.\","
		"\"inputs\":{},\"outputs\":{\"published\":{\"type\":\"json\"}}},"
	"\"hang\":{\"description\":\"Completes only at shutdown (breaks the "
		"deadline rule on purpose).\",\"inputs\":{},\"outputs\":{}},"
	"\"claim\":{\"description\":\"Claims COUNT keys PREFIX0, PREFIX1, "
	"... in the host's store, settling each new one; outputs how many "
	"were new and how many refused as full.\",\"inputs\":{},"
	"\"outputs\":{}},"
	"\"dup\":{\"description\":\"Completes twice, and an unknown call id "
		"(breaks the rules on purpose).\",\"inputs\":{},\"outputs\":{}},"
	"\"check_connection\":{\"description\":\"Reports FAKE_ONLINE.\","
		"\"inputs\":{},\"outputs\":{\"ok\":{\"type\":\"boolean\"},"
		"\"error\":{\"type\":\"string\"}}}},"
	"\"events\":{\"TICK\":{\"description\":\"A tick.\","
		"\"params\":{\"interval_ms\":{\"type\":\"integer\",\"required\":false},"
		"\"count\":{\"type\":\"integer\",\"required\":false}},"
		"\"outputs\":{\"tick\":{\"type\":\"integer\"}}}},"
	"\"errors\":{\"deadline\":\"The deadline passed.\","
		"\"shutdown\":\"The instance shut down.\"}}";
/* clang-format on */

static const char *fake_describe(void)
{
	return describe_text;
}

static void errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static const char *cfg_str(json_object *config, const char *key)
{
	json_object *v;
	if (json_object_object_get_ex(config, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

static int fake_init(const conn_host *host, json_object *config,
                     conn_instance **out, char *err, size_t errlen)
{
	const char *name = cfg_str(config, "FAKE_NAME");
	const char *token = cfg_str(config, "FAKE_TOKEN");
	const char *limit = cfg_str(config, "FAKE_LIMIT");
	const char *online = cfg_str(config, "FAKE_ONLINE");
	const char *busy = cfg_str(config, "FAKE_BUSY");
	const char *fail = cfg_str(config, "FAKE_FAIL");
	conn_instance *in;
	char *end = NULL;
	long lim = 1000;
	pthread_condattr_t ca;

	if (!host || host->struct_size < CONN_HOST_SIZE_1_0 ||
	    host->abi_major != CONN_ABI_MAJOR) {
		errf(err, errlen, "host table too old");
		return CONN_EABI;
	}
	CONN_CHECK_JSON_C(host, err, errlen);
	if (!name || !*name) {
		errf(err, errlen, "FAKE_NAME: required");
		return CONN_EINVAL;
	}
	if (token && strlen(token) < 8) {
		errf(err, errlen,
		     "FAKE_TOKEN: too short (at least 8 "
		     "characters)");
		return CONN_EINVAL;
	}
	if (limit) {
		errno = 0;
		lim = strtol(limit, &end, 10);
		if (!*limit || *end || errno || lim < 1 || lim > 1000000) {
			errf(err, errlen,
			     "FAKE_LIMIT: expected an integer "
			     "from 1 to 1000000");
			return CONN_EINVAL;
		}
	}
	if (online && strcmp(online, "ok") && strcmp(online, "fail")) {
		errf(err, errlen, "FAKE_ONLINE: expected ok or fail");
		return CONN_EINVAL;
	}
	if (fail && strcmp(fail, "init") && strcmp(fail, "start") &&
	    strcmp(fail, "subscribe") && *fail) {
		errf(err, errlen,
		     "FAKE_FAIL: expected init, start or subscribe");
		return CONN_EINVAL;
	}
	if (fail && strcmp(fail, "init") == 0) {
		errf(err, errlen, "FAKE_FAIL: init fails as asked");
		return CONN_EINVAL;
	}
	in = calloc(1, sizeof(*in));
	if (!in || !(in->name = strdup(name))) {
		free(in);
		return CONN_ENOMEM;
	}
	in->host = host;
	in->limit = lim;
	in->online_fail = online && strcmp(online, "fail") == 0;
	in->busy = busy &&
	           (strcmp(busy, "true") == 0 || strcmp(busy, "yes") == 0 ||
	            strcmp(busy, "on") == 0 || strcmp(busy, "1") == 0);
	in->fd = -1;
	in->wake[0] = in->wake[1] = -1;
	in->fail_start = fail && strcmp(fail, "start") == 0;
	in->fail_subscribe = fail && strcmp(fail, "subscribe") == 0;
	pthread_mutex_init(&in->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&in->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = in;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Completions and publishing (never with our lock held)                   */
/* ---------------------------------------------------------------------- */

static void complete(conn_instance *in, uint64_t call_id, json_object *out)
{
	json_object_object_add(out, "version",
	                       json_object_new_int(FAKE_VERSION));
	pthread_mutex_lock(&in->lock);
	in->completed++;
	pthread_mutex_unlock(&in->lock);
	in->host->complete(in->host->ctx, call_id, out);
}

static json_object *error_out(const char *msg)
{
	json_object *o = json_object_new_object();
	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

/* Publish one tick to SUB_ID unless it is gone. Lock held on entry and on
 * return; dropped around the host call. Returns the publish status, or 1
 * when the subscription is gone. */
static int publish_tick(conn_instance *in, uint64_t sub_id, char *err,
                        size_t errlen)
{
	struct sub *s;
	json_object *ev;
	int rc;

	for (s = in->subs; s && s->id != sub_id; s = s->next)
		;
	if (!s)
		return 1;
	in->publishing = sub_id;
	ev = json_object_new_object();
	json_object_object_add(ev, "tick",
	                       json_object_new_int64((int64_t)++in->ticks));
	json_object_object_add(ev, "version",
	                       json_object_new_int(FAKE_VERSION));
	json_object_object_add(ev, "name", json_object_new_string(in->name));
	pthread_mutex_unlock(&in->lock);
	err[0] = '\0';
	rc = in->host->publish(in->host->ctx, sub_id, ev, err, errlen);
	if (rc != 0) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "sub_id",
		                       json_object_new_int64((int64_t)sub_id));
		json_object_object_add(f, "error", json_object_new_string(err));
		in->host->log(in->host->ctx, CONN_LOG_WARN, f,
		              "publish refused");
		json_object_put(f);
	}
	pthread_mutex_lock(&in->lock);
	in->publishing = 0;
	if (rc == 0)
		in->published++;
	else
		in->refused++;
	pthread_cond_broadcast(&in->cond);
	return rc;
}

/* Lock held. */
static void run_fire(conn_instance *in, struct job *j)
{
	json_object *res = json_object_new_array(), *out;
	size_t n = 0, i;
	uint64_t *ids;
	struct sub *s;
	char err[256];

	for (s = in->subs; s; s = s->next)
		n++;
	ids = calloc(n ? n : 1, sizeof(*ids));
	for (i = 0, s = in->subs; ids && s; s = s->next)
		ids[i++] = s->id;
	for (i = 0; ids && i < n; i++) {
		int rc = publish_tick(in, ids[i], err, sizeof(err));
		json_object *r = json_object_new_object();
		if (rc == 1)
			continue;
		json_object_object_add(r, "sub_id",
		                       json_object_new_int64((int64_t)ids[i]));
		json_object_object_add(r, "status", json_object_new_int(rc));
		if (rc)
			json_object_object_add(r, "error",
			                       json_object_new_string(err));
		json_object_array_add(res, r);
	}
	free(ids);
	out = json_object_new_object();
	json_object_object_add(out, "published", res);
	pthread_mutex_unlock(&in->lock);
	complete(in, j->call_id, out);
	pthread_mutex_lock(&in->lock);
}

/* Lock held. */
static void run_job(conn_instance *in, struct job *j)
{
	char err[256];
	json_object *out;

	switch (j->kind) {
	case JOB_SLEEP:
		in->pending--;
		pthread_mutex_unlock(&in->lock);
		if (j->timed_out)
			out = error_out("deadline: the call's deadline passed");
		else {
			out = json_object_new_object();
			json_object_object_add(out, "slept",
			                       json_object_new_int64(j->ms));
		}
		complete(in, j->call_id, out);
		pthread_mutex_lock(&in->lock);
		free(j);
		break;
	case JOB_FIRE:
		run_fire(in, j);
		free(j);
		break;
	case JOB_TICKS:
		if (publish_tick(in, j->sub_id, err, sizeof(err)) != 1 &&
		    --j->remaining > 0 && !in->stop) {
			j->due += j->interval;
			j->next = in->jobs;
			in->jobs = j;
		} else {
			free(j);
		}
		break;
	case JOB_HANG: /* never queued here */ free(j); break;
	}
}

static void *worker(void *arg)
{
	conn_instance *in = arg;

	pthread_mutex_lock(&in->lock);
	while (!in->stop) {
		struct job **pp, **min = NULL, *j;
		int64_t now = conn_now_ms();

		for (pp = &in->jobs; *pp; pp = &(*pp)->next)
			if (!min || (*pp)->due < (*min)->due)
				min = pp;
		if (!min) {
			pthread_cond_wait(&in->cond, &in->lock);
			continue;
		}
		if ((*min)->due > now) {
			struct timespec ts = {
			        .tv_sec = (time_t)((*min)->due / 1000),
			        .tv_nsec =
			                (long)((*min)->due % 1000) * 1000000L};
			pthread_cond_timedwait(&in->cond, &in->lock, &ts);
			continue;
		}
		j = *min;
		*min = j->next;
		run_job(in, j);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */
/* ---------------------------------------------------------------------- */

static int take_fd(conn_handoff *h)
{
	int i, fd;

	if (!h)
		return -1;
	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++) {
		if (h->fds[i] >= 0 && strcmp(h->names[i], LISTENER) == 0) {
			fd = h->fds[i];
			h->fds[i] = -1;
			h->names[i][0] = '\0';
			return fd;
		}
	}
	return -1;
}

static int bind_listener(char *err, size_t errlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    listen(fd, 16) != 0) {
		errf(err, errlen, "listener: %s", strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int port_of(int fd)
{
	struct sockaddr_in a;
	socklen_t len = sizeof(a);

	if (getsockname(fd, (struct sockaddr *)&a, &len) != 0)
		return 0;
	return ntohs(a.sin_port);
}

/* Answer each connection with "fake N\n" until woken through the pipe.
 * The listening socket is non-blocking: another acceptor (the next
 * version's) may take a connection first. */
static void *acceptor(void *arg)
{
	conn_instance *in = arg;
	static const char banner[] = "fake " STR(FAKE_VERSION) "\n";

	for (;;) {
		struct pollfd p[2] = {{.fd = in->wake[0], .events = POLLIN},
		                      {.fd = in->fd, .events = POLLIN}};
		int c;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents)
			break;
		c = accept4(in->fd, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			continue;
		if (write(c, banner, sizeof(banner) - 1) < 0) {
			/* the client went away: nothing to report */
		}
		close(c);
		pthread_mutex_lock(&in->lock);
		in->accepted++;
		pthread_mutex_unlock(&in->lock);
	}
	return NULL;
}

static int acceptor_start(conn_instance *in, char *err, size_t errlen)
{
	int fl = fcntl(in->fd, F_GETFL);

	if (fl < 0 || fcntl(in->fd, F_SETFL, fl | O_NONBLOCK) < 0 ||
	    pthread_create(&in->acceptor, NULL, acceptor, in) != 0) {
		errf(err, errlen, "start: cannot run the acceptor: %s",
		     strerror(errno));
		return CONN_EIO;
	}
	in->acceptor_running = 1;
	return 0;
}

/* Stop and join the acceptor, so that it no longer touches the socket. */
static void acceptor_stop(conn_instance *in)
{
	char b;

	if (!in->acceptor_running)
		return;
	if (write(in->wake[1], "x", 1) < 0) {
		/* a pipe of our own with room: cannot fail */
	}
	pthread_join(in->acceptor, NULL);
	in->acceptor_running = 0;
	while (read(in->wake[0], &b, 1) == 1)
		;
}

static int fake_start(conn_instance *in, conn_handoff *handoff, char *err,
                      size_t errlen)
{
	int fd;

	if (in->state != ST_INIT) {
		errf(err, errlen, "start: already started");
		return CONN_ESTATE;
	}
	if (in->fail_start) { /* before taking anything from HANDOFF */
		errf(err, errlen, "FAKE_FAIL: start fails as asked");
		return CONN_EIO;
	}
	if (in->wake[0] < 0 && pipe2(in->wake, O_CLOEXEC | O_NONBLOCK) != 0) {
		errf(err, errlen, "start: pipe: %s", strerror(errno));
		return CONN_EIO;
	}
	fd = take_fd(handoff);
	if (fd < 0 && (fd = bind_listener(err, errlen)) < 0)
		return CONN_EIO;
	in->fd = fd;
	in->port = port_of(fd);
	if (acceptor_start(in, err, errlen) != 0)
		return CONN_EIO; /* shutdown() closes the socket */
	if (pthread_create(&in->worker, NULL, worker, in) != 0) {
		errf(err, errlen, "start: cannot create the worker thread");
		acceptor_stop(in);
		return CONN_EIO;
	}
	pthread_mutex_lock(&in->lock);
	in->worker_started = 1;
	in->state = ST_STARTED;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int fake_quiesce(conn_instance *in, conn_handoff *out)
{
	int i;

	pthread_mutex_lock(&in->lock);
	if (in->state != ST_STARTED) {
		pthread_mutex_unlock(&in->lock);
		return CONN_ESTATE;
	}
	in->state = ST_QUIESCED;
	pthread_mutex_unlock(&in->lock);
	acceptor_stop(in); /* from now on the socket is the handoff's */
	for (i = 0; out && in->fd >= 0 && i < CONN_HANDOFF_MAX_FDS; i++) {
		if (out->fds[i] < 0) {
			out->fds[i] = in->fd;
			snprintf(out->names[i], CONN_HANDOFF_NAME_MAX, "%s",
			         LISTENER);
			in->fd = -1;
			break;
		}
	}
	if (out && !out->state) {
		out->state = json_object_new_object();
		json_object_object_add(out->state, "fake_version",
		                       json_object_new_int(FAKE_VERSION));
	}
	return 0;
}

static int fake_resume(conn_instance *in, conn_handoff *h, char *err,
                       size_t errlen)
{
	int fd;

	pthread_mutex_lock(&in->lock);
	if (in->state != ST_QUIESCED) {
		pthread_mutex_unlock(&in->lock);
		errf(err, errlen, "resume: not quiesced");
		return CONN_ESTATE;
	}
	pthread_mutex_unlock(&in->lock);
	fd = take_fd(h);
	if (fd >= 0) {
		if (in->fd >= 0)
			close(in->fd);
		in->fd = fd;
	}
	if (in->fd >= 0 && acceptor_start(in, err, errlen) != 0)
		return CONN_EIO;
	pthread_mutex_lock(&in->lock);
	in->state = ST_STARTED;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int fake_shutdown(conn_instance *in, int64_t deadline_ms)
{
	struct job *j, *n;
	struct sub *s, *sn;

	(void)deadline_ms;
	pthread_mutex_lock(&in->lock);
	in->state = ST_STOPPING;
	in->stop = 1;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	acceptor_stop(in);
	if (in->worker_started)
		pthread_join(in->worker, NULL);
	in->worker_started = 0;
	if (in->busy) { /* pretend a thread is still alive, once */
		in->busy = 0;
		return CONN_EBUSY;
	}
	for (j = in->hung; j; j = n) {
		n = j->next;
		complete(in, j->call_id,
		         error_out("shutdown: the instance shut down"));
		free(j);
	}
	for (j = in->jobs; j; j = n) {
		n = j->next;
		if (j->kind != JOB_TICKS)
			complete(in, j->call_id,
			         error_out("shutdown: the instance shut down"));
		free(j);
	}
	for (s = in->subs; s; s = sn) {
		sn = s->next;
		json_object_put(s->params);
		free(s);
	}
	if (in->fd >= 0)
		close(in->fd);
	if (in->wake[0] >= 0) {
		close(in->wake[0]);
		close(in->wake[1]);
	}
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	free(in->name);
	free(in);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Work                                                                    */
/* ---------------------------------------------------------------------- */

static json_object *copy_or_null(json_object *o)
{
	json_object *c = NULL;
	if (o && json_object_deep_copy(o, &c, NULL) != 0)
		c = NULL;
	return c;
}

/* Queue J; lock held. */
static void enqueue(conn_instance *in, struct job *j)
{
	j->next = in->jobs;
	in->jobs = j;
	pthread_cond_broadcast(&in->cond);
}

/* The claim action: {"prefix":P,"count":N} claims P0..P(N-1) and settles
 * each new key with {"i":I}; OUT gets {"new":A,"full":B}. */
static void claim_keys(conn_instance *in, json_object *inputs, json_object *out)
{
	json_object *v;
	const char *prefix = "send/k";
	int64_t count = 1, i, fresh = 0, full = 0;

	if (json_object_object_get_ex(inputs, "prefix", &v) &&
	    json_object_is_type(v, json_type_string))
		prefix = json_object_get_string(v);
	if (json_object_object_get_ex(inputs, "count", &v) &&
	    json_object_is_type(v, json_type_int))
		count = json_object_get_int64(v);
	for (i = 0; i < count; i++) {
		char key[256];
		json_object *r, *prior = NULL;
		uint64_t owner;
		int rc;

		snprintf(key, sizeof(key), "%s%lld", prefix, (long long)i);
		rc = conn_host_claim(in->host, key, 60000, &owner, &prior);
		json_object_put(prior);
		if (rc == CONN_EFULL)
			full++;
		if (rc != CONN_CLAIM_OWNED)
			continue;
		fresh++;
		r = json_object_new_object();
		json_object_object_add(r, "i", json_object_new_int64(i));
		conn_host_settle(in->host, key, owner, r, 60000);
	}
	json_object_object_add(out, "new", json_object_new_int64(fresh));
	json_object_object_add(out, "full", json_object_new_int64(full));
}

static int fake_invoke(conn_instance *in, const conn_call *call, char *err,
                       size_t errlen)
{
	const char *a = call->action;
	json_object *out, *ms;
	struct job *j;

	pthread_mutex_lock(&in->lock);
	if (in->state != ST_STARTED) {
		pthread_mutex_unlock(&in->lock);
		errf(err, errlen, "%s: the instance is not accepting calls", a);
		return CONN_ESTATE;
	}
	if (strcmp(a, "echo") && strcmp(a, "fail") && strcmp(a, "sleep") &&
	    strcmp(a, "fire") && strcmp(a, "hang") && strcmp(a, "dup") &&
	    strcmp(a, "claim") && strcmp(a, "check_connection")) {
		pthread_mutex_unlock(&in->lock);
		errf(err, errlen, "unknown action '%s'", a);
		return CONN_ENOTSUP;
	}
	in->invoked++;
	if (strcmp(a, "sleep") == 0 &&
	    (!json_object_object_get_ex(call->inputs, "ms", &ms) ||
	     !json_object_is_type(ms, json_type_int) ||
	     json_object_get_int64(ms) < 0)) {
		pthread_mutex_unlock(&in->lock);
		complete(in, call->call_id,
		         error_out("ms: expected a non-negative integer"));
		return 0;
	}
	if (strcmp(a, "sleep") == 0 && in->pending >= in->limit) {
		pthread_mutex_unlock(&in->lock);
		complete(in, call->call_id, error_out("queue full"));
		return 0;
	}
	if (strcmp(a, "hang") == 0) {
		j = calloc(1, sizeof(*j));
		if (!j) {
			pthread_mutex_unlock(&in->lock);
			return CONN_ENOMEM;
		}
		j->kind = JOB_HANG;
		j->call_id = call->call_id;
		j->next = in->hung;
		in->hung = j;
		pthread_mutex_unlock(&in->lock);
		return 0;
	}
	if (strcmp(a, "sleep") == 0 || strcmp(a, "fire") == 0) {
		j = calloc(1, sizeof(*j));
		if (!j) {
			pthread_mutex_unlock(&in->lock);
			return CONN_ENOMEM;
		}
		j->call_id = call->call_id;
		j->deadline = call->deadline_ms;
		j->due = conn_now_ms();
		if (strcmp(a, "sleep") == 0) {
			j->kind = JOB_SLEEP;
			j->ms = json_object_get_int64(ms);
			j->due += j->ms;
			if (j->due > j->deadline - 2) {
				j->due = j->deadline - 2;
				j->timed_out = 1;
			}
			in->pending++;
		} else {
			j->kind = JOB_FIRE;
		}
		enqueue(in, j);
		pthread_mutex_unlock(&in->lock);
		return 0;
	}
	pthread_mutex_unlock(&in->lock);
	out = json_object_new_object();
	if (strcmp(a, "claim") == 0) {
		claim_keys(in, call->inputs, out);
	} else if (strcmp(a, "dup") == 0) {
		complete(in, call->call_id, json_object_new_object());
		complete(in, call->call_id ^ (1ULL << 62),
		         json_object_new_object());
	} else if (strcmp(a, "check_connection") == 0) {
		if (in->online_fail)
			json_object_object_add(
			        out, "error",
			        json_object_new_string("online: FAKE_ONLINE "
			                               "says fail"));
		else
			json_object_object_add(out, "ok",
			                       json_object_new_boolean(1));
	} else if (strcmp(a, "fail") == 0) {
		json_object_object_add(
		        out, "error",
		        json_object_new_string(
		                "fail: the action failed as asked"));
	} else {
		json_object_object_add(out, "echo", copy_or_null(call->inputs));
		json_object_object_add(out, "vars",
		                       copy_or_null(call->variables));
		json_object_object_add(out, "name",
		                       json_object_new_string(in->name));
		if (call->idempotency_key && *call->idempotency_key)
			json_object_object_add(
			        out, "idempotency_key",
			        json_object_new_string(call->idempotency_key));
	}
	complete(in, call->call_id, out);
	return 0;
}

static int fake_cancel(conn_instance *in, uint64_t call_id)
{
	struct job **pp, *j = NULL;

	pthread_mutex_lock(&in->lock);
	for (pp = &in->jobs; *pp; pp = &(*pp)->next) {
		if ((*pp)->kind == JOB_SLEEP && (*pp)->call_id == call_id) {
			j = *pp;
			*pp = j->next;
			in->pending--;
			break;
		}
	}
	pthread_mutex_unlock(&in->lock);
	if (!j)
		return CONN_ENOENT;
	complete(in, call_id, error_out("cancelled"));
	free(j);
	return 0;
}

static int int_param(json_object *params, const char *key, int64_t *out)
{
	json_object *v;

	if (!json_object_object_get_ex(params, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < 1)
		return -1;
	*out = json_object_get_int64(v);
	return 1;
}

static int fake_subscribe(conn_instance *in, uint64_t sub_id, const char *event,
                          json_object *params, char *err, size_t errlen)
{
	int64_t interval = 0, count = 1;
	struct sub *s;
	struct job *j = NULL;
	int hi, hc;

	if (strcmp(event, "TICK") != 0) {
		errf(err, errlen, "unknown event '%s'", event);
		return CONN_ENOTSUP;
	}
	if (in->fail_subscribe) {
		errf(err, errlen, "FAKE_FAIL: subscribe fails as asked");
		return CONN_EINVAL;
	}
	hi = int_param(params, "interval_ms", &interval);
	hc = int_param(params, "count", &count);
	if (hi < 0 || hc < 0) {
		errf(err, errlen, "%s: expected a positive integer",
		     hi < 0 ? "interval_ms" : "count");
		return CONN_EINVAL;
	}
	s = calloc(1, sizeof(*s));
	if (hi > 0)
		j = calloc(1, sizeof(*j));
	if (!s || (hi > 0 && !j)) {
		free(s);
		free(j);
		return CONN_ENOMEM;
	}
	s->id = sub_id;
	s->params = copy_or_null(params);
	pthread_mutex_lock(&in->lock);
	{
		struct sub *o;
		for (o = in->subs; o; o = o->next) {
			if (o->id == sub_id) {
				pthread_mutex_unlock(&in->lock);
				json_object_put(s->params);
				free(s);
				free(j);
				errf(err, errlen, "subscription %llu exists",
				     (unsigned long long)sub_id);
				return CONN_EEXIST;
			}
		}
	}
	s->next = in->subs;
	in->subs = s;
	if (j) {
		j->kind = JOB_TICKS;
		j->sub_id = sub_id;
		j->interval = interval;
		j->remaining = (int)count;
		j->due = conn_now_ms() + interval;
		enqueue(in, j);
	}
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int fake_unsubscribe(conn_instance *in, uint64_t sub_id)
{
	struct sub **pp, *s = NULL;
	struct job **jp;

	pthread_mutex_lock(&in->lock);
	for (pp = &in->subs; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == sub_id) {
			s = *pp;
			*pp = s->next;
			break;
		}
	}
	for (jp = &in->jobs; *jp;) {
		struct job *j = *jp;
		if (j->kind == JOB_TICKS && j->sub_id == sub_id) {
			*jp = j->next;
			free(j);
		} else {
			jp = &j->next;
		}
	}
	while (in->publishing == sub_id)
		pthread_cond_wait(&in->cond, &in->lock);
	pthread_mutex_unlock(&in->lock);
	if (!s)
		return CONN_ENOENT;
	json_object_put(s->params);
	free(s);
	return 0;
}

static json_object *fake_stats(conn_instance *in)
{
	json_object *o = json_object_new_object();

	pthread_mutex_lock(&in->lock);
	json_object_object_add(o, "version", json_object_new_int(FAKE_VERSION));
	json_object_object_add(o, "port", json_object_new_int(in->port));
	json_object_object_add(o, "accepted",
	                       json_object_new_int64((int64_t)in->accepted));
	json_object_object_add(o, "invoked",
	                       json_object_new_int64((int64_t)in->invoked));
	json_object_object_add(o, "completed",
	                       json_object_new_int64((int64_t)in->completed));
	json_object_object_add(o, "published",
	                       json_object_new_int64((int64_t)in->published));
	json_object_object_add(o, "publish_refused",
	                       json_object_new_int64((int64_t)in->refused));
	json_object_object_add(o, "pending",
	                       json_object_new_int64(in->pending));
	pthread_mutex_unlock(&in->lock);
	return o;
}

static const conn_plugin fake_plugin = {
        .struct_size = sizeof(conn_plugin),
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .name = "fake",
        .version = STR(FAKE_VERSION) ".0.0",
        .describe = fake_describe,
        .init = fake_init,
        .start = fake_start,
        .quiesce = fake_quiesce,
        .resume = fake_resume,
        .shutdown = fake_shutdown,
        .invoke_action = fake_invoke,
        .cancel = fake_cancel,
        .subscribe_event = fake_subscribe,
        .unsubscribe = fake_unsubscribe,
        .stats = fake_stats,
};

__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_get(uint16_t host_abi_major, uint16_t host_abi_minor);

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	(void)host_abi_minor;
	if (host_abi_major != CONN_ABI_MAJOR)
		return NULL;
	return &fake_plugin;
}
