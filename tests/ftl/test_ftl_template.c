/*
 * test_ftl_template - plugin/ftl/template.c: compile, reference counting,
 * settings validation, kind names and the thread-safe LRU cache, bounded by
 * count and by bytes.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl.h"
#include "../tap.h"

static ftl_cache *cache;

static void *hammer(void *arg)
{
	long id = (long)arg;
	int bad = 0;
	for (int i = 0; i < 1000; i++) {
		char src[64];
		ftl_error e;
		ftl_template *t;
		char *o = NULL;
		snprintf(src, sizeof(src), "t%d ${x}",
		         (int)((i * 7 + id) % 40));
		t = ftl_cache_get(cache, src, strlen(src), &e);
		if (!t) {
			bad++;
			continue;
		}
		{
			json_object *m = json_object_new_object();
			json_object_object_add(m, "x", json_object_new_int(1));
			if (ftl_render(t, m, NULL, &o, NULL, &e) ||
			    strncmp(o, src, 1) != 0)
				bad++;
			json_object_put(m);
		}
		free(o);
		ftl_template_unref(t);
	}
	return (void *)(long)bad;
}

/* A distinct template of about 64 KiB (the largest smsBody). */
static char *big_template(int i, size_t *len)
{
	size_t n = 64 * 1024;
	char *s = malloc(n + 1);
	int k = snprintf(s, n, "T%d ${x!} ", i);
	memset(s + k, 'x', n - (size_t)k);
	s[n] = 0;
	*len = n;
	return s;
}

static void byte_bound(void)
{
	ftl_error err;
	size_t bound = 1u << 20, over = 0, len;
	ftl_cache *cb = ftl_cache_new(1000, bound);
	ftl_template *t, *u;
	char *src;
	for (int i = 0; i < 100; i++) {
		src = big_template(i, &len);
		t = ftl_cache_get(cb, src, len, &err);
		if (!t || ftl_cache_bytes(cb) > bound)
			over++;
		ftl_template_unref(t);
		free(src);
	}
	is_int(0, over, "100 templates of 64 KiB: the cache stays under 1 MiB");
	ok(ftl_cache_count(cb) > 0 && ftl_cache_count(cb) < 16,
	   "it holds what fits (%zu templates, %zu bytes)", ftl_cache_count(cb),
	   ftl_cache_bytes(cb));
	ok(ftl_cache_bytes(cb) >= ftl_cache_count(cb) * 64 * 1024,
	   "the accounting counts the source at least");
	src = big_template(99, &len);
	t = ftl_cache_get(cb, src, len, &err);
	u = ftl_cache_get(cb, src, len, &err);
	ok(t && t == u, "the last one is still cached");
	ftl_template_unref(t);
	ftl_template_unref(u);
	free(src);
	ftl_cache_free(cb);

	/* a template bigger than the bound: returned, not kept */
	cb = ftl_cache_new(10, 32 * 1024);
	src = big_template(1, &len);
	t = ftl_cache_get(cb, src, len, &err);
	u = ftl_cache_get(cb, src, len, &err);
	ok(t && u && t != u, "a template over the byte bound is compiled each "
	                     "time, not cached");
	is_int(0, (long)ftl_cache_bytes(cb), "and takes no room");
	{
		char *o = NULL;
		json_object *m = json_object_new_object();
		ok(ftl_render(t, m, NULL, &o, NULL, &err) == 0 &&
		           strncmp(o, "T1 ", 3) == 0,
		   "but it renders");
		free(o);
		json_object_put(m);
	}
	ftl_template_unref(t);
	ftl_template_unref(u);
	t = ftl_cache_get(cb, "small", 5, &err);
	ftl_template_unref(t);
	is_int(1, (long)ftl_cache_count(cb), "small ones still are");
	free(src);
	ftl_cache_free(cb);

	/* the default bound */
	cb = ftl_cache_new(0, 0);
	for (int i = 0; i < 200; i++) {
		src = big_template(i, &len);
		t = ftl_cache_get(cb, src, len, &err);
		if (ftl_cache_bytes(cb) > FTL_DEFAULT_CACHE_BYTES)
			over++;
		ftl_template_unref(t);
		free(src);
	}
	is_int(0, over, "the default bound holds too (%zu bytes)",
	       ftl_cache_bytes(cb));
	ftl_cache_free(cb);
}

