//! The `cpuset` controller: which CPUs and memory nodes a container's tasks may use.
//!
//! This file is the v1 interface and what both share; the unified hierarchy's
//! (`cpuset.cpus.partition`, `cpuset.cpus.exclusive`, ...) is in [`v2`].
//!
//! Follows `kernel/cgroup/cpuset.c` and `kernel/cgroup/cpuset-v1.c` (torvalds/linux) as of
//! Linux 6.18, on a v1 hierarchy mounted without `cpuset_v2_mode` (so `is_in_v2_mode()`
//! is false everywhere below).
//!
//! # Files (`cpuset1_files`, in Linux's order)
//!
//! | file | flags | mode | read | write |
//! |---|---|---|---|---|
//! | `cpus` | | 0644 | `%*pbl` list | `cpuset_write_resmask` → `update_cpumask` |
//! | `mems` | | 0644 | `%*pbl` list | `cpuset_write_resmask` → `update_nodemask` |
//! | `effective_cpus` | | 0444 | `%*pbl` list | |
//! | `effective_mems` | | 0444 | `%*pbl` list | |
//! | `cpu_exclusive` | | 0644 | `0`/`1` | `write_u64` → `cpuset_update_flag` |
//! | `mem_exclusive` | | 0644 | `0`/`1` | idem |
//! | `mem_hardwall` | | 0644 | `0`/`1` | idem |
//! | `sched_load_balance` | | 0644 | `0`/`1` | idem |
//! | `sched_relax_domain_level` | | 0644 | `%lld` | `write_s64` → `update_relax_domain_level` |
//! | `memory_migrate` | | 0644 | `0`/`1` | `write_u64` → `cpuset_update_flag` |
//! | `memory_pressure` | | 0444 | `%llu` (always 0 here, see below) | |
//! | `memory_spread_page` | | 0644 | `0`/`1` | `write_u64` → `cpuset_update_flag` |
//! | `memory_spread_slab` | | 0644 | `0`/`1` | idem |
//! | `memory_pressure_enabled` | `ONLY_ON_ROOT` | 0644 | `0`/`1` | `write_u64`: `!!val` |
//!
//! The v2 files (`cpus.partition`, `cpus.exclusive`, `cpus.isolated`, ...) do not exist
//! on v1; the v2 `cpus` and `mems` are other files of the same names ([`v2`]).
//!
//! # Writes, in the order Linux checks
//!
//! `cpus` / `mems` (`cpuset_write_resmask`: `strstrip` first, so blanks around the list
//! are fine and `echo "" >` is the empty set):
//!
//! 1. the top cpuset (the root) is read-only: **`EACCES`** (`update_cpumask`:
//!    "top_cpuset.cpus_allowed tracks cpu_online_mask; it's read-only"), whatever is
//!    written;
//! 2. parse: empty → empty set, else `cpulist_parse` against `nr_cpu_ids` / `nodelist_parse`
//!    against `MAX_NUMNODES` ([`parse_cpuset_cpus`], [`parse_cpuset_mems`]): `EINVAL`
//!    (syntax), `ERANGE` (a CPU `>= nr_cpu_ids`, a node `>= MAX_NUMNODES`), `EOVERFLOW`;
//! 3. not within the top cpuset (the machine's CPUs / nodes): **`EINVAL`** (so a node that
//!    parses but does not exist is `EINVAL`);
//! 4. unchanged: success, nothing checked;
//! 5. `validate_change` (below).
//!
//! Flag files (`cpuset_write_u64`): `kstrtoull` on the raw buffer ([`write_u64_input`]),
//! then `cpuset_update_flag(bit, cs, int turning_on)`: only the low 32 bits count
//! ([`c_int_nonzero`]: `4294967296` turns a flag off), then `validate_change` on the trial
//! flags, **even when nothing changes**. The root's flags are writable.
//!
//! `sched_relax_domain_level` (`cpuset_write_s64`): `kstrtoll` on the raw buffer, then
//! `val < -1 || val > sched_domain_level_max + 1` is `EINVAL`. `sched_domain_level_max` is
//! the deepest scheduler-domain level the kernel built; for gpc's flat machine (one domain
//! level spanning every CPU) it is 0, so `-1..=1` are accepted (see
//! [`SCHED_DOMAIN_LEVEL_MAX`]).
//!
//! # `validate_change` on v1 (`cpuset1_validate_change` + the common part)
//!
//! 1. every child must stay a subset of the trial (`is_cpuset_subset`: cpus, mems, and an
//!    exclusive flag only where the parent has it): **`EBUSY`**;
//! 2. the trial must be a subset of the parent: **`EACCES`**;
//! 3. the root stops here;
//! 4. a populated container (tasks in it or below) cannot lose its last CPU or node:
//!    **`ENOSPC`**;
//! 5. (SCHED_DEADLINE bandwidth: `EBUSY`; gpc has no deadline tasks);
//! 6. a sibling's CPUs must not overlap when either is `cpu_exclusive`, nor its nodes when
//!    either is `mem_exclusive`: **`EINVAL`**.
//!
//! # Attach, create, clone
//!
//! - `cpuset_can_attach` → `cpuset_can_attach_check`: a container with no CPU or no node
//!   takes no task: **`ENOSPC`** (`tasks`, `cgroup.procs`). Then, for each task moved,
//!   `security_task_setscheduler` (`cap_safe_nice`, security/commoncap.c): unless the
//!   task's permitted capabilities are a subset of the writer's, the writer needs
//!   `CAP_SYS_NICE`, or the move fails with **`EPERM`** — so uid 0 without capabilities
//!   cannot move root's tasks between cpusets. gpc-core makes that check
//!   ([`Subsystem::ATTACH_NEEDS_SETSCHEDULER`]); a task already in the destination is not
//!   asked about.
//! - `cpuset_css_alloc`/`cpuset_css_online`: a child starts with **empty** masks,
//!   `sched_load_balance` on, `sched_relax_domain_level` -1, the parent's
//!   `memory_spread_page`/`memory_spread_slab`, everything else off.
//! - With `cgroup.clone_children` set (gpc calls [`Subsystem::post_clone`]), the child
//!   copies the parent's `cpus` and `mems` — unless some sibling is `cpu_exclusive` or
//!   `mem_exclusive` (then it keeps empty masks). Each state counts its exclusive children
//!   so that this needs no walk.
//! - The top cpuset: all CPUs and nodes of the machine, `cpu_exclusive`,
//!   `mem_exclusive` and `sched_load_balance` on, relax level -1.
//! - No fork hooks: `cpuset_can_fork` matters only for `CLONE_INTO_CGROUP`, and a gpc
//!   child always starts in its parent's cpuset.
//!
//! # Effective masks and the machine's size
//!
//! On v1 the effective masks equal the configured ones (`update_cpumasks_hier` computes
//! `cpus_allowed & parent->effective_cpus`, and the subset rule makes that the
//! configured mask; only CPU hotplug, which gpc does not model, makes them differ).
//!
//! A subsystem state is created before the host says how big the machine is, so "every
//! CPU / node" (the top cpuset, and a child cloned from it) is stored as such and
//! resolved against the size the host passes. Effect API for the host's scheduler and
//! allocator:
//!
//! - `pub fn effective_cpus(css: Css<'_, Cpuset>, nr_cpus: usize) -> CpuMask`
//! - `pub fn effective_mems(css: Css<'_, Cpuset>, nr_mems: usize) -> NodeMask`
//!
//! Both answer for either hierarchy: a cpuset on the unified one gives its v2 effective
//! masks ([`v2::effective_cpus`]: partition roots take CPUs from their siblings).
//!
//! # Not modelled
//!
//! `memory_pressure` reads 0: Linux's frequency meter (`fmeter`, cpuset-v1.c) counts
//! direct reclaims of the container's tasks per second, and gpc's hosts reclaim nothing.
//! Linux lets `cpus` take up to `100 + 6 * NR_CPUS` bytes and `mems` `100 + 6 *
//! MAX_NUMNODES` (`max_write_len`); gpc's core limits every write to a page.

