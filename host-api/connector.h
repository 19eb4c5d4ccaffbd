/*
 * connector.h - the connector plugin ABI (version 1.1; 1.0 binaries load).
 *
 * A connector is a shared object that a process runtime (the "host") loads
 * at run time. It exports exactly one symbol, conn_plugin_get(), which
 * returns a constant table of functions (struct conn_plugin). The host hands
 * the plugin a table of its own services (struct conn_host) when it creates
 * an instance. Everything else crosses this boundary as json-c objects or
 * plain C strings, with the ownership written above each function.
 *
 * This header is the whole contract. It is header-only: a host compiles
 * against it and links nothing for it; a plugin does the same.
 *
 * Versioning (the libpurple/GStreamer rule; one model, made mechanical by
 * the macros under "Versions and sizes" below):
 *   - CONN_ABI_MAJOR changes when anything existing changes meaning or
 *     layout. Host and plugin majors must be equal.
 *   - CONN_ABI_MINOR grows when members are appended to a table or struct;
 *     nothing is ever inserted, moved or reserved. Each version of each
 *     table and struct has a size constant (CONN_HOST_SIZE_1_1, ...).
 *   - struct_size, the first member of every table and struct, says which
 *     members its builder knew: a member lying beyond struct_size is
 *     absent (CONN_HAS_FIELD). A NULL optional slot means "not
 *     implemented" (CONN_HOST_HAS, CONN_PLUGIN_HAS). An appended member
 *     reads 0 or NULL when absent, and 0 or NULL always means "absent":
 *     ABI 1.0's tables ended in eight reserved words that were NULL, so a
 *     1.0 table read with this header shows its 1.1 members as absent.
 *   - The minor is negotiated. conn_plugin_get() receives the host's
 *     version; the plugin answers with a table whose abi_minor is the
 *     minor it speaks with that host (at most the host's) and uses only
 *     what that host has, or with NULL when it requires something newer.
 *     A host refuses a table whose abi_minor is newer than its own: it
 *     refuses only what the plugin says it requires. A rule added in
 *     minor m binds a plugin only when it speaks m or newer.
 *   - json-c is part of the ABI: host and plugin share one dynamic
 *     libjson-c (never a static copy on either side). The host passes its
 *     json-c (ABI 1.1: json_c_version, json_c_version_num) and the plugin
 *     checks it at init with CONN_CHECK_JSON_C().
 *
 * Clock: every deadline in this ABI is an absolute CLOCK_MONOTONIC time in
 * milliseconds, as returned by conn_now_ms() below; host and plugin share a
 * process, hence a clock.
 *
 * Threads and ownership (must; each rule exists because breaking it loses
 * an event, sends an SMS twice or crashes a host):
 *   1. The host registers a call id before invoke_action() and never holds
 *      a lock of its own while calling into the plugin. The plugin never
 *      holds a lock of its own while calling a host service.
 *   2. A host service called from a plugin thread must not call back into
 *      the same instance synchronously. (A host that runs an action because
 *      of an event enqueues that action; it does not invoke it from inside
 *      publish().)
 *   3. quiesce(), shutdown() and unloading run on host threads only, never
 *      from inside a host service called by the plugin.
 *   4. Borrowed json-c objects (config, inputs, variables, params) are
 *      immutable and used by no other thread during the call. json-c
 *      reference counts are not atomic, and json_object_get_string() on a
 *      non-string and json_object_to_json_string() write a cache inside the
 *      object: the plugin deep-copies what it keeps, inside the call, and
 *      never calls those two on borrowed objects. Neither side changes
 *      global json-c settings.
 *   5. Strings the plugin returns (name, version, describe()) live in the
 *      plugin's image: the host copies them before it unloads the plugin.
 *   6. The plugin must be unloadable after shutdown() returned 0: no thread
 *      left, no atexit() or pthread_key destructor, no callback registered
 *      in another library that points into its code.
 *   7. Unloading (ABI 1.1): before it first dlclose()s a plugin, the host
 *      pins every library the plugin pulled in (dlopen(name, RTLD_NOLOAD |
 *      RTLD_NODELETE)), so that unloading unmaps the plugin's own code
 *      only. Those libraries outlive any one user: libcurl's threaded
 *      resolver leaves detached threads running in libcurl, PCRE2's JIT
 *      allocator and OpenSSL keep global state and exit handlers, and
 *      unmapping them under either crashes the process later. A host that
 *      cannot pin calls the plugin's pin() (which makes the plugin and
 *      everything it uses resident) or never dlclose()s it.
 *   8. Signals and fork (ABI 1.1): plugin threads block every asynchronous
 *      signal (signals go where the host decides), never raise SIGPIPE
 *      (MSG_NOSIGNAL, CURLOPT_NOSIGNAL) and open every descriptor
 *      close-on-exec. After fork() only the forking thread exists in the
 *      child: the child must not call into the plugin or any instance
 *      (their threads, locks and sockets belong to the parent); it may
 *      exec() or _exit(). An instance is unaffected by its host forking.
 *   9. Concurrency (ABI 1.1). Per instance, the host runs start(),
 *      quiesce(), resume() and shutdown() one at a time, on host threads.
 *      invoke_action(), cancel(), subscribe_event(), unsubscribe() and
 *      stats() may run at the same time as each other, from any number of
 *      host threads, and at the same time as start(), quiesce() and
 *      resume() (they answer CONN_ESTATE when the state forbids them).
 *      shutdown() waits for the ones already inside and refuses the ones
 *      that come after it began. The host never passes one call id to
 *      invoke_action() twice, nor runs subscribe_event() and
 *      unsubscribe() for one sub id at the same time; cancel() may come
 *      at any time, also while invoke_action() of that id still runs
 *      (then CONN_ENOENT, or what was queued is cancelled). describe()
 *      and conn_plugin_get() run at any time, init() of different
 *      instances at the same time. Host services run at the same time as
 *      anything, from any thread (rules 1 and 2).
 */
