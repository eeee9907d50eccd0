/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The C harness: plays the kernel (kernel.c) and drives gpc through gpc.h.
 *
 *  1. basics: every export once, exact /proc output, errno of each refusal; a task of
 *     one instance passed to another is refused (-EINVAL) and left as it was; every
 *     enforcement export answers what the control files written before say, inside an
 *     RCU read-side section, without allocating;
 *  1b. cgroup v2: the unified hierarchy (handle 0) beside v1 ones; cgroup.procs moves
 *     with the delegation rule (gpc_may_write_procs on the common ancestor, with a
 *     chown table); cgroup.freeze asks the tasks to stop (per-task job-control bits),
 *     they report gpc_enter_frozen/gpc_leave_frozen and cgroup.events follows;
 *     cgroup.kill marks every process and a killed parent cannot fork; cpu.stat
 *     counts gpc_account_cputime; gpc_files_changed and gpc_drain_notifications report
 *     the cgroup.events changes; clone3 into a group (gpc_fork_into) with each refusal;
 *     cgroup namespaces (/proc/PID/cgroup relative to one, nsdelegate's bounds on
 *     writes and clones, another instance's namespace refused);
 *  2. failure injection: each operation of a scripted session is run with its 0th, 1st,
 *     2nd, ... allocation failing until it succeeds; every failure must come back as
 *     -ENOMEM with the whole visible state (every file of every container, /proc, the
 *     lookups) and the number of live allocations unchanged, and no failure may be
 *     swallowed by an operation that then succeeds;
 *  3. storm: several threads fork, exit, attach (tasks, cgroup.procs, gpc_attach),
 *     look up and ask the enforcement exports, read /proc and tasks files, make and
 *     remove containers and drain releases at once, with random allocation failures; every result is checked
 *     against the errnos the operation may return, then the final state is checked
 *     for consistency (each task in exactly one container per hierarchy, agreeing with
 *     /proc/PID/cgroup, pids.current and the lookups);
 *  4. teardown: nothing may be left allocated, queued in RCU, or done in the wrong
 *     context (a sleeping allocation or mutex under a spinlock or RCU read lock);
 *  5. RCU deferral: a state a reader looked up stays allocated while the reader is inside
 *     its read-side section, though a writer unlinked it and gpc queued its free with
 *     gpc_call_rcu(); it is freed, by an RCU callback, once the reader leaves.
 *
 * Usage: harness [THREADS [ITERATIONS]]   (defaults 4 and 4000)
 *        harness --eager-call-rcu         (self-test: runs 5 with a gpc_call_rcu() that
 *                                          frees at once; the run must FAIL)
 * The last line is "harness: N passed, M failed"; the exit status is 0 iff M == 0.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel.h"

/* ------------------------------------------------------------------------------ */
/* Checks and helpers.                                                              */
/* ------------------------------------------------------------------------------ */

static atomic_long checks_passed, checks_failed;

static void check_failed(const char *file, int line, const char *cond, const char *fmt, ...)
{
	va_list ap;
	atomic_fetch_add(&checks_failed, 1);
	fprintf(stderr, "FAIL %s:%d: %s: ", file, line, cond);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

#define CHECK(cond, ...)                                                         \
	do {                                                                     \
		if (cond)                                                        \
			atomic_fetch_add_explicit(&checks_passed, 1,             \
						  memory_order_relaxed);         \
		else                                                             \
			check_failed(__FILE__, __LINE__, #cond, __VA_ARGS__);    \
	} while (0)

static const struct gpc_creds ROOT = { 0, 0, 0, 0, true, true };
static const struct gpc_creds ALICE = { 1000, 1000, 1000, 1000, false, false };

#define BUF 65536

/* Read a whole file (size query, then read) into a fresh NUL-terminated string. */
static char *rd(struct gpc *g, int h, const char *path, struct ktask *caller, long *err)
{
	long need = gpc_read(g, h, path, caller ? T(caller) : NULL, NULL, 0);
	char *buf;
	long got;
	if (need < 0) {
		*err = need;
		return NULL;
	}
	/* The file may grow between the query and the read (the storm): retry. */
	for (;;) {
		buf = malloc((size_t)need + 1);
		if (!buf)
			abort();
		got = gpc_read(g, h, path, caller ? T(caller) : NULL, buf, (size_t)need);
		if (got == -EOVERFLOW) {
			free(buf);
			need = need * 2 + 64;
			continue;
		}
		if (got < 0) {
			free(buf);
			*err = got;
			return NULL;
		}
		buf[got] = 0;
		*err = 0;
		return buf;
	}
}

static int wr(struct gpc *g, int h, const char *path, struct ktask *caller, const char *data)
{
	return gpc_write(g, h, path, caller ? T(caller) : NULL, data, strlen(data));
}

static int wr_pid(struct gpc *g, int h, const char *path, struct ktask *caller, uint32_t pid)
{
	char s[16];
	snprintf(s, sizeof(s), "%u", pid);
	return wr(g, h, path, caller, s);
}

/* gpc_list into a fresh buffer; *n gets the length. */
static char *ls(struct gpc *g, int h, const char *path, long *n)
{
	char *buf = malloc(BUF);
	if (!buf)
		abort();
	*n = gpc_list(g, h, path, buf, BUF);
	if (*n < 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A growable string. */
struct sb {
	char *s;
	size_t len, cap;
};

static void sb_add(struct sb *b, const char *fmt, ...)
{
	va_list ap;
	int n;
	for (;;) {
		size_t room = b->cap - b->len;
		va_start(ap, fmt);
		n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt, ap);
		va_end(ap);
		if (b->s && (size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		b->cap = b->cap * 2 + (size_t)n + 64;
		b->s = realloc(b->s, b->cap);
		if (!b->s)
			abort();
	}
}

static uint64_t xorshift(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

/* Is text a strictly increasing list of decimal numbers, one per line? */
static bool sorted_pids(const char *text, long *count)
{
	long prev = -1;
	*count = 0;
	while (*text) {
		char *end;
		long v = strtol(text, &end, 10);
		if (end == text || *end != '\n' || v <= prev)
			return false;
		prev = v;
		(*count)++;
		text = end + 1;
	}
	return true;
}

static long count_lines(const char *s)
{
	long n = 0;
	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* ------------------------------------------------------------------------------ */
/* 1. Basics.                                                                       */
/* ------------------------------------------------------------------------------ */

static const char PROC_CGROUPS_EMPTY[] =
	"#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
	"cpuset\t0\t1\t1\ncpu\t0\t1\t1\ncpuacct\t0\t1\t1\nblkio\t0\t1\t1\n"
	"memory\t0\t1\t1\n"
	"devices\t0\t1\t1\nfreezer\t0\t1\t1\nnet_cls\t0\t1\t1\nperf_event\t0\t1\t1\n"
	"net_prio\t0\t1\t1\nhugetlb\t0\t1\t1\npids\t0\t1\t1\n"
	"rdma\t0\t1\t1\nmisc\t0\t1\t1\nns\t0\t1\t1\ndebug\t0\t1\t1\n";

struct releases {
	int n;
	char agent[8][64];
	char path[8][64];
};

static void collect_release(void *ctx, const char *agent, size_t alen, const char *path, size_t plen)
{
	struct releases *r = ctx;
	if (r->n < 8) {
		snprintf(r->agent[r->n], 64, "%.*s", (int)alen, agent);
		snprintf(r->path[r->n], 64, "%.*s", (int)plen, path);
	}
	r->n++;
}

static char *proc_pid(struct gpc *g, struct ktask *t, long *err)
{
	char *buf = malloc(BUF);
	long n;
	if (!buf)
		abort();
	n = gpc_proc_pid_cgroup(g, T(t), buf, BUF - 1);
	if (n < 0) {
		free(buf);
		*err = n;
		return NULL;
	}
	buf[n] = 0;
	*err = 0;
	return buf;
}

static void test_basics(void)
{
	struct gpc *g;
	struct ktask *init, *t2, *t3, *t4, *alice;
	int h1, h2, h3;
	long err, n;
	char *s, buf[4096];
	struct gpc_stat st;
	struct releases rel = { 0 };
	struct kalloc_stats a;

	CHECK(GPC_ABI_CHECK() == 0, "header and library disagree");
	CHECK(gpc_abi_check(GPC_TASK_SLOT_SIZE + 8, GPC_TASK_SLOT_ALIGN, GPC_LOCK_STORAGE_SIZE,
			    GPC_LOCK_STORAGE_ALIGN) == -EINVAL, "a wrong slot size passes");

	g = gpc_init(&khost);
	CHECK(!GPC_IS_ERR(g) && g, "gpc_init: %ld", GPC_PTR_ERR(g));
	CHECK(gpc_subsys_count(g) == GPC_SS_COUNT, "%d subsystems", gpc_subsys_count(g));
	CHECK(gpc_subsys_id(g, "pids") == GPC_SS_PIDS, "pids id");
	CHECK(gpc_subsys_id(g, "debug") == GPC_SS_DEBUG, "debug id");
	CHECK(gpc_subsys_id(g, "blkio") == -ENOENT, "blkio");
	CHECK(gpc_mount(NULL, "cpu", NULL) == -EINVAL, "NULL instance");

	init = ktask_new(NULL, ROOT, 0);
	CHECK(init->pid == 1, "init is pid %u", init->pid);
	CHECK(gpc_init_task(g, T(init)) == 0, "init_task");
	CHECK(gpc_init_task(g, T(init)) == -EBUSY, "init_task twice");
	ktask_publish(init);

	n = gpc_proc_cgroups(g, NULL, 0);
	CHECK(n == (long)strlen(PROC_CGROUPS_EMPTY), "proc_cgroups size query %ld", n);
	CHECK(gpc_proc_cgroups(g, buf, (size_t)n - 1) == -EOVERFLOW, "short buffer");
	n = gpc_proc_cgroups(g, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strcmp(buf, PROC_CGROUPS_EMPTY) == 0, "/proc/cgroups:\n%s", buf);

	alice = ktask_new(NULL, ALICE, 0);
	CHECK(gpc_fork(g, T(init), T(alice)) == 0, "fork alice");
	CHECK(gpc_fork(g, T(init), T(alice)) == -EBUSY, "fork into an attached slot");
	ktask_publish(alice);

	CHECK(gpc_mount(g, "cpu,cpuacct", T(alice)) == -EPERM, "user mount");
	h1 = gpc_mount(g, "cpu,cpuacct", NULL);
	CHECK(h1 == 1, "h1 = %d", h1);
	CHECK(gpc_mount(g, "cpu", NULL) == -EBUSY, "cpu is bound");
	CHECK(gpc_mount(g, "cpu,cpuacct", T(init)) == h1, "remount reuses");
	h2 = gpc_mount(g, "pids", NULL);
	h3 = gpc_mount(g, "none,name=named,release_agent=/sbin/agent", NULL);
	/* The refused "cpu" mount used id 2 up, as in Linux (cgroup1_get_tree). */
	CHECK(h2 == 3 && h3 == 4, "h2 = %d, h3 = %d", h2, h3);
	CHECK(gpc_mount(g, "bogus", NULL) == -EINVAL, "bogus option");

	s = ls(g, h1, "/", &n);
	CHECK(s != NULL, "list /: %ld", n);
	if (s) {
		const char *want[] = { "cgroup.procs", "tasks", "notify_on_release", "release_agent",
				       "cgroup.sane_behavior", "cgroup.clone_children", "cpu.shares",
				       "cpuacct.usage" };
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			bool found = false;
			for (char *p = s; p < s + n; p += strlen(p) + 1)
				found |= strcmp(p, want[i]) == 0;
			CHECK(found, "%s listed", want[i]);
		}
		CHECK(s[n - 1] == 0, "names end with NUL");
		free(s);
	}
	n = gpc_list(g, h1, "/", NULL, 0);
	CHECK(n > 0 && gpc_list(g, h1, "/", buf, (size_t)n - 1) == -EOVERFLOW, "list overflow");
	CHECK(gpc_list(g, h1, "/tasks", buf, sizeof(buf)) == -ENOTDIR, "list a file");
	CHECK(gpc_list(g, 99, "/", buf, sizeof(buf)) == -ENOENT, "list a bad handle");

	CHECK(gpc_mkdir(g, h1, "/a") == 0, "mkdir /a");
	CHECK(gpc_mkdir(g, h1, "/a/b") == 0, "mkdir /a/b");
	CHECK(gpc_mkdir(g, h1, "/a") == -EEXIST, "mkdir /a again");
	CHECK(gpc_mkdir(g, h1, "/x/y") == -ENOENT, "mkdir without parent");
	CHECK(gpc_mkdir(g, h1, "/a/tasks") == -EEXIST, "mkdir over a file");
	CHECK(gpc_rmdir(g, h1, "/a") == -EBUSY, "rmdir with a child");
	CHECK(gpc_stat(g, h1, "/a", &st) == 0 && st.kind == GPC_STAT_DIR && st.id > 0, "stat dir");
	CHECK(gpc_stat(g, h1, "/a/cpu.shares", &st) == 0 && st.kind == GPC_STAT_FILE &&
		      st.mode == 0644, "stat file: %d %o", st.kind, st.mode);
	CHECK(gpc_stat(g, h1, "/nope", &st) == -ENOENT, "stat missing");
	CHECK(gpc_stat(g, h1, "/a/tasks/x", &st) == -ENOTDIR, "stat through a file");

	CHECK(wr(g, h1, "/a/cpu.shares", NULL, "512") == 0, "write shares");
	s = rd(g, h1, "/a/cpu.shares", NULL, &err);
	CHECK(s && strcmp(s, "512\n") == 0, "read shares: %s", s ? s : "(error)");
	free(s);
	CHECK(wr(g, h1, "/a/cpu.shares", NULL, "x") == -EINVAL, "bad shares");
	s = rd(g, h1, "/a", NULL, &err);
	CHECK(!s && err == -EISDIR, "read a directory: %ld", err);

	t2 = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(g, T(init), T(t2)) == 0, "fork t2");
	ktask_publish(t2);
	CHECK(wr_pid(g, h1, "/a/tasks", alice, init->pid) == -EACCES, "alice moves init");
	CHECK(wr_pid(g, h1, "/a/tasks", NULL, t2->pid) == 0, "move t2");
	CHECK(wr_pid(g, h1, "/a/tasks", NULL, 30000) == -ESRCH, "move a missing pid");
	CHECK(wr(g, h1, "/a/tasks", alice, "0") == 0, "alice moves herself");
	s = rd(g, h1, "/a/tasks", NULL, &err);
	snprintf(buf, sizeof(buf), "%u\n%u\n", alice->pid, t2->pid);
	CHECK(s && strcmp(s, buf) == 0, "tasks: %s", s ? s : "(error)");
	free(s);

	s = proc_pid(g, t2, &err);
	snprintf(buf, sizeof(buf), "%d:name=named:/\n%d:pids:/\n%d:cpu,cpuacct:/a\n", h3, h2, h1);
	CHECK(s && strcmp(s, buf) == 0, "/proc/t2/cgroup:\n%s", s ? s : "(error)");
	free(s);

	gpc_rcu_read_lock();
	CHECK(gpc_task_css(g, T(t2), GPC_SS_CPU) != NULL, "cpu state");
	CHECK(gpc_task_css(g, T(t2), GPC_SS_CPU) == gpc_task_css(g, T(alice), GPC_SS_CPU),
	      "same container, same state");
	CHECK(gpc_task_css(g, T(t2), GPC_SS_CPU) != gpc_task_css(g, T(init), GPC_SS_CPU),
	      "other container, other state");
	CHECK(gpc_task_css(g, T(t2), GPC_SS_PIDS) == gpc_task_css(g, T(init), GPC_SS_PIDS),
	      "pids: both in the root");
	CHECK(gpc_task_css(g, T(t2), GPC_SS_MEMORY) == gpc_task_css(g, T(init), GPC_SS_MEMORY),
	      "memory: unmounted, the root state");
	CHECK(gpc_task_css(g, T(t2), GPC_SS_COUNT) == NULL, "no such subsystem");
	gpc_rcu_read_unlock();

	CHECK(gpc_attach(g, h1, "/a/b", T(t2)) == 0, "attach t2");
	CHECK(gpc_attach(g, h1, "/a/nope", T(t2)) == -ENOENT, "attach to a missing dir");
	s = rd(g, h1, "/a/b/tasks", NULL, &err);
	snprintf(buf, sizeof(buf), "%u\n", t2->pid);
	CHECK(s && strcmp(s, buf) == 0, "b/tasks: %s", s ? s : "(error)");
	free(s);

	/* A process with two threads moves whole through cgroup.procs. */
	t3 = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(g, T(init), T(t3)) == 0, "fork t3");
	ktask_publish(t3);
	t4 = ktask_new(t3, ROOT, 0);
	CHECK(gpc_fork(g, T(t3), T(t4)) == 0, "thread t4");
	ktask_publish(t4);
	CHECK(wr_pid(g, h1, "/a/cgroup.procs", NULL, t4->pid) == 0, "procs write");
	s = rd(g, h1, "/a/cgroup.procs", NULL, &err);
	snprintf(buf, sizeof(buf), "%u\n%u\n", alice->pid, t3->pid);
	CHECK(s && strcmp(s, buf) == 0, "cgroup.procs: %s", s ? s : "(error)");
	free(s);

	/* pids.max refuses a fork with -EAGAIN, and nothing changes. */
	CHECK(gpc_mkdir(g, h2, "/lim") == 0, "mkdir lim");
	CHECK(wr(g, h2, "/lim/pids.max", NULL, "1") == 0, "pids.max");
	CHECK(wr_pid(g, h2, "/lim/tasks", NULL, t2->pid) == 0, "t2 into lim");
	{
		struct ktask *c = ktask_new(NULL, ROOT, 0);
		CHECK(gpc_fork(g, T(t2), T(c)) == -EAGAIN, "fork over pids.max");
		ktask_abort(c);
		s = rd(g, h2, "/lim/pids.current", NULL, &err);
		CHECK(s && strcmp(s, "1\n") == 0, "pids.current: %s", s ? s : "(error)");
		free(s);
		CHECK(wr(g, h2, "/lim/pids.max", NULL, "2") == 0, "pids.max 2");
		c = ktask_new(NULL, ROOT, 0);
		CHECK(gpc_fork(g, T(t2), T(c)) == 0, "fork under pids.max");
		ktask_publish(c);
		ktask_exit(g, c);
	}

	/* Release: a notify_on_release container empties; the agent is reported. */
	CHECK(gpc_mkdir(g, h3, "/r") == 0, "mkdir r");
	CHECK(wr(g, h3, "/r/notify_on_release", NULL, "1") == 0, "notify_on_release");
	CHECK(gpc_attach(g, h3, "/r", T(t2)) == 0, "t2 into r");
	n = atomic_load(&khost.notified);
	CHECK(gpc_attach(g, h3, "/", T(t2)) == 0, "t2 out of r");
	CHECK(atomic_load(&khost.notified) == n + 1, "release notified");
	CHECK(gpc_drain_releases(g, collect_release, &rel) == 1, "one release");
	CHECK(rel.n == 1 && !strcmp(rel.agent[0], "/sbin/agent") && !strcmp(rel.path[0], "/r"),
	      "release %s %s", rel.agent[0], rel.path[0]);
	CHECK(gpc_drain_releases(g, NULL, NULL) == -EINVAL, "NULL callback");

	/* Teardown. */
	ktask_exit(g, t4);
	ktask_exit(g, t3);
	ktask_exit(g, t2);
	ktask_exit(g, alice);
	CHECK(gpc_rmdir(g, h1, "/a/b") == 0, "rmdir b");
	CHECK(gpc_rmdir(g, h1, "/a") == 0, "rmdir a");
	CHECK(gpc_rmdir(g, h1, "/a") == -ENOENT, "rmdir a again");
	CHECK(gpc_rmdir(g, h2, "/lim") == 0, "rmdir lim");
	CHECK(gpc_rmdir(g, h3, "/r") == 0, "rmdir r");
	CHECK(gpc_umount(g, h1) == 0 && gpc_umount(g, h1) == 0, "umount h1 twice");
	CHECK(gpc_umount(g, h1) == -EINVAL, "h1 is gone");
	CHECK(gpc_umount(g, h2) == 0 && gpc_umount(g, h3) == 0, "umount h2, h3");
	n = gpc_proc_cgroups(g, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strcmp(buf, PROC_CGROUPS_EMPTY) == 0, "/proc/cgroups after umount:\n%s", buf);
	ktask_exit(g, init);
	gpc_destroy(g);
	gpc_synchronize_rcu();
	kalloc_stats(&a);
	CHECK(a.live == 0, "%ld allocations left", a.live);
	CHECK(ktask_count() == 0, "tasks left");
}

/* ------------------------------------------------------------------------------ */
/* 1b. Instances: a task belongs to the instance that attached it.                  */
/* ------------------------------------------------------------------------------ */

/* ------------------------------------------------------------------------------ */
/* cgroup v2: the unified hierarchy, delegation, job control, notifications,        */
/* clone3 into a group, cgroup namespaces.                                          */
/* ------------------------------------------------------------------------------ */

struct notes {
	int n, hier[16];
	uint64_t id[16];
	char file[16][32];
};

static void collect_note(void *ctx, int hier, uint64_t id, const char *file)
{
	struct notes *n = ctx;
	if (n->n < 16) {
		n->hier[n->n] = hier;
		n->id[n->n] = id;
		snprintf(n->file[n->n], sizeof(n->file[0]), "%s", file);
	}
	n->n++;
}

/* Was (hier, id, file) among the notes? */
static bool noted(const struct notes *n, int hier, uint64_t id, const char *file)
{
	for (int i = 0; i < n->n && i < 16; i++)
		if (n->hier[i] == hier && n->id[i] == id && !strcmp(n->file[i], file))
			return true;
	return false;
}

static uint64_t dir_id(struct gpc *g, int h, const char *path)
{
	struct gpc_stat st = { 0 };
	CHECK(gpc_stat(g, h, path, &st) == 0 && st.kind == GPC_STAT_DIR, "stat %s", path);
	return st.id;
}

/* The file's text is exactly want. */
static void file_eq(struct gpc *g, int h, const char *path, const char *want)
{
	long err;
	char *s = rd(g, h, path, NULL, &err);
	CHECK(s && !strcmp(s, want), "%s: %ld: \"%s\", want \"%s\"", path, err, s ? s : "",
	      want);
	free(s);
}

/* The file holds the line. */
static void file_has(struct gpc *g, int h, const char *path, const char *line)
{
	long err;
	char *s = rd(g, h, path, NULL, &err);
	CHECK(s && strstr(s, line), "%s: %ld: \"%s\" lacks \"%s\"", path, err, s ? s : "", line);
	free(s);
}

static int jobctl(struct ktask *t)
{
	return atomic_load(&t->jobctl);
}

/* /proc/PID/cgroup of t as a reader in ns sees it. */
static char *proc_pid_ns(struct gpc *g, struct ktask *t, const struct gpc_cgroup_ns *ns, long *err)
{
	long need = gpc_proc_pid_cgroup_ns(g, T(t), ns, NULL, 0);
	char *buf;
	if (need < 0) {
		*err = need;
		return NULL;
	}
	buf = malloc((size_t)need + 1);
	if (!buf)
		abort();
	*err = gpc_proc_pid_cgroup_ns(g, T(t), ns, buf, (size_t)need);
	CHECK(*err == need, "proc_pid_cgroup_ns: %ld, size query %ld", *err, need);
	buf[need > 0 ? need : 0] = 0;
	return buf;
}

static void test_v2(void)
{
	struct gpc *g = gpc_init(&khost), *g2;
	struct ktask *init, *alice, *t1, *t3, *t2, *c1, *c2, *c3;
	struct gpc_cgroup_ns *ns, *ns_bad;
	struct notes notes = { 0 };
	long err, n, changed;
	char *s;
	int u, hp, r;
	uint64_t id_a, id_b;

	printf("cgroup v2:\n");
	CHECK(!GPC_IS_ERR(g), "gpc_init");
	init = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(g, T(init)) == 0, "init");
	ktask_publish(init);
	alice = ktask_new(NULL, ALICE, 0);
	t1 = ktask_new(NULL, ROOT, 0);
	t2 = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(g, T(init), T(alice)) == 0 && gpc_fork(g, T(init), T(t1)) == 0 &&
		      gpc_fork(g, T(init), T(t2)) == 0,
	      "forks");
	ktask_publish(alice);
	ktask_publish(t1);
	ktask_publish(t2);
	t3 = ktask_new(t1, ROOT, 0); /* a thread of t1 */
	CHECK(gpc_fork(g, T(t1), T(t3)) == 0, "thread");
	ktask_publish(t3);

	/* Mounting: one unified hierarchy, handle 0 ("0::" in /proc), beside v1 ones. */
	CHECK(gpc_unified_hierarchy(g) == -ENOENT, "unified before mount: %d",
	      gpc_unified_hierarchy(g));
	CHECK(gpc_unified_hierarchy(NULL) == -EINVAL, "NULL instance");
	CHECK(gpc_mount_v2(g, "nsdelegate", T(alice)) == -EPERM, "user mount");
	CHECK(gpc_mount_v2(g, "bogus", NULL) == -EINVAL, "bogus option");
	u = gpc_mount_v2(g, "nsdelegate", NULL);
	CHECK(u == 0, "unified handle %d", u);
	CHECK(gpc_unified_hierarchy(g) == u, "unified %d", gpc_unified_hierarchy(g));
	CHECK(gpc_mount_v2(g, NULL, NULL) == u, "a second mount is the same hierarchy");
	CHECK(gpc_umount(g, u) == 0, "drop the second mount");
	CHECK(gpc_mount_v2(g, "nsdelegate", NULL) == u, "and mount it again");
	hp = gpc_mount(g, "pids", NULL);
	CHECK(hp > 0 && hp != u, "v1 pids handle %d", hp);
	CHECK(gpc_unified_hierarchy(g) == u, "still unified %d", gpc_unified_hierarchy(g));

	CHECK(gpc_mkdir(g, u, "/a") == 0 && gpc_mkdir(g, u, "/b") == 0 &&
		      gpc_mkdir(g, u, "/b/y") == 0 && gpc_mkdir(g, u, "/d") == 0 &&
		      gpc_mkdir(g, u, "/d/x") == 0,
	      "mkdirs");
	id_a = dir_id(g, u, "/a");
	id_b = dir_id(g, u, "/b");
	s = ls(g, u, "/a", &n);
	CHECK(s != NULL, "list /a: %ld", n);
	if (s) {
		const char *want[] = { "cgroup.procs", "cgroup.threads", "cgroup.freeze",
				       "cgroup.kill", "cgroup.events", "cgroup.subtree_control",
				       "cgroup.controllers", "cpu.stat" };
		for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
			bool found = false;
			for (char *p = s; p < s + n; p += strlen(p) + 1)
				found |= strcmp(p, want[i]) == 0;
			CHECK(found, "/a lists %s", want[i]);
		}
		free(s);
	}
	file_eq(g, u, "/a/cgroup.events", "populated 0\nfrozen 0\n");
	while (gpc_drain_notifications(g, collect_note, &notes) > 0)
		;
	CHECK(gpc_drain_notifications(g, NULL, NULL) == -EINVAL, "NULL callback");

	/* A cgroup.procs write moves the whole process; populated flips and is notified. */
	changed = atomic_load(&khost.files_changed);
	CHECK(wr_pid(g, u, "/a/cgroup.procs", NULL, t1->pid) == 0, "t1 into /a");
	CHECK(atomic_load(&khost.files_changed) > changed, "gpc_files_changed was called");
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 0\n");
	s = rd(g, u, "/a/cgroup.threads", NULL, &err);
	{
		char want[64];
		snprintf(want, sizeof(want), "%u\n%u\n", t1->pid, t3->pid);
		CHECK(s && !strcmp(s, want), "/a/cgroup.threads: %s", s ? s : "");
	}
	free(s);
	memset(&notes, 0, sizeof(notes));
	r = gpc_drain_notifications(g, collect_note, &notes);
	CHECK(r == notes.n && noted(&notes, u, id_a, "cgroup.events"),
	      "drained %d: /a's cgroup.events among them", r);
	CHECK(gpc_drain_notifications(g, collect_note, &notes) == 0, "drained twice");
	s = proc_pid(g, t3, &err);
	CHECK(s && strstr(s, "0::/a\n"), "/proc/t3/cgroup: %s", s ? s : "");
	free(s);

	/* Delegation: a move needs the common ancestor's cgroup.procs (gpc_may_write_procs). */
	CHECK(wr_pid(g, u, "/d/x/cgroup.procs", NULL, alice->pid) == 0, "alice into /d/x");
	CHECK(wr_pid(g, u, "/d/cgroup.procs", alice, alice->pid) == -EACCES,
	      "alice moves herself without /d delegated");
	kernel_chown_procs(dir_id(g, u, "/d"), ALICE.euid);
	CHECK(wr_pid(g, u, "/d/cgroup.procs", alice, alice->pid) == 0,
	      "alice moves herself inside delegated /d");
	CHECK(wr_pid(g, u, "/b/cgroup.procs", alice, alice->pid) == -EACCES,
	      "alice leaves her delegation");
	kernel_chown_procs(dir_id(g, u, "/d"), 0);

	/* cgroup.freeze: the tasks are asked to stop; the group is frozen once they did. */
	CHECK(gpc_cgroup_task_freeze(g, T(t1)) == 0, "not freezing yet");
	CHECK(wr(g, u, "/a/cgroup.freeze", NULL, "1") == 0, "freeze /a");
	CHECK((jobctl(t1) & KJOB_TRAP_FREEZE) && (jobctl(t3) & KJOB_TRAP_FREEZE) &&
		      !(jobctl(t2) & KJOB_TRAP_FREEZE),
	      "asked to stop: t1 %d, t3 %d, t2 %d", jobctl(t1), jobctl(t3), jobctl(t2));
	CHECK(gpc_cgroup_task_freeze(g, T(t1)) == 1 && gpc_cgroup_task_freeze(g, T(t2)) == 0,
	      "cgroup_task_freeze");
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 0\n");
	CHECK(gpc_enter_frozen(g, T(t1)) == 0, "t1 stops");
	CHECK(jobctl(t1) & KJOB_FROZEN, "t1 recorded stopped");
	CHECK(gpc_enter_frozen(g, T(t1)) == 0, "t1 stops twice");
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 0\n");
	memset(&notes, 0, sizeof(notes));
	while (gpc_drain_notifications(g, collect_note, &notes) > 0)
		;
	CHECK(gpc_enter_frozen(g, T(t3)) == 0, "t3 stops");
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 1\n");
	memset(&notes, 0, sizeof(notes));
	gpc_drain_notifications(g, collect_note, &notes);
	CHECK(noted(&notes, u, id_a, "cgroup.events"), "frozen notified (%d notes)", notes.n);
	CHECK(gpc_enter_frozen(NULL, T(t1)) == -EINVAL && gpc_enter_frozen(g, NULL) == -EINVAL,
	      "NULLs");
	/* A task woken while its group still freezes is asked to stop again. */
	gpc_freeze_task(T(t3), false);
	CHECK(gpc_leave_frozen(g, T(t3), false) == 0 && (jobctl(t3) & KJOB_TRAP_FREEZE) &&
		      (jobctl(t3) & KJOB_FROZEN),
	      "t3 stays stopped: %d", jobctl(t3));
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 1\n");
	/* clone3 into a freezing group: the child is asked to stop at once. */
	c2 = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork_into(g, T(init), T(c2), u, "/a", NULL) == 0, "clone into frozen /a");
	ktask_publish(c2);
	CHECK(jobctl(c2) & KJOB_TRAP_FREEZE, "the child is asked to stop: %d", jobctl(c2));
	/* Linux cgroup_post_fork leaves the group frozen meanwhile ("we avoid cgroup's
	 * transient switch from the frozen state and back"): the child stops soon. */
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 1\n");
	CHECK(gpc_enter_frozen(g, T(c2)) == 0, "c2 stops");
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 1\n");
	s = rd(g, u, "/a/cgroup.stat.local", NULL, &err);
	CHECK(s && strstr(s, "frozen_usec "), "cgroup.stat.local: %ld %s", err, s ? s : "");
	free(s);
	/* Thaw: the requests are withdrawn; each task reports it runs. */
	CHECK(wr(g, u, "/a/cgroup.freeze", NULL, "0") == 0, "thaw /a");
	CHECK(!(jobctl(t1) & KJOB_TRAP_FREEZE) && !(jobctl(c2) & KJOB_TRAP_FREEZE), "withdrawn");
	/* cgroup_do_freeze ends with cgroup_update_frozen: no longer freezing is not
	 * frozen, though the tasks still have to report that they run. */
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 0\n");
	CHECK(gpc_leave_frozen(g, T(t1), false) == 0 && gpc_leave_frozen(g, T(t3), false) == 0 &&
		      gpc_leave_frozen(g, T(c2), false) == 0,
	      "they run");
	CHECK(!(jobctl(t1) & KJOB_FROZEN) && !(jobctl(c2) & KJOB_FROZEN), "recorded running");
	file_eq(g, u, "/a/cgroup.events", "populated 1\nfrozen 0\n");

	/* CPU time charged to the task's v2 group. */
	CHECK(gpc_account_cputime(g, T(t1), 3000000) == 0 &&
		      gpc_account_cputime(g, T(t3), 2000000) == 0,
	      "account_cputime");
	file_has(g, u, "/a/cpu.stat", "usage_usec 5000\n");
	file_has(g, u, "/cpu.stat", "usage_usec 5000\n");

	/* Pressure: the scheduler reports t1 runnable on CPU 0 for the last second without
	 * running (Linux psi_task_change): /a and the system stalled 1 s on the CPU, "full"
	 * in /a (none of its tasks ran), never at the system level. */
	{
		uint64_t now = gpc_clock_ns();
		CHECK(gpc_psi_task_change(g, T(t1), 0, 0, GPC_PSI_RUNNING, now - 1000000000u) == 0 &&
			      gpc_psi_task_change(g, T(t1), 0, GPC_PSI_RUNNING, 0, now) == 0,
		      "psi: t1 waited 1 s");
		CHECK(gpc_psi_task_change(g, T(t1), 0, 1u << 9, 0, now) == -EINVAL, "psi: a bad flag");
		CHECK(gpc_psi_task_change(g, T(t1), 4096, 0, 0, now) == -EINVAL, "psi: a bad CPU");
		s = rd(g, u, "/a/cpu.pressure", NULL, &err);
		CHECK(s && !strcmp(s, "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"
				      "full avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"),
		      "/a/cpu.pressure: %ld %s", err, s ? s : "");
		free(s);
		{
			char buf[256];
			long n = gpc_psi_show(g, GPC_PSI_CPU, buf, sizeof(buf) - 1);
			CHECK(n > 0, "gpc_psi_show: %ld", n);
			buf[n > 0 ? n : 0] = 0;
			CHECK(!strcmp(buf, "some avg10=0.00 avg60=0.00 avg300=0.00 total=1000000\n"
					   "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"),
			      "/proc/pressure/cpu: %s", buf);
		}
	}

	/* clone3(CLONE_INTO_CGROUP). */
	c1 = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork_into(g, T(init), T(c1), hp, "/", NULL) == -EBADF, "into a v1 hierarchy");
	CHECK(gpc_fork_into(g, T(init), T(c1), u, "/nope", NULL) == -ENOENT, "into nothing");
	CHECK(gpc_fork_into(g, T(init), T(c1), u, "/b/cgroup.procs", NULL) == -EBADF,
	      "into a file");
	CHECK(gpc_fork_into(g, T(alice), T(c1), u, "/b", NULL) == -EACCES,
	      "alice may not write /b/cgroup.procs");
	memset(&notes, 0, sizeof(notes));
	while (gpc_drain_notifications(g, collect_note, &notes) > 0)
		;
	CHECK(gpc_fork_into(g, T(init), T(c1), u, "/b", NULL) == 0, "clone into /b");
	memset(&notes, 0, sizeof(notes));
	gpc_drain_notifications(g, collect_note, &notes);
	CHECK(noted(&notes, u, id_b, "cgroup.events"), "/b populated, notified (%d)", notes.n);
	CHECK(gpc_fork_into(g, T(init), T(c1), u, "/b", NULL) == -EBUSY, "twice");
	ktask_publish(c1);
	{
		char want[16];
		snprintf(want, sizeof(want), "%u\n", c1->pid);
		file_eq(g, u, "/b/cgroup.procs", want);
	}
	s = proc_pid(g, c1, &err);
	CHECK(s && strstr(s, ":pids:/\n") && strstr(s, "0::/b\n"),
	      "c1's v1 groups are its parent's: %s", s ? s : "");
	free(s);

	/* Cgroup namespaces. */
	CHECK(wr_pid(g, u, "/b/cgroup.procs", NULL, t2->pid) == 0, "t2 into /b");
	ns = gpc_cgroup_ns_new(g, T(t2));
	CHECK(!GPC_IS_ERR(ns) && ns, "cgroup_ns_new: %ld", GPC_PTR_ERR(ns));
	ns_bad = gpc_cgroup_ns_new(NULL, T(t2));
	CHECK(GPC_IS_ERR(ns_bad) && GPC_PTR_ERR(ns_bad) == -EINVAL, "NULL instance");
	CHECK(wr_pid(g, u, "/b/y/cgroup.procs", NULL, t2->pid) == 0, "t2 moves on");
	s = proc_pid_ns(g, t1, ns, &err);
	CHECK(s && strstr(s, "0::/../a\n"), "t1 from /b: %ld %s", err, s ? s : "");
	free(s);
	s = proc_pid_ns(g, t2, ns, &err);
	CHECK(s && strstr(s, "0::/y\n"), "t2 from /b: %ld %s", err, s ? s : "");
	free(s);
	s = proc_pid_ns(g, c1, NULL, &err);
	CHECK(s && strstr(s, "0::/b\n"), "c1 from the initial namespace: %ld %s", err, s ? s : "");
	free(s);
	/* nsdelegate: moves stay inside the namespace. */
	CHECK(gpc_write_ns(g, u, "/b/cgroup.procs", NULL, ns, "0", 0) == 0, "an empty write");
	{
		char pid[16];
		snprintf(pid, sizeof(pid), "%u", t1->pid);
		CHECK(gpc_write_ns(g, u, "/b/cgroup.procs", NULL, ns, pid, strlen(pid)) == -ENOENT,
		      "a move from outside the namespace");
		snprintf(pid, sizeof(pid), "%u", c1->pid);
		CHECK(gpc_write_ns(g, u, "/b/y/cgroup.procs", NULL, ns, pid, strlen(pid)) == 0,
		      "a move inside it");
	}
	c3 = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork_into(g, T(init), T(c3), u, "/b", ns) == -ENOENT,
	      "clone from outside the namespace");
	CHECK(gpc_fork_into(g, T(t2), T(c3), u, "/b", ns) == 0, "clone inside it");
	ktask_publish(c3);
	g2 = gpc_init(&khost);
	CHECK(!GPC_IS_ERR(g2), "second instance");
	CHECK(gpc_proc_pid_cgroup_ns(g2, T(t1), ns, NULL, 0) == -EINVAL, "another instance's ns");
	CHECK(gpc_write_ns(g2, 0, "/cgroup.procs", NULL, ns, "1", 1) == -EINVAL,
	      "another instance's ns, written");
	gpc_destroy(g2);

	/* cgroup.kill: every process of the group gets SIGKILL; a killed parent cannot fork. */
	CHECK(wr(g, u, "/a/cgroup.kill", NULL, "1") == 0, "kill /a");
	CHECK((jobctl(t1) & KJOB_KILLED) && (jobctl(t3) & KJOB_KILLED) &&
		      (jobctl(c2) & KJOB_KILLED) && !(jobctl(t2) & KJOB_KILLED),
	      "killed: t1 %d t3 %d c2 %d t2 %d", jobctl(t1), jobctl(t3), jobctl(c2), jobctl(t2));
	{
		struct ktask *k = ktask_new(NULL, ROOT, 0);
		CHECK(gpc_fork(g, T(t1), T(k)) == -EINTR, "a killed parent forks");
		ktask_abort(k);
	}
	ktask_exit(g, t3);
	ktask_exit(g, t1);
	ktask_exit(g, c2);
	file_eq(g, u, "/a/cgroup.events", "populated 0\nfrozen 0\n");
	CHECK(gpc_enter_frozen(g, T(c3)) == 0 && gpc_leave_frozen(g, T(c3), true) == 0,
	      "stop and run outside a freeze");

	/* Teardown; a namespace outlives its instance. */
	ktask_exit(g, c1);
	ktask_exit(g, c3);
	ktask_exit(g, t2);
	ktask_exit(g, alice);
	ktask_exit(g, init);
	CHECK(gpc_account_cputime(g, T(c3 = ktask_new(NULL, ROOT, 0)), 1) == -ESRCH,
	      "a task never forked");
	ktask_abort(c3);
	gpc_destroy(g);
	gpc_cgroup_ns_free(ns);
	gpc_cgroup_ns_free(NULL);
}

