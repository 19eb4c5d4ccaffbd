/*
 * connhost_text.h - libconnhost's JSON-text facade, for hosts written in
 * other languages (Java, JavaScript, Python, ...) that reach C through a
 * dynamic FFI (JNA/Panama, node-ffi, ctypes).
 *
 * Installed as <connector/connhost_text.h>. It includes no json-c header
 * and no header of the ABI: everything crosses as NUL-terminated UTF-8
 * JSON text, 64-bit integers and opaque handles. It is a layer over
 * connhost.h: the loader's checks, the private copy and dependency pinning,
 * configuration parsing and validation, the idempotency store and the call
 * deadlines are libconnhost's, unchanged.
 *
 * Pull mode (why it exists): no foreign code ever runs on a plugin thread,
 * and no callback of the host's decides anything. Results of calls and
 * published events are queued inside libconnhost and the host takes them,
 * one JSON item at a time, from a thread of its own with
 * connhost_text_take() (bounded by a timeout) or after polling the
 * descriptor of connhost_text_fd(). The item texts are
 *   {"kind":"result","call_id":N,"outputs":{...}}
 *   {"kind":"event","sub_id":N,"event":{...}}
 * Ids are below 2^53 (they count from 1), so a JavaScript number holds
 * them exactly.
 *
 * Bounds: at most "max_calls" calls are in flight per instance (accepted
 * and whose result was not yet taken); a further invoke is refused with
 * CONN_EFULL (-12), so a result always has its place in the queue and is
 * never dropped. At most "max_events" events wait in the queue; a publish
 * beyond that is refused at once (the plugin sees CONN_EREFUSED and answers
 * its webhook with an error, so the sender retries): a plugin thread never
 * waits for the host.
 *
 * Strings: every char* this facade returns (through a char ** argument) is
 * a new string allocated by libconnhost; free it with connhost_text_free()
 * and nothing else. Strings passed in are borrowed for the call only.
 * Input texts are at most CONNHOST_TEXT_MAX_BYTES bytes each.
 *
 * Errors: 0 on success, or a negative status code (the CONN_E* values of
 * connector.h, listed below; connhost_text_strerror() names them). ERR, a
 * caller-owned buffer of ERRLEN bytes (NULL/0 allowed), then holds a
 * sentence naming the argument or field and the reason (on success its
 * content is unspecified). Never a secure configuration value.
 *
 * Threads: every function is thread-safe, except that nothing may be called
 * on an instance once connhost_text_shutdown() returned 0 for it (the
 * handle is freed). connhost_text_take() may block in any number of host
 * threads; connhost_text_shutdown() wakes them (CONN_ESTATE) before it
 * shuts the plugin down. No function of this header calls into the host.
 *
 * Time: relative timeouts in milliseconds; where an absolute deadline is
 * offered too, it is on connhost_text_now_ms()'s clock (CLOCK_MONOTONIC).
 */
#ifndef CONNECTOR_CONNHOST_TEXT_H
#define CONNECTOR_CONNHOST_TEXT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The status codes, as connector.h defines them (checked at build time). */
#define CONNHOST_TEXT_OK        0
#define CONNHOST_TEXT_EINVAL    (-1)  /* bad argument, JSON or config */
#define CONNHOST_TEXT_ENOMEM    (-2)  /* out of memory */
#define CONNHOST_TEXT_ENOTSUP   (-3)  /* unknown action or event */
#define CONNHOST_TEXT_EBUSY     (-4)  /* shutdown: a plugin thread lives */
#define CONNHOST_TEXT_ESTATE    (-5)  /* not now (not started, shut down) */
#define CONNHOST_TEXT_EREFUSED  (-6)  /* refused */
#define CONNHOST_TEXT_ETIMEDOUT (-7)  /* the timeout passed (take: empty) */
#define CONNHOST_TEXT_EEXIST    (-8)  /* id already in use */
#define CONNHOST_TEXT_ENOENT    (-9)  /* no such file, call or subscription */
#define CONNHOST_TEXT_EIO       (-10) /* a system call failed */
#define CONNHOST_TEXT_EABI      (-11) /* the plugin speaks another ABI */
#define CONNHOST_TEXT_EFULL     (-12) /* max_calls calls in flight */

/* The largest text argument accepted (16 MiB); longer is CONN_EINVAL. */
#define CONNHOST_TEXT_MAX_BYTES (16 * 1024 * 1024)

/* One loaded plugin: the same handle as connhost.h's. */
typedef struct connhost_plugin connhost_plugin;
/* One instance driven in pull mode. */
typedef struct connhost_text_instance connhost_text_instance;

