/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * gpc.h - Generic Process Containers (Linux cgroup v1 and v2) for kernels written in C.
 *
 * The C ABI of gpc-kshim (hosts/kernel-shim), written by hand. Link libgpc_kshim.a
 * (built with panic = "abort") and supply every function of "Supplied by the kernel".
 * doc/kernel-shim.md maps each import onto Linux and onto Rust-for-Linux, and says where
 * the task hooks go in copy_process(), do_exit() and cgroup_migrate().
 *
 * Conventions, as in Linux:
 *  - failure is a negative errno (-ENOMEM, -EBUSY, ...); gpc_init() returns an
 *    ERR_PTR-style pointer (GPC_IS_ERR / GPC_PTR_ERR);
 *  - strings in are NUL-terminated UTF-8 of at most 4095 bytes (-ENAMETOOLONG past
 *    that, -EINVAL if not UTF-8 or NULL);
 *  - output goes to a caller buffer (buf, len): the call returns the number of bytes
 *    written; with buf == NULL && len == 0 it returns the number it would write; if
 *    len is too small it returns -EOVERFLOW and writes nothing. Output is not
 *    NUL-terminated, except gpc_list()'s names, each followed by a NUL (listxattr(2));
 *  - a NULL struct gpc, task or out-pointer is -EINVAL;
 *  - a task belongs to one instance (the one that attached it); passing it to another
 *    is -EINVAL (see "Exported by gpc" for the exact rules, and for every export's
 *    results and undefined cases);
 *  - gpc never panics on any input; a panic would be a bug in gpc and ends in
 *    gpc_panic().
 *
 * Freestanding: needs only <stddef.h>, <stdint.h> and <stdbool.h>. C11 (or gnu11, as
 * Linux builds) for _Alignof; also valid C++11.
 *
 * A staticlib built for the host target also expects memcpy, memmove, memset, memcmp
 * and bcmp from the kernel (the Rust core library calls them; Linux has them all). The
 * kernel-target build (x86_64-unknown-none: no SSE, no red zone, code-model=kernel;
 * hosts/kernel-shim/kernel-build/kernel-build.sh, doc/kernel-shim.md) is one object
 * whose only global symbols are the exports below and whose only undefined ones are the
 * imports.
 */
#ifndef GPC_H
#define GPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#define GPC_ALIGNOF(t) alignof(t)
#else
#define GPC_ALIGNOF(t) _Alignof(t)
#endif

#if defined(__GNUC__)
#define GPC_NORETURN __attribute__((__noreturn__))
#else
#define GPC_NORETURN
#endif

/* ---------------------------------------------------------------------------------- */
/* Types and constants                                                                  */
/* ---------------------------------------------------------------------------------- */

/* One gpc instance (opaque). */
struct gpc;

/* The kernel's task: pass your struct task_struct * cast to this (opaque to gpc). */
struct gpc_task;

/*
 * The per-task slot the kernel embeds in its task struct, as Linux embeds
 * task->cgroups and task->cg_list: the task's node in its css_group's task list (two
 * pointers) and its css_group pointer; three pointers, 24 bytes on 64-bit (what Linux
 * spends). Only gpc writes it. The task's ids are not in it: a tasks or cgroup.procs
 * listing finds the task from its slot with gpc_slot_task() (container_of) and asks
 * gpc_task_pid() and gpc_task_tgid().
 *
 * It is an intrusive list node: other tasks' slots point at it while it is attached
 * (from gpc_init_task()/gpc_fork() until gpc_exit()), so the kernel must never move or
 * copy an attached slot anywhere it would be used as the task's (Linux embeds it in
 * task_struct, which never moves). Initialise it with gpc_task_slot_init() whenever a
 * task struct is made or copied (dup_task_struct): the copy holds the parent's list
 * pointers, and gpc_task_slot_init() overwrites them with an empty slot without
 * following or unlinking them (they are the parent's, not the copy's).
 */
#define GPC_TASK_SLOT_SIZE (3 * sizeof(void *))
#define GPC_TASK_SLOT_ALIGN (GPC_ALIGNOF(void *))
struct gpc_task_slot {
	void *opaque[3];
};

/* A streaming reader of a tasks or cgroup.procs file (gpc_pids_open, opaque). */
struct gpc_pids_reader;

/*
 * Each kernel lock gpc uses lives in GPC_LOCK_STORAGE_SIZE bytes of storage aligned to
 * GPC_LOCK_STORAGE_ALIGN, allocated (gpc_kmalloc) for that lock alone when the object
 * holding it is made. gpc calls gpc_spin_init() or gpc_mutex_init() on it once, in
 * place, and never moves it: destroy, then free. 256 bytes hold a lockdep kernel's
 * struct mutex (Linux 6.18 include/linux/mutex_types.h with CONFIG_DEBUG_MUTEXES and
 * CONFIG_DEBUG_LOCK_ALLOC: owner, a debug raw_spinlock_t with its lockdep_map, osq,
 * wait_list, magic and a lockdep_map: about 180 bytes on x86-64; PREEMPT_RT's rt_mutex
 * based one is smaller) and spinlock_t. Check your lock types fit:
 * _Static_assert(sizeof(struct mutex) <= GPC_LOCK_STORAGE_SIZE, "").
 *
 * Each lock has a class: a static name and GPC_LOCK_CLASS_KEY_SIZE bytes of static,
 * writable storage to use as its struct lock_class_key (one per class, the address is
 * the identity; lockdep's key is 16 bytes). Classes are distinct per lock role, so
 * gpc's nesting (hierarchy mutex, then css_set table, then release queue; a devices
 * group under its parent's, taken with gpc_spin_lock_nested) is an order to lockdep.
 */
#define GPC_LOCK_STORAGE_SIZE 256
#define GPC_LOCK_STORAGE_ALIGN 16
#define GPC_LOCK_CLASS_KEY_SIZE 32

/* Allocation flags (gpc_kmalloc). */
/*
 * Every allocation in gpc names its context (Rust-for-Linux style: KBox::new(x, flags)),
 * and gpc_kmalloc gets exactly those flags; nothing is derived from the lock state.
 * GPC_GFP_KERNEL is only passed where gpc holds no spinlock and no RCU read lock, so a
 * kernel may sleep to satisfy it; with GPC_GFP_ATOMIC or GPC_GFP_NOWAIT it must not.
 */
#define GPC_GFP_KERNEL 0u /* may sleep: GFP_KERNEL */
#define GPC_GFP_ATOMIC 1u /* under a spinlock or RCU read lock, may use reserves: GFP_ATOMIC */
#define GPC_GFP_ZERO 2u   /* zeroed memory: __GFP_ZERO */
#define GPC_GFP_NOWAIT 4u /* must not sleep, may simply fail: GFP_NOWAIT */

/* gpc_init() errors, Linux's ERR_PTR convention. */
#define GPC_MAX_ERRNO 4095
static inline bool GPC_IS_ERR(const void *p)
{
	return (uintptr_t)p >= (uintptr_t)-GPC_MAX_ERRNO;
}
static inline long GPC_PTR_ERR(const void *p)
{
	return (long)(intptr_t)p;
}

/* Subsystem ids of gpc_init()'s instance (all controllers compiled in). */
enum gpc_subsys_id {
	GPC_SS_CPUSET = 0,
	GPC_SS_CPU = 1,
	GPC_SS_CPUACCT = 2,
	GPC_SS_IO = 3,
	GPC_SS_MEMORY = 4,
	GPC_SS_DEVICES = 5,
	GPC_SS_FREEZER = 6,
	GPC_SS_NET_CLS = 7,
	GPC_SS_PERF_EVENT = 8,
	GPC_SS_NET_PRIO = 9,
	GPC_SS_HUGETLB = 10,
	GPC_SS_PIDS = 11,
	GPC_SS_RDMA = 12,
	GPC_SS_MISC = 13,
	GPC_SS_NS = 14,
	GPC_SS_DEBUG = 15,
	GPC_SS_COUNT = 16
};

/* The credentials gpc checks (a subset of Linux's struct cred). */
struct gpc_creds {
	uint32_t uid;
	uint32_t euid;
	uint32_t suid;
	uint32_t egid;
	bool cap_sys_admin;    /* CAP_SYS_ADMIN: mount, release_agent */
	bool cap_dac_override; /* CAP_DAC_OVERRIDE */
};

/* What gpc_stat() reports. */
#define GPC_STAT_DIR 1
#define GPC_STAT_FILE 2
struct gpc_stat {
	int kind;       /* GPC_STAT_DIR or GPC_STAT_FILE */
	unsigned mode;  /* a file's permission bits */
	uint64_t id;    /* a directory's container id */
};

/* One cpu group's bandwidth limit (gpc_cpu_bandwidth). */
struct gpc_cpu_bandwidth {
	int64_t quota_us;   /* cpu.cfs_quota_us: run time per period, -1 for no limit */
	uint64_t period_us; /* cpu.cfs_period_us when there is a quota, else 0 */
	uint64_t burst_us;  /* cpu.cfs_burst_us */
};

/* One cpu group's weight (gpc_cpu_weight). */
struct gpc_cpu_weight {
	uint64_t shares; /* scheduler weight: cpu.shares, or cpu.weight 1..10000 as 10..102400 */
	uint32_t weight; /* the same as v2's cpu.weight: 1..10000 */
	int32_t idle;    /* cpu.idle: 1 for a SCHED_IDLE group */
};

/*
 * gpc_device_access() types and access bits: Linux's own values
 * (include/linux/device_cgroup.h DEVCG_DEV_*, DEVCG_ACC_*).
 */
