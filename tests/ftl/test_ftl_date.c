/*
 * test_ftl_date - plugin/ftl/date.c: zone offsets read from the TZif files
 * agree with the C library's for many instants and zones (the test may use
 * TZ and localtime_r; the engine must not), far-future instants through
 * the POSIX rule, Java's GMT offsets, zone names that would leave the zone
 * directory, format/parse round trips, the calendar against known days,
 * .now from the injected clock, and renders that leave TZ alone; week
 * fields against the C library's ISO weeks, week dates parsed back in
 * several locales, names and styles of the added locales.
 */
#define _GNU_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../plugin/ftl/eval.h"
#include "../tap.h"

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static int64_t fixed_clock(void *arg)
{
	return *(int64_t *)arg;
}

static const char *render(const char *src, const char *json,
                          const ftl_settings *s, ftl_error *err)
{
	static char buf[1024];
	ftl_template *t = ftl_compile(src, strlen(src), err);
	json_object *m = json ? json_tokener_parse(json) : NULL;
	char *o = NULL;
	if (!t || ftl_render(t, m, s, &o, NULL, err)) {
		snprintf(buf, sizeof(buf), "(error)");
	} else {
		snprintf(buf, sizeof(buf), "%s", o);
	}
	free(o);
	json_object_put(m);
	ftl_template_unref(t);
	return buf;
}

