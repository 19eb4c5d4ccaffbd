/*
 * parse.c - the template compiler: text, ${...} interpolations, directive
 * tags (angle or square bracket syntax, auto-detected as FreeMarker does;
 * after <#ftl strict_syntax=false> also the legacy tags without "#"),
 * expressions (with FreeMarker's comments inside them), FreeMarker's
 * white-space stripping; builds the immutable tree
 * that eval.c renders, with every #macro/#function listed in the template
 * (ftl_template.macros) so a render can define them before it starts.
 *
 * Owns the template's arena: every node, expression and string of a
 * compiled template lives in it and goes with ftl_template_unref().
 * Recursion is bounded by FTL_MAX_DEPTH, so deep input cannot overflow the
 * stack.
 */
#define _GNU_SOURCE 1

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ftl_int.h"
#include "fdate.h"

/* ---- arena ---------------------------------------------------------------
 */
void *farena_alloc(farena *a, size_t n)
{
	fchunk *c = a->head;
	n = (n + 15) & ~(size_t)15;
	if (!c || c->used + n > c->cap) {
		size_t cap = n > 16384 ? n : 16384;
		if (c && c->cap * 2 > cap && c->cap < (1u << 20))
			cap = c->cap * 2;
		if (a->limit && a->total + cap > a->limit)
			return NULL;
		c = malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->next = a->head;
		c->used = 0;
		c->cap = cap;
		a->head = c;
		a->total += cap;
	}
	void *p = c->data + c->used;
	c->used += n;
	memset(p, 0, n);
	return p;
}

void farena_free(farena *a)
{
	fchunk *c = a->head;
	while (c) {
		fchunk *n = c->next;
		free(c);
		c = n;
	}
	a->head = NULL;
	a->total = 0;
}

void ftl_seterr(ftl_error *err, ftl_kind k, int line, int col, const char *fmt,
                ...)
{
	va_list ap;
	if (!err)
		return;
	err->kind = k;
	err->line = line;
	err->column = col;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	ftxt_fix_tail(err->message);
}

