//! The page allocator's memory exports (`include/gpc.h`, "Memory"): charges that reclaim
//! before they fail and call the OOM killer when reclaim cannot help, uncharges and page
//! state changes, the kernel's own reclaim, and the OOM killer for the kernel's own
//! shortage.
//!
//! The split is gpc-core's (`gpc_core::host::reclaim`): gpc-subsystems' memory controller
//! keeps the counters and decides, the kernel owns the pages and acts. A charge runs the
//! loop of Linux's `try_charge_memcg` (mm/memcontrol.c), as `memory::reclaim`'s module doc
//! describes it:
//!
//! 1. `try_charge_pages` on the task's group, lock-free (RCU);
//! 2. refused: reclaim from the refusing level's subtree (`try_to_free_mem_cgroup_pages`:
//!    `Gpc::with_css_subtree` under the hierarchy mutex, the kernel freeing pages through
//!    `gpc_reclaim_pages`), and try again while there is room (`mem_cgroup_margin`), while
//!    reclaim makes progress for a small charge, or `MAX_RECLAIM_RETRIES` times;
//! 3. then, for a charge of at most 8 pages (`PAGE_ALLOC_COSTLY_ORDER`), the OOM killer
//!    of that level (`mem_cgroup_oom` → `mem_cgroup_out_of_memory`): an `oom` event; with v1's `oom_kill_disable` no kill (a user fault waits); otherwise
//!    `oom_victim` over the footprints of the processes of the level's subtree
//!    (`gpc_task_footprint`), `memory.oom.group`, `oom_kill` events, `gpc_kill_task`. The
//!    kill is asynchronous, as in Linux: the charge returns `-EAGAIN` and the kernel tries
//!    again once the victim has exited (a task of the domain already dying is waited for,
//!    not joined by a second victim: `oom_evaluate_task`'s `tsk_is_oom_victim` abort);
//! 4. charged: the levels above `memory.high` are reclaimed and the task's throttle is
//!    reported (`mem_cgroup_handle_over_high`).
//!
//! Locks: the try and the NOWAIT charge take none (an RCU read-side section); reclaim
//! runs under gpc's hierarchy mutex with no spinlock held, so `gpc_reclaim_pages` may
//! sleep; the OOM walk runs under the hierarchy mutex and the css_group table's
//! spinlock, so `gpc_task_footprint`, `gpc_fatal_signal_pending` and `gpc_kill_task` are
//! called in atomic context. No import may call back into gpc.

use core::ffi::{c_int, c_uint};
use core::iter::once;

use gpc_core::host::reclaim::Lru;
use gpc_core::options::V2Options;
use gpc_core::{Css, Error, SubsysId};
use gpc_subsystems::memory::stats::{self, Event};
use gpc_subsystems::memory::{self, reclaim, Memory};

use crate::abi::{
    GpcMemCharge, GpcTask, GPC_LRU_ACTIVE_ANON, GPC_LRU_ACTIVE_FILE, GPC_LRU_INACTIVE_ANON,
    GPC_LRU_INACTIVE_FILE, GPC_MEM_FLAGS, GPC_MEM_NOWAIT, GPC_MEM_NO_OOM, GPC_MEM_ROOT,
    GPC_MEM_USER_FAULT, GPC_MEM_WAIT_OOM, GPC_MEM_WAIT_VICTIM, GPC_OOM_UNKILLABLE,
};
use crate::exports::{instance, Instance};
use crate::{ffi, host};

type Result<T = (), E = Error> = core::result::Result<T, E>;

/// `1 << PAGE_ALLOC_COSTLY_ORDER`: a charge of at most this many pages is retried as
/// long as reclaim frees something (`try_charge_memcg`), and only such a charge calls
/// the OOM killer (`mem_cgroup_oom`).
const COSTLY_PAGES: u64 = 8;

/// The most rounds (each one reclaim walk) one call makes: a bound for a charge whose
/// reclaimed pages other charges keep taking (Linux retries such a small charge for as
/// long as reclaim makes progress).
const MAX_ROUNDS: u32 = 1 << 12;

fn neg(e: Error) -> c_int {
    e.to_errno().wrapping_neg()
}

fn status(r: Result) -> c_int {
    r.map_or_else(neg, |()| 0)
}

