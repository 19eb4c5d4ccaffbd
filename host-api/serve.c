/*
 * serve.c - `connector-host serve`: a small process runtime. Subscribes
 * every trigger's event, queues each event a plugin publishes (a bounded
 * queue: full waits up to a second, then refuses), and runs the trigger's
 * action for it on a pool of worker threads, never inside publish()
 * (connector.h, rule 2).
 *
 * Threads: the host thread (serve_run: subscribe, wait for the signal,
 * swap at SIGHUP or when the plugin file is replaced, unsubscribe, drain,
 * join); plugin threads inside on_event() (they
 * lock, enqueue and signal; on a full queue they wait for room up to
 * SERVE_FULL_WAIT_MS, back-pressure bounded well under the plugin's
 * default publish deadline of 5 s: an event accepted past a shorter
 * deadline is still handled once, the plugin remembering it); WORKERS threads
 * that pop a job and call connhost_invoke_sync(). The one lock (q.lock)
 * is never held while calling libconnhost or the plugin.
 * Ownership: a job owns its event until the worker is done with it.
 * Failure: a refused event is logged and counted, and the plugin sees
 * CONN_EREFUSED (the sender gets echoError); an action's failure is
 * logged with its error names; nothing is retried by serve (the plugin's
 * idempotency key makes a redelivery by Twilio safe).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "triggers.h"

#define SERVE_MAX_WORKERS 256
/* How long publish() waits for room in a full queue before refusing: a
 * burst larger than the queue is absorbed while the workers catch up,
 * instead of refusing at once. */
#define SERVE_FULL_WAIT_MS 1000

struct job {
	const serve_trigger *t;
	json_object *event;
};

struct serve {
	connhost_instance *inst;
	const serve_triggers *t;
	const serve_opts *o;
	const connhost_log *log;
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a job queued, or draining */
	pthread_cond_t room; /* a slot freed, or no longer accepting */
	struct job *ring;    /* o->queue slots */
	size_t head, len;
	int accepting, draining;
	uint64_t accepted, refused, ran, failed;
};

/* "+14155550100" -> "+1415•••0100", as the plugin masks (tw_mask.h); a
 * short value keeps its first and last two characters. Caller frees. */
static char *mask(const char *s, int unmasked)
{
	size_t n = s ? strlen(s) : 0;
	char *m = NULL;

	if (!s)
		return NULL;
	if (unmasked)
		return strdup(s);
	if (n >= 10) {
		if (asprintf(&m, "%.5s\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2%s",
		             s, s + n - 4) < 0)
			m = NULL;
	} else if (n > 4) {
		if (asprintf(&m, "%.2s\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2%s",
		             s, s + n - 2) < 0)
			m = NULL;
	} else {
		m = strdup("\xe2\x80\xa2\xe2\x80\xa2\xe2\x80\xa2");
	}
	return m;
}

