/*
 * test_ftl_num - plugin/ftl/num.c: FreeMarker's numbers (BigDecimal
 * arithmetic, DecimalFormat formatting with HALF_EVEN on the exact value of
 * doubles, patterns, locales).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl_int.h"
#include "../tap.h"

static char buf[256];

static const char *fmt(const fnum *n, const char *pattern, const char *loc)
{
	fnfmt f;
	fbuf b = {.max = 1000};
	if (fnum_fmt_parse(pattern, &f))
		return "(bad pattern)";
	if (f.neg_prefix_set) { /* "percent": locale suffix (as eval.c) */
		snprintf(f.suffix, sizeof(f.suffix), "%s",
		         fnum_locale(loc)->pct_suffix);
	}
	if (fnum_format(n, &f, fnum_locale(loc), &b)) {
		free(b.p);
		return "(format failed)";
	}
	snprintf(buf, sizeof(buf), "%.*s", (int)b.n, b.p);
	free(b.p);
	return buf;
}

static const char *fd(double d, const char *pattern)
{
	fnum n;
	fnum_from_dbl(&n, d);
	return fmt(&n, pattern, "en_US");
}

static const char *fl(const char *lit, const char *pattern)
{
	fnum n;
	if (fnum_parse(lit, strlen(lit), &n))
		return "(parse failed)";
	return fmt(&n, pattern, "en_US");
}

static const char *op(const char *a, const char *b, int which)
{
	fnum x, y, r;
	int rc;
	fnum_parse(a, strlen(a), &x);
	fnum_parse(b, strlen(b), &y);
	rc = which == 0   ? fnum_add(&x, &y, &r)
	     : which == 1 ? fnum_sub(&x, &y, &r)
	     : which == 2 ? fnum_mul(&x, &y, &r)
	     : which == 3 ? fnum_div(&x, &y, &r)
	                  : fnum_mod(&x, &y, &r);
	if (rc == FNUM_EDIVZERO)
		return "div0";
	if (rc)
		return "overflow";
	return fmt(&r, "computer", "en_US");
}

