/*
 * num.c - FreeMarker's numbers: Integer/Long, Double and BigDecimal values,
 * the BigDecimal arithmetic engine (division at scale >= 12, HALF_UP) and
 * java.text.DecimalFormat's formatting (HALF_EVEN, on the exact binary value
 * of doubles), with the locale symbols the engine supports.
 *
 * Owns nothing global; every function is pure and thread-safe.
 */
#define _GNU_SOURCE 1

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftl_int.h"
#include "locale.h"

typedef __int128 i128;

#define COEF_MAX_DIGITS 38

static i128 pow10_128(int e)
{
	i128 r = 1;
	while (e-- > 0)
		r *= 10;
	return r;
}

static int ndigits128(i128 v)
{
	int n = 1;
	if (v < 0)
		v = -v;
	while (v >= 10) {
		v /= 10;
		n++;
	}
	return n;
}

/* The locales' symbols live in the generated table of locale.c (JDK 17's
 * CLDR data); the floc is the first member of each entry. */
const floc *fnum_locale(const char *name)
{
	const flocale *l = flocale_find(name);
	return l ? &l->num : NULL;
}

void fnum_from_i64(fnum *n, int64_t v)
{
	n->kind = FN_INT;
	n->scale = 0;
	n->u.i = v;
}

void fnum_from_dbl(fnum *n, double v)
{
	n->kind = FN_DBL;
	n->scale = 0;
	n->u.d = v;
}

/* ---- decimal digits of a value ------------------------------------------
 * value = 0.D[0]D[1]...D[n-1] * 10^dp, no leading/trailing zeros (n == 0 for
 * zero). For doubles: the shortest digits that round-trip, as Java's
 * Double.toString (JDK 19+) gives them. */
typedef struct digits {
	char d[48];
	int n;
	int dp;
	int neg;
	int is_dbl;
	double dv; /* the double, for exactness checks at ties */
} digits;

static void digits_trim(digits *g)
{
	int lead = 0;
	while (lead < g->n && g->d[lead] == '0')
		lead++;
	if (lead) {
		memmove(g->d, g->d + lead, (size_t)(g->n - lead));
		g->n -= lead;
		g->dp -= lead;
	}
	while (g->n > 0 && g->d[g->n - 1] == '0')
		g->n--;
	if (g->n == 0)
		g->dp = 0;
}

static void digits_of_i128(i128 c, int scale, digits *g)
{
	char tmp[48];
	int k = 0;
	unsigned __int128 m;
	g->neg = c < 0;
	m = c < 0 ? (unsigned __int128)(-(c + 1)) + 1 : (unsigned __int128)c;
	if (m <= UINT64_MAX) {
		/* the common case: 64-bit division by 10 is a multiply, the
		 * 128-bit one a library call per digit (perf) */
		uint64_t x = (uint64_t)m;
		do {
			tmp[k++] = (char)('0' + (int)(x % 10));
			x /= 10;
		} while (x);
	} else {
		do {
			tmp[k++] = (char)('0' + (int)(m % 10));
			m /= 10;
		} while (m);
	}
	g->n = k;
	for (int i = 0; i < k; i++)
		g->d[i] = tmp[k - 1 - i];
	g->dp = k - scale;
	g->is_dbl = 0;
	digits_trim(g);
}

