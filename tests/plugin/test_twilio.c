/*
 * test_twilio.c - the plugin through its vtable (plugin/twilio.c and the
 * send_sms action), loaded with dlopen and driven by the shared fake host
 * (tests/fake_host.h). No Twilio and no sandbox: validation, dry run, template
 * errors, refusals, lifecycle, and the engine against local sockets that refuse
 * or never answer (connection errors, deadline, cancel, queue full), and a
 * server that closes a kept-alive connection while it is idle. Every
 * output and log line is checked never to contain the token.
 */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <netinet/in.h>
#include <pthread.h>
#include <string.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "connector.h"
#include "fake_host.h"
#include "tap.h"

#define ACC   "AC0123456789abcdef0123456789abcdef"
#define TOKEN "TOPSECRET-token-4242"

/* The host is tests/fake_host.c: completions kept by call id, log lines
 * recorded, and outputs and logs checked for "TOPSECRET". */
#define wait_done fake_host_wait_done

/* ------------------------------------------------------------- helpers */

static const conn_plugin *P;
static uint64_t next_id = 1;

static conn_instance *make(const char *extra, char *err, size_t errlen, int *rc)
{
	char json[2048];
	json_object *cfg;
	conn_instance *inst = NULL;

	snprintf(json, sizeof(json),
	         "{\"TWILIO_ACCOUNT\":\"%s\",\"TWILIO_TOKEN\":\"%s\"%s%s}", ACC,
	         TOKEN, extra[0] ? "," : "", extra);
	cfg = json_tokener_parse(json);
	*rc = P->init(&fake_host, cfg, &inst, err, errlen);
	json_object_put(cfg);
	return inst;
}

static json_object *invoke(conn_instance *inst, const char *inputs,
                           const char *vars, int64_t deadline_in, uint64_t *idp,
                           int wait)
{
	conn_call c = {.struct_size = sizeof(conn_call)};
	char err[256] = "";
	json_object *in = json_tokener_parse(inputs);
	json_object *v = vars ? json_tokener_parse(vars) : NULL;
	int rc;

	c.call_id = next_id++;
	c.action = "send_sms";
	c.inputs = in;
	c.variables = v;
	c.deadline_ms = conn_now_ms() + deadline_in;
	rc = P->invoke_action(inst, &c, err, sizeof(err));
	json_object_put(in);
	json_object_put(v);
	if (idp)
		*idp = c.call_id;
	if (rc) {
		diag("invoke: %d %s", rc, err);
		return NULL;
	}
	return wait ? wait_done(c.call_id, (int)deadline_in + 3000) : NULL;
}

static const char *first_error(json_object *out, int i)
{
	json_object *e, *x;

	if (!out || !json_object_object_get_ex(out, "twilioError", &e) || !e)
		return "(none)";
	x = json_object_array_get_idx(e, (size_t)i);
	if (!x || !json_object_object_get_ex(x, "error", &e))
		return "(none)";
	return json_object_get_string(e);
}

static const char *error_message(json_object *out, int i)
{
	json_object *e, *x;

	if (!out || !json_object_object_get_ex(out, "twilioError", &e) || !e)
		return "";
	x = json_object_array_get_idx(e, (size_t)i);
	if (!x || !json_object_object_get_ex(x, "message", &e))
		return "";
	return json_object_get_string(e);
}

static int error_retryable(json_object *out, int i)
{
	json_object *e, *x;

	if (!out || !json_object_object_get_ex(out, "twilioError", &e) || !e)
		return -1;
	x = json_object_array_get_idx(e, (size_t)i);
	if (!x || !json_object_object_get_ex(x, "retryable", &e))
		return -1;
	return json_object_get_boolean(e);
}

static size_t nerrors(json_object *out)
{
	json_object *e;

	if (!out || !json_object_object_get_ex(out, "twilioError", &e) || !e)
		return 0;
	return json_object_array_length(e);
}

/* A listening socket on 127.0.0.1 that never accepts: connections
 * complete (backlog), requests go out, no answer ever comes. */
static int silent_server(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) ||
	    listen(fd, 64) || getsockname(fd, (struct sockaddr *)&a, &len))
		return -1;
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port on 127.0.0.1 where nothing listens. */
static int closed_port(void)
{
	int port = 0, fd = silent_server(&port);

	close(fd);
	return port;
}

