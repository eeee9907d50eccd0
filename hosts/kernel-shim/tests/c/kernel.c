/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * The kernel stand-in: every import of gpc.h, for the harness. See kernel.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "kernel.h"

_Static_assert(sizeof(pthread_spinlock_t) <= GPC_LOCK_STORAGE_SIZE, "spinlock fits");
_Static_assert(sizeof(pthread_mutex_t) <= GPC_LOCK_STORAGE_SIZE, "mutex fits");
_Static_assert(_Alignof(pthread_mutex_t) <= GPC_LOCK_STORAGE_ALIGN, "mutex alignment");
_Static_assert(sizeof(struct gpc_task_slot) == GPC_TASK_SLOT_SIZE, "slot size");

static void kbug(const char *what, int err)
{
	fprintf(stderr, "kernel BUG: %s (%s)\n", what, strerror(err));
	abort();
}

/* ------------------------------------------------------------------------------ */
/* Atomic context: what the harness's own locks and RCU say about the thread.       */
/* ------------------------------------------------------------------------------ */

static _Thread_local int in_atomic; /* spinlocks held + RCU read sections */
static atomic_long atomic_violations;
static atomic_long lock_ops;

int kernel_in_atomic(void)
{
	return in_atomic;
}

long kernel_atomic_violations(void)
{
	return atomic_load(&atomic_violations);
}

long kernel_lock_ops(void)
{
	return atomic_load(&lock_ops);
}

/* ------------------------------------------------------------------------------ */
/* CPUs: each thread is pinned to a virtual CPU (so a spinlock's CPU is stable).    */
/* ------------------------------------------------------------------------------ */

static _Thread_local int vcpu = -1;
static atomic_uint next_vcpu;

void kernel_set_cpu(unsigned cpu)
{
	vcpu = (int)(cpu % NR_VCPUS);
}

unsigned int gpc_current_cpu(void)
{
	if (vcpu < 0)
		vcpu = (int)(atomic_fetch_add(&next_vcpu, 1) % NR_VCPUS);
	return (unsigned)vcpu;
}

unsigned int gpc_nr_cpus(void)
{
	return NR_VCPUS;
}

unsigned int gpc_nr_mem_nodes(void)
{
	return 2;
}

/* ------------------------------------------------------------------------------ */
/* Memory: malloc with failure injection and counts.                                */
/* ------------------------------------------------------------------------------ */

static atomic_long a_live, a_total, a_failed, a_atomic, a_zeroed, a_frees;
static _Thread_local long fail_countdown = -1;
static _Thread_local long thread_failed;
static _Thread_local unsigned fail_one_in;
static _Thread_local uint64_t fail_rng;

void kalloc_fail_nth(long n)
{
	fail_countdown = n;
}

void kalloc_fail_random(unsigned one_in, uint64_t seed)
{
	fail_one_in = one_in;
	fail_rng = seed | 1;
}

long kalloc_take_failed(void)
{
	long n = thread_failed;
	thread_failed = 0;
	return n;
}

/* Set while this thread runs gpc_rcu_invoke(). */
static _Thread_local bool in_rcu_callback;
static const void *_Atomic watched;
static atomic_int watch_state;

void kalloc_watch(const void *p)
{
	atomic_store(&watch_state, 0);
	atomic_store(&watched, p);
}

int kalloc_watch_state(void)
{
	return atomic_load(&watch_state);
}

void kalloc_stats(struct kalloc_stats *out)
{
	out->live = atomic_load(&a_live);
	out->total = atomic_load(&a_total);
	out->failed = atomic_load(&a_failed);
	out->atomic = atomic_load(&a_atomic);
	out->zeroed = atomic_load(&a_zeroed);
	out->frees = atomic_load(&a_frees);
}

static bool should_fail(void)
{
	if (fail_countdown == 0) {
		fail_countdown = -1;
		return true;
	}
	if (fail_countdown > 0)
		fail_countdown--;
	if (fail_one_in) {
		/* xorshift64 */
		fail_rng ^= fail_rng << 13;
		fail_rng ^= fail_rng >> 7;
		fail_rng ^= fail_rng << 17;
		if (fail_rng % fail_one_in == 0)
			return true;
	}
	return false;
}

