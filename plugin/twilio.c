/*
 * twilio.c - the Twilio SMS connector's entry point: the vtable, the
 * instance lifecycle and describe().
 *
 * The only exported symbol is conn_plugin_get(); everything else is built
 * with -fvisibility=hidden. An instance owns its configuration, a template
 * cache, a sender (event thread + curl multi handle, started by start()),
 * and with TWILIO_WEBHOOK_LISTEN the SMS_RECEIVED engine (tw_inbound, made
 * at init so subscriptions can be made before start: a hot swap subscribes
 * the new instance first) and its webhook (tw_webhook: daemon and workers,
 * started by start(), handed over by quiesce()).
 *
 * Unloadable (docs/architecture.md, "Unloadable"): shutdown() joins every
 * thread or answers CONN_EBUSY, and releases PCRE2's unused JIT memory;
 * nothing is registered in another library (no atexit, no pthread_key,
 * no json-c callback).
 *
 * Actions and events are dispatched from two tables (name, describe() JSON
 * text, handler); describe() is built from them with the configuration's
 * and the errors' tables. A new action or event is one table entry.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <json-c/json.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "connector.h"
#include "ftl/ftl.h"
#include "tw_config.h"
#include "tw_errors.h"
#include "tw_instance.h"
#include "tw_numbers.h"
#include "tw_mask.h"
#include "tw_sender.h"
#include "tw_webhook.h"

/* The version the plugin reports; tests build a second twilio.so that
 * differs only here (tests/plugins/local.mk: twilio-v2), to swap between
 * two versions. */
#ifndef TW_VERSION
#define TW_VERSION PACKAGE_VERSION
#endif

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION "0"
#endif

#define TW_TEMPLATE_CACHE 128 /* compiled smsBody templates per instance */
/* ... and at most this many bytes of them (source and compiled form) */
#define TW_TEMPLATE_CACHE_BYTES ((size_t)8 << 20)

/* describe() text of each action and event (JSON objects); config and
 * errors come from their own modules' tables. */
static const char tw_send_sms_json[] =
        "{\"description\":\"Send an SMS (or WhatsApp/MMS) to "
        "one or more recipients through Twilio. The body is a FreeMarker "
        "template rendered once against the process variables overlaid by "
        "metadata; one request per recipient; errors are data in "
        "twilioError, the action always completes.\","
        "\"inputs\":{"
        "\"smsFrom\":{\"type\":\"string\",\"required\":true,\"description\":"
        "\"Sender: a Twilio number in E.164 (+14155550100), a short code, an "
        "alphanumeric sender ID, whatsapp:+..., or a messaging service SID "
        "(MG...), sent as MessagingServiceSid.\"},"
        "\"smsTo\":{\"type\":\"json\",\"required\":true,\"description\":"
        "\"Recipients: a JSON array of numbers, or a string of numbers "
        "separated by commas, semicolons or new lines (never spaces). Each "
        "needs + and the country code; spaces, -, ., ( and ) inside are "
        "ignored; whatsapp:+... accepted; duplicates removed, order kept. At "
        "most TWILIO_MAX_RECIPIENTS.\"},"
        "\"smsBody\":{\"type\":\"string\",\"required\":true,\"description\":"
        "\"The message, a FreeMarker template (${orderNumber}); at most 1600 "
        "characters after rendering; rendering to nothing is an error.\"},"
        "\"mediaUrl\":{\"type\":\"json\",\"required\":false,\"description\":"
        "\"One http(s) URL or a list of at most 10 (MMS).\"},"
        "\"statusCallback\":{\"type\":\"string\",\"required\":false,"
        "\"description\":\"URL Twilio calls with delivery status updates.\"},"
        "\"metadata\":{\"type\":\"json\",\"required\":false,\"description\":"
        "\"A JSON object overlaid on the process variables as the template "
        "model.\"},"
        "\"dryRun\":{\"type\":\"boolean\",\"required\":false,\"description\":"
        "\"Validate and render only: outputs dryRun with recipients, body, "
        "encoding, segments and the character that forces UCS-2; nothing is "
        "sent.\"}},"
        "\"outputs\":{"
        "\"twilioResult\":{\"type\":\"json\",\"required\":true,\"description\":"
        "\"Accepted messages in smsTo order: [{index, input, to, sid, status, "
        "segments}]. status queued means accepted by Twilio, not "
        "delivered.\"},"
        "\"twilioError\":{\"type\":\"json\",\"required\":true,\"description\":"
        "\"null, or [{error, index, field, to, code, httpStatus, message, "
        "moreInfo, retryable}] for what was not sent (error names below).\"},"
        "\"dryRun\":{\"type\":\"json\",\"required\":false,\"description\":"
        "\"Only with dryRun: {recipients, from or messagingServiceSid, body, "
        "encoding, segments, characters, ucs2Character, ucs2Offset}.\"}}}";

