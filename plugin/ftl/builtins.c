/*
 * builtins.c - the ?built-ins of the supported subset, with FreeMarker's
 * argument and type rules; string positions count UTF-16 units as Java
 * does.
 *
 * Pure functions of their inputs; everything they allocate lives in the
 * render's arena. Each runs in time linear in the bytes of its operands and
 * result (the searches use glibc's two-way memmem and a Knuth-Morris-Pratt
 * scan from the end), and charges that work to the render's budget
 * (feval_charge) before doing it, so a template cannot buy unbounded CPU
 * with a few built-ins in a loop. The exceptions are the regular
 * expressions (?matches, ?replace and ?split with flags): PCRE2 runs them
 * with its match, depth and heap limits (FTL_RE_*), so their backtracking
 * is bounded and a pattern that exceeds them is a limit error; their
 * compiled form is freed before the built-in returns. ?filter, ?map... run
 * lambdas and #functions through eval.c (feval_lambda, feval_call), which
 * charge their work like any expression or call.
 */
#define _GNU_SOURCE 1

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "eval.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

/* Template regular expressions (PCRE2): bounded backtracking, depth and
 * heap, so a pathological pattern is a limit error, never a hang. */
#define FTL_RE_MATCH_LIMIT 1000000u
#define FTL_RE_DEPTH_LIMIT 10000u
#define FTL_RE_HEAP_KIB    4096u

static int re_replace(fctx *c, const fexpr *e, const fval *v, const char *a,
                      size_t an, const char *r, size_t rn, const char *fl,
                      size_t fln, fval *out);
static int re_keep(fctx *c, const fexpr *e, const char *s, size_t n,
                   const char *a, size_t an, const char *fl, size_t fln,
                   fval *out);
static int re_ensure_start(fctx *c, const fexpr *e, const fval *v,
                           const char *chk, size_t cn, const char *pre,
                           size_t pn, const char *fl, size_t fln, fval *out);

enum {
	B_C,
	B_STRING,
	B_UPPER,
	B_LOWER,
	B_CAP_FIRST,
	B_UNCAP_FIRST,
	B_CAPITALIZE,
	B_TRIM,
	B_LENGTH,
	B_HAS_CONTENT,
	B_THEN,
	B_SWITCH,
	B_JOIN,
	B_REPLACE,
	B_CONTAINS,
	B_STARTS_WITH,
	B_ENDS_WITH,
	B_INDEX_OF,
	B_LAST_INDEX_OF,
	B_KEEP_BEFORE,
	B_KEEP_AFTER,
	B_KEEP_BEFORE_LAST,
	B_KEEP_AFTER_LAST,
	B_LEFT_PAD,
	B_RIGHT_PAD,
	B_TRUNCATE,
	B_SUBSTRING,
	B_SIZE,
	B_FIRST,
	B_LAST,
	B_SEQ_CONTAINS,
	B_SEQ_INDEX_OF,
	B_SORT,
	B_REVERSE,
	B_ROUND,
	B_FLOOR,
	B_CEILING,
	B_ABS,
	B_INT,
	B_NUMBER,
	B_HTML,
	B_XML,
	B_URL,
	B_URL_PATH,
	B_JS_STRING,
	B_JSON_STRING,
	B_INDEX,
	B_COUNTER,
	B_HAS_NEXT,
	B_IS_FIRST,
	B_IS_LAST,
	B_ITEM_PARITY,
	B_IS_EVEN_ITEM,
	B_IS_ODD_ITEM,
	B_KEYS,
	B_VALUES,
	B_IS_STRING,
	B_IS_NUMBER,
	B_IS_BOOLEAN,
	B_IS_SEQUENCE,
	B_IS_HASH,
	B_IS_HASH_EX,
	B_IS_ENUMERABLE,
	B_IS_INDEXABLE,
	B_IS_COLLECTION,
	B_IS_COLLECTION_EX,
	B_IS_METHOD,
	B_IS_TRANSFORM,
	B_IS_NODE,
	B_ENSURE_STARTS_WITH,
	B_ENSURE_ENDS_WITH,
	B_REMOVE_BEGINNING,
	B_REMOVE_ENDING,
	B_EXISTS,
	B_CHOP_LINEBREAK,
	B_IS_INFINITE,
	B_IS_NAN,
	B_BOOLEAN,
	B_CN,
	B_IS_MACRO,
	B_IS_DIRECTIVE,
	B_TRUNCATE_W,
	B_TRUNCATE_C,
	B_TRUNCATE_M,
	B_SPLIT,
	B_WORD_LIST,
	B_LOWER_ABC,
	B_UPPER_ABC,
	B_CHUNK,
	B_MIN,
	B_MAX,
	B_SEQUENCE,
	B_SEQ_LAST_INDEX_OF,
	B_FILTER,
	B_MAP,
	B_TAKE_WHILE,
	B_DROP_WHILE,
	B_DEFAULT,
	B_IF_EXISTS,
	B_MATCHES,
	B_GROUPS,
	B_DATE,
	B_TIME,
	B_DATETIME,
	B_DATE_IF_UNKNOWN,
	B_TIME_IF_UNKNOWN,
	B_DATETIME_IF_UNKNOWN,
	B_LONG,
	B_NUMBER_TO_DATE,
	B_NUMBER_TO_TIME,
	B_NUMBER_TO_DATETIME,
	B_IS_DATE,
	B_IS_DATE_LIKE,
	B_IS_DATE_ONLY,
	B_IS_TIME,
	B_IS_DATETIME,
	B_IS_UNKNOWN_DATE_LIKE,
	B_ISO, /* every ?iso_* variant: the name says which */
	B_UNSUPPORTED
};

static const char *const names[] = {
        "c",
        "string",
        "upper_case",
        "lower_case",
        "cap_first",
        "uncap_first",
        "capitalize",
        "trim",
        "length",
        "has_content",
        "then",
        "switch",
        "join",
        "replace",
        "contains",
        "starts_with",
        "ends_with",
        "index_of",
        "last_index_of",
        "keep_before",
        "keep_after",
        "keep_before_last",
        "keep_after_last",
        "left_pad",
        "right_pad",
        "truncate",
        "substring",
        "size",
        "first",
        "last",
        "seq_contains",
        "seq_index_of",
        "sort",
        "reverse",
        "round",
        "floor",
        "ceiling",
        "abs",
        "int",
        "number",
        "html",
        "xml",
        "url",
        "url_path",
        "js_string",
        "json_string",
        "index",
        "counter",
        "has_next",
        "is_first",
        "is_last",
        "item_parity",
        "is_even_item",
        "is_odd_item",
        "keys",
        "values",
        "is_string",
        "is_number",
        "is_boolean",
        "is_sequence",
        "is_hash",
        "is_hash_ex",
        "is_enumerable",
        "is_indexable",
        "is_collection",
        "is_collection_ex",
        "is_method",
        "is_transform",
        "is_node",
        "ensure_starts_with",
        "ensure_ends_with",
        "remove_beginning",
        "remove_ending",
        "exists",
        "chop_linebreak",
        "is_infinite",
        "is_nan",
        "boolean",
        "cn",
        "is_macro",
        "is_directive",
        "truncate_w",
        "truncate_c",
        "truncate_m",
        "split",
        "word_list",
        "lower_abc",
        "upper_abc",
        "chunk",
        "min",
        "max",
        "sequence",
        "seq_last_index_of",
        "filter",
        "map",
        "take_while",
        "drop_while",
        "default",
        "if_exists",
        "matches",
        "groups",
        "date",
        "time",
        "datetime",
        "date_if_unknown",
        "time_if_unknown",
        "datetime_if_unknown",
        "long",
        "number_to_date",
        "number_to_time",
        "number_to_datetime",
        "is_date",
        "is_date_like",
        "is_date_only",
        "is_time",
        "is_datetime",
        "is_unknown_date_like",
};

/* FreeMarker built-ins this engine leaves out: a runtime error names them. */
static const char *const unsupported[] = {"date",
                                          "time",
                                          "datetime",
                                          "date_if_unknown",
                                          "time_if_unknown",
                                          "datetime_if_unknown",
                                          "iso",
                                          "iso_utc",
                                          "iso_local",
                                          "iso_utc_ms",
                                          "iso_local_ms",
                                          "iso_utc_nz",
                                          "iso_local_nz",
                                          "iso_ms",
                                          "iso_nz",
                                          "iso_h",
                                          "iso_m",
                                          "iso_utc_h",
                                          "iso_utc_m",
                                          "iso_local_h",
                                          "iso_local_m",
                                          "string_date",
                                          "long",
                                          "short",
                                          "float",
                                          "double",
                                          "byte",
                                          "number_to_date",
                                          "number_to_time",
                                          "number_to_datetime",
                                          "eval",
                                          "eval_json",
                                          "interpret",
                                          "new",
                                          "api",
                                          "has_api",
                                          "no_esc",
                                          "esc",
                                          "markup_string",
                                          "node_name",
                                          "node_type",
                                          "node_namespace",
                                          "ancestors",
                                          "children",
                                          "parent",
                                          "root",
                                          "is_date",
                                          "is_datetime",
                                          "is_time",
                                          "is_unknown_date_like",
                                          "is_markup_output",
                                          "namespace",
                                          "default",
                                          "if_exists",
                                          "rtf",
                                          "web_safe",
                                          "j_string",
                                          "lower_abc",
                                          "upper_abc",
                                          "item_cycle",
                                          "item_parity_cap",
                                          "sort_by",
                                          "word_list",
                                          "absolute_template_name",
                                          "blank_to_null",
                                          "empty_to_null",
                                          "trim_to_null",
                                          "with_args",
                                          "with_args_last",
                                          "sequence",
                                          "counter",
                                          "xhtml",
                                          "rtf",
                                          "left_pad",
                                          "c_lower_case",
                                          "c_upper_case",
                                          "is_even",
                                          "is_odd",
                                          "is_enum",
                                          "url_path",
                                          "contains",
                                          "lower",
                                          "upper",
                                          "uncap",
                                          NULL};

/* ?iso, ?iso_utc, ?iso_local with _ms/_h/_m and _nz suffixes: the zone,
 * the accuracy (fdate_iso's ACC) and whether the offset shows. 0, or -1
 * when NAME is no such variant. */
static int iso_variant(const char *name, size_t n, int *zone, int *acc,
                       int *showz)
{
	size_t i = 3;
	if (n < 3 || memcmp(name, "iso", 3) != 0)
		return -1;
	*zone = 0; /* 0: argument, 1: UTC, 2: the time_zone setting */
	*acc = 2;
	*showz = 1; /* never for dates (fdate_iso's caller) */
	if (n - i >= 4 && memcmp(name + i, "_utc", 4) == 0)
		*zone = 1, i += 4;
	else if (n - i >= 6 && memcmp(name + i, "_local", 6) == 0)
		*zone = 2, i += 6;
	if (n - i >= 3 && memcmp(name + i, "_ms", 3) == 0)
		*acc = 3, i += 3; /* as FreeMarker: only when not zero */
	else if (n - i >= 2 && memcmp(name + i, "_h", 2) == 0)
		*acc = 0, i += 2;
	else if (n - i >= 2 && memcmp(name + i, "_m", 2) == 0)
		*acc = 1, i += 2;
	if (n - i >= 3 && memcmp(name + i, "_nz", 3) == 0)
		*showz = 0, i += 3;
	return i == n ? 0 : -1;
}

int feval_builtin_is_date(int id)
{
	return id == B_DATE || id == B_TIME || id == B_DATETIME;
}

int feval_builtin_id(const char *name, size_t n)
{
	int z, a, sz;
	if (iso_variant(name, n, &z, &a, &sz) == 0)
		return B_ISO;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strlen(names[i]) == n && memcmp(names[i], name, n) == 0)
			return (int)i;
	for (size_t i = 0; unsupported[i]; i++)
		if (strlen(unsupported[i]) == n &&
		    memcmp(unsupported[i], name, n) == 0)
			return B_UNSUPPORTED;
	return -1;
}

int feval_builtin_is_string(int id)
{
	return id == B_STRING;
}

int feval_builtin_is_loop(int id)
{
	return id >= B_INDEX && id <= B_IS_ODD_ITEM;
}

int feval_builtin_takes_lambda(int id)
{
	return id == B_FILTER || id == B_MAP || id == B_TAKE_WHILE ||
	       id == B_DROP_WHILE;
}

int feval_builtin_nargs_check(int id, int nargs)
{
	if (id == B_THEN && nargs != 2)
		return -1;
	if (id == B_SWITCH && nargs < 2)
		return -1;
	return 0;
}

/* ---- helpers ---------------------------------------------------------------
 */
static const char *bname(const fexpr *e)
{
	return e->s;
}

static int argc_err(fctx *c, const fexpr *e, const char *want)
{
	return feval_err(c, e->off, FTL_RUNTIME, "?%.*s expects %s, but got %d",
	                 (int)e->n, bname(e), want, e->nargs);
}

static int nargs(fctx *c, const fexpr *e, int lo, int hi)
{
	if (!e->sub && lo == 0)
		return 0;
	if (!e->sub && lo > 0)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%.*s needs arguments in parentheses",
		                 (int)e->n, bname(e));
	if (e->nargs < lo || e->nargs > hi) {
		char want[48];
		if (lo == hi)
			snprintf(want, sizeof(want), "%d argument%s", lo,
			         lo == 1 ? "" : "s");
		else
			snprintf(want, sizeof(want), "%d to %d arguments", lo,
			         hi);
		return argc_err(c, e, want);
	}
	return 0;
}

static int arg_type(fctx *c, const fexpr *e, int i, int t, fval *v)
{
	if (feval_expr(c, e->args[i], v))
		return -1;
	if (v->t == V_NONE)
		return feval_missing(c, e->args[i]);
	if (v->t != t)
		return feval_err(c, e->args[i]->off, FTL_RUNTIME,
		                 "argument %d of ?%.*s must be %s, not %s",
		                 i + 1, (int)e->n, bname(e),
		                 t == V_STR   ? "a string"
		                 : t == V_NUM ? "a number"
		                              : "a boolean",
		                 feval_type_name(v));
	return 0;
}

static int arg_str(fctx *c, const fexpr *e, int i, const char **s, size_t *n)
{
	fval v;
	if (feval_expr(c, e->args[i], &v))
		return -1;
	if (v.t == V_NONE)
		return feval_missing(c, e->args[i]);
	if (v.t != V_STR && v.t != V_NUM)
		return feval_err(c, e->args[i]->off, FTL_RUNTIME,
		                 "argument %d of ?%.*s must be a string, not "
		                 "%s",
		                 i + 1, (int)e->n, bname(e),
		                 feval_type_name(&v));
	return feval_text(c, e->args[i], &v, s, n);
}

/* A string argument that must be a string (FreeMarker's
 * getStringMethodArg: a number is an error). */
