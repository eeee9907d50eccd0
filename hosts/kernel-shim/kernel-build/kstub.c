/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * kstub.c - the smallest freestanding "kernel" that links the kernel-target build of
 * gpc-kshim: it supplies every import of gpc.h, the memory functions Rust's core
 * calls, and an entry point that boots gpc and asks it what a scheduler, an allocator
 * and an open() would ask.
 *
 * Built by kernel-build.sh as kernel code is: -ffreestanding -nostdlib -mcmodel=kernel
 * -mno-red-zone -mno-sse -mno-mmx -mno-80387 (no FPU/SIMD state in the kernel), and
 * linked with the shim's relocatable object at a kernel address (kernel.ld). The image
 * is linked and inspected, not booted: booting it needs a boot stub and page tables
 * (hosts/hobby-kernel has those); what this file proves is that the kernel build
 * needs nothing beyond the header's imports and five memory functions.
 *
 * The implementations are deliberately minimal and single-CPU (a bump allocator,
 * test-and-set locks, an RCU whose readers are preemption-disabled sections): the
 * point is the link, not the policy. hosts/kernel-shim/tests/c/kernel.c is the full
 * stand-in the harness runs.
 */
#include "gpc.h"

#define EINVAL 22

/* ---- memory functions (Linux: lib/string.c) ---- */

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
int bcmp(const void *a, const void *b, size_t n);

void *memcpy(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	while (n--)
		*d++ = *s++;
	return dst;
}

void *memmove(void *dst, const void *src, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *s = src;
	if (d < s) {
		while (n--)
			*d++ = *s++;
	} else {
		while (n--)
			d[n] = s[n];
	}
	return dst;
}

void *memset(void *dst, int c, size_t n)
{
	unsigned char *d = dst;
	while (n--)
		*d++ = (unsigned char)c;
	return dst;
}

int memcmp(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	for (; n; n--, x++, y++)
		if (*x != *y)
			return *x < *y ? -1 : 1;
	return 0;
}

int bcmp(const void *a, const void *b, size_t n)
{
	return memcmp(a, b, n);
}

/* ---- allocation: a bump allocator over a static arena (kfree forgets) ---- */

static unsigned char arena[1 << 20] __attribute__((aligned(4096)));
static size_t arena_used;

void *gpc_kmalloc(size_t size, size_t align, unsigned int flags)
{
	size_t at = (arena_used + align - 1) & ~(align - 1);
	void *p;
	if (align == 0 || (align & (align - 1)) || at > sizeof(arena) || size > sizeof(arena) - at)
		return 0;
	arena_used = at + size;
	p = &arena[at];
	if (flags & GPC_GFP_ZERO)
		memset(p, 0, size);
	return p;
}

/* One task: one allocation-scope word. */
static unsigned int alloc_scope_word;

unsigned int *gpc_alloc_scope_word(void)
{
	return &alloc_scope_word;
}

void gpc_kfree(void *ptr, size_t size, size_t align)
{
	(void)ptr;
	(void)size;
	(void)align;
}

/* ---- locks: test-and-set on the storage's first byte; one CPU, no scheduler ---- */

static int preempt_count;

void gpc_spin_init(void *lock, const char *name, void *key)
{
	(void)name;
	(void)key;
	*(volatile unsigned char *)lock = 0;
}

