/*
 * store.c - the idempotency store behind the claim()/settle() host
 * services: a hash of keys, each IN_PROGRESS (claimed) or DONE (settled
 * with a result), each with a TTL. Owns the keys and the results (kept as
 * JSON text: compact, and its size is what the budget counts).
 *
 * Never drops a live record. A record a task depends on (a sent message's
 * result) must survive until its TTL, or a retry would send the SMS again;
 * so a store out of room refuses new claims (CONN_EFULL: the plugin
 * answers QUEUE_FULL, nothing is sent) instead of evicting anything.
 *
 * Bounded in bytes, per namespace. A key's namespace is its prefix up to
 * the first '/': "send/..." and "inbound/..." each have a budget of their
 * own, every other key shares a third, so an inbound flood cannot block
 * sends. An entry costs what it really holds: its slot (below) and one
 * bucket pointer; a claim is charged as if its result took RESULT_RESERVE
 * bytes. A settle may take a namespace over its budget (the message was
 * sent: its result is kept whatever the fill), and then new claims there
 * are refused until it drops back.
 *
 * Memory: an entry is one slot holding the record, its key and its result
 * text, in a slab of the store's own (SLAB_BYTES, mmap'd, one size class
 * a slab; entries over the largest class come from malloc). The entries
 * live for their TTL while the callers' threads make and free short-lived
 * objects by the thousand: in malloc's per-thread arenas the two would
 * share pages, and every long-lived record would pin a page of holes
 * (measured: RSS kept rising for 500,000 webhooks with 32 connection
 * threads). Slabs are per namespace and size class, so the records of
 * one period and one TTL share pages and expire together (a 24 h send
 * result never pins a slab of 1 s inbound claims); a slab left empty is
 * unmapped (one spare kept a class), so the memory follows the live
 * entries both ways. What is mapped is bounded by the peak of live
 * entries a class, not by the namespace's budget alone: free slots of a
 * slab that still holds one live entry stay mapped. Settling moves the
 * entry into the slot that fits it with its result (the claim's slot
 * holds the key only), so nothing is reserved twice.
 *
 * Default budget (DEFAULT_MAX_BYTES, 128 MiB; send 5/8, inbound 2/8,
 * other 1/8): a send_sms result under a 36-character idempotency key
 * costs about 250 bytes, so the send namespace's 80 MiB holds about
 * 338,000 results: 3.9 messages/s sustained over the plugin's default
 * TWILIO_IDEMPOTENCY_TTL_MS of 24 h. docs/connector-host.md says how to
 * size it for another rate or TTL.
 *
 * Reclaiming expired entries in O(1): each namespace keeps its entries in
 * FIFO lists by TTL class (the TTL rounded to 3 significant bits, 240
 * classes). Entries of one class are appended in time order with TTLs
 * within 1/8 of each other, so a list's head is (nearly) its first to
 * expire: reclaiming looks at the head of each non-empty class only. An
 * expired entry behind an unexpired head waits at most 1/8 of its TTL
 * longer to be reclaimed; a lookup of an expired key drops it at once.
 *
 * Owner tokens (ABI 1.1's claim_owned/settle_owned): a claim made with
 * one gets the store's next token (a counter under the lock, never 0),
 * kept in the claimed entry where a settled one keeps its result's
 * pointer; only that token settles it. A plain (1.0) claim has token 0
 * and a plain settle checks none.
 *
 * Fill warning: a namespace crossing 80 % of its budget logs one warning;
 * the next one comes only after it fell below 70 % (no flood while it
 * hovers around 80 %).
 */
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "connhost-int.h"

/* Under AddressSanitizer a free slot is poisoned, so a use after free
 * of an entry is caught as it would be in malloc's memory. */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define SLOT_POISON(p, n)   ASAN_POISON_MEMORY_REGION((p), (n))
#define SLOT_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define SLOT_POISON(p, n)   ((void)(p), (void)(n))
#define SLOT_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

