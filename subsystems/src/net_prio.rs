//! The `net_prio` controller: a priority per network device for the packets of a
//! group's tasks.
//!
//! Follows `net/core/netprio_cgroup.c` (torvalds/linux) as of Linux 6.18 (v1 only: Linux
//! inhibits it on v2, `cgrp_dfl_inhibit_ss_mask`):
//!
//! | file | mode | read | write |
//! |---|---|---|---|
//! | `net_prio.prioidx` | 0444 | `read_prioidx`: the css id, `"%llu\n"` (the root 1, groups the lowest free id from 2) | |
//! | `net_prio.ifpriomap` | 0644 | `read_priomap`: `"%s %u\n"` per device, in the host's order | `write_priomap`: `sscanf(buf, "%16s %u")` must convert both (`EINVAL`), the device must exist (`ENODEV`), then the priority is stored |
//!
//! Both exist in the root too (no flags). The write's grammar is the kernel's `vsscanf`:
//! leading blanks skipped, a name of at most 16 non-blank bytes (`IFNAMSIZ`; a longer
//! word is cut there and the rest must then parse as the number), blanks, an unsigned
//! decimal without sign (`-1`, `+1` are `EINVAL`), overflow wrapping and the value cut
//! to 32 bits, anything after the number ignored.
//!
//! `cgrp_css_online`: a new group starts with its parent's priority for every device;
//! a group whose css id would pass `NETPRIO_ID_MAX` (65535) is refused with `ENOSPC`.
//!
//! The effect ([`prio`]): Linux's `skb_update_prio` sets `skb->priority` of a packet a
//! task sends on a device from the map of the task's group when the socket set none; a
//! host asks [`prio`] for the group of the sending task and the device index.
//!
//! Devices are the host's ([`gpc_core::NetDevices`], through the caller's task table):
//! a device's index in that list keys the map, so a host that adds devices appends them.

use alloc::vec::Vec;

use gpc_core::host::alloc::{try_reserve, Gfp};
use gpc_core::host::lock::SpinLock;
use gpc_core::parse::cstr;
use gpc_core::{CfType, Css, Error, FileCtxOf, NetDevices, Out, Result, Subsystem};

/// The `net_prio` controller (Linux `net_prio_cgrp_subsys`).
pub struct NetPrio;

/// `NETPRIO_ID_MAX` (`USHRT_MAX`): the highest css id a group may have.
pub const NETPRIO_ID_MAX: u32 = u16::MAX as u32;

/// `IFNAMSIZ`: the `%16s` of the write.
const IFNAMSIZ: usize = 16;

/// Per-group state (Linux keeps the priorities per device, indexed by the css id:
/// `dev->priomap->priomap[prioidx]`; gpc keeps them per group, indexed by device).
pub struct State {
    /// The css id (`prioidx`).
    id: u32,
    /// Priority per device index; devices past the end have 0 (`netprio_prio`).
    map: SpinLock<Vec<u32>>,
    /// Only in the root: which css ids are taken (bit per id), Linux's `ss->css_idr`.
    ids: Option<SpinLock<Vec<u64>>>,
}

/// The css id of a group (`net_prio.prioidx`).
pub fn prioidx(css: Css<'_, NetPrio>) -> u32 {
    css.state().id
}

/// `netprio_prio`: the priority of device `dev` (the host's index) for the group's
/// tasks' packets.
pub fn prio(css: Css<'_, NetPrio>, dev: usize) -> u32 {
    css.state().map.lock().get(dev).copied().unwrap_or(0)
}

/// `netprio_set_prio` (with `extend_netdev_table`: the map grows first, fallibly).
fn set_prio(css: Css<'_, NetPrio>, dev: usize, prio: u32) -> Result {
    let mut map = css.state().map.lock();
    if dev >= map.len() {
        if prio == 0 {
            // Linux: "no need to extend the table for a zero prio".
            return Ok(());
        }
        let add = dev + 1 - map.len();
        try_reserve(&mut map, add, Gfp::KERNEL)?;
        map.resize(dev + 1, 0);
    }
    if let Some(slot) = map.get_mut(dev) {
        *slot = prio;
    }
    Ok(())
}

/// `read_prioidx`.
fn read_prioidx(_: &NetPrio, ctx: &FileCtxOf<'_, NetPrio>, out: &mut Out<'_>) -> Result {
    writeln!(out, "{}", prioidx(ctx.css()))
}

