/*
 * recipients.c - smsTo parsing: splitting, clean-up, validation, hints and
 * de-duplication. The country is never guessed: an entry without '+' is
 * refused with a hint showing how to write it.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tw_wire.h"
#include "tw_recipients.h"

#define WA_PREFIX "whatsapp:"
#define WA_LEN    9

static int push(tw_recipients *r, tw_recipient *e)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		tw_recipient *v = realloc(r->v, cap * sizeof(*v));

		if (!v)
			return -1;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *e;
	return 0;
}

/* Copy at most TW_RECIPIENT_MAX bytes of S, cut on a UTF-8 boundary. */
static char *copy_input(const char *s, size_t len)
{
	if (len > TW_RECIPIENT_MAX) {
		len = TW_RECIPIENT_MAX;
		while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
			len--;
	}
	return strndup(s, len);
}

static int is_filler(char c)
{
	return c == ' ' || c == '\t' || c == '-' || c == '.' || c == '(' ||
	       c == ')';
}

/* Hint for an entry of digits without '+'. */
static char *hint(int index, const char *input, const char *digits, size_t n)
{
	if (n > 4 && digits[0] == '0' && digits[1] == '0')
		return tw_strdupf(
		        "smsTo[%d] '%s': no country code; replace the "
		        "international prefix 00 with +: write +%s",
		        index, input, digits + 2);
	if (n == 10)
		return tw_strdupf(
		        "smsTo[%d] '%s': no country code; write +1 %.3s "
		        "%.3s %.4s (if it is a North American number), or "
		        "+ and its country code",
		        index, input, digits, digits + 3, digits + 6);
	if (n == 11 && digits[0] == '1')
		return tw_strdupf(
		        "smsTo[%d] '%s': no country code; write +1 %.3s "
		        "%.3s %.4s",
		        index, input, digits + 1, digits + 4, digits + 7);
	return tw_strdupf(
	        "smsTo[%d] '%s': no country code; write the number in "
	        "international form, + and the country code first (e.g. "
	        "+44 20 7946 0000)",
	        index, input);
}

/* 1 when the entry as written looks like several numbers written with
 * spaces between them: a '+' (or "whatsapp:") after a blank, or more
 * digits than one number has and a blank. */
static int several(const char *s, size_t len)
{
	size_t i, digits = 0;
	int blank = 0;

	for (i = 0; i < len; i++) {
		if (s[i] == ' ' || s[i] == '\t') {
			blank = 1;
		} else if (blank && i > 0 &&
		           (s[i] == '+' ||
		            (len - i >= WA_LEN &&
		             strncasecmp(s + i, WA_PREFIX, WA_LEN) == 0))) {
			return 1;
		} else if (isdigit((unsigned char)s[i])) {
			digits++;
		}
	}
	return blank && digits > 15;
}

char *tw_e164_zero_hint(const char *field, int index, const char *input,
                        const char *e164)
{
	char at[32] = "";

	if (index >= 0)
		snprintf(at, sizeof(at), "[%d]", index);
	if (e164[2] == '0')
		return tw_strdupf("%s%s '%s': no country code starts with 0; "
		                  "drop the international prefix 00 after the "
		                  "+: write +%s",
		                  field, at, input, e164 + 3);
	return tw_strdupf("%s%s '%s': no country code starts with 0; write + "
	                  "and the country code, then the number without its "
	                  "leading 0 (e.g. +44 20 7946 0000 for 020 7946 0000)",
	                  field, at, input);
}

