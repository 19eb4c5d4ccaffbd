/*
 * tw_config.h - the connector's configuration: the keys (for describe()),
 * their parsing and validation (for init()).
 */
#ifndef TW_CONFIG_H
#define TW_CONFIG_H

#include <stddef.h>
#include <json-c/json.h>

#define TW_CONFIG_SECRETS_MAX 16

typedef struct tw_config {
	char *account;    /* AC + 32 hex */
	char *token;      /* NULL when an API key is used */
	char *api_key;    /* SK + 32 hex, or NULL */
	char *api_secret; /* or NULL */
	char *base_url;   /* effective, without a trailing slash */
	char *proxy;      /* NULL: no proxy (the environment is ignored) */
	char *ca_bundle;  /* NULL: the system's */
	long connect_timeout_ms;
	long request_timeout_ms;
	long max_concurrency;
	long max_recipients;
	long queue_capacity;
	long max_retries;
	long idempotency_ttl_ms;
	char *locale;        /* TEMPLATE_LOCALE */
	char *number_format; /* TEMPLATE_NUMBER_FORMAT or NULL */
	/* the other template settings (ftl_settings; NULL: the default):
	 * TEMPLATE_TIME_ZONE, TEMPLATE_DATE_FORMAT, TEMPLATE_TIME_FORMAT,
	 * TEMPLATE_DATETIME_FORMAT, TEMPLATE_BOOLEAN_FORMAT,
	 * TEMPLATE_OUTPUT_FORMAT, TEMPLATE_URL_ESCAPING_CHARSET */
	char *time_zone, *date_format, *time_format, *datetime_format;
	char *boolean_format, *output_format, *url_escaping_charset;
	int log_bodies;
	int log_numbers;
	/* the inbound webhook (SMS_RECEIVED), served by webhook.c */
	char *webhook_listen;
	char *webhook_path;
	char *webhook_public_url;
	int validate_signature;
	long webhook_body_limit;
	long webhook_max_connections;
	long webhook_max_per_ip;
	long webhook_idle_timeout_s;
	char *webhook_tls_cert;
	char *webhook_tls_key;
	long publish_deadline_ms;   /* 100..10000 */
	long inbound_dedupe_ttl_ms; /* TTL of an "inbound/" claim */
	long webhook_workers;       /* threads running tw_inbound_handle() */
	char *token_secondary;      /* or NULL: accepted for signatures only */
	char *webhook_signing_key;  /* or NULL: the HMAC-SHA256 shared key */
	char *reply_mode;           /* "first", "all" or "none" */
	/* every secret the configuration holds, for tw_scrub(): the value of
	 * each key marked secure, and the parts of TWILIO_PROXY's userinfo
	 * (as written and percent-decoded); longest first */
	char *secrets[TW_CONFIG_SECRETS_MAX];
	size_t nsecrets;
	int base_url_set; /* TWILIO_BASE_URL given (not the default) */
} tw_config;

/*
 * Parse and validate CONFIG (a JSON object of string values, borrowed and
 * only read: no string cache is written into it) into OUT.
 * Returns 0; or -1 with ERR naming the key and the reason (never the value
 * of a secure key); OUT is then empty (nothing to free). Unknown keys are
 * ignored (the host warns about them).
 * Threads: any; touches no global state. Reads the file system only to
 * check that TWILIO_CA_BUNDLE and the TLS files are readable.
 */
int tw_config_parse(json_object *config, tw_config *out, char *err,
                    size_t errlen);

/*
 * TEXT (from libcurl or Twilio) made fit for an output (FOR_LOG 0: every
 * secret of C removed) or a log (FOR_LOG 1: also phone numbers masked
 * unless LOG_NUMBERS). malloc'd (caller frees); NULL for NULL TEXT or out
 * of memory.
 */
char *tw_config_scrub(const tw_config *c, const char *text, int for_log);

/* Free what tw_config_parse() allocated; C may be all zero. */
void tw_config_free(tw_config *c);

/* The "config" object of describe(): {KEY: {type, required, secure,
 * default, description}}; the caller owns it. */
json_object *tw_config_describe(void);

/* Whether HOST (as in a URL, brackets kept for IPv6) names the loopback
 * interface: localhost, 127.0.0.0/8, [::1]. */
int tw_config_is_loopback(const char *host, size_t len);

#endif /* TW_CONFIG_H */
