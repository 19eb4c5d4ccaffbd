/*
 * plugin10.c - a plugin frozen at ABI 1.0, for testing that a 1.1 host
 * still loads and drives a 1.0 binary (issue #11; tests/host/
 * test_abi_compat.c). It is compiled against tests/plugins/abi-1.0/
 * connector.h, the 1.0 header exactly as released, so its table has 1.0's
 * layout: it ends in eight reserved words, all NULL, which a 1.1 host
 * reads as the 1.1 members (pin, ...) being absent. Like a real 1.0
 * plugin, conn_plugin_get() ignores the host's minor and always answers
 * abi_minor 0 with struct_size = sizeof its 1.0 table (reserved included).
 *
 * Actions:
 *   echo  completes inline with {"echo": inputs, "vars": variables}.
 *   fire  queued to the plugin's own worker thread, which publishes one
 *         PING to every subscription and completes with
 *         {"published": [{"sub_id", "status"}...]}.
 *   once  claim()/settle() through the 1.0 services with the call's
 *         idempotency key ("once/" + key): a NEW claim does the work
 *         (counts it: stats "work_done") and settles {"work": N}; a DONE
 *         claim completes with the stored result plus "from_store": true.
 *   hold  completes only at shutdown(), with an error: a call that stays
 *         pending, so that a host can try to cancel it.
 * Event PING (no params). cancel is NULL (optional in 1.0: a host answers
 * ENOTSUP for it), stats is implemented.
 *
 * Ownership and threads: one struct per instance, owning its worker
 * thread (started in start(), joined in shutdown()), its bounded job
 * queue (PLUGIN10_MAX_JOBS; a full queue completes the call with an
 * error) and its subscription list. No host service is called with the
 * instance lock held (rule 1). quiesce()/resume() only flip the state:
 * the plugin has no socket to hand off. shutdown() completes every queued
 * job with an error before it joins the worker.
 */
#include "connector.h" /* the frozen 1.0 header next to this file */

#if CONN_ABI_MAJOR != 1 || CONN_ABI_MINOR != 0
#error "plugin10.c must be compiled against tests/plugins/abi-1.0/connector.h (ABI 1.0)"
#endif

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The 1.0 layout this plugin exists to exercise. */
_Static_assert(sizeof(conn_plugin) ==
                       offsetof(conn_plugin, reserved) + 8 * sizeof(void *),
               "a 1.0 conn_plugin ends in void *reserved[8]");

#define PLUGIN10_MAX_JOBS 64
#define PLUGIN10_TTL_MS   600000u
#define PLUGIN10_KEY_MAX  1024

enum state { ST_INIT, ST_STARTED, ST_QUIESCED, ST_STOPPING };

struct job {
	uint64_t call_id;
	struct job *next;
};

struct sub {
	uint64_t id;
	struct sub *next;
};

struct conn_instance {
	const conn_host *host;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t worker;
	int worker_started, stop;
	enum state state;
	struct job *jobs, **jobs_tail;
	size_t njobs;
	struct job *held; /* "hold" calls, completed at shutdown */
	struct sub *subs;
	uint64_t publishing; /* the sub being published to, 0 when none */
	uint64_t invoked, published, work_done;
};

/* clang-format off */
static const char describe_text[] =
	"{\"name\":\"plugin10\",\"version\":\"1.0.0\","
	"\"description\":\"A plugin built against ABI 1.0, for testing a "
	"1.1 host's backward compatibility.\","
	"\"config\":{},"
	"\"actions\":{"
	"\"echo\":{\"description\":\"Completes inline with the inputs.\","
		"\"inputs\":{},\"outputs\":{\"echo\":{\"type\":\"json\"},"
		"\"vars\":{\"type\":\"json\"}}},"
	"\"fire\":{\"description\":\"Publishes a PING to every subscription "
		"from the plugin's thread.\",\"inputs\":{},"
		"\"outputs\":{\"published\":{\"type\":\"json\"}}},"
	"\"once\":{\"description\":\"Does its work once per idempotency key "
		"(claim and settle).\",\"inputs\":{},"
		"\"outputs\":{\"work\":{\"type\":\"integer\"},"
		"\"from_store\":{\"type\":\"boolean\"},"
		"\"error\":{\"type\":\"string\"}}},"
	"\"hold\":{\"description\":\"Completes only at shutdown, with an "
		"error.\",\"inputs\":{},"
		"\"outputs\":{\"error\":{\"type\":\"string\"}}}},"
	"\"events\":{\"PING\":{\"description\":\"A ping, on fire.\","
		"\"params\":{},\"outputs\":{\"ping\":{\"type\":\"integer\"}}}},"
	"\"errors\":{\"shutdown\":\"The instance shut down.\"}}";
