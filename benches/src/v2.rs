//! The `v2` section of bench-report: what the unified hierarchy's operations cost as
//! the machine grows.
//!
//! - `v2_enable_100x_tasks_ratio`: enabling and disabling a controller that keeps
//!   nothing per task ([`gpc_core::Subsystem::NO_TASK_STATE`]) in the root's
//!   `cgroup.subtree_control` (the pair, through `Gpc::write`) with 1,000 groups below,
//!   one css_group each, holding 100 tasks each vs 1 task each (100,000 vs 1,000 tasks).
//!   Its slot of each css_group is re-pointed in place: the cost follows the css_groups,
//!   not the tasks (1 here; 100 would be a cost in tasks).
//!   `v2_enable_ns_per_css_group` is the small case's cost per css_group.
//! - `v2_enable_moving_100x_tasks_ratio`: the same with a controller that has per-task
//!   state (the default), whose tasks move to new css_groups with `attach`, as Linux's
//!   `cgroup_update_dfl_csses` migrates every task: this ratio says how much the tasks
//!   add.
//! - `v2_move_many_vs_few_groups`: moving a process between two groups (a
//!   `cgroup.procs` write, there and back) with 10,000 vs 10 sibling groups in the
//!   hierarchy: flat, since a move touches only its two groups; `v2_move_ns` is the pair
//!   with 10 groups.
//!
//! The controller is the section's own ([`DflProbe`]): gpc-subsystems' controllers have
//! no v2 files yet, and a controller is offered on v2 only with them.

use gpc_core::files::{CfFlags, CfType, FileCtxOf, Out};
use gpc_core::host::task::Caller;
use gpc_core::{Creds, Css, Gpc, HierarchyId, Pid, Result, Subsystem};

use crate::host::{rcu, BenchHost};
use crate::tasks::Tasks;
use crate::timing::{measure_rounds, median, ratio_median, timed, Timing};
use crate::{BenchError, Ctx};

/// A controller with one v2 file, no hooks and nothing per task: re-pointed in place.
pub struct DflProbe;

/// The same without the promise: a v2 enable moves its tasks.
pub struct DflMover;

fn read_nothing(_: &DflProbe, _: &FileCtxOf<'_, DflProbe>, out: &mut Out<'_>) -> Result {
    out.bytes(b"0\n")
}

static DFL_FILES: [CfType<DflProbe>; 1] =
    [CfType::ro("value", read_nothing).with_flags(CfFlags::ONLY_ON_DFL)];

impl Subsystem for DflProbe {
    type State = ();
    const NAME: &'static str = "dflprobe";
    const NO_TASK_STATE: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        &DFL_FILES
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<()> {
        Ok(())
    }
}

fn read_mover(_: &DflMover, _: &FileCtxOf<'_, DflMover>, out: &mut Out<'_>) -> Result {
    out.bytes(b"0\n")
}

static MOVER_FILES: [CfType<DflMover>; 1] =
    [CfType::ro("value", read_mover).with_flags(CfFlags::ONLY_ON_DFL)];

impl Subsystem for DflMover {
    type State = ();
    const NAME: &'static str = "dflmover";

    fn files(&self) -> &'static [CfType<Self>] {
        &MOVER_FILES
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<()> {
        Ok(())
    }
}

static DFL_PROBE: DflProbe = DflProbe;
static DFL_MOVER: DflMover = DflMover;

/// gpc with the unified hierarchy and `groups` sibling groups under its root, each
/// holding `per_group` tasks (one css_group each).
struct V2World {
    gpc: Gpc<BenchHost>,
    tasks: Tasks,
    h: HierarchyId,
    /// The first task of groups 0 and 1 (the move figure moves it back and forth).
    mover: Pid,
}