/* A one-thread HTTP server for test_idle_close(): answers each of CONNS
 * connections' one request with a 201, then closes the connection IDLE_MS
 * later, while the client keeps it alive for the next request. */
struct idle_srv {
	int lfd, conns, requests;
	int idle_ms;
};

static void *idle_server(void *arg)
{
	static const char body[] =
	        "{\"sid\": \"SM0123456789abcdef0123456789abcdef\", "
	        "\"status\": \"queued\", \"num_segments\": \"1\"}";
	struct idle_srv *v = arg;
	int n;

	for (n = 0; n < 2; n++) {
		char req[8192], resp[512];
		size_t got = 0;
		int c = accept(v->lfd, NULL, NULL);
		char *end = NULL;
		long clen = -1;

		if (c < 0)
			break;
		v->conns++;
		/* headers, then Content-Length bytes of body */
		while (got < sizeof(req) - 1) {
			ssize_t r =
			        recv(c, req + got, sizeof(req) - 1 - got, 0);

			if (r <= 0)
				break;
			got += (size_t)r;
			req[got] = '\0';
			if (!end && (end = strstr(req, "\r\n\r\n"))) {
				char *cl = strcasestr(req, "Content-Length:");

				clen = cl ? strtol(cl + 15, NULL, 10) : 0;
			}
			if (end &&
			    (long)(got - (size_t)(end + 4 - req)) >= clen)
				break;
		}
		if (!end) {
			close(c);
			continue;
		}
		v->requests++;
		snprintf(resp, sizeof(resp),
		         "HTTP/1.1 201 Created\r\nContent-Type: "
		         "application/json\r\nContent-Length: %zu\r\n\r\n%s",
		         sizeof(body) - 1, body);
		if (send(c, resp, strlen(resp), MSG_NOSIGNAL) < 0)
			diag("idle server: send failed");
		usleep((useconds_t)v->idle_ms * 1000);
		close(c);
	}
	return NULL;
}