static void digits_of_dbl(double v, digits *g)
{
	char buf[64];
	int prec;
	g->neg = signbit(v) ? 1 : 0;
	g->is_dbl = 1;
	g->dv = fabs(v);
	if (v == 0) {
		g->n = 0;
		g->dp = 0;
		return;
	}
	/* Fast path (perf: snprintf + strtod were most of a render that
	 * prints a double): when |v| is the double nearest to m / 10^k for
	 * an integer m < 10^15 (at most 15 digits), the 15-digit rounding
	 * below gives exactly m's digits and round-trips, so they are the
	 * answer. The division check is exact: m and 10^k (k <= 22) are
	 * exact doubles and IEEE division rounds correctly. */
	if (g->dv < 1e15) {
		static const double p10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,
		                             1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
		                             1e12, 1e13, 1e14, 1e15, 1e16, 1e17,
		                             1e18, 1e19, 1e20, 1e21, 1e22};
		for (int k = 0; k < (int)(sizeof(p10) / sizeof(p10[0])); k++) {
			double s = g->dv * p10[k];
			uint64_t m;
			if (s >= 1e15)
				break;
			m = (uint64_t)s;
			if (m == 0 || (double)m != s ||
			    (double)m / p10[k] != g->dv)
				continue;
			{
				char tmp[24];
				int n = 0;
				while (m) {
					tmp[n++] = (char)('0' + (int)(m % 10));
					m /= 10;
				}
				for (int i = 0; i < n; i++)
					g->d[i] = tmp[n - 1 - i];
				g->n = n;
				g->dp = n - k;
			}
			digits_trim(g);
			return;
		}
	}
	for (prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*e", prec - 1, fabs(v));
		if (prec == 17 || strtod(buf, NULL) == fabs(v))
			break;
	}
	/* buf: d.ddddde[+-]x */
	{
		char *e = strchr(buf, 'e');
		int exp10 = atoi(e + 1);
		int k = 0;
		for (char *p = buf; p < e; p++)
			if (*p >= '0' && *p <= '9')
				g->d[k++] = *p;
		g->n = k;
		g->dp = exp10 + 1;
	}
	digits_trim(g);
}

static void digits_of(const fnum *n, digits *g)
{
	if (n->kind == FN_INT)
		digits_of_i128(n->u.i, 0, g);
	else if (n->kind == FN_DEC)
		digits_of_i128(n->u.c, n->scale, g);
	else
		digits_of_dbl(n->u.d, g);
}

/* Compare the digits G with the exact binary value of the double:
 * -1 digits below it, 0 equal, 1 above. */
static int digits_vs_exact(const digits *g)
{
	char *buf = malloc(1200);
	int r = 0;
	if (!buf)
		return 0;
	snprintf(buf, 1200, "%.1000e", g->dv);
	{
		char *e = strchr(buf, 'e');
		int exp10 = atoi(e + 1);
		char ex[1100];
		int k = 0;
		for (char *p = buf; p < e && k < 1090; p++)
			if (*p >= '0' && *p <= '9')
				ex[k++] = *p;
		/* same dp? the shortest digits and the exact value can differ
		 * in decimal exponent only around powers of ten */
		if (exp10 + 1 != g->dp) {
			r = (exp10 + 1 < g->dp) ? 1 : -1;
		} else {
			for (int i = 0; i < k; i++) {
				char a = i < g->n ? g->d[i] : '0';
				if (a != ex[i]) {
					r = a > ex[i] ? 1 : -1;
					break;
				}
			}
		}
	}
	free(buf);
	return r;
}

/* DigitList.shouldRoundUp for HALF_EVEN at position POS. */
static int round_up_half_even(const digits *g, int pos)
{
	if (pos >= g->n || pos < 0)
		return 0;
	if (g->d[pos] > '5')
		return 1;
	if (g->d[pos] < '5')
		return 0;
	if (pos < g->n - 1)
		return 1; /* non-zero digits follow (no trailing zeros kept) */
	if (g->is_dbl) {
		int c = digits_vs_exact(g);
		if (c > 0)
			return 0; /* digits were rounded up: below the tie */
		if (c < 0)
			return 1; /* above the tie */
	}
	return pos > 0 && ((g->d[pos - 1] - '0') % 2 != 0);
}

/* Round G to MAXF fraction digits (fixed point), as DigitList.set does. */
static void digits_round(digits *g, int maxf)
{
	int maxd = maxf + g->dp;
	if (g->n == 0)
		return;
	if (-g->dp > maxf) {
		g->n = 0;
		g->dp = 0;
		return;
	}
	if (-g->dp == maxf) {
		/* observed JDK 17 behaviour: a lone '5' here rounds down
		 * (0.0005 -> "0" with 3 fraction digits) */
		if (round_up_half_even(g, 0) &&
		    !(g->n == 1 && g->d[0] == '5')) {
			g->n = 1;
			g->dp++;
			g->d[0] = '1';
		} else {
			g->n = 0;
			g->dp = 0;
		}
		return;
	}
	if (maxd >= g->n)
		return;
	if (round_up_half_even(g, maxd)) {
		int i = maxd - 1;
		while (i >= 0 && g->d[i] == '9')
			i--;
		if (i < 0) {
			g->d[0] = '1';
			g->n = 1;
			g->dp++;
			return;
		}
		g->d[i]++;
		g->n = i + 1;
	} else {
		g->n = maxd;
	}
	digits_trim(g);
}

