//! `tree` and `top`: views of the cgroup hierarchies made of the machine's files, the
//! way systemd-cgls and systemd-cgtop show them.
//!
//! Both only read (`list`, [`Machine::is_dir`], `read`), so they work on any
//! [`Machine`]. A directory inside a mount is a group; its tasks are the ids in its
//! `tasks` file (threads too: in cgroup v1 the threads of one process may sit in
//! different groups).
//!
//! * `tree [PATH]` prints `PATH:` and then the group as a tree: first its tasks
//!   (`├─PID NAME`), then its child groups sorted bytewise, each with its own tasks and
//!   children below it, drawn with box-drawing characters (`├─`, `└─`, `│`; ASCII `|-`,
//!   `` `- ``, `|` when the host asks for it). NAME is the script variable that holds the
//!   task's id (`spawn A` names it `A`; the first name in byte order if several do),
//!   `init` for pid 1 when no variable names it, nothing otherwise. Without PATH: every
//!   visible cgroup mount, oldest first ([`Machine::cgroup_mounts`]).
//! * `top [-b] [-d MS] [-n N]` prints, N times (default 1), the table of
//!   systemd-cgtop: `Control Group`, `Tasks`, `%CPU`, `Memory`, `Input/s`, `Output/s`,
//!   one row per group path found in any mounted hierarchy (the same path in several
//!   hierarchies is one row, as cgtop merges them), sorted by `%CPU` (highest first),
//!   then by path. Each iteration **advances the simulated clock by MS milliseconds**
//!   (default 1000, cgtop's default delay) with `run MS`: `%CPU` is the growth of the
//!   group's `cpuacct.usage` over that interval (100% is one CPU, so it reaches 100
//!   times the CPUs, as in cgtop); `Memory` is `memory.usage_in_bytes` after it, in
//!   cgtop's units (`B`, then `K`, `M`, `G`, `T`, ... of 1024 with one decimal); `Tasks`
//!   counts the ids in the `tasks` files of the group and its descendants (cgtop's
//!   default `--recursive=yes`) in the first mounted hierarchy that has the group. A
//!   value without its controller mounted is `-`; `Input/s` and `Output/s` are always
//!   `-`: gpc has no block I/O controller. Iterations are separated by a blank line.
//!   There is no screen refresh: the interpreter always prints as cgtop's `-b`.
//!
//! Output is bounded: at most [`MAX_VIEW_LINES`] lines (tree) or rows (each `top`
//! iteration), then `... N more`. The walk itself costs what the tree has (every group
//! is listed once, every entry of it is looked at once) and never recurses: a stack of
//! frames, one per level, keeps the hobby kernel's stack flat however deep the tree.
//! Each view is built in memory first and printed whole, so `ENOMEM` prints only the
//! error; `top`'s `run` is a step that stays done, like `mkdir -p`'s levels.

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use gpc_core::Error;

use crate::interp::{try_format, Output};
use crate::machine::{Machine, Pid};

/// The most lines `tree` prints, and rows one `top` iteration prints.
pub const MAX_VIEW_LINES: usize = 10_000;
/// `top`'s interval without `-d`: systemd-cgtop's default of one second.
pub const TOP_DEFAULT_DELAY_MS: u64 = 1000;
/// The most iterations one `top` may ask for.
pub const MAX_TOP_ITERATIONS: u64 = 1000;

/// The text a view prints, built fallibly before any of it is printed.
#[derive(Default)]
struct Text {
    bytes: Vec<u8>,
    lines: usize,
    hidden: u64,
}

impl Text {
    /// One line of `parts`, or one more hidden past the cap.
    fn line(&mut self, parts: &[&[u8]]) -> Result<(), Error> {
        if self.lines >= MAX_VIEW_LINES {
            self.hidden = self.hidden.saturating_add(1);
            return Ok(());
        }
        let len = parts.iter().map(|p| p.len()).sum::<usize>();
        self.bytes.try_reserve(len.saturating_add(1))?;
        for p in parts {
            self.bytes.extend_from_slice(p);
        }
        self.bytes.push(b'\n');
        self.lines += 1;
        Ok(())
    }

    /// The `... N more` line, if lines were left out.
    fn finish(&mut self) -> Result<(), Error> {
        if self.hidden > 0 {
            let more = try_format(format_args!("... {} more\n", self.hidden))?;
            self.bytes.try_reserve(more.len())?;
            self.bytes.extend_from_slice(more.as_bytes());
        }
        Ok(())
    }
}

fn join(dir: &str, name: &str) -> Result<String, Error> {
    let mut s = String::new();
    s.try_reserve(dir.len() + name.len() + 1)?;
    s.push_str(dir);
    if !dir.ends_with('/') {
        s.push('/');
    }
    s.push_str(name);
    Ok(s)
}

