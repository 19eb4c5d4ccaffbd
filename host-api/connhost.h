/*
 * connhost.h - libconnhost, the host side of the connector ABI.
 *
 * What a process runtime links to load connector plugins safely, configure
 * instances, invoke actions, receive events and keep the idempotency store
 * the plugins use. Installed as <connector/connhost.h> next to
 * <connector/connector.h>.
 *
 * Handles (all opaque):
 *   connhost_plugin    one loaded plugin image (refcounted; instances hold
 *                      a reference, so unloading waits for the last one)
 *   connhost_instance  one configured instance: the host services table,
 *                      the call registry, the subscription registry and the
 *                      routing to the plugin instance currently serving it
 *   connhost_store     the idempotency store (may be shared by instances)
 *
 * Threads: every function is thread-safe unless its comment says otherwise.
 * libconnhost never holds a lock of its own while it calls into a plugin.
 *
 * libltdl: libconnhost serialises every lt_* call behind one mutex of its
 * own. An embedding host must therefore not call libltdl itself while
 * libconnhost may be loading or unloading in another thread.
 *
 * Errors: functions return 0 or a negative CONN_E* code (conn_strerror());
 * those that can fail for a reason a person must read also fill a
 * caller-owned buffer ERR of ERRLEN bytes (NUL-terminated, truncated to fit,
 * never containing a secure configuration value).
 */
#ifndef CONNECTOR_CONNHOST_H
#define CONNECTOR_CONNHOST_H

/* First: it may have to ask for POSIX before any system header (see
 * there). */
#include "connector.h"

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct connhost_plugin connhost_plugin;
typedef struct connhost_instance connhost_instance;
typedef struct connhost_store connhost_store;

/* ---------------------------------------------------------------------- */
/* Logging                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Where log lines go. Each line is one JSON object without the newline:
 *   {"level":"warn","msg":"...", ...fields}
 * WRITE may be called from any thread (plugin threads included) and must
 * be thread-safe; NULL writes the line plus a newline to stderr in a single
 * write(2), so lines of concurrent threads never interleave.
 * Lines with a level above LEVEL are dropped (CONN_LOG_WARN: errors and
 * warnings only).
 */
typedef struct connhost_log {
	conn_log_level level;
	void (*write)(void *arg, const char *line);
	void *arg;
} connhost_log;

/*
 * Emit one line through LOG (NULL: stderr, level warn).
 * Ownership: FIELDS (a JSON object or NULL) and MSG are borrowed; FIELDS
 *            is serialised, which writes json-c's string cache in it, so
 *            no other thread may use FIELDS meanwhile.
 * Returns:   nothing; logging never fails the caller.
 */
void connhost_log_emit(const connhost_log *log, conn_log_level level,
                       json_object *fields, const char *msg);

/* "error", "warn", "info", "debug"; NULL for an unknown level. */
const char *connhost_log_level_name(conn_log_level level);

/* Parse a level name; 0 and *OUT, or CONN_EINVAL. */
int connhost_log_level_parse(const char *name, conn_log_level *out);

/* ---------------------------------------------------------------------- */
/* Loading plugins                                                         */
/* ---------------------------------------------------------------------- */

typedef struct connhost_load_opts {
	uint32_t struct_size; /* sizeof(connhost_load_opts) */
	/* Directory for the private copy; NULL: $CONNHOST_COPY_DIR, else
	 * $XDG_RUNTIME_DIR, else /var/tmp. It must allow mapping code
	 * (not noexec), which /tmp often does not. */
	const char *copy_dir;
	/* 1: keep the private copy on disk and never unmap the plugin (for
	 * debuggers and sanitizers that symbolise after exit); 0: remove the
	 * copy once loaded and unmap on unload; -1: $CONNHOST_KEEP_COPIES. */
	int keep_copies;
} connhost_load_opts;

