/*
 * connhost_bench.c - a benchmark driver for send_sms on libconnhost.
 *
 * connector-host --batch reads every input line before the first call and
 * keeps them to the end, and a line holds at most 1 MiB; so it cannot show
 * the memory of 100,000 queued recipients, nor a flat RSS over a million
 * messages. This driver can: it loads the plugin, starts one instance and
 * generates its calls on the fly (inputs are freed as soon as
 * connhost_invoke() returns, outputs as soon as they arrive), sampling its
 * own RSS while it runs.
 *
 *   connhost-bench PLUGIN --config FILE --mode waiting|soak
 *                  [--messages N] [--per-call R] [--calls-in-flight C]
 *                  [--sample-ms MS] [--hold-ms MS] [--deadline-ms MS]
 *
 * waiting: one call with N recipients (smsTo as a JSON array; the plugin
 *   refuses a string over 1 MiB)
 *   against a sandbox that holds its answers; once RSS holds still (or
 *   --hold-ms passed) prints {"mode":"waiting","recipients":N,
 *   "rss_kib_idle":..,"rss_kib_waiting":..,"rss_kib_idle_trimmed":..,
 *   "rss_kib_waiting_trimmed":..} and exits at once (_exit: the plugin's
 *   threads are still waiting on the network; nothing is left to check).
 *   "idle" is the started instance before the call; "trimmed" figures are
 *   taken after malloc_trim(0), i.e. without free heap the allocator kept.
 * soak: N messages in calls of R recipients, C calls in flight; prints
 *   {"mode":"soak","messages":N,"ok":..,"failed":..,"seconds":..,
 *    "msg_per_s":..,"cpu_s":..,"samples":[[seconds,rss_kib],...]}
 *   (seconds and CPU from the first invoke to the last completion).
 * Exit: 0 when every recipient got a sid (waiting: when the call was
 * accepted), 1 otherwise, 2 on usage errors.
 *
 * Not a test and not installed: `make bench` runs it (run_bench.py).
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "connhost.h"

#define CB_MAX_SAMPLES 100000

struct cb_opts {
	const char *plugin, *config, *mode;
	long messages, per_call, in_flight, sample_ms, hold_ms, deadline_ms;
};

struct cb_state {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	long in_flight;
	long ok, failed, calls_done;
	double last_done;
	long nsamples;
	double *sample_t;
	long *sample_kib;
	double t0;
};

static double cb_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long cb_rss_kib(void)
{
	long pages = 0, rss = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (!f)
		return 0;
	if (fscanf(f, "%ld %ld", &pages, &rss) != 2)
		rss = 0;
	fclose(f);
	return rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static double cb_cpu(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

static long cb_long(const char *name, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		fprintf(stderr,
		        "connhost-bench: %s '%s': not an integer in %ld..%ld\n",
		        name, v, min, max);
		exit(2);
	}
	return n;
}

static int cb_parse(int argc, char **argv, struct cb_opts *o)
{
	int i;

	o->messages = 100000;
	o->per_call = 1000;
	o->in_flight = 4;
	o->sample_ms = 500;
	o->hold_ms = 20000;
	o->deadline_ms = 3600000;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (a[0] != '-') {
			if (o->plugin)
				return -1;
			o->plugin = a;
			continue;
		}
		if (!v)
			return -1;
		i++;
		if (!strcmp(a, "--config"))
			o->config = v;
		else if (!strcmp(a, "--mode"))
			o->mode = v;
		else if (!strcmp(a, "--messages"))
			o->messages = cb_long(a, v, 1, 1000000000L);
		else if (!strcmp(a, "--per-call"))
			o->per_call = cb_long(a, v, 1, 100000);
		else if (!strcmp(a, "--calls-in-flight"))
			o->in_flight = cb_long(a, v, 1, 100000);
		else if (!strcmp(a, "--sample-ms"))
			o->sample_ms = cb_long(a, v, 10, 60000);
		else if (!strcmp(a, "--hold-ms"))
			o->hold_ms = cb_long(a, v, 0, 3600000);
		else if (!strcmp(a, "--deadline-ms"))
			o->deadline_ms = cb_long(a, v, 1000, 86400000L);
		else
			return -1;
	}
	if (!o->plugin || !o->config || !o->mode ||
	    (strcmp(o->mode, "waiting") && strcmp(o->mode, "soak")))
		return -1;
	return 0;
}

/* Recipient I as an E.164 number (distinct for ten million messages). */
static void cb_number(char *buf, size_t len, long i)
{
	snprintf(buf, len, "+1415%07ld", i % 10000000L);
}

