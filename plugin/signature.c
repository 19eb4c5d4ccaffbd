/*
 * signature.c - Twilio's X-Twilio-Signature: the string to sign, the HMAC,
 * and verification with the URL variants and keys the official libraries
 * accept. Interface, rules and the meaning of the signature-settings
 * header: tw_signature.h.
 *
 * Threads: no global state; every call works on its own buffers. Failure:
 * out of memory is -1 (never "valid"); a malformed input is "invalid".
 * Never logs: the caller decides what a 403 says (never a key).
 */
#include "tw_signature.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- the string to sign ----------------------------------------------- */

static int bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

static int field_cmp(const void *pa, const void *pb)
{
	const tw_field *a = *(const tw_field *const *)pa;
	const tw_field *b = *(const tw_field *const *)pb;
	int c = bytes_cmp(a->name, a->name_len, b->name, b->name_len);

	return c ? c
	         : bytes_cmp(a->value, a->value_len, b->value, b->value_len);
}

/* The sorted, de-duplicated fields appended to OUT (name + value each).
 * Sorting by (name, value) is total, so equal names come out with their
 * values in byte order whatever order the body had them in. */
static int append_fields(tw_buf *out, const tw_form *form)
{
	const tw_field **v;
	size_t i, n = form ? form->n : 0, total = 0;

	if (n == 0)
		return out->oom ? -1 : 0;
	v = malloc(n * sizeof *v);
	if (!v)
		return -1;
	for (i = 0; i < n; i++) {
		v[i] = &form->fields[i];
		total += v[i]->name_len + v[i]->value_len;
	}
	tw_buf_reserve(out, total); /* one allocation, not one per field */
	qsort(v, n, sizeof *v, field_cmp);
	for (i = 0; i < n; i++) {
		if (i > 0 && field_cmp(&v[i - 1], &v[i]) == 0)
			continue; /* the same name=value again: once */
		tw_buf_append(out, v[i]->name, v[i]->name_len);
		tw_buf_append(out, v[i]->value, v[i]->value_len);
	}
	free(v);
	return out->oom ? -1 : 0;
}

int tw_sig_base(tw_buf *out, const char *url, const tw_form *form)
{
	tw_buf_puts(out, url ? url : "");
	return append_fields(out, form);
}

/* ---- the MAC ---------------------------------------------------------- */

int tw_sig_sign(tw_buf *out, enum tw_sig_algo algo, const char *key,
                size_t keylen, const char *data, size_t len)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const EVP_MD *evp =
	        algo == TW_SIG_HMAC_SHA256 ? EVP_sha256() : EVP_sha1();

	if (keylen > 0x7fffffff)
		return -1;
	/* HMAC() is the one-shot API, not deprecated in OpenSSL 3 */
	if (!HMAC(evp, key ? key : "", (int)keylen,
	          (const unsigned char *)(data ? data : ""), len, md, &mdlen))
		return -1;
	return tw_base64_encode(out, md, mdlen);
}

struct tw_sig_md {
	EVP_MD *sha1, *sha256;
};

tw_sig_md *tw_sig_md_new(void)
{
	tw_sig_md *m = calloc(1, sizeof(*m));

	if (m && (!(m->sha1 = EVP_MD_fetch(NULL, "SHA1", NULL)) ||
	          !(m->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)))) {
		tw_sig_md_free(m);
		m = NULL;
	}
	return m;
}

void tw_sig_md_free(tw_sig_md *m)
{
	if (!m)
		return;
	EVP_MD_free(m->sha1);
	EVP_MD_free(m->sha256);
	free(m);
}

/* HMAC (RFC 2104) over an already fetched digest: H((K ^ opad) ||
 * H((K ^ ipad) || DATA)), K the key (hashed first when longer than a
 * block) zero-padded to the block size. MD is 32 or 20 bytes. 0 or -1. */