#define GPC_DEVCG_DEV_BLOCK 1
#define GPC_DEVCG_DEV_CHAR 2
#define GPC_DEVCG_ACC_MKNOD 1u
#define GPC_DEVCG_ACC_READ 2u
#define GPC_DEVCG_ACC_WRITE 4u

/*
 * The first two words of the head gpc embeds in every object freed after a grace
 * period: the kernel may use both (and nothing past them) between gpc_call_rcu() and
 * gpc_rcu_invoke(), to queue the head or as a Linux struct callback_head (next, func):
 * call_rcu((struct callback_head *)head, cb), cb calling gpc_rcu_invoke().
 */
struct gpc_rcu_head {
	struct gpc_rcu_head *next;
	void *data;
};

/* Called for each task of a walk (the task is alive during the call). */
typedef void (*gpc_task_fn)(void *ctx, struct gpc_task *task);

/* Called by gpc_drain_releases() per container to release (strings not NUL-terminated). */
typedef void (*gpc_release_fn)(void *ctx, const char *agent, size_t agent_len,
			       const char *path, size_t path_len);

/*
 * Called by gpc_drain_notifications() per changed file: the hierarchy handle, the
 * container's id (struct gpc_stat's id) and the file's name ("cgroup.events"),
 * NUL-terminated, valid during the call.
 */
typedef void (*gpc_notify_fn)(void *ctx, int hier, uint64_t id, const char *file);

/*
 * A cgroup namespace (gpc_cgroup_ns_new, opaque): the groups its creator was in, one
 * per hierarchy, as its root. It holds nothing of gpc's (container ids, not
 * references): the kernel owns it, shares it between the tasks that inherit it (Linux
 * nsproxy, with the kernel's own count) and frees it with gpc_cgroup_ns_free(). Where
 * an export takes one, NULL is the initial namespace.
 */
struct gpc_cgroup_ns;

/* ---------------------------------------------------------------------------------- */
/* Exported by gpc                                                                      */
/* ---------------------------------------------------------------------------------- */
/* BEGIN EXPORTS */
/*
 * Every export below lists its results and its undefined cases. Besides those, the
 * following hold for all of them (the "common rules"; "UB" below means undefined
 * behaviour: memory corruption, a leak, a deadlock or a wrong answer, never reported):
 *
 *  G. The struct gpc *g argument: NULL or an ERR_PTR is -EINVAL (NULL for
 *     gpc_task_css, ignored by gpc_destroy). UB: any other pointer that is not a live
 *     instance returned by gpc_init() (garbage, or an instance already destroyed).
 *  T. A struct gpc_task *task, parent, child or caller argument: NULL is -EINVAL (for a
 *     caller: the kernel itself). UB: a task that is not alive for the whole call, or
 *     whose gpc_task_slot() does not return its own slot, or whose slot
 *     gpc_slot_task() does not map back to it; a slot never initialised with
 *     gpc_task_slot_init() (its garbage is read as a css_group pointer).
 *  I. A task belongs to the one instance whose gpc_init_task() or gpc_fork() attached
 *     it, until gpc_exit(). Passing it to another instance is detected: -EINVAL from
 *     gpc_fork and gpc_fork_into (as parent), gpc_exit, gpc_attach,
 *     gpc_proc_pid_cgroup(_ns), gpc_cgroup_ns_new, gpc_enter_frozen, gpc_leave_frozen
 *     and from writes of its pid to tasks/cgroup.procs, and another instance's tasks
 *     files do not list it. A struct gpc_cgroup_ns of another instance is -EINVAL. gpc_task_css() does not check in release builds (see there). All instances
 *     of one kernel must share the kernel's RCU (the imports are global).
 *  S. Strings: NULL or not UTF-8 is -EINVAL, longer than 4095 bytes -ENAMETOOLONG.
 *     UB: a string without a NUL in its first 4096 bytes that are not all readable, or
 *     one changed during the call.
 *  B. Output buffers (buf, len): buf == NULL with len != 0 is -EINVAL; a too small len
 *     is -EOVERFLOW with nothing written. UB: buf without len writable bytes, a buffer
 *     overlapping an input string, or one another thread reads or writes during the
 *     call.
 *  C. Context: exports marked "may sleep" take gpc's mutex and allocate with
 *     GPC_GFP_KERNEL. UB: calling one of them in atomic context (a spinlock held,
 *     interrupts off, inside gpc_rcu_read_lock()), from an import gpc is running
 *     (gpc_task_fn, gpc_release_fn, gpc_kmalloc, ...), or from gpc_rcu_invoke's context.
 *     The others (gpc_abi_check, gpc_subsys_count, gpc_subsys_id, gpc_task_slot_init,
 *     gpc_fork, gpc_exit, gpc_task_css, gpc_rcu_invoke, gpc_cgroup_task_freeze,
 *     gpc_account_cputime, gpc_psi_task_change, gpc_psi_show, gpc_cgroup_ns_free and
 *     the enforcement exports) never sleep
 *     and never allocate; of the memory exports, gpc_mem_charge with GPC_MEM_NOWAIT and
 *     the page-state ones given a task do not either (see "Memory").
 *  X. Concurrency: every export may run on any thread concurrently with any other on the
 *     same instance, except as stated: gpc_destroy excludes everything else on its
 *     instance, and the hooks of one task (gpc_task_slot_init, gpc_init_task,
 *     gpc_fork and gpc_fork_into as child, gpc_exit, gpc_enter_frozen,
 *     gpc_leave_frozen) are serialised by the kernel (UB otherwise).
 */

/*
 * Does the library match this header? Call once: GPC_ABI_CHECK().
 * Results: 0, or -EINVAL if any size or alignment differs.
 * Undefined: nothing (no pointers; any context).
 */
int gpc_abi_check(size_t task_slot_size, size_t task_slot_align,
		  size_t lock_storage_size, size_t lock_storage_align);
#define GPC_ABI_CHECK()                                                  \
	gpc_abi_check(GPC_TASK_SLOT_SIZE, GPC_TASK_SLOT_ALIGN,           \
		      GPC_LOCK_STORAGE_SIZE, GPC_LOCK_STORAGE_ALIGN)

/*
 * A new instance with every compiled-in controller (ids: enum gpc_subsys_id). host_ctx
 * is opaque to gpc and handed back to gpc_release_notify(). May sleep.
 * Results: the instance, or ERR_PTR(-ENOMEM) (test with GPC_IS_ERR, nothing is left
 * allocated).
 * Undefined: imports that break their contracts (rule C for the context).
 */
struct gpc *gpc_init(void *host_ctx);
/*
 * Free the instance: hierarchies, containers, css_groups, states, after a
 * gpc_synchronize_rcu(). May sleep.
 * Results: none. NULL and ERR_PTR values are ignored.
 * Undefined: an instance already destroyed; any other call on g running concurrently or
 * made later (rule X); a gpc_synchronize_rcu() that returns before every head queued
 * before it was invoked (g's heads would run after g is gone); tasks
 * still attached (every task must have had gpc_exit: an attached slot dangles, and a
 * later gpc_exit or gpc_task_slot_init on it is a use after free); a pointer from
 * gpc_task_css still in use; calling it inside gpc_rcu_read_lock() (it waits for a grace
 * period: deadlock) or from a gpc_release_fn.
 */
void gpc_destroy(struct gpc *g);
/*
 * The number of subsystems (ids are 0 .. count-1).
 * Results: the count (GPC_SS_COUNT), or -EINVAL (rule G).
 * Undefined: rule G.
 */
int gpc_subsys_count(const struct gpc *g);
/*
 * The id of the subsystem called name ("cpu", "pids", ...).
 * Results: the id, -ENOENT (no such subsystem), -EINVAL, -ENAMETOOLONG (rules G, S).
 * Undefined: rules G, S.
 */
int gpc_subsys_id(const struct gpc *g, const char *name);

/*
 * Empty a task's slot: for every new or copied task struct (Linux cgroup_fork()), before
 * the task is visible to the task walks and before gpc_init_task()/gpc_fork().
 * Results: 0; -EINVAL for a NULL slot; debug builds (the library built without
 * --release): -EINVAL for a slot still attached (by gpc_init_task or gpc_fork, not yet
 * gpc_exit), which is left as it was.
 * Undefined: in release builds, a slot still attached: it is emptied and its reference
 * leaks (its containers can never be removed, pids stay charged; the debug check tracks
 * up to about 16384 attached slots, best effort past that); a slot another thread uses
 * (rule X); a task struct freed without gpc_exit whose memory is reused (debug builds
 * then report -EINVAL for the new one).
 */
int gpc_task_slot_init(struct gpc_task_slot *slot);
/*
 * Put the first task (init) in the root of every hierarchy. May sleep.
 * Results: 0; -EBUSY if the task's slot is already attached (to any instance); -EINVAL
 * (rules G, T).
 * Undefined: rules G, T, X.
 */
int gpc_init_task(const struct gpc *g, struct gpc_task *task);
/*
 * Fork hook: child joins parent's css_group (cgroup_can_fork + cgroup_post_fork). Takes
 * no lock, never sleeps, never allocates. Undo a successful fork that fails later in
 * the kernel with gpc_exit(child).
 * Results: 0; a controller's refusal (pids: -EAGAIN); -ESRCH (parent exited); -EINTR
 * (parent killed by cgroup.kill: gpc_fatal_signal_pending, as copy_process checks after
 * cgroup_can_fork); -EBUSY (child's slot attached); -EINVAL (rules G, T; parent belongs
 * to another instance, rule I). Nothing changes on error.
 * Undefined: child already visible to the task walks, or without its pid and tgid set;
 * child's slot not initialised (rule T); the same child in two concurrent calls (rule X);
 * a kernel that does not hold its threadgroup rwsem for read from gpc_fork until the
 * child is visible (a concurrent cgroup.procs move then misses the child: wrong
 * membership, not memory corruption).
 */
