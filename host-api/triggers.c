/*
 * triggers.c - the triggers file of `connector-host serve`: parsing (with
 * limits and errors that name the trigger and the field) and the mapping
 * of an event onto an action's inputs. See triggers.h for the format.
 * No threads and no state of its own; the parsed result is read-only.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "triggers.h"

static void errf(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void serve_triggers_free(serve_triggers *t)
{
	size_t i;

	if (!t)
		return;
	for (i = 0; i < t->n; i++) {
		free(t->v[i].name);
		free(t->v[i].event);
		free(t->v[i].action);
		json_object_put(t->v[i].params);
		json_object_put(t->v[i].inputs);
	}
	free(t->v);
	t->v = NULL;
	t->n = 0;
}

/* 1 when S (LEN bytes) is 1..SERVE_NAME_MAX characters of ALLOWED
 * (alphanumerics plus the punctuation in ALLOWED). */
static int word_ok(const char *s, size_t len, const char *allowed)
{
	size_t i;

	if (len == 0 || len > SERVE_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++)
		if (!isalnum((unsigned char)s[i]) ||
		    (unsigned char)s[i] >= 0x80)
			if (!s[i] || !strchr(allowed, s[i]))
				return 0;
	return 1;
}

/*
 * When S is exactly one reference "${a.b}", the path's start and length
 * in *P and *PLEN and 1; 0 when S is no reference (a literal); -1 when S
 * looks like one ("${" ... "}" and nothing around) but its path is not
 * dot-separated names.
 */
static int reference(const char *s, size_t len, const char **p, size_t *plen)
{
	size_t i, seg = 0;

	if (len < 3 || s[0] != '$' || s[1] != '{' || s[len - 1] != '}')
		return 0;
	if (memchr(s + 2, '}', len - 3) || memchr(s + 2, '{', len - 3))
		return 0; /* two references, or text around them: literal */
	*p = s + 2;
	*plen = len - 3;
	for (i = 0; i < *plen; i++) {
		char c = (*p)[i];
		if (c == '.') {
			if (seg == 0)
				return -1;
			seg = 0;
		} else if (isalnum((unsigned char)c) || c == '_') {
			if (seg == 0 && isdigit((unsigned char)c))
				return -1;
			seg++;
		} else {
			return -1;
		}
	}
	return seg ? 1 : -1;
}

/* Append "[I]" or ".KEY" to a path buffer; no fixed size. */
static char *path_push(const char *base, const char *key, size_t index)
{
	char *s = NULL;

	if (key ? asprintf(&s, "%s.%s", base, key) < 0
	        : asprintf(&s, "%s[%zu]", base, index) < 0)
		return NULL;
	return s;
}

/* Check every reference in V (at PATH) is well formed. */
static int check_refs(json_object *v, const char *path, char *err,
                      size_t errlen)
{
	const char *p;
	size_t plen, i;
	int rc = 0;

	switch (json_object_get_type(v)) {
	case json_type_string:
		if (reference(json_object_get_string(v),
		              (size_t)json_object_get_string_len(v), &p,
		              &plen) < 0) {
			errf(err, errlen,
			     "%s: \"%s\" is not a reference: write ${name} or "
			     "${name.name} with names of letters, digits "
			     "and _",
			     path, json_object_get_string(v));
			return CONN_EINVAL;
		}
		return 0;
	case json_type_array:
		for (i = 0; !rc && i < json_object_array_length(v); i++) {
			char *sub = path_push(path, NULL, i);
			if (!sub)
				return CONN_ENOMEM;
			rc = check_refs(json_object_array_get_idx(v, i), sub,
			                err, errlen);
			free(sub);
		}
		return rc;
	case json_type_object: {
		json_object_object_foreach(v, key, val)
		{
			char *sub = path_push(path, key, 0);
			if (!sub)
				return CONN_ENOMEM;
			rc = check_refs(val, sub, err, errlen);
			free(sub);
			if (rc)
				return rc;
		}
		return 0;
	}
	default: return 0;
	}
}

static const char *const trigger_keys[] = {
        "name", "event", "params", "action", "inputs", "deadlineMs", NULL};

