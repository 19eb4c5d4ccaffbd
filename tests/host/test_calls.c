/*
 * test_calls.c - invoking actions (host-api/calls.c): 1,000 asynchronous
 * and synchronous calls from 8 threads with every completion arriving
 * exactly once (inline completions included), unknown and second
 * completions logged and dropped, the call's deadline, the synchronous
 * wrapper's timeout, refused calls, cancel, and calls left at shutdown.
 */
#include "../plugins/hosttest.h"

#define THREADS    8
#define PER_THREAD 125
#define MAX_ID     4096

static struct ht_log logs;
static connhost_instance *inst;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static int seen[MAX_ID];
static int async_done, inline_done, bad_outputs;
static __thread int inside_invoke;

static void on_done(void *arg, uint64_t id, json_object *out)
{
	json_object *echo, *i;
	long want = (long)(intptr_t)arg;

	pthread_mutex_lock(&lock);
	if (id < MAX_ID)
		seen[id]++;
	async_done++;
	if (inside_invoke)
		inline_done++;
	if (want >= 0 &&
	    !(json_object_object_get_ex(out, "echo", &echo) &&
	      json_object_object_get_ex(echo, "i", &i) &&
	      json_object_get_int64(i) == want) &&
	    !json_object_object_get_ex(out, "slept", NULL))
		bad_outputs++;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	json_object_put(out);
}

struct worker {
	int t, failures, sync_ok, inline_expected;
	uint64_t ids[PER_THREAD];
	int nids;
};

static void *run(void *arg)
{
	struct worker *w = arg;
	char err[256];
	int i;

	for (i = 0; i < PER_THREAD; i++) {
		long tag = w->t * 1000 + i;
		json_object *in = json_object_new_object(), *out = NULL;
		const char *action = (i % 2) ? "sleep" : "echo";
		uint64_t id = 0;
		int rc;

		json_object_object_add(in, "i", json_object_new_int64(tag));
		json_object_object_add(in, "ms", json_object_new_int(i % 3));
		if (i % 4 < 2) {
			inside_invoke = 1;
			rc = connhost_invoke(inst, action, in, NULL, NULL, 0,
			                     on_done, (void *)(intptr_t)tag,
			                     &id, err, sizeof(err));
			inside_invoke = 0;
			if (rc == 0)
				w->ids[w->nids++] = id;
			if (i % 2 == 0)
				w->inline_expected++;
		} else {
			rc = connhost_invoke_sync(inst, action, in, NULL, NULL,
			                          0, &out, err, sizeof(err));
			if (rc == 0 && out) {
				json_object *e, *v;
				if ((json_object_object_get_ex(out, "echo",
				                               &e) &&
				     json_object_object_get_ex(e, "i", &v) &&
				     json_object_get_int64(v) == tag) ||
				    json_object_object_get_ex(out, "slept",
				                              NULL))
					w->sync_ok++;
			}
			json_object_put(out);
		}
		if (rc)
			w->failures++;
		json_object_put(in);
	}
	return NULL;
}

static int wait_async(int n, int64_t ms)
{
	int64_t until = conn_now_ms() + ms;
	int ok_;

	pthread_mutex_lock(&lock);
	while (async_done < n && conn_now_ms() < until) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 50 * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&cond, &lock, &ts);
	}
	ok_ = async_done >= n;
	pthread_mutex_unlock(&lock);
	return ok_;
}

static int64_t stat_of(const char *name)
{
	json_object *st = connhost_instance_stats(inst), *v;
	int64_t n = -1;

	if (json_object_object_get_ex(st, name, &v))
		n = json_object_get_int64(v);
	json_object_put(st);
	return n;
}

