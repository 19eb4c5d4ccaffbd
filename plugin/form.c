/*
 * form.c - request bodies: a reusable byte buffer and form encoding.
 *
 * Twilio takes application/x-www-form-urlencoded only; an unencoded '+'
 * would arrive as a space and turn +14155550100 into an invalid number.
 */
#include <stdlib.h>
#include <string.h>

#include "tw_form.h"

int tw_buf_reserve(tw_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *p;

	if (need < b->len)
		return -1;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > (size_t)-1 / 2)
			return -1;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		return -1;
	b->data = p;
	b->cap = cap;
	return 0;
}

int tw_buf_append(tw_buf *b, const void *data, size_t len)
{
	if (tw_buf_reserve(b, len))
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

void tw_buf_clear(tw_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void tw_buf_free(tw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

static int unreserved(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
	       c == '~';
}

static void encode(tw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	char *p = b->data + b->len;
	size_t i;

	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (unreserved(c)) {
			*p++ = (char)c;
		} else {
			*p++ = '%';
			*p++ = hex[c >> 4];
			*p++ = hex[c & 15];
		}
	}
	b->len = (size_t)(p - b->data);
	*p = '\0';
}

int tw_form_add(tw_buf *b, const char *key, const char *value, size_t vlen)
{
	size_t klen = strlen(key);

	if (vlen > ((size_t)-1 - 2) / 3 - klen)
		return -1;
	/* worst case: every byte as %XX, plus '&' and '=' */
	if (tw_buf_reserve(b, 3 * (klen + vlen) + 2))
		return -1;
	if (b->len) {
		b->data[b->len++] = '&';
	}
	encode(b, key, klen);
	b->data[b->len++] = '=';
	encode(b, value, vlen);
	return 0;
}
