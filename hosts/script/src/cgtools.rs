//! libcgroup's command-line tools (`cgcreate`, `cgexec`, `cgclassify`, `cgget`, `cgset`,
//! `lscgroup`, `lssubsys`, `cgdelete`), `mount` without arguments, and `sample`.
//!
//! The tools work as libcgroup's do (libcgroup/libcgroup `src/tools/*.c`, `src/api.c`):
//! they know nothing of the machine but its files. Each run reads `/proc/cgroups` (the
//! controllers, in the kernel's order, with their hierarchy ids) and `/proc/mounts` (where
//! each hierarchy is mounted), as libcgroup's `cgroup_init` builds its `cg_mount_table`,
//! then reads, writes, makes and removes files below those mount points through the
//! ordinary [`Machine`] calls. So they see exactly what `cat` and `ls` see, and need
//! nothing of the [`Machine`] trait beyond it.
//!
//! * A group is `CONTROLLERS:PATH` (`cpu,cpuacct:/web`; `*` is every mounted
//!   controller; `name=X` a named hierarchy); PATH is relative to each hierarchy's root,
//!   with or without a leading `/`. Controllers of one hierarchy name one directory.
//! * Options are parsed as the tools' `getopt_long` does: flags anywhere (`cgexec`: before
//!   the first operand), `-gVALUE` or `-g VALUE`, `--long=VALUE` or `--long VALUE`,
//!   grouped flags (`-nv`). An unknown option or a missing operand is a parse error of the
//!   line, as for every command; values (a `CONTROLLERS:PATH` without `:`, an owner that
//!   is not `UID:GID`) are checked when the line runs (`EINVAL`).
//! * libcgroup's errors become errnos: a controller that is not mounted
//!   (`ECGROUPSUBSYSNOTMOUNTED`) and a group that does not exist (`ECGROUPNOTEXIST`) are
//!   `ENOENT`, a malformed value (`ECGINVAL`) is `EINVAL`, and a failed file operation
//!   (`ECGOTHER` with `errno`) is that operation's errno (`EACCES`, `EBUSY`, `EPERM`,
//!   ...). Plain mode adds why.
//! * Output differs from libcgroup's in one way only: where libcgroup prints entries in
//!   `readdir` order (kernfs orders them by a hash of the name), these tools sort them
//!   bytewise, as `ls` does, so that a transcript is stable.
//!
//! Cost: every command is bounded by its input and the machine's state. Walks over a
//! tree (`lscgroup`, `cgdelete -r`) stop at [`MAX_GROUPS`] groups with `E2BIG`; output is
//! built whole before it is printed, so a command that fails (`ENOMEM` too) prints
//! nothing but its error. Commands that change the machine compute every path and value
//! first and then act, so that the interpreter's own allocations never fail half-way;
//! a machine error half-way (`EBUSY` on the second of three `rmdir`s) stops there, with
//! what was done done, as libcgroup stops.
//!
//! `sample` is the exception by design: it is `run` and `cat` in a loop, and prints each
//! row as soon as it is read; a failure at step N stops it after N-1 rows (and N-1
//! steps of simulated time).

use alloc::string::String;
use alloc::vec::Vec;
use core::fmt::Write as _;

use gpc_core::Error;

use crate::interp::{fail, Fail, TextBuf};
use crate::machine::{Machine, Pid};
use crate::parse::ParseErrorKind;

type Outcome<T = ()> = Result<T, Fail>;

/// The most groups one `lscgroup` or `cgdelete -r` walks (`E2BIG` past it): the walk's
/// memory and the output it builds are then bounded whatever the machine holds.
pub const MAX_GROUPS: usize = 65_536;

/// The most steps (rows after the first) one `sample` takes (`E2BIG` past it, before
/// anything runs): 100,000 points are more than a plot needs.
pub const MAX_SAMPLE_STEPS: u64 = 100_000;

/// Which libcgroup tool a line runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Tool {
    Create,
    Exec,
    Classify,
    Get,
    Set,
    LsCgroup,
    LsSubsys,
    Delete,
}

impl Tool {
    pub(crate) fn from_name(name: &str) -> Option<Tool> {
        Some(match name {
            "cgcreate" => Tool::Create,
            "cgexec" => Tool::Exec,
            "cgclassify" => Tool::Classify,
            "cgget" => Tool::Get,
            "cgset" => Tool::Set,
            "lscgroup" => Tool::LsCgroup,
            "lssubsys" => Tool::LsSubsys,
            "cgdelete" => Tool::Delete,
            _ => return None,
        })
    }

