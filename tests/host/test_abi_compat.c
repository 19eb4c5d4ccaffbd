/*
 * test_abi_compat.c - the minor version negotiated both ways (issue #11):
 *
 *  1. A 1.0 plugin in a 1.1 host. tests/plugins/plugin10.la is compiled
 *     against the frozen 1.0 header (tests/plugins/abi-1.0/connector.h):
 *     its own table (dlopen()ed here) says abi_minor 0 and 1.0's
 *     struct_size, reserved words included, which lie where 1.1's pin is
 *     and read NULL; libconnhost loads it, keeps only 1.0's slots in its
 *     copy (struct_size CONN_PLUGIN_SIZE_1_0, pin absent), and drives it
 *     through the public API: echo, subscribe + fire + event +
 *     unsubscribe, "once" twice (the second answered from the store via
 *     1.0's claim()/settle()), cancel refused (its slot is NULL), stats,
 *     shutdown, unload.
 *  2. The 1.1 twilio.so in a 1.0 host, without libconnhost: dlopen()ed
 *     here, conn_plugin_get(1, 0) must answer abi_minor 0 and (1, 1)
 *     abi_minor 1; then init/start/send_sms/stats/shutdown run with a
 *     host table of exactly CONN_HOST_SIZE_1_0 bytes whose last byte is
 *     the last byte before a PROT_NONE page, so that any read of a 1.1
 *     member by the plugin faults (a SIGSEGV handler turns that fault into
 *     a "not ok" naming the cause). send_sms gets an invalid smsTo and a
 *     dry run: both complete without the network (the REST base URL is a
 *     closed local port besides).
 *  3. A 1.1 host table whose json_c_version_num is not json-c's function
 *     (two copies of json-c in one process): twilio's init() must refuse
 *     it with CONN_EABI naming json-c; the same table with json-c's own
 *     function is accepted.
 *
 * No timing: completions and events are waited for by condition, with a
 * generous deadline that only bounds a broken run.
 */
#include <dlfcn.h>
#include <signal.h>
#include <sys/mman.h>

#include "../plugins/hosttest.h"

#define TOKEN   "abi-compat-fake-token"
#define WAIT_MS 30000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;

/* ---- part 1: plugin10 through libconnhost ------------------------------ */

static int events;

static int on_event(void *arg, uint64_t sub, json_object *ev, char *err,
                    size_t errlen)
{
	(void)arg;
	(void)sub;
	(void)err;
	(void)errlen;
	pthread_mutex_lock(&lock);
	events++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	json_object_put(ev);
	return 0;
}

static int wait_events(int n)
{
	int64_t until = conn_now_ms() + WAIT_MS;
	int got;

	pthread_mutex_lock(&lock);
	while (events < n && conn_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&cond, &lock, &ts);
	}
	got = events;
	pthread_mutex_unlock(&lock);
	return got;
}

static char *held_out; /* the outputs of the held call, as text */

static void on_held(void *arg, uint64_t id, json_object *out)
{
	(void)arg;
	(void)id;
	pthread_mutex_lock(&lock);
	free(held_out);
	held_out = strdup(
	        json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN));
	pthread_mutex_unlock(&lock);
	json_object_put(out);
}

/* Invoke ACTION (inputs INPUTS_JSON) and return the outputs as text. */
static char *call(connhost_instance *inst, const char *action,
                  const char *inputs_json, const char *vars_json,
                  const char *key)
{
	json_object *in = json_tokener_parse(inputs_json), *out = NULL;
	json_object *vars = vars_json ? json_tokener_parse(vars_json) : NULL;
	char err[512], *text;
	int rc;

	rc = connhost_invoke_sync(inst, action, in, vars, key, 0, &out, err,
	                          sizeof(err));
	if (rc) {
		size_t n = strlen(err) + 32;
		text = malloc(n);
		if (text)
			snprintf(text, n, "error %d: %s", rc, err);
	} else {
		text = strdup(json_object_to_json_string_ext(
		        out, JSON_C_TO_STRING_PLAIN));
	}
	json_object_put(in);
	json_object_put(vars);
	json_object_put(out);
	return text;
}

