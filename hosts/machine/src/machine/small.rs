//! The machine's huge pages (`hugealloc`, `hugefree`, the hugetlb controller), network
//! devices (`netprio`, the net_prio controller) and perf cgroup events (`perf`, the
//! perf_event controller). See doc/hugetlb.md and doc/net_prio-perf_event.md.
//!
//! # Huge pages
//!
//! A pool per size (`machine hugepages=2MB:N,1GB:M`; none by default, as Linux boots
//! with `nr_hugepages` 0). `hugealloc TASK SIZE COUNT` is what a program does with
//! `mmap(MAP_HUGETLB)` of COUNT pages and `madvise(MADV_POPULATE_WRITE)`:
//!
//! 1. the reservation (`hugetlb_reserve_pages`): the hugetlb group's `rsvd` counter is
//!    charged COUNT pages first (refused: `ENOMEM` from `mmap`), then the pool must
//!    have COUNT free pages (`hugetlb_acct_memory`: `ENOMEM`, the charge goes back);
//! 2. the faults (`alloc_hugetlb_folio`): each page charges the group's fault counter;
//!    the first page the limit refuses makes the populate fail (`SIGBUS` → `EFAULT`)
//!    and the program unmaps everything (every charge goes back; the peaks stay).
//!
//! The mapping belongs to the task's process. It stays charged to the group it was made
//! in when the task moves (Linux moves no hugetlb charge); `hugefree` (newest pages
//! first) and the process's exit uncharge that group, or, if it was removed since, its
//! nearest live ancestor (where `hugetlb_cgroup_css_offline` moved the pages).

use alloc::string::String;
use alloc::vec::Vec;

use gpc_core::host::alloc::{try_reserve, Gfp};
use gpc_core::{Css, Error, NetDevices, Node, Out, Pid, Result};
use gpc_subsystems::hugetlb::{self, Hugetlb, NR_SIZES};
use gpc_subsystems::net_prio::{self, NetPrio};
use gpc_subsystems::perf_event::{self, PerfEvent};
use hashbrown::HashMap;

use super::{Machine, Platform};
use crate::fs::Loc;

/// The most huge pages one pool may hold (keeps the arithmetic far from overflow; the
/// pool must fit in the machine's memory anyway).
pub const MAX_POOL_PAGES: u64 = 1 << 24;

/// The most network devices a machine may have.
pub const MAX_NETDEVS: usize = 64;

/// `IFNAMSIZ`: a device name has at most 15 bytes.
const IFNAMSIZ: usize = 16;

/// The network devices of a machine that no `machine netdevs=` configured.
pub const DEFAULT_NETDEVS: [&str; 2] = ["lo", "eth0"];

/// One `hugealloc` that is still mapped (what is left of it).
#[derive(Debug)]
pub(super) struct HugeMap {
    /// The size's index in [`hugetlb::SIZES`].
    idx: usize,
    count: u64,
    /// The container ids of the group charged and its ancestors, nearest first.
    chain: Vec<u64>,
}

/// The huge page pools and who maps what.
#[derive(Debug, Default)]
pub(super) struct HugePages {
    /// Pages per pool (`nr_hugepages` of each size).
    total: [u64; NR_SIZES],
    /// Pages mapped.
    pub(super) used: [u64; NR_SIZES],
    /// Mappings per process (tgid), oldest first. Hashed: an insert after
    /// `try_reserve(1)` cannot fail.
    pub(super) maps: HashMap<Pid, Vec<HugeMap>>,
}

impl HugePages {
    /// Pools of `total[i]` pages of size `i`.
    pub(super) fn with_pools(total: [u64; NR_SIZES]) -> Self {
        HugePages {
            total,
            ..HugePages::default()
        }
    }

    /// `(total, free)` pages of size `idx`.
    pub(super) fn pool(&self, idx: usize) -> (u64, u64) {
        let t = self.total.get(idx).copied().unwrap_or(0);
        let u = self.used.get(idx).copied().unwrap_or(0);
        (t, t.saturating_sub(u))
    }

