/*
 * test_send_sms.c - the send_sms path on the host thread and the instance
 * lifecycle (plugin/send_sms.c, plugin/twilio.c), through the vtable, with
 * the shared fake host (tests/fake_host.h) that records every claim,
 * settle, completion and log line, and a claim hook of this file that
 * holds a host thread inside invoke_action. The plugin is linked in (not
 * loaded), so ASan sees every access. No network: the base URL is a closed
 * local port, and most calls finish on the host thread (validation, dry run,
 * claims answered DONE).
 *
 * What it proves: a dry run with an invalid recipient completes (it
 * crashed the host); claims are namespaced and their TTL covers a far
 * deadline; every missing or invalid input is reported at once, with the
 * fix; shutdown never frees an instance a host thread is inside (a
 * deterministic case and a 1,000-iteration race, clean under ASan).
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connector.h"
#include "fake_host.h"
#include "tap.h"
#include "tw_instance.h"

#define ACC   "AC0123456789abcdef0123456789abcdef"
#define TOKEN "TOPSECRET-token-4242"

const conn_plugin *conn_plugin_get(uint16_t major, uint16_t minor);

/* ------------------------------------------------------- the fake host */

/* The host is tests/fake_host.c; the lifecycle tests replace its claim with
 * a hook that holds the calling thread inside invoke_action. */
enum claim_hold {
	HOLD_BLOCK, /* NEW, after waiting for release (lifecycle test) */
	HOLD_SPIN   /* NEW or DONE, after a short spin (race test) */
};

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static enum claim_hold hold;
static int blocked, released; /* HOLD_BLOCK */
static int in_claim;          /* HOLD_SPIN: threads that reached claim (mu) */
/* the busy loop's sink, one per thread: a shared one is a data race
 * (volatile is not atomic) that TSan reports */
static _Thread_local volatile unsigned spin_sink;
static atomic_int spin_done; /* HOLD_SPIN answers DONE */
static atomic_uint spin_seed = 1;
static atomic_long held_new; /* claims the hook answered NEW */

static int hold_claim(const char *key, uint32_t ttl, json_object **prior)
{
	unsigned spins, i;

	(void)key;
	(void)ttl;
	if (hold == HOLD_BLOCK) {
		pthread_mutex_lock(&mu);
		blocked = 1;
		pthread_cond_broadcast(&cv);
		while (!released)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		atomic_fetch_add(&held_new, 1);
		return CONN_CLAIM_NEW;
	}
	/* inside invoke_action, between reserve and submit: let shutdown run
	 * now, for a varying while (a busy loop: a yield could cost a time
	 * slice on a loaded machine) */
	pthread_mutex_lock(&mu);
	in_claim++;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	spins = (atomic_fetch_add(&spin_seed, 2654435761u) >> 7) % 4096;
	for (i = 0; i < spins; i++)
		spin_sink++;
	if (spin_done) {
		*prior = json_tokener_parse("{\"sid\":\"SM1\"}");
		return CONN_CLAIM_DONE; /* not owned: nothing to settle */
	}
	atomic_fetch_add(&held_new, 1);
	return CONN_CLAIM_NEW;
}

static const fake_host_hooks hold_hooks = {.claim = hold_claim};

#define wait_done fake_host_wait_done

/* ------------------------------------------------------------- helpers */

static const conn_plugin *P;
static atomic_ulong next_id = 1;
static int port;

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0), p = 1;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &len) == 0)
		p = ntohs(a.sin_port);
	if (fd >= 0)
		close(fd);
	return p;
}

static conn_instance *make(void)
{
	char json[1024], err[512] = "";
	json_object *cfg;
	conn_instance *inst = NULL;

	snprintf(json, sizeof(json),
	         "{\"TWILIO_ACCOUNT\":\"%s\",\"TWILIO_TOKEN\":\"%s\","
	         "\"TWILIO_BASE_URL\":\"http://127.0.0.1:%d\","
	         "\"TWILIO_MAX_RETRIES\":\"0\"}",
	         ACC, TOKEN, port);
	cfg = json_tokener_parse(json);
	if (P->init(&fake_host, cfg, &inst, err, sizeof(err)) != 0 ||
	    P->start(inst, NULL, err, sizeof(err)) != 0) {
		diag("init/start: %s", err);
		inst = NULL;
	}
	json_object_put(cfg);
	return inst;
}

