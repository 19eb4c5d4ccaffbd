/*
 * test_ftl_directives - the directives of issue #10's ftl-directives part,
 * through the public API: #noparse, #compress, #t/#lt/#rt/#nt, and
 * #attempt/#recover with .error; above all that #attempt never recovers
 * from a limit, the deadline or the output limit (a template must not be
 * able to catch the error that stops it), and that #compress and #attempt
 * keep to the output limit. The exact FreeMarker outputs are golden cases
 * (tests/ftl/golden.src.txt, section "ftl-directives"); these check the
 * engine's own guarantees and a few outputs against hand-written values.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../plugin/ftl/ftl.h"
#include "../plugin/ftl/ftl_int.h"
#include "../tap.h"

static ftl_error err;
static char out[8192];

/* Render SRC with JSON and settings S: the output, "(parse error)" or
 * "(error)" (ERR holds the error). */
static const char *run_e(const char *src, const char *json,
                         const ftl_settings *s, ftl_error *e)
{
	ftl_template *t = ftl_compile(src, strlen(src), e);
	json_object *m = json ? json_tokener_parse(json) : NULL;
	char *o = NULL;
	size_t n = 0;
	const char *r = out;
	if (!t) {
		json_object_put(m);
		return "(parse error)";
	}
	if (ftl_render(t, m, s, &o, &n, e)) {
		r = "(error)";
	} else {
		snprintf(out, sizeof(out), "%s", o);
		if (strlen(o) != n)
			r = "(length mismatch)";
	}
	free(o);
	json_object_put(m);
	ftl_template_unref(t);
	return r;
}

