/*
 * template.c - the public entry points around compiled templates:
 * compile, reference counting, settings validation, error kind names, and
 * the bounded LRU cache keyed by template text.
 *
 * The cache owns one reference to each template it holds; callers get
 * their own reference. It is bounded by count and by bytes (what each
 * template's source, arena chunks and records take, as allocated), so a
 * stream of large distinct templates cannot grow it past its byte bound. One
 * mutex guards the cache; compilation happens outside it, so a slow compile
 * never blocks lookups of other templates (two threads missing on the same text
 * may both compile; one result is kept, the other is simply released).
 */
#define _GNU_SOURCE 1

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "eval.h" /* ftl_int.h, fdate.h, feval_date_fmt_ok */

const char *ftl_kind_name(ftl_kind k)
{
	switch (k) {
	case FTL_OK: return "ok";
	case FTL_PARSE: return "parse";
	case FTL_RUNTIME: return "runtime";
	case FTL_LIMIT: return "limit";
	case FTL_INPUT: return "input";
	case FTL_NOMEM: return "nomem";
	case FTL_DEADLINE: return "deadline";
	}
	return "unknown";
}

static const char *const outfmt_names[] = {
        "undefined", "plainText", "JSON", "CSS", "JavaScript",
        "HTML",      "XHTML",     "XML",  "RTF", NULL};

int ftl_outfmt(const char *name, size_t n)
{
	for (int i = 0; outfmt_names[i]; i++)
		if (strlen(outfmt_names[i]) == n &&
		    memcmp(outfmt_names[i], name, n) == 0)
			return i;
	return -1;
}

const char *ftl_outfmt_name(int f)
{
	return f >= 0 && f <= FOF_RTF ? outfmt_names[f] : "undefined";
}

/* The settings added with output formats; 0 or -1 with ERR. */
int ftl_settings_check_formats(const ftl_settings *s, ftl_error *err)
{
	if (s->boolean_format && strcmp(s->boolean_format, "c") != 0 &&
	    !strchr(s->boolean_format, ',')) {
		ftl_seterr(
		        err, FTL_INPUT, 0, 0,
		        "boolean_format \"%.*s\" is not valid: use \"c\" "
		        "(true/false) or the two texts separated by a comma, "
		        "like \"yes,no\"",
		        (int)ftxt_clip(s->boolean_format,
		                       strlen(s->boolean_format), 60),
		        s->boolean_format);
		return -1;
	}
	if (s->output_format &&
	    ftl_outfmt(s->output_format, strlen(s->output_format)) < 0) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "output_format \"%.*s\" is not supported (use "
		           "\"HTML\", \"XHTML\", \"XML\", \"RTF\", "
		           "\"plainText\", \"undefined\", \"JSON\", \"CSS\" "
		           "or \"JavaScript\"; the names are case-sensitive)",
		           (int)ftxt_clip(s->output_format,
		                          strlen(s->output_format), 60),
		           s->output_format);
		return -1;
	}
	if (s->auto_escaping_policy && ftl_autoesc_policy(s) < 0) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "auto_escaping_policy \"%.*s\" is not supported "
		           "(use \"enable_if_default\", "
		           "\"enable_if_supported\" or \"disable\")",
		           (int)ftxt_clip(s->auto_escaping_policy,
		                          strlen(s->auto_escaping_policy), 60),
		           s->auto_escaping_policy);
		return -1;
	}
	if (s->url_escaping_charset &&
	    feval_url_charset(s->url_escaping_charset,
	                      strlen(s->url_escaping_charset)) < 0) {
		ftl_seterr(
		        err, FTL_INPUT, 0, 0,
		        "url_escaping_charset \"%.*s\" is not supported (use "
		        "one of " FURL_NAMES ")",
		        (int)ftxt_clip(s->url_escaping_charset,
		                       strlen(s->url_escaping_charset), 60),
		        s->url_escaping_charset);
		return -1;
	}
	return 0;
}

int ftl_autoesc_policy(const ftl_settings *s)
{
	/* FreeMarker accepts the camelCase spellings too */
	static const char *const names[] = {
	        "enable_if_default", "enableIfDefault", "enable_if_supported",
	        "enableIfSupported", "disable",         NULL};
	const char *v = s ? s->auto_escaping_policy : NULL;
	if (!v)
		return 0;
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], v) == 0)
			return i / 2;
	return -1;
}