/*
 * Load the plugin at PATH (a shared object, or the libtool .la describing
 * one) and check it against this host's ABI:
 *   1. open the file (and the object a .la names) with O_NONBLOCK and
 *   fstat() the descriptor: anything but a regular file (a FIFO, a
 *   device, a directory) is refused, naming the path and what it is; 2.
 *   check its ELF header (class, byte order, this machine, ET_DYN); 3.
 *   copy it, from that same descriptor, to a new unique path in the copy
 *   directory (glibc would hand back an image already loaded from the same
 *   path or inode, which breaks a reload of a changed file), and check
 *   before and after loading that the image mapped is that copy (device
 *   and inode); 4. a preflight
 *   dlopen(RTLD_NOW|RTLD_LOCAL) that names any unresolved symbol; 5.
 *   lt_dlopenadvise() with local symbols; 6. pin every library the plugin
 *   pulled in (RTLD_NODELETE) so that unloading unmaps only the plugin;
 *   7. resolve conn_plugin_get(), call it, check major, minor, struct_size
 *   and the mandatory slots; 8. copy name, version and describe() and parse
 *   the definition.
 * Each failure is refused with its own message in ERR ("file missing",
 * "not an ELF shared object for this machine", "unresolved symbol 'x'",
 * "no entry symbol", "returned NULL", "ABI major", "ABI minor",
 * "struct too small", "mandatory slot 'init' is NULL").
 * Ownership: OPTS may be NULL (defaults); *OUT is owned by the caller, who
 *            releases it with connhost_plugin_unref().
 * Threads:   any; loads and unloads are serialised with each other.
 * Returns:   0; CONN_ENOENT (file missing); CONN_EINVAL (not a loadable
 *            object for this machine, bad describe()); CONN_EABI (symbols,
 *            entry or table refused); CONN_EIO (the copy failed);
 *            CONN_ENOMEM.
 */
int connhost_plugin_load(const char *path, const connhost_load_opts *opts,
                         connhost_plugin **out, char *err, size_t errlen);

/*
 * Reference counting. The last unref unloads the plugin (lt_dlclose) unless
 * keep_copies was set or an instance of it could not be shut down (a
 * thread of it may still run: its code stays mapped).
 * Threads: any, but never from inside a host service called by the plugin.
 */
connhost_plugin *connhost_plugin_ref(connhost_plugin *p);
void connhost_plugin_unref(connhost_plugin *p);

/* Copies taken at load; valid as long as P. Never NULL. */
const char *connhost_plugin_name(const connhost_plugin *p);
const char *connhost_plugin_version(const connhost_plugin *p);
const char *connhost_plugin_describe_text(const connhost_plugin *p);

/*
 * The parsed describe() definition, borrowed and immutable: callers may
 * read it from any thread but must not call json_object_get_string() on
 * non-strings or json_object_to_json_string() on it (they write caches).
 */
json_object *connhost_plugin_definition(const connhost_plugin *p);

/* The plugin's function table (a host-side copy; slots beyond the
 * plugin's struct_size are NULL). Valid as long as P. */
const conn_plugin *connhost_plugin_table(const connhost_plugin *p);

/* The path of the private copy (the file may be gone, see keep_copies). */
const char *connhost_plugin_copy_path(const connhost_plugin *p);

/* ---------------------------------------------------------------------- */
/* Configuration                                                           */
/* ---------------------------------------------------------------------- */

/* Limits for outside input. */
#define CONNHOST_CONFIG_MAX_BYTES   (1024 * 1024)
#define CONNHOST_FILE_REF_MAX_BYTES (64 * 1024)

/*
 * Parse configuration TEXT (LEN bytes): a JSON object of strings (numbers
 * and booleans are taken as their text), or KEY=VALUE lines ('#' comments,
 * blank lines, values optionally in "double quotes" with \" \\ \n \t
 * escapes, or 'single quotes' taken literally). In both forms a value may
 * hold ${env:NAME} (the environment variable, which must exist) and
 * ${file:PATH} (the file's contents, at most CONNHOST_FILE_REF_MAX_BYTES,
 * one trailing newline removed; a relative PATH is taken from the current
 * directory); "$${" stands for a literal "${".
 * ORIGIN names the text in messages (a file name, or NULL).
 * Ownership: *OUT is a new JSON object of strings owned by the caller.
 * Returns:   0; CONN_EINVAL with ERR naming the line or key and the reason
 *            (never a value); CONN_ENOMEM.
 */
int connhost_config_parse(const char *text, size_t len, const char *origin,
                          json_object **out, char *err, size_t errlen);

/* connhost_config_parse() on the contents of the file PATH (at most
 * CONNHOST_CONFIG_MAX_BYTES). CONN_EIO when it cannot be read. */
