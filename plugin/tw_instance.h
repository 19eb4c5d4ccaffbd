/*
 * tw_instance.h - the plugin instance, shared by the vtable (twilio.c) and
 * the actions (send_sms.c); the webhook (webhook.c) gets its parts, never
 * the instance.
 */
#ifndef TW_INSTANCE_H
#define TW_INSTANCE_H

#include <stdatomic.h>

#include "connector.h"
#include "ftl/ftl.h"
#include "tw_config.h"
#include "tw_inbound.h"
#include "tw_sender.h"
#include "tw_webhook.h"

enum tw_state { TW_STATE_INIT = 0, TW_STATE_STARTED, TW_STATE_QUIESCED };

struct conn_instance {
	const conn_host *host; /* borrowed until shutdown returns 0 */
	tw_config cfg;
	ftl_settings fs;  /* points into cfg */
	ftl_cache *cache; /* compiled smsBody templates (bounded LRU) */
	tw_sender *sender;
	/* SMS_RECEIVED, both NULL without TWILIO_WEBHOOK_LISTEN: the engine
	 * (subscriptions; made by init so a hot swap can subscribe before
	 * start) and the HTTP server feeding it (threads from start() to
	 * shutdown()) */
	tw_inbound *inbound;
	tw_webhook *webhook;
	atomic_int state; /* enum tw_state */
	/* Host threads inside invoke_action, cancel or stats right now, and
	 * whether shutdown has begun: shutdown sets CLOSING, then waits
	 * (bounded by its deadline) for INSIDE to reach 0 before it frees
	 * anything; a thread that enters and finds CLOSING set leaves at
	 * once (CONN_ESTATE). Both sequentially consistent: either the
	 * entering thread sees CLOSING or shutdown sees its count. */
	atomic_int inside;
	atomic_int closing;
};

/*
 * The send_sms action: validate, render, fan out (see DESIGN §5).
 * Host thread. Returns 0 (complete() follows, or already happened),
 * CONN_EINVAL for a call without an inputs object (ERR filled).
 */
int tw_send_sms(conn_instance *inst, const conn_call *call, char *err,
                size_t errlen);

/* The namespace of send_sms's claim keys in the host's store: the host
 * keeps namespaces apart by the prefix before the first '/', so inbound
 * MessageSids can never meet "send/KEY|+14155550100". */
#define TW_CLAIM_NS "send/"

/* How long a claim outlives the call's deadline, so a crashed instance's
 * claims expire while a live one always settles first. */
#define TW_CLAIM_MARGIN_MS 60000

/* The TTL of a claim for a call due at DEADLINE_MS, at NOW_MS: the time
 * left plus the margin, computed in 64 bits and clamped to UINT32_MAX. */
uint32_t tw_claim_ttl(int64_t deadline_ms, int64_t now_ms);

/* The check_connection action: GET the account resource. As above. */
int tw_check_connection(conn_instance *inst, const conn_call *call, char *err,
                        size_t errlen);

#endif /* TW_INSTANCE_H */
