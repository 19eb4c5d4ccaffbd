/* test_mask.c - masking numbers for logs (plugin/mask.c). */
#include "tap.h"
#include "tw_mask.h"

static void check(const char *in, int unmasked, const char *want)
{
	char *m = tw_mask_number(in, unmasked);

	is_str(want, m, "mask %s", in);
	free(m);
}

int main(void)
{
	check("+14155550100", 0,
	      "+1415\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	      "0100");
	check("whatsapp:+14155550100", 0,
	      "whatsapp:+1415\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	      "0100");
	check("+1234567", 0,
	      "+1\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
	      "67");
	check("+12", 0, "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2");
	check("+14155550100", 1, "+14155550100");
	return done_testing();
}
