/*
 * config.c - instance configuration: parsing a JSON object or KEY=VALUE
 * lines with ${env:NAME} and ${file:PATH} references, validating it
 * against the plugin's describe() definition, and masking secure values
 * for printing. Owns nothing beyond the objects it returns.
 *
 * Parse messages name the file, line and key and never a value: a value
 * may be a secret, and whether it is one is only known after validation.
 * Validation messages ("KEY: expected an integer from 1 to 256, got 'x'")
 * show a bad value (at most 40 bytes) only when the definition says the
 * key is not secure, as the plugin's own messages do; they carry no
 * "configuration:" prefix, which the caller adds once.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "connhost-int.h"

#define MASK "********"

struct buf {
	char *p;
	size_t n, cap;
};

static int buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->n + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		char *np;
		while (cap < b->n + n + 1)
			cap *= 2;
		np = realloc(b->p, cap);
		if (!np)
			return CONN_ENOMEM;
		b->p = np;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = '\0';
	return 0;
}

/*
 * Read at most MAX bytes of PATH into a NUL-terminated *OUT. PATH is
 * opened with O_NONBLOCK (a FIFO would block the open itself) and must be
 * a regular file: a FIFO, a device or a directory is refused by fstat()
 * of the descriptor that is then read, so it cannot be swapped in
 * between the check and the read.
 */
static int read_file(const char *path, size_t max, char **out, size_t *len,
                     const char *what, char *err, size_t errlen)
{
	struct buf b = {0};
	struct stat st;
	char chunk[4096];
	ssize_t n;
	int rc = 0;
	int fd = connhost__open_regular(path, &st);

	if (fd == -2) {
		connhost__err(err, errlen,
		              "%s: %s is %s; expected a regular file", what,
		              path, connhost__file_kind(st.st_mode));
		return CONN_EIO;
	}
	if (fd < 0) {
		connhost__err(err, errlen, "%s: cannot read %s (%s)", what,
		              path, strerror(errno));
		return CONN_EIO;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			connhost__err(err, errlen, "%s: cannot read %s (%s)",
			              what, path, strerror(errno));
			rc = CONN_EIO;
			break;
		}
		if (b.n + (size_t)n > max) {
			connhost__err(err, errlen,
			              "%s: %s is larger than %zu bytes", what,
			              path, max);
			rc = CONN_EINVAL;
			break;
		}
		if ((rc = buf_add(&b, chunk, (size_t)n)) != 0)
			break;
	}
	close(fd);
	if (!rc && !b.p)
		rc = buf_add(&b, "", 0);
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	*len = b.n;
	return 0;
}

/* A new string A SEP B (no fixed-size buffer: a long path must not cut
 * the key or the line number off a message). NULL when out of memory. */
static char *join2(const char *a, const char *sep, const char *b)
{
	size_t na = strlen(a), ns = strlen(sep), nb = strlen(b);
	char *s = malloc(na + ns + nb + 1);

	if (s) {
		memcpy(s, a, na);
		memcpy(s + na, sep, ns);
		memcpy(s + na + ns, b, nb + 1);
	}
	return s;
}