int gpc_fork(const struct gpc *g, struct gpc_task *parent, struct gpc_task *child);
/*
 * Exit hook (cgroup_exit + cgroup_release + cgroup_free): the task leaves its
 * css_group. Never sleeps, never allocates; takes gpc's spinlock only for its
 * css_group's last task.
 * Results: 0 (also for a task never attached or already exited); -EINVAL (rules G, T;
 * a task of another instance, rule I, which is left as it is).
 * Undefined: rules G, T; two concurrent calls for one task, or one concurrent with a
 * gpc_fork that has it as child (rule X). A task freed without gpc_exit leaks its
 * reference.
 */
int gpc_exit(const struct gpc *g, struct gpc_task *task);
/*
 * Attach hook (cgroup_attach_task -> cgroup_migrate): move task into container path of
 * hierarchy hier, without the permission check of a tasks write. May sleep.
 * Results: 0 (also when the task is already there, or has already exited); -ENOENT (no
 * such hierarchy handle or container); -ENOTDIR; -ENOMEM; a controller's refusal;
 * -EINVAL (rules G, T, S; a task of another instance, rule I); -ENAMETOOLONG.
 * Undefined: rules G, T, S, C.
 */
int gpc_attach(const struct gpc *g, int hier, const char *path, struct gpc_task *task);
/*
 * Lock-free lookup (task_css()): an opaque identity of the state of subsystem ss for
 * task (equal for tasks in the same container of ss's hierarchy). Two dependent loads,
 * no lock, never sleeps.
 * Results: the state pointer, valid until the caller's gpc_rcu_read_lock() section
 * ends; NULL for a NULL or ERR_PTR g, a NULL task, ss out of range, a task not attached
 * (never forked, or exited), and in debug builds for a task of another instance.
 * Undefined: calling it outside a gpc_rcu_read_lock() section (the css_group it reads
 * may be freed under it), or using the pointer after that section ends; dereferencing
 * the pointer (the state's layout is not part of the ABI); in release builds, a task of
 * another instance (not checked, to keep the lookup at two loads: the result is a state
 * of that instance); rules G, T.
 */
const void *gpc_task_css(const struct gpc *g, struct gpc_task *task, int ss);
/*
 * The kernel calls this for each head of gpc_call_rcu() after its grace period, from a
 * context where freeing memory is allowed. Never sleeps.
 * Results: none. NULL is ignored.
 * Undefined: a head that gpc did not pass to gpc_call_rcu(); before the grace period has
 * elapsed (a reader may still use the object: use after free); twice for one head; a
 * head whose memory the kernel changed past its two words while queued.
 */
void gpc_rcu_invoke(struct gpc_rcu_head *head);

/*
 * Mount a v1 hierarchy ("cpu,cpuacct", "none,name=x", "pids,release_agent=/sbin/a";
 * NULL or "" binds every unbound controller) as caller (NULL: the kernel itself). May
 * sleep.
 * Results: the hierarchy handle (> 0: its id in /proc/cgroups; a matching existing
 * hierarchy is reused and returns the same handle, counting one more mount), or -EPERM
 * (caller lacks CAP_SYS_ADMIN), -EBUSY, -EINVAL, -ENOSPC (16 hierarchies), -ENOMEM,
 * -ENAMETOOLONG.
 * Undefined: rules G, T (caller), S, C.
 */
int gpc_mount(const struct gpc *g, const char *options, struct gpc_task *caller);
/*
 * Drop one mount; the last destroys the hierarchy unless it has children, and its
 * handle then becomes invalid. May sleep.
 * Results: 0, or -EINVAL (rule G; not a live handle).
 * Undefined: rules G, C.
 */
int gpc_umount(const struct gpc *g, int hier);
/*
 * Containers, by path inside the hierarchy ("/a/b"). May sleep.
 * gpc_mkdir results: 0, -ENOENT (no such handle or parent), -ENOTDIR, -EEXIST, -EAGAIN,
 * -ENOMEM, -EINVAL, -ENAMETOOLONG.
 * gpc_rmdir results: 0, -EBUSY (tasks or children), -ENOENT, -ENOTDIR, -EINVAL,
 * -ENAMETOOLONG.
 * gpc_stat results: 0 with *st filled, -ENOENT, -ENOTDIR, -EINVAL (also a NULL st),
 * -ENAMETOOLONG; nothing is written on error.
 * Undefined: rules G, S, C; for gpc_stat, an st that is not writable.
 */
int gpc_mkdir(const struct gpc *g, int hier, const char *path);
int gpc_rmdir(const struct gpc *g, int hier, const char *path);
int gpc_stat(const struct gpc *g, int hier, const char *path, struct gpc_stat *st);
/*
 * Directory entries (children, then files), each followed by a NUL. May sleep.
 * Results: the bytes written (or needed, for buf == NULL && len == 0), -EOVERFLOW,
 * -ENOENT, -ENOTDIR, -ENOMEM, -EINVAL, -ENAMETOOLONG.
 * Undefined: rules G, S, B, C.
 */
long gpc_list(const struct gpc *g, int hier, const char *path, char *buf, size_t len);
/*
 * A whole control file as caller (NULL: the kernel), as one seq_file show. May sleep.
 * Results: the bytes written (or needed), -EOVERFLOW, -ENOENT, -ENOTDIR, -EISDIR,
 * -EACCES, -ENOMEM, -EINVAL, -ENAMETOOLONG, or the file's own errno.
 * Undefined: rules G, T (caller), S, B, C.
 */
long gpc_read(const struct gpc *g, int hier, const char *path, struct gpc_task *caller,
	      char *buf, size_t len);
/*
 * One write(2) of len bytes of data to a control file as caller (NULL: the kernel). May
 * sleep. The kernel holds its threadgroup rwsem for write around writes to tasks and
 * cgroup.procs (see doc/kernel-shim.md).
 * Results: 0, or -ENOENT, -EISDIR, -EINVAL (also data == NULL with len != 0, and a pid
 * of a task of another instance, rule I), -E2BIG, -ESRCH, -EACCES, -EPERM, -ENOMEM,
 * -ENAMETOOLONG, or the file's own errno.
 * Undefined: rules G, T (caller), S, C; data without len readable bytes, or changed
 * during the call.
 */
int gpc_write(const struct gpc *g, int hier, const char *path, struct gpc_task *caller,
	      const char *data, size_t len);

/*
 * Streaming reads of tasks and cgroup.procs (a seq_file over the pidlist): the sorted
 * listing gpc_read() gives at once, in pieces of any size, holding no lock and at most
 * 8192 pids (gpc-core's PIDS_PER_PASS) between reads.
 * gpc_pids_open: the reader, or an ERR_PTR: -ENOENT, -ENOTDIR, -EISDIR, -EINVAL (not a
 * tasks or cgroup.procs file; rules G, S), -ENAMETOOLONG, -ENOMEM. May sleep.
 * gpc_pids_read: the bytes copied into buf (at most len), 0 at the end (or len == 0),
 * -ENODEV (the container was removed, or the instance destroyed, since the open),
 * -ENOMEM, -EBUSY (another call is using the reader), -EINVAL (NULL reader, buf NULL
 * with len != 0). May sleep.
 * gpc_pids_close: 0; -EBUSY (a read of it is running: it stays open); -EINVAL (NULL).
 * Lifetime: a reader must not outlive its instance's use: close it before
 * gpc_destroy(). One left open is detached by gpc_destroy(): its reads are then
 * -ENODEV, and gpc_pids_close() still frees it.
 * Undefined: rules G, S, C; a reader not from gpc_pids_open or already closed; any
 * call on a reader concurrent with gpc_destroy() of its instance (rule X).
 */
struct gpc_pids_reader *gpc_pids_open(const struct gpc *g, int hier, const char *path);
long gpc_pids_read(struct gpc_pids_reader *reader, char *buf, size_t len);
int gpc_pids_close(struct gpc_pids_reader *reader);

/*
 * /proc/PID/cgroup of task, and /proc/cgroups. May sleep.
 * gpc_proc_pid_cgroup results: the bytes written (or needed), -EOVERFLOW, -ESRCH (task
 * not attached), -ENOMEM, -EINVAL (rules G, T; a task of another instance, rule I).
 * gpc_proc_cgroups results: the bytes written (or needed), -EOVERFLOW, -ENOMEM, -EINVAL.
 * Undefined: rules G, T, B, C.
 */
long gpc_proc_pid_cgroup(const struct gpc *g, struct gpc_task *task, char *buf, size_t len);
long gpc_proc_cgroups(const struct gpc *g, char *buf, size_t len);

/*
 * Take the queued release notifications, oldest first, calling f(ctx, agent, agent_len,
 * path, path_len) for each whose hierarchy has a release_agent. May sleep.
 * Results: how many were reported, -ENOMEM (that entry and the rest stay queued), or
 * -EINVAL (rule G, NULL f).
 * Undefined: f calling gpc (it runs under gpc's hierarchy lock: deadlock), unwinding or
 * longjmp-ing out of f, or keeping agent or path after it returns (they are not
 * NUL-terminated and die with the call: copy them, and queue the agent's run); rules G,
 * C.
 */
int gpc_drain_releases(const struct gpc *g, gpc_release_fn f, void *ctx);

