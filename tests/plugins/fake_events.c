/*
 * fake_events.c - a fake connector that publishes events on demand and
 * records the actions it runs, for testing `connector-host serve` without
 * the real webhook (tests/serve.sh).
 *
 * Event MESSAGE: start() listens on 127.0.0.1:0 (the port is in stats at
 * webhook.port, as the Twilio plugin's webhook reports it). Each line a
 * client sends is a JSON object, published as it is to every subscription;
 * the answer is one line per subscription, {"sub_id":N,"rc":RC,"error":E},
 * then a line "end". Lines are handled one at a time by the listener
 * thread (a test harness, not a server).
 * Action record: appends {"phase":"start",...} to FAKE_RECORD when called
 * and {"phase":"done","inputs","variables","key"} when it completes, after
 * inputs.ms milliseconds (default 0), from the worker thread; a call whose
 * deadline comes first completes with an error. Every record line is
 * written whole with one write(2) under the instance lock.
 * Owns: the instance, its listener and worker threads, its socket, its
 * job list. Threads: the host's (init, start, invoke, subscribe, ...),
 * the listener (publishes; never holds the lock while it does) and the
 * worker (completes; never holds the lock while it does).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connector.h"

#define LINE_MAX_BYTES (64 * 1024)

struct job {
	uint64_t call_id;
	int64_t due, deadline;
	json_object *record; /* the "done" line */
	struct job *next;
};

struct sub {
	uint64_t id;
	struct sub *next;
};

struct conn_instance {
	const conn_host *host;
	char *record;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t worker, listener;
	int threads, stop;
	int fd, port, wake[2];
	struct job *jobs;
	struct sub *subs;
	uint64_t publishing; /* the sub being published to, 0 when none */
	uint64_t published, refused, invoked;
};

/* clang-format off */
static const char describe_text[] =
	"{\"name\":\"fake_events\",\"version\":\"1.0.0\","
	"\"description\":\"Publishes MESSAGE events sent to its socket; "
	"records actions.\","
	"\"config\":{"
	"\"FAKE_RECORD\":{\"type\":\"string\",\"required\":true,\"secure\":false,"
		"\"description\":\"The file the record action appends to.\"},"
	"\"LOG_NUMBERS\":{\"type\":\"boolean\",\"required\":false,"
		"\"secure\":false,\"default\":false,"
		"\"description\":\"Numbers unmasked in logs.\"}},"
	"\"actions\":{"
	"\"record\":{\"description\":\"Records its inputs, variables and key; "
		"completes after inputs.ms.\",\"inputs\":{\"ms\":{\"type\":"
		"\"integer\",\"required\":false}},\"outputs\":{"
		"\"twilioResult\":{\"type\":\"json\"},"
		"\"error\":{\"type\":\"string\"}}}},"
	"\"events\":{\"MESSAGE\":{\"description\":\"A line sent to the "
		"socket.\",\"params\":{},\"outputs\":{}}},"
	"\"errors\":{}}";
/* clang-format on */

static const char *fe_describe(void)
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

