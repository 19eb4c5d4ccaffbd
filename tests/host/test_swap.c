/*
 * test_swap.c - connhost_instance_swap(): fake-v1 and fake-v2 swapped back
 * and forth while threads invoke continuously, subscribe and unsubscribe,
 * and connect to the fake's listening socket; then each way a swap can
 * fail (configuration, init, subscribe, start, a plugin with a bad ABI)
 * rolls back with v1 still serving; a call of the new generation survives
 * the old one's shutdown; an old version whose shutdown says CONN_EBUSY is
 * kept and listed. Nothing here asserts on time: every wait is for an
 * event, and the deadlines are only bounds.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "../plugins/hosttest.h"

#define BAIL_OUT(why)                                                          \
	do {                                                                   \
		printf("Bail out! %s\n", why);                                 \
		exit(1);                                                       \
	} while (0)

#define THREADS     4
#define PER_THREAD  200000
#define OUTSTANDING 8

static connhost_instance *inst;
static int stop;
static unsigned char *slots; /* completions per call, by tag */
static int out_errors, refused_invokes, refused_subs, dup_done;
static char first_error[512];

/* ---------------------------------------------------------------------- */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static int stat_int(const char *a, const char *b)
{
	json_object *st = connhost_instance_stats(inst), *v;
	int r = -1;

	if (json_object_object_get_ex(st, a, &v) &&
	    (!b || json_object_object_get_ex(v, b, &v)))
		r = json_object_get_int(v);
	json_object_put(st);
	return r;
}

/* stats.serving.version (static buffer) */
static const char *serving_version(connhost_instance *in)
{
	static char buf[64];
	json_object *st = connhost_instance_stats(in), *v;

	buf[0] = '\0';
	if (json_object_object_get_ex(st, "serving", &v) &&
	    json_object_object_get_ex(v, "version", &v))
		snprintf(buf, sizeof(buf), "%s", json_object_get_string(v));
	json_object_put(st);
	return buf;
}

static int echo_version(connhost_instance *in, char *name, size_t n)
{
	json_object *out = NULL, *v;
	char err[256];
	int ver = -1;

	if (connhost_invoke_sync(in, "echo", NULL, NULL, NULL, 0, &out, err,
	                         sizeof(err)) != 0)
		return -1;
	if (json_object_object_get_ex(out, "version", &v))
		ver = json_object_get_int(v);
	if (name && json_object_object_get_ex(out, "name", &v))
		snprintf(name, n, "%s", json_object_get_string(v));
	json_object_put(out);
	return ver;
}

/* Connect to 127.0.0.1:PORT and read the banner: its version digit, 0
 * when the connection was refused, -1 on another failure. */
static int knock(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	char buf[32];
	size_t got = 0;
	ssize_t r;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), rc;
	struct timeval tv = {.tv_sec = 20};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons((uint16_t)port);
	if (fd < 0)
		return -1;
	/* a bound, not a measurement: a socket nobody accepts on fails
	 * the test instead of hanging it */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		rc = errno == ECONNREFUSED ? 0 : -1;
		close(fd);
		return rc;
	}
	while (got < sizeof(buf) - 1 &&
	       (r = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)r;
	buf[got] = '\0';
	close(fd);
	return strncmp(buf, "fake ", 5) == 0 ? buf[5] - '0' : -1;
}

/* ---------------------------------------------------------------------- */
/* The load: invokers, a subscriber churning, a client knocking           */
/* ---------------------------------------------------------------------- */

struct invoker {
	pthread_t t;
	int id;
	pthread_mutex_t m;
	pthread_cond_t c;
	int outstanding;
	int n; /* calls accepted */
};

static struct invoker inv[THREADS];

static void note_error(const char *msg)
{
	if (__atomic_fetch_add(&out_errors, 1, __ATOMIC_SEQ_CST) == 0)
		snprintf(first_error, sizeof(first_error), "%s", msg);
}

