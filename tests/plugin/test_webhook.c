/* test_webhook.c - the webhook (plugin/webhook.c) through the plugin's
 * vtable with a fake host: the port from stats, a publish held by the host
 * does not stall another connection (no timing: the held publish is
 * released only after the other request was answered), quiesce puts the
 * listening socket into the hand-off and a second instance started with it
 * answers on the same port, resume takes it back, shutdown with a publish
 * in flight; keep-alive clients across a quiesce (the in-flight answer
 * says Connection: close, the next request lands on the new instance, an
 * idle one is closed with a FIN and counted). Signatures are off here
 * (webhook_http.sh covers them). */
#include "connector.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
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

/* idle keep-alive closes the plugin logged at a shutdown */
static atomic_int logged_idle_closes;

static void f_log(void *ctx, conn_log_level lv, json_object *f, const char *msg)
{
	json_object *n;

	(void)ctx;
	if (f && json_object_object_get_ex(f, "idle_keepalive_closes", &n))
		atomic_fetch_add(&logged_idle_closes, json_object_get_int(n));
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

/* IDLE_S: TWILIO_WEBHOOK_IDLE_TIMEOUT_S, or 0 for the default. */
static conn_instance *make_idle(const conn_host *h, int idle_s)
{
	char text[512], idle[64] = "";
	json_object *cfg;

	if (idle_s)
		snprintf(idle, sizeof(idle),
		         ",\"TWILIO_WEBHOOK_IDLE_TIMEOUT_S\":\"%d\"", idle_s);
	snprintf(text, sizeof(text),
	         "{\"TWILIO_ACCOUNT\":\"AC0123456789abcdef0123456789abcdef\","
	         "\"TWILIO_TOKEN\":\"x\",\"TWILIO_BASE_URL\":"
	         "\"http://127.0.0.1:1\",\"TWILIO_WEBHOOK_LISTEN\":"
	         "\"127.0.0.1:0\",\"TWILIO_VALIDATE_SIGNATURE\":\"false\","
	         "\"TWILIO_WEBHOOK_WORKERS\":\"2\"%s}",
	         idle);
	json_object *params = json_tokener_parse("{\"pattern\":\"\"}");
	conn_instance *inst = NULL;
	char err[512] = "";

	cfg = json_tokener_parse(text);

	if (P->init(h, cfg, &inst, err, sizeof(err)) != 0)
		printf("# init: %s\n", err);
	else if (P->subscribe_event(inst, 1, "SMS_RECEIVED", params, err,
	                            sizeof(err)) != 0)
		printf("# subscribe: %s\n", err);
	json_object_put(cfg);
	json_object_put(params);
	return inst;
}

static conn_instance *make(const conn_host *h)
{
	return make_idle(h, 0);
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

/* webhook.idle_keepalive_closes of INST's stats. */
static long long idle_closes(conn_instance *inst)
{
	json_object *s = P->stats(inst), *w, *n;
	long long v = -1;

	if (s && json_object_object_get_ex(s, "webhook", &w) &&
	    json_object_object_get_ex(w, "idle_keepalive_closes", &n))
		v = json_object_get_int64(n);
	json_object_put(s);
	return v;
}

/* A keep-alive client: connected to 127.0.0.1:PORT, reads bounded by a
 * generous timeout so that a server that never answers or never closes
 * fails the test instead of hanging it. */
static int ka_connect(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
	                        .sin_port = htons((uint16_t)port)};
	struct timeval tv = {60, 0};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* Send one keep-alive POST (no Connection header: HTTP/1.1 keeps). */
static int ka_send(int fd, const char *text, int sid)
{
	char body[256], req[512];

	snprintf(body, sizeof(body),
	         "MessageSid=SM%032x&From=%%2B14155550100&To=%%2B15005550006"
	         "&Body=%s",
	         sid, text);
	snprintf(req, sizeof(req),
	         "POST /twilio/sms HTTP/1.1\r\nHost: x\r\nContent-Type: "
	         "application/x-www-form-urlencoded\r\nContent-Length: "
	         "%zu\r\n\r\n%s",
	         strlen(body), body);
	return write(fd, req, strlen(req)) == (ssize_t)strlen(req) ? 0 : -1;
}

/* Read one whole answer from FD: its status (-1 on EOF or error before
 * it was whole); *CLOSE set when it says "Connection: close". */
static int ka_read(int fd, int *close_hdr)
{
	char buf[4096], *eoh, *p;
	size_t n = 0, want = 0;
	int status = -1;
	ssize_t r;

	*close_hdr = 0;
	for (;;) {
		buf[n] = 0;
		eoh = strstr(buf, "\r\n\r\n");
		if (eoh) {
			p = strcasestr(buf, "\r\nContent-Length:");
			want = (size_t)(eoh + 4 - buf) +
			       (p && p < eoh ? strtoul(p + 17, NULL, 10) : 0);
			if (n >= want)
				break;
		}
		if (n >= sizeof(buf) - 1)
			return -1;
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			return -1;
		n += (size_t)r;
	}
	*eoh = 0;
	p = strcasestr(buf, "\r\nConnection:");
	if (p && strcasestr(p, "close"))
		*close_hdr = 1;
	sscanf(buf, "HTTP/1.1 %d", &status);
	return status;
}

/* What the next read on FD sees: 0 (an orderly close, FIN), -2 (reset),
 * -3 (nothing within the read timeout), 1 (data). */
static int ka_eof(int fd)
{
	char c;
	ssize_t r = read(fd, &c, 1);

	if (r == 0)
		return 0;
	if (r > 0)
		return 1;
	return errno == ECONNRESET ? -2 : -3;
}

static void hold_wait(fake *f)
{
	pthread_mutex_lock(&f->mu);
	while (!f->held)
		pthread_cond_wait(&f->cv, &f->mu);
	pthread_mutex_unlock(&f->mu);
}

static void hold_release(fake *f)
{
	pthread_mutex_lock(&f->mu);
	f->hold = 0;
	pthread_cond_broadcast(&f->cv);
	pthread_mutex_unlock(&f->mu);
}

/*
 * Keep-alive clients across a quiesce: one with a request in flight gets
 * its 200 with "Connection: close" (and then the close), its next request
 * on a new connection lands on v2; one idle on v2 is closed at v2's
 * quiesce with a FIN (not a reset), counted in idle_keepalive_closes. The
 * idle timeout is 600 s and the client's read timeout 60 s, so only the
 * quiesce can close the idle connection within the test.
 */
static void keepalive_swap(void)
{
	fake f3 = {0}, f4 = {0}, f5 = {0};
	conn_host h3 = host_for(&f3), h4 = host_for(&f4), h5 = host_for(&f5);
	conn_instance *v3, *v4, *v5;
	conn_handoff ho;
	char err[512];
	int port, fd, fd2, fd3, cl = -1;

	pthread_mutex_init(&f3.mu, NULL);
	pthread_cond_init(&f3.cv, NULL);
	pthread_mutex_init(&f4.mu, NULL);
	pthread_cond_init(&f4.cv, NULL);
	pthread_mutex_init(&f5.mu, NULL);
	pthread_cond_init(&f5.cv, NULL);
	v3 = make_idle(&h3, 600);
	is_int(0, P->start(v3, NULL, err, sizeof(err)), "v3 started");
	port = port_of(v3);
	fd = ka_connect(port);
	ok(fd >= 0, "a keep-alive client connected to v3");
	f3.hold = 1;
	ok(ka_send(fd, "hold", 20) == 0, "its request sent");
	hold_wait(&f3); /* in flight: v3's publish holds it */

	conn_handoff_init(&ho);
	is_int(0, P->quiesce(v3, &ho), "v3 quiesced with a request in flight");
	v4 = make_idle(&h4, 600);
	is_int(0, P->start(v4, &ho, err, sizeof(err)), "v4 started on it");
	hold_release(&f3);
	is_int(200, ka_read(fd, &cl), "the in-flight request: 200 from v3");
	is_int(1, cl, "... with Connection: close");
	is_int(0, ka_eof(fd), "... then v3 closes it (FIN, no reset)");
	close(fd);
	is_int(1, atomic_load(&f3.published), "published once, by v3");
	is_int(0, idle_closes(v3),
	       "not counted as an idle close (it was busy)");

	fd2 = ka_connect(port);
	ok(ka_send(fd2, "next", 21) == 0, "the client's next request");
	is_int(200, ka_read(fd2, &cl), "answered 200");
	is_int(0, cl, "v4 is not quiesced: the connection is kept");
	is_int(1, atomic_load(&f4.published), "it landed on v4");
	is_int(1, atomic_load(&f3.published), "not on v3");

	/* fd2 is an idle keep-alive connection of v4 now; fd3 another */
	fd3 = ka_connect(port);
	ok(fd3 >= 0 && ka_send(fd3, "idle", 25) == 0, "a second keep-alive");
	is_int(200, ka_read(fd3, &cl), "answered 200 by v4");
	is_int(0, cl, "... and kept open");
	conn_handoff_init(&ho);
	is_int(0, P->quiesce(v4, &ho), "v4 quiesced with two idle keep-alives");
	/* not closed at the quiesce: a busy client would send into the
	 * close; its next request is answered, with the close */
	ok(ka_send(fd2, "after", 24) == 0,
	   "a request on one after the quiesce");
	is_int(200, ka_read(fd2, &cl), "answered 200 by v4 (not cut)");
	is_int(1, cl, "... with Connection: close");
	is_int(0, ka_eof(fd2), "... then closed (FIN, no reset)");
	close(fd2);
	is_int(0, idle_closes(v4), "nothing closed as idle at the quiesce");
	v5 = make_idle(&h5, 600);
	is_int(0, P->start(v5, &ho, err, sizeof(err)), "v5 started on it");
	is_int(200, post(port, "to v5", 22), "a new connection: 200");
	is_int(1, atomic_load(&f5.published), "published by v5");

	/* a request line begun (not yet whole, so not yet a request to
	 * libmicrohttpd) when the quiesce comes: the connection is not
	 * idle, the request is finished and answered with close. The pause
	 * only gives the server time to read the first bytes (the case that
	 * FIONREAD alone would miss); the test passes without it. */
	fd = ka_connect(port);
	ok(fd >= 0 && write(fd, "POST /twil", 10) == 10,
	   "v5: a request line begun");
	usleep(100 * 1000);
	conn_handoff_init(&ho);
	is_int(0, P->quiesce(v5, &ho), "v5 quiesced in the middle of it");
	is_int(0, P->resume(v5, &ho, err, sizeof(err)), "v5 resumed");
	{
		char body[256], rest[512];

		snprintf(
		        body, sizeof(body),
		        "MessageSid=SM%032x&From=%%2B14155550100&To=%%2B1500555"
		        "0006&Body=late",
		        23);
		snprintf(rest, sizeof(rest),
		         "io/sms HTTP/1.1\r\nHost: x\r\nContent-Type: "
		         "application/x-www-form-urlencoded\r\n"
		         "Content-Length: %zu\r\n\r\n%s",
		         strlen(body), body);
		ok(write(fd, rest, strlen(rest)) == (ssize_t)strlen(rest),
		   "the rest of the request sent after the quiesce");
	}
	is_int(200, ka_read(fd, &cl), "answered 200, not cut");
	is_int(1, cl, "... with Connection: close");
	close(fd);
	is_int(0, idle_closes(v5), "nothing counted as idle on v5");
	is_int(2, atomic_load(&f5.published), "published by v5 (old daemon)");
	is_int(0, P->shutdown(v3, conn_now_ms() + 10000), "v3 shut down");
	atomic_store(&logged_idle_closes, 0);
	is_int(0, P->shutdown(v4, conn_now_ms() + 10000), "v4 shut down");
	is_int(0, ka_eof(fd3),
	       "the keep-alive that stayed idle: closed by v4's shutdown after "
	       "the drain (FIN)");
	close(fd3);
	is_int(1, atomic_load(&logged_idle_closes),
	       "... counted in the shutdown's log line");
	is_int(0, P->shutdown(v5, conn_now_ms() + 10000), "v5 shut down");
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
	keepalive_swap();
	return done_testing();
}
