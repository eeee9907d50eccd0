//! The transcript normalisation of `shared/sim-scripts/FORMAT.md` ("How `.out` files are
//! compared"), in Rust, so that the repository's own cases run without `../shared` or
//! python3. It follows `shared/sim-scripts/normalize.py` rule for rule; where both are
//! present, `normalizer_agrees_with_normalize_py` checks that they agree on every
//! transcript the simulator prints for our cases.
//!
//! - a pid printed in a `VAR=PID` line (after `spawn`, `fork`, `thread`, `clone`) becomes
//!   `$VAR` there and wherever it is a whole line of a `tasks`, `cgroup.procs` or
//!   `cgroup.threads` read;
//! - `as UID` / `in VAR` prefixes are looked through;
//! - `/proc/PID/cgroup`: hierarchy ids become `N`, only lines of hierarchies the script
//!   mounted are kept (the `0::` line only once cgroup2 is mounted), lines sorted;
//! - `/proc/cgroups`: header kept, only rows of mounted controllers, hierarchy column `N`;
//! - under a cgroup2 mount, `cgroup.procs`/`cgroup.threads` sorted and the
//!   `nr_subsys_*`/`nr_dying_subsys_*` lines of `cgroup.stat` dropped.

use std::collections::{BTreeSet, HashMap};

const ALL_CONTROLLERS: [&str; 15] = [
    "cpuset",
    "cpu",
    "cpuacct",
    "io",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
];

/// POSIX-shell word splitting as Python's `shlex.split` does it for these command lines:
/// blanks separate, `'...'` is literal, `"..."` honours `\` before `"`, `\`, `$` and
/// `` ` ``, a bare `\` quotes the next character. `None` for an unclosed quote (the
/// caller then splits on blanks, as normalize.py does on `ValueError`).
fn shlex_split(s: &str) -> Option<Vec<String>> {
    let mut words = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '\'' => break,
                        x => cur.push(x),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next()? {
                        '"' => break,
                        '\\' => match chars.peek() {
                            Some(&n @ ('"' | '\\' | '$' | '`')) => {
                                cur.push(n);
                                chars.next();
                            }
                            _ => cur.push('\\'),
                        },
                        x => cur.push(x),
                    }
                }
            }
            '\\' => {
                in_word = true;
                cur.push(chars.next()?);
            }
            x => {
                in_word = true;
                cur.push(x);
            }
        }
    }
    if in_word {
        words.push(cur);
    }
    Some(words)
}

/// The command's words without `as UID` / `in VAR` prefixes.
fn strip_as(cmd: &str) -> Vec<String> {
    let mut w =
        shlex_split(cmd).unwrap_or_else(|| cmd.split_whitespace().map(String::from).collect());
    while w.len() >= 2 && (w[0] == "as" || w[0] == "in") {
        w.drain(..2);
    }
    w
}

/// `-o` and `-t` values and positional arguments of a mount command.
struct MountArgs {
    opts: Option<String>,
    fstype: Option<String>,
    last_positional: Option<String>,
}

fn mount_args(words: &[String]) -> MountArgs {
    let mut m = MountArgs {
        opts: None,
        fstype: None,
        last_positional: None,
    };
    let mut i = 1;
    while i < words.len() {
        let w = &words[i];
        if (w == "-o" || w == "-t") && i + 1 < words.len() {
            if w == "-t" {
                m.fstype = Some(words[i + 1].clone());
            } else {
                m.opts = Some(words[i + 1].clone());
            }
            i += 2;
            continue;
        }
        if let Some(t) = w.strip_prefix("-t").filter(|t| !t.is_empty()) {
            m.fstype = Some(t.to_string());
        } else if let Some(o) = w.strip_prefix("-o").filter(|o| !o.is_empty()) {
            m.opts = Some(o.to_string());
        } else if !w.starts_with("-o") {
            m.last_positional = Some(w.clone());
        }
        i += 1;
    }
    m
}