/* Validate and normalise one entry (S, LEN as written, trimmed). */
static int entry(int index, const char *s, size_t len, tw_recipient *e)
{
	char *clean = NULL, *p;
	size_t i, digits = 0, start = 0;
	int wa = 0;

	memset(e, 0, sizeof(*e));
	e->index = index;
	e->input = copy_input(s, len);
	if (!e->input)
		return -1;
	e->err = TW_INVALID_TO;
	/* the same refusal for both forms of smsTo: a C string would end at
	 * the NUL and silently send to what comes before it */
	if (memchr(s, '\0', len)) {
		e->message = tw_strdupf("smsTo[%d] '%s': contains a NUL byte "
		                        "(\\u0000); write the number as plain "
		                        "text",
		                        index, e->input);
		return e->message ? 0 : -1;
	}
	if (len > TW_RECIPIENT_MAX) {
		e->message = tw_strdupf(
		        "smsTo[%d] '%s...': longer than %d characters", index,
		        e->input, TW_RECIPIENT_MAX);
		return e->message ? 0 : -1;
	}
	if (len >= WA_LEN && strncasecmp(s, WA_PREFIX, WA_LEN) == 0) {
		wa = 1;
		start = WA_LEN;
	}
	clean = malloc(len + 1);
	if (!clean)
		return -1;
	p = clean;
	if (wa) {
		memcpy(p, WA_PREFIX, WA_LEN);
		p += WA_LEN;
	}
	for (i = start; i < len; i++)
		if (!is_filler(s[i]))
			*p++ = s[i];
	*p = '\0';
	p = clean + (wa ? WA_LEN : 0);
	for (i = (*p == '+'); p[i]; i++) {
		if (!isdigit((unsigned char)p[i]))
			break;
		digits++;
	}
	if (p[i] != '\0' && several(s, len)) {
		e->message = tw_strdupf(
		        "smsTo[%d] '%s': looks like several numbers separated "
		        "by spaces; separate entries with commas or semicolons "
		        "(spaces inside a number are ignored)",
		        index, e->input);
	} else if (p[i] != '\0') {
		e->message = tw_strdupf(
		        "smsTo[%d] '%s': not a phone number: only "
		        "digits may follow the +%s",
		        index, e->input, wa ? "" : " (or write whatsapp:+...)");
	} else if (*p != '+') {
		e->message =
		        digits ? hint(index, e->input, p, digits)
		               : tw_strdupf("smsTo[%d] '%s': no phone number",
		                            index, e->input);
	} else if (digits > 15 && several(s, len)) {
		e->message = tw_strdupf(
		        "smsTo[%d] '%s': %zu digits: looks like several "
		        "numbers "
		        "separated by spaces; separate entries with commas or "
		        "semicolons (spaces inside a number are ignored)",
		        index, e->input, digits);
	} else if (digits < 3 || digits > 15) {
		e->message =
		        tw_strdupf("smsTo[%d] '%s': not an E.164 number: %zu "
		                   "digits after +, expected 3 to 15",
		                   index, e->input, digits);
	} else if (p[1] == '0') {
		e->message = tw_e164_zero_hint("smsTo", index, e->input, p);
	} else {
		e->err = TW_OK;
		e->to = clean;
		return 0;
	}
	free(clean);
	return e->message ? 0 : -1;
}

static void entry_free(tw_recipient *e)
{
	free(e->input);
	free(e->to);
	free(e->message);
}

/* A small open-addressing set of normalised numbers, for de-duplication. */
typedef struct dedupe {
	const char **slot;
	size_t mask;
} dedupe;

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 1099511628211ULL;
	return h;
}

static int dedupe_init(dedupe *d, size_t n)
{
	size_t cap = 16;

	while (cap < n * 2)
		cap *= 2;
	d->slot = calloc(cap, sizeof(*d->slot));
	d->mask = cap - 1;
	return d->slot ? 0 : -1;
}

/* 1 when S was already there, 0 when inserted. */
static int dedupe_add(dedupe *d, const char *s)
{
	size_t i = (size_t)hash(s) & d->mask;

	while (d->slot[i]) {
		if (strcmp(d->slot[i], s) == 0)
			return 1;
		i = (i + 1) & d->mask;
	}
	d->slot[i] = s;
	return 0;
}

static int finish(tw_recipients *out, tw_err *err, char **message)
{
	dedupe d;
	size_t i, j = 0;

	if (out->n == 0) {
		*err = TW_MISSING_INPUT;
		*message = strdup("smsTo: no recipient given; " TW_SMSTO_WHAT);
		return -1;
	}
	if (dedupe_init(&d, out->n)) {
		*err = TW_UNKNOWN;
		*message = strdup("smsTo: out of memory");
		return -1;
	}
	for (i = 0; i < out->n; i++) {
		tw_recipient *e = &out->v[i];

		if (e->to && dedupe_add(&d, e->to)) {
			entry_free(e);
			continue;
		}
		out->v[j++] = *e;
	}
	out->n = j;
	free(d.slot);
	return 0;
}

static int too_many(size_t max, tw_err *err, char **message)
{
	*err = TW_INVALID_INPUT;
	*message = tw_strdupf(
	        "smsTo: more than %zu recipients; at most %zu a call "
	        "(TWILIO_MAX_RECIPIENTS)",
	        max, max);
	return -1;
}