/// The child groups of `dir`, sorted bytewise; none where it cannot be listed.
fn subgroups<M: Machine + ?Sized>(machine: &mut M, dir: &str) -> Result<Vec<String>, Error> {
    let names = match machine.list(dir) {
        Ok(n) => n,
        Err(Error::ENOMEM) => return Err(Error::ENOMEM),
        Err(_) => return Ok(Vec::new()),
    };
    let mut groups = Vec::new();
    groups.try_reserve_exact(names.len())?;
    for name in names {
        match machine.is_dir(&join(dir, &name)?) {
            Ok(true) => groups.push(name),
            Err(Error::ENOMEM) => return Err(Error::ENOMEM),
            Ok(false) | Err(_) => {}
        }
    }
    groups.sort_unstable();
    Ok(groups)
}

/// The ids in `dir/tasks`, in the file's order; none where it cannot be read.
fn tasks_of<M: Machine + ?Sized>(machine: &mut M, dir: &str) -> Result<Vec<Pid>, Error> {
    let contents = match machine.read(&join(dir, "tasks")?) {
        Ok(c) => c,
        Err(Error::ENOMEM) => return Err(Error::ENOMEM),
        Err(_) => return Ok(Vec::new()),
    };
    let ids = || {
        contents
            .split(|&b| b == b'\n')
            .filter_map(|l| core::str::from_utf8(l).ok()?.trim().parse::<Pid>().ok())
    };
    let mut pids = Vec::new();
    pids.try_reserve_exact(ids().count())?;
    pids.extend(ids());
    Ok(pids)
}

/// Box-drawing or ASCII pieces of a tree: branch, last branch, continuation, blank.
fn glyphs(ascii: bool) -> [&'static str; 4] {
    if ascii {
        ["|-", "`-", "| ", "  "]
    } else {
        ["├─", "└─", "│ ", "  "]
    }
}

/// One group of the tree being printed: its path, the prefix of its lines, its child
/// groups and the next one to print.
struct Frame {
    dir: String,
    prefix: String,
    children: Vec<String>,
    next: usize,
}

/// The name a task goes by: its first variable, or `init` for pid 1.
fn task_name<'n>(names: &[(Pid, &'n str)], pid: Pid) -> &'n str {
    let i = names.partition_point(|(p, _)| *p < pid);
    match names.get(i) {
        Some((p, name)) if *p == pid => name,
        _ if pid == 1 => "init",
        _ => "",
    }
}

/// Prints the tasks of group `dir` and returns its frame.
fn open_group<M: Machine + ?Sized>(
    machine: &mut M,
    dir: String,
    prefix: String,
    names: &[(Pid, &str)],
    glyph: [&str; 4],
    text: &mut Text,
) -> Result<Frame, Error> {
    let tasks = tasks_of(machine, &dir)?;
    let children = subgroups(machine, &dir)?;
    let [branch, last_branch, _, _] = glyph;
    let mut id = String::new();
    for (i, &pid) in tasks.iter().enumerate() {
        let last = i + 1 == tasks.len() && children.is_empty();
        id.clear();
        id.try_reserve(11)?;
        let _ = write!(id, "{pid}");
        let name = task_name(names, pid);
        let sep: &[u8] = if name.is_empty() { b"" } else { b" " };
        let g = if last { last_branch } else { branch };
        text.line(&[
            prefix.as_bytes(),
            g.as_bytes(),
            id.as_bytes(),
            sep,
            name.as_bytes(),
        ])?;
    }
    Ok(Frame {
        dir,
        prefix,
        children,
        next: 0,
    })
}

/// `tree`: every root in turn (a blank line between them); `ENOTDIR` for a root that is
/// a file, the machine's errno for one that is not there.
pub(crate) fn tree<M: Machine + ?Sized>(
    machine: &mut M,
    roots: &[String],
    names: &[(Pid, &str)],
    ascii: bool,
    out: &mut dyn Output,
) -> Result<(), Error> {
    let glyph = glyphs(ascii);
    let [branch, last_branch, pipe, blank] = glyph;
    let mut text = Text::default();
    for (r, root) in roots.iter().enumerate() {
        if !machine.is_dir(root)? {
            return Err(Error::ENOTDIR);
        }
        if r > 0 {
            text.line(&[])?;
        }
        text.line(&[root.as_bytes(), b":"])?;
        let mut stack: Vec<Frame> = Vec::new();
        stack.try_reserve(1)?;
        let first = open_group(
            machine,
            try_format(format_args!("{root}"))?,
            String::new(),
            names,
            glyph,
            &mut text,
        )?;
        stack.push(first);
        while let Some(top) = stack.last_mut() {
            let Some(name) = top.children.get(top.next) else {
                stack.pop();
                continue;
            };
            top.next += 1;
            let last = top.next == top.children.len();
            let g = if last { last_branch } else { branch };
            text.line(&[top.prefix.as_bytes(), g.as_bytes(), name.as_bytes()])?;
            let dir = join(&top.dir, name)?;
            let mut prefix = String::new();
            prefix.try_reserve(top.prefix.len() + 4)?;
            prefix.push_str(&top.prefix);
            prefix.push_str(if last { blank } else { pipe });
            stack.try_reserve(1)?;
            let frame = open_group(machine, dir, prefix, names, glyph, &mut text)?;
            stack.push(frame);
        }
    }
    text.finish()?;
    out.write_bytes(&text.bytes);
    Ok(())
}

