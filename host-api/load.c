/*
 * load.c - loading, checking and unloading plugins (connhost_plugin).
 *
 * Owns the loaded image (an lt_dlhandle on a private copy of the file),
 * the host-side copy of the plugin's table and of its strings, and the one
 * global thing libconnhost has: the mutex that serialises every lt_* call
 * (libltdl keeps global state of its own and is not thread-safe).
 *
 * Why a private copy: glibc (and libltdl on top of it) hands back the image
 * already loaded from the same path or inode, so reloading a changed file
 * at the same path would silently reuse the old code, and the copy also
 * lets the original be replaced on disk while it runs.
 * Why the preflight dlopen(RTLD_NOW): libltdl collapses errors into
 * "file not found"; dlerror() of a direct dlopen names the unresolved
 * symbol, and RTLD_NOW refuses it at load instead of at the first call.
 * Why pinning: the libraries a plugin pulls in (libcurl, OpenSSL, PCRE2)
 * keep global state and detached threads; unloading them with the plugin
 * would crash the process, so they get RTLD_NODELETE and only the
 * plugin's own image is unmapped.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <ltdl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "connhost-int.h"

#define LA_MAX_BYTES (64 * 1024)

struct connhost_plugin {
	int refs; /* atomic */
	lt_dlhandle handle;
	conn_plugin table; /* host copy; slots past the plugin's size NULL */
	char *name, *version, *describe_text;
	json_object *definition;
	char *copy_path;
	int keep;
};

/* The one lock libltdl forces on us (see connhost.h). */
static pthread_mutex_t lt_lock = PTHREAD_MUTEX_INITIALIZER;

/* ---------------------------------------------------------------------- */
/* Path resolution and the ELF check                                       */
/* ---------------------------------------------------------------------- */

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Open FILE for reading without blocking (a FIFO would block open() and
 * read() for ever) and check, on the descriptor, that it is a regular
 * file. SHOWN names the plugin in messages. Returns the descriptor, with
 * its stat in *ST; or a negative CONN_E* code with ERR filled
 * (CONN_ENOENT when FILE does not exist).
 */
static int open_regular(const char *shown, const char *file, struct stat *st,
                        char *err, size_t errlen)
{
	int fd = connhost__open_regular(file, st);
	int e = errno;

	if (fd == -2) {
		connhost__err(err, errlen,
		              "plugin %s refused: %s is %s, not a regular file",
		              shown, file, connhost__file_kind(st->st_mode));
		return CONN_EINVAL;
	}
	if (fd < 0) {
		connhost__err(err, errlen, "plugin %s refused: %s %s (%s)",
		              shown,
		              e == ENOENT ? "file missing:" : "cannot read",
		              file, strerror(e));
		return e == ENOENT ? CONN_ENOENT : CONN_EIO;
	}
	return fd;
}

/* The value of dlname='...' in the libtool archive read from FD (at most
 * LA_MAX_BYTES); *OUT malloc'd, NULL when absent. */
static int la_dlname(int fd, char **out)
{
	char *text = malloc(LA_MAX_BYTES + 1), *p;
	size_t n = 0;
	ssize_t r;

	*out = NULL;
	if (!text)
		return CONN_ENOMEM;
	while (n < LA_MAX_BYTES &&
	       (r = read(fd, text + n, LA_MAX_BYTES - n)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(text);
			return CONN_EIO;
		}
		n += (size_t)r;
	}
	text[n] = '\0';
	for (p = text; p && *p;
	     p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, "dlname='", 8) == 0) {
			char *end = strpbrk(p + 8, "'\n");
			if (end && *end == '\'')
				*out = strndup(p + 8, (size_t)(end - (p + 8)));
			break;
		}
	}
	free(text);
	return 0;
}

/*
 * The shared object the libtool archive at PATH (open as LA_FD) names:
 * dir/.libs/DLNAME or dir/DLNAME, opened as by open_regular(). Returns
 * its descriptor and its path in *OUT (malloc'd), or a negative code.
 */
