/*
 * connhost-int.h - what the files of libconnhost share and nobody else
 * sees (prefix connhost__). Not installed.
 */
#ifndef CONNHOST_INT_H
#define CONNHOST_INT_H

#include <stdarg.h>

#include "connhost.h"

/* snprintf into a caller's error buffer; tolerates ERR NULL or ERRLEN 0. */
void connhost__err(char *err, size_t errlen, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Log through LOG with a printf-style message and optional FIELDS
 * (borrowed). */
void connhost__logf(const connhost_log *log, conn_log_level level,
                    json_object *fields, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* connhost_log_emit() with a "plugin" field naming the source (or
 * NULL). */
void connhost__log_from(const connhost_log *log, conn_log_level level,
                        const char *plugin, json_object *fields,
                        const char *msg);

/* ---------------------------------------------------------------------- */
/* Files from outside (file.c)                                             */
/* ---------------------------------------------------------------------- */

#include <sys/stat.h>

/*
 * Open PATH for reading without blocking (O_NONBLOCK, O_CLOEXEC) and check
 * on that descriptor, so nothing can be swapped in between, that it is a
 * regular file. Returns the descriptor (the caller closes it) with its
 * stat in *ST; -1 with errno set when open() or fstat() failed; -2 when
 * PATH is not a regular file (*ST says what it is: connhost__file_kind()).
 */
int connhost__open_regular(const char *path, struct stat *st);

/* "a FIFO (named pipe)", "a directory", ...: what a file of mode M is, for
 * a message refusing it (static text). */
const char *connhost__file_kind(mode_t m);

/* The bytes the store's slabs map (entries in slots, free slots, one
 * spare slab a size class); the large entries from malloc apart. */
size_t connhost__store_slab_bytes(connhost_store *s);

/* ---------------------------------------------------------------------- */
/* Instances (instance.c), calls (calls.c), subscriptions (subs.c)         */
/* ---------------------------------------------------------------------- */

#include <pthread.h>

/*
 * One plugin instance serving a connhost_instance: the plugin, its
 * conn_instance and the host table whose ctx points back here. Kept apart
 * from the connhost_instance so that a hot swap can run two of them (the
 * old one finishing its calls, the new one taking new ones) while the
 * registries of calls and subscriptions stay with the connhost_instance.
 *
 * Lifetime: a generation is freed only after its plugin's shutdown()
 * returned 0 and nothing refers to it any more: no host thread inside its
 * plugin (INFLIGHT), no publish() through it (PUBLISHING), no call it
 * accepted still registered (CALLS). Every counter and STATE is under the
 * owner's lock; the owner's cond is broadcast when one of them drops.
 */
enum connhost__gen_state {
	CONNHOST__GEN_SERVING,  /* inst->cur: new calls are routed here */
	CONNHOST__GEN_DRAINING, /* replaced: finishing the calls it took */
	CONNHOST__GEN_STOPPING, /* shutdown() running or about to */
	CONNHOST__GEN_KEPT      /* shutdown() said CONN_EBUSY: code stays */
};

struct connhost__handoff {
	conn_handoff h;
	struct connhost__handoff *next;
};

struct connhost__gen {
	connhost_instance *owner;
	connhost_plugin *plugin;
	const conn_plugin *t;
	conn_instance *pi;
	conn_host host;
	uint64_t number; /* 1 for the first plugin instance, +1 a swap */
	enum connhost__gen_state state;
	int inflight;   /* host threads inside the plugin through it */
	int publishing; /* publish() calls through it running */
	size_t calls;   /* calls it accepted, still registered */
	/* hand-offs it quiesced into: the descriptors nobody took are
	 * closed only when it is freed, i.e. after its shutdown() returned
	 * (libmicrohttpd keeps using a quiesced socket until its daemon
	 * stops) */
	struct connhost__handoff *handoffs;
	struct connhost__gen *next; /* in inst->old */
};

struct connhost__call {
	uint64_t id;
	connhost_done_fn done;
	void *arg;
	struct connhost__gen *gen; /* the generation that accepted it */
	struct connhost__call *next;
};

struct connhost__sub {
	uint64_t id;
	char *event;
	json_object *params; /* a private copy, for a swap to resubscribe */
	connhost_event_fn fn;
	void *arg;
	int busy; /* publishes running */
	int dead; /* unsubscribing: publish refused */
	struct connhost__sub *next;
};

#define CONNHOST__CALL_BUCKETS 1024

struct connhost_instance {
	pthread_mutex_t lock;
	pthread_cond_t cond; /* CLOCK_MONOTONIC; any counter or flag drops */
	struct connhost__gen *cur; /* serving; NULL once shut down */
	struct connhost__gen *old; /* replaced: draining, or kept */
	connhost_store *store;
	int own_store;
	connhost_log log;
	char *refuse;
	json_object *config; /* the effective configuration (validated) */
	int closing;
	int started;
	/* The swap: SWAPPING serialises swaps, start and shutdown;
	 * SUBS_FROZEN holds subscribe/unsubscribe while the new generation
	 * is subscribed (SUB_OPS: those running); GATE is the swap pause:
	 * invoke, cancel, subscribe and stats wait while it is set. */
	int swapping, subs_frozen, sub_ops, gate;
	uint64_t next_call, next_sub, next_gen;
	struct connhost__call *calls[CONNHOST__CALL_BUCKETS];
	size_t ncalls;
	struct connhost__sub *subs;
	uint64_t calls_started, calls_completed, completions_dropped,
	        calls_abandoned, published, publish_refused;
	uint64_t swaps, swaps_failed, last_swap_pause_us, max_swap_pause_us;
};

/* instance.c: with the lock held, wait out the swap pause and enter the
 * serving generation (its inflight + 1); NULL when the instance is
 * closing. Leave with connhost__gen_leave() (lock held). */
struct connhost__gen *connhost__gen_enter(connhost_instance *inst);
void connhost__gen_leave(connhost_instance *inst, struct connhost__gen *g);

/* calls.c: take call ID out of the registry (lock held); NULL if absent. */
struct connhost__call *connhost__call_take(connhost_instance *inst,
                                           uint64_t id);

/* calls.c: the complete() host service. */
void connhost__complete(void *ctx, uint64_t call_id, json_object *outputs);

/* calls.c: complete every call generation G accepted that is still
 * registered, with an error (after G's shutdown; no lock held). Calls
 * other generations accepted are left alone. */
void connhost__calls_fail_gen(connhost_instance *inst, struct connhost__gen *g,
                              const char *why);

/* subs.c: the publish() host service. */
int connhost__publish(void *ctx, uint64_t sub_id, json_object *event, char *err,
                      size_t errlen);

/* subs.c: free the registry (shutdown). */
void connhost__subs_free(connhost_instance *inst);

#endif /* CONNHOST_INT_H */
