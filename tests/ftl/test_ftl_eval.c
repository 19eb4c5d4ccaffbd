/*
 * test_ftl_eval - plugin/ftl/eval.c: rendering through the public API:
 * strict errors with useful messages, limits (output, loop work, the work
 * budget), the caller's deadline, invalid UTF-8 in the data, settings, and
 * concurrent renders of one template against one shared model.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../plugin/ftl/ftl.h"
#include "../tap.h"

static ftl_error err;
static char out[8192];

static const char *run(const char *src, const char *json, const ftl_settings *s)
{
	ftl_template *t = ftl_compile(src, strlen(src), &err);
	json_object *m = json ? json_tokener_parse(json) : NULL;
	char *o = NULL;
	size_t n = 0;
	const char *r = out;
	if (!t) {
		json_object_put(m);
		return "(parse error)";
	}
	if (ftl_render(t, m, s, &o, &n, &err)) {
		r = "(error)";
		ok(o == NULL, "no output on error");
	} else {
		snprintf(out, sizeof(out), "%s", o);
		ok(strlen(o) == n, "length matches");
	}
	free(o);
	json_object_put(m);
	ftl_template_unref(t);
	return r;
}

static const char *ref_tpl =
        "Hi ${customer.name!\"there\"}, your order ${orderId} of "
        "${total?string('0.00')} EUR <#if express>ships today<#else>ships in "
        "${days} days</#if>.";
static const char *ref_data =
        "{\"customer\":{\"name\":\"Ann\"},\"orderId\":1234567,\"total\":1234.5,"
        "\"express\":false,\"days\":3}";
static const char *ref_out = "Hi Ann, your order 1,234,567 of 1234.50 EUR "
                             "ships in 3 days.";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Work that only the deadline can stop (the budget is lifted): linear
 * searches of a 32 KiB string, a million times. */
static const char *endless =
        "<#assign s = 'a'><#list 1..15 as i><#assign s = s + s></#list>"
        "<#list 1..999999 as i><#list 1..999999 as j>"
        "${s?keep_after_last('ab')}</#list></#list>";

static void deadlines(void)
{
	ftl_settings st = {.max_work = SIZE_MAX};
	alarm(60);
	st.deadline_ms = now_ms() - 1;
	is_str("(error)", run(endless, NULL, &st), "a deadline already past");
	is_int(FTL_DEADLINE, err.kind, "... ends the render: FTL_DEADLINE");
	ok(strstr(err.message, "deadline") != NULL, "... says so: %s",
	   err.message);
	is_str("deadline", ftl_kind_name(err.kind), "kind name \"deadline\"");
	st.deadline_ms = now_ms() + 100;
	is_str("(error)", run(endless, NULL, &st), "a deadline 100 ms away");
	is_int(FTL_DEADLINE, err.kind, "... FTL_DEADLINE");
	alarm(0);
	st.deadline_ms = now_ms() + 3600 * 1000;
	is_str("x", run("${'x'}", NULL, &st), "a far deadline: renders");
}

/* Defaults absorbing missing values in a loop, far into a big template:
 * the error's line and column (a scan of the template) and its message
 * are found only when the render fails with it, not for every miss. */
static void absorbed_misses(void)
{
	size_t pad = (1u << 20) - 200;
	char *t = malloc(pad + 200);
	ftl_settings st = {.max_work = SIZE_MAX};
	memcpy(t, "<#--", 4);
	memset(t + 4, '-', pad);
	strcpy(t + 4 + pad, "--><#list 1..300000 as i>${(x.y)!}${x!}"
	                    "<#if (x.y)?"
	                    "?>n</#if></#list>ok ${x.y}");
	alarm(60);
	is_str("(error)", run(t, "{}", &st),
	       "300,000 absorbed misses after 1 MiB of comment");
	ok(err.kind == FTL_RUNTIME && err.line == 1 && strstr(err.message, "x"),
	   "the one that fails still has its place and message: line %d, "
	   "column %d: %s",
	   err.line, err.column, err.message);
	alarm(0);
	free(t);
}

