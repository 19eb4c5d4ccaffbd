/* FROZEN: ABI 1.0 exactly as released (git show d9caad8:host-api/connector.h), kept so that tests/plugins/abi-1.0/plugin10.c is compiled against the real 1.0 layout (tables ending in void *reserved[8], NULL); never edit below this line. */
/*
 * connector.h - the connector plugin ABI (version 1.0).
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
 * Versioning (the libpurple/GStreamer rule):
 *   - CONN_ABI_MAJOR changes when anything existing changes meaning or
 *     layout. Host and plugin majors must be equal.
 *   - CONN_ABI_MINOR grows when slots are appended. A host accepts a plugin
 *     built for the same or an older minor and refuses a newer one.
 *   - struct_size, the first member of both tables, says which trailing
 *     slots exist: a slot that lies beyond struct_size is absent.
 *   - A NULL optional slot means "not implemented". Mandatory slots are
 *     marked [mandatory]; a host refuses a plugin with one of them NULL.
 *   - json-c is part of the ABI: host and plugin must use the same json-c
 *     major.minor (the plugin checks json_c_version_num() at init).
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
#include <time.h>

#ifndef CLOCK_MONOTONIC
#error "connector.h needs POSIX clock_gettime(CLOCK_MONOTONIC): compile with -D_POSIX_C_SOURCE=200809L, or include connector.h before any other header"
#endif

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CONN_ABI_MAJOR 1
#define CONN_ABI_MINOR 0

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
	CONN_EFULL = -12  /* a bounded queue or store is full */
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

/* Outcomes of claim(). */
typedef enum conn_claim {
	/* the caller now owns the key: work, then settle() */
	CONN_CLAIM_NEW = 0,
	/* another owner is working on it: wait or report */
	CONN_CLAIM_IN_PROGRESS = 1,
	/* done before: *prior holds the first result */
	CONN_CLAIM_DONE = 2
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
	 * MessageSid) each get a budget of their own in the host's store,
	 * every other key shares a third, so that a flood of one kind cannot
	 * make the store refuse the other. A store never drops an unexpired
	 * record to make room: when a namespace is full, claim() refuses.
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

	void *reserved[8]; /* NULL; future services are appended here */
} conn_host;

/* The size of conn_host as ABI 1.0 defines it (what a plugin requires). */
#define CONN_HOST_SIZE_1_0 (offsetof(conn_host, reserved))

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
	 * Remove SUB_ID. After this returns no new publish() for it starts
	 * (one already running may still be returning).
	 * Returns: 0, or CONN_ENOENT. [mandatory]
	 */
	int (*unsubscribe)(conn_instance *inst, uint64_t sub_id);

	/*
	 * Counters as a new JSON object (the caller owns it), for metrics.
	 * Optional.
	 */
	json_object *(*stats)(conn_instance *inst);

	void *reserved[8]; /* NULL; future slots are appended here */
} conn_plugin;

/* The size of conn_plugin as ABI 1.0 defines it (what a host requires). */
#define CONN_PLUGIN_SIZE_1_0 (offsetof(conn_plugin, reserved))

/*
 * The entry point, exported by every plugin under CONN_PLUGIN_ENTRY:
 *
 *   const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
 *                                      uint16_t host_abi_minor);
 *
 * Returns the plugin's constant table (static storage), or NULL when the
 * plugin cannot serve a host of that ABI. The host then checks abi_major
 * (equal), abi_minor (not newer than the host's), struct_size (at least
 * CONN_PLUGIN_SIZE_1_0) and the mandatory slots, and refuses the plugin
 * with a distinct message for each.
 */
typedef const conn_plugin *(*conn_plugin_get_fn)(uint16_t host_abi_major,
                                                 uint16_t host_abi_minor);

#ifdef __cplusplus
}
#endif

#endif /* CONNECTOR_CONNECTOR_H */