/*
 * Enforcement: what the controllers decide for one task, asked by the kernel's
 * scheduler, allocator, device and network code. Each asks the state gpc's lookup finds
 * for the task (as gpc_task_css) and calls the controller's own function (the same the
 * simulator's machine calls), inside its own nested gpc_rcu_read_lock() section, so the
 * caller may or may not be inside one. None sleeps or allocates.
 *
 * Common results: -EINVAL (rules G, T; a NULL out-pointer; in debug builds a task of
 * another instance, as gpc_task_css), -ESRCH (the task is not attached: never forked,
 * or exited). A controller not mounted answers for its root group (every CPU, no
 * limit, ...), as Linux's init_css_set does.
 * Context: any, including under the kernel's spinlocks and with interrupts off, except
 * where "not from hard interrupt context" is said: that one takes the controller's
 * spinlock with gpc_spin_lock, which does not disable interrupts (an interrupt on a CPU
 * holding it would deadlock). gpc_cpu_bandwidth and gpc_cpuset_* take theirs with
 * gpc_spin_lock_irqsave: any context.
 * Undefined: rules G, T, X; out-pointers that are not writable.
 *
 * gpc_cpu_shares: the weight of the task's cpu group (cpu.shares: 2..262144, 1024 by
 * default, 3 for an idle group; Linux scale_load_down(tg->shares)) in *shares. Any
 * context. Results: 0 or the common ones.
 */
int gpc_cpu_shares(const struct gpc *g, struct gpc_task *task, uint64_t *shares);
/*
 * gpc_cpu_bandwidth: the bandwidth limit of the cpu group level steps above the task's
 * (0: its own group). Linux throttles every level's cfs_rq: walk up from 0 until
 * -ENOENT. Any context (takes the group's irq-safe lock).
 * Results: 0 with *out filled, -ENOENT (above the root), or the common ones.
 */
int gpc_cpu_bandwidth(const struct gpc *g, struct gpc_task *task, unsigned int level,
		      struct gpc_cpu_bandwidth *out);
/*
 * gpc_cpu_weight: the weight of the cpu group level steps above the task's (0: its own
 * group), for a scheduler that weighs every level's entity: v1's cpu.shares and v2's
 * cpu.weight / cpu.weight.nice set the same value (Linux tg->shares;
 * sched_weight_from_cgroup). Any context.
 * Results: 0 with *out filled, -ENOENT (above the root), or the common ones.
 */
int gpc_cpu_weight(const struct gpc *g, struct gpc_task *task, unsigned int level,
		   struct gpc_cpu_weight *out);
/*
 * gpc_cpu_periods: times bandwidth periods of the cpu group level steps above the task's
 * ended (Linux do_sched_cfs_period_timer, overrun periods at once), each throttled or not
 * and each with throttled_ns nanoseconds the group's run queues waited throttled: they
 * count in cpu.stat (v1: nr_periods, nr_throttled, throttled_time; v2: throttled_usec)
 * and cpu.stat.local. Counters wrap as Linux's ints. Lock-free: any context.
 * gpc_cpu_burst: the group ran burst_ns beyond its quota on its burst allowance in a
 * period (__refill_cfs_bandwidth_runtime: nr_bursts, burst_time / burst_usec).
 * Results: 0, -ENOENT (above the root), or the common ones.
 */
int gpc_cpu_periods(const struct gpc *g, struct gpc_task *task, unsigned int level,
		    uint64_t times, bool throttled, uint64_t throttled_ns);
int gpc_cpu_burst(const struct gpc *g, struct gpc_task *task, unsigned int level,
		  uint64_t burst_ns);
/*
 * gpc_cpuacct_charge: ns nanoseconds the task ran on CPU cpu, charged to its cpuacct
 * group and every ancestor (Linux cpuacct_charge + cpuacct_account_field: user picks
 * cpuacct.usage_user or usage_sys). Lock-free: any context (the scheduler's tick).
 * Results: 0, -EINVAL (also cpu >= gpc_nr_cpus()), or the common ones.
 */
int gpc_cpuacct_charge(const struct gpc *g, struct gpc_task *task, unsigned int cpu,
		       uint64_t ns, bool user);
/*
 * gpc_cpuset_cpus, gpc_cpuset_mems: the CPUs the task may run on, the memory nodes it
 * may allocate from (its cpuset's effective_cpus / effective_mems; on v1 equal to
 * cpuset.cpus / cpuset.mems), as a Linux bitmap of nbits bits at mask (unsigned long
 * words, bit i in word i / BITS_PER_LONG; bits past the machine's are cleared). Any
 * context (takes the cpuset's irq-safe lock).
 * Results: the number of bits set; for mask == NULL && nbits == 0, the bits needed
 * (gpc_nr_cpus() / gpc_nr_mem_nodes()); -EOVERFLOW if nbits is below that (nothing
 * written); -EINVAL (also mask == NULL with nbits != 0), -ESRCH.
 * Undefined: mask without BITS_TO_LONGS(nbits) writable words; the common cases.
 */
long gpc_cpuset_cpus(const struct gpc *g, struct gpc_task *task, unsigned long *mask,
		     size_t nbits);
long gpc_cpuset_mems(const struct gpc *g, struct gpc_task *task, unsigned long *mask,
		     size_t nbits);
/*
 * gpc_device_access: may the task access device type (GPC_DEVCG_DEV_BLOCK or _CHAR)
 * major:minor with access (GPC_DEVCG_ACC_* bits)? As Linux's
 * devcgroup_check_permission() (security/device_cgroup.c), for open and mknod. Not
 * from hard interrupt context.
 * Results: 0 (allowed), -EPERM (refused), -EINVAL (another type, no access bit or an
 * unknown one), or the common ones.
 */
int gpc_device_access(const struct gpc *g, struct gpc_task *task, int type, uint32_t major,
		      uint32_t minor, unsigned int access);
/*
 * gpc_freezer_frozen: must the task stay frozen (its freezer group or an ancestor has
 * FROZEN written to freezer.state; Linux cgroup_freezing())? Any context; the kernel
 * asks it where Linux's freezing() does (try_to_freeze, the signal path).
 * Results: 1 (frozen), 0 (not), or the common ones.
 */
int gpc_freezer_frozen(const struct gpc *g, struct gpc_task *task);

/*
 * RDMA, misc, device programs (doc/rdma-misc.md, doc/v2-devices.md).
 *
 * A group is named by its container id (struct gpc_stat's id), as the memory exports
 * name theirs: a charge writes the id it charged to *group; keep it with the object and
 * give the charge back there. GPC_RES_ROOT names the controller's root. gpc keeps no
 * dying group: a removed group's id answers -ENOENT, and the kernel gives its charges
 * back at the parent's id (the parent's counters include them).
 *
 * RDMA (kernel/cgroup/rdma.c): gpc_rdma_register_device / _unregister_device are
 * rdmacg_register_device / rdmacg_unregister_device (a name of 1 to 63 bytes, no blank
 * or control byte; at most 64 devices); gpc_rdma_charge is rdmacg_try_charge of one
 * GPC_RDMA_* resource for the task's rdma group and every ancestor up to the root.
 * Results: 0; -EAGAIN (a level's rdma.max: nothing charged); -ENODEV (no such device);
 * -EEXIST, -ENOSPC (registration); -ENOMEM; -ENOENT (uncharge of a removed group);
 * -EINVAL (rule G, a NULL out-pointer, an unknown resource, no rdma controller);
 * -ESRCH. Spinlocks only: any context but hard interrupts; uncharge takes gpc's
 * hierarchy mutex (may sleep).
 *
 * misc (kernel/cgroup/misc.c): gpc_misc_set_capacity is misc_cg_set_capacity;
 * gpc_misc_charge is misc_cg_try_charge of amount of a GPC_MISC_* resource (lock-free:
 * any context), gpc_misc_uncharge misc_cg_uncharge (hierarchy mutex). Results: 0;
 * -EBUSY (a level's misc.max or the capacity: nothing charged, misc.events counted);
 * -EINVAL (capacity 0, unknown resource, rule G); -ENOENT; -ESRCH.
 *
 * Device programs (kernel/bpf/cgroup.c, BPF_CGROUP_DEVICE): attach a program (a C
 * function returning non-zero to allow, 0 to deny, called with GPC_DEVCG_* values; it
 * may run BPF, must not call into gpc, runs under gpc's program mutex and may sleep) or
 * gpc's rule list (one rule a line: "allow|deny a|b|c MAJOR:MINOR ACCESS", numbers or
 * '*', first match wins, no match denies) to the v2 group path of hierarchy handle hier,
 * with flags 0, GPC_DEVPROG_ALLOW_OVERRIDE or GPC_DEVPROG_ALLOW_MULTI (BPF_F_*); *id
 * gets the program's id. A removed group's programs go with it (gpc_rmdir).
 * gpc_devprog_check runs every effective program of the task's v2 group (the group's,
 * and an ancestor's when it was attached with ALLOW_MULTI, as compute_effective_progs):
 * all must allow; call gpc_device_access after it for v1, as devcgroup_check_permission.
 * Results: 0; -EPERM (check: denied; attach: an ancestor's program was attached without
 * ALLOW_OVERRIDE/ALLOW_MULTI, or the group's with other flags); -E2BIG (64 programs, 256
 * rules); -EBADF (not the v2 hierarchy); -ENOENT (no such group or program); -ENOTDIR;
 * -EINVAL (bad flags or rule, detach of id 0 on an ALLOW_MULTI group, rule G); -ENOMEM;
 * -ESRCH. Process context (mutex).
 */
#define GPC_RES_ROOT 0
#define GPC_RDMA_HCA_HANDLE 0 /* RDMACG_RESOURCE_HCA_HANDLE */
#define GPC_RDMA_HCA_OBJECT 1 /* RDMACG_RESOURCE_HCA_OBJECT */
#define GPC_MISC_SEV 0        /* MISC_CG_RES_SEV */
#define GPC_MISC_SEV_ES 1     /* MISC_CG_RES_SEV_ES */
#define GPC_MISC_TDX 2        /* MISC_CG_RES_TDX */
#define GPC_DEVPROG_ALLOW_OVERRIDE 1u /* BPF_F_ALLOW_OVERRIDE */
#define GPC_DEVPROG_ALLOW_MULTI 2u    /* BPF_F_ALLOW_MULTI */
typedef int (*gpc_devprog_fn)(void *ctx, int type, uint32_t major, uint32_t minor,
			      unsigned int access);
