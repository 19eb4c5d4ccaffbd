/*
 * test_segments.c - tests of plugin/segments.c: GSM-7 / UCS-2 detection,
 * septet and UTF-16 counting, Twilio's segment boundaries, invalid UTF-8.
 */
#include "segments.h"
#include "tap.h"

#include <stdlib.h>
#include <string.h>

/* A text of N copies of UNIT (a UTF-8 string), malloc'd. */
static char *rep(const char *unit, size_t n)
{
	size_t ul = strlen(unit), i;
	char *s = malloc(ul * n + 1);

	if (!s)
		abort();
	for (i = 0; i < n; i++)
		memcpy(s + i * ul, unit, ul);
	s[ul * n] = '\0';
	return s;
}

static tw_segments count(const char *s)
{
	tw_segments seg;

	memset(&seg, 0xAB, sizeof seg);
	if (tw_segments_count(s, strlen(s), &seg) != 0)
		seg.segments = (size_t)-2;
	return seg;
}

/* SEGMENTS of N copies of UNIT followed by TAIL. */
static size_t segs_of(const char *unit, size_t n, const char *tail,
                      size_t *units)
{
	char *a = rep(unit, n);
	size_t al = strlen(a), tl = strlen(tail);
	char *s = malloc(al + tl + 1);
	tw_segments seg;

	if (!s)
		abort();
	memcpy(s, a, al);
	memcpy(s + al, tail, tl + 1);
	seg = count(s);
	if (units)
		*units = seg.units;
	free(a);
	free(s);
	return seg.segments;
}

static void test_basic(void)
{
	tw_segments s = count("Hello, world! @$_\r\n");

	is_int(TW_GSM7, s.encoding, "ASCII text is GSM-7");
	is_int(19, s.units, "one septet per basic character");
	is_int(1, s.segments, "short text is one segment");
	is_int(0, s.ucs2_char, "no UCS-2 character");

	s = count("");
	is_int(TW_GSM7, s.encoding, "empty text is GSM-7");
	is_int(0, s.units, "empty text has 0 units");
	is_int(0, s.segments, "empty text has 0 segments");

	s = count("\xC2\xA3\xC3\xA9\xCE\x94\xC3\x9F\xC2\xBF\xC3\xA0");
	is_int(TW_GSM7, s.encoding, "£éΔß¿à are in the GSM-7 basic set");
	is_int(6, s.units, "basic non-ASCII characters count 1 septet");

	s = count("a{b}c[d]e~f|g^h\\i\xE2\x82\xAC\f");
	is_int(TW_GSM7, s.encoding, "extension table characters are GSM-7");
	is_int(9 + 2 * 10, s.units, "extension characters count 2 septets");
}

static void test_ucs2(void)
{
	tw_segments s = count("Caf\xC3\xA9 \xE2\x80\x94 ok");

	is_int(TW_UCS2, s.encoding, "an em dash forces UCS-2");
	is_int(0x2014, s.ucs2_char, "the em dash is reported");
	is_int(6, s.ucs2_offset, "at its byte offset");
	is_int(9, s.units, "UCS-2 counts UTF-16 units");

	s = count("hi `x`");
	is_int(TW_UCS2, s.encoding, "a backtick is not GSM-7");
	is_int('`', s.ucs2_char, "backtick reported");
	is_int(3, s.ucs2_offset, "backtick offset");

	s = count("a\tb");
	is_int(TW_UCS2, s.encoding, "a tab is not GSM-7");

	s = count("ok \xF0\x9F\x98\x80!");
	is_int(TW_UCS2, s.encoding, "an emoji forces UCS-2");
	is_int(0x1F600, s.ucs2_char, "the emoji is reported");
	is_int(3, s.ucs2_offset, "emoji offset");
	is_int(6, s.units, "an astral character counts 2 UTF-16 units");

	s = count("\xC3\xA7"); /* ç: only capital Ç is in GSM-7 */
	is_int(TW_UCS2, s.encoding, "small c cedilla is not GSM-7");
}