/* A missing value inside a path: the hint guards the whole path. */
static void path_hints(void)
{
	is_str("(error)", run("Hi ${customer.name}", "{}", NULL),
	       "missing hash in a path");
	ok(strstr(err.message, "${(customer.name)!'x'}") != NULL,
	   "suggests the parenthesised default: %s", err.message);
	ok(strstr(err.message, "customer!") == NULL, "not customer!");
	ok(strstr(err.message, "<#if (customer.name)?"
	                       "?>") != NULL,
	   "and the parenthesised test");
	is_int(6, err.column, "points at customer");
	is_str("(error)", run("${a.b.c?upper_case}", "{\"a\":{}}", NULL),
	       "missing in the middle of a longer path");
	ok(strstr(err.message, "\"a.b\"") &&
	           strstr(err.message, "${(a.b.c)!'x'}"),
	   "names the missing step and guards the whole path: %s", err.message);
	is_str("(error)", run("${items[0].sku}", "{}", NULL),
	       "missing sequence in a path");
	ok(strstr(err.message, "${(items[0].sku)!'x'}") != NULL, "%s",
	   err.message);
	is_str("(error)", run("${customer.name}", "{\"customer\":{}}", NULL),
	       "the last step missing");
	ok(strstr(err.message, "customer.name!") != NULL,
	   "a default on the last step is enough there: %s", err.message);
	is_str("guest", run("${(customer.name)!'guest'}", "{}", NULL),
	       "the suggested form works");
}

/* Macros and functions: recursion stops at FTL_MAX_CALL_DEPTH with a
 * limit error (not a stack overflow), fan-out at the work budget, and a
 * deadline stops calls as it stops loops. */
static void macro_limits(void)
{
	ftl_settings st = {.max_work = SIZE_MAX};
	const char *fan = "<#macro m n><#if n gt 0><@m n-1/><@m n-1/></#if>"
	                  "</#macro><@m 40/>";
	is_str("(error)",
	       run("<#macro m n><@m n+1/></#macro><@m 1/>", NULL, NULL),
	       "endless macro recursion");
	is_int(FTL_LIMIT, err.kind, "... is FTL_LIMIT");
	ok(strstr(err.message, "nested too deeply") != NULL, "... says so: %s",
	   err.message);
	is_str("(error)",
	       run("<#function f n><#return f(n+1)></#function>${f(1)}", NULL,
	           NULL),
	       "endless function recursion");
	is_int(FTL_LIMIT, err.kind, "... is FTL_LIMIT");
	is_str("(error)",
	       run("<#macro m><@m><#nested></@m></#macro><@m/>", NULL, NULL),
	       "endless recursion through nested content");
	is_int(FTL_LIMIT, err.kind, "... is FTL_LIMIT");
	is_str("50",
	       run("<#function f n><#if n == 0><#return 0></#if>"
	           "<#return 1 + f(n - 1)></#function>${f(50)}",
	           NULL, NULL),
	       "recursion 50 deep is fine");
	is_str("(error)", run(fan, NULL, NULL), "2^40 calls");
	is_int(FTL_LIMIT, err.kind, "... stop at the work budget");
	ok(strstr(err.message, "too much work") != NULL, "%s", err.message);
	alarm(60);
	st.deadline_ms = now_ms() - 1;
	is_str("(error)", run(fan, NULL, &st), "2^40 calls, no budget");
	is_int(FTL_DEADLINE, err.kind, "... stop at the deadline");
	alarm(0);
	is_str("(error)", run("<#include 'x.ftl'>", NULL, NULL), "#include");
	ok(err.kind == FTL_RUNTIME && strstr(err.message, "template loader"),
	   "... a clear error: %s", err.message);
	is_str("(error)",
	       run("${'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!'"
	           "?matches('^(\\\\w+\\\\s?)*$')?c}",
	           NULL, NULL),
	       "catastrophic backtracking in a regular expression");
	is_int(FTL_LIMIT, err.kind, "... stops at PCRE2's match limit");
	ok(strstr(err.message, "backtracking") != NULL, "%s", err.message);
	is_str("true", run("${'ab12'?matches('[a-z]+[0-9]+')?c}", NULL, NULL),
	       "an ordinary regular expression");
	is_str("1-2",
	       run("<#macro m a b=a+1>${a}-${b}</#macro><@m 1/>", NULL, NULL),
	       "a default computed from another parameter");
	is_str("x=1 y=1",
	       run("<#macro m><#local y=1>x=${x} y=${y}</#macro>"
	           "<#assign x=1><@m/>",
	           "{\"y\":2}", NULL),
	       "a local hides the model");
}

struct job {
	ftl_template *t;
	json_object *model;
	int bad;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	for (int i = 0; i < 500; i++) {
		char *o = NULL;
		ftl_error e;
		if (ftl_render(j->t, j->model, NULL, &o, NULL, &e) ||
		    strcmp(o, ref_out) != 0)
			j->bad++;
		free(o);
	}
	return NULL;
}