#ifndef CONNECTOR_CONNECTOR_H
#define CONNECTOR_CONNECTOR_H

/*
 * conn_now_ms() needs POSIX's clock_gettime(CLOCK_MONOTONIC), which a
 * strict standard mode (-std=c11) hides. When this header comes first in
 * such a mode and the host asked for no feature set of its own, it asks
 * for POSIX.1-2008 itself. It never does so otherwise: defining
 * _POSIX_C_SOURCE under the compiler's default (gnu11) would turn off the
 * BSD and SVID names glibc gives by default, and after another header it
 * comes too late to have any effect. A strict-mode host that includes
 * other headers first gets the #error below: it must define
 * _POSIX_C_SOURCE=200809L (or _DEFAULT_SOURCE, _GNU_SOURCE, ...) itself.
 */
#if defined(__STRICT_ANSI__) && !defined(_POSIX_C_SOURCE) &&                   \
        !defined(_XOPEN_SOURCE) && !defined(_DEFAULT_SOURCE) &&                \
        !defined(_GNU_SOURCE) && !defined(_BSD_SOURCE) &&                      \
        !defined(_SVID_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#ifndef CLOCK_MONOTONIC
#error "connector.h needs POSIX clock_gettime(CLOCK_MONOTONIC): compile with -D_POSIX_C_SOURCE=200809L, or include connector.h before any other header"
#endif

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONN_ABI_MAJOR 1
#define CONN_ABI_MINOR 1

/* The one symbol a plugin exports (see conn_plugin_get_fn at the end). */
#define CONN_PLUGIN_ENTRY "conn_plugin_get"

/* ---------------------------------------------------------------------- */
/* Status codes                                                            */
/* ---------------------------------------------------------------------- */

/*
 * Every function of the ABI returns 0 (CONN_OK) or one of these negative
 * codes. Where a person must read why, the function also fills a
 * host-owned buffer (char *err, size_t errlen; always NUL-terminated,
 * truncated to fit, never containing a secret).
 */
typedef enum conn_status {
	CONN_OK = 0,
	CONN_EINVAL = -1,    /* a bad argument, parameter or configuration */
	CONN_ENOMEM = -2,    /* out of memory */
	CONN_ENOTSUP = -3,   /* unknown action or event; slot not implemented */
	CONN_EBUSY = -4,     /* shutdown: a thread is alive; keep the code */
	CONN_ESTATE = -5,    /* not allowed in the instance's current state */
	CONN_EREFUSED = -6,  /* publish: the host refused the event */
	CONN_ETIMEDOUT = -7, /* a deadline passed */
	CONN_EEXIST = -8, /* the id (call or subscription) is already in use */
	CONN_ENOENT = -9, /* no such call, subscription or key */
	CONN_EIO = -10,   /* a system call failed (socket, thread, file) */
	CONN_EABI = -11,  /* the other side speaks an incompatible ABI */
	CONN_EFULL = -12, /* a bounded queue or store is full */
	/* ABI 1.1: settle_owned() by another than the claim's owner */
	CONN_ENOTOWNER = -13
} conn_status;

/* Text for a status code; never NULL, static storage. */
static inline const char *conn_strerror(int code)
{
	switch (code) {
	case CONN_OK: return "success";
	case CONN_EINVAL: return "invalid argument or configuration";
	case CONN_ENOMEM: return "out of memory";
	case CONN_ENOTSUP: return "not supported";
	case CONN_EBUSY: return "busy: a thread is still running";
	case CONN_ESTATE: return "not allowed in the current state";
	case CONN_EREFUSED: return "refused";
	case CONN_ETIMEDOUT: return "deadline exceeded";
	case CONN_EEXIST: return "id already in use";
	case CONN_ENOENT: return "no such id";
	case CONN_EIO: return "system error";
	case CONN_EABI: return "incompatible ABI";
	case CONN_EFULL: return "full";
	case CONN_ENOTOWNER: return "not the owner of the claim";
	default: return "unknown error";
	}
}

/* Now, on the ABI's clock: CLOCK_MONOTONIC in milliseconds. */
static inline int64_t conn_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Milliseconds from now until DEADLINE_MS: 0 once it has passed. Any
 * int64_t is a valid deadline (INT64_MAX means "none", a far past one
 * "already due"), so plain "deadline - now" or "deadline + margin" can
 * overflow: use these.
 */
static inline int64_t conn_ms_left(int64_t deadline_ms)
{
	int64_t now = conn_now_ms();

	return deadline_ms > now ? deadline_ms - now : 0;
}

/* DEADLINE_MS + MARGIN_MS (MARGIN_MS >= 0), saturating at INT64_MAX. */
static inline int64_t conn_deadline_add(int64_t deadline_ms, int64_t margin_ms)
{
	return deadline_ms > INT64_MAX - margin_ms ? INT64_MAX
	                                           : deadline_ms + margin_ms;
}

/* ---------------------------------------------------------------------- */
/* Host services                                                           */
/* ---------------------------------------------------------------------- */

typedef enum conn_log_level {
	CONN_LOG_ERROR = 0,
	CONN_LOG_WARN = 1,
	CONN_LOG_INFO = 2,
	CONN_LOG_DEBUG = 3
} conn_log_level;

/* Outcomes of claim() and claim_owned(). */
typedef enum conn_claim {
	/* claim() (ABI 1.0): the caller now owns the key: work, then
	 * settle(). Prefer claim_owned(), whose "go ahead" is never 0. */
	CONN_CLAIM_NEW = 0,
	/* another owner is working on it: wait or report */
	CONN_CLAIM_IN_PROGRESS = 1,
	/* done before: *prior holds the first result */
	CONN_CLAIM_DONE = 2,
	/* claim_owned() (ABI 1.1): the caller now owns the key under the
	 * token it was given: work, then settle_owned() with that token */
	CONN_CLAIM_OWNED = 3
} conn_claim;

/*
 * The services a host offers a plugin instance. The host fills this table
 * and passes it to init(); it must stay valid and unchanged until shutdown()
 * of that instance has returned 0. Every service is thread-safe and may be
 * called from any plugin thread, but never while the plugin holds a lock of
 * its own (rule 1) and never to call back into the same instance (rule 2).
 * Every service receives ctx, the host's per-instance pointer.
 */
typedef struct conn_host {
	uint32_t struct_size; /* sizeof(conn_host) as the host was built */
	uint16_t abi_major;   /* CONN_ABI_MAJOR of the host */
	uint16_t abi_minor;   /* CONN_ABI_MINOR of the host */
	void *ctx;            /* the first argument of every service */

	/*
	 * Log one line. FIELDS is a small JSON object of structured context
	 * (call_id, sub_id, message_sid, error, ...) or NULL; MESSAGE is a
	 * human sentence. The plugin never puts a secret in either, masks
	 * phone numbers and omits message bodies unless configured otherwise.
	 * Ownership: FIELDS and MESSAGE are borrowed for the duration of the
	 *            call; the host may serialise FIELDS (that writes json-c's
	 *            string cache), so the plugin must not share FIELDS with
	 *            another thread while log() runs.
	 * Returns:   nothing; logging never fails the caller. [mandatory]
	 */
	void (*log)(void *ctx, conn_log_level level, json_object *fields,
	            const char *message);

	/*
	 * Deliver the outputs of call CALL_ID. Called exactly once per
	 * accepted call, possibly before invoke_action() has returned (the
	 * host registered the id before calling), and never after the call's
	 * deadline: work left then is reported as an error inside OUTPUTS.
	 * Ownership: OUTPUTS (a JSON object, never NULL) is transferred; the
	 *            host releases it, also when it drops a completion for an
	 *            unknown id or a second completion (which it logs).
	 * Threads:   any plugin thread, or the thread inside invoke_action().
	 * Returns:   nothing. [mandatory]
	 */
	void (*complete)(void *ctx, uint64_t call_id, json_object *outputs);

	/*
	 * Publish one event for subscription SUB_ID.
	 * Ownership: EVENT (a JSON object of the event's outputs) is
	 *            transferred; the host releases it, also on failure.
	 * Threads:   any plugin thread. Returns promptly: the host enqueues
	 *            the event, it does not run the process inside publish().
	 * Returns:   0 when the host accepted the event; CONN_EREFUSED when it
	 *            refused it (ERR holds the host's reason, for the log and
	 *            for choosing echoError); CONN_ENOENT for an unknown or
	 *            unsubscribed SUB_ID; CONN_ETIMEDOUT when it could not
	 *            accept in time. [mandatory]
	 */
	int (*publish)(void *ctx, uint64_t sub_id, json_object *event,
	               char *err, size_t errlen);

	/*
	 * Claim KEY in the host's idempotency store. Because the host owns
	 * the store it survives a hot swap, and a distributed host may back
	 * it with a shared store (Redis SET NX PX).
	 * Namespaces: a key's namespace is its prefix up to the first '/'.
	 * "send/..." (send_sms: "send/" + idempotency key + "|" +
	 * recipient) and "inbound/..." (inbound dedupe: "inbound/" +
	 * MessageSid + "/" + sub id) each get a budget of their own in the
	 * host's store, every other key shares a third, so that a flood of one
	 * kind cannot make the store refuse the other. A store never drops an
	 * unexpired record to make room: when a namespace is full, claim()
	 * refuses.
	 *   CONN_CLAIM_NEW          the caller owns KEY for TTL_MS; it must
	 *                           settle() it (with a result, or NULL to
	 *                           forget) when the work ends.
	 *   CONN_CLAIM_IN_PROGRESS  another claim on KEY is alive.
	 *   CONN_CLAIM_DONE         KEY was settled with a result; *PRIOR is a
	 *                           new reference to a private copy of it,
	 *                           owned by the caller (json_object_put()).
	 * Ownership: KEY is borrowed; *PRIOR is set (or NULL) on every return.
	 * Returns:   a conn_claim value (>= 0); CONN_EFULL when KEY's
	 *            namespace is full of live records (nothing was claimed:
	 *            do not do the work, report it as retryable later);
	 *            CONN_EINVAL for a bad key. [mandatory]
	 */
	int (*claim)(void *ctx, const char *key, uint32_t ttl_ms,
	             json_object **prior);

	/*
	 * End the claim on KEY. With RESULT non-NULL the key becomes DONE and
	 * later claims get a copy of RESULT for TTL_MS; with RESULT NULL the
	 * key is forgotten, so a retry does the work again ("only a success is
	 * remembered").
	 * Ownership: KEY borrowed; RESULT transferred (the host keeps or
	 *            releases it, also on failure).
	 * Returns:   0, or CONN_ENOENT when KEY was not claimed (expired).
	 *            A settle is never refused for want of room: the work
	 *            is done and its result is kept. [mandatory]
	 */
	int (*settle)(void *ctx, const char *key, json_object *result,
	              uint32_t ttl_ms);

	/* ---- ABI 1.1: every member below reads 0/NULL from a 1.0 host ---- */

	/* json_c_version_num() of the json-c the host uses, and that very
	 * function (the plugin compares it with its own: two copies of
	 * json-c in one process are refused). See CONN_CHECK_JSON_C(). */
	uint32_t json_c_version;
	int (*json_c_version_num)(void);

	/*
	 * Would a log() line at LEVEL be written? Lets the plugin skip
	 * building the fields and message of a line nobody reads.
	 * Returns:   non-zero when yes. Threads: any. Optional (absent: yes).
	 */
	int (*log_enabled)(void *ctx, conn_log_level level);

	/*
	 * claim() with an owner token. As claim(), except that the answer
	 * that lets the caller work is CONN_CLAIM_OWNED (3), never 0: a
	 * host callback that fails (an FFI answers 0 for a callback that
	 * threw) can never mean "send". With it *OWNER is set to a token,
	 * never 0, that only this claim holds.
	 * Ownership: KEY borrowed; *OWNER and *PRIOR set on every return
	 *            (0 and NULL unless OWNED, resp. DONE).
	 * Returns:   CONN_CLAIM_OWNED, CONN_CLAIM_IN_PROGRESS,
	 *            CONN_CLAIM_DONE (*PRIOR as for claim()), or CONN_EFULL,
	 *            CONN_EINVAL as claim(). Optional (absent: use claim()).
	 */
	int (*claim_owned)(void *ctx, const char *key, uint32_t ttl_ms,
	                   uint64_t *owner, json_object **prior);

	/*
	 * settle() by the owner of the claim only: OWNER is the token
	 * claim_owned() gave. A claim that expired and was claimed again
	 * belongs to its new owner, and a late settle cannot overwrite it.
	 * Ownership: as settle() (RESULT transferred, also on failure).
	 * Returns:   0; CONN_ENOENT when KEY is not claimed (expired);
	 *            CONN_ENOTOWNER when another claim holds KEY (nothing
	 *            changed). Present whenever claim_owned is.
	 */
	int (*settle_owned)(void *ctx, const char *key, uint64_t owner,
	                    json_object *result, uint32_t ttl_ms);
} conn_host;

/* ---------------------------------------------------------------------- */
/* Calls and hand-offs                                                     */
/* ---------------------------------------------------------------------- */

/* One action invocation. Everything in it is borrowed for the duration of
 * invoke_action() only (rule 4): the plugin copies what it keeps. */
typedef struct conn_call {
	uint32_t struct_size; /* sizeof(conn_call) as the host was built */
	uint64_t call_id;     /* host-unique; registered before the call */
	const char *action;   /* e.g. "send_sms" */
	json_object *inputs;  /* JSON object of the action's inputs */
	/* JSON object: the process variables, or NULL */
	json_object *variables;
	/* the host's stable id for the task, the same across engine retries;
	 * NULL or "" when the host has none */
	const char *idempotency_key;
	int64_t deadline_ms; /* absolute, conn_now_ms() clock */
} conn_call;

#define CONN_HANDOFF_FORMAT   1
#define CONN_HANDOFF_MAX_FDS  8
#define CONN_HANDOFF_NAME_MAX 32

/*
 * What one instance passes to the next during a hot swap: a few file
 * descriptors (the webhook's listening socket, unclosed) and a JSON state
 * object. The host owns the hand-off: it prepares it (conn_handoff_init),
 * passes it to quiesce() of the old instance and to start() of the new one,
 * and afterwards closes every descriptor still >= 0 and releases STATE.
 * A plugin takes a descriptor by copying it and setting the slot to -1.
 */
typedef struct conn_handoff {
	uint32_t struct_size;
	uint32_t format;               /* CONN_HANDOFF_FORMAT */
	int fds[CONN_HANDOFF_MAX_FDS]; /* -1 when empty */
	/* the role of each descriptor, e.g. "webhook" */
	char names[CONN_HANDOFF_MAX_FDS][CONN_HANDOFF_NAME_MAX];
	json_object *state; /* owned by the hand-off, or NULL */
} conn_handoff;

/* Prepare an empty hand-off. */
static inline void conn_handoff_init(conn_handoff *h)
{
	size_t i;
	h->struct_size = (uint32_t)sizeof(*h);
	h->format = CONN_HANDOFF_FORMAT;
	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++) {
		h->fds[i] = -1;
		h->names[i][0] = '\0';
	}
	h->state = NULL;
}

