//! The machine's memory: `alloc`, `free`, `readfile`, `writefile`, the reclaim that makes
//! room and the OOM killer, `drop_caches`, writeback while `run` advances the clock.
//!
//! The loop of a charge is `try_charge_memcg`'s (gpc-subsystems' `memory::reclaim`
//! module doc): take what fits under every limit and in free memory; when nothing fits,
//! reclaim (the machine's own memory first when it is full, then the group that refused),
//! and when reclaim frees nothing, run the OOM killer of the group (or the machine) and
//! try again. The pages come in chunks: as many as fit at once, which is what Linux's
//! page-by-page faults come to when reclaim frees the oldest pages first, at a cost that
//! follows the number of reclaim rounds, not the number of pages.

use alloc::vec::Vec;

use gpc_core::host::reclaim::Lru;
use gpc_core::{Css, Error, Pid, Result};
use gpc_subsystems::memory::{self, reclaim, Memory};

use super::{Machine, Platform};
use crate::mm::{self, AnonCharge, Dirt, Pages, Run, PAGE_SIZE};

/// The most reclaim and OOM rounds one command may take (each is a walk over the
/// groups): an allocation or read that would need more fails with `ENOMEM` (a
/// hostile size against a tiny limit, e.g. a terabyte through a page of room).
pub const MAX_CHARGE_ROUNDS: u32 = 1 << 16;

/// What a charge did.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Charged {
    /// All pages are in.
    Done,
    /// The task waits for memory in a group whose OOM killer is disabled (v1
    /// `oom_kill_disable`), with this many pages still to come, in the OOM of this
    /// group (container id).
    Waiting(u64, u64),
}

/// A task waiting in a group's OOM (v1 `oom_kill_disable`): its `alloc` goes on when
/// memory is freed there.
#[derive(Debug)]
pub(super) struct OomWaiter {
    pub pid: Pid,
    /// Pages still to charge, and the bytes of the `alloc` they belong to.
    pub pages: u64,
    pub bytes: u64,
    /// The group whose OOM it waits in (container id).
    pub group: u64,
}

