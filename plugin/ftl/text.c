/*
 * text.c - UTF-8 and UTF-16 bookkeeping (FreeMarker counts in UTF-16 units,
 * as Java strings do), Java's case mapping (full mappings such as
 * "ß" -> "SS") and the growing output buffer.
 *
 * The case tables come from glibc's C.UTF-8 locale (a locale object made
 * once, never the process locale); the full mappings Java adds are below.
 */
#define _GNU_SOURCE 1

#include <locale.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "ftl_int.h"

int fbuf_put(fbuf *b, const char *s, size_t n)
{
	if (b->over || b->nomem)
		return -1;
	if (b->n + n > b->max) {
		b->over = 1;
		return -1;
	}
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 256;
		char *p;
		while (cap < b->n + n + 1)
			cap *= 2;
		if (b->p == b->stack) {
			p = malloc(cap);
			if (p && b->n)
				memcpy(p, b->p, b->n);
		} else {
			p = realloc(b->p, cap);
		}
		if (!p) {
			b->nomem = 1;
			return -1;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	return 0;
}

int fbuf_putc(fbuf *b, char c)
{
	if (b->n + 1 < b->cap && b->n + 1 <= b->max) {
		b->p[b->n++] = c;
		return 0;
	}
	return fbuf_put(b, &c, 1);
}

int ftxt_utf8_valid(const char *str, size_t n)
{
	return ftxt_utf8_bad(str, n) == n;
}

size_t ftxt_utf8_bad(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;
	while (i < n) {
		unsigned c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			if (i + 1 >= n || (s[i + 1] & 0xc0) != 0x80)
				return i;
			i += 2;
		} else if (c >= 0xe0 && c <= 0xef) {
			if (i + 2 >= n || (s[i + 1] & 0xc0) != 0x80 ||
			    (s[i + 2] & 0xc0) != 0x80)
				return i;
			if (c == 0xe0 && s[i + 1] < 0xa0)
				return i;
			if (c == 0xed && s[i + 1] >= 0xa0)
				return i; /* surrogates */
			i += 3;
		} else if (c >= 0xf0 && c <= 0xf4) {
			if (i + 3 >= n || (s[i + 1] & 0xc0) != 0x80 ||
			    (s[i + 2] & 0xc0) != 0x80 ||
			    (s[i + 3] & 0xc0) != 0x80)
				return i;
			if (c == 0xf0 && s[i + 1] < 0x90)
				return i;
			if (c == 0xf4 && s[i + 1] >= 0x90)
				return i;
			i += 4;
		} else {
			return i;
		}
	}
	return n;
}

int ftxt_decode(const char *str, size_t n, uint32_t *cp)
{
	const unsigned char *s = (const unsigned char *)str;
	if (n == 0) {
		*cp = 0;
		return 0;
	}
	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if (s[0] < 0xe0 && n >= 2) {
		*cp = ((uint32_t)(s[0] & 0x1f) << 6) | (s[1] & 0x3f);
		return 2;
	}
	if (s[0] < 0xf0 && n >= 3) {
		*cp = ((uint32_t)(s[0] & 0x0f) << 12) |
		      ((uint32_t)(s[1] & 0x3f) << 6) | (s[2] & 0x3f);
		return 3;
	}
	if (n >= 4) {
		*cp = ((uint32_t)(s[0] & 0x07) << 18) |
		      ((uint32_t)(s[1] & 0x3f) << 12) |
		      ((uint32_t)(s[2] & 0x3f) << 6) | (s[3] & 0x3f);
		return 4;
	}
	*cp = 0xfffd;
	return 1;
}

int ftxt_encode(uint32_t c, char *o)
{
	if (c < 0x80) {
		o[0] = (char)c;
		return 1;
	}
	if (c < 0x800) {
		o[0] = (char)(0xc0 | (c >> 6));
		o[1] = (char)(0x80 | (c & 0x3f));
		return 2;
	}
	if (c < 0x10000) {
		o[0] = (char)(0xe0 | (c >> 12));
		o[1] = (char)(0x80 | ((c >> 6) & 0x3f));
		o[2] = (char)(0x80 | (c & 0x3f));
		return 3;
	}
	o[0] = (char)(0xf0 | (c >> 18));
	o[1] = (char)(0x80 | ((c >> 12) & 0x3f));
	o[2] = (char)(0x80 | ((c >> 6) & 0x3f));
	o[3] = (char)(0x80 | (c & 0x3f));
	return 4;
}

/* One pass, eight bytes at a time: every byte is a unit, less the
 * continuation bytes (10xxxxxx), plus one for each four-byte lead
 * (11110xxx, a surrogate pair in UTF-16). ASCII runs cost a test a word. */
size_t ftxt_u16len(const char *s, size_t n)
{
	const uint64_t hi = 0x8080808080808080ull;
	size_t u = n, i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w, cont, four;
		memcpy(&w, s + i, 8);
		if (!(w & hi))
			continue;
		cont = w & ~(w << 1) & hi;
		four = w & (w << 1) & (w << 2) & (w << 3) & hi;
		u -= (size_t)__builtin_popcountll(cont);
		u += (size_t)__builtin_popcountll(four);
	}
	for (; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if ((c & 0xc0) == 0x80)
			u--;
		else if (c >= 0xf0)
			u++;
	}
	return u;
}

