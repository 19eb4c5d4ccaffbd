/*
 * test_inbound.c - plugin/inbound.c (the SMS_RECEIVED engine) against a
 * fake host written here: publish records events (and can refuse, or be
 * slow), claim/settle are a small in-memory store (which can be full).
 *
 * Covers matching (named groups, unset groups, Unicode, multi-line, the
 * `to` filter, several subscriptions and the reply modes, PCRE2 limits),
 * echo/echoError, dedupe (replay, in progress, failed publish forgotten,
 * store full), opt-outs, unsubscribe during traffic, subscribe refusals,
 * TwiML escaping and the 1600-unit cut, logs without bodies or numbers.
 */
#include "connector.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tap.h"
#include "tw_inbound.h"

/* ---- the fake host ---------------------------------------------------- */

#define MAXEV 256
#define FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static pthread_mutex_t fh_mu = PTHREAD_MUTEX_INITIALIZER;
static char *fh_events[MAXEV]; /* serialised events, in order */
static uint64_t fh_event_sub[MAXEV];
static int fh_nevents;
static atomic_long fh_publishes; /* every publish, also when not recorded */
static int fh_refuse_sub = -1;   /* publish refuses this sub id */
static int fh_slow_ms;           /* publish sleeps this long */
static int fh_full;              /* claim answers CONN_EFULL */
static tw_buf fh_log;            /* every log line, serialised */

typedef struct rec {
	char *key;
	int done;
	json_object *result;
	struct rec *next;
} rec;
static rec *fh_store;

/* the unsubscribe-during-traffic check */
static atomic_int fh_watch_sub = -1, fh_watch_inside, fh_watch_gone,
                  fh_watch_violations;

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};

	nanosleep(&ts, NULL);
}

static void fh_logf(void *ctx, conn_log_level lv, json_object *fields,
                    const char *msg)
{
	(void)ctx;
	pthread_mutex_lock(&fh_mu);
	tw_buf_printf(&fh_log, "%d %s %s\n", (int)lv, msg,
	              fields ? json_object_to_json_string_ext(fields, FLAGS)
	                     : "");
	pthread_mutex_unlock(&fh_mu);
}

static void fh_complete(void *ctx, uint64_t id, json_object *o)
{
	(void)ctx;
	(void)id;
	json_object_put(o);
}

static int fh_publish(void *ctx, uint64_t sub, json_object *ev, char *err,
                      size_t errlen)
{
	int rc = 0;

	(void)ctx;
	atomic_fetch_add(&fh_publishes, 1);
	if ((int)sub == atomic_load(&fh_watch_sub)) {
		atomic_fetch_add(&fh_watch_inside, 1);
		if (atomic_load(&fh_watch_gone))
			atomic_fetch_add(&fh_watch_violations, 1);
		sleep_ms(1); /* widen the window unsubscribe must wait out */
		atomic_fetch_sub(&fh_watch_inside, 1);
		json_object_put(ev);
		return 0;
	}
	if (fh_slow_ms)
		sleep_ms(fh_slow_ms);
	pthread_mutex_lock(&fh_mu);
	if ((int)sub == fh_refuse_sub) {
		snprintf(err, errlen, "refused by the test");
		rc = CONN_EREFUSED;
	} else if (fh_nevents < MAXEV) {
		fh_events[fh_nevents] =
		        strdup(json_object_to_json_string_ext(ev, FLAGS));
		fh_event_sub[fh_nevents++] = sub;
	}
	pthread_mutex_unlock(&fh_mu);
	json_object_put(ev);
	return rc;
}

static rec *fh_find(const char *key)
{
	rec *r;

	for (r = fh_store; r; r = r->next)
		if (!strcmp(r->key, key))
			return r;
	return NULL;
}

static int fh_claim(void *ctx, const char *key, uint32_t ttl,
                    json_object **prior)
{
	rec *r;
	int rc;

	(void)ctx;
	(void)ttl;
	*prior = NULL;
	if (strncmp(key, "inbound/", 8))
		return CONN_EINVAL;
	/* widen the window between a request's snapshot of the
	 * subscriptions and its publish, where unsubscribe may land */
	{
		const char *slash = strrchr(key, '/');

		if (slash && atoi(slash + 1) == atomic_load(&fh_watch_sub))
			sleep_ms(1);
	}
	pthread_mutex_lock(&fh_mu);
	r = fh_find(key);
	if (fh_full && !r) {
		rc = CONN_EFULL;
	} else if (!r) {
		r = calloc(1, sizeof(*r));
		r->key = strdup(key);
		r->next = fh_store;
		fh_store = r;
		rc = CONN_CLAIM_NEW;
	} else if (r->done) {
		json_object_deep_copy(r->result, prior, NULL);
		rc = CONN_CLAIM_DONE;
	} else {
		rc = CONN_CLAIM_IN_PROGRESS;
	}
	pthread_mutex_unlock(&fh_mu);
	return rc;
}