static int resolve_la(const char *path, int la_fd, char **out, struct stat *st,
                      char *err, size_t errlen)
{
	char *dlname = NULL, *dir, *slash, *cand = NULL;
	int i, fd = CONN_ENOENT, rc;

	rc = la_dlname(la_fd, &dlname);
	if (rc) {
		connhost__err(err, errlen, "plugin %s refused: cannot read it",
		              path);
		return rc;
	}
	if (!dlname || !dlname[0] || strchr(dlname, '/')) {
		free(dlname);
		connhost__err(
		        err, errlen,
		        "plugin %s refused: libtool archive names no shared "
		        "object (dlname)",
		        path);
		return CONN_EINVAL;
	}
	dir = strdup(path);
	if (!dir) {
		free(dlname);
		return CONN_ENOMEM;
	}
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	else
		strcpy(dir, ".");
	for (i = 0; i < 2 && fd == CONN_ENOENT; i++) {
		size_t n = strlen(dir) + strlen(dlname) + 8;
		free(cand);
		cand = malloc(n);
		if (!cand) {
			fd = CONN_ENOMEM;
			break;
		}
		snprintf(cand, n, "%s/%s%s", dir, i == 0 ? ".libs/" : "",
		         dlname);
		fd = open_regular(path, cand, st, err, errlen);
	}
	free(dir);
	free(dlname);
	if (fd == CONN_ENOENT)
		connhost__err(
		        err, errlen,
		        "plugin %s refused: file missing (the shared object "
		        "the libtool archive names was not found)",
		        path);
	if (fd < 0) {
		free(cand);
		return fd;
	}
	*out = cand;
	return fd;
}

#if defined(__x86_64__)
#define HOST_EM EM_X86_64
#elif defined(__i386__)
#define HOST_EM EM_386
#elif defined(__aarch64__)
#define HOST_EM EM_AARCH64
#elif defined(__arm__)
#define HOST_EM EM_ARM
#elif defined(__riscv)
#define HOST_EM EM_RISCV
#elif defined(__powerpc64__)
#define HOST_EM EM_PPC64
#elif defined(__powerpc__)
#define HOST_EM EM_PPC
#elif defined(__s390x__)
#define HOST_EM EM_S390
#elif defined(__mips__)
#define HOST_EM EM_MIPS
#endif

#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define HOST_DATA ELFDATA2LSB
#else
#define HOST_DATA ELFDATA2MSB
#endif

#if UINTPTR_MAX > 0xffffffffu
#define HOST_CLASS ELFCLASS64
#else
#define HOST_CLASS ELFCLASS32
#endif

/* e_type and e_machine of an ELF header in host byte order. */
static int read_ehdr(int fd, unsigned char ident[EI_NIDENT], unsigned *type,
                     unsigned *machine)
{
	union {
		Elf32_Ehdr e32;
		Elf64_Ehdr e64;
	} h;
	ssize_t n = pread(fd, &h, sizeof(h), 0);

	if (n < (ssize_t)sizeof(Elf32_Ehdr))
		return -1;
	memcpy(ident, h.e32.e_ident, EI_NIDENT);
	if (memcmp(ident, ELFMAG, SELFMAG) != 0)
		return -1;
	if (ident[EI_CLASS] == ELFCLASS64 && n >= (ssize_t)sizeof(Elf64_Ehdr)) {
		*type = h.e64.e_type;
		*machine = h.e64.e_machine;
	} else {
		*type = h.e32.e_type;
		*machine = h.e32.e_machine;
	}
	return 0;
}

static unsigned host_machine(void)
{
#ifdef HOST_EM
	return HOST_EM;
#else
	unsigned char ident[EI_NIDENT];
	unsigned type = 0, machine = 0;
	int fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read_ehdr(fd, ident, &type, &machine) != 0)
			machine = 0;
		close(fd);
	}
	return machine;
#endif
}

static int check_elf(const char *shown, int fd, char *err, size_t errlen)
{
	unsigned char ident[EI_NIDENT];
	unsigned type = 0, machine = 0;
	const char *why = NULL;

	if (read_ehdr(fd, ident, &type, &machine) != 0)
		why = "not an ELF file";
	else if (ident[EI_CLASS] != HOST_CLASS)
		why = "wrong ELF class (32/64-bit)";
	else if (ident[EI_DATA] != HOST_DATA)
		why = "wrong byte order";
	else if (machine != host_machine())
		why = "built for another machine (e_machine)";
	else if (type != ET_DYN)
		why = "not a shared object (e_type)";
	if (why) {
		connhost__err(err, errlen,
		              "plugin %s refused: not an ELF shared object for "
		              "this machine: %s",
		              shown, why);
		return CONN_EINVAL;
	}
	return 0;
}

