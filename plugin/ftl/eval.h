/*
 * eval.h - the renderer's state and values, shared by eval.c and
 * builtins.c (internal).
 */
#ifndef FTL_EVAL_H
#define FTL_EVAL_H

#include "ftl_int.h"
#include "fdate.h"

/* V_MARKUP: markup output (?esc, ?no_esc, #assign captures in a markup
 * format): u.s holds the markup, printed without escaping; k its format
 * (FOF_* + 1; 0: the template's), u.s.g for ?esc's results the source
 * text (a V_STR), re-escaped where another markup format prints it */
enum {
	V_NONE = 0,
	V_STR,
	V_NUM,
	V_BOOL,
	V_SEQ,
	V_HASH,
	V_MACRO,
	V_DATE,
	V_MARKUP
};
/* storage of sequences and hashes. K_VARS (.vars) and K_GLOBALS
 * (.globals) are FreeMarker's plain hashes: a key is looked up as a
 * variable name (.vars: as a plain name is; .globals: #global, then the
 * data), they cannot list their keys (?keys, ?size, #list fail as in
 * FreeMarker). K_MAIN (.main, .namespace) is the template's variables
 * (#assign'd ones and macros), read when used, listed in Java HashMap
 * order; u.cx is the render it belongs to. */
enum { K_ARR = 0, K_JSON, K_RANGE, K_VARS, K_GLOBALS, K_MAIN };
struct fctx;

typedef struct fval fval;
struct fval {
	uint8_t t, k;
	uint8_t empty_default; /* the "" of a bare x! */
	/* ?matches (builtins.c): on its V_SEQ result 1 + whether the whole
	 * input matched (the value is also that boolean; u.a.v[u.a.n] holds
	 * the whole match's ?groups when it matched); on a V_STR item 1, its
	 * groups in u.s.g */
	uint8_t rx;
	/* V_SEQ from ?keys or ?values: a collection as well as a sequence
	 * (FreeMarker's ?is_collection; kept by assignment and copies) */
	uint8_t coll;
	union {
		struct {
			const char *p;
			size_t n;
			const struct fval *g; /* rx: ?groups (a V_SEQ) */
		} s;
		fnum n;
		int b;
		const fmacro *m; /* V_MACRO: a #macro or #function */
		struct {
			int64_t ms; /* UTC instant */
			int kind;   /* FD_DATE, FD_TIME, FD_DATETIME... */
			int sql;    /* from the data's $date/$time: like
			               java.sql.Date/Time, ISO text shows
			               no zone */
		} d;
		json_object *j;
		struct fctx *cx; /* K_VARS, K_GLOBALS, K_MAIN */
		struct {
			fval *v;
			size_t n;
			const char **keys; /* hashes */
			size_t *klen;
		} a;
		struct {
			int64_t start;
			size_t count;
			int step;
			int open;
		} r;
	} u;
};

typedef struct fvar {
	const char *name;
	size_t n;
	fval v;
} fvar;

typedef struct floop {
	const char *v1, *v2;
	size_t n1, n2;
	fval item, val;
	size_t index;
	int has_next;
	int active;        /* a running iteration */
	int env;           /* id of the fenv it runs in (visibility) */
	const fnode *list; /* #list with #items: the pending sequence */
	fval pending;
} floop;

/* A context variables are looked up in: the template's top level, a
 * macro or function call (its parameters and #local variables), or the
 * nested content of a call (run for #nested: its loop variables, then the
 * caller's context through UP). Lives on the C stack of the call. */
typedef struct fenv fenv;
struct fenv {
	fenv *up;          /* nested content: the caller's context */
	fenv *caller;      /* a call: the context it was made in */
	const fmacro *m;   /* a call: what runs */
	const fnode *site; /* a macro call: the <@...> (nested content) */
	fvar *vars;        /* parameters and locals / nested loop vars */
	size_t nvars, capvars;
	int id;
};

/* What is known of a long string seen before in this render: strings never
 * move or change while a render runs (the model is borrowed, temporaries
 * live in the arena until the end), so the address and length name it. */
typedef struct fstrinfo {
	const char *p;
	size_t n;
	size_t u16; /* length in UTF-16 units (== n: all ASCII); SIZE_MAX:
	               not measured yet (a model string known to be valid) */
} fstrinfo;
#define FEVAL_STRCACHE     4
#define FEVAL_STRCACHE_MIN 64 /* shorter strings are measured each time */

