#!/bin/sh
# examples_hello.sh - the example plugin of docs/abi.md §7
# (examples/hello/hello.c) built WITHOUT libtool, with the build lines its
# header comment gives (this build's compiler, json-c and sanitizer flags;
# pkg-config answered from the source tree, as an installed connector.pc
# would), then: exactly one exported symbol, bound at load, loaded and
# called by connector-host, the host's describe() defaults, the minor
# negotiated for a 1.0 and a 1.1 host, CONN_CHECK_JSON_C, log_enabled,
# and a shutdown() that waits for a call still inside. Also: the copy of
# the file in docs/abi.md is the file.
set -u
: "${top_builddir:?}" "${top_srcdir:?}"
WRAP=${CONN_TEST_WRAP:-}
CH="$top_builddir/host-api/connector-host"
SRC="$top_srcdir/examples/hello/hello.c"
ENV="$top_builddir/examples/hello/build-env.sh"
. "$top_srcdir/tests/lib.sh"
tmpdir "$top_builddir/tests/examples_hello"
CONNHOST_COPY_DIR=$T; export CONNHOST_COPY_DIR
unset CONNHOST_KEEP_COPIES

n=0 failed=0

[ -f "$ENV" ] || { echo "Bail out! $ENV missing (make check builds it)"; exit 1; }
. "$ENV"

# 1. docs/abi.md shows the file as it is (between its two markers).
sed -n '/^<!-- begin examples\/hello\/hello.c -->$/,/^<!-- end examples\/hello\/hello.c -->$/p' \
	"$top_srcdir/docs/abi.md" | sed '1,2d;$d' | sed '$d' >"$T/doc.c"
if cmp -s "$T/doc.c" "$SRC"; then
	ok "docs/abi.md §7 shows examples/hello/hello.c as it is"
else
	nok "docs/abi.md §7 shows examples/hello/hello.c as it is"
	diff "$SRC" "$T/doc.c" | head -n 20 | sed 's/^/#   /'
fi

# 2. The build lines of the header comment, run as written: `cc` is this
# build's compiler with its CFLAGS and sanitizer flags (and -Werror
# -pedantic, so the example stays clean), pkg-config answers what
# connector.pc and json-c.pc would.
mkdir -p "$T/inc" "$T/bin"
ln -s "$(cd "$top_srcdir/host-api" && pwd)" "$T/inc/connector"
cat >"$T/bin/pkg-config" <<EOF
#!/bin/sh
case "\$*" in
"--cflags connector") echo "-I$T/inc -I$T/inc/connector $JSONC_CFLAGS" ;;
"--libs json-c") echo "$JSONC_LIBS" ;;
*) echo "pkg-config \$*: not known to this test" >&2; exit 1 ;;
esac
EOF
cat >"$T/bin/cc" <<EOF
#!/bin/sh
exec $HELLO_CC $HELLO_CFLAGS $HELLO_LDFLAGS -Wall -Wextra -Werror -pedantic "\$@"
EOF
chmod +x "$T/bin/pkg-config" "$T/bin/cc"
cp "$SRC" "$T/hello.c"
sed -n '/^ \*   cc /,/[^\\]$/s/^ \*  *//p' "$SRC" >"$T/build.sh"
if [ -s "$T/build.sh" ] && (cd "$T" && PATH="$T/bin:$PATH" sh ./build.sh) \
	>"$T/cc.log" 2>&1 && [ -f "$T/hello.so" ]; then
	ok "hello.so builds with the documented line: $(tr -d '\\\n' <"$T/build.sh")"
else
	nok "hello.so builds with the documented line"
	sed 's/^/#   /' "$T/build.sh" "$T/cc.log" | head -n 30
	echo "1..$n"
	exit 1
fi
SO="$T/hello.so"

# 3. One exported symbol, everything bound at load, json-c linked.
if command -v nm >/dev/null 2>&1; then
	syms=$(nm -D --defined-only "$SO" | awk '$2 ~ /^[TDBRVWiu]$/ { print $3 }' | sort)
	check "nm -D --defined-only: exactly conn_plugin_get (got: $(echo $syms))" \
		[ "$syms" = conn_plugin_get ]
else
	echo "ok - nm -D # SKIP nm not found"
fi
if command -v readelf >/dev/null 2>&1; then
	readelf -d "$SO" >"$T/dyn"
	check "-Wl,-z,now: the object asks for binding at load (BIND_NOW)" \
		grep -q 'BIND_NOW\|FLAGS.*NOW' "$T/dyn"
	check "json-c is a NEEDED library (the one shared libjson-c)" \
		grep -q 'NEEDED.*libjson-c' "$T/dyn"
else
	echo "ok - readelf -d # SKIP readelf not found"
fi

# 4. connector-host loads and calls it.
: >"$T/empty.conf"
printf 'HELLO_GREETING=hi\n' >"$T/hi.conf"
printf 'HELLO_GREETING=%s\n' \
	"0123456789012345678901234567890123456789012345678901234567890123x" >"$T/long.conf"