static int put_int_part(fbuf *out, const digits *g, const fnfmt *f,
                        const floc *loc, size_t glen)
{
	int count = f->min_int;
	int di = 0;
	if (g->dp > 0 && count < g->dp)
		count = g->dp;
	for (int i = count - 1; i >= 0; i--) {
		char c = '0';
		if (i < g->dp && di < g->n)
			c = g->d[di++];
		if (fbuf_putc(out, c))
			return -1;
		if (f->group > 0 && i > 0 && i % f->group == 0)
			if (fbuf_put(out, loc->group, glen))
				return -1;
	}
	return di;
}

/* An affix, with a pattern's currency sign replaced as DecimalFormat does:
 * "\xc2\xa4\xc2\xa4" by the currency's ISO code, "\xc2\xa4" by its symbol. */
static int put_affix(fbuf *out, const char *s, const floc *loc)
{
	const char *c = strstr(s, "\xc2\xa4");
	const flocale *l;
	if (!c || !(l = flocale_find(loc->name)))
		return fbuf_put(out, s, strlen(s));
	while (c) {
		int two = strncmp(c + 2, "\xc2\xa4", 2) == 0;
		const char *r = two ? l->cur_code : l->cur_symbol;
		if (fbuf_put(out, s, (size_t)(c - s)) ||
		    fbuf_put(out, r, strlen(r)))
			return -1;
		s = c + (two ? 4 : 2);
		c = strstr(s, "\xc2\xa4");
	}
	return fbuf_put(out, s, strlen(s));
}

/* "currency" (fnum_fmt_parse marks it with mult 0, and "computer" with
 * -1: a pattern's multiplier is 1, 100 or 1000): the locale's
 * NumberFormat.getCurrencyInstance, affixes of both signs and the
 * currency's fraction digits. */
static void currency_fmt(const floc *loc, fnfmt *t)
{
	const flocale *l = flocale_find(loc->name);
	memset(t, 0, sizeof(*t));
	t->min_int = 1;
	t->group = 3;
	t->mult = 1;
	t->min_frac = t->max_frac = l ? l->cur_frac : 2;
	snprintf(t->prefix, sizeof(t->prefix), "%s", l ? l->cur_prefix : "");
	snprintf(t->suffix, sizeof(t->suffix), "%s",
	         l ? l->cur_suffix : " \xc2\xa4");
	if (l) {
		t->hasneg = 1;
		snprintf(t->negp, sizeof(t->negp), "%s", l->cur_negp);
		snprintf(t->negs, sizeof(t->negs), "%s", l->cur_negs);
	}
}

int fnum_format(const fnum *n, const fnfmt *f, const floc *loc, fbuf *out)
{
	digits g;
	fnum m;
	fnfmt cur;
	floc mloc;
	size_t start = out->n;
	int di, frac_present, i;
	size_t glen;

	if (f->mult == -1) {
		/* "computer": the same digits in every locale */
		cur = *f;
		cur.mult = 1;
		f = &cur;
		loc = fnum_locale("en_US");
	} else if (f->mult == 0 || strstr(f->prefix, "\xc2\xa4") ||
	           strstr(f->suffix, "\xc2\xa4") ||
	           (f->hasneg && (strstr(f->negp, "\xc2\xa4") ||
	                          strstr(f->negs, "\xc2\xa4")))) {
		/* money: DecimalFormat's monetary separators */
		const flocale *l = flocale_find(loc->name);
		if (f->mult == 0) {
			currency_fmt(loc, &cur);
			f = &cur;
		}
		if (l) {
			mloc = *loc;
			mloc.dec = l->cur_dec;
			mloc.group = l->cur_group;
			loc = &mloc;
		}
	}
	glen = strlen(loc->group);

	if (n->kind == FN_DBL && (isnan(n->u.d) || isinf(n->u.d))) {
		const char *s = isnan(n->u.d) ? "NaN"
		                : n->u.d > 0  ? "\xe2\x88\x9e"
		                              : "-\xe2\x88\x9e";
		return fbuf_put(out, s, strlen(s));
	}
	if (f->mult != 1) {
		fnum k;
		if (n->kind == FN_DBL) {
			fnum_from_dbl(&m, n->u.d * f->mult);
		} else {
			fnum_from_i64(&k, f->mult);
			if (fnum_mul(n, &k, &m))
				return -1;
		}
		n = &m;
	}
	digits_of(n, &g);
	digits_round(&g, f->max_frac);
	if (g.neg && f->hasneg) {
		if (put_affix(out, f->negp, loc))
			return -1;
	} else {
		if (g.neg && fbuf_putc(out, '-'))
			return -1;
		if (f->prefix[0] && put_affix(out, f->prefix, loc))
			return -1;
	}
	start = out->n;
	di = put_int_part(out, &g, f, loc, glen);
	if (di < 0)
		return -1;
	frac_present = f->min_frac > 0 || di < g.n;
	if (!frac_present && out->n == start && fbuf_putc(out, '0'))
		return -1;
	if (frac_present && fbuf_put(out, loc->dec, strlen(loc->dec)))
		return -1;
	for (i = 0; i < f->max_frac; i++) {
		char c = '0';
		if (i >= f->min_frac && di >= g.n)
			break;
		if (-1 - i > g.dp - 1) {
			c = '0';
		} else if (di < g.n) {
			c = g.d[di++];
		}
		if (fbuf_putc(out, c))
			return -1;
	}
	if (g.neg && f->hasneg)
		return put_affix(out, f->negs, loc);
	if (f->suffix[0] && put_affix(out, f->suffix, loc))
		return -1;
	return 0;
}