static void test_boundaries(void)
{
	size_t units;

	is_int(1, segs_of("a", 160, "", NULL), "160 septets: 1 segment");
	is_int(2, segs_of("a", 161, "", NULL), "161 septets: 2 segments");
	is_int(2, segs_of("a", 306, "", NULL), "306 septets: 2 segments");
	is_int(3, segs_of("a", 307, "", NULL), "307 septets: 3 segments");
	is_int(1, segs_of("\xE2\x82\xAC", 80, "", &units),
	       "80 euro signs (160 septets): 1 segment");
	is_int(160, units, "80 euro signs are 160 septets");
	/* 152 plain + an escape would straddle 153: it moves to part 2 */
	is_int(2, segs_of("a", 152, "{aaaaaaaaaa", &units),
	       "escape at the part boundary, 2 parts");
	is_int(164, units, "152 + 2 + 10 septets");
	{
		/* 152 a, '{' (moves to part 2), then 151 a: part 2 holds
		 * 2 + 151 = 153 exactly, 305 septets in 2 parts */
		char *a = rep("a", 152), *b = rep("a", 151), *c;
		size_t la = strlen(a), lb = strlen(b);

		c = malloc(la + lb + 3);
		memcpy(c, a, la);
		c[la] = '{';
		memcpy(c + la + 1, b, lb + 1);
		is_int(2, count(c).segments, "escape moved whole: 2 parts");
		c[la + 1] = 'a';
		strcpy(c + la + 1, b);
		strcat(c, "a"); /* one more septet: 306 -> 3 parts */
		is_int(3, count(c).segments, "one septet more: 3 parts");
		free(a);
		free(b);
		free(c);
	}

	is_int(1, segs_of("\xD0\x96", 70, "", NULL), "70 UCS-2 units: 1");
	is_int(2, segs_of("\xD0\x96", 71, "", NULL), "71 UCS-2 units: 2");
	is_int(2, segs_of("\xD0\x96", 134, "", NULL), "134 UCS-2 units: 2");
	is_int(3, segs_of("\xD0\x96", 135, "", NULL), "135 UCS-2 units: 3");
	/* 66 units, an emoji, 3 more: 71 units; the pair does not fit
	 * in part 1 (67) and moves whole to part 2 */
	is_int(2,
	       segs_of("\xD0\x96", 66,
	               "\xF0\x9F\x98\x80\xD0\x96\xD0\x96\xD0\x96", &units),
	       "71 units: 2 parts");
	is_int(71, units, "66 + 2 + 3 units");
	{
		/* 66 Ж + emoji (moves to part 2) + 65 Ж = 133 units; part 2
		 * holds 2 + 65 = 67: 2 parts; one Ж more: 3 parts although
		 * 134 units would fit 2 parts if the pair could split */
		char *a = rep("\xD0\x96", 66), *b = rep("\xD0\x96", 66);
		size_t la = strlen(a), lb = strlen(b);
		char *c = malloc(la + 4 + lb + 1);

		memcpy(c, a, la);
		memcpy(c + la, "\xF0\x9F\x98\x80", 4);
		memcpy(c + la + 4, b, lb + 1);
		is_int(3, count(c).segments,
		       "surrogate pair not split: 134 units, 3 parts");
		c[la + 4 + lb - 2] = '\0';
		is_int(2, count(c).segments, "133 units: 2 parts");
		free(a);
		free(b);
		free(c);
	}
	{
		/* 1600 UCS-2 units: ceil(1600 / 67) = 24 */
		is_int(24, segs_of("\xD0\x96", 1600, "", NULL),
		       "1600 UCS-2 units: 24 parts");
		is_int(11, segs_of("a", 1600, "", NULL),
		       "1600 septets: 11 parts");
	}
}

static void test_invalid(void)
{
	static const char *bad[] = {
	        "\x80",
	        "abc\xC3",
	        "\xC0\xAF",
	        "\xE0\x80\xAF",
	        "\xED\xA0\x80",
	        "\xF4\x90\x80\x80",
	        "\xF8\x88\x80\x80",
	        "\xE2\x82",
	        "ok\xFF",
	};
	size_t i;
	tw_segments s;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		is_int(-1, tw_segments_count(bad[i], strlen(bad[i]), &s),
		       "invalid UTF-8 #%zu refused", i);
		ok(tw_utf16_length(bad[i], strlen(bad[i])) == (size_t)-1,
		   "utf16 length of invalid #%zu is -1", i);
	}
	is_int(0, tw_segments_count("a\0b", 3, &s), "embedded NUL is valid");
	is_int(TW_UCS2, s.encoding, "U+0000 is not GSM-7");
	is_int(1, s.ucs2_offset, "NUL at offset 1");
}

static void test_utf16(void)
{
	is_int(0, tw_utf16_length("", 0), "empty: 0");
	is_int(5, tw_utf16_length("hello", 5), "ASCII");
	is_int(2, tw_utf16_length("\xF0\x9F\x98\x80", 4), "emoji: 2 units");
	is_int(1, tw_utf16_length("\xE2\x82\xAC", 3), "euro: 1 unit");
	is_int(1,
	       tw_utf16_length("\xE2\x82\xAC"
	                       "ab",
	                       3),
	       "length bound respected");
}

int main(void)
{
	test_basic();
	test_ucs2();
	test_boundaries();
	test_invalid();
	test_utf16();
	return done_testing();
}
