/* SPDX-License-Identifier: MIT OR Apache-2.0 */
/*
 * Compiled by tests/c_harness.rs as C11, gnu11 (Linux's dialect) and C++11, with every
 * warning an error: gpc.h must be self-contained, freestanding and clean. The static
 * assertions pin the layouts the Rust side asserts too (src/abi.rs).
 */
#include "gpc.h"

#ifdef __cplusplus
#define STATIC_ASSERT(c, m) static_assert(c, m)
#else
#define STATIC_ASSERT(c, m) _Static_assert(c, m)
#endif

STATIC_ASSERT(sizeof(struct gpc_task_slot) == GPC_TASK_SLOT_SIZE, "slot size");
STATIC_ASSERT(GPC_ALIGNOF(struct gpc_task_slot) == GPC_TASK_SLOT_ALIGN, "slot alignment");
STATIC_ASSERT(sizeof(struct gpc_creds) == 20 && GPC_ALIGNOF(struct gpc_creds) == 4, "creds");
STATIC_ASSERT(sizeof(struct gpc_stat) == 16 && GPC_ALIGNOF(struct gpc_stat) == 8, "stat");
STATIC_ASSERT(sizeof(struct gpc_rcu_head) == 2 * sizeof(void *), "rcu head");
STATIC_ASSERT(GPC_LOCK_STORAGE_SIZE % GPC_LOCK_STORAGE_ALIGN == 0, "lock storage");
/* A lockdep kernel's struct mutex (about 180 bytes on x86-64 in Linux 6.18) fits. */
STATIC_ASSERT(GPC_LOCK_STORAGE_SIZE >= 192, "lock storage for lockdep");
STATIC_ASSERT(GPC_LOCK_CLASS_KEY_SIZE >= 16, "lock class key for lockdep");
STATIC_ASSERT(GPC_SS_COUNT == 16, "subsystems");
STATIC_ASSERT(sizeof(struct gpc_cpu_bandwidth) == 24 && GPC_ALIGNOF(struct gpc_cpu_bandwidth) == 8,
	      "cpu bandwidth");
STATIC_ASSERT(sizeof(struct gpc_mem_charge) == 40 && GPC_ALIGNOF(struct gpc_mem_charge) == 8,
	      "memory charge");
STATIC_ASSERT(GPC_LRU_INACTIVE_ANON == 0 && GPC_LRU_ACTIVE_FILE == 3, "Linux's enum lru_list");

/* Every declaration's type, taken without calling (so nothing needs linking). */
typedef struct gpc *(*init_t)(void *);
static init_t const init_fn = gpc_init;
static long (*const read_fn)(const struct gpc *, int, const char *, struct gpc_task *, char *,
			     size_t) = gpc_read;
static gpc_release_fn const release_cb = 0;
static gpc_task_fn const task_cb = 0;

int header_check(void);
int header_check(void)
{
	const void *p = (const void *)(uintptr_t)-12;
	(void)init_fn;
	(void)read_fn;
	(void)release_cb;
	(void)task_cb;
	return (int)GPC_PTR_ERR(p) + (GPC_IS_ERR(p) ? 1 : 0);
}
