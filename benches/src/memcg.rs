//! The `memcg` section of bench-report: what the memory controller's charges and
//! reclaim cost (issue 15). (The `memory` section is the memory gpc itself takes per
//! task.)
//!
//! - `memcg_charge_vs_atomic`: the charge fast path, uncontended and under every limit:
//!   [`reclaim::try_charge_pages`] of one page, [`reclaim::commit`] and
//!   [`reclaim::uncharge_pages`] on a group three levels below the root (`m1/m2/m3` of
//!   the bench world's memory hierarchy), against a plain `AtomicU64`
//!   `fetch_add`+`fetch_sub` pair, timed in the same rounds. Per level a charge is a
//!   `memsw` and a `memory` page counter (compare-and-add against the limit, then the
//!   watermark) and the statistics (the group's own column and every level's subtree
//!   column); the uncharge gives them back: about 12 atomic read-modify-writes for each
//!   of the four levels, the root's included.
//! - `memcg_reclaim_fake_ns_per_page`: gpc's reclaim policy alone
//!   ([`reclaim::reclaim`] as `memory.force_empty` asks it: the whole usage, from the
//!   group's subtree) for a group holding `N` clean page-cache pages, against a
//!   [`PageReclaim`] that frees whatever it is asked for at once ([`InstantHost`]):
//!   the priorities, the protection and scan-count arithmetic, the host calls and the
//!   uncharges, divided by `N` (`memcg_reclaim_fake_ns_per_reclaim`: the whole
//!   reclaim, about the same for any `N` above a few thousand, since the policy works
//!   per group, list and priority, not per page). `memcg_reclaim_fake_vs_charge`: the
//!   per-page figure against the charge pair of one page above (the same rounds).
//! - `memcg_sim_reclaim_ns_per_page` / `memcg_sim_charge_ns_per_page`: the simulated
//!   machine (gpc-sim's [`SimMachine`], through the script `Machine` trait): a task in
//!   `/m/g` reads `F` files of `P` pages each (`readfile`: `N = F * P` pages charged,
//!   clean, inactive), then `memory.force_empty` of the group reclaims them all; each
//!   time divided by `N`. `memcg_sim_reclaim_vs_charge` is the first over the second:
//!   what giving a page back costs against what taking it cost, on the same machine.
//!   The machine keeps pages as runs (a file's consecutive pages with one owner and
//!   state), so both follow the number of runs (`F`) more than the pages: the
//!   `memcg_sim_1page_*` figures are the same with one page per file (a run per page,
//!   the most a page can cost), where a reclaim that scanned every run for each run it
//!   took grew by the page.

use core::cell::{Cell, RefCell};
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use gpc_core::host::reclaim::{Lru, PageReclaim, Reclaimed};
use gpc_core::Css;
use gpc_script::Machine;
use gpc_sim::SimMachine;
use gpc_subsystems::memory::{reclaim, Memory};

use crate::report::slot_of;
use crate::timing::{measure_rounds, median, ratio_median, timed_plain, Run, Timing};
use crate::world::{Controllers, World};
use crate::{BenchError, Ctx};

/// The bench world's hierarchy with `memory` ([`crate::world::MOUNTS`]).
const MEMORY_HIER: usize = 1;

/// A host whose page reclaim frees at once whatever the controller asks for, up to what
/// it was told the group holds on each list: the controller's policy cost alone.
#[derive(Debug, Default)]
pub struct InstantHost {
    /// Pages per list ([`Lru`] order).
    pages: [Cell<u64>; 4],
}

impl InstantHost {
    /// The group now holds `n` pages on `lru`.
    pub fn fill(&self, lru: Lru, n: u64) {
        self.pages[lru as usize].set(n);
    }
}

impl PageReclaim for InstantHost {
    fn reclaim(&self, _group: u64, lru: Lru, nr: u64) -> Reclaimed {
        let have = &self.pages[lru as usize];
        let freed = nr.min(have.get());
        have.set(have.get() - freed);
        Reclaimed {
            freed,
            writeback: 0,
        }
    }
}

/// The request `memory.force_empty` makes for a usage of `nr` pages.
fn force_empty_request(nr: u64) -> reclaim::Request {
    reclaim::Request {
        nr,
        may_swap: true,
        swappiness: None,
        global: false,
        recursive_prot: false,
        origin: reclaim::Origin::Proactive,
    }
}

