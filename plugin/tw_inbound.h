/*
 * tw_inbound.h - the SMS_RECEIVED engine: subscriptions, matching, dedupe,
 * publishing, echo replies and the TwiML answer.
 *
 * Everything between "a verified webhook form arrived" and "these are the
 * bytes of the HTTP answer". The HTTP server (plugin/webhook.c) decodes
 * and verifies the request and calls tw_inbound_handle() from its worker
 * threads; this module never touches a socket.
 *
 * Ownership: a tw_inbound belongs to one plugin instance and holds the
 * compiled subscriptions (PCRE2 codes, FreeMarker templates) and the
 * counters. A tw_inbound_worker (a "matcher": its PCRE2 JIT stack, 32 KiB
 * growing to at most 1 MiB, match context and match data) is used by one
 * thread at a time, never shared while in use: the webhook keeps a pool,
 * a request takes one and gives it back (no pthread_key, no destructor:
 * the plugin must be unloadable).
 *
 * Threads: subscribe, unsubscribe and stats run on host threads;
 * tw_inbound_handle() runs on any number of worker threads at once, each
 * with its own worker. The subscription list is guarded by one mutex held
 * only to copy or change the list, never while a host service (publish,
 * claim, settle, log) runs.
 *
 * Failure behaviour: nothing here fails a request for a reason the sender
 * caused: a pattern hitting its match limit is "no match", a template that
 * fails to render leaves that reply out. Only what Twilio should retry
 * (the host's store full, a duplicate still in progress, out of memory)
 * gives 503. See docs/sms_received.md.
 */
#ifndef TW_INBOUND_H
#define TW_INBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"
#include "ftl/ftl.h"
#include "tw_config.h"
#include "tw_wire.h"

/* Size limits of the subscription params (bytes). */
#define TW_INBOUND_PATTERN_MAX  4096
#define TW_INBOUND_TO_MAX       64
#define TW_INBOUND_TEMPLATE_MAX 8192

/* PCRE2 limits of one match (see docs/sms_received.md "Patterns"). */
#define TW_INBOUND_MATCH_LIMIT   1000000u
#define TW_INBOUND_DEPTH_LIMIT   10000u
#define TW_INBOUND_JIT_STACK_MIN (32u * 1024)
#define TW_INBOUND_JIT_STACK_MAX (1024u * 1024)

/* A reply <Message> holds at most this many UTF-16 units (Twilio's body
 * limit); the whole TwiML document at most TW_INBOUND_TWIML_MAX bytes. */
#define TW_INBOUND_MESSAGE_MAX 1600
#define TW_INBOUND_TWIML_MAX   65536

/* Used when the configuration leaves the TTL unset (0). */
#define TW_INBOUND_DEDUPE_TTL_DEFAULT 3600000L
/* The publish deadline is capped here, well under Twilio's 15 s. */
#define TW_INBOUND_PUBLISH_DEADLINE_CAP 10000L

/* An instance's subscriptions and counters. */
typedef struct tw_inbound tw_inbound;
/* One per worker thread: PCRE2 JIT stack + match context + match data. */
typedef struct tw_inbound_worker tw_inbound_worker;

/*
 * A new, empty engine for one instance.
 * Ownership: HOST must outlive the engine; CFG is read now (the values
 *            used are copied: inbound_dedupe_ttl_ms, publish_deadline_ms,
 *            reply_mode, log_bodies, log_numbers); FS (template locale and
 *            number format, may be NULL) is copied, its strings too.
 * Threads:   a host thread (init).
 * Returns:   the engine; or NULL with ERR filled: bad FS (named setting),
 *            bad reply mode, or out of memory.
 */
tw_inbound *tw_inbound_new(const conn_host *host, const tw_config *cfg,
                           const ftl_settings *fs, char *err, size_t errlen);

/*
 * Free IN and every subscription. Call only after every worker thread has
 * stopped calling tw_inbound_handle() (the webhook joins them first).
 * IN may be NULL.
 */
void tw_inbound_free(tw_inbound *in);