void *gpc_kmalloc(size_t size, size_t align, unsigned int flags)
{
	void *p;

	/* The flags are gpc's call site's (its allocation scope): a may-sleep one here
	 * means a call site named the wrong context. */
	if (!(flags & (GPC_GFP_ATOMIC | GPC_GFP_NOWAIT)) && in_atomic)
		atomic_fetch_add(&atomic_violations, 1); /* "sleeping function called from invalid context" */
	if (align == 0 || (align & (align - 1)))
		kbug("gpc_kmalloc: alignment not a power of two", EINVAL);
	if (should_fail()) {
		thread_failed++;
		atomic_fetch_add(&a_failed, 1);
		return NULL;
	}
	if (align < sizeof(void *))
		align = sizeof(void *);
	if (posix_memalign(&p, align, size ? size : 1))
		return NULL;
	if (flags & GPC_GFP_ZERO) {
		memset(p, 0, size);
		atomic_fetch_add(&a_zeroed, 1);
	}
	if (flags & GPC_GFP_ATOMIC)
		atomic_fetch_add(&a_atomic, 1);
	atomic_fetch_add(&a_live, 1);
	atomic_fetch_add(&a_total, 1);
	return p;
}

/* Each thread is a task: its allocation-scope word (Linux: a task_struct field). */
static _Thread_local unsigned int alloc_scope_word;

unsigned int *gpc_alloc_scope_word(void)
{
	return &alloc_scope_word;
}

void gpc_kfree(void *ptr, size_t size, size_t align)
{
	(void)size;
	(void)align;
	const char *w = atomic_load(&watched);
	if (!ptr)
		return;
	if (w && w >= (const char *)ptr && w < (const char *)ptr + (size ? size : 1))
		atomic_store(&watch_state, KWATCH_FREED | (in_rcu_callback ? KWATCH_IN_RCU_CB : 0));
	atomic_fetch_sub(&a_live, 1);
	atomic_fetch_add(&a_frees, 1);
	free(ptr);
}

/* ------------------------------------------------------------------------------ */
/* Locks: pthread spinlocks and error-checking mutexes.                             */
/* ------------------------------------------------------------------------------ */

/*
 * Each lock knows its class (name, key). Per thread, the classes held are a stack: a
 * lock taken while its class (and subclass) is already held is lockdep's "possible
 * recursive locking" and counts as a class violation; so is a lock initialised without
 * a name or key, or a key that comes with two names (two roles sharing a class).
 */
struct klock {
	union {
		pthread_spinlock_t spin;
		pthread_mutex_t mutex;
	} u;
	void *key;
	const char *name;
	int irq_flags; /* spin_lock_irqsave's flags, kept in the lock by its holder */
};
_Static_assert(sizeof(struct klock) <= GPC_LOCK_STORAGE_SIZE, "klock fits");
_Static_assert(_Alignof(struct klock) <= GPC_LOCK_STORAGE_ALIGN, "klock alignment");

#define MAX_HELD 32
#define MAX_CLASSES 128
static _Thread_local struct {
	void *key;
	unsigned sub;
} held[MAX_HELD];
static _Thread_local int nheld;
static _Thread_local int irqs_off;
static atomic_long class_violations;
static pthread_mutex_t classes_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
	void *key;
	const char *name;
} classes[MAX_CLASSES];
static int nclasses;

long kernel_lock_class_violations(void)
{
	return atomic_load(&class_violations);
}

int kernel_lock_classes(void)
{
	int n;
	pthread_mutex_lock(&classes_lock);
	n = nclasses;
	pthread_mutex_unlock(&classes_lock);
	return n;
}

const char *kernel_lock_class_name(int i)
{
	const char *name = NULL;
	pthread_mutex_lock(&classes_lock);
	if (i >= 0 && i < nclasses)
		name = classes[i].name;
	pthread_mutex_unlock(&classes_lock);
	return name;
}

int kernel_irqs_off(void)
{
	return irqs_off;
}

static void class_init(struct klock *l, const char *name, void *key)
{
	int i;
	l->key = key;
	l->name = name;
	if (!name || !key) {
		atomic_fetch_add(&class_violations, 1);
		return;
	}
	pthread_mutex_lock(&classes_lock);
	for (i = 0; i < nclasses; i++) {
		if (classes[i].key == key) {
			if (strcmp(classes[i].name, name) != 0)
				atomic_fetch_add(&class_violations, 1);
			break;
		}
	}
	if (i == nclasses && nclasses < MAX_CLASSES) {
		classes[nclasses].key = key;
		classes[nclasses].name = name;
		nclasses++;
	}
	pthread_mutex_unlock(&classes_lock);
}

