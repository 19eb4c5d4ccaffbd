/*
 * ftl-render - preview a FreeMarker template with JSON data, or run a batch
 * of cases in the JSON-lines protocol of the ftl-oracle tool (the real
 * Apache FreeMarker), so that one case file feeds both.
 *
 *   ftl-render [--locale L] [--number-format F] [--time-zone Z]
 *              [--date-format F] [--time-format F] [--datetime-format F]
 *              [--boolean-format F] [--output-format F]
 *              [--auto-escaping-policy P] [--url-escaping-charset C]
 *              [--max-output N] [--timeout MS] TEMPLATE [DATA.json]
 *   ftl-render [--max-output N] --batch FILE|-
 *   ftl-render --version
 *
 * Exit status (single mode): 0 rendered, 1 runtime error, 2 parse error,
 * 3 usage/IO/input error, 4 limit reached (output, memory, work budget) or
 * --timeout passed.
 */
#define _GNU_SOURCE 1

#ifdef HAVE_CONFIG_H
#include "config.h"
#endif
#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "unknown"
#endif
#ifndef PACKAGE_NAME
#define PACKAGE_NAME "twilio-connector"
#endif

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ftl.h"

#define MAX_FILE (16u << 20)

static void usage(FILE *f)
{
	fputs("usage: ftl-render [options] TEMPLATE [DATA.json]\n"
	      "       ftl-render [options] --batch FILE|-\n"
	      "\n"
	      "Render a FreeMarker template (the subset in docs/templates.md)\n"
	      "with a JSON object as the data model and print the result.\n"
	      "\n"
	      "options:\n"
	      "  --locale L         en_US (default), de_DE, ...\n"
	      "  --number-format F  number (default), computer, percent, 0.00 "
	      "...\n"
	      "  --time-zone Z      UTC (default), Europe/Berlin, GMT+02:00 "
	      "...\n"
	      "  --date-format F    short, medium (default), long, full, iso,\n"
	      "                     or a pattern like yyyy-MM-dd\n"
	      "  --time-format F    the same, for times\n"
	      "  --datetime-format F  the same, for date-times\n"
	      "  --boolean-format F c, or two texts like yes,no\n"
	      "  --output-format F  HTML, XHTML, XML, RTF (escape ${...}),\n"
	      "                     plainText, undefined (default), JSON, ...\n"
	      "  --auto-escaping-policy P  enable_if_default (default),\n"
	      "                     enable_if_supported, disable\n"
	      "  --url-escaping-charset C  the charset of ?url: UTF-8\n"
	      "                     (default), ISO-8859-1/-15, US-ASCII,\n"
	      "                     windows-1252, UTF-16(BE/LE), UTF-32(BE/LE)\n"
	      "  --max-output N     output limit in bytes (default 65536;\n"
	      "                     --batch: 1000000, like the oracle)\n"
	      "  --timeout MS       stop rendering after MS milliseconds, as\n"
	      "                     the connector stops at a call's deadline\n"
	      "  --batch FILE|-     JSON lines in: "
	      "{\"id\":..,\"template\":..,\n"
	      "                     "
	      "\"data\":{..},\"settings\":{\"locale\":..}}\n"
	      "                     (settings: the options above, with _ for "
	      "-)\n"
	      "                     JSON lines out: "
	      "{\"id\":..,\"ok\":true,\"output\":..}\n"
	      "                     or "
	      "{\"id\":..,\"ok\":false,\"kind\":..,\"line\":..,\n"
	      "                     \"column\":..,\"message\":..}\n"
	      "  -h, --help         this text\n"
	      "  --version          the version of the connector it comes "
	      "with\n"
	      "\n"
	      "exit status: 0 ok, 1 runtime error, 2 parse error, 3 usage or\n"
	      "input error, 4 limit reached (output, memory, work) or "
	      "timeout\n",
	      f);
}