use core::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

pub mod v2;

use crate::parse::{
    c_int_nonzero, parse_cpuset_cpus, parse_cpuset_mems, write_s64_input, write_u64_input, Bitmap,
    CpuMask, NodeMask,
};
use gpc_core::host::lock::IrqSpinLock;
use gpc_core::{CfFlags, CfType, Css, Error, FileCtxOf, Out, Result, Subsystem, TaskInfo};

/// The `cpuset` controller (Linux `cpuset_cgrp_subsys`).
pub struct Cpuset;

/// `sched_domain_level_max` of gpc's machine: one scheduler-domain level (0) spanning
/// every CPU. `sched_relax_domain_level` accepts `-1..=SCHED_DOMAIN_LEVEL_MAX + 1`.
pub const SCHED_DOMAIN_LEVEL_MAX: i64 = 0;

// Flag bits (`cpuset_flagbits_t` without CS_ONLINE).
const CPU_EXCLUSIVE: u8 = 1 << 0;
const MEM_EXCLUSIVE: u8 = 1 << 1;
const MEM_HARDWALL: u8 = 1 << 2;
const MEMORY_MIGRATE: u8 = 1 << 3;
const SCHED_LOAD_BALANCE: u8 = 1 << 4;
const SPREAD_PAGE: u8 = 1 << 5;
const SPREAD_SLAB: u8 = 1 << 6;
const EXCLUSIVE: u8 = CPU_EXCLUSIVE | MEM_EXCLUSIVE;

/// A `cpus` or `mems` setting.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Set<const W: usize> {
    /// Every CPU (node) of the machine, whatever its size.
    All,
    /// These.
    Mask(Bitmap<W>),
}

impl<const W: usize> Set<W> {
    /// The set on a machine with `n` CPUs (nodes).
    fn get(self, n: usize) -> Bitmap<W> {
        let all = Bitmap::full(n);
        match self {
            Set::All => all,
            Set::Mask(m) => m.and(&all),
        }
    }

    /// Empty (a machine has at least one CPU and one node, so "all" is not).
    fn is_empty(self) -> bool {
        match self {
            Set::All => false,
            Set::Mask(m) => m.is_empty(),
        }
    }
}

/// What `validate_change` and the files look at (Linux copies the whole `struct cpuset`
/// into a trial one).
#[derive(Clone, Copy)]
struct Config {
    cpus: Set<{ CpuMask::BITS / 64 }>,
    mems: Set<{ NodeMask::BITS / 64 }>,
    flags: u8,
    relax_domain_level: i32,
}

/// A [`Config`] with the masks resolved against the machine.
#[derive(Clone, Copy)]
struct Trial {
    cpus: CpuMask,
    mems: NodeMask,
    flags: u8,
}

/// Per-container state (Linux `struct cpuset`).
pub struct State {
    /// Changed under gpc's hierarchy lock (file writes, clone); read by the host at any
    /// time (Linux's `callback_lock`).
    config: IrqSpinLock<Config>,
    /// Children with `cpu_exclusive` or `mem_exclusive` (for `cpuset_css_online`'s
    /// clone check). Under the hierarchy lock.
    exclusive_children: AtomicUsize,
    /// `cpuset_memory_pressure_enabled` (a global in Linux; kept in the top cpuset).
    memory_pressure_enabled: AtomicBool,
    /// On the unified hierarchy (Linux `cpuset_v2()`), fixed at creation; the top
    /// cpuset's follows [`State::on_v1`].
    dfl: bool,
    /// The top cpuset is bound to a v1 hierarchy (gpc's `bind`); unused below the top.
    on_v1: AtomicBool,
    /// The v2 configuration and partition state ([`v2`]); same locking as `config`.
    v2: IrqSpinLock<v2::V2>,
    /// The machine's CPUs and nodes as the last v2 write saw them (top cpuset only; 0
    /// before any): for the hooks that are not told the machine's size.
    seen_cpus: AtomicUsize,
    seen_mems: AtomicUsize,
}

/// Whether `css` serves the unified hierarchy.
fn is_dfl(css: Css<'_, Cpuset>) -> bool {
    let st = css.state();
    if css.is_root() {
        !st.on_v1.load(Ordering::Relaxed)
    } else {
        st.dfl
    }
}

fn config(css: Css<'_, Cpuset>) -> Config {
    *css.state().config.lock()
}

fn trial_of(css: Css<'_, Cpuset>, nr_cpus: usize, nr_mems: usize) -> Trial {
    let c = config(css);
    Trial {
        cpus: c.cpus.get(nr_cpus),
        mems: c.mems.get(nr_mems),
        flags: c.flags,
    }
}

