/*
 * ftl_bench - renders the reference SMS template (issue 3) compile-once /
 * render-many on one thread and prints the time per render. Run through
 * `make bench` (tests/bench/ftl_bench.sh), which compares it with Apache
 * FreeMarker measured in the same run.
 *
 *   ftl_bench [SECONDS]   (default 3; one warm-up second first)
 * Output: one line "ftl-c ns_per_render=N renders=R output=..."
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../../plugin/ftl/ftl.h"

static const char *tpl =
        "Hi ${customer.name!\"there\"}, your order ${orderId} of "
        "${total?string('0.00')} EUR <#if express>ships today<#else>ships in "
        "${days} days</#if>.";
static const char *data =
        "{\"customer\":{\"name\":\"Ann\"},\"orderId\":1234567,\"total\":1234.5,"
        "\"express\":false,\"days\":3}";

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long run_for(ftl_template *t, json_object *m, double secs,
                    double *elapsed)
{
	long n = 0;
	double start = now(), end = start + secs, t1 = start;
	while (t1 < end) {
		for (int i = 0; i < 1000; i++) {
			char *out = NULL;
			ftl_error err;
			if (ftl_render(t, m, NULL, &out, NULL, &err)) {
				fprintf(stderr, "render failed: %s\n",
				        err.message);
				exit(1);
			}
			free(out);
		}
		n += 1000;
		t1 = now();
	}
	*elapsed = t1 - start;
	return n;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 3.0, el;
	ftl_error err;
	ftl_template *t = ftl_compile(tpl, strlen(tpl), &err);
	json_object *m = json_tokener_parse(data);
	char *out = NULL;
	long n;
	if (!t || !m) {
		fprintf(stderr, "setup failed\n");
		return 1;
	}
	run_for(t, m, 1.0, &el); /* warm-up */
	n = run_for(t, m, secs, &el);
	ftl_render(t, m, NULL, &out, NULL, &err);
	printf("ftl-c ns_per_render=%.1f renders=%ld output=%s\n",
	       el * 1e9 / (double)n, n, out);
	free(out);
	json_object_put(m);
	ftl_template_unref(t);
	return 0;
}
