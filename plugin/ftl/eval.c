/*
 * eval.c - rendering a compiled template against a json-c model:
 * values, variable lookup (loop variables, macro parameters and #local
 * variables, #assign'd and #global variables, the model), operators with
 * FreeMarker's typing rules, the directives, and macro and function calls
 * (each call's context lives on the C stack of the call; at most
 * FTL_MAX_CALL_DEPTH run at once).
 * The built-ins are in builtins.c.
 *
 * The model is borrowed and only read (json_object_get_string() only on
 * strings; numbers through get_int64/get_double by type; no refcounts), so
 * any number of renders may share one model and one template. Everything a
 * render allocates lives in its own arena, freed when it returns.
 *
 * Work is charged as it is done (feval_charge: bytes scanned and built,
 * iterations, directives, expressions) against one budget per render; the
 * clock is read only every FTL_CLOCK_EVERY units, and only when the caller
 * gave a deadline. Nothing here costs more than linear time in the sizes
 * it is charged for.
 */
#define _GNU_SOURCE 1

#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "eval.h"

static int call_expr(fctx *c, const fexpr *e, fval *out);

int feval_err(fctx *c, size_t off, ftl_kind k, const char *fmt, ...)
{
	va_list ap;
	if (c->failed)
		return -1;
	c->failed = 1;
	c->missing = 0;
	if (!c->err)
		return -1;
	/* the line and column are found once, when the render ends: an
	 * error a default absorbs (x.y)! must not cost a scan of the
	 * template each time */
	c->err_off = off;
	c->err->kind = k;
	c->err->line = 0;
	c->err->column = 0;
	va_start(ap, fmt);
	vsnprintf(c->err->message, sizeof(c->err->message), fmt, ap);
	va_end(ap);
	ftxt_fix_tail(c->err->message);
	return -1;
}

/* The source text of E, for messages (at most 60 bytes). */
const char *feval_src(fctx *c, const fexpr *e, int *len)
{
	size_t n = e->end > e->off ? e->end - e->off : 0;
	const char *s = c->t->src + e->off;
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == '\t' ||
	             s[n - 1] == '\r'))
		n--;
	n = ftxt_clip(s, n, 60);
	*len = (int)n;
	return s;
}

/* A missing value: the message is written only when the render fails
 * with it (missing_message), since defaults and ?? absorb most of them. */
int feval_missing(fctx *c, const fexpr *e)
{
	if (c->failed)
		return -1;
	c->failed = 1;
	c->missing = 1;
	c->miss_e = e;
	c->miss_chain = NULL;
	c->err_off = e->off;
	if (c->err) {
		c->err->kind = FTL_RUNTIME;
		c->err->message[0] = 0;
	}
	return -1;
}

/* E, the target of a .name or [key] step, was missing: the whole path
 * CHAIN is what a default must guard (outer steps call this last, so the
 * longest path wins). */
static void missing_in(fctx *c, const fexpr *chain)
{
	if (c->failed && c->missing)
		c->miss_chain = chain;
}

static void missing_message(fctx *c)
{
	int n, m;
	const char *s = feval_src(c, c->miss_e, &n);
	const char *p;
	if (!c->err)
		return;
	if (!c->miss_chain) {
		snprintf(c->err->message, sizeof(c->err->message),
		         "\"%.*s\" is missing (or null); write %.*s! or "
		         "%.*s!'default' if it may be absent, or test it with "
		         "<#if %.*s?"
		         "?>",
		         n, s, n, s, n, s, n, s);
	} else {
		/* a!'x' would guard only the last step of a.b: the
		 * parenthesised form guards every step */
		p = feval_src(c, c->miss_chain, &m);
		snprintf(c->err->message, sizeof(c->err->message),
		         "\"%.*s\" is missing (or null), so %.*s can't be "
		         "read; if it may be absent, put the whole path in "
		         "parentheses with a default, ${(%.*s)!'x'} (%.*s!'x' "
		         "covers only its last step), or test it with "
		         "<#if (%.*s)?"
		         "?>",
		         n, s, m, p, m, p, m, p, m, p);
	}
	ftxt_fix_tail(c->err->message);
}

void *feval_alloc(fctx *c, size_t n)
{
	void *p = farena_alloc(&c->arena, n);
	if (!p) {
		/* the arena grows by chunks of up to 1 MiB: a refused
		 * chunk near the limit is the limit, not the system */
		if (c->arena.total + n + (1u << 20) > c->arena.limit)
			feval_err(c, (size_t)-1, FTL_LIMIT,
			          "the template used too much memory (limit "
			          "%u MiB)",
			          FTL_MAX_ARENA >> 20);
		else
			feval_err(c, (size_t)-1, FTL_NOMEM, "out of memory");
	}
	return p;
}

