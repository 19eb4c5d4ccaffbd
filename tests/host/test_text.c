/*
 * test_text.c - the JSON-text facade (host-api/text.c) with the fake
 * plugin: load and check through text, invoke -> take the result,
 * subscribe -> the fake publishes -> take the event, a full event queue
 * refuses the publish, max_calls refuses the invoke, take on an empty
 * queue (timeout 0, a timeout, a past deadline), the descriptor readable
 * exactly while items are queued, bad JSON named by argument, cancel, a
 * blocked take woken by shutdown, CONN_EBUSY, and shutdown with items still
 * queued (leaks are ASan's and valgrind's to find).
 */
#include "connhost_text.h"
#ifdef JSON_C_VERSION
#error "connhost_text.h must not expose json-c"
#endif

#include <poll.h>
#include <pthread.h>

#include "../plugins/hosttest.h"

static int readable(connhost_text_instance *ti)
{
	struct pollfd p = {.fd = connhost_text_fd(ti), .events = POLLIN};
	return poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

/* Take one item (waiting up to 10 s) and parse it; NULL on failure. */
static json_object *take(connhost_text_instance *ti)
{
	char *s = NULL;
	json_object *o = NULL;
	int rc = connhost_text_take(ti, 10000, &s);

	if (rc)
		diag("take: %s", connhost_text_strerror(rc));
	else
		o = json_tokener_parse(s);
	connhost_text_free(s);
	return o;
}

static const char *str_at(json_object *o, const char *a, const char *b)
{
	json_object *v = NULL;

	if (!json_object_object_get_ex(o, a, &v))
		return NULL;
	if (b && !json_object_object_get_ex(v, b, &v))
		return NULL;
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

static int64_t int_at(json_object *o, const char *key)
{
	json_object *v;
	return json_object_object_get_ex(o, key, &v) ? json_object_get_int64(v)
	                                             : -1;
}

static int64_t stat_of(connhost_text_instance *ti, const char *key)
{
	char *s = NULL;
	json_object *o, *t;
	int64_t v = -1;

	if (connhost_text_stats(ti, &s) == 0 && (o = json_tokener_parse(s))) {
		if (json_object_object_get_ex(o, "text", &t))
			v = int_at(t, key);
		json_object_put(o);
	}
	connhost_text_free(s);
	return v;
}

/* Wait (bounded, not timed: up to 10 s) until stat KEY is N. */
static int wait_stat(connhost_text_instance *ti, const char *key, int64_t n)
{
	int i;

	for (i = 0; i < 2000 && stat_of(ti, key) != n; i++)
		usleep(5000);
	return stat_of(ti, key) == n;
}

static connhost_text_instance *make(connhost_plugin *p, const char *config,
                                    const char *options)
{
	connhost_text_instance *ti = NULL;
	char err[512] = "";

	if (connhost_text_new(p, config, options, &ti, err, sizeof(err)) ||
	    connhost_text_start(ti, err, sizeof(err)))
		diag("instance: %s", err);
	return ti;
}

static void test_load_and_check(connhost_plugin **out, const char *dir)
{
	char path[4096], opts[4200], err[512] = "", *s = NULL;
	connhost_plugin *p = NULL;
	int rc;

	ht_plugin("fake-v1", path, sizeof(path));
	rc = connhost_text_load(path, "{\"copy_dir\":", &p, err, sizeof(err));
	is_int(CONNHOST_TEXT_EINVAL, rc, "load: bad options JSON refused");
	ok(strncmp(err, "options: not valid JSON", 23) == 0,
	   "load: the error names the argument: %s", err);
	rc = connhost_text_load(path, "{\"copydir\":\"/x\"}", &p, err,
	                        sizeof(err));
	is_str("options: unknown option 'copydir'", err,
	       "load: an unknown option is named");
	rc = connhost_text_load("/nonexistent/fake.so", NULL, &p, err,
	                        sizeof(err));
	is_int(CONNHOST_TEXT_ENOENT, rc, "load: a missing file is ENOENT");

	snprintf(opts, sizeof(opts),
	         "{\"copy_dir\":\"%s\",\"keep_copies\":null}", dir);
	rc = connhost_text_load(path, opts, &p, err, sizeof(err));
	is_int(0, rc, "load through text: %s", rc ? err : "ok");
	*out = p;
	if (rc)
		return;

	ok(connhost_text_describe(p, &s) == 0 && s &&
	           strstr(s, "\"name\":\"fake\""),
	   "describe as text");
	connhost_text_free(s);

	s = NULL;
	rc = connhost_text_check(p, "FAKE_NAME=x\nFAKE_TOKEN=sekrit99\n", &s,
	                         err, sizeof(err));
	is_int(0, rc, "check: KEY=VALUE text");
	ok(s && strstr(s, "\"FAKE_NAME\":\"x\"") &&
	           strstr(s, "\"FAKE_LIMIT\":\"1000\"") &&
	           !strstr(s, "sekrit99"),
	   "check: effective config with defaults, secret masked: %s",
	   s ? s : "(null)");
	connhost_text_free(s);
	rc = connhost_text_check(p,
	                         "{\"FAKE_NAME\":\"x\",\"FAKE_LIMIT\":\"abc\"}",
	                         NULL, err, sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL && strstr(err, "FAKE_LIMIT"),
	   "check: a bad value is refused naming the key: %s", err);
	rc = connhost_text_check(p, "{}", NULL, err, sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL && strstr(err, "FAKE_NAME"),
	   "check: a missing required key is named: %s", err);
}

static void test_bad_arguments(connhost_plugin *p, connhost_text_instance *ti)
{
	char err[512] = "";
	uint64_t id = 0;
	connhost_text_instance *bad = NULL;
	int rc;

	rc = connhost_text_invoke(ti, "echo", "{\"a\":", NULL, NULL, 0, &id,
	                          err, sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL &&
	           strcmp(err, "inputs: not valid JSON: the text ends early") ==
	                   0,
	   "invoke: truncated inputs named: %s", err);
	rc = connhost_text_invoke(ti, "echo", "{} x", NULL, NULL, 0, &id, err,
	                          sizeof(err));
	is_str("inputs: not valid JSON at byte 3: text after the value", err,
	       "invoke: text after the value named");
	rc = connhost_text_invoke(ti, "echo", "{\"a\":tru}", NULL, NULL, 0, &id,
	                          err, sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL &&
	           strncmp(err, "inputs: not valid JSON at byte ", 31) == 0,
	   "invoke: a bad token named with its offset: %s", err);
	rc = connhost_text_invoke(ti, "echo", "{}", "[1]", NULL, 0, &id, err,
	                          sizeof(err));
	is_str("variables: expected a JSON object, got array", err,
	       "invoke: variables of the wrong type named");
	rc = connhost_text_invoke(ti, "echo", "{}", NULL, NULL, -5, &id, err,
	                          sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL && strncmp(err, "timeout_ms:", 11) == 0,
	   "invoke: a negative timeout named: %s", err);
	rc = connhost_text_invoke(ti, "nope", "{}", NULL, NULL, 0, &id, err,
	                          sizeof(err));
	is_int(CONNHOST_TEXT_ENOTSUP, rc, "invoke: unknown action");
	rc = connhost_text_subscribe(ti, "TICK", "{\"count\":", &id, err,
	                             sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL && strncmp(err, "params:", 7) == 0,
	   "subscribe: bad params named: %s", err);
	rc = connhost_text_new(p, "FAKE_NAME=x", "{\"max_calls\":0}", &bad, err,
	                       sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL && bad == NULL &&
	           strstr(err, "max_calls: expected an integer from 1"),
	   "new: a bad option named: %s", err);
	rc = connhost_text_new(p, "FAKE_NAME=x", "{\"log_level\":\"loud\"}",
	                       &bad, err, sizeof(err));
	ok(rc == CONNHOST_TEXT_EINVAL && strstr(err, "log_level"),
	   "new: a bad log level named: %s", err);
	{
		size_t n = CONNHOST_TEXT_MAX_BYTES + 1;
		char *big = malloc(n + 1);
		if (big) {
			memset(big, ' ', n);
			big[0] = '{';
			big[n - 1] = '}';
			big[n] = '\0';
		}
		rc = big ? connhost_text_invoke(ti, "echo", "{}", big, NULL, 0,
		                                &id, err, sizeof(err))
		         : -100;
		ok(rc == CONNHOST_TEXT_EINVAL &&
		           strncmp(err, "variables: longer than the 16777216",
		                   35) == 0,
		   "invoke: variables over 16 MiB refused by name: %s", err);
		free(big);
	}
	is_int(0, stat_of(ti, "calls_in_flight"), "nothing left in flight");
}

static void test_invoke_take(connhost_text_instance *ti)
{
	char err[512] = "", *s = (char *)"x";
	uint64_t id = 0, id2 = 0, id3 = 0;
	json_object *o;
	int rc;

	is_int(CONNHOST_TEXT_ETIMEDOUT, connhost_text_take(ti, 0, &s),
	       "take(0) on an empty queue: ETIMEDOUT");
	ok(s == NULL, "take: *item NULL when nothing was taken");
	is_int(CONNHOST_TEXT_ETIMEDOUT, connhost_text_take(ti, 30, &s),
	       "take(30 ms) on an empty queue: ETIMEDOUT");
	is_int(CONNHOST_TEXT_ETIMEDOUT,
	       connhost_text_take_until(ti, connhost_text_now_ms() - 1000, &s),
	       "take_until a past deadline: ETIMEDOUT");
	is_int(CONNHOST_TEXT_EINVAL, connhost_text_take(ti, -1, &s),
	       "take with a negative timeout: EINVAL");
	ok(!readable(ti), "descriptor not readable while empty");

	rc = connhost_text_invoke(ti, "echo", "{\"a\":1}", "{\"v\":\"w\"}",
	                          "task-1", 5000, &id, err, sizeof(err));
	is_int(0, rc, "invoke echo: %s", rc ? err : "accepted");
	ok(readable(ti), "descriptor readable with a result queued");
	rc = connhost_text_invoke(ti, "echo", "{\"b\":2}", NULL, NULL, 0, &id2,
	                          err, sizeof(err));
	is_int(0, rc, "second invoke accepted (max_calls 2)");
	rc = connhost_text_invoke(ti, "echo", "{}", NULL, NULL, 0, &id3, err,
	                          sizeof(err));
	ok(rc == CONNHOST_TEXT_EFULL && strstr(err, "max_calls"),
	   "third invoke refused: two results not taken: %s", err);
	is_int(2, stat_of(ti, "queued_results"), "stats: two results queued");

	o = take(ti);
	is_str("\"result\"", str_at(o, "kind", NULL), "item kind result");
	is_int((int64_t)id, int_at(o, "call_id"), "first result: its call id");
	is_str("{\"a\":1}", str_at(o, "outputs", "echo"), "outputs: inputs");
	is_str("{\"v\":\"w\"}", str_at(o, "outputs", "vars"),
	       "outputs: variables");
	is_str("\"task-1\"", str_at(o, "outputs", "idempotency_key"),
	       "outputs: the idempotency key reached the plugin");
	json_object_put(o);
	ok(readable(ti), "still readable: one more queued");
	o = take(ti);
	is_int((int64_t)id2, int_at(o, "call_id"), "second result, in order");
	json_object_put(o);
	ok(!readable(ti), "not readable once the queue is empty");
	is_int(0, stat_of(ti, "calls_in_flight"), "no call in flight");

	/* cancel: a long sleep, cancelled, still completes exactly once */
	rc = connhost_text_invoke(ti, "sleep", "{\"ms\":600000}", NULL, NULL,
	                          700000, &id, err, sizeof(err));
	is_int(0, rc, "invoke sleep");
	is_int(0, connhost_text_cancel(ti, id), "cancel it");
	o = take(ti);
	is_str("\"cancelled\"", str_at(o, "outputs", "error"),
	       "its result says cancelled");
	json_object_put(o);
	is_int(CONNHOST_TEXT_ENOENT, connhost_text_cancel(ti, id),
	       "cancel again: ENOENT");
}

/* The outputs of a "fire" call, waiting for its result and skipping (and
 * counting) events. */
static json_object *fire(connhost_text_instance *ti, int *events,
                         json_object **last_event)
{
	char err[256] = "";
	uint64_t id = 0;
	json_object *o, *out = NULL;
	int i;

	if (connhost_text_invoke(ti, "fire", "{}", NULL, NULL, 0, &id, err,
	                         sizeof(err))) {
		diag("fire: %s", err);
		return NULL;
	}
	for (i = 0; i < 10 && !out && (o = take(ti)) != NULL; i++) {
		if (int_at(o, "call_id") == (int64_t)id) {
			json_object_object_get_ex(o, "outputs", &out);
			json_object_get(out);
			json_object_put(o);
		} else {
			(*events)++;
			json_object_put(*last_event);
			*last_event = o;
		}
	}
	return out;
}

static void test_events(connhost_text_instance *ti)
{
	char err[512] = "";
	uint64_t sub = 0;
	json_object *out, *ev = NULL, *o;
	uint64_t id1 = 0, id2 = 0;
	int events = 0, rc;

	rc = connhost_text_subscribe(ti, "TICK", "{}", &sub, err, sizeof(err));
	is_int(0, rc, "subscribe TICK: %s", rc ? err : "ok");
	rc = connhost_text_subscribe(ti, "TOCK", NULL, NULL, err, sizeof(err));
	is_int(CONNHOST_TEXT_ENOTSUP, rc, "subscribe to an unknown event");

	out = fire(ti, &events, &ev);
	is_str("[{\"sub_id\":1,\"status\":0}]", str_at(out, "published", NULL),
	       "fire: the publish was accepted");
	json_object_put(out);
	if (!ev) /* the result came first: the event is still queued */
		ev = take(ti), events++;
	is_int(1, events, "one event taken");
	is_str("\"event\"", str_at(ev, "kind", NULL), "item kind event");
	is_int((int64_t)sub, int_at(ev, "sub_id"), "event: its subscription");
	is_str("\"a\"", str_at(ev, "event", "name"), "event: the payload");
	json_object_put(ev);
	ev = NULL;

	/* max_events is 1: a second event while one waits is refused. The
	 * worker publishes, then completes: wait for each result to be
	 * queued (bounded, not timed) before the next fire. */
	rc = connhost_text_invoke(ti, "fire", "{}", NULL, NULL, 0, &id1, err,
	                          sizeof(err));
	ok(rc == 0 && wait_stat(ti, "queued_results", 1),
	   "first fire completed");
	is_int(1, stat_of(ti, "queued_events"), "stats: one event queued");
	rc = connhost_text_invoke(ti, "fire", "{}", NULL, NULL, 0, &id2, err,
	                          sizeof(err));
	ok(rc == 0 && wait_stat(ti, "queued_results", 2),
	   "second fire completed");
	is_int(1, stat_of(ti, "queued_events"), "still one event queued");
	ev = take(ti);
	is_str("\"event\"", str_at(ev, "kind", NULL),
	       "the first event is taken first");
	json_object_put(ev);
	o = take(ti);
	is_str("[{\"sub_id\":1,\"status\":0}]",
	       str_at(o, "outputs", "published"), "first fire: accepted");
	json_object_put(o);
	o = take(ti);
	is_int((int64_t)id2, int_at(o, "call_id"), "then the second result");
	is_str("[{\"sub_id\":1,\"status\":-6,\"error\":\"host: event queue "
	       "full (1 events waiting to be taken; max_events)\"}]",
	       str_at(o, "outputs", "published"),
	       "queue full: the publish was refused (the plugin saw "
	       "EREFUSED and the reason)");
	json_object_put(o);
	is_int(1, stat_of(ti, "events_refused"), "stats: the refusal counted");
	ok(!readable(ti), "queue empty again");

	is_int(0, connhost_text_unsubscribe(ti, sub), "unsubscribe");
	is_int(CONNHOST_TEXT_ENOENT, connhost_text_unsubscribe(ti, sub),
	       "unsubscribe again: ENOENT");
	ev = NULL;
	events = 0;
	out = fire(ti, &events, &ev);
	is_str("[]", str_at(out, "published", NULL),
	       "after unsubscribe nothing is published");
	is_int(0, events, "and nothing queued");
	json_object_put(out);
	json_object_put(ev);
}

struct taker {
	connhost_text_instance *ti;
	int rc;
	char *item;
};

static void *taker_main(void *arg)
{
	struct taker *t = arg;
	t->rc = connhost_text_take(t->ti, 600000, &t->item);
	return NULL;
}

/* A take blocked in another thread returns CONN_ESTATE when shutdown
 * begins, and shutdown then frees what is still queued. */
static void test_shutdown(connhost_plugin *p)
{
	connhost_text_instance *ti = make(p, "FAKE_NAME=b", NULL);
	struct taker t = {.ti = ti, .rc = 1};
	char err[256] = "";
	uint64_t id;
	pthread_t th;
	int i;

	if (!ti)
		return;
	pthread_create(&th, NULL, taker_main, &t);
	/* Wait (bounded, not timed) until the taker is inside take(). */
	ok(wait_stat(ti, "takers", 1), "a thread is blocked in take()");
	is_int(0, connhost_text_shutdown(ti, 5000), "shutdown: 0");
	pthread_join(th, NULL);
	is_int(CONNHOST_TEXT_ESTATE, t.rc, "the blocked take returned ESTATE");
	ok(t.item == NULL, "with no item");

	/* Items queued and never taken, a hanging call completed by the
	 * host at shutdown, a subscription: all freed by shutdown. */
	ti = make(p, "FAKE_NAME=c", "{\"max_events\":4}");
	if (!ti)
		return;
	connhost_text_subscribe(ti, "TICK", "{}", &id, err, sizeof(err));
	for (i = 0; i < 3; i++)
		connhost_text_invoke(ti, "echo", "{\"n\":[1,2,3]}", NULL, NULL,
		                     0, &id, err, sizeof(err));
	connhost_text_invoke(ti, "fire", "{}", NULL, NULL, 0, &id, err,
	                     sizeof(err));
	connhost_text_invoke(ti, "hang", "{}", NULL, NULL, 0, &id, err,
	                     sizeof(err));
	ok(readable(ti), "items queued before shutdown");
	is_int(0, connhost_text_shutdown(ti, 5000),
	       "shutdown with queued items: 0 (and nothing leaks)");

	/* FAKE_BUSY: the first shutdown is CONN_EBUSY, the handle stays */
	ti = make(p, "FAKE_NAME=d\nFAKE_BUSY=true", NULL);
	if (!ti)
		return;
	connhost_text_invoke(ti, "echo", "{}", NULL, NULL, 0, &id, err,
	                     sizeof(err));
	is_int(CONNHOST_TEXT_EBUSY, connhost_text_shutdown(ti, 1000),
	       "a busy plugin: shutdown EBUSY");
	{
		char *s = NULL;
		is_int(CONNHOST_TEXT_ESTATE, connhost_text_take(ti, 0, &s),
		       "take after a started shutdown: ESTATE");
	}
	is_int(CONNHOST_TEXT_ESTATE,
	       connhost_text_invoke(ti, "echo", "{}", NULL, NULL, 0, &id, err,
	                            sizeof(err)),
	       "invoke after a started shutdown: ESTATE");
	is_int(0, connhost_text_shutdown(ti, 5000), "shutdown again: 0");
}

static void test_log_fd(connhost_plugin *p)
{
	connhost_text_instance *ti = NULL;
	char opts[128], err[256] = "", buf[4096];
	int fds[2];
	ssize_t n;

	if (pipe(fds))
		return;
	snprintf(opts, sizeof(opts), "{\"log_fd\":%d,\"log_level\":\"debug\"}",
	         fds[1]);
	is_int(0,
	       connhost_text_new(p, "FAKE_NAME=e\nFAKE_BOGUS=1\n", opts, &ti,
	                         err, sizeof(err)),
	       "new with log_fd");
	n = read(fds[0], buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = '\0';
	ok(n > 0 && strstr(buf, "FAKE_BOGUS") && buf[n - 1] == '\n',
	   "the unknown-key warning went to log_fd as a line: %s", buf);
	if (ti)
		connhost_text_shutdown(ti, 5000);
	close(fds[0]);
	close(fds[1]);
}

int main(void)
{
	connhost_plugin *p = NULL;
	connhost_text_instance *ti;
	const char *dir = ht_copy_dir("test_text");
	char err[256] = "";
	uint64_t id;

	if (!dir)
		skip_all("no copy directory");
	ok(connhost_text_now_ms() > 0, "now_ms exported");
	is_str("invalid argument or configuration",
	       connhost_text_strerror(CONNHOST_TEXT_EINVAL),
	       "strerror exported");
	test_load_and_check(&p, dir);
	if (!p)
		return done_testing();

	ti = NULL;
	is_int(0,
	       connhost_text_new(p, "{\"FAKE_NAME\":\"a\"}",
	                         "{\"max_calls\":2,\"max_events\":1}", &ti, err,
	                         sizeof(err)),
	       "new from JSON config text");
	is_int(CONNHOST_TEXT_ESTATE,
	       connhost_text_invoke(ti, "echo", "{}", NULL, NULL, 0, &id, err,
	                            sizeof(err)),
	       "invoke before start: ESTATE");
	is_int(0, connhost_text_start(ti, err, sizeof(err)), "start");
	{
		char *c = NULL;
		ok(connhost_text_config(ti, &c) == 0 && c &&
		           strstr(c, "\"FAKE_NAME\":\"a\""),
		   "effective config as text");
		connhost_text_free(c);
	}
	test_bad_arguments(p, ti);
	test_invoke_take(ti);
	test_events(ti);
	is_int(0, connhost_text_shutdown(ti, 5000), "shutdown");
	test_shutdown(p);
	test_log_fd(p);
	connhost_text_unload(p);
	rmdir(dir);
	return done_testing();
}
