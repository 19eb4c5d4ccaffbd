/*
 * test_ftl_locals.c - the special variables .locals, .vars, .globals,
 * .main, .namespace and .caller_template_name, and ?url in UTF-16, UTF-32,
 * windows-1252 and ISO-8859-15 (brief ftl-locals, issue #10). The golden
 * cases hold FreeMarker's outputs for templates; this test covers what they
 * cannot: the url_escaping_charset setting given by the host, the work
 * budget charged for copying variables, errors' wording. Expected values
 * checked with ../shared/tools/ftl-oracle (FreeMarker 2.3.31).
 */
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl.h"
#include "../tap.h"

#define is(actual, expected, ...) is_str(expected, actual, __VA_ARGS__)

static ftl_error err;
static char out[8192];

/* The output, or "(compile K)"/"(render K)" for an error, with ERR set. */
static const char *run_m(const char *src, const char *model,
                         const ftl_settings *s)
{
	ftl_template *t = ftl_compile(src, strlen(src), &err);
	json_object *m = json_tokener_parse(model ? model : "{}");
	char *o = NULL;
	size_t n = 0;
	if (!t) {
		json_object_put(m);
		snprintf(out, sizeof(out), "(compile %d)", (int)err.kind);
		return out;
	}
	if (ftl_render(t, m, s, &o, &n, &err))
		snprintf(out, sizeof(out), "(render %d)", (int)err.kind);
	else
		snprintf(out, sizeof(out), "%s", o);
	free(o);
	json_object_put(m);
	ftl_template_unref(t);
	return out;
}

static const char *run(const char *src, const ftl_settings *s)
{
	return run_m(src, NULL, s);
}