static int fe_init(const conn_host *host, json_object *config,
                   conn_instance **out, char *err, size_t errlen)
{
	json_object *v;
	conn_instance *in;

	if (!host || host->struct_size < CONN_HOST_SIZE_1_0 ||
	    host->abi_major != CONN_ABI_MAJOR) {
		errf(err, errlen, "host table too old");
		return CONN_EABI;
	}
	if (!json_object_object_get_ex(config, "FAKE_RECORD", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !*json_object_get_string(v)) {
		errf(err, errlen, "FAKE_RECORD: required (a file path)");
		return CONN_EINVAL;
	}
	in = calloc(1, sizeof(*in));
	if (!in || !(in->record = strdup(json_object_get_string(v)))) {
		free(in);
		return CONN_ENOMEM;
	}
	in->host = host;
	in->fd = -1;
	in->wake[0] = in->wake[1] = -1;
	pthread_mutex_init(&in->lock, NULL);
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&in->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	*out = in;
	return 0;
}

/* Append LINE (plus a newline) to the record file; lock held. */
static void record(conn_instance *in, json_object *line)
{
	const char *s = json_object_to_json_string_ext(
	        line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	char *buf = NULL;
	int fd, n;

	n = asprintf(&buf, "%s\n", s);
	fd = open(in->record, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd >= 0 && n > 0 && write(fd, buf, (size_t)n) != n)
		n = -1;
	if (fd >= 0)
		close(fd);
	free(buf);
}

/* ---------------------------------------------------------------------- */
/* The worker: completes record calls when due                             */
/* ---------------------------------------------------------------------- */

static void *worker(void *arg)
{
	conn_instance *in = arg;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		struct job **pp, **min = NULL, *j;
		json_object *out;

		for (pp = &in->jobs; *pp; pp = &(*pp)->next)
			if (!min || (*pp)->due < (*min)->due)
				min = pp;
		if (!min) {
			if (in->stop)
				break;
			pthread_cond_wait(&in->cond, &in->lock);
			continue;
		}
		if ((*min)->due > conn_now_ms()) {
			struct timespec ts = {
			        .tv_sec = (time_t)((*min)->due / 1000),
			        .tv_nsec =
			                (long)((*min)->due % 1000) * 1000000L};
			pthread_cond_timedwait(&in->cond, &in->lock, &ts);
			continue;
		}
		j = *min;
		*min = j->next;
		out = json_object_new_object();
		if (j->due >= j->deadline) {
			json_object_object_add(
			        out, "error",
			        json_object_new_string("deadline: the call's "
			                               "deadline passed"));
		} else {
			json_object *r = json_object_new_array(),
			            *e = json_object_new_object();
			char sid[40];
			snprintf(sid, sizeof(sid), "SMfake%llu",
			         (unsigned long long)j->call_id);
			json_object_object_add(e, "sid",
			                       json_object_new_string(sid));
			json_object_array_add(r, e);
			json_object_object_add(out, "twilioResult", r);
			record(in, j->record);
		}
		pthread_mutex_unlock(&in->lock);
		in->host->complete(in->host->ctx, j->call_id, out);
		json_object_put(j->record);
		free(j);
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* The listener: one JSON line in, one publish per subscription            */
/* ---------------------------------------------------------------------- */

static void publish_line(conn_instance *in, int cfd, const char *line)
{
	json_object *ev = json_tokener_parse(line);
	uint64_t *ids = NULL;
	size_t n = 0, i;
	struct sub *s;
	char err[512], *ans = NULL;

	if (!ev || !json_object_is_type(ev, json_type_object)) {
		json_object_put(ev);
		if (write(cfd, "bad json\nend\n", 13) < 0)
			return;
		return;
	}
	pthread_mutex_lock(&in->lock);
	for (s = in->subs; s; s = s->next)
		n++;
	ids = calloc(n ? n : 1, sizeof(*ids));
	for (i = 0, s = in->subs; ids && s; s = s->next)
		ids[i++] = s->id;
	pthread_mutex_unlock(&in->lock);
	for (i = 0; ids && i < n; i++) {
		json_object *copy = NULL;
		int rc;

		pthread_mutex_lock(&in->lock);
		for (s = in->subs; s && s->id != ids[i]; s = s->next)
			;
		if (!s) {
			pthread_mutex_unlock(&in->lock);
			continue;
		}
		in->publishing = ids[i];
		pthread_mutex_unlock(&in->lock);
		json_object_deep_copy(ev, &copy, NULL);
		err[0] = '\0';
		rc = in->host->publish(in->host->ctx, ids[i], copy, err,
		                       sizeof(err));
		pthread_mutex_lock(&in->lock);
		in->publishing = 0;
		if (rc == 0)
			in->published++;
		else
			in->refused++;
		pthread_cond_broadcast(&in->cond);
		pthread_mutex_unlock(&in->lock);
		{
			json_object *a = json_object_new_object();
			json_object_object_add(
			        a, "sub_id",
			        json_object_new_int64((int64_t)ids[i]));
			json_object_object_add(a, "rc",
			                       json_object_new_int(rc));
			json_object_object_add(a, "error",
			                       json_object_new_string(err));
			if (asprintf(&ans, "%s\n",
			             json_object_to_json_string_ext(
			                     a, JSON_C_TO_STRING_PLAIN)) > 0 &&
			    write(cfd, ans, strlen(ans)) < 0)
				i = n;
			free(ans);
			ans = NULL;
			json_object_put(a);
		}
	}
	free(ids);
	json_object_put(ev);
	if (write(cfd, "end\n", 4) < 0)
		return;
}

static void serve_client(conn_instance *in, int cfd)
{
	char *buf = malloc(LINE_MAX_BYTES);
	size_t len = 0;

	while (buf) {
		struct pollfd pf[2] = {{.fd = cfd, .events = POLLIN},
		                       {.fd = in->wake[0], .events = POLLIN}};
		ssize_t r;
		char *nl;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!pf[0].revents)
			continue;
		r = read(cfd, buf + len, LINE_MAX_BYTES - 1 - len);
		if (r <= 0)
			break;
		len += (size_t)r;
		while ((nl = memchr(buf, '\n', len))) {
			*nl = '\0';
			publish_line(in, cfd, buf);
			len -= (size_t)(nl + 1 - buf);
			memmove(buf, nl + 1, len);
		}
		if (len == LINE_MAX_BYTES - 1)
			break; /* a line too long: drop the client */
	}
	free(buf);
	close(cfd);
}

static void *listener(void *arg)
{
	conn_instance *in = arg;

	for (;;) {
		struct pollfd pf[2] = {{.fd = in->fd, .events = POLLIN},
		                       {.fd = in->wake[0], .events = POLLIN}};
		int cfd;

		if (poll(pf, 2, -1) < 0 && errno != EINTR)
			break;
		if (pf[1].revents)
			break;
		if (!pf[0].revents)
			continue;
		cfd = accept4(in->fd, NULL, NULL, SOCK_CLOEXEC);
		if (cfd >= 0)
			serve_client(in, cfd);
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Lifecycle                                                               */
/* ---------------------------------------------------------------------- */

static int fe_start(conn_instance *in, conn_handoff *handoff, char *err,
                    size_t errlen)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t alen = sizeof(a);

	(void)handoff;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	in->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (in->fd < 0 || bind(in->fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(in->fd, 16) ||
	    getsockname(in->fd, (struct sockaddr *)&a, &alen) ||
	    pipe2(in->wake, O_CLOEXEC)) {
		errf(err, errlen, "listener: %s", strerror(errno));
		return CONN_EIO;
	}
	in->port = ntohs(a.sin_port);
	if (pthread_create(&in->worker, NULL, worker, in) != 0)
		return CONN_EIO;
	in->threads = 1;
	if (pthread_create(&in->listener, NULL, listener, in) != 0)
		return CONN_EIO;
	in->threads = 2;
	return 0;
}

static int fe_quiesce(conn_instance *in, conn_handoff *out)
{
	(void)in;
	(void)out;
	return 0;
}

static int fe_resume(conn_instance *in, conn_handoff *h, char *err,
                     size_t errlen)
{
	(void)in;
	(void)h;
	(void)err;
	(void)errlen;
	return 0;
}

static int fe_shutdown(conn_instance *in, int64_t deadline_ms)
{
	struct sub *s, *sn;

	(void)deadline_ms;
	if (in->wake[1] >= 0 && write(in->wake[1], "x", 1) < 0)
		return CONN_EIO;
	if (in->threads > 1)
		pthread_join(in->listener, NULL);
	pthread_mutex_lock(&in->lock);
	in->stop = 1; /* the worker completes what is queued, then exits */
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	if (in->threads > 0)
		pthread_join(in->worker, NULL);
	for (s = in->subs; s; s = sn) {
		sn = s->next;
		free(s);
	}
	if (in->fd >= 0)
		close(in->fd);
	if (in->wake[0] >= 0)
		close(in->wake[0]);
	if (in->wake[1] >= 0)
		close(in->wake[1]);
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	free(in->record);
	free(in);
	return 0;
}

static int fe_invoke(conn_instance *in, const conn_call *call, char *err,
                     size_t errlen)
{
	json_object *line, *ms, *copy = NULL;
	struct job *j;

	if (strcmp(call->action, "record") != 0) {
		errf(err, errlen, "unknown action '%s'", call->action);
		return CONN_ENOTSUP;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return CONN_ENOMEM;
	j->call_id = call->call_id;
	j->deadline = call->deadline_ms;
	j->due = conn_now_ms();
	if (json_object_object_get_ex(call->inputs, "ms", &ms) &&
	    json_object_is_type(ms, json_type_int))
		j->due += json_object_get_int64(ms);
	if (j->due > j->deadline)
		j->due = j->deadline;
	j->record = json_object_new_object();
	json_object_object_add(j->record, "phase",
	                       json_object_new_string("done"));
	json_object_deep_copy(call->inputs, &copy, NULL);
	json_object_object_add(j->record, "inputs", copy);
	copy = NULL;
	if (call->variables)
		json_object_deep_copy(call->variables, &copy, NULL);
	json_object_object_add(j->record, "variables", copy);
	json_object_object_add(
	        j->record, "key",
	        call->idempotency_key
	                ? json_object_new_string(call->idempotency_key)
	                : NULL);
	line = json_object_new_object();
	json_object_object_add(line, "phase", json_object_new_string("start"));
	json_object_object_add(
	        line, "key",
	        call->idempotency_key
	                ? json_object_new_string(call->idempotency_key)
	                : NULL);
	pthread_mutex_lock(&in->lock);
	in->invoked++;
	record(in, line);
	j->next = in->jobs;
	in->jobs = j;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	json_object_put(line);
	return 0;
}

static int fe_subscribe(conn_instance *in, uint64_t sub_id, const char *event,
                        json_object *params, char *err, size_t errlen)
{
	struct sub *s;

	(void)params;
	if (strcmp(event, "MESSAGE") != 0) {
		errf(err, errlen, "unknown event '%s'", event);
		return CONN_ENOTSUP;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return CONN_ENOMEM;
	s->id = sub_id;
	pthread_mutex_lock(&in->lock);
	s->next = in->subs;
	in->subs = s;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int fe_unsubscribe(conn_instance *in, uint64_t sub_id)
{
	struct sub **pp, *s = NULL;

	pthread_mutex_lock(&in->lock);
	for (pp = &in->subs; *pp; pp = &(*pp)->next) {
		if ((*pp)->id == sub_id) {
			s = *pp;
			*pp = s->next;
			break;
		}
	}
	while (in->publishing == sub_id)
		pthread_cond_wait(&in->cond, &in->lock);
	pthread_mutex_unlock(&in->lock);
	if (!s)
		return CONN_ENOENT;
	free(s);
	return 0;
}

static json_object *fe_stats(conn_instance *in)
{
	json_object *o = json_object_new_object(),
	            *w = json_object_new_object();

	pthread_mutex_lock(&in->lock);
	json_object_object_add(w, "port", json_object_new_int(in->port));
	json_object_object_add(o, "webhook", w);
	json_object_object_add(o, "published",
	                       json_object_new_int64((int64_t)in->published));
	json_object_object_add(o, "publish_refused",
	                       json_object_new_int64((int64_t)in->refused));
	json_object_object_add(o, "invoked",
	                       json_object_new_int64((int64_t)in->invoked));
	pthread_mutex_unlock(&in->lock);
	return o;
}

static const conn_plugin fe_plugin = {
        .struct_size = sizeof(conn_plugin),
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .name = "fake_events",
        .version = "1.0.0",
        .describe = fe_describe,
        .init = fe_init,
        .start = fe_start,
        .quiesce = fe_quiesce,
        .resume = fe_resume,
        .shutdown = fe_shutdown,
        .invoke_action = fe_invoke,
        .subscribe_event = fe_subscribe,
        .unsubscribe = fe_unsubscribe,
        .stats = fe_stats,
};

__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_get(uint16_t host_abi_major, uint16_t host_abi_minor);

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	(void)host_abi_minor;
	if (host_abi_major != CONN_ABI_MAJOR)
		return NULL;
	return &fe_plugin;
}
