/*
 * text.c - the JSON-text facade of libconnhost (connhost_text.h): strings
 * in and out for hosts in other languages, and the pull-mode queue that
 * keeps foreign code off plugin threads.
 *
 * A layer over connhost.h's public API only (load, config, instance,
 * invoke, subscribe, stats, shutdown); it never reads libconnhost's
 * internals, so a hot swap underneath it changes nothing here.
 *
 * Owns, per connhost_text_instance: the connhost_instance, one queue of
 * items (results and events, oldest first) under one mutex and condition,
 * and an eventfd that is readable exactly while the queue is not empty.
 *
 * Threads: on_done() and on_event() run on plugin threads (or inside
 * connhost_invoke()); they take the queue lock briefly, never block
 * otherwise and never call out. Everything else runs on host threads.
 * Results cannot be dropped: each invoke allocates its queue item before the
 * plugin sees the call, and max_calls bounds how many exist. Events are
 * refused (never waited for) when max_events are queued.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "connhost.h"
#include "connhost_text.h"

_Static_assert(CONNHOST_TEXT_EINVAL == CONN_EINVAL &&
                       CONNHOST_TEXT_ENOMEM == CONN_ENOMEM &&
                       CONNHOST_TEXT_ENOTSUP == CONN_ENOTSUP &&
                       CONNHOST_TEXT_EBUSY == CONN_EBUSY &&
                       CONNHOST_TEXT_ESTATE == CONN_ESTATE &&
                       CONNHOST_TEXT_EREFUSED == CONN_EREFUSED &&
                       CONNHOST_TEXT_ETIMEDOUT == CONN_ETIMEDOUT &&
                       CONNHOST_TEXT_EEXIST == CONN_EEXIST &&
                       CONNHOST_TEXT_ENOENT == CONN_ENOENT &&
                       CONNHOST_TEXT_EIO == CONN_EIO &&
                       CONNHOST_TEXT_EABI == CONN_EABI &&
                       CONNHOST_TEXT_EFULL == CONN_EFULL,
               "connhost_text.h's status codes are connector.h's");

#define DEFAULT_MAX      1024
#define MAX_BOUND        1000000
#define DEFAULT_TIMEOUT  30000
#define MAX_TIMEOUT      (24 * 3600 * 1000LL)
#define SHUTDOWN_DEFAULT 5000

enum kind { ITEM_RESULT, ITEM_EVENT };

struct item {
	enum kind kind;
	uint64_t id;        /* call id or subscription id */
	json_object *value; /* outputs or event; NULL until completed */
	struct connhost_text_instance *owner;
	struct item *next;
};

struct connhost_text_instance {
	connhost_instance *inst;
	int fd; /* eventfd: readable while head != NULL */
	connhost_log log;
	int log_fd;

	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct item *head, *tail;
	size_t max_calls, max_events;
	size_t in_flight; /* accepted calls whose result was not taken */
	size_t queued_results, queued_events;
	uint64_t events_refused;
	int closing; /* shutdown began: takes fail, publishes are refused */
	int takers;  /* threads inside take(), waited for by shutdown */
};

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

/* ---------------------------------------------------------------------- */
/* Arguments (also compiled alone into tests/fuzz/fuzz_text.c)            */
/* ---------------------------------------------------------------------- */

static const char *type_name(json_object *o)
{
	return o ? json_type_to_name(json_object_get_type(o)) : "null";
}

/*
 * Parse TEXT, the argument NAME, as one JSON value of type WANT (json_type_
 * object; json_type_null: anything). NULL TEXT gives *OUT NULL. Errors name
 * the argument, the byte offset and json-c's reason.
 */
