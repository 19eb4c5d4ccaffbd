/*
 * webhook.c - the inbound HTTP server of SMS_RECEIVED: libmicrohttpd,
 * request validation, the signature check and the threads.
 *
 * Ownership, threads and failure behaviour: see tw_webhook.h. In short:
 *
 * Every connection has its own thread (MHD_USE_THREAD_PER_CONNECTION), and
 * that thread does the whole request:
 *
 *   method, path, Content-Type, length   (answered early when wrong)
 *   body collected (bounded), decoded
 *   signature verified
 *   a matcher taken from the pool
 *   tw_inbound_handle()                  (may wait on the host up to 10 s)
 *   the matcher given back; answer (TwiML or text)
 *
 * A slow publish holds the thread of its own connection and nothing else,
 * so it cannot stall another connection; the threads are bounded by
 * TWILIO_WEBHOOK_MAX_CONNECTIONS (and _MAX_PER_IP), and an idle or
 * slowloris connection costs a thread blocked in poll().
 *
 * Why not suspend/resume with a pool of workers (the first design): each
 * request then crossed three threads (libmicrohttpd's, a worker, back to
 * libmicrohttpd's through its eventfd), which measured ~3.2 context
 * switches and ~11 futex calls per request against ~2 here, and the
 * hand-offs were the largest cost left after the work itself
 * (docs/benchmarks.md, "SMS_RECEIVED webhooks").
 *
 * Matchers (tw_inbound_worker: a PCRE2 JIT stack and match data, never
 * shared while in use) live in a pool: taken for one request, given back
 * after it, created on demand (at most one per request in progress, so at
 * most one per connection) and freed by stop(). No pthread_key, no
 * destructor, nothing per thread: the plugin stays unloadable.
 *
 * Quiesce: the listening socket goes to the hand-off; the old daemon
 * drains (answers in progress say "Connection: close", idle keep-alive
 * connections are closed and counted: see "connections and the quiesce").
 *
 * Stop: refuse new work (503), wait (by the deadline) until no request is
 * inside tw_inbound_handle(), then MHD_stop_daemon, which closes the
 * connections and joins their threads (none of them is then waiting on the
 * host).
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/tcp.h> /* tcpi_bytes_received: not in glibc's */
#include <netinet/in.h>

#include <microhttpd.h>

#include "tw_loop.h"
#include "tw_mask.h"
#include "tw_signature.h"
#include "tw_webhook.h"

/* libmicrohttpd's memory per connection (its default is 32 KiB), which it
 * zeroes at every request: room for a request line with the longest URL a
 * signature is checked against (TW_SIG_MAX_URL, 8 KiB) and Twilio's
 * headers (about 1 KiB), the body being copied out as it arrives. */
#define TW_WEBHOOK_CONN_MEMORY ((size_t)16 << 10)
/* Idle matchers are kept up to TWILIO_WEBHOOK_MAX_CONNECTIONS (as many as
 * can run at once: no matcher is made and freed again per request under
 * full load), at most this many. Each holds a JIT stack reserved at 1 MiB,
 * of which only what a pattern used is resident. */
#define TW_WEBHOOK_POOL_MAX 4096
/* Bytes of a too-large body read (and dropped) before the connection is
 * closed without an answer: enough to answer 413 to an honest client that
 * sent a little too much, bounded against one that never stops. */
#define TW_WEBHOOK_DISCARD_MAX ((size_t)1 << 20)
/* A TLS certificate or key file larger than this is refused. */
#define TW_WEBHOOK_PEM_MAX ((size_t)1 << 20)
/* How long the keep-alive clients of a quiesced daemon have, when its
 * instance is shut down, to send their next request (answered with
 * "Connection: close", so they move to the new instance) before the idle
 * ones are closed: a client that sends at least this often is never cut. */
#define TW_WEBHOOK_DRAIN_MS 1000
/* At most this many quiesced daemons kept serving their old connections. */
#define TW_WEBHOOK_OLD_MAX 8

static const int tw_statuses[] = {200, 400, 403, 404, 405, 413, 415, 500, 503};
#define TW_NSTATUS (sizeof(tw_statuses) / sizeof(tw_statuses[0]))

enum rq_state { RQ_HEAD = 0, RQ_BODY };

/* One HTTP request; created by the URI log callback (the only place the raw
 * query is visible), freed by the request-completed callback. */
typedef struct wh_req {
	struct MHD_Connection *conn;
	char *query; /* raw, after '?', or NULL */
	enum rq_state state;
	int early_status; /* decided from the headers, answered at the end */
	tw_buf body;
	size_t discarded; /* bytes over the limit, dropped */
	tw_form form;
	tw_buf out;    /* the answer */
	int answering; /* counted in answering until it is completed */
} wh_req;

/* One libmicrohttpd daemon: made before the daemon starts (its
 * connections point at it from their first callback), freed after
 * MHD_stop_daemon() returned (every connection of it closed). */
typedef struct wh_daemon {
	struct wh_daemon *next;
	struct MHD_Daemon *d;
	struct tw_webhook *w;
	int draining; /* under w->mu: quiesced; its connections close */
} wh_daemon;

/* One open connection (libmicrohttpd's socket context), linked in
 * w->conns under w->mu from MHD_CONNECTION_NOTIFY_STARTED to _CLOSED.
 * libmicrohttpd closes FD only after _CLOSED, which takes w->mu: a thread
 * holding w->mu may shutdown() FD of a linked connection. */
typedef struct wh_conn {
	struct wh_conn *prev, *next;
	wh_daemon *dm;
	int fd;
	int busy;    /* a request started (request line read), not completed */
	int closing; /* answered with Connection: close, or shut by us */
	/* bytes received when it last became idle after the quiesce: taken
	 * at the quiesce, or when a request completes on a draining daemon,
	 * never per request otherwise (TCP_INFO is a system call that takes
	 * the socket's lock: about 5 % of a request's CPU when it was taken
	 * at every completion, docs/benchmarks.md) */
	uint64_t rx_mark;
} wh_conn;

struct tw_webhook {
	const conn_host *host;
	const tw_config *cfg;
	tw_inbound *in;