/* ---------------------------------------------------------------------- */
/* The plugin                                                              */
/* ---------------------------------------------------------------------- */

/* An instance: a connector configured for one deployment. Opaque. */
typedef struct conn_instance conn_instance;

typedef struct conn_plugin {
	uint32_t struct_size; /* sizeof(conn_plugin) as the plugin was built */
	uint16_t abi_major;   /* CONN_ABI_MAJOR of the plugin */
	uint16_t abi_minor;   /* CONN_ABI_MINOR of the plugin */
	const char *name;     /* e.g. "twilio" (static; rule 5) */
	const char *version;  /* e.g. "1.0.0" (static; rule 5) */

	/* clang-format off */
	/*
	 * The connector definition as JSON text (static; rule 5):
	 *   {"name":…, "version":…, "description":…,
	 *    "config":  {KEY: {"type","required","secure","default","description"}},
	 *    "actions": {NAME: {"description","inputs":{…},"outputs":{…}}},
	 *    "events":  {NAME: {"description","params":{…},"outputs":{…}}},
	 *    "errors":  {NAME: "meaning"}}
	 * where each input, output and param is {"type","required","description"}.
	 * A config KEY of type "integer" or "number" may also give "minimum" and
	 * "maximum" (JSON numbers): the host then refuses a value outside them
	 * and says the range in its message.
	 * Threads: any; no instance needed. [mandatory]
	 */
	/* clang-format on */
	const char *(*describe)(void);

	/*
	 * Validate CONFIG and allocate an instance. No threads, no sockets,
	 * no network: a failed init leaves nothing behind.
	 * Ownership: HOST must outlive the instance (until shutdown() returns
	 *            0); CONFIG (a JSON object of string values) is borrowed.
	 * Returns:   0 and *INST; or CONN_EINVAL with ERR naming the key and
	 *            the reason (never the value of a secure key); CONN_EABI
	 *            when HOST is too old or json-c differs; CONN_ENOMEM.
	 *            [mandatory]
	 */
	int (*init)(const conn_host *host, json_object *config,
	            conn_instance **inst, char *err, size_t errlen);

	/*
	 * Start threads, listeners and the event loop. With HANDOFF non-NULL
	 * (a hot swap) the instance takes its listening socket from it instead
	 * of binding a new one. Host thread only.
	 * Returns: 0; or an error with ERR filled, the instance then being as
	 *          after init() (shutdown() still required). [mandatory]
	 */
	int (*start)(conn_instance *inst, conn_handoff *handoff, char *err,
	             size_t errlen);

	/*
	 * Stop accepting new calls and connections; put the listening
	 * socket(s) into OUT unclosed. Calls already accepted go on and
	 * complete. Host thread only (rule 3).
	 * Returns: 0, or CONN_ESTATE when not started. [mandatory]
	 */
	int (*quiesce)(conn_instance *inst, conn_handoff *out);

	/*
	 * Undo a quiesce() (rollback of a failed swap): take the socket(s)
	 * back from HANDOFF and accept again. Host thread only.
	 * Returns: 0, or an error with ERR filled. [mandatory]
	 */
	int (*resume)(conn_instance *inst, conn_handoff *handoff, char *err,
	              size_t errlen);

	/*
	 * Finish or fail accepted work by DEADLINE_MS (every pending call is
	 * completed, with errors for what was not done), join every thread,
	 * free everything. Valid in any state after a successful init().
	 * Host thread only (rule 3). Host threads already inside
	 * invoke_action(), cancel() or stats() are waited for (bounded by
	 * DEADLINE_MS); one that enters after shutdown() began is refused
	 * (CONN_ESTATE). The host stops routing calls to INST before it
	 * calls shutdown(): nothing can protect a call that begins as
	 * shutdown() returns 0 and frees INST.
	 * Returns: 0 (INST is freed); or CONN_EBUSY when a thread (its own,
	 *          or a host thread still inside) is alive at the deadline:
	 *          INST stays allocated and accepts no new call, the host may
	 *          call shutdown() again later and must keep the code loaded
	 *          until one returns 0. [mandatory]
	 */
	int (*shutdown)(conn_instance *inst, int64_t deadline_ms);

	/*
	 * Validate and queue CALL, then return; the result arrives through
	 * host->complete(call->call_id, outputs), exactly once, possibly
	 * before this returns, never after call->deadline_ms. Errors of the
	 * action itself (bad input, Twilio refused, queue full) are data in
	 * the outputs: the call still returns 0 and still completes.
	 * Ownership: CALL and all it points to are borrowed (rule 4).
	 * Returns:   0 when accepted (complete() will follow); otherwise
	 *            complete() is never called for this id: CONN_ENOTSUP for
	 *            an unknown action, CONN_ESTATE when quiesced, not
	 *            started or shutting down, CONN_EINVAL for a malformed
	 *            call; ERR filled.
	 *            [mandatory]
	 */
	int (*invoke_action)(conn_instance *inst, const conn_call *call,
	                     char *err, size_t errlen);

	/*
	 * Ask call CALL_ID to stop: work not yet started is reported as
	 * cancelled in its outputs; complete() still follows exactly once.
	 * Returns: 0, or CONN_ENOENT when the call is unknown or completed.
	 * Optional (NULL: calls run to their deadline).
	 */
	int (*cancel)(conn_instance *inst, uint64_t call_id);

	/*
	 * Subscribe SUB_ID (host-unique) to EVENT with PARAMS. Patterns and
	 * templates are compiled now, so a bad one is refused here with the
	 * offset and the reason in ERR. Events may be published from any
	 * plugin thread once this returns 0.
	 * Ownership: PARAMS borrowed (rule 4).
	 * Returns: 0; CONN_ENOTSUP for an unknown event; CONN_EINVAL for bad
	 *          params; CONN_EEXIST for a SUB_ID in use; CONN_ESTATE when
	 *          the instance cannot receive events (e.g. no webhook
	 *          configured). [mandatory]
	 */
	int (*subscribe_event)(conn_instance *inst, uint64_t sub_id,
	                       const char *event, json_object *params,
	                       char *err, size_t errlen);

	/*
	 * Remove SUB_ID. A plugin speaking ABI 1.1 returns only after every
	 * publish() for SUB_ID has returned, and none starts after: the host
	 * may free what it keeps for SUB_ID as soon as this returns. (ABI
	 * 1.0 promised only that no new publish() starts; a host serving a
	 * 1.0 plugin keeps that state until the instance is shut down, or
	 * makes publish() for an unknown SUB_ID safe.) Because it waits for
	 * publish(), never call it from inside publish() (rule 2).
	 * Returns: 0, or CONN_ENOENT. [mandatory]
	 */
	int (*unsubscribe)(conn_instance *inst, uint64_t sub_id);

	/*
	 * Counters as a new JSON object (the caller owns it), for metrics.
	 * Optional.
	 */
	json_object *(*stats)(conn_instance *inst);

	/* ---- ABI 1.1: every member below reads 0/NULL from a 1.0 plugin - */

	/*
	 * Make the plugin resident for the life of the process: after this
	 * returns 0, dlclose() unmaps neither the plugin nor any library it
	 * uses (rule 7). For a host that cannot pin the plugin's
	 * dependencies itself; call it once, after loading, before the
	 * first dlclose(). Threads: any; no instance needed.
	 * Returns: 0, or CONN_EIO with ERR saying why (then never dlclose()
	 *          the plugin). Optional (absent: the host must pin or never
	 *          unload).
	 */
	int (*pin)(char *err, size_t errlen);
} conn_plugin;

