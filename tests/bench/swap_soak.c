/*
 * swap_soak.c - hot swaps under load (issue 11): twilio.so and a second
 * build of it that differs in its version string (plugin/twilio-v2.la) are
 * swapped in turn, SWAPS times, through libconnhost's
 * connhost_instance_swap(), while
 *   - THREADS threads call send_sms against the sandbox (one recipient a
 *     call, a distinct idempotency key and body each), and
 *   - 2 threads replay distinct pre-signed SMS_RECEIVED webhooks on
 *     keep-alive connections, reconnecting when an answer says
 *     "Connection: close" (what the old version answers once quiesced);
 * and checks what the issue asks of a swap: every call completes once and
 * succeeds; every webhook gets a 200 with its echo; every matching webhook
 * is published exactly once; no connection is refused and none is reset
 * after a request byte was sent; open descriptors and executable mappings
 * of plugin copies do not grow. The sandbox's record (one line a message)
 * is compared by tests/bench/swap_soak.sh, which also starts the sandbox.
 *
 * Prints one JSON line: the counts, the checks, and the figures of
 * docs/benchmarks.md "Hot swap": the swap pause (connhost's
 * last_swap_pause_us after each swap) p50/p99/max; the same seen by the
 * clients: for each swap, the longest a webhook (connect included) or a
 * call that began while the swap ran took, p50/p99/max over the swaps,
 * against the webhooks' and calls' own p50/p99; the first send_sms call
 * on each new version; and the webhooks answered per 100 ms window
 * around the swaps against the steady rate.
 *
 * usage: swap_soak V1.so V2.so --config FILE --requests FILE --swaps N
 *                  [--threads N] [--gap-ms N]
 * Exit 0 when every check holds, 1 when one fails, 2 on bad usage.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "connhost.h"

#define WEBHOOK_CLIENTS 2
/* the offered load: each caller one send_sms every CALL_PERIOD_US (at most
 * 400 calls/s with 8 threads), each webhook client one request every
 * WEBHOOK_PERIOD_US (500/s): steady streams whose record files stay small
 * over 1,000 swaps, not a throughput test */
#define CALL_PERIOD_US    20000
#define WEBHOOK_PERIOD_US 4000
#define MAX_THREADS       64
#define WINDOW_MS         100
#define MAX_WINDOWS       36000 /* an hour of 100 ms windows */

static connhost_instance *inst;
static atomic_int stop;
static int port;

/* the pre-signed requests: SIGNATURE<TAB>BODY, "Order Number %d" bodies */
static char **sigs, **bodies;
static size_t nreq;
static atomic_size_t next_req;
static _Atomic unsigned char *published, *answered;
/* when each webhook began (before any connect) and how long it took, µs;
 * 0 when not answered */
static int64_t *wh_began, *wh_took;

static atomic_ulong calls_ok, calls_failed, calls_bad, wh_ok, wh_bad,
        wh_refused, wh_reset, wh_closes, events_bad;
static atomic_uint windows[MAX_WINDOWS];
static int64_t t_start, t_stop;

/* call latencies (µs), per thread, for p50/p99 */
struct lat {
	int64_t *v;
	size_t n, cap;
};

static int64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Sleep until T0 + K * PERIOD (µs); at once when already late. */
static void pace(int64_t t0, unsigned long k, int64_t period)
{
	int64_t left = t0 + (int64_t)k * period - now_us();
	if (left > 0) {
		struct timespec ts = {left / 1000000, (left % 1000000) * 1000};
		nanosleep(&ts, NULL);
	}
}

static void lat_add(struct lat *l, int64_t us)
{
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 1024;
		int64_t *v = realloc(l->v, cap * sizeof(*v));
		if (!v)
			return;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = us;
}

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static int64_t pct(int64_t *v, size_t n, double p)
{
	if (!n)
		return -1;
	qsort(v, n, sizeof(*v), cmp64);
	return v[(size_t)(p * (double)(n - 1) + 0.5)];
}

/* ---- send_sms callers */

