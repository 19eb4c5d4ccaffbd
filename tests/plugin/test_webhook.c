/* test_webhook.c - the webhook (plugin/webhook.c) through the plugin's
 * vtable with a fake host: the port from stats, a publish held by the host
 * does not stall another connection (no timing: the held publish is
 * released only after the other request was answered), quiesce puts the
 * listening socket into the hand-off and a second instance started with it
 * answers on the same port, resume takes it back, shutdown with a publish
 * in flight. Signatures are off here (webhook_http.sh covers them). */
#include "connector.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "tap.h"

const conn_plugin *conn_plugin_get(uint16_t, uint16_t);
extern void (*tw_webhook_test_answer_hook)(void);

/* Holds the answer back long enough for shutdown to reach its wait. */
static void answer_pause(void)
{
	usleep(200 * 1000);
}

typedef struct fake {
	atomic_int published;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int hold; /* a publish of "hold" waits while this is set */
	int held; /* a publish is waiting */
} fake;

static void f_log(void *ctx, conn_log_level lv, json_object *f, const char *msg)
{
	(void)ctx;
	if (lv <= CONN_LOG_WARN)
		printf("# log: %s %s\n", msg,
		       f ? json_object_to_json_string(f) : "");
}

static void f_complete(void *ctx, uint64_t id, json_object *o)
{
	(void)ctx;
	(void)id;
	json_object_put(o);
}

static int f_publish(void *ctx, uint64_t sub, json_object *ev, char *err,
                     size_t errlen)
{
	fake *h = ctx;
	json_object *m = NULL;

	(void)sub;
	(void)err;
	(void)errlen;
	if (json_object_object_get_ex(ev, "originalMessage", &m) &&
	    strcmp(json_object_get_string(m), "hold") == 0) {
		pthread_mutex_lock(&h->mu);
		h->held = 1;
		pthread_cond_broadcast(&h->cv);
		while (h->hold)
			pthread_cond_wait(&h->cv, &h->mu);
		pthread_mutex_unlock(&h->mu);
	}
	json_object_put(ev);
	atomic_fetch_add(&h->published, 1);
	return 0;
}

static int f_claim(void *ctx, const char *key, uint32_t ttl,
                   json_object **prior)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	*prior = NULL;
	return CONN_CLAIM_NEW;
}

static int f_settle(void *ctx, const char *key, json_object *r, uint32_t ttl)
{
	(void)ctx;
	(void)key;
	(void)ttl;
	json_object_put(r);
	return 0;
}

static conn_host host_for(fake *f)
{
	conn_host h = {.struct_size = sizeof(conn_host),
	               .abi_major = CONN_ABI_MAJOR,
	               .abi_minor = CONN_ABI_MINOR,
	               .ctx = f,
	               .log = f_log,
	               .complete = f_complete,
	               .publish = f_publish,
	               .claim = f_claim,
	               .settle = f_settle};
	return h;
}

static const conn_plugin *P;

static conn_instance *make(const conn_host *h)
{
	json_object *cfg = json_tokener_parse(
	        "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	        "\"TWILIO_TOKEN\":\"x\",\"TWILIO_BASE_URL\":"
	        "\"http://127.0.0.1:1\",\"TWILIO_WEBHOOK_LISTEN\":"
	        "\"127.0.0.1:0\",\"TWILIO_VALIDATE_SIGNATURE\":\"false\","
	        "\"TWILIO_WEBHOOK_WORKERS\":\"2\"}");
	json_object *params = json_tokener_parse("{\"pattern\":\"\"}");
	conn_instance *inst = NULL;
	char err[512] = "";

	if (P->init(h, cfg, &inst, err, sizeof(err)) != 0)
		printf("# init: %s\n", err);
	else if (P->subscribe_event(inst, 1, "SMS_RECEIVED", params, err,
	                            sizeof(err)) != 0)
		printf("# subscribe: %s\n", err);
	json_object_put(cfg);
	json_object_put(params);
	return inst;
}

static int port_of(conn_instance *inst)
{
	json_object *s = P->stats(inst), *w, *p;
	int port = 0;

	if (s && json_object_object_get_ex(s, "webhook", &w) &&
	    json_object_object_get_ex(w, "port", &p))
		port = json_object_get_int(p);
	json_object_put(s);
	return port;
}

/* POST a form with BODY text to 127.0.0.1:PORT; the HTTP status or -1. */
static int post(int port, const char *text, int sid)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port)};
	char body[256], req[512], resp[2048];
	int fd = socket(AF_INET, SOCK_STREAM, 0), status = -1;
	size_t n = 0;
	ssize_t r;

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	snprintf(body, sizeof(body),
	         "MessageSid=SM%032x&From=%%2B14155550100&To=%%2B15005550006"
	         "&Body=%s",
	         sid, text);
	snprintf(req, sizeof(req),
	         "POST /twilio/sms HTTP/1.1\r\nHost: x\r\nConnection: close"
	         "\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	         "Content-Length: %zu\r\n\r\n%s",
	         strlen(body), body);
	if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
	    write(fd, req, strlen(req)) != (ssize_t)strlen(req)) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	while (n < sizeof(resp) - 1 &&
	       (r = read(fd, resp + n, sizeof(resp) - 1 - n)) > 0)
		n += (size_t)r;
	resp[n] = 0;
	close(fd);
	sscanf(resp, "HTTP/1.1 %d", &status);
	return status;
}