static void many(void)
{
	struct worker w[THREADS];
	pthread_t th[THREADS];
	int i, j, failures = 0, sync_ok = 0, inl = 0, ids = 0, once = 1;
	int nasync = 0, nsync;

	for (i = 0; i < PER_THREAD; i++) /* the mix run() uses */
		nasync += i % 4 < 2;
	nasync *= THREADS;
	nsync = THREADS * PER_THREAD - nasync;

	memset(w, 0, sizeof(w));
	for (i = 0; i < THREADS; i++) {
		w[i].t = i;
		pthread_create(&th[i], NULL, run, &w[i]);
	}
	for (i = 0; i < THREADS; i++)
		pthread_join(th[i], NULL);
	for (i = 0; i < THREADS; i++) {
		failures += w[i].failures;
		sync_ok += w[i].sync_ok;
		inl += w[i].inline_expected;
		ids += w[i].nids;
	}
	is_int(0, failures, "1000 calls from 8 threads all accepted");
	is_int(nsync, sync_ok, "%d synchronous calls returned their outputs",
	       nsync);
	ok(wait_async(nasync, 30000), "%d asynchronous completions arrived",
	   nasync);
	pthread_mutex_lock(&lock);
	for (i = 0; i < THREADS; i++)
		for (j = 0; j < w[i].nids; j++)
			if (w[i].ids[j] >= MAX_ID || seen[w[i].ids[j]] != 1)
				once = 0;
	is_int(nasync, ids, "%d asynchronous call ids", nasync);
	ok(once, "each asynchronous call completed exactly once");
	is_int(nasync, async_done, "no extra completion");
	is_int(inl, inline_done,
	       "%d echo calls completed inline, before invoke returned", inl);
	is_int(0, bad_outputs, "every completion carried its own outputs");
	pthread_mutex_unlock(&lock);
	is_int(1000, stat_of("calls_started"), "stats: 1000 started");
	is_int(1000, stat_of("calls_completed"), "stats: 1000 completed");
	is_int(0, stat_of("calls_pending"), "stats: none pending");
	is_int(0, stat_of("completions_dropped"), "stats: none dropped");
}

static void misbehaving(void)
{
	json_object *in = json_object_new_object(), *out = NULL;
	char err[256];
	int64_t t0;
	int rc, before;

	pthread_mutex_lock(&lock);
	before = async_done;
	pthread_mutex_unlock(&lock);
	ht_log_clear(&logs);
	rc = connhost_invoke(inst, "dup", in, NULL, NULL, 0, on_done,
	                     (void *)(intptr_t)-1, NULL, err, sizeof(err));
	is_int(0, rc, "dup accepted");
	pthread_mutex_lock(&lock);
	is_int(before + 1, async_done, "dup: the caller saw one completion");
	pthread_mutex_unlock(&lock);
	is_int(2,
	       ht_log_count(&logs, "completion for an unknown or already "
	                           "completed call dropped"),
	       "the second and the unknown completion were logged");
	is_int(2, stat_of("completions_dropped"), "and counted as dropped");

	t0 = conn_now_ms();
	json_object_object_add(in, "ms", json_object_new_int(60000));
	rc = connhost_invoke_sync(inst, "sleep", in, NULL, NULL,
	                          conn_now_ms() + 100, &out, err, sizeof(err));
	is_int(0, rc, "a call past its deadline still completes");
	ok(out && strstr(json_object_to_json_string(out), "deadline") != NULL,
	   "with the deadline error in its outputs (%s)",
	   out ? json_object_to_json_string(out) : "none");
	ok(conn_now_ms() - t0 < 1500,
	   "at the deadline, not after the sleep "
	   "(%lld ms)",
	   (long long)(conn_now_ms() - t0));
	json_object_put(out);

	t0 = conn_now_ms();
	rc = connhost_invoke_sync(inst, "hang", in, NULL, NULL,
	                          conn_now_ms() + 50, &out, err, sizeof(err));
	is_int(CONN_ETIMEDOUT, rc, "no completion: the wrapper gives up");
	ok(conn_now_ms() - t0 >= 50 + CONNHOST_SYNC_MARGIN_MS - 5,
	   "after the deadline plus the margin (%lld ms)",
	   (long long)(conn_now_ms() - t0));
	ok(strstr(err, "no completion by the deadline") != NULL, "(%s)", err);
	ok(out == NULL, "no outputs");
	is_int(1, stat_of("calls_abandoned"), "counted as abandoned");

	rc = connhost_invoke(inst, "nope", in, NULL, NULL, 0, on_done, NULL,
	                     NULL, err, sizeof(err));
	is_int(CONN_ENOTSUP, rc, "unknown action refused");
	ok(strstr(err, "unknown action 'nope'") != NULL, "(%s)", err);
	{
		json_object *arr = json_object_new_array();
		rc = connhost_invoke(inst, "echo", arr, NULL, NULL, 0, on_done,
		                     NULL, NULL, err, sizeof(err));
		is_int(CONN_EINVAL, rc, "inputs not an object refused");
		json_object_put(arr);
	}
	pthread_mutex_lock(&lock);
	is_int(before + 1, async_done, "refused calls never complete");
	pthread_mutex_unlock(&lock);
	json_object_put(in);
}

