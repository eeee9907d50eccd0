//! The shell's new commands on hostile trees: a glob over a huge directory, `tree` of
//! more groups than it prints and of a deep chain, `top`'s
//! limits. Every one is bounded (an errno or a capped output), never a hang, a panic or
//! a stack overflow.

use gpc_script::{Machine, Mode};
use gpc_sim::SimMachine;

type R = Result<(), String>;

fn run(m: &mut SimMachine, script: &str) -> Result<String, String> {
    let mut out: Vec<u8> = Vec::new();
    gpc_script::run_script(m, script.as_bytes(), Mode::Echo, &mut out)
        .map_err(|e| e.to_string())?;
    Ok(String::from_utf8_lossy(&out).into_owned())
}

/// A machine with a named hierarchy on /cg holding `groups` groups `g0`, `g1`, ...
fn wide(groups: usize) -> Result<SimMachine, String> {
    let mut m = SimMachine::new().map_err(|e| e.to_string())?;
    m.mount("cgroup", "none,name=wide", "cgroup", "/cg")
        .map_err(|e| e.to_string())?;
    for i in 0..groups {
        m.mkdir(&format!("/cg/g{i}"), false)
            .map_err(|e| format!("g{i}: {e}"))?;
    }
    Ok(m)
}

#[test]
fn a_glob_over_a_huge_tree_is_e2big() -> R {
    // 14,000 groups of 4 files each: `/cg/*/*` would look at 70,000 entries, more than
    // gpc_script::glob::MAX_GLOB_ENTRIES (65,536).
    let mut m = wide(14_000)?;
    const { assert!(14_000 * 5 > gpc_script::glob::MAX_GLOB_ENTRIES) };
    let out = run(
        &mut m,
        "cat /cg/*/*\nls /cg/g1399?\ncat /cg/g1399*/notify_on_release\n",
    )?;
    let mut want = String::from("$ cat /cg/*/*\nerror: E2BIG\n$ ls /cg/g1399?\n");
    // Ten groups match `g1399?`: one operand too many for `ls`.
    want.push_str("error: EINVAL\n$ cat /cg/g1399*/notify_on_release\n");
    want.push_str(&"0\n".repeat(11));
    assert_eq!(out, want);
    Ok(())
}

#[test]
fn overlong_and_pathological_patterns_are_bounded() -> R {
    let mut m = wide(3)?;
    let long = format!("/cg/{}*", "x".repeat(4100));
    let stars = format!("/cg/{}b", "*a".repeat(1500));
    let out = run(
        &mut m,
        &format!("cat {long}\ncat {stars}\ncat /cg/[g]0/tasks\n"),
    )?;
    assert!(out.contains("*\nerror: ENAMETOOLONG\n"), "{out}");
    // No name matches; the literal pattern is then looked up, and is not there.
    assert!(out.contains("b\nerror: ENOENT\n"), "{out}");
    assert!(out.ends_with("$ cat /cg/[g]0/tasks\n"), "{out}");
    Ok(())
}

#[test]
fn tree_prints_at_most_max_view_lines() -> R {
    let groups = gpc_script::views::MAX_VIEW_LINES + 2_000;
    let mut m = wide(groups)?;
    let out = run(&mut m, "tree /cg\n")?;
    let lines: Vec<&str> = out.lines().collect();
    // `$ tree /cg`, then MAX_VIEW_LINES lines (header, init, groups), then the rest
    // counted: 1 + 1 + groups lines in all.
    assert_eq!(lines.len(), 1 + gpc_script::views::MAX_VIEW_LINES + 1);
    assert_eq!(lines.get(1).copied(), Some("/cg:"));
    assert_eq!(lines.get(2).copied(), Some("├─1 init"));
    let hidden = 2 + groups - gpc_script::views::MAX_VIEW_LINES;
    assert_eq!(lines.last().copied(), Some(&*format!("... {hidden} more")));
    Ok(())
}

#[test]
fn tree_of_a_deep_chain_does_not_recurse() -> R {
    let mut m = wide(0)?;
    // 400 levels. `tree` keeps a frame per level on a heap stack, never a call frame
    // (the hobby kernel's stack is small). Deeper chains, up to PATH_MAX (2,045
    // levels of `/a`), work the same but cost more than a test should: every file
    // operation walks its whole path, so a chain costs the cube of its depth.
    let levels = 400;
    let deep = format!("/cg{}", "/a".repeat(levels));
    m.mkdir(&deep, true).map_err(|e| e.to_string())?;
    let out = run(&mut m, "tree /cg\ncd /cg/a/a/a\npwd\ncd ../../..\npwd\n")?;
    let lines: Vec<&str> = out.lines().collect();
    // The command, the header, init, then one line per level.
    assert_eq!(lines.get(2).copied(), Some("├─1 init"));
    let last_level = lines.get(3 + levels - 1).copied().unwrap_or("");
    assert_eq!(last_level, format!("{}└─a", "  ".repeat(levels - 1)));
    assert!(
        out.ends_with("$ pwd\n/cg/a/a/a\n$ cd ../../..\n$ pwd\n/cg\n"),
        "{out:.200}"
    );
    Ok(())
}

#[test]
fn top_limits() -> R {
    let mut m = wide(1)?;
    let out = run(&mut m, "top -n 0\ntop -n 1001\ntop -d 0\ntop -d 1 -n 1\n")?;
    assert_eq!(
        out,
        "$ top -n 0\nerror: EINVAL\n$ top -n 1001\nerror: EINVAL\n$ top -d 0\nerror: EINVAL\n\
         $ top -d 1 -n 1\n\
         Control Group  Tasks   %CPU   Memory  Input/s Output/s\n\
         /                  1      -        -        -        -\n\
         /g0                0      -        -        -        -\n"
    );
    Ok(())
}
