/*
 * util.c - small helpers of twilio-sandbox: JSON strings (into a tw_buf),
 * shared line-oriented record files and RFC 2822 dates. The buffer, form
 * decoding, base64 and constant-time comparison are plugin/wire.c's.
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

void sb_json_strn(tw_buf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	if (!s) {
		tw_buf_puts(b, "null");
		return;
	}
	tw_buf_append(b, "\"", 1);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6] = {'\\', 'u', '0', '0', 0, 0};

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		tw_buf_append(b, s + run, i - run);
		run = i + 1;
		switch (c) {
		case '"': tw_buf_append(b, "\\\"", 2); break;
		case '\\': tw_buf_append(b, "\\\\", 2); break;
		case '\n': tw_buf_append(b, "\\n", 2); break;
		case '\r': tw_buf_append(b, "\\r", 2); break;
		case '\t': tw_buf_append(b, "\\t", 2); break;
		default:
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 15];
			tw_buf_append(b, esc, 6);
		}
	}
	tw_buf_append(b, s + run, n - run);
	tw_buf_append(b, "\"", 1);
}

void sb_json_str(tw_buf *b, const char *s)
{
	sb_json_strn(b, s, s ? strlen(s) : 0);
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
