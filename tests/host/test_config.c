/*
 * test_config.c - configuration parsing, validation and masking
 * (host-api/config.c): JSON, KEY=VALUE with comments and quoting,
 * ${env:NAME} and ${file:PATH}, every parse error naming its line or key,
 * validation against a definition (missing required, bad type or range
 * with the exact wording, unknown key warned, defaults), masking, the
 * secret never in any message, and a FIFO or directory named by
 * ${file:} or as the file refused at once (issue 8, item 10).
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include "../plugins/hosttest.h"

#define SECRET "s3cr3t-VALUE-xyzzy"

static char err[1024];
static struct ht_log logs;

static json_object *parse(const char *text, int *rc)
{
	json_object *o = NULL;
	err[0] = '\0';
	*rc = connhost_config_parse(text, strlen(text), "cfg", &o, err,
	                            sizeof(err));
	return o;
}

static const char *get(json_object *o, const char *key)
{
	json_object *v;
	if (!o || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return json_object_get_string(v);
}

/* Parsing fails with a message containing WANT and never the secret. */
static void refused(const char *text, const char *want, const char *name)
{
	int rc;
	json_object *o = parse(text, &rc);

	is_int(CONN_EINVAL, rc, "%s: refused", name);
	ok(o == NULL, "%s: nothing returned", name);
	ok(strstr(err, want) != NULL, "%s: message names it ('%s' in '%s')",
	   name, want, err);
	ok(strstr(err, SECRET) == NULL, "%s: message without the secret", name);
	json_object_put(o);
}

static void json_form(void)
{
	int rc;
	json_object *o;

	o = parse("  {\"A\":\"x\", \"N\": 5, \"B\": true, "
	          "\"T\":\"${env:CT_SECRET}\"}\n",
	          &rc);
	is_int(0, rc, "JSON object parsed (%s)", err);
	is_str("x", get(o, "A"), "string value");
	is_str("5", get(o, "N"), "number taken as text");
	is_str("true", get(o, "B"), "boolean taken as text");
	is_str(SECRET, get(o, "T"), "${env:} expanded in JSON");
	json_object_put(o);
	refused("{\"A\":\"x\",", "not valid JSON", "truncated JSON");
	refused("{\"A\":{\"b\":1}}", "A: expected a string", "nested object");
	refused("{\"A\":\"x\"} junk", "one JSON object", "trailing text");
	refused("{\"A\":\"" SECRET "${nope}\"}", "A: unknown reference",
	        "unknown reference in JSON");
}

static void lines_form(void)
{
	int rc;
	json_object *o;

	o = parse("# a comment\n"
	          "\n"
	          "  PLAIN = hello world   # trailing comment\n"
	          "HASH=a#b\n"
	          "DQ=\"quoted # not a comment\\n\\\"x\\\"\"  # comment\n"
	          "SQ='literal ${env:CT_SECRET}'\n"
	          "ENV=${env:CT_SECRET}\n"
	          "MIX=pre-${env:CT_SECRET}-post\r\n"
	          "LIT=$${env:CT_SECRET}\n"
	          "EMPTY=\n"
	          "dotted.key-1=v\n",
	          &rc);
	is_int(0, rc, "KEY=VALUE parsed (%s)", err);
	is_str("hello world", get(o, "PLAIN"),
	       "unquoted value trimmed, "
	       "comment dropped");
	is_str("a#b", get(o, "HASH"), "# inside a value kept");
	is_str("quoted # not a comment\n\"x\"", get(o, "DQ"),
	       "double quotes with escapes");
	is_str("literal ${env:CT_SECRET}", get(o, "SQ"),
	       "single quotes are literal");
	is_str(SECRET, get(o, "ENV"), "${env:NAME}");
	is_str("pre-" SECRET "-post", get(o, "MIX"),
	       "reference inside a value, CRLF line");
	is_str("${env:CT_SECRET}", get(o, "LIT"), "$${ is a literal ${");
	is_str("", get(o, "EMPTY"), "empty value");
	is_str("v", get(o, "dotted.key-1"), "keys with . and -");
	json_object_put(o);

	refused("A=1\nnot a pair\n", "cfg:2: expected KEY=VALUE",
	        "line without =");
	refused("A=1\nA=" SECRET "\n", "cfg:2: A given twice", "duplicate");
	refused("TOKEN=\"" SECRET "\n", "cfg:1: TOKEN: missing closing quote",
	        "unterminated quote");
	refused("TOKEN=\"" SECRET "\" extra\n",
	        "TOKEN: unexpected text after the closing quote",
	        "text after quote");
	refused("TOKEN=${env:CT_UNSET_VARIABLE}\n",
	        "TOKEN: environment variable CT_UNSET_VARIABLE is not set",
	        "unset environment variable");
	refused("TOKEN=" SECRET "${env:CT_SECRET\n",
	        "TOKEN: unterminated ${ reference", "unterminated reference");
	refused("TOKEN=${file:/nonexistent/secret}\n",
	        "TOKEN: cannot read /nonexistent/secret",
	        "missing file reference");
	refused("=value\n", "cfg:1: expected KEY=VALUE", "empty key");
	refused("{\"A\":\"" SECRET "\"",
	        "cfg: not valid JSON: the JSON text "
	        "ends early (unclosed { or [ or string?)",
	        "JSON cut off");
	{
		/* A long origin must not cut the line number off. */
		char origin[700], want[760];
		json_object *o2 = NULL;
		memset(origin, 'd', sizeof(origin) - 1);
		origin[sizeof(origin) - 1] = '\0';
		connhost_config_parse("A=1\nbad\n", 8, origin, &o2, err,
		                      sizeof(err));
		snprintf(want, sizeof(want), "%s:2: expected KEY=VALUE",
		         origin);
		ok(strncmp(err, want, strlen(want)) == 0,
		   "a 700-byte origin keeps its line number");
	}
}