int feval_step(fctx *c, size_t off, size_t n)
{
	c->steps += n;
	if (c->steps > FTL_MAX_STEPS || n > FTL_MAX_STEPS)
		return feval_err(c, off, FTL_LIMIT,
		                 "the template does too much work: more than "
		                 "%d loop iterations or sort steps",
		                 FTL_MAX_STEPS);
	return feval_charge(c, off, n);
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int feval_work_slow(fctx *c, size_t off, size_t n)
{
	size_t used = c->work_base + (c->work_window - c->work_left);
	size_t window;
	if (c->failed)
		return -1;
	if (off == (size_t)-1) /* charged where no place is known */
		off = c->node_off;
	used = n > SIZE_MAX - used ? SIZE_MAX : used + n;
	if (used > c->max_work)
		return feval_err(
		        c, off, FTL_LIMIT,
		        "the template does too much work: more than "
		        "%zu units (one per byte scanned or built, per "
		        "loop iteration and per expression); long "
		        "strings searched or rebuilt inside loops are "
		        "the usual cause",
		        c->max_work);
	if (c->deadline_ms > 0 && now_ms() >= c->deadline_ms)
		return feval_err(c, off, FTL_DEADLINE,
		                 "the template did not finish before the "
		                 "deadline (%zu units of work done)",
		                 used);
	window = c->max_work - used;
	if (c->deadline_ms > 0 && window > FTL_CLOCK_EVERY)
		window = FTL_CLOCK_EVERY;
	c->work_base = used;
	c->work_window = c->work_left = window;
	return 0;
}

/* ---- UTF-16 lengths of long strings, remembered --------------------------
 */
static fstrinfo *str_seen(fctx *c, const char *s, size_t n)
{
	for (int i = 0; i < FEVAL_STRCACHE; i++)
		if (c->strs[i].p == s && c->strs[i].n == n)
			return &c->strs[i];
	return NULL;
}

static void str_remember(fctx *c, const char *s, size_t n, size_t u16)
{
	fstrinfo *f = &c->strs[c->strs_next++ % FEVAL_STRCACHE];
	f->p = s;
	f->n = n;
	f->u16 = u16;
}

int feval_u16len(fctx *c, size_t off, const char *s, size_t n, size_t *len)
{
	fstrinfo *f;
	if (n < FEVAL_STRCACHE_MIN) {
		*len = ftxt_u16len(s, n);
		return 0;
	}
	f = str_seen(c, s, n);
	if (f && f->u16 != SIZE_MAX) {
		*len = f->u16;
		return 0;
	}
	if (feval_charge(c, off, n))
		return -1;
	*len = ftxt_u16len(s, n);
	if (f)
		f->u16 = *len;
	else
		str_remember(c, s, n, *len);
	return 0;
}

long feval_u16_to_byte(const char *s, size_t n, size_t u16, size_t idx)
{
	if (u16 == n) /* ASCII: units are bytes */
		return idx <= n ? (long)idx : -1;
	return ftxt_u16_to_byte(s, n, idx);
}

size_t feval_byte_to_u16(const char *s, size_t n, size_t u16, size_t off)
{
	if (u16 == n)
		return off;
	return ftxt_byte_to_u16(s, off);
}

const char *feval_type_name(const fval *v)
{
	switch (v->t) {
	case V_NONE: return "missing";
	case V_STR: return "a string";
	case V_NUM: return "a number";
	case V_BOOL: return "a boolean";
	case V_SEQ: return "a sequence";
	case V_HASH: return "a hash";
	case V_MACRO: return v->u.m->is_func ? "a function" : "a macro";
	case V_DATE: return "a date/time";
	case V_MARKUP: return "a markup output";
	}
	return "?";
}

/* The typed form of the oracle (its README): {"$datetime": ISO},
 * {"$date": ISO}, {"$time": ISO}, {"$unknown": ISO} are dates; any other
 * one-key object is a hash. Without an offset the text is UTC, as the
 * oracle reads it; "$date" is midnight UTC, "$time" a time on 1970-01-01
 * UTC. */
static int date_from_json(fctx *c, json_object *j, fval *v, size_t off)
{
	static const char *const keys[] = {"$unknown", "$date", "$time",
	                                   "$datetime"};
	char why[200];
	v->t = V_HASH;
	v->k = K_JSON;
	v->u.j = j;
	json_object_object_foreach(j, k, val)
	{
		const char *s;
		size_t n;
		int kind = -1;
		for (int i = 0; i < 4; i++)
			if (strcmp(k, keys[i]) == 0)
				kind = i;
		if (kind < 0 || json_object_get_type(val) != json_type_string)
			return 0;
		s = json_object_get_string(val);
		n = (size_t)json_object_get_string_len(val);
		if (feval_charge(c, off, n))
			return -1;
		/* "2024-03-05" is a date and "14:07:09" a time, whatever
		 * the key says; the key gives the kind */
		if (fdate_parse_iso(s, n, FD_DATETIME, fdate_utc(), &v->u.d.ms,
		                    why, sizeof(why)) &&
		    fdate_parse_iso(s, n, FD_DATE, fdate_utc(), &v->u.d.ms, why,
		                    sizeof(why)) &&
		    fdate_parse_iso(s, n, FD_TIME, fdate_utc(), &v->u.d.ms, why,
		                    sizeof(why)))
			return feval_err(c, off, FTL_INPUT,
			                 "the data's %s value \"%.*s\": %s", k,
			                 (int)ftxt_clip(s, n, 40), s, why);
		v->t = V_DATE;
		v->k = 0;
		v->u.d.kind = kind;
		v->u.d.sql = kind == FD_DATE || kind == FD_TIME;
	}
	return 0;
}

int feval_from_json(fctx *c, json_object *j, fval *v, size_t off)
{
	memset(v, 0, sizeof(*v));
	if (!j)
		return 0;
	switch (json_object_get_type(j)) {
	case json_type_null: return 0;
	case json_type_string:
		v->t = V_STR;
		v->u.s.p = json_object_get_string(j);
		v->u.s.n = (size_t)json_object_get_string_len(j);
		/* a long string read again (in a loop) was checked before */
		if (v->u.s.n >= FEVAL_STRCACHE_MIN &&
		    str_seen(c, v->u.s.p, v->u.s.n))
			return 0;
		if (feval_charge(c, off, v->u.s.n))
			return -1;
		if (!ftxt_utf8_valid(v->u.s.p, v->u.s.n))
			return feval_err(c, off, FTL_INPUT,
			                 "a string in the data is not valid "
			                 "UTF-8");
		if (v->u.s.n >= FEVAL_STRCACHE_MIN)
			str_remember(c, v->u.s.p, v->u.s.n, SIZE_MAX);
		return 0;
	case json_type_boolean:
		v->t = V_BOOL;
		v->u.b = json_object_get_boolean(j) ? 1 : 0;
		return 0;
	case json_type_int:
		v->t = V_NUM;
		fnum_from_i64(&v->u.n, json_object_get_int64(j));
		if (v->u.n.u.i == INT64_MAX) {
			uint64_t u = json_object_get_uint64(j);
			if (u > (uint64_t)INT64_MAX) {
				v->u.n.kind = FN_DEC;
				v->u.n.u.c = (__int128)u;
				v->u.n.scale = 0;
			}
		}
		return 0;
	case json_type_double:
		v->t = V_NUM;
		fnum_from_dbl(&v->u.n, json_object_get_double(j));
		return 0;
	case json_type_array:
		v->t = V_SEQ;
		v->k = K_JSON;
		v->u.j = j;
		return 0;
	case json_type_object:
		if (json_object_object_length(j) == 1)
			return date_from_json(c, j, v, off);
		v->t = V_HASH;
		v->k = K_JSON;
		v->u.j = j;
		return 0;
	}
	return 0;
}

/* ---- sequences and hashes --------------------------------------------------
 */
size_t feval_seq_len(const fval *v)
{
	if (v->k == K_JSON)
		return json_object_array_length(v->u.j);
	if (v->k == K_RANGE)
		return v->u.r.count;
	return v->u.a.n;
}

int feval_seq_get(fctx *c, const fval *v, size_t i, fval *out)
{
	if (v->k == K_JSON)
		return feval_from_json(c, json_object_array_get_idx(v->u.j, i),
		                       out, (size_t)-1);
	if (v->k == K_RANGE) {
		int64_t x;
		memset(out, 0, sizeof(*out));
		out->t = V_NUM;
		if (i > (size_t)INT64_MAX ||
		    __builtin_mul_overflow((int64_t)i, (int64_t)v->u.r.step,
		                           &x) ||
		    __builtin_add_overflow(v->u.r.start, x, &x))
			return feval_err(c, (size_t)-1, FTL_RUNTIME,
			                 "a range item is beyond 64-bit "
			                 "integers");
		fnum_from_i64(&out->u.n, x);
		return 0;
	}
	*out = v->u.a.v[i];
	return 0;
}

static int ns_hash_get(fctx *c, const fval *h, const char *key, size_t klen,
                       fval *out, size_t off);
static int ns_hash_items(fctx *c, const fval *h, fval **keys, fval **vals,
                         size_t *n);

/* KEY (KLEN bytes) as a C string for json-c and the variable tables: KEY
 * itself when a NUL ends it, else a copy in TMP (N bytes) or, when longer,
 * in the render's arena (charged). NULL on failure (the error is set). */
static const char *key_cstr(fctx *c, const char *key, size_t klen, char *tmp,
                            size_t n, size_t off)
{
	char *d;

	if (key[klen] == 0)
		return key;
	if (feval_charge(c, off, klen))
		return NULL;
	d = klen < n ? tmp : feval_alloc(c, klen + 1);
	if (!d)
		return NULL;
	memcpy(d, key, klen);
	d[klen] = 0;
	return d;
}

int feval_hash_get(fctx *c, const fval *h, const char *key, size_t klen,
                   fval *out, size_t off)
{
	memset(out, 0, sizeof(*out));
	if (h->k == K_VARS || h->k == K_GLOBALS || h->k == K_MAIN)
		return ns_hash_get(c, h, key, klen, out, off);
	if (h->k == K_JSON) {
		json_object *j = NULL;
		char tmp[128];
		const char *k = key_cstr(c, key, klen, tmp, sizeof(tmp), off);
		if (!k)
			return -1;
		if (!json_object_object_get_ex(h->u.j, k, &j))
			return 0;
		return feval_from_json(c, j, out, off);
	}
	/* a linear scan: charged for the keys it passes */
	if (feval_charge(c, off, h->u.a.n + klen))
		return -1;
	for (size_t i = h->u.a.n; i-- > 0;)
		if (h->u.a.klen[i] == klen &&
		    memcmp(h->u.a.keys[i], key, klen) == 0) {
			*out = h->u.a.v[i];
			return 0;
		}
	return 0;
}

size_t feval_hash_len(const fval *h)
{
	if (h->k == K_MAIN)
		return h->u.cx->nvars;
	if (h->k == K_VARS || h->k == K_GLOBALS)
		return 0;
	if (h->k == K_JSON)
		return (size_t)json_object_object_length(h->u.j);
	return h->u.a.n;
}

/* Keys and values of a hash as arrays (in order). */
int feval_hash_items(fctx *c, const fval *h, fval **keys, fval **vals,
                     size_t *n)
{
	size_t len = feval_hash_len(h), i = 0;
	fval *k, *v;
	if (h->k == K_VARS || h->k == K_GLOBALS || h->k == K_MAIN)
		return ns_hash_items(c, h, keys, vals, n);
	if (feval_charge(c, (size_t)-1, len))
		return -1;
	k = feval_alloc(c, sizeof(fval) * (len + 1));
	v = feval_alloc(c, sizeof(fval) * (len + 1));
	if (!k || !v)
		return -1;
	if (h->k == K_JSON) {
		struct lh_entry *e;
		for (e = json_object_get_object(h->u.j)->head; e && i < len;
		     e = e->next, i++) {
			const char *ks = (const char *)lh_entry_k(e);
			k[i].t = V_STR;
			k[i].u.s.p = ks;
			k[i].u.s.n = strlen(ks);
			if (feval_charge(c, (size_t)-1, k[i].u.s.n))
				return -1;
			if (!ftxt_utf8_valid(ks, k[i].u.s.n))
				return feval_err(c, (size_t)-1, FTL_INPUT,
				                 "a key in the data is not "
				                 "valid UTF-8");
			if (feval_from_json(c, (json_object *)lh_entry_v(e),
			                    &v[i], (size_t)-1))
				return -1;
		}
		len = i;
	} else {
		for (i = 0; i < len; i++) {
			k[i].t = V_STR;
			k[i].u.s.p = h->u.a.keys[i];
			k[i].u.s.n = h->u.a.klen[i];
			v[i] = h->u.a.v[i];
		}
	}
	*keys = k;
	*vals = v;
	*n = len;
	return 0;
}

/* ---- lookup ---------------------------------------------------------------
 */
static int find_var(const fvar *vars, size_t n, const char *s, size_t len,
                    fval *out)
{
	for (size_t i = n; i-- > 0;)
		if (vars[i].n == len && memcmp(vars[i].name, s, len) == 0) {
			*out = vars[i].v;
			return 1;
		}
	return 0;
}

/* .error: the message of the error the running #recover handles (ours,
 * not FreeMarker's wording; docs/templates.md). */
static int recovered_error(fctx *c, const fexpr *e, fval *out)
{
	if (c->rec_err.t == V_NONE)
		return feval_err(
		        c, e->off, FTL_RUNTIME,
		        ".error is not available outside of a #recover "
		        "block: use it between <#recover> and "
		        "</#attempt>");
	*out = c->rec_err;
	return 0;
}

/* The loop variables FreeMarker still defines beside x: x_index (x?index)
 * and x_has_next (x?has_next), for #list and #foreach alike. */
static int legacy_loop_var(const floop *l, const char *s, size_t n, fval *out)
{
	if (n <= l->n1 || s[l->n1] != '_' || memcmp(s, l->v1, l->n1) != 0)
		return 0;
	memset(out, 0, sizeof(*out));
	if (n - l->n1 == 6 && memcmp(s + l->n1, "_index", 6) == 0) {
		out->t = V_NUM;
		fnum_from_i64(&out->u.n, (int64_t)l->index);
		return 1;
	}
	if (n - l->n1 == 9 && memcmp(s + l->n1, "_has_next", 9) == 0) {
		out->t = V_BOOL;
		out->u.b = l->has_next;
		return 1;
	}
	return 0;
}

/* The output format where E (or a node) was written: its #outputformat,
 * else the template's. */
static int lexfmt(const fctx *c, int lf)
{
	return lf ? lf - 1 : c->ofmt;
}

/* A string value of the static text S. */
static void sv_str(fval *out, const char *s, size_t n)
{
	memset(out, 0, sizeof(*out));
	out->t = V_STR;
	out->u.s.p = s;
	out->u.s.n = n;
}

static int ns_special_var(fctx *c, const fexpr *e, const char *s, size_t n,
                          fval *out);

/* The special variables besides .now (the parser let only FreeMarker's
 * names through). Lexical ones (.output_format, .auto_esc) read where the
 * expression was written. */
static int special_var(fctx *c, const fexpr *e, fval *out)
{
	const char *s = e->s + 1;
	size_t n = e->n - 1;
#define SV_IS(w) (n == sizeof(w) - 1 && memcmp(s, w, n) == 0)
	if (SV_IS("url_escaping_charset") || SV_IS("urlEscapingCharset")) {
		/* missing unless the setting was given; as it was written
		 * (as FreeMarker) */
		memset(out, 0, sizeof(*out));
		if (c->url_cs_name)
			sv_str(out, c->url_cs_name, c->url_cs_nlen);
		return 0;
	}
	if (SV_IS("lang") || SV_IS("locale") || SV_IS("locale_object") ||
	    SV_IS("localeObject")) {
		const char *l = c->loc && c->loc->name ? c->loc->name : "en_US";
		size_t k = strlen(l);
		if (SV_IS("lang"))
			k = strcspn(l, "_");
		sv_str(out, l, k);
		return 0;
	}
	if (SV_IS("version") || SV_IS("incompatible_improvements") ||
	    SV_IS("incompatibleImprovements")) {
		sv_str(out, "2.3.31", 6);
		return 0;
	}
	if (SV_IS("output_encoding") || SV_IS("outputEncoding")) {
		/* the engine writes UTF-8 */
		sv_str(out, "UTF-8", 5);
		return 0;
	}
	if (SV_IS("template_name") || SV_IS("current_template_name") ||
	    SV_IS("main_template_name") || SV_IS("templateName") ||
	    SV_IS("currentTemplateName") || SV_IS("mainTemplateName")) {
		/* templates here have no name: FreeMarker's for a template
		 * made from a string by the oracle's batch mode */
		sv_str(out, "template.ftl", 12);
		return 0;
	}
	if (SV_IS("output_format") || SV_IS("outputFormat")) {
		const char *f = ftl_outfmt_name(lexfmt(c, e->lexfmt));
		sv_str(out, f, strlen(f));
		return 0;
	}
	if (SV_IS("auto_esc") || SV_IS("autoEsc")) {
		int fmt = lexfmt(c, e->lexfmt);
		memset(out, 0, sizeof(*out));
		out->t = V_BOOL;
		out->u.b = e->lexesc == 2   ? 0
		           : e->lexesc == 1 ? FOF_IS_MARKUP(fmt)
		           : e->lexfmt      ? c->policy_on && FOF_IS_MARKUP(fmt)
		                            : c->autoesc;
		return 0;
	}
	if (SV_IS("data_model") || SV_IS("dataModel")) {
		if (!c->model) {
			memset(out, 0, sizeof(*out));
			out->t = V_HASH;
			out->k = K_ARR;
			return 0;
		}
		return feval_from_json(c, c->model, out, e->off);
	}
	if (SV_IS("error"))
		return recovered_error(c, e, out);
	{
		int r = ns_special_var(c, e, s, n, out);
		if (r <= 0)
			return r;
	}
	return feval_err(
	        c, e->off, FTL_RUNTIME,
	        "the special variable %.*s is not supported by this "
	        "engine (supported: .now, .data_model, .lang, .locale, "
	        ".output_format, .auto_esc, .output_encoding, "
	        ".version, .incompatible_improvements, "
	        ".template_name, .current_template_name, "
	        ".main_template_name, .caller_template_name, .vars, "
	        ".globals, .main, .namespace, .locals, .error; see "
	        "docs/templates.md)",
	        (int)e->n, e->s);
#undef SV_IS
}

static int lookup_name(fctx *c, const char *name, size_t nlen, size_t off,
                       fval *out);

/* FreeMarker's order: the loop variables and locals of the current
 * context (and, for nested content, of the contexts it runs in), then the
 * template's variables (#assign), the globals (#global), the data model. */
static int lookup(fctx *c, const fexpr *e, fval *out)
{
	if (e->s[0] == '.') {
		/* special variables: only .now (read once per render, from
		 * the injectable clock) */
		if (e->n == 4 && memcmp(e->s, ".now", 4) == 0) {
			if (!c->has_now) {
				struct timespec ts;
				if (c->now_fn) {
					c->now = c->now_fn(c->now_arg);
				} else {
					clock_gettime(CLOCK_REALTIME, &ts);
					c->now = (int64_t)ts.tv_sec * 1000 +
					         ts.tv_nsec / 1000000;
				}
				c->has_now = 1;
			}
			memset(out, 0, sizeof(*out));
			out->t = V_DATE;
			out->u.d.ms = c->now;
			out->u.d.kind = FD_DATETIME;
			return 0;
		}
		return special_var(c, e, out);
	}
	return lookup_name(c, e->s, e->n, e->off, out);
}

/* The variable NAME (N bytes, NUL-terminated at N) as a plain name finds
 * it: see lookup. */
static int lookup_name(fctx *c, const char *name, size_t nlen, size_t off,
                       fval *out)
{
	for (const fenv *env = c->env; env; env = env->up) {
		for (int i = c->nloops - 1; i >= 0; i--) {
			floop *l = &c->loops[i];
			if (!l->active || l->env != env->id)
				continue;
			if (l->n1 == nlen && memcmp(l->v1, name, nlen) == 0) {
				*out = l->item;
				return 0;
			}
			if (l->v2 && l->n2 == nlen &&
			    memcmp(l->v2, name, nlen) == 0) {
				*out = l->val;
				return 0;
			}
			if (legacy_loop_var(l, name, nlen, out))
				return 0;
		}
		if (env->nvars) {
			if (env->nvars > 8 &&
			    feval_charge(c, off, env->nvars / 4))
				return -1;
			if (find_var(env->vars, env->nvars, name, nlen, out))
				return 0;
		}
	}
	/* #assign'd variables: a scan of length compares (about a unit for
	 * four), charged when there are many */
	if (c->nvars > 8 && feval_charge(c, off, c->nvars / 4))
		return -1;
	for (size_t i = c->nvars; i-- > 0;)
		if (c->vars[i].n == nlen &&
		    memcmp(c->vars[i].name, name, nlen) == 0) {
			*out = c->vars[i].v;
			return 0;
		}
	if (c->nglobals) {
		if (c->nglobals > 8 && feval_charge(c, off, c->nglobals / 4))
			return -1;
		if (find_var(c->globals, c->nglobals, name, nlen, out))
			return 0;
	}
	if (!c->model) {
		memset(out, 0, sizeof(*out));
		return 0;
	}
	{
		json_object *j = NULL;
		if (!json_object_object_get_ex(c->model, name, &j)) {
			memset(out, 0, sizeof(*out));
			return 0;
		}
		return feval_from_json(c, j, out, off);
	}
}

static int set_in(fctx *c, fvar **vars, size_t *nv, size_t *capv,
                  const char *name, size_t n, const fval *v)
{
	if (*nv > 8 && feval_charge(c, (size_t)-1, *nv / 4))
		return -1;
	for (size_t i = *nv; i-- > 0;)
		if ((*vars)[i].n == n &&
		    memcmp((*vars)[i].name, name, n) == 0) {
			(*vars)[i].v = *v;
			return 0;
		}
	if (*nv == *capv) {
		size_t cap = *capv ? *capv * 2 : 16;
		fvar *x = feval_alloc(c, cap * sizeof(*x));
		if (!x)
			return -1;
		if (*nv)
			memcpy(x, *vars, *nv * sizeof(*x));
		*vars = x;
		*capv = cap;
	}
	(*vars)[*nv].name = name;
	(*vars)[*nv].n = n;
	(*vars)[*nv].v = *v;
	(*nv)++;
	return 0;
}

static int set_var(fctx *c, const char *name, size_t n, const fval *v)
{
	return set_in(c, &c->vars, &c->nvars, &c->capvars, name, n, v);
}

/* The context of the macro or function running now (NULL: top level). */
static fenv *routine_env(fctx *c)
{
	for (fenv *e = c->env; e; e = e->up)
		if (e->m)
			return e;
	return NULL;
}

/* ---- .vars, .globals, .main, .locals -------------------------------------
 * FreeMarker's namespaces and macro locals are Java HashMaps: their keys
 * list in bucket order, and within a bucket in the order they were first
 * set. That order is rebuilt here from the variable arrays (a counting
 * sort by bucket: linear, no hashing structure kept). Java turns a bucket
 * of 9 or more names into a tree (and may resize first); not copied: such
 * collisions need crafted names. */

/* Java's String.hashCode of S (UTF-8, read as UTF-16 units), spread as
 * HashMap.hash spreads it. */
static uint32_t java_hash(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	uint32_t h = 0;
	for (size_t i = 0; i < n;) {
		uint32_t cp = p[i];
		if (cp >= 0xf0 && i + 3 < n) {
			cp = ((cp & 7u) << 18) | ((p[i + 1] & 0x3fu) << 12) |
			     ((p[i + 2] & 0x3fu) << 6) | (p[i + 3] & 0x3fu);
			i += 4;
		} else if (cp >= 0xe0 && i + 2 < n) {
			cp = ((cp & 0xfu) << 12) | ((p[i + 1] & 0x3fu) << 6) |
			     (p[i + 2] & 0x3fu);
			i += 3;
		} else if (cp >= 0xc0 && i + 1 < n) {
			cp = ((cp & 0x1fu) << 6) | (p[i + 1] & 0x3fu);
			i += 2;
		} else {
			i++;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			h = 31 * h + (0xd800u + (cp >> 10));
			h = 31 * h + (0xdc00u + (cp & 0x3ffu));
		} else {
			h = 31 * h + cp;
		}
	}
	return h ^ (h >> 16);
}

/* VARS (N of them, in the order they were set) as a new hash value in
 * Java HashMap order; each entry copied is charged. */
static int vars_as_hash(fctx *c, const fvar *vars, size_t n, size_t off,
                        fval *out)
{
	size_t cap = 16, *start;
	uint32_t *bucket;
	const char **keys;
	size_t *klen;
	fval *v;
	memset(out, 0, sizeof(*out));
	out->t = V_HASH;
	out->k = K_ARR;
	/* HashMap doubles its table of 16 when more than 3/4 full */
	while (n > cap / 4 * 3)
		cap *= 2;
	if (feval_charge(c, off, n + cap / 8))
		return -1;
	start = feval_alloc(c, (cap + 1) * sizeof(*start));
	bucket = feval_alloc(c, (n + 1) * sizeof(*bucket));
	keys = feval_alloc(c, (n + 1) * sizeof(*keys));
	klen = feval_alloc(c, (n + 1) * sizeof(*klen));
	v = feval_alloc(c, (n + 1) * sizeof(*v));
	if (!start || !bucket || !keys || !klen || !v)
		return -1;
	memset(start, 0, (cap + 1) * sizeof(*start));
	for (size_t i = 0; i < n; i++) {
		if (feval_charge(c, off, vars[i].n / 8))
			return -1;
		bucket[i] = java_hash(vars[i].name, vars[i].n) &
		            (uint32_t)(cap - 1);
		start[bucket[i] + 1]++;
	}
	for (size_t b = 0; b < cap; b++)
		start[b + 1] += start[b];
	for (size_t i = 0; i < n; i++) {
		size_t at = start[bucket[i]]++;
		keys[at] = vars[i].name;
		klen[at] = vars[i].n;
		v[at] = vars[i].v;
	}
	out->u.a.v = v;
	out->u.a.n = n;
	out->u.a.keys = keys;
	out->u.a.klen = klen;
	return 0;
}

static int ns_hash_get(fctx *c, const fval *h, const char *key, size_t klen,
                       fval *out, size_t off)
{
	char tmp[128];
	const char *k = key;
	json_object *j = NULL;
	/* no variable has a NUL in its name */
	if (memchr(key, 0, klen))
		return 0;
	if (h->k == K_MAIN) {
		if (c->nvars > 8 && feval_charge(c, off, c->nvars / 4))
			return -1;
		find_var(c->vars, c->nvars, key, klen, out);
		return 0;
	}
	if (!(k = key_cstr(c, key, klen, tmp, sizeof(tmp), off)))
		return -1;
	if (h->k == K_VARS)
		return lookup_name(c, k, klen, off, out);
	/* .globals: #global, then the data model */
	if (c->nglobals > 8 && feval_charge(c, off, c->nglobals / 4))
		return -1;
	if (find_var(c->globals, c->nglobals, k, klen, out))
		return 0;
	if (c->model && json_object_object_get_ex(c->model, k, &j))
		return feval_from_json(c, j, out, off);
	return 0;
}

static int ns_hash_items(fctx *c, const fval *h, fval **keys, fval **vals,
                         size_t *n)
{
	fval all;
	if (h->k != K_MAIN)
		return feval_err(c, (size_t)-1, FTL_RUNTIME,
		                 "%s is a hash that can only look names up: "
		                 "its keys, values and size are unknown (as "
		                 "in FreeMarker; list .main or .data_model "
		                 "instead)",
		                 h->k == K_VARS ? ".vars" : ".globals");
	if (vars_as_hash(c, c->vars, c->nvars, (size_t)-1, &all))
		return -1;
	return feval_hash_items(c, &all, keys, vals, n);
}

/* .vars, .globals, .main, .namespace, .locals and .caller_template_name
 * (S, N: the name without its dot): 0 or -1 when handled, 1 when not
 * one of them. */
static int ns_special_var(fctx *c, const fexpr *e, const char *s, size_t n,
                          fval *out)
{
#define NS_IS(w) (n == sizeof(w) - 1 && memcmp(s, w, n) == 0)
	fenv *r;
	memset(out, 0, sizeof(*out));
	if (NS_IS("vars") || NS_IS("globals") || NS_IS("main") ||
	    NS_IS("namespace")) {
		out->t = V_HASH;
		out->k = NS_IS("vars")      ? K_VARS
		         : NS_IS("globals") ? K_GLOBALS
		                            : K_MAIN;
		out->u.cx = c;
		return 0;
	}
	if (NS_IS("locals")) {
		/* the running macro's or function's parameters and #local
		 * variables (in nested content: those of the macro the call
		 * is written in); missing outside any */
		r = routine_env(c);
		if (!r)
			return 0;
		return vars_as_hash(c, r->vars, r->nvars, e->off, out);
	}
	if (NS_IS("caller_template_name") || NS_IS("callerTemplateName")) {
		if (!routine_env(c))
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "Can't get .caller_template_name here, "
			        "as there's no macro or function call "
			        "in context: use it inside a #macro or "
			        "#function");
		sv_str(out, "template.ftl", 12);
		return 0;
	}
	return 1;
#undef NS_IS
}

