/*
 * store.c - the idempotency store behind the claim()/settle() host
 * services: a bounded hash of keys, each IN_PROGRESS (claimed) or DONE
 * (settled with a result), each with a TTL. Owns the keys and the results.
 *
 * Two FIFO lists (claims, results) in insertion order give the eviction
 * order: when the store is full, expired entries at the list heads go
 * first, then the oldest result (an early eviction); claims are never
 * evicted while alive, so a store full of live claims answers CONN_EFULL.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "connhost-int.h"

#define DEFAULT_CAPACITY 65536

enum { ST_CLAIMED, ST_DONE };

struct entry {
	char *key;
	uint64_t hash;
	int state;
	int64_t expires;
	json_object *result;
	struct entry *hnext;
	struct entry *prev, *next; /* in claims or results */
};

struct list {
	struct entry *head, *tail;
};

struct connhost_store {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count, capacity;
	struct list claims, results;
	connhost_store_counts counts;
};

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

connhost_store *connhost_store_new(size_t capacity)
{
	connhost_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->capacity = capacity ? capacity : DEFAULT_CAPACITY;
	s->nbuckets = 16;
	while (s->nbuckets < s->capacity && s->nbuckets < (1u << 20))
		s->nbuckets <<= 1;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

static void free_entry(struct entry *e)
{
	if (e->result)
		json_object_put(e->result);
	free(e->key);
	free(e);
}

void connhost_store_free(connhost_store *s)
{
	size_t i;

	if (!s)
		return;
	for (i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *n;
		for (; e; e = n) {
			n = e->hnext;
			free_entry(e);
		}
	}
	free(s->buckets);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

static struct list *list_of(connhost_store *s, struct entry *e)
{
	return e->state == ST_CLAIMED ? &s->claims : &s->results;
}

static void list_remove(struct list *l, struct entry *e)
{
	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
}

static void list_append(struct list *l, struct entry *e)
{
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
}

static struct entry **find_slot(connhost_store *s, const char *key, uint64_t h)
{
	struct entry **pp = &s->buckets[h & (s->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

/* Unlink E from its bucket and list and free it. Lock held. */
static void drop(connhost_store *s, struct entry *e)
{
	struct entry **pp = find_slot(s, e->key, e->hash);

	if (*pp == e)
		*pp = e->hnext;
	list_remove(list_of(s, e), e);
	s->count--;
	free_entry(e);
}

/* Make room for one entry. Lock held. 0, or CONN_EFULL. */
static int make_room(connhost_store *s, int64_t now)
{
	struct entry *e, *n;

	if (s->count < s->capacity)
		return 0;
	while (s->results.head && s->results.head->expires <= now) {
		drop(s, s->results.head);
		s->counts.expired++;
	}
	while (s->claims.head && s->claims.head->expires <= now) {
		drop(s, s->claims.head);
		s->counts.expired++;
	}
	if (s->count < s->capacity)
		return 0;
	if (s->results.head) {
		drop(s, s->results.head);
		s->counts.early_evictions++;
		return 0;
	}
	/* Only claims left: TTLs differ, so look for any expired one. */
	for (e = s->claims.head; e; e = n) {
		n = e->next;
		if (e->expires <= now) {
			drop(s, e);
			s->counts.expired++;
			return 0;
		}
	}
	return CONN_EFULL;
}

static int key_ok(const char *key)
{
	return key && key[0] && strlen(key) <= CONNHOST_KEY_MAX;
}

int connhost_store_claim(connhost_store *s, const char *key, uint32_t ttl_ms,
                         json_object **prior)
{
	int64_t now = conn_now_ms();
	uint64_t h;
	struct entry **pp, *e;
	int rc;

	if (prior)
		*prior = NULL;
	if (!s || !key_ok(key))
		return CONN_EINVAL;
	h = hash_key(key);
	pthread_mutex_lock(&s->lock);
	pp = find_slot(s, key, h);
	e = *pp;
	if (e && e->expires <= now) {
		drop(s, e);
		s->counts.expired++;
		e = NULL;
	}
	if (e && e->state == ST_CLAIMED) {
		s->counts.claims_busy++;
		rc = CONN_CLAIM_IN_PROGRESS;
	} else if (e) {
		s->counts.claims_done++;
		rc = CONN_CLAIM_DONE;
		if (prior) {
			*prior = NULL;
			if (json_object_deep_copy(e->result, prior, NULL) != 0)
				*prior = NULL;
		}
	} else if ((rc = make_room(s, now)) != 0) {
		s->counts.refused_full++;
	} else {
		e = calloc(1, sizeof(*e));
		if (!e || !(e->key = strdup(key))) {
			free(e);
			rc = CONN_ENOMEM;
		} else {
			e->hash = h;
			e->state = ST_CLAIMED;
			e->expires = now + (ttl_ms ? ttl_ms : 1);
			pp = find_slot(s, key, h);
			*pp = e;
			list_append(&s->claims, e);
			s->count++;
			s->counts.claims_new++;
			rc = CONN_CLAIM_NEW;
		}
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

int connhost_store_settle(connhost_store *s, const char *key,
                          json_object *result, uint32_t ttl_ms)
{
	int64_t now = conn_now_ms();
	struct entry *e;
	int rc = 0;

	if (!s || !key_ok(key)) {
		json_object_put(result);
		return CONN_EINVAL;
	}
	pthread_mutex_lock(&s->lock);
	e = *find_slot(s, key, hash_key(key));
	if (!e || e->state != ST_CLAIMED || e->expires <= now) {
		rc = CONN_ENOENT;
	} else if (!result) {
		drop(s, e);
	} else {
		list_remove(&s->claims, e);
		e->state = ST_DONE;
		e->result = result;
		result = NULL;
		e->expires = now + (ttl_ms ? ttl_ms : 1);
		list_append(&s->results, e);
	}
	pthread_mutex_unlock(&s->lock);
	json_object_put(result);
	return rc;
}

void connhost_store_get_counts(connhost_store *s, connhost_store_counts *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->counts;
	out->entries = s->count;
	out->capacity = s->capacity;
	pthread_mutex_unlock(&s->lock);
}