/* clang-format on */

static const char *p10_describe(void)
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

static json_object *error_out(const char *msg)
{
	json_object *o = json_object_new_object();

	json_object_object_add(o, "error", json_object_new_string(msg));
	return o;
}

static int p10_init(const conn_host *host, json_object *config,
                    conn_instance **out, char *err, size_t errlen)
{
	conn_instance *in;
	pthread_condattr_t ca;

	(void)config;
	*out = NULL;
	if (!host || host->struct_size < CONN_HOST_SIZE_1_0 ||
	    host->abi_major != CONN_ABI_MAJOR) {
		errf(err, errlen, "the host's table is too old for ABI 1.0");
		return CONN_EABI;
	}
	if ((json_c_version_num() >> 8) != (JSON_C_VERSION_NUM >> 8)) {
		errf(err, errlen, "json-c %s differs from the build's %s",
		     json_c_version(), JSON_C_VERSION);
		return CONN_EABI;
	}
	in = calloc(1, sizeof(*in));
	if (!in)
		return CONN_ENOMEM;
	in->host = host;
	in->jobs_tail = &in->jobs;
	pthread_mutex_init(&in->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&in->cond, &ca);
	pthread_condattr_destroy(&ca);
	*out = in;
	return 0;
}

/* Publish one PING to every subscription; lock held on entry and on
 * return, dropped around each publish(). */
static json_object *publish_all(conn_instance *in)
{
	json_object *res = json_object_new_array();
	uint64_t *ids;
	size_t n = 0, i;
	struct sub *s;

	for (s = in->subs; s; s = s->next)
		n++;
	ids = calloc(n ? n : 1, sizeof(*ids));
	for (i = 0, s = in->subs; ids && s; s = s->next)
		ids[i++] = s->id;
	for (i = 0; ids && i < n; i++) {
		json_object *ev, *r;
		char err[256] = "";
		int rc;

		for (s = in->subs; s && s->id != ids[i]; s = s->next)
			;
		if (!s) /* unsubscribed meanwhile */
			continue;
		in->publishing = ids[i];
		ev = json_object_new_object();
		json_object_object_add(
		        ev, "ping",
		        json_object_new_int64((int64_t)++in->published));
		pthread_mutex_unlock(&in->lock);
		rc = in->host->publish(in->host->ctx, ids[i], ev, err,
		                       sizeof(err));
		r = json_object_new_object();
		json_object_object_add(r, "sub_id",
		                       json_object_new_int64((int64_t)ids[i]));
		json_object_object_add(r, "status", json_object_new_int(rc));
		json_object_array_add(res, r);
		pthread_mutex_lock(&in->lock);
		in->publishing = 0;
		pthread_cond_broadcast(&in->cond);
	}
	free(ids);
	return res;
}

static void *worker(void *arg)
{
	conn_instance *in = arg;

	pthread_mutex_lock(&in->lock);
	for (;;) {
		struct job *j;
		json_object *out;

		while (!in->jobs && !in->stop)
			pthread_cond_wait(&in->cond, &in->lock);
		if (!in->jobs) /* stopping, nothing left */
			break;
		j = in->jobs;
		in->jobs = j->next;
		if (!in->jobs)
			in->jobs_tail = &in->jobs;
		in->njobs--;
		out = json_object_new_object();
		json_object_object_add(out, "published", publish_all(in));
		pthread_mutex_unlock(&in->lock);
		in->host->complete(in->host->ctx, j->call_id, out);
		free(j);
		pthread_mutex_lock(&in->lock);
	}
	pthread_mutex_unlock(&in->lock);
	return NULL;
}

static int p10_start(conn_instance *in, conn_handoff *handoff, char *err,
                     size_t errlen)
{
	int rc;

	(void)handoff; /* nothing to take: this plugin has no socket */
	pthread_mutex_lock(&in->lock);
	if (in->state != ST_INIT) {
		pthread_mutex_unlock(&in->lock);
		errf(err, errlen, "already started");
		return CONN_ESTATE;
	}
	rc = pthread_create(&in->worker, NULL, worker, in);
	if (rc == 0) {
		in->worker_started = 1;
		in->state = ST_STARTED;
	}
	pthread_mutex_unlock(&in->lock);
	if (rc) {
		errf(err, errlen, "cannot start the worker thread: %s",
		     strerror(rc));
		return CONN_EIO;
	}
	return 0;
}

static int p10_quiesce(conn_instance *in, conn_handoff *out)
{
	int rc = 0;

	(void)out;
	pthread_mutex_lock(&in->lock);
	if (in->state == ST_STARTED)
		in->state = ST_QUIESCED;
	else
		rc = CONN_ESTATE;
	pthread_mutex_unlock(&in->lock);
	return rc;
}