/* plugin10's own table, as the plugin hands it out. */
static void plugin10_raw(void)
{
	char so[4096];
	const char *top = getenv("top_builddir");
	const conn_plugin *t;
	void *dl;
	union {
		void *p;
		conn_plugin_get_fn f;
	} u;

	snprintf(so, sizeof(so), "%s/tests/plugins/.libs/plugin10.so",
	         top && *top ? top : ".");
	dl = dlopen(so, RTLD_NOW | RTLD_LOCAL);
	ok(dl != NULL, "dlopen %s (%s)", so, dl ? "" : dlerror());
	if (!dl)
		return;
	u.p = dlsym(dl, CONN_PLUGIN_ENTRY);
	t = u.p ? u.f(CONN_ABI_MAJOR, CONN_ABI_MINOR) : NULL;
	ok(t != NULL, "plugin10's conn_plugin_get(1, 1) answers");
	if (t) {
		is_int(0, t->abi_minor,
		       "abi_minor 0: a 1.0 plugin ignores "
		       "the host's minor");
		/* 1.0's table: its members through stats, then
		 * void *reserved[8] */
		is_int(CONN_PLUGIN_SIZE_1_0 + 8 * sizeof(void *),
		       t->struct_size,
		       "struct_size is 1.0's sizeof (reserved words "
		       "included)");
		ok(CONN_HAS_FIELD(t, conn_plugin, pin),
		   "so a reserved word lies where 1.1's pin is");
		ok(!CONN_PLUGIN_HAS(t, pin),
		   "and reads NULL: pin absent even when read raw");
	}
	dlclose(dl);
}

static void part_plugin10(void)
{
	char path[4096], err[512], *r;
	connhost_plugin *p = NULL;
	connhost_instance *inst = NULL;
	const conn_plugin *t;
	json_object *cfg, *params, *st, *v, *pl, *in;
	uint64_t sub = 0, held = 0;
	int rc;

	rc = connhost_plugin_load(ht_plugin("plugin10", path, sizeof(path)),
	                          NULL, &p, err, sizeof(err));
	is_int(0, rc, "the 1.1 host loads the 1.0 plugin10 (%s)",
	       rc ? err : "");
	if (rc)
		return;
	t = connhost_plugin_table(p);
	is_str("plugin10", connhost_plugin_name(p), "its name");
	is_int(0, t->abi_minor, "the host sees it speak ABI 1.0");
	is_int(CONN_PLUGIN_SIZE_1_0, t->struct_size,
	       "the host's copy holds 1.0's slots only");
	ok(!CONN_PLUGIN_HAS(t, pin), "pin is absent from it");
	ok(t->cancel == NULL && t->stats != NULL, "cancel NULL, stats set");

	cfg = json_object_new_object();
	rc = connhost_instance_new(p, cfg, NULL, &inst, err, sizeof(err));
	json_object_put(cfg);
	is_int(0, rc, "an instance (%s)", rc ? err : "");
	if (rc) {
		connhost_plugin_unref(p);
		return;
	}
	rc = connhost_instance_start(inst, err, sizeof(err));
	is_int(0, rc, "started (%s)", rc ? err : "");

	r = call(inst, "echo", "{\"a\":[1,\"two\"]}", "{\"v\":true}", NULL);
	is_str("{\"echo\":{\"a\":[1,\"two\"]},\"vars\":{\"v\":true}}", r,
	       "echo completes with its inputs and variables");
	free(r);
	r = call(inst, "nope", "{}", NULL, NULL);
	ok(strstr(r, "error -3") && strstr(r, "unknown action 'nope'"),
	   "an unknown action is refused with ENOTSUP (%s)", r);
	free(r);

	params = json_object_new_object();
	rc = connhost_subscribe(inst, "PING", params, on_event, NULL, &sub, err,
	                        sizeof(err));
	json_object_put(params);
	is_int(0, rc, "subscribe PING (%s)", rc ? err : "");
	r = call(inst, "fire", "{}", NULL, NULL);
	is_str("{\"published\":[{\"sub_id\":1,\"status\":0}]}", r,
	       "fire publishes from the plugin's thread, accepted");
	free(r);
	is_int(1, wait_events(1), "the event reached its subscription");
	is_int(0, connhost_unsubscribe(inst, sub), "unsubscribe");
	r = call(inst, "fire", "{}", NULL, NULL);
	is_str("{\"published\":[]}", r, "after it, nothing to publish to");
	free(r);
	pthread_mutex_lock(&lock);
	is_int(1, events, "and no further event arrived");
	pthread_mutex_unlock(&lock);

	r = call(inst, "once", "{}", NULL, "task-1");
	is_str("{\"work\":1}", r, "once: the first call does the work");
	free(r);
	r = call(inst, "once", "{}", NULL, "task-1");
	is_str("{\"work\":1,\"from_store\":true}", r,
	       "once again: answered from the host's store (claim DONE)");
	free(r);
	r = call(inst, "once", "{}", NULL, "task-2");
	is_str("{\"work\":2}", r, "another key: work again");
	free(r);
	r = call(inst, "once", "{}", NULL, NULL);
	ok(strstr(r, "no idempotency key") != NULL,
	   "once without a key: an error output (%s)", r);
	free(r);
	in = json_object_new_object();
	rc = connhost_invoke(inst, "hold", in, NULL, NULL, 0, on_held, NULL,
	                     &held, err, sizeof(err));
	json_object_put(in);
	is_int(0, rc, "a call held until shutdown (%s)", rc ? err : "");
	is_int(CONN_ENOTSUP, connhost_cancel(inst, held),
	       "cancelling it: not supported (the plugin's slot is NULL)");

	st = connhost_instance_stats(inst);
	ok(st && json_object_object_get_ex(st, "plugin", &pl) &&
	           json_object_object_get_ex(pl, "work_done", &v) &&
	           json_object_get_int(v) == 2,
	   "the plugin's stats: work done twice for three calls with keys");
	json_object_put(st);

	is_int(0, connhost_instance_shutdown(inst, conn_now_ms() + WAIT_MS),
	       "shutdown");
	pthread_mutex_lock(&lock);
	ok(held_out && strstr(held_out, "shutdown: the instance shut down"),
	   "the held call completed by the plugin's shutdown (%s)",
	   held_out ? held_out : "no completion");
	free(held_out);
	held_out = NULL;
	pthread_mutex_unlock(&lock);
	connhost_plugin_unref(p);
	ok(1, "unloaded");
}

