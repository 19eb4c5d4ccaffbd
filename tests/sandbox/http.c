/*
 * http.c - twilio-sandbox's libmicrohttpd glue: the daemon (thread pool,
 * epoll, keep-alive, optional TLS), per-connection request counting, the
 * request handler that feeds api.c, fault injection, delayed responses
 * (suspend + a timer thread that resumes), and the --record / --requests
 * lines.
 *
 * Owns the daemon, the timer thread and every per-connection and
 * per-request state; all of it lives between sb_server_start() and
 * sb_server_stop().
 */
#include "sandbox.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define JSON_TYPE "application/json; charset=utf-8"

/* One per TCP connection, from MHD's connection notifications. */
typedef struct conn_state {
	unsigned long id;
	unsigned long requests;
} conn_state;

/* What the faults decided for one POST. */
typedef struct plan {
	const sb_fault *main; /* 429/500/503/drop-after/truncate/nonjson */
	long latency_ms;
	long slow_ms;
	char names[96]; /* for the requests file, e.g. "latency+429" */
} plan;

/* One per HTTP request. */
typedef struct req {
	conn_state *cs;
	unsigned long on_conn; /* 1 for the first request of a connection */
	sb_buf body;
	bool too_big;
	bool have_result; /* resumed after a latency delay */
	bool drop;        /* close instead of answering */
	bool answered;    /* refused before the body was read */
	struct MHD_Response *pending;
	unsigned pending_status;
} req;

/* A response body sent in two halves with a stall in between. */
typedef struct slow_body {
	char *data;
	size_t len, half;
	long ms;
	bool stalled;
	struct MHD_Connection *conn;
} slow_body;

typedef struct timer_entry {
	uint64_t due_ns;
	struct MHD_Connection *conn;
} timer_entry;

static struct {
	struct MHD_Daemon *daemon;
	const sb_server_opts *o;
	atomic_ulong conn_ids, request_n;
	/* the timer thread resuming suspended connections */
	pthread_t timer;
	bool timer_running;
	pthread_mutex_t tlock;
	pthread_cond_t tcond;
	bool tstop;
	timer_entry *heap;
	size_t theap_n, theap_cap;
} srv;

/* Set by a handler that closes a connection on purpose (drop-after), so
 * MHD's "internal error" message for it is not logged. */
static __thread bool quiet_close;

/* ---- timer ------------------------------------------------------------ */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