typedef struct fctx {
	const ftl_template *t;
	json_object *model;
	fbuf out;
	farena arena;
	ftl_error *err;
	int failed;
	int missing; /* the current error is a missing value */
	const fexpr *miss_e, *miss_chain; /* what was missing, in what path */
	fnfmt fmt;
	const floc *loc;
	const char *bool_true, *bool_false;
	fvar *vars;
	size_t nvars, capvars;
	int nloops;
	size_t steps;
	/* work budget (feval_charge): units left before the slow path runs
	 * (the budget's end or the next clock read), and the units counted
	 * up to the start of the current window */
	size_t work_left, work_window, work_base, max_work;
	int64_t deadline_ms;
	size_t err_off;  /* where the error is; line/column found at the end */
	size_t node_off; /* the directive or ${} being run */
	fstrinfo strs[FEVAL_STRCACHE];
	unsigned strs_next;
	int depth;
	fenv top, *env; /* the top level; the current context */
	int next_env;   /* ids for new contexts */
	int ncalls;     /* calls in progress (FTL_MAX_CALL_DEPTH) */
	fvar *globals;  /* #global */
	size_t nglobals, capglobals;
	fval ret; /* #return's value, on its way to the caller */
	/* dates: the time_zone setting, the date/time/datetime_format
	 * settings (indexed by FD_DATE, FD_TIME, FD_DATETIME), .now */
	const fzone *zone;
	const char *dfmt[4];
	size_t dfmt_n[4];
	int64_t (*now_fn)(void *);
	void *now_arg;
	int64_t now;
	int has_now;
	/* output format (FOF_*), auto-escaping on now, the charset of ?url
	 * (FURL_*), its name as given (.url_escaping_charset; NULL: unset) */
	int ofmt, autoesc, url_cs;
	const char *url_cs_name;
	size_t url_cs_nlen;
	/* the template's auto-escaping policy lets markup formats escape
	 * (for ${...} inside #outputformat: FOF_IS_MARKUP there decides) */
	int policy_on;
	/* ftl-directives: the message of the error the innermost running
	 * #recover handles (.error); t == V_NONE outside #recover */
	fval rec_err;
	floop loops[FTL_MAX_DEPTH]; /* last: not cleared per render */
} fctx;