/// What `top` knows of one mounted hierarchy.
struct Hier {
    root: String,
    cpuacct: bool,
    memory: bool,
}

/// One row of `top`.
struct Row {
    /// The group's path in its hierarchy (`/`, `/a/b`).
    path: String,
    tasks: u64,
    cpu_before: Option<u64>,
    cpu_after: Option<u64>,
    memory: Option<u64>,
}

/// Every group path of the hierarchy at `root` with its recursive task count, in
/// walk order; appended to `rows` (which may hold other hierarchies' rows).
fn walk_counts<M: Machine + ?Sized>(
    machine: &mut M,
    root: &str,
    rows: &mut Vec<Row>,
) -> Result<(), Error> {
    // (the row's index, the group's children, the next child)
    let mut stack: Vec<(usize, String, Vec<String>, usize)> = Vec::new();
    let start = rows.len();
    let push_group = |machine: &mut M,
                      rows: &mut Vec<Row>,
                      stack: &mut Vec<(usize, String, Vec<String>, usize)>,
                      path: String|
     -> Result<(), Error> {
        let dir = if path == "/" {
            try_format(format_args!("{root}"))?
        } else {
            let mut d = String::new();
            d.try_reserve(root.len() + path.len())?;
            d.push_str(root.trim_end_matches('/'));
            d.push_str(&path);
            d
        };
        let own = tasks_of(machine, &dir)?.len() as u64;
        let children = subgroups(machine, &dir)?;
        rows.try_reserve(1)?;
        stack.try_reserve(1)?;
        rows.push(Row {
            path,
            tasks: own,
            cpu_before: None,
            cpu_after: None,
            memory: None,
        });
        stack.push((rows.len() - 1, dir, children, 0));
        Ok(())
    };
    push_group(machine, rows, &mut stack, try_format(format_args!("/"))?)?;
    while let Some((row, _, children, next)) = stack.last_mut() {
        let Some(name) = children.get(*next) else {
            let (row, ..) = stack.pop().unwrap_or((start, String::new(), Vec::new(), 0));
            // Post-order: the group's count goes to its parent.
            let count = rows.get(row).map_or(0, |r| r.tasks);
            if let Some((parent, ..)) = stack.last() {
                if let Some(p) = rows.get_mut(*parent) {
                    p.tasks = p.tasks.saturating_add(count);
                }
            }
            continue;
        };
        *next += 1;
        let parent_path = rows.get(*row).map_or("/", |r| r.path.as_str());
        let path = join(parent_path, name)?;
        push_group(machine, rows, &mut stack, path)?;
    }
    Ok(())
}

/// A number of bytes as systemd's `format_bytes`: `512B`, `4.0K`, `1.5M`.
fn format_bytes(n: u64) -> Result<String, Error> {
    const UNITS: [(&str, u32); 6] = [
        ("E", 60),
        ("P", 50),
        ("T", 40),
        ("G", 30),
        ("M", 20),
        ("K", 10),
    ];
    for (suffix, shift) in UNITS {
        let factor = 1u128 << shift;
        let n = u128::from(n);
        if n >= factor {
            return try_format(format_args!(
                "{}.{}{suffix}",
                n / factor,
                n * 10 / factor % 10
            ));
        }
    }
    try_format(format_args!("{n}B"))
}

/// Reads a file holding one decimal number.
fn read_number<M: Machine + ?Sized>(machine: &mut M, path: &str) -> Result<Option<u64>, Error> {
    match machine.read(path) {
        Ok(c) => Ok(core::str::from_utf8(&c)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())),
        Err(Error::ENOMEM) => Err(Error::ENOMEM),
        Err(_) => Ok(None),
    }
}