static int arg_strict(fctx *c, const fexpr *e, int i, const char **s, size_t *n)
{
	fval v;
	if (arg_type(c, e, i, V_STR, &v))
		return -1;
	*s = v.u.s.p;
	*n = v.u.s.n;
	return 0;
}

static int arg_int(fctx *c, const fexpr *e, int i, int64_t *x)
{
	fval v;
	if (arg_type(c, e, i, V_NUM, &v))
		return -1;
	*x = fnum_to_i64(&v.u.n);
	return 0;
}

static void set_bool(fval *o, int b)
{
	memset(o, 0, sizeof(*o));
	o->t = V_BOOL;
	o->u.b = b;
}

static void set_int(fval *o, int64_t i)
{
	memset(o, 0, sizeof(*o));
	o->t = V_NUM;
	fnum_from_i64(&o->u.n, i);
}

static void set_sub(fval *o, const char *p, size_t n)
{
	memset(o, 0, sizeof(*o));
	o->t = V_STR;
	o->u.s.p = p;
	o->u.s.n = n;
}

static int type_err(fctx *c, const fexpr *e, const fval *v, const char *want)
{
	int n;
	const char *s = feval_src(c, e->a, &n);
	return feval_err(c, e->off, FTL_RUNTIME,
	                 "?%.*s needs %s, but \"%.*s\" is %s", (int)e->n,
	                 bname(e), want, n, s, feval_type_name(v));
}

static int buf_result(fctx *c, fbuf *b, fval *out)
{
	int r;
	if (b->over || b->nomem) {
		r = feval_outerr(c, b);
		free(b->p);
		return r;
	}
	r = feval_str(c, b->p ? b->p : "", b->n, out);
	free(b->p);
	return r;
}

/* The first N in H (glibc's memmem is the two-way algorithm: linear). */
static const char *find(const char *h, size_t hn, const char *n, size_t nn)
{
	if (nn == 0)
		return h;
	if (nn > hn)
		return NULL;
	return memmem(h, hn, n, nn);
}

/* The same, charged: 0 with *HIT (NULL: none), or -1 (budget). */
static int find_c(fctx *c, const fexpr *e, const char *h, size_t hn,
                  const char *n, size_t nn, const char **hit)
{
	if (feval_charge(c, e->off, hn + nn))
		return -1;
	*hit = find(h, hn, n, nn);
	return 0;
}

/* The last N in H in O(hn + nn): Knuth-Morris-Pratt over both strings read
 * backwards (the naive scan is O(hn * nn), minutes for long strings).
 * 0 with *HIT (NULL: none), or -1 (budget, memory). */
static int rfind(fctx *c, const fexpr *e, const char *h, size_t hn,
                 const char *n, size_t nn, const char **hit)
{
	size_t stack[64], *f = stack, j = 0;
	*hit = NULL;
	if (nn > hn)
		return 0;
	if (feval_charge(c, e->off, hn + 2 * nn))
		return -1;
	if (nn == 0) {
		*hit = h + hn;
		return 0;
	}
	if (nn == 1) {
		*hit = memrchr(h, n[0], hn);
		return 0;
	}
	if (nn > sizeof(stack) / sizeof(stack[0])) {
		f = malloc(nn * sizeof(*f));
		if (!f)
			return feval_err(c, e->off, FTL_NOMEM, "out of memory");
	}
	/* R[k] = n[nn-1-k]: F[k] is the longest proper border of R[0..k] */
	f[0] = 0;
	for (size_t k = 1; k < nn; k++) {
		while (j > 0 && n[nn - 1 - k] != n[nn - 1 - j])
			j = f[j - 1];
		if (n[nn - 1 - k] == n[nn - 1 - j])
			j++;
		f[k] = j;
	}
	j = 0;
	for (size_t i = 0; i < hn; i++) {
		char ch = h[hn - 1 - i];
		while (j > 0 && ch != n[nn - 1 - j])
			j = f[j - 1];
		if (ch == n[nn - 1 - j])
			j++;
		if (j == nn) {
			*hit = h + (hn - 1 - i);
			break;
		}
	}
	if (f != stack)
		free(f);
	return 0;
}

/* ---- string built-ins --------------------------------------------------- */
static int case_first(fctx *c, const fexpr *e, const fval *v, int upper,
                      fval *out)
{
	const char *s = v->u.s.p;
	size_t n = v->u.s.n, i = 0;
	char *d;
	if (feval_charge(c, e->off, 2 * n))
		return -1;
	while (i < n) {
		uint32_t cp;
		int l = ftxt_decode(s + i, n - i, &cp);
		if (!ftxt_is_space(cp)) {
			uint32_t m = cp;
			char enc[4];
			int el;
			if (cp < 0x10000)
				m = upper ? ftxt_upper1(cp) : ftxt_lower1(cp);
			if (m > 0xffff)
				m = cp;
			el = ftxt_encode(m, enc);
			d = feval_alloc(c, n - (size_t)l + (size_t)el + 1);
			if (!d)
				return -1;
			memcpy(d, s, i);
			memcpy(d + i, enc, (size_t)el);
			memcpy(d + i + el, s + i + l, n - i - (size_t)l);
			set_sub(out, d, n - (size_t)l + (size_t)el);
			return 0;
		}
		i += (size_t)l;
	}
	*out = *v;
	return 0;
}

/* Java: each token between " \t\r\n" gets its first character upper-cased
 * and the rest lower-cased as a whole (so a final sigma is seen). */
static int capitalize(fctx *c, const fval *v, fval *out)
{
	fbuf b = {.max = c->out.max};
	const char *s = v->u.s.p;
	size_t n = v->u.s.n, i = 0;
	while (i < n) {
		size_t j = i;
		if (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' ||
		    s[i] == '\n') {
			fbuf_putc(&b, s[i]);
			i++;
			continue;
		}
		while (j < n && s[j] != ' ' && s[j] != '\t' && s[j] != '\r' &&
		       s[j] != '\n')
			j++;
		{
			uint32_t cp;
			int l = ftxt_decode(s + i, j - i, &cp);
			ftxt_upper(s + i, (size_t)l, &b);
			ftxt_lower(s + i + l, j - i - (size_t)l, &b);
		}
		i = j;
	}
	return buf_result(c, &b, out);
}

static int pad(fctx *c, const fexpr *e, const fval *v, int left, fval *out)
{
	int64_t width;
	const char *f = " ";
	size_t fn = 1, len;
	fbuf b = {.max = c->out.max};
	if (nargs(c, e, 1, 2) || arg_int(c, e, 0, &width))
		return -1;
	if (e->nargs > 1 && arg_str(c, e, 1, &f, &fn))
		return -1;
	if (fn == 0)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%s: the filler string can't be empty",
		                 left ? "left_pad" : "right_pad");
	if (feval_u16len(c, e->off, v->u.s.p, v->u.s.n, &len))
		return -1;
	if (width <= (int64_t)len) {
		*out = *v;
		return 0;
	}
	if ((uint64_t)width > c->out.max)
		return feval_err(c, e->off, FTL_LIMIT,
		                 "padding to %lld is over the output limit",
		                 (long long)width);
	{
		size_t need = (size_t)width - len, flen = ftxt_u16len(f, fn);
		size_t first = (left ? 0 : len) % flen;
		size_t at = 0; /* the filler's byte now */
		int half = 0;  /* at the second half of a surrogate pair */
		if (feval_charge(c, e->off, 2 * fn + need + v->u.s.n))
			return -1;
		if (!left)
			fbuf_put(&b, v->u.s.p, v->u.s.n);
		/* the filler is aligned to the absolute position: find that
		 * unit, then walk the filler cyclically, O(1) a unit */
		for (size_t k = 0; k < first + need; k++) {
			uint32_t cp;
			int l = ftxt_decode(f + at, fn - at, &cp);
			if (k >= first) {
				if (b.over || b.nomem)
					break;
				/* half a surrogate pair: the whole filler
				 * goes in (see docs/templates.md) */
				if (cp >= 0x10000)
					fbuf_put(&b, f, fn);
				else
					fbuf_put(&b, f + at, (size_t)l);
			}
			if (cp >= 0x10000 && !half) {
				half = 1;
				continue;
			}
			half = 0;
			at += (size_t)l;
			if (at >= fn)
				at = 0;
		}
		if (left)
			fbuf_put(&b, v->u.s.p, v->u.s.n);
	}
	return buf_result(c, &b, out);
}

static int u16_sub(fctx *c, const fexpr *e, const fval *v, size_t len,
                   int64_t from, int64_t to, fval *out)
{
	long a = feval_u16_to_byte(v->u.s.p, v->u.s.n, len, (size_t)from);
	long z = feval_u16_to_byte(v->u.s.p, v->u.s.n, len, (size_t)to);
	if (a < 0 || z < 0)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%.*s would split a character in two "
		                 "(UTF-16 surrogate pair)",
		                 (int)e->n, bname(e));
	set_sub(out, v->u.s.p + a, (size_t)(z - a));
	return 0;
}

static int substring(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	int64_t from, to;
	size_t len;
	if (nargs(c, e, 1, 2) || arg_int(c, e, 0, &from) ||
	    feval_u16len(c, e->off, v->u.s.p, v->u.s.n, &len) ||
	    feval_charge(c, e->off, len == v->u.s.n ? 0 : v->u.s.n))
		return -1;
	to = (int64_t)len;
	if (e->nargs > 1 && arg_int(c, e, 1, &to))
		return -1;
	if (from < 0 || from > (int64_t)len || to < from || to > (int64_t)len)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?substring(%lld, %lld) is out of bounds for "
		                 "a string of length %zu",
		                 (long long)from, (long long)to, len);
	return u16_sub(c, e, v, len, from, to, out);
}

/* FreeMarker's default ?truncate (2.3.29+): terminator "[...]", prefers
 * cutting at a word end (then a space goes before the terminator) when that
 * keeps at least 75% of the length; counts UTF-16 units. */
static int u16_ws(const uint16_t *u, size_t i)
{
	return ftxt_is_space(u[i]);
}

static int is_dot16(uint16_t c)
{
	return c == '.' || c == 0x2026;
}

/* FreeMarker's DefaultTruncateBuiltinAlgorithm: ?truncate (word boundary
 * when one is close enough, else character boundary), ?truncate_w (word
 * boundary only), ?truncate_c (character boundary only), ?truncate_m (as
 * ?truncate with an HTML terminator; the kept text is HTML-escaped).
 * Arguments: the length, the terminator, the terminator's length. */
static int truncate(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	enum {
		TR_AUTO,
		TR_WORD,
		TR_CHAR
	} mode = e->bi == B_TRUNCATE_W   ? TR_WORD
	         : e->bi == B_TRUNCATE_C ? TR_CHAR
	                                 : TR_AUTO;
	static const char mterm[] =
	        "<span class='truncateTerminator'>[&#8230;]</span>";
	int markup = e->bi == B_TRUNCATE_M;
	const char *term = "[...]";
	size_t termn = 5;
	int64_t max, cb, cb0, wb, minidx, tl = 5, wtl;
	size_t len = 0, i = 0;
	uint16_t *u;
	int following, space = 0, rmdots = 0, skipped;
	fbuf b = {.max = c->out.max};
	if (nargs(c, e, 1, 3) || arg_int(c, e, 0, &max))
		return -1;
	if (e->nargs > 1) {
		size_t tu;
		markup = 0;
		if (arg_str(c, e, 1, &term, &termn) ||
		    feval_u16len(c, e->off, term, termn, &tu))
			return -1;
		tl = (int64_t)tu;
		rmdots = (termn && term[0] == '.') ||
		         (termn >= 3 && memcmp(term, "\xe2\x80\xa6", 3) == 0);
	} else if (markup) {
		term = mterm;
		termn = sizeof(mterm) - 1;
		tl = 3; /* what shows: "[…]" */
	}
	if (e->nargs > 2) {
		if (arg_int(c, e, 2, &tl))
			return -1;
		if (tl < 0)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "?%.*s: the terminator length can't be "
			        "negative",
			        (int)e->n, e->s);
	}
	if (max < 0)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%.*s: the length can't be negative",
		                 (int)e->n, e->s);
	if (feval_u16len(c, e->off, v->u.s.p, v->u.s.n, &len))
		return -1;
	if ((int64_t)len <= max) {
		*out = *v;
		return 0;
	}
	/* only the first MAX + 2 units are ever looked at: decode those
	 * (a temporary, not kept in the arena) */
	{
		size_t want = (size_t)max + 2;
		size_t cap = want < v->u.s.n ? want : v->u.s.n;
		if (feval_charge(c, e->off, 4 * cap))
			return -1;
		u = malloc(sizeof(uint16_t) * (cap + 2));
		if (!u)
			return feval_err(c, e->off, FTL_NOMEM, "out of memory");
		len = 0;
		while (i < v->u.s.n && len < want) {
			uint32_t cp;
			i += (size_t)ftxt_decode(v->u.s.p + i, v->u.s.n - i,
			                         &cp);
			if (cp >= 0x10000) {
				u[len++] = (uint16_t)(0xd800 +
				                      ((cp - 0x10000) >> 10));
				u[len++] = (uint16_t)(0xdc00 +
				                      ((cp - 0x10000) & 0x3ff));
			} else {
				u[len++] = (uint16_t)cp;
			}
		}
	}
#define WORD_END(k) ((size_t)(k) + 1 >= len || u16_ws(u, (size_t)(k) + 1))
	cb0 = cb = max - tl - 1;
	while (cb >= 0 && u16_ws(u, (size_t)cb))
		cb--;
	if (cb < 0)
		goto term_only;
	if (mode != TR_CHAR) {
		wtl = tl + 1; /* the space before the terminator */
		minidx = mode == TR_AUTO
		                 ? (int64_t)ceil((double)max * 0.75) - wtl - 1
		                 : 0;
		if (minidx < 0)
			minidx = 0;
		wb = max - wtl - 1 < cb ? max - wtl - 1 : cb;
		following =
		        (int64_t)len > wb + 1 ? u16_ws(u, (size_t)wb + 1) : 1;
		while (wb >= minidx) {
			int cur = u16_ws(u, (size_t)wb);
			if (!cur && following) {
				cb = wb;
				space = 1;
				goto emit;
			}
			following = cur;
			wb--;
		}
		if (mode == TR_WORD)
			goto term_only;
	}
	if (cb == cb0 && WORD_END(cb)) {
		cb--;
		if (cb < 0)
			goto term_only;
	}
	do {
		skipped = 0;
		while (cb >= 0 && u16_ws(u, (size_t)cb))
			cb--;
		if (cb < 0)
			goto term_only;
		if (rmdots && is_dot16(u[cb]) && !WORD_END(cb)) {
			while (cb >= 0 && is_dot16(u[cb]))
				cb--;
			if (cb < 0)
				goto term_only;
			skipped = 1;
		}
	} while (skipped);
	space = WORD_END(cb);