/* Store an assignment where its directive puts it. */
static int store(fctx *c, const fnode *n, const fval *v)
{
	if (n->scope == S_GLOBAL)
		return set_in(c, &c->globals, &c->nglobals, &c->capglobals,
		              n->v1, n->n1, v);
	if (n->scope == S_LOCAL) {
		fenv *r = routine_env(c);
		if (r)
			return set_in(c, &r->vars, &r->nvars, &r->capvars,
			              n->v1, n->n1, v);
	}
	return set_var(c, n->v1, n->n1, v);
}

/* ---- conversions ------------------------------------------------------------
 */
/* An int64 under a plain grouping pattern ("number", "#,##0", "0"): what
 * fnum_format prints, without its digit list (perf: the integers of a
 * message are most of its numbers). -1 on output errors, 1 when the
 * pattern is not plain (the caller takes the general path). */
static int fmt_int_plain(int64_t v, const fnfmt *f, const floc *loc, fbuf *b)
{
	char tmp[48];
	size_t glen, i = sizeof(tmp);
	uint64_t u = (uint64_t)v;
	int nd = 0;
	if (f->mult != 1 || f->min_frac != 0 || f->min_int > 1 ||
	    f->neg_prefix_set || f->hasneg || f->prefix[0] || f->suffix[0])
		return 1;
	glen = strlen(loc->group);
	if (f->group > 0 && glen != 1)
		return 1; /* multi-byte separators: the general path */
	if (v < 0)
		u = 0 - u;
	do {
		if (f->group > 0 && nd > 0 && nd % f->group == 0)
			tmp[--i] = loc->group[0];
		tmp[--i] = (char)('0' + (int)(u % 10));
		u /= 10;
		nd++;
	} while (u);
	if (v < 0)
		tmp[--i] = '-';
	return fbuf_put(b, tmp + i, sizeof(tmp) - i) ? -1 : 0;
}

int feval_fmt_num(fctx *c, const fnum *n, const fnfmt *f, fbuf *b)
{
	const floc *loc = c->loc;
	fnfmt tmp;
	if (n->kind == FN_INT) {
		int r = fmt_int_plain(n->u.i, f, loc, b);
		if (r <= 0)
			return r;
	}
	if (f->neg_prefix_set) {
		/* "percent": the locale decides the suffix */
		tmp = *f;
		snprintf(tmp.suffix, sizeof(tmp.suffix), "%s", loc->pct_suffix);
		tmp.neg_prefix_set = 0;
		f = &tmp;
	}
	if (fnum_format(n, f, loc, b)) {
		if (b->over || b->nomem)
			return -1;
		return -1;
	}
	return 0;
}

/* Value to text as ${...} does (strings, numbers; booleans only with a
 * boolean_format set). Appends to B. */
int feval_to_text(fctx *c, const fexpr *e, const fval *v, fbuf *b, size_t off)
{
	switch (v->t) {
	case V_STR:
		return fbuf_put(b, v->u.s.p, v->u.s.n) ? feval_outerr(c, b) : 0;
	case V_NUM:
		if (feval_fmt_num(c, &v->u.n, &c->fmt, b))
			return feval_outerr(c, b);
		return 0;
	case V_BOOL:
		if (c->bool_true) {
			const char *s = v->u.b ? c->bool_true : c->bool_false;
			return fbuf_put(b, s, strlen(s)) ? feval_outerr(c, b)
			                                 : 0;
		}
		return feval_err(c, off, FTL_RUNTIME,
		                 "can't print a boolean directly; use "
		                 "?c (true/false) or ?string('yes', 'no')");
	case V_NONE: return feval_missing(c, e);
	case V_DATE: return feval_fmt_date(c, off, v, NULL, 0, b);
	default: {
		int n;
		const char *s = feval_src(c, e, &n);
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "\"%.*s\" is %s; only strings, numbers "
		                 "(and booleans with ?c or ?string) can be "
		                 "printed",
		                 n, s, feval_type_name(v));
	}
	}
}

int feval_outerr(fctx *c, fbuf *b)
{
	if (b->over)
		return feval_err(c, (size_t)-1, FTL_LIMIT,
		                 "output too long (limit %zu bytes)", b->max);
	if (b->nomem)
		return feval_err(c, (size_t)-1, FTL_NOMEM, "out of memory");
	return feval_err(c, (size_t)-1, FTL_RUNTIME,
	                 "a number could not be formatted");
}

/* Text of V as a new arena string (for concatenation, built-ins). */
int feval_text(fctx *c, const fexpr *e, const fval *v, const char **s,
               size_t *n)
{
	fbuf b = {.max = c->out.max};
	if (v->t == V_STR) {
		*s = v->u.s.p;
		*n = v->u.s.n;
		return 0;
	}
	if (feval_to_text(c, e, v, &b, e->off)) {
		free(b.p);
		return -1;
	}
	*n = b.n;
	*s = "";
	if (feval_charge(c, e->off, b.n)) {
		free(b.p);
		return -1;
	}
	if (b.n) {
		char *d = feval_alloc(c, b.n + 1);
		if (!d) {
			free(b.p);
			return -1;
		}
		memcpy(d, b.p, b.n);
		*s = d;
	}
	free(b.p);
	return 0;
}

int feval_str(fctx *c, const char *s, size_t n, fval *out)
{
	char *d;
	if (feval_charge(c, (size_t)-1, n))
		return -1;
	d = feval_alloc(c, n + 1);
	if (!d)
		return -1;
	memcpy(d, s, n);
	memset(out, 0, sizeof(*out));
	out->t = V_STR;
	out->u.s.p = d;
	out->u.s.n = n;
	return 0;
}

/* ---- expressions --------------------------------------------------------
 */
static int need(fctx *c, const fexpr *e, fval *v)
{
	if (feval_expr(c, e, v))
		return -1;
	if (v->t == V_NONE)
		return feval_missing(c, e);
	return 0;
}

static int need_type(fctx *c, const fexpr *e, fval *v, int t, const char *what)
{
	if (need(c, e, v))
		return -1;
	if (t == V_BOOL && v->t == V_SEQ && v->rx) {
		/* a ?matches result is also the whole-input match's boolean */
		int b = v->rx == 2;
		memset(v, 0, sizeof(*v));
		v->t = V_BOOL;
		v->u.b = b;
	}
	if (v->t != t) {
		int n;
		const char *s = feval_src(c, e, &n);
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "expected %s, but \"%.*s\" is %s", what, n, s,
		                 feval_type_name(v));
	}
	return 0;
}

int feval_bool(fctx *c, const fexpr *e, int *b)
{
	fval v;
	if (need_type(c, e, &v, V_BOOL, "a boolean"))
		return -1;
	*b = v.u.b;
	return 0;
}

static int numerr(fctx *c, const fexpr *e, int r)
{
	if (r == FNUM_EDIVZERO)
		return feval_err(c, e->off, FTL_RUNTIME, "division by zero");
	return feval_err(c, e->off, FTL_RUNTIME,
	                 "number too large for this engine (more than 38 "
	                 "significant digits)");
}

static int arith(fctx *c, const fexpr *e, fval *out)
{
	fval a, b;
	int r = 0;
	if (need_type(c, e->a, &a, V_NUM, "a number") ||
	    need_type(c, e->b, &b, V_NUM, "a number"))
		return -1;
	memset(out, 0, sizeof(*out));
	out->t = V_NUM;
	switch (e->op) {
	case E_SUB: r = fnum_sub(&a.u.n, &b.u.n, &out->u.n); break;
	case E_MUL: r = fnum_mul(&a.u.n, &b.u.n, &out->u.n); break;
	case E_DIV: r = fnum_div(&a.u.n, &b.u.n, &out->u.n); break;
	case E_MOD: r = fnum_mod(&a.u.n, &b.u.n, &out->u.n); break;
	}
	return r ? numerr(c, e, r) : 0;
}

/* The distinct keys of a hash being built, in first-seen order: a scan for
 * a few keys, an open-addressing table (in the arena) for more, so that
 * building a hash of n keys is O(n), not O(n^2). Probes are charged, so
 * even keys made to collide cannot cost more than the budget. */
typedef struct keyset {
	const char **keys;
	size_t *klen;
	size_t n;
	size_t *slot; /* index + 1; 0: empty. NULL: scan */
	size_t mask;
} keyset;

static int keyset_init(fctx *c, keyset *ks, size_t max)
{
	memset(ks, 0, sizeof(*ks));
	ks->keys = feval_alloc(c, sizeof(char *) * (max + 1));
	ks->klen = feval_alloc(c, sizeof(size_t) * (max + 1));
	if (!ks->keys || !ks->klen)
		return -1;
	if (max > 8) {
		size_t cap = 16;
		while (cap < max * 2)
			cap *= 2;
		ks->slot = feval_alloc(c, cap * sizeof(size_t));
		if (!ks->slot)
			return -1;
		ks->mask = cap - 1;
	}
	return 0;
}

static int keyset_put(fctx *c, keyset *ks, const char *k, size_t kn,
                      size_t *pos)
{
	size_t probes = 0, i = 0;
	if (ks->slot) {
		uint64_t h = 1469598103934665603ull;
		for (size_t j = 0; j < kn; j++) {
			h ^= (unsigned char)k[j];
			h *= 1099511628211ull;
		}
		for (i = (size_t)h & ks->mask; ks->slot[i];
		     i = (i + 1) & ks->mask) {
			size_t j = ks->slot[i] - 1;
			probes++;
			if (ks->klen[j] == kn &&
			    memcmp(ks->keys[j], k, kn) == 0) {
				*pos = j;
				return feval_charge(c, (size_t)-1,
				                    kn + probes * (kn + 1));
			}
		}
	} else {
		for (size_t j = 0; j < ks->n; j++)
			if (ks->klen[j] == kn &&
			    memcmp(ks->keys[j], k, kn) == 0) {
				*pos = j;
				return 0;
			}
	}
	if (feval_charge(c, (size_t)-1, kn + probes * (kn + 1)))
		return -1;
	if (ks->slot)
		ks->slot[i] = ks->n + 1;
	ks->keys[ks->n] = k;
	ks->klen[ks->n] = kn;
	*pos = ks->n++;
	return 0;
}

static int concat_seq(fctx *c, const fval *a, const fval *b, fval *out)
{
	size_t na = feval_seq_len(a), nb = feval_seq_len(b);
	fval *v;
	if (feval_step(c, 0, na + nb))
		return -1;
	v = feval_alloc(c, sizeof(fval) * (na + nb + 1));
	if (!v)
		return -1;
	for (size_t i = 0; i < na; i++)
		if (feval_seq_get(c, a, i, &v[i]))
			return -1;
	for (size_t i = 0; i < nb; i++)
		if (feval_seq_get(c, b, i, &v[na + i]))
			return -1;
	memset(out, 0, sizeof(*out));
	out->t = V_SEQ;
	out->k = K_ARR;
	out->u.a.v = v;
	out->u.a.n = na + nb;
	return 0;
}

static int concat_hash(fctx *c, const fval *a, const fval *b, fval *out)
{
	fval *ka, *va, *kb, *vb;
	size_t na, nb;
	keyset ks;
	fval *vals;
	if (feval_hash_items(c, a, &ka, &va, &na) ||
	    feval_hash_items(c, b, &kb, &vb, &nb))
		return -1;
	if (feval_step(c, 0, na + nb) || keyset_init(c, &ks, na + nb))
		return -1;
	vals = feval_alloc(c, sizeof(fval) * (na + nb + 1));
	if (!vals)
		return -1;
	for (size_t i = 0; i < na + nb; i++) {
		fval *k = i < na ? &ka[i] : &kb[i - na];
		fval *v = i < na ? &va[i] : &vb[i - na];
		size_t j;
		if (keyset_put(c, &ks, k->u.s.p, k->u.s.n, &j))
			return -1;
		vals[j] = *v;
	}
	memset(out, 0, sizeof(*out));
	out->t = V_HASH;
	out->k = K_ARR;
	out->u.a.keys = ks.keys;
	out->u.a.klen = ks.klen;
	out->u.a.v = vals;
	out->u.a.n = ks.n;
	return 0;
}

/* Both operands first, then the missing checks, as FreeMarker does. */
static int need2(fctx *c, const fexpr *e, fval *a, fval *b)
{
	if (feval_expr(c, e->a, a) || feval_expr(c, e->b, b))
		return -1;
	if (a->t == V_NONE)
		return feval_missing(c, e->a);
	if (b->t == V_NONE)
		return feval_missing(c, e->b);
	return 0;
}

/* FreeMarker's "+": both operands first; numbers add, two sequences or
 * two hashes join; anything else is string concatenation, which checks the
 * left operand (missing, then type) before the right one. */
/* markup + string (or the reverse): markup, the string escaped */
static int plus_markup(fctx *c, const fexpr *e, const fval *a, const fval *b,
                       fval *out)
{
	fbuf t = {.max = c->out.max};
	const fval *v[2] = {a, b};
	const fexpr *x[2] = {e->a, e->b};
	int r = 0;
	for (int i = 0; i < 2 && !r; i++) {
		const char *s;
		size_t n;
		if (v[i]->t == V_MARKUP) {
			if (fbuf_put(&t, v[i]->u.s.p, v[i]->u.s.n))
				r = feval_outerr(c, &t);
			continue;
		}
		if (feval_text(c, x[i], v[i], &s, &n) ||
		    feval_charge(c, e->off, n))
			r = -1;
		else if (feval_escape(lexfmt(c, e->lexfmt), s, n, &t))
			r = feval_outerr(c, &t);
	}
	if (!r)
		r = feval_str(c, t.p ? t.p : "", t.n, out);
	free(t.p);
	if (!r) {
		out->t = V_MARKUP;
		out->k = (uint8_t)(lexfmt(c, e->lexfmt) + 1);
	}
	return r;
}

