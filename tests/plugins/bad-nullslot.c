/*
 * bad-nullslot.c - a plugin with a mandatory slot (init) NULL;
 * the host must refuse it with its own message.
 */
#include "stub.h"

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	static conn_plugin t;

	(void)host_abi_major, (void)host_abi_minor;
	t = stub_table;
	t.init = NULL;
	return &t;
}
