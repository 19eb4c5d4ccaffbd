/*
 * tw_recipients.h - parsing smsTo: a JSON array of strings, or a string
 * whose entries are separated by commas, semicolons or line breaks.
 */
#ifndef TW_RECIPIENTS_H
#define TW_RECIPIENTS_H

#include <stddef.h>
#include <json-c/json.h>

#include "tw_errors.h"

#define TW_RECIPIENT_MAX       64      /* longest entry, as written */
#define TW_RECIPIENTS_TEXT_MAX 1048576 /* longest smsTo string */

typedef struct tw_recipient {
	int index;   /* position in smsTo as written (0-based) */
	char *input; /* the entry as written (trimmed of surrounding blanks) */
	char *to;    /* normalised (+14155550100, whatsapp:+1...), or NULL */
	tw_err err;  /* TW_OK, or why the entry is refused */
	char *message; /* the reason, naming smsTo[index] (err != TW_OK) */
} tw_recipient;

typedef struct tw_recipients {
	tw_recipient *v; /* in smsTo order, duplicates removed */
	size_t n;
	size_t cap;
} tw_recipients;

/*
 * Parse smsTo (a JSON array of strings or a string). Entries are cleaned
 * (spaces, '-', '.', '(' and ')' removed), checked (a '+' and 3..15 digits,
 * optionally after "whatsapp:"), and de-duplicated by their normalised form
 * keeping the first. An invalid entry is kept with err set, so the caller
 * reports it and sends the others.
 * Ownership: SMSTO is borrowed and only read (no json-c caches written);
 *            OUT is filled and owned by the caller (tw_recipients_free).
 * Returns: 0; or -1 with *ERR set and MESSAGE (malloc'd, caller frees)
 *          for a refusal of the whole input: not a string or array
 *          (INVALID_INPUT), empty (MISSING_INPUT), more than MAX entries
 *          or TW_RECIPIENTS_TEXT_MAX bytes (INVALID_INPUT), out of memory
 *          (UNKNOWN_ERROR).
 */
int tw_recipients_parse(json_object *smsto, size_t max, tw_recipients *out,
                        tw_err *err, char **message);

/* The same for a text smsTo of LEN bytes (used by the parser above and by
 * the fuzz target). */
int tw_recipients_parse_text(const char *text, size_t len, size_t max,
                             tw_recipients *out, tw_err *err, char **message);

/* What smsTo should be, for the messages that refuse it. */
#define TW_SMSTO_WHAT                                                          \
	"give the recipients as a list of numbers ([\"+14155550100\"]) or a "  \
	"string of numbers separated by commas, semicolons or new lines, "     \
	"each with + and the country code"
#define TW_SMSTO_MISSING "smsTo: missing; " TW_SMSTO_WHAT

/*
 * The message for an E.164 number E164 ("+0...") whose country code
 * starts with 0, which none does: "FIELD[INDEX] 'INPUT': ..." (no [INDEX]
 * when INDEX < 0) with the fix. Malloc'd (caller frees), NULL out of
 * memory.
 */
char *tw_e164_zero_hint(const char *field, int index, const char *input,
                        const char *e164);

/* Free the entries; OUT may be zeroed. */
void tw_recipients_free(tw_recipients *r);

/* Number of entries without an error. */
size_t tw_recipients_valid(const tw_recipients *r);

#endif /* TW_RECIPIENTS_H */