static int fh_settle(void *ctx, const char *key, json_object *res, uint32_t ttl)
{
	rec *r, **pp;

	(void)ctx;
	(void)ttl;
	pthread_mutex_lock(&fh_mu);
	for (pp = &fh_store; (r = *pp); pp = &r->next)
		if (!strcmp(r->key, key))
			break;
	if (r && res) {
		r->done = 1;
		r->result = res;
	} else if (r) {
		*pp = r->next;
		free(r->key);
		free(r);
	} else {
		json_object_put(res);
	}
	pthread_mutex_unlock(&fh_mu);
	return r ? 0 : CONN_ENOENT;
}

static void fh_reset(void)
{
	rec *r;
	int i;

	pthread_mutex_lock(&fh_mu);
	for (i = 0; i < fh_nevents; i++)
		free(fh_events[i]);
	fh_nevents = 0;
	while ((r = fh_store)) {
		fh_store = r->next;
		free(r->key);
		json_object_put(r->result);
		free(r);
	}
	tw_buf_free(&fh_log);
	fh_refuse_sub = -1;
	fh_slow_ms = 0;
	fh_full = 0;
	atomic_store(&fh_publishes, 0);
	pthread_mutex_unlock(&fh_mu);
}

static const conn_host fh = {
        .struct_size = sizeof(conn_host),
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .log = fh_logf,
        .complete = fh_complete,
        .publish = fh_publish,
        .claim = fh_claim,
        .settle = fh_settle,
};

/* ---- helpers ---------------------------------------------------------- */

#define SID1 "SM0123456789abcdef0123456789abcdef"
#define SID2 "SMffffffffffffffffffffffffffffffff"
#define SID3 "SM11111111111111111111111111111111"
#define MG1  "MG0123456789abcdef0123456789abcdef"

static tw_inbound *engine(const char *mode, long deadline_ms)
{
	tw_config cfg;
	char err[256] = "";
	tw_inbound *in;

	memset(&cfg, 0, sizeof(cfg));
	cfg.reply_mode = (char *)mode;
	cfg.publish_deadline_ms = deadline_ms;
	in = tw_inbound_new(&fh, &cfg, NULL, err, sizeof(err));
	if (!in)
		diag("tw_inbound_new: %s", err);
	return in;
}

/* Subscribe with params given as JSON text; returns the status. */
static int sub(tw_inbound *in, uint64_t id, const char *json, char *err,
               size_t errlen)
{
	json_object *p = json_tokener_parse(json);
	int rc;

	if (!p) {
		diag("bad JSON in the test: %s", json);
		return -100;
	}
	rc = tw_inbound_subscribe(in, id, p, err, errlen);
	json_object_put(p);
	return rc;
}

static int sub_ok(tw_inbound *in, uint64_t id, const char *json)
{
	char err[512] = "";
	int rc = sub(in, id, json, err, sizeof(err));

	if (rc)
		diag("subscribe %s: %s", json, err);
	return rc;
}

/*
 * Handle a message: SID, BODY, then NULL-terminated name/value pairs of
 * extra fields (From and To default to fixed numbers). *OUT gets the
 * answer body (caller frees).
 */
static int handle(tw_inbound *in, tw_inbound_worker *w, const char *sid,
                  const char *body, char **out, ...)
{
	tw_buf b = {0}, t = {0};
	tw_form f;
	va_list ap;
	const char *k, *v;
	int rc, have_to = 0, have_from = 0;

	if (sid)
		tw_form_add(&b, "MessageSid", sid, strlen(sid));
	if (body)
		tw_form_add(&b, "Body", body, strlen(body));
	va_start(ap, out);
	while ((k = va_arg(ap, const char *))) {
		v = va_arg(ap, const char *);
		have_to |= !strcmp(k, "To");
		have_from |= !strcmp(k, "From");
		tw_form_add(&b, k, v, strlen(v));
	}
	va_end(ap);
	if (!have_to)
		tw_form_add(&b, "To", "+15005550006", 12);
	if (!have_from)
		tw_form_add(&b, "From", "+14155550100", 12);
	if (tw_form_parse(b.data, b.len, TW_FORM_STRICT, &f, NULL))
		abort();
	rc = tw_inbound_handle(in, w, &f, &t);
	tw_form_free(&f);
	tw_buf_free(&b);
	*out = tw_buf_take(&t, NULL);
	return rc;
}

