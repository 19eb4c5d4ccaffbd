/*
 * pin.c - a plugin that pulls in a library the host does not load itself
 * (libpcre2-8, which unlike libcrypto is not linked -z nodelete): after
 * the plugin is unloaded, that library must still be mapped (pinned with
 * RTLD_NODELETE) and never loaded twice.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "stub.h"

static conn_plugin table;

const conn_plugin *conn_plugin_get(uint16_t host_abi_major,
                                   uint16_t host_abi_minor)
{
	(void)host_abi_major, (void)host_abi_minor;
	table = stub_table;
	table.version =
	        pcre2_config(PCRE2_CONFIG_VERSION, NULL) > 0 ? "1" : "0";
	return &table;
}