int gpc_rdma_register_device(const struct gpc *g, const char *name);
int gpc_rdma_unregister_device(const struct gpc *g, const char *name);
int gpc_rdma_charge(const struct gpc *g, struct gpc_task *task, const char *dev, int res,
		    uint64_t *group);
int gpc_rdma_uncharge(const struct gpc *g, uint64_t group, const char *dev, int res);
int gpc_misc_set_capacity(const struct gpc *g, int res, uint64_t capacity);
int gpc_misc_charge(const struct gpc *g, struct gpc_task *task, int res, uint64_t amount,
		    uint64_t *group);
int gpc_misc_uncharge(const struct gpc *g, uint64_t group, int res, uint64_t amount);
int gpc_devprog_attach(const struct gpc *g, int hier, const char *path, gpc_devprog_fn fn,
		       void *ctx, unsigned int flags, uint32_t *id);
int gpc_devprog_attach_rules(const struct gpc *g, int hier, const char *path,
			     const char *rules, unsigned int flags, uint32_t *id);
int gpc_devprog_detach(const struct gpc *g, int hier, const char *path, uint32_t id);
int gpc_devprog_check(const struct gpc *g, struct gpc_task *task, int type, uint32_t major,
		      uint32_t minor, unsigned int access);
/*
 * gpc_memory_charge, gpc_memory_uncharge: bytes (rounded up to 4096-byte pages) of
 * anonymous memory charged to, or given back by, the task's memory group and its
 * ancestors, without reclaim: the first ABI's calls, kept for kernels that have none.
 * They are gpc_mem_charge(g, task, pages, GPC_LRU_INACTIVE_ANON, GPC_MEM_NOWAIT, &out)
 * and gpc_mem_uncharge(g, task, 0, pages, GPC_LRU_INACTIVE_ANON) (see "Memory" below).
 * Lock-free: any context.
 * gpc_memory_charge results: 0; -ENOMEM if the group or an ancestor would exceed its
 * memory.limit_in_bytes or memory.memsw.limit_in_bytes (that level's failcnt grows,
 * nothing else changes); or the common ones.
 * gpc_memory_uncharge results: 0 (the counters stop at 0), or the common ones.
 * Charges follow the task's group at the time of the call: a kernel that moves a task
 * holding charges uncharges them before the move and charges them after (what v1's
 * memory.move_charge_at_immigrate did; see doc/kernel-shim.md).
 */
int gpc_memory_charge(const struct gpc *g, struct gpc_task *task, uint64_t bytes);
int gpc_memory_uncharge(const struct gpc *g, struct gpc_task *task, uint64_t bytes);
/*
 * gpc_net_cls_classid: the class id the task's packets carry (net_cls.classid; Linux
 * task_get_classid()) in *classid. Any context (the transmit path).
 * Results: 0 or the common ones.
 *
 * pids has no entry point here: gpc_fork() enforces pids.max (-EAGAIN).
 */
int gpc_net_cls_classid(const struct gpc *g, struct gpc_task *task, uint32_t *classid);

/*
 * hugetlb (mm/hugetlb_cgroup.c): hstate 0 is 2MB, 1 is 1GB; nr counts huge pages.
 * gpc_hugetlb_charge: charge the task's group and its ancestors, a faulted page
 * (hugetlb_cgroup_charge_cgroup, from alloc_hugetlb_folio) or with GPC_HUGETLB_RSVD a
 * reservation (hugetlb_cgroup_charge_cgroup_rsvd, from hugetlb_reserve_pages); the
 * group's id into *group, for the uncharge. Lock-free: any context.
 * Results: 0; -ENOMEM (a limit refused: the refusing level's failcnt and the group's
 * "max" events count it, nothing stays charged); -EINVAL (unknown hstate or flag, null
 * group); the common ones.
 * gpc_hugetlb_uncharge: give back what a charge of that group took (the folio's or the
 * reservation map's); counters stop at 0. Takes the hierarchy mutex (may sleep).
 * Results: 0; -ENOENT (the group was removed: Linux moved its faulted pages to the
 * parent, hugetlb_cgroup_move_parent, and the kernel names the parent from then on);
 * -EINVAL.
 */
#define GPC_HUGETLB_RSVD 1u
int gpc_hugetlb_charge(const struct gpc *g, struct gpc_task *task, unsigned int hstate,
		       uint64_t nr, unsigned int flags, uint64_t *group);
int gpc_hugetlb_uncharge(const struct gpc *g, uint64_t group, unsigned int hstate,
			 uint64_t nr, unsigned int flags);
/*
 * gpc_net_prio_prio: the priority of network device dev (gpc_netdev_name's index) for
 * the task's packets (net_prio.ifpriomap of its group; Linux skb_update_prio →
 * netprio_prio) in *prio, 0 when none was written. Any context.
 * Results: 0 or the common ones.
 */
int gpc_net_prio_prio(const struct gpc *g, struct gpc_task *task, unsigned int dev,
		      uint32_t *prio);
/*
 * gpc_perf_cgroup: the task's perf_event group (Linux perf_cgroup_from_task): its id in
 * *group (a cgroup event opened on that group's directory counts its tasks and its
 * descendants'); when ns is not 0, first charge ns nanoseconds the task ran to the
 * group and its ancestors (update_cgrp_time_from_cpuctx); the group's time so far in
 * *time_ns when time_ns is not NULL. Lock-free: any context (the switch path).
 * Results: 0 or the common ones.
 */
int gpc_perf_cgroup(const struct gpc *g, struct gpc_task *task, uint64_t ns, uint64_t *group,
		    uint64_t *time_ns);

/*
 * Memory: the page allocator's side of the memory controller (Linux mm/memcontrol.c and
 * mm/vmscan.c, split where the kernel's memory manager begins). gpc keeps every group's
 * counters, page lists' sizes and events, and decides whom to reclaim from, how much from
 * which list, and whom the OOM killer takes; the kernel owns the pages: it frees the ones
 * asked for (gpc_reclaim_pages) and kills the tasks chosen (gpc_kill_task). Pages are
 * counted in 4096-byte pages, on the lists GPC_LRU_* (Linux's enum lru_list values).
 *
 * A memory group is named by its id: the container id gpc_mem_charge reports for the
 * pages it charged (keep it with them, as Linux's folio->memcg_data; it is struct
 * gpc_stat's id of the directory whose memory state took them, on cgroup v2 the nearest
 * group with memory enabled), or GPC_MEM_ROOT for the controller's root.
 * The exports that change a group's pages take (task, group): a task that is not NULL
 * names its group now, looked up lock-free (any context; group is ignored); a NULL task
 * names group, looked up under gpc's hierarchy mutex (may sleep; -ENOENT when gone).
 * When a group is removed its pages become its parent's (gpc keeps no dying group): a
 * kernel that keeps pages by group moves the removed group's to its parent's id
 * (gpc_stat of the parent directory) before it names them again.
 *
 * Common results: -EINVAL (rule G; a NULL out-pointer; a bad lru or flag; the instance
 * has no memory controller), -ESRCH (a task not attached), -ENOENT (no such group).
 * Undefined: rules G, T, C, X; out-pointers that are not writable.
 */
#define GPC_LRU_INACTIVE_ANON 0
#define GPC_LRU_ACTIVE_ANON 1
#define GPC_LRU_INACTIVE_FILE 2
#define GPC_LRU_ACTIVE_FILE 3
#define GPC_MEM_ROOT 0
/* gpc_mem_charge flags. */
#define GPC_MEM_NOWAIT 1u     /* may not sleep: try once, no reclaim, no OOM (!gfpflags_allow_blocking) */
#define GPC_MEM_NO_OOM 2u     /* reclaim, but never the OOM killer (__GFP_RETRY_MAYFAIL) */
#define GPC_MEM_USER_FAULT 4u /* a user page fault (current->in_user_fault): may wait in a v1 OOM */
/* What a -EAGAIN waits for (struct gpc_mem_charge's wait). */
#define GPC_MEM_WAIT_VICTIM 1 /* an OOM victim was asked to die: retry once it has exited */
#define GPC_MEM_WAIT_OOM 2    /* the group's OOM killer is disabled: wait for memory there */
/* gpc_task_footprint's answer for a task the OOM killer must never choose. */
#define GPC_OOM_UNKILLABLE UINT64_MAX

struct gpc_mem_charge {
	uint64_t group;         /* charged to (success), or the refusing group (OOM domain) */
	uint64_t high_delay_ms; /* memory.high: sleep this long, killable, before user space */
	uint64_t over_high;     /* GPC_MEM_NOWAIT: pages for gpc_mem_handle_over_high later */
	uint64_t reclaimed;     /* pages reclaim freed during the call */
	uint32_t killed;        /* processes asked to die (gpc_kill_task) */
	int32_t wait;           /* with -EAGAIN: GPC_MEM_WAIT_VICTIM or GPC_MEM_WAIT_OOM */
};