static void class_acquire(struct klock *l, unsigned sub)
{
	int i;
	for (i = 0; i < nheld && i < MAX_HELD; i++) {
		if (held[i].key == l->key && held[i].sub == sub) {
			fprintf(stderr, "lockdep: possible recursive locking of %s\n", l->name);
			atomic_fetch_add(&class_violations, 1);
		}
	}
	if (nheld < MAX_HELD) {
		held[nheld].key = l->key;
		held[nheld].sub = sub;
	}
	nheld++;
}

static void class_release(struct klock *l)
{
	int i, top = nheld < MAX_HELD ? nheld : MAX_HELD;
	for (i = top - 1; i >= 0; i--) {
		if (held[i].key == l->key) {
			memmove(&held[i], &held[i + 1], (size_t)(top - 1 - i) * sizeof(held[0]));
			break;
		}
	}
	nheld--;
}

void gpc_spin_init(void *lock, const char *name, void *key)
{
	struct klock *l = lock;
	int r = pthread_spin_init(&l->u.spin, PTHREAD_PROCESS_PRIVATE);
	if (r)
		kbug("pthread_spin_init", r);
	class_init(l, name, key);
}

void gpc_spin_lock_nested(void *lock, unsigned int subclass)
{
	struct klock *l = lock;
	int r;
	/* preempt_disable() comes first: from here the thread is in atomic context. */
	in_atomic++;
	class_acquire(l, subclass);
	r = pthread_spin_lock(&l->u.spin);
	if (r)
		kbug("pthread_spin_lock", r);
	atomic_fetch_add_explicit(&lock_ops, 1, memory_order_relaxed);
}

void gpc_spin_lock(void *lock)
{
	gpc_spin_lock_nested(lock, 0);
}

void gpc_spin_unlock(void *lock)
{
	struct klock *l = lock;
	int r = pthread_spin_unlock(&l->u.spin);
	if (r)
		kbug("pthread_spin_unlock", r);
	class_release(l);
	in_atomic--;
}

void gpc_spin_lock_irqsave(void *lock)
{
	struct klock *l = lock;
	int flags = irqs_off++; /* local_irq_save */
	gpc_spin_lock(lock);
	l->irq_flags = flags;
}

void gpc_spin_unlock_irqrestore(void *lock)
{
	struct klock *l = lock;
	int flags = l->irq_flags;
	gpc_spin_unlock(lock);
	irqs_off = flags; /* local_irq_restore */
}

void gpc_spin_destroy(void *lock)
{
	struct klock *l = lock;
	int r = pthread_spin_destroy(&l->u.spin);
	if (r)
		kbug("pthread_spin_destroy", r);
}

void gpc_mutex_init(void *lock, const char *name, void *key)
{
	struct klock *l = lock;
	pthread_mutexattr_t a;
	int r;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_settype(&a, PTHREAD_MUTEX_ERRORCHECK);
	r = pthread_mutex_init(&l->u.mutex, &a);
	pthread_mutexattr_destroy(&a);
	if (r)
		kbug("pthread_mutex_init", r);
	class_init(l, name, key);
}

void gpc_mutex_lock(void *lock)
{
	struct klock *l = lock;
	int r;
	if (in_atomic || irqs_off)
		atomic_fetch_add(&atomic_violations, 1); /* a mutex may sleep */
	class_acquire(l, 0);
	r = pthread_mutex_lock(&l->u.mutex);
	if (r)
		kbug("pthread_mutex_lock", r); /* EDEADLK: gpc relocked its own mutex */
	atomic_fetch_add_explicit(&lock_ops, 1, memory_order_relaxed);
}

void gpc_mutex_unlock(void *lock)
{
	struct klock *l = lock;
	int r = pthread_mutex_unlock(&l->u.mutex);
	if (r)
		kbug("pthread_mutex_unlock", r); /* EPERM: not the owner */
	class_release(l);
}

void gpc_mutex_destroy(void *lock)
{
	struct klock *l = lock;
	int r = pthread_mutex_destroy(&l->u.mutex);
	if (r)
		kbug("pthread_mutex_destroy", r); /* EBUSY: destroyed while held */
}

