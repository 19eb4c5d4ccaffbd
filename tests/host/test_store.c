/*
 * test_store.c - the idempotency store (host-api/store.c): NEW,
 * IN_PROGRESS, DONE with a private copy of the result, forget, TTL expiry,
 * a full namespace refusing new keys (CONN_EFULL) rather than evicting a
 * live result, expired entries reclaimed, namespaces with budgets of
 * their own, byte accounting, the 80 % warning (once per crossing), bad
 * keys, one NEW among many threads claiming one key, and the slabs'
 * memory following the live entries (store.c is compiled into this test
 * to reach connhost__store_slab_bytes()).
 */
#include <stdio.h>
#include <time.h>

#include "../plugins/hosttest.h"
#include "connhost-int.h"

static void sleep_ms(int ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) != 0)
		;
}

static void basics(void)
{
	connhost_store *s = connhost_store_new(0);
	json_object *prior = (json_object *)1, *res;
	connhost_store_counts c;

	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "k1", 60000, &prior),
	       "first claim is NEW");
	ok(prior == NULL, "no prior on NEW");
	is_int(CONN_CLAIM_IN_PROGRESS,
	       connhost_store_claim(s, "k1", 60000, &prior),
	       "second claim while alive is IN_PROGRESS");
	res = json_object_new_object();
	json_object_object_add(res, "sid", json_object_new_string("SM1"));
	is_int(0, connhost_store_settle(s, "k1", res, 60000), "settle");
	is_int(CONN_CLAIM_DONE, connhost_store_claim(s, "k1", 60000, &prior),
	       "claim after settle is DONE");
	/* RES was handed over (the store may have freed it, and malloc may
	 * give its address to PRIOR): "private" is shown by changing PRIOR
	 * and reading the record again, not by comparing pointers */
	ok(prior != NULL, "DONE hands back the result");
	is_str("{ \"sid\": \"SM1\" }",
	       prior ? json_object_to_json_string(prior) : NULL,
	       "the copy holds the first result");
	if (prior)
		json_object_object_add(prior, "sid",
		                       json_object_new_string("changed"));
	json_object_put(prior);
	prior = NULL;
	is_int(CONN_CLAIM_DONE, connhost_store_claim(s, "k1", 60000, &prior),
	       "claim after settle is DONE again");
	is_str("{ \"sid\": \"SM1\" }",
	       prior ? json_object_to_json_string(prior) : NULL,
	       "DONE hands back a private copy: a change to one is not kept");
	json_object_put(prior);
	is_int(CONN_ENOENT, connhost_store_settle(s, "k1", NULL, 1000),
	       "settling a key that is not claimed: ENOENT");
	is_int(CONN_ENOENT, connhost_store_settle(s, "nokey", NULL, 1000),
	       "settling an unknown key: ENOENT");

	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "k2", 60000, NULL),
	       "claim k2");
	is_int(0, connhost_store_settle(s, "k2", NULL, 0),
	       "settle NULL forgets");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "k2", 60000, NULL),
	       "a forgotten key is NEW again");

	is_int(CONN_EINVAL, connhost_store_claim(s, "", 1000, &prior),
	       "empty key refused");
	{
		char big[CONNHOST_KEY_MAX + 2];
		memset(big, 'x', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		is_int(CONN_EINVAL, connhost_store_claim(s, big, 1000, NULL),
		       "key longer than CONNHOST_KEY_MAX refused");
		big[CONNHOST_KEY_MAX] = '\0';
		is_int(CONN_CLAIM_NEW, connhost_store_claim(s, big, 1000, NULL),
		       "key of CONNHOST_KEY_MAX accepted");
	}
	is_int(CONN_EINVAL, connhost_store_claim(s, NULL, 1000, NULL),
	       "NULL key refused");
	connhost_store_get_counts(s, &c);
	is_int(4, c.claims_new, "claims_new counted");
	is_int(1, c.claims_busy, "claims_busy counted");
	is_int(2, c.claims_done, "claims_done counted");
	connhost_store_free(s);
}

