/*
 * hosttest.h - what the libconnhost tests share (header-only): where the
 * test plugins are, a log sink that captures lines, a private copy
 * directory, and how much to scale loops down under valgrind or ASan.
 */
#ifndef TESTS_PLUGINS_HOSTTEST_H
#define TESTS_PLUGINS_HOSTTEST_H

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "connhost.h"
#include "../tap.h"

/* $top_builddir/tests/plugins/NAME.la (static buffer per call site). */
static inline const char *ht_plugin(const char *name, char *buf, size_t n)
{
	const char *top = getenv("top_builddir");
	snprintf(buf, n, "%s/tests/plugins/%s.la", top && *top ? top : ".",
	         name);
	return buf;
}

/* Run under valgrind (CONN_TEST_WRAP set), ASan or TSan: loops get
 * shorter, and the sanitizers' own memory makes RSS and anonymous mappings
 * inexact. */
static inline int ht_slow(void)
{
	const char *w = getenv("CONN_TEST_WRAP");
	const char *a = getenv("CONN_ASAN");
	const char *t = getenv("CONN_TSAN");
	return (w && *w) || (a && strcmp(a, "yes") == 0) ||
	       (t && strcmp(t, "yes") == 0);
}

static inline int ht_valgrind(void)
{
	const char *w = getenv("CONN_TEST_WRAP");
	return w && strstr(w, "valgrind") != NULL;
}

/* A log sink that keeps every line, for asserting on messages. */
struct ht_log {
	pthread_mutex_t lock;
	char *text;
	size_t len;
};

static inline void ht_log_write(void *arg, const char *line)
{
	struct ht_log *l = arg;
	size_t n = strlen(line);
	char *t;

	pthread_mutex_lock(&l->lock);
	t = realloc(l->text, l->len + n + 2);
	if (t) {
		memcpy(t + l->len, line, n);
		t[l->len + n] = '\n';
		t[l->len + n + 1] = '\0';
		l->text = t;
		l->len += n + 1;
	}
	pthread_mutex_unlock(&l->lock);
}

static inline void ht_log_init(struct ht_log *l)
{
	pthread_mutex_init(&l->lock, NULL);
	l->text = NULL;
	l->len = 0;
}

/* Count the lines holding NEEDLE. */
static inline int ht_log_count(struct ht_log *l, const char *needle)
{
	int n = 0;
	const char *p;

	pthread_mutex_lock(&l->lock);
	for (p = l->text; p && (p = strstr(p, needle)) != NULL;
	     p += strlen(needle))
		n++;
	pthread_mutex_unlock(&l->lock);
	return n;
}

static inline void ht_log_clear(struct ht_log *l)
{
	pthread_mutex_lock(&l->lock);
	free(l->text);
	l->text = NULL;
	l->len = 0;
	pthread_mutex_unlock(&l->lock);
}

static inline void ht_log_free(struct ht_log *l)
{
	ht_log_clear(l);
	pthread_mutex_destroy(&l->lock);
}

static inline connhost_log ht_log_sink(struct ht_log *l)
{
	connhost_log s = {
	        .level = CONN_LOG_DEBUG, .write = ht_log_write, .arg = l};
	return s;
}

/* Private copies go to a fresh directory under the build tree (which
 * allows exec, unlike /tmp on some machines). Returns it (static). */
static inline const char *ht_copy_dir(const char *test)
{
	static char dir[4096];
	const char *top = getenv("top_builddir");
	snprintf(dir, sizeof(dir), "%s/tests/%s.copies.XXXXXX",
	         top && *top ? top : ".", test);
	if (!mkdtemp(dir))
		return NULL;
	setenv("CONNHOST_COPY_DIR", dir, 1);
	return dir;
}

/* A fake-v1 config object: FAKE_NAME=NAME. */
static inline json_object *ht_config(const char *name)
{
	json_object *c = json_object_new_object();
	json_object_object_add(c, "FAKE_NAME", json_object_new_string(name));
	return c;
}

#endif /* TESTS_PLUGINS_HOSTTEST_H */