#define DEFAULT_MAX_BYTES ((size_t)128 * 1024 * 1024)
#define RESULT_RESERVE    256 /* a send_sms result is about 100 bytes */
#define NCLASS            256
#define WARN_PCT          80
#define REARM_PCT         70
#define MIN_BUCKETS       16
#define MAX_BUCKETS       ((size_t)1 << 24)

#define SLAB_BYTES ((size_t)64 * 1024) /* also the slabs' alignment */
#define SLAB_HEAD  64                  /* the slab header's room */
#define SC_MALLOC  0xff                /* an entry from malloc */

enum { ST_CLAIMED, ST_DONE };

struct entry {
	uint64_t hash;
	int64_t expires;
	union {
		char *result;   /* DONE: JSON text, in this entry's slot */
		uint64_t owner; /* CLAIMED: the claim's owner token, or 0 */
	} u;
	uint32_t cost;       /* bytes charged to the namespace (< 128 KiB) */
	unsigned char state; /* ST_CLAIMED or ST_DONE */
	unsigned char ns, cls;
	unsigned char sc; /* size class of the slot, or SC_MALLOC */
	struct entry *hnext;
	struct entry *prev, *next; /* in the TTL class list */
	char key[];
};

/* Slot sizes: multiples of 64 where most entries fall (56-byte record,
 * a key of 20 to 80 bytes, a result of 50 to 300), coarser above. */
static const uint16_t slot_size[] = {128, 192, 256, 320,  384,  448,
                                     512, 640, 768, 1024, 1536, 2048};
#define NSC (sizeof(slot_size) / sizeof(slot_size[0]))

/* A slab: SLAB_BYTES aligned on SLAB_BYTES, this header first, then
 * slots of one size. Free slots form a list through their first word;
 * slots never used yet are taken in order from UNUSED. */
struct slab {
	struct slab *prev, *next; /* in its class's list of slabs with room */
	void *free;
	char *unused;
	uint32_t used, cap;
	unsigned char ns, sc;
};

struct sclass {
	struct slab *room; /* slabs with a free slot, most recent first */
	size_t slabs;      /* mapped: with room, full or the spare */
	int spare;         /* an empty slab is kept (in ROOM) */
};

struct list {
	struct entry *head, *tail;
};

struct ns {
	size_t bytes, max_bytes, entries;
	int warned;
	uint64_t nonempty[NCLASS / 64]; /* one bit per non-empty class */
	struct list cls[NCLASS];
};

struct connhost_store {
	pthread_mutex_t lock;
	struct entry **buckets;
	size_t nbuckets; /* a power of two */
	size_t count;
	struct ns ns[CONNHOST_STORE_NS_COUNT];
	struct sclass sc[CONNHOST_STORE_NS_COUNT][NSC];
	connhost_store_counts counts;
	connhost_log log;
	int has_log;
	uint64_t next_owner; /* the last owner token handed out */
};

static const char *const ns_names[CONNHOST_STORE_NS_COUNT] = {"send", "inbound",
                                                              "other"};

const char *connhost_store_ns_name(int ns)
{
	return ns >= 0 && ns < CONNHOST_STORE_NS_COUNT ? ns_names[ns] : NULL;
}

static int ns_of(const char *key)
{
	const char *slash = strchr(key, '/');
	size_t n = slash ? (size_t)(slash - key) : 0;

	if (n == 4 && memcmp(key, "send", 4) == 0)
		return CONNHOST_STORE_NS_SEND;
	if (n == 7 && memcmp(key, "inbound", 7) == 0)
		return CONNHOST_STORE_NS_INBOUND;
	return CONNHOST_STORE_NS_OTHER;
}

/* The TTL class: TTL_MS with three significant bits (0..239). */
static unsigned ttl_class(uint32_t ttl_ms)
{
	unsigned e = 0;

	if (ttl_ms < 8)
		return ttl_ms;
	while ((ttl_ms >> e) >= 16)
		e++;
	/* ttl_ms >> e is in 8..15 */
	return 8 * (e + 1) + ((ttl_ms >> e) & 7);
}

/* The size class of an N-byte entry, or SC_MALLOC above the largest. */
static unsigned size_class(size_t n)
{
	unsigned c;

	for (c = 0; c < NSC; c++)
		if (n <= slot_size[c])
			return c;
	return SC_MALLOC;
}