/*
 * The entry point, exported by every plugin under CONN_PLUGIN_ENTRY:
 *
 *   const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
 *                                      uint16_t host_abi_minor);
 *
 * Returns the plugin's constant table (static storage) for a host of
 * that version, or NULL when the plugin cannot serve it (another major,
 * or an older minor lacking something the plugin requires). The table's
 * abi_minor is the minor the plugin speaks with that host: at most
 * HOST_ABI_MINOR (a plugin built for 1.1 answers a 1.0 host with a table
 * saying 1.0, and then uses only 1.0's host services). The host then
 * checks abi_major (equal), abi_minor (not newer than the host's),
 * struct_size (at least the size of that minor's table) and the
 * mandatory slots, and refuses the plugin with a distinct message for
 * each.
 */
typedef const conn_plugin *(*conn_plugin_get_fn)(uint16_t host_abi_major,
                                                 uint16_t host_abi_minor);

/* ---------------------------------------------------------------------- */
/* Versions and sizes                                                      */
/* ---------------------------------------------------------------------- */

/* The struct_size of a TYPE whose last member is MEMBER. */
#define CONN_SIZE_THROUGH(type, member)                                        \
	(offsetof(type, member) + sizeof(((type *)0)->member))

/* Does TABLE (a TYPE *, struct_size first) hold MEMBER as its builder
 * sized it? For data members; 0 then still means "absent". */