/// A `GPC_LRU_*` value.
fn lru_of(lru: c_int) -> Result<Lru> {
    Ok(match lru {
        GPC_LRU_INACTIVE_ANON => Lru::InactiveAnon,
        GPC_LRU_ACTIVE_ANON => Lru::ActiveAnon,
        GPC_LRU_INACTIVE_FILE => Lru::InactiveFile,
        GPC_LRU_ACTIVE_FILE => Lru::ActiveFile,
        _ => return Err(Error::EINVAL),
    })
}

fn memory_ss(g: &Instance) -> Result<SubsysId> {
    g.enforce.memory().ok_or(Error::EINVAL)
}

fn recursive_prot(g: &Instance) -> bool {
    g.gpc
        .v2_options()
        .contains(V2Options::MEMORY_RECURSIVE_PROT)
}

/// A group id as the kernel gives it: `GPC_MEM_ROOT` is the root state's id now.
fn resolve(g: &Instance, ss: SubsysId, id: u64) -> Result<u64> {
    if id == GPC_MEM_ROOT {
        g.gpc.root_css_id(ss).ok_or(Error::EINVAL)
    } else {
        Ok(id)
    }
}

/// `f` on `task`'s memory group now, inside an RCU read-side section: `-EINVAL` for a
/// null task (and, in debug builds, one of another instance, as `gpc_task_css`),
/// `-ESRCH` for one not attached.
///
/// # Safety
///
/// `task` is null or a live task whose slot was initialised.
unsafe fn with_task_memcg<T>(
    g: &Instance,
    ss: SubsysId,
    task: *mut GpcTask,
    f: impl FnOnce(Css<'_, Memory>) -> T,
) -> Result<T> {
    // SAFETY: forwarded.
    let slot = unsafe { host::task_slot(task) }.ok_or(Error::EINVAL)?;
    let guard = g.gpc.rcu_read_lock();
    let css = g.gpc.task_css(&guard, slot, ss).ok_or(Error::ESRCH)?;
    if cfg!(debug_assertions) && !g.gpc.owns_task(&guard, slot) {
        return Err(Error::EINVAL);
    }
    let css = css.typed::<Memory>().ok_or(Error::EINVAL)?;
    Ok(f(css))
}

/// `f` on the memory group whose id is `id` (`GPC_MEM_ROOT`: the root), under the
/// hierarchy mutex: `-ENOENT` when it is gone.
fn with_memcg<T>(
    g: &Instance,
    ss: SubsysId,
    id: u64,
    f: impl FnOnce(Css<'_, Memory>) -> T,
) -> Result<T> {
    let id = resolve(g, ss, id)?;
    g.gpc
        .with_css_by_container_id(ss, id, |c| c.typed::<Memory>().map(f))
        .flatten()
        .ok_or(Error::ENOENT)
}

/// `f` on the group an export names: `task`'s group now when `task` is not null
/// (lock-free), else the group `group` (under the hierarchy mutex).
///
/// # Safety
///
/// As for [`with_task_memcg`].
unsafe fn with_target<T>(
    g: &Instance,
    task: *mut GpcTask,
    group: u64,
    f: impl FnOnce(Css<'_, Memory>) -> T,
) -> Result<T> {
    let ss = memory_ss(g)?;
    if task.is_null() {
        with_memcg(g, ss, group, f)
    } else {
        // SAFETY: forwarded.
        unsafe { with_task_memcg(g, ss, task, f) }
    }
}

/// Reclaim `req.nr` pages from the subtree of group `id` (`try_to_free_mem_cgroup_pages`
/// over `mem_cgroup_iter`'s walk) through the kernel's `gpc_reclaim_pages`, under the
/// hierarchy mutex. Returns the pages freed and the target's margin after.
///
/// # Errors
///
/// `ENOENT` (the group is gone), `ENOMEM` (no room for the list of groups: nothing was
/// reclaimed).
fn reclaim_subtree(
    g: &Instance,
    ss: SubsysId,
    id: u64,
    req: &reclaim::Request,
) -> Result<(u64, u64)> {
    let id = resolve(g, ss, id)?;
    g.gpc
        .with_css_subtree(ss, id, |groups| {
            let list = reclaim::typed_groups(groups)?;
            let freed = reclaim::reclaim(&list, req, g.gpc.host());
            Ok((freed, list.first().map_or(0, |t| reclaim::margin(*t))))
        })
        .ok_or(Error::ENOENT)?
}

/// A reclaim request for a charge or for `memory.high` (`MEMCG_RECLAIM_MAY_SWAP` unless
/// the `memsw` limit refused).
fn direct_request(g: &Instance, nr: u64, may_swap: bool) -> reclaim::Request {
    reclaim::Request::direct(nr, may_swap, false, recursive_prot(g))
}

// ---------------------------------------------------------------------------------
// The OOM killer.
// ---------------------------------------------------------------------------------

/// Who asks the OOM killer, and what for.
#[derive(Clone, Copy)]
struct OomAsk {
    /// The allocating process (thread-group id), if any: its own death fails its
    /// allocation.
    me: Option<u32>,
    /// The allocating task is dying already (`task_is_dying`): it kills nobody.
    me_dying: bool,
    /// A user fault that may wait in a group whose OOM killer is disabled: the group is
    /// marked under OOM (`memcg1_oom_prepare` and `mem_cgroup_oom_synchronize`).
    may_wait: bool,
    /// Only while the group is above its limit (a limit write's OOM: `memory_max_write`).
    only_over_limit: bool,
}

/// What one OOM step did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Oom {
    /// Processes asked to die (`gpc_kill_task`), and whether the asking one was among
    /// them.
    Killed { killed: u32, me: bool },
    /// A process of the domain is dying already: its memory comes back; nobody else is
    /// killed meanwhile.
    Dying,
    /// The group's OOM killer is disabled (v1 `oom_kill_disable`).
    Disabled,
    /// Nothing can be killed (or the asking task is dying itself).
    Nothing,
    /// The group is within its limit (`only_over_limit`).
    Fits,
}

/// The task a slot of a walk belongs to, with its thread id and thread-group id.
fn walk_task(slot: &gpc_core::TaskSlot) -> (*mut GpcTask, u32, u32) {
    let t = host::slot_task(slot);
    // SAFETY: the walk hands out slots linked to this instance's css_groups, whose tasks
    // are alive while linked (the walk holds their lists' locks); the accessors neither
    // sleep nor call gpc.
    let ids = unsafe { (ffi::gpc_task_pid(t), ffi::gpc_task_tgid(t)) };
    (t, ids.0, ids.1)
}

/// The task's OOM footprint (`gpc_task_footprint`).
fn footprint(t: *mut GpcTask) -> u64 {
    // SAFETY: a live task of the walk (see `walk_task`); the import may be called in
    // atomic context.
    unsafe { ffi::gpc_task_footprint(t) }
}

/// `SIGKILL` to the task's process: whether the kernel took it.
fn kill(t: *mut GpcTask) -> bool {
    // SAFETY: as in `footprint` (the import's contract allows atomic context).
    unsafe { ffi::gpc_kill_task(t) == 0 }
}

/// One step of the OOM killer of group `domain` (`mem_cgroup_oom` →
/// `mem_cgroup_out_of_memory` → `select_bad_process` over `mem_cgroup_scan_tasks`, then
/// `oom_kill_process` with `mem_cgroup_get_oom_group`). Processes are their thread-group
/// leaders (`CSS_TASK_ITER_PROCS`); the victim is `oom_victim` over their footprints.
///
/// # Errors
///
/// `ENOENT`: the group is gone.
fn out_of_memory(g: &Instance, ss: SubsysId, domain: u64, ask: OomAsk) -> Result<Oom> {
    let domain = resolve(g, ss, domain)?;
    with_memcg(g, ss, domain, |_| ())?;
    let step = g.gpc.with_css_subtree_tasks(ss, domain, |tasks| {
        let Some(dom) = tasks.css().typed::<Memory>() else {
            return Oom::Nothing;
        };
        if ask.only_over_limit {
            let m = dom.state().memory_counter();
            if m.usage() <= m.max() {
                return Oom::Fits;
            }
        }
        reclaim::record_oom(dom);
        if memory::oom_kill_disabled(dom) {
            if ask.may_wait {
                reclaim::mark_under_oom(dom, true);
            }
            return Oom::Disabled;
        }
        if ask.me_dying {
            return Oom::Nothing;
        }
        // select_bad_process.
        let mut chosen: Option<(u32, u64)> = None;
        let mut dying = false;
        tasks.for_each(&mut |slot, _| {
            let (t, pid, tgid) = walk_task(slot);
            if pid != tgid {
                return;
            }
            let points = footprint(t);
            if points == GPC_OOM_UNKILLABLE {
                return;
            }
            // SAFETY: as in `footprint`.
            if unsafe { ffi::gpc_fatal_signal_pending(t) } {
                dying = true;
                return;
            }
            let best = chosen.map(|c| (c, c.1));
            chosen = reclaim::oom_victim(best.into_iter().chain(once(((tgid, points), points))));
        });
        if dying {
            return Oom::Dying;
        }
        let Some((victim, _)) = chosen else {
            return Oom::Nothing;
        };
        // oom_kill_process: the victim, or its memory.oom.group.
        let mut found = false;
        let mut group = None;
        let mut killed = 0u32;
        let mut me = false;
        tasks.for_each(&mut |slot, css| {
            let (t, pid, tgid) = walk_task(slot);
            if found || pid != tgid || tgid != victim {
                return;
            }
            found = true;
            let Some(vcss) = css.typed::<Memory>() else {
                return;
            };
            let in_domain = vcss.ancestors_and_self().find(|l| l.same(dom));
            match reclaim::oom_group(vcss, in_domain) {
                Some(gr) => {
                    reclaim::record_oom_group_kill(gr);
                    group = Some(gr.container_id());
                }
                None => {
                    if kill(t) {
                        reclaim::record_oom_kill(vcss);
                        killed = 1;
                        me = ask.me == Some(tgid);
                    }
                }
            }
        });
        if !found {
            // It exited since the selection: its memory is coming back.
            return Oom::Dying;
        }
        if let Some(gid) = group {
            // oom_kill_memcg_member over the group: every killable process of it.
            tasks.for_each(&mut |slot, css| {
                let (t, pid, tgid) = walk_task(slot);
                if pid != tgid {
                    return;
                }
                let Some(c) = css.typed::<Memory>() else {
                    return;
                };
                if !c.ancestors_and_self().any(|l| l.container_id() == gid) {
                    return;
                }
                if footprint(t) == GPC_OOM_UNKILLABLE || !kill(t) {
                    return;
                }
                reclaim::record_oom_kill(c);
                killed = killed.saturating_add(1);
                me |= ask.me == Some(tgid);
            });
        }
        if killed == 0 {
            // The kernel could not kill (a kernel without signals).
            return Oom::Nothing;
        }
        Oom::Killed { killed, me }
    });
    // None: the root state of a memory controller on no hierarchy (no container holds
    // its tasks).
    Ok(step.unwrap_or(Oom::Nothing))
}

/// The OOM killer a file write asked for (`PageReclaim::request_oom_kill`: v2's
/// `memory.max` set below what reclaim could free), once the write has returned: one
/// step while the group is above its limit. Linux's `memory_max_write` loops until the
/// group fits; the kill is asynchronous here, so a later step is the next charge's.
pub(crate) fn oom_after_write(g: &Instance, tasks: &host::KTasks<'_>) {
    let Some(id) = tasks.take_oom_request() else {
        return;
    };
    let Ok(ss) = memory_ss(g) else { return };
    let ask = OomAsk {
        me: None,
        me_dying: false,
        may_wait: false,
        only_over_limit: true,
    };
    // The write succeeded; what the OOM did shows in memory.events.
    let _ = out_of_memory(g, ss, id, ask);
}

// ---------------------------------------------------------------------------------
// memory.high.
// ---------------------------------------------------------------------------------

/// `mem_cgroup_handle_over_high` for `task`, which charged `nr` pages: reclaim every
/// level from its group up that is above `memory.high` (`reclaim_high`, a `high` event
/// each), retrying as Linux does, and return the throttle (`calculate_high_delay`, ms)
/// with the pages freed, and the error that cut the reclaim short, if one did.
///
/// # Safety
///
/// As for [`with_task_memcg`].
unsafe fn handle_over_high(
    g: &Instance,
    ss: SubsysId,
    task: *mut GpcTask,
    nr: u64,
) -> (u64, u64, Option<Error>) {
    let mut total = 0u64;
    let mut in_retry = false;
    let mut retries = reclaim::MAX_RECLAIM_RETRIES;
    for _ in 0..MAX_ROUNDS {
        let want = if in_retry {
            reclaim::SWAP_CLUSTER_MAX
        } else {
            nr.max(1)
        };
        let mut freed = 0u64;
        let mut level = 0usize;
        loop {
            // The level now (the task may move meanwhile), above memory.high or not.
            // SAFETY: forwarded.
            let step = unsafe {
                with_task_memcg(g, ss, task, |css| {
                    let l = css
                        .ancestors_and_self()
                        .nth(level)
                        .filter(|l| !l.is_root())?;
                    let st = l.state();
                    Some((st.memory_counter().usage() > st.high()).then(|| {
                        stats::event(l, Event::High);
                        l.container_id()
                    }))
                })
            };
            let id = match step {
                Ok(Some(id)) => id,
                Ok(None) => break,
                Err(e) => return (0, total, Some(e)),
            };
            level = level.saturating_add(1);
            let Some(id) = id else { continue };
            match reclaim_subtree(g, ss, id, &direct_request(g, want, true)) {
                Ok((f, _)) => freed = freed.saturating_add(f),
                Err(Error::ENOENT) => {}
                Err(e) => {
                    total = total.saturating_add(freed);
                    // SAFETY: forwarded.
                    let delay =
                        unsafe { with_task_memcg(g, ss, task, |c| reclaim::high_delay_ms(c, nr)) };
                    return (delay.unwrap_or(0), total, Some(e));
                }
            }
        }
        total = total.saturating_add(freed);
        // SAFETY: forwarded.
        let delay = match unsafe { with_task_memcg(g, ss, task, |c| reclaim::high_delay_ms(c, nr)) }
        {
            Ok(d) => d,
            Err(e) => return (0, total, Some(e)),
        };
        if delay == 0 {
            return (0, total, None);
        }
        // "if (nr_reclaimed || nr_retries--) goto retry_reclaim"
        if freed == 0 {
            if retries == 0 {
                return (delay, total, None);
            }
            retries = retries.saturating_sub(1);
        }
        in_retry = true;
    }
    // SAFETY: forwarded.
    let delay = unsafe { with_task_memcg(g, ss, task, |c| reclaim::high_delay_ms(c, nr)) };
    (delay.unwrap_or(0), total, None)
}

// ---------------------------------------------------------------------------------
// The charge.
// ---------------------------------------------------------------------------------

/// `try_charge_memcg` + `commit_charge` for `nr` pages of `task` on `lru`; see the
/// module doc. `res` is filled in as far as the charge got.
///
/// # Safety
///
/// As for [`with_task_memcg`]; `task` is not null.
unsafe fn charge(
    g: &Instance,
    ss: SubsysId,
    task: *mut GpcTask,
    nr: u64,
    lru: Lru,
    flags: c_uint,
    res: &mut GpcMemCharge,
) -> Result {
    let mut retries = reclaim::MAX_RECLAIM_RETRIES;
    for _ in 0..MAX_ROUNDS {
        // SAFETY: forwarded.
        let attempt = unsafe {
            with_task_memcg(g, ss, task, |css| {
                match reclaim::try_charge_pages(css, nr) {
                    Ok(()) => {
                        reclaim::commit(css, nr, lru);
                        let high = nr > 0 && reclaim::over_high(css).next().is_some();
                        Ok((css.container_id(), high))
                    }
                    Err(over) => Err((over.css.container_id(), over.memsw)),
                }
            })
        }?;
        let (over, memsw) = match attempt {
            Ok((group, high)) => {
                res.group = group;
                if high {
                    if flags & GPC_MEM_NOWAIT != 0 {
                        res.over_high = nr;
                    } else {
                        // SAFETY: forwarded.
                        let (delay, freed, err) = unsafe { handle_over_high(g, ss, task, nr) };
                        res.high_delay_ms = delay;
                        res.reclaimed = res.reclaimed.saturating_add(freed);
                        if err == Some(Error::ENOMEM) {
                            // The charge stands; the kernel retries the reclaim later.
                            res.over_high = nr;
                        }
                    }
                }
                return Ok(());
            }
            Err(x) => x,
        };
        res.group = over;
        if flags & GPC_MEM_NOWAIT != 0 {
            return Err(Error::ENOMEM);
        }
        let req = direct_request(g, nr.max(reclaim::SWAP_CLUSTER_MAX), !memsw);
        let (freed, room) = match reclaim_subtree(g, ss, over, &req) {
            Ok(r) => r,
            // The refusing group went away (the task moved on): try again.
            Err(Error::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        res.reclaimed = res.reclaimed.saturating_add(freed);
        if room >= nr || (freed > 0 && nr <= COSTLY_PAGES) {
            continue;
        }
        if retries > 0 {
            retries = retries.saturating_sub(1);
            continue;
        }
        // mem_cgroup_oom: "if (order > PAGE_ALLOC_COSTLY_ORDER) return false": a large
        // charge never kills (the kernel falls back to smaller pieces), so no size a
        // caller passes can empty a group.
        if flags & GPC_MEM_NO_OOM != 0 || nr > COSTLY_PAGES {
            return Err(Error::ENOMEM);
        }
        // SAFETY: `task` is live (the caller's contract).
        let ask = unsafe {
            OomAsk {
                me: Some(ffi::gpc_task_tgid(task)),
                me_dying: ffi::gpc_fatal_signal_pending(task),
                may_wait: flags & GPC_MEM_USER_FAULT != 0,
                only_over_limit: false,
            }
        };
        let oom = match out_of_memory(g, ss, over, ask) {
            Ok(o) => o,
            Err(Error::ENOENT) => continue,
            Err(e) => return Err(e),
        };
        return oom_result(oom, ask, res);
    }
    Err(Error::ENOMEM)
}

/// The result of a charge or `gpc_mem_oom` whose OOM step did `oom`.
fn oom_result(oom: Oom, ask: OomAsk, res: &mut GpcMemCharge) -> Result {
    match oom {
        Oom::Killed { killed, me } => {
            res.killed = killed;
            if me {
                return Err(Error::ENOMEM);
            }
            res.wait = GPC_MEM_WAIT_VICTIM;
            Err(Error::EAGAIN)
        }
        Oom::Dying => {
            res.wait = GPC_MEM_WAIT_VICTIM;
            Err(Error::EAGAIN)
        }
        Oom::Disabled if ask.may_wait => {
            res.wait = GPC_MEM_WAIT_OOM;
            Err(Error::EAGAIN)
        }
        Oom::Disabled | Oom::Nothing | Oom::Fits => Err(Error::ENOMEM),
    }
}

/// Charge `nr_pages` new pages of list `lru` (`GPC_LRU_*`) to `task`'s memory group and
/// its ancestors, reclaiming and calling the OOM killer as Linux's `try_charge_memcg`
/// does (see the module doc); `flags` are `GPC_MEM_*`. `*out` is written whenever `out`
/// is not null: the group charged (or refusing), the `memory.high` throttle, the pages
/// reclaimed, the processes killed, and with `-EAGAIN` what to wait for. Returns 0,
/// `-ENOMEM` (nothing charged: no room and nothing to kill, `GPC_MEM_NOWAIT` or
/// `GPC_MEM_NO_OOM`, more than 8 pages, the caller was the victim, v1's
/// `oom_kill_disable` outside a user fault, or no memory for reclaim's list), `-EAGAIN` (nothing charged: `out->wait`
/// says what to wait for before trying again), `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task; `out` null
/// or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_charge(
    g: *const Instance,
    task: *mut GpcTask,
    nr_pages: u64,
    lru: c_int,
    flags: c_uint,
    out: *mut GpcMemCharge,
) -> c_int {
    let mut res = GpcMemCharge::default();
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if out.is_null() || task.is_null() || flags & !GPC_MEM_FLAGS != 0 {
            return Err(Error::EINVAL);
        }
        let lru = lru_of(lru)?;
        let ss = memory_ss(g)?;
        // SAFETY: forwarded; `task` is not null.
        unsafe { charge(g, ss, task, nr_pages, lru, flags, &mut res) }
    })();
    if !out.is_null() {
        // SAFETY: not null, writable (the caller's contract).
        unsafe { out.write(res) };
    }
    status(r)
}

/// `mem_cgroup_handle_over_high` for a charge made with `GPC_MEM_NOWAIT` (its
/// `over_high` pages), from process context: reclaim the levels of `task`'s group above
/// `memory.high` and write the throttle in ms to `*delay_ms`. Returns 0, `-ENOMEM` (no
/// room for reclaim's list: `*delay_ms` is what the usage asks for without it),
/// `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_mem_charge`]; `delay_ms` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_handle_over_high(
    g: *const Instance,
    task: *mut GpcTask,
    nr_pages: u64,
    delay_ms: *mut u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if delay_ms.is_null() || task.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = memory_ss(g)?;
        // SAFETY: forwarded.
        let (delay, _, err) = unsafe { handle_over_high(g, ss, task, nr_pages) };
        if let Some(e @ (Error::EINVAL | Error::ESRCH)) = err {
            return Err(e);
        }
        // SAFETY: not null, writable (the caller's contract).
        unsafe { delay_ms.write(delay) };
        err.map_or(Ok(()), Err)
    })())
}

