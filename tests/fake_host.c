/*
 * fake_host.c - the fake conn_host of tests/fake_host.h (see there for what
 * each service does, the threads and the memory rules).
 *
 * One mutex guards all the state; a publish delay and the hooks run
 * outside it, so a slow publish never holds up another thread's claim or
 * log line.
 */
#include "fake_host.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

typedef struct claim_rec {
	char *key;
	json_object *result; /* NULL: in progress */
} claim_rec;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static char secret[128] = "TOPSECRET";
static int leaks;
static json_object *done[FAKE_HOST_MAXID];
static int ncomplete[FAKE_HOST_MAXID];
static char logs[FAKE_HOST_LOG_MAX];
static size_t loglen;
static long nlog[CONN_LOG_DEBUG + 1]; /* by level */
static fake_publish pub_mode;
static int pub_delay_ms;
static long npublish, nevents;
static json_object *events[FAKE_HOST_EVENTS];
static uint64_t event_sub[FAKE_HOST_EVENTS];
static fake_claim claim_mode;
static char *claim_prior;
static claim_rec *store;
static size_t nstore, store_cap = FAKE_HOST_CLAIM_MAX;
static long nclaims_new, nsettles;
static char last_key[256];
static uint32_t last_ttl;
static const fake_host_hooks *hooks;

/* Count S as a leak when it holds the secret (under MU). */
static void check_secret(const char *s)
{
	if (s && secret[0] && strstr(s, secret))
		leaks++;
}

/* ------------------------------------------------------------- services */

static void h_log(void *ctx, conn_log_level lvl, json_object *f,
                  const char *msg)
{
	const char *fs = f ? json_object_to_json_string(f) : "";
	int n;

	(void)ctx;
	if (hooks && hooks->log) {
		hooks->log(lvl, f, msg);
		return;
	}
	pthread_mutex_lock(&mu);
	check_secret(fs);
	check_secret(msg);
	if (lvl >= CONN_LOG_ERROR && lvl <= CONN_LOG_DEBUG)
		nlog[lvl]++;
	n = snprintf(logs + loglen, sizeof(logs) - loglen, "%d %s %s\n", lvl,
	             fs, msg ? msg : "");
	/* full: start again, keeping the line that did not fit */
	if (n < 0 || loglen + (size_t)n >= sizeof(logs)) {
		loglen = 0;
		n = snprintf(logs, sizeof(logs), "%d %s %s\n", lvl, fs,
		             msg ? msg : "");
		if (n < 0 || (size_t)n >= sizeof(logs))
			n = 0;
	}
	loglen += (size_t)n;
	pthread_mutex_unlock(&mu);
}

static void h_complete(void *ctx, uint64_t id, json_object *out)
{
	(void)ctx;
	if (hooks && hooks->complete) {
		hooks->complete(id, out);
		return;
	}
	pthread_mutex_lock(&mu);
	check_secret(out ? json_object_to_json_string(out) : NULL);
	if (id < FAKE_HOST_MAXID) {
		ncomplete[id]++;
		if (!done[id])
			done[id] = out;
		else
			json_object_put(out);
	} else {
		json_object_put(out);
	}
	pthread_cond_broadcast(&cv);
	pthread_mutex_unlock(&mu);
}

static int h_publish(void *ctx, uint64_t sub, json_object *ev, char *err,
                     size_t errlen)
{
	fake_publish mode;
	int delay;

	(void)ctx;
	if (hooks && hooks->publish)
		return hooks->publish(sub, ev, err, errlen);
	pthread_mutex_lock(&mu);
	npublish++;
	mode = pub_mode;
	delay = pub_delay_ms;
	pthread_mutex_unlock(&mu);
	if (delay > 0)
		usleep((useconds_t)delay * 1000);
	switch (mode) {
	case FAKE_PUBLISH_REFUSE:
		json_object_put(ev);
		snprintf(err, errlen, "the fake host refuses events");
		return CONN_EREFUSED;
	case FAKE_PUBLISH_ENOENT: json_object_put(ev); return CONN_ENOENT;
	case FAKE_PUBLISH_TIMEOUT:
		json_object_put(ev);
		snprintf(err, errlen, "the fake host timed out");
		return CONN_ETIMEDOUT;
	default: break;
	}
	pthread_mutex_lock(&mu);
	if (nevents < FAKE_HOST_EVENTS) {
		events[nevents] = ev;
		event_sub[nevents] = sub;
		ev = NULL;
	}
	nevents++;
	pthread_mutex_unlock(&mu);
	json_object_put(ev);
	return 0;
}

