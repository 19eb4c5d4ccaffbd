/*
 * stub.h - a complete, do-nothing plugin table for the bad plugins, each
 * of which breaks one rule of the ABI on top of it. Header-only; every
 * function is static, so each bad plugin gets its own copy.
 */
#ifndef TESTS_PLUGINS_STUB_H
#define TESTS_PLUGINS_STUB_H

#include "connector.h"

__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_get(uint16_t host_abi_major, uint16_t host_abi_minor);

static const char *stub_describe(void)
{
	return "{\"name\":\"stub\",\"version\":\"0\",\"config\":{},"
	       "\"actions\":{},\"events\":{},\"errors\":{}}";
}

static int stub_init(const conn_host *host, json_object *config,
                     conn_instance **inst, char *err, size_t errlen)
{
	(void)host, (void)config, (void)inst, (void)err, (void)errlen;
	return CONN_ENOTSUP;
}

static int stub_start(conn_instance *inst, conn_handoff *h, char *err,
                      size_t errlen)
{
	(void)inst, (void)h, (void)err, (void)errlen;
	return CONN_ENOTSUP;
}

static int stub_quiesce(conn_instance *inst, conn_handoff *out)
{
	(void)inst, (void)out;
	return CONN_ESTATE;
}

static int stub_shutdown(conn_instance *inst, int64_t deadline_ms)
{
	(void)inst, (void)deadline_ms;
	return 0;
}

static int stub_invoke(conn_instance *inst, const conn_call *call, char *err,
                       size_t errlen)
{
	(void)inst, (void)call, (void)err, (void)errlen;
	return CONN_ENOTSUP;
}

static int stub_subscribe(conn_instance *inst, uint64_t sub_id,
                          const char *event, json_object *params, char *err,
                          size_t errlen)
{
	(void)inst, (void)sub_id, (void)event, (void)params, (void)err,
	        (void)errlen;
	return CONN_ENOTSUP;
}

static int stub_unsubscribe(conn_instance *inst, uint64_t sub_id)
{
	(void)inst, (void)sub_id;
	return CONN_ENOENT;
}

static const conn_plugin stub_table = {
        .struct_size = sizeof(conn_plugin),
        .abi_major = CONN_ABI_MAJOR,
        .abi_minor = CONN_ABI_MINOR,
        .name = "stub",
        .version = "0",
        .describe = stub_describe,
        .init = stub_init,
        .start = stub_start,
        .quiesce = stub_quiesce,
        .resume = stub_start,
        .shutdown = stub_shutdown,
        .invoke_action = stub_invoke,
        .subscribe_event = stub_subscribe,
        .unsubscribe = stub_unsubscribe,
};

#endif /* TESTS_PLUGINS_STUB_H */