/* Expand ${env:NAME}, ${file:PATH} and $${ in S (N bytes) for KEY. */
static int expand(const char *where, const char *key, const char *s, size_t n,
                  char **out, char *err, size_t errlen)
{
	struct buf b = {0};
	size_t i = 0;
	int rc = 0;

	while (!rc && i < n) {
		const char *ref, *end;
		size_t start = i;

		while (i < n &&
		       !(s[i] == '$' && i + 1 < n &&
		         (s[i + 1] == '{' ||
		          (s[i + 1] == '$' && i + 2 < n && s[i + 2] == '{'))))
			i++;
		if ((rc = buf_add(&b, s + start, i - start)) != 0 || i >= n)
			break;
		if (s[i + 1] == '$') { /* "$${" is a literal "${" */
			rc = buf_add(&b, "${", 2);
			i += 3;
			continue;
		}
		ref = s + i + 2;
		end = memchr(ref, '}', n - (size_t)(ref - s));
		if (!end) {
			connhost__err(err, errlen,
			              "%s: %s: unterminated ${ reference",
			              where, key);
			rc = CONN_EINVAL;
			break;
		}
		if ((size_t)(end - ref) > 4 && strncmp(ref, "env:", 4) == 0) {
			char *name = strndup(ref + 4, (size_t)(end - ref) - 4);
			const char *v = name ? getenv(name) : NULL;
			if (!name)
				rc = CONN_ENOMEM;
			else if (!v) {
				connhost__err(err, errlen,
				              "%s: %s: environment variable "
				              "%s is not set",
				              where, key, name);
				rc = CONN_EINVAL;
			} else
				rc = buf_add(&b, v, strlen(v));
			free(name);
		} else if ((size_t)(end - ref) > 5 &&
		           strncmp(ref, "file:", 5) == 0) {
			char *path = strndup(ref + 5, (size_t)(end - ref) - 5);
			char *what = join2(where, ": ", key), *text = NULL;
			size_t len = 0;
			rc = path && what
			             ? read_file(path,
			                         CONNHOST_FILE_REF_MAX_BYTES,
			                         &text, &len, what, err, errlen)
			             : CONN_ENOMEM;
			if (rc == CONN_EIO) /* a bad reference: bad config */
				rc = CONN_EINVAL;
			if (!rc) {
				if (len > 0 && text[len - 1] == '\n')
					len--;
				if (len > 0 && text[len - 1] == '\r')
					len--;
				rc = buf_add(&b, text, len);
			}
			free(text);
			free(what);
			free(path);
		} else {
			connhost__err(err, errlen,
			              "%s: %s: unknown reference; expected "
			              "${env:NAME} or ${file:PATH}",
			              where, key);
			rc = CONN_EINVAL;
		}
		i = (size_t)(end - s) + 1;
	}
	if (!rc && !b.p)
		rc = buf_add(&b, "", 0);
	if (rc) {
		free(b.p);
		return rc;
	}
	*out = b.p;
	return 0;
}

static int set_value(json_object *o, const char *key, char *val)
{
	json_object *v = json_object_new_string(val);

	free(val);
	if (!v || json_object_object_add(o, key, v) != 0) {
		json_object_put(v);
		return CONN_ENOMEM;
	}
	return 0;
}

/* json-c's reason in words a user reads: its "continue" (and "unexpected
 * end of data") mean the text ended inside a value. */
static const char *json_reason(enum json_tokener_error jerr)
{
	if (jerr == json_tokener_success || jerr == json_tokener_continue ||
	    jerr == json_tokener_error_parse_eof)
		return "the JSON text ends early (unclosed { or [ or string?)";
	return json_tokener_error_desc(jerr);
}

static int parse_json(const char *text, size_t len, const char *origin,
                      json_object **out, char *err, size_t errlen)
{
	json_tokener *tok = json_tokener_new_ex(32);
	json_object *in, *res;
	enum json_tokener_error jerr;
	size_t used;
	int rc = 0;

	if (!tok)
		return CONN_ENOMEM;
	in = json_tokener_parse_ex(tok, text, (int)len);
	jerr = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!in || jerr != json_tokener_success) {
		connhost__err(err, errlen, "%s: not valid JSON: %s", origin,
		              json_reason(jerr));
		json_object_put(in);
		return CONN_EINVAL;
	}
	while (used < len && isspace((unsigned char)text[used]))
		used++;
	if (used < len || !json_object_is_type(in, json_type_object)) {
		connhost__err(err, errlen,
		              "%s: expected one JSON object of strings",
		              origin);
		json_object_put(in);
		return CONN_EINVAL;
	}
	res = json_object_new_object();
	if (!res) {
		json_object_put(in);
		return CONN_ENOMEM;
	}
	json_object_object_foreach(in, key, v)
	{
		const char *s;
		char *val;
		switch (json_object_get_type(v)) {
		case json_type_string:
		case json_type_int:
		case json_type_double:
		case json_type_boolean: break;
		default:
			connhost__err(err, errlen,
			              "%s: %s: expected a string value", origin,
			              key);
			rc = CONN_EINVAL;
		}
		if (rc)
			break;
		if (!key[0]) {
			connhost__err(err, errlen, "%s: empty key", origin);
			rc = CONN_EINVAL;
			break;
		}
		s = json_object_get_string(v); /* our own object */
		rc = json_object_is_type(v, json_type_string)
		             ? expand(origin, key, s,
		                      (size_t)json_object_get_string_len(v),
		                      &val, err, errlen)
		             : ((val = strdup(s)) ? 0 : CONN_ENOMEM);
		if (!rc)
			rc = set_value(res, key, val);
		if (rc)
			break;
	}
	json_object_put(in);
	if (rc) {
		json_object_put(res);
		return rc;
	}
	*out = res;
	return 0;
}

