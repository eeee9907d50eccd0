/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * gpc.h - Generic Process Containers (Linux cgroup v1) for kernels written in C.
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
 *  - gpc never panics on any input; a panic would be a bug in gpc and ends in
 *    gpc_panic().
 *
 * Freestanding: needs only <stddef.h>, <stdint.h> and <stdbool.h>. C11 (or gnu11, as
 * Linux builds) for _Alignof; also valid C++11.
 *
 * The staticlib also expects memcpy, memmove, memset, memcmp and bcmp from the kernel
 * (the Rust core library calls them; Linux has them all).
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
 * task->cgroups. One pointer; only gpc writes it. Initialise it with
 * gpc_task_slot_init() whenever a task struct is made or copied (dup_task_struct).
 */
#define GPC_TASK_SLOT_SIZE (sizeof(void *))
#define GPC_TASK_SLOT_ALIGN (GPC_ALIGNOF(void *))
struct gpc_task_slot {
	void *opaque;
};

/*
 * Each kernel lock gpc uses lives in GPC_LOCK_STORAGE_SIZE bytes of storage aligned to
 * GPC_LOCK_STORAGE_ALIGN, inside gpc's own structures. gpc calls gpc_spin_init() or
 * gpc_mutex_init() on it in place, at first use, and never moves it afterwards. Check
 * your lock types fit: _Static_assert(sizeof(spinlock_t) <= GPC_LOCK_STORAGE_SIZE, "").
 */
#define GPC_LOCK_STORAGE_SIZE 128
#define GPC_LOCK_STORAGE_ALIGN 16

/* Allocation flags (gpc_kmalloc). */
#define GPC_GFP_KERNEL 0u /* may sleep: GFP_KERNEL */
#define GPC_GFP_ATOMIC 1u /* under a gpc spinlock or RCU read lock: GFP_ATOMIC/GFP_NOWAIT */
#define GPC_GFP_ZERO 2u   /* zeroed memory: __GFP_ZERO */

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
	GPC_SS_MEMORY = 3,
	GPC_SS_DEVICES = 4,
	GPC_SS_FREEZER = 5,
	GPC_SS_NET_CLS = 6,
	GPC_SS_PIDS = 7,
	GPC_SS_NS = 8,
	GPC_SS_DEBUG = 9,
	GPC_SS_COUNT = 10
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

/*
 * The link word of the head gpc embeds in every object freed after a grace period:
 * the kernel may use next (and nothing around it) to queue the head between
 * gpc_call_rcu() and gpc_rcu_invoke().
 */
struct gpc_rcu_head {
	struct gpc_rcu_head *next;
};

/* Called for each task of a walk (the task is alive during the call). */
typedef void (*gpc_task_fn)(void *ctx, struct gpc_task *task);

/* Called by gpc_drain_releases() per container to release (strings not NUL-terminated). */
typedef void (*gpc_release_fn)(void *ctx, const char *agent, size_t agent_len,
			       const char *path, size_t path_len);

/* ---------------------------------------------------------------------------------- */
/* Exported by gpc                                                                      */
/* ---------------------------------------------------------------------------------- */
/* BEGIN EXPORTS */

/* 0 if the library matches this header, else -EINVAL. Call once: GPC_ABI_CHECK(). */
int gpc_abi_check(size_t task_slot_size, size_t task_slot_align,
		  size_t lock_storage_size, size_t lock_storage_align);
#define GPC_ABI_CHECK()                                                  \
	gpc_abi_check(GPC_TASK_SLOT_SIZE, GPC_TASK_SLOT_ALIGN,           \
		      GPC_LOCK_STORAGE_SIZE, GPC_LOCK_STORAGE_ALIGN)

/*
 * A new instance with every compiled-in controller (ids: enum gpc_subsys_id). host_ctx
 * is handed back to gpc_release_notify(). Returns the instance or ERR_PTR(-ENOMEM).
 */
struct gpc *gpc_init(void *host_ctx);
/* Free everything (tasks must have exited). NULL and error pointers are ignored. */
void gpc_destroy(struct gpc *g);
/* The number of subsystems, and the id of the one called name (-ENOENT). */
int gpc_subsys_count(const struct gpc *g);
int gpc_subsys_id(const struct gpc *g, const char *name);

/* Empty a task's slot: for every new or copied task struct (Linux cgroup_fork()). */
void gpc_task_slot_init(struct gpc_task_slot *slot);
/* Put the first task (init) in every root: 0 or -EBUSY. */
int gpc_init_task(const struct gpc *g, struct gpc_task *task);
/*
 * Fork hook: child joins parent's css_group (cgroup_can_fork + cgroup_post_fork). No
 * lock taken. 0, or a controller's refusal (pids: -EAGAIN), -ESRCH (parent exited),
 * -EBUSY (child's slot attached); nothing changes on error. child must not be visible
 * to the task walks yet and must have its pid and tgid set. Undo a successful fork
 * that fails later in the kernel with gpc_exit(child).
 */