	/* lifecycle: host threads only */
	struct MHD_Daemon *daemon; /* accepting, or NULL */
	wh_daemon *cur;            /* its record (NULL with it) */
	wh_daemon *old;            /* quiesced, still serving */
	size_t nold;
	int listen_fd; /* ours while >= 0 and not handed off */
	int started, quiesced;
	char *tls_cert, *tls_key; /* PEM in memory while a daemon runs */
	char address[64];
	atomic_int port;
	tw_sig_md *md; /* digests for the signature checks, or NULL */

	/* requests inside tw_inbound_handle() and the matcher pool */
	pthread_mutex_t mu;
	pthread_cond_t cv; /* inflight or answering fell while closing */
	size_t inflight;   /* requests inside tw_inbound_handle() */
	size_t answering;  /* handled, their answer not yet sent */
	int closing;
	tw_inbound_worker **pool; /* idle matchers */
	size_t npool, pool_keep;
	wh_conn *conns; /* every open connection of every daemon */

	/* counters */
	atomic_llong requests;
	atomic_llong by_status[TW_NSTATUS + 1]; /* + "other" */
	atomic_llong sig_failures;
	atomic_llong idle_closes; /* idle keep-alives closed by a quiesce */

	/* the 403 log line: at most one a second, with a count of the rest */
	pthread_mutex_t log_mu;
	int64_t log_last_ms;
	long log_suppressed;
};

/* ---- counters and logs ------------------------------------------------ */

void tw_webhook_count(tw_webhook *w, int status)
{
	size_t i;

	for (i = 0; i < TW_NSTATUS; i++)
		if (tw_statuses[i] == status)
			break;
	atomic_fetch_add(&w->by_status[i], 1);
}

/* URL without its userinfo (user:password@ of an HTTP-auth webhook URL). */
static void url_for_log(const char *url, tw_buf *out)
{
	const char *p = strstr(url, "://");
	const char *host = p ? p + 3 : url;
	size_t auth = strcspn(host, "/?#");
	const char *at = memchr(host, '@', auth);

	if (!at) {
		tw_buf_puts(out, url);
		return;
	}
	tw_buf_append(out, url, (size_t)(host - url));
	tw_buf_puts(out, "[userinfo]@");
	tw_buf_puts(out, at + 1);
}

static void log_sig_failure(tw_webhook *w, const char *checked)
{
	int64_t now = conn_now_ms();
	long suppressed;
	json_object *f;
	tw_buf url = {0};

	pthread_mutex_lock(&w->log_mu);
	if (w->log_last_ms && now - w->log_last_ms < 1000) {
		w->log_suppressed++;
		pthread_mutex_unlock(&w->log_mu);
		return;
	}
	w->log_last_ms = now;
	suppressed = w->log_suppressed;
	w->log_suppressed = 0;
	pthread_mutex_unlock(&w->log_mu);

	url_for_log(checked ? checked : "", &url);
	f = json_object_new_object();
	json_object_object_add(
	        f, "url", json_object_new_string(url.data ? url.data : ""));
	json_object_object_add(f, "suppressed",
	                       json_object_new_int64(suppressed));
	tw_log(w->host, CONN_LOG_WARN, f,
	       "webhook: X-Twilio-Signature does not match (answered 403, "
	       "nothing published); check that TWILIO_WEBHOOK_PUBLIC_URL is "
	       "exactly the URL set in Twilio for the number and that "
	       "TWILIO_TOKEN is the account's current Auth Token "
	       "(TWILIO_TOKEN_SECONDARY during a rotation)"); /* F released */
	tw_buf_free(&url);
}

static void logf_level(tw_webhook *w, conn_log_level lv, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));
static void logf_level(tw_webhook *w, conn_log_level lv, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	tw_log(w->host, lv, NULL, line);
}

/* libmicrohttpd's error messages (bind, TLS, resources) into the host's
 * log; they carry no secret (MHD never prints key material). */
static void mhd_logger(void *cls, const char *fmt, va_list ap)
{
	tw_webhook *w = cls;
	char line[512];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = 0;
	logf_level(w, CONN_LOG_WARN, "webhook (libmicrohttpd): %s", line);
}

/* ---- the request path without sockets --------------------------------- */

static int answer(tw_buf *text, int status, const char *msg)
{
	tw_buf_puts(text, msg);
	tw_buf_puts(text, "\n");
	return status;
}

/* application/x-www-form-urlencoded, optionally followed by parameters
 * (; charset=utf-8), case-insensitive, spaces allowed around. */
static int is_form_type(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(want) - 1;

	if (!ct)
		return 0;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	if (strncasecmp(ct, want, n) != 0)
		return 0;
	ct += n;
	while (*ct == ' ' || *ct == '\t')
		ct++;
	return *ct == '\0' || *ct == ';';
}

int tw_webhook_check_head(tw_webhook *w, const tw_webhook_request *rq,
                          tw_buf *text)
{
	const char *path = w->cfg->webhook_path ? w->cfg->webhook_path : "/";

	if (!rq->path || strcmp(rq->path, path) != 0)
		return answer(text, 404,
		              "Not found: the webhook is served at the path "
		              "TWILIO_WEBHOOK_PATH only.");
	if (!rq->method || strcmp(rq->method, "POST") != 0)
		return answer(
		        text, 405,
		        "Method not allowed: set the number's webhook to "
		        "HTTP POST (Twilio console, Messaging, \"A message "
		        "comes in\").");
	if (!is_form_type(rq->content_type))
		return answer(text, 415,
		              "Unsupported media type: the body must be "
		              "application/x-www-form-urlencoded, as Twilio "
		              "sends it.");
	if (rq->content_length) {
		const char *p = rq->content_length;
		unsigned long long n = 0;

		while (*p >= '0' && *p <= '9' && n <= (1ULL << 40))
			n = n * 10 + (unsigned long long)(*p++ - '0');
		if (n > (unsigned long long)w->cfg->webhook_body_limit)
			return answer(text, 413,
			              "Payload too large: the body is over "
			              "TWILIO_WEBHOOK_BODY_LIMIT.");
	}
	return 0;
}

/* The URL Twilio signed: the public URL as configured; when it has no query
 * of its own, the request's raw query (as received, not re-encoded) is
 * appended. A public URL with a query is taken as the whole truth (a
 * proxy forwards that same query). */