int main(void)
{
	static const char *const zones[] = {
	        "Europe/Berlin", "America/New_York",  "Australia/Sydney",
	        "Asia/Kolkata",  "America/Sao_Paulo", "Pacific/Chatham",
	        "Europe/London", "America/Santiago",  "Africa/Casablanca"};
	char why[256];
	ftl_error err;

	/* the calendar: known day numbers, and a round trip over 800,000
	 * years of days */
	is_int(0, fdate_days(1970, 1, 1), "1970-01-01 is day 0");
	is_int(19787, fdate_days(2024, 3, 5), "2024-03-05");
	is_int(-25509, fdate_days(1900, 2, 28), "1900-02-28");
	is_int(fdate_days(2025, 1, 1), fdate_days(2024, 13, 1),
	       "month 13 rolls over (lenient)");
	{
		int bad = 0;
		for (int64_t d = -146097 * 1000; d < 146097 * 1000; d += 997) {
			int64_t y;
			int m, dd;
			fdate_civil(d, &y, &m, &dd);
			if (fdate_days(y, m, dd) != d)
				bad++;
		}
		is_int(0, bad, "civil <-> days round trip");
	}

	/* zone offsets equal glibc's (from the same TZif files) */
	for (size_t zi = 0; zi < sizeof(zones) / sizeof(zones[0]); zi++) {
		const fzone *z = fdate_zone(zones[zi], strlen(zones[zi]), why,
		                            sizeof(why));
		int bad = 0, n = 0;
		if (!z) {
			ok(0, "%s loads: %s", zones[zi], why);
			continue;
		}
		setenv("TZ", zones[zi], 1);
		tzset();
		for (int i = 0; i < 20000; i++) {
			/* 1950..2150: past the last transition, the rule */
			int64_t t = -631152000 +
			            (int64_t)(next() % (200ull * 365 * 86400));
			time_t tt = (time_t)t;
			struct tm tm;
			const char *abbr;
			int off = fdate_offset(z, t * 1000, &abbr);
			localtime_r(&tt, &tm);
			n++;
			if (off != tm.tm_gmtoff || strcmp(abbr, tm.tm_zone)) {
				if (bad++ < 3)
					diag("%s at %lld: %d %s, libc %ld %s",
					     zones[zi], (long long)t, off, abbr,
					     tm.tm_gmtoff, tm.tm_zone);
			}
		}
		is_int(0, bad, "%s: %d instants agree with the C library",
		       zones[zi], n);
	}
	unsetenv("TZ");
	tzset();

	/* Java's custom zones and names that must never become paths */
	{
		const fzone *z = fdate_zone("GMT+02:00", 9, why, sizeof(why));
		const char *abbr = NULL;
		ok(z && fdate_offset(z, 0, &abbr) == 7200 &&
		           strcmp(abbr, "GMT+02:00") == 0,
		   "GMT+02:00");
		z = fdate_zone("GMT-0530", 8, why, sizeof(why));
		ok(z && fdate_offset(z, 0, &abbr) == -19800, "GMT-0530");
		z = fdate_zone("GMT+7", 5, why, sizeof(why));
		ok(z && fdate_offset(z, 0, NULL) == 25200, "GMT+7");
		ok(!fdate_zone("../../etc/passwd", 16, why, sizeof(why)),
		   "a path out of the zone directory is refused: %s", why);
		ok(!fdate_zone("Europe/../../etc/passwd", 23, why, sizeof(why)),
		   "also in the middle");
		ok(!fdate_zone("/etc/localtime", 14, why, sizeof(why)),
		   "absolute paths are refused");
		ok(!fdate_zone("Mars/Olympus_Mons", 17, why, sizeof(why)) &&
		           strstr(why, "Mars/Olympus_Mons") &&
		           strstr(why, "Europe/Berlin"),
		   "an unknown zone names itself and an example: %s", why);
		ok(!fdate_zone("zone.tab", 8, why, sizeof(why)),
		   "a non-TZif file in the directory is refused");
		ok(!fdate_zone("GMT+25", 6, why, sizeof(why)),
		   "GMT+25 is no offset");
	}

	/* format and parse round trip in a zone with daylight saving */
	{
		const fzone *z =
		        fdate_zone("America/New_York", 16, why, sizeof(why));
		const char *pat = "yyyy-MM-dd'T'HH:mm:ss.SSSXXX EEE MMM a";
		int bad = 0;
		for (int i = 0; i < 5000 && z; i++) {
			int64_t ms = (int64_t)(next() % 4102444800000ull);
			int64_t back = 0;
			fbuf b = {.max = 256};
			if (fdate_format(ms, pat, strlen(pat), "en_US", z, &b,
			                 why, sizeof(why)) ||
			    fdate_parse(b.p, b.n, pat, strlen(pat), "en_US", z,
			                0, &back, why, sizeof(why)) ||
			    back != ms) {
				if (bad++ < 3)
					diag("%lld -> %.*s -> %lld",
					     (long long)ms, (int)b.n, b.p,
					     (long long)back);
			}
			free(b.p);
		}
		is_int(0, bad, "5000 instants format and parse back");
	}

	/* week fields: de_DE (Monday, 4 days) is ISO 8601, so w and Y must
	 * be the C library's %V and %G on every day of 1900-2100; the week
	 * date format parses back to the same day in every locale, whatever
	 * its first day and minimal days */
	{
		const fzone *z = fdate_utc();
		const char *pat = "YYYY ww";
		int bad = 0;
		for (int64_t day = fdate_days(1900, 1, 1);
		     day < fdate_days(2100, 12, 31); day++) {
			char want[32];
			time_t tt = (time_t)(day * 86400);
			struct tm tm;
			fbuf b = {.max = 64};
			gmtime_r(&tt, &tm);
			strftime(want, sizeof(want), "%G %V", &tm);
			if (fdate_format(day * 86400000, pat, strlen(pat),
			                 "de_DE", z, &b, why, sizeof(why)) ||
			    b.n != strlen(want) || memcmp(b.p, want, b.n)) {
				if (bad++ < 3)
					diag("%s: %.*s, want %s", "de_DE",
					     (int)b.n, b.p, want);
			}
			free(b.p);
		}
		is_int(0, bad, "de_DE week fields are ISO weeks, 1900-2100");
	}
	{
		static const char *const locs[] = {"en_US", "de_DE", "en_GB",
		                                   "en_AU", "fr_FR", "pt_BR",
		                                   "en_IN", "nl_NL"};
		const fzone *z =
		        fdate_zone("Europe/Paris", 12, why, sizeof(why));
		const char *pat = "YYYY-'W'ww-u HH:mm XXX";
		int bad = 0;
		for (size_t l = 0; l < sizeof(locs) / sizeof(locs[0]); l++)
			for (int i = 0; i < 3000 && z; i++) {
				int64_t ms = (int64_t)(next() % 4102444800ull) *
				             1000 / 60000 * 60000;
				int64_t back = 0;
				fbuf b = {.max = 256};
				if (fdate_format(ms, pat, strlen(pat), locs[l],
				                 z, &b, why, sizeof(why)) ||
				    fdate_parse(b.p, b.n, pat, strlen(pat),
				                locs[l], z, 0, &back, why,
				                sizeof(why)) ||
				    back != ms) {
					if (bad++ < 3)
						diag("%s %lld -> %.*s -> %lld",
						     locs[l], (long long)ms,
						     (int)b.n, b.p,
						     (long long)back);
				}
				free(b.p);
			}
		is_int(0, bad, "week dates format and parse back in 8 locales");
	}
	/* names and styles of the added locales (JDK 17 CLDR) */
	{
		ftl_settings s = {.locale = "fr_FR",
		                  .time_zone = "Europe/Paris"};
		const char *dj = "{\"d\":{\"$datetime\":"
		                 "\"2024-03-05T14:07:09Z\"}}";
		is_str("mardi 5 mars 2024 \xc3\xa0 15:07:09 heure normale "
		       "d\xe2\x80\x99"
		       "Europe centrale",
		       render("${d?string.full}", dj, &s, &err),
		       "fr_FR full date-time with the zone's long name");
		s.locale = "en_AU";
		s.time_zone = "Australia/Sydney";
		is_str("Jul|5 July|Sept",
		       render("${d?string('MMM')}|"
		              "${d?string('d MMMM')}|"
		              "${e?string('MMM d')?keep_before(' ')}",
		              "{\"d\":{\"$datetime\":"
		              "\"2024-07-05T01:00:00Z\"},"
		              "\"e\":{\"$datetime\":"
		              "\"2024-09-05T01:00:00Z\"}}",
		              &s, &err),
		       "en_AU: a month alone is standalone (Jul), with a day "
		       "the formatting name");
		s.locale = "pt_BR";
		s.time_zone = "America/Sao_Paulo";
		is_str("05/03/2024 11:07",
		       render("${d?string.short}", dj, &s, &err),
		       "pt_BR short");
		s.locale = "en_US";
		is_str("(error)", render("${d?string('c')}", dj, &s, &err),
		       "c is no SimpleDateFormat letter");
		ok(strstr(err.message, "'c'") != NULL, "%s", err.message);
	}

	/* .now reads the injected clock; renders never touch TZ */
	{
		int64_t at = 1709647629000; /* 2024-03-05T14:07:09Z */
		ftl_settings s = {.now_ms = fixed_clock,
		                  .now_arg = &at,
		                  .time_zone = "Europe/Berlin"};
		setenv("TZ", "Asia/Tokyo", 1);
		is_str("2024-03-05T15:07:09+01:00 2024-03-05T14:07:09Z",
		       render("${.now?iso_local} ${.now?iso_utc}", NULL, &s,
		              &err),
		       ".now is the injected clock, in the time_zone setting");
		ok(strcmp(getenv("TZ"), "Asia/Tokyo") == 0, "TZ left alone");
		unsetenv("TZ");
		is_str("Tue 15:07",
		       render("${.now?string('EEE HH:mm')}", NULL, &s, &err),
		       "formatting .now");
		s.time_zone = "No/Such_Zone";
		ok(ftl_settings_check(&s, &err) == -1 &&
		           strstr(err.message, "No/Such_Zone"),
		   "ftl_settings_check: %s", err.message);
		s.time_zone = NULL;
		s.datetime_format = "yyyy-MM-dd qq";
		ok(ftl_settings_check(&s, &err) == -1 &&
		           strstr(err.message, "datetime_format"),
		   "a bad date pattern setting: %s", err.message);
		s.datetime_format = "short";
		ok(ftl_settings_check(&s, &err) == 0, "style names pass");
		is_str("3/5/24, 2:07 PM", render("${.now}", NULL, &s, &err),
		       "datetime_format short");
		is_str("(error)", render("${.vars}", NULL, &s, &err),
		       "other special variables: an error");
		ok(strstr(err.message, ".vars") != NULL, "%s", err.message);
	}

	/* the work budget counts date built-ins too */
	{
		ftl_settings s = {.max_work = 5000};
		render("<#list 1..100000 as i>${'2024-03-05'?date.iso?iso_utc}"
		       "</#list>",
		       NULL, &s, &err);
		is_int(FTL_LIMIT, err.kind,
		       "a loop of date parsing stops at "
		       "the work budget");
	}
	return done_testing();
}