    pub(crate) fn name(self) -> &'static str {
        match self {
            Tool::Create => "cgcreate",
            Tool::Exec => "cgexec",
            Tool::Classify => "cgclassify",
            Tool::Get => "cgget",
            Tool::Set => "cgset",
            Tool::LsCgroup => "lscgroup",
            Tool::LsSubsys => "lssubsys",
            Tool::Delete => "cgdelete",
        }
    }

    pub(crate) fn usage(self) -> &'static str {
        match self {
            Tool::Create => "cgcreate [-a UID:GID] [-t UID:GID] -g CONTROLLERS:PATH ...",
            Tool::Exec => "cgexec -g CONTROLLERS:PATH ... VAR",
            Tool::Classify => "cgclassify -g CONTROLLERS:PATH ... TASK...",
            Tool::Get => "cgget [-n] [-v] [-r FILE]... [-g CONTROLLERS] [-a] PATH... | cgget [-n] [-v] -g CONTROLLERS:PATH ...",
            Tool::Set => "cgset -r FILE=VALUE ... PATH... | cgset --copy-from SOURCE PATH...",
            Tool::LsCgroup => "lscgroup [[-g] CONTROLLERS:PATH ...]",
            Tool::LsSubsys => "lssubsys [-a] [-i] [-m] [-M] [CONTROLLER...]",
            Tool::Delete => "cgdelete [-r] [-g] CONTROLLERS:PATH ...",
        }
    }

    /// Short options as `getopt` spells them (`x:` takes a value), then long ones.
    fn spec(self) -> (&'static str, &'static [(&'static str, char, bool)]) {
        match self {
            Tool::Create => ("a:t:g:", &[]),
            Tool::Exec => ("+g:", &[]),
            Tool::Classify => ("g:", &[]),
            Tool::Get => (
                "r:nvg:a",
                &[
                    ("variable", 'r', true),
                    ("all", 'a', false),
                    ("values-only", 'v', false),
                ],
            ),
            Tool::Set => ("r:", &[("variable", 'r', true), ("copy-from", 'c', true)]),
            Tool::LsCgroup => ("g:", &[("group", 'g', true)]),
            Tool::LsSubsys => (
                "mMai",
                &[
                    ("mount-points", 'm', false),
                    ("all-mount-points", 'M', false),
                    ("all", 'a', false),
                    ("hierarchies", 'i', false),
                ],
            ),
            Tool::Delete => ("rg:", &[("recursive", 'r', false), ("group", 'g', true)]),
        }
    }
}

/// One parsed argument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Arg<'a> {
    Opt(char, &'a str),
    Operand(&'a str),
}

/// Why arguments do not parse.
#[derive(Debug)]
pub(crate) enum BadArgs<'a> {
    Unknown(&'a str),
    Usage,
    NoMemory,
}

/// `getopt_long` over `args` (GNU permutation unless the short spec starts with `+`).
pub(crate) fn getopt<'a>(tool: Tool, args: &[&'a str]) -> Result<Vec<Arg<'a>>, BadArgs<'a>> {
    let (short, long) = tool.spec();
    let (stop_at_operand, short) = match short.strip_prefix('+') {
        Some(s) => (true, s),
        None => (false, short),
    };
    let mut out: Vec<Arg<'a>> = Vec::new();
    out.try_reserve(args.len()).map_err(|_| BadArgs::NoMemory)?;
    let mut options_done = false;
    let mut i = 0usize;
    while let Some(&arg) = args.get(i) {
        i += 1;
        if options_done || !arg.starts_with('-') || arg == "-" {
            out.push(Arg::Operand(arg));
            if stop_at_operand {
                options_done = true;
            }
            continue;
        }
        if arg == "--" {
            options_done = true;
            continue;
        }
        if let Some(body) = arg.strip_prefix("--") {
            let (name, inline) = match body.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (body, None),
            };
            let Some(&(_, ch, takes)) = long.iter().find(|(n, _, _)| *n == name) else {
                return Err(BadArgs::Unknown(arg));
            };
            let value = match (takes, inline) {
                (false, None) => "",
                (false, Some(_)) => return Err(BadArgs::Unknown(arg)),
                (true, Some(v)) => v,
                (true, None) => {
                    let v = args.get(i).copied().ok_or(BadArgs::Usage)?;
                    i += 1;
                    v
                }
            };
            out.push(Arg::Opt(ch, value));
            continue;
        }
        // Grouped short flags: `-nv`, `-gcpu:/a`.
        let mut rest = arg.get(1..).unwrap_or("");
        while let Some(ch) = rest.chars().next() {
            rest = rest.get(ch.len_utf8()..).unwrap_or("");
            let Some(pos) = short.find(ch).filter(|_| ch != ':') else {
                return Err(BadArgs::Unknown(arg));
            };
            let takes = short
                .get(pos + ch.len_utf8()..)
                .is_some_and(|s| s.starts_with(':'));
            if !takes {
                out.push(Arg::Opt(ch, ""));
                continue;
            }
            let value = if rest.is_empty() {
                let v = args.get(i).copied().ok_or(BadArgs::Usage)?;
                i += 1;
                v
            } else {
                rest
            };
            out.push(Arg::Opt(ch, value));
            break;
        }
    }
    Ok(out)
}

fn count(args: &[Arg<'_>], ch: char) -> usize {
    args.iter()
        .filter(|a| matches!(a, Arg::Opt(c, _) if *c == ch))
        .count()
}

fn operands<'a, 'b>(args: &'b [Arg<'a>]) -> impl Iterator<Item = &'a str> + 'b {
    args.iter().filter_map(|a| match a {
        Arg::Operand(o) => Some(*o),
        Arg::Opt(..) => None,
    })
}