#define CONN_HAS_FIELD(table, type, member)                                    \
	((table)->struct_size >= CONN_SIZE_THROUGH(type, member))

/* Does the host (const conn_host *) offer service SLOT? Does the plugin
 * (const conn_plugin *) implement SLOT? A NULL slot is not implemented. */
#define CONN_HOST_HAS(host, slot)                                              \
	(CONN_HAS_FIELD(host, conn_host, slot) && (host)->slot != NULL)
#define CONN_PLUGIN_HAS(plugin, slot)                                          \
	(CONN_HAS_FIELD(plugin, conn_plugin, slot) && (plugin)->slot != NULL)

/* The size of every table and struct as each version defines it: what a
 * side that speaks that version requires of the other. */
#define CONN_HOST_SIZE_1_0    CONN_SIZE_THROUGH(conn_host, settle)
#define CONN_HOST_SIZE_1_1    CONN_SIZE_THROUGH(conn_host, settle_owned)
#define CONN_PLUGIN_SIZE_1_0  CONN_SIZE_THROUGH(conn_plugin, stats)
#define CONN_PLUGIN_SIZE_1_1  CONN_SIZE_THROUGH(conn_plugin, pin)
#define CONN_CALL_SIZE_1_0    CONN_SIZE_THROUGH(conn_call, deadline_ms)
#define CONN_CALL_SIZE_1_1    CONN_CALL_SIZE_1_0
#define CONN_HANDOFF_SIZE_1_0 CONN_SIZE_THROUGH(conn_handoff, state)
#define CONN_HANDOFF_SIZE_1_1 CONN_HANDOFF_SIZE_1_0

