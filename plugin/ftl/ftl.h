/*
 * ftl.h - a FreeMarker (2.3.31) subset for message templates.
 *
 * Compile a template once (ftl_compile or through an ftl_cache), render it
 * many times, from many threads at once, against borrowed json-c models.
 * The supported subset and every known difference from Apache FreeMarker
 * are listed in docs/templates.md.
 *
 * Templates are untrusted: nesting depth, output size, memory and the work
 * a render does (bytes scanned and built, loop iterations, expressions) are
 * bounded, every built-in runs in time linear in its inputs, a render
 * stops at the caller's deadline, and every failure comes back as an
 * ftl_error with the line, the column and a message a template author can
 * act on.
 */
#ifndef FTL_FTL_H
#define FTL_FTL_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ftl_kind {
	FTL_OK = 0,
	FTL_PARSE,   /* the template does not compile */
	FTL_RUNTIME, /* missing variable, wrong type, bad built-in argument */
	FTL_LIMIT,   /* output, work, memory or nesting limit reached */
	FTL_INPUT,   /* invalid UTF-8 in the template or a model string;
	                bad settings */
	FTL_NOMEM,
	FTL_DEADLINE /* ftl_settings.deadline_ms passed while rendering */
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
	int64_t deadline_ms;       /* absolute CLOCK_MONOTONIC ms; 0: none */
	size_t max_work;           /* 0: default (FTL_DEFAULT_WORK_UNITS) */
	/* Dates (docs/templates.md "Dates and times"). time_zone: an IANA
	 * name read from the system's zone files, "UTC" or "GMT+hh:mm";
	 * NULL: "UTC". The formats: "short", "medium", "long", "full",
	 * "iso", "xs" or a SimpleDateFormat pattern; NULL: "medium". */
	const char *time_zone;
	const char *date_format;
	const char *time_format;
	const char *datetime_format;
	/* What .now reads (epoch milliseconds), once per render; NULL: the
	 * system's real-time clock. Tests inject a fixed clock. */
	int64_t (*now_ms)(void *arg);
	void *now_arg;
	/* docs/templates.md "Settings". boolean_format: "c" or "yes,no"
	 * (split at the first comma); NULL or "true,false": ${bool} is an
	 * error, as FreeMarker's default. output_format: "HTML", "XHTML",
	 * "XML", "RTF" (markup formats that escape ${...}) or "plainText",
	 * "undefined", "JSON", "CSS", "JavaScript" (no escaping); NULL:
	 * "undefined". A template's <#ftl output_format=...> wins.
	 * auto_escaping_policy: "enable_if_default" (NULL),
	 * "enable_if_supported" or "disable". url_escaping_charset: the
	 * charset of ?url without an argument: "UTF-8" (NULL), or one of the
	 * others docs/templates.md lists (ISO-8859-1, US-ASCII, UTF-16...,
	 * case-insensitive, with Java's aliases). */
	const char *boolean_format;
	const char *output_format;
	const char *auto_escaping_policy;
	const char *url_escaping_charset;
} ftl_settings;

/*
 * The work budget of one render, in units: one per byte a built-in or an
 * operator scans or builds, one per loop iteration, directive and
 * expression. A message template uses tens to hundreds; the default stops a
 * render after about a tenth of a second of CPU at worst. The clock is
 * read once every 65,536 units when a deadline is set (never per
 * step), so a render passes its deadline by well under a millisecond.
 */
#define FTL_DEFAULT_WORK_UNITS ((size_t)16 << 20)
/* The default byte bound of an ftl_cache (source and compiled form). */
#define FTL_DEFAULT_CACHE_BYTES ((size_t)4 << 20)

typedef struct ftl_template ftl_template;
typedef struct ftl_cache ftl_cache;

/* "ok", "parse", "runtime", "limit", "input", "nomem", "deadline" (static
 * strings). */
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
 * (may be NULL), or -1 with ERR filled and *OUT set to NULL: FTL_LIMIT when
 * the output, memory, nesting or work budget (S->max_work) is exceeded,
 * FTL_DEADLINE when S->deadline_ms passes before the render ends.
 * Thread-safe for any number of concurrent renders of the same template.
 */
int ftl_render(const ftl_template *t, json_object *model, const ftl_settings *s,
               char **out, size_t *out_len, ftl_error *err);

/* A new reference to T (atomic); returns T. */
ftl_template *ftl_template_ref(ftl_template *t);
/* Drop a reference (atomic); the last one frees the template. NULL is ok. */
void ftl_template_unref(ftl_template *t);

/*
 * A bounded LRU of compiled templates keyed by their text, bounded both by
 * count (CAPACITY, 0: 64) and by bytes (MAX_BYTES, 0:
 * FTL_DEFAULT_CACHE_BYTES): the source plus the compiled form of every
 * template held, as allocated. The least recently used templates go first
 * when either bound would be passed; a template bigger than MAX_BYTES by
 * itself is compiled and returned but not kept.
 * ftl_cache_new returns NULL only when out of memory.
 * ftl_cache_free drops the cache's references (templates still referenced
 * by callers stay alive). All calls are thread-safe except ftl_cache_free,
 * which must not race with other calls on the same cache.
 */
ftl_cache *ftl_cache_new(size_t capacity, size_t max_bytes);
void ftl_cache_free(ftl_cache *c);
/* Bytes and templates the cache holds now (for stats and tests). */
size_t ftl_cache_bytes(ftl_cache *c);
size_t ftl_cache_count(ftl_cache *c);

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