/* ---------------------------------------------------------------------- */
/* Helpers a foreign host cannot get from connector.h's inline functions   */
/* ---------------------------------------------------------------------- */

/* CLOCK_MONOTONIC in milliseconds: the ABI's clock. */
int64_t connhost_text_now_ms(void);

/* Text for a status code ("invalid argument or configuration"); static,
 * never NULL, never to be freed. */
const char *connhost_text_strerror(int code);

/* Free a string this facade returned. NULL is allowed. */
void connhost_text_free(char *s);

/* ---------------------------------------------------------------------- */
/* Plugins                                                                 */
/* ---------------------------------------------------------------------- */

/*
 * Load the plugin at PATH (a .so, or the libtool .la naming one) with every
 * check of connhost_plugin_load(). OPTIONS_JSON is NULL or a JSON object:
 *   "copy_dir"     string: where the private copy goes (it must allow
 *                  executing code; default $CONNHOST_COPY_DIR, else
 *                  $XDG_RUNTIME_DIR, else /var/tmp)
 *   "keep_copies"  boolean: keep the copy and never unmap (debuggers)
 * An unknown key is an error naming it.
 * Ownership: *OUT is the caller's; release it with connhost_text_unload()
 *            (instances hold references of their own).
 * Returns:   0; CONN_EINVAL (options, or not a plugin), CONN_ENOENT,
 *            CONN_EABI, CONN_EIO, CONN_ENOMEM with ERR naming the reason.
 */
int connhost_text_load(const char *path, const char *options_json,
                       connhost_plugin **out, char *err, size_t errlen);

/* Drop the caller's reference; the last one unloads the plugin (an
 * instance holds a reference of its own, so this may come before the
 * instances' shutdown). NULL is allowed. */
void connhost_text_unload(connhost_plugin *p);

/*
 * The plugin's definition as JSON text: {"name","version","description",
 * "config","actions","events","errors"} (describe(), see docs/abi.md).
 * Returns 0 and *OUT (free with connhost_text_free()), or CONN_ENOMEM.
 */
int connhost_text_describe(connhost_plugin *p, char **out);

/*
 * Check configuration CONFIG_TEXT for plugin P: a JSON object of strings,
 * or KEY=VALUE lines, with ${env:NAME} and ${file:PATH} references, as
 * connhost_config_parse() reads them; validated against describe() with
 * the defaults filled in (unknown keys are warned about on stderr).
 * Ownership: *EFFECTIVE (may be NULL: not wanted) receives the effective
 *            configuration as a JSON object, secure and unknown keys shown
 *            as "********".
 * Returns:   0; CONN_EINVAL with ERR naming the line or key and the
 *            reason; CONN_ENOMEM.
 */
int connhost_text_check(connhost_plugin *p, const char *config_text,
                        char **effective, char *err, size_t errlen);

/* ---------------------------------------------------------------------- */
/* Instances                                                               */
/* ---------------------------------------------------------------------- */

/*
 * Create an instance of P from configuration text (as connhost_text_check()
 * reads it). OPTIONS_JSON is NULL or a JSON object:
 *   "max_calls"     integer 1..1000000, default 1024: calls in flight
 *   "max_events"    integer 1..1000000, default 1024: events queued
 *   "store_bytes"   integer: the private idempotency store (0: 128 MiB)
 *   "log_level"     "error", "warn" (default), "info" or "debug"
 *   "log_fd"        integer: where log lines go, one JSON object and a
 *                   newline per write(2) (default 2, stderr; libconnhost
 *                   does not close it; it must stay open until shutdown)
 *   "refuse_publish" string: refuse every publish with this reason (tests)
 * An unknown key is an error naming it.
 * Ownership: *OUT is the caller's until connhost_text_shutdown() returns 0.
 * Returns:   0; CONN_EINVAL (ERR names the key or option); CONN_EABI,
 *            CONN_ENOMEM from the plugin's init(); CONN_EIO (eventfd).
 */
int connhost_text_new(connhost_plugin *p, const char *config_text,
                      const char *options_json, connhost_text_instance **out,
                      char *err, size_t errlen);

/* Start the instance (its threads and listeners; they inherit the calling
 * thread's signal mask). Returns 0, or the plugin's error with ERR filled:
 * the instance then still needs connhost_text_shutdown(). */
int connhost_text_start(connhost_text_instance *ti, char *err, size_t errlen);