static void test_instances(void)
{
	struct gpc *a = gpc_init(&khost), *b = gpc_init(&khost);
	struct ktask *ia, *ib, *t, *child;
	char *before, *after, *listed, pid[16];
	long err;
	int ha, hb;

	printf("instances:\n");
	CHECK(!GPC_IS_ERR(a) && !GPC_IS_ERR(b), "gpc_init");
	ia = ktask_new(NULL, ROOT, 0);
	ib = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(a, T(ia)) == 0 && gpc_init_task(b, T(ib)) == 0, "init tasks");
	CHECK(gpc_init_task(b, T(ia)) == -EBUSY, "a's init into b");
	ktask_publish(ia);
	ktask_publish(ib);
	t = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(a, T(ia), T(t)) == 0, "fork in a");
	ktask_publish(t);
	snprintf(pid, sizeof(pid), "%u", t->pid);
	ha = gpc_mount(a, "cpu", NULL);
	hb = gpc_mount(b, "cpu", NULL);
	CHECK(ha > 0 && hb > 0, "mounts %d %d", ha, hb);
	CHECK(gpc_mkdir(a, ha, "/x") == 0 && gpc_mkdir(b, hb, "/x") == 0, "mkdirs");
	CHECK(gpc_attach(a, ha, "/x", T(t)) == 0, "attach in a");
	before = proc_pid(a, t, &err);

	/* Every export that takes a's task refuses it in b, and b does not list it. */
	child = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(b, T(t), T(child)) == -EINVAL, "fork from a's task in b");
	ktask_abort(child);
	CHECK(gpc_attach(b, hb, "/x", T(t)) == -EINVAL, "attach a's task in b");
	CHECK(wr(b, hb, "/x/tasks", NULL, pid) == -EINVAL, "a's pid to b's tasks");
	CHECK(wr(b, hb, "/x/cgroup.procs", NULL, pid) == -EINVAL, "a's pid to b's cgroup.procs");
	CHECK(gpc_proc_pid_cgroup(b, T(t), NULL, 0) == -EINVAL, "/proc/PID/cgroup in b");
	CHECK(gpc_exit(b, T(t)) == -EINVAL, "exit a's task in b");
	listed = rd(b, hb, "/tasks", NULL, &err);
	CHECK(listed && count_lines(listed) == 1 && (uint32_t)atol(listed) == ib->pid,
	      "b's root lists only b's init:\n%s", listed ? listed : "(error)");
	free(listed);
	gpc_rcu_read_lock();
	CHECK(gpc_task_css(a, T(t), GPC_SS_CPU) != NULL, "lookup in a");
