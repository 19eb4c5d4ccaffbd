/*
 * fuzz_sandbox.c - fuzz target for the parsers of outside input that the
 * sandbox owns or calls: plugin/segments.c (message text), the form
 * decoder (lenient) and base64 of plugin/wire.c as the sandbox calls them
 * for bodies and Basic auth, the route matcher and the --fault parser.
 * Checks invariants, not just "does not crash".
 *
 * Built two ways: in `make check` a main() replays deterministic
 * pseudo-random and mutated inputs for a bounded number of rounds (TAP);
 * with -DSB_LIBFUZZER (`make fuzz-sandbox`, clang) libFuzzer drives
 * LLVMFuzzerTestOneInput.
 */
#include "sandbox.h"
#include "segments.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fail(const char *what)
{
	fprintf(stdout, "not ok 1 - invariant broken: %s\n", what);
	fflush(stdout);
	abort();
}

static void check_segments(const char *s, size_t n)
{
	tw_segments seg;
	size_t u16 = tw_utf16_length(s, n);
	int rc = tw_segments_count(s, n, &seg);

	if ((rc < 0) != (u16 == (size_t)-1))
		fail("segments and utf16 disagree on validity");
	if (rc < 0)
		return;
	if ((seg.segments == 0) != (n == 0))
		fail("0 segments iff empty");
	if (seg.encoding == TW_UCS2) {
		if (seg.units != u16)
			fail("UCS-2 units are UTF-16 units");
		if (seg.ucs2_offset >= n)
			fail("UCS-2 character inside the text");
		if (seg.units > 70 && (seg.segments < (seg.units + 66) / 67 ||
		                       seg.segments > (seg.units + 65) / 66))
			fail("UCS-2 part count out of range");
		if (seg.units <= 70 && n && seg.segments != 1)
			fail("short UCS-2 text is one segment");
	} else {
		if (seg.ucs2_char != 0)
			fail("GSM-7 text reports a UCS-2 character");
		if (seg.units < u16 || seg.units > 2 * u16)
			fail("septets between 1 and 2 per character");
		if (seg.units > 160 &&
		    (seg.segments < (seg.units + 152) / 153 ||
		     seg.segments > (seg.units + 151) / 152))
			fail("GSM-7 part count out of range");
		if (seg.units <= 160 && n && seg.segments != 1)
			fail("short GSM-7 text is one segment");
	}
}

static void check_form(const char *s, size_t n)
{
	size_t amps = 0, i;
	tw_form f;

	for (i = 0; i < n; i++)
		amps += s[i] == '&';
	if (tw_form_parse(s, n, TW_FORM_LENIENT, &f, NULL) < 0)
		return; /* OOM */
	if (f.n > amps + 1)
		fail("more fields than separators");
	for (i = 0; i < f.n; i++)
		if (f.fields[i].value_len > n ||
		    strlen(f.fields[i].value) > f.fields[i].value_len)
			fail("field value length");
	tw_form_free(&f);
}

static void check_strings(const char *z, size_t n)
{
	size_t room = n / 4 * 3 + 3; /* what tw_base64_decode() asks for */
	unsigned char *out = malloc(room);
	const char *a = NULL, *m = NULL;
	size_t al = 0, ml = 0;
	sb_fault f;
	char err[256];
	long dl;

	if (!out)
		return;
	dl = tw_base64_decode(z, n, out);
	if (dl > (long)(n * 3 / 4 + 1) || (dl >= 0 && out[dl] != '\0'))
		fail("base64 output larger than its bound");
	free(out);
	if (sb_fault_parse(z, &f, err, sizeof err) < 0 && !err[0])
		fail("fault parse error without a message");
	switch (sb_api_route(z, &a, &al, &m, &ml)) {
	case SB_R_MESSAGE:
		if (!m || m < z || m + ml > z + n)
			fail("message SID outside the URL");
		/* fall through */
	case SB_R_ACCOUNT:
	case SB_R_MESSAGES:
		if (!a || a < z || a + al > z + n || al == 0)
			fail("account outside the URL");
		break;
	case SB_R_NOT_FOUND: break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *z = malloc(size + 1);

	if (!z)
		return 0;
	memcpy(z, data, size);
	z[size] = '\0';
	check_segments(z, size);
	check_form(z, size);
	check_strings(z, strlen(z));
	free(z);
	return 0;
}

#ifndef SB_LIBFUZZER
static uint64_t rng = 0x243F6A8885A308D3ULL;

static uint32_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 16);
}

/* Pieces that make interesting inputs when glued at random. */
static const char *const pieces[] = {
        "a",
        "{",
        "\xE2\x82\xAC",
        "\xF0\x9F\x98\x80",
        "\xD0\x96",
        "`",
        "\n",
        "%",
        "%2B",
        "&",
        "=",
        "+",
        "To=",
        "Body=",
        "\xC3",
        "\xFF",
        "\xED\xA0\x80",
        "/2010-04-01/Accounts/",
        "Messages",
        ".json",
        "/",
        "429:first=",
        "rate=0.5,seed=",
        "latency:ms=",
        "QUM6",
        "==",
        "\x00",
        "drop-after:reused=1",
};

int main(void)
{
	static char buf[4096];
	int round;

	for (round = 0; round < 5000; round++) {
		size_t n = 0, k = next() % 400, i;

		for (i = 0; i < k && n < sizeof buf - 8; i++) {
			if (next() % 4 == 0) {
				buf[n++] = (char)next();
			} else {
				const char *p =
				        pieces[next() % (sizeof pieces /
				                         sizeof pieces[0])];
				size_t pl = strlen(p) ? strlen(p) : 1;

				if (n + pl >= sizeof buf)
					break;
				memcpy(buf + n, p, pl);
				n += pl;
			}
		}
		LLVMFuzzerTestOneInput((const uint8_t *)buf, n);
	}
	printf("1..1\nok 1 - 5000 generated inputs keep every invariant\n");
	return 0;
}
#endif
