/*
 * test_fake_host.c - tests/fake_host.c, the fake conn_host other tests
 * rely on: the claim store answers NEW, IN_PROGRESS, DONE (a private copy)
 * and CONN_EFULL as a real one would, settle(NULL) forgets, publish
 * records or refuses as told, completions and log lines are kept and the
 * secret is caught.
 */
#include "fake_host.h"
#include "tap.h"

static int claim(const char *key, json_object **prior)
{
	return fake_host.claim(fake_host.ctx, key, 1000, prior);
}

static void test_store(void)
{
	json_object *prior = NULL, *res;

	fake_host_reset();
	is_int(CONN_CLAIM_NEW, claim("inbound/SM1", &prior), "unknown: NEW");
	ok(prior == NULL, "no prior for NEW");
	is_int(CONN_CLAIM_IN_PROGRESS, claim("inbound/SM1", &prior),
	       "claimed, not settled: IN_PROGRESS");
	res = json_tokener_parse("{\"reply\":\"hi\"}");
	is_int(0, fake_host.settle(fake_host.ctx, "inbound/SM1", res, 1000),
	       "settle with a result");
	is_int(CONN_CLAIM_DONE, claim("inbound/SM1", &prior), "settled: DONE");
	is_str("{ \"reply\": \"hi\" }",
	       prior ? json_object_to_json_string(prior) : NULL,
	       "with the result");
	json_object_object_add(prior, "changed", json_object_new_int(1));
	json_object_put(prior);
	claim("inbound/SM1", &prior);
	ok(prior && !json_object_object_get_ex(prior, "changed", NULL),
	   "a private copy each time");
	json_object_put(prior);

	is_int(CONN_CLAIM_NEW, claim("inbound/SM2", &prior), "another key");
	is_int(0, fake_host.settle(fake_host.ctx, "inbound/SM2", NULL, 0),
	       "settle(NULL) forgets");
	is_int(CONN_CLAIM_NEW, claim("inbound/SM2", &prior), "NEW again");
	is_int(3, fake_host_claims_new(), "claims answered NEW counted");
	is_int(2, fake_host_settles(), "settles counted");

	fake_host_set_claim_capacity(2);
	is_int(CONN_EFULL, claim("inbound/SM3", &prior),
	       "two live keys, capacity 2: CONN_EFULL");
	fake_host_set_claim(FAKE_CLAIM_IN_PROGRESS, NULL);
	is_int(CONN_CLAIM_IN_PROGRESS, claim("x/1", &prior),
	       "fixed answer: IN_PROGRESS");
	fake_host_set_claim(FAKE_CLAIM_DONE, "{\"sid\":\"SM9\"}");
	is_int(CONN_CLAIM_DONE, claim("x/1", &prior), "fixed answer: DONE");
	ok(prior != NULL, "with the prior given");
	json_object_put(prior);
	fake_host_set_claim(FAKE_CLAIM_FULL, NULL);
	is_int(CONN_EFULL, claim("x/1", &prior), "fixed answer: EFULL");
	fake_host_set_claim(FAKE_CLAIM_STORE, NULL);
	is_int(CONN_EINVAL, claim("", &prior), "an empty key: CONN_EINVAL");
}

static void test_publish(void)
{
	char err[128] = "";
	json_object *ev;
	uint64_t sub = 0;

	fake_host_reset();
	is_int(0,
	       fake_host.publish(fake_host.ctx, 7, json_object_new_int(1), err,
	                         sizeof(err)),
	       "accepted by default");
	fake_host_set_publish(FAKE_PUBLISH_REFUSE, 1);
	is_int(CONN_EREFUSED,
	       fake_host.publish(fake_host.ctx, 8, json_object_new_int(2), err,
	                         sizeof(err)),
	       "refused when told (after a delay)");
	ok(err[0] != '\0', "with a reason: %s", err);
	fake_host_set_publish(FAKE_PUBLISH_TIMEOUT, 0);
	is_int(CONN_ETIMEDOUT,
	       fake_host.publish(fake_host.ctx, 8, json_object_new_int(3), err,
	                         sizeof(err)),
	       "timed out when told");
	is_int(1, fake_host_events(0), "one event recorded");
	is_int(1, fake_host_events(7), "for subscription 7");
	is_int(0, fake_host_events(8), "none for 8");
	is_int(3, fake_host_publishes(), "three publishes");
	ev = fake_host_event(0, &sub);
	ok(ev && json_object_get_int(ev) == 1 && sub == 7,
	   "the event and its subscription");
	json_object_put(ev);
}

static void test_complete_log(void)
{
	fake_host_reset();
	fake_host_set_secret("TOPSECRET");
	fake_host.complete(fake_host.ctx, 5, json_object_new_object());
	fake_host.complete(fake_host.ctx, 5, json_object_new_object());
	ok(fake_host_wait_done(5, 1000) != NULL, "outputs kept");
	is_int(2, fake_host_completions(5), "completions counted");
	ok(fake_host_wait_done(6, 0) == NULL, "none for another id");
	fake_host.log(fake_host.ctx, CONN_LOG_WARN, NULL, "retry 2 of 3");
	fake_host.log(fake_host.ctx, CONN_LOG_DEBUG, NULL, "TOPSECRET here");
	ok(fake_host_log_has("retry 2 of 3"), "log recorded");
	is_int(1, fake_host_log_count(CONN_LOG_WARN), "one line at WARN+");
	is_int(2, fake_host_log_count(CONN_LOG_DEBUG), "two in all");
	is_int(1, fake_host_leaks(), "the secret in a log line is caught");
	fake_host_reset();
}

int main(void)
{
	test_store();
	test_publish();
	test_complete_log();
	return done_testing();
}