static int parse_arg(const char *name, const char *text, json_type want,
                     json_object **out, char *err, size_t errlen)
{
	struct json_tokener *tok;
	enum json_tokener_error e;
	json_object *o;
	size_t len, off;

	*out = NULL;
	if (!text)
		return 0;
	len = strnlen(text, (size_t)CONNHOST_TEXT_MAX_BYTES + 1);
	if (len > CONNHOST_TEXT_MAX_BYTES) {
		errf(err, errlen,
		     "%s: longer than the %d bytes a text argument may have "
		     "(CONNHOST_TEXT_MAX_BYTES)",
		     name, CONNHOST_TEXT_MAX_BYTES);
		return CONN_EINVAL;
	}
	tok = json_tokener_new();
	if (!tok)
		return CONN_ENOMEM;
	o = json_tokener_parse_ex(tok, text, (int)len);
	e = json_tokener_get_error(tok);
	off = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (e == json_tokener_continue) {
		errf(err, errlen, "%s: not valid JSON: the text ends early",
		     name);
		return CONN_EINVAL;
	}
	if (e != json_tokener_success) {
		errf(err, errlen, "%s: not valid JSON at byte %zu: %s", name,
		     off, json_tokener_error_desc(e));
		return CONN_EINVAL;
	}
	while (off < len && strchr(" \t\r\n", text[off]))
		off++;
	if (off < len) {
		json_object_put(o);
		errf(err, errlen,
		     "%s: not valid JSON at byte %zu: text after the value",
		     name, off);
		return CONN_EINVAL;
	}
	if (want != json_type_null && !json_object_is_type(o, want)) {
		errf(err, errlen, "%s: expected a JSON %s, got %s", name,
		     json_type_to_name(want), type_name(o));
		json_object_put(o);
		return CONN_EINVAL;
	}
	*out = o;
	return 0;
}

/* The options object's keys, each checked against KNOWN (NULL-ended). */
static int check_keys(const char *name, json_object *opts,
                      const char *const *known, char *err, size_t errlen)
{
	json_object_object_foreach(opts, key, val)
	{
		size_t i;
		(void)val;
		for (i = 0; known[i] && strcmp(known[i], key); i++)
			;
		if (!known[i]) {
			errf(err, errlen, "%s: unknown option '%s'", name, key);
			return CONN_EINVAL;
		}
	}
	return 0;
}

/* Option KEY of OPTS as an integer in [MIN, MAX]; *OUT untouched when
 * absent. */
static int opt_int(json_object *opts, const char *key, int64_t min, int64_t max,
                   int64_t *out, char *err, size_t errlen)
{
	json_object *v;

	if (!opts || !json_object_object_get_ex(opts, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_int) ||
	    json_object_get_int64(v) < min || json_object_get_int64(v) > max) {
		errf(err, errlen,
		     "options: %s: expected an integer from %lld to %lld, "
		     "got %s",
		     key, (long long)min, (long long)max,
		     json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
		return CONN_EINVAL;
	}
	*out = json_object_get_int64(v);
	return 0;
}

static int opt_string(json_object *opts, const char *key, const char **out,
                      char *err, size_t errlen)
{
	json_object *v;

	if (!opts || !json_object_object_get_ex(opts, key, &v))
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		errf(err, errlen, "options: %s: expected a string, got %s", key,
		     type_name(v));
		return CONN_EINVAL;
	}
	*out = json_object_get_string(v);
	return 0;
}

/* The fuzz target needs only what is above. */
#ifndef CONNHOST_TEXT_ARGS_ONLY

/* ---------------------------------------------------------------------- */
/* Helpers                                                                 */
/* ---------------------------------------------------------------------- */

int64_t connhost_text_now_ms(void)
{
	return conn_now_ms();
}

const char *connhost_text_strerror(int code)
{
	return conn_strerror(code);
}

void connhost_text_free(char *s)
{
	free(s);
}

static char *dup_json(json_object *o)
{
	const char *s =
	        json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
	return s ? strdup(s) : NULL;
}

/* ---------------------------------------------------------------------- */
/* Plugins and configuration                                               */
/* ---------------------------------------------------------------------- */

