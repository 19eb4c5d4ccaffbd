/*
 * config.c - configuration keys, parsing and validation.
 *
 * One table lists every key with its type, default and description; init()
 * and describe() both read it, so the two cannot disagree. Validation
 * refuses a bad value naming the key and the reason, and never echoes the
 * value of a secure key.
 */
#include <ctype.h>
#include <stddef.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ftl/ftl.h"
#include "tw_config.h"
#include "tw_wire.h"
#include "tw_mask.h"

#define TW_DEFAULT_BASE_URL "https://api.twilio.com"
#define TW_VALUE_MAX        4096 /* longest accepted configuration value */

typedef struct tw_key {
	const char *name;
	const char *type; /* "string", "integer", "boolean" */
	int required;
	int secure;
	const char *def;
	const char *description;
	long min, max; /* integer keys: the accepted range */
} tw_key;

static const tw_key tw_keys[] = {
        {"TWILIO_ACCOUNT", "string", 1, 0, NULL,
         "The Account SID: \"AC\" followed by 32 hexadecimal digits (Twilio "
         "console, Account Info). The original product called it the "
         "account name; the name of the account is not accepted.",
         0, 0},
        {"TWILIO_TOKEN", "string", 0, 1, NULL,
         "The account's Auth Token. Required unless TWILIO_API_KEY and "
         "TWILIO_API_SECRET are given and webhook signatures are not "
         "validated.",
         0, 0},
        {"TWILIO_TOKEN_SECONDARY", "string", 0, 1, NULL,
         "SMS_RECEIVED: a second Auth Token also accepted for webhook "
         "signatures, for a token rotation (set the new token here, promote "
         "it in Twilio, then move it to TWILIO_TOKEN and clear this key). "
         "Never used for the REST API.",
         0, 0},
        {"TWILIO_API_KEY", "string", 0, 0, NULL,
         "An API key SID (\"SK\" + 32 hex digits) used instead of the Auth "
         "Token for the REST API; needs TWILIO_API_SECRET. A key works only "
         "in the region it was created in.",
         0, 0},
        {"TWILIO_API_SECRET", "string", 0, 1, NULL,
         "The secret of TWILIO_API_KEY.", 0, 0},
        {"TWILIO_BASE_URL", "string", 0, 0, TW_DEFAULT_BASE_URL,
         "Base URL of the REST API. https:// only, except http:// to the "
         "loopback interface (a local test server). Exclusive with "
         "TWILIO_EDGE/TWILIO_REGION.",
         0, 0},
        {"TWILIO_EDGE", "string", 0, 0, NULL,
         "Twilio edge location (e.g. dublin): the API host becomes "
         "api.EDGE.REGION.twilio.com (REGION defaults to us1).",
         0, 0},
        {"TWILIO_REGION", "string", 0, 0, NULL,
         "Twilio region (e.g. ie1): the API host becomes "
         "api.REGION.twilio.com, or api.EDGE.REGION.twilio.com with "
         "TWILIO_EDGE.",
         0, 0},
        {"TWILIO_PROXY", "string", 0, 1, NULL,
         "HTTP(S) or SOCKS proxy URL for the REST API (http, https, socks4, "
         "socks4a, socks5, socks5h). Only this key sets a "
         "proxy: the environment's proxy variables are ignored. Secure, "
         "since it may carry credentials.",
         0, 0},
        {"TWILIO_CA_BUNDLE", "string", 0, 0, NULL,
         "A PEM file of CA certificates to verify the API's certificate "
         "with, instead of the system's. Verification is never turned "
         "off.",
         0, 0},
        {"TWILIO_CONNECT_TIMEOUT_MS", "integer", 0, 0, "10000",
         "Milliseconds to establish a connection (1..600000); always "
         "bounded by the call's deadline.",
         1, 600000},
        {"TWILIO_REQUEST_TIMEOUT_MS", "integer", 0, 0, "30000",
         "Milliseconds for one request from start to answer (1..600000); "
         "bounded by the call's deadline. A request that times out after "
         "it was sent is reported as TWILIO_OUTCOME_UNKNOWN.",
         1, 600000},
        {"TWILIO_MAX_CONCURRENCY", "integer", 0, 0, "16",
         "Requests in flight at once for this instance (1..1024). Twilio's "
         "concurrency limit is shared by every client of the account: keep "
         "it modest.",
         1, 1024},
        {"TWILIO_MAX_RECIPIENTS", "integer", 0, 0, "1000",
         "Most recipients one send_sms call may name (1..100000).", 1, 100000},
        {"TWILIO_QUEUE_CAPACITY", "integer", 0, 0, "1024",
         "Most calls accepted and not yet completed (1..1000000); beyond "
         "it a call completes at once with QUEUE_FULL.",
         1, 1000000},
        {"TWILIO_MAX_RETRIES", "integer", 0, 0, "3",
         "Retries per recipient (0..20), only for what certainly did not "
         "reach Twilio: HTTP 429 and failures before any request byte was "
         "sent.",
         0, 20},
        {"TWILIO_IDEMPOTENCY_TTL_MS", "integer", 0, 0, "86400000",
         "How long (1000..604800000 ms) the host's idempotency store "
         "remembers a recipient's result under a call's idempotency key.",
         1000, 604800000L},
        {"TEMPLATE_LOCALE", "string", 0, 0, "en_US",
         "Locale for numbers and dates in smsBody templates.", 0, 0},
        {"TEMPLATE_NUMBER_FORMAT", "string", 0, 0, NULL,
         "Default number format of templates (FreeMarker's number_format); "
         "unset: FreeMarker's \"number\".",
         0, 0},
        {"TEMPLATE_TIME_ZONE", "string", 0, 0, NULL,
         "Time zone dates in templates are shown in: an IANA name read "
         "from the system's zone files (Europe/Berlin) or GMT+hh:mm; "
         "unset: UTC.",
         0, 0},
        {"TEMPLATE_DATE_FORMAT", "string", 0, 0, NULL,
         "Default format of dates in templates (FreeMarker's "
         "date_format): short, medium, long, full, iso or a pattern like "
         "dd.MM.yyyy; unset: medium.",
         0, 0},
        {"TEMPLATE_TIME_FORMAT", "string", 0, 0, NULL,
         "Default format of times in templates (time_format), as "
         "TEMPLATE_DATE_FORMAT; unset: medium.",
         0, 0},
        {"TEMPLATE_DATETIME_FORMAT", "string", 0, 0, NULL,
         "Default format of date-times in templates (datetime_format), "
         "as TEMPLATE_DATE_FORMAT; unset: medium.",
         0, 0},
        {"TEMPLATE_BOOLEAN_FORMAT", "string", 0, 0, NULL,
         "How ${flag} prints a boolean in templates: c (true/false) or "
         "two texts like yes,no; unset: an error, as in FreeMarker.",
         0, 0},
        {"TEMPLATE_OUTPUT_FORMAT", "string", 0, 0, NULL,
         "Output format of templates: HTML, XHTML, XML or RTF escape "
         "${...}; plainText, undefined, JSON, CSS, JavaScript do not; "
         "unset: undefined (no escaping, right for SMS).",
         0, 0},
        {"TEMPLATE_URL_ESCAPING_CHARSET", "string", 0, 0, NULL,
         "Charset of ?url without an argument in templates: UTF-8, "
         "ISO-8859-1, ISO-8859-15, US-ASCII, windows-1252, UTF-16, "
         "UTF-16BE/LE, UTF-32, UTF-32BE/LE (and Java's aliases of "
         "these); unset: UTF-8.",
         0, 0},
        {"LOG_BODIES", "boolean", 0, 0, "false",
         "Put message bodies in logs (personal data; off by default).", 0, 0},
        {"LOG_NUMBERS", "boolean", 0, 0, "false",
         "Put phone numbers in logs unmasked (off by default: "
         "+1415\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
         "0100).",
         0, 0},
        {"TWILIO_WEBHOOK_LISTEN", "string", 0, 0, NULL,
         "SMS_RECEIVED: address:port the inbound webhook listens on (e.g. "
         "0.0.0.0:8080, [::]:8080, 127.0.0.1:0; port 0: the kernel picks "
         "one, shown in the start log line and in stats as webhook.port). "
         "Unset: no webhook, SMS_RECEIVED cannot be subscribed.",
         0, 0},
        {"TWILIO_WEBHOOK_PATH", "string", 0, 0, "/twilio/sms",
         "SMS_RECEIVED: the URL path the webhook serves.", 0, 0},
        {"TWILIO_WEBHOOK_PUBLIC_URL", "string", 0, 0, NULL,
         "SMS_RECEIVED: the full public URL configured in Twilio for the "
         "number (what Twilio signs); required while signatures are "
         "validated.",
         0, 0},
        {"TWILIO_VALIDATE_SIGNATURE", "boolean", 0, 0, "true",
         "SMS_RECEIVED: check X-Twilio-Signature on every webhook request "
         "(false logs a warning at every start: anyone who can reach the "
         "port can then inject messages).",
         0, 0},
        {"TWILIO_WEBHOOK_SIGNING_KEY", "string", 0, 1, NULL,
         "SMS_RECEIVED: the shared key of HMAC-SHA256 webhook signatures "
         "(X-Twilio-Webhooks-Signature-Settings: key=...,"
         "algorithm=HMAC_SHA256). Unset: only HMAC-SHA1 signatures with the "
         "Auth Token are accepted.",
         0, 0},
        {"TWILIO_WEBHOOK_BODY_LIMIT", "integer", 0, 0, "65536",
         "SMS_RECEIVED: largest accepted webhook body in bytes "
         "(1024..1048576).",
         1024, 1048576},
        {"TWILIO_WEBHOOK_MAX_CONNECTIONS", "integer", 0, 0, "256",
         "SMS_RECEIVED: most webhook connections at once (1..65536).", 1,
         65536},
        {"TWILIO_WEBHOOK_MAX_PER_IP", "integer", 0, 0, "64",
         "SMS_RECEIVED: most webhook connections from one address "
         "(1..65536).",
         1, 65536},
        {"TWILIO_WEBHOOK_IDLE_TIMEOUT_S", "integer", 0, 0, "10",
         "SMS_RECEIVED: seconds an idle webhook connection is kept "
         "(1..3600).",
         1, 3600},
        {"TWILIO_WEBHOOK_TLS_CERT", "string", 0, 0, NULL,
         "SMS_RECEIVED: PEM certificate chain (leaf first) to serve the "
         "webhook over TLS (with TWILIO_WEBHOOK_TLS_KEY); read at start.",
         0, 0},
        {"TWILIO_WEBHOOK_TLS_KEY", "string", 0, 1, NULL,
         "SMS_RECEIVED: PEM private key for TWILIO_WEBHOOK_TLS_CERT, RSA or "
         "EC, unencrypted (PKCS#8 \"BEGIN PRIVATE KEY\", PKCS#1 \"BEGIN RSA "
         "PRIVATE KEY\" or SEC1 \"BEGIN EC PRIVATE KEY\").",
         0, 0},
        {"TWILIO_PUBLISH_DEADLINE_MS", "integer", 0, 0, "5000",
         "SMS_RECEIVED: how long (100..10000 ms) the host may take to "
         "accept an event before the sender gets echoError (Twilio waits "
         "15 s for the whole answer).",
         100, 10000},
        {"TWILIO_INBOUND_DEDUPE_TTL_MS", "integer", 0, 0, "3600000",
         "SMS_RECEIVED: how long (1000..604800000 ms) the host's store "
         "remembers an inbound MessageSid per subscription, so a Twilio "
         "retry is not published twice.",
         1000, 604800000L},
        {"TWILIO_WEBHOOK_WORKERS", "integer", 0, 0, "8",
         "Deprecated, no effect (accepted so that existing "
         "configurations still start): each webhook connection has its "
         "own thread, bounded by TWILIO_WEBHOOK_MAX_CONNECTIONS.",
         1, 256},
        {"TWILIO_REPLY_MODE", "string", 0, 0, "first",
         "SMS_RECEIVED: which matching subscriptions reply: first, all or "
         "none.",
         0, 0},
};