static int call_once(int tid, unsigned long k, int64_t *us)
{
	char to[32], body[64], key[64], err[512];
	json_object *in = json_object_new_object(),
	            *arr = json_object_new_array();
	json_object *out = NULL, *res, *e;
	int64_t t0 = now_us();
	int rc, good = 0;

	snprintf(to, sizeof(to), "+1415555%04lu", k % 10000);
	snprintf(body, sizeof(body), "soak %d-%lu", tid, k);
	snprintf(key, sizeof(key), "soak-%d-%lu", tid, k);
	json_object_array_add(arr, json_object_new_string(to));
	json_object_object_add(in, "smsFrom",
	                       json_object_new_string("+15005550006"));
	json_object_object_add(in, "smsTo", arr);
	json_object_object_add(in, "smsBody", json_object_new_string(body));
	rc = connhost_invoke_sync(inst, "send_sms", in, NULL, key,
	                          conn_deadline_add(conn_now_ms(), 30000), &out,
	                          err, sizeof(err));
	*us = now_us() - t0;
	json_object_put(in);
	if (rc) {
		fprintf(stderr, "swap_soak: send_sms %s: %s (%s)\n", key,
		        conn_strerror(rc), err);
		atomic_fetch_add(&calls_failed, 1);
		return -1;
	}
	if (json_object_object_get_ex(out, "twilioError", &e) &&
	    json_object_is_type(e, json_type_null) &&
	    json_object_object_get_ex(out, "twilioResult", &res) &&
	    json_object_is_type(res, json_type_array) &&
	    json_object_array_length(res) == 1)
		good = 1;
	if (!good)
		fprintf(stderr, "swap_soak: send_sms %s: %s\n", key,
		        json_object_to_json_string(out));
	json_object_put(out);
	atomic_fetch_add(good ? &calls_ok : &calls_bad, 1);
	return good ? 0 : -1;
}

struct caller {
	pthread_t th;
	int id;
	struct lat lat;
	struct lat began; /* when each call of LAT began */
};

static void *caller(void *arg)
{
	struct caller *c = arg;
	unsigned long k = 0;
	int64_t t0 = now_us();

	while (!atomic_load(&stop)) {
		int64_t us, t = now_us();
		if (call_once(c->id, k++, &us) == 0) {
			lat_add(&c->lat, us);
			lat_add(&c->began, t);
		}
		pace(t0, k, CALL_PERIOD_US);
	}
	return NULL;
}

/* ---- the webhook clients */

static int dial(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (errno == ECONNREFUSED)
			atomic_fetch_add(&wh_refused, 1);
		close(fd);
		return -1;
	}
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* One request on FD: 1 answered (and *CLOSE set when the answer says
 * Connection: close), -1 when the connection failed after the request's
 * first byte (a reset: what a swap must never do). */
static int exchange(int fd, size_t i, int *close_after)
{
	char head[1024], buf[8192], want[96];
	size_t blen = strlen(bodies[i]), got = 0, need;
	int hl, status = 0;
	char *end, *cl;

	hl = snprintf(head, sizeof(head),
	              "POST /twilio/sms HTTP/1.1\r\nHost: 127.0.0.1\r\n"
	              "Content-Type: application/x-www-form-urlencoded\r\n"
	              "X-Twilio-Signature: %s\r\nContent-Length: %zu\r\n\r\n",
	              sigs[i], blen);
	if (send_all(fd, head, (size_t)hl) || send_all(fd, bodies[i], blen))
		return -1;
	for (;;) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
		buf[got] = '\0';
		if ((end = strstr(buf, "\r\n\r\n")) != NULL)
			break;
		if (got == sizeof(buf) - 1)
			return -1;
	}
	sscanf(buf, "HTTP/1.%*d %d", &status);
	cl = strcasestr(buf, "\r\nContent-Length:");
	need = (size_t)(end + 4 - buf) + (cl ? strtoul(cl + 17, NULL, 10) : 0);
	while (got < need && got < sizeof(buf) - 1) {
		ssize_t r = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	buf[got] = '\0';
	*close_after = strcasestr(buf, "\r\nConnection: close") != NULL;
	snprintf(want, sizeof(want), "Your reference number is %zu</Message>",
	         i + 1);
	if (status == 200 && strstr(buf, want)) {
		atomic_fetch_add(&answered[i], 1);
		atomic_fetch_add(&wh_ok, 1);
		int64_t w = (now_us() - t_start) / 1000 / WINDOW_MS;
		if (w >= 0 && w < MAX_WINDOWS)
			atomic_fetch_add(&windows[w], 1);
	} else {
		fprintf(stderr, "swap_soak: webhook %zu: status %d: %.200s\n",
		        i + 1, status, buf);
		atomic_fetch_add(&wh_bad, 1);
	}
	return 1;
}

