/*
 * date.c - dates and times (fdate.h): calendar arithmetic, TZif zone files
 * read by this code (never TZ, tzset or localtime), SimpleDateFormat
 * patterns (formatting and parsing, week fields by the locale's first day
 * and minimal days), ISO 8601, and the names, styles and zone names of
 * the JDK 17 CLDR locale data in locale_data.c (what FreeMarker 2.3.31
 * prints on this machine).
 *
 * Zones: a table of at most FDATE_MAX_ZONES loaded zones, filled under a
 * mutex and read without one (an entry is complete before the count that
 * publishes it is stored, with release/acquire ordering); entries live
 * until the process ends. A zone file is read whole, at most
 * FDATE_MAX_TZFILE bytes, and every count in it is checked against the
 * bytes present before use, so a corrupt file is an error, not a crash.
 * Zone names are checked (letters, digits, "_+-/", no "..") before they
 * become a path, so a template cannot read outside the zone directory.
 */
#define _GNU_SOURCE 1

#include "ftl_int.h"
#include "fdate.h"
#include "locale.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- calendar ----------------------------------------------------------- */
static int64_t fdiv(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && ((a < 0) != (b < 0)));
}

int64_t fdate_days(int64_t y, int64_t m, int64_t d)
{
	/* months out of range roll over (SimpleDateFormat is lenient) */
	y += fdiv(m - 1, 12);
	m = m - 1 - fdiv(m - 1, 12) * 12 + 1;
	{
		int64_t yy = m <= 2 ? y - 1 : y;
		int64_t era = fdiv(yy, 400);
		int64_t yoe = yy - era * 400;
		int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5;
		int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
		return era * 146097 + doe - 719468 + d - 1;
	}
}

void fdate_civil(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, doe, yoe, doy, mp;
	z += 719468;
	era = fdiv(z, 146097);
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static int is_leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* ---- zones -------------------------------------------------------------- */
typedef struct ztype {
	int32_t off;
	uint8_t dst;
	uint8_t abbr; /* index into abbrs */
} ztype;

/* A POSIX TZ rule (the TZif footer): std/dst offsets (seconds east of
 * UTC) and the two transitions. */
typedef struct zrule {
	int32_t std_off, dst_off;
	char std_abbr[16], dst_abbr[16];
	int has_dst;
	/* kind 'M': month, week, weekday; 'J': julian 1..365 w/o Feb 29;
	 * 'N': 0..365 */
	struct {
		char kind;
		int m, w, wd, day;
		int32_t secs;
	} start, end;
} zrule;

struct fzone {
	char id[64];
	size_t ntrans, ntypes;
	int64_t *trans;      /* UTC seconds */
	uint8_t *trans_type; /* per transition */
	ztype *types;
	char *abbrs; /* NUL-separated */
	size_t nabbrs;
	int has_rule;
	zrule rule;
	int32_t fixed; /* no transitions, no rule: this offset */
	char fixed_abbr[16];
};

static pthread_mutex_t zone_mu = PTHREAD_MUTEX_INITIALIZER;
static fzone *zones[FDATE_MAX_ZONES];
static atomic_size_t nzones;

static fzone utc_zone = {.id = "UTC", .fixed = 0, .fixed_abbr = "UTC"};

const fzone *fdate_utc(void)
{
	return &utc_zone;
}

__attribute__((format(printf, 3, 4))) static void say(char *why, size_t wn,
                                                      const char *fmt, ...)
{
	va_list ap;
	if (!why || !wn)
		return;
	va_start(ap, fmt);
	vsnprintf(why, wn, fmt, ap);
	va_end(ap);
}

static uint32_t be32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static int64_t be64(const unsigned char *p)
{
	return (int64_t)((uint64_t)be32(p) << 32 | be32(p + 4));
}

/* POSIX TZ parts. Returns the position after, or NULL. */
static const char *tz_name(const char *s, char *out, size_t cap)
{
	size_t n = 0;
	if (*s == '<') {
		s++;
		while (*s && *s != '>') {
			if (n + 1 < cap)
				out[n++] = *s;
			s++;
		}
		if (*s != '>')
			return NULL;
		s++;
	} else {
		while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z')) {
			if (n + 1 < cap)
				out[n++] = *s;
			s++;
		}
	}
	out[n] = 0;
	return n >= 3 ? s : NULL;
}

static const char *tz_time(const char *s, int32_t *secs)
{
	int sign = 1, h = 0, m = 0, sec = 0;
	if (*s == '+' || *s == '-')
		sign = *s++ == '-' ? -1 : 1;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9')
		h = h * 10 + (*s++ - '0');
	if (*s == ':') {
		s++;
		while (*s >= '0' && *s <= '9')
			m = m * 10 + (*s++ - '0');
		if (*s == ':') {
			s++;
			while (*s >= '0' && *s <= '9')
				sec = sec * 10 + (*s++ - '0');
		}
	}
	if (h > 167 || m > 59 || sec > 59)
		return NULL;
	*secs = sign * (h * 3600 + m * 60 + sec);
	return s;
}

static const char *tz_num(const char *s, int *v)
{
	*v = 0;
	if (*s < '0' || *s > '9')
		return NULL;
	while (*s >= '0' && *s <= '9' && *v < 1000)
		*v = *v * 10 + (*s++ - '0');
	return s;
}

static const char *tz_date(const char *s, char *kind, int *m, int *w, int *wd,
                           int *day, int32_t *secs)
{
	*secs = 7200;
	if (*s == 'M') {
		*kind = 'M';
		if (!(s = tz_num(s + 1, m)) || *s++ != '.' ||
		    !(s = tz_num(s, w)) || *s++ != '.' || !(s = tz_num(s, wd)))
			return NULL;
		if (*m < 1 || *m > 12 || *w < 1 || *w > 5 || *wd > 6)
			return NULL;
	} else if (*s == 'J') {
		*kind = 'J';
		if (!(s = tz_num(s + 1, day)) || *day < 1 || *day > 365)
			return NULL;
	} else {
		*kind = 'N';
		if (!(s = tz_num(s, day)) || *day > 365)
			return NULL;
	}
	if (*s == '/')
		s = tz_time(s + 1, secs);
	return s;
}

static int parse_rule(const char *s, zrule *r)
{
	int32_t t;
	memset(r, 0, sizeof(*r));
	if (!(s = tz_name(s, r->std_abbr, sizeof(r->std_abbr))) ||
	    !(s = tz_time(s, &t)))
		return -1;
	r->std_off = -t;
	if (!*s)
		return 0;
	if (!(s = tz_name(s, r->dst_abbr, sizeof(r->dst_abbr))))
		return -1;
	r->has_dst = 1;
	r->dst_off = r->std_off + 3600;
	if (*s && *s != ',') {
		if (!(s = tz_time(s, &t)))
			return -1;
		r->dst_off = -t;
	}
	if (*s++ != ',')
		return -1;
	if (!(s = tz_date(s, &r->start.kind, &r->start.m, &r->start.w,
	                  &r->start.wd, &r->start.day, &r->start.secs)) ||
	    *s++ != ',' ||
	    !(s = tz_date(s, &r->end.kind, &r->end.m, &r->end.w, &r->end.wd,
	                  &r->end.day, &r->end.secs)) ||
	    *s)
		return -1;
	return 0;
}