// ---------------------------------------------------------------------------------
// Uncharges and page states.
// ---------------------------------------------------------------------------------

/// Free `nr_pages` resident pages of list `lru` charged to a group
/// (`mem_cgroup_uncharge`): `task`'s group now when `task` is not null (lock-free, any
/// context), else the group `group` (as `gpc_mem_charge` reported it; `GPC_MEM_ROOT`
/// the root), looked up under the hierarchy mutex. Counters stop at 0. Returns 0,
/// `-ENOENT` (no such group), `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task.
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_uncharge(
    g: *const Instance,
    task: *mut GpcTask,
    group: u64,
    nr_pages: u64,
    lru: c_int,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let lru = lru_of(lru)?;
        // SAFETY: forwarded.
        unsafe {
            with_target(g, task, group, |c| {
                reclaim::uncharge_pages(c, nr_pages, lru)
            })
        }
    })())
}

/// Free `nr_pages` of a group's pages that are out on swap (`mem_cgroup_uncharge_swap`:
/// the page was freed, or swapped in and charged again). The group as for
/// [`gpc_mem_uncharge`]. Returns 0, `-ENOENT`, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_mem_uncharge`].
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_uncharge_swap(
    g: *const Instance,
    task: *mut GpcTask,
    group: u64,
    nr_pages: u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        unsafe { with_target(g, task, group, |c| reclaim::uncharge_swap(c, nr_pages)) }
    })())
}