/* ------------------------------------------------------------------------------ */
/* RCU: a reader count and a batch of callbacks, as gpc-core's QuiescentRcu.        */
/*                                                                                  */
/* A callback queued at time t runs the first time the reader count is seen at zero */
/* after its batch was taken: every reader inside at t has left by then, and later  */
/* readers cannot reach the object (unlinked before gpc_call_rcu). The two seq_cst  */
/* fences (read_lock; after taking the batch) are the ones loom proved necessary:   */
/* without them a reader's increment and a writer's unlink can both go unseen      */
/* (store buffering).                                                               */
/* ------------------------------------------------------------------------------ */

static atomic_long rcu_readers;
static pthread_mutex_t rcu_lock = PTHREAD_MUTEX_INITIALIZER;
static struct gpc_rcu_head *rcu_pending;
static long rcu_npending;
static atomic_long rcu_queued, rcu_invoked, rcu_gps;
static atomic_bool rcu_eager;

void krcu_set_eager(bool eager)
{
	atomic_store(&rcu_eager, eager);
}

static void rcu_invoke_one(struct gpc_rcu_head *head)
{
	bool nested = in_rcu_callback;
	in_rcu_callback = true;
	gpc_rcu_invoke(head);
	in_rcu_callback = nested;
	atomic_fetch_add(&rcu_invoked, 1);
}

void krcu_stats(struct krcu_stats *out)
{
	pthread_mutex_lock(&rcu_lock);
	out->pending = rcu_npending;
	pthread_mutex_unlock(&rcu_lock);
	out->queued = atomic_load(&rcu_queued);
	out->invoked = atomic_load(&rcu_invoked);
	out->grace_periods = atomic_load(&rcu_gps);
}

static void rcu_requeue(struct gpc_rcu_head *head, long n)
{
	struct gpc_rcu_head *tail = head;
	while (tail->next)
		tail = tail->next;
	pthread_mutex_lock(&rcu_lock);
	tail->next = rcu_pending;
	rcu_pending = head;
	rcu_npending += n;
	pthread_mutex_unlock(&rcu_lock);
}

static void rcu_run_if_quiescent(void)
{
	struct gpc_rcu_head *head;
	long n;

	pthread_mutex_lock(&rcu_lock);
	head = rcu_pending;
	n = rcu_npending;
	rcu_pending = NULL;
	rcu_npending = 0;
	pthread_mutex_unlock(&rcu_lock);
	if (!head)
		return;
	atomic_thread_fence(memory_order_seq_cst);
	if (atomic_load(&rcu_readers) != 0) {
		rcu_requeue(head, n);
		return;
	}
	atomic_fetch_add(&rcu_gps, 1);
	while (head) {
		struct gpc_rcu_head *next = head->next;
		rcu_invoke_one(head);
		head = next;
	}
}

void gpc_rcu_read_lock(void)
{
	atomic_fetch_add(&rcu_readers, 1);
	atomic_thread_fence(memory_order_seq_cst);
	in_atomic++;
}

void gpc_rcu_read_unlock(void)
{
	in_atomic--;
	if (atomic_fetch_sub(&rcu_readers, 1) == 1)
		rcu_run_if_quiescent();
}

void gpc_call_rcu(struct gpc_rcu_head *head)
{
	if (atomic_load(&rcu_eager)) { /* the bug the harness must catch */
		atomic_fetch_add(&rcu_queued, 1);
		rcu_invoke_one(head);
		return;
	}
	pthread_mutex_lock(&rcu_lock);
	head->next = rcu_pending;
	rcu_pending = head;
	rcu_npending++;
	pthread_mutex_unlock(&rcu_lock);
	atomic_fetch_add(&rcu_queued, 1);
	rcu_run_if_quiescent();
}

void gpc_synchronize_rcu(void)
{
	for (;;) {
		long n;
		if (in_atomic)
			atomic_fetch_add(&atomic_violations, 1);
		while (atomic_load(&rcu_readers) != 0)
			sched_yield();
		rcu_run_if_quiescent();
		pthread_mutex_lock(&rcu_lock);
		n = rcu_npending;
		pthread_mutex_unlock(&rcu_lock);
		if (!n)
			return;
	}
}

/* ------------------------------------------------------------------------------ */
/* Tasks: a dense list and a pid index under a rwlock (Linux's tasklist_lock).      */
/* ------------------------------------------------------------------------------ */

