/*
 * webhook_host.c - the host of `make bench-webhook`'s "connector" contender:
 * a process runtime reduced to what the benchmark measures, "publish to a
 * host that enqueues" (issue 9), and nothing more, like the two peers
 * (tests/bench/webhook_peer_express.js, webhook_peer_flask.py): publish()
 * puts the event on a bounded in-process queue (1024, full refuses, as the
 * peers refuse) and one consumer thread takes events off and drops them.
 * `connector-host serve` does that and then runs the trigger's action for
 * every event; the benchmark measures it beside this host, as a separate
 * row, and never quotes it against the peers.
 *
 * usage: webhook_host PLUGIN --config FILE --params JSON --port-file FILE
 * Runs until SIGTERM or SIGINT; prints the number of events on stderr.
 * Everything goes through libconnhost (load, config, claim/settle store,
 * subscribe), as in connector-host.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "connhost.h"

#define QUEUE_MAX 1024
/* How long publish() waits for room in a full queue before it refuses.
 * The consumer is one thread among the webhook's 32 connection threads on
 * the benchmark's single core, and the scheduler gives it 1/33 of the core:
 * refusing at once (as a first version did) refused a third of the events
 * at ~30,000/s. Waiting for room (a blocking put, like Python's
 * queue.put(timeout=...)) lets the consumer catch up, as back-pressure
 * does in a real runtime; the count of refused events is printed at exit
 * and the benchmark fails a run that had any. */
#define PUT_WAIT_MS 1000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;   /* not empty */
static pthread_cond_t room = PTHREAD_COND_INITIALIZER; /* not full */
static json_object *ring[QUEUE_MAX];
static size_t head, len, consumed, refused, waited;
static int stopping, waiting;

static int on_event(void *arg, uint64_t sub_id, json_object *event, char *err,
                    size_t errlen)
{
	int full;

	(void)arg;
	(void)sub_id;
	pthread_mutex_lock(&mu);
	if (len == QUEUE_MAX && !stopping) {
		struct timespec ts;

		waited++;
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += PUT_WAIT_MS / 1000;
		while (len == QUEUE_MAX && !stopping &&
		       pthread_cond_timedwait(&room, &mu, &ts) == 0)
			;
	}
	full = len == QUEUE_MAX;
	if (!full) {
		ring[(head + len) % QUEUE_MAX] = event;
		len++;
		if (waiting) /* the consumer sleeps only on an empty queue */
			pthread_cond_signal(&cv);
	} else {
		refused++;
	}
	pthread_mutex_unlock(&mu);
	if (full) {
		snprintf(err, errlen, "the queue is full");
		json_object_put(event);
		return CONN_EREFUSED;
	}
	return 0;
}

/* Takes the events off the queue and drops them, as the peers do: all
 * that are queued at once, so the lock is taken once a batch, not once an
 * event (the consumer gets 1/33 of the core; see PUT_WAIT_MS). */
static void *consumer(void *arg)
{
	static json_object *batch[QUEUE_MAX];

	(void)arg;
	pthread_mutex_lock(&mu);
	for (;;) {
		size_t n, i;

		while (!len && !stopping) {
			waiting = 1;
			pthread_cond_wait(&cv, &mu);
			waiting = 0;
		}
		if (!len)
			break;
		if (len == QUEUE_MAX)
			pthread_cond_broadcast(&room);
		for (n = 0; len; n++, len--) {
			batch[n] = ring[head];
			head = (head + 1) % QUEUE_MAX;
		}
		consumed += n;
		pthread_mutex_unlock(&mu);
		for (i = 0; i < n; i++)
			json_object_put(batch[i]);
		pthread_mutex_lock(&mu);
	}
	pthread_mutex_unlock(&mu);
	return NULL;
}

static int write_port(connhost_instance *inst, const char *path)
{
	json_object *st = connhost_instance_stats(inst), *p, *w, *port;
	char tmp[4096];
	FILE *f;
	int n = -1;

	if (st && json_object_object_get_ex(st, "plugin", &p) &&
	    json_object_object_get_ex(p, "webhook", &w) &&
	    json_object_object_get_ex(w, "port", &port))
		n = json_object_get_int(port);
	json_object_put(st);
	if (n <= 0) {
		fprintf(stderr, "webhook_host: no webhook port in stats\n");
		return -1;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%d\n", n) < 0 ||
	    fclose(f) != 0 || rename(tmp, path) != 0) {
		fprintf(stderr, "webhook_host: %s: %s\n", path,
		        strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	const char *plugin = NULL, *config = NULL, *params = NULL,
	           *port_file = NULL;
	connhost_instance_opts io = {.struct_size = sizeof(io)};
	connhost_plugin *p = NULL;
	connhost_instance *inst = NULL;
	json_object *cfg = NULL, *par = NULL;
	uint64_t sub = 0;
	pthread_t th;
	sigset_t set;
	char err[1024] = "";
	int i, sig, rc = 1;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--config") == 0 && i + 1 < argc)
			config = argv[++i];
		else if (strcmp(argv[i], "--params") == 0 && i + 1 < argc)
			params = argv[++i];
		else if (strcmp(argv[i], "--port-file") == 0 && i + 1 < argc)
			port_file = argv[++i];
		else if (!plugin && argv[i][0] != '-')
			plugin = argv[i];
		else
			plugin = NULL, i = argc;
	}
	if (!plugin || !config || !params || !port_file) {
		fprintf(stderr, "usage: webhook_host PLUGIN --config FILE "
		                "--params JSON --port-file FILE\n");
		return 2;
	}
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL); /* before any thread */
	io.log.level = CONN_LOG_WARN;
	if (connhost_plugin_load(plugin, NULL, &p, err, sizeof(err)) ||
	    connhost_config_load(config, &cfg, err, sizeof(err)) ||
	    connhost_instance_new(p, cfg, &io, &inst, err, sizeof(err)) ||
	    !(par = json_tokener_parse(params)) ||
	    connhost_subscribe(inst, "SMS_RECEIVED", par, on_event, NULL, &sub,
	                       err, sizeof(err)) ||
	    connhost_instance_start(inst, err, sizeof(err)) ||
	    write_port(inst, port_file) ||
	    pthread_create(&th, NULL, consumer, NULL)) {
		fprintf(stderr, "webhook_host: %s\n",
		        err[0] ? err : "cannot start");
		goto out;
	}
	sigwait(&set, &sig);
	connhost_unsubscribe(inst, sub);
	pthread_mutex_lock(&mu);
	stopping = 1;
	pthread_cond_signal(&cv);
	pthread_cond_broadcast(&room);
	pthread_mutex_unlock(&mu);
	pthread_join(th, NULL);
	fprintf(stderr,
	        "webhook_host: %zu events, %zu refused, %zu waited for room\n",
	        consumed, refused, waited);
	rc = 0;
out:
	if (inst)
		connhost_instance_shutdown(inst, conn_now_ms() + 15000);
	json_object_put(cfg);
	json_object_put(par);
	if (p)
		connhost_plugin_unref(p);
	return rc;
}