void gpc_spin_lock(void *lock)
{
	preempt_count++;
	while (__atomic_test_and_set(lock, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

void gpc_spin_lock_nested(void *lock, unsigned int subclass)
{
	(void)subclass;
	gpc_spin_lock(lock);
}

void gpc_spin_unlock(void *lock)
{
	__atomic_clear(lock, __ATOMIC_RELEASE);
	preempt_count--;
}

/* No interrupts in this kernel: irqsave is the plain spinlock. */
void gpc_spin_lock_irqsave(void *lock)
{
	gpc_spin_lock(lock);
}

void gpc_spin_unlock_irqrestore(void *lock)
{
	gpc_spin_unlock(lock);
}

void gpc_spin_destroy(void *lock)
{
	(void)lock;
}

void gpc_mutex_init(void *lock, const char *name, void *key)
{
	gpc_spin_init(lock, name, key);
}

void gpc_mutex_lock(void *lock)
{
	while (__atomic_test_and_set(lock, __ATOMIC_ACQUIRE))
		__builtin_ia32_pause();
}

void gpc_mutex_unlock(void *lock)
{
	__atomic_clear(lock, __ATOMIC_RELEASE);
}

void gpc_mutex_destroy(void *lock)
{
	(void)lock;
}

/* ---- RCU: readers disable preemption; a grace period is a moment with no reader ---- */

static struct gpc_rcu_head *rcu_pending;

void gpc_rcu_read_lock(void)
{
	preempt_count++;
}

void gpc_rcu_read_unlock(void)
{
	preempt_count--;
}

void gpc_call_rcu(struct gpc_rcu_head *head)
{
	head->next = rcu_pending;
	rcu_pending = head;
}

void gpc_synchronize_rcu(void)
{
	while (rcu_pending) {
		struct gpc_rcu_head *head = rcu_pending;
		rcu_pending = 0;
		while (head) {
			struct gpc_rcu_head *next = head->next;
			gpc_rcu_invoke(head);
			head = next;
		}
	}
}

/* ---- CPUs ---- */

unsigned int gpc_current_cpu(void)
{
	return 0;
}

unsigned int gpc_nr_cpus(void)
{
	return 1;
}

unsigned int gpc_nr_mem_nodes(void)
{
	return 1;
}

/* ---- tasks: a fixed table ---- */

struct ktask {
	struct gpc_task_slot slot;
	uint32_t pid, tgid;
	int live;
};

#define NR_TASKS 4
static struct ktask tasks[NR_TASKS];

static struct gpc_task *T(struct ktask *t)
{
	return (struct gpc_task *)t;
}

struct gpc_task_slot *gpc_task_slot(struct gpc_task *task)
{
	return &((struct ktask *)task)->slot;
}

struct gpc_task *gpc_slot_task(struct gpc_task_slot *slot)
{
	return T((struct ktask *)((char *)slot - offsetof(struct ktask, slot)));
}

uint32_t gpc_task_pid(struct gpc_task *task)
{
	return ((struct ktask *)task)->pid;
}

uint32_t gpc_task_tgid(struct gpc_task *task)
{
	return ((struct ktask *)task)->tgid;
}

void gpc_task_creds(struct gpc_task *task, struct gpc_creds *out)
{
	(void)task;
	out->uid = out->euid = out->suid = out->egid = 0;
	out->cap_sys_admin = out->cap_dac_override = true;
}

int gpc_with_task(uint32_t pid, gpc_task_fn f, void *ctx)
{
	for (int i = 0; i < NR_TASKS; i++)
		if (tasks[i].live && tasks[i].pid == pid) {
			f(ctx, T(&tasks[i]));
			return 1;
		}
	return 0;
}

int gpc_with_thread_group(uint32_t tgid, gpc_task_fn f, void *ctx)
{
	return gpc_with_task(tgid, f, ctx); /* every task is its own group here */
}

struct gpc_task *gpc_next_thread(struct gpc_task *leader, struct gpc_task *prev)
{
	return prev ? 0 : leader;
}

void gpc_release_notify(void *host_ctx)
{
	(void)host_ctx;
}

void gpc_files_changed(void *host_ctx)
{
	(void)host_ctx;
}

/* No chown here: cgroup.procs files are 0644 root's. */
bool gpc_may_write_procs(const struct gpc_creds *creds, uint64_t id)
{
	(void)id;
	return creds->euid == 0 || creds->cap_dac_override;
}

/* No network devices: net_prio.ifpriomap lists none. */
const char *gpc_netdev_name(unsigned int idx)
{
	(void)idx;
	return NULL;
}

/* No job control: no task stops for a freeze, cgroup.kill is refused. */
bool gpc_task_frozen(struct gpc_task *task)
{
	(void)task;
	return false;
}

void gpc_set_task_frozen(struct gpc_task *task, bool frozen)
{
	(void)task;
	(void)frozen;
}

void gpc_freeze_task(struct gpc_task *task, bool freeze)
{
	(void)task;
	(void)freeze;
}

int gpc_kill_task(struct gpc_task *task)
{
	(void)task;
	return -95; /* -EOPNOTSUPP: no <errno.h> in a freestanding build */
}

bool gpc_fatal_signal_pending(struct gpc_task *task)
{
	(void)task;
	return false;
}

uint64_t gpc_clock_ns(void)
{
	return 0;
}

/* No pages to reclaim, nobody to kill: charges fail at the limit. */
uint64_t gpc_reclaim_pages(void *host_ctx, uint64_t group, int lru, uint64_t nr,
			   uint64_t *writeback)
{
	(void)host_ctx;
	(void)group;
	(void)lru;
	(void)nr;
	*writeback = 0;
	return 0;
}

uint64_t gpc_task_footprint(struct gpc_task *task)
{
	(void)task;
	return GPC_OOM_UNKILLABLE;
}

GPC_NORETURN void gpc_panic(const char *msg, size_t len)
{
	(void)msg;
	(void)len;
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* ---- the entry point: boot gpc, make a group, fork, move, ask ---- */

/* What the run found, for a debugger (the image is not booted by the test). */
volatile long kstub_result;

static struct ktask *new_task(uint32_t pid)
{
	struct ktask *t = &tasks[pid - 1];
	t->pid = t->tgid = pid;
	gpc_task_slot_init(&t->slot);
	return t;
}

void kstub_start(void);
void kstub_start(void)
{
	struct gpc *g;
	struct ktask *init, *child;
	struct gpc_cpu_bandwidth bw;
	struct gpc_cpu_weight wt;
	unsigned long cpus[1];
	uint64_t shares = 0;
	uint32_t classid = 0;
	long r = 0;
	int h;

	if (GPC_ABI_CHECK())
		gpc_panic("gpc.h does not match the library", 33);
	g = gpc_init(0);
	if (GPC_IS_ERR(g))
		gpc_panic("gpc_init", 8);
	init = new_task(1);
	if (gpc_init_task(g, T(init)) == 0)
		init->live = 1;
	h = gpc_mount(g, "cpu,cpuacct,cpuset,memory,devices,freezer,net_cls,pids", 0);
	r |= gpc_mkdir(g, h, "/box");
	r |= gpc_write(g, h, "/box/cpu.shares", 0, "512", 3);
	child = new_task(2);
	if (gpc_fork(g, T(init), T(child)) == 0)
		child->live = 1;
	r |= gpc_attach(g, h, "/box", T(child));

	gpc_rcu_read_lock(); /* what the scheduler, the allocator and open() ask */
	r |= gpc_cpu_shares(g, T(child), &shares);
	r |= gpc_cpu_bandwidth(g, T(child), 0, &bw);
	r |= gpc_cpu_weight(g, T(child), 0, &wt);
	r |= gpc_cpuacct_charge(g, T(child), 0, 1000, true);
	r |= gpc_cpuset_cpus(g, T(child), cpus, 64) < 0;
	r |= gpc_cpuset_mems(g, T(child), cpus, 64) < 0;
	r |= gpc_device_access(g, T(child), GPC_DEVCG_DEV_CHAR, 1, 3, GPC_DEVCG_ACC_READ);
	r |= gpc_freezer_frozen(g, T(child));
	r |= gpc_memory_charge(g, T(child), 4096);
	r |= gpc_memory_uncharge(g, T(child), 4096);
	{
		struct gpc_mem_charge mc;
		r |= gpc_mem_charge(g, T(child), 1, GPC_LRU_INACTIVE_FILE, GPC_MEM_NOWAIT, &mc);
		r |= gpc_mem_uncharge(g, T(child), 0, 1, GPC_LRU_INACTIVE_FILE);
	}
	r |= gpc_net_cls_classid(g, T(child), &classid);
	r |= gpc_task_css(g, T(child), GPC_SS_CPU) == 0;
	gpc_rcu_read_unlock();

	r |= gpc_exit(g, T(child));
	child->live = 0;
	r |= gpc_rmdir(g, h, "/box");
	r |= gpc_umount(g, h);
	r |= gpc_exit(g, T(init));
	init->live = 0;
	gpc_destroy(g);
	kstub_result = r ? -EINVAL : (long)shares;
	for (;;)
		__asm__ volatile("hlt");
}
