# plugin/ftl: the FreeMarker subset (libftl.la), the ftl-render CLI, their
# tests, the libFuzzer target and the benchmark.

noinst_LTLIBRARIES += plugin/ftl/libftl.la
plugin_ftl_libftl_la_SOURCES = \
	plugin/ftl/ftl.h plugin/ftl/ftl_int.h plugin/ftl/eval.h \
	plugin/ftl/num.c plugin/ftl/text.c plugin/ftl/parse.c \
	plugin/ftl/eval.c plugin/ftl/builtins.c plugin/ftl/template.c \
	plugin/ftl/fdate.h plugin/ftl/date.c
plugin_ftl_libftl_la_CFLAGS = $(AM_CFLAGS) $(PCRE2_CFLAGS) -fPIC
plugin_ftl_libftl_la_LIBADD = $(JSONC_LIBS) $(PCRE2_LIBS) $(PTHREAD_LIBS) -lm

bin_PROGRAMS += ftl-render
ftl_render_SOURCES = plugin/ftl/ftl-render.c
ftl_render_LDADD = plugin/ftl/libftl.la $(JSONC_LIBS) $(PCRE2_LIBS)

# ---- tests: one program per module, the golden cases, the CLI, the corpus
FTL_TESTS = tests/ftl/test_ftl_num tests/ftl/test_ftl_text tests/ftl/test_ftl_parse \
	tests/ftl/test_ftl_eval tests/ftl/test_ftl_builtins tests/ftl/test_ftl_template \
	tests/ftl/test_ftl_golden tests/fuzz/replay_ftl tests/ftl/test_ftl_date
check_PROGRAMS += $(FTL_TESTS)
TESTS += $(FTL_TESTS) tests/test_ftl_render.sh
FTL_TEST_LDADD = plugin/ftl/libftl.la $(JSONC_LIBS) $(PCRE2_LIBS) \
	$(PTHREAD_LIBS)
tests_ftl_test_ftl_num_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_text_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_parse_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_eval_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_builtins_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_template_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_golden_LDADD = $(FTL_TEST_LDADD)
tests_ftl_test_ftl_date_LDADD = $(FTL_TEST_LDADD)
# the perf fast paths against independent expectations (docs/benchmarks-ftl.md)
check_PROGRAMS += tests/ftl/test_ftl_fastpath
TESTS += tests/ftl/test_ftl_fastpath
tests_ftl_test_ftl_fastpath_LDADD = $(FTL_TEST_LDADD)
tests_fuzz_replay_ftl_SOURCES = tests/fuzz/replay_ftl.c tests/fuzz/fuzz_ftl.c
tests_fuzz_replay_ftl_LDADD = $(FTL_TEST_LDADD)
EXTRA_DIST += tests/test_ftl_render.sh tests/ftl/golden.cases.jsonl \
	tests/ftl/golden.expected.jsonl tests/ftl/golden.src.txt \
	tests/ftl/make_golden.py tests/ftl/fuzz_diff.py tests/fuzz/corpus-ftl

# ---- libFuzzer: make fuzz-ftl [FUZZ_SECONDS=300]
FUZZ_SECONDS = 120
FTL_LIB_SRCS = $(filter %.c,$(plugin_ftl_libftl_la_SOURCES))
fuzz-ftl:
	@test -n "$(CLANG)" || { echo "fuzz-ftl: clang not found"; exit 1; }
	$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -pthread \
	  -I$(top_srcdir)/plugin/ftl $(JSONC_CFLAGS) $(PCRE2_CFLAGS) \
	  $(addprefix $(top_srcdir)/,$(FTL_LIB_SRCS)) \
	  $(top_srcdir)/tests/fuzz/fuzz_ftl.c -o fuzz_ftl $(JSONC_LIBS) \
	  $(PCRE2_LIBS) -lm
	mkdir -p fuzz-ftl-corpus
	./fuzz_ftl -max_total_time=$(FUZZ_SECONDS) -max_len=4096 \
	  -timeout=10 -rss_limit_mb=1024 fuzz-ftl-corpus \
	  $(top_srcdir)/tests/fuzz/corpus-ftl
CLEANFILES += fuzz_ftl

# ---- benchmark (make bench): C vs Apache FreeMarker in one run, alternated
# on one pinned core (docs/benchmarks-ftl.md; knobs BENCH_REPS,
# FTL_BENCH_SECONDS, FTL_BENCH_CPU)
noinst_PROGRAMS += tests/bench/ftl_bench
tests_bench_ftl_bench_SOURCES = tests/bench/ftl_bench.c
tests_bench_ftl_bench_LDADD = plugin/ftl/libftl.la $(JSONC_LIBS) $(PCRE2_LIBS)
EXTRA_DIST += tests/bench/FtlBench.java tests/bench/ftl_bench.sh \
	tests/bench/ftl_bench.py
BENCH_TARGETS += bench-ftl
bench-ftl: tests/bench/ftl_bench$(EXEEXT)
	PYTHON3="$(PYTHON3)" $(SHELL) $(top_srcdir)/tests/bench/ftl_bench.sh \
	  $(top_builddir)/tests/bench/ftl_bench$(EXEEXT) $(asan_enabled)
.PHONY: fuzz-ftl bench-ftl

# ftl-fidelity: the FreeMarker test-suite runner (development tool)
EXTRA_DIST += tests/ftl/freemarker_suite.py