/* ---- patterns ---------------------------------------------------------- */
static void fmt_set(fnfmt *f, int min_int, int min_frac, int max_frac,
                    int group, int mult)
{
	memset(f, 0, sizeof(*f));
	f->min_int = min_int;
	f->min_frac = min_frac;
	f->max_frac = max_frac;
	f->group = group;
	f->mult = mult;
}

static int affix(const char **pp, char *dst, size_t cap, int *mult, int prefix)
{
	const char *p = *pp;
	size_t k = 0;
	while (*p) {
		if (prefix &&
		    (*p == '#' || *p == '0' || *p == ',' || *p == '.'))
			break;
		if (!prefix && *p == ';')
			break;
		if (*p == '\'') {
			p++;
			if (*p == '\'') {
				if (k + 1 >= cap)
					return -1;
				dst[k++] = '\'';
				p++;
				continue;
			}
			while (*p && *p != '\'') {
				if (k + 1 >= cap)
					return -1;
				dst[k++] = *p++;
			}
			if (*p != '\'')
				return -1;
			p++;
			continue;
		}
		if (*p == '%') {
			*mult = 100;
		} else if (*p == '#' || *p == '0' || *p == ',' || *p == '.') {
			/* digits in the suffix, per-mille, exponent:
			 * unsupported */
			if (!prefix)
				return -1;
		}
		if (k + 1 >= cap)
			return -1;
		dst[k++] = *p++;
	}
	dst[k] = 0;
	*pp = p;
	return 0;
}

int fnum_fmt_parse(const char *pat, fnfmt *f)
{
	const char *p;
	int mult = 1, in_frac = 0, last_comma = -1, int_digits = 0;
	int saw_digit = 0;
	if (!pat || strcmp(pat, "number") == 0 || strcmp(pat, "") == 0) {
		fmt_set(f, 1, 0, 3, 3, 1);
		return 0;
	}
	if (strcmp(pat, "computer") == 0 || strcmp(pat, "c") == 0) {
		/* mult -1 marks it: fnum_format uses en_US symbols */
		fmt_set(f, 1, 0, 16, 0, -1);
		return 0;
	}
	if (strcmp(pat, "currency") == 0) {
		/* resolved per locale by fnum_format (mult 0 marks it: a
		 * pattern's multiplier is 1, 100 or 1000) */
		fmt_set(f, 1, 2, 2, 3, 0);
		return 0;
	}
	if (strcmp(pat, "percent") == 0) {
		fmt_set(f, 1, 0, 0, 3, 100);
		strcpy(f->suffix, "%");
		f->neg_prefix_set = 1; /* marker: suffix from the locale */
		return 0;
	}
	fmt_set(f, 0, 0, 0, 0, 1);
	p = pat;
	if (affix(&p, f->prefix, sizeof(f->prefix), &mult, 1))
		return -1;
	for (; *p; p++) {
		if (*p == '#') {
			if (in_frac)
				f->max_frac++;
			else if (f->min_int > 0)
				return -1; /* '#' after '0' */
			else
				int_digits++;
			saw_digit = 1;
		} else if (*p == '0') {
			if (in_frac) {
				if (f->max_frac > f->min_frac)
					return -1; /* '0' after '#' */
				f->min_frac++;
				f->max_frac++;
			} else {
				f->min_int++;
				int_digits++;
			}
			saw_digit = 1;
		} else if (*p == ',') {
			if (in_frac)
				return -1;
			last_comma = int_digits;
		} else if (*p == '.') {
			if (in_frac)
				return -1;
			in_frac = 1;
		} else {
			break;
		}
	}
	if (!saw_digit)
		return -1;
	if (last_comma >= 0)
		f->group = int_digits - last_comma;
	if (affix(&p, f->suffix, sizeof(f->suffix), &mult, 0))
		return -1;
	if (f->min_int < 1)
		f->min_int = 1; /* as FreeMarker's formats print 0.5, not .5 */
	if (*p == ';') {
		/* a negative subpattern: only its affixes count */
		int m2 = 1;
		p++;
		if (affix(&p, f->negp, sizeof(f->negp), &m2, 1))
			return -1;
		while (*p == '#' || *p == '0' || *p == ',' || *p == '.')
			p++;
		if (affix(&p, f->negs, sizeof(f->negs), &m2, 0) || *p)
			return -1;
		f->hasneg = 1;
	}
	f->mult = mult;
	return 0;
}