/* Day number (since 1970) of a rule date in year Y. */
static int64_t rule_day(int64_t y, char kind, int m, int w, int wd, int day)
{
	if (kind == 'J') {
		int64_t d = fdate_days(y, 1, 1) + day - 1;
		if (is_leap(y) && day >= 60)
			d++;
		return d;
	}
	if (kind == 'N')
		return fdate_days(y, 1, 1) + day;
	{
		int64_t first = fdate_days(y, m, 1);
		int64_t dow = ((first + 4) % 7 + 7) % 7; /* 1970-01-01: Thu */
		int64_t d = first + ((wd - dow) % 7 + 7) % 7 + (w - 1) * 7;
		int64_t next = fdate_days(y, m + 1, 1);
		while (d >= next)
			d -= 7;
		return d;
	}
}

static int rule_offset(const zrule *r, int64_t t, int *dst)
{
	int64_t y, s, e;
	int mo, da;
	*dst = 0;
	if (!r->has_dst)
		return r->std_off;
	fdate_civil(fdiv(t + r->std_off, 86400), &y, &mo, &da);
	s = rule_day(y, r->start.kind, r->start.m, r->start.w, r->start.wd,
	             r->start.day) *
	            86400 +
	    r->start.secs - r->std_off;
	e = rule_day(y, r->end.kind, r->end.m, r->end.w, r->end.wd,
	             r->end.day) *
	            86400 +
	    r->end.secs - r->dst_off;
	if (s < e)
		*dst = t >= s && t < e;
	else
		*dst = !(t >= e && t < s);
	return *dst ? r->dst_off : r->std_off;
}

static int name_ok(const char *s, size_t n)
{
	if (n == 0 || n >= 64 || s[0] == '/' || s[0] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		      (c >= '0' && c <= '9') || c == '_' || c == '+' ||
		      c == '-' || c == '/'))
			return 0;
		if (c == '.' || (c == '/' && i + 1 < n && s[i + 1] == '.'))
			return 0;
	}
	return 1;
}

/* "GMT+2", "GMT+02:00", "GMT-0530" (Java's custom zone ids): 1, with the
 * offset in seconds, 0 when S is not of that form. */
static int gmt_offset(const char *s, size_t n, int32_t *off)
{
	size_t i = 4;
	int h = 0, m = 0, hd = 0;
	if (n < 5 || memcmp(s, "GMT", 3) != 0 || (s[3] != '+' && s[3] != '-'))
		return 0;
	while (i < n && s[i] >= '0' && s[i] <= '9' && hd < 4)
		h = h * 10 + (s[i++] - '0'), hd++;
	if (hd == 0)
		return 0;
	if (i < n && s[i] == ':') {
		if (hd > 2 || i + 3 != n || s[i + 1] < '0' || s[i + 1] > '9' ||
		    s[i + 2] < '0' || s[i + 2] > '9')
			return 0;
		m = (s[i + 1] - '0') * 10 + (s[i + 2] - '0');
		i += 3;
	} else if (hd > 2) {
		if (hd == 3)
			return 0;
		m = h % 100;
		h /= 100;
	}
	if (i != n || h > 23 || m > 59)
		return 0;
	*off = (s[3] == '-' ? -1 : 1) * (h * 3600 + m * 60);
	return 1;
}

static fzone *load_tzif(const char *name, char *why, size_t wn)
{
	char path[sizeof(FTL_ZONEINFO_DIR) + 80];
	unsigned char *buf = NULL;
	size_t len = 0;
	fzone *z = NULL;
	int fd;
	snprintf(path, sizeof(path), "%s/%s", FTL_ZONEINFO_DIR, name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		say(why, wn,
		    "time zone \"%s\" is unknown (use an IANA name such as "
		    "\"Europe/Berlin\", \"UTC\" or an offset such as "
		    "\"GMT+02:00\")",
		    name);
		return NULL;
	}
	buf = malloc(FDATE_MAX_TZFILE);
	if (buf) {
		ssize_t r;
		while (len < FDATE_MAX_TZFILE &&
		       (r = read(fd, buf + len, FDATE_MAX_TZFILE - len)) != 0) {
			if (r < 0) {
				if (errno == EINTR)
					continue;
				break;
			}
			len += (size_t)r;
		}
	}
	close(fd);
	if (!buf)
		goto nomem;
	{
		const unsigned char *p = buf, *end = buf + len;
		uint32_t cnt[6];
		size_t tsize = 4, need;
		int v2;
		if (len < 44 || memcmp(p, "TZif", 4) != 0)
			goto bad;
		v2 = p[4] >= '2';
		for (int i = 0; i < 6; i++)
			cnt[i] = be32(p + 20 + 4 * i);
		if (v2) {
			/* skip the 32-bit block to the 64-bit one */
			need = (size_t)cnt[3] * 5 + (size_t)cnt[4] * 6 +
			       cnt[5] + (size_t)cnt[2] * 8 + cnt[1] + cnt[0];
			if (need > len - 44)
				goto bad;
			p += 44 + need;
			if ((size_t)(end - p) < 44 || memcmp(p, "TZif", 4))
				goto bad;
			for (int i = 0; i < 6; i++)
				cnt[i] = be32(p + 20 + 4 * i);
			tsize = 8;
		}
		/* isutcnt isstdcnt leapcnt timecnt typecnt charcnt */
		if (cnt[4] == 0 || cnt[4] > 256 || cnt[3] > 100000 ||
		    cnt[5] > 4096)
			goto bad;
		need = (size_t)cnt[3] * (tsize + 1) + (size_t)cnt[4] * 6 +
		       cnt[5] + (size_t)cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
		p += 44;
		if (need > (size_t)(end - p))
			goto bad;
		z = calloc(1, sizeof(*z));
		if (!z)
			goto nomem;
		snprintf(z->id, sizeof(z->id), "%s", name);
		z->ntrans = cnt[3];
		z->ntypes = cnt[4];
		z->trans = calloc(z->ntrans + 1, sizeof(*z->trans));
		z->trans_type = calloc(z->ntrans + 1, 1);
		z->types = calloc(z->ntypes, sizeof(*z->types));
		z->abbrs = calloc(cnt[5] + 1, 1);
		if (!z->trans || !z->trans_type || !z->types || !z->abbrs)
			goto nomem;
		for (size_t i = 0; i < z->ntrans; i++, p += tsize)
			z->trans[i] = tsize == 8 ? be64(p) : (int32_t)be32(p);
		for (size_t i = 0; i < z->ntrans; i++, p++) {
			if (*p >= z->ntypes)
				goto bad;
			z->trans_type[i] = *p;
		}
		for (size_t i = 0; i < z->ntypes; i++, p += 6) {
			z->types[i].off = (int32_t)be32(p);
			z->types[i].dst = p[4];
			z->types[i].abbr = p[5];
			if (p[5] >= cnt[5])
				goto bad;
		}
		memcpy(z->abbrs, p, cnt[5]);
		z->nabbrs = cnt[5];
		p += cnt[5] + (size_t)cnt[2] * (tsize + 4) + cnt[1] + cnt[0];
		if (v2 && p < end && *p == '\n') {
			const unsigned char *q =
			        memchr(p + 1, '\n', (size_t)(end - p - 1));
			char foot[128];
			if (q && (size_t)(q - p - 1) < sizeof(foot) &&
			    q > p + 1) {
				memcpy(foot, p + 1, (size_t)(q - p - 1));
				foot[q - p - 1] = 0;
				if (parse_rule(foot, &z->rule) == 0)
					z->has_rule = 1;
			}
		}
		z->fixed = z->types[0].off;
		snprintf(z->fixed_abbr, sizeof(z->fixed_abbr), "%s",
		         z->abbrs + z->types[0].abbr);
	}
	free(buf);
	return z;
bad:
	say(why, wn,
	    "time zone \"%s\": the zone file is not a valid TZif file "
	    "(reinstall tzdata)",
	    name);
	goto out;
nomem:
	say(why, wn, "time zone \"%s\": out of memory", name);
out:
	free(buf);
	if (z) {
		free(z->trans);
		free(z->trans_type);
		free(z->types);
		free(z->abbrs);
		free(z);
	}
	return NULL;
}

