/*
 * ftl_int.h - internals shared by the files of the template engine.
 *
 * Not installed; nothing here is part of the API (ftl.h is). Prefixes:
 * fnum_ numbers (num.c), ftxt_ text and UTF-8 (text.c), fbuf_ growing
 * buffers, farena_ bump allocation, fparse_ the compiler (parse.c),
 * feval_ the renderer (eval.c).
 */
#ifndef FTL_INT_H
#define FTL_INT_H

#include <stdatomic.h>
#include <stdint.h>
#include <stddef.h>

#include "ftl.h"

/* Limits: templates are untrusted. */
#define FTL_MAX_TEMPLATE   (1u << 20)   /* bytes of template text */
#define FTL_MAX_DEPTH      100          /* nesting of expressions/directives */
#define FTL_MAX_EXPR_DEPTH 200          /* height of an expression tree */
#define FTL_DEFAULT_OUTPUT (64u * 1024) /* bytes of output */
#define FTL_MAX_STEPS      1000000      /* loop iterations + sort work */
#define FTL_MAX_ARENA      (32u << 20)  /* bytes of render temporaries */
/* Work units between two reads of the clock when a deadline is set: at
 * worst a few nanoseconds per unit, so well under a millisecond late, and
 * at most FTL_DEFAULT_WORK_UNITS / FTL_CLOCK_EVERY = 256 clock reads. */
#define FTL_CLOCK_EVERY ((size_t)1 << 16)
/* What a value looked up and found missing costs when a default or ??
 * absorbs it (an error message is formatted and dropped). */
#define FTL_MISS_COST 64
/* Macro and function calls in progress at once: each one nests the
 * renderer's C recursion (a call inside an expression inside a macro...),
 * so this bounds the stack together with FTL_MAX_DEPTH. */
#define FTL_MAX_CALL_DEPTH 64
/* What one call costs in work units besides its arguments and body. */
#define FTL_CALL_COST 8

/* ---- numbers (num.c) ---------------------------------------------------
 * Three representations, as FreeMarker sees them: Integer/Long (FN_INT),
 * Double (FN_DBL, JSON decimals) and BigDecimal (FN_DEC: COEF * 10^-SCALE,
 * literals and arithmetic results). */
enum { FN_INT = 0, FN_DBL, FN_DEC };
typedef struct fnum {
	int kind;
	int32_t scale;
	union {
		int64_t i;
		double d;
		__int128 c;
	} u;
} fnum;

enum { FNUM_OK = 0, FNUM_EOVERFLOW = -1, FNUM_EDIVZERO = -2 };

/* A parsed DecimalFormat-like pattern (or "number"/"computer"/"percent"). */
typedef struct fnfmt {
	int min_int, min_frac, max_frac;
	int group;          /* grouping size, 0 = none */
	int mult;           /* 1 or 100 (percent) */
	char prefix[32];    /* literal text before the number */
	char suffix[32];    /* literal text after */
	int neg_prefix_set; /* "percent": the suffix comes from the locale */
	int hasneg;         /* a negative subpattern was given */
	char negp[32], negs[32];
} fnfmt;

/* Locale symbols for formatting. */
typedef struct floc {
	const char *name;
	const char *dec;        /* decimal separator (UTF-8) */
	const char *group;      /* grouping separator (UTF-8) */
	const char *pct_suffix; /* what "percent" puts after the digits */
} floc;

const floc *fnum_locale(const char *name);
void fnum_from_i64(fnum *n, int64_t v);
void fnum_from_dbl(fnum *n, double v);
int fnum_parse(const char *s, size_t len, fnum *out); /* BigDecimal text */
int fnum_add(const fnum *a, const fnum *b, fnum *out);
int fnum_sub(const fnum *a, const fnum *b, fnum *out);
int fnum_mul(const fnum *a, const fnum *b, fnum *out);
int fnum_div(const fnum *a, const fnum *b, fnum *out);
int fnum_mod(const fnum *a, const fnum *b, fnum *out);
int fnum_neg(const fnum *a, fnum *out);
int fnum_cmp(const fnum *a, const fnum *b); /* -1, 0, 1 */
int fnum_sign(const fnum *a);
int64_t fnum_to_i64(const fnum *a); /* Java longValue(): truncation */
double fnum_to_dbl(const fnum *a);
/* ?round ?floor ?ceiling ?abs ?int */
int fnum_round(const fnum *a, int mode, fnum *out); /* 0 round 1 floor 2 ceil */
int fnum_abs(const fnum *a, fnum *out);
int fnum_is_integral(const fnum *a);
/* Parse a number_format setting or a ?string argument; 0 or -1 (unsupported).
 */
