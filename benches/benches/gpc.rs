//! Criterion benchmarks of gpc's fast paths, with their hardware baselines and the
//! real-kernel anchor in the same run (`cargo bench -p gpc-benches`; HTML reports with
//! plots under `target/criterion/`). Filter as usual: `cargo bench -p gpc-benches --
//! fork_exit`. Machines are built lazily, so a filter skips the setups it does not need
//! (the 100,000-container and 1,000,000-css_group ones take seconds).
//!
//! Attaches go through `Gpc::attach` (path resolution and the move, without parsing a
//! pid or checking permissions); each measured iteration is one attach (half of a move
//! there and back). Lookups are timed as a dependent chain (latency, the figure the
//! two-dependent-loads baseline is the floor of) and as independent calls (throughput).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "benchmark setup: a failing setup is a broken benchmark, and the panic says why"
)]

use std::cell::OnceCell;
use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{AxisScale, BenchmarkId, Criterion, PlotConfiguration, Throughput};
use gpc_benches::baseline::{
    arc_clone_drop, spin_lock_unlock, two_loads_chain, Chain, HashLookup, TwoLoads,
};
use gpc_benches::host::rcu;
use gpc_benches::report::slot_of;
use gpc_benches::threads::{fork_exit_threads, threads_world, PrivateArcs};
use gpc_benches::timing::{timed, timed_plain};
use gpc_benches::world::{
    fork_exit, fork_world, Child, Controllers, FlatWorld, GroupsWorld, WORK_HIER,
};
use gpc_core::host::lock::{Lock, RawSpin};

const CONTAINERS: [usize; 3] = [10, 10_000, 100_000];
const RESIDENTS: [usize; 2] = [1, 10_000];
const CSS_GROUPS: [usize; 3] = [10, 10_000, 1_000_000];

fn log_plots() -> PlotConfiguration {
    PlotConfiguration::default().summary_scale(AxisScale::Logarithmic)
}

fn baselines(c: &mut Criterion) {
    let mut g = c.benchmark_group("baseline");
    let arc = Arc::new(1u64);
    g.bench_function("arc_clone_drop", |b| {
        b.iter_custom(|n| timed_plain(n, |_| arc_clone_drop(&arc)))
    });
    let two = TwoLoads::new();
    // Latency: each lookup's slot address depends on the previous result.
    g.bench_function("two_dependent_loads", |b| {
        b.iter_custom(|n| {
            let start = Instant::now();
            two_loads_chain(black_box(two.slot()), black_box(1), n);
            start.elapsed()
        })
    });
    // Throughput: independent lookups overlap.
    g.bench_function("two_dependent_loads_throughput", |b| {
        b.iter_custom(|n| {
            timed_plain(n, |_| {
                black_box(TwoLoads::lookup(black_box(two.slot()), black_box(1)));
            })
        })
    });
    let hl = HashLookup::new();
    g.bench_function("hashbrown_lookup_8word", |b| {
        b.iter_custom(|n| {
            timed_plain(n, |i| {
                black_box(hl.lookup(i as usize));
            })
        })
    });
    let Ok(sl) = Lock::<u64, RawSpin>::try_new(0, gpc_core::lock_class!(c"bench_spin")) else {
        return;
    };
    g.bench_function("spinlock_lock_unlock", |b| {
        b.iter_custom(|n| timed_plain(n, |_| spin_lock_unlock(&sl)))
    });
    g.finish();
}

fn fork_exit_pair(c: &mut Criterion) {
    let mut g = c.benchmark_group("fork_exit");
    for (name, ctl) in [
        ("3hier_8subsys_no_fork_hooks", Controllers::NoForkHooks),
        ("3hier_9subsys_pids_hook", Controllers::WithPids),
    ] {
        // Criterion calls the closure once per sample: machines are made once, outside.
        let world = OnceCell::new();
        let child = Child::new(1_000_000);
        g.bench_function(name, |b| {
            let (w, p) = world.get_or_init(|| fork_world(ctl, 0).unwrap());
            let parent = slot_of(w, *p).unwrap();
            b.iter_custom(|n| timed(n, false, || fork_exit(&w.gpc, parent, &child)).unwrap());
        });
    }
    g.finish();
}

fn lookup(c: &mut Criterion) {
    let mut g = c.benchmark_group("lookup");
    let world = OnceCell::new();
    let get = || world.get_or_init(|| fork_world(Controllers::NoForkHooks, 0).unwrap());
    g.bench_function("task_css", |b| {
        let (w, p) = get();
        let slot = slot_of(w, *p).unwrap();
        let ss = w.gpc.subsys_id("cpu").unwrap();
        b.iter_custom(|n| {
            let guard = w.gpc.rcu_read_lock();
            let chain = Chain::new();
            let (slot, ss) = (black_box(slot), black_box(ss));
            let mut dep = 0usize;
            let start = Instant::now();
            for _ in 0..n {
                dep = usize::from(w.gpc.task_css(&guard, chain.dep(slot, dep), ss).is_some());
            }
            let d = start.elapsed();
            black_box(dep);
            drop(guard);
            d
        });
    });
    g.bench_function("task_css_throughput", |b| {
        let (w, p) = get();
        let slot = slot_of(w, *p).unwrap();
        let ss = w.gpc.subsys_id("cpu").unwrap();
        b.iter_custom(|n| {
            let guard = w.gpc.rcu_read_lock();
            let d = timed_plain(n, |_| {
                black_box(w.gpc.task_css(&guard, black_box(slot), black_box(ss)));
            });
            drop(guard);
            d
        });
    });
    g.bench_function("rcu_read_lock_task_css", |b| {
        let (w, p) = get();
        let slot = slot_of(w, *p).unwrap();
        let ss = w.gpc.subsys_id("cpu").unwrap();
        b.iter_custom(|n| {
            timed_plain(n, |_| {
                let guard = w.gpc.rcu_read_lock();
                black_box(w.gpc.task_css(&guard, black_box(slot), black_box(ss)));
                drop(guard);
            })
        });
    });
    g.finish();
}

