/* test_wire.c - the bytes on the wire (plugin/wire.c): the buffer, form
 * encoding and decoding, base64, constant-time comparison. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tw_wire.h"

static void test_buf(void)
{
	tw_buf b = {0};
	char *s;
	size_t n = 99;

	s = tw_buf_take(&b, &n);
	is_str("", s, "take of an empty buffer is an empty string");
	is_int(0, (int)n, "... of length 0");
	free(s);
	is_int(0, tw_buf_puts(&b, "ab"), "puts");
	is_int(0, tw_buf_printf(&b, "%d-%s", 42, "x"), "printf");
	is_str("ab42-x", b.data, "contents");
	is_int(-1, tw_buf_reserve(&b, (size_t)-1 - 2), "huge reserve fails");
	ok(b.oom, "... and sets oom");
	is_int(-1, tw_buf_puts(&b, "c"), "oom is sticky");
	is_str("ab42-x", b.data, "... and the bytes are unchanged");
	ok(tw_buf_take(&b, NULL) == NULL, "take after oom is NULL");
	ok(b.data == NULL && b.len == 0, "... and frees");
	tw_buf_free(&b);
}

static void test_encode(void)
{
	tw_buf b = {0};

	is_int(0, tw_form_add(&b, "To", "+14155550100", 12), "add");
	is_str("To=%2B14155550100", b.data, "+ as %%2B");
	tw_form_add(&b, "Body", "a b&c=d\xc3\xa9~", 10);
	is_str("To=%2B14155550100&Body=a%20b%26c%3Dd%C3%A9~", b.data,
	       "second field, reserved and UTF-8 bytes encoded");
	tw_buf_clear(&b);
	is_int(0, (int)b.len, "clear empties");
	tw_form_add(&b, "MediaUrl", "", 0);
	is_str("MediaUrl=", b.data, "empty value");
	tw_buf_free(&b);
}

static void test_decode(void)
{
	static const char body[] = "Body=Order+Number%2012%2B3&&From=%2B1415"
	                           "&Flag&Empty=&Body=second&N%00ul=a%00b";
	tw_form f;
	size_t bad = 0;
	const tw_field *x;

	is_int(0,
	       tw_form_parse(body, sizeof(body) - 1, TW_FORM_STRICT, &f, &bad),
	       "parse");
	is_int(6, (int)f.n, "six fields, the empty one skipped");
	x = tw_form_get(&f, "Body");
	ok(x && strcmp(x->value, "Order Number 12+3") == 0,
	   "+ is a space, %%2B a plus");
	is_int(2, (int)tw_form_count(&f, "Body"), "repeated name counted");
	x = tw_form_get(&f, "Flag");
	ok(x && x->value_len == 0, "a field without = has an empty value");
	x = &f.fields[5];
	ok(x->name_len == 4 && memcmp(x->name, "N\0ul", 4) == 0,
	   "a NUL in a name is kept, with its length");
	ok(x->value_len == 3 && memcmp(x->value, "a\0b", 3) == 0,
	   "a NUL in a value is kept, with its length");
	ok(tw_form_get(&f, "N") == NULL, "a name with a NUL is not a prefix");
	tw_form_free(&f);

	is_int(TW_FORM_EMALFORMED,
	       tw_form_parse("a=1&b=x%4", 9, TW_FORM_STRICT, &f, &bad),
	       "strict: a truncated escape is refused");
	is_int(7, (int)bad, "... at the offset of its %%");
	ok(f.mem == NULL && f.fields == NULL && f.n == 0, "... OUT empty");
	is_int(TW_FORM_EMALFORMED,
	       tw_form_parse("a%zz=1", 6, TW_FORM_STRICT, &f, &bad),
	       "strict: a bad escape in a name is refused");
	is_int(1, (int)bad, "... at its offset");
	is_int(0, tw_form_parse("a=%zz%", 6, TW_FORM_LENIENT, &f, NULL),
	       "lenient keeps malformed escapes");
	ok(f.n == 1 && strcmp(f.fields[0].value, "%zz%") == 0,
	   "... as written");
	tw_form_free(&f);
	is_int(0, tw_form_parse("", 0, TW_FORM_STRICT, &f, NULL),
	       "empty body");
	is_int(0, (int)f.n, "... no fields");
	tw_form_free(&f);
}

static void test_base64(void)
{
	static const char *const plain[] = {"", "f", "fo", "foo", "foob",
	                                    "fooba", "foobar"};
	static const char *const coded[] = {"",         "Zg==",     "Zm8=",
	                                    "Zm9v",     "Zm9vYg==", "Zm9vYmE=",
	                                    "Zm9vYmFy"};
	unsigned char out[16];
	size_t i;

	for (i = 0; i < sizeof(plain) / sizeof(plain[0]); i++) {
		tw_buf b = {0};

		tw_base64_encode(&b, plain[i], strlen(plain[i]));
		is_str(coded[i], b.data ? b.data : "", "encode '%s'",
		       plain[i]);
		is_int((int)strlen(plain[i]),
		       (int)tw_base64_decode(coded[i], strlen(coded[i]), out),
		       "decode '%s' length", coded[i]);
		ok(memcmp(out, plain[i], strlen(plain[i])) == 0,
		   "decode '%s' bytes", coded[i]);
		tw_buf_free(&b);
	}
	is_int(-1, (int)tw_base64_decode("Zm9v!", 5, out), "bad character");
	is_int(-1, (int)tw_base64_decode("Zg=v", 4, out), "= inside");
}

static void test_ct(void)
{
	ok(tw_ct_equal("abc", 3, "abc", 3), "equal");
	ok(!tw_ct_equal("abd", 3, "abc", 3), "last byte differs");
	ok(!tw_ct_equal("ab", 2, "abc", 3), "shorter");
	ok(!tw_ct_equal("abcd", 4, "abc", 3), "longer");
	ok(!tw_ct_equal("", 0, "abc", 3), "empty against non-empty");
	ok(tw_ct_equal("", 0, "", 0), "empty equals empty");
	ok(!tw_ct_equal("ab\0", 3, "ab", 2), "a NUL is a byte");
}

int main(void)
{
	test_buf();
	test_encode();
	test_decode();
	test_base64();
	test_ct();
	return done_testing();
}
