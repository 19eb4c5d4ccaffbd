/*
 * inbound.c - `twilio-sandbox inbound`: play Twilio calling a webhook for
 * an incoming SMS. Builds Twilio's full field set, signs it exactly as
 * Twilio does (plugin/signature.c over --public-url, default --url),
 * POSTs it and prints the answer; or, with --load N, writes N pre-signed
 * distinct requests for benchmarks (one "SIGNATURE<TAB>BODY" line each).
 *
 * The HTTP client is a plain blocking HTTP/1.1 socket client (one request,
 * Connection: close, http:// only): it keeps the sandbox free of libcurl,
 * and a TLS terminator in front of the listener is shown with
 * --public-url https://... while delivering to --url http://...
 *
 * Single-threaded, a short-lived command. Failure: a clear message on
 * stderr, exit 2 for a bad command line, 1 for a failed delivery or a
 * non-2xx answer. The token and signing key are never printed.
 */
#define _GNU_SOURCE
#include "config.h"
#include "sandbox.h"
#include "segments.h"
#include "tw_signature.h"
#include "tw_wire.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define MAX_HEADERS     16
#define MAX_ANSWER      (1024 * 1024) /* a webhook answer above: error */
#define MAX_LOAD        10000000L
#define IO_TIMEOUT_SECS 30

typedef struct inbound {
	const char *url, *public_url, *token, *signing_key;
	const char *from, *to, *body, *body_template, *message_sid;
	const char *account, *messaging_service, *opt_out, *out;
	const char *media[SB_MAX_MEDIA];
	size_t nmedia;
	const char *headers[MAX_HEADERS];
	size_t nheaders;
	long load; /* 0: send one */
} inbound;

static void inbound_usage(FILE *f)
{
	fputs("usage: twilio-sandbox inbound --url URL --token TOKEN --from N "
	      "--to N --body TEXT\n"
	      "         [--public-url URL] [--message-sid SM...] "
	      "[--account AC...]\n"
	      "         [--messaging-service-sid MG...] [--media URL]... "
	      "[--opt-out TYPE]\n"
	      "         [--header K:V]... [--signing-key KEY]\n"
	      "       twilio-sandbox inbound --load N --out FILE --url URL "
	      "--token TOKEN\n"
	      "         --from N --to N --body-template 'Order Number %d' "
	      "[--public-url URL]\n"
	      "POST an incoming-SMS webhook signed as Twilio signs it and "
	      "print "
	      "the answer\n"
	      "(exit 0 on 2xx), or write N pre-signed requests "
	      "(SIGNATURE<TAB>BODY lines).\n"
	      "  --url URL            where to deliver (http:// only)\n"
	      "  --public-url URL     the URL to sign (default --url): the "
	      "public URL\n"
	      "                       behind a proxy or TLS terminator\n"
	      "  --token TOKEN        the auth token to sign with "
	      "(HMAC-SHA1)\n"
	      "  --signing-key KEY    sign with HMAC-SHA256 and this shared "
	      "key instead,\n"
	      "                       adding X-Twilio-Webhooks-Signature-"
	      "Settings\n"
	      "  --from N, --to N     the sender and the number texted "
	      "(E.164)\n"
	      "  --body TEXT          the message text\n"
	      "  --message-sid SM...  MessageSid (default: a random one)\n"
	      "  --account AC...      AccountSid (default "
	      "AC00000000000000000000000000000000)\n"
	      "  --messaging-service-sid MG...  add MessagingServiceSid\n"
	      "  --media URL          add a MediaUrlN (repeatable, at most "
	      "10)\n"
	      "  --opt-out TYPE       add OptOutType (STOP, START, HELP)\n"
	      "  --header K:V         add a request header (repeatable)\n"
	      "  --load N             write N distinct pre-signed requests "
	      "...\n"
	      "  --out FILE           ... to FILE\n"
	      "  --body-template T    ... with bodies T, %d the request number "
	      "(1..N)\n",
	      f);
}

static bool e164_ok(const char *s)
{
	size_t n;

	if (s[0] != '+' || s[1] < '1' || s[1] > '9')
		return false;
	n = strspn(s + 1, "0123456789");
	return s[1 + n] == '\0' && n >= 2 && n <= 15;
}