/* What an N-byte entry really takes: its slot, or for a large one what
 * malloc takes (glibc: 8 bytes of header, 16-byte chunks). */
static size_t slot_cost(size_t n)
{
	unsigned c = size_class(n);

	return c != SC_MALLOC ? slot_size[c]
	                      : (n + sizeof(size_t) + 15) & ~(size_t)15;
}

/* The bytes of an entry for a key of KEYLEN with a result of RESLEN
 * bytes (not counting its terminator). */
static size_t entry_bytes(size_t keylen, size_t reslen)
{
	return sizeof(struct entry) + keylen + 1 + reslen + 1;
}

/* What the entry is charged: a claim (RESLEN 0) as if its result took
 * RESULT_RESERVE bytes. */
static size_t entry_cost(size_t keylen, size_t reslen)
{
	return slot_cost(
	               entry_bytes(keylen, reslen ? reslen : RESULT_RESERVE)) +
	       sizeof(struct entry *);
}

/* ---------------------------------------------------------------------- */
/* Slabs (lock held)                                                       */
/* ---------------------------------------------------------------------- */

static void room_unlink(struct sclass *k, struct slab *b)
{
	if (b->prev)
		b->prev->next = b->next;
	else
		k->room = b->next;
	if (b->next)
		b->next->prev = b->prev;
	b->prev = b->next = NULL;
}

static void room_push(struct sclass *k, struct slab *b)
{
	b->prev = NULL;
	b->next = k->room;
	if (k->room)
		k->room->prev = b;
	k->room = b;
}

/* A new slab of class C, aligned on SLAB_BYTES (mapped twice the size,
 * the ends trimmed), or NULL. */
static struct slab *slab_new(int ns, unsigned c)
{
	char *m = mmap(NULL, 2 * SLAB_BYTES, PROT_READ | PROT_WRITE,
	               MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uintptr_t a;
	size_t head;
	struct slab *b;

	if (m == MAP_FAILED)
		return NULL;
	a = ((uintptr_t)m + SLAB_BYTES - 1) & ~(uintptr_t)(SLAB_BYTES - 1);
	head = (size_t)(a - (uintptr_t)m);
	if (head)
		munmap(m, head);
	munmap((char *)a + SLAB_BYTES, SLAB_BYTES - head);
	b = (struct slab *)a;
	/* The poison of slots of an earlier slab unmapped here is not
	 * cleared by munmap. */
	SLOT_UNPOISON(b, SLAB_BYTES);
	memset(b, 0, sizeof(*b));
	b->ns = (unsigned char)ns;
	b->sc = (unsigned char)c;
	b->unused = (char *)b + SLAB_HEAD;
	b->cap = (uint32_t)((SLAB_BYTES - SLAB_HEAD) / slot_size[c]);
	return b;
}

static struct entry *entry_alloc(connhost_store *s, int ns, size_t n)
{
	unsigned c = size_class(n);
	struct sclass *k;
	struct slab *b;
	void *p;