/* Inputs of one call: recipients FIRST..FIRST+N-1; a JSON array, or one
 * comma-separated string when AS_STRING. NULL when out of memory. */
static json_object *cb_inputs(long first, long n, int as_string)
{
	json_object *in = json_object_new_object(), *to;
	char num[32];
	long i;

	if (!in)
		return NULL;
	json_object_object_add(in, "smsFrom",
	                       json_object_new_string("+15005550006"));
	json_object_object_add(
	        in, "smsBody",
	        json_object_new_string("Your order ${order} has shipped."));
	if (as_string) {
		char *s = malloc((size_t)n * 14 + 1), *p = s;

		if (!s) {
			json_object_put(in);
			return NULL;
		}
		for (i = 0; i < n; i++) {
			cb_number(num, sizeof(num), first + i);
			p += sprintf(p, "%s%s", i ? "," : "", num);
		}
		to = json_object_new_string_len(s, (int)(p - s));
		free(s);
	} else {
		to = json_object_new_array_ext((int)n);
		for (i = 0; to && i < n; i++) {
			cb_number(num, sizeof(num), first + i);
			json_object_array_add(to, json_object_new_string(num));
		}
	}
	json_object_object_add(in, "smsTo", to);
	return in;
}

/* Completion: count recipients with a sid and the failed ones. */
static void cb_done(void *arg, uint64_t call_id, json_object *outputs)
{
	struct cb_state *st = arg;
	json_object *res = NULL, *errs = NULL;
	long ok = 0, bad = 0;
	size_t i, n;

	(void)call_id;
	if (json_object_object_get_ex(outputs, "twilioResult", &res) &&
	    json_object_is_type(res, json_type_array)) {
		n = json_object_array_length(res);
		for (i = 0; i < n; i++) {
			json_object *sid;

			if (json_object_object_get_ex(
			            json_object_array_get_idx(res, i), "sid",
			            &sid) &&
			    json_object_is_type(sid, json_type_string))
				ok++;
		}
	}
	if (json_object_object_get_ex(outputs, "twilioError", &errs) &&
	    json_object_is_type(errs, json_type_array))
		bad = (long)json_object_array_length(errs);
	if (!ok && !bad)
		bad = 1;
	if (bad && !st->failed)
		fprintf(stderr, "connhost-bench: first failure: %s\n",
		        json_object_to_json_string(outputs));
	json_object_put(outputs);
	pthread_mutex_lock(&st->lock);
	st->ok += ok;
	st->failed += bad;
	st->calls_done++;
	st->in_flight--;
	st->last_done = cb_now();
	pthread_cond_broadcast(&st->cond);
	pthread_mutex_unlock(&st->lock);
}

struct cb_sampler_arg {
	struct cb_state *st;
	long period_ms;
	pthread_mutex_t lock; /* guards stop; the samples are read after join */
	pthread_cond_t cond;
	int stop;
};