static int hmac_fetched(const EVP_MD *md, const char *key, size_t keylen,
                        const char *data, size_t len, unsigned char *out,
                        unsigned int *outlen)
{
	unsigned char k[128], pad[128], inner[EVP_MAX_MD_SIZE];
	unsigned int ilen = 0, klen = 0;
	size_t bs = (size_t)EVP_MD_get_block_size(md), i;
	EVP_MD_CTX *c;
	int ok;

	if (bs == 0 || bs > sizeof(k) || !(c = EVP_MD_CTX_new()))
		return -1;
	memset(k, 0, sizeof(k));
	if (keylen > bs) {
		ok = EVP_Digest(key, keylen, k, &klen, md, NULL);
	} else {
		memcpy(k, key, keylen);
		ok = 1;
	}
	for (i = 0; i < bs; i++)
		pad[i] = k[i] ^ 0x36;
	ok = ok && EVP_DigestInit_ex(c, md, NULL) &&
	     EVP_DigestUpdate(c, pad, bs) && EVP_DigestUpdate(c, data, len) &&
	     EVP_DigestFinal_ex(c, inner, &ilen);
	for (i = 0; i < bs; i++)
		pad[i] = k[i] ^ 0x5c;
	ok = ok && EVP_DigestInit_ex(c, md, NULL) &&
	     EVP_DigestUpdate(c, pad, bs) && EVP_DigestUpdate(c, inner, ilen) &&
	     EVP_DigestFinal_ex(c, out, outlen);
	EVP_MD_CTX_free(c);
	OPENSSL_cleanse(k, sizeof(k));
	OPENSSL_cleanse(pad, sizeof(pad));
	return ok ? 0 : -1;
}

/* ---- URL variants ----------------------------------------------------- */

#define MAX_VARIANTS 6

/* Whether byte C is percent-encoded by a WHATWG URL parser in the path
 * (QUERY false) or the query of a special-scheme URL. */
static int whatwg_encodes(unsigned char c, int query)
{
	if (c <= 0x20 || c >= 0x7f || c == '"' || c == '<' || c == '>')
		return 1;
	if (query)
		return c == '\'';
	return c == '`' || c == '{' || c == '}';
}

/* URL with its path and query encoded as twilio-node's `new URL()` does
 * (the fragment left alone). 0 / -1 OOM. */
static int whatwg_form(tw_buf *out, const char *url, size_t path_start)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, len = strlen(url);
	int query = 0;

	tw_buf_append(out, url, path_start);
	for (i = path_start; i < len; i++) {
		unsigned char c = (unsigned char)url[i];

		if (c == '#') {
			tw_buf_append(out, url + i, len - i);
			break;
		}
		if (c == '?')
			query = 1;
		if (whatwg_encodes(c, query)) {
			char e[3] = {'%', hex[c >> 4], hex[c & 15]};
			tw_buf_append(out, e, 3);
		} else {
			tw_buf_append(out, url + i, 1);
		}
	}
	return out->oom ? -1 : 0;
}

typedef struct variants {
	tw_buf v[MAX_VARIANTS];
	size_t n;
} variants;

static void variants_free(variants *vs)
{
	size_t i;

	for (i = 0; i < MAX_VARIANTS; i++)
		tw_buf_free(&vs->v[i]);
}

/* Keep the last built variant unless it repeats an earlier one. */
static void variants_commit(variants *vs)
{
	size_t i;
	tw_buf *b = &vs->v[vs->n];

	for (i = 0; i < vs->n; i++)
		if (vs->v[i].len == b->len &&
		    memcmp(vs->v[i].data, b->data, b->len) == 0) {
			tw_buf_clear(b);
			return;
		}
	vs->n++;
}