/// The value of file `name` in group `path` of the first hierarchy `has` picks.
fn sample<M: Machine + ?Sized>(
    machine: &mut M,
    hiers: &[Hier],
    has: fn(&Hier) -> bool,
    path: &str,
    name: &str,
) -> Result<Option<u64>, Error> {
    let Some(h) = hiers.iter().find(|h| has(h)) else {
        return Ok(None);
    };
    let mut file = String::new();
    file.try_reserve(h.root.len() + path.len() + name.len() + 1)?;
    file.push_str(h.root.trim_end_matches('/'));
    file.push_str(path.trim_end_matches('/'));
    file.push('/');
    file.push_str(name);
    read_number(machine, &file)
}

/// `top`: `iterations` tables, each over `delay_ms` of simulated time.
pub(crate) fn top<M: Machine + ?Sized>(
    machine: &mut M,
    delay_ms: u64,
    iterations: u64,
    out: &mut dyn Output,
) -> Result<(), Error> {
    let mounts = machine.cgroup_mounts()?;
    let mut hiers = Vec::new();
    hiers.try_reserve_exact(mounts.len())?;
    for root in mounts {
        let entries = match machine.list(&root) {
            Ok(e) => e,
            Err(Error::ENOMEM) => return Err(Error::ENOMEM),
            Err(_) => continue,
        };
        let cpuacct = entries.iter().any(|e| e == "cpuacct.usage");
        let memory = entries.iter().any(|e| e == "memory.usage_in_bytes");
        hiers.push(Hier {
            root,
            cpuacct,
            memory,
        });
    }
    for iteration in 0..iterations {
        // The groups and their tasks, one row per path: the first hierarchy's wins.
        let mut rows = Vec::new();
        for h in &hiers {
            walk_counts(machine, &h.root, &mut rows)?;
        }
        // Stable: for one path, the first hierarchy's row comes first and stays.
        rows.sort_by(|a, b| a.path.cmp(&b.path));
        rows.dedup_by(|later, first| later.path == first.path);
        for row in &mut rows {
            row.cpu_before = sample(machine, &hiers, |h| h.cpuacct, &row.path, "cpuacct.usage")?;
        }
        machine.run(delay_ms)?;
        for row in &mut rows {
            row.cpu_after = sample(machine, &hiers, |h| h.cpuacct, &row.path, "cpuacct.usage")?;
            row.memory = sample(
                machine,
                &hiers,
                |h| h.memory,
                &row.path,
                "memory.usage_in_bytes",
            )?;
        }
        let interval_ns = u128::from(delay_ms) * 1_000_000;
        // Per mille of one CPU.
        let permille = |r: &Row| -> Option<u128> {
            let used = r.cpu_after?.checked_sub(r.cpu_before?)?;
            Some(u128::from(used) * 1000 / interval_ns.max(1))
        };
        rows.sort_by(|a, b| permille(b).cmp(&permille(a)).then(a.path.cmp(&b.path)));
        let width = rows
            .iter()
            .map(|r| r.path.chars().count())
            .max()
            .unwrap_or(0)
            .max("Control Group".len());
        let mut text = Text::default();
        if iteration > 0 {
            text.line(&[])?;
        }
        let header = try_format(format_args!(
            "{:<width$} {:>6} {:>6} {:>8} {:>8} {:>8}",
            "Control Group", "Tasks", "%CPU", "Memory", "Input/s", "Output/s"
        ))?;
        text.line(&[header.as_bytes()])?;
        for r in &rows {
            let cpu = match permille(r) {
                Some(p) => try_format(format_args!("{}.{}", p / 10, p % 10))?,
                None => try_format(format_args!("-"))?,
            };
            let memory = match r.memory {
                Some(m) => format_bytes(m)?,
                None => try_format(format_args!("-"))?,
            };
            let line = try_format(format_args!(
                "{:<width$} {:>6} {:>6} {:>8} {:>8} {:>8}",
                r.path, r.tasks, cpu, memory, "-", "-"
            ))?;
            text.line(&[line.as_bytes()])?;
        }
        text.finish()?;
        out.write_bytes(&text.bytes);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_as_systemd_prints_them() {
        let f = |n| format_bytes(n).unwrap_or_default();
        assert_eq!(f(0), "0B");
        assert_eq!(f(1023), "1023B");
        assert_eq!(f(4096), "4.0K");
        assert_eq!(f(1536 * 1024), "1.5M");
        assert_eq!(f(u64::MAX), "15.9E");
    }

    #[test]
    fn names_by_pid() {
        let names = [(1, "I"), (2, "A"), (2, "B"), (5, "C")];
        assert_eq!(task_name(&names, 2), "A");
        assert_eq!(task_name(&names, 1), "I");
        assert_eq!(task_name(&[], 1), "init");
        assert_eq!(task_name(&names, 3), "");
    }
}