#undef WORD_END
emit : {
	long z = ftxt_u16_to_byte(v->u.s.p, v->u.s.n, (size_t)cb + 1);
	if (z < 0) /* a surrogate pair cut in two: keep the whole character */
		z = ftxt_u16_to_byte(v->u.s.p, v->u.s.n, (size_t)cb + 2);
	free(u);
	if (markup) {
		/* the text becomes HTML, as FreeMarker's HTML output
		 * format escapes it */
		for (long k = 0; k < z; k++) {
			char ch = v->u.s.p[k];
			const char *r = ch == '<'    ? "&lt;"
			                : ch == '>'  ? "&gt;"
			                : ch == '&'  ? "&amp;"
			                : ch == '"'  ? "&quot;"
			                : ch == '\'' ? "&#39;"
			                             : NULL;
			if (r)
				fbuf_put(&b, r, strlen(r));
			else
				fbuf_putc(&b, ch);
		}
		if (feval_charge(c, e->off, (size_t)z))
			return -1;
	} else {
		fbuf_put(&b, v->u.s.p, (size_t)z);
	}
	if (space)
		fbuf_put(&b, " ", 1);
	fbuf_put(&b, term, termn);
	return buf_result(c, &b, out);
}
term_only:
	free(u);
	set_sub(out, term, termn);
	return 0;
}

/* Characters ?url (and ?url_path, with '/') leaves as they are. */
static int url_safe(unsigned char ch, int path)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
	       (ch >= '0' && ch <= '9') || ch == '_' || ch == '-' ||
	       ch == '.' || ch == '!' || ch == '~' || ch == '*' || ch == '\'' ||
	       ch == '(' || ch == ')' || (path && ch == '/');
}

/* ?url in UTF-16 or UTF-32 (CS >= FURL_WIDE): FreeMarker encodes each
 * run of characters to escape on its own (String.getBytes), so UTF-16
 * and UnicodeLittle put a byte order mark before every run. OUT gets the
 * escaped text. */
static int url_wide(fctx *c, const fexpr *e, const fval *v, int cs, int path,
                    fval *out)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)v->u.s.p;
	size_t n = v->u.s.n;
	int le = cs == FURL_UTF16LE || cs == FURL_UNICODE_LITTLE ||
	         cs == FURL_UTF32LE;
	int wide32 = cs >= FURL_UTF32;
	int bom = cs == FURL_UTF16 || cs == FURL_UNICODE_LITTLE;
	fbuf b = {.max = c->out.max};
	/* up to 12 escaped bytes (%XX) for each byte of the text */
	if (feval_charge(c, e->off, n * 4))
		return -1;
	for (size_t i = 0; i < n && !b.over && !b.nomem;) {
		uint32_t units[2];
		int nu = 1;
		if (url_safe(p[i], path)) {
			fbuf_putc(&b, (char)p[i++]);
			continue;
		}
		if (bom && (i == 0 || url_safe(p[i - 1], path)))
			fbuf_put(&b, le ? "%FF%FE" : "%FE%FF", 6);
		{
			uint32_t cp = p[i];
			size_t w = cp < 0x80   ? 1
			           : cp < 0xe0 ? 2
			           : cp < 0xf0 ? 3
			                       : 4;
			if (i + w > n)
				w = n - i;
			if (w == 2)
				cp = ((cp & 0x1fu) << 6) | (p[i + 1] & 0x3fu);
			else if (w == 3)
				cp = ((cp & 0xfu) << 12) |
				     ((p[i + 1] & 0x3fu) << 6) |
				     (p[i + 2] & 0x3fu);
			else if (w == 4)
				cp = ((cp & 7u) << 18) |
				     ((p[i + 1] & 0x3fu) << 12) |
				     ((p[i + 2] & 0x3fu) << 6) |
				     (p[i + 3] & 0x3fu);
			i += w;
			units[0] = cp;
			if (!wide32 && cp >= 0x10000) {
				units[0] = 0xd800u + ((cp - 0x10000) >> 10);
				units[1] = 0xdc00u + ((cp - 0x10000) & 0x3ffu);
				nu = 2;
			}
		}
		for (int u = 0; u < nu; u++) {
			int nb = wide32 ? 4 : 2;
			for (int k = 0; k < nb; k++) {
				int sh = le ? 8 * k : 8 * (nb - 1 - k);
				unsigned ch = (units[u] >> sh) & 0xffu;
				char tmp[3] = {'%', hex[ch >> 4], hex[ch & 15]};
				fbuf_put(&b, tmp, 3);
			}
		}
	}
	return buf_result(c, &b, out);
}

/* ?url's charset (settings: eval.c): OUT gets the string transcoded
 * (V_STR) when the charset is a one-byte one, else stays V_NONE; for
 * UTF-16 and UTF-32 OUT is the result and *DONE is set. */
static int url_charset(fctx *c, const fexpr *e, const fval *v, fval *out,
                       int *done)
{
	int cs = c->url_cs;
	const char *s = v->u.s.p;
	size_t n = v->u.s.n;
	memset(out, 0, sizeof(*out));
	*done = 0;
	if (e->nargs == 1) {
		fval a;
		if (feval_expr(c, e->args[0], &a))
			return -1;
		if (a.t != V_STR)
			return feval_err(
			        c, e->args[0]->off, FTL_RUNTIME,
			        "?url's argument must be a charset name "
			        "(a string)");
		cs = feval_url_charset(a.u.s.p, a.u.s.n);
		if (cs < 0) {
			/* FreeMarker asks for the charset only when
			 * something needs escaping */
			size_t i = 0;
			while (i < n && url_safe((unsigned char)s[i],
			                         e->bi == B_URL_PATH))
				i++;
			if (i == n)
				return 0;
			return feval_err(
			        c, e->args[0]->off, FTL_RUNTIME,
			        "?url: the charset \"%.*s\" is not "
			        "supported (use one of " FURL_NAMES ")",
			        (int)ftxt_clip(a.u.s.p, a.u.s.n, 40), a.u.s.p);
		}
	}
	if (cs == FURL_UTF8)
		return 0;
	if (cs >= FURL_WIDE) {
		*done = 1;
		return url_wide(c, e, v, cs, e->bi == B_URL_PATH, out);
	}
	if (feval_url_transcode(c, e->off, cs, &s, &n))
		return -1;
	out->t = V_STR;
	out->u.s.p = s;
	out->u.s.n = n;
	return 0;
}

static int escape(fctx *c, const fval *v, int kind, fval *out)
{
	fbuf b = {.max = c->out.max};
	const char *s = v->u.s.p;
	size_t n = v->u.s.n;
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n && !b.over && !b.nomem; i++) {
		unsigned char ch = (unsigned char)s[i];
		char tmp[8];
		switch (kind) {
		case B_HTML:
		case B_XML:
			if (ch == '<')
				fbuf_put(&b, "&lt;", 4);
			else if (ch == '>')
				fbuf_put(&b, "&gt;", 4);
			else if (ch == '&')
				fbuf_put(&b, "&amp;", 5);
			else if (ch == '"')
				fbuf_put(&b, "&quot;", 6);
			else if (ch == '\'')
				fbuf_put(&b,
				         kind == B_HTML ? "&#39;" : "&apos;",
				         kind == B_HTML ? 5 : 6);
			else
				fbuf_putc(&b, (char)ch);
			break;
		case B_URL:
		case B_URL_PATH:
			if (url_safe(ch, kind == B_URL_PATH)) {
				fbuf_putc(&b, (char)ch);
			} else {
				tmp[0] = '%';
				tmp[1] = hex[ch >> 4];
				tmp[2] = hex[ch & 15];
				fbuf_put(&b, tmp, 3);
			}
			break;
		case B_JS_STRING:
		case B_JSON_STRING: {
			int js = kind == B_JS_STRING;
			if (ch == '"')
				fbuf_put(&b, "\\\"", 2);
			else if (ch == '\'' && js)
				fbuf_put(&b, "\\'", 2);
			else if (ch == '\\')
				fbuf_put(&b, "\\\\", 2);
			else if (ch == '/' && i > 0 && s[i - 1] == '<')
				fbuf_put(&b, "\\/", 2);
			else if (ch == '>' && i >= 2 &&
			         ((s[i - 1] == ']' && s[i - 2] == ']') ||
			          (s[i - 1] == '-' && s[i - 2] == '-')))
				fbuf_put(&b, js ? "\\>" : "\\u003E",
				         js ? 2 : 6);
			else if (ch == '<' && i + 1 < n && s[i + 1] == '!')
				fbuf_put(&b, js ? "\\x3C" : "\\u003C",
				         js ? 4 : 6);
			else if (ch == '\n')
				fbuf_put(&b, "\\n", 2);
			else if (ch == '\r')
				fbuf_put(&b, "\\r", 2);
			else if (ch == '\t')
				fbuf_put(&b, "\\t", 2);
			else if (ch == '\b')
				fbuf_put(&b, "\\b", 2);
			else if (ch == '\f')
				fbuf_put(&b, "\\f", 2);
			else if (ch < 0x20 || ch == 0x7f) {
				if (js)
					snprintf(tmp, sizeof(tmp), "\\x%02X",
					         ch);
				else
					snprintf(tmp, sizeof(tmp), "\\u%04X",
					         ch);
				fbuf_put(&b, tmp, strlen(tmp));
			} else if (ch == 0xe2 && i + 2 < n &&
			           (unsigned char)s[i + 1] == 0x80 &&
			           ((unsigned char)s[i + 2] == 0xa8 ||
			            (unsigned char)s[i + 2] == 0xa9)) {
				fbuf_put(&b,
				         (unsigned char)s[i + 2] == 0xa8
				                 ? "\\u2028"
				                 : "\\u2029",
				         6);
				i += 2;
			} else
				fbuf_putc(&b, (char)ch);
			break;
		}
		}
	}
	return buf_result(c, &b, out);
}

static int replace(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const char *a, *r, *s = v->u.s.p;
	size_t an, rn, n = v->u.s.n, i = 0;
	fbuf b = {.max = c->out.max};
	if (nargs(c, e, 2, 3) || arg_str(c, e, 0, &a, &an) ||
	    arg_str(c, e, 1, &r, &rn))
		return -1;
	if (e->nargs == 3) {
		const char *fl;
		size_t fln;
		if (arg_str(c, e, 2, &fl, &fln))
			return -1;
		if (feval_charge(c, e->off, fln))
			return -1;
		for (size_t k = 0; k < fln; k++)
			if (fl[k] == 'r' || fl[k] == 'i')
				return re_replace(c, e, v, a, an, r, rn, fl,
				                  fln, out);
		if (!memchr(fl, 'f', fln))
			goto all;
		{
			const char *hit;
			if (find_c(c, e, s, n, a, an, &hit))
				return -1;
			if (!hit) {
				*out = *v;
				return 0;
			}
			fbuf_put(&b, s, (size_t)(hit - s));
			fbuf_put(&b, r, rn);
			fbuf_put(&b, hit + an, n - (size_t)(hit - s) - an);
			return buf_result(c, &b, out);
		}
	}
all:
	/* every search below is linear and they do not overlap: the whole
	 * scan is O(n + an), plus what is built (charged as it is kept) */
	if (feval_charge(c, e->off, n + an))
		return -1;
	if (an == 0) {
		/* Java: the replacement goes between every character */
		fbuf_put(&b, r, rn);
		while (i < n && !b.over && !b.nomem) {
			uint32_t cp;
			int l = ftxt_decode(s + i, n - i, &cp);
			fbuf_put(&b, s + i, (size_t)l);
			fbuf_put(&b, r, rn);
			i += (size_t)l;
		}
		return buf_result(c, &b, out);
	}
	while (i <= n && !b.over && !b.nomem) {
		const char *hit = find(s + i, n - i, a, an);
		if (!hit) {
			fbuf_put(&b, s + i, n - i);
			break;
		}
		fbuf_put(&b, s + i, (size_t)(hit - (s + i)));
		fbuf_put(&b, r, rn);
		i = (size_t)(hit - s) + an;
	}
	return buf_result(c, &b, out);
}

