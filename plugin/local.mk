# plugin: rules for this directory (included by the top Makefile.am)
#
# The Twilio connector: plugin/twilio.la (installed as twilio.so in
# $(connectordir)), built from a convenience library of its modules so the
# unit tests link the same objects. Exactly one exported symbol.

TW_PLUGIN_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE -I$(top_srcdir)/plugin $(CURL_CFLAGS) \
	$(MHD_CFLAGS) -DPACKAGE_VERSION='"$(PACKAGE_VERSION)"'
TW_PLUGIN_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

# The bytes on the wire (buffer, forms, base64, constant-time comparison):
# libc only, shared with the sandbox.
noinst_LTLIBRARIES += plugin/libtwwire.la
plugin_libtwwire_la_SOURCES = plugin/wire.c plugin/tw_wire.h
plugin_libtwwire_la_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE
plugin_libtwwire_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden

noinst_LTLIBRARIES += plugin/libtwcore.la
plugin_libtwcore_la_SOURCES = \
	plugin/config.c plugin/tw_config.h \
	plugin/errors.c plugin/tw_errors.h \
	plugin/loop.c plugin/tw_loop.h \
	plugin/mask.c plugin/tw_mask.h \
	plugin/recipients.c plugin/tw_recipients.h \
	plugin/response.c plugin/tw_response.h \
	plugin/sender.c plugin/tw_sender.h \
	plugin/send_sms.c plugin/tw_instance.h \
	plugin/webhook.c plugin/tw_webhook.h \
	plugin/inbound.c plugin/tw_inbound.h
plugin_libtwcore_la_CPPFLAGS = $(TW_PLUGIN_CPPFLAGS)
plugin_libtwcore_la_CFLAGS = $(TW_PLUGIN_CFLAGS)
plugin_libtwcore_la_LIBADD = plugin/ftl/libftl.la plugin/libtwsegments.la \
	plugin/libtwwire.la \
	$(CURL_LIBS) $(JSONC_LIBS) $(PCRE2_LIBS) $(CRYPTO_LIBS) $(MHD_LIBS)

connector_LTLIBRARIES += plugin/twilio.la
plugin_twilio_la_SOURCES = plugin/twilio.c
plugin_twilio_la_CPPFLAGS = $(TW_PLUGIN_CPPFLAGS)
plugin_twilio_la_CFLAGS = $(TW_PLUGIN_CFLAGS)
plugin_twilio_la_LDFLAGS = $(AM_LDFLAGS) -module -avoid-version -no-undefined \
	-Wl,-z,now -export-symbols-regex '^conn_plugin_get$$'
plugin_twilio_la_LIBADD = plugin/libtwcore.la \
	$(CURL_LIBS) $(JSONC_LIBS) $(PCRE2_LIBS) $(CRYPTO_LIBS) $(MHD_LIBS) \
	$(PTHREAD_LIBS)

# The same plugin reporting another version, for the hot-swap tests
# (tests/serve_swap.sh): a real shared object, never installed.
check_LTLIBRARIES += plugin/twilio-v2.la
plugin_twilio_v2_la_SOURCES = plugin/twilio.c
plugin_twilio_v2_la_CPPFLAGS = $(TW_PLUGIN_CPPFLAGS) \
	-DTW_VERSION='"$(PACKAGE_VERSION)-swap-v2"'
plugin_twilio_v2_la_CFLAGS = $(TW_PLUGIN_CFLAGS)
plugin_twilio_v2_la_LDFLAGS = $(plugin_twilio_la_LDFLAGS) -rpath /nowhere
plugin_twilio_v2_la_LIBADD = $(plugin_twilio_la_LIBADD)

# Unit tests, one per module.
TW_UNIT_LDADD = plugin/libtwcore.la $(CURL_LIBS) $(JSONC_LIBS) $(PCRE2_LIBS) \
	$(CRYPTO_LIBS) $(MHD_LIBS)
TW_UNIT_CPPFLAGS = $(TW_PLUGIN_CPPFLAGS) -I$(top_srcdir)/tests
TW_UNIT_TESTS = tests/plugin/test_recipients tests/plugin/test_wire tests/plugin/test_response \
	tests/plugin/test_config tests/plugin/test_mask tests/plugin/test_errors