/* The live record of KEY, or NULL (under MU). */
static claim_rec *find_claim(const char *key)
{
	size_t i;

	for (i = 0; i < nstore; i++)
		if (strcmp(store[i].key, key) == 0)
			return &store[i];
	return NULL;
}

/* A private copy of O (what a real store hands back). */
static json_object *copy_json(json_object *o)
{
	return json_tokener_parse(json_object_to_json_string(o));
}

static int store_claim(const char *key, json_object **prior)
{
	claim_rec *r = find_claim(key);
	claim_rec *p;

	if (r && r->result) {
		*prior = copy_json(r->result);
		return CONN_CLAIM_DONE;
	}
	if (r)
		return CONN_CLAIM_IN_PROGRESS;
	if (nstore >= store_cap)
		return CONN_EFULL;
	p = realloc(store, (nstore + 1) * sizeof(*store));
	if (!p)
		return CONN_EFULL;
	store = p;
	store[nstore].key = strdup(key);
	store[nstore].result = NULL;
	if (!store[nstore].key)
		return CONN_EFULL;
	nstore++;
	nclaims_new++;
	return CONN_CLAIM_NEW;
}

static int h_claim(void *ctx, const char *key, uint32_t ttl,
                   json_object **prior)
{
	int rc;

	(void)ctx;
	*prior = NULL;
	if (hooks && hooks->claim)
		return hooks->claim(key, ttl, prior);
	if (!key || !*key)
		return CONN_EINVAL;
	pthread_mutex_lock(&mu);
	snprintf(last_key, sizeof(last_key), "%s", key);
	last_ttl = ttl;
	switch (claim_mode) {
	case FAKE_CLAIM_NEW:
		nclaims_new++;
		rc = CONN_CLAIM_NEW;
		break;
	case FAKE_CLAIM_IN_PROGRESS: rc = CONN_CLAIM_IN_PROGRESS; break;
	case FAKE_CLAIM_DONE:
		*prior = json_tokener_parse(claim_prior ? claim_prior : "{}");
		rc = CONN_CLAIM_DONE;
		break;
	case FAKE_CLAIM_FULL: rc = CONN_EFULL; break;
	default: rc = store_claim(key, prior); break;
	}
	pthread_mutex_unlock(&mu);
	return rc;
}

static int h_settle(void *ctx, const char *key, json_object *res, uint32_t ttl)
{
	claim_rec *r;
	int rc;

	(void)ctx;
	if (hooks && hooks->settle)
		return hooks->settle(key, res, ttl);
	pthread_mutex_lock(&mu);
	nsettles++;
	check_secret(res ? json_object_to_json_string(res) : NULL);
	r = find_claim(key);
	if (r && res && !r->result) {
		r->result = res;
		res = NULL;
	} else if (r && !res) {
		free(r->key);
		json_object_put(r->result);
		*r = store[--nstore];
	}
	/* only the store knows which keys were claimed */
	rc = r || claim_mode != FAKE_CLAIM_STORE ? 0 : CONN_ENOENT;
	pthread_mutex_unlock(&mu);
	json_object_put(res);
	return rc;
}

const conn_host fake_host = {
        .struct_size = sizeof(conn_host),
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .log = h_log,
        .complete = h_complete,
        .publish = h_publish,
        .claim = h_claim,
        .settle = h_settle,
};

/* ---------------------------------------------------------- controls */

void fake_host_reset(void)
{
	size_t i;

	pthread_mutex_lock(&mu);
	for (i = 0; i < FAKE_HOST_MAXID; i++) {
		json_object_put(done[i]);
		done[i] = NULL;
		ncomplete[i] = 0;
	}
	for (i = 0; i < FAKE_HOST_EVENTS; i++) {
		json_object_put(events[i]);
		events[i] = NULL;
	}
	for (i = 0; i < nstore; i++) {
		free(store[i].key);
		json_object_put(store[i].result);
	}
	free(store);
	store = NULL;
	nstore = 0;
	store_cap = FAKE_HOST_CLAIM_MAX;
	free(claim_prior);
	claim_prior = NULL;
	claim_mode = FAKE_CLAIM_STORE;
	pub_mode = FAKE_PUBLISH_ACCEPT;
	pub_delay_ms = 0;
	npublish = nevents = nclaims_new = nsettles = 0;
	memset(nlog, 0, sizeof(nlog));
	loglen = 0;
	logs[0] = '\0';
	leaks = 0;
	last_key[0] = '\0';
	last_ttl = 0;
	hooks = NULL;
	pthread_mutex_unlock(&mu);
}