int main(void)
{
	ftl_settings u16 = {.url_escaping_charset = "UTF-16"};
	ftl_settings u16lc = {.url_escaping_charset = "utf-16"};
	ftl_settings u8 = {.url_escaping_charset = "UTF-8"};
	ftl_settings bad = {.url_escaping_charset = "EBCDIC-XY"};
	char big[8192];

	/* .locals: the call's parameters and #local variables, in Java
	 * HashMap order (zz, bb, yy hash to bucket 0, a to 1, b to 2) */
	is(run("<#macro m zz a bb><#local yy=3><#local b=1>"
	       "${.locals?keys?join(\",\")}</#macro><@m zz=1 a=2 bb=3/>",
	       NULL),
	   "zz,bb,yy,a,b", ".locals lists in HashMap order");
	is(run("<#macro r><#nested 7></#macro><#macro t><#local c=123>"
	       "<@r ; c>${c} ${.locals.c}</@r></#macro><@t/>",
	       NULL),
	   "7 123",
	   "nested content sees the caller's locals (loopvariable.ftl)");
	is(run("${.locals!\"none\"}<#macro r><#nested></#macro>"
	       "<@r>${(.locals?\?)?c}</@r>",
	       NULL),
	   "nonefalse", ".locals is missing outside a macro");
	is(run("<#macro m a><#list [5] as x>${.locals?keys?join(\",\")}"
	       "</#list></#macro><@m a=1/>",
	       NULL),
	   "a", "loop variables are not locals");
	is(run("<#function f a><#local b = .locals><#local c = 1>"
	       "<#return b?keys?join(\",\")></#function>${f(1)}",
	       NULL),
	   "a", "a stored .locals is a copy (differs from FreeMarker: live)");

	/* .vars: any name, as a plain name is looked up */
	is(run_m("<#assign a=1>${.vars[\"a\"]} ${.vars.x} ${.vars[\"a b\"]}"
	         "<#list [2] as i> ${.vars.i}</#list>",
	         "{\"x\":\"X\",\"a b\":\"AB\"}", NULL),
	   "1 X AB 2", ".vars finds variables, data and loop variables");
	is(run("${.vars[\".now\"]!\"-\"}", NULL), "-",
	   ".vars[\".now\"] is no special variable");
	is(run("${.vars?keys?join(\",\")}", NULL), "(render 2)",
	   ".vars cannot list its keys");
	ok(strstr(err.message, ".vars") != NULL, "the error names .vars: %s",
	   err.message);
	is(run("${.globals?size}", NULL), "(render 2)",
	   ".globals cannot count");
	is(run("${.vars?has_content?c}", NULL), "true",
	   ".vars has content (FreeMarker's isEmpty is false)");

	/* .globals: #global, then the data; not #assign */
	is(run_m("<#global g=1><#assign a=2>${.globals.g} ${.globals.x} "
	         "${(.globals.a?\?)?c}",
	         "{\"x\":\"X\"}", NULL),
	   "1 X false", ".globals");

	/* .main / .namespace: #assign'd variables and macros, live */
	is(run("<#macro zz>Z</#macro><#assign b=2><#assign a=1><#global g=3>"
	       "${.main?keys?join(\",\")}|${.namespace?keys?join(\",\")}",
	       NULL),
	   "zz,a,b|zz,a,b", ".main holds macros and assignments");
	is(run("<#assign m=.main><#assign z=1>${m?keys?join(\",\")}", NULL),
	   "z,m", ".main is read when used");

	/* .caller_template_name */
	is(run("<#macro m>${.caller_template_name}</#macro><@m/>", NULL),
	   "template.ftl", ".caller_template_name in a macro");
	is(run("${.caller_template_name}", NULL), "(render 2)",
	   ".caller_template_name outside one is an error");
	ok(strstr(err.message, "#macro") != NULL, "it says where to use it: %s",
	   err.message);

	/* the work budget: copying variables is charged per entry */
	{
		/* 300 locals, then a loop reading them 2000 times */
		ftl_settings lim = {.max_work = 400000};
		const char *reads[] = {"${.locals?size}", "${.locals.v1}",
		                       "${.vars.v1}"};
		const char *r[3];
		for (int w = 0; w < 3; w++) {
			size_t k = (size_t)snprintf(big, sizeof(big),
			                            "<#macro m>");
			for (int i = 1; i <= 300; i++)
				k += (size_t)snprintf(big + k, sizeof(big) - k,
				                      "<#local v%d=%d>", i, i);
			snprintf(big + k, sizeof(big) - k,
			         "<#list 1..2000 as j>%s</#list></#macro><@m/>",
			         reads[w]);
			r[w] = strcmp(run(big, &lim), "(render 3)") == 0
			               ? "limit"
			       : strncmp(out, "1111", 4) == 0 ? "1111"
			                                      : out;
		}
		is(r[0], "limit", "copying .locals 2000 times hits the budget");
		is(r[1], "limit", "so does .locals.x (a copy each time)");
		is(r[2], "1111",
		   "the same loop with .vars.x fits in the budget");
	}

	/* ?url in UTF-16: a byte order mark before every escaped run */
	is(run("${\"a/%b\"?url} ${\"a é/b c\"?url_path}", &u16),
	   "a%FE%FF%00%2F%00%25b a%FE%FF%00%20%00%E9/b%FE%FF%00%20c",
	   "url_escaping_charset=UTF-16 from the settings");
	is(run("${.url_escaping_charset}", &u16lc), "utf-16",
	   ".url_escaping_charset as it was given");
	is(run("${.url_escaping_charset}", &u8), "UTF-8",
	   ".url_escaping_charset=UTF-8 when given");
	is(run("${.url_escaping_charset!\"unset\"}", NULL), "unset",
	   ".url_escaping_charset missing when not given");
	is(run("${\"😀\"?url(\"UTF-16LE\")} ${\"😀\"?url(\"UTF-32\")}", NULL),
	   "%3D%D8%00%DE %00%01%F6%00",
	   "a pair in UTF-16LE, one unit in UTF-32");
	is(run("${\"€‚Ÿ\xc2\x81\"?url(\"windows-1252\")}", NULL),
	   "%80%82%9F%3F", "windows-1252");
	is(run("${\"€¤\"?url(\"ISO-8859-15\")}", NULL), "%A4%3F",
	   "ISO-8859-15: the euro replaced the currency sign");
	is(run("${\"a\"?url(\"nosuch\")}", NULL), "a",
	   "an unknown charset is not needed when nothing is escaped");
	is(run("${\"a b\"?url(\"nosuch\")}", NULL), "(render 2)",
	   "an unknown charset is an error when needed");
	ok(strstr(err.message, "UTF-16") != NULL,
	   "the error lists the charsets: %s", err.message);
	is(run("x", &bad), "(render 4)", "an unknown setting is refused");
	ok(strstr(err.message, "EBCDIC-XY") != NULL &&
	           strstr(err.message, "UTF-16") != NULL,
	   "naming it and the choices: %s", err.message);
	{
		char tmp[600];
		ftl_error e2;
		ok(ftl_settings_check(&bad, &e2) != 0,
		   "ftl_settings_check refuses it");
		snprintf(tmp, sizeof(tmp), "%s", e2.message);
		ok(ftl_settings_check(&u16, &e2) == 0,
		   "ftl_settings_check accepts UTF-16 (%s)", tmp);
	}
	return done_testing();
}