check_PROGRAMS += $(TW_UNIT_TESTS)
TESTS += $(TW_UNIT_TESTS)
tests_plugin_test_recipients_SOURCES = tests/plugin/test_recipients.c
tests_plugin_test_recipients_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_recipients_LDADD = $(TW_UNIT_LDADD)
tests_plugin_test_wire_SOURCES = tests/plugin/test_wire.c
tests_plugin_test_wire_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_wire_LDADD = $(TW_UNIT_LDADD)
tests_plugin_test_response_SOURCES = tests/plugin/test_response.c
tests_plugin_test_response_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_response_LDADD = $(TW_UNIT_LDADD)
tests_plugin_test_config_SOURCES = tests/plugin/test_config.c
tests_plugin_test_config_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_config_LDADD = $(TW_UNIT_LDADD)
tests_plugin_test_mask_SOURCES = tests/plugin/test_mask.c
tests_plugin_test_mask_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_mask_LDADD = $(TW_UNIT_LDADD)
tests_plugin_test_errors_SOURCES = tests/plugin/test_errors.c
tests_plugin_test_errors_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_errors_LDADD = $(TW_UNIT_LDADD)

# The plugin through its vtable, with a fake host in the test (no network
# needed: validation, dry run, template errors, refusals, lifecycle).
check_PROGRAMS += tests/plugin/test_twilio
TESTS += tests/plugin/test_twilio
tests_plugin_test_twilio_SOURCES = tests/plugin/test_twilio.c tests/fake_host.c \
	tests/fake_host.h
tests_plugin_test_twilio_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_twilio_LDADD = $(JSONC_LIBS) $(LIBS)

# The send_sms path and the instance lifecycle with the plugin linked in
# (ASan sees every access): dry run, claims, input errors, shutdown racing
# invoke_action.
check_PROGRAMS += tests/plugin/test_send_sms
TESTS += tests/plugin/test_send_sms
tests_plugin_test_send_sms_SOURCES = tests/plugin/test_send_sms.c plugin/twilio.c \
	tests/fake_host.c tests/fake_host.h
tests_plugin_test_send_sms_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_send_sms_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)

# Fuzz targets: replayed over their committed corpus in `make check`;
# `make fuzz-plugin` builds libFuzzer binaries with clang.
TW_FUZZ = tests/fuzz/fuzz_recipients tests/fuzz/fuzz_twilio_response \
	tests/fuzz/fuzz_send_sms
check_PROGRAMS += $(TW_FUZZ)
TESTS += $(TW_FUZZ)
tests_fuzz_fuzz_recipients_SOURCES = tests/fuzz/fuzz_recipients.c \
	tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_recipients_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_recipients_LDADD = $(TW_UNIT_LDADD)
tests_fuzz_fuzz_twilio_response_SOURCES = \
	tests/fuzz/fuzz_twilio_response.c tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_twilio_response_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_twilio_response_LDADD = $(TW_UNIT_LDADD)
# the whole send_sms path, the plugin linked in (see the file's header)
tests_fuzz_fuzz_send_sms_SOURCES = tests/fuzz/fuzz_send_sms.c \
	tests/fuzz/fuzz_replay.h plugin/twilio.c tests/fake_host.c \
	tests/fake_host.h
tests_fuzz_fuzz_send_sms_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_send_sms_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/recipients tests/fuzz/corpus/twilio_response \
	tests/fuzz/corpus/send_sms

# every source of the plugin, for the whole-path target
TW_FUZZ_SEND_SMS_SRCS = plugin/twilio.c plugin/segments.c plugin/wire.c \
	$(filter %.c,$(plugin_libtwcore_la_SOURCES)) \
	$(filter %.c,$(plugin_libtwsig_la_SOURCES)) \
	$(filter %.c,$(plugin_ftl_libftl_la_SOURCES))
TW_FUZZ_FLAGS = -g -O1 -fsanitize=fuzzer,address,undefined -DTW_LIBFUZZER \
	-D_GNU_SOURCE -I$(top_srcdir)/host-api -I$(top_srcdir)/plugin \
	-I$(top_builddir) $(JSONC_CFLAGS)