int main(void)
{
	ftl_settings de = {.locale = "de_DE"};
	ftl_settings small = {.max_output = 10};

	is_str(ref_out, run(ref_tpl, ref_data, NULL), "the reference template");
	is_str("(error)", run("Hi ${name}", "{}", NULL), "missing variable");
	is_int(FTL_RUNTIME, err.kind, "runtime error");
	is_int(1, err.line, "line");
	is_int(6, err.column, "column of the expression");
	ok(strstr(err.message, "name") && strstr(err.message, "!"),
	   "names the variable and the fix: %s", err.message);
	is_str("(error)", run("${a.b}", "{\"a\":null}", NULL),
	       "null is missing");
	ok(strstr(err.message, "\"a\"") != NULL, "%s", err.message);
	is_str("(error)", run("${flag}", "{\"flag\":true}", NULL),
	       "a boolean is not printed");
	ok(strstr(err.message, "?c") != NULL, "suggests ?c: %s", err.message);
	is_str("(error)", run("${seq}", "{\"seq\":[1]}", NULL),
	       "a sequence is not printed");
	is_str("guest 1,234,567",
	       run("${name!\"guest\"} ${n}", "{\"n\":1234567}", NULL),
	       "defaults and grouping");
	is_str("1234567", run("${n?c}", "{\"n\":1234567}", NULL), "?c");
	is_str("1.234.567,5", run("${n}", "{\"n\":1234567.5}", &de),
	       "de_DE from the settings");
	is_str("1,234.50",
	       run("<#setting number_format=\"#,##0.00\">${n}",
	           "{\"n\":1234.5}", NULL),
	       "number_format setting");
	is_str("a\xc3\xa9", run("${s}", "{\"s\":\"a\\u00e9\"}", NULL),
	       "JSON escapes arrive as UTF-8");

	/* limits */
	is_str("(error)", run("0123456789x", NULL, &small), "output limit");
	is_int(FTL_LIMIT, err.kind, "output limit is FTL_LIMIT");
	is_str("(error)", run("<#list 1..1000000000 as i></#list>", NULL, NULL),
	       "a billion iterations");
	is_int(FTL_LIMIT, err.kind, "loop work is FTL_LIMIT");
	is_str("(error)", run("<#list 1.. as i>${i}</#list>", NULL, NULL),
	       "endless range");
	is_int(FTL_LIMIT, err.kind, "FTL_LIMIT");
	is_str("(error)",
	       run("<#assign s = \"xxxxxxxxxxxxxxxx\"><#list 1..30 as i>"
	           "<#assign s = s + s></#list>${s?length}",
	           NULL, NULL),
	       "string doubling");
	is_int(FTL_LIMIT, err.kind, "bounded by the limits");

	deadlines();
	macro_limits();
	absorbed_misses();
	path_hints();

	/* invalid UTF-8 in the data (a model built in C can hold it) */
	{
		ftl_template *t = ftl_compile("${s}", 4, &err);
		json_object *m = json_object_new_object();
		char *o = NULL;
		json_object_object_add(m, "s",
		                       json_object_new_string_len("a\xff", 2));
		ok(ftl_render(t, m, NULL, &o, NULL, &err) == -1 &&
		           err.kind == FTL_INPUT,
		   "invalid UTF-8 in a value is FTL_INPUT");
		json_object_put(m);
		ftl_template_unref(t);
	}
	/* bad settings */
	{
		ftl_settings bad = {.locale = "xx_YY"};
		is_str("(error)", run("x", NULL, &bad), "unsupported locale");
		is_int(FTL_INPUT, err.kind, "FTL_INPUT");
	}
	/* concurrency: one template, one model, four threads */
	{
		struct job j[4];
		pthread_t th[4];
		ftl_template *t = ftl_compile(ref_tpl, strlen(ref_tpl), &err);
		json_object *m = json_tokener_parse(ref_data);
		int bad = 0;
		for (int i = 0; i < 4; i++) {
			j[i].t = t;
			j[i].model = m;
			j[i].bad = 0;
			pthread_create(&th[i], NULL, worker, &j[i]);
		}
		for (int i = 0; i < 4; i++) {
			pthread_join(th[i], NULL);
			bad += j[i].bad;
		}
		is_int(0, bad, "2000 concurrent renders all correct");
		json_object_put(m);
		ftl_template_unref(t);
	}
	return done_testing();
}
