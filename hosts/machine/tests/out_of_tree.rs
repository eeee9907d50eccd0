//! A subsystem from outside gpc-subsystems runs on the simulated machine: registered
//! with `Machine::with_subsystems`, it mounts, shows its files (prefixed, in `ls` and
//! `/proc/cgroups`), gets its fork and attach hooks, and stays registered across a
//! script's `machine` command.

use core::sync::atomic::{AtomicU64, Ordering};

use gpc_core::files::{CfType, FileCtxOf, Out};
use gpc_core::testing::TestHost;
use gpc_core::{Css, DynSubsystem, Error, Hooks, Result, Subsystem, TaskInfo};
use gpc_machine::{Machine, Platform};
use gpc_script::Machine as _;

/// Counts the forks into each container and the tasks moved in.
struct Ticks;

#[derive(Default)]
struct TicksState {
    forks: AtomicU64,
    moved_in: AtomicU64,
}

fn read_forks(_: &Ticks, ctx: &FileCtxOf<'_, Ticks>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", ctx.css().forks.load(Ordering::Relaxed))
}

fn read_moved(_: &Ticks, ctx: &FileCtxOf<'_, Ticks>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", ctx.css().moved_in.load(Ordering::Relaxed))
}

fn reset(_: &Ticks, ctx: &FileCtxOf<'_, Ticks>, data: &[u8]) -> Result {
    let v = gpc_core::parse::write_u64_input(data)?;
    ctx.css().forks.store(v, Ordering::Relaxed);
    Ok(())
}

static TICKS_FILES: [CfType<Ticks>; 2] = [
    CfType::rw("forks", read_forks, reset),
    CfType::ro("moved_in", read_moved),
];

impl Subsystem for Ticks {
    type State = TicksState;
    const NAME: &'static str = "ticks";
    const HOOKS: Hooks = Hooks::FORK;

    fn files(&self) -> &'static [CfType<Self>] {
        &TICKS_FILES
    }

    fn create(&self, _parent: Option<Css<'_, Self>>) -> Result<TicksState> {
        Ok(TicksState::default())
    }

    fn fork(&self, _child: &TaskInfo, css: Css<'_, Self>) {
        css.forks.fetch_add(1, Ordering::Relaxed);
    }

    fn attach(&self, _task: &TaskInfo, _from: Css<'_, Self>, to: Css<'_, Self>) {
        to.moved_in.fetch_add(1, Ordering::Relaxed);
    }
}

static TICKS: Ticks = Ticks;

struct Std;

impl Platform for Std {
    type Host = TestHost;
    fn host(nr_cpus: usize, nr_mems: usize) -> Result<TestHost> {
        Ok(TestHost::new(nr_cpus, nr_mems))
    }
}

fn text(m: &mut Machine<Std>, path: &str) -> std::result::Result<String, Error> {
    Ok(String::from_utf8_lossy(&m.read(path)?).into_owned())
}

#[test]
fn an_out_of_tree_subsystem_mounts_counts_and_shows_its_files() -> std::result::Result<(), Error> {
    let list: [&'static dyn DynSubsystem; 2] = [&gpc_subsystems::pids::Pids, &TICKS];
    let mut m = Machine::<Std>::with_subsystems(4, 2, &list)?;
    // The script's `machine` command rebuilds the machine with the same list.
    m.configure(&gpc_script::MachineConfig {
        cpus: Some(2),
        mems: Some(1),
        ..Default::default()
    })?;
    m.mkdir("/cg", false)?;
    m.mount("cgroup", "ticks", "cgroup", "/cg")?;
    m.mkdir("/cg/a", false)?;
    let mut names = m.list("/cg/a")?;
    names.sort();
    assert!(names.iter().any(|n| n == "ticks.forks"), "{names:?}");
    assert!(names.iter().any(|n| n == "ticks.moved_in"), "{names:?}");

    let pid = m.spawn()?;
    m.write("/cg/a/tasks", format!("{pid}\n").as_bytes())?;
    assert_eq!(text(&mut m, "/cg/a/ticks.moved_in")?, "1\n");
    m.fork(pid)?;
    m.thread(pid)?;
    assert_eq!(text(&mut m, "/cg/a/ticks.forks")?, "2\n");
    assert_eq!(
        text(&mut m, "/cg/ticks.forks")?,
        "1\n",
        "the root's: the spawn from init only"
    );
    m.write("/cg/a/ticks.forks", b"0\n")?;
    assert_eq!(text(&mut m, "/cg/a/ticks.forks")?, "0\n");
    // A read-only file of its refuses writes as the core's own read-only files do.
    let refused = m.write("/cg/a/ticks.moved_in", b"0\n");
    assert!(refused.is_err());
    assert_eq!(refused, m.write("/cg/cgroup.sane_behavior", b"0\n"));
    assert_eq!(text(&mut m, "/cg/a/ticks.moved_in")?, "1\n");

    // Linux proc_cgroupstats_show: every registered subsystem, in registration order.
    let cgroups = text(&mut m, "/proc/cgroups")?;
    let names: Vec<&str> = cgroups
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    assert_eq!(names, ["pids", "ticks"]);
    let proc_self = text(&mut m, &format!("/proc/{pid}/cgroup"))?;
    assert!(proc_self.contains(":ticks:/a\n"), "{proc_self}");

    // A controller not in the list is an unknown option (Linux kernel/cgroup/cgroup-v1.c
    // cgroup1_parse_param: "Unknown subsys name", EINVAL).
    assert_eq!(
        m.mount("cgroup", "cpu", "cgroup", "/cg"),
        Err(Error::EINVAL)
    );
    Ok(())
}