static double cpu_seconds(void)
{
	struct rusage u;

	getrusage(RUSAGE_SELF, &u);
	return (double)(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
	       (double)(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/* --------------------------------------------------------------- tests */

/* Twilio closes a kept-alive connection while it is idle: the event loop
 * must neither spin on the closed socket nor lose the next request. */
static void test_idle_close(void)
{
	struct idle_srv v = {.idle_ms = 150};
	char err[512], extra[512];
	int rc, port;
	conn_instance *inst;
	json_object *o;
	pthread_t t;
	double cpu;

	v.lfd = silent_server(&port);
	if (v.lfd < 0 || pthread_create(&t, NULL, idle_server, &v)) {
		ok(0, "could not start the local server");
		return;
	}
	snprintf(extra, sizeof(extra),
	         "\"TWILIO_BASE_URL\":\"http://127.0.0.1:%d\"", port);
	inst = make(extra, err, sizeof(err), &rc);
	is_int(0, rc, "init: %s", err);
	is_int(0, P->start(inst, NULL, err, sizeof(err)), "start");
	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"hi\"}",
	           NULL, 5000, NULL, 1);
	is_int(0, (int)nerrors(o), "first request answered");
	/* the server closes the idle connection after 150 ms */
	cpu = cpu_seconds();
	usleep(600 * 1000);
	cpu = cpu_seconds() - cpu;
	ok(cpu < 0.1,
	   "idle after the server closed the connection: %.3f s "
	   "of CPU in 0.6 s",
	   cpu);
	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550101\","
	           "\"smsBody\":\"hi\"}",
	           NULL, 5000, NULL, 1);
	is_int(0, (int)nerrors(o), "next request sent on a new connection");
	is_int(0, P->shutdown(inst, conn_now_ms() + 2000), "shutdown");
	pthread_join(t, NULL);
	close(v.lfd);
	is_int(2, v.conns, "two connections");
	is_int(2, v.requests, "one request each: nothing sent twice");
}

static void test_describe(void)
{
	json_object *d = json_tokener_parse(P->describe()), *x, *y;
	const char *names[] = {"MISSING_INPUT",
	                       "INVALID_INPUT",
	                       "TEMPLATE_SYNTAX_ERROR",
	                       "TEMPLATE_METADATA_ERROR",
	                       "INVALID_TO_PHONE_NUMBER_ERROR",
	                       "INVALID_FROM_PHONE_NUMBER_ERROR",
	                       "AUTHENTICATION_CONNECTION_ERROR",
	                       "PERMISSION_DENIED_ERROR",
	                       "TWILIO_CONNECTION_ERROR",
	                       "UNKNOWN_ERROR",
	                       "TWILIO_OUTCOME_UNKNOWN",
	                       "RECIPIENT_OPTED_OUT",
	                       "RATE_LIMITED",
	                       "SENDER_QUEUE_FULL",
	                       "QUEUE_FULL",
	                       "DEADLINE_EXCEEDED",
	                       "CANCELLED"};
	const char *inputs[] = {"smsFrom",  "smsTo",          "smsBody",
	                        "mediaUrl", "statusCallback", "metadata",
	                        "dryRun"};
	const char *outs[] = {"matchGroups", "originalMessage", "to",
	                      "from",        "messageSid",      "media",
	                      "optOutType",  "receivedAt"};
	size_t i;

	ok(d != NULL, "describe() is JSON");
	ok(json_object_object_get_ex(d, "config", &x) &&
	           json_object_object_get_ex(x, "TWILIO_ACCOUNT", &y),
	   "config lists TWILIO_ACCOUNT");
	ok(json_object_object_get_ex(x, "TWILIO_WEBHOOK_PUBLIC_URL", NULL),
	   "config lists the webhook keys");
	ok(json_object_object_get_ex(d, "actions", &x) &&
	           json_object_object_get_ex(x, "send_sms", &y) &&
	           json_object_object_get_ex(y, "inputs", &y),
	   "send_sms inputs");
	for (i = 0; i < 7; i++)
		ok(json_object_object_get_ex(y, inputs[i], NULL), "input %s",
		   inputs[i]);
	ok(json_object_object_get_ex(x, "check_connection", NULL),
	   "check_connection listed");
	ok(json_object_object_get_ex(d, "events", &x) &&
	           json_object_object_get_ex(x, "SMS_RECEIVED", &y) &&
	           json_object_object_get_ex(y, "outputs", &y),
	   "SMS_RECEIVED outputs");
	for (i = 0; i < 8; i++)
		ok(json_object_object_get_ex(y, outs[i], NULL), "output %s",
		   outs[i]);
	json_object_object_get_ex(d, "errors", &x);
	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		ok(json_object_object_get_ex(x, names[i], NULL), "error %s",
		   names[i]);
	json_object_put(d);
}

static void test_init(void)
{
	char err[512];
	int rc;
	conn_instance *i;

	i = make("\"TWILIO_BASE_URL\":\"http://example.com\"", err, sizeof(err),
	         &rc);
	is_int(CONN_EINVAL, rc, "http to a remote host refused");
	ok(strstr(err, "TWILIO_BASE_URL") && !strstr(err, TOKEN),
	   "names the key: %s", err);
	ok(i == NULL, "no instance");
	{
		json_object *cfg = json_tokener_parse(
		        "{\"TWILIO_ACCOUNT\":\"acme\",\"TWILIO_TOKEN\":\"" TOKEN
		        "\"}");
		conn_instance *x = NULL;

		is_int(CONN_EINVAL,
		       P->init(&fake_host, cfg, &x, err, sizeof(err)),
		       "account name refused");
		ok(strstr(err, "AC followed by 32 hex") && !strstr(err, TOKEN),
		   "says what is expected: %s", err);
		json_object_put(cfg);
	}
}

static void test_inline(conn_instance *inst)
{
	json_object *o, *x;
	char err[256];
	uint64_t id;

	o = invoke(inst, "{}", NULL, 5000, &id, 1);
	ok(o != NULL, "empty inputs complete");
	is_int(1, fake_host_completions(id), "exactly once");
	is_str("MISSING_INPUT", first_error(o, 0), "smsFrom missing");
	ok(nerrors(o) >= 2, "every missing input reported (%zu)", nerrors(o));
	ok(json_object_object_get_ex(o, "twilioResult", &x) &&
	           json_object_array_length(x) == 0,
	   "twilioResult []");

	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"(415) 555-0100\","
	           "\"smsBody\":\"hi\"}",
	           NULL, 5000, NULL, 1);
	is_str("INVALID_TO_PHONE_NUMBER_ERROR", first_error(o, 0),
	       "no country code");
	ok(strstr(error_message(o, 0), "write +1 415 555 0100") != NULL,
	   "hint: %s", error_message(o, 0));

	o = invoke(inst,
	           "{\"smsFrom\":\"not a sender!\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"hi\"}",
	           NULL, 5000, NULL, 1);
	is_str("INVALID_FROM_PHONE_NUMBER_ERROR", first_error(o, 0),
	       "bad sender");

	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"Order ${order\"}",
	           NULL, 5000, NULL, 1);
	is_str("TEMPLATE_SYNTAX_ERROR", first_error(o, 0), "syntax error");

	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"Order ${missing}\"}",
	           "{}", 5000, NULL, 1);
	is_str("TEMPLATE_METADATA_ERROR", first_error(o, 0),
	       "missing variable");

	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"${''}\"}",
	           "{}", 5000, NULL, 1);
	is_str("INVALID_INPUT", first_error(o, 0), "empty render");

	/* a template that works past the call's deadline stops there; one
	 * that works too much stops at the budget (issue 8, item 4) */
	o = invoke(
	        inst,
	        "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	        "\"smsBody\":\"<#assign s = 'a'><#list 1..15 as i><#assign s "
	        "= s + s></#list><#list 1..999999 as i>"
	        "${s?keep_after_last('ab')}</#list>\"}",
	        "{}", 0, NULL, 1);
	is_str("DEADLINE_EXCEEDED", first_error(o, 0),
	       "template past deadline");
	ok(strstr(error_message(o, 0), "did not finish before the call's"),
	   "%s", error_message(o, 0));
	o = invoke(
	        inst,
	        "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	        "\"smsBody\":\"<#assign s = 'a'><#list 1..15 as i><#assign s "
	        "= s + s></#list><#list 1..999999 as i>"
	        "${s?keep_after_last('ab')}</#list>\"}",
	        "{}", 60000, NULL, 1);
	is_str("INVALID_INPUT", first_error(o, 0), "template over its budget");
	ok(strstr(error_message(o, 0), "too much work"), "%s",
	   error_message(o, 0));

	o = invoke(inst,
	           "{\"smsFrom\":\"MG0123456789abcdef0123456789abcdef\","
	           "\"smsTo\":\"+1 415 555 0100;+1 (415) 555-0100\\n+44 20 "
	           "7946 0000\",\"smsBody\":\"Caf\\u00e9 ${order} for "
	           "${name}\",\"metadata\":{\"name\":\"Ann\"},\"dryRun\":true}",
	           "{\"order\":42,\"name\":\"Bob\"}", 5000, NULL, 1);
	ok(o && json_object_object_get_ex(o, "dryRun", &x), "dry run output");
	if (x) {
		json_object *y;

		json_object_object_get_ex(x, "body", &y);
		is_str("Caf\xc3\xa9 42 for Ann", json_object_get_string(y),
		       "rendered once, metadata overlays variables");
		json_object_object_get_ex(x, "recipients", &y);
		is_int(2, json_object_array_length(y), "deduplicated");
		json_object_object_get_ex(x, "encoding", &y);
		is_str("GSM-7", json_object_get_string(y), "é is GSM-7");
		json_object_object_get_ex(x, "messagingServiceSid", &y);
		ok(y != NULL, "MG sender is a messaging service");
	}
	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":[\"+14155550100\"],"
	           "\"smsBody\":\"\\u0160ome text\",\"dryRun\":true}",
	           NULL, 5000, NULL, 1);
	if (o && json_object_object_get_ex(o, "dryRun", &x)) {
		json_object *y;

		json_object_object_get_ex(x, "encoding", &y);
		is_str("UCS-2", json_object_get_string(y), "Š forces UCS-2");
		json_object_object_get_ex(x, "ucs2Character", &y);
		is_str("\xc5\xa0", json_object_get_string(y),
		       "names the character");
	} else {
		ok(0, "dry run UCS-2");
	}

	{
		conn_call c = {.struct_size = sizeof(conn_call),
		               .call_id = next_id++,
		               .action = "nope",
		               .deadline_ms = conn_now_ms() + 1000};

		is_int(CONN_ENOTSUP,
		       P->invoke_action(inst, &c, err, sizeof(err)),
		       "unknown action refused");
	}
	{
		json_object *params = json_tokener_parse("{\"pattern\":\"\"}");

		err[0] = 0;
		is_int(CONN_ESTATE,
		       P->subscribe_event(inst, 1, "SMS_RECEIVED", params, err,
		                          sizeof(err)),
		       "SMS_RECEIVED refused without a webhook");
		ok(strstr(err, "set TWILIO_WEBHOOK_LISTEN") != NULL,
		   "says how to fix it: %s", err);
		err[0] = 0;
		is_int(CONN_ENOTSUP,
		       P->subscribe_event(inst, 2, "SMS_SENT", params, err,
		                          sizeof(err)),
		       "unknown event refused");
		ok(strstr(err, "unknown event 'SMS_SENT' (events: "
		               "SMS_RECEIVED)") != NULL,
		   "names the events: %s", err);
		json_object_put(params);
	}
}

