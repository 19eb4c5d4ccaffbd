/*
 * main.c - twilio-sandbox: a local server speaking Twilio's Messages API,
 * for tests, the demo and benchmarks (never a fallback of the plugin).
 *
 * Owns the command line, the record files and the process lifecycle:
 * start, announce the port, wait for SIGTERM/SIGINT, stop cleanly.
 * See docs/sandbox.md for every flag and fault.
 */
#include "config.h"
#include "sandbox.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define MAX_FAULTS  32
#define MAX_PEM     (1024 * 1024)
#define MAX_NUMBERS 63

static void usage(FILE *f)
{
	fputs("usage: twilio-sandbox [--listen ADDR] [--port N] "
	      "[--port-file FILE]\n"
	      "         [--record FILE] [--requests FILE] [--account SID]\n"
	      "         [--token TOKEN] [--api-key SK... --api-secret SECRET]\n"
	      "         [--tls-cert PEM --tls-key PEM] [--threads N]\n"
	      "         [--fault SPEC]... [--number "
	      "+1...[:application=AP...]]...\n"
	      "       twilio-sandbox inbound --help   (play Twilio calling a "
	      "webhook)\n"
	      "       twilio-sandbox --help | --version\n"
	      "A local Twilio Messages API for tests (see docs/sandbox.md).\n"
	      "  --listen ADDR     IP address to bind (default 127.0.0.1)\n"
	      "  --port N          TCP port (default 0: the kernel picks)\n"
	      "  --port-file FILE  write the port there when ready\n"
	      "  --record FILE     one JSON line per accepted message\n"
	      "  --requests FILE   one JSON line per Messages API request\n"
	      "  --account SID     account SID (default "
	      "AC00000000000000000000000000000000)\n"
	      "  --token TOKEN     auth token (default sandbox-token)\n"
	      "  --api-key SK...   also accept this API key ...\n"
	      "  --api-secret S    ... with this secret\n"
	      "  --tls-cert PEM    serve HTTPS with this certificate ...\n"
	      "  --tls-key PEM     ... and this private key\n"
	      "  --threads N       worker threads (default 2)\n"
	      "  --fault SPEC      KIND[:key=value,...], repeatable; KIND is\n"
	      "                    429 [retry-after=S], 500, 503, latency "
	      "ms=N,\n"
	      "                    slow ms=N, drop-before, drop-after, "
	      "truncate,\n"
	      "                    nonjson; selectors first=N, rate=F "
	      "[seed=S],\n"
	      "                    reused=1\n"
	      "  --number SPEC     serve this IncomingPhoneNumber too "
	      "(repeatable;\n"
	      "                    +15005550006 always): +1...[:application="
	      "AP...]\n"
	      "  --help            this text\n"
	      "  --version         print the version and exit\n",
	      f);
}