static int string_bi(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const char *s = v->u.s.p, *a;
	size_t n = v->u.s.n, an;
	fbuf b = {.max = c->out.max};
	const char *hit;
	size_t len;
	switch (e->bi) {
	case B_UPPER:
	case B_LOWER:
	case B_CAPITALIZE:
	case B_TRIM:
	case B_HTML:
	case B_XML:
	case B_URL:
	case B_URL_PATH:
	case B_JS_STRING:
	case B_JSON_STRING:
	case B_NUMBER:
		/* one pass over the string; what they build is charged when
		 * it is kept (feval_str) */
		if (feval_charge(c, e->off, n))
			return -1;
		break;
	}
	switch (e->bi) {
	case B_UPPER: ftxt_upper(s, n, &b); return buf_result(c, &b, out);
	case B_LOWER: ftxt_lower(s, n, &b); return buf_result(c, &b, out);
	case B_CAP_FIRST:
	case B_UNCAP_FIRST:
		return case_first(c, e, v, e->bi == B_CAP_FIRST, out);
	case B_CAPITALIZE: return capitalize(c, v, out);
	case B_TRIM: {
		size_t i = 0, j = n;
		while (i < j && (unsigned char)s[i] <= ' ')
			i++;
		while (j > i && (unsigned char)s[j - 1] <= ' ')
			j--;
		set_sub(out, s + i, j - i);
		return 0;
	}
	case B_LENGTH:
		if (feval_u16len(c, e->off, s, n, &len))
			return -1;
		set_int(out, (int64_t)len);
		return 0;
	case B_CONTAINS:
	case B_STARTS_WITH:
	case B_ENDS_WITH:
		if (nargs(c, e, 1, 1) || arg_str(c, e, 0, &a, &an))
			return -1;
		if (e->bi == B_CONTAINS) {
			if (find_c(c, e, s, n, a, an, &hit))
				return -1;
			set_bool(out, hit != NULL);
		} else if (feval_charge(c, e->off, an)) {
			return -1;
		} else if (e->bi == B_STARTS_WITH)
			set_bool(out, an <= n && memcmp(s, a, an) == 0);
		else
			set_bool(out,
			         an <= n && memcmp(s + n - an, a, an) == 0);
		return 0;
	case B_INDEX_OF:
	case B_LAST_INDEX_OF: {
		int64_t from = -1;
		if (nargs(c, e, 1, 2) || arg_str(c, e, 0, &a, &an))
			return -1;
		if (e->nargs > 1 && arg_int(c, e, 1, &from))
			return -1;
		/* positions are UTF-16 units: free for ASCII strings, one
		 * charged pass otherwise */
		if (feval_u16len(c, e->off, s, n, &len) ||
		    feval_charge(c, e->off, len == n ? 0 : 2 * n))
			return -1;
		if (e->bi == B_INDEX_OF) {
			size_t start = 0;
			if (from > 0) {
				long bo;
				if ((size_t)from > len) {
					set_int(out,
					        an == 0 ? (int64_t)len : -1);
					return 0;
				}
				bo = feval_u16_to_byte(s, n, len, (size_t)from);
				start = bo < 0 ? n : (size_t)bo;
			}
			if (find_c(c, e, s + start, n - start, a, an, &hit))
				return -1;
		} else {
			size_t lim = n;
			if (e->nargs > 1) {
				long bo;
				if (from < 0) {
					set_int(out, -1);
					return 0;
				}
				bo = feval_u16_to_byte(s, n, len, (size_t)from);
				lim = bo < 0 ? n : (size_t)bo + an;
				if (lim > n)
					lim = n;
			}
			if (rfind(c, e, s, lim, a, an, &hit))
				return -1;
		}
		set_int(out, hit ? (int64_t)feval_byte_to_u16(s, n, len,
		                                              (size_t)(hit - s))
		                 : -1);
		return 0;
	}
	case B_KEEP_BEFORE:
	case B_KEEP_AFTER:
	case B_KEEP_BEFORE_LAST:
	case B_KEEP_AFTER_LAST:
		if (nargs(c, e, 1, 2) || arg_str(c, e, 0, &a, &an))
			return -1;
		if (e->nargs > 1) {
			const char *fl;
			size_t fln;
			if (arg_strict(c, e, 1, &fl, &fln))
				return -1;
			return re_keep(c, e, s, n, a, an, fl, fln, out);
		}
		if ((e->bi == B_KEEP_BEFORE || e->bi == B_KEEP_AFTER)
		            ? find_c(c, e, s, n, a, an, &hit)
		            : rfind(c, e, s, n, a, an, &hit))
			return -1;
		if (e->bi == B_KEEP_BEFORE || e->bi == B_KEEP_BEFORE_LAST)
			set_sub(out, s, hit ? (size_t)(hit - s) : n);
		else if (hit)
			set_sub(out, hit + an, n - (size_t)(hit - s) - an);
		else
			set_sub(out, "", 0);
		return 0;
	case B_ENSURE_STARTS_WITH:
	case B_ENSURE_ENDS_WITH:
	case B_REMOVE_BEGINNING:
	case B_REMOVE_ENDING: {
		int st = e->bi == B_ENSURE_STARTS_WITH ||
		         e->bi == B_REMOVE_BEGINNING;
		int has;
		if (e->bi == B_ENSURE_STARTS_WITH && e->nargs > 1) {
			/* (regex, prefix[, flags]): the prefix is added when
			 * the expression doesn't match at the start */
			const char *pre, *fl = "r";
			size_t pn, fln = 1;
			if (nargs(c, e, 1, 3) || arg_str(c, e, 0, &a, &an) ||
			    arg_strict(c, e, 1, &pre, &pn) ||
			    (e->nargs > 2 && arg_strict(c, e, 2, &fl, &fln)))
				return -1;
			return re_ensure_start(c, e, v, a, an, pre, pn, fl, fln,
			                       out);
		}
		if (nargs(c, e, 1, e->bi == B_ENSURE_STARTS_WITH ? 3 : 1) ||
		    arg_str(c, e, 0, &a, &an) || feval_charge(c, e->off, an))
			return -1;
		has = an <= n && memcmp(st ? s : s + n - an, a, an) == 0;
		if (e->bi == B_REMOVE_BEGINNING || e->bi == B_REMOVE_ENDING) {
			if (has)
				set_sub(out, st ? s + an : s, n - an);
			else
				*out = *v;
			return 0;
		}
		if (has) {
			*out = *v;
			return 0;
		}
		if (st) {
			fbuf_put(&b, a, an);
			fbuf_put(&b, s, n);
		} else {
			fbuf_put(&b, s, n);
			fbuf_put(&b, a, an);
		}
		return buf_result(c, &b, out);
	}
	case B_CHOP_LINEBREAK:
		if (n && s[n - 1] == '\n')
			n -= (n > 1 && s[n - 2] == '\r') ? 2 : 1;
		else if (n && s[n - 1] == '\r')
			n--;
		set_sub(out, s, n);
		return 0;
	case B_LEFT_PAD:
	case B_RIGHT_PAD: return pad(c, e, v, e->bi == B_LEFT_PAD, out);
	case B_TRUNCATE:
	case B_TRUNCATE_W:
	case B_TRUNCATE_C:
	case B_TRUNCATE_M: return truncate(c, e, v, out);
	case B_SUBSTRING: return substring(c, e, v, out);
	case B_REPLACE: return replace(c, e, v, out);
	case B_HTML:
	case B_XML:
	case B_URL:
	case B_URL_PATH:
	case B_JS_STRING:
	case B_JSON_STRING:
		if (e->bi == B_URL || e->bi == B_URL_PATH) {
			if (nargs(c, e, 0, 1))
				return -1;
			/* the charset: the argument, else the
			 * url_escaping_charset setting (eval.c) */
			int done;
			if (url_charset(c, e, v, out, &done))
				return -1;
			if (done)
				return 0;
			if (out->t == V_STR)
				v = out;
		}
		return escape(c, v, e->bi, out);
	case B_NUMBER: {
		size_t i = 0, j = n;
		memset(out, 0, sizeof(*out));
		out->t = V_NUM;
		if (fnum_parse(s + i, j - i, &out->u.n))
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "can't convert \"%.*s\" to a number",
			                 (int)ftxt_clip(s, n, 40), s);
		return 0;
	}
	case B_BOOLEAN:
		if (n == 4 && memcmp(s, "true", 4) == 0)
			set_bool(out, 1);
		else if (n == 5 && memcmp(s, "false", 5) == 0)
			set_bool(out, 0);
		else
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "can't convert \"%.*s\" to a boolean",
			                 (int)ftxt_clip(s, n, 40), s);
		return 0;
	}
	return type_err(c, e, v, "a number or a boolean");
}

/* ---- sequences ------------------------------------------------------------
 */
static int seq_items(fctx *c, const fval *v, fval **items, size_t *n)
{
	size_t len = feval_seq_len(v);
	fval *a;
	if (feval_step(c, (size_t)-1, len))
		return -1;
	if (v->k == K_ARR) {
		*items = v->u.a.v;
		*n = v->u.a.n;
		return 0;
	}
	a = feval_alloc(c, sizeof(fval) * (len + 1));
	if (!a)
		return -1;
	for (size_t i = 0; i < len; i++)
		if (feval_seq_get(c, v, i, &a[i]))
			return -1;
	*items = a;
	*n = len;
	return 0;
}

static void set_seq(fval *o, fval *v, size_t n)
{
	memset(o, 0, sizeof(*o));
	o->t = V_SEQ;
	o->k = K_ARR;
	o->u.a.v = v;
	o->u.a.n = n;
}

/* Java's Collator (en_US, tertiary strength), roughly: letters compare
 * case-insensitively first, then lower case before upper case. */
static int coll_cmp(const fval *a, const fval *b)
{
	const char *s = a->u.s.p, *t = b->u.s.p;
	size_t n = a->u.s.n, m = b->u.s.n, i = 0, j = 0;
	int tert = 0;
	while (i < n && j < m) {
		uint32_t x, y, lx, ly;
		i += (size_t)ftxt_decode(s + i, n - i, &x);
		j += (size_t)ftxt_decode(t + j, m - j, &y);
		lx = ftxt_lower1(x);
		ly = ftxt_lower1(y);
		if (lx != ly)
			return lx < ly ? -1 : 1;
		if (!tert && x != y)
			tert = x == lx ? -1 : 1;
	}
	if (i < n)
		return 1;
	if (j < m)
		return -1;
	return tert;
}

static int sort_seq(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	fval *items, *a, *tmp;
	size_t n;
	int kind;
	if (seq_items(c, v, &items, &n))
		return -1;
	a = feval_alloc(c, sizeof(fval) * (n + 1) * 2);
	if (!a)
		return -1;
	tmp = a + n + 1;
	if (n == 0) {
		set_seq(out, a, 0);
		return 0;
	}
	kind = items[0].t;
	if (kind != V_STR && kind != V_NUM && kind != V_BOOL)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?sort can sort only strings, numbers or "
		                 "booleans, not %s",
		                 feval_type_name(&items[0]));
	for (size_t i = 0; i < n; i++) {
		if (items[i].t != kind)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "?sort: all values must be of the "
			                 "same type, but item %zu is %s and "
			                 "the first is %s",
			                 i, feval_type_name(&items[i]),
			                 feval_type_name(&items[0]));
		a[i] = items[i];
	}
	if (feval_step(c, e->off, n * 20))
		return -1;
	{
		/* each of the log2(n) merge passes compares every string at
		 * most twice: charge what the comparisons read */
		size_t bytes = 0, passes = 1;
		for (size_t w = 1; w < n; w *= 2)
			passes++;
		if (kind == V_STR)
			for (size_t i = 0; i < n; i++)
				bytes += a[i].u.s.n;
		if (feval_charge(c, e->off, 2 * (bytes + n) * passes))
			return -1;
	}
	/* stable bottom-up merge sort */
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = lo + 2 * w < n ? lo + 2 * w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi) {
				int r;
				if (kind == V_STR)
					r = coll_cmp(&a[j], &a[i]);
				else if (kind == V_NUM)
					r = fnum_cmp(&a[j].u.n, &a[i].u.n);
				else
					r = a[j].u.b - a[i].u.b;
				tmp[k++] = r < 0 ? a[j++] : a[i++];
			}
			while (i < mid)
				tmp[k++] = a[i++];
			while (j < hi)
				tmp[k++] = a[j++];
		}
		memcpy(a, tmp, sizeof(fval) * n);
	}
	set_seq(out, a, n);
	return 0;
}

static int lenient_eq(fctx *c, const fval *a, const fval *b)
{
	int r;
	(void)c;
	if (a->t != b->t)
		return 0;
	if (a->t == V_NUM)
		return fnum_cmp(&a->u.n, &b->u.n) == 0;
	if (a->t == V_STR) /* the length compared: charged by the caller */
		return a->u.s.n == b->u.s.n &&
		       memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0;
	if (a->t == V_BOOL)
		return a->u.b == b->u.b;
	r = 0;
	return r;
}

static int join(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const char *sep, *empty = NULL, *suffix = NULL;
	size_t sn, en = 0, xn = 0, n;
	fval *items;
	fbuf b = {.max = c->out.max};
	int any = 0;
	if (nargs(c, e, 1, 3) || arg_str(c, e, 0, &sep, &sn))
		return -1;
	if (e->nargs > 1 && arg_str(c, e, 1, &empty, &en))
		return -1;
	if (e->nargs > 2 && arg_str(c, e, 2, &suffix, &xn))
		return -1;
	if (seq_items(c, v, &items, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (items[i].t == V_NONE)
			continue;
		if (items[i].t != V_STR && items[i].t != V_NUM &&
		    !(items[i].t == V_BOOL && c->bool_true)) {
			free(b.p);
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "?join: item %zu is %s; only strings "
			                 "and numbers can be joined",
			                 i, feval_type_name(&items[i]));
		}
		if (any)
			fbuf_put(&b, sep, sn);
		if (feval_to_text(c, e, &items[i], &b, e->off)) {
			free(b.p);
			return -1;
		}
		any = 1;
	}
	if (!any && empty)
		fbuf_put(&b, empty, en);
	else if (any && suffix)
		fbuf_put(&b, suffix, xn);
	return buf_result(c, &b, out);
}

static int seq_bi(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	size_t n = feval_seq_len(v);
	switch (e->bi) {
	case B_SIZE: set_int(out, (int64_t)n); return 0;
	case B_FIRST:
		if (n == 0) {
			memset(out, 0, sizeof(*out));
			return 0;
		}
		return feval_seq_get(c, v, 0, out);
	case B_LAST:
		if (n == 0) {
			memset(out, 0, sizeof(*out));
			return 0;
		}
		return feval_seq_get(c, v, n - 1, out);
	case B_SEQ_CONTAINS:
	case B_SEQ_INDEX_OF: {
		fval x, it;
		int64_t from = 0;
		if (nargs(c, e, 1, e->bi == B_SEQ_INDEX_OF ? 2 : 1) ||
		    feval_expr(c, e->args[0], &x))
			return -1;
		if (x.t == V_NONE)
			return feval_missing(c, e->args[0]);
		if (e->nargs > 1 && arg_int(c, e, 1, &from))
			return -1;
		if (from < 0)
			from = 0;
		if (feval_step(c, e->off, n))
			return -1;
		for (size_t i = (size_t)from; i < n; i++) {
			if (feval_seq_get(c, v, i, &it))
				return -1;
			if (it.t == V_STR && x.t == V_STR &&
			    it.u.s.n == x.u.s.n &&
			    feval_charge(c, e->off, x.u.s.n))
				return -1;
			if (lenient_eq(c, &it, &x)) {
				if (e->bi == B_SEQ_CONTAINS)
					set_bool(out, 1);
				else
					set_int(out, (int64_t)i);
				return 0;
			}
		}
		if (e->bi == B_SEQ_CONTAINS)
			set_bool(out, 0);
		else
			set_int(out, -1);
		return 0;
	}
	case B_SORT: return sort_seq(c, e, v, out);
	case B_REVERSE: {
		fval *items, *a;
		size_t m;
		if (seq_items(c, v, &items, &m))
			return -1;
		a = feval_alloc(c, sizeof(fval) * (m + 1));
		if (!a)
			return -1;
		for (size_t i = 0; i < m; i++)
			a[i] = items[m - 1 - i];
		set_seq(out, a, m);
		return 0;
	}
	case B_JOIN: return join(c, e, v, out);
	}
	return type_err(c, e, v, "a string");
}

static int loop_bi(fctx *c, const fexpr *e, fval *out)
{
	floop *l;
	if (e->a->op != E_VAR)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%s must follow a loop variable name",
		                 bname(e));
	l = feval_find_loop(c, e->a->s, e->a->n);
	if (!l)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "\"%s\" is not a loop variable of an "
		                 "enclosing #list, so ?%s can't be used on it",
		                 e->a->s, bname(e));
	switch (e->bi) {
	case B_INDEX: set_int(out, (int64_t)l->index); break;
	case B_COUNTER: set_int(out, (int64_t)l->index + 1); break;
	case B_HAS_NEXT: set_bool(out, l->has_next); break;
	case B_IS_FIRST: set_bool(out, l->index == 0); break;
	case B_IS_LAST: set_bool(out, !l->has_next); break;
	case B_ITEM_PARITY:
		set_sub(out, l->index % 2 ? "even" : "odd",
		        l->index % 2 ? 4 : 3);
		break;
	case B_IS_EVEN_ITEM: set_bool(out, l->index % 2 == 1); break;
	case B_IS_ODD_ITEM: set_bool(out, l->index % 2 == 0); break;
	}
	return 0;
}

static int has_content(const fval *v)
{
	switch (v->t) {
	case V_NONE: return 0;
	case V_STR: return v->u.s.n > 0;
	case V_SEQ: return feval_seq_len(v) > 0;
	/* .vars and .globals cannot count: FreeMarker's isEmpty() says no */
	case V_HASH: return !feval_hash_is_ex(v) || feval_hash_len(v) > 0;
	case V_MACRO: return 0; /* as FreeMarker 2.3.31 answers */
	case V_DATE: return 1;
	default: return 1;
	}
}

