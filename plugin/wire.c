/*
 * wire.c - the bytes on the wire (tw_wire.h): the buffer, form encoding
 * and decoding, base64, constant-time comparison. Shared by the plugin and
 * the sandbox; libc only.
 *
 * Twilio takes application/x-www-form-urlencoded only; an unencoded '+'
 * would arrive as a space and turn +14155550100 into an invalid number.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_wire.h"

int tw_buf_reserve(tw_buf *b, size_t extra)
{
	size_t need = b->len + extra + 1, cap;
	char *p;

	if (b->oom)
		return -1;
	if (need < b->len)
		goto oom;
	if (need <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 64;
	while (cap < need) {
		if (cap > (size_t)-1 / 2)
			goto oom;
		cap *= 2;
	}
	p = realloc(b->data, cap);
	if (!p)
		goto oom;
	b->data = p;
	b->cap = cap;
	return 0;
oom:
	b->oom = 1;
	return -1;
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

int tw_buf_puts(tw_buf *b, const char *s)
{
	return tw_buf_append(b, s, strlen(s));
}

int tw_buf_printf(tw_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0) {
		b->oom = 1;
		return -1;
	}
	if (tw_buf_reserve(b, (size_t)n))
		return -1;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void tw_buf_clear(tw_buf *b)
{
	b->len = 0;
	b->oom = 0;
	if (b->data)
		b->data[0] = '\0';
}

void tw_buf_free(tw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
	b->oom = 0;
}

char *tw_buf_take(tw_buf *b, size_t *len)
{
	char *d;

	if (tw_buf_reserve(b, 0)) {
		tw_buf_free(b);
		return NULL;
	}
	b->data[b->len] = '\0';
	d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
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

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode S[0..N) in place ('+' is a space). Returns the new length, or
 * (size_t)-1 with *BAD the offset of a malformed '%' when STRICT. */
/* Decode N bytes of SRC into DST (room for N): '+' is a space, %XX a byte;
 * runs of plain bytes are copied whole. A malformed % is copied as is
 * (lenient) or fails with its offset in *BAD (strict). The decoded length,
 * or (size_t)-1. */
static size_t url_decode(char *dst, const char *src, size_t n, int strict,
                         size_t *bad)
{
	size_t i = 0, o = 0;

	while (i < n) {
		size_t j = i;
		int hi, lo;

		while (j < n && src[j] != '%' && src[j] != '+')
			j++;
		memcpy(dst + o, src + i, j - i);
		o += j - i;
		i = j;
		if (i == n)
			break;
		if (src[i] == '+') {
			dst[o++] = ' ';
			i++;
		} else if (i + 2 < n &&
		           (hi = hexval((unsigned char)src[i + 1])) >= 0 &&
		           (lo = hexval((unsigned char)src[i + 2])) >= 0) {
			dst[o++] = (char)(hi << 4 | lo);
			i += 3;
		} else if (strict) {
			*bad = i;
			return (size_t)-1;
		} else {
			dst[o++] = src[i++];
		}
	}
	return o;
}

int tw_form_parse(const char *body, size_t len, int flags, tw_form *out,
                  size_t *bad_offset)
{
	size_t i, n = 1, start = 0;
	char *w;

	memset(out, 0, sizeof *out);
	for (i = 0; i < len; i++)
		n += body[i] == '&';
	/* every field gets a NUL after its name and its value: len + 2n */
	out->mem = malloc(len + 2 * n + 1);
	out->fields = calloc(n, sizeof *out->fields);
	if (!out->mem || !out->fields) {
		tw_form_free(out);
		return TW_FORM_ENOMEM;
	}
	w = out->mem;
	for (i = 0; i <= len; i++) {
		const char *tok, *eq;
		size_t tl, nl, vl, bad = 0, tokoff;
		tw_field *f;

		if (i < len && body[i] != '&')
			continue;
		tokoff = start;
		tok = body + start;
		tl = i - start;
		start = i + 1;
		if (tl == 0)
			continue;
		eq = memchr(tok, '=', tl);
		nl = eq ? (size_t)(eq - tok) : tl;
		vl = eq ? tl - nl - 1 : 0;
		f = &out->fields[out->n++];
		nl = url_decode(w, tok, nl, flags & TW_FORM_STRICT, &bad);
		if (nl == (size_t)-1)
			goto malformed;
		w[nl] = '\0';
		f->name = w;
		f->name_len = nl;
		w += nl + 1;
		vl = url_decode(w, eq ? eq + 1 : tok + tl, vl,
		                flags & TW_FORM_STRICT, &bad);
		if (vl == (size_t)-1) {
			bad += (size_t)(eq - tok) + 1;
			goto malformed;
		}
		w[vl] = '\0';
		f->value = w;
		f->value_len = vl;
		w += vl + 1;
		continue;
	malformed:
		if (bad_offset)
			*bad_offset = tokoff + bad;
		tw_form_free(out);
		return TW_FORM_EMALFORMED;
	}
	return 0;
}

void tw_form_free(tw_form *f)
{
	free(f->mem);
	free(f->fields);
	memset(f, 0, sizeof *f);
}

const tw_field *tw_form_get(const tw_form *f, const char *name)
{
	size_t i, nl = strlen(name);

	for (i = 0; i < f->n; i++)
		if (f->fields[i].name_len == nl &&
		    memcmp(f->fields[i].name, name, nl) == 0)
			return &f->fields[i];
	return NULL;
}

size_t tw_form_count(const tw_form *f, const char *name)
{
	size_t i, n = 0, nl = strlen(name);

	for (i = 0; i < f->n; i++)
		n += f->fields[i].name_len == nl &&
		     memcmp(f->fields[i].name, name, nl) == 0;
	return n;
}

static const char b64chars[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int tw_base64_encode(tw_buf *b, const void *data, size_t len)
{
	const unsigned char *p = data;
	size_t i, olen;
	char *o;

	if (len > ((size_t)-1 - 4) / 4 * 3)
		return -1;
	olen = (len + 2) / 3 * 4;
	if (tw_buf_reserve(b, olen))
		return -1;
	o = b->data + b->len;
	for (i = 0; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 |
		             p[i + 2];

		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = b64chars[(v >> 6) & 63];
		*o++ = b64chars[v & 63];
	}
	if (i < len) {
		unsigned v = (unsigned)p[i] << 16;

		if (i + 1 < len)
			v |= (unsigned)p[i + 1] << 8;
		*o++ = b64chars[v >> 18];
		*o++ = b64chars[(v >> 12) & 63];
		*o++ = i + 1 < len ? b64chars[(v >> 6) & 63] : '=';
		*o++ = '=';
	}
	b->len += olen;
	*o = '\0';
	return 0;
}

static int b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

long tw_base64_decode(const char *in, size_t len, unsigned char *out)
{
	unsigned long acc = 0;
	size_t i, o = 0, pad = 0;
	int bits = 0;

	while (len > 0 && in[len - 1] == '=' && pad < 2) {
		len--;
		pad++;
	}
	for (i = 0; i < len; i++) {
		int v = b64val((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)((acc >> bits) & 0xFF);
		}
	}
	out[o] = '\0';
	return (long)o;
}

int tw_ct_equal(const void *a, size_t alen, const void *b, size_t blen)
{
	const volatile unsigned char *pa = a, *pb = b;
	unsigned char d = alen != blen;
	size_t i;

	/* BLEN steps whatever A holds; an A shorter than B reads zeros */
	for (i = 0; i < blen; i++)
		d |= (unsigned char)((i < alen ? pa[i] : 0) ^ pb[i]);
	return d == 0;
}

void tw_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

char *tw_strdupf(const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}
