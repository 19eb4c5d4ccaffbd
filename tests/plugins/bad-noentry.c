/*
 * bad-noentry.c - a plugin whose entry point has the wrong name: the host
 * must refuse it for the missing conn_plugin_get.
 */
#include "stub.h"

__attribute__((visibility("default"))) const conn_plugin *
conn_plugin_entry(uint16_t host_abi_major, uint16_t host_abi_minor);

const conn_plugin *conn_plugin_entry(uint16_t host_abi_major,
                                     uint16_t host_abi_minor)
{
	(void)host_abi_major, (void)host_abi_minor;
	return &stub_table;
}