int connhost_config_load(const char *path, json_object **out, char *err,
                         size_t errlen);

/*
 * Check CONFIG against the plugin's definition (describe()["config"]) and
 * fill in defaults: a missing required key is an error naming it; a value
 * of the wrong type ("integer", "number", "boolean") is an error naming
 * the key; an unknown key is a warning through LOG (NULL: stderr).
 * Ownership: DEFINITION borrowed; CONFIG is modified (defaults added, as
 *            strings); LOG borrowed.
 * Threads:   CONFIG must not be used by another thread meanwhile.
 * Returns:   0, or CONN_EINVAL with ERR naming the key (never its value).
 */
int connhost_config_validate(json_object *definition, json_object *config,
                             const connhost_log *log, char *err, size_t errlen);

/*
 * A printable copy of CONFIG: every key whose definition says "secure",
 * and every key the definition does not know (it may be a misspelt
 * secret), shows "********". Ownership: a new object owned by the caller (NULL
 * when out of memory).
 */
json_object *connhost_config_masked(json_object *definition,
                                    json_object *config);

/* ---------------------------------------------------------------------- */
/* The idempotency store                                                   */
/* ---------------------------------------------------------------------- */

#define CONNHOST_KEY_MAX 1024
/* The largest result settle() keeps, as compact JSON text. */
#define CONNHOST_RESULT_MAX_BYTES (64 * 1024)

/* A key's namespace is its prefix up to the first '/' (see claim() in
 * connector.h); each has a byte budget of its own. */
enum {
	CONNHOST_STORE_NS_SEND = 0,    /* "send/..." */
	CONNHOST_STORE_NS_INBOUND = 1, /* "inbound/..." */
	CONNHOST_STORE_NS_OTHER = 2,   /* every other key */
	CONNHOST_STORE_NS_COUNT = 3
};

/* "send", "inbound", "other"; NULL for another number. */
const char *connhost_store_ns_name(int ns);

/*
 * A bounded in-memory store of keys: IN_PROGRESS while claimed, DONE with
 * a result once settled, each with a TTL. An unexpired record is never
 * dropped: when a namespace's budget is spent (after reclaiming expired
 * entries), a new key there is refused with CONN_EFULL.
 * MAX_BYTES is the memory the entries may take (keys, result texts, entry
 * and allocator overhead, counted as allocated), split between the
 * namespaces: send 5/8, inbound 2/8, other 1/8. 0 means the default,
 * 128 MiB: the send namespace's 80 MiB hold about 338,000 send_sms
 * results of about 250 bytes, i.e. 3.9 messages/s sustained over the
 * plugin's default 24 h TTL (docs/connector-host.md,
 * "Sizing the idempotency store").
 * A namespace crossing 80 % of its budget logs one warning (again only
 * after it fell below 70 %), through the log given with
 * connhost_store_set_log() (default: stderr).
 * Returns NULL when out of memory. Free with connhost_store_free() after
 * every instance using it was shut down.
 */
connhost_store *connhost_store_new(size_t max_bytes);
void connhost_store_free(connhost_store *s);

/* Where the store's warnings go (copied; LOG's writer must outlive the
 * store). An instance with a private store sets its own log. */
void connhost_store_set_log(connhost_store *s, const connhost_log *log);

/*
 * The claim() and settle() host services of connector.h, with the same
 * contract (see there). Thread-safe; never calls out while locked.
 * settle() keeps RESULT as JSON text: at most CONNHOST_RESULT_MAX_BYTES
 * (CONN_EINVAL beyond; the key then stays IN_PROGRESS until its TTL), and
 * claim() hands back a parsed copy of it. A settle is never refused for
 * want of room: the work is done, its record is kept even if that takes
 * the namespace over its budget (new claims are refused until it drops).
 */
int connhost_store_claim(connhost_store *s, const char *key, uint32_t ttl_ms,
                         json_object **prior);
int connhost_store_settle(connhost_store *s, const char *key,
                          json_object *result, uint32_t ttl_ms);

