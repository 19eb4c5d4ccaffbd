/*
 * bad-small11.c - a plugin that says it speaks ABI 1.1 with a table of
 * ABI 1.0's size (built against a 1.0 header, minor patched): the host
 * must refuse it, since it would read 1.1's slots beyond the table.
 */
#include "stub.h"

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	static conn_plugin t;

	(void)host_abi_major, (void)host_abi_minor;
	t = stub_table;
	t.abi_minor = 1;
	t.struct_size = CONN_PLUGIN_SIZE_1_0;
	return &t;
}
