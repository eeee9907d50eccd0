/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * A tiny "kernel" in C that uses gpc through hosts/kernel-shim/include/gpc.h: the
 * example doc/kernel-shim.md walks through. Single-threaded, in user space, so that it
 * runs anywhere; each import says what a real kernel does instead.
 *
 * Build and run (what `cargo test -p gpc-kshim --test c_harness c_example` does):
 *   cargo build -p gpc-kshim --features kernel
 *   gcc -std=gnu11 -I hosts/kernel-shim/include examples/c-kernel/kernel.c \
 *       target/debug/libgpc_kshim.a -o c-kernel && ./c-kernel
 * Its output is examples/c-kernel/expected.txt.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpc.h"

/* ---- what gpc imports (gpc.h, "Supplied by the kernel") ---- */

static int preempt_count; /* spinlocks and RCU readers: nothing may sleep inside */
static int sleeps_in_atomic;

void *gpc_kmalloc(size_t size, size_t align, unsigned int flags)
{
	/* Linux: kmalloc(size, GFP_KERNEL, GFP_ATOMIC or GFP_NOWAIT as flags say) */
	void *p = NULL;
	if (!(flags & (GPC_GFP_ATOMIC | GPC_GFP_NOWAIT)) && preempt_count)
		sleeps_in_atomic++;
	if (posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align, size ? size : 1))
		return NULL;
	if (flags & GPC_GFP_ZERO)
		memset(p, 0, size);
	return p;
}

/* One task here; Linux: a word in current's task_struct that only gpc touches. */
static unsigned int alloc_scope_word;
unsigned int *gpc_alloc_scope_word(void) { return &alloc_scope_word; }

void gpc_kfree(void *ptr, size_t size, size_t align)
{
	(void)size, (void)align;
	free(ptr); /* Linux: kfree */
}

/* One thread: a lock only counts (Linux: spin_lock_init/spin_lock, mutex_*). */
void gpc_spin_init(void *lock, const char *name, void *key) { (void)lock; (void)name; (void)key; }
void gpc_spin_lock(void *lock) { (void)lock; preempt_count++; }
void gpc_spin_lock_nested(void *lock, unsigned int sub) { (void)sub; gpc_spin_lock(lock); }
void gpc_spin_unlock(void *lock) { (void)lock; preempt_count--; }
void gpc_spin_lock_irqsave(void *lock) { gpc_spin_lock(lock); }
void gpc_spin_unlock_irqrestore(void *lock) { gpc_spin_unlock(lock); }
void gpc_spin_destroy(void *lock) { (void)lock; }
void gpc_mutex_init(void *lock, const char *name, void *key) { (void)lock; (void)name; (void)key; }
void gpc_mutex_lock(void *lock) { (void)lock; sleeps_in_atomic += preempt_count > 0; }
void gpc_mutex_unlock(void *lock) { (void)lock; }
void gpc_mutex_destroy(void *lock) { (void)lock; }

/* RCU: callbacks wait until no reader is left (Linux: call_rcu, synchronize_rcu). */
static int rcu_readers;
static struct gpc_rcu_head *rcu_queue;
static long rcu_freed;

static void rcu_quiescent(void)
{
	while (rcu_readers == 0 && rcu_queue) {
		struct gpc_rcu_head *h = rcu_queue;
		rcu_queue = h->next;
		gpc_rcu_invoke(h);
		rcu_freed++;
	}
}

void gpc_rcu_read_lock(void) { rcu_readers++; preempt_count++; }
void gpc_rcu_read_unlock(void) { preempt_count--; rcu_readers--; rcu_quiescent(); }
void gpc_call_rcu(struct gpc_rcu_head *head) { head->next = rcu_queue; rcu_queue = head; }
void gpc_synchronize_rcu(void) { rcu_quiescent(); }

unsigned int gpc_current_cpu(void) { return 0; }   /* raw_smp_processor_id() */
unsigned int gpc_nr_cpus(void) { return 4; }       /* nr_cpu_ids */
unsigned int gpc_nr_mem_nodes(void) { return 1; }  /* nr_node_ids */

/* Tasks: gpc's slot lives in the task struct, as Linux's task->cgroups does. It links the
 * task into its css_group's list, so a task struct never moves while the task lives. */
struct task {
	struct gpc_task_slot cgroups;
	uint32_t pid;
	int alive;
};
#define NR_TASKS 8
static struct task tasks[NR_TASKS];