/// The CPUs the tasks of this container may run on, on a machine with `nr_cpus` CPUs
/// (on v2: [`v2::effective_cpus`]).
pub fn effective_cpus(css: Css<'_, Cpuset>, nr_cpus: usize) -> CpuMask {
    if is_dfl(css) {
        return v2::effective_cpus(css, nr_cpus);
    }
    config(css).cpus.get(nr_cpus)
}

/// The memory nodes the tasks of this container may allocate from, on a machine with
/// `nr_mems` nodes (on v2: [`v2::effective_mems`]).
pub fn effective_mems(css: Css<'_, Cpuset>, nr_mems: usize) -> NodeMask {
    if is_dfl(css) {
        return v2::effective_mems(css, nr_mems);
    }
    config(css).mems.get(nr_mems)
}

/// `is_cpuset_subset(p, q)` (cpuset-v1.c).
fn is_subset(p: &Trial, q: &Trial) -> bool {
    p.cpus.is_subset_of(&q.cpus)
        && p.mems.is_subset_of(&q.mems)
        && (p.flags & CPU_EXCLUSIVE == 0 || q.flags & CPU_EXCLUSIVE != 0)
        && (p.flags & MEM_EXCLUSIVE == 0 || q.flags & MEM_EXCLUSIVE != 0)
}

/// `validate_change` for a v1 hierarchy (see the module doc for the rules and errnos).
fn validate_change(ctx: &FileCtxOf<'_, Cpuset>, cur: &Trial, trial: &Trial) -> Result {
    let (nc, nm) = (ctx.nr_cpus(), ctx.nr_mems());
    // cpuset1_validate_change()
    if ctx
        .children()
        .any(|c| !is_subset(&trial_of(c, nc, nm), trial))
    {
        return Err(Error::EBUSY);
    }
    let Some(parent) = ctx.parent() else {
        // Remaining checks don't apply to the root cpuset.
        return Ok(());
    };
    if !is_subset(trial, &trial_of(parent, nc, nm)) {
        return Err(Error::EACCES);
    }
    if ctx.is_populated()
        && ((!cur.cpus.is_empty() && trial.cpus.is_empty())
            || (!cur.mems.is_empty() && trial.mems.is_empty()))
    {
        return Err(Error::ENOSPC);
    }
    for sibling in ctx.siblings() {
        let c = trial_of(sibling, nc, nm);
        if (trial.flags | c.flags) & CPU_EXCLUSIVE != 0 && trial.cpus.intersects(&c.cpus) {
            return Err(Error::EINVAL);
        }
        if (trial.flags | c.flags) & MEM_EXCLUSIVE != 0 && trial.mems.intersects(&c.mems) {
            return Err(Error::EINVAL);
        }
    }
    Ok(())
}

fn read_cpus(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", effective_cpus(ctx.css(), ctx.nr_cpus()))
}

fn read_mems(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", effective_mems(ctx.css(), ctx.nr_mems()))
}

/// `cpuset_write_resmask` → `update_cpumask`.
fn write_cpus(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    let css = ctx.css();
    if css.is_root() {
        return Err(Error::EACCES);
    }
    let (nc, nm) = (ctx.nr_cpus(), ctx.nr_mems());
    let cpus = parse_cpuset_cpus(data, nc)?;
    if !cpus.is_subset_of(&CpuMask::full(nc)) {
        return Err(Error::EINVAL);
    }
    let cur = trial_of(css, nc, nm);
    if cpus == cur.cpus {
        return Ok(());
    }
    validate_change(ctx, &cur, &Trial { cpus, ..cur })?;
    css.state().config.lock().cpus = Set::Mask(cpus);
    Ok(())
}

/// `cpuset_write_resmask` → `update_nodemask`.
fn write_mems(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    let css = ctx.css();
    if css.is_root() {
        return Err(Error::EACCES);
    }
    let (nc, nm) = (ctx.nr_cpus(), ctx.nr_mems());
    let mems = parse_cpuset_mems(data)?;
    if !mems.is_subset_of(&NodeMask::full(nm)) {
        return Err(Error::EINVAL);
    }
    let cur = trial_of(css, nc, nm);
    if mems == cur.mems {
        return Ok(());
    }
    validate_change(ctx, &cur, &Trial { mems, ..cur })?;
    css.state().config.lock().mems = Set::Mask(mems);
    Ok(())
}

/// `cpuset_read_u64` for a flag file.
fn read_flag<const BIT: u8>(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", u8::from(config(ctx.css()).flags & BIT != 0))
}

/// `cpuset_write_u64` → `cpuset_update_flag(bit, cs, val)`.
fn write_flag<const BIT: u8>(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    let turning_on = c_int_nonzero(write_u64_input(data)?);
    let css = ctx.css();
    let cur = trial_of(css, ctx.nr_cpus(), ctx.nr_mems());
    let flags = if turning_on {
        cur.flags | BIT
    } else {
        cur.flags & !BIT
    };
    validate_change(ctx, &cur, &Trial { flags, ..cur })?;
    css.state().config.lock().flags = flags;
    let (was, is) = (cur.flags & EXCLUSIVE != 0, flags & EXCLUSIVE != 0);
    if let (Some(parent), true) = (ctx.parent(), was != is) {
        let counter = &parent.state().exclusive_children;
        if is {
            counter.fetch_add(1, Ordering::Relaxed);
        } else {
            counter.fetch_sub(1, Ordering::Relaxed);
        }
    }
    Ok(())
}

/// `cpuset_read_s64` (`FILE_SCHED_RELAX_DOMAIN_LEVEL`).
fn read_relax(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", config(ctx.css()).relax_domain_level)
}

/// `cpuset_write_s64` → `update_relax_domain_level`.
fn write_relax(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    let val = write_s64_input(data)?;
    if !(-1..=SCHED_DOMAIN_LEVEL_MAX + 1).contains(&val) {
        return Err(Error::EINVAL);
    }
    let level = i32::try_from(val).map_err(|_| Error::EINVAL)?;
    ctx.css().state().config.lock().relax_domain_level = level;
    Ok(())
}

/// `FILE_MEMORY_PRESSURE`: `fmeter_getrate`, 0 without reclaim.
fn read_memory_pressure(_: &Cpuset, _: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    out.bytes(b"0\n")
}