const fzone *fdate_zone(const char *name, size_t n, char *why, size_t wn)
{
	char nm[64];
	size_t cnt;
	fzone *z = NULL;
	int32_t off;
	if (n >= sizeof(nm) || memchr(name, 0, n)) {
		say(why, wn, "%s",
		    "time zone name too long (at most 63 bytes)");
		return NULL;
	}
	memcpy(nm, name, n);
	nm[n] = 0;
	if (strcmp(nm, "UTC") == 0)
		return &utc_zone;
	cnt = atomic_load_explicit(&nzones, memory_order_acquire);
	for (size_t i = 0; i < cnt; i++)
		if (strcmp(zones[i]->id, nm) == 0)
			return zones[i];
	if (gmt_offset(nm, n, &off)) {
		z = calloc(1, sizeof(*z));
		if (!z) {
			say(why, wn, "%s", "out of memory");
			return NULL;
		}
		/* Java names custom zones "GMT+hh:mm" */
		snprintf(z->id, sizeof(z->id), "%s", nm);
		z->fixed = off;
		snprintf(z->fixed_abbr, sizeof(z->fixed_abbr), "GMT%c%02d:%02d",
		         off < 0 ? '-' : '+',
		         (int)(off < 0 ? -off : off) / 3600,
		         (int)((off < 0 ? -off : off) % 3600) / 60);
	} else if (!name_ok(nm, n)) {
		say(why, wn,
		    "time zone \"%s\" is not a valid name (use an IANA name "
		    "such as \"Europe/Berlin\", \"UTC\" or an offset such as "
		    "\"GMT+02:00\")",
		    nm);
		return NULL;
	}
	pthread_mutex_lock(&zone_mu);
	cnt = atomic_load_explicit(&nzones, memory_order_relaxed);
	for (size_t i = 0; i < cnt; i++)
		if (strcmp(zones[i]->id, nm) == 0) {
			pthread_mutex_unlock(&zone_mu);
			free(z);
			return zones[i];
		}
	if (cnt >= FDATE_MAX_ZONES) {
		pthread_mutex_unlock(&zone_mu);
		free(z);
		say(why, wn,
		    "time zone \"%s\": too many different time zones used "
		    "(at most 64 per process)",
		    nm);
		return NULL;
	}
	if (!z)
		z = load_tzif(nm, why, wn);
	if (z) {
		zones[cnt] = z;
		atomic_store_explicit(&nzones, cnt + 1, memory_order_release);
	}
	pthread_mutex_unlock(&zone_mu);
	return z;
}

int fdate_offset(const fzone *z, int64_t ms, const char **abbr)
{
	int64_t t = fdiv(ms, 1000);
	const ztype *ty;
	if (z->ntypes == 0) {
		if (abbr)
			*abbr = z->fixed_abbr;
		return z->fixed;
	}
	if (z->ntrans == 0 || t >= z->trans[z->ntrans - 1]) {
		if (z->has_rule &&
		    (z->ntrans == 0 || t >= z->trans[z->ntrans - 1])) {
			int dst;
			int off = rule_offset(&z->rule, t, &dst);
			if (abbr)
				*abbr = dst ? z->rule.dst_abbr
				            : z->rule.std_abbr;
			return off;
		}
		ty = &z->types[z->ntrans ? z->trans_type[z->ntrans - 1] : 0];
	} else if (t < z->trans[0]) {
		size_t i = 0;
		while (i < z->ntypes && z->types[i].dst)
			i++;
		ty = &z->types[i < z->ntypes ? i : 0];
	} else {
		size_t lo = 0, hi = z->ntrans - 1; /* trans[lo] <= t < [hi] */
		while (hi - lo > 1) {
			size_t mid = lo + (hi - lo) / 2;
			if (z->trans[mid] <= t)
				lo = mid;
			else
				hi = mid;
		}
		ty = &z->types[z->trans_type[lo]];
	}
	if (abbr)
		*abbr = z->abbrs + ty->abbr;
	return ty->off;
}

int64_t fdate_from_local(const fzone *z, int64_t local)
{
	/* two probes: the offset a few hours on each side of the local
	 * time; in a gap the later instant, in an overlap the earlier */
	int64_t a =
	        local - (int64_t)fdate_offset(z, local - 86400000, NULL) * 1000;
	int64_t b =
	        local - (int64_t)fdate_offset(z, local + 86400000, NULL) * 1000;
	int oa = fdate_offset(z, a, NULL), ob = fdate_offset(z, b, NULL);
	int ok_a = local - (int64_t)oa * 1000 == a;
	int ok_b = local - (int64_t)ob * 1000 == b;
	if (ok_a && ok_b)
		return a < b ? a : b;
	if (ok_a)
		return a;
	if (ok_b)
		return b;
	/* a gap: Java moves forward by the gap (uses the earlier offset) */
	return local - (int64_t)fdate_offset(z, local - 86400000, NULL) * 1000;
}

/* ---- locale names ---------------------------------------------------------
 * From the generated table (locale.h): every locale there has dates. A
 * locale not in it gets an error rather than another locale's names. */
typedef flocale dnames;

static const dnames *names_of(const char *locale)
{
	return flocale_find(locale);
}

int fdate_style_id(const char *s, size_t n)
{
	static const char *const st[] = {"short", "medium", "long", "full"};
	for (int i = 0; i < 4; i++)
		if (strlen(st[i]) == n && memcmp(st[i], s, n) == 0)
			return i + 1;
	return 0;
}

