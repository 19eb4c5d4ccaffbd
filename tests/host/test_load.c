/*
 * test_load.c - loading plugins (host-api/load.c): a distinct refusal for
 * every way a plugin can be wrong (each with its own bad plugin or file),
 * private copies (two loads of one path are two images; copies removed or
 * kept), strings copied before unload, a FIFO (as the path, as a .la's
 * dlname) or a directory refused at once, and 1,000 load/use/unload cycles
 * with no growth in open descriptors, mappings or RSS.
 */
#include <dirent.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "../plugins/hosttest.h"

static char err[1024];
static const char *copies;

static void refused(const char *path, int code, const char *want,
                    const char *name)
{
	connhost_plugin *p = (connhost_plugin *)1;
	int rc;

	err[0] = '\0';
	rc = connhost_plugin_load(path, NULL, &p, err, sizeof(err));
	is_int(code, rc, "%s: refused with %s", name, conn_strerror(code));
	ok(p == NULL, "%s: no handle", name);
	ok(strstr(err, want) != NULL, "%s: says '%s' (%s)", name, want, err);
}

static int count_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Copy SRC to DST; when MACHINE >= 0, patch e_machine to it. */
static int copy_patched(const char *src, const char *dst, int machine)
{
	static char buf[1 << 20];
	int in = open(src, O_RDONLY), out;
	ssize_t n = in >= 0 ? read(in, buf, sizeof(buf)) : -1;

	if (in >= 0)
		close(in);
	if (n < (ssize_t)sizeof(Elf64_Ehdr))
		return -1;
	if (machine >= 0) {
		uint16_t m = (uint16_t)machine;
		memcpy(buf + offsetof(Elf64_Ehdr, e_machine), &m, sizeof(m));
	}
	out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	if (out < 0 || write(out, buf, (size_t)n) != n)
		return -1;
	return close(out);
}

static void refusals(void)
{
	char path[4096], so[4096], bad[4096], want[160];
	const char *top = getenv("top_builddir");
	FILE *f;
	uint16_t m;

	refused("/nonexistent/plugin.so", CONN_ENOENT, "file missing",
	        "missing file");
	snprintf(bad, sizeof(bad), "%s/notelf.so", copies);
	f = fopen(bad, "w");
	fputs("this is a text file, not a shared object\n", f);
	fclose(f);
	refused(bad, CONN_EINVAL,
	        "not an ELF shared object for this machine: not an ELF file",
	        "text file");
	unlink(bad);

	snprintf(so, sizeof(so), "%s/tests/plugins/.libs/fake-v1.so",
	         top && *top ? top : ".");
	snprintf(bad, sizeof(bad), "%s/othermachine.so", copies);
	{
		int fd = open(so, O_RDONLY);
		Elf64_Ehdr h;
		ok(fd >= 0 && read(fd, &h, sizeof(h)) == sizeof(h),
		   "read the header of %s", so);
		if (fd >= 0)
			close(fd);
		m = h.e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
	}
	ok(copy_patched(so, bad, m) == 0, "a copy of fake-v1.so for machine %u",
	   m);
	refused(bad, CONN_EINVAL, "built for another machine (e_machine)",
	        "ELF for another machine");
	unlink(bad);

	refused(ht_plugin("bad-unresolved", path, sizeof(path)), CONN_EABI,
	        "unresolved symbol 'conn_fake_missing_function'",
	        "unresolved symbol");
	refused(ht_plugin("bad-noentry", path, sizeof(path)), CONN_EABI,
	        "no entry symbol 'conn_plugin_get'", "no entry symbol");
	refused(ht_plugin("bad-nullentry", path, sizeof(path)), CONN_EABI,
	        "conn_plugin_get() returned NULL", "entry returns NULL");
	refused(ht_plugin("bad-major", path, sizeof(path)), CONN_EABI,
	        "ABI major 2, this host speaks major 1", "wrong major");
	snprintf(want, sizeof(want),
	         "ABI minor %d is newer than this host's %d.%d",
	         CONN_ABI_MINOR + 1, CONN_ABI_MAJOR, CONN_ABI_MINOR);
	refused(ht_plugin("bad-minor", path, sizeof(path)), CONN_EABI, want,
	        "newer minor");
	refused(ht_plugin("bad-small", path, sizeof(path)), CONN_EABI,
	        "struct too small (struct_size 16", "struct too small");
	snprintf(want, sizeof(want),
	         "struct too small (struct_size %zu, ABI 1.1 requires %zu)",
	         CONN_PLUGIN_SIZE_1_0, CONN_PLUGIN_SIZE_1_1);
	refused(ht_plugin("bad-small11", path, sizeof(path)), CONN_EABI, want,
	        "a 1.1 table of 1.0's size");
	refused(ht_plugin("bad-nullslot", path, sizeof(path)), CONN_EABI,
	        "mandatory slot 'init' is NULL", "mandatory slot NULL");
	is_int(0, count_dir(copies), "refused plugins leave no copy behind");
}