void fake_host_set_secret(const char *s)
{
	pthread_mutex_lock(&mu);
	snprintf(secret, sizeof(secret), "%s", s ? s : "");
	pthread_mutex_unlock(&mu);
}

int fake_host_leaks(void)
{
	int n;

	pthread_mutex_lock(&mu);
	n = leaks;
	pthread_mutex_unlock(&mu);
	return n;
}

json_object *fake_host_wait_done(uint64_t id, int ms)
{
	struct timespec ts;
	json_object *o;

	if (id >= FAKE_HOST_MAXID)
		return NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ms / 1000;
	ts.tv_nsec += (ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&mu);
	while (!done[id])
		if (pthread_cond_timedwait(&cv, &mu, &ts))
			break;
	o = done[id];
	pthread_mutex_unlock(&mu);
	return o;
}

int fake_host_completions(uint64_t id)
{
	int n;

	if (id >= FAKE_HOST_MAXID)
		return 0;
	pthread_mutex_lock(&mu);
	n = ncomplete[id];
	pthread_mutex_unlock(&mu);
	return n;
}

int fake_host_log_has(const char *needle)
{
	int r;

	pthread_mutex_lock(&mu);
	r = strstr(logs, needle) != NULL;
	pthread_mutex_unlock(&mu);
	return r;
}

long fake_host_log_count(conn_log_level level)
{
	long n = 0;
	int l;

	pthread_mutex_lock(&mu);
	/* ERROR is 0: "at LEVEL or above" is 0..LEVEL */
	for (l = CONN_LOG_ERROR; l <= (int)level && l <= CONN_LOG_DEBUG; l++)
		n += nlog[l];
	pthread_mutex_unlock(&mu);
	return n;
}

void fake_host_set_publish(fake_publish mode, int delay_ms)
{
	pthread_mutex_lock(&mu);
	pub_mode = mode;
	pub_delay_ms = delay_ms;
	pthread_mutex_unlock(&mu);
}

long fake_host_events(uint64_t sub)
{
	long n = 0, i;

	pthread_mutex_lock(&mu);
	if (!sub)
		n = nevents;
	else
		for (i = 0; i < nevents && i < FAKE_HOST_EVENTS; i++)
			n += event_sub[i] == sub;
	pthread_mutex_unlock(&mu);
	return n;
}

json_object *fake_host_event(long n, uint64_t *sub)
{
	json_object *o = NULL;

	pthread_mutex_lock(&mu);
	if (n >= 0 && n < nevents && n < FAKE_HOST_EVENTS) {
		o = json_object_get(events[n]);
		if (sub)
			*sub = event_sub[n];
	}
	pthread_mutex_unlock(&mu);
	return o;
}

long fake_host_publishes(void)
{
	long n;

	pthread_mutex_lock(&mu);
	n = npublish;
	pthread_mutex_unlock(&mu);
	return n;
}

void fake_host_set_claim(fake_claim mode, const char *prior)
{
	pthread_mutex_lock(&mu);
	claim_mode = mode;
	free(claim_prior);
	claim_prior = prior ? strdup(prior) : NULL;
	pthread_mutex_unlock(&mu);
}

void fake_host_set_claim_capacity(size_t n)
{
	pthread_mutex_lock(&mu);
	store_cap = n;
	pthread_mutex_unlock(&mu);
}

long fake_host_claims_new(void)
{
	long n;

	pthread_mutex_lock(&mu);
	n = nclaims_new;
	pthread_mutex_unlock(&mu);
	return n;
}

long fake_host_settles(void)
{
	long n;

	pthread_mutex_lock(&mu);
	n = nsettles;
	pthread_mutex_unlock(&mu);
	return n;
}

void fake_host_last_claim(char *key, size_t keylen, uint32_t *ttl)
{
	pthread_mutex_lock(&mu);
	if (key && keylen)
		snprintf(key, keylen, "%s", last_key);
	if (ttl)
		*ttl = last_ttl;
	pthread_mutex_unlock(&mu);
}

void fake_host_set_hooks(const fake_host_hooks *h)
{
	pthread_mutex_lock(&mu);
	hooks = h;
	pthread_mutex_unlock(&mu);
}