#define TW_NKEYS (sizeof(tw_keys) / sizeof(tw_keys[0]))

static const tw_key *key_find(const char *name)
{
	size_t i;

	for (i = 0; i < TW_NKEYS; i++)
		if (strcmp(tw_keys[i].name, name) == 0)
			return &tw_keys[i];
	return NULL;
}

/* How an error shows the value V of key NAME: a secure key's value never
 * appears, whatever is wrong with it. */
static const char *shown(const char *name, const char *v)
{
	const tw_key *k = key_find(name);

	return k && k->secure ? "(a secure value, not shown)" : v;
}

/* The value of NAME: its string, the default, or NULL when unset. An empty
 * string counts as unset. -1 for a non-string or an oversized value. */
static int get(json_object *cfg, const char *name, const char **val, char *err,
               size_t errlen)
{
	const tw_key *k = key_find(name);
	json_object *v = NULL;

	*val = k ? k->def : NULL;
	if (!json_object_object_get_ex(cfg, name, &v) || v == NULL)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		tw_errf(err, errlen, "%s: must be a string", name);
		return -1;
	}
	if (json_object_get_string_len(v) == 0)
		return 0;
	if (json_object_get_string_len(v) > TW_VALUE_MAX) {
		tw_errf(err, errlen, "%s: longer than %d bytes", name,
		        TW_VALUE_MAX);
		return -1;
	}
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v)) {
		tw_errf(err, errlen, "%s: contains a NUL byte", name);
		return -1;
	}
	*val = json_object_get_string(v);
	return 0;
}

