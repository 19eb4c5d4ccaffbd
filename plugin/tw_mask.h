/*
 * tw_mask.h - personal data in logs: masked phone numbers, and a log helper
 * that never lets a body or a secret through by accident.
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

/*
 * Log MESSAGE at LEVEL through HOST with FIELDS (owned: released here,
 * may be NULL). Must not be called while holding a plugin lock.
 */
void tw_log(const conn_host *host, conn_log_level level, json_object *fields,
            const char *message);

#endif /* TW_MASK_H */