impl<P: Platform> Machine<P> {
    /// Call `f` with the memory state of `pid`'s group (`None` without a `memory`
    /// controller).
    fn with_task_memcg<R>(
        &self,
        pid: Pid,
        f: impl FnOnce(Css<'_, Memory>) -> R,
    ) -> Result<Option<R>> {
        let Some(ss) = self.ids.memory else {
            return Ok(None);
        };
        let slot = self.task_slot(pid)?;
        let guard = self.gpc.rcu_read_lock();
        let css = self
            .gpc
            .task_state::<Memory>(&guard, slot, ss)
            .ok_or(Error::ESRCH)?;
        Ok(Some(f(css)))
    }

    /// Call `f` with the memory state of the group `id` (a container id), or the root's
    /// when that group is gone.
    pub(super) fn with_memcg<R>(&self, id: u64, f: impl FnOnce(Css<'_, Memory>) -> R) -> Option<R> {
        let ss = self.ids.memory?;
        let mut f = Some(f);
        let r = self.gpc.with_css_by_container_id(ss, id, |css| {
            css.typed::<Memory>().and_then(|c| f.take().map(|f| f(c)))
        });
        if let Some(Some(r)) = r {
            return Some(r);
        }
        let init = self.tasks.get(1)?;
        let guard = self.gpc.rcu_read_lock();
        let root = self
            .gpc
            .task_state::<Memory>(&guard, &init.slot, ss)?
            .ancestors_and_self()
            .last()?;
        f.take().map(|f| f(root))
    }

    /// Call `f` with the state of the first live group of `chain` (or the root's).
    pub(super) fn with_owner<R>(
        &self,
        chain: &[u64],
        f: impl FnOnce(Css<'_, Memory>) -> R,
    ) -> Option<R> {
        let owner = self.mm.borrow().owner(chain).unwrap_or(0);
        self.with_memcg(owner, f)
    }

    /// Keep [`crate::mm::Mm::root_id`] on the memory controller's root state.
    fn refresh_root_id(&self) {
        if let Some(id) = self.with_memcg(u64::MAX, |c| c.container_id()) {
            if let Ok(mut mm) = self.mm.try_borrow_mut() {
                mm.root_id = id;
            }
        }
    }

    /// Reclaim `nr` pages from the subtree of group `id` (the whole machine for the root
    /// state under global pressure).
    fn reclaim_group(&self, id: u64, req: &reclaim::Request) -> u64 {
        let Some(ss) = self.ids.memory else {
            // Without a memory controller the machine still has its pages: drop clean
            // cache and swap anonymous memory directly.
            let pages = Pages(&self.mm);
            let root = self.mm.borrow().root_id;
            let mut freed = 0;
            for lru in [Lru::InactiveFile, Lru::ActiveFile, Lru::InactiveAnon] {
                if freed >= req.nr {
                    break;
                }
                // (No borrow of the pages may be held across this call.)
                let r = gpc_core::host::reclaim::PageReclaim::reclaim(
                    &pages,
                    root,
                    lru,
                    req.nr - freed,
                );
                freed += r.freed;
            }
            return freed;
        };
        self.refresh_root_id();
        let pages = Pages(&self.mm);
        self.gpc
            .with_css_subtree(ss, id, |groups| {
                // Without room for the list, nothing is reclaimed (the charge goes on to
                // the OOM killer, as after a fruitless reclaim).
                reclaim::typed_groups(groups).map_or(0, |list| reclaim::reclaim(&list, req, &pages))
            })
            .unwrap_or(0)
    }

    /// The container id of the memory root state.
    fn memcg_root_id(&self) -> u64 {
        self.with_memcg(u64::MAX, |c| c.container_id()).unwrap_or(0)
    }

    fn recursive_prot(&self) -> bool {
        self.gpc
            .v2_options()
            .contains(gpc_core::options::V2Options::MEMORY_RECURSIVE_PROT)
    }

    /// Charge `n` pages to `pid`'s group for list `lru`, making room as Linux does; `put`
    /// records each chunk that came in (its pages and the chain they were charged to).
    /// `fault`: the charge is a page fault (an `alloc`), which may wait in a v1 OOM.
    ///
    /// # Errors
    ///
    /// `ENOMEM`: nothing could make room, or the OOM killer took `pid` itself (it has
    /// exited then). The chunks already in stay (as the pages a fault loop brought in).
    pub(super) fn charge(
        &mut self,
        pid: Pid,
        n: u64,
        lru: Lru,
        fault: bool,
        prepare: &mut dyn FnMut(&mut Self) -> Result,
        put: &mut dyn FnMut(&mut Self, u64, Vec<u64>),
    ) -> Result<Charged> {
        let mut left = n;
        let mut rounds = 0u32;
        let mut over_high_pages = 0u64;
        while left > 0 {
            rounds += 1;
            if rounds > MAX_CHARGE_ROUNDS {
                return Err(Error::ENOMEM);
            }
            // Room for the next chunk's record, before anything is charged.
            prepare(self)?;
            // The machine's own memory first (`__alloc_pages` before the charge).
            let free = self.mm.borrow().free();
            if free == 0 {
                let req = reclaim::Request::direct(
                    left.max(reclaim::SWAP_CLUSTER_MAX),
                    true,
                    true,
                    self.recursive_prot(),
                );
                if self.reclaim_group(self.memcg_root_id(), &req) > 0
                    || self.wait_writeback(None) > 0
                {
                    continue;
                }
                self.oom_kill_in(None, pid)?;
                continue;
            }
            let chunk = left.min(free);
            let attempt = self.with_task_memcg(pid, |css| {
                let margin = reclaim::margin(css);
                let take = chunk.min(margin);
                let take = if take == 0 { chunk.min(1) } else { take };
                // Room for the record first: once charged, nothing may fail.
                let mut chain = Vec::new();
                let levels = css.ancestors_and_self().count();
                if chain.try_reserve_exact(levels).is_err() {
                    return Err(Error::ENOMEM);
                }
                match reclaim::try_charge_pages(css, take) {
                    Ok(()) => {
                        reclaim::commit(css, take, lru);
                        chain.extend(css.ancestors_and_self().map(|c| c.container_id()));
                        let high = reclaim::over_high(css).next().is_some();
                        Ok(Ok((take, chain, high)))
                    }
                    Err(over) => Ok(Err((over.css.container_id(), over.memsw))),
                }
            })?;
            match attempt {
                // No memory controller: the machine's memory alone.
                None => {
                    let mut chain = Vec::new();
                    chain.try_reserve_exact(1)?;
                    chain.push(0);
                    put(self, chunk, chain);
                    left -= chunk;
                }
                Some(Err(e)) => return Err(e),
                Some(Ok(Ok((take, chain, high)))) => {
                    put(self, take, chain);
                    left -= take;
                    if high {
                        over_high_pages += take;
                    }
                }
                Some(Ok(Err((over_id, memsw)))) => {
                    let req = reclaim::Request::direct(
                        left.max(reclaim::SWAP_CLUSTER_MAX),
                        !memsw,
                        false,
                        self.recursive_prot(),
                    );
                    if self.reclaim_group(over_id, &req) > 0
                        || self.wait_writeback(Some(over_id)) > 0
                    {
                        continue;
                    }
                    // Out of memory in that group.
                    let disabled = self
                        .with_memcg(over_id, |c| {
                            reclaim::record_oom(c);
                            memory::oom_kill_disabled(c)
                        })
                        .unwrap_or(false);
                    if disabled {
                        if fault {
                            self.with_memcg(over_id, |c| reclaim::mark_under_oom(c, true));
                            return Ok(Charged::Waiting(left, over_id));
                        }
                        return Err(Error::ENOMEM);
                    }
                    self.oom_kill_in(Some(over_id), pid)?;
                }
            }
        }
        if over_high_pages > 0 {
            self.handle_over_high(pid, over_high_pages);
        }
        Ok(Charged::Done)
    }

    /// `mem_cgroup_handle_over_high`: reclaim the levels above `memory.high` (a `high`
    /// event each time), and if that does not bring them back, the task sleeps.
    fn handle_over_high(&mut self, pid: Pid, nr: u64) {
        let mut in_retry = false;
        for _ in 0..MAX_CHARGE_ROUNDS {
            let levels = self
                .with_task_memcg(pid, |css| {
                    let mut v: Vec<(u64, u64)> = Vec::new();
                    for (l, excess) in reclaim::over_high(css) {
                        if v.try_reserve(1).is_err() {
                            break;
                        }
                        memory::stats::event(l, memory::stats::Event::High);
                        v.push((l.container_id(), excess));
                    }
                    v
                })
                .ok()
                .flatten()
                .unwrap_or_default();
            if levels.is_empty() {
                return;
            }
            let mut freed = 0;
            for (id, _) in levels {
                let nr = if in_retry {
                    reclaim::SWAP_CLUSTER_MAX
                } else {
                    nr.max(1)
                };
                let req = reclaim::Request::direct(nr, true, false, self.recursive_prot());
                freed += self.reclaim_group(id, &req);
            }
            let delay = self
                .with_task_memcg(pid, |css| reclaim::high_delay_ms(css, nr))
                .ok()
                .flatten()
                .unwrap_or(0);
            if delay == 0 {
                return;
            }
            if freed == 0 {
                // Linux retries a fruitless reclaim; here it would find nothing again.
                let until = self
                    .clock_ns
                    .saturating_add(delay.saturating_mul(1_000_000));
                if self.sim.try_reserve(1).is_ok() {
                    let st = self.sim.entry(pid).or_default();
                    st.throttled_until_ns = st.throttled_until_ns.max(until);
                }
                return;
            }
            in_retry = true;
        }
    }

    /// The OOM killer of group `group` (`None`: the machine's), for a charge of `pid`:
    /// kills the process with the largest footprint there, with its `memory.oom.group`.
    ///
    /// # Errors
    ///
    /// `ENOMEM` when nothing can be killed, or `pid` itself was killed.
    fn oom_kill_in(&mut self, group: Option<u64>, pid: Pid) -> Result {
        if group.is_none() {
            let root = self.memcg_root_id();
            self.with_memcg(root, reclaim::record_oom);
        }
        let victims = self.oom_select(group)?;
        if victims.is_empty() {
            return Err(Error::ENOMEM);
        }
        let me = self.tasks.get(pid).map(|t| t.tgid);
        let mut killed_me = false;
        for tgid in victims {
            killed_me |= Some(tgid) == me;
            self.oom_kill_process(tgid);
        }
        if killed_me || self.tasks.get(pid).is_none() {
            return Err(Error::ENOMEM);
        }
        Ok(())
    }

    /// The processes an OOM in `group` (`None`: the machine) kills: the largest, or all
    /// of its `memory.oom.group`.
    fn oom_select(&self, group: Option<u64>) -> Result<Vec<Pid>> {
        let mut cands: Vec<(Pid, u64)> = Vec::new();
        let ss = self.ids.memory;
        {
            let guard = self.gpc.rcu_read_lock();
            let mm = self.mm.borrow();
            for t in self.tasks.iter() {
                if t.tgid == 1 || cands.iter().any(|&(p, _)| p == t.tgid) {
                    continue; // init is unkillable; a process counts once
                }
                let inside = match (group, ss) {
                    (None, _) => true,
                    (Some(id), Some(ss)) => self
                        .gpc
                        .task_state::<Memory>(&guard, &t.slot, ss)
                        .is_some_and(|c| c.ancestors_and_self().any(|l| l.container_id() == id)),
                    (Some(_), None) => false,
                };
                if !inside {
                    continue;
                }
                let points = self
                    .tasks
                    .thread_group(t.tgid)
                    .fold(0u64, |a, x| a.saturating_add(mm.footprint(x.pid)));
                cands.try_reserve(1)?;
                cands.push((t.tgid, points));
            }
        }
        cands.sort_by_key(|&(p, _)| p);
        let Some(victim) = reclaim::oom_victim(cands.iter().copied()) else {
            return Ok(Vec::new());
        };
        // memory.oom.group: the victim's group up to the OOM domain.
        let mut out = Vec::new();
        let oom_group = ss.and_then(|ss| {
            let t = self.tasks.get(victim)?;
            let guard = self.gpc.rcu_read_lock();
            let css = self.gpc.task_state::<Memory>(&guard, &t.slot, ss)?;
            let domain =
                group.and_then(|id| css.ancestors_and_self().find(|l| l.container_id() == id));
            reclaim::oom_group(css, domain).map(|g| {
                reclaim::record_oom_group_kill(g);
                g.container_id()
            })
        });
        match (oom_group, ss) {
            (Some(gid), Some(ss)) => {
                let guard = self.gpc.rcu_read_lock();
                for t in self.tasks.iter() {
                    if t.tgid == 1 || out.contains(&t.tgid) {
                        continue;
                    }
                    let inside = self
                        .gpc
                        .task_state::<Memory>(&guard, &t.slot, ss)
                        .is_some_and(|c| c.ancestors_and_self().any(|l| l.container_id() == gid));
                    if inside {
                        out.try_reserve(1)?;
                        out.push(t.tgid);
                    }
                }
            }
            _ => {
                out.try_reserve(1)?;
                out.push(victim);
            }
        }
        Ok(out)
    }

    /// Kill process `tgid` for an OOM: `oom_kill` counts in its group, then it exits.
    fn oom_kill_process(&mut self, tgid: Pid) {
        let _ = self.with_task_memcg(tgid, reclaim::record_oom_kill);
        let _ = self.do_exit(tgid);
    }

    /// `alloc VAR BYTES`.
    pub(super) fn charge_memory(&mut self, pid: Pid, bytes: u64) -> Result {
        self.task_slot(pid)?;
        if self.oom_waiters.iter().any(|w| w.pid == pid) {
            // A task waiting for memory is not running: it cannot fault.
            return Err(Error::EAGAIN);
        }
        let n = mm::pages(bytes);
        self.alloc_pages(pid, n, bytes)
    }

    /// Charge `n` pages (of an `alloc` of `bytes`) to `pid` as anonymous memory.
    fn alloc_pages(&mut self, pid: Pid, n: u64, bytes: u64) -> Result {
        self.oom_waiters.try_reserve(1)?;
        let mut bytes_left = bytes;
        let mut pages_left = n;
        let prepare = &mut |m: &mut Self| -> Result {
            let mut mm = m.mm.borrow_mut();
            mm.anon.try_reserve(1)?;
            let list = mm.anon.entry(pid).or_default();
            list.try_reserve(1)?;
            Ok(())
        };
        // The record this allocation made: later chunks of it extend it while it is the
        // newest of the task and charged the same group (one record per `alloc`, so
        // that reclaim's cost follows the commands, not the reclaim rounds).
        let mut mine: Option<usize> = None;
        let r = self.charge(
            pid,
            n,
            Lru::InactiveAnon,
            true,
            prepare,
            &mut |m, k, chain| {
                // The last chunk takes the bytes that are not whole pages.
                let b = if k >= pages_left {
                    bytes_left
                } else {
                    k * PAGE_SIZE
                };
                pages_left -= k.min(pages_left);
                bytes_left -= b.min(bytes_left);
                let mut mm = m.mm.borrow_mut();
                let seq = mm.next_seq();
                mm.anon_resident += k;
                // Room was made by `prepare`.
                let Some(list) = mm.anon.get_mut(&pid) else {
                    return;
                };
                if let Some(i) = mine.filter(|&i| i + 1 == list.len()) {
                    if let Some(last) = list.get_mut(i).filter(|c| c.chain == chain) {
                        // Whole pages so far: the bytes stay page-exact until the last chunk.
                        last.bytes = last.bytes.saturating_add(b);
                        return;
                    }
                }
                list.push(AnonCharge {
                    chain,
                    bytes: b,
                    swapped: 0,
                    seq,
                });
                mine = Some(list.len() - 1);
            },
        );
        match r {
            Ok(Charged::Done) => Ok(()),
            Ok(Charged::Waiting(left, group)) => {
                self.oom_waiters.push(OomWaiter {
                    pid,
                    pages: left,
                    bytes: bytes_left,
                    group,
                });
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    /// Retry the charges of tasks waiting in a v1 OOM (after every command: memory may
    /// have been freed, a limit raised, or the OOM killer enabled).
    pub(super) fn retry_oom_waiters(&mut self) {
        // Linux wakes the waiters on an uncharge, a limit change or an `oom_control`
        // write (`memcg1_oom_recover`): here, after a command that may have done one.
        let recover = core::mem::take(&mut self.mm.borrow_mut().recover);
        if !recover || self.oom_waiters.is_empty() {
            return;
        }
        let waiters = core::mem::take(&mut self.oom_waiters);
        for w in waiters {
            self.with_memcg(w.group, |c| reclaim::mark_under_oom(c, false));
            if self.tasks.get(w.pid).is_none() {
                continue;
            }
            let _ = self.alloc_pages(w.pid, w.pages, w.bytes);
        }
    }
}

impl<P: Platform> Machine<P> {
    /// Free `pages` of the anonymous charge `c` (resident ones first, then those on
    /// swap), uncharging its owner.
    fn release_anon(&self, chain: &[u64], resident: u64, swapped: u64) {
        self.with_owner(chain, |css| {
            reclaim::uncharge_pages(css, resident, Lru::InactiveAnon);
            reclaim::uncharge_swap(css, swapped);
        });
        let mut mm = self.mm.borrow_mut();
        mm.anon_resident = mm.anon_resident.saturating_sub(resident);
        mm.swap_used = mm.swap_used.saturating_sub(swapped);
        mm.recover = true;
    }

    /// `free VAR BYTES`: newest charges first.
    ///
    /// # Errors
    ///
    /// `ESRCH`, or `EINVAL` for more than the task holds.
    pub(super) fn free_memory(&mut self, pid: Pid, bytes: u64) -> Result {
        self.tasks.get(pid).ok_or(Error::ESRCH)?;
        let held = self.mm.borrow().task_memory(pid).0;
        if bytes > held {
            return Err(Error::EINVAL);
        }
        let mut left = bytes;
        while left > 0 {
            // Take from the newest charge, out of the borrow, then uncharge.
            let (chain, resident, swapped, done) = {
                let mut mm = self.mm.borrow_mut();
                let Some(list) = mm.anon.get_mut(&pid) else {
                    break;
                };
                let Some(last) = list.last_mut() else { break };
                let take = last.bytes.min(left);
                let before = mm::pages(last.bytes);
                let after = mm::pages(last.bytes - take);
                let gone = before - after;
                let resident = gone.min(last.resident());
                let swapped = (gone - resident).min(last.swapped);
                last.bytes -= take;
                last.swapped -= swapped;
                left -= take;
                let done = last.bytes == 0;
                let chain = if done {
                    list.pop().map(|c| c.chain).unwrap_or_default()
                } else {
                    let mut chain = Vec::new();
                    // The chain is only read below; without room, uncharge the root.
                    if chain.try_reserve_exact(last.chain.len()).is_ok() {
                        chain.extend_from_slice(&last.chain);
                    }
                    chain
                };
                if list.is_empty() {
                    mm.anon.remove(&pid);
                }
                (chain, resident, swapped, done)
            };
            let _ = done;
            self.release_anon(&chain, resident, swapped);
        }
        Ok(())
    }

    /// All anonymous memory of `pid` goes back (exit).
    pub(super) fn release_task_memory(&mut self, pid: Pid) {
        let list = self.mm.borrow_mut().anon.remove(&pid);
        for c in list.into_iter().flatten().rev() {
            self.release_anon(&c.chain, c.resident(), c.swapped);
        }
        self.drop_waiter(pid);
    }

    /// `pid` no longer waits in an OOM (it exited): its group's `under_oom` drops.
    fn drop_waiter(&mut self, pid: Pid) {
        while let Some(i) = self.oom_waiters.iter().position(|w| w.pid == pid) {
            let w = self.oom_waiters.remove(i);
            self.with_memcg(w.group, |c| reclaim::mark_under_oom(c, false));
        }
    }

    /// A thread exited: its anonymous memory is its process's (`tgid`).
    ///
    /// # Errors
    ///
    /// `ENOMEM` (nothing moved).
    pub(super) fn reserve_thread_memory(&mut self, pid: Pid, tgid: Pid) -> Result {
        let mut mm = self.mm.borrow_mut();
        let n = mm.anon.get(&pid).map_or(0, Vec::len);
        if n == 0 {
            return Ok(());
        }
        mm.anon.try_reserve(1)?;
        match mm.anon.get_mut(&tgid) {
            Some(l) => l.try_reserve(n)?,
            None => {
                let mut l = Vec::new();
                l.try_reserve(n)?;
                mm.anon.insert(tgid, l);
            }
        }
        Ok(())
    }

    /// Move a thread's memory to its process, in the room [`Self::reserve_thread_memory`]
    /// made.
    pub(super) fn pass_thread_memory(&mut self, pid: Pid, tgid: Pid) {
        let mut mm = self.mm.borrow_mut();
        if let Some(list) = mm.anon.remove(&pid) {
            if let Some(l) = mm.anon.get_mut(&tgid) {
                l.extend(list);
            }
        }
        drop(mm);
        self.drop_waiter(pid);
    }

    /// `readfile VAR FILE BYTES` (`write`: `writefile`): pages `[0, BYTES)` of FILE in
    /// order, as `filemap_read` walks them: a cached page is used again (a second use
    /// activates it, a write dirties it), a missing one is read in, charged to the
    /// task's group (reclaim may evict pages of this very file read earlier in the same
    /// command, as on Linux when a file is larger than the group's room).
    ///
    /// # Errors
    ///
    /// `ESRCH`, `ENOMEM` (nothing could make room; the pages read so far stay cached).
    pub(super) fn file_pages(&mut self, pid: Pid, file: &str, bytes: u64, write: bool) -> Result {
        self.task_slot(pid)?;
        let n = mm::pages(bytes);
        if n == 0 {
            return Ok(());
        }
        self.mm.borrow_mut().file_mut(file)?;
        let name = gpc_core::host::alloc::try_string(file, gpc_core::host::alloc::Gfp::KERNEL)?;
        let mut at = 0u64;
        let mut steps = 0u32;
        while at < n {
            steps += 1;
            if steps > MAX_CHARGE_ROUNDS {
                return Err(Error::ENOMEM);
            }
            // The run holding page `at`, or where the next one starts.
            let (covered, next) = {
                let mut mm = self.mm.borrow_mut();
                // (Made again if reclaim emptied it meanwhile.)
                mm.file_mut(file)?;
                let fi = mm.file_index(file).map_err(|_| Error::ENOMEM)?;
                let runs = &mm.files[fi].1;
                match runs.iter().position(|r| r.start + r.len > at) {
                    Some(i) if runs[i].start <= at => {
                        let skip = at - runs[i].start;
                        if skip > 0 && !mm.split_front(fi, i, skip) {
                            return Err(Error::ENOMEM);
                        }
                        (Some(if skip > 0 { i + 1 } else { i }), 0)
                    }
                    Some(i) => (None, runs[i].start.min(n)),
                    None => (None, n),
                }
            };
            match covered {
                Some(i) => at = self.touch_run(file, i, n, write)?,
                None => {
                    let mut cursor = at;
                    let prepare = &mut |m: &mut Self| -> Result {
                        m.mm.borrow_mut().file_mut(file)?.try_reserve(1)?;
                        Ok(())
                    };
                    self.charge(
                        pid,
                        next - at,
                        Lru::InactiveFile,
                        false,
                        prepare,
                        &mut |m, k, chain| {
                            m.insert_run(&name, cursor, k, chain, write);
                            cursor += k;
                        },
                    )?;
                    at = next;
                }
            }
        }
        Ok(())
    }

    /// Cache pages `[start, start + len)` of `file` (free in it), charged along `chain`.
    /// Room for the run was made before the charge (`file_pages`' `prepare`).
    fn insert_run(&mut self, file: &str, start: u64, len: u64, chain: Vec<u64>, dirty: bool) {
        let seq = self.mm.borrow_mut().next_seq();
        {
            let mut mm = self.mm.borrow_mut();
            let Ok(fi) = mm.file_index(file) else { return };
            let runs = &mut mm.files[fi].1;
            let pos = runs.partition_point(|r| r.start < start);
            runs.insert(
                pos,
                Run {
                    start,
                    len,
                    chain,
                    active: false,
                    dirt: if dirty { Dirt::Dirty } else { Dirt::Clean },
                    seq,
                    dseq: seq,
                },
            );
            mm.cache += len;
        }
        if dirty {
            self.with_owner_id_of_run(file, start, |css| reclaim::set_dirty(css, len, true));
        }
    }

    /// Call `f` with the owner of the run of `file` starting at `start`.
    fn with_owner_id_of_run(&self, file: &str, start: u64, f: impl FnOnce(Css<'_, Memory>)) {
        let owner = {
            let mm = self.mm.borrow();
            let Ok(i) = mm.file_index(file) else { return };
            mm.files[i]
                .1
                .iter()
                .find(|r| r.start == start)
                .and_then(|r| mm.owner(&r.chain))
        };
        if let Some(id) = owner {
            self.with_memcg(id, f);
        }
    }

    /// Run `i` of `file`, which starts where the walk is, is used again up to page `n`:
    /// inactive pages become active (`folio_mark_accessed` on a page already
    /// referenced by the first use), a write dirties them. Returns where the run ends.
    fn touch_run(&mut self, file: &str, i: usize, n: u64, write: bool) -> Result<u64> {
        let seq = self.mm.borrow_mut().next_seq();
        let (owner, len, end, activate, old_dirt) = {
            let mut mm = self.mm.borrow_mut();
            let fi = mm.file_index(file).map_err(|_| Error::ENOMEM)?;
            let (start, len) = {
                let r = &mm.files[fi].1[i];
                (r.start, r.len)
            };
            // Only the part inside [0, n).
            if start + len > n && !mm.split_front(fi, i, n - start) {
                return Err(Error::ENOMEM);
            }
            let owner = mm.owner(&mm.files[fi].1[i].chain);
            let r = &mut mm.files[fi].1[i];
            let activate = !r.active;
            let old_dirt = r.dirt;
            r.active = true;
            if activate {
                r.seq = seq;
            }
            if write {
                r.dirt = Dirt::Dirty;
                r.dseq = seq;
            }
            (owner, r.len, r.start + r.len, activate, old_dirt)
        };
        if let Some(id) = owner {
            self.with_memcg(id, |css| {
                if activate {
                    reclaim::move_pages(css, len, Lru::InactiveFile, Lru::ActiveFile);
                }
                if write {
                    match old_dirt {
                        Dirt::Clean => reclaim::set_dirty(css, len, true),
                        Dirt::Writeback => {
                            reclaim::set_writeback(css, len, false);
                            reclaim::set_dirty(css, len, true);
                        }
                        Dirt::Dirty => {}
                    }
                }
            });
        }
        Ok(end)
    }

    /// `echo 1 > /proc/sys/vm/drop_caches` (or 3): every clean page-cache page goes.
    pub(super) fn drop_caches(&mut self) {
        loop {
            let next = {
                let mut mm = self.mm.borrow_mut();
                let mut found = None;
                for (fi, (_, runs)) in mm.files.iter().enumerate() {
                    if let Some(ri) = runs.iter().position(|r| r.dirt == Dirt::Clean) {
                        found = Some((fi, ri));
                        break;
                    }
                }
                let Some((fi, ri)) = found else { break };
                let r = mm.files[fi].1.remove(ri);
                mm.cache = mm.cache.saturating_sub(r.len);
                let owner = mm.owner(&r.chain);
                (owner, r.len, r.active)
            };
            let (owner, len, active) = next;
            if let Some(id) = owner {
                let lru = if active {
                    Lru::ActiveFile
                } else {
                    Lru::InactiveFile
                };
                self.with_memcg(id, |css| reclaim::uncharge_pages(css, len, lru));
            }
        }
        let mut mm = self.mm.borrow_mut();
        mm.tidy();
        mm.recover = true;
    }

    /// The flusher during `ms` of simulated time: dirty pages written back, oldest
    /// first (those whose writeback reclaim started before the rest).
    pub(super) fn writeback(&mut self, ms: u64) {
        let mut budget = self.mm.borrow_mut().writeback_budget(ms);
        while budget > 0 {
            let step = {
                let mut mm = self.mm.borrow_mut();
                let Some((fi, ri)) = mm.next_to_write() else {
                    break;
                };
                let len = mm.files[fi].1[ri].len;
                let k = len.min(budget);
                if k < len && !mm.split_front(fi, ri, k) {
                    break;
                }
                let owner = mm.owner(&mm.files[fi].1[ri].chain);
                let r = &mut mm.files[fi].1[ri];
                let was = r.dirt;
                r.dirt = Dirt::Clean;
                (owner, k, was)
            };
            let (owner, k, was) = step;
            budget -= k;
            self.account_writeback(owner, k);
            if let Some(id) = owner {
                self.with_memcg(id, |css| match was {
                    Dirt::Writeback => reclaim::set_writeback(css, k, false),
                    _ => reclaim::set_dirty(css, k, false),
                });
            }
        }
    }

    /// Reclaim found only dirty pages (or pages under writeback) in the subtree of
    /// `group` (`None`: anywhere): it waits for their writeback (Linux
    /// `reclaim_throttle(pgdat, VMSCAN_THROTTLE_WRITEBACK)` while the flusher works),
    /// which the simulator completes at once, without moving the clock. Returns the
    /// pages cleaned; 0 when there were none, and then the OOM killer runs.
    fn wait_writeback(&mut self, group: Option<u64>) -> u64 {
        let mut cleaned = 0;
        loop {
            let step = {
                let mut mm = self.mm.borrow_mut();
                let mut found = None;
                'files: for (fi, (_, runs)) in mm.files.iter().enumerate() {
                    for (ri, r) in runs.iter().enumerate() {
                        if r.dirt != Dirt::Clean && group.map_or(true, |g| r.chain.contains(&g)) {
                            found = Some((fi, ri));
                            break 'files;
                        }
                    }
                }
                let Some((fi, ri)) = found else { break };
                let owner = mm.owner(&mm.files[fi].1[ri].chain);
                mm.recover = true;
                let r = &mut mm.files[fi].1[ri];
                let was = r.dirt;
                r.dirt = Dirt::Clean;
                (owner, r.len, was)
            };
            let (owner, k, was) = step;
            cleaned += k;
            if let Some(id) = owner {
                self.with_memcg(id, |css| match was {
                    Dirt::Writeback => reclaim::set_writeback(css, k, false),
                    _ => reclaim::set_dirty(css, k, false),
                });
            }
        }
        cleaned
    }

    /// After a change that may end memory states (`rmdir`, a `cgroup.subtree_control`
    /// write, a mount or an unmount): the pages of groups whose state is gone become
    /// their parents' (the controller already handed the statistics over). Each pass
    /// moves pages up one level; a chain is at most as deep as the hierarchy.
    pub(super) fn revalidate_owners(&mut self) {
        let Some(ss) = self.ids.memory else { return };
        self.refresh_root_id();
        // Each pass shortens some chain or ends: the chains' total length bounds it.
        loop {
            let mut owners: Vec<u64> = Vec::new();
            if self.mm.borrow().owners(&mut owners).is_err() {
                return;
            }
            let mut moved = false;
            for id in owners {
                if self.gpc.with_css_by_container_id(ss, id, |_| ()).is_none() {
                    self.mm.borrow_mut().reparent(id);
                    moved = true;
                }
            }
            if !moved {
                return;
            }
        }
    }

    /// OOM kills that file writes asked for (`memory.max` below what reclaim could
    /// free): kill in the group until it fits under its limit or nobody is left.
    pub(super) fn run_pending_oom(&mut self) {
        let pending = core::mem::take(&mut self.mm.borrow_mut().pending_oom);
        for id in pending {
            let mut waited = false;
            for round in 0..MAX_CHARGE_ROUNDS {
                let over = self
                    .with_memcg(id, |c| {
                        let m = c.state().memory_counter();
                        m.usage() > m.max()
                    })
                    .unwrap_or(false);
                if !over {
                    break;
                }
                // Dirty pages are not a reason to kill: they are written back, and then
                // reclaimed, before the OOM killer runs.
                if self.wait_writeback(Some(id)) > 0 {
                    waited = true;
                    let excess = self
                        .with_memcg(id, |c| {
                            let m = c.state().memory_counter();
                            m.usage().saturating_sub(m.max())
                        })
                        .unwrap_or(0);
                    let req = reclaim::Request::direct(
                        excess.max(reclaim::SWAP_CLUSTER_MAX),
                        true,
                        false,
                        self.recursive_prot(),
                    );
                    self.reclaim_group(id, &req);
                    continue;
                }
                let victims = self.oom_select(Some(id)).unwrap_or_default();
                if victims.is_empty() {
                    break;
                }
                // The write counted the first round's `oom` unless the group had dirty
                // pages to wait for (`memory_max_write` counts one per round of its
                // kill loop).
                if round > 0 || waited {
                    self.with_memcg(id, reclaim::record_oom);
                }
                for v in victims {
                    self.oom_kill_process(v);
                }
            }
        }
    }
}

impl<P: Platform> Machine<P> {
    /// A write to `/proc/sys/vm/drop_caches` (Linux `drop_caches_sysctl_handler`:
    /// `proc_dointvec_minmax` between 1 and 4; bit 1 drops the clean page cache, bit 2
    /// the slab caches, which the simulator has none of, 4 only silences the message).
    ///
    /// # Errors
    ///
    /// `EINVAL`: not one integer (base as `strtoul(.., 0)`: `0x` hex, leading `0`
    /// octal) with only blanks around it, or out of 1..=4.
    pub(super) fn write_drop_caches(&mut self, data: &[u8]) -> Result {
        let text = core::str::from_utf8(data).map_err(|_| Error::EINVAL)?;
        let word = text.trim_matches(|c| c == ' ' || c == '\t' || c == '\n');
        if word.is_empty() || word.contains([' ', '\t', '\n']) {
            return Err(Error::EINVAL);
        }
        let (neg, digits) = match word.strip_prefix('-') {
            Some(d) => (true, d),
            None => (false, word.strip_prefix('+').unwrap_or(word)),
        };
        let value = if let Some(hex) = digits
            .strip_prefix("0x")
            .or_else(|| digits.strip_prefix("0X"))
        {
            u64::from_str_radix(hex, 16)
        } else if digits.len() > 1 && digits.starts_with('0') {
            u64::from_str_radix(&digits[1..], 8)
        } else {
            digits.parse::<u64>()
        }
        .map_err(|_| Error::EINVAL)?;
        if neg || !(1..=4).contains(&value) {
            return Err(Error::EINVAL);
        }
        if value & 1 != 0 {
            self.drop_caches();
        }
        Ok(())
    }

    /// `/proc/meminfo` (Linux fs/proc/meminfo.c `meminfo_proc_show`): the machine's
    /// memory in Linux's layout (x86-64, no highmem, no CMA). What the simulator has no
    /// such thing of (slab, page tables, huge pages, ...) reads 0; `MemAvailable` is the
    /// free memory plus the page cache (Linux subtracts the watermarks the simulator has
    /// none of).
    pub(super) fn proc_meminfo(&self, buf: &mut Vec<u8>) -> Result {
        let mm = self.mm.borrow();
        let (mut active_file, mut inactive_file, mut dirty, mut writeback) = (0, 0, 0, 0);
        for (_, runs) in &mm.files {
            for r in runs {
                if r.active {
                    active_file += r.len;
                } else {
                    inactive_file += r.len;
                }
                match r.dirt {
                    Dirt::Dirty => dirty += r.len,
                    Dirt::Writeback => writeback += r.len,
                    Dirt::Clean => {}
                }
            }
        }
        let committed: u64 = mm
            .anon
            .values()
            .flatten()
            .fold(0u64, |a, c| a.saturating_add(mm::pages(c.bytes)));
        let kb = |pages: u64| pages.saturating_mul(PAGE_SIZE / 1024);
        let mut out = gpc_core::Out::new(buf);
        let rows: [(&str, u64); 44] = [
            ("MemTotal", kb(mm.total)),
            ("MemFree", kb(mm.free())),
            ("MemAvailable", kb(mm.free() + mm.cache)),
            ("Buffers", 0),
            ("Cached", kb(mm.cache)),
            ("SwapCached", 0),
            ("Active", kb(active_file)),
            ("Inactive", kb(mm.anon_resident + inactive_file)),
            ("Active(anon)", 0),
            ("Inactive(anon)", kb(mm.anon_resident)),
            ("Active(file)", kb(active_file)),
            ("Inactive(file)", kb(inactive_file)),
            ("Unevictable", 0),
            ("Mlocked", 0),
            ("SwapTotal", kb(mm.swap_total)),
            ("SwapFree", kb(mm.swap_total.saturating_sub(mm.swap_used))),
            ("Zswap", 0),
            ("Zswapped", 0),
            ("Dirty", kb(dirty)),
            ("Writeback", kb(writeback)),
            ("AnonPages", kb(mm.anon_resident)),
            ("Mapped", 0),
            ("Shmem", 0),
            ("KReclaimable", 0),
            ("Slab", 0),
            ("SReclaimable", 0),
            ("SUnreclaim", 0),
            ("KernelStack", 0),
            ("PageTables", 0),
            ("SecPageTables", 0),
            ("NFS_Unstable", 0),
            ("Bounce", 0),
            ("WritebackTmp", 0),
            // vm_commit_limit: swap + RAM * overcommit_ratio (50) / 100.
            ("CommitLimit", kb(mm.swap_total + mm.total / 2)),
            ("Committed_AS", kb(committed)),
            ("VmallocTotal", 34_359_738_367),
            ("VmallocUsed", 0),
            ("VmallocChunk", 0),
            ("Percpu", 0),
            ("HardwareCorrupted", 0),
            ("AnonHugePages", 0),
            ("ShmemHugePages", 0),
            ("ShmemPmdMapped", 0),
            ("FileHugePages", 0),
        ];
        for (name, v) in rows {
            if name == "HardwareCorrupted" {
                // Its own format: "HardwareCorrupted: %5lu kB".
                writeln!(out, "HardwareCorrupted: {v:>5} kB")?;
                continue;
            }
            // `show_val_kb`: the label with its colon padded to 16 columns, the value
            // right-aligned in 8.
            let label_len = name.len() + 1;
            out.bytes(name.as_bytes())?;
            out.bytes(b":")?;
            for _ in label_len..16 {
                out.bytes(b" ")?;
            }
            writeln!(out, "{v:>8} kB")?;
        }
        writeln!(out, "FilePmdMapped:         0 kB")?;
        writeln!(out, "Unaccepted:            0 kB")?;
        writeln!(out, "Balloon:               0 kB")?;
        // hugetlb_report_meminfo: the default size's pool (2MB), then every pool's bytes.
        // Every mapped page was faulted in at once (hugealloc), so none is reserved only.
        let (total, free) = self.huge.pool(0);
        writeln!(
            out,
            "HugePages_Total:   {total:5}\nHugePages_Free:    {free:5}\nHugePages_Rsvd:        0\n\
             HugePages_Surp:        0\nHugepagesize:       2048 kB"
        )?;
        let hugetlb_kb = (0..gpc_subsystems::hugetlb::NR_SIZES).fold(0u64, |kb, i| {
            let pages = self.huge.pool(i).0;
            kb.saturating_add(
                pages.saturating_mul(gpc_subsystems::hugetlb::pages_per_huge_page(i) * 4),
            )
        });
        writeln!(out, "Hugetlb:        {hugetlb_kb:8} kB")?;
        Ok(())
    }
}