void fparse_linecol(const char *src, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		unsigned char ch = (unsigned char)src[i];
		if (ch == '\n') {
			l++;
			c = 1;
		} else if (ch == '\t') {
			c = ((c - 1) / 8 + 1) * 8 + 1;
		} else if ((ch & 0xc0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

/* ---- parser state ------------------------------------------------------ */
enum { IT_TEXT, IT_INTERP, IT_OPEN, IT_CLOSE, IT_COMMENT };
enum {
	D_IF,
	D_ELSEIF,
	D_ELSE,
	D_LIST,
	D_ITEMS,
	D_SEP,
	D_BREAK,
	D_ASSIGN,
	D_SWITCH,
	D_CASE,
	D_DEFAULT,
	D_SETTING,
	D_FTL,
	D_MACRO,
	D_FUNCTION,
	D_RETURN,
	D_NESTED,
	D_LOCAL,
	D_GLOBAL,
	D_INCLUDE,
	D_IMPORT,
	D_AUTOESC,
	D_NOAUTOESC,
	D_ESCAPE,       /* #escape x as e: parse-time wrapping of ${...} */
	D_NOESCAPE,     /* #noescape: the enclosing #escape suspended */
	D_OUTPUTFORMAT, /* #outputformat "HTML": the lexical format */
	/* ftl-directives: #compress, #attempt/#recover, the trims */
	D_COMPRESS,
	D_ATTEMPT,
	D_RECOVER,
	D_T,
	D_LT,
	D_RT,
	D_NT,
	D_CALL, /* <@m ...> (not a name FreeMarker knows as #call) */
	D_NONE
};
/* #flush and #stop: no body, no rule of place (not in dir_names) */
#define D_PLAIN (D_NONE + 1)
static const char *const dir_names[] = {
        "if",           "elseif",   "else",      "list",    "items",
        "sep",          "break",    "assign",    "switch",  "case",
        "default",      "setting",  "ftl",       "macro",   "function",
        "return",       "nested",   "local",     "global",  "include",
        "import",       "autoesc",  "noautoesc", "escape",  "noescape",
        "outputformat", "compress", "attempt",   "recover", "t",
        "lt",           "rt",       "nt",        "@",
};

typedef struct item {
	int type, dir;
	uint32_t off;
	const char *p; /* text */
	size_t n;
	int dead;    /* stripped */
	int legacy;  /* IT_CLOSE: </#foreach> (dir D_LIST) */
	fnode *node; /* for IT_OPEN: the node made from the tag */
	int selfclose;
	uint32_t end; /* offset after the item */
	/* white-space stripping (FreeMarker's TextBlock.postParseCleanup) */
	int body; /* id of the body the item is in; -1: none */
	int mdef; /* id of the macro definition body it is in; 0: none */
	int bline, eline, bcol1;
} item;

typedef struct parser {
	const char *src;
	size_t len, pos;
	int square; /* [#...] syntax */
	int depth;
	int in_tag;    /* parsing a directive's parameters */
	int pdepth;    /* parentheses depth inside a tag */
	int bdepth;    /* bracket depth inside a square tag */
	int strip;     /* white-space stripping on */
	int lambda_ok; /* parsing the arguments of ?filter, ?map... */
	int no_interp; /* a string literal taken as a name: no ${...} */
	farena *arena;
	ftl_error *err;
	int failed;
	item *items;
	size_t nitems, capitems;
	size_t ws_visits; /* items the white-space pass looked at */
	fnode **macros;   /* every #macro/#function (malloc'd) */
	size_t nmacros, capmacros;
	/* the <#ftl> header and the markup constructs (ftl_template) */
	int hdr_fmt, hdr_autoesc, strip_text;
	const char *markup_what;
	size_t markup_off;
	/* #autoesc (1) / #noautoesc (2) open around the lexer's position,
	 * for the legacy escapes (?html...): FreeMarker refuses them where
	 * auto-escaping is on; deeper than the array: not checked */
	unsigned char esc_stack[FTL_MAX_DEPTH + 1];
	int esc_depth;
	/* the first legacy escape with the template's default auto-escaping
	 * [0], inside #autoesc [1], inside a markup #outputformat [2]:
	 * checked when the format is known */
	const char *legacy_what[3];
	size_t legacy_off[3];
	int legacy_fmt2;
	/* #outputformat open around the lexer's position (FOF_* + 1) */
	unsigned char fmt_stack[FTL_MAX_DEPTH + 1];
	int fmt_depth;
	/* #escape (brief ftl-escape): the active escapes, innermost last,
	 * each with its expression already composed with the outer ones
	 * (FreeMarker's EscapeBlock); #noescape moves the innermost to
	 * SUSPENDED until its end tag. Bounded by FTL_MAX_DEPTH. */
	struct fescape {
		const char *var;
		size_t vn;
		fexpr *eff;
	} escs[FTL_MAX_DEPTH + 1], suspended[FTL_MAX_DEPTH + 1];
	int nesc, nsusp;
	/* ftl-directives: how many #t/#lt/#rt/#nt the template has (the
	 * trimming pass runs only when there are some) */
	size_t ntrims;
	/* the nearest trim before / after each item (nitems: none),
	 * malloc'd by strip_ws while it runs */
	size_t *prev_trim, *next_trim;
	/* <#ftl strict_syntax=false>: directive tags without "#" (brief
	 * ftl-nonstrict; see "the legacy syntax" below) */
	int nonstrict;
	/* lexing a legacy tag without parameters (<else], </if]): FreeMarker
	 * takes either bracket at its end in the legacy syntax */
	int any_close;
} parser;

/* A legacy escaping built-in (?html, ?xhtml, ?xml, ?rtf) at OFF: fine
 * inside #noautoesc; elsewhere FreeMarker refuses it when auto-escaping is
 * on with a markup format, which is known only when rendering (the format
 * may come from the settings): the first of each kind is recorded. */
static void legacy_record(parser *p, const char *what, size_t off);
static int perr(parser *p, size_t off, ftl_kind k, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* The lexical auto-escaping: the nearest #autoesc (1) or #noautoesc (2)
 * around the lexer's position, 0: the template's default. */
static int lex_esc(parser *p)
{
	return p->esc_depth > 0 && p->esc_depth <= (int)sizeof(p->esc_stack)
	               ? p->esc_stack[p->esc_depth - 1]
	               : 0;
}

/* The lexical output format: FOF_* + 1 of the nearest #outputformat, 0:
 * the template's (the header's or the settings'). */
static int lex_fmt(parser *p)
{
	return p->fmt_depth > 0 && p->fmt_depth <= (int)sizeof(p->fmt_stack)
	               ? p->fmt_stack[p->fmt_depth - 1]
	               : 0;
}
static void legacy_escape(parser *p, const char *name, size_t n, size_t off)
{
	static const char *const legacy[] = {"html", "xhtml", "xml", "rtf"};
	int k;

	for (k = 0; k < 4; k++)
		if (strlen(legacy[k]) == n && memcmp(legacy[k], name, n) == 0)
			break;
	if (k == 4)
		return;
	legacy_record(p, legacy[k], off);
}

/* The legacy escape WHAT ("html"..., or "#escape") at OFF, refused where
 * auto-escaping is on with a markup format: the first of each kind is
 * remembered (the render checks it against the format). */
static void legacy_record(parser *p, const char *what, size_t off)
{
	int top = lex_esc(p), fmt = lex_fmt(p);
	if (top == 2)
		return;
	top = top == 1;
	if (fmt) {
		/* inside #outputformat: the format is known now */
		if (!FOF_IS_MARKUP(fmt - 1))
			return;
		if (top || p->hdr_autoesc == 1) {
			if (what[0] == '#')
				perr(p, off, FTL_PARSE,
				     "Using the \"escape\" directive (legacy "
				     "escaping) is not allowed when "
				     "auto-escaping is on with a markup output "
				     "format (%s), to avoid confusion and "
				     "double-escaping mistakes.",
				     ftl_outfmt_name(fmt - 1));
			else
				perr(p, off, FTL_PARSE,
				     "Using ?%s (legacy escaping) is not "
				     "allowed "
				     "when auto-escaping is on with a markup "
				     "output format (%s), to avoid "
				     "double-escaping mistakes.",
				     what, ftl_outfmt_name(fmt - 1));
			return;
		}
		if (p->hdr_autoesc == 0)
			return;
		top = 2; /* unless the settings disable auto-escaping */
		if (!p->legacy_what[2])
			p->legacy_fmt2 = fmt - 1;
	}
	if (!p->legacy_what[top]) {
		p->legacy_what[top] = what;
		p->legacy_off[top] = off;
	}
}

/* FBI_* for the markup built-ins, 0 for the others. */
static int markup_bi(const char *s, size_t n)
{
	static const char *const names[] = {"esc", "no_esc", "markup_string",
	                                    "is_markup_output"};
	for (int i = 0; i < 4; i++)
		if (strlen(names[i]) == n && memcmp(names[i], s, n) == 0)
			return FBI_ESC + i;
	return 0;
}

/* Remember the first construct that needs a markup output format. */
static void need_markup(parser *p, const char *what, size_t off)
{
	int fmt = lex_fmt(p);
	if (fmt) {
		/* inside #outputformat: known now, FreeMarker's parse error */
		if (!FOF_IS_MARKUP(fmt - 1)) {
			if (strcmp(what, "#autoesc") == 0 ||
			    strcmp(what, "auto_esc") == 0)
				perr(p, off, FTL_PARSE,
				     "%s: the current output format can't do "
				     "escaping: %s",
				     what, ftl_outfmt_name(fmt - 1));
			else
				perr(p, off, FTL_PARSE,
				     "%s can't be used here, as the current "
				     "output format isn't a markup (escaping) "
				     "format: %s",
				     what, ftl_outfmt_name(fmt - 1));
		}
		return;
	}
	if (!p->markup_what) {
		p->markup_what = what;
		p->markup_off = off;
	}
}

static int perr(parser *p, size_t off, ftl_kind k, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static int perr(parser *p, size_t off, ftl_kind k, const char *fmt, ...)
{
	va_list ap;
	int line, col;
	if (p->failed)
		return -1;
	p->failed = 1;
	if (!p->err)
		return -1;
	fparse_linecol(p->src, off > p->len ? p->len : off, &line, &col);
	p->err->kind = k;
	p->err->line = line;
	p->err->column = col;
	va_start(ap, fmt);
	vsnprintf(p->err->message, sizeof(p->err->message), fmt, ap);
	va_end(ap);
	ftxt_fix_tail(p->err->message);
	return -1;
}

static void *palloc(parser *p, size_t n)
{
	void *r = farena_alloc(p->arena, n);
	if (!r)
		perr(p, p->pos, FTL_NOMEM,
		     "out of memory compiling the template");
	return r;
}

static int at(parser *p, const char *s)
{
	size_t n = strlen(s);
	return p->pos + n <= p->len && memcmp(p->src + p->pos, s, n) == 0;
}

static int is_idstart(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       c == '$' || c == '@' || c >= 0x80;
}

static int is_idchar(unsigned char c)
{
	return is_idstart(c) || (c >= '0' && c <= '9');
}

/* Blanks and comments between the tokens of an expression or a tag. A
 * comment there is FreeMarker's EXPRESSION_COMMENT lexer state: "<#--",
 * "<!--", "[#--" or "[!--" in either tag syntax, up to the first "-->" or
 * "--]" (either closer for either opener: ${1 + <!-- c --] 2} is 3). An
 * unclosed one is a parse error at its start; the scan is linear, as the
 * position only moves forward. */
static void skip_ws(parser *p)
{
	while (p->pos < p->len) {
		const char *s = p->src + p->pos;
		size_t left = p->len - p->pos, i;
		if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
			p->pos++;
			continue;
		}
		if (left < 4 || (s[0] != '<' && s[0] != '[') ||
		    (s[1] != '#' && s[1] != '!') || s[2] != '-' || s[3] != '-')
			return;
		for (i = 4; i + 3 <= left; i++)
			if (s[i] == '-' && s[i + 1] == '-' &&
			    (s[i + 2] == '>' || s[i + 2] == ']'))
				break;
		if (i + 3 > left) {
			perr(p, p->pos, FTL_PARSE,
			     "unclosed comment \"%.4s\" inside an expression: "
			     "end it with \"-->\"",
			     s);
			p->pos = p->len;
			return;
		}
		p->pos += i + 3;
	}
}

/* Blanks only: inside an end tag (</#if >), where FreeMarker's lexer
 * takes the whole tag as one token and allows no comment. */
static void skip_blanks(parser *p)
{
	while (p->pos < p->len &&
	       (p->src[p->pos] == ' ' || p->src[p->pos] == '\t' ||
	        p->src[p->pos] == '\n' || p->src[p->pos] == '\r'))
		p->pos++;
}

/* A word at the current position (identifier characters). */
static size_t word_len(parser *p)
{
	size_t i = p->pos;
	if (i >= p->len || !is_idstart((unsigned char)p->src[i]))
		return 0;
	while (i < p->len && is_idchar((unsigned char)p->src[i]))
		i++;
	return i - p->pos;
}

static int at_word(parser *p, const char *w)
{
	size_t n = strlen(w);
	return word_len(p) == n && memcmp(p->src + p->pos, w, n) == 0;
}

/* Does the tag end here (">" / "/>" in angle syntax outside parentheses,
 * "]" / "/]" in square syntax)? */
static int at_tag_end(parser *p)
{
	if (!p->in_tag)
		return 0;
	if (p->square)
		return p->bdepth == 0 && (at(p, "]") || at(p, "/]"));
	return p->pdepth == 0 && (at(p, ">") || at(p, "/>"));
}

static char *pstrdup(parser *p, const char *s, size_t n)
{
	char *r = palloc(p, n + 1);
	if (r)
		memcpy(r, s, n);
	return r;
}

static fexpr *mk(parser *p, int op, size_t off)
{
	fexpr *e = palloc(p, sizeof(*e));
	if (e) {
		e->op = (uint8_t)op;
		e->off = (uint32_t)off;
		e->end = (uint32_t)p->pos;
		e->lexfmt = (uint8_t)lex_fmt(p);
		e->lexesc = (uint8_t)lex_esc(p);
	}
	return e;
}

static fexpr *parse_expr(parser *p);

/* Keep expression trees shallow: evaluation recurses over them. */
static fexpr *setdepth(parser *p, fexpr *e)
{
	int d = 0;
	if (!e)
		return NULL;
	if (e->a && e->a->depth > d)
		d = e->a->depth;
	if (e->b && e->b->depth > d)
		d = e->b->depth;
	for (int i = 0; i < e->nargs; i++)
		if (e->args[i]->depth > d)
			d = e->args[i]->depth;
	if (d + 1 > FTL_MAX_EXPR_DEPTH) {
		perr(p, e->off, FTL_LIMIT,
		     "expression too complex (more than %d levels)",
		     FTL_MAX_EXPR_DEPTH);
		return NULL;
	}
	e->depth = (uint16_t)(d + 1);
	return e;
}

static const char *describe_here(parser *p)
{
	static const char *const eof = "end of template";
	if (p->pos >= p->len)
		return eof;
	return NULL;
}

static int expect(parser *p, const char *tok, const char *what)
{
	skip_ws(p);
	if (!at(p, tok)) {
		const char *d = describe_here(p);
		if (d)
			return perr(p, p->pos, FTL_PARSE,
			            "expected %s but found the %s", what, d);
		return perr(
		        p, p->pos, FTL_PARSE, "expected %s but found \"%.*s\"",
		        what,
		        (int)ftxt_clip(p->src + p->pos, p->len - p->pos, 12),
		        p->src + p->pos);
	}
	p->pos += strlen(tok);
	return 0;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* A string literal; with ${...} inside, an E_CONCATS of parts. */
static int str_part(parser *p, fbuf *tb, fexpr ***parts, int *nparts, int *cap,
                    fexpr *e)
{
	if (*nparts + 2 > *cap) {
		fexpr **np;
		*cap = *cap ? *cap * 2 : 8;
		np = palloc(p, sizeof(*np) * (size_t)*cap);
		if (!np)
			return -1;
		if (*nparts)
			memcpy(np, *parts, sizeof(*np) * (size_t)*nparts);
		*parts = np;
	}
	if (!e) {
		e = mk(p, E_STR, p->pos);
		if (!e || !(e->s = pstrdup(p, tb->p ? tb->p : "", tb->n)))
			return -1;
		e->n = tb->n;
		tb->n = 0;
	}
	(*parts)[(*nparts)++] = e;
	return 0;
}

static int str_escape(parser *p, fbuf *tb)
{
	char x, enc[4];
	if (p->pos + 1 >= p->len)
		return perr(p, p->pos, FTL_PARSE,
		            "unterminated string literal");
	x = p->src[p->pos + 1];
	p->pos += 2;
	switch (x) {
	case '"':
	case '\'':
	case '\\':
	case '{':
	case '=': return fbuf_putc(tb, x);
	case 'n': return fbuf_putc(tb, '\n');
	case 'r': return fbuf_putc(tb, '\r');
	case 't': return fbuf_putc(tb, '\t');
	case 'b': return fbuf_putc(tb, '\b');
	case 'f': return fbuf_putc(tb, '\f');
	case 'l': return fbuf_putc(tb, '<');
	case 'g': return fbuf_putc(tb, '>');
	case 'a': return fbuf_putc(tb, '&');
	case 'x': {
		uint32_t cp = 0;
		int k = 0, h;
		while (k < 4 && p->pos < p->len &&
		       (h = hexval(p->src[p->pos])) >= 0) {
			cp = cp * 16 + (uint32_t)h;
			p->pos++;
			k++;
		}
		if (!k)
			return perr(p, p->pos, FTL_PARSE,
			            "\\x in a string needs hex digits");
		if (cp >= 0xd800 && cp <= 0xdfff)
			return perr(p, p->pos, FTL_PARSE,
			            "\\x%X is a lone surrogate", cp);
		return fbuf_put(tb, enc, (size_t)ftxt_encode(cp, enc));
	}
	default:
		return perr(p, p->pos - 1, FTL_PARSE,
		            "unknown escape \\%c in a string literal "
		            "(use \\\\ for a backslash)",
		            x);
	}
}

static fexpr *parse_string(parser *p)
{
	size_t start = p->pos;
	int raw = 0;
	char q;
	fbuf tb = {.max = (size_t)-1};
	fexpr **parts = NULL;
	int nparts = 0, cap = 0;
	fexpr *e = NULL;

	size_t saved_len = p->len, close;
	int interp_ok;
	if (p->src[p->pos] == 'r') {
		raw = 1;
		p->pos++;
	}
	q = p->src[p->pos++];
	/* the literal ends at the first unescaped quote, even inside ${...} */
	for (close = p->pos; close < p->len && p->src[close] != q; close++)
		if (!raw && p->src[close] == '\\')
			close++;
	if (close >= p->len) {
		perr(p, start, FTL_PARSE,
		     "unterminated string literal (missing %c)", q);
		goto out;
	}
	p->len = close + 1;
	/* FreeMarker (StringLiteral.parseValue) looks for ${...} only in
	 * literals longer than 3 characters: '${' and '${}' are text */
	interp_ok = !raw && !p->no_interp && close - p->pos > 3;
	for (;;) {
		char c;
		if (p->pos >= p->len) {
			perr(p, start, FTL_PARSE,
			     "unterminated string literal (missing %c)", q);
			goto out;
		}
		c = p->src[p->pos];
		if (c == q) {
			p->pos++;
			break;
		}
		if (interp_ok && c == '$' && p->pos + 1 < p->len &&
		    p->src[p->pos + 1] == '{') {
			int sv_tag = p->in_tag, sv_pd = p->pdepth,
			    sv_bd = p->bdepth;
			fexpr *ie;
			if (tb.n &&
			    str_part(p, &tb, &parts, &nparts, &cap, NULL))
				goto out;
			p->pos += 2;
			p->in_tag = 0;
			p->pdepth = p->bdepth = 0;
			ie = mk(p, E_INTERP, p->pos);
			if (!ie || !(ie->a = parse_expr(p)))
				goto out;
			p->in_tag = sv_tag;
			p->pdepth = sv_pd;
			p->bdepth = sv_bd;
			skip_ws(p);
			if (expect(p, "}", "\"}\" closing the ${...}"))
				goto out;
			if (str_part(p, &tb, &parts, &nparts, &cap, ie))
				goto out;
			continue;
		}
		if (!raw && c == '\\') {
			if (str_escape(p, &tb))
				goto out;
			continue;
		}
		if (fbuf_putc(&tb, c))
			goto out;
		p->pos++;
	}
	if (!nparts) {
		e = mk(p, E_STR, start);
		if (e) {
			e->s = pstrdup(p, tb.p ? tb.p : "", tb.n);
			e->n = tb.n;
			if (!e->s)
				e = NULL;
		}
		goto out;
	}
	if (tb.n && str_part(p, &tb, &parts, &nparts, &cap, NULL))
		goto out;
	e = mk(p, E_CONCATS, start);
	if (e) {
		e->args = parts;
		e->nargs = nparts;
		if (!setdepth(p, e))
			e = NULL;
	}
out:
	p->len = saved_len;
	if (tb.p)
		free(tb.p);
	if (tb.nomem && !p->failed)
		perr(p, start, FTL_NOMEM, "out of memory");
	return p->failed ? NULL : e;
}

static fexpr *parse_list_lit(parser *p, size_t start, const char *close, int op)
{
	fexpr **args = NULL;
	int n = 0, cap = 0;
	fexpr *e;
	int sv_pd = p->pdepth, sv_bd = p->bdepth;
	p->pdepth++;
	p->bdepth++;
	skip_ws(p);
	while (!at(p, close)) {
		fexpr *k, *v = NULL;
		if (n) {
			if (expect(p, ",", "\",\" or the closing bracket"))
				return NULL;
		}
		k = parse_expr(p);
		if (!k)
			return NULL;
		if (op == E_HASH) {
			/* FreeMarker still takes the legacy {"k", v} */
			skip_ws(p);
			if (at(p, ","))
				p->pos++;
			else if (expect(p, ":", "\":\" in a hash literal"))
				return NULL;
			v = parse_expr(p);
			if (!v)
				return NULL;
		}
		if (n + 2 > cap) {
			fexpr **na;
			cap = cap ? cap * 2 : 8;
			na = palloc(p, sizeof(*na) * (size_t)cap);
			if (!na)
				return NULL;
			if (n)
				memcpy(na, args, sizeof(*na) * (size_t)n);
			args = na;
		}
		args[n++] = k;
		if (op == E_HASH)
			args[n++] = v;
		skip_ws(p);
		if (p->pos >= p->len)
			break;
	}
	if (expect(p, close,
	           op == E_HASH ? "\"}\" closing the hash literal"
	                        : "\"]\" closing the sequence"))
		return NULL;
	p->pdepth = sv_pd;
	p->bdepth = sv_bd;
	e = mk(p, op, start);
	if (e) {
		e->args = args;
		e->nargs = n;
	}
	return setdepth(p, e);
}

/* FreeMarker 2.3.31's special variables (.name), in both spellings:
 * an unknown one is a parse error; eval.c decides which are supported. */
static const char special_names[] =
        "args, auto_esc, caller_template_name, current_node, "
        "current_template_name, data_model, error, get_optional_template, "
        "globals, incompatible_improvements, lang, locale, locale_object, "
        "locals, main, main_template_name, namespace, node, now, "
        "output_encoding, output_format, pass, template_name, "
        "url_escaping_charset, vars, version";
static int special_known(const char *s, size_t n)
{
	static const char *const camel[] = {"autoEsc",
	                                    "callerTemplateName",
	                                    "currentNode",
	                                    "currentTemplateName",
	                                    "dataModel",
	                                    "getOptionalTemplate",
	                                    "incompatibleImprovements",
	                                    "localeObject",
	                                    "mainTemplateName",
	                                    "outputEncoding",
	                                    "outputFormat",
	                                    "templateName",
	                                    "urlEscapingCharset",
	                                    NULL};
	const char *q = special_names;
	while (*q) {
		size_t k = strcspn(q, ",");
		if (k == n && memcmp(q, s, n) == 0)
			return 1;
		q += k;
		while (*q == ',' || *q == ' ')
			q++;
	}
	for (int i = 0; camel[i]; i++)
		if (strlen(camel[i]) == n && memcmp(camel[i], s, n) == 0)
			return 1;
	return 0;
}

static fexpr *parse_primary(parser *p)
{
	size_t start;
	size_t wl;
	fexpr *e;
	skip_ws(p);
	start = p->pos;
	if (p->pos >= p->len) {
		perr(p, p->pos, FTL_PARSE,
		     "expected an expression but the template ended");
		return NULL;
	}
	if (p->src[p->pos] == '.' && p->pos + 1 < p->len &&
	    is_idstart((unsigned char)p->src[p->pos + 1])) {
		/* a special variable (.now): looked up by its dotted name */
		p->pos++;
		wl = word_len(p);
		if (!special_known(p->src + p->pos, wl)) {
			perr(p, start, FTL_PARSE,
			     "Unknown special variable name: \"%.*s\". The "
			     "allowed special variable names are: %s",
			     (int)ftxt_clip(p->src + p->pos, wl, 64),
			     p->src + p->pos, special_names);
			return NULL;
		}
		e = mk(p, E_VAR, start);
		if (!e || !(e->s = pstrdup(p, p->src + start, wl + 1)))
			return NULL;
		e->n = wl + 1;
		p->pos += wl;
		e->end = (uint32_t)p->pos;
		return e;
	}
	{
		char c = p->src[p->pos];
		if (c == '"' || c == '\'' ||
		    (c == 'r' && p->pos + 1 < p->len &&
		     (p->src[p->pos + 1] == '"' || p->src[p->pos + 1] == '\'')))
			return parse_string(p);
		if (c >= '0' && c <= '9') {
			size_t i = p->pos;
			while (i < p->len && p->src[i] >= '0' &&
			       p->src[i] <= '9')
				i++;
			if (i + 1 < p->len && p->src[i] == '.' &&
			    p->src[i + 1] >= '0' && p->src[i + 1] <= '9') {
				i++;
				while (i < p->len && p->src[i] >= '0' &&
				       p->src[i] <= '9')
					i++;
			}
			e = mk(p, E_NUM, start);
			if (!e)
				return NULL;
			if (fnum_parse(p->src + start, i - start, &e->num)) {
				perr(p, start, FTL_PARSE,
				     "number literal too large");
				return NULL;
			}
			p->pos = i;
			e->end = (uint32_t)i;
			return e;
		}
		if (c == '(') {
			int sv = p->pdepth;
			p->pos++;
			p->pdepth++;
			e = parse_expr(p);
			if (!e)
				return NULL;
			if (expect(p, ")", "\")\""))
				return NULL;
			p->pdepth = sv;
			e->paren = 1;
			return e;
		}
		if (c == '[') {
			p->pos++;
			return parse_list_lit(p, start, "]", E_SEQ);
		}
		if (c == '{') {
			p->pos++;
			return parse_list_lit(p, start, "}", E_HASH);
		}
	}
	wl = word_len(p);
	if (wl && p->lambda_ok) {
		/* x -> expression (FreeMarker 2.3.29+: built-in arguments
		 * only) */
		size_t save = p->pos;
		p->pos += wl;
		skip_ws(p);
		if (at(p, "->")) {
			int sv = p->lambda_ok;
			e = mk(p, E_LAMBDA, start);
			if (!e || !(e->s = pstrdup(p, p->src + start, wl)))
				return NULL;
			e->n = wl;
			p->pos += 2;
			p->lambda_ok = 0;
			e->a = parse_expr(p);
			p->lambda_ok = sv;
			if (!e->a)
				return NULL;
			e->end = (uint32_t)p->pos;
			return setdepth(p, e);
		}
		p->pos = save;
	}
	if (!wl) {
		perr(p, p->pos, FTL_PARSE,
		     "expected an expression (a name, a number, a string...) "
		     "but found \"%.*s\"",
		     (int)ftxt_clip(p->src + p->pos, p->len - p->pos, 10),
		     p->src + p->pos);
		return NULL;
	}
	if (wl == 4 && memcmp(p->src + start, "true", 4) == 0) {
		e = mk(p, E_BOOL, start);
		if (e)
			e->sub = 1;
	} else if (wl == 5 && memcmp(p->src + start, "false", 5) == 0) {
		e = mk(p, E_BOOL, start);
	} else {
		e = mk(p, E_VAR, start);
		if (e) {
			e->s = pstrdup(p, p->src + start, wl);
			e->n = wl;
			if (!e->s)
				return NULL;
		}
	}
	p->pos += wl;
	if (e)
		e->end = (uint32_t)p->pos;
	return e;
}

/* Can an expression start at the current position (for "x!" defaults)? */
static int can_start_expr(parser *p)
{
	char c;
	skip_ws(p);
	if (p->pos >= p->len || at_tag_end(p))
		return 0;
	c = p->src[p->pos];
	if (c == '"' || c == '\'' || c == '(' || c == '[' || c == '{' ||
	    c == '-' || c == '+' || (c >= '0' && c <= '9'))
		return 1;
	if (c == '!' && !at(p, "!="))
		return 1;
	if (word_len(p)) {
		static const char *const ops[] = {"as",  "gt",    "gte", "lt",
		                                  "lte", "using", "in"};
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++)
			if (at_word(p, ops[i]))
				return 0;
		return 1;
	}
	return 0;
}

/* "short_medium" and the like: a date style and a time style */
static int date_style_pair(const char *s, size_t n)
{
	const char *u = memchr(s, '_', n);
	return u && fdate_style_id(s, (size_t)(u - s)) &&
	       fdate_style_id(u + 1, n - (size_t)(u - s) - 1);
}

static fexpr *parse_postfix(parser *p)
{
	fexpr *e = parse_primary(p);
	size_t start;
	if (!e)
		return NULL;
	start = e->off;
	for (;;) {
		size_t here;
		skip_ws(p);
		here = p->pos;
		if (at(p, "..")) {
			break;
		} else if (at(p, ".")) {
			fexpr *d;
			size_t wl;
			p->pos++;
			skip_ws(p);
			if (p->pos < p->len && p->src[p->pos] == '@' &&
			    e->op == E_BI && feval_builtin_is_string(e->bi) &&
			    !e->sub) {
				/* x?string.@name: a custom format, which
				 * FreeMarker looks up when it runs (none are
				 * registered: its error then) */
				p->pos++;
				wl = word_len(p);
				if (!wl) {
					perr(p, p->pos, FTL_PARSE,
					     "expected a format name after "
					     "\"@\"");
					return NULL;
				}
				e->bi = FBI_CUSTOM_FMT;
				e->s = p->src + p->pos;
				e->n = wl;
				p->pos += wl;
				e->end = (uint32_t)p->pos;
				continue;
			}
			wl = word_len(p);
			if (!wl) {
				perr(p, p->pos, FTL_PARSE,
				     "expected a name after \".\"");
				return NULL;
			}
			if (e->op == E_BI && !e->sub &&
			    (feval_builtin_is_date(e->bi) ||
			     (feval_builtin_is_string(e->bi) &&
			      (fdate_style_id(p->src + p->pos, wl) ||
			       date_style_pair(p->src + p->pos, wl) ||
			       (wl == 3 &&
			        !memcmp(p->src + p->pos, "iso", 3)) ||
			       (wl == 2 &&
			        !memcmp(p->src + p->pos, "xs", 2)))))) {
				/* x?datetime.iso, x?string.short: the name
				 * is a format for dates, given as the
				 * argument (no pre-parsed number format) */
				fexpr *arg = mk(p, E_STR, p->pos);
				fexpr **args = palloc(p, sizeof(*args));
				if (!arg || !args ||
				    !(arg->s = pstrdup(p, p->src + p->pos, wl)))
					return NULL;
				arg->n = wl;
				args[0] = arg;
				e->args = args;
				e->nargs = 1;
				e->sub = 1;
				p->pos += wl;
				e->end = (uint32_t)p->pos;
				continue;
			}
			if (e->op == E_BI && feval_builtin_is_string(e->bi) &&
			    !e->sub) {
				/* x?string.computer, .number, .percent... */
				fexpr *arg = mk(p, E_STR, p->pos);
				fexpr **args = palloc(p, sizeof(*args));
				fnfmt *f = palloc(p, sizeof(*f));
				if (!arg || !args || !f ||
				    !(arg->s = pstrdup(p, p->src + p->pos, wl)))
					return NULL;
				arg->n = wl;
				args[0] = arg;
				e->args = args;
				e->nargs = 1;
				e->sub = 1;
				if (fnum_fmt_parse(arg->s, f) == 0 &&
				    strcmp(arg->s, "number") != 0 &&
				    strcmp(arg->s, "computer") != 0 &&
				    strcmp(arg->s, "percent") != 0 &&
				    strcmp(arg->s, "currency") != 0)
					f = NULL; /* only the named formats */
				if (!f) {
					perr(p, p->pos, FTL_PARSE,
					     "?string.%s is not supported (use "
					     "?string.number, .computer, "
					     ".currency or .percent)",
					     arg->s);
					return NULL;
				}
				e->aux = f;
				p->pos += wl;
				e->end = (uint32_t)p->pos;
				continue;
			}
			d = mk(p, E_DOT, start);
			if (!d)
				return NULL;
			d->a = e;
			d->s = pstrdup(p, p->src + p->pos, wl);
			if (!d->s)
				return NULL;
			d->n = wl;
			p->pos += wl;
			d->end = (uint32_t)p->pos;
			e = setdepth(p, d);
			if (!e)
				return NULL;
		} else if (at(p, "[")) {
			fexpr *d;
			int sv_pd = p->pdepth, sv_bd = p->bdepth;
			p->pos++;
			p->pdepth++;
			p->bdepth++;
			d = mk(p, E_INDEX, start);
			if (!d)
				return NULL;
			d->a = e;
			d->b = parse_expr(p);
			if (!d->b || expect(p, "]", "\"]\""))
				return NULL;
			p->pdepth = sv_pd;
			p->bdepth = sv_bd;
			d->end = (uint32_t)p->pos;
			e = setdepth(p, d);
			if (!e)
				return NULL;
		} else if (at(p, "??")) {
			fexpr *d = mk(p, E_EXISTS, start);
			if (!d)
				return NULL;
			p->pos += 2;
			d->a = e;
			d->end = (uint32_t)p->pos;
			e = setdepth(p, d);
			if (!e)
				return NULL;
		} else if (at(p, "?")) {
			fexpr *d;
			size_t wl;
			p->pos++;
			skip_ws(p);
			wl = word_len(p);
			if (!wl) {
				perr(p, p->pos, FTL_PARSE,
				     "expected a built-in name after \"?\"");
				return NULL;
			}
			d = mk(p, E_BI, start);
			if (!d)
				return NULL;
			d->a = e;
			d->s = p->src + p->pos;
			d->n = wl;
			d->bi = markup_bi(d->s, wl);
			if (d->bi == FBI_ESC || d->bi == FBI_NO_ESC)
				need_markup(p,
				            d->bi == FBI_ESC ? "?esc"
				                             : "?no_esc",
				            d->off);
			if (!d->bi)
				d->bi = feval_builtin_id(d->s, wl);
			legacy_escape(p, d->s, wl, (size_t)(d->s - p->src));
			if (d->bi < 0) {
				perr(p, p->pos, FTL_PARSE,
				     "unknown built-in: ?%.*s", (int)wl, d->s);
				return NULL;
			}
			p->pos += wl;
			if (at(p, "(")) {
				fexpr *lst;
				int sv = p->lambda_ok;
				p->pos++;
				p->lambda_ok =
				        feval_builtin_takes_lambda(d->bi);
				lst = parse_list_lit(p, p->pos, ")", E_SEQ);
				p->lambda_ok = sv;
				if (!lst)
					return NULL;
				d->args = lst->args;
				d->nargs = lst->nargs;
				d->sub = 1; /* called */
				if (feval_builtin_nargs_check(d->bi,
				                              d->nargs)) {
					perr(p, d->off, FTL_PARSE,
					     "?%.*s(...) has the wrong number "
					     "of "
					     "arguments (?then takes 2, "
					     "?switch "
					     "at least 2)",
					     (int)d->n, d->s);
					return NULL;
				}
				if (feval_builtin_is_string(d->bi) &&
				    d->nargs == 1 && d->args[0]->op == E_STR) {
					fnfmt *f = palloc(p, sizeof(*f));
					if (!f)
						return NULL;
					if (fnum_fmt_parse(d->args[0]->s, f) ==
					    0)
						d->aux = f;
				}
			}
			d->end = (uint32_t)p->pos;
			e = setdepth(p, d);
			if (!e)
				return NULL;
		} else if (at(p, "!") && !at(p, "!=")) {
			fexpr *d = mk(p, E_DEFAULT, start);
			if (!d)
				return NULL;
			p->pos++;
			d->a = e;
			if (can_start_expr(p)) {
				d->b = parse_expr(p);
				if (!d->b)
					return NULL;
				d->end = (uint32_t)p->pos;
				return setdepth(p, d);
			}
			d->end = (uint32_t)p->pos;
			e = setdepth(p, d);
			if (!e)
				return NULL;
			skip_ws(p);
			if (!at(p, "?") || at(p, "??"))
				return setdepth(p, d);
		} else if (at(p, "(")) {
			/* f(args): a #function call */
			fexpr *d = mk(p, E_CALL, start), *lst;
			(void)here;
			if (!d)
				return NULL;
			p->pos++;
			lst = parse_list_lit(p, p->pos, ")", E_SEQ);
			if (!lst)
				return NULL;
			d->a = e;
			d->args = lst->args;
			d->nargs = lst->nargs;
			d->end = (uint32_t)p->pos;
			e = setdepth(p, d);
			if (!e)
				return NULL;
		} else {
			break;
		}
	}
	return e;
}

static int literal_kind_err(parser *p, fexpr *e, const char *want)
{
	if (!e->paren && (e->op == E_STR || e->op == E_CONCATS))
		return perr(p, e->off, FTL_PARSE,
		            "found a string literal where %s was expected",
		            want);
	if (!e->paren && e->op == E_BOOL && strcmp(want, "a boolean"))
		return perr(p, e->off, FTL_PARSE,
		            "found a boolean literal where %s was expected",
		            want);
	if (e->op == E_NUM && strcmp(want, "a number"))
		return perr(p, e->off, FTL_PARSE,
		            "found a number literal where %s was expected",
		            want);
	if ((e->op == E_SEQ || e->op == E_HASH))
		return perr(p, e->off, FTL_PARSE,
		            "found a sequence or hash literal where %s was "
		            "expected",
		            want);
	return 0;
}

static fexpr *parse_unary(parser *p)
{
	size_t start;
	skip_ws(p);
	start = p->pos;
	if (at(p, "--") || at(p, "++")) {
		perr(p, start, FTL_PARSE,
		     "unexpected \"%.2s\" in an expression", p->src + start);
		return NULL;
	}
	if ((at(p, "!") && !at(p, "!=")) || at(p, "-") || at(p, "+")) {
		char c = p->src[p->pos];
		fexpr *e;
		int op = c == '!' ? E_NOT : c == '-' ? E_NEG : E_POS;
		if (++p->depth > FTL_MAX_DEPTH) {
			perr(p, start, FTL_LIMIT,
			     "expression nested too deeply (limit %d)",
			     FTL_MAX_DEPTH);
			return NULL;
		}
		p->pos++;
		if (op != E_NOT) {
			skip_ws(p);
			if (at(p, "-") || at(p, "+")) {
				perr(p, p->pos, FTL_PARSE,
				     "a sign can't follow a sign; use "
				     "parentheses");
				return NULL;
			}
		}
		e = mk(p, op, start);
		if (!e ||
		    !(e->a = op == E_NOT ? parse_unary(p) : parse_postfix(p)))
			return NULL;
		p->depth--;
		e->end = (uint32_t)p->pos;
		return setdepth(p, e);
	}
	return parse_postfix(p);
}

static fexpr *binary(parser *p, int op, fexpr *a, fexpr *b)
{
	fexpr *e = mk(p, op, a->off);
	if (e) {
		e->a = a;
		e->b = b;
	}
	return setdepth(p, e);
}

static fexpr *parse_mul(parser *p)
{
	fexpr *a = parse_unary(p);
	while (a) {
		int op;
		skip_ws(p);
		if (at(p, "*") && !at(p, "**"))
			op = E_MUL;
		else if (at(p, "/") && !at(p, "/>") && !at(p, "/]"))
			op = E_DIV;
		else if (at(p, "%"))
			op = E_MOD;
		else
			break;
		p->pos++;
		fexpr *b = parse_unary(p);
		if (!b)
			return NULL;
		if (literal_kind_err(p, a, "a number") ||
		    literal_kind_err(p, b, "a number"))
			return NULL;
		a = binary(p, op, a, b);
	}
	return a;
}

static fexpr *parse_add(parser *p)
{
	fexpr *a = parse_mul(p);
	while (a) {
		int op;
		skip_ws(p);
		if (at(p, "+") && !at(p, "++") && !at(p, "+="))
			op = E_ADD;
		else if (at(p, "-") && !at(p, "--") && !at(p, "-="))
			op = E_SUB;
		else
			break;
		p->pos++;
		fexpr *b = parse_mul(p);
		if (!b)
			return NULL;
		if (op == E_SUB && (literal_kind_err(p, a, "a number") ||
		                    literal_kind_err(p, b, "a number")))
			return NULL;
		a = binary(p, op, a, b);
	}
	return a;
}

static fexpr *parse_range(parser *p)
{
	fexpr *a = parse_add(p), *e;
	int sub;
	if (!a)
		return NULL;
	skip_ws(p);
	if (!at(p, ".."))
		return a;
	p->pos += 2;
	if (at(p, "<") || at(p, "!")) {
		sub = R_EXCL;
		p->pos++;
	} else if (at(p, "*")) {
		sub = R_LEN;
		p->pos++;
	} else {
		sub = R_INCL;
	}
	e = mk(p, E_RANGE, a->off);
	if (!e)
		return NULL;
	e->a = a;
	e->sub = (uint8_t)sub;
	if (sub == R_INCL && !can_start_expr(p)) {
		e->sub = R_OPEN;
	} else {
		e->b = parse_add(p);
		if (!e->b)
			return NULL;
	}
	if (literal_kind_err(p, a, "a number") ||
	    (e->b && literal_kind_err(p, e->b, "a number")))
		return NULL;
	e->end = (uint32_t)p->pos;
	return setdepth(p, e);
}

static fexpr *parse_rel(parser *p)
{
	static const struct {
		const char *tok;
		int op;
		int word;
	} ops[] = {
	        {"<=", E_LE, 0},    {"<", E_LT, 0},     {"&lt;=", E_LE, 0},
	        {"&lt;", E_LT, 0},  {"&gt;=", E_GE, 0}, {"&gt;", E_GT, 0},
	        {"\\lte", E_LE, 0}, {"\\lt", E_LT, 0},  {"\\gte", E_GE, 0},
	        {"\\gt", E_GT, 0},  {"lte", E_LE, 1},   {"lt", E_LT, 1},
	        {"gte", E_GE, 1},   {"gt", E_GT, 1},
	};
	fexpr *a = parse_range(p);
	int op = -1;
	size_t n = 0;
	if (!a)
		return NULL;
	skip_ws(p);
	for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]) && op < 0; i++) {
		if (ops[i].word ? at_word(p, ops[i].tok) : at(p, ops[i].tok)) {
			op = ops[i].op;
			n = strlen(ops[i].tok);
		}
	}
	if (op < 0 && !at_tag_end(p)) {
		/* FreeMarker knows ">=" only inside parentheses */
		if (at(p, ">=") && p->pdepth > 0) {
			op = E_GE;
			n = 2;
		} else if (at(p, ">")) {
			op = E_GT;
			n = 1;
		}
	}
	if (op < 0)
		return a;
	p->pos += n;
	fexpr *b = parse_range(p);
	if (!b)
		return NULL;
	if (literal_kind_err(p, a, "a number") ||
	    literal_kind_err(p, b, "a number"))
		return NULL;
	return binary(p, op, a, b);
}

static fexpr *parse_eq(parser *p)
{
	fexpr *a = parse_rel(p);
	if (a) {
		int op;
		size_t n;
		skip_ws(p);
		if (at(p, "==")) {
			op = E_EQ;
			n = 2;
		} else if (at(p, "!=")) {
			op = E_NE;
			n = 2;
		} else if (at(p, "=")) {
			op = E_EQ;
			n = 1;
		} else {
			return a;
		}
		p->pos += n;
		fexpr *b = parse_rel(p);
		if (!b)
			return NULL;
		a = binary(p, op, a, b);
	}
	return a;
}

static fexpr *parse_and(parser *p)
{
	fexpr *a = parse_eq(p);
	while (a) {
		skip_ws(p);
		/* "&&", and the spellings that avoid '&' in XML/HTML */
		if (at(p, "&&"))
			p->pos += 2;
		else if (at(p, "&amp;&amp;"))
			p->pos += 10;
		else if (at(p, "\\and") &&
		         !is_idchar((unsigned char)p->src[p->pos + 4]))
			p->pos += 4;
		else
			break;
		fexpr *b = parse_eq(p);
		if (!b)
			return NULL;
		if (literal_kind_err(p, a, "a boolean") ||
		    literal_kind_err(p, b, "a boolean"))
			return NULL;
		a = binary(p, E_AND, a, b);
	}
	return a;
}

static fexpr *parse_or(parser *p)
{
	fexpr *a = parse_and(p);
	while (a) {
		skip_ws(p);
		if (!at(p, "||"))
			break;
		p->pos += 2;
		fexpr *b = parse_and(p);
		if (!b)
			return NULL;
		if (literal_kind_err(p, a, "a boolean") ||
		    literal_kind_err(p, b, "a boolean"))
			return NULL;
		a = binary(p, E_OR, a, b);
	}
	return a;
}

static fexpr *parse_expr(parser *p)
{
	fexpr *e;
	if (++p->depth > FTL_MAX_DEPTH) {
		perr(p, p->pos, FTL_LIMIT,
		     "expression nested too deeply (limit %d)", FTL_MAX_DEPTH);
		return NULL;
	}
	e = parse_or(p);
	p->depth--;
	if (e)
		e->end = (uint32_t)p->pos;
	return e;
}

/* ---- tags ----------------------------------------------------------------
 */
static int add_item(parser *p, int type, size_t off)
{
	if (p->nitems == p->capitems) {
		size_t cap = p->capitems ? p->capitems * 2 : 64;
		item *n = realloc(p->items, cap * sizeof(*n));
		if (!n)
			return perr(p, off, FTL_NOMEM, "out of memory");
		p->items = n;
		p->capitems = cap;
	}
	memset(&p->items[p->nitems], 0, sizeof(item));
	p->items[p->nitems].type = type;
	p->items[p->nitems].off = (uint32_t)off;
	p->nitems++;
	return 0;
}

static fnode *mknode(parser *p, int type, size_t off)
{
	fnode *n = palloc(p, sizeof(*n));
	if (n) {
		n->type = (uint8_t)type;
		n->off = (uint32_t)off;
		n->lexfmt = (uint8_t)lex_fmt(p);
	}
	return n;
}

/* Finish a tag: ">" or "/>"; sets *selfclose. */
static int tag_end(parser *p, int *selfclose)
{
	skip_ws(p);
	*selfclose = 0;
	if (at(p, p->square ? "/]" : "/>") || (p->any_close && at(p, "/]"))) {
		*selfclose = 1;
		p->pos += 2;
		return 0;
	}
	if (at(p, p->square ? "]" : ">") || (p->any_close && at(p, "]"))) {
		p->pos++;
		return 0;
	}
	if (p->pos >= p->len)
		return perr(p, p->pos, FTL_PARSE,
		            "unclosed tag: expected \"%s\" before the end of "
		            "the template",
		            p->square ? "]" : ">");
	return perr(p, p->pos, FTL_PARSE,
	            "expected \"%s\" to end the tag but found \"%.*s\"",
	            p->square ? "]" : ">",
	            (int)ftxt_clip(p->src + p->pos, p->len - p->pos, 10),
	            p->src + p->pos);
}

static int loop_vars(parser *p, fnode *n)
{
	size_t wl;
	skip_ws(p);
	wl = word_len(p);
	if (!wl)
		return perr(p, p->pos, FTL_PARSE,
		            "expected a loop variable name after \"as\"");
	n->v1 = p->src + p->pos;
	n->n1 = wl;
	p->pos += wl;
	skip_ws(p);
	if (at(p, ",")) {
		p->pos++;
		skip_ws(p);
		wl = word_len(p);
		if (!wl)
			return perr(p, p->pos, FTL_PARSE,
			            "expected a second loop variable name "
			            "after \",\"");
		n->v2 = p->src + p->pos;
		n->n2 = wl;
		p->pos += wl;
	}
	return 0;
}

static int parse_assign(parser *p, item *it, size_t off)
{
	fnode *first = NULL, *last = NULL;
	for (;;) {
		fnode *n;
		size_t wl;
		skip_ws(p);
		if (at_tag_end(p) && (first || 1))
			break;
		if (first && at(p, ",")) {
			p->pos++;
			skip_ws(p);
		}
		n = mknode(p, N_ASSIGN, p->pos);
		if (!n)
			return -1;
		if (p->pos < p->len &&
		    (p->src[p->pos] == '"' || p->src[p->pos] == '\'')) {
			/* FreeMarker takes a quoted name literally (escapes
			 * decoded, no ${...}): <#assign "v${i}" = 1> assigns
			 * the variable named v${i} */
			fexpr *s;
			p->no_interp = 1;
			s = parse_string(p);
			p->no_interp = 0;
			if (!s)
				return -1;
			n->v1 = s->s;
			n->n1 = s->n;
		} else {
			wl = word_len(p);
			if (!wl)
				return perr(p, p->pos, FTL_PARSE,
				            "expected a variable name in "
				            "#assign");
			n->v1 = p->src + p->pos;
			n->n1 = wl;
			p->pos += wl;
		}
		skip_ws(p);
		if (at(p, "++") || at(p, "--")) {
			n->op = at(p, "++") ? A_INC : A_DEC;
			p->pos += 2;
		} else if (at(p, "=") && !at(p, "==")) {
			n->op = A_SET;
			p->pos++;
		} else if (at(p, "+=") || at(p, "-=") || at(p, "*=") ||
		           at(p, "/=") || at(p, "%=")) {
			static const char ops[] = "+-*/%";
			n->op = (uint8_t)(A_ADD +
			                  (strchr(ops, p->src[p->pos]) - ops));
			p->pos += 2;
		} else if (!first && at_tag_end(p)) {
			/* capture form: <#assign x>...</#assign> */
			it->node = n;
			n->op = A_SET;
			n->has_items = 1; /* marks capture */
			return 0;
		} else {
			return perr(p, p->pos, FTL_PARSE,
			            "expected \"=\" after the variable name "
			            "in #assign");
		}
		if (n->op != A_INC && n->op != A_DEC) {
			n->e = parse_expr(p);
			if (!n->e)
				return -1;
		}
		if (!first)
			first = n;
		else
			last->next = n;
		last = n;
	}
	if (!first)
		return perr(p, off, FTL_PARSE, "#assign needs a variable");
	it->node = first;
	return 0;
}

static int dir_lookup(const char *s, size_t n)
{
	for (int i = 0; i < D_CALL; i++)
		if (strlen(dir_names[i]) == n &&
		    memcmp(dir_names[i], s, n) == 0)
			return i;
	return D_NONE;
}

static const char *const unsupported_dirs[] = {"visit", "recurse", "fallback",
                                               "transform", NULL};

/* The legacy directives FreeMarker 2.3.31 still parses, spelled as the
 * modern ones: <#foreach x in seq> is <#list seq as x> (its own end tag,
 * no #else), <#call m args> is <@m args/>. */
static int is_word(parser *p, size_t at, size_t wl, const char *w)
{
	return strlen(w) == wl && memcmp(p->src + at, w, wl) == 0;
}

/* Grow an arena array of ELEM-byte elements holding N to hold N + 1. */
static void *grow(parser *p, void *arr, int n, size_t elem)
{
	void *na;
	if (n != 0 && (n < 8 || (n & (n - 1))))
		return arr; /* room left: the capacity is 8 or a power of 2 */
	na = palloc(p, elem * (size_t)(n < 8 ? 8 : n * 2));
	if (na && n)
		memcpy(na, arr, elem * (size_t)n);
	return na;
}

static int add_arg(parser *p, fcall *fc, const char *name, size_t nlen,
                   fexpr *e)
{
	fexpr **a = grow(p, fc->args, fc->nargs, sizeof(*a));
	const char **nm = grow(p, fc->names, fc->nargs, sizeof(*nm));
	size_t *nl = grow(p, fc->nlens, fc->nargs, sizeof(*nl));
	if (!a || !nm || !nl)
		return -1;
	fc->args = a;
	fc->names = nm;
	fc->nlens = nl;
	a[fc->nargs] = e;
	nm[fc->nargs] = name;
	nl[fc->nargs] = nlen;
	fc->nargs++;
	return 0;
}

/* Is a "name =" (a named argument) at the current position? */
static int at_named_arg(parser *p)
{
	size_t save = p->pos, w = word_len(p);
	int r = 0;
	if (w) {
		p->pos += w;
		skip_ws(p);
		r = at(p, "=") && !at(p, "==");
	}
	p->pos = save;
	return r;
}

/* The arguments of <@m ...> (CALL: named or positional, then "; loop
 * variables") or of #nested (positional only) up to the tag's end. */
static int parse_args(parser *p, fcall *fc, int call)
{
	int named = -1;
	for (;;) {
		fexpr *e;
		const char *name = NULL;
		size_t nlen = 0;
		skip_ws(p);
		if (at_tag_end(p) || (call && at(p, ";")))
			break;
		if (p->pos >= p->len)
			return perr(p, p->pos, FTL_PARSE,
			            "unclosed tag: the template ended in it");
		if (named < 0)
			named = call && at_named_arg(p);
		if (named) {
			nlen = word_len(p);
			if (!nlen || !at_named_arg(p))
				return perr(p, p->pos, FTL_PARSE,
				            "expected a named parameter "
				            "(name=value): the first one was "
				            "named, so all must be");
			name = p->src + p->pos;
			p->pos += nlen;
			skip_ws(p);
			p->pos++; /* "=" */
		} else if (fc->nargs && at(p, ",")) {
			p->pos++;
		}
		if (!(e = parse_expr(p)) || add_arg(p, fc, name, nlen, e))
			return -1;
	}
	if (call && at(p, ";")) {
		p->pos++;
		for (;;) {
			size_t w;
			const char **lv;
			size_t *ll;
			skip_ws(p);
			w = word_len(p);
			if (!w)
				return perr(p, p->pos, FTL_PARSE,
				            "expected a loop variable name "
				            "after \";\" or \",\"");
			lv = grow(p, fc->lvars, fc->nlvars, sizeof(*lv));
			ll = grow(p, fc->lvlens, fc->nlvars, sizeof(*ll));
			if (!lv || !ll)
				return -1;
			fc->lvars = lv;
			fc->lvlens = ll;
			lv[fc->nlvars] = p->src + p->pos;
			ll[fc->nlvars++] = w;
			p->pos += w;
			skip_ws(p);
			if (!at(p, ","))
				break;
			p->pos++;
		}
	}
	return 0;
}

/* <#macro name params> / <#function name params>. */
static int parse_macro_def(parser *p, int d, size_t off, fnode **out)
{
	fmacro *m = palloc(p, sizeof(*m));
	fnode *n = mknode(p, N_MACRO, off);
	size_t w;
	int paren = 0, seen_default = 0;
	const char *what = d == D_FUNCTION ? "function" : "macro";
	if (!m || !n)
		return -1;
	n->aux = m;
	m->is_func = d == D_FUNCTION;
	m->off = (uint32_t)off;
	skip_ws(p);
	if (p->pos < p->len &&
	    (p->src[p->pos] == '"' || p->src[p->pos] == '\'')) {
		fexpr *sl = parse_string(p);
		if (!sl)
			return -1;
		if (sl->op != E_STR)
			return perr(p, sl->off, FTL_PARSE,
			            "a %s name cannot contain ${...}", what);
		m->name = sl->s;
		m->n = sl->n;
	} else {
		w = word_len(p);
		if (!w)
			return perr(p, p->pos, FTL_PARSE,
			            "expected the %s's name after #%s", what,
			            what);
		m->name = p->src + p->pos;
		m->n = w;
		p->pos += w;
	}
	skip_ws(p);
	if (at(p, "(")) {
		paren = 1;
		p->pos++;
		p->pdepth++;
	}
	for (;;) {
		fexpr *def = NULL;
		const char **pn;
		size_t *pl;
		fexpr **pd;
		size_t at_name;
		skip_ws(p);
		if (paren && at(p, ")")) {
			p->pos++;
			p->pdepth--;
			paren = 0;
			continue;
		}
		if (at_tag_end(p) || p->pos >= p->len)
			break;
		if (at(p, ",")) {
			p->pos++;
			continue;
		}
		at_name = p->pos;
		w = word_len(p);
		if (!w)
			return perr(p, p->pos, FTL_PARSE,
			            "expected a parameter name in #%s, found "
			            "\"%.*s\"",
			            what,
			            (int)ftxt_clip(p->src + p->pos,
			                           p->len - p->pos, 10),
			            p->src + p->pos);
		if (m->rest)
			return perr(p, at_name, FTL_PARSE,
			            "There should be no parameters after the "
			            "catch-all parameter.");
		p->pos += w;
		if (at(p, "...")) {
			p->pos += 3;
			m->rest = p->src + at_name;
			m->nrest = w;
			continue;
		}
		skip_ws(p);
		if (at(p, "=") && !at(p, "==")) {
			p->pos++;
			if (!(def = parse_expr(p)))
				return -1;
			seen_default = 1;
		} else if (seen_default) {
			return perr(p, at_name, FTL_PARSE,
			            "In a macro declaration, parameters "
			            "without a default value must all occur "
			            "before the parameters with default "
			            "values.");
		}
		pn = grow(p, m->pnames, m->nparams, sizeof(*pn));
		pl = grow(p, m->plens, m->nparams, sizeof(*pl));
		pd = grow(p, m->pdefs, m->nparams, sizeof(*pd));
		if (!pn || !pl || !pd)
			return -1;
		m->pnames = pn;
		m->plens = pl;
		m->pdefs = pd;
		pn[m->nparams] = p->src + at_name;
		pl[m->nparams] = w;
		pd[m->nparams++] = def;
	}
	if (paren)
		return perr(p, p->pos, FTL_PARSE,
		            "expected \")\" closing the parameter list");
	*out = n;
	return 0;
}

static int is_blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] != ' ' && s[i] != '\t' && s[i] != '\n' && s[i] != '\r')
			return 0;
	return 1;
}