static char *read_all(FILE *f, size_t *len)
{
	size_t cap = 4096, n = 0;
	char *p = malloc(cap);
	if (!p)
		return NULL;
	for (;;) {
		size_t r;
		if (n + 1 >= cap) {
			char *q;
			if (cap >= MAX_FILE) {
				free(p);
				errno = EFBIG;
				return NULL;
			}
			cap *= 2;
			q = realloc(p, cap);
			if (!q) {
				free(p);
				return NULL;
			}
			p = q;
		}
		r = fread(p + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (ferror(f)) {
		free(p);
		return NULL;
	}
	p[n] = 0;
	*len = n;
	return p;
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *p;
	if (!f)
		return NULL;
	p = read_all(f, len);
	if (f != stdin)
		fclose(f);
	return p;
}

static int exit_code(ftl_kind k)
{
	switch (k) {
	case FTL_RUNTIME: return 1;
	case FTL_PARSE: return 2;
	case FTL_LIMIT:
	case FTL_DEADLINE: return 4;
	default: return 3;
	}
}

/* JSON string escaping as the oracle writes it. */
static void put_json_str(FILE *o, const char *s, size_t n)
{
	fputc('"', o);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		switch (c) {
		case '"': fputs("\\\"", o); break;
		case '\\': fputs("\\\\", o); break;
		case '\n': fputs("\\n", o); break;
		case '\r': fputs("\\r", o); break;
		case '\t': fputs("\\t", o); break;
		case '\b': fputs("\\b", o); break;
		case '\f': fputs("\\f", o); break;
		default:
			if (c < 0x20 || c == 0x7f)
				fprintf(o, "\\u%04x", c);
			else if (c == 0xe2 && i + 2 < n &&
			         (unsigned char)s[i + 1] == 0x80 &&
			         ((unsigned char)s[i + 2] == 0xa8 ||
			          (unsigned char)s[i + 2] == 0xa9)) {
				fprintf(o, "\\u%04x",
				        (unsigned char)s[i + 2] == 0xa8
				                ? 0x2028
				                : 0x2029);
				i += 2;
			} else
				fputc(c, o);
		}
	}
	fputc('"', o);
}

static void put_error(FILE *o, const char *id, const char *kind,
                      const ftl_error *e, const char *msg)
{
	fprintf(o,
	        "{\"id\":%s,\"ok\":false,\"kind\":\"%s\",\"error_class\":"
	        "\"ftl_%s\"",
	        id, kind, kind);
	if (e && e->line)
		fprintf(o, ",\"line\":%d,\"column\":%d", e->line, e->column);
	fputs(",\"message\":", o);
	put_json_str(o, msg, strlen(msg));
	fputs("}\n", o);
}

/* Setting NAME = VAL (FreeMarker's setting names, both spellings) into ST:
 * NULL, or why not. Settings that cannot change the output of what this
 * engine supports are accepted and ignored (docs/templates.md
 * "Settings"). */
static const char *set_setting(ftl_settings *st, const char *name,
                               const char *val)
{
	static const struct {
		const char *snake, *camel;
		size_t off;
	} map[] = {
#define F(s, c, f) {s, c, offsetof(ftl_settings, f)}
	        F("locale", "locale", locale),
	        F("number_format", "numberFormat", number_format),
	        F("time_zone", "timeZone", time_zone),
	        F("date_format", "dateFormat", date_format),
	        F("time_format", "timeFormat", time_format),
	        F("datetime_format", "datetimeFormat", datetime_format),
	        F("boolean_format", "booleanFormat", boolean_format),
	        F("output_format", "outputFormat", output_format),
	        F("auto_escaping_policy", "autoEscapingPolicy",
	          auto_escaping_policy),
	        F("url_escaping_charset", "urlEscapingCharset",
	          url_escaping_charset),
#undef F
	};
	/* no effect on what a template prints here: error handling,
	 * logging, template loading and caching, the output's encoding */
	static const char *const ignored[] = {
	        "output_encoding",
	        "outputEncoding",
	        "default_encoding",
	        "defaultEncoding",
	        "template_exception_handler",
	        "templateExceptionHandler",
	        "log_template_exceptions",
	        "logTemplateExceptions",
	        "wrap_unchecked_exceptions",
	        "wrapUncheckedExceptions",
	        "attempt_exception_reporter",
	        "attemptExceptionReporter",
	        "show_error_tips",
	        "showErrorTips",
	        "new_builtin_class_resolver",
	        "newBuiltinClassResolver",
	        "api_builtin_enabled",
	        "apiBuiltinEnabled",
	        "template_update_delay",
	        "templateUpdateDelay",
	        "localized_lookup",
	        "localizedLookup",
	        "cache_storage",
	        "cacheStorage",
	        "recognize_standard_file_extensions",
	        "recognizeStandardFileExtensions",
	        "lazy_imports",
	        "lazyImports",
	        "lazy_auto_imports",
	        "lazyAutoImports",
	        NULL};
	if (!val)
		return "the value must be a string";
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(name, map[i].snake) == 0 ||
		    strcmp(name, map[i].camel) == 0) {
			*(const char **)((char *)st + map[i].off) = val;
			return NULL;
		}
	for (size_t i = 0; ignored[i]; i++)
		if (strcmp(name, ignored[i]) == 0)
			return NULL;
	if ((strcmp(name, "incompatible_improvements") == 0 ||
	     strcmp(name, "incompatibleImprovements") == 0) &&
	    strcmp(val, "2.3.31") == 0)
		return NULL;
	return "not supported by this engine (supported: locale, "
	       "number_format, time_zone, date_format, time_format, "
	       "datetime_format, boolean_format, output_format, "
	       "auto_escaping_policy, url_escaping_charset; see "
	       "docs/templates.md \"Settings\")";
}