/*
 * gpc_mem_charge: charge nr_pages new pages of list lru to the task's memory group and
 * its ancestors, as Linux's try_charge_memcg (mem_cgroup_charge for a new folio):
 *  1. try every level's counter (memsw first on v1), all or none, lock-free;
 *  2. refused: reclaim from the refusing level's subtree (try_to_free_mem_cgroup_pages:
 *     gpc_reclaim_pages under gpc's hierarchy mutex; no swapping when memsw refused) and
 *     try again while the level has room, while reclaim frees pages for a charge of at
 *     most 8 pages, and 16 more times (MAX_RECLAIM_RETRIES);
 *  3. then, for a charge of at most 8 pages (Linux: order <= PAGE_ALLOC_COSTLY_ORDER; a
 *     larger one fails with -ENOMEM and the kernel falls back to smaller pieces), the
 *     OOM killer of that level (mem_cgroup_oom): an oom event; with v1's
 *     memory.oom_control oom_kill_disable nobody is killed (with GPC_MEM_USER_FAULT the
 *     task waits: -EAGAIN, GPC_MEM_WAIT_OOM, the group shows under_oom 1 until
 *     gpc_mem_oom_wait_done; otherwise -ENOMEM); a process of the level already dying is
 *     waited for (-EAGAIN, GPC_MEM_WAIT_VICTIM); otherwise the process with the largest
 *     gpc_task_footprint among the level's subtree (its thread-group leaders) is sent
 *     SIGKILL with gpc_kill_task, with every process of its memory.oom.group, each an
 *     oom_kill event: -EAGAIN, GPC_MEM_WAIT_VICTIM (the kill is asynchronous, as in
 *     Linux: charge again once the victim has exited and freed its pages), or -ENOMEM if
 *     the caller's process was among them (or was dying already);
 *  4. charged: the levels above memory.high are reclaimed and out->high_delay_ms says how
 *     long the task should sleep (mem_cgroup_handle_over_high).
 * flags: GPC_MEM_*. Without GPC_MEM_NOWAIT it may sleep (reclaim; the list of groups is
 * allocated with GPC_GFP_KERNEL). With it, it is lock-free, any context, and stops at
 * step 1; pages left above memory.high are reported in out->over_high.
 * Results: 0 (charged: out->group is the group to keep with the pages); -ENOMEM (nothing
 * charged: see above, or GPC_MEM_NOWAIT or GPC_MEM_NO_OOM, or no memory for reclaim's
 * list of groups, in which case reclaim of earlier rounds may have freed pages); -EAGAIN
 * (nothing charged; out->wait); or the common ones. *out is written whenever out is not NULL, also on error: group,
 * reclaimed and killed say what happened.
 */
int gpc_mem_charge(const struct gpc *g, struct gpc_task *task, uint64_t nr_pages, int lru,
		   unsigned int flags, struct gpc_mem_charge *out);
/*
 * gpc_mem_handle_over_high: the memory.high reclaim a GPC_MEM_NOWAIT charge left
 * (out->over_high pages), from process context before the task returns to user space
 * (Linux set_notify_resume -> mem_cgroup_handle_over_high); *delay_ms is the sleep. May
 * sleep. Results: 0, -ENOMEM (no room for reclaim's list; *delay_ms is still set), or the
 * common ones.
 */
int gpc_mem_handle_over_high(const struct gpc *g, struct gpc_task *task, uint64_t nr_pages,
			     uint64_t *delay_ms);
/*
 * Page states, for the (task, group) named (see above):
 * gpc_mem_uncharge: nr_pages resident pages of list lru were freed (mem_cgroup_uncharge).
 * gpc_mem_uncharge_swap: nr_pages of the group's pages on swap were freed, or swapped in
 * (mem_cgroup_uncharge_swap; a swap-in charges the page again with gpc_mem_charge).
 * gpc_mem_move: nr_pages moved from list from to list to of the same kind (activation,
 * pgactivate; deactivation, pgdeactivate); from == to or lists of different kinds are
 * -EINVAL.
 * gpc_mem_dirty: nr_pages of page cache became dirty (dirty) or were cleaned without
 * writeback (folio_account_dirtied, folio_cancel_dirty).
 * gpc_mem_writeback: nr_pages of dirty page cache started writeback (started; the
 * flusher) or finished it and are clean. Pages whose writeback reclaim started
 * (gpc_reclaim_pages' *writeback) are already counted: report only their end.
 * Counters stop at 0. Results: 0 or the common ones.
 */
int gpc_mem_uncharge(const struct gpc *g, struct gpc_task *task, uint64_t group,
		     uint64_t nr_pages, int lru);
int gpc_mem_uncharge_swap(const struct gpc *g, struct gpc_task *task, uint64_t group,
			  uint64_t nr_pages);
int gpc_mem_move(const struct gpc *g, struct gpc_task *task, uint64_t group, uint64_t nr_pages,
		 int from, int to);
int gpc_mem_dirty(const struct gpc *g, struct gpc_task *task, uint64_t group, uint64_t nr_pages,
		  bool dirty);
int gpc_mem_writeback(const struct gpc *g, struct gpc_task *task, uint64_t group,
		      uint64_t nr_pages, bool started);
/*
 * gpc_mem_reclaim: the kernel's own shortage (its free lists ran low: Linux
 * try_to_free_pages from the page allocator, or kswapd): reclaim nr_pages from the
 * subtree of group (GPC_MEM_ROOT: every group), v1 soft limits first, swapping allowed
 * whatever the groups' swappiness; *reclaimed is the pages freed. May sleep.
 * Results: 0, -ENOMEM (no room for the list of groups: nothing reclaimed), or the common
 * ones.
 */
int gpc_mem_reclaim(const struct gpc *g, uint64_t group, uint64_t nr_pages, uint64_t *reclaimed);
/*
 * gpc_mem_oom: the OOM killer of group (GPC_MEM_ROOT: the whole machine, Linux
 * out_of_memory when the kernel's own reclaim failed) on behalf of task (the allocating
 * task, or NULL), as step 3 of gpc_mem_charge. *out (killed, wait) is written whenever out
 * is not NULL. May sleep. With the memory controller on no hierarchy the root has no
 * tasks to choose from: -ENOMEM.
 * Results: 0 (out->killed processes asked to die: retry once they have exited); -EAGAIN
 * (nothing killed: a process of the group is dying already, GPC_MEM_WAIT_VICTIM; or the
 * group's OOM killer is disabled, GPC_MEM_WAIT_OOM, with no mark to undo); -ENOMEM
 * (nothing to kill, or task's process was killed or is dying: fail its allocation); or
 * the common ones.
 */
int gpc_mem_oom(const struct gpc *g, uint64_t group, struct gpc_task *task,
		struct gpc_mem_charge *out);
/*
 * gpc_mem_oom_wait_done: a task gpc_mem_charge sent to wait (GPC_MEM_WAIT_OOM) in
 * group's OOM stops waiting (woken to charge again, killed, or giving up): once no task
 * waits, memory.oom_control shows under_oom 0 (mem_cgroup_oom_synchronize). Call it
 * exactly once per such -EAGAIN. May sleep. Results: 0 or the common ones.
 */
int gpc_mem_oom_wait_done(const struct gpc *g, uint64_t group);

/*
 * cgroup v2. The unified hierarchy's files (cgroup.procs, cgroup.threads,
 * cgroup.subtree_control, cgroup.freeze, cgroup.kill, cgroup.events, cgroup.stat, ...)
 * go through gpc_read/gpc_write/gpc_list/gpc_pids_open with its handle, as v1's do. A
 * cgroup.procs or cgroup.threads write moves with v2's rules: the caller must be
 * allowed to write the cgroup.procs of the destination (the kernel's VFS) and of the
 * nearest group above both source and destination (gpc_may_write_procs: delegation).
 * cgroup.freeze asks each task to stop (gpc_freeze_task); the group shows frozen 1 in
 * cgroup.events once every task reported gpc_enter_frozen. cgroup.kill sends SIGKILL
 * with gpc_kill_task (a kernel without job control answers -EOPNOTSUPP: the write
 * fails with it).
 *
 * gpc_mount_v2: mount the unified hierarchy with options ("nsdelegate",
 * "memory_recursiveprot", ...; NULL or "" for none) as caller (NULL: the kernel). There
 * is one: the first mount makes it, later ones count one more and set its options. May
 * sleep.
 * Results: its handle, its id in /proc/cgroups: 0 (Linux's default root; v1 handles are
 * > 0), or -EPERM (caller lacks CAP_SYS_ADMIN), -EINVAL (an unknown option), -ENOSPC
 * (16 hierarchies), -ENOMEM, -ENAMETOOLONG. gpc_umount drops a mount; the unified
 * hierarchy itself lives until gpc_destroy (its handle stays valid).
 * Undefined: rules G, T (caller), S, C.
 */
int gpc_mount_v2(const struct gpc *g, const char *options, struct gpc_task *caller);
/*
 * gpc_unified_hierarchy: the unified hierarchy's handle (0), -ENOENT before its first
 * gpc_mount_v2, or -EINVAL (rule G). hier is the unified hierarchy iff
 * gpc_unified_hierarchy(g) == hier. May sleep.
 * Undefined: rules G, C.
 */
int gpc_unified_hierarchy(const struct gpc *g);

/*
 * Job control, the task's side (cgroup.freeze). A task asked to stop
 * (gpc_freeze_task(task, true)) stops in its own context and reports it with
 * gpc_enter_frozen(g, current) (Linux do_freezer_trap -> cgroup_enter_frozen); woken,
 * it reports gpc_leave_frozen(g, current, false) (cgroup_leave_frozen), and a killed
 * task on its way out gpc_leave_frozen(g, current, true). gpc keeps the stopped state
 * in the kernel's task (gpc_set_task_frozen), so both do nothing when repeated.
 * gpc_enter_frozen and gpc_leave_frozen take the hierarchy mutex: may sleep.
 * Results: 0; -ESRCH (task not attached: never forked, or exited); -EINVAL (rules G,
 * T; a task of another instance, rule I).
 * Undefined: rules G, T, C, X (they are hooks of the task: serialised with its other
 * hooks).
 */