fuzz-plugin:
	@test -n "$(CLANG)" || { echo "fuzz-plugin: clang not found"; exit 1; }
	$(MKDIR_P) tests/fuzz
	$(CLANG) $(TW_FUZZ_FLAGS) -o tests/fuzz/fuzz_recipients-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_recipients.c \
	  $(top_srcdir)/plugin/recipients.c $(top_srcdir)/plugin/errors.c \
	  $(top_srcdir)/plugin/wire.c $(JSONC_LIBS)
	$(CLANG) $(TW_FUZZ_FLAGS) -o tests/fuzz/fuzz_twilio_response-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_twilio_response.c \
	  $(top_srcdir)/plugin/response.c $(top_srcdir)/plugin/errors.c \
	  $(JSONC_LIBS)
	$(CLANG) $(TW_FUZZ_FLAGS) -pthread $(CURL_CFLAGS) $(MHD_CFLAGS) \
	  -DPACKAGE_VERSION='"$(PACKAGE_VERSION)"' \
	  -o tests/fuzz/fuzz_send_sms-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_send_sms.c $(top_srcdir)/tests/fake_host.c \
	  -I$(top_srcdir)/tests \
	  $(addprefix $(top_srcdir)/,$(TW_FUZZ_SEND_SMS_SRCS)) \
	  $(CURL_LIBS) $(PCRE2_LIBS) $(CRYPTO_LIBS) $(MHD_LIBS) $(JSONC_LIBS) -lm
	@echo "run: tests/fuzz/fuzz_recipients-libfuzzer $(top_srcdir)/tests/fuzz/corpus/recipients"
	@echo "run: tests/fuzz/fuzz_twilio_response-libfuzzer $(top_srcdir)/tests/fuzz/corpus/twilio_response"
	@echo "run: tests/fuzz/fuzz_send_sms-libfuzzer -max_len=4096 -timeout=10 NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/send_sms"
CLEANFILES += tests/fuzz/fuzz_recipients-libfuzzer \
	tests/fuzz/fuzz_twilio_response-libfuzzer \
	tests/fuzz/fuzz_send_sms-libfuzzer
.PHONY: fuzz-plugin

# The event loop (plugin/loop.c): file events, timers, wake-ups from
# another thread, removal inside a callback.
check_PROGRAMS += tests/plugin/test_loop
TESTS += tests/plugin/test_loop
tests_plugin_test_loop_SOURCES = tests/plugin/test_loop.c
tests_plugin_test_loop_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_loop_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)

# End-to-end: connector-host + twilio-sandbox over real sockets.
TW_E2E = tests/send_sms_symbols.sh tests/send_sms_basic.sh \
	tests/send_sms_faults.sh tests/send_sms_scale.sh \
	tests/send_sms_idempotency.sh tests/send_sms_tls.sh \
	tests/send_sms_retry.sh tests/send_sms_account.sh
TESTS += $(TW_E2E)
EXTRA_DIST += $(TW_E2E) tests/send_sms_lib.sh

# number_webhook (connector-host twilio-webhook): compare or set a number's
# SMS webhook through the sender
plugin_libtwcore_la_SOURCES += plugin/numbers.c plugin/tw_numbers.h

# Twilio's request signature (X-Twilio-Signature), both sides: the plugin's
# webhook verifies, the sandbox's `inbound` command signs. libcrypto's HMAC.
# It uses libtwwire.la but does not LIBADD it: a convenience library inside
# another is copied in, so libtwcore (which has libtwwire) would hold it
# twice; whoever links libtwsig links libtwwire too.
noinst_LTLIBRARIES += plugin/libtwsig.la
plugin_libtwsig_la_SOURCES = plugin/signature.c plugin/tw_signature.h
plugin_libtwsig_la_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE $(CRYPTO_CFLAGS)
plugin_libtwsig_la_CFLAGS = $(AM_CFLAGS) -fvisibility=hidden
# (libtwwire.la not added here: libtwcore.la has it, and a convenience
# library inside two others is linked twice: duplicate symbols)
plugin_libtwsig_la_LIBADD = $(CRYPTO_LIBS)
plugin_libtwcore_la_LIBADD += plugin/libtwsig.la

check_PROGRAMS += tests/plugin/test_signature
TESTS += tests/plugin/test_signature
tests_plugin_test_signature_SOURCES = tests/plugin/test_signature.c
tests_plugin_test_signature_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_signature_LDADD = $(TW_UNIT_LDADD)
TESTS += tests/twilio_webhook.sh
dist_noinst_SCRIPTS += tests/twilio_webhook.sh