static void load_done(void *arg, uint64_t call_id, json_object *outputs)
{
	uintptr_t tag = (uintptr_t)arg;
	struct invoker *w = &inv[tag / PER_THREAD];
	json_object *e;

	(void)call_id;
	if (__atomic_add_fetch(&slots[tag], 1, __ATOMIC_SEQ_CST) > 1)
		__atomic_fetch_add(&dup_done, 1, __ATOMIC_SEQ_CST);
	if (json_object_object_get_ex(outputs, "error", &e))
		note_error(json_object_get_string(e));
	json_object_put(outputs);
	pthread_mutex_lock(&w->m);
	w->outstanding--;
	pthread_cond_signal(&w->c);
	pthread_mutex_unlock(&w->m);
}

static void *invoker(void *arg)
{
	struct invoker *w = arg;
	json_object *sleep_in = json_object_new_object();
	char err[256];

	json_object_object_add(sleep_in, "ms", json_object_new_int(2));
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST) && w->n < PER_THREAD) {
		uintptr_t tag = (uintptr_t)w->id * PER_THREAD + (uintptr_t)w->n;
		int sleepy = w->n % 3 == 0, rc;

		pthread_mutex_lock(&w->m);
		while (w->outstanding >= OUTSTANDING)
			pthread_cond_wait(&w->c, &w->m);
		w->outstanding++;
		pthread_mutex_unlock(&w->m);
		rc = connhost_invoke(inst, sleepy ? "sleep" : "echo",
		                     sleepy ? sleep_in : NULL, NULL, NULL, 0,
		                     load_done, (void *)tag, NULL, err,
		                     sizeof(err));
		if (rc != 0) {
			if (__atomic_fetch_add(&refused_invokes, 1,
			                       __ATOMIC_SEQ_CST) == 0)
				diag("invoke refused: %s", err);
			pthread_mutex_lock(&w->m);
			w->outstanding--;
			pthread_mutex_unlock(&w->m);
			continue;
		}
		w->n++;
	}
	pthread_mutex_lock(&w->m);
	while (w->outstanding > 0)
		pthread_cond_wait(&w->c, &w->m);
	pthread_mutex_unlock(&w->m);
	json_object_put(sleep_in);
	return NULL;
}

static int ignore_event(void *arg, uint64_t sub_id, json_object *ev, char *err,
                        size_t errlen)
{
	(void)arg, (void)sub_id, (void)err, (void)errlen;
	json_object_put(ev);
	return 0;
}

static void *churner(void *arg)
{
	char err[256];

	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
		uint64_t id = 0;

		if (connhost_subscribe(inst, "TICK", NULL, ignore_event, NULL,
		                       &id, err, sizeof(err)) != 0 ||
		    connhost_unsubscribe(inst, id) != 0) {
			if (__atomic_fetch_add(&refused_subs, 1,
			                       __ATOMIC_SEQ_CST) == 0)
				diag("subscription churn failed: %s", err);
		}
	}
	return NULL;
}

static int knock_port;
static int knocks, knocks_refused, knocks_failed, knocks_v[3];

