/*
 * replay_ftl - runs every file of tests/fuzz/corpus-ftl/ through the
 * libFuzzer target (fuzz_ftl.c) with the normal compiler, as a TAP test:
 * crashes and sanitizer reports found by the fuzzer stay fixed.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../tap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	const char *top = getenv("top_srcdir");
	char dir[4096];
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus-ftl", top ? top : ".");
	d = opendir(dir);
	if (!d)
		skip_all("no corpus directory");
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), by_name);
	for (size_t i = 0; i < n; i++) {
		char path[8192];
		FILE *f;
		uint8_t *buf;
		long len;
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		f = fopen(path, "rb");
		if (!f) {
			ok(0, "open %s", names[i]);
			continue;
		}
		fseek(f, 0, SEEK_END);
		len = ftell(f);
		fseek(f, 0, SEEK_SET);
		buf = malloc((size_t)len + 1);
		if (fread(buf, 1, (size_t)len, f) != (size_t)len)
			len = 0;
		fclose(f);
		LLVMFuzzerTestOneInput(buf, (size_t)len);
		ok(1, "%s", names[i]);
		free(buf);
		free(names[i]);
	}
	free(names);
	ok(n > 0, "corpus has %zu inputs", n);
	return done_testing();
}