impl V2World {
    fn new(groups: usize, per_group: usize) -> Result<V2World, BenchError> {
        let gpc = Gpc::new(BenchHost::machine(), &[&DFL_PROBE, &DFL_MOVER]).ctx("Gpc::new")?;
        let mut tasks = Tasks::with_capacity(groups * per_group + 1);
        tasks.add_init(&gpc)?;
        let root = Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks: &tasks,
        };
        let h = gpc.mount_v2("", &root).ctx("mount cgroup2")?;
        let mut mover = 1;
        for g in 0..groups {
            let path = format!("g{g}");
            gpc.mkdir(h, &path).ctx("mkdir")?;
            let first = tasks.fork(&gpc, 1)?;
            gpc.attach(h, &path, &tasks.task_ref(first)?)
                .ctx("attach")?;
            for _ in 1..per_group {
                tasks.fork(&gpc, first)?;
            }
            if g == 0 {
                mover = first;
            }
        }
        Ok(V2World {
            gpc,
            tasks,
            h,
            mover,
        })
    }

    fn write(&self, path: &str, data: &str) -> Result<(), BenchError> {
        let caller = Caller {
            creds: Creds::ROOT,
            pid: None,
            tasks: &self.tasks,
        };
        self.gpc
            .write(self.h, path, data.as_bytes(), &caller)
            .ctx(format_args!("write {path}"))
    }

    fn toggle(&self, name: &str) -> Result<(), BenchError> {
        self.write("cgroup.subtree_control", &format!("+{name}"))?;
        self.write("cgroup.subtree_control", &format!("-{name}"))
    }

    fn move_there_and_back(&self, pid: &str) -> Result<(), BenchError> {
        self.write("g1/cgroup.procs", pid)?;
        self.write("g0/cgroup.procs", pid)
    }
}

impl Drop for V2World {
    fn drop(&mut self) {
        self.tasks.exit_all(&self.gpc);
        rcu::quiescent();
    }
}

/// The section's figures, through `put(name, value, unit)`. `groups`: the groups of
/// the enable figure (the 1,000); `tasks_per_group`: its two sizes.
///
/// # Errors
///
/// Setup or run errors.
pub fn v2(
    t: &Timing,
    groups: usize,
    move_groups: (usize, usize),
    put: &mut dyn FnMut(&str, f64, &'static str),
) -> Result<(), BenchError> {
    let small = V2World::new(groups, 1)?;
    let big = V2World::new(groups, 100)?;
    let mut s = |n| timed(n, true, || small.toggle("dflprobe"));
    let mut b = |n| timed(n, true, || big.toggle("dflprobe"));
    let mut sm = |n| timed(n, true, || small.toggle("dflmover"));
    let mut bm = |n| timed(n, true, || big.toggle("dflmover"));
    let r = measure_rounds(t, &mut [&mut b, &mut s, &mut bm, &mut sm])?;
    if let [bv, sv, bmv, smv] = r.as_slice() {
        put("v2_enable_100x_tasks_ratio", ratio_median(bv, sv), "ratio");
        let mut sv = sv.clone();
        put(
            "v2_enable_ns_per_css_group",
            median(&mut sv) / groups.max(1) as f64,
            "ns",
        );
        put(
            "v2_enable_moving_100x_tasks_ratio",
            ratio_median(bmv, smv),
            "ratio",
        );
    }
    drop((small, big));
    let few = V2World::new(move_groups.0.max(2), 1)?;
    let many = V2World::new(move_groups.1.max(2), 1)?;
    let (fp, mp) = (few.mover.to_string(), many.mover.to_string());
    let mut f = |n| timed(n, true, || few.move_there_and_back(&fp));
    let mut m = |n| timed(n, true, || many.move_there_and_back(&mp));
    let r = measure_rounds(t, &mut [&mut m, &mut f])?;
    if let [mv, fv] = r.as_slice() {
        put("v2_move_many_vs_few_groups", ratio_median(mv, fv), "ratio");
        let mut fv = fv.clone();
        put("v2_move_ns", median(&mut fv), "ns");
    }
    Ok(())
}