int feval_err(fctx *c, size_t off, ftl_kind k, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
const char *feval_src(fctx *c, const fexpr *e, int *len);
int feval_missing(fctx *c, const fexpr *e);
void *feval_alloc(fctx *c, size_t n);
int feval_step(fctx *c, size_t off, size_t n);
/* The slow path of feval_charge: the budget spent, or time to read the
 * clock. */
int feval_work_slow(fctx *c, size_t off, size_t n);
/* Charge N units of work (bytes scanned or built, iterations) done at OFF:
 * 0, or -1 with FTL_LIMIT (the budget is spent) or FTL_DEADLINE. Costs an
 * addition and a comparison; the clock is read only in the slow path. */
static inline int feval_charge(fctx *c, size_t off, size_t n)
{
	if (__builtin_expect(n > c->work_left, 0))
		return feval_work_slow(c, off, n);
	c->work_left -= n;
	return 0;
}
/* Length in UTF-16 units of S (N bytes, valid UTF-8), charged to the
 * budget, remembered for long strings: 0 or -1 (budget). */
int feval_u16len(fctx *c, size_t off, const char *s, size_t n, size_t *len);
/* Byte offset of UTF-16 index IDX of S, whose UTF-16 length is U16 (as
 * feval_u16len gave it: an ASCII string needs no scan); -1 when it splits a
 * surrogate pair or is past the end. */
long feval_u16_to_byte(const char *s, size_t n, size_t u16, size_t idx);
/* UTF-16 index of byte offset OFF of S (as above). */
size_t feval_byte_to_u16(const char *s, size_t n, size_t u16, size_t off);
const char *feval_type_name(const fval *v);
int feval_from_json(fctx *c, json_object *j, fval *v, size_t off);
size_t feval_seq_len(const fval *v);
int feval_seq_get(fctx *c, const fval *v, size_t i, fval *out);
int feval_hash_get(fctx *c, const fval *h, const char *key, size_t klen,
                   fval *out, size_t off);
/* Keys of H (K_MAIN: at this moment); 0 for the plain hashes, which
 * cannot tell (check feval_hash_is_ex first where it matters). */
size_t feval_hash_len(const fval *h);
/* Whether H can list its keys (FreeMarker's TemplateHashModelEx). */
static inline int feval_hash_is_ex(const fval *h)
{
	return h->k != K_VARS && h->k != K_GLOBALS;
}
int feval_hash_items(fctx *c, const fval *h, fval **keys, fval **vals,
                     size_t *n);
int feval_fmt_num(fctx *c, const fnum *n, const fnfmt *f, fbuf *b);
int feval_to_text(fctx *c, const fexpr *e, const fval *v, fbuf *b, size_t off);
int feval_outerr(fctx *c, fbuf *b);
int feval_text(fctx *c, const fexpr *e, const fval *v, const char **s,
               size_t *n);
int feval_str(fctx *c, const char *s, size_t n, fval *out);
int feval_bool(fctx *c, const fexpr *e, int *b);
int feval_compare(fctx *c, const fexpr *e, int op, const fval *a, const fval *b,
                  int *res);
int feval_expr(fctx *c, const fexpr *e, fval *out);
int feval_body(fctx *c, const fnode *n);
int feval_items(fctx *c, const fnode *n);
floop *feval_find_loop(fctx *c, const char *name, size_t n);
int fbi_eval(fctx *c, const fexpr *e, fval *out);
/* A date value as text with format FMT (a style name, "iso", "xs" or a
 * pattern; NULL: the setting for its kind): appends to B. */
int feval_fmt_date(fctx *c, size_t off, const fval *v, const char *fmt,
                   size_t fn, fbuf *b);
/* The time_zone setting NAME: 0, or -1 with a runtime error at OFF. */
int feval_set_zone(fctx *c, size_t off, const char *name, size_t n);
/* Check a date format setting value; 0 or -1 with WHY. */
int feval_date_fmt_ok(const char *f, size_t n, char *why, size_t wn);
/* Call function M with N positional arguments (a missing one is V_NONE);
 * its #return value in RET (V_NONE when it returned none). */
int feval_call(fctx *c, const fmacro *m, const fval *args, int n, size_t off,
               fval *ret);
/* Evaluate the lambda L (x -> expr) with X bound to its parameter. */
int feval_lambda(fctx *c, const fexpr *l, const fval *x, fval *out);
/* Append S escaped for output format FMT (FOF_*) to B: 0 or -1 (B's
 * limit or memory). */
int feval_escape(int fmt, const char *s, size_t n, fbuf *b);
/* The charsets of ?url (fctx.url_cs): one byte a character (UTF-8
 * aside: FURL_UTF8 < FURL_WIDE), or UTF-16/UTF-32 (FURL_WIDE and above:
 * code units of 2 or 4 bytes, big- or little-endian, FURL_UTF16 and
 * FURL_UNICODE_LITTLE with a byte order mark before each run of escaped
 * characters, as Java's String.getBytes gives it to FreeMarker). */
enum {
	FURL_UTF8 = 0,
	FURL_LATIN1,
	FURL_ASCII,
	FURL_CP1252,
	FURL_LATIN9,
	FURL_WIDE,
	FURL_UTF16 = FURL_WIDE,
	FURL_UTF16BE,
	FURL_UTF16LE,
	FURL_UNICODE_LITTLE,
	FURL_UTF32,
	FURL_UTF32BE,
	FURL_UTF32LE
};
/* The names feval_url_charset knows, for error messages. */
#define FURL_NAMES                                                             \
	"UTF-8, ISO-8859-1, US-ASCII, windows-1252, ISO-8859-15, UTF-16, "     \
	"UTF-16BE, UTF-16LE, UTF-32, UTF-32BE, UTF-32LE"
/* The charset id of ?url (FURL_*) for NAME (Java's names and aliases,
 * case-insensitive), or -1. */
int feval_url_charset(const char *name, size_t n);
/* S (valid UTF-8) in one-byte charset CS (FURL_LATIN1..FURL_LATIN9) as a
 * new arena string; characters the charset lacks become '?', as Java's
 * encoder does. 0 or -1. */
int feval_url_transcode(fctx *c, size_t off, int cs, const char **s, size_t *n);
/* The markup built-ins (FBI_*). */
int feval_markup_bi(fctx *c, const fexpr *e, fval *out);

#endif
