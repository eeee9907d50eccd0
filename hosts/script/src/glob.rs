//! Pathname expansion of path operands, as POSIX `sh` does it (XCU 2.13), bounded.
//!
//! A path operand with an *unquoted* `*`, `?` or `[...]` is a pattern: it is replaced by
//! the paths that match it, sorted bytewise; a pattern that matches nothing stays as
//! written (quotes removed), as in `sh` without `nullglob`. The rules:
//!
//! * `*` matches any string, `?` any one character, `[abc]`, `[a-z]`, `[!a]` (or `[^a]`)
//!   and the classes `[[:alpha:]]`, `[[:digit:]]`, `[[:alnum:]]`, `[[:upper:]]`,
//!   `[[:lower:]]`, `[[:space:]]`, `[[:punct:]]`, `[[:xdigit:]]` one character of a set;
//!   a `[` without its `]` is a literal `[`. Quoted characters (`'*'`, `"?"`, `\[`) are
//!   literal. Matching never crosses a `/`.
//! * A name that starts with `.` is matched only by a pattern component that starts with
//!   a literal `.` (there are no `.` and `..` entries to match: the machine's listings
//!   have none).
//! * A directory the caller may not read (`EACCES`), a missing one, a file: no match
//!   there, as glob(3) without `GLOB_ERR`. `ENOMEM` is the command's error.
//! * Components after the last pattern are checked to exist (`/cg/*/tasks` gives only the
//!   groups that have a `tasks`); a trailing `/` keeps only directories.
//!
//! The cost is bounded whatever the tree: one operand looks at most at
//! [`MAX_GLOB_ENTRIES`] directory entries, its matches hold at most [`MAX_GLOB_BYTES`]
//! bytes, and the matcher takes at most [`MATCH_BUDGET`] steps; past any of these the
//! command fails with `E2BIG` ("argument list too long", what `execve` says of too many
//! arguments) and does nothing. A pattern of `PATH_MAX` (4096) bytes or more is
//! `ENAMETOOLONG`, as the path itself would be.

use alloc::string::String;
use alloc::vec::Vec;

use gpc_core::Error;

/// Directory entries one operand may look at.
pub const MAX_GLOB_ENTRIES: usize = 65_536;
/// Bytes the matches of one operand may hold together (the longest line a script has:
/// a command cannot have been written with more).
pub const MAX_GLOB_BYTES: usize = crate::MAX_LINE;
/// Steps of the matcher for one operand (a `*` retried at each position is a step each).
pub const MATCH_BUDGET: u64 = 1 << 24;
/// Linux's `PATH_MAX`.
const PATH_MAX: usize = 4096;

/// One token of a pattern component.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tok<'a> {
    Lit(char),
    Star,
    Any,
    /// The text between `[` and `]` (negation included).
    Set(&'a str),
}

/// The token at byte `i` of `pat` and the byte after it.
fn token(pat: &str, i: usize) -> Option<(Tok<'_>, usize)> {
    let rest = pat.get(i..)?;
    let c = rest.chars().next()?;
    let after = i + c.len_utf8();
    Some(match c {
        '\\' => match pat.get(after..).and_then(|r| r.chars().next()) {
            Some(e) => (Tok::Lit(e), after + e.len_utf8()),
            None => (Tok::Lit('\\'), after),
        },
        '*' => (Tok::Star, after),
        '?' => (Tok::Any, after),
        '[' => match set_end(pat, after) {
            Some(end) => (Tok::Set(pat.get(after..end).unwrap_or("")), end + 1),
            None => (Tok::Lit('['), after),
        },
        c => (Tok::Lit(c), after),
    })
}

/// The byte of the `]` that closes a bracket expression whose text starts at `start`.
fn set_end(pat: &str, start: usize) -> Option<usize> {
    let bytes = pat.as_bytes();
    let mut i = start;
    if matches!(bytes.get(i), Some(b'!' | b'^')) {
        i += 1;
    }
    // A `]` first is a member.
    if bytes.get(i) == Some(&b']') {
        i += 1;
    }
    while let Some(&b) = bytes.get(i) {
        match b {
            b']' => return Some(i),
            b'\\' => i += 2,
            b'[' if bytes.get(i + 1) == Some(&b':') => {
                let close = pat.get(i + 2..)?.find(":]")?;
                i += close + 4;
            }
            _ => i += 1,
        }
    }
    None
}