/* ---------------------------------------------------------------------- */
/* The private copy                                                        */
/* ---------------------------------------------------------------------- */

static const char *copy_dir(const connhost_load_opts *opts)
{
	const char *d = opts ? opts->copy_dir : NULL;

	if (!d || !*d)
		d = getenv("CONNHOST_COPY_DIR");
	if (!d || !*d)
		d = getenv("XDG_RUNTIME_DIR");
	if (!d || !*d)
		d = "/var/tmp";
	return d;
}

static int keep_copies(const connhost_load_opts *opts)
{
	const char *e;

	if (opts && opts->keep_copies >= 0)
		return opts->keep_copies != 0;
	e = getenv("CONNHOST_KEEP_COPIES");
	return e && *e && strcmp(e, "0") != 0;
}

/*
 * Copy the file open as IN (checked: a regular ELF object) to a new
 * unique path in DIR: *OUT (malloc'd), and its identity in *ID, which
 * map_plugin() compares with the image the loader mapped. Copying from
 * the descriptor that was checked means what is loaded is what was
 * checked, whatever happens to the original's path meanwhile.
 */
static int copy_file(const char *shown, int in, const char *dir, char **out,
                     struct stat *id, char *err, size_t errlen)
{
	size_t n = strlen(dir) + 32;
	char *path = malloc(n), buf[65536];
	int fd = -1, rc = CONN_EIO;
	off_t off = 0;
	ssize_t r;

