//! The `net_cls` controller: a class id for the packets of a container's tasks.
//!
//! Follows `net/core/netclassid_cgroup.c` (torvalds/linux) as of Linux 6.18:
//!
//! - one file, `net_cls.classid` (`read_u64` / `write_u64`, no flags, so it exists in the
//!   root too, mode 0644);
//! - the write is a cftype `write_u64`: `cgroup_file_write` runs `kstrtoull(buf, 0)` on the
//!   **raw** buffer (no `strstrip`), so `0x10`, `010` (octal), `+5` and one trailing `'\n'`
//!   are accepted and `" 7"`, `"7 "`, `""`, `"-1"`, `"10:1"` are `EINVAL`, overflow is
//!   `ERANGE` ([`crate::parse::write_u64_input`]);
//! - `write_classid` stores `(u32)value`: `0x100000001` reads back as `1`;
//! - reads print the value in decimal (`"%llu\n"`);
//! - `cgrp_css_online`: a new container starts with its parent's class id (the root starts
//!   at 0).
//!
//! Linux then walks the container's tasks to retag their open sockets; gpc has no sockets,
//! so the effect is only what [`classid`] returns to the host (which tags packets with it).
//!
//! Conformance: `sim-scripts/cases/net_cls_classid` and `fork_thread_inherit`.

use core::sync::atomic::{AtomicU32, Ordering};

use crate::parse::write_u64_input;
use gpc_core::{CfType, Css, FileCtxOf, Out, Result, Subsystem};

/// The `net_cls` controller (Linux `net_cls_cgrp_subsys`).
pub struct NetCls;

/// Per-container state (Linux `struct cgroup_cls_state`).
pub struct State {
    classid: AtomicU32,
}

/// The class id of a container: what the host tags its tasks' packets with.
pub fn classid(css: Css<'_, NetCls>) -> u32 {
    css.state().classid.load(Ordering::Relaxed)
}

/// `read_classid`: `"%llu\n"`.
fn read_classid(_: &NetCls, ctx: &FileCtxOf<'_, NetCls>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", classid(ctx.css()))
}

/// `write_classid` behind `cgroup_file_write`'s `write_u64` path: `kstrtoull(buf, 0)` on
/// the raw buffer, stored as `(u32)value`.
fn write_classid(_: &NetCls, ctx: &FileCtxOf<'_, NetCls>, data: &[u8]) -> Result {
    let value = write_u64_input(data)?;
    // `cs->classid = (u32)value;`: C truncation, on purpose.
    let truncated = (value & u64::from(u32::MAX)) as u32;
    ctx.css()
        .state()
        .classid
        .store(truncated, Ordering::Relaxed);
    Ok(())
}

/// `ss_files` (netclassid_cgroup.c).
static FILES: [CfType<NetCls>; 1] = [CfType::rw("classid", read_classid, write_classid)];

impl Subsystem for NetCls {
    type State = State;
    const NAME: &'static str = "net_cls";

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `cgrp_css_alloc` + `cgrp_css_online`: inherit the parent's class id.
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<State> {
        let inherited = parent.map_or(0, classid);
        Ok(State {
            classid: AtomicU32::new(inherited),
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::vec::Vec;

    use gpc_core::testing::OneHierarchy;
    use gpc_core::Error;

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    impl World {
        fn new() -> World {
            World(OneHierarchy::new(&[&NetCls], "net_cls", 2, 1).unwrap())
        }

        fn classid_of(&self, path: &str) -> u32 {
            self.gpc
                .with_container_css(self.h, path, 0, |c| c.typed::<NetCls>().map(classid))
                .unwrap()
                .unwrap()
        }
    }

    #[test]
    fn transcript_net_cls_classid() {
        let w = World::new();
        w.gpc.mkdir(w.h, "a").unwrap();
        let f = "a/net_cls.classid";
        assert_eq!(w.read(f).unwrap(), "0\n");
        for (input, shown) in [
            (&b"0x100001\n"[..], "1048577\n"),
            (b"0X20\n", "32\n"),
            (b"010\n", "8\n"),
            (b"1048577\n", "1048577\n"),
            (b"+5\n", "5\n"),
            (b"4294967295\n", "4294967295\n"),
            (b"0x100000001\n", "1\n"),
        ] {
            w.write(f, input).unwrap();
            assert_eq!(w.read(f).unwrap(), shown, "{input:?}");
        }
        for bad in [
            &b"-1\n"[..],
            b"abc\n",
            b"10:1\n",
            b"0x\n",
            b"\n",
            b" 7\n",
            b"7 \n",
        ] {
            assert_eq!(w.write(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.write(f, b"99999999999999999999\n"), Err(Error::ERANGE));
        assert_eq!(w.read(f).unwrap(), "1\n", "failed writes change nothing");
    }

    #[test]
    fn hostile_values() {
        let w = World::new();
        let f = "net_cls.classid";
        assert_eq!(
            w.read(f).unwrap(),
            "0\n",
            "root has the file, starting at 0"
        );
        assert_eq!(w.write(f, b""), Ok(()), "a 0-byte write does nothing");
        assert_eq!(w.write(f, b"\0"), Err(Error::EINVAL), "the empty C string");
        assert_eq!(w.write(f, b"7\n\n"), Err(Error::EINVAL));
        assert_eq!(w.write(f, b"7x"), Err(Error::EINVAL));
        assert_eq!(w.write(f, b"18446744073709551615"), Ok(()));
        assert_eq!(w.read(f).unwrap(), "4294967295\n");
        assert_eq!(w.write(f, b"18446744073709551616"), Err(Error::ERANGE));
        let mut huge = Vec::new();
        huge.resize(4096, b'9');
        assert_eq!(w.write(f, &huge), Err(Error::ERANGE), "a page of digits");
        huge.push(b'\n');
        assert_eq!(w.write(f, &huge), Err(Error::E2BIG), "kernfs: over a page");
        assert_eq!(
            w.write(f, b"3\0garbage"),
            Ok(()),
            "bytes after a NUL are invisible"
        );
        assert_eq!(w.read(f).unwrap(), "3\n");
        assert_eq!(w.write(f, b"0x10"), Ok(()), "no newline needed");
        assert_eq!(w.classid_of(""), 16);
    }

    #[test]
    fn child_inherits_parent_classid() {
        let w = World::new();
        w.write("net_cls.classid", b"0x10001\n").unwrap();
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(w.read("a/net_cls.classid").unwrap(), "65537\n");
        assert_eq!(w.classid_of("a"), 65537);
        w.write("a/net_cls.classid", b"7").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        assert_eq!(w.classid_of("a/b"), 7);
        w.write("a/net_cls.classid", b"9").unwrap();
        assert_eq!(w.classid_of("a/b"), 7, "inherited once, at creation");
        assert_eq!(w.classid_of(""), 65537);
    }
}
