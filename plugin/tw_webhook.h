/*
 * tw_webhook.h - the inbound HTTP server of SMS_RECEIVED (plugin/webhook.c).
 *
 * One tw_webhook per instance that has TWILIO_WEBHOOK_LISTEN. It owns:
 *   - the libmicrohttpd daemon(s): the current one, and the ones quiesce()
 *     stopped accepting that still serve their open connections;
 *   - the listening socket (until quiesce() puts it into a hand-off);
 *   - a pool of tw_inbound_worker (PCRE2 JIT stack and match data), one
 *     taken by each request in progress and given back after it, freed by
 *     stop: no pthread_key, no destructor, nothing left after stop.
 * It borrows the host, the configuration and the tw_inbound of its instance.
 *
 * Threads: new/start/quiesce/resume/stop/free on host threads (the
 * instance's lifecycle, never two at once); stats on any host thread;
 * libmicrohttpd's threads are started with every asynchronous signal
 * blocked (tw_block_async_signals); every connection has its own
 * libmicrohttpd thread, which parses,
 * size-checks and verifies its requests, runs tw_inbound_handle() and
 * answers. A slow publish holds the thread of its own connection only.
 *
 * Failure: a request is answered 404 (other path), 405 (other method),
 * 415 (not a form), 413 (body over TWILIO_WEBHOOK_BODY_LIMIT), 400
 * (malformed form encoding, with the offset), 403 (bad signature: nothing
 * published, a rate-limited log line naming the URL checked), 503 with
 * Retry-After (shutting down, out of memory) or what
 * tw_inbound_handle() returns (200 TwiML, 400, 503).
 */
#ifndef TW_WEBHOOK_H
#define TW_WEBHOOK_H

#include <stdint.h>

#include "connector.h"
#include "tw_config.h"
#include "tw_inbound.h"
#include "tw_wire.h"

typedef struct tw_webhook tw_webhook;

/* The name of the listening socket's slot in a conn_handoff. */
#define TW_WEBHOOK_HANDOFF_NAME "webhook"

/*
 * Prepare the webhook of an instance: no socket, no thread (init() time).
 * Ownership: HOST, CFG and IN are borrowed and must outlive the webhook.
 * Returns:   the webhook, or NULL (out of memory; ERR filled).
 */
tw_webhook *tw_webhook_new(const conn_host *host, const tw_config *cfg,
                           tw_inbound *in, char *err, size_t errlen);

/*
 * Start the daemon. With HANDOFF holding a descriptor named
 * TW_WEBHOOK_HANDOFF_NAME, that listening socket is taken (its slot set to
 * -1) instead of binding TWILIO_WEBHOOK_LISTEN. Logs one line with the
 * bound address and port; warns when signatures are not validated.
 * Returns: 0; or CONN_EIO (bind, listen, thread, daemon) / CONN_EINVAL
 *          (address, TLS files) / CONN_ENOMEM with ERR filled (no secret),
 *          everything started undone.
 */
int tw_webhook_start(tw_webhook *w, conn_handoff *handoff, char *err,
                     size_t errlen);

/*
 * Stop accepting (MHD_quiesce_daemon) and put the listening socket,
 * unclosed, into OUT under TW_WEBHOOK_HANDOFF_NAME. Connections already
 * open are still served, draining: a request in progress is answered with
 * "Connection: close"; an idle keep-alive connection (no request started,
 * nothing unread) is closed at once with a FIN (shutdown(SHUT_RD) wakes
 * its thread) and counted in "idle_keepalive_closes"; one answered before
 * the quiesce is closed when its request completes.
 * Returns: 0; CONN_ESTATE when not serving; CONN_EFULL when OUT has no
 *          free slot (nothing changed).
 */
int tw_webhook_quiesce(tw_webhook *w, conn_handoff *out);

/*
 * After quiesce(): take the socket back from HANDOFF and accept again on a
 * new daemon (the quiesced one keeps serving its connections until stop).
 * Returns: 0; CONN_ESTATE when not quiesced; CONN_EINVAL when HANDOFF has
 *          no webhook socket; CONN_EIO when the daemon does not start.
 */
int tw_webhook_resume(tw_webhook *w, conn_handoff *handoff, char *err,
                      size_t errlen);

/*
 * Stop: answer new requests 503, wait by DEADLINE_MS until no request is
 * inside tw_inbound_handle() (each bounded by 10 s), then stop every
 * daemon (closing the connections and joining their threads). The
 * listening socket is closed unless a hand-off took it.
 * Returns: 0; or CONN_EBUSY when a request is still in the handler at
 *          the deadline (call again later; nothing is freed).
 */
int tw_webhook_stop(tw_webhook *w, int64_t deadline_ms);

/* Free W after tw_webhook_stop() returned 0, or when it never started.
 * W may be NULL. */
void tw_webhook_free(tw_webhook *w);

/*
 * {"address","port","tls","requests","by_status":{"200":n,...},
 *  "signature_failures","in_progress","idle_keepalive_closes"} (caller
 *  owns).
 * "port" is the bound port (useful with TWILIO_WEBHOOK_LISTEN port 0),
 * 0 before start.
 */
json_object *tw_webhook_stats(tw_webhook *w);

/* ---- the request path without sockets (the daemon and fuzz_webhook) --- */

typedef struct tw_webhook_request {
	const char *method;         /* "POST", ... */
	const char *path;           /* the URL path as received, no query */
	const char *query;          /* the raw query after '?', or NULL */
	const char *content_type;   /* or NULL */
	const char *content_length; /* the header as sent, or NULL */
	const char *signature;      /* X-Twilio-Signature, or NULL */
	const char *settings; /* X-Twilio-Webhooks-Signature-Settings/NULL */
	const char *body;
	size_t body_len;
} tw_webhook_request;

/*
 * What can be decided from the request line and headers alone (RQ's body
 * ignored): 0 to read the body, or the HTTP status (404, 405, 415, 413)
 * with a short text/plain answer appended to TEXT.
 * Threads: any; reads only W's configuration.
 */
int tw_webhook_check_head(tw_webhook *w, const tw_webhook_request *rq,
                          tw_buf *text);

/*
 * The whole body received (RQ->body, at most the body limit): decode it
 * strictly into FORM and verify the signature when configured.
 * Returns:   0 (FORM filled; the caller frees it) for a request to hand
 *            to tw_inbound_handle(); or the HTTP status (400, 403, 503 out
 *            of memory) with the text/plain answer in TEXT (FORM empty).
 *            A 403 is counted and logged (rate-limited).
 * Threads:   any (the counters are atomic).
 */
int tw_webhook_check_body(tw_webhook *w, const tw_webhook_request *rq,
                          tw_form *form, tw_buf *text);

/* Count an answer in the stats (the daemon does it for every answer). */
void tw_webhook_count(tw_webhook *w, int status);

/* Tests only (test_webhook): when set, called on a connection's thread
 * between the inbound handler and sending the answer, to hold a request
 * in the window a shutdown must wait through. NULL in production. */
extern void (*tw_webhook_test_answer_hook)(void);

#endif /* TW_WEBHOOK_H */
