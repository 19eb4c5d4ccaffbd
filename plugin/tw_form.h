/*
 * tw_form.h - a growable byte buffer and application/x-www-form-urlencoded
 * encoding of request bodies.
 */
#ifndef TW_FORM_H
#define TW_FORM_H

#include <stddef.h>

typedef struct tw_buf {
	char *data; /* NUL-terminated when non-NULL */
	size_t len;
	size_t cap;
} tw_buf;

/* Make room for EXTRA more bytes (plus the NUL). 0, or -1 out of memory. */
int tw_buf_reserve(tw_buf *b, size_t extra);

/* Append LEN bytes. 0, or -1 out of memory (B unchanged). */
int tw_buf_append(tw_buf *b, const void *data, size_t len);

/* Empty B, keeping its memory (for reuse). */
void tw_buf_clear(tw_buf *b);

/* Release B's memory; B becomes empty. */
void tw_buf_free(tw_buf *b);

/*
 * Append "&KEY=VALUE" (no '&' when B is empty) with both percent-encoded:
 * unreserved characters (A-Z a-z 0-9 - . _ ~) as they are, everything else
 * as %XX, so '+' becomes %2B and a space %20.
 * Returns 0, or -1 out of memory (B unchanged).
 */
int tw_form_add(tw_buf *b, const char *key, const char *value, size_t vlen);

#endif /* TW_FORM_H */