static int signed_url(tw_webhook *w, const char *query, tw_buf *url)
{
	const char *pub = w->cfg->webhook_public_url;

	tw_buf_puts(url, pub ? pub : "");
	if (query && pub && !strchr(pub, '?')) {
		tw_buf_puts(url, "?");
		tw_buf_puts(url, query);
	}
	return url->oom ? -1 : 0;
}

int tw_webhook_check_body(tw_webhook *w, const tw_webhook_request *rq,
                          tw_form *form, tw_buf *text)
{
	size_t bad = 0;
	int rc;

	memset(form, 0, sizeof(*form));
	if (rq->body_len > (size_t)w->cfg->webhook_body_limit)
		return answer(text, 413,
		              "Payload too large: the body is over "
		              "TWILIO_WEBHOOK_BODY_LIMIT.");
	rc = tw_form_parse(rq->body ? rq->body : "", rq->body_len,
	                   TW_FORM_STRICT, form, &bad);
	if (rc == TW_FORM_ENOMEM)
		return answer(text, 503, "Service unavailable: out of memory.");
	if (rc != 0) {
		tw_buf_printf(
		        text,
		        "Bad request: malformed form encoding at byte "
		        "offset %zu of the body (a %% must be followed by "
		        "two hexadecimal digits).\n",
		        bad);
		return 400;
	}
	if (w->cfg->validate_signature) {
		tw_sig_keys keys = {.token = w->cfg->token,
		                    .token_secondary = w->cfg->token_secondary,
		                    .signing_key = w->cfg->webhook_signing_key,
		                    .md = w->md};
		tw_sig_request sr = {.form = form,
		                     .signature = rq->signature,
		                     .settings = rq->settings};
		tw_buf url = {0}, checked = {0};

		if (signed_url(w, rq->query, &url) != 0) {
			tw_buf_free(&url);
			tw_form_free(form);
			return answer(text, 503,
			              "Service unavailable: out of memory.");
		}
		sr.url = url.data;
		rc = tw_sig_verify(&sr, &keys, &checked);
		if (rc != 1) {
			tw_form_free(form);
			if (rc < 0) {
				tw_buf_free(&url);
				tw_buf_free(&checked);
				return answer(text, 503,
				              "Service unavailable: out of "
				              "memory.");
			}
			atomic_fetch_add(&w->sig_failures, 1);
			log_sig_failure(w,
			                checked.data ? checked.data : url.data);
			tw_buf_free(&url);
			tw_buf_free(&checked);
			return answer(
			        text, 403,
			        "Forbidden: X-Twilio-Signature is missing "
			        "or does not match.");
		}
		tw_buf_free(&url);
		tw_buf_free(&checked);
	}
	return 0;
}

void (*tw_webhook_test_answer_hook)(void);

/* ---- requests in progress and the matcher pool ---------------------- */

/* Enter tw_inbound_handle(): a matcher for this request, or NULL when the
 * webhook is stopping (answer 503) or out of memory (*NOMEM set). */