int connhost_text_load(const char *path, const char *options_json,
                       connhost_plugin **out, char *err, size_t errlen)
{
	static const char *const known[] = {"copy_dir", "keep_copies", NULL};
	connhost_load_opts lo = {.struct_size = sizeof(lo), .keep_copies = -1};
	json_object *opts, *v;
	int rc;

	if (!path || !out) {
		errf(err, errlen, "%s: missing", !path ? "path" : "out");
		return CONN_EINVAL;
	}
	rc = parse_arg("options", options_json, json_type_object, &opts, err,
	               errlen);
	if (!rc && opts)
		rc = check_keys("options", opts, known, err, errlen);
	if (!rc)
		rc = opt_string(opts, "copy_dir", &lo.copy_dir, err, errlen);
	if (!rc && opts && json_object_object_get_ex(opts, "keep_copies", &v)) {
		if (json_object_is_type(v, json_type_boolean))
			lo.keep_copies = json_object_get_boolean(v);
		else if (!json_object_is_type(v, json_type_null)) {
			errf(err, errlen,
			     "options: keep_copies: expected true, false or "
			     "null, got %s",
			     type_name(v));
			rc = CONN_EINVAL;
		}
	}
	if (!rc)
		rc = connhost_plugin_load(path, &lo, out, err, errlen);
	json_object_put(opts);
	return rc;
}

void connhost_text_unload(connhost_plugin *p)
{
	if (p)
		connhost_plugin_unref(p);
}

int connhost_text_describe(connhost_plugin *p, char **out)
{
	if (!p || !out)
		return CONN_EINVAL;
	*out = strdup(connhost_plugin_describe_text(p));
	return *out ? 0 : CONN_ENOMEM;
}

/* Parse configuration TEXT (JSON or KEY=VALUE) into *CFG. */
static int parse_config(const char *text, json_object **cfg, char *err,
                        size_t errlen)
{
	size_t len;

	if (!text) {
		errf(err, errlen, "config: missing (give \"{}\" for none)");
		return CONN_EINVAL;
	}
	len = strnlen(text, (size_t)CONNHOST_CONFIG_MAX_BYTES + 1);
	if (len > CONNHOST_CONFIG_MAX_BYTES) {
		errf(err, errlen,
		     "config: longer than %d bytes "
		     "(CONNHOST_CONFIG_MAX_BYTES)",
		     CONNHOST_CONFIG_MAX_BYTES);
		return CONN_EINVAL;
	}
	return connhost_config_parse(text, len, "config", cfg, err, errlen);
}