/* ---- arithmetic (BigDecimal engine) ---------------------------------------
 */
static int to_dec(const fnum *a, i128 *c, int32_t *scale)
{
	if (a->kind == FN_DEC) {
		*c = a->u.c;
		*scale = a->scale;
		return 0;
	}
	if (a->kind == FN_INT) {
		*c = a->u.i;
		*scale = 0;
		return 0;
	}
	{
		/* new BigDecimal(Double.toString(d)) */
		digits g;
		int s, pad;
		i128 v = 0;
		if (isnan(a->u.d) || isinf(a->u.d))
			return FNUM_EOVERFLOW;
		digits_of_dbl(a->u.d, &g);
		if (g.n == 0) {
			*c = 0;
			*scale = 1;
			return 0;
		}
		if (fabs(a->u.d) >= 1e-3 && fabs(a->u.d) < 1e7) {
			s = g.n - g.dp;
			if (s < 1)
				s = 1;
		} else {
			s = (g.n < 2 ? 2 : g.n) - g.dp;
		}
		for (int i = 0; i < g.n; i++)
			v = v * 10 + (g.d[i] - '0');
		pad = g.dp - g.n + s;
		if (pad > COEF_MAX_DIGITS - g.n)
			return FNUM_EOVERFLOW;
		v *= pow10_128(pad);
		*c = g.neg ? -v : v;
		*scale = s;
		return 0;
	}
}

static void set_dec(fnum *o, i128 c, int32_t scale)
{
	o->kind = FN_DEC;
	o->u.c = c;
	o->scale = scale;
}

static int rescale(i128 *c, int32_t from, int32_t to)
{
	int d = to - from;
	if (d <= 0)
		return 0;
	if (*c == 0)
		return 0;
	if (d > COEF_MAX_DIGITS || ndigits128(*c) + d > COEF_MAX_DIGITS)
		return FNUM_EOVERFLOW;
	*c *= pow10_128(d);
	return 0;
}

static int addsub(const fnum *a, const fnum *b, fnum *out, int sub)
{
	i128 ca, cb, r;
	int32_t sa, sb, s;
	if (to_dec(a, &ca, &sa) || to_dec(b, &cb, &sb))
		return FNUM_EOVERFLOW;
	s = sa > sb ? sa : sb;
	if (rescale(&ca, sa, s) || rescale(&cb, sb, s))
		return FNUM_EOVERFLOW;
	if (sub ? __builtin_sub_overflow(ca, cb, &r)
	        : __builtin_add_overflow(ca, cb, &r))
		return FNUM_EOVERFLOW;
	if (ndigits128(r) > COEF_MAX_DIGITS)
		return FNUM_EOVERFLOW;
	set_dec(out, r, s);
	return 0;
}

int fnum_add(const fnum *a, const fnum *b, fnum *out)
{
	return addsub(a, b, out, 0);
}

int fnum_sub(const fnum *a, const fnum *b, fnum *out)
{
	return addsub(a, b, out, 1);
}

