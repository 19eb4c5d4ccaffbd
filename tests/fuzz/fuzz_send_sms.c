/*
 * fuzz_send_sms.c - fuzz target for the whole send_sms path: the real
 * plugin through its vtable (conn_plugin_get, init, start, invoke_action,
 * cancel, stats, shutdown) with the shared fake host (tests/fake_host.h)
 * and hooks checking the invariants below, against no
 * network (TWILIO_BASE_URL is port 1 of 127.0.0.1, which refuses; no
 * retries; short timeouts), so an input costs milliseconds.
 *
 * An input is two flag bytes, the inputs as JSON, a NUL byte, and the
 * process variables as JSON (optional):
 *   byte 0: bits 0-1 dryRun (0 as given, 1 forced true, 2 forced false,
 *           3 removed); bit 2 check_connection instead of send_sms;
 *           bit 3 an idempotency key; bits 4-5 what claim() answers (NEW,
 *           DONE with a prior result, IN_PROGRESS, a mix by key with DONE
 *           without sid, CONN_EFULL and CONN_EINVAL); bit 6 cancel right
 *           after invoke_action; bit 7 a fresh instance for this input
 *           (init, start, ..., shutdown) instead of a long-lived one.
 *   byte 1: bit 0 the second configuration (LOG_BODIES, LOG_NUMBERS,
 *           TWILIO_MAX_RECIPIENTS=5, TWILIO_QUEUE_CAPACITY=1); bits 1-2
 *           the deadline (1 s, 50 ms, already passed, 60 days away);
 *           bit 3 no variables; bit 4 stats() after invoke_action.
 *
 * Invariants (abort() when broken): complete() exactly once for an
 * accepted call and never for a refused one; outputs are a JSON object
 * with twilioResult an array and twilioError null or an array whose
 * entries have "error" and "message" strings (check_connection: "error"
 * and "message" strings, or "ok"); every claim taken is settled once, by
 * the completion; the borrowed inputs and variables are unchanged; the
 * token (TWILIO_TOKEN) never appears in an output or a log line;
 * shutdown returns 0.
 *
 * With -DTW_LIBFUZZER (make fuzz-plugin) it is a libFuzzer target;
 * without, main() replays the committed corpus (tests/fuzz/corpus/
 * send_sms) as a TAP test in `make check`.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "connector.h"
#include "fake_host.h"

#define TOKEN "fuzzTOKEN-5ecret-77"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const conn_plugin *conn_plugin_get(uint16_t major, uint16_t minor);

/* ------------------------------------------------------- the fake host */

#define MAXKEYS 64

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static uint64_t cur_id;        /* the call in progress, 0 between calls */
static int cur_completions;    /* complete() calls for cur_id */
static json_object *cur_out;   /* its outputs */
static int claim_mode;         /* byte 0 bits 4-5 */
static char *claimed[MAXKEYS]; /* keys claimed NEW, not yet settled */
static int nclaimed;

static void fail(const char *why, const char *detail)
{
	fprintf(stderr, "fuzz_send_sms: %s%s%s\n", why, detail ? ": " : "",
	        detail ? detail : "");
	abort();
}

static int token_in_inputs; /* the input itself carries the token */

static void no_secret(const char *where, const char *s)
{
	if (s && !token_in_inputs && strstr(s, TOKEN))
		fail("the token leaked into", where);
}

static void h_log(conn_log_level lvl, json_object *f, const char *msg)
{
	(void)lvl;
	if (f)
		no_secret("a log line's fields", json_object_to_json_string(f));
	no_secret("a log line", msg);
}