# Interop with Twilio's helper libraries (python3-twilio, npm twilio):
# tests/sig_tool is the command line over signature.c that the script drives.
check_PROGRAMS += tests/sig_tool
tests_sig_tool_SOURCES = tests/sig_tool.c
tests_sig_tool_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_sig_tool_LDADD = $(TW_UNIT_LDADD)
TESTS += tests/signature_interop.sh
EXTRA_DIST += tests/signature_interop.sh

# Fuzz targets of the inbound path's parsers: the form parser (strict and
# lenient) and the signature base string / verification; corpora replayed
# in `make check`; `make fuzz-sig` builds the libFuzzer binaries.
TW_SIG_FUZZ = tests/fuzz/fuzz_form tests/fuzz/fuzz_signature
check_PROGRAMS += $(TW_SIG_FUZZ)
TESTS += $(TW_SIG_FUZZ)
tests_fuzz_fuzz_form_SOURCES = tests/fuzz/fuzz_form.c tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_form_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_form_LDADD = $(TW_UNIT_LDADD)
tests_fuzz_fuzz_signature_SOURCES = tests/fuzz/fuzz_signature.c \
	tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_signature_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_signature_LDADD = $(TW_UNIT_LDADD)
EXTRA_DIST += tests/fuzz/corpus/form tests/fuzz/corpus/signature
fuzz-sig:
	@test -n "$(CLANG)" || { echo "fuzz-sig: clang not found"; exit 1; }
	$(MKDIR_P) tests/fuzz
	$(CLANG) $(TW_FUZZ_FLAGS) -o tests/fuzz/fuzz_form-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_form.c $(top_srcdir)/plugin/wire.c
	$(CLANG) $(TW_FUZZ_FLAGS) -o tests/fuzz/fuzz_signature-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_signature.c \
	  $(top_srcdir)/plugin/signature.c $(top_srcdir)/plugin/wire.c \
	  $(CRYPTO_LIBS)
	@echo "run: tests/fuzz/fuzz_form-libfuzzer NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/form"
	@echo "run: tests/fuzz/fuzz_signature-libfuzzer -max_len=4096 NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/signature"
CLEANFILES += tests/fuzz/fuzz_form-libfuzzer \
	tests/fuzz/fuzz_signature-libfuzzer
.PHONY: fuzz-sig

# The SMS_RECEIVED webhook over real sockets (connector-host listen).
TESTS += tests/webhook_http.sh
EXTRA_DIST += tests/webhook_http.sh tests/webhook_client.py

# SMS_RECEIVED's engine (plugin/inbound.c) against a fake host in the test:
# matching, dedupe, publish deadlines, replies, unsubscribe under traffic.
check_PROGRAMS += tests/plugin/test_inbound
TESTS += tests/plugin/test_inbound
tests_plugin_test_inbound_SOURCES = tests/plugin/test_inbound.c
tests_plugin_test_inbound_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_inbound_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)

# SMS_RECEIVED params and messages (plugin/inbound.c): replayed over its
# corpus in `make check`; `make fuzz-plugin` also builds the libFuzzer
# binary (through fuzz-inbound, a prerequisite, so the recipe above stays
# as it is).
check_PROGRAMS += tests/fuzz/fuzz_subscribe_params
TESTS += tests/fuzz/fuzz_subscribe_params
tests_fuzz_fuzz_subscribe_params_SOURCES = \
	tests/fuzz/fuzz_subscribe_params.c tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_subscribe_params_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_subscribe_params_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/subscribe_params
fuzz-plugin: fuzz-inbound
fuzz-inbound:
	@test -n "$(CLANG)" || { echo "fuzz-inbound: clang not found"; exit 1; }
	$(MKDIR_P) tests/fuzz
	$(CLANG) $(TW_FUZZ_FLAGS) -pthread \
	  -o tests/fuzz/fuzz_subscribe_params-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_subscribe_params.c \
	  $(top_srcdir)/plugin/inbound.c $(top_srcdir)/plugin/mask.c \
	  $(top_srcdir)/plugin/wire.c \
	  $(addprefix $(top_srcdir)/,$(filter %.c,$(plugin_ftl_libftl_la_SOURCES))) \
	  $(PCRE2_LIBS) $(JSONC_LIBS) -lm
	@echo "run: tests/fuzz/fuzz_subscribe_params-libfuzzer -max_len=4096 -timeout=10 NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/subscribe_params"
CLEANFILES += tests/fuzz/fuzz_subscribe_params-libfuzzer
.PHONY: fuzz-inbound

