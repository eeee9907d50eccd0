/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * A userspace stand-in for a kernel, supplying every import of gpc.h:
 * malloc with failure injection, pthread spinlocks and mutexes, a counter-based RCU,
 * virtual CPUs, a task table under a rwlock ("tasklist_lock"), a release notifier.
 * It also checks gpc's manners: no sleeping allocation or mutex in atomic context.
 */
#ifndef KERNEL_H
#define KERNEL_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "gpc.h"

#define NR_VCPUS 4
#define PID_MAX 32768

/* A task: what a kernel's task_struct would hold for gpc. */
struct ktask {
	uint32_t pid;
	uint32_t tgid;
	/* Like task->cgroups and cg_list; not first, so gpc_slot_task's container_of
	 * steps back (a shim confusing the slot with the task would read garbage). */
	struct gpc_task_slot cg;
	struct gpc_creds creds;
	atomic_int exiting;        /* PF_EXITING: walks skip it */
	struct ktask *leader;      /* group leader (itself for a leader) */
	struct ktask *group_next;  /* next thread of the group (list from the leader) */
	atomic_int nr_threads;     /* on a leader: live threads besides itself */
	int list_index;            /* position in the dense task list */
	int owner;                 /* the harness thread that forks/exits it */
	atomic_int jobctl;         /* KJOB_* bits (Linux task->jobctl, task->frozen) */
	_Atomic uint64_t footprint; /* pages the OOM killer would free (gpc_task_footprint) */
	atomic_int unkillable;     /* oom_score_adj -1000: GPC_OOM_UNKILLABLE */
};

/* Job control: what gpc asked of a task and what it reported (gpc_freeze_task,
 * gpc_set_task_frozen, gpc_kill_task). */
#define KJOB_TRAP_FREEZE 1 /* asked to stop (JOBCTL_TRAP_FREEZE) */
#define KJOB_FROZEN 2      /* stopped (task->frozen) */
#define KJOB_KILLED 4      /* SIGKILL pending */

static inline struct gpc_task *T(struct ktask *t)
{
	return (struct gpc_task *)t;
}

/* ---- allocator ---- */
struct kalloc_stats {
	long live, total, failed, atomic, zeroed, frees;
};
void kalloc_stats(struct kalloc_stats *out);
/* Fail this thread's nth gpc_kmalloc from now (0: the next); -1 disarms. */
void kalloc_fail_nth(long n);
/* Fail each allocation of this thread with probability 1/one_in (0: never). */
void kalloc_fail_random(unsigned one_in, uint64_t seed);
/* Failures injected on this thread since the last call (and reset). */
long kalloc_take_failed(void);
/*
 * Watch the block holding p: kalloc_watch_state() then says whether gpc_kfree freed it
 * (KWATCH_FREED), and whether that happened inside an RCU callback (KWATCH_IN_RCU_CB).
 * kalloc_watch(NULL) stops watching.
 */
#define KWATCH_FREED 1
#define KWATCH_IN_RCU_CB 2
void kalloc_watch(const void *p);
int kalloc_watch_state(void);

/* ---- context checks ---- */
long kernel_atomic_violations(void);
long kernel_lock_ops(void);
int kernel_in_atomic(void);
/* Lock classes: violations (recursion on a class, a lock without a class, a key with two
 * names), distinct classes initialised so far and their names, irq-off depth. */
long kernel_lock_class_violations(void);
int kernel_lock_classes(void);
const char *kernel_lock_class_name(int i);
int kernel_irqs_off(void);

/* ---- RCU ---- */
struct krcu_stats {
	long queued, invoked, pending, grace_periods;
};
void krcu_stats(struct krcu_stats *out);
/*
 * A deliberately broken RCU for the harness's self-test: gpc_call_rcu() runs the
 * callback at once, without waiting for readers (harness --eager-call-rcu must fail).
 */
void krcu_set_eager(bool eager);

/* ---- tasks ---- */
void ktasks_init(void);
void ktasks_fini(void);
/* A new task struct (slot initialised with gpc_task_slot_init), pid allocated, not yet
 * visible; NULL when out of pids. thread_of: the leader for a thread, NULL for a process. */
struct ktask *ktask_new(struct ktask *thread_of, struct gpc_creds creds, int owner);
/* Make it visible to the walks (after gpc_fork / gpc_init_task succeeded). */
void ktask_publish(struct ktask *t);
/* Give back a never-published task (gpc_fork failed). */
void ktask_abort(struct ktask *t);
/* Exit: PF_EXITING, gpc_exit, unhash, free (the kernel's do_exit + release_task). */
void ktask_exit(struct gpc *g, struct ktask *t);
int ktask_count(void);
/* Copy out the live tasks (up to max), returns the number. */
int ktask_snapshot(struct ktask **out, int max);

/*
 * Linux's cgroup_threadgroup_rwsem: copy_process holds it for read from cgroup_can_fork
 * (gpc_fork) until the child is visible (ktask_publish), and exit_signals while it sets
 * PF_EXITING; writes to tasks / cgroup.procs and gpc_attach hold it for write, so a
 * migration never misses a thread being forked.
 */
void threadgroup_change_begin(void);
void threadgroup_change_end(void);
void threadgroup_lock(void);
void threadgroup_unlock(void);

/* ---- release notifications ---- */
struct khost {
	atomic_long notified;
	atomic_long files_changed; /* gpc_files_changed() calls */
};
extern struct khost khost;

/* ---- the VFS: who may write a v2 group's cgroup.procs (gpc_may_write_procs) ---- */
/* chown the cgroup.procs of the group with container id id to uid (0 forgets it). */
void kernel_chown_procs(uint64_t id, uint32_t uid);

/*
 * ---- pages: the page store behind gpc_reclaim_pages ----
 * Pages of each (instance context, memory group, list), some dirty or under writeback,
 * and a swap device. gpc_reclaim_pages drops clean page cache, starts writeback of dirty
 * page cache (counted in *writeback), skips pages under writeback, and writes anonymous
 * pages to swap while it has room (they are then counted as swapped in their group).
 */
void kmm_add(void *ctx, uint64_t group, int lru, uint64_t n, uint64_t dirty);
/* Take n pages of the list away (the kernel freed them itself: gpc_mem_uncharge). */
void kmm_sub(void *ctx, uint64_t group, int lru, uint64_t n);
uint64_t kmm_pages(void *ctx, uint64_t group, int lru);
uint64_t kmm_writeback(void *ctx, uint64_t group, int lru);
/* Pages of group on swap; kmm_unswap frees n of them (gpc_mem_uncharge_swap). */
uint64_t kmm_swapped(void *ctx, uint64_t group);
void kmm_unswap(void *ctx, uint64_t group, uint64_t n);
/* The flusher finished n pages' writeback: clean (gpc_mem_writeback(..., false)). */
void kmm_end_writeback(void *ctx, uint64_t group, int lru, uint64_t n);
/* Swap device size in pages (0: none); forget every page of ctx. */
void kmm_set_swap(uint64_t pages);
void kmm_forget(void *ctx);
/* gpc_reclaim_pages calls and pages freed so far; calls made in atomic context. */
long kmm_reclaim_calls(void);
long kmm_reclaim_violations(void);

/* ---- vCPUs ---- */
void kernel_set_cpu(unsigned cpu);

#endif