/* Build the URL variants of tw_sig_verify() into VS. 0 / -1 OOM. */
static int url_variants(variants *vs, const char *url)
{
	size_t len = strlen(url), auth, auth_end, host, port_colon = 0;
	size_t i, raw;
	const char *sep = strstr(url, "://");
	int has_port = 0;

	tw_buf_append(&vs->v[0], url, len);
	if (vs->v[0].oom)
		return -1;
	vs->n = 1;
	if (sep) {
		auth = (size_t)(sep - url) + 3;
		auth_end = auth + strcspn(url + auth, "/?#");
		host = auth;
		for (i = auth; i < auth_end; i++)
			if (url[i] == '@')
				host = i +
				       1; /* credentials are kept as written */
		if (url[host] == '[') {   /* [v6]:port */
			const char *rb =
			        memchr(url + host, ']', auth_end - host);
			if (rb && (size_t)(rb - url) + 1 < auth_end &&
			    rb[1] == ':') {
				has_port = 1;
				port_colon = (size_t)(rb - url) + 1;
			}
		} else {
			for (i = auth_end; i > host; i--)
				if (url[i - 1] == ':') {
					has_port = 1;
					port_colon = i - 1;
					break;
				}
		}
		if (has_port) {
			tw_buf *b = &vs->v[vs->n];
			tw_buf_append(b, url, port_colon);
			tw_buf_puts(b, url + auth_end);
			if (b->oom)
				return -1;
			variants_commit(vs);
		} else {
			size_t slen = (size_t)(sep - url);
			const char *def = NULL;

			if (slen == 5 && strncasecmp(url, "https", 5) == 0)
				def = ":443";
			else if (slen == 4 && strncasecmp(url, "http", 4) == 0)
				def = ":80";
			if (def) {
				tw_buf *b = &vs->v[vs->n];
				tw_buf_append(b, url, auth_end);
				tw_buf_puts(b, def);
				tw_buf_puts(b, url + auth_end);
				if (b->oom)
					return -1;
				variants_commit(vs);
			}
		}
	}
	/* each with the WHATWG encoding of its path and query */
	raw = vs->n;
	for (i = 0; i < raw; i++) {
		const char *u = vs->v[i].data;
		size_t p = 0;
		const char *s = strstr(u, "://");

		if (s)
			p = (size_t)(s - u) + 3 + strcspn(s + 3, "/?#");
		if (whatwg_form(&vs->v[vs->n], u, p) < 0)
			return -1;
		variants_commit(vs);
	}
	return 0;
}

/* ---- the settings header ---------------------------------------------- */

/* The algorithm the settings header names: 1 and *ALGO set, or 0 when
 * absent or unknown. "key=...,algorithm=HMAC_SHA256", spaces allowed
 * around the items. */
static int settings_algo(const char *s, enum tw_sig_algo *algo)
{
	while (s && *s) {
		size_t n;

		s += strspn(s, " \t");
		n = strcspn(s, ",");
		if (n >= 10 && strncasecmp(s, "algorithm=", 10) == 0) {
			const char *v = s + 10;
			size_t vl = n - 10;

			while (vl && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
				vl--;
			if (vl == 11 &&
			    strncasecmp(v, "HMAC_SHA256", 11) == 0) {
				*algo = TW_SIG_HMAC_SHA256;
				return 1;
			}
			if (vl == 9 && strncasecmp(v, "HMAC_SHA1", 9) == 0) {
				*algo = TW_SIG_HMAC_SHA1;
				return 1;
			}
			return 0;
		}
		s += n;
		if (*s == ',')
			s++;
	}
	return 0;
}

/* ---- verification ----------------------------------------------------- */

/* Whether SIG matches base64(HMAC(KEY, DATA)): 1, 0, or -1 OOM. */
static int check_one(const char *sig, size_t siglen, enum tw_sig_algo algo,
                     const char *key, const char *data, size_t len,
                     const tw_sig_md *md, tw_buf *scratch)
{
	tw_buf_clear(scratch);
	if (md) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		unsigned int maclen = 0;

		if (hmac_fetched(
		            algo == TW_SIG_HMAC_SHA256 ? md->sha256 : md->sha1,
		            key, strlen(key), data, len, mac, &maclen) < 0 ||
		    tw_base64_encode(scratch, mac, maclen) < 0)
			return -1;
	} else if (tw_sig_sign(scratch, algo, key, strlen(key), data, len) <
	           0) {
		return -1;
	}
	return tw_ct_equal(sig, siglen, scratch->data, scratch->len);
}