static long stat_of(tw_inbound *in, const char *name)
{
	json_object *s = tw_inbound_stats(in), *v;
	long n = -1;

	if (s && json_object_object_get_ex(s, name, &v))
		n = (long)json_object_get_int64(v);
	json_object_put(s);
	return n;
}

#define EMPTY "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response/>"
#define TWIML(msgs)                                                            \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>" msgs            \
	"</Response>"

static int contains(const char *hay, const char *needle)
{
	return hay && strstr(hay, needle) != NULL;
}

/* The event recorded at index I, parsed (caller puts). */
static json_object *event(int i)
{
	return i < fh_nevents ? json_tokener_parse(fh_events[i]) : NULL;
}

static const char *get_str(json_object *o, const char *path)
{
	json_object *v = o;
	char buf[128], *p, *save = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p && v;
	     p = strtok_r(NULL, ".", &save))
		if (!json_object_object_get_ex(v, p, &v))
			return "(absent)";
	if (!v)
		return "(null)";
	return json_object_get_string(v);
}

/* ---- tests ------------------------------------------------------------ */

static void test_groups(tw_inbound_worker *w)
{
	tw_inbound *in = engine("first", 5000);
	json_object *e;
	char *out;
	int rc;

	sub_ok(in, 1,
	       "{\"pattern\":\"Order Number (?<orderNumber>\\\\d+)"
	       "(?<suffix>-x)?\",\"echo\":\"Your reference number is "
	       "${orderNumber}\"}");
	rc = handle(in, w, SID1, "hi, Order Number 12345 please", &out,
	            "NumMedia", "1", "MediaUrl0", "https://m.example/1",
	            "MediaContentType0", "image/png", "MessagingServiceSid",
	            MG1, NULL);
	is_int(200, rc, "named groups: 200");
	is_str(TWIML("<Message>Your reference number is 12345</Message>"), out,
	       "named groups: the echo rendered with the group");
	free(out);
	is_int(1, fh_nevents, "one event published");
	e = event(0);
	is_str("12345", get_str(e, "matchGroups.orderNumber"),
	       "matchGroups.orderNumber");
	is_str("(null)", get_str(e, "matchGroups.suffix"),
	       "an unset group is null");
	is_str("hi, Order Number 12345 please", get_str(e, "originalMessage"),
	       "originalMessage");
	is_str("+14155550100", get_str(e, "from"), "from");
	is_str("+15005550006", get_str(e, "to"), "to");
	is_str(SID1, get_str(e, "messageSid"), "messageSid");
	is_str("(null)", get_str(e, "optOutType"), "optOutType null");
	ok(contains(fh_events[0], "\"media\":[{\"url\":\"https://m.example/"
	                          "1\",\"contentType\":\"image/png\"}]"),
	   "media from NumMedia/MediaUrl0/MediaContentType0: %s", fh_events[0]);
	{
		const char *at = get_str(e, "receivedAt");
		int y, mo, d, h, mi, s, ms;
		char z = 0;

		ok(sscanf(at, "%4d-%2d-%2dT%2d:%2d:%2d.%3d%c", &y, &mo, &d, &h,
		          &mi, &s, &ms, &z) == 8 &&
		           z == 'Z' && strlen(at) == 24 && y >= 2024,
		   "receivedAt is RFC 3339 UTC with ms: %s", at);
	}
	json_object_put(e);
	ok(!contains(fh_log.data, "12345 please"),
	   "the body is not logged by default");
	ok(!contains(fh_log.data, "+14155550100") &&
	           contains(fh_log.data, "+1415"),
	   "numbers are masked in the log");
	ok(contains(fh_log.data, "\"published\":[1]"),
	   "the log line names the published sub");
	is_int(1, (int)stat_of(in, "published"), "stats: published");
	is_int(1, (int)stat_of(in, "matched"), "stats: matched");
	tw_inbound_free(in);
	fh_reset();
}

