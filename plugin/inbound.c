/*
 * inbound.c - the SMS_RECEIVED engine (see tw_inbound.h for the contract).
 *
 * One request runs in four steps on the calling worker thread:
 *   1. read the form (MessageSid, Body, From, To, ...), copy the live
 *      subscriptions (each pinned by a reference) and match each one;
 *   2. claim "inbound/<MessageSid>/<sub_id>" for every match: NEW ones are
 *      ours to publish, DONE ones give back their stored reply, IN_PROGRESS
 *      ones are waited for;
 *   3. publish the NEW ones in sub id order, each followed by the render
 *      of echo or echoError and a settle (a result after a success, NULL
 *      after a failure so that a retry publishes again);
 *   4. poll the IN_PROGRESS claims until they end or the wait runs out,
 *      then write TwiML (200) or a reason (503).
 *
 * Locking: in->mu guards the subscription array, each subscription's
 * reference count, its "dead" flag and its count of running publishes.
 * It is never held across a host service. tw_inbound_unsubscribe() marks
 * the subscription dead and waits on in->cv until its running publishes
 * are done; a worker checks "dead" and counts itself in under the same
 * lock before it publishes, so no publish can start after the unsubscribe
 * returned. The memory lives until the last reference is dropped.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <errno.h>
#include <stdarg.h>
#include <inttypes.h>
#include <pcre2.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tw_inbound.h"
#include "tw_mask.h"

/*
 * Under valgrind, patterns are not JIT-compiled: valgrind cannot follow
 * code generated at run time (every JIT match reports "uninitialised"
 * jumps in frames it cannot name, which no narrow suppression matches),
 * so `make check-valgrind` checks the interpreter, with the same limits,
 * and the ASan build checks the JIT. Without valgrind's header the JIT is
 * always used.
 */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TW_UNDER_VALGRIND() RUNNING_ON_VALGRIND
#endif
#endif
#ifndef TW_UNDER_VALGRIND
#define TW_UNDER_VALGRIND() 0
#endif

/* ---- types ------------------------------------------------------------ */

typedef struct tw_group {
	char *name;
	uint32_t number;
} tw_group;

typedef struct tw_sub {
	uint64_t id;
	char *to;          /* filter, or NULL */
	int to_is_service; /* TO names a messaging service (MG...) */
	pcre2_code *re;
	uint32_t pairs;   /* capture groups + 1 */
	tw_group *groups; /* named groups, in name-table order */
	size_t ngroups;
	ftl_template *echo; /* or NULL */
	ftl_template *echo_error;
	/* guarded by tw_inbound.mu */
	int refs;
	int dead;
	int publishing;
} tw_sub;

/* At most one log line per second per kind; the rest are counted. */
typedef struct tw_ratelimit {
	_Atomic int64_t last_ms;
	atomic_long suppressed;
} tw_ratelimit;

struct tw_inbound {
	const conn_host *host;
	ftl_settings fs;
	char *locale, *number_format; /* FS's strings, owned */
	uint32_t dedupe_ttl_ms;
	int64_t publish_deadline_ms;
	int reply_mode; /* REPLY_* */
	int log_bodies, log_numbers;

	pthread_mutex_t mu;
	pthread_cond_t cv;
	tw_sub **subs; /* sorted by id */
	size_t nsubs, cap;

	atomic_long received, matched, published, publish_failed, publish_late,
	        duplicates, in_progress_503, store_full_503, match_limit_hits,
	        echo_render_errors;
	tw_ratelimit rl_limit, rl_full, rl_render, rl_progress;
};

enum { REPLY_FIRST, REPLY_ALL, REPLY_NONE };

/* What happened to one matching subscription in one request. */
enum {
	ST_WAIT,    /* claim IN_PROGRESS: poll */
	ST_NEW,     /* claimed: publish */
	ST_DONE,    /* answered (published now or before) */
	ST_SKIPPED, /* unsubscribed meanwhile, failed, or not ours */
	ST_RETRY    /* must be retried by Twilio: 503 */
};

typedef struct tw_hit {
	tw_sub *sub;
	json_object *groups; /* matchGroups, owned */
	char *reply;         /* the reply text, or NULL */
	int state;
	int outcome;    /* 'p' published, 'f' failed, 'l' late, 'd' duplicate */
	uint64_t owner; /* the claim's owner token (0: a 1.0 host) */
} tw_hit;

struct tw_inbound_worker {
	pcre2_jit_stack *jit;
	pcre2_match_context *mctx;
	pcre2_match_data *md;
	uint32_t md_pairs;
	tw_sub **snap; /* scratch: this request's subscriptions */
	size_t snap_cap;
	tw_hit *hits;
	size_t hits_cap;
};

/* The fields of one message, borrowed from the form (NUL-terminated). */
typedef struct tw_msg {
	char sid[40];
	const char *body, *from, *to, *service, *opt_out;
	size_t body_len;
	char *clean_body; /* BODY with invalid UTF-8 replaced, or NULL */
	char received_at[32];
} tw_msg;

/* ---- small helpers ---------------------------------------------------- */

static void count(atomic_long *c)
{
	atomic_fetch_add_explicit(c, 1, memory_order_relaxed);
}

/* Whether a line of this kind may be logged now; *SUPPRESSED gets the
 * number of lines left out since the last one. */
static int rl_allow(tw_ratelimit *rl, long *suppressed)
{
	int64_t now = conn_now_ms(), last = atomic_load(&rl->last_ms);

	if ((last != 0 && now - last < 1000) ||
	    !atomic_compare_exchange_strong(&rl->last_ms, &last, now)) {
		atomic_fetch_add(&rl->suppressed, 1);
		return 0;
	}
	*suppressed = atomic_exchange(&rl->suppressed, 0);
	return 1;
}

static void log_limited(tw_inbound *in, tw_ratelimit *rl, conn_log_level lv,
                        json_object *fields, const char *msg)
{
	long sup = 0;

	if (!rl_allow(rl, &sup)) {
		json_object_put(fields);
		return;
	}
	if (sup > 0) {
		if (!fields)
			fields = json_object_new_object();
		if (fields)
			json_object_object_add(fields, "suppressed",
			                       json_object_new_int64(sup));
	}
	tw_log(in->host, lv, fields, msg);
}

static int is_hex(int c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
	       (c >= 'A' && c <= 'F');
}