/* ---- part 2: twilio.so with a 1.0 host table ---------------------------- */

struct direct {
	int completed;
	uint64_t last_id;
	json_object *outputs; /* the last completion's */
	int leaked;           /* log lines holding the token */
	int logged;
};

static struct direct D;

static void d_log(void *ctx, conn_log_level lv, json_object *f, const char *msg)
{
	const char *fs = f ? json_object_to_json_string(f) : "";

	(void)ctx;
	pthread_mutex_lock(&lock);
	D.logged++;
	if (strstr(msg, TOKEN) || strstr(fs, TOKEN))
		D.leaked++;
	if (lv <= CONN_LOG_WARN)
		printf("# log: %s %s\n", msg, fs);
	pthread_mutex_unlock(&lock);
}

static void d_complete(void *ctx, uint64_t id, json_object *o)
{
	(void)ctx;
	pthread_mutex_lock(&lock);
	D.completed++;
	D.last_id = id;
	json_object_put(D.outputs);
	D.outputs = o;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
}

static int d_publish(void *ctx, uint64_t sub, json_object *ev, char *err,
                     size_t errlen)
{
	(void)ctx;
	(void)sub;
	snprintf(err, errlen, "this test subscribes to nothing");
	json_object_put(ev);
	return CONN_ENOENT;
}

/* A store of nothing: every key is new, every settle forgotten. */
static int d_claim(void *ctx, const char *key, uint32_t ttl,
                   json_object **prior)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	*prior = NULL;
	return CONN_CLAIM_NEW;
}

static int d_settle(void *ctx, const char *key, json_object *r, uint32_t ttl)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	json_object_put(r);
	return 0;
}

static int d_claim_owned(void *ctx, const char *key, uint32_t ttl,
                         uint64_t *owner, json_object **prior)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	*owner = 1;
	*prior = NULL;
	return CONN_CLAIM_OWNED;
}

static int d_settle_owned(void *ctx, const char *key, uint64_t owner,
                          json_object *r, uint32_t ttl)
{
	(void)ctx;
	(void)key;
	(void)owner;
	(void)ttl;
	json_object_put(r);
	return 0;
}

/* Not json-c's json_c_version_num: a second "copy" of json-c. */
static int other_json_c_version_num(void)
{
	return JSON_C_VERSION_NUM;
}

/* The guard page: a fault inside it is the plugin reading beyond the 1.0
 * host table. Reported as a TAP failure (async-signal-safe: write only). */
static char *guard;
static size_t guard_len;

static void on_segv(int sig, siginfo_t *si, void *uc)
{
	static const char msg[] =
	        "not ok - twilio.so read the host table beyond "
	        "CONN_HOST_SIZE_1_0 (a 1.1 member of a 1.0 host: check "
	        "CONN_HAS_FIELD/CONN_HOST_HAS before reading it)\n";
	char *a = si ? (char *)si->si_addr : NULL;

	(void)uc;
	if (guard && a >= guard && a < guard + guard_len) {
		ssize_t w = write(1, msg, sizeof(msg) - 1);
		(void)w;
		_exit(1);
	}
	signal(sig, SIG_DFL); /* any other fault: crash as usual */
}

