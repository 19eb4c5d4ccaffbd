/*
 * tw_mask.h - personal data in logs: masked phone numbers, the scrubber
 * every outside text (libcurl's error buffer, Twilio's messages) goes
 * through before it reaches an output or a log, and a log helper.
 */
#ifndef TW_MASK_H
#define TW_MASK_H

#include <stddef.h>
#include <json-c/json.h>

#include "connector.h"

/*
 * Mask NUMBER for a log: "+14155550100" -> "+1415•••0100"; the channel
 * prefix (whatsapp:) is kept; a short or odd value keeps at most its first
 * and last two characters. With UNMASKED (LOG_NUMBERS=true) a copy.
 * Returns a malloc'd string (caller frees), or NULL out of memory.
 */
char *tw_mask_number(const char *number, int unmasked);

/* What tw_scrub() removes besides the secrets. */
#define TW_SCRUB_NUMBERS 1 /* mask phone-number-looking runs */

/*
 * Copy TEXT with every occurrence of each of the NSECRETS SECRETS replaced
 * by "[secret]" and, with TW_SCRUB_NUMBERS in FLAGS, every run that looks
 * like a phone number ("+14155550100", "+1 415-555-0100", or 7 digits or
 * more standing alone) masked as tw_mask_number() does. NULL TEXT gives
 * NULL. Returns a malloc'd string (caller frees), or NULL out of memory.
 * Threads: any; no state.
 */
char *tw_scrub(const char *text, char *const *secrets, size_t nsecrets,
               int flags);

/*
 * Log MESSAGE at LEVEL through HOST with FIELDS (owned: released here,
 * may be NULL). Must not be called while holding a plugin lock.
 */
void tw_log(const conn_host *host, conn_log_level level, json_object *fields,
            const char *message);

#endif /* TW_MASK_H */