/* Render SRC with S; the output or "ERR:<kind>:<message>" (static). */
static const char *rs(const char *src, const char *json, const ftl_settings *s)
{
	static char buf[600];
	ftl_error e;
	ftl_template *t = ftl_compile(src, strlen(src), &e);
	json_object *m = json ? json_tokener_parse(json) : NULL;
	char *out = NULL;
	if (t && ftl_render(t, m, s, &out, NULL, &e) == 0)
		snprintf(buf, sizeof(buf), "%s", out);
	else
		snprintf(buf, sizeof(buf), "ERR:%s:%s", ftl_kind_name(e.kind),
		         e.message);
	free(out);
	ftl_template_unref(t);
	json_object_put(m);
	return buf;
}

/* docs/templates.md "Settings" (expected outputs from FreeMarker 2.3.31
 * with the same settings, via the oracle) */
static void settings(void)
{
	const char *x = "{\"x\":\"<a&'\\\"b>\",\"b\":false,\"u\":\"\u00e9 &\"}";
	ftl_settings s = {0};
	ftl_error e;
	s.output_format = "HTML";
	is_str("&lt;a&amp;&#39;&quot;b&gt;", rs("${x}", x, &s), "HTML escapes");
	s.output_format = "XML";
	is_str("&lt;a&amp;&apos;&quot;b&gt;", rs("${x}", x, &s), "XML escapes");
	s.output_format = "RTF";
	is_str("\\{\\\\\\}", rs("${'{\\\\}'}", NULL, &s), "RTF escapes");
	s.output_format = "plainText";
	is_str("<a&'\"b>", rs("${x}", x, &s), "plainText does not");
	s.output_format = "HTML";
	s.auto_escaping_policy = "disable";
	is_str("<a&'\"b>", rs("${x}", x, &s), "policy disable");
	is_str("&lt;a&amp;&#39;&quot;b&gt;", rs("${x?esc}", x, &s),
	       "?esc with the policy disable");
	is_str("&lt;a&amp;&#39;&quot;b&gt;",
	       rs("<#ftl auto_esc=true>${x}", x, &s), "auto_esc=true wins");
	s.auto_escaping_policy = "enable_if_supported";
	is_str("&lt;a&amp;&#39;&quot;b&gt;", rs("${x}", x, &s),
	       "policy enable_if_supported");
	s.auto_escaping_policy = NULL;
	is_str("<a&'\"b>", rs("<#ftl output_format=\"JSON\">${x}", x, &s),
	       "the header's format wins over the setting");
	/* the legacy escapes where auto-escaping is on (the format from the
	 * settings: known only when rendering) */
	is_str("ERR:parse:Using ?html (legacy escaping) is not allowed when "
	       "auto-escaping is on with a markup output format (HTML), to "
	       "avoid double-escaping mistakes.",
	       rs("${x?html}", x, &s), "?html with output_format HTML");
	is_str("&lt;a&amp;&#39;&quot;b&gt;",
	       rs("<#noautoesc>${x?html}</#noautoesc>", x, &s),
	       "... allowed inside #noautoesc");
	s.auto_escaping_policy = "disable";
	is_str("&lt;a&amp;&#39;&quot;b&gt;", rs("${x?html}", x, &s),
	       "... and with the policy disable");
	ok(strncmp(rs("<#autoesc>${x?xml}</#autoesc>", x, &s),
	           "ERR:parse:Using ?xml", 20) == 0,
	   "... not inside #autoesc, whatever the policy");
	s.auto_escaping_policy = NULL;
	s.output_format = NULL;
	ok(strncmp(rs("${x?no_esc}", x, &s), "ERR:parse:?no_esc", 17) == 0,
	   "?no_esc without a markup format: %s", rs("${x?no_esc}", x, &s));
	is_str("ERR:runtime:Failed to get number format object for the "
	       "\"@foo\" "
	       "number format string: no custom number format was defined "
	       "with name \"foo\" (this engine has no custom formats; use a "
	       "pattern like ?string(\"0.00\"))",
	       rs("${1?string.@foo}", NULL, &s), "?string.@name");
	s.boolean_format = "c";
	is_str("false false", rs("${b} ${b?string}", x, &s),
	       "boolean_format c");
	s.boolean_format = "ja,nein";
	is_str("nein", rs("${b}", x, &s), "boolean_format ja,nein");
	s.boolean_format = "true,false";
	ok(strncmp(rs("${b}", x, &s), "ERR:runtime", 11) == 0,
	   "boolean_format true,false: as unset");
	s.boolean_format = NULL;
	s.url_escaping_charset = "ISO-8859-1";
	is_str("%E9%20%26", rs("${u?url}", x, &s), "url_escaping_charset");
	is_str("%C3%A9%20%26", rs("${u?url('UTF-8')}", x, &s),
	       "?url's argument wins");
	s.url_escaping_charset = NULL;
	{
		static const char *const bad[][2] = {
		        {"boolean_format", "yn"},
		        {"output_format", "html"},
		        {"auto_escaping_policy", "always"},
		        {"url_escaping_charset", "KOI8-R"}};
		for (int i = 0; i < 4; i++) {
			ftl_settings b = {0};
			const char **f = i == 0   ? &b.boolean_format
			                 : i == 1 ? &b.output_format
			                 : i == 2 ? &b.auto_escaping_policy
			                          : &b.url_escaping_charset;
			*f = bad[i][1];
			is_int(-1, ftl_settings_check(&b, &e), "%s=%s refused",
			       bad[i][0], bad[i][1]);
			ok(e.kind == FTL_INPUT && strstr(e.message, bad[i][0]),
			   "the error names %s: %s", bad[i][0], e.message);
			ok(strncmp(rs("x", NULL, &b), "ERR:input", 9) == 0,
			   "render refuses %s too", bad[i][0]);
		}
	}
}