/* Read a whole (small) file; NULL with ERR on failure. */
static char *read_file(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = malloc(MAX_PEM + 1);
	if (!buf) {
		fclose(f);
		snprintf(err, errlen, "%s: out of memory", path);
		return NULL;
	}
	n = fread(buf, 1, MAX_PEM + 1, f);
	fclose(f);
	if (n > MAX_PEM || n == 0) {
		snprintf(err, errlen, "%s: %s", path,
		         n ? "larger than 1 MiB" : "empty or unreadable");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

/* Write the port to PATH atomically (a reader never sees a partial file). */
static int write_port_file(const char *path, unsigned port)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + 16);
	FILE *f;
	int ok;

	if (!tmp)
		return -1;
	snprintf(tmp, len + 16, "%s.tmp%ld", path, (long)getpid());
	f = fopen(tmp, "w");
	if (!f) {
		free(tmp);
		return -1;
	}
	ok = fprintf(f, "%u\n", port) > 0;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path) != 0) {
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

static bool sid_ok(const char *s, const char *prefix)
{
	size_t i;

	if (strlen(s) != 34 || strncmp(s, prefix, 2) != 0)
		return false;
	for (i = 2; i < 34; i++)
		if (!strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
}

static int parse_uint(const char *v, unsigned long max, unsigned *out)
{
	char *end;
	unsigned long n;

	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || n > max || v[0] == '-')
		return -1;
	*out = (unsigned)n;
	return 0;
}

enum {
	O_LISTEN = 256,
	O_PORT_FILE,
	O_RECORD,
	O_REQUESTS,
	O_ACCOUNT,
	O_TOKEN,
	O_API_KEY,
	O_API_SECRET,
	O_TLS_CERT,
	O_TLS_KEY,
	O_THREADS,
	O_FAULT,
	O_PORT,
	O_NUMBER
};

static const struct option longopts[] = {
        {"listen", required_argument, NULL, O_LISTEN},
        {"port", required_argument, NULL, O_PORT},
        {"port-file", required_argument, NULL, O_PORT_FILE},
        {"record", required_argument, NULL, O_RECORD},
        {"requests", required_argument, NULL, O_REQUESTS},
        {"account", required_argument, NULL, O_ACCOUNT},
        {"token", required_argument, NULL, O_TOKEN},
        {"api-key", required_argument, NULL, O_API_KEY},
        {"api-secret", required_argument, NULL, O_API_SECRET},
        {"tls-cert", required_argument, NULL, O_TLS_CERT},
        {"tls-key", required_argument, NULL, O_TLS_KEY},
        {"threads", required_argument, NULL, O_THREADS},
        {"fault", required_argument, NULL, O_FAULT},
        {"number", required_argument, NULL, O_NUMBER},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
};

static const char *opt_name(int val)
{
	const struct option *o;

	for (o = longopts; o->name; o++)
		if (o->val == val)
			return o->name;
	return "?";
}

typedef struct cli {
	sb_server_opts srv;
	sb_config cfg;
	const char *port_file, *record, *requests, *cert, *key;
	sb_fault faults[MAX_FAULTS];
	const char *numbers[MAX_NUMBERS];
	size_t nnumbers;
} cli;

/* Parse ARGV into C; returns 0, 1 for --help or --version, or 2 after an
 * error. */
static int parse_cli(int argc, char **argv, cli *c)
{
	char err[256];
	int opt;

	c->srv.listen = "127.0.0.1";
	c->srv.threads = 2;
	c->cfg.account = "AC00000000000000000000000000000000";
	c->cfg.token = "sandbox-token";
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case O_LISTEN: c->srv.listen = optarg; break;
		case O_PORT:
			if (parse_uint(optarg, 65535, &c->srv.port) < 0)
				goto bad_value;
			break;
		case O_PORT_FILE: c->port_file = optarg; break;
		case O_RECORD: c->record = optarg; break;
		case O_REQUESTS: c->requests = optarg; break;
		case O_ACCOUNT: c->cfg.account = optarg; break;
		case O_TOKEN: c->cfg.token = optarg; break;
		case O_API_KEY: c->cfg.api_key = optarg; break;
		case O_API_SECRET: c->cfg.api_secret = optarg; break;
		case O_TLS_CERT: c->cert = optarg; break;
		case O_TLS_KEY: c->key = optarg; break;
		case O_THREADS:
			if (parse_uint(optarg, 256, &c->srv.threads) < 0 ||
			    c->srv.threads == 0)
				goto bad_value;
			break;
		case O_FAULT:
			if (c->srv.nfaults == MAX_FAULTS) {
				fprintf(stderr,
				        "twilio-sandbox: at most %d --fault\n",
				        MAX_FAULTS);
				return 2;
			}
			if (sb_fault_parse(optarg, &c->faults[c->srv.nfaults],
			                   err, sizeof err) < 0) {
				fprintf(stderr,
				        "twilio-sandbox: --fault '%s': %s\n",
				        optarg, err);
				return 2;
			}
			c->srv.nfaults++;
			break;
		case O_NUMBER:
			if (c->nnumbers == MAX_NUMBERS) {
				fprintf(stderr,
				        "twilio-sandbox: at most %d --number\n",
				        MAX_NUMBERS);
				return 2;
			}
			c->numbers[c->nnumbers++] = optarg;
			break;
		case 'h': usage(stdout); return 1;
		case 'V':
			printf("twilio-sandbox (%s) %s\n", PACKAGE_NAME,
			       PACKAGE_VERSION);
			return 1;
		default:
			fprintf(stderr,
			        "twilio-sandbox: %s: unknown option or "
			        "missing value (try --help)\n",
			        argv[optind - 1]);
			return 2;
		}
		continue;
	bad_value:
		fprintf(stderr,
		        "twilio-sandbox: --%s '%s': not a valid number\n",
		        opt_name(opt), optarg);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "twilio-sandbox: unexpected argument '%s'\n",
		        argv[optind]);
		return 2;
	}
	if (!sid_ok(c->cfg.account, "AC")) {
		fprintf(stderr,
		        "twilio-sandbox: --account '%s': not AC "
		        "followed by 32 hex digits\n",
		        c->cfg.account);
		return 2;
	}
	if (!*c->cfg.token) {
		fprintf(stderr, "twilio-sandbox: --token: empty\n");
		return 2;
	}
	if (!c->cfg.api_key != !c->cfg.api_secret ||
	    (c->cfg.api_key &&
	     (!sid_ok(c->cfg.api_key, "SK") || !*c->cfg.api_secret))) {
		fprintf(stderr, "twilio-sandbox: --api-key (SK followed by 32 "
		                "hex digits) and a non-empty --api-secret go "
		                "together\n");
		return 2;
	}
	if (!c->cert != !c->key) {
		fprintf(stderr, "twilio-sandbox: --tls-cert and --tls-key go "
		                "together\n");
		return 2;
	}
	c->srv.faults = c->faults;
	return 0;
}

