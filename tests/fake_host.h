/*
 * fake_host.h - one fake conn_host for the C tests and fuzz targets that
 * drive the plugin through its vtable (tests/fake_host.c; link it with the
 * test, json-c and pthreads).
 *
 * What it does by default:
 *   log       records every line ("LEVEL FIELDS MESSAGE\n", the last
 *             FAKE_HOST_LOG_MAX bytes kept) and counts lines holding the
 *             secret (fake_host_set_secret, "TOPSECRET" by default).
 *   complete  keeps the first outputs of each call id below FAKE_HOST_MAXID
 *             (fake_host_wait_done) and counts completions per id; outputs
 *             holding the secret are counted as leaks too.
 *   publish   answers as fake_host_set_publish() says (accept, refuse,
 *             ENOENT, time out), after an optional delay (a slow host),
 *             and records what it accepted (fake_host_events).
 *   claim     a small claim store: NEW for an unknown key (then it is in
 *             progress), IN_PROGRESS while it is, DONE with a private copy
 *             of the settled result, CONN_EFULL when FAKE_HOST_CLAIM_MAX
 *             (or the capacity set) keys are live; or a fixed answer
 *             (fake_host_set_claim).
 *   settle    stores the result (DONE from then on) or forgets the key.
 * A test can replace any of the five with a hook (fake_host_hooks) to add
 * its own invariants or behaviour; the hook then does all the work of that
 * service (ownership as in connector.h) and the default does nothing.
 *
 * Threads: every function is safe from any thread (one mutex; a publish
 * delay and the hooks run outside it). The state is global: one fake host
 * per test process, reset with fake_host_reset() between cases when no
 * plugin instance is alive.
 * Memory: outputs, events and stored results are freed by
 * fake_host_reset(); fake_host_wait_done's outputs stay owned by the fake
 * host.
 */
#ifndef TESTS_FAKE_HOST_H
#define TESTS_FAKE_HOST_H

#include <stddef.h>
#include <stdint.h>

#include "connector.h"

#define FAKE_HOST_MAXID     4096      /* call ids whose outputs are kept */
#define FAKE_HOST_LOG_MAX   (1 << 20) /* bytes of log kept (the last ones) */
#define FAKE_HOST_CLAIM_MAX 1024      /* default store capacity */
#define FAKE_HOST_EVENTS    1024      /* published events kept */

/* The vtable to pass to init(). */
extern const conn_host fake_host;

/* Forget everything (outputs, counts, logs, events, claims, modes, hooks;
 * the secret is kept). No instance may be calling the host meanwhile. */
void fake_host_reset(void);

/* Count outputs and log lines holding SECRET (copied; NULL: none). */
void fake_host_set_secret(const char *secret);

/* Log lines and outputs that held the secret so far. */
int fake_host_leaks(void);

/* ---- complete ---- */

/* Wait up to MS for call ID's completion. Its outputs (owned by the fake
 * host, valid until fake_host_reset), or NULL when it did not complete. */
json_object *fake_host_wait_done(uint64_t id, int ms);

/* How many times call ID was completed. */
int fake_host_completions(uint64_t id);

/* ---- log ---- */

/* Whether the recorded log holds NEEDLE. */
int fake_host_log_has(const char *needle);

/* How many log lines were recorded at LEVEL or more severe. */
long fake_host_log_count(conn_log_level level);

/* ---- publish ---- */

typedef enum fake_publish {
	FAKE_PUBLISH_ACCEPT, /* 0: recorded */
	FAKE_PUBLISH_REFUSE, /* CONN_EREFUSED, with a reason in ERR */
	FAKE_PUBLISH_ENOENT, /* CONN_ENOENT (no such subscription) */
	FAKE_PUBLISH_TIMEOUT /* CONN_ETIMEDOUT */
} fake_publish;

/* How publish answers from now on, after sleeping DELAY_MS (0: at once)
 * outside the lock, so several publishes can be slow at the same time. */
void fake_host_set_publish(fake_publish mode, int delay_ms);

/* Events accepted so far (all subscriptions); with SUB non-zero, only
 * those for subscription SUB. */
long fake_host_events(uint64_t sub);

/* The Nth (from 0) accepted event, a new reference (json_object_put it),
 * and its subscription in *SUB (when non-NULL); NULL when there is none
 * (or only the first FAKE_HOST_EVENTS are kept). */
json_object *fake_host_event(long n, uint64_t *sub);

/* Publish calls made so far, whatever they answered. */
long fake_host_publishes(void);

/* ---- claim / settle ---- */

typedef enum fake_claim {
	FAKE_CLAIM_STORE,       /* the store above (the default) */
	FAKE_CLAIM_NEW,         /* always NEW (nothing stored) */
	FAKE_CLAIM_IN_PROGRESS, /* always IN_PROGRESS */
	FAKE_CLAIM_DONE,        /* always DONE, with a copy of PRIOR */
	FAKE_CLAIM_FULL         /* always CONN_EFULL */
} fake_claim;

/* How claim answers from now on. PRIOR (JSON text) is the result DONE
 * hands back (FAKE_CLAIM_DONE only; NULL: "{}"). */
void fake_host_set_claim(fake_claim mode, const char *prior);

/* Live keys the store may hold before it answers CONN_EFULL. */
void fake_host_set_claim_capacity(size_t n);

/* Claims answered NEW and settles received so far. */
long fake_host_claims_new(void);
long fake_host_settles(void);

/* The key and TTL of the last claim (the key copied into KEY, at most
 * KEYLEN bytes with the NUL). */
void fake_host_last_claim(char *key, size_t keylen, uint32_t *ttl);

/* ---- hooks ---- */

/* Any member left NULL keeps the default. Set before the instance starts
 * (the pointer is read without the lock). */
typedef struct fake_host_hooks {
	void (*log)(conn_log_level level, json_object *fields, const char *msg);
	void (*complete)(uint64_t call_id, json_object *outputs);
	int (*publish)(uint64_t sub_id, json_object *event, char *err,
	               size_t errlen);
	int (*claim)(const char *key, uint32_t ttl_ms, json_object **prior);
	int (*settle)(const char *key, json_object *result, uint32_t ttl_ms);
} fake_host_hooks;

/* Use HOOKS (borrowed; NULL: none) from now on. */
void fake_host_set_hooks(const fake_host_hooks *hooks);

#endif /* TESTS_FAKE_HOST_H */