#ifdef GPC_KSHIM_DEBUG
	CHECK(gpc_task_css(b, T(t), GPC_SS_CPU) == NULL, "debug build: lookup in b");
	{
		uint64_t shares;
		CHECK(gpc_cpu_shares(b, T(t), &shares) == -EINVAL &&
			      gpc_memory_charge(b, T(t), 4096) == -EINVAL,
		      "debug build: enforcement in b");
	}
#endif
	gpc_rcu_read_unlock();
#ifdef GPC_KSHIM_DEBUG
	/* Re-initialising an attached slot would leak its reference. */
	CHECK(gpc_task_slot_init(&t->cg) == -EINVAL, "debug build: re-init of an attached slot");
#endif
	after = proc_pid(a, t, &err);
	CHECK(before && after && !strcmp(before, after), "a's task changed:\n%s---\n%s", before,
	      after);
	free(before);
	free(after);

	ktask_exit(a, t);
	CHECK(gpc_rmdir(a, ha, "/x") == 0 && gpc_rmdir(b, hb, "/x") == 0, "rmdirs");
	CHECK(gpc_umount(a, ha) == 0 && gpc_umount(b, hb) == 0, "umounts");
	ktask_exit(a, ia);
	ktask_exit(b, ib);
	gpc_destroy(a);
	gpc_destroy(b);
	printf("  a task of another instance: -EINVAL from fork, attach, tasks, cgroup.procs, "
	       "/proc/PID/cgroup, exit; not listed%s\n",
#ifdef GPC_KSHIM_DEBUG
	       "; debug build: lookup NULL, enforcement -EINVAL, re-init of an attached slot "
	       "-EINVAL"
#else
	       ""
#endif
	);
}

/* ------------------------------------------------------------------------------ */
/* 1c. Enforcement: each controller's entry point, after writing its control files. */
/* ------------------------------------------------------------------------------ */

/* Read a file and compare it with want; the text, for messages, in got. */
static bool file_is(struct gpc *g, int h, const char *path, const char *want, char *got, size_t n)
{
	long err;
	char *s = rd(g, h, path, NULL, &err);
	snprintf(got, n, "%s", s ? s : "(error)");
	free(s);
	return s && !strcmp(got, want);
}

/* Every enforcement answer for t, in atomic context (inside an RCU read-side section):
 * none may allocate or sleep (the kernel stand-in counts both). */
struct answers {
	int shares_rc, bw_rc[3], frozen, dev_rc[8], classid_rc, cpuacct_rc[2], weight_rc;
	uint64_t shares;
	struct gpc_cpu_weight weight;
	struct gpc_cpu_bandwidth bw[3];
	long cpus, mems;
	unsigned long cpumask[2], memmask[2];
	uint32_t classid;
};

static const struct {
	int type;
	uint32_t major, minor;
	unsigned access;
} DEVS[8] = {
	{ GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_READ },
	{ GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_READ | GPC_DEVCG_ACC_WRITE },
	{ GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_MKNOD },
	{ GPC_DEVCG_DEV_CHAR, 1, 5, GPC_DEVCG_ACC_READ },
	{ GPC_DEVCG_DEV_BLOCK, 1, 3, GPC_DEVCG_ACC_READ },
	{ 3, 1, 3, GPC_DEVCG_ACC_READ },  /* no such type */
	{ GPC_DEVCG_DEV_CHAR, 1, 3, 0 },  /* no access bit */
	{ GPC_DEVCG_DEV_CHAR, 1, 3, 8 },  /* an unknown bit */
};

static void ask_all(struct gpc *g, struct ktask *t, struct answers *a)
{
	struct kalloc_stats before, after;
	long violations = kernel_atomic_violations();

	memset(a, 0, sizeof(*a));
	kalloc_stats(&before);
	gpc_rcu_read_lock();
	a->shares_rc = gpc_cpu_shares(g, T(t), &a->shares);
	a->weight_rc = gpc_cpu_weight(g, T(t), 0, &a->weight);
	for (unsigned l = 0; l < 3; l++)
		a->bw_rc[l] = gpc_cpu_bandwidth(g, T(t), l, &a->bw[l]);
	a->cpus = gpc_cpuset_cpus(g, T(t), a->cpumask, 8 * sizeof(a->cpumask));
	a->mems = gpc_cpuset_mems(g, T(t), a->memmask, 8 * sizeof(a->memmask));
	for (int i = 0; i < 8; i++)
		a->dev_rc[i] = gpc_device_access(g, T(t), DEVS[i].type, DEVS[i].major, DEVS[i].minor,
						 DEVS[i].access);
	a->frozen = gpc_freezer_frozen(g, T(t));
	a->classid_rc = gpc_net_cls_classid(g, T(t), &a->classid);
	a->cpuacct_rc[0] = gpc_cpuacct_charge(g, T(t), 1, 1000, true);
	a->cpuacct_rc[1] = gpc_cpuacct_charge(g, T(t), 2, 500, false);
	gpc_rcu_read_unlock();
	kalloc_stats(&after);
	CHECK(after.total == before.total && after.failed == before.failed,
	      "enforcement allocated %ld times", after.total - before.total);
	CHECK(kernel_atomic_violations() == violations, "enforcement slept in atomic context");
}

static void test_enforcement(void)
{
	struct gpc *g = gpc_init(&khost);
	struct ktask *init, *t, *stranger;
	struct answers a;
	struct kalloc_stats al;
	char got[256];
	uint64_t u64;
	unsigned long mask[4];
	int hc, hs, hd, hm;

	printf("enforcement:\n");
	CHECK(!GPC_IS_ERR(g), "gpc_init");
	if (GPC_IS_ERR(g))
		return;
	init = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(g, T(init)) == 0, "init_task");
	ktask_publish(init);
	t = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(g, T(init), T(t)) == 0, "fork");
	ktask_publish(t);

	/* Nothing mounted: every controller answers for its root group. */
	ask_all(g, t, &a);
	CHECK(a.shares_rc == 0 && a.shares == 1024, "root shares %d %llu", a.shares_rc,
	      (unsigned long long)a.shares);
	CHECK(a.weight_rc == 0 && a.weight.shares == 1024 && a.weight.weight == 100,
	      "root weight %d %u", a.weight_rc, a.weight.weight);
	CHECK(a.bw_rc[0] == 0 && a.bw[0].quota_us == -1 && a.bw[0].period_us == 0,
	      "root bandwidth %d %lld", a.bw_rc[0], (long long)a.bw[0].quota_us);
	CHECK(a.bw_rc[1] == -ENOENT, "above the root: %d", a.bw_rc[1]);
	CHECK(a.cpus == NR_VCPUS && a.cpumask[0] == (1ul << NR_VCPUS) - 1 && a.cpumask[1] == 0,
	      "root cpus %ld %#lx", a.cpus, a.cpumask[0]);
	CHECK(a.mems == 2 && a.memmask[0] == 3, "root mems %ld %#lx", a.mems, a.memmask[0]);
	for (int i = 0; i < 5; i++)
		CHECK(a.dev_rc[i] == 0, "root allows every device (%d): %d", i, a.dev_rc[i]);
	for (int i = 5; i < 8; i++)
		CHECK(a.dev_rc[i] == -EINVAL, "bad device query %d: %d", i, a.dev_rc[i]);
	CHECK(a.frozen == 0, "root frozen %d", a.frozen);
	CHECK(a.classid_rc == 0 && a.classid == 0, "root classid %d %u", a.classid_rc, a.classid);
	CHECK(gpc_memory_charge(g, T(t), 1 << 20) == 0 && gpc_memory_uncharge(g, T(t), 1 << 20) == 0,
	      "charges to the root are not limited");

	hc = gpc_mount(g, "cpu,cpuacct", NULL);
	hs = gpc_mount(g, "cpuset", NULL);
	hd = gpc_mount(g, "devices,freezer", NULL);
	hm = gpc_mount(g, "memory,net_cls", NULL);
	CHECK(hc > 0 && hs > 0 && hd > 0 && hm > 0, "mounts %d %d %d %d", hc, hs, hd, hm);
	CHECK(gpc_mkdir(g, hc, "/a") == 0 && gpc_mkdir(g, hc, "/a/b") == 0, "mkdir cpu");
	CHECK(gpc_mkdir(g, hs, "/a") == 0 && gpc_mkdir(g, hd, "/a") == 0 && gpc_mkdir(g, hm, "/a") == 0,
	      "mkdirs");
	CHECK(wr(g, hc, "/a/b/cpu.shares", NULL, "512") == 0, "cpu.shares");
	CHECK(wr(g, hc, "/a/cpu.cfs_quota_us", NULL, "50000") == 0, "cfs_quota_us");
	CHECK(wr(g, hc, "/a/cpu.cfs_burst_us", NULL, "1000") == 0, "cfs_burst_us");
	CHECK(wr(g, hc, "/a/b/cpu.cfs_period_us", NULL, "20000") == 0, "cfs_period_us");
	CHECK(wr(g, hc, "/a/b/cpu.cfs_quota_us", NULL, "10000") == 0, "b's quota");
	CHECK(wr(g, hs, "/a/cpuset.cpus", NULL, "1-2") == 0, "cpuset.cpus");
	CHECK(wr(g, hs, "/a/cpuset.mems", NULL, "1") == 0, "cpuset.mems");
	CHECK(wr(g, hd, "/a/devices.deny", NULL, "a") == 0, "devices.deny a");
	CHECK(wr(g, hd, "/a/devices.allow", NULL, "c 1:3 rw") == 0, "devices.allow");
	CHECK(wr(g, hd, "/a/freezer.state", NULL, "FROZEN") == 0, "freezer.state");
	CHECK(wr(g, hm, "/a/memory.limit_in_bytes", NULL, "8192") == 0, "memory limit");
	CHECK(wr(g, hm, "/a/net_cls.classid", NULL, "0x100001") == 0, "net_cls.classid");
	CHECK(gpc_attach(g, hc, "/a/b", T(t)) == 0 && gpc_attach(g, hs, "/a", T(t)) == 0 &&
		      gpc_attach(g, hd, "/a", T(t)) == 0 && gpc_attach(g, hm, "/a", T(t)) == 0,
	      "attach");

	ask_all(g, t, &a);
	CHECK(a.shares_rc == 0 && a.shares == 512, "shares %d %llu", a.shares_rc,
	      (unsigned long long)a.shares);
	/* The v2 view of the same weight: sched_weight_to_cgroup(512) = 50. */
	CHECK(a.weight_rc == 0 && a.weight.shares == 512 && a.weight.weight == 50 &&
		      a.weight.idle == 0,
	      "weight %d %llu %u %d", a.weight_rc, (unsigned long long)a.weight.shares,
	      a.weight.weight, a.weight.idle);
	CHECK(a.bw_rc[0] == 0 && a.bw[0].quota_us == 10000 && a.bw[0].period_us == 20000 &&
		      a.bw[0].burst_us == 0,
	      "b's bandwidth %d %lld/%llu", a.bw_rc[0], (long long)a.bw[0].quota_us,
	      (unsigned long long)a.bw[0].period_us);
	CHECK(a.bw_rc[1] == 0 && a.bw[1].quota_us == 50000 && a.bw[1].period_us == 100000 &&
		      a.bw[1].burst_us == 1000,
	      "a's bandwidth %d %lld/%llu burst %llu", a.bw_rc[1], (long long)a.bw[1].quota_us,
	      (unsigned long long)a.bw[1].period_us, (unsigned long long)a.bw[1].burst_us);
	CHECK(a.bw_rc[2] == 0 && a.bw[2].quota_us == -1, "the root's bandwidth %d %lld", a.bw_rc[2],
	      (long long)a.bw[2].quota_us);
	CHECK(gpc_cpu_bandwidth(g, T(t), 3, &a.bw[0]) == -ENOENT, "above the root");
	CHECK(a.cpus == 2 && a.cpumask[0] == 0x6 && a.cpumask[1] == 0, "cpus %ld %#lx", a.cpus,
	      a.cpumask[0]);
	CHECK(a.mems == 1 && a.memmask[0] == 0x2, "mems %ld %#lx", a.mems, a.memmask[0]);
	CHECK(a.dev_rc[0] == 0 && a.dev_rc[1] == 0, "c 1:3 r, rw allowed: %d %d", a.dev_rc[0],
	      a.dev_rc[1]);
	CHECK(a.dev_rc[2] == -EPERM && a.dev_rc[3] == -EPERM && a.dev_rc[4] == -EPERM,
	      "c 1:3 m, c 1:5 r, b 1:3 r refused: %d %d %d", a.dev_rc[2], a.dev_rc[3], a.dev_rc[4]);
	CHECK(a.frozen == 1, "frozen %d", a.frozen);
	CHECK(a.classid_rc == 0 && a.classid == 0x100001, "classid %#x", a.classid);
	CHECK(file_is(g, hc, "/a/b/cpuacct.usage", "1500\n", got, sizeof(got)), "usage %s", got);
	CHECK(file_is(g, hc, "/a/cpuacct.usage_user", "1000\n", got, sizeof(got)), "user %s", got);
	CHECK(file_is(g, hc, "/a/cpuacct.usage_sys", "500\n", got, sizeof(got)), "sys %s", got);
	CHECK(a.cpuacct_rc[0] == 0 && a.cpuacct_rc[1] == 0, "cpuacct charges");
	CHECK(gpc_cpuacct_charge(g, T(t), NR_VCPUS, 1, true) == -EINVAL, "a CPU past the machine");

	/* Bitmaps: size query, too small, NULL with a size. */
	CHECK(gpc_cpuset_cpus(g, T(t), NULL, 0) == NR_VCPUS, "cpus size query");
	CHECK(gpc_cpuset_mems(g, T(t), NULL, 0) == 2, "mems size query");
	mask[0] = 0xdead;
	CHECK(gpc_cpuset_cpus(g, T(t), mask, NR_VCPUS - 1) == -EOVERFLOW && mask[0] == 0xdead,
	      "a bitmap too small is -EOVERFLOW, nothing written");
	CHECK(gpc_cpuset_cpus(g, T(t), mask, NR_VCPUS) == 2 && mask[0] == 0x6, "exact size");
	CHECK(gpc_cpuset_cpus(g, T(t), NULL, 64) == -EINVAL, "NULL mask");

	/* The freezer: thawing the group thaws the task. */
	CHECK(wr(g, hd, "/a/freezer.state", NULL, "THAWED") == 0 && gpc_freezer_frozen(g, T(t)) == 0,
	      "thawed");

	/* Memory: the limit refuses, counts a failure and changes nothing else. */
	CHECK(gpc_memory_charge(g, T(t), 4096) == 0, "charge a page");
	CHECK(gpc_memory_charge(g, T(t), 4097) == -ENOMEM, "two more pages over 8192 bytes");
	CHECK(file_is(g, hm, "/a/memory.failcnt", "1\n", got, sizeof(got)), "failcnt %s", got);
	CHECK(file_is(g, hm, "/a/memory.usage_in_bytes", "4096\n", got, sizeof(got)), "usage %s",
	      got);
	CHECK(gpc_memory_charge(g, T(t), 4096) == 0, "the second page fits");
	CHECK(file_is(g, hm, "/a/memory.max_usage_in_bytes", "8192\n", got, sizeof(got)), "peak %s",
	      got);
	CHECK(gpc_memory_uncharge(g, T(t), 8192) == 0, "uncharge");
	CHECK(file_is(g, hm, "/a/memory.usage_in_bytes", "0\n", got, sizeof(got)), "usage %s", got);

	/* The common refusals. */
	stranger = ktask_new(NULL, ROOT, 0); /* never forked: not attached */
	CHECK(gpc_cpu_shares(g, T(stranger), &u64) == -ESRCH, "a task not attached");
	CHECK(gpc_memory_charge(g, T(stranger), 1) == -ESRCH, "charge a task not attached");
	ktask_abort(stranger);
	CHECK(gpc_cpu_shares(g, NULL, &u64) == -EINVAL, "NULL task");
	CHECK(gpc_cpu_shares(NULL, T(t), &u64) == -EINVAL, "NULL instance");
	CHECK(gpc_cpu_shares(g, T(t), NULL) == -EINVAL, "NULL out");
	CHECK(gpc_net_cls_classid(g, T(t), NULL) == -EINVAL, "NULL classid");
	CHECK(gpc_cpu_bandwidth(g, T(t), 0, NULL) == -EINVAL, "NULL bandwidth");
	CHECK(gpc_freezer_frozen((struct gpc *)(uintptr_t)-EINVAL, T(t)) == -EINVAL, "ERR_PTR");

	ktask_exit(g, t);
	CHECK(gpc_cpu_shares(g, T(init), &u64) == 0 && u64 == 1024, "init in the root");
	CHECK(gpc_rmdir(g, hc, "/a/b") == 0 && gpc_rmdir(g, hc, "/a") == 0 &&
		      gpc_rmdir(g, hs, "/a") == 0 && gpc_rmdir(g, hd, "/a") == 0 &&
		      gpc_rmdir(g, hm, "/a") == 0,
	      "rmdirs");
	CHECK(gpc_umount(g, hc) == 0 && gpc_umount(g, hs) == 0 && gpc_umount(g, hd) == 0 &&
		      gpc_umount(g, hm) == 0,
	      "umounts");
	ktask_exit(g, init);
	gpc_destroy(g);
	gpc_synchronize_rcu();
	kalloc_stats(&al);
	CHECK(al.live == 0, "%ld allocations left", al.live);
	printf("  cpu.shares, cfs quota/period/burst per level, cpuset cpus/mems bitmaps, "
	       "device checks, freezer, memory charge/limit/failcnt, net_cls classid, cpuacct "
	       "charge: as the control files say, in atomic context, without allocating\n");
}