static void ttl(void)
{
	connhost_store *s = connhost_store_new(0);
	connhost_store_counts c;

	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "a", 30, NULL),
	       "claim a with TTL 30 ms");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "b", 30, NULL),
	       "claim b with TTL 30 ms");
	is_int(0, connhost_store_settle(s, "b", json_object_new_int(1), 30),
	       "settle b with TTL 30 ms");
	sleep_ms(80); /* time itself is what is tested */
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "a", 1000, NULL),
	       "an expired claim is NEW again");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "b", 1000, NULL),
	       "an expired result is NEW again");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c", 20, NULL),
	       "claim c with TTL 20 ms");
	sleep_ms(60);
	is_int(CONN_ENOENT, connhost_store_settle(s, "c", NULL, 1000),
	       "settling an expired claim: ENOENT");
	connhost_store_get_counts(s, &c);
	is_int(2, c.expired, "expiries counted");
	connhost_store_free(s);
}

/* Claim and settle "PREFIX%d" keys until the store refuses one; the
 * number settled, or -1 when 2000 went in without a refusal. */
static int fill(connhost_store *s, const char *prefix, int from)
{
	int i;

	for (i = from; i < from + 2000; i++) {
		char key[64];
		int rc;
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		rc = connhost_store_claim(s, key, 60000, NULL);
		if (rc == CONN_EFULL)
			return i - from;
		if (rc != CONN_CLAIM_NEW ||
		    connhost_store_settle(s, key, json_object_new_int(i),
		                          60000) != 0)
			return -2;
	}
	return -1;
}

/* The fault of issue 8, item 2: a full store evicted the oldest live
 * result, so a retry of that task sent the SMS a second time. */
static void full_refuses(void)
{
	connhost_store *s = connhost_store_new(8192);
	connhost_store_counts c;
	json_object *prior = NULL;
	int n, i, all = 1;

	n = fill(s, "send/r", 0);
	ok(n > 5,
	   "a full send namespace refuses a new key (%d results "
	   "first)",
	   n);
	for (i = 0; i < (n > 0 ? n : 0); i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/r%d", i);
		if (connhost_store_claim(s, key, 60000, &prior) !=
		            CONN_CLAIM_DONE ||
		    !prior || json_object_get_int(prior) != i)
			all = 0;
		json_object_put(prior);
		prior = NULL;
	}
	ok(all, "every live result is still there: none was evicted");
	is_int(CONN_EFULL, connhost_store_claim(s, "send/new", 60000, &prior),
	       "still full: EFULL");
	ok(prior == NULL, "no prior on EFULL");
	is_int(CONN_ENOENT, connhost_store_settle(s, "send/r0", NULL, 0),
	       "a DONE key cannot be forgotten by settle (not claimed)");
	connhost_store_get_counts(s, &c);
	is_int(2, c.refused_full, "the refusals counted");
	is_int(n, c.ns[CONNHOST_STORE_NS_SEND].entries,
	       "the send namespace holds every result");
	ok(c.ns[CONNHOST_STORE_NS_SEND].bytes <=
	           c.ns[CONNHOST_STORE_NS_SEND].max_bytes,
	   "within its budget (%zu of %zu bytes)",
	   c.ns[CONNHOST_STORE_NS_SEND].bytes,
	   c.ns[CONNHOST_STORE_NS_SEND].max_bytes);
	connhost_store_free(s);

	s = connhost_store_new(8192);
	for (i = 0, n = 0; i < 2000; i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/c%d", i);
		if (connhost_store_claim(s, key, 60000, NULL) == CONN_EFULL)
			break;
		n++;
	}
	ok(n > 0 && n < 2000, "a store full of live claims refuses too");
	is_int(CONN_CLAIM_IN_PROGRESS,
	       connhost_store_claim(s, "send/c0", 60000, NULL),
	       "existing keys still answer when full");
	is_int(0,
	       connhost_store_settle(s, "send/c0", json_object_new_int(1),
	                             60000),
	       "and settle: a settle is never refused for room");
	connhost_store_free(s);
}

