# tests/bench: benchmarks (make bench) and interop checks (included by the top Makefile.am)