static void h_complete(uint64_t id, json_object *out)
{
	if (!out)
		fail("complete() with NULL outputs", NULL);
	no_secret("the outputs", json_object_to_json_string(out));
	pthread_mutex_lock(&mu);
	if (id != cur_id || cur_completions > 0) {
		pthread_mutex_unlock(&mu);
		fail("complete() twice, late or for a refused call", NULL);
	}
	if (nclaimed != 0) {
		pthread_mutex_unlock(&mu);
		fail("completed with a claim not settled", claimed[0]);
	}
	cur_completions++;
	cur_out = out;
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static unsigned key_hash(const char *s)
{
	unsigned h = 2166136261u;

	while (*s)
		h = (h ^ (unsigned char)*s++) * 16777619u;
	return h;
}

static int h_claim(const char *key, uint32_t ttl, json_object **prior)
{
	int mode = claim_mode, i;

	(void)ttl;
	*prior = NULL;
	if (!key || strncmp(key, "send/", 5) != 0 || !strchr(key, '|'))
		fail("claim key without its namespace", key);
	if (mode == 3) /* a mix, by key */
		mode = 4 + (int)(key_hash(key) % 6);
	switch (mode) {
	case 1:
	case 4:
		*prior = json_tokener_parse(
		        "{\"to\":\"+14155550100\",\"sid\":"
		        "\"SM0123456789abcdef0123456789abcdef\",\"status\":"
		        "\"queued\",\"segments\":1}");
		return CONN_CLAIM_DONE;
	case 5: /* an unknown outcome remembered: no sid, odd types */
		*prior = json_tokener_parse("{\"outcome\":\"unknown\","
		                            "\"status\":[1],\"to\":null}");
		return CONN_CLAIM_DONE;
	case 2:
	case 6: return CONN_CLAIM_IN_PROGRESS;
	case 7: return CONN_EFULL;
	case 8: return CONN_EINVAL;
	default: break;
	}
	pthread_mutex_lock(&mu);
	for (i = 0; i < nclaimed; i++)
		if (strcmp(claimed[i], key) == 0) {
			pthread_mutex_unlock(&mu);
			fail("the same key claimed twice in one call", key);
		}
	if (nclaimed == MAXKEYS) {
		pthread_mutex_unlock(&mu);
		return CONN_EFULL;
	}
	claimed[nclaimed++] = strdup(key);
	pthread_mutex_unlock(&mu);
	return CONN_CLAIM_NEW;
}

static int h_settle(const char *key, json_object *res, uint32_t ttl)
{
	int i;

	(void)ttl;
	if (res)
		no_secret("a settled result", json_object_to_json_string(res));
	json_object_put(res);
	pthread_mutex_lock(&mu);
	for (i = 0; i < nclaimed; i++)
		if (strcmp(claimed[i], key) == 0)
			break;
	if (i == nclaimed) {
		pthread_mutex_unlock(&mu);
		fail("settle() of a key not claimed (or settled twice)", key);
	}
	free(claimed[i]);
	claimed[i] = claimed[--nclaimed];
	pthread_mutex_unlock(&mu);
	return 0;
}

/* The shared fake host (tests/fake_host.h), its services replaced by the
 * hooks above that check this target's invariants; publish keeps the
 * default, answering CONN_ENOENT (send_sms never publishes). */
static const fake_host_hooks hooks = {
        .log = h_log,
        .complete = h_complete,
        .claim = h_claim,
        .settle = h_settle,
};

/* ------------------------------------------------------------ checks */

static int is_str(json_object *o, const char *k)
{
	json_object *v;

	return json_object_object_get_ex(o, k, &v) &&
	       json_object_is_type(v, json_type_string);
}

static void check_send_outputs(json_object *out)
{
	json_object *r, *e;
	size_t i, n;

	if (!json_object_is_type(out, json_type_object))
		fail("outputs are not an object", NULL);
	if (!json_object_object_get_ex(out, "twilioResult", &r) ||
	    !json_object_is_type(r, json_type_array))
		fail("twilioResult is not an array",
		     json_object_to_json_string(out));
	if (!json_object_object_get_ex(out, "twilioError", &e))
		fail("twilioError missing", json_object_to_json_string(out));
	if (!e)
		return;
	if (!json_object_is_type(e, json_type_array) ||
	    json_object_array_length(e) == 0)
		fail("twilioError is neither null nor a non-empty array",
		     json_object_to_json_string(out));
	n = json_object_array_length(e);
	for (i = 0; i < n; i++) {
		json_object *x = json_object_array_get_idx(e, i);

		if (!json_object_is_type(x, json_type_object) ||
		    !is_str(x, "error") || !is_str(x, "message"))
			fail("an error entry without error and message strings",
			     json_object_to_json_string(out));
	}
}

static void check_check_outputs(json_object *out)
{
	if (!json_object_is_type(out, json_type_object))
		fail("check_connection outputs are not an object", NULL);
	if (json_object_object_get_ex(out, "ok", NULL))
		return;
	if (!is_str(out, "error") || !is_str(out, "message"))
		fail("check_connection error without error and message",
		     json_object_to_json_string(out));
}

/* ------------------------------------------------------------ driver */

static const conn_plugin *P;
static conn_instance *kept[2]; /* long-lived instances, per configuration */
static uint64_t next_id = 1;

static conn_instance *make(int variant)
{
	char json[1024], err[512] = "";
	json_object *cfg;
	conn_instance *inst = NULL;

	snprintf(json, sizeof(json),
	         "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	         "\"TWILIO_TOKEN\":\"" TOKEN "\","
	         "\"TWILIO_BASE_URL\":\"http://127.0.0.1:1\","
	         "\"TWILIO_MAX_RETRIES\":\"0\","
	         "\"TWILIO_CONNECT_TIMEOUT_MS\":\"200\","
	         "\"TWILIO_REQUEST_TIMEOUT_MS\":\"200\"%s}",
	         variant ? ",\"LOG_BODIES\":\"true\",\"LOG_NUMBERS\":\"true\","
	                   "\"TWILIO_MAX_RECIPIENTS\":\"5\","
	                   "\"TWILIO_QUEUE_CAPACITY\":\"1\""
	                 : "");
	cfg = json_tokener_parse(json);
	if (P->init(&fake_host, cfg, &inst, err, sizeof(err)) != 0)
		fail("init", err);
	if (P->start(inst, NULL, err, sizeof(err)) != 0)
		fail("start", err);
	json_object_put(cfg);
	return inst;
}

static void stop(conn_instance *inst)
{
	if (P->shutdown(inst, conn_now_ms() + 2000) != 0)
		fail("shutdown did not return 0", NULL);
}

/* Parse LEN bytes of JSON; NULL when it is not JSON. */
static json_object *parse(const char *s, size_t len)
{
	json_tokener *tok;
	json_object *o;

	if (len == 0 || len > 1 << 20)
		return NULL;
	tok = json_tokener_new();
	if (!tok)
		return NULL;
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(o);
		o = NULL;
	}
	json_tokener_free(tok);
	return o;
}