/* Invoke send_sms; the call id in *IDP; the return code. */
static int call(conn_instance *inst, const char *inputs, const char *key,
                int64_t deadline, uint64_t *idp, char *err, size_t errlen)
{
	conn_call c = {.struct_size = sizeof(conn_call)};
	json_object *in = json_tokener_parse(inputs);
	int rc;

	c.call_id = atomic_fetch_add(&next_id, 1);
	c.action = "send_sms";
	c.inputs = in;
	c.idempotency_key = key;
	c.deadline_ms = deadline;
	rc = P->invoke_action(inst, &c, err, errlen);
	json_object_put(in);
	*idp = c.call_id;
	return rc;
}

/* Invoke and wait for the outputs (owned by the fake host). */
static json_object *run(conn_instance *inst, const char *inputs)
{
	char err[256] = "";
	uint64_t id;

	if (call(inst, inputs, NULL, conn_now_ms() + 5000, &id, err,
	         sizeof(err))) {
		diag("invoke: %s", err);
		return NULL;
	}
	return wait_done(id, 8000);
}

static json_object *err_at(json_object *out, size_t i)
{
	json_object *e;

	if (!out || !json_object_object_get_ex(out, "twilioError", &e) ||
	    !json_object_is_type(e, json_type_array))
		return NULL;
	return json_object_array_get_idx(e, i);
}

static size_t nerrors(json_object *out)
{
	json_object *e;

	if (!out || !json_object_object_get_ex(out, "twilioError", &e) ||
	    !json_object_is_type(e, json_type_array))
		return 0;
	return json_object_array_length(e);
}