/* ------------------------------------------------------------------------------ */
/* 1c. Memory: charge -> reclaim -> OOM -> retry, against kernel.c's page store.     */
/* ------------------------------------------------------------------------------ */

#define PG 4096ull
/* The memory tests' own host context: the page store keys its lists by it. */
static struct khost mem_host;
/* The context the helpers below file pages under (the storm has its own instance). */
static void *MCTX = &mem_host;

/* The number in a file ("123\n"). */
static uint64_t file_u64(struct gpc *g, int h, const char *path)
{
	long err;
	char *s = rd(g, h, path, NULL, &err);
	uint64_t v = s ? strtoull(s, NULL, 10) : UINT64_MAX;
	CHECK(s != NULL, "%s: %ld", path, err);
	free(s);
	return v;
}

/* One line ("key value") of a group's memory.stat. */
static uint64_t mstat(struct gpc *g, int h, const char *dir, const char *key)
{
	char path[256], *s, *p;
	long err;
	uint64_t v = UINT64_MAX;
	size_t k = strlen(key);
	snprintf(path, sizeof(path), "%s/memory.stat", dir);
	s = rd(g, h, path, NULL, &err);
	for (p = s; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, key, k) && p[k] == ' ') {
			v = strtoull(p + k + 1, NULL, 10);
			break;
		}
	}
	CHECK(v != UINT64_MAX, "%s: no %s", path, key);
	free(s);
	return v;
}

/* A process forked from parent into group path (NULL: parent's). */
static struct ktask *mem_fork(struct gpc *g, int h, struct ktask *parent, struct ktask *thread_of,
			      const char *path, uint64_t footprint)
{
	struct ktask *t = ktask_new(thread_of, ROOT, 0);
	CHECK(gpc_fork(g, T(parent), T(t)) == 0, "fork");
	ktask_publish(t);
	if (path)
		CHECK(gpc_attach(g, h, path, T(t)) == 0, "attach %s", path);
	atomic_store(&t->footprint, footprint);
	return t;
}

/* A page fault of n anonymous pages: charged, then on the group's list (and the
 * process's footprint), as a kernel's do_anonymous_page does. */
static int fault(struct gpc *g, struct ktask *t, uint64_t n, unsigned flags,
		 struct gpc_mem_charge *out)
{
	int r = gpc_mem_charge(g, T(t), n, GPC_LRU_INACTIVE_ANON, flags, out);
	if (r == 0) {
		kmm_add(MCTX, out->group, GPC_LRU_INACTIVE_ANON, n, 0);
		atomic_fetch_add(&t->leader->footprint, n);
	}
	return r;
}

/* n pages of page cache read (dirty of them written) by t. */
static int readfile(struct gpc *g, struct ktask *t, uint64_t n, uint64_t dirty,
		    struct gpc_mem_charge *out)
{
	int r = gpc_mem_charge(g, T(t), n, GPC_LRU_INACTIVE_FILE, 0, out);
	if (r == 0) {
		kmm_add(MCTX, out->group, GPC_LRU_INACTIVE_FILE, n, dirty);
		if (dirty)
			CHECK(gpc_mem_dirty(g, NULL, out->group, dirty, true) == 0, "dirty");
	}
	return r;
}

/* The kernel frees n anonymous pages of t's (in group). */
static void free_anon(struct gpc *g, struct ktask *t, uint64_t group, uint64_t n)
{
	CHECK(gpc_mem_uncharge(g, NULL, group, n, GPC_LRU_INACTIVE_ANON) == 0, "uncharge");
	kmm_sub(MCTX, group, GPC_LRU_INACTIVE_ANON, n);
	atomic_fetch_sub(&t->leader->footprint, n);
}

static void mem_oom_control(struct gpc *g, int h, const char *dir, int disable, int under, int kills)
{
	char path[256], want[128];
	snprintf(path, sizeof(path), "%s/memory.oom_control", dir);
	snprintf(want, sizeof(want), "oom_kill_disable %d\nunder_oom %d\noom_kill %d\n", disable,
		 under, kills);
	file_eq(g, h, path, want);
}

static void test_memory(void)
{
	struct gpc *g = gpc_init(&mem_host);
	struct ktask *init, *p1, *p1t, *p2, *p3, *p4;
	struct gpc_mem_charge out;
	struct kalloc_stats al;
	uint64_t a, b, c, got, before, delay;
	long calls;
	int h, r;

	printf("memory (charge -> reclaim -> OOM -> retry, through gpc_reclaim_pages):\n");
	CHECK(!GPC_IS_ERR(g), "gpc_init");
	if (GPC_IS_ERR(g))
		return;
	kmm_set_swap(0);
	init = ktask_new(NULL, ROOT, 0);
	atomic_store(&init->unkillable, 1);
	CHECK(gpc_init_task(g, T(init)) == 0, "init_task");
	ktask_publish(init);
	h = gpc_mount(g, "memory", NULL);
	CHECK(h > 0, "mount memory: %d", h);
	CHECK(gpc_mkdir(g, h, "/a") == 0 && gpc_mkdir(g, h, "/a/b") == 0 && gpc_mkdir(g, h, "/a/c") == 0,
	      "mkdirs");
	CHECK(wr(g, h, "/a/memory.limit_in_bytes", NULL, "65536") == 0, "16 pages in /a");
	a = dir_id(g, h, "/a");
	b = dir_id(g, h, "/a/b");
	c = dir_id(g, h, "/a/c");
	p1 = mem_fork(g, h, init, NULL, "/a/b", 0);
	p1t = mem_fork(g, h, p1, p1, NULL, 0); /* a thread of p1, in /a/b with it */
	p2 = mem_fork(g, h, init, NULL, "/a/c", 0);

	/* p2 reads 6 pages of a file and writes 2 of them; p1 faults 8 anonymous pages. */
	r = readfile(g, p2, 6, 2, &out);
	CHECK(r == 0 && out.group == c && out.reclaimed == 0, "read 6: %d group %llu", r,
	      (unsigned long long)out.group);
	CHECK(mstat(g, h, "/a/c", "dirty") == 2 * PG, "2 dirty pages");
	r = fault(g, p1, 8, GPC_MEM_USER_FAULT, &out);
	CHECK(r == 0 && out.group == b, "fault 8: %d", r);
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 14 * PG, "14 pages in /a");

	/* 4 more do not fit: the clean page cache of /a/c goes (the dirty pages start
	 * writeback and stay), then they do. The thread's charge is its process's group's. */
	calls = kmm_reclaim_calls();
	r = fault(g, p1t, 4, GPC_MEM_USER_FAULT, &out);
	CHECK(r == 0 && out.group == b && out.reclaimed == 4 && out.killed == 0 && out.wait == 0,
	      "fault 4 after reclaim: %d group %llu reclaimed %llu", r, (unsigned long long)out.group,
	      (unsigned long long)out.reclaimed);
	CHECK(kmm_reclaim_calls() > calls, "gpc_reclaim_pages was called");
	CHECK(kmm_pages(&mem_host, c, GPC_LRU_INACTIVE_FILE) == 2 &&
		      kmm_writeback(&mem_host, c, GPC_LRU_INACTIVE_FILE) == 2,
	      "2 pages under writeback left: %llu",
	      (unsigned long long)kmm_pages(&mem_host, c, GPC_LRU_INACTIVE_FILE));
	CHECK(mstat(g, h, "/a/c", "writeback") == 2 * PG && mstat(g, h, "/a/c", "dirty") == 0,
	      "writeback in memory.stat");
	CHECK(mstat(g, h, "/a/b", "inactive_anon") == 12 * PG, "12 anonymous pages in /a/b");
	CHECK(file_u64(g, h, "/a/memory.failcnt") == 1, "one refusal");
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 14 * PG, "14 pages in /a again");

	/* p2 faults 4: nothing reclaimable (writeback is skipped, no swap): the OOM killer
	 * of /a takes the largest process, p1 (12 pages), asynchronously. */
	r = fault(g, p2, 4, GPC_MEM_USER_FAULT, &out);
	CHECK(r == -EAGAIN && out.wait == GPC_MEM_WAIT_VICTIM && out.killed == 1 && out.group == a,
	      "OOM: %d wait %d killed %u group %llu", r, out.wait, out.killed,
	      (unsigned long long)out.group);
	CHECK(jobctl(p1) & KJOB_KILLED, "p1 was sent SIGKILL");
	CHECK(!(jobctl(p2) & KJOB_KILLED), "p2 was not");
	mem_oom_control(g, h, "/a/b", 0, 0, 1);
	/* v1 counts an OOM kill in the victim's group alone (memcg_memory_event stops
	 * there when memory is not on the default hierarchy). */
	mem_oom_control(g, h, "/a", 0, 0, 0);
	mem_oom_control(g, h, "/a/c", 0, 0, 0);
	/* Charging again before p1 has exited kills nobody else: p1 is dying. */
	r = fault(g, p2, 4, GPC_MEM_USER_FAULT, &out);
	CHECK(r == -EAGAIN && out.wait == GPC_MEM_WAIT_VICTIM && out.killed == 0,
	      "the victim is dying: %d wait %d killed %u", r, out.wait, out.killed);
	mem_oom_control(g, h, "/a/b", 0, 0, 1);
	/* p1 exits (the kernel frees its pages), and p2's fault goes through. */
	free_anon(g, p1, b, 12);
	ktask_exit(g, p1t);
	ktask_exit(g, p1);
	r = fault(g, p2, 4, GPC_MEM_USER_FAULT, &out);
	CHECK(r == 0 && out.group == c, "retry after the victim exited: %d", r);
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 6 * PG, "6 pages in /a");

	/* p2 alone: 8 more fit, 4 after them do not, and the OOM killer chooses p2 itself:
	 * its charge fails. */
	CHECK(fault(g, p2, 8, GPC_MEM_USER_FAULT, &out) == 0, "8 more");
	r = fault(g, p2, 4, GPC_MEM_USER_FAULT, &out);
	CHECK(r == -ENOMEM && out.killed == 1 && (jobctl(p2) & KJOB_KILLED),
	      "the caller is the victim: %d killed %u", r, out.killed);
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 14 * PG, "nothing charged");
	CHECK(gpc_mem_uncharge(g, T(p2), 0, 12, GPC_LRU_INACTIVE_ANON) == 0, "p2's pages go (by task)");
	kmm_sub(&mem_host, c, GPC_LRU_INACTIVE_ANON, 12);
	ktask_exit(g, p2);
	/* The flusher cleans the 2 pages. */
	CHECK(gpc_mem_writeback(g, NULL, c, 2, false) == 0, "writeback done");
	kmm_end_writeback(&mem_host, c, GPC_LRU_INACTIVE_FILE, 2);
	CHECK(mstat(g, h, "/a/c", "writeback") == 0, "writeback 0");

	/* An unkillable process with 9 pages: 8 more need more than the 2 clean pages
	 * reclaim finds, and nobody can be killed. NOWAIT and NO_OOM stop earlier. */
	p3 = mem_fork(g, h, init, NULL, "/a/b", 0);
	atomic_store(&p3->unkillable, 1);
	CHECK(fault(g, p3, 9, GPC_MEM_USER_FAULT, &out) == 0, "9 pages");
	calls = kmm_reclaim_calls();
	r = fault(g, p3, 8, GPC_MEM_NOWAIT, &out);
	CHECK(r == -ENOMEM && out.reclaimed == 0 && kmm_reclaim_calls() == calls,
	      "NOWAIT: %d, no reclaim", r);
	r = fault(g, p3, 8, GPC_MEM_NO_OOM, &out);
	CHECK(r == -ENOMEM && out.reclaimed == 2 && out.killed == 0, "NO_OOM: %d reclaimed %llu", r,
	      (unsigned long long)out.reclaimed);
	CHECK(kmm_pages(&mem_host, c, GPC_LRU_INACTIVE_FILE) == 0, "the cache is gone");
	r = fault(g, p3, 8, GPC_MEM_USER_FAULT, &out);
	CHECK(r == -ENOMEM && out.killed == 0 && out.wait == 0, "nothing to kill: %d", r);
	mem_oom_control(g, h, "/a/b", 0, 0, 1); /* p1 */
	mem_oom_control(g, h, "/a/c", 0, 0, 1); /* p2, by its own charge */
	/* A killable process: more than 8 pages at once (above PAGE_ALLOC_COSTLY_ORDER)
	 * still never kills. */
	atomic_store(&p3->unkillable, 0);
	r = fault(g, p3, 9, GPC_MEM_USER_FAULT, &out);
	CHECK(r == -ENOMEM && out.killed == 0 && !(jobctl(p3) & KJOB_KILLED),
	      "a costly charge: %d killed %u", r, out.killed);
	atomic_store(&p3->unkillable, 1);

	/* v1 oom_kill_disable: a fault waits (under_oom 1), another charge fails, freed
	 * memory lets the fault through, and the wait ends. */
	CHECK(wr(g, h, "/a/memory.oom_control", NULL, "1") == 0, "oom_kill_disable");
	CHECK(fault(g, p3, 7, GPC_MEM_USER_FAULT, &out) == 0, "16 pages");
	atomic_store(&p3->unkillable, 0);
	r = fault(g, p3, 1, GPC_MEM_USER_FAULT, &out);
	CHECK(r == -EAGAIN && out.wait == GPC_MEM_WAIT_OOM && out.group == a && out.killed == 0,
	      "the fault waits: %d wait %d", r, out.wait);
	mem_oom_control(g, h, "/a", 1, 1, 0);
	mem_oom_control(g, h, "/a/b", 0, 1, 1); /* under_oom reads 1 below a waiting group */
	r = fault(g, p3, 1, 0, &out);
	CHECK(r == -ENOMEM && out.wait == 0 && !(jobctl(p3) & KJOB_KILLED), "no fault, no wait: %d",
	      r);
	free_anon(g, p3, b, 1);
	r = fault(g, p3, 1, GPC_MEM_USER_FAULT, &out);
	CHECK(r == 0, "after a page was freed: %d", r);
	CHECK(gpc_mem_oom_wait_done(g, a) == 0, "the wait ends");
	mem_oom_control(g, h, "/a", 1, 0, 0);

	/* Swap: anonymous pages go out, memsw keeps them, uncharge_swap frees them. */
	kmm_set_swap(8);
	r = fault(g, p3, 4, GPC_MEM_USER_FAULT, &out);
	CHECK(r == 0 && out.reclaimed == 8, "4 more after 8 went to swap: %d reclaimed %llu", r,
	      (unsigned long long)out.reclaimed);
	CHECK(kmm_swapped(&mem_host, b) == 8 && mstat(g, h, "/a/b", "swap") == 8 * PG,
	      "8 pages on swap");
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 12 * PG &&
		      file_u64(g, h, "/a/memory.memsw.usage_in_bytes") == 20 * PG,
	      "memory 12, memsw 20 pages");
	CHECK(gpc_mem_uncharge_swap(g, NULL, b, 8) == 0, "uncharge swap");
	kmm_unswap(&mem_host, b, 8);
	atomic_fetch_sub(&p3->footprint, 8);
	CHECK(file_u64(g, h, "/a/memory.memsw.usage_in_bytes") == 12 * PG, "memsw 12 pages");
	CHECK(wr(g, h, "/a/memory.oom_control", NULL, "0") == 0, "oom killer back on");

	/* The kernel's own shortage: reclaim from every group, then its OOM killer. */
	CHECK(gpc_mem_reclaim(g, GPC_MEM_ROOT, 3, &got) == 0 && got == 3, "global reclaim %llu",
	      (unsigned long long)got);
	kmm_unswap(&mem_host, b, 3);
	CHECK(gpc_mem_uncharge_swap(g, NULL, b, 3) == 0, "uncharge swap");
	atomic_fetch_sub(&p3->footprint, 3);
	p4 = mem_fork(g, h, init, NULL, "/a/c", 0);
	atomic_store(&p4->unkillable, 1);
	r = gpc_mem_oom(g, GPC_MEM_ROOT, T(p4), &out);
	CHECK(r == 0 && out.killed == 1 && (jobctl(p3) & KJOB_KILLED), "global OOM: %d killed %u", r,
	      out.killed);
	r = gpc_mem_oom(g, GPC_MEM_ROOT, NULL, &out);
	CHECK(r == -EAGAIN && out.wait == GPC_MEM_WAIT_VICTIM && out.killed == 0,
	      "p3 is dying: %d", r);
	free_anon(g, p3, b, 9);
	ktask_exit(g, p3);
	r = gpc_mem_oom(g, GPC_MEM_ROOT, NULL, &out);
	CHECK(r == -ENOMEM && out.killed == 0, "nobody left to kill: %d", r);
	mem_oom_control(g, h, "/a/b", 0, 0, 2);
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 0, "/a is empty");

	/* Allocation failures: reclaim's list of groups is the one allocation of a charge
	 * (and of gpc_mem_reclaim); each failure is one -ENOMEM that charged nothing,
	 * killed nobody and leaked nothing, and the charge goes through once it fits. */
	atomic_store(&p4->unkillable, 0);
	kmm_set_swap(0);
	CHECK(readfile(g, p4, 12, 0, &out) == 0, "12 pages of cache");
	for (long n = 0; n < 1000; n++) {
		struct kalloc_stats a0, a1;
		long failed;
		before = file_u64(g, h, "/a/memory.usage_in_bytes");
		kalloc_stats(&a0);
		kalloc_take_failed();
		kalloc_fail_nth(n);
		r = gpc_mem_charge(g, T(p4), 8, GPC_LRU_INACTIVE_ANON, 0, &out);
		kalloc_fail_nth(-1);
		failed = kalloc_take_failed();
		kalloc_stats(&a1);
		if (r == -ENOMEM) {
			CHECK(failed == 1 && out.killed == 0 && a1.live == a0.live,
			      "charge, allocation %ld failed: %ld injected, %u killed, live %ld -> %ld", n,
			      failed, out.killed, a0.live, a1.live);
			CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") + out.reclaimed * PG == before,
			      "a failed charge charged nothing");
			continue;
		}
		CHECK(r == 0 && failed == 0 && out.reclaimed >= 4, "charge after %ld failures: %d", n, r);
		kmm_add(&mem_host, c, GPC_LRU_INACTIVE_ANON, 8, 0);
		atomic_fetch_add(&p4->footprint, 8);
		printf("  %-34s ok after %ld injected failures\n", "charge with reclaim", n);
		break;
	}
	CHECK(readfile(g, p4, 4, 0, &out) == 0, "4 pages of cache");
	for (long n = 0; n < 1000; n++) {
		long failed;
		kalloc_take_failed();
		kalloc_fail_nth(n);
		got = 99;
		r = gpc_mem_reclaim(g, a, 2, &got);
		kalloc_fail_nth(-1);
		failed = kalloc_take_failed();
		if (r == -ENOMEM) {
			CHECK(failed == 1 && got == 99, "reclaim, allocation %ld failed: %ld", n, failed);
			continue;
		}
		CHECK(r == 0 && failed == 0 && got == 2, "reclaim after %ld failures: %d %llu", n, r,
		      (unsigned long long)got);
		printf("  %-34s ok after %ld injected failures\n", "gpc_mem_reclaim", n);
		break;
	}
	/* force_empty reclaims through the import too (the write's task table). */
	CHECK(wr(g, h, "/a/c/memory.force_empty", NULL, "0") == 0, "force_empty");
	CHECK(kmm_pages(&mem_host, c, GPC_LRU_INACTIVE_FILE) == 0 &&
		      mstat(g, h, "/a/c", "inactive_file") == 0,
	      "force_empty emptied the cache: %llu",
	      (unsigned long long)kmm_pages(&mem_host, c, GPC_LRU_INACTIVE_FILE));
	/* The NOWAIT charge is lock-free: in an RCU read-side section, no allocation. */
	kalloc_stats(&al);
	gpc_rcu_read_lock();
	r = gpc_mem_charge(g, T(p4), 1, GPC_LRU_ACTIVE_FILE, GPC_MEM_NOWAIT, &out);
	CHECK(r == 0 && out.over_high == 0 && out.high_delay_ms == 0, "NOWAIT in atomic context");
	CHECK(gpc_mem_move(g, T(p4), 0, 1, GPC_LRU_ACTIVE_FILE, GPC_LRU_INACTIVE_FILE) == 0 &&
		      gpc_mem_uncharge(g, T(p4), 0, 1, GPC_LRU_INACTIVE_FILE) == 0,
	      "move and uncharge by task in atomic context");
	gpc_rcu_read_unlock();
	{
		struct kalloc_stats al2;
		kalloc_stats(&al2);
		CHECK(al2.total == al.total, "no allocation on the lock-free path");
	}
	CHECK(gpc_mem_handle_over_high(g, T(p4), 1, &delay) == 0 && delay == 0,
	      "below memory.high: no throttle");
	free_anon(g, p4, c, 8);
	ktask_exit(g, p4);
	CHECK(file_u64(g, h, "/a/memory.usage_in_bytes") == 0, "/a is empty");
	CHECK(kmm_reclaim_violations() == 0, "%ld gpc_reclaim_pages calls in atomic context",
	      kmm_reclaim_violations());

	CHECK(gpc_rmdir(g, h, "/a/b") == 0 && gpc_rmdir(g, h, "/a/c") == 0 && gpc_rmdir(g, h, "/a") == 0,
	      "rmdirs");
	CHECK(gpc_umount(g, h) == 0, "umount");
	ktask_exit(g, init);
	gpc_destroy(g);
	gpc_synchronize_rcu();
	kmm_forget(&mem_host);
	kalloc_stats(&al);
	CHECK(al.live == 0, "%ld allocations left", al.live);
	printf("  reclaim through gpc_reclaim_pages (clean cache, writeback, swap), the OOM "
	       "victim by footprint, a dying victim waited for, the caller as victim, nothing "
	       "to kill, oom_kill_disable waits, the kernel's own reclaim and OOM: as Linux\n");
}