	if (c == SC_MALLOC) {
		struct entry *e = malloc(n);
		if (e)
			e->sc = SC_MALLOC;
		return e;
	}
	k = &s->sc[ns][c];
	b = k->room;
	if (!b) {
		b = slab_new(ns, c);
		if (!b)
			return NULL;
		room_push(k, b);
		k->slabs++;
	} else if (!b->used) {
		k->spare = 0;
	}
	if (b->free) {
		p = b->free;
		SLOT_UNPOISON(p, slot_size[c]);
		b->free = *(void **)p;
	} else {
		p = b->unused;
		b->unused += slot_size[c];
	}
	if (++b->used == b->cap)
		room_unlink(k, b);
	((struct entry *)p)->sc = (unsigned char)c;
	return p;
}

static void entry_release(connhost_store *s, struct entry *e)
{
	struct slab *b;
	struct sclass *k;

	if (e->sc == SC_MALLOC) {
		free(e);
		return;
	}
	b = (struct slab *)((uintptr_t)e & ~(uintptr_t)(SLAB_BYTES - 1));
	k = &s->sc[b->ns][b->sc];
	if (b->used == b->cap)
		room_push(k, b);
	*(void **)e = b->free;
	b->free = e;
	SLOT_POISON(e, slot_size[b->sc]);
	if (--b->used)
		return;
	/* Empty: keep one a class against churn at the boundary. */
	if (!k->spare) {
		k->spare = 1;
		return;
	}
	room_unlink(k, b);
	k->slabs--;
	SLOT_UNPOISON(b, SLAB_BYTES);
	munmap(b, SLAB_BYTES);
}

static uint64_t hash_key(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

connhost_store *connhost_store_new(size_t max_bytes)
{
	connhost_store *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	if (!max_bytes)
		max_bytes = DEFAULT_MAX_BYTES;
	s->ns[CONNHOST_STORE_NS_SEND].max_bytes = max_bytes / 8 * 5;
	s->ns[CONNHOST_STORE_NS_INBOUND].max_bytes = max_bytes / 8 * 2;
	s->ns[CONNHOST_STORE_NS_OTHER].max_bytes =
	        max_bytes - max_bytes / 8 * 7;
	s->nbuckets = MIN_BUCKETS;
	s->buckets = calloc(s->nbuckets, sizeof(*s->buckets));
	if (!s->buckets) {
		free(s);
		return NULL;
	}
	s->log.level = CONN_LOG_WARN;
	pthread_mutex_init(&s->lock, NULL);
	return s;
}

void connhost_store_set_log(connhost_store *s, const connhost_log *log)
{
	pthread_mutex_lock(&s->lock);
	if (log) {
		s->log = *log;
		s->has_log = 1;
	}
	pthread_mutex_unlock(&s->lock);
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
			entry_release(s, e);
		}
	}
	/* Every slab is empty now; the spares are what is left mapped. */
	for (i = 0; i < CONNHOST_STORE_NS_COUNT * NSC; i++)
		while (s->sc[i / NSC][i % NSC].room) {
			struct sclass *k = &s->sc[i / NSC][i % NSC];
			struct slab *b = k->room;
			room_unlink(k, b);
			SLOT_UNPOISON(b, SLAB_BYTES);
			munmap(b, SLAB_BYTES);
		}
	free(s->buckets);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* ---------------------------------------------------------------------- */
/* Class lists and the hash (lock held)                                    */
/* ---------------------------------------------------------------------- */

static void class_remove(struct ns *n, struct entry *e)
{
	struct list *l = &n->cls[e->cls];

	if (e->prev)
		e->prev->next = e->next;
	else
		l->head = e->next;
	if (e->next)
		e->next->prev = e->prev;
	else
		l->tail = e->prev;
	e->prev = e->next = NULL;
	if (!l->head)
		n->nonempty[e->cls / 64] &= ~((uint64_t)1 << (e->cls % 64));
}

static void class_append(struct ns *n, struct entry *e, uint32_t ttl_ms)
{
	struct list *l;

	e->cls = (unsigned char)ttl_class(ttl_ms);
	l = &n->cls[e->cls];
	e->next = NULL;
	e->prev = l->tail;
	if (l->tail)
		l->tail->next = e;
	else
		l->head = e;
	l->tail = e;
	n->nonempty[e->cls / 64] |= (uint64_t)1 << (e->cls % 64);
}

static struct entry **find_slot(connhost_store *s, const char *key, uint64_t h)
{
	struct entry **pp = &s->buckets[h & (s->nbuckets - 1)];

