/*
 * log.c - JSON-lines logging for libconnhost and the plugins it hosts.
 * Owns nothing: a connhost_log is a small value the caller keeps.
 */
#define _GNU_SOURCE /* vasprintf */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connhost-int.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *connhost_log_level_name(conn_log_level level)
{
	if ((int)level < 0 ||
	    (size_t)level >= sizeof(level_names) / sizeof(level_names[0]))
		return NULL;
	return level_names[level];
}

int connhost_log_level_parse(const char *name, conn_log_level *out)
{
	size_t i;

	for (i = 0; name && i < sizeof(level_names) / sizeof(level_names[0]);
	     i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*out = (conn_log_level)i;
			return 0;
		}
	}
	return CONN_EINVAL;
}

/* One write(2) for the whole line, so concurrent lines never interleave. */
static void write_stderr(const char *line)
{
	size_t len = strlen(line);
	char *buf = malloc(len + 2);
	const char *p;
	size_t left;

	if (!buf)
		return;
	memcpy(buf, line, len);
	buf[len] = '\n';
	p = buf;
	left = len + 1;
	while (left > 0) {
		ssize_t n = write(STDERR_FILENO, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		p += n;
		left -= (size_t)n;
	}
	free(buf);
}

void connhost_log_emit(const connhost_log *log, conn_log_level level,
                       json_object *fields, const char *msg)
{
	connhost__log_from(log, level, NULL, fields, msg);
}

void connhost__log_from(const connhost_log *log, conn_log_level level,
                        const char *plugin, json_object *fields,
                        const char *msg)
{
	conn_log_level max = log ? log->level : CONN_LOG_WARN;
	const char *name = connhost_log_level_name(level);
	json_object *line;

	if (!name || level > max)
		return;
	line = json_object_new_object();
	if (!line)
		return;
	json_object_object_add(line, "level", json_object_new_string(name));
	json_object_object_add(line, "msg",
	                       json_object_new_string(msg ? msg : ""));
	if (plugin)
		json_object_object_add(line, "plugin",
		                       json_object_new_string(plugin));
	if (fields && json_object_is_type(fields, json_type_object)) {
		json_object_object_foreach(fields, k, v)
		{
			if (strcmp(k, "level") == 0 || strcmp(k, "msg") == 0 ||
			    (plugin && strcmp(k, "plugin") == 0))
				continue;
			json_object_object_add(line, k, json_object_get(v));
		}
	}
	{
		const char *text = json_object_to_json_string_ext(
		        line, JSON_C_TO_STRING_PLAIN |
		                      JSON_C_TO_STRING_NOSLASHESCAPE);
		if (log && log->write)
			log->write(log->arg, text);
		else
			write_stderr(text);
	}
	json_object_put(line);
}

void connhost__logf(const connhost_log *log, conn_log_level level,
                    json_object *fields, const char *fmt, ...)
{
	char *buf = NULL;
	va_list ap;
	int n;

	if (level > (log ? log->level : CONN_LOG_WARN))
		return;
	/* Allocated: a message naming a long path or a plugin's long
	 * reason is logged whole, never cut at a fixed size. */
	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	connhost_log_emit(log, level, fields, n >= 0 ? buf : fmt);
	if (n >= 0)
		free(buf);
}

void connhost__err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}