/*
 * The memory storm: each thread is a process in a group of its own under /m, whose limit
 * they share. They fault anonymous pages, read page cache (which the others' charges
 * reclaim) and free pages, with random allocation failures; the OOM killer takes the
 * largest process, whose thread sees SIGKILL, frees its pages and exits, and a new
 * process takes its place. Every charge result is checked, and at the end each group's
 * counter must equal the page store's pages and every kill an exit.
 */
static struct khost mem_storm_host;

struct mworker {
	pthread_t thread;
	int id, iters;
	uint64_t rng;
	struct gpc *g;
	int h;
	struct ktask *init, *me;
	char path[32];
	uint64_t group, anon;
	long charges, eagain, enomem_injected, enomem_killed, frees, exits_killed, killed;
};

static void mstorm_respawn(struct mworker *w)
{
	struct gpc_mem_charge out;
	kalloc_fail_random(0, 0); /* the kernel's own steps do not fail here */
	if (w->anon)
		free_anon(w->g, w->me, w->group, w->anon); /* by id: the group's pages */
	w->anon = 0;
	ktask_exit(w->g, w->me);
	w->exits_killed++;
	w->me = mem_fork(w->g, w->h, w->init, NULL, w->path, 0);
	CHECK(gpc_mem_charge(w->g, T(w->me), 0, GPC_LRU_INACTIVE_ANON, 0, &out) == 0 &&
		      out.group == w->group,
	      "the new process charges to %s", w->path);
	kalloc_fail_random(89, w->rng);
}

static void *mstorm(void *arg)
{
	struct mworker *w = arg;
	kernel_set_cpu((unsigned)w->id);
	kalloc_fail_random(89, w->rng);
	for (int it = 0; it < w->iters; it++) {
		unsigned op = (unsigned)(xorshift(&w->rng) % 10);
		uint64_t k = 1 + xorshift(&w->rng) % 8;
		struct gpc_mem_charge out;
		long failed;
		int r;

		if (jobctl(w->me) & KJOB_KILLED) {
			mstorm_respawn(w);
			continue;
		}
		if (op >= 8) { /* free half of the anonymous pages, by task (lock-free) */
			uint64_t n = w->anon / 2;
			if (!n)
				continue;
			CHECK(gpc_mem_uncharge(w->g, T(w->me), 0, n, GPC_LRU_INACTIVE_ANON) == 0,
			      "uncharge by task");
			kmm_sub(MCTX, w->group, GPC_LRU_INACTIVE_ANON, n);
			atomic_fetch_sub(&w->me->footprint, n);
			w->anon -= n;
			w->frees++;
			continue;
		}
		kalloc_take_failed();
		if (op < 5)
			r = fault(w->g, w->me, k, GPC_MEM_USER_FAULT, &out);
		else
			r = readfile(w->g, w->me, k, 0, &out);
		failed = kalloc_take_failed();
		w->killed += out.killed;
		if (r == 0) {
			CHECK(failed == 0 && out.group == w->group, "charge: group %llu, %ld failures",
			      (unsigned long long)out.group, failed);
			if (op < 5)
				w->anon += k;
			w->charges++;
		} else if (r == -EAGAIN) {
			CHECK(failed == 0 && out.wait == GPC_MEM_WAIT_VICTIM, "-EAGAIN: wait %d", out.wait);
			w->eagain++;
			sched_yield();
		} else if (r == -ENOMEM && failed) {
			CHECK(failed == 1 && out.killed == 0, "-ENOMEM from %ld failures, %u killed", failed,
			      out.killed);
			w->enomem_injected++;
		} else if (r == -ENOMEM) {
			/* Without a failure only a dead or dying caller fails. */
			CHECK(jobctl(w->me) & KJOB_KILLED, "-ENOMEM, but the caller lives");
			w->enomem_killed++;
		} else {
			CHECK(0, "gpc_mem_charge: %d", r);
		}
	}
	kalloc_fail_random(0, 0);
	return NULL;
}

static void test_mem_storm(int nthreads, int iters)
{
	struct gpc *g = gpc_init(&mem_storm_host);
	struct mworker w[8];
	struct ktask *init;
	struct kalloc_stats al;
	long charges = 0, eagain = 0, inj = 0, selfk = 0, frees = 0, exits = 0, killed = 0;
	char line[64];
	int h;

	if (nthreads > 8)
		nthreads = 8;
	printf("memory storm: %d processes x %d charges, uncharges and OOM kills in one limit, "
	       "random allocation failures (1 in 89):\n",
	       nthreads, iters);
	CHECK(!GPC_IS_ERR(g), "gpc_init");
	if (GPC_IS_ERR(g))
		return;
	MCTX = &mem_storm_host;
	kmm_set_swap(0);
	init = ktask_new(NULL, ROOT, 0);
	atomic_store(&init->unkillable, 1);
	CHECK(gpc_init_task(g, T(init)) == 0, "init_task");
	ktask_publish(init);
	h = gpc_mount(g, "memory", NULL);
	CHECK(h > 0 && gpc_mkdir(g, h, "/m") == 0, "mount, mkdir");
	CHECK(wr(g, h, "/m/memory.limit_in_bytes", NULL, "196608") == 0, "48 pages in /m");
	for (int i = 0; i < nthreads; i++) {
		memset(&w[i], 0, sizeof(w[i]));
		w[i].id = i;
		w[i].iters = iters;
		w[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 7);
		w[i].g = g;
		w[i].h = h;
		w[i].init = init;
		snprintf(w[i].path, sizeof(w[i].path), "/m/t%d", i);
		CHECK(gpc_mkdir(g, h, w[i].path) == 0, "mkdir %s", w[i].path);
		w[i].group = dir_id(g, h, w[i].path);
		w[i].me = mem_fork(g, h, init, NULL, w[i].path, 0);
	}
	for (int i = 0; i < nthreads; i++)
		pthread_create(&w[i].thread, NULL, mstorm, &w[i]);
	for (int i = 0; i < nthreads; i++)
		pthread_join(w[i].thread, NULL);
	for (int i = 0; i < nthreads; i++) {
		char path[64];
		uint64_t pages = kmm_pages(MCTX, w[i].group, GPC_LRU_INACTIVE_ANON) +
				 kmm_pages(MCTX, w[i].group, GPC_LRU_INACTIVE_FILE);
		snprintf(path, sizeof(path), "%s/memory.usage_in_bytes", w[i].path);
		CHECK(file_u64(g, h, path) == pages * PG, "%s: the counter is the page store's %llu pages",
		      w[i].path, (unsigned long long)pages);
		CHECK(kmm_pages(MCTX, w[i].group, GPC_LRU_INACTIVE_ANON) == w[i].anon,
		      "%s: anonymous pages", w[i].path);
		if (jobctl(w[i].me) & KJOB_KILLED) {
			mstorm_respawn(&w[i]);
			kalloc_fail_random(0, 0); /* the respawn armed this thread's failures */
		}
		charges += w[i].charges;
		eagain += w[i].eagain;
		inj += w[i].enomem_injected;
		selfk += w[i].enomem_killed;
		frees += w[i].frees;
		exits += w[i].exits_killed;
		killed += w[i].killed;
	}
	CHECK(file_u64(g, h, "/m/memory.usage_in_bytes") <= 48 * PG, "/m within its limit");
	CHECK(killed == exits, "%ld processes killed, %ld exited killed", killed, exits);
	/* v1: each kill counts in the victim's own group (no propagation to /m). */
	{
		long counted = 0;
		for (int i = 0; i < nthreads; i++) {
			char path[64];
			long err;
			snprintf(path, sizeof(path), "%s/memory.oom_control", w[i].path);
			char *s = rd(g, h, path, NULL, &err);
			const char *k = s ? strstr(s, "oom_kill ") : NULL;
			counted += k ? strtol(k + 9, NULL, 10) : 0;
			free(s);
		}
		CHECK(counted == killed, "oom_kill in the workers' groups: %ld, killed %ld", counted,
		      killed);
	}
	snprintf(line, sizeof(line), "oom_kill %d\n", 0);
	file_has(g, h, "/m/memory.oom_control", line);
	CHECK(kmm_reclaim_violations() == 0, "gpc_reclaim_pages in atomic context");
	printf("  %-42s %ld\n", "charges", charges);
	printf("  %-42s %ld\n", "-EAGAIN (an OOM victim to wait for)", eagain);
	printf("  %-42s %ld\n", "-ENOMEM from an injected failure", inj);
	printf("  %-42s %ld\n", "-ENOMEM to a killed caller", selfk);
	printf("  %-42s %ld\n", "uncharges", frees);
	printf("  %-42s %ld (each exited)\n", "processes killed by the OOM killer", killed);
	printf("  %-42s %ld\n", "gpc_reclaim_pages calls (all runs)", kmm_reclaim_calls());
	CHECK(charges > 0 && killed > 0 && (eagain > 0 || nthreads == 1),
	      "the storm charged, killed and waited");
	for (int i = 0; i < nthreads; i++) {
		if (w[i].anon)
			free_anon(g, w[i].me, w[i].group, w[i].anon);
		ktask_exit(g, w[i].me);
		gpc_write(g, h, "/m/memory.force_empty", NULL, "0", 1);
	}
	for (int i = 0; i < nthreads; i++)
		CHECK(gpc_rmdir(g, h, w[i].path) == 0, "rmdir %s", w[i].path);
	CHECK(gpc_rmdir(g, h, "/m") == 0 && gpc_umount(g, h) == 0, "rmdir, umount");
	ktask_exit(g, init);
	gpc_destroy(g);
	gpc_synchronize_rcu();
	kmm_forget(MCTX);
	MCTX = &mem_host;
	kalloc_stats(&al);
	CHECK(al.live == 0, "%ld allocations left", al.live);
}

/* ------------------------------------------------------------------------------ */
/* 5. RCU deferral: callbacks run after the readers that could see the object.      */
/* ------------------------------------------------------------------------------ */

struct rcu_writer {
	struct gpc *g;
	int h;
	struct ktask *task;
	long moved, removed;
};

/* The writer: move the task out of /a (its css_group dies) and remove /a (its states
 * die). Another thread, as the reader holds an RCU read lock (no mutex there). */
static void *rcu_writer(void *arg)
{
	struct rcu_writer *w = arg;
	w->moved = gpc_attach(w->g, w->h, "/", T(w->task));
	w->removed = gpc_rmdir(w->g, w->h, "/a");
	return NULL;
}

static void test_rcu_deferral(void)
{
	struct gpc *g = gpc_init(&khost);
	struct ktask *init, *t;
	struct krcu_stats r0, r1, r2;
	struct rcu_writer w = { 0 };
	struct kalloc_stats a;
	pthread_t th;
	const void *state;
	int h, watch, watch_inside;

	printf("RCU deferral:\n");
	CHECK(!GPC_IS_ERR(g), "gpc_init");
	if (GPC_IS_ERR(g))
		return;
	init = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(g, T(init)) == 0, "init_task");
	ktask_publish(init);
	h = gpc_mount(g, "cpu", NULL);
	CHECK(h > 0, "mount cpu: %d", h);
	CHECK(gpc_mkdir(g, h, "/a") == 0, "mkdir /a");
	t = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(g, T(init), T(t)) == 0, "fork");
	ktask_publish(t);
	CHECK(gpc_attach(g, h, "/a", T(t)) == 0, "attach to /a");
	gpc_synchronize_rcu();

	/* The reader: sees /a's cpu state through the task. */
	gpc_rcu_read_lock();
	state = gpc_task_css(g, T(t), GPC_SS_CPU);
	CHECK(state != NULL, "lookup");
	kalloc_watch(state);
	krcu_stats(&r0);

	w.g = g;
	w.h = h;
	w.task = t;
	if (pthread_create(&th, NULL, rcu_writer, &w))
		abort();
	pthread_join(th, NULL);
	CHECK(w.moved == 0 && w.removed == 0, "writer: attach %ld, rmdir %ld", w.moved, w.removed);

	/* Still inside: the frees are queued, not done. */
	krcu_stats(&r1);
	watch = watch_inside = kalloc_watch_state();
	CHECK(r1.queued > r0.queued, "the writer queued no RCU callback (%ld -> %ld)", r0.queued,
	      r1.queued);
	CHECK(!(watch & KWATCH_FREED),
	      "RCU: the state a reader saw was freed while the reader was still inside its "
	      "read-side section (%ld callbacks invoked under the reader)",
	      r1.invoked - r0.invoked);
	CHECK(r1.invoked == r0.invoked, "RCU: %ld callbacks invoked under a reader",
	      r1.invoked - r0.invoked);
	if (!(watch & KWATCH_FREED)) {
		/* Still the container's state: readable (valgrind would see a freed block). */
		volatile const unsigned char *p = state;
		(void)*p;
	}
	gpc_rcu_read_unlock();

	/* Out: the grace period ends, the callbacks run and free the state. */
	gpc_synchronize_rcu();
	krcu_stats(&r2);
	watch = kalloc_watch_state();
	kalloc_watch(NULL);
	CHECK(watch == (KWATCH_FREED | KWATCH_IN_RCU_CB),
	      "the state the reader saw was not freed by an RCU callback (watch %d)", watch);
	CHECK(r2.invoked - r0.invoked >= r1.queued - r0.queued && r2.pending == 0,
	      "RCU: %ld queued by the writer, %ld invoked after the reader left",
	      r1.queued - r0.queued, r2.invoked - r0.invoked);
	printf("  %ld callbacks queued by the writer under a reader, %ld invoked under it, "
	       "%ld after it left; the state it saw: %s\n",
	       r1.queued - r0.queued, r1.invoked - r0.invoked, r2.invoked - r1.invoked,
	       (watch_inside & KWATCH_FREED)	       ? "FREED WHILE IT WAS INSIDE"
	       : watch == (KWATCH_FREED | KWATCH_IN_RCU_CB) ? "freed by a callback after it left"
							   : "NOT freed as it should be");

	ktask_exit(g, t);
	ktask_exit(g, init);
	CHECK(gpc_umount(g, h) == 0, "umount");
	gpc_destroy(g);
	gpc_synchronize_rcu();
	kalloc_stats(&a);
	CHECK(a.live == 0, "%ld allocations left", a.live);
}