long ftxt_u16_to_byte(const char *s, size_t n, size_t idx)
{
	size_t u = 0, i = 0;
	while (i < n && u < idx) {
		unsigned char c = (unsigned char)s[i];
		int len = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
		u += len == 4 ? 2 : 1;
		i += (size_t)len;
	}
	if (u != idx)
		return -1;
	return (long)i;
}

size_t ftxt_byte_to_u16(const char *s, size_t off)
{
	return ftxt_u16len(s, off);
}

static pthread_once_t loc_once = PTHREAD_ONCE_INIT;
static locale_t c_utf8;

static void loc_init(void)
{
	c_utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
}

uint32_t ftxt_upper1(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'a' && c <= 'z') ? c - 32 : c;
	pthread_once(&loc_once, loc_init);
	if (!c_utf8 || c == 0xdf)
		return c;
	return (uint32_t)towupper_l((wint_t)c, c_utf8);
}

uint32_t ftxt_lower1(uint32_t c)
{
	if (c < 0x80)
		return (c >= 'A' && c <= 'Z') ? c + 32 : c;
	pthread_once(&loc_once, loc_init);
	if (!c_utf8)
		return c;
	return (uint32_t)towlower_l((wint_t)c, c_utf8);
}

uint32_t ftxt_title1(uint32_t c)
{
	/* the digraphs have title-case forms of their own */
	switch (c) {
	case 0x1c4:
	case 0x1c5:
	case 0x1c6: return 0x1c5;
	case 0x1c7:
	case 0x1c8:
	case 0x1c9: return 0x1c8;
	case 0x1ca:
	case 0x1cb:
	case 0x1cc: return 0x1cb;
	case 0x1f1:
	case 0x1f2:
	case 0x1f3: return 0x1f2;
	default: return ftxt_upper1(c);
	}
}

/* Java's full upper-case mappings that differ from the simple ones. */
static const char *upper_special(uint32_t c)
{
	switch (c) {
	case 0xdf: return "SS";
	case 0x149: return "\xca\xbcN";
	case 0x587: return "\xd4\xb5\xd5\x92";
	case 0xfb00: return "FF";
	case 0xfb01: return "FI";
	case 0xfb02: return "FL";
	case 0xfb03: return "FFI";
	case 0xfb04: return "FFL";
	case 0xfb05: return "ST";
	case 0xfb06: return "ST";
	default: return NULL;
	}
}

int ftxt_upper(const char *s, size_t n, fbuf *out)
{
	size_t i = 0;
	char tmp[4];
	while (i < n) {
		uint32_t c;
		int l = ftxt_decode(s + i, n - i, &c);
		const char *sp = c >= 0x80 ? upper_special(c) : NULL;
		if (sp) {
			if (fbuf_put(out, sp, strlen(sp)))
				return -1;
		} else if (fbuf_put(out, tmp,
		                    (size_t)ftxt_encode(ftxt_upper1(c), tmp)))
			return -1;
		i += (size_t)l;
	}
	return 0;
}

static int is_cased_letter(uint32_t c)
{
	return ftxt_upper1(c) != c || ftxt_lower1(c) != c;
}

int ftxt_lower(const char *s, size_t n, fbuf *out)
{
	size_t i = 0;
	char tmp[4];
	uint32_t prev = 0;
	while (i < n) {
		uint32_t c, lc;
		int l = ftxt_decode(s + i, n - i, &c);
		if (c == 0x130) {
			if (fbuf_put(out, "i\xcc\x87", 3))
				return -1;
			prev = c;
			i += (size_t)l;
			continue;
		}
		lc = ftxt_lower1(c);
		if (c == 0x3a3 && prev && is_cased_letter(prev)) {
			uint32_t nx = 0;
			if (i + (size_t)l < n)
				ftxt_decode(s + i + l, n - i - (size_t)l, &nx);
			if (!nx || !is_cased_letter(nx))
				lc = 0x3c2;
		}
		if (fbuf_put(out, tmp, (size_t)ftxt_encode(lc, tmp)))
			return -1;
		prev = c;
		i += (size_t)l;
	}
	return 0;
}

int ftxt_is_space(uint32_t c)
{
	if (c == ' ' || (c >= 9 && c <= 13) || (c >= 0x1c && c <= 0x1f))
		return 1;
	if (c == 0xa0 || c == 0x2007 || c == 0x202f)
		return 0;
	return c == 0x1680 || (c >= 0x2000 && c <= 0x200a) || c == 0x2028 ||
	       c == 0x2029 || c == 0x205f || c == 0x3000;
}

size_t ftxt_clip(const char *s, size_t n, size_t max)
{
	if (n <= max)
		return n;
	while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
		max--;
	return max;
}

void ftxt_fix_tail(char *m)
{
	size_t n = strlen(m), i = n;
	while (i > 0 && ((unsigned char)m[i - 1] & 0xc0) == 0x80)
		i--;
	if (i > 0 && (unsigned char)m[i - 1] >= 0xc0) {
		unsigned char c = (unsigned char)m[i - 1];
		size_t need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
		if (n - (i - 1) < need)
			m[i - 1] = 0;
	}
}