static pthread_rwlock_t tasklist = PTHREAD_RWLOCK_INITIALIZER;
static struct ktask **tasks;      /* live (published) tasks */
static int nr_tasks;
static struct ktask *by_pid[PID_MAX];
static unsigned char pid_used[PID_MAX];
static uint32_t last_pid;
static struct ktask *const RESERVED = (struct ktask *)1;

void ktasks_init(void)
{
	tasks = calloc(PID_MAX, sizeof(*tasks));
	if (!tasks)
		kbug("calloc", ENOMEM);
}

void ktasks_fini(void)
{
	free(tasks);
	tasks = NULL;
}

static uint32_t alloc_pid_locked(void)
{
	for (uint32_t i = 0; i < PID_MAX; i++) {
		uint32_t pid = last_pid + 1 >= PID_MAX ? 300 : last_pid + 1;
		last_pid = pid;
		if (!pid_used[pid]) {
			pid_used[pid] = 1;
			return pid;
		}
	}
	return 0;
}

struct ktask *ktask_new(struct ktask *thread_of, struct gpc_creds creds, int owner)
{
	struct ktask *t = calloc(1, sizeof(*t));
	if (!t)
		kbug("calloc", ENOMEM);
	/* dup_task_struct copies the parent; cgroup_fork resets the slot. */
	memset(&t->cg, 0xa5, sizeof(t->cg));
	if (gpc_task_slot_init(&t->cg)) /* a fresh task struct is never attached */
		kbug("gpc_task_slot_init", EINVAL);
	pthread_rwlock_wrlock(&tasklist);
	t->pid = alloc_pid_locked();
	if (t->pid)
		by_pid[t->pid] = RESERVED;
	pthread_rwlock_unlock(&tasklist);
	if (!t->pid) {
		free(t);
		return NULL;
	}
	t->leader = thread_of ? thread_of : t;
	t->tgid = t->leader->pid;
	t->creds = creds;
	t->owner = owner;
	t->list_index = -1;
	return t;
}

void ktask_publish(struct ktask *t)
{
	pthread_rwlock_wrlock(&tasklist);
	by_pid[t->pid] = t;
	t->list_index = nr_tasks;
	tasks[nr_tasks++] = t;
	if (t->leader != t) {
		t->group_next = t->leader->group_next;
		t->leader->group_next = t;
		atomic_fetch_add(&t->leader->nr_threads, 1);
	}
	pthread_rwlock_unlock(&tasklist);
}

void ktask_abort(struct ktask *t)
{
	pthread_rwlock_wrlock(&tasklist);
	by_pid[t->pid] = NULL;
	pid_used[t->pid] = 0;
	pthread_rwlock_unlock(&tasklist);
	free(t);
}

static pthread_rwlock_t threadgroup_rwsem = PTHREAD_RWLOCK_INITIALIZER;

void threadgroup_change_begin(void)
{
	pthread_rwlock_rdlock(&threadgroup_rwsem);
}

void threadgroup_change_end(void)
{
	pthread_rwlock_unlock(&threadgroup_rwsem);
}

void threadgroup_lock(void)
{
	pthread_rwlock_wrlock(&threadgroup_rwsem);
}

void threadgroup_unlock(void)
{
	pthread_rwlock_unlock(&threadgroup_rwsem);
}

void ktask_exit(struct gpc *g, struct ktask *t)
{
	/* do_exit: exit_signals sets PF_EXITING inside a threadgroup change, then
	 * cgroup_exit, outside tasklist_lock. */
	threadgroup_change_begin();
	atomic_store(&t->exiting, 1);
	threadgroup_change_end();
	if (gpc_exit(g, T(t))) /* every task the harness exits is g's */
		kbug("gpc_exit", EINVAL);
	/* release_task: unhash under the write lock; no walker can hold it after. */
	pthread_rwlock_wrlock(&tasklist);
	if (t->list_index >= 0) {
		struct ktask *last = tasks[--nr_tasks];
		tasks[t->list_index] = last;
		last->list_index = t->list_index;
	}
	by_pid[t->pid] = NULL;
	pid_used[t->pid] = 0;
	if (t->leader != t) {
		struct ktask **pp = &t->leader->group_next;
		while (*pp && *pp != t)
			pp = &(*pp)->group_next;
		if (*pp)
			*pp = t->group_next;
		atomic_fetch_sub(&t->leader->nr_threads, 1);
	}
	pthread_rwlock_unlock(&tasklist);
	free(t);
}