static int dup_str(const char *v, char **out)
{
	*out = NULL;
	if (!v)
		return 0;
	*out = strdup(v);
	return *out ? 0 : -1;
}

/* The table's entry for NAME (a key of the table: a typo is a bug). */
static const tw_key *key_of(const char *name)
{
	size_t i;

	for (i = 0; i < TW_NKEYS; i++)
		if (strcmp(tw_keys[i].name, name) == 0)
			return &tw_keys[i];
	abort();
}

/* An integer key, checked against the range its table entry declares
 * (describe() publishes the same range, so the host can check it too). */
static int parse_long(json_object *cfg, const char *name, long *out, char *err,
                      size_t errlen)
{
	const tw_key *k = key_of(name);
	const char *v;
	char *end;
	long n;

	if (get(cfg, name, &v, err, errlen))
		return -1;
	if (!v) {
		*out = 0;
		return 0;
	}
	errno = 0;
	n = strtol(v, &end, 10);
	if (errno || end == v || *end || !isdigit((unsigned char)v[0])) {
		tw_errf(err, errlen,
		        "%s: expected an integer from %ld to %ld, got '%.40s'",
		        name, k->min, k->max, shown(name, v));
		return -1;
	}
	if (n < k->min || n > k->max) {
		tw_errf(err, errlen,
		        "%s: expected an integer from %ld to %ld, got %ld",
		        name, k->min, k->max, n);
		return -1;
	}
	*out = n;
	return 0;
}

static int parse_bool(json_object *cfg, const char *name, int *out, char *err,
                      size_t errlen)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	const char *v;
	size_t i;

	if (get(cfg, name, &v, err, errlen))
		return -1;
	*out = 0;
	if (!v)
		return 0;
	for (i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0)
			return 0;
	}
	tw_errf(err, errlen, "%s: '%.40s' is not a boolean (true or false)",
	        name, shown(name, v));
	return -1;
}

static int is_hex32(const char *s)
{
	size_t i;

	for (i = 0; i < 32; i++)
		if (!isxdigit((unsigned char)s[i]))
			return 0;
	return s[32] == '\0';
}