/* Load PATH in a child with an alarm, so that a loader blocking on a
 * FIFO fails the test (killed by SIGALRM) instead of hanging it. The
 * child exits 0 when the load was refused with CODE and a message
 * holding WANT. */
static int load_in_child(const char *path, int code, const char *want)
{
	pid_t pid = fork();
	int st;

	if (pid == 0) {
		connhost_plugin *p = NULL;
		int rc;
		alarm(10);
		err[0] = '\0';
		rc = connhost_plugin_load(path, NULL, &p, err, sizeof(err));
		if (rc != code || !strstr(err, want))
			fprintf(stderr, "# rc %d: %s\n", rc, err);
		_exit(rc == code && p == NULL && strstr(err, want) ? 0 : 1);
	}
	if (pid < 0 || waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* Issue 8, item 10: the loader hung on a FIFO named by a .la file. */
static void fifos(void)
{
	char dir[4096], libs[4200], fifo[4300], la[4300], want[4500];
	FILE *f;

	snprintf(dir, sizeof(dir), "%s/fifo", copies);
	snprintf(libs, sizeof(libs), "%s/.libs", dir);
	snprintf(fifo, sizeof(fifo), "%s/fifo.so", libs);
	snprintf(la, sizeof(la), "%s/fifo.la", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(libs, 0700) != 0 ||
	    mkfifo(fifo, 0600) != 0) {
		ok(0, "a FIFO in %s", libs);
		return;
	}
	snprintf(want, sizeof(want),
	         "%s is a FIFO (named pipe), not a regular file", fifo);
	is_int(0, load_in_child(fifo, CONN_EINVAL, want),
	       "a FIFO as the plugin path is refused at once, naming it");
	f = fopen(la, "w");
	fputs("# a libtool archive\ndlname='fifo.so'\n", f);
	fclose(f);
	is_int(0, load_in_child(la, CONN_EINVAL, want),
	       "a FIFO as the .la's dlname is refused at once, naming it");
	unlink(la);
	f = fopen(la, "w");
	fputs("dlname='../../etc/passwd'\n", f);
	fclose(f);
	is_int(0, load_in_child(la, CONN_EINVAL, "names no shared object"),
	       "a dlname with a '/' is refused");
	unlink(la);
	if (mkfifo(la, 0600) == 0) {
		snprintf(want, sizeof(want),
		         "%s is a FIFO (named pipe), not a regular file", la);
		is_int(0, load_in_child(la, CONN_EINVAL, want),
		       "a FIFO as the .la itself is refused at once");
		unlink(la);
	}
	snprintf(want, sizeof(want), "%s is a directory, not a regular file",
	         dir);
	is_int(0, load_in_child(dir, CONN_EINVAL, want),
	       "a directory is refused, naming it");
	unlink(fifo);
	rmdir(libs);
	rmdir(dir);
}

static int mapped(const char *needle)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[8192];
	int n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	if (f)
		fclose(f);
	return n;
}

static void copies_and_strings(void)
{
	char path[4096], so[4096], copy[4096];
	connhost_plugin *a, *b;
	connhost_load_opts o = {.struct_size = sizeof(o), .keep_copies = 0};
	const char *top = getenv("top_builddir");
	struct stat st;
	int rc;

	ht_plugin("fake-v1", path, sizeof(path));
	rc = connhost_plugin_load(path, &o, &a, err, sizeof(err));
	is_int(0, rc, "load fake-v1 (%s)", rc ? err : "");
	if (rc)
		return;
	snprintf(so, sizeof(so), "%s/tests/plugins/.libs/fake-v1.so",
	         top && *top ? top : ".");
	rc = connhost_plugin_load(so, &o, &b, err, sizeof(err));
	is_int(0, rc, "load the same plugin again, by its .so path");
	if (rc)
		return;
	ok(connhost_plugin_table(a)->describe !=
	           connhost_plugin_table(b)->describe,
	   "two loads are two images (private copies)");
	is_int(CONN_ABI_MINOR, connhost_plugin_table(a)->abi_minor,
	       "the plugin speaks this host's minor (asked with it)");
	is_int((long)CONN_PLUGIN_SIZE_1_1,
	       (long)connhost_plugin_table(a)->struct_size,
	       "the host's copy says 1.1's size");
	is_str("fake", connhost_plugin_name(a), "name copied");
	is_str("1.0.0", connhost_plugin_version(a), "version copied");
	ok(connhost_plugin_describe_text(a) !=
	           connhost_plugin_table(a)->describe(),
	   "describe() text is the host's copy");
	is_str(connhost_plugin_table(a)->describe(),
	       connhost_plugin_describe_text(a), "with the same text");
	ok(json_object_object_get_ex(connhost_plugin_definition(a), "actions",
	                             NULL),
	   "the definition is parsed");
	snprintf(copy, sizeof(copy), "%s", connhost_plugin_copy_path(a));
	ok(strncmp(copy, copies, strlen(copies)) == 0,
	   "the copy is in CONNHOST_COPY_DIR (%s)", copy);
	ok(stat(copy, &st) != 0 && errno == ENOENT,
	   "the copy is removed once mapped");
	ok(mapped(copy) > 0, "the copy is mapped");
	connhost_plugin_unref(b);
	connhost_plugin_ref(a);
	connhost_plugin_unref(a);
	ok(mapped(copy) > 0, "still mapped while referenced");
	connhost_plugin_unref(a);
	is_int(0, mapped(copy), "unmapped after the last unref");

	o.keep_copies = 1;
	rc = connhost_plugin_load(path, &o, &a, err, sizeof(err));
	is_int(0, rc, "load with keep_copies");
	snprintf(copy, sizeof(copy), "%s",
	         rc ? "" : connhost_plugin_copy_path(a));
	if (!rc)
		connhost_plugin_unref(a);
	ok(stat(copy, &st) == 0, "keep_copies: the copy stays on disk");
	unlink(copy);

	o.keep_copies = 0;
	o.copy_dir = "/nonexistent/dir";
	rc = connhost_plugin_load(path, &o, &a, err, sizeof(err));
	is_int(CONN_EIO, rc, "an unusable copy directory: EIO");
	ok(strstr(err, "cannot create a private copy in /nonexistent/dir") !=
	           NULL,
	   "naming it (%s)", err);
}

/* A library the plugin pulled in stays mapped after the plugin is gone,
 * and a second load does not map it again. */
static void pinning(void)
{
	char path[4096];
	connhost_plugin *p;
	long before, after, again;
	int rc;

	before = mapped("libpcre2-8");
	ok(before == 0, "libpcre2-8 is not mapped before the load");
	rc = connhost_plugin_load(ht_plugin("pin", path, sizeof(path)), NULL,
	                          &p, err, sizeof(err));
	is_int(0, rc, "load pin.la (links libpcre2-8) (%s)", rc ? err : "");
	if (rc)
		return;
	ok(mapped("libpcre2-8") > 0, "libpcre2-8 is mapped with it");
	connhost_plugin_unref(p);
	after = mapped("libpcre2-8");
	ok(after > 0, "libpcre2-8 stays mapped after the unload (pinned)");
	rc = connhost_plugin_load(path, NULL, &p, err, sizeof(err));
	if (!rc)
		connhost_plugin_unref(p);
	again = mapped("libpcre2-8");
	is_int(after, again, "a second load and unload maps it no more");
}

static void *load_loop(void *arg)
{
	const char *path = arg;
	char e[512];
	intptr_t bad = 0;
	int i;

	for (i = 0; i < 10; i++) {
		connhost_plugin *p;
		if (connhost_plugin_load(path, NULL, &p, e, sizeof(e)) != 0)
			bad++;
		else
			connhost_plugin_unref(p);
	}
	return (void *)bad;
}

/* Loads and unloads from several threads at once (libltdl is not
 * thread-safe: libconnhost serialises it). */
static void concurrent(void)
{
	char path[4096];
	pthread_t th[4];
	intptr_t bad = 0;
	void *r;
	int i;

	ht_plugin("fake-v2", path, sizeof(path));
	for (i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, load_loop, path);
	for (i = 0; i < 4; i++) {
		pthread_join(th[i], &r);
		bad += (intptr_t)r;
	}
	is_int(0, bad, "40 loads and unloads from 4 threads at once");
}

static long count_fds(void)
{
	return count_dir("/proc/self/fd");
}

/* Lines of /proc/self/maps; FILES: only those backed by a file. */
static long count_maps(int files)
{
	FILE *f = fopen("/proc/self/maps", "r");
	char line[8192];
	long n = 0;

	while (f && fgets(line, sizeof(line), f))
		if (!files || strchr(line, '/'))
			n++;
	if (f)
		fclose(f);
	return n;
}

static long rss_kib(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	long size = 0, res = 0;

	if (f) {
		if (fscanf(f, "%ld %ld", &size, &res) != 2)
			res = 0;
		fclose(f);
	}
	return res * (sysconf(_SC_PAGESIZE) / 1024);
}

/* One load, instance, call, shutdown, unload. 0 when all went well. */
static int cycle(const char *path)
{
	connhost_plugin *p;
	connhost_instance *inst;
	json_object *cfg = ht_config("cycle"), *in, *out = NULL;
	int rc;

	rc = connhost_plugin_load(path, NULL, &p, err, sizeof(err));
	if (rc) {
		json_object_put(cfg);
		return rc;
	}
	rc = connhost_instance_new(p, cfg, NULL, &inst, err, sizeof(err));
	json_object_put(cfg);
	if (!rc) {
		rc = connhost_instance_start(inst, err, sizeof(err));
		in = json_object_new_object();
		if (!rc)
			rc = connhost_invoke_sync(inst, "echo", in, NULL, NULL,
			                          0, &out, err, sizeof(err));
		json_object_put(in);
		json_object_put(out);
		if (connhost_instance_shutdown(inst, conn_now_ms() + 5000))
			rc = -100;
	}
	connhost_plugin_unref(p);
	return rc;
}

static void cycles(void)
{
	char path[4096];
	int n = ht_slow() ? 100 : 1000, i, bad = 0;
	long fds0, maps0, files0, rss0, th0, fds1, maps1, files1, rss1, th1;
	int tool = ht_slow();

	if (n < 1000)
		diag("valgrind or ASan: %d load/unload cycles instead of 1000",
		     n);
	ht_plugin("fake-v1", path, sizeof(path));
	for (i = 0; i < 10; i++) /* warm up: arenas, caches, libltdl */
		bad += cycle(path) != 0;
	fds0 = count_fds();
	maps0 = count_maps(0);
	files0 = count_maps(1);
	th0 = count_dir("/proc/self/task");
	rss0 = rss_kib();
	for (i = 0; i < n; i++)
		bad += cycle(path) != 0;
	fds1 = count_fds();
	maps1 = count_maps(0);
	files1 = count_maps(1);
	th1 = count_dir("/proc/self/task");
	rss1 = rss_kib();
	is_int(0, bad, "%d cycles of load, start, echo, shutdown, unload", n);
	diag("fds %ld -> %ld, threads %ld -> %ld, mappings %ld -> %ld "
	     "(file-backed %ld -> %ld), RSS %ld -> %ld KiB",
	     fds0, fds1, th0, th1, maps0, maps1, files0, files1, rss0, rss1);
	is_int(fds0, fds1, "no open file descriptor left behind");
	is_int(th0, th1, "no thread left behind");
	is_int(files0, files1,
	       "no file mapping left behind (plugin unmapped, "
	       "its libraries loaded once)");
	/* valgrind's and ASan's own allocators map memory as they go; under
	 * them only the file-backed mappings, threads and fds are exact. */
	if (tool) {
		ok(1, "# SKIP all mappings: valgrind/ASan map memory of their "
		      "own");
		ok(1, "# SKIP RSS: valgrind/ASan keep freed memory");
	} else {
		ok(maps1 <= maps0, "no mapping left behind (%ld -> %ld)", maps0,
		   maps1);
		ok(rss1 - rss0 < 1024, "RSS grew less than 1 MiB (%ld KiB)",
		   rss1 - rss0);
	}
	is_int(0, count_dir(copies), "no private copy left on disk");
}

int main(void)
{
	copies = ht_copy_dir("test_load");
	ok(copies != NULL, "a private copy directory");
	if (!copies)
		return done_testing();
	unsetenv("CONNHOST_KEEP_COPIES");
	refusals();
	fifos();
	copies_and_strings();
	pinning();
	concurrent();
	cycles();
	rmdir(copies);
	return done_testing();
}