static int p10_resume(conn_instance *in, conn_handoff *handoff, char *err,
                      size_t errlen)
{
	int rc = 0;

	(void)handoff;
	pthread_mutex_lock(&in->lock);
	if (in->state == ST_QUIESCED)
		in->state = ST_STARTED;
	else
		rc = CONN_ESTATE;
	pthread_mutex_unlock(&in->lock);
	if (rc)
		errf(err, errlen, "not quiesced");
	return rc;
}

static int p10_shutdown(conn_instance *in, int64_t deadline_ms)
{
	struct job *left, *j;
	struct sub *s;

	(void)deadline_ms; /* the worker never blocks on anything but us */
	pthread_mutex_lock(&in->lock);
	in->state = ST_STOPPING;
	in->stop = 1;
	left = in->jobs; /* not run: completed with an error below */
	for (j = in->held; j && j->next; j = j->next)
		;
	if (j) { /* and the held calls with them */
		j->next = left;
		left = in->held;
	}
	in->held = NULL;
	in->jobs = NULL;
	in->jobs_tail = &in->jobs;
	in->njobs = 0;
	pthread_cond_broadcast(&in->cond);
	pthread_mutex_unlock(&in->lock);
	if (in->worker_started)
		pthread_join(in->worker, NULL);
	while (left) {
		j = left;
		left = j->next;
		in->host->complete(in->host->ctx, j->call_id,
		                   error_out("shutdown: the instance shut down "
		                             "before the call ran"));
		free(j);
	}
	while ((s = in->subs) != NULL) {
		in->subs = s->next;
		free(s);
	}
	pthread_cond_destroy(&in->cond);
	pthread_mutex_destroy(&in->lock);
	free(in);
	return 0;
}

/* "once": claim, work, settle, through the 1.0 services only. */
static void run_once(conn_instance *in, const conn_call *call)
{
	const conn_host *h = in->host;
	json_object *prior = NULL, *out;
	char key[PLUGIN10_KEY_MAX];
	uint64_t work;
	int rc, n;

	if (!call->idempotency_key || !call->idempotency_key[0]) {
		h->complete(h->ctx, call->call_id,
		            error_out("once: the call has no idempotency key; "
		                      "pass one"));
		return;
	}
	n = snprintf(key, sizeof(key), "once/%s", call->idempotency_key);
	if (n < 0 || (size_t)n >= sizeof(key)) {
		h->complete(h->ctx, call->call_id,
		            error_out("once: the idempotency key is too long "
		                      "(at most 1018 bytes)"));
		return;
	}
	rc = h->claim(h->ctx, key, PLUGIN10_TTL_MS, &prior);
	switch (rc) {
	case CONN_CLAIM_NEW:
		pthread_mutex_lock(&in->lock);
		work = ++in->work_done;
		pthread_mutex_unlock(&in->lock);
		out = json_object_new_object();
		json_object_object_add(out, "work",
		                       json_object_new_int64((int64_t)work));
		/* RESULT is transferred and the host may serialise it (a
		 * cache write) while OUT goes to complete(): its own copy */
		prior = NULL;
		json_object_deep_copy(out, &prior, NULL);
		(void)h->settle(h->ctx, key, prior, PLUGIN10_TTL_MS);
		h->complete(h->ctx, call->call_id, out);
		return;
	case CONN_CLAIM_DONE:
		out = prior ? prior : json_object_new_object();
		json_object_object_add(out, "from_store",
		                       json_object_new_boolean(1));
		h->complete(h->ctx, call->call_id, out);
		return;
	case CONN_CLAIM_IN_PROGRESS:
		json_object_put(prior);
		h->complete(h->ctx, call->call_id,
		            error_out("once: another call holds this key; "
		                      "retry later"));
		return;
	default:
		json_object_put(prior);
		h->complete(h->ctx, call->call_id,
		            error_out(rc == CONN_EFULL
		                              ? "once: the host's store is "
		                                "full; retry later"
		                              : "once: the host refused the "
		                                "claim"));
		return;
	}
}

