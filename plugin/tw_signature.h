/*
 * tw_signature.h - Twilio's request signature, both sides: verifying an
 * inbound webhook (the plugin) and signing one (the sandbox's `inbound`
 * command). plugin/libtwsig.la; links libtwwire.la and libcrypto.
 *
 * The rule (CONTRACT.md "X-Twilio-Signature"; every vector of
 * signature-vectors.json holds):
 *   string to sign = the public URL Twilio called, exactly as configured
 *                    (no case folding, credentials kept, the raw query),
 *                  + for each form field sorted by name in byte order,
 *                    name + value; a repeated name contributes name + value
 *                    once per DISTINCT value, values sorted in byte order
 *                    (what twilio-node, twilio-python and twilio-php do:
 *                    the "duplicate_values" vector);
 *   signature      = base64(HMAC-SHA1(auth token, string to sign)), or
 *                    HMAC-SHA256 with a shared key when a Twilio Webhook
 *                    Setting applies (see tw_sig_verify).
 *
 * No global state, no logging: every function is safe on any thread.
 * Out of memory is reported (-1), never a crash and never "valid".
 */
#ifndef TW_SIGNATURE_H
#define TW_SIGNATURE_H

#include "tw_wire.h"

#include <stddef.h>

enum tw_sig_algo { TW_SIG_HMAC_SHA1 = 0, TW_SIG_HMAC_SHA256 = 1 };

typedef struct tw_sig_request {
	const char *url;       /* the public URL Twilio called, with the raw
	                          query exactly as sent */
	const tw_form *form;   /* decoded form fields (all of them) */
	const char *signature; /* X-Twilio-Signature, or NULL */
	const char *settings;  /* X-Twilio-Webhooks-Signature-Settings, or
	                          NULL */
} tw_sig_request;

typedef struct tw_sig_keys {
	const char *token;           /* TWILIO_TOKEN (HMAC-SHA1) */
	const char *token_secondary; /* or NULL: accepted during a token
	                                rotation */
	const char *signing_key;     /* or NULL: the HMAC-SHA256 shared key */
	/* or NULL: the digests fetched once (tw_sig_md_new), which makes a
	 * check several times cheaper than OpenSSL 3's one-shot HMAC(),
	 * which looks the algorithm up again at every call */
	const struct tw_sig_md *md;
} tw_sig_keys;

/*
 * SHA-1 and SHA-256 fetched from OpenSSL's default provider once, for
 * tw_sig_keys.md. Owned by the caller (the webhook: one per instance, freed
 * with it, never at exit, when OpenSSL may have cleaned up already).
 * Threads: read-only after new, shared by any number of threads.
 * Returns NULL when out of memory or when the provider lacks them (the
 * checks then take the slower path, with the same results).
 */
typedef struct tw_sig_md tw_sig_md;
tw_sig_md *tw_sig_md_new(void);
void tw_sig_md_free(tw_sig_md *md);

/* Limits: a longer URL or signature header is refused (0, invalid) before
 * any work; the form's size is bounded by whoever parsed it. */
#define TW_SIG_MAX_URL       8192
#define TW_SIG_MAX_SIGNATURE 256

/*
 * The string Twilio signs (see the header comment) appended to OUT: URL,
 * then the fields sorted by (name, value) in byte order, equal pairs once.
 * Names and values may hold NULs (their lengths are used). FORM may be
 * NULL (no fields: the JSON-body case). O(n log n + bytes).
 * 0, or -1 out of memory.
 */
int tw_sig_base(tw_buf *out, const char *url, const tw_form *form);

/* base64(HMAC(key, data)) appended to OUT. 0, or -1 (out of memory, or
 * the MAC failed). */
int tw_sig_sign(tw_buf *out, enum tw_sig_algo algo, const char *key,
                size_t keylen, const char *data, size_t len);

/*
 * 1 valid, 0 invalid (or no signature, or no key), -1 out of memory.
 *
 * URL variants tried (CONTRACT.md; the official libraries' tolerance):
 * the URL as given; with its port removed; with the scheme's default port
 * (:443 https, :80 http) added when it has none; and each of those with
 * the path and query percent-encoded as a WHATWG URL parser does (a raw
 * apostrophe as %27: twilio-node's "special_chars_query" vector). The
 * host is never case-folded.
 *
 * Keys: HMAC-SHA1 under the token, then the secondary token. The SETTINGS
 * header (X-Twilio-Webhooks-Signature-Settings: key=...,algorithm=...) is
 * documented by Twilio as "a Webhook Rule matched: signed with that
 * Setting's shared key and this algorithm". It only ADDS a check: when it
 * names algorithm=HMAC_SHA256 (or HMAC_SHA1) and a signing key is
 * configured, the signature is also tried under the signing key with that
 * algorithm. A request can forge the header, so it never removes the token
 * check and never turns validation off; an unknown algorithm adds nothing.
 *
 * Comparisons are constant-time (tw_ct_equal) against each candidate.
 * CHECKED_URL (may be NULL) receives the URL as given, for the caller's
 * 403 log line. Never logs.
 */
int tw_sig_verify(const tw_sig_request *req, const tw_sig_keys *keys,
                  tw_buf *checked_url);

/*
 * JSON bodies (not used for SMS, whose webhook answers 415 to them): 1
 * when URL's query holds bodySHA256=<hex> and that is the SHA-256 of BODY
 * (LEN bytes), 0 otherwise (missing, malformed, different). The signature
 * itself is checked with tw_sig_verify and no form.
 */
int tw_sig_body_sha256_ok(const char *url, const char *body, size_t len);

#endif /* TW_SIGNATURE_H */