static int wait_completed(int n)
{
	int64_t until = conn_now_ms() + WAIT_MS;
	int got;

	pthread_mutex_lock(&lock);
	while (D.completed < n && conn_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&cond, &lock, &ts);
	}
	got = D.completed;
	pthread_mutex_unlock(&lock);
	return got;
}

static conn_host full_host(void)
{
	conn_host h;

	memset(&h, 0, sizeof(h));
	h.struct_size = sizeof(conn_host);
	h.abi_major = CONN_ABI_MAJOR;
	h.abi_minor = CONN_ABI_MINOR;
	h.ctx = &D;
	h.log = d_log;
	h.complete = d_complete;
	h.publish = d_publish;
	h.claim = d_claim;
	h.settle = d_settle;
	return h;
}

static json_object *twilio_config(void)
{
	return json_tokener_parse(
	        "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	        "\"TWILIO_TOKEN\":\"" TOKEN "\","
	        "\"TWILIO_BASE_URL\":\"http://127.0.0.1:1\"}");
}

/* Invoke send_sms with INPUTS_JSON as call ID; 1 when it completed. */
static int send_sms(const conn_plugin *t, conn_instance *inst, uint64_t id,
                    const char *inputs_json)
{
	json_object *in = json_tokener_parse(inputs_json);
	conn_call c;
	char err[512] = "";
	int rc, before;

	pthread_mutex_lock(&lock);
	before = D.completed;
	pthread_mutex_unlock(&lock);
	memset(&c, 0, sizeof(c));
	c.struct_size = sizeof(c);
	c.call_id = id;
	c.action = "send_sms";
	c.inputs = in;
	c.deadline_ms = conn_now_ms() + WAIT_MS;
	rc = t->invoke_action(inst, &c, err, sizeof(err));
	is_int(0, rc, "send_sms %llu accepted (%s)", (unsigned long long)id,
	       rc ? err : "");
	json_object_put(in);
	return rc == 0 && wait_completed(before + 1) == before + 1;
}

static void part_twilio_on_10_host(const conn_plugin *t0)
{
	long pg = sysconf(_SC_PAGESIZE);
	conn_host full = full_host(), *h;
	conn_instance *inst = NULL;
	json_object *cfg = twilio_config(), *te, *e, *f, *st;
	struct sigaction sa;
	char err[512] = "", *map;
	int rc;

	/* two pages: the table ends where the second, unreadable, begins */
	map = mmap(NULL, 2 * (size_t)pg, PROT_READ | PROT_WRITE,
	           MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED || mprotect(map + pg, (size_t)pg, PROT_NONE)) {
		ok(0, "mmap/mprotect for the guard page failed");
		json_object_put(cfg);
		return;
	}
	guard = map + pg;
	guard_len = (size_t)pg;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_RESETHAND;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, NULL);

	_Static_assert(CONN_HOST_SIZE_1_0 % sizeof(void *) == 0,
	               "the 1.0 table ends on a pointer boundary");
	h = (conn_host *)(void *)(guard - CONN_HOST_SIZE_1_0);
	full.struct_size = (uint32_t)CONN_HOST_SIZE_1_0;
	full.abi_minor = 0;
	memcpy(h, &full, CONN_HOST_SIZE_1_0); /* 1.0's members only */
	mprotect(map, (size_t)pg, PROT_READ); /* and nobody writes it */

	rc = t0->init(h, cfg, &inst, err, sizeof(err));
	json_object_put(cfg);
	is_int(0, rc, "init with a 1.0-sized host table (%s)", rc ? err : "");
	if (rc) {
		munmap(map, 2 * (size_t)pg);
		return;
	}
	rc = t0->start(inst, NULL, err, sizeof(err));
	is_int(0, rc, "start (%s)", rc ? err : "");

	ok(send_sms(t0, inst, 7,
	            "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"not a number\","
	            "\"smsBody\":\"hello\"}"),
	   "send_sms with an invalid smsTo completes");
	pthread_mutex_lock(&lock);
	is_int(7, D.last_id, "with its call id");
	ok(json_object_object_get_ex(D.outputs, "twilioError", &te) &&
	           json_object_array_length(te) > 0 &&
	           (e = json_object_array_get_idx(te, 0)) != NULL &&
	           json_object_object_get_ex(e, "field", &f) &&
	           strcmp(json_object_get_string(f), "smsTo") == 0,
	   "twilioError names smsTo (%s)",
	   json_object_to_json_string(D.outputs));
	pthread_mutex_unlock(&lock);

	ok(send_sms(t0, inst, 8,
	            "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+15005550009\","
	            "\"smsBody\":\"Hello from a 1.0 host\",\"dryRun\":true}"),
	   "a dry-run send_sms completes");
	pthread_mutex_lock(&lock);
	ok(D.last_id == 8 &&
	           json_object_object_get_ex(D.outputs, "dryRun", NULL),
	   "with its dryRun outputs (%s)",
	   json_object_to_json_string(D.outputs));
	pthread_mutex_unlock(&lock);

	st = t0->stats ? t0->stats(inst) : NULL;
	ok(st != NULL, "stats");
	json_object_put(st);
	rc = t0->shutdown(inst, conn_now_ms() + WAIT_MS);
	is_int(0, rc, "shutdown");
	pthread_mutex_lock(&lock);
	is_int(0, D.leaked, "no log line holds the token (%d lines)", D.logged);
	json_object_put(D.outputs);
	D.outputs = NULL;
	pthread_mutex_unlock(&lock);
	ok(1, "no read beyond CONN_HOST_SIZE_1_0 (the guard page never "
	      "faulted)");
	signal(SIGSEGV, SIG_DFL);
	guard = NULL;
	munmap(map, 2 * (size_t)pg);
}