static int p10_invoke(conn_instance *in, const conn_call *call, char *err,
                      size_t errlen)
{
	const conn_host *h = in->host;
	struct job *j;
	enum state st;
	int hold;

	if (!call || !call->action) {
		errf(err, errlen, "a call needs an action");
		return CONN_EINVAL;
	}
	pthread_mutex_lock(&in->lock);
	st = in->state;
	if (st == ST_STARTED)
		in->invoked++;
	pthread_mutex_unlock(&in->lock);
	if (st != ST_STARTED) {
		errf(err, errlen,
		     "the instance is not serving (not started, "
		     "quiesced or shutting down)");
		return CONN_ESTATE;
	}
	if (strcmp(call->action, "echo") == 0) {
		json_object *out = json_object_new_object(), *copy = NULL;

		/* borrowed objects are deep-copied, never shared (rule 4) */
		if (call->inputs)
			json_object_deep_copy(call->inputs, &copy, NULL);
		json_object_object_add(out, "echo", copy);
		copy = NULL;
		if (call->variables)
			json_object_deep_copy(call->variables, &copy, NULL);
		json_object_object_add(out, "vars", copy);
		h->complete(h->ctx, call->call_id, out);
		return 0;
	}
	if (strcmp(call->action, "once") == 0) {
		run_once(in, call);
		return 0;
	}
	hold = strcmp(call->action, "hold") == 0;
	if (!hold && strcmp(call->action, "fire") != 0) {
		errf(err, errlen,
		     "unknown action '%s' (echo, fire, once, hold)",
		     call->action);
		return CONN_ENOTSUP;
	}
	j = calloc(1, sizeof(*j));
	pthread_mutex_lock(&in->lock);
	if (j && in->njobs < PLUGIN10_MAX_JOBS && !in->stop) {
		j->call_id = call->call_id;
		if (hold) {
			j->next = in->held;
			in->held = j;
		} else {
			*in->jobs_tail = j;
			in->jobs_tail = &j->next;
		}
		in->njobs++; /* held calls count against the bound too */
		pthread_cond_broadcast(&in->cond);
		j = NULL;
		pthread_mutex_unlock(&in->lock);
		return 0;
	}
	pthread_mutex_unlock(&in->lock);
	free(j);
	h->complete(h->ctx, call->call_id,
	            error_out("the queue is full (64 calls); retry "
	                      "later"));
	return 0;
}

static int p10_subscribe(conn_instance *in, uint64_t sub_id, const char *event,
                         json_object *params, char *err, size_t errlen)
{
	struct sub *s;

	(void)params;
	if (!event || strcmp(event, "PING") != 0) {
		errf(err, errlen, "unknown event '%s' (PING)",
		     event ? event : "(null)");
		return CONN_ENOTSUP;
	}
	pthread_mutex_lock(&in->lock);
	for (s = in->subs; s && s->id != sub_id; s = s->next)
		;
	if (s) {
		pthread_mutex_unlock(&in->lock);
		errf(err, errlen, "subscription %llu exists",
		     (unsigned long long)sub_id);
		return CONN_EEXIST;
	}
	s = calloc(1, sizeof(*s));
	if (!s) {
		pthread_mutex_unlock(&in->lock);
		return CONN_ENOMEM;
	}
	s->id = sub_id;
	s->next = in->subs;
	in->subs = s;
	pthread_mutex_unlock(&in->lock);
	return 0;
}

static int p10_unsubscribe(conn_instance *in, uint64_t sub_id)
{
	struct sub **pp, *s;

	pthread_mutex_lock(&in->lock);
	for (pp = &in->subs; *pp && (*pp)->id != sub_id; pp = &(*pp)->next)
		;
	s = *pp;
	if (s)
		*pp = s->next;
	/* more than 1.0 promised: wait for a publish() to it to return */
	while (s && in->publishing == sub_id)
		pthread_cond_wait(&in->cond, &in->lock);
	pthread_mutex_unlock(&in->lock);
	free(s);
	return s ? 0 : CONN_ENOENT;
}

static json_object *p10_stats(conn_instance *in)
{
	json_object *o = json_object_new_object();

	pthread_mutex_lock(&in->lock);
	json_object_object_add(o, "invoked",
	                       json_object_new_int64((int64_t)in->invoked));
	json_object_object_add(o, "published",
	                       json_object_new_int64((int64_t)in->published));
	json_object_object_add(o, "work_done",
	                       json_object_new_int64((int64_t)in->work_done));
	pthread_mutex_unlock(&in->lock);
	return o;
}

static const conn_plugin p10_plugin = {
        .struct_size = sizeof(conn_plugin), /* 1.0's, reserved included */
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .name = "plugin10",
        .version = "1.0.0",
        .describe = p10_describe,
        .init = p10_init,
        .start = p10_start,
        .quiesce = p10_quiesce,
        .resume = p10_resume,
        .shutdown = p10_shutdown,
        .invoke_action = p10_invoke,
        .cancel = NULL,
        .subscribe_event = p10_subscribe,
        .unsubscribe = p10_unsubscribe,
        .stats = p10_stats,
        /* .reserved: NULL, as ABI 1.0 requires */
};

__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_get(uint16_t host_abi_major, uint16_t host_abi_minor);

/* As every 1.0 plugin did: the minor is not looked at. */
const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	(void)host_abi_minor;
	if (host_abi_major != CONN_ABI_MAJOR)
		return NULL;
	return &p10_plugin;
}