int ktask_count(void)
{
	int n;
	pthread_rwlock_rdlock(&tasklist);
	n = nr_tasks;
	pthread_rwlock_unlock(&tasklist);
	return n;
}

int ktask_snapshot(struct ktask **out, int max)
{
	int n = 0;
	pthread_rwlock_rdlock(&tasklist);
	for (int i = 0; i < nr_tasks && n < max; i++)
		out[n++] = tasks[i];
	pthread_rwlock_unlock(&tasklist);
	return n;
}

static bool live(const struct ktask *t)
{
	return t && t != RESERVED && !atomic_load(&t->exiting);
}

struct gpc_task_slot *gpc_task_slot(struct gpc_task *task)
{
	return &((struct ktask *)task)->cg;
}

/* container_of(slot, struct ktask, cg): the listings call it under gpc's spinlocks. */
struct gpc_task *gpc_slot_task(struct gpc_task_slot *slot)
{
	struct ktask *t;
	if (!slot)
		kbug("gpc_slot_task: NULL slot", EINVAL);
	t = (struct ktask *)((char *)slot - offsetof(struct ktask, cg));
	/* Only an attached slot: its task has a pid and has not been freed (valgrind). */
	if (!t->pid)
		kbug("gpc_slot_task: not a task's slot", EINVAL);
	return T(t);
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
	*out = ((struct ktask *)task)->creds;
}

int gpc_with_task(uint32_t pid, gpc_task_fn f, void *ctx)
{
	int found = 0;
	pthread_rwlock_rdlock(&tasklist);
	if (pid < PID_MAX && live(by_pid[pid])) {
		f(ctx, T(by_pid[pid]));
		found = 1;
	}
	pthread_rwlock_unlock(&tasklist);
	return found;
}

int gpc_with_thread_group(uint32_t tgid, gpc_task_fn f, void *ctx)
{
	int found = 0;
	/* The read lock keeps the group stable: threads join and leave under the write
	 * lock (Linux: cgroup_threadgroup_rwsem). */
	pthread_rwlock_rdlock(&tasklist);
	if (tgid < PID_MAX && by_pid[tgid] && by_pid[tgid] != RESERVED &&
	    by_pid[tgid]->leader == by_pid[tgid]) {
		f(ctx, T(by_pid[tgid]));
		found = 1;
	}
	pthread_rwlock_unlock(&tasklist);
	return found;
}

struct gpc_task *gpc_next_thread(struct gpc_task *leader, struct gpc_task *prev)
{
	struct ktask *t = prev ? ((struct ktask *)prev)->group_next : (struct ktask *)leader;
	while (t && !live(t))
		t = t->group_next;
	return T(t);
}

/* ------------------------------------------------------------------------------ */
/* Release notifications and panics.                                                */
/* ------------------------------------------------------------------------------ */

struct khost khost;

void gpc_release_notify(void *host_ctx)
{
	struct khost *h = host_ctx;
	if (h)
		atomic_fetch_add(&h->notified, 1);
}

void gpc_files_changed(void *host_ctx)
{
	struct khost *h = host_ctx;
	if (h)
		atomic_fetch_add(&h->files_changed, 1);
}

/* ------------------------------------------------------------------------------ */
/* The VFS's permission on cgroup.procs files, with chown (delegation).             */
/* ------------------------------------------------------------------------------ */

#define NR_CHOWNED 16
static struct {
	_Atomic uint64_t id;
	_Atomic uint32_t uid;
} chowned[NR_CHOWNED];

void kernel_chown_procs(uint64_t id, uint32_t uid)
{
	for (int i = 0; i < NR_CHOWNED; i++) {
		if (atomic_load(&chowned[i].id) == id || (uid && !atomic_load(&chowned[i].id))) {
			atomic_store(&chowned[i].uid, uid);
			atomic_store(&chowned[i].id, uid ? id : 0);
			return;
		}
	}
	kbug("kernel_chown_procs: table full", ENOSPC);
}

/* The kernel's network devices, in registration order (net_prio.ifpriomap). */
const char *gpc_netdev_name(unsigned int idx)
{
	static const char *const devs[] = { "lo", "eth0" };
	return idx < sizeof(devs) / sizeof(devs[0]) ? devs[idx] : NULL;
}