/* One <#ftl> parameter NAME (N bytes, at AT) = V; 0 or -1. As FreeMarker
 * 2.3.31: both spellings, the value checked for its type when parsed. */
static int ftl_param(parser *p, const char *name, size_t n, size_t at,
                     const fexpr *v)
{
	static const char *const known[] = {"encoding",
	                                    "encoding",
	                                    "strip_whitespace",
	                                    "stripWhitespace",
	                                    "strip_text",
	                                    "stripText",
	                                    "ns_prefixes",
	                                    "nsPrefixes",
	                                    "attributes",
	                                    "attributes",
	                                    "output_format",
	                                    "outputFormat",
	                                    "auto_esc",
	                                    "autoEsc",
	                                    "strict_syntax",
	                                    "strictSyntax",
	                                    NULL};
	int k = -1;
	for (int i = 0; known[i]; i++)
		if (strlen(known[i]) == n && memcmp(known[i], name, n) == 0)
			k = i / 2;
	switch (k) {
	case 0: /* encoding: the text is UTF-8 already; only the type */
	case 5:
		if (v->op != E_STR)
			return perr(p, v->off, FTL_PARSE,
			            "Expected a string constant for \"%s\".",
			            k ? "output_format" : "encoding");
		if (k == 5) {
			int f = ftl_outfmt(v->s, v->n);
			if (f < 0)
				return perr(
				        p, v->off, FTL_PARSE,
				        "Unregistered output format name, "
				        "\"%.*s\". The output formats are: "
				        "\"CSS\", \"HTML\", \"JSON\", "
				        "\"JavaScript\", \"RTF\", "
				        "\"XHTML\", \"XML\", \"plainText\", "
				        "\"undefined\"",
				        (int)ftxt_clip(v->s, v->n, 40), v->s);
			p->hdr_fmt = f;
		}
		return 0;
	case 1:
	case 2:
	case 6:
		if (v->op == E_STR && k == 1) {
			/* FreeMarker reads a string here as a boolean */
			if ((v->n == 4 && !memcmp(v->s, "true", 4)) ||
			    (v->n == 5 && !memcmp(v->s, "false", 5))) {
				p->strip = v->n == 4;
				return 0;
			}
			return perr(p, v->off, FTL_PARSE,
			            "Illegal boolean value: %.*s (expecting "
			            "true or false)",
			            (int)ftxt_clip(v->s, v->n, 40), v->s);
		}
		if (v->op != E_BOOL)
			return perr(p, v->off, FTL_PARSE,
			            "Expecting boolean (true/false) parameter "
			            "for \"%.*s\"",
			            (int)n, name);
		if (k == 1)
			p->strip = v->sub;
		else if (k == 2)
			p->strip_text = v->sub;
		else {
			p->hdr_autoesc = v->sub;
			if (v->sub)
				need_markup(p, "auto_esc", at);
		}
		return 0;
	case 7: { /* strict_syntax: false allows <if x> for <#if x> */
		int on;
		if (v->op == E_STR &&
		    ((v->n == 4 && !memcmp(v->s, "true", 4)) ||
		     (v->n == 5 && !memcmp(v->s, "false", 5))))
			on = v->n == 4;
		else if (v->op == E_BOOL)
			on = v->sub;
		else
			return perr(p, v->off, FTL_PARSE,
			            "Expecting boolean (true/false) parameter");
		/* the header comes first, so the whole rest of the
		 * template is lexed with it */
		p->nonstrict = !on;
		return 0;
	}
	case 3:
	case 4:
		if (v->op != E_HASH)
			return perr(p, v->off, FTL_PARSE,
			            k == 3 ? "Expecting a hash of prefixes to "
			                     "namespace URI's."
			                   : "Expecting a hash of attribute "
			                     "names to values.");
		return 0;
	}
	return perr(p, at, FTL_PARSE,
	            "Unknown FTL header parameter: %.*s (known: encoding, "
	            "strip_whitespace, strip_text, ns_prefixes, attributes, "
	            "output_format, auto_esc, strict_syntax)",
	            (int)ftxt_clip(name, n, 40), name);
}

