/*
 * fuzz_signature.c - fuzz target for the signature base string and
 * verification (plugin/signature.c) over any URL and form: the input is
 * URL '\n' BODY (the URL cut at the first NUL or newline; BODY parsed
 * leniently as the webhook would).
 *
 * Invariants: no crash or leak; the base string starts with the URL and is
 * no longer than URL + every name and value; signing the base under a key
 * and verifying the request gives valid (for a URL within the limit); the
 * same signature with one byte changed gives invalid; under another key,
 * invalid.
 *
 * With -DTW_LIBFUZZER (make fuzz-sig) a libFuzzer target; without, main()
 * replays tests/fuzz/corpus/signature in `make check`.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tw_signature.h"
#include "tw_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t ulen = 0, i, total;
	char *url;
	tw_form form = {0};
	tw_buf base = {0}, sig = {0};
	tw_sig_keys keys = {"token-1", "token-2", "shared", NULL};
	tw_sig_keys other = {"other", NULL, NULL, NULL};
	tw_sig_request rq;
	int v;

	while (ulen < size && in[ulen] != '\n' && in[ulen] != '\0')
		ulen++;
	url = malloc(ulen + 1);
	if (!url)
		return 0;
	memcpy(url, in, ulen);
	url[ulen] = '\0';
	if (ulen < size)
		ulen++;
	if (tw_form_parse(in + ulen, size - ulen, TW_FORM_LENIENT, &form,
	                  NULL) != 0)
		goto out;
	if (tw_sig_base(&base, url, &form) < 0)
		goto out;
	total = strlen(url);
	for (i = 0; i < form.n; i++)
		total += form.fields[i].name_len + form.fields[i].value_len;
	if (base.len > total || memcmp(base.data, url, strlen(url)) != 0)
		abort();
	if (tw_sig_sign(&sig, TW_SIG_HMAC_SHA1, "token-2", 7, base.data,
	                base.len) < 0)
		goto out;
	rq = (tw_sig_request){url, &form, sig.data, NULL};
	v = tw_sig_verify(&rq, &keys, NULL);
	if (v == -1)
		goto out;
	if (v != (*url && strlen(url) <= TW_SIG_MAX_URL))
		abort();
	if (tw_sig_verify(&rq, &other, NULL) == 1)
		abort();
	{
		/* the webhook's path (digests fetched once, its own HMAC)
		 * agrees with the one-shot path */
		static tw_sig_md *md;
		tw_sig_keys fk = keys;

		if (!md)
			md = tw_sig_md_new(); /* kept for the process */
		fk.md = md;
		if (md && tw_sig_verify(&rq, &fk, NULL) != v)
			abort();
	}
	/* one changed byte (position from the input) */
	i = size ? data[size - 1] % sig.len : 0;
	sig.data[i] = sig.data[i] == 'A' ? 'B' : 'A';
	if (tw_sig_verify(&rq, &keys, NULL) == 1)
		abort();
	/* HMAC-SHA256 under the shared key, announced by the header */
	tw_buf_clear(&sig);
	if (tw_sig_sign(&sig, TW_SIG_HMAC_SHA256, "shared", 6, base.data,
	                base.len) < 0)
		goto out;
	rq.signature = sig.data;
	rq.settings = "algorithm=HMAC_SHA256";
	v = tw_sig_verify(&rq, &keys, NULL);
	if (v != -1 && v != (*url && strlen(url) <= TW_SIG_MAX_URL))
		abort();
out:
	tw_buf_free(&base);
	tw_buf_free(&sig);
	tw_form_free(&form);
	free(url);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	return tw_fuzz_replay(argc, argv, "signature");
}
#endif
