//! Linux-exact parsers and formatters of the controllers' files.
//!
//! # Why here
//!
//! The grammars of the controllers' values (memory sizes, `pids.max`, CPU and node lists,
//! device rules) belong to the controllers, not to the framework: gpc-core reads only
//! its own files (`tasks`, `notify_on_release`, ...), and keeps only those grammars and
//! the kernel library routines every grammar is built on (`kstrtox`, `strstrip`, the
//! C-string rule; see `gpc_core::parse`, whose module doc explains the buffer a write
//! handler sees). Each grammar here is a line-by-line port of the kernel routine it names,
//! *including its quirks*, because the conformance transcripts were recorded on Linux
//! 6.18; they are not behind the controllers' cargo features, because hosts use the types
//! (the simulator's scheduler keeps [`CpuMask`]s) whatever controllers they link.
//!
//! This module re-exports `gpc_core::parse`, so `gpc_subsystems::parse::*` is every
//! parser gpc has.
//!
//! # Map of v1 files to parsers
//!
//! | file | kernel handler | here |
//! |---|---|---|
//! | `net_cls.classid`, `cpu.shares`, `cpu.cfs_period_us`, `cpuacct.usage`, `memory.swappiness`, `memory.use_hierarchy`, `memory.oom_control`, cpuset flag files | `write_u64` | [`write_u64_input`] |
//! | `cpu.cfs_quota_us`, `cpuset.sched_relax_domain_level` | `write_s64` | [`write_s64_input`] |
//! | cpuset flag files (`cpuset.cpu_exclusive`, ...) | `cpuset_write_u64` → `cpuset_update_flag(bit, cs, int turning_on)` | [`c_int_nonzero`] on the `u64` |
//! | `cpuset.cpus`, `cpuset.mems` | `cpuset_write_resmask`: `strstrip`, then `cpulist_parse` / `nodelist_parse` | [`parse_cpuset_cpus`], [`parse_cpuset_mems`] (`cpumask.rs`) |
//! | `memory.limit_in_bytes`, `memory.memsw.limit_in_bytes`, `memory.soft_limit_in_bytes` | `mem_cgroup_write`: `strstrip`, `page_counter_memparse(buf, "-1")` | [`parse_memory_limit`] (`memory.rs`) |
//! | `pids.max` | `pids_max_write` | [`parse_pids_max`], [`pids_max_display`] (`pids.rs`) |
//! | `devices.allow`, `devices.deny` | `devcgroup_access_write` → `devcgroup_update_access(strstrip(buf))` | [`parse_dev_rule`], [`DevRule`]'s `Display` (`devices.rs`) |
//! | `freezer.state` | `freezer_write`: `strcmp(strstrip(buf), "FROZEN" / "THAWED")` | `strstrip(buf) == b"FROZEN"` |
//!
//! And of the v2 files that have a grammar of their own:
//!
//! | file | kernel handler | here |
//! |---|---|---|
//! | `memory.min`, `.low`, `.high`, `.max`, `.swap.high`, `.swap.max`, `.zswap.max` | `strstrip`, `page_counter_memparse(buf, "max")` | [`page_counter_memparse`] |
//! | `memory.reclaim` | `user_proactive_reclaim` (`mm/vmscan.c`) | [`parse_memory_reclaim`] (`memory.rs`) |
//! | `memory.oom.group`, `memory.zswap.writeback` | `kstrtoint(strstrip(buf), 0)` | [`kstrtoint`] |
//! | `cpu.max` | `cpu_period_quota_parse` (`kernel/sched/core.c`) | [`parse_cpu_max`] (`cpu.rs`) |
//! | `cpu.weight`, `cpu.max.burst` / `cpu.weight.nice`, `cpu.idle` | `write_u64` / `write_s64` | [`write_u64_input`] / [`write_s64_input`] |
//!
//! Kernel sources followed (torvalds/linux): `lib/vsprintf.c` (`bitmap_list_string`),
//! `lib/cmdline.c` (`memparse`), `lib/bitmap-str.c` (`bitmap_parselist`),
//! `include/linux/cpumask.h` (`cpulist_parse`), `kernel/cgroup/cpuset.c` and
//! `cpuset-v1.c`, `mm/page_counter.c` + `include/linux/page_counter.h`,
//! `mm/memcontrol-v1.c` (`mem_cgroup_write`, `mem_cgroup_read_u64`),
//! `kernel/cgroup/pids.c`, `include/linux/threads.h`, `security/device_cgroup.c`.
//!
//! Formatters produce the value only; the file layer appends the `'\n'` Linux prints.

mod cpu;
mod cpumask;
mod devices;
mod memory;
mod pids;

pub use cpu::*;
pub use cpumask::*;
pub use devices::*;
pub use gpc_core::parse::*;
pub use memory::*;
pub use pids::*;

/// The byte at `i`, or NUL past the end: the C view of a (NUL-truncated) buffer.
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    match s.get(i) {
        Some(&c) => c,
        None => 0,
    }
}

/// The tail of `s` from `i` (empty when `i` is past the end). Never panics.
#[inline]
fn tail(s: &[u8], i: usize) -> &[u8] {
    s.get(i..).unwrap_or(&[])
}