/// `FILE_MEMORY_PRESSURE_ENABLED` read.
fn read_pressure_enabled(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, out: &mut Out<'_>) -> Result {
    writeln!(
        out,
        "{}",
        u8::from(
            ctx.css()
                .state()
                .memory_pressure_enabled
                .load(Ordering::Relaxed)
        )
    )
}

/// `FILE_MEMORY_PRESSURE_ENABLED` write: `cpuset_memory_pressure_enabled = !!val`.
fn write_pressure_enabled(_: &Cpuset, ctx: &FileCtxOf<'_, Cpuset>, data: &[u8]) -> Result {
    let val = write_u64_input(data)?;
    ctx.css()
        .state()
        .memory_pressure_enabled
        .store(val != 0, Ordering::Relaxed);
    Ok(())
}

/// v2 files are `dfl_files[]` only.
const DFL: CfFlags = CfFlags::ONLY_ON_DFL;
const DFL_NOT_ON_ROOT: CfFlags = CfFlags::ONLY_ON_DFL.union(CfFlags::NOT_ON_ROOT);

/// `cpuset1_files` (cpuset-v1.c), then `dfl_files[]` (cpuset.c; without the
/// `CFTYPE_DEBUG` `cpus.subpartitions`, shown only with the `cgroup_debug` boot flag).
static FILES: [CfType<Cpuset>; 22] = [
    CfType::rw("cpus", read_cpus, write_cpus),
    CfType::rw("mems", read_mems, write_mems),
    CfType::ro("effective_cpus", read_cpus),
    CfType::ro("effective_mems", read_mems),
    CfType::rw(
        "cpu_exclusive",
        read_flag::<CPU_EXCLUSIVE>,
        write_flag::<CPU_EXCLUSIVE>,
    ),
    CfType::rw(
        "mem_exclusive",
        read_flag::<MEM_EXCLUSIVE>,
        write_flag::<MEM_EXCLUSIVE>,
    ),
    CfType::rw(
        "mem_hardwall",
        read_flag::<MEM_HARDWALL>,
        write_flag::<MEM_HARDWALL>,
    ),
    CfType::rw(
        "sched_load_balance",
        read_flag::<SCHED_LOAD_BALANCE>,
        write_flag::<SCHED_LOAD_BALANCE>,
    ),
    CfType::rw("sched_relax_domain_level", read_relax, write_relax),
    CfType::rw(
        "memory_migrate",
        read_flag::<MEMORY_MIGRATE>,
        write_flag::<MEMORY_MIGRATE>,
    ),
    CfType::ro("memory_pressure", read_memory_pressure),
    CfType::rw(
        "memory_spread_page",
        read_flag::<SPREAD_PAGE>,
        write_flag::<SPREAD_PAGE>,
    ),
    CfType::rw(
        "memory_spread_slab",
        read_flag::<SPREAD_SLAB>,
        write_flag::<SPREAD_SLAB>,
    ),
    CfType::rw(
        "memory_pressure_enabled",
        read_pressure_enabled,
        write_pressure_enabled,
    )
    .with_flags(CfFlags::ONLY_ON_ROOT),
    CfType::rw("cpus", v2::read_cpus, v2::write_cpus).with_flags(DFL_NOT_ON_ROOT),
    CfType::rw("mems", v2::read_mems, v2::write_mems).with_flags(DFL_NOT_ON_ROOT),
    CfType::ro("cpus.effective", v2::read_effective_cpus).with_flags(DFL),
    CfType::ro("mems.effective", v2::read_effective_mems).with_flags(DFL),
    CfType::rw("cpus.partition", v2::read_partition, v2::write_partition)
        .with_flags(DFL_NOT_ON_ROOT),
    CfType::rw("cpus.exclusive", v2::read_exclusive, v2::write_exclusive)
        .with_flags(DFL_NOT_ON_ROOT),
    CfType::ro("cpus.exclusive.effective", v2::read_xcpus).with_flags(DFL_NOT_ON_ROOT),
    CfType::ro("cpus.isolated", v2::read_isolated)
        .with_flags(CfFlags::ONLY_ON_DFL.union(CfFlags::ONLY_ON_ROOT)),
];

impl Subsystem for Cpuset {
    type State = State;
    const NAME: &'static str = "cpuset";
    /// `cpuset_can_attach` calls `security_task_setscheduler` for each task (on v1
    /// always, whether or not the masks differ): moving a task whose permitted
    /// capabilities are not a subset of the writer's needs `CAP_SYS_NICE` (`EPERM`).
    const ATTACH_NEEDS_SETSCHEDULER: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `top_cpuset` for the root; `cpuset_css_alloc` + the flag part of
    /// `cpuset_css_online` for a child.
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<State> {
        let dfl = parent.map_or(true, is_dfl);
        let config = match parent {
            None => Config {
                cpus: Set::All,
                mems: Set::All,
                flags: CPU_EXCLUSIVE | MEM_EXCLUSIVE | SCHED_LOAD_BALANCE,
                relax_domain_level: -1,
            },
            Some(p) => Config {
                cpus: Set::Mask(CpuMask::new()),
                mems: Set::Mask(NodeMask::new()),
                flags: SCHED_LOAD_BALANCE | (config(p).flags & (SPREAD_PAGE | SPREAD_SLAB)),
                relax_domain_level: -1,
            },
        };
        Ok(State {
            // Irq-safe: the scheduler may ask for the allowed CPUs with interrupts off.
            config: gpc_core::new_irq_spinlock!(config, c"cpuset_config")?,
            exclusive_children: AtomicUsize::new(0),
            memory_pressure_enabled: AtomicBool::new(false),
            dfl,
            on_v1: AtomicBool::new(false),
            v2: gpc_core::new_irq_spinlock!(v2::V2::new(parent.is_none()), c"cpuset_v2")?,
            seen_cpus: AtomicUsize::new(0),
            seen_mems: AtomicUsize::new(0),
        })
    }

    /// The `CGRP_CPUSET_CLONE_CHILDREN` part of `cpuset_css_online`.
    fn post_clone(&self, css: Css<'_, Self>) {
        let Some(parent) = css.parent() else { return };
        if parent.state().exclusive_children.load(Ordering::Relaxed) != 0 {
            return;
        }
        let from = config(parent);
        let mut cfg = css.state().config.lock();
        cfg.cpus = from.cpus;
        cfg.mems = from.mems;
    }

