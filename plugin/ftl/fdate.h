/*
 * fdate.h - dates and times for the template engine (internal): the
 * calendar, time zones read from the system's TZif files, Java
 * SimpleDateFormat patterns (format and parse), ISO 8601 and the locale
 * styles (short/medium/long/full) of every locale of locale.h.
 *
 * A date value is a UTC instant in milliseconds since 1970 plus a kind
 * (date, time, date-time or unknown), as FreeMarker's TemplateDateModel.
 * Zones are loaded once per process and never freed (a bounded table of
 * FDATE_MAX_ZONES): they are immutable after loading, so any number of
 * renders share them without locks; loading takes a mutex. Nothing here
 * reads or changes TZ, calls tzset or localtime: the process's zone is
 * never involved. Functions fail with -1 and a message in WHY (what was
 * wrong and how to fix it); nothing is allocated except into the caller's
 * fbuf and the zone table.
 */
#ifndef FTL_FDATE_H
#define FTL_FDATE_H

#include <stddef.h>
#include <stdint.h>

struct fbuf; /* ftl_int.h (which has no full include guard) */

enum { FD_UNKNOWN = 0, FD_DATE, FD_TIME, FD_DATETIME };

#define FDATE_MAX_ZONES  64          /* distinct zones loaded per process */
#define FDATE_MAX_TZFILE (256 << 10) /* bytes of one TZif file */
#define FDATE_MAX_PAT    256         /* bytes of a date pattern */
/* Instants beyond this many ms from 1970 (about 285 million years) are
 * refused, so local-time arithmetic never overflows. */
#define FDATE_MAX_MS 9000000000000000000LL
#ifndef FTL_ZONEINFO_DIR
#define FTL_ZONEINFO_DIR "/usr/share/zoneinfo"
#endif

typedef struct fzone fzone;

/* The zone for a time_zone setting: an IANA name ("Europe/Berlin"), "UTC",
 * "GMT", or a GMT offset ("GMT+2", "GMT+02:00", "GMT-0530"). NULL with WHY
 * when unknown or unreadable. Thread-safe. */
const fzone *fdate_zone(const char *name, size_t n, char *why, size_t wn);
const fzone *fdate_utc(void);
/* Offset from UTC in seconds at instant MS, and the zone's abbreviation
 * then ("CET", "EDT", "GMT+02:00"). */
int fdate_offset(const fzone *z, int64_t ms, const char **abbr);
/* The instant whose local time in Z is LOCAL_MS (the earlier one in an
 * overlap, the later in a gap, as java.util.Calendar does). */
int64_t fdate_from_local(const fzone *z, int64_t local_ms);

/* Calendar helpers (proleptic Gregorian). */
int64_t fdate_days(int64_t y, int64_t m, int64_t d);
void fdate_civil(int64_t days, int64_t *y, int *m, int *d);

/* Format MS in Z with the SimpleDateFormat pattern PAT (PN bytes) and the
 * names of LOCALE; appends to OUT. 0, -1 (bad pattern: WHY), -2 (OUT over
 * its limit or no memory). */
int fdate_format(int64_t ms, const char *pat, size_t pn, const char *locale,
                 const fzone *z, struct fbuf *out, char *why, size_t wn);
/* Parse S with pattern PAT as SimpleDateFormat (lenient) does; fields not
 * in the pattern are those of 1970-01-01 00:00:00 in Z. NOW_MS places
 * two-digit years. 0 or -1 with WHY. */
int fdate_parse(const char *s, size_t n, const char *pat, size_t pn,
                const char *locale, const fzone *z, int64_t now_ms, int64_t *ms,
                char *why, size_t wn);
/* (fdate_parse_iso rejects a local time in a daylight saving gap, as
 * FreeMarker's ISO parser does; fdate_parse moves it forward, as the
 * lenient SimpleDateFormat does.) */
/* ISO 8601 (extended or basic form) for KIND: "2024-03-05",
 * "14:07[:09[.123]][Z|+hh[:mm]]", "2024-03-05T14:07:09[.123][zone]".
 * Without a zone, the time is local time in Z. */
int fdate_parse_iso(const char *s, size_t n, int kind, const fzone *z,
                    int64_t *ms, char *why, size_t wn);
/* ISO 8601 text of MS of KIND in Z: ACC 0 hours, 1 minutes, 2 seconds,
 * 3 milliseconds when not zero (trailing zeros dropped); SHOWZ prints the
 * offset ("Z" in UTC), for dates too (the caller decides). */
int fdate_iso(int64_t ms, int kind, const fzone *z, int acc, int showz,
              struct fbuf *out);
/* The pattern of a locale style for KIND: DS and TS are 1 short, 2 medium,
 * 3 long, 4 full (TS only for date-times). Static string (BUF is unused,
 * kept for callers), NULL for a locale the engine does not know. */
const char *fdate_style(const char *locale, int kind, int ds, int ts, char *buf,
                        size_t cap);
/* 1..4 for "short", "medium", "long", "full"; 0 otherwise. */
int fdate_style_id(const char *s, size_t n);

#endif