const char *fdate_style(const char *locale, int kind, int ds, int ts, char *buf,
                        size_t cap)
{
	const dnames *L = names_of(locale);
	if (!L || ds < 1 || ds > 4)
		return NULL;
	if (kind == FD_DATE)
		return L->dstyle[ds - 1];
	if (kind == FD_TIME)
		return L->tstyle[ds - 1];
	if (ts < 1 || ts > 4)
		ts = ds;
	(void)buf;
	(void)cap;
	/* the JDK's own date-time patterns: how it joins the two ("at",
	 * "um", "à", ", ") differs by locale and by style */
	return L->dtstyle[(ds - 1) * 4 + ts - 1];
}

/* ---- formatting ------------------------------------------------------------
 */
static int put(fbuf *b, const char *s, size_t n)
{
	return fbuf_put(b, s, n) ? -2 : 0;
}

/* V zero-padded to WIDTH digits (at most 20), as "%0*lld" (without
 * snprintf: it was a quarter of a date-heavy render). */
static int putnum(fbuf *b, int64_t v, int width)
{
	char tmp[24];
	int n = (int)sizeof(tmp);
	uint64_t u = (uint64_t)v;
	if (v < 0) {
		if (fbuf_putc(b, '-'))
			return -2;
		u = 0 - u;
	}
	if (width > 20)
		width = 20;
	do {
		tmp[--n] = (char)('0' + (int)(u % 10));
		u /= 10;
	} while (u);
	while ((int)sizeof(tmp) - n < width)
		tmp[--n] = '0';
	return put(b, tmp + n, sizeof(tmp) - (size_t)n);
}

static int put_off(fbuf *b, int off, int colon, int zulu, int mins)
{
	char tmp[16];
	int a = off < 0 ? -off : off;
	if (zulu && off == 0)
		return put(b, "Z", 1);
	if (!mins)
		snprintf(tmp, sizeof(tmp), "%c%02d", off < 0 ? '-' : '+',
		         a / 3600);
	else
		snprintf(tmp, sizeof(tmp), colon ? "%c%02d:%02d" : "%c%02d%02d",
		         off < 0 ? '-' : '+', a / 3600, a % 3600 / 60);
	return put(b, tmp, strlen(tmp));
}

/* Broken-down local time. */
typedef struct ftm {
	int64_t y;
	int mo, d, h, mi, s, ms, wd, yd;
	int off;
	const char *abbr;
} ftm;

static void breakdown(int64_t ms, const fzone *z, ftm *t)
{
	int64_t loc, days, rem;
	t->off = fdate_offset(z, ms, &t->abbr);
	loc = ms + (int64_t)t->off * 1000;
	days = fdiv(loc, 86400000);
	rem = loc - days * 86400000;
	fdate_civil(days, &t->y, &t->mo, &t->d);
	t->h = (int)(rem / 3600000);
	t->mi = (int)(rem / 60000 % 60);
	t->s = (int)(rem / 1000 % 60);
	t->ms = (int)(rem % 1000);
	t->wd = (int)(((days + 4) % 7 + 7) % 7);
	t->yd = (int)(days - fdate_days(t->y, 1, 1)) + 1;
}

/* The JDK 17 (CLDR) long names of the zones SMS reminders use most, by
 * region and abbreviation (tzdata has only the abbreviations; an
 * abbreviation alone is ambiguous: CST, IST). Others print the
 * abbreviation (docs/templates.md). */
static const struct {
	const char *region, *abbr, *en, *de;
} long_names[] = {
        {"UTC", "UTC", "Coordinated Universal Time", "Koordinierte Weltzeit"},
        {"Europe/", "CET", "Central European Standard Time",
         "Mitteleurop\xc3\xa4ische Normalzeit"},
        {"Europe/", "CEST", "Central European Summer Time",
         "Mitteleurop\xc3\xa4ische Sommerzeit"},
        {"Europe/", "EET", "Eastern European Standard Time",
         "Osteurop\xc3\xa4ische Normalzeit"},
        {"Europe/", "EEST", "Eastern European Summer Time",
         "Osteurop\xc3\xa4ische Sommerzeit"},
        {"Europe/", "WET", "Western European Standard Time",
         "Westeurop\xc3\xa4ische Normalzeit"},
        {"Europe/", "WEST", "Western European Summer Time",
         "Westeurop\xc3\xa4ische Sommerzeit"},
        {"Europe/London", "GMT", "Greenwich Mean Time",
         "Mittlere Greenwich-Zeit"},
        {"Europe/London", "BST", "British Summer Time", "Britische Sommerzeit"},
        {"America/", "EST", "Eastern Standard Time",
         "Nordamerikanische Ostk\xc3\xbcsten-Normalzeit"},
        {"America/", "EDT", "Eastern Daylight Time",
         "Nordamerikanische Ostk\xc3\xbcsten-Sommerzeit"},
        {"America/", "CST", "Central Standard Time",
         "Nordamerikanische Inland-Normalzeit"},
        {"America/", "CDT", "Central Daylight Time",
         "Nordamerikanische Inland-Sommerzeit"},
        {"America/", "MST", "Mountain Standard Time",
         "Rocky Mountain-Normalzeit"},
        {"America/", "MDT", "Mountain Daylight Time",
         "Rocky-Mountain-Sommerzeit" /* sic, JDK 17 */},
        {"America/", "PST", "Pacific Standard Time",
         "Nordamerikanische Westk\xc3\xbcsten-Normalzeit"},
        {"America/", "PDT", "Pacific Daylight Time",
         "Nordamerikanische Westk\xc3\xbcsten-Sommerzeit"},
};

static int is_lang(const dnames *L, const char *lang)
{
	return strncmp(L->num.name, lang, 2) == 0;
}

/* German short names of the European zones (JDK 17: "MEZ"), for zones
 * the generated table does not name. */
static const char *short_zone_name(const fzone *z, const char *abbr,
                                   const dnames *L)
{
	static const char *const de_short[][2] = {
	        {"CET", "MEZ"},   {"CEST", "MESZ"}, {"EET", "OEZ"},
	        {"EEST", "OESZ"}, {"WET", "WEZ"},   {"WEST", "WESZ"}};
	if (!is_lang(L, "de") || strncmp(z->id, "Europe/", 7) != 0)
		return abbr;
	for (size_t i = 0; i < sizeof(de_short) / sizeof(de_short[0]); i++)
		if (strcmp(abbr, de_short[i][0]) == 0)
			return de_short[i][1];
	return abbr;
}

static const char *long_zone_name(const fzone *z, const char *abbr,
                                  const dnames *L)
{
	if (!is_lang(L, "de") && !is_lang(L, "en"))
		return abbr;
	for (size_t i = 0; i < sizeof(long_names) / sizeof(long_names[0]);
	     i++) {
		size_t rn = strlen(long_names[i].region);
		int whole = long_names[i].region[rn - 1] != '/';
		if (strcmp(abbr, long_names[i].abbr) == 0 &&
		    (whole ? strcmp(z->id, long_names[i].region) == 0
		           : strncmp(z->id, long_names[i].region, rn) == 0))
			return is_lang(L, "de") ? long_names[i].de
			                        : long_names[i].en;
	}
	return abbr;
}