static const char tw_check_connection_json[] =
        "{\"description\":\"Verify the credentials "
        "against Twilio's account resource (used by connector-host check "
        "--online).\",\"inputs\":{},"
        "\"outputs\":{"
        "\"ok\":{\"type\":\"boolean\",\"required\":false,\"description\":"
        "\"true when Twilio accepted the credentials.\"},"
        "\"accountSid\":{\"type\":\"string\",\"required\":false,"
        "\"description\":\"The account checked.\"},"
        "\"status\":{\"type\":\"string\",\"required\":false,\"description\":"
        "\"The account's status (active, suspended, closed).\"},"
        "\"error\":{\"type\":\"string\",\"required\":false,\"description\":"
        "\"The error name when the check failed "
        "(AUTHENTICATION_CONNECTION_ERROR, TWILIO_CONNECTION_ERROR, ...).\"},"
        "\"message\":{\"type\":\"string\",\"required\":false,\"description\":"
        "\"What to fix: wrong Account SID, wrong token, API key of another "
        "region, unreachable API.\"}}}";

static const char tw_sms_received_json[] =
        "{\"description\":\"An inbound SMS arrived on the webhook "
        "(TWILIO_WEBHOOK_* keys; Twilio POSTs to TWILIO_WEBHOOK_PUBLIC_URL, "
        "signature checked) and the subscription's pattern matched it. Needs "
        "TWILIO_WEBHOOK_LISTEN. Duplicates (Twilio's retries) are published "
        "once per subscription; the reply (echo/echoError) is the webhook's "
        "TwiML answer.\","
        "\"params\":{"
        "\"pattern\":{\"type\":\"string\",\"required\":true,\"description\":"
        "\"A regular expression (PCRE2, (?<name>...) groups) searched in the "
        "message text; empty matches every message; ^...$ for the whole "
        "text, (?i) for case.\"},"
        "\"to\":{\"type\":\"string\",\"required\":false,\"description\":"
        "\"Only messages to this number or messaging service.\"},"
        "\"echo\":{\"type\":\"string\",\"required\":false,\"description\":"
        "\"Reply template sent when the event was accepted; ${group} from "
        "the named groups, then from, to, originalMessage.\"},"
        "\"echoError\":{\"type\":\"string\",\"required\":false,"
        "\"description\":\"Reply template sent when publishing failed or was "
        "late.\"}},"
        "\"outputs\":{"
        "\"matchGroups\":{\"type\":\"json\",\"required\":true,\"description\":"
        "\"The pattern's named groups: {name: text}.\"},"
        "\"originalMessage\":{\"type\":\"string\",\"required\":true,"
        "\"description\":\"The message text.\"},"
        "\"to\":{\"type\":\"string\",\"required\":true,\"description\":"
        "\"The number that received it.\"},"
        "\"from\":{\"type\":\"string\",\"required\":true,\"description\":"
        "\"The sender's number.\"},"
        "\"messageSid\":{\"type\":\"string\",\"required\":true,"
        "\"description\":\"Twilio's id of the message.\"},"
        "\"media\":{\"type\":\"json\",\"required\":true,\"description\":"
        "\"[{url, contentType}] of attached media.\"},"
        "\"optOutType\":{\"type\":\"string\",\"required\":false,"
        "\"description\":\"STOP, HELP or START for opt-out keywords (never "
        "echoed), else null.\"},"
        "\"receivedAt\":{\"type\":\"string\",\"required\":true,"
        "\"description\":\"When the webhook received it (RFC 3339, UTC).\"}"
        "}}";