static void expired_reclaimed(void)
{
	connhost_store *s = connhost_store_new(8192);
	connhost_store_counts c;
	int i, n = 0;

	for (i = 0; i < 2000; i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/e%d", i);
		if (connhost_store_claim(s, key, 40, NULL) != CONN_CLAIM_NEW)
			break;
		if (i % 2 == 0) /* half claims, half results */
			connhost_store_settle(s, key, json_object_new_int(i),
			                      40 + i % 7);
		n++;
	}
	ok(n > 5 && n < 2000, "filled with short-lived entries");
	sleep_ms(120); /* time itself is what is tested */
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "send/x", 60000, NULL),
	       "expired entries make room for a new key");
	connhost_store_get_counts(s, &c);
	is_int(n, c.expired, "every expired entry was reclaimed");
	is_int(1, c.ns[CONNHOST_STORE_NS_SEND].entries,
	       "only the new one "
	       "is left");
	connhost_store_free(s);
}

static void namespaces(void)
{
	connhost_store *s = connhost_store_new(8192);
	connhost_store_counts c;
	int n;

	is_str("send", connhost_store_ns_name(CONNHOST_STORE_NS_SEND),
	       "namespace 0");
	is_str("inbound", connhost_store_ns_name(CONNHOST_STORE_NS_INBOUND),
	       "namespace 1");
	is_str("other", connhost_store_ns_name(CONNHOST_STORE_NS_OTHER),
	       "namespace 2");
	ok(connhost_store_ns_name(3) == NULL, "no namespace 3");
	n = fill(s, "inbound/SM", 0);
	ok(n > 0, "an inbound flood fills the inbound namespace");
	is_int(CONN_CLAIM_NEW,
	       connhost_store_claim(s, "send/k|+14155550100", 60000, NULL),
	       "sends are still claimed");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "k|+1415", 60000, NULL),
	       "a key without '/' goes to the other namespace, still free");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "sendx/k", 60000, NULL),
	       "'sendx/' is not 'send/'");
	connhost_store_get_counts(s, &c);
	is_int(n, c.ns[CONNHOST_STORE_NS_INBOUND].entries, "inbound entries");
	is_int(1, c.ns[CONNHOST_STORE_NS_SEND].entries, "send entries");
	is_int(2, c.ns[CONNHOST_STORE_NS_OTHER].entries, "other entries");
	is_int(8192, c.max_bytes, "the budgets add up to the size given");
	is_int(8192 / 8 * 5, c.ns[CONNHOST_STORE_NS_SEND].max_bytes,
	       "send: 5/8");
	is_int(8192 / 8 * 2, c.ns[CONNHOST_STORE_NS_INBOUND].max_bytes,
	       "inbound: 2/8");
	n = fill(s, "send/f", 0);
	ok(n > 0, "and the send namespace fills on its own budget");
	connhost_store_free(s);
}

static void accounting(void)
{
	connhost_store *s = connhost_store_new(0);
	connhost_store_counts c0, c1, c2;
	char big[1001];
	const char *text = "{\"to\":\"+14155550100\",\"sid\":"
	                   "\"SM0123456789abcdef0123456789abcdef\","
	                   "\"status\":\"queued\",\"segments\":1}";

	connhost_store_get_counts(s, &c0);
	is_int(0, c0.bytes, "an empty store takes no entry bytes");
	is_int(128 * 1024 * 1024, c0.max_bytes, "the default: 128 MiB");
	connhost_store_claim(s, "send/k", 60000, NULL);
	connhost_store_get_counts(s, &c1);
	ok(c1.bytes > 6, "a claim is charged (%zu bytes)", c1.bytes);
	memset(big, 'x', 1000);
	memcpy(big, "send/", 5);
	big[1000] = '\0';
	connhost_store_claim(s, big, 60000, NULL);
	connhost_store_get_counts(s, &c2);
	ok(c2.bytes - c1.bytes >= 1000 + 1,
	   "a 1000-byte key costs at least its bytes (%zu)",
	   c2.bytes - c1.bytes);
	connhost_store_settle(s, big, NULL, 0);
	connhost_store_get_counts(s, &c2);
	is_int(c1.bytes, c2.bytes, "forgetting it gives them back");
	connhost_store_settle(s, "send/k", json_tokener_parse(text), 60000);
	connhost_store_get_counts(s, &c2);
	ok(c2.bytes >= 6 + strlen(text) + 64,
	   "a result is charged its text, its key and the entry (%zu)",
	   c2.bytes);
	/* A send_sms result under a 36-character idempotency key: the
	 * figure docs/connector-host.md sizes the default with. */
	connhost_store_free(s);
	s = connhost_store_new(0);
	{
		char key[128];
		snprintf(key, sizeof(key), "send/%s|+14155550100",
		         "123e4567-e89b-12d3-a456-426614174000");
		connhost_store_claim(s, key, 60000, NULL);
		connhost_store_settle(s, key, json_tokener_parse(text), 60000);
	}
	connhost_store_get_counts(s, &c2);
	diag("a typical send_sms result costs %zu bytes", c2.bytes);
	ok(c2.bytes >= 200 && c2.bytes <= 300,
	   "a typical send_sms result costs about 250 bytes (%zu)", c2.bytes);
	connhost_store_free(s);
}