/* One trigger; I is its index, for messages. */
static int parse_one(json_object *o, size_t i, serve_trigger *t, char *err,
                     size_t errlen)
{
	json_object *v;
	const char *s;
	size_t k;
	int rc;

	if (!json_object_is_type(o, json_type_object)) {
		errf(err, errlen,
		     "triggers[%zu]: expected an object "
		     "{\"name\",\"event\",\"params\",\"action\",\"inputs\"}",
		     i);
		return CONN_EINVAL;
	}
	{
		json_object_object_foreach(o, key, val)
		{
			(void)val;
			for (k = 0; trigger_keys[k]; k++)
				if (strcmp(key, trigger_keys[k]) == 0)
					break;
			if (!trigger_keys[k]) {
				errf(err, errlen,
				     "triggers[%zu]: unknown field \"%.64s\" "
				     "(fields: name, event, params, action, "
				     "inputs, deadlineMs)",
				     i, key);
				return CONN_EINVAL;
			}
		}
	}
	if (!json_object_object_get_ex(o, "name", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !word_ok(json_object_get_string(v),
	             (size_t)json_object_get_string_len(v), "._-")) {
		errf(err, errlen,
		     "triggers[%zu]: name: required, 1 to %d letters, digits, "
		     "'.', '_' or '-' (it names the trigger in logs and in "
		     "idempotency keys)",
		     i, SERVE_NAME_MAX);
		return CONN_EINVAL;
	}
	s = json_object_get_string(v);
	if (!(t->name = strdup(s)))
		return CONN_ENOMEM;
	if (!json_object_object_get_ex(o, "event", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !word_ok(json_object_get_string(v),
	             (size_t)json_object_get_string_len(v), "_.-")) {
		errf(err, errlen,
		     "triggers[%zu] (%s): event: required, the name of one of "
		     "the plugin's events, e.g. \"SMS_RECEIVED\" "
		     "(connector-host describe PLUGIN lists them)",
		     i, t->name);
		return CONN_EINVAL;
	}
	if (!(t->event = strdup(json_object_get_string(v))))
		return CONN_ENOMEM;
	if (!json_object_object_get_ex(o, "action", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    !word_ok(json_object_get_string(v),
	             (size_t)json_object_get_string_len(v), "_.-")) {
		errf(err, errlen,
		     "triggers[%zu] (%s): action: required, the name of one "
		     "of the plugin's actions, e.g. \"send_sms\" "
		     "(connector-host describe PLUGIN lists them)",
		     i, t->name);
		return CONN_EINVAL;
	}
	if (!(t->action = strdup(json_object_get_string(v))))
		return CONN_ENOMEM;
	if (json_object_object_get_ex(o, "params", &v) && v &&
	    !json_object_is_type(v, json_type_object)) {
		errf(err, errlen,
		     "triggers[%zu] (%s): params: expected a JSON object of "
		     "the event's parameters",
		     i, t->name);
		return CONN_EINVAL;
	}
	t->params = v ? json_object_get(v) : json_object_new_object();
	v = NULL;
	if (json_object_object_get_ex(o, "inputs", &v) && v &&
	    !json_object_is_type(v, json_type_object)) {
		errf(err, errlen,
		     "triggers[%zu] (%s): inputs: expected a JSON object of "
		     "the action's inputs",
		     i, t->name);
		return CONN_EINVAL;
	}
	t->inputs = v ? json_object_get(v) : json_object_new_object();
	if (!t->params || !t->inputs)
		return CONN_ENOMEM;
	t->deadline_ms = SERVE_DEFAULT_DEADLINE;
	if (json_object_object_get_ex(o, "deadlineMs", &v)) {
		int64_t d = json_object_get_int64(v);
		if (!json_object_is_type(v, json_type_int) || d < 1 ||
		    d > 86400000) {
			errf(err, errlen,
			     "triggers[%zu] (%s): deadlineMs: expected an "
			     "integer from 1 to 86400000 (milliseconds each "
			     "action may take)",
			     i, t->name);
			return CONN_EINVAL;
		}
		t->deadline_ms = d;
	}
	{
		char *base = NULL;
		if (asprintf(&base, "triggers[%zu] (%s): inputs", i, t->name) <
		    0)
			return CONN_ENOMEM;
		rc = check_refs(t->inputs, base, err, errlen);
		free(base);
		if (rc)
			return rc;
	}
	return 0;
}

int serve_triggers_parse(const char *text, size_t len, const char *origin,
                         serve_triggers *out, char *err, size_t errlen)
{
	json_tokener *tok;
	json_object *root = NULL, *arr, *v;
	enum json_tokener_error jerr;
	serve_triggers t = {0};
	char inner[768];
	size_t i, j, n;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	if (!origin)
		origin = "triggers";
	if (len > SERVE_TRIGGERS_MAX_BYTES) {
		errf(err, errlen, "%s: larger than %d bytes", origin,
		     SERVE_TRIGGERS_MAX_BYTES);
		return CONN_EINVAL;
	}
	if (memchr(text, '\0', len)) {
		errf(err, errlen, "%s: contains a NUL byte (not JSON text)",
		     origin);
		return CONN_EINVAL;
	}
	tok = json_tokener_new_ex(SERVE_TRIGGERS_DEPTH);
	if (!tok)
		return CONN_ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	if (root && jerr == json_tokener_success) {
		size_t used = json_tokener_get_parse_end(tok);
		while (used < len && strchr(" \t\r\n", text[used]))
			used++;
		if (used < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	if (!root || jerr != json_tokener_success) {
		size_t at = json_tokener_get_parse_end(tok);
		json_tokener_free(tok);
		json_object_put(root);
		errf(err, errlen, "%s: not valid JSON near byte %zu: %s",
		     origin, at,
		     jerr == json_tokener_continue ||
		                     jerr == json_tokener_success
		             ? "the text ends early (unclosed { or [ or "
		               "string?)"
		             : json_tokener_error_desc(jerr));
		return CONN_EINVAL;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "triggers", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		errf(err, errlen,
		     "%s: expected a JSON object {\"triggers\": [...]}",
		     origin);
		json_object_put(root);
		return CONN_EINVAL;
	}
	{
		json_object_object_foreach(root, key, val)
		{
			(void)val;
			if (strcmp(key, "triggers") != 0) {
				errf(err, errlen,
				     "%s: unknown field \"%.64s\" (the file "
				     "holds only \"triggers\")",
				     origin, key);
				json_object_put(root);
				return CONN_EINVAL;
			}
		}
	}
	n = json_object_array_length(arr);
	if (n == 0 || n > SERVE_TRIGGERS_MAX) {
		errf(err, errlen, "%s: triggers: expected 1 to %d triggers",
		     origin, SERVE_TRIGGERS_MAX);
		json_object_put(root);
		return CONN_EINVAL;
	}
	t.v = calloc(n, sizeof(*t.v));
	if (!t.v) {
		json_object_put(root);
		return CONN_ENOMEM;
	}
	inner[0] = '\0';
	for (i = 0; i < n && !rc; i++) {
		v = json_object_array_get_idx(arr, i);
		t.n = i + 1;
		rc = parse_one(v, i, &t.v[i], inner, sizeof(inner));
		for (j = 0; !rc && j < i; j++) {
			if (strcmp(t.v[j].name, t.v[i].name) == 0) {
				errf(inner, sizeof(inner),
				     "triggers[%zu]: name: \"%s\" is already "
				     "the name of triggers[%zu]; names must "
				     "be unique",
				     i, t.v[i].name, j);
				rc = CONN_EINVAL;
			}
		}
	}
	json_object_put(root);
	if (rc) {
		if (rc == CONN_EINVAL)
			errf(err, errlen, "%s: %s", origin, inner);
		serve_triggers_free(&t);
		return rc;
	}
	*out = t;
	return 0;
}

int serve_triggers_load(const char *path, serve_triggers *out, char *err,
                        size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *text;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!f) {
		errf(err, errlen, "triggers file %s: cannot read it: %s", path,
		     strerror(errno));
		return CONN_EIO;
	}
	text = malloc(SERVE_TRIGGERS_MAX_BYTES + 1);
	len = text ? fread(text, 1, SERVE_TRIGGERS_MAX_BYTES + 1, f) : 0;
	fclose(f);
	if (!text)
		return CONN_ENOMEM;
	rc = serve_triggers_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Mapping                                                                 */
/* ---------------------------------------------------------------------- */

/* The value at PATH (PLEN bytes, dot-separated) in EVENT, or NULL with
 * *FOUND 0. A present JSON null gives NULL with *FOUND 1. */
static json_object *lookup(json_object *event, const char *path, size_t plen,
                           int *found)
{
	json_object *cur = event;
	const char *p = path, *end = path + plen;

	*found = 0;
	while (p < end) {
		const char *dot = memchr(p, '.', (size_t)(end - p));
		size_t n = (size_t)((dot ? dot : end) - p);
		char key[SERVE_NAME_MAX * 4 + 1];
		json_object *next;

		if (n >= sizeof(key) || !cur ||
		    !json_object_is_type(cur, json_type_object))
			return NULL;
		memcpy(key, p, n);
		key[n] = '\0';
		if (!json_object_object_get_ex(cur, key, &next))
			return NULL;
		cur = next;
		p = dot ? dot + 1 : end;
	}
	*found = 1;
	return cur;
}

/* A new copy of V, built with constructors only: the template is shared
 * by the worker threads, and json_object_deep_copy() or a get on the
 * wrong type could write a cache in it. */
static int map_value(json_object *v, json_object *event, const char *path,
                     json_object **out, char *err, size_t errlen)
{
	const char *p;
	size_t plen, i;
	int rc = 0;

	*out = NULL;
	switch (json_object_get_type(v)) {
	case json_type_null: return 0;
	case json_type_boolean:
		*out = json_object_new_boolean(json_object_get_boolean(v));
		break;
	case json_type_int:
		*out = json_object_new_int64(json_object_get_int64(v));
		break;
	case json_type_double:
		*out = json_object_new_double(json_object_get_double(v));
		break;
	case json_type_string: {
		const char *s = json_object_get_string(v);
		size_t len = (size_t)json_object_get_string_len(v);
		if (reference(s, len, &p, &plen) == 1) {
			int found;
			json_object *src = lookup(event, p, plen, &found);
			if (!found) {
				errf(err, errlen, "%s: %s is not in the event",
				     path, s);
				return CONN_EINVAL;
			}
			if (src && json_object_deep_copy(src, out, NULL) != 0)
				return CONN_ENOMEM;
			return 0;
		}
		*out = json_object_new_string_len(s, (int)len);
		break;
	}
	case json_type_array: {
		size_t n = json_object_array_length(v);
		*out = json_object_new_array_ext((int)(n ? n : 1));
		for (i = 0; *out && !rc && i < n; i++) {
			json_object *e = NULL;
			char *sub = path_push(path, NULL, i);
			rc = sub ? map_value(json_object_array_get_idx(v, i),
			                     event, sub, &e, err, errlen)
			         : CONN_ENOMEM;
			free(sub);
			if (!rc && json_object_array_add(*out, e) != 0) {
				json_object_put(e);
				rc = CONN_ENOMEM;
			}
		}
		break;
	}
	case json_type_object: {
		*out = json_object_new_object();
		json_object_object_foreach(v, key, val)
		{
			json_object *e = NULL;
			char *sub;
			if (!*out || rc)
				break;
			sub = path_push(path, key, 0);
			rc = sub ? map_value(val, event, sub, &e, err, errlen)
			         : CONN_ENOMEM;
			free(sub);
			if (!rc && json_object_object_add(*out, key, e) != 0) {
				json_object_put(e);
				rc = CONN_ENOMEM;
			}
		}
		break;
	}
	}
	if (!rc && !*out)
		rc = CONN_ENOMEM;
	if (rc) {
		json_object_put(*out);
		*out = NULL;
	}
	return rc;
}

int serve_map_inputs(const serve_trigger *t, json_object *event,
                     json_object **out, char *err, size_t errlen)
{
	return map_value(t->inputs, event, "inputs", out, err, errlen);
}