int gpc_fork(const struct gpc *g, struct gpc_task *parent, struct gpc_task *child);
/* Exit hook (cgroup_exit + cgroup_release + cgroup_free). Never fails. */
void gpc_exit(const struct gpc *g, struct gpc_task *task);
/* Attach hook (cgroup_attach_task -> cgroup_migrate): move task into hier:path. */
int gpc_attach(const struct gpc *g, int hier, const char *path, struct gpc_task *task);
/*
 * Lock-free lookup (task_css()): an opaque identity of the state of subsystem ss for
 * task (equal for tasks in the same container of ss's hierarchy), or NULL. The caller
 * must hold gpc_rcu_read_lock(); the pointer is valid until it drops it.
 */
const void *gpc_task_css(const struct gpc *g, struct gpc_task *task, int ss);
/* The kernel calls this for each head of gpc_call_rcu() after its grace period. */
void gpc_rcu_invoke(struct gpc_rcu_head *head);

/*
 * Mount a v1 hierarchy ("cpu,cpuacct", "none,name=x", "pids,release_agent=/sbin/a";
 * NULL or "" binds every unbound controller) as caller (NULL: the kernel itself).
 * Returns the hierarchy handle (> 0: its id in /proc/cgroups; a matching existing
 * hierarchy is reused and returns the same handle), or -EPERM, -EBUSY, -EINVAL,
 * -ENOSPC, -ENOMEM.
 */
int gpc_mount(const struct gpc *g, const char *options, struct gpc_task *caller);
/* Drop one mount; the last destroys the hierarchy unless it has children. 0 or -EINVAL. */
int gpc_umount(const struct gpc *g, int hier);
/* Containers, by path inside the hierarchy ("/a/b"). */
int gpc_mkdir(const struct gpc *g, int hier, const char *path);
int gpc_rmdir(const struct gpc *g, int hier, const char *path);
int gpc_stat(const struct gpc *g, int hier, const char *path, struct gpc_stat *st);
/* Directory entries (children, then files), each followed by a NUL. */
long gpc_list(const struct gpc *g, int hier, const char *path, char *buf, size_t len);
/* A whole control file as caller (NULL: the kernel). */
long gpc_read(const struct gpc *g, int hier, const char *path, struct gpc_task *caller,
	      char *buf, size_t len);
/* One write(2) to a control file as caller (NULL: the kernel). 0 or -errno. */
int gpc_write(const struct gpc *g, int hier, const char *path, struct gpc_task *caller,
	      const char *data, size_t len);

/* /proc/PID/cgroup and /proc/cgroups. */
long gpc_proc_pid_cgroup(const struct gpc *g, struct gpc_task *task, char *buf, size_t len);
long gpc_proc_cgroups(const struct gpc *g, char *buf, size_t len);

/*
 * Take the queued release notifications, oldest first; f runs under gpc's hierarchy
 * lock and must not call gpc (queue the agent's run). Returns how many were reported,
 * or -ENOMEM (that entry and the rest stay queued).
 */
int gpc_drain_releases(const struct gpc *g, gpc_release_fn f, void *ctx);

/* END EXPORTS */

/* ---------------------------------------------------------------------------------- */
/* Supplied by the kernel                                                               */
/* ---------------------------------------------------------------------------------- */
/* BEGIN IMPORTS */

/* Memory: align is a power of two; NULL on failure (never sleep with GPC_GFP_ATOMIC). */
void *gpc_kmalloc(size_t size, size_t align, unsigned int flags);
void gpc_kfree(void *ptr, size_t size, size_t align);

/* Locks on GPC_LOCK_STORAGE_SIZE bytes of storage. A spinlock disables preemption. */
void gpc_spin_init(void *lock);
void gpc_spin_lock(void *lock);
void gpc_spin_unlock(void *lock);
void gpc_spin_destroy(void *lock);
void gpc_mutex_init(void *lock);
void gpc_mutex_lock(void *lock);
void gpc_mutex_unlock(void *lock);
void gpc_mutex_destroy(void *lock);

/*
 * RCU. Read sections nest, and the caller stays on its CPU until the matching unlock.
 * gpc_call_rcu() must not allocate or fail: queue head (through head->next) and call
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

/* Tasks: accessors (valid while the task lives). */
struct gpc_task_slot *gpc_task_slot(struct gpc_task *task);
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
void gpc_for_each_task(gpc_task_fn f, void *ctx);
int gpc_with_thread_group(uint32_t tgid, gpc_task_fn f, void *ctx);
struct gpc_task *gpc_next_thread(struct gpc_task *leader, struct gpc_task *prev);

/* A release was queued (any context, maybe under a spinlock): schedule gpc_drain_releases. */
void gpc_release_notify(void *host_ctx);

/* A bug in gpc: print msg (len bytes, not NUL-terminated) and stop. */
GPC_NORETURN void gpc_panic(const char *msg, size_t len);

/* END IMPORTS */

#ifdef __cplusplus
}
#endif

#endif /* GPC_H */