/* The locale's name of zone Z at offset OFF: the generated table first
 * (the JDK's names of the zones it lists), then the tables above. */
static const char *zone_name(const fzone *z, const ftm *t, const dnames *L,
                             int lng)
{
	for (size_t i = 0; i < L->nzones; i++)
		if (L->zones[i].off == t->off &&
		    strcmp(L->zones[i].zone, z->id) == 0)
			return lng ? L->zones[i].lng : L->zones[i].shrt;
	return lng ? long_zone_name(z, t->abbr, L)
	           : short_zone_name(z, t->abbr, L);
}

/* Java's week fields (GregorianCalendar with the locale's first day of
 * the week FDOW, 1 = Sunday, and minimal days MIN): the week of the
 * period whose first day is day FIRST (days since 1970) holding day DAY,
 * 0 when DAY is before the period's week 1. */
static int64_t week_in(int64_t first, int64_t day, int fdow, int min)
{
	int dow1 = (int)(((first + 4) % 7 + 7) % 7) + 1; /* 1 = Sunday */
	int rel = ((dow1 - fdow) % 7 + 7) % 7;
	return fdiv(day - first + rel, 7) + (7 - rel >= min ? 1 : 0);
}

/* Week of year and week-based year of local day DAYS in year Y. */
static void week_of_year(int64_t days, int64_t y, const dnames *L, int64_t *woy,
                         int64_t *wy)
{
	int fdow = L ? L->first_dow : 1, min = L ? L->min_days : 1;
	int64_t w = week_in(fdate_days(y, 1, 1), days, fdow, min);
	int64_t wn = week_in(fdate_days(y + 1, 1, 1), days, fdow, min);
	*wy = y;
	if (wn >= 1) { /* already in week 1 of next year */
		*woy = wn;
		*wy = y + 1;
	} else if (w == 0) { /* the last week of the year before */
		*woy = week_in(fdate_days(y - 1, 1, 1), days, fdow, min);
		*wy = y - 1;
	} else {
		*woy = w;
	}
}

int fdate_format(int64_t ms, const char *pat, size_t pn, const char *locale,
                 const fzone *z, fbuf *out, char *why, size_t wn)
{
	const dnames *L = names_of(locale);
	ftm t;
	size_t i = 0;
	int r = 0, fields = 0, only_m = 0;
	/* SimpleDateFormat names a month standalone ("LLLL") when the
	 * month is the pattern's only field: en_AU "MMM" is "Jul", "d MMM"
	 * "4 July" */
	for (size_t k = 0; k < pn; k++) {
		char ch = pat[k];
		if (ch == '\'') {
			while (++k < pn && pat[k] != '\'')
				;
			continue;
		}
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z')) {
			fields++;
			only_m = ch == 'M';
			while (k + 1 < pn && pat[k + 1] == ch)
				k++;
		}
	}
	only_m = only_m && fields == 1;
	breakdown(ms, z, &t);
	while (i < pn && r == 0) {
		char ch = pat[i];
		size_t cnt = 1;
		if (ch == '\'') {
			if (i + 1 < pn && pat[i + 1] == '\'') {
				r = put(out, "'", 1);
				i += 2;
				continue;
			}
			i++;
			while (i < pn) {
				if (pat[i] == '\'') {
					if (i + 1 < pn && pat[i + 1] == '\'') {
						r = put(out, "'", 1);
						i += 2;
						continue;
					}
					break;
				}
				if ((r = put(out, pat + i, 1)))
					break;
				i++;
			}
			if (i >= pn) {
				say(why, wn,
				    "date pattern \"%s\": unterminated quote "
				    "(write '' for a quote)",
				    "");
				return -1;
			}
			i++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
			r = put(out, pat + i, 1);
			i++;
			continue;
		}
		while (i + cnt < pn && pat[i + cnt] == ch)
			cnt++;
		i += cnt;
		if (!L &&
		    (ch == 'E' || ((ch == 'M' || ch == 'L') && cnt >= 3) ||
		     ch == 'a' || ch == 'G')) {
			say(why, wn,
			    "month, day and AM/PM names are not known for the "
			    "locale %s (use a locale of docs/templates.md or "
			    "numeric fields)",
			    locale ? locale : "?");
			return -1;
		}
		switch (ch) {
		case 'Y':
		case 'w': {
			int64_t woy, wy;
			week_of_year(fdiv(ms + (int64_t)t.off * 1000, 86400000),
			             t.y, L, &woy, &wy);
			if (ch == 'w') {
				r = putnum(out, woy, (int)cnt);
			} else {
				int64_t y = wy > 0 ? wy : 1 - wy;
				r = cnt == 2 ? putnum(out, y % 100, 2)
				             : putnum(out, y, (int)cnt);
			}
			break;
		}
		case 'W': {
			int64_t day =
			        fdiv(ms + (int64_t)t.off * 1000, 86400000);
			r = putnum(out,
			           week_in(fdate_days(t.y, t.mo, 1), day,
			                   L ? L->first_dow : 1,
			                   L ? L->min_days : 1),
			           (int)cnt);
			break;
		}
		case 'L':
		standalone:
			if (cnt >= 4)
				r = put(out, L->mon_a[t.mo - 1],
				        strlen(L->mon_a[t.mo - 1]));
			else if (cnt == 3)
				r = put(out, L->mon_as[t.mo - 1],
				        strlen(L->mon_as[t.mo - 1]));
			else
				r = putnum(out, t.mo, (int)cnt);
			break;
		case 'G':
			r = put(out, L->era[t.y > 0], strlen(L->era[t.y > 0]));
			break;
		case 'y':
		case 'u':
			if (ch == 'u') {
				r = putnum(out, t.wd == 0 ? 7 : t.wd, (int)cnt);
				break;
			}
			{
				int64_t y = t.y > 0 ? t.y : 1 - t.y;
				r = cnt == 2 ? putnum(out, y % 100, 2)
				             : putnum(out, y, (int)cnt);
			}
			break;
		case 'M':
			if (only_m && cnt >= 3)
				goto standalone;
			if (cnt >= 4)
				r = put(out, L->mon[t.mo - 1],
				        strlen(L->mon[t.mo - 1]));
			else if (cnt == 3)
				r = put(out, L->mon_s[t.mo - 1],
				        strlen(L->mon_s[t.mo - 1]));
			else
				r = putnum(out, t.mo, (int)cnt);
			break;
		case 'd': r = putnum(out, t.d, (int)cnt); break;
		case 'D': r = putnum(out, t.yd, (int)cnt); break;
		case 'F': r = putnum(out, (t.d - 1) / 7 + 1, (int)cnt); break;
		case 'E':
			r = cnt >= 4 ? put(out, L->day[t.wd],
			                   strlen(L->day[t.wd]))
			             : put(out, L->day_s[t.wd],
			                   strlen(L->day_s[t.wd]));
			break;
		case 'a':
			r = put(out, L->ampm[t.h >= 12],
			        strlen(L->ampm[t.h >= 12]));
			break;
		case 'H': r = putnum(out, t.h, (int)cnt); break;
		case 'k': r = putnum(out, t.h == 0 ? 24 : t.h, (int)cnt); break;
		case 'K': r = putnum(out, t.h % 12, (int)cnt); break;
		case 'h':
			r = putnum(out, t.h % 12 == 0 ? 12 : t.h % 12,
			           (int)cnt);
			break;
		case 'm': r = putnum(out, t.mi, (int)cnt); break;
		case 's': r = putnum(out, t.s, (int)cnt); break;
		case 'S': r = putnum(out, t.ms, (int)cnt); break;
		case 'z': {
			const char *a =
			        !L ? t.abbr : zone_name(z, &t, L, cnt >= 4);
			if (a[0] == '+' || a[0] == '-') {
				/* tzdata's numeric abbreviations: the JDK
				 * says GMT+hh:mm */
				r = put(out, "GMT", 3);
				if (!r)
					r = put_off(out, t.off, 1, 0, 1);
			} else {
				r = put(out, a, strlen(a));
			}
			break;
		}
		case 'Z': r = put_off(out, t.off, 0, 0, 1); break;
		case 'X':
			if (cnt > 3) {
				say(why, wn, "%s",
				    "date pattern: X may be repeated at most 3 "
				    "times");
				return -1;
			}
			r = put_off(out, t.off, cnt == 3, 1, cnt > 1);
			break;
		default:
			if (why && wn)
				snprintf(why, wn,
				         "date pattern letter '%c' is not "
				         "supported (use G y Y M L w W D d F E "
				         "u "
				         "a H k K h m s S z Z X, and quote "
				         "literal text: 'at')",
				         ch);
			return -1;
		}
	}
	return r;
}