/* The conn_plugin size a table of minor MINOR must have at least. */
#define CONN_PLUGIN_SIZE_FOR(minor)                                            \
	((minor) >= 1 ? CONN_PLUGIN_SIZE_1_1 : CONN_PLUGIN_SIZE_1_0)

/*
 * The json-c check every plugin performs at init (one line; returns from
 * the calling function with CONN_EABI and ERR filled when it fails):
 *
 *   CONN_CHECK_JSON_C(host, err, errlen);
 *
 * Refuses a json-c whose major.minor differs from the one the plugin was
 * built against, a host whose json-c has another major.minor, and a host
 * that uses another copy of json-c than the plugin (a static one, or a
 * second library): objects cross the boundary, so both sides must run
 * the same code on them.
 */
static inline int conn_check_json_c(const conn_host *host, char *err,
                                    size_t errlen)
{
	int mine = json_c_version_num();
	unsigned int hv = 0;
	const char *why = NULL;

	if ((mine >> 8) != (JSON_C_VERSION_NUM >> 8))
		why = "the json-c loaded is not the one the plugin was built "
		      "against";
	else if (host && CONN_HAS_FIELD(host, conn_host, json_c_version) &&
	         (hv = host->json_c_version) != 0 &&
	         (hv >> 8) != ((unsigned int)mine >> 8))
		why = "the host uses another json-c version than the plugin";
	else if (host && CONN_HOST_HAS(host, json_c_version_num) &&
	         host->json_c_version_num != json_c_version_num)
		why = "the host and the plugin use two copies of json-c (both "
		      "must link the one shared libjson-c)";
	if (!why)
		return CONN_OK;
	if (err && errlen) {
		int n = snprintf(err, errlen,
		                 "%s: plugin built with %d.%d, "
		                 "loaded %d.%d",
		                 why, JSON_C_VERSION_NUM >> 16,
		                 (JSON_C_VERSION_NUM >> 8) & 0xff, mine >> 16,
		                 (mine >> 8) & 0xff);
		if (hv && n >= 0 && (size_t)n < errlen)
			snprintf(err + n, errlen - (size_t)n, ", host %u.%u",
			         hv >> 16, (hv >> 8) & 0xff);
	}
	return CONN_EABI;
}
#define CONN_CHECK_JSON_C(host, err, errlen)                                   \
	do {                                                                   \
		int conn_check_rc_ =                                           \
		        conn_check_json_c((host), (err), (errlen));            \
		if (conn_check_rc_ != CONN_OK)                                 \
			return conn_check_rc_;                                 \
	} while (0)