int connhost_text_check(connhost_plugin *p, const char *config_text,
                        char **effective, char *err, size_t errlen)
{
	json_object *cfg = NULL, *masked;
	int rc;

	if (effective)
		*effective = NULL;
	if (!p) {
		errf(err, errlen, "plugin: missing");
		return CONN_EINVAL;
	}
	rc = parse_config(config_text, &cfg, err, errlen);
	if (!rc)
		rc = connhost_config_validate(connhost_plugin_definition(p),
		                              cfg, NULL, err, errlen);
	if (!rc && effective) {
		masked = connhost_config_masked(connhost_plugin_definition(p),
		                                cfg);
		*effective = masked ? dup_json(masked) : NULL;
		json_object_put(masked);
		if (!*effective)
			rc = CONN_ENOMEM;
	}
	json_object_put(cfg);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* The queue                                                               */
/* ---------------------------------------------------------------------- */

/* Lock held. The descriptor follows the queue: one count while it is not
 * empty, none while it is (a failed write leaves it as it was, which only
 * a full 2^64 counter could cause). */
static void push(struct connhost_text_instance *ti, struct item *it)
{
	uint64_t one = 1;

	it->next = NULL;
	if (ti->tail)
		ti->tail->next = it;
	else
		ti->head = it;
	ti->tail = it;
	if (it->kind == ITEM_RESULT)
		ti->queued_results++;
	else
		ti->queued_events++;
	if (ti->head == it && write(ti->fd, &one, sizeof(one)) < 0)
		(void)errno;
	pthread_cond_signal(&ti->cond);
}

/* Lock held; the queue is not empty. */
static struct item *pop(struct connhost_text_instance *ti)
{
	struct item *it = ti->head;
	uint64_t n;

	ti->head = it->next;
	if (!ti->head) {
		ti->tail = NULL;
		if (read(ti->fd, &n, sizeof(n)) < 0)
			(void)errno;
	}
	if (it->kind == ITEM_RESULT) {
		ti->queued_results--;
		ti->in_flight--;
	} else {
		ti->queued_events--;
	}
	return it;
}

/* Lock held; IT goes back to the front (take could not format it). */
static void unpop(struct connhost_text_instance *ti, struct item *it)
{
	uint64_t one = 1;

	it->next = ti->head;
	ti->head = it;
	if (!ti->tail)
		ti->tail = it;
	if (it->kind == ITEM_RESULT) {
		ti->queued_results++;
		ti->in_flight++;
	} else {
		ti->queued_events++;
	}
	if (!it->next && write(ti->fd, &one, sizeof(one)) < 0)
		(void)errno;
}

static void item_free(struct item *it)
{
	json_object_put(it->value);
	free(it);
}

/* A plugin thread (or connhost_invoke()): the call's preallocated item,
 * filled and queued. */
static void on_done(void *arg, uint64_t call_id, json_object *outputs)
{
	struct item *it = arg;
	struct connhost_text_instance *ti = it->owner;

	it->id = call_id;
	it->value = outputs;
	pthread_mutex_lock(&ti->lock);
	push(ti, it);
	pthread_mutex_unlock(&ti->lock);
}

/* A plugin thread: accept the event into the queue, or refuse it at once. */
static int on_event(void *arg, uint64_t sub_id, json_object *event, char *err,
                    size_t errlen)
{
	struct connhost_text_instance *ti = arg;
	struct item *it = calloc(1, sizeof(*it));
	const char *why = NULL;

	pthread_mutex_lock(&ti->lock);
	if (!it)
		why = "host: out of memory";
	else if (ti->closing)
		why = "host: the instance is shutting down";
	else if (ti->queued_events >= ti->max_events)
		why = "host: event queue full";
	if (why) {
		ti->events_refused++;
		if (ti->queued_events >= ti->max_events && !ti->closing)
			errf(err, errlen,
			     "%s (%zu events waiting to be taken; max_events)",
			     why, ti->queued_events);
		else
			errf(err, errlen, "%s", why);
		pthread_mutex_unlock(&ti->lock);
		free(it);
		json_object_put(event);
		return CONN_EREFUSED;
	}
	it->kind = ITEM_EVENT;
	it->id = sub_id;
	it->value = event;
	push(ti, it);
	pthread_mutex_unlock(&ti->lock);
	return 0;
}

static char *item_text(const struct item *it)
{
	json_object *o = json_object_new_object();
	char *s = NULL;

	if (!o)
		return NULL;
	json_object_object_add(o, "kind",
	                       json_object_new_string(it->kind == ITEM_RESULT
	                                                      ? "result"
	                                                      : "event"));
	json_object_object_add(o,
	                       it->kind == ITEM_RESULT ? "call_id" : "sub_id",
	                       json_object_new_int64((int64_t)it->id));
	/* Borrowed into O for formatting only: taken back before the put. */
	json_object_object_add(o, it->kind == ITEM_RESULT ? "outputs" : "event",
	                       json_object_get(it->value));
	s = dup_json(o);
	json_object_put(o);
	return s;
}

int connhost_text_take_until(connhost_text_instance *ti, int64_t deadline_ms,
                             char **item)
{
	struct item *it = NULL;
	int rc = 0;

	if (!ti || !item)
		return CONN_EINVAL;
	*item = NULL;
	pthread_mutex_lock(&ti->lock);
	ti->takers++;
	while (!ti->closing && !ti->head) {
		int64_t left = conn_ms_left(deadline_ms);
		struct timespec ts;

		if (left == 0)
			break;
		/* Waits are short slices on CLOCK_REALTIME (the default
		 * condition clock); the deadline is the monotonic one. */
		if (left > 1000)
			left = 1000;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&ti->cond, &ti->lock, &ts);
	}
	if (ti->closing)
		rc = CONN_ESTATE;
	else if (!ti->head)
		rc = CONN_ETIMEDOUT;
	else
		it = pop(ti);
	pthread_mutex_unlock(&ti->lock);

	if (it) {
		/* Formatting runs outside the lock, on the host's thread. */
		*item = item_text(it);
		if (!*item) {
			pthread_mutex_lock(&ti->lock);
			unpop(ti, it);
			pthread_mutex_unlock(&ti->lock);
			it = NULL;
			rc = CONN_ENOMEM;
		}
	}
	pthread_mutex_lock(&ti->lock);
	ti->takers--;
	pthread_cond_broadcast(&ti->cond);
	pthread_mutex_unlock(&ti->lock);
	if (it)
		item_free(it);
	return rc;
}