/*
 * The claim_owned() and settle_owned() host services of connector.h (ABI
 * 1.1): a claim answered CONN_CLAIM_OWNED carries an owner token (never
 * 0, unique in the store), and only that token settles it; another gets
 * CONN_ENOTOWNER and changes nothing. The plain settle() above settles
 * any live claim (ABI 1.0 plugins).
 */
int connhost_store_claim_owned(connhost_store *s, const char *key,
                               uint32_t ttl_ms, uint64_t *owner,
                               json_object **prior);
int connhost_store_settle_owned(connhost_store *s, const char *key,
                                uint64_t owner, json_object *result,
                                uint32_t ttl_ms);

typedef struct connhost_store_fill {
	size_t entries;   /* keys held (live, or expired not yet reclaimed) */
	size_t bytes;     /* what they take */
	size_t max_bytes; /* the budget */
} connhost_store_fill;

typedef struct connhost_store_counts {
	size_t entries;     /* keys held, every namespace */
	size_t bytes;       /* sum of ns[].bytes */
	size_t max_bytes;   /* sum of ns[].max_bytes */
	size_t table_bytes; /* the hash table's bucket array, apart */
	connhost_store_fill ns[CONNHOST_STORE_NS_COUNT];
	uint64_t claims_new;    /* claims answered NEW */
	uint64_t claims_busy;   /* answered IN_PROGRESS */
	uint64_t claims_done;   /* answered DONE */
	uint64_t expired;       /* entries dropped after their TTL */
	uint64_t refused_full;  /* claims refused with CONN_EFULL */
	uint64_t fill_warnings; /* 80 % warnings logged */
} connhost_store_counts;

void connhost_store_get_counts(connhost_store *s, connhost_store_counts *out);

/* ---------------------------------------------------------------------- */
/* Instances                                                               */
/* ---------------------------------------------------------------------- */

/* The synchronous wrapper waits the call's deadline plus this margin. */
#define CONNHOST_SYNC_MARGIN_MS 2000

typedef struct connhost_instance_opts {
	uint32_t struct_size; /* sizeof(connhost_instance_opts) */
	/* Store for claim()/settle(); NULL: a private store of STORE_BYTES
	 * bytes (0: the default, see connhost_store_new()), freed with the
	 * instance and logging through LOG. A shared store must outlive
	 * the instance (its log is set with connhost_store_set_log()). */
	connhost_store *store;
	size_t store_bytes;
	/* Where this instance's and its plugin's log lines go; copied.
	 * A zeroed struct means stderr at level warn. */
	connhost_log log;
	/* When non-NULL, every publish() is refused with this reason
	 * (copied); for testing a plugin's refusal path. */
	const char *refuse_publish;
} connhost_instance_opts;

/*
 * Create an instance of plugin P with CONFIG: validates CONFIG against
 * describe() (connhost_config_validate(): defaults filled in, unknown keys
 * warned about) and calls the plugin's init(). The instance holds a
 * reference to P.
 * Ownership: CONFIG borrowed (a copy is validated and handed to init());
 *            OPTS may be NULL; *OUT owned by the caller, released by
 *            connhost_instance_shutdown().
 * Returns:   0; CONN_EINVAL with ERR naming the key and the reason (never
 *            a secure value); CONN_EABI, CONN_ENOMEM from init().
 */
int connhost_instance_new(connhost_plugin *p, json_object *config,
                          const connhost_instance_opts *opts,
                          connhost_instance **out, char *err, size_t errlen);

/*
 * Start the instance (threads, listeners) through the plugin's start().
 * Host thread only. Returns 0, or the plugin's error with ERR filled
 * (the instance then stays as after connhost_instance_new()).
 */
int connhost_instance_start(connhost_instance *inst, char *err, size_t errlen);

/*
 * Shut the instance down: the plugin finishes or fails accepted calls by
 * DEADLINE_MS (absolute, conn_now_ms() clock) and joins its threads. Calls
 * the plugin left without a completion are completed by the host with
 * {"error":"host: instance shut down without completing the call"}.
 * Host thread only, never from a callback of this instance.
 * Returns: 0 and INST is freed (its plugin reference dropped); or
 *          CONN_EBUSY: a plugin thread is still alive, INST stays valid
 *          (its host services keep working) and shutdown may be called
 *          again later. Call connhost_instance_abandon() to give up: the
 *          plugin's code then stays mapped for the life of the process.
 */
