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

	/* ftl-nonstrict: <#ftl strict_syntax=false>, the legacy syntax,
	 * as FreeMarker 2.3.31 lexes it (expected outputs from the oracle) */
#define NS "<#ftl strict_syntax=false>"
	is_str("y|1, 2, 3",
	       render(NS "<if 1 == 1>y<else>n</if>|<list 1..3 "
	                 "as i>${i}<sep>, </list>"),
	       "non-strict: <if>, <else>, <list>, <sep> are directives");
	is_str("<if 1 == 1>y</if>", render("<if 1 == 1>y</if>"),
	       "strict (the default): <if x> is text");
	is_str("<p><if>x</p>", render(NS "<p><if>x</p>"),
	       "non-strict: <p> and <if> without a blank after it are text");
	is_str("<elseIf 1><noParse>1</noParse>",
	       render(NS "<elseIf 1><noParse>${1}</noParse>"),
	       "non-strict: camel-case names without # are text");
	is_str("12ab",
	       render(NS "<assign x=1><#assign y=2>${x}${y}<#if x==1>a"
	                 "</if><if y==2>b</#if>"),
	       "non-strict: with and without # mix");
	is_str("[1n][2]5",
	       render(NS "<macro m a>[${a}<nested>]</macro><@m "
	                 "a=1>n</@m><call m 2><function f><return"
	                 " 5></function>${f()}"),
	       "non-strict: <macro>, <nested>, <call>, <function>, <return>");
	is_str("1bc",
	       render(NS "<list [1,2] as x><#if x==2><break></#if>${x}"
	                 "</list><switch 2><case 1>a<case 2>b<default>"
	                 "c</switch>"),
	       "non-strict: <break>, <switch>, <case>, <default>");
	is_str("  x\ny\n",
	       render(NS "\n<if true>\n  x\n</if>\n<comment>\n"
	                 "c\n</comment>\ny\n"),
	       "non-strict: tag-only lines vanish as with #");
	is_str("<p>", render(NS "<p><t>"), "non-strict: <t> is #t");
	is_str("[if 1==1]x[/if]y<if 1==1>z</if>",
	       render("[#ftl strict_syntax=false][if 1==1]x[/if][#if 1==1]y"
	              "[/#if]<if 1==1>z</if>"),
	       "non-strict square syntax: the # is still needed");
	ok(compile_fails(NS "<if>x</if>", strlen(NS "<if>x</if>"), FTL_PARSE),
	   "non-strict: </if> with nothing open fails");
	ok(compile_fails(NS "<#foo>", strlen(NS "<#foo>"), FTL_PARSE),
	   "non-strict: an unknown <#name> still fails");
	ok(compile_fails(NS "<visit x>", strlen(NS "<visit x>"), FTL_PARSE),
	   "non-strict: a left-out directive fails as with #");
	ok(strstr(err.message, "not supported") != NULL, "%s", err.message);
	ok(!compile_fails("<#ftl strict_syntax=true>x", 25, FTL_PARSE),
	   "strict_syntax=true is accepted");

	/* FreeMarker's <sep> token has no syntax check: a #sep anywhere */
	is_str("1, 2, 3", render("<#list 1..3 as i>${i}<sep>, </#list>"),
	       "<sep> is #sep even in strict syntax");
	is_str("1, 2, 3", render("<#list 1..3 as i>${i}[#sep], </#list>"),
	       "[#sep] is #sep in the angle syntax");
	is_str("1, 2, 3", render("[#ftl][#list 1..3 as i]${i}<sep>, [/#list]"),
	       "<sep> is #sep in the square syntax");
	is_str("<sepx>|</sep>", render("<sepx>|</sep>"),
	       "other <sep...> and </sep> are text in strict syntax");

	/* the legacy #comment: the body is skipped unparsed */
	is_str("b", render("<#comment>a ${x} <#if></#comment>b"),
	       "<#comment> skips its body unparsed");
	is_str("||",
	       render(NS "<#comment>a</comment>|<comment>b</#comment>|"
	                 "<comment >c</comment >"),
	       "non-strict: <comment> and either end tag");
	is_str("x", render(NS "<comment> </comment </comment>x"),
	       "</comment without > does not end it");
	is_str("<comment>a</comment>", render("<comment>a</comment>"),
	       "strict: <comment> is text");
	ok(compile_fails("<#comment>a", 11, FTL_PARSE), "unclosed #comment");

	/* comments inside expressions (FreeMarker's EXPRESSION_COMMENT) */
	is_str("6", render("${1 + 2 + [#-- c --] <#-- c --> <!-- c --> 3}"),
	       "<#-- -->, [#-- --] and <!-- --> inside ${...}");
	is_str("7", render("${<!-- > -> -- #> #] --> 7}"),
	       "the comment ends at the first --> or --]");
	is_str("8", render("${<#-- glitch... --] 8}"), "either closer");
	is_str("ok|2",
	       render("<#if 1 <#-- > --> == 1>ok</#if>|<#assign x = "
	              "1 <!-- c --> + 1>${x}"),
	       "inside tags: a > in the comment does not end the tag");
	ok(compile_fails("${1 + <!-- c", 12, FTL_PARSE),
	   "unclosed comment in an expression");
	ok(strstr(err.message, "comment") != NULL, "%s", err.message);

	/* the legacy tags are recognized in one pass: 1 MiB of almost-tags
	 * (a name, then blanks, then no ">") compiles well within the alarm */
	alarm(60);
	{
		static const char *const shapes[] = {
		        "<else       x", "<items    a",          "</if      <",
		        "<sep     ",     "${1 <!-- -- -> ]-->}",
		};
		for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]);
		     k++) {
			char *t = repeat(
			        shapes[k],
			        (int)(((1u << 20) - 64) / strlen(shapes[k])),
			        "", "");
			char *h = malloc(strlen(t) + sizeof(NS));
			ftl_template *tp;
			sprintf(h, "%s%s", NS, t);
			tp = ftl_compile(h, strlen(h), &err);
			ok(tp != NULL, "1 MiB of almost-tags, shape %zu: %s", k,
			   tp ? "compiled" : err.message);
			ftl_template_unref(tp);
			free(h);
			free(t);
		}
	}
	alarm(0);
#undef NS
	return done_testing();
}