static int plus(fctx *c, const fexpr *e, fval *out)
{
	fval a, b;
	if (feval_expr(c, e->a, &a) || feval_expr(c, e->b, &b))
		return -1;
	/* x! with no default is an empty string, sequence and hash at once;
	 * FreeMarker tries sequences before strings */
	if (a.empty_default && b.empty_default) {
		memset(out, 0, sizeof(*out));
		out->t = V_SEQ;
		out->k = K_ARR;
		return 0;
	}
	if (a.empty_default && (b.t == V_SEQ || b.t == V_HASH)) {
		*out = b;
		return 0;
	}
	if (b.empty_default && (a.t == V_SEQ || a.t == V_HASH)) {
		*out = a;
		return 0;
	}
	if (a.t == V_NUM && b.t == V_NUM) {
		int r;
		memset(out, 0, sizeof(*out));
		out->t = V_NUM;
		r = fnum_add(&a.u.n, &b.u.n, &out->u.n);
		return r ? numerr(c, e, r) : 0;
	}
	if (a.t == V_SEQ && b.t == V_SEQ)
		return concat_seq(c, &a, &b, out);
	if (a.t == V_HASH && b.t == V_HASH)
		return concat_hash(c, &a, &b, out);
	if (a.t == V_NONE)
		return feval_missing(c, e->a);
	if ((a.t == V_MARKUP || b.t == V_MARKUP) &&
	    (a.t == V_STR || a.t == V_NUM || a.t == V_MARKUP) &&
	    (b.t == V_STR || b.t == V_NUM || b.t == V_MARKUP))
		return plus_markup(c, e, &a, &b, out);
	if (a.t != V_STR && a.t != V_NUM)
		return feval_err(
		        c, e->a->off, FTL_RUNTIME,
		        "can't use \"+\" on %s and %s", feval_type_name(&a),
		        b.t == V_NONE ? "something" : feval_type_name(&b));
	if (b.t == V_NONE)
		return feval_missing(c, e->b);
	if ((a.t == V_STR || a.t == V_NUM) && (b.t == V_STR || b.t == V_NUM)) {
		const char *sa, *sb;
		size_t na, nb;
		char *d;
		if (feval_text(c, e->a, &a, &sa, &na) ||
		    feval_text(c, e->b, &b, &sb, &nb))
			return -1;
		if (na + nb > c->out.max)
			return feval_err(c, e->off, FTL_LIMIT,
			                 "string too long (limit %zu bytes)",
			                 c->out.max);
		if (feval_charge(c, e->off, na + nb))
			return -1;
		d = feval_alloc(c, na + nb + 1);
		if (!d)
			return -1;
		memcpy(d, sa, na);
		memcpy(d + na, sb, nb);
		memset(out, 0, sizeof(*out));
		out->t = V_STR;
		out->u.s.p = d;
		out->u.s.n = na + nb;
		return 0;
	}
	if (a.t == V_SEQ && b.t == V_SEQ)
		return concat_seq(c, &a, &b, out);
	if (a.t == V_HASH && b.t == V_HASH)
		return concat_hash(c, &a, &b, out);
	return feval_err(c, e->off, FTL_RUNTIME, "can't use \"+\" on %s and %s",
	                 feval_type_name(&a), feval_type_name(&b));
}

/* Compare for == != < <= > >= ; *res is -1/0/1, or for strings/booleans
 * 0 (equal) or 1 (different). */
int feval_compare(fctx *c, const fexpr *e, int op, const fval *a, const fval *b,
                  int *res)
{
	if (a->t == V_NUM && b->t == V_NUM) {
		*res = fnum_cmp(&a->u.n, &b->u.n);
		return 0;
	}
	if (a->t == V_STR && b->t == V_STR) {
		if (op != E_EQ && op != E_NE)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "can't use \"<\", \">\", \"<=\" or "
			                 "\">=\" on strings");
		if (a->u.s.n == b->u.s.n && feval_charge(c, e->off, a->u.s.n))
			return -1;
		*res = !(a->u.s.n == b->u.s.n &&
		         memcmp(a->u.s.p, b->u.s.p, a->u.s.n) == 0);
		return 0;
	}
	if (a->t == V_BOOL && b->t == V_BOOL) {
		if (op != E_EQ && op != E_NE)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "can't use \"<\", \">\", \"<=\" or "
			                 "\">=\" on booleans");
		*res = a->u.b != b->u.b;
		return 0;
	}
	if (a->t == V_DATE && b->t == V_DATE) {
		if (a->u.d.kind == FD_UNKNOWN || b->u.d.kind == FD_UNKNOWN)
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "can't compare dates of unknown type "
			                 "(mark them with ?date, ?time or "
			                 "?datetime first)");
		if (a->u.d.kind != b->u.d.kind)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "can't compare a %s with a %s (convert "
			        "one with ?date, ?time or ?datetime)",
			        a->u.d.kind == FD_DATE   ? "date"
			        : a->u.d.kind == FD_TIME ? "time"
			                                 : "date-time",
			        b->u.d.kind == FD_DATE   ? "date"
			        : b->u.d.kind == FD_TIME ? "time"
			                                 : "date-time");
		*res = a->u.d.ms < b->u.d.ms ? -1 : a->u.d.ms > b->u.d.ms;
		return 0;
	}
	return feval_err(c, e->off, FTL_RUNTIME,
	                 "can't compare %s with %s (only two numbers, two "
	                 "strings, two booleans or two dates)",
	                 feval_type_name(a), feval_type_name(b));
}

static int compare(fctx *c, const fexpr *e, fval *out)
{
	fval a, b;
	int r, t = 0;
	if (need2(c, e, &a, &b))
		return -1;
	/* a ?matches result compared with a boolean is that boolean */
	if (a.t == V_SEQ && a.rx && b.t == V_BOOL) {
		int x = a.rx == 2;
		memset(&a, 0, sizeof(a));
		a.t = V_BOOL;
		a.u.b = x;
	} else if (b.t == V_SEQ && b.rx && a.t == V_BOOL) {
		int x = b.rx == 2;
		memset(&b, 0, sizeof(b));
		b.t = V_BOOL;
		b.u.b = x;
	}
	if (feval_compare(c, e, e->op, &a, &b, &r))
		return -1;
	switch (e->op) {
	case E_EQ: t = r == 0; break;
	case E_NE: t = r != 0; break;
	case E_LT: t = r < 0; break;
	case E_LE: t = r <= 0; break;
	case E_GT: t = r > 0; break;
	case E_GE: t = r >= 0; break;
	}
	memset(out, 0, sizeof(*out));
	out->t = V_BOOL;
	out->u.b = t;
	return 0;
}

static int to_int(fctx *c, const fexpr *e, const fval *v, int64_t *i)
{
	(void)c;
	(void)e;
	*i = fnum_to_i64(&v->u.n);
	return 0;
}

static int range(fctx *c, const fexpr *e, fval *out)
{
	fval a, b;
	int64_t lo, hi = 0;
	memset(out, 0, sizeof(*out));
	if (need_type(c, e->a, &a, V_NUM, "a number"))
		return -1;
	to_int(c, e->a, &a, &lo);
	if (e->b) {
		if (need_type(c, e->b, &b, V_NUM, "a number"))
			return -1;
		to_int(c, e->b, &b, &hi);
	}
	out->t = V_SEQ;
	out->k = K_RANGE;
	out->u.r.start = lo;
	out->u.r.step = 1;
	switch (e->sub) {
	case R_INCL:
		out->u.r.step = hi >= lo ? 1 : -1;
		out->u.r.count =
		        (size_t)(hi >= lo ? (uint64_t)hi - (uint64_t)lo
		                          : (uint64_t)lo - (uint64_t)hi);
		if (out->u.r.count < (size_t)INT64_MAX)
			out->u.r.count++;
		break;
	case R_EXCL:
		out->u.r.step = hi >= lo ? 1 : -1;
		out->u.r.count =
		        (size_t)(hi >= lo ? (uint64_t)hi - (uint64_t)lo
		                          : (uint64_t)lo - (uint64_t)hi);
		break;
	case R_LEN:
		out->u.r.step = hi >= 0 ? 1 : -1;
		out->u.r.count = (size_t)(hi >= 0 ? (uint64_t)hi
		                                  : (uint64_t)0 - (uint64_t)hi);
		break;
	case R_OPEN:
		out->u.r.count = (size_t)INT64_MAX;
		out->u.r.open = 1;
		break;
	}
	if (out->u.r.count > (size_t)INT64_MAX)
		out->u.r.count = (size_t)INT64_MAX;
	return 0;
}

static int seq_lit(fctx *c, const fexpr *e, fval *out)
{
	fval *v = feval_alloc(c, sizeof(fval) * ((size_t)e->nargs + 1));
	if (!v)
		return -1;
	for (int i = 0; i < e->nargs; i++)
		if (need(c, e->args[i], &v[i]))
			return -1;
	memset(out, 0, sizeof(*out));
	out->t = V_SEQ;
	out->k = K_ARR;
	out->u.a.v = v;
	out->u.a.n = (size_t)e->nargs;
	return 0;
}

static int hash_lit(fctx *c, const fexpr *e, fval *out)
{
	size_t n = (size_t)e->nargs / 2;
	keyset ks;
	fval *vals;
	if (keyset_init(c, &ks, n))
		return -1;
	vals = feval_alloc(c, sizeof(fval) * (n + 1));
	if (!vals)
		return -1;
	for (size_t i = 0; i < n; i++) {
		fval k, v;
		size_t j;
		if (need_type(c, e->args[2 * i], &k, V_STR, "a string key") ||
		    need(c, e->args[2 * i + 1], &v) ||
		    keyset_put(c, &ks, k.u.s.p, k.u.s.n, &j))
			return -1;
		vals[j] = v;
	}
	memset(out, 0, sizeof(*out));
	out->t = V_HASH;
	out->k = K_ARR;
	out->u.a.keys = ks.keys;
	out->u.a.klen = ks.klen;
	out->u.a.v = vals;
	out->u.a.n = ks.n;
	return 0;
}

static int concats(fctx *c, const fexpr *e, fval *out)
{
	fbuf b = {.max = c->out.max};
	int r = 0;
	for (int i = 0; i < e->nargs && !r; i++) {
		const fexpr *p = e->args[i];
		if (p->op == E_STR) {
			if (fbuf_put(&b, p->s, p->n))
				r = feval_outerr(c, &b);
		} else {
			fval v;
			if (feval_expr(c, p->a, &v))
				r = -1;
			else
				r = feval_to_text(c, p->a, &v, &b, p->off);
		}
	}
	if (!r)
		r = feval_str(c, b.p ? b.p : "", b.n, out);
	free(b.p);
	return r;
}

static int slice_str(fctx *c, const fexpr *e, const fval *s, const fval *r,
                     fval *out)
{
	size_t len;
	int64_t lo = r->u.r.start, cnt = (int64_t)r->u.r.count;
	long bl, bh;
	/* finding UTF-16 positions scans a non-ASCII string: charged */
	if (feval_u16len(c, e->off, s->u.s.p, s->u.s.n, &len) ||
	    feval_charge(c, e->off, len == s->u.s.n ? 0 : s->u.s.n))
		return -1;
	if (lo < 0 || lo > (int64_t)len ||
	    (cnt > (int64_t)len + 1 && e->b->sub != R_LEN && !r->u.r.open))
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "the range is out of bounds for a string of "
		                 "length %zu",
		                 len);
	if (cnt > (int64_t)len + 1)
		cnt = (int64_t)len + 1;
	if (r->u.r.open)
		cnt = (int64_t)len - lo;
	if (r->u.r.step < 0 && cnt > 1)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "a decreasing range can't slice a string");
	if (e->b->sub == R_LEN && lo >= 0 && lo + cnt > (int64_t)len)
		cnt = (int64_t)len - lo;
	if (lo < 0 || lo > (int64_t)len || cnt < 0 || lo + cnt > (int64_t)len)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "range %lld..%lld is out of bounds for a "
		                 "string of length %zu",
		                 (long long)lo, (long long)(lo + cnt - 1), len);
	bl = feval_u16_to_byte(s->u.s.p, s->u.s.n, len, (size_t)lo);
	bh = feval_u16_to_byte(s->u.s.p, s->u.s.n, len, (size_t)(lo + cnt));
	if (bl < 0 || bh < 0)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "the range splits a character in two "
		                 "(UTF-16 surrogate pair)");
	memset(out, 0, sizeof(*out));
	out->t = V_STR;
	out->u.s.p = s->u.s.p + bl;
	out->u.s.n = (size_t)(bh - bl);
	return 0;
}

static int slice_seq(fctx *c, const fexpr *e, const fval *s, const fval *r,
                     fval *out)
{
	size_t len = feval_seq_len(s);
	int64_t lo = r->u.r.start, cnt = (int64_t)r->u.r.count;
	int step = r->u.r.step;
	fval *v;
	if (lo < 0 || lo > (int64_t)len ||
	    (cnt > (int64_t)len + 1 && e->b->sub != R_LEN && !r->u.r.open))
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "the range is out of bounds for a sequence of "
		                 "length %zu",
		                 len);
	if (cnt > (int64_t)len + 1)
		cnt = (int64_t)len + 1;
	if (r->u.r.open)
		cnt = (int64_t)len - lo;
	if (e->b->sub == R_LEN && step > 0 && lo >= 0 &&
	    lo + cnt > (int64_t)len)
		cnt = (int64_t)len - lo;
	if (cnt < 0)
		cnt = 0;
	if (lo < 0 ||
	    (cnt > 0 &&
	     (lo >= (int64_t)len || lo + (cnt - 1) * step >= (int64_t)len ||
	      lo + (cnt - 1) * step < 0)) ||
	    (cnt == 0 && lo > (int64_t)len))
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "range is out of bounds for a sequence of "
		                 "length %zu",
		                 len);
	if (feval_step(c, e->off, (size_t)cnt))
		return -1;
	v = feval_alloc(c, sizeof(fval) * ((size_t)cnt + 1));
	if (!v)
		return -1;
	for (int64_t i = 0; i < cnt; i++)
		if (feval_seq_get(c, s, (size_t)(lo + i * step), &v[i]))
			return -1;
	memset(out, 0, sizeof(*out));
	out->t = V_SEQ;
	out->k = K_ARR;
	out->u.a.v = v;
	out->u.a.n = (size_t)cnt;
	return 0;
}

