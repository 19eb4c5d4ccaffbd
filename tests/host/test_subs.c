/*
 * test_subs.c - subscriptions and publish (host-api/subs.c): events
 * delivered to their subscription, publish accepted and refused (by the
 * callback, and by an instance set to refuse), unknown events and bad
 * params refused with nothing registered, periodic events, and no event
 * after unsubscribe() returned.
 */
#include "../plugins/hosttest.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int events[16], late_events;
static int gone[16];

static int on_event(void *arg, uint64_t sub, json_object *ev, char *err,
                    size_t errlen)
{
	int refuse = arg != NULL;

	pthread_mutex_lock(&lock);
	if (sub < 16) {
		events[sub]++;
		if (gone[sub])
			late_events++;
	}
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	json_object_put(ev);
	if (refuse) {
		snprintf(err, errlen, "not now");
		return CONN_EREFUSED;
	}
	return 0;
}

static int wait_events(uint64_t sub, int n)
{
	int64_t until = conn_now_ms() + 10000;
	int got;

	pthread_mutex_lock(&lock);
	while (events[sub] < n && conn_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&cond, &lock, &ts);
	}
	got = events[sub];
	pthread_mutex_unlock(&lock);
	return got;
}

static connhost_instance *make(connhost_plugin *p, const char *refuse,
                               struct ht_log *logs)
{
	connhost_instance_opts o = {.struct_size = sizeof(o),
	                            .refuse_publish = refuse};
	connhost_instance *inst = NULL;
	json_object *cfg = ht_config("subs");
	char err[512];

	o.log = ht_log_sink(logs);
	if (connhost_instance_new(p, cfg, &o, &inst, err, sizeof(err)) ||
	    connhost_instance_start(inst, err, sizeof(err)))
		diag("instance: %s", err);
	json_object_put(cfg);
	return inst;
}

/* Fire and return the outputs' "published" array as text. */
static char *fire(connhost_instance *inst)
{
	json_object *in = json_object_new_object(), *out = NULL, *pub;
	char err[256], *text = NULL;

	if (connhost_invoke_sync(inst, "fire", in, NULL, NULL, 0, &out, err,
	                         sizeof(err)) == 0 &&
	    json_object_object_get_ex(out, "published", &pub))
		text = strdup(json_object_to_json_string_ext(
		        pub, JSON_C_TO_STRING_PLAIN));
	json_object_put(in);
	json_object_put(out);
	return text ? text : strdup("(none)");
}

