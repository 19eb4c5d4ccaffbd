/*
 * test_ftl_golden - the golden cases: templates and data run through the
 * real Apache FreeMarker 2.3.31 (tests/ftl/golden.cases.jsonl, results in
 * golden.expected.jsonl, made by tests/ftl/make_golden.py). Every case must
 * give exactly FreeMarker's output, or fail with the same kind of error
 * (FreeMarker's "timeout" is our "limit").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl.h"
#include "../tap.h"

static char *path_of(const char *name)
{
	const char *top = getenv("top_srcdir");
	size_t n = strlen(top ? top : ".") + strlen(name) + 16;
	char *p = malloc(n);
	snprintf(p, n, "%s/tests/ftl/%s", top ? top : ".", name);
	return p;
}

static json_object *next_line(FILE *f)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_object *o = NULL;
	while ((n = getline(&line, &cap, f)) > 0) {
		if (n > 1) {
			o = json_tokener_parse(line);
			break;
		}
	}
	free(line);
	return o;
}

static const char *str_of(json_object *o, const char *key)
{
	json_object *v;
	if (!json_object_object_get_ex(o, key, &v) || !v ||
	    !json_object_is_type(v, json_type_string))
		return NULL;
	return json_object_get_string(v);
}

int main(void)
{
	char *cp = path_of("golden.cases.jsonl");
	char *ep = path_of("golden.expected.jsonl");
	FILE *cf = fopen(cp, "r"), *ef = fopen(ep, "r");
	json_object *c, *e;
	int n = 0, failed = 0;
	if (!cf || !ef) {
		printf("1..0 # SKIP golden files not found (%s)\n", cp);
		return 0;
	}
	while ((c = next_line(cf)) != NULL) {
		json_object *data = NULL, *settings = NULL, *v;
		ftl_settings st = {.max_output = 1000000};
		ftl_error err;
		ftl_template *t;
		char *out = NULL;
		size_t len = 0;
		int rc = -1, good;
		const char *tpl, *id;
		e = next_line(ef);
		if (!e) {
			ok(0, "expected results run out at case %d", n + 1);
			json_object_put(c);
			break;
		}
		n++;
		tpl = str_of(c, "template");
		id = str_of(c, "id");
		json_object_object_get_ex(c, "data", &data);
		if (json_object_object_get_ex(c, "settings", &settings) &&
		    settings) {
			st.locale = str_of(settings, "locale");
			st.number_format = str_of(settings, "number_format");
		}
		t = ftl_compile(tpl, strlen(tpl), &err);
		if (t) {
			rc = ftl_render(t, data, &st, &out, &len, &err);
			ftl_template_unref(t);
		}
		json_object_object_get_ex(e, "ok", &v);
		if (json_object_get_boolean(v)) {
			const char *want = str_of(e, "output");
			good = rc == 0 && strlen(want) == len &&
			       memcmp(want, out, len) == 0;
			if (!good) {
				failed++;
				ok(0, "%s: output", id);
				diag("template: %s", tpl);
				diag("expected: %s", want);
				if (rc == 0)
					diag("     got: %s", out);
				else
					diag("     got %s error: %s",
					     ftl_kind_name(err.kind),
					     err.message);
			}
		} else {
			const char *kind = str_of(e, "kind");
			const char *mine =
			        rc == 0 ? "ok" : ftl_kind_name(err.kind);
			good = rc != 0 && (strcmp(kind, mine) == 0 ||
			                   (strcmp(kind, "timeout") == 0 &&
			                    strcmp(mine, "limit") == 0));
			if (!good) {
				failed++;
				ok(0, "%s: error kind", id);
				diag("template: %s", tpl);
				diag("expected a %s error, got %s%s%s", kind,
				     mine, rc ? ": " : "",
				     rc ? err.message : "");
			}
		}
		free(out);
		json_object_put(c);
		json_object_put(e);
	}
	ok(n >= 500, "at least 500 golden cases (%d)", n);
	ok(failed == 0,
	   "all %d golden cases agree with FreeMarker (%d "
	   "disagree)",
	   n, failed);
	fclose(cf);
	fclose(ef);
	free(cp);
	free(ep);
	return done_testing();
}
