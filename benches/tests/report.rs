//! The report's logic in its tiny configuration: every figure is produced, the named ones
//! are there with their units, and the numbers are finite. No timing is asserted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "tests: a failed assertion is a failed test"
)]

use std::sync::{Mutex, MutexGuard, PoisonError};

use gpc_benches::alloc::{live_bytes, CountingAlloc};
use gpc_benches::report::{self, Config, Figure, NAMED};

#[global_allocator]
static ALLOC: CountingAlloc = CountingAlloc;

/// The memory figures count the whole process's heap: one test at a time.
static SERIAL: Mutex<()> = Mutex::new(());

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(PoisonError::into_inner)
}

fn unit_of(figs: &[Figure], name: &str) -> &'static str {
    figs.iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no figure {name}"))
        .unit
}

#[test]
fn tiny_report_has_every_named_figure() {
    let _serial = serial();
    let mut printed = Vec::new();
    let figs = report::run(&Config::tiny(), &mut |f| printed.push(f.to_string())).unwrap();
    assert_eq!(printed.len(), figs.len(), "every figure is emitted once");
    for line in &printed {
        let f = Figure::parse(line).unwrap_or_else(|| panic!("unparsable line {line:?}"));
        assert!(!f.name.contains(' '));
        assert!(f.value.is_finite(), "{line}");
    }
    for name in NAMED {
        let expect = match name {
            "hooks_share_of_pthread_create" => "percent",
            "bytes_per_task" => "bytes",
            "sim_rss_1m_tasks" => "MiB",
            _ => "ratio",
        };
        assert_eq!(unit_of(&figs, name), expect, "{name}");
    }
    let waits = figs
        .iter()
        .find(|f| f.name == "grace_period_waits_in_write_paths")
        .unwrap();
    assert_eq!(waits.value, 0.0, "a write path waited for a grace period");
    let mut names: Vec<&str> = figs.iter().map(|f| f.name.as_str()).collect();
    names.sort_unstable();
    let n = names.len();
    names.dedup();
    assert_eq!(names.len(), n, "figure names are unique");
}

#[test]
fn memory_figures_count_gpc_state() {
    let _serial = serial();
    assert!(
        live_bytes().is_some(),
        "the counting allocator is installed"
    );
    let figs = report::memory_figures(1_000, 10).unwrap();
    let get = |n: &str| figs.iter().find(|f| f.name == n).map(|f| f.value).unwrap();
    assert_eq!(get("mem_tasks"), 1_000.0);
    // One css_group per container, plus init's.
    assert_eq!(get("mem_css_groups"), 11.0);
    let slot = core::mem::size_of::<gpc_core::TaskSlot>() as f64;
    assert_eq!(get("task_slot_bytes"), slot);
    // The slot plus a css_group share that a thousand tasks of 11 css_groups make > 0.
    assert!(get("bytes_per_task") > slot);
}

#[test]
fn simulator_memory_figures_come_from_the_simulator() {
    let _serial = serial();
    let figs = gpc_benches::sim::sim_memory_figures(2_000, 10).unwrap();
    let get = |n: &str| figs.iter().find(|f| f.name == n).map(|f| f.value).unwrap();
    assert_eq!(get("sim_tasks"), 2_000.0);
    assert_eq!(get("sim_containers"), 10.0);
    // Past Linux's default pid_max, so that a million tasks fit.
    assert_eq!(get("sim_pid_max"), 4_194_304.0);
    assert!(get("sim_rss_1m_tasks") >= get("sim_rss_empty_machine"));
    // A task is its 72-byte slab entry (the 64-byte task with gpc's 24-byte slot and its
    // credentials, and the two links of its thread group's ring), 4 bytes of pid index,
    // and a share of its css_group and of the tables' growth slack: the simulator's
    // per-task maps (about 90 bytes more) are gone.
    let heap = get("sim_heap_bytes_per_task");
    assert!((66.0..92.0).contains(&heap), "{heap} heap bytes per task");
}

#[test]
fn tiny_lattice_section_has_its_figures() {
    let _serial = serial();
    let mut cfg = Config::tiny();
    cfg.only = Some(vec![report::Section::Lattice]);
    cfg.lattice_n = 2_000;
    let figs = report::run(&cfg, &mut |_| {}).unwrap();
    for name in [
        "read_tasks_10_of_1m_vs_10_of_1k",
        "read_tasks_ns_per_member",
        "list_walk_ns_per_node",
        "read_tasks_per_member_vs_list_walk",
        "css_group_free_1m_vs_1",
        "css_groups_1m_build_s",
    ] {
        let f = figs
            .iter()
            .find(|f| f.name == name)
            .unwrap_or_else(|| panic!("no figure {name}"));
        assert!(f.value.is_finite() && f.value > 0.0, "{name} = {}", f.value);
    }
    let groups = figs
        .iter()
        .find(|f| f.name == "lattice_css_groups")
        .unwrap();
    assert!(groups.value >= 2_000.0, "built {} css_groups", groups.value);
}