int main(void)
{
	ftl_error err;
	ftl_template *a, *b, *c;
	ftl_settings s = {0};

	is_str("parse", ftl_kind_name(FTL_PARSE), "kind names");
	is_str("runtime", ftl_kind_name(FTL_RUNTIME), "runtime");
	is_str("limit", ftl_kind_name(FTL_LIMIT), "limit");
	is_str("input", ftl_kind_name(FTL_INPUT), "input");
	is_str("nomem", ftl_kind_name(FTL_NOMEM), "nomem");
	is_str("deadline", ftl_kind_name(FTL_DEADLINE), "deadline");

	ok(ftl_settings_check(NULL, &err) == 0, "NULL settings are fine");
	ok(ftl_settings_check(&s, &err) == 0, "defaults are fine");
	s.locale = "de_DE";
	ok(ftl_settings_check(&s, &err) == 0, "de_DE");
	s.locale = "tlh_QO";
	ok(ftl_settings_check(&s, &err) == -1 && err.kind == FTL_INPUT,
	   "unsupported locale refused");
	ok(strstr(err.message, "tlh_QO") && strstr(err.message, "en_US"),
	   "the message names it and what is supported: %s", err.message);
	s.locale = NULL;
	s.number_format = "0.00";
	ok(ftl_settings_check(&s, &err) == 0, "a number pattern");
	s.number_format = "currency";
	ok(ftl_settings_check(&s, &err) == 0, "currency is a named format");
	s.number_format = "0.0.0";
	ok(ftl_settings_check(&s, &err) == -1, "a bad pattern is refused");

	a = ftl_compile("x", 1, &err);
	ok(a != NULL, "compile");
	ok(ftl_template_ref(a) == a, "ref returns the template");
	ftl_template_unref(a);
	ftl_template_unref(a);
	ftl_template_unref(NULL);
	ok(ftl_compile("${", 2, &err) == NULL && err.kind == FTL_PARSE,
	   "compile error");

	cache = ftl_cache_new(2, 0);
	a = ftl_cache_get(cache, "A", 1, &err);
	b = ftl_cache_get(cache, "A", 1, &err);
	ok(a && a == b, "same text, same template");
	ftl_template_unref(b);
	c = ftl_cache_get(cache, "B", 1, &err);
	ftl_template_unref(c);
	b = ftl_cache_get(cache, "A", 1, &err); /* A is now most recent */
	ftl_template_unref(b);
	c = ftl_cache_get(cache, "C", 1, &err); /* evicts B */
	ftl_template_unref(c);
	b = ftl_cache_get(cache, "A", 1, &err);
	ok(b == a, "A stayed (LRU)");
	ftl_template_unref(b);
	ok(ftl_cache_get(cache, "<#if>", 5, &err) == NULL &&
	           err.kind == FTL_PARSE,
	   "compile errors come through the cache");
	ftl_cache_free(cache);
	{
		char *o = NULL;
		ok(ftl_render(a, NULL, NULL, &o, NULL, &err) == 0 &&
		           strcmp(o, "A") == 0,
		   "a template outlives the cache that made it");
		free(o);
		ftl_template_unref(a);
	}

	cache = ftl_cache_new(16, 0);
	{
		pthread_t th[4];
		long bad = 0;
		for (long i = 0; i < 4; i++)
			pthread_create(&th[i], NULL, hammer, (void *)i);
		for (int i = 0; i < 4; i++) {
			void *r;
			pthread_join(th[i], &r);
			bad += (long)r;
		}
		is_int(0, bad, "4 threads through a small cache");
	}
	ftl_cache_free(cache);
	byte_bound();
	settings();
	return done_testing();
}