/* ------------------------------------------------------------------------------ */
/* 2. Failure injection: every failure is -ENOMEM and changes nothing.             */
/* ------------------------------------------------------------------------------ */

static struct gpc *G;
static int H1, H2, H3;
static struct ktask *INIT, *P2, *P3, *P4, *P5, *USER, *UC;
static int HU = -1; /* the unified hierarchy, once mounted (its handle is 0) */
static struct gpc_cgroup_ns *NS;
static struct releases REL;
static long inj_ops, inj_failures, inj_allocs, inj_kept;

static void snap_dir(struct sb *b, int h, const char *path, int depth)
{
	long n, err;
	char *names = ls(G, h, path, &n);
	char *v[256];
	int cnt = 0;
	if (!names) {
		sb_add(b, "LIST %s: %ld\n", path, n);
		return;
	}
	for (char *p = names; p < names + n && cnt < 256; p += strlen(p) + 1)
		v[cnt++] = p;
	qsort(v, (size_t)cnt, sizeof(v[0]), cmpstr);
	for (int i = 0; i < cnt; i++) {
		char child[512];
		struct gpc_stat st;
		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "", v[i]);
		if (gpc_stat(G, h, child, &st) != 0) {
			sb_add(b, "STAT %s failed\n", child);
			continue;
		}
		if (st.kind == GPC_STAT_DIR) {
			sb_add(b, "D %s %llu\n", child, (unsigned long long)st.id);
			if (depth < 8)
				snap_dir(b, h, child, depth + 1);
		} else if (st.mode & 0444) {
			char *s = rd(G, h, child, NULL, &err);
			sb_add(b, "F %s %o: %s\n", child, st.mode, s ? s : "(error)");
			free(s);
		} else {
			sb_add(b, "F %s %o\n", child, st.mode);
		}
	}
	free(names);
}

/* Everything a kernel or user could observe. */
static char *snapshot(void)
{
	struct sb b = { 0 };
	struct ktask *ts[] = { INIT, P2, P3, P4, P5, USER, UC };
	char buf[BUF];
	long n;
	int hs[] = { H1, H2, H3 };
	for (int i = 0; i < 3; i++) {
		if (hs[i] <= 0)
			continue;
		sb_add(&b, "H %d\n", hs[i]);
		snap_dir(&b, hs[i], "/", 0);
	}
	if (HU >= 0) {
		sb_add(&b, "U %d %d\n", HU, gpc_unified_hierarchy(G));
		snap_dir(&b, HU, "/", 0);
	}
	n = gpc_proc_cgroups(G, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	sb_add(&b, "PROC %ld\n%s", n, buf);
	gpc_rcu_read_lock();
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		if (!ts[i])
			continue;
		sb_add(&b, "T %u:", ts[i]->pid);
		for (int ss = 0; ss < GPC_SS_COUNT; ss++)
			sb_add(&b, " %p", gpc_task_css(G, T(ts[i]), ss));
		sb_add(&b, "\n");
	}
	gpc_rcu_read_unlock();
	for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		if (!ts[i])
			continue;
		n = gpc_proc_pid_cgroup(G, T(ts[i]), buf, sizeof(buf) - 1);
		buf[n > 0 ? n : 0] = 0;
		sb_add(&b, "P %u %ld\n%s", ts[i]->pid, n, buf);
	}
	return b.s;
}

typedef long (*op_fn)(void);

/* Run op with its nth allocation failing, n = 0, 1, ..., until it succeeds. */
static void inject(const char *name, op_fn op, bool (*ok)(long))
{
	long kept = 0;
	for (long n = 0; n < 100000; n++) {
		struct kalloc_stats a0, a1;
		char *before = snapshot();
		long r, failed;
		gpc_synchronize_rcu();
		kalloc_stats(&a0);
		kalloc_take_failed();
		kalloc_fail_nth(n);
		r = op();
		kalloc_fail_nth(-1);
		failed = kalloc_take_failed();
		inj_ops++;
		if (r == -ENOMEM) {
			char *after;
			inj_failures++;
			CHECK(failed == 1, "%s: -ENOMEM with %ld injected failures (n=%ld)", name, failed, n);
			gpc_synchronize_rcu();
			kalloc_stats(&a1);
			/*
			 * A failed operation may keep capacity it reserved before the failing
			 * step (a Vec or hash table grown for the next child): reachable, reused
			 * by the retry, freed with its owner, so not a leak. Leaks are what is
			 * still allocated after gpc_destroy (checked below, and by valgrind).
			 */
			CHECK(a1.live >= a0.live, "%s: live allocations %ld -> %ld", name, a0.live, a1.live);
			kept += a1.live - a0.live;
			after = snapshot();
			CHECK(strcmp(before, after) == 0,
			      "%s: failed at allocation %ld and changed the state\n--- before\n%s--- after\n%s",
			      name, n, before, after);
			free(after);
			free(before);
			continue;
		}
		free(before);
		CHECK(failed == 0, "%s: allocation %ld failed but the operation returned %ld", name, n, r);
		CHECK(ok(r), "%s: returned %ld", name, r);
		inj_allocs += n;
		inj_kept += kept;
		if (kept)
			printf("  %-34s ok after %ld injected failures (%ld allocations kept as capacity)\n",
			       name, n, kept);
		else
			printf("  %-34s ok after %ld injected failures\n", name, n);
		return;
	}
	CHECK(0, "%s never succeeded", name);
}

static bool ok_zero(long r) { return r == 0; }
static bool ok_nonneg(long r) { return r >= 0; }
static bool ok_positive(long r) { return r > 0; }
static bool ok_eacces(long r) { return r == -EACCES; }
static bool ok_one(long r) { return r == 1; }

static char pidbuf[16];
static const char *pidstr(struct ktask *t)
{
	snprintf(pidbuf, sizeof(pidbuf), "%u", t->pid);
	return pidbuf;
}

static long op_mount_cpu(void) { long r = gpc_mount(G, "cpu,cpuacct", NULL); if (r > 0) H1 = (int)r; return r; }
static long op_mount_pids(void) { long r = gpc_mount(G, "pids", NULL); if (r > 0) H2 = (int)r; return r; }
static long op_mount_named(void)
{
	long r = gpc_mount(G, "debug,name=named,release_agent=/sbin/agent", NULL);
	if (r > 0)
		H3 = (int)r;
	return r;
}
static long op_remount_cpu(void) { long r = gpc_mount(G, "cpu,cpuacct", NULL); return r == H1 ? 0 : (r < 0 ? r : -1000); }
static long op_mkdir_a(void) { return gpc_mkdir(G, H1, "/a"); }
static long op_mkdir_ab(void) { return gpc_mkdir(G, H1, "/a/b"); }
static long op_mkdir_p(void) { return gpc_mkdir(G, H2, "/p"); }
static long op_mkdir_r(void) { return gpc_mkdir(G, H3, "/r"); }
static long op_shares(void) { return wr(G, H1, "/a/cpu.shares", NULL, "512"); }
static long op_notify(void) { return wr(G, H3, "/r/notify_on_release", NULL, "1"); }
static long op_agent(void) { return wr(G, H3, "/release_agent", NULL, "/sbin/agent2"); }
static long op_pidsmax(void) { return wr(G, H2, "/p/pids.max", NULL, "10"); }
static long op_clone_children(void) { return wr(G, H1, "/a/cgroup.clone_children", NULL, "1"); }

static struct ktask **fork_out;
static struct ktask *fork_parent, *fork_thread_of;
static struct gpc_creds fork_creds;
static long op_fork(void)
{
	struct ktask *t = ktask_new(fork_thread_of, fork_creds, 0);
	long r = gpc_fork(G, T(fork_parent), T(t));
	if (r) {
		ktask_abort(t);
		return r;
	}
	ktask_publish(t);
	*fork_out = t;
	return 0;
}

static void fork_into(struct ktask **out, struct ktask *parent, struct ktask *thread_of,
		      struct gpc_creds creds, const char *name)
{
	fork_out = out;
	fork_parent = parent;
	fork_thread_of = thread_of;
	fork_creds = creds;
	inject(name, op_fork, ok_zero);
}

static long op_mount_v2(void)
{
	long r = gpc_mount_v2(G, "nsdelegate", NULL);
	if (r >= 0)
		HU = (int)r;
	return r;
}
static long op_mkdir_u(void) { return gpc_mkdir(G, HU, "/u"); }
static long op_mkdir_uv(void) { return gpc_mkdir(G, HU, "/u/v"); }
static long op_procs_u(void) { return wr(G, HU, "/u/cgroup.procs", NULL, pidstr(P2)); }
/* clone3 into /u/v; the child's task struct is made once and reused after a failure,
 * whose slot must be left unattached. */
static long op_clone_into(void)
{
	long r = gpc_fork_into(G, T(INIT), T(UC), HU, "/u/v", NULL);
	if (!r)
		ktask_publish(UC);
	return r;
}
static long op_ns_new(void)
{
	struct gpc_cgroup_ns *ns = gpc_cgroup_ns_new(G, T(P2));
	if (GPC_IS_ERR(ns))
		return GPC_PTR_ERR(ns);
	NS = ns;
	return 0;
}
static long op_proc_pid_ns(void)
{
	char buf[4096];
	return gpc_proc_pid_cgroup_ns(G, T(UC), NS, buf, sizeof(buf));
}
static long op_write_ns(void)
{
	const char *pid = pidstr(UC);
	return gpc_write_ns(G, HU, "/u/cgroup.procs", NULL, NS, pid, strlen(pid));
}
static long op_uc_back(void) { return wr(G, HU, "/u/v/cgroup.procs", NULL, pidstr(UC)); }
static long op_p2_back_u(void) { return wr(G, HU, "/cgroup.procs", NULL, pidstr(P2)); }
static long op_rmdir_uv(void) { return gpc_rmdir(G, HU, "/u/v"); }
static long op_rmdir_u(void) { return gpc_rmdir(G, HU, "/u"); }
static long op_umount_u(void) { return gpc_umount(G, HU); }

static long op_tasks_a(void) { return wr(G, H1, "/a/tasks", NULL, pidstr(P2)); }
static long op_attach_ab(void) { return gpc_attach(G, H1, "/a/b", T(P2)); }
static long op_procs_p(void) { return wr(G, H2, "/p/cgroup.procs", NULL, pidstr(P4)); }
static long op_tasks_r(void) { return wr(G, H3, "/r/tasks", NULL, pidstr(P2)); }
static long op_tasks_rroot(void) { return wr(G, H3, "/tasks", NULL, pidstr(P2)); }
static long op_user_moves_init(void) { return wr(G, H1, "/a/tasks", USER, pidstr(INIT)); }
static long op_drain(void)
{
	memset(&REL, 0, sizeof(REL));
	return gpc_drain_releases(G, collect_release, &REL);
}
static long read_len(int h, const char *path)
{
	char buf[BUF];
	return gpc_read(G, h, path, NULL, buf, sizeof(buf));
}
static long op_read_ptasks(void) { return read_len(H2, "/p/tasks"); }
static long op_read_procs(void) { return read_len(H2, "/p/cgroup.procs"); }
static long op_read_shares(void) { return read_len(H1, "/a/cpu.shares"); }
static long op_read_stat(void) { return read_len(H1, "/a/cpuacct.stat"); }
static long op_list_a(void)
{
	char buf[BUF];
	return gpc_list(G, H1, "/a", buf, sizeof(buf));
}
static long op_stat_a(void)
{
	struct gpc_stat st;
	return gpc_stat(G, H1, "/a/b", &st);
}
static long op_proc_pid(void)
{
	char buf[BUF];
	return gpc_proc_pid_cgroup(G, T(P3), buf, sizeof(buf));
}
static long op_proc_cgroups(void)
{
	char buf[BUF];
	return gpc_proc_cgroups(G, buf, sizeof(buf));
}
static long op_back_p2(void) { return gpc_attach(G, H1, "/", T(P2)); }
static long op_back_p3(void) { return wr(G, H2, "/cgroup.procs", NULL, pidstr(P3)); }
static long op_rmdir_ab(void) { return gpc_rmdir(G, H1, "/a/b"); }
static long op_rmdir_a(void) { return gpc_rmdir(G, H1, "/a"); }
static long op_rmdir_p(void) { return gpc_rmdir(G, H2, "/p"); }
static long op_rmdir_r(void) { return gpc_rmdir(G, H3, "/r"); }
static long op_umount_h1(void) { return gpc_umount(G, H1); }
static long op_umount_h1_last(void) { long r = gpc_umount(G, H1); if (!r) H1 = 0; return r; }
static long op_umount_h2(void) { long r = gpc_umount(G, H2); if (!r) H2 = 0; return r; }
static long op_umount_h3(void) { long r = gpc_umount(G, H3); if (!r) H3 = 0; return r; }

static void test_injection(void)
{
	struct kalloc_stats a;
	long n;

	printf("failure injection (fail the Nth allocation, N = 0, 1, ... until success):\n");
	/* gpc_init itself. */
	for (n = 0;; n++) {
		long failed;
		kalloc_take_failed();
		kalloc_fail_nth(n);
		G = gpc_init(&khost);
		kalloc_fail_nth(-1);
		failed = kalloc_take_failed();
		inj_ops++;
		if (!GPC_IS_ERR(G))
			break;
		inj_failures++;
		CHECK(GPC_PTR_ERR(G) == -ENOMEM && failed == 1, "gpc_init: %ld", GPC_PTR_ERR(G));
		gpc_synchronize_rcu();
		kalloc_stats(&a);
		CHECK(a.live == 0, "gpc_init failed at allocation %ld and left %ld allocations", n, a.live);
	}
	CHECK(kalloc_take_failed() == 0, "gpc_init swallowed a failure");
	inj_allocs += n;
	printf("  %-34s ok after %ld injected failures\n", "gpc_init", n);

	INIT = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(G, T(INIT)) == 0, "init");
	ktask_publish(INIT);

	inject("mount cpu,cpuacct", op_mount_cpu, ok_positive);
	inject("mount pids", op_mount_pids, ok_positive);
	inject("mount debug,name=named", op_mount_named, ok_positive);
	inject("mount cpu,cpuacct again", op_remount_cpu, ok_zero);
	inject("mkdir /a", op_mkdir_a, ok_zero);
	inject("write cgroup.clone_children", op_clone_children, ok_zero);
	inject("mkdir /a/b", op_mkdir_ab, ok_zero);
	inject("mkdir pids /p", op_mkdir_p, ok_zero);
	inject("mkdir named /r", op_mkdir_r, ok_zero);
	inject("write cpu.shares", op_shares, ok_zero);
	inject("write notify_on_release", op_notify, ok_zero);
	inject("write release_agent", op_agent, ok_zero);
	inject("write pids.max", op_pidsmax, ok_zero);
	fork_into(&P2, INIT, NULL, ROOT, "fork p2");
	fork_into(&P3, INIT, NULL, ROOT, "fork p3");
	fork_into(&P4, P3, P3, ROOT, "fork p4 (thread of p3)");
	fork_into(&P5, P3, P3, ROOT, "fork p5 (thread of p3)");
	fork_into(&USER, INIT, NULL, ALICE, "fork user");
	inject("mount cgroup2", op_mount_v2, ok_zero);
	inject("mkdir cgroup2 /u", op_mkdir_u, ok_zero);
	inject("mkdir cgroup2 /u/v", op_mkdir_uv, ok_zero);
	inject("cgroup2 cgroup.procs into /u", op_procs_u, ok_zero);
	UC = ktask_new(NULL, ROOT, 0);
	inject("clone3 into /u/v", op_clone_into, ok_zero);
	inject("cgroup namespace of p2", op_ns_new, ok_zero);
	inject("/proc/PID/cgroup from it", op_proc_pid_ns, ok_positive);
	inject("cgroup.procs write from it", op_write_ns, ok_zero);
	inject("cgroup.procs back to /u/v", op_uc_back, ok_zero);
	inject("write tasks (migrate)", op_tasks_a, ok_zero);
	inject("gpc_attach", op_attach_ab, ok_zero);
	inject("write cgroup.procs (3 threads)", op_procs_p, ok_zero);
	inject("write tasks into r", op_tasks_r, ok_zero);
	inject("write tasks out of r (release)", op_tasks_rroot, ok_zero);
	inject("drain releases", op_drain, ok_one);
	CHECK(REL.n == 1 && !strcmp(REL.agent[0], "/sbin/agent2") && !strcmp(REL.path[0], "/r"),
	      "release %d %s %s", REL.n, REL.agent[0], REL.path[0]);
	inject("user writes init's pid", op_user_moves_init, ok_eacces);
	inject("read tasks", op_read_ptasks, ok_nonneg);
	inject("read cgroup.procs", op_read_procs, ok_nonneg);
	inject("read cpu.shares", op_read_shares, ok_nonneg);
	inject("read cpuacct.stat", op_read_stat, ok_nonneg);
	inject("list", op_list_a, ok_positive);
	inject("stat", op_stat_a, ok_zero);
	inject("/proc/PID/cgroup", op_proc_pid, ok_positive);
	inject("/proc/cgroups", op_proc_cgroups, ok_positive);
	inject("attach back to the root", op_back_p2, ok_zero);
	inject("cgroup.procs back to the root", op_back_p3, ok_zero);
	inject("rmdir /a/b", op_rmdir_ab, ok_zero);
	inject("rmdir /a", op_rmdir_a, ok_zero);
	inject("rmdir pids /p", op_rmdir_p, ok_zero);
	inject("rmdir named /r", op_rmdir_r, ok_zero);
	inject("cgroup2 p2 back to the root", op_p2_back_u, ok_zero);
	ktask_exit(G, UC);
	UC = NULL;
	gpc_cgroup_ns_free(NS);
	NS = NULL;
	inject("rmdir cgroup2 /u/v", op_rmdir_uv, ok_zero);
	inject("rmdir cgroup2 /u", op_rmdir_u, ok_zero);
	inject("umount cgroup2", op_umount_u, ok_zero);
	ktask_exit(G, P5);
	ktask_exit(G, P4);
	ktask_exit(G, P3);
	ktask_exit(G, P2);
	ktask_exit(G, USER);
	P2 = P3 = P4 = P5 = USER = NULL;
	inject("umount cpu (one of two)", op_umount_h1, ok_zero);
	inject("umount cpu (last)", op_umount_h1_last, ok_zero);
	inject("umount pids", op_umount_h2, ok_zero);
	inject("umount named", op_umount_h3, ok_zero);
	ktask_exit(G, INIT);
	INIT = NULL;
	gpc_destroy(G);
	G = NULL;
	gpc_synchronize_rcu();
	kalloc_stats(&a);
	CHECK(a.live == 0, "%ld allocations left after the injection session", a.live);
	/* Says what was measured: a failed session must not read "0 leaked". */
	printf("  %ld operations, %ld injected failures, %ld allocations kept as capacity, "
	       "%ld leaked\n",
	       inj_ops, inj_failures, inj_kept, a.live);
}