int connhost_text_take(connhost_text_instance *ti, int64_t timeout_ms,
                       char **item)
{
	if (timeout_ms < 0) {
		if (item)
			*item = NULL;
		return CONN_EINVAL;
	}
	return connhost_text_take_until(
	        ti, conn_deadline_add(conn_now_ms(), timeout_ms), item);
}

int connhost_text_fd(connhost_text_instance *ti)
{
	return ti ? ti->fd : -1;
}

/* ---------------------------------------------------------------------- */
/* Instances                                                               */
/* ---------------------------------------------------------------------- */

/* Any thread: one line and its newline in one write(2). */
static void log_write(void *arg, const char *line)
{
	struct connhost_text_instance *ti = arg;
	size_t n = strlen(line);
	char *buf = malloc(n + 1);

	if (!buf)
		return;
	memcpy(buf, line, n);
	buf[n] = '\n';
	if (write(ti->log_fd, buf, n + 1) < 0)
		(void)errno; /* logging never fails the caller */
	free(buf);
}

static void ti_free(struct connhost_text_instance *ti)
{
	struct item *it;

	while ((it = ti->head) != NULL) {
		ti->head = it->next;
		item_free(it);
	}
	if (ti->fd >= 0)
		close(ti->fd);
	pthread_cond_destroy(&ti->cond);
	pthread_mutex_destroy(&ti->lock);
	free(ti);
}

/* Read OPTIONS_JSON into TI and the instance options IO. */
static int instance_opts(struct connhost_text_instance *ti,
                         const char *options_json, connhost_instance_opts *io,
                         json_object **opts, char *err, size_t errlen)
{
	static const char *const known[] = {
	        "max_calls", "max_events",     "store_bytes", "log_level",
	        "log_fd",    "refuse_publish", NULL};
	int64_t max_calls = DEFAULT_MAX, max_events = DEFAULT_MAX;
	int64_t store = 0, fd = 2;
	const char *level = NULL;
	int rc;

	rc = parse_arg("options", options_json, json_type_object, opts, err,
	               errlen);
	if (!rc && *opts)
		rc = check_keys("options", *opts, known, err, errlen);
	if (!rc)
		rc = opt_int(*opts, "max_calls", 1, MAX_BOUND, &max_calls, err,
		             errlen);
	if (!rc)
		rc = opt_int(*opts, "max_events", 1, MAX_BOUND, &max_events,
		             err, errlen);
	if (!rc)
		rc = opt_int(*opts, "store_bytes", 0, INT64_MAX, &store, err,
		             errlen);
	if (!rc)
		rc = opt_int(*opts, "log_fd", 0, 65535, &fd, err, errlen);
	if (!rc)
		rc = opt_string(*opts, "refuse_publish", &io->refuse_publish,
		                err, errlen);
	if (!rc)
		rc = opt_string(*opts, "log_level", &level, err, errlen);
	ti->log.level = CONN_LOG_WARN;
	if (!rc && level && connhost_log_level_parse(level, &ti->log.level)) {
		errf(err, errlen,
		     "options: log_level: expected error, warn, info or "
		     "debug, got '%s'",
		     level);
		rc = CONN_EINVAL;
	}
	ti->max_calls = (size_t)max_calls;
	ti->max_events = (size_t)max_events;
	ti->log_fd = (int)fd;
	ti->log.write = log_write;
	ti->log.arg = ti;
	io->store_bytes = (size_t)store;
	io->log = ti->log;
	return rc;
}

