/*
 * segments.h - count an SMS body as Twilio bills it.
 *
 * Decides whether a UTF-8 text fits the GSM-7 alphabet (the basic character
 * set plus the extension table, whose characters take an escape septet and
 * so count 2) or needs UCS-2, and how many segments it is split into:
 * GSM-7 up to 160 septets is one segment, longer texts go in 153-septet
 * parts; UCS-2 up to 70 UTF-16 units is one segment, longer texts go in
 * 67-unit parts. An escape sequence or a surrogate pair is never split
 * across two parts, so a part may hold one unit less than its maximum.
 *
 * Shared by the plugin (dry runs, outputs) and the sandbox (num_segments);
 * built as plugin/libtwsegments.la. Pure functions: thread-safe, no
 * allocation, no global state.
 */
#ifndef TW_SEGMENTS_H
#define TW_SEGMENTS_H

#include <stddef.h>
#include <stdint.h>

typedef enum tw_encoding { TW_GSM7 = 0, TW_UCS2 = 1 } tw_encoding;

typedef struct tw_segments {
	tw_encoding encoding;
	size_t units;    /* GSM-7 septets (escapes count 2) or UTF-16 units */
	size_t segments; /* as Twilio bills: GSM-7 160/153, UCS-2 70/67 */
	uint32_t ucs2_char; /* first code point forcing UCS-2, 0 if none */
	size_t ucs2_offset; /* its byte offset in the text */
} tw_segments;

/*
 * Count UTF8 (LEN bytes, need not be NUL-terminated; NUL bytes are U+0000,
 * which is not GSM-7) into *OUT.
 *
 * Returns: 0 with *OUT filled; -1 when UTF8 is not valid UTF-8 (overlong
 *          forms, surrogates, code points above U+10FFFF, truncated
 *          sequences), *OUT then untouched. An empty text is GSM-7 with 0
 *          units and 0 segments.
 */
int tw_segments_count(const char *utf8, size_t len, tw_segments *out);

/*
 * The length of UTF8 (LEN bytes) in UTF-16 code units, the unit Twilio's
 * 1600-character body limit counts: characters outside the Basic
 * Multilingual Plane count 2.
 *
 * Returns: the length, or (size_t)-1 when UTF8 is not valid UTF-8.
 */
size_t tw_utf16_length(const char *utf8, size_t len);

#endif /* TW_SEGMENTS_H */