static bool sid_like(const char *s, const char *prefix)
{
	return strlen(s) == 34 && strncmp(s, prefix, 2) == 0 &&
	       strspn(s + 2, "0123456789abcdefABCDEF") == 32;
}

/* 16 random hex digits (for MessageSids). */
static void random_hex16(char out[17])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char r[8] = {0};
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	struct timeval tv;
	size_t i;

	if (fd < 0 || read(fd, r, sizeof r) != (ssize_t)sizeof r) {
		gettimeofday(&tv, NULL); /* distinct enough for a sandbox */
		memcpy(r, &tv, sizeof r < sizeof tv ? sizeof r : sizeof tv);
		r[0] ^= (unsigned char)getpid();
	}
	if (fd >= 0)
		close(fd);
	for (i = 0; i < 8; i++) {
		out[2 * i] = hex[r[i] >> 4];
		out[2 * i + 1] = hex[r[i] & 15];
	}
	out[16] = '\0';
}

/* The body text of request N from TEMPLATE: "%d" is N, "%%" a '%'; any
 * other '%' was refused by template_ok(). */
static void render_template(tw_buf *b, const char *t, long n)
{
	for (; *t; t++) {
		if (t[0] == '%' && t[1] == 'd') {
			tw_buf_printf(b, "%ld", n);
			t++;
		} else if (t[0] == '%' && t[1] == '%') {
			tw_buf_append(b, "%", 1);
			t++;
		} else {
			tw_buf_append(b, t, 1);
		}
	}
}

/* Whether T holds exactly one %d and no other conversion ('%%' allowed):
 * never handed to printf, so a stray %s cannot read memory. */
static bool template_ok(const char *t)
{
	int nd = 0;

	for (; *t; t++) {
		if (*t != '%')
			continue;
		if (t[1] == 'd')
			nd++;
		else if (t[1] != '%')
			return false;
		t++;
	}
	return nd == 1;
}

/* Guess a media content type from the URL's extension. */
static const char *media_type(const char *url)
{
	size_t n = strcspn(url, "?#");
	static const struct {
		const char *ext, *type;
	} t[] = {{".png", "image/png"},  {".gif", "image/gif"},
	         {".mp4", "video/mp4"},  {".pdf", "application/pdf"},
	         {".vcf", "text/vcard"}, {".txt", "text/plain"}};
	size_t i;

	for (i = 0; i < sizeof t / sizeof t[0]; i++) {
		size_t el = strlen(t[i].ext);
		if (n > el && strncasecmp(url + n - el, t[i].ext, el) == 0)
			return t[i].type;
	}
	return "image/jpeg";
}

/* Twilio's field set for one incoming SMS, form-encoded into BODY. */
static int build_form(const inbound *in, const char *sid, const char *text,
                      tw_buf *body)
{
	tw_segments seg = {0};
	char num[32];
	size_t i;

#define ADD(k, v) tw_form_add(body, (k), (v), strlen(v))
	ADD("ToCountry", "US");
	ADD("ToState", "CA");
	ADD("SmsMessageSid", sid);
	snprintf(num, sizeof num, "%zu", in->nmedia);
	ADD("NumMedia", num);
	ADD("ToCity", "SAN FRANCISCO");
	ADD("FromZip", "94103");
	ADD("SmsSid", sid);
	ADD("FromState", "CA");
	ADD("SmsStatus", "received");
	ADD("FromCity", "SAN FRANCISCO");
	ADD("Body", text);
	ADD("FromCountry", "US");
	ADD("To", in->to);
	if (in->messaging_service)
		ADD("MessagingServiceSid", in->messaging_service);
	ADD("ToZip", "94105");
	if (tw_segments_count(text, strlen(text), &seg) < 0)
		seg.segments = 1;
	snprintf(num, sizeof num, "%zu", seg.segments ? seg.segments : 1);
	ADD("NumSegments", num);
	ADD("MessageSid", sid);
	ADD("AccountSid", in->account);
	ADD("From", in->from);
	ADD("ApiVersion", "2010-04-01");
	for (i = 0; i < in->nmedia; i++) {
		char k[48];
		snprintf(k, sizeof k, "MediaContentType%zu", i);
		ADD(k, media_type(in->media[i]));
		snprintf(k, sizeof k, "MediaUrl%zu", i);
		ADD(k, in->media[i]);
	}
	if (in->opt_out)
		ADD("OptOutType", in->opt_out);
#undef ADD
	return body->oom ? -1 : 0;
}