run 0 "connector-host describe hello.so" describe "$SO"
check "describe() shows HELLO_GREETING" has "$T/out" '"HELLO_GREETING"'
run 0 "connector-host check: accepted with no key set" check "$SO" --config "$T/empty.conf"
check "libconnhost applies describe()'s default before init()" \
	has "$T/out" '{"HELLO_GREETING":"hello"}'
run 0 "connector-host invoke hello.so hello" invoke "$SO" hello \
	--config "$T/empty.conf" --inputs '{"name":"Ada"}'
check "the outputs: the default greeting" has "$T/out" '{"greeting":"hello, Ada"}'
run 0 "invoke with HELLO_GREETING=hi" invoke "$SO" hello \
	--config "$T/hi.conf" --inputs '{}'
check "the outputs: the configured greeting, the default name" \
	has "$T/out" '{"greeting":"hi, world"}'
run 4 "init() refuses a greeting over 64 bytes" invoke "$SO" hello \
	--config "$T/long.conf" --inputs '{}'
check "the message names the key, the reason and the fix" \
	has "$T/err" 'HELLO_GREETING: longer than 64 bytes; shorten it'
run 5 "an unknown action is not accepted" invoke "$SO" bye \
	--config "$T/empty.conf" --inputs '{}'
check "the message names the action" has "$T/err" "unknown action 'bye'"

# 5. What connector-host cannot show: the plugin as a 1.0 and a 1.1 host
# see it. A small host of our own, built like the plugin.
cat >"$T/drive.c" <<'EOF'
#include <connector/connector.h>
#include <dlfcn.h>
#include <string.h>

static int logged, log_on, completed;
static char greeting[128];
static const conn_plugin *t;
static conn_instance *inst;

static void say(int good, const char *what)
{
	printf("%s - %s\n", good ? "ok" : "not ok", what);
}
static void h_log(void *c, conn_log_level l, json_object *f, const char *m)
{
	(void)c, (void)l, (void)f, (void)m;
	logged++;
}
static int h_log_enabled(void *c, conn_log_level l)
{
	(void)c, (void)l;
	return log_on;
}
static void h_complete(void *c, uint64_t id, json_object *out)
{
	json_object *g;
	char err[256];
	conn_call call = {.struct_size = sizeof(call),
	                  .call_id = id + 1,
	                  .action = "hello",
	                  .deadline_ms = conn_now_ms() + 1000};

	(void)c;
	completed++;
	if (json_object_object_get_ex(out, "greeting", &g))
		snprintf(greeting, sizeof(greeting), "%s",
		         json_object_get_string(g));
	json_object_put(out);
	/* A call still inside invoke_action() (this runs inside it): a
	 * test of the plugin only, rule 3 forbids this to a real host. */
	if (id == 99) {
		call.inputs = json_object_new_object();
		say(t->shutdown(inst, conn_now_ms()) == CONN_EBUSY,
		    "shutdown() with a call inside: CONN_EBUSY at its deadline");
		say(t->invoke_action(inst, &call, err, sizeof(err)) ==
		            CONN_ESTATE,
		    "a call after shutdown() began: CONN_ESTATE");
		json_object_put(call.inputs);
	}
}
static int h_publish(void *c, uint64_t s, json_object *e, char *err, size_t n)
{
	(void)c, (void)s, (void)err, (void)n;
	json_object_put(e);
	return CONN_ENOENT;
}
static int h_claim(void *c, const char *k, uint32_t ttl, json_object **p)
{
	(void)c, (void)k, (void)ttl;
	*p = NULL;
	return CONN_EINVAL;
}
static int h_settle(void *c, const char *k, json_object *r, uint32_t ttl)
{
	(void)c, (void)k, (void)ttl;
	json_object_put(r);
	return CONN_ENOENT;
}
static int other_json_c_version_num(void)
{
	return json_c_version_num();
}

/* init() with HOST; the status, ERR filled. */
static int init(conn_host *host, char *err, size_t n)
{
	json_object *cfg = json_object_new_object();
	int rc;

	err[0] = '\0';
	inst = NULL;
	rc = t->init(host, cfg, &inst, err, n);
	json_object_put(cfg);
	return rc;
}

/* invoke hello as call ID; 0 and the greeting in GREETING. */
static int invoke(uint64_t id)
{
	char err[256];
	json_object *in = json_object_new_object();
	conn_call call = {.struct_size = sizeof(call),
	                  .call_id = id,
	                  .action = "hello",
	                  .inputs = in,
	                  .deadline_ms = conn_now_ms() + 1000};
	int rc;

	greeting[0] = '\0';
	rc = t->invoke_action(inst, &call, err, sizeof(err));
	json_object_put(in);
	return rc;
}