static void *webhook_client(void *arg)
{
	int fd = -1;
	unsigned long k = 0;
	int64_t t0 = now_us();

	(void)arg;
	while (!atomic_load(&stop)) {
		size_t i;
		int close_after = 0;
		int64_t t;
		pace(t0, k++, WEBHOOK_PERIOD_US);
		if ((i = atomic_fetch_add(&next_req, 1)) >= nreq)
			break;
		t = now_us();
		if (fd < 0 && (fd = dial()) < 0) {
			fprintf(stderr, "swap_soak: connect: %s\n",
			        strerror(errno));
			atomic_fetch_add(&wh_bad, 1);
			continue;
		}
		if (exchange(fd, i, &close_after) < 0) {
			fprintf(stderr,
			        "swap_soak: webhook %zu: connection "
			        "lost after the request was sent\n",
			        i + 1);
			atomic_fetch_add(&wh_reset, 1);
			close(fd);
			fd = -1;
			continue;
		}
		wh_began[i] = t;
		wh_took[i] = now_us() - t;
		if (close_after) {
			atomic_fetch_add(&wh_closes, 1);
			close(fd);
			fd = -1;
		}
	}
	if (fd >= 0)
		close(fd);
	return NULL;
}

/* ---- the subscription */

static int on_event(void *arg, uint64_t sub_id, json_object *event, char *err,
                    size_t errlen)
{
	json_object *m;
	unsigned long k = 0;

	(void)arg, (void)sub_id, (void)err, (void)errlen;
	if (json_object_object_get_ex(event, "originalMessage", &m) &&
	    sscanf(json_object_get_string(m), "Order Number %lu", &k) == 1 &&
	    k >= 1 && k <= nreq)
		atomic_fetch_add(&published[k - 1], 1);
	else
		atomic_fetch_add(&events_bad, 1);
	json_object_put(event);
	return 0;
}

/* ---- descriptors and mappings */

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1; /* opendir's own */
}

/* executable mappings of plugin copies (the loader's private copies are
 * connhost-XXXXXX.so, unlinked once loaded) */
static int count_exec_maps(void)
{
	FILE *f = fopen("/proc/self/maps", "re");
	char line[4096];
	int n = 0;

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " r-xp ") && strstr(line, "/connhost-"))
			n++;
	fclose(f);
	return n;
}

/* the process's resident set, KiB (VmRSS), or -1 */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[256];
	long kib = -1;

	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld", &kib) == 1)
			break;
	if (f)
		fclose(f);
	return kib;
}

static int load_requests(const char *path)
{
	FILE *f = fopen(path, "re");
	char *line = NULL;
	size_t cap = 0, n = 0, room = 0;
	ssize_t len;

	if (!f)
		return -1;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *tab = strchr(line, '\t');
		if (!tab)
			continue;
		if (line[len - 1] == '\n')
			line[len - 1] = '\0';
		if (n == room) {
			room = room ? room * 2 : 4096;
			sigs = realloc(sigs, room * sizeof(*sigs));
			bodies = realloc(bodies, room * sizeof(*bodies));
			if (!sigs || !bodies)
				return -1;
		}
		*tab = '\0';
		sigs[n] = strdup(line);
		bodies[n] = strdup(tab + 1);
		n++;
	}
	free(line);
	fclose(f);
	nreq = n;
	published = calloc(n, 1);
	answered = calloc(n, 1);
	wh_began = calloc(n, sizeof(*wh_began));
	wh_took = calloc(n, sizeof(*wh_took));
	return n && published && answered && wh_began && wh_took ? 0 : -1;
}

static int64_t stat_int(json_object *st, const char *a, const char *b)
{
	json_object *x, *y;
	if (!json_object_object_get_ex(st, a, &x))
		return -1;
	if (b && !json_object_object_get_ex(x, b, &y))
		return -1;
	return json_object_get_int64(b ? y : x);
}