/* ------------------------------------------------------------------------------ */
/* 3. Storm.                                                                        */
/* ------------------------------------------------------------------------------ */

enum {
	S_FORK, S_FORK_EAGAIN, S_EXIT, S_TASKS, S_PROCS, S_ATTACH, S_LOOKUP, S_PROC_PID,
	S_READ_TASKS, S_PROC_CGROUPS, S_DRAIN, S_MKDIR, S_RMDIR, S_READ, S_ENOMEM, S_OTHER_ERR,
	S_NR
};
static const char *S_NAMES[S_NR] = {
	"fork", "fork refused (-EAGAIN)", "exit", "write tasks", "write cgroup.procs",
	"gpc_attach", "lookups (x10) + enforcement (x7)", "/proc/PID/cgroup", "read tasks",
	"/proc/cgroups", "drain releases", "mkdir", "rmdir", "read control file",
	"-ENOMEM returned", "expected errno (ESRCH/ENOENT/EBUSY/...)"
};
static atomic_long S[S_NR];
static atomic_long storm_injected, releases_drained;

#define NH 4
static int HS[NH]; /* cpu,cpuacct; pids; name=storm; freezer,devices */
static const char *PATHS[] = { "/", "/s0", "/s1", "/s0/c0", "/s0/c1", "/s1/c0",
			       "/churn/x0", "/churn/x1", "/lim" };
#define NPATHS (int)(sizeof(PATHS) / sizeof(PATHS[0]))
#define MAXMINE 24

struct worker {
	int id;
	int iters;
	uint64_t rng;
	struct ktask *mine[MAXMINE];
	int n;
	pthread_t th;
};

/* Is r one of the listed values? The list ends with 1 (never an errno here). */
static bool one_of(long r, ...)
{
	va_list ap;
	long v;
	bool found = false;
	va_start(ap, r);
	while ((v = va_arg(ap, long)) != 1)
		found |= r == v;
	va_end(ap);
	return found;
}

/* Every result checked: r must be allowed; -ENOMEM iff a failure was injected. */
static void storm_result(const char *what, long r, bool may_enomem)
{
	long failed = kalloc_take_failed();
	atomic_fetch_add(&storm_injected, failed);
	if (r == -ENOMEM) {
		atomic_fetch_add(&S[S_ENOMEM], 1);
		CHECK(may_enomem && failed > 0, "%s: -ENOMEM (%ld injected)", what, failed);
		return;
	}
	CHECK(failed == 0, "%s: %ld injected failures swallowed (returned %ld)", what, failed, r);
}

static void *storm(void *arg)
{
	struct worker *w = arg;
	char buf[BUF];

	kernel_set_cpu((unsigned)w->id);
	kalloc_fail_random(61, w->rng);
	for (int it = 0; it < w->iters; it++) {
		unsigned r = (unsigned)(xorshift(&w->rng) % 100);
		struct ktask *t = w->mine[xorshift(&w->rng) % (uint64_t)w->n];
		int h = HS[xorshift(&w->rng) % NH];
		const char *path = PATHS[xorshift(&w->rng) % NPATHS];
		char file[128];
		long res;

		if (r < 22) { /* fork a process or a thread */
			bool thread = xorshift(&w->rng) % 3 == 0;
			struct ktask *c;
			if (w->n >= MAXMINE)
				continue;
			threadgroup_change_begin();
			c = ktask_new(thread ? t->leader : NULL, t->creds, w->id);
			if (!c) {
				threadgroup_change_end();
				continue;
			}
			res = gpc_fork(G, T(t), T(c));
			storm_result("fork", res, false);
			if (res == 0)
				ktask_publish(c);
			threadgroup_change_end();
			if (res == 0) {
				w->mine[w->n++] = c;
				atomic_fetch_add(&S[S_FORK], 1);
			} else {
				ktask_abort(c);
				CHECK(res == -EAGAIN, "fork: %ld", res);
				atomic_fetch_add(&S[S_FORK_EAGAIN], 1);
			}
		} else if (r < 40) { /* exit (never the worker's first task; leaders last) */
			int i = 1 + (int)(xorshift(&w->rng) % (uint64_t)(w->n > 1 ? w->n - 1 : 1));
			if (i >= w->n || atomic_load(&w->mine[i]->nr_threads) > 0)
				continue;
			ktask_exit(G, w->mine[i]);
			w->mine[i] = w->mine[--w->n];
			atomic_fetch_add(&S[S_EXIT], 1);
			storm_result("exit", 0, false);
		} else if (r < 55) { /* write a pid to tasks: mine or anyone's */
			uint32_t pid = xorshift(&w->rng) % 2 ? t->pid : (uint32_t)(1 + xorshift(&w->rng) % 400);
			snprintf(file, sizeof(file), "%s%stasks", path, strcmp(path, "/") ? "/" : "");
			threadgroup_lock();
			res = wr_pid(G, h, file, NULL, pid);
			threadgroup_unlock();
			storm_result("write tasks", res, true);
			CHECK(one_of(res, 0L, (long)-ESRCH, (long)-ENOENT, (long)-ENODEV, (long)-ENOMEM, 1L),
			      "write %s %u: %ld", file, pid, res);
			if (res == 0)
				atomic_fetch_add(&S[S_TASKS], 1);
			else if (res != -ENOMEM)
				atomic_fetch_add(&S[S_OTHER_ERR], 1);
		} else if (r < 63) { /* a whole process through cgroup.procs */
			snprintf(file, sizeof(file), "%s%scgroup.procs", path, strcmp(path, "/") ? "/" : "");
			threadgroup_lock();
			res = wr_pid(G, h, file, NULL, t->tgid);
			threadgroup_unlock();
			storm_result("write cgroup.procs", res, true);
			CHECK(one_of(res, 0L, (long)-ESRCH, (long)-ENOENT, (long)-ENODEV, (long)-ENOMEM, 1L),
			      "write %s %u: %ld", file, t->tgid, res);
			if (res == 0)
				atomic_fetch_add(&S[S_PROCS], 1);
			else if (res != -ENOMEM)
				atomic_fetch_add(&S[S_OTHER_ERR], 1);
		} else if (r < 70) {
			threadgroup_lock();
			res = gpc_attach(G, h, path, T(t));
			threadgroup_unlock();
			storm_result("gpc_attach", res, true);
			CHECK(one_of(res, 0L, (long)-ENOENT, (long)-ENODEV, (long)-ENOMEM, 1L),
			      "attach %s: %ld", path, res);
			if (res == 0)
				atomic_fetch_add(&S[S_ATTACH], 1);
			else if (res != -ENOMEM)
				atomic_fetch_add(&S[S_OTHER_ERR], 1);
		} else if (r < 80) { /* the lock-free lookup, and the enforcement exports */
			uint64_t shares = 0;
			unsigned long cpus = 0;
			gpc_rcu_read_lock();
			for (int ss = 0; ss < GPC_SS_COUNT; ss++)
				CHECK(gpc_task_css(G, T(t), ss) != NULL, "lookup %d of %u", ss, t->pid);
			/* Only /s0 has cpu.shares 2048; cpuset and memory are not mounted. */
			CHECK(gpc_cpu_shares(G, T(t), &shares) == 0 && (shares == 1024 || shares == 2048),
			      "shares of %u: %llu", t->pid, (unsigned long long)shares);
			CHECK(gpc_freezer_frozen(G, T(t)) == 0, "%u frozen", t->pid);
			CHECK(gpc_device_access(G, T(t), GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_READ) == 0,
			      "device check of %u", t->pid);
			CHECK(gpc_cpuset_cpus(G, T(t), &cpus, 64) == NR_VCPUS, "cpus of %u", t->pid);
			CHECK(gpc_cpuacct_charge(G, T(t), gpc_current_cpu(), 100, true) == 0 &&
				      gpc_memory_charge(G, T(t), 4096) == 0 &&
				      gpc_memory_uncharge(G, T(t), 4096) == 0,
			      "charges of %u", t->pid);
			gpc_rcu_read_unlock();
			storm_result("lookup", 0, false);
			atomic_fetch_add(&S[S_LOOKUP], 1);
		} else if (r < 86) {
			res = gpc_proc_pid_cgroup(G, T(t), buf, sizeof(buf) - 1);
			storm_result("/proc/PID/cgroup", res, true);
			CHECK(res > 0 || res == -ENOMEM, "/proc/%u/cgroup: %ld", t->pid, res);
			if (res > 0) {
				buf[res] = 0;
				CHECK(count_lines(buf) == NH, "/proc/%u/cgroup:\n%s", t->pid, buf);
				atomic_fetch_add(&S[S_PROC_PID], 1);
			}
		} else if (r < 91) {
			long cnt;
			snprintf(file, sizeof(file), "%s%stasks", path, strcmp(path, "/") ? "/" : "");
			res = gpc_read(G, h, file, NULL, buf, sizeof(buf) - 1);
			storm_result("read tasks", res, true);
			CHECK(res >= 0 || one_of(res, (long)-ENOENT, (long)-ENOMEM, 1L), "read %s: %ld", file, res);
			if (res >= 0) {
				buf[res] = 0;
				CHECK(sorted_pids(buf, &cnt), "%s is not a sorted pid list:\n%s", file, buf);
				atomic_fetch_add(&S[S_READ_TASKS], 1);
			}
		} else if (r < 94) {
			res = gpc_proc_cgroups(G, buf, sizeof(buf) - 1);
			storm_result("/proc/cgroups", res, true);
			CHECK(res > 0 || res == -ENOMEM, "/proc/cgroups: %ld", res);
			if (res > 0) {
				buf[res] = 0;
				CHECK(count_lines(buf) == 1 + GPC_SS_COUNT, "/proc/cgroups:\n%s", buf);
				atomic_fetch_add(&S[S_PROC_CGROUPS], 1);
			}
		} else if (r < 96) {
			struct releases rel = { 0 };
			res = gpc_drain_releases(G, collect_release, &rel);
			storm_result("drain", res, true);
			CHECK(res >= 0 || res == -ENOMEM, "drain: %ld", res);
			if (res >= 0) {
				CHECK(res == rel.n, "drain said %ld, reported %d", res, rel.n);
				for (int i = 0; i < rel.n && i < 8; i++)
					CHECK(!strcmp(rel.agent[i], "/bin/agent") && rel.path[i][0] == '/',
					      "release %s %s", rel.agent[i], rel.path[i]);
				atomic_fetch_add(&releases_drained, res);
				atomic_fetch_add(&S[S_DRAIN], 1);
			}
		} else if (r < 98) { /* container churn */
			const char *c = xorshift(&w->rng) % 2 ? "/churn/x0" : "/churn/x1";
			if (xorshift(&w->rng) % 2) {
				res = gpc_mkdir(G, h, c);
				storm_result("mkdir", res, true);
				CHECK(one_of(res, 0L, (long)-EEXIST, (long)-ENOMEM, 1L), "mkdir %s: %ld", c, res);
				if (res == 0)
					atomic_fetch_add(&S[S_MKDIR], 1);
				else if (res != -ENOMEM)
					atomic_fetch_add(&S[S_OTHER_ERR], 1);
			} else {
				res = gpc_rmdir(G, h, c);
				storm_result("rmdir", res, true);
				CHECK(one_of(res, 0L, (long)-EBUSY, (long)-ENOENT, (long)-ENOMEM, 1L), "rmdir %s: %ld", c, res);
				if (res == 0)
					atomic_fetch_add(&S[S_RMDIR], 1);
				else if (res != -ENOMEM)
					atomic_fetch_add(&S[S_OTHER_ERR], 1);
			}
		} else {
			res = gpc_read(G, HS[0], "/s0/cpu.shares", NULL, buf, sizeof(buf));
			storm_result("read cpu.shares", res, true);
			CHECK(res == 5 || res == -ENOMEM, "read cpu.shares: %ld", res);
			if (res > 0)
				atomic_fetch_add(&S[S_READ], 1);
		}
	}
	kalloc_fail_random(0, 0);
	kalloc_take_failed();
	return NULL;
}

/* Walk every container of h: for each, call f with its path and tasks text. */
typedef void (*walk_fn)(int h, const char *path, const char *tasks, void *ctx);
static void walk(int h, const char *path, walk_fn f, void *ctx)
{
	long n, err;
	char *names = ls(G, h, path, &n);
	char *tasks;
	char file[512];
	CHECK(names != NULL, "list %s: %ld", path, n);
	if (!names)
		return;
	snprintf(file, sizeof(file), "%s%stasks", path, strcmp(path, "/") ? "/" : "");
	tasks = rd(G, h, file, NULL, &err);
	CHECK(tasks != NULL, "read %s: %ld", file, err);
	if (tasks)
		f(h, path, tasks, ctx);
	free(tasks);
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		char child[512];
		struct gpc_stat st;
		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "", p);
		if (gpc_stat(G, h, child, &st) == 0 && st.kind == GPC_STAT_DIR)
			walk(h, child, f, ctx);
	}
	free(names);
}

struct census {
	int seen[PID_MAX];
	long total;
	char where[PID_MAX][48]; /* the container of each pid (this hierarchy) */
};

static void count_tasks(int h, const char *path, const char *tasks, void *ctx)
{
	struct census *c = ctx;
	(void)h;
	while (*tasks) {
		char *end;
		long pid = strtol(tasks, &end, 10);
		if (pid > 0 && pid < PID_MAX) {
			c->seen[pid]++;
			snprintf(c->where[pid], sizeof(c->where[pid]), "%s", path);
		}
		c->total++;
		tasks = *end ? end + 1 : end;
	}
}

/* pids.current of each pids container equals the tasks in its subtree. */
static void check_pids(int h, const char *path, const char *tasks, void *ctx)
{
	struct census *c = ctx;
	char file[512];
	long err, want = 0;
	char *s;
	size_t plen = strlen(path);
	(void)tasks;
	if (!strcmp(path, "/"))
		return;
	snprintf(file, sizeof(file), "%s/pids.current", path);
	s = rd(G, h, file, NULL, &err);
	for (int pid = 1; pid < PID_MAX; pid++)
		if (c->seen[pid] && !strncmp(c->where[pid], path, plen) &&
		    (c->where[pid][plen] == 0 || c->where[pid][plen] == '/'))
			want++;
	CHECK(s && strtol(s, NULL, 10) == want, "%s = %s, %ld tasks in the subtree", file,
	      s ? s : "(error)", want);
	free(s);
}

static void storm_invariants(void)
{
	static struct census c[NH];
	struct ktask **all = malloc(sizeof(*all) * PID_MAX);
	int nt = ktask_snapshot(all, PID_MAX);
	char buf[BUF];

	for (int i = 0; i < NH; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		walk(HS[i], "/", count_tasks, &c[i]);
		CHECK(c[i].total == nt, "hierarchy %d lists %ld tasks, %d live", HS[i], c[i].total, nt);
	}
	walk(HS[1], "/", check_pids, &c[1]);
	for (int k = 0; k < nt; k++) {
		struct ktask *t = all[k];
		long n = gpc_proc_pid_cgroup(G, T(t), buf, sizeof(buf) - 1);
		CHECK(n > 0, "/proc/%u/cgroup: %ld", t->pid, n);
		if (n <= 0)
			continue;
		buf[n] = 0;
		for (int i = 0; i < NH; i++) {
			char *line = buf, want[64];
			CHECK(c[i].seen[t->pid] == 1, "pid %u listed %d times in hierarchy %d", t->pid,
			      c[i].seen[t->pid], HS[i]);
			snprintf(want, sizeof(want), "%d:", HS[i]);
			while (line && strncmp(line, want, strlen(want)))
				line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL;
			CHECK(line != NULL, "no line for %d in /proc/%u/cgroup", HS[i], t->pid);
			if (line) {
				char *path = strchr(strchr(line, ':') + 1, ':') + 1;
				size_t len = strcspn(path, "\n");
				CHECK(strlen(c[i].where[t->pid]) == len &&
					      !strncmp(path, c[i].where[t->pid], len),
				      "/proc/%u/cgroup says %.*s, tasks says %s", t->pid, (int)len, path,
				      c[i].where[t->pid]);
			}
		}
	}
	/* Tasks in the same cpu container share a cpu state; others do not. */
	gpc_rcu_read_lock();
	for (int a = 0; a < nt && a < 200; a++)
		for (int b = a + 1; b < nt && b < 200; b++) {
			bool same = !strcmp(c[0].where[all[a]->pid], c[0].where[all[b]->pid]);
			bool eq = gpc_task_css(G, T(all[a]), GPC_SS_CPU) ==
				  gpc_task_css(G, T(all[b]), GPC_SS_CPU);
			CHECK(same == eq, "cpu state of %u (%s) and %u (%s)", all[a]->pid,
			      c[0].where[all[a]->pid], all[b]->pid, c[0].where[all[b]->pid]);
		}
	gpc_rcu_read_unlock();
	free(all);
}

static void rmdir_tree(int h, const char *path)
{
	long n;
	char *names = ls(G, h, path, &n);
	if (!names)
		return;
	for (char *p = names; p < names + n; p += strlen(p) + 1) {
		char child[512];
		struct gpc_stat st;
		snprintf(child, sizeof(child), "%s%s%s", path, strcmp(path, "/") ? "/" : "", p);
		if (gpc_stat(G, h, child, &st) == 0 && st.kind == GPC_STAT_DIR) {
			rmdir_tree(h, child);
			CHECK(gpc_rmdir(G, h, child) == 0, "rmdir %s", child);
		}
	}
	free(names);
}