/* <#foreach name in seq>, <#flush> (nothing to do: the output is one
 * string) and <#stop [message]> (ends the render with an error): P->pos
 * at the directive's name, WL long. */
static int parse_legacy_tag(parser *p, size_t off, size_t wl)
{
	const char *w = p->src + p->pos;
	int selfclose = 0;
	fnode *n;
	item *it;

	p->pos += wl;
	if (add_item(p, IT_OPEN, off))
		return -1;
	it = &p->items[p->nitems - 1];
	p->in_tag = 1;
	p->pdepth = p->bdepth = 0;
	if (*w == 'f' && wl == 7) { /* foreach */
		size_t nl;
		it->dir = D_LIST;
		n = mknode(p, N_LIST, off);
		if (!n)
			return -1;
		n->scope = LIST_FOREACH;
		skip_ws(p);
		nl = word_len(p);
		if (!nl)
			return perr(p, p->pos, FTL_PARSE,
			            "expected a loop variable name after "
			            "#foreach");
		n->v1 = p->src + p->pos;
		n->n1 = nl;
		p->pos += nl;
		skip_ws(p);
		if (!at_word(p, "in"))
			return perr(p, p->pos, FTL_PARSE,
			            "expected \"in\" after #foreach %.*s",
			            (int)nl, n->v1);
		p->pos += 2;
		if (!(n->e = parse_expr(p)))
			return -1;
	} else if (*w == 'f') { /* flush */
		it->dir = D_PLAIN;
		n = mknode(p, N_TEXT, off);
		if (!n)
			return -1;
		n->text = "";
	} else { /* stop */
		it->dir = D_PLAIN;
		n = mknode(p, N_STOP, off);
		if (!n)
			return -1;
		skip_ws(p);
		if (!at_tag_end(p) && !(n->e = parse_expr(p)))
			return -1;
	}
	if (tag_end(p, &selfclose))
		return -1;
	p->in_tag = 0;
	it = &p->items[p->nitems - 1];
	it->node = n;
	it->selfclose = selfclose;
	return 0;
}

/* ---- #escape / #noescape (brief ftl-escape) --------------------------------
 * FreeMarker rewrites every ${...} and #{...} inside #escape x as E when it
 * parses: the interpolation becomes E with x replaced by its expression
 * (string literals' ${...} and #{...} are left alone). An inner #escape's
 * expression is first wrapped by the outer one, so the escapes compose
 * innermost first; #noescape suspends the innermost until its end tag. Nothing
 * of it is left at render time: the rewritten expressions are evaluated (and
 * charged to the work budget) like any other. */

/* A copy of E with every variable VAR replaced by WITH (shared, not
 * copied: the nodes are immutable once built). */
static fexpr *esc_subst(parser *p, const fexpr *e, const char *var, size_t vn,
                        fexpr *with)
{
	fexpr *r;
	if (!e)
		return NULL;
	if (e->op == E_VAR && e->n == vn && memcmp(e->s, var, vn) == 0)
		return with;
	r = palloc(p, sizeof(*r));
	if (!r)
		return NULL;
	*r = *e;
	if ((e->a && !(r->a = esc_subst(p, e->a, var, vn, with))) ||
	    (e->b && !(r->b = esc_subst(p, e->b, var, vn, with))))
		return NULL;
	if (e->nargs) {
		r->args = palloc(p, (size_t)e->nargs * sizeof(*r->args));
		if (!r->args)
			return NULL;
		for (int i = 0; i < e->nargs; i++)
			if (!(r->args[i] =
			              esc_subst(p, e->args[i], var, vn, with)))
				return NULL;
	}
	return setdepth(p, r);
}

/* ${E} inside #escape: E wrapped by the innermost active escape. */
static fexpr *esc_wrap(parser *p, fexpr *e)
{
	const struct fescape *x;
	if (!e || p->nesc == 0)
		return e;
	x = &p->escs[p->nesc - 1];
	return esc_subst(p, x->eff, x->var, x->vn, e);
}

/* <#escape name as expression> */
static int parse_escape(parser *p, size_t off, fnode **out)
{
	size_t wl;
	struct fescape x;
	fexpr *e;
	fnode *n = mknode(p, N_BLOCK, off);
	if (!n)
		return -1;
	skip_ws(p);
	wl = word_len(p);
	if (!wl)
		return perr(p, p->pos, FTL_PARSE,
		            "#escape needs a variable name: <#escape x as "
		            "x?html>");
	x.var = p->src + p->pos;
	x.vn = wl;
	p->pos += wl;
	skip_ws(p);
	if (!at_word(p, "as"))
		return perr(p, p->pos, FTL_PARSE,
		            "expected \"as\" after the variable name of "
		            "#escape: <#escape x as x?html>");
	p->pos += 2;
	/* before the expression's own ?html: FreeMarker names #escape */
	legacy_record(p, "#escape", off);
	if (!(e = parse_expr(p)))
		return -1;
	x.eff = esc_wrap(p, e);
	if (!x.eff)
		return -1;
	if (p->nesc >= FTL_MAX_DEPTH)
		return perr(p, off, FTL_LIMIT,
		            "directives nested too deeply (limit %d)",
		            FTL_MAX_DEPTH);
	p->escs[p->nesc++] = x;
	*out = n;
	return 0;
}

/* #compress, #attempt, #recover and the trims take no parameters; only
 * the trims may be written <#t/> (FreeMarker: "the tag is malformed").
 * #compress and #attempt make a node (the block), the others none. */
static int simple_dir(parser *p, int d, size_t off, fnode **n)
{
	skip_ws(p);
	if (!at(p, p->square ? "]" : ">") && !(p->any_close && at(p, "]")) &&
	    (d < D_T || !(at(p, p->square ? "/]" : "/>") ||
	                  (p->any_close && at(p, "/]")))))
		return perr(p, off, FTL_PARSE,
		            "#%s is an existing directive, but the tag is "
		            "malformed: write %s#%s%s with nothing else in "
		            "it%s",
		            dir_names[d], p->square ? "[" : "<", dir_names[d],
		            p->square ? "]" : ">",
		            d < D_T ? "" : " (or with a / before the end)");
	if (d == D_T || d == D_LT || d == D_RT || d == D_NT)
		p->ntrims++;
	if (d == D_COMPRESS || d == D_ATTEMPT)
		*n = mknode(p, d == D_COMPRESS ? N_COMPRESS : N_ATTEMPT, off);
	return 0;
}