static void *knocker(void *arg)
{
	(void)arg;
	while (!__atomic_load_n(&stop, __ATOMIC_SEQ_CST)) {
		int v = knock(knock_port);

		knocks++;
		if (v == 0)
			knocks_refused++;
		else if (v == 1 || v == 2)
			knocks_v[v]++;
		else
			knocks_failed++;
	}
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* The subscription that must survive every swap                           */
/* ---------------------------------------------------------------------- */

static pthread_mutex_t ev_m = PTHREAD_MUTEX_INITIALIZER;
static int ev_count, ev_version;

static int on_tick(void *arg, uint64_t sub_id, json_object *ev, char *err,
                   size_t errlen)
{
	json_object *v;

	(void)arg, (void)sub_id, (void)err, (void)errlen;
	pthread_mutex_lock(&ev_m);
	ev_count++;
	if (json_object_object_get_ex(ev, "version", &v))
		ev_version = json_object_get_int(v);
	pthread_mutex_unlock(&ev_m);
	json_object_put(ev);
	return 0;
}

/* fire: 1 when subscription SUB got the tick, from version VERSION */
static int fire_reaches(connhost_instance *in, uint64_t sub, int version)
{
	json_object *out = NULL, *pub, *r, *v;
	char err[256];
	int before, after, seen, found = 0;
	size_t i;

	pthread_mutex_lock(&ev_m);
	before = ev_count;
	pthread_mutex_unlock(&ev_m);
	if (connhost_invoke_sync(in, "fire", NULL, NULL, NULL, 0, &out, err,
	                         sizeof(err)) != 0)
		return 0;
	if (json_object_object_get_ex(out, "published", &pub))
		for (i = 0; i < json_object_array_length(pub); i++) {
			r = json_object_array_get_idx(pub, i);
			if (json_object_object_get_ex(r, "sub_id", &v) &&
			    (uint64_t)json_object_get_int64(v) == sub &&
			    json_object_object_get_ex(r, "status", &v) &&
			    json_object_get_int(v) == 0)
				found = 1;
		}
	json_object_put(out);
	pthread_mutex_lock(&ev_m);
	after = ev_count;
	seen = ev_version;
	pthread_mutex_unlock(&ev_m);
	return found && after == before + 1 && seen == version;
}

/* ---------------------------------------------------------------------- */
/* A hook in the log: run when the swap has switched routing               */
/* ---------------------------------------------------------------------- */

struct hook_log {
	struct ht_log lines;
	connhost_instance *in; /* when set: invoke "hang" once on a switch */
	uint64_t hung_id;
	int hung_rc;
};

static int hang_done_count;
static char hang_done_error[256];

static void hang_done(void *arg, uint64_t id, json_object *out)
{
	json_object *e;

	(void)arg, (void)id;
	hang_done_count++;
	if (json_object_object_get_ex(out, "error", &e))
		snprintf(hang_done_error, sizeof(hang_done_error), "%s",
		         json_object_get_string(e));
	json_object_put(out);
}

static void hook_write(void *arg, const char *line)
{
	struct hook_log *h = arg;

	ht_log_write(&h->lines, line);
	if (h->in && strstr(line, "replaced by")) {
		connhost_instance *in = h->in;
		char err[256];

		h->in = NULL;
		/* the new generation takes this call while the old one
		 * still has its own */
		h->hung_rc = connhost_invoke(in, "hang", NULL, NULL, NULL, 0,
		                             hang_done, NULL, &h->hung_id, err,
		                             sizeof(err));
	}
}

static json_object *cfg2(const char *k, const char *v)
{
	json_object *c = ht_config("swap");
	json_object_object_add(c, k, json_object_new_string(v));
	return c;
}

int main(void)
{
	char buf[512], err[512] = "", name[64] = "";
	connhost_plugin *p1 = NULL, *p2 = NULL, *bad = NULL, *served;
	connhost_instance_opts io = {.struct_size = sizeof(io)};
	connhost_swap_opts so = {.struct_size = sizeof(so)};
	struct hook_log hl;
	json_object *cfg, *st, *v;
	pthread_t churn_t, knock_t;
	uint64_t sub = 0;
	int i, rc, port, fds0, nswaps = 20, all_once, t;
	long total = 0;

	if (!ht_copy_dir("test_swap"))
		BAIL_OUT("no copy directory");
	memset(&hl, 0, sizeof(hl));
	ht_log_init(&hl.lines);
	io.log = (connhost_log){
	        .level = CONN_LOG_INFO, .write = hook_write, .arg = &hl};
	slots = calloc((size_t)THREADS * PER_THREAD, 1);

	is_int(0,
	       connhost_plugin_load(ht_plugin("fake-v1", buf, sizeof(buf)),
	                            NULL, &p1, err, sizeof(err)),
	       "load fake-v1 (%s)", err);
	is_int(0,
	       connhost_plugin_load(ht_plugin("fake-v2", buf, sizeof(buf)),
	                            NULL, &p2, err, sizeof(err)),
	       "load fake-v2 (%s)", err);
	if (!p1 || !p2)
		BAIL_OUT("cannot load the fake plugins");

	cfg = ht_config("swap");
	is_int(0, connhost_instance_new(p1, cfg, &io, &inst, err, sizeof(err)),
	       "instance of v1 (%s)", err);
	json_object_put(cfg);
	is_int(CONN_ESTATE,
	       connhost_instance_swap(inst, p2, NULL, NULL, err, sizeof(err)),
	       "a swap before start is refused");
	ok(strstr(err, "never started") != NULL, "saying why (%s)", err);
	is_int(0, connhost_instance_start(inst, err, sizeof(err)), "start");
	port = stat_int("plugin", "port");
	ok(port > 0, "v1 listens on port %d", port);
	knock_port = port;
	is_int(1, knock(port), "v1 answers a connection");
	is_int(0,
	       connhost_subscribe(inst, "TICK", NULL, on_tick, NULL, &sub, err,
	                          sizeof(err)),
	       "subscribe TICK");
	ok(fire_reaches(inst, sub, 1), "v1 publishes to it");
	served = connhost_instance_plugin(inst);
	ok(served == p1, "connhost_instance_plugin: v1, a new reference");
	connhost_plugin_unref(served);

	/* Warm up: one round trip, then the descriptors are counted. */
	is_int(0,
	       connhost_instance_swap(inst, p2, NULL, NULL, err, sizeof(err)),
	       "swap v1 -> v2 (%s)", err);
	is_int(2, echo_version(inst, NULL, 0), "v2 answers calls");
	is_str("2.0.0", serving_version(inst), "stats: serving 2.0.0");
	is_int(2, stat_int("serving", "generation"), "generation 2");
	is_int(port, stat_int("plugin", "port"),
	       "v2 took the same listening socket");
	is_int(2, knock(port), "v2 answers a connection");
	ok(fire_reaches(inst, sub, 2),
	   "the subscription survived: v2 publishes");
	served = connhost_instance_plugin(inst);
	ok(served == p2, "connhost_instance_plugin follows the swap");
	connhost_plugin_unref(served);
	is_int(0,
	       connhost_instance_swap(inst, p1, NULL, NULL, err, sizeof(err)),
	       "swap v2 -> v1 (%s)", err);
	is_int(1, echo_version(inst, NULL, 0), "v1 again");
	ok(ht_log_count(&hl.lines,
	                "fake 2.0.0 (generation 2) replaced by fake 1.0.0 "
	                "(generation 3)") == 1,
	   "the log names the old and the new version");
	ok(ht_log_count(&hl.lines, "swap pause") == 2,
	   "and the swap pause, once a swap");
	fds0 = count_fds();

	/* Under load. */
	for (t = 0; t < THREADS; t++) {
		inv[t].id = t;
		pthread_mutex_init(&inv[t].m, NULL);
		pthread_cond_init(&inv[t].c, NULL);
		pthread_create(&inv[t].t, NULL, invoker, &inv[t]);
	}
	pthread_create(&churn_t, NULL, churner, NULL);
	pthread_create(&knock_t, NULL, knocker, NULL);
	rc = 0;
	for (i = 0; i < nswaps && rc == 0; i++) {
		connhost_plugin *to = i % 2 == 0 ? p2 : p1;
		rc = connhost_instance_swap(inst, to, NULL, NULL, err,
		                            sizeof(err));
		if (rc)
			diag("swap %d: %s", i, err);
		else if (!fire_reaches(inst, sub, i % 2 == 0 ? 2 : 1))
			rc = -100;
	}
	is_int(0, rc,
	       "%d swaps under load, each followed by a publish "
	       "of the new version to the old subscription",
	       nswaps);
	__atomic_store_n(&stop, 1, __ATOMIC_SEQ_CST);
	for (t = 0; t < THREADS; t++) {
		pthread_join(inv[t].t, NULL);
		total += inv[t].n;
	}
	pthread_join(churn_t, NULL);
	pthread_join(knock_t, NULL);
	all_once = 1;
	for (t = 0; t < THREADS; t++)
		for (i = 0; i < inv[t].n; i++)
			if (slots[(size_t)t * PER_THREAD + (size_t)i] != 1)
				all_once = 0;
	ok(total > 0, "%ld calls made during the swaps", total);
	ok(all_once && dup_done == 0, "every call completed exactly once");
	is_int(0, refused_invokes, "no call refused because of a swap");
	is_int(0, out_errors, "no call failed (first error: %s)",
	       first_error[0] ? first_error : "none");
	is_int(0, refused_subs, "subscribe/unsubscribe never failed");
	ok(knocks > 0, "%d connections made during the swaps (v1 %d, v2 %d)",
	   knocks, knocks_v[1], knocks_v[2]);
	is_int(0, knocks_refused, "none refused");
	is_int(0, knocks_failed, "each answered by v1 or v2");
	is_int(port, stat_int("plugin", "port"), "the port never changed");
	is_int(fds0, count_fds(), "no descriptor leaked over %d swaps", nswaps);
	is_int(nswaps + 2, stat_int("swaps", NULL), "stats: swaps");
	is_int(0, stat_int("calls_pending", NULL), "no call left registered");
	ok(stat_int("max_swap_pause_us", NULL) >= 0,
	   "stats: max_swap_pause_us (%d us)",
	   stat_int("max_swap_pause_us", NULL));
	st = connhost_instance_stats(inst);
	ok(json_object_object_get_ex(st, "kept", &v) &&
	           json_object_array_length(v) == 0,
	   "no old version kept");
	json_object_put(st);
	is_int(1, echo_version(inst, NULL, 0),
	       "v1 serves after an even "
	       "number of swaps");

	/* Rollbacks: v1 keeps serving through each. */
	cfg = cfg2("FAKE_LIMIT", "zero");
	is_int(CONN_EINVAL,
	       connhost_instance_swap(inst, p2, cfg, NULL, err, sizeof(err)),
	       "a bad configuration is refused");
	ok(strstr(err, "FAKE_LIMIT") != NULL, "naming the key (%s)", err);
	json_object_put(cfg);
	cfg = cfg2("FAKE_FAIL", "init");
	rc = connhost_instance_swap(inst, p2, cfg, NULL, err, sizeof(err));
	ok(rc != 0 && strstr(err, "init fails") != NULL,
	   "v2 whose init() fails: refused (%s)", err);
	json_object_put(cfg);
	is_int(1, echo_version(inst, NULL, 0), "v1 still serves");
	cfg = cfg2("FAKE_FAIL", "subscribe");
	rc = connhost_instance_swap(inst, p2, cfg, NULL, err, sizeof(err));
	ok(rc != 0 && strstr(err, "subscription") != NULL,
	   "v2 refusing a subscription: refused (%s)", err);
	json_object_put(cfg);
	ok(fire_reaches(inst, sub, 1), "v1 still serves the subscription");
	cfg = cfg2("FAKE_FAIL", "start");
	rc = connhost_instance_swap(inst, p2, cfg, NULL, err, sizeof(err));
	ok(rc != 0 && strstr(err, "start fails") != NULL &&
	           strstr(err, "resumed") != NULL,
	   "v2 whose start() fails: v1 resumed (%s)", err);
	json_object_put(cfg);
	is_int(1, echo_version(inst, NULL, 0), "v1 takes calls again");
	is_int(1, knock(port), "v1 accepts connections again, same port");
	is_int(port, stat_int("plugin", "port"), "stats: same port");
	rc = connhost_plugin_load(ht_plugin("bad-major", buf, sizeof(buf)),
	                          NULL, &bad, err, sizeof(err));
	ok(rc == CONN_EABI && !bad, "a v2 with a bad ABI is refused at load");
	is_int(1, echo_version(inst, NULL, 0), "v1 still serves");
	is_int(CONN_EINVAL,
	       connhost_instance_swap(inst, NULL, NULL, NULL, err, sizeof(err)),
	       "no plugin: EINVAL");
	is_str("1.0.0", serving_version(inst), "stats: 1.0.0 serves");
	is_int(4, stat_int("swaps_failed", NULL), "stats: 4 swaps failed");
	is_int(fds0, count_fds(), "no descriptor leaked by the rollbacks");

	/* Token rotation: the same plugin, a new configuration. */
	cfg = cfg2("FAKE_TOKEN", "rotated-secret-2");
	json_object_object_add(cfg, "FAKE_NAME",
	                       json_object_new_string("rotated"));
	is_int(0, connhost_instance_swap(inst, p1, cfg, NULL, err, sizeof(err)),
	       "swap to the same plugin with a new token (%s)", err);
	json_object_put(cfg);
	is_int(1, echo_version(inst, name, sizeof(name)), "v1 serves");
	is_str("rotated", name, "with the new configuration");
	cfg = connhost_instance_config_masked(inst);
	ok(json_object_object_get_ex(cfg, "FAKE_TOKEN", &v) &&
	           strcmp(json_object_get_string(v), "********") == 0,
	   "the new token is masked");
	json_object_put(cfg);
	ok(!strstr(hl.lines.text ? hl.lines.text : "", "rotated-secret"),
	   "and never logged");

	/* The new generation's call survives the old one's shutdown: the
	 * old one has a call that never completes ("hang"); the log hook
	 * gives the new one a call as soon as routing switched. */
	is_int(0,
	       connhost_invoke(inst, "hang", NULL, NULL, NULL, 0, hang_done,
	                       NULL, NULL, err, sizeof(err)),
	       "v1 takes a call that completes only at its shutdown");
	hl.in = inst;
	so.deadline_ms = conn_now_ms() + 300;
	is_int(0, connhost_instance_swap(inst, p2, NULL, &so, err, sizeof(err)),
	       "swap with a short deadline (%s)", err);
	is_int(0, hl.hung_rc, "v2 took a call right after the switch");
	is_int(1, hang_done_count, "v1's call was completed at its shutdown");
	ok(strstr(hang_done_error, "shut down") != NULL, "with an error (%s)",
	   hang_done_error);
	is_int(1, stat_int("calls_pending", NULL),
	       "v2's call is still pending: not failed with v1's");
	ok(ht_log_count(&hl.lines, "still had 1 call") == 1,
	   "the log says v1 had a call left at the deadline");

	is_int(0, connhost_instance_shutdown(inst, conn_now_ms() + 5000),
	       "shut down");
	is_int(2, hang_done_count, "v2's call completed at the shutdown");

	/* An old version whose shutdown says CONN_EBUSY is kept. */
	ht_log_clear(&hl.lines);
	cfg = cfg2("FAKE_BUSY", "true");
	is_int(0, connhost_instance_new(p1, cfg, &io, &inst, err, sizeof(err)),
	       "instance of v1 whose first shutdown says EBUSY");
	json_object_put(cfg);
	is_int(0, connhost_instance_start(inst, err, sizeof(err)), "start");
	cfg = ht_config("swap"); /* v2 without FAKE_BUSY */
	is_int(0, connhost_instance_swap(inst, p2, cfg, NULL, err, sizeof(err)),
	       "swap to v2 succeeds (%s)", err);
	json_object_put(cfg);
	st = connhost_instance_stats(inst);
	ok(json_object_object_get_ex(st, "kept", &v) &&
	           json_object_array_length(v) == 1 &&
	           json_object_object_get_ex(json_object_array_get_idx(v, 0),
	                                     "version", &v) &&
	           strcmp(json_object_get_string(v), "1.0.0") == 0,
	   "stats list v1 as kept");
	json_object_put(st);
	ok(ht_log_count(&hl.lines, "kept loaded") == 1, "and the log says so");
	is_int(2, echo_version(inst, NULL, 0), "v2 serves");
	is_int(0, connhost_instance_shutdown(inst, conn_now_ms() + 5000),
	       "shutdown also retires the kept version");

	connhost_plugin_unref(p1);
	connhost_plugin_unref(p2);
	ht_log_free(&hl.lines);
	free(slots);
	return done_testing();
}