static void test_network(void)
{
	char err[512], extra[512];
	int rc, port, fd;
	conn_instance *inst;
	json_object *o;
	uint64_t id, id2;
	int64_t t0;

	/* refused connection: retried (nothing was sent), then an error */
	snprintf(extra, sizeof(extra),
	         "\"TWILIO_BASE_URL\":\"http://127.0.0.1:%d\","
	         "\"TWILIO_MAX_RETRIES\":\"2\"",
	         closed_port());
	inst = make(extra, err, sizeof(err), &rc);
	is_int(0, rc, "init: %s", err);
	is_int(0, P->start(inst, NULL, err, sizeof(err)), "start");
	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"hi\"}",
	           NULL, 10000, NULL, 1);
	is_str("TWILIO_CONNECTION_ERROR", first_error(o, 0),
	       "refused connection");
	ok(strstr(error_message(o, 0), "nothing was sent") &&
	           strstr(error_message(o, 0), "after 2 retries"),
	   "retried twice: %s", error_message(o, 0));
	ok(strstr(error_message(o, 0), "check TWILIO_BASE_URL") != NULL,
	   "unreachable: names the setting to check: %s", error_message(o, 0));
	ok(fake_host_log_has("(attempt 2 of 3)") &&
	           fake_host_log_has("(attempt 3 of 3)"),
	   "retry log lines show the attempt number");
	is_int(0, P->shutdown(inst, conn_now_ms() + 2000), "shutdown");

	/* a server that never answers: deadline, cancel, queue full */
	fd = silent_server(&port);
	snprintf(extra, sizeof(extra),
	         "\"TWILIO_BASE_URL\":\"http://127.0.0.1:%d\","
	         "\"TWILIO_MAX_CONCURRENCY\":\"1\",\"TWILIO_QUEUE_CAPACITY\":"
	         "\"1\"",
	         port);
	inst = make(extra, err, sizeof(err), &rc);
	P->start(inst, NULL, err, sizeof(err));
	t0 = conn_now_ms();
	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100,"
	           "+14155550101\",\"smsBody\":\"hi\"}",
	           NULL, 700, &id, 1);
	ok(conn_now_ms() - t0 < 1500, "completed by the deadline (%lld ms)",
	   (long long)(conn_now_ms() - t0));
	is_str("DEADLINE_EXCEEDED", first_error(o, 0), "in flight: deadline");
	ok(strstr(error_message(o, 0), "may have been created") != NULL,
	   "in flight says the outcome is unknown: %s", error_message(o, 0));
	is_str("DEADLINE_EXCEEDED", first_error(o, 1), "queued: deadline");
	ok(strstr(error_message(o, 1), "nothing was sent") != NULL,
	   "queued says nothing was sent: %s", error_message(o, 1));

	invoke(inst,
	       "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100,"
	       "+14155550101,+14155550102\",\"smsBody\":\"hi\"}",
	       NULL, 1500, &id, 0);
	o = invoke(inst,
	           "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100\","
	           "\"smsBody\":\"hi\"}",
	           NULL, 5000, &id2, 1);
	is_str("QUEUE_FULL", first_error(o, 0), "second call: queue full");
	is_int(0, P->cancel(inst, id), "cancel accepted");
	o = wait_done(id, 4000);
	is_str("DEADLINE_EXCEEDED", first_error(o, 0),
	       "cancel: the request in flight runs to its end");
	is_str("CANCELLED", first_error(o, 1), "cancel: unsent cancelled");
	is_str("CANCELLED", first_error(o, 2), "cancel: unsent cancelled (2)");
	is_int(1, fake_host_completions(id), "cancelled call completed once");
	is_int(CONN_ENOENT, P->cancel(inst, id), "cancel after completion");

	/* shutdown completes what is pending */
	invoke(inst,
	       "{\"smsFrom\":\"+15005550006\",\"smsTo\":\"+14155550100,"
	       "+14155550101\",\"smsBody\":\"hi\"}",
	       NULL, 30000, &id, 0);
	is_int(0, P->quiesce(inst, NULL), "quiesce");
	{
		conn_call c = {.struct_size = sizeof(conn_call),
		               .call_id = next_id++,
		               .action = "send_sms",
		               .deadline_ms = conn_now_ms() + 1000};

		is_int(CONN_ESTATE,
		       P->invoke_action(inst, &c, err, sizeof(err)),
		       "quiesced: refused");
	}
	t0 = conn_now_ms();
	is_int(0, P->shutdown(inst, conn_now_ms() + 300), "shutdown");
	ok(conn_now_ms() - t0 < 2000, "shutdown bounded");
	o = wait_done(id, 10);
	/* docs/send_sms.md's CANCELLED rows: in flight at shutdown, the
	 * message may exist (not retryable); never sent, retryable */
	is_str("CANCELLED", first_error(o, 0), "shutdown: in flight cancelled");
	ok(strstr(error_message(o, 0), "may have been created") != NULL,
	   "shutdown in flight says the message may exist: %s",
	   error_message(o, 0));
	ok(!error_retryable(o, 0), "shutdown in flight: not retryable");
	is_str("CANCELLED", first_error(o, 1), "shutdown cancels the unsent");
	ok(strstr(error_message(o, 1), "nothing was sent") != NULL,
	   "shutdown before sending says nothing was sent: %s",
	   error_message(o, 1));
	ok(error_retryable(o, 1), "shutdown before sending: retryable");
	is_int(1, fake_host_completions(id), "completed once at shutdown");
	close(fd);
}