static int sub_sms_received(conn_instance *inst, uint64_t sub_id,
                            json_object *params, char *err, size_t errlen);
static int unsub_sms_received(conn_instance *inst, uint64_t sub_id);

/* One action: its describe() text and the handler invoke_action() calls
 * (host thread; 0 when accepted, complete() follows). */
typedef struct tw_action {
	const char *name;
	const char *describe_json;
	int (*run)(conn_instance *inst, const conn_call *call, char *err,
	           size_t errlen);
} tw_action;

/* One event: its describe() text, subscribe and unsubscribe. */
typedef struct tw_event {
	const char *name;
	const char *describe_json;
	int (*subscribe)(conn_instance *inst, uint64_t sub_id,
	                 json_object *params, char *err, size_t errlen);
	int (*unsubscribe)(conn_instance *inst, uint64_t sub_id);
} tw_event;

static const tw_action tw_actions[] = {
        {"send_sms", tw_send_sms_json, tw_send_sms},
        {"check_connection", tw_check_connection_json, tw_check_connection},
        {"number_webhook", TW_NUMBER_WEBHOOK_JSON, tw_number_webhook},
};

static const tw_event tw_events[] = {
        {"SMS_RECEIVED", tw_sms_received_json, sub_sms_received,
         unsub_sms_received},
};

#define TW_NACTIONS (sizeof(tw_actions) / sizeof(tw_actions[0]))
#define TW_NEVENTS  (sizeof(tw_events) / sizeof(tw_events[0]))

/* "a, b, c" of the table's names into OUT (for an unknown-name error). */
static void list_names(tw_buf *out, const char *const *names, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		tw_buf_puts(out, i ? ", " : "");
		tw_buf_puts(out, names[i]);
	}
}

/*
 * describe(): built once (pthread_once) into a heap string of exactly the
 * size it needs; no fixed buffer can truncate it.
 *
 * Its lifetime: describe()'s answer must stay valid until the plugin is
 * unloaded (rule 5: the host copies it before dlclose). Keeping it "for the
 * process" would leak one copy per load, and a host that hot-swaps loads
 * the plugin again and again (each dlopen'd image has fresh statics). So
 * the string is freed when this image is unloaded, by an ELF destructor of
 * the plugin's own image (.fini_array, run by dlclose): that is neither an
 * atexit() handler nor a pthread_key destructor, and leaves nothing
 * registered in another library (rule 6). Out of memory while building:
 * describe() answers "{}" (a static string) and the host refuses it.
 */
static char *tw_describe_str;
static pthread_once_t tw_describe_once = PTHREAD_ONCE_INIT;

static json_object *describe_table(const char *const *names,
                                   const char *const *texts, size_t n)
{
	json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; o && i < n; i++)
		json_object_object_add(o, names[i],
		                       json_tokener_parse(texts[i]));
	return o;
}

static void build_describe(void)
{
	const char *names[TW_NACTIONS + TW_NEVENTS];
	const char *texts[TW_NACTIONS + TW_NEVENTS];
	json_object *d = json_object_new_object();
	const char *s;
	size_t i;

	if (!d)
		return;
	json_object_object_add(d, "name", json_object_new_string("twilio"));
	json_object_object_add(d, "version",
	                       json_object_new_string(TW_VERSION));
	json_object_object_add(
	        d, "description",
	        json_object_new_string(
	                "Twilio SMS: send templated messages (send_sms) and "
	                "receive inbound ones (SMS_RECEIVED, through the "
	                "webhook Twilio calls)."));
	json_object_object_add(d, "config", tw_config_describe());
	for (i = 0; i < TW_NACTIONS; i++) {
		names[i] = tw_actions[i].name;
		texts[i] = tw_actions[i].describe_json;
	}
	json_object_object_add(d, "actions",
	                       describe_table(names, texts, TW_NACTIONS));
	for (i = 0; i < TW_NEVENTS; i++) {
		names[i] = tw_events[i].name;
		texts[i] = tw_events[i].describe_json;
	}
	json_object_object_add(d, "events",
	                       describe_table(names, texts, TW_NEVENTS));
	json_object_object_add(d, "errors", tw_err_describe());
	s = json_object_to_json_string_ext(d, JSON_C_TO_STRING_PLAIN);
	tw_describe_str = s ? strdup(s) : NULL;
	json_object_put(d);
}