	for (; *pp; pp = &(*pp)->hnext)
		if ((*pp)->hash == h && strcmp((*pp)->key, key) == 0)
			return pp;
	return pp;
}

/* Double the bucket array when the table holds more keys than buckets
 * (amortised O(1)); on failure keep the old one: longer chains, no
 * error. */
static void maybe_grow(connhost_store *s)
{
	size_t nb = s->nbuckets * 2, i;
	struct entry **b;

	if (s->count < s->nbuckets || nb > MAX_BUCKETS)
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i < s->nbuckets; i++) {
		struct entry *e = s->buckets[i], *n;
		for (; e; e = n) {
			n = e->hnext;
			e->hnext = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
}

static void charge(struct ns *n, size_t add, size_t sub)
{
	n->bytes = n->bytes - sub + add;
	if (n->warned && n->bytes <= n->max_bytes / 100 * REARM_PCT)
		n->warned = 0;
}

/* 1 when N just crossed WARN_PCT (the caller logs after unlocking). */
static int crossed(struct ns *n)
{
	if (n->warned || n->bytes < n->max_bytes / 100 * WARN_PCT)
		return 0;
	n->warned = 1;
	return 1;
}

/* Unlink E from its bucket and class list and free it. */
static void drop(connhost_store *s, struct entry *e)
{
	struct entry **pp = find_slot(s, e->key, e->hash);
	struct ns *n = &s->ns[e->ns];

	if (*pp == e)
		*pp = e->hnext;
	class_remove(n, e);
	charge(n, 0, e->cost);
	n->entries--;
	s->count--;
	entry_release(s, e);
}

/* Drop the expired entries at the heads of NS's class lists: O(classes)
 * plus O(1) per entry dropped. */
static void reclaim(connhost_store *s, struct ns *n, int64_t now)
{
	size_t w;

	for (w = 0; w < NCLASS / 64; w++) {
		uint64_t bits = n->nonempty[w];
		while (bits) {
			unsigned c = (unsigned)(w * 64) +
			             (unsigned)__builtin_ctzll(bits);
			bits &= bits - 1;
			while (n->cls[c].head &&
			       n->cls[c].head->expires <= now) {
				drop(s, n->cls[c].head);
				s->counts.expired++;
			}
		}
	}
}

static int key_ok(const char *key)
{
	return key && key[0] && strlen(key) <= CONNHOST_KEY_MAX;
}

static void warn_fill(connhost_store *s, int ns)
{
	json_object *f = json_object_new_object();
	connhost_log log;
	size_t bytes, max;

	pthread_mutex_lock(&s->lock);
	log = s->log;
	bytes = s->ns[ns].bytes;
	max = s->ns[ns].max_bytes;
	pthread_mutex_unlock(&s->lock);
	if (f) {
		json_object_object_add(f, "namespace",
		                       json_object_new_string(ns_names[ns]));
		json_object_object_add(f, "bytes",
		                       json_object_new_int64((int64_t)bytes));
		json_object_object_add(f, "max_bytes",
		                       json_object_new_int64((int64_t)max));
	}
	connhost__logf(&log, CONN_LOG_WARN, f,
	               "idempotency store: namespace %s is over %d %% full; "
	               "at 100 %% new claims are refused (QUEUE_FULL, nothing "
	               "sent): raise the store size (connector-host "
	               "--store-bytes) or lower the TTL",
	               ns_names[ns], WARN_PCT);
	json_object_put(f);
}

/* ---------------------------------------------------------------------- */
/* claim, settle                                                           */
/* ---------------------------------------------------------------------- */

/* A settle_owned() by another than the claim's owner: the first owner's
 * claim expired while it worked, and the key was claimed again. Rare and
 * worth an operator's look (the TTL is shorter than the work). The key
 * is not logged: it holds an idempotency key and a phone number. */
static void warn_not_owner(connhost_store *s, const char *key)
{
	connhost_log log;

	pthread_mutex_lock(&s->lock);
	log = s->log;
	pthread_mutex_unlock(&s->lock);
	connhost__logf(&log, CONN_LOG_WARN, NULL,
	               "idempotency store: a settle in namespace '%s' was "
	               "refused: the key is claimed by another owner (the "
	               "first claim expired before its work ended: raise "
	               "its TTL)",
	               connhost_store_ns_name(ns_of(key)));
}

/* A new claimed entry for KEY in namespace NS, or CONN_EFULL/ENOMEM. */
static int add_claim(connhost_store *s, const char *key, uint64_t h, int ns,
                     uint32_t ttl_ms, int64_t now, uint64_t owner, int *warn)
{
	struct ns *n = &s->ns[ns];
	size_t len = strlen(key), cost = entry_cost(len, 0);
	struct entry *e;
	unsigned char sc;

	if (n->bytes + cost > n->max_bytes) {
		reclaim(s, n, now);
		if (n->bytes + cost > n->max_bytes)
			return CONN_EFULL;
	}
	/* The key only: settle moves it to a slot that fits the result. */
	e = entry_alloc(s, ns, sizeof(*e) + len + 1);
	if (!e)
		return CONN_ENOMEM;
	sc = e->sc;
	memset(e, 0, sizeof(*e));
	e->sc = sc;
	memcpy(e->key, key, len + 1);
	e->hash = h;
	e->u.owner = owner;
	e->state = ST_CLAIMED;
	e->ns = (unsigned char)ns;
	e->cost = (uint32_t)cost;
	e->expires = now + (ttl_ms ? ttl_ms : 1);
	class_append(n, e, ttl_ms);
	*find_slot(s, key, h) = e;
	charge(n, cost, 0);
	n->entries++;
	s->count++;
	maybe_grow(s);
	*warn = crossed(n);
	return CONN_CLAIM_NEW;
}

/* claim() with OWNER non-NULL: claim_owned(), the answer OWNED with a new
 * token in *OWNER; without: claim(), the answer NEW. */
static int claim(connhost_store *s, const char *key, uint32_t ttl_ms,
                 uint64_t *owner, json_object **prior)
{
	int64_t now = conn_now_ms();
	uint64_t h;
	struct entry *e;
	int rc, ns, warn = 0;

	if (prior)
		*prior = NULL;
	if (owner)
		*owner = 0;
	if (!s || !key_ok(key))
		return CONN_EINVAL;
	h = hash_key(key);
	ns = ns_of(key);
	pthread_mutex_lock(&s->lock);
	/* Reclaiming on every claim keeps the fill (and its warning) about
	 * live entries; its cost is a look at each class head. */
	reclaim(s, &s->ns[ns], now);
	e = *find_slot(s, key, h);
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
		if (prior)
			*prior = json_tokener_parse(e->u.result);
	} else {
		/* tokens are per store and never 0; 2^64 claims to wrap */
		uint64_t token = owner ? ++s->next_owner : 0;

		rc = add_claim(s, key, h, ns, ttl_ms, now, token, &warn);
		if (rc == CONN_CLAIM_NEW && owner) {
			*owner = token;
			rc = CONN_CLAIM_OWNED;
		}
		if (rc == CONN_CLAIM_NEW || rc == CONN_CLAIM_OWNED)
			s->counts.claims_new++;
		else if (rc == CONN_EFULL)
			s->counts.refused_full++;
	}
	if (warn)
		s->counts.fill_warnings++;
	pthread_mutex_unlock(&s->lock);
	if (warn)
		warn_fill(s, ns);
	return rc;
}

int connhost_store_claim(connhost_store *s, const char *key, uint32_t ttl_ms,
                         json_object **prior)
{
	return claim(s, key, ttl_ms, NULL, prior);
}

int connhost_store_claim_owned(connhost_store *s, const char *key,
                               uint32_t ttl_ms, uint64_t *owner,
                               json_object **prior)
{
	uint64_t dummy;

	return claim(s, key, ttl_ms, owner ? owner : &dummy, prior);
}

/* Settle the claimed entry at *PP with TEXT (LEN bytes): a new entry in
 * the slot that fits key and result replaces it in the hash and goes to
 * the tail of its TTL class (lock held). CONN_ENOMEM leaves it claimed. */
static int settle_done(connhost_store *s, struct entry **pp, const char *text,
                       size_t len, uint32_t ttl_ms, int64_t now)
{
	struct entry *o = *pp, *e;
	struct ns *n = &s->ns[o->ns];
	size_t klen = strlen(o->key), cost = entry_cost(klen, len);
	unsigned char sc;

	e = entry_alloc(s, o->ns, entry_bytes(klen, len));
	if (!e)
		return CONN_ENOMEM;
	sc = e->sc;
	memcpy(e, o, sizeof(*e) + klen + 1);
	e->sc = sc;
	e->u.result = e->key + klen + 1;
	memcpy(e->u.result, text, len + 1);
	e->state = ST_DONE;
	e->expires = now + (ttl_ms ? ttl_ms : 1);
	*pp = e;
	class_remove(n, o);
	class_append(n, e, ttl_ms);
	charge(n, cost, o->cost);
	e->cost = (uint32_t)cost;
	entry_release(s, o);
	return 0;
}

/* settle() with CHECK_OWNER: settle_owned() by OWNER only. */
static int settle(connhost_store *s, const char *key, int check_owner,
                  uint64_t owner, json_object *result, uint32_t ttl_ms)
{
	int64_t now = conn_now_ms();
	struct entry **pp, *e;
	const char *text = NULL;
	size_t len = 0;
	int rc = 0, warn = 0, ns = 0;

	if (!s || !key_ok(key)) {
		json_object_put(result);
		return CONN_EINVAL;
	}
	/* Serialised outside the lock (the text belongs to RESULT, ours:
	 * transferred, put at the end). A claim not settled stays
	 * IN_PROGRESS until its TTL: a retry is told the outcome is
	 * unknown, never resent. */
	if (result) {
		text = json_object_to_json_string_ext(
		        result, JSON_C_TO_STRING_PLAIN |
		                        JSON_C_TO_STRING_NOSLASHESCAPE);
		if (!text) {
			json_object_put(result);
			return CONN_ENOMEM;
		}
		len = strlen(text);
		if (len > CONNHOST_RESULT_MAX_BYTES) {
			json_object_put(result);
			return CONN_EINVAL;
		}
	}
	pthread_mutex_lock(&s->lock);
	pp = find_slot(s, key, hash_key(key));
	e = *pp;
	if (!e || e->state != ST_CLAIMED || e->expires <= now) {
		rc = CONN_ENOENT;
	} else if (check_owner && e->u.owner != owner) {
		/* claimed again after this owner's claim expired, or a token
		 * that was never this key's: the live claim is not touched */
		rc = CONN_ENOTOWNER;
	} else if (!text) {
		drop(s, e);
	} else {
		ns = e->ns;
		rc = settle_done(s, pp, text, len, ttl_ms, now);
		warn = !rc && crossed(&s->ns[ns]);
		if (warn)
			s->counts.fill_warnings++;
	}
	pthread_mutex_unlock(&s->lock);
	json_object_put(result);
	if (warn)
		warn_fill(s, ns);
	if (rc == CONN_ENOTOWNER)
		warn_not_owner(s, key);
	return rc;
}

int connhost_store_settle(connhost_store *s, const char *key,
                          json_object *result, uint32_t ttl_ms)
{
	return settle(s, key, 0, 0, result, ttl_ms);
}

int connhost_store_settle_owned(connhost_store *s, const char *key,
                                uint64_t owner, json_object *result,
                                uint32_t ttl_ms)
{
	return settle(s, key, 1, owner, result, ttl_ms);
}

void connhost_store_get_counts(connhost_store *s, connhost_store_counts *out)
{
	int i;

	pthread_mutex_lock(&s->lock);
	*out = s->counts;
	out->entries = s->count;
	out->bytes = out->max_bytes = 0;
	for (i = 0; i < CONNHOST_STORE_NS_COUNT; i++) {
		out->ns[i].entries = s->ns[i].entries;
		out->ns[i].bytes = s->ns[i].bytes;
		out->ns[i].max_bytes = s->ns[i].max_bytes;
		out->bytes += s->ns[i].bytes;
		out->max_bytes += s->ns[i].max_bytes;
	}
	out->table_bytes = s->nbuckets * sizeof(*s->buckets);
	pthread_mutex_unlock(&s->lock);
}

size_t connhost__store_slab_bytes(connhost_store *s)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->lock);
	for (i = 0; i < CONNHOST_STORE_NS_COUNT * NSC; i++)
		n += s->sc[i / NSC][i % NSC].slabs;
	pthread_mutex_unlock(&s->lock);
	return n * SLAB_BYTES;
}