/* Sample RSS every PERIOD_MS until STOP. */
static void *cb_sample_loop(void *arg)
{
	struct cb_sampler_arg *sa = arg;
	struct cb_state *st = sa->st;
	struct timespec ts;

	pthread_mutex_lock(&sa->lock);
	while (!sa->stop) {
		if (st->nsamples < CB_MAX_SAMPLES) {
			st->sample_t[st->nsamples] = cb_now() - st->t0;
			st->sample_kib[st->nsamples] = cb_rss_kib();
			st->nsamples++;
		}
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += (sa->period_ms % 1000) * 1000000L;
		ts.tv_sec += sa->period_ms / 1000 + ts.tv_nsec / 1000000000L;
		ts.tv_nsec %= 1000000000L;
		while (!sa->stop && pthread_cond_timedwait(&sa->cond, &sa->lock,
		                                           &ts) != ETIMEDOUT)
			;
	}
	pthread_mutex_unlock(&sa->lock);
	return NULL;
}

static int cb_invoke(connhost_instance *inst, struct cb_state *st,
                     const struct cb_opts *o, long first, long n, int as_string)
{
	json_object *in = cb_inputs(first, n, as_string), *vars;
	char err[512];
	int rc;

	vars = json_object_new_object();
	if (!in || !vars) {
		json_object_put(in);
		json_object_put(vars);
		return -1;
	}
	json_object_object_add(vars, "order", json_object_new_int(42));
	pthread_mutex_lock(&st->lock);
	st->in_flight++;
	pthread_mutex_unlock(&st->lock);
	rc = connhost_invoke(inst, "send_sms", in, vars, NULL,
	                     conn_now_ms() + o->deadline_ms, cb_done, st, NULL,
	                     err, sizeof(err));
	json_object_put(in);
	json_object_put(vars);
	if (rc) {
		fprintf(stderr, "connhost-bench: invoke: %s (%s)\n", err,
		        conn_strerror(rc));
		pthread_mutex_lock(&st->lock);
		st->in_flight--;
		pthread_mutex_unlock(&st->lock);
		return -1;
	}
	return 0;
}

/* Wait until RSS holds still (8 samples within 16 KiB) or HOLD_MS. */
static long cb_settle(long hold_ms)
{
	double end = cb_now() + (double)hold_ms / 1000.0;
	long last = cb_rss_kib(), now, still = 0;

	while (cb_now() < end && still < 8) {
		usleep(250000);
		now = cb_rss_kib();
		still = labs(now - last) <= 16 ? still + 1 : 0;
		last = now;
	}
	return last;
}

static int cb_waiting(connhost_instance *inst, struct cb_state *st,
                      const struct cb_opts *o)
{
	long idle, idle_trim, waiting, waiting_trim;

	usleep(200000);
	idle = cb_rss_kib();
	malloc_trim(0);
	idle_trim = cb_rss_kib();
	if (cb_invoke(inst, st, o, 0, o->messages, 0))
		return 1;
	waiting = cb_settle(o->hold_ms);
	malloc_trim(0);
	waiting_trim = cb_rss_kib();
	pthread_mutex_lock(&st->lock);
	printf("{\"mode\":\"waiting\",\"recipients\":%ld,\"rss_kib_idle\":%ld,"
	       "\"rss_kib_waiting\":%ld,\"rss_kib_idle_trimmed\":%ld,"
	       "\"rss_kib_waiting_trimmed\":%ld,\"completed_early\":%ld}\n",
	       o->messages, idle, waiting, idle_trim, waiting_trim,
	       st->calls_done);
	pthread_mutex_unlock(&st->lock);
	fflush(stdout);
	/* The plugin is still waiting on the slow sandbox: no orderly
	 * shutdown is worth waiting for in a benchmark. */
	_exit(0);
}

