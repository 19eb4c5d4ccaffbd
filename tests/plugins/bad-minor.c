/*
 * bad-minor.c - a plugin built for a newer ABI minor than the host's;
 * the host must refuse it with its own message.
 */
#include "stub.h"

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	static conn_plugin t;

	(void)host_abi_major, (void)host_abi_minor;
	t = stub_table;
	t.abi_minor = CONN_ABI_MINOR + 1;
	return &t;
}
