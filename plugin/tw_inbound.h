/*
 * tw_inbound.h - SMS_RECEIVED: subscriptions, matching, dedupe, publishing,
 * echo replies and the TwiML answer (plugin/inbound.c, the "inbound" part).
 *
 * COPY of the interface fixed in the brief, committed by the webhook part so
 * that its branch builds against it; inbound.c's own header replaces it at
 * merge (the lead resolves).
 */
#ifndef TW_INBOUND_H
#define TW_INBOUND_H

#include <stdint.h>

#include "connector.h"
#include "ftl/ftl.h"
#include "tw_config.h"
#include "tw_wire.h"

typedef struct tw_inbound tw_inbound;
typedef struct tw_inbound_worker tw_inbound_worker;

tw_inbound *tw_inbound_new(const conn_host *host, const tw_config *cfg,
                           const ftl_settings *fs, char *err, size_t errlen);
void tw_inbound_free(tw_inbound *in);
int tw_inbound_subscribe(tw_inbound *in, uint64_t sub_id, json_object *params,
                         char *err, size_t errlen);
int tw_inbound_unsubscribe(tw_inbound *in, uint64_t sub_id);
tw_inbound_worker *tw_inbound_worker_new(void);
void tw_inbound_worker_free(tw_inbound_worker *w);
int tw_inbound_handle(tw_inbound *in, tw_inbound_worker *w, const tw_form *form,
                      tw_buf *twiml);
json_object *tw_inbound_stats(tw_inbound *in);

#endif /* TW_INBOUND_H */
