/* test_signature.c - Twilio's request signature (plugin/signature.c):
 * every vector of ../shared/twilio/signature-vectors.json (transcribed
 * below, each with the official library test it comes from), the
 * libraries' quirks, token rotation, tampering, the HMAC-SHA256 shared key
 * and the settings header that must not weaken the check. */
#include <stdlib.h>
#include <string.h>

#include "tap.h"
#include "tw_signature.h"
#include "tw_wire.h"

typedef struct sig_vector {
	const char *id;
	const char *token;
	const char *request_url;
	const char *const *params; /* name, value, ..., NULL */
	const char *signature;
	int expected_valid;
	const char *string_to_sign; /* over signed_url, NULL: none given */
	const char *body;           /* a JSON body: bodySHA256 checked too */
	const char *form_body;      /* the urlencoded body as Twilio sent it */
	const char *signed_url;
} sig_vector;

/* Transcribed from ../shared/twilio/signature-vectors.json (each case's
 * "source" names the official library test it comes from). */
static const char *const P_basic_form[] = {"CallSid", "CA1234567890ABCDE",
                                           "Caller",  "+14158675309",
                                           "Digits",  "1234",
                                           "From",    "+14158675309",
                                           "To",      "+18005551212",
                                           NULL};
static const char *const P_https_custom_port_strip[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_https_add_443[] = {"CallSid", "CA1234567890ABCDE",
                                              "Caller",  "+14158675309",
                                              "Digits",  "1234",
                                              "From",    "+14158675309",
                                              "To",      "+18005551212",
                                              NULL};
static const char *const P_http_add_80[] = {"CallSid", "CA1234567890ABCDE",
                                            "Caller",  "+14158675309",
                                            "Digits",  "1234",
                                            "From",    "+14158675309",
                                            "To",      "+18005551212",
                                            NULL};
static const char *const P_http_custom_port_kept[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_https_custom_port_kept[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_duplicate_values[] = {
        "Sid",    "CA123", "SidAccount", "AC123", "Digits", "5678",
        "Digits", "1234",  "Digits",     "1234",  NULL};
static const char *const P_array_values[] = {
        "MessagingBinding.Address", "+1325xxxxxxx", "MessagingBinding.Address",
        "+1415xxxxxxx", NULL};
static const char *const P_url_credentials[] = {"CallSid", "CA1234567890ABCDE",
                                                "Caller",  "+14158675309",
                                                "Digits",  "1234",
                                                "From",    "+14158675309",
                                                "To",      "+18005551212",
                                                NULL};
static const char *const P_url_username_only[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_url_credentials_add_443[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_special_chars_query[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_mixed_case_host[] = {"CallSid", "CA1234567890ABCDE",
                                                "Caller",  "+14158675309",
                                                "Digits",  "1234",
                                                "From",    "+14158675309",
                                                "To",      "+18005551212",
                                                NULL};
static const char *const P_mixed_case_host_port[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_mixed_case_host_http[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_creds_preserved_http[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_creds_upper_scheme[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_creds_mixed_case[] = {"CallSid", "CA1234567890ABCDE",
                                                 "Caller",  "+14158675309",
                                                 "Digits",  "1234",
                                                 "From",    "+14158675309",
                                                 "To",      "+18005551212",
                                                 NULL};
static const char *const P_neg_wrong_signature[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_neg_mixed_case_host_with_lowercase_sig[] = {
        "CallSid", "CA1234567890ABCDE",
        "Caller",  "+14158675309",
        "Digits",  "1234",
        "From",    "+14158675309",
        "To",      "+18005551212",
        NULL};
static const char *const P_generated_inbound_sms[] = {
        "AccountSid",
        "AC33333333333333333333333333333333",
        "ApiVersion",
        "2010-04-01",
        "Body",
        "Hello & welcome: 100% \xe2"
        "\x9c"
        "\x93"
        " \xc3"
        "\xbc"
        "n\xc3"
        "\xaf"
        "c\xc3"
        "\xb6"
        "d\xc3"
        "\xa9"
        " +plus",
        "From",
        "+15551234567",
        "FromCity",
        "SAN FRANCISCO",
        "FromCountry",
        "US",
        "FromState",
        "CA",
        "FromZip",
        "94103",
        "MessageSid",
        "SM11111111111111111111111111111111",
        "MessagingServiceSid",
        "MG22222222222222222222222222222222",
        "NumMedia",
        "0",
        "NumSegments",
        "1",
        "SmsMessageSid",
        "SM11111111111111111111111111111111",
        "SmsSid",
        "SM11111111111111111111111111111111",
        "SmsStatus",
        "received",
        "To",
        "+15005550006",
        "ToCity",
        "SAN FRANCISCO",
        "ToCountry",
        "US",
        "ToState",
        "CA",
        "ToZip",
        "94105",
        NULL};
static const sig_vector VECTORS[] = {
        {"basic_form",
         /* twilio-python tests/unit/test_request_validator.py; twilio-node
            spec/validation.spec.js; twilio-java
            src/test/java/com/twilio/security/RequestValidatorTest.java;
            twilio-go client/request_validator_test.go; twilio-php
            tests/Twilio/Unit/Security/RequestValidatorTest.php; twilio-csharp
            test/Twilio.Test/Security/RequestValidatorTest.cs */
         "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", P_basic_form,
         "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 1,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://mycompany.com/myapp.php?foo=1&bar=2"},
        {"https_custom_port_strip",
         /* python test_validation_removes_port_on_https; go; java
            testValidateRemovesPortHttps; php; csharp */
         "12345", "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
         P_https_custom_port_strip, "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 1,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://mycompany.com/myapp.php?foo=1&bar=2"},
        {"https_add_443",
         /* python test_validation_adds_port_on_https; go; java; node; php;
            csharp */
         "12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
         P_https_add_443, "kvajT1Ptam85bY51eRf/AJRuM3w=", 1,
         "https://mycompany.com:443/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://mycompany.com:443/myapp.php?foo=1&bar=2"},
        {"http_add_80",
         /* python test_validation_adds_port_on_http; go; java; node; php;
            csharp */
         "12345", "http://mycompany.com/myapp.php?foo=1&bar=2", P_http_add_80,
         "0ZXoZLH/DfblKGATFgpif+LLRf4=", 1,
         "http://mycompany.com:80/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "http://mycompany.com:80/myapp.php?foo=1&bar=2"},
        {"http_custom_port_kept",
         /* python test_validation_removes_port_on_http; go; java; node; php;
            csharp */
         "12345", "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
         P_http_custom_port_kept, "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=", 1,
         "http://mycompany.com:1234/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "http://mycompany.com:1234/myapp.php?foo=1&bar=2"},
        {"https_custom_port_kept",
         /* csharp TestValidateAddsCustomPortHttps */
         "12345", "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
         P_https_custom_port_kept, "CYn1h0gLBdNxDGkKJg6hYohgeD8=", 1,
         "https://mycompany.com:1234/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://mycompany.com:1234/myapp.php?foo=1&bar=2"},
        {"duplicate_values",
         /* python test_compute_signature_duplicate_multi_dict/query_dict; node
            'multiple params and values'; php testValidateWithArrayAndDuplicates
          */
         "12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
         P_duplicate_values, "IK+Dwps556ElfBT0I3Rgjkr1wJU=", 1,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2Digits1234Digits5678SidCA123SidAccountAC123",
         NULL, NULL, "https://mycompany.com/myapp.php?foo=1&bar=2"},
        {"array_values",
         /* node 'array parameter' (both orders) */
         "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", P_array_values,
         "83O6e2vORAoJHUNzJjDWN1jz+BA=", 1,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2MessagingBinding.Address+"
         "1325xxxxxxxMessagingBinding.Address+1415xxxxxxx",
         NULL, NULL, "https://mycompany.com/myapp.php?foo=1&bar=2"},
        {"url_credentials",
         /* node 'urls with credentials'; php testBuildUrlCreds */
         "12345", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
         P_url_credentials, "CukzLTc1tT5dXEDIHm/tKBanW10=", 1,
         "https://user:pass@mycompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2"},
        {"url_username_only",
         /* node; php testBuildUrlWithUser */
         "12345", "https://user@mycompany.com/myapp.php?foo=1&bar=2",
         P_url_username_only, "2YRLlVAflCqxaNicjMpJcSTgzSs=", 1,
         "https://user@mycompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://user@mycompany.com/myapp.php?foo=1&bar=2"},
        {"url_credentials_add_443",
         /* node; php testBuildUrlCredsAddsPort */
         "12345", "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
         P_url_credentials_add_443, "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=", 1,
         "https://user:pass@mycompany.com:443/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL,
         "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2"},
        {"special_chars_query",
         /* node 'urls with special characters' */
         "12345",
         "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+amazing",
         P_special_chars_query, "TfZzewPq8wqrGlMfyAud8+/IvJ0=", 1,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2&Body=It%27s+"
         "amazingCallSidCA1234567890ABCDECaller+14158675309Digits1234From+"
         "14158675309To+18005551212",
         NULL, NULL,
         "https://mycompany.com/myapp.php?foo=1&bar=2&Body=It%27s+amazing"},
        {"mixed_case_host",
         /* csharp TestValidateDictionaryMixedCase */
         "12345", "https://MyCompany.com/myapp.php?foo=1&bar=2",
         P_mixed_case_host, "g9IN/x4Cft2g517EjYvEvM/W7LU=", 1,
         "https://MyCompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://MyCompany.com/myapp.php?foo=1&bar=2"},
        {"mixed_case_host_port",
         /* csharp TestValidateDictionaryMixedCaseWithPort */
         "12345", "https://MyCompany.com:1234/myapp.php?foo=1&bar=2",
         P_mixed_case_host_port, "PCqOZm8cnu/L6+u5i5fuEd+Iac4=", 1,
         "https://MyCompany.com:1234/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "https://MyCompany.com:1234/myapp.php?foo=1&bar=2"},
        {"mixed_case_host_http",
         /* csharp TestValidateDictionaryMixedCaseAddsPortHttp */
         "12345", "http://MyCompany.com/myapp.php?foo=1&bar=2",
         P_mixed_case_host_http, "XY7AlKOKL6im4yWyX84gldUrtis=", 1,
         "http://MyCompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL, "http://MyCompany.com/myapp.php?foo=1&bar=2"},
        {"creds_preserved_http",
         /* csharp TestValidateCredentialsArePreserved */
         "12345",
         "http://username:password@MyCompany.com/myapp.php?foo=1&bar=2",
         P_creds_preserved_http, "PJ08CxXr7KLPjEQCTc8LkUSMwSM=", 1,
         "http://username:password@MyCompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL,
         "http://username:password@MyCompany.com/myapp.php?foo=1&bar=2"},
        {"creds_upper_scheme",
         /* csharp TestValidateCredentialsArePreservedUpperCaseScheme */
         "12345",
         "HTTP://username:password@MyCompany.com/myapp.php?foo=1&bar=2",
         P_creds_upper_scheme, "hy/l8pca+LFms4cvRdv8uiP6NGc=", 1,
         "HTTP://username:password@MyCompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL,
         "HTTP://username:password@MyCompany.com/myapp.php?foo=1&bar=2"},
        {"creds_mixed_case",
         /* csharp TestValidateCredentialsArePreservedMixedCaseCreds */
         "12345",
         "http://Username:Password@MyCompany.com/myapp.php?foo=1&bar=2",
         P_creds_mixed_case, "SkTSKyDJH9kUlhItI0slbgZ1UsI=", 1,
         "http://Username:Password@MyCompany.com/"
         "myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+"
         "14158675309Digits1234From+14158675309To+18005551212",
         NULL, NULL,
         "http://Username:Password@MyCompany.com/myapp.php?foo=1&bar=2"},
        {"body_sha256",
         /* python test_validation_of_body_succeeds; node; java
            testValidateWithBody; go; php; csharp */
         "12345",
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2&bodySHA256="
         "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
         NULL, "a9nBmqA0ju/hNViExpshrM61xv4=", 1,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2&bodySHA256="
         "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
         "{\"property\": \"value\", \"boolean\": true}", NULL,
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2&bodySHA256="
         "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"},
        {"body_sha256_only_param",
         /* node; java testValidateWithNoOtherParameters; go; csharp
            TestValidateWithOnlyHash */
         "12345",
         "https://mycompany.com/"
         "myapp.php?bodySHA256="
         "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
         NULL, "y77kIzt2vzLz71DgmJGsen2scGs=", 1,
         "https://mycompany.com/"
         "myapp.php?bodySHA256="
         "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620",
         "{\"property\": \"value\", \"boolean\": true}", NULL,
         "https://mycompany.com/"
         "myapp.php?bodySHA256="
         "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"},
        {"body_sha256_empty_json",
         /* node 'should validate request body when empty' */
         "12345",
         "https://mycompany.com/"
         "myapp.php?foo=1&bar=2&bodySHA256="
         "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
         NULL, "Ldidvp12m26NI7eqEvxnEpkd9Hc=", 1,
         "https://mycompany.com:443/"
         "myapp.php?foo=1&bar=2&bodySHA256="
         "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
         "{}", NULL,
         "https://mycompany.com:443/"
         "myapp.php?foo=1&bar=2&bodySHA256="
         "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"},
        {"neg_wrong_signature",
         /* java testFailsWhenIncorrect; csharp */
         "12345", "https://mycompany.com/myapp.php?foo=1&bar=2",
         P_neg_wrong_signature, "NOTRSOYDt4T1cUTdK1PDd93/VVr8B8=", 0, NULL,
         NULL, NULL, NULL},
        {"neg_body_without_bodySHA256",
         /* java testValidateBodyWithoutSignature; node; php; csharp */
         "12345", "https://mycompany.com/myapp.php?foo=1&bar=2", NULL,
         "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 0, NULL,
         "{\"property\": \"value\", \"boolean\": true}", NULL, NULL},
        {"neg_mixed_case_host_with_lowercase_sig",
         /* csharp TestValidateDictionaryMixedCaseWithIncorrectSignature */
         "12345", "https://MyCompany.com/myapp.php?foo=1&bar=2",
         P_neg_mixed_case_host_with_lowercase_sig,
         "RSOYDt4T1cUTdK1PDd93/VVr8B8=", 0, NULL, NULL, NULL, NULL},
        {"neg_url_mismatch",
         /* node spec/unit/webhooks/webhooks.spec.js */
         "s3cr3t", "https://example.com/path?test=param2", NULL,
         "loLgTitFAoWx57yy5oEU4Hlddzw=", 0, NULL, NULL, NULL,
         "https://example.com/path?test=param"},
        {"generated_inbound_sms",
         /* GENERATED here (not from an official test): signed with Debian
            python3-twilio 7.7.1 RequestValidator.compute_signature,
            cross-checked with twilio-node 6.3.1 validateRequest */
         "0123456789abcdef0123456789abcdef",
         "https://connector.example.com/twilio/sms?tenant=42",
         P_generated_inbound_sms, "BLnC6Bya2q8iFfKPWsYwYQQH/j8=", 1, NULL, NULL,
         "ToCountry=US&ToState=CA&SmsMessageSid="
         "SM11111111111111111111111111111111&NumMedia=0&ToCity=SAN+FRANCISCO&"
         "FromZip=94103&SmsSid=SM11111111111111111111111111111111&FromState=CA&"
         "SmsStatus=received&FromCity=SAN+FRANCISCO&Body=Hello+%26+welcome%3A+"
         "100%25+%E2%9C%93+%C3%BCn%C3%AFc%C3%B6d%C3%A9+%2Bplus&FromCountry=US&"
         "To=%2B15005550006&MessagingServiceSid="
         "MG22222222222222222222222222222222&ToZip=94105&NumSegments=1&"
         "MessageSid=SM11111111111111111111111111111111&AccountSid="
         "AC33333333333333333333333333333333&From=%2B15551234567&ApiVersion="
         "2010-04-01",
         NULL},
};

#define NVECTORS   (sizeof VECTORS / sizeof VECTORS[0])
#define MAX_FIELDS 32

/* A form over static strings (not from tw_form_parse: nothing to free). */
static void form_of(const char *const *p, tw_form *f, tw_field *fields)
{
	size_t n = 0;

	memset(f, 0, sizeof *f);
	for (; p && p[0]; p += 2, n++) {
		fields[n].name = p[0];
		fields[n].name_len = strlen(p[0]);
		fields[n].value = p[1];
		fields[n].value_len = strlen(p[1]);
	}
	f->fields = fields;
	f->n = n;
}

static int verify(const char *url, const tw_form *f, const char *sig,
                  const char *settings, const tw_sig_keys *keys)
{
	tw_sig_request rq = {url, f, sig, settings};

	return tw_sig_verify(&rq, keys, NULL);
}

static char *sign_str(enum tw_sig_algo algo, const char *key, const char *url,
                      const tw_form *f)
{
	tw_buf base = {0}, sig = {0};

	tw_sig_base(&base, url, f);
	tw_sig_sign(&sig, algo, key, strlen(key), base.data, base.len);
	tw_buf_free(&base);
	return tw_buf_take(&sig, NULL);
}

static void test_vectors(void)
{
	tw_sig_md *md = tw_sig_md_new();
	size_t i;

	ok(md != NULL, "SHA-1 and SHA-256 fetched from the default provider");

	for (i = 0; i < NVECTORS; i++) {
		const sig_vector *v = &VECTORS[i];
		tw_field fields[MAX_FIELDS];
		tw_form f, parsed = {0};
		tw_sig_keys keys = {v->token, NULL, NULL, NULL};
		tw_buf b = {0};
		int valid;

		form_of(v->params, &f, fields);
		if (v->string_to_sign) {
			tw_sig_base(&b, v->signed_url, &f);
			is_str(v->string_to_sign, b.data,
			       "%s: tw_sig_base is the string to sign", v->id);
			if (v->expected_valid) {
				tw_buf s = {0};
				tw_sig_sign(&s, TW_SIG_HMAC_SHA1, v->token,
				            strlen(v->token), b.data, b.len);
				is_str(v->signature, s.data,
				       "%s: tw_sig_sign gives the signature",
				       v->id);
				tw_buf_free(&s);
			}
			tw_buf_free(&b);
		}
		if (v->form_body) {
			/* the body as Twilio sent it, decoded by the webhook's
			 * parser: the params are signed DECODED */
			is_int(0,
			       tw_form_parse(v->form_body, strlen(v->form_body),
			                     TW_FORM_STRICT, &parsed, NULL),
			       "%s: the form parses", v->id);
			is_int((int)f.n, (int)parsed.n,
			       "%s: as many fields as params", v->id);
		}
		valid = verify(v->request_url, v->form_body ? &parsed : &f,
		               v->signature, NULL, &keys);
		if (v->body && valid == 1)
			valid = tw_sig_body_sha256_ok(v->request_url, v->body,
			                              strlen(v->body));
		is_int(v->expected_valid, valid, "%s: tw_sig_verify says %s",
		       v->id, v->expected_valid ? "valid" : "invalid");
		/* the same with the digests fetched once (the webhook's
		 * path: its own HMAC over EVP_MD_fetch'ed SHA-1) */
		keys.md = md;
		valid = verify(v->request_url, v->form_body ? &parsed : &f,
		               v->signature, NULL, &keys);
		if (v->body && valid == 1)
			valid = tw_sig_body_sha256_ok(v->request_url, v->body,
			                              strlen(v->body));
		is_int(v->expected_valid, valid,
		       "%s: tw_sig_verify with fetched digests says %s", v->id,
		       v->expected_valid ? "valid" : "invalid");
		tw_form_free(&parsed);
	}
	tw_sig_md_free(md);
}

/* The libraries' known quirks (library_quirks of the vectors file): we
 * follow the documented rule, not the quirk. */
static void test_quirks(void)
{
	static const char *const a[] = {"Sid", "CA123", "SidAccount", "AC123",
	                                NULL};
	static const char *const order1[] = {"B", "2", "A", "y", "A",
	                                     "x", "A", "y", NULL};
	static const char *const order2[] = {"A", "x", "A", "y",
	                                     "B", "2", NULL};
	tw_field f1[8], f2[8];
	tw_form fa, fb;
	tw_buf b1 = {0}, b2 = {0};
	tw_sig_keys k = {"12345", NULL, NULL, NULL};

	/* twilio-go sorts "name+value" strings: "SidAC123" < "SidAccount..."
	 * would put SidAccount first; key order puts Sid first */
	form_of(a, &fa, f1);
	tw_sig_base(&b1, "u", &fa);
	is_str("uSidCA123SidAccountAC123", b1.data,
	       "go quirk: sorted by name, not by name+value");
	tw_buf_clear(&b1);
	/* repeated names: values sorted, an equal pair once, whatever the
	 * order in the body (python 7.7.1 cannot do multi-values at all) */
	form_of(order1, &fa, f1);
	form_of(order2, &fb, f2);
	tw_sig_base(&b1, "u", &fa);
	tw_sig_base(&b2, "u", &fb);
	is_str("uAxAyB2", b1.data, "repeated name: values sorted, deduped");
	is_str(b1.data, b2.data, "... independent of the body's order");
	/* node lowercases the host in its fallback and so accepts the
	 * lowercase-host signature for MyCompany.com: we do not */
	form_of(P_basic_form, &fa, f1);
	is_int(0,
	       verify("https://MyCompany.com/myapp.php?foo=1&bar=2", &fa,
	              "RSOYDt4T1cUTdK1PDd93/VVr8B8=", NULL, &k),
	       "node quirk: host never case-folded");
	/* the raw apostrophe form is accepted too (its own signature) */
	is_int(1,
	       verify("https://mycompany.com/myapp.php?foo=1&bar=2&Body=It's+"
	              "amazing",
	              &fa, "dsq4Ehbj6cs+KdTkpF5sSSplOWw=", NULL, &k),
	       "apostrophe: the raw form's signature is accepted as well");
	tw_buf_free(&b1);
	tw_buf_free(&b2);
}

static void test_keys_and_tampering(void)
{
	static const char *const p[] = {
	        "Body", "Order Number 12345", "From", "+15551234567",
	        "To",   "+15005550006",       NULL};
	static const char *const tampered[] = {
	        "Body", "Order Number 12346", "From", "+15551234567",
	        "To",   "+15005550006",       NULL};
	static const char *const extra[] = {
	        "Body", "Order Number 12345", "From", "+15551234567",
	        "To",   "+15005550006",       "X",    "1",
	        NULL};
	const char *url = "https://orders.example.com/twilio/sms?t=1";
	tw_field f1[8], f2[8], f3[8];
	tw_form f, ft, fe;
	tw_sig_keys k = {"primary", NULL, NULL, NULL};
	tw_sig_keys rot = {"new-token", "primary", NULL, NULL};
	tw_sig_keys wrong = {"other", NULL, NULL, NULL};
	tw_buf checked = {0};
	tw_sig_request rq;
	char *sig, *flipped;

	form_of(p, &f, f1);
	form_of(tampered, &ft, f2);
	form_of(extra, &fe, f3);
	sig = sign_str(TW_SIG_HMAC_SHA1, "primary", url, &f);
	is_int(1, verify(url, &f, sig, NULL, &k), "signed with the token");
	is_int(1, verify(url, &f, sig, NULL, &rot),
	       "rotation: the secondary token is accepted");
	is_int(0, verify(url, &f, sig, NULL, &wrong), "wrong token refused");
	is_int(0, verify(url, &ft, sig, NULL, &k), "tampered body refused");
	is_int(0, verify(url, &fe, sig, NULL, &k), "added parameter refused");
	is_int(0,
	       verify("https://orders.example.com/twilio/sms?t=2", &f, sig,
	              NULL, &k),
	       "tampered URL (query) refused");
	is_int(0,
	       verify("https://orders.example.com/twilio/smz?t=1", &f, sig,
	              NULL, &k),
	       "tampered URL (path) refused");
	is_int(0,
	       verify("http://127.0.0.1:8080/twilio/sms?t=1", &f, sig, NULL,
	              &k),
	       "the listener's URL is not the public one (proxy case)");
	is_int(1,
	       verify("https://orders.example.com:443/twilio/sms?t=1", &f, sig,
	              NULL, &k),
	       "... :443 removed");
	flipped = strdup(sig);
	flipped[3] = flipped[3] == 'A' ? 'B' : 'A';
	is_int(0, verify(url, &f, flipped, NULL, &k), "tampered signature");
	flipped[3] = '\0';
	is_int(0, verify(url, &f, flipped, NULL, &k), "truncated signature");
	is_int(0, verify(url, &f, NULL, NULL, &k), "no signature: invalid");
	is_int(0, verify(url, &f, "", NULL, &k), "empty signature: invalid");
	is_int(0,
	       verify(url, &f, sig, NULL,
	              &(tw_sig_keys){NULL, NULL, NULL, NULL}),
	       "no key configured: invalid");
	rq = (tw_sig_request){url, &f, flipped, NULL};
	is_int(0, tw_sig_verify(&rq, &k, &checked), "checked_url: invalid");
	is_str(url, checked.data, "... and names the URL checked against");
	tw_buf_free(&checked);
	free(flipped);
	free(sig);
}

static void test_sha256(void)
{
	static const char *const p[] = {"Body", "hi", "From", "+1555", NULL};
	const char *url = "https://example.com/sms?x=1";
	tw_field f1[4];
	tw_form f;
	tw_buf b = {0};
	tw_sig_keys k = {"token", NULL, "shared-key", NULL};
	tw_sig_keys nokey = {"token", NULL, NULL, NULL};
	const char *s256 = "key=WS123,algorithm=HMAC_SHA256";
	char *sig, *sig1;

	tw_sig_sign(&b, TW_SIG_HMAC_SHA256, "Jefe", 4,
	            "what do ya want for nothing?", 28);
	is_str("W9zBRr9gdU5qBCQmCJV1x1oAPwidJzmDnexYuWTsOEM=", b.data,
	       "HMAC-SHA256 RFC 4231 case 2");
	tw_buf_clear(&b);
	tw_sig_sign(&b, TW_SIG_HMAC_SHA1, "Jefe", 4,
	            "what do ya want for nothing?", 28);
	is_str("7/zfauXrL6LSdBbV8YTfnCWafHk=", b.data,
	       "HMAC-SHA1 RFC 2202 case 2");
	tw_buf_free(&b);

	form_of(p, &f, f1);
	sig = sign_str(TW_SIG_HMAC_SHA256, "shared-key", url, &f);
	is_int(1, verify(url, &f, sig, s256, &k),
	       "HMAC-SHA256 with the shared key, header names it");
	is_int(1, verify(url, &f, sig, " algorithm=HMAC_SHA256 , key=x", &k),
	       "... items in any order, spaces allowed");
	is_int(0, verify(url, &f, sig, NULL, &k),
	       "... not without the settings header");
	is_int(0, verify(url, &f, sig, s256, &nokey),
	       "... not without a configured signing key");
	is_int(0, verify(url, &f, sig, "key=x,algorithm=HMAC_MD5", &k),
	       "... an unknown algorithm adds nothing");
	is_int(0, verify("https://example.com/sms?x=2", &f, sig, s256, &k),
	       "... tampered URL refused");
	sig1 = sign_str(TW_SIG_HMAC_SHA1, "token", url, &f);
	is_int(1, verify(url, &f, sig1, s256, &k),
	       "a forged settings header does not drop the token check");
	is_int(0, verify(url, &f, "bogus", s256, &k),
	       "a settings header never makes a bad signature pass");
	free(sig1);
	sig1 = sign_str(TW_SIG_HMAC_SHA1, "shared-key", url, &f);
	is_int(1, verify(url, &f, sig1, "algorithm=HMAC_SHA1", &k),
	       "a setting with HMAC_SHA1: the shared key with SHA-1");
	is_int(0, verify(url, &f, sig1, NULL, &k),
	       "... but the shared key only when the header says so");
	free(sig1);
	{
		/* the fetched-digest HMAC: SHA-256, and keys longer than a
		 * block (hashed first) */
		static const char long_key[] =
		        "0123456789abcdef0123456789abcdef0123456789abcdef"
		        "0123456789abcdef0123456789abcdef0123456789";
		tw_sig_md *md = tw_sig_md_new();
		tw_sig_keys km = {"token", NULL, "shared-key", md};
		tw_sig_keys kl = {long_key, NULL, long_key, md};
		char *sl = sign_str(TW_SIG_HMAC_SHA1, long_key, url, &f);
		char *sl256 = sign_str(TW_SIG_HMAC_SHA256, long_key, url, &f);

		is_int(1, verify(url, &f, sig, s256, &km),
		       "HMAC-SHA256 with fetched digests");
		is_int(0, verify(url, &f, "bogus", s256, &km),
		       "... a bad one refused");
		is_int(1, verify(url, &f, sl, NULL, &kl),
		       "HMAC-SHA1, a %zu-byte key, fetched digests",
		       strlen(long_key));
		is_int(1, verify(url, &f, sl256, s256, &kl),
		       "HMAC-SHA256, the same key, fetched digests");
		kl.token = "0123";
		is_int(0, verify(url, &f, sl, NULL, &kl),
		       "... another key refused");
		free(sl);
		free(sl256);
		tw_sig_md_free(md);
	}
	free(sig);
}

/* NULs inside names and values are part of what is signed. */
static void test_nul_and_many(void)
{
	tw_field fl[2];
	tw_form f = {NULL, fl, 2};
	tw_buf b = {0};
	tw_sig_keys k = {"t", NULL, NULL, NULL};
	enum { N = 20000 };
	tw_field *many = malloc(N * sizeof *many);
	char(*vals)[8] = malloc(N * sizeof *vals);
	tw_form fm = {NULL, many, N};
	size_t i;
	int sorted = 1;
	char *sig;

	fl[0] = (tw_field){"B\0x", 3, "v\0w", 3};
	fl[1] = (tw_field){"A", 1, "1", 1};
	tw_sig_base(&b, "u", &f);
	ok(b.len == 1 + 2 + 6 && memcmp(b.data, "uA1B\0xv\0w", 10) == 0,
	   "NULs in names and values are signed (lengths used)");
	sig = sign_str(TW_SIG_HMAC_SHA1, "t", "http://h/", &f);
	fl[0].value_len = 1; /* "v": the part before the NUL */
	is_int(0, verify("http://h/", &f, sig, NULL, &k),
	       "... cutting at the NUL changes the signature");
	free(sig);
	tw_buf_free(&b);

	/* many fields, most with repeated names, in reverse order */
	for (i = 0; i < N; i++) {
		snprintf(vals[i], sizeof vals[i], "%05zu", N - 1 - i);
		many[i] = (tw_field){i % 2 ? "Odd" : "Even", i % 2 ? 3 : 4,
		                     vals[i], 5};
	}
	tw_sig_base(&b, "", &fm);
	ok(b.len == (size_t)(N / 2) * (4 + 5) + (size_t)(N / 2) * (3 + 5),
	   "20000 fields, all distinct pairs kept");
	for (i = 0; i + 9 < (size_t)(N / 2) * 9; i += 9)
		if (memcmp(b.data + i + 4, b.data + i + 13, 5) >= 0)
			sorted = 0;
	ok(sorted && memcmp(b.data, "Even", 4) == 0,
	   "... Even's values first, in byte order");
	tw_buf_free(&b);
	free(many);
	free(vals);
}

static void test_body_sha256(void)
{
	const char *body = "{\"property\": \"value\", \"boolean\": true}";
	const char *h = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf1963"
	                "2632f96e6620";
	char url[256];

	snprintf(url, sizeof url, "https://x.example/p?a=1&bodySHA256=%s", h);
	is_int(1, tw_sig_body_sha256_ok(url, body, strlen(body)),
	       "bodySHA256 matches");
	/* neg_wrong_body_hash (java testValidateBodyFailsWhenWrong; node) */
	is_int(0,
	       tw_sig_body_sha256_ok("https://x.example/p?bodySHA256=WRONG",
	                             body, strlen(body)),
	       "neg_wrong_body_hash: a wrong hash");
	is_int(0, tw_sig_body_sha256_ok(url, "{}", 2), "another body");
	is_int(0, tw_sig_body_sha256_ok("https://x.example/p", body, 3),
	       "no bodySHA256 in the URL");
}

int main(void)
{
	test_vectors();
	test_quirks();
	test_keys_and_tampering();
	test_sha256();
	test_nul_and_many();
	test_body_sha256();
	return done_testing();
}
