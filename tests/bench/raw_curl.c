/*
 * raw_curl.c - the benchmark baseline: what libcurl alone can do.
 *
 * POSTs N form-encoded messages to a Twilio-compatible Messages endpoint
 * (the sandbox) with K requests in flight on one curl multi handle:
 * keep-alive connections, HTTP Basic auth, TLS sessions shared through a
 * share handle, the response body read and dropped. --upload readfn sends
 * the body through a read callback instead of CURLOPT_COPYPOSTFIELDS, as
 * DESIGN §5 prescribes against libcurl's silent re-send, to show what that
 * choice costs (the connector guards in its pre-request callback instead and
 * sends the body with the headers, as this client does by default). It does
 * none of the connector's work (no template, no JSON parsing, no idempotency
 * store): it is the ceiling the connector is compared against.
 *
 * Prints one JSON line:
 *   {"client":"raw-curl","inflight":K,"messages":N,"ok":N,"failed":F,
 *    "seconds":S,"msg_per_s":R,"cpu_s":user+sys,"max_rss_kib":M}
 * Exit: 0 when every request got a 201, 1 when some did not, 2 on usage.
 *
 * Not a test and not installed: built by `make bench` only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include <curl/curl.h>

struct rc_opts {
	const char *base;
	const char *account;
	const char *token;
	const char *cacert;
	const char *from;
	const char *body;
	long messages;
	long inflight;
	int readfn; /* 1: the body through CURLOPT_READFUNCTION */
};

/* The body of one transfer, for --upload readfn. */
struct rc_body {
	char *data;
	size_t len, off;
};

struct rc_run {
	const struct rc_opts *o;
	CURLM *multi;
	CURLSH *share;
	char *url;
	long started;
	long ok;
	long failed;
};

static double rc_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t rc_discard(char *ptr, size_t size, size_t nmemb, void *ud)
{
	(void)ptr;
	(void)ud;
	return size * nmemb;
}

static void rc_usage(void)
{
	fprintf(stderr,
	        "usage: raw-curl --url BASE [--account SID] [--token TOKEN]\n"
	        "                [--messages N] [--inflight K] [--cacert PEM]\n"
	        "                [--from NUMBER] [--body TEXT]\n"
	        "BASE is e.g. http://127.0.0.1:PORT (the sandbox); the token\n"
	        "may also come from the environment variable "
	        "RAW_CURL_TOKEN.\n");
}

static long rc_long(const char *name, const char *v, long min, long max)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max) {
		fprintf(stderr,
		        "raw-curl: %s '%s': not an integer in %ld..%ld\n", name,
		        v, min, max);
		exit(2);
	}
	return n;
}

static int rc_parse(int argc, char **argv, struct rc_opts *o)
{
	int i;

	o->account = "AC00000000000000000000000000000000";
	o->token = getenv("RAW_CURL_TOKEN");
	if (!o->token)
		o->token = "sandbox-token";
	o->from = "+15005550006";
	o->body = "Your order 42 has shipped.";
	o->messages = 1000;
	o->inflight = 16;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help")) {
			rc_usage();
			exit(0);
		}
		if (!v) {
			fprintf(stderr, "raw-curl: %s: missing value\n", a);
			return -1;
		}
		i++;
		if (!strcmp(a, "--url"))
			o->base = v;
		else if (!strcmp(a, "--account"))
			o->account = v;
		else if (!strcmp(a, "--token"))
			o->token = v;
		else if (!strcmp(a, "--cacert"))
			o->cacert = v;
		else if (!strcmp(a, "--from"))
			o->from = v;
		else if (!strcmp(a, "--body"))
			o->body = v;
		else if (!strcmp(a, "--messages"))
			o->messages = rc_long(a, v, 1, 1000000000L);
		else if (!strcmp(a, "--inflight"))
			o->inflight = rc_long(a, v, 1, 100000);
		else if (!strcmp(a, "--upload") && !strcmp(v, "postfields"))
			o->readfn = 0;
		else if (!strcmp(a, "--upload") && !strcmp(v, "readfn"))
			o->readfn = 1;
		else {
			fprintf(stderr, "raw-curl: unknown option %s\n", a);
			return -1;
		}
	}
	if (!o->base) {
		fprintf(stderr, "raw-curl: --url: required\n");
		return -1;
	}
	return 0;
}

/* Form-encode S onto the end of BUF (which has room: 3 bytes a byte). */
static char *rc_encode(char *buf, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
		    c == '_' || c == '~') {
			*buf++ = (char)c;
		} else if (c == ' ') {
			*buf++ = '+';
		} else {
			*buf++ = '%';
			*buf++ = hex[c >> 4];
			*buf++ = hex[c & 15];
		}
	}
	*buf = '\0';
	return buf;
}

/* Give EASY the next message and add it to the multi handle. */
static int rc_submit(struct rc_run *r, CURL *easy)
{
	const struct rc_opts *o = r->o;
	size_t cap = 64 + 3 * (strlen(o->from) + strlen(o->body));
	char to[32], *form, *p;

	form = malloc(cap);
	if (!form)
		return -1;
	snprintf(to, sizeof(to), "+1415%07ld", r->started % 10000000L);
	p = form + sprintf(form, "To=");
	p = rc_encode(p, to);
	p += sprintf(p, "&From=");
	p = rc_encode(p, o->from);
	p += sprintf(p, "&Body=");
	rc_encode(p, o->body);
	if (o->readfn) {
		/* As the connector sends: a read callback (so that libcurl
		 * cannot re-send the body by itself), the size known. */
		struct rc_body *b = NULL;

		curl_easy_getinfo(easy, CURLINFO_PRIVATE, (char **)&b);
		free(b->data);
		b->data = form;
		b->len = strlen(form);
		b->off = 0;
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE_LARGE,
		                 (curl_off_t)b->len);
	} else {
		curl_easy_setopt(easy, CURLOPT_COPYPOSTFIELDS, form);
		free(form);
	}
	r->started++;
	return curl_multi_add_handle(r->multi, easy) == CURLM_OK ? 0 : -1;
}

