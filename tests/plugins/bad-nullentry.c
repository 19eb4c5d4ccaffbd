/*
 * bad-nullentry.c - a plugin whose entry point returns NULL (it cannot
 * serve this host).
 */
#include "stub.h"

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	(void)host_abi_major, (void)host_abi_minor;
	(void)stub_table;
	return NULL;
}