int connhost_text_new(connhost_plugin *p, const char *config_text,
                      const char *options_json, connhost_text_instance **out,
                      char *err, size_t errlen)
{
	connhost_instance_opts io = {.struct_size = sizeof(io)};
	struct connhost_text_instance *ti;
	json_object *opts = NULL, *cfg = NULL;
	int rc;

	if (!p || !out) {
		errf(err, errlen, "%s: missing", !p ? "plugin" : "out");
		return CONN_EINVAL;
	}
	*out = NULL;
	ti = calloc(1, sizeof(*ti));
	if (!ti)
		return CONN_ENOMEM;
	ti->fd = -1;
	pthread_mutex_init(&ti->lock, NULL);
	pthread_cond_init(&ti->cond, NULL);
	rc = instance_opts(ti, options_json, &io, &opts, err, errlen);
	if (!rc)
		rc = parse_config(config_text, &cfg, err, errlen);
	if (!rc) {
		ti->fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		if (ti->fd < 0) {
			errf(err, errlen, "eventfd: %s", strerror(errno));
			rc = CONN_EIO;
		}
	}
	if (!rc)
		rc = connhost_instance_new(p, cfg, &io, &ti->inst, err, errlen);
	json_object_put(cfg);
	json_object_put(opts); /* io.refuse_publish was copied */
	if (rc) {
		ti_free(ti);
		return rc;
	}
	*out = ti;
	return 0;
}

int connhost_text_start(connhost_text_instance *ti, char *err, size_t errlen)
{
	if (!ti)
		return CONN_EINVAL;
	return connhost_instance_start(ti->inst, err, errlen);
}

int connhost_text_invoke(connhost_text_instance *ti, const char *action,
                         const char *inputs_json, const char *variables_json,
                         const char *idempotency_key, int64_t timeout_ms,
                         uint64_t *call_id, char *err, size_t errlen)
{
	json_object *inputs = NULL, *vars = NULL;
	struct item *it;
	int rc;

	if (!ti || !action || !inputs_json) {
		errf(err, errlen, "%s: missing",
		     !ti       ? "instance"
		     : !action ? "action"
		               : "inputs");
		return CONN_EINVAL;
	}
	if (timeout_ms < 0 || timeout_ms > MAX_TIMEOUT) {
		errf(err, errlen,
		     "timeout_ms: expected 0 (30 s) to %lld ms, got %lld",
		     (long long)MAX_TIMEOUT, (long long)timeout_ms);
		return CONN_EINVAL;
	}
	rc = parse_arg("inputs", inputs_json, json_type_object, &inputs, err,
	               errlen);
	if (!rc)
		rc = parse_arg("variables", variables_json, json_type_object,
		               &vars, err, errlen);
	it = rc ? NULL : calloc(1, sizeof(*it));
	if (!rc && !it)
		rc = CONN_ENOMEM;
	if (!rc) {
		pthread_mutex_lock(&ti->lock);
		if (ti->closing) {
			errf(err, errlen, "%s: the instance is shutting down",
			     action);
			rc = CONN_ESTATE;
		} else if (ti->in_flight >= ti->max_calls) {
			errf(err, errlen,
			     "%s: %zu calls in flight or not taken "
			     "(max_calls): take results first",
			     action, ti->in_flight);
			rc = CONN_EFULL;
		} else {
			ti->in_flight++;
		}
		pthread_mutex_unlock(&ti->lock);
	}
	if (!rc) {
		it->kind = ITEM_RESULT;
		it->owner = ti;
		rc = connhost_invoke(
		        ti->inst, action, inputs, vars, idempotency_key,
		        conn_now_ms() +
		                (timeout_ms ? timeout_ms : DEFAULT_TIMEOUT),
		        on_done, it, call_id, err, errlen);
		if (rc) {
			/* on_done() never runs: the slot and item are ours. */
			pthread_mutex_lock(&ti->lock);
			ti->in_flight--;
			pthread_mutex_unlock(&ti->lock);
		}
	}
	if (rc)
		free(it);
	json_object_put(inputs);
	json_object_put(vars);
	return rc;
}

