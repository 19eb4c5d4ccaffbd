/*
 * test_instance.c - instances (host-api/instance.c): configuration checked
 * by the host and by init() with clear messages and no secret in them,
 * the effective configuration masked, two instances (and two versions) at
 * once staying independent, start in the wrong state, stats, and a
 * shutdown that reports CONN_EBUSY.
 */
#include "../plugins/hosttest.h"

#define SECRET "tok-SECRET-0042"

static char err[1024];
static struct ht_log logs;

static int make(connhost_plugin *p, const char *text, connhost_instance **out)
{
	connhost_instance_opts o = {.struct_size = sizeof(o)};
	json_object *cfg = NULL;
	int rc;

	o.log = ht_log_sink(&logs);
	*out = NULL;
	rc = connhost_config_parse(text, strlen(text), "test", &cfg, err,
	                           sizeof(err));
	if (rc)
		return rc;
	err[0] = '\0';
	rc = connhost_instance_new(p, cfg, &o, out, err, sizeof(err));
	json_object_put(cfg);
	return rc;
}

static char *echo(connhost_instance *inst)
{
	json_object *in = json_object_new_object(), *out = NULL;
	char *s;

	if (connhost_invoke_sync(inst, "echo", in, NULL, NULL, 0, &out, err,
	                         sizeof(err)) != 0) {
		json_object_put(in);
		return strdup("(failed)");
	}
	json_object_object_del(out, "echo");
	json_object_object_del(out, "vars");
	s = strdup(json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	json_object_put(in);
	json_object_put(out);
	return s;
}

static void refusals(connhost_plugin *p)
{
	connhost_instance *inst;

	is_int(CONN_EINVAL, make(p, "FAKE_TOKEN=" SECRET "\n", &inst),
	       "missing required key");
	ok(strstr(err, "FAKE_NAME: required key missing") != NULL, "(%s)", err);
	is_int(CONN_EINVAL, make(p, "FAKE_NAME=a\nFAKE_LIMIT=lots\n", &inst),
	       "bad integer, by the host's check");
	is_str("FAKE_LIMIT: expected an integer from 1 to 1000000, got 'lots'",
	       err, "with the definition's range, without a prefix");
	is_int(CONN_EINVAL, make(p, "FAKE_NAME=a\nFAKE_LIMIT=0\n", &inst),
	       "out of range, by the host's check");
	ok(strstr(err, "FAKE_LIMIT: expected an integer from 1 to 1000000") !=
	           NULL,
	   "(%s)", err);
	is_int(CONN_EINVAL, make(p, "FAKE_NAME=a\nFAKE_TOKEN=tok-S\n", &inst),
	       "a secure value refused by init()");
	ok(strstr(err, "FAKE_TOKEN: too short") != NULL &&
	           strstr(err, "tok-S") == NULL,
	   "names the key, not the value (%s)", err);
	ok(inst == NULL, "no instance on refusal");
}

int main(void)
{
	char path[4096];
	connhost_plugin *p1, *p2;
	connhost_instance *a, *b, *c, *busy;
	json_object *m, *st, *v;
	char *s;
	int rc;

	ht_log_init(&logs);
	if (!ht_copy_dir("test_instance"))
		skip_all("cannot create a copy directory");
	rc = connhost_plugin_load(ht_plugin("fake-v1", path, sizeof(path)),
	                          NULL, &p1, err, sizeof(err));
	is_int(0, rc, "load fake-v1 (%s)", rc ? err : "");
	rc = connhost_plugin_load(ht_plugin("fake-v2", path, sizeof(path)),
	                          NULL, &p2, err, sizeof(err));
	is_int(0, rc, "load fake-v2 (%s)", rc ? err : "");
	if (!p1 || !p2)
		return done_testing();
	refusals(p1);

	is_int(0,
	       make(p1, "FAKE_NAME=alpha\nFAKE_TOKEN=" SECRET "\nODD=1\n", &a),
	       "instance a (%s)", err);
	is_int(0, make(p1, "FAKE_NAME=beta\nFAKE_LIMIT=5\n", &b),
	       "instance b of the same plugin (%s)", err);
	is_int(0, make(p2, "{\"FAKE_NAME\":\"gamma\"}", &c),
	       "instance c of fake-v2 (%s)", err);
	if (!a || !b || !c)
		return done_testing();
	m = connhost_instance_config_masked(a);
	s = strdup(json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN));
	is_str("{\"FAKE_NAME\":\"alpha\",\"FAKE_TOKEN\":\"********\","
	       "\"ODD\":\"********\",\"FAKE_LIMIT\":\"1000\","
	       "\"FAKE_ONLINE\":\"ok\",\"FAKE_BUSY\":\"false\"}",
	       s, "effective configuration, masked, defaults filled in");
	free(s);
	json_object_put(m);

	rc = connhost_instance_start(a, err, sizeof(err));
	is_int(0, rc, "start a");
	is_int(CONN_ESTATE, connhost_instance_start(a, err, sizeof(err)),
	       "start twice refused");
	ok(strstr(err, "already started") != NULL, "(%s)", err);
	is_int(0, connhost_instance_start(b, err, sizeof(err)), "start b");
	is_int(0, connhost_instance_start(c, err, sizeof(err)), "start c");

	s = echo(a);
	is_str("{\"name\":\"alpha\",\"version\":1}", s, "a answers as alpha");
	free(s);
	s = echo(b);
	is_str("{\"name\":\"beta\",\"version\":1}", s, "b answers as beta");
	free(s);
	s = echo(c);
	is_str("{\"name\":\"gamma\",\"version\":2}", s,
	       "c answers as gamma, from version 2");
	free(s);
	{ /* a new reference: released here */
		connhost_plugin *served = connhost_instance_plugin(c);
		ok(served == p2, "c is served by fake-v2");
		connhost_plugin_unref(served);
	}

	st = connhost_instance_stats(a);
	ok(json_object_object_get_ex(st, "plugin", &v) &&
	           json_object_object_get_ex(v, "port", &v) &&
	           json_object_get_int(v) > 0,
	   "stats include the plugin's (a listening port)");
	ok(json_object_object_get_ex(st, "store", &v) &&
	           json_object_object_get_ex(v, "max_bytes", &v) &&
	           json_object_get_int64(v) == 128 * 1024 * 1024,
	   "and the store's (the default budget, 128 MiB)");
	ok(json_object_object_get_ex(st, "store", &v) &&
	           json_object_object_get_ex(v, "namespaces", &v) &&
	           json_object_object_get_ex(v, "send", &v) &&
	           json_object_object_get_ex(v, "max_bytes", &v) &&
	           json_object_get_int64(v) == 80 * 1024 * 1024,
	   "with the fill per namespace (send: 5/8 of it)");
	json_object_put(st);

	is_int(0, connhost_instance_shutdown(a, conn_now_ms() + 5000),
	       "shutdown a");
	s = echo(b);
	is_str("{\"name\":\"beta\",\"version\":1}", s,
	       "b still works after a is gone");
	free(s);
	is_int(0, connhost_instance_shutdown(b, conn_now_ms() + 5000),
	       "shutdown b");
	is_int(0, connhost_instance_shutdown(c, conn_now_ms() + 5000),
	       "shutdown c");

	is_int(0, make(p1, "FAKE_NAME=busy\nFAKE_BUSY=true\n", &busy),
	       "an instance whose first shutdown fails");
	is_int(0, connhost_instance_start(busy, err, sizeof(err)), "start it");
	is_int(CONN_EBUSY,
	       connhost_instance_shutdown(busy, conn_now_ms() + 100),
	       "shutdown: CONN_EBUSY");
	ok(ht_log_count(&logs, "shutdown left a thread running") == 1,
	   "logged");
	is_int(0, connhost_instance_shutdown(busy, conn_now_ms() + 100),
	       "a second shutdown succeeds");

	ok(logs.text == NULL || strstr(logs.text, SECRET) == NULL,
	   "no log line holds the secret");
	connhost_plugin_unref(p1);
	connhost_plugin_unref(p2);
	ht_log_free(&logs);
	rmdir(getenv("CONNHOST_COPY_DIR"));
	return done_testing();
}