/// The shape a tool's arguments must have (the same at parse and at run time).
fn shape_ok(tool: Tool, args: &[Arg<'_>]) -> bool {
    let ops = operands(args).count();
    let g = count(args, 'g');
    match tool {
        Tool::Create => g > 0 && ops == 0,
        Tool::Exec => g > 0 && ops == 1,
        Tool::Classify => g > 0 && ops > 0,
        Tool::Get => {
            let r = count(args, 'r');
            let fill = g > 0 || count(args, 'a') > 0;
            // cgget.c: `-r` excludes `-g`/`-a`, and something must name a group.
            !(r > 0 && fill) && (ops > 0 || g > 0)
        }
        Tool::Set => {
            let (r, c) = (count(args, 'r'), count(args, 'c'));
            ops > 0 && ((r > 0 && c == 0) || (r == 0 && c == 1))
        }
        Tool::LsCgroup | Tool::LsSubsys => true,
        Tool::Delete => g + ops > 0,
    }
}

/// Parse-time check: `words` are the arguments, `None` for one with a variable in it
/// (an operand or a value: never an option).
pub(crate) fn check(tool: Tool, words: &[Option<&str>]) -> Result<(), ParseErrorKind> {
    let mut texts: Vec<&str> = Vec::new();
    texts
        .try_reserve(words.len())
        .map_err(|_| ParseErrorKind::OutOfMemory)?;
    texts.extend(words.iter().map(|w| w.unwrap_or("$")));
    let args = getopt(tool, &texts).map_err(|e| match e {
        BadArgs::Unknown(o) => match crate::interp::try_format(format_args!("{o}")) {
            Ok(o) => ParseErrorKind::UnknownOption(o),
            Err(_) => ParseErrorKind::OutOfMemory,
        },
        BadArgs::Usage => ParseErrorKind::Usage(tool.usage()),
        BadArgs::NoMemory => ParseErrorKind::OutOfMemory,
    })?;
    if shape_ok(tool, &args) {
        Ok(())
    } else {
        Err(ParseErrorKind::Usage(tool.usage()))
    }
}

// ----------------------------------------------------------------------------------
// Small fallible helpers.
// ----------------------------------------------------------------------------------

fn push<T>(v: &mut Vec<T>, x: T) -> Result<(), Error> {
    v.try_reserve(1)?;
    v.push(x);
    Ok(())
}

fn owned(s: &str) -> Result<String, Error> {
    let mut o = String::new();
    o.try_reserve_exact(s.len())?;
    o.push_str(s);
    Ok(o)
}

/// `DIR/REL` with `REL`'s leading and trailing slashes dropped (`DIR` alone for `/`).
fn join(dir: &str, rel: &str) -> Result<String, Error> {
    let rel = rel.trim_matches('/');
    let mut p = TextBuf::default();
    p.push_str(dir)?;
    if !rel.is_empty() {
        if !dir.ends_with('/') {
            p.push_str("/")?;
        }
        p.push_str(rel)?;
    }
    Ok(p.0)
}

/// Undoes the `\ooo` escapes of `/proc/mounts`.
fn unescape(s: &str) -> Result<String, Error> {
    let b = s.as_bytes();
    let mut out: Vec<u8> = Vec::new();
    out.try_reserve_exact(b.len())?;
    let mut i = 0;
    while let Some(&c) = b.get(i) {
        let code = b.get(i + 1..i + 4).and_then(|d| {
            d.iter().try_fold(0u32, |n, &x| {
                (b'0'..=b'7')
                    .contains(&x)
                    .then(|| n * 8 + u32::from(x - b'0'))
            })
        });
        match code {
            Some(v) if c == b'\\' && v < 256 => {
                out.push(v as u8);
                i += 4;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
    }
    String::from_utf8(out).map_err(|_| Error::EINVAL)
}

fn read_text<M: Machine + ?Sized>(m: &mut M, path: &str) -> Outcome<String> {
    let bytes = m.read(path)?;
    String::from_utf8(bytes).map_err(|_| fail(Error::EINVAL, format_args!("{path} is not text")))
}

// ----------------------------------------------------------------------------------
// The mount table: libcgroup's `cg_mount_table`, from /proc/cgroups and /proc/mounts.
// ----------------------------------------------------------------------------------

/// One hierarchy as the mount table shows it.
#[derive(Debug, Default)]
struct Hier {
    /// Its controllers in the kernel's order, then `name=X` if named.
    ctrls: Vec<String>,
    /// Where it is mounted, oldest first.
    dirs: Vec<String>,
}

/// Every controller of the machine and every mounted hierarchy.
#[derive(Debug, Default)]
struct Table {
    /// `/proc/cgroups`: name and hierarchy id (0: not bound).
    controllers: Vec<(String, u32)>,
    /// Mounted hierarchies, in the order of their first mount.
    hiers: Vec<Hier>,
}

impl Table {
    fn read<M: Machine + ?Sized>(m: &mut M) -> Outcome<Table> {
        let mut table = Table::default();
        let cgroups = read_text(m, "/proc/cgroups")?;
        for line in cgroups.lines().filter(|l| !l.starts_with('#')) {
            let mut f = line.split('\t');
            let (Some(name), Some(id)) = (f.next(), f.next()) else {
                continue;
            };
            push(
                &mut table.controllers,
                (owned(name)?, id.parse().unwrap_or(0)),
            )?;
        }
        let mounts = read_text(m, "/proc/mounts")?;
        for line in mounts.lines() {
            let mut f = line.split(' ');
            let (Some(_), Some(dir), Some("cgroup"), Some(opts)) =
                (f.next(), f.next(), f.next(), f.next())
            else {
                continue;
            };
            let mut ctrls: Vec<String> = Vec::new();
            for (name, _) in &table.controllers {
                if opts.split(',').any(|o| o == name) {
                    push(&mut ctrls, owned(name)?)?;
                }
            }
            if let Some(named) = opts.split(',').find(|o| o.starts_with("name=")) {
                push(&mut ctrls, unescape(named)?)?;
            }
            let dir = unescape(dir)?;
            match table.hiers.iter_mut().find(|h| h.ctrls == ctrls) {
                Some(h) => push(&mut h.dirs, dir)?,
                None => {
                    let mut dirs = Vec::new();
                    push(&mut dirs, dir)?;
                    push(&mut table.hiers, Hier { ctrls, dirs })?;
                }
            }
        }
        Ok(table)
    }

    /// The mounted hierarchy with controller `ctrl` (`name=X` for a named one).
    fn hier_of(&self, ctrl: &str) -> Outcome<&Hier> {
        self.hiers
            .iter()
            .find(|h| h.ctrls.iter().any(|c| c == ctrl))
            .ok_or_else(|| {
                fail(
                    Error::ENOENT,
                    format_args!("controller {ctrl} is not mounted"),
                )
            })
    }

    /// The hierarchies `CONTROLLERS` names (`*`: all), each once, in the order named.
    fn hiers_of(&self, ctrls: &str) -> Outcome<Vec<&Hier>> {
        let mut out: Vec<&Hier> = Vec::new();
        if ctrls == "*" {
            for h in &self.hiers {
                push(&mut out, h)?;
            }
            return Ok(out);
        }
        for c in ctrls.split(',') {
            if c.is_empty() {
                return Err(fail(Error::EINVAL, format_args!("empty controller name")));
            }
            let h = self.hier_of(c)?;
            if !out.iter().any(|o| core::ptr::eq(*o, h)) {
                push(&mut out, h)?;
            }
        }
        Ok(out)
    }

    /// Every mounted controller in `cg_mount_table` order.
    fn mounted(&self) -> impl Iterator<Item = (&str, &Hier)> + '_ {
        self.hiers
            .iter()
            .flat_map(|h| h.ctrls.iter().map(move |c| (c.as_str(), h)))
    }
}

/// `CONTROLLERS:PATH`.
fn split_spec(spec: &str) -> Outcome<(&str, &str)> {
    spec.split_once(':')
        .filter(|(c, _)| !c.is_empty())
        .ok_or_else(|| {
            fail(
                Error::EINVAL,
                format_args!("{spec:?} is not CONTROLLERS:PATH"),
            )
        })
}

/// The directories of group `spec` (`CONTROLLERS:PATH`), one per hierarchy.
fn group_dirs(table: &Table, spec: &str) -> Outcome<Vec<String>> {
    let (ctrls, path) = split_spec(spec)?;
    let mut dirs = Vec::new();
    for h in table.hiers_of(ctrls)? {
        let dir = h.dirs.first().ok_or(Error::ENOENT)?;
        push(&mut dirs, join(dir, path)?)?;
    }
    Ok(dirs)
}

/// `UID:GID` of `cgcreate -a/-t` (numbers: the simulated machine has no user names).
fn owner(text: &str) -> Outcome<(u32, u32)> {
    let bad = || fail(Error::EINVAL, format_args!("{text:?} is not UID:GID"));
    let (u, g) = text.split_once(':').ok_or_else(bad)?;
    Ok((u.parse().map_err(|_| bad())?, g.parse().map_err(|_| bad())?))
}

/// Whether control file `file` is one of controller `ctrl`'s: libcgroup's
/// `cgroup_fill_cgc` takes a file whose name up to its first `.` is the controller's and
/// has something after it (`cpu.shares` is cpu's, `cpuacct.usage` is not, `tasks` is
/// nobody's).
fn of_controller(file: &str, ctrl: &str) -> bool {
    file.split_once('.')
        .is_some_and(|(c, rest)| c == ctrl && !rest.is_empty())
}

/// The subdirectories of `dir`, sorted: the entries that list themselves (a control
/// file is `ENOTDIR`; the trait has no `stat`, and needs none for this).
fn children<M: Machine + ?Sized>(m: &mut M, dir: &str) -> Outcome<Vec<String>> {
    let mut dirs = Vec::new();
    let mut names = m.list(dir)?;
    names.sort_unstable();
    for name in names {
        let p = join(dir, &name)?;
        match m.list(&p) {
            Ok(_) => push(&mut dirs, name)?,
            Err(Error::ENOTDIR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(dirs)
}

/// The groups below `dir` and itself, in pre-order (children sorted), as paths relative
/// to `dir` (`""` for itself); `E2BIG` past [`MAX_GROUPS`].
fn walk<M: Machine + ?Sized>(m: &mut M, dir: &str) -> Outcome<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    // Pending subtrees, as relative paths; popped from the end, so pushed in reverse.
    let mut stack: Vec<String> = Vec::new();
    push(&mut stack, String::new())?;
    while let Some(rel) = stack.pop() {
        // Groups found, visited or not: the walk holds at most MAX_GROUPS paths.
        if out.len().saturating_add(stack.len()) >= MAX_GROUPS {
            return Err(fail(
                Error::E2BIG,
                format_args!("more than {MAX_GROUPS} groups"),
            ));
        }
        let kids = children(m, &join(dir, &rel)?)?;
        stack.try_reserve(kids.len()).map_err(|_| Error::ENOMEM)?;
        for kid in kids.iter().rev() {
            let mut p = TextBuf::default();
            p.push_str(&rel)?;
            p.push_str("/")?;
            p.push_str(kid)?;
            stack.push(p.0);
        }
        push(&mut out, rel)?;
    }
    Ok(out)
}

// ----------------------------------------------------------------------------------
// The tools.
// ----------------------------------------------------------------------------------

/// The expanded arguments parsed again (they parsed when the line did: only a value
/// that came from a variable can differ), `ENOMEM` without memory for the list.
fn run_args<'a>(tool: Tool, args: &[&'a str]) -> Outcome<Vec<Arg<'a>>> {
    let usage = || fail(Error::EINVAL, format_args!("usage: {}", tool.usage()));
    let args = getopt(tool, args).map_err(|e| match e {
        BadArgs::NoMemory => Fail::from(Error::ENOMEM),
        _ => usage(),
    })?;
    if shape_ok(tool, &args) {
        Ok(args)
    } else {
        Err(usage())
    }
}

/// Runs `tool` with its expanded arguments; `task` reads a task operand (`$A`, `A`, 7).
pub(crate) fn run<M: Machine + ?Sized>(
    tool: Tool,
    args: &[&str],
    task: &dyn Fn(&str) -> Outcome<Pid>,
    m: &mut M,
    text: &mut TextBuf,
) -> Outcome {
    let args = run_args(tool, args)?;
    let table = Table::read(m)?;
    match tool {
        Tool::Create => cgcreate(&table, &args, m),
        Tool::Classify => cgclassify(&table, &args, task, m),
        Tool::Get => cgget(&table, &args, m, text),
        Tool::Set => cgset(&table, &args, m),
        Tool::LsCgroup => lscgroup(&table, &args, m, text),
        Tool::LsSubsys => lssubsys(&table, &args, text),
        Tool::Delete => cgdelete(&table, &args, m),
        Tool::Exec => Err(fail(
            Error::EINVAL,
            format_args!("cgexec runs through exec_targets"),
        )),
    }
}

/// `cgcreate`: `mkdir -p` the group in each hierarchy (an existing one is fine, as
/// libcgroup's `cg_mkdir_p`), then `-a`: the directory and its files to that owner, `-t`:
/// the `tasks` file to that owner.
fn cgcreate<M: Machine + ?Sized>(table: &Table, args: &[Arg<'_>], m: &mut M) -> Outcome {
    let mut admin = None;
    let mut tasks = None;
    let mut dirs: Vec<String> = Vec::new();
    for a in args {
        match *a {
            Arg::Opt('a', v) => admin = Some(owner(v)?),
            Arg::Opt('t', v) => tasks = Some(owner(v)?),
            Arg::Opt('g', v) => {
                for d in group_dirs(table, v)? {
                    push(&mut dirs, d)?;
                }
            }
            _ => {}
        }
    }
    let tasks_files: Vec<String> = {
        let mut v = Vec::new();
        v.try_reserve(dirs.len()).map_err(|_| Error::ENOMEM)?;
        for d in &dirs {
            v.push(join(d, "tasks")?);
        }
        v
    };
    for (dir, tasks_file) in dirs.iter().zip(&tasks_files) {
        m.mkdir(dir, true)?;
        if let Some((u, g)) = admin {
            m.chown(u, Some(g), dir)?;
            for name in m.list(dir)? {
                m.chown(u, Some(g), &join(dir, &name)?)?;
            }
        }
        if let Some((u, g)) = tasks {
            m.chown(u, Some(g), tasks_file)?;
        }
    }
    Ok(())
}

/// What `cgexec` moves a new task into: every group's `cgroup.procs`, in order.
pub(crate) fn exec_targets<M: Machine + ?Sized>(
    args: &[&str],
    m: &mut M,
) -> Outcome<(String, Vec<String>)> {
    let args = run_args(Tool::Exec, args)?;
    let table = Table::read(m)?;
    let mut files = Vec::new();
    for a in &args {
        if let Arg::Opt('g', v) = *a {
            for d in group_dirs(&table, v)? {
                // A group that does not exist fails before the task is made.
                m.list(&d).map_err(|e| match e {
                    Error::ENOENT => fail(e, format_args!("no group {d}")),
                    e => Fail::from(e),
                })?;
                push(&mut files, join(&d, "cgroup.procs")?)?;
            }
        }
    }
    let var = operands(&args).next().unwrap_or_default();
    Ok((owned(var)?, files))
}

/// `cgclassify`: each task's whole process into every group (libcgroup moves each
/// thread of `/proc/PID/task`; one `cgroup.procs` write does the same). Every task is
/// tried; the first error is the command's.
fn cgclassify<M: Machine + ?Sized>(
    table: &Table,
    args: &[Arg<'_>],
    task: &dyn Fn(&str) -> Outcome<Pid>,
    m: &mut M,
) -> Outcome {
    let mut files: Vec<String> = Vec::new();
    for a in args {
        if let Arg::Opt('g', v) = *a {
            for d in group_dirs(table, v)? {
                push(&mut files, join(&d, "cgroup.procs")?)?;
            }
        }
    }
    let mut pids: Vec<String> = Vec::new();
    for o in operands(args) {
        let pid = task(o)?;
        push(&mut pids, crate::interp::try_format(format_args!("{pid}"))?)?;
    }
    let mut first = None;
    for pid in &pids {
        for f in &files {
            if let Err(e) = m.write(f, pid.as_bytes()) {
                first.get_or_insert(e);
            }
        }
    }
    match first {
        Some(e) => Err(e.into()),
        None => Ok(()),
    }
}

/// One value as `cgget` prints it: the trailing newline dropped, each further line
/// indented by a tab (cgget.c `indent_multiline_value`, empty lines dropped).
fn put_value(text: &mut TextBuf, name: Option<&str>, value: &str) -> Result<(), Error> {
    if let Some(name) = name {
        text.push_str(name)?;
        text.push_str(": ")?;
    }
    let value = value.strip_suffix('\n').unwrap_or(value);
    if value.contains('\n') {
        for (i, line) in value.split('\n').filter(|l| !l.is_empty()).enumerate() {
            if i > 0 {
                text.push_str("\n\t")?;
            }
            text.push_str(line)?;
        }
    } else {
        text.push_str(value)?;
    }
    text.push_str("\n")
}

/// `cgget`.
fn cgget<M: Machine + ?Sized>(
    table: &Table,
    args: &[Arg<'_>],
    m: &mut M,
    text: &mut TextBuf,
) -> Outcome {
    let headers = count(args, 'n') == 0;
    let names = count(args, 'v') == 0;
    let vars: Vec<&str> = {
        let mut v = Vec::new();
        for a in args {
            if let Arg::Opt('r', n) = *a {
                push(&mut v, n)?;
            }
        }
        v
    };
    // Groups: `-g CTRLS:PATH` each with its controllers, or the operands with the
    // controllers of `-g CTRLS` / `-a` / all (cgget.c `parse_opt_args`).
    let mut groups: Vec<(&str, Vec<&str>)> = Vec::new();
    let mut common: Vec<&str> = Vec::new();
    for a in args {
        match *a {
            Arg::Opt('g', v) => match v.split_once(':') {
                Some((ctrls, path)) => {
                    let mut c = Vec::new();
                    for x in ctrls.split(',') {
                        push(&mut c, x)?;
                    }
                    push(&mut groups, (path, c))?;
                }
                None => {
                    for x in v.split(',') {
                        push(&mut common, x)?;
                    }
                }
            },
            Arg::Opt('a', _) => {
                for (c, _) in table.mounted() {
                    push(&mut common, c)?;
                }
            }
            _ => {}
        }
    }
    if !groups.is_empty() && operands(args).next().is_some() {
        return Err(fail(
            Error::EINVAL,
            format_args!("usage: {}", Tool::Get.usage()),
        ));
    }
    if common.is_empty() && vars.is_empty() {
        for (c, _) in table.mounted() {
            push(&mut common, c)?;
        }
    }
    for o in operands(args) {
        let mut c = Vec::new();
        c.try_reserve(common.len()).map_err(|_| Error::ENOMEM)?;
        c.extend_from_slice(&common);
        push(&mut groups, (o, c))?;
    }
    for (path, ctrls) in &groups {
        if headers {
            text.push_str(path)?;
            text.push_str(":\n")?;
        }
        if !vars.is_empty() {
            for var in &vars {
                let ctrl = var.split_once('.').map(|(c, _)| c).ok_or_else(|| {
                    fail(
                        Error::EINVAL,
                        format_args!("{var:?} is not CONTROLLER.FILE"),
                    )
                })?;
                let h = table.hier_of(ctrl)?;
                let dir = join(h.dirs.first().ok_or(Error::ENOENT)?, path)?;
                let value = read_text(m, &join(&dir, var)?)?;
                put_value(text, names.then_some(var), &value)?;
            }
        }
        for ctrl in ctrls {
            let h = table.hier_of(ctrl)?;
            let dir = join(h.dirs.first().ok_or(Error::ENOENT)?, path)?;
            // cgget.c `fill_empty_controller`: a hierarchy without the group is
            // skipped; so is a file that cannot be read (write-only).
            let mut files = match m.list(&dir) {
                Ok(f) => f,
                Err(Error::ENOENT) => continue,
                Err(e) => return Err(e.into()),
            };
            files.sort_unstable();
            for f in &files {
                let ours = of_controller(f, ctrl);
                if !ours {
                    continue;
                }
                match m.read(&join(&dir, f)?) {
                    Ok(v) => {
                        let v = String::from_utf8(v).map_err(|_| Error::EINVAL)?;
                        put_value(text, names.then_some(f.as_str()), &v)?;
                    }
                    Err(Error::ENOMEM) => return Err(Error::ENOMEM.into()),
                    Err(_) => {}
                }
            }
        }
        if headers {
            text.push_str("\n")?;
        }
    }
    Ok(())
}

/// `cgset`: each `-r FILE=VALUE` written (without a newline, as libcgroup writes) to
/// each group in order; `--copy-from SRC`: every controller file of SRC that reads and
/// whose value the group takes (statistics that only take `0`, read-only files and
/// write-only ones are left out: `EACCES`, `EINVAL`).
fn cgset<M: Machine + ?Sized>(table: &Table, args: &[Arg<'_>], m: &mut M) -> Outcome {
    // (file name, value) pairs, then written to each group.
    let mut values: Vec<(String, String)> = Vec::new();
    let mut copy = false;
    for a in args {
        match *a {
            Arg::Opt('r', v) => {
                let (n, val) = v
                    .split_once('=')
                    .ok_or_else(|| fail(Error::EINVAL, format_args!("{v:?} is not FILE=VALUE")))?;
                push(&mut values, (owned(n)?, owned(val)?))?;
            }
            Arg::Opt('c', src) => {
                copy = true;
                for (ctrl, h) in table.mounted() {
                    let dir = join(h.dirs.first().ok_or(Error::ENOENT)?, src)?;
                    let mut files = match m.list(&dir) {
                        Ok(f) => f,
                        Err(Error::ENOENT) => continue,
                        Err(e) => return Err(e.into()),
                    };
                    files.sort_unstable();
                    for f in files {
                        let ours = of_controller(&f, ctrl);
                        if !ours {
                            continue;
                        }
                        match m.read(&join(&dir, &f)?) {
                            Ok(v) => {
                                let v = String::from_utf8(v).map_err(|_| Error::EINVAL)?;
                                push(&mut values, (f, v))?;
                            }
                            Err(Error::ENOMEM) => return Err(Error::ENOMEM.into()),
                            Err(_) => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
    // Every path first, then the writes.
    let mut writes: Vec<(String, usize)> = Vec::new();
    for path in operands(args) {
        for (i, (name, _)) in values.iter().enumerate() {
            let ctrl = name.split_once('.').map(|(c, _)| c).ok_or_else(|| {
                fail(
                    Error::EINVAL,
                    format_args!("{name:?} is not CONTROLLER.FILE"),
                )
            })?;
            let h = table.hier_of(ctrl)?;
            let dir = join(h.dirs.first().ok_or(Error::ENOENT)?, path)?;
            push(&mut writes, (join(&dir, name)?, i))?;
        }
    }
    for (file, i) in &writes {
        let value = values.get(*i).map_or("", |v| v.1.as_str());
        match m.write(file, value.as_bytes()) {
            Ok(()) => {}
            Err(Error::EACCES | Error::EINVAL) if copy => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// `lscgroup`: `CONTROLLERS:PATH` for every group below each hierarchy's root (or below
/// each given group, in the first hierarchy of its controllers), pre-order.
fn lscgroup<M: Machine + ?Sized>(
    table: &Table,
    args: &[Arg<'_>],
    m: &mut M,
    text: &mut TextBuf,
) -> Outcome {
    let mut specs: Vec<&str> = Vec::new();
    for a in args {
        match *a {
            Arg::Opt('g', v) | Arg::Operand(v) => push(&mut specs, v)?,
            Arg::Opt(..) => {}
        }
    }
    // (hierarchy, path below its root) to list.
    let mut lists: Vec<(&Hier, &str)> = Vec::new();
    if specs.is_empty() {
        for h in &table.hiers {
            push(&mut lists, (h, ""))?;
        }
    }
    for spec in &specs {
        let (ctrls, path) = split_spec(spec)?;
        let first = ctrls.split(',').next().unwrap_or_default();
        push(&mut lists, (table.hier_of(first)?, path))?;
    }
    let mut total = 0usize;
    for (h, path) in lists {
        let root = join(h.dirs.first().ok_or(Error::ENOENT)?, path)?;
        let base = path.trim_matches('/');
        for rel in walk(m, &root)? {
            total += 1;
            if total > MAX_GROUPS {
                return Err(fail(
                    Error::E2BIG,
                    format_args!("more than {MAX_GROUPS} groups"),
                ));
            }
            for (i, c) in h.ctrls.iter().enumerate() {
                if i > 0 {
                    text.push_str(",")?;
                }
                text.push_str(c)?;
            }
            text.push_str(":/")?;
            text.push_str(base)?;
            let rel = if base.is_empty() {
                rel.trim_start_matches('/')
            } else {
                &rel
            };
            text.push_str(rel)?;
            text.push_str("\n")?;
        }
    }
    Ok(())
}

/// `lssubsys` (lssubsys.c): with `-a`, each unbound controller as it comes in
/// `/proc/cgroups`; then each hierarchy of the listed (or all) controllers, in the
/// order its first controller comes: `ctrl,ctrl`, `ctrl,ctrl ID` with `-i`,
/// `ctrl,ctrl DIR` with `-m` (first mount; `-M`: one line per mount).
fn lssubsys(table: &Table, args: &[Arg<'_>], text: &mut TextBuf) -> Outcome {
    let all = count(args, 'a') > 0;
    let every_mount = count(args, 'M') > 0;
    let mounts = every_mount || count(args, 'm') > 0;
    let ids = count(args, 'i') > 0;
    let listed: Vec<&str> = {
        let mut v = Vec::new();
        for o in operands(args) {
            push(&mut v, o)?;
        }
        v
    };
    let mut hier_ids: Vec<u32> = Vec::new();
    for (name, id) in &table.controllers {
        if *id == 0 {
            if all {
                text.push_str(name)?;
                text.push_str("\n")?;
            }
            continue;
        }
        if (all || listed.is_empty() || listed.contains(&name.as_str())) && !hier_ids.contains(id) {
            push(&mut hier_ids, *id)?;
        }
    }
    for id in hier_ids {
        let names: Vec<&str> = {
            let mut v = Vec::new();
            for (n, i) in &table.controllers {
                if *i == id {
                    push(&mut v, n.as_str())?;
                }
            }
            v
        };
        let mut joined = TextBuf::default();
        for (i, n) in names.iter().enumerate() {
            if i > 0 {
                joined.push_str(",")?;
            }
            joined.push_str(n)?;
        }
        if !mounts {
            text.push_str(&joined.0)?;
            if ids {
                write!(text, " {id}").map_err(|_| Error::ENOMEM)?;
            }
            text.push_str("\n")?;
            continue;
        }
        // A hierarchy alive without a mount has no line with -m (libcgroup finds no
        // mount point for its first controller).
        let first = names.first().copied().unwrap_or_default();
        if let Ok(h) = table.hier_of(first) {
            for dir in &h.dirs {
                text.push_str(&joined.0)?;
                text.push_str(" ")?;
                text.push_str(dir)?;
                text.push_str("\n")?;
                if !every_mount {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// `cgdelete`: each group in each of its hierarchies, with `-r` its subtree first
/// (deepest first); the tasks of every removed group move to the parent of the group
/// named (libcgroup `cgroup_delete_cgroup_ext`), then the directory goes. Everything is
/// planned (and the walk bounded by [`MAX_GROUPS`]) before the first change.
fn cgdelete<M: Machine + ?Sized>(table: &Table, args: &[Arg<'_>], m: &mut M) -> Outcome {
    let recursive = count(args, 'r') > 0;
    // (directory to remove, parent `tasks`, its tasks), in the order to act.
    let mut plan: Vec<(String, String, Vec<String>)> = Vec::new();
    for a in args {
        let spec = match *a {
            Arg::Opt('g', v) | Arg::Operand(v) => v,
            Arg::Opt(..) => continue,
        };
        let (ctrls, path) = split_spec(spec)?;
        if path.trim_matches('/').is_empty() {
            return Err(fail(Error::EBUSY, format_args!("the root group cannot go")));
        }
        for h in table.hiers_of(ctrls)? {
            let top = join(h.dirs.first().ok_or(Error::ENOENT)?, path)?;
            let parent = match top.rfind('/') {
                Some(i) => join(top.get(..i).unwrap_or("/"), "tasks")?,
                None => owned("tasks")?,
            };
            let rels = if recursive {
                walk(m, &top)?
            } else {
                let mut v = Vec::new();
                push(&mut v, String::new())?;
                v
            };
            if plan.len().saturating_add(rels.len()) > MAX_GROUPS {
                return Err(fail(
                    Error::E2BIG,
                    format_args!("more than {MAX_GROUPS} groups"),
                ));
            }
            plan.try_reserve(rels.len()).map_err(|_| Error::ENOMEM)?;
            // Post-order: the reverse of pre-order removes children first.
            for rel in rels.iter().rev() {
                let dir = join(&top, rel)?;
                let tasks = read_text(m, &join(&dir, "tasks")?)?;
                let mut tids = Vec::new();
                for t in tasks.lines() {
                    push(&mut tids, owned(t)?)?;
                }
                plan.push((dir, owned(&parent)?, tids));
            }
        }
    }
    for (dir, parent, tids) in &plan {
        for t in tids {
            // A task that exited since is gone; any other refusal stops here.
            match m.write(parent, t.as_bytes()) {
                Ok(()) | Err(Error::ESRCH) => {}
                Err(e) => return Err(e.into()),
            }
        }
        m.rmdir(dir)?;
    }
    Ok(())
}

/// `mount` without arguments: `/proc/mounts` as mount(8) lists it,
/// `SOURCE on DIR type TYPE (OPTIONS)`, unescaped.
pub(crate) fn mount_table<M: Machine + ?Sized>(m: &mut M, text: &mut TextBuf) -> Outcome {
    let mounts = read_text(m, "/proc/mounts")?;
    for line in mounts.lines() {
        let mut f = line.split(' ');
        let (Some(src), Some(dir), Some(fstype), Some(opts)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        text.push_str(&unescape(src)?)?;
        text.push_str(" on ")?;
        text.push_str(&unescape(dir)?)?;
        text.push_str(" type ")?;
        text.push_str(fstype)?;
        text.push_str(" (")?;
        text.push_str(&unescape(opts)?)?;
        text.push_str(")\n")?;
    }
    Ok(())
}

// ----------------------------------------------------------------------------------
// sample
// ----------------------------------------------------------------------------------

/// One column of `sample`: a file, or one key of a flat-keyed file (`FILE:KEY`: the
/// text after the last `:`, if it has no `/`).
fn column(spec: &str) -> (&str, Option<&str>) {
    match spec.rsplit_once(':') {
        Some((file, key)) if !key.contains('/') && !key.is_empty() && !file.is_empty() => {
            (file, Some(key))
        }
        _ => (spec, None),
    }
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a blank.
fn csv_field(text: &mut TextBuf, field: &str) -> Result<(), Error> {
    if field.contains([',', '"', ' ', '\t']) {
        text.push_str("\"")?;
        for (i, part) in field.split('"').enumerate() {
            if i > 0 {
                text.push_str("\"\"")?;
            }
            text.push_str(part)?;
        }
        text.push_str("\"")
    } else {
        text.push_str(field)
    }
}

/// The value of one column now.
fn sample_value<M: Machine + ?Sized>(m: &mut M, spec: &str) -> Outcome<String> {
    let (file, key) = column(spec);
    let contents = read_text(m, file)?;
    match key {
        None => {
            let v = contents.strip_suffix('\n').unwrap_or(&contents);
            if v.contains('\n') {
                return Err(fail(
                    Error::EINVAL,
                    format_args!("{file} has several lines: pick one with {file}:KEY"),
                ));
            }
            Ok(owned(v)?)
        }
        Some(key) => {
            let line = contents
                .lines()
                .find_map(|l| l.split_once(' ').filter(|(k, _)| *k == key))
                .ok_or_else(|| fail(Error::ENOENT, format_args!("{file} has no key {key}")))?;
            Ok(owned(line.1)?)
        }
    }
}

/// `sample EVERY_MS FOR_MS FILE...`: a CSV header `ms,FILE,...`, the row at 0 ms, then
/// one row after each `run EVERY_MS` until FOR_MS have passed.
pub(crate) fn sample<M: Machine + ?Sized>(
    every: u64,
    total: u64,
    files: &[&str],
    m: &mut M,
    out: &mut dyn crate::Output,
) -> Outcome {
    if every == 0 || total % every != 0 {
        return Err(fail(
            Error::EINVAL,
            format_args!("FOR_MS must be a multiple of EVERY_MS, which must not be 0"),
        ));
    }
    let rows = total / every;
    if rows > MAX_SAMPLE_STEPS {
        return Err(fail(
            Error::E2BIG,
            format_args!("at most {MAX_SAMPLE_STEPS} steps: sample less often"),
        ));
    }
    // Every column must read before time moves.
    let mut row = TextBuf::default();
    row.push_str("ms")?;
    for f in files {
        row.push_str(",")?;
        csv_field(&mut row, f)?;
    }
    row.push_str("\n")?;
    let mut first = TextBuf::default();
    first.push_str("0")?;
    for f in files {
        first.push_str(",")?;
        csv_field(&mut first, &sample_value(m, f)?)?;
    }
    first.push_str("\n")?;
    out.write_bytes(row.0.as_bytes());
    out.write_bytes(first.0.as_bytes());
    for step in 1..=rows {
        m.run(every).map_err(|e| match e {
            Error::E2BIG => fail(
                e,
                format_args!("a step needs more work than one run may do"),
            ),
            e => Fail::from(e),
        })?;
        row.0.clear();
        write!(row, "{}", step.saturating_mul(every)).map_err(|_| Error::ENOMEM)?;
        for f in files {
            row.push_str(",")?;
            csv_field(&mut row, &sample_value(m, f)?)?;
        }
        row.push_str("\n")?;
        out.write_bytes(row.0.as_bytes());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;

    fn opts(tool: Tool, args: &[&'static str]) -> Option<Vec<Arg<'static>>> {
        getopt(tool, args).ok()
    }

    #[test]
    fn getopt_forms() {
        use Arg::{Operand as O, Opt};
        assert_eq!(
            opts(Tool::Get, &["-nv", "-r", "cpu.shares", "/a", "-rcpu.stat"]),
            Some(vec![
                Opt('n', ""),
                Opt('v', ""),
                Opt('r', "cpu.shares"),
                O("/a"),
                Opt('r', "cpu.stat")
            ])
        );
        assert_eq!(
            opts(
                Tool::Set,
                &["--copy-from", "/a", "/b", "--variable=cpu.shares=1"]
            ),
            Some(vec![Opt('c', "/a"), O("/b"), Opt('r', "cpu.shares=1")])
        );
        // cgexec stops at the first operand (`+` in its getopt string).
        assert_eq!(
            opts(Tool::Exec, &["-g", "cpu:/a", "A", "-g"]),
            Some(vec![Opt('g', "cpu:/a"), O("A"), O("-g")])
        );
        assert!(matches!(
            getopt(Tool::Get, &["-x"]),
            Err(BadArgs::Unknown("-x"))
        ));
        assert!(matches!(getopt(Tool::Get, &["-r"]), Err(BadArgs::Usage)));
        assert!(matches!(
            getopt(Tool::LsSubsys, &["--all=1"]),
            Err(BadArgs::Unknown(_))
        ));
        assert!(matches!(
            getopt(Tool::Create, &["-:"]),
            Err(BadArgs::Unknown(_))
        ));
    }

    #[test]
    fn shapes() {
        let ok = |t, a: &[Option<&str>]| check(t, a).is_ok();
        assert!(ok(Tool::Create, &[Some("-g"), Some("cpu:/a")]));
        assert!(!ok(Tool::Create, &[Some("cpu:/a")]));
        assert!(ok(Tool::Exec, &[Some("-g"), Some("cpu:/a"), Some("A")]));
        assert!(!ok(Tool::Exec, &[Some("-g"), Some("cpu:/a")]));
        assert!(ok(Tool::Classify, &[Some("-g"), Some("cpu:/a"), None]));
        assert!(!ok(
            Tool::Get,
            &[Some("-r"), Some("cpu.shares"), Some("-a"), Some("/")]
        ));
        assert!(ok(Tool::Get, &[Some("-g"), Some("cpu:/")]));
        assert!(!ok(Tool::Set, &[Some("/a")]));
        assert!(!ok(
            Tool::Set,
            &[
                Some("-r"),
                Some("a=b"),
                Some("--copy-from"),
                Some("/"),
                Some("/a")
            ]
        ));
        assert!(ok(Tool::LsSubsys, &[Some("-am")]));
        assert!(!ok(Tool::Delete, &[Some("-r")]));
        assert_eq!(
            check(Tool::LsSubsys, &[Some("-z")]),
            Err(ParseErrorKind::UnknownOption("-z".into()))
        );
    }

    #[test]
    fn helpers() {
        assert_eq!(join("/cg", "/a/").ok().as_deref(), Some("/cg/a"));
        assert_eq!(join("/cg", "/").ok().as_deref(), Some("/cg"));
        assert_eq!(join("/", "a").ok().as_deref(), Some("/a"));
        assert_eq!(unescape("/a\\040b\\134").ok().as_deref(), Some("/a b\\"));
        assert_eq!(unescape("\\04").ok().as_deref(), Some("\\04"));
        assert_eq!(
            column("/cg/cpu.stat:nr_throttled"),
            ("/cg/cpu.stat", Some("nr_throttled"))
        );
        assert_eq!(column("/cg/a:b/cpu.shares"), ("/cg/a:b/cpu.shares", None));
        let mut t = TextBuf::default();
        assert!(csv_field(&mut t, "a,\"b\"").is_ok());
        assert_eq!(t.0, "\"a,\"\"b\"\"\"");
        let mut t = TextBuf::default();
        assert!(put_value(&mut t, Some("x.stat"), "a 1\nb 2\n").is_ok());
        assert_eq!(t.0, "x.stat: a 1\n\tb 2\n");
        assert!(of_controller("cpu.shares", "cpu") && of_controller("cpu.stat.local", "cpu"));
        assert!(!of_controller("cpuacct.usage", "cpu") && !of_controller("cpu.", "cpu"));
        assert!(!of_controller("tasks", "cpu") && !of_controller("shares", "cpu"));
        assert_eq!(owner("1:2").ok(), Some((1, 2)));
        assert!(owner("1").is_err() && owner("a:b").is_err());
    }
}