static int num_bi(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	int r = 0;
	memset(out, 0, sizeof(*out));
	out->t = V_NUM;
	switch (e->bi) {
	case B_ROUND: r = fnum_round(&v->u.n, 0, &out->u.n); break;
	case B_FLOOR: r = fnum_round(&v->u.n, 1, &out->u.n); break;
	case B_CEILING: r = fnum_round(&v->u.n, 2, &out->u.n); break;
	case B_ABS: r = fnum_abs(&v->u.n, &out->u.n); break;
	case B_INT:
		/* Java's intValue(): a double saturates, integers keep their
		 * low 32 bits */
		if (v->u.n.kind == FN_DBL) {
			double d = v->u.n.u.d;
			fnum_from_i64(&out->u.n, isnan(d)            ? 0
			                         : d >= 2147483647.0 ? INT32_MAX
			                         : d <= -2147483648.0
			                                 ? INT32_MIN
			                                 : (int32_t)d);
		} else {
			fnum_from_i64(&out->u.n, (int32_t)fnum_to_i64(&v->u.n));
		}
		break;
	case B_NUMBER: *out = *v; break;
	case B_IS_INFINITE:
		set_bool(out, v->u.n.kind == FN_DBL && isinf(v->u.n.u.d));
		break;
	case B_IS_NAN:
		set_bool(out, v->u.n.kind == FN_DBL && isnan(v->u.n.u.d));
		break;
	default: return type_err(c, e, v, "a string");
	}
	if (r)
		return feval_err(c, e->off, FTL_RUNTIME, "number too large");
	return 0;
}

static int string_of(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	fbuf b = {.max = c->out.max};
	if (v->t == V_STR) {
		if (nargs(c, e, 0, 0))
			return -1;
		*out = *v;
		return 0;
	}
	if (v->t == V_BOOL) {
		const char *a, *z;
		size_t an, zn;
		if (!e->sub || e->nargs == 0) {
			const char *s =
			        v->u.b ? (c->bool_true ? c->bool_true : "true")
			               : (c->bool_false ? c->bool_false
			                                : "false");
			set_sub(out, s, strlen(s));
			return 0;
		}
		if (nargs(c, e, 2, 2) || arg_str(c, e, 0, &a, &an) ||
		    arg_str(c, e, 1, &z, &zn))
			return -1;
		set_sub(out, v->u.b ? a : z, v->u.b ? an : zn);
		return 0;
	}
	if (v->t == V_NUM) {
		fnfmt f;
		const fnfmt *fp = &c->fmt;
		if (nargs(c, e, 0, 1))
			return -1;
		if (e->sub && e->nargs == 1) {
			if (e->aux) {
				fp = e->aux;
			} else {
				const char *p;
				size_t pn;
				char *z;
				if (arg_str(c, e, 0, &p, &pn) ||
				    feval_charge(c, e->off, pn))
					return -1;
				z = feval_alloc(c, pn + 1);
				if (!z)
					return -1;
				memcpy(z, p, pn);
				if (fnum_fmt_parse(z, &f))
					return feval_err(
					        c, e->args[0]->off, FTL_RUNTIME,
					        "number format \"%s\" is not "
					        "supported (use patterns like "
					        "\"0.00\" or \"#,##0.##\")",
					        z);
				fp = &f;
			}
		}
		if (feval_fmt_num(c, &v->u.n, fp, &b)) {
			int r = feval_outerr(c, &b);
			free(b.p);
			return r;
		}
		return buf_result(c, &b, out);
	}
	if (v->t == V_DATE) {
		const char *f = NULL;
		size_t fn = 0;
		if (nargs(c, e, 0, 1) ||
		    (e->sub && e->nargs == 1 && arg_str(c, e, 0, &f, &fn)))
			return -1;
		if (f && fn > FDATE_MAX_PAT)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "a date pattern is at most %d bytes",
			                 FDATE_MAX_PAT);
		if (feval_fmt_date(c, e->off, v, f, fn, &b)) {
			free(b.p);
			return -1;
		}
		return buf_result(c, &b, out);
	}
	return type_err(c, e, v, "a string, a number or a boolean");
}

/* ---- dates and times (fdate.h) ---------------------------------------------
 */
static const char *kind_name(int k)
{
	return k == FD_DATE       ? "date"
	       : k == FD_TIME     ? "time"
	       : k == FD_DATETIME ? "date-time"
	                          : "date of unknown type";
}

/* The SimpleDateFormat pattern of format FMT for KIND ("" and style
 * names through the locale); NULL for "iso"/"xs" (*ISO set) or when the
 * locale has no styles (an error is set). */
static const char *date_pattern(fctx *c, size_t off, int kind, const char *f,
                                size_t fn, char *buf, size_t cap, int *iso,
                                size_t *pn)
{
	int ds = fn ? fdate_style_id(f, fn) : 2, ts = 0;
	const char *u = fn ? memchr(f, '_', fn) : NULL;
	*iso = 0;
	if ((fn == 3 && !memcmp(f, "iso", 3)) ||
	    (fn == 2 && !memcmp(f, "xs", 2))) {
		*iso = 1;
		return NULL;
	}
	if (!ds && u && fdate_style_id(f, (size_t)(u - f)) &&
	    (ts = fdate_style_id(u + 1, fn - (size_t)(u - f) - 1)))
		ds = fdate_style_id(f, (size_t)(u - f));
	if (ds) {
		const char *p;
		if (kind == FD_TIME && ts)
			ds = ts;
		p = fdate_style(c->loc->name, kind, ds, ts, buf, cap);
		if (!p) {
			feval_err(
			        c, off, FTL_RUNTIME,
			        "the default date formats are only known for "
			        "en_* and de_* locales, not %s (use a pattern "
			        "such as \"dd.MM.yyyy HH:mm\")",
			        c->loc->name);
			return NULL;
		}
		*pn = strlen(p);
		return p;
	}
	*pn = fn;
	return f;
}

/* "short", "medium", "long", "full", their pairs ("short_medium"),
 * "iso", "xs": the formats that need to know the date's kind. */
static int is_style_name(const char *f, size_t fn)
{
	static const char *const st[] = {"short", "medium", "long", "full"};
	size_t i = 0;
	if ((fn == 3 && !memcmp(f, "iso", 3)) ||
	    (fn == 2 && !memcmp(f, "xs", 2)))
		return 1;
	for (int part = 0; part < 2; part++) {
		int hit = 0;
		for (size_t k = 0; k < 4 && !hit; k++) {
			size_t n = strlen(st[k]);
			if (fn - i >= n && !memcmp(f + i, st[k], n)) {
				i += n;
				hit = 1;
			}
		}
		if (!hit)
			return 0;
		if (i == fn)
			return 1;
		if (part == 0 && f[i] == '_')
			i++;
		else
			return 0;
	}
	return 0;
}

int feval_fmt_date(fctx *c, size_t off, const fval *v, const char *f, size_t fn,
                   fbuf *b)
{
	char buf[128], why[200];
	const char *p;
	size_t pn = 0;
	int iso, r;
	int kind = v->u.d.kind;
	int xs;
	if (kind == FD_UNKNOWN && f && !is_style_name(f, fn))
		kind = FD_DATETIME; /* an explicit pattern formats any date */
	if (kind == FD_UNKNOWN)
		return feval_err(c, off, FTL_RUNTIME,
		                 "can't convert the date to string: it is not "
		                 "known which parts of it are in use (mark it "
		                 "with ?date, ?time or ?datetime)");
	if (!f) {
		f = c->dfmt[kind];
		fn = c->dfmt_n[kind];
		if (!f)
			f = "", fn = 0;
	}
	xs = fn == 2 && !memcmp(f, "xs", 2);
	if (feval_charge(c, off, fn + 32))
		return -1;
	p = date_pattern(c, off, kind, f, fn, buf, sizeof(buf), &iso, &pn);
	if (iso)
		/* "xs" shows the zone of a date too; neither shows it for
		 * the data's $date and $time (java.sql types) */
		r = fdate_iso(v->u.d.ms, kind, c->zone, 3,
		              !v->u.d.sql && (kind != FD_DATE || xs), b);
	else if (!p)
		return -1;
	else
		r = fdate_format(v->u.d.ms, p, pn, c->loc->name, c->zone, b,
		                 why, sizeof(why));
	if (r == -1)
		return feval_err(c, off, FTL_RUNTIME,
		                 "date format \"%.*s\": %s",
		                 (int)ftxt_clip(f, fn, 60), f, why);
	if (r)
		return feval_outerr(c, b);
	return 0;
}

int feval_set_zone(fctx *c, size_t off, const char *name, size_t n)
{
	char why[200];
	const fzone *z = fdate_zone(name, n, why, sizeof(why));
	if (!z)
		return feval_err(c, off, FTL_RUNTIME, "time_zone: %s", why);
	c->zone = z;
	return 0;
}

int feval_date_fmt_ok(const char *f, size_t n, char *why, size_t wn)
{
	fbuf b = {.max = 4096};
	const char *u = memchr(f, '_', n);
	int r;
	if (n == 0 || fdate_style_id(f, n) ||
	    (n == 3 && !memcmp(f, "iso", 3)) ||
	    (n == 2 && !memcmp(f, "xs", 2)) ||
	    (u && fdate_style_id(f, (size_t)(u - f)) &&
	     fdate_style_id(u + 1, n - (size_t)(u - f) - 1)))
		return 0;
	if (n > FDATE_MAX_PAT) {
		snprintf(why, wn, "a date pattern is at most %d bytes",
		         FDATE_MAX_PAT);
		return -1;
	}
	r = fdate_format(0, f, n, "en_US", fdate_utc(), &b, why, wn);
	free(b.p);
	return r == -1 ? -1 : 0;
}

static void set_date(fval *o, int64_t ms, int kind)
{
	memset(o, 0, sizeof(*o));
	o->t = V_DATE;
	o->u.d.ms = ms;
	o->u.d.kind = kind;
}

/* x?date, ?time, ?datetime on a string: parse it with the argument (a
 * pattern, "iso", "xs", a style) or the setting for that kind. */
static int parse_date(fctx *c, const fexpr *e, const fval *v, int kind,
                      fval *out)
{
	const char *f = NULL, *p;
	size_t fn = 0, pn = 0;
	char buf[128], why[200];
	int iso, r;
	int64_t ms;
	if (nargs(c, e, 0, 1))
		return -1;
	if (e->sub && e->nargs == 1 && arg_str(c, e, 0, &f, &fn))
		return -1;
	if (!f) {
		f = c->dfmt[kind] ? c->dfmt[kind] : "";
		fn = c->dfmt[kind] ? c->dfmt_n[kind] : 0;
	}
	if (feval_charge(c, e->off, v->u.s.n + fn + 32))
		return -1;
	if (fn > FDATE_MAX_PAT || v->u.s.n > 1024)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%.*s: the string or the pattern is too long "
		                 "(at most 1024 and %d bytes)",
		                 (int)e->n, bname(e), FDATE_MAX_PAT);
	p = date_pattern(c, e->off, kind, f, fn, buf, sizeof(buf), &iso, &pn);
	if (iso) {
		r = fdate_parse_iso(v->u.s.p, v->u.s.n, kind, c->zone, &ms, why,
		                    sizeof(why));
	} else if (!p) {
		return -1;
	} else {
		int64_t now = 0;
		if (c->now_fn)
			now = c->now_fn(c->now_arg);
		else {
			struct timespec ts;
			clock_gettime(CLOCK_REALTIME, &ts);
			now = (int64_t)ts.tv_sec * 1000;
		}
		r = fdate_parse(v->u.s.p, v->u.s.n, p, pn, c->loc->name,
		                c->zone, now, &ms, why, sizeof(why));
	}
	if (r)
		return feval_err(
		        c, e->off, FTL_RUNTIME,
		        "?%.*s: \"%.*s\" can't be read with the format "
		        "\"%.*s\": %s",
		        (int)e->n, bname(e),
		        (int)ftxt_clip(v->u.s.p, v->u.s.n, 60), v->u.s.p,
		        (int)ftxt_clip(f, fn, 60), fn ? f : "medium", why);
	set_date(out, ms, kind);
	return 0;
}

static int date_bi(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	int id = e->bi;
	switch (id) {
	case B_IS_DATE:
	case B_IS_DATE_LIKE:
		set_bool(out, v->t == V_DATE);
		return nargs(c, e, 0, 0);
	case B_IS_DATE_ONLY:
	case B_IS_TIME:
	case B_IS_DATETIME:
	case B_IS_UNKNOWN_DATE_LIKE: {
		int k = id == B_IS_DATE_ONLY  ? FD_DATE
		        : id == B_IS_TIME     ? FD_TIME
		        : id == B_IS_DATETIME ? FD_DATETIME
		                              : FD_UNKNOWN;
		set_bool(out, v->t == V_DATE && v->u.d.kind == k);
		return nargs(c, e, 0, 0);
	}
	case B_NUMBER_TO_DATE:
	case B_NUMBER_TO_TIME:
	case B_NUMBER_TO_DATETIME:
		if (v->t != V_NUM)
			return type_err(c, e, v, "a number");
		if (nargs(c, e, 0, 0))
			return -1;
		if (fnum_to_i64(&v->u.n) > FDATE_MAX_MS ||
		    fnum_to_i64(&v->u.n) < -FDATE_MAX_MS)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "?%.*s: the number is out of the range "
			        "of dates (at most +-%lld ms)",
			        (int)e->n, bname(e), (long long)FDATE_MAX_MS);
		set_date(out, fnum_to_i64(&v->u.n),
		         id == B_NUMBER_TO_DATE   ? FD_DATE
		         : id == B_NUMBER_TO_TIME ? FD_TIME
		                                  : FD_DATETIME);
		return 0;
	case B_LONG:
		if (nargs(c, e, 0, 0))
			return -1;
		if (v->t == V_DATE) {
			set_int(out, v->u.d.ms);
			return 0;
		}
		if (v->t == V_NUM) {
			set_int(out, fnum_to_i64(&v->u.n));
			return 0;
		}
		return type_err(c, e, v, "a number or a date");
	case B_ISO: {
		int zone, acc, showz;
		const fzone *z = c->zone;
		fbuf b = {.max = c->out.max};
		iso_variant(e->s, e->n, &zone, &acc, &showz);
		if (v->t != V_DATE)
			return type_err(c, e, v, "a date");
		if (zone == 0) {
			const char *zn;
			size_t znl;
			if (nargs(c, e, 1, 1) || arg_str(c, e, 0, &zn, &znl))
				return -1;
			if (!(z = fdate_zone(zn, znl, NULL, 0)))
				return feval_err(
				        c, e->args[0]->off, FTL_RUNTIME,
				        "?%.*s: unknown time zone \"%.*s\" "
				        "(use an IANA name such as "
				        "\"Europe/Berlin\" or \"UTC\")",
				        (int)e->n, bname(e),
				        (int)ftxt_clip(zn, znl, 60), zn);
		} else {
			if (nargs(c, e, 0, 0))
				return -1;
			if (zone == 1)
				z = fdate_utc();
		}
		if (v->u.d.kind == FD_UNKNOWN)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "?%.*s: it is not known whether the "
			        "value is a date, a time or a date-time "
			        "(mark it with ?date, ?time or ?datetime)",
			        (int)e->n, bname(e));
		if (feval_charge(c, e->off, 40) ||
		    fdate_iso(v->u.d.ms, v->u.d.kind, z, acc,
		              showz && v->u.d.kind != FD_DATE && !v->u.d.sql,
		              &b)) {
			free(b.p);
			return c->failed ? -1 : feval_outerr(c, &b);
		}
		return buf_result(c, &b, out);
	}
	}
	/* ?date, ?time, ?datetime and their _if_unknown forms */
	{
		int k = id == B_DATE || id == B_DATE_IF_UNKNOWN   ? FD_DATE
		        : id == B_TIME || id == B_TIME_IF_UNKNOWN ? FD_TIME
		                                                  : FD_DATETIME;
		int if_unknown = id >= B_DATE_IF_UNKNOWN;
		if (v->t == V_STR && !if_unknown)
			return parse_date(c, e, v, k, out);
		if (v->t != V_DATE)
			return type_err(c, e, v, "a date or a string");
		if (nargs(c, e, 0, 0))
			return -1;
		*out = *v;
		if (if_unknown) {
			if (v->u.d.kind == FD_UNKNOWN)
				out->u.d.kind = k;
			return 0;
		}
		if (v->u.d.kind != FD_UNKNOWN && v->u.d.kind != k &&
		    v->u.d.kind != FD_DATETIME)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "?%.*s: can't convert a %s to a %s",
			                 (int)e->n, bname(e),
			                 kind_name(v->u.d.kind), kind_name(k));
		out->u.d.kind = k;
		return 0;
	}
}

