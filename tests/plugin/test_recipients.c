/* test_recipients.c - smsTo parsing (plugin/recipients.c). */
#include <string.h>

#include "tap.h"
#include "tw_recipients.h"

static int starts(const char *s, const char *prefix)
{
	return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void text_forms(void)
{
	const char *t = "+1 (415) 555-0100, +44 20 7946 0000;"
	                "+1.415.555.0100\n +33 1 23 45 67 89 \r\n,,";
	tw_recipients r;
	tw_err e;
	char *m;

	is_int(0, tw_recipients_parse_text(t, strlen(t), 100, &r, &e, &m),
	       "mixed separators parse");
	is_int(3, r.n, "duplicate removed after clean-up");
	is_str("+14155550100", r.v[0].to, "spaces ( ) - removed");
	is_str("+1 (415) 555-0100", r.v[0].input, "input kept as written");
	is_str("+442079460000", r.v[1].to, "semicolon separates");
	is_int(1, r.v[1].index, "index as written");
	is_str("+33123456789", r.v[2].to, "new line separates");
	is_int(3, r.v[2].index, "index counts the duplicate");
	tw_recipients_free(&r);

	t = "+1 415 555 0100";
	tw_recipients_parse_text(t, strlen(t), 100, &r, &e, &m);
	is_int(1, r.n, "spaces never separate entries");
	tw_recipients_free(&r);

	t = "whatsapp:+1 415 555 0100";
	tw_recipients_parse_text(t, strlen(t), 100, &r, &e, &m);
	is_str("whatsapp:+14155550100", r.v[0].to, "whatsapp accepted");
	tw_recipients_free(&r);
}

static void refusals(void)
{
	json_object *a = json_tokener_parse(
	        "[\"+14155550100\", \"(415) 555-0100\", 42, \"0044 20 7946 "
	        "0000\", \"+1 415 CALL\", \"+12\", \"+14155550100\"]");
	tw_recipients r;
	tw_err e;
	char *m;

	is_int(0, tw_recipients_parse(a, 100, &r, &e, &m), "array parses");
	is_int(6, r.n, "six entries (one duplicate)");
	is_int(TW_OK, r.v[0].err, "valid entry kept");
	is_int(TW_INVALID_TO, r.v[1].err, "no + refused");
	ok(starts(r.v[1].message, "smsTo[1] '(415) 555-0100': no country "
	                          "code; write +1 415 555 0100"),
	   "hint: %s", r.v[1].message);
	ok(starts(r.v[2].message, "smsTo[2]: not a string"), "number type: %s",
	   r.v[2].message);
	ok(strstr(r.v[3].message, "write +442079460000") != NULL,
	   "00 prefix hint: %s", r.v[3].message);
	ok(strstr(r.v[4].message, "not a phone number") != NULL, "letters: %s",
	   r.v[4].message);
	ok(strstr(r.v[5].message, "expected 3 to 15") != NULL, "too short: %s",
	   r.v[5].message);
	is_int(1, tw_recipients_valid(&r), "one valid");
	tw_recipients_free(&r);
	json_object_put(a);

	a = json_tokener_parse("[]");
	is_int(-1, tw_recipients_parse(a, 100, &r, &e, &m), "empty refused");
	is_int(TW_MISSING_INPUT, e, "MISSING_INPUT");
	free(m);
	json_object_put(a);

	a = json_tokener_parse("[\"+14155550100\",\"+14155550101\","
	                       "\"+14155550102\"]");
	is_int(-1, tw_recipients_parse(a, 2, &r, &e, &m), "over max refused");
	is_int(TW_INVALID_INPUT, e, "INVALID_INPUT");
	ok(strstr(m, "TWILIO_MAX_RECIPIENTS") != NULL, "names the key: %s", m);
	free(m);
	json_object_put(a);

	a = json_object_new_int(14155550100LL > 0 ? 1 : 0);
	is_int(-1, tw_recipients_parse(a, 10, &r, &e, &m), "number refused");
	is_int(TW_INVALID_INPUT, e, "INVALID_INPUT for a number");
	free(m);
	json_object_put(a);

	is_int(-1, tw_recipients_parse_text(" ,; \n", 5, 10, &r, &e, &m),
	       "only separators refused");
	free(m);
}

static void many(void)
{
	char *t = malloc(1000 * 14 + 1), *p = t;
	tw_recipients r;
	tw_err e;
	char *m;
	int i;

	for (i = 0; i < 1000; i++)
		p += sprintf(p, "+1415555%04d,", i);
	is_int(0, tw_recipients_parse_text(t, strlen(t), 1000, &r, &e, &m),
	       "1000 recipients");
	is_int(1000, r.n, "all kept");
	is_str("+14155550999", r.v[999].to, "last in order");
	tw_recipients_free(&r);
	free(t);
}

/* Issue 8, item 8: a NUL byte inside an entry is refused in both forms
 * (the array form used to cut the entry at it and send to the rest). */
static void nul_bytes(void)
{
	json_object *a = json_tokener_parse(
	        "[\"+14155550100\\u0000999\", \"+14155550101\"]");
	const char t[] = "+14155550100\0"
	                 "999,+14155550101";
	tw_recipients r;
	tw_err e;
	char *m;

	is_int(0, tw_recipients_parse(a, 10, &r, &e, &m), "array parses");
	is_int(2, r.n, "two entries");
	is_int(TW_INVALID_TO, r.v[0].err, "array: NUL inside refused");
	ok(r.v[0].to == NULL, "array: nothing to send to");
	is_str("smsTo[0] '+14155550100': contains a NUL byte (\\u0000); "
	       "write the number as plain text",
	       r.v[0].message, "array: says why");
	is_int(TW_OK, r.v[1].err, "array: the next entry is fine");
	tw_recipients_free(&r);
	json_object_put(a);

	is_int(0, tw_recipients_parse_text(t, sizeof(t) - 1, 10, &r, &e, &m),
	       "text parses");
	is_int(TW_INVALID_TO, r.v[0].err, "text: NUL inside refused");
	is_str("smsTo[0] '+14155550100': contains a NUL byte (\\u0000); "
	       "write the number as plain text",
	       r.v[0].message, "text: the same message");
	tw_recipients_free(&r);
}

/* Issue 8, item 14: errors that name the fix. */
static void hints(void)
{
	json_object *a = json_tokener_parse(
	        "[\"+14155550100 +14155550101\", \"+1 415 555 0100 "
	        "4155550101\","
	        " \"whatsapp:+14155550100 whatsapp:+14155550101\", \"+020 7946 "
	        "0000\", \"+0044 20 7946 0000\", \"+1 415 555 0102\"]");
	tw_recipients r;
	tw_err e;
	char *m;

	is_int(0, tw_recipients_parse(a, 10, &r, &e, &m), "parses");
	is_str("smsTo[0] '+14155550100 +14155550101': looks like several "
	       "numbers separated by spaces; separate entries with commas or "
	       "semicolons (spaces inside a number are ignored)",
	       r.v[0].message, "space-separated numbers");
	is_str("smsTo[1] '+1 415 555 0100 4155550101': 21 digits: looks like "
	       "several numbers separated by spaces; separate entries with "
	       "commas or semicolons (spaces inside a number are ignored)",
	       r.v[1].message, "too many digits with a space");
	ok(strstr(r.v[2].message, "separate entries with commas") != NULL,
	   "whatsapp numbers separated by spaces: %s", r.v[2].message);
	is_int(TW_INVALID_TO, r.v[3].err, "+0 refused");
	is_str("smsTo[3] '+020 7946 0000': no country code starts with 0; "
	       "write + and the country code, then the number without its "
	       "leading 0 (e.g. +44 20 7946 0000 for 020 7946 0000)",
	       r.v[3].message, "+0: the fix");
	is_str("smsTo[4] '+0044 20 7946 0000': no country code starts with "
	       "0; drop the international prefix 00 after the +: write "
	       "+442079460000",
	       r.v[4].message, "+00: the fix");
	is_int(TW_OK, r.v[5].err, "spaces inside one number still fine");
	tw_recipients_free(&r);
	json_object_put(a);

	is_int(-1, tw_recipients_parse(NULL, 10, &r, &e, &m), "missing");
	is_int(TW_MISSING_INPUT, e, "MISSING_INPUT");
	is_str("smsTo: missing; give the recipients as a list of numbers "
	       "([\"+14155550100\"]) or a string of numbers separated by "
	       "commas, semicolons or new lines, each with + and the country "
	       "code",
	       m, "missing: says what smsTo should be");
	free(m);
	is_int(-1, tw_recipients_parse_text(" , ", 3, 10, &r, &e, &m), "empty");
	ok(strncmp(m, "smsTo: no recipient given; give the recipients", 46) ==
	           0,
	   "empty: says what smsTo should be: %s", m);
	free(m);
}

int main(void)
{
	text_forms();
	refusals();
	many();
	nul_bytes();
	hints();
	return done_testing();
}