static void test_unicode_multiline(tw_inbound_worker *w)
{
	tw_inbound *in = engine("all", 5000);
	json_object *e;
	char *out;

	sub_ok(in, 1,
	       "{\"pattern\":\"(?i)café (?<what>\\\\S+)\","
	       "\"echo\":\"got ${what}\"}");
	sub_ok(in, 2, "{\"pattern\":\"^Order (?<n>\\\\d+)$\"}");
	sub_ok(in, 3, "{\"pattern\":\"(?m)^Order (?<n>\\\\d+)$\"}");
	sub_ok(in, 4, "{\"pattern\":\"(?<e>\xf0\x9f\x98\x80+)\"}");
	handle(in, w, SID1,
	       "CAFÉ ☕crème\nOrder 77\nbye \xf0\x9f\x98\x80\xf0\x9f\x98\x80",
	       &out, NULL);
	is_str(TWIML("<Message>got ☕crème</Message>"), out,
	       "(?i) folds É, a group captures UTF-8 text");
	free(out);
	is_int(3, fh_nevents,
	       "subs 1, 3 and 4 match; 2 (^...$ without (?m)) not");
	e = event(1);
	is_int(3, (int)fh_event_sub[1], "the (?m) sub matched a middle line");
	is_str("77", get_str(e, "matchGroups.n"), "its group");
	json_object_put(e);
	e = event(2);
	is_str("\xf0\x9f\x98\x80\xf0\x9f\x98\x80", get_str(e, "matchGroups.e"),
	       "an astral-plane group");
	json_object_put(e);
	fh_reset();
	/* invalid UTF-8 is replaced, never a failed request */
	is_int(200, handle(in, w, SID2, "caf\xc3 \xff\nOrder 1", &out, NULL),
	       "invalid UTF-8 in the body: 200");
	free(out);
	e = event(0);
	is_str("caf\xef\xbf\xbd \xef\xbf\xbd\nOrder 1",
	       e ? get_str(e, "originalMessage") : "",
	       "bad bytes become U+FFFD");
	json_object_put(e);
	tw_inbound_free(in);
	fh_reset();
}

static void test_no_match_and_to(tw_inbound_worker *w)
{
	tw_inbound *in = engine("all", 5000);
	char *out;

	sub_ok(in, 1,
	       "{\"pattern\":\"^yes$\",\"to\":\"+15550001111\","
	       "\"echo\":\"number\"}");
	sub_ok(in, 2,
	       "{\"pattern\":\"^yes$\",\"to\":\"" MG1 "\","
	       "\"echo\":\"service\"}");
	sub_ok(in, 3, "{\"pattern\":\"^yes$\",\"echo\":\"any\"}");
	is_int(200, handle(in, w, SID1, "no", &out, NULL), "no match: 200");
	is_str(EMPTY, out, "no match: <Response/>");
	free(out);
	is_int(0, fh_nevents, "no match: nothing published");
	handle(in, w, SID2, "yes", &out, "To", "+15550001111", NULL);
	is_str(TWIML("<Message>number</Message><Message>any</Message>"), out,
	       "to filter: the number");
	free(out);
	handle(in, w, SID3, "yes", &out, "MessagingServiceSid", MG1, NULL);
	is_str(TWIML("<Message>service</Message><Message>any</Message>"), out,
	       "to filter: the messaging service");
	free(out);
	tw_inbound_free(in);
	fh_reset();
}

static void test_reply_modes(tw_inbound_worker *w)
{
	static const char *const modes[] = {"first", "all", "none"};
	static const char *const want[] = {
	        TWIML("<Message>three</Message>"),
	        TWIML("<Message>three</Message><Message>five</Message>"),
	        EMPTY};
	int i;

	for (i = 0; i < 3; i++) {
		tw_inbound *in = engine(modes[i], 5000);
		char *out;

		/* subscribed out of order: the lowest id replies first */
		sub_ok(in, 5, "{\"pattern\":\"\",\"echo\":\"five\"}");
		sub_ok(in, 9, "{\"pattern\":\"x\",\"echo\":\"nine\"}");
		sub_ok(in, 3, "{\"pattern\":\"\",\"echo\":\"three\"}");
		sub_ok(in, 4, "{\"pattern\":\"\"}"); /* no echo */
		handle(in, w, SID1, "hello", &out, NULL);
		is_str(want[i], out, "reply mode %s", modes[i]);
		free(out);
		is_int(3, fh_nevents, "mode %s: three subs published",
		       modes[i]);
		tw_inbound_free(in);
		fh_reset();
	}
}