static int index_op(fctx *c, const fexpr *e, fval *out)
{
	fval t, k;
	if (need(c, e->a, &t)) {
		missing_in(c, e);
		return -1;
	}
	if (need(c, e->b, &k))
		return -1;
	if (k.t == V_SEQ && k.k == K_RANGE) {
		if (t.t == V_STR)
			return slice_str(c, e, &t, &k, out);
		if (t.t == V_SEQ)
			return slice_seq(c, e, &t, &k, out);
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "can't slice %s with a range",
		                 feval_type_name(&t));
	}
	if (k.t == V_NUM) {
		int64_t i = fnum_to_i64(&k.u.n);
		if (t.t == V_SEQ) {
			if (i < 0 || (size_t)i >= feval_seq_len(&t)) {
				memset(out, 0, sizeof(*out));
				if (i < 0)
					return feval_err(c, e->off, FTL_RUNTIME,
					                 "negative index %lld",
					                 (long long)i);
				return 0;
			}
			return feval_seq_get(c, &t, (size_t)i, out);
		}
		if (t.t == V_STR) {
			size_t len;
			long bl, bh;
			if (feval_u16len(c, e->off, t.u.s.p, t.u.s.n, &len) ||
			    feval_charge(c, e->off,
			                 len == t.u.s.n ? 0 : t.u.s.n))
				return -1;
			if (i < 0 || (size_t)i >= len)
				return feval_err(c, e->off, FTL_RUNTIME,
				                 "index %lld is out of bounds "
				                 "for a string of length %zu",
				                 (long long)i, len);
			bl = feval_u16_to_byte(t.u.s.p, t.u.s.n, len,
			                       (size_t)i);
			bh = feval_u16_to_byte(t.u.s.p, t.u.s.n, len,
			                       (size_t)i + 1);
			if (bl < 0 || bh < 0)
				return feval_err(c, e->off, FTL_RUNTIME,
				                 "the index splits a character "
				                 "in two (UTF-16 surrogate "
				                 "pair)");
			memset(out, 0, sizeof(*out));
			out->t = V_STR;
			out->u.s.p = t.u.s.p + bl;
			out->u.s.n = (size_t)(bh - bl);
			return 0;
		}
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "can't index %s with a number",
		                 feval_type_name(&t));
	}
	if (k.t == V_STR) {
		if (t.t == V_HASH)
			return feval_hash_get(c, &t, k.u.s.p, k.u.s.n, out,
			                      e->off);
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "can't look up the key \"%.*s\" in %s",
		                 (int)ftxt_clip(k.u.s.p, k.u.s.n, 40), k.u.s.p,
		                 feval_type_name(&t));
	}
	return feval_err(c, e->off, FTL_RUNTIME,
	                 "the value in [...] must be a number, a range or a "
	                 "string, not %s",
	                 feval_type_name(&k));
}

/* Evaluate LHS of ! or ??: parenthesised, a missing anywhere inside counts. */
static int eval_guarded(fctx *c, const fexpr *a, fval *v, int *missing)
{
	*missing = 0;
	if (a->paren) {
		if (feval_expr(c, a, v)) {
			if (!c->missing)
				return -1;
			c->failed = 0;
			c->missing = 0;
			*missing = 1;
			return feval_charge(c, a->off, FTL_MISS_COST);
		}
	} else if (feval_expr(c, a, v)) {
		return -1;
	}
	if (v->t == V_NONE)
		*missing = 1;
	return 0;
}

int feval_expr(fctx *c, const fexpr *e, fval *out)
{
	if (feval_charge(c, e->off, 1))
		return -1;
	switch (e->op) {
	case E_STR:
		memset(out, 0, sizeof(*out));
		out->t = V_STR;
		out->u.s.p = e->s;
		out->u.s.n = e->n;
		return 0;
	case E_NUM:
		memset(out, 0, sizeof(*out));
		out->t = V_NUM;
		out->u.n = e->num;
		return 0;
	case E_BOOL:
		memset(out, 0, sizeof(*out));
		out->t = V_BOOL;
		out->u.b = e->sub;
		return 0;
	case E_VAR: return lookup(c, e, out);
	case E_DOT: {
		fval t;
		if (need(c, e->a, &t)) {
			missing_in(c, e);
			return -1;
		}
		if (t.t != V_HASH) {
			int n;
			const char *s = feval_src(c, e->a, &n);
			return feval_err(c, e->off, FTL_RUNTIME,
			                 "\"%.*s\" is %s, not a hash, so "
			                 "\".%s\" can't be looked up in it",
			                 n, s, feval_type_name(&t), e->s);
		}
		return feval_hash_get(c, &t, e->s, e->n, out, e->off);
	}
	case E_INDEX: return index_op(c, e, out);
	case E_BI:
		if (e->bi >= FBI_ESC)
			return feval_markup_bi(c, e, out);
		return fbi_eval(c, e, out);
	case E_DEFAULT: {
		int missing;
		if (eval_guarded(c, e->a, out, &missing))
			return -1;
		if (!missing)
			return 0;
		if (!e->b) {
			memset(out, 0, sizeof(*out));
			out->t = V_STR;
			out->u.s.p = "";
			out->u.s.n = 0;
			out->empty_default = 1;
			return 0;
		}
		return feval_expr(c, e->b, out);
	}
	case E_EXISTS: {
		int missing;
		if (eval_guarded(c, e->a, out, &missing))
			return -1;
		memset(out, 0, sizeof(*out));
		out->t = V_BOOL;
		out->u.b = !missing;
		return 0;
	}
	case E_NOT: {
		int b;
		if (feval_bool(c, e->a, &b))
			return -1;
		memset(out, 0, sizeof(*out));
		out->t = V_BOOL;
		out->u.b = !b;
		return 0;
	}
	case E_NEG:
	case E_POS: {
		fval a;
		int r;
		if (need_type(c, e->a, &a, V_NUM, "a number"))
			return -1;
		*out = a;
		if (e->op == E_POS)
			return 0;
		r = fnum_neg(&a.u.n, &out->u.n);
		return r ? numerr(c, e, r) : 0;
	}
	case E_ADD: return plus(c, e, out);
	case E_SUB:
	case E_MUL:
	case E_DIV:
	case E_MOD: return arith(c, e, out);
	case E_RANGE: return range(c, e, out);
	case E_EQ:
	case E_NE:
	case E_LT:
	case E_LE:
	case E_GT:
	case E_GE: return compare(c, e, out);
	case E_AND:
	case E_OR: {
		int a, b = 0;
		if (feval_bool(c, e->a, &a))
			return -1;
		if ((e->op == E_AND && a) || (e->op == E_OR && !a))
			if (feval_bool(c, e->b, &b))
				return -1;
		memset(out, 0, sizeof(*out));
		out->t = V_BOOL;
		out->u.b = e->op == E_AND ? (a && b) : (a || b);
		return 0;
	}
	case E_SEQ: return seq_lit(c, e, out);
	case E_HASH: return hash_lit(c, e, out);
	case E_CONCATS: return concats(c, e, out);
	case E_CALL: return call_expr(c, e, out);
	case E_LAMBDA:
		return feval_err(
		        c, e->off, FTL_RUNTIME,
		        "a lambda (x -> ...) can only be the argument "
		        "of ?filter, ?map, ?take_while or ?drop_while");
	}
	return feval_err(c, e->off, FTL_RUNTIME, "internal: bad expression");
}

/* ---- directives -------------------------------------------------------------
 */
static int exec_list(fctx *c, const fnode *n);

/* ${v} with auto-escaping on: the text, escaped for the output format. */
static int interp_esc(fctx *c, const fexpr *e, const fval *v, size_t off,
                      int fmt)
{
	const char *s;
	size_t n;
	if (v->t == V_STR) {
		s = v->u.s.p;
		n = v->u.s.n;
	} else if (feval_text(c, e, v, &s, &n))
		return -1;
	if (feval_charge(c, off, n))
		return -1;
	if (feval_escape(fmt, s, n, &c->out))
		return feval_outerr(c, &c->out);
	return 0;
}

/* ${markup} where FMT is the output format: as it is when the formats
 * agree or FMT is not a markup format; else, as FreeMarker, the source
 * text of ?esc's results escaped again for FMT, and an error for other
 * markup (captures, ?no_esc). */
static int interp_markup(fctx *c, const fnode *n, const fval *v, int fmt)
{
	int vf = v->k ? v->k - 1 : c->ofmt;
	if (vf != fmt && FOF_IS_MARKUP(fmt)) {
		const fval *src = v->u.s.g;
		if (!src)
			return feval_err(
			        c, n->e->off, FTL_RUNTIME,
			        "The value to print is in %s format, which "
			        "differs from the current output format, %s. "
			        "Format conversion wasn't possible (print it "
			        "where it was made, or use ?markup_string)",
			        ftl_outfmt_name(vf), ftl_outfmt_name(fmt));
		return interp_esc(c, n->e, src, n->off, fmt);
	}
	if (fbuf_put(&c->out, v->u.s.p, v->u.s.n))
		return feval_outerr(c, &c->out);
	return 0;
}

static int interp(fctx *c, const fnode *n)
{
	fval v;
	int esc, fmt;
	const fexpr *e = n->e;
	if (feval_expr(c, e, &v))
		return -1;
	if (n->has_items) {
		/* #{...}: numbers only, no grouping, N1..N2 decimals */
		fnfmt f = {.min_int = 1, .mult = 1};
		if (v.t == V_NONE)
			return feval_missing(c, e);
		if (v.t != V_NUM)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "#{...} needs a number, but this is %s",
			        feval_type_name(&v));
		f.min_frac = (int)n->n1;
		f.max_frac = (int)n->n2;
		if (feval_fmt_num(c, &v.u.n, &f, &c->out))
			return feval_outerr(c, &c->out);
		return 0;
	}
	/* auto-escaping: #autoesc (op 1), #noautoesc (2), else the
	 * template's default */
	fmt = lexfmt(c, n->lexfmt);
	esc = n->op == 2   ? 0
	      : n->op == 1 ? FOF_IS_MARKUP(fmt)
	      : n->lexfmt  ? c->policy_on && FOF_IS_MARKUP(fmt)
	                   : c->autoesc;
	if (v.t == V_STR && !esc) {
		if (fbuf_put(&c->out, v.u.s.p, v.u.s.n))
			return feval_outerr(c, &c->out);
		return 0;
	}
	if (v.t == V_MARKUP)
		return interp_markup(c, n, &v, fmt);
	if (esc)
		return interp_esc(c, e, &v, n->off, fmt);
	return feval_to_text(c, e, &v, &c->out, n->off);
}

static int assign(fctx *c, const fnode *n)
{
	{
		fval v, old;
		int r = 0;
		if (n->op == A_SET) {
			if (feval_expr(c, n->e, &v))
				return -1;
			if (v.t == V_NONE)
				return feval_missing(c, n->e);
		} else {
			fexpr tmp = {.op = E_VAR,
			             .s = n->v1,
			             .n = n->n1,
			             .off = n->off,
			             .end = n->off};
			if (lookup(c, &tmp, &old))
				return -1;
			if (old.t == V_NONE)
				return feval_err(c, n->off, FTL_RUNTIME,
				                 "can't update \"%.*s\": it "
				                 "is missing",
				                 (int)n->n1, n->v1);
			if (n->op == A_INC || n->op == A_DEC) {
				fnum one;
				if (old.t != V_NUM)
					return feval_err(c, n->off, FTL_RUNTIME,
					                 "\"%.*s\" is %s; ++ "
					                 "and -- need "
					                 "a number",
					                 (int)n->n1, n->v1,
					                 feval_type_name(&old));
				fnum_from_i64(&one, 1);
				v = old;
				r = n->op == A_INC
				            ? fnum_add(&old.u.n, &one, &v.u.n)
				            : fnum_sub(&old.u.n, &one, &v.u.n);
			} else {
				fexpr var = tmp;
				fexpr op = {.a = &var,
				            .b = n->e,
				            .off = n->off,
				            .end = n->off};
				static const int map[] = {[A_ADD] = E_ADD,
				                          [A_SUB] = E_SUB,
				                          [A_MUL] = E_MUL,
				                          [A_DIV] = E_DIV,
				                          [A_MOD] = E_MOD};
				op.op = (uint8_t)map[n->op];
				if (feval_expr(c, &op, &v))
					return -1;
			}
			if (r)
				return numerr(c,
				              n->e ? n->e
				                   : &(fexpr){.off = n->off},
				              r);
		}
		if (store(c, n, &v))
			return -1;
	}
	return 0;
}

static int capture(fctx *c, const fnode *n)
{
	fbuf saved = c->out;
	fbuf cap = {.max = c->out.max};
	fval v;
	int r;
	c->out = cap;
	r = feval_body(c, n->body);
	cap = c->out;
	c->out = saved;
	if (r < 0) {
		free(cap.p);
		return -1;
	}
	r = feval_str(c, cap.p ? cap.p : "", cap.n, &v);
	free(cap.p);
	if (r)
		return -1;
	/* what a markup format's template prints is markup (FreeMarker):
	 * ${captured} must not escape it twice */
	if (FOF_IS_MARKUP(lexfmt(c, n->lexfmt))) {
		v.t = V_MARKUP;
		v.k = (uint8_t)(lexfmt(c, n->lexfmt) + 1);
	}
	return store(c, n, &v);
}

static int setting(fctx *c, const fnode *n)
{
	fval v;
	char name[32];
	if (need_type(c, n->e, &v, V_STR, "a string"))
		return -1;
	snprintf(name, sizeof(name), "%.*s", (int)ftxt_clip(n->v1, n->n1, 31),
	         n->v1);
	if (strcmp(name, "locale") == 0) {
		char loc[32];
		const floc *l;
		snprintf(loc, sizeof(loc), "%.*s",
		         (int)ftxt_clip(v.u.s.p, v.u.s.n, 31), v.u.s.p);
		l = fnum_locale(loc);
		if (!l)
			return feval_err(c, n->off, FTL_RUNTIME,
			                 "locale \"%s\" is not supported "
			                 "(supported: en_US, de_DE and a few "
			                 "more; see docs/templates.md)",
			                 loc);
		c->loc = l;
		return 0;
	}
	if (strcmp(name, "number_format") == 0) {
		char *f;
		if (feval_charge(c, n->off, v.u.s.n))
			return -1;
		f = feval_alloc(c, v.u.s.n + 1);
		if (!f)
			return -1;
		memcpy(f, v.u.s.p, v.u.s.n);
		if (fnum_fmt_parse(f, &c->fmt))
			return feval_err(c, n->off, FTL_RUNTIME,
			                 "number_format \"%s\" is not "
			                 "supported",
			                 f);
		return 0;
	}
	if (strcmp(name, "boolean_format") == 0) {
		char *f = feval_alloc(c, v.u.s.n + 1);
		char *comma;
		if (!f)
			return -1;
		memcpy(f, v.u.s.p, v.u.s.n);
		if (strcmp(f, "c") == 0) {
			c->bool_true = "true";
			c->bool_false = "false";
			return 0;
		}
		comma = strchr(f, ',');
		if (!comma)
			return feval_err(c, n->off, FTL_RUNTIME,
			                 "boolean_format must be \"c\" or "
			                 "\"yes,no\"-like (two texts and a "
			                 "comma)");
		*comma = 0;
		if (strcmp(f, "true") == 0 && strcmp(comma + 1, "false") == 0) {
			c->bool_true = c->bool_false = NULL;
			return 0;
		}
		c->bool_true = f;
		c->bool_false = comma + 1;
		return 0;
	}
	if (strcmp(name, "time_zone") == 0)
		return feval_set_zone(c, n->off, v.u.s.p, v.u.s.n);
	if (strcmp(name, "url_escaping_charset") == 0) {
		int cs = feval_url_charset(v.u.s.p, v.u.s.n);
		if (cs < 0)
			return feval_err(
			        c, n->off, FTL_RUNTIME,
			        "url_escaping_charset \"%.*s\" is not "
			        "supported (use one of " FURL_NAMES ")",
			        (int)ftxt_clip(v.u.s.p, v.u.s.n, 40), v.u.s.p);
		c->url_cs = cs;
		c->url_cs_name = v.u.s.p;
		c->url_cs_nlen = v.u.s.n;
		return 0;
	}
	{
		int k = strcmp(name, "date_format") == 0       ? FD_DATE
		        : strcmp(name, "time_format") == 0     ? FD_TIME
		        : strcmp(name, "datetime_format") == 0 ? FD_DATETIME
		                                               : -1;
		if (k >= 0) {
			char why[160];
			if (feval_date_fmt_ok(v.u.s.p, v.u.s.n, why,
			                      sizeof(why)))
				return feval_err(c, n->off, FTL_RUNTIME,
				                 "%s: %s", name, why);
			c->dfmt[k] = v.u.s.p;
			c->dfmt_n[k] = v.u.s.n;
			return 0;
		}
	}
	return feval_err(c, n->off, FTL_RUNTIME,
	                 "the setting \"%s\" is not supported (only locale, "
	                 "number_format, boolean_format, time_zone, "
	                 "date_format, time_format and datetime_format)",
	                 name);
}