static void cancel_and_shutdown(void)
{
	json_object *in = json_object_new_object();
	char err[256];
	uint64_t id = 0, id2 = 0;
	int rc, before;

	json_object_object_add(in, "ms", json_object_new_int(60000));
	pthread_mutex_lock(&lock);
	before = async_done;
	pthread_mutex_unlock(&lock);
	rc = connhost_invoke(inst, "sleep", in, NULL, NULL,
	                     conn_now_ms() + 60000, on_done,
	                     (void *)(intptr_t)-1, &id, err, sizeof(err));
	is_int(0, rc, "a long sleep accepted");
	is_int(0, connhost_cancel(inst, id), "cancelled");
	ok(wait_async(before + 1, 5000), "its completion followed");
	is_int(CONN_ENOENT, connhost_cancel(inst, id),
	       "cancelling a completed call: ENOENT");
	rc = connhost_invoke(inst, "sleep", in, NULL, NULL,
	                     conn_now_ms() + 60000, on_done,
	                     (void *)(intptr_t)-1, &id2, err, sizeof(err));
	is_int(0, rc, "another long sleep accepted");
	ht_log_clear(&logs);
	is_int(0, connhost_instance_shutdown(inst, conn_now_ms() + 5000),
	       "shutdown");
	inst = NULL;
	ok(wait_async(before + 2, 1), "the pending call completed at shutdown");
	is_int(1, ht_log_count(&logs, "already completed call dropped"),
	       "the late completion of the abandoned call was dropped");
	json_object_put(in);
}

int main(void)
{
	char path[4096], err[512];
	connhost_plugin *p;
	connhost_instance_opts o = {.struct_size = sizeof(o)};
	json_object *cfg = ht_config("calls"), *in;
	int rc;

	ht_log_init(&logs);
	if (!ht_copy_dir("test_calls"))
		skip_all("cannot create a copy directory");
	rc = connhost_plugin_load(ht_plugin("fake-v1", path, sizeof(path)),
	                          NULL, &p, err, sizeof(err));
	is_int(0, rc, "load fake-v1 (%s)", rc ? err : "");
	if (rc)
		return done_testing();
	o.log = ht_log_sink(&logs);
	rc = connhost_instance_new(p, cfg, &o, &inst, err, sizeof(err));
	is_int(0, rc, "instance (%s)", rc ? err : "");
	in = json_object_new_object();
	rc = connhost_invoke(inst, "echo", in, NULL, NULL, 0, on_done, NULL,
	                     NULL, err, sizeof(err));
	is_int(CONN_ESTATE, rc, "a call before start is refused");
	json_object_put(in);
	is_int(0, connhost_instance_start(inst, err, sizeof(err)), "start");
	many();
	misbehaving();
	cancel_and_shutdown();
	json_object_put(cfg);
	connhost_plugin_unref(p);
	ht_log_free(&logs);
	rmdir(getenv("CONNHOST_COPY_DIR"));
	return done_testing();
}