int main(void)
{
	fnum n, m;

	/* default "number" format: grouping, at most 3 decimals, HALF_EVEN */
	fnum_from_i64(&n, 1234567);
	is_str("1,234,567", fmt(&n, "number", "en_US"), "integer grouping");
	is_str("1.234.567", fmt(&n, "number", "de_DE"), "de_DE grouping");
	is_str("1,234.568", fd(1234.5678, "number"), "3 decimals");
	is_str("0.125", fd(0.125, "number"), "exact 0.125");
	is_str("0.12", fd(0.125, "0.00"), "0.125 ties to even");
	is_str("0.14", fd(0.135, "0.00"), "0.135 is above the tie in binary");
	is_str("1", fd(1.0005, "number"), "1.0005 is below the tie in binary");
	is_str("2.001", fd(2.0005, "number"), "2.0005 is above the tie");
	is_str("0", fd(0.0005, "number"),
	       "JDK: lone 5 at the edge rounds down");
	is_str("0.002", fd(0.0015, "number"), "0.0015");
	is_str("1", fl("1.0005", "number"), "BigDecimal 1.0005 ties to even");
	is_str("1.002", fl("1.0015", "number"), "BigDecimal 1.0015");
	is_str("-0", fd(-0.0001, "number"), "negative zero keeps its sign");
	is_str("2", fd(2.5, "0"), "2.5 -> 2");
	is_str("2", fd(1.5, "0"), "1.5 -> 2");
	is_str("1,234.50", fd(1234.5, "#,##0.00"), "pattern #,##0.00");
	is_str("1.234,50",
	       fmt(&(fnum){.kind = FN_DBL, .u.d = 1234.5}, "#,##0.00", "de_DE"),
	       "pattern in de_DE");
	is_str("0.5", fd(0.5, "#.##"), "no bare .5");
	is_str("(12.35)", fd(-12.345, "0.00;(0.00)"), "negative subpattern");
	is_str("$12.35", fd(12.345, "$#,##0.00"), "prefix");
	is_str("12.35 EUR", fd(12.345, "0.00 EUR"), "suffix");
	is_str("1234%", fd(12.345, "0%"), "percent sign in a pattern");
	is_str("50%", fd(0.5, "percent"), "percent");
	is_str("50\xc2\xa0%",
	       fmt(&(fnum){.kind = FN_DBL, .u.d = 0.5}, "percent", "de_DE"),
	       "percent de_DE");
	is_str("100000000000000000000", fd(1e20, "computer"), "?c 1e20");
	is_str("0.00000015", fd(1.5e-7, "computer"), "?c 1.5e-7");
	is_str("0.1", fd(0.1, "computer"), "?c 0.1 (shortest digits)");
	is_str("(bad pattern)", fd(1, "0.0.0"), "bad pattern refused");

	/* BigDecimal arithmetic */
	is_str("0.3", op("0.1", "0.2", 0), "0.1 + 0.2");
	is_str("0.333333333333", op("1", "3", 3), "1/3 at scale 12");
	is_str("0.666666666667", op("2", "3", 3), "2/3 rounds HALF_UP");
	is_str("2.5", op("10", "4", 3), "10/4");
	is_str("1", op("7.5", "2", 4), "7.5 %% 2 works on longs");
	is_str("-1", op("-7", "3", 4), "-7 %% 3");
	is_str("div0", op("1", "0", 3), "division by zero");
	is_str("div0", op("1", "0", 4), "modulo by zero");
	is_str("1.21", op("1.1", "1.1", 2), "1.1 * 1.1");
	is_str("overflow",
	       op("99999999999999999999", "99999999999999999999", 2),
	       "more than 38 digits is an error, not garbage");
	fnum_from_dbl(&n, 0.1);
	fnum_from_dbl(&m, 0.2);
	{
		fnum r;
		fnum_add(&n, &m, &r);
		is_str("0.3", fmt(&r, "computer", "en_US"),
		       "doubles go through Double.toString");
	}
	fnum_from_i64(&n, 3);
	fnum_parse("3.0", 3, &m);
	is_int(0, fnum_cmp(&n, &m), "3 == 3.0");
	fnum_parse("-2.5", 4, &m);
	{
		fnum r;
		fnum_round(&m, 0, &r);
		is_str("-2", fmt(&r, "number", "en_US"), "?round -2.5 -> -2");
		fnum_round(&m, 1, &r);
		is_str("-3", fmt(&r, "number", "en_US"), "?floor -2.5");
		fnum_round(&m, 2, &r);
		is_str("-2", fmt(&r, "number", "en_US"), "?ceiling -2.5");
	}
	/* ?round/?floor/?ceiling go through double, as FreeMarker's
	 * new BigDecimal(x.doubleValue()) does */
	{
		fnum r;
		fnum_from_i64(&n, 12345678901234567LL);
		fnum_round(&n, 0, &r);
		is_str("12345678901234568", fmt(&r, "computer", "en_US"),
		       "?round of a long beyond 2^53: the nearest double");
		fnum_from_i64(&n, 9007199254740993LL);
		fnum_round(&n, 1, &r);
		is_str("9007199254740992", fmt(&r, "computer", "en_US"),
		       "?floor of 2^53+1 is 2^53");
		fnum_from_i64(&n, INT64_MAX);
		fnum_round(&n, 2, &r);
		is_str("9223372036854775808", fmt(&r, "computer", "en_US"),
		       "?ceiling of 2^63-1 is 2^63 (the double), no wrap");
		fnum_from_i64(&n, INT64_MIN);
		fnum_round(&n, 0, &r);
		is_str("-9223372036854775808", fmt(&r, "computer", "en_US"),
		       "?round of -2^63");
		fnum_from_dbl(&n, 0.49999999999999994);
		fnum_round(&n, 0, &r);
		is_str("0", fmt(&r, "computer", "en_US"),
		       "?round of the double below 0.5 is 0 (exact sum)");
		fnum_round(&n, 2, &r);
		is_str("1", fmt(&r, "computer", "en_US"), "its ?ceiling is 1");
		fnum_from_dbl(&n, -0.49999999999999994);
		fnum_round(&n, 0, &r);
		is_str("0", fmt(&r, "computer", "en_US"),
		       "and of its negation");
		fnum_from_dbl(&n, 1e38);
		ok(fnum_round(&n, 0, &r) == FNUM_EOVERFLOW,
		   "?round past 38 digits is an error, not garbage");
		/* Java's negation and abs of MIN_VALUE */
		fnum_from_i64(&n, INT64_MIN);
		fnum_neg(&n, &r);
		is_str("-9223372036854775808", fmt(&r, "computer", "en_US"),
		       "-(-2^63) stays -2^63 (Long arithmetic)");
		ok(fnum_abs(&n, &r) == 0 && fnum_cmp(&n, &r) == 0,
		   "?abs of -2^63 stays -2^63");
		fnum_from_i64(&n, INT32_MIN);
		fnum_neg(&n, &m);
		fnum_abs(&m, &r);
		is_str("2147483648", fmt(&r, "computer", "en_US"),
		       "-(-2^31)?abs is 2^31");
		fnum_from_i64(&n, 9007199254740993LL);
		fnum_from_i64(&m, 9007199254740992LL);
		is_int(1, fnum_cmp(&n, &m),
		       "2^53+1 > 2^53 (exact, not double)");
		fnum_parse("9223372036854775807", 19, &m);
		fnum_from_i64(&n, 1);
		fnum_add(&m, &n, &r);
		is_str("9223372036854775808", fmt(&r, "computer", "en_US"),
		       "2^63-1 + 1 does not wrap");
	}

	/* currency, percent and computer per locale (JDK 17 CLDR) */
	fnum_parse("-1234.5", 7, &m);
	fnum_parse("1234567.891", 11, &n);
	is_str("$1,234,567.89", fmt(&n, "currency", "en_US"), "en_US currency");
	is_str("-$1,234.50", fmt(&m, "currency", "en_US"),
	       "en_US negative currency");
	is_str("1.234.567,89\xc2\xa0\xe2\x82\xac", fmt(&n, "currency", "de_DE"),
	       "de_DE: the symbol after");
	is_str("\xe2\x82\xac\xc2\xa0-1.234,50", fmt(&m, "currency", "nl_NL"),
	       "nl_NL: the minus after the symbol");
	is_str("CHF-1\xe2\x80\x99"
	       "234.50",
	       fmt(&m, "currency", "de_CH"), "de_CH negative");
	is_str("\xe2\x82\xac\xc2\xa0"
	       "1.234.567,89",
	       fmt(&n, "currency", "de_AT"),
	       "de_AT: money groups with '.', numbers with a space");
	is_str("1\xc2\xa0"
	       "234\xc2\xa0"
	       "567,891",
	       fmt(&n, "number", "de_AT"), "de_AT number");
	is_str("\xe2\x82\xb9"
	       "1,234,567.89",
	       fmt(&n, "currency", "en_IN"),
	       "en_IN: no Indian grouping (the JDK's DecimalFormat has none)");
	is_str("R$\xc2\xa0"
	       "1.234.567,89",
	       fmt(&n, "currency", "pt_BR"), "pt_BR currency");
	is_str("R1\xc2\xa0"
	       "234\xc2\xa0"
	       "567,89",
	       fmt(&n, "currency", "en_ZA"), "en_ZA currency");
	is_str("1234567.891", fmt(&n, "computer", "fr_FR"),
	       "computer ignores the locale");
	is_str("EUR 1.234.567,89",
	       fmt(&n, "\xc2\xa4\xc2\xa4 #,##0.00", "de_DE"),
	       "a pattern's currency signs");
	ok(fnum_locale("de_DE") != NULL, "de_DE supported");
	ok(fnum_locale("xx_YY") == NULL, "unknown locale refused");
	ok(fnum_parse("1e", 2, &n) != 0, "bad number text refused");
	return done_testing();
}