/* The signature of BODY (form-encoded) for the signed URL into SIG. */
static int sign_body(const inbound *in, const tw_buf *body, tw_buf *sig)
{
	tw_form form = {0};
	tw_buf base = {0};
	const char *url = in->public_url ? in->public_url : in->url;
	const char *key = in->signing_key ? in->signing_key : in->token;
	int rc = -1;

	if (tw_form_parse(body->data, body->len, TW_FORM_STRICT, &form, NULL) ==
	            0 &&
	    tw_sig_base(&base, url, &form) == 0)
		rc = tw_sig_sign(sig,
		                 in->signing_key ? TW_SIG_HMAC_SHA256
		                                 : TW_SIG_HMAC_SHA1,
		                 key, strlen(key), base.data, base.len);
	tw_form_free(&form);
	tw_buf_free(&base);
	return rc;
}

/* ---- the HTTP client -------------------------------------------------- */

typedef struct target {
	char *host; /* without brackets */
	char *port;
	char *hostport; /* for the Host header, as written */
	char *path;     /* path and query, "/" at least */
} target;

static void target_free(target *t)
{
	free(t->host);
	free(t->port);
	free(t->hostport);
	free(t->path);
}

/* Split an http:// URL. 0, or -1 with ERR. */
static int parse_target(const char *url, target *t, char *err, size_t len)
{
	const char *a, *e, *hp;
	size_t n;

	memset(t, 0, sizeof *t);
	if (strncasecmp(url, "http://", 7) != 0) {
		snprintf(err, len,
		         "--url '%s': only http:// URLs can be delivered to "
		         "(sign for an https:// address with --public-url)",
		         url);
		return -1;
	}
	a = url + 7;
	e = a + strcspn(a, "/?#");
	if (memchr(a, '@', (size_t)(e - a)) || e == a) {
		snprintf(err, len,
		         "--url '%s': give host[:port], without credentials",
		         url);
		return -1;
	}
	t->hostport = strndup(a, (size_t)(e - a));
	if (*a == '[') {
		const char *rb = memchr(a, ']', (size_t)(e - a));
		if (!rb)
			goto bad;
		t->host = strndup(a + 1, (size_t)(rb - a - 1));
		hp = rb + 1;
	} else {
		hp = memchr(a, ':', (size_t)(e - a));
		if (!hp)
			hp = e;
		t->host = strndup(a, (size_t)(hp - a));
	}
	if (hp < e && *hp == ':') {
		n = (size_t)(e - hp - 1);
		if (n == 0 || n > 5 || strspn(hp + 1, "0123456789") < n)
			goto bad;
		t->port = strndup(hp + 1, n);
	} else if (hp != e) {
		goto bad;
	} else {
		t->port = strdup("80");
	}
	n = strcspn(e, "#");
	t->path = *e == '/' ? strndup(e, n) : tw_strdupf("/%.*s", (int)n, e);
	if (!t->host || !t->port || !t->hostport || !t->path) {
		snprintf(err, len, "out of memory");
		return -1;
	}
	return 0;
bad:
	snprintf(err, len, "--url '%s': not http://host[:port]/path", url);
	return -1;
}

static int connect_to(const target *t, char *err, size_t len)
{
	struct addrinfo hints = {0}, *res = NULL, *ai;
	struct timeval tv = {IO_TIMEOUT_SECS, 0};
	int fd = -1, rc;

	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(t->host, t->port, &hints, &res);
	if (rc != 0) {
		snprintf(err, len, "%s: %s", t->hostport, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		            ai->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		rc = errno;
		close(fd);
		fd = -1;
		errno = rc;
	}
	if (fd < 0)
		snprintf(err, len, "connect to %s: %s", t->hostport,
		         strerror(errno));
	freeaddrinfo(res);
	return fd;
}

static int send_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Decode a chunked body in place; its new length, or -1 when malformed. */
static long dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long sz;
		const char *nl = memchr(b + in, '\n', n - in);

		if (!nl)
			return -1;
		sz = strtoul(b + in, &end, 16);
		if (end == b + in || sz > n)
			return -1;
		in = (size_t)(nl - b) + 1;
		if (sz == 0)
			return (long)out;
		if (in + sz > n)
			return -1;
		memmove(b + out, b + in, sz);
		out += sz;
		in += sz;
		if (in < n && b[in] == '\r')
			in++;
		if (in < n && b[in] == '\n')
			in++;
	}
}