static void batch_case(FILE *o, const char *line, size_t len, long lineno,
                       size_t max_output)
{
	json_tokener *tok = json_tokener_new_ex(64);
	json_object *c = NULL, *v, *data = NULL;
	char idbuf[64];
	const char *id = idbuf;
	ftl_settings st = {.max_output = max_output};
	ftl_error err;
	ftl_template *t;
	char *out = NULL;
	size_t out_len = 0;

	snprintf(idbuf, sizeof(idbuf), "%ld", lineno);
	if (tok) {
		c = json_tokener_parse_ex(tok, line, (int)len);
		if (c && json_tokener_get_parse_end(tok) < len) {
			size_t k = json_tokener_get_parse_end(tok);
			while (k < len && (line[k] == ' ' || line[k] == '\t' ||
			                   line[k] == '\r'))
				k++;
			if (k < len) {
				json_object_put(c);
				c = NULL;
			}
		}
		json_tokener_free(tok);
	}
	if (!c || !json_object_is_type(c, json_type_object)) {
		put_error(o, id, "input", NULL, "case is not a JSON object");
		json_object_put(c);
		return;
	}
	if (json_object_object_get_ex(c, "id", &v))
		id = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
	if (!json_object_object_get_ex(c, "template", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		put_error(o, id, "input", NULL,
		          "\"template\" must be a string");
		json_object_put(c);
		return;
	}
	if (json_object_object_get_ex(c, "data", &data) && data &&
	    !json_object_is_type(data, json_type_object)) {
		put_error(o, id, "input", NULL,
		          "\"data\" must be a JSON object");
		json_object_put(c);
		return;
	}
	{
		json_object *s;
		if (json_object_object_get_ex(c, "settings", &s) && s) {
			json_object_object_foreach(s, k, sv)
			{
				const char *val =
				        sv && json_object_is_type(
				                      sv, json_type_string)
				                ? json_object_get_string(sv)
				                : NULL;
				const char *why = set_setting(&st, k, val);
				if (why) {
					char msg[300];
					snprintf(msg, sizeof(msg),
					         "setting \"%.*s\": %s",
					         (int)(strlen(k) > 60
					                       ? 60
					                       : strlen(k)),
					         k, why);
					put_error(o, id, "setup", NULL, msg);
					json_object_put(c);
					return;
				}
			}
		}
	}
	if (ftl_settings_check(&st, &err)) {
		put_error(o, id, "setup", NULL, err.message);
		json_object_put(c);
		return;
	}
	t = ftl_compile(json_object_get_string(v),
	                (size_t)json_object_get_string_len(v), &err);
	if (t) {
		if (ftl_render(t, data, &st, &out, &out_len, &err) == 0) {
			fprintf(o, "{\"id\":%s,\"ok\":true,\"output\":", id);
			put_json_str(o, out, out_len);
			fputs("}\n", o);
			free(out);
			ftl_template_unref(t);
			json_object_put(c);
			return;
		}
		ftl_template_unref(t);
	}
	put_error(o, id, ftl_kind_name(err.kind), &err, err.message);
	json_object_put(c);
}

static int run_batch(const char *path, size_t max_output)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	long lineno = 0;
	if (!f) {
		fprintf(stderr, "ftl-render: %s: %s\n", path, strerror(errno));
		return 3;
	}
	while ((n = getline(&line, &cap, f)) >= 0) {
		size_t len = (size_t)n, k = 0;
		lineno++;
		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			len--;
		while (k < len && (line[k] == ' ' || line[k] == '\t'))
			k++;
		if (k == len)
			continue;
		batch_case(stdout, line, len, lineno, max_output);
		fflush(stdout);
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return 0;
}

/* --time-zone Z and the like: the batch setting with "-" for "_"; 1 when
 * OPT is one. */
static int cli_setting(ftl_settings *st, const char *opt, const char *val)
{
	static const char *const opts[] = {"time-zone",
	                                   "date-format",
	                                   "time-format",
	                                   "datetime-format",
	                                   "boolean-format",
	                                   "output-format",
	                                   "auto-escaping-policy",
	                                   "url-escaping-charset",
	                                   NULL};
	char name[32];
	size_t i;
	for (i = 0; opts[i] && strcmp(opts[i], opt) != 0; i++)
		;
	if (!opts[i])
		return 0;
	snprintf(name, sizeof(name), "%s", opts[i]);
	for (char *q = name; *q; q++)
		if (*q == '-')
			*q = '_';
	return set_setting(st, name, val) == NULL;
}

int main(int argc, char **argv)
{
	const char *batch = NULL, *tpath = NULL, *dpath = NULL;
	ftl_settings st = {0};
	long max_output = -1, timeout_ms = -1;
	int i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (strcmp(a, "--version") == 0) {
			printf("ftl-render (%s) %s\n", PACKAGE_NAME,
			       PACKAGE_VERSION);
			return 0;
		} else if (strcmp(a, "--timeout") == 0 && i + 1 < argc) {
			char *end;
			timeout_ms = strtol(argv[++i], &end, 10);
			if (*end || timeout_ms <= 0) {
				fprintf(stderr, "ftl-render: --timeout needs "
				                "a positive number of "
				                "milliseconds\n");
				return 3;
			}
		} else if (strcmp(a, "--batch") == 0 && i + 1 < argc) {
			batch = argv[++i];
		} else if (strcmp(a, "--locale") == 0 && i + 1 < argc) {
			st.locale = argv[++i];
		} else if (strcmp(a, "--number-format") == 0 && i + 1 < argc) {
			st.number_format = argv[++i];
		} else if (strncmp(a, "--", 2) == 0 && i + 1 < argc &&
		           cli_setting(&st, a + 2, argv[i + 1])) {
			i++;
		} else if (strcmp(a, "--max-output") == 0 && i + 1 < argc) {
			char *end;
			max_output = strtol(argv[++i], &end, 10);
			if (*end || max_output <= 0) {
				fprintf(stderr, "ftl-render: --max-output "
				                "needs a positive number\n");
				return 3;
			}
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "ftl-render: unknown option %s\n", a);
			usage(stderr);
			return 3;
		} else if (!tpath) {
			tpath = a;
		} else if (!dpath) {
			dpath = a;
		} else {
			usage(stderr);
			return 3;
		}
	}
	if (batch) {
		if (tpath) {
			usage(stderr);
			return 3;
		}
		return run_batch(batch,
		                 max_output > 0 ? (size_t)max_output : 1000000);
	}
	if (!tpath) {
		usage(stderr);
		return 3;
	}
	{
		size_t tlen = 0, dlen = 0, out_len = 0;
		char *src = read_file(tpath, &tlen), *djson = NULL, *out = NULL;
		json_object *data = NULL;
		ftl_error err;
		ftl_template *t;
		int rc;
		if (!src) {
			fprintf(stderr, "ftl-render: %s: %s\n", tpath,
			        strerror(errno));
			return 3;
		}
		if (dpath) {
			json_tokener *tok;
			djson = read_file(dpath, &dlen);
			if (!djson) {
				fprintf(stderr, "ftl-render: %s: %s\n", dpath,
				        strerror(errno));
				free(src);
				return 3;
			}
			tok = json_tokener_new_ex(64);
			data = tok ? json_tokener_parse_ex(tok, djson,
			                                   (int)dlen)
			           : NULL;
			json_tokener_free(tok);
			free(djson);
			if (!data ||
			    !json_object_is_type(data, json_type_object)) {
				fprintf(stderr,
				        "ftl-render: %s: not a JSON "
				        "object\n",
				        dpath);
				json_object_put(data);
				free(src);
				return 3;
			}
		}
		if (max_output > 0)
			st.max_output = (size_t)max_output;
		if (ftl_settings_check(&st, &err)) {
			fprintf(stderr, "ftl-render: %s\n", err.message);
			json_object_put(data);
			free(src);
			return 3;
		}
		t = ftl_compile(src, tlen, &err);
		free(src);
		if (timeout_ms > 0) {
			struct timespec ts;
			clock_gettime(CLOCK_MONOTONIC, &ts);
			st.deadline_ms = (int64_t)ts.tv_sec * 1000 +
			                 ts.tv_nsec / 1000000 + timeout_ms;
		}
		rc = t ? ftl_render(t, data, &st, &out, &out_len, &err) : -1;
		ftl_template_unref(t);
		json_object_put(data);
		if (rc == 0) {
			fwrite(out, 1, out_len, stdout);
			free(out);
			return 0;
		}
		if (err.line)
			fprintf(stderr,
			        "ftl-render: %s: %s error at line %d, "
			        "column %d: %s\n",
			        tpath, ftl_kind_name(err.kind), err.line,
			        err.column, err.message);
		else
			fprintf(stderr, "ftl-render: %s: %s error: %s\n", tpath,
			        ftl_kind_name(err.kind), err.message);
		return exit_code(err.kind);
	}
}
