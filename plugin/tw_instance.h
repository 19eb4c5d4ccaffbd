/*
 * tw_instance.h - the plugin instance, shared by the vtable (twilio.c) and
 * the actions (send_sms.c).
 */
#ifndef TW_INSTANCE_H
#define TW_INSTANCE_H

#include <stdatomic.h>

#include "connector.h"
#include "ftl/ftl.h"
#include "tw_config.h"
#include "tw_sender.h"

enum tw_state { TW_STATE_INIT = 0, TW_STATE_STARTED, TW_STATE_QUIESCED };

struct conn_instance {
	const conn_host *host; /* borrowed until shutdown returns 0 */
	tw_config cfg;
	ftl_settings fs;  /* points into cfg */
	ftl_cache *cache; /* compiled smsBody templates (bounded LRU) */
	tw_sender *sender;
	atomic_int state; /* enum tw_state */
};

/*
 * The send_sms action: validate, render, fan out (see DESIGN §5).
 * Host thread. Returns 0 (complete() follows, or already happened),
 * CONN_EINVAL for a call without an inputs object (ERR filled).
 */
int tw_send_sms(conn_instance *inst, const conn_call *call, char *err,
                size_t errlen);

/* The check_connection action: GET the account resource. As above. */
int tw_check_connection(conn_instance *inst, const conn_call *call, char *err,
                        size_t errlen);

#endif /* TW_INSTANCE_H */