static int then_switch(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	if (e->bi == B_THEN) {
		if (v->t != V_BOOL)
			return type_err(c, e, v, "a boolean");
		if (nargs(c, e, 2, 2))
			return -1;
		return feval_expr(c, e->args[v->u.b ? 0 : 1], out) ? -1 : 0;
	}
	if (!e->sub || e->nargs < 2)
		return argc_err(c, e, "at least 2 arguments");
	for (int i = 0; i + 1 < e->nargs; i += 2) {
		fval k;
		int r;
		if (feval_expr(c, e->args[i], &k))
			return -1;
		if (k.t == V_NONE)
			return feval_missing(c, e->args[i]);
		if (feval_compare(c, e, E_EQ, v, &k, &r))
			return -1;
		if (r == 0)
			return feval_expr(c, e->args[i + 1], out);
	}
	if (e->nargs % 2)
		return feval_expr(c, e->args[e->nargs - 1], out);
	return feval_err(c, e->off, FTL_RUNTIME,
	                 "?switch: no case matched and there is no default "
	                 "(an odd last argument)");
}

static int c_bi(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	fbuf b = {.max = c->out.max};
	if (v->t == V_BOOL) {
		set_sub(out, v->u.b ? "true" : "false", v->u.b ? 4 : 5);
		return 0;
	}
	if (v->t == V_NUM) {
		fnfmt f;
		const floc *saved = c->loc;
		fnum_fmt_parse("computer", &f);
		if (v->u.n.kind == FN_DBL && isinf(v->u.n.u.d)) {
			set_sub(out, v->u.n.u.d > 0 ? "INF" : "-INF",
			        v->u.n.u.d > 0 ? 3 : 4);
			return 0;
		}
		if (v->u.n.kind == FN_DBL && isnan(v->u.n.u.d)) {
			set_sub(out, "NaN", 3);
			return 0;
		}
		c->loc = fnum_locale("en_US");
		if (feval_fmt_num(c, &v->u.n, &f, &b)) {
			c->loc = saved;
			free(b.p);
			return feval_outerr(c, &b);
		}
		c->loc = saved;
		return buf_result(c, &b, out);
	}
	return type_err(c, e, v, "a number or a boolean");
}

/* ---- built-ins added for issue #10 ----------------------------------------
 */
/* F applied to ITEM: FN is the argument expression (a lambda, or an
 * expression giving a #function, evaluated once into FV). */
static int apply(fctx *c, const fexpr *e, const fexpr *fn, const fval *fv,
                 const fval *item, fval *res)
{
	if (fn->op == E_LAMBDA)
		return feval_lambda(c, fn, item, res);
	return feval_call(c, fv->u.m, item, 1, e->off, res);
}

static int seq_fn(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const fexpr *fn;
	fval fv, *items, *a;
	size_t n, m = 0;
	int dropping = 1;
	if (v->t != V_SEQ)
		return type_err(c, e, v, "a sequence");
	if (nargs(c, e, 1, 1))
		return -1;
	fn = e->args[0];
	memset(&fv, 0, sizeof(fv));
	if (fn->op != E_LAMBDA) {
		if (feval_expr(c, fn, &fv))
			return -1;
		if (fv.t == V_NONE)
			return feval_missing(c, fn);
		if (fv.t != V_MACRO || !fv.u.m->is_func)
			return feval_err(c, fn->off, FTL_RUNTIME,
			                 "?%.*s needs a lambda (x -> ...) or a "
			                 "#function, not %s",
			                 (int)e->n, e->s, feval_type_name(&fv));
	}
	if (seq_items(c, v, &items, &n))
		return -1;
	a = feval_alloc(c, sizeof(fval) * (n + 1));
	if (!a)
		return -1;
	for (size_t i = 0; i < n; i++) {
		fval r;
		int keep;
		if (e->bi == B_DROP_WHILE && !dropping) {
			a[m++] = items[i];
			continue;
		}
		if (apply(c, e, fn, &fv, &items[i], &r))
			return -1;
		if (e->bi == B_MAP) {
			/* FreeMarker maps lazily and fails when the item is
			 * read; this maps at once */
			if (r.t == V_NONE)
				return feval_err(
				        c, e->off, FTL_RUNTIME,
				        "?map: Failed to transform element "
				        "%zu: the function gave a missing "
				        "value",
				        i);
			a[m++] = r;
			continue;
		}
		if (r.t != V_BOOL)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "?%.*s: the function must give a boolean, "
			        "but gave %s for item %zu",
			        (int)e->n, e->s, feval_type_name(&r), i);
		keep = r.u.b;
		if (e->bi == B_FILTER) {
			if (keep)
				a[m++] = items[i];
		} else if (e->bi == B_TAKE_WHILE) {
			if (!keep)
				break;
			a[m++] = items[i];
		} else if (!keep) { /* drop_while */
			dropping = 0;
			a[m++] = items[i];
		}
	}
	set_seq(out, a, m);
	return 0;
}

/* ?min ?max: missing items are skipped; numbers only (FreeMarker's
 * "less-than" refuses strings); none: missing. */
static int min_max(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	fval *items, *best = NULL;
	size_t n;
	if (v->t != V_SEQ)
		return type_err(c, e, v, "a sequence");
	if (nargs(c, e, 0, 0) || seq_items(c, v, &items, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (items[i].t == V_NONE)
			continue;
		if (items[i].t == V_STR && (!best || best->t == V_STR))
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "?%.*s: Can't use operator \"less-than\" on "
			        "string values.",
			        (int)e->n, e->s);
		if (items[i].t != V_NUM || (best && best->t != V_NUM))
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "?%.*s: can't compare %s with %s: the "
			                 "items must all be numbers",
			                 (int)e->n, e->s,
			                 best ? feval_type_name(best) : "it",
			                 feval_type_name(&items[i]));
		if (!best || fnum_cmp(&items[i].u.n, &best->u.n) ==
		                     (e->bi == B_MIN ? -1 : 1))
			best = &items[i];
	}
	if (best)
		*out = *best;
	else
		memset(out, 0, sizeof(*out));
	return 0;
}

static int chunk(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	int64_t size;
	fval *items, *rows, fill;
	size_t n, nrows;
	int has_fill = e->nargs > 1;
	if (v->t != V_SEQ)
		return type_err(c, e, v, "a sequence");
	if (nargs(c, e, 1, 2) || arg_int(c, e, 0, &size))
		return -1;
	if (size < 1)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?chunk: the chunk size must be at least 1, "
		                 "but was %lld",
		                 (long long)size);
	if (has_fill) {
		if (feval_expr(c, e->args[1], &fill))
			return -1;
		if (fill.t == V_NONE)
			return feval_missing(c, e->args[1]);
	}
	if (seq_items(c, v, &items, &n))
		return -1;
	nrows = n / (size_t)size + (n % (size_t)size != 0);
	if (feval_charge(c, e->off, nrows + (has_fill ? (size_t)size : 0)))
		return -1;
	rows = feval_alloc(c, sizeof(fval) * (nrows + 1));
	if (!rows)
		return -1;
	for (size_t r = 0; r < nrows; r++) {
		size_t from = r * (size_t)size;
		size_t k = n - from < (size_t)size ? n - from : (size_t)size;
		if (has_fill && k < (size_t)size) {
			fval *row = feval_alloc(c, sizeof(fval) * (size_t)size);
			if (!row)
				return -1;
			memcpy(row, items + from, sizeof(fval) * k);
			for (size_t j = k; j < (size_t)size; j++)
				row[j] = fill;
			set_seq(&rows[r], row, (size_t)size);
		} else {
			set_seq(&rows[r], items + from, k);
		}
	}
	set_seq(out, rows, nrows);
	return 0;
}

static int seq_last_index_of(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	fval x, it;
	size_t n;
	int64_t start;
	/* the type first: a JSON hash is no array to measure */
	if (v->t != V_SEQ)
		return type_err(c, e, v, "a sequence");
	n = feval_seq_len(v);
	start = (int64_t)n - 1;
	if (nargs(c, e, 1, 2) || feval_expr(c, e->args[0], &x))
		return -1;
	if (x.t == V_NONE)
		return feval_missing(c, e->args[0]);
	if (e->nargs > 1 && arg_int(c, e, 1, &start))
		return -1;
	if (start > (int64_t)n - 1)
		start = (int64_t)n - 1;
	if (feval_step(c, e->off, n))
		return -1;
	for (int64_t i = start; i >= 0; i--) {
		if (feval_seq_get(c, v, (size_t)i, &it))
			return -1;
		if (it.t == V_STR && x.t == V_STR && it.u.s.n == x.u.s.n &&
		    feval_charge(c, e->off, x.u.s.n))
			return -1;
		if (lenient_eq(c, &it, &x)) {
			set_int(out, i);
			return 0;
		}
	}
	set_int(out, -1);
	return 0;
}

/* ?split(separator): literal separators (FreeMarker's StringUtil.split:
 * empty pieces kept; an empty separator splits every character). */
/* ---- regular expressions -------------------------------------------------
 * FreeMarker's flags: r (regular expression), i (case-insensitive), m
 * (multi-line), s (dot matches line breaks), c (white space and comments
 * in the pattern), f (first match only); unknown flags are ignored, as
 * FreeMarker only logs them. Without r the pattern is literal text. The
 * pattern is compiled for each evaluation (templates are shared between
 * threads and immutable) and charged to the work budget. */
typedef struct fre {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mc;
	int first;
} fre;

static void re_free(fre *re)
{
	pcre2_match_data_free(re->md);
	pcre2_match_context_free(re->mc);
	pcre2_code_free(re->code);
}

static int re_compile(fctx *c, const fexpr *e, const char *pat, size_t pn,
                      const char *fl, size_t fln, fre *re)
{
	uint32_t opts = PCRE2_UTF | PCRE2_NO_UTF_CHECK;
	int regex = 0, ec;
	PCRE2_SIZE eo;
	memset(re, 0, sizeof(*re));
	for (size_t k = 0; k < fln; k++)
		switch (fl[k]) {
		case 'r': regex = 1; break;
		case 'i': opts |= PCRE2_CASELESS; break;
		case 'm': opts |= PCRE2_MULTILINE; break;
		case 's': opts |= PCRE2_DOTALL; break;
		case 'c': opts |= PCRE2_EXTENDED; break;
		case 'f': re->first = 1; break;
		}
	if (!regex)
		opts = (opts &
		        (PCRE2_UTF | PCRE2_NO_UTF_CHECK | PCRE2_CASELESS)) |
		       PCRE2_LITERAL;
	if (feval_charge(c, e->off, 16 * pn + 64))
		return -1;
	re->code = pcre2_compile((PCRE2_SPTR)pat, pn, opts, &ec, &eo, NULL);
	if (!re->code) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return feval_err(
		        c, e->off, FTL_RUNTIME,
		        "?%.*s: Malformed regular expression \"%.*s\" at "
		        "offset %zu: %s",
		        (int)e->n, e->s, (int)ftxt_clip(pat, pn, 60), pat,
		        (size_t)eo, (const char *)msg);
	}
	re->md = pcre2_match_data_create_from_pattern(re->code, NULL);
	re->mc = pcre2_match_context_create(NULL);
	if (!re->md || !re->mc) {
		re_free(re);
		return feval_err(c, e->off, FTL_NOMEM, "out of memory");
	}
	pcre2_set_match_limit(re->mc, FTL_RE_MATCH_LIMIT);
	pcre2_set_depth_limit(re->mc, FTL_RE_DEPTH_LIMIT);
	pcre2_set_heap_limit(re->mc, FTL_RE_HEAP_KIB);
	return 0;
}

/* The next match at or after START: 1 (offsets in *MS, *ME), 0 none,
 * -1 error (limits). OPTS: PCRE2_ANCHORED... */
static int re_next(fctx *c, const fexpr *e, fre *re, const char *s, size_t n,
                   size_t start, uint32_t opts, size_t *ms, size_t *me)
{
	int rc = pcre2_match(re->code, (PCRE2_SPTR)s, n, start,
	                     opts | PCRE2_NO_UTF_CHECK, re->md, re->mc);
	PCRE2_SIZE *ov;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		int lim = rc == PCRE2_ERROR_MATCHLIMIT ||
		          rc == PCRE2_ERROR_DEPTHLIMIT ||
		          rc == PCRE2_ERROR_HEAPLIMIT;
		return feval_err(
		        c, e->off, lim ? FTL_LIMIT : FTL_RUNTIME,
		        lim ? "?%.*s: the regular expression needs too "
		              "much backtracking on this text (PCRE2 "
		              "match limit); simplify it"
		            : "?%.*s: the regular expression failed",
		        (int)e->n, e->s);
	}
	ov = pcre2_get_ovector_pointer(re->md);
	*ms = ov[0];
	*me = ov[1];
	return 1;
}