static int key_char(int c, int first)
{
	return isalpha(c) || c == '_' ||
	       (!first && (isdigit(c) || c == '.' || c == '-'));
}

/* One KEY=VALUE line (without its newline) into RES. */
static int parse_line(const char *line, size_t n, const char *where,
                      json_object *res, char *err, size_t errlen)
{
	size_t i = 0, k0, k1;
	char *key = NULL, *val = NULL;
	int rc = 0;

	while (i < n && isspace((unsigned char)line[i]))
		i++;
	if (i == n || line[i] == '#')
		return 0;
	k0 = i;
	while (i < n && key_char((unsigned char)line[i], i == k0))
		i++;
	k1 = i;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (k1 == k0 || i == n || line[i] != '=') {
		connhost__err(
		        err, errlen,
		        "%s: expected KEY=VALUE (a key of letters, digits "
		        "and _ . -, then '=')",
		        where);
		return CONN_EINVAL;
	}
	key = strndup(line + k0, k1 - k0);
	if (!key)
		return CONN_ENOMEM;
	if (json_object_object_get_ex(res, key, NULL)) {
		connhost__err(err, errlen, "%s: %s given twice", where, key);
		free(key);
		return CONN_EINVAL;
	}
	i++;
	while (i < n && (line[i] == ' ' || line[i] == '\t'))
		i++;
	if (i < n && (line[i] == '"' || line[i] == '\'')) {
		char q = line[i++];
		struct buf b = {0};
		int closed = 0;
		while (!rc && i < n) {
			char c = line[i++];
			if (c == q) {
				closed = 1;
				break;
			}
			if (q == '"' && c == '\\' && i < n) {
				c = line[i++];
				c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
			}
			rc = buf_add(&b, &c, 1);
		}
		if (!rc && !b.p)
			rc = buf_add(&b, "", 0);
		while (closed && i < n && isspace((unsigned char)line[i]))
			i++;
		if (!rc && (!closed || (i < n && line[i] != '#'))) {
			connhost__err(err, errlen,
			              closed ? "%s: %s: unexpected text after "
			                       "the closing quote"
			                     : "%s: %s: missing closing quote",
			              where, key);
			rc = CONN_EINVAL;
		}
		if (!rc && q == '"')
			rc = expand(where, key, b.p, b.n, &val, err, errlen);
		else if (!rc)
			val = b.p, b.p = NULL;
		free(b.p);
	} else {
		size_t e = i;
		while (e < n && !(line[e] == '#' && e > i &&
		                  isspace((unsigned char)line[e - 1])))
			e++;
		while (e > i && isspace((unsigned char)line[e - 1]))
			e--;
		rc = expand(where, key, line + i, e - i, &val, err, errlen);
	}
	if (!rc)
		rc = set_value(res, key, val);
	free(key);
	return rc;
}

static int parse_lines(const char *text, size_t len, const char *origin,
                       json_object **out, char *err, size_t errlen)
{
	json_object *res = json_object_new_object();
	size_t pos = 0, lineno = 0;
	int rc = 0;

	if (!res)
		return CONN_ENOMEM;
	while (!rc && pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t end = nl ? (size_t)(nl - text) : len, n = end - pos;
		char num[24], *where;

		lineno++;
		if (n > 0 && text[pos + n - 1] == '\r')
			n--;
		if (memchr(text + pos, '\0', n)) {
			connhost__err(err, errlen, "%s:%zu: NUL byte", origin,
			              lineno);
			rc = CONN_EINVAL;
			break;
		}
		snprintf(num, sizeof(num), "%zu", lineno);
		where = join2(origin, ":", num);
		rc = where ? parse_line(text + pos, n, where, res, err, errlen)
		           : CONN_ENOMEM;
		free(where);
		pos = end + 1;
	}
	if (rc) {
		json_object_put(res);
		return rc;
	}
	*out = res;
	return 0;
}