/* generic_permission() on a 0644 file: the owner, or CAP_DAC_OVERRIDE. Called under
 * gpc's hierarchy mutex, where a kernel may sleep. */
bool gpc_may_write_procs(const struct gpc_creds *creds, uint64_t id)
{
	uint32_t owner = 0;
	if (in_atomic)
		atomic_fetch_add(&atomic_violations, 1);
	for (int i = 0; i < NR_CHOWNED; i++)
		if (id && atomic_load(&chowned[i].id) == id)
			owner = atomic_load(&chowned[i].uid);
	return creds->euid == owner || creds->cap_dac_override;
}

/* ------------------------------------------------------------------------------ */
/* Job control: per-task bits, acted on by the harness's "tasks".                   */
/* ------------------------------------------------------------------------------ */

bool gpc_task_frozen(struct gpc_task *task)
{
	return atomic_load(&((struct ktask *)task)->jobctl) & KJOB_FROZEN;
}

void gpc_set_task_frozen(struct gpc_task *task, bool frozen)
{
	struct ktask *t = (struct ktask *)task;
	if (frozen)
		atomic_fetch_or(&t->jobctl, KJOB_FROZEN);
	else
		atomic_fetch_and(&t->jobctl, ~KJOB_FROZEN);
}

void gpc_freeze_task(struct gpc_task *task, bool freeze)
{
	struct ktask *t = (struct ktask *)task;
	if (freeze)
		atomic_fetch_or(&t->jobctl, KJOB_TRAP_FREEZE);
	else
		atomic_fetch_and(&t->jobctl, ~KJOB_TRAP_FREEZE);
}

int gpc_kill_task(struct gpc_task *task)
{
	atomic_fetch_or(&((struct ktask *)task)->jobctl, KJOB_KILLED);
	return 0;
}

bool gpc_fatal_signal_pending(struct gpc_task *task)
{
	return atomic_load(&((struct ktask *)task)->jobctl) & KJOB_KILLED;
}

uint64_t gpc_clock_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------------------ */
/* Pages: a page store per (instance, memory group, list), and a swap device.       */
/* ------------------------------------------------------------------------------ */

#define KMM_LISTS 256
static struct kmm_list {
	void *ctx;
	uint64_t group;
	int lru; /* GPC_LRU_*, or -1 for the group's pages on swap */
	uint64_t pages, dirty, writeback;
} kmm[KMM_LISTS];
static int kmm_n;
static uint64_t kmm_swap_total, kmm_swap_used;
static pthread_mutex_t kmm_lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_long kmm_calls, kmm_violations;

/* The list, made if new; under kmm_lock. */
static struct kmm_list *kmm_list(void *ctx, uint64_t group, int lru)
{
	for (int i = 0; i < kmm_n; i++)
		if (kmm[i].ctx == ctx && kmm[i].group == group && kmm[i].lru == lru)
			return &kmm[i];
	for (int i = 0; i < kmm_n; i++) {
		if (!kmm[i].ctx) { /* reuse a forgotten one */
			kmm[i] = (struct kmm_list){ ctx, group, lru, 0, 0, 0 };
			return &kmm[i];
		}
	}
	if (kmm_n == KMM_LISTS)
		kbug("kmm: too many lists", ENOSPC);
	kmm[kmm_n] = (struct kmm_list){ ctx, group, lru, 0, 0, 0 };
	return &kmm[kmm_n++];
}

void kmm_add(void *ctx, uint64_t group, int lru, uint64_t n, uint64_t dirty)
{
	pthread_mutex_lock(&kmm_lock);
	struct kmm_list *l = kmm_list(ctx, group, lru);
	l->pages += n;
	l->dirty += dirty;
	pthread_mutex_unlock(&kmm_lock);
}

void kmm_sub(void *ctx, uint64_t group, int lru, uint64_t n)
{
	pthread_mutex_lock(&kmm_lock);
	struct kmm_list *l = kmm_list(ctx, group, lru);
	if (n > l->pages - l->dirty - l->writeback)
		kbug("kmm_sub: more clean pages than the list has", EINVAL);
	l->pages -= n;
	pthread_mutex_unlock(&kmm_lock);
}

uint64_t kmm_pages(void *ctx, uint64_t group, int lru)
{
	pthread_mutex_lock(&kmm_lock);
	uint64_t n = kmm_list(ctx, group, lru)->pages;
	pthread_mutex_unlock(&kmm_lock);
	return n;
}