int tw_config_is_loopback(const char *host, size_t len)
{
	if (len == 9 && strncasecmp(host, "localhost", 9) == 0)
		return 1;
	if (len == 5 && memcmp(host, "[::1]", 5) == 0)
		return 1;
	if (len >= 4 && len <= 15 && memcmp(host, "127.", 4) == 0) {
		size_t i;
		int dots = 0;

		for (i = 0; i < len; i++) {
			if (host[i] == '.')
				dots++;
			else if (!isdigit((unsigned char)host[i]))
				return 0;
		}
		return dots == 3;
	}
	return 0;
}

/* Check a base URL: scheme, no credentials, http only to loopback, no
 * query or fragment. Stores a copy without a trailing slash. */
static int check_base_url(const char *name, const char *v, char **out,
                          char *err, size_t errlen)
{
	const char *host, *end, *p;
	size_t n, hostlen;
	int https;

	/* credentials anywhere before the path: refused before any message
	 * could echo them */
	p = strstr(v, "://");
	p = p ? p + 3 : v;
	if (memchr(p, '@', strcspn(p, "/?#"))) {
		tw_errf(err, errlen,
		        "%s: must not carry credentials (use "
		        "TWILIO_TOKEN or TWILIO_API_KEY)",
		        name);
		return -1;
	}
	if (strncasecmp(v, "https://", 8) == 0)
		https = 1;
	else if (strncasecmp(v, "http://", 7) == 0)
		https = 0;
	else {
		tw_errf(err, errlen, "%s: '%.200s' must start with https://",
		        name, v);
		return -1;
	}
	host = v + (https ? 8 : 7);
	end = host + strcspn(host, "/?#");
	if (*end == '?' || *end == '#' || strpbrk(end, "?# \t\r\n")) {
		tw_errf(err, errlen,
		        "%s: must be a base URL without a query, "
		        "fragment or spaces",
		        name);
		return -1;
	}
	if (memchr(host, '@', (size_t)(end - host))) {
		tw_errf(err, errlen,
		        "%s: must not carry credentials (use "
		        "TWILIO_TOKEN or TWILIO_API_KEY)",
		        name);
		return -1;
	}
	/* host without the port */
	if (*host == '[') {
		p = memchr(host, ']', (size_t)(end - host));
		hostlen = p ? (size_t)(p - host) + 1 : (size_t)(end - host);
	} else {
		p = memchr(host, ':', (size_t)(end - host));
		hostlen = p ? (size_t)(p - host) : (size_t)(end - host);
	}
	if (hostlen == 0) {
		tw_errf(err, errlen, "%s: '%.200s' has no host", name, v);
		return -1;
	}
	for (p = host; p < end; p++)
		if (!isalnum((unsigned char)*p) && !strchr(".-:[]_", *p)) {
			tw_errf(err, errlen, "%s: '%.200s' has an invalid host",
			        name, v);
			return -1;
		}
	if (!https && !tw_config_is_loopback(host, hostlen)) {
		tw_errf(err, errlen,
		        "%s: http:// is allowed only to the loopback "
		        "interface (127.0.0.1, localhost, [::1]); use "
		        "https://",
		        name);
		return -1;
	}
	n = strlen(v);
	while (n > 0 && v[n - 1] == '/')
		n--;
	*out = strndup(v, n);
	return *out ? 0 : -1;
}

static int check_label(const char *name, const char *v, char *err,
                       size_t errlen)
{
	size_t i, n = strlen(v);

	if (n > 32)
		goto bad;
	for (i = 0; i < n; i++)
		if (!islower((unsigned char)v[i]) &&
		    !isdigit((unsigned char)v[i]) && v[i] != '-')
			goto bad;
	return 0;
bad:
	tw_errf(err, errlen,
	        "%s: '%.40s' must be lower-case letters, digits and "
	        "'-' (e.g. dublin, ie1)",
	        name, shown(name, v));
	return -1;
}

static int check_file(const char *name, const char *v, char *err, size_t errlen)
{
	if (access(v, R_OK) != 0) {
		int e = errno;
		const tw_key *k = key_find(name);

		if (k && k->secure)
			tw_errf(err, errlen,
			        "%s: cannot read the file it names: %s (give "
			        "the path of a readable PEM file)",
			        name, strerror(e));
		else
			tw_errf(err, errlen, "%s: cannot read '%.300s': %s",
			        name, v, strerror(e));
		return -1;
	}
	return 0;
}