__attribute__((destructor)) static void free_describe(void)
{
	free(tw_describe_str);
	tw_describe_str = NULL;
}

static const char *tw_describe(void)
{
	pthread_once(&tw_describe_once, build_describe);
	return tw_describe_str ? tw_describe_str : "{}";
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

/* What init() made, undone (also for an instance that never started). */
static void free_parts(conn_instance *inst)
{
	tw_webhook_free(inst->webhook);
	tw_inbound_free(inst->inbound);
	ftl_cache_free(inst->cache);
	tw_config_free(&inst->cfg);
	free(inst);
}

static int tw_init(const conn_host *host, json_object *config,
                   conn_instance **out, char *err, size_t errlen)
{
	conn_instance *inst;
	ftl_error fe;

	*out = NULL;
	if (!host || host->struct_size < CONN_HOST_SIZE_1_0 ||
	    host->abi_major != CONN_ABI_MAJOR || !host->log ||
	    !host->complete || !host->publish || !host->claim ||
	    !host->settle) {
		set_err(err, errlen,
		        "the host's service table is too old or "
		        "incomplete for ABI 1.0");
		return CONN_EABI;
	}
	/* 1.1 services (claim_owned, log_enabled) are used when present */
	CONN_CHECK_JSON_C(host, err, errlen);
	inst = calloc(1, sizeof(*inst));
	if (!inst) {
		set_err(err, errlen, "out of memory");
		return CONN_ENOMEM;
	}
	inst->host = host;
	if (tw_config_parse(config, &inst->cfg, err, errlen)) {
		free(inst);
		return CONN_EINVAL;
	}
	inst->fs.locale = inst->cfg.locale;
	inst->fs.number_format = inst->cfg.number_format;
	inst->fs.time_zone = inst->cfg.time_zone;
	inst->fs.date_format = inst->cfg.date_format;
	inst->fs.time_format = inst->cfg.time_format;
	inst->fs.datetime_format = inst->cfg.datetime_format;
	inst->fs.boolean_format = inst->cfg.boolean_format;
	inst->fs.output_format = inst->cfg.output_format;
	inst->fs.url_escaping_charset = inst->cfg.url_escaping_charset;
	inst->fs.max_output = 0;
	memset(&fe, 0, sizeof(fe));
	if (ftl_settings_check(&inst->fs, &fe) != 0) {
		if (err && errlen)
			snprintf(err, errlen,
			         "TEMPLATE_LOCALE/TEMPLATE_NUMBER_FORMAT: %s",
			         fe.message);
		free_parts(inst);
		return CONN_EINVAL;
	}
	inst->cache = ftl_cache_new(TW_TEMPLATE_CACHE, TW_TEMPLATE_CACHE_BYTES);
	if (inst->cache && inst->cfg.webhook_listen) {
		inst->inbound = tw_inbound_new(host, &inst->cfg, &inst->fs, err,
		                               errlen);
		inst->webhook = inst->inbound ? tw_webhook_new(host, &inst->cfg,
		                                               inst->inbound,
		                                               err, errlen)
		                              : NULL;
		if (!inst->webhook) {
			free_parts(inst);
			return CONN_ENOMEM;
		}
	}
	inst->sender = inst->cache
	                       ? tw_sender_new(host, &inst->cfg, err, errlen)
	                       : NULL;
	if (!inst->sender) {
		free_parts(inst);
		set_err(err, errlen, "out of memory");
		return CONN_ENOMEM;
	}
	atomic_init(&inst->state, TW_STATE_INIT);
	atomic_init(&inst->inside, 0);
	atomic_init(&inst->closing, 0);
	*out = inst;
	return 0;
}

static int tw_start(conn_instance *inst, conn_handoff *handoff, char *err,
                    size_t errlen)
{
	int rc;

	if (atomic_load(&inst->state) != TW_STATE_INIT) {
		set_err(err, errlen, "already started");
		return CONN_ESTATE;
	}
	/* the webhook first: it may fail on the address or the TLS files,
	 * and then gives the hand-off's socket back untouched */
	if (inst->webhook &&
	    (rc = tw_webhook_start(inst->webhook, handoff, err, errlen)) != 0)
		return rc;
	rc = tw_sender_start(inst->sender, err, errlen);
	if (rc) {
		if (inst->webhook) {
			/* undo: the socket back into the hand-off (a failed
			 * swap resumes the old instance with it); without
			 * one, stop closes it */
			if (handoff)
				(void)tw_webhook_quiesce(inst->webhook,
				                         handoff);
			tw_webhook_stop(
			        inst->webhook,
			        conn_deadline_add(conn_now_ms(), 10000));
		}
		return rc;
	}
	atomic_store(&inst->state, TW_STATE_STARTED);
	return 0;
}

static int tw_quiesce(conn_instance *inst, conn_handoff *out)
{
	int expect = TW_STATE_STARTED;

	if (atomic_load(&inst->state) != TW_STATE_STARTED)
		return CONN_ESTATE;
	/* the socket first: if the hand-off has no room, nothing changes */
	if (inst->webhook) {
		int rc = tw_webhook_quiesce(inst->webhook, out);

		if (rc != 0)
			return rc;
	}
	if (!atomic_compare_exchange_strong(&inst->state, &expect,
	                                    TW_STATE_QUIESCED))
		return CONN_ESTATE;
	return 0;
}

static int tw_resume(conn_instance *inst, conn_handoff *handoff, char *err,
                     size_t errlen)
{
	int expect = TW_STATE_QUIESCED;

	if (atomic_load(&inst->state) != TW_STATE_QUIESCED) {
		set_err(err, errlen, "not quiesced");
		return CONN_ESTATE;
	}
	if (inst->webhook) {
		int rc = tw_webhook_resume(inst->webhook, handoff, err, errlen);

		if (rc != 0)
			return rc;
	}
	if (!atomic_compare_exchange_strong(&inst->state, &expect,
	                                    TW_STATE_STARTED)) {
		set_err(err, errlen, "not quiesced");
		return CONN_ESTATE;
	}
	return 0;
}

/* A host thread enters the instance (invoke_action, cancel, stats,
 * subscribe, unsubscribe): 0, or -1 when shutdown has begun (the caller
 * must not touch INST again). */
static int enter(conn_instance *inst)
{
	atomic_fetch_add(&inst->inside, 1);
	if (atomic_load(&inst->closing)) {
		atomic_fetch_sub(&inst->inside, 1);
		return -1;
	}
	return 0;
}

/* The last access to INST of a thread that entered. */
static void leave(conn_instance *inst)
{
	atomic_fetch_sub(&inst->inside, 1);
}

/* Wait until no host thread is inside INST, polling (shutdown is rare; a
 * host thread inside invoke_action never waits on the network, so this
 * is short): 50 us, doubling up to 1 ms. 0, or -1 at DEADLINE_MS with a
 * thread still inside. */
static int wait_outside(conn_instance *inst, int64_t deadline_ms)
{
	long ns = 50000;

	while (atomic_load(&inst->inside) > 0) {
		struct timespec ts = {0, ns};

		if (conn_now_ms() >= deadline_ms)
			return -1;
		nanosleep(&ts, NULL);
		if (ns < 1000000L)
			ns *= 2;
	}
	return 0;
}

static int tw_shutdown(conn_instance *inst, int64_t deadline_ms)
{
	if (!inst)
		return 0;
	/* a host thread may still be inside invoke_action (between reserving
	 * a place in the queue and submitting the call, for one): freeing
	 * the sender or INST under it would crash the host. New entries are
	 * refused from here on; the ones inside are waited for. */
	atomic_store(&inst->closing, 1);
	if (wait_outside(inst, deadline_ms) != 0) {
		tw_log(inst->host, CONN_LOG_WARN, NULL,
		       "shutdown: a host thread is still inside invoke_action "
		       "at the deadline; call shutdown again");
		return CONN_EBUSY;
	}
	/* the webhook's workers publish through the host: joined before
	 * anything they use is freed */
	if (inst->webhook && tw_webhook_stop(inst->webhook, deadline_ms) != 0)
		return CONN_EBUSY;
	if (inst->sender) {
		if (tw_sender_stop(inst->sender, deadline_ms) != 0)
			return CONN_EBUSY;
		inst->sender = NULL;
	}
	free_parts(inst);
	/* every matcher (JIT stack) and compiled pattern of this instance is
	 * freed: give PCRE2's unused JIT executable chunks back to the system
	 * (they would otherwise stay mapped after the plugin is unloaded;
	 * chunks another instance uses are kept by PCRE2) */
	pcre2_jit_free_unused_memory(NULL);
	return 0;
}

static const tw_action *find_action(const char *name)
{
	size_t i;

	for (i = 0; name && i < TW_NACTIONS; i++)
		if (strcmp(tw_actions[i].name, name) == 0)
			return &tw_actions[i];
	return NULL;
}

static const tw_event *find_event(const char *name)
{
	size_t i;

	for (i = 0; name && i < TW_NEVENTS; i++)
		if (strcmp(tw_events[i].name, name) == 0)
			return &tw_events[i];
	return NULL;
}

/* "unknown KIND 'NAME' (KINDs: a, b)" into ERR. */
static void unknown_name(char *err, size_t errlen, const char *kind,
                         const char *name, int actions)
{
	const char *names[TW_NACTIONS + TW_NEVENTS];
	tw_buf b = {0};
	size_t i, n = actions ? TW_NACTIONS : TW_NEVENTS;

	for (i = 0; i < n; i++)
		names[i] = actions ? tw_actions[i].name : tw_events[i].name;
	list_names(&b, names, n);
	if (err && errlen)
		snprintf(err, errlen, "unknown %s '%.64s' (%ss: %s)", kind,
		         name ? name : "", kind, b.data ? b.data : "");
	tw_buf_free(&b);
}

static int invoke(conn_instance *inst, const conn_call *call, char *err,
                  size_t errlen)
{
	const tw_action *a;

	if (!call || !call->action) {
		set_err(err, errlen, "malformed call");
		return CONN_EINVAL;
	}
	a = find_action(call->action);
	if (!a) {
		unknown_name(err, errlen, "action", call->action, 1);
		return CONN_ENOTSUP;
	}
	if (atomic_load(&inst->state) != TW_STATE_STARTED) {
		set_err(err, errlen,
		        "the instance is not started or is "
		        "quiesced");
		return CONN_ESTATE;
	}
	return a->run(inst, call, err, errlen);
}

static int tw_invoke(conn_instance *inst, const conn_call *call, char *err,
                     size_t errlen)
{
	int rc;

	if (enter(inst) != 0) {
		set_err(err, errlen,
		        "the instance is shutting down; call invoke_action "
		        "on another instance");
		return CONN_ESTATE;
	}
	rc = invoke(inst, call, err, errlen);
	leave(inst);
	return rc;
}

static int tw_cancel(conn_instance *inst, uint64_t call_id)
{
	int rc;

	/* shutdown completes every call itself (cancelled) */
	if (enter(inst) != 0)
		return CONN_ESTATE;
	rc = tw_sender_cancel(inst->sender, call_id);
	leave(inst);
	return rc;
}

static int sub_sms_received(conn_instance *inst, uint64_t sub_id,
                            json_object *params, char *err, size_t errlen)
{
	if (!inst->inbound) {
		set_err(err, errlen,
		        "SMS_RECEIVED: this instance has no webhook; set "
		        "TWILIO_WEBHOOK_LISTEN (e.g. 0.0.0.0:8080) and "
		        "TWILIO_WEBHOOK_PUBLIC_URL (the URL Twilio calls) in "
		        "its configuration");
		return CONN_ESTATE;
	}
	return tw_inbound_subscribe(inst->inbound, sub_id, params, err, errlen);
}

static int unsub_sms_received(conn_instance *inst, uint64_t sub_id)
{
	return inst->inbound ? tw_inbound_unsubscribe(inst->inbound, sub_id)
	                     : CONN_ENOENT;
}

static int tw_subscribe(conn_instance *inst, uint64_t sub_id, const char *event,
                        json_object *params, char *err, size_t errlen)
{
	const tw_event *e = find_event(event);
	int rc;

	if (!e) {
		unknown_name(err, errlen, "event", event, 0);
		return CONN_ENOTSUP;
	}
	if (enter(inst) != 0) {
		set_err(err, errlen, "the instance is shutting down");
		return CONN_ESTATE;
	}
	rc = e->subscribe(inst, sub_id, params, err, errlen);
	leave(inst);
	return rc;
}

static int tw_unsubscribe(conn_instance *inst, uint64_t sub_id)
{
	int rc = CONN_ENOENT;
	size_t i;

	if (enter(inst) != 0)
		return CONN_ESTATE;
	/* sub ids are host-unique: the event that knows it answers */
	for (i = 0; i < TW_NEVENTS && rc == CONN_ENOENT; i++)
		rc = tw_events[i].unsubscribe(inst, sub_id);
	leave(inst);
	return rc;
}

static json_object *tw_stats(conn_instance *inst)
{
	json_object *o;

	if (enter(inst) != 0)
		return NULL; /* shutting down: no counters any more */
	o = tw_sender_stats(inst->sender);
	if (o && inst->webhook) {
		json_object_object_add(o, "webhook",
		                       tw_webhook_stats(inst->webhook));
		json_object_object_add(o, "inbound",
		                       tw_inbound_stats(inst->inbound));
	}
	leave(inst);
	return o;
}

/* Rule 7 of the ABI, for a host that cannot pin: this image made resident
 * (RTLD_NODELETE on itself), which keeps every library it uses mapped. */
static int tw_pin(char *err, size_t errlen)
{
	Dl_info di;
	void *h;

	if (!dladdr((void *)tw_describe, &di) || !di.dli_fname) {
		set_err(err, errlen, "pin: cannot find the plugin's own file");
		return CONN_EIO;
	}
	h = dlopen(di.dli_fname, RTLD_NOW | RTLD_NOLOAD | RTLD_NODELETE);
	if (!h) {
		const char *e = dlerror();

		if (err && errlen)
			snprintf(err, errlen, "pin: %s",
			         e ? e : "dlopen failed");
		return CONN_EIO;
	}
	/* the reference is kept: with RTLD_NODELETE it is for good anyway */
	return 0;
}

#define TW_PLUGIN_SLOTS                                                        \
	.abi_major = CONN_ABI_MAJOR, .name = "twilio", .version = TW_VERSION,  \
	.describe = tw_describe, .init = tw_init, .start = tw_start,           \
	.quiesce = tw_quiesce, .resume = tw_resume, .shutdown = tw_shutdown,   \
	.invoke_action = tw_invoke, .cancel = tw_cancel,                       \
	.subscribe_event = tw_subscribe, .unsubscribe = tw_unsubscribe,        \
	.stats = tw_stats

/* What a 1.1 host gets; a 1.0 host gets the 1.0 part, saying 1.0 (the
 * plugin needs nothing of 1.1: it uses 1.1's host services when the
 * host table has them). */
static const conn_plugin tw_plugin = {
        .struct_size = CONN_PLUGIN_SIZE_1_1,
        .abi_minor = 1,
        TW_PLUGIN_SLOTS,
        .pin = tw_pin,
};
static const conn_plugin tw_plugin_1_0 = {
        .struct_size = CONN_PLUGIN_SIZE_1_0,
        .abi_minor = 0,
        TW_PLUGIN_SLOTS,
};

/* The one exported symbol: the vtable for a host of the same ABI major,
 * in the minor the host speaks; NULL for another major (the host reports
 * the refusal). */
__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_get(uint16_t host_abi_major, uint16_t host_abi_minor);

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	if (host_abi_major != CONN_ABI_MAJOR)
		return NULL;
	return host_abi_minor >= 1 ? &tw_plugin : &tw_plugin_1_0;
}
