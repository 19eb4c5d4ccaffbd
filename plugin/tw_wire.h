/*
 * tw_wire.h - the bytes on the wire, shared by the plugin and the sandbox
 * (plugin/libtwwire.la, no dependency but libc): one growable buffer,
 * application/x-www-form-urlencoded encoding and decoding, base64 and
 * constant-time comparison.
 *
 * Nothing here keeps global state; every function is safe on any thread
 * for distinct objects.
 */
#ifndef TW_WIRE_H
#define TW_WIRE_H

#include <stddef.h>

/* ---- the buffer ------------------------------------------------------- */

/*
 * A growable byte buffer, NUL-terminated whenever DATA is non-NULL. Zero
 * it to start ({0}). Out of memory is sticky: the failing append and every
 * later one return -1 and change nothing, and tw_buf_take() returns NULL,
 * so a builder can append many pieces and check once (OOM set) at the end.
 */
typedef struct tw_buf {
	char *data;
	size_t len;
	size_t cap;
	int oom; /* an append failed: the contents are incomplete */
} tw_buf;

/* Make room for EXTRA more bytes (plus the NUL). 0, or -1 out of memory. */
int tw_buf_reserve(tw_buf *b, size_t extra);

/* Append LEN bytes. 0, or -1 out of memory (B's bytes unchanged). */
int tw_buf_append(tw_buf *b, const void *data, size_t len);

/* Append the string S. As tw_buf_append. */
int tw_buf_puts(tw_buf *b, const char *s);

/* Append as printf does. As tw_buf_append (-1 also for a bad format). */
int tw_buf_printf(tw_buf *b, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

/* Empty B, keeping its memory (for reuse); clears OOM. */
void tw_buf_clear(tw_buf *b);

/* Release B's memory; B becomes empty ({0}). */
void tw_buf_free(tw_buf *b);

/* Hand over the NUL-terminated bytes (the caller frees them; "" for an
 * empty buffer) and their length in *LEN (when LEN is non-NULL); B
 * becomes empty. NULL after an out-of-memory append (B freed). */
char *tw_buf_take(tw_buf *b, size_t *len);

/* ---- form encoding ---------------------------------------------------- */

/*
 * Append "&KEY=VALUE" (no '&' when B is empty) with both percent-encoded:
 * unreserved characters (A-Z a-z 0-9 - . _ ~) as they are, everything else
 * as %XX, so '+' becomes %2B and a space %20.
 * Returns 0, or -1 out of memory (B unchanged).
 */
int tw_form_add(tw_buf *b, const char *key, const char *value, size_t vlen);

/* ---- form decoding ---------------------------------------------------- */

typedef struct tw_field {
	const char *name; /* NUL-terminated */
	size_t name_len;  /* may hold NULs (%00): use the lengths */
	const char *value;
	size_t value_len;
} tw_field;

typedef struct tw_form {
	char *mem; /* the decoded copy of the body, owned */
	tw_field *fields;
	size_t n; /* in the body's order */
} tw_form;

enum {
	TW_FORM_LENIENT = 0, /* a malformed %XX is kept as written */
	TW_FORM_STRICT = 1   /* a malformed %XX is an error */
};

/* What tw_form_parse() returns besides 0. */
#define TW_FORM_ENOMEM     (-1)
#define TW_FORM_EMALFORMED (-2)

/*
 * Parse an application/x-www-form-urlencoded BODY of LEN bytes (not
 * NUL-terminated) into OUT: fields split on '&', name and value on the
 * first '=' (a field without '=' has an empty value), '+' decoded as a
 * space and %XX as the byte; empty fields ("a=1&&b=2") are skipped.
 * FLAGS is TW_FORM_LENIENT or TW_FORM_STRICT.
 * Returns 0; TW_FORM_ENOMEM; or TW_FORM_EMALFORMED (strict only) with
 * *BAD_OFFSET (when non-NULL) the offset in BODY of the bad '%'. On
 * failure OUT is empty (nothing to free); on success free it with
 * tw_form_free(). Memory: LEN + 2 bytes per field + one tw_field per
 * field, O(LEN) time.
 */
int tw_form_parse(const char *body, size_t len, int flags, tw_form *out,
                  size_t *bad_offset);

/* Free what tw_form_parse() allocated; F becomes empty. F may be empty. */
void tw_form_free(tw_form *f);

/* The first field named NAME, or NULL. */
const tw_field *tw_form_get(const tw_form *f, const char *name);

/* How many fields are named NAME. */
size_t tw_form_count(const tw_form *f, const char *name);

/* ---- base64 ----------------------------------------------------------- */

/* Append the standard base64 (RFC 4648 §4, padded) of DATA to B.
 * 0, or -1 out of memory. */
int tw_base64_encode(tw_buf *b, const void *data, size_t len);

/*
 * Decode standard base64 IN (LEN chars, padding optional) into OUT, which
 * has room for LEN / 4 * 3 + 3 bytes; a NUL is added after the bytes.
 * Returns the decoded length, or -1 when IN holds a character outside the
 * alphabet (or '=' anywhere but the end).
 */
long tw_base64_decode(const char *in, size_t len, unsigned char *out);

/* ---- comparison ------------------------------------------------------- */

/*
 * Whether A (ALEN bytes) equals B (BLEN bytes), in time that depends on
 * BLEN only, never on where they differ: B is the secret or the expected
 * value, A the attacker's. 1 equal, 0 not.
 */
int tw_ct_equal(const void *a, size_t alen, const void *b, size_t blen);

/* ---- strings ---------------------------------------------------------- */

/* Format into a caller's error buffer ERR of ERRLEN bytes (curl's
 * error-buffer pattern of the ABI): truncated to fit, always terminated;
 * nothing when ERR is NULL or ERRLEN 0. */
void tw_errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* A new string formatted as printf does; the caller frees it.
 * NULL when out of memory. */
char *tw_strdupf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif /* TW_WIRE_H */
