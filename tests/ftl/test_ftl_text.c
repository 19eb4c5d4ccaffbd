/*
 * test_ftl_text - plugin/ftl/text.c: UTF-8 validation, UTF-16 counting,
 * Java's case mapping.
 */
#include <stdlib.h>
#include <string.h>

#include "../plugin/ftl/ftl_int.h"
#include "../tap.h"

static char out[128];

static const char *up(const char *s, int upper)
{
	fbuf b = {.max = 100};
	if (upper)
		ftxt_upper(s, strlen(s), &b);
	else
		ftxt_lower(s, strlen(s), &b);
	snprintf(out, sizeof(out), "%.*s", (int)b.n, b.p ? b.p : "");
	free(b.p);
	return out;
}

int main(void)
{
	ok(ftxt_utf8_valid("h\xc3\xa9llo", 6), "valid UTF-8");
	ok(!ftxt_utf8_valid("\xc3", 1), "truncated sequence");
	ok(!ftxt_utf8_valid("\xc0\xaf", 2), "overlong encoding");
	ok(!ftxt_utf8_valid("\xed\xa0\x80", 3), "encoded surrogate");
	ok(!ftxt_utf8_valid("\xf4\x90\x80\x80", 4), "beyond U+10FFFF");
	ok(!ftxt_utf8_valid("\xff", 1), "0xff");
	is_int(2, ftxt_u16len("\xf0\x9f\x98\x80", 4),
	       "emoji is 2 UTF-16 units");
	is_int(3, ftxt_u16len("a\xc3\xa9z", 4), "BMP characters count 1");
	is_int(1, ftxt_u16_to_byte("a\xf0\x9f\x98\x80", 5, 1),
	       "offset of unit 1");
	is_int(-1, ftxt_u16_to_byte("a\xf0\x9f\x98\x80", 5, 2),
	       "unit 2 is inside a surrogate pair");
	is_str("STRASSE",
	       up("stra\xc3\x9f"
	          "e",
	          1),
	       "ß upper-cases to SS");
	is_str("FINE", up("\xef\xac\x81ne", 1), "ﬁ ligature");
	is_str("\xc3\x89T\xc3\x89", up("\xc3\xa9t\xc3\xa9", 1), "été");
	is_str("i\xcc\x87", up("\xc4\xb0", 0), "İ lower-cases to i + dot");
	is_str("\xcf\x83\xce\xb1\xcf\x82", up("\xce\xa3\xce\x91\xce\xa3", 0),
	       "final sigma");
	ok(ftxt_is_space(' ') && ftxt_is_space('\t') && !ftxt_is_space(0xa0),
	   "Java whitespace");
	{
		fbuf b = {.max = 4};
		ok(fbuf_put(&b, "abcd", 4) == 0, "buffer up to its limit");
		ok(fbuf_put(&b, "e", 1) != 0 && b.over, "limit enforced");
		free(b.p);
	}
	return done_testing();
}
