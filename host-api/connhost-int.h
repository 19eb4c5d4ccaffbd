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
 */
struct connhost__gen {
	connhost_instance *owner;
	connhost_plugin *plugin;
	const conn_plugin *t;
	conn_instance *pi;
	conn_host host;
	int inflight; /* invoke_action() calls running; owner's lock */
};

struct connhost__call {
	uint64_t id;
	connhost_done_fn done;
	void *arg;
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
	pthread_cond_t cond; /* inflight, sub->busy changes */
	struct connhost__gen *cur;
	connhost_store *store;
	int own_store;
	connhost_log log;
	char *refuse;
	json_object *config; /* the effective configuration (validated) */
	int closing;
	uint64_t next_call, next_sub;
	struct connhost__call *calls[CONNHOST__CALL_BUCKETS];
	size_t ncalls;
	struct connhost__sub *subs;
	uint64_t calls_started, calls_completed, completions_dropped,
	        calls_abandoned, published, publish_refused;
};

/* calls.c: take call ID out of the registry (lock held); NULL if absent. */
struct connhost__call *connhost__call_take(connhost_instance *inst,
                                           uint64_t id);

/* calls.c: the complete() host service. */
void connhost__complete(void *ctx, uint64_t call_id, json_object *outputs);

/* calls.c: complete every call still registered with an error (shutdown;
 * no lock held). */
void connhost__calls_fail_all(connhost_instance *inst, const char *why);

/* subs.c: the publish() host service. */
int connhost__publish(void *ctx, uint64_t sub_id, json_object *event, char *err,
                      size_t errlen);

/* subs.c: free the registry (shutdown). */
void connhost__subs_free(connhost_instance *inst);

#endif /* CONNHOST_INT_H */
