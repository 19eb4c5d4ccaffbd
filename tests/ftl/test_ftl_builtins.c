/*
 * test_ftl_builtins - plugin/ftl/builtins.c: the built-ins, with the UTF-16
 * positions Java uses (most behaviour is also in the golden cases), the
 * linear searches checked against a naive reference, and the work budget
 * stopping expensive built-ins in loops.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../plugin/ftl/ftl.h"
#include "../tap.h"

static char out[8192];
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

/* The last occurrence of N in H, naively (the reference). */
static long naive_last(const char *h, const char *n, long lim)
{
	long hn = (long)strlen(h), nn = (long)strlen(n);
	if (lim > hn)
		lim = hn;
	for (long i = lim - nn; i >= 0; i--)
		if (memcmp(h + i, n, (size_t)nn) == 0)
			return i;
	return -1;
}

/* ?last_index_of, ?keep_after_last and ?keep_before_last on random strings
 * over a two-letter alphabet (many overlapping matches), against the
 * naive search. */
static void random_last(void)
{
	unsigned seed = 2026;
	int bad = 0;
	for (int k = 0; k < 1500 && bad < 3; k++) {
		char h[48], n[8], json[160], want[200];
		int hn = (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
		int nn = 1 +
		         (int)((seed = seed * 1103515245u + 12345u) >> 16) % 6;
		int from =
		        (int)((seed = seed * 1103515245u + 12345u) >> 16) % 44;
		long last, lim;
		for (int i = 0; i < hn; i++)
			h[i] = (seed = seed * 1103515245u + 12345u) >> 20 & 1
			               ? 'a'
			               : 'b';
		h[hn] = 0;
		for (int i = 0; i < nn; i++)
			n[i] = (seed = seed * 1103515245u + 12345u) >> 20 & 1
			               ? 'a'
			               : 'b';
		n[nn] = 0;
		last = naive_last(h, n, hn);
		/* Java: lastIndexOf(s, from) starts at from */
		lim = (long)from + nn;
		snprintf(json, sizeof(json), "{\"h\":\"%s\",\"n\":\"%s\"}", h,
		         n);
		snprintf(want, sizeof(want), "%ld|%ld|%s|%.*s", last,
		         naive_last(h, n, lim), last < 0 ? "" : h + last + nn,
		         (int)(last < 0 ? hn : last), h);
		{
			char tpl[] =
			        "${h?last_index_of(n)}|${h?last_index_of(n, "
			        "F)}|${h?keep_after_last(n)}|${h?keep_"
			        "before_last(n)}";
			char t2[sizeof(tpl) + 8];
			char *f = strstr(tpl, "F)");
			snprintf(t2, sizeof(t2), "%.*s%d%s", (int)(f - tpl),
			         tpl, from, f + 1);
			if (strcmp(r(t2, json), want) != 0) {
				bad++;
				diag("h=%s n=%s from=%d: got %s, want %s", h, n,
				     from, out, want);
			}
		}
	}
	is_int(0, bad,
	       "1500 random ?last_index_of/?keep_*_last agree with a "
	       "naive search");
}

static const char *r_settings(const char *src, const char *json,
                              const ftl_settings *st)
{
	ftl_template *t = ftl_compile(src, strlen(src), &err);
	json_object *m = json ? json_tokener_parse(json) : NULL;
	char *o = NULL;
	const char *res = out;
	if (!t)
		res = "(parse error)";
	else if (ftl_render(t, m, st, &o, NULL, &err))
		res = "(error)";
	else
		snprintf(out, sizeof(out), "%s", o);
	free(o);
	json_object_put(m);
	ftl_template_unref(t);
	return res;
}

/* A string of 32,768 bytes built by doubling, then an expensive built-in on
 * it in a loop: linear searches and the work budget end it at once (the
 * old naive search took minutes; the alarm fails the test instead). */
#define BIG "<#assign s = 'a'><#list 1..15 as i><#assign s = s + s></#list>"
static void expensive_in_loops(void)
{
	static const char *const loops[] = {
	        /* the issue's case: a 16 KiB needle, O(n*m) searched */
	        BIG "<#assign k = s[0..<16384] + 'b'><#list 1..1000 as i>"
	            "${s?last_index_of(k)}</#list>",
	        BIG "<#assign k = s[0..<16384] + 'b'><#list 1..1000 as i>"
	            "${s?keep_after_last(k)}</#list>",
	        BIG "<#assign k = s[0..<16384] + 'b'><#list 1..1000 as i>"
	            "${s?keep_before_last(k)?length}</#list>",
	        /* linear, but a million times */
	        BIG "<#list 1..999999 as i>${s?keep_after_last('ab')}</#list>",
	        BIG "<#list 1..999999 as i>${s?index_of('b')}</#list>",
	        BIG "<#list 1..999999 as i>${s?contains('ab')?c}</#list>",
	        BIG "<#list 1..999999 as i>${s?replace('b', 'c')?length}"
	            "</#list>",
	        BIG "<#list 1..999999 as i>${s?upper_case?length}</#list>",
	        BIG "<#list 1..999999 as i>${(s + i)?length}</#list>",
	        BIG "<#list 1..999999 as i><#if s == s + ''>x</#if></#list>",
	        BIG "<#list 1..999999 as i>${s?html?length}</#list>",
	        BIG "<#list 1..999999 as i>${''?left_pad(60000, s)?length}"
	            "</#list>",
	        BIG "<#list 1..999999 as i>${(s + i)?truncate(60000)?length}"
	            "</#list>",
	        BIG "<#list 1..999999 as i>${[s, s + i]?sort?size}</#list>",
	        BIG "<#list 1..999999 as i>${[s]?seq_contains(s + i)?c}"
	            "</#list>",
	};
	for (size_t k = 0; k < sizeof(loops) / sizeof(loops[0]); k++) {
		alarm(60);
		is_str("(error)", r(loops[k], NULL), "expensive loop %zu stops",
		       k);
		ok(err.kind == FTL_LIMIT &&
		           (strstr(err.message, "too much work") ||
		            strstr(err.message, "memory")),
		   "... with the work budget (FTL_LIMIT): %s", err.message);
		alarm(0);
	}
	/* the budget is a setting: a small one stops a small loop that the
	 * default lets through */
	{
		ftl_settings st = {.max_work = 1000};
		const char *t = "<#list 1..1000 as i>${i}</#list>";
		is_str("(error)", r_settings(t, NULL, &st),
		       "max_work 1000 stops 1000 iterations");
		is_int(FTL_LIMIT, err.kind, "FTL_LIMIT");
		ok(strstr(err.message, "1000") != NULL, "names the budget: %s",
		   err.message);
		ok(strcmp(r(t, NULL), "(error)") != 0,
		   "the default budget does not");
	}
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
	is_str("(error)", r("${x?eval}", "{\"x\":\"2024-01-01\"}"),
	       "unsupported built-ins: a clear error");
	ok(strstr(err.message, "?eval") && strstr(err.message, "not supported"),
	   "names the built-in: %s", err.message);

	/* results of the rewritten (linear) built-ins are unchanged */
	is_str("2||abab|3|1|1|4",
	       r("${'aaaa'?last_index_of('aa')}|"
	         "${'abcabcab'?keep_after_last('abcab')}|"
	         "${'abababa'?keep_before_last('aba')}|"
	         "${'xyz'?last_index_of('')}|${'xyz'?last_index_of('', 1)}|"
	         "${'abcabc'?last_index_of('bc', 3)}|"
	         "${'abcabc'?last_index_of('bc', 4)}",
	         NULL),
	       "?last_index_of and ?keep_*_last: overlaps, empty, from");
	random_last();
	is_str("xyzxyab|abzxyzx",
	       r("${'ab'?left_pad(7, 'xyz')}|${'ab'?right_pad(7, 'xyz')}",
	         NULL),
	       "pad fillers aligned to the absolute position");
	is_str("xx\xf0\x9f\x98\x80yx\xf0\x9f\x98\x80yyab|"
	       "abx\xf0\x9f\x98\x80yyxx\xf0\x9f\x98\x80yx\xf0\x9f\x98"
	       "\x80y",
	       r("${'ab'?left_pad(6, 'x\xf0\x9f\x98\x80y')}|"
	         "${'ab'?right_pad(7, 'x\xf0\x9f\x98\x80y')}",
	         NULL),
	       "a filler with a surrogate pair");
	is_str("\xc3\xa9\xc3\xbc\xc3\xa9\xc3\xa9|\xc3\xa9"
	       "a\xc3\xbc\xe2\x82"
	       "\xac\xc3\xbc",
	       r("${'\xc3\xa9'?left_pad(4, '\xc3\xa9\xc3\xbc')}|"
	         "${'\xc3\xa9"
	         "a'?right_pad(5, '\xc3\xbc\xe2\x82\xac')}",
	         NULL),
	       "non-ASCII fillers");
	/* long strings: lengths and positions remembered or computed in one
	 * pass give the same answers */
	is_str("\xc3\xa9\xf0\x9f\x98\x80"
	       "c \xc3\xa9\xf0\x9f\x98\x80"
	       "c "
	       "\xc3\xa9\xf0\x9f\x98\x80"
	       "c [...]|1,280| |\xc3\xa9\xf0\x9f"
	       "\x98\x80"
	       "c|\xc3\xa9\xf0\x9f\x98\x80"
	       "c |1,003|996|1",
	       r("<#assign s='\xc3\xa9\xf0\x9f\x98\x80"
	         "c '><#list 1..8 as i>"
	         "<#assign s = s + s></#list>${s?truncate(20)}|${s?length}|"
	         "${s[1279]}|${s[5..<9]}|${s?substring(1000, 1005)}|"
	         "${s?index_of('c', 1000)}|"
	         "${s?last_index_of('\xf0\x9f\x98\x80', 1000)}|"
	         "${s?keep_after_last('\xf0\x9f\x98\x80"
	         "c')?length}",
	         NULL),
	       "a long non-ASCII string");
	is_str("4,096| |abc a|abc ",
	       r("<#assign s='abc '><#list 1..10 as i><#assign s = s + s>"
	         "</#list>${s?length}|${s[4095]}|${s[100..<105]}|"
	         "${s?substring(4000, 4004)}",
	         NULL),
	       "a long ASCII string");
	/* hashes of many keys: duplicates merged in O(n), order kept */
	is_str("a,b,c,d,e,f,g,h,i,j,k|11,2,3,4,5,6,7,8,9,10,12|"
	       "a,b,c,d,e,f,g,h,i,j,k,z|11,20,30,4,5,6,7,8,9,10,12,26|12",
	       r("<#assign h = {'a':1,'b':2,'c':3,'d':4,'e':5,'f':6,'g':7,"
	         "'h':8,'i':9,'j':10,'a':11,'k':12}>${h?keys?join(',')}|"
	         "${h?values?join(',')}|"
	         "${(h + {'b':20, 'z':26, 'c':30})?keys?join(',')}|"
	         "${(h + {'b':20, 'z':26, 'c':30})?values?join(',')}|${h.k}",
	         NULL),
	       "hash literals and + with many keys");

	/* regular-expression flags and ?matches as a sequence */
	is_str("a|bxc|aXb|c|c|a1b2",
	       r("${'aXbxc'?keep_before('x','i')}|${'aXbxc'?keep_after('x',"
	         "'i')}|${'aXbxc'?keep_before_last('x','i')}|"
	         "${'aXbxc'?keep_after_last('X','i')}|"
	         "${'a1b22c'?keep_after_last('[0-9]+','r')}|"
	         "${'a1b22c'?keep_before_last('[0-9]+','r')}",
	         NULL),
	       "?keep_* with i and r (_last: overlapping matches count)");
	is_str("(error)", r("${'abc'?keep_before('b','m')}", NULL),
	       "m without r is an error, as in FreeMarker");
	ok(strstr(err.message, "\"m\"") && strstr(err.message, "\"r\""),
	   "names the flag: %s", err.message);
	is_str("(error)", r("${'aaa'?keep_after_last('a*','r')}", NULL),
	       "an empty match at the end fails in ?keep_*_last (as there)");
	is_str("foo|barFoo|foo",
	       r("${'foo'?ensure_starts_with('.o','bar')}|"
	         "${'Foo'?ensure_starts_with('f','bar','r')}|"
	         "${'foo'?ensure_starts_with('F','bar','i')}",
	         NULL),
	       "?ensure_starts_with(re, prefix[, flags])");
	is_str("k1->v1;k2->v2;|n|y|2 22|3",
	       r("<#list 'k1=v1, k2=v2'?matches(r'(\\w+)=(\\w+)') as m>"
	         "${m?groups[1]}->${m?groups[2]};</#list>|"
	         "<#if 'a1'?matches('[0-9]+')>y<#else>n</#if>|"
	         "<#if '1'?matches('[0-9]+')>y<#else>n</#if>|"
	         "${'a1b22'?matches('[0-9]+')?size} "
	         "${'a1b22'?matches('[0-9]+')[1]}|"
	         "${'k1=v1'?matches(r'(\\w+)=(\\w+)')?groups?size}",
	         NULL),
	       "?matches: the matches with ?groups, and the boolean");
	is_str("(error)", r("${'x'?groups}", NULL),
	       "?groups of a plain string is an error");
	{
		/* a catastrophic pattern stops at PCRE2's match limit, in
		 * the new forms too */
		static const char *const bad[] = {
		        "${s?keep_after('^(a+)+$','r')}",
		        "${s?keep_before_last('(a+)+$','r')}",
		        "${s?ensure_starts_with('(a+)+$','x')}",
		        "<#list s?matches('(a+)+$') as m>${m}</#list>",
		};
		const char *json = "{\"s\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		                   "aaaaaaaaaaaaaaac\"}";
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			is_str("(error)", r(bad[i], json), "%s", bad[i]);
			ok(err.kind == FTL_LIMIT, "a limit error: %s",
			   err.message);
		}
	}
	{
		/* ?keep_after_last searches again after every match start:
		 * dense overlapping matches on a long text are charged to
		 * the work budget, not run for minutes */
		ftl_settings st = {0};
		st.max_work = 200000;
		is_str("(error)",
		       r_settings(BIG "${s?keep_after_last('a+','r')?length}",
		                  NULL, &st),
		       "quadratic re-search ends at the work budget");
		ok(err.kind == FTL_LIMIT, "%s", err.message);
		st.max_work = 0;
		is_str("0",
		       r_settings(BIG "${s?keep_after_last('a','r')?length}",
		                  NULL, &st),
		       "a linear search of a long text is within it");
	}

	expensive_in_loops();
	return done_testing();
}