/* POST BODY with SIG; print the status line and the answer. Returns the
 * HTTP status, or -1 with ERR. */
static int deliver(const inbound *in, const tw_buf *body, const char *sig,
                   char *err, size_t errlen)
{
	target t;
	tw_buf req = {0}, ans = {0};
	int fd = -1, status = -1;
	size_t i;
	char *hend, *b;
	long blen;

	if (parse_target(in->url, &t, err, errlen) < 0)
		goto out;
	tw_buf_printf(&req,
	              "POST %s HTTP/1.1\r\nHost: %s\r\n"
	              "Content-Type: application/x-www-form-urlencoded\r\n"
	              "Content-Length: %zu\r\nX-Twilio-Signature: %s\r\n"
	              "User-Agent: TwilioProxy/1.1\r\nAccept: */*\r\n"
	              "Connection: close\r\n",
	              t.path, t.hostport, body->len, sig);
	if (in->signing_key)
		tw_buf_puts(&req, "X-Twilio-Webhooks-Signature-Settings: "
		                  "key=sandbox,algorithm=HMAC_SHA256\r\n");
	for (i = 0; i < in->nheaders; i++) {
		const char *c = strchr(in->headers[i], ':');
		tw_buf_printf(&req, "%.*s: %s\r\n", (int)(c - in->headers[i]),
		              in->headers[i], c + 1 + strspn(c + 1, " "));
	}
	tw_buf_puts(&req, "\r\n");
	tw_buf_append(&req, body->data, body->len);
	if (req.oom) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	if ((fd = connect_to(&t, err, errlen)) < 0)
		goto out;
	if (send_all(fd, req.data, req.len) < 0) {
		snprintf(err, errlen, "sending to %s: %s", t.hostport,
		         strerror(errno));
		goto out;
	}
	for (;;) {
		ssize_t r;

		if (tw_buf_reserve(&ans, 65536) < 0) {
			snprintf(err, errlen, "out of memory");
			goto out;
		}
		r = recv(fd, ans.data + ans.len, 65536, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(err, errlen, "reading the answer of %s: %s",
			         t.hostport, strerror(errno));
			goto out;
		}
		if (r == 0)
			break;
		ans.len += (size_t)r;
		ans.data[ans.len] = '\0';
		if (ans.len > MAX_ANSWER) {
			snprintf(err, errlen,
			         "the answer of %s is larger than %d bytes",
			         t.hostport, MAX_ANSWER);
			goto out;
		}
	}
	if (!ans.data || strncmp(ans.data, "HTTP/1.", 7) != 0 || ans.len < 12 ||
	    !(hend = strstr(ans.data, "\r\n\r\n"))) {
		snprintf(err, errlen, "%s answered something not HTTP/1.x",
		         t.hostport);
		goto out;
	}
	status = atoi(ans.data + 9);
	*hend = '\0';
	b = hend + 4;
	blen = (long)(ans.len - (size_t)(b - ans.data));
	if (strcasestr(ans.data, "\r\ntransfer-encoding: chunked") &&
	    (blen = dechunk(b, (size_t)blen)) < 0) {
		snprintf(err, errlen, "%s: a malformed chunked answer",
		         t.hostport);
		status = -1;
		goto out;
	}
	printf("%.*s\n", (int)strcspn(ans.data, "\r\n"), ans.data);
	fwrite(b, 1, (size_t)blen, stdout);
	if (blen > 0 && b[blen - 1] != '\n')
		putchar('\n');
	fflush(stdout);
out:
	if (fd >= 0)
		close(fd);
	tw_buf_free(&req);
	tw_buf_free(&ans);
	target_free(&t);
	return status;
}

/* ---- the command ------------------------------------------------------ */

