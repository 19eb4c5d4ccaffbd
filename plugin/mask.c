/*
 * mask.c - masking personal data for logs, scrubbing secrets from text.
 *
 * Phone numbers are personal data (DESIGN §9): logs show the country code
 * and area, and the last four digits, enough to tell messages apart.
 *
 * Text the connector did not write (libcurl's error buffer quotes the proxy
 * URL it was given, credentials included; Twilio's messages quote the
 * numbers) goes through tw_scrub() before it reaches an output or a log:
 * one function, so no path can forget one of the rules.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "tw_mask.h"

#define BULLETS "\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2" /* ••• */

char *tw_mask_number(const char *number, int unmasked)
{
	const char *num = number, *colon;
	size_t plen = 0, n, keep_head, keep_tail;
	char *out, *p;

	if (!number)
		return strdup("");
	if (unmasked)
		return strdup(number);
	colon = strchr(number, ':');
	if (colon && colon - number < 16) {
		plen = (size_t)(colon - number) + 1;
		num = colon + 1;
	}
	n = strlen(num);
	if (n >= 10) {
		keep_head = 5; /* "+1415" */
		keep_tail = 4;
	} else if (n >= 6) {
		keep_head = 2;
		keep_tail = 2;
	} else {
		keep_head = 0;
		keep_tail = 0;
	}
	out = malloc(plen + keep_head + sizeof(BULLETS) + keep_tail);
	if (!out)
		return NULL;
	p = out;
	memcpy(p, number, plen);
	p += plen;
	memcpy(p, num, keep_head);
	p += keep_head;
	memcpy(p, BULLETS, sizeof(BULLETS) - 1);
	p += sizeof(BULLETS) - 1;
	memcpy(p, num + n - keep_tail, keep_tail);
	p += keep_tail;
	*p = '\0';
	return out;
}

#define SECRET_MARK "[secret]"

/* TEXT with every NEEDLE replaced by SECRET_MARK (TEXT is freed); NULL out
 * of memory. */
static char *replace_all(char *text, const char *needle)
{
	size_t nl = strlen(needle), ml = sizeof(SECRET_MARK) - 1, count = 0;
	const char *p;
	char *out, *o;

	if (nl == 0)
		return text;
	for (p = strstr(text, needle); p; p = strstr(p + nl, needle))
		count++;
	if (count == 0)
		return text;
	out = malloc(strlen(text) - count * nl + count * ml + 1);
	if (!out) {
		free(text);
		return NULL;
	}
	o = out;
	for (p = text;;) {
		const char *hit = strstr(p, needle);

		if (!hit) {
			strcpy(o, p);
			break;
		}
		memcpy(o, p, (size_t)(hit - p));
		o += hit - p;
		memcpy(o, SECRET_MARK, ml);
		o += ml;
		p = hit + nl;
	}
	free(text);
	return out;
}

/* The length of a phone-number-looking run at P (0: none). START is the
 * beginning of the text, for the character before P. */
static size_t number_run(const char *start, const char *p, size_t *digits)
{
	const char *q = p;
	int plus = *p == '+';
	size_t d = 0, end = 0;

	*digits = 0;
	/* a run inside a word (a SID's hex, a decimal, an identifier) is not
	 * a number */
	if (p > start &&
	    (isalnum((unsigned char)p[-1]) || p[-1] == '.' || p[-1] == '_'))
		return 0;
	if (plus)
		q++;
	if (!isdigit((unsigned char)*q))
		return 0;
	while (*q) {
		if (isdigit((unsigned char)*q)) {
			d++;
			q++;
			end = (size_t)(q - p);
		} else if (plus && (*q == ' ' || *q == '-') &&
		           isdigit((unsigned char)q[1])) {
			/* "+1 415-555-0100": separators only after a '+' */
			q++;
		} else {
			break;
		}
	}
	if (d < 7 || d > 20)
		return 0;
	if (isalnum((unsigned char)p[end]) || p[end] == '_')
		return 0;
	*digits = d;
	return end;
}

static char *mask_numbers(char *text)
{
	size_t len = strlen(text), cap = len + 1, n = 0, i = 0;
	char *out = malloc(cap);

	if (!out) {
		free(text);
		return NULL;
	}
	while (text[i]) {
		size_t digits, run = number_run(text, text + i, &digits);

		if (run) {
			char num[32], *m;
			size_t k, j = 0, ml;

			for (k = 0; k < run; k++)
				if (text[i + k] == '+' ||
				    isdigit((unsigned char)text[i + k]))
					num[j++] = text[i + k];
			num[j] = '\0';
			m = tw_mask_number(num, 0);
			if (!m) {
				free(out);
				free(text);
				return NULL;
			}
			ml = strlen(m);
			if (n + ml + (len - i) + 1 > cap) {
				char *bigger;

				cap = n + ml + (len - i) + 1;
				bigger = realloc(out, cap);
				if (!bigger) {
					free(m);
					free(out);
					free(text);
					return NULL;
				}
				out = bigger;
			}
			memcpy(out + n, m, ml);
			n += ml;
			free(m);
			i += run;
			continue;
		}
		if (n + 2 > cap) {
			char *bigger = realloc(out, cap * 2);

			if (!bigger) {
				free(out);
				free(text);
				return NULL;
			}
			out = bigger;
			cap *= 2;
		}
		out[n++] = text[i++];
	}
	out[n] = '\0';
	free(text);
	return out;
}

char *tw_scrub(const char *text, char *const *secrets, size_t nsecrets,
               int flags)
{
	char *out;
	size_t i;

	if (!text)
		return NULL;
	out = strdup(text);
	/* secrets first: a number inside a secret must not leave part of
	 * the secret behind */
	for (i = 0; out && i < nsecrets; i++)
		if (secrets[i])
			out = replace_all(out, secrets[i]);
	/* a text cut to fit a buffer (libcurl's holds 256 bytes) may end
	 * inside a secret: a tail of 4 bytes or more that begins one goes
	 * too */
	for (i = 0; out && i < nsecrets; i++) {
		size_t sl = secrets[i] ? strlen(secrets[i]) : 0;
		size_t tl = strlen(out), k;

		for (k = sl - (sl > 0); k >= 4; k--)
			if (k <= tl && !memcmp(out + tl - k, secrets[i], k)) {
				char *cut = realloc(
				        out, tl - k + sizeof(SECRET_MARK));

				if (!cut) {
					free(out);
					return NULL;
				}
				out = cut;
				memcpy(out + tl - k, SECRET_MARK,
				       sizeof(SECRET_MARK));
				break;
			}
	}
	if (out && (flags & TW_SCRUB_NUMBERS))
		out = mask_numbers(out);
	return out;
}

void tw_log(const conn_host *host, conn_log_level level, json_object *fields,
            const char *message)
{
	if (host && host->log)
		host->log(host->ctx, level, fields, message);
	json_object_put(fields);
}
