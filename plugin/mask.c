/*
 * mask.c - masking personal data for logs.
 *
 * Phone numbers are personal data (DESIGN §9): logs show the country code
 * and area, and the last four digits, enough to tell messages apart.
 */
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

void tw_log(const conn_host *host, conn_log_level level, json_object *fields,
            const char *message)
{
	if (host && host->log)
		host->log(host->ctx, level, fields, message);
	json_object_put(fields);
}