static int load(const inbound *in)
{
	FILE *f = fopen(in->out, "w");
	tw_buf body = {0}, sig = {0}, text = {0};
	char rnd[17], sid[35];
	long i;

	if (!f) {
		fprintf(stderr, "twilio-sandbox inbound: --out %s: %s\n",
		        in->out, strerror(errno));
		return 1;
	}
	random_hex16(rnd);
	for (i = 1; i <= in->load; i++) {
		/* distinct MessageSids: a random run prefix + the number */
		snprintf(sid, sizeof sid, "SM%s%016lx", rnd, (unsigned long)i);
		tw_buf_clear(&text);
		render_template(&text, in->body_template, i);
		tw_buf_clear(&body);
		tw_buf_clear(&sig);
		if (text.oom || build_form(in, sid, text.data, &body) < 0 ||
		    sign_body(in, &body, &sig) < 0) {
			fprintf(stderr, "twilio-sandbox inbound: out of "
			                "memory\n");
			break;
		}
		fprintf(f, "%s\t%s\n", sig.data, body.data);
	}
	tw_buf_free(&body);
	tw_buf_free(&sig);
	tw_buf_free(&text);
	if (fclose(f) != 0 || i <= in->load) {
		fprintf(stderr, "twilio-sandbox inbound: --out %s: %s\n",
		        in->out,
		        i <= in->load ? "incomplete" : strerror(errno));
		return 1;
	}
	return 0;
}

static int send_one(const inbound *in)
{
	tw_buf body = {0}, sig = {0};
	char sid[35], rnd[17], rnd2[17], err[512];
	int status;

	if (in->message_sid) {
		snprintf(sid, sizeof sid, "%s", in->message_sid);
	} else {
		random_hex16(rnd);
		random_hex16(rnd2);
		snprintf(sid, sizeof sid, "SM%s%s", rnd, rnd2);
	}
	if (build_form(in, sid, in->body, &body) < 0 ||
	    sign_body(in, &body, &sig) < 0) {
		fprintf(stderr, "twilio-sandbox inbound: out of memory\n");
		tw_buf_free(&body);
		tw_buf_free(&sig);
		return 1;
	}
	status = deliver(in, &body, sig.data, err, sizeof err);
	tw_buf_free(&body);
	tw_buf_free(&sig);
	if (status < 0) {
		fprintf(stderr, "twilio-sandbox inbound: %s\n", err);
		return 1;
	}
	return status >= 200 && status < 300 ? 0 : 1;
}

enum {
	I_URL = 256,
	I_PUBLIC_URL,
	I_TOKEN,
	I_SIGNING_KEY,
	I_FROM,
	I_TO,
	I_BODY,
	I_MESSAGE_SID,
	I_ACCOUNT,
	I_MS,
	I_MEDIA,
	I_OPT_OUT,
	I_HEADER,
	I_LOAD,
	I_OUT,
	I_TEMPLATE,
};

static const struct option inbound_opts[] = {
        {"url", required_argument, NULL, I_URL},
        {"public-url", required_argument, NULL, I_PUBLIC_URL},
        {"token", required_argument, NULL, I_TOKEN},
        {"signing-key", required_argument, NULL, I_SIGNING_KEY},
        {"from", required_argument, NULL, I_FROM},
        {"to", required_argument, NULL, I_TO},
        {"body", required_argument, NULL, I_BODY},
        {"message-sid", required_argument, NULL, I_MESSAGE_SID},
        {"account", required_argument, NULL, I_ACCOUNT},
        {"messaging-service-sid", required_argument, NULL, I_MS},
        {"media", required_argument, NULL, I_MEDIA},
        {"opt-out", required_argument, NULL, I_OPT_OUT},
        {"header", required_argument, NULL, I_HEADER},
        {"load", required_argument, NULL, I_LOAD},
        {"out", required_argument, NULL, I_OUT},
        {"body-template", required_argument, NULL, I_TEMPLATE},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
};