static int oom(tw_recipients *out, tw_err *err, char **message)
{
	tw_recipients_free(out);
	*err = TW_UNKNOWN;
	*message = strdup("smsTo: out of memory");
	return -1;
}

int tw_recipients_parse_text(const char *text, size_t len, size_t max,
                             tw_recipients *out, tw_err *err, char **message)
{
	size_t pos = 0;
	int index = 0;

	memset(out, 0, sizeof(*out));
	*err = TW_OK;
	*message = NULL;
	if (len > TW_RECIPIENTS_TEXT_MAX) {
		*err = TW_INVALID_INPUT;
		*message = tw_strdupf("smsTo: longer than %d bytes",
		                      TW_RECIPIENTS_TEXT_MAX);
		return -1;
	}
	while (pos < len) {
		size_t end = pos, a, b;
		tw_recipient e;

		while (end < len && text[end] != ',' && text[end] != ';' &&
		       text[end] != '\n' && text[end] != '\r')
			end++;
		a = pos;
		b = end;
		while (a < b && isspace((unsigned char)text[a]))
			a++;
		while (b > a && isspace((unsigned char)text[b - 1]))
			b--;
		pos = end + 1;
		if (a == b)
			continue;
		if ((size_t)index >= max) {
			tw_recipients_free(out);
			return too_many(max, err, message);
		}
		if (entry(index, text + a, b - a, &e) || push(out, &e)) {
			entry_free(&e);
			return oom(out, err, message);
		}
		index++;
	}
	if (finish(out, err, message)) {
		tw_recipients_free(out);
		return -1;
	}
	return 0;
}

static int parse_array(json_object *a, size_t max, tw_recipients *out,
                       tw_err *err, char **message)
{
	size_t i, n = json_object_array_length(a);

	if (n > max)
		return too_many(max, err, message);
	for (i = 0; i < n; i++) {
		json_object *v = json_object_array_get_idx(a, i);
		tw_recipient e;
		const char *s;
		size_t a0, b;

		memset(&e, 0, sizeof(e));
		e.index = (int)i;
		if (!json_object_is_type(v, json_type_string)) {
			e.err = TW_INVALID_TO;
			e.input = strdup("");
			e.message = tw_strdupf(
			        "smsTo[%zu]: not a string (write the "
			        "number as text, with + and the "
			        "country code)",
			        i);
			if (!e.input || !e.message || push(out, &e)) {
				entry_free(&e);
				return oom(out, err, message);
			}
			continue;
		}
		s = json_object_get_string(v);
		b = (size_t)json_object_get_string_len(v);
		a0 = 0;
		while (a0 < b && isspace((unsigned char)s[a0]))
			a0++;
		while (b > a0 && isspace((unsigned char)s[b - 1]))
			b--;
		if (entry((int)i, s + a0, b - a0, &e) || push(out, &e)) {
			entry_free(&e);
			return oom(out, err, message);
		}
	}
	if (finish(out, err, message)) {
		tw_recipients_free(out);
		return -1;
	}
	return 0;
}

int tw_recipients_parse(json_object *smsto, size_t max, tw_recipients *out,
                        tw_err *err, char **message)
{
	memset(out, 0, sizeof(*out));
	*err = TW_OK;
	*message = NULL;
	if (!smsto) {
		*err = TW_MISSING_INPUT;
		*message = strdup(TW_SMSTO_MISSING);
		return -1;
	}
	if (json_object_is_type(smsto, json_type_string))
		return tw_recipients_parse_text(
		        json_object_get_string(smsto),
		        (size_t)json_object_get_string_len(smsto), max, out,
		        err, message);
	if (json_object_is_type(smsto, json_type_array))
		return parse_array(smsto, max, out, err, message);
	*err = TW_INVALID_INPUT;
	*message = strdup("smsTo: must be a list of numbers or a string of "
	                  "numbers separated by commas, semicolons or new "
	                  "lines");
	return -1;
}

void tw_recipients_free(tw_recipients *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		entry_free(&r->v[i]);
	free(r->v);
	memset(r, 0, sizeof(*r));
}

size_t tw_recipients_valid(const tw_recipients *r)
{
	size_t i, n = 0;

	for (i = 0; i < r->n; i++)
		n += r->v[i].err == TW_OK;
	return n;
}