struct held_arg {
	int port, status;
};

static void *post_held(void *arg)
{
	struct held_arg *a = arg;

	a->status = post(a->port, "hold", 99);
	return NULL;
}

int main(void)
{
	fake f1 = {0}, f2 = {0};
	conn_host h1 = host_for(&f1), h2 = host_for(&f2);
	conn_instance *v1, *v2;
	conn_handoff ho;
	char err[512];
	int port, i, slot = -1;
	pthread_t t;
	struct held_arg ha;

	pthread_mutex_init(&f1.mu, NULL);
	pthread_cond_init(&f1.cv, NULL);
	pthread_mutex_init(&f2.mu, NULL);
	pthread_cond_init(&f2.cv, NULL);
	P = conn_plugin_get(CONN_ABI_MAJOR, CONN_ABI_MINOR);
	v1 = make(&h1);
	ok(v1 != NULL, "instance with a webhook, subscribed before start");
	is_int(0, port_of(v1), "no port before start");
	is_int(0, P->start(v1, NULL, err, sizeof(err)), "start");
	port = port_of(v1);
	ok(port > 0, "stats: webhook.port is the bound port (%d)", port);
	is_int(200, post(port, "hello", 1), "a message: 200");
	is_int(1, atomic_load(&f1.published), "published");

	/* a publish held by the host does not stall another connection */
	f1.hold = 1;
	ha.port = port;
	pthread_create(&t, NULL, post_held, &ha);
	pthread_mutex_lock(&f1.mu);
	while (!f1.held)
		pthread_cond_wait(&f1.cv, &f1.mu);
	pthread_mutex_unlock(&f1.mu);
	is_int(200, post(port, "other", 2),
	       "answered while another message's publish is held");
	pthread_mutex_lock(&f1.mu);
	f1.hold = 0;
	pthread_cond_broadcast(&f1.cv);
	pthread_mutex_unlock(&f1.mu);
	pthread_join(t, NULL);
	is_int(200, ha.status, "the held one answered once released");

	/* hot swap: v1's socket goes to v2 */
	conn_handoff_init(&ho);
	is_int(0, P->quiesce(v1, &ho), "quiesce");
	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++)
		if (ho.fds[i] >= 0 && strcmp(ho.names[i], "webhook") == 0)
			slot = i;
	ok(slot >= 0, "the listening socket is in the hand-off as 'webhook'");
	{
		struct sockaddr_in a;
		socklen_t l = sizeof(a);

		ok(slot >= 0 &&
		           getsockname(ho.fds[slot], (struct sockaddr *)&a,
		                       &l) == 0 &&
		           ntohs(a.sin_port) == port,
		   "still bound to the same port, not closed");
	}
	is_int(CONN_ESTATE, P->quiesce(v1, &ho), "quiesce twice: ESTATE");
	v2 = make(&h2);
	is_int(0, P->start(v2, &ho, err, sizeof(err)),
	       "v2 started with the hand-off");
	ok(slot >= 0 && ho.fds[slot] == -1, "v2 took the socket");
	is_int(port, port_of(v2), "v2 serves the same port");
	is_int(200, post(port, "to v2", 3), "a message after the swap: 200");
	is_int(1, atomic_load(&f2.published), "published by v2");
	is_int(3, atomic_load(&f1.published), "not by v1");

	/* rollback: v2 hands the socket back to v1, v1 resumes on it */
	conn_handoff_init(&ho);
	is_int(0, P->quiesce(v2, &ho), "v2 quiesced");
	err[0] = '\0'; /* the ABI leaves ERR as it was on success */
	is_int(0, P->resume(v1, &ho, err, sizeof(err)), "v1 resumed: %s", err);
	is_int(200, post(port, "back to v1", 4), "answered by v1 again");
	is_int(4, atomic_load(&f1.published), "published by v1");
	is_int(0, P->shutdown(v2, conn_now_ms() + 10000), "v2 shut down");

	/* shutdown with a publish in flight: it finishes, its answer is
	 * sent (the hook holds it between the handler and the answer, the
	 * window a stop that only waited for the handler would cut), then
	 * all stops */
	tw_webhook_test_answer_hook = answer_pause;
	f1.hold = 1;
	f1.held = 0;
	pthread_create(&t, NULL, post_held, &ha);
	pthread_mutex_lock(&f1.mu);
	while (!f1.held)
		pthread_cond_wait(&f1.cv, &f1.mu);
	f1.hold = 0; /* released: shutdown must wait for the worker */
	pthread_cond_broadcast(&f1.cv);
	pthread_mutex_unlock(&f1.mu);
	is_int(0, P->shutdown(v1, conn_now_ms() + 10000),
	       "v1 shut down with a publish in flight");
	pthread_join(t, NULL);
	tw_webhook_test_answer_hook = NULL;
	/* its message was published: its answer is sent before the
	 * connection closes, or Twilio would retry a handled message */
	is_int(200, ha.status, "the in-flight request got its answer");
	is_int(-1, post(port, "late", 5), "nothing listens after shutdown");
	return done_testing();
}