/* ---- part 3: json-c identity on a 1.1 host ------------------------------ */

static void part_json_c(const conn_plugin *t1)
{
	conn_host h = full_host();
	conn_instance *inst = NULL;
	json_object *cfg = twilio_config();
	char err[512] = "";
	int rc;

	h.json_c_version = (uint32_t)json_c_version_num();
	h.json_c_version_num = json_c_version_num;
	h.claim_owned = d_claim_owned;
	h.settle_owned = d_settle_owned;
	rc = t1->init(&h, cfg, &inst, err, sizeof(err));
	is_int(0, rc,
	       "a 1.1 host with json-c's own json_c_version_num: init "
	       "accepts (%s)",
	       rc ? err : "");
	if (rc == 0)
		is_int(0, t1->shutdown(inst, conn_now_ms() + WAIT_MS),
		       "shutdown");

	h.json_c_version_num = other_json_c_version_num;
	inst = NULL;
	err[0] = '\0';
	rc = t1->init(&h, cfg, &inst, err, sizeof(err));
	ok(rc == CONN_EABI,
	   "json_c_version_num is another function (two json-c "
	   "copies): init refuses with CONN_EABI (rc %d)",
	   rc);
	ok(rc == CONN_EABI && strstr(err, "json-c") != NULL,
	   "naming json-c (%s)", err);
	if (rc == 0)
		is_int(0, t1->shutdown(inst, conn_now_ms() + WAIT_MS),
		       "shutdown of the instance that should not exist");
	json_object_put(cfg);
}

int main(void)
{
	char so[4096];
	const char *top = getenv("top_builddir");
	const conn_plugin *t0, *t1;
	conn_plugin_get_fn get;
	void *dl;
	union {
		void *p;
		conn_plugin_get_fn f;
	} u;

	if (!ht_copy_dir("test_abi_compat"))
		skip_all("cannot create a copy directory");
	plugin10_raw();
	part_plugin10();
	rmdir(getenv("CONNHOST_COPY_DIR"));

	/* libtool's objdir: the real shared object behind plugin/twilio.la */
	snprintf(so, sizeof(so), "%s/plugin/.libs/twilio.so",
	         top && *top ? top : ".");
	/* RTLD_NODELETE: never unmapped under libcurl's or PCRE2's state
	 * (connector.h, rule 7), as libconnhost's pinning would ensure */
	dl = dlopen(so, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
	ok(dl != NULL, "dlopen %s (%s)", so, dl ? "" : dlerror());
	if (!dl)
		return done_testing();
	u.p = dlsym(dl, CONN_PLUGIN_ENTRY);
	get = u.f;
	ok(get != NULL, "conn_plugin_get exported");
	if (!get)
		return done_testing();
	ok(get(2, 0) == NULL, "conn_plugin_get(2, 0): NULL (another major)");
	t1 = get(1, 1);
	ok(t1 && t1->abi_minor == 1 && t1->struct_size >= CONN_PLUGIN_SIZE_1_1,
	   "conn_plugin_get(1, 1): a 1.1 table");
	t0 = get(1, 0);
	ok(t0 && t0->abi_major == 1 && t0->struct_size >= CONN_PLUGIN_SIZE_1_0,
	   "conn_plugin_get(1, 0): a table");
	ok(t0 && t0->abi_minor == 0,
	   "conn_plugin_get(1, 0) answers abi_minor 0 (got %d)",
	   t0 ? t0->abi_minor : -1);
	if (t0)
		part_twilio_on_10_host(t0);
	if (t1)
		part_json_c(t1);
	dlclose(dl);
	return done_testing();
}
