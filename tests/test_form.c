/* test_form.c - form encoding (plugin/form.c). */
#include "tap.h"
#include "tw_form.h"

int main(void)
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
	return done_testing();
}