/* FreeMarker's #switch: cases fall through after the first match (a
 * #default met while falling through runs too); with no match, only the
 * #default body runs. */
static int exec_switch(fctx *c, const fnode *n)
{
	fval v;
	const fnode *k, *dflt = NULL;
	int matched = 0;
	if (need(c, n->e, &v))
		return -1;
	for (k = n->body; k; k = k->next) {
		int r;
		if (!k->e)
			dflt = k;
		if (!matched) {
			fval cv;
			if (!k->e)
				continue;
			if (need(c, k->e, &cv))
				return -1;
			if (feval_compare(c, k->e, E_EQ, &v, &cv, &r))
				return -1;
			if (r != 0)
				continue;
			matched = 1;
		}
		r = feval_body(c, k->body);
		if (r < 0 || r >= 2)
			return r;
		if (r == 1)
			return 0;
	}
	if (!matched && dflt) {
		int r = feval_body(c, dflt->body);
		if (r < 0 || r >= 2)
			return r;
	}
	return 0;
}

/* ---- macros and functions ---------------------------------------------
 * A call runs in a new fenv on the C stack: parameters and #local
 * variables in it, loops started in it visible only in it. #nested runs
 * the call's nested content in another fenv whose lookups go on in the
 * caller's context. #return comes back as 2 from feval_body. Every call
 * is charged FTL_CALL_COST plus its arguments, and at most
 * FTL_MAX_CALL_DEPTH calls (and nested contents) run at once, which with
 * FTL_MAX_DEPTH bounds the C recursion. */
static int define_macro(fctx *c, const fmacro *m)
{
	fval v;
	memset(&v, 0, sizeof(v));
	v.t = V_MACRO;
	v.u.m = m;
	return set_var(c, m->name, m->n, &v);
}

static int enter_call(fctx *c, size_t off)
{
	if (c->ncalls >= FTL_MAX_CALL_DEPTH)
		return feval_err(c, off, FTL_LIMIT,
		                 "macro and function calls nested too deeply "
		                 "(more than %d at once): does a recursion "
		                 "miss its end?",
		                 FTL_MAX_CALL_DEPTH);
	c->ncalls++;
	return 0;
}

/* Evaluate the arguments of FC in the current context (a missing value
 * is V_NONE: a parameter with a default then takes the default). */
/* Small calls keep their arguments and variables on the C stack: a call
 * takes nothing from the render's arena (recursion would exhaust it). */
#define CALL_STACK_VALS 8

static int eval_args(fctx *c, const fexpr *const *args, int n, fval *buf,
                     fval **out)
{
	fval *v = buf;
	*out = NULL;
	if (!n)
		return 0;
	if (n > CALL_STACK_VALS &&
	    !(v = feval_alloc(c, sizeof(*v) * (size_t)n)))
		return -1;
	for (int i = 0; i < n; i++) {
		int missing;
		fval t;
		if (args[i]->paren || args[i]->op != E_VAR) {
			if (feval_expr(c, args[i], &t))
				return -1;
		} else if (lookup(c, args[i], &t)) {
			return -1;
		}
		missing = t.t == V_NONE;
		v[i] = missing ? (fval){0} : t;
	}
	*out = v;
	return 0;
}

static int param_index(const fmacro *m, const char *s, size_t n)
{
	for (int i = 0; i < m->nparams; i++)
		if (m->plens[i] == n && memcmp(m->pnames[i], s, n) == 0)
			return i;
	return -1;
}

static int call_routine(fctx *c, const fmacro *m, const fcall *fc,
                        const fval *vals, const fnode *site, size_t off,
                        fval *ret)
{
	const char *kind = m->is_func ? "function" : "macro";
	const char *Kind = m->is_func ? "Function" : "Macro";
	fval pv_s[CALL_STACK_VALS];
	char given_s[CALL_STACK_VALS];
	fvar vars_s[CALL_STACK_VALS];
	fenv env;
	fval *pv = NULL, rest;
	char *given = NULL; /* 1: given, 2: given but missing */
	int nargs = fc ? fc->nargs : 0, r, left;
	size_t nrest = 0;
	fval *rv = NULL;
	const char **rkeys = NULL;
	size_t *rklen = NULL;
	memset(&env, 0, sizeof(env));
	memset(&rest, 0, sizeof(rest));
	if (feval_charge(c, off, FTL_CALL_COST + (size_t)nargs))
		return -1;
	if (m->nparams > CALL_STACK_VALS) {
		pv = feval_alloc(c, sizeof(*pv) * (size_t)m->nparams);
		given = feval_alloc(c, (size_t)m->nparams);
		if (!pv || !given)
			return -1;
		memset(given, 0, (size_t)m->nparams);
	} else {
		pv = pv_s;
		given = given_s;
		memset(given, 0, sizeof(given_s));
	}
	if (nargs && m->rest) {
		rv = feval_alloc(c, sizeof(*rv) * (size_t)nargs);
		rkeys = feval_alloc(c, sizeof(*rkeys) * (size_t)nargs);
		rklen = feval_alloc(c, sizeof(*rklen) * (size_t)nargs);
		if (!rv || !rkeys || !rklen)
			return -1;
	}
	for (int i = 0; i < nargs; i++) {
		int k = i;
		if (fc->names && fc->names[i]) {
			k = param_index(m, fc->names[i], fc->nlens[i]);
			if (k < 0 && !m->rest) {
				char list[256];
				size_t ln = 0;
				list[0] = 0;
				for (int j = 0; j < m->nparams && ln < 200; j++)
					ln += (size_t)snprintf(
					        list + ln, sizeof(list) - ln,
					        "%s%.*s", j ? ", " : "",
					        (int)ftxt_clip(m->pnames[j],
					                       m->plens[j], 60),
					        m->pnames[j]);
				return feval_err(
				        c, off, FTL_RUNTIME,
				        "%s \"%.*s\" has no parameter with "
				        "name "
				        "\"%.*s\". Valid parameter names are: "
				        "%s",
				        Kind, (int)ftxt_clip(m->name, m->n, 60),
				        m->name,
				        (int)ftxt_clip(fc->names[i],
				                       fc->nlens[i], 60),
				        fc->names[i], list);
			}
		} else if (k >= m->nparams && !m->rest) {
			return feval_err(
			        c, off, FTL_RUNTIME,
			        "%s \"%.*s\" only accepts %d parameters, "
			        "but got %d.",
			        Kind, (int)ftxt_clip(m->name, m->n, 60),
			        m->name, m->nparams, nargs);
		} else if (k >= m->nparams) {
			k = -1;
		}
		if (k < 0) { /* into the catch-all */
			if (vals[i].t == V_NONE)
				continue;
			rv[nrest] = vals[i];
			if (fc->names && fc->names[i]) {
				rkeys[nrest] = fc->names[i];
				rklen[nrest] = fc->nlens[i];
			}
			nrest++;
			continue;
		}
		pv[k] = vals[i];
		given[k] = vals[i].t == V_NONE ? 2 : 1;
	}
	if (enter_call(c, off))
		return -1;
	env.caller = c->env;
	env.vars = vars_s;
	env.capvars = CALL_STACK_VALS;
	env.m = m;
	env.site = site;
	env.id = ++c->next_env;
	c->env = &env;
	r = 0;
	for (int i = 0; i < m->nparams && !r; i++)
		if (given[i] == 1)
			r = set_in(c, &env.vars, &env.nvars, &env.capvars,
			           m->pnames[i], m->plens[i], &pv[i]);
	/* defaults, in the macro's context; one may use another parameter
	 * (even a later one): passes until none makes progress */
	left = 1;
	while (!r && left) {
		int progress = 0;
		left = 0;
		for (int i = 0; i < m->nparams && !r; i++) {
			fval v;
			if (given[i] == 1 || !m->pdefs[i])
				continue;
			if (feval_expr(c, m->pdefs[i], &v) == 0 &&
			    v.t != V_NONE) {
				given[i] = 1;
				progress = 1;
				r = set_in(c, &env.vars, &env.nvars,
				           &env.capvars, m->pnames[i],
				           m->plens[i], &v);
			} else if (c->failed && !c->missing) {
				r = -1;
			} else {
				c->failed = c->missing = 0;
				left = 1;
			}
		}
		if (!progress && left) {
			/* show the default's own error */
			for (int i = 0; i < m->nparams; i++)
				if (given[i] != 1 && m->pdefs[i]) {
					fval v;
					if (feval_expr(c, m->pdefs[i], &v) == 0)
						feval_missing(c, m->pdefs[i]);
					break;
				}
			r = -1;
		}
	}
	for (int i = 0; i < m->nparams && !r; i++)
		if (given[i] != 1)
			r = feval_err(
			        c, m->off, FTL_RUNTIME,
			        given[i] == 2
			                ? "When calling %s \"%.*s\", required "
			                  "parameter \"%.*s\" (parameter #%d) "
			                  "was "
			                  "specified, but had null/missing "
			                  "value."
			                : "When calling %s \"%.*s\", required "
			                  "parameter \"%.*s\" (parameter #%d) "
			                  "was "
			                  "not specified.",
			        kind, (int)ftxt_clip(m->name, m->n, 60),
			        m->name,
			        (int)ftxt_clip(m->pnames[i], m->plens[i], 60),
			        m->pnames[i], i + 1);
	if (!r && m->rest) {
		rest.t = nrest && rkeys[0] ? V_HASH : V_SEQ;
		rest.k = K_ARR;
		rest.u.a.v = rv;
		rest.u.a.n = nrest;
		if (rest.t == V_HASH) {
			rest.u.a.keys = rkeys;
			rest.u.a.klen = rklen;
		}
		if (!r)
			r = set_in(c, &env.vars, &env.nvars, &env.capvars,
			           m->rest, m->nrest, &rest);
	}
	if (!r) {
		if (m->is_func) {
			/* what a function prints is dropped */
			fbuf saved = c->out;
			c->out = (fbuf){.max = saved.max};
			memset(&c->ret, 0, sizeof(c->ret));
			r = feval_body(c, m->body);
			free(c->out.p);
			c->out = saved;
		} else {
			r = feval_body(c, m->body);
		}
	}
	c->env = env.caller;
	c->ncalls--;
	if (r < 0)
		return -1;
	if (ret) {
		if (r == 2)
			*ret = c->ret;
		else
			memset(ret, 0, sizeof(*ret));
	}
	return r == 3 ? 2 : 0;
}

static int exec_call(fctx *c, const fnode *n)
{
	const fcall *fc = n->aux;
	fval mv, *vals, buf[CALL_STACK_VALS];
	if (feval_expr(c, fc->callee, &mv))
		return -1;
	if (mv.t == V_NONE)
		return feval_missing(c, fc->callee);
	if (mv.t != V_MACRO) {
		int len;
		const char *s = feval_src(c, fc->callee, &len);
		return feval_err(c, n->off, FTL_RUNTIME,
		                 "\"%.*s\" is %s, not a macro: <@%.*s> can't "
		                 "call it",
		                 len, s, feval_type_name(&mv), len, s);
	}
	if (mv.u.m->is_func)
		return feval_err(c, n->off, FTL_RUNTIME,
		                 "Routine \"%.*s\" is a function, not a "
		                 "directive. Functions can only be called from "
		                 "expressions, like in ${f()}, ${x + f()} or "
		                 "<@someDirective someParam=f() />.",
		                 (int)ftxt_clip(mv.u.m->name, mv.u.m->n, 60),
		                 mv.u.m->name);
	if (eval_args(c, (const fexpr *const *)fc->args, fc->nargs, buf, &vals))
		return -1;
	return call_routine(c, mv.u.m, fc, vals, n, n->off, NULL);
}

static int call_expr(fctx *c, const fexpr *e, fval *out)
{
	fval f, *vals, buf[CALL_STACK_VALS];
	fcall fc;
	if (feval_expr(c, e->a, &f))
		return -1;
	if (f.t == V_NONE)
		return feval_missing(c, e->a);
	if (f.t != V_MACRO) {
		int len;
		const char *s = feval_src(c, e->a, &len);
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "For \"...(...)\" callee: expected a "
		                 "function, but \"%.*s\" is %s",
		                 len, s, feval_type_name(&f));
	}
	if (!f.u.m->is_func)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "A macro cannot be called in an expression. "
		                 "(Functions can be.)");
	if (eval_args(c, (const fexpr *const *)e->args, e->nargs, buf, &vals))
		return -1;
	memset(&fc, 0, sizeof(fc));
	fc.nargs = e->nargs;
	return call_routine(c, f.u.m, &fc, vals, NULL, e->off, out);
}

int feval_call(fctx *c, const fmacro *m, const fval *args, int n, size_t off,
               fval *ret)
{
	fcall fc;
	memset(&fc, 0, sizeof(fc));
	fc.nargs = n;
	return call_routine(c, m, &fc, args, NULL, off, ret);
}

int feval_lambda(fctx *c, const fexpr *l, const fval *x, fval *out)
{
	fenv env;
	fvar var;
	int r;
	/* the parameter hides other variables; loops and locals of the
	 * context stay visible through UP */
	memset(&env, 0, sizeof(env));
	env.up = c->env;
	env.id = ++c->next_env;
	var.name = l->s;
	var.n = l->n;
	var.v = *x;
	env.vars = &var;
	env.nvars = env.capvars = 1;
	c->env = &env;
	r = feval_expr(c, l->a, out);
	c->env = env.up;
	return r;
}

/* #stop [message]: ends the render with an error (FreeMarker's
 * StopException), the message being the argument's text. */
static int exec_stop(fctx *c, const fnode *n)
{
	fval v;
	const char *s;
	size_t len;

	if (!n->e)
		return feval_err(c, n->off, FTL_RUNTIME,
		                 "the template stopped at #stop");
	if (need(c, n->e, &v) || feval_text(c, n->e, &v, &s, &len))
		return -1;
	return feval_err(c, n->off, FTL_RUNTIME, "#stop: %.*s",
	                 (int)(len > INT_MAX ? INT_MAX : len), s);
}

static int exec_nested(fctx *c, const fnode *n)
{
	const fcall *fc = n->aux;
	fenv *r = routine_env(c), env;
	const fcall *sc;
	fval *vals, buf[CALL_STACK_VALS];
	fvar vars_s[CALL_STACK_VALS];
	int res = 0;
	if (!r || !r->site)
		return 0; /* no nested content */
	sc = r->site->aux;
	if (eval_args(c, (const fexpr *const *)fc->args, fc->nargs, buf, &vals))
		return -1;
	if (feval_charge(c, n->off, FTL_CALL_COST + (size_t)fc->nargs) ||
	    enter_call(c, n->off))
		return -1;
	memset(&env, 0, sizeof(env));
	env.up = r->caller;
	env.vars = vars_s;
	env.capvars = CALL_STACK_VALS;
	env.id = ++c->next_env;
	{
		fenv *saved = c->env;
		c->env = &env;
		for (int i = 0; i < sc->nlvars && i < fc->nargs && !res; i++)
			if (vals[i].t != V_NONE)
				res = set_in(c, &env.vars, &env.nvars,
				             &env.capvars, sc->lvars[i],
				             sc->lvlens[i], &vals[i]);
		if (!res)
			res = feval_body(c, r->site->body);
		c->env = saved;
	}
	c->ncalls--;
	/* a #return in the nested content returns from the macro whose
	 * body holds the call (FreeMarker): 3 ends the called macro, whose
	 * call then returns 2 in that body */
	return res < 0 ? -1 : res >= 2 ? 3 : 0;
}

/* ---- #compress, #attempt (ftl-directives) --------------------------------
 */