/// A simulated machine with `memory` at `/m`, group `/m/g` and a task in it, whose
/// `fill` reads `files` files of `pages` pages each and `empty` reclaims the group.
struct SimCache {
    m: RefCell<SimMachine>,
    task: u32,
    files: Vec<String>,
    bytes: u64,
    pages: u64,
}

impl SimCache {
    fn new(files: usize, pages: u64) -> Result<SimCache, BenchError> {
        let mut m = SimMachine::new().ctx("machine")?;
        m.mount("cgroup", "memory", "cgroup", "/m")
            .ctx("mount memory")?;
        m.mkdir("/m/g", false).ctx("mkdir /m/g")?;
        let task = m.spawn().ctx("spawn")?;
        m.write("/m/g/tasks", task.to_string().as_bytes())
            .ctx("move to /m/g")?;
        Ok(SimCache {
            m: RefCell::new(m),
            task,
            files: (0..files).map(|i| format!("f{i}")).collect(),
            bytes: pages * 4096,
            pages: files as u64 * pages,
        })
    }

    fn fill(&self) -> Result<(), BenchError> {
        let mut m = self.m.borrow_mut();
        for f in &self.files {
            m.read_file(self.task, f, self.bytes).ctx("readfile")?;
        }
        Ok(())
    }

    fn empty(&self) -> Result<(), BenchError> {
        self.m
            .borrow_mut()
            .write("/m/g/memory.force_empty", b"1")
            .ctx("force_empty")
    }

    /// `memory.usage_in_bytes` of the group, in pages.
    fn usage(&self) -> Result<u64, BenchError> {
        let text = self
            .m
            .borrow_mut()
            .read("/m/g/memory.usage_in_bytes")
            .ctx("usage")?;
        String::from_utf8_lossy(&text)
            .trim()
            .parse::<u64>()
            .map(|b| b / 4096)
            .map_err(|_| BenchError::new("usage_in_bytes is not a number"))
    }

    /// One fill and one reclaim; returns the time of the one asked for.
    fn cycle(&self, time_reclaim: bool) -> Result<Duration, BenchError> {
        let t0 = Instant::now();
        self.fill()?;
        let t1 = Instant::now();
        self.empty()?;
        let t2 = Instant::now();
        Ok(if time_reclaim { t2 - t1 } else { t1 - t0 })
    }
}

