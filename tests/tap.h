/*
 * tap.h - a tiny TAP producer for the C tests (header-only).
 *
 *   plan(N);  or nothing, and done_testing() prints the plan at the end
 *   ok(cond, "name %d", i);
 *   is_int(expected, actual, "name");   prints both values on failure
 *   is_str(expected, actual, "name");   NULL-safe, prints both on failure
 *   skip_all("reason");                 "1..0 # SKIP reason", exit 0
 *   diag("fmt", ...);                   "# ..." line
 *   return done_testing();              exit status: 0 when all passed
 *
 * Everything goes to stdout so automake's tap-driver keeps it in the log.
 */
#ifndef TESTS_TAP_H
#define TESTS_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_run, tap_failed, tap_planned = -1;

static inline void plan(int n)
{
	tap_planned = n;
	printf("1..%d\n", n);
	fflush(stdout);
}

static inline void skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	fflush(stdout);
	exit(0);
}

static inline void diag(const char *fmt, ...)
        __attribute__((format(printf, 1, 2)));
static inline void diag(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("# ", stdout);
	vprintf(fmt, ap);
	fputc('\n', stdout);
	va_end(ap);
	fflush(stdout);
}

static inline int tap_ok(int cond, const char *file, int line, const char *fmt,
                         ...) __attribute__((format(printf, 4, 5)));
static inline int tap_ok(int cond, const char *file, int line, const char *fmt,
                         ...)
{
	va_list ap;
	tap_run++;
	if (!cond)
		tap_failed++;
	printf("%sok %d - ", cond ? "" : "not ", tap_run);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (!cond)
		printf("#   failed at %s:%d\n", file, line);
	fflush(stdout);
	return cond;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

#define is_int(expected, actual, ...)                                          \
	do {                                                                   \
		long long tap_e_ = (long long)(expected);                      \
		long long tap_a_ = (long long)(actual);                        \
		if (!tap_ok(tap_e_ == tap_a_, __FILE__, __LINE__,              \
		            __VA_ARGS__))                                      \
			printf("#   expected: %lld\n#        got: %lld\n",     \
			       tap_e_, tap_a_);                                \
	} while (0)

#define is_str(expected, actual, ...)                                          \
	do {                                                                   \
		const char *tap_e_ = (expected);                               \
		const char *tap_a_ = (actual);                                 \
		int tap_c_ = (tap_e_ == NULL || tap_a_ == NULL)                \
		                     ? tap_e_ == tap_a_                        \
		                     : strcmp(tap_e_, tap_a_) == 0;            \
		if (!tap_ok(tap_c_, __FILE__, __LINE__, __VA_ARGS__))          \
			printf("#   expected: '%s'\n#        got: '%s'\n",     \
			       tap_e_ ? tap_e_ : "(null)",                     \
			       tap_a_ ? tap_a_ : "(null)");                    \
	} while (0)

static inline int done_testing(void)
{
	if (tap_planned < 0)
		printf("1..%d\n", tap_run);
	else if (tap_planned != tap_run)
		printf("# planned %d tests but ran %d\n", tap_planned, tap_run);
	fflush(stdout);
	return tap_failed || (tap_planned >= 0 && tap_planned != tap_run);
}

#endif /* TESTS_TAP_H */