int fnum_mul(const fnum *a, const fnum *b, fnum *out)
{
	i128 ca, cb, r;
	int32_t sa, sb;
	if (to_dec(a, &ca, &sa) || to_dec(b, &cb, &sb))
		return FNUM_EOVERFLOW;
	if (__builtin_mul_overflow(ca, cb, &r) ||
	    ndigits128(r) > COEF_MAX_DIGITS)
		return FNUM_EOVERFLOW;
	if ((int64_t)sa + sb > 100000 || (int64_t)sa + sb < -100000)
		return FNUM_EOVERFLOW;
	set_dec(out, r, sa + sb);
	return 0;
}

int fnum_div(const fnum *a, const fnum *b, fnum *out)
{
	i128 ca, cb, q, r, ar, ab;
	int32_t sa, sb, s;
	int e;
	if (to_dec(a, &ca, &sa) || to_dec(b, &cb, &sb))
		return FNUM_EOVERFLOW;
	if (cb == 0)
		return FNUM_EDIVZERO;
	s = sa > sb ? sa : sb;
	if (s < 12)
		s = 12;
	e = s - sa + sb;
	if (e >= 0) {
		if (ca != 0 && (e > COEF_MAX_DIGITS ||
		                ndigits128(ca) + e > COEF_MAX_DIGITS))
			return FNUM_EOVERFLOW;
		if (ca != 0) /* 0 at any scale: 10^e may not fit */
			ca *= pow10_128(e);
	} else {
		if (-e > COEF_MAX_DIGITS ||
		    ndigits128(cb) - e > COEF_MAX_DIGITS)
			return FNUM_EOVERFLOW;
		cb *= pow10_128(-e);
	}
	q = ca / cb;
	r = ca % cb;
	ar = r < 0 ? -r : r;
	ab = cb < 0 ? -cb : cb;
	if (ar != 0 && ar >= ab - ar)
		q += ((ca < 0) != (cb < 0)) ? -1 : 1;
	set_dec(out, q, s);
	return 0;
}

int fnum_mod(const fnum *a, const fnum *b, fnum *out)
{
	int64_t x = fnum_to_i64(a), y = fnum_to_i64(b);
	if (y == 0)
		return FNUM_EDIVZERO;
	if (y == -1)
		fnum_from_i64(out, 0);
	else
		fnum_from_i64(out, x % y);
	return 0;
}

int fnum_neg(const fnum *a, fnum *out)
{
	i128 c;
	int32_t s;
	if (a->kind == FN_INT) {
		/* FreeMarker negates with Long arithmetic whose overflow
		 * check misses -1 * Long.MIN_VALUE: -(-2^63) stays itself.
		 * -(-2^31), an Integer, becomes a wider number than an
		 * Integer (the oracle's ?abs of it is positive): a decimal
		 * here */
		int64_t v = a->u.i;
		if (v == INT32_MIN)
			set_dec(out, v, 0);
		else
			fnum_from_i64(out, v == INT64_MIN ? v : -v);
		return 0;
	}
	if (a->kind == FN_DBL) {
		fnum_from_dbl(out, -a->u.d);
		return 0;
	}
	if (to_dec(a, &c, &s))
		return FNUM_EOVERFLOW;
	set_dec(out, -c, s);
	return 0;
}

int fnum_sign(const fnum *a)
{
	if (a->kind == FN_INT)
		return (a->u.i > 0) - (a->u.i < 0);
	if (a->kind == FN_DEC)
		return (a->u.c > 0) - (a->u.c < 0);
	return (a->u.d > 0) - (a->u.d < 0);
}

int fnum_cmp(const fnum *a, const fnum *b)
{
	i128 ca, cb;
	int32_t sa, sb, s;
	if (a->kind == FN_INT && b->kind == FN_INT)
		return (a->u.i > b->u.i) - (a->u.i < b->u.i);
	if (to_dec(a, &ca, &sa) || to_dec(b, &cb, &sb))
		goto dbl;
	s = sa > sb ? sa : sb;
	if (rescale(&ca, sa, s) || rescale(&cb, sb, s))
		goto dbl;
	return (ca > cb) - (ca < cb);
dbl : {
	double x = fnum_to_dbl(a), y = fnum_to_dbl(b);
	return (x > y) - (x < y);
}
}