int gpc_enter_frozen(const struct gpc *g, struct gpc_task *task);
int gpc_leave_frozen(const struct gpc *g, struct gpc_task *task, bool always);
/*
 * gpc_cgroup_task_freeze: should task stop for a freeze (Linux cgroup_task_freeze: its
 * v2 group is freezing)? Lock-free, any context (the signal path may ask it).
 * Results: 1, 0, -ESRCH (not attached), -EINVAL (rules G, T; in debug builds a task of
 * another instance).
 * gpc_account_cputime: charge ns nanoseconds task ran to its v2 group (Linux
 * cgroup_account_cputime; cpu.stat's usage_usec sums the subtree). Lock-free, any
 * context (the scheduler tick); nothing before the first gpc_mount_v2.
 * Results: 0, -ESRCH, -EINVAL (as gpc_cgroup_task_freeze).
 * Undefined: rules G, T, X.
 */
int gpc_cgroup_task_freeze(const struct gpc *g, struct gpc_task *task);
int gpc_account_cputime(const struct gpc *g, struct gpc_task *task, uint64_t ns);

/*
 * Pressure stall information (Linux kernel/sched/psi.c; doc/psi.md).
 * gpc_psi_task_change: task's pressure flags changed on cpu at now_ns (Linux
 * psi_task_change, psi_task_switch for GPC_PSI_ONCPU, psi_memstall_enter/leave):
 * clear, then set, GPC_PSI_* flags, applied to its v2 group, every ancestor and the
 * system. The kernel keeps each task's flags: it clears them before gpc_attach moves the
 * task and sets them again after (Linux cgroup_move_task), and clears them at exit.
 * Never sleeps, never allocates: gpc's psi spinlock (a leaf) inside an RCU read-side
 * section; call it under the runqueue lock, as Linux does. now_ns: one monotonic clock
 * (gpc_clock_ns's), never going back.
 * Results: 0, -EINVAL (unknown flag, cpu >= gpc_nr_cpus(), rules G, T), -ESRCH (not
 * attached).
 * gpc_psi_show: /proc/pressure/{io,memory,cpu} (GPC_PSI_IO, _MEM, _CPU) at
 * gpc_clock_ns(), as Linux's psi_show(&psi_system) prints it ("some avg10=%lu.%02lu
 * avg60=... avg300=... total=%llu" and a "full" line, zero for the CPU). A group's
 * figures are its *.pressure files (gpc_read). Never sleeps.
 * Results: the bytes written (or needed, for buf == NULL, len == 0), -EOVERFLOW,
 * -EINVAL.
 * Undefined: rules G, T, X.
 */
#define GPC_PSI_IOWAIT           (1u << 0)
#define GPC_PSI_MEMSTALL         (1u << 1)
#define GPC_PSI_RUNNING          (1u << 2)
#define GPC_PSI_MEMSTALL_RUNNING (1u << 3)
#define GPC_PSI_ONCPU            (1u << 4)
#define GPC_PSI_IO  0
#define GPC_PSI_MEM 1
#define GPC_PSI_CPU 2
int gpc_psi_task_change(const struct gpc *g, struct gpc_task *task, unsigned int cpu,
                        unsigned int clear, unsigned int set, uint64_t now_ns);
long gpc_psi_show(const struct gpc *g, int res, char *buf, size_t len);

/*
 * Take the queued change notifications (Linux kernfs_notify_workfn), newest container
 * first, calling f(ctx, hier, id, file) once per changed file (today cgroup.events, when
 * populated or frozen flips); a container changed twice before the drain is reported
 * once. gpc holds no lock while f runs: f may call gpc (read the file, wake its
 * pollers). May sleep. The kernel calls it from the work gpc_files_changed() scheduled.
 * Results: how many were reported, or -EINVAL (rule G, NULL f).
 * Undefined: keeping file after f returns; unwinding or longjmp-ing out of f; rules G,
 * C.
 */
int gpc_drain_notifications(const struct gpc *g, gpc_notify_fn f, void *ctx);

/*
 * clone3(CLONE_INTO_CGROUP): child forks from parent (the kernel's current) straight
 * into group path of the unified hierarchy hier (Linux cgroup_css_set_fork,
 * cgroup_can_fork, cgroup_post_fork); its v1 groups are parent's. A thread is a child
 * whose pid differs from its tgid (CLONE_THREAD). Checked as a cgroup.procs write by
 * parent from namespace ns (NULL: the initial one): parent's creds may write the
 * destination's cgroup.procs and the common ancestor's (gpc_may_write_procs), the
 * destination has no controllers enabled for its children, with nsdelegate both lie in
 * ns, and a thread stays in its domain. A child forked into a freezing group is asked
 * to stop (gpc_freeze_task). Unlike gpc_fork it takes the hierarchy mutex: may sleep.
 * Undo a success that fails later in the kernel with gpc_exit(child).
 * Results: 0; -EBADF (hier is not the unified hierarchy, or path is a file); -ENOENT
 * (no such handle or group; outside ns with nsdelegate); -ENODEV (a group being
 * removed); -EACCES; -EBUSY (controllers enabled below the destination, or child's slot
 * attached); -EOPNOTSUPP (a thread leaving its domain); a controller's refusal (pids:
 * -EAGAIN); -ESRCH (parent not attached); -EINVAL (rules G, T, S; parent or ns of
 * another instance, rule I); -ENOMEM; -ENAMETOOLONG. Nothing changes on error.
 * Undefined: as gpc_fork; rules S, C.
 */
int gpc_fork_into(const struct gpc *g, struct gpc_task *parent, struct gpc_task *child,
		  int hier, const char *path, const struct gpc_cgroup_ns *ns);

/*
 * Cgroup namespaces (Linux kernel/cgroup/namespace.c).
 * gpc_cgroup_ns_new: a namespace rooted at task's groups now, in every hierarchy
 * (copy_cgroup_ns for unshare(CLONE_NEWCGROUP); the kernel checks CAP_SYS_ADMIN first).
 * Later moves of the task do not change it. May sleep. Results: the namespace, or an
 * ERR_PTR: -ESRCH (task not attached), -EINVAL (rules G, T; a task of another
 * instance), -ENOMEM.
 * gpc_cgroup_ns_free: free it (also after gpc_destroy); NULL and ERR_PTR values are
 * ignored. Never sleeps.
 * gpc_proc_pid_cgroup_ns: /proc/PID/cgroup of task as a reader in ns sees it (paths
 * relative to ns's root, "/.." per level above it; Linux proc_cgroup_show,
 * cgroup_path_ns_locked). Results as gpc_proc_pid_cgroup, and -ENAMETOOLONG.
 * gpc_write_ns: gpc_write by a caller in ns: with nsdelegate, ns's root group refuses
 * writes to its delegation files (-EPERM) and a move must start and end inside ns
 * (-ENOENT). Results as gpc_write.
 * Undefined: an ns not from gpc_cgroup_ns_new, or freed (or freed concurrently); an ns
 * of a destroyed instance used with a new one at the same address (wrong paths); rules
 * G, T, S, B, C as the export it extends.
 */
struct gpc_cgroup_ns *gpc_cgroup_ns_new(const struct gpc *g, struct gpc_task *task);
void gpc_cgroup_ns_free(struct gpc_cgroup_ns *ns);
long gpc_proc_pid_cgroup_ns(const struct gpc *g, struct gpc_task *task,
			    const struct gpc_cgroup_ns *ns, char *buf, size_t len);
int gpc_write_ns(const struct gpc *g, int hier, const char *path, struct gpc_task *caller,
		 const struct gpc_cgroup_ns *ns, const char *data, size_t len);

/*
 * Block I/O: the block layer's side of the io controller (blkio on v1; Linux
 * block/blk-throttle.c, blk-cgroup.c, blk-iocost.c, bfq-cgroup.c). A device is its
 * kernel-internal number, MKDEV(major, minor) = major << 20 | minor. A task's group is
 * its io group at the call. The exports take the io states' spinlocks only (inside an
 * RCU read-side section), never sleep and allocate at most with GPC_GFP_ATOMIC.
 * gpc_io_set_disks: register the kernel's whole disks (n of them, at most 16),
 *   replacing the list: limits and weights naming other devices are -ENODEV, the root's
 *   io.stat lists every disk. 0, -EINVAL (too many, one twice, devs NULL with n > 0, no
 *   io controller), -ENOMEM.
 * gpc_io_throttle: blk_throtl_bio: a bio of bytes to dev at now_ns (the monotonic
 *   clock) may be dispatched after *wait_ns ns (0: now); its time is taken from the
 *   budgets of the group and every ancestor (io.max, blkio.throttle.*), so the kernel
 *   must dispatch it then. The group's blkgs are made on the way. 0, -ENODEV (no such
 *   disk), -EINVAL, -ESRCH.
 * gpc_io_done: a bio completed: bytes in ios requests, is_write, is_sync (op_is_sync;
 *   writeback is not): counted in io.stat and the blkio statistics. 0, -EINVAL, -ESRCH.
 * gpc_io_weight: the group's weight on dev for a proportional scheduler: on_dfl
 *   iocost's io.weight (1..10000), else bfq's v1 weight (1..1000). 0, -EINVAL, -ESRCH.
 */
int gpc_io_set_disks(const struct gpc *g, const uint32_t *devs, size_t n);
int gpc_io_throttle(const struct gpc *g, struct gpc_task *task, uint32_t dev, uint64_t bytes,
		    int is_write, uint64_t now_ns, uint64_t *wait_ns);
int gpc_io_done(const struct gpc *g, struct gpc_task *task, uint32_t dev, uint64_t bytes,
		uint64_t ios, int is_write, int is_sync);
int gpc_io_weight(const struct gpc *g, struct gpc_task *task, uint32_t dev, int on_dfl,
		  unsigned int *weight);

