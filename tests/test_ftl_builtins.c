/*
 * test_ftl_builtins - plugin/ftl/builtins.c: the built-ins, with the UTF-16
 * positions Java uses (most behaviour is also in the golden cases).
 */
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl.h"
#include "tap.h"

static char out[1024];
static ftl_error err;

static const char *r(const char *src, const char *json)
{
	ftl_template *t = ftl_compile(src, strlen(src), &err);
	json_object *m = json ? json_tokener_parse(json) : NULL;
	char *o = NULL;
	const char *res = out;
	if (!t)
		res = "(parse error)";
	else if (ftl_render(t, m, NULL, &o, NULL, &err))
		res = "(error)";
	else
		snprintf(out, sizeof(out), "%s", o);
	free(o);
	json_object_put(m);
	ftl_template_unref(t);
	return res;
}

int main(void)
{
	is_str("2 1", r("${\"\xf0\x9f\x98\x80\"?length} ${\"a\"?length}", NULL),
	       "?length counts UTF-16 units");
	is_str("SS", r("${\"\xc3\x9f\"?upper_case}", NULL), "full upper case");
	is_str("Hello World", r("${\"hello WORLD\"?capitalize}", NULL),
	       "?capitalize");
	is_str("x", r("${\"  x \"?trim}", NULL), "?trim");
	is_str("yes", r("${b?string('yes','no')}", "{\"b\":true}"),
	       "?string for booleans");
	is_str("1234.50", r("${n?string('0.00')}", "{\"n\":1234.5}"),
	       "?string with a pattern");
	is_str("two", r("${2?switch(1,'one',2,'two')}", NULL), "?switch");
	is_str("a, b", r("${['a','b']?join(', ')}", NULL), "?join");
	is_str("a-b", r("${'a b'?replace(' ','-')}", NULL), "?replace");
	is_str("true", r("${'abc'?contains('b')?c}", NULL), "?contains");
	is_str("2", r("${'\xf0\x9f\x98\x80x'?index_of('x')}", NULL),
	       "?index_of in UTF-16 units");
	is_str("..ab", r("${'ab'?left_pad(4,'.')}", NULL), "?left_pad");
	is_str("Hello [...]", r("${'Hello world foo bar'?truncate(12)}", NULL),
	       "?truncate at a word boundary");
	is_str("bc", r("${'abc'?substring(1)}", NULL), "?substring");
	is_str("1,2,3", r("${[3,1,2]?sort?join(',')}", NULL), "?sort numbers");
	is_str("a,B,c", r("${['c','B','a']?sort?join(',')}", NULL),
	       "?sort strings as a collator");
	is_str("3 -3 2", r("${2.5?round} ${(-2.5)?floor} ${2.1?int}", NULL),
	       "?round ?floor ?int");
	is_str("&lt;a&gt;&amp;&quot;&#39;", r("${\"<a>&\\\"'\"?html}", NULL),
	       "?html");
	is_str("a%20b%2F%C3%A9", r("${'a b/\xc3\xa9'?url}", NULL), "?url");
	is_str("a\\\"\\n", r("${'a\"\\n'?json_string}", NULL), "?json_string");
	is_str("0:a 1:b",
	       r("<#list ['a','b'] as x>${x?index}:${x}<#sep> </#list>", NULL),
	       "?index and #sep");
	is_str("(error)", r("${'abc'?substring(5)}", NULL),
	       "out of bounds is an error");
	ok(strstr(err.message, "substring") != NULL, "%s", err.message);
	is_str("(error)", r("${x?date}", "{\"x\":\"2024-01-01\"}"),
	       "date built-ins: a clear error");
	ok(strstr(err.message, "?date") && strstr(err.message, "not supported"),
	   "names the built-in: %s", err.message);
	return done_testing();
}