int64_t fnum_to_i64(const fnum *a)
{
	if (a->kind == FN_INT)
		return a->u.i;
	if (a->kind == FN_DBL) {
		double d = a->u.d;
		if (isnan(d))
			return 0;
		if (d >= 9.2e18)
			return INT64_MAX;
		if (d <= -9.2e18)
			return INT64_MIN;
		return (int64_t)d;
	}
	{
		i128 c = a->u.c;
		int32_t s = a->scale;
		if (s > 0) {
			if (s > COEF_MAX_DIGITS)
				return 0;
			c /= pow10_128(s);
		} else if (s < 0) {
			if (-s > 20)
				return 0;
			c *= pow10_128(-s);
		}
		return (int64_t)c;
	}
}

double fnum_to_dbl(const fnum *a)
{
	if (a->kind == FN_INT)
		return (double)a->u.i;
	if (a->kind == FN_DBL)
		return a->u.d;
	{
		char buf[64];
		digits g;
		digits_of_i128(a->u.c, a->scale, &g);
		if (g.n == 0)
			return 0;
		snprintf(buf, sizeof(buf), "%s0.%.*se%d", g.neg ? "-" : "", g.n,
		         g.d, g.dp);
		return strtod(buf, NULL);
	}
}

int fnum_is_integral(const fnum *a)
{
	if (a->kind == FN_INT)
		return 1;
	if (a->kind == FN_DBL)
		return a->u.d == floor(a->u.d);
	if (a->scale <= 0)
		return 1;
	if (a->scale > COEF_MAX_DIGITS)
		return a->u.c == 0;
	return a->u.c % pow10_128(a->scale) == 0;
}

/* ?round, ?floor, ?ceiling as FreeMarker 2.3.31 computes them:
 * new BigDecimal(x.doubleValue()) (+ 0.5 for ?round) rounded to an integer.
 * Every number goes through double first, so integers beyond 2^53 land on
 * the nearest double (12345678901234567?round is 12345678901234568) and
 * the result is that double's exact integer value. Results of 10^38 and
 * more do not fit this engine's decimals: FNUM_EOVERFLOW. */
int fnum_round(const fnum *a, int mode, fnum *out)
{
	double d = fnum_to_dbl(a), r;
	if (isnan(d) || isinf(d) || fabs(d) >= 1e38)
		return FNUM_EOVERFLOW;
	r = floor(d);
	/* d - floor(d) is exact for doubles; below 2^52 is the only place a
	 * fraction exists */
	if (mode == 0 ? d - r >= 0.5 : mode == 2 && d != r)
		r += 1;
	set_dec(out, (i128)r, 0);
	return 0;
}

int fnum_abs(const fnum *a, fnum *out)
{
	*out = *a;
	if (a->kind == FN_INT) {
		/* Java's -n of an Integer or a Long: MIN_VALUE stays */
		if (a->u.i < 0 && a->u.i != INT64_MIN && a->u.i != INT32_MIN)
			out->u.i = -a->u.i;
	} else if (a->kind == FN_DBL) {
		out->u.d = fabs(a->u.d);
	} else if (a->u.c < 0) {
		out->u.c = -a->u.c;
	}
	return 0;
}

int fnum_parse(const char *s, size_t len, fnum *out)
{
	size_t i = 0;
	int neg = 0, nd = 0, frac = 0, any = 0;
	i128 c = 0;
	long exp = 0;
	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < len; i++) {
		if (s[i] >= '0' && s[i] <= '9') {
			any = 1;
			if (c == 0 && s[i] == '0') {
				if (frac)
					nd++;
				continue;
			}
			if (ndigits128(c) >= COEF_MAX_DIGITS)
				return FNUM_EOVERFLOW;
			c = c * 10 + (s[i] - '0');
			if (frac)
				nd++;
		} else if (s[i] == '.' && !frac) {
			frac = 1;
		} else {
			break;
		}
	}
	if (!any)
		return -3;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0, edig = 0;
		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
			edig = 1;
			if (exp < 100000)
				exp = exp * 10 + (s[i] - '0');
		}
		if (!edig)
			return -3;
		if (eneg)
			exp = -exp;
	}
	if (i != len)
		return -3;
	if (exp >= 100000 || exp <= -100000)
		return FNUM_EOVERFLOW;
	set_dec(out, neg ? -c : c, (int32_t)(nd - exp));
	return 0;
}
