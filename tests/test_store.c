/*
 * test_store.c - the idempotency store (host-api/store.c): NEW,
 * IN_PROGRESS, DONE with a private copy of the result, forget, TTL expiry,
 * capacity with early evictions counted, CONN_EFULL when full of live
 * claims, bad keys, and one NEW among many threads claiming one key.
 */
#include <time.h>

#include "plugins/hosttest.h"

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
	ok(prior && prior != res, "DONE hands back a private copy");
	is_str("{ \"sid\": \"SM1\" }",
	       prior ? json_object_to_json_string(prior) : NULL,
	       "the copy holds the first result");
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
	is_int(1, c.claims_done, "claims_done counted");
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
	is_int(0, c.early_evictions, "no early eviction");
	connhost_store_free(s);
}

static void capacity(void)
{
	connhost_store *s = connhost_store_new(4);
	connhost_store_counts c;
	json_object *prior = NULL;

	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c1", 60000, NULL),
	       "c1");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c2", 60000, NULL),
	       "c2");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c3", 60000, NULL),
	       "c3");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c4", 60000, NULL),
	       "c4");
	is_int(CONN_EFULL, connhost_store_claim(s, "c5", 60000, NULL),
	       "full of live claims: EFULL");
	is_int(CONN_CLAIM_IN_PROGRESS,
	       connhost_store_claim(s, "c1", 60000, NULL),
	       "existing keys still answer when full");
	is_int(0, connhost_store_settle(s, "c1", json_object_new_int(1), 60000),
	       "settle c1");
	is_int(0, connhost_store_settle(s, "c2", json_object_new_int(2), 60000),
	       "settle c2");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c5", 60000, NULL),
	       "a new key evicts the oldest result");
	is_int(CONN_CLAIM_NEW, connhost_store_claim(s, "c1", 60000, NULL),
	       "c1 (evicted early) is NEW again");
	is_int(CONN_EFULL, connhost_store_claim(s, "c6", 60000, &prior),
	       "full of live claims again: EFULL");
	ok(prior == NULL, "no prior on EFULL");
	connhost_store_get_counts(s, &c);
	is_int(2, c.early_evictions, "two results evicted before their TTL");
	is_int(4, c.entries, "never more than the capacity");
	is_int(2, c.refused_full, "the refusals counted");
	connhost_store_free(s);
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

int main(void)
{
	basics();
	ttl();
	capacity();
	threads();
	return done_testing();
}