/*
 * Claim and settle through the best service the host has: claim_owned()
 * and settle_owned() on a 1.1 host, claim() and settle() (OWNER 0) on a
 * 1.0 one. conn_host_claim() answers CONN_CLAIM_OWNED for "the caller
 * owns KEY" either way, so a plugin has one code path.
 */
static inline int conn_host_claim(const conn_host *host, const char *key,
                                  uint32_t ttl_ms, uint64_t *owner,
                                  json_object **prior)
{
	int rc;

	*owner = 0;
	if (CONN_HOST_HAS(host, claim_owned) &&
	    CONN_HOST_HAS(host, settle_owned))
		return host->claim_owned(host->ctx, key, ttl_ms, owner, prior);
	rc = host->claim(host->ctx, key, ttl_ms, prior);
	return rc == CONN_CLAIM_NEW ? CONN_CLAIM_OWNED : rc;
}

static inline int conn_host_settle(const conn_host *host, const char *key,
                                   uint64_t owner, json_object *result,
                                   uint32_t ttl_ms)
{
	if (owner && CONN_HOST_HAS(host, settle_owned))
		return host->settle_owned(host->ctx, key, owner, result,
		                          ttl_ms);
	return host->settle(host->ctx, key, result, ttl_ms);
}

/* Should a line at LEVEL be built? (yes when the host cannot say) */
static inline int conn_host_log_enabled(const conn_host *host,
                                        conn_log_level level)
{
	return !CONN_HOST_HAS(host, log_enabled) ||
	       host->log_enabled(host->ctx, level);
}

#ifdef __cplusplus
}
#endif

#endif /* CONNECTOR_CONNECTOR_H */