static int parse_open_tag(parser *p, size_t off)
{
	size_t wl, name_at;
	int d, selfclose = 0;
	item *it;
	fnode *n = NULL;
	name_at = p->pos;
	wl = word_len(p);
	d = dir_lookup(p->src + p->pos, wl);
	if (d == D_NONE &&
	    (is_word(p, p->pos, wl, "foreach") ||
	     is_word(p, p->pos, wl, "flush") || is_word(p, p->pos, wl, "stop")))
		return parse_legacy_tag(p, off, wl);
	if (d == D_NONE) {
		for (int i = 0; unsupported_dirs[i]; i++)
			if (strlen(unsupported_dirs[i]) == wl &&
			    memcmp(unsupported_dirs[i], p->src + p->pos, wl) ==
			            0)
				return perr(p, off, FTL_PARSE,
				            "the directive #%.*s is not "
				            "supported by this engine (see "
				            "docs/templates.md)",
				            (int)wl, p->src + p->pos);
		return perr(p, off, FTL_PARSE, "unknown directive: #%.*s",
		            (int)(wl ? wl : 1), p->src + p->pos);
	}
	p->pos += wl;
	if (add_item(p, IT_OPEN, off))
		return -1;
	it = &p->items[p->nitems - 1];
	it->dir = d;
	p->in_tag = 1;
	p->pdepth = p->bdepth = 0;
	switch (d) {
	case D_IF:
	case D_ELSEIF:
	case D_SWITCH:
	case D_CASE:
		n = mknode(p,
		           d == D_CASE     ? N_CASE
		           : d == D_SWITCH ? N_SWITCH
		                           : N_IF,
		           off);
		if (!n || !(n->e = parse_expr(p)))
			return -1;
		break;
	case D_LIST:
		n = mknode(p, N_LIST, off);
		if (!n || !(n->e = parse_expr(p)))
			return -1;
		skip_ws(p);
		if (at_word(p, "as")) {
			p->pos += 2;
			if (loop_vars(p, n))
				return -1;
		} else {
			n->has_items = 1;
		}
		break;
	case D_ITEMS:
		n = mknode(p, N_ITEMS, off);
		if (!n)
			return -1;
		skip_ws(p);
		if (!at_word(p, "as"))
			return perr(p, p->pos, FTL_PARSE,
			            "expected \"as\" in #items");
		p->pos += 2;
		if (loop_vars(p, n))
			return -1;
		break;
	case D_SEP: n = mknode(p, N_SEP, off); break;
	case D_BREAK: n = mknode(p, N_BREAK, off); break;
	case D_ELSE:
	case D_DEFAULT:
		n = mknode(p, d == D_DEFAULT ? N_CASE : N_IF, off);
		break;
	case D_ASSIGN:
	case D_LOCAL:
	case D_GLOBAL:
		p->in_tag = 1;
		if (parse_assign(p, it, off))
			return -1;
		n = it->node;
		for (fnode *x = n; x; x = x->next)
			x->scope = d == D_LOCAL    ? S_LOCAL
			           : d == D_GLOBAL ? S_GLOBAL
			                           : S_NAMESPACE;
		break;
	case D_MACRO:
	case D_FUNCTION:
		if (parse_macro_def(p, d, off, &n))
			return -1;
		break;
	case D_RETURN:
		n = mknode(p, N_RETURN, off);
		if (!n)
			return -1;
		skip_ws(p);
		if (!at_tag_end(p) && !(n->e = parse_expr(p)))
			return -1;
		break;
	case D_NESTED: {
		fcall *fc = palloc(p, sizeof(*fc));
		n = mknode(p, N_NESTED, off);
		if (!n || !fc || parse_args(p, fc, 0))
			return -1;
		n->aux = fc;
		break;
	}
	case D_INCLUDE:
	case D_IMPORT:
		/* parsed for its syntax; running it is an error (no
		 * template loader) */
		n = mknode(p, N_INCLUDE, off);
		if (!n || !(n->e = parse_expr(p)))
			return -1;
		n->op = d == D_IMPORT;
		for (;;) {
			size_t w;
			skip_ws(p);
			if (at_tag_end(p))
				break;
			w = word_len(p);
			if (!w)
				return perr(p, p->pos, FTL_PARSE,
				            "expected a parameter name in #%s",
				            dir_names[d]);
			p->pos += w;
			skip_ws(p);
			if (d == D_IMPORT) {
				w = word_len(p);
				p->pos += w;
				continue;
			}
			if (expect(p, "=", "\"=\" after the parameter name") ||
			    !parse_expr(p))
				return -1;
		}
		break;
	case D_AUTOESC:
	case D_NOAUTOESC:
		n = mknode(p, N_AUTOESC, off);
		if (!n)
			return -1;
		n->op = d == D_AUTOESC;
		if (d == D_AUTOESC)
			need_markup(p, "#autoesc", off);
		break;
	case D_ESCAPE:
		if (parse_escape(p, off, &n))
			return -1;
		break;
	case D_OUTPUTFORMAT: {
		fexpr *v;
		int f;
		n = mknode(p, N_BLOCK, off);
		if (!n)
			return -1;
		skip_ws(p);
		if (at_tag_end(p))
			return perr(p, off, FTL_PARSE,
			            "#outputformat is an existing directive, "
			            "but the tag is malformed: it needs the "
			            "name of a format, as <#outputformat "
			            "\"HTML\">");
		if (!(v = parse_expr(p)))
			return -1;
		if (!(v->op == E_STR || (v->op == E_ADD && v->a->op == E_STR &&
		                         v->b->op == E_STR)))
			return perr(p, v->off, FTL_PARSE,
			            "Parameter expression must be parse-time "
			            "evaluable (constant): give the format's "
			            "name as a string literal, as "
			            "<#outputformat \"HTML\">");
		if (v->op == E_ADD) {
			/* "HT" + "ML": FreeMarker evaluates constants */
			char *j = palloc(p, v->a->n + v->b->n + 1);
			if (!j)
				return -1;
			memcpy(j, v->a->s, v->a->n);
			memcpy(j + v->a->n, v->b->s, v->b->n);
			v->s = j;
			v->n = v->a->n + v->b->n;
		}
		f = ftl_outfmt(v->s, v->n);
		if (f < 0)
			return perr(p, v->off, FTL_PARSE,
			            "Unregistered output format name, "
			            "\"%.*s\". The output formats registered "
			            "are: \"CSS\", \"HTML\", \"JSON\", "
			            "\"JavaScript\", \"RTF\", \"XHTML\", "
			            "\"XML\", \"plainText\", \"undefined\"",
			            (int)ftxt_clip(v->s, v->n, 64), v->s);
		n->op = (uint8_t)f;
		break;
	}
	case D_NOESCAPE:
		if (p->nesc == 0)
			return perr(p, off, FTL_PARSE,
			            "#noescape with no matching #escape "
			            "encountered.");
		n = mknode(p, N_BLOCK, off);
		if (!n)
			return -1;
		p->suspended[p->nsusp++] = p->escs[--p->nesc];
		break;
	case D_COMPRESS:
	case D_ATTEMPT:
	case D_RECOVER:
	case D_T:
	case D_LT:
	case D_RT:
	case D_NT:
		if (simple_dir(p, d, off, &n))
			return -1;
		break;
	case D_SETTING: {
		size_t sw;
		n = mknode(p, N_SETTING, off);
		if (!n)
			return -1;
		skip_ws(p);
		sw = word_len(p);
		if (!sw)
			return perr(p, p->pos, FTL_PARSE,
			            "expected a setting name in #setting");
		n->v1 = p->src + p->pos;
		n->n1 = sw;
		{
			static const char *const known[] = {
			        "locale",
			        "number_format",
			        "boolean_format",
			        "date_format",
			        "time_format",
			        "datetime_format",
			        "time_zone",
			        "sql_date_and_time_time_zone",
			        "url_escaping_charset",
			        "output_encoding",
			        "classic_compatible",
			        "c_format",
			        NULL};
			int ok = 0;
			if ((sw == 13 && !memcmp(n->v1, "output_format", 13)) ||
			    (sw == 20 &&
			     !memcmp(n->v1, "auto_escaping_policy", 20)))
				return perr(
				        p, p->pos, FTL_PARSE,
				        "The setting name is recognized, but "
				        "changing this setting from inside a "
				        "template isn't supported (use "
				        "<#ftl output_format=...> or "
				        "#autoesc/#noautoesc)");
			for (int k = 0; known[k]; k++)
				if (strlen(known[k]) == sw &&
				    memcmp(known[k], n->v1, sw) == 0)
					ok = 1;
			if (!ok)
				return perr(
				        p, p->pos, FTL_PARSE,
				        "unknown setting name \"%.*s\" (this "
				        "engine supports locale, "
				        "number_format and boolean_format)",
				        (int)sw, n->v1);
		}
		p->pos += sw;
		if (expect(p, "=", "\"=\" in #setting"))
			return -1;
		if (!(n->e = parse_expr(p)))
			return -1;
		break;
	}
	case D_FTL:
		for (size_t k = 0; k + 1 < p->nitems; k++)
			if (p->items[k].type != IT_TEXT ||
			    !is_blank(p->items[k].p, p->items[k].n))
				return perr(p, off, FTL_PARSE,
				            "the #ftl header must be the first "
				            "thing in the template");
		/* white space before the header is dropped */
		p->items[0] = p->items[p->nitems - 1];
		p->nitems = 1;
		it = &p->items[0];
		for (;;) {
			size_t pw, pat;
			fexpr *v;
			skip_ws(p);
			if (at_tag_end(p))
				break;
			pat = p->pos;
			pw = word_len(p);
			if (!pw)
				return perr(p, p->pos, FTL_PARSE,
				            "expected a parameter name in "
				            "#ftl");
			p->pos += pw;
			if (expect(p, "=", "\"=\" in #ftl"))
				return -1;
			if (!(v = parse_expr(p)))
				return -1;
			if (ftl_param(p, p->src + pat, pw, pat, v))
				return -1;
		}
		break;
	}
	if (p->failed || (!n && d != D_FTL && d != D_RECOVER && d < D_T))
		return -1;
	(void)name_at;
	if (tag_end(p, &selfclose))
		return -1;
	p->in_tag = 0;
	it = &p->items[p->nitems - 1];
	it->node = n;
	it->selfclose = selfclose;
	if (d == D_OUTPUTFORMAT && !selfclose) {
		if (p->fmt_depth < (int)sizeof(p->fmt_stack))
			p->fmt_stack[p->fmt_depth] = (unsigned char)(n->op + 1);
		p->fmt_depth++;
	}
	if (selfclose &&
	    (d == D_ESCAPE || d == D_NOESCAPE || d == D_OUTPUTFORMAT))
		return perr(p, off, FTL_PARSE,
		            "#%s is an existing directive, but the tag is "
		            "malformed: it needs an end tag </#%s>",
		            dir_names[d], dir_names[d]);
	if ((d == D_AUTOESC || d == D_NOAUTOESC) && !selfclose) {
		if (p->esc_depth < (int)sizeof(p->esc_stack))
			p->esc_stack[p->esc_depth] = d == D_AUTOESC ? 1 : 2;
		p->esc_depth++;
	}
	return 0;
}

static int parse_close_tag(parser *p, size_t off)
{
	size_t wl = word_len(p);
	int d = dir_lookup(p->src + p->pos, wl);
	int legacy = d == D_NONE && is_word(p, p->pos, wl, "foreach");
	item *it;
	if (legacy)
		d = D_LIST;
	if (d == D_NONE)
		return perr(p, off, FTL_PARSE, "unknown end tag: </#%.*s>",
		            (int)(wl ? wl : 1), p->src + p->pos);
	p->pos += wl;
	skip_blanks(p);
	if (!at(p, p->square ? "]" : ">") && !(p->any_close && at(p, "]")))
		return perr(p, p->pos, FTL_PARSE,
		            "expected \"%s\" to end the tag </#%s",
		            p->square ? "]" : ">",
		            legacy ? "foreach" : dir_names[d]);
	p->pos++;
	if ((d == D_AUTOESC || d == D_NOAUTOESC) && p->esc_depth > 0)
		p->esc_depth--;
	if (d == D_OUTPUTFORMAT && p->fmt_depth > 0)
		p->fmt_depth--;
	/* a close tag in the wrong place is build()'s error */
	if (d == D_ESCAPE && p->nesc > 0)
		p->nesc--;
	if (d == D_NOESCAPE && p->nsusp > 0)
		p->escs[p->nesc++] = p->suspended[--p->nsusp];
	if (add_item(p, IT_CLOSE, off))
		return -1;
	it = &p->items[p->nitems - 1];
	it->dir = d;
	it->legacy = legacy;
	return 0;
}

static int is_blank_c(char c);

/* Where the callee of <@...> ends: FreeMarker lexes it with no blank
 * outside parentheses (its NO_SPACE_EXPRESSION state), so the first blank
 * at depth 0 ends it (<@m -1/> passes -1; <@.vars["m" + "m"]/> is a parse
 * error there as here). String literals are skipped whole. */
static size_t callee_end(const parser *p)
{
	size_t i = p->pos;
	int depth = 0;
	while (i < p->len) {
		char c = p->src[i];
		if (c == '"' || c == '\'') {
			for (i++; i < p->len && p->src[i] != c; i++)
				if (p->src[i] == '\\')
					i++;
			i++;
			continue;
		}
		if (c == '(')
			depth++;
		else if (c == ')' && depth > 0)
			depth--;
		else if (!depth && is_blank_c(c))
			break;
		i++;
	}
	return i < p->len ? i : p->len;
}

/* A name or NAME.NAME...: what an end tag may repeat. */
static int is_name_path(const fexpr *e)
{
	while (e->op == E_DOT)
		e = e->a;
	return e->op == E_VAR && e->s[0] != '.';
}

/* The macro a call names: any expression, as FreeMarker calls whatever it
 * gives (<@m/>, <@ns.m/>, <@.vars.m/>, <@h["m"]/>); only a name or a
 * dotted name can be repeated in the end tag (N->v2/n2; else n2 stays 0
 * and only </@> ends it). A legacy #call takes a name only. P->pos at the
 * callee. */
static int parse_callee(parser *p, fcall *fc, fnode *n, int legacy)
{
	size_t start = p->pos, w = word_len(p), saved_len = p->len;
	if (!w && (legacy || at_tag_end(p) || p->pos >= p->len ||
	           is_blank_c(p->src[p->pos])))
		return perr(p, p->pos, FTL_PARSE,
		            "expected a macro name after \"%s\"",
		            legacy      ? "#call"
		            : p->square ? "[@"
		                        : "<@");
	if (legacy) {
		if (!(fc->callee = mk(p, E_VAR, start)) ||
		    !(fc->callee->s = pstrdup(p, p->src + start, w)))
			return -1;
		fc->callee->n = w;
		p->pos += w;
		fc->callee->end = (uint32_t)p->pos;
		while (at(p, ".") && !at(p, "..")) {
			fexpr *d = mk(p, E_DOT, start);
			p->pos++;
			w = word_len(p);
			if (!w)
				return perr(p, p->pos, FTL_PARSE,
				            "expected a name after \".\"");
			if (!d || !(d->s = pstrdup(p, p->src + p->pos, w)))
				return -1;
			d->n = w;
			d->a = fc->callee;
			p->pos += w;
			d->end = (uint32_t)p->pos;
			if (!(fc->callee = setdepth(p, d)))
				return -1;
		}
		n->v2 = p->src + start;
		n->n2 = p->pos - start;
		return 0;
	}
	p->len = callee_end(p);
	fc->callee = parse_expr(p);
	p->len = saved_len;
	if (!fc->callee)
		return -1;
	if (is_name_path(fc->callee)) {
		n->v2 = p->src + start;
		n->n2 = p->pos - start;
	}
	return 0;
}

/* <@callee args; loop vars> or <@callee .../>: a macro call; LEGACY: the
 * same as <#call name args> or <#call name(args)> (or <call ...> in the
 * legacy syntax), which has no body. */
static int parse_call(parser *p, size_t off, int legacy)
{
	fcall *fc = palloc(p, sizeof(*fc));
	fnode *n = mknode(p, N_CALL, off);
	int selfclose;
	item *it;
	if (!fc || !n)
		return -1;
	/* the legacy call: P->pos at the name "call" */
	p->pos += legacy ? 4 : 2;
	if (add_item(p, IT_OPEN, off))
		return -1;
	p->in_tag = 1;
	p->pdepth = p->bdepth = 0;
	if (legacy)
		skip_ws(p);
	if (parse_callee(p, fc, n, legacy))
		return -1;
	n->aux = fc;
	if (legacy && at(p, "(")) { /* <#call m(a, b)> */
		p->pos++;
		for (;;) {
			fexpr *e;
			skip_ws(p);
			if (at(p, ")"))
				break;
			if (fc->nargs && expect(p, ",", "\",\" or \")\""))
				return -1;
			if (!(e = parse_expr(p)) || add_arg(p, fc, NULL, 0, e))
				return -1;
		}
		p->pos++;
	} else if (parse_args(p, fc, 1)) {
		return -1;
	}
	if (tag_end(p, &selfclose))
		return -1;
	if (legacy)
		selfclose = 1;
	p->in_tag = 0;
	it = &p->items[p->nitems - 1];
	it->dir = D_CALL;
	it->node = n;
	it->selfclose = selfclose;
	return 0;
}