/// The section's figures, through `put(name, value, unit)`: `fake_pages` pages for the
/// policy figure; for the machine's, `sim_layouts` (files, pages of each): the
/// `memcg_sim_*` figures, then the `memcg_sim_1page_*` ones.
///
/// # Errors
///
/// Setup errors, a charge refused in an unlimited group, or a reclaim that leaves pages.
pub fn memcg(
    t: &Timing,
    fake_pages: u64,
    sim_layouts: [(usize, u64); 2],
    put: &mut dyn FnMut(&str, f64, &'static str),
) -> Result<(), BenchError> {
    let mut w = World::new(Controllers::NoForkHooks, 1)?;
    w.mkdir(MEMORY_HIER, "m1")?;
    w.mkdir(MEMORY_HIER, "m1/m2")?;
    w.mkdir(MEMORY_HIER, "m1/m2/m3")?;
    let pid = w.tasks.fork(&w.gpc, 1)?;
    w.attach(MEMORY_HIER, "m1/m2/m3", pid)?;
    let ss = w
        .gpc
        .subsys_id("memory")
        .ok_or(BenchError::new("no memory controller"))?;
    let slot = slot_of(&w, pid)?;
    let gpc = &w.gpc;
    // The group's state, under a read guard held for one batch.
    let with_css = |f: &mut dyn FnMut(Css<'_, Memory>) -> Result<Duration, BenchError>| {
        let guard = gpc.rcu_read_lock();
        let css = gpc
            .task_state::<Memory>(&guard, slot, ss)
            .ok_or(BenchError::new("no memory state"))?;
        if css.ancestors_and_self().count() != 4 {
            return Err(BenchError::new("the group is not three levels deep"));
        }
        f(css)
    };

    let counter = AtomicU64::new(0);
    let mut atomic_r = |n| {
        Ok(timed_plain(n, |_| {
            let c = black_box(&counter);
            c.fetch_add(1, Ordering::Relaxed);
            c.fetch_sub(1, Ordering::Relaxed);
        }))
    };
    let mut charge_r = |n: u64| {
        with_css(&mut |css| {
            let start = Instant::now();
            for _ in 0..n {
                let css = black_box(css);
                reclaim::try_charge_pages(css, 1).map_err(|_| BenchError::new("charge refused"))?;
                reclaim::commit(css, 1, Lru::InactiveFile);
                reclaim::uncharge_pages(css, 1, Lru::InactiveFile);
            }
            Ok(start.elapsed())
        })
    };
    let host = InstantHost::default();
    let mut fake_r = |n: u64| {
        with_css(&mut |css| {
            let mut total = Duration::ZERO;
            for _ in 0..n {
                reclaim::try_charge_pages(css, fake_pages)
                    .map_err(|_| BenchError::new("charge refused"))?;
                reclaim::commit(css, fake_pages, Lru::InactiveFile);
                host.fill(Lru::InactiveFile, fake_pages);
                let start = Instant::now();
                let freed = reclaim::reclaim(&[css], &force_empty_request(fake_pages), &host);
                total += start.elapsed();
                if freed != fake_pages || css.state().memory_counter().usage() != 0 {
                    return Err(BenchError::new(format_args!(
                        "reclaim freed {freed} of {fake_pages} pages"
                    )));
                }
            }
            Ok(total)
        })
    };
    let sims = [
        SimCache::new(sim_layouts[0].0, sim_layouts[0].1)?,
        SimCache::new(sim_layouts[1].0, sim_layouts[1].1)?,
    ];
    for sim in &sims {
        // The machine reclaims what it holds: checked once before timing.
        sim.fill()?;
        if sim.usage()? != sim.pages {
            return Err(BenchError::new("readfile did not charge every page"));
        }
        sim.empty()?;
        if sim.usage()? != 0 {
            return Err(BenchError::new("force_empty left pages in the group"));
        }
    }
    let cycles = |sim: &SimCache, time_reclaim: bool, n: u64| {
        let mut total = Duration::ZERO;
        for _ in 0..n {
            total += sim.cycle(time_reclaim)?;
        }
        Ok(total)
    };
    let mut sim_charge_r = |n| cycles(&sims[0], false, n);
    let mut sim_reclaim_r = |n| cycles(&sims[0], true, n);
    let mut one_charge_r = |n| cycles(&sims[1], false, n);
    let mut one_reclaim_r = |n| cycles(&sims[1], true, n);
    let mut runs: [&mut Run<'_>; 7] = [
        &mut atomic_r,
        &mut charge_r,
        &mut fake_r,
        &mut sim_charge_r,
        &mut sim_reclaim_r,
        &mut one_charge_r,
        &mut one_reclaim_r,
    ];
    let r = measure_rounds(t, &mut runs)?;
    let [atomic, charge, fake, sim_charge, sim_reclaim, one_charge, one_reclaim] = r.as_slice()
    else {
        return Err(BenchError::new("missing rounds"));
    };
    let per_page = |v: &[f64], n: u64| -> Vec<f64> { v.iter().map(|x| x / n as f64).collect() };
    let fake_total = median(&mut fake.clone());
    let fake = per_page(fake, fake_pages);
    put("memcg_atomic_pair_ns", median(&mut atomic.clone()), "ns");
    put("memcg_charge_pair_ns", median(&mut charge.clone()), "ns");
    put(
        "memcg_charge_vs_atomic",
        ratio_median(charge, atomic),
        "ratio",
    );
    put("memcg_reclaim_fake_pages", fake_pages as f64, "count");
    put("memcg_reclaim_fake_ns_per_reclaim", fake_total, "ns");
    put(
        "memcg_reclaim_fake_ns_per_page",
        median(&mut fake.clone()),
        "ns",
    );
    put(
        "memcg_reclaim_fake_vs_charge",
        ratio_median(&fake, charge),
        "ratio",
    );
    for (sim, prefix, charge, reclaim) in [
        (&sims[0], "memcg_sim", sim_charge, sim_reclaim),
        (&sims[1], "memcg_sim_1page", one_charge, one_reclaim),
    ] {
        let (charge, reclaim) = (per_page(charge, sim.pages), per_page(reclaim, sim.pages));
        put(&format!("{prefix}_pages"), sim.pages as f64, "count");
        put(&format!("{prefix}_files"), sim.files.len() as f64, "count");
        put(
            &format!("{prefix}_charge_ns_per_page"),
            median(&mut charge.clone()),
            "ns",
        );
        put(
            &format!("{prefix}_reclaim_ns_per_page"),
            median(&mut reclaim.clone()),
            "ns",
        );
        put(
            &format!("{prefix}_reclaim_vs_charge"),
            ratio_median(&reclaim, &charge),
            "ratio",
        );
    }
    Ok(())
}