static int cb_soak(connhost_instance *inst, struct cb_state *st,
                   const struct cb_opts *o)
{
	struct cb_sampler_arg sa = {.st = st,
	                            .period_ms = o->sample_ms,
	                            .lock = PTHREAD_MUTEX_INITIALIZER,
	                            .cond = PTHREAD_COND_INITIALIZER};
	pthread_t sampler;
	long first = 0, i;
	double cpu0, secs, cpu;
	int rc = 0;

	st->sample_t = calloc(CB_MAX_SAMPLES, sizeof(*st->sample_t));
	st->sample_kib = calloc(CB_MAX_SAMPLES, sizeof(*st->sample_kib));
	if (!st->sample_t || !st->sample_kib)
		return 1;
	st->t0 = cb_now();
	cpu0 = cb_cpu();
	if (pthread_create(&sampler, NULL, cb_sample_loop, &sa))
		return 1;
	while (first < o->messages && !rc) {
		long n = o->messages - first < o->per_call ? o->messages - first
		                                           : o->per_call;

		pthread_mutex_lock(&st->lock);
		while (st->in_flight >= o->in_flight)
			pthread_cond_wait(&st->cond, &st->lock);
		pthread_mutex_unlock(&st->lock);
		rc = cb_invoke(inst, st, o, first, n, 0);
		first += n;
	}
	pthread_mutex_lock(&st->lock);
	while (st->in_flight > 0)
		pthread_cond_wait(&st->cond, &st->lock);
	secs = st->last_done - st->t0;
	pthread_mutex_unlock(&st->lock);
	pthread_mutex_lock(&sa.lock);
	sa.stop = 1;
	pthread_cond_signal(&sa.cond);
	pthread_mutex_unlock(&sa.lock);
	pthread_join(sampler, NULL);
	cpu = cb_cpu() - cpu0;
	if (secs <= 0)
		secs = cb_now() - st->t0;
	printf("{\"mode\":\"soak\",\"messages\":%ld,\"per_call\":%ld,"
	       "\"calls_in_flight\":%ld,\"ok\":%ld,\"failed\":%ld,"
	       "\"seconds\":%.3f,\"msg_per_s\":%.1f,\"cpu_s\":%.3f,"
	       "\"samples\":[",
	       o->messages, o->per_call, o->in_flight, st->ok, st->failed, secs,
	       (double)st->ok / secs, cpu);
	for (i = 0; i < st->nsamples; i++)
		printf("%s[%.2f,%ld]", i ? "," : "", st->sample_t[i],
		       st->sample_kib[i]);
	printf("]}\n");
	free(st->sample_t);
	free(st->sample_kib);
	return rc || st->failed || st->ok != o->messages;
}

int main(int argc, char **argv)
{
	struct cb_opts o = {0};
	struct cb_state st = {.lock = PTHREAD_MUTEX_INITIALIZER,
	                      .cond = PTHREAD_COND_INITIALIZER};
	connhost_plugin *p = NULL;
	connhost_instance *inst = NULL;
	json_object *config = NULL;
	char err[1024];
	int rc;

	if (cb_parse(argc, argv, &o)) {
		fprintf(stderr,
		        "usage: connhost-bench PLUGIN --config FILE --mode "
		        "waiting|soak [--messages N] [--per-call R]\n"
		        "       [--calls-in-flight C] [--sample-ms MS] "
		        "[--hold-ms MS] [--deadline-ms MS]\n");
		return 2;
	}
	if (connhost_plugin_load(o.plugin, NULL, &p, err, sizeof(err)) ||
	    connhost_config_load(o.config, &config, err, sizeof(err)) ||
	    connhost_instance_new(p, config, NULL, &inst, err, sizeof(err)) ||
	    connhost_instance_start(inst, err, sizeof(err))) {
		fprintf(stderr, "connhost-bench: %s\n", err);
		return 1;
	}
	json_object_put(config);
	if (!strcmp(o.mode, "waiting"))
		rc = cb_waiting(inst, &st, &o);
	else
		rc = cb_soak(inst, &st, &o);
	if (connhost_instance_shutdown(inst, conn_now_ms() + 10000))
		connhost_instance_abandon(inst);
	connhost_plugin_unref(p);
	return rc;
}
