/*
 * test_unload.c - twilio.so is truly unloadable and swappable (DESIGN §7):
 * loaded through libconnhost's loader (private copies, so the same .so
 * loads again as a new image), an instance with the webhook on port 0,
 * started, a signed webhook answered, then swapped again and again: the
 * next copy is loaded and initialised, the serving instance quiesced into
 * a hand-off, the new one started on that hand-off (same port), a signed
 * webhook answered by it, the old one shut down and unloaded.
 *
 * What is checked (no timing; threads and descriptors that libmicrohttpd
 * releases after a close are waited for by condition with a generous
 * deadline):
 *   - every descriptor the plugin opened is close-on-exec, and every
 *     thread it started blocks the asynchronous signals (SIGTERM, SIGHUP,
 *     SIGINT, SIGPIPE, SIGCHLD, SIGUSR1);
 *   - after each swap exactly one executable mapping of a twilio copy (the
 *     serving one): the old copy is unmapped by the unload;
 *   - an idle keep-alive client of the old instance stays open through
 *     the quiesce and is closed (FIN) by the old instance's shutdown,
 *     after the drain (the first two cycles of each run);
 *   - over the cycles, no growth in open descriptors (/proc/self/fd),
 *     threads (/proc/self/task) or file-backed mappings, and after the
 *     last shutdown no thread of the plugin, no executable mapping of a
 *     copy, and no PCRE2 JIT memory (anonymous rwx) left mapped.
 *
 * Cycles: 50 (10 under valgrind or ASan); TW_UNLOAD_CYCLES=N overrides
 * (make soak-unload runs 1,000). No Twilio traffic: fake credentials, the
 * REST base URL is never called.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "../plugins/hosttest.h"
#include "tw_signature.h"
#include "tw_wire.h"

#define TOKEN      "unload-test-token"
#define PUBLIC_URL "https://hooks.example.test/twilio/sms"

static const char *copies;
static char so_path[4096];

/* ---- the host services ------------------------------------------------ */

static atomic_int published;

static void h_log(void *ctx, conn_log_level lv, json_object *f, const char *msg)
{
	(void)ctx;
	if (lv <= CONN_LOG_WARN)
		printf("# log: %s %s\n", msg,
		       f ? json_object_to_json_string(f) : "");
}

static void h_complete(void *ctx, uint64_t id, json_object *o)
{
	(void)ctx;
	(void)id;
	json_object_put(o);
}

static int h_publish(void *ctx, uint64_t sub, json_object *ev, char *err,
                     size_t errlen)
{
	(void)ctx;
	(void)sub;
	(void)err;
	(void)errlen;
	json_object_put(ev);
	atomic_fetch_add(&published, 1);
	return 0;
}

static int h_claim(void *ctx, const char *key, uint32_t ttl,
                   json_object **prior)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	*prior = NULL;
	return CONN_CLAIM_NEW;
}

static int h_settle(void *ctx, const char *key, json_object *r, uint32_t ttl)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	json_object_put(r);
	return 0;
}

static const conn_host host = {.struct_size = sizeof(conn_host),
                               .abi_major = CONN_ABI_MAJOR,
                               .abi_minor = CONN_ABI_MINOR,
                               .log = h_log,
                               .complete = h_complete,
                               .publish = h_publish,
                               .claim = h_claim,
                               .settle = h_settle};

/* ---- /proc ------------------------------------------------------------ */

static long count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	long n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

static long count_fds(void)
{
	return count_dir("/proc/self/fd");
}

static long count_threads(void)
{
	return count_dir("/proc/self/task");
}

static void *no_op(void *arg)
{
	return arg;
}

/* ThreadSanitizer's runtime starts a background thread of its own with the
 * process's first pthread_create and keeps it: under TSan (CONN_TSAN, set
 * by the build), start and join one thread before the first count, so
 * that it is in every count. Only then: a process that has had a second
 * thread makes glibc's dlopen defer freeing old scope arrays, which
 * valgrind reports as 64 bytes lost at exit. */