# The webhook's whole request path without sockets (head checks, body
# decoding, signature, the inbound handler): replayed over its corpus in
# `make check`; `make fuzz-plugin` also builds the libFuzzer binary.
check_PROGRAMS += tests/fuzz/fuzz_webhook
TESTS += tests/fuzz/fuzz_webhook
tests_fuzz_fuzz_webhook_SOURCES = tests/fuzz/fuzz_webhook.c \
	tests/fuzz/fuzz_replay.h
tests_fuzz_fuzz_webhook_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_fuzz_fuzz_webhook_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)
EXTRA_DIST += tests/fuzz/corpus/webhook
fuzz-plugin: fuzz-webhook
fuzz-webhook:
	@test -n "$(CLANG)" || { echo "fuzz-webhook: clang not found"; exit 1; }
	$(MKDIR_P) tests/fuzz
	$(CLANG) $(TW_FUZZ_FLAGS) -pthread $(MHD_CFLAGS) \
	  -o tests/fuzz/fuzz_webhook-libfuzzer \
	  $(top_srcdir)/tests/fuzz/fuzz_webhook.c \
	  $(top_srcdir)/plugin/webhook.c $(top_srcdir)/plugin/inbound.c \
	  $(top_srcdir)/plugin/signature.c $(top_srcdir)/plugin/config.c \
	  $(top_srcdir)/plugin/mask.c $(top_srcdir)/plugin/wire.c \
	  $(top_srcdir)/plugin/loop.c \
	  $(addprefix $(top_srcdir)/,$(filter %.c,$(plugin_ftl_libftl_la_SOURCES))) \
	  $(MHD_LIBS) $(PCRE2_LIBS) $(CRYPTO_LIBS) $(JSONC_LIBS) -lm
	@echo "run: tests/fuzz/fuzz_webhook-libfuzzer -max_len=4096 -timeout=10 NEW-CORPUS-DIR $(top_srcdir)/tests/fuzz/corpus/webhook"
CLEANFILES += tests/fuzz/fuzz_webhook-libfuzzer
.PHONY: fuzz-webhook

# The webhook through the vtable with a fake host: port from stats, a held
# publish does not stall another connection, quiesce/start/resume hand the
# listening socket over, shutdown with a publish in flight.
check_PROGRAMS += tests/plugin/test_webhook
TESTS += tests/plugin/test_webhook
tests_plugin_test_webhook_SOURCES = tests/plugin/test_webhook.c plugin/twilio.c
tests_plugin_test_webhook_CPPFLAGS = $(TW_UNIT_CPPFLAGS)
tests_plugin_test_webhook_LDADD = $(TW_UNIT_LDADD) $(PTHREAD_LIBS)

# the order-number scenario end to end (serve + twilio.so + the sandbox)
TESTS += tests/order_number.sh
dist_noinst_SCRIPTS += tests/order_number.sh

# Hot swap in connector-host serve: twilio.so replaced by twilio-v2.so
# under a stream of webhooks, SIGHUP, a broken file (docs/deployment.md).
TESTS += tests/serve_swap.sh
dist_noinst_SCRIPTS += tests/serve_swap.sh

# twilio.so loaded through libconnhost's loader, swapped on the webhook's
# hand-off and unloaded again and again: descriptors close-on-exec, plugin
# threads without asynchronous signals, no growth in descriptors, threads
# or mappings, nothing of the plugin left mapped (issue #11). 50 swaps in
# make check; `make soak-unload` runs 1,000 (TW_UNLOAD_CYCLES).
check_PROGRAMS += tests/host/test_unload
TESTS += tests/host/test_unload
tests_host_test_unload_SOURCES = tests/host/test_unload.c
tests_host_test_unload_CPPFLAGS = $(AM_CPPFLAGS) -D_GNU_SOURCE \
	-I$(top_srcdir)/plugin
tests_host_test_unload_LDADD = host-api/libconnhost.la plugin/libtwsig.la \
	plugin/libtwwire.la $(CRYPTO_LIBS) $(JSONC_LIBS) $(PTHREAD_LIBS)
EXTRA_tests_host_test_unload_DEPENDENCIES = plugin/twilio.la
soak-unload: tests/host/test_unload plugin/twilio.la
	top_builddir='$(abs_top_builddir)' TW_UNLOAD_CYCLES=1000 \
	  $(LIBTOOL) --mode=execute tests/host/test_unload
.PHONY: soak-unload
