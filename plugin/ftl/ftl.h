/*
 * ftl.h - a FreeMarker (2.3.31) subset for message templates.
 *
 * Compile a template once (ftl_compile or through an ftl_cache), render it
 * many times, from many threads at once, against borrowed json-c models.
 * The supported subset and every known difference from Apache FreeMarker
 * are listed in docs/templates.md.
 *
 * Templates are untrusted: nesting depth, output size, loop work and memory
 * are bounded, and every failure comes back as an ftl_error with the line,
 * the column and a message a template author can act on.
 */
#ifndef FTL_FTL_H
#define FTL_FTL_H

#include <stddef.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ftl_kind {
	FTL_OK = 0,
	FTL_PARSE,   /* the template does not compile */
	FTL_RUNTIME, /* missing variable, wrong type, bad built-in argument */
	FTL_LIMIT,   /* output, loop work, memory or nesting limit reached */
	FTL_INPUT,   /* invalid UTF-8 in the template or a model string;
	                bad settings */
	FTL_NOMEM
} ftl_kind;

typedef struct ftl_error {
	ftl_kind kind;
	int line;   /* 1-based; 0 when not tied to a place */
	int column; /* 1-based; 0 when not tied to a place */
	char message[512];
} ftl_error;

typedef struct ftl_settings {
	const char *locale;        /* NULL: "en_US"; also "de_DE" ... */
	const char *number_format; /* NULL: FreeMarker's default "number" */
	size_t max_output;         /* 0: default limit (64 KiB) */
} ftl_settings;

typedef struct ftl_template ftl_template;
typedef struct ftl_cache ftl_cache;

/* "ok", "parse", "runtime", "limit", "input", "nomem" (static strings). */
const char *ftl_kind_name(ftl_kind k);

/*
 * Validate settings (locale supported, number_format understood).
 * S may be NULL (the defaults). Returns 0, or -1 with ERR (FTL_INPUT) naming
 * the setting and the reason. Thread-safe, no allocation kept.
 */
int ftl_settings_check(const ftl_settings *s, ftl_error *err);

/*
 * Compile SRC (LEN bytes of UTF-8, need not be NUL-terminated).
 * Returns a template with one reference (release with ftl_template_unref),
 * or NULL with ERR filled (FTL_PARSE, FTL_INPUT for invalid UTF-8, FTL_LIMIT
 * for nesting or size limits, FTL_NOMEM). The template is immutable and may
 * be rendered by many threads at once. ERR may be NULL.
 */
ftl_template *ftl_compile(const char *src, size_t len, ftl_error *err);

/*
 * Render T against MODEL (a json-c object, or NULL for an empty model).
 * MODEL is borrowed and never modified: no json_object_get_string() on
 * non-strings, no json_object_to_json_string(), no refcount changes, so the
 * caller may render concurrently from a shared model. S may be NULL.
 * Returns 0 and *OUT (malloc'd, NUL-terminated, caller frees) with *OUT_LEN
 * (may be NULL), or -1 with ERR filled and *OUT set to NULL.
 * Thread-safe for any number of concurrent renders of the same template.
 */
int ftl_render(const ftl_template *t, json_object *model, const ftl_settings *s,
               char **out, size_t *out_len, ftl_error *err);

/* A new reference to T (atomic); returns T. */
ftl_template *ftl_template_ref(ftl_template *t);
/* Drop a reference (atomic); the last one frees the template. NULL is ok. */
void ftl_template_unref(ftl_template *t);

/*
 * A bounded LRU of compiled templates keyed by their text.
 * ftl_cache_new returns NULL only when out of memory; CAPACITY 0 means 64.
 * ftl_cache_free drops the cache's references (templates still referenced
 * by callers stay alive). All calls are thread-safe except ftl_cache_free,
 * which must not race with other calls on the same cache.
 */
ftl_cache *ftl_cache_new(size_t capacity);
void ftl_cache_free(ftl_cache *c);

/*
 * The compiled template for SRC: a new reference (unref when done), or NULL
 * with ERR filled when it does not compile (failures are not cached).
 * Never returns a half-built template. Thread-safe.
 */
ftl_template *ftl_cache_get(ftl_cache *c, const char *src, size_t len,
                            ftl_error *err);

#ifdef __cplusplus
}
#endif

#endif /* FTL_FTL_H */