int main(void)
{
	const char *top = getenv("top_builddir");
	char path[4096], err[512];
	conn_plugin_get_fn get;
	conn_instance *inst;
	void *h;
	int rc;

	snprintf(path, sizeof(path), "%s/plugin/.libs/twilio.so",
	         top ? top : ".");
	h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		printf("1..0 # SKIP cannot load %s: %s\n", path, dlerror());
		return 0;
	}
	get = (conn_plugin_get_fn)(uintptr_t)dlsym(h, CONN_PLUGIN_ENTRY);
	ok(get != NULL, "entry symbol");
	ok(get(CONN_ABI_MAJOR + 1, 0) == NULL, "another major refused");
	P = get(CONN_ABI_MAJOR, CONN_ABI_MINOR);
	ok(P && P->struct_size >= CONN_PLUGIN_SIZE_1_0, "vtable");
	test_describe();
	test_init();
	inst = make("", err, sizeof(err), &rc);
	is_int(0, rc, "init");
	{
		conn_call c = {.struct_size = sizeof(conn_call),
		               .call_id = next_id++,
		               .action = "send_sms",
		               .deadline_ms = conn_now_ms() + 1000};

		is_int(CONN_ESTATE,
		       P->invoke_action(inst, &c, err, sizeof(err)),
		       "not started: refused");
	}
	is_int(0, P->start(inst, NULL, err, sizeof(err)), "start");
	test_inline(inst);
	is_int(0, P->shutdown(inst, conn_now_ms() + 1000), "shutdown");
	test_network();
	test_idle_close();
	is_int(0, fake_host_leaks(),
	       "the token never appeared in outputs or logs");
	fake_host_reset();
	dlclose(h);
	return done_testing();
}