/*
 * Subscribe SUB_ID with PARAMS, a JSON object of strings:
 *   pattern    (required) PCRE2 in UTF mode, compiled now with JIT; search
 *              semantics (use ^...$ for the whole text); "" matches every
 *              message. Named groups (?<name>...) become matchGroups.
 *   to         (optional) only messages sent to this number (the form's
 *              To, e.g. +14155550100, or a channel address such as
 *              whatsapp:+1...) or, for "MG" + 32 hex, this messaging
 *              service (the form's MessagingServiceSid).
 *   echo       (optional) FreeMarker template of the reply when the host
 *              accepted the event.
 *   echoError  (optional) template of the reply when the host refused the
 *              event or accepted it past the publish deadline.
 * Ownership: PARAMS borrowed and only read (no string cache written); what
 *            is kept is copied or compiled.
 * Threads:   a host thread, while worker threads handle traffic; a new
 *            subscription sees the messages that arrive after it returns.
 * Returns:   0; CONN_EINVAL with ERR naming the param and the reason (a
 *            pattern or template that does not compile gives the offset or
 *            line:column and the compiler's words; unknown params are
 *            named; over-long ones give the limit); CONN_EEXIST for a
 *            SUB_ID in use; CONN_ENOMEM.
 */
int tw_inbound_subscribe(tw_inbound *in, uint64_t sub_id, json_object *params,
                         char *err, size_t errlen);

/*
 * Remove SUB_ID. Waits for a publish of SUB_ID already running on a worker
 * (publish returns promptly, so briefly); after it returns no publish for
 * SUB_ID starts or is running. A request that matched SUB_ID before and
 * has not published yet skips it (its dedupe claim is forgotten).
 * Threads:   a host thread; never call it from inside a host service that
 *            this engine called (ABI rule 2).
 * Returns:   0, or CONN_ENOENT for an unknown SUB_ID.
 */
int tw_inbound_unsubscribe(tw_inbound *in, uint64_t sub_id);

/*
 * A worker's private matching state: a JIT stack of 32 KiB that grows to
 * 1 MiB, a match context with the match and depth limits, and one match
 * data block grown (never shrunk) to the largest group count of the
 * patterns it has run. Used by one thread at a time (the webhook pools
 * them: any thread may free one); never shared while in use.
 * Returns NULL when out of memory. Freeing NULL does nothing.
 */
tw_inbound_worker *tw_inbound_worker_new(void);
void tw_inbound_worker_free(tw_inbound_worker *w);

/*
 * One verified inbound message. FORM is the decoded webhook body (all of
 * Twilio's fields), borrowed. Dedupes (one claim "inbound/<MessageSid>/
 * <sub_id>" per matching subscription), matches every subscription,
 * publishes, renders the replies and writes the whole HTTP body into
 * TWIML (appended; the caller gives an empty buffer).
 * Returns the HTTP status:
 *   200  TWIML holds the TwiML document (Content-Type text/xml);
 *   400  MessageSid (or SmsSid) missing or not a Twilio sid; TWIML holds a
 *        one-line text/plain reason;
 *   503  retry later: a duplicate still in progress past the wait, the
 *        host's store full, out of memory, or no time left to publish to
 *        every matching subscription; TWIML holds a text/plain reason.
 *        Everything published before is remembered, so Twilio's retry
 *        publishes only what is missing.
 * Threads:   any worker thread, W its own. Never blocks longer than
 *            min(publish deadline + 1 s, 10 s) plus one host call.
 */
int tw_inbound_handle(tw_inbound *in, tw_inbound_worker *w, const tw_form *form,
                      tw_buf *twiml);

/*
 * The counters as a new JSON object (the caller owns it):
 *   received            messages handled (valid MessageSid)
 *   matched             (message, subscription) matches
 *   published           publishes the host accepted in time
 *   publish_failed      publishes the host refused
 *   publish_late        publishes accepted after the publish deadline
 *   duplicates          (message, subscription) pairs answered from the
 *                       dedupe store without publishing
 *   in_progress_503     answers 503 because a duplicate was in progress
 *   store_full_503      answers 503 because the host's store was full
 *   match_limit_hits    matches stopped by a PCRE2 limit (no match)
 *   echo_render_errors  replies left out because a template failed
 *   subscriptions       live subscriptions
 * Threads: any. Returns NULL when out of memory.
 */
json_object *tw_inbound_stats(tw_inbound *in);

#endif /* TW_INBOUND_H */
