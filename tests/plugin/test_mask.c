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

	/* the scrubber: secrets anywhere, a secret cut at the end of a text,
	 * numbers in free text but not inside SIDs, hex, IPs or short codes */
	{
		char *sec[] = {"http://u:hunter2pw@proxy:3128", "hunter2pw"};
		char *t;

		t = tw_scrub("Unsupported proxy 'http://u:hunter2pw@proxy:3128'"
		             " and hunter2pw",
		             sec, 2, 0);
		is_str("Unsupported proxy '[secret]' and [secret]", t,
		       "secrets replaced");
		free(t);
		t = tw_scrub("Unsupported proxy 'http://u:hunt", sec, 2, 0);
		is_str("Unsupported proxy '[secret]", t,
		       "a secret cut at the end of the text");
		free(t);
		t = tw_scrub(
		        "The 'To' number +15005550001 is not a valid phone "
		        "number. whatsapp:+14155550100, +1 415-555-0100, "
		        "4155550100.",
		        sec, 2, TW_SCRUB_NUMBERS);
		is_str("The 'To' number "
		       "+1500\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
		       "0001 is not a valid phone number. whatsapp:"
		       "+1415\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
		       "0100, +1415\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
		       "0100, 41555\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
		       "0100.",
		       t, "numbers in free text masked");
		free(t);
		t = tw_scrub("SM00000000000000000000000000000000 AC1234567890 "
		             "127.0.0.1 port 8080 code 21211 12345 "
		             "https://www.twilio.com/docs/errors/21211 "
		             "1234567abc 3.14159265",
		             NULL, 0, TW_SCRUB_NUMBERS);
		is_str("SM00000000000000000000000000000000 AC1234567890 "
		       "127.0.0.1 port 8080 code 21211 12345 "
		       "https://www.twilio.com/docs/errors/21211 "
		       "1234567abc 3.14159265",
		       t, "SIDs, addresses, codes and decimals untouched");
		free(t);
		t = tw_scrub("+14155550100", NULL, 0, 0);
		is_str("+14155550100", t, "numbers kept without the flag");
		free(t);
		ok(tw_scrub(NULL, sec, 2, 0) == NULL, "NULL in, NULL out");
	}
	return done_testing();
}