static tw_inbound_worker *begin(tw_webhook *w, int *nomem)
{
	tw_inbound_worker *iw = NULL;

	*nomem = 0;
	pthread_mutex_lock(&w->mu);
	if (w->closing) {
		pthread_mutex_unlock(&w->mu);
		return NULL;
	}
	w->inflight++;
	if (w->npool)
		iw = w->pool[--w->npool];
	pthread_mutex_unlock(&w->mu);
	if (!iw && !(iw = tw_inbound_worker_new())) {
		*nomem = 1;
		pthread_mutex_lock(&w->mu);
		if (--w->inflight == 0 && w->closing)
			pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	return iw;
}

/* Leave it: IW back to the pool (or freed beyond the pool's size); RQ is
 * counted as answering until on_completed(): its message may have been
 * published, so stop() lets its answer (the echo) reach Twilio, or Twilio
 * would retry a message that was handled. */
static void end(tw_webhook *w, tw_inbound_worker *iw, wh_req *rq)
{
	pthread_mutex_lock(&w->mu);
	if (w->npool < w->pool_keep) {
		w->pool[w->npool++] = iw;
		iw = NULL;
	}
	w->inflight--;
	w->answering++;
	rq->answering = 1;
	if (w->closing)
		pthread_cond_broadcast(&w->cv);
	pthread_mutex_unlock(&w->mu);
	tw_inbound_worker_free(iw); /* NULL when pooled */
}

/* start(): one matcher (JIT stack, match data) made ahead, so that the
 * first request after a swap does not pay for it. Out of memory: the
 * first request makes it. */
static void warm_pool(tw_webhook *w)
{
	tw_inbound_worker *iw;

	pthread_mutex_lock(&w->mu);
	if (w->npool || !w->pool_keep) {
		pthread_mutex_unlock(&w->mu);
		return;
	}
	pthread_mutex_unlock(&w->mu);
	iw = tw_inbound_worker_new();
	if (!iw)
		return;
	pthread_mutex_lock(&w->mu);
	if (w->npool < w->pool_keep) {
		w->pool[w->npool++] = iw;
		iw = NULL;
	}
	pthread_mutex_unlock(&w->mu);
	tw_inbound_worker_free(iw);
}

static void pool_free(tw_webhook *w)
{
	while (w->npool)
		tw_inbound_worker_free(w->pool[--w->npool]);
}

/* ---- connections and the quiesce ------------------------------------- */

/*
 * After a quiesce the old daemon keeps serving the connections it has, so
 * that no request whose bytes arrived is cut; but a keep-alive client
 * would otherwise stay on the old instance until the idle timeout. So:
 * every answer of a draining daemon says "Connection: close" (the client
 * opens its next connection to the new instance), and when the old
 * instance is shut down its keep-alive clients get TW_WEBHOOK_DRAIN_MS to
 * send that next request; only then is an idle connection (no request
 * started, nothing unread in its socket) closed, counted in
 * "idle_keepalive_closes". Closing idle ones at the quiesce itself (the
 * first version) cut every busy keep-alive client: one sending every few
 * milliseconds is idle at almost any instant, and its next request met
 * the close (tests/bench/swap_soak.c: two lost requests a swap).
 *
 * Closing an idle one: shutdown(SHUT_RD) wakes its thread (poll sees
 * POLLIN, recv() answers 0 once the received bytes are read), and
 * libmicrohttpd closes it with a FIN as for a client that left. Bytes
 * still unread are read first, never dropped, which is what keeps a
 * request that arrived from being reset. What no server can close is the
 * window where the client sends on a connection whose close is already
 * under way (the usual keep-alive race: the client sees EOF before any
 * answer, and an HTTP client retries on a fresh connection; Twilio
 * retries, and the host's store answers the retry).
 */

/* Bytes received so far on FD (TCP_INFO), or UINT64_MAX when unknown. */
static uint64_t rx_bytes(int fd)
{
	struct tcp_info ti;
	socklen_t len = sizeof(ti);

	memset(&ti, 0, sizeof(ti));
	if (getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0 ||
	    len < offsetof(struct tcp_info, tcpi_bytes_received) +
	                    sizeof(ti.tcpi_bytes_received))
		return UINT64_MAX;
	return ti.tcpi_bytes_received;
}

/*
 * Under w->mu: close C if it is idle; 1 when it was closed. Idle: no
 * request started (libmicrohttpd calls on_uri() only once the request
 * line is whole), nothing unread in the socket, and no byte received
 * since the mark (c->rx_mark, the kernel's count of bytes received, taken
 * at the quiesce or when a later request completed), which also covers a
 * request line libmicrohttpd has begun to read after the mark. A request
 * line it had begun to read before the quiesce and whose rest has not come
 * by the end of the drain counts as idle: such a connection would be
 * closed by MHD_stop_daemon() a moment later all the same, and it holds
 * no request yet. (With TLS any record counts.)
 */
static int close_if_idle(tw_webhook *w, wh_conn *c)
{
	int unread = 0;

	if (c->busy || c->closing || c->fd < 0)
		return 0;
	if (ioctl(c->fd, FIONREAD, &unread) != 0 || unread > 0)
		return 0; /* a request is arriving: answered with close */
	if (rx_bytes(c->fd) != c->rx_mark)
		return 0; /* bytes came since: a request has begun */
	/* counted first: whoever sees the close then sees the count */
	atomic_fetch_add(&w->idle_closes, 1);
	if (shutdown(c->fd, SHUT_RD) != 0) {
		atomic_fetch_sub(&w->idle_closes, 1);
		return 0;
	}
	c->closing = 1;
	return 1;
}

/* The connection record of CONN (NULL when it could not be made). */
static wh_conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
	        conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	wh_daemon *dm = cls;
	tw_webhook *w = dm->w;
	wh_conn *c = *socket_context;

	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *ci = MHD_get_connection_info(
		        conn, MHD_CONNECTION_INFO_CONNECTION_FD);

		/* out of memory: untracked, closed by its idle timeout */
		c = calloc(1, sizeof(*c));
		if (!c)
			return;
		c->dm = dm;
		c->fd = ci ? ci->connect_fd : -1;
		pthread_mutex_lock(&w->mu);
		c->next = w->conns;
		if (w->conns)
			w->conns->prev = c;
		w->conns = c;
		pthread_mutex_unlock(&w->mu);
		*socket_context = c;
		return;
	}
	if (!c)
		return;
	pthread_mutex_lock(&w->mu);
	if (c->prev)
		c->prev->next = c->next;
	else
		w->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	if (dm->draining)
		pthread_cond_broadcast(&w->cv); /* stop() waits for these */
	pthread_mutex_unlock(&w->mu);
	free(c);
	*socket_context = NULL;
}

/* A request of CONN started (its request line was read). */
static void conn_busy(tw_webhook *w, struct MHD_Connection *conn)
{
	wh_conn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&w->mu);
	c->busy = 1;
	pthread_mutex_unlock(&w->mu);
}

/* The request of CONN completed: idle again (a connection answered
 * before the quiesce, without "Connection: close", gets its close on its
 * next request, or at the drain in stop()). */
static void conn_idle(tw_webhook *w, struct MHD_Connection *conn, int ok)
{
	wh_conn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&w->mu);
	c->busy = 0;
	if (c->dm->draining) /* else drain() marks it */
		c->rx_mark = rx_bytes(c->fd);
	(void)ok;
	pthread_mutex_unlock(&w->mu);
}

/* 1 when the answer on CONN must say "Connection: close" (its daemon is
 * draining); the connection is then counted as closing. */
static int conn_must_close(tw_webhook *w, struct MHD_Connection *conn)
{
	wh_conn *c = conn_of(conn);
	int close = 0;

	if (!c)
		return 0;
	pthread_mutex_lock(&w->mu);
	if (c->dm->draining) {
		c->closing = 1;
		close = 1;
	}
	pthread_mutex_unlock(&w->mu);
	return close;
}

/* Under no lock, host thread: mark DM draining (its answers say
 * "Connection: close" from now on) and its idle connections' byte counts
 * (a busy one is marked when its request completes: conn_idle()). */
static void drain(tw_webhook *w, wh_daemon *dm)
{
	pthread_mutex_lock(&w->mu);
	dm->draining = 1;
	for (wh_conn *c = w->conns; c; c = c->next)
		if (c->dm == dm && !c->busy && c->fd >= 0)
			c->rx_mark = rx_bytes(c->fd);
	pthread_mutex_unlock(&w->mu);
}

/* Under w->mu: the open connections of draining daemons. */
static size_t draining_conns(tw_webhook *w)
{
	size_t n = 0;

	for (wh_conn *c = w->conns; c; c = c->next)
		n += c->dm->draining;
	return n;
}

/* stop(), before refusing new work: the keep-alive clients of quiesced
 * daemons get until min(TW_WEBHOOK_DRAIN_MS, DEADLINE_MS) to send their
 * next request (answered with "Connection: close"); then the idle ones
 * are closed (a request in progress is answered, with the close). */