fn class_has(class: &str, c: char) -> bool {
    match class {
        "alpha" => c.is_alphabetic(),
        "digit" => c.is_ascii_digit(),
        "alnum" => c.is_alphanumeric(),
        "upper" => c.is_uppercase(),
        "lower" => c.is_lowercase(),
        "space" => c.is_whitespace(),
        "punct" => c.is_ascii_punctuation(),
        "xdigit" => c.is_ascii_hexdigit(),
        _ => false,
    }
}

/// Whether `c` is in the bracket expression `set` (its text without the brackets).
fn set_has(set: &str, c: char) -> bool {
    let (negate, body) = match set.strip_prefix(['!', '^']) {
        Some(b) => (true, b),
        None => (false, set),
    };
    let mut found = false;
    let mut chars = body.char_indices().peekable();
    while let Some((i, ch)) = chars.next() {
        let low = match ch {
            '\\' => chars.next().map_or('\\', |(_, e)| e),
            '[' if body.get(i + 1..).is_some_and(|r| r.starts_with(':')) => {
                let rest = body.get(i + 2..).unwrap_or("");
                let end = rest.find(":]").unwrap_or(rest.len());
                found |= class_has(rest.get(..end).unwrap_or(""), c);
                // Skip the class and its `:]`.
                let skip_to = i + 2 + end + 2;
                while chars.next_if(|&(j, _)| j < skip_to).is_some() {}
                continue;
            }
            ch => ch,
        };
        let is_range = chars.peek().is_some_and(|&(_, n)| n == '-')
            && body
                .get(i + low.len_utf8() + 1..)
                .is_some_and(|r| !r.is_empty());
        if is_range {
            chars.next();
            let high = match chars.next() {
                Some((_, '\\')) => chars.next().map_or('\\', |(_, e)| e),
                Some((_, h)) => h,
                None => low,
            };
            found |= low <= c && c <= high;
        } else {
            found |= low == c;
        }
    }
    found != negate
}

/// Whether the pattern component has an active `*`, `?` or `[...]`.
pub(crate) fn has_meta(pat: &str) -> bool {
    let mut i = 0;
    while let Some((tok, next)) = token(pat, i) {
        if !matches!(tok, Tok::Lit(_)) {
            return true;
        }
        i = next;
    }
    false
}

/// The component without its escapes.
fn unescape(pat: &str) -> Result<String, Error> {
    let mut out = String::new();
    out.try_reserve(pat.len())?;
    let mut i = 0;
    while let Some((tok, next)) = token(pat, i) {
        match tok {
            Tok::Lit(c) => out.push(c),
            // Only called for components without meta characters.
            _ => out.push_str(pat.get(i..next).unwrap_or("")),
        }
        i = next;
    }
    Ok(out)
}

/// fnmatch(3) of one component, within `budget` steps (`E2BIG` past it).
fn matches(pat: &str, name: &str, budget: &mut u64) -> Result<bool, Error> {
    let (mut p, mut n) = (0usize, 0usize);
    // Where to retry after the last `*`: the pattern after it, the name position.
    let mut star: Option<(usize, usize)> = None;
    loop {
        *budget = budget.checked_sub(1).ok_or(Error::E2BIG)?;
        let here = name.get(n..).and_then(|r| r.chars().next());
        if let Some((tok, next)) = token(pat, p) {
            if tok == Tok::Star {
                star = Some((next, n));
                p = next;
                continue;
            }
            if let Some(c) = here {
                let ok = match tok {
                    Tok::Lit(l) => l == c,
                    Tok::Any => true,
                    Tok::Set(set) => set_has(set, c),
                    Tok::Star => false,
                };
                if ok {
                    p = next;
                    n += c.len_utf8();
                    continue;
                }
            }
        } else if here.is_none() {
            return Ok(true);
        }
        match star {
            Some((sp, sn)) => match name.get(sn..).and_then(|r| r.chars().next()) {
                Some(c) => {
                    let sn = sn + c.len_utf8();
                    star = Some((sp, sn));
                    p = sp;
                    n = sn;
                }
                None => return Ok(false),
            },
            None => return Ok(false),
        }
    }
}