int main(int argc, char **argv)
{
	const char *cfgpath = NULL, *reqpath = NULL;
	long swaps = 10, nthreads = 8, gap_ms = 200;
	connhost_plugin *pl[2] = {NULL, NULL};
	json_object *cfg = NULL, *params, *st;
	struct caller callers[MAX_THREADS];
	pthread_t wh[WEBHOOK_CLIENTS];
	struct lat first = {0}, pause = {0}, all = {0}, waited = {0}, whs = {0};
	int64_t *swap_at, *swap_end;
	char err[1024];
	uint64_t sub;
	int fds0 = -1, maps0 = -1, fds1, maps1, failed = 0;
	long rss0 = -1, rss1, rss_tenth[10] = {0};
	int64_t store0 = -1, store1 = -1;
	long i;

	for (i = 3; i < argc; i++) {
		if (!strcmp(argv[i], "--config") && i + 1 < argc)
			cfgpath = argv[++i];
		else if (!strcmp(argv[i], "--requests") && i + 1 < argc)
			reqpath = argv[++i];
		else if (!strcmp(argv[i], "--swaps") && i + 1 < argc)
			swaps = atol(argv[++i]);
		else if (!strcmp(argv[i], "--threads") && i + 1 < argc)
			nthreads = atol(argv[++i]);
		else if (!strcmp(argv[i], "--gap-ms") && i + 1 < argc)
			gap_ms = atol(argv[++i]);
		else
			break;
	}
	if (argc < 3 || i < argc || !cfgpath || !reqpath || swaps < 1 ||
	    nthreads < 1 || nthreads > MAX_THREADS || gap_ms < 0) {
		fprintf(stderr, "usage: swap_soak V1.so V2.so --config FILE "
		                "--requests FILE --swaps N [--threads 1..64] "
		                "[--gap-ms N]\n");
		return 2;
	}
	if (load_requests(reqpath) != 0) {
		fprintf(stderr, "swap_soak: %s: no SIGNATURE<TAB>BODY lines\n",
		        reqpath);
		return 2;
	}
	swap_at = calloc((size_t)swaps, sizeof(*swap_at));
	swap_end = calloc((size_t)swaps, sizeof(*swap_end));
	if (!swap_at || !swap_end ||
	    connhost_config_load(cfgpath, &cfg, err, sizeof(err)) ||
	    connhost_plugin_load(argv[1], NULL, &pl[0], err, sizeof(err)) ||
	    connhost_plugin_load(argv[2], NULL, &pl[1], err, sizeof(err)) ||
	    connhost_instance_new(pl[0], cfg, NULL, &inst, err, sizeof(err)) ||
	    connhost_instance_start(inst, err, sizeof(err))) {
		fprintf(stderr, "swap_soak: %s\n", err);
		return 2;
	}
	params = json_tokener_parse(
	        "{\"pattern\":\"Order Number (?<orderNumber>.+)\","
	        "\"echo\":\"Your reference number is ${orderNumber}\","
	        "\"echoError\":\"Sorry\"}");
	if (connhost_subscribe(inst, "SMS_RECEIVED", params, on_event, NULL,
	                       &sub, err, sizeof(err))) {
		fprintf(stderr, "swap_soak: subscribe: %s\n", err);
		return 2;
	}
	json_object_put(params);
	st = connhost_instance_stats(inst);
	port = (int)stat_int(json_object_object_get(st, "plugin"), "webhook",
	                     "port");
	json_object_put(st);
	if (port <= 0) {
		fprintf(stderr, "swap_soak: no webhook port in the stats\n");
		return 2;
	}
	t_start = now_us();
	for (i = 0; i < nthreads; i++) {
		callers[i] = (struct caller){.id = (int)i};
		pthread_create(&callers[i].th, NULL, caller, &callers[i]);
	}
	for (i = 0; i < WEBHOOK_CLIENTS; i++)
		pthread_create(&wh[i], NULL, webhook_client, NULL);
	for (i = 0; i < swaps; i++) {
		int64_t us;
		struct timespec gap = {gap_ms / 1000,
		                       (gap_ms % 1000) * 1000000};
		nanosleep(&gap, NULL);
		/* a fresh load each time, as connector-host serve does: the
		 * old version's copy must be unloaded after its shutdown */
		{
			connhost_plugin *p2 = NULL;
			int rc = connhost_plugin_load(argv[1 + (i + 1) % 2],
			                              NULL, &p2, err,
			                              sizeof(err));
			swap_at[i] = now_us();
			if (rc == 0)
				rc = connhost_instance_swap(
				        inst, p2, NULL, NULL, err, sizeof(err));
			swap_end[i] = now_us();
			connhost_plugin_unref(p2);
			if (rc != 0) {
				fprintf(stderr,
				        "swap_soak: swap %ld failed: %s\n",
				        i + 1, err);
				failed = 1;
				break;
			}
		}
		st = connhost_instance_stats(inst);
		lat_add(&pause, stat_int(st, "last_swap_pause_us", NULL));
		json_object_put(st);
		/* the first call on the new version (the callers keep going) */
		if (call_once(999, (unsigned long)i, &us) == 0)
			lat_add(&first, us);
		/* baselines once both versions' copies are loaded and warm */
		if (i == 1) {
			fds0 = count_fds();
			maps0 = count_exec_maps();
			rss0 = rss_kib();
			st = connhost_instance_stats(inst);
			store0 = stat_int(st, "store", "bytes");
			json_object_put(st);
		}
		/* RSS after each tenth of the swaps: growth, or a plateau */
		if ((i + 1) * 10 % swaps == 0 && (i + 1) * 10 / swaps <= 10)
			rss_tenth[(i + 1) * 10 / swaps - 1] = rss_kib();
		if (next_req >= nreq)
			fprintf(stderr,
			        "swap_soak: the requests ran out at swap "
			        "%ld: raise --requests' count\n",
			        i + 1);
	}
	fds1 = count_fds();
	maps1 = count_exec_maps();
	rss1 = rss_kib();
	/* the store keeps each call's result and each webhook's dedupe
	 * record for its TTL: RSS grows with the traffic by design */
	st = connhost_instance_stats(inst);
	store1 = stat_int(st, "store", "bytes");
	json_object_put(st);
	t_stop = now_us();
	atomic_store(&stop, 1);
	for (i = 0; i < nthreads; i++)
		pthread_join(callers[i].th, NULL);
	for (i = 0; i < WEBHOOK_CLIENTS; i++)
		pthread_join(wh[i], NULL);
	connhost_unsubscribe(inst, sub);

	/* every answered webhook published once; none twice */
	{
		unsigned long sent = (unsigned long)(next_req < nreq ? next_req
		                                                     : nreq),
		              pub_once = 0, pub_twice = 0, pub_none = 0,
		              ans_twice = 0;
		int64_t steady, dip_min = -1;
		/* whole windows only: the clients stop inside the last one,
		 * which would read as a dip */
		size_t nw = (size_t)((t_stop - t_start) / 1000 / WINDOW_MS);
		unsigned long total_calls;

		for (size_t k = 0; k < sent && k < nreq; k++) {
			pub_once += published[k] == 1;
			pub_twice += published[k] > 1;
			pub_none += answered[k] == 1 && published[k] == 0;
			ans_twice += answered[k] > 1;
		}
		/* the client's view of each swap: the longest a webhook or
		 * a call that began while connhost_instance_swap() ran took
		 * (a connection's or call's wait to be accepted is in it) */
		for (i = 0; i < swaps && swap_end[i]; i++) {
			int64_t m = -1;
			for (size_t k = 0; k < nreq; k++)
				if (wh_took[k] && wh_began[k] >= swap_at[i] &&
				    wh_began[k] <= swap_end[i] &&
				    wh_took[k] > m)
					m = wh_took[k];
			for (long t = 0; t < nthreads; t++)
				for (size_t k = 0; k < callers[t].began.n; k++)
					if (callers[t].began.v[k] >=
					            swap_at[i] &&
					    callers[t].began.v[k] <=
					            swap_end[i] &&
					    callers[t].lat.v[k] > m)
						m = callers[t].lat.v[k];
			if (m >= 0)
				lat_add(&waited, m);
		}
		for (size_t k = 0; k < nreq; k++)
			if (wh_took[k])
				lat_add(&whs, wh_took[k]);
		for (i = 0; i < nthreads; i++)
			for (size_t k = 0; k < callers[i].lat.n; k++)
				lat_add(&all, callers[i].lat.v[k]);
		/* webhook rate: the median 100 ms window, and the lowest
		 * window that holds a swap's start */
		{
			int64_t *w = calloc(nw ? nw : 1, sizeof(*w));
			for (size_t k = 0; w && k < nw && k < MAX_WINDOWS; k++)
				w[k] = windows[k];
			steady = w ? pct(w, nw < MAX_WINDOWS ? nw : MAX_WINDOWS,
			                 0.5)
			           : -1;
			free(w);
			for (i = 0; i < swaps && swap_at[i]; i++) {
				int64_t k = (swap_at[i] - t_start) / 1000 /
				            WINDOW_MS;
				if (k >= 0 && k < MAX_WINDOWS &&
				    (size_t)k < nw &&
				    (dip_min < 0 || windows[k] < dip_min))
					dip_min = windows[k];
			}
		}
		total_calls =
		        (unsigned long)calls_ok + calls_failed + calls_bad;
		if (calls_failed || calls_bad || wh_bad || wh_refused ||
		    wh_reset || pub_twice || pub_none || ans_twice ||
		    events_bad || fds1 > fds0 + 4 * nthreads + 8 ||
		    maps1 != maps0)
			failed = 1;
		printf("{\"swaps\":%ld,\"threads\":%ld,\"calls\":%lu,"
		       "\"calls_ok\":%lu,\"calls_failed\":%lu,\"calls_bad\":%"
		       "lu,"
		       "\"webhooks\":%lu,\"webhooks_ok\":%lu,\"webhooks_bad\":%"
		       "lu,"
		       "\"refused_connections\":%lu,\"resets\":%lu,"
		       "\"connection_close_answers\":%lu,"
		       "\"published_once\":%lu,\"published_twice\":%lu,"
		       "\"answered_not_published\":%lu,\"answered_twice\":%lu,"
		       "\"events_unexpected\":%lu,"
		       "\"fds_after_2_swaps\":%d,\"fds_end\":%d,"
		       "\"exec_maps_after_2_swaps\":%d,\"exec_maps_end\":%d,"
		       "\"rss_kib_after_2_swaps\":%ld,\"rss_kib_end\":%ld,"
		       "\"store_bytes_after_2_swaps\":%lld,"
		       "\"store_bytes_end\":%lld,"
		       "\"rss_kib_by_tenth\":[%ld,%ld,%ld,%ld,%ld,%ld,%ld,%ld,%"
		       "ld,"
		       "%ld],"
		       "\"swap_pause_us\":{\"p50\":%lld,\"p99\":%lld,"
		       "\"max\":%lld},"
		       "\"first_call_on_new_version_us\":{\"p50\":%lld,"
		       "\"p99\":%lld},"
		       "\"client_longest_during_swap_us\":{\"swaps\":%zu,"
		       "\"p50\":%lld,\"p99\":%lld,\"max\":%lld},"
		       "\"webhooks_us\":{\"p50\":%lld,\"p99\":%lld},"
		       "\"calls_us\":{\"p50\":%lld,\"p99\":%lld},"
		       "\"webhooks_per_100ms\":{\"median\":%lld,"
		       "\"lowest_window_with_a_swap\":%lld},"
		       "\"ok\":%s}\n",
		       swaps, nthreads, total_calls, (unsigned long)calls_ok,
		       (unsigned long)calls_failed, (unsigned long)calls_bad,
		       sent, (unsigned long)wh_ok, (unsigned long)wh_bad,
		       (unsigned long)wh_refused, (unsigned long)wh_reset,
		       (unsigned long)wh_closes, pub_once, pub_twice, pub_none,
		       ans_twice, (unsigned long)events_bad, fds0, fds1, maps0,
		       maps1, rss0, rss1, (long long)store0, (long long)store1,
		       rss_tenth[0], rss_tenth[1], rss_tenth[2], rss_tenth[3],
		       rss_tenth[4], rss_tenth[5], rss_tenth[6], rss_tenth[7],
		       rss_tenth[8], rss_tenth[9],
		       (long long)pct(pause.v, pause.n, 0.5),
		       (long long)pct(pause.v, pause.n, 0.99),
		       (long long)pct(pause.v, pause.n, 1.0),
		       (long long)pct(first.v, first.n, 0.5),
		       (long long)pct(first.v, first.n, 0.99), waited.n,
		       (long long)pct(waited.v, waited.n, 0.5),
		       (long long)pct(waited.v, waited.n, 0.99),
		       (long long)pct(waited.v, waited.n, 1.0),
		       (long long)pct(whs.v, whs.n, 0.5),
		       (long long)pct(whs.v, whs.n, 0.99),
		       (long long)pct(all.v, all.n, 0.5),
		       (long long)pct(all.v, all.n, 0.99), (long long)steady,
		       (long long)dip_min, failed ? "false" : "true");
	}
	if (connhost_instance_shutdown(
	            inst, conn_deadline_add(conn_now_ms(), 30000)) != 0)
		failed = 1;
	connhost_plugin_unref(pl[0]);
	connhost_plugin_unref(pl[1]);
	json_object_put(cfg);
	for (size_t k = 0; k < nreq; k++)
		free(sigs[k]), free(bodies[k]);
	free(sigs), free(bodies), free(published), free(answered);
	free(wh_began), free(wh_took);
	for (i = 0; i < nthreads; i++)
		free(callers[i].lat.v), free(callers[i].began.v);
	free(first.v), free(pause.v), free(all.v), free(swap_at);
	free(swap_end), free(waited.v), free(whs.v);
	return failed;
}