/* FreeMarker's StandardCompressWriter over S (N bytes of valid UTF-8), in
 * place: white space (Java's Character.isWhitespace) at the start and the
 * end goes, and every run inside becomes the first line break it holds
 * (\n, \r\n or \r, as written) or else one space. What it writes is never
 * longer than what it has read (a run of one character gives one, "\r\n"
 * needs two), so it compresses in place. Returns the new length. */
static size_t compress_ws(char *s, size_t n)
{
	enum { AT_START, INIT, SAW_CR, CR, CRLF, LF } st = AT_START;
	size_t w = 0, i = 0;
	int inws = 1;
	while (i < n) {
		uint32_t ch;
		size_t l = (size_t)ftxt_decode(s + i, n - i, &ch);
		if (ftxt_is_space(ch)) {
			inws = 1;
			if (st == INIT && ch == '\r')
				st = SAW_CR;
			else if (st == INIT && ch == '\n')
				st = LF;
			else if (st == SAW_CR)
				st = ch == '\n' ? CRLF : CR;
			i += l;
			continue;
		}
		if (inws) {
			inws = 0;
			switch (st) {
			case SAW_CR:
			case CR: s[w++] = '\r'; break;
			case CRLF:
				s[w++] = '\r';
				s[w++] = '\n';
				break;
			case LF: s[w++] = '\n'; break;
			case INIT: s[w++] = ' '; break;
			case AT_START: break;
			}
			st = INIT;
		}
		memmove(s + w, s + i, l);
		w += l;
		i += l;
	}
	return w;
}

/* #compress: the body prints into the output as usual, then what it
 * printed is compressed there (so the output limit holds for the text
 * before compression). A #break or #return inside still compresses what
 * was printed, as FreeMarker's writer is closed then. */
static int exec_compress(fctx *c, const fnode *n)
{
	size_t start = c->out.n;
	int r = feval_body(c, n->body);
	if (r < 0)
		return -1;
	if (c->out.n > start) {
		if (feval_charge(c, n->off, c->out.n - start))
			return -1;
		c->out.n =
		        start + compress_ws(c->out.p + start, c->out.n - start);
	}
	return r;
}

/* #attempt: the body prints into the output; when it fails with an error
 * FreeMarker could recover from (a runtime error: a missing value, a type
 * error, a failed built-in...), what it printed is dropped and the
 * #recover block runs with .error set. Limits (work budget, loop steps,
 * output size, memory, call depth), the deadline, running out of memory
 * and bad input are never recovered: a template must not be able to loop
 * past its budget by catching the error that stops it. A #break or
 * #return inside drops what the body printed, as FreeMarker does (its
 * buffer is written out only when the body completes). */
static int exec_attempt(fctx *c, const fnode *n)
{
	size_t mark = c->out.n;
	ftl_error local, *err = c->err;
	char msg[sizeof(local.message) + 64];
	size_t cost = FTL_MISS_COST;
	fval prev;
	int r;
	/* the message is needed for .error even when the caller wants none */
	if (!err)
		c->err = &local;
	r = feval_body(c, n->body);
	if (r > 0)
		c->out.n = mark;
	if (r >= 0) {
		c->err = err;
		return r;
	}
	if (c->err->kind != FTL_RUNTIME || c->out.over || c->out.nomem) {
		c->err = err;
		return -1;
	}
	if (c->missing)
		missing_message(c);
	c->out.n = mark;
	prev = c->rec_err;
	/* .error: our message and where it happened (FreeMarker's names
	 * the place too); finding the line costs a scan up to it */
	if (c->err_off != (size_t)-1 && c->err_off <= c->t->len) {
		int line, col;
		fparse_linecol(c->t->src, c->err_off, &line, &col);
		snprintf(msg, sizeof(msg), "%s (at line %d, column %d)",
		         c->err->message, line, col);
		ftxt_fix_tail(msg);
		cost += c->err_off;
	} else {
		snprintf(msg, sizeof(msg), "%s", c->err->message);
	}
	c->failed = 0;
	c->missing = 0;
	c->err_off = (size_t)-1;
	c->err->kind = FTL_OK;
	c->err->line = c->err->column = 0;
	c->err->message[0] = 0;
	c->err = err;
	r = feval_charge(c, n->off, cost) ||
	    feval_str(c, msg, strlen(msg), &c->rec_err);
	if (r) {
		c->rec_err = prev;
		return -1;
	}
	r = feval_body(c, n->alt);
	c->rec_err = prev;
	return r;
}

int feval_body(fctx *c, const fnode *n)
{
	if (++c->depth > FTL_MAX_DEPTH * 2) {
		c->depth--;
		return feval_err(c, n ? n->off : 0, FTL_LIMIT,
		                 "directives nested too deeply");
	}
	for (; n; n = n->next) {
		int r = 0;
		c->node_off = n->off;
		if (feval_charge(c, n->off, 1)) {
			c->depth--;
			return -1;
		}
		switch (n->type) {
		case N_TEXT:
			if (fbuf_put(&c->out, n->text, n->len))
				r = feval_outerr(c, &c->out);
			break;
		case N_INTERP: r = interp(c, n); break;
		case N_IF: {
			const fnode *b = n;
			for (;;) {
				int t;
				if (feval_bool(c, b->e, &t)) {
					r = -1;
					break;
				}
				if (t) {
					r = feval_body(c, b->body);
					break;
				}
				if (b->alt && b->alt->type == N_IF &&
				    !b->has_items && b->alt->e) {
					b = b->alt;
					continue;
				}
				if (b->has_items)
					r = feval_body(c, b->alt);
				break;
			}
			break;
		}
		case N_LIST: r = exec_list(c, n); break;
		case N_ITEMS: r = feval_items(c, n); break;
		case N_SEP: {
			const floop *l = NULL;
			for (int i = c->nloops - 1; i >= 0; i--)
				if (c->loops[i].active &&
				    c->loops[i].env == c->env->id) {
					l = &c->loops[i];
					break;
				}
			if (l && l->has_next)
				r = feval_body(c, n->body);
			break;
		}
		case N_ASSIGN:
			if (n->has_items) {
				r = capture(c, n);
			} else {
				r = assign(c, n);
			}
			break;
		case N_SWITCH: r = exec_switch(c, n); break;
		case N_CASE: break;
		case N_BREAK: c->depth--; return 1;
		case N_SETTING: r = setting(c, n); break;
		case N_AUTOESC: /* the ${...} inside know it (lexical) */
		case N_BLOCK: r = feval_body(c, n->body); break;
		case N_COMPRESS: r = exec_compress(c, n); break;
		case N_ATTEMPT: r = exec_attempt(c, n); break;
		case N_MACRO: r = define_macro(c, n->aux); break;
		case N_CALL: r = exec_call(c, n); break;
		case N_NESTED: r = exec_nested(c, n); break;
		case N_RETURN:
			if (n->e) {
				fval v;
				/* #return x with x missing returns a missing
				 * value (FreeMarker: null), which a default at
				 * the call absorbs: f()!'d' */
				if (feval_expr(c, n->e, &v)) {
					r = -1;
					break;
				}
				c->ret = v;
			}
			c->depth--;
			return 2;
		case N_STOP: r = exec_stop(c, n); break;
		case N_INCLUDE:
			r = feval_err(
			        c, n->off, FTL_RUNTIME,
			        "Template %s failed: this engine has no "
			        "template loader, so #%s can't load other "
			        "templates; put the macros in this "
			        "template",
			        n->op ? "importing" : "inclusion",
			        n->op ? "import" : "include");
			break;
		}
		if (r) {
			c->depth--;
			return r;
		}
	}
	c->depth--;
	return 0;
}

/* Iterate over V (sequence or hash) running BODY for each item with the
 * loop variables of DECL. */
static int iterate(fctx *c, const fnode *decl, const fval *v, const fnode *body)
{
	floop *l;
	size_t n;
	int r = 0;
	fval *keys = NULL, *vals = NULL;
	if (c->nloops >= FTL_MAX_DEPTH)
		return feval_err(c, decl->off, FTL_LIMIT,
		                 "loops nested too deeply");
	if (v->t == V_HASH) {
		if (!decl->v2)
			return feval_err(c, decl->off, FTL_RUNTIME,
			                 "listing a hash needs two loop "
			                 "variables: as key, value");
		if (feval_hash_items(c, v, &keys, &vals, &n))
			return -1;
	} else {
		if (decl->v2)
			return feval_err(
			        c, decl->off, FTL_RUNTIME,
			        "\"as k, v\" needs a hash, but this is "
			        "a sequence");
		n = feval_seq_len(v);
	}
	l = &c->loops[c->nloops++];
	memset(l, 0, sizeof(*l));
	l->v1 = decl->v1;
	l->n1 = decl->n1;
	l->v2 = decl->v2;
	l->n2 = decl->n2;
	l->active = 1;
	l->env = c->env->id;
	for (size_t i = 0; i < n; i++) {
		if (feval_step(c, decl->off, 1)) {
			r = -1;
			break;
		}
		l->index = i;
		l->has_next = i + 1 < n;
		if (keys) {
			l->item = keys[i];
			l->val = vals[i];
		} else if (feval_seq_get(c, v, i, &l->item)) {
			r = -1;
			break;
		}
		r = feval_body(c, body);
		if (r) {
			if (r == 1)
				r = 0;
			break;
		}
	}
	c->nloops--;
	return r;
}

static int listable(fctx *c, const fnode *n, fval *v)
{
	if (need(c, n->e, v))
		return -1;
	if (v->empty_default) {
		memset(v, 0, sizeof(*v));
		v->t = V_SEQ;
		v->k = K_ARR;
		return 0;
	}
	if (v->t != V_SEQ && v->t != V_HASH) {
		int len;
		const char *s = feval_src(c, n->e, &len);
		return feval_err(c, n->e->off, FTL_RUNTIME,
		                 "#list needs a sequence or a hash, but "
		                 "\"%.*s\" is %s",
		                 len, s, feval_type_name(v));
	}
	if (v->t == V_HASH && !feval_hash_is_ex(v)) {
		int len;
		const char *s = feval_src(c, n->e, &len);
		return feval_err(c, n->e->off, FTL_RUNTIME,
		                 "#list needs a hash that can list its keys, "
		                 "but \"%.*s\" (.vars or .globals) can only "
		                 "look names up: list .main or .data_model",
		                 len, s);
	}
	return 0;
}

static size_t list_len(fctx *c, const fval *v)
{
	(void)c;
	return v->t == V_HASH ? feval_hash_len(v) : feval_seq_len(v);
}

static int exec_list(fctx *c, const fnode *n)
{
	fval v;
	if (listable(c, n, &v))
		return -1;
	if (!n->has_items && (v.t == V_HASH) != (n->v2 != NULL))
		return feval_err(c, n->off, FTL_RUNTIME,
		                 v.t == V_HASH
		                         ? "listing a hash needs two loop "
		                           "variables: as key, value"
		                         : "\"as k, v\" needs a hash, but this "
		                           "is a sequence");
	if (list_len(c, &v) == 0) {
		int r = n->alt ? feval_body(c, n->alt) : 0;
		return r < 0 || r >= 2 ? r : 0;
	}
	if (n->has_items) {
		/* the body runs once; #items inside does the looping */
		floop *l;
		int r;
		if (c->nloops >= FTL_MAX_DEPTH)
			return feval_err(c, n->off, FTL_LIMIT,
			                 "loops nested too deeply");
		l = &c->loops[c->nloops++];
		memset(l, 0, sizeof(*l));
		l->pending = v;
		l->list = n;
		l->env = c->env->id;
		r = feval_body(c, n->body);
		c->nloops--;
		return r < 0 || r >= 2 ? r : 0;
	}
	{
		int r = iterate(c, n, &v, n->body);
		return r < 0 || r >= 2 ? r : 0;
	}
}

int feval_items(fctx *c, const fnode *n)
{
	for (int i = c->nloops - 1; i >= 0; i--)
		if (c->loops[i].list && c->loops[i].env == c->env->id) {
			fval v = c->loops[i].pending;
			return iterate(c, n, &v, n->body);
		}
	return feval_err(c, n->off, FTL_RUNTIME, "#items outside #list");
}

floop *feval_find_loop(fctx *c, const char *name, size_t n)
{
	for (const fenv *env = c->env; env; env = env->up)
		for (int i = c->nloops - 1; i >= 0; i--) {
			floop *l = &c->loops[i];
			if (l->active && l->env == env->id && l->n1 == n &&
			    memcmp(l->v1, name, n) == 0)
				return l;
		}
	return NULL;
}

/* ---- entry ----------------------------------------------------------------
 */
/* The settings of docs/templates.md "Settings" (boolean_format, the
 * output format and auto-escaping, ?url's charset) into C. FreeMarker
 * checks the markup constructs against the output format when it parses;
 * here the format is known at the render, so the check is here, with the
 * same kind (FTL_PARSE). 0 or -1 with C->err. */
static int render_formats(fctx *c, const ftl_template *t, const ftl_settings *s)
{
	ftl_error e;
	int policy;
	if (s && ftl_settings_check_formats(s, &e)) {
		if (c->err)
			*c->err = e;
		return -1;
	}
	if (s && s->boolean_format) {
		const char *b = s->boolean_format, *comma = strchr(b, ',');
		if (strcmp(b, "c") == 0) {
			c->bool_true = "true";
			c->bool_false = "false";
		} else if (strcmp(b, "true,false") != 0) {
			/* FreeMarker's legacy default: as if unset */
			char *t2 = feval_alloc(c, strlen(b) + 1);
			if (!t2)
				return -1;
			memcpy(t2, b, strlen(b) + 1);
			t2[comma - b] = 0;
			c->bool_true = t2;
			c->bool_false = t2 + (comma - b) + 1;
		}
	}
	if (s && s->url_escaping_charset) {
		c->url_cs_name = s->url_escaping_charset;
		c->url_cs_nlen = strlen(s->url_escaping_charset);
		c->url_cs = feval_url_charset(c->url_cs_name, c->url_cs_nlen);
	}
	c->ofmt = t->hdr_fmt >= 0         ? t->hdr_fmt
	          : s && s->output_format ? ftl_outfmt(s->output_format,
	                                               strlen(s->output_format))
	                                  : FOF_UNDEFINED;
	policy = ftl_autoesc_policy(s);
	/* every markup format here escapes by default, so
	 * enable_if_default and enable_if_supported agree */
	c->policy_on = t->hdr_autoesc >= 0 ? t->hdr_autoesc : policy != 2;
	c->autoesc = c->policy_on && FOF_IS_MARKUP(c->ofmt);
	if (t->markup_what && !FOF_IS_MARKUP(c->ofmt)) {
		int auto_esc = strcmp(t->markup_what, "auto_esc") == 0 ||
		               strcmp(t->markup_what, "#autoesc") == 0;
		fparse_linecol(t->src, t->markup_off, &e.line, &e.column);
		ftl_seterr(c->err, FTL_PARSE, e.line, e.column,
		           auto_esc ? "%s: the current output format can't do "
		                      "escaping: %s (set output_format to "
		                      "\"HTML\", \"XHTML\", \"XML\" or "
		                      "\"RTF\")"
		                    : "%s can't be used here, as the current "
		                      "output format isn't a markup (escaping) "
		                      "format: %s (set output_format to "
		                      "\"HTML\", \"XHTML\", \"XML\" or "
		                      "\"RTF\")",
		           t->markup_what, ftl_outfmt_name(c->ofmt));
		return -1;
	}
	/* the legacy escapes where auto-escaping is on, as FreeMarker (a
	 * parse error there: here the format is known only now) */
	{
		/* the first in the source that is refused (FreeMarker
		 * stops at the first when parsing) */
		int best = -1, bfmt = 0;
		for (int k = 0; k < 3; k++) {
			/* [2]: inside a markup #outputformat, where only
			 * the settings' policy is left to decide */
			int on = k == 1 ? 1 : k == 2 ? policy != 2 : c->autoesc;
			int fmt = k == 2 ? t->legacy_fmt2 : c->ofmt;
			if (!t->legacy_what[k] || !on || !FOF_IS_MARKUP(fmt))
				continue;
			if (best < 0 ||
			    t->legacy_off[k] < t->legacy_off[best]) {
				best = k;
				bfmt = fmt;
			}
		}
		if (best >= 0) {
			fparse_linecol(t->src, t->legacy_off[best], &e.line,
			               &e.column);
			if (t->legacy_what[best][0] == '#')
				ftl_seterr(
				        c->err, FTL_PARSE, e.line, e.column,
				        "Using the \"escape\" directive "
				        "(legacy escaping) is not allowed when "
				        "auto-escaping is on with a markup "
				        "output format (%s), to avoid "
				        "confusion and double-escaping "
				        "mistakes.",
				        ftl_outfmt_name(bfmt));
			else
				ftl_seterr(
				        c->err, FTL_PARSE, e.line, e.column,
				        "Using ?%s (legacy escaping) is not "
				        "allowed when auto-escaping is on with "
				        "a markup output format (%s), to avoid "
				        "double-escaping mistakes.",
				        t->legacy_what[best],
				        ftl_outfmt_name(bfmt));
			return -1;
		}
	}
	return 0;
}