static struct gpc_task *T(struct task *t) { return (struct gpc_task *)t; }
struct gpc_task_slot *gpc_task_slot(struct gpc_task *t) { return &((struct task *)t)->cgroups; }
/* container_of(slot, struct task_struct, cg_list): how a tasks listing finds the pid. */
struct gpc_task *gpc_slot_task(struct gpc_task_slot *s)
{
	return T((struct task *)((char *)s - offsetof(struct task, cgroups)));
}
uint32_t gpc_task_pid(struct gpc_task *t) { return ((struct task *)t)->pid; }
uint32_t gpc_task_tgid(struct gpc_task *t) { return ((struct task *)t)->pid; }

void gpc_task_creds(struct gpc_task *t, struct gpc_creds *out)
{
	(void)t; /* everyone is root here */
	*out = (struct gpc_creds){ 0, 0, 0, 0, true, true };
}

int gpc_with_task(uint32_t pid, gpc_task_fn f, void *ctx) /* find_task_by_vpid */
{
	for (int i = 0; i < NR_TASKS; i++)
		if (tasks[i].alive && tasks[i].pid == pid)
			return f(ctx, T(&tasks[i])), 1;
	return 0;
}

int gpc_with_thread_group(uint32_t tgid, gpc_task_fn f, void *ctx)
{
	return gpc_with_task(tgid, f, ctx); /* one thread per process here */
}

struct gpc_task *gpc_next_thread(struct gpc_task *leader, struct gpc_task *prev)
{
	return prev ? NULL : leader;
}

void gpc_release_notify(void *ctx) { (void)ctx; } /* schedule_work(&release_work) */
void gpc_files_changed(void *ctx) { (void)ctx; }  /* schedule_work(&notify_work) */

/* cgroup_may_write(): nothing is chowned here, the cgroup.procs files are root's 0644. */
bool gpc_may_write_procs(const struct gpc_creds *creds, uint64_t id)
{
	(void)id;
	return creds->euid == 0 || creds->cap_dac_override;
}

/* No network devices in this kernel: net_prio.ifpriomap lists none. */
const char *gpc_netdev_name(unsigned int idx) { (void)idx; return NULL; }

/* No job control in this kernel: no task stops for a freeze, cgroup.kill is refused. */
bool gpc_task_frozen(struct gpc_task *task) { (void)task; return false; }
void gpc_set_task_frozen(struct gpc_task *task, bool frozen) { (void)task; (void)frozen; }
void gpc_freeze_task(struct gpc_task *task, bool freeze) { (void)task; (void)freeze; }
int gpc_kill_task(struct gpc_task *task) { (void)task; return -EOPNOTSUPP; }
bool gpc_fatal_signal_pending(struct gpc_task *task) { (void)task; return false; }
uint64_t gpc_clock_ns(void) { return 0; } /* ktime_get_ns() */

/* No page reclaim or OOM killer here either (gpc_memory_charge's users have none). */
uint64_t gpc_reclaim_pages(void *ctx, uint64_t group, int lru, uint64_t nr, uint64_t *writeback)
{
	(void)ctx; (void)group; (void)lru; (void)nr;
	*writeback = 0;
	return 0; /* shrink_lruvec() of the group's own lruvec */
}
uint64_t gpc_task_footprint(struct gpc_task *task) { (void)task; return GPC_OOM_UNKILLABLE; } /* oom_badness() */

void gpc_panic(const char *msg, size_t len)
{
	fprintf(stderr, "gpc BUG: %.*s\n", (int)len, msg); /* Linux: panic() */
	abort();
}

/* ---- the kernel ---- */

/* copy_process(): a new task struct, its slot emptied, then gpc's fork hook. */
static struct task *fork_task(struct gpc *g, struct task *parent, uint32_t pid)
{
	struct task *t = &tasks[pid - 1];
	t->pid = pid;
	gpc_task_slot_init(&t->cgroups);
	int r = gpc_fork(g, T(parent), T(t));
	printf("fork %u -> %u: %s\n", parent->pid, pid,
	       r == 0 ? "ok" : r == -EAGAIN ? "-EAGAIN (pids.max)" : "error");
	t->alive = r == 0;
	return r ? NULL : t;
}