static void heap_push(timer_entry e)
{
	size_t i = srv.theap_n++;

	while (i > 0 && srv.heap[(i - 1) / 2].due_ns > e.due_ns) {
		srv.heap[i] = srv.heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	srv.heap[i] = e;
}

static timer_entry heap_pop(void)
{
	timer_entry top = srv.heap[0], last = srv.heap[--srv.theap_n];
	size_t i = 0, n = srv.theap_n;

	for (;;) {
		size_t c = 2 * i + 1;

		if (c >= n)
			break;
		if (c + 1 < n && srv.heap[c + 1].due_ns < srv.heap[c].due_ns)
			c++;
		if (last.due_ns <= srv.heap[c].due_ns)
			break;
		srv.heap[i] = srv.heap[c];
		i = c;
	}
	if (n)
		srv.heap[i] = last;
	return top;
}

/*
 * Suspend CONN (from its handler or content reader) and resume it after MS
 * milliseconds. Returns false, without suspending, when the server is
 * stopping or memory is short: the caller then goes on at once.
 */
static bool timer_suspend(struct MHD_Connection *conn, long ms)
{
	timer_entry e = {now_ns() + (uint64_t)ms * 1000000ULL, conn};

	pthread_mutex_lock(&srv.tlock);
	if (srv.tstop || !srv.timer_running) {
		pthread_mutex_unlock(&srv.tlock);
		return false;
	}
	if (srv.theap_n == srv.theap_cap) {
		size_t cap = srv.theap_cap ? srv.theap_cap * 2 : 64;
		timer_entry *h = realloc(srv.heap, cap * sizeof *h);

		if (!h) {
			pthread_mutex_unlock(&srv.tlock);
			return false;
		}
		srv.heap = h;
		srv.theap_cap = cap;
	}
	/* suspend before the entry exists, so a resume never comes first */
	MHD_suspend_connection(conn);
	heap_push(e);
	pthread_cond_signal(&srv.tcond);
	pthread_mutex_unlock(&srv.tlock);
	return true;
}

static void *timer_main(void *arg)
{
	pthread_mutex_lock(&srv.tlock);
	while (!srv.tstop || srv.theap_n > 0) {
		uint64_t now = now_ns();

		if (srv.theap_n > 0 &&
		    (srv.tstop || srv.heap[0].due_ns <= now)) {
			timer_entry e = heap_pop();

			pthread_mutex_unlock(&srv.tlock);
			MHD_resume_connection(e.conn);
			pthread_mutex_lock(&srv.tlock);
		} else if (srv.theap_n > 0) {
			uint64_t due = srv.heap[0].due_ns;
			struct timespec ts = {(time_t)(due / 1000000000ULL),
			                      (long)(due % 1000000000ULL)};

			pthread_cond_timedwait(&srv.tcond, &srv.tlock, &ts);
		} else {
			pthread_cond_wait(&srv.tcond, &srv.tlock);
		}
	}
	pthread_mutex_unlock(&srv.tlock);
	return arg;
}

static int timer_start(void)
{
	pthread_condattr_t ca;

	pthread_mutex_init(&srv.tlock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv.tcond, &ca);
	pthread_condattr_destroy(&ca);
	if (pthread_create(&srv.timer, NULL, timer_main, NULL) != 0)
		return -1;
	srv.timer_running = true;
	return 0;
}

/* Resume every suspended connection now and end the timer thread. */
static void timer_stop(void)
{
	if (!srv.timer_running)
		return;
	pthread_mutex_lock(&srv.tlock);
	srv.tstop = true;
	pthread_cond_signal(&srv.tcond);
	pthread_mutex_unlock(&srv.tlock);
	pthread_join(srv.timer, NULL);
	srv.timer_running = false;
}

/* ---- records ---------------------------------------------------------- */

static void log_request(const char *method, const char *url, unsigned status,
                        const char *fault, unsigned long conn,
                        unsigned long on_conn)
{
	sb_buf b = {0};
	char *line;
	size_t len;

	if (!srv.o->requests)
		return;
	sb_printf(&b, "{\"n\":%lu,\"method\":",
	          atomic_fetch_add(&srv.request_n, 1) + 1);
	sb_json_str(&b, method);
	sb_puts(&b, ",\"path\":");
	sb_json_str(&b, url);
	sb_printf(&b, ",\"status\":%u,\"fault\":", status);
	sb_json_str(&b, fault);
	sb_printf(&b, ",\"connection\":%lu,\"request_on_connection\":%lu}\n",
	          conn, on_conn);
	line = sb_buf_take(&b, &len);
	if (line)
		sb_lines_write(srv.o->requests, line, len);
	free(line);
}

static void log_record(const sb_reply *r, const req *q)
{
	sb_buf b = {0};
	char *line;
	size_t len;

	if (!srv.o->record || !r->record)
		return;
	sb_putn(&b, r->record, r->record_len);
	sb_printf(&b, ",\"connection\":%lu,\"request\":%lu}\n",
	          q->cs ? q->cs->id : 0, q->on_conn);
	line = sb_buf_take(&b, &len);
	if (line)
		sb_lines_write(srv.o->record, line, len);
	free(line);
}

/* ---- faults ----------------------------------------------------------- */

static void plan_name(plan *p, const sb_fault *f)
{
	size_t n = strlen(p->names);

	snprintf(p->names + n, sizeof p->names - n, "%s%s", n ? "+" : "",
	         sb_fault_name(f->kind));
}

/* Count this POST against every fault and decide what applies. */
static void plan_faults(plan *p, bool reused)
{
	size_t i;

	memset(p, 0, sizeof *p);
	for (i = 0; i < srv.o->nfaults; i++) {
		sb_fault *f = &srv.o->faults[i];

		if (f->kind == SB_F_DROP_BEFORE || !sb_fault_fires(f, reused))
			continue;
		if (f->kind == SB_F_LATENCY) {
			p->latency_ms += f->ms;
		} else if (f->kind == SB_F_SLOW) {
			if (f->ms > p->slow_ms)
				p->slow_ms = f->ms;
		} else if (!p->main) {
			p->main = f;
		} else {
			continue; /* shadowed by an earlier fault */
		}
		plan_name(p, f);
	}
}

static enum MHD_Result on_accept(void *cls, const struct sockaddr *addr,
                                 socklen_t len)
{
	size_t i;

	for (i = 0; i < srv.o->nfaults; i++) {
		sb_fault *f = &srv.o->faults[i];

		if (f->kind == SB_F_DROP_BEFORE && sb_fault_fires(f, false)) {
			log_request(NULL, NULL, 0, "drop-before",
			            atomic_fetch_add(&srv.conn_ids, 1) + 1, 0);
			return MHD_NO;
		}
	}
	return MHD_YES;
}

/* ---- responses -------------------------------------------------------- */

static ssize_t slow_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	slow_body *s = cls;
	size_t end, n;

	if (pos >= s->len)
		return MHD_CONTENT_READER_END_OF_STREAM;
	if (pos >= s->half && !s->stalled) {
		s->stalled = true;
		if (timer_suspend(s->conn, s->ms))
			return 0; /* called again after the resume */
	}
	end = pos < s->half ? s->half : s->len;
	n = end - (size_t)pos < max ? end - (size_t)pos : max;
	memcpy(buf, s->data + pos, n);
	return (ssize_t)n;
}

