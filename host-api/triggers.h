/*
 * triggers.h - `connector-host serve`: the triggers file (what event starts
 * which action, with which inputs) and the runtime that runs them.
 *
 * The triggers file (docs/connector-host.md, "The triggers file") is a
 * JSON object {"triggers": [TRIGGER, ...]}, each TRIGGER
 *   {"name": "order-number",            1..64 of [A-Za-z0-9._-], unique
 *    "event": "SMS_RECEIVED",           the plugin's event
 *    "params": {...},                   passed to subscribe as they are
 *    "action": "send_sms",              the plugin's action
 *    "inputs": {...},                   mapped from the event, see below
 *    "deadlineMs": 30000}               optional, 1..86400000
 * Input mapping: every string in "inputs" (at any depth, arrays and
 * objects included) that is exactly one reference "${a.b.c}" is replaced
 * by the event's value at that path (any JSON type, copied); every other
 * value is passed as it is. The event is also the call's variables, so an
 * action that renders templates (send_sms's smsBody) sees
 * ${matchGroups.orderNumber} and ${from} itself.
 *
 * Ownership: serve_triggers owns everything it holds; serve_map_inputs()
 * returns a new object. Threads: a parsed serve_triggers is read-only and
 * may be read by any number of threads at once (serve_map_inputs() only
 * reads it: it never calls a json-c function that writes a cache).
 * Failure: the parser refuses with ERR naming triggers[I], the field and
 * how to fix it; nothing is kept.
 */
#ifndef CONNHOST_TRIGGERS_H
#define CONNHOST_TRIGGERS_H

#include "connhost.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* Limits for the outside input. */
#define SERVE_TRIGGERS_MAX_BYTES (1024 * 1024)
#define SERVE_TRIGGERS_MAX       256
#define SERVE_TRIGGERS_DEPTH     32
#define SERVE_NAME_MAX           64
#define SERVE_DEFAULT_DEADLINE   30000

typedef struct serve_trigger {
	char *name, *event, *action;
	json_object *params; /* a JSON object (never NULL) */
	json_object *inputs; /* a JSON object (never NULL) */
	int64_t deadline_ms; /* relative */
} serve_trigger;

typedef struct serve_triggers {
	serve_trigger *v;
	size_t n;
} serve_triggers;

/*
 * Parse TEXT (LEN bytes, at most SERVE_TRIGGERS_MAX_BYTES). ORIGIN names
 * the text in messages (a file name, or NULL).
 * Returns 0 and *OUT (free with serve_triggers_free()); CONN_EINVAL with
 * ERR naming the trigger index, the field and the reason; CONN_ENOMEM.
 */
int serve_triggers_parse(const char *text, size_t len, const char *origin,
                         serve_triggers *out, char *err, size_t errlen);

/* serve_triggers_parse() on the file PATH; CONN_EIO when unreadable. */
int serve_triggers_load(const char *path, serve_triggers *out, char *err,
                        size_t errlen);

void serve_triggers_free(serve_triggers *t);

/*
 * The inputs of trigger T for EVENT (a JSON object): see the mapping rule
 * above. EVENT is only read. Returns 0 and *OUT (a new object, caller
 * owns); CONN_EINVAL with ERR naming the input and the missing path
 * ("inputs.smsTo[0]: ${caller} is not in the event"); CONN_ENOMEM.
 */
int serve_map_inputs(const serve_trigger *t, json_object *event,
                     json_object **out, char *err, size_t errlen);

/* What `serve` was asked for on its command line. */
typedef struct serve_opts {
	const char *port_file; /* NULL: none */
	long workers;          /* 1..256 */
	long queue;            /* 1..1000000 */
	int log_numbers;       /* 1: phone numbers unmasked in serve's log */
	/* Hot swap (docs/deployment.md): the plugin file serve runs, swapped
	 * to when it is replaced (PLUGIN_PATH watched unless NO_WATCH) or at
	 * SIGHUP, which also re-reads CONFIG_PATH; NULL: no swapping. */
	const char *plugin_path;
	const char *config_path;
	int no_watch;
} serve_opts;

/*
 * Run the triggers T on the started instance INST until SIGINT or SIGTERM
 * arrives on SFD (a signalfd for SIGINT, SIGTERM, SIGHUP and SIGUSR1;
 * SIGHUP swaps to O->plugin_path with O->config_path re-read, SIGUSR1
 * logs the instance's stats): subscribe every trigger,
 * write the port file, then queue each accepted event (a full queue
 * refuses it) and run its action on one of O->workers threads. At the
 * signal: unsubscribe everything (no new event is accepted), run what
 * was queued to completion (each action bounded by its deadline), join
 * the workers.
 * Threads: the host thread that started INST; LOG must be thread-safe.
 * Returns 0, or an exit code of connector-host with the reason logged
 * (5: a subscription was refused; 7: another failure).
 */
int serve_run(connhost_instance *inst, const serve_triggers *t,
              const serve_opts *o, const connhost_log *log, int sfd);

#endif /* CONNHOST_TRIGGERS_H */