/// Controller names and `name=X` tokens a `mount -t cgroup` binds.
fn mount_tokens(m: &MountArgs) -> BTreeSet<String> {
    let mut toks = BTreeSet::new();
    if !matches!(m.fstype.as_deref(), None | Some("cgroup")) {
        return toks;
    }
    let opts = m.opts.as_deref().unwrap_or("");
    let mut keys = Vec::new();
    for o in opts.trim_matches(|c| c == '\'' || c == '"').split(',') {
        if o.is_empty() {
            continue;
        }
        let (k, v) = o.split_once('=').unwrap_or((o, ""));
        keys.push(k);
        if k == "name" {
            toks.insert(format!("name={v}"));
        } else if ALL_CONTROLLERS.contains(&k) {
            toks.insert(k.to_string());
        }
    }
    let names_controller = keys.iter().any(|k| ALL_CONTROLLERS.contains(k));
    if keys.contains(&"all")
        || (!names_controller && !keys.contains(&"none") && !keys.contains(&"name"))
    {
        toks.extend(ALL_CONTROLLERS.iter().map(|c| c.to_string()));
    }
    toks
}

/// `/a//b/./c/` -> `/a/b/c`.
fn clean_path(p: &str) -> String {
    let comps: Vec<&str> = p
        .split('/')
        .filter(|c| !c.is_empty() && *c != ".")
        .collect();
    format!("/{}", comps.join("/"))
}

/// `VAR=PID` -> `(VAR, PID)`.
fn var_line(l: &str) -> Option<(&str, &str)> {
    let (var, pid) = l.split_once('=')?;
    let mut vc = var.chars();
    let first_ok = vc
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    let var_ok = first_ok && vc.all(|c| c.is_ascii_alphanumeric() || c == '_');
    let pid_ok = !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit());
    (var_ok && pid_ok).then_some((var, pid))
}

/// `/proc/X/cgroup` for any single component X.
fn is_proc_pid_cgroup(path: &str) -> bool {
    path.strip_prefix("/proc/")
        .and_then(|r| r.strip_suffix("/cgroup"))
        .is_some_and(|x| !x.is_empty() && !x.contains('/'))
}

const TASK_COMMANDS: [&str; 4] = ["spawn", "fork", "thread", "clone"];