static void test_limits(tw_inbound_worker *w)
{
	tw_inbound *in = engine("first", 5000);
	char *out, *big;
	size_t n = 200000;
	int rc;

	sub_ok(in, 1, "{\"pattern\":\"(a+)+$\",\"echo\":\"matched\"}");
	big = malloc(n + 2);
	memset(big, 'a', 40);
	strcpy(big + 40, "!");
	rc = handle(in, w, SID1, big, &out, NULL);
	is_int(200, rc, "catastrophic backtracking: 200, not a failure");
	is_str(EMPTY, out, "catastrophic backtracking: no match");
	free(out);
	is_int(1, (int)stat_of(in, "match_limit_hits"),
	       "catastrophic backtracking: a match-limit hit counted");
	ok(contains(fh_log.data, "PCRE2 limit"), "the limit hit is logged");
	is_int(0, fh_nevents, "nothing published");
	tw_inbound_unsubscribe(in, 1);
	/* a pattern whose backtracking uses the JIT stack per character */
	sub_ok(in, 2, "{\"pattern\":\"^(?:(a)|b)*$\",\"echo\":\"m\"}");
	memset(big, 'a', n);
	big[n] = 'c';
	big[n + 1] = '\0';
	rc = handle(in, w, SID2, big, &out, NULL);
	is_int(200, rc, "a long body against a stack-hungry pattern: 200");
	is_str(EMPTY, out, "... no match (the body ends in c)");
	free(out);
	big[n] = '\0';
	rc = handle(in, w, SID3, big, &out, NULL);
	is_int(200, rc, "the same without the c: 200, no crash");
	ok(!strcmp(out, EMPTY) || !strcmp(out, TWIML("<Message>m</Message>")),
	   "... a match or (stack exhausted) no match: %s", out);
	diag("JIT stack case: %s, limit hits %ld", out,
	     stat_of(in, "match_limit_hits"));
	free(out);
	free(big);
	tw_inbound_free(in);
	fh_reset();
}

static void test_echo_error(tw_inbound_worker *w)
{
	tw_inbound *in = engine("all", 500);
	char *out;

	sub_ok(in, 1,
	       "{\"pattern\":\"(?<w>\\\\w+)\",\"echo\":\"ok ${w}\","
	       "\"echoError\":\"sorry ${from}, try again\"}");
	fh_refuse_sub = 1;
	handle(in, w, SID1, "hello", &out, NULL);
	is_str(TWIML("<Message>sorry +14155550100, try again</Message>"), out,
	       "host refuses: echoError rendered (from in the model)");
	free(out);
	is_int(1, (int)stat_of(in, "publish_failed"), "stats: publish_failed");
	fh_refuse_sub = -1;
	fh_slow_ms = 1500; /* well past the 500 ms publish deadline */
	handle(in, w, SID2, "hello", &out, NULL);
	is_str(TWIML("<Message>sorry +14155550100, try again</Message>"), out,
	       "host too slow: echoError");
	free(out);
	is_int(1, (int)stat_of(in, "publish_late"), "stats: publish_late");
	fh_slow_ms = 0;
	/* the late publish was accepted, so remembered: a retry gets the
	 * same answer and publishes nothing (the host has the event) */
	{
		long before =
		        stat_of(in, "published") + stat_of(in, "publish_late");
		handle(in, w, SID2, "hello", &out, NULL);
		is_str(TWIML("<Message>sorry +14155550100, try "
		             "again</Message>"),
		       out, "retry after a late publish: the same echoError");
		is_int(before,
		       stat_of(in, "published") + stat_of(in, "publish_late"),
		       "and nothing published again");
		free(out);
	}
	/* a render failure leaves that reply out */
	sub_ok(in, 2, "{\"pattern\":\"\",\"echo\":\"${missing}\"}");
	handle(in, w, SID3, "x", &out, NULL);
	is_str(TWIML("<Message>ok x</Message>"), out,
	       "a failed render leaves only that reply out");
	free(out);
	is_int(1, (int)stat_of(in, "echo_render_errors"),
	       "stats: echo_render_errors");
	tw_inbound_free(in);
	fh_reset();
}

