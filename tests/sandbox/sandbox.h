/*
 * sandbox.h - internal interfaces of twilio-sandbox, a local server that
 * speaks Twilio's Messages API (tests, the demo and benchmarks only).
 *
 * Modules: util.c (growable buffers, JSON strings, forms, base64, line
 * files), fault.c (--fault specs), api.c (Twilio semantics: auth, routing,
 * validation, message JSON, the message store), http.c (libmicrohttpd glue:
 * connections, faults, delays, records) and main.c (command line, start,
 * shutdown).
 */
#ifndef SANDBOX_H
#define SANDBOX_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SB_MAX_BODY  (64 * 1024) /* request bodies above: 413 */
#define SB_MAX_MEDIA 10

/* ---- util.c ---------------------------------------------------------- */

/* A growable byte buffer. OOM is sticky: later appends do nothing and
 * sb_buf_take() returns NULL. */
typedef struct sb_buf {
	char *data;
	size_t len, cap;
	bool oom;
} sb_buf;

void sb_buf_free(sb_buf *b);
void sb_putn(sb_buf *b, const char *s, size_t n);
void sb_puts(sb_buf *b, const char *s);
void sb_printf(sb_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
/* Append S (N bytes) as a quoted JSON string; NULL appends null. */
void sb_json_strn(sb_buf *b, const char *s, size_t n);
void sb_json_str(sb_buf *b, const char *s);
/* Hand over the NUL-terminated data (caller frees); NULL after OOM. */
char *sb_buf_take(sb_buf *b, size_t *len);

typedef struct sb_field {
	const char *name;
	const char *value; /* NUL-terminated; may hold NULs (value_len) */
	size_t value_len;
} sb_field;

typedef struct sb_form {
	char *mem; /* decoded copy of the body, owned */
	sb_field *fields;
	size_t n;
} sb_form;

/* Parse an application/x-www-form-urlencoded BODY. Returns 0, or -1 on
 * OOM. Malformed escapes are kept literally, as most servers do. */
int sb_form_parse(const char *body, size_t len, sb_form *out);
void sb_form_free(sb_form *f);
const sb_field *sb_form_get(const sb_form *f, const char *name);
size_t sb_form_count(const sb_form *f, const char *name);

/* Decode base64 IN (LEN chars) into OUT (room for LEN*3/4+1, NUL added).
 * Returns the decoded length or -1 when IN is not base64. */
long sb_base64_decode(const char *in, size_t len, char *out);

/* Constant-time equality of two strings (time depends on lengths only). */
bool sb_secret_eq(const char *a, const char *b);

/* An append-only file of JSON lines shared by all threads: each line goes
 * out in one write(2) under a mutex, so lines never interleave and a
 * reader sees only complete lines. NULL path: a no-op sink. */
typedef struct sb_lines sb_lines;
sb_lines *sb_lines_open(const char *path, char *err, size_t errlen);
void sb_lines_write(sb_lines *l, const char *line, size_t len);
void sb_lines_close(sb_lines *l);

/* RFC 2822 date of T ("Sat, 28 Nov 2026 22:06:58 +0000") into OUT[40]. */
void sb_rfc2822(long long t, char *out);

/* ---- fault.c --------------------------------------------------------- */

typedef enum sb_fault_kind {
	SB_F_429,
	SB_F_500,
	SB_F_503,
	SB_F_LATENCY,
	SB_F_SLOW,
	SB_F_DROP_BEFORE,
	SB_F_DROP_AFTER,
	SB_F_TRUNCATE,
	SB_F_NONJSON,
	SB_F_ERROR, /* any Twilio error: status=, code= */
} sb_fault_kind;

enum { SB_BODY_JSON = 0, SB_BODY_EMPTY, SB_BODY_HTML };

typedef struct sb_fault {
	sb_fault_kind kind;
	long first;  /* 0: no limit */
	double rate; /* < 0: no rate selector */
	uint64_t seed;
	bool reused; /* only 2nd+ requests of a connection */
	long ms;     /* latency, slow */
	/* 429: the Retry-After header as given ("" none): seconds, any text
	 * (garbage, negative, huge), or "date+N"/"date-N", an HTTP date N
	 * seconds from the answer */
	char retry_after[64];
	int code;          /* 500/503/error: the Twilio code, 0 default */
	int status;        /* error: the HTTP status (400..599) */
	int body;          /* 500/503: SB_BODY_* */
	atomic_ulong seen; /* matching requests so far */
} sb_fault;

const char *sb_fault_name(sb_fault_kind k);
/* Parse SPEC into *F. Returns 0, or -1 with ERR naming the problem. */
int sb_fault_parse(const char *spec, sb_fault *f, char *err, size_t errlen);
/* Count one request that satisfies F's reused selector (REUSED: not the
 * first on its connection) and say whether F fires for it. Thread-safe and
 * deterministic: the decision depends only on how many matching requests
 * came before. */
bool sb_fault_fires(sb_fault *f, bool reused);

/* ---- api.c ----------------------------------------------------------- */

typedef struct sb_config {
	const char *account;
	const char *token;
	const char *api_key; /* NULL: no API key accepted */
	const char *api_secret;
} sb_config;

/* What a request asks for, as routed by sb_api_route(). */
typedef enum sb_route {
	SB_R_NOT_FOUND,
	SB_R_ACCOUNT,  /* /2010-04-01/Accounts/{Sid}.json */
	SB_R_MESSAGES, /* .../Messages.json */
	SB_R_MESSAGE,  /* .../Messages/{Sid}.json */
} sb_route;

/* A response built by the API layer: malloc'd BODY, owned by the caller. */
typedef struct sb_reply {
	unsigned status;
	char *body;
	size_t len;
	char retry_after[64]; /* the Retry-After header, "" none */
	/* for the record of an accepted message (POST 201) */
	char *record; /* a JSON object without the closing '}' */
	size_t record_len;
} sb_reply;

int sb_api_init(const sb_config *cfg);
void sb_api_fini(void);

/* Route URL (no query). *SID_OUT points into URL at the account or
 * message SID for SB_R_MESSAGE (message) and the others (account). */
sb_route sb_api_route(const char *url, const char **account,
                      size_t *account_len, const char **msg_sid,
                      size_t *msg_sid_len);
/* true when AUTHORIZATION (a header value, may be NULL) holds the account
 * token or the API key. */
bool sb_api_auth_ok(const char *authorization);
/* Whether the path's account (LEN bytes) is the configured account. */
bool sb_api_account_ok(const char *account, size_t len);

/* Fill R with Twilio's error body for CODE (MESSAGE: Twilio's text). */
int sb_api_error(sb_reply *r, unsigned status, int code, const char *message);
/* POST Messages.json: validate FORM, store and reply 201 (R->record set)
 * or an error. Returns -1 on OOM. */
int sb_api_create(sb_reply *r, const sb_form *form);
/* GET a message: 0 with R filled, 1 when SID is unknown (or evicted from
 * the store), -1 on OOM. */
int sb_api_get_message(sb_reply *r, const char *sid, size_t len);
/* Twilio's 404 (20404) for URL. */
int sb_api_not_found(sb_reply *r, const char *url);
/* GET the list (PAGE, PAGE_SIZE from the query, may be NULL) / account. */
int sb_api_list(sb_reply *r, const char *page, const char *page_size);
int sb_api_account(sb_reply *r);
void sb_reply_free(sb_reply *r);

/* ---- numbers.c ------------------------------------------------------ */

/* The IncomingPhoneNumbers resource: +15005550006 and SPECS (--number
 * "+1...[:application=AP...]"). 0, or -1 with ERR. Before any thread. */
int sb_numbers_init(const char *account, const char *const *specs,
                    size_t nspecs, char *err, size_t errlen);
void sb_numbers_fini(void);
/* Route URL (no query) as sb_api_route() does, for the numbers' paths:
 * SB_N_LIST .../IncomingPhoneNumbers.json, SB_N_ONE .../{PN}.json (*SID
 * set), SB_N_NONE for any other. */
enum { SB_N_NONE = 0, SB_N_LIST, SB_N_ONE };
int sb_numbers_route(const char *url, const char **account, size_t *account_len,
                     const char **sid, size_t *sid_len);
/* GET the list page (PHONE: the PhoneNumber filter, or NULL). 0 / -1. */
int sb_numbers_list(sb_reply *r, const char *phone);
/* POST SmsUrl, SmsMethod...: 0 with R, 1 unknown SID, -1 OOM. */
int sb_numbers_update(sb_reply *r, const char *sid, size_t sid_len,
                      const char *body, size_t len);

/* ---- inbound.c ------------------------------------------------------- */

/* `twilio-sandbox inbound ...` (ARGV[0] is "inbound"): exit status. */
int sb_inbound_main(int argc, char **argv);

/* ---- http.c ---------------------------------------------------------- */

typedef struct sb_server_opts {
	const char *listen;
	unsigned port;
	unsigned threads;
	const char *tls_cert_pem; /* file contents, or NULL */
	const char *tls_key_pem;
	sb_fault *faults;
	size_t nfaults;
	sb_lines *record;
	sb_lines *requests;
} sb_server_opts;

/* Start serving. Returns 0 and the bound port, or -1 with ERR. */
int sb_server_start(const sb_server_opts *o, unsigned *port, char *err,
                    size_t errlen);
/* Stop: resume every delayed connection, stop the daemon, join threads. */
void sb_server_stop(void);

#endif /* SANDBOX_H */