/// `nr_pages` of a group moved from list `from` to `to` of the same kind (activation:
/// `folio_activate`, `pgactivate`; deactivation: `pgdeactivate`). The group as for
/// [`gpc_mem_uncharge`]. Returns 0, `-EINVAL` (also `from == to`, or lists of
/// different kinds), `-ENOENT`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_mem_uncharge`].
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_move(
    g: *const Instance,
    task: *mut GpcTask,
    group: u64,
    nr_pages: u64,
    from: c_int,
    to: c_int,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let (from, to) = (lru_of(from)?, lru_of(to)?);
        if from == to || from.is_file() != to.is_file() {
            return Err(Error::EINVAL);
        }
        // SAFETY: forwarded.
        unsafe {
            with_target(g, task, group, |c| {
                reclaim::move_pages(c, nr_pages, from, to)
            })
        }
    })())
}

/// `nr_pages` page-cache pages of a group became dirty (`dirty`: Linux
/// `folio_account_dirtied`) or were cleaned without writeback (`folio_cancel_dirty`).
/// The group as for [`gpc_mem_uncharge`]. Returns 0, `-ENOENT`, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_mem_uncharge`].
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_dirty(
    g: *const Instance,
    task: *mut GpcTask,
    group: u64,
    nr_pages: u64,
    dirty: bool,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        unsafe { with_target(g, task, group, |c| reclaim::set_dirty(c, nr_pages, dirty)) }
    })())
}

