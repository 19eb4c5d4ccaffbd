/* test_config.c - configuration parsing and validation of the plugin
 * (plugin/config.c; tests/host/test_config.c tests the host's). Every refusal
 * is checked never to contain the secret values. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tw_config.h"

#define ACC    "AC0123456789abcdef0123456789abcdef"
#define TOKEN  "TOPSECRET-token-4242"
#define SECRET "TOPSECRET-apisecret-77"

static char err[512];
static tw_config c;

static int parse(const char *json)
{
	json_object *o = json_tokener_parse(json);
	int rc;

	err[0] = 0;
	rc = tw_config_parse(o, &c, err, sizeof(err));
	json_object_put(o);
	ok(!strstr(err, "TOPSECRET"), "no secret in: %s", err);
	return rc;
}

static void refused(const char *json, const char *want, const char *name)
{
	is_int(-1, parse(json), "refused: %s", name);
	ok(strstr(err, want) != NULL, "%s: '%s' in '%s'", name, want, err);
}

int main(void)
{
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\"}"),
	       "minimal config");
	is_str("https://api.twilio.com", c.base_url, "default base URL");
	is_int(16, c.max_concurrency, "default concurrency");
	is_int(1000, c.max_recipients, "default max recipients");
	is_int(0, c.log_numbers, "numbers masked by default");
	is_str("en_US", c.locale, "default locale");
	tw_config_free(&c);

	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_API_KEY\":"
	             "\"SK0123456789abcdef0123456789abcdef\","
	             "\"TWILIO_API_SECRET\":\"" SECRET "\","
	             "\"TWILIO_EDGE\":\"dublin\",\"TWILIO_REGION\":\"ie1\","
	             "\"TWILIO_MAX_CONCURRENCY\":\"4\"}"),
	       "API key, edge and region");
	is_str("https://api.dublin.ie1.twilio.com", c.base_url, "edge URL");
	is_int(4, c.max_concurrency, "concurrency set");
	tw_config_free(&c);

	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\",\"TWILIO_BASE_URL\":\"http://127.0.0.1:8080/\"}"),
	       "http to loopback");
	is_str("http://127.0.0.1:8080", c.base_url, "trailing slash removed");
	tw_config_free(&c);

	refused("{\"TWILIO_TOKEN\":\"" TOKEN "\"}", "TWILIO_ACCOUNT: missing",
	        "no account");
	refused("{\"TWILIO_ACCOUNT\":\"My Company\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\"}",
	        "AC followed by 32 hex digits", "account name instead of SID");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\"}", "TWILIO_TOKEN: missing",
	        "no token");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_API_KEY\":"
	        "\"SK0123456789abcdef0123456789abcdef\"}",
	        "TWILIO_API_SECRET: missing", "key without secret");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_BASE_URL\":\"http://api.twilio.com\"}",
	        "only to the loopback", "http to a remote host");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_BASE_URL\":\"https://u:" TOKEN
	        "@api.twilio.com\"}",
	        "must not carry credentials", "credentials in the URL");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_BASE_URL\":\"https://x\",\"TWILIO_REGION\":"
	        "\"ie1\"}",
	        "not both", "base URL and region");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_MAX_CONCURRENCY\":\"0\"}",
	        "TWILIO_MAX_CONCURRENCY: expected an integer from 1 to 1024, "
	        "got 0",
	        "concurrency 0");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_MAX_RETRIES\":\"three\"}",
	        "TWILIO_MAX_RETRIES: expected an integer from 0 to 20, got "
	        "'three'",
	        "retries not a number");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_CA_BUNDLE\":\"/nonexistent/ca.pem\"}",
	        "TWILIO_CA_BUNDLE: cannot read", "missing CA bundle");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"LOG_NUMBERS\":\"maybe\"}",
	        "LOG_NUMBERS: 'maybe' is not a boolean", "bad boolean");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":1}",
	        "TWILIO_TOKEN: must be a string", "token not a string");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\"}",
	        "TWILIO_WEBHOOK_PUBLIC_URL: missing", "webhook without URL");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_API_KEY\":"
	        "\"SK0123456789abcdef0123456789abcdef\",\"TWILIO_API_SECRET\":"
	        "\"" SECRET "\",\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\","
	        "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"https://x/sms\"}",
	        "TWILIO_TOKEN: missing", "signatures need the token");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_PROXY\":\"" TOKEN "\"}",
	        "TWILIO_PROXY: not a proxy URL", "secure proxy not echoed");

	/* a secure key's value never appears in a refusal */
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_TLS_CERT\":\"/dev/null\","
	        "\"TWILIO_WEBHOOK_TLS_KEY\":\"/nonexistent/"
	        "TOPSECRET-key.pem\"}",
	        "TWILIO_WEBHOOK_TLS_KEY: cannot read the file",
	        "unreadable TLS key: not echoed");
	refused("{\"TWILIO_ACCOUNT\":\"" TOKEN "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\"}",
	        "TWILIO_ACCOUNT: '[secret]' is not an Account SID",
	        "the token pasted as the account: scrubbed");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"x\","
	        "\"TWILIO_BASE_URL\":\"ftp://u:TOPSECRET-pw@api.twilio.com\"}",
	        "must not carry credentials",
	        "credentials in a URL with a bad scheme: not echoed");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_PROXY\":\"http://u:TOPSECRET-pw@127.0.0.1:1\","
	        "\"TWILIO_MAX_RETRIES\":\"TOPSECRET-pw\"}",
	        "TWILIO_MAX_RETRIES: expected an integer from 0 to 20, got "
	        "'[secret]'",
	        "the proxy password elsewhere: scrubbed");

	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_PROXY\":\"bogus://u:TOPSECRET-pw@127.0.0.1:1\"}",
	        "TWILIO_PROXY: unsupported scheme", "proxy scheme refused");

	/* the secrets the scrubber removes: every secure key, the proxy's
	 * userinfo and password, as written and percent-decoded */
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\",\"TWILIO_PROXY\":\"http://bob:TOPSECRET%40pw@"
	             "proxy.example:3128\"}"),
	       "proxy with credentials");
	{
		char *t = tw_config_scrub(
		        &c,
		        "a " TOKEN " b http://bob:TOPSECRET%40pw@proxy.example:"
		        "3128 c bob:TOPSECRET%40pw d TOPSECRET@pw e "
		        "TOPSECRET%40",
		        0);

		ok(t && !strstr(t, "TOPSECRET"), "every secret scrubbed: %s",
		   t ? t : "(null)");
		is_str("a [secret] b [secret] c [secret] d [secret] e [secret]",
		       t, "replaced, the rest kept");
		free(t);
		t = tw_config_scrub(&c, "call +14155550100 now", 1);
		is_str("call +1415\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2"
		       "0100 now",
		       t, "for a log: numbers masked");
		free(t);
		t = tw_config_scrub(&c, "call +14155550100 now", 0);
		is_str("call +14155550100 now", t,
		       "for an output: numbers kept");
		free(t);
	}
	tw_config_free(&c);

	{
		json_object *d = tw_config_describe(), *k, *v;

		ok(json_object_object_get_ex(d, "TWILIO_TOKEN", &k) &&
		           json_object_object_get_ex(k, "secure", &v) &&
		           json_object_get_boolean(v),
		   "describe: token secure");
		ok(json_object_object_get_ex(d, "TWILIO_ACCOUNT", &k) &&
		           json_object_object_get_ex(k, "required", &v) &&
		           json_object_get_boolean(v),
		   "describe: account required");
		ok(json_object_object_get_ex(d, "TWILIO_MAX_CONCURRENCY", &k) &&
		           json_object_object_get_ex(k, "minimum", &v) &&
		           json_object_get_int64(v) == 1 &&
		           json_object_object_get_ex(k, "maximum", &v) &&
		           json_object_get_int64(v) == 1024,
		   "describe: an integer key's range (the host checks it)");
		ok(json_object_object_get_ex(d, "TWILIO_BASE_URL", &k) &&
		           !json_object_object_get_ex(k, "minimum", &v),
		   "describe: no range on a string key");
		json_object_put(d);
	}
	/* the webhook's keys (SMS_RECEIVED) */
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\",\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\","
	             "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"https://x.example/"
	             "sms\"}"),
	       "webhook on port 0");
	is_int(3600000, c.inbound_dedupe_ttl_ms, "default dedupe TTL");
	is_int(8, c.webhook_workers, "default workers");
	is_int(5000, c.publish_deadline_ms, "default publish deadline");
	ok(c.token_secondary == NULL && c.webhook_signing_key == NULL,
	   "no secondary token, no signing key by default");
	tw_config_free(&c);
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\",\"TWILIO_WEBHOOK_LISTEN\":\"[::1]:8080\","
	             "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"https://x.example/sms\","
	             "\"TWILIO_TOKEN_SECONDARY\":\"TOPSECRET-second\","
	             "\"TWILIO_WEBHOOK_SIGNING_KEY\":\"TOPSECRET-hmac\","
	             "\"TWILIO_INBOUND_DEDUPE_TTL_MS\":\"1000\","
	             "\"TWILIO_WEBHOOK_WORKERS\":\"256\","
	             "\"TWILIO_PUBLISH_DEADLINE_MS\":\"10000\"}"),
	       "webhook keys at their bounds");
	is_str("TOPSECRET-second", c.token_secondary, "secondary token");
	is_str("TOPSECRET-hmac", c.webhook_signing_key, "signing key");
	is_int(1000, c.inbound_dedupe_ttl_ms, "dedupe TTL set");
	is_int(256, c.webhook_workers, "workers set");
	{
		char *t = tw_config_scrub(
		        &c, "x TOPSECRET-second y TOPSECRET-hmac z", 0);

		is_str("x [secret] y [secret] z", t,
		       "the secondary token and the signing key are scrubbed");
		free(t);
	}
	tw_config_free(&c);
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_PUBLISH_DEADLINE_MS\":\"10001\"}",
	        "TWILIO_PUBLISH_DEADLINE_MS: expected an integer from 100 to "
	        "10000",
	        "publish deadline capped at 10 s");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_WORKERS\":\"0\"}",
	        "TWILIO_WEBHOOK_WORKERS: expected an integer from 1 to 256",
	        "workers range");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_INBOUND_DEDUPE_TTL_MS\":\"999\"}",
	        "TWILIO_INBOUND_DEDUPE_TTL_MS: expected an integer from 1000 "
	        "to 604800000",
	        "dedupe TTL range");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:65536\","
	        "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"https://x.example/sms\"}",
	        "TWILIO_WEBHOOK_LISTEN: '127.0.0.1:65536': the port must be",
	        "listen port out of range");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_LISTEN\":\"::1:80\","
	        "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"https://x.example/sms\"}",
	        "must be address:port (e.g. 0.0.0.0:8080 or [::]:8080)",
	        "IPv6 without brackets");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\","
	        "\"TWILIO_WEBHOOK_PUBLIC_URL\":\"https://x.example/sms#rc=3\"}",
	        "TWILIO_WEBHOOK_PUBLIC_URL: must not contain spaces or a "
	        "fragment",
	        "public URL with a fragment");
	refused("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	        "\",\"TWILIO_WEBHOOK_SIGNING_KEY\":\"TOPSECRET\\nx\"}",
	        "TWILIO_WEBHOOK_SIGNING_KEY: contains a line break",
	        "signing key with a line break: named, not echoed");
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\",\"TWILIO_WEBHOOK_LISTEN\":\"127.0.0.1:0\","
	             "\"TWILIO_VALIDATE_SIGNATURE\":\"false\"}"),
	       "no public URL needed without signature validation");
	tw_config_free(&c);

	/* the template settings: kept, and each bad value named by key */
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\",\"TEMPLATE_TIME_ZONE\":\"GMT+02:00\","
	             "\"TEMPLATE_DATE_FORMAT\":\"dd.MM.yyyy\","
	             "\"TEMPLATE_TIME_FORMAT\":\"HH:mm\","
	             "\"TEMPLATE_DATETIME_FORMAT\":\"iso\","
	             "\"TEMPLATE_BOOLEAN_FORMAT\":\"yes,no\","
	             "\"TEMPLATE_OUTPUT_FORMAT\":\"HTML\","
	             "\"TEMPLATE_URL_ESCAPING_CHARSET\":\"ISO-8859-1\"}"),
	       "every template setting");
	is_str("GMT+02:00", c.time_zone, "TEMPLATE_TIME_ZONE kept");
	is_str("dd.MM.yyyy", c.date_format, "TEMPLATE_DATE_FORMAT kept");
	is_str("HH:mm", c.time_format, "TEMPLATE_TIME_FORMAT kept");
	is_str("iso", c.datetime_format, "TEMPLATE_DATETIME_FORMAT kept");
	is_str("yes,no", c.boolean_format, "TEMPLATE_BOOLEAN_FORMAT kept");
	is_str("HTML", c.output_format, "TEMPLATE_OUTPUT_FORMAT kept");
	is_str("ISO-8859-1", c.url_escaping_charset,
	       "TEMPLATE_URL_ESCAPING_CHARSET kept");
	tw_config_free(&c);
	is_int(0,
	       parse("{\"TWILIO_ACCOUNT\":\"" ACC "\",\"TWILIO_TOKEN\":\"" TOKEN
	             "\"}"),
	       "no template settings");
	ok(!c.time_zone && !c.output_format && !c.boolean_format,
	   "template settings unset by default");
	tw_config_free(&c);
	{
		static const char *const bad[][3] = {
		        {"TEMPLATE_TIME_ZONE", "Nowhere/Zone", "Nowhere/Zone"},
		        {"TEMPLATE_DATE_FORMAT", "qq", "date"},
		        {"TEMPLATE_TIME_FORMAT", "qq", "time"},
		        {"TEMPLATE_DATETIME_FORMAT", "qq", "datetime"},
		        {"TEMPLATE_BOOLEAN_FORMAT", "yn", "boolean_format"},
		        {"TEMPLATE_OUTPUT_FORMAT", "html", "output_format"},
		        {"TEMPLATE_URL_ESCAPING_CHARSET", "KOI8-R",
		         "url_escaping_charset"}};
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char json[512], want[128];
			snprintf(json, sizeof(json),
			         "{\"TWILIO_ACCOUNT\":\"" ACC
			         "\",\"TWILIO_TOKEN\":\"" TOKEN
			         "\",\"%s\":\"%s\"}",
			         bad[i][0], bad[i][1]);
			snprintf(want, sizeof(want), "%s: ", bad[i][0]);
			refused(json, want, bad[i][0]);
			ok(strstr(err, bad[i][2]) != NULL,
			   "%s: the reason names '%s': %s", bad[i][0],
			   bad[i][2], err);
		}
	}

	return done_testing();
}
