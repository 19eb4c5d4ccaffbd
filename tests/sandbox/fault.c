/*
 * fault.c - the --fault specs of twilio-sandbox: parsing
 * "KIND[:key=value,...]" and the deterministic decision whether a fault
 * fires for the next matching request.
 */
#include "sandbox.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static const struct {
	const char *name;
	sb_fault_kind kind;
} kinds[] = {
        {"429", SB_F_429},
        {"500", SB_F_500},
        {"503", SB_F_503},
        {"latency", SB_F_LATENCY},
        {"slow", SB_F_SLOW},
        {"drop-before", SB_F_DROP_BEFORE},
        {"drop-after", SB_F_DROP_AFTER},
        {"truncate", SB_F_TRUNCATE},
        {"nonjson", SB_F_NONJSON},
        {"error", SB_F_ERROR},
};

const char *sb_fault_name(sb_fault_kind k)
{
	size_t i;

	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "?";
}

static int parse_long(const char *v, long min, long max, long *out)
{
	char *end;
	long n;

	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < min || n > max)
		return -1;
	*out = n;
	return 0;
}

/* Apply one key=value to F; -1 with ERR when it does not fit. */
static int apply_kv(sb_fault *f, const char *key, const char *val, char *err,
                    size_t errlen)
{
	long n;

	if (strcmp(key, "first") == 0) {
		if (parse_long(val, 1, 1000000000L, &f->first) < 0)
			goto bad;
	} else if (strcmp(key, "rate") == 0) {
		char *end;

		errno = 0;
		f->rate = strtod(val, &end);
		if (errno || end == val || *end || !(f->rate >= 0.0) ||
		    f->rate > 1.0)
			goto bad;
	} else if (strcmp(key, "seed") == 0) {
		if (parse_long(val, 0, 0x7fffffffL, &n) < 0)
			goto bad;
		f->seed = (uint64_t)n;
	} else if (strcmp(key, "reused") == 0) {
		if (parse_long(val, 0, 1, &n) < 0)
			goto bad;
		if (n && f->kind == SB_F_DROP_BEFORE) {
			snprintf(err, errlen,
			         "reused=1: drop-before acts on new "
			         "connections only");
			return -1;
		}
		f->reused = n == 1;
	} else if (strcmp(key, "ms") == 0 &&
	           (f->kind == SB_F_LATENCY || f->kind == SB_F_SLOW)) {
		if (parse_long(val, 0, 3600000L, &f->ms) < 0)
			goto bad;
	} else if (strcmp(key, "retry-after") == 0 && f->kind == SB_F_429) {
		/* any header-safe text: the client must survive what a
		 * server may send (huge, negative, garbage, a date) */
		size_t i, len = strlen(val);

		if (len == 0 || len >= sizeof f->retry_after)
			goto bad;
		for (i = 0; i < len; i++)
			if ((unsigned char)val[i] < 0x20 ||
			    (unsigned char)val[i] > 0x7e)
				goto bad;
		memcpy(f->retry_after, val, len + 1);
	} else if (strcmp(key, "status") == 0 && f->kind == SB_F_ERROR) {
		if (parse_long(val, 400, 599, &n) < 0)
			goto bad;
		f->status = (int)n;
	} else if (strcmp(key, "code") == 0 &&
	           (f->kind == SB_F_500 || f->kind == SB_F_503 ||
	            f->kind == SB_F_ERROR)) {
		if (parse_long(val, 1, 99999L, &n) < 0)
			goto bad;
		f->code = (int)n;
	} else if (strcmp(key, "body") == 0 &&
	           (f->kind == SB_F_500 || f->kind == SB_F_503)) {
		if (strcmp(val, "json") == 0)
			f->body = SB_BODY_JSON;
		else if (strcmp(val, "empty") == 0)
			f->body = SB_BODY_EMPTY;
		else if (strcmp(val, "html") == 0)
			f->body = SB_BODY_HTML;
		else
			goto bad;
	} else {
		snprintf(err, errlen, "unknown key '%s' for %s", key,
		         sb_fault_name(f->kind));
		return -1;
	}
	return 0;
bad:
	snprintf(err, errlen, "%s='%s': not a valid value", key, val);
	return -1;
}

int sb_fault_parse(const char *spec, sb_fault *f, char *err, size_t errlen)
{
	const char *colon = strchr(spec, ':');
	size_t kl = colon ? (size_t)(colon - spec) : strlen(spec), i;
	char *opts, *save = NULL, *tok;
	int rc = 0;

	memset(f, 0, sizeof *f);
	f->rate = -1.0;
	f->ms = -1;
	for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
		if (strlen(kinds[i].name) == kl &&
		    strncmp(kinds[i].name, spec, kl) == 0)
			break;
	if (i == sizeof kinds / sizeof kinds[0]) {
		snprintf(err, errlen,
		         "unknown kind '%.*s' (429, 500, 503, latency, slow, "
		         "drop-before, drop-after, truncate, nonjson, error)",
		         (int)kl, spec);
		return -1;
	}
	f->kind = kinds[i].kind;
	opts = strdup(colon ? colon + 1 : "");
	if (!opts) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (tok = strtok_r(opts, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');

		if (!eq) {
			snprintf(err, errlen, "'%s': expected key=value", tok);
			rc = -1;
			break;
		}
		*eq = '\0';
		rc = apply_kv(f, tok, eq + 1, err, errlen);
	}
	free(opts);
	if (rc == 0 && (f->kind == SB_F_LATENCY || f->kind == SB_F_SLOW) &&
	    f->ms < 0) {
		snprintf(err, errlen, "%s needs ms=N", sb_fault_name(f->kind));
		rc = -1;
	}
	if (rc == 0 && f->kind == SB_F_ERROR && (!f->status || !f->code)) {
		snprintf(err, errlen, "error needs status=N and code=N");
		rc = -1;
	}
	if (rc == 0 && f->rate < 0 && f->seed) {
		snprintf(err, errlen, "seed= only goes with rate=");
		rc = -1;
	}
	return rc;
}

/* splitmix64: a well-mixed 64-bit value of X. */
static uint64_t mix(uint64_t x)
{
	x += 0x9E3779B97F4A7C15ULL;
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
	return x ^ (x >> 31);
}

bool sb_fault_fires(sb_fault *f, bool reused)
{
	unsigned long k;

	if (f->reused && !reused)
		return false;
	k = atomic_fetch_add(&f->seen, 1) + 1;
	if (f->first > 0 && k > (unsigned long)f->first)
		return false;
	if (f->rate >= 0) {
		double u = (double)(mix(f->seed * 0x100000001B3ULL ^ k) >> 11) /
		           9007199254740992.0; /* [0, 1) */
		return u < f->rate;
	}
	return true;
}