/* ---- the legacy syntax: <#ftl strict_syntax=false> (brief ftl-nonstrict)
 * FreeMarker 2.3.31's lexer (FTL.jj) knows each directive's tag by its
 * exact shape: "<" or "<#", the name, then what must follow it: a blank
 * before the parameters (<if x>), blanks and ">" for a tag without
 * parameters (<else>, <else/> where "/" is allowed), and for an end tag
 * "</" or "</#", the name, blanks, ">". Without strict syntax the "#" may
 * be left out, so <if x> is #if while <p>, <if> (no blank after the name),
 * </p> and camel-case names (<elseIf x>: FreeMarker allows only the legacy
 * naming convention there) stay text. Square brackets always need the "#"
 * ([if x] is text), so the setting changes nothing in that syntax. User
 * macros are called <@m> as before. */
enum {
	LT_BLANK = 1, /* <name, a blank, parameters */
	LT_C1 = 2,    /* <name, blanks, ">" */
	LT_C2 = 4,    /* <name, blanks, "/" or not, ">" */
	LT_END = 8,   /* </name, blanks, ">" */
	LT_ITEMS = 16 /* <items, blanks, "as", a blank */
};
static const struct legacy_tag {
	const char *name;
	unsigned char shapes;
} legacy_tags[] = {
        {"assign", LT_BLANK | LT_END},
        {"attempt", LT_C1 | LT_END},
        {"autoesc", LT_C1 | LT_END},
        {"break", LT_C2},
        {"call", LT_BLANK},
        {"case", LT_BLANK},
        {"comment", LT_C1},
        {"compress", LT_C1 | LT_END},
        {"continue", LT_C2},
        {"default", LT_C1},
        {"else", LT_C2},
        {"elseif", LT_BLANK},
        {"escape", LT_BLANK | LT_END},
        {"fallback", LT_C2},
        {"flush", LT_C2},
        {"foreach", LT_BLANK | LT_END},
        {"function", LT_BLANK | LT_END},
        {"global", LT_BLANK | LT_END},
        {"if", LT_BLANK | LT_END},
        {"import", LT_BLANK},
        {"include", LT_BLANK},
        {"items", LT_ITEMS | LT_END},
        {"list", LT_BLANK | LT_END},
        {"local", LT_BLANK | LT_END},
        {"lt", LT_C2},
        {"macro", LT_BLANK | LT_END},
        {"nested", LT_BLANK | LT_C2},
        {"noautoesc", LT_C1 | LT_END},
        {"noescape", LT_C1 | LT_END},
        {"noparse", LT_C1},
        {"nt", LT_C2},
        {"outputformat", LT_BLANK | LT_END},
        {"recover", LT_C1 | LT_END},
        {"recurse", LT_BLANK | LT_C2},
        {"return", LT_BLANK | LT_C2},
        {"rt", LT_C2},
        {"sep", LT_C1 | LT_END},
        {"setting", LT_BLANK},
        {"stop", LT_BLANK | LT_C2},
        {"switch", LT_BLANK | LT_END},
        {"t", LT_C2},
        {"transform", LT_BLANK | LT_END},
        {"visit", LT_BLANK},
        {NULL, 0},
};

/* Does "<name" (S at the "<"; CLOSE: "</name") with the shape of one of
 * FreeMarker's directive tags start at S? 1: one with parameters (<if x),
 * 2: one without, whose end (">" or "]") is part of the shape (<else>,
 * </if>), 0: no. Looks at most at the name and
 * the blanks after it (linear overall: no "<" is among them). With SEP_ONLY
 * only <sep> counts (FreeMarker's lexer takes <sep> for #sep even in strict
 * syntax: its token is the one without the syntax check). */
static int legacy_tag_at(const char *s, const char *end, int sep_only)
{
	const char *q = s + 1, *nm;
	size_t n;
	int close = 0;
	if (q < end && *q == '/') {
		close = 1;
		q++;
	}
	nm = q;
	while (q < end && *q >= 'a' && *q <= 'z')
		q++;
	n = (size_t)(q - nm);
	if (!n || (q < end && ((*q >= 'A' && *q <= 'Z') || *q == '_' ||
	                       (*q >= '0' && *q <= '9'))))
		return 0;
	for (const struct legacy_tag *t = legacy_tags; t->name; t++) {
		unsigned sh = t->shapes;
		const char *r = q;
		if (strlen(t->name) != n || memcmp(t->name, nm, n) != 0)
			continue;
		if (sep_only && (close || n != 3 || memcmp(nm, "sep", 3) != 0))
			return 0;
		if (close && !(sh & LT_END))
			return 0;
		if (!close && (sh & LT_BLANK) && r < end && is_blank_c(*r))
			return 1;
		while (r < end && is_blank_c(*r))
			r++;
		if (close || (sh & (LT_C1 | LT_C2)))
			return r < end && (*r == '>' || *r == ']' ||
			                   ((sh & LT_C2) && !close &&
			                    *r == '/' && r + 1 < end &&
			                    (r[1] == '>' || r[1] == ']')))
			               ? 2
			               : 0;
		if (sh & LT_ITEMS)
			return r > q && r + 2 < end && r[0] == 'a' &&
			       r[1] == 's' && is_blank_c(r[2]);
		return 0;
	}
	return 0;
}

/* Where does the next tag, interpolation or comment start? */
static const char *next_special(parser *p, const char *s, const char *end)
{
	const char open = p->square ? '[' : '<';
	for (; s < end; s++) {
		if ((*s == '$' || *s == '#') && s + 1 < end && s[1] == '{')
			return s;
		if (*s == open && s + 1 < end &&
		    (s[1] == '#' || s[1] == '@' ||
		     (s[1] == '/' && s + 2 < end &&
		      (s[2] == '#' || s[2] == '@'))))
			return s;
		if (*s == '<' && s + 1 < end &&
		    ((p->nonstrict && !p->square) || s[1] == 's') &&
		    legacy_tag_at(s, end, !p->nonstrict || p->square))
			return s;
		/* [#sep] in the angle syntax, <#sep> in the square one */
		if (*s != open && (*s == '<' || *s == '[') && s + 4 < end &&
		    s[1] == '#' && s[2] == 's' && legacy_tag_at(s + 1, end, 1))
			return s;
	}
	return NULL;
}

/* FreeMarker 2.3.31 (tag_syntax angle_bracket) switches to square
 * brackets only for a template that starts with [#ftl]. */
static void detect_syntax(parser *p)
{
	size_t i = 0;
	while (i < p->len && (p->src[i] == ' ' || p->src[i] == '\t' ||
	                      p->src[i] == '\n' || p->src[i] == '\r'))
		i++;
	if (i + 5 <= p->len && memcmp(p->src + i, "[#ftl", 5) == 0 &&
	    (i + 5 == p->len || !is_idchar((unsigned char)p->src[i + 5])))
		p->square = 1;
}

/* #{expr; m1M3}: the legacy numerical interpolation. */
static int numeric_interp(parser *p, fnode *n)
{
	int minf = -1, maxf = -1;
	n->has_items = 1;
	if (n->e->op == E_STR || n->e->op == E_CONCATS || n->e->op == E_BOOL)
		return perr(p, n->e->off, FTL_PARSE,
		            "#{...} needs a number expression");
	if (at(p, ";")) {
		p->pos++;
		for (;;) {
			char c;
			int v = 0, digits = 0;
			skip_ws(p);
			if (at(p, "}"))
				break;
			c = p->src[p->pos];
			if (c != 'm' && c != 'M')
				return perr(p, p->pos, FTL_PARSE,
				            "invalid #{...} format: expected "
				            "mN or MN");
			p->pos++;
			while (p->pos < p->len && p->src[p->pos] >= '0' &&
			       p->src[p->pos] <= '9' && digits < 3) {
				v = v * 10 + (p->src[p->pos++] - '0');
				digits++;
			}
			if (!digits)
				return perr(p, p->pos, FTL_PARSE,
				            "invalid #{...} format: a number "
				            "must follow %c",
				            c);
			if (c == 'm')
				minf = v;
			else
				maxf = v;
		}
		if (minf >= 0 && maxf < 0)
			maxf = minf;
		if (minf < 0)
			minf = 0;
		if (maxf >= 0 && minf > maxf)
			return perr(p, p->pos, FTL_PARSE,
			            "invalid #{...} format: min is greater "
			            "than max");
	}
	n->n1 = (size_t)(minf < 0 ? 0 : minf);
	n->n2 = (size_t)(maxf < 0 ? 16 : maxf);
	return 0;
}