static void slow_free(void *cls)
{
	slow_body *s = cls;

	free(s->data);
	free(s);
}

/* A response owning BODY (malloc'd, freed here also on failure). */
static struct MHD_Response *make_response(struct MHD_Connection *conn,
                                          char *body, size_t len, long slow_ms)
{
	struct MHD_Response *resp;
	slow_body *s;

	if (slow_ms <= 0 || len < 2)
		return MHD_create_response_from_buffer(len, body,
		                                       MHD_RESPMEM_MUST_FREE);
	s = calloc(1, sizeof *s);
	if (!s) {
		free(body);
		return NULL;
	}
	*s = (slow_body){body, len, len / 2, slow_ms, false, conn};
	resp = MHD_create_response_from_callback(len, 4096, slow_read, s,
	                                         slow_free);
	if (!resp)
		slow_free(s);
	return resp;
}

static const char nonjson_body[] =
        "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title></head>"
        "<body><h1>Bad Gateway</h1><p>The sandbox was told to answer with "
        "HTML (fault nonjson).</p></body></html>\n";

/* Turn R into an MHD response with its headers; NULL on OOM. */
static struct MHD_Response *build(struct MHD_Connection *conn, sb_reply *r,
                                  const plan *p)
{
	const char *type = JSON_TYPE;
	struct MHD_Response *resp;
	char *body = r->body;
	size_t len = r->len;

	r->body = NULL;
	if (p && p->main && p->main->kind == SB_F_NONJSON && r->status == 201) {
		free(body);
		len = sizeof nonjson_body - 1;
		body = malloc(len + 1);
		if (!body)
			return NULL;
		memcpy(body, nonjson_body, len + 1);
		type = "text/html; charset=utf-8";
	} else if (p && p->main && p->main->kind == SB_F_TRUNCATE &&
	           r->status == 201) {
		len /= 2;
	}
	resp = make_response(conn, body, len, p ? p->slow_ms : 0);
	if (!resp)
		return NULL;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (r->status == 401)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
		                        "Basic realm=\"Twilio API\"");
	if (r->retry_after[0]) {
		const char *v = r->retry_after;
		char date[64];
		long off;

		/* "date+N": an HTTP date (IMF-fixdate) N seconds away */
		if (strncmp(v, "date", 4) == 0 &&
		    (v[4] == '+' || v[4] == '-') &&
		    sscanf(v + 4, "%ld", &off) == 1) {
			time_t t = time(NULL) + (time_t)off;
			struct tm tm;
			static const char *const wd[] = {"Sun", "Mon", "Tue",
			                                 "Wed", "Thu", "Fri",
			                                 "Sat"};
			static const char *const mo[] = {
			        "Jan", "Feb", "Mar", "Apr", "May", "Jun",
			        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

			gmtime_r(&t, &tm);
			snprintf(date, sizeof date,
			         "%s, %02d %s %04d %02d:%02d:%02d GMT",
			         wd[tm.tm_wday], tm.tm_mday, mo[tm.tm_mon],
			         tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
			         tm.tm_sec);
			v = date;
		}
		MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
	}
	return resp;
}