/// What expansion needs of the machine: the entries of a directory, and whether a path
/// is a directory (`Err` for a missing one). Paths given are as the pattern has them;
/// the caller resolves relative ones.
pub(crate) trait Dirs {
    fn list(&mut self, path: &str) -> Result<Vec<String>, Error>;
    fn is_dir(&mut self, path: &str) -> Result<bool, Error>;
}

fn join(prefix: &str, name: &str) -> Result<String, Error> {
    let mut s = String::new();
    s.try_reserve(prefix.len() + name.len() + 1)?;
    s.push_str(prefix);
    if !prefix.is_empty() && !prefix.ends_with('/') {
        s.push('/');
    }
    s.push_str(name);
    Ok(s)
}

/// Counts what one expansion costs.
struct Cost {
    entries: usize,
    budget: u64,
}

/// Whether a probe's error means "no match here" (glob(3) without `GLOB_ERR`).
fn tolerated(e: Error) -> Result<(), Error> {
    match e {
        Error::ENOMEM => Err(Error::ENOMEM),
        _ => Ok(()),
    }
}

/// The paths `pattern` (escaped: a quoted special is `\`-escaped) matches, sorted
/// bytewise; empty when nothing matches.
pub(crate) fn expand(dirs: &mut dyn Dirs, pattern: &str) -> Result<Vec<String>, Error> {
    if pattern.len() >= PATH_MAX {
        return Err(Error::ENAMETOOLONG);
    }
    let mut current: Vec<String> = Vec::new();
    current.try_reserve(1)?;
    current.push(join(if pattern.starts_with('/') { "/" } else { "" }, "")?);
    let trailing_slash = pattern.ends_with('/');
    let comps: Vec<&str> = {
        let mut v = Vec::new();
        let parts = || pattern.split('/').filter(|c| !c.is_empty());
        v.try_reserve_exact(parts().count())?;
        v.extend(parts());
        v
    };
    let last_meta = comps.iter().rposition(|c| has_meta(c));
    let Some(last_meta) = last_meta else {
        return Ok(Vec::new());
    };
    let mut cost = Cost {
        entries: 0,
        budget: MATCH_BUDGET,
    };
    for (i, comp) in comps.iter().enumerate() {
        let mut next: Vec<String> = Vec::new();
        let mut bytes = 0usize;
        let must_be_dir = i < last_meta || (i + 1 == comps.len() && trailing_slash);
        if has_meta(comp) {
            let explicit_dot = comp.starts_with('.') || comp.starts_with("\\.");
            for prefix in &current {
                let dir = if prefix.is_empty() { "." } else { prefix };
                let names = match dirs.list(dir) {
                    Ok(n) => n,
                    Err(e) => {
                        tolerated(e)?;
                        continue;
                    }
                };
                cost.entries = cost.entries.saturating_add(names.len());
                if cost.entries > MAX_GLOB_ENTRIES {
                    return Err(Error::E2BIG);
                }
                for name in names {
                    if name.starts_with('.') && !explicit_dot {
                        continue;
                    }
                    if !matches(comp, &name, &mut cost.budget)? {
                        continue;
                    }
                    let path = join(prefix, &name)?;
                    if must_be_dir {
                        match dirs.is_dir(&path) {
                            Ok(true) => {}
                            Ok(false) => continue,
                            Err(e) => {
                                tolerated(e)?;
                                continue;
                            }
                        }
                    }
                    bytes = bytes.saturating_add(path.len());
                    if bytes > MAX_GLOB_BYTES {
                        return Err(Error::E2BIG);
                    }
                    next.try_reserve(1)?;
                    next.push(path);
                }
            }
        } else {
            let name = unescape(comp)?;
            next.try_reserve_exact(current.len())?;
            for prefix in &current {
                let path = join(prefix, &name)?;
                bytes = bytes.saturating_add(path.len());
                if bytes > MAX_GLOB_BYTES {
                    return Err(Error::E2BIG);
                }
                next.push(path);
            }
            if i + 1 == comps.len() {
                // The components after the last pattern must exist.
                let mut kept = Vec::new();
                kept.try_reserve_exact(next.len())?;
                for path in next {
                    match dirs.is_dir(&path) {
                        Ok(is_dir) if is_dir || !trailing_slash => kept.push(path),
                        Ok(_) => {}
                        Err(e) => tolerated(e)?,
                    }
                }
                next = kept;
            }
        }
        current = next;
        if current.is_empty() {
            break;
        }
    }
    if trailing_slash {
        for path in &mut current {
            path.try_reserve(1)?;
            path.push('/');
        }
    }
    current.sort_unstable();
    Ok(current)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;
    use alloc::vec;

    fn m(pat: &str, name: &str) -> bool {
        let mut budget = MATCH_BUDGET;
        matches(pat, name, &mut budget).unwrap_or(false)
    }

    #[test]
    fn fnmatch_rules() {
        assert!(m("*", "abc") && m("*", "") && m("a*c", "abbbc") && !m("a*c", "abd"));
        assert!(m("cpu.*", "cpu.shares") && !m("cpu.*", "cpuacct.usage"));
        assert!(m("?", "é") && !m("?", "ab") && m("a?c", "abc"));
        assert!(m("[abc]x", "bx") && !m("[abc]x", "dx") && m("[a-c]", "b"));
        assert!(m("[!a-c]", "d") && !m("[^a-c]", "a") && m("[]a]", "]"));
        assert!(m("[[:digit:]]*", "7up") && !m("[[:digit:]]", "x"));
        assert!(m("[a-]", "-") && m("[", "[") && m("a[", "a["));
        assert!(m("\\*", "*") && !m("\\*", "x") && m("\\?", "?"));
        assert!(m("*a*a*a*b", "aaaaaab") && !m("*a*a*a*b", "aaaaaaa"));
        assert!(has_meta("a*") && has_meta("[ab]") && !has_meta("\\*") && !has_meta("a["));
        assert_eq!(unescape("a\\*b").ok().as_deref(), Some("a*b"));
    }

    #[test]
    fn matcher_is_bounded() {
        let pat = "*a".repeat(2000);
        let name = "a".repeat(3000) + "b";
        let mut budget = 1000;
        assert_eq!(matches(&pat, &name, &mut budget), Err(Error::E2BIG));
    }

    struct Tree(Vec<&'static str>);

    impl Dirs for Tree {
        fn list(&mut self, path: &str) -> Result<Vec<String>, Error> {
            let dir = path.trim_end_matches('/');
            if !self.is_dir(path)? {
                return Err(Error::ENOTDIR);
            }
            Ok(self
                .0
                .iter()
                .filter_map(|p| {
                    let rest = p.strip_prefix(dir)?.strip_prefix('/')?;
                    let name = rest.trim_end_matches('/');
                    (!name.is_empty() && !name.contains('/')).then(|| name.to_string())
                })
                .collect())
        }
        fn is_dir(&mut self, path: &str) -> Result<bool, Error> {
            let p = path.trim_end_matches('/');
            if p.is_empty() || p == "." {
                return Ok(true);
            }
            if self.0.iter().any(|e| e.trim_end_matches('/') == p) {
                Ok(self.0.iter().any(|e| *e == alloc::format!("{p}/")))
            } else {
                Err(Error::ENOENT)
            }
        }
    }

    #[test]
    fn expansion() {
        let mut t = Tree(vec![
            "/cg/",
            "/cg/b/",
            "/cg/a/",
            "/cg/.hidden/",
            "/cg/tasks",
            "/cg/a/tasks",
            "/cg/b/cpu.shares",
            "/cg/b/tasks",
        ]);
        let e = |t: &mut Tree, p: &str| expand(t, p).unwrap_or_default().join(" ");
        assert_eq!(e(&mut t, "/cg/*"), "/cg/a /cg/b /cg/tasks");
        assert_eq!(e(&mut t, "/cg/*/"), "/cg/a/ /cg/b/");
        assert_eq!(e(&mut t, "/cg/.*"), "/cg/.hidden");
        assert_eq!(e(&mut t, "/cg/*/tasks"), "/cg/a/tasks /cg/b/tasks");
        assert_eq!(e(&mut t, "/cg/*/cpu.*"), "/cg/b/cpu.shares");
        assert_eq!(e(&mut t, "/cg/x*"), "");
        assert_eq!(e(&mut t, "/c?/[ab]"), "/cg/a /cg/b");
        assert_eq!(e(&mut t, "/cg/a"), "");
    }
}