/// `read_priomap`: one `"%s %u\n"` line per device.
fn read_priomap(_: &NetPrio, ctx: &FileCtxOf<'_, NetPrio>, out: &mut Out<'_>) -> Result {
    let Some(devs) = ctx.caller().tasks.net_devices() else {
        return Ok(());
    };
    for idx in 0..devs.count() {
        if let Some(name) = devs.name(idx) {
            writeln!(out, "{name} {}", prio(ctx.css(), idx))?;
        }
    }
    Ok(())
}

/// The kernel's `isspace` (`_ctype`: space, `\t\n\v\f\r`, and 0xa0).
fn is_space(b: u8) -> bool {
    matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | 0xa0)
}

/// `sscanf(buf, "%16s %u", devname, &prio) == 2`: the name and the priority.
///
/// # Errors
///
/// `EINVAL` when fewer than two conversions succeed.
pub fn parse_priomap(buf: &[u8]) -> Result<(&[u8], u32)> {
    let buf = cstr(buf);
    let skip = |s: &[u8]| -> usize { s.iter().take_while(|&&b| is_space(b)).count() };
    let mut i = skip(buf);
    // vsscanf: `if (!*str) break;` before each conversion.
    if i >= buf.len() {
        return Err(Error::EINVAL);
    }
    let start = i;
    while i < buf.len() && i - start < IFNAMSIZ && buf.get(i).is_some_and(|&b| !is_space(b)) {
        i += 1;
    }
    let name = buf.get(start..i).ok_or(Error::EINVAL)?;
    // The blank in the format skips blanks in the input.
    i += skip(buf.get(i..).unwrap_or(&[]));
    let digits = buf
        .get(i..)
        .unwrap_or(&[])
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .count();
    if digits == 0 {
        return Err(Error::EINVAL);
    }
    // simple_strntoull: overflow wraps; `*va_arg(args, unsigned int *) = val.u` cuts.
    let v = buf
        .get(i..i + digits)
        .unwrap_or(&[])
        .iter()
        .fold(0u64, |v, &d| {
            v.wrapping_mul(10).wrapping_add(u64::from(d - b'0'))
        });
    Ok((name, (v & u64::from(u32::MAX)) as u32))
}

/// The index of the device called `name` (`dev_get_by_name`).
fn device_index(devs: &dyn NetDevices, name: &[u8]) -> Option<usize> {
    (0..devs.count()).find(|&i| devs.name(i).is_some_and(|n| n.as_bytes() == name))
}

/// `write_priomap`.
fn write_priomap(_: &NetPrio, ctx: &FileCtxOf<'_, NetPrio>, data: &[u8]) -> Result {
    let (name, prio) = parse_priomap(data)?;
    let dev = ctx
        .caller()
        .tasks
        .net_devices()
        .and_then(|d| device_index(d, name))
        .ok_or(Error::ENODEV)?;
    set_prio(ctx.css(), dev, prio)
}

/// `ss_files`.
static FILES: [CfType<NetPrio>; 2] = [
    CfType::ro("prioidx", read_prioidx),
    CfType::rw("ifpriomap", read_priomap, write_priomap),
];