int connhost_instance_shutdown(connhost_instance *inst, int64_t deadline_ms);

/* After CONN_EBUSY: forget INST without freeing what a live plugin thread
 * may still use (a deliberate, bounded leak; logged). */
void connhost_instance_abandon(connhost_instance *inst);

/* The effective configuration INST was created with (defaults filled in),
 * with secure and unknown keys shown as "********"; a new object owned by
 * the caller, NULL when out of memory. */
json_object *connhost_instance_config_masked(connhost_instance *inst);

/* The plugin serving INST now, as a new reference: the caller releases it
 * with connhost_plugin_unref() (a swap may replace the plugin at any
 * moment, so a borrowed pointer could dangle). NULL once INST's serving
 * plugin instance was shut down. */
connhost_plugin *connhost_instance_plugin(connhost_instance *inst);

typedef struct connhost_swap_opts {
	uint32_t struct_size; /* sizeof(connhost_swap_opts) */
	/* Absolute (conn_now_ms() clock): by then the old version must
	 * have finished the calls it accepted and shut down; 0 means
	 * now + 30 s. */
	int64_t deadline_ms;
} connhost_swap_opts;

/*
 * Hot swap (docs/deployment.md): replace the plugin instance serving INST
 * by one of P2 (another version, or the same plugin for a new
 * configuration) with no call failed and no subscription lost.
 *   1. CONFIG (NULL: the current configuration) is validated against
 *      P2's describe() and P2's init() runs. Failure: nothing changed.
 *   2. P2's instance is subscribed to every registered subscription (same
 *      ids). Failure: it is shut down; nothing changed. Subscribes and
 *      unsubscribes wait from here to step 3's end.
 *   3. The swap pause: new invoke/cancel/subscribe/stats calls wait while
 *      the old instance quiesces into a hand-off (its listening socket)
 *      and P2's starts with it; then routing switches to P2. If start()
 *      fails, the old instance resumes with the hand-off and keeps
 *      serving. The pause is in stats ("last_swap_pause_us").
 *   4. The old instance finishes the calls it accepted (until the
 *      deadline; its publishes still reach the same callbacks), then is
 *      shut down by OPTS->deadline_ms and its plugin reference dropped;
 *      on CONN_EBUSY it stays loaded (logged, listed in stats "kept").
 *      Descriptors of the hand-off that nobody took are closed only
 *      after the old instance's shutdown.
 * Log lines name both versions (connhost_plugin_version()).
 * Ownership: P2 borrowed (the instance takes its own reference); CONFIG
 *            borrowed (copied); OPTS may be NULL.
 * Threads:   a host thread, never from a callback of INST; swaps, start
 *            and shutdown of INST are serialised. A DONE or event callback
 *            must not invoke on INST inline while a swap may run (it
 *            would wait for the swap pause that waits for it).
 * Returns:   0 when P2 serves (even if the old version was kept loaded);
 *            otherwise the old version still serves and ERR says which
 *            step failed and why: CONN_EINVAL (configuration), the
 *            error of P2's init(), subscribe_event() or start(),
 *            CONN_ESTATE (INST not started or shutting down),
 *            CONN_ENOMEM.
 */
int connhost_instance_swap(connhost_instance *inst, connhost_plugin *p2,
                           json_object *config, const connhost_swap_opts *opts,
                           char *err, size_t errlen);

/*
 * Counters as a new JSON object (caller owns): {"calls_started",
 * "calls_completed", "completions_dropped", "calls_abandoned",
 * "published", "publish_refused", "swaps", "swaps_failed",
 * "last_swap_pause_us", "max_swap_pause_us" (how long the last and the
 * longest swap pause held new calls), "serving":{"name","version",
 * "generation"} (absent once shut down), "kept":[{"name","version",
 * "generation"}...] (old versions kept loaded after CONN_EBUSY),
 * "store":{...}, "plugin":{...stats()}}
 * where "store" is {"entries", "bytes", "max_bytes", "table_bytes",
 * "slab_bytes" (the memory the store maps for its entries, free slots
 * included), "claims_new", "claims_busy", "claims_done", "expired",
 * "refused_full", "fill_warnings",
 * "namespaces":{"send":{"entries","bytes","max_bytes"}, "inbound":{...},
 * "other":{...}}}.
 */
