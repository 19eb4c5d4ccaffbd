/*
 * sig_tool.c - a tiny command line over plugin/signature.c for the
 * interop test (tests/signature_interop.sh): the official libraries sign,
 * we verify, and the other way round. Test-only; keys come on the command
 * line because the test makes them up.
 *
 *   sig_tool base URL < BODY                   the string to sign
 *   sig_tool sign URL KEY [sha256] < BODY      the signature
 *   sig_tool verify URL TOKEN SIG [SETTINGS SIGNING_KEY] < BODY
 *                                              "valid" (exit 0) or
 *                                              "invalid" (exit 1)
 * BODY is application/x-www-form-urlencoded (strict: a bad %XX is exit 2).
 */
#include "tw_signature.h"
#include "tw_wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_BODY (1024 * 1024)

static int read_form(tw_form *form)
{
	tw_buf in = {0};
	size_t off = 0;
	int rc;

	for (;;) {
		size_t n;
		if (tw_buf_reserve(&in, 65536) < 0)
			return -1;
		n = fread(in.data + in.len, 1, 65536, stdin);
		if (n == 0)
			break;
		in.len += n;
		if (in.len > MAX_BODY) {
			fprintf(stderr, "sig_tool: body over %d bytes\n",
			        MAX_BODY);
			tw_buf_free(&in);
			return -1;
		}
	}
	while (in.len && (in.data[in.len - 1] == '\n'))
		in.len--; /* the shell's newline */
	rc = tw_form_parse(in.data ? in.data : "", in.len, TW_FORM_STRICT, form,
	                   &off);
	if (rc < 0)
		fprintf(stderr, "sig_tool: body: %s at offset %zu\n",
		        rc == TW_FORM_EMALFORMED ? "malformed %XX"
		                                 : "out of memory",
		        off);
	tw_buf_free(&in);
	return rc < 0 ? -1 : 0;
}

int main(int argc, char **argv)
{
	tw_form form = {0};
	tw_buf out = {0};
	int rc = 2;

	if (argc < 3 || read_form(&form) < 0) {
		if (argc < 3)
			fprintf(stderr, "usage: sig_tool base|sign|verify URL "
			                "... < BODY\n");
		return 2;
	}
	if (strcmp(argv[1], "base") == 0) {
		if (tw_sig_base(&out, argv[2], &form) == 0) {
			fwrite(out.data, 1, out.len, stdout);
			putchar('\n');
			rc = 0;
		}
	} else if (strcmp(argv[1], "sign") == 0 && argc >= 4) {
		tw_buf base = {0};
		enum tw_sig_algo a = argc > 4 && strcmp(argv[4], "sha256") == 0
		                             ? TW_SIG_HMAC_SHA256
		                             : TW_SIG_HMAC_SHA1;
		if (tw_sig_base(&base, argv[2], &form) == 0 &&
		    tw_sig_sign(&out, a, argv[3], strlen(argv[3]), base.data,
		                base.len) == 0) {
			puts(out.data);
			rc = 0;
		}
		tw_buf_free(&base);
	} else if (strcmp(argv[1], "verify") == 0 && argc >= 5) {
		tw_sig_request rq = {argv[2], &form, argv[4],
		                     argc > 6 ? argv[5] : NULL};
		tw_sig_keys k = {argv[3], NULL, argc > 6 ? argv[6] : NULL,
		                 NULL};
		int v = tw_sig_verify(&rq, &k, NULL);
		puts(v == 1 ? "valid" : v == 0 ? "invalid" : "out of memory");
		rc = v == 1 ? 0 : v == 0 ? 1 : 2;
	} else {
		fprintf(stderr, "sig_tool: unknown command '%s'\n", argv[1]);
	}
	tw_buf_free(&out);
	tw_form_free(&form);
	return rc;
}