/// The root of `css`'s tree, which keeps the id allocator.
fn root_of(css: Css<'_, NetPrio>) -> Option<Css<'_, NetPrio>> {
    css.ancestors_and_self().last()
}

/// The lowest free css id from 2 (`cgroup_idr_alloc(&ss->css_idr, NULL, 2, 0)`), taken.
fn alloc_id(ids: &SpinLock<Vec<u64>>) -> Result<u32> {
    let mut words = ids.lock();
    let free = words
        .iter()
        .enumerate()
        .find(|(_, w)| **w != u64::MAX)
        .map_or(words.len() * 64, |(i, w)| {
            i * 64 + w.trailing_ones() as usize
        });
    let id = u32::try_from(free).map_err(|_| Error::ENOSPC)?;
    if id > NETPRIO_ID_MAX {
        // cgrp_css_online: `if (css->id > NETPRIO_ID_MAX) return -ENOSPC;`
        return Err(Error::ENOSPC);
    }
    let word = free / 64;
    if word >= words.len() {
        try_reserve(&mut words, 1, Gfp::KERNEL)?;
        words.push(0);
    }
    if let Some(w) = words.get_mut(word) {
        *w |= 1 << (free % 64);
    }
    Ok(id)
}

impl Subsystem for NetPrio {
    type State = State;
    const NAME: &'static str = "net_prio";
    const NO_TASK_STATE: bool = true;

    fn files(&self) -> &'static [CfType<Self>] {
        &FILES
    }

    /// `cgrp_css_alloc` with the css id, and `cgrp_css_online`: the parent's priorities.
    fn create(&self, parent: Option<Css<'_, Self>>) -> Result<State> {
        let Some(parent) = parent else {
            // The root: css id 1; ids 0 and 1 are never handed to groups.
            let mut words = Vec::new();
            try_reserve(&mut words, 1, Gfp::KERNEL)?;
            words.push(0b11);
            return Ok(State {
                id: 1,
                map: gpc_core::new_spinlock!(Vec::new(), c"netprio_map")?,
                ids: Some(gpc_core::new_spinlock!(words, c"netprio_ids")?),
            });
        };
        let inherited = {
            let pm = parent.state().map.lock();
            let mut v = Vec::new();
            try_reserve(&mut v, pm.len(), Gfp::KERNEL)?;
            v.extend_from_slice(&pm);
            v
        };
        let map = gpc_core::new_spinlock!(inherited, c"netprio_map")?;
        let ids = root_of(parent)
            .and_then(|r| r.state().ids.as_ref())
            .ok_or(Error::EINVAL)?;
        let id = alloc_id(ids)?;
        Ok(State { id, map, ids: None })
    }

    /// The css id is free again (`css_free` → `cgroup_idr_remove`).
    fn destroy(&self, css: Css<'_, Self>) {
        let id = css.state().id as usize;
        if let Some(ids) = root_of(css).and_then(|r| r.state().ids.as_ref()) {
            if let Some(w) = ids.lock().get_mut(id / 64) {
                *w &= !(1u64 << (id % 64));
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests: a failed unwrap is a failed test
mod tests {
    extern crate std;

    use std::string::String;
    use std::vec::Vec;

    use gpc_core::testing::{OneHierarchy, TaskList};
    use gpc_core::{Caller, Creds, Pid, TaskRef, TaskTable};

    use super::*;

    gpc_core::one_hierarchy_harness!(World);

    /// The machine's default devices.
    struct Devs(&'static [&'static str]);

    impl NetDevices for Devs {
        fn count(&self) -> usize {
            self.0.len()
        }
        fn name(&self, idx: usize) -> Option<&str> {
            self.0.get(idx).copied()
        }
    }

    struct WithDevs<'a> {
        tasks: &'a TaskList,
        devs: &'a Devs,
    }

    impl TaskTable for WithDevs<'_> {
        fn with_task(&self, pid: Pid, f: &mut dyn FnMut(&TaskRef<'_>)) -> bool {
            self.tasks.with_task(pid, f)
        }
        fn with_thread_group(
            &self,
            tgid: Pid,
            f: &mut dyn FnMut(&mut dyn Iterator<Item = TaskRef<'_>>),
        ) -> bool {
            self.tasks.with_thread_group(tgid, f)
        }
        fn net_devices(&self) -> Option<&dyn NetDevices> {
            Some(self.devs)
        }
    }

    const DEVS: Devs = Devs(&["lo", "eth0"]);

    impl World {
        fn new(options: &str) -> World {
            World(OneHierarchy::new(&[&NetPrio], options, 2, 1).unwrap())
        }

        fn rd(&self, path: &str) -> String {
            let tasks = WithDevs {
                tasks: &self.tasks,
                devs: &DEVS,
            };
            let caller = Caller {
                creds: Creds::ROOT,
                pid: Some(1),
                tasks: &tasks,
            };
            let mut buf = Vec::new();
            self.gpc.read(self.h, path, &caller, &mut buf).unwrap();
            String::from_utf8(buf).unwrap()
        }

        fn wr(&self, path: &str, data: &[u8]) -> Result {
            let tasks = WithDevs {
                tasks: &self.tasks,
                devs: &DEVS,
            };
            let caller = Caller {
                creds: Creds::ROOT,
                pid: Some(1),
                tasks: &tasks,
            };
            self.gpc.write(self.h, path, data, &caller)
        }

        fn prio_of(&self, path: &str, dev: usize) -> u32 {
            self.gpc
                .with_container_css(self.h, path, 0, |c| {
                    prio(c.typed::<NetPrio>().unwrap(), dev)
                })
                .unwrap()
        }
    }

    #[test]
    fn files_ids_and_maps() {
        let w = World::new("net_prio");
        assert_eq!(w.rd("net_prio.prioidx"), "1\n", "the root's css id");
        assert_eq!(w.rd("net_prio.ifpriomap"), "lo 0\neth0 0\n");
        w.gpc.mkdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "b").unwrap();
        assert_eq!(w.rd("a/net_prio.prioidx"), "2\n");
        assert_eq!(w.rd("b/net_prio.prioidx"), "3\n");
        w.gpc.rmdir(w.h, "a").unwrap();
        w.gpc.mkdir(w.h, "c").unwrap();
        assert_eq!(w.rd("c/net_prio.prioidx"), "2\n", "the lowest free id");
        assert_eq!(w.wr("c/net_prio.prioidx", b"5"), Err(Error::EINVAL));
        w.wr("c/net_prio.ifpriomap", b"eth0 5\n").unwrap();
        assert_eq!(w.rd("c/net_prio.ifpriomap"), "lo 0\neth0 5\n");
        assert_eq!(w.prio_of("c", 1), 5);
        assert_eq!(w.prio_of("c", 7), 0, "a device past the map");
    }

    #[test]
    fn ifpriomap_inherited_at_creation() {
        let w = World::new("net_prio");
        w.wr("net_prio.ifpriomap", b"lo 3").unwrap();
        w.gpc.mkdir(w.h, "a").unwrap();
        assert_eq!(w.rd("a/net_prio.ifpriomap"), "lo 3\neth0 0\n");
        w.wr("a/net_prio.ifpriomap", b"eth0 7").unwrap();
        w.gpc.mkdir(w.h, "a/b").unwrap();
        assert_eq!(w.rd("a/b/net_prio.ifpriomap"), "lo 3\neth0 7\n");
        w.wr("a/net_prio.ifpriomap", b"eth0 8").unwrap();
        assert_eq!(
            w.rd("a/b/net_prio.ifpriomap"),
            "lo 3\neth0 7\n",
            "copied once, at creation"
        );
    }

    #[test]
    fn hostile_priomap_writes() {
        let w = World::new("net_prio");
        let f = "net_prio.ifpriomap";
        for (input, want) in [
            (&b"eth0 1"[..], "lo 0\neth0 1\n"),
            (b"  eth0\t\t2 junk\n", "lo 0\neth0 2\n"),
            (b"eth0 4294967297", "lo 0\neth0 1\n"),
            (b"eth0 4294967295", "lo 0\neth0 4294967295\n"),
            (b"eth0 0x10", "lo 0\neth0 0\n"),
            (b"lo 99999999999999999999", "lo 1661992959\neth0 0\n"),
            (b"eth0 6\0 7", "lo 1661992959\neth0 6\n"),
        ] {
            w.wr(f, input).unwrap();
            assert_eq!(w.rd(f), want, "{input:?}");
        }
        for bad in [
            &b""[..],
            b"\n",
            b"eth0",
            b"eth0 ",
            b"eth0 -1",
            b"eth0 +1",
            b"eth0 x",
            b"\0eth0 1",
        ] {
            if bad.is_empty() {
                continue; // a 0-byte write never reaches the handler
            }
            assert_eq!(w.wr(f, bad), Err(Error::EINVAL), "{bad:?}");
        }
        assert_eq!(w.wr(f, b"eth1 1"), Err(Error::ENODEV));
        assert_eq!(w.wr(f, b"ETH0 1"), Err(Error::ENODEV));
        // %16s cuts a long word: the 17th byte must then be the number.
        assert_eq!(w.wr(f, b"aaaaaaaaaaaaaaaa5"), Err(Error::ENODEV));
        assert_eq!(w.wr(f, b"aaaaaaaaaaaaaaaaa 5"), Err(Error::EINVAL));
        // Without the host's devices, no device exists.
        assert_eq!(w.write(f, b"eth0 1"), Err(Error::ENODEV));
        assert_eq!(w.read(f).unwrap(), "");
        assert_eq!(
            w.rd(f),
            "lo 1661992959\neth0 6\n",
            "failures change nothing"
        );
    }

    #[test]
    fn parse_priomap_grammar() {
        assert_eq!(parse_priomap(b"eth0 5"), Ok((&b"eth0"[..], 5)));
        assert_eq!(parse_priomap(b"a 1 2"), Ok((&b"a"[..], 1)));
        assert_eq!(parse_priomap(b"x"), Err(Error::EINVAL));
    }
}