static void drain_keepalives(tw_webhook *w, int64_t deadline_ms)
{
	int64_t until = conn_deadline_add(conn_now_ms(), TW_WEBHOOK_DRAIN_MS);
	struct timespec ts;

	if (deadline_ms < until)
		until = deadline_ms;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		int64_t left = until - conn_now_ms();
		if (!draining_conns(w) || left <= 0)
			break;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_sec += (time_t)(left / 1000);
		ts.tv_nsec += (long)(left % 1000) * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&w->cv, &w->mu, &ts);
	}
	long long before = atomic_load(&w->idle_closes), n;
	for (wh_conn *c = w->conns; c; c = c->next)
		if (c->dm->draining)
			close_if_idle(w, c);
	pthread_mutex_unlock(&w->mu);
	/* the old instance's stats go with it: the count goes to the log */
	n = atomic_load(&w->idle_closes) - before;
	if (n > 0) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "idle_keepalive_closes",
		                       json_object_new_int64(n));
		tw_log(w->host, CONN_LOG_INFO, f,
		       "webhook: idle keep-alive connections of the old "
		       "instance closed after the drain (a client sending "
		       "then reconnects to the new one)");
	}
}

/* ---- libmicrohttpd callbacks ------------------------------------------ */

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *conn)
{
	const char *q = uri ? strchr(uri, '?') : NULL;
	wh_req *rq = calloc(1, sizeof(*rq));

	conn_busy(cls, conn);
	if (!rq)
		return NULL; /* answered 503 by the handler */
	rq->conn = conn;
	if (q && !(rq->query = strdup(q + 1))) {
		free(rq);
		return NULL;
	}
	return rq;
}

static void free_req(wh_req *rq)
{
	if (!rq)
		return;
	free(rq->query);
	tw_buf_free(&rq->body);
	tw_buf_free(&rq->out);
	tw_form_free(&rq->form);
	free(rq);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **ctx,
                         enum MHD_RequestTerminationCode toe)
{
	tw_webhook *w = cls;
	wh_req *rq = *ctx;

	/* a request that ended in an error closes its connection anyway */
	conn_idle(w, conn, toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	if (rq && rq->answering) {
		pthread_mutex_lock(&w->mu);
		w->answering--;
		if (w->closing)
			pthread_cond_broadcast(&w->cv);
		pthread_mutex_unlock(&w->mu);
	}
	free_req(rq);
	*ctx = NULL;
}

static enum MHD_Result respond(tw_webhook *w, struct MHD_Connection *conn,
                               int status, tw_buf *body, int twiml)
{
	struct MHD_Response *r;
	enum MHD_Result ok;
	size_t len = 0;
	char *data;

	if (body->oom)
		tw_buf_clear(body);
	data = tw_buf_take(body, &len);
	r = data ? MHD_create_response_from_buffer(len, data,
	                                           MHD_RESPMEM_MUST_FREE)
	         : NULL;
	if (!r) {
		free(data);
		return MHD_NO; /* out of memory: the connection is closed */
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
	                        twiml ? "text/xml"
	                              : "text/plain; charset=utf-8");
	if (status == 405)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "POST");
	if (status == 503)
		MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "1");
	/* quiesced: the client's next request goes to the new instance */
	if (conn_must_close(w, conn))
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	tw_webhook_count(w, status);
	ok = MHD_queue_response(conn, (unsigned int)status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result respond_text(tw_webhook *w, struct MHD_Connection *conn,
                                    int status, const char *msg)
{
	tw_buf b = {0};
	enum MHD_Result ok;

	tw_buf_puts(&b, msg);
	ok = respond(w, conn, status, &b, 0);
	tw_buf_free(&b);
	return ok;
}

static const char *header(struct MHD_Connection *conn, const char *name)
{
	return MHD_lookup_connection_value(conn, MHD_HEADER_KIND, name);
}

static void fill_request(struct MHD_Connection *conn, const char *url,
                         const char *method, wh_req *rq,
                         tw_webhook_request *out)
{
	memset(out, 0, sizeof(*out));
	out->method = method;
	out->path = url;
	out->query = rq->query;
	out->content_type = header(conn, MHD_HTTP_HEADER_CONTENT_TYPE);
	out->content_length = header(conn, MHD_HTTP_HEADER_CONTENT_LENGTH);
	out->signature = header(conn, "X-Twilio-Signature");
	out->settings = header(conn, "X-Twilio-Webhooks-Signature-Settings");
	out->body = rq->body.data;
	out->body_len = rq->body.len;
}

/* The body arrived whole: decode, verify, match, publish and answer, on
 * this connection's own thread. */
static enum MHD_Result on_body_done(tw_webhook *w, struct MHD_Connection *conn,
                                    const char *url, const char *method,
                                    wh_req *rq)
{
	tw_webhook_request req;
	tw_inbound_worker *iw;
	int status, nomem;

	if (rq->discarded)
		return respond_text(w, conn, 413,
		                    "Payload too large: the body is over "
		                    "TWILIO_WEBHOOK_BODY_LIMIT.\n");
	fill_request(conn, url, method, rq, &req);
	status = tw_webhook_check_body(w, &req, &rq->form, &rq->out);
	if (status != 0)
		return respond(w, conn, status, &rq->out, 0);
	tw_buf_free(&rq->body); /* the form holds its own decoded copy */
	iw = begin(w, &nomem);
	if (!iw)
		return respond_text(w, conn, 503,
		                    nomem ? "Service unavailable: out of "
		                            "memory; retry.\n"
		                          : "Service unavailable: shutting "
		                            "down; retry.\n");
	status = tw_inbound_handle(w->in, iw, &rq->form, &rq->out);
	end(w, iw, rq);
	if (tw_webhook_test_answer_hook)
		tw_webhook_test_answer_hook();
	if (rq->out.oom) {
		tw_buf_clear(&rq->out);
		return respond_text(w, conn, 503,
		                    "Service unavailable: out of memory; "
		                    "retry.\n");
	}
	return respond(w, conn, status, &rq->out, status == 200);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *data,
                                  size_t *size, void **ctx)
{
	tw_webhook *w = cls;
	wh_req *rq = *ctx;

	(void)version;
	if (!rq)
		return respond_text(w, conn, 503,
		                    "Service unavailable: out of memory.\n");
	switch (rq->state) {
	case RQ_HEAD: {
		tw_webhook_request req;
		tw_buf text = {0};
		enum MHD_Result ok;
		int status;

		atomic_fetch_add(&w->requests, 1);
		fill_request(conn, url, method, rq, &req);
		status = tw_webhook_check_head(w, &req, &text);
		if (status == 0) {
			rq->state = RQ_BODY;
			return MHD_YES;
		}
		/* answered before the body is read: libmicrohttpd closes
		 * the connection after the answer */
		ok = respond(w, conn, status, &text, 0);
		tw_buf_free(&text);
		return ok;
	}
	case RQ_BODY:
		if (*size) {
			size_t limit = (size_t)w->cfg->webhook_body_limit;
			size_t room = limit - rq->body.len;
			size_t take = *size < room ? *size : room;

			if (take && tw_buf_append(&rq->body, data, take) != 0)
				return MHD_NO;
			rq->discarded += *size - take;
			*size = 0;
			/* a client that keeps sending past the limit is
			 * cut off: no unbounded reading for a 413 */
			return rq->discarded > TW_WEBHOOK_DISCARD_MAX ? MHD_NO
			                                              : MHD_YES;
		}
		return on_body_done(w, conn, url, method, rq);
	}
	return MHD_NO;
}

/* ---- lifecycle -------------------------------------------------------- */

tw_webhook *tw_webhook_new(const conn_host *host, const tw_config *cfg,
                           tw_inbound *in, char *err, size_t errlen)
{
	tw_webhook *w = calloc(1, sizeof(*w));

	if (!w) {
		if (err && errlen)
			snprintf(err, errlen, "webhook: out of memory");
		return NULL;
	}
	w->host = host;
	w->cfg = cfg;
	w->in = in;
	w->listen_fd = -1;
	w->md = tw_sig_md_new(); /* NULL: the slower one-shot HMAC */
	w->pool_keep = cfg->webhook_max_connections > 0 &&
	                               cfg->webhook_max_connections <
	                                       TW_WEBHOOK_POOL_MAX
	                       ? (size_t)cfg->webhook_max_connections
	                       : TW_WEBHOOK_POOL_MAX;
	w->pool = calloc(w->pool_keep, sizeof(*w->pool));
	if (!w->pool) {
		tw_sig_md_free(w->md);
		free(w);
		if (err && errlen)
			snprintf(err, errlen, "webhook: out of memory");
		return NULL;
	}
	pthread_mutex_init(&w->mu, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&w->cv, &ca);
		pthread_condattr_destroy(&ca);
	}
	pthread_mutex_init(&w->log_mu, NULL);
	return w;
}