/* Check the parsed command line; 0, or 2 after a message. */
static int check_cli(const inbound *in)
{
	const char *missing = !in->url     ? "--url"
	                      : !in->token ? "--token"
	                      : !in->from  ? "--from"
	                      : !in->to    ? "--to"
	                                   : NULL;
	const char *why = NULL, *what = NULL;

	if (!missing && in->load && !in->out)
		missing = "--out";
	if (!missing && in->load && !in->body_template)
		missing = "--body-template";
	if (!missing && !in->load && !in->body)
		missing = "--body";
	if (missing) {
		fprintf(stderr,
		        "twilio-sandbox inbound: %s is required (try "
		        "--help)\n",
		        missing);
		return 2;
	}
	if (!*in->token)
		what = "--token", why = "empty";
	else if (in->signing_key && !*in->signing_key)
		what = "--signing-key", why = "empty";
	else if (!e164_ok(in->from))
		what = in->from, why = "--from: not an E.164 number (+ and 3 "
		                       "to 16 digits)";
	else if (!e164_ok(in->to))
		what = in->to, why = "--to: not an E.164 number (+ and 3 to 16 "
		                     "digits)";
	else if (in->message_sid && !sid_like(in->message_sid, "SM") &&
	         !sid_like(in->message_sid, "MM"))
		what = in->message_sid,
		why = "--message-sid: not SM or MM followed by 32 hex digits";
	else if (!sid_like(in->account, "AC"))
		what = in->account,
		why = "--account: not AC followed by 32 hex digits";
	else if (in->messaging_service &&
	         !sid_like(in->messaging_service, "MG"))
		what = in->messaging_service, why = "--messaging-service-sid: "
		                                    "not MG followed by 32 hex "
		                                    "digits";
	else if (in->body_template && !template_ok(in->body_template))
		what = in->body_template,
		why = "--body-template: needs exactly one %d (write %% for a "
		      "percent sign)";
	else if (!in->load && strncasecmp(in->url, "http://", 7) != 0)
		what = in->url, why = "--url: only http:// can be delivered to "
		                      "(sign for an https:// address with "
		                      "--public-url)";
	else if (in->public_url && !strstr(in->public_url, "://"))
		what = in->public_url,
		why = "--public-url: not an absolute URL";
	if (why) {
		fprintf(stderr, "twilio-sandbox inbound: '%s': %s\n", what,
		        why);
		return 2;
	}
	return 0;
}

int sb_inbound_main(int argc, char **argv)
{
	inbound in = {0};
	int opt;
	char *end;

	in.account = "AC00000000000000000000000000000000";
	optind = 1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", inbound_opts, NULL)) != -1) {
		switch (opt) {
		case I_URL: in.url = optarg; break;
		case I_PUBLIC_URL: in.public_url = optarg; break;
		case I_TOKEN: in.token = optarg; break;
		case I_SIGNING_KEY: in.signing_key = optarg; break;
		case I_FROM: in.from = optarg; break;
		case I_TO: in.to = optarg; break;
		case I_BODY: in.body = optarg; break;
		case I_MESSAGE_SID: in.message_sid = optarg; break;
		case I_ACCOUNT: in.account = optarg; break;
		case I_MS: in.messaging_service = optarg; break;
		case I_OPT_OUT: in.opt_out = optarg; break;
		case I_OUT: in.out = optarg; break;
		case I_TEMPLATE: in.body_template = optarg; break;
		case I_MEDIA:
			if (in.nmedia == SB_MAX_MEDIA) {
				fprintf(stderr,
				        "twilio-sandbox inbound: at "
				        "most %d --media (Twilio's "
				        "limit)\n",
				        SB_MAX_MEDIA);
				return 2;
			}
			in.media[in.nmedia++] = optarg;
			break;
		case I_HEADER:
			if (in.nheaders == MAX_HEADERS ||
			    !strchr(optarg, ':') || optarg[0] == ':' ||
			    strpbrk(optarg, "\r\n") ||
			    strcspn(optarg, ": \t") != strcspn(optarg, ":")) {
				fprintf(stderr,
				        "twilio-sandbox inbound: --header "
				        "'%s': "
				        "give NAME:VALUE (no spaces in the "
				        "name, no line breaks; at most %d)\n",
				        optarg, MAX_HEADERS);
				return 2;
			}
			in.headers[in.nheaders++] = optarg;
			break;
		case I_LOAD:
			errno = 0;
			in.load = strtol(optarg, &end, 10);
			if (errno || *end || end == optarg || in.load < 1 ||
			    in.load > MAX_LOAD) {
				fprintf(stderr,
				        "twilio-sandbox inbound: --load '%s': "
				        "a number from 1 to %ld\n",
				        optarg, MAX_LOAD);
				return 2;
			}
			break;
		case 'h': inbound_usage(stdout); return 0;
		default:
			fprintf(stderr,
			        "twilio-sandbox inbound: %s: unknown option or "
			        "missing value (try --help)\n",
			        argv[optind - 1]);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
		        "twilio-sandbox inbound: unexpected argument '%s'\n",
		        argv[optind]);
		return 2;
	}
	if ((opt = check_cli(&in)) != 0)
		return opt;
	return in.load ? load(&in) : send_one(&in);
}
