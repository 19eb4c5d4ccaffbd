/*
 * connector-host.c - the reference host and test harness: describe, check,
 * invoke (single or --batch), listen, serve (triggers: serve.c) and
 * twilio-webhook, on top of libconnhost. JSON in and out, one object a
 * line; logs are JSON lines on stderr.
 * Owns the process: its options, its output lock, its exit code.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "connhost.h"
#include "triggers.h"

#ifndef PACKAGE_VERSION /* set by host-api/local.mk */
#define PACKAGE_VERSION "0"
#endif
#ifndef PACKAGE_NAME
#define PACKAGE_NAME "twilio-connector"
#endif

enum {
	EX_OK = 0,
	EX_CHECK = 1,
	EX_USAGE = 2,
	EX_LOAD = 3,
	EX_CONFIG = 4,
	EX_START = 5,
	EX_TIMEOUT = 6,
	EX_OTHER = 7
};

#define DEFAULT_DEADLINE_MS 30000
#define JSON_ARG_MAX        (1024 * 1024)
#define SHUTDOWN_MS         5000

static connhost_log logger = {.level = CONN_LOG_WARN};
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;

static void log_write(void *arg, const char *line)
{
	(void)arg;
	pthread_mutex_lock(&out_lock);
	fprintf(stderr, "%s\n", line);
	fflush(stderr);
	pthread_mutex_unlock(&out_lock);
}

static void say(conn_log_level level, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));
static void say(conn_log_level level, const char *fmt, ...)
{
	char *buf = NULL;
	va_list ap;
	int n;

	/* Allocated, not a fixed buffer: a plugin's message is never cut. */
	va_start(ap, fmt);
	n = vasprintf(&buf, fmt, ap);
	va_end(ap);
	connhost_log_emit(&logger, level, NULL, n >= 0 ? buf : fmt);
	if (n >= 0)
		free(buf);
}