int main(int argc, char **argv)
{
	conn_host host;
	union {
		void *p;
		conn_plugin_get_fn f;
	} u = {NULL};
	conn_plugin_get_fn get;
	void *so = dlopen(argc > 1 ? argv[1] : "", RTLD_NOW | RTLD_LOCAL);
	char err[512];

	if (!so || !(u.p = dlsym(so, CONN_PLUGIN_ENTRY))) {
		printf("Bail out! %s\n", dlerror());
		return 1;
	}
	get = u.f;
	t = get(1, 0);
	say(t && t->abi_minor == 0, "a 1.0 host is answered with abi_minor 0");
	say(t && t->struct_size >= CONN_PLUGIN_SIZE_1_0,
	    "... and a table a 1.0 host accepts");
	t = get(1, 1);
	say(t && t->abi_minor == 1 && t->struct_size >= CONN_PLUGIN_SIZE_1_1,
	    "a 1.1 host: abi_minor 1, struct_size >= CONN_PLUGIN_SIZE_1_1");
	say(get(1, 7) == t, "a newer host (1.7): the plugin speaks 1.1");
	say(get(2, 0) == NULL && get(0, 9) == NULL, "another major: NULL");

	/* a 1.0 host: its table ends at settle */
	host = (conn_host){.struct_size = (uint32_t)CONN_HOST_SIZE_1_0,
	                   .abi_major = 1,
	                   .log = h_log,
	                   .complete = h_complete,
	                   .publish = h_publish,
	                   .claim = h_claim,
	                   .settle = h_settle};
	t = get(1, 0);
	say(init(&host, err, sizeof(err)) == 0,
	    "init() with a host table of ABI 1.0's size");
	say(invoke(1) == CONN_ESTATE, "invoke before start(): CONN_ESTATE");
	t->start(inst, NULL, err, sizeof(err));
	say(invoke(2) == 0 && !strcmp(greeting, "hello, world"),
	    "no default applied by this host: the plugin's own");
	say(logged == 1, "a 1.0 host has no log_enabled: the line is logged");
	say(t->quiesce(inst, NULL) == 0 && invoke(3) == CONN_ESTATE,
	    "quiesced: CONN_ESTATE");
	say(t->resume(inst, NULL, err, sizeof(err)) == 0 && invoke(4) == 0,
	    "resumed: accepted again");
	say(t->shutdown(inst, conn_now_ms() + 1000) == 0, "shutdown() 0");

	/* a 1.1 host */
	t = get(1, 1);
	host.struct_size = sizeof(host);
	host.abi_minor = 1;
	host.json_c_version = (uint32_t)json_c_version_num();
	host.json_c_version_num = json_c_version_num;
	host.log_enabled = h_log_enabled;
	logged = 0;
	say(init(&host, err, sizeof(err)) == 0, "init() with a 1.1 host");
	t->start(inst, NULL, err, sizeof(err));
	say(invoke(5) == 0 && logged == 0,
	    "log_enabled says no: no line is built");
	log_on = 1;
	say(invoke(6) == 0 && logged == 1, "log_enabled says yes: logged");
	completed = 0;
	say(invoke(99) == 0 && completed == 1,
	    "the call inside completed once, the late one never");
	say(t->shutdown(inst, conn_now_ms() + 1000) == 0,
	    "shutdown() again once the call left: 0");

	host.json_c_version_num = other_json_c_version_num;
	say(init(&host, err, sizeof(err)) == CONN_EABI && !inst &&
	            strstr(err, "two copies of json-c"),
	    "CONN_CHECK_JSON_C: another copy of json-c refused (CONN_EABI)");
	printf("# %s\n", err);
	host.json_c_version_num = json_c_version_num;
	host.json_c_version += 1 << 8;
	say(init(&host, err, sizeof(err)) == CONN_EABI &&
	            strstr(err, "another json-c version"),
	    "CONN_CHECK_JSON_C: a host on another json-c minor refused");
	printf("# %s\n", err);
	return 0;
}
EOF
if (cd "$T" && PATH="$T/bin:$PATH" cc -o drive drive.c \
	$(PATH="$T/bin:$PATH" pkg-config --cflags connector) \
	$(PATH="$T/bin:$PATH" pkg-config --libs json-c) -ldl) >"$T/drive.log" 2>&1; then
	$WRAP "$T/drive" "$SO" >"$T/drive.out" 2>"$T/drive.err"
	code=$?
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "${line#ok - }" ;;
		"not ok - "*) nok "${line#not ok - }" ;;
		*) echo "$line" ;;
		esac
	done <"$T/drive.out"
	check "the driver exits 0 (got $code)" [ "$code" = 0 ]
	[ "$code" = 0 ] || sed 's/^/#   /' "$T/drive.err" | head -n 30
else
	nok "the driver builds"
	sed 's/^/#   /' "$T/drive.log" | head -n 30
fi

echo "1..$n"
[ "$failed" = 0 ]