int connhost_text_cancel(connhost_text_instance *ti, uint64_t call_id)
{
	return ti ? connhost_cancel(ti->inst, call_id) : CONN_EINVAL;
}

int connhost_text_subscribe(connhost_text_instance *ti, const char *event,
                            const char *params_json, uint64_t *sub_id,
                            char *err, size_t errlen)
{
	json_object *params = NULL;
	uint64_t id = 0;
	int rc;

	if (!ti || !event) {
		errf(err, errlen, "%s: missing", !ti ? "instance" : "event");
		return CONN_EINVAL;
	}
	rc = parse_arg("params", params_json, json_type_object, &params, err,
	               errlen);
	if (!rc)
		rc = connhost_subscribe(ti->inst, event, params, on_event, ti,
		                        &id, err, errlen);
	json_object_put(params);
	if (!rc && sub_id)
		*sub_id = id;
	return rc;
}

int connhost_text_unsubscribe(connhost_text_instance *ti, uint64_t sub_id)
{
	return ti ? connhost_unsubscribe(ti->inst, sub_id) : CONN_EINVAL;
}

int connhost_text_stats(connhost_text_instance *ti, char **out)
{
	json_object *s, *t;

	if (!ti || !out)
		return CONN_EINVAL;
	*out = NULL;
	s = connhost_instance_stats(ti->inst);
	t = json_object_new_object();
	if (!s || !t) {
		json_object_put(s);
		json_object_put(t);
		return CONN_ENOMEM;
	}
	pthread_mutex_lock(&ti->lock);
	json_object_object_add(t, "calls_in_flight",
	                       json_object_new_int64((int64_t)ti->in_flight));
	json_object_object_add(t, "max_calls",
	                       json_object_new_int64((int64_t)ti->max_calls));
	json_object_object_add(
	        t, "queued_results",
	        json_object_new_int64((int64_t)ti->queued_results));
	json_object_object_add(
	        t, "queued_events",
	        json_object_new_int64((int64_t)ti->queued_events));
	json_object_object_add(t, "max_events",
	                       json_object_new_int64((int64_t)ti->max_events));
	json_object_object_add(
	        t, "events_refused",
	        json_object_new_int64((int64_t)ti->events_refused));
	json_object_object_add(t, "takers",
	                       json_object_new_int64((int64_t)ti->takers));
	pthread_mutex_unlock(&ti->lock);
	json_object_object_add(s, "text", t);
	*out = dup_json(s);
	json_object_put(s);
	return *out ? 0 : CONN_ENOMEM;
}

int connhost_text_config(connhost_text_instance *ti, char **out)
{
	json_object *c;

	if (!ti || !out)
		return CONN_EINVAL;
	c = connhost_instance_config_masked(ti->inst);
	*out = c ? dup_json(c) : NULL;
	json_object_put(c);
	return *out ? 0 : CONN_ENOMEM;
}

int connhost_text_shutdown(connhost_text_instance *ti, int64_t timeout_ms)
{
	int rc;

	if (!ti || timeout_ms < 0)
		return CONN_EINVAL;
	/* Blocked takers first: they return CONN_ESTATE and leave. */
	pthread_mutex_lock(&ti->lock);
	ti->closing = 1;
	pthread_cond_broadcast(&ti->cond);
	while (ti->takers)
		pthread_cond_wait(&ti->cond, &ti->lock);
	pthread_mutex_unlock(&ti->lock);

	rc = connhost_instance_shutdown(
	        ti->inst,
	        conn_deadline_add(conn_now_ms(),
	                          timeout_ms ? timeout_ms : SHUTDOWN_DEFAULT));
	if (rc)
		return rc; /* CONN_EBUSY: everything stays */
	/* No plugin thread is left: what they queued is ours to free. */
	ti_free(ti);
	return 0;
}

void connhost_text_abandon(connhost_text_instance *ti)
{
	if (ti)
		connhost_instance_abandon(ti->inst);
}

#endif /* CONNHOST_TEXT_ARGS_ONLY */