/* ---- the Messages POST ------------------------------------------------ */

static bool is_form(const char *type)
{
	static const char form[] = "application/x-www-form-urlencoded";

	return type && strncasecmp(type, form, sizeof form - 1) == 0 &&
	       (type[sizeof form - 1] == '\0' || type[sizeof form - 1] == ';' ||
	        type[sizeof form - 1] == ' ');
}

/* The 5xx of fault F: Twilio's JSON with F's code (20500/20503 unless
 * code= says otherwise), an empty body, or an HTML page. */
static int server_error(sb_reply *r, const sb_fault *f)
{
	static const char html[] =
	        "<html><body><h1>Service Unavailable</h1></body></html>\n";
	unsigned status = f->kind == SB_F_500 ? 500 : 503;

	if (f->body == SB_BODY_JSON)
		return sb_api_error(r, status,
		                    f->code               ? f->code
		                    : f->kind == SB_F_500 ? 20500
		                                          : 20503,
		                    f->kind == SB_F_500
		                            ? "Internal Server Error"
		                            : "Service Unavailable");
	r->status = status;
	r->body = strdup(f->body == SB_BODY_HTML ? html : "");
	r->len = r->body ? strlen(r->body) : 0;
	return r->body ? 0 : -1;
}

/* Decide the reply to a POST of the Messages resource; fills *P. */
static int post_messages(struct MHD_Connection *conn, req *q, sb_reply *r,
                         plan *p)
{
	const char *type = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
	                                               "Content-Type");
	sb_form form;
	int rc;

	if (q->too_big)
		return sb_api_error(r, 413, 20001,
		                    "Request body larger than 65536 bytes.");
	if (q->body.len > 0 && !is_form(type))
		return sb_api_error(r, 415, 20001,
		                    "Unsupported Media Type: the body must be "
		                    "application/x-www-form-urlencoded.");
	plan_faults(p, q->on_conn > 1);
	if (p->main && p->main->kind == SB_F_429) {
		memcpy(r->retry_after, p->main->retry_after,
		       sizeof r->retry_after);
		return sb_api_error(r, 429, 20429, "Too Many Requests");
	}
	if (p->main && (p->main->kind == SB_F_500 || p->main->kind == SB_F_503))
		return server_error(r, p->main);
	if (p->main && p->main->kind == SB_F_ERROR)
		return sb_api_error(r, (unsigned)p->main->status, p->main->code,
		                    "Error injected by the sandbox (fault "
		                    "error).");
	if (sb_form_parse(q->body.data ? q->body.data : "", q->body.len,
	                  &form) < 0)
		return -1;
	rc = sb_api_create(r, &form);
	sb_form_free(&form);
	if (rc == 0 && r->status == 201)
		log_record(r, q);
	if (p->main && p->main->kind == SB_F_DROP_AFTER)
		q->drop = true;
	return rc;
}

