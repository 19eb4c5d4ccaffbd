/*
 * test_ftl_escape.c - #escape/#noescape, #outputformat and the special
 * variables (brief ftl-escape, issue #10) where the output format comes
 * from the settings: the golden cases (FreeMarker's outputs) cover the
 * rest, but the golden protocol has no settings column. Expected values
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

/* The output, or "(parse)"/"(runtime)"... for an error, with ERR set. */
static const char *run(const char *src, const ftl_settings *s)
{
	ftl_template *t = ftl_compile(src, strlen(src), &err);
	json_object *m = json_tokener_parse("{\"a\":\"<q>\"}");
	char *o = NULL;
	size_t n = 0;
	const char *r = out;
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
	return r;
}

int main(void)
{
	ftl_settings html = {.output_format = "HTML"};
	ftl_settings off = {.output_format = "HTML",
	                    .auto_escaping_policy = "disable"};
	ftl_settings xml = {.output_format = "XML"};

	/* #escape: parse-time wrapping, composition, #noescape */
	is(run("<#escape x as x?html>${a}<#noescape>${a}</#noescape>"
	       "</#escape>",
	       NULL),
	   "&lt;q&gt;<q>", "#escape wraps ${...}, #noescape suspends it");
	is(run("<#escape x as x?html><#escape y as \"[\" + y + \"]\">${a}"
	       "<#noescape>${a}</#noescape></#escape></#escape>",
	       NULL),
	   "[&lt;q&gt;]&lt;q&gt;", "nested escapes compose");
	is(run("<#escape x as x*2>#{3}${3}</#escape>", NULL), "36",
	   "#{...} is not escaped");
	/* refused where auto-escaping is on with a markup format; the
	 * format comes from the settings here, so the render refuses it
	 * with FreeMarker's kind (a parse error) */
	is(run("<#escape x as x?html>${a}</#escape>", &html), "(render 1)",
	   "#escape refused with output_format=HTML");
	ok(strstr(err.message, "\"escape\" directive") != NULL &&
	           strstr(err.message, "(HTML)") != NULL,
	   "the error names #escape and the format: %s", err.message);
	ok(err.line == 1 && err.column == 1, "at the #escape tag");
	is(run("<#escape x as x?html>${a}</#escape>", &off), "&lt;q&gt;",
	   "allowed when the policy disables auto-escaping");
	is(run("<#noautoesc><#escape x as x?html>${a}</#escape></#noautoesc>",
	       &xml),
	   "&lt;q&gt;", "allowed inside #noautoesc");
	is(run("<#outputformat \"HTML\"><#escape x as x?html>${a}</#escape>"
	       "</#outputformat>",
	       NULL),
	   "(render 1)",
	   "refused inside #outputformat (when the settings' policy is known)");
	is(run("<#outputformat \"HTML\">${a?html}</#outputformat>", NULL),
	   "(render 1)", "?html inside #outputformat \"HTML\": refused");
	is(run("<#outputformat \"HTML\">${a?html}</#outputformat>", &off),
	   "&lt;q&gt;", "... unless the policy disables auto-escaping");
	is(run("<#outputformat \"HTML\"><#autoesc>${a?html}</#autoesc>"
	       "</#outputformat>",
	       &off),
	   "(compile 1)", "inside #autoesc: refused when compiling");
	is(run("<#outputformat \"HTML\"><#noautoesc>${a?html}</#noautoesc>"
	       "</#outputformat>",
	       NULL),
	   "&lt;q&gt;", "... but not inside #noautoesc");
	is(run("<#noescape>${a}</#noescape>", NULL), "(compile 1)",
	   "#noescape without #escape");
	is(run("<#escape x as x?html><#noescape/></#escape>", NULL),
	   "(compile 1)", "#noescape needs an end tag");

	/* #outputformat: lexical format and escaping */
	is(run("<#outputformat \"HTML\">${a}</#outputformat>${a}", NULL),
	   "&lt;q&gt;<q>", "#outputformat escapes its body only");
	is(run("<#outputformat \"HTML\">${a}</#outputformat>", &off), "<q>",
	   "... not when the policy disables auto-escaping");
	is(run("<#outputformat \"plainText\">${a}</#outputformat>", &html),
	   "<q>", "plainText inside an HTML template");
	is(run("<#outputformat \"plainText\">${a?esc}</#outputformat>", &html),
	   "(compile 1)", "?esc needs a markup format (lexical)");
	is(run("<#outputformat \"HTML\"><#macro m>${a}</#macro>"
	       "</#outputformat><@m/>",
	       NULL),
	   "&lt;q&gt;", "a macro keeps the format it was written in");
	is(run("<#outputformat \"HTML\"><#assign m = a?esc></#outputformat>"
	       "${m}",
	       &html),
	   "&lt;q&gt;", "HTML markup in HTML");
	is(run("<#outputformat \"HTML\"><#assign m = a?esc></#outputformat>"
	       "<#outputformat \"RTF\">${m}</#outputformat>",
	       NULL),
	   "<q>", "?esc markup re-escaped for RTF");
	is(run("<#outputformat \"HTML\"><#assign m>${a}</#assign>"
	       "</#outputformat>${m}",
	       &xml),
	   "(render 2)", "a captured HTML markup can't print in XML");
	ok(strstr(err.message, "differs from the current output format") !=
	           NULL,
	   "the error says why: %s", err.message);
	is(run("<#outputformat \"html\">x</#outputformat>", NULL),
	   "(compile 1)", "format names are case-sensitive");
	ok(strstr(err.message, "\"html\"") != NULL &&
	           strstr(err.message, "\"HTML\"") != NULL,
	   "the error names it and the known ones: %s", err.message);
	is(run("<#outputformat a>x</#outputformat>", NULL), "(compile 1)",
	   "the name must be a constant");

	/* special variables */
	is(run("${.output_format} ${.auto_esc?c}<#outputformat \"XML\"> "
	       "${.output_format} ${.auto_esc?c}</#outputformat><#noautoesc> "
	       "${.auto_esc?c}</#noautoesc>",
	       &html),
	   "HTML true XML true false", ".output_format and .auto_esc");
	is(run("<#setting locale=\"de_DE\">${.lang} ${.locale} ${.version}",
	       NULL),
	   "de de_DE 2.3.31", ".lang .locale .version");
	is(run("${.data_model.a} ${.output_encoding} "
	       "${.url_escaping_charset!'-'}",
	       NULL),
	   "<q> UTF-8 -", ".data_model .output_encoding");
	is(run("${.foo}", NULL), "(compile 1)", "unknown special variable");
	ok(strstr(err.message, "Unknown special variable name: \"foo\"") !=
	           NULL,
	   "FreeMarker's message: %s", err.message);
	is(run("${.node}", NULL), "(render 2)", ".node is not supported");
	ok(strstr(err.message, ".node") != NULL, "the error names it: %s",
	   err.message);
	is(run("${.error}", NULL), "(render 2)", ".error outside #recover");
	return done_testing();
}