/* One line of JSON on stdout, whole, under the output lock. */
static void print_json(json_object *o)
{
	const char *s = json_object_to_json_string_ext(
	        o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	pthread_mutex_lock(&out_lock);
	fputs(s, stdout);
	fputc('\n', stdout);
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
}

/* ---------------------------------------------------------------------- */
/* Options                                                                 */
/* ---------------------------------------------------------------------- */

struct opts {
	const char *config, *inputs, *vars, *key, *batch, *params;
	const char *triggers, *port_file, *number;
	long deadline_ms, concurrency, workers, queue;
	size_t store_bytes;
	int online, refuse, help, level_set, check, set, no_watch;
	const char *args[3];
	int nargs;
};

enum {
	O_CONFIG = 256,
	O_INPUTS,
	O_VARS,
	O_KEY,
	O_DEADLINE,
	O_BATCH,
	O_CONCURRENCY,
	O_PARAMS,
	O_REFUSE,
	O_ONLINE,
	O_LOGLEVEL,
	O_STORE_BYTES,
	O_TRIGGERS,
	O_PORT_FILE,
	O_WORKERS,
	O_QUEUE,
	O_NUMBER,
	O_CHECK,
	O_SET,
	O_NO_WATCH
};

static const struct option long_opts[] = {
        {"config", required_argument, NULL, O_CONFIG},
        {"inputs", required_argument, NULL, O_INPUTS},
        {"vars", required_argument, NULL, O_VARS},
        {"idempotency-key", required_argument, NULL, O_KEY},
        {"deadline-ms", required_argument, NULL, O_DEADLINE},
        {"batch", required_argument, NULL, O_BATCH},
        {"concurrency", required_argument, NULL, O_CONCURRENCY},
        {"params", required_argument, NULL, O_PARAMS},
        {"refuse-publish", no_argument, NULL, O_REFUSE},
        {"online", no_argument, NULL, O_ONLINE},
        {"log-level", required_argument, NULL, O_LOGLEVEL},
        {"store-bytes", required_argument, NULL, O_STORE_BYTES},
        {"triggers", required_argument, NULL, O_TRIGGERS},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"workers", required_argument, NULL, O_WORKERS},
        {"queue", required_argument, NULL, O_QUEUE},
        {"number", required_argument, NULL, O_NUMBER},
        {"check", no_argument, NULL, O_CHECK},
        {"set", no_argument, NULL, O_SET},
        {"no-watch", no_argument, NULL, O_NO_WATCH},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

static const char usage_text[] =
        "usage: connector-host COMMAND ...\n"
        "  describe PLUGIN\n"
        "      print the plugin's describe() JSON\n"
        "  check PLUGIN --config FILE [--online]\n"
        "      validate FILE against describe() and init(); print the "
        "effective\n"
        "      configuration (secure values as \"********\"); --online: start "
        "and\n"
        "      run the action check_connection when the plugin has it\n"
        "  invoke PLUGIN ACTION --config FILE --inputs JSON [--vars JSON]\n"
        "         [--idempotency-key K] [--deadline-ms N]\n"
        "  invoke PLUGIN ACTION --config FILE --batch FILE|- [--concurrency "
        "N]\n"
        "         [--deadline-ms N]\n"
        "      call the action; print its outputs as one JSON line (batch: "
        "one\n"
        "      {\"index\":I,\"outputs\":{...}} line per input line, in order)\n"
        "  listen PLUGIN EVENT --config FILE --params JSON [--refuse-publish]\n"
        "      print events as {\"sub_id\":N,\"event\":{...}} lines until "
        "SIGINT,\n"
        "      SIGTERM or the end of stdin\n"
        "  serve PLUGIN --config FILE --triggers FILE [--port-file FILE]\n"
        "        [--workers N] [--queue N] [--no-watch]\n"
        "      run each trigger's action for its events (a small process\n"
        "      runtime); --workers: actions at once (default 4, 1..256);\n"
        "      --queue: events waiting at most (default 1024, 1..1000000;\n"
        "      a full queue waits up to 1 s for room, then refuses the\n"
        "      event); --port-file: write the\n"
        "      webhook's bound port there; logs at info unless "
        "--log-level;\n"
        "      SIGINT or SIGTERM: accept no more, finish the accepted, "
        "exit 0;\n"
        "      a new PLUGIN file (copied or renamed into place) is swapped "
        "to\n"
        "      with nothing lost, unless --no-watch; SIGHUP swaps with the "
        "config\n"
        "      FILE re-read (token rotation); SIGUSR1 logs the stats "
        "(docs/deployment.md)\n"
        "  twilio-webhook PLUGIN --config FILE --number +1... (--check | "
        "--set)\n"
        "      compare (--check: exit 1 when different) or set the "
        "number's\n"
        "      sms_url and sms_method to TWILIO_WEBHOOK_PUBLIC_URL and "
        "POST\n"
        "      (through the plugin's action number_webhook; warns when "
        "the\n"
        "      number's sms_application_sid overrides sms_url)\n"
        "common: --log-level error|warn|info|debug (default warn, info for\n"
        "  serve); --help;\n"
        "  --store-bytes N[K|M|G]: the idempotency store's size (default "
        "128M;\n"
        "  docs/connector-host.md says how to size it)\n"
        "connector-host --version (-V): the package and ABI versions\n"
        "JSON arguments are JSON text, or @PATH to read a file.\n"
        "config FILE: a JSON object of strings, or KEY=VALUE lines (# "
        "comments,\n"
        "  \"quoting\", ${env:NAME}, ${file:PATH})\n"
        "exit: 0 ok, 1 check --online failed, 2 usage, 3 plugin refused,\n"
        "  4 configuration invalid, 5 start failed or call not accepted,\n"
        "  6 no completion in time, 7 other error\n"
        "environment: CONNHOST_KEEP_COPIES=1, CONNHOST_COPY_DIR=DIR\n";

/* MSG, then ARG quoted when given, then the usage text; exit code 2. */
static int usage(const char *msg, const char *arg)
{
	if (msg)
		fprintf(stderr, "connector-host: %s%s%s%s\n", msg,
		        arg ? " ('" : "", arg ? arg : "", arg ? "')" : "");
	fputs(usage_text, stderr);
	return EX_USAGE;
}

/* "N", "NK", "NM", "NG" (binary multiples) into *OUT, from 64 KiB to
 * 1 TiB; -1 otherwise. */
static int parse_size(const char *s, size_t *out)
{
	unsigned long long v, mul = 1;
	char *end;

	errno = 0;
	if (!isdigit((unsigned char)s[0]))
		return -1;
	v = strtoull(s, &end, 10);
	if (errno)
		return -1;
	switch (*end) {
	case 'k':
	case 'K': mul = 1ULL << 10, end++; break;
	case 'm':
	case 'M': mul = 1ULL << 20, end++; break;
	case 'g':
	case 'G': mul = 1ULL << 30, end++; break;
	default: break;
	}
	if (*end || v > (1ULL << 40) / mul || v * mul < (64ULL << 10) ||
	    v * mul > SIZE_MAX)
		return -1;
	*out = (size_t)(v * mul);
	return 0;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	int c;
	char *end;

	memset(o, 0, sizeof(*o));
	o->deadline_ms = DEFAULT_DEADLINE_MS;
	o->concurrency = 1;
	o->workers = 4;
	o->queue = 1024;
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", long_opts, NULL)) != -1 ||
	       optind < argc) {
		if (c == -1) { /* a positional argument: keep it, go on */
			if (o->nargs == 3)
				return usage("too many arguments", NULL);
			o->args[o->nargs++] = argv[optind++];
			continue;
		}
		switch (c) {
		case O_CONFIG: o->config = optarg; break;
		case O_INPUTS: o->inputs = optarg; break;
		case O_VARS: o->vars = optarg; break;
		case O_KEY: o->key = optarg; break;
		case O_BATCH: o->batch = optarg; break;
		case O_PARAMS: o->params = optarg; break;
		case O_TRIGGERS: o->triggers = optarg; break;
		case O_PORT_FILE: o->port_file = optarg; break;
		case O_NUMBER: o->number = optarg; break;
		case O_CHECK: o->check = 1; break;
		case O_SET: o->set = 1; break;
		case O_REFUSE: o->refuse = 1; break;
		case O_NO_WATCH: o->no_watch = 1; break;
		case O_ONLINE: o->online = 1; break;
		case 'h': o->help = 1; break;
		case O_LOGLEVEL:
			if (connhost_log_level_parse(optarg, &logger.level))
				return usage("--log-level: expected error, "
				             "warn, info or debug",
				             optarg);
			o->level_set = 1;
			break;
		case O_STORE_BYTES:
			if (parse_size(optarg, &o->store_bytes) != 0)
				return usage("--store-bytes: expected a size "
				             "in bytes from 64K to 1T, with an "
				             "optional K, M or G suffix",
				             optarg);
			break;
		case O_DEADLINE:
		case O_CONCURRENCY:
		case O_WORKERS:
		case O_QUEUE: {
			long v, max = c == O_DEADLINE      ? 86400000L
			              : c == O_CONCURRENCY ? 1024
			              : c == O_WORKERS     ? 256
			                                   : 1000000;
			errno = 0;
			v = strtol(optarg, &end, 10);
			if (!*optarg || *end || errno || v < 1 || v > max)
				return usage(
				        c == O_DEADLINE
				                ? "--deadline-ms: expected "
				                  "1..86400000"
				        : c == O_CONCURRENCY
				                ? "--concurrency: expected "
				                  "1..1024"
				        : c == O_WORKERS
				                ? "--workers: expected 1..256"
				                : "--queue: expected "
				                  "1..1000000",
				        optarg);
			if (c == O_DEADLINE)
				o->deadline_ms = v;
			else if (c == O_CONCURRENCY)
				o->concurrency = v;
			else if (c == O_WORKERS)
				o->workers = v;
			else
				o->queue = v;
			break;
		}
		default:
			return usage("unknown or incomplete option",
			             argv[optind - 1]);
		}
	}
	return 0;
}