/* Bind and listen on TWILIO_WEBHOOK_LISTEN (HOST:PORT, [V6]:PORT). */
static int bind_listen(tw_webhook *w, char *err, size_t errlen)
{
	const char *v = w->cfg->webhook_listen;
	const char *colon = strrchr(v, ':');
	struct addrinfo hints, *res = NULL, *ai;
	char host[256];
	size_t hl = (size_t)(colon - v);
	int fd = -1, one = 1, rc, e = 0;

	if (v[0] == '[') {
		v++;
		hl -= 2;
	}
	if (hl >= sizeof(host)) {
		tw_errf(err, errlen, "TWILIO_WEBHOOK_LISTEN: address too long");
		return CONN_EINVAL;
	}
	memcpy(host, v, hl);
	host[hl] = 0;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hl ? host : NULL, colon + 1, &hints, &res);
	if (rc != 0) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_LISTEN: cannot resolve '%.200s': %s",
		        w->cfg->webhook_listen, gai_strerror(rc));
		return CONN_EINVAL;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0) {
			e = errno;
			continue;
		}
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0)
			break;
		e = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		tw_errf(err, errlen,
		        "TWILIO_WEBHOOK_LISTEN: cannot listen on '%.200s': %s "
		        "(is the port in use, or below 1024 without the "
		        "privilege?)",
		        w->cfg->webhook_listen, strerror(e));
		return CONN_EIO;
	}
	w->listen_fd = fd;
	return 0;
}

/* The bound address and port of the listening socket, for logs and stats. */
static void learn_address(tw_webhook *w)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	w->address[0] = 0;
	if (getsockname(w->listen_fd, (struct sockaddr *)&ss, &sl) != 0)
		return;
	if (ss.ss_family == AF_INET) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, w->address,
		          sizeof(w->address));
		atomic_store(&w->port, ntohs(s4->sin_port));
	} else if (ss.ss_family == AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, w->address,
		          sizeof(w->address));
		atomic_store(&w->port, ntohs(s6->sin6_port));
	}
}

/* Read a PEM file (at most TW_WEBHOOK_PEM_MAX bytes) into a string. */
static char *read_pem(const char *key, const char *path, int secure, char *err,
                      size_t errlen)
{
	struct stat st;
	char *buf = NULL;
	size_t n = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    (size_t)st.st_size > TW_WEBHOOK_PEM_MAX) {
		int e = fd < 0 ? errno : EINVAL;

		if (secure)
			tw_errf(err, errlen,
			        "%s: cannot read the file it names as a PEM "
			        "file of at most 1 MiB: %s",
			        key, strerror(e));
		else
			tw_errf(err, errlen,
			        "%s: cannot read '%.300s' as a PEM file of at "
			        "most 1 MiB: %s",
			        key, path, strerror(e));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	buf = malloc((size_t)st.st_size + 1);
	while (buf && n < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + n, (size_t)st.st_size - n);

		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (!buf) {
		tw_errf(err, errlen, "%s: out of memory", key);
		return NULL;
	}
	buf[n] = 0;
	return buf;
}

static void wipe_free(char *s)
{
	if (s) {
		volatile char *p = s;

		while (*p)
			*p++ = 0;
		free(s);
	}
}

/* Start a daemon on w->listen_fd: its record (w->daemon and w->cur set),
 * or NULL. */
