//! Parsing v1 mount options (`cgroup1_parse_param` and `check_cgroupfs_options`,
//! kernel/cgroup/cgroup-v1.c).

use alloc::string::String;

use crate::error::{Error, Result};
use crate::host::alloc::{try_string, Gfp};

/// `MAX_CGROUP_ROOT_NAMELEN` (include/linux/cgroup-defs.h): a name has at most 63 bytes.
pub const MAX_ROOT_NAME_LEN: usize = 63;

/// `PATH_MAX`: `release_agent` keeps at most `PATH_MAX - 1` bytes.
pub const PATH_MAX: usize = 4096;

/// What a mount asked for, after Linux's checks.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct MountOptions {
    /// The subsystems, as a bitmask of registration indices.
    pub subsys_mask: u32,
    /// `none` was given.
    pub none: bool,
    /// `all` was given (or implied by no controller, no `none`, no `name=`).
    pub all: bool,
    /// `name=`.
    pub name: Option<String>,
    /// `noprefix`.
    pub noprefix: bool,
    /// `clone_children`.
    pub clone_children: bool,
    /// `release_agent=`.
    pub release_agent: Option<String>,
}

/// Parse `opts` (comma-separated) against the subsystem names in `names` (index =
/// registration index). `cap_sys_admin` is needed for `release_agent=`.
///
/// # Errors
///
/// `EINVAL` for what Linux rejects with `invalfc()`: an unknown option, `name=` empty, too
/// long, with characters outside `[A-Za-z0-9._-]` or given twice, `release_agent=`
/// empty, given twice or without `CAP_SYS_ADMIN`, a value for a flag (`none=1`), `all` with controller names, neither a name
/// nor a controller, `noprefix` with a controller other than cpuset, `none` with
/// controllers. `ENOMEM` if a string cannot be copied.
pub fn parse_mount_options(
    opts: &str,
    names: &[&str],
    cap_sys_admin: bool,
) -> Result<MountOptions> {
    let mut o = MountOptions::default();
    let all_mask: u32 = if names.len() >= 32 {
        u32::MAX
    } else {
        (1u32 << names.len()) - 1
    };
    for token in opts.split(',') {
        if token.is_empty() {
            continue;
        }
        let (key, value) = match token.split_once('=') {
            Some((k, v)) => (k, Some(v)),
            None => (token, None),
        };
        match (key, value) {
            // fs/fs_context.c vfs_parse_monolithic_sep skips a token that starts with '='.
            ("", Some(_)) => {}
            ("none", None) => o.none = true,
            ("all", None) => o.all = true,
            ("noprefix", None) => o.noprefix = true,
            ("clone_children", None) => o.clone_children = true,
            // Accepted and ignored, as gpc has no xattrs, no v2 cpuset mode switch and
            // no dynamic-modification tuning.
            ("xattr" | "cpuset_v2_mode" | "favordynmods" | "nofavordynmods", None) => {}
            // VFS flags that mount(8) passes through the option string.
            ("rw" | "ro" | "nosuid" | "nodev" | "noexec" | "relatime" | "noatime", None) => {}
            ("release_agent", Some(v)) => {
                // fs/fs_parser.c fs_param_is_string: an empty value of a string
                // parameter is a "Bad value" (EINVAL) before cgroup1_parse_param sees it.
                if v.is_empty() || o.release_agent.is_some() || !cap_sys_admin {
                    return Err(Error::EINVAL);
                }
                o.release_agent = Some(try_string(truncate(v, PATH_MAX - 1), Gfp::KERNEL)?);
            }
            ("name", Some(v)) => {
                if v.is_empty() || v.len() > MAX_ROOT_NAME_LEN {
                    return Err(Error::EINVAL);
                }
                if !v
                    .bytes()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'.' | b'-' | b'_'))
                {
                    return Err(Error::EINVAL);
                }
                if o.name.is_some() {
                    return Err(Error::EINVAL);
                }
                o.name = Some(try_string(v, Gfp::KERNEL)?);
            }
            // A controller is matched by its key alone: fs_parse() returns -ENOPARAM for
            // a key that is no cgroup1 parameter, whatever its value, and
            // cgroup1_parse_param compares only `param->key` with the controller names,
            // so `cpu=1` selects cpu. What is left is EINVAL: a flag with a value
            // (`none=1`: "Unexpected value"), a string parameter without one
            // (`release_agent`), `source=` (the mount source is already set: "Multiple
            // sources"), an unknown name.
            (k, _) => match names.iter().position(|n| *n == k) {
                Some(i) if i < 32 => o.subsys_mask |= 1 << i,
                _ => return Err(Error::EINVAL),
            },
        }
    }
    // check_cgroupfs_options():
    if o.subsys_mask == 0 && !o.none && o.name.is_none() {
        o.all = true;
    }
    if o.all {
        if o.subsys_mask != 0 {
            return Err(Error::EINVAL);
        }
        o.subsys_mask = all_mask;
    }
    if o.subsys_mask == 0 && o.name.is_none() {
        return Err(Error::EINVAL);
    }
    if o.noprefix {
        let cpuset = names.iter().position(|n| *n == "cpuset");
        let others = match cpuset {
            Some(i) if i < 32 => o.subsys_mask & !(1 << i),
            _ => o.subsys_mask,
        };
        if others != 0 {
            return Err(Error::EINVAL);
        }
    }
    if o.subsys_mask != 0 && o.none {
        return Err(Error::EINVAL);
    }
    Ok(o)
}