static void test_dedupe(tw_inbound_worker *w)
{
	tw_inbound *in = engine("all", 500);
	json_object *r;
	char *out;
	long pubs;
	int rc;

	sub_ok(in, 1, "{\"pattern\":\"\",\"echo\":\"one\"}");
	sub_ok(in, 2,
	       "{\"pattern\":\"\",\"echo\":\"two\","
	       "\"echoError\":\"two failed\"}");
	/* sub 2 refused: only sub 1 is remembered */
	fh_refuse_sub = 2;
	handle(in, w, SID1, "hi", &out, NULL);
	is_str(TWIML("<Message>one</Message><Message>two failed</Message>"),
	       out, "first try: sub 2 refused");
	free(out);
	pubs = atomic_load(&fh_publishes);
	fh_refuse_sub = -1;
	handle(in, w, SID1, "hi", &out, NULL);
	is_str(TWIML("<Message>one</Message><Message>two</Message>"), out,
	       "retry: sub 1's reply reused, sub 2 published");
	free(out);
	is_int(1, (int)(atomic_load(&fh_publishes) - pubs),
	       "retry: only the failed sub published again");
	is_int(1, fh_nevents == 2 && fh_event_sub[1] == 2,
	       "the retry's event is sub 2's");
	pubs = atomic_load(&fh_publishes);
	handle(in, w, SID1, "hi", &out, NULL);
	is_str(TWIML("<Message>one</Message><Message>two</Message>"), out,
	       "replay: the same reply");
	free(out);
	is_int(0, (int)(atomic_load(&fh_publishes) - pubs),
	       "replay: nothing published");
	is_int(3, (int)stat_of(in, "duplicates"), "stats: duplicates");

	/* another worker holds SID2 for sub 1 */
	fh_claim(NULL, "inbound/" SID2 "/1", 1000, &r);
	pubs = atomic_load(&fh_publishes);
	rc = handle(in, w, SID2, "hi", &out, NULL);
	is_int(503, rc, "IN_PROGRESS past the wait: 503");
	ok(contains(out, "retry later"), "503 says retry later: %s", out);
	free(out);
	is_int(1, (int)stat_of(in, "in_progress_503"),
	       "stats: in_progress_503");
	/* the other worker finishes; Twilio's retry gets its reply */
	fh_settle(NULL, "inbound/" SID2 "/1",
	          json_tokener_parse("{\"reply\":\"from the other\"}"), 1000);
	rc = handle(in, w, SID2, "hi", &out, NULL);
	is_int(200, rc, "after the other worker settled: 200");
	is_str(TWIML("<Message>from the other</Message><Message>two</Message>"),
	       out, "its stored reply, and sub 2's");
	free(out);
	is_int(1, (int)(atomic_load(&fh_publishes) - pubs),
	       "sub 2 was published once (in the 503 request), sub 1 never");

	/* the store is full */
	fh_full = 1;
	pubs = atomic_load(&fh_publishes);
	rc = handle(in, w, SID3, "hi", &out, NULL);
	is_int(503, rc, "store full: 503");
	free(out);
	is_int(0, (int)(atomic_load(&fh_publishes) - pubs),
	       "store full: nothing published");
	is_int(1, (int)stat_of(in, "store_full_503"), "stats: store_full_503");
	ok(contains(fh_log.data, "store refused"), "store full is logged");
	fh_full = 0;
	tw_inbound_free(in);
	fh_reset();
}

/* A claim settled by another thread while the request waits. */
static void *settle_later(void *arg)
{
	(void)arg;
	sleep_ms(50);
	fh_settle(NULL, "inbound/" SID1 "/1",
	          json_tokener_parse("{\"reply\":\"late but there\"}"), 1000);
	return NULL;
}

static void test_wait_resolves(tw_inbound_worker *w)
{
	tw_inbound *in = engine("first", 5000);
	json_object *r;
	pthread_t t;
	char *out;
	int rc;

	sub_ok(in, 1, "{\"pattern\":\"\",\"echo\":\"mine\"}");
	fh_claim(NULL, "inbound/" SID1 "/1", 1000, &r);
	pthread_create(&t, NULL, settle_later, NULL);
	rc = handle(in, w, SID1, "hi", &out, NULL);
	pthread_join(t, NULL);
	is_int(200, rc, "IN_PROGRESS settled during the wait: 200");
	is_str(TWIML("<Message>late but there</Message>"), out,
	       "... with the other worker's reply");
	free(out);
	is_int(0, (int)atomic_load(&fh_publishes), "... nothing published");
	tw_inbound_free(in);
	fh_reset();
}

static void test_opt_out(tw_inbound_worker *w)
{
	tw_inbound *in = engine("first", 5000);
	json_object *e;
	char *out;

	sub_ok(in, 1,
	       "{\"pattern\":\"\",\"echo\":\"thanks\","
	       "\"echoError\":\"sorry\"}");
	handle(in, w, SID1, "STOP", &out, "OptOutType", "STOP", NULL);
	is_str(EMPTY, out, "STOP: never echoed");
	free(out);
	e = event(0);
	is_str("STOP", e ? get_str(e, "optOutType") : "",
	       "STOP: published with optOutType");
	json_object_put(e);
	fh_refuse_sub = 1;
	handle(in, w, SID2, "HELP", &out, "OptOutType", "HELP", NULL);
	is_str(EMPTY, out, "HELP refused by the host: no echoError either");
	free(out);
	tw_inbound_free(in);
	fh_reset();
}