int fnum_fmt_parse(const char *pattern, fnfmt *f);
/* Format with DecimalFormat's rules into BUF (needs FNUM_BUF bytes at least
 * for numbers of reasonable size; returns bytes written or -1 when it does
 * not fit). */
struct fbuf;
int fnum_format(const fnum *n, const fnfmt *f, const floc *loc,
                struct fbuf *out);

/* ---- growing byte buffer ------------------------------------------------ */
typedef struct fbuf {
	char *p;
	size_t n, cap;
	size_t max; /* limit; exceeding it sets over */
	int over;   /* limit exceeded */
	int nomem;
	char *stack; /* initial storage not to free */
} fbuf;
int fbuf_put(fbuf *b, const char *s, size_t n); /* 0 or -1 (over/nomem) */
int fbuf_putc(fbuf *b, char c);

/* ---- text (text.c) ------------------------------------------------------ */
int ftxt_utf8_valid(const char *s, size_t n);
/* Offset of the first invalid sequence in S, or N when all is valid. */
size_t ftxt_utf8_bad(const char *s, size_t n);
/* Decode one code point at S (valid UTF-8 assumed); returns its length. */
int ftxt_decode(const char *s, size_t n, uint32_t *cp);
int ftxt_encode(uint32_t cp, char *out);
size_t ftxt_u16len(const char *s, size_t n);
/* Byte offset of UTF-16 index IDX (-1 if it splits a surrogate pair or is
 * past the end). */
long ftxt_u16_to_byte(const char *s, size_t n, size_t idx);
/* UTF-16 index of byte offset OFF. */
size_t ftxt_byte_to_u16(const char *s, size_t off);
int ftxt_upper(const char *s, size_t n, fbuf *out);
int ftxt_lower(const char *s, size_t n, fbuf *out);
uint32_t ftxt_upper1(uint32_t c);
uint32_t ftxt_lower1(uint32_t c);
uint32_t ftxt_title1(uint32_t c);
int ftxt_is_space(uint32_t c); /* Java Character.isWhitespace */
/* The longest prefix of S (N bytes) of at most MAX bytes that does not cut
 * a UTF-8 sequence. */
size_t ftxt_clip(const char *s, size_t n, size_t max);
/* Drop an incomplete UTF-8 sequence at the end of the string M (after a
 * truncating snprintf). */
void ftxt_fix_tail(char *m);

#endif

/* ---- the compiled form (parse.c builds it, eval.c walks it) -------------- */
enum {
	E_STR,
	E_NUM,
	E_BOOL,
	E_VAR,
	E_DOT,
	E_INDEX,
	E_BI,
	E_DEFAULT,
	E_EXISTS,
	E_NOT,
	E_NEG,
	E_POS,
	E_ADD,
	E_SUB,
	E_MUL,
	E_DIV,
	E_MOD,
	E_RANGE,
	E_EQ,
	E_NE,
	E_LT,
	E_LE,
	E_GT,
	E_GE,
	E_AND,
	E_OR,
	E_SEQ,
	E_HASH,
	E_CONCATS,
	E_INTERP,
	E_CALL,  /* a(args): a function (#function) called; args in args */
	E_LAMBDA /* s -> a: only as the argument of ?filter, ?map... */
};
/* E_RANGE sub: */
enum { R_INCL, R_EXCL, R_LEN, R_OPEN };