static const char *run(const char *src, const char *json)
{
	return run_e(src, json, NULL, &err);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void noparse(void)
{
	is_str("a${x}<#if>b", run("a<#noparse>${x}<#if></#noparse>b", NULL),
	       "#noparse: the body is text");
	is_str("a${x}b", run("a<#noParse >${x}</#noParse >b", NULL),
	       "noParse spelling, blanks before >");
	is_str("x[#if]y", run("[#ftl]x[#noparse][#if][/#noparse]y", NULL),
	       "[#noparse] in square-bracket syntax");
	is_str("x\n${x}\ny", run("x\n<#noparse>\n${x}\n</#noparse>\ny", NULL),
	       "white-space stripping sees the text at the tags' lines");
	is_str("(parse error)", run("a<#noparse>x</#noparse", NULL),
	       "unclosed #noparse");
	is_int(FTL_PARSE, err.kind, "a parse error");
	ok(strstr(err.message, "noparse") != NULL, "names it: %s", err.message);
	is_str("(parse error)", run("a<#noparse x>y</#noparse>", NULL),
	       "#noparse takes no parameters");
}

static void compress(void)
{
	ftl_settings small = {.max_output = 16};
	is_str("a b\nc\r\nd\rx y",
	       run("<#compress>  a   b \n\n  c \r\n d \r x\t\ty  </#compress>",
	           NULL),
	       "#compress: runs become their first line break or a space");
	is_str("[Hello X Y\nworld]",
	       run("[<#compress>\n  Hello  ${x}  \n  world\n\n</#compress>]",
	           "{\"x\":\" X  Y \"}"),
	       "it compresses what ${...} prints too");
	is_str("[a b c d]",
	       run("[<#compress> a <#compress> b  c </#compress> d "
	           "</#compress>]",
	           NULL),
	       "nested");
	is_str("[a b c\xc2\xa0"
	       "d x]",
	       run("[<#compress> a\xe2\x80\xa8 b\xe3\x80\x80"
	           "c\xc2\xa0"
	           "d\x0bx </#compress>]",
	           NULL),
	       "Java's white space (U+2028, U+3000, VT), not U+00A0");
	is_str("[1 z2]",
	       run("[<#list 1..3 as i><#compress> ${i}  <#if i==2><#break>"
	           "</#if> z </#compress></#list>]",
	           NULL),
	       "#break inside still compresses what was printed");
	/* 20 spaces compress to nothing, but they were printed first: the
	 * output limit holds for the text before compression */
	is_str("(error)",
	       run_e("<#compress>a                    b</#compress>", NULL,
	             &small, &err),
	       "#compress buffers within the output limit");
	is_int(FTL_LIMIT, err.kind, "a limit error");
	is_str("a b",
	       run_e("<#compress>a    b</#compress>", NULL, &small, &err),
	       "within the limit");
}

static void trims(void)
{
	is_str("1\n  a2\n", run("1\n  <#t>  a  \n2\n", NULL), "#t");
	is_str("1\n  a  \n2\n", run("1\n  <#lt>  a  \n2\n", NULL),
	       "#lt before the text");
	is_str("1\na  \n2\n", run("1\n  a  <#lt>\n2\n", NULL), "#lt after");
	is_str("1\n  a  2\n", run("1\n  a  <#rt>\n2\n", NULL), "#rt");
	is_str("1\n    \n2\n", run("1\n  <#nt>  <#if true>\n2\n</#if>\n", NULL),
	       "#nt keeps the line");
	is_str("1\n  2\n", run("1\n  <#if true>  \n2\n</#if>\n", NULL),
	       "(without it, stripped)");
	is_str("12", run("<#list 1..2 as i>\n  <#t>${i}\n</#list>\n", NULL),
	       "#t in a loop");
	is_str("a  bc", run("a <#t/> b\nc", NULL), "<#t/>");
	is_str("  a\n  b\n  \n",
	       run("<#ftl strip_whitespace=false>\n  <#t>  a  \n  <#if true>\n"
	           "  b\n  </#if>\n",
	           NULL),
	       "trims work with strip_whitespace=false");
	is_str("(parse error)", run("a <#t x> b", NULL), "#t takes nothing");
}

static void attempt(void)
{
	ftl_settings st = {0};
	const char *loop = "<#list 1..100000000 as i></#list>";
	char tpl[512];
	is_str("ard", run("a<#attempt>b${x}c<#recover>r</#attempt>d", NULL),
	       "#attempt: the output of the failed block goes");
	is_str("ard", run("a<#attempt>b${x}c<#recover>r</#recover>d", NULL),
	       "closed with </#recover>");
	is_str("abcd", run("a<#attempt>b${x!}c<#recover>r</#attempt>d", NULL),
	       "no error: no #recover");
	is_str("10, inf, 5",
	       run("<#list [1,0,2] as n><#attempt>${10/n}<#recover>inf"
	           "</#attempt><#sep>, </#list>",
	           NULL),
	       "in a loop");
	is_str("1",
	       run("<#list 1..3 as i><#attempt>${i}<#if i==2><#break>"
	           "</#if><#recover>r</#attempt></#list>",
	           NULL),
	       "#break drops the block's output, as FreeMarker");
	is_str("1",
	       run("<#function f><#attempt><#return 1><#recover><#return 2>"
	           "</#attempt></#function>${f()}",
	           NULL),
	       "#return passes through");
	is_str("airb",
	       run("<#attempt>a<#attempt>${x}<#recover>ir</#attempt>b<#recover>"
	           "or</#attempt>",
	           NULL),
	       "nested");
	is_str("or",
	       run("<#attempt>a<#attempt>${x}<#recover>${y}</#attempt>b"
	           "<#recover>or</#attempt>",
	           NULL),
	       "an error in #recover goes to the next #attempt out");
	is_str("(parse error)", run("a<#attempt>b</#attempt>", NULL),
	       "#recover is required");
	is_str("(parse error)", run("a<#recover>b</#recover>", NULL),
	       "#recover outside #attempt");

	/* .error */
	run("<#attempt>${customer.name}<#recover>${.error}</#attempt>", "{}");
	ok(strstr(out, "customer") && strstr(out, "line 1, column 13"),
	   ".error names what failed and where: %s", out);
	ok(run_e("<#attempt>${x}<#recover>${.error}</#attempt>", NULL, NULL,
	         NULL) == out &&
	           strstr(out, "\"x\" is missing"),
	   ".error without an error structure from the caller: %s", out);
	is_str("intrue",
	       run("<#attempt>${x}<#recover><#attempt>${y}<#recover>in"
	           "</#attempt>${.error?contains('\"x\"')?c}</#attempt>",
	           NULL),
	       "the outer .error is back after an inner #recover");
	is_str("(error)",
	       run("<#attempt>${x}<#recover></#attempt>${.error}", NULL),
	       ".error outside #recover");
	is_int(FTL_RUNTIME, err.kind, "a runtime error");
	ok(strstr(err.message, "#recover") != NULL, "%s", err.message);
	is_str("(error)", run("<#attempt>${x}<#recover>${y}</#attempt>", NULL),
	       "an error in #recover fails the render");
	ok(err.line == 1 && err.column == 27, "at its place (%d:%d)", err.line,
	   err.column);

	/* never recovered: the limits */
	st.max_work = 100000;
	snprintf(tpl, sizeof(tpl), "<#attempt>%s<#recover>r</#attempt>", loop);
	is_str("(error)", run_e(tpl, NULL, &st, &err),
	       "the work budget is not recoverable");
	is_int(FTL_LIMIT, err.kind, "a limit error");
	is_str("(error)",
	       run_e("<#list 1..100000000 as i><#attempt>${x}<#recover>"
	             "</#attempt></#list>",
	             NULL, &st, &err),
	       "catching errors in a loop still ends at the budget");
	is_int(FTL_LIMIT, err.kind, "a limit error");
	st.max_work = SIZE_MAX;
	is_str("(error)",
	       run_e("<#list 1..100000000 as i><#attempt>${x}<#recover>"
	             "</#attempt></#list>",
	             NULL, &st, &err),
	       "and at the loop-step limit without a budget");
	is_int(FTL_LIMIT, err.kind, "a limit error");
	st.deadline_ms = now_ms() - 1;
	is_str("(error)",
	       run_e("<#list 1..100000000 as i><#attempt><#recover></#attempt>"
	             "</#list>",
	             NULL, &st, &err),
	       "the deadline is not recoverable");
	is_int(FTL_DEADLINE, err.kind, "a deadline error");
	st.deadline_ms = 0;
	st.max_output = 8;
	is_str("(error)",
	       run_e("<#attempt>0123456789<#recover>r</#attempt>", NULL, &st,
	             &err),
	       "the output limit is not recoverable");
	is_int(FTL_LIMIT, err.kind, "a limit error");
	is_str("r",
	       run_e("<#attempt>0123456${x}<#recover>r</#attempt>", NULL, &st,
	             &err),
	       "the dropped output leaves room");
	st.max_output = 0;
	is_str("(error)",
	       run_e("<#macro m><@m/></#macro><#attempt><@m/><#recover>r"
	             "</#attempt>",
	             NULL, &st, &err),
	       "endless recursion is not recoverable");
	is_int(FTL_LIMIT, err.kind, "a limit error");
}

/* SHAPE repeated to about 1 MiB, between HEAD and TAIL (malloc'd). */
static char *repeat(const char *head, const char *shape, const char *tail)
{
	size_t n = strlen(shape), times = ((1u << 20) - 64) / n, o = 0;
	char *t = malloc(times * n + strlen(head) + strlen(tail) + 1);
	o += (size_t)sprintf(t, "%s", head);
	for (size_t i = 0; i < times; i++, o += n)
		memcpy(t + o, shape, n);
	strcpy(t + o, tail);
	return t;
}

/* Compiling stays linear with trims: each text visits only the trims of
 * its line (found through skip lists), and a line holds at most 64. */
static void linear(void)
{
	static const char *const shapes[][3] = {
	        {"<#t>", "a${x}",
	         "<#rt>\n"}, /* one long line, trims at the ends */
	        {"", "  <#t>a ${x} <#rt>\n", ""},
	        {"", "  <#lt>a\n <#rt> b \n", ""},
	        {"<#rt><#rt><#rt>", "a \n", ""}, /* a #rt per line break */
	        {"",
	         "<#compress> a <#attempt>${x}<#recover> b </#attempt>"
	         "</#compress><#noparse>${y}</#noparse>\n",
	         ""},
	};
	for (size_t k = 0; k < sizeof(shapes) / sizeof(shapes[0]); k++) {
		char *t = repeat(shapes[k][0], shapes[k][1], shapes[k][2]);
		ftl_template *tp = ftl_compile(t, strlen(t), &err);
		ok(tp && tp->ws_visits <= 8 * tp->nitems + 8,
		   "compiling 1 MiB of shape %zu is linear: %zu visits for %zu "
		   "items",
		   k, tp ? tp->ws_visits : 0, tp ? tp->nitems : 0);
		ftl_template_unref(tp);
		free(t);
	}
	{
		char *t = repeat("", "a<#rt>", "\n");
		ok(!ftl_compile(t, strlen(t), &err) && err.kind == FTL_LIMIT,
		   "more than 64 trims on one line: a limit error (%s)",
		   err.message);
		free(t);
	}
}

int main(void)
{
	noparse();
	compress();
	trims();
	attempt();
	linear();
	return done_testing();
}