int ftl_settings_check(const ftl_settings *s, ftl_error *err)
{
	fnfmt f;
	if (err) {
		err->kind = FTL_OK;
		err->line = err->column = 0;
		err->message[0] = 0;
	}
	if (!s)
		return 0;
	if (s->locale && !fnum_locale(s->locale)) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "locale \"%.*s\" is not supported (supported: "
		           "en_US, en, en_GB, en_AU, en_CA, en_IE, en_IN, "
		           "en_NZ, en_ZA, de_DE, de, de_AT, de_CH, fr_FR, "
		           "es_ES, it_IT, nl_NL, pt_BR)",
		           (int)ftxt_clip(s->locale, strlen(s->locale), 60),
		           s->locale);
		return -1;
	}
	if (s->number_format && s->number_format[0] == '@') {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "number_format \"%.*s\": no custom number format is "
		           "defined with that name (this engine has no custom "
		           "formats; use a pattern like \"0.00\")",
		           (int)ftxt_clip(s->number_format,
		                          strlen(s->number_format), 60),
		           s->number_format);
		return -1;
	}
	if (s->number_format && fnum_fmt_parse(s->number_format, &f)) {
		ftl_seterr(err, FTL_INPUT, 0, 0,
		           "number_format \"%.*s\" is not supported (use "
		           "\"number\", \"computer\", \"currency\", "
		           "\"percent\" or a pattern "
		           "like \"0.00\" or \"#,##0.##\")",
		           (int)ftxt_clip(s->number_format,
		                          strlen(s->number_format), 60),
		           s->number_format);
		return -1;
	}
	if (s->time_zone) {
		char why[200];
		if (!fdate_zone(s->time_zone, strlen(s->time_zone), why,
		                sizeof(why))) {
			ftl_seterr(err, FTL_INPUT, 0, 0, "%s", why);
			return -1;
		}
	}
	{
		const char *df[3] = {s->date_format, s->time_format,
		                     s->datetime_format};
		static const char *const nm[3] = {"date_format", "time_format",
		                                  "datetime_format"};
		for (int k = 0; k < 3; k++) {
			char why[160];
			if (df[k] && feval_date_fmt_ok(df[k], strlen(df[k]),
			                               why, sizeof(why))) {
				ftl_seterr(err, FTL_INPUT, 0, 0, "%s: %s",
				           nm[k], why);
				return -1;
			}
		}
	}
	return ftl_settings_check_formats(s, err);
}

ftl_template *ftl_compile(const char *src, size_t len, ftl_error *err)
{
	if (err) {
		err->kind = FTL_OK;
		err->line = err->column = 0;
		err->message[0] = 0;
	}
	if (!src && len) {
		ftl_seterr(err, FTL_INPUT, 0, 0, "no template text");
		return NULL;
	}
	return fparse_compile(src ? src : "", len, err);
}

ftl_template *ftl_template_ref(ftl_template *t)
{
	if (t)
		atomic_fetch_add_explicit(&t->refs, 1, memory_order_relaxed);
	return t;
}

void ftl_template_unref(ftl_template *t)
{
	if (!t)
		return;
	if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
		return;
	farena_free(&t->arena);
	free(t->src);
	free(t);
}

/* ---- cache ----------------------------------------------------------------
 * A small hash table of entries on a doubly linked LRU list.
 */
typedef struct centry {
	struct centry *prev, *next; /* LRU: head is the most recent */
	struct centry *hnext;       /* hash chain */
	uint64_t hash;
	size_t bytes; /* what this entry keeps alive */
	ftl_template *t;
} centry;

struct ftl_cache {
	pthread_mutex_t mu;
	size_t cap, n, nbuckets;
	size_t max_bytes, bytes;
	centry **buckets;
	centry *head, *tail;
};

static uint64_t hash_text(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ull;
	}
	return h;
}

/* What T and its cache record take in memory: the template record, its
 * source and every arena chunk with its header (allocator overhead aside). */
static size_t entry_bytes(const ftl_template *t)
{
	size_t n = sizeof(centry) + sizeof(*t) + t->len + 1;
	for (const fchunk *k = t->arena.head; k; k = k->next)
		n += sizeof(*k) + k->cap;
	return n;
}

