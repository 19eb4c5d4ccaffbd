/*
 * bad-unresolved.c - a plugin that references a function nobody defines.
 * Lazy binding would let it load and crash at the first call; the host
 * must refuse it at load and name the symbol.
 */
#include "stub.h"

void conn_fake_missing_function(void);

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	(void)host_abi_major, (void)host_abi_minor;
	conn_fake_missing_function();
	return &stub_table;
}