int main(void)
{
	char path[4096], err[512], *r;
	struct ht_log logs;
	connhost_plugin *p;
	connhost_instance *a, *b;
	json_object *params = json_object_new_object(), *bad;
	uint64_t s1 = 0, s2 = 0, s3 = 0, sb = 0, sx = 99;
	int rc;

	ht_log_init(&logs);
	if (!ht_copy_dir("test_subs"))
		skip_all("cannot create a copy directory");
	rc = connhost_plugin_load(ht_plugin("fake-v1", path, sizeof(path)),
	                          NULL, &p, err, sizeof(err));
	is_int(0, rc, "load fake-v1 (%s)", rc ? err : "");
	if (rc)
		return done_testing();
	a = make(p, NULL, &logs);
	ok(a != NULL, "instance a");

	rc = connhost_subscribe(a, "TICK", params, on_event, NULL, &s1, err,
	                        sizeof(err));
	is_int(0, rc, "subscribe TICK");
	is_int(1, s1, "first subscription id");
	r = fire(a);
	is_str("[{\"sub_id\":1,\"status\":0}]", r, "fire: publish accepted");
	free(r);
	is_int(1, wait_events(s1, 1), "the event reached its subscription");

	rc = connhost_subscribe(a, "TICK", NULL, on_event, (void *)1, &s2, err,
	                        sizeof(err));
	is_int(0, rc, "a second subscription, whose callback refuses");
	r = fire(a);
	ok(strstr(r, "{\"sub_id\":2,\"status\":-6,\"error\":\"not now\"}") &&
	           strstr(r, "{\"sub_id\":1,\"status\":0}"),
	   "fire: one accepted, one refused with the host's reason (%s)", r);
	free(r);
	ok(ht_log_count(&logs, "\"msg\":\"publish refused\"") >= 1,
	   "the plugin logged the refusal");

	is_int(0, connhost_unsubscribe(a, s2), "unsubscribe");
	is_int(CONN_ENOENT, connhost_unsubscribe(a, s2), "twice: ENOENT");
	is_int(CONN_ENOENT, connhost_unsubscribe(a, 12345), "unknown: ENOENT");
	r = fire(a);
	is_str("[{\"sub_id\":1,\"status\":0}]", r,
	       "after unsubscribe only the first subscription gets events");
	free(r);

	rc = connhost_subscribe(a, "NOPE", params, on_event, NULL, &sx, err,
	                        sizeof(err));
	is_int(CONN_ENOTSUP, rc, "unknown event refused");
	ok(strstr(err, "unknown event 'NOPE'") != NULL, "(%s)", err);
	is_int(99, sx, "no id handed out");
	bad = json_tokener_parse("{\"interval_ms\":\"soon\"}");
	rc = connhost_subscribe(a, "TICK", bad, on_event, NULL, &sx, err,
	                        sizeof(err));
	is_int(CONN_EINVAL, rc, "bad params refused");
	ok(strstr(err, "interval_ms") != NULL, "naming the param (%s)", err);
	json_object_put(bad);
	r = fire(a);
	is_str("[{\"sub_id\":1,\"status\":0}]", r,
	       "refused subscriptions are not registered");
	free(r);

	bad = json_tokener_parse("{\"interval_ms\":5,\"count\":3}");
	rc = connhost_subscribe(a, "TICK", bad, on_event, NULL, &s3, err,
	                        sizeof(err));
	json_object_put(bad);
	is_int(0, rc, "periodic subscription");
	is_int(3, wait_events(s3, 3), "three periodic events");

	bad = json_tokener_parse("{\"interval_ms\":1,\"count\":100000}");
	rc = connhost_subscribe(a, "TICK", bad, on_event, NULL, &sx, err,
	                        sizeof(err));
	json_object_put(bad);
	ok(rc == 0 && wait_events(sx, 3) >= 3, "a fast periodic subscription");
	is_int(0, connhost_unsubscribe(a, sx), "unsubscribed while publishing");
	pthread_mutex_lock(&lock);
	gone[sx] = 1;
	pthread_mutex_unlock(&lock);
	free(fire(a)); /* the worker has run since */
	is_int(0, late_events, "no event after unsubscribe() returned");

	b = make(p, "maintenance", &logs);
	rc = connhost_subscribe(b, "TICK", NULL, on_event, NULL, &sb, err,
	                        sizeof(err));
	is_int(0, rc, "subscribe on an instance that refuses publishes");
	r = fire(b);
	is_str("[{\"sub_id\":1,\"status\":-6,\"error\":\"maintenance\"}]", r,
	       "publish refused with the configured reason");
	free(r);
	{
		json_object *st = connhost_instance_stats(b), *v;
		ok(json_object_object_get_ex(st, "publish_refused", &v) &&
		           json_object_get_int(v) == 1,
		   "refusal counted");
		json_object_put(st);
	}
	is_int(0, connhost_instance_shutdown(b, conn_now_ms() + 5000),
	       "shutdown b");
	is_int(0, connhost_instance_shutdown(a, conn_now_ms() + 5000),
	       "shutdown a with subscriptions left");
	json_object_put(params);
	connhost_plugin_unref(p);
	ht_log_free(&logs);
	rmdir(getenv("CONNHOST_COPY_DIR"));
	return done_testing();
}
