/*
 * hello.c - a complete connector: one action, no events, no threads
 * (docs/abi.md §7). It does what every ABI 1.1 plugin must: negotiates the
 * minor in conn_plugin_get(), checks json-c in init(), copies what it keeps,
 * lets shutdown() wait for calls still inside, asks before building a log
 * line. Built without libtool (tests/examples_hello.sh runs these lines):
 *
 *   cc -std=c11 -O2 -pthread -fPIC -fvisibility=hidden -shared \
 *      -Wl,-z,now -Wl,--no-undefined $(pkg-config --cflags connector) \
 *      -o hello.so hello.c $(pkg-config --libs json-c)
 *   nm -D --defined-only hello.so        # conn_plugin_get, nothing else
 */
#include <connector/connector.h> /* first: under -std=c11 it asks for POSIX */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define GREETING_MAX 64 /* bytes; a longer HELLO_GREETING is refused */

struct conn_instance {
	const conn_host *host;
	/* rule 9: calls run beside start(), quiesce() and shutdown() */
	atomic_int started, closing, inside;
	char greeting[]; /* our copy of HELLO_GREETING (rule 4) */
};

static const char *hello_describe(void)
{
	return "{\"name\":\"hello\",\"version\":\"1.1.0\",\"description\":"
	       "\"Says hello.\",\"config\":{\"HELLO_GREETING\":{\"type\":"
	       "\"string\",\"required\":false,\"secure\":false,\"default\":"
	       "\"hello\",\"description\":\"The greeting (64 bytes at "
	       "most).\"}},"
	       "\"actions\":{\"hello\":{\"description\":\"Greets NAME.\","
	       "\"inputs\":{\"name\":{\"type\":\"string\",\"required\":false,"
	       "\"description\":\"Who to greet.\"}},\"outputs\":{\"greeting\":"
	       "{\"type\":\"string\",\"required\":true,\"description\":"
	       "\"The greeting.\"}}}},\"events\":{},\"errors\":{}}";
}

static int hello_init(const conn_host *h, json_object *cfg, conn_instance **out,
                      char *err, size_t errlen)
{
	json_object *v;
	const char *g = "hello"; /* another host may not apply defaults */
	size_t n;

	*out = NULL;
	if (h->struct_size < CONN_HOST_SIZE_1_0) {
		snprintf(err, errlen, "the host's table is older than ABI 1.0");
		return CONN_EABI;
	}
	CONN_CHECK_JSON_C(h, err, errlen);
	if (json_object_object_get_ex(cfg, "HELLO_GREETING", &v) &&
	    json_object_is_type(v, json_type_string) &&
	    json_object_get_string_len(v) > 0)
		g = json_object_get_string(v);
	if ((n = strlen(g)) > GREETING_MAX) {
		snprintf(err, errlen,
		         "HELLO_GREETING: longer than %d bytes; shorten it",
		         GREETING_MAX);
		return CONN_EINVAL;
	}
	if (!(*out = calloc(1, sizeof(**out) + n + 1)))
		return CONN_ENOMEM;
	(*out)->host = h;
	memcpy((*out)->greeting, g, n);
	return 0;
}

static int hello_start(conn_instance *i, conn_handoff *h, char *e, size_t n)
{
	(void)h, (void)e, (void)n;
	i->started = 1;
	return 0;
}

static int hello_quiesce(conn_instance *i, conn_handoff *out)
{
	(void)out;
	if (!i->started)
		return CONN_ESTATE;
	i->started = 0;
	return 0;
}

/* Refuse new calls, wait (bounded) for the ones inside, then free. */
static int hello_shutdown(conn_instance *i, int64_t deadline_ms)
{
	struct timespec ms = {0, 1000000};

	i->closing = 1;
	while (i->inside > 0) {
		if (conn_now_ms() >= deadline_ms)
			return CONN_EBUSY; /* called again later */
		nanosleep(&ms, NULL);
	}
	free(i);
	return 0;
}

static int hello_invoke(conn_instance *i, const conn_call *c, char *err,
                        size_t errlen)
{
	json_object *name, *out;
	const char *who = "world";
	size_t n;
	char *text;

	i->inside++; /* before reading closing: shutdown() then waits */
	if (i->closing || !i->started) {
		i->inside--;
		snprintf(err, errlen, "hello: not started, or shutting down");
		return CONN_ESTATE;
	}
	if (strcmp(c->action, "hello") != 0) {
		i->inside--;
		snprintf(err, errlen, "unknown action '%s'", c->action);
		return CONN_ENOTSUP;
	}
	if (!(out = json_object_new_object())) {
		i->inside--;
		return CONN_ENOMEM;
	}
	if (json_object_object_get_ex(c->inputs, "name", &name) &&
	    json_object_is_type(name, json_type_string)) /* no cache write */
		who = json_object_get_string(name);
	n = strlen(i->greeting) + strlen(who) + 3;
	if ((text = malloc(n)) != NULL) {
		snprintf(text, n, "%s, %s", i->greeting, who);
		json_object_object_add(out, "greeting",
		                       json_object_new_string(text));
		free(text);
	}
	if (conn_host_log_enabled(i->host, CONN_LOG_DEBUG)) {
		json_object *f = json_object_new_object();
		json_object_object_add(
		        f, "call_id",
		        json_object_new_int64((int64_t)c->call_id));
		i->host->log(i->host->ctx, CONN_LOG_DEBUG, f, "hello: greeted");
		json_object_put(f);
	}
	i->host->complete(i->host->ctx, c->call_id, out); /* inline is fine */
	i->inside--;
	return 0;
}

static int hello_subscribe(conn_instance *i, uint64_t id, const char *ev,
                           json_object *p, char *err, size_t errlen)
{
	(void)i, (void)id, (void)p;
	snprintf(err, errlen, "unknown event '%s'", ev);
	return CONN_ENOTSUP;
}

static int hello_unsubscribe(conn_instance *i, uint64_t id)
{
	(void)i, (void)id;
	return CONN_ENOENT;
}

/* One table per minor it can speak; they differ in abi_minor only. */
#define HELLO_TABLE(minor)                                                     \
	{                                                                      \
		.struct_size = sizeof(conn_plugin),                            \
		.abi_major = CONN_ABI_MAJOR, .abi_minor = (minor),             \
		.name = "hello", .version = "1.1.0",                           \
		.describe = hello_describe, .init = hello_init,                \
		.start = hello_start, .quiesce = hello_quiesce,                \
		.resume = hello_start, .shutdown = hello_shutdown,             \
		.invoke_action = hello_invoke,                                 \
		.subscribe_event = hello_subscribe,                            \
		.unsubscribe = hello_unsubscribe,                              \
	}
static const conn_plugin table_1_0 = HELLO_TABLE(0);
static const conn_plugin table_1_1 = HELLO_TABLE(1);

__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_get(uint16_t major, uint16_t minor);

const conn_plugin *conn_plugin_get(uint16_t major, uint16_t minor)
{
	if (major != CONN_ABI_MAJOR)
		return NULL;
	/* the minor it speaks is at most the host's; a 1.0 host gets 1.0 */
	return minor >= 1 ? &table_1_1 : &table_1_0;
}