ftl_cache *ftl_cache_new(size_t capacity, size_t max_bytes)
{
	ftl_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cap = capacity ? capacity : 64;
	c->max_bytes = max_bytes ? max_bytes : FTL_DEFAULT_CACHE_BYTES;
	c->nbuckets = 16;
	while (c->nbuckets < c->cap * 2)
		c->nbuckets *= 2;
	c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
	if (!c->buckets || pthread_mutex_init(&c->mu, NULL)) {
		free(c->buckets);
		free(c);
		return NULL;
	}
	return c;
}

static void lru_unlink(ftl_cache *c, centry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		c->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		c->tail = e->prev;
	e->prev = e->next = NULL;
}

static void lru_front(ftl_cache *c, centry *e)
{
	e->next = c->head;
	e->prev = NULL;
	if (c->head)
		c->head->prev = e;
	c->head = e;
	if (!c->tail)
		c->tail = e;
}

static centry *find(ftl_cache *c, uint64_t h, const char *src, size_t len)
{
	centry *e = c->buckets[h & (c->nbuckets - 1)];
	for (; e; e = e->hnext)
		if (e->hash == h && e->t->len == len &&
		    memcmp(e->t->src, src, len) == 0)
			return e;
	return NULL;
}

static void evict_tail(ftl_cache *c)
{
	centry *e = c->tail, **pp;
	if (!e)
		return;
	lru_unlink(c, e);
	for (pp = &c->buckets[e->hash & (c->nbuckets - 1)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == e) {
			*pp = e->hnext;
			break;
		}
	ftl_template_unref(e->t);
	c->bytes -= e->bytes;
	free(e);
	c->n--;
}

ftl_template *ftl_cache_get(ftl_cache *c, const char *src, size_t len,
                            ftl_error *err)
{
	uint64_t h;
	centry *e;
	ftl_template *t;
	if (!c)
		return ftl_compile(src, len, err);
	if (!src) {
		if (len) {
			ftl_seterr(err, FTL_INPUT, 0, 0, "no template text");
			return NULL;
		}
		src = "";
	}
	h = hash_text(src, len);
	pthread_mutex_lock(&c->mu);
	e = find(c, h, src, len);
	if (e) {
		lru_unlink(c, e);
		lru_front(c, e);
		t = ftl_template_ref(e->t);
		pthread_mutex_unlock(&c->mu);
		if (err) {
			err->kind = FTL_OK;
			err->message[0] = 0;
			err->line = err->column = 0;
		}
		return t;
	}
	pthread_mutex_unlock(&c->mu);

	t = ftl_compile(src, len, err);
	if (!t)
		return NULL;

	pthread_mutex_lock(&c->mu);
	e = find(c, h, src, len);
	if (e) {
		/* another thread compiled it meanwhile: use the cached one */
		ftl_template *mine = t;
		lru_unlink(c, e);
		lru_front(c, e);
		t = ftl_template_ref(e->t);
		pthread_mutex_unlock(&c->mu);
		ftl_template_unref(mine);
		return t;
	}
	{
		size_t need = entry_bytes(t);
		/* bigger than the whole cache: returned, never kept (keeping
		 * it would evict everything else for one template) */
		e = need <= c->max_bytes ? calloc(1, sizeof(*e)) : NULL;
		if (e) {
			e->bytes = need;
			while (c->n > 0 && (c->n >= c->cap ||
			                    c->bytes + need > c->max_bytes))
				evict_tail(c);
			c->bytes += need;
		}
	}
	if (e) {
		size_t b = h & (c->nbuckets - 1);
		e->hash = h;
		e->t = ftl_template_ref(t);
		e->hnext = c->buckets[b];
		c->buckets[b] = e;
		lru_front(c, e);
		c->n++;
	}
	pthread_mutex_unlock(&c->mu);
	return t; /* not cached when too big or out of memory: still usable */
}

size_t ftl_cache_bytes(ftl_cache *c)
{
	size_t n;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	n = c->bytes;
	pthread_mutex_unlock(&c->mu);
	return n;
}

size_t ftl_cache_count(ftl_cache *c)
{
	size_t n;
	if (!c)
		return 0;
	pthread_mutex_lock(&c->mu);
	n = c->n;
	pthread_mutex_unlock(&c->mu);
	return n;
}

void ftl_cache_free(ftl_cache *c)
{
	if (!c)
		return;
	while (c->tail)
		evict_tail(c);
	pthread_mutex_destroy(&c->mu);
	free(c->buckets);
	free(c);
}