/// The normalised form of an `--echo` transcript.
pub fn normalize(text: &str) -> String {
    let mut lines: Vec<&str> = text.split('\n').collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    let mut blocks: Vec<(Option<&str>, Vec<String>)> = vec![(None, Vec::new())];
    for l in lines {
        if let Some(cmd) = l.strip_prefix("$ ") {
            blocks.push((Some(cmd), Vec::new()));
        } else if let Some(b) = blocks.last_mut() {
            b.1.push(l.to_string());
        }
    }
    let mut pidvar: HashMap<String, String> = HashMap::new();
    for (cmd, out) in &blocks {
        let Some(cmd) = cmd else { continue };
        let w = strip_as(cmd);
        if w.first()
            .is_some_and(|c| TASK_COMMANDS.contains(&c.as_str()))
        {
            for l in out {
                if let Some((var, pid)) = var_line(l) {
                    pidvar
                        .entry(pid.to_string())
                        .or_insert_with(|| format!("${var}"));
                }
            }
        }
    }
    let mut mounted = BTreeSet::new();
    let mut v2dirs: Vec<String> = Vec::new();
    let mut res: Vec<String> = Vec::new();
    for (cmd, out) in blocks {
        if let Some(cmd) = cmd {
            res.push(format!("$ {cmd}"));
        }
        let w = cmd.map(strip_as).unwrap_or_default();
        let failed = out.iter().any(|l| l.starts_with("error: "));
        let verb = w.first().map(String::as_str);
        if verb == Some("mount") && !failed {
            let m = mount_args(&w);
            mounted.extend(mount_tokens(&m));
            if let (Some("cgroup2"), Some(dir)) = (m.fstype.as_deref(), &m.last_positional) {
                v2dirs.push(clean_path(dir));
            }
        }
        let out = if verb.is_some_and(|v| TASK_COMMANDS.contains(&v)) {
            out.into_iter()
                .map(|l| match var_line(&l) {
                    Some((var, pid)) => {
                        format!("{var}={}", pidvar.get(pid).map_or(pid, String::as_str))
                    }
                    None => l,
                })
                .collect()
        } else if w.len() == 2 && verb == Some("cat") && !failed {
            let path = w[1].as_str();
            let base = path.trim_end_matches('/').rsplit('/').next().unwrap_or("");
            if is_proc_pid_cgroup(path) {
                let mut new: Vec<String> = Vec::new();
                for l in out {
                    let f: Vec<&str> = l.splitn(3, ':').collect();
                    if f.len() != 3 {
                        new.push(l);
                        continue;
                    }
                    if f[0] == "0" && f[1].is_empty() {
                        if !v2dirs.is_empty() {
                            new.push(l);
                        }
                        continue;
                    }
                    let hit = !f[1].is_empty() && f[1].split(',').any(|t| mounted.contains(t));
                    if hit {
                        new.push(format!("N:{}:{}", f[1], f[2]));
                    }
                }
                new.sort();
                new
            } else if path == "/proc/cgroups" {
                out.into_iter()
                    .filter_map(|l| {
                        if l.starts_with('#') {
                            return Some(l);
                        }
                        let mut f: Vec<&str> = l.split('\t').collect();
                        if f.len() >= 2 && mounted.contains(f[0]) {
                            f[1] = "N";
                            Some(f.join("\t"))
                        } else {
                            None
                        }
                    })
                    .collect()
            } else if ["tasks", "cgroup.procs", "cgroup.threads"].contains(&base) {
                let mut new: Vec<String> = out
                    .into_iter()
                    .map(|l| pidvar.get(&l).cloned().unwrap_or(l))
                    .collect();
                let cp = clean_path(path);
                if v2dirs
                    .iter()
                    .any(|d| cp.starts_with(&format!("{}/", d.trim_end_matches('/'))))
                {
                    new.sort();
                }
                new
            } else if base == "cgroup.stat" && !v2dirs.is_empty() {
                out.into_iter()
                    .filter(|l| !l.starts_with("nr_subsys_") && !l.starts_with("nr_dying_subsys_"))
                    .collect()
            } else {
                out
            }
        } else {
            out
        };
        res.extend(out);
    }
    res.iter().map(|l| format!("{l}\n")).collect()
}

#[test]
fn pids_become_variables_where_pids_are_printed() {
    let raw = "$ spawn A\nA=2\n$ cat /cg/tasks\n1\n2\n$ cat /cg/pids.current\n2\n";
    assert_eq!(
        normalize(raw),
        "$ spawn A\nA=$A\n$ cat /cg/tasks\n1\n$A\n$ cat /cg/pids.current\n2\n"
    );
}

#[test]
fn proc_files_keep_only_mounted_hierarchies() {
    let raw = "$ mount -t cgroup -o pids,name=x x /cg\n\
               $ cat /proc/1/cgroup\n5:name=y:/\n3:pids,name=x:/a\n0::/\n\
               $ cat /proc/cgroups\n#subsys_name\thierarchy\n\
               pids\t3\t1\t1\ncpu\t0\t1\t1\n";
    assert_eq!(
        normalize(raw),
        "$ mount -t cgroup -o pids,name=x x /cg\n$ cat /proc/1/cgroup\nN:pids,name=x:/a\n\
         $ cat /proc/cgroups\n#subsys_name\thierarchy\npids\tN\t1\t1\n"
    );
}

#[test]
fn words_split_as_shlex() {
    assert_eq!(
        shlex_split(r#"as 0 echo "a b" 'c d' e\ f"#),
        Some(
            ["as", "0", "echo", "a b", "c d", "e f"]
                .map(String::from)
                .to_vec()
        )
    );
    assert_eq!(shlex_split("echo 'open"), None);
    assert_eq!(strip_as("in A as 1000 cat /x"), ["cat", "/x"]);
}