typedef struct fexpr fexpr;
struct fexpr {
	uint8_t op, sub, paren;
	uint16_t depth; /* height of this expression tree (bounded) */
	uint32_t off;   /* byte offset in the template (errors) */
	uint32_t end;   /* end offset: the source text for messages */
	fexpr *a, *b;
	fexpr **args;
	int nargs;
	const char *s; /* name / string literal / built-in name (NUL-ended) */
	size_t n;
	fnum num;
	int bi;    /* E_BI: built-in id (eval.c) */
	void *aux; /* E_BI ?string('pattern'): the pre-parsed fnfmt */
	/* where it was written (lexical, FreeMarker decides it when
	 * parsing): the output format of the enclosing #outputformat, FOF_*
	 * + 1 (0: the template's), and the nearest #autoesc (1) or
	 * #noautoesc (2) (0: the template's auto-escaping) */
	uint8_t lexfmt, lexesc;
};

enum {
	N_TEXT,
	N_INTERP,
	N_IF,
	N_LIST,
	N_ITEMS,
	N_SEP,
	N_ASSIGN,
	N_SWITCH,
	N_CASE,
	N_BREAK,
	N_SETTING,
	N_MACRO,    /* #macro / #function: aux is the fmacro */
	N_CALL,     /* <@m ...>: aux is the fcall, body the nested content */
	N_NESTED,   /* #nested: e unused, aux is the fcall (positional args) */
	N_RETURN,   /* #return [e] */
	N_INCLUDE,  /* #include / #import: a runtime error (no loader) */
	N_AUTOESC,  /* #autoesc (op 1) / #noautoesc (op 0): body */
	N_STOP,     /* #stop [e]: ends the render with an error */
	N_BLOCK,    /* #escape, #noescape, #outputformat: only lexical, runs
	             * its body */
	N_COMPRESS, /* #compress: body, its output compressed */
	N_ATTEMPT   /* #attempt: body; alt the #recover block */
};
/* where #assign / #local / #global put the variable */
enum { S_NAMESPACE = 0, S_LOCAL, S_GLOBAL };
#define LIST_FOREACH 1

/* A #macro or #function definition. Parameters without defaults come
 * first (the parser checks); REST is the catch-all "name..." or NULL. */
typedef struct fmacro {
	const char *name;
	size_t n;
	int is_func;
	int nparams;
	const char **pnames;
	size_t *plens;
	fexpr **pdefs; /* default value expressions, NULL: required */
	const char *rest;
	size_t nrest;
	const struct fnode *body;
	uint32_t off;
} fmacro;

/* The arguments of <@m ...>, #nested or a function call: NAMES is NULL
 * for positional ones; LVARS are the loop variables after ";". */
typedef struct fcall {
	fexpr *callee; /* <@m>: the macro expression */
	int nargs;
	const char **names;
	size_t *nlens;
	fexpr **args;
	int nlvars;
	const char **lvars;
	size_t *lvlens;
} fcall;
/* assignment operators */
enum { A_SET, A_ADD, A_SUB, A_MUL, A_DIV, A_MOD, A_INC, A_DEC };

typedef struct fnode fnode;
struct fnode {
	uint8_t type, op, has_items;
	uint8_t scope; /* N_ASSIGN: S_NAMESPACE, S_LOCAL or S_GLOBAL;
	                  N_LIST: LIST_FOREACH from <#foreach x in s> */
	uint32_t off;
	void *aux; /* N_MACRO: fmacro; N_CALL, N_NESTED: fcall */
	fnode *next;
	fexpr *e;
	fnode *body, *alt;
	const char *v1, *v2; /* names: loop variables, assigned variable */
	size_t n1, n2;
	const char *text; /* N_TEXT */
	size_t len;
	uint8_t lexfmt; /* as fexpr's: the enclosing #outputformat */
};

typedef struct fchunk {
	struct fchunk *next;
	size_t used, cap;
	_Alignas(16) unsigned char data[];
} fchunk;

typedef struct farena {
	fchunk *head;
	size_t total, limit;
} farena;
void *farena_alloc(farena *a, size_t n); /* 16-aligned, zeroed; NULL */
void farena_free(farena *a);