int connhost_config_parse(const char *text, size_t len, const char *origin,
                          json_object **out, char *err, size_t errlen)
{
	size_t i = 0;

	*out = NULL;
	if (!origin)
		origin = "configuration";
	if (len > CONNHOST_CONFIG_MAX_BYTES) {
		connhost__err(err, errlen, "%s: larger than %d bytes", origin,
		              CONNHOST_CONFIG_MAX_BYTES);
		return CONN_EINVAL;
	}
	while (i < len && isspace((unsigned char)text[i]))
		i++;
	if (i < len && text[i] == '{')
		return parse_json(text, len, origin, out, err, errlen);
	return parse_lines(text, len, origin, out, err, errlen);
}

int connhost_config_load(const char *path, json_object **out, char *err,
                         size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = read_file(path, CONNHOST_CONFIG_MAX_BYTES, &text, &len,
	               "configuration", err, errlen);
	if (rc)
		return rc;
	rc = connhost_config_parse(text, len, path, out, err, errlen);
	free(text);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Validation                                                              */
/* ---------------------------------------------------------------------- */

static int flag(json_object *spec, const char *name)
{
	json_object *v;

	return json_object_object_get_ex(spec, name, &v) &&
	       json_object_is_type(v, json_type_boolean) &&
	       json_object_get_boolean(v);
}

static const char *type_of(json_object *spec)
{
	json_object *v;

	if (json_object_object_get_ex(spec, "type", &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return "string";
}

/* The definition's "minimum"/"maximum" of an integer or number key, as
 * text in MIN/MAX ("" when absent). Reads only numbers, which write no
 * cache into the shared definition. */
static void range_of(json_object *spec, const char *type, char *min, char *max,
                     size_t n)
{
	const char *names[2] = {"minimum", "maximum"};
	char *outs[2] = {min, max};
	json_object *v;
	int i;

	for (i = 0; i < 2; i++) {
		outs[i][0] = '\0';
		if (!json_object_object_get_ex(spec, names[i], &v))
			continue;
		if (json_object_is_type(v, json_type_int))
			snprintf(outs[i], n, "%lld",
			         (long long)json_object_get_int64(v));
		else if (json_object_is_type(v, json_type_double) &&
		         strcmp(type, "number") == 0)
			snprintf(outs[i], n, "%.17g",
			         json_object_get_double(v));
	}
}

/*
 * 0 when S is a value of TYPE within SPEC's range; otherwise -1 and, in
 * WANT, what was expected ("an integer from 1 to 256").
 */
static int value_fits(json_object *spec, const char *type, const char *s,
                      char *want, size_t wantlen)
{
	static const char *const bools[] = {"true", "false", "yes", "no",
	                                    "on",   "off",   "1",   "0"};
	char min[64], max[64], *end;
	int isint = strcmp(type, "integer") == 0;
	size_t i;

	if (strcmp(type, "boolean") == 0) {
		for (i = 0; i < sizeof(bools) / sizeof(bools[0]); i++)
			if (strcasecmp(s, bools[i]) == 0)
				return 0;
		snprintf(want, wantlen,
		         "true or false (or yes/no, on/off, 1/0)");
		return -1;
	}
	if (!isint && strcmp(type, "number") != 0)
		return 0;
	range_of(spec, type, min, max, sizeof(min));
	if (min[0] && max[0])
		snprintf(want, wantlen, "%s from %s to %s",
		         isint ? "an integer" : "a number", min, max);
	else if (min[0] || max[0])
		snprintf(want, wantlen, "%s %s %s",
		         isint ? "an integer" : "a number",
		         min[0] ? "of at least" : "of at most",
		         min[0] ? min : max);
	else
		snprintf(want, wantlen, "%s",
		         isint ? "an integer" : "a number");
	errno = 0;
	if (isint) {
		long long v = strtoll(s, &end, 10);
		if (!*s || *end || errno ||
		    (min[0] && v < strtoll(min, NULL, 10)) ||
		    (max[0] && v > strtoll(max, NULL, 10)))
			return -1;
	} else {
		double v = strtod(s, &end);
		if (!*s || *end || errno || (min[0] && v < strtod(min, NULL)) ||
		    (max[0] && v > strtod(max, NULL)))
			return -1;
	}
	return 0;
}

/* A default of the definition as text, without writing json-c's caches
 * into the (shared) definition. NULL when there is none. */
static json_object *default_text(json_object *spec)
{
	json_object *v;
	char tmp[64];

	if (!json_object_object_get_ex(spec, "default", &v) || !v)
		return NULL;
	switch (json_object_get_type(v)) {
	case json_type_string:
		return json_object_new_string(json_object_get_string(v));
	case json_type_int:
		snprintf(tmp, sizeof(tmp), "%lld",
		         (long long)json_object_get_int64(v));
		return json_object_new_string(tmp);
	case json_type_double:
		snprintf(tmp, sizeof(tmp), "%.17g", json_object_get_double(v));
		return json_object_new_string(tmp);
	case json_type_boolean:
		return json_object_new_string(
		        json_object_get_boolean(v) ? "true" : "false");
	default: return NULL;
	}
}

/* S for a message: at most 40 bytes, control bytes as '?', "..." when
 * cut. */
static const char *shown(const char *s, char *buf, size_t n)
{
	size_t i;

	for (i = 0; s[i] && i + 4 < n && i < 40; i++)
		buf[i] =
		        (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	if (s[i])
		memcpy(buf + i, "...", 4);
	else
		buf[i] = '\0';
	return buf;
}

static json_object *config_defs(json_object *definition)
{
	json_object *defs = NULL;

	if (!definition ||
	    !json_object_object_get_ex(definition, "config", &defs) ||
	    !json_object_is_type(defs, json_type_object))
		return NULL;
	return defs;
}

int connhost_config_validate(json_object *definition, json_object *config,
                             const connhost_log *log, char *err, size_t errlen)
{
	json_object *defs = config_defs(definition), *spec, *v;

	json_object_object_foreach(config, key, val)
	{
		(void)val;
		if (!defs || !json_object_object_get_ex(defs, key, &spec)) {
			json_object *f = json_object_new_object();
			json_object_object_add(f, "key",
			                       json_object_new_string(key));
			connhost_log_emit(
			        log, CONN_LOG_WARN, f,
			        "unknown configuration key ignored by "
			        "the host's check");
			json_object_put(f);
		}
	}
	if (!defs)
		return 0;
	json_object_object_foreach(defs, dkey, dspec)
	{
		char want[192], got[64];
		const char *s;

		if (!json_object_object_get_ex(config, dkey, &v)) {
			json_object *d = default_text(dspec);
			if (d) {
				json_object_object_add(config, dkey, d);
				continue;
			}
			if (flag(dspec, "required")) {
				connhost__err(err, errlen,
				              "%s: required key missing", dkey);
				return CONN_EINVAL;
			}
			continue;
		}
		if (!json_object_is_type(v, json_type_string)) {
			connhost__err(err, errlen, "%s: expected a string",
			              dkey);
			return CONN_EINVAL;
		}
		s = json_object_get_string(v);
		if (!*s && flag(dspec, "required")) {
			connhost__err(err, errlen, "%s: required key is empty",
			              dkey);
			return CONN_EINVAL;
		}
		if (*s && value_fits(dspec, type_of(dspec), s, want,
		                     sizeof(want)) != 0) {
			if (flag(dspec, "secure"))
				connhost__err(err, errlen,
				              "%s: expected %s (the value is "
				              "secure: not shown)",
				              dkey, want);
			else
				connhost__err(err, errlen,
				              "%s: expected %s, got '%s'", dkey,
				              want, shown(s, got, sizeof(got)));
			return CONN_EINVAL;
		}
	}
	return 0;
}

json_object *connhost_config_masked(json_object *definition,
                                    json_object *config)
{
	json_object *defs = config_defs(definition), *out, *spec;

	out = json_object_new_object();
	if (!out)
		return NULL;
	json_object_object_foreach(config, key, v)
	{
		/* An unknown key may be a misspelt secret: masked too. */
		int secure = !defs ||
		             !json_object_object_get_ex(defs, key, &spec) ||
		             flag(spec, "secure");
		json_object *copy = NULL;
		if (secure)
			copy = json_object_new_string(MASK);
		else if (json_object_deep_copy(v, &copy, NULL) != 0)
			copy = NULL;
		if (!copy) {
			json_object_put(out);
			return NULL;
		}
		json_object_object_add(out, key, copy);
	}
	return out;
}