/// `nr_pages` dirty pages of a group started writeback (`started`: the flusher's
/// `folio_start_writeback`) or finished it, clean (`folio_end_writeback`). Pages whose
/// writeback reclaim started (`gpc_reclaim_pages`' `*writeback`) are already counted:
/// the kernel reports only their end. The group as for [`gpc_mem_uncharge`]. Returns 0,
/// `-ENOENT`, `-EINVAL`, `-ESRCH`.
///
/// # Safety
///
/// As for [`gpc_mem_uncharge`].
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_writeback(
    g: *const Instance,
    task: *mut GpcTask,
    group: u64,
    nr_pages: u64,
    started: bool,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        // SAFETY: forwarded.
        unsafe {
            with_target(g, task, group, |c| {
                reclaim::set_writeback(c, nr_pages, started)
            })
        }
    })())
}

// ---------------------------------------------------------------------------------
// The kernel's own shortage.
// ---------------------------------------------------------------------------------

/// The kernel's own reclaim (its free lists ran low: Linux `try_to_free_pages` from
/// `__alloc_pages_slowpath`, or kswapd): reclaim `nr_pages` from the subtree of `group`
/// (`GPC_MEM_ROOT`: every group), v1 soft limits first, every group's swappiness
/// allowing swap (`Request::global`). Writes the pages freed to `*reclaimed`. May sleep.
/// Returns 0, `-ENOENT`, `-ENOMEM` (no room for the list of groups), `-EINVAL`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `reclaimed` null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_reclaim(
    g: *const Instance,
    group: u64,
    nr_pages: u64,
    reclaimed: *mut u64,
) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if reclaimed.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = memory_ss(g)?;
        let req = reclaim::Request::direct(nr_pages, true, true, recursive_prot(g));
        let (freed, _) = if nr_pages == 0 {
            with_memcg(g, ss, group, |_| (0, 0))?
        } else {
            reclaim_subtree(g, ss, group, &req)?
        };
        // SAFETY: not null, writable (the caller's contract).
        unsafe { reclaimed.write(freed) };
        Ok(())
    })())
}