static void fill_warning(void)
{
	connhost_store *s = connhost_store_new(8192);
	struct ht_log l;
	connhost_log sink;
	connhost_store_counts c;
	int i, n = 0;
	const char *w = "namespace send is over 80 % full";

	ht_log_init(&l);
	sink = ht_log_sink(&l);
	connhost_store_set_log(s, &sink);
	for (i = 0; i < 2000; i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/w%d", i);
		connhost_store_get_counts(s, &c);
		if (c.ns[0].bytes * 100 >= c.ns[0].max_bytes * 90)
			break;
		if (connhost_store_claim(s, key, 60000, NULL) != CONN_CLAIM_NEW)
			break;
		n++;
		if (ht_log_count(&l, w) == 0)
			ok(c.ns[0].bytes * 100 < c.ns[0].max_bytes * 80 + 100,
			   "no warning below 80 %% (%zu/%zu)", c.ns[0].bytes,
			   c.ns[0].max_bytes);
	}
	is_int(1, ht_log_count(&l, w), "one warning when crossing 80 %%");
	ok(ht_log_count(&l, "\"namespace\":\"send\"") == 1 &&
	           ht_log_count(&l, "--store-bytes") == 1,
	   "it names the namespace and the fix");
	for (i = 0; i < 5; i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/w%d", i);
		connhost_store_settle(s, key, json_object_new_int(1), 60000);
	}
	is_int(1, ht_log_count(&l, w), "no flood while above it");
	/* Forget down to below 70 %, then cross again. */
	for (i = 5; i < n; i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/w%d", i);
		connhost_store_settle(s, key, NULL, 0);
		connhost_store_get_counts(s, &c);
		if (c.ns[0].bytes * 100 < c.ns[0].max_bytes * 60)
			break;
	}
	is_int(1, ht_log_count(&l, w), "none while it drops");
	for (i = 0; i < 2000; i++) {
		char key[64];
		snprintf(key, sizeof(key), "send/v%d", i);
		if (connhost_store_claim(s, key, 60000, NULL) != CONN_CLAIM_NEW)
			break;
	}
	is_int(2, ht_log_count(&l, w),
	       "a second warning after it fell "
	       "below and crossed again");
	connhost_store_get_counts(s, &c);
	is_int(2, c.fill_warnings, "counted");
	is_int(0, ht_log_count(&l, "namespace inbound"),
	       "none for the other namespaces");
	connhost_store_free(s);
	ht_log_free(&l);
}

struct race {
	connhost_store *s;
	int news;
	pthread_mutex_t m;
};

static void *racer(void *arg)
{
	struct race *r = arg;
	int i;

	for (i = 0; i < 100; i++) {
		char key[32];
		snprintf(key, sizeof(key), "race-%d", i);
		if (connhost_store_claim(r->s, key, 60000, NULL) ==
		    CONN_CLAIM_NEW) {
			pthread_mutex_lock(&r->m);
			r->news++;
			pthread_mutex_unlock(&r->m);
		}
	}
	return NULL;
}

static void threads(void)
{
	struct race r = {.s = connhost_store_new(0), .news = 0};
	pthread_t th[8];
	int i;

	pthread_mutex_init(&r.m, NULL);
	for (i = 0; i < 8; i++)
		pthread_create(&th[i], NULL, racer, &r);
	for (i = 0; i < 8; i++)
		pthread_join(th[i], NULL);
	is_int(100, r.news,
	       "8 threads claiming 100 keys: exactly one NEW each");
	pthread_mutex_destroy(&r.m);
	connhost_store_free(r.s);
}