int fdate_iso(int64_t ms, int kind, const fzone *z, int acc, int showz,
              fbuf *out)
{
	ftm t;
	char tmp[64];
	int n = 0;
	breakdown(ms, z, &t);
	if (kind != FD_TIME) {
		if (t.y < 0 || t.y > 9999)
			n = snprintf(tmp, sizeof(tmp), "%lld-%02d-%02d",
			             (long long)t.y, t.mo, t.d);
		else
			n = snprintf(tmp, sizeof(tmp), "%04lld-%02d-%02d",
			             (long long)t.y, t.mo, t.d);
		if (put(out, tmp, (size_t)n))
			return -2;
		if (kind == FD_DATE)
			return showz ? put_off(out, t.off, 1, 1, 1) : 0;
		if (fbuf_putc(out, 'T'))
			return -2;
	}
	n = snprintf(tmp, sizeof(tmp), "%02d", t.h);
	if (acc >= 1)
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ":%02d", t.mi);
	if (acc >= 2)
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ":%02d", t.s);
	if (acc == 3 && t.ms) {
		/* FreeMarker: milliseconds when not zero, without trailing
		 * zeros (".5") */
		n += snprintf(tmp + n, sizeof(tmp) - (size_t)n, ".%03d", t.ms);
		while (tmp[n - 1] == '0')
			tmp[--n] = 0;
	}
	if (put(out, tmp, (size_t)n))
		return -2;
	if (showz)
		return put_off(out, t.off, 1, 1, 1);
	return 0;
}

/* ---- parsing --------------------------------------------------------------
 */
static int digits(const char *s, size_t n, size_t *i, size_t max, int64_t *v)
{
	size_t st = *i;
	*v = 0;
	while (*i < n && *i - st < max && s[*i] >= '0' && s[*i] <= '9') {
		if (*v > 100000000000LL)
			return -1;
		*v = *v * 10 + (s[(*i)++] - '0');
	}
	return *i > st ? 0 : -1;
}

/* A zone offset at S+*I: Z, +hh, +hhmm, +hh:mm. */
static int parse_off(const char *s, size_t n, size_t *i, int *off)
{
	int64_t h = 0, m = 0;
	int sign;
	size_t st;
	if (*i < n && s[*i] == 'Z') {
		(*i)++;
		*off = 0;
		return 0;
	}
	if (*i >= n || (s[*i] != '+' && s[*i] != '-'))
		return -1;
	sign = s[(*i)++] == '-' ? -1 : 1;
	st = *i;
	if (digits(s, n, i, 2, &h) || *i - st != 2)
		return -1;
	if (*i < n && s[*i] == ':')
		(*i)++;
	st = *i;
	if (*i < n && s[*i] >= '0' && s[*i] <= '9' &&
	    (digits(s, n, i, 2, &m) || *i - st != 2))
		return -1;
	if (h > 23 || m > 59)
		return -1;
	*off = sign * (int)(h * 3600 + m * 60);
	return 0;
}

static int iso_bad(char *why, size_t wn, const char *what)
{
	say(why, wn,
	    "the string is not an ISO 8601 %s (expected the form "
	    "\"2024-03-05T14:07:09Z\", \"2024-03-05\" or \"14:07:09\")",
	    what);
	return -1;
}