static void test_twiml(tw_inbound_worker *w)
{
	tw_inbound *in = engine("first", 5000);
	char *out, *body, *want;
	size_t i;

	sub_ok(in, 1, "{\"pattern\":\"^e:\",\"echo\":\"${originalMessage}\"}");
	sub_ok(in, 2,
	       "{\"pattern\":\"^[^e]\",\"echo\":\"${originalMessage}\"}");
	handle(in, w, SID1, "e:<a href=\"x\">Tom & Jerry's</a>\x01!", &out,
	       NULL);
	is_str(TWIML("<Message>e:&lt;a href=&quot;x&quot;&gt;Tom &amp; "
	             "Jerry&apos;s&lt;/a&gt;!</Message>"),
	       out, "XML-escaped; a control character XML forbids left out");
	free(out);
	/* 1599 'a' + an emoji (2 UTF-16 units) = 1601: the emoji goes */
	body = malloc(2000);
	want = malloc(4000);
	memset(body, 'a', 1599);
	strcpy(body + 1599, "\xf0\x9f\x98\x80tail");
	handle(in, w, SID2, body, &out, NULL);
	strcpy(want, "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response>"
	             "<Message>");
	i = strlen(want);
	memset(want + i, 'a', 1599);
	strcpy(want + i + 1599, "</Message></Response>");
	is_str(want, out,
	       "1600 UTF-16 units: cut before a surrogate pair that would "
	       "pass it");
	free(out);
	memset(body, 'b', 1700);
	body[1700] = '\0';
	handle(in, w, SID3, body, &out, NULL);
	memset(want + i, 'b', 1600);
	strcpy(want + i + 1600, "</Message></Response>");
	is_str(want, out, "1700 characters cut to 1600");
	free(out);
	free(body);
	free(want);
	tw_inbound_free(in);
	fh_reset();
}

static void test_bad_requests(tw_inbound_worker *w)
{
	tw_inbound *in = engine("first", 5000);
	char *out;
	int rc;

	sub_ok(in, 1, "{\"pattern\":\"\"}");
	rc = handle(in, w, NULL, "hi", &out, NULL);
	is_int(400, rc, "no MessageSid: 400");
	ok(contains(out, "MessageSid: missing"), "... says so: %s", out);
	free(out);
	rc = handle(in, w, "SM123", "hi", &out, NULL);
	is_int(400, rc, "a bad MessageSid: 400");
	free(out);
	rc = handle(in, w, NULL, "hi", &out, "SmsSid", SID1, NULL);
	is_int(200, rc, "SmsSid is accepted instead");
	free(out);
	is_int(0, (int)stat_of(in, "received") - 1, "stats: received");
	tw_inbound_free(in);
	fh_reset();
}

static void test_subscribe_refusals(void)
{
	tw_inbound *in = engine("first", 5000);
	char err[512], big[9000], json[9100];

	err[0] = 0;
	is_int(CONN_EINVAL,
	       sub(in, 1, "{\"pattern\":\"ab(c\"}", err, sizeof(err)),
	       "bad regex refused");
	ok(contains(err, "pattern") && contains(err, "offset 4") &&
	           contains(err, "missing closing parenthesis"),
	   "... naming the field, the offset and the reason: %s", err);
	is_int(CONN_EINVAL,
	       sub(in, 1, "{\"pattern\":\"\",\"echoError\":\"${a\"}", err,
	           sizeof(err)),
	       "bad template refused");
	ok(contains(err, "echoError") && contains(err, "line 1"),
	   "... naming it and the place: %s", err);
	is_int(CONN_EINVAL,
	       sub(in, 1, "{\"pattern\":\"\",\"colour\":\"red\"}", err,
	           sizeof(err)),
	       "unknown param refused");
	ok(contains(err, "colour") && contains(err, "unknown"),
	   "... naming it: %s", err);
	memset(big, 'a', 5000);
	big[5000] = 0;
	snprintf(json, sizeof(json), "{\"pattern\":\"%s\"}", big);
	is_int(CONN_EINVAL, sub(in, 1, json, err, sizeof(err)),
	       "oversized pattern refused");
	ok(contains(err, "4096"), "... naming the limit: %s", err);
	big[8193] = 0;
	memset(big, 'a', 8193);
	snprintf(json, sizeof(json), "{\"pattern\":\"\",\"echo\":\"%s\"}", big);
	is_int(CONN_EINVAL, sub(in, 1, json, err, sizeof(err)),
	       "oversized echo refused");
	is_int(CONN_EINVAL, sub(in, 1, "{\"pattern\":7}", err, sizeof(err)),
	       "a non-string pattern refused");
	ok(contains(err, "must be a string"), "... %s", err);
	is_int(CONN_EINVAL, sub(in, 1, "{\"echo\":\"x\"}", err, sizeof(err)),
	       "missing pattern refused");
	ok(contains(err, "pattern: missing"), "... %s", err);
	is_int(CONN_EINVAL,
	       sub(in, 1, "{\"pattern\":\"\",\"to\":\"+1 415 555\"}", err,
	           sizeof(err)),
	       "a bad to refused");
	is_int(CONN_EINVAL,
	       sub(in, 1, "{\"pattern\":\"\",\"to\":\"MG123\"}", err,
	           sizeof(err)),
	       "a bad MG sid refused");
	is_int(CONN_EINVAL, sub(in, 1, "[1]", err, sizeof(err)),
	       "params not an object refused");
	is_int(0, sub(in, 1, "{\"pattern\":\"\"}", err, sizeof(err)),
	       "a good one accepted");
	is_int(CONN_EEXIST, sub(in, 1, "{\"pattern\":\"\"}", err, sizeof(err)),
	       "the same id twice: EEXIST");
	is_int(1, (int)stat_of(in, "subscriptions"), "stats: subscriptions");
	is_int(0, tw_inbound_unsubscribe(in, 1), "unsubscribe");
	is_int(CONN_ENOENT, tw_inbound_unsubscribe(in, 1),
	       "unsubscribe twice: ENOENT");
	tw_inbound_free(in);
	fh_reset();
}