static void settle_runtime_threads(void)
{
	pthread_t t;

	if (!getenv("CONN_TSAN"))
		return;
	if (pthread_create(&t, NULL, no_op, NULL) == 0)
		pthread_join(t, NULL);
}

/* Mappings: MODE "plugin" = r-xp of a private copy, "files" = any
 * file-backed, "jit" = anonymous rwxp (PCRE2's JIT allocator). */
static long count_maps(const char *mode)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[8192], perm[8];
	long n = 0;

	while (f && fgets(line, sizeof(line), f)) {
		const char *path = strchr(line, '/');

		if (sscanf(line, "%*s %7s", perm) != 1)
			continue;
		if (strcmp(mode, "plugin") == 0)
			n += path && strcmp(perm, "r-xp") == 0 &&
			     strstr(path, copies) != NULL;
		else if (strcmp(mode, "files") == 0)
			n += path != NULL;
		else
			n += !path && strcmp(perm, "rwxp") == 0;
	}
	if (f)
		fclose(f);
	return n;
}

/* Wait (by condition, up to 30 s, for a loaded machine) until FN() is at
 * most WANT: libmicrohttpd joins a closed connection's thread and closes
 * its socket in its own time after the client saw the close. */
static long settle_to(long (*fn)(void), long want)
{
	int64_t end = conn_now_ms() + 30000;
	long v;

	while ((v = fn()) > want && conn_now_ms() < end) {
		struct timespec ts = {0, 2000000};

		nanosleep(&ts, NULL);
	}
	return v;
}

/* Resident memory in KiB (reported, not asserted: allocators keep what
 * they freed). */
static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Open descriptors as a bitmap of their numbers (below N). */
static void fd_set_of(unsigned char *set, int n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;

	memset(set, 0, (size_t)n);
	while (d && (e = readdir(d)) != NULL) {
		int fd = atoi(e->d_name);

		if (e->d_name[0] != '.' && fd < n)
			set[fd] = 1;
	}
	if (d)
		closedir(d);
}

/* Threads as a list of ids (at most N). */
static int tids_of(long *tids, int n)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int k = 0;

	while (d && (e = readdir(d)) != NULL && k < n)
		if (e->d_name[0] != '.')
			tids[k++] = atol(e->d_name);
	if (d)
		closedir(d);
	return k;
}

static unsigned long long sigblk_of(long tid)
{
	char path[64], line[256];
	unsigned long long m = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/task/%ld/status", tid);
	f = fopen(path, "r");
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "SigBlk: %llx", &m) == 1)
			break;
	if (f)
		fclose(f);
	return m;
}

/* ---- the webhook client ----------------------------------------------- */

static int port_of(const conn_plugin *t, conn_instance *inst)
{
	json_object *s = t->stats(inst), *w, *p;
	int port = 0;

	if (s && json_object_object_get_ex(s, "webhook", &w) &&
	    json_object_object_get_ex(w, "port", &p))
		port = json_object_get_int(p);
	json_object_put(s);
	return port;
}

static long long idle_closes(const conn_plugin *t, conn_instance *inst)
{
	json_object *s = t->stats(inst), *w, *n;
	long long v = -1;

	if (s && json_object_object_get_ex(s, "webhook", &w) &&
	    json_object_object_get_ex(w, "idle_keepalive_closes", &n))
		v = json_object_get_int64(n);
	json_object_put(s);
	return v;
}