static size_t rc_read(char *buf, size_t size, size_t nitems, void *ud)
{
	struct rc_body *b = ud;
	size_t n = b->len - b->off;

	if (n > size * nitems)
		n = size * nitems;
	memcpy(buf, b->data + b->off, n);
	b->off += n;
	return n;
}

static CURL *rc_easy(struct rc_run *r)
{
	const struct rc_opts *o = r->o;
	CURL *e = curl_easy_init();

	if (!e)
		return NULL;
	if (o->readfn) {
		struct rc_body *b = calloc(1, sizeof(*b));

		if (!b) {
			curl_easy_cleanup(e);
			return NULL;
		}
		curl_easy_setopt(e, CURLOPT_PRIVATE, b);
		curl_easy_setopt(e, CURLOPT_POST, 1L);
		curl_easy_setopt(e, CURLOPT_READFUNCTION, rc_read);
		curl_easy_setopt(e, CURLOPT_READDATA, b);
	}
	curl_easy_setopt(e, CURLOPT_URL, r->url);
	curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
	curl_easy_setopt(e, CURLOPT_USERNAME, o->account);
	curl_easy_setopt(e, CURLOPT_PASSWORD, o->token);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, rc_discard);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_SHARE, r->share);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, 60000L);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "raw-curl-bench/1");
	if (o->cacert)
		curl_easy_setopt(e, CURLOPT_CAINFO, o->cacert);
	return e;
}

/* Collect finished transfers; re-arm their handles while work remains. */
static int rc_reap(struct rc_run *r)
{
	CURLMsg *m;
	int left;

	while ((m = curl_multi_info_read(r->multi, &left))) {
		CURL *e = m->easy_handle;
		long code = 0;

		if (m->msg != CURLMSG_DONE)
			continue;
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
		if (m->data.result == CURLE_OK && code == 201) {
			r->ok++;
		} else {
			if (!r->failed)
				fprintf(stderr,
				        "raw-curl: first failure: %s, "
				        "HTTP %ld\n",
				        curl_easy_strerror(m->data.result),
				        code);
			r->failed++;
		}
		curl_multi_remove_handle(r->multi, e);
		if (r->started < r->o->messages) {
			if (rc_submit(r, e))
				return -1;
		} else {
			struct rc_body *b = NULL;

			curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&b);
			if (b)
				free(b->data);
			free(b);
			curl_easy_cleanup(e);
		}
	}
	return 0;
}

static int rc_loop(struct rc_run *r)
{
	long i, n = r->o->inflight;
	int running = 1;

	if (n > r->o->messages)
		n = r->o->messages;
	for (i = 0; i < n; i++) {
		CURL *e = rc_easy(r);

		if (!e || rc_submit(r, e))
			return -1;
	}
	while (running) {
		if (curl_multi_perform(r->multi, &running) != CURLM_OK)
			return -1;
		if (rc_reap(r))
			return -1;
		if (r->ok + r->failed >= r->o->messages)
			break;
		if (curl_multi_poll(r->multi, NULL, 0, 1000, NULL) != CURLM_OK)
			return -1;
		running = 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rc_opts o = {0};
	struct rc_run r = {.o = &o};
	struct rusage ru;
	double t0, secs, cpu;
	size_t ulen;
	int rc;

	if (rc_parse(argc, argv, &o)) {
		rc_usage();
		return 2;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT))
		return 1;
	ulen = strlen(o.base) + strlen(o.account) + 64;
	r.url = malloc(ulen);
	r.multi = curl_multi_init();
	r.share = curl_share_init();
	if (!r.url || !r.multi || !r.share)
		return 1;
	snprintf(r.url, ulen, "%s/2010-04-01/Accounts/%s/Messages.json", o.base,
	         o.account);
	curl_share_setopt(r.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
	curl_share_setopt(r.share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
	curl_multi_setopt(r.multi, CURLMOPT_MAXCONNECTS, o.inflight);
	curl_multi_setopt(r.multi, CURLMOPT_MAX_HOST_CONNECTIONS, o.inflight);

	t0 = rc_now();
	rc = rc_loop(&r);
	secs = rc_now() - t0;
	curl_multi_cleanup(r.multi);
	curl_share_cleanup(r.share);
	free(r.url);
	curl_global_cleanup();
	if (rc) {
		fprintf(stderr, "raw-curl: curl multi failure\n");
		return 1;
	}

	getrusage(RUSAGE_SELF, &ru);
	cpu = (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	      (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
	printf("{\"client\":\"%s\",\"inflight\":%ld,\"messages\":%ld,"
	       "\"ok\":%ld,\"failed\":%ld,\"seconds\":%.4f,"
	       "\"msg_per_s\":%.1f,\"cpu_s\":%.4f,\"max_rss_kib\":%ld}\n",
	       o.readfn ? "raw-curl-readfn" : "raw-curl", o.inflight,
	       o.messages, r.ok, r.failed, secs,
	       secs > 0 ? (double)r.ok / secs : 0.0, cpu, ru.ru_maxrss);
	return r.failed ? 1 : 0;
}