static int parse_credentials(json_object *cfg, tw_config *c, char *err,
                             size_t errlen)
{
	const char *acc, *tok, *key, *sec;

	if (get(cfg, "TWILIO_ACCOUNT", &acc, err, errlen) ||
	    get(cfg, "TWILIO_TOKEN", &tok, err, errlen) ||
	    get(cfg, "TWILIO_API_KEY", &key, err, errlen) ||
	    get(cfg, "TWILIO_API_SECRET", &sec, err, errlen))
		return -1;
	if (!acc) {
		tw_errf(err, errlen,
		        "TWILIO_ACCOUNT: missing; set it to the "
		        "Account SID (AC followed by 32 hex digits)");
		return -1;
	}
	if (strncmp(acc, "AC", 2) != 0 || !is_hex32(acc + 2)) {
		tw_errf(err, errlen,
		        "TWILIO_ACCOUNT: '%.64s' is not an Account "
		        "SID: expected AC followed by 32 hex digits "
		        "(the SID, not the account's name)",
		        acc);
		return -1;
	}
	if (key && (strncmp(key, "SK", 2) != 0 || !is_hex32(key + 2))) {
		tw_errf(err, errlen,
		        "TWILIO_API_KEY: '%.64s' is not an API key "
		        "SID: expected SK followed by 32 hex digits",
		        key);
		return -1;
	}
	if (!key != !sec) {
		tw_errf(err, errlen,
		        "%s: missing; TWILIO_API_KEY and "
		        "TWILIO_API_SECRET go together",
		        key ? "TWILIO_API_SECRET" : "TWILIO_API_KEY");
		return -1;
	}
	if (!tok && !key) {
		tw_errf(err, errlen,
		        "TWILIO_TOKEN: missing; set the Auth Token, "
		        "or TWILIO_API_KEY and TWILIO_API_SECRET");
		return -1;
	}
	if (tok && strpbrk(tok, "\r\n")) {
		tw_errf(err, errlen, "TWILIO_TOKEN: contains a line break");
		return -1;
	}
	if (sec && strpbrk(sec, "\r\n")) {
		tw_errf(err, errlen,
		        "TWILIO_API_SECRET: contains a line break");
		return -1;
	}
	if (dup_str(acc, &c->account) || dup_str(tok, &c->token) ||
	    dup_str(key, &c->api_key) || dup_str(sec, &c->api_secret))
		return -1;
	return 0;
}

static int parse_endpoint(json_object *cfg, tw_config *c, char *err,
                          size_t errlen)
{
	json_object *v = NULL;
	const char *base, *edge, *region, *proxy, *ca;
	int base_set = json_object_object_get_ex(cfg, "TWILIO_BASE_URL", &v) &&
	               json_object_is_type(v, json_type_string) &&
	               json_object_get_string_len(v) > 0;

	if (get(cfg, "TWILIO_BASE_URL", &base, err, errlen) ||
	    get(cfg, "TWILIO_EDGE", &edge, err, errlen) ||
	    get(cfg, "TWILIO_REGION", &region, err, errlen) ||
	    get(cfg, "TWILIO_PROXY", &proxy, err, errlen) ||
	    get(cfg, "TWILIO_CA_BUNDLE", &ca, err, errlen))
		return -1;
	c->base_url_set = base_set || edge || region;
	if (base_set && (edge || region)) {
		tw_errf(err, errlen,
		        "TWILIO_BASE_URL: set either it or "
		        "TWILIO_EDGE/TWILIO_REGION, not both");
		return -1;
	}
	if ((edge && check_label("TWILIO_EDGE", edge, err, errlen)) ||
	    (region && check_label("TWILIO_REGION", region, err, errlen)))
		return -1;
	if (edge || region) {
		char url[128];

		if (edge)
			snprintf(url, sizeof(url),
			         "https://api.%s.%s.twilio.com", edge,
			         region ? region : "us1");
		else
			snprintf(url, sizeof(url), "https://api.%s.twilio.com",
			         region);
		base = url;
		if (check_base_url("TWILIO_BASE_URL", base, &c->base_url, err,
		                   errlen))
			return -1;
	} else if (check_base_url("TWILIO_BASE_URL", base, &c->base_url, err,
	                          errlen))
		return -1;
	if (proxy && (!strstr(proxy, "://") || strpbrk(proxy, " \t\r\n"))) {
		tw_errf(err, errlen,
		        "TWILIO_PROXY: not a proxy URL (expected "
		        "scheme://host:port)");
		return -1;
	}
	if (proxy) {
		static const char *const schemes[] = {
		        "http://",    "https://",  "socks4://",
		        "socks4a://", "socks5://", "socks5h://"};
		size_t i;

		for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
			if (strncasecmp(proxy, schemes[i],
			                strlen(schemes[i])) == 0)
				break;
		if (i == sizeof(schemes) / sizeof(schemes[0])) {
			/* libcurl would refuse it on every request, quoting
			 * the URL */
			tw_errf(err, errlen,
			        "TWILIO_PROXY: unsupported scheme (use "
			        "http://, "
			        "https://, socks4://, socks4a://, socks5:// or "
			        "socks5h://)");
			return -1;
		}
	}
	if (ca && check_file("TWILIO_CA_BUNDLE", ca, err, errlen))
		return -1;
	if (dup_str(proxy, &c->proxy) || dup_str(ca, &c->ca_bundle))
		return -1;
	return 0;
}

static int parse_limits(json_object *cfg, tw_config *c, char *err,
                        size_t errlen)
{
	if (parse_long(cfg, "TWILIO_CONNECT_TIMEOUT_MS", &c->connect_timeout_ms,
	               err, errlen) ||
	    parse_long(cfg, "TWILIO_REQUEST_TIMEOUT_MS", &c->request_timeout_ms,
	               err, errlen) ||
	    parse_long(cfg, "TWILIO_MAX_CONCURRENCY", &c->max_concurrency, err,
	               errlen) ||
	    parse_long(cfg, "TWILIO_MAX_RECIPIENTS", &c->max_recipients, err,
	               errlen) ||
	    parse_long(cfg, "TWILIO_QUEUE_CAPACITY", &c->queue_capacity, err,
	               errlen) ||
	    parse_long(cfg, "TWILIO_MAX_RETRIES", &c->max_retries, err,
	               errlen) ||
	    parse_long(cfg, "TWILIO_IDEMPOTENCY_TTL_MS", &c->idempotency_ttl_ms,
	               err, errlen))
		return -1;
	return 0;
}