json_object *connhost_instance_stats(connhost_instance *inst);

/* ---------------------------------------------------------------------- */
/* Calls                                                                   */
/* ---------------------------------------------------------------------- */

/*
 * Receives the outputs of one call, exactly once.
 * Ownership: OUTPUTS (a JSON object) is transferred to the callback.
 * Threads:   any plugin thread, or the thread inside connhost_invoke()
 *            before it has returned (inline completion). Must return
 *            promptly and must not shut the instance down.
 */
typedef void (*connhost_done_fn)(void *arg, uint64_t call_id,
                                 json_object *outputs);

/*
 * Invoke ACTION asynchronously. The call id is registered (and stored in
 * *CALL_ID, when non-NULL) before the plugin sees the call, so DONE may
 * run before this returns.
 * DEADLINE_MS: absolute, conn_now_ms() clock; 0 means now + 30 s.
 * Ownership: INPUTS (a JSON object), VARIABLES (object or NULL) and
 *            IDEMPOTENCY_KEY are borrowed for the duration of the call and
 *            must not be used by another thread meanwhile.
 * Returns:   0 when the plugin accepted the call (DONE will run exactly
 *            once); otherwise DONE never runs: CONN_ENOTSUP (unknown
 *            action), CONN_ESTATE (not started or quiesced), CONN_EINVAL,
 *            CONN_ENOMEM, with ERR filled.
 */
int connhost_invoke(connhost_instance *inst, const char *action,
                    json_object *inputs, json_object *variables,
                    const char *idempotency_key, int64_t deadline_ms,
                    connhost_done_fn done, void *arg, uint64_t *call_id,
                    char *err, size_t errlen);

/*
 * Invoke ACTION and wait for its outputs, at most until DEADLINE_MS plus
 * CONNHOST_SYNC_MARGIN_MS. Arguments as connhost_invoke().
 * Returns: 0 and *OUTPUTS (owned by the caller); the errors of
 *          connhost_invoke(); or CONN_ETIMEDOUT when no completion came
 *          in time (the call is then forgotten: a late completion is
 *          logged and dropped).
 */
int connhost_invoke_sync(connhost_instance *inst, const char *action,
                         json_object *inputs, json_object *variables,
                         const char *idempotency_key, int64_t deadline_ms,
                         json_object **outputs, char *err, size_t errlen);

/*
 * Ask the plugin to cancel CALL_ID (its completion still follows).
 * Returns 0, CONN_ENOENT, or CONN_ENOTSUP when the plugin has no cancel().
 */
int connhost_cancel(connhost_instance *inst, uint64_t call_id);

/* ---------------------------------------------------------------------- */
/* Subscriptions                                                           */
/* ---------------------------------------------------------------------- */

/*
 * Receives one published event.
 * Ownership: EVENT is transferred to the callback.
 * Threads:   any plugin thread; must return promptly (enqueue, do not run
 *            a process here) and must not call back into this instance.
 * Returns:   0 to accept; CONN_EREFUSED (with a reason in ERR) to refuse;
 *            the plugin sees the code (it chooses its echoError by it).
 */
typedef int (*connhost_event_fn)(void *arg, uint64_t sub_id, json_object *event,
                                 char *err, size_t errlen);

/*
 * Subscribe to EVENT with PARAMS. The subscription is registered with the
 * host first (so it survives a hot swap), then passed to the plugin.
 * Ownership: PARAMS borrowed (copied for the registry); *SUB_ID set on 0.
 * Returns:   0; the plugin's CONN_ENOTSUP / CONN_EINVAL / CONN_ESTATE with
 *            ERR filled (nothing is registered then); CONN_ENOMEM.
 */
int connhost_subscribe(connhost_instance *inst, const char *event,
                       json_object *params, connhost_event_fn fn, void *arg,
                       uint64_t *sub_id, char *err, size_t errlen);

/*
 * Remove SUB_ID. When this returns, FN is running for it in no thread and
 * will not be called again. Never call it from inside FN.
 * Returns 0 or CONN_ENOENT.
 */
int connhost_unsubscribe(connhost_instance *inst, uint64_t sub_id);

#ifdef __cplusplus
}
#endif

#endif /* CONNECTOR_CONNHOST_H */