int tw_sig_verify(const tw_sig_request *req, const tw_sig_keys *keys,
                  tw_buf *checked_url)
{
	variants vs = {0};
	tw_buf params = {0}, base = {0}, mac = {0};
	const char *key[3];
	enum tw_sig_algo algo[3], salgo;
	size_t nkeys = 0, siglen, i, k;
	int rc = 0;

	if (checked_url && req && req->url)
		tw_buf_puts(checked_url, req->url);
	if (!req || !keys || !req->url || !*req->url || !req->signature)
		return 0;
	siglen = strlen(req->signature);
	if (siglen == 0 || siglen > TW_SIG_MAX_SIGNATURE ||
	    strlen(req->url) > TW_SIG_MAX_URL)
		return 0;
	if (keys->token && *keys->token) {
		key[nkeys] = keys->token;
		algo[nkeys++] = TW_SIG_HMAC_SHA1;
	}
	if (keys->token_secondary && *keys->token_secondary) {
		key[nkeys] = keys->token_secondary;
		algo[nkeys++] = TW_SIG_HMAC_SHA1;
	}
	if (keys->signing_key && *keys->signing_key &&
	    settings_algo(req->settings, &salgo)) {
		key[nkeys] = keys->signing_key;
		algo[nkeys++] = salgo;
	}
	if (nkeys == 0)
		return 0;
	/* the URL as given first (what Twilio signs, the common case); the
	 * other variants only when it fails */
	if (append_fields(&params, req->form) < 0) {
		rc = -1;
		goto out;
	}
	tw_buf_puts(&base, req->url);
	tw_buf_append(&base, params.data ? params.data : "", params.len);
	if (base.oom) {
		rc = -1;
		goto out;
	}
	for (k = 0; k < nkeys && rc == 0; k++)
		rc = check_one(req->signature, siglen, algo[k], key[k],
		               base.data, base.len, keys->md, &mac);
	if (rc == 0 && url_variants(&vs, req->url) < 0)
		rc = -1;
	for (i = 1; i < vs.n && rc == 0; i++) { /* v[0] is the URL as given */
		tw_buf_clear(&base);
		tw_buf_append(&base, vs.v[i].data, vs.v[i].len);
		tw_buf_append(&base, params.data ? params.data : "",
		              params.len);
		if (base.oom) {
			rc = -1;
			break;
		}
		for (k = 0; k < nkeys && rc == 0; k++)
			rc = check_one(req->signature, siglen, algo[k], key[k],
			               base.data, base.len, keys->md, &mac);
	}
out:
	variants_free(&vs);
	tw_buf_free(&params);
	tw_buf_free(&base);
	tw_buf_free(&mac);
	if (checked_url && checked_url->oom && rc == 0)
		rc = -1;
	return rc;
}

/* ---- JSON bodies ------------------------------------------------------ */

int tw_sig_body_sha256_ok(const char *url, const char *body, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, i;
	char want[2 * EVP_MAX_MD_SIZE];
	const char *q, *p;

	if (!url || !(q = strchr(url, '?')))
		return 0;
	for (p = q + 1; *p;) {
		size_t n = strcspn(p, "&#");

		if (n > 11 && strncmp(p, "bodySHA256=", 11) == 0) {
			if (!EVP_Digest(body ? body : "", len, md, &mdlen,
			                EVP_sha256(), NULL))
				return 0;
			for (i = 0; i < mdlen; i++) {
				want[2 * i] = hex[md[i] >> 4];
				want[2 * i + 1] = hex[md[i] & 15];
			}
			return tw_ct_equal(p + 11, n - 11, want, 2 * mdlen);
		}
		if (p[n] != '&')
			break;
		p += n + 1;
	}
	return 0;
}