/* After an empty match at P: the next search starts one character on. */
static size_t next_char(const char *s, size_t n, size_t p)
{
	uint32_t cp;
	return p < n ? p + (size_t)ftxt_decode(s + p, n - p, &cp) : n + 1;
}

/* Java's replacement syntax: $n group n, ${name}, \x the character x. */
static int re_subst(fctx *c, const fexpr *e, fre *re, const char *s,
                    const char *r, size_t rn, fbuf *b)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
	uint32_t ng = pcre2_get_ovector_count(re->md);
	for (size_t k = 0; k < rn; k++) {
		if (r[k] == '\\' && k + 1 < rn) {
			fbuf_putc(b, r[++k]);
		} else if (r[k] == '$' && k + 1 < rn && r[k + 1] >= '0' &&
		           r[k + 1] <= '9') {
			uint32_t g = (uint32_t)(r[++k] - '0');
			while (k + 1 < rn && r[k + 1] >= '0' &&
			       r[k + 1] <= '9' &&
			       g * 10 + (uint32_t)(r[k + 1] - '0') < ng)
				g = g * 10 + (uint32_t)(r[++k] - '0');
			if (g >= ng)
				return feval_err(
				        c, e->off, FTL_RUNTIME,
				        "?%.*s: No group %u in the regular "
				        "expression",
				        (int)e->n, e->s, g);
			if (ov[2 * g] != PCRE2_UNSET)
				fbuf_put(b, s + ov[2 * g],
				         ov[2 * g + 1] - ov[2 * g]);
		} else if (r[k] == '$' && k + 1 < rn && r[k + 1] == '{') {
			const char *end = memchr(r + k, '}', rn - k);
			int g;
			char name[64];
			if (!end || (size_t)(end - r - k - 2) >= sizeof(name))
				return feval_err(
				        c, e->off, FTL_RUNTIME,
				        "?%.*s: bad group reference in the "
				        "replacement",
				        (int)e->n, e->s);
			memcpy(name, r + k + 2, (size_t)(end - r - k - 2));
			name[end - r - k - 2] = 0;
			g = pcre2_substring_number_from_name(re->code,
			                                     (PCRE2_SPTR)name);
			if (g < 0)
				return feval_err(
				        c, e->off, FTL_RUNTIME,
				        "?%.*s: No group with name {%s}",
				        (int)e->n, e->s, name);
			if (ov[2 * g] != PCRE2_UNSET)
				fbuf_put(b, s + ov[2 * g],
				         ov[2 * g + 1] - ov[2 * g]);
			k = (size_t)(end - r);
		} else if (r[k] == '$') {
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "?%.*s: Illegal group reference: a \"$\" in "
			        "the replacement must be followed by a "
			        "group number (write \\\\$ for a dollar "
			        "sign)",
			        (int)e->n, e->s);
		} else {
			fbuf_putc(b, r[k]);
		}
	}
	return 0;
}

static int re_replace(fctx *c, const fexpr *e, const fval *v, const char *a,
                      size_t an, const char *r, size_t rn, const char *fl,
                      size_t fln, fval *out)
{
	const char *s = v->u.s.p;
	size_t n = v->u.s.n, pos = 0, from = 0, ms, me;
	fbuf b = {.max = c->out.max};
	fre re;
	int f;
	if (re_compile(c, e, a, an, fl, fln, &re))
		return -1;
	if (feval_charge(c, e->off, n)) {
		re_free(&re);
		return -1;
	}
	while (from <= n &&
	       (f = re_next(c, e, &re, s, n, from, 0, &ms, &me)) == 1) {
		if (feval_charge(c, e->off, 1 + (me - ms))) {
			f = -1;
			break;
		}
		fbuf_put(&b, s + pos, ms - pos);
		if (re_subst(c, e, &re, s, r, rn, &b)) {
			f = -1;
			break;
		}
		pos = me;
		if (re.first) {
			f = 0;
			break;
		}
		if (me == ms) {
			from = next_char(s, n, me);
			if (from <= n) {
				fbuf_put(&b, s + pos, from - pos);
				pos = from;
			}
		} else {
			from = me;
		}
	}
	re_free(&re);
	if (f < 0) {
		free(b.p);
		return -1;
	}
	if (pos < n)
		fbuf_put(&b, s + pos, n - pos);
	return buf_result(c, &b, out);
}

/* The groups of the last match as a sequence: unset groups are missing
 * (an item's ?groups) or "" (the whole-input match's ?groups), as
 * FreeMarker gives them. */
static int re_groups(fctx *c, fre *re, const char *s, int unset_empty,
                     fval *out)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(re->md);
	uint32_t ng, cc = 0;
	fval *g;
	pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &cc);
	ng = cc + 1;
	if (!(g = feval_alloc(c, sizeof(fval) * ng)))
		return -1;
	for (uint32_t i = 0; i < ng; i++) {
		if (ov[2 * i] != PCRE2_UNSET)
			set_sub(&g[i], s + ov[2 * i],
			        ov[2 * i + 1] - ov[2 * i]);
		else if (unset_empty)
			set_sub(&g[i], "", 0);
	}
	set_seq(out, g, ng);
	return 0;
}

/* ?matches(re[, flags]): a sequence of every match (found as Java's
 * Matcher.find() finds them), each a string with ?groups, that is also
 * the boolean "the whole input matches" with its own ?groups. Both are
 * computed at once (FreeMarker computes them lazily): a text on which
 * the search exceeds PCRE2's limits fails even when only the boolean is
 * used. */
static int matches(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const char *a, *fl = "r", *s = v->u.s.p;
	size_t an, fln = 1, ms, me, n = v->u.s.n, from = 0, m = 0, cap = 8;
	fval *items, whole;
	fre re;
	int f;
	if (nargs(c, e, 1, 2) || arg_str(c, e, 0, &a, &an))
		return -1;
	if (e->nargs > 1) {
		char *x;
		if (arg_str(c, e, 1, &fl, &fln) ||
		    !(x = feval_alloc(c, fln + 2)))
			return -1;
		memcpy(x, fl, fln);
		x[fln++] = 'r'; /* ?matches is always a regular expression */
		fl = x;
	}
	if (re_compile(c, e, a, an, fl, fln, &re))
		return -1;
	re.first = 0; /* FreeMarker ignores "f" here */
	memset(&whole, 0, sizeof(whole));
	if (feval_charge(c, e->off, n) ||
	    (f = re_next(c, e, &re, s, n, 0, PCRE2_ANCHORED | PCRE2_ENDANCHORED,
	                 &ms, &me)) < 0 ||
	    (f && re_groups(c, &re, s, 1, &whole)) ||
	    !(items = feval_alloc(c, sizeof(fval) * (cap + 1)))) {
		re_free(&re);
		return -1;
	}
	while (from <= n &&
	       (f = re_next(c, e, &re, s, n, from, 0, &ms, &me)) == 1) {
		fval *g;
		if (feval_charge(c, e->off, 1 + (ms - from) + (me - ms)) ||
		    feval_step(c, e->off, 1) ||
		    !(g = feval_alloc(c, sizeof(fval)))) {
			f = -1;
			break;
		}
		if (m + 1 >= cap) {
			fval *na = feval_alloc(c, sizeof(fval) * (cap * 2 + 1));
			if (!na) {
				f = -1;
				break;
			}
			memcpy(na, items, sizeof(fval) * m);
			items = na;
			cap *= 2;
		}
		if (re_groups(c, &re, s, 0, g)) {
			f = -1;
			break;
		}
		set_sub(&items[m], s + ms, me - ms);
		items[m].rx = 1;
		items[m].u.s.g = g;
		m++;
		from = me == ms ? next_char(s, n, me) : me;
	}
	re_free(&re);
	if (f < 0)
		return -1;
	items[m] = whole; /* ?groups of the result (see eval.h) */
	set_seq(out, items, m);
	out->rx = (uint8_t)(1 + (whole.t == V_SEQ));
	return 0;
}

/* ?groups: of a ?matches result (the whole-input match) or of one of its
 * items. */
static int groups_bi(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	if (nargs(c, e, 0, 0))
		return -1;
	if (v->t == V_STR && v->rx && v->u.s.g) {
		*out = *v->u.s.g;
		return 0;
	}
	if (v->t == V_SEQ && v->rx == 2) {
		*out = v->u.a.v[v->u.a.n];
		return 0;
	}
	if (v->t == V_SEQ && v->rx)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?groups: Failed to read regular expression "
		                 "match group: the text doesn't match the "
		                 "expression as a whole; list the matches "
		                 "(<#list s?matches(re) as m>${m?groups[1]}) "
		                 "for partial ones");
	return type_err(c, e, v,
	                "a regular expression match (the result of "
	                "?matches or one of its items)");
}

/* ?keep_before/_after(_last)(s, flags): with "r" a regular expression,
 * else literal text (case-insensitive with "i"); "m", "s" and "c" need
 * "r", as FreeMarker checks. The _last forms search again one character
 * after each match's start, as FreeMarker's Matcher.find(start + 1)
 * loop does (so overlapping matches count). */
static int re_flag_check(fctx *c, const fexpr *e, const char *fl, size_t fln)
{
	const char *bad = NULL;
	if (memchr(fl, 'r', fln))
		return 0;
	if (memchr(fl, 'm', fln))
		bad = "m";
	else if (memchr(fl, 's', fln))
		bad = "s";
	else if (memchr(fl, 'c', fln))
		bad = "c";
	if (!bad)
		return 0;
	return feval_err(c, e->off, FTL_RUNTIME,
	                 "?%s doesn't support the \"%s\" flag without the "
	                 "\"r\" flag; add \"r\" to use a regular expression",
	                 bname(e), bad);
}

static int re_keep(fctx *c, const fexpr *e, const char *s, size_t n,
                   const char *a, size_t an, const char *fl, size_t fln,
                   fval *out)
{
	int last = e->bi == B_KEEP_BEFORE_LAST || e->bi == B_KEEP_AFTER_LAST;
	int after = e->bi == B_KEEP_AFTER || e->bi == B_KEEP_AFTER_LAST;
	int regex = memchr(fl, 'r', fln) != NULL, f;
	size_t ms = 0, me = 0, from = 0, hs = 0, he = 0;
	fre re;
	if (re_flag_check(c, e, fl, fln))
		return -1;
	if (last && regex && an == 0) {
		/* FreeMarker: an empty expression "matches" at the end */
		hs = he = n;
		goto found;
	}
	if (re_compile(c, e, a, an, fl, fln, &re))
		return -1;
	f = re_next(c, e, &re, s, n, 0, 0, &ms, &me);
	if (f >= 0 && feval_charge(c, e->off, 16 + (f ? me : n)))
		f = -1;
	while (f == 1) {
		hs = ms;
		he = me;
		if (!last)
			break;
		if (ms >= n) {
			re_free(&re);
			/* Java's find(start + 1) past the end throws */
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "?%s: the regular expression matches "
			                 "an empty string at the end of the "
			                 "text, where FreeMarker fails too; "
			                 "make it match at least one character",
			                 bname(e));
		}
		from = next_char(s, n, ms);
		f = re_next(c, e, &re, s, n, from, 0, &ms, &me);
		if (f == 1 ? feval_charge(c, e->off, 16 + me - from)
		           : f == 0 && feval_charge(c, e->off, 16 + n - from))
			f = -1;
		if (f == 0)
			f = 2; /* found before: done */
	}
	re_free(&re);
	if (f < 0)
		return -1;
	if (f == 0) {
		if (after)
			set_sub(out, "", 0);
		else
			set_sub(out, s, n);
		return 0;
	}
found:
	if (after)
		set_sub(out, s + he, n - he);
	else
		set_sub(out, s, hs);
	return 0;
}

static int re_ensure_start(fctx *c, const fexpr *e, const fval *v,
                           const char *chk, size_t cn, const char *pre,
                           size_t pn, const char *fl, size_t fln, fval *out)
{
	size_t ms, me;
	fbuf b = {.max = c->out.max};
	fre re;
	int f;
	if (re_flag_check(c, e, fl, fln) ||
	    re_compile(c, e, chk, cn, fl, fln, &re))
		return -1;
	if (feval_charge(c, e->off, v->u.s.n + pn)) {
		re_free(&re);
		return -1;
	}
	/* Java's lookingAt(): a match that starts at the start */
	f = re_next(c, e, &re, v->u.s.p, v->u.s.n, 0, PCRE2_ANCHORED, &ms, &me);
	re_free(&re);
	if (f < 0)
		return -1;
	if (f) {
		*out = *v;
		return 0;
	}
	fbuf_put(&b, pre, pn);
	fbuf_put(&b, v->u.s.p, v->u.s.n);
	return buf_result(c, &b, out);
}

/* ?split with flags: with r, Java's Pattern.split (trailing empty pieces
 * dropped); without, the literal split (kept), case-insensitive with i. */
static int re_split(fctx *c, const fexpr *e, const fval *v, const char *sep,
                    size_t sn, const char *fl, size_t fln, fval *out)
{
	const char *s = v->u.s.p;
	size_t n = v->u.s.n, pos = 0, from = 0, ms, me, m = 0, cap = 8;
	int regex = memchr(fl, 'r', fln) != NULL, f;
	fval *a;
	fre re;
	if (re_compile(c, e, sep, sn, fl, fln, &re))
		return -1;
	if (feval_charge(c, e->off, n) ||
	    !(a = feval_alloc(c, sizeof(fval) * cap))) {
		re_free(&re);
		return -1;
	}
	for (;;) {
		f = from <= n ? re_next(c, e, &re, s, n, from, 0, &ms, &me) : 0;
		if (f < 0)
			break;
		if (f && me == ms && (ms == 0 || ms >= n) && regex) {
			/* no empty piece from an empty match at either end */
			from = next_char(s, n, ms);
			continue;
		}
		if (m + 1 >= cap) {
			fval *na = feval_alloc(c, sizeof(fval) * cap * 2);
			if (!na) {
				f = -1;
				break;
			}
			memcpy(na, a, sizeof(fval) * m);
			a = na;
			cap *= 2;
		}
		if (feval_step(c, e->off, 1)) {
			f = -1;
			break;
		}
		if (!f) {
			set_sub(&a[m++], s + pos, n - pos);
			break;
		}
		set_sub(&a[m++], s + pos, ms - pos);
		pos = me;
		from = me == ms ? next_char(s, n, me) : me;
	}
	re_free(&re);
	if (f < 0)
		return -1;
	/* Java: no match at all gives the input itself, even "" */
	if (regex && m > 1)
		while (m > 0 && a[m - 1].u.s.n == 0)
			m--;
	set_seq(out, a, m);
	return 0;
}