/* Settle N keys (PREFIX<i>) with a send_sms-sized result. */
static int settle_many(connhost_store *s, const char *prefix, int n,
                       uint32_t ttl)
{
	int i, ok_n = 0;

	for (i = 0; i < n; i++) {
		char key[64];
		snprintf(key, sizeof(key), "%s%d", prefix, i);
		if (connhost_store_claim(s, key, ttl, NULL) != CONN_CLAIM_NEW)
			continue;
		ok_n += connhost_store_settle(
		                s, key,
		                json_tokener_parse(
		                        "{\"sid\":"
		                        "\"SM0123456789abcdef0123456789"
		                        "abcdef\",\"status\":\"queued\"}"),
		                ttl) == 0;
	}
	return ok_n;
}

static void slabs(void)
{
	connhost_store *s = connhost_store_new(0);
	json_object *prior = NULL;
	size_t peak, again, low;
	int i, n = 0;
	char key[64];

	is_int(0, connhost__store_slab_bytes(s), "a new store maps nothing");
	/* claims, then forgotten: no clock involved */
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "send/c%d", i);
		n += connhost_store_claim(s, key, 600000, NULL) ==
		     CONN_CLAIM_NEW;
	}
	is_int(5000, n, "5,000 claims");
	peak = connhost__store_slab_bytes(s);
	diag("5,000 claims: %zu slab bytes", peak);
	ok(peak >= (size_t)5000 * 64 && peak <= (size_t)5000 * 128 + 2 * 65536,
	   "the slabs hold them at slot size (%zu bytes)", peak);
	for (i = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "send/c%d", i);
		connhost_store_settle(s, key, NULL, 0);
	}
	low = connhost__store_slab_bytes(s);
	ok(low <= 65536, "forgotten, their slabs are given back (%zu bytes)",
	   low);
	for (i = 0, n = 0; i < 5000; i++) {
		snprintf(key, sizeof(key), "send/d%d", i);
		n += connhost_store_claim(s, key, 600000, NULL) ==
		     CONN_CLAIM_NEW;
	}
	again = connhost__store_slab_bytes(s);
	ok(n == 5000 && again <= peak,
	   "the same load maps no more than before (%zu, was %zu)", again,
	   peak);
	connhost_store_free(s);

	/* results: moved to the slot that fits them, read back intact */
	s = connhost_store_new(0);
	is_int(1000, settle_many(s, "send/a", 1000, 600000),
	       "1,000 results kept");
	is_int(CONN_CLAIM_DONE, connhost_store_claim(s, "send/a999", 0, &prior),
	       "a result read back from its slot");
	ok(prior && strcmp(json_object_get_string(
	                           json_object_object_get(prior, "status")),
	                   "queued") == 0,
	   "with its text intact");
	json_object_put(prior);
	/* expiry gives slabs back, per namespace: the live send results do
	 * not pin the slabs of expired inbound entries */
	settle_many(s, "inbound/x", 5000, 100);
	/* (not asserted: on a slow machine some expire during the fill) */
	diag("5,000 inbound entries: %zu bytes mapped",
	     connhost__store_slab_bytes(s));
	sleep_ms(150); /* each entry's TTL counts from its own settle */
	connhost_store_claim(s, "inbound/y", 100, NULL); /* reclaims */
	low = connhost__store_slab_bytes(s);
	ok(low <= (size_t)1000 * 256 + 4 * 65536,
	   "expired, the inbound slabs are unmapped; the send results stay "
	   "(%zu bytes)",
	   low);
	is_int(CONN_CLAIM_DONE, connhost_store_claim(s, "send/a0", 0, NULL),
	       "the send results are still there");
	connhost_store_free(s);
}

/* ABI 1.1's claims with an owner token: the "go ahead" answer is not 0,
 * and only the claim's owner settles it. */