/* Route and answer a complete request into R (P: the faults applied). */
static int dispatch(struct MHD_Connection *conn, req *q, const char *url,
                    const char *method, sb_reply *r, plan *p, bool *logged)
{
	const char *acct = NULL, *sid = NULL;
	size_t acct_len = 0, sid_len = 0;
	sb_route route;
	bool get = strcmp(method, "GET") == 0;
	int rc, numbers = SB_N_NONE;

	route = sb_api_route(url, &acct, &acct_len, &sid, &sid_len);
	if (route == SB_R_NOT_FOUND)
		numbers =
		        sb_numbers_route(url, &acct, &acct_len, &sid, &sid_len);
	*logged = route == SB_R_MESSAGES || route == SB_R_MESSAGE;
	if (route == SB_R_NOT_FOUND && numbers == SB_N_NONE)
		return sb_api_not_found(r, url);
	if (!sb_api_auth_ok(MHD_lookup_connection_value(
	            conn, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION)))
		return sb_api_error(r, 401, 20003, "Authenticate");
	if (!sb_api_account_ok(acct, acct_len))
		return sb_api_not_found(r, url);
	if (route == SB_R_ACCOUNT && get)
		return sb_api_account(r);
	if (route == SB_R_MESSAGE && get) {
		rc = sb_api_get_message(r, sid, sid_len);
		return rc == 1 ? sb_api_not_found(r, url) : rc;
	}
	if (route == SB_R_MESSAGES && get)
		return sb_api_list(
		        r,
		        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
		                                    "Page"),
		        MHD_lookup_connection_value(conn, MHD_GET_ARGUMENT_KIND,
		                                    "PageSize"));
	if (route == SB_R_MESSAGES && strcmp(method, "POST") == 0)
		return post_messages(conn, q, r, p);
	if (numbers == SB_N_LIST && get)
		return sb_numbers_list(
		        r, MHD_lookup_connection_value(
		                   conn, MHD_GET_ARGUMENT_KIND, "PhoneNumber"));
	if (numbers == SB_N_ONE && strcmp(method, "POST") == 0) {
		rc = sb_numbers_update(r, sid, sid_len,
		                       q->body.data ? q->body.data : "",
		                       q->body.len);
		return rc == 1 ? sb_api_not_found(r, url) : rc;
	}
	return sb_api_error(r, 405, 20004, "Method not allowed");
}

static enum MHD_Result respond(struct MHD_Connection *conn, req *q,
                               const char *url, const char *method)
{
	sb_reply r = {0};
	plan p = {0};
	bool logged = false;
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (dispatch(conn, q, url, method, &r, &p, &logged) < 0) {
		sb_reply_free(&r);
		return MHD_NO;
	}
	if (logged)
		log_request(method, url, q->drop ? 0 : r.status,
		            p.names[0] ? p.names : NULL, q->cs ? q->cs->id : 0,
		            q->on_conn);
	if (q->drop) {
		sb_reply_free(&r);
		if (p.latency_ms > 0 && timer_suspend(conn, p.latency_ms)) {
			q->have_result = true;
			return MHD_YES;
		}
		quiet_close = true;
		return MHD_NO; /* close without an answer */
	}
	resp = build(conn, &r, &p);
	q->pending_status = r.status;
	sb_reply_free(&r);
	if (!resp)
		return MHD_NO;
	if (p.latency_ms > 0 && timer_suspend(conn, p.latency_ms)) {
		q->pending = resp;
		q->have_result = true;
		return MHD_YES;
	}
	ret = MHD_queue_response(conn, q->pending_status, resp);
	MHD_destroy_response(resp);
	return ret;
}