	if (!path)
		return CONN_ENOMEM;
	snprintf(path, n, "%s/connhost-XXXXXX.so", dir);
	fd = mkostemps(path, 3, O_CLOEXEC);
	if (fd < 0) {
		connhost__err(err, errlen,
		              "plugin %s: cannot create a private copy in %s "
		              "(%s); set CONNHOST_COPY_DIR",
		              shown, dir, strerror(errno));
		goto out;
	}
	while ((r = pread(in, buf, sizeof(buf), off)) != 0) {
		char *p = buf;
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			goto fail;
		off += r;
		while (r > 0) {
			ssize_t w = write(fd, p, (size_t)r);
			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0)
				goto fail;
			p += w;
			r -= w;
		}
	}
	if (fchmod(fd, 0700) != 0 || fstat(fd, id) != 0 || close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	*out = path;
	path = NULL;
	rc = 0;
	goto out;
fail:
	connhost__err(err, errlen,
	              "plugin %s: cannot write the private copy %s (%s)", shown,
	              path, strerror(errno));
	unlink(path);
out:
	if (fd >= 0)
		close(fd);
	free(path);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Mapping, preflight, pinning                                             */
/* ---------------------------------------------------------------------- */

struct names {
	char **v;
	size_t n, cap;
};

static int collect_name(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct names *ns = arg;
	char **nv;

	(void)size;
	if (!info->dlpi_name || !info->dlpi_name[0])
		return 0;
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 64;
		nv = realloc(ns->v, cap * sizeof(*nv));
		if (!nv)
			return 1;
		ns->v = nv;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(info->dlpi_name);
	if (!ns->v[ns->n])
		return 1;
	ns->n++;
	return 0;
}

static void names_free(struct names *ns)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

static int names_has(const struct names *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (strcmp(ns->v[i], name) == 0)
			return 1;
	return 0;
}

/* Give every library loaded since BEFORE (except the plugin itself)
 * RTLD_NODELETE. Lock held. */
static void pin_new_libraries(const struct names *before, const char *self)
{
	struct names after = {0};
	size_t i;

	dl_iterate_phdr(collect_name, &after);
	for (i = 0; i < after.n; i++) {
		void *h;
		if (strcmp(after.v[i], self) == 0 ||
		    names_has(before, after.v[i]))
			continue;
		h = dlopen(after.v[i], RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
		if (h)
			dlclose(h);
	}
	names_free(&after);
}

/* The name in "...: undefined symbol: NAME" (or NULL). */
static const char *undefined_symbol(const char *msg, size_t *len)
{
	const char *p = msg ? strstr(msg, "undefined symbol: ") : NULL;

	if (!p)
		return NULL;
	p += strlen("undefined symbol: ");
	*len = strcspn(p, " ,()\n");
	return *len ? p : NULL;
}

/*
 * 1 when the object HANDLE was mapped from the file ID (its dynamic
 * section lies in a mapping of that device and inode, per
 * /proc/self/maps); 0 when from another file; -1 when that cannot be told
 * (no /proc).
 */
static int mapped_from(void *handle, const struct stat *id)
{
	struct link_map *lm = NULL;
	uintptr_t addr;
	char *line = NULL;
	size_t cap = 0;
	FILE *f;
	int found = -1;

	if (dlinfo(handle, RTLD_DI_LINKMAP, &lm) != 0 || !lm || !lm->l_ld)
		return -1;
	addr = (uintptr_t)lm->l_ld;
	f = fopen("/proc/self/maps", "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) > 0) {
		unsigned long lo, hi, maj, min;
		unsigned long long ino;
		if (sscanf(line, "%lx-%lx %*s %*s %lx:%lx %llu", &lo, &hi, &maj,
		           &min, &ino) != 5 ||
		    addr < lo || addr >= hi)
			continue;
		found = makedev(maj, min) == id->st_dev &&
		        (ino_t)ino == id->st_ino;
		break;
	}
	free(line);
	fclose(f);
	return found;
}

/* 0 when the file at PATH is still the copy ID. */
static int same_file(const char *path, const struct stat *id)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == id->st_dev &&
	                       st.st_ino == id->st_ino
	               ? 0
	               : -1;
}

static int map_plugin(const char *shown, const char *copy,
                      const struct stat *id, lt_dlhandle *out, char *err,
                      size_t errlen)
{
	struct names before = {0};
	lt_dladvise adv;
	lt_dlhandle h = NULL;
	void *pre;
	int rc = 0;

	pthread_mutex_lock(&lt_lock);
	dl_iterate_phdr(collect_name, &before);
	/* The loader opens the copy by name (it matches loaded objects by
	 * name, so a unique path it is, not /proc/self/fd/N): check that
	 * the name still is the file written, and after loading that the
	 * image mapped is that file. */
	pre = same_file(copy, id) == 0 ? dlopen(copy, RTLD_NOW | RTLD_LOCAL)
	                               : NULL;
	if (pre && mapped_from(pre, id) == 0) {
		connhost__err(err, errlen,
		              "plugin %s refused: the private copy %s was "
		              "replaced before it was loaded",
		              shown, copy);
		rc = CONN_EIO;
		goto out;
	}
	if (!pre && same_file(copy, id) != 0) {
		connhost__err(err, errlen,
		              "plugin %s refused: the private copy %s was "
		              "replaced or removed before it was loaded",
		              shown, copy);
		rc = CONN_EIO;
		goto out;
	}
	if (!pre) {
		const char *msg = dlerror();
		size_t len = 0;
		const char *sym = undefined_symbol(msg, &len);
		if (sym)
			connhost__err(
			        err, errlen,
			        "plugin %s refused: unresolved symbol '%.*s'",
			        shown, (int)len, sym);
		else
			connhost__err(err, errlen,
			              "plugin %s refused: the dynamic loader "
			              "cannot load it: %s",
			              shown, msg ? msg : "unknown error");
		rc = CONN_EABI;
		goto out;
	}
	if (lt_dlinit() != 0) {
		connhost__err(err, errlen, "plugin %s: libltdl: %s", shown,
		              lt_dlerror());
		rc = CONN_EIO;
		goto out;
	}
	if (lt_dladvise_init(&adv) == 0) {
		lt_dladvise_local(&adv);
		h = lt_dlopenadvise(copy, adv);
		lt_dladvise_destroy(&adv);
	}
	if (!h) {
		const char *msg = lt_dlerror();
		connhost__err(err, errlen, "plugin %s refused: libltdl: %s",
		              shown, msg ? msg : "cannot open");
		lt_dlexit();
		rc = CONN_EABI;
		goto out;
	}
	pin_new_libraries(&before, copy);
	*out = h;
out:
	if (pre)
		dlclose(pre);
	pthread_mutex_unlock(&lt_lock);
	names_free(&before);
	return rc;
}

static void unmap_plugin(lt_dlhandle h)
{
	pthread_mutex_lock(&lt_lock);
	lt_dlclose(h);
	lt_dlexit();
	pthread_mutex_unlock(&lt_lock);
}

static conn_plugin_get_fn find_entry(lt_dlhandle h)
{
	union {
		void *p;
		conn_plugin_get_fn f;
	} u;

	pthread_mutex_lock(&lt_lock);
	u.p = lt_dlsym(h, CONN_PLUGIN_ENTRY);
	pthread_mutex_unlock(&lt_lock);
	return u.p ? u.f : NULL;
}

/* ---------------------------------------------------------------------- */
/* The table check                                                         */
/* ---------------------------------------------------------------------- */

static int check_table(const char *shown, const conn_plugin *t,
                       conn_plugin *copy, char *err, size_t errlen)
{
	static const struct {
		const char *name;
		size_t off;
	} mandatory[] = {
	        {"describe", offsetof(conn_plugin, describe)},
	        {"init", offsetof(conn_plugin, init)},
	        {"start", offsetof(conn_plugin, start)},
	        {"quiesce", offsetof(conn_plugin, quiesce)},
	        {"resume", offsetof(conn_plugin, resume)},
	        {"shutdown", offsetof(conn_plugin, shutdown)},
	        {"invoke_action", offsetof(conn_plugin, invoke_action)},
	        {"subscribe_event", offsetof(conn_plugin, subscribe_event)},
	        {"unsubscribe", offsetof(conn_plugin, unsubscribe)},
	};
	size_t i, n, need;

	if (t->struct_size < offsetof(conn_plugin, name)) {
		connhost__err(
		        err, errlen,
		        "plugin %s refused: struct too small (struct_size "
		        "%u, ABI 1.0 needs %zu)",
		        shown, t->struct_size, CONN_PLUGIN_SIZE_1_0);
		return CONN_EABI;
	}
	if (t->abi_major != CONN_ABI_MAJOR) {
		connhost__err(err, errlen,
		              "plugin %s refused: ABI major %u, this host "
		              "speaks major %u",
		              shown, t->abi_major, CONN_ABI_MAJOR);
		return CONN_EABI;
	}
	if (t->abi_minor > CONN_ABI_MINOR) {
		connhost__err(err, errlen,
		              "plugin %s refused: ABI minor %u is newer than "
		              "this host's %u.%u",
		              shown, t->abi_minor, CONN_ABI_MAJOR,
		              CONN_ABI_MINOR);
		return CONN_EABI;
	}
	need = CONN_PLUGIN_SIZE_FOR(t->abi_minor);
	if (t->struct_size < need) {
		connhost__err(
		        err, errlen,
		        "plugin %s refused: struct too small (struct_size "
		        "%u, ABI %u.%u requires %zu)",
		        shown, t->struct_size, t->abi_major, t->abi_minor,
		        need);
		return CONN_EABI;
	}
	/* The copy holds what the minor the plugin speaks defines, no more:
	 * a table speaking 1.0 has no 1.1 slot (a 1.0 binary's reserved
	 * words, NULL by 1.0's rule, are not trusted to be), and one built
	 * for a newer minor than ours keeps only what we know. struct_size
	 * is set to match, so CONN_PLUGIN_HAS() on the copy is exact. */
	n = t->struct_size < sizeof(*copy) ? t->struct_size : sizeof(*copy);
	if (n > need && t->abi_minor < CONN_ABI_MINOR)
		n = need;
	memset(copy, 0, sizeof(*copy));
	memcpy(copy, t, n);
	copy->struct_size = (uint32_t)n;
	for (i = 0; i < sizeof(mandatory) / sizeof(mandatory[0]); i++) {
		void *slot;
		memcpy(&slot, (const char *)copy + mandatory[i].off,
		       sizeof(slot));
		if (!slot) {
			connhost__err(err, errlen,
			              "plugin %s refused: mandatory slot '%s' "
			              "is NULL",
			              shown, mandatory[i].name);
			return CONN_EABI;
		}
	}
	return 0;
}

static int take_strings(const char *shown, connhost_plugin *p, char *err,
                        size_t errlen)
{
	const char *d = p->table.describe();
	enum json_tokener_error jerr = json_tokener_success;

	p->name = strdup(p->table.name ? p->table.name : "");
	p->version = strdup(p->table.version ? p->table.version : "");
	if (!d) {
		connhost__err(err, errlen,
		              "plugin %s refused: describe() returned NULL",
		              shown);
		return CONN_EINVAL;
	}
	p->describe_text = strdup(d);
	if (!p->name || !p->version || !p->describe_text)
		return CONN_ENOMEM;
	p->definition = json_tokener_parse_verbose(p->describe_text, &jerr);
	if (!p->definition ||
	    !json_object_is_type(p->definition, json_type_object)) {
		connhost__err(err, errlen,
		              "plugin %s refused: describe() is not a JSON "
		              "object (%s)",
		              shown,
		              p->definition ? "not an object"
		                            : json_tokener_error_desc(jerr));
		return CONN_EINVAL;
	}
	return 0;
}

static void plugin_free(connhost_plugin *p)
{
	if (p->handle && !p->keep)
		unmap_plugin(p->handle);
	if (p->copy_path && !p->keep)
		unlink(p->copy_path);
	json_object_put(p->definition);
	free(p->name);
	free(p->version);
	free(p->describe_text);
	free(p->copy_path);
	free(p);
}

int connhost_plugin_load(const char *path, const connhost_load_opts *opts,
                         connhost_plugin **out, char *err, size_t errlen)
{
	connhost_plugin *p;
	char *file = NULL;
	conn_plugin_get_fn get;
	const conn_plugin *t;
	struct stat st, id;
	int rc, fd;

	*out = NULL;
	if (!path || !*path) {
		connhost__err(err, errlen, "plugin path is empty");
		return CONN_EINVAL;
	}
	fd = open_regular(path, path, &st, err, errlen);
	if (fd < 0)
		return fd;
	if (ends_with(path, ".la")) {
		int so = resolve_la(path, fd, &file, &st, err, errlen);
		close(fd);
		if (so < 0)
			return so;
		fd = so;
	}
	rc = check_elf(path, fd, err, errlen);
	if (rc) {
		close(fd);
		free(file);
		return rc;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		close(fd);
		free(file);
		return CONN_ENOMEM;
	}
	p->refs = 1;
	p->keep = keep_copies(opts);
	rc = copy_file(path, fd, copy_dir(opts), &p->copy_path, &id, err,
	               errlen);
	close(fd);
	free(file);
	if (rc)
		goto fail;
	rc = map_plugin(path, p->copy_path, &id, &p->handle, err, errlen);
	if (rc)
		goto fail;
	if (!p->keep)
		unlink(p->copy_path); /* the mapping stays; nothing to clean */
	get = find_entry(p->handle);
	if (!get) {
		connhost__err(err, errlen,
		              "plugin %s refused: no entry symbol '%s'", path,
		              CONN_PLUGIN_ENTRY);
		rc = CONN_EABI;
		goto fail;
	}
	t = get(CONN_ABI_MAJOR, CONN_ABI_MINOR);
	if (!t) {
		connhost__err(
		        err, errlen,
		        "plugin %s refused: %s() returned NULL (it cannot "
		        "serve a host of ABI %u.%u)",
		        path, CONN_PLUGIN_ENTRY, CONN_ABI_MAJOR,
		        CONN_ABI_MINOR);
		rc = CONN_EABI;
		goto fail;
	}
	rc = check_table(path, t, &p->table, err, errlen);
	if (!rc)
		rc = take_strings(path, p, err, errlen);
	if (rc)
		goto fail;
	*out = p;
	return 0;
fail:
	p->keep = 0; /* a refused plugin leaves nothing behind */
	plugin_free(p);
	return rc;
}

connhost_plugin *connhost_plugin_ref(connhost_plugin *p)
{
	__atomic_add_fetch(&p->refs, 1, __ATOMIC_RELAXED);
	return p;
}

void connhost_plugin_unref(connhost_plugin *p)
{
	if (p && __atomic_sub_fetch(&p->refs, 1, __ATOMIC_ACQ_REL) == 0)
		plugin_free(p);
}

const char *connhost_plugin_name(const connhost_plugin *p)
{
	return p->name;
}

const char *connhost_plugin_version(const connhost_plugin *p)
{
	return p->version;
}

const char *connhost_plugin_describe_text(const connhost_plugin *p)
{
	return p->describe_text;
}

json_object *connhost_plugin_definition(const connhost_plugin *p)
{
	return p->definition;
}

const conn_plugin *connhost_plugin_table(const connhost_plugin *p)
{
	return &p->table;
}

const char *connhost_plugin_copy_path(const connhost_plugin *p)
{
	return p->copy_path;
}
