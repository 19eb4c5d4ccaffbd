/*
 * eval.h - the renderer's state and values, shared by eval.c and
 * builtins.c (internal).
 */
#ifndef FTL_EVAL_H
#define FTL_EVAL_H

#include "ftl_int.h"

enum { V_NONE = 0, V_STR, V_NUM, V_BOOL, V_SEQ, V_HASH };
enum { K_ARR = 0, K_JSON, K_RANGE }; /* storage of sequences and hashes */

typedef struct fval fval;
struct fval {
	uint8_t t, k;
	uint8_t empty_default; /* the "" of a bare x! */
	union {
		struct {
			const char *p;
			size_t n;
		} s;
		fnum n;
		int b;
		json_object *j;
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
	const fnode *list; /* #list with #items: the pending sequence */
	fval pending;
} floop;

typedef struct fctx {
	const ftl_template *t;
	json_object *model;
	fbuf out;
	farena arena;
	ftl_error *err;
	int failed;
	int missing; /* the current error is a missing value */
	fnfmt fmt;
	const floc *loc;
	const char *bool_true, *bool_false;
	fvar *vars;
	size_t nvars, capvars;
	int nloops;
	size_t steps;
	int depth;
	floop loops[FTL_MAX_DEPTH]; /* last: not cleared per render */
} fctx;

int feval_err(fctx *c, size_t off, ftl_kind k, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
const char *feval_src(fctx *c, const fexpr *e, int *len);
int feval_missing(fctx *c, const fexpr *e);
void *feval_alloc(fctx *c, size_t n);
int feval_step(fctx *c, size_t off, size_t n);
const char *feval_type_name(const fval *v);
int feval_from_json(fctx *c, json_object *j, fval *v, size_t off);
size_t feval_seq_len(const fval *v);
int feval_seq_get(fctx *c, const fval *v, size_t i, fval *out);
int feval_hash_get(fctx *c, const fval *h, const char *key, size_t klen,
                   fval *out, size_t off);
size_t feval_hash_len(const fval *h);
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

#endif