static void show(struct gpc *g, int h, const char *file)
{
	char buf[256];
	long n = gpc_read(g, h, file, NULL, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("%s: %s", file, n >= 0 ? buf : "(error)\n");
}

/* What a scheduler asks for each task (inside its own RCU read section). */
static void sched_view(struct gpc *g, struct task *t)
{
	uint64_t shares = 0;
	struct gpc_cpu_bandwidth bw;
	unsigned long cpus = 0;

	gpc_rcu_read_lock();
	gpc_cpu_shares(g, T(t), &shares);
	gpc_cpu_bandwidth(g, T(t), 0, &bw);
	gpc_cpuset_cpus(g, T(t), &cpus, 64);
	gpc_rcu_read_unlock();
	printf("task %u: weight %llu, quota %lld us per %llu us, cpus %#lx\n", t->pid,
	       (unsigned long long)shares, (long long)bw.quota_us, (unsigned long long)bw.period_us,
	       cpus);
}

int main(void)
{
	struct gpc *g;
	struct task *init, *a, *b, *c;
	char buf[512];
	long n;
	int h, u, r;

	if (GPC_ABI_CHECK())
		return 1;
	g = gpc_init(NULL); /* at boot, as cgroup_init() */
	if (GPC_IS_ERR(g))
		return 1;
	init = &tasks[0];
	init->pid = 1;
	gpc_task_slot_init(&init->cgroups);
	gpc_init_task(g, T(init));
	init->alive = 1;

	h = gpc_mount(g, "cpu,pids", NULL); /* mount -t cgroup -o cpu,pids none /sys/fs/cgroup */
	printf("mounted cpu,pids: hierarchy %d\n", h);
	gpc_mkdir(g, h, "/batch");
	gpc_write(g, h, "/batch/cpu.shares", NULL, "256", 3);
	gpc_write(g, h, "/batch/cpu.cfs_quota_us", NULL, "50000", 5);
	gpc_write(g, h, "/batch/pids.max", NULL, "2", 1);

	a = fork_task(g, init, 2);
	b = fork_task(g, init, 3);
	printf("move 3 to /batch: %d\n", gpc_write(g, h, "/batch/tasks", NULL, "3", 1));
	show(g, h, "/batch/tasks");
	sched_view(g, a);
	sched_view(g, b);

	fork_task(g, b, 4);           /* pids.current 2 of 2 in /batch... */
	fork_task(g, b, 5);           /* ...so this one is refused: EAGAIN */
	show(g, h, "/batch/pids.current");

	n = gpc_proc_pid_cgroup(g, T(b), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("/proc/3/cgroup: %s", buf);

	/* cgroup v2 beside it (mount -t cgroup2 none /sys/fs/cgroup/unified): a child
	 * cloned straight into a group, clone3() with CLONE_INTO_CGROUP. */
	u = gpc_mount_v2(g, NULL, NULL);
	printf("mounted cgroup2: hierarchy %d\n", u);
	gpc_mkdir(g, u, "/svc");
	c = &tasks[5];
	c->pid = 6;
	gpc_task_slot_init(&c->cgroups);
	r = gpc_fork_into(g, T(init), T(c), u, "/svc", NULL); /* NULL: the initial cgroup ns */
	printf("clone3 1 -> 6 into /svc: %d\n", r);
	c->alive = r == 0;
	show(g, u, "/svc/cgroup.procs");
	show(g, u, "/svc/cgroup.events");
	r = gpc_write(g, u, "/svc/cgroup.kill", NULL, "1", 1);
	printf("kill /svc: %s\n", r == -EOPNOTSUPP ? "-EOPNOTSUPP (no job control here)" : "?");
	n = gpc_proc_pid_cgroup(g, T(c), buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	printf("/proc/6/cgroup:\n%s", buf);

	/* Shut down: every task exits, then the group and the hierarchy go. */
	for (int i = NR_TASKS - 1; i >= 0; i--)
		if (tasks[i].alive) {
			gpc_exit(g, T(&tasks[i]));
			tasks[i].alive = 0;
		}
	printf("rmdir /batch: %d, umount: %d\n", gpc_rmdir(g, h, "/batch"), gpc_umount(g, h));
	printf("rmdir /svc: %d, umount cgroup2: %d\n", gpc_rmdir(g, u, "/svc"), gpc_umount(g, u));
	gpc_destroy(g);
	printf("RCU callbacks run after their readers: %s; sleeps in atomic context: %d\n",
	       rcu_freed > 0 ? "yes" : "none queued", sleeps_in_atomic);
	return sleeps_in_atomic != 0;
}
