/*
 * test_ftl_fastpath - the engine's fast paths (docs/benchmarks-ftl.md
 * "What changed") give what the slow paths gave: the digits of a double
 * that is m / 10^k (no snprintf/strtod), doubles off that path, and date
 * fields zero-padded without snprintf. Expected values are independent of
 * the engine: built from m and k, or printed by FreeMarker 2.3.31 (the
 * ftl-oracle) for the fixed cases.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl.h"
#include "../plugin/ftl/ftl_int.h"
#include "../tap.h"

static char buf[256];

/* D with up to 22 fraction digits, en_US, no grouping. */
static const char *fmt_dbl(double d)
{
	fnfmt f;
	fnum n;
	fbuf b = {.max = 1000};
	if (fnum_fmt_parse("0.######################", &f))
		return "(bad pattern)";
	fnum_from_dbl(&n, d);
	if (fnum_format(&n, &f, fnum_locale("en_US"), &b)) {
		free(b.p);
		return "(format failed)";
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)b.n, b.p);
	free(b.p);
	return buf;
}

/* m / 10^k written out in decimal, trailing zeros dropped. */
static void expect_of(unsigned long long m, int k, char *out, size_t cap)
{
	char dig[32];
	int n = snprintf(dig, sizeof(dig), "%llu", m);
	char tmp[64];
	int p = 0;
	if (k >= n) {
		tmp[p++] = '0';
		tmp[p++] = '.';
		for (int i = 0; i < k - n; i++)
			tmp[p++] = '0';
		memcpy(tmp + p, dig, (size_t)n);
		p += n;
	} else {
		memcpy(tmp, dig, (size_t)(n - k));
		p = n - k;
		if (k) {
			tmp[p++] = '.';
			memcpy(tmp + p, dig + n - k, (size_t)k);
			p += k;
		}
	}
	tmp[p] = 0;
	if (strchr(tmp, '.')) {
		while (tmp[p - 1] == '0')
			tmp[--p] = 0;
		if (tmp[p - 1] == '.')
			tmp[--p] = 0;
	}
	snprintf(out, cap, "%s", tmp);
}

static unsigned long long rs = 0x9e3779b97f4a7c15ULL;
static unsigned long long rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return rs;
}

static const char *render_in(const char *locale, const char *tpl,
                             const char *data)
{
	ftl_error err;
	ftl_settings s = {.locale = locale};
	ftl_template *t = ftl_compile(tpl, strlen(tpl), &err);
	json_object *m = json_tokener_parse(data);
	char *out = NULL;
	if (!t || ftl_render(t, m, &s, &out, NULL, &err))
		snprintf(buf, sizeof(buf), "(error: %.200s)", err.message);
	else
		snprintf(buf, sizeof(buf), "%s", out);
	free(out);
	json_object_put(m);
	ftl_template_unref(t);
	return buf;
}

static const char *render(const char *tpl, const char *data)
{
	return render_in(NULL, tpl, data);
}

int main(void)
{
	static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
	                             1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
	                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
	                             1e18, 1e19, 1e20, 1e21, 1e22};
	int bad = 0;
	char want[64];
	/* m / 10^k with m of 1 to 15 digits: the digits of m, placed */
	for (int i = 0; i < 200000; i++) {
		unsigned long long m = rnd() % 1000000000000000ULL;
		int k = (int)(rnd() % 23);
		if (i % 3 == 0)
			m %= 100000; /* short amounts, like prices */
		if (m == 0)
			continue;
		expect_of(m, k, want, sizeof(want));
		if (strcmp(fmt_dbl((double)m / p10[k]), want) != 0 && bad++ < 5)
			diag("%llu / 10^%d: got %s, want %s", m, k, buf, want);
	}
	ok(bad == 0, "200,000 doubles m/10^k print as m's digits (%d bad)",
	   bad);
	is_str("1234.5", fmt_dbl(1234.5), "the SMS bench's total");
	is_str("-0.25", fmt_dbl(-0.25), "negative");
	/* off the fast path: the 16/17-digit shortest forms (oracle) */
	is_str("0.30000000000000004", fmt_dbl(0.1 + 0.2), "0.1 + 0.2");
	is_str("0.3333333333333333", fmt_dbl(1.0 / 3), "1/3: 16 digits");
	is_str("123456789012345680", fmt_dbl(123456789012345678.0),
	       "beyond 10^15");
	is_str("0.0000000000000000000001", fmt_dbl(1e-22), "1e-22");
	/* date fields (oracle: FreeMarker 2.3.31) */
	is_str("02024-03-05 04:07:09.005|2024 3 5 4 7 9 5",
	       render("${d?string(\"yyyyy-MM-dd HH:mm:ss.SSS\")}|"
	              "${d?string(\"y M d H m s S\")}",
	              "{\"d\":{\"$datetime\":\"2024-03-05T04:07:09.005Z\"}}"),
	       "zero-padded and unpadded date fields");
	/* integers under plain patterns (eval.c fmt_int_plain), oracle */
	{
		const char *tpl = "${a} ${b} ${c} ${d} ${e} ${a?string(\"0\")} "
		                  "${a?string(\"#,##0\")} "
		                  "${a?string(\"00000000\")} "
		                  "${e?string(\"#,##0\")}";
		const char *data = "{\"a\":-1234567,\"b\":0,\"c\":"
		                   "9223372036854775807,\"d\":"
		                   "-9223372036854775807,\"e\":999}";
		is_str("-1,234,567 0 9,223,372,036,854,775,807 "
		       "-9,223,372,036,854,775,807 999 -1234567 -1,234,567 "
		       "-01234567 999",
		       render(tpl, data), "integers, en_US");
		is_str("-1.234.567 0 9.223.372.036.854.775.807 "
		       "-9.223.372.036.854.775.807 999 -1234567 -1.234.567 "
		       "-01234567 999",
		       render_in("de_DE", tpl, data), "integers, de_DE");
		is_str("-1\xe2\x80\xaf"
		       "234\xe2\x80\xaf"
		       "567",
		       render_in("fr_FR", "${a}", data),
		       "integers, fr_FR (multi-byte separator)");
	}
	return done_testing();
}
