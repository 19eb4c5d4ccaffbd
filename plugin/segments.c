/*
 * segments.c - GSM-7 / UCS-2 detection and SMS segment counting.
 *
 * Owns the GSM 03.38 tables (basic character set and extension table, as
 * Unicode code points) and the splitting rules Twilio bills by. See
 * segments.h for the interface.
 */
#include "segments.h"

#include <stdbool.h>

#define GSM7_SINGLE 160
#define GSM7_PART   153
#define UCS2_SINGLE 70
#define UCS2_PART   67

/*
 * The basic character set outside printable ASCII (ASCII is handled by
 * gsm7_weight directly).
 */
static const uint16_t gsm7_basic_extra[] = {
        0x00A3, 0x00A5, 0x00E8, 0x00E9, 0x00F9, 0x00EC, 0x00F2, 0x00C7,
        0x00D8, 0x00F8, 0x00C5, 0x00E5, 0x0394, 0x03A6, 0x0393, 0x039B,
        0x03A9, 0x03A0, 0x03A8, 0x03A3, 0x0398, 0x039E, 0x00C6, 0x00E6,
        0x00DF, 0x00C9, 0x00A4, 0x00A1, 0x00C4, 0x00D6, 0x00D1, 0x00DC,
        0x00A7, 0x00BF, 0x00E4, 0x00F6, 0x00F1, 0x00FC, 0x00E0,
};

/*
 * Septets CP takes in GSM-7: 1 for the basic set, 2 for the extension table
 * (escape + character), 0 when it is not GSM-7 at all.
 */
static unsigned gsm7_weight(uint32_t cp)
{
	size_t i;

	if (cp == '\n' || cp == '\r')
		return 1;
	if (cp == '\f')
		return 2;
	if (cp >= 0x20 && cp < 0x7F) {
		switch (cp) {
		case '`': return 0;
		case '^':
		case '{':
		case '}':
		case '\\':
		case '[':
		case ']':
		case '~':
		case '|': return 2;
		default: return 1;
		}
	}
	if (cp == 0x20AC) /* euro sign, extension table */
		return 2;
	for (i = 0; i < sizeof gsm7_basic_extra / sizeof gsm7_basic_extra[0];
	     i++)
		if (gsm7_basic_extra[i] == cp)
			return 1;
	return 0;
}

/*
 * Decode one code point at S[*POS] (LEN bytes in all) and advance *POS.
 * Returns false for invalid UTF-8.
 */
static bool utf8_next(const unsigned char *s, size_t len, size_t *pos,
                      uint32_t *cp)
{
	size_t i = *pos, n, k;
	uint32_t c = s[i], min;

	if (c < 0x80) {
		*cp = c;
		*pos = i + 1;
		return true;
	}
	if (c >= 0xC2 && c <= 0xDF) {
		n = 1;
		c &= 0x1F;
		min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		n = 2;
		c &= 0x0F;
		min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		n = 3;
		c &= 0x07;
		min = 0x10000;
	} else {
		return false;
	}
	if (len - i - 1 < n)
		return false;
	for (k = 1; k <= n; k++) {
		if ((s[i + k] & 0xC0) != 0x80)
			return false;
		c = (c << 6) | (s[i + k] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return false;
	*cp = c;
	*pos = i + n + 1;
	return true;
}

/*
 * Segments for a text of TOTAL units whose characters weigh 1 or 2 units,
 * split into parts of PART units without splitting a 2-unit character. The
 * weights are re-read from the text (ENC decides which weight applies).
 */
static size_t count_parts(const unsigned char *s, size_t len, tw_encoding enc,
                          size_t total)
{
	size_t single = enc == TW_GSM7 ? GSM7_SINGLE : UCS2_SINGLE;
	size_t part = enc == TW_GSM7 ? GSM7_PART : UCS2_PART;
	size_t pos = 0, cur = 0, parts = 1;
	uint32_t cp;

	if (total == 0)
		return 0;
	if (total <= single)
		return 1;
	while (pos < len) {
		unsigned w;

		utf8_next(s, len, &pos, &cp); /* validated by the caller */
		if (enc == TW_GSM7)
			w = gsm7_weight(cp);
		else
			w = cp >= 0x10000 ? 2 : 1;
		if (cur + w > part) {
			parts++;
			cur = 0;
		}
		cur += w;
	}
	return parts;
}

int tw_segments_count(const char *utf8, size_t len, tw_segments *out)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t pos = 0, septets = 0, units = 0;
	uint32_t cp, first = 0;
	size_t first_off = 0;
	bool gsm = true;

	while (pos < len) {
		size_t at = pos;
		unsigned w;

		if (!utf8_next(s, len, &pos, &cp))
			return -1;
		units += cp >= 0x10000 ? 2 : 1;
		if (!gsm)
			continue;
		w = gsm7_weight(cp);
		if (w == 0) {
			gsm = false;
			first = cp;
			first_off = at;
		}
		septets += w;
	}
	out->encoding = gsm ? TW_GSM7 : TW_UCS2;
	out->units = gsm ? septets : units;
	out->segments = count_parts(s, len, out->encoding, out->units);
	out->ucs2_char = first;
	out->ucs2_offset = first_off;
	return 0;
}

size_t tw_utf16_length(const char *utf8, size_t len)
{
	const unsigned char *s = (const unsigned char *)utf8;
	size_t pos = 0, units = 0;
	uint32_t cp;

	while (pos < len) {
		if (!utf8_next(s, len, &pos, &cp))
			return (size_t)-1;
		units += cp >= 0x10000 ? 2 : 1;
	}
	return units;
}