static void test_storm(int nthreads, int iters)
{
	struct worker *ws = calloc((size_t)nthreads, sizeof(*ws));
	struct ktask *init;
	struct releases rel = { 0 };
	struct kalloc_stats a0, a1;
	struct krcu_stats r;
	const char *opts[NH] = { "cpu,cpuacct", "pids", "none,name=storm,release_agent=/bin/agent",
				 "freezer,devices" };
	const char *dirs[] = { "/s0", "/s1", "/s0/c0", "/s0/c1", "/s1/c0", "/churn" };
	long tasks_made;
	struct krcu_stats r0;

	krcu_stats(&r0);
	G = gpc_init(&khost);
	CHECK(!GPC_IS_ERR(G), "gpc_init");
	init = ktask_new(NULL, ROOT, -1);
	CHECK(gpc_init_task(G, T(init)) == 0, "init");
	ktask_publish(init);
	for (int i = 0; i < NH; i++) {
		HS[i] = gpc_mount(G, opts[i], NULL);
		CHECK(HS[i] > 0, "mount %s: %d", opts[i], HS[i]);
		for (size_t d = 0; d < sizeof(dirs) / sizeof(dirs[0]); d++) {
			if (i == 2 && d == 2)
				CHECK(wr(G, HS[i], "/s0/notify_on_release", NULL, "1") == 0, "notify s0");
			CHECK(gpc_mkdir(G, HS[i], dirs[d]) == 0, "mkdir %s", dirs[d]);
		}
	}
	CHECK(wr(G, HS[2], "/s1/notify_on_release", NULL, "1") == 0, "notify s1");
	CHECK(gpc_mkdir(G, HS[1], "/lim") == 0, "mkdir lim");
	CHECK(wr(G, HS[1], "/lim/pids.max", NULL, "6") == 0, "pids.max");
	CHECK(wr(G, HS[0], "/s0/cpu.shares", NULL, "2048") == 0, "shares");

	for (int i = 0; i < nthreads; i++) {
		struct ktask *t = ktask_new(NULL, ROOT, i);
		CHECK(gpc_fork(G, T(init), T(t)) == 0, "fork worker root");
		ktask_publish(t);
		ws[i].id = i;
		ws[i].iters = iters;
		ws[i].rng = 0x9e3779b97f4a7c15ull * (uint64_t)(i + 1);
		ws[i].mine[0] = t;
		ws[i].n = 1;
	}
	for (int i = 0; i < nthreads; i++)
		if (pthread_create(&ws[i].th, NULL, storm, &ws[i]))
			abort();
	for (int i = 0; i < nthreads; i++)
		pthread_join(ws[i].th, NULL);

	storm_invariants();

	/* Teardown: every task exits, the releases drain, every container goes. */
	tasks_made = atomic_load(&S[S_FORK]);
	for (int i = 0; i < nthreads; i++) {
		/* threads before their leaders */
		for (int pass = 0; pass < 2; pass++)
			for (int k = ws[i].n - 1; k >= 0; k--) {
				struct ktask *t = ws[i].mine[k];
				if (!t || (pass == 0 && t->leader == t))
					continue;
				ktask_exit(G, t);
				ws[i].mine[k] = NULL;
			}
	}
	CHECK(ktask_count() == 1, "%d tasks left", ktask_count());
	CHECK(gpc_drain_releases(G, collect_release, &rel) >= 0, "final drain");
	atomic_fetch_add(&releases_drained, rel.n);
	for (int i = 0; i < NH; i++) {
		CHECK(gpc_attach(G, HS[i], "/", T(init)) == 0, "init back to the root");
		rmdir_tree(HS[i], "/");
		CHECK(gpc_umount(G, HS[i]) == 0, "umount %d", HS[i]);
	}
	ktask_exit(G, init);
	kalloc_stats(&a0);
	gpc_destroy(G);
	G = NULL;
	gpc_synchronize_rcu();
	kalloc_stats(&a1);
	krcu_stats(&r);
	CHECK(a1.live == 0, "%ld allocations left after the storm", a1.live);
	CHECK(r.pending == 0, "%ld RCU callbacks pending", r.pending);
	/* Migrations, exits and rmdirs free css_groups and states through RCU: none queued
	 * would mean the checks above held vacuously. */
	CHECK(r.queued > r0.queued && r.invoked - r0.invoked == r.queued - r0.queued,
	      "storm: %ld RCU callbacks queued, %ld invoked", r.queued - r0.queued,
	      r.invoked - r0.invoked);

	printf("storm: %d threads x %d iterations, random allocation failures (1 in 61):\n",
	       nthreads, iters);
	for (int i = 0; i < S_NR; i++)
		printf("  %-42s %ld\n", S_NAMES[i], atomic_load(&S[i]));
	printf("  %-42s %ld\n", "tasks made", tasks_made + nthreads);
	printf("  %-42s %ld\n", "injected allocation failures", atomic_load(&storm_injected));
	printf("  %-42s %ld\n", "releases drained", atomic_load(&releases_drained));
	free(ws);
}

/*
 * Every lock gpc took was the kernel's (gpc_spin_* / gpc_mutex_*), each with a class of
 * its own: the classes of every lock role gpc has were initialised, none was taken
 * while a lock of its class was held (a devices group under its parent's is
 * spin_lock_nested), and no two roles share a key.
 */
static void check_lock_classes(void)
{
	static const char *const expected[] = {
		"gpc_tree",	    "gpc_css_set",   "gpc_release",		"gpc_css_group_trans",
		"gpc_shim_hiers", "cpu_bandwidth", "cpuacct_prev_cputime", "cpuset_config",
		"devices_group",
	};
	int n = kernel_lock_classes();
	printf("  %-42s %d:", "lock classes", n);
	for (int i = 0; i < n; i++)
		printf(" %s", kernel_lock_class_name(i));
	printf("\n");
	for (size_t e = 0; e < sizeof(expected) / sizeof(expected[0]); e++) {
		int found = 0;
		for (int i = 0; i < n; i++)
			found |= strcmp(kernel_lock_class_name(i), expected[e]) == 0;
		CHECK(found, "no lock of class %s was initialised through the kernel", expected[e]);
	}
	printf("  %-42s %ld\n", "lock class violations", kernel_lock_class_violations());
	CHECK(kernel_lock_class_violations() == 0, "%ld lock class violations",
	      kernel_lock_class_violations());
	CHECK(kernel_in_atomic() == 0 && kernel_irqs_off() == 0, "a lock is still held");
}

/* The checker itself: a nesting of one class and a mutex under a spinlock are caught. */
static void test_lock_checker(void)
{
	static _Alignas(GPC_LOCK_STORAGE_ALIGN) unsigned char a[GPC_LOCK_STORAGE_SIZE],
		b[GPC_LOCK_STORAGE_SIZE], m[GPC_LOCK_STORAGE_SIZE];
	static _Alignas(16) unsigned char key[GPC_LOCK_CLASS_KEY_SIZE], mkey[GPC_LOCK_CLASS_KEY_SIZE];
	long cv = kernel_lock_class_violations(), av = kernel_atomic_violations();

	gpc_spin_init(a, "selftest_spin", key);
	gpc_spin_init(b, "selftest_spin", key);
	gpc_mutex_init(m, "selftest_mutex", mkey);
	gpc_spin_lock(a);
	gpc_spin_lock_nested(b, 1);
	gpc_spin_unlock(b);
	CHECK(kernel_lock_class_violations() == cv, "a nested acquisition counted as recursion");
	gpc_spin_lock(b);
	CHECK(kernel_lock_class_violations() == cv + 1, "recursion on a lock class not caught");
	gpc_spin_unlock(b);
	gpc_mutex_lock(m);
	CHECK(kernel_atomic_violations() == av + 1, "a mutex under a spinlock not caught");
	gpc_mutex_unlock(m);
	gpc_spin_unlock(a);
	gpc_spin_lock_irqsave(a);
	CHECK(kernel_irqs_off() == 1 && kernel_in_atomic() == 1, "irqsave: irqs and preemption off");
	gpc_spin_unlock_irqrestore(a);
	CHECK(kernel_irqs_off() == 0 && kernel_in_atomic() == 0, "irqrestore");
	gpc_spin_destroy(a);
	gpc_spin_destroy(b);
	gpc_mutex_destroy(m);
}

/* gpc_pids_open/read/close: a tasks file of many pids read 7 bytes at a time equals
 * gpc_read's one-shot output; misuse is an errno. */
static void test_pids_reader(void)
{
	struct gpc *g = gpc_init(NULL);
	struct ktask *init, *kids[200];
	struct gpc_pids_reader *r;
	char piece[7], *whole, *got;
	size_t at = 0;
	long n, err;
	int h, i;

	CHECK(!GPC_IS_ERR(g), "gpc_init");
	init = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(g, T(init)) == 0, "init_task");
	ktask_publish(init);
	for (i = 0; i < 200; i++) {
		kids[i] = ktask_new(NULL, ROOT, 0);
		CHECK(gpc_fork(g, T(init), T(kids[i])) == 0, "fork %d", i);
		ktask_publish(kids[i]);
	}
	h = gpc_mount(g, "pids", NULL);
	CHECK(h > 0, "mount pids: %d", h);
	whole = rd(g, h, "/tasks", NULL, &err);
	CHECK(whole && count_lines(whole) == 201, "tasks: %ld", err);
	got = calloc(1, strlen(whole ? whole : "") + 1);
	r = gpc_pids_open(g, h, "/tasks");
	CHECK(!GPC_IS_ERR(r) && r, "gpc_pids_open: %ld", GPC_PTR_ERR(r));
	while ((n = gpc_pids_read(r, piece, sizeof piece)) > 0) {
		CHECK(at + (size_t)n <= strlen(whole), "too long");
		memcpy(got + at, piece, (size_t)n);
		at += (size_t)n;
	}
	CHECK(n == 0, "gpc_pids_read: %ld", n);
	CHECK(whole && strcmp(got, whole) == 0, "streamed:\n%s\nwhole:\n%s", got, whole);
	CHECK(gpc_pids_read(r, NULL, 3) == -EINVAL, "NULL buf");
	CHECK(gpc_pids_close(r) == 0, "close");
	CHECK(GPC_PTR_ERR(gpc_pids_open(g, h, "/notify_on_release")) == -EINVAL, "not a pids file");
	CHECK(GPC_PTR_ERR(gpc_pids_open(g, h, "/nope/tasks")) == -ENOENT, "no container");
	CHECK(gpc_pids_read(NULL, piece, 1) == -EINVAL, "NULL reader");
	CHECK(gpc_pids_close(NULL) == -EINVAL, "NULL close");
	/* Left open across gpc_destroy: detached, -ENODEV, still closed. */
	r = gpc_pids_open(g, h, "/tasks");
	CHECK(!GPC_IS_ERR(r), "reopen");
	for (i = 0; i < 200; i++)
		ktask_exit(g, kids[i]);
	ktask_exit(g, init);
	CHECK(gpc_umount(g, h) == 0, "umount");
	gpc_destroy(g);
	CHECK(gpc_pids_read(r, piece, sizeof piece) == -ENODEV, "read after destroy");
	CHECK(gpc_pids_close(r) == 0, "close after destroy");
	free(got);
	free(whole);
}

/* ------------------------------------------------------------------------------ */
/* rdma, misc, v2 device programs (src/hostres.rs).                                 */
/* ------------------------------------------------------------------------------ */

static int allow_reads(void *ctx, int type, uint32_t major, uint32_t minor, unsigned int access)
{
	(void)type;
	(void)major;
	(void)minor;
	++*(int *)ctx;
	return access == GPC_DEVCG_ACC_READ;
}

static void test_hostres(void)
{
	struct gpc *g = gpc_init(&khost);
	struct ktask *init, *t;
	uint64_t group = 0;
	uint32_t id = 0, id2 = 0;
	int hr, hm, u, calls = 0;
	char buf[512];
	long n;

	printf("rdma, misc, device programs:\n");
	CHECK(!GPC_IS_ERR(g), "gpc_init");
	CHECK(gpc_subsys_id(g, "rdma") == GPC_SS_RDMA && gpc_subsys_id(g, "misc") == GPC_SS_MISC,
	      "ids");
	init = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_init_task(g, T(init)) == 0, "init");
	ktask_publish(init);
	t = ktask_new(NULL, ROOT, 0);
	CHECK(gpc_fork(g, T(init), T(t)) == 0, "fork");
	ktask_publish(t);

	/* rdma: a parent's limit refuses the child's charge with -EAGAIN. */
	CHECK(gpc_rdma_register_device(g, "mlx4_0") == 0, "register");
	CHECK(gpc_rdma_register_device(g, "mlx4_0") == -EEXIST, "register twice");
	CHECK(gpc_rdma_register_device(NULL, "x") == -EINVAL, "rule G");
	hr = gpc_mount(g, "rdma", NULL);
	CHECK(hr > 0, "mount rdma %d", hr);
	CHECK(gpc_mkdir(g, hr, "/p") == 0 && gpc_mkdir(g, hr, "/p/c") == 0, "mkdirs");
	CHECK(gpc_write(g, hr, "/p/rdma.max", NULL, "mlx4_0 hca_handle=1", 19) == 0, "rdma.max");
	CHECK(gpc_attach(g, hr, "/p/c", T(t)) == 0, "attach");
	CHECK(gpc_rdma_charge(g, T(t), "mlx4_0", GPC_RDMA_HCA_HANDLE, &group) == 0, "charge");
	CHECK(gpc_rdma_charge(g, T(t), "mlx4_0", GPC_RDMA_HCA_HANDLE, &group) == -EAGAIN,
	      "over the parent's limit");
	n = gpc_read(g, hr, "/p/rdma.current", NULL, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	CHECK(strcmp(buf, "mlx4_0 hca_handle=1 hca_object=0 \n") == 0, "rdma.current: %s", buf);
	CHECK(gpc_rdma_uncharge(g, group, "mlx4_0", GPC_RDMA_HCA_HANDLE) == 0, "uncharge");

	/* misc: capacity, max, -EBUSY. */
	CHECK(gpc_misc_set_capacity(g, GPC_MISC_TDX, 2) == 0, "capacity");
	hm = gpc_mount(g, "misc", NULL);
	CHECK(hm > 0, "mount misc %d", hm);
	CHECK(gpc_misc_charge(g, T(t), GPC_MISC_TDX, 2, &group) == 0, "misc charge");
	CHECK(gpc_misc_charge(g, T(t), GPC_MISC_TDX, 1, &group) == -EBUSY, "over capacity");
	CHECK(gpc_misc_charge(g, T(t), GPC_MISC_SEV, 1, &group) == -EINVAL, "capacity 0");
	CHECK(gpc_misc_uncharge(g, GPC_RES_ROOT, GPC_MISC_TDX, 2) == 0, "misc uncharge");

	/* Device programs on v2: multi at parent and child, a host function. */
	u = gpc_mount_v2(g, NULL, NULL);
	CHECK(u == 0, "v2 %d", u);
	CHECK(gpc_mkdir(g, u, "/p") == 0 && gpc_mkdir(g, u, "/p/c") == 0, "v2 mkdirs");
	CHECK(gpc_attach(g, u, "/p/c", T(t)) == 0, "v2 attach");
	CHECK(gpc_devprog_check(g, T(t), GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_WRITE) == 0,
	      "no program");
	CHECK(gpc_devprog_attach_rules(g, u, "/p", "allow c 1:3 rw\nallow c 1:5 rw\n",
				       GPC_DEVPROG_ALLOW_MULTI, &id) == 0,
	      "rules");
	CHECK(gpc_devprog_attach(g, u, "/p/c", allow_reads, &calls, GPC_DEVPROG_ALLOW_MULTI,
				 &id2) == 0,
	      "host program");
	CHECK(gpc_devprog_check(g, T(t), GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_READ) == 0,
	      "both allow");
	CHECK(gpc_devprog_check(g, T(t), GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_WRITE) == -EPERM,
	      "the child's denies");
	CHECK(gpc_devprog_check(g, T(t), GPC_DEVCG_DEV_CHAR, 4, 1, GPC_DEVCG_ACC_READ) == -EPERM,
	      "the parent's denies");
	CHECK(calls >= 2, "the host program ran %d times", calls);
	CHECK(gpc_devprog_attach_rules(g, hr, "/p", "allow a *:* rwm", 0, &id) == -EBADF, "v1");
	CHECK(gpc_devprog_detach(g, u, "/p/c", id2) == 0, "detach");
	CHECK(gpc_devprog_check(g, T(t), GPC_DEVCG_DEV_CHAR, 1, 5, GPC_DEVCG_ACC_WRITE) == 0,
	      "detached");

	ktask_exit(g, t);
	CHECK(gpc_rmdir(g, u, "/p/c") == 0 && gpc_rmdir(g, u, "/p") == 0, "v2 rmdirs");
	CHECK(gpc_rmdir(g, hr, "/p/c") == 0 && gpc_rmdir(g, hr, "/p") == 0, "rdma rmdirs");
	ktask_exit(g, init);
	gpc_destroy(g);
	gpc_synchronize_rcu();
}

int main(int argc, char **argv)
{
	int threads = argc > 1 ? atoi(argv[1]) : 4;
	int iters = argc > 2 ? atoi(argv[2]) : 4000;
	struct kalloc_stats a;
	struct krcu_stats r;

	setvbuf(stdout, NULL, _IOLBF, 0);
	alarm(900); /* a deadlock ends the run */
	ktasks_init();
	if (argc > 1 && !strcmp(argv[1], "--eager-call-rcu")) {
		/* The self-test: a kernel whose call_rcu does not wait must be caught. */
		krcu_set_eager(true);
		test_rcu_deferral();
		ktasks_fini();
		printf("harness: %ld passed, %ld failed\n", atomic_load(&checks_passed),
		       atomic_load(&checks_failed));
		return atomic_load(&checks_failed) ? 1 : 0;
	}
	test_basics();
	test_pids_reader();
	test_instances();
	test_v2();
	test_hostres();
	test_enforcement();
	test_memory();
	test_rcu_deferral();
	test_injection();
	test_storm(threads, iters);
	test_mem_storm(threads, iters < 1500 ? iters : 1500);

	kalloc_stats(&a);
	krcu_stats(&r);
	printf("totals:\n");
	printf("  %-42s %ld\n", "gpc_kmalloc calls (successful)", a.total);
	printf("  %-42s %ld\n", "  of which GPC_GFP_ATOMIC", a.atomic);
	printf("  %-42s %ld\n", "  of which GPC_GFP_ZERO", a.zeroed);
	printf("  %-42s %ld\n", "gpc_kfree calls", a.frees);
	printf("  %-42s %ld\n", "injected allocation failures", a.failed);
	printf("  %-42s %ld\n", "live allocations at exit", a.live);
	printf("  %-42s %ld\n", "lock acquisitions", kernel_lock_ops());
	printf("  %-42s %ld queued, %ld invoked, %ld batches\n", "RCU callbacks", r.queued, r.invoked,
	       r.grace_periods);
	printf("  %-42s %ld\n", "sleeping calls in atomic context", kernel_atomic_violations());
	CHECK(kernel_atomic_violations() == 0, "%ld sleeping calls in atomic context",
	      kernel_atomic_violations());
	CHECK(a.live == 0, "live allocations at exit");
	CHECK(r.queued > 0 && r.queued == r.invoked && r.pending == 0, "RCU: %ld queued, %ld invoked",
	      r.queued, r.invoked);
	check_lock_classes();
	test_lock_checker();
	ktasks_fini();
	printf("harness: %ld passed, %ld failed\n", atomic_load(&checks_passed),
	       atomic_load(&checks_failed));
	return atomic_load(&checks_failed) ? 1 : 0;
}