int fdate_parse_iso(const char *s, size_t n, int kind, const fzone *z,
                    int64_t *ms, char *why, size_t wn)
{
	size_t i = 0, st;
	int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, se = 0, frac = 0;
	int off = 0, has_off = 0, basic = 0;
	const char *what = kind == FD_DATE   ? "date"
	                   : kind == FD_TIME ? "time"
	                                     : "date-time";
	if (kind != FD_TIME) {
		int neg = 0;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			neg = s[i++] == '-';
		st = i;
		/* at most 6 digits of year before the basic form's 8:
		 * the instant then fits in 64 bits of milliseconds */
		if (digits(s, n, &i, 8, &y) || i - st < 4 ||
		    (i - st > 6 && (i - st != 8 || neg)))
			return iso_bad(why, wn, what);
		if (i - st == 8 && !neg) { /* basic: 20240305 */
			d = y % 100;
			mo = y / 100 % 100;
			y /= 10000;
			basic = 1;
		} else {
			if (neg)
				y = -y;
			if (i >= n || s[i++] != '-')
				return iso_bad(why, wn, what);
			st = i;
			if (digits(s, n, &i, 2, &mo) || i - st != 2 || i >= n ||
			    s[i++] != '-')
				return iso_bad(why, wn, what);
			st = i;
			if (digits(s, n, &i, 2, &d) || i - st != 2)
				return iso_bad(why, wn, what);
		}
		if (mo < 1 || mo > 12 || d < 1 ||
		    d > (mo == 2 ? 28 + is_leap(y)
		                 : 30 + ((mo + (mo > 7)) & 1)))
			return iso_bad(why, wn, what);
		if (kind == FD_DATE) {
			if (i < n && parse_off(s, n, &i, &off) == 0)
				has_off = 1;
			if (i != n)
				return iso_bad(why, wn, what);
			goto done;
		}
		if (i >= n || s[i++] != 'T')
			return iso_bad(why, wn, what);
	}
	st = i;
	if (digits(s, n, &i, 2, &h) || i - st != 2)
		return iso_bad(why, wn, what);
	if (i < n && (s[i] == ':' || (s[i] >= '0' && s[i] <= '9'))) {
		int colon = s[i] == ':';
		if (colon == basic && kind != FD_TIME)
			return iso_bad(why, wn, what);
		i += colon;
		st = i;
		if (digits(s, n, &i, 2, &mi) || i - st != 2)
			return iso_bad(why, wn, what);
		if (i < n && (s[i] == ':' || (s[i] >= '0' && s[i] <= '9'))) {
			if ((s[i] == ':') != colon)
				return iso_bad(why, wn, what);
			i += colon;
			st = i;
			if (digits(s, n, &i, 2, &se) || i - st != 2)
				return iso_bad(why, wn, what);
			if (i < n && (s[i] == '.' || s[i] == ',')) {
				int64_t f;
				size_t fs = ++i;
				if (digits(s, n, &i, 9, &f))
					return iso_bad(why, wn, what);
				/* to milliseconds */
				while (i - fs < 3)
					f *= 10, fs--;
				while (i - fs > 3)
					f /= 10, fs++;
				frac = f;
			}
		}
	}
	if (h > 24 || mi > 59 || se > 60 || (h == 24 && (mi || se || frac)))
		return iso_bad(why, wn, what);
	if (i < n) {
		size_t os = i;
		if (parse_off(s, n, &i, &off))
			return iso_bad(why, wn, what);
		/* the extended form takes "+hh:mm" (or "+hh"), the basic
		 * one "+hhmm", as FreeMarker's parser */
		if (i - os == 5 && !basic)
			return iso_bad(why, wn, what);
		has_off = 1;
	}
	if (i != n)
		return iso_bad(why, wn, what);
done : {
	int64_t local = (fdate_days(y, mo, d) * 86400 + h * 3600 + mi * 60 +
	                 se) * 1000 +
	                frac;
	if (has_off) {
		*ms = local - (int64_t)off * 1000;
	} else {
		*ms = fdate_from_local(z, local);
		if (*ms + (int64_t)fdate_offset(z, *ms, NULL) * 1000 != local) {
			say(why, wn, "%s",
			    "that local time does not exist in the time zone "
			    "(a daylight saving time gap); give an offset");
			return -1;
		}
	}
}
	return 0;
}

static int name_match(const char *s, size_t n, size_t *i,
                      const char *const *tab, int cnt, int *idx)
{
	size_t best = 0;
	for (int k = 0; k < cnt; k++) {
		size_t l = strlen(tab[k]);
		if (l > best && *i + l <= n &&
		    strncasecmp(s + *i, tab[k], l) == 0) {
			best = l;
			*idx = k;
		}
	}
	if (!best)
		return -1;
	*i += best;
	return 0;
}

/* Date fields of a parse, in the order java.util.Calendar resolves them. */
enum {
	S_YEAR,
	S_MONTH,
	S_DOM,
	S_DOW,
	S_WOM,
	S_DOWIM,
	S_DOY,
	S_WOY,
	S_WY,
	S_NF
};

/* The latest day on or before DAY that is weekday DOW (1 Sunday). */
static int64_t on_or_before(int64_t day, int64_t dow)
{
	int64_t d0 = ((day + 4) % 7 + 7) % 7 + 1;
	return day - ((d0 - dow) % 7 + 7) % 7;
}

/* The first day of week 1 of year Y. */
static int64_t week1(int64_t y, int fdow, int min)
{
	int64_t j1 = fdate_days(y, 1, 1);
	int64_t f = on_or_before(j1 + 6, fdow);
	return f - j1 >= min ? f - 7 : f;
}

static int agg(int a, int b)
{
	return a && b ? (a > b ? a : b) : 0;
}

/* The day (since 1970) the parsed fields name, as GregorianCalendar's
 * field resolution (selectFields, getFixedDate) and SimpleDateFormat's
 * week dates (setWeekDate when Y was set after y) compute it; fields
 * never set count as Calendar's cleared values (January, day 1). */
static int64_t resolve_date(const int *st, int64_t y, int64_t mo, int64_t d,
                            int64_t dow, int64_t wom, int64_t dowim,
                            int64_t doy, int64_t woy, int64_t wy, int fdow,
                            int min)
{
	int dows = st[S_DOW], doms = st[S_DOM], monthmask;
	int woms = agg(st[S_WOM], dows), dowims = agg(st[S_DOWIM], dows);
	int doys = st[S_DOY], woys = agg(st[S_WOY], dows), best = doms;
	if (st[S_WY] && st[S_WY] > st[S_YEAR]) {
		int64_t dw = dows ? dow : fdow;
		return week1(wy, fdow, min) + ((dw - fdow) % 7 + 7) % 7 +
		       7 * ((st[S_WOY] ? woy : 1) - 1);
	}
	if (woms > best)
		best = woms;
	if (dowims > best)
		best = dowims;
	if (doys > best)
		best = doys;
	if (woys > best)
		best = woys;
	if (!best) {
		woms = st[S_WOM];
		dowims = st[S_DOWIM] > dows ? st[S_DOWIM] : dows;
		woys = st[S_WOY];
		best = woms > dowims ? woms : dowims;
		if (woys > best)
			best = woys;
		if (!best)
			best = doms = st[S_MONTH];
	}
	monthmask = best == doms || (best == woms && st[S_WOM] >= st[S_WOY]) ||
	            (best == dowims && st[S_DOWIM] >= st[S_WOY]);
	if (monthmask) {
		int64_t first = fdate_days(y, st[S_MONTH] ? mo : 1, 1);
		if (best == doms)
			return first + (st[S_DOM] ? d : 1) - 1;
		if (best == woms &&
		    (woms != dowims || st[S_WOM] >= st[S_DOWIM])) {
			int64_t f = on_or_before(first + 6, fdow);
			if (f - first >= min)
				f -= 7;
			if (dows)
				f = on_or_before(f + 6, dow);
			return f + 7 * (wom - 1);
		}
		{
			/* a negative F (from the month's end) is lenient
			 * Java's too; counted from the start here */
			int64_t k = st[S_DOWIM] ? dowim : 1;
			return on_or_before(first + 7 * k - 1,
			                    dows ? dow : fdow);
		}
	}
	{
		int64_t j1 = fdate_days(y, 1, 1), f;
		if (best == doys)
			return j1 + doy - 1;
		f = on_or_before(j1 + 6, fdow);
		if (f - j1 >= min)
			f -= 7;
		if (dows && dow != fdow)
			f = on_or_before(f + 6, dow);
		return f + 7 * (woy - 1);
	}
}