    /// `cpuset_bind`: where the top cpuset serves (its v1 masks are "every CPU / node"
    /// either way, and the v2 ones are derived).
    fn bind(&self, root: Css<'_, Self>, mounted: bool) {
        root.state().on_v1.store(mounted, Ordering::Relaxed);
    }

    /// `cpuset_css_offline`: the parent loses an exclusive child; on v2
    /// `cpuset_css_killed` (`v2::destroy`).
    fn destroy(&self, css: Css<'_, Self>) {
        if is_dfl(css) {
            v2::destroy(css);
            return;
        }
        if let (Some(parent), true) = (css.parent(), config(css).flags & EXCLUSIVE != 0) {
            parent
                .state()
                .exclusive_children
                .fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// `cpuset_can_attach`: on v2 `security_task_setscheduler` is asked only when the
    /// effective CPUs or nodes of the two cpusets differ ("migration permission derives
    /// from hierarchy ownership").
    fn attach_needs_setscheduler(&self, from: Css<'_, Self>, to: Css<'_, Self>) -> bool {
        if !is_dfl(to) {
            return true;
        }
        let (nc, nm) = v2::machine_size(to);
        v2::effective_cpus(from, nc) != v2::effective_cpus(to, nc)
            || v2::effective_mems(from, nm) != v2::effective_mems(to, nm)
    }

    /// `cpuset_can_attach` → `cpuset_can_attach_check` (v2: `v2::can_attach`).
    fn can_attach(&self, task: &TaskInfo, _from: Css<'_, Self>, to: Css<'_, Self>) -> Result {
        if is_dfl(to) {
            return v2::can_attach(task, to);
        }
        let c = config(to);
        if c.cpus.is_empty() || c.mems.is_empty() {
            return Err(Error::ENOSPC);
        }
        Ok(())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;
    use gpc_core::Pid;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new(cpus: usize, mems: usize) -> World {
            World::with_options(cpus, mems, "cpuset")
        }

        fn with_options(cpus: usize, mems: usize, opts: &str) -> World {
            World(OneHierarchy::new(&[&Cpuset], opts, cpus, mems).unwrap())
        }

        fn move_to(&self, file: &str, pid: Pid) -> Result {
            self.write(file, std::format!("{pid}\n").as_bytes())
        }

        fn effective(&self, path: &str) -> (String, String) {
            self.gpc
                .with_container_css(self.h, path, 0, |c| {
                    let c = c.typed::<Cpuset>().unwrap();
                    (
                        std::format!("{}", effective_cpus(c, self.gpc.host().cpus)),
                        std::format!("{}", effective_mems(c, self.gpc.host().mems)),
                    )
                })
                .unwrap()
        }
    }

    #[test]
    fn transcript_cpuset_enospc() {
        let mut w = World::new(2, 1);
        w.gpc.mkdir(w.h, "a").unwrap();
        let a = w.fork(1).unwrap();
        assert_eq!(w.move_to("a/tasks", a), Err(Error::ENOSPC));
        w.write("a/cpuset.cpus", b"1\n").unwrap();
        assert_eq!(w.move_to("a/tasks", a), Err(Error::ENOSPC));
        w.write("a/cpuset.mems", b"0\n").unwrap();
        w.move_to("a/tasks", a).unwrap();
        assert_eq!(w.read("a/tasks").unwrap(), std::format!("{a}\n"));
        assert_eq!(w.read("a/cpuset.effective_cpus").unwrap(), "1\n");
        assert_eq!(w.read("a/cpuset.effective_mems").unwrap(), "0\n");
        assert_eq!(w.write("a/cpuset.cpus", b"\n"), Err(Error::ENOSPC));
        assert_eq!(w.write("a/cpuset.mems", b"\n"), Err(Error::ENOSPC));
        w.write("a/cpuset.cpus", b"0\n").unwrap();
        assert_eq!(w.read("a/cpuset.cpus").unwrap(), "0\n");
        let b = w.fork(a).unwrap();
        assert_eq!(w.read("a/tasks").unwrap(), std::format!("{a}\n{b}\n"));
        w.move_to("tasks", a).unwrap();
        w.move_to("tasks", b).unwrap();
        w.write("a/cpuset.cpus", b"\n").unwrap();
        assert_eq!(w.read("a/cpuset.cpus").unwrap(), "\n");
        assert_eq!(w.read("a/cpuset.effective_cpus").unwrap(), "\n");
        assert_eq!(w.move_to("a/cgroup.procs", a), Err(Error::ENOSPC));
        w.gpc.mkdir(w.h, "b").unwrap();
        w.write("b/cpuset.mems", b"0\n").unwrap();
        assert_eq!(w.move_to("b/tasks", a), Err(Error::ENOSPC));
    }

    /// Linux kernel/cgroup/cpuset.c `cpuset_can_attach` → `security_task_setscheduler` →
    /// security/commoncap.c `cap_safe_nice`: `EPERM` unless the task's permitted set is a
    /// subset of the writer's or the writer has `CAP_SYS_NICE`; after `ENOSPC`; never
    /// for a task already in the destination (kernel/cgroup/cgroup.c
    /// `cgroup_migrate_prepare_dst` drops it before any `can_attach`).
    #[test]
    fn moving_needs_the_right_to_change_scheduling() {
        use gpc_core::Creds;
        let mut w = World::new(2, 1);
        for g in ["a", "b"] {
            w.gpc.mkdir(w.h, g).unwrap();
            w.write(&std::format!("{g}/cpuset.cpus"), b"0-1\n").unwrap();
            w.write(&std::format!("{g}/cpuset.mems"), b"0\n").unwrap();
        }
        w.gpc.mkdir(w.h, "empty").unwrap();
        let root_task = w.fork(1).unwrap();
        let root_thread = w.thread(root_task).unwrap();
        let one = &mut w.0;
        let user_task = one
            .tasks
            .fork_as(&one.gpc, 1, false, Some(Creds::user(1000, 1000)))
            .unwrap();
        let write_as = |w: &World, creds: Creds, file: &str, pid: Pid| {
            let data = std::format!("{pid}\n");
            w.gpc
                .write(w.h, file, data.as_bytes(), &w.tasks.caller(creds, None))
        };
        let uid0 = Creds::user(0, 0);
        assert_eq!(write_as(&w, uid0, "a/tasks", root_task), Err(Error::EPERM));
        assert_eq!(
            write_as(&w, uid0, "a/cgroup.procs", root_task),
            Err(Error::EPERM)
        );
        assert_eq!(
            write_as(&w, uid0, "a/tasks", root_thread),
            Err(Error::EPERM)
        );
        assert_eq!(w.read("a/tasks").unwrap(), "");
        // The empty cpuset's ENOSPC comes first.
        assert_eq!(
            write_as(&w, uid0, "empty/tasks", root_task),
            Err(Error::ENOSPC)
        );
        // Empty permitted sets are subsets of each other.
        write_as(&w, uid0, "a/tasks", user_task).unwrap();
        write_as(&w, Creds::user(1000, 1000), "b/tasks", user_task).unwrap();
        // CAP_SYS_NICE alone is enough.
        let nice = Creds {
            cap_sys_nice: true,
            ..uid0
        };
        write_as(&w, nice, "a/tasks", root_thread).unwrap();
        // A task already in the destination is not asked about; the rest of the group is.
        assert_eq!(
            write_as(&w, uid0, "a/tasks", root_thread),
            Ok(()),
            "already there"
        );
        assert_eq!(
            write_as(&w, uid0, "a/cgroup.procs", root_task),
            Err(Error::EPERM)
        );
        assert_eq!(w.read("a/tasks").unwrap(), std::format!("{root_thread}\n"));
        write_as(&w, Creds::ROOT, "a/cgroup.procs", root_task).unwrap();
        assert_eq!(
            w.read("a/tasks").unwrap(),
            std::format!("{root_task}\n{root_thread}\n")
        );
        assert_eq!(
            write_as(&w, uid0, "a/cgroup.procs", root_task),
            Ok(()),
            "the whole group is already there"
        );
        // The host's own moves are the kernel's: not checked.
        w.0.move_to("b", root_task).unwrap();
    }

    #[test]
    fn files_and_defaults() {
        let w = World::new(2, 1);
        let root: Vec<String> = w
            .ls("")
            .into_iter()
            .filter(|n| n.starts_with("cpuset."))
            .collect();
        assert_eq!(
            root,
            [
                "cpuset.cpu_exclusive",
                "cpuset.cpus",
                "cpuset.effective_cpus",
                "cpuset.effective_mems",
                "cpuset.mem_exclusive",
                "cpuset.mem_hardwall",
                "cpuset.memory_migrate",
                "cpuset.memory_pressure",
                "cpuset.memory_pressure_enabled",
                "cpuset.memory_spread_page",
                "cpuset.memory_spread_slab",
                "cpuset.mems",
                "cpuset.sched_load_balance",
                "cpuset.sched_relax_domain_level"
            ]
        );
        for (f, v) in [
            ("cpus", "0-1\n"),
            ("mems", "0\n"),
            ("effective_cpus", "0-1\n"),
            ("effective_mems", "0\n"),
            ("cpu_exclusive", "1\n"),
            ("mem_exclusive", "1\n"),
            ("mem_hardwall", "0\n"),
            ("sched_load_balance", "1\n"),
            ("sched_relax_domain_level", "-1\n"),
            ("memory_migrate", "0\n"),
            ("memory_pressure", "0\n"),
            ("memory_spread_page", "0\n"),
            ("memory_spread_slab", "0\n"),
            ("memory_pressure_enabled", "0\n"),
        ] {
            assert_eq!(w.read(&std::format!("cpuset.{f}")).unwrap(), v, "root {f}");
        }
        w.gpc.mkdir(w.h, "a").unwrap();
        let child: Vec<String> = w
            .ls("a")
            .into_iter()
            .filter(|n| n.starts_with("cpuset."))
            .collect();
        assert_eq!(child.len(), 13);
        assert!(!child.iter().any(|n| n == "cpuset.memory_pressure_enabled"));
        for (f, v) in [
            ("cpus", "\n"),
            ("mems", "\n"),
            ("effective_cpus", "\n"),
            ("effective_mems", "\n"),
            ("cpu_exclusive", "0\n"),
            ("mem_exclusive", "0\n"),
            ("sched_load_balance", "1\n"),
            ("sched_relax_domain_level", "-1\n"),
            ("memory_pressure", "0\n"),
        ] {
            assert_eq!(
                w.read(&std::format!("a/cpuset.{f}")).unwrap(),
                v,
                "child {f}"
            );
        }
        assert_eq!(
            w.read("a/cpuset.memory_pressure_enabled"),
            Err(Error::ENOENT)
        );
        for ro in ["effective_cpus", "effective_mems", "memory_pressure"] {
            assert_eq!(
                w.write(&std::format!("a/cpuset.{ro}"), b"0\n"),
                Err(Error::EINVAL),
                "{ro}"
            );
        }
        assert_eq!(w.effective(""), ("0-1".into(), "0".into()));
        assert_eq!(w.effective("a"), ("".into(), "".into()));
    }

    #[test]
    fn root_masks_are_read_only() {
        let w = World::new(4, 2);
        for data in [&b"0\n"[..], b"0-3", b"\n", b"garbage", b"99"] {
            assert_eq!(w.write("cpuset.cpus", data), Err(Error::EACCES), "{data:?}");
            assert_eq!(w.write("cpuset.mems", data), Err(Error::EACCES), "{data:?}");
        }
        assert_eq!(w.read("cpuset.cpus").unwrap(), "0-3\n");
        assert_eq!(w.read("cpuset.mems").unwrap(), "0-1\n");
    }

    #[test]
    fn mask_parsing_hostile_values() {
        let w = World::new(2, 1);
        w.gpc.mkdir(w.h, "a").unwrap();
        let f = "a/cpuset.cpus";
        for (input, shown) in [
            (&b"0-1\n"[..], "0-1\n"),
            (b"  1 \n", "1\n"),
            (b"0,1", "0-1\n"),
            (b"1,0,1", "0-1\n"),
            (b"all", "0-1\n"),
            (b"N", "1\n"),
            (b"0-1:1/2", "0\n"),
            (b"1\0junk", "1\n"),
            (b"\t\n", "\n"),
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.read(f).unwrap(), shown, "{input:?}");
        }
        for bad in [
            &b"x"[..],
            b"-1",
            b"1-",
            b"1-0",
            b"0x1",
            b"+1",
            b"1;0",
            b"0-1:",
            b"0-1:0/0",
            b"1 x",
        ] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        for far in [&b"2"[..], b"0-2", b"255", b"4294967294"] {
            assert_eq!(w.write(f, far), Err(Error::ERANGE), "{far:?}");
        }
        assert_eq!(w.write(f, b"4294967296"), Err(Error::EOVERFLOW));
        assert_eq!(
            w.write(f, b"99999999999999999999999"),
            Err(Error::EOVERFLOW)
        );
        assert_eq!(w.read(f).unwrap(), "\n", "failed writes change nothing");
        let m = "a/cpuset.mems";
        w.write(m, b"0").unwrap();
        assert_eq!(
            w.write(m, b"1"),
            Err(Error::EINVAL),
            "parses (< MAX_NUMNODES), not on the machine"
        );
        assert_eq!(w.write(m, b"1023"), Err(Error::EINVAL));
        assert_eq!(w.write(m, b"1024"), Err(Error::ERANGE));
        assert_eq!(w.write(m, b"zero"), Err(Error::EINVAL));
        assert_eq!(w.read(m).unwrap(), "0\n");
        let mut long = Vec::new();
        for _ in 0..600 {
            long.extend_from_slice(b"0,");
        }
        w.write(m, &long).unwrap();
        assert_eq!(w.read(m).unwrap(), "0\n");
    }

    #[test]
    fn subset_rules() {
        let w = World::new(4, 2);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        w.write("a/cpuset.cpus", b"0-1").unwrap();
        w.write("a/cpuset.mems", b"0").unwrap();
        assert_eq!(
            w.write("a/b/cpuset.cpus", b"2"),
            Err(Error::EACCES),
            "not within the parent"
        );
        assert_eq!(w.write("a/b/cpuset.cpus", b"1-2"), Err(Error::EACCES));
        assert_eq!(w.write("a/b/cpuset.mems", b"1"), Err(Error::EACCES));
        w.write("a/b/cpuset.cpus", b"1").unwrap();
        w.write("a/b/cpuset.mems", b"0").unwrap();
        assert_eq!(
            w.write("a/cpuset.cpus", b"0"),
            Err(Error::EBUSY),
            "a child would stick out"
        );
        assert_eq!(w.write("a/cpuset.mems", b"1"), Err(Error::EBUSY));
        assert_eq!(
            w.write("a/cpuset.cpus", b"\n"),
            Err(Error::EBUSY),
            "EBUSY before ENOSPC"
        );
        w.write("a/cpuset.cpus", b"1-3").unwrap();
        w.write("a/cpuset.cpus", b"1-3").unwrap();
        // Unpopulated: a parent may not empty itself under a child, but a childless
        // container may.
        assert_eq!(
            w.write("a/b/cpuset.cpus", b""),
            Ok(()),
            "a 0-byte write does nothing"
        );
        assert_eq!(w.write("a/cpuset.cpus", b"\n"), Err(Error::EBUSY));
        w.write("a/b/cpuset.cpus", b"\n").unwrap();
        w.write("a/b/cpuset.mems", b"\n").unwrap();
        w.write("a/cpuset.cpus", b"\n").unwrap();
        assert_eq!(w.read("a/cpuset.cpus").unwrap(), "\n");
    }

    #[test]
    fn populated_means_the_subtree() {
        let mut w = World::new(2, 1);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        for p in ["a", "a/b"] {
            w.write(&std::format!("{p}/cpuset.cpus"), b"0").unwrap();
            w.write(&std::format!("{p}/cpuset.mems"), b"0").unwrap();
        }
        let t = w.fork(1).unwrap();
        w.move_to("a/b/tasks", t).unwrap();
        assert_eq!(w.write("a/b/cpuset.cpus", b"\n"), Err(Error::ENOSPC));
        // The parent is populated through its child; the child's subset rule fires first.
        assert_eq!(w.write("a/cpuset.cpus", b"\n"), Err(Error::EBUSY));
        w.write("a/cpuset.cpus", b"0-1").unwrap();
        w.exit(t).unwrap();
        w.write("a/b/cpuset.cpus", b"\n").unwrap();
    }

    #[test]
    fn exclusive_siblings() {
        let w = World::new(4, 2);
        for c in ["a", "b"] {
            w.gpc.mkdir(w.h, c).unwrap();
        }
        w.write("a/cpuset.cpus", b"0-1").unwrap();
        w.write("b/cpuset.cpus", b"1-2").unwrap();
        assert_eq!(
            w.write("a/cpuset.cpu_exclusive", b"1"),
            Err(Error::EINVAL),
            "overlaps b"
        );
        w.write("b/cpuset.cpus", b"2-3").unwrap();
        w.write("a/cpuset.cpu_exclusive", b"1").unwrap();
        assert_eq!(w.read("a/cpuset.cpu_exclusive").unwrap(), "1\n");
        assert_eq!(
            w.write("b/cpuset.cpus", b"1-3"),
            Err(Error::EINVAL),
            "a is exclusive"
        );
        w.gpc.mkdir(w.h, "a/c").unwrap();
        assert_eq!(
            w.write("a/c/cpuset.mem_exclusive", b"1"),
            Err(Error::EACCES),
            "parent not mem_exclusive"
        );
        w.write("a/c/cpuset.cpu_exclusive", b"1").unwrap();
        assert_eq!(
            w.write("a/cpuset.cpu_exclusive", b"0"),
            Err(Error::EBUSY),
            "an exclusive child"
        );
        assert_eq!(
            w.write("cpuset.cpu_exclusive", b"0"),
            Err(Error::EBUSY),
            "root too"
        );
        w.write("cpuset.mem_exclusive", b"0").unwrap();
        assert_eq!(w.read("cpuset.mem_exclusive").unwrap(), "0\n");
        assert_eq!(w.write("a/cpuset.mem_exclusive", b"1"), Err(Error::EACCES));
        w.write("cpuset.mem_exclusive", b"1").unwrap();
        // Memory exclusivity compares nodes.
        w.write("a/cpuset.mems", b"0").unwrap();
        w.write("b/cpuset.mems", b"0-1").unwrap();
        assert_eq!(w.write("a/cpuset.mem_exclusive", b"1"), Err(Error::EINVAL));
        w.write("b/cpuset.mems", b"1").unwrap();
        w.write("a/cpuset.mem_exclusive", b"1").unwrap();
        // Writing the value a flag already has still validates.
        w.write("b/cpuset.cpus", b"").unwrap();
        w.write("b/cpuset.cpu_exclusive", b"1").unwrap();
        assert_eq!(w.write("a/c/cpuset.cpu_exclusive", b"1"), Ok(()));
    }

    #[test]
    fn flag_files_parse_like_write_u64() {
        let w = World::new(2, 1);
        w.gpc.mkdir(w.h, "a").unwrap();
        let f = "a/cpuset.memory_migrate";
        for (input, shown) in [
            (&b"1\n"[..], "1\n"),
            (b"0", "0\n"),
            (b"2", "1\n"),
            (b"0x10", "1\n"),
            (b"4294967296", "0\n"),
            (b"4294967297", "1\n"),
            (b"+0", "0\n"),
            (b"18446744073709551615", "1\n"),
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.read(f).unwrap(), shown, "{input:?}");
        }
        for bad in [&b" 1"[..], b"1 ", b"-1", b"\n", b"yes", b"1\n\n", b"0x"] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.write(f, b"18446744073709551616"), Err(Error::ERANGE));
        for flag in [
            "mem_hardwall",
            "sched_load_balance",
            "memory_spread_page",
            "memory_spread_slab",
        ] {
            let f = std::format!("a/cpuset.{flag}");
            w.write(&f, b"1").unwrap();
            assert_eq!(w.read(&f).unwrap(), "1\n");
            w.write(&f, b"0").unwrap();
            assert_eq!(w.read(&f).unwrap(), "0\n");
        }
        let p = "cpuset.memory_pressure_enabled";
        w.write(p, b"4294967296").unwrap();
        assert_eq!(w.read(p).unwrap(), "1\n", "!!val, not (int)val");
        w.write(p, b"0").unwrap();
        assert_eq!(w.read(p).unwrap(), "0\n");
        assert_eq!(w.write(p, b"on"), Err(Error::EINVAL));
    }

    #[test]
    fn relax_domain_level() {
        let w = World::new(2, 1);
        w.gpc.mkdir(w.h, "a").unwrap();
        let f = "a/cpuset.sched_relax_domain_level";
        for (input, shown) in [
            (&b"0\n"[..], "0\n"),
            (b"1", "1\n"),
            (b"-1", "-1\n"),
            (b"-0", "0\n"),
            (b"+1", "1\n"),
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.read(f).unwrap(), shown, "{input:?}");
        }
        for bad in [&b"2"[..], b"-2", b" 1", b"1 ", b"\n", b"--1", b"4294967295"] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.write(f, b"9223372036854775808"), Err(Error::ERANGE));
        assert_eq!(w.write(f, b"-9223372036854775809"), Err(Error::ERANGE));
        w.write("cpuset.sched_relax_domain_level", b"1").unwrap();
        assert_eq!(w.read("cpuset.sched_relax_domain_level").unwrap(), "1\n");
    }

    #[test]
    fn clone_children_and_inherited_flags() {
        let w = World::with_options(4, 2, "cpuset,clone_children");
        w.write("cpuset.memory_spread_page", b"1").unwrap();
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(
            w.read("a/cpuset.cpus").unwrap(),
            "0-3\n",
            "cloned from the top"
        );
        assert_eq!(w.read("a/cpuset.mems").unwrap(), "0-1\n");
        assert_eq!(w.read("a/cpuset.memory_spread_page").unwrap(), "1\n");
        assert_eq!(w.read("a/cpuset.memory_spread_slab").unwrap(), "0\n");
        assert_eq!(w.effective("a"), ("0-3".into(), "0-1".into()));
        w.write("a/cpuset.cpus", b"0-1").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        assert_eq!(w.read("a/b/cpuset.cpus").unwrap(), "0-1\n");
        // An exclusive sibling stops the cloning.
        w.write("a/cpuset.cpu_exclusive", b"1").unwrap();
        w.gpc.mkdir(w.h, "c").unwrap();
        assert_eq!(w.read("c/cpuset.cpus").unwrap(), "\n");
        assert_eq!(w.read("c/cpuset.mems").unwrap(), "\n");
        w.write("a/cpuset.cpu_exclusive", b"0").unwrap();
        w.gpc.mkdir(w.h, "d").unwrap();
        assert_eq!(w.read("d/cpuset.cpus").unwrap(), "0-3\n");
        // An exclusive sibling that is removed stops stopping it.
        w.gpc.rmdir(w.h, "d").unwrap();
        w.gpc.mkdir(w.h, "e").unwrap();
        assert_eq!(
            w.write("e/cpuset.cpu_exclusive", b"1"),
            Err(Error::EINVAL),
            "overlaps a"
        );
        w.write("e/cpuset.cpus", b"2").unwrap();
        w.write("e/cpuset.cpu_exclusive", b"1").unwrap();
        w.gpc.mkdir(w.h, "f").unwrap();
        assert_eq!(w.read("f/cpuset.cpus").unwrap(), "\n");
        w.gpc.rmdir(w.h, "e").unwrap();
        w.gpc.mkdir(w.h, "g").unwrap();
        assert_eq!(w.read("g/cpuset.cpus").unwrap(), "0-3\n");
        // Clearing clone_children on a container stops it for its children.
        w.write("a/cgroup.clone_children", b"0").unwrap();
        w.gpc.mkdir(w.h, "a/x").unwrap();
        assert_eq!(w.read("a/x/cpuset.cpus").unwrap(), "\n");
    }

    #[test]
    fn effective_masks_follow_writes() {
        let w = World::new(8, 4);
        w.gpc.mkdir(w.h, "a").unwrap();
        w.write("a/cpuset.cpus", b"1-3,6").unwrap();
        w.write("a/cpuset.mems", b"2-3").unwrap();
        assert_eq!(w.effective("a"), ("1-3,6".into(), "2-3".into()));
        assert_eq!(w.read("a/cpuset.effective_cpus").unwrap(), "1-3,6\n");
        assert_eq!(w.read("a/cpuset.effective_mems").unwrap(), "2-3\n");
        assert_eq!(w.effective(""), ("0-7".into(), "0-3".into()));
    }
}