static void owners(void)
{
	connhost_store *s = connhost_store_new(0);
	json_object *prior = NULL;
	uint64_t a = 0, b = 7, c = 0;
	struct ht_log l;
	connhost_log sink;
	int rc;

	ht_log_init(&l);
	sink = ht_log_sink(&l);
	connhost_store_set_log(s, &sink);
	rc = connhost_store_claim_owned(s, "send/k|+15005550006", 60000, &a,
	                                &prior);
	is_int(CONN_CLAIM_OWNED, rc, "claim_owned: OWNED (3), not 0");
	ok(CONN_CLAIM_OWNED != 0 && a != 0, "with an owner token (%llu)",
	   (unsigned long long)a);
	rc = connhost_store_claim_owned(s, "send/k|+15005550006", 60000, &b,
	                                &prior);
	is_int(CONN_CLAIM_IN_PROGRESS, rc, "a second claim: IN_PROGRESS");
	ok(b == 0 && prior == NULL, "no token, no prior for it");
	rc = connhost_store_settle_owned(s, "send/k|+15005550006", a + 1,
	                                 json_object_new_int(1), 60000);
	is_int(CONN_ENOTOWNER, rc, "settle by another token: ENOTOWNER");
	is_int(1, ht_log_count(&l, "is claimed by another owner"),
	       "logged once, as a warning");
	is_int(0, ht_log_count(&l, "15005550006"),
	       "the log line does not show the key (a phone number)");
	rc = connhost_store_claim_owned(s, "send/k|+15005550006", 60000, &b,
	                                &prior);
	is_int(CONN_CLAIM_IN_PROGRESS, rc, "the claim is untouched by it");
	rc = connhost_store_settle_owned(s, "send/k|+15005550006", a,
	                                 json_object_new_int(42), 60000);
	is_int(0, rc, "settle by the owner: 0");
	rc = connhost_store_claim_owned(s, "send/k|+15005550006", 60000, &b,
	                                &prior);
	is_int(CONN_CLAIM_DONE, rc, "then DONE");
	ok(b == 0 && prior && json_object_get_int(prior) == 42,
	   "with the owner's result and no token");
	json_object_put(prior);
	prior = NULL;

	/* an owner whose claim expired cannot settle the next owner's */
	rc = connhost_store_claim_owned(s, "inbound/SM1", 1, &a, NULL);
	is_int(CONN_CLAIM_OWNED, rc, "a claim with a 1 ms TTL");
	sleep_ms(5);
	rc = connhost_store_claim_owned(s, "inbound/SM1", 60000, &c, NULL);
	ok(rc == CONN_CLAIM_OWNED && c != 0 && c != a,
	   "expired: claimed again under a new token");
	rc = connhost_store_settle_owned(s, "inbound/SM1", a,
	                                 json_object_new_int(1), 60000);
	is_int(CONN_ENOTOWNER, rc, "the late first owner is refused");
	rc = connhost_store_settle_owned(s, "inbound/SM1", c, NULL, 60000);
	is_int(0, rc, "the second owner forgets it (NULL result)");
	rc = connhost_store_claim_owned(s, "inbound/SM1", 60000, &a, NULL);
	is_int(CONN_CLAIM_OWNED, rc, "forgotten: OWNED again");

	/* ABI 1.0's claim and settle keep their contract beside it */
	rc = connhost_store_settle(s, "inbound/SM1", json_object_new_int(5),
	                           60000);
	is_int(0, rc, "1.0 settle (no owner) settles an owned claim");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "other/x", 60000, NULL),
	       "1.0 claim: NEW (0)");
	rc = connhost_store_settle_owned(s, "other/x", 1, NULL, 60000);
	is_int(CONN_ENOTOWNER, rc,
	       "a 1.0 claim (token 0) cannot be settled with a token");
	is_int(CONN_EINVAL, connhost_store_claim_owned(s, "", 60000, &a, NULL),
	       "claim_owned of a bad key: EINVAL");
	ok(a == 0, "and no token");
	connhost_store_free(s);
	ht_log_free(&l);
}

int main(void)
{
	basics();
	ttl();
	full_refuses();
	expired_reclaimed();
	namespaces();
	accounting();
	fill_warning();
	threads();
	slabs();
	owners();
	return done_testing();
}