static int connect_to(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port)};
	struct timeval tv = {60, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send a signed inbound SMS (MessageSid from N) on FD; KEEP: keep-alive,
 * else Connection: close. 0 or -1. */
static int send_signed(int fd, int n, int keep)
{
	tw_buf body = {0}, base = {0}, sig = {0}, req = {0};
	tw_form form = {0};
	char sid[40];
	size_t bad;
	int rc = -1;

	snprintf(sid, sizeof(sid), "SM%032x", n);
	tw_form_add(&body, "MessageSid", sid, strlen(sid));
	tw_form_add(&body, "From", "+14155550100", 12);
	tw_form_add(&body, "To", "+15005550006", 12);
	tw_form_add(&body, "Body", "unload", 6);
	if (body.oom ||
	    tw_form_parse(body.data, body.len, TW_FORM_STRICT, &form, &bad) ||
	    tw_sig_base(&base, PUBLIC_URL, &form) ||
	    tw_sig_sign(&sig, TW_SIG_HMAC_SHA1, TOKEN, strlen(TOKEN), base.data,
	                base.len))
		goto out;
	tw_buf_printf(&req,
	              "POST /twilio/sms HTTP/1.1\r\nHost: x\r\n%s"
	              "Content-Type: application/x-www-form-urlencoded\r\n"
	              "X-Twilio-Signature: %s\r\nContent-Length: %zu\r\n\r\n",
	              keep ? "" : "Connection: close\r\n", sig.data, body.len);
	tw_buf_append(&req, body.data, body.len);
	if (!req.oom && write(fd, req.data, req.len) == (ssize_t)req.len)
		rc = 0;
out:
	tw_form_free(&form);
	tw_buf_free(&body);
	tw_buf_free(&base);
	tw_buf_free(&sig);
	tw_buf_free(&req);
	return rc;
}

/* Read one whole answer: its status, or -1. */
static int read_answer(int fd)
{
	char buf[4096], *eoh, *p;
	size_t n = 0;
	int status = -1;
	ssize_t r;

	for (;;) {
		buf[n] = 0;
		eoh = strstr(buf, "\r\n\r\n");
		if (eoh) {
			p = strcasestr(buf, "\r\nContent-Length:");
			if (n >= (size_t)(eoh + 4 - buf) +
			                 (p && p < eoh
			                          ? strtoul(p + 17, NULL, 10)
			                          : 0))
				break;
		}
		if (n >= sizeof(buf) - 1)
			return -1;
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* One signed webhook on a new connection: the status. */
static int post_signed(int port, int n)
{
	int fd = connect_to(port), status = -1;

	if (fd >= 0 && send_signed(fd, n, 0) == 0)
		status = read_answer(fd);
	if (fd >= 0)
		close(fd);
	return status;
}

/* ---- the cycles ------------------------------------------------------- */

typedef struct served {
	connhost_plugin *p;
	const conn_plugin *t;
	conn_instance *inst;
} served;

static int load_init(served *s, char *err, size_t errlen)
{
	json_object *cfg = json_tokener_parse(
	        "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	        "\"TWILIO_TOKEN\":\"" TOKEN "\",\"TWILIO_BASE_URL\":"
	        "\"http://127.0.0.1:1\",\"TWILIO_WEBHOOK_LISTEN\":"
	        "\"127.0.0.1:0\",\"TWILIO_WEBHOOK_PUBLIC_URL\":\"" PUBLIC_URL
	        "\",\"TWILIO_WEBHOOK_IDLE_TIMEOUT_S\":\"600\"}");
	json_object *params = json_tokener_parse("{\"pattern\":\"\"}");
	int rc;

	memset(s, 0, sizeof(*s));
	rc = connhost_plugin_load(so_path, NULL, &s->p, err, errlen);
	if (!rc) {
		s->t = connhost_plugin_table(s->p);
		rc = s->t->init(&host, cfg, &s->inst, err, errlen);
	}
	if (!rc)
		rc = s->t->subscribe_event(s->inst, 1, "SMS_RECEIVED", params,
		                           err, errlen);
	json_object_put(cfg);
	json_object_put(params);
	return rc;
}

static int shut_unload(served *s)
{
	int rc = 0;

	if (s->inst)
		rc = s->t->shutdown(s->inst, conn_now_ms() + 30000);
	if (s->p)
		connhost_plugin_unref(s->p);
	memset(s, 0, sizeof(*s));
	return rc;
}

/* Close whatever the hand-off still holds (the host's duty). */
static void handoff_close(conn_handoff *ho)
{
	size_t i;

	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++)
		if (ho->fds[i] >= 0) {
			close(ho->fds[i]);
			ho->fds[i] = -1;
		}
}

/* The first start: fds and threads it adds are close-on-exec and block
 * the asynchronous signals. */
static void check_hygiene(void)
{
	static unsigned char before[4096], after[4096];
	long tids0[512], tids1[512];
	int n0, n1, i, j, fd, bad_fd = 0, new_fd = 0, bad_th = 0, new_th = 0;
	unsigned long long want = 0, m;
	int sigs[] = {SIGTERM, SIGHUP, SIGINT, SIGPIPE, SIGCHLD, SIGUSR1};
	served s;
	char err[1024] = "";
	int port, ka;

	for (i = 0; i < (int)(sizeof(sigs) / sizeof(sigs[0])); i++)
		want |= 1ULL << (sigs[i] - 1);
	fd_set_of(before, (int)sizeof(before));
	n0 = tids_of(tids0, 512);
	if (load_init(&s, err, sizeof(err)) ||
	    s.t->start(s.inst, NULL, err, sizeof(err))) {
		ok(0, "load, init and start: %s", err);
		shut_unload(&s);
		return;
	}
	port = port_of(s.t, s.inst);
	/* a keep-alive connection open: its thread and socket exist */
	ka = connect_to(port);
	ok(ka >= 0 && send_signed(ka, 1, 1) == 0 && read_answer(ka) == 200,
	   "a signed webhook on a keep-alive connection: 200");
	fd_set_of(after, (int)sizeof(after));
	for (fd = 0; fd < (int)sizeof(after); fd++) {
		int fl;

		if (!after[fd] || before[fd] || fd == ka)
			continue;
		fl = fcntl(fd, F_GETFD);
		if (fl < 0)
			continue; /* the directory stream's own, closed */
		new_fd++;
		if (!(fl & FD_CLOEXEC)) {
			char l[64], target[256] = "";
			ssize_t k;

			snprintf(l, sizeof(l), "/proc/self/fd/%d", fd);
			k = readlink(l, target, sizeof(target) - 1);
			target[k > 0 ? k : 0] = 0;
			diag("descriptor %d (%s) is not close-on-exec", fd,
			     target);
			bad_fd++;
		}
	}
	ok(new_fd >= 3,
	   "the plugin opened descriptors (%d: listening "
	   "socket, connection, event loop, ...)",
	   new_fd);
	is_int(0, bad_fd, "every one of them is close-on-exec");
	n1 = tids_of(tids1, 512);
	for (i = 0; i < n1; i++) {
		for (j = 0; j < n0 && tids0[j] != tids1[i]; j++)
			;
		if (j < n0)
			continue;
		new_th++;
		m = sigblk_of(tids1[i]);
		if ((m & want) != want) {
			diag("thread %ld blocks %llx, not all of %llx",
			     tids1[i], m, want);
			bad_th++;
		}
	}
	ok(new_th >= 3,
	   "the plugin started threads (%d: sender, daemon, connection)",
	   new_th);
	is_int(0, bad_th,
	       "every one blocks SIGTERM, SIGHUP, SIGINT, SIGPIPE, SIGCHLD, "
	       "SIGUSR1");
	if (ka >= 0)
		close(ka);
	is_int(0, shut_unload(&s), "shut down and unloaded");
}

/* N swaps starting from a fresh load; 0 when every step went well. The
 * counters of failed steps are reported by the caller's assertions. */
static int swaps(int n, int *plugin_maps_bad, int *idle_bad)
{
	served cur, next;
	char err[1024] = "";
	int i, port, bad = 0, ka = -1;

	if (load_init(&cur, err, sizeof(err)) ||
	    cur.t->start(cur.inst, NULL, err, sizeof(err))) {
		diag("first load: %s", err);
		shut_unload(&cur);
		return 1;
	}
	port = port_of(cur.t, cur.inst);
	for (i = 0; i < n; i++) {
		conn_handoff ho;
		int before = atomic_load(&published);

		/* an idle keep-alive client of the serving instance */
		ka = connect_to(port);
		if (ka < 0 || send_signed(ka, 2 * i + 2, 1) != 0 ||
		    read_answer(ka) != 200) {
			diag("cycle %d: keep-alive request failed", i);
			bad++;
		}
		if (load_init(&next, err, sizeof(err))) {
			diag("cycle %d: load/init: %s", i, err);
			shut_unload(&next);
			bad++;
			break;
		}
		conn_handoff_init(&ho);
		if (cur.t->quiesce(cur.inst, &ho) != 0 ||
		    next.t->start(next.inst, &ho, err, sizeof(err)) != 0) {
			diag("cycle %d: quiesce/start: %s", i, err);
			handoff_close(&ho);
			shut_unload(&next);
			bad++;
			break;
		}
		handoff_close(&ho); /* nothing left in it: v2 took the socket */
		/* the idle keep-alive stays open through the quiesce (a busy
		 * client's next request is answered with Connection: close)
		 * and is closed by the old instance's shutdown, below */
		if (idle_closes(cur.t, cur.inst) != 0)
			(*idle_bad)++;
		if (port_of(next.t, next.inst) != port ||
		    post_signed(port, 2 * i + 3) != 200) {
			diag("cycle %d: the new instance did not answer 200 "
			     "on port %d",
			     i, port);
			bad++;
		}
		if (atomic_load(&published) != before + 2) {
			diag("cycle %d: %d published, not 2", i,
			     atomic_load(&published) - before);
			bad++;
		}
		/* the shutdown then waits the drain (1 s) for it: only the
		 * first two cycles keep it open, the others close it first */
		if (i >= 2 && ka >= 0) {
			close(ka);
			ka = -1;
		}
		if (shut_unload(&cur) != 0) {
			diag("cycle %d: shutdown of the old instance failed",
			     i);
			bad++;
		}
		if (i < 2) {
			char c;

			/* closed in order (FIN) after the drain */
			if (ka < 0 || read(ka, &c, 1) != 0)
				(*idle_bad)++;
			if (ka >= 0)
				close(ka);
			ka = -1;
		}
		cur = next;
		/* only the serving copy is mapped executable */
		if (count_maps("plugin") != 1)
			(*plugin_maps_bad)++;
	}
	if (shut_unload(&cur) != 0)
		bad++;
	return bad;
}

/* ABI 1.1's pin(), for a host that cannot pin the plugin's dependencies:
 * after it, unloading unmaps nothing (last: the copy stays mapped). And
 * the negotiated minor: asked as a 1.0 host, twilio.so answers with a
 * 1.0 table, without pin. */
static void pin_check(void)
{
	const conn_plugin *t;
	connhost_plugin *p = NULL;
	conn_plugin_get_fn get;
	char err[512] = "";
	Dl_info di;
	void *h = NULL;
	int rc;

	rc = connhost_plugin_load(so_path, NULL, &p, err, sizeof(err));
	is_int(0, rc, "pin: load twilio.so (%s)", rc ? err : "");
	if (rc)
		return;
	t = connhost_plugin_table(p);
	ok(t->abi_minor == 1 && CONN_PLUGIN_HAS(t, pin),
	   "twilio.so speaks 1.1 with this host and has pin()");
	if (dladdr((void *)t->describe, &di) && di.dli_fname)
		h = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD);
	ok(h != NULL, "its image found by its name");
	if (h) {
		union {
			void *v;
			conn_plugin_get_fn f;
		} u = {.v = dlsym(h, CONN_PLUGIN_ENTRY)};
		const conn_plugin *t10;

		get = u.f;
		t10 = get ? get(CONN_ABI_MAJOR, 0) : NULL;
		ok(t10 && t10->abi_minor == 0 &&
		           t10->struct_size == CONN_PLUGIN_SIZE_1_0 &&
		           !CONN_PLUGIN_HAS(t10, pin),
		   "asked as a 1.0 host: a 1.0 table (minor 0, 1.0's size, "
		   "no pin)");
		dlclose(h);
	}
	err[0] = '\0';
	rc = CONN_PLUGIN_HAS(t, pin) ? t->pin(err, sizeof(err)) : -1;
	is_int(0, rc, "pin() succeeds (%s)", err);
	ok(count_maps("plugin") >= 1, "mapped while loaded");
	connhost_plugin_unref(p);
	ok(count_maps("plugin") >= 1,
	   "pinned: still mapped after the host unloaded it");
}

int main(void)
{
	const char *top = getenv("top_builddir");
	const char *nv = getenv("TW_UNLOAD_CYCLES");
	int n = nv && atoi(nv) > 0 ? atoi(nv) : ht_slow() ? 10 : 50;
	long fds_start, fds0, th0, files0, fds1, th1, files1, rss0, rss1;
	int maps_bad = 0, idle_bad = 0, bad;

	signal(SIGPIPE, SIG_IGN); /* the test's own writes */
	copies = ht_copy_dir("test_unload");
	ok(copies != NULL, "a private copy directory");
	if (!copies)
		return done_testing();
	/* copies kept would never be unmapped: this test is about unmapping */
	unsetenv("CONNHOST_KEEP_COPIES");
	snprintf(so_path, sizeof(so_path), "%s/plugin/twilio.la",
	         top && *top ? top : ".");

	settle_runtime_threads();
	fds_start = count_fds();
	th0 = count_threads();
	check_hygiene();
	is_int(th0, settle_to(count_threads, th0),
	       "no thread left after shutdown and unload");
	is_int(0, count_maps("plugin"), "no copy of twilio.so mapped");

	/* warm-up: arenas, libltdl, libcurl's and OpenSSL's one-time state */
	bad = swaps(3, &maps_bad, &idle_bad);
	is_int(0, bad, "3 warm-up swaps");
	fds0 = settle_to(count_fds, fds_start);
	th0 = count_threads();
	files0 = count_maps("files");
	rss0 = rss_kib();

	maps_bad = idle_bad = 0;
	if (n != 50)
		diag("%d swap cycles", n);
	bad = swaps(n, &maps_bad, &idle_bad);
	is_int(0, bad,
	       "%d swaps: load, init, quiesce, start on the hand-off, "
	       "signed webhook 200 on the same port, shutdown, unload",
	       n);
	is_int(0, maps_bad,
	       "after every swap one executable copy mapped (the old one "
	       "unmapped)");
	is_int(0, idle_bad,
	       "every idle keep-alive client kept through the quiesce, then "
	       "closed by the old instance's shutdown (FIN)");
	fds1 = settle_to(count_fds, fds0);
	th1 = settle_to(count_threads, th0);
	files1 = count_maps("files");
	rss1 = rss_kib();
	diag("fds %ld -> %ld, threads %ld -> %ld, file mappings %ld -> %ld, "
	     "RSS %ld -> %ld KiB",
	     fds0, fds1, th0, th1, files0, files1, rss0, rss1);
	is_int(fds0, fds1, "no growth in open descriptors");
	is_int(th0, th1, "no thread left behind");
	is_int(files0, files1, "no growth in file-backed mappings");
	is_int(0, count_maps("plugin"),
	       "no copy of twilio.so mapped at the end");
	/* valgrind's translated code lives in anonymous rwx mappings of its
	 * own, which it shows to the program */
	if (ht_valgrind())
		ok(1, "# SKIP PCRE2 JIT memory: valgrind maps rwx memory");
	else
		is_int(0, count_maps("jit"),
		       "no PCRE2 JIT memory left mapped "
		       "(pcre2_jit_free_unused_memory at shutdown)");
	is_int(0, count_dir(copies), "no private copy left on disk");
	pin_check();
	rmdir(copies);
	return done_testing();
}
