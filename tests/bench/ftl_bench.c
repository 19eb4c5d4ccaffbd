/*
 * ftl_bench - renders one of the benchmark templates compile-once /
 * render-many on one thread and prints the time per render. Run through
 * `make bench-ftl` (tests/bench/ftl_bench.py), which alternates it with
 * Apache FreeMarker (tests/bench/FtlBench.java: the same templates, models
 * and settings, the same output) pinned to the same core.
 *
 *   ftl_bench [-t sms|reminder] [-s SECONDS] [-n RENDERS]
 *     -t  the template (default sms): "sms" is the reference SMS template of
 *         issue 3, "reminder" the date-heavy appointment reminder of
 *         issue 10 (docs/benchmarks-ftl.md)
 *     -s  measured seconds after one warm-up second (default 3)
 *     -n  exactly RENDERS renders, no warm-up and no clock: for instruction
 *         counts (perf stat -e instructions, callgrind), which a loaded
 *         machine does not disturb
 * Output: one line "ftl-c template=T ns_per_render=N cpu_ns_per_render=C
 * renders=R output=...": N wall-clock, C the thread's CPU time (both 0
 * with -n). Exit 1 when a render fails.
 *
 * Each render is what the plugin does: ftl_render with the settings of a
 * connector (the reminder's time zone) and a fresh malloc'd output, freed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../plugin/ftl/ftl.h"

struct bench_case {
	const char *name, *tpl, *data, *time_zone;
};

/* Keep these byte-identical to FtlBench.java's. */
static const struct bench_case cases[] = {
        {"sms",
         "Hi ${customer.name!\"there\"}, your order ${orderId} of "
         "${total?string('0.00')} EUR <#if express>ships today<#else>ships "
         "in ${days} days</#if>.",
         "{\"customer\":{\"name\":\"Ann\"},\"orderId\":1234567,\"total\":1234."
         "5,\"express\":false,\"days\":3}",
         NULL},
        {"reminder",
         "Hi ${name}, a reminder of your appointment with ${doctor} on "
         "${appt?datetime.iso?string(\"EEEE, MMMM d 'at' h:mm a z\")}. "
         "<#assign a = appt?datetime.iso>Please arrive by "
         "${(a?long - 600000)?number_to_datetime?string(\"h:mm a\")}; it ends "
         "at ${(a?long + minutes * 60000)?number_to_datetime?string(\"h:mm "
         "a\")}. Free cancellation until ${(a?long - "
         "86400000)?number_to_datetime?string(\"EEE d MMM, HH:mm\")}<#if "
         "a?string(\"yyyy\") != sent?datetime.iso?string(\"yyyy\")> "
         "${a?string(\"yyyy\")}</#if>.",
         "{\"name\":\"Ann\",\"doctor\":\"Dr. "
         "Smith\",\"appt\":\"2024-03-05T14:30:00Z\",\"sent\":\"2024-03-"
         "01T09:00:00Z\",\"minutes\":45}",
         "America/New_York"},
};

static double clock_s(clockid_t id)
{
	struct timespec ts;
	clock_gettime(id, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double now(void)
{
	return clock_s(CLOCK_MONOTONIC);
}

static void render_n(const ftl_template *t, json_object *m,
                     const ftl_settings *s, long n)
{
	for (long i = 0; i < n; i++) {
		char *out = NULL;
		ftl_error err;
		if (ftl_render(t, m, s, &out, NULL, &err)) {
			fprintf(stderr, "ftl_bench: render failed: %s\n",
			        err.message);
			exit(1);
		}
		free(out);
	}
}

/* Renders for SECS of wall-clock time; *ELAPSED wall seconds, *CPU the
 * thread's CPU seconds (less disturbed by other jobs on the core). */
static long run_for(const ftl_template *t, json_object *m,
                    const ftl_settings *s, double secs, double *elapsed,
                    double *cpu)
{
	long n = 0;
	double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
	double start = now(), end = start + secs, t1 = start;
	while (t1 < end) {
		render_n(t, m, s, 1000);
		n += 1000;
		t1 = now();
	}
	*elapsed = t1 - start;
	*cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - c0;
	return n;
}

static void usage(void)
{
	fprintf(stderr, "usage: ftl_bench [-t sms|reminder] [-s SECONDS] "
	                "[-n RENDERS]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	const struct bench_case *c = &cases[0];
	double secs = 3.0, el = 0, cpu = 0;
	long count = 0, n;
	for (int i = 1; i < argc; i++) {
		if (i + 1 >= argc)
			usage();
		if (!strcmp(argv[i], "-t")) {
			const char *name = argv[++i];
			c = NULL;
			for (size_t k = 0; k < sizeof cases / sizeof *cases;
			     k++)
				if (!strcmp(cases[k].name, name))
					c = &cases[k];
			if (!c)
				usage();
		} else if (!strcmp(argv[i], "-s")) {
			secs = atof(argv[++i]);
		} else if (!strcmp(argv[i], "-n")) {
			count = atol(argv[++i]);
		} else {
			usage();
		}
	}
	ftl_error err;
	ftl_settings s = {0};
	s.time_zone = c->time_zone;
	ftl_template *t = ftl_compile(c->tpl, strlen(c->tpl), &err);
	json_object *m = json_tokener_parse(c->data);
	char *out = NULL;
	if (!t || !m || ftl_settings_check(&s, &err)) {
		fprintf(stderr, "ftl_bench: setup failed\n");
		return 1;
	}
	if (count > 0) {
		render_n(t, m, &s, count);
		n = count;
	} else {
		run_for(t, m, &s, 1.0, &el, &cpu); /* warm-up: caches, zone */
		n = run_for(t, m, &s, secs, &el, &cpu);
	}
	if (ftl_render(t, m, &s, &out, NULL, &err)) {
		fprintf(stderr, "ftl_bench: render failed: %s\n", err.message);
		return 1;
	}
	printf("ftl-c template=%s ns_per_render=%.1f cpu_ns_per_render=%.1f "
	       "renders=%ld output=%s\n",
	       c->name, count > 0 ? 0.0 : el * 1e9 / (double)n,
	       count > 0 ? 0.0 : cpu * 1e9 / (double)n, n, out);
	free(out);
	json_object_put(m);
	ftl_template_unref(t);
	return 0;
}