/* A Twilio sid: two capital letters and 32 hex digits. */
static int is_sid(const char *s, size_t n, const char *prefix)
{
	size_t i;

	if (n != 34 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z')
		return 0;
	if (prefix && (s[0] != prefix[0] || s[1] != prefix[1]))
		return 0;
	for (i = 2; i < n; i++)
		if (!is_hex((unsigned char)s[i]))
			return 0;
	return 1;
}

/*
 * Decode one UTF-8 character at S (N > 0 bytes left). Returns its length
 * and *CP, or 0 when the bytes there are not a valid character.
 */
static size_t utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	uint32_t c = s[0], min;
	size_t len, i;

	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	if ((c & 0xe0) == 0xc0) {
		len = 2, c &= 0x1f, min = 0x80;
	} else if ((c & 0xf0) == 0xe0) {
		len = 3, c &= 0x0f, min = 0x800;
	} else if ((c & 0xf8) == 0xf0) {
		len = 4, c &= 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return len;
}

/* S (N bytes) with every invalid UTF-8 byte replaced by U+FFFD; NULL when
 * S is valid already (*OOM set when out of memory). */
static char *utf8_clean(const char *s, size_t n, size_t *out_len, int *oom)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	uint32_t cp;
	tw_buf b = {0};

	while (i < n && (k = utf8_next(p + i, n - i, &cp)) != 0)
		i += k;
	if (i == n)
		return NULL;
	tw_buf_append(&b, s, i);
	while (i < n) {
		k = utf8_next(p + i, n - i, &cp);
		if (k == 0) {
			tw_buf_append(&b, "\xef\xbf\xbd", 3);
			i++;
		} else {
			tw_buf_append(&b, s + i, k);
			i += k;
		}
	}
	if (b.oom) {
		*oom = 1;
		tw_buf_free(&b);
		return NULL;
	}
	*out_len = b.len;
	return tw_buf_take(&b, NULL);
}

/* ---- subscriptions ---------------------------------------------------- */

static void sub_free(tw_sub *s)
{
	size_t i;

	if (!s)
		return;
	free(s->to);
	pcre2_code_free(s->re);
	for (i = 0; i < s->ngroups; i++)
		free(s->groups[i].name);
	free(s->groups);
	ftl_template_unref(s->echo);
	ftl_template_unref(s->echo_error);
	free(s);
}

/* The string value of param NAME (a borrowed json string), checked. */
static int param_string(json_object *v, const char *name, size_t max,
                        const char **out, size_t *len, char *err, size_t errlen)
{
	if (!json_object_is_type(v, json_type_string)) {
		tw_errf(err, errlen, "%s: must be a string", name);
		return CONN_EINVAL;
	}
	*out = json_object_get_string(v);
	*len = (size_t)json_object_get_string_len(v);
	if (*len > max) {
		tw_errf(err, errlen,
		        "%s: %zu bytes, more than the limit of %zu; shorten it",
		        name, *len, max);
		return CONN_EINVAL;
	}
	if (memchr(*out, '\0', *len)) {
		tw_errf(err, errlen, "%s: contains a NUL character; remove it",
		        name);
		return CONN_EINVAL;
	}
	return 0;
}

static int compile_pattern(tw_sub *s, const char *src, size_t len, char *err,
                           size_t errlen)
{
	pcre2_compile_context *cc = pcre2_compile_context_create(NULL);
	PCRE2_SIZE off = 0;
	PCRE2_UCHAR msg[256];
	PCRE2_SPTR table;
	uint32_t cap = 0, n = 0, esize = 0, i;
	int rc;

	if (!cc)
		return CONN_ENOMEM;
	pcre2_set_max_pattern_length(cc, TW_INBOUND_PATTERN_MAX);
	pcre2_set_parens_nest_limit(cc, 64);
	/* Not PCRE2_MATCH_INVALID_UTF: with it, 10.42's JIT misses caseless
	 * non-ASCII matches the interpreter finds ("(?i)café" against
	 * "CAFÉ ..."; tests/plugin/test_inbound.c). Bodies are made valid UTF-8
	 * before matching instead (utf8_clean), which also lets the match
	 * skip its UTF check. */
	s->re = pcre2_compile((PCRE2_SPTR)src, len,
	                      PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C, &rc, &off,
	                      cc);
	pcre2_compile_context_free(cc);
	if (!s->re) {
		pcre2_get_error_message(rc, msg, sizeof(msg));
		tw_errf(err, errlen,
		        "pattern: does not compile at offset %zu: %s "
		        "(PCRE2 syntax; Java's (?<name>...) groups work as "
		        "they are)",
		        (size_t)off, (const char *)msg);
		return rc == PCRE2_ERROR_NOMEMORY ? CONN_ENOMEM : CONN_EINVAL;
	}
	/* no JIT (unsupported CPU, no executable memory): the interpreter
	 * runs with the same limits */
	if (!TW_UNDER_VALGRIND())
		(void)pcre2_jit_compile(s->re, PCRE2_JIT_COMPLETE);
	pcre2_pattern_info(s->re, PCRE2_INFO_CAPTURECOUNT, &cap);
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMECOUNT, &n);
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMEENTRYSIZE, &esize);
	pcre2_pattern_info(s->re, PCRE2_INFO_NAMETABLE, &table);
	s->pairs = cap + 1;
	if (n == 0)
		return 0;
	s->groups = calloc(n, sizeof(*s->groups));
	if (!s->groups)
		return CONN_ENOMEM;
	for (i = 0; i < n; i++) {
		const unsigned char *e = table + (size_t)i * esize;

		s->groups[i].number = ((uint32_t)e[0] << 8) | e[1];
		s->groups[i].name = strdup((const char *)e + 2);
		if (!s->groups[i].name)
			return CONN_ENOMEM;
		s->ngroups++;
	}
	return 0;
}

static int compile_template(ftl_template **out, const char *name,
                            const char *src, size_t len, char *err,
                            size_t errlen)
{
	ftl_error fe;

	memset(&fe, 0, sizeof(fe));
	*out = ftl_compile(src, len, &fe);
	if (*out)
		return 0;
	if (fe.kind == FTL_NOMEM)
		return CONN_ENOMEM;
	tw_errf(err, errlen, "%s: does not compile at line %d, column %d: %s",
	        name, fe.line, fe.column, fe.message);
	return CONN_EINVAL;
}

