/*
 * test_log.c - JSON-lines logging (host-api/log.c): the line format,
 * fields merged without overriding level and msg, level filtering, level
 * names, whole lines from concurrent threads, and a formatted message
 * never cut at a fixed size.
 */
#include "../plugins/hosttest.h"

#include "connhost-int.h"

static struct ht_log logs;

static void *writer(void *arg)
{
	connhost_log sink = ht_log_sink(&logs);
	int i;

	(void)arg;
	for (i = 0; i < 200; i++)
		connhost_log_emit(&sink, CONN_LOG_INFO, NULL,
		                  "0123456789012345678901234567890123456789");
	return NULL;
}

/* connhost__logf() formatted into a 1024-byte buffer: a message naming
 * a long plugin name or path lost its end. */
static void long_message(void)
{
	connhost_log sink = ht_log_sink(&logs);
	char name[3001], *want;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	ht_log_clear(&logs);
	connhost__logf(&sink, CONN_LOG_WARN, NULL, "plugin %s: the end", name);
	want = malloc(sizeof(name) + 64);
	snprintf(want, sizeof(name) + 64, "plugin %s: the end\"", name);
	ok(logs.text && strstr(logs.text, want) != NULL,
	   "a 3000-byte name is logged whole, with what follows it");
	free(want);
	ht_log_clear(&logs);
}

int main(void)
{
	connhost_log sink;
	conn_log_level lv = CONN_LOG_ERROR;
	json_object *f = json_object_new_object();
	pthread_t th[4];
	int i;

	ht_log_init(&logs);
	sink = ht_log_sink(&logs);
	json_object_object_add(f, "call_id", json_object_new_int(7));
	json_object_object_add(f, "msg", json_object_new_string("override"));
	connhost_log_emit(&sink, CONN_LOG_WARN, f, "a \"quoted\" message");
	is_str("{\"level\":\"warn\",\"msg\":\"a \\\"quoted\\\" message\","
	       "\"call_id\":7}\n",
	       logs.text, "one JSON line with the fields merged");
	json_object_put(f);
	ht_log_clear(&logs);

	sink.level = CONN_LOG_WARN;
	connhost_log_emit(&sink, CONN_LOG_INFO, NULL, "dropped");
	connhost_log_emit(&sink, CONN_LOG_DEBUG, NULL, "dropped");
	connhost_log_emit(&sink, CONN_LOG_ERROR, NULL, "kept");
	is_int(0, ht_log_count(&logs, "dropped"),
	       "lines above the level dropped");
	is_int(1, ht_log_count(&logs, "\"level\":\"error\""), "errors kept");
	ht_log_clear(&logs);

	is_str("debug", connhost_log_level_name(CONN_LOG_DEBUG), "level name");
	ok(connhost_log_level_name((conn_log_level)9) == NULL,
	   "unknown level has no name");
	is_int(0, connhost_log_level_parse("info", &lv), "parse info");
	is_int(CONN_LOG_INFO, lv, "info parsed");
	is_int(CONN_EINVAL, connhost_log_level_parse("loud", &lv),
	       "unknown level name refused");

	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, writer, NULL);
	for (i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	is_int(800,
	       ht_log_count(&logs, "{\"level\":\"info\",\"msg\":\"0123456789"
	                           "012345678901234567890123456789\"}\n"),
	       "800 whole lines from 4 threads");
	long_message();
	ht_log_free(&logs);
	return done_testing();
}