int feval_escape(int fmt, const char *s, size_t n, fbuf *b)
{
	size_t i, from = 0;
	int r = 0;
	for (i = 0; i < n && !r; i++) {
		const char *rep = NULL;
		char ch = s[i];
		if (fmt == FOF_RTF) {
			rep = ch == '\\'  ? "\\\\"
			      : ch == '{' ? "\\{"
			      : ch == '}' ? "\\}"
			                  : NULL;
		} else if (FOF_IS_MARKUP(fmt)) {
			rep = ch == '<'   ? "&lt;"
			      : ch == '>' ? "&gt;"
			      : ch == '&' ? "&amp;"
			      : ch == '"' ? "&quot;"
			      : ch == '\''
			              ? (fmt == FOF_XML ? "&apos;" : "&#39;")
			              : NULL;
		}
		if (!rep)
			continue;
		r = fbuf_put(b, s + from, i - from) ||
		    fbuf_put(b, rep, strlen(rep));
		from = i + 1;
	}
	if (!r)
		r = fbuf_put(b, s + from, n - from);
	return r ? -1 : 0;
}

int feval_url_charset(const char *name, size_t n)
{
	/* Java's canonical names and its aliases for them, case-insensitive
	 * (Charset.forName) */
	static const struct {
		const char *name;
		int id;
	} cs[] = {{"UTF-8", FURL_UTF8},
	          {"UTF8", FURL_UTF8},
	          {"unicode-1-1-utf-8", FURL_UTF8},
	          {"ISO-8859-1", FURL_LATIN1},
	          {"ISO8859-1", FURL_LATIN1},
	          {"ISO8859_1", FURL_LATIN1},
	          {"ISO_8859_1", FURL_LATIN1},
	          {"ISO_8859-1", FURL_LATIN1},
	          {"8859_1", FURL_LATIN1},
	          {"latin1", FURL_LATIN1},
	          {"l1", FURL_LATIN1},
	          {"cp819", FURL_LATIN1},
	          {"IBM819", FURL_LATIN1},
	          {"US-ASCII", FURL_ASCII},
	          {"ASCII", FURL_ASCII},
	          {"ISO646-US", FURL_ASCII},
	          {"646", FURL_ASCII},
	          {"windows-1252", FURL_CP1252},
	          {"cp1252", FURL_CP1252},
	          {"ISO-8859-15", FURL_LATIN9},
	          {"ISO8859-15", FURL_LATIN9},
	          {"ISO8859_15", FURL_LATIN9},
	          {"ISO_8859-15", FURL_LATIN9},
	          {"8859_15", FURL_LATIN9},
	          {"LATIN9", FURL_LATIN9},
	          {"L9", FURL_LATIN9},
	          {"UTF-16", FURL_UTF16},
	          {"UTF_16", FURL_UTF16},
	          {"utf16", FURL_UTF16},
	          {"unicode", FURL_UTF16},
	          {"UnicodeBig", FURL_UTF16},
	          {"UTF-16BE", FURL_UTF16BE},
	          {"UTF_16BE", FURL_UTF16BE},
	          {"X-UTF-16BE", FURL_UTF16BE},
	          {"UnicodeBigUnmarked", FURL_UTF16BE},
	          {"UTF-16LE", FURL_UTF16LE},
	          {"UTF_16LE", FURL_UTF16LE},
	          {"X-UTF-16LE", FURL_UTF16LE},
	          {"UnicodeLittleUnmarked", FURL_UTF16LE},
	          {"x-UTF-16LE-BOM", FURL_UNICODE_LITTLE},
	          {"UnicodeLittle", FURL_UNICODE_LITTLE},
	          {"UTF-32", FURL_UTF32},
	          {"UTF_32", FURL_UTF32},
	          {"UTF32", FURL_UTF32},
	          {"UTF-32BE", FURL_UTF32BE},
	          {"UTF_32BE", FURL_UTF32BE},
	          {"X-UTF-32BE", FURL_UTF32BE},
	          {"UTF-32LE", FURL_UTF32LE},
	          {"UTF_32LE", FURL_UTF32LE},
	          {"X-UTF-32LE", FURL_UTF32LE},
	          {NULL, 0}};
	for (int i = 0; cs[i].name; i++)
		if (strlen(cs[i].name) == n &&
		    strncasecmp(cs[i].name, name, n) == 0)
			return cs[i].id;
	return -1;
}

/* The byte of code point CP in one-byte charset CS, or '?' (Java's
 * replacement) when the charset lacks it. */
static unsigned char url_byte(int cs, uint32_t cp)
{
	/* windows-1252's 0x80..0x9F (0: undefined there) */
	static const uint16_t w1252[32] = {
	        0x20ac, 0,      0x201a, 0x0192, 0x201e, 0x2026, 0x2020, 0x2021,
	        0x02c6, 0x2030, 0x0160, 0x2039, 0x0152, 0,      0x017d, 0,
	        0,      0x2018, 0x2019, 0x201c, 0x201d, 0x2022, 0x2013, 0x2014,
	        0x02dc, 0x2122, 0x0161, 0x203a, 0x0153, 0,      0x017e, 0x0178};
	/* ISO-8859-15's changes to Latin-1: byte, then code point */
	static const uint16_t l9[8][2] = {
	        {0xa4, 0x20ac}, {0xa6, 0x0160}, {0xa8, 0x0161}, {0xb4, 0x017d},
	        {0xb8, 0x017e}, {0xbc, 0x0152}, {0xbd, 0x0153}, {0xbe, 0x0178}};
	if (cp < 0x80)
		return (unsigned char)cp;
	switch (cs) {
	case FURL_LATIN1: return cp <= 0xff ? (unsigned char)cp : '?';
	case FURL_CP1252:
		if (cp >= 0xa0 && cp <= 0xff)
			return (unsigned char)cp;
		for (int i = 0; i < 32; i++)
			if (w1252[i] && w1252[i] == cp)
				return (unsigned char)(0x80 + i);
		return '?';
	case FURL_LATIN9:
		for (int i = 0; i < 8; i++) {
			if (l9[i][1] == cp)
				return (unsigned char)l9[i][0];
			if (l9[i][0] == cp)
				return '?'; /* replaced in Latin-9 */
		}
		return cp >= 0xa0 && cp <= 0xff ? (unsigned char)cp : '?';
	default: return '?';
	}
}

int feval_url_transcode(fctx *c, size_t off, int cs, const char **s, size_t *n)
{
	const unsigned char *p = (const unsigned char *)*s;
	size_t len = *n, k = 0;
	char *d;
	if (cs == FURL_UTF8 || cs >= FURL_WIDE)
		return 0;
	if (feval_charge(c, off, len))
		return -1;
	d = feval_alloc(c, len + 1);
	if (!d)
		return -1;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = p[i] < 0x80   ? 1
		           : p[i] < 0xe0 ? 2
		           : p[i] < 0xf0 ? 3
		                         : 4;
		if (i + w > len)
			w = len - i;
		cp = w == 1   ? p[i]
		     : w == 2 ? ((p[i] & 0x1fu) << 6) | (p[i + 1] & 0x3fu)
		     : w == 3 ? ((p[i] & 0xfu) << 12) |
		                        ((p[i + 1] & 0x3fu) << 6) |
		                        (p[i + 2] & 0x3fu)
		              : 0x10000; /* beyond every one-byte charset */
		/* a character outside the charset (one UTF-16 pair for
		 * supplementary ones) becomes '?' */
		d[k++] = (char)url_byte(cs, cp);
		i += w;
	}
	*s = d;
	*n = k;
	return 0;
}

int feval_markup_bi(fctx *c, const fexpr *e, fval *out)
{
	fval v;
	if (e->bi == FBI_CUSTOM_FMT) {
		if (feval_expr(c, e->a, &v))
			return -1;
		if (v.t == V_NONE)
			return feval_missing(c, e->a);
		if (v.t == V_DATE)
			return feval_err(
			        c, e->off, FTL_RUNTIME,
			        "Can't create date/time/datetime format "
			        "based on format string \"@%.*s\": no "
			        "custom date format was defined with name "
			        "\"%.*s\" (this engine has no custom "
			        "formats; use a pattern)",
			        (int)e->n, e->s, (int)e->n, e->s);
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "Failed to get number format object for the "
		                 "\"@%.*s\" number format string: no custom "
		                 "number format was defined with name \"%.*s\" "
		                 "(this engine has no custom formats; use a "
		                 "pattern like ?string(\"0.00\"))",
		                 (int)e->n, e->s, (int)e->n, e->s);
	}
	if (e->sub)
		return feval_err(c, e->off, FTL_RUNTIME,
		                 "?%.*s takes no arguments", (int)e->n, e->s);
	if (feval_expr(c, e->a, &v))
		return -1;
	if (v.t == V_NONE)
		return feval_missing(c, e->a);
	switch (e->bi) {
	case FBI_IS_MARKUP:
		memset(out, 0, sizeof(*out));
		out->t = V_BOOL;
		out->u.b = v.t == V_MARKUP;
		return 0;
	case FBI_MARKUP_STRING:
		if (v.t != V_MARKUP)
			return feval_err(
			        c, e->a->off, FTL_RUNTIME,
			        "For \"?markup_string\" left-hand "
			        "operand: expected a markup output, but "
			        "this has evaluated to %s",
			        feval_type_name(&v));
		*out = v;
		out->t = V_STR;
		return 0;
	default: { /* ?esc, ?no_esc */
		const char *s;
		size_t n;
		fbuf b = {.max = c->out.max};
		int r;
		if (v.t == V_MARKUP) {
			*out = v;
			return 0;
		}
		if (v.t != V_STR && v.t != V_NUM && v.t != V_DATE &&
		    !(v.t == V_BOOL && c->bool_true))
			return feval_err(c, e->a->off, FTL_RUNTIME,
			                 "For \"?%.*s\" left-hand operand: "
			                 "expected a string or something "
			                 "convertible to one, but this has "
			                 "evaluated to %s",
			                 (int)e->n, e->s, feval_type_name(&v));
		if (feval_text(c, e->a, &v, &s, &n))
			return -1;
		fval *src = NULL;
		if (e->bi == FBI_NO_ESC) {
			r = feval_str(c, s, n, out);
		} else {
			if (feval_charge(c, e->off, n))
				return -1;
			/* the source text: another markup format escapes
			 * it again (interp_markup) */
			if (!(src = feval_alloc(c, sizeof(*src))) ||
			    feval_str(c, s, n, src))
				return -1;
			r = feval_escape(lexfmt(c, e->lexfmt), s, n, &b)
			            ? feval_outerr(c, &b)
			            : feval_str(c, b.p ? b.p : "", b.n, out);
			free(b.p);
		}
		if (r)
			return -1;
		out->t = V_MARKUP;
		out->k = (uint8_t)(lexfmt(c, e->lexfmt) + 1);
		out->u.s.g = src;
		return 0;
	}
	}
}

int ftl_render(const ftl_template *t, json_object *model, const ftl_settings *s,
               char **out, size_t *out_len, ftl_error *err)
{
	fctx c;
	int r;
	if (out)
		*out = NULL;
	if (out_len)
		*out_len = 0;
	if (err) {
		err->kind = FTL_OK;
		err->line = err->column = 0;
		err->message[0] = 0;
	}
	if (!t || !out) {
		ftl_seterr(err, FTL_INPUT, 0, 0, "no template or output");
		return -1;
	}
	memset(&c, 0, offsetof(fctx, loops));
	c.t = t;
	c.err = err;
	if (model && json_object_get_type(model) == json_type_object)
		c.model = model;
	else if (model && json_object_get_type(model) != json_type_null) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "the data model must be a JSON object");
		return -1;
	}
	c.loc = fnum_locale(s ? s->locale : NULL);
	if (!c.loc) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "locale \"%s\" is not supported", s->locale);
		return -1;
	}
	if (fnum_fmt_parse(s ? s->number_format : NULL, &c.fmt)) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "number_format \"%s\" is not supported",
		           s->number_format);
		return -1;
	}
	c.zone = fdate_utc();
	if (s && s->time_zone) {
		char why[200];
		c.zone = fdate_zone(s->time_zone, strlen(s->time_zone), why,
		                    sizeof(why));
		if (!c.zone) {
			ftl_seterr(err, FTL_INPUT, 0, 0, "%s", why);
			return -1;
		}
	}
	if (s) {
		const char *f[4] = {NULL, s->date_format, s->time_format,
		                    s->datetime_format};
		for (int k = 1; k < 4; k++) {
			char why[160];
			if (!f[k])
				continue;
			if (feval_date_fmt_ok(f[k], strlen(f[k]), why,
			                      sizeof(why))) {
				ftl_seterr(err, FTL_INPUT, 0, 0, "%s", why);
				return -1;
			}
			c.dfmt[k] = f[k];
			c.dfmt_n[k] = strlen(f[k]);
		}
		c.now_fn = s->now_ms;
		c.now_arg = s->now_arg;
	}
	c.out.max = s && s->max_output ? s->max_output : FTL_DEFAULT_OUTPUT;
	c.arena.limit = FTL_MAX_ARENA;
	c.max_work = s && s->max_work ? s->max_work : FTL_DEFAULT_WORK_UNITS;
	c.deadline_ms = s ? s->deadline_ms : 0;
	c.work_window = c.work_left =
	        c.deadline_ms > 0 && c.max_work > FTL_CLOCK_EVERY
	                ? FTL_CLOCK_EVERY
	                : c.max_work;
	c.err_off = (size_t)-1;
	if (render_formats(&c, t, s)) {
		farena_free(&c.arena);
		return -1;
	}
	{
		size_t cap = t->len + 64;
		if (cap > c.out.max + 1)
			cap = c.out.max + 1;
		c.out.p = malloc(cap);
		c.out.cap = c.out.p ? cap : 0;
	}
	c.env = &c.top;
	r = 0;
	for (size_t i = 0; i < t->nmacros && !r; i++)
		r = define_macro(&c, t->macros[i]->aux);
	if (!r)
		r = feval_body(&c, t->root);
	farena_free(&c.arena);
	c.out.max++; /* room for the NUL */
	if (r < 0 || fbuf_putc(&c.out, 0) < 0) {
		if (r >= 0)
			feval_outerr(&c, &c.out);
		free(c.out.p);
		if (err && c.err_off != (size_t)-1)
			fparse_linecol(t->src, c.err_off, &err->line,
			               &err->column);
		if (c.missing)
			missing_message(&c);
		return -1;
	}
	if (out_len)
		*out_len = c.out.n - 1;
	*out = c.out.p;
	return 0;
}