/* Parse in a child with an alarm: a regression that blocks on the FIFO
 * fails (killed by SIGALRM) instead of hanging the test suite. 0 when
 * the child exited 0. */
static int in_child(int (*fn)(const char *), const char *arg)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		alarm(10);
		_exit(fn(arg));
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int parse_fifo_ref(const char *fifo)
{
	char text[4200];
	int rc;
	json_object *o;

	snprintf(text, sizeof(text), "TOKEN=${file:%s}\n", fifo);
	o = parse(text, &rc);
	json_object_put(o);
	return rc == CONN_EINVAL && strstr(err, "is a FIFO (named pipe); "
	                                        "expected a regular file")
	               ? 0
	               : 1;
}

static int load_fifo(const char *fifo)
{
	json_object *o = NULL;
	int rc = connhost_config_load(fifo, &o, err, sizeof(err));

	return rc == CONN_EIO && strstr(err, "is a FIFO") ? 0 : 1;
}

static void fifos(void)
{
	char dir[] = "/tmp/test_config.XXXXXX", fifo[4096];

	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	if (mkfifo(fifo, 0600) != 0) {
		ok(0, "mkfifo");
		rmdir(dir);
		return;
	}
	is_int(0, in_child(parse_fifo_ref, fifo),
	       "a ${file:} naming a FIFO is refused at once, not read");
	is_int(0, in_child(load_fifo, fifo),
	       "a configuration file that is a FIFO is refused at once");
	err[0] = '\0';
	{
		char text[4200];
		int rc;
		json_object *o;
		snprintf(text, sizeof(text), "TOKEN=${file:%s}\n", dir);
		o = parse(text, &rc);
		json_object_put(o);
		ok(rc == CONN_EINVAL && strstr(err, "is a directory"),
		   "a directory too (%s)", err);
	}
	unlink(fifo);
	rmdir(dir);
}

static void file_refs(void)
{
	char path[4096], text[8192];
	const char *top = getenv("top_builddir");
	json_object *o;
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "%s/tests/test_config.secret",
	         top && *top ? top : ".");
	f = fopen(path, "w");
	fputs(SECRET "\n", f);
	fclose(f);
	snprintf(text, sizeof(text), "TOKEN=${file:%s}\n", path);
	o = parse(text, &rc);
	is_int(0, rc, "${file:} parsed (%s)", err);
	is_str(SECRET, get(o, "TOKEN"), "file contents, newline removed");
	json_object_put(o);

	f = fopen(path, "w");
	for (rc = 0; rc < CONNHOST_FILE_REF_MAX_BYTES / 16 + 1; rc++)
		fputs("0123456789abcdef", f);
	fclose(f);
	o = parse(text, &rc);
	is_int(CONN_EINVAL, rc, "a referenced file over the limit is refused");
	ok(strstr(err, "larger than") != NULL, "and says so (%s)", err);
	json_object_put(o);
	unlink(path);

	snprintf(path, sizeof(path), "%s/tests/test_config.conf",
	         top && *top ? top : ".");
	f = fopen(path, "w");
	fputs("# file\nFAKE_NAME=from-file\n", f);
	fclose(f);
	rc = connhost_config_load(path, &o, err, sizeof(err));
	is_int(0, rc, "connhost_config_load");
	is_str("from-file", get(o, "FAKE_NAME"), "value from the file");
	json_object_put(o);
	unlink(path);
	rc = connhost_config_load("/nonexistent/conf", &o, err, sizeof(err));
	is_int(CONN_EIO, rc, "a missing config file: EIO");
	ok(strstr(err, "/nonexistent/conf") != NULL, "naming it (%s)", err);

	{
		size_t n = CONNHOST_CONFIG_MAX_BYTES + 1;
		char *big = malloc(n);
		memset(big, '#', n);
		rc = connhost_config_parse(big, n, "big", &o, err, sizeof(err));
		is_int(CONN_EINVAL, rc, "text over the size limit refused");
		free(big);
	}
}