/* The template settings beyond locale and number format, each checked
 * alone with ftl_settings_check so that the error names its key. */
static int parse_template_more(json_object *cfg, tw_config *c, char *err,
                               size_t errlen)
{
	static const struct {
		const char *key;
		size_t cfg_off, fs_off;
	} keys[] = {
#define K(k, f) {k, offsetof(tw_config, f), offsetof(ftl_settings, f)}
	        K("TEMPLATE_TIME_ZONE", time_zone),
	        K("TEMPLATE_DATE_FORMAT", date_format),
	        K("TEMPLATE_TIME_FORMAT", time_format),
	        K("TEMPLATE_DATETIME_FORMAT", datetime_format),
	        K("TEMPLATE_BOOLEAN_FORMAT", boolean_format),
	        K("TEMPLATE_OUTPUT_FORMAT", output_format),
	        K("TEMPLATE_URL_ESCAPING_CHARSET", url_escaping_charset),
#undef K
	};
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *v;
		char **dst = (char **)((char *)c + keys[i].cfg_off);
		ftl_settings fs;
		ftl_error fe;
		if (get(cfg, keys[i].key, &v, err, errlen) || dup_str(v, dst))
			return -1;
		if (!v)
			continue;
		memset(&fs, 0, sizeof(fs));
		*(const char **)((char *)&fs + keys[i].fs_off) = *dst;
		if (ftl_settings_check(&fs, &fe)) {
			tw_errf(err, errlen, "%s: %s", keys[i].key, fe.message);
			return -1;
		}
	}
	return 0;
}

static int parse_template(json_object *cfg, tw_config *c, char *err,
                          size_t errlen)
{
	const char *loc, *nf;

	if (get(cfg, "TEMPLATE_LOCALE", &loc, err, errlen) ||
	    get(cfg, "TEMPLATE_NUMBER_FORMAT", &nf, err, errlen) ||
	    parse_bool(cfg, "LOG_BODIES", &c->log_bodies, err, errlen) ||
	    parse_bool(cfg, "LOG_NUMBERS", &c->log_numbers, err, errlen))
		return -1;
	if (dup_str(loc, &c->locale) || dup_str(nf, &c->number_format))
		return -1;
	return parse_template_more(cfg, c, err, errlen);
}

/* TWILIO_WEBHOOK_LISTEN: HOST:PORT or [V6]:PORT, PORT 0..65535 (0: the
 * kernel picks). The address itself is resolved at start(). */
static int check_listen(const char *v, char *err, size_t errlen)
{
	const char *colon = strrchr(v, ':');
	char *end;
	long port;

	if (!colon || colon == v || (v[0] == '[' && colon[-1] != ']') ||
	    (v[0] != '[' && memchr(v, ':', (size_t)(colon - v)))) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_LISTEN: '%.100s' must be address:port "
		        "(e.g. 0.0.0.0:8080 or [::]:8080)",
		        v);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || end == colon + 1 || *end ||
	    !isdigit((unsigned char)colon[1]) || port < 0 || port > 65535) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_LISTEN: '%.100s': the port must be a "
		        "number from 0 to 65535 (0: the kernel picks one)",
		        v);
		return -1;
	}
	return 0;
}

