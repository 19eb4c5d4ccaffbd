/*
 * fuzz_replay.h - replay a fuzz target over its committed corpus as a TAP
 * test: every file of $top_srcdir/tests/fuzz/corpus/NAME (or the files
 * given as arguments) runs through LLVMFuzzerTestOneInput once.
 */
#ifndef TW_FUZZ_REPLAY_H
#define TW_FUZZ_REPLAY_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tw_fuzz_one(const char *path)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf;
	long n;

	if (!f)
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc(n > 0 ? (size_t)n : 1);
	if (!buf || (n > 0 && fread(buf, 1, (size_t)n, f) != (size_t)n)) {
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int tw_fuzz_replay(int argc, char **argv, const char *name)
{
	const char *top = getenv("top_srcdir");
	char dir[4096], path[8192];
	struct dirent *d;
	DIR *dp;
	int n = 0, failed = 0, i;

	if (argc > 1) {
		for (i = 1; i < argc; i++)
			failed |= tw_fuzz_one(argv[i]);
		return failed != 0;
	}
	snprintf(dir, sizeof(dir), "%s/tests/fuzz/corpus/%s", top ? top : ".",
	         name);
	dp = opendir(dir);
	if (!dp) {
		printf("1..0 # SKIP no corpus at %s\n", dir);
		return 0;
	}
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, d->d_name);
		n++;
		if (tw_fuzz_one(path)) {
			printf("not ok %d - %s unreadable\n", n, d->d_name);
			failed++;
		} else {
			printf("ok %d - %s\n", n, d->d_name);
		}
	}
	closedir(dp);
	printf("1..%d\n", n);
	return failed != 0;
}

#endif /* TW_FUZZ_REPLAY_H */