static const char *field(json_object *o, const char *k)
{
	json_object *v;

	if (!o || !json_object_object_get_ex(o, k, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

/* -------------------------------------------------------------- tests */

/* Issue 8, item 1: an invalid recipient in a dry run crashed the host. */
static void test_dry_run(conn_instance *inst)
{
	json_object *o, *d, *x;

	o = run(inst, "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100,"
	              " (415) 555-0100\",\"smsBody\":\"x\",\"dryRun\":true}");
	ok(o != NULL, "dry run with an invalid recipient completes");
	is_int(1, (int)nerrors(o), "the invalid one is in twilioError");
	is_str("INVALID_TO_PHONE_NUMBER_ERROR", field(err_at(o, 0), "error"),
	       "as INVALID_TO_PHONE_NUMBER_ERROR");
	d = NULL;
	ok(o && json_object_object_get_ex(o, "dryRun", &d) && d,
	   "dryRun present");
	ok(d && json_object_object_get_ex(d, "recipients", &x) &&
	           json_object_array_length(x) == 1 &&
	           strcmp(field(json_object_array_get_idx(x, 0), "to"),
	                  "+14155550100") == 0,
	   "dryRun lists the valid recipient only");

	o = run(inst, "{\"smsFrom\":\"+15005550006\",\"smsTo\":[\"4155550100\","
	              "42,\"+1\"],\"smsBody\":\"x\",\"dryRun\":\"true\"}");
	is_int(3, (int)nerrors(o), "dry run, every recipient invalid");
	ok(o && json_object_object_get_ex(o, "dryRun", &d) &&
	           json_object_object_get_ex(d, "recipients", &x) &&
	           json_object_array_length(x) == 0,
	   "dryRun recipients []");

	/* the documented shape: ucs2Character and ucs2Offset null for
	 * GSM-7; the offset in characters as "characters" counts them */
	o = run(inst,
	        "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	        "\"smsBody\":\"hi\",\"dryRun\":true}");
	json_object_object_get_ex(o, "dryRun", &d);
	ok(d && json_object_object_get_ex(d, "ucs2Character", &x) && !x,
	   "GSM-7: ucs2Character null");
	ok(d && json_object_object_get_ex(d, "ucs2Offset", &x) && !x,
	   "GSM-7: ucs2Offset null");
	o = run(inst,
	        "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	        "\"smsBody\":\"\\u00e9\\ud83d\\ude00 \\u0160\","
	        "\"dryRun\":true}");
	json_object_object_get_ex(o, "dryRun", &d);
	is_str("\xf0\x9f\x98\x80", field(d, "ucs2Character"),
	       "UCS-2: the first character outside GSM-7");
	is_str("1", field(d, "ucs2Offset"),
	       "its offset in characters (after the 2-byte \xc3\xa9)");
	is_str("5", field(d, "characters"), "characters in UTF-16 units");
	o = run(inst,
	        "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	        "\"smsBody\":\"a\\u0000b\",\"dryRun\":true}");
	json_object_object_get_ex(o, "dryRun", &d);
	is_str("UCS-2", field(d, "encoding"), "U+0000 forces UCS-2");
	ok(d && json_object_object_get_ex(d, "ucs2Character", &x) && x &&
	           json_object_get_string_len(x) == 1,
	   "and is named (U+0000, not null)");
}

/* Issue 8, item 2: the claim's TTL in 64 bits, the key's namespace. */
static void test_claims(conn_instance *inst)
{
	static const char in[] = "{\"smsFrom\":\"+15005550006\",\"smsTo\":"
	                         "\"+14155550100\",\"smsBody\":\"x\"}";
	const int64_t day = 86400000;
	char err[256];
	uint64_t id;
	int64_t now;
	json_object *o, *r;
	char last_key[256];
	uint32_t last_ttl;

	fake_host_set_claim(FAKE_CLAIM_DONE,
	                    "{\"to\":\"+14155550100\",\"sid\":"
	                    "\"SM0123456789abcdef0123456789abcdef\","
	                    "\"status\":\"queued\",\"segments\":1}");
	now = conn_now_ms();
	is_int(0,
	       call(inst, in, "task-1", now + 60 * day, &id, err, sizeof(err)),
	       "invoke with a deadline 60 days away");
	o = wait_done(id, 5000);
	fake_host_last_claim(last_key, sizeof(last_key), &last_ttl);
	is_str("send/task-1|+14155550100", last_key,
	       "claim key: send/ + idempotency key + | + number");
	ok(last_ttl == UINT32_MAX,
	   "TTL clamped, not wrapped (%u ms; the deadline is in %lld ms)",
	   last_ttl, (long long)(60 * day));
	ok(o && json_object_object_get_ex(o, "twilioResult", &r) &&
	           json_object_array_length(r) == 1,
	   "the prior result returned, nothing sent");

	now = conn_now_ms();
	call(inst, in, "task-2", now + 30 * day, &id, err, sizeof(err));
	wait_done(id, 5000);
	fake_host_last_claim(last_key, sizeof(last_key), &last_ttl);
	ok((int64_t)last_ttl >= 30 * day,
	   "TTL covers a deadline 30 days away (%u ms)", last_ttl);
	call(inst, in, "task-3", INT64_MAX, &id, err, sizeof(err));
	wait_done(id, 5000);
	fake_host_last_claim(last_key, sizeof(last_key), &last_ttl);
	ok(last_ttl == UINT32_MAX, "deadline INT64_MAX: clamped (%u)",
	   last_ttl);
	call(inst, in, "task-4", conn_now_ms() - 1000, &id, err, sizeof(err));
	wait_done(id, 5000);
	fake_host_last_claim(last_key, sizeof(last_key), &last_ttl);
	ok(last_ttl == TW_CLAIM_MARGIN_MS, "deadline passed: the margin (%u)",
	   last_ttl);
	fake_host_set_claim(FAKE_CLAIM_NEW, NULL);

	is_int(UINT32_MAX, tw_claim_ttl(INT64_MAX, INT64_MIN),
	       "tw_claim_ttl: no overflow at the extremes");
	is_int(TW_CLAIM_MARGIN_MS, tw_claim_ttl(INT64_MIN, INT64_MAX),
	       "tw_claim_ttl: a past deadline");
	is_int(1000 + TW_CLAIM_MARGIN_MS, tw_claim_ttl(5000, 4000),
	       "tw_claim_ttl: time left + margin");
	is_int(UINT32_MAX,
	       tw_claim_ttl((int64_t)UINT32_MAX - TW_CLAIM_MARGIN_MS + 1, 0),
	       "tw_claim_ttl: one past the limit clamps");
	is_int(UINT32_MAX,
	       tw_claim_ttl((int64_t)UINT32_MAX - TW_CLAIM_MARGIN_MS, 0),
	       "tw_claim_ttl: the limit itself");
}

/* Issue 8, item 14: every missing or invalid input at once, with the fix. */
static void test_input_errors(conn_instance *inst)
{
	json_object *o;

	o = run(inst, "{}");
	is_int(3, (int)nerrors(o), "smsFrom, smsTo, smsBody all reported");
	is_str("smsFrom", field(err_at(o, 0), "field"), "smsFrom first");
	is_str("smsTo", field(err_at(o, 1), "field"), "smsTo second");
	is_str("smsBody", field(err_at(o, 2), "field"), "smsBody third");
	is_str("MISSING_INPUT", field(err_at(o, 1), "error"),
	       "smsTo MISSING_INPUT");
	is_str("smsTo: missing; give the recipients as a list of numbers "
	       "([\"+14155550100\"]) or a string of numbers separated by "
	       "commas, semicolons or new lines, each with + and the country "
	       "code",
	       field(err_at(o, 1), "message"), "smsTo: missing says what");
	is_str("smsBody: missing; the message text (a FreeMarker template)",
	       field(err_at(o, 2), "message"), "smsBody: missing");

	o = run(inst, "{\"smsTo\":\"+14155550100\",\"smsBody\":7,"
	              "\"mediaUrl\":\"ftp://x\",\"metadata\":[],"
	              "\"statusCallback\":3,\"dryRun\":\"yes\"}");
	is_int(6, (int)nerrors(o), "six invalid inputs, six entries");
	is_str("smsFrom", field(err_at(o, 0), "field"), "smsFrom");
	is_str("mediaUrl", field(err_at(o, 1), "field"), "mediaUrl");
	is_str("smsBody: must be a string (a template)",
	       field(err_at(o, 2), "message"), "smsBody type");
	is_str("metadata", field(err_at(o, 3), "field"), "metadata");
	is_str("statusCallback", field(err_at(o, 4), "field"),
	       "statusCallback");
	is_str("dryRun", field(err_at(o, 5), "field"), "dryRun");

	o = run(inst, "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100 "
	              "+14155550101\",\"smsBody\":\"x\"}");
	is_str("INVALID_TO_PHONE_NUMBER_ERROR", field(err_at(o, 0), "error"),
	       "space-separated numbers refused");
	is_str("smsTo[0] '+14155550100 +14155550101': looks like several "
	       "numbers separated by spaces; separate entries with commas or "
	       "semicolons (spaces inside a number are ignored)",
	       field(err_at(o, 0), "message"), "says how to separate them");

	o = run(inst, "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+020 7946 "
	              "0000\",\"smsBody\":\"x\"}");
	is_str("INVALID_TO_PHONE_NUMBER_ERROR", field(err_at(o, 0), "error"),
	       "+0 refused locally");
	is_str("smsTo[0] '+020 7946 0000': no country code starts with 0; "
	       "write + and the country code, then the number without its "
	       "leading 0 (e.g. +44 20 7946 0000 for 020 7946 0000)",
	       field(err_at(o, 0), "message"), "+0: the fix");

	o = run(inst, "{\"smsFrom\":\"+0015005550006\",\"smsTo\":"
	              "\"+14155550100\",\"smsBody\":\"x\"}");
	is_str("INVALID_FROM_PHONE_NUMBER_ERROR", field(err_at(o, 0), "error"),
	       "smsFrom +00 refused locally");
	is_str("smsFrom '+0015005550006': no country code starts with 0; "
	       "drop the international prefix 00 after the +: write "
	       "+15005550006",
	       field(err_at(o, 0), "message"), "smsFrom +00: the fix");
	is_int(1, (int)nerrors(o), "one error: nothing else wrong");

	o = run(inst, "{\"smsFrom\":\"+1500\\u00005550006\",\"smsTo\":"
	              "\"+14155550100\",\"smsBody\":\"x\"}");
	is_str("smsFrom: contains a NUL byte (\\u0000); write the sender as "
	       "plain text",
	       field(err_at(o, 0), "message"), "smsFrom with a NUL refused");

	o = run(inst, "{\"smsFrom\":\"+15005550006\",\"smsTo\":"
	              "\"+14155550100\",\"smsBody\":\"x\",\"dryRun\":"
	              "\"true\\u0000x\"}");
	is_str("dryRun: must be true or false", field(err_at(o, 0), "message"),
	       "dryRun \"true\\u0000x\" is not true");
}

/* Issue 8, item 5: shutdown while a host thread is inside invoke_action,
 * between reserve and submit (blocked in claim). */
struct inv {
	conn_instance *inst;
	char key[64];
	uint64_t id;
	int rc;
};

static void *invoker(void *arg)
{
	struct inv *v = arg;
	char err[256];

	v->rc = call(v->inst,
	             "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	             "\"smsBody\":\"x\"}",
	             v->key, conn_now_ms() + 5000, &v->id, err, sizeof(err));
	return NULL;
}

static void test_shutdown_inside(void)
{
	conn_instance *inst = make();
	struct inv v = {.inst = inst, .key = "block"};
	pthread_t t;
	char err[256] = "";
	uint64_t id;
	json_object *o;

	if (!inst) {
		ok(0, "instance");
		return;
	}
	hold = HOLD_BLOCK;
	blocked = released = 0;
	fake_host_set_hooks(&hold_hooks);
	pthread_create(&t, NULL, invoker, &v);
	pthread_mutex_lock(&mu);
	while (!blocked)
		pthread_cond_wait(&cv, &mu);
	pthread_mutex_unlock(&mu);
	/* a host thread is inside invoke_action, in claim() */
	is_int(CONN_EBUSY, P->shutdown(inst, conn_now_ms() + 50),
	       "shutdown with a thread inside invoke_action: CONN_EBUSY at "
	       "its deadline");
	is_int(CONN_ESTATE,
	       call(inst, "{}", NULL, conn_now_ms() + 1000, &id, err,
	            sizeof(err)),
	       "invoke_action after shutdown began: CONN_ESTATE");
	is_str("the instance is shutting down; call invoke_action on another "
	       "instance",
	       err, "says why");
	is_int(0, fake_host_completions(id), "and never completes");
	is_int(CONN_ESTATE, P->cancel(inst, 1), "cancel: CONN_ESTATE");
	ok(P->stats(inst) == NULL, "stats: NULL");
	pthread_mutex_lock(&mu);
	released = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	pthread_join(t, NULL);
	fake_host_set_hooks(NULL);
	is_int(0, v.rc, "the call inside was accepted");
	is_int(0, P->shutdown(inst, conn_now_ms() + 2000),
	       "shutdown again: 0 once the thread left");
	o = wait_done(v.id, 10);
	is_int(1, fake_host_completions(v.id),
	       "the call inside completed exactly once");
	ok(nerrors(o) == 1,
	   "with its error (cancelled, or the refused "
	   "connection): %s",
	   field(err_at(o, 0), "error"));
}

/* The same as a race: two threads inside invoke_action (between reserve
 * and submit or unreserve, for a varying while) while shutdown runs,
 * 1,000 times, half of them with a deadline already due. The invoking
 * threads live across rounds (thread creation dominated the run time). */
static struct race {
	conn_instance *inst;
	int round, finished, quit;
	struct inv v[2];
} race;

static void *race_worker(void *arg)
{
	int me = (int)(intptr_t)arg, seen = 0;

	for (;;) {
		struct inv *v = &race.v[me];

		pthread_mutex_lock(&mu);
		while (race.round == seen && !race.quit)
			pthread_cond_wait(&cv, &mu);
		if (race.quit) {
			pthread_mutex_unlock(&mu);
			return NULL;
		}
		seen = race.round;
		v->inst = race.inst;
		snprintf(v->key, sizeof(v->key), "race-%d-%d", seen, me);
		pthread_mutex_unlock(&mu);
		invoker(v);
		pthread_mutex_lock(&mu);
		race.finished++;
		pthread_cond_broadcast(&cv);
		pthread_mutex_unlock(&mu);
	}
}

static void test_shutdown_race(void)
{
	int iter, bad_rc = 0, bad_complete = 0, failed_init = 0, busy = 0;
	long claims0, settles0;
	pthread_t t[2];
	int i;

	hold = HOLD_SPIN;
	fake_host_set_hooks(&hold_hooks);
	claims0 = atomic_load(&held_new);
	settles0 = fake_host_settles();
	for (i = 0; i < 2; i++)
		pthread_create(&t[i], NULL, race_worker, (void *)(intptr_t)i);
	for (iter = 0; iter < 1000; iter++) {
		conn_instance *inst = make();
		int rc;

		if (!inst) {
			failed_init++;
			continue;
		}
		/* claims answered NEW (the call is submitted) or DONE (the
		 * reservation is given back) */
		spin_done = iter % 4 >= 2;
		pthread_mutex_lock(&mu);
		in_claim = 0;
		race.finished = 0;
		race.inst = inst;
		race.round++;
		pthread_cond_broadcast(&cv);
		/* both threads inside (in claim): only a call that has
		 * entered may overlap shutdown (docs/abi.md) */
		while (in_claim < 2)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		rc = P->shutdown(inst, conn_now_ms() + (iter % 2 ? 200 : 0));
		while (rc == CONN_EBUSY) {
			busy++;
			rc = P->shutdown(inst, conn_now_ms() + 200);
		}
		if (rc != 0)
			bad_rc++;
		pthread_mutex_lock(&mu);
		while (race.finished < 2)
			pthread_cond_wait(&cv, &mu);
		pthread_mutex_unlock(&mu);
		for (i = 0; i < 2; i++) {
			if (race.v[i].rc != 0)
				bad_rc++;
			else if (wait_done(race.v[i].id, 10) == NULL ||
			         fake_host_completions(race.v[i].id) != 1)
				bad_complete++;
		}
	}
	pthread_mutex_lock(&mu);
	race.quit = 1;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	fake_host_set_hooks(NULL);
	is_int(0, failed_init, "race: every instance started");
	is_int(0, bad_rc, "race: every call accepted, every shutdown 0");
	is_int(0, bad_complete, "race: every call completed exactly once");
	is_int(atomic_load(&held_new) - claims0, fake_host_settles() - settles0,
	       "race: every claim settled");
	diag("race: shutdown answered CONN_EBUSY %d times", busy);
}

/* Any int64_t is a deadline: "none" (INT64_MAX) and "long past"
 * (INT64_MIN) must not overflow the arithmetic on them (UBSan aborts). */
static void test_extreme_deadlines(void)
{
	const char *in = "{\"smsFrom\":\"+15005550006\","
	                 "\"smsTo\":\"+14155550100\",\"smsBody\":\"x\"}";
	int64_t deadlines[2] = {INT64_MIN, INT64_MAX};
	conn_instance *inst = make();
	char err[256] = "";
	uint64_t id;
	int i;

	ok(inst != NULL, "extreme deadlines: instance started");
	if (!inst)
		return;
	for (i = 0; i < 2; i++) {
		json_object *out;

		is_int(0,
		       call(inst, in, NULL, deadlines[i], &id, err,
		            sizeof(err)),
		       "extreme deadline %d: accepted", i);
		out = wait_done(id, 8000);
		ok(out != NULL && nerrors(out) == 1,
		   "extreme deadline %d: completed with one error", i);
	}
	is_int(0, P->shutdown(inst, INT64_MAX),
	       "shutdown with no deadline (INT64_MAX)");
}

int main(void)
{
	conn_instance *inst;

	fake_host_set_secret(TOKEN);
	fake_host_set_claim(FAKE_CLAIM_NEW, NULL);
	P = conn_plugin_get(CONN_ABI_MAJOR, CONN_ABI_MINOR);
	port = closed_port();
	inst = make();
	ok(inst != NULL, "instance started");
	if (!inst)
		return done_testing();
	test_dry_run(inst);
	test_claims(inst);
	test_input_errors(inst);
	is_int(0, P->shutdown(inst, conn_now_ms() + 2000), "shutdown");
	test_shutdown_inside();
	test_shutdown_race();
	test_extreme_deadlines();
	is_int(0, fake_host_leaks(),
	       "the token never appeared in outputs or logs");
	fake_host_reset();
	return done_testing();
}