static char *snapshot(json_object *o)
{
	const char *s =
	        o ? json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)
	          : "";

	return strdup(s ? s : "");
}

static void wait_completion(uint64_t id, int64_t until)
{
	struct timespec ts;

	/* The plugin completes by the deadline by its own clock; how soon
	 * this thread sees it depends on the scheduler. Under a loaded
	 * machine (ASan, two cores, other suites) a second of slack was not
	 * enough and the replay failed at random. The wait ends as soon as
	 * complete() is called, so a generous bound costs nothing; a call
	 * that is never completed still fails, 30 s past its deadline. */
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += (time_t)((until - conn_now_ms()) / 1000 + 30);
	pthread_mutex_lock(&mu);
	while (cur_completions == 0)
		if (pthread_cond_timedwait(&cv, &mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&mu);
	if (cur_completions == 0) {
		char n[32];

		snprintf(n, sizeof(n), "call %llu", (unsigned long long)id);
		fail("complete() never called", n);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data + 2, *nul;
	size_t len = size >= 2 ? size - 2 : 0;
	json_object *in, *vars = NULL, *out;
	char *in0, *vars0, err[512] = "", key[64];
	conn_call call = {.struct_size = sizeof(conn_call)};
	conn_instance *inst;
	int f0, f1, fresh, rc, variant;
	int64_t now;

	if (size < 2)
		return 0;
	f0 = data[0];
	f1 = data[1];
	if (!P) {
		fake_host_set_hooks(&hooks);
		fake_host_set_publish(FAKE_PUBLISH_ENOENT, 0);
		P = conn_plugin_get(CONN_ABI_MAJOR, CONN_ABI_MINOR);
	}
	nul = memchr(text, '\0', len);
	in = parse(text, nul ? (size_t)(nul - text) : len);
	if (!in)
		return 0;
	if (nul && !(f1 & 8))
		vars = parse(nul + 1, len - (size_t)(nul + 1 - text));
	if (json_object_is_type(in, json_type_object)) {
		switch (f0 & 3) {
		case 1:
			json_object_object_add(in, "dryRun",
			                       json_object_new_boolean(1));
			break;
		case 2:
			json_object_object_add(in, "dryRun",
			                       json_object_new_boolean(0));
			break;
		case 3: json_object_object_del(in, "dryRun"); break;
		default: break;
		}
	}
	in0 = snapshot(in);
	vars0 = snapshot(vars);
	/* echoing what the caller wrote is no leak */
	token_in_inputs = strstr(in0, TOKEN) || strstr(vars0, TOKEN);

	variant = f1 & 1;
	fresh = (f0 & 0x80) != 0;
	if (fresh)
		inst = make(variant);
	else if (!(inst = kept[variant]))
		inst = kept[variant] = make(variant);

	now = conn_now_ms();
	switch ((f1 >> 1) & 3) {
	case 0: call.deadline_ms = now + 1000; break;
	case 1: call.deadline_ms = now + 50; break;
	case 2: call.deadline_ms = now - 10; break;
	default: call.deadline_ms = now + 60LL * 86400000; break;
	}
	snprintf(key, sizeof(key), "task-%u", (unsigned)(next_id % 7));
	call.call_id = next_id++;
	call.action = (f0 & 4) ? "check_connection" : "send_sms";
	call.inputs = in;
	call.variables = vars;
	call.idempotency_key = (f0 & 8) ? key : NULL;

	pthread_mutex_lock(&mu);
	cur_id = call.call_id;
	cur_completions = 0;
	cur_out = NULL;
	claim_mode = (f0 >> 4) & 3;
	pthread_mutex_unlock(&mu);

	rc = P->invoke_action(inst, &call, err, sizeof(err));
	if (rc == 0 && (f0 & 0x40))
		P->cancel(inst, call.call_id);
	if (f1 & 0x10)
		json_object_put(P->stats(inst));
	/* borrowed: unchanged by the call (rule 4) */
	{
		char *in1 = snapshot(in), *vars1 = snapshot(vars);

		if (strcmp(in0, in1) != 0 || strcmp(vars0, vars1) != 0)
			fail("the borrowed inputs or variables changed", in1);
		free(in1);
		free(vars1);
	}
	json_object_put(in);
	json_object_put(vars);
	free(in0);
	free(vars0);
	no_secret("the error text", err);

	if (rc != 0) {
		if (err[0] == '\0')
			fail("a refused call without a reason", NULL);
	} else {
		wait_completion(call.call_id, call.deadline_ms > now + 5000
		                                      ? now + 5000
		                                      : call.deadline_ms);
	}
	if (fresh)
		stop(inst);
	pthread_mutex_lock(&mu);
	out = cur_out;
	cur_out = NULL;
	cur_id = 0; /* any later complete() is a second one */
	pthread_mutex_unlock(&mu);
	if (rc == 0) {
		if (f0 & 4)
			check_check_outputs(out);
		else
			check_send_outputs(out);
	}
	json_object_put(out);
	return 0;
}

#ifndef TW_LIBFUZZER
#include "fuzz_replay.h"
int main(int argc, char **argv)
{
	int rc = tw_fuzz_replay(argc, argv, "send_sms"), i;

	for (i = 0; i < 2; i++)
		if (kept[i])
			stop(kept[i]);
	return rc;
}
#endif