int fdate_parse(const char *s, size_t n, const char *pat, size_t pn,
                const char *locale, const fzone *z, int64_t now_ms, int64_t *ms,
                char *why, size_t wn)
{
	const dnames *L = names_of(locale);
	int64_t y = 1970, mo = 1, d = 1, h = 0, mi = 0, se = 0, fr = 0;
	int64_t wy = 0, wom = 0, dowim = 0, doy = 0, woy = 0, dow = 0;
	int pm = -1, h12 = 0, has_off = 0, off = 0, bc = 0, stamp = 0;
	/* when each date field was set (0: never): java.util.Calendar
	 * resolves conflicting fields by the most recently set */
	int st[S_NF] = {0};
	size_t i = 0, p = 0;
	while (p < pn) {
		char ch = pat[p];
		size_t cnt = 1, max = 10;
		int64_t v;
		if (ch == '\'') {
			p++;
			while (p < pn) {
				if (pat[p] == '\'') {
					if (p + 1 < pn && pat[p + 1] == '\'')
						p++;
					else
						break;
				}
				if (i >= n || s[i] != pat[p])
					goto bad;
				i++;
				p++;
			}
			p++;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z'))) {
			if (i >= n || s[i] != ch)
				goto bad;
			i++;
			p++;
			continue;
		}
		while (p + cnt < pn && pat[p + cnt] == ch)
			cnt++;
		p += cnt;
		/* a numeric field followed directly by another takes its
		 * width from the pattern; at most 6 digits a field keeps
		 * the sum below in 64 bits */
		max = 6;
		if (p < pn && cnt < max &&
		    ((pat[p] >= 'a' && pat[p] <= 'z') ||
		     (pat[p] >= 'A' && pat[p] <= 'Z')))
			max = cnt;
		if (!L && (ch == 'E' || (ch == 'M' && cnt >= 3) || ch == 'a' ||
		           ch == 'G')) {
			say(why, wn,
			    "month, day and AM/PM names are not known for the "
			    "locale %s (use a locale of docs/templates.md)",
			    locale ? locale : "?");
			return -1;
		}
		switch (ch) {
		case 'y':
		case 'Y': {
			size_t s0 = i;
			int64_t *yp = ch == 'y' ? &y : &wy;
			if (digits(s, n, &i, max, yp))
				goto bad;
			st[ch == 'y' ? S_YEAR : S_WY] = ++stamp;
			if (cnt <= 2 && i - s0 == 2) {
				/* within 80 years before and 20 after now */
				int64_t ny;
				int m_, d_;
				fdate_civil(fdiv(now_ms, 86400000), &ny, &m_,
				            &d_);
				*yp += (ny - 80) / 100 * 100;
				if (*yp < ny - 80)
					*yp += 100;
			}
			break;
		}
		case 'M':
		case 'L':
			if (cnt >= 3) {
				int k;
				/* M reads the formatting names only (en_AU
				 * "Sept", not "Sep"), L also the standalone */
				if (name_match(s, n, &i, L->mon, 12, &k) &&
				    name_match(s, n, &i, L->mon_s, 12, &k) &&
				    (ch == 'M' ||
				     (name_match(s, n, &i, L->mon_a, 12, &k) &&
				      name_match(s, n, &i, L->mon_as, 12, &k))))
					goto bad;
				mo = k + 1;
			} else if (digits(s, n, &i, max, &mo)) {
				goto bad;
			}
			st[S_MONTH] = ++stamp;
			break;
		case 'E': {
			int k;
			if (name_match(s, n, &i, L->day, 7, &k) &&
			    name_match(s, n, &i, L->day_s, 7, &k))
				goto bad;
			dow = k + 1;
			st[S_DOW] = ++stamp;
			break;
		}
		case 'u':
			if (digits(s, n, &i, max, &v))
				goto bad;
			/* 1 Monday .. 7 Sunday, to Calendar's 1 Sunday */
			dow = v % 7 + 1;
			st[S_DOW] = ++stamp;
			break;
		case 'w':
		case 'W':
		case 'F':
		case 'D': {
			int64_t *fp = ch == 'w'   ? &woy
			              : ch == 'W' ? &wom
			              : ch == 'F' ? &dowim
			                          : &doy;
			if (digits(s, n, &i, max, fp))
				goto bad;
			st[ch == 'w'   ? S_WOY
			   : ch == 'W' ? S_WOM
			   : ch == 'F' ? S_DOWIM
			               : S_DOY] = ++stamp;
			break;
		}
		case 'G': {
			int k;
			if (name_match(s, n, &i, L->era, 2, &k))
				goto bad;
			bc = k == 0;
			break;
		}
		case 'a': {
			int k;
			if (name_match(s, n, &i, L->ampm, 2, &k))
				goto bad;
			pm = k;
			break;
		}
		case 'd':
			if (digits(s, n, &i, max, &d))
				goto bad;
			st[S_DOM] = ++stamp;
			break;
		case 'H':
		case 'k':
			if (digits(s, n, &i, max, &h))
				goto bad;
			if (ch == 'k' && h == 24)
				h = 0;
			break;
		case 'h':
		case 'K':
			if (digits(s, n, &i, max, &h))
				goto bad;
			if (ch == 'h' && h == 12)
				h = 0;
			h12 = 1;
			break;
		case 'm':
			if (digits(s, n, &i, max, &mi))
				goto bad;
			break;
		case 's':
			if (digits(s, n, &i, max, &se))
				goto bad;
			break;
		case 'S':
			if (digits(s, n, &i, max, &fr))
				goto bad;
			break;
		case 'Z':
		case 'X':
			if (parse_off(s, n, &i, &off))
				goto bad;
			has_off = 1;
			break;
		case 'z':
			if (i + 3 <= n && (memcmp(s + i, "UTC", 3) == 0 ||
			                   memcmp(s + i, "GMT", 3) == 0)) {
				i += 3;
				has_off = 1;
				off = 0;
				if (i < n && (s[i] == '+' || s[i] == '-') &&
				    parse_off(s, n, &i, &off))
					goto bad;
			} else if (parse_off(s, n, &i, &off)) {
				goto bad;
			}
			has_off = 1;
			break;
		default:
			if (why && wn)
				snprintf(why, wn,
				         "date pattern letter '%c' is not "
				         "supported for parsing",
				         ch);
			return -1;
		}
	}
	/* like SimpleDateFormat.parse(String), text after the pattern is
	 * ignored */
	if (h12 && pm == 1)
		h += 12;
	if (bc)
		y = 1 - y;
	{
		int64_t local = resolve_date(st, y, mo, d, dow, wom, dowim, doy,
		                             woy, wy, L ? L->first_dow : 1,
		                             L ? L->min_days : 1) *
		                        86400000 +
		                h * 3600000 + mi * 60000 + se * 1000 + fr;
		*ms = has_off ? local - (int64_t)off * 1000
		              : fdate_from_local(z, local);
	}
	return 0;
bad:
	say(why, wn, "%s",
	    "the string does not match the expected date/time format");
	return -1;
}
