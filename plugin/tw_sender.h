/*
 * tw_sender.h - the instance's engine: one event thread owning a curl
 * multi handle, a bounded queue of calls, a pool of easy handles sized to
 * TWILIO_MAX_CONCURRENCY, retries that can never send an SMS twice.
 */
#ifndef TW_SENDER_H
#define TW_SENDER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <json-c/json.h>

#include "connector.h"
#include "tw_config.h"
#include "tw_wire.h"

typedef struct tw_sender tw_sender;
typedef struct tw_call tw_call;
typedef struct tw_slot tw_slot;

typedef enum tw_call_kind {
	TW_CALL_SEND,  /* POST .../Messages.json, one request per job */
	TW_CALL_CHECK, /* GET .../Accounts/AC....json, one job */
	TW_CALL_HTTP   /* one job: GET or POST call->url, answers read by
	                  call->on_http (numbers.c: number_webhook) */
} tw_call_kind;

typedef enum tw_job_state {
	TW_JOB_WAITING, /* in the ready queue */
	TW_JOB_BACKOFF, /* waiting for due_ms before a retry */
	TW_JOB_RUNNING, /* on a slot */
	TW_JOB_DONE     /* result or error set */
} tw_job_state;

/* One recipient of a call (or the one request of a check). */
typedef struct tw_job {
	struct tw_job *next; /* ready queue or back-off list (event thread) */
	tw_call *call;
	tw_slot *slot;   /* while running */
	int index;       /* position in smsTo */
	char *input;     /* as written (owned) */
	char *to;        /* normalised (owned) */
	char *claim_key; /* idempotency key + "|" + to, or NULL (owned) */
	uint64_t claim_owner; /* the claim's owner token (0: a 1.0 host) */
	int attempts;    /* retries done */
	tw_job_state state;
	int64_t due_ms;
	json_object *result; /* twilioResult entry when sent (owned) */
	json_object *error;  /* twilioError entry when not (owned) */
} tw_job;

/*
 * One accepted call. Built by the action on the host thread, then owned by
 * the sender from tw_sender_submit() on: the event thread completes it
 * (host->complete with OUTPUTS(call)) and frees it with tw_call_free().
 */
struct tw_call {
	tw_call *next, *prev; /* sender lists (under the sender's lock) */
	uint64_t call_id;
	int64_t deadline_ms;
	tw_call_kind kind;
	tw_buf form;  /* fields shared by every request, encoded */
	int segments; /* local count, when Twilio omits num_segments */
	tw_job *jobs;
	size_t njobs;
	size_t unfinished;                      /* jobs not yet DONE */
	json_object *(*outputs)(tw_call *call); /* build the outputs */
	atomic_int cancel; /* set by cancel() on a host thread */
	int cancel_seen;   /* event thread */
	/* TW_CALL_HTTP only. URL (owned, freed with the call): GET when
	 * FORM is empty, else POST FORM. ON_HTTP (event thread) reads each
	 * answer: it sets the job's result or error and returns 0 (the job
	 * is done), or changes URL and FORM and returns 1 to send the new
	 * request (a GET then a POST: the same job, the same deadline).
	 * DATA is the action's, freed with FREE_DATA. */
	char *url;
	int (*on_http)(tw_call *call, tw_job *job, long http, const char *body,
	               size_t len);
	void *data;
	void (*free_data)(void *data);
};

/*
 * Allocate a sender for HOST and CFG (both must outlive it). No thread, no
 * socket: those come with tw_sender_start().
 * Returns NULL with ERR filled when out of memory.
 */
tw_sender *tw_sender_new(const conn_host *host, const tw_config *cfg, char *err,
                         size_t errlen);

/* Start the event thread. Host thread only. 0; CONN_EABI with ERR when
 * libcurl lacks thread safety (7.84) or CURLOPT_PREREQFUNCTION (7.80);
 * CONN_EIO or CONN_ENOMEM with ERR otherwise. */
int tw_sender_start(tw_sender *s, char *err, size_t errlen);

/* Reserve a place for one call in the bounded queue. 0, or -1 when full
 * (then the action completes the call itself with QUEUE_FULL), or -2 when
 * the sender is stopping. Any thread. */
int tw_sender_reserve(tw_sender *s);

/* Give back a reservation that will not be submitted. Any thread. */
void tw_sender_unreserve(tw_sender *s);

/*
 * Hand CALL (after a successful reserve) to the event thread; it owns the
 * call from now on and completes it exactly once, by its deadline. Jobs
 * already DONE are left as they are. Any thread; never blocks on the
 * network.
 */
void tw_sender_submit(tw_sender *s, tw_call *call);

/* Ask call CALL_ID to stop sending. 0, or CONN_ENOENT. Any thread. */
int tw_sender_cancel(tw_sender *s, uint64_t call_id);

/*
 * Stop: unsent recipients of every call are cancelled, requests in flight
 * may finish until DEADLINE_MS (then they are aborted), every call is
 * completed, the thread joined and everything freed.
 * Returns 0 (S freed) or CONN_EBUSY (the thread is still alive; call again).
 * Host thread only.
 */
int tw_sender_stop(tw_sender *s, int64_t deadline_ms);

/* Counters as a new JSON object (caller owns it). Any thread. */
json_object *tw_sender_stats(tw_sender *s);

/* Allocate a call with NJOBS zeroed jobs; NULL out of memory. */
tw_call *tw_call_new(size_t njobs);

/* Free CALL and everything it owns (not settling any claim). */
void tw_call_free(tw_call *call);

/*
 * Settle JOB's idempotency claim for its final state: a result is
 * remembered, an outcome that may have sent a message is remembered as
 * unknown (never resent under that key), anything else is forgotten.
 * Clears claim_key. Must not hold a plugin lock.
 */
void tw_job_settle(const conn_host *host, const tw_config *cfg, tw_job *job,
                   int maybe_sent);

#endif /* TW_SENDER_H */
