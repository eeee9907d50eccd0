//! Release notifications a script leaves unread cost memory by the distinct groups and
//! agents they name, not by their number: the agent string is stored once, and a group
//! released again and again costs nothing more (live heap bytes, counted by gpc-core's
//! test allocator). Each release is still one agent call, printed by `releases` in
//! order, as on Linux (kernel/cgroup/cgroup-v1.c: `cgroup1_release_agent` runs the agent
//! once per run of the group's `release_agent_work`).

use gpc_core::testing::FailingAlloc;
use gpc_core::Result;
use gpc_script::Machine;
use gpc_sim::SimMachine;

/// Counts live heap bytes (and can fail allocations, unused here).
#[global_allocator]
static GLOBAL: FailingAlloc = FailingAlloc::new();

/// Live heap bytes now.
fn live() -> usize {
    GLOBAL.stats().live_bytes
}

/// A machine with `/cg/a` and `/cg/b` flagged, and an agent of 3,000 bytes.
fn machine() -> Result<SimMachine> {
    let mut m = SimMachine::new()?;
    let agent = format!("/{}", "x".repeat(2_999));
    m.mount(
        "cgroup",
        &format!("none,name=rel,release_agent={agent}"),
        "cgroup",
        "/cg",
    )?;
    for g in ["a", "b"] {
        m.mkdir(&format!("/cg/{g}"), false)?;
        m.write(&format!("/cg/{g}/notify_on_release"), b"1\n")?;
    }
    Ok(m)
}

/// A task enters `/cg/GROUP` and exits: one release of the group.
fn release(m: &mut SimMachine, group: &str) -> Result {
    let pid = m.spawn()?;
    m.write(&format!("/cg/{group}/tasks"), pid.to_string().as_bytes())?;
    m.exit(pid)
}

#[test]
fn unread_releases_cost_the_groups_not_the_calls() -> Result {
    let mut m = machine()?;
    // Warm up every structure the loop touches (task table, pids, the log's one run).
    for _ in 0..100 {
        release(&mut m, "a")?;
    }
    let before = live();
    for _ in 0..20_000 {
        release(&mut m, "a")?;
    }
    let same_group = live().saturating_sub(before);
    // Two groups in turn: a few bytes a call for the order, no string per call.
    let before = live();
    for i in 0..20_000 {
        release(&mut m, if i % 2 == 0 { "a" } else { "b" })?;
    }
    let alternating = live().saturating_sub(before);
    println!(
        "20,000 unread releases of one group: +{same_group} bytes; of two in turn: \
         +{alternating} bytes (each used to copy the 3,000-byte agent: 60 MB)"
    );
    assert!(same_group < 16 * 1024, "{same_group}");
    assert!(alternating < 20_000 * 32, "{alternating}");
    let paths = m.take_releases()?;
    assert_eq!(paths.len(), 40_100);
    assert_eq!(
        paths.get(20_100..20_104),
        Some(&["/a", "/b", "/a", "/b"].map(String::from)[..])
    );
    assert!(m.take_releases()?.is_empty());
    Ok(())
}