static const char *event_str(json_object *event, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(event, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* FIELDS with trigger, messageSid, from and to (masked) of EVENT. */
static json_object *event_fields(struct serve *s, const serve_trigger *t,
                                 json_object *event)
{
	json_object *f = json_object_new_object();
	const char *sid = event_str(event, "messageSid");
	static const char *const nums[] = {"from", "to"};
	size_t i;

	json_object_object_add(f, "trigger", json_object_new_string(t->name));
	if (sid)
		json_object_object_add(f, "messageSid",
		                       json_object_new_string(sid));
	for (i = 0; i < 2; i++) {
		char *m = mask(event_str(event, nums[i]), s->o->log_numbers);
		if (m)
			json_object_object_add(f, nums[i],
			                       json_object_new_string(m));
		free(m);
	}
	return f;
}

/* ---------------------------------------------------------------------- */
/* publish → queue (plugin threads)                                        */
/* ---------------------------------------------------------------------- */

struct sub_arg {
	struct serve *s;
	const serve_trigger *t;
};

static int on_event(void *arg, uint64_t sub_id, json_object *event, char *err,
                    size_t errlen)
{
	struct sub_arg *a = arg;
	struct serve *s = a->s;
	/* the "event" line's fields only when info is logged: publish runs
	 * on the plugin's request path (a refusal builds them below) */
	json_object *f = s->log && s->log->level >= CONN_LOG_INFO
	                         ? event_fields(s, a->t, event)
	                         : NULL;
	const char *why = NULL;
	int full = 0;
	size_t depth;

	pthread_mutex_lock(&s->lock);
	if (s->accepting && s->len == (size_t)s->o->queue) {
		/* back-pressure: wait a little for a worker to free a slot
		 * (under load the plugin's threads outnumber the workers, and
		 * refusing at once would refuse events the workers could
		 * take a moment later) */
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += SERVE_FULL_WAIT_MS / 1000;
		while (s->accepting && s->len == (size_t)s->o->queue &&
		       pthread_cond_timedwait(&s->room, &s->lock, &ts) == 0)
			;
	}
	if (!s->accepting)
		why = "serve is shutting down";
	else if (s->len == (size_t)s->o->queue)
		why = "serve's queue is full", full = 1;
	if (!why) {
		size_t at = (s->head + s->len) % (size_t)s->o->queue;
		s->ring[at].t = a->t;
		s->ring[at].event = event;
		s->len++;
		s->accepted++;
		event = NULL;
		pthread_cond_signal(&s->cond);
	} else {
		s->refused++;
	}
	depth = s->len;
	pthread_mutex_unlock(&s->lock);
	if (why && !f)
		f = event_fields(s, a->t, event); /* EVENT still ours */
	if (f) {
		json_object_object_add(f, "sub_id",
		                       json_object_new_int64((int64_t)sub_id));
		json_object_object_add(f, "queued",
		                       json_object_new_int64((int64_t)depth));
	}
	if (why) {
		snprintf(err, errlen, "%s (%ld events waiting)%s", why,
		         s->o->queue,
		         full ? ": raise --queue or --workers" : "");
		if (f)
			json_object_object_add(f, "error",
			                       json_object_new_string(err));
		connhost_log_emit(s->log, CONN_LOG_WARN, f, "event refused");
		json_object_put(f);
		json_object_put(event);
		return CONN_EREFUSED;
	}
	if (f)
		connhost_log_emit(s->log, CONN_LOG_INFO, f, "event");
	json_object_put(f);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Workers                                                                 */
/* ---------------------------------------------------------------------- */

/* The idempotency key of an action started by EVENT: "TRIGGER/SID", so
 * a redelivered event (same MessageSid) never runs it twice. NULL (no
 * key) when the event has no usable messageSid. */
static char *idem_key(const serve_trigger *t, json_object *event)
{
	const char *sid = event_str(event, "messageSid");
	char *k = NULL;
	size_t i;

	if (!sid || !*sid || strlen(sid) > 128)
		return NULL;
	for (i = 0; sid[i]; i++)
		if (!((sid[i] >= '0' && sid[i] <= '9') ||
		      (sid[i] >= 'A' && sid[i] <= 'Z') ||
		      (sid[i] >= 'a' && sid[i] <= 'z') || sid[i] == '_' ||
		      sid[i] == '-'))
			return NULL;
	if (asprintf(&k, "%s/%s", t->name, sid) < 0)
		return NULL;
	return k;
}

/* Add what OUT says to F: the sids of twilioResult, the names of
 * twilioError, an "error" string. Returns 1 when OUT reports an error. */
static int describe_result(json_object *out, json_object *f)
{
	json_object *v, *e, *x;
	size_t i;
	int failed = 0;

	if (json_object_object_get_ex(out, "twilioResult", &v) &&
	    json_object_is_type(v, json_type_array)) {
		json_object *sids = json_object_new_array();
		for (i = 0; i < json_object_array_length(v); i++) {
			e = json_object_array_get_idx(v, i);
			if (json_object_object_get_ex(e, "sid", &x) &&
			    json_object_is_type(x, json_type_string))
				json_object_array_add(
				        sids,
				        json_object_new_string(
				                json_object_get_string(x)));
		}
		json_object_object_add(f, "sids", sids);
	}
	if (json_object_object_get_ex(out, "twilioError", &v) &&
	    json_object_is_type(v, json_type_array) &&
	    json_object_array_length(v) > 0) {
		json_object *names = json_object_new_array();
		for (i = 0; i < json_object_array_length(v); i++) {
			e = json_object_array_get_idx(v, i);
			if (json_object_object_get_ex(e, "name", &x) &&
			    json_object_is_type(x, json_type_string))
				json_object_array_add(
				        names,
				        json_object_new_string(
				                json_object_get_string(x)));
		}
		json_object_object_add(f, "errors", names);
		failed = 1;
	}
	if (json_object_object_get_ex(out, "error", &v) &&
	    json_object_is_type(v, json_type_string)) {
		json_object_object_add(
		        f, "error",
		        json_object_new_string(json_object_get_string(v)));
		failed = 1;
	}
	return failed;
}

static void run_job(struct serve *s, struct job *j)
{
	json_object *inputs = NULL, *out = NULL;
	json_object *f = event_fields(s, j->t, j->event);
	char err[1024];
	char *key = idem_key(j->t, j->event);
	int rc, failed = 1;

	json_object_object_add(f, "action",
	                       json_object_new_string(j->t->action));
	err[0] = '\0';
	rc = serve_map_inputs(j->t, j->event, &inputs, err, sizeof(err));
	if (rc == 0) {
		/* The event is the call's variables: an action that renders
		 * templates (send_sms's smsBody) reads it as its model. */
		rc = connhost_invoke_sync(s->inst, j->t->action, inputs,
		                          j->event, key,
		                          conn_now_ms() + j->t->deadline_ms,
		                          &out, err, sizeof(err));
	}
	if (rc) {
		json_object_object_add(
		        f, "error",
		        json_object_new_string(err[0] ? err
		                                      : conn_strerror(rc)));
	} else {
		failed = describe_result(out, f);
	}
	connhost_log_emit(s->log, failed ? CONN_LOG_WARN : CONN_LOG_INFO, f,
	                  failed ? "action failed" : "action done");
	pthread_mutex_lock(&s->lock);
	s->ran++;
	if (failed)
		s->failed++;
	pthread_mutex_unlock(&s->lock);
	json_object_put(f);
	json_object_put(inputs);
	json_object_put(out);
	json_object_put(j->event);
	free(key);
}

static void *worker(void *arg)
{
	struct serve *s = arg;
	struct job j;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (s->len == 0 && !s->draining)
			pthread_cond_wait(&s->cond, &s->lock);
		if (s->len == 0)
			break; /* draining and nothing left */
		j = s->ring[s->head];
		s->head = (s->head + 1) % (size_t)s->o->queue;
		if (s->len == (size_t)s->o->queue)
			pthread_cond_broadcast(&s->room);
		s->len--;
		pthread_mutex_unlock(&s->lock);
		run_job(s, &j);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* The host thread                                                         */
/* ---------------------------------------------------------------------- */

/* 1 when the plugin's definition lists NAME under KIND. */
static int defined(connhost_instance *inst, const char *kind, const char *name)
{
	connhost_plugin *p = connhost_instance_plugin(inst);
	json_object *k;
	int yes;

	yes = p &&
	      json_object_object_get_ex(connhost_plugin_definition(p), kind,
	                                &k) &&
	      json_object_is_type(k, json_type_object) &&
	      json_object_object_get_ex(k, name, NULL);
	connhost_plugin_unref(p);
	return yes;
}

/* Write the webhook's bound port (stats: plugin.webhook.port) to PATH,
 * through a temporary file renamed into place, so that a reader never
 * sees half a number. */
static int write_port_file(struct serve *s, const char *path)
{
	json_object *st = connhost_instance_stats(s->inst), *p, *w, *port;
	char *tmp = NULL;
	FILE *f;
	int64_t n = -1;

	if (st && json_object_object_get_ex(st, "plugin", &p) &&
	    json_object_object_get_ex(p, "webhook", &w) &&
	    json_object_object_get_ex(w, "port", &port) &&
	    json_object_is_type(port, json_type_int))
		n = json_object_get_int64(port);
	json_object_put(st);
	if (n <= 0 || n > 65535) {
		connhost_log_emit(s->log, CONN_LOG_ERROR, NULL,
		                  "--port-file: the plugin's stats have no "
		                  "webhook.port (does its configuration "
		                  "enable the webhook?)");
		return -1;
	}
	if (asprintf(&tmp, "%s.tmp", path) < 0)
		return -1;
	f = fopen(tmp, "w");
	if (!f || fprintf(f, "%lld\n", (long long)n) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		char *m = NULL;
		if (asprintf(&m, "--port-file %s: cannot write it: %s", path,
		             strerror(errno)) >= 0)
			connhost_log_emit(s->log, CONN_LOG_ERROR, NULL, m);
		free(m);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Hot swap: SIGHUP, or the plugin file replaced                           */
/* ---------------------------------------------------------------------- */

/* Quiet time after the last change to the file before swapping: a copy
 * in several writes, or a rename after a write, settles first. */
#define SERVE_SWAP_DEBOUNCE_MS 300
/* A plugin file larger than this is not hashed (nor, then, swapped to). */
#define SERVE_PLUGIN_MAX ((off_t)1 << 30)

struct watch {
	int ifd;          /* inotify on the plugin's directory, or -1 */
	int wd;           /* its watch */
	const char *base; /* the plugin file's name in that directory */
	uint64_t hash;    /* FNV-1a 64 of the file serving now, and its size */
	off_t size;
	int64_t due; /* debounced swap due (conn_now_ms), 0: none */
};

/* FNV-1a 64 of PATH's bytes and its size: to skip a "change" that left
 * the content as it was (touch, the same file copied again). Not a
 * defence against anyone: whoever can write the file chooses the code. */
static int file_hash(const char *path, uint64_t *hash, off_t *size)
{
	unsigned char buf[65536];
	uint64_t h = 1469598103934665603ULL;
	off_t n = 0;
	ssize_t r;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((r = read(fd, buf, sizeof(buf))) > 0 && n <= SERVE_PLUGIN_MAX) {
		for (ssize_t i = 0; i < r; i++)
			h = (h ^ buf[i]) * 1099511628211ULL;
		n += r;
	}
	close(fd);
	if (r < 0 || n > SERVE_PLUGIN_MAX)
		return -1;
	*hash = h;
	*size = n;
	return 0;
}

static void logf_fields(struct serve *s, conn_log_level level, json_object *f,
                        const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
static void logf_fields(struct serve *s, conn_log_level level, json_object *f,
                        const char *fmt, ...)
{
	char *m = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&m, fmt, ap) < 0)
		m = NULL;
	va_end(ap);
	connhost_log_emit(s->log, level, f, m ? m : fmt);
	free(m);
	json_object_put(f);
}

/* Swap the instance to the plugin file (WHY: "SIGHUP" or "file
 * replaced"); with RECONFIGURE, to the configuration file as it is now
 * (token rotation). Whatever fails, the running version keeps serving and
 * the log says why. */
static void swap_to(struct serve *s, struct watch *w, const char *why,
                    int reconfigure)
{
	const serve_opts *o = s->o;
	connhost_plugin *p2 = NULL;
	json_object *cfg = NULL, *f;
	uint64_t h;
	off_t size;
	char err[1024];
	int rc;

	if (file_hash(o->plugin_path, &h, &size) != 0) {
		logf_fields(s, CONN_LOG_ERROR, NULL,
		            "swap (%s): cannot read %s: %s; the running "
		            "version keeps serving",
		            why, o->plugin_path, strerror(errno));
		return;
	}
	if (!reconfigure && h == w->hash && size == w->size) {
		logf_fields(s, CONN_LOG_INFO, NULL,
		            "swap (%s): %s is unchanged; nothing to do", why,
		            o->plugin_path);
		return;
	}
	err[0] = '\0';
	if (reconfigure && o->config_path &&
	    connhost_config_load(o->config_path, &cfg, err, sizeof(err)) != 0) {
		logf_fields(s, CONN_LOG_ERROR, NULL,
		            "swap (%s): configuration %s refused: %s; the "
		            "running version keeps serving",
		            why, o->config_path, err);
		return;
	}
	if (connhost_plugin_load(o->plugin_path, NULL, &p2, err, sizeof(err)) !=
	    0) {
		logf_fields(s, CONN_LOG_ERROR, NULL,
		            "swap (%s): %s refused: %s; the running version "
		            "keeps serving",
		            why, o->plugin_path, err);
		json_object_put(cfg);
		return;
	}
	err[0] = '\0';
	rc = connhost_instance_swap(s->inst, p2, cfg, NULL, err, sizeof(err));
	f = json_object_new_object();
	json_object_object_add(f, "reason", json_object_new_string(why));
	json_object_object_add(
	        f, "version",
	        json_object_new_string(connhost_plugin_version(p2)));
	if (rc == 0) {
		w->hash = h;
		w->size = size;
		logf_fields(s, CONN_LOG_INFO, f, "swapped to %s %s",
		            connhost_plugin_name(p2),
		            connhost_plugin_version(p2));
	} else {
		logf_fields(
		        s, CONN_LOG_ERROR, f,
		        "swap (%s) to %s %s failed: %s; the running version "
		        "keeps serving",
		        why, connhost_plugin_name(p2),
		        connhost_plugin_version(p2),
		        err[0] ? err : conn_strerror(rc));
	}
	connhost_plugin_unref(p2);
	json_object_put(cfg);
}

/* Watch the plugin file's directory (a deploy may replace the file by a
 * rename, which a watch on the file itself would not see). */
static void watch_init(struct serve *s, struct watch *w)
{
	const char *path = s->o->plugin_path, *slash;
	char *dir;

	w->ifd = w->wd = -1;
	if (!path)
		return;
	if (file_hash(path, &w->hash, &w->size) != 0)
		w->size = -1; /* any content then counts as a change */
	if (s->o->no_watch)
		return;
	slash = strrchr(path, '/');
	w->base = slash ? slash + 1 : path;
	dir = slash ? strndup(path, (size_t)(slash - path + (slash == path)))
	            : strdup(".");
	w->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	if (dir && w->ifd >= 0)
		w->wd = inotify_add_watch(w->ifd, dir,
		                          IN_CLOSE_WRITE | IN_MOVED_TO);
	if (w->wd < 0) {
		logf_fields(s, CONN_LOG_WARN, NULL,
		            "cannot watch %s for a new version (%s): swap "
		            "with SIGHUP",
		            dir ? dir : path, strerror(errno));
		if (w->ifd >= 0)
			close(w->ifd);
		w->ifd = -1;
	}
	free(dir);
}

/* Read the queued inotify events: a close after writing, or a rename
 * into place, of the plugin's file name (re)starts the debounce. */
static void watch_read(struct watch *w)
{
	char buf[4096]
	        __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t r;

	while ((r = read(w->ifd, buf, sizeof(buf))) > 0) {
		for (char *p = buf; p < buf + r;) {
			struct inotify_event *e = (struct inotify_event *)p;
			if (e->len && strcmp(e->name, w->base) == 0)
				w->due = conn_deadline_add(
				        conn_now_ms(), SERVE_SWAP_DEBOUNCE_MS);
			p += sizeof(*e) + e->len;
		}
	}
}

/* Until SIGINT or SIGTERM: swap at SIGHUP and when the watched plugin
 * file settles after a change; log the stats at SIGUSR1. */
static void serve_wait(struct serve *s, int sfd)
{
	struct watch w = {0};

	watch_init(s, &w);
	for (;;) {
		struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
		                       {.fd = w.ifd, .events = POLLIN}};
		int timeout = -1;

		if (w.due) {
			int64_t left = w.due - conn_now_ms();
			timeout = left > 0 ? (int)left : 0;
		}
		if (poll(pf, w.ifd >= 0 ? 2 : 1, timeout) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(sfd, &si, sizeof(si)) == sizeof(si)) {
				if (si.ssi_signo == SIGHUP && s->o->plugin_path)
					swap_to(s, &w, "SIGHUP", 1);
				else if (si.ssi_signo == SIGUSR1) {
					json_object *st =
					        connhost_instance_stats(
					                s->inst);
					connhost_log_emit(s->log, CONN_LOG_INFO,
					                  st, "stats");
					json_object_put(st);
				} else if (si.ssi_signo != SIGHUP)
					break;
			}
		}
		if (w.ifd >= 0 && (pf[1].revents & POLLIN))
			watch_read(&w);
		if (w.due && conn_now_ms() >= w.due) {
			w.due = 0;
			swap_to(s, &w, "file replaced", 0);
		}
	}
	if (w.ifd >= 0)
		close(w.ifd);
}

int serve_run(connhost_instance *inst, const serve_triggers *t,
              const serve_opts *o, const connhost_log *log, int sfd)
{
	struct serve s = {.inst = inst, .t = t, .o = o, .log = log};
	struct sub_arg *args;
	uint64_t *subs;
	pthread_t *th;
	size_t i, nsub = 0, nth = 0;
	int code = 0;
	char err[1024];

	for (i = 0; i < t->n; i++) {
		const char *what =
		        !defined(inst, "events", t->v[i].event)     ? "event"
		        : !defined(inst, "actions", t->v[i].action) ? "action"
		                                                    : NULL;
		if (what) {
			char *m = NULL;
			if (asprintf(
			            &m,
			            "triggers[%zu] (%s): %s: the plugin has no "
			            "%s \"%s\" (connector-host describe "
			            "PLUGIN lists them)",
			            i, t->v[i].name, what, what,
			            what[0] == 'e' ? t->v[i].event
			                           : t->v[i].action) >= 0)
				connhost_log_emit(log, CONN_LOG_ERROR, NULL, m);
			free(m);
			return 4;
		}
	}
	s.ring = calloc((size_t)o->queue, sizeof(*s.ring));
	args = calloc(t->n, sizeof(*args));
	subs = calloc(t->n, sizeof(*subs));
	th = calloc((size_t)o->workers, sizeof(*th));
	if (!s.ring || !args || !subs || !th) {
		free(s.ring), free(args), free(subs), free(th);
		return 7;
	}
	pthread_mutex_init(&s.lock, NULL);
	pthread_cond_init(&s.cond, NULL);
	pthread_cond_init(&s.room, NULL);
	s.accepting = 1;
	for (i = 0; i < (size_t)o->workers; i++) {
		if (pthread_create(&th[nth], NULL, worker, &s) != 0)
			break;
		nth++;
	}
	if (nth == 0) {
		connhost_log_emit(log, CONN_LOG_ERROR, NULL,
		                  "serve: cannot start a worker thread");
		code = 7;
	}
	for (i = 0; !code && i < t->n; i++) {
		args[i].s = &s;
		args[i].t = &t->v[i];
		err[0] = '\0';
		if (connhost_subscribe(inst, t->v[i].event, t->v[i].params,
		                       on_event, &args[i], &subs[i], err,
		                       sizeof(err)) != 0) {
			char *m = NULL;
			if (asprintf(
			            &m,
			            "triggers[%zu] (%s): subscribe %s refused: "
			            "%s",
			            i, t->v[i].name, t->v[i].event, err) >= 0)
				connhost_log_emit(log, CONN_LOG_ERROR, NULL, m);
			free(m);
			code = 5;
			break;
		}
		nsub++;
	}
	if (!code && o->port_file && write_port_file(&s, o->port_file) != 0)
		code = 7;
	if (!code) {
		json_object *f = json_object_new_object();
		json_object_object_add(f, "triggers",
		                       json_object_new_int64((int64_t)t->n));
		json_object_object_add(f, "workers",
		                       json_object_new_int64((int64_t)nth));
		json_object_object_add(f, "queue",
		                       json_object_new_int64(o->queue));
		connhost_log_emit(log, CONN_LOG_INFO, f, "serving");
		json_object_put(f);
		serve_wait(&s, sfd);
		connhost_log_emit(log, CONN_LOG_INFO, NULL,
		                  "stopping: no new events; finishing the "
		                  "accepted ones");
	}
	/* Stop accepting first: after unsubscribe returns, on_event runs
	 * for that subscription in no thread, so the queue only shrinks. */
	pthread_mutex_lock(&s.lock);
	s.accepting = 0;
	pthread_cond_broadcast(&s.room); /* a waiting publish refuses now */
	pthread_mutex_unlock(&s.lock);
	for (i = 0; i < nsub; i++)
		connhost_unsubscribe(inst, subs[i]);
	pthread_mutex_lock(&s.lock);
	s.draining = 1;
	pthread_cond_broadcast(&s.cond);
	pthread_mutex_unlock(&s.lock);
	for (i = 0; i < nth; i++)
		pthread_join(th[i], NULL);
	/* Nothing is left when a worker ran; without one, free the events. */
	for (; s.len; s.len--, s.head = (s.head + 1) % (size_t)o->queue)
		json_object_put(s.ring[s.head].event);
	{
		json_object *f = json_object_new_object();
		json_object_object_add(
		        f, "accepted",
		        json_object_new_int64((int64_t)s.accepted));
		json_object_object_add(
		        f, "refused",
		        json_object_new_int64((int64_t)s.refused));
		json_object_object_add(f, "ran",
		                       json_object_new_int64((int64_t)s.ran));
		json_object_object_add(
		        f, "failed", json_object_new_int64((int64_t)s.failed));
		connhost_log_emit(log, CONN_LOG_INFO, f, "stopped");
		json_object_put(f);
	}
	pthread_cond_destroy(&s.cond);
	pthread_cond_destroy(&s.room);
	pthread_mutex_destroy(&s.lock);
	free(s.ring);
	free(args);
	free(subs);
	free(th);
	return code;
}