static int parse_webhook(json_object *cfg, tw_config *c, char *err,
                         size_t errlen)
{
	const char *listen, *path, *pub, *cert, *key, *mode, *tok2, *skey;

	if (get(cfg, "TWILIO_WEBHOOK_LISTEN", &listen, err, errlen) ||
	    get(cfg, "TWILIO_WEBHOOK_PATH", &path, err, errlen) ||
	    get(cfg, "TWILIO_WEBHOOK_PUBLIC_URL", &pub, err, errlen) ||
	    get(cfg, "TWILIO_WEBHOOK_TLS_CERT", &cert, err, errlen) ||
	    get(cfg, "TWILIO_WEBHOOK_TLS_KEY", &key, err, errlen) ||
	    get(cfg, "TWILIO_REPLY_MODE", &mode, err, errlen) ||
	    parse_bool(cfg, "TWILIO_VALIDATE_SIGNATURE", &c->validate_signature,
	               err, errlen) ||
	    parse_long(cfg, "TWILIO_WEBHOOK_BODY_LIMIT", &c->webhook_body_limit,
	               err, errlen) ||
	    parse_long(cfg, "TWILIO_WEBHOOK_MAX_CONNECTIONS",
	               &c->webhook_max_connections, err, errlen) ||
	    parse_long(cfg, "TWILIO_WEBHOOK_MAX_PER_IP", &c->webhook_max_per_ip,
	               err, errlen) ||
	    parse_long(cfg, "TWILIO_WEBHOOK_IDLE_TIMEOUT_S",
	               &c->webhook_idle_timeout_s, err, errlen) ||
	    parse_long(cfg, "TWILIO_PUBLISH_DEADLINE_MS",
	               &c->publish_deadline_ms, err, errlen) ||
	    parse_long(cfg, "TWILIO_INBOUND_DEDUPE_TTL_MS",
	               &c->inbound_dedupe_ttl_ms, err, errlen) ||
	    parse_long(cfg, "TWILIO_WEBHOOK_WORKERS", &c->webhook_workers, err,
	               errlen) ||
	    get(cfg, "TWILIO_TOKEN_SECONDARY", &tok2, err, errlen) ||
	    get(cfg, "TWILIO_WEBHOOK_SIGNING_KEY", &skey, err, errlen))
		return -1;
	if (listen && check_listen(listen, err, errlen))
		return -1;
	if ((tok2 && strpbrk(tok2, "\r\n")) ||
	    (skey && strpbrk(skey, "\r\n"))) {
		tw_errf(err, errlen, "%s: contains a line break",
		        tok2 && strpbrk(tok2, "\r\n")
		                ? "TWILIO_TOKEN_SECONDARY"
		                : "TWILIO_WEBHOOK_SIGNING_KEY");
		return -1;
	}
	if (path && path[0] != '/') {
		tw_errf(err, errlen, "TWILIO_WEBHOOK_PATH: must start with /");
		return -1;
	}
	if (pub && strncasecmp(pub, "https://", 8) != 0 &&
	    strncasecmp(pub, "http://", 7) != 0) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_PUBLIC_URL: must be an "
		        "http:// or https:// URL");
		return -1;
	}
	if (pub && strpbrk(pub, " \t\r\n#")) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_PUBLIC_URL: must not contain spaces or "
		        "a "
		        "fragment (#...): give the URL exactly as Twilio calls "
		        "it, without Twilio's connection overrides");
		return -1;
	}
	if (listen && c->validate_signature && !pub) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_PUBLIC_URL: missing; it is "
		        "required while signatures are validated "
		        "(the URL Twilio calls and signs)");
		return -1;
	}
	if (listen && c->validate_signature && !c->token) {
		tw_errf(err, errlen,
		        "TWILIO_TOKEN: missing; validating webhook "
		        "signatures needs the Auth Token");
		return -1;
	}
	if (!cert != !key) {
		tw_errf(err, errlen,
		        "%s: missing; TWILIO_WEBHOOK_TLS_CERT and "
		        "TWILIO_WEBHOOK_TLS_KEY go together",
		        cert ? "TWILIO_WEBHOOK_TLS_KEY"
		             : "TWILIO_WEBHOOK_TLS_CERT");
		return -1;
	}
	if ((cert &&
	     check_file("TWILIO_WEBHOOK_TLS_CERT", cert, err, errlen)) ||
	    (key && check_file("TWILIO_WEBHOOK_TLS_KEY", key, err, errlen)))
		return -1;
	if (strcmp(mode, "first") && strcmp(mode, "all") &&
	    strcmp(mode, "none")) {
		tw_errf(err, errlen,
		        "TWILIO_REPLY_MODE: '%.40s' must be first, "
		        "all or none",
		        mode);
		return -1;
	}
	if (dup_str(listen, &c->webhook_listen) ||
	    dup_str(path, &c->webhook_path) ||
	    dup_str(pub, &c->webhook_public_url) ||
	    dup_str(cert, &c->webhook_tls_cert) ||
	    dup_str(key, &c->webhook_tls_key) ||
	    dup_str(mode, &c->reply_mode) ||
	    dup_str(tok2, &c->token_secondary) ||
	    dup_str(skey, &c->webhook_signing_key))
		return -1;
	return 0;
}

/* Add a copy of secret V (N bytes) to C's list; -1 out of memory. */
static int add_secret(tw_config *c, const char *v, size_t n)
{
	size_t i;

	if (n == 0 || c->nsecrets >= TW_CONFIG_SECRETS_MAX)
		return 0;
	for (i = 0; i < c->nsecrets; i++)
		if (strlen(c->secrets[i]) == n && !memcmp(c->secrets[i], v, n))
			return 0;
	c->secrets[c->nsecrets] = strndup(v, n);
	if (!c->secrets[c->nsecrets])
		return -1;
	c->nsecrets++;
	return 0;
}

