/*
 * minimal-host.c - the smallest host: load a connector, configure an
 * instance, call one action synchronously, print its outputs, unload.
 *
 *   minimal-host PLUGIN CONFIG-FILE ACTION < INPUTS-JSON
 *   minimal-host twilio.so twilio.conf send_sms < inputs.json
 *
 * The inputs come on standard input, not in argv: phone numbers and
 * message bodies are personal data, and argv is visible to every user of
 * the machine (ps).
 *
 * Build against the installed library (pkg-config's flags make both
 * "connhost.h" and <connector/connhost.h> work; when the library is not
 * installed under /usr, set PKG_CONFIG_PATH to PREFIX/lib/pkgconfig and
 * run the program with LD_LIBRARY_PATH=PREFIX/lib):
 *   cc minimal-host.c $(pkg-config --cflags --libs connector)
 * tests/host_example.sh builds it with exactly this line against a
 * `make install DESTDIR=...` tree.
 */
/* First: under -std=c11 it asks for POSIX before any system header. */
#include "connhost.h"

#include <stdio.h>

/* A JSON object read from F (at most 1 MiB), or NULL. */
static json_object *read_json(FILE *f)
{
	json_tokener *tok = json_tokener_new();
	json_object *o = NULL;
	char buf[4096];
	size_t n, total = 0;

	while (tok && !o && (n = fread(buf, 1, sizeof(buf), f)) > 0 &&
	       (total += n) <= 1 << 20) {
		o = json_tokener_parse_ex(tok, buf, (int)n);
		if (!o && json_tokener_get_error(tok) != json_tokener_continue)
			break;
	}
	json_tokener_free(tok);
	if (o && !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		o = NULL;
	}
	return o;
}

int main(int argc, char **argv)
{
	connhost_plugin *plugin = NULL;
	connhost_instance *inst = NULL;
	json_object *config = NULL, *inputs = NULL, *outputs = NULL;
	char err[1024];
	int rc;

	if (argc != 4) {
		fprintf(stderr,
		        "usage: %s PLUGIN CONFIG ACTION < INPUTS-JSON\n",
		        argv[0]);
		return 2;
	}
	/* 1. Load and check the plugin (a private copy is mapped). */
	rc = connhost_plugin_load(argv[1], NULL, &plugin, err, sizeof(err));
	/* 2. Parse the configuration; the instance validates it against
	 *    describe() and hands it to the plugin's init(). */
	if (!rc)
		rc = connhost_config_load(argv[2], &config, err, sizeof(err));
	if (!rc)
		rc = connhost_instance_new(plugin, config, NULL, &inst, err,
		                           sizeof(err));
	/* 3. Start it: threads, listeners. */
	if (!rc)
		rc = connhost_instance_start(inst, err, sizeof(err));
	/* 4. One call, waiting at most its deadline (10 s) plus a margin. */
	if (!rc) {
		inputs = read_json(stdin);
		if (!inputs) {
			snprintf(err, sizeof(err),
			         "standard input: expected a JSON object");
			rc = CONN_EINVAL;
		}
	}
	if (!rc) {
		rc = connhost_invoke_sync(inst, argv[3], inputs, NULL, NULL,
		                          conn_now_ms() + 10000, &outputs, err,
		                          sizeof(err));
	}
	if (!rc)
		printf("%s\n", json_object_to_json_string_ext(
		                       outputs, JSON_C_TO_STRING_PLAIN));
	else
		fprintf(stderr, "%s: %s\n", conn_strerror(rc), err);
	/* 5. Shut down (completes what is pending) and unload. */
	if (inst && connhost_instance_shutdown(inst, conn_now_ms() + 5000))
		connhost_instance_abandon(inst); /* its code stays loaded */
	json_object_put(outputs);
	json_object_put(inputs);
	json_object_put(config);
	connhost_plugin_unref(plugin);
	return rc ? 1 : 0;
}