/* json-c's reason in words a user reads: its "continue" (and "unexpected
 * end of data") mean the text ended inside a value. */
static const char *json_reason(enum json_tokener_error jerr)
{
	if (jerr == json_tokener_success || jerr == json_tokener_continue ||
	    jerr == json_tokener_error_parse_eof)
		return "the JSON text ends early (unclosed { or [ or string?)";
	return json_tokener_error_desc(jerr);
}

/* JSON text, or @PATH: a JSON object in *OUT. */
static int json_arg(const char *name, const char *arg, json_object **out)
{
	char *text = NULL;
	size_t len;
	json_tokener *tok;
	enum json_tokener_error jerr;
	json_object *o;

	*out = NULL;
	if (arg[0] == '@') {
		FILE *f = fopen(arg + 1, "rb");
		if (!f) {
			say(CONN_LOG_ERROR, "%s: cannot read %s: %s", name,
			    arg + 1, strerror(errno));
			return EX_USAGE;
		}
		text = malloc(JSON_ARG_MAX + 1);
		len = text ? fread(text, 1, JSON_ARG_MAX + 1, f) : 0;
		fclose(f);
		if (!text || len > JSON_ARG_MAX) {
			free(text);
			say(CONN_LOG_ERROR, "%s: %s is larger than %d bytes",
			    name, arg + 1, JSON_ARG_MAX);
			return EX_USAGE;
		}
	} else {
		len = strlen(arg);
		text = strdup(arg);
		if (!text)
			return EX_OTHER;
	}
	tok = json_tokener_new_ex(64);
	o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	jerr = tok ? json_tokener_get_error(tok) : json_tokener_error_depth;
	if (o && jerr == json_tokener_success) {
		size_t used = json_tokener_get_parse_end(tok);
		while (used < len && strchr(" \t\r\n", text[used]))
			used++;
		if (used < len)
			jerr = json_tokener_error_parse_unexpected;
	}
	if (tok)
		json_tokener_free(tok);
	free(text);
	if (!o || jerr != json_tokener_success ||
	    !json_object_is_type(o, json_type_object)) {
		say(CONN_LOG_ERROR, "%s: expected a JSON object (%s)", name,
		    !o || jerr != json_tokener_success ? json_reason(jerr)
		                                       : "not an object");
		json_object_put(o);
		return EX_USAGE;
	}
	*out = o;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Common steps                                                            */
/* ---------------------------------------------------------------------- */

static int load(const char *path, connhost_plugin **p)
{
	char err[1024];
	int rc = connhost_plugin_load(path, NULL, p, err, sizeof(err));

	if (rc) {
		say(CONN_LOG_ERROR, "%s", err);
		return EX_LOAD;
	}
	return 0;
}

static int create(connhost_plugin *p, const struct opts *o, const char *refuse,
                  connhost_instance **inst)
{
	connhost_instance_opts io = {.struct_size = sizeof(io)};
	json_object *cfg = NULL;
	char err[1024];
	int rc;

	rc = connhost_config_load(o->config, &cfg, err, sizeof(err));
	if (rc) {
		say(CONN_LOG_ERROR, "%s", err);
		return rc == CONN_ENOMEM ? EX_OTHER : EX_CONFIG;
	}
	io.log = logger;
	io.refuse_publish = refuse;
	io.store_bytes = o->store_bytes;
	err[0] = '\0';
	rc = connhost_instance_new(p, cfg, &io, inst, err, sizeof(err));
	json_object_put(cfg);
	if (rc) {
		/* libconnhost's messages carry no prefix; a plugin's may:
		 * say "configuration" once. */
		const char *m = err[0] ? err : conn_strerror(rc);
		if (strncmp(m, "configuration: ", 15) == 0)
			m += 15;
		say(CONN_LOG_ERROR, "configuration %s refused: %s", o->config,
		    m);
		return rc == CONN_ENOMEM ? EX_OTHER : EX_CONFIG;
	}
	return 0;
}

static int start(connhost_instance *inst)
{
	char err[1024];

	if (connhost_instance_start(inst, err, sizeof(err)) != 0) {
		say(CONN_LOG_ERROR, "start failed: %s", err);
		return EX_START;
	}
	return 0;
}

/* An instance whose plugin kept a thread: still reachable, deliberately
 * never freed (its plugin thread may still use it). */
static connhost_instance *volatile abandoned;

static int finish(connhost_instance *inst, int code)
{
	if (connhost_instance_shutdown(inst, conn_now_ms() + SHUTDOWN_MS) !=
	    0) {
		connhost_instance_abandon(inst);
		abandoned = inst;
		return code ? code : EX_OTHER;
	}
	return code;
}

/* ---------------------------------------------------------------------- */
/* describe, check                                                         */
/* ---------------------------------------------------------------------- */

static int cmd_describe(struct opts *o)
{
	connhost_plugin *p;
	int rc;

	if (o->nargs != 1)
		return usage("describe: expected PLUGIN", NULL);
	if ((rc = load(o->args[0], &p)) != 0)
		return rc;
	pthread_mutex_lock(&out_lock);
	printf("%s\n", connhost_plugin_describe_text(p));
	fflush(stdout);
	pthread_mutex_unlock(&out_lock);
	connhost_plugin_unref(p);
	return 0;
}

static int has_action(connhost_plugin *p, const char *name)
{
	json_object *actions;

	return json_object_object_get_ex(connhost_plugin_definition(p),
	                                 "actions", &actions) &&
	       json_object_is_type(actions, json_type_object) &&
	       json_object_object_get_ex(actions, name, NULL);
}

static int online_check(connhost_instance *inst, connhost_plugin *p,
                        const struct opts *o)
{
	json_object *in, *out = NULL, *e;
	char err[1024];
	int rc, code = 0;

	if ((rc = start(inst)) != 0)
		return rc;
	if (!has_action(p, "check_connection")) {
		say(CONN_LOG_INFO,
		    "plugin %s has no action check_connection; "
		    "started and nothing more to check",
		    connhost_plugin_name(p));
		return 0;
	}
	in = json_object_new_object();
	rc = connhost_invoke_sync(inst, "check_connection", in, NULL, NULL,
	                          conn_now_ms() + o->deadline_ms, &out, err,
	                          sizeof(err));
	json_object_put(in);
	if (rc) {
		say(CONN_LOG_ERROR, "check_connection: %s", err);
		return rc == CONN_ETIMEDOUT ? EX_TIMEOUT : EX_START;
	}
	print_json(out);
	if (json_object_object_get_ex(out, "error", &e) && e)
		code = EX_CHECK;
	json_object_put(out);
	return code;
}

static int cmd_check(struct opts *o)
{
	connhost_plugin *p;
	connhost_instance *inst;
	json_object *masked;
	int rc;

	if (o->nargs != 1 || !o->config)
		return usage("check: expected PLUGIN --config FILE", NULL);
	if ((rc = load(o->args[0], &p)) != 0)
		return rc;
	rc = create(p, o, NULL, &inst);
	if (rc) {
		connhost_plugin_unref(p);
		return rc;
	}
	masked = connhost_instance_config_masked(inst);
	if (masked)
		print_json(masked);
	json_object_put(masked);
	if (o->online)
		rc = online_check(inst, p, o);
	rc = finish(inst, rc);
	connhost_plugin_unref(p);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* invoke                                                                  */
/* ---------------------------------------------------------------------- */

static int invoke_once(connhost_instance *inst, const char *action,
                       struct opts *o)
{
	json_object *in = NULL, *vars = NULL, *out = NULL;
	char err[1024];
	int rc;

	if ((rc = json_arg("--inputs", o->inputs, &in)) != 0)
		return rc;
	if (o->vars && (rc = json_arg("--vars", o->vars, &vars)) != 0) {
		json_object_put(in);
		return rc;
	}
	rc = connhost_invoke_sync(inst, action, in, vars, o->key,
	                          conn_now_ms() + o->deadline_ms, &out, err,
	                          sizeof(err));
	json_object_put(in);
	json_object_put(vars);
	if (rc) {
		say(CONN_LOG_ERROR, "%s", err);
		return rc == CONN_ETIMEDOUT ? EX_TIMEOUT : EX_START;
	}
	print_json(out);
	json_object_put(out);
	return 0;
}

struct batch_item {
	json_object *inputs, *vars;
	char *key;
	json_object *outputs; /* result */
	int rc, done;
	char err[512];
};

struct batch {
	connhost_instance *inst;
	const char *action;
	long deadline_ms;
	struct batch_item *items;
	size_t n, next;
	pthread_mutex_t lock;
	pthread_cond_t cond;
};

static void *batch_worker(void *arg)
{
	struct batch *b = arg;

	for (;;) {
		struct batch_item *it;
		json_object *out = NULL;
		int rc;

		pthread_mutex_lock(&b->lock);
		if (b->next >= b->n) {
			pthread_mutex_unlock(&b->lock);
			return NULL;
		}
		it = &b->items[b->next++];
		pthread_mutex_unlock(&b->lock);
		rc = connhost_invoke_sync(b->inst, b->action, it->inputs,
		                          it->vars, it->key,
		                          conn_now_ms() + b->deadline_ms, &out,
		                          it->err, sizeof(it->err));
		pthread_mutex_lock(&b->lock);
		it->rc = rc;
		it->outputs = out;
		it->done = 1;
		pthread_cond_broadcast(&b->cond);
		pthread_mutex_unlock(&b->lock);
	}
}

/* One batch line into IT; 0 or a usage error naming line LINENO. */
static int batch_line(const char *line, size_t lineno, struct batch_item *it)
{
	enum json_tokener_error jerr;
	json_object *o, *v;

	o = json_tokener_parse_verbose(line, &jerr);
	if (!o || !json_object_is_type(o, json_type_object)) {
		say(CONN_LOG_ERROR,
		    "--batch line %zu: expected a JSON object (%s)", lineno,
		    o ? "not an object" : json_reason(jerr));
		json_object_put(o);
		return EX_USAGE;
	}
	if (!json_object_object_get_ex(o, "inputs", &v) ||
	    !json_object_is_type(v, json_type_object)) {
		say(CONN_LOG_ERROR,
		    "--batch line %zu: inputs: expected a JSON "
		    "object",
		    lineno);
		json_object_put(o);
		return EX_USAGE;
	}
	it->inputs = json_object_get(v);
	if (json_object_object_get_ex(o, "vars", &v) && v) {
		if (!json_object_is_type(v, json_type_object)) {
			say(CONN_LOG_ERROR,
			    "--batch line %zu: vars: expected "
			    "a JSON object",
			    lineno);
			json_object_put(o);
			return EX_USAGE;
		}
		it->vars = json_object_get(v);
	}
	if (json_object_object_get_ex(o, "idempotency_key", &v) && v) {
		if (!json_object_is_type(v, json_type_string)) {
			say(CONN_LOG_ERROR,
			    "--batch line %zu: idempotency_key: "
			    "expected a string",
			    lineno);
			json_object_put(o);
			return EX_USAGE;
		}
		it->key = strdup(json_object_get_string(v));
	}
	json_object_put(o);
	return 0;
}

static void batch_free(struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++) {
		json_object_put(b->items[i].inputs);
		json_object_put(b->items[i].vars);
		json_object_put(b->items[i].outputs);
		free(b->items[i].key);
	}
	free(b->items);
}

static int batch_read(struct batch *b, const char *path)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	char *line = NULL;
	size_t cap = 0, lineno = 0, alloc = 0;
	ssize_t len;
	int rc = 0;

	if (!f) {
		say(CONN_LOG_ERROR, "--batch: cannot read %s: %s", path,
		    strerror(errno));
		return EX_USAGE;
	}
	while (!rc && (len = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (len > JSON_ARG_MAX) {
			say(CONN_LOG_ERROR,
			    "--batch line %zu: longer than %d "
			    "bytes",
			    lineno, JSON_ARG_MAX);
			rc = EX_USAGE;
			break;
		}
		if (strspn(line, " \t\r\n") == (size_t)len)
			continue;
		if (b->n == alloc) {
			size_t na = alloc ? alloc * 2 : 64;
			struct batch_item *ni =
			        realloc(b->items, na * sizeof(*ni));
			if (!ni) {
				rc = EX_OTHER;
				break;
			}
			b->items = ni;
			alloc = na;
		}
		memset(&b->items[b->n], 0, sizeof(b->items[b->n]));
		rc = batch_line(line, lineno, &b->items[b->n]);
		b->n++;
	}
	free(line);
	if (f != stdin)
		fclose(f);
	return rc;
}

static int invoke_batch(connhost_instance *inst, const char *action,
                        struct opts *o)
{
	struct batch b = {
	        .inst = inst, .action = action, .deadline_ms = o->deadline_ms};
	pthread_t *th;
	size_t i, nth, started = 0;
	int code = 0;

	if ((code = batch_read(&b, o->batch)) != 0) {
		batch_free(&b);
		return code;
	}
	pthread_mutex_init(&b.lock, NULL);
	pthread_cond_init(&b.cond, NULL);
	nth = (size_t)o->concurrency < b.n ? (size_t)o->concurrency : b.n;
	th = calloc(nth ? nth : 1, sizeof(*th));
	for (i = 0; th && i < nth; i++)
		if (pthread_create(&th[i], NULL, batch_worker, &b) == 0)
			started++;
	if (!started && b.n) {
		say(CONN_LOG_ERROR, "--batch: cannot start a thread");
		code = EX_OTHER;
		pthread_mutex_lock(&b.lock);
		b.n = b.next; /* nothing runs */
		pthread_mutex_unlock(&b.lock);
	}
	for (i = 0; i < b.n && started; i++) {
		struct batch_item *it = &b.items[i];
		json_object *line;

		pthread_mutex_lock(&b.lock);
		while (!it->done)
			pthread_cond_wait(&b.cond, &b.lock);
		pthread_mutex_unlock(&b.lock);
		line = json_object_new_object();
		json_object_object_add(line, "index",
		                       json_object_new_int64((int64_t)i));
		if (it->rc == 0) {
			json_object_object_add(line, "outputs", it->outputs);
			it->outputs = NULL;
		} else {
			json_object_object_add(line, "error",
			                       json_object_new_string(it->err));
			if (it->rc == CONN_ETIMEDOUT)
				code = EX_TIMEOUT;
			else if (code != EX_TIMEOUT)
				code = EX_START;
		}
		print_json(line);
		json_object_put(line);
	}
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	free(th);
	pthread_cond_destroy(&b.cond);
	pthread_mutex_destroy(&b.lock);
	batch_free(&b);
	return code;
}

static int cmd_invoke(struct opts *o)
{
	connhost_plugin *p;
	connhost_instance *inst;
	int rc;

	if (o->nargs != 2 || !o->config || (!o->inputs == !o->batch))
		return usage("invoke: expected PLUGIN ACTION --config FILE and "
		             "either --inputs JSON or --batch FILE",
		             NULL);
	if (o->batch && (o->vars || o->key))
		return usage("invoke: --vars and --idempotency-key go inside "
		             "the --batch lines",
		             NULL);
	if ((rc = load(o->args[0], &p)) != 0)
		return rc;
	if ((rc = create(p, o, NULL, &inst)) != 0) {
		connhost_plugin_unref(p);
		return rc;
	}
	rc = start(inst);
	if (!rc)
		rc = o->batch ? invoke_batch(inst, o->args[1], o)
		              : invoke_once(inst, o->args[1], o);
	rc = finish(inst, rc);
	connhost_plugin_unref(p);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* listen                                                                  */
/* ---------------------------------------------------------------------- */

static int on_event(void *arg, uint64_t sub_id, json_object *event, char *err,
                    size_t errlen)
{
	json_object *line = json_object_new_object();

	(void)arg;
	(void)err;
	(void)errlen;
	json_object_object_add(line, "sub_id",
	                       json_object_new_int64((int64_t)sub_id));
	json_object_object_add(line, "event", event);
	print_json(line);
	json_object_put(line);
	return 0;
}

/* Wait for SIGINT, SIGTERM or the end of stdin. */
static void wait_for_end(int sfd)
{
	struct pollfd pf[2] = {{.fd = sfd, .events = POLLIN},
	                       {.fd = STDIN_FILENO, .events = POLLIN}};
	char buf[4096];

	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (pf[0].revents)
			return;
		if (pf[1].revents) {
			ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
			if (n == 0 ||
			    (n < 0 && errno != EINTR && errno != EAGAIN))
				return;
		}
	}
}

static int cmd_listen(struct opts *o)
{
	connhost_plugin *p;
	connhost_instance *inst;
	json_object *params = NULL;
	uint64_t sub = 0;
	sigset_t set;
	char err[1024];
	int rc, sfd;

	if (o->nargs != 2 || !o->config || !o->params)
		return usage("listen: expected PLUGIN EVENT --config FILE "
		             "--params JSON",
		             NULL);
	if ((rc = json_arg("--params", o->params, &params)) != 0)
		return rc;
	/* Block the signals before any thread exists, so that every plugin
	 * thread inherits the mask and only the signalfd sees them. */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		json_object_put(params);
		say(CONN_LOG_ERROR, "signalfd: %s", strerror(errno));
		return EX_OTHER;
	}
	if ((rc = load(o->args[0], &p)) != 0)
		goto out_params;
	rc = create(p, o,
	            o->refuse ? "refused by connector-host --refuse-publish"
	                      : NULL,
	            &inst);
	if (rc)
		goto out_plugin;
	if ((rc = start(inst)) == 0) {
		if (connhost_subscribe(inst, o->args[1], params, on_event, NULL,
		                       &sub, err, sizeof(err)) != 0) {
			say(CONN_LOG_ERROR, "subscribe %s: %s", o->args[1],
			    err);
			rc = EX_START;
		} else {
			say(CONN_LOG_INFO, "listening for %s", o->args[1]);
			wait_for_end(sfd);
			connhost_unsubscribe(inst, sub);
		}
	}
	rc = finish(inst, rc);
out_plugin:
	connhost_plugin_unref(p);
out_params:
	json_object_put(params);
	close(sfd);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* serve                                                                   */
/* ---------------------------------------------------------------------- */

/* LOG_NUMBERS=true in the effective configuration: serve's own log lines
 * then show numbers unmasked, as the plugin's do. */
static int log_numbers(connhost_instance *inst)
{
	json_object *c = connhost_instance_config_masked(inst), *v;
	int on = 0;

	if (c && json_object_object_get_ex(c, "LOG_NUMBERS", &v) &&
	    json_object_is_type(v, json_type_string))
		on = strcmp(json_object_get_string(v), "true") == 0;
	json_object_put(c);
	return on;
}

static int cmd_serve(struct opts *o)
{
	connhost_plugin *p;
	connhost_instance *inst;
	serve_triggers t;
	serve_opts so = {0};
	sigset_t set;
	char err[1024];
	int rc, sfd;

	if (o->nargs != 1 || !o->config || !o->triggers)
		return usage("serve: expected PLUGIN --config FILE --triggers "
		             "FILE",
		             NULL);
	if (!o->level_set)
		logger.level = CONN_LOG_INFO; /* one line per event: the log
		                                 is serve's output */
	if (serve_triggers_load(o->triggers, &t, err, sizeof(err)) != 0) {
		say(CONN_LOG_ERROR, "%s", err);
		return EX_CONFIG;
	}
	/* Blocked before any thread exists (see cmd_listen). */
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	sfd = signalfd(-1, &set, SFD_CLOEXEC);
	if (sfd < 0) {
		serve_triggers_free(&t);
		say(CONN_LOG_ERROR, "signalfd: %s", strerror(errno));
		return EX_OTHER;
	}
	if ((rc = load(o->args[0], &p)) != 0)
		goto out;
	if ((rc = create(p, o, NULL, &inst)) != 0) {
		connhost_plugin_unref(p);
		goto out;
	}
	so.port_file = o->port_file;
	so.workers = o->workers;
	so.queue = o->queue;
	so.log_numbers = log_numbers(inst);
	so.plugin_path = o->args[0];
	so.config_path = o->config;
	so.no_watch = o->no_watch;
	if ((rc = start(inst)) == 0)
		rc = serve_run(inst, &t, &so, &logger, sfd);
	rc = finish(inst, rc);
	connhost_plugin_unref(p);
out:
	serve_triggers_free(&t);
	close(sfd);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* twilio-webhook                                                          */
/* ---------------------------------------------------------------------- */

static const char *out_str(json_object *o, const char *key)
{
	json_object *v;

	if (json_object_object_get_ex(o, key, &v) &&
	    json_object_is_type(v, json_type_string))
		return json_object_get_string(v);
	return NULL;
}

/* What number_webhook's OUT says, for a person: the warning about an
 * application overriding sms_url, the difference, or the error.
 * Returns the exit code. */
static int webhook_verdict(json_object *out, const struct opts *o)
{
	const char *err = out_str(out, "error"), *app, *url, *method, *want;
	json_object *v;
	int matches = 0, updated = 0;

	if (err) {
		say(CONN_LOG_ERROR, "twilio-webhook %s: %s: %s", o->number, err,
		    out_str(out, "message") ? out_str(out, "message") : "");
		return EX_OTHER;
	}
	if (json_object_object_get_ex(out, "matches", &v))
		matches = json_object_get_boolean(v);
	if (json_object_object_get_ex(out, "updated", &v))
		updated = json_object_get_boolean(v);
	app = out_str(out, "smsApplicationSid");
	url = out_str(out, "smsUrl");
	method = out_str(out, "smsMethod");
	want = out_str(out, "expectedUrl");
	if (app && *app)
		say(CONN_LOG_WARN,
		    "twilio-webhook %s: the number has sms_application_sid %s, "
		    "which overrides sms_url: Twilio sends its SMS to that "
		    "application's URL. Remove the application from the "
		    "number's messaging configuration for this webhook to "
		    "receive them (a messaging service's own inbound "
		    "settings can override it too: docs/sms_received.md)",
		    o->number, app);
	if (matches) {
		say(CONN_LOG_WARN,
		    "twilio-webhook %s: sms_url %s, sms_method "
		    "POST: %s",
		    o->number, want ? want : "", updated ? "set" : "matches");
		return EX_OK;
	}
	say(CONN_LOG_ERROR,
	    "twilio-webhook %s: does not match: sms_url is %s%s%s (expected "
	    "\"%s\", TWILIO_WEBHOOK_PUBLIC_URL), sms_method is %s%s%s "
	    "(expected \"POST\")%s",
	    o->number, url ? "\"" : "", url ? url : "not set", url ? "\"" : "",
	    want ? want : "", method ? "\"" : "", method ? method : "not set",
	    method ? "\"" : "", o->set ? "" : "; run with --set to change it");
	return EX_CHECK;
}

static int cmd_twilio_webhook(struct opts *o)
{
	connhost_plugin *p;
	connhost_instance *inst;
	json_object *in, *out = NULL;
	char err[1024];
	int rc;

	if (o->nargs != 1 || !o->config || !o->number || o->check == o->set)
		return usage("twilio-webhook: expected PLUGIN --config FILE "
		             "--number +1... and one of --check or --set",
		             NULL);
	if ((rc = load(o->args[0], &p)) != 0)
		return rc;
	if ((rc = create(p, o, NULL, &inst)) != 0) {
		connhost_plugin_unref(p);
		return rc;
	}
	if ((rc = start(inst)) == 0) {
		in = json_object_new_object();
		json_object_object_add(in, "number",
		                       json_object_new_string(o->number));
		json_object_object_add(in, "set",
		                       json_object_new_boolean(o->set));
		rc = connhost_invoke_sync(inst, "number_webhook", in, NULL,
		                          NULL, conn_now_ms() + o->deadline_ms,
		                          &out, err, sizeof(err));
		json_object_put(in);
		if (rc) {
			say(CONN_LOG_ERROR, "twilio-webhook: %s", err);
			rc = rc == CONN_ETIMEDOUT ? EX_TIMEOUT : EX_START;
		} else {
			print_json(out);
			rc = webhook_verdict(out, o);
			json_object_put(out);
		}
	}
	rc = finish(inst, rc);
	connhost_plugin_unref(p);
	return rc;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(struct opts *);
	} cmds[] = {{"describe", cmd_describe},
	            {"check", cmd_check},
	            {"invoke", cmd_invoke},
	            {"listen", cmd_listen},
	            {"serve", cmd_serve},
	            {"twilio-webhook", cmd_twilio_webhook}};
	struct opts o;
	size_t i;
	int rc;

	logger.write = log_write;
	signal(SIGPIPE, SIG_IGN);
	if (argc < 2)
		return usage("missing command", NULL);
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("connector-host (%s) %s\nconnector ABI %d.%d\n",
		       PACKAGE_NAME, PACKAGE_VERSION, CONN_ABI_MAJOR,
		       CONN_ABI_MINOR);
		return EX_OK;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		fputs(usage_text, stdout);
		return EX_OK;
	}
	for (i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		if (strcmp(argv[1], cmds[i].name) != 0)
			continue;
		rc = parse_opts(argc - 1, argv + 1, &o);
		if (rc)
			return rc;
		if (o.help) {
			fputs(usage_text, stdout);
			return EX_OK;
		}
		return cmds[i].fn(&o);
	}
	return usage("unknown command", argv[1]);
}
