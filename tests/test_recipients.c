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

int main(void)
{
	text_forms();
	refusals();
	many();
	return done_testing();
}