static wh_daemon *start_daemon(tw_webhook *w)
{
	wh_daemon *dm = calloc(1, sizeof(*dm));
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ITC |
	                     MHD_USE_THREAD_PER_CONNECTION | MHD_USE_AUTO |
	                     MHD_USE_ERROR_LOG;
	struct MHD_OptionItem ops[16];
	sigset_t old;
	int i = 0;

	if (!dm)
		return NULL;
	dm->w = w;
	if (w->tls_cert)
		flags |= MHD_USE_TLS;
#define OPT(o, v, p) ops[i++] = (struct MHD_OptionItem){(o), (intptr_t)(v), (p)}
	OPT(MHD_OPTION_LISTEN_SOCKET, w->listen_fd, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, w->cfg->webhook_max_connections, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, TW_WEBHOOK_CONN_MEMORY, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, w->cfg->webhook_max_per_ip,
	    NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, w->cfg->webhook_idle_timeout_s,
	    NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, on_uri, w);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, on_completed, w);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, on_connection, dm);
	if (w->tls_cert) {
		/* in an option array, strings go in ptr_value */
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, w->tls_cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, w->tls_key);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	/* the logger first among the varargs (inside the array it is not:
	 * libmicrohttpd then warns "MHD_OPTION_EXTERNAL_LOGGER is not the
	 * first option" at every start, and prints the errors of options
	 * before it to stderr itself) */
	/* its threads (daemon, then each connection's, made by the daemon's)
	 * inherit this mask: no asynchronous signal in them */
	tw_block_async_signals(&old);
	dm->d = MHD_start_daemon(flags, 0, NULL, NULL, on_request, w,
	                         MHD_OPTION_EXTERNAL_LOGGER, mhd_logger, w,
	                         MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!dm->d) {
		free(dm);
		return NULL;
	}
	w->daemon = dm->d;
	w->cur = dm;
	return dm;
}

static int take_handoff_fd(conn_handoff *h)
{
	size_t i;
	int fd;

	if (!h)
		return -1;
	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++)
		if (h->fds[i] >= 0 &&
		    strcmp(h->names[i], TW_WEBHOOK_HANDOFF_NAME) == 0) {
			fd = h->fds[i];
			h->fds[i] = -1;
			h->names[i][0] = 0;
			return fd;
		}
	return -1;
}

int tw_webhook_start(tw_webhook *w, conn_handoff *handoff, char *err,
                     size_t errlen)
{
	const tw_config *c = w->cfg;
	int rc, fd = take_handoff_fd(handoff);

	if (w->started) {
		tw_errf(err, errlen, "webhook: already started");
		return CONN_ESTATE;
	}
	if (c->webhook_tls_cert) {
		w->tls_cert = read_pem("TWILIO_WEBHOOK_TLS_CERT",
		                       c->webhook_tls_cert, 0, err, errlen);
		w->tls_key = w->tls_cert ? read_pem("TWILIO_WEBHOOK_TLS_KEY",
		                                    c->webhook_tls_key, 1, err,
		                                    errlen)
		                         : NULL;
		if (!w->tls_key) {
			rc = CONN_EINVAL;
			goto fail;
		}
	}
	if (fd >= 0)
		w->listen_fd = fd;
	else if ((rc = bind_listen(w, err, errlen)) != 0)
		goto fail;
	learn_address(w);
	pthread_mutex_lock(&w->mu);
	w->closing = 0;
	pthread_mutex_unlock(&w->mu);
	warm_pool(w);
	if (!start_daemon(w)) {
		tw_errf(err, errlen,
		        "webhook: libmicrohttpd did not start on %s:%d%s "
		        "(see the log)",
		        w->address, atomic_load(&w->port),
		        w->tls_cert ? "; check that TWILIO_WEBHOOK_TLS_CERT "
		                      "and TWILIO_WEBHOOK_TLS_KEY are PEM, "
		                      "match, and the key is unencrypted"
		                    : "");
		rc = CONN_EIO;
		goto fail;
	}
	w->started = 1;
	w->quiesced = 0;
	logf_level(w, CONN_LOG_INFO,
	           "webhook listening on %s%s%s:%d%s (path %s, at most %ld "
	           "connections, signatures %s)",
	           strchr(w->address, ':') ? "[" : "", w->address,
	           strchr(w->address, ':') ? "]" : "", atomic_load(&w->port),
	           w->tls_cert ? " with TLS" : "",
	           c->webhook_path ? c->webhook_path : "/",
	           c->webhook_max_connections,
	           c->validate_signature ? "validated" : "NOT validated");
	if (!c->validate_signature)
		tw_log(w->host, CONN_LOG_WARN, NULL,
		       "webhook: TWILIO_VALIDATE_SIGNATURE is false: any "
		       "client that reaches the port can inject messages; "
		       "set it to true (with TWILIO_WEBHOOK_PUBLIC_URL) "
		       "outside tests");
	return 0;
fail:
	if (w->listen_fd >= 0 && fd < 0)
		close(w->listen_fd);
	else if (fd >= 0 && handoff) {
		/* give the borrowed socket back */
		size_t i;

		for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++)
			if (handoff->fds[i] < 0) {
				handoff->fds[i] = fd;
				snprintf(handoff->names[i],
				         CONN_HANDOFF_NAME_MAX, "%s",
				         TW_WEBHOOK_HANDOFF_NAME);
				break;
			}
	}
	w->listen_fd = -1;
	wipe_free(w->tls_key);
	free(w->tls_cert);
	w->tls_key = w->tls_cert = NULL;
	return rc;
}

/* Stop the quiesced daemons that have no connection left (they only
 * waited for those). */
static void prune_old(tw_webhook *w)
{
	wh_daemon **pp = &w->old;

	while (*pp) {
		wh_daemon *o = *pp;
		const union MHD_DaemonInfo *info = MHD_get_daemon_info(
		        o->d, MHD_DAEMON_INFO_CURRENT_CONNECTIONS);

		if (info && info->num_connections == 0) {
			*pp = o->next;
			MHD_stop_daemon(o->d);
			free(o);
			w->nold--;
		} else {
			pp = &o->next;
		}
	}
}

int tw_webhook_quiesce(tw_webhook *w, conn_handoff *out)
{
	wh_daemon *o = w->cur;
	size_t i;
	int fd;

	if (!w->started || w->quiesced || !w->daemon || !o)
		return CONN_ESTATE;
	for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++)
		if (out && out->fds[i] < 0)
			break;
	if (!out || i == CONN_HANDOFF_MAX_FDS)
		return CONN_EFULL;
	fd = MHD_quiesce_daemon(w->daemon);
	if (fd < 0)
		return CONN_ESTATE;
	out->fds[i] = fd;
	snprintf(out->names[i], CONN_HANDOFF_NAME_MAX, "%s",
	         TW_WEBHOOK_HANDOFF_NAME);
	w->listen_fd = -1; /* the hand-off's now */
	o->next = w->old;
	w->old = o;
	w->nold++;
	w->daemon = NULL;
	w->cur = NULL;
	w->quiesced = 1;
	/* in-flight answers say "Connection: close", idle ones close */
	drain(w, o);
	prune_old(w);
	return 0;
}