static int split(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const char *sep, *p = v->u.s.p, *end = v->u.s.p + v->u.s.n;
	size_t sn, n = 0, cap = 8;
	fval *a;
	if (nargs(c, e, 1, 2) || arg_str(c, e, 0, &sep, &sn))
		return -1;
	if (e->nargs > 1) {
		const char *f;
		size_t fn;
		if (arg_str(c, e, 1, &f, &fn))
			return -1;
		if (fn)
			return re_split(c, e, v, sep, sn, f, fn, out);
	}
	if (feval_charge(c, e->off, v->u.s.n))
		return -1;
	if (!(a = feval_alloc(c, sizeof(fval) * cap)))
		return -1;
	for (;;) {
		const char *q;
		size_t k;
		if (sn) {
			q = find(p, (size_t)(end - p), sep, sn);
			k = q ? (size_t)(q - p) : (size_t)(end - p);
		} else {
			uint32_t cp;
			if (p == end)
				break;
			k = (size_t)ftxt_decode(p, (size_t)(end - p), &cp);
			q = p + k;
		}
		if (n + 1 >= cap) {
			fval *na = feval_alloc(c, sizeof(fval) * cap * 2);
			if (!na)
				return -1;
			memcpy(na, a, sizeof(fval) * n);
			a = na;
			cap *= 2;
		}
		if (feval_step(c, e->off, 1))
			return -1;
		set_sub(&a[n++], p, k);
		if (!q)
			break;
		p = q + sn;
		if (!sn && p == end)
			break;
	}
	set_seq(out, a, n);
	return 0;
}

static int word_list(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	const char *s = v->u.s.p;
	size_t n = v->u.s.n, i = 0, m = 0, cap = 8;
	fval *a;
	if (nargs(c, e, 0, 0) || feval_charge(c, e->off, n))
		return -1;
	if (!(a = feval_alloc(c, sizeof(fval) * cap)))
		return -1;
	while (i < n) {
		size_t st;
		uint32_t cp;
		int k = ftxt_decode(s + i, n - i, &cp);
		if (ftxt_is_space(cp)) {
			i += (size_t)k;
			continue;
		}
		st = i;
		while (i < n) {
			k = ftxt_decode(s + i, n - i, &cp);
			if (ftxt_is_space(cp))
				break;
			i += (size_t)k;
		}
		if (m + 1 >= cap) {
			fval *na = feval_alloc(c, sizeof(fval) * cap * 2);
			if (!na)
				return -1;
			memcpy(na, a, sizeof(fval) * m);
			a = na;
			cap *= 2;
		}
		set_sub(&a[m++], s + st, i - st);
	}
	set_seq(out, a, m);
	return 0;
}

/* 1 -> a, 26 -> z, 27 -> aa (bijective base 26). */
static int abc(fctx *c, const fexpr *e, const fval *v, fval *out)
{
	char buf[16], *p = buf + sizeof(buf);
	int64_t n;
	if (v->t != V_NUM)
		return type_err(c, e, v, "a number");
	if (nargs(c, e, 0, 0))
		return -1;
	n = fnum_to_i64(&v->u.n);
	if (!fnum_is_integral(&v->u.n) ||
	    fnum_cmp(&v->u.n, &(fnum){.kind = FN_INT, .u.i = INT32_MAX}) > 0)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%.*s needs a whole number of at most "
		                 "2147483647 (FreeMarker: can't convert it "
		                 "to an Integer without loss); use ?round or "
		                 "?floor first",
		                 (int)e->n, e->s);
	if (n < 1)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "The left side operand of to ?%.*s must be at "
		                 "least 1, but was %lld.",
		                 (int)e->n, e->s, (long long)n);
	while (n > 0) {
		n--;
		*--p = (char)((e->bi == B_UPPER_ABC ? 'A' : 'a') + n % 26);
		n /= 26;
	}
	return feval_str(c, p, (size_t)(buf + sizeof(buf) - p), out);
}

/* 1: not one of these built-ins; else 0 / -1. */
static int more_bi(fctx *c, const fexpr *e, fval *v, fval *out)
{
	int id = e->bi;
	int stringy = id == B_TRUNCATE_W || id == B_TRUNCATE_C ||
	              id == B_TRUNCATE_M || id == B_SPLIT ||
	              id == B_WORD_LIST || id == B_MATCHES;
	if (stringy && v->t == V_NUM) {
		const char *ts;
		size_t tn;
		if (feval_text(c, e->a, v, &ts, &tn))
			return -1;
		set_sub(v, ts, tn);
	}
	if (stringy && v->t != V_STR)
		return type_err(c, e, v, "a string");
	switch (id) {
	case B_TRUNCATE_W:
	case B_TRUNCATE_C:
	case B_TRUNCATE_M: return truncate(c, e, v, out);
	case B_SPLIT: return split(c, e, v, out);
	case B_MATCHES: return matches(c, e, v, out);
	case B_GROUPS: return groups_bi(c, e, v, out);
	case B_WORD_LIST: return word_list(c, e, v, out);
	case B_LOWER_ABC:
	case B_UPPER_ABC: return abc(c, e, v, out);
	case B_CHUNK: return chunk(c, e, v, out);
	case B_MIN:
	case B_MAX: return min_max(c, e, v, out);
	case B_SEQUENCE:
		if (v->t != V_SEQ)
			return type_err(c, e, v, "a sequence");
		if (nargs(c, e, 0, 0))
			return -1;
		*out = *v;
		return 0;
	case B_SEQ_LAST_INDEX_OF: return seq_last_index_of(c, e, v, out);
	case B_FILTER:
	case B_MAP:
	case B_TAKE_WHILE:
	case B_DROP_WHILE: return seq_fn(c, e, v, out);
	}
	return 1;
}

int fbi_eval(fctx *c, const fexpr *e, fval *out)
{
	fval v;
	int id = e->bi;
	if (id == B_UNSUPPORTED)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "the built-in ?%.*s is not supported by this "
		                 "engine (see docs/templates.md)",
		                 (int)e->n, e->s);
	if (id >= B_INDEX && id <= B_IS_ODD_ITEM)
		return loop_bi(c, e, out);
	if (id == B_HAS_CONTENT || id == B_EXISTS || id == B_DEFAULT ||
	    id == B_IF_EXISTS) {
		if (id != B_DEFAULT && nargs(c, e, 0, 0))
			return -1;
		if (id == B_DEFAULT && !e->sub)
			return nargs(c, e, 1, 1);
		if (e->a->paren) {
			if (feval_expr(c, e->a, &v)) {
				if (!c->missing)
					return -1;
				c->failed = 0;
				c->missing = 0;
				memset(&v, 0, sizeof(v));
				if (feval_charge(c, e->off, FTL_MISS_COST))
					return -1;
			}
		} else if (feval_expr(c, e->a, &v)) {
			return -1;
		}
		if (id == B_DEFAULT || id == B_IF_EXISTS) {
			/* the legacy x?default(y, z...) and x?if_exists:
			 * x, or the first argument present, or x! */
			if (v.t != V_NONE) {
				*out = v;
				return 0;
			}
			for (int i = 0; id == B_DEFAULT && i < e->nargs; i++) {
				if (feval_expr(c, e->args[i], out))
					return -1;
				if (out->t != V_NONE)
					return 0;
			}
			memset(out, 0, sizeof(*out));
			if (id == B_IF_EXISTS) {
				out->t = V_STR;
				out->u.s.p = "";
				out->empty_default = 1;
			}
			return 0;
		}
		set_bool(out, id == B_EXISTS ? v.t != V_NONE : has_content(&v));
		return 0;
	}
	if (feval_expr(c, e->a, &v))
		return -1;
	if (v.t == V_NONE)
		return feval_missing(c, e->a);
	if (v.empty_default &&
	    (id == B_SIZE || id == B_FIRST || id == B_LAST ||
	     id == B_SEQ_CONTAINS || id == B_SEQ_INDEX_OF || id == B_SORT ||
	     id == B_REVERSE || id == B_JOIN || id == B_KEYS ||
	     id == B_VALUES)) {
		/* x! with no default is also an empty sequence and hash */
		memset(&v, 0, sizeof(v));
		v.t = V_SEQ;
		v.k = K_ARR;
		if (id == B_KEYS || id == B_VALUES) {
			set_seq(out, NULL, 0);
			return 0;
		}
	}
	if (v.t == V_SEQ && v.rx &&
	    (id == B_C || id == B_CN || id == B_STRING || id == B_THEN ||
	     id == B_IS_BOOLEAN)) {
		/* a ?matches result used as its boolean */
		int b = v.rx == 2;
		set_bool(&v, b);
	}
	if (id >= B_DATE && id <= B_ISO)
		return date_bi(c, e, &v, out);
	{
		int r = more_bi(c, e, &v, out);
		if (r <= 0)
			return r;
	}
	switch (id) {
	case B_IS_STRING: set_bool(out, v.t == V_STR); return 0;
	case B_IS_NUMBER: set_bool(out, v.t == V_NUM); return 0;
	case B_IS_BOOLEAN: set_bool(out, v.t == V_BOOL); return 0;
	/* the "" of a bare x! is also an empty sequence and hash */
	case B_IS_SEQUENCE:
		set_bool(out, v.t == V_SEQ || v.empty_default);
		return 0;
	case B_IS_HASH:
		set_bool(out, v.t == V_HASH || v.empty_default);
		return 0;
	/* FreeMarker's finer type tests: .vars and .globals are its only
	 * hashes that cannot list their keys; ?keys, ?values, ?matches and
	 * a range without an end are collections too; bounded sequences
	 * (data, literals, ranges, ?split...) are not. Nothing here is a
	 * Java method, a transform or an XML node. */
	case B_IS_HASH_EX:
		set_bool(out,
		         (v.t == V_HASH && v.k != K_VARS && v.k != K_GLOBALS) ||
		                 v.empty_default);
		return 0;
	case B_IS_ENUMERABLE:
	case B_IS_INDEXABLE:
		set_bool(out, v.t == V_SEQ || v.empty_default);
		return 0;
	case B_IS_COLLECTION:
		set_bool(out, v.t == V_SEQ && (v.coll || v.rx ||
		                               (v.k == K_RANGE && v.u.r.open)));
		return 0;
	case B_IS_COLLECTION_EX:
	case B_IS_METHOD:
	case B_IS_TRANSFORM:
	case B_IS_NODE: set_bool(out, 0); return 0;
	/* a #function is a macro and a directive to FreeMarker too */
	case B_IS_MACRO:
	case B_IS_DIRECTIVE: set_bool(out, v.t == V_MACRO); return 0;
	case B_C:
	case B_CN:
		if (nargs(c, e, 0, 0))
			return -1;
		return c_bi(c, e, &v, out);
	case B_STRING: return string_of(c, e, &v, out);
	case B_THEN:
	case B_SWITCH: return then_switch(c, e, &v, out);
	case B_KEYS:
	case B_VALUES: {
		fval *k, *vals;
		size_t n;
		if (v.t != V_HASH)
			return type_err(c, e, &v, "a hash");
		if (feval_hash_items(c, &v, &k, &vals, &n))
			return -1;
		set_seq(out, id == B_KEYS ? k : vals, n);
		out->coll = 1;
		return 0;
	}
	}
	if (v.t == V_NUM &&
	    (id == B_UPPER || id == B_LOWER || id == B_LENGTH || id == B_TRIM ||
	     id == B_CAP_FIRST || id == B_UNCAP_FIRST || id == B_CAPITALIZE ||
	     id == B_HTML || id == B_XML || id == B_JS_STRING ||
	     id == B_JSON_STRING || id == B_CHOP_LINEBREAK || id == B_URL ||
	     id == B_URL_PATH || id == B_CONTAINS || id == B_STARTS_WITH ||
	     id == B_ENDS_WITH || id == B_INDEX_OF || id == B_LAST_INDEX_OF ||
	     id == B_KEEP_BEFORE || id == B_KEEP_AFTER ||
	     id == B_KEEP_BEFORE_LAST || id == B_KEEP_AFTER_LAST ||
	     id == B_LEFT_PAD || id == B_RIGHT_PAD || id == B_TRUNCATE ||
	     id == B_SUBSTRING || id == B_REPLACE ||
	     id == B_ENSURE_STARTS_WITH || id == B_ENSURE_ENDS_WITH ||
	     id == B_REMOVE_BEGINNING || id == B_REMOVE_ENDING ||
	     id == B_NUMBER)) {
		/* numbers convert to text with the current number format */
		const char *ts;
		size_t tn;
		if (feval_text(c, e->a, &v, &ts, &tn))
			return -1;
		set_sub(&v, ts, tn);
	}
	if (v.t == V_STR) {
		if (id == B_SIZE || id == B_FIRST || id == B_LAST ||
		    id == B_SORT || id == B_REVERSE || id == B_JOIN ||
		    id == B_SEQ_CONTAINS || id == B_SEQ_INDEX_OF)
			return type_err(c, e, &v, "a sequence");
		if (id != B_UPPER && id != B_LOWER && id != B_LENGTH &&
		    id != B_TRIM && id != B_CAP_FIRST && id != B_UNCAP_FIRST &&
		    id != B_CAPITALIZE && id != B_HTML && id != B_XML &&
		    id != B_JS_STRING && id != B_JSON_STRING &&
		    id != B_CHOP_LINEBREAK && id != B_NUMBER &&
		    id != B_BOOLEAN && id != B_URL && id != B_URL_PATH &&
		    !e->sub)
			return nargs(c, e, 1, 1);
		if ((id == B_UPPER || id == B_LOWER || id == B_LENGTH ||
		     id == B_TRIM || id == B_CAP_FIRST || id == B_UNCAP_FIRST ||
		     id == B_CAPITALIZE || id == B_HTML || id == B_XML ||
		     id == B_JS_STRING || id == B_JSON_STRING ||
		     id == B_NUMBER) &&
		    e->sub)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "?%s takes no arguments", bname(e));
		return string_bi(c, e, &v, out);
	}
	if (v.t == V_NUM) {
		if (id == B_ROUND || id == B_FLOOR || id == B_CEILING ||
		    id == B_ABS || id == B_INT || id == B_IS_INFINITE ||
		    id == B_IS_NAN)
			return num_bi(c, e, &v, out);
		if (id == B_SIZE || id == B_SORT || id == B_JOIN)
			return type_err(c, e, &v, "a sequence");
		return type_err(c, e, &v, "a string");
	}
	if (v.t == V_SEQ) {
		if (id == B_SIZE || id == B_FIRST || id == B_LAST ||
		    id == B_SEQ_CONTAINS || id == B_SEQ_INDEX_OF ||
		    id == B_SORT || id == B_REVERSE || id == B_JOIN)
			return seq_bi(c, e, &v, out);
		return type_err(c, e, &v, "a string");
	}
	if (v.t == V_HASH && id == B_SIZE) {
		if (!feval_hash_is_ex(&v))
			return type_err(
			        c, e, &v,
			        "an extended hash or sequence (.vars "
			        "and .globals cannot count their keys)");
		set_int(out, (int64_t)feval_hash_len(&v));
		return 0;
	}
	return type_err(c, e, &v,
	                id == B_ROUND || id == B_FLOOR || id == B_CEILING ||
	                                id == B_ABS || id == B_INT
	                        ? "a number"
	                        : "a string");
}