fn anchor(c: &mut Criterion) {
    let mut g = c.benchmark_group("anchor");
    g.bench_function("pthread_create_join", |b| {
        b.iter_custom(|n| timed(n, false, gpc_benches::anchor::pthread_create_join).unwrap())
    });
    g.bench_function("std_thread_spawn_join", |b| {
        b.iter_custom(|n| timed(n, false, gpc_benches::anchor::std_spawn_join).unwrap())
    });
    g.finish();
}

fn threads(c: &mut Criterion) {
    let world = OnceCell::new();
    let get = || world.get_or_init(|| threads_world().unwrap());
    let mut g = c.benchmark_group("fork_exit_threads");
    for (name, which) in [
        ("1_thread", &[0usize][..]),
        ("2_threads_same_container", &[0, 1][..]),
        ("2_threads_two_containers", &[0, 2][..]),
    ] {
        g.throughput(Throughput::Elements(which.len() as u64));
        g.bench_function(name, |b| {
            let (w, pids) = get();
            let slots: Vec<_> = which
                .iter()
                .map(|&i| slot_of(w, *pids.get(i).unwrap()).unwrap())
                .collect();
            b.iter_custom(|n| fork_exit_threads(w, &slots, n).unwrap());
        });
    }
    // What two threads can reach on this machine right now: private counters (the
    // ceiling) and one shared counter (what a single refcount would cost).
    let arcs = PrivateArcs::new();
    for (name, threads, shared) in [
        ("arc_1_thread", 1, false),
        ("arc_2_threads_private", 2, false),
        ("arc_2_threads_shared", 2, true),
    ] {
        g.throughput(Throughput::Elements(threads as u64));
        g.bench_function(name, |b| {
            b.iter_custom(|n| arcs.run(threads, shared, n).unwrap())
        });
    }
    g.finish();
}

fn attach_and_mkdir(c: &mut Criterion) {
    let mut residents = RESIDENTS.to_vec();
    residents.push(0);
    let worlds: [OnceCell<FlatWorld>; 3] = Default::default();
    let get = |i: usize| {
        worlds[i].get_or_init(|| {
            let fw = FlatWorld::new(CONTAINERS[i], &residents).unwrap();
            rcu::quiescent();
            fw
        })
    };
    // One group, so that criterion's summary plot (containers/report/lines.svg) shows
    // every operation against the number of containers.
    let mut g = c.benchmark_group("containers");
    g.plot_config(log_plots());
    for (pair, &k) in residents.iter().enumerate() {
        let name = if k == 0 {
            "attach_new".to_string()
        } else {
            format!("attach_existing_{k}_tasks")
        };
        for (i, &n) in CONTAINERS.iter().enumerate() {
            g.bench_with_input(BenchmarkId::new(&name, n), &n, |b, _| {
                let fw = get(i);
                b.iter_custom(|iters| {
                    // One measured iteration = one attach (half a move there and back).
                    timed(iters.div_ceil(2), true, || fw.attach_there_and_back(pair)).unwrap()
                });
            });
        }
    }
    for (i, &n) in CONTAINERS.iter().enumerate() {
        g.bench_with_input(BenchmarkId::new("mkdir_rmdir", n), &n, |b, _| {
            let fw = get(i);
            b.iter_custom(|iters| timed(iters, true, || fw.mkdir_rmdir()).unwrap());
        });
    }
    g.finish();
}

fn find_or_create(c: &mut Criterion) {
    let mut g = c.benchmark_group("find_or_create");
    g.plot_config(log_plots());
    for n in CSS_GROUPS {
        let world = OnceCell::new();
        g.bench_with_input(BenchmarkId::new("css_groups", n), &n, |b, &n| {
            let gw = world.get_or_init(|| GroupsWorld::new(n).unwrap());
            b.iter_custom(|iters| {
                timed(iters.div_ceil(2), true, || gw.attach_new_there_and_back()).unwrap()
            });
        });
    }
    g.finish();
}

fn reads(c: &mut Criterion) {
    let mut g = c.benchmark_group("read");
    let big = OnceCell::new();
    g.bench_function("tasks_of_10000", |b| {
        let (w, _) = big.get_or_init(|| fork_world(Controllers::NoForkHooks, 9_999).unwrap());
        let h = w.hiers[WORK_HIER];
        let caller = w.tasks.root_caller();
        let mut buf = Vec::with_capacity(80_000);
        b.iter(|| {
            buf.clear();
            w.gpc.read(h, "c0/tasks", &caller, &mut buf).unwrap();
        });
    });
    let small = OnceCell::new();
    g.bench_function("proc_pid_cgroup", |b| {
        let (w, p) = small.get_or_init(|| fork_world(Controllers::NoForkHooks, 0).unwrap());
        let slot = slot_of(w, *p).unwrap();
        let mut buf = Vec::with_capacity(256);
        b.iter(|| {
            buf.clear();
            w.gpc.proc_pid_cgroup(slot, &mut buf).unwrap();
        });
    });
    g.finish();
}

fn main() {
    let mut c = Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(30)
        .nresamples(20_000)
        .configure_from_args();
    baselines(&mut c);
    fork_exit_pair(&mut c);
    lookup(&mut c);
    anchor(&mut c);
    threads(&mut c);
    attach_and_mkdir(&mut c);
    find_or_create(&mut c);
    reads(&mut c);
    c.final_summary();
}