/*
 * Invoke ACTION with INPUTS_JSON (a JSON object) and VARIABLES_JSON (a JSON
 * object, or NULL). IDEMPOTENCY_KEY: the host's stable id of the task, the
 * same across its retries (NULL or "" for none). TIMEOUT_MS: the call's
 * deadline, relative (1 .. 24 h; 0: 30 s). Its result is queued, exactly
 * once, and taken with connhost_text_take().
 * Returns:   0 and *CALL_ID (may be NULL) when the plugin accepted the
 *            call; otherwise no result will come: CONN_EINVAL (ERR names
 *            "inputs", "variables", "timeout_ms"...), CONN_ENOTSUP (unknown
 *            action), CONN_ESTATE (not started, shutting down), CONN_EFULL
 *            (max_calls results not yet taken), CONN_ENOMEM.
 */
int connhost_text_invoke(connhost_text_instance *ti, const char *action,
                         const char *inputs_json, const char *variables_json,
                         const char *idempotency_key, int64_t timeout_ms,
                         uint64_t *call_id, char *err, size_t errlen);

/* Ask the plugin to cancel CALL_ID (its result still follows).
 * Returns 0, CONN_ENOENT (no such call in flight), CONN_ENOTSUP. */
int connhost_text_cancel(connhost_text_instance *ti, uint64_t call_id);

/*
 * Subscribe to EVENT with PARAMS_JSON (a JSON object, or NULL). Its events
 * are queued, and may be queued before this returns.
 * Returns: 0 and *SUB_ID; CONN_EINVAL ("params: ..."), CONN_ENOTSUP
 *          (unknown event), CONN_ESTATE, CONN_ENOMEM with ERR filled.
 */
int connhost_text_subscribe(connhost_text_instance *ti, const char *event,
                            const char *params_json, uint64_t *sub_id,
                            char *err, size_t errlen);

/* Remove SUB_ID: no event of it is queued after this returned. Events it
 * queued before stay queued (they were accepted: the sender was told so).
 * Returns 0 or CONN_ENOENT. */
int connhost_text_unsubscribe(connhost_text_instance *ti, uint64_t sub_id);

/*
 * Take the oldest queued item, waiting at most TIMEOUT_MS (0: do not wait;
 * negative: CONN_EINVAL). take_until waits until DEADLINE_MS on
 * connhost_text_now_ms()'s clock instead.
 * Ownership: *ITEM (JSON text, see the top of this file) is the caller's.
 * Returns:   0 and *ITEM; CONN_ETIMEDOUT (nothing queued in time);
 *            CONN_ESTATE (the instance is shutting down: return at once
 *            and let connhost_text_shutdown() finish); CONN_ENOMEM (the
 *            item stays queued).
 */
int connhost_text_take(connhost_text_instance *ti, int64_t timeout_ms,
                       char **item);
int connhost_text_take_until(connhost_text_instance *ti, int64_t deadline_ms,
                             char **item);

/*
 * A descriptor (eventfd, O_CLOEXEC, non-blocking) that polls readable
 * exactly while items are queued, for a foreign event loop: on readable,
 * call connhost_text_take(ti, 0, ...) until CONN_ETIMEDOUT. Owned by the
 * instance: never read, write or close it.
 */
int connhost_text_fd(connhost_text_instance *ti);

/*
 * Counters as JSON text (*OUT, free with connhost_text_free()): those of
 * connhost_instance_stats() plus "text":{"calls_in_flight","max_calls",
 * "queued_results","queued_events","max_events","events_refused"}.
 * Returns 0 or CONN_ENOMEM.
 */
int connhost_text_stats(connhost_text_instance *ti, char **out);

/* The effective configuration, secure and unknown keys as "********".
 * Returns 0 and *OUT, or CONN_ENOMEM. */
int connhost_text_config(connhost_text_instance *ti, char **out);

/*
 * Shut the instance down: first every blocked take() returns CONN_ESTATE
 * and new invokes, subscribes and publishes are refused; then the plugin
 * finishes or fails its calls within TIMEOUT_MS (0: 5 s) and stops its
 * threads; then the queued items (taken or not) are freed.
 * Host thread only; never while a take() of this instance is running on the
 * same thread (it cannot be).
 * Returns: 0 and TI is freed; or CONN_EBUSY: a plugin thread is still
 *          alive, TI stays valid (take() keeps answering CONN_ESTATE); call
 *          shutdown again later, or connhost_text_abandon().
 */
int connhost_text_shutdown(connhost_text_instance *ti, int64_t timeout_ms);

/* After CONN_EBUSY: give up on TI; its memory and the plugin's code stay
 * for the life of the process (a live plugin thread may use them). */
void connhost_text_abandon(connhost_text_instance *ti);

#ifdef __cplusplus
}
#endif

#endif /* CONNECTOR_CONNHOST_TEXT_H */