int tw_webhook_resume(tw_webhook *w, conn_handoff *handoff, char *err,
                      size_t errlen)
{
	int fd;

	if (!w->started || !w->quiesced) {
		tw_errf(err, errlen, "webhook: not quiesced");
		return CONN_ESTATE;
	}
	prune_old(w);
	if (w->nold >= TW_WEBHOOK_OLD_MAX) {
		tw_errf(err, errlen,
		        "webhook: %d quiesced servers still have open "
		        "connections; retry when they have closed",
		        TW_WEBHOOK_OLD_MAX);
		return CONN_EBUSY;
	}
	fd = take_handoff_fd(handoff);
	if (fd < 0) {
		tw_errf(err, errlen,
		        "webhook: the hand-off holds no '%s' socket to resume "
		        "on",
		        TW_WEBHOOK_HANDOFF_NAME);
		return CONN_EINVAL;
	}
	w->listen_fd = fd;
	if (!start_daemon(w)) {
		size_t i;

		/* the socket goes back where it was taken from */
		for (i = 0; i < CONN_HANDOFF_MAX_FDS; i++)
			if (handoff->fds[i] < 0) {
				handoff->fds[i] = fd;
				snprintf(handoff->names[i],
				         CONN_HANDOFF_NAME_MAX, "%s",
				         TW_WEBHOOK_HANDOFF_NAME);
				break;
			}
		w->listen_fd = -1;
		tw_errf(err, errlen,
		        "webhook: libmicrohttpd did not restart (see the log)");
		return CONN_EIO;
	}
	w->quiesced = 0; /* same socket: same address and port */
	return 0;
}

int tw_webhook_stop(tw_webhook *w, int64_t deadline_ms)
{
	struct timespec ts;
	int64_t left;

	if (!w || !w->started)
		return 0;
	/* no new connections; the socket is closed below unless handed off */
	if (w->daemon && !w->quiesced) {
		int fd = MHD_quiesce_daemon(w->daemon);

		if (fd >= 0)
			close(fd);
		w->listen_fd = -1;
	}
	if (w->old)
		drain_keepalives(w, deadline_ms);
	/* new requests are answered 503; the ones inside tw_inbound_handle()
	 * (bounded by 10 s) finish, and the answers of handled ones are sent
	 * (a message published but not answered would come back from
	 * Twilio's retry), by DEADLINE_MS */
	pthread_mutex_lock(&w->mu);
	w->closing = 1;
	left = conn_ms_left(deadline_ms);
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(left / 1000);
	ts.tv_nsec += (long)(left % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while ((w->inflight || w->answering) &&
	       pthread_cond_timedwait(&w->cv, &w->mu, &ts) != ETIMEDOUT)
		;
	if (w->inflight) {
		pthread_mutex_unlock(&w->mu);
		tw_log(w->host, CONN_LOG_WARN, NULL,
		       "webhook: a request is still inside the inbound "
		       "handler at the shutdown deadline; call shutdown "
		       "again");
		return CONN_EBUSY;
	}
	if (w->answering) {
		/* a client that does not read its answer: cut, as its
		 * connection is closed below */
		json_object *f = json_object_new_object();

		json_object_object_add(
		        f, "answers",
		        json_object_new_int64((int64_t)w->answering));
		pthread_mutex_unlock(&w->mu);
		tw_log(w->host, CONN_LOG_WARN, f,
		       "webhook: answers not yet read by their clients at the "
		       "shutdown deadline are dropped (Twilio retries those "
		       "messages; the host's store answers the retry)");
	} else {
		pthread_mutex_unlock(&w->mu);
	}
	/* no connection thread waits on the host now: the daemons close
	 * their connections and join their threads */
	if (w->daemon) {
		MHD_stop_daemon(w->daemon);
		w->daemon = NULL;
		free(w->cur);
		w->cur = NULL;
	}
	while (w->old) {
		wh_daemon *o = w->old;

		w->old = o->next;
		MHD_stop_daemon(o->d);
		free(o);
	}
	w->nold = 0;
	pool_free(w);
	/* as after tw_webhook_new(): start() may run again */
	wipe_free(w->tls_key);
	free(w->tls_cert);
	w->tls_key = w->tls_cert = NULL;
	w->started = 0;
	w->quiesced = 0;
	return 0;
}

void tw_webhook_free(tw_webhook *w)
{
	if (!w)
		return;
	pool_free(w);
	free(w->pool);
	tw_sig_md_free(w->md);
	wipe_free(w->tls_key);
	free(w->tls_cert);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->cv);
	pthread_mutex_destroy(&w->log_mu);
	free(w);
}

json_object *tw_webhook_stats(tw_webhook *w)
{
	json_object *o = json_object_new_object(), *bs;
	size_t i, inflight;

	if (!o)
		return NULL;
	bs = json_object_new_object();
	for (i = 0; i <= TW_NSTATUS; i++) {
		char k[16];
		long long n = atomic_load(&w->by_status[i]);

		if (!n)
			continue;
		if (i < TW_NSTATUS)
			snprintf(k, sizeof(k), "%d", tw_statuses[i]);
		else
			snprintf(k, sizeof(k), "other");
		json_object_object_add(bs, k, json_object_new_int64(n));
	}
	pthread_mutex_lock(&w->mu);
	inflight = w->inflight;
	pthread_mutex_unlock(&w->mu);
	json_object_object_add(o, "address",
	                       json_object_new_string(w->address));
	json_object_object_add(o, "port",
	                       json_object_new_int(atomic_load(&w->port)));
	json_object_object_add(
	        o, "tls",
	        json_object_new_boolean(w->cfg->webhook_tls_cert != NULL));
	json_object_object_add(
	        o, "requests",
	        json_object_new_int64(atomic_load(&w->requests)));
	json_object_object_add(o, "by_status", bs);
	json_object_object_add(
	        o, "signature_failures",
	        json_object_new_int64(atomic_load(&w->sig_failures)));
	json_object_object_add(o, "in_progress",
	                       json_object_new_int64((int64_t)inflight));
	json_object_object_add(
	        o, "idle_keepalive_closes",
	        json_object_new_int64(atomic_load(&w->idle_closes)));
	return o;
}