static const char definition_text[] =
        "{\"config\":{"
        "\"NAME\":{\"type\":\"string\",\"required\":true},"
        "\"TOKEN\":{\"type\":\"string\",\"secure\":true,\"required\":true},"
        "\"PIN\":{\"type\":\"integer\",\"secure\":true,\"minimum\":0,"
        "\"maximum\":9999},"
        "\"CONC\":{\"type\":\"integer\",\"minimum\":1,\"maximum\":256},"
        "\"LOW\":{\"type\":\"integer\",\"minimum\":5},"
        "\"COUNT\":{\"type\":\"integer\",\"default\":7},"
        "\"RATIO\":{\"type\":\"number\"},"
        "\"FLAG\":{\"type\":\"boolean\",\"default\":false},"
        "\"MODE\":{\"type\":\"string\",\"default\":\"fast\"}}}";

static int validate(json_object *def, const char *text, json_object **out)
{
	connhost_log sink = ht_log_sink(&logs);
	int rc;
	json_object *o = parse(text, &rc);

	if (rc)
		return rc;
	err[0] = '\0';
	rc = connhost_config_validate(def, o, &sink, err, sizeof(err));
	if (out)
		*out = o;
	else
		json_object_put(o);
	return rc;
}

static void validation(void)
{
	json_object *def = json_tokener_parse(definition_text), *o, *m;
	int rc;

	rc = validate(def, "NAME=n\nTOKEN=" SECRET "\nEXTRA=" SECRET "\n", &o);
	is_int(0, rc, "valid configuration (%s)", err);
	is_str("7", get(o, "COUNT"), "integer default filled in as text");
	is_str("false", get(o, "FLAG"), "boolean default filled in");
	is_str("fast", get(o, "MODE"), "string default filled in");
	ok(get(o, "RATIO") == NULL, "no default, not required: absent");
	is_int(1, ht_log_count(&logs, "\"key\":\"EXTRA\""),
	       "unknown key warned about, by name");
	ok(ht_log_count(&logs, "\"level\":\"warn\"") == 1, "as a warning");
	m = connhost_config_masked(def, o);
	is_str("********", get(m, "TOKEN"), "secure value masked");
	is_str("********", get(m, "EXTRA"), "unknown key masked");
	is_str("n", get(m, "NAME"), "plain value shown");
	ok(strstr(json_object_to_json_string(m), SECRET) == NULL,
	   "the masked copy holds no secret");
	json_object_put(m);
	json_object_put(o);

	is_int(CONN_EINVAL, validate(def, "TOKEN=" SECRET "\n", NULL),
	       "missing required key refused");
	ok(strstr(err, "NAME: required key missing") != NULL,
	   "naming the key (%s)", err);
	is_int(CONN_EINVAL, validate(def, "NAME=x\nTOKEN=\n", NULL),
	       "empty required key refused");
	ok(strstr(err, "TOKEN: required key is empty") != NULL, "(%s)", err);
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nCOUNT=12a\n", NULL),
	       "bad integer refused");
	is_str("COUNT: expected an integer, got '12a'", err,
	       "naming key, type and value, without a doubled prefix");
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nCONC=x\n", NULL),
	       "an integer key with a range");
	is_str("CONC: expected an integer from 1 to 256, got 'x'", err,
	       "says the range");
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nCONC=257\n", NULL),
	       "out of the definition's range");
	is_str("CONC: expected an integer from 1 to 256, got '257'", err,
	       "refused by the host's check");
	is_int(0, validate(def, "NAME=x\nTOKEN=" SECRET "\nCONC=256\n", NULL),
	       "the maximum itself is in range");
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nLOW=4\n", NULL),
	       "below a minimum");
	is_str("LOW: expected an integer of at least 5, got '4'", err,
	       "a minimum alone");
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nFLAG=maybe\n", NULL),
	       "a bad boolean");
	is_str("FLAG: expected true or false (or yes/no, on/off, 1/0), got "
	       "'maybe'",
	       err, "says which words are booleans");
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nRATIO=fast\n", NULL),
	       "bad number refused");
	is_int(CONN_EINVAL,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nFLAG=maybe\n", NULL),
	       "bad boolean refused");
	is_int(0,
	       validate(def, "NAME=x\nTOKEN=" SECRET "\nFLAG=yes\nRATIO=0.5\n",
	                NULL),
	       "yes is a boolean, 0.5 a number");
	is_int(CONN_EINVAL,
	       validate(def,
	                "NAME=x\nTOKEN=" SECRET "y\n"
	                "PIN=" SECRET "\n",
	                NULL),
	       "a bad value of a secure key");
	is_str("PIN: expected an integer from 0 to 9999 (the value is secure: "
	       "not shown)",
	       err, "is not echoed");
	ok(logs.text == NULL || strstr(logs.text, SECRET) == NULL,
	   "no log line holds the secret");
	json_object_put(def);
}

int main(void)
{
	setenv("CT_SECRET", SECRET, 1);
	ht_log_init(&logs);
	json_form();
	lines_form();
	file_refs();
	fifos();
	validation();
	ht_log_free(&logs);
	return done_testing();
}