/* An early answer before the body is read (oversized Content-Length). */
static enum MHD_Result refuse_early(struct MHD_Connection *conn, req *q,
                                    const char *url, const char *method)
{
	sb_reply r = {0};
	struct MHD_Response *resp;
	enum MHD_Result ret;

	if (sb_api_error(&r, 413, 20001,
	                 "Request body larger than 65536 bytes.") < 0)
		return MHD_NO;
	q->answered = true;
	log_request(method, url, 413, NULL, q->cs ? q->cs->id : 0, q->on_conn);
	resp = build(conn, &r, NULL);
	sb_reply_free(&r);
	if (!resp)
		return MHD_NO;
	ret = MHD_queue_response(conn, 413, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn,
                                  const char *url, const char *method,
                                  const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
	req *q = *con_cls;

	if (!q) {
		const union MHD_ConnectionInfo *ci;
		const char *cl;

		q = calloc(1, sizeof *q);
		if (!q)
			return MHD_NO;
		*con_cls = q;
		ci = MHD_get_connection_info(
		        conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
		q->cs = ci ? ci->socket_context : NULL;
		q->on_conn = q->cs ? ++q->cs->requests : 1;
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
		                                 "Content-Length");
		if (cl && strtoull(cl, NULL, 10) > SB_MAX_BODY) {
			q->too_big = true;
			return refuse_early(conn, q, url, method);
		}
		return MHD_YES;
	}
	if (q->answered) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		if (!q->too_big && q->body.len + *upload_size > SB_MAX_BODY) {
			q->too_big = true;
			sb_buf_free(&q->body);
		}
		if (!q->too_big)
			sb_putn(&q->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	if (q->have_result) { /* resumed after a latency delay */
		enum MHD_Result ret;

		if (!q->pending) {
			quiet_close = true;
			return MHD_NO; /* drop-after */
		}
		ret = MHD_queue_response(conn, q->pending_status, q->pending);
		MHD_destroy_response(q->pending);
		q->pending = NULL;
		return ret;
	}
	if (q->body.oom)
		return MHD_NO;
	return respond(conn, q, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
	req *q = *con_cls;

	if (!q)
		return;
	if (q->pending)
		MHD_destroy_response(q->pending);
	sb_buf_free(&q->body);
	free(q);
	*con_cls = NULL;
}

static void on_connection(void *cls, struct MHD_Connection *conn,
                          void **socket_context,
                          enum MHD_ConnectionNotificationCode toe)
{
	if (toe == MHD_CONNECTION_NOTIFY_STARTED) {
		conn_state *cs = calloc(1, sizeof *cs);

		if (cs)
			cs->id = atomic_fetch_add(&srv.conn_ids, 1) + 1;
		*socket_context = cs;
	} else {
		free(*socket_context);
		*socket_context = NULL;
	}
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	if (quiet_close && strstr(fmt, "internal error")) {
		quiet_close = false;
		return;
	}
	fputs("twilio-sandbox: ", stderr);
	vfprintf(stderr, fmt, ap);
	fflush(stderr);
}

/* ---- start / stop ------------------------------------------------------ */

int sb_server_start(const sb_server_opts *o, unsigned *port, char *err,
                    size_t errlen)
{
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
	                 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
	struct sockaddr_storage ss;
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const union MHD_DaemonInfo *di;
	struct MHD_OptionItem opts[16];
	size_t n = 0;

	memset(&ss, 0, sizeof ss);
	if (inet_pton(AF_INET, o->listen, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)o->port);
	} else if (inet_pton(AF_INET6, o->listen, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)o->port);
		flags |= MHD_USE_IPv6;
	} else {
		snprintf(err, errlen, "--listen '%s': not an IP address",
		         o->listen);
		return -1;
	}
	srv.o = o;
	if (o->tls_cert_pem)
		flags |= MHD_USE_TLS;
	if (timer_start() < 0) {
		snprintf(err, errlen, "cannot start the timer thread");
		return -1;
	}
#define OPT(o_, v_, p_) opts[n++] = (struct MHD_OptionItem){o_, v_, p_}
	OPT(MHD_OPTION_EXTERNAL_LOGGER, (intptr_t)on_mhd_log, NULL);
	OPT(MHD_OPTION_SOCK_ADDR, 0, &ss);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)on_completed, NULL);
	OPT(MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, 60, NULL);
	OPT(MHD_OPTION_CONNECTION_LIMIT, 4096, NULL);
	if (o->threads > 1)
		OPT(MHD_OPTION_THREAD_POOL_SIZE, o->threads, NULL);
	if (o->tls_cert_pem) {
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, (void *)o->tls_cert_pem);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, (void *)o->tls_key_pem);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT
	srv.daemon =
	        MHD_start_daemon(flags, 0, on_accept, NULL, on_request, NULL,
	                         MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (!srv.daemon) {
		snprintf(err, errlen,
		         "cannot start the HTTP server on %s port %u (address "
		         "in use, bad TLS files, or no permission)",
		         o->listen, o->port);
		timer_stop();
		return -1;
	}
	di = MHD_get_daemon_info(srv.daemon, MHD_DAEMON_INFO_BIND_PORT);
	*port = di ? di->port : o->port;
	return 0;
}

void sb_server_stop(void)
{
	timer_stop(); /* resumes every delayed connection */
	if (srv.daemon)
		MHD_stop_daemon(srv.daemon);
	srv.daemon = NULL;
	free(srv.heap);
	srv.heap = NULL;
	srv.theap_n = srv.theap_cap = 0;
	pthread_cond_destroy(&srv.tcond);
	pthread_mutex_destroy(&srv.tlock);
}