    /// The pools as `machine hugepages=` gave them.
    pub(super) fn totals(&self) -> [u64; NR_SIZES] {
        self.total
    }
}

/// `machine hugepages=SIZE:COUNT,...`: each size at most once; the pools together must
/// fit in `mem` bytes.
///
/// # Errors
///
/// `EINVAL` for anything else.
pub(super) fn parse_hugepages(text: &str, mem: u64) -> Result<[u64; NR_SIZES]> {
    let mut total = [0u64; NR_SIZES];
    let mut seen = [false; NR_SIZES];
    if text.is_empty() {
        return Ok(total);
    }
    let mut bytes = 0u64;
    for item in text.split(',') {
        let (size, count) = item.split_once(':').ok_or(Error::EINVAL)?;
        let idx = hugetlb::size_index(size).ok_or(Error::EINVAL)?;
        if !count.bytes().all(|b| b.is_ascii_digit()) || count.is_empty() {
            return Err(Error::EINVAL);
        }
        let n: u64 = count.parse().map_err(|_| Error::EINVAL)?;
        if n > MAX_POOL_PAGES || core::mem::replace(&mut seen[idx], true) {
            return Err(Error::EINVAL);
        }
        total[idx] = n;
        bytes = bytes
            .checked_add(n * hugetlb::pages_per_huge_page(idx) * crate::mm::PAGE_SIZE)
            .ok_or(Error::EINVAL)?;
    }
    if bytes > mem {
        return Err(Error::EINVAL);
    }
    Ok(total)
}

/// The machine's network devices, in registration order (`lo` first by default).
#[derive(Debug, Default)]
pub(super) struct NetDevs(Vec<String>);

impl NetDevs {
    /// `lo` and `eth0`.
    pub(super) fn default_devices() -> Result<Self> {
        let mut v = Vec::new();
        try_reserve(&mut v, DEFAULT_NETDEVS.len(), Gfp::KERNEL)?;
        for name in DEFAULT_NETDEVS {
            v.push(gpc_core::host::alloc::try_string(name, Gfp::KERNEL)?);
        }
        Ok(NetDevs(v))
    }

    /// `machine netdevs=NAME,...`: each a valid, distinct name (`dev_valid_name`: 1 to
    /// 15 bytes, not `.` or `..`, no `/`, `:` or blank); at most [`MAX_NETDEVS`].
    ///
    /// # Errors
    ///
    /// `EINVAL`; `ENOMEM`.
    pub(super) fn parse(text: &str) -> Result<Self> {
        let mut v: Vec<String> = Vec::new();
        for name in text.split(',') {
            let ok = !name.is_empty()
                && name.len() < IFNAMSIZ
                && name != "."
                && name != ".."
                && !name
                    .bytes()
                    .any(|b| b == b'/' || b == b':' || b.is_ascii_whitespace() || b == 0);
            if !ok || v.iter().any(|n| n == name) || v.len() >= MAX_NETDEVS {
                return Err(Error::EINVAL);
            }
            try_reserve(&mut v, 1, Gfp::KERNEL)?;
            v.push(gpc_core::host::alloc::try_string(name, Gfp::KERNEL)?);
        }
        Ok(NetDevs(v))
    }
}

impl NetDevices for NetDevs {
    fn count(&self) -> usize {
        self.0.len()
    }
    fn name(&self, idx: usize) -> Option<&str> {
        self.0.get(idx).map(String::as_str)
    }
}

