/*
 * util.c - small helpers of twilio-sandbox: growable buffers and JSON
 * strings, form decoding, base64, constant-time comparison, shared
 * line-oriented record files and RFC 2822 dates.
 */
#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static bool buf_grow(sb_buf *b, size_t extra)
{
	size_t want, cap;
	char *p;

	if (b->oom)
		return false;
	want = b->len + extra + 1;
	if (want <= b->cap)
		return true;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p) {
		b->oom = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

void sb_buf_free(sb_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

void sb_putn(sb_buf *b, const char *s, size_t n)
{
	if (!buf_grow(b, n))
		return;
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sb_puts(sb_buf *b, const char *s)
{
	sb_putn(b, s, strlen(s));
}

void sb_printf(sb_buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !buf_grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void sb_json_strn(sb_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	if (!s) {
		sb_puts(b, "null");
		return;
	}
	sb_putn(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', 0, 0};

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		sb_putn(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': sb_putn(b, "\\\"", 2); break;
		case '\\': sb_putn(b, "\\\\", 2); break;
		case '\n': sb_putn(b, "\\n", 2); break;
		case '\r': sb_putn(b, "\\r", 2); break;
		case '\t': sb_putn(b, "\\t", 2); break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			sb_putn(b, esc, 6);
		}
	}
	sb_putn(b, s + run, n - run);
	sb_putn(b, "\"", 1);
}

void sb_json_str(sb_buf *b, const char *s)
{
	sb_json_strn(b, s, s ? strlen(s) : 0);
}

char *sb_buf_take(sb_buf *b, size_t *len)
{
	char *d;

	if (b->oom || !buf_grow(b, 0)) {
		sb_buf_free(b);
		return NULL;
	}
	d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decode S[0..N) in place ('+' is a space); returns the new length. */
static size_t url_decode(char *s, size_t n)
{
	size_t i, o = 0;

	for (i = 0; i < n; i++) {
		int hi, lo;

		if (s[i] == '+') {
			s[o++] = ' ';
		} else if (s[i] == '%' && i + 2 < n &&
		           (hi = hexval(s[i + 1])) >= 0 &&
		           (lo = hexval(s[i + 2])) >= 0) {
			s[o++] = (char)(hi << 4 | lo);
			i += 2;
		} else {
			s[o++] = s[i];
		}
	}
	return o;
}

int sb_form_parse(const char *body, size_t len, sb_form *out)
{
	size_t i, n = 1, start = 0;

	memset(out, 0, sizeof *out);
	for (i = 0; i < len; i++)
		n += body[i] == '&';
	/* every field gets a NUL after its name and its value: len + 2n */
	out->mem = malloc(len + 2 * n + 1);
	out->fields = calloc(n, sizeof *out->fields);
	if (!out->mem || !out->fields) {
		sb_form_free(out);
		return -1;
	}
	{
		char *w = out->mem;

		for (i = 0; i <= len; i++) {
			const char *tok, *eq;
			size_t tl, nl, vl;
			sb_field *f;

			if (i < len && body[i] != '&')
				continue;
			tok = body + start;
			tl = i - start;
			start = i + 1;
			if (tl == 0)
				continue;
			eq = memchr(tok, '=', tl);
			nl = eq ? (size_t)(eq - tok) : tl;
			vl = eq ? tl - nl - 1 : 0;
			f = &out->fields[out->n++];
			memcpy(w, tok, nl);
			nl = url_decode(w, nl);
			w[nl] = '\0';
			f->name = w;
			w += nl + 1;
			if (vl)
				memcpy(w, eq + 1, vl);
			vl = url_decode(w, vl);
			w[vl] = '\0';
			f->value = w;
			f->value_len = vl;
			w += vl + 1;
		}
	}
	return 0;
}

void sb_form_free(sb_form *f)
{
	free(f->mem);
	free(f->fields);
	memset(f, 0, sizeof *f);
}

const sb_field *sb_form_get(const sb_form *f, const char *name)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->fields[i].name, name) == 0)
			return &f->fields[i];
	return NULL;
}

size_t sb_form_count(const sb_form *f, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < f->n; i++)
		n += strcmp(f->fields[i].name, name) == 0;
	return n;
}

static int b64val(char c)
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

long sb_base64_decode(const char *in, size_t len, char *out)
{
	unsigned long acc = 0;
	size_t i, o = 0;
	int bits = 0;

	while (len > 0 && in[len - 1] == '=')
		len--;
	for (i = 0; i < len; i++) {
		int v = b64val(in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (char)((acc >> bits) & 0xFF);
		}
	}
	out[o] = '\0';
	return (long)o;
}

bool sb_secret_eq(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)a[i] ^ (unsigned char)b[i % (lb ? lb : 1)];
	return d == 0 && lb != 0;
}

struct sb_lines {
	int fd;
	pthread_mutex_t lock;
};

sb_lines *sb_lines_open(const char *path, char *err, size_t errlen)
{
	sb_lines *l;

	if (!path)
		return NULL;
	l = calloc(1, sizeof *l);
	if (!l) {
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	l->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (l->fd < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		free(l);
		return NULL;
	}
	pthread_mutex_init(&l->lock, NULL);
	return l;
}

void sb_lines_write(sb_lines *l, const char *line, size_t len)
{
	size_t off = 0;

	if (!l)
		return;
	pthread_mutex_lock(&l->lock);
	while (off < len) {
		ssize_t w = write(l->fd, line + off, len - off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* a full disk must not stop the server */
		off += (size_t)w;
	}
	pthread_mutex_unlock(&l->lock);
}

void sb_lines_close(sb_lines *l)
{
	if (!l)
		return;
	close(l->fd);
	pthread_mutex_destroy(&l->lock);
	free(l);
}

void sb_rfc2822(long long t, char *out)
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	/* %a/%b are locale-dependent; the program never calls setlocale */
	strftime(out, 40, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}