/* "+14155550100", "14155550100" (short codes too), "whatsapp:+1...":
 * what Twilio puts in To. */
static int valid_to(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t i = 0;

	if (colon) {
		for (; s + i < colon; i++)
			if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '-'))
				return 0;
		if (i == 0)
			return 0;
		i++;
	}
	if (i < n && s[i] == '+')
		i++;
	if (i == n)
		return 0;
	for (; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int sub_build(tw_sub *s, json_object *params, char *err, size_t errlen)
{
	const char *v;
	size_t len;
	int rc, have_pattern = 0;

	if (!params || !json_object_is_type(params, json_type_object)) {
		tw_errf(err, errlen,
		        "params: must be a JSON object with at least "
		        "\"pattern\"");
		return CONN_EINVAL;
	}
	json_object_object_foreach(params, key, val)
	{
		if (!strcmp(key, "pattern")) {
			rc = param_string(val, key, TW_INBOUND_PATTERN_MAX, &v,
			                  &len, err, errlen);
			if (!rc)
				rc = compile_pattern(s, v, len, err, errlen);
			have_pattern = 1;
		} else if (!strcmp(key, "to")) {
			rc = param_string(val, key, TW_INBOUND_TO_MAX, &v, &len,
			                  err, errlen);
			if (!rc && len > 2 && v[0] == 'M' && v[1] == 'G') {
				if (!is_sid(v, len, "MG")) {
					tw_errf(err, errlen,
					        "to: '%.*s' is not a messaging "
					        "service sid (MG and 32 hex "
					        "digits)",
					        (int)len, v);
					return CONN_EINVAL;
				}
				s->to_is_service = 1;
			} else if (!rc && !valid_to(v, len)) {
				tw_errf(err, errlen,
				        "to: not a phone number as Twilio "
				        "writes "
				        "it (E.164 like +14155550100, a short "
				        "code, or channel:+number) nor a "
				        "messaging service sid (MG...)");
				return CONN_EINVAL;
			}
			if (!rc && !(s->to = strndup(v, len)))
				rc = CONN_ENOMEM;
		} else if (!strcmp(key, "echo") || !strcmp(key, "echoError")) {
			rc = param_string(val, key, TW_INBOUND_TEMPLATE_MAX, &v,
			                  &len, err, errlen);
			if (!rc)
				rc = compile_template(key[4] ? &s->echo_error
				                             : &s->echo,
				                      key, v, len, err, errlen);
		} else {
			tw_errf(err, errlen,
			        "%.64s: unknown param (SMS_RECEIVED takes "
			        "pattern, to, echo and echoError)",
			        key);
			rc = CONN_EINVAL;
		}
		if (rc)
			return rc;
	}
	if (!have_pattern) {
		tw_errf(err, errlen,
		        "pattern: missing; give a regular expression (\"\" "
		        "matches every message)");
		return CONN_EINVAL;
	}
	return 0;
}

/* Index of the first subscription with id >= ID (in->mu held). */
static size_t sub_find(const tw_inbound *in, uint64_t id)
{
	size_t lo = 0, hi = in->nsubs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (in->subs[mid]->id < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

int tw_inbound_subscribe(tw_inbound *in, uint64_t sub_id, json_object *params,
                         char *err, size_t errlen)
{
	tw_sub *s = calloc(1, sizeof(*s));
	size_t i;
	int rc;

	if (!s)
		return CONN_ENOMEM;
	s->id = sub_id;
	s->refs = 1; /* the list's */
	rc = sub_build(s, params, err, errlen);
	if (rc) {
		if (rc == CONN_ENOMEM)
			tw_errf(err, errlen, "out of memory");
		sub_free(s);
		return rc;
	}
	pthread_mutex_lock(&in->mu);
	i = sub_find(in, sub_id);
	if (i < in->nsubs && in->subs[i]->id == sub_id) {
		rc = CONN_EEXIST;
	} else if (in->nsubs == in->cap) {
		size_t cap = in->cap ? in->cap * 2 : 8;
		tw_sub **n = realloc(in->subs, cap * sizeof(*n));

		if (!n) {
			rc = CONN_ENOMEM;
		} else {
			in->subs = n;
			in->cap = cap;
		}
	}
	if (!rc) {
		memmove(in->subs + i + 1, in->subs + i,
		        (in->nsubs - i) * sizeof(*in->subs));
		in->subs[i] = s;
		in->nsubs++;
	}
	pthread_mutex_unlock(&in->mu);
	if (rc) {
		tw_errf(err, errlen, "%s",
		        rc == CONN_EEXIST ? "sub_id: already subscribed"
		                          : "out of memory");
		sub_free(s);
	}
	return rc;
}

int tw_inbound_unsubscribe(tw_inbound *in, uint64_t sub_id)
{
	tw_sub *s = NULL;
	size_t i;

	pthread_mutex_lock(&in->mu);
	i = sub_find(in, sub_id);
	if (i < in->nsubs && in->subs[i]->id == sub_id) {
		s = in->subs[i];
		memmove(in->subs + i, in->subs + i + 1,
		        (in->nsubs - i - 1) * sizeof(*in->subs));
		in->nsubs--;
		s->dead = 1;
		/* publish returns promptly (ABI): this wait is short */
		while (s->publishing > 0)
			pthread_cond_wait(&in->cv, &in->mu);
		if (--s->refs > 0)
			s = NULL; /* a request still holds it: it frees it */
	} else {
		pthread_mutex_unlock(&in->mu);
		return CONN_ENOENT;
	}
	pthread_mutex_unlock(&in->mu);
	sub_free(s);
	return 0;
}

/* ---- lifecycle -------------------------------------------------------- */

tw_inbound *tw_inbound_new(const conn_host *host, const tw_config *cfg,
                           const ftl_settings *fs, char *err, size_t errlen)
{
	tw_inbound *in = calloc(1, sizeof(*in));
	const char *mode = cfg && cfg->reply_mode ? cfg->reply_mode : "first";
	ftl_error fe;

	if (!in) {
		tw_errf(err, errlen, "out of memory");
		return NULL;
	}
	in->host = host;
	if (fs)
		in->fs = *fs;
	in->fs.deadline_ms = 0;
	if ((in->fs.locale && !(in->locale = strdup(in->fs.locale))) ||
	    (in->fs.number_format &&
	     !(in->number_format = strdup(in->fs.number_format)))) {
		tw_errf(err, errlen, "out of memory");
		goto fail;
	}
	in->fs.locale = in->locale;
	in->fs.number_format = in->number_format;
	if (ftl_settings_check(&in->fs, &fe)) {
		tw_errf(err, errlen, "template settings: %s", fe.message);
		goto fail;
	}
	if (!strcmp(mode, "first")) {
		in->reply_mode = REPLY_FIRST;
	} else if (!strcmp(mode, "all")) {
		in->reply_mode = REPLY_ALL;
	} else if (!strcmp(mode, "none")) {
		in->reply_mode = REPLY_NONE;
	} else {
		tw_errf(err, errlen,
		        "TWILIO_REPLY_MODE: '%.40s' must be first, all or none",
		        mode);
		goto fail;
	}
	in->dedupe_ttl_ms = TW_INBOUND_DEDUPE_TTL_DEFAULT;
	if (cfg && cfg->inbound_dedupe_ttl_ms > 0 &&
	    cfg->inbound_dedupe_ttl_ms <= (long)UINT32_MAX)
		in->dedupe_ttl_ms = (uint32_t)cfg->inbound_dedupe_ttl_ms;
	in->publish_deadline_ms = cfg && cfg->publish_deadline_ms > 0
	                                  ? cfg->publish_deadline_ms
	                                  : 5000;
	if (in->publish_deadline_ms > TW_INBOUND_PUBLISH_DEADLINE_CAP)
		in->publish_deadline_ms = TW_INBOUND_PUBLISH_DEADLINE_CAP;
	in->log_bodies = cfg ? cfg->log_bodies : 0;
	in->log_numbers = cfg ? cfg->log_numbers : 0;
	if (pthread_mutex_init(&in->mu, NULL)) {
		tw_errf(err, errlen, "out of memory (mutex)");
		goto fail;
	}
	if (pthread_cond_init(&in->cv, NULL)) {
		pthread_mutex_destroy(&in->mu);
		tw_errf(err, errlen, "out of memory (condition variable)");
		goto fail;
	}
	return in;
fail:
	free(in->locale);
	free(in->number_format);
	free(in);
	return NULL;
}

void tw_inbound_free(tw_inbound *in)
{
	size_t i;

	if (!in)
		return;
	for (i = 0; i < in->nsubs; i++)
		sub_free(in->subs[i]);
	free(in->subs);
	pthread_cond_destroy(&in->cv);
	pthread_mutex_destroy(&in->mu);
	free(in->locale);
	free(in->number_format);
	free(in);
}

tw_inbound_worker *tw_inbound_worker_new(void)
{
	tw_inbound_worker *w = calloc(1, sizeof(*w));

	if (!w)
		return NULL;
	w->jit = pcre2_jit_stack_create(TW_INBOUND_JIT_STACK_MIN,
	                                TW_INBOUND_JIT_STACK_MAX, NULL);
	w->mctx = pcre2_match_context_create(NULL);
	w->md_pairs = 16;
	w->md = pcre2_match_data_create(w->md_pairs, NULL);
	if (!w->jit || !w->mctx || !w->md) {
		tw_inbound_worker_free(w);
		return NULL;
	}
	pcre2_jit_stack_assign(w->mctx, NULL, w->jit);
	pcre2_set_match_limit(w->mctx, TW_INBOUND_MATCH_LIMIT);
	pcre2_set_depth_limit(w->mctx, TW_INBOUND_DEPTH_LIMIT);
	return w;
}

void tw_inbound_worker_free(tw_inbound_worker *w)
{
	if (!w)
		return;
	pcre2_jit_stack_free(w->jit);
	pcre2_match_context_free(w->mctx);
	pcre2_match_data_free(w->md);
	free(w->snap);
	free(w->hits);
	free(w);
}

/* ---- one request: reading the form ------------------------------------ */

static const char *field(const tw_form *f, const char *name, size_t *len)
{
	const tw_field *x = tw_form_get(f, name);

	if (len)
		*len = x ? x->value_len : 0;
	return x ? x->value : NULL;
}

static void rfc3339_now(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;
	size_t len;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	len = strftime(out, n, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(out + len, n - len, ".%03uZ",
	         (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

/* json string of S (NULL -> null), or -1 on out of memory via *OOM. */
static json_object *jstr(const char *s, int *oom)
{
	json_object *o;

	if (!s)
		return NULL;
	o = json_object_new_string(s);
	if (!o)
		*oom = 1;
	return o;
}

static int add(json_object *obj, const char *key, json_object *v, int *oom)
{
	if (json_object_object_add(obj, key, v)) {
		json_object_put(v);
		*oom = 1;
		return -1;
	}
	return 0;
}

/* media: [{url, contentType}] from NumMedia, MediaUrlN, MediaContentTypeN
 * (at most 10, Twilio's maximum). */
static json_object *media_of(const tw_form *f, int *oom)
{
	json_object *arr = json_object_new_array();
	const char *nm = field(f, "NumMedia", NULL);
	long n = nm ? strtol(nm, NULL, 10) : 0, i;
	char key[32];

	if (!arr) {
		*oom = 1;
		return NULL;
	}
	for (i = 0; i < n && i < 10; i++) {
		const char *url, *ct;
		json_object *m;

		snprintf(key, sizeof(key), "MediaUrl%ld", i);
		url = field(f, key, NULL);
		if (!url)
			continue;
		snprintf(key, sizeof(key), "MediaContentType%ld", i);
		ct = field(f, key, NULL);
		m = json_object_new_object();
		if (!m || json_object_array_add(arr, m)) {
			json_object_put(m);
			*oom = 1;
			break;
		}
		add(m, "url", jstr(url, oom), oom);
		add(m, "contentType", jstr(ct, oom), oom);
	}
	return arr;
}

/* The event minus matchGroups (deep-copied per subscription). */
static json_object *event_base(const tw_form *f, const tw_msg *m, int *oom)
{
	json_object *e = json_object_new_object();

	if (!e) {
		*oom = 1;
		return NULL;
	}
	add(e, "originalMessage",
	    json_object_new_string_len(m->body, (int)m->body_len), oom);
	add(e, "to", jstr(m->to, oom), oom);
	add(e, "from", jstr(m->from, oom), oom);
	add(e, "messageSid", jstr(m->sid, oom), oom);
	add(e, "media", media_of(f, oom), oom);
	add(e, "optOutType", jstr(m->opt_out, oom), oom);
	add(e, "receivedAt", jstr(m->received_at, oom), oom);
	return e;
}

/* ---- one request: matching -------------------------------------------- */

static int to_matches(const tw_sub *s, const tw_msg *m)
{
	const char *v = s->to_is_service ? m->service : m->to;

	return !s->to || (v && !strcmp(v, s->to));
}

/*
 * Match S against the body. Returns 1 with *GROUPS (matchGroups) on a
 * match, 0 for no match (a limit hit included), -1 out of memory.
 */
static int match_one(tw_inbound *in, tw_inbound_worker *w, const tw_sub *s,
                     const tw_msg *m, json_object **groups)
{
	PCRE2_SIZE *ov;
	json_object *g;
	size_t i;
	int rc;

	if (s->pairs > w->md_pairs) {
		pcre2_match_data *md = pcre2_match_data_create(s->pairs, NULL);

		if (!md)
			return -1;
		pcre2_match_data_free(w->md);
		w->md = md;
		w->md_pairs = s->pairs;
	}
	rc = pcre2_match(s->re, (PCRE2_SPTR)m->body, m->body_len, 0,
	                 PCRE2_NO_UTF_CHECK, w->md, w->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		PCRE2_UCHAR msg[128];
		json_object *f = json_object_new_object();

		pcre2_get_error_message(rc, msg, sizeof(msg));
		count(&in->match_limit_hits);
		if (f) {
			json_object_object_add(f, "sub_id",
			                       json_object_new_uint64(s->id));
			json_object_object_add(f, "message_sid",
			                       json_object_new_string(m->sid));
			json_object_object_add(
			        f, "error",
			        json_object_new_string((const char *)msg));
		}
		log_limited(in, &in->rl_limit, CONN_LOG_WARN, f,
		            "SMS_RECEIVED: pattern stopped at a PCRE2 limit; "
		            "counted as no match (simplify the pattern: nested "
		            "quantifiers backtrack)");
		return 0;
	}
	g = json_object_new_object();
	if (!g)
		return -1;
	ov = pcre2_get_ovector_pointer(w->md);
	for (i = 0; i < s->ngroups; i++) {
		uint32_t n = s->groups[i].number;
		json_object *v = NULL, *old;

		if (n < (uint32_t)rc && ov[2 * n] != PCRE2_UNSET) {
			v = json_object_new_string_len(
			        m->body + ov[2 * n],
			        (int)(ov[2 * n + 1] - ov[2 * n]));
			if (!v) {
				json_object_put(g);
				return -1;
			}
		}
		/* duplicate names ((?J)): the first group that is set wins */
		if (json_object_object_get_ex(g, s->groups[i].name, &old) &&
		    (old || !v)) {
			json_object_put(v);
			continue;
		}
		if (json_object_object_add(g, s->groups[i].name, v)) {
			json_object_put(v);
			json_object_put(g);
			return -1;
		}
	}
	*groups = g;
	return 1;
}

/* ---- one request: replies --------------------------------------------- */

/* The template model: the named groups, then from, to, originalMessage
 * unless a group took the name. Owned by the caller. */
static json_object *model_of(const tw_hit *h, const tw_msg *m, int *oom)
{
	json_object *model = json_object_new_object(), *x;
	static const char *const keys[] = {"from", "to", "originalMessage"};
	const char *vals[3];
	size_t i;

	if (!model) {
		*oom = 1;
		return NULL;
	}
	vals[0] = m->from;
	vals[1] = m->to;
	vals[2] = m->body;
	json_object_object_foreach(h->groups, k, v)
	{
		if (add(model, k, json_object_get(v), oom))
			break;
	}
	for (i = 0; i < 3; i++) {
		if (json_object_object_get_ex(model, keys[i], &x))
			continue;
		add(model, keys[i],
		    i == 2 ? json_object_new_string_len(m->body,
		                                        (int)m->body_len)
		           : jstr(vals[i], oom),
		    oom);
	}
	return model;
}

/* Render T for hit H into H->reply (NULL when it fails: logged). */
static void render_reply(tw_inbound *in, tw_hit *h, const tw_msg *m,
                         const ftl_template *t, int64_t deadline, int *oom)
{
	ftl_settings fs = in->fs;
	json_object *model, *f;
	ftl_error fe;
	char *out = NULL, where[64];

	if (!t)
		return;
	model = model_of(h, m, oom);
	if (!model)
		return;
	fs.deadline_ms = deadline;
	memset(&fe, 0, sizeof(fe));
	if (ftl_render(t, model, &fs, &out, NULL, &fe) == 0) {
		if (out[0])
			h->reply = out;
		else
			free(out); /* an empty reply says nothing */
		json_object_put(model);
		return;
	}
	json_object_put(model);
	if (fe.kind == FTL_NOMEM) {
		*oom = 1;
		return;
	}
	count(&in->echo_render_errors);
	f = json_object_new_object();
	if (f) {
		snprintf(where, sizeof(where), "line %d, column %d", fe.line,
		         fe.column);
		json_object_object_add(f, "sub_id",
		                       json_object_new_uint64(h->sub->id));
		json_object_object_add(f, "message_sid",
		                       json_object_new_string(m->sid));
		json_object_object_add(
		        f, "template",
		        json_object_new_string(
		                t == h->sub->echo ? "echo" : "echoError"));
		json_object_object_add(
		        f, "kind",
		        json_object_new_string(ftl_kind_name(fe.kind)));
		json_object_object_add(f, "where",
		                       json_object_new_string(where));
		/* the template's message may quote a value of the message */
		if (in->log_bodies)
			json_object_object_add(
			        f, "error", json_object_new_string(fe.message));
	}
	log_limited(in, &in->rl_render, CONN_LOG_WARN, f,
	            "SMS_RECEIVED: reply template failed; that reply is left "
	            "out");
}

/* ---- one request: publish, claims ------------------------------------- */

static void claim_key(char *key, size_t n, const tw_msg *m, uint64_t id)
{
	snprintf(key, n, "inbound/%s/%" PRIu64, m->sid, id);
}

/* The stored reply of a DONE claim. */
static void reuse_reply(tw_hit *h, json_object *prior)
{
	json_object *r;

	if (prior && json_object_object_get_ex(prior, "reply", &r) &&
	    json_object_is_type(r, json_type_string))
		h->reply = strdup(json_object_get_string(r));
	json_object_put(prior);
	h->state = ST_DONE;
	h->outcome = 'd';
}

/* Claim the key of hit H. Returns the claim outcome, or a CONN_E*. */
static int claim_hit(tw_inbound *in, tw_hit *h, const tw_msg *m)
{
	char key[96];
	json_object *prior = NULL;
	int rc;

	claim_key(key, sizeof(key), m, h->sub->id);
	rc = conn_host_claim(in->host, key, in->dedupe_ttl_ms, &h->owner,
	                     &prior);
	if (rc == CONN_CLAIM_OWNED) {
		json_object_put(prior);
		h->state = ST_NEW;
	} else if (rc == CONN_CLAIM_DONE) {
		count(&in->duplicates);
		reuse_reply(h, prior);
	} else if (rc == CONN_CLAIM_IN_PROGRESS) {
		json_object_put(prior);
		h->state = ST_WAIT;
	} else {
		json_object_put(prior);
	}
	return rc;
}

static void settle_hit(tw_inbound *in, tw_hit *h, const tw_msg *m,
                       json_object *result)
{
	char key[96];

	claim_key(key, sizeof(key), m, h->sub->id);
	conn_host_settle(in->host, key, h->owner, result, in->dedupe_ttl_ms);
}

/* Whether S may publish now; counts the publish in (in->mu taken). */
static int publish_enter(tw_inbound *in, tw_sub *s)
{
	int ok;

	pthread_mutex_lock(&in->mu);
	ok = !s->dead;
	if (ok)
		s->publishing++;
	pthread_mutex_unlock(&in->mu);
	return ok;
}

static void publish_leave(tw_inbound *in, tw_sub *s)
{
	pthread_mutex_lock(&in->mu);
	if (--s->publishing == 0 && s->dead)
		pthread_cond_broadcast(&in->cv);
	pthread_mutex_unlock(&in->mu);
}

/*
 * Publish hit H (claimed NEW), render its reply and settle its claim.
 * BASE is the event without matchGroups. Sets H->state.
 */
static void publish_hit(tw_inbound *in, tw_hit *h, const tw_msg *m,
                        json_object **basep, int give, int64_t pub_deadline,
                        int64_t deadline, int *oom)
{
	json_object *base = *basep;
	json_object *ev = NULL, *groups = NULL, *res;
	char perr[256] = "";
	int rc, ok;

	if (conn_now_ms() >= pub_deadline) {
		/* no time left to publish: forgotten, Twilio retries */
		settle_hit(in, h, m, NULL);
		h->state = ST_RETRY;
		return;
	}
	/* The event is the host's, which may release it on another thread,
	 * and json-c refcounts are not atomic, so no part of it may be
	 * shared: the base itself when GIVE (its last use: the caller's
	 * pointer is cleared), else a deep copy; the groups always a copy
	 * (H's are still the reply's model). */
	if (give) {
		ev = base;
		*basep = NULL;
	}
	if ((!ev && json_object_deep_copy(base, &ev, NULL)) ||
	    json_object_deep_copy(h->groups, &groups, NULL) ||
	    add(ev, "matchGroups", groups, oom)) { /* add() puts GROUPS */
		json_object_put(ev);
		*oom = 1;
		settle_hit(in, h, m, NULL);
		h->state = ST_RETRY;
		return;
	}
	if (!publish_enter(in, h->sub)) {
		json_object_put(ev);
		settle_hit(in, h, m, NULL);
		h->state = ST_SKIPPED;
		return;
	}
	rc = in->host->publish(in->host->ctx, h->sub->id, ev, perr,
	                       sizeof(perr));
	publish_leave(in, h->sub);
	ok = rc == 0 && conn_now_ms() <= pub_deadline;
	if (ok) {
		count(&in->published);
		h->outcome = 'p';
	} else if (rc == 0) {
		count(&in->publish_late);
		h->outcome = 'l';
	} else {
		count(&in->publish_failed);
		h->outcome = 'f';
	}
	if (in->reply_mode != REPLY_NONE && !m->opt_out)
		render_reply(in, h, m, ok ? h->sub->echo : h->sub->echo_error,
		             deadline, oom);
	h->state = ST_DONE;
	if (rc != 0) { /* refused: forgotten, a retry publishes again */
		settle_hit(in, h, m, NULL);
		return;
	}
	/* Accepted, in time or late: remembered with the reply given. A
	 * late event was still published (the host has it): forgetting it
	 * would publish it a second time on Twilio's retry. */
	res = json_object_new_object();
	if (res)
		add(res, "reply",
		    h->reply ? json_object_new_string(h->reply) : NULL, oom);
	/* a NULL result (out of memory) forgets: a retry republishes */
	settle_hit(in, h, m, res);
}

/* Poll the IN_PROGRESS claims until they end or DEADLINE passes. */
static void wait_hits(tw_inbound *in, tw_hit *hits, size_t n, const tw_msg *m,
                      json_object *base, int64_t pub_deadline, int64_t deadline,
                      int *oom)
{
	int64_t pause = 2;
	size_t i, waiting;

	for (;;) {
		waiting = 0;
		for (i = 0; i < n; i++) {
			tw_hit *h = &hits[i];
			int rc;

			if (h->state != ST_WAIT)
				continue;
			rc = claim_hit(in, h, m);
			if (rc == CONN_CLAIM_OWNED)
				publish_hit(in, h, m, &base, 0, pub_deadline,
				            deadline, oom);
			else if (rc < 0)
				h->state = ST_RETRY;
			else if (h->state == ST_WAIT)
				waiting++;
		}
		if (!waiting || conn_now_ms() >= deadline)
			break;
		{
			int64_t left = conn_ms_left(deadline);
			struct timespec ts;

			if (pause > left)
				pause = left;
			ts.tv_sec = pause / 1000;
			ts.tv_nsec = (long)(pause % 1000) * 1000000;
			nanosleep(&ts, NULL);
			if (pause < 100)
				pause *= 2;
		}
	}
	for (i = 0; i < n; i++)
		if (hits[i].state == ST_WAIT)
			hits[i].state = ST_RETRY;
}

/* ---- one request: the answer ------------------------------------------ */

/* Whether XML 1.0 allows code point C in text. */
static int xml_char(uint32_t c)
{
	return c == 0x9 || c == 0xa || c == 0xd || (c >= 0x20 && c < 0xd800) ||
	       (c >= 0xe000 && c <= 0xfffd) || c >= 0x10000;
}

/* Append <Message>TEXT</Message>: at most TW_INBOUND_MESSAGE_MAX UTF-16
 * units, cut between characters, XML-escaped, characters XML forbids
 * left out. */
static void twiml_message(tw_buf *b, const char *text)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text), i = 0, k, units = 0;
	uint32_t c;

	tw_buf_puts(b, "<Message>");
	while (i < n) {
		k = utf8_next(p + i, n - i, &c);
		if (k == 0) { /* never after utf8_clean; skip a stray byte */
			i++;
			continue;
		}
		units += c >= 0x10000 ? 2 : 1;
		if (units > TW_INBOUND_MESSAGE_MAX)
			break;
		switch (c) {
		case '&': tw_buf_puts(b, "&amp;"); break;
		case '<': tw_buf_puts(b, "&lt;"); break;
		case '>': tw_buf_puts(b, "&gt;"); break;
		case '"': tw_buf_puts(b, "&quot;"); break;
		case '\'': tw_buf_puts(b, "&apos;"); break;
		default:
			if (xml_char(c))
				tw_buf_append(b, text + i, k);
		}
		i += k;
	}
	tw_buf_puts(b, "</Message>");
}

#define TWIML_HEAD  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
#define TWIML_EMPTY TWIML_HEAD "<Response/>"
#define TWIML_TAIL  "</Response>"

static void twiml_write(tw_inbound *in, tw_buf *out, tw_hit *hits, size_t n)
{
	tw_buf msg = {0};
	size_t i, start = out->len, nmsg = 0;

	if (in->reply_mode == REPLY_NONE)
		n = 0;
	for (i = 0; i < n; i++) {
		if (!hits[i].reply)
			continue;
		tw_buf_clear(&msg);
		twiml_message(&msg, hits[i].reply);
		/* the whole document stays within TW_INBOUND_TWIML_MAX */
		if (sizeof(TWIML_HEAD "<Response>" TWIML_TAIL) - 1 +
		            (out->len - start) + msg.len >
		    TW_INBOUND_TWIML_MAX)
			break;
		if (nmsg++ == 0)
			tw_buf_puts(out, TWIML_HEAD "<Response>");
		tw_buf_append(out, msg.data, msg.len);
		if (in->reply_mode == REPLY_FIRST)
			break;
	}
	tw_buf_free(&msg);
	tw_buf_puts(out, nmsg ? TWIML_TAIL : TWIML_EMPTY);
}

/* One line per message handled: what matched, what was published. */
static void log_message(tw_inbound *in, const tw_msg *m, tw_hit *hits, size_t n,
                        int status)
{
	json_object *f, *ids[4];
	static const char *const names[4] = {"published", "failed", "late",
	                                     "duplicates"};
	static const char outcomes[4] = {'p', 'f', 'l', 'd'};
	json_object *matched;
	char *from, *to;
	size_t i, j;

	/* built for every message: skipped when the host would drop it
	 * (ABI 1.1's log_enabled; a 1.0 host gets the line and filters) */
	if (!conn_host_log_enabled(in->host, status == 200 ? CONN_LOG_INFO
	                                                   : CONN_LOG_WARN))
		return;
	f = json_object_new_object();
	if (!f)
		return;
	from = tw_mask_number(m->from ? m->from : "", in->log_numbers);
	to = tw_mask_number(m->to ? m->to : "", in->log_numbers);
	json_object_object_add(f, "message_sid",
	                       json_object_new_string(m->sid));
	if (from)
		json_object_object_add(f, "from", json_object_new_string(from));
	if (to)
		json_object_object_add(f, "to", json_object_new_string(to));
	free(from);
	free(to);
	/* the outcome lists only when not empty */
	matched = json_object_new_array_ext((int)(n ? n : 1));
	for (j = 0; j < 4; j++)
		ids[j] = NULL;
	for (i = 0; i < n; i++) {
		json_object_array_add(matched,
		                      json_object_new_uint64(hits[i].sub->id));
		for (j = 0; j < 4; j++)
			if (hits[i].outcome == outcomes[j]) {
				if (!ids[j])
					ids[j] = json_object_new_array_ext(
					        (int)n);
				json_object_array_add(ids[j],
				                      json_object_new_uint64(
				                              hits[i].sub->id));
			}
	}
	json_object_object_add(f, "matched", matched);
	for (j = 0; j < 4; j++)
		if (ids[j])
			json_object_object_add(f, names[j], ids[j]);
	if (m->opt_out)
		json_object_object_add(f, "opt_out",
		                       json_object_new_string(m->opt_out));
	json_object_object_add(f, "status", json_object_new_int(status));
	if (in->log_bodies)
		json_object_object_add(
		        f, "body",
		        json_object_new_string_len(m->body, (int)m->body_len));
	tw_log(in->host, status == 200 ? CONN_LOG_INFO : CONN_LOG_WARN, f,
	       "SMS_RECEIVED: message handled");
}

/* ---- one request: the whole ------------------------------------------- */

/* Copy the live subscriptions into W's scratch, each pinned. */
static int snapshot(tw_inbound *in, tw_inbound_worker *w, size_t *n)
{
	size_t i;

	pthread_mutex_lock(&in->mu);
	if (in->nsubs > w->snap_cap) {
		tw_sub **s = realloc(w->snap, in->nsubs * sizeof(*s));
		tw_hit *h = realloc(w->hits, in->nsubs * sizeof(*h));

		if (s)
			w->snap = s;
		if (h)
			w->hits = h;
		if (!s || !h) {
			pthread_mutex_unlock(&in->mu);
			return -1;
		}
		w->snap_cap = in->nsubs;
	}
	for (i = 0; i < in->nsubs; i++) {
		w->snap[i] = in->subs[i];
		w->snap[i]->refs++;
	}
	*n = in->nsubs;
	pthread_mutex_unlock(&in->mu);
	return 0;
}

static void release(tw_inbound *in, tw_sub **subs, size_t n)
{
	size_t i, k = 0;

	pthread_mutex_lock(&in->mu);
	for (i = 0; i < n; i++)
		if (--subs[i]->refs == 0)
			subs[k++] = subs[i]; /* unsubscribed meanwhile */
	pthread_mutex_unlock(&in->mu);
	for (i = 0; i < k; i++)
		sub_free(subs[i]);
}

static int bad_request(tw_buf *out, const char *why)
{
	tw_buf_puts(out, why);
	return 400;
}

static int read_msg(const tw_form *form, tw_msg *m, tw_buf *out, int *oom)
{
	const char *sid;
	size_t len;

	memset(m, 0, sizeof(*m));
	sid = field(form, "MessageSid", &len);
	if (!sid)
		sid = field(form, "SmsSid", &len);
	if (!sid)
		return bad_request(out,
		                   "MessageSid: missing; this is not a Twilio "
		                   "messaging webhook (set the number's "
		                   "\"A message comes in\" URL to this "
		                   "address)\n");
	if (!is_sid(sid, len, NULL))
		return bad_request(out, "MessageSid: not a Twilio message sid "
		                        "(two letters and 32 hex digits)\n");
	memcpy(m->sid, sid, len);
	m->body = field(form, "Body", &m->body_len);
	if (!m->body)
		m->body = "";
	m->clean_body = utf8_clean(m->body, m->body_len, &m->body_len, oom);
	if (m->clean_body)
		m->body = m->clean_body;
	m->from = field(form, "From", NULL);
	m->to = field(form, "To", NULL);
	m->service = field(form, "MessagingServiceSid", NULL);
	m->opt_out = field(form, "OptOutType", NULL);
	if (m->opt_out && !m->opt_out[0])
		m->opt_out = NULL;
	rfc3339_now(m->received_at, sizeof(m->received_at));
	return 0;
}

int tw_inbound_handle(tw_inbound *in, tw_inbound_worker *w, const tw_form *form,
                      tw_buf *twiml)
{
	int64_t start = conn_now_ms();
	int64_t pub_deadline = start + in->publish_deadline_ms;
	int64_t deadline = start + (in->publish_deadline_ms + 1000 < 10000
	                                    ? in->publish_deadline_ms + 1000
	                                    : 10000);
	json_object *base = NULL;
	tw_msg m;
	size_t nsnap = 0, nhits = 0, i;
	int oom = 0, full = 0, status;
	const char *why = NULL;
	tw_hit *hits;

	status = read_msg(form, &m, twiml, &oom);
	if (status)
		return status;
	count(&in->received);
	if (oom || snapshot(in, w, &nsnap)) {
		free(m.clean_body);
		tw_buf_puts(twiml, "out of memory; retry later\n");
		return 503;
	}
	hits = w->hits;
	/* 1. match, in sub id order */
	for (i = 0; i < nsnap && !oom; i++) {
		json_object *g = NULL;
		int r;

		if (!to_matches(w->snap[i], &m))
			continue;
		r = match_one(in, w, w->snap[i], &m, &g);
		if (r < 0)
			oom = 1;
		if (r <= 0)
			continue;
		count(&in->matched);
		memset(&hits[nhits], 0, sizeof(hits[nhits]));
		hits[nhits].sub = w->snap[i];
		hits[nhits].groups = g;
		nhits++;
	}
	if (nhits && !oom)
		base = event_base(form, &m, &oom);
	/* 2. claim every match; a full store stops before any work */
	for (i = 0; i < nhits && !oom && !full; i++)
		if (claim_hit(in, &hits[i], &m) < 0)
			full = 1;
	if (oom || full) {
		for (i = 0; i < nhits; i++)
			if (hits[i].state == ST_NEW)
				settle_hit(in, &hits[i], &m, NULL);
	} else {
		/* 3. publish what is ours (the last publish takes the base
		 * itself when no claim is left to wait for); 4. wait for the
		 * others */
		size_t last = nhits;
		int waits = 0;

		for (i = 0; i < nhits; i++) {
			if (hits[i].state == ST_NEW)
				last = i;
			waits |= hits[i].state == ST_WAIT;
		}
		for (i = 0; i < nhits; i++)
			if (hits[i].state == ST_NEW)
				publish_hit(in, &hits[i], &m, &base,
				            i == last && !waits, pub_deadline,
				            deadline, &oom);
		wait_hits(in, hits, nhits, &m, base, pub_deadline, deadline,
		          &oom);
	}
	status = 200;
	if (full) {
		count(&in->store_full_503);
		why = "the dedupe store is full; retry later\n";
		log_limited(in, &in->rl_full, CONN_LOG_WARN, NULL,
		            "SMS_RECEIVED: the host's store refused a claim "
		            "(inbound namespace full): answered 503 so Twilio "
		            "retries; lower TWILIO_INBOUND_DEDUPE_TTL_MS or "
		            "give the store more room");
	} else if (oom) {
		why = "out of memory; retry later\n";
	} else {
		for (i = 0; i < nhits; i++)
			if (hits[i].state == ST_RETRY)
				why = "this message is still being processed; "
				      "retry later\n";
		if (why) {
			count(&in->in_progress_503);
			log_limited(
			        in, &in->rl_progress, CONN_LOG_WARN, NULL,
			        "SMS_RECEIVED: a duplicate was still in "
			        "progress (or no time was left to publish): "
			        "answered 503 so Twilio retries");
		}
	}
	if (why) {
		status = 503;
		tw_buf_puts(twiml, why);
	} else {
		twiml_write(in, twiml, hits, nhits);
		if (twiml->oom)
			status = 503;
	}
	log_message(in, &m, hits, nhits, status);
	for (i = 0; i < nhits; i++) {
		json_object_put(hits[i].groups);
		free(hits[i].reply);
	}
	json_object_put(base);
	release(in, w->snap, nsnap);
	free(m.clean_body);
	return status;
}

json_object *tw_inbound_stats(tw_inbound *in)
{
	json_object *o = json_object_new_object();
	size_t nsubs;

	if (!o)
		return NULL;
#define STAT(name)                                                             \
	json_object_object_add(o, #name,                                       \
	                       json_object_new_int64(atomic_load(&in->name)))
	STAT(received);
	STAT(matched);
	STAT(published);
	STAT(publish_failed);
	STAT(publish_late);
	STAT(duplicates);
	STAT(in_progress_503);
	STAT(store_full_503);
	STAT(match_limit_hits);
	STAT(echo_render_errors);
#undef STAT
	pthread_mutex_lock(&in->mu);
	nsubs = in->nsubs;
	pthread_mutex_unlock(&in->mu);
	json_object_object_add(o, "subscriptions",
	                       json_object_new_int64((int64_t)nsubs));
	return o;
}