impl<P: Platform> Machine<P> {
    /// Call `f` with the hugetlb state of the first live group of `chain`, or the
    /// controller's root state.
    fn with_huge_owner<R>(
        &self,
        chain: &[u64],
        f: impl FnOnce(Css<'_, Hugetlb>) -> R,
    ) -> Option<R> {
        let ss = self.ids.hugetlb?;
        let mut f = Some(f);
        for &id in chain {
            let r = self.gpc.with_css_by_container_id(ss, id, |css| {
                css.typed::<Hugetlb>().and_then(|c| f.take().map(|f| f(c)))
            });
            if let Some(Some(r)) = r {
                return Some(r);
            }
        }
        let init = self.tasks.get(1)?;
        let guard = self.gpc.rcu_read_lock();
        let root = self
            .gpc
            .task_state::<Hugetlb>(&guard, &init.slot, ss)?
            .ancestors_and_self()
            .last()?;
        f.take().map(|f| f(root))
    }

    /// Give back `count` pages of size `idx` charged to `chain` (fault and reservation).
    fn uncharge_huge(&mut self, chain: &[u64], idx: usize, count: u64) {
        self.with_huge_owner(chain, |c| {
            hugetlb::uncharge(c, idx, count, false);
            hugetlb::uncharge(c, idx, count, true);
        });
        if let Some(u) = self.huge.used.get_mut(idx) {
            *u = u.saturating_sub(count);
        }
    }

    /// `hugealloc` / `hugefree`.
    pub(super) fn huge_pages_op(
        &mut self,
        task: Pid,
        size: &str,
        count: u64,
        alloc: bool,
    ) -> Result {
        let tgid = self.tasks.get(task).ok_or(Error::ESRCH)?.tgid;
        let idx = hugetlb::size_index(size).ok_or(Error::EINVAL)?;
        if count == 0 {
            // mmap of length 0; munmap of nothing.
            return Err(Error::EINVAL);
        }
        if alloc {
            self.huge_alloc(task, tgid, idx, count)
        } else {
            self.huge_free(tgid, idx, count)
        }
    }

    fn huge_alloc(&mut self, task: Pid, tgid: Pid, idx: usize, count: u64) -> Result {
        // Room for the record first: nothing may fail once pages are charged.
        self.huge.maps.try_reserve(1).map_err(|_| Error::ENOMEM)?;
        let mut chain = Vec::new();
        if let Some(ss) = self.ids.hugetlb {
            let slot = self.task_slot(task)?;
            let guard = self.gpc.rcu_read_lock();
            if let Some(css) = self.gpc.task_state::<Hugetlb>(&guard, slot, ss) {
                try_reserve(&mut chain, css.ancestors_and_self().count(), Gfp::KERNEL)?;
                chain.extend(css.ancestors_and_self().map(|c| c.container_id()));
            }
        }
        {
            let maps = self.huge.maps.entry(tgid).or_default();
            try_reserve(maps, 1, Gfp::KERNEL)?;
        }
        // 1. The reservation: the cgroup first, then the pool (hugetlb_reserve_pages).
        let charged = self.with_huge_owner(&chain, |c| hugetlb::try_charge(c, idx, count, true));
        if let Some(Err(e)) = charged {
            self.forget_empty(tgid);
            return Err(e);
        }
        let (_, free) = self.huge.pool(idx);
        if count > free {
            self.with_huge_owner(&chain, |c| hugetlb::uncharge(c, idx, count, true));
            self.forget_empty(tgid);
            return Err(Error::ENOMEM);
        }
        // 2. The faults, one page at a time: as many as fit, then the one refused.
        let faulted = self
            .with_huge_owner(&chain, |c| {
                let fit = hugetlb::fault_headroom(c, idx).min(count);
                if fit > 0 && hugetlb::try_charge(c, idx, fit, false).is_err() {
                    return 0;
                }
                if fit < count {
                    // The page the limit refuses: counted (failcnt, events max) there.
                    let _ = hugetlb::try_charge(c, idx, 1, false);
                }
                fit
            })
            .unwrap_or(count);
        if faulted < count {
            // SIGBUS in the populate: EFAULT, and the program unmaps what it mapped.
            self.with_huge_owner(&chain, |c| {
                hugetlb::uncharge(c, idx, faulted, false);
                hugetlb::uncharge(c, idx, count, true);
            });
            self.forget_empty(tgid);
            return Err(Error::EFAULT);
        }
        if let Some(u) = self.huge.used.get_mut(idx) {
            *u = u.saturating_add(count);
        }
        if let Some(maps) = self.huge.maps.get_mut(&tgid) {
            // Reserved above.
            maps.push(HugeMap { idx, count, chain });
        }
        Ok(())
    }

    /// Drop the process's entry when it maps nothing.
    fn forget_empty(&mut self, tgid: Pid) {
        if self.huge.maps.get(&tgid).is_some_and(Vec::is_empty) {
            self.huge.maps.remove(&tgid);
        }
    }

    fn huge_free(&mut self, tgid: Pid, idx: usize, count: u64) -> Result {
        let held: u64 = self.huge.maps.get(&tgid).map_or(0, |v| {
            v.iter().filter(|m| m.idx == idx).map(|m| m.count).sum()
        });
        if count > held {
            return Err(Error::EINVAL);
        }
        let mut left = count;
        let mut i = self.huge.maps.get(&tgid).map_or(0, Vec::len);
        while left > 0 && i > 0 {
            i -= 1;
            let Some(maps) = self.huge.maps.get_mut(&tgid) else {
                break;
            };
            let Some(m) = maps.get_mut(i) else { continue };
            if m.idx != idx {
                continue;
            }
            let n = m.count.min(left);
            m.count -= n;
            left -= n;
            let chain = if m.count == 0 {
                maps.remove(i).chain
            } else {
                // A part of the mapping: the chain is needed further; copy it.
                let mut c = Vec::new();
                try_reserve(&mut c, m.chain.len(), Gfp::KERNEL)?;
                c.extend_from_slice(&m.chain);
                c
            };
            self.uncharge_huge(&chain, idx, n);
        }
        self.forget_empty(tgid);
        Ok(())
    }

    /// The process `tgid` exits: its huge pages go back.
    pub(super) fn release_huge_pages(&mut self, tgid: Pid) {
        let Some(maps) = self.huge.maps.remove(&tgid) else {
            return;
        };
        for m in maps {
            self.uncharge_huge(&m.chain, m.idx, m.count);
        }
    }

    /// `netprio TASK`: `DEV PRIO` per device.
    pub(super) fn netprio_lines(&self, task: Pid) -> Result<Vec<u8>> {
        let slot = self.task_slot(task)?;
        let mut buf = Vec::new();
        let mut out = Out::new(&mut buf);
        let guard = self.gpc.rcu_read_lock();
        let css = self
            .ids
            .net_prio
            .and_then(|ss| self.gpc.task_state::<NetPrio>(&guard, slot, ss));
        for idx in 0..self.netdevs.count() {
            let name = self.netdevs.name(idx).unwrap_or("");
            let prio = css.map_or(0, |c| net_prio::prio(c, idx));
            writeln!(out, "{name} {prio}")?;
        }
        Ok(buf)
    }

    /// `perf PATH`: the group's task-clock.
    pub(super) fn perf_line(&self, path: &str) -> Result<Vec<u8>> {
        let creds = self.creds();
        let env = self.env();
        let loc = self.vfs.resolve(&env, &creds, path)?;
        // css_tryget_online_from_dir: only a cgroup directory (EBADF otherwise).
        let Loc::Cg {
            hier,
            dir_id,
            file: None,
            ..
        } = loc
        else {
            return Err(Error::EBADF);
        };
        let ss = self.ids.perf_event.ok_or(Error::ENOENT)?;
        let node = Node::directory(hier, dir_id);
        let ns = match self
            .gpc
            .with_node_css(&node, ss, |c| c.typed::<PerfEvent>().map(perf_event::time))
        {
            Ok(Some(ns)) => ns,
            // implicit_on_dfl: every v2 group has perf_event while no v1 hierarchy
            // holds it; its time is the group's subtree CPU time.
            Err(Error::ENOENT)
                if self.gpc.is_unified(hier) && self.gpc.root_css_id(ss) == Some(0) =>
            {
                self.gpc.subtree_cpu_ns_of(&node)?
            }
            Ok(None) => return Err(Error::ENOENT),
            Err(e) => return Err(e),
        };
        let mut buf = Vec::new();
        writeln!(Out::new(&mut buf), "task-clock {ns}")?;
        Ok(buf)
    }
}
