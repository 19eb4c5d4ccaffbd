/*
 * test_ftl_parse - plugin/ftl/parse.c: syntax errors with their line and
 * column, limits on untrusted templates (nesting, expression depth, size,
 * invalid UTF-8), white-space stripping and the square-bracket syntax,
 * and that compiling stays linear in the template's size.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../plugin/ftl/ftl_int.h"
#include "../tap.h"

static ftl_error err;
static char out[4096];

static int compile_fails(const char *src, size_t len, ftl_kind kind)
{
	ftl_template *t = ftl_compile(src, len, &err);
	if (t) {
		ftl_template_unref(t);
		return 0;
	}
	return err.kind == kind;
}

static const char *render(const char *src)
{
	ftl_template *t = ftl_compile(src, strlen(src), &err);
	char *o = NULL;
	if (!t)
		return "(parse error)";
	if (ftl_render(t, NULL, NULL, &o, NULL, &err)) {
		ftl_template_unref(t);
		return "(render error)";
	}
	snprintf(out, sizeof(out), "%s", o);
	free(o);
	ftl_template_unref(t);
	return out;
}

static char *repeat(const char *a, int n, const char *mid, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), lm = strlen(mid);
	char *s = malloc(la * (size_t)n + lb * (size_t)n + lm + 1), *p = s;
	for (int i = 0; i < n; i++, p += la)
		memcpy(p, a, la);
	memcpy(p, mid, lm);
	p += lm;
	for (int i = 0; i < n; i++, p += lb)
		memcpy(p, b, lb);
	*p = 0;
	return s;
}

int main(void)
{
	char *s;

	ok(compile_fails("Hi ${name", 9, FTL_PARSE), "unclosed ${");
	is_int(1, err.line, "line of the error");
	ok(strstr(err.message, "}") != NULL,
	   "message says what was expected: %s", err.message);
	ok(compile_fails("a\nb\n<#if x>", 12, FTL_PARSE), "unclosed #if");
	is_int(3, err.line, "points at the #if");
	is_int(1, err.column, "column of the #if");
	ok(strstr(err.message, "#if") != NULL, "names the directive: %s",
	   err.message);
	ok(compile_fails("</#if>", 6, FTL_PARSE), "end tag without start");
	ok(compile_fails("<#foo>", 6, FTL_PARSE), "unknown directive");
	ok(compile_fails("<#visit node>", 13, FTL_PARSE),
	   "directives left out fail clearly");
	ok(strstr(err.message, "not supported") != NULL, "%s", err.message);
	ok(compile_fails("<#macro m><#macro n></#macro></#macro>", 38,
	                 FTL_PARSE),
	   "a macro inside a macro");
	ok(strstr(err.message, "nested") != NULL, "%s", err.message);
	ok(compile_fails("<#local x=1>", 12, FTL_PARSE),
	   "#local outside a macro");
	ok(compile_fails("<#macro m>x</#macro><@m>y</@n>", 30, FTL_PARSE),
	   "a call closed with another name");
	ok(strstr(err.message, "</@m>") != NULL, "%s", err.message);
	ok(compile_fails("<#function f><#return></#function>", 34, FTL_PARSE),
	   "a function must return a value");
	ok(compile_fails("<#assign f = x -> x>", 20, FTL_PARSE),
	   "a lambda outside ?filter/?map");
	ok(compile_fails("${x?nosuch}", 11, FTL_PARSE), "unknown built-in");
	ok(compile_fails("${\"a\" < \"b\"}", 12, FTL_PARSE),
	   "< on string literals");
	ok(compile_fails("${1 >= 0}", 9, FTL_PARSE),
	   ">= outside parentheses, as FreeMarker");
	ok(compile_fails("${x?index}", 10, FTL_PARSE),
	   "?index needs a loop variable");
	ok(compile_fails("<#break>", 8, FTL_PARSE), "#break outside a loop");
	ok(compile_fails("${\"\\q\"}", 7, FTL_PARSE), "bad escape");
	ok(compile_fails("a\xff", 2, FTL_INPUT), "invalid UTF-8 template");
	ok(compile_fails("\xc3", 1, FTL_INPUT), "truncated UTF-8");

	/* limits: no stack overflow on deep input */
	s = repeat("(", 100000, "1", ")");
	{
		char *t = malloc(strlen(s) + 4);
		sprintf(t, "${%s}", s);
		ok(compile_fails(t, strlen(t), FTL_LIMIT),
		   "100000 parentheses");
		free(t);
	}
	free(s);
	s = repeat("<#if true>", 5000, "x", "</#if>");
	ok(compile_fails(s, strlen(s), FTL_LIMIT), "5000 nested #if");
	free(s);
	s = repeat("1+", 50000, "1", "");
	{
		char *t = malloc(strlen(s) + 4);
		sprintf(t, "${%s}", s);
		ok(compile_fails(t, strlen(t), FTL_LIMIT), "a 50000-term sum");
		free(t);
	}
	free(s);
	s = repeat("!", 1000, "true", "");
	{
		char *t = malloc(strlen(s) + 4);
		sprintf(t, "${%s}", s);
		ok(compile_fails(t, strlen(t), FTL_LIMIT), "1000 chained !");
		free(t);
	}
	free(s);
	{
		size_t big = (1u << 20) + 1;
		char *t = malloc(big);
		memset(t, 'a', big);
		ok(compile_fails(t, big, FTL_LIMIT), "template over 1 MiB");
		free(t);
	}

	/* compiling is linear: a 1 MiB template whose last byte is invalid
	 * UTF-8 used to be searched prefix by prefix (hours); the
	 * white-space pass walked back over every earlier tag from each line
	 * (tens of seconds). An alarm turns a regression into a failure. */
	alarm(60);
	{
		size_t big = 1u << 20;
		char *t = malloc(big);
		memset(t, 'a', big);
		t[big - 1] = (char)0xff;
		{
			int bad = compile_fails(t, big, FTL_INPUT);
			ok(bad && err.line == 1 && err.column == (int)big,
			   "invalid UTF-8 at the end of 1 MiB: found in one "
			   "pass (line %d, column %d)",
			   err.line, err.column);
		}
		free(t);
	}
	{
		static const char *const shapes[] = {
		        "<#---->\n",         /* lines of comments */
		        "<#if true> </#if>", /* blank bodies */
		        "<#assign a=1> \n",  /* lines of tags */
		        "<#list [1] as i>\n<#if true>\n y\n</#if>\n</#list>\n",
		};
		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]);
		     k++) {
			char *t = repeat(
			        shapes[k],
			        (int)(((1u << 20) - 64) / strlen(shapes[k])),
			        "", "");
			ftl_template *tp = ftl_compile(t, strlen(t), &err);
			ok(tp && tp->ws_visits <= 8 * tp->nitems + 8,
			   "white-space stripping of 1 MiB of shape %zu is "
			   "linear: %zu visits for %zu items",
			   k, tp ? tp->ws_visits : 0, tp ? tp->nitems : 0);
			ftl_template_unref(tp);
			free(t);
		}
	}
	alarm(0);

	/* white space and syntax */
	is_str("a\nb\nc", render("a\n<#if true>\nb\n</#if>\nc"),
	       "a line with only a tag disappears");
	is_str("a\n  x\nc", render("a\n<#if true>  \n  x\n</#if>  \nc"),
	       "trailing blanks on tag lines too");
	is_str("a b", render("a <#if true>b</#if>"), "inline tags keep blanks");
	is_str("yes", render("[#ftl][#if true]yes[/#if]"),
	       "[#ftl] switches to square brackets");
	is_str("[#if true]yes[/#if]", render("[#if true]yes[/#if]"),
	       "without [#ftl] square tags are text");
	is_str("1,234", render("<#-- comment -->${1234}"), "comments vanish");
	return done_testing();
}
