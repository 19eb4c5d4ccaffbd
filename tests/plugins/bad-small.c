/*
 * bad-small.c - a plugin whose table is smaller than ABI 1.0 defines
 * (struct_size); the host must refuse it with its own message.
 */
#include "stub.h"

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	static conn_plugin t;

	(void)host_abi_major, (void)host_abi_minor;
	t = stub_table;
	t.struct_size = 16;
	return &t;
}