/* ---- unsubscribe while traffic flows ---------------------------------- */

static tw_inbound *hammer_in;
static atomic_int hammer_stop;

static void *hammer(void *arg)
{
	tw_inbound_worker *w = tw_inbound_worker_new();
	unsigned long i = (unsigned long)(uintptr_t)arg * 100000000ul;
	char sid[40], *out;

	while (!atomic_load(&hammer_stop)) {
		snprintf(sid, sizeof(sid), "SM%032lx", i++);
		handle(hammer_in, w, sid, "go", &out, NULL);
		free(out);
	}
	tw_inbound_worker_free(w);
	return NULL;
}

static void test_unsubscribe_traffic(void)
{
	pthread_t t[3];
	int i, k, round, violations = 0, inside_after = 0;
	long before;

	hammer_in = engine("first", 5000);
	atomic_store(&hammer_stop, 0);
	for (i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, hammer, (void *)(uintptr_t)i);
	for (round = 0; round < 20; round++) {
		uint64_t id = 100 + (uint64_t)round;

		atomic_store(&fh_watch_gone, 0);
		atomic_store(&fh_watch_sub, (int)id);
		before = atomic_load(&fh_publishes);
		sub_ok(hammer_in, id, "{\"pattern\":\"go\",\"echo\":\"x\"}");
		/* unsubscribe while publishes for ID flow (no fixed sleep:
		 * the machine may be busy) */
		for (k = 0;
		     k < 10000 && atomic_load(&fh_publishes) - before < 3; k++)
			sleep_ms(1);
		tw_inbound_unsubscribe(hammer_in, id);
		/* after it returns: nothing for ID is running... */
		inside_after += atomic_load(&fh_watch_inside);
		/* ...and nothing new starts */
		atomic_store(&fh_watch_gone, 1);
		sleep_ms(2);
	}
	atomic_store(&hammer_stop, 1);
	for (i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	violations = atomic_load(&fh_watch_violations);
	is_int(0, inside_after,
	       "after unsubscribe returned no publish for it was running");
	is_int(0, violations, "after unsubscribe returned none started");
	ok(atomic_load(&fh_publishes) >= 60, "traffic flowed (%ld publishes)",
	   (long)atomic_load(&fh_publishes));
	atomic_store(&fh_watch_sub, -1);
	tw_inbound_free(hammer_in);
	fh_reset();
}

int main(void)
{
	tw_inbound_worker *w = tw_inbound_worker_new();

	ok(w != NULL, "a worker");
	test_groups(w);
	test_unicode_multiline(w);
	test_no_match_and_to(w);
	test_reply_modes(w);
	test_limits(w);
	test_echo_error(w);
	test_dedupe(w);
	test_wait_resolves(w);
	test_opt_out(w);
	test_twiml(w);
	test_bad_requests(w);
	test_subscribe_refusals();
	test_unsubscribe_traffic();
	tw_inbound_worker_free(w);
	fh_reset();
	return done_testing();
}