/* END EXPORTS */

/* ---------------------------------------------------------------------------------- */
/* Supplied by the kernel                                                               */
/* ---------------------------------------------------------------------------------- */
/* BEGIN IMPORTS */

/* Memory: align is a power of two; NULL on failure (never sleep with GPC_GFP_ATOMIC). */
void *gpc_kmalloc(size_t size, size_t align, unsigned int flags);
void gpc_kfree(void *ptr, size_t size, size_t align);
/*
 * A word of the calling task (a field of task_struct), initially 0, that only gpc reads
 * and writes, and only from that task; NULL if the caller is no task. gpc keeps the
 * flags of the allocation it is making there, as Linux keeps memalloc scopes in
 * current->flags, because Rust's global allocator has no flags argument. Never sleeps.
 */
unsigned int *gpc_alloc_scope_word(void);

/*
 * Locks on GPC_LOCK_STORAGE_SIZE bytes of storage, initialised in place with a class
 * (name, key: see GPC_LOCK_CLASS_KEY_SIZE; Linux __raw_spin_lock_init / __mutex_init).
 * A spinlock disables preemption (spin_lock); gpc_spin_lock_irqsave also disables local
 * interrupts and keeps the flags in the lock (spin_lock_irqsave), for gpc's locks that
 * the enforcement entry points take; gpc_spin_lock_nested is spin_lock_nested.
 */
void gpc_spin_init(void *lock, const char *name, void *key);
void gpc_spin_lock(void *lock);
void gpc_spin_lock_nested(void *lock, unsigned int subclass);
void gpc_spin_unlock(void *lock);
void gpc_spin_lock_irqsave(void *lock);
void gpc_spin_unlock_irqrestore(void *lock);
void gpc_spin_destroy(void *lock);
void gpc_mutex_init(void *lock, const char *name, void *key);
void gpc_mutex_lock(void *lock);
void gpc_mutex_unlock(void *lock);
void gpc_mutex_destroy(void *lock);

/*
 * RCU. Read sections nest, and the caller stays on its CPU until the matching unlock.
 * gpc_call_rcu() must not allocate or fail: queue head (in its two words) and call
 * gpc_rcu_invoke(head) after a grace period. gpc_synchronize_rcu() waits for a grace
 * period and for every callback queued before it (synchronize_rcu + rcu_barrier).
 */
void gpc_rcu_read_lock(void);
void gpc_rcu_read_unlock(void);
void gpc_call_rcu(struct gpc_rcu_head *head);
void gpc_synchronize_rcu(void);

/* CPUs and memory nodes. */
unsigned int gpc_current_cpu(void);
unsigned int gpc_nr_cpus(void);
unsigned int gpc_nr_mem_nodes(void);

/*
 * Tasks: accessors (valid while the task lives; none sleeps or calls gpc).
 * gpc_slot_task: the task whose embedded slot this is, container_of(slot, struct task,
 * gpc) (the inverse of gpc_task_slot()). The tasks and cgroup.procs listings call it,
 * then gpc_task_pid() and gpc_task_tgid(), under spinning locks with preemption off;
 * the job-control imports get their task from it too. slot is always one
 * gpc_task_slot() returned for a live task that was passed to gpc_init_task(),
 * gpc_fork() or gpc_fork_into() and not yet to gpc_exit().
 */
struct gpc_task_slot *gpc_task_slot(struct gpc_task *task);
struct gpc_task *gpc_slot_task(struct gpc_task_slot *slot);
uint32_t gpc_task_pid(struct gpc_task *task);
uint32_t gpc_task_tgid(struct gpc_task *task);
void gpc_task_creds(struct gpc_task *task, struct gpc_creds *out);

/*
 * Tasks: walks. Only live tasks (not exiting); f must not call gpc. gpc_with_task and
 * gpc_with_thread_group return 1 if the task or group exists, else 0; the latter holds
 * the group stable (no thread added or removed) while f(ctx, leader) walks it with
 * gpc_next_thread(leader, prev): the first thread for prev == NULL, NULL after the last.
 */
int gpc_with_task(uint32_t pid, gpc_task_fn f, void *ctx);
int gpc_with_thread_group(uint32_t tgid, gpc_task_fn f, void *ctx);
struct gpc_task *gpc_next_thread(struct gpc_task *leader, struct gpc_task *prev);

/* A release was queued (any context, maybe under a spinlock): schedule gpc_drain_releases. */
void gpc_release_notify(void *host_ctx);
/*
 * A file changed by itself (cgroup.events; any context, maybe under a spinlock; Linux
 * kernfs_notify): schedule work that calls gpc_drain_notifications. A kernel that
 * polls may do nothing.
 */
void gpc_files_changed(void *host_ctx);

/*
 * May a task with creds write the cgroup.procs file of the v2 group with container id
 * id (struct gpc_stat's id)? The kernel's VFS check on that file (Linux
 * cgroup_may_write: inode_permission(MAY_WRITE) on the kernfs file, which the kernel
 * owns and may have chowned to delegate the group). Called under gpc's hierarchy mutex:
 * may sleep, must not call gpc. A kernel without chown answers for mode 0644 owned by
 * root: creds->euid == 0 || creds->cap_dac_override.
 */
bool gpc_may_write_procs(const struct gpc_creds *creds, uint64_t id);

/*
 * The name of the kernel's network device idx (0, 1, ...: registration order, Linux
 * for_each_netdev), NUL-terminated, or NULL past the last one: what net_prio.ifpriomap
 * lists and its writes name (gpc_net_prio_prio's dev is this index). The names stay
 * valid and unchanged while the instance lives. Any context: must not sleep, allocate
 * or call gpc. A kernel without network devices returns NULL.
 */
const char *gpc_netdev_name(unsigned int idx);

/*
 * Job control of the kernel's tasks (cgroup.freeze, cgroup.kill). Each is called under
 * gpc's spinlocks: none may sleep, allocate or call gpc. task is attached to the
 * calling instance. A kernel without job control returns false / does nothing /
 * -EOPNOTSUPP from gpc_kill_task / 0 from gpc_clock_ns.
 * gpc_task_frozen: is the task stopped for a freeze (Linux task->frozen)? Initially
 * false; only gpc_set_task_frozen changes it (a moved task keeps it).
 * gpc_set_task_frozen: record it (task->frozen = frozen).
 * gpc_freeze_task: ask the task to stop (freeze) or run again (Linux
 * cgroup_freeze_task: set or clear JOBCTL_TRAP_FREEZE and wake it); it reports with
 * gpc_enter_frozen / gpc_leave_frozen from its own context.
 * gpc_kill_task: send SIGKILL to the task's process (send_sig(SIGKILL, task, 0)); it
 * exits later through gpc_exit. 0 or a negative errno (the cgroup.kill write fails
 * with it; the OOM killer (gpc_mem_charge, gpc_mem_oom) counts only the kills that
 * returned 0, and with none kills nothing).
 * gpc_fatal_signal_pending: was the task's process sent SIGKILL and has not exited
 * (fatal_signal_pending)? A fork of a killed parent is refused.
 * gpc_clock_ns: a monotonic clock in nanoseconds (ktime_get_ns), for
 * cgroup.stat.local's frozen_usec.
 */
bool gpc_task_frozen(struct gpc_task *task);
void gpc_set_task_frozen(struct gpc_task *task, bool frozen);
void gpc_freeze_task(struct gpc_task *task, bool freeze);
int gpc_kill_task(struct gpc_task *task);
bool gpc_fatal_signal_pending(struct gpc_task *task);
uint64_t gpc_clock_ns(void);

/*
 * Memory (see "Memory" above). Neither may call gpc.
 * gpc_reclaim_pages: free up to nr pages of list lru charged to memory group group of the
 * instance whose gpc_init() got host_ctx (group ids are per instance), least recently
 * used first (Linux shrink_lruvec on that memcg's own lruvec, not its descendants':
 * gpc walks the subtree itself), and return how many were freed: clean page cache
 * dropped, anonymous pages written to swap (at most nr and at most the swap the kernel
 * has free; gpc already applied the groups' swap limits to nr). Dirty page cache met on
 * the way is not freed: its writeback starts and it is counted in *writeback (the pages
 * stay charged until gpc_mem_writeback reports them clean); pages under writeback are
 * skipped. An active-list request deactivates and frees in one step. gpc uncharges what
 * was freed (and charges swap for anonymous pages). Results: freed <= nr, *writeback <=
 * nr - freed (larger answers are clamped); 0 and 0 for a group the kernel has no such
 * pages of. Called under gpc's hierarchy mutex, never under a spinlock: it may sleep
 * (I/O); what it allocates meanwhile it does not charge (the mutex is held; Linux runs
 * reclaim with PF_MEMALLOC, whose charges bypass the limit).
 * gpc_task_footprint: how much memory killing the task's process would free, in pages
 * (Linux oom_badness: resident pages, swap entries and page tables of its mm, the same
 * for every thread), or GPC_OOM_UNKILLABLE for a process the OOM killer must not choose
 * (init, kernel threads, oom_score_adj -1000). Called under gpc's spinlocks: must not
 * sleep or allocate.
 * The OOM killer kills with gpc_kill_task (above), from the same context.
 */
uint64_t gpc_reclaim_pages(void *host_ctx, uint64_t group, int lru, uint64_t nr,
			   uint64_t *writeback);
uint64_t gpc_task_footprint(struct gpc_task *task);

/* A bug in gpc: print msg (len bytes, not NUL-terminated) and stop. */
GPC_NORETURN void gpc_panic(const char *msg, size_t len);

/* END IMPORTS */

#ifdef __cplusplus
}
#endif

#endif /* GPC_H */