static int is_blank_c(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* <#noparse> (also spelled noParse) and the legacy <#comment> (TYPE
 * IT_COMMENT: its body is dropped unparsed, as FreeMarker's Comment does):
 * the lexer is at the name. The text up
 * to the first end tag becomes one text item, as FreeMarker's NO_PARSE
 * lexer state makes it: the end tag is "<" or "[", "/", an optional "#",
 * the name as the start tag spelled it, blanks, ">" or "]" (either bracket
 * in either syntax, as in 2.3.31). The item's place is the start tag's
 * (white-space stripping sees the text where the tag is) and it ends after
 * the end tag. One pass: each candidate "<" or "[" is looked at once. */
static int lex_noparse(parser *p, size_t off, int type)
{
	size_t wl = word_len(p), cs, k;
	const char *name = p->src + p->pos;
	p->pos += wl;
	while (p->pos < p->len && is_blank_c(p->src[p->pos]))
		p->pos++;
	if (!at(p, p->square ? "]" : ">") && !(p->any_close && at(p, "]")))
		return perr(
		        p, off, FTL_PARSE,
		        "#noparse is an existing directive, but the tag is "
		        "malformed: write %s#%.*s%s with nothing else in it",
		        p->square ? "[" : "<", (int)wl, name,
		        p->square ? "]" : ">");
	cs = ++p->pos;
	for (k = cs; k + 1 < p->len; k++) {
		size_t j = k + 2;
		if ((p->src[k] != '<' && p->src[k] != '[') ||
		    p->src[k + 1] != '/')
			continue;
		if (j < p->len && p->src[j] == '#')
			j++;
		if (j + wl > p->len || memcmp(p->src + j, name, wl) != 0)
			continue;
		j += wl;
		while (j < p->len && is_blank_c(p->src[j]))
			j++;
		if (j < p->len && (p->src[j] == '>' || p->src[j] == ']'))
			break;
	}
	if (k + 1 >= p->len)
		return perr(
		        p, off, FTL_PARSE,
		        "unclosed #%.*s: expected %s/#%.*s%s before the end "
		        "of the template",
		        (int)wl, name, p->square ? "[" : "<", (int)wl, name,
		        p->square ? "]" : ">");
	if (add_item(p, type, off))
		return -1;
	if (type == IT_TEXT) {
		p->items[p->nitems - 1].p = p->src + cs;
		p->items[p->nitems - 1].n = k - cs;
	}
	/* past the end tag */
	k += 2;
	while (p->src[k] != '>' && p->src[k] != ']')
		k++;
	p->pos = k + 1;
	p->items[p->nitems - 1].end = (uint32_t)p->pos;
	return 0;
}

static int at_noparse(parser *p)
{
	size_t wl = word_len(p);
	return wl == 7 && (memcmp(p->src + p->pos, "noparse", 7) == 0 ||
	                   memcmp(p->src + p->pos, "noParse", 7) == 0);
}

/* FreeMarker's <sep> token: "<sep", "<#sep" or "[#sep", blanks, ">" or
 * "]", a #sep in either syntax and strictness (its lexer rule is the one
 * without the syntax check); OFF at its first character, already
 * recognized by legacy_tag_at. */
static int lex_sep(parser *p, size_t off)
{
	size_t k = off + 1;
	fnode *n;
	item *it;
	if (p->src[k] == '#')
		k++;
	k += 3;
	while (k < p->len && is_blank_c(p->src[k]))
		k++;
	p->pos = k + 1;
	if (add_item(p, IT_OPEN, off))
		return -1;
	if (!(n = mknode(p, N_SEP, off)))
		return -1;
	it = &p->items[p->nitems - 1];
	it->dir = D_SEP;
	it->node = n;
	it->end = (uint32_t)p->pos;
	return 0;
}

static int lex(parser *p)
{
	const char *end = p->src + p->len;
	const char open = p->square ? '[' : '<';
	int legacy;
	while (p->pos < p->len) {
		if (p->nitems)
			p->items[p->nitems - 1].end = (uint32_t)p->pos;
		const char *s = p->src + p->pos;
		const char *sp = next_special(p, s, end);
		if (!sp)
			sp = end;
		if (sp > s) {
			if (add_item(p, IT_TEXT, p->pos))
				return -1;
			p->items[p->nitems - 1].p = s;
			p->items[p->nitems - 1].n = (size_t)(sp - s);
			p->pos = (size_t)(sp - p->src);
			p->items[p->nitems - 1].end = (uint32_t)p->pos;
			continue;
		}
		{
			size_t off = p->pos;
			if (*s == '$' || (*s == '#' && s[1] == '{')) {
				fnode *n;
				p->pos += 2;
				if (add_item(p, IT_INTERP, off))
					return -1;
				n = mknode(p, N_INTERP, off);
				if (!n || !(n->e = parse_expr(p)))
					return -1;
				skip_ws(p);
				if (*s == '#' && numeric_interp(p, n))
					return -1;
				/* #{...} is not escaped (FreeMarker) */
				if (*s == '$' && !(n->e = esc_wrap(p, n->e)))
					return -1;
				if (!at(p, "}"))
					return perr(p, p->pos, FTL_PARSE,
					            "expected \"}\" to close "
					            "the ${...} opened at "
					            "this line");
				p->pos++;
				p->items[p->nitems - 1].node = n;
				continue;
			}
			/* not "<#", "</#", "<@", "</@" in the template's
			 * syntax: a tag of the legacy syntax or FreeMarker's
			 * <sep> (next_special has recognized it) */
			legacy =
			        *s != open || (s[1] != '#' && s[1] != '@' &&
			                       !(s[1] == '/' &&
			                         (s[2] == '#' || s[2] == '@')));
			if (legacy && s[1] != '/' &&
			    memcmp(s + 1 + (s[1] == '#'), "sep", 3) == 0) {
				if (lex_sep(p, off))
					return -1;
				continue;
			}
			p->any_close = legacy && legacy_tag_at(s, end, 0) == 2;
			if (!legacy && s[1] == '@') {
				if (parse_call(p, off, 0))
					return -1;
				p->items[p->nitems - 1].end = (uint32_t)p->pos;
				continue;
			}
			if (!legacy && s[1] == '/' && s[2] == '@') {
				/* </@name> or </@> */
				size_t ns;
				item *it;
				p->pos += 3;
				ns = p->pos;
				while (p->pos < p->len &&
				       (is_idchar((unsigned char)
				                          p->src[p->pos]) ||
				        p->src[p->pos] == '.'))
					p->pos++;
				if (add_item(p, IT_CLOSE, off))
					return -1;
				it = &p->items[p->nitems - 1];
				it->dir = D_CALL;
				it->p = p->src + ns;
				it->n = p->pos - ns;
				skip_blanks(p);
				if (!at(p, p->square ? "]" : ">"))
					return perr(
					        p, p->pos, FTL_PARSE,
					        "expected \"%s\" to end the "
					        "tag </@%.*s",
					        p->square ? "]" : ">",
					        (int)it->n, it->p);
				p->pos++;
				continue;
			}
			if (!legacy && s + 3 < end && s[1] == '#' &&
			    s[2] == '-' && s[3] == '-') {
				const char *e = p->square ? "--]" : "-->";
				const char *f = memmem(
				        s + 4, (size_t)(end - s - 4), e, 3);
				if (!f)
					return perr(p, off, FTL_PARSE,
					            "unclosed comment: "
					            "expected \"%s\"",
					            e);
				if (add_item(p, IT_COMMENT, off))
					return -1;
				p->pos = (size_t)(f - p->src) + 3;
				continue;
			}
			if (s[1] == '/') {
				p->pos += legacy ? 2 : 3;
				if (parse_close_tag(p, off))
					return -1;
				p->any_close = 0;
				continue;
			}
			p->pos += legacy ? 1 : 2;
			if (word_len(p) == 4 && is_word(p, p->pos, 4, "call")) {
				if (parse_call(p, off, 1))
					return -1;
				p->items[p->nitems - 1].end = (uint32_t)p->pos;
				continue;
			}
			if (!word_len(p))
				return perr(p, off, FTL_PARSE,
				            "expected a directive name after "
				            "\"%c#\"",
				            *s);
			if (at_noparse(p) ||
			    (word_len(p) == 7 &&
			     is_word(p, p->pos, 7, "comment"))) {
				if (lex_noparse(p, off,
				                p->src[p->pos] == 'c'
				                        ? IT_COMMENT
				                        : IT_TEXT))
					return -1;
				p->any_close = 0;
				continue;
			}
			if (parse_open_tag(p, off))
				return -1;
			p->any_close = 0;
			p->items[p->nitems - 1].end = (uint32_t)p->pos;
			if (p->items[p->nitems - 1].dir == D_FTL) {
				/* the header's line break always goes */
				size_t k = p->pos;
				while (k < p->len &&
				       (p->src[k] == ' ' || p->src[k] == '\t'))
					k++;
				if (k < p->len && p->src[k] == '\r')
					k++;
				if (k < p->len && p->src[k] == '\n')
					p->pos = k + 1;
			}
		}
	}
	return 0;
}

/* ---- white-space stripping ------------------------------------------------
 * FreeMarker's rule, as its TextBlock.postParseCleanup applies it: a text
 * block loses its first line when that line is blank and nothing before it
 * on the line heeds white space (an ${...} or other text does), and loses
 * its last line's blanks when nothing after them on the line heeds it;
 * the first text of the template is left alone; blank text between
 * non-outputting tags (#assign, #setting, comments) disappears. Only text
 * and ${...} are "leaves" that matter; tags are transparent.
 */

static int is_nl(char c)
{
	return c == '\n' || c == '\r';
}

/* Line numbers and body ids of every item. */
static void ws_prepare(parser *p)
{
	int line = 1, stack[FTL_MAX_DEPTH + 4], sp = 0, next_id = 1, cur = 0;
	size_t pos = 0;
	int stack_dir[FTL_MAX_DEPTH + 4];
	int mdef = 0, stack_mdef[FTL_MAX_DEPTH + 4];
	stack[0] = 0;
	stack_mdef[0] = 0;
	stack_dir[0] = D_NONE;
	for (size_t i = 0; i < p->nitems; i++) {
		item *it = &p->items[i];
		size_t endc = it->end > it->off ? it->end - 1 : it->off;
		for (; pos < it->off; pos++)
			if (p->src[pos] == '\n' ||
			    (p->src[pos] == '\r' &&
			     (pos + 1 >= p->len || p->src[pos + 1] != '\n')))
				line++;
		it->bline = line;
		it->bcol1 = it->off == 0 || is_nl(p->src[it->off - 1]);
		{
			int l = line;
			for (size_t k = it->off; k < endc; k++)
				if (p->src[k] == '\n' ||
				    (p->src[k] == '\r' &&
				     p->src[k + 1] != '\n'))
					l++;
			it->eline = l;
		}
		it->body = cur;
		it->mdef = mdef;
		if (it->type == IT_OPEN) {
			int d = it->dir;
			if (d == D_FTL) {
				it->body = -1;
			} else if (d == D_ELSE || d == D_ELSEIF ||
			           d == D_CASE || d == D_DEFAULT ||
			           d == D_RECOVER) {
				if ((d == D_ELSE || d == D_ELSEIF) &&
				    stack_dir[sp] == D_SEP && sp > 0)
					cur = stack[--sp];
				if ((d == D_CASE || d == D_DEFAULT) &&
				    stack_dir[sp] == D_SWITCH) {
					/* the first case: the switch body */
				}
				it->body = -1;
				cur = next_id++;
			} else if (!it->selfclose &&
			           (d == D_IF || d == D_LIST || d == D_ITEMS ||
			            d == D_SWITCH || d == D_SEP ||
			            d == D_MACRO || d == D_FUNCTION ||
			            d == D_CALL || d == D_COMPRESS ||
			            d == D_ATTEMPT ||
			            ((d == D_ASSIGN || d == D_LOCAL ||
			              d == D_GLOBAL) &&
			             it->node && it->node->has_items)) &&
			           sp < FTL_MAX_DEPTH + 2) {
				stack[++sp] = cur;
				stack_dir[sp] = d;
				stack_mdef[sp] = mdef;
				cur = next_id++;
				if (d == D_MACRO || d == D_FUNCTION)
					mdef = cur;
			}
		} else if (it->type == IT_CLOSE) {
			if ((it->dir == D_LIST || it->dir == D_ITEMS) &&
			    stack_dir[sp] == D_SEP && sp > 0 &&
			    it->dir != D_SEP)
				cur = stack[sp--];
			if (sp > 0) {
				mdef = stack_mdef[sp];
				cur = stack[sp--];
			}
			it->body = cur;
			it->mdef = mdef;
		}
		pos = it->off;
	}
}

static int is_leaf(const item *it)
{
	return !it->dead && (it->type == IT_TEXT || it->type == IT_INTERP);
}

/* A sibling: the nearest item of the same body in direction DIR; NULL at
 * the edge of the body. Bodies get increasing ids as they open, so an item
 * of a smaller id is outside this body: the walk stops there rather than
 * running on to the template's end (which made compiling many blocks
 * quadratic). */
static item *sibling(parser *p, size_t i, int dir)
{
	int b = p->items[i].body;
	long k = (long)i + dir;
	for (; k >= 0 && k < (long)p->nitems; k += dir) {
		item *it = &p->items[k];
		p->ws_visits++;
		if (it->body == -1) {
			if (it->type == IT_OPEN && it->dir == D_FTL)
				continue;
			return NULL; /* #else, #case...: the body ends */
		}
		if (it->body < b)
			return NULL; /* out of the body */
		if (it->type == IT_TEXT && it->dead)
			continue;
		/* #t, #lt, #rt, #nt are ignorable in FreeMarker (gone from
		 * the tree when a text looks at its siblings) */
		if (it->type == IT_OPEN && (it->dir == D_T || it->dir == D_LT ||
		                            it->dir == D_RT || it->dir == D_NT))
			continue;
		if (it->body == b)
			return it;
		/* an item of a deeper body: keep looking */
	}
	return NULL;
}

static int non_outputting(const item *it)
{
	if (!it)
		return 0;
	if (it->type == IT_COMMENT)
		return 1;
	/* as FreeMarker's TextBlock: assignments, settings, macro
	 * definitions (the whole block: its end tag too) and #import */
	if (it->type == IT_CLOSE)
		return it->dir == D_MACRO || it->dir == D_FUNCTION;
	return it->type == IT_OPEN &&
	       (((it->dir == D_ASSIGN || it->dir == D_LOCAL ||
	          it->dir == D_GLOBAL) &&
	         !(it->node && it->node->has_items)) ||
	        it->dir == D_SETTING || it->dir == D_MACRO ||
	        it->dir == D_FUNCTION || it->dir == D_IMPORT);
}

static int ignorable(parser *p, size_t i)
{
	item *it = &p->items[i];
	item *a, *b;
	int top = it->body == 0;
	if (it->n == 0)
		return 1;
	if (!is_blank(it->p, it->n))
		return 0;
	a = sibling(p, i, -1);
	b = sibling(p, i, 1);
	return ((!a && top) || non_outputting(a)) &&
	       ((!b && top) || non_outputting(b));
}

static int heeds_trailing(parser *p, size_t i)
{
	item *it = &p->items[i];
	if (it->type == IT_INTERP)
		return 1;
	if (ignorable(p, i))
		return 0;
	for (size_t k = 0; k < it->n; k++) {
		if (is_nl(it->p[k]))
			return 0;
		if ((unsigned char)it->p[k] > ' ')
			return 1;
	}
	return 1;
}

static int heeds_opening(parser *p, size_t i)
{
	item *it = &p->items[i];
	if (it->type == IT_INTERP)
		return 1;
	if (ignorable(p, i))
		return 0;
	for (size_t k = it->n; k-- > 0;) {
		if (is_nl(it->p[k]))
			return 0;
		if ((unsigned char)it->p[k] > ' ')
			return 1;
	}
	return 1;
}

static size_t trailing_to_strip(parser *p, size_t i)
{
	item *it = &p->items[i];
	long last = -1;
	for (size_t k = it->n; k-- > 0;)
		if (is_nl(it->p[k])) {
			last = (long)k;
			break;
		}
	if (last == -1 && !it->bcol1)
		return 0;
	if (!is_blank(it->p + last + 1, it->n - (size_t)(last + 1)))
		return 0;
	for (size_t k = i + 1; k < p->nitems; k++) {
		p->ws_visits++;
		/* items are in source order: past the line, stop (tags
		 * too, or a run of them makes this quadratic) */
		if (p->items[k].bline > it->eline)
			break;
		/* a macro definition's body prints elsewhere */
		if (!is_leaf(&p->items[k]) || p->items[k].mdef != it->mdef)
			continue;
		if (p->items[k].bline != it->eline)
			break;
		if (heeds_trailing(p, k))
			return 0;
	}
	return it->n - (size_t)(last + 1);
}

static size_t opening_to_strip(parser *p, size_t i)
{
	item *it = &p->items[i];
	long nl = -1;
	size_t k;
	for (k = 0; k < it->n; k++)
		if (is_nl(it->p[k])) {
			nl = (long)k;
			break;
		}
	if (nl == -1 && !it->bcol1)
		return 0;
	k = (size_t)(nl + 1);
	if (nl >= 0 && k < it->n && it->p[k - 1] == '\r' && it->p[k] == '\n')
		k++;
	if (!is_blank(it->p, k))
		return 0;
	for (size_t j = i; j-- > 0;) {
		p->ws_visits++;
		if (p->items[j].eline < it->bline)
			break; /* before the line (see trailing_to_strip) */
		if (!is_leaf(&p->items[j]) || p->items[j].mdef != it->mdef)
			continue;
		if (p->items[j].eline != it->bline)
			break;
		if (heeds_opening(p, j))
			return 0;
	}
	return k;
}

/* ---- #t, #lt, #rt, #nt ----------------------------------------------------
 * FreeMarker's TextBlock.deliberateLeftTrim and deliberateRightTrim, run on
 * each text before the white-space stripping above (and also with
 * strip_whitespace=false): a #t or #lt later on the text's last line drops
 * the blanks that start that line; a #t or #rt earlier on its first line
 * drops what ends that line after its last non-blank character, the line
 * break included (when the rest of the text is blank too, it goes as well
 * unless an ${...} or text later on the line heeds it). Any of the four
 * (#nt too) turns the ordinary stripping off on that side. The result may
 * no longer be one piece of the source: it is then copied to the arena.
 * The walks stop at the end of the line, so the pass stays linear.
 */
static int is_trim(const item *it)
{
	return it->type == IT_OPEN && it->dir >= D_T && it->dir <= D_NT;
}

/* Java's Character.isWhitespace of the character ending at S[K - 1] (or
 * starting at S[K] when FWD): its length in bytes, 0 when not white. */
static size_t ws_len(const char *s, size_t n, size_t k, int fwd)
{
	uint32_t c;
	size_t b = k, l;
	if (fwd) {
		if (k >= n)
			return 0;
		l = (size_t)ftxt_decode(s + k, n - k, &c);
	} else {
		if (k == 0)
			return 0;
		while (b > 0 && ((unsigned char)s[b - 1] & 0xc0) == 0x80)
			b--;
		if (b > 0)
			b--;
		l = k - b;
		ftxt_decode(s + b, l, &c);
	}
	return ftxt_is_space(c) ? l : 0;
}

/* Set item IT's text to A (AN bytes) followed by B (BN bytes), both in
 * IT's text (A its start, B after A's end). */
static int set_text2(parser *p, item *it, const char *a, size_t an,
                     const char *b, size_t bn)
{
	char *m;
	if (!bn || a + an == b) {
		it->p = a;
		it->n = an + bn;
		return 0;
	}
	if (!an) {
		it->p = b;
		it->n = bn;
		return 0;
	}
	if (a == it->p && (a < p->src || a >= p->src + p->len)) {
		/* already a copy of our own: B is later in it, so the text
		 * shrinks in place (a line with many #rt costs no memory) */
		memmove((char *)a + an, b, bn);
		it->n = an + bn;
		return 0;
	}
	if (!(m = palloc(p, an + bn)))
		return -1;
	memcpy(m, a, an);
	memcpy(m + an, b, bn);
	it->p = m;
	it->n = an + bn;
	return 0;
}

static int left_trim(parser *p, size_t i, int *deliberate)
{
	item *it = &p->items[i];
	/* only the trims matter here: hop from one to the next */
	for (size_t k = p->next_trim[i];
	     k < p->nitems && p->items[k].bline == it->eline;
	     k = p->next_trim[k]) {
		const item *t = &p->items[k];
		long nl = -1;
		size_t skip;
		p->ws_visits++;
		*deliberate = 1;
		if (t->dir != D_T && t->dir != D_LT)
			continue;
		for (size_t j = it->n; j-- > 0;)
			if (is_nl(it->p[j])) {
				nl = (long)j;
				break;
			}
		if (nl < 0 && !it->bcol1)
			continue;
		skip = (size_t)(nl + 1);
		if (is_blank(it->p + skip, it->n - skip)) {
			it->n = skip;
			continue;
		}
		{
			size_t q = skip, l;
			while ((l = ws_len(it->p, it->n, q, 1)) > 0)
				q += l;
			if (set_text2(p, it, it->p, skip, it->p + q, it->n - q))
				return -1;
		}
	}
	return 0;
}

static int heeds_opening(parser *p, size_t i);

static int right_trim(parser *p, size_t i, int *deliberate)
{
	item *it = &p->items[i];
	int res = 0;
	for (size_t j = p->prev_trim[i];
	     j < p->nitems && p->items[j].eline == it->bline;
	     j = p->prev_trim[j]) {
		const item *t = &p->items[j];
		size_t fl, k, last;
		p->ws_visits++;
		res = 1;
		if (t->dir != D_T && t->dir != D_RT)
			continue;
		for (fl = 0; fl < it->n && !is_nl(it->p[fl]); fl++)
			;
		if (fl == it->n) {
			*deliberate = 0; /* no line break: as FreeMarker */
			return 0;
		}
		fl++;
		if (fl < it->n && it->p[fl - 1] == '\r' && it->p[fl] == '\n')
			fl++;
		if (is_blank(it->p, fl)) {
			it->p += fl;
			it->n -= fl;
			it->bline++;
			it->bcol1 = 1;
			continue;
		}
		last = fl;
		while (last > 0 && (k = ws_len(it->p, it->n, last, 0)) > 0)
			last -= k;
		if (is_blank(it->p + fl, it->n - fl)) {
			int drop = 1;
			for (k = i + 1;
			     k < p->nitems && p->items[k].bline == it->eline;
			     k++) {
				p->ws_visits++;
				if (is_leaf(&p->items[k]) &&
				    heeds_opening(p, k))
					drop = 0;
				if (is_trim(&p->items[k]) &&
				    (p->items[k].dir == D_T ||
				     p->items[k].dir == D_LT)) {
					drop = 1;
					break;
				}
			}
			if (drop)
				fl = it->n;
		}
		if (set_text2(p, it, it->p, last, it->p + fl, it->n - fl))
			return -1;
	}
	*deliberate = res;
	return 0;
}

/* The skip lists of the trims, and FTL_MAX_LINE_TRIMS: each text's walks
 * visit only the trims of its line, and a #rt may act once per trim before
 * the text, so a line with thousands of them would make compiling
 * quadratic. */
#define FTL_MAX_LINE_TRIMS 64
static int trim_links(parser *p)
{
	size_t last = p->nitems, run = 0;
	p->prev_trim = malloc(p->nitems * sizeof(size_t));
	p->next_trim = malloc(p->nitems * sizeof(size_t));
	if (!p->prev_trim || !p->next_trim)
		return perr(p, 0, FTL_NOMEM, "out of memory");
	for (size_t k = 0; k < p->nitems; k++) {
		p->prev_trim[k] = last;
		if (!is_trim(&p->items[k]))
			continue;
		run = last < p->nitems &&
		                      p->items[last].bline == p->items[k].bline
		              ? run + 1
		              : 1;
		if (run > FTL_MAX_LINE_TRIMS)
			return perr(p, p->items[k].off, FTL_LIMIT,
			            "more than %d #t, #lt, #rt or #nt on one "
			            "line; one of each is all a line needs",
			            FTL_MAX_LINE_TRIMS);
		last = k;
	}
	last = p->nitems;
	for (size_t k = p->nitems; k-- > 0;) {
		p->next_trim[k] = last;
		if (is_trim(&p->items[k]))
			last = k;
	}
	return 0;
}

static void strip_ws(parser *p)
{
	ws_prepare(p);
	if (p->ntrims && trim_links(p))
		goto out;
	for (size_t i = 0; i < p->nitems; i++) {
		item *it = &p->items[i];
		size_t tr = 0, op = 0;
		int lt = 0, rt = 0;
		if (it->type != IT_TEXT || it->n == 0)
			continue;
		if (p->ntrims &&
		    (left_trim(p, i, &lt) || right_trim(p, i, &rt)))
			goto out;
		if (!it->n) {
			it->dead = 1;
			continue;
		}
		if (!p->strip)
			continue;
		if (it->body == 0 && !sibling(p, i, -1))
			continue; /* the template's first text */
		if (!lt)
			tr = trailing_to_strip(p, i);
		if (!rt)
			op = opening_to_strip(p, i);
		if (op + tr > it->n)
			continue;
		it->p += op;
		it->off += (uint32_t)op;
		it->n -= op + tr;
		if (op)
			it->bline++;
		if (!it->n)
			it->dead = 1;
	}
	/* blank text between non-outputting tags goes (a template that is
	 * one text block keeps it) */
	if (!p->strip || p->nitems == 1 ||
	    (p->nitems == 2 && p->items[0].type == IT_OPEN &&
	     p->items[0].dir == D_FTL))
		goto out;
	for (size_t i = 0; i < p->nitems; i++)
		if (p->items[i].type == IT_TEXT && !p->items[i].dead &&
		    ignorable(p, i))
			p->items[i].dead = 2;
out:
	free(p->prev_trim);
	free(p->next_trim);
	p->prev_trim = p->next_trim = NULL;
}

/* ---- tree building ------------------------------------------------------
 */
typedef struct frame {
	int dir;
	fnode *node;  /* the block's node */
	fnode **tail; /* where the next child goes */
	size_t off;
	int autoclose; /* #sep without end tag */
} frame;

static int build(parser *p, fnode **root)
{
	frame st[FTL_MAX_DEPTH + 2];
	int sp = 0;
	fnode *last_text = NULL;
	st[0].dir = D_NONE;
	st[0].node = NULL;
	*root = NULL;
	st[0].tail = root;
	st[0].autoclose = 0;
	for (size_t i = 0; i < p->nitems; i++) {
		item *it = &p->items[i];
		fnode *n = NULL;
		if (it->type == IT_COMMENT || it->dead)
			continue;
		if (it->type == IT_TEXT) {
			if (st[sp].dir == D_SWITCH) {
				if (!is_blank(it->p, it->n))
					return perr(p, it->off, FTL_PARSE,
					            "only #case and #default "
					            "may follow #switch");
				continue;
			}
			if (last_text &&
			    last_text->text + last_text->len == it->p) {
				last_text->len += it->n;
				continue;
			}
			n = mknode(p, N_TEXT, it->off);
			if (!n)
				return -1;
			n->text = it->p;
			n->len = it->n;
			*st[sp].tail = n;
			st[sp].tail = &n->next;
			last_text = n;
			continue;
		}
		last_text = NULL;
		if (it->type == IT_INTERP) {
			if (st[sp].dir == D_SWITCH)
				return perr(p, it->off, FTL_PARSE,
				            "only #case and #default may "
				            "follow #switch");
			*st[sp].tail = it->node;
			st[sp].tail = &it->node->next;
			/* auto-escaping is lexical, as in FreeMarker: the
			 * nearest #autoesc (1) or #noautoesc (2) around;
			 * 0: the template's default (the render decides) */
			for (int k = sp; k > 0; k--)
				if (st[k].dir == D_AUTOESC ||
				    st[k].dir == D_NOAUTOESC) {
					it->node->op =
					        st[k].dir == D_AUTOESC ? 1 : 2;
					break;
				}
			continue;
		}
		if (it->type == IT_OPEN) {
			int d = it->dir;
			n = it->node;
			if (d == D_FTL || (d >= D_T && d <= D_NT))
				continue; /* a trim did its work when parsing */
			if (d == D_RECOVER) {
				if (st[sp].dir != D_ATTEMPT ||
				    st[sp].node->has_items)
					return perr(
					        p, it->off, FTL_PARSE,
					        st[sp].dir == D_ATTEMPT
					                ? "a second #recover "
					                  "in "
					                  "#attempt"
					                : "#recover without a "
					                  "matching #attempt");
				st[sp].node->has_items = 1; /* saw #recover */
				st[sp].tail = &st[sp].node->alt;
				continue;
			}
			if ((d == D_ELSE || d == D_ELSEIF) &&
			    st[sp].dir == D_SEP && st[sp].autoclose)
				sp--;
			if (d == D_ELSEIF ||
			    (d == D_ELSE && st[sp].dir == D_IF)) {
				fnode *ifn;
				if (st[sp].dir != D_IF)
					return perr(
					        p, it->off, FTL_PARSE,
					        "#%s without a matching #if",
					        dir_names[d]);
				ifn = st[sp].node;
				if (ifn->has_items)
					return perr(p, it->off, FTL_PARSE,
					            "#%s after #else",
					            dir_names[d]);
				if (d == D_ELSEIF) {
					ifn->alt = n;
					st[sp].node = n;
					st[sp].tail = &n->body;
				} else {
					ifn->has_items = 1; /* saw else */
					st[sp].tail = &ifn->alt;
				}
				continue;
			}
			if (d == D_ELSE) {
				fnode *ln;
				if (st[sp].dir != D_LIST ||
				    st[sp].node->scope == LIST_FOREACH)
					return perr(
					        p, it->off, FTL_PARSE,
					        "#else without a matching "
					        "#if or #list%s",
					        st[sp].dir == D_LIST
					                ? " (#foreach has no "
					                  "#else)"
					                : "");
				ln = st[sp].node;
				if (ln->alt || ln->op)
					return perr(p, it->off, FTL_PARSE,
					            "a second #else in #list");
				ln->op = 1;
				st[sp].tail = &ln->alt;
				continue;
			}
			if (d == D_CASE || d == D_DEFAULT) {
				if (st[sp].dir == D_CASE)
					sp--;
				if (st[sp].dir != D_SWITCH)
					return perr(p, it->off, FTL_PARSE,
					            "#%s outside #switch",
					            dir_names[d]);
				*st[sp].tail = n;
				st[sp].tail = &n->next;
				sp++;
				st[sp].dir = D_CASE;
				st[sp].node = n;
				st[sp].tail = &n->body;
				st[sp].off = it->off;
				st[sp].autoclose = 1;
				continue;
			}
			if (st[sp].dir == D_SWITCH)
				return perr(p, it->off, FTL_PARSE,
				            "only #case and #default may "
				            "follow #switch");
			if (d == D_MACRO || d == D_FUNCTION || d == D_LOCAL ||
			    d == D_NESTED || d == D_RETURN) {
				int k, in = 0;
				for (k = sp; k > 0 && !in; k--)
					if (st[k].dir == D_MACRO ||
					    st[k].dir == D_FUNCTION)
						in = st[k].dir;
				if ((d == D_MACRO || d == D_FUNCTION) && in)
					return perr(
					        p, it->off, FTL_PARSE,
					        "Macro or function definitions "
					        "can't be nested into each "
					        "other.");
				if (d == D_LOCAL && !in)
					return perr(p, it->off, FTL_PARSE,
					            "Local variable assigned "
					            "outside a macro.");
				if (d == D_NESTED && in != D_MACRO)
					return perr(
					        p, it->off, FTL_PARSE,
					        "Cannot use a <#nested> "
					        "instruction outside a macro.");
				if (d == D_RETURN && !in)
					return perr(
					        p, it->off, FTL_PARSE,
					        "A return instruction can only "
					        "occur inside a macro or "
					        "function");
				if (d == D_RETURN && in == D_FUNCTION && !n->e)
					return perr(p, it->end, FTL_PARSE,
					            "A function must return a "
					            "value");
				if (d == D_RETURN && in == D_MACRO && n->e)
					return perr(p, n->e->off, FTL_PARSE,
					            "A macro cannot return a "
					            "value");
				if (d == D_MACRO || d == D_FUNCTION) {
					if (p->nmacros == p->capmacros) {
						size_t cap =
						        p->capmacros
						                ? p->capmacros *
						                          2
						                : 8;
						fnode **nm = realloc(
						        p->macros,
						        cap * sizeof(*nm));
						if (!nm)
							return perr(p, it->off,
							            FTL_NOMEM,
							            "out of "
							            "memory");
						p->macros = nm;
						p->capmacros = cap;
					}
					p->macros[p->nmacros++] = n;
				}
			}
			if (d == D_BREAK) {
				int k, ok = 0;
				for (k = sp;
				     k > 0 && !ok && st[k].dir != D_MACRO &&
				     st[k].dir != D_FUNCTION;
				     k--)
					if (st[k].dir == D_ITEMS ||
					    st[k].dir == D_CASE ||
					    (st[k].dir == D_LIST &&
					     !st[k].node->has_items))
						ok = 1;
				if (!ok)
					return perr(p, it->off, FTL_PARSE,
					            "#break must be inside "
					            "#list ... as, #items or "
					            "#switch");
			}
			if (d == D_ITEMS || d == D_SEP) {
				int k, found = 0;
				for (k = sp; k > 0; k--)
					if (st[k].dir == D_LIST ||
					    st[k].dir == D_ITEMS) {
						found = 1;
						break;
					}
				if (!found)
					return perr(p, it->off, FTL_PARSE,
					            "#%s must be inside #list",
					            dir_names[d]);
				if (d == D_ITEMS && !st[k].node->has_items)
					return perr(p, it->off, FTL_PARSE,
					            "#items needs a #list "
					            "without \"as\"");
			}
			/* the node goes into the current body */
			for (fnode *x = n; x; x = x->next) {
				*st[sp].tail = x;
				st[sp].tail = &x->next;
				if (!x->next)
					break;
			}
			if (it->selfclose && d != D_SEP)
				continue;
			if (d == D_IF || d == D_LIST || d == D_ITEMS ||
			    d == D_SWITCH || d == D_SEP || d == D_MACRO ||
			    d == D_FUNCTION || d == D_CALL || d == D_AUTOESC ||
			    d == D_NOAUTOESC || d == D_ESCAPE ||
			    d == D_NOESCAPE || d == D_OUTPUTFORMAT ||
			    d == D_COMPRESS || d == D_ATTEMPT ||
			    ((d == D_ASSIGN || d == D_LOCAL || d == D_GLOBAL) &&
			     n->has_items)) {
				if (sp + 1 > FTL_MAX_DEPTH)
					return perr(p, it->off, FTL_LIMIT,
					            "directives nested too "
					            "deeply (limit %d)",
					            FTL_MAX_DEPTH);
				sp++;
				st[sp].dir = d;
				st[sp].node = n;
				st[sp].tail = &n->body;
				st[sp].off = it->off;
				st[sp].autoclose = d == D_SEP;
				if (d == D_SEP && it->selfclose)
					sp--;
			}
			continue;
		}
		/* IT_CLOSE */
		{
			int d = it->dir;
			if (d == D_SWITCH && st[sp].dir == D_CASE)
				sp--;
			if ((d == D_LIST || d == D_ITEMS) &&
			    st[sp].dir == D_SEP && st[sp].autoclose)
				sp--;
			if (d == D_ELSEIF || d == D_ELSE)
				d = D_IF;
			if (d == D_RECOVER)
				d = D_ATTEMPT; /* </#recover> ends the #attempt
				                */
			if (d == D_ATTEMPT && st[sp].dir == D_ATTEMPT &&
			    !st[sp].node->has_items)
				return perr(
				        p, it->off, FTL_PARSE,
				        "#attempt needs a #recover before "
				        "</#%s>: write <#attempt>...<#recover>"
				        "...</#attempt>",
				        dir_names[it->dir]);
			if (d == D_SEP && st[sp].dir == D_SEP) {
				sp--;
				continue;
			}
			if (d == D_CALL) {
				const fnode *cn = sp ? st[sp].node : NULL;
				if (sp && st[sp].dir == D_CALL && it->n &&
				    !cn->n2)
					return perr(p, it->off, FTL_PARSE,
					            "Expecting </@>");
				if (st[sp].dir != D_CALL ||
				    (it->n && (it->n != cn->n2 ||
				               memcmp(it->p, cn->v2, it->n))))
					return perr(
					        p, it->off, FTL_PARSE,
					        sp && st[sp].dir == D_CALL
					                ? "Expecting </@> or "
					                  "</@%.*s>"
					                : "</@%.*s> without an "
					                  "opening "
					                  "<@...>",
					        (int)(sp && st[sp].dir == D_CALL
					                      ? cn->n2
					                      : it->n),
					        sp && st[sp].dir == D_CALL
					                ? cn->v2
					                : it->p);
				sp--;
				continue;
			}
			if ((d == D_MACRO || d == D_FUNCTION) &&
			    st[sp].dir == d)
				((fmacro *)st[sp].node->aux)->body =
				        st[sp].node->body;
			if (sp == 0 || st[sp].dir != d ||
			    (d == D_LIST && (st[sp].node->scope ==
			                     LIST_FOREACH) != it->legacy)) {
				const char *cn = it->legacy
				                         ? "foreach"
				                         : dir_names[it->dir];
				if (sp == 0)
					return perr(p, it->off, FTL_PARSE,
					            "</#%s> without an opening "
					            "#%s",
					            cn, cn);
				return perr(
				        p, it->off, FTL_PARSE,
				        "</#%s> found where </#%s> was "
				        "expected",
				        cn,
				        st[sp].dir == D_LIST &&
				                        st[sp].node->scope ==
				                                LIST_FOREACH
				                ? "foreach"
				                : dir_names[st[sp].dir]);
			}
			if (d == D_LIST && st[sp].node->has_items) {
				/* the list must contain #items */
				int found = 0;
				for (size_t k = 0; k < i; k++)
					if (p->items[k].type == IT_OPEN &&
					    p->items[k].dir == D_ITEMS &&
					    p->items[k].off > st[sp].off)
						found = 1;
				if (!found)
					return perr(p, st[sp].off, FTL_PARSE,
					            "#list without \"as\" "
					            "needs an #items inside");
			}
			sp--;
		}
	}
	if (sp > 0 && st[sp].dir == D_SEP && st[sp].autoclose)
		sp--;
	if (sp > 0 && st[sp].dir == D_CALL && !st[sp].node->n2)
		return perr(p, st[sp].off, FTL_PARSE,
		            "unclosed <@...>: expected </@> before the end "
		            "of the template");
	if (sp > 0 && st[sp].dir == D_CALL)
		return perr(
		        p, st[sp].off, FTL_PARSE,
		        "unclosed <@%.*s>: expected </@%.*s> before the end "
		        "of the template",
		        (int)st[sp].node->n2, st[sp].node->v2,
		        (int)st[sp].node->n2, st[sp].node->v2);
	if (sp > 0) {
		int fe = st[sp].dir == D_LIST &&
		         st[sp].node->scope == LIST_FOREACH;
		return perr(p, st[sp].off, FTL_PARSE,
		            "unclosed #%s: expected </#%s> before the end of "
		            "the template",
		            fe ? "foreach" : dir_names[st[sp].dir],
		            fe ? "foreach"
		               : dir_names[st[sp].dir == D_CASE ? D_SWITCH
		                                                : st[sp].dir]);
	}
	return 0;
}

/* ?index, ?has_next...: the operand must name a loop variable in scope
 * (FreeMarker checks this when parsing). */
static int check_expr(parser *p, const fexpr *e, const char **names,
                      const size_t *lens, int n)
{
	if (!e)
		return 0;
	if (e->op == E_BI && feval_builtin_is_loop(e->bi)) {
		int ok = 0;
		if (e->a->op == E_VAR)
			for (int i = 0; i < n && !ok; i++)
				ok = lens[i] == e->a->n &&
				     memcmp(names[i], e->a->s, e->a->n) == 0;
		if (!ok)
			return perr(p, e->off, FTL_PARSE,
			            "?%.*s must follow the name of a loop "
			            "variable of an enclosing #list",
			            (int)e->n, e->s);
	}
	if (check_expr(p, e->a, names, lens, n) ||
	    check_expr(p, e->b, names, lens, n))
		return -1;
	for (int i = 0; i < e->nargs; i++)
		if (check_expr(p, e->args[i], names, lens, n))
			return -1;
	return 0;
}

static int check_nodes(parser *p, const fnode *nd, const char **names,
                       size_t *lens, int n, int depth)
{
	for (; nd; nd = nd->next) {
		int m = n;
		if (depth > FTL_MAX_DEPTH * 2)
			return perr(p, nd->off, FTL_LIMIT, "nesting too deep");
		if (check_expr(p, nd->e, names, lens, n))
			return -1;
		if ((nd->type == N_LIST || nd->type == N_ITEMS) && nd->v1 &&
		    m + 2 <= 2 * FTL_MAX_DEPTH) {
			names[m] = nd->v1;
			lens[m++] = nd->n1;
			if (nd->v2) {
				names[m] = nd->v2;
				lens[m++] = nd->n2;
			}
		}
		if (check_nodes(p, nd->body, names, lens, m, depth + 1))
			return -1;
		if (nd->type == N_IF && nd->alt &&
		    check_nodes(p, nd->alt, names, lens, n, depth + 1))
			return -1;
		if (nd->type == N_ATTEMPT && nd->alt &&
		    check_nodes(p, nd->alt, names, lens, n, depth + 1))
			return -1;
		if (nd->type == N_LIST && nd->alt &&
		    check_nodes(p, nd->alt, names, lens, n, depth + 1))
			return -1;
	}
	return 0;
}

ftl_template *fparse_compile(const char *src, size_t len, ftl_error *err)
{
	parser p;
	ftl_template *t;
	memset(&p, 0, sizeof(p));
	if (len > FTL_MAX_TEMPLATE) {
		ftl_seterr(err, FTL_LIMIT, 0, 0,
		           "template too large (%zu bytes, limit %u)", len,
		           FTL_MAX_TEMPLATE);
		return NULL;
	}
	if (!ftxt_utf8_valid(src, len)) {
		/* one pass (the prefix-by-prefix search was quadratic) */
		size_t bad = ftxt_utf8_bad(src, len);
		int line, col;
		fparse_linecol(src, bad < len ? bad : len, &line, &col);
		ftl_seterr(err, FTL_INPUT, line, col,
		           "the template is not valid UTF-8");
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t || !(t->src = malloc(len + 1))) {
		free(t);
		ftl_seterr(err, FTL_NOMEM, 0, 0, "out of memory");
		return NULL;
	}
	memcpy(t->src, src, len);
	t->src[len] = 0;
	t->len = len;
	atomic_init(&t->refs, 1);
	p.src = t->src;
	p.len = len;
	p.arena = &t->arena;
	p.err = err;
	p.strip = 1;
	p.hdr_fmt = p.hdr_autoesc = -1;
	detect_syntax(&p);
	if (lex(&p) == 0 && !p.failed) {
		if (p.strip || p.ntrims)
			strip_ws(&p);
		if (!p.failed && build(&p, &t->root) == 0) {
			const char *names[2 * FTL_MAX_DEPTH];
			size_t lens[2 * FTL_MAX_DEPTH];
			check_nodes(&p, t->root, names, lens, 0, 0);
		}
		if (p.strip_text) {
			/* strip_text: the top-level text goes (not the text
			 * inside directives or macros) */
			fnode **pp = &t->root;
			while (*pp)
				if ((*pp)->type == N_TEXT)
					*pp = (*pp)->next;
				else
					pp = &(*pp)->next;
		}
	}
	if (!p.failed && p.nmacros) {
		t->macros = palloc(&p, p.nmacros * sizeof(*t->macros));
		if (t->macros) {
			memcpy(t->macros, p.macros,
			       p.nmacros * sizeof(*t->macros));
			t->nmacros = p.nmacros;
		}
	}
	free(p.macros);
	free(p.items);
	t->ws_visits = p.ws_visits;
	t->hdr_fmt = p.hdr_fmt;
	t->hdr_autoesc = p.hdr_autoesc;
	t->markup_what = p.markup_what;
	t->markup_off = p.markup_off;
	for (int k = 0; k < 3; k++) {
		t->legacy_what[k] = p.legacy_what[k];
		t->legacy_off[k] = p.legacy_off[k];
	}
	t->legacy_fmt2 = p.legacy_fmt2;
	t->nitems = p.nitems;
	if (p.failed) {
		farena_free(&t->arena);
		free(t->src);
		free(t);
		return NULL;
	}
	return t;
}