fn truncate(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    const NAMES: &[&str] = &["cpuset", "cpu", "cpuacct", "memory"];

    fn p(s: &str) -> Result<MountOptions> {
        parse_mount_options(s, NAMES, true)
    }

    #[test]
    fn controllers_and_defaults() {
        assert_eq!(p("cpu,cpuacct").map(|o| o.subsys_mask), Ok(0b110));
        assert_eq!(
            p("").map(|o| o.subsys_mask),
            Ok(0b1111),
            "no option means all"
        );
        assert_eq!(p("all").map(|o| o.subsys_mask), Ok(0b1111));
        assert_eq!(
            p("cpu,cpu").map(|o| o.subsys_mask),
            Ok(0b10),
            "repeats are harmless"
        );
        let named = p("none,name=x").ok();
        assert_eq!(named.as_ref().map(|o| o.subsys_mask), Some(0));
        assert_eq!(named.and_then(|o| o.name).as_deref(), Some("x"));
        assert_eq!(
            p("name=x").map(|o| o.subsys_mask),
            Ok(0),
            "name alone selects nothing"
        );
    }

    #[test]
    fn linux_refusals() {
        for bad in [
            "bogus",
            "all,cpu",
            "none",
            "none,cpu",
            "name=",
            "name=a/b",
            "name=x,name=y",
            "noprefix,cpu",
            "release_agent=/a,release_agent=/b",
            // Linux fs/fs_parser.c fs_param_is_string: an empty string is a bad value.
            "release_agent=",
            "cpu,release_agent=",
            "release_agent=,release_agent=/b",
            "release_agent",
            "name",
            "none=1",
            "all=",
            "source=x",
            "bogus=1",
        ] {
            assert_eq!(p(bad), Err(Error::EINVAL), "{bad}");
        }
        let long = "name=".to_owned() + &"x".repeat(64);
        assert_eq!(p(&long), Err(Error::EINVAL));
        let ok = "name=".to_owned() + &"x".repeat(63);
        assert!(p(&ok).is_ok());
        assert!(p("noprefix,cpuset").is_ok());
        // kernel/cgroup/cgroup-v1.c cgroup1_parse_param matches a controller by its key.
        assert_eq!(p("cpu=1").map(|o| o.subsys_mask), Ok(0b10));
        assert_eq!(p("cpu,=x,=").map(|o| o.subsys_mask), Ok(0b10));
        assert_eq!(p("cpu=,memory=x").map(|o| o.subsys_mask), Ok(0b1010));
        assert_eq!(
            p("release_agent=/x").map(|o| o.release_agent),
            Ok(Some("/x".to_owned()))
        );
        assert_eq!(
            parse_mount_options("cpu,release_agent=/x", NAMES, false),
            Err(Error::EINVAL)
        );
    }

    extern crate std;
    use std::borrow::ToOwned;
}

bitflags::bitflags! {
    /// The options of a cgroup2 mount (Linux `cgroup2_fs_parameters`,
    /// kernel/cgroup/cgroup.c).
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct V2Options: u32 {
        /// `nsdelegate`: cgroup namespaces are delegation boundaries.
        const NSDELEGATE = 1 << 0;
        /// `favordynmods`: faster moves and forks' group changes, slower forks.
        const FAVOR_DYNMODS = 1 << 1;
        /// `memory_localevents`: `memory.events` counts this group's events only.
        const MEMORY_LOCAL_EVENTS = 1 << 2;
        /// `memory_recursiveprot`: memory protection applies to the subtree.
        const MEMORY_RECURSIVE_PROT = 1 << 3;
        /// `memory_hugetlb_accounting`: hugetlb pages are charged to memory.
        const MEMORY_HUGETLB_ACCOUNTING = 1 << 4;
        /// `pids_localevents`: `pids.events` counts this group's events only.
        const PIDS_LOCAL_EVENTS = 1 << 5;
    }
}

/// Parse the options of `mount -t cgroup2 -o OPTIONS` (comma-separated; Linux's
/// `cgroup2_parse_param`): the flags above, each given alone (no `=value`); an empty
/// option is skipped (the VFS splits `a,,b` so).
///
/// # Errors
///
/// `EINVAL` for any other option ("cgroup2: Unknown parameter").
pub fn parse_v2_mount_options(options: &str) -> Result<V2Options> {
    let mut flags = V2Options::empty();
    for opt in options.split(',') {
        flags |= match opt {
            "" => V2Options::empty(),
            "nsdelegate" => V2Options::NSDELEGATE,
            "favordynmods" => V2Options::FAVOR_DYNMODS,
            "memory_localevents" => V2Options::MEMORY_LOCAL_EVENTS,
            "memory_recursiveprot" => V2Options::MEMORY_RECURSIVE_PROT,
            "memory_hugetlb_accounting" => V2Options::MEMORY_HUGETLB_ACCOUNTING,
            "pids_localevents" => V2Options::PIDS_LOCAL_EVENTS,
            _ => return Err(Error::EINVAL),
        };
    }
    Ok(flags)
}