/// The OOM killer of `group` for the kernel (`GPC_MEM_ROOT`: the whole machine, Linux
/// `out_of_memory` from the page allocator; a group: after its own reclaim failed), on
/// behalf of `task` (the allocating task, or null). `*out` is written whenever `out` is
/// not null (`killed`, `wait`). Returns 0 (`out->killed` processes asked to die: retry
/// once they have exited), `-EAGAIN` (nothing killed: a process of the group is dying
/// already, `GPC_MEM_WAIT_VICTIM`, or the group's OOM killer is disabled,
/// `GPC_MEM_WAIT_OOM`, with no mark to undo), `-ENOMEM` (nothing to kill; or `task`
/// was the victim, or is dying: its allocation fails), `-ENOENT`, `-EINVAL`, `-ESRCH`.
/// May sleep.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance; `task` null or a live task; `out`
/// null or writable.
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_oom(
    g: *const Instance,
    group: u64,
    task: *mut GpcTask,
    out: *mut GpcMemCharge,
) -> c_int {
    let mut res = GpcMemCharge::default();
    let r = (|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        if out.is_null() {
            return Err(Error::EINVAL);
        }
        let ss = memory_ss(g)?;
        let ask = if task.is_null() {
            OomAsk {
                me: None,
                me_dying: false,
                may_wait: false,
                only_over_limit: false,
            }
        } else {
            // The task must be this instance's (its group is not needed).
            // SAFETY: forwarded.
            unsafe { with_task_memcg(g, ss, task, |_| ()) }?;
            // SAFETY: live (the caller's contract).
            unsafe {
                OomAsk {
                    me: Some(ffi::gpc_task_tgid(task)),
                    me_dying: ffi::gpc_fatal_signal_pending(task),
                    may_wait: false,
                    only_over_limit: false,
                }
            }
        };
        res.group = resolve(g, ss, group)?;
        match out_of_memory(g, ss, group, ask)? {
            Oom::Killed { killed, me: false } => {
                res.killed = killed;
                Ok(())
            }
            Oom::Disabled => {
                res.wait = GPC_MEM_WAIT_OOM;
                Err(Error::EAGAIN)
            }
            o => oom_result(o, ask, &mut res),
        }
    })();
    if !out.is_null() {
        // SAFETY: not null, writable (the caller's contract).
        unsafe { out.write(res) };
    }
    status(r)
}

/// A task that `gpc_mem_charge` sent to wait (`GPC_MEM_WAIT_OOM`) in `group`'s OOM stops
/// waiting (woken to retry, killed, or giving up): `memory.oom_control`'s `under_oom`
/// drops once no task waits (Linux `mem_cgroup_unmark_under_oom` in
/// `mem_cgroup_oom_synchronize`). May sleep. Returns 0, `-ENOENT` (the group is gone),
/// `-EINVAL`.
///
/// # Safety
///
/// `g` null, an error pointer or a live instance.
#[no_mangle]
pub unsafe extern "C" fn gpc_mem_oom_wait_done(g: *const Instance, group: u64) -> c_int {
    status((|| {
        // SAFETY: forwarded.
        let g = unsafe { instance(g) }?;
        let ss = memory_ss(g)?;
        with_memcg(g, ss, group, |c| reclaim::mark_under_oom(c, false))
    })())
}