struct ftl_template {
	atomic_int refs;
	farena arena;
	char *src;
	size_t len;
	fnode *root;
	/* what compiling it took (tests check that it stays linear): the
	 * lexer's items, and how many times white-space stripping visited
	 * one */
	size_t nitems, ws_visits;
	/* every #macro/#function in source order: defined before the
	 * render starts, as FreeMarker does (a macro may be called above
	 * its definition) */
	fnode **macros;
	size_t nmacros;
	/* output formats (docs/templates.md "Settings"): the <#ftl>
	 * header's output_format (FOF_*, -1: none, the setting decides) and
	 * auto_esc (-1: not given); MARKUP_WHAT: the first construct that
	 * needs a markup output format (?esc, ?no_esc, #autoesc,
	 * auto_esc=true), checked when the render knows the format, as
	 * FreeMarker checks it when parsing (NULL: none) */
	int hdr_fmt, hdr_autoesc;
	const char *markup_what;
	size_t markup_off;
	/* the first ?html/?xhtml/?xml/?rtf or #escape under the default
	 * auto-escaping [0], inside #autoesc [1], inside an #outputformat
	 * with a markup format under the default auto-escaping policy [2]
	 * (parse.c legacy_record), or NULL */
	const char *legacy_what[3];
	size_t legacy_off[3];
	int legacy_fmt2; /* the format of [2] (FOF_*) */
};

/* Output formats: the first four escape ${...} (markup formats). */
enum {
	FOF_UNDEFINED = 0,
	FOF_PLAIN,
	FOF_JSON,
	FOF_CSS,
	FOF_JS,
	FOF_HTML,
	FOF_XHTML,
	FOF_XML,
	FOF_RTF
};
#define FOF_IS_MARKUP(f) ((f) >= FOF_HTML)
/* FOF_* for the name (FreeMarker's spelling, case-sensitive), or -1. */
int ftl_outfmt(const char *name, size_t n);
/* FreeMarker's name of output format F. */
const char *ftl_outfmt_name(int f);
/* auto_escaping_policy of S: 0 enable_if_default (NULL), 1
 * enable_if_supported, 2 disable, -1 unknown. */
int ftl_autoesc_policy(const ftl_settings *s);
/* ftl_settings_check for boolean_format, output_format,
 * auto_escaping_policy and url_escaping_charset only (cheap: per render). */
int ftl_settings_check_formats(const ftl_settings *s, ftl_error *err);
/* The markup built-ins (parse.c makes them, eval.c runs them): ids out of
 * builtins.c's range so the two files stay independent. */
enum {
	FBI_ESC = 0x4000,
	FBI_NO_ESC,
	FBI_MARKUP_STRING,
	FBI_IS_MARKUP,
	FBI_CUSTOM_FMT /* ?string.@name: FreeMarker's error */
};

/* Built-in id for NAME, or -1 when FreeMarker has no such built-in. */
int feval_builtin_id(const char *name, size_t n);
int feval_builtin_is_string(int id);
/* ?date, ?time, ?datetime: ".iso", ".xs" and style names after a dot. */
int feval_builtin_is_date(int id);
int feval_builtin_is_loop(int id);
/* ?filter, ?map, ?take_while, ?drop_while: a lambda argument allowed. */
int feval_builtin_takes_lambda(int id);
/* -1 when a call of built-in ID can't have NARGS arguments (FreeMarker
 * checks ?then and ?switch at parse time), else 0. */
int feval_builtin_nargs_check(int id, int nargs);
/* Compile; on error fill ERR and return NULL. */
ftl_template *fparse_compile(const char *src, size_t len, ftl_error *err);
/* line/column of byte offset OFF in SRC (FreeMarker counts tabs as 8). */
void fparse_linecol(const char *src, size_t off, int *line, int *col);
void ftl_seterr(ftl_error *err, ftl_kind k, int line, int col, const char *fmt,
                ...) __attribute__((format(printf, 5, 6)));