static int hexval(int ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	ch = tolower(ch);
	return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

/* S (N bytes) and, when it holds %XX escapes, its decoded form. */
static int add_secret_decoded(tw_config *c, const char *s, size_t n)
{
	char buf[TW_VALUE_MAX + 1];
	size_t i, o = 0;

	if (add_secret(c, s, n))
		return -1;
	for (i = 0; i < n && o < TW_VALUE_MAX; i++) {
		if (s[i] == '%' && i + 2 < n && hexval(s[i + 1]) >= 0 &&
		    hexval(s[i + 2]) >= 0) {
			buf[o++] = (char)(hexval(s[i + 1]) * 16 +
			                  hexval(s[i + 2]));
			i += 2;
		} else {
			buf[o++] = s[i];
		}
	}
	return add_secret(c, buf, o);
}

/* Every secret of CONFIG, read straight from it (also when the rest does
 * not parse, so a refusal can be scrubbed): each key marked secure, and
 * the userinfo of TWILIO_PROXY with its password on its own (libcurl may
 * quote either, percent-decoded or not). Longest first, so a value is
 * replaced whole before a part of it. */
static int collect_secrets(json_object *config, tw_config *c)
{
	size_t i, j;

	for (i = 0; i < TW_NKEYS; i++) {
		json_object *v;
		const char *s, *at, *colon;
		size_t n;

		if (!tw_keys[i].secure ||
		    !json_object_object_get_ex(config, tw_keys[i].name, &v) ||
		    !json_object_is_type(v, json_type_string))
			continue;
		s = json_object_get_string(v);
		n = strlen(s);
		if (add_secret(c, s, n))
			return -1;
		if (strcmp(tw_keys[i].name, "TWILIO_PROXY") != 0)
			continue;
		/* scheme://user:password@host:port/ */
		if (strstr(s, "://"))
			s = strstr(s, "://") + 3;
		n = strcspn(s, "/?#");
		at = NULL;
		for (j = 0; j < n; j++)
			if (s[j] == '@')
				at = s + j;
		if (!at)
			continue;
		if (add_secret_decoded(c, s, (size_t)(at - s)))
			return -1;
		colon = memchr(s, ':', (size_t)(at - s));
		if (colon &&
		    add_secret_decoded(c, colon + 1, (size_t)(at - colon - 1)))
			return -1;
	}
	/* longest first */
	for (i = 1; i < c->nsecrets; i++)
		for (j = i;
		     j > 0 && strlen(c->secrets[j - 1]) < strlen(c->secrets[j]);
		     j--) {
			char *t = c->secrets[j];

			c->secrets[j] = c->secrets[j - 1];
			c->secrets[j - 1] = t;
		}
	return 0;
}

char *tw_config_scrub(const tw_config *c, const char *text, int for_log)
{
	return tw_scrub(text, c->secrets, c->nsecrets,
	                for_log && !c->log_numbers ? TW_SCRUB_NUMBERS : 0);
}

int tw_config_parse(json_object *config, tw_config *out, char *err,
                    size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (!config || !json_object_is_type(config, json_type_object)) {
		tw_errf(err, errlen, "configuration: must be a JSON object");
		return -1;
	}
	if (collect_secrets(config, out) ||
	    parse_credentials(config, out, err, errlen) ||
	    parse_endpoint(config, out, err, errlen) ||
	    parse_limits(config, out, err, errlen) ||
	    parse_template(config, out, err, errlen) ||
	    parse_webhook(config, out, err, errlen)) {
		if (err && errlen && !err[0])
			tw_errf(err, errlen, "configuration: out of memory");
		/* no refusal echoes a secure value; this catches one put in
		 * the wrong key (a token pasted as TWILIO_ACCOUNT) */
		if (err && errlen) {
			char *clean =
			        tw_scrub(err, out->secrets, out->nsecrets, 0);

			if (clean)
				tw_errf(err, errlen, "%s", clean);
			else
				tw_errf(err, errlen,
				        "configuration: out of memory");
			free(clean);
		}
		tw_config_free(out);
		return -1;
	}
	return 0;
}

void tw_config_free(tw_config *c)
{
	char **strs[] = {&c->account,
	                 &c->token,
	                 &c->api_key,
	                 &c->api_secret,
	                 &c->base_url,
	                 &c->proxy,
	                 &c->ca_bundle,
	                 &c->locale,
	                 &c->number_format,
	                 &c->time_zone,
	                 &c->date_format,
	                 &c->time_format,
	                 &c->datetime_format,
	                 &c->boolean_format,
	                 &c->output_format,
	                 &c->url_escaping_charset,
	                 &c->webhook_listen,
	                 &c->webhook_path,
	                 &c->webhook_public_url,
	                 &c->webhook_tls_cert,
	                 &c->webhook_tls_key,
	                 &c->reply_mode,
	                 &c->token_secondary,
	                 &c->webhook_signing_key};
	size_t i;

	for (i = 0; i < c->nsecrets; i++) {
		volatile char *p = c->secrets[i];

		while (*p)
			*p++ = 0;
		free(c->secrets[i]);
		c->secrets[i] = NULL;
	}
	c->nsecrets = 0;
	for (i = 0; i < sizeof(strs) / sizeof(strs[0]); i++) {
		if (*strs[i] &&
		    (strs[i] == &c->token || strs[i] == &c->api_secret ||
		     strs[i] == &c->proxy || strs[i] == &c->token_secondary ||
		     strs[i] == &c->webhook_signing_key)) {
			/* do not leave secrets in freed memory */
			volatile char *p = *strs[i];
			while (*p)
				*p++ = 0;
		}
		free(*strs[i]);
		*strs[i] = NULL;
	}
}

json_object *tw_config_describe(void)
{
	json_object *o = json_object_new_object();
	size_t i;

	if (!o)
		return NULL;
	for (i = 0; i < TW_NKEYS; i++) {
		const tw_key *k = &tw_keys[i];
		json_object *e = json_object_new_object();

		json_object_object_add(e, "type",
		                       json_object_new_string(k->type));
		json_object_object_add(e, "required",
		                       json_object_new_boolean(k->required));
		json_object_object_add(e, "secure",
		                       json_object_new_boolean(k->secure));
		json_object_object_add(e, "default",
		                       k->def ? json_object_new_string(k->def)
		                              : NULL);
		json_object_object_add(e, "description",
		                       json_object_new_string(k->description));
		if (strcmp(k->type, "integer") == 0) {
			json_object_object_add(e, "minimum",
			                       json_object_new_int64(k->min));
			json_object_object_add(e, "maximum",
			                       json_object_new_int64(k->max));
		}
		json_object_object_add(o, k->name, e);
	}
	return o;
}