uint64_t kmm_writeback(void *ctx, uint64_t group, int lru)
{
	pthread_mutex_lock(&kmm_lock);
	uint64_t n = kmm_list(ctx, group, lru)->writeback;
	pthread_mutex_unlock(&kmm_lock);
	return n;
}

uint64_t kmm_swapped(void *ctx, uint64_t group)
{
	return kmm_pages(ctx, group, -1);
}

void kmm_unswap(void *ctx, uint64_t group, uint64_t n)
{
	pthread_mutex_lock(&kmm_lock);
	struct kmm_list *l = kmm_list(ctx, group, -1);
	if (n > l->pages)
		kbug("kmm_unswap: more than is on swap", EINVAL);
	l->pages -= n;
	kmm_swap_used -= n;
	pthread_mutex_unlock(&kmm_lock);
}

void kmm_end_writeback(void *ctx, uint64_t group, int lru, uint64_t n)
{
	pthread_mutex_lock(&kmm_lock);
	struct kmm_list *l = kmm_list(ctx, group, lru);
	if (n > l->writeback)
		kbug("kmm_end_writeback: more than is under writeback", EINVAL);
	l->writeback -= n;
	pthread_mutex_unlock(&kmm_lock);
}

void kmm_set_swap(uint64_t pages)
{
	pthread_mutex_lock(&kmm_lock);
	kmm_swap_total = pages;
	pthread_mutex_unlock(&kmm_lock);
}

void kmm_forget(void *ctx)
{
	pthread_mutex_lock(&kmm_lock);
	for (int i = 0; i < kmm_n; i++) {
		if (kmm[i].ctx != ctx)
			continue;
		if (kmm[i].lru < 0)
			kmm_swap_used -= kmm[i].pages;
		kmm[i].ctx = NULL;
	}
	pthread_mutex_unlock(&kmm_lock);
}

long kmm_reclaim_calls(void)
{
	return atomic_load(&kmm_calls);
}

long kmm_reclaim_violations(void)
{
	return atomic_load(&kmm_violations);
}

/* shrink_lruvec on one group's own list: gpc holds only its hierarchy mutex, so this may
 * take a sleeping lock (and counts a violation when it finds itself in atomic context). */
uint64_t gpc_reclaim_pages(void *host_ctx, uint64_t group, int lru, uint64_t nr, uint64_t *writeback)
{
	uint64_t freed = 0, wb = 0;
	atomic_fetch_add(&kmm_calls, 1);
	if (in_atomic || irqs_off)
		atomic_fetch_add(&kmm_violations, 1);
	if (lru < GPC_LRU_INACTIVE_ANON || lru > GPC_LRU_ACTIVE_FILE || !writeback)
		kbug("gpc_reclaim_pages: bad arguments", EINVAL);
	pthread_mutex_lock(&kmm_lock);
	struct kmm_list *l = kmm_list(host_ctx, group, lru);
	uint64_t clean = l->pages - l->dirty - l->writeback;
	if (lru >= GPC_LRU_INACTIVE_FILE) {
		freed = clean < nr ? clean : nr;
		l->pages -= freed;
		wb = l->dirty < nr - freed ? l->dirty : nr - freed;
		l->dirty -= wb;
		l->writeback += wb;
	} else {
		uint64_t room = kmm_swap_total - kmm_swap_used;
		freed = clean < nr ? clean : nr;
		freed = freed < room ? freed : room;
		l->pages -= freed;
		kmm_list(host_ctx, group, -1)->pages += freed;
		kmm_swap_used += freed;
	}
	pthread_mutex_unlock(&kmm_lock);
	*writeback = wb;
	return freed;
}

/* oom_badness: the task's pages, the same for every thread of its process. Called under
 * gpc's spinlocks. */
uint64_t gpc_task_footprint(struct gpc_task *task)
{
	struct ktask *t = (struct ktask *)task;
	if (t->pid == 1 || atomic_load(&t->unkillable) || atomic_load(&t->leader->unkillable))
		return GPC_OOM_UNKILLABLE;
	return atomic_load(&t->leader->footprint);
}

void gpc_panic(const char *msg, size_t len)
{
	fprintf(stderr, "gpc_panic: %.*s\n", (int)len, msg);
	abort();
}