/* Benchmarks open many connections: allow as many descriptors as the hard
 * limit does (MHD refuses connections cleanly beyond it). */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max > 65536 ? 65536 : rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run(cli *c)
{
	char err[512];
	char *cert = NULL, *key = NULL;
	unsigned port = 0;
	sigset_t set;
	int sig, rc = 1;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	/* before any thread exists, so every thread inherits the mask */
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_fd_limit();

	if (c->cert) {
		cert = read_file(c->cert, err, sizeof err);
		key = cert ? read_file(c->key, err, sizeof err) : NULL;
		if (!key)
			goto out;
		c->srv.tls_cert_pem = cert;
		c->srv.tls_key_pem = key;
	}
	if (c->record &&
	    !(c->srv.record = sb_lines_open(c->record, err, sizeof err)))
		goto out;
	if (c->requests &&
	    !(c->srv.requests = sb_lines_open(c->requests, err, sizeof err)))
		goto out;
	if (sb_numbers_init(c->cfg.account, c->numbers, c->nnumbers, err,
	                    sizeof err) < 0)
		goto out;
	if (sb_api_init(&c->cfg) < 0) {
		snprintf(err, sizeof err, "out of memory");
		goto out;
	}
	if (sb_server_start(&c->srv, &port, err, sizeof err) < 0)
		goto out_api;
	/* the line first: whoever saw the port file may read it */
	printf("listening on %s://%s%s%s:%u\n", cert ? "https" : "http",
	       strchr(c->srv.listen, ':') ? "[" : "", c->srv.listen,
	       strchr(c->srv.listen, ':') ? "]" : "", port);
	fflush(stdout);
	if (c->port_file && write_port_file(c->port_file, port) < 0) {
		snprintf(err, sizeof err, "--port-file %s: %s", c->port_file,
		         strerror(errno));
		goto out_server;
	}
	while (sigwait(&set, &sig) != 0)
		;
	rc = 0;
out_server:
	sb_server_stop();
out_api:
	sb_api_fini();
out:
	sb_numbers_fini();
	if (rc)
		fprintf(stderr, "twilio-sandbox: %s\n", err);
	sb_lines_close(c->srv.record);
	sb_lines_close(c->srv.requests);
	if (key) {
		memset(key, 0, strlen(key));
		free(key);
	}
	free(cert);
	return rc;
}

int main(int argc, char **argv)
{
	static cli c; /* large (the fault table); zero-initialised */
	int rc;

	if (argc > 1 && strcmp(argv[1], "inbound") == 0)
		return sb_inbound_main(argc - 1, argv + 1);
	rc = parse_cli(argc, argv, &c);

	if (rc == 1)
		return 0;
	if (rc == 2)
		return 2;
	return run(&c);
}
