//! The io controller's files on v1 and v2, their hostile writes, and the host calls.

extern crate std;
use std::string::String;
use std::vec::Vec;

use gpc_core::testing::{OneHierarchy, TaskList, TestHost};
use gpc_core::{Creds, Error, Gpc};

use super::*;

gpc_core::one_hierarchy_harness!(World);

const SDA: u32 = mkdev(8, 0);
const SDB: u32 = mkdev(8, 16);

impl World {
    /// `blkio` on v1, with disks 8:0 and 8:16 and groups `a` and `a/b`.
    fn v1() -> World {
        let w = World(OneHierarchy::new(&[&Io], "blkio", 2, 1).unwrap());
        w.setup();
        w
    }

    /// The unified hierarchy with io enabled in the root and in `a`.
    fn v2() -> World {
        let gpc = Gpc::new(TestHost::new(2, 1), &[&Io]).unwrap();
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc).unwrap();
        let h = gpc.mount_v2("", &tasks.caller(Creds::ROOT, None)).unwrap();
        let w = World(OneHierarchy { gpc, tasks, h });
        w.write("cgroup.subtree_control", b"+io").unwrap();
        w.setup();
        w.write("a/cgroup.subtree_control", b"+io").unwrap();
        w
    }

    fn setup(&self) {
        self.with_root(|r| set_disks(r, &[SDA, SDB]).unwrap());
        self.gpc.mkdir(self.h, "a").unwrap();
        self.gpc.mkdir(self.h, "a/b").unwrap();
    }

    fn with_root<R>(&self, f: impl FnOnce(Css<'_, Io>) -> R) -> R {
        self.with_css("", f)
    }

    /// `f` with the state of group `path` (a task is moved there and back).
    fn with_css<R>(&self, path: &str, f: impl FnOnce(Css<'_, Io>) -> R) -> R {
        let ss = self.gpc.subsys_id("io").unwrap();
        if !path.is_empty() {
            self.move_to(path, 1).unwrap();
        }
        let r = {
            let guard = self.gpc.rcu_read_lock();
            let slot = &self.tasks.get(1).unwrap().slot;
            let css = self.gpc.task_state::<Io>(&guard, slot, ss).unwrap();
            f(css)
        };
        if !path.is_empty() {
            self.move_to("", 1).unwrap();
        }
        r
    }

    fn r(&self, path: &str) -> String {
        self.read(path).unwrap()
    }

    fn w(&self, path: &str, data: &str) -> Result {
        self.write(path, data.as_bytes())
    }
}

#[test]
fn names_and_file_sets() {
    let w = World::v1();
    let files = w.ls("a");
    for f in [
        "blkio.reset_stats",
        "blkio.throttle.read_bps_device",
        "blkio.throttle.io_serviced_recursive",
        "blkio.bfq.weight",
        "blkio.bfq.weight_device",
        "blkio.bfq.io_service_bytes",
    ] {
        assert!(files.iter().any(|n| n == f), "{f} in {files:?}");
    }
    assert!(!files.iter().any(|n| n.starts_with("io.")));
    let root = w.ls("");
    assert!(!root.iter().any(|n| n == "blkio.bfq.weight"));
    assert!(root.iter().any(|n| n == "blkio.throttle.read_bps_device"));
    let mut buf = Vec::new();
    w.gpc.proc_cgroups(&mut buf).unwrap();
    assert!(String::from_utf8(buf).unwrap().contains("\nblkio\t"));
    // The v1 mount option is the legacy name only.
    let caller = w.tasks.caller(Creds::ROOT, None);
    assert!(w.gpc.mount("io", &caller).is_err());

    let w = World::v2();
    let files = w.ls("a");
    for f in ["io.stat", "io.max", "io.weight", "io.bfq.weight"] {
        assert!(files.iter().any(|n| n == f), "{f}");
    }
    assert!(!files.iter().any(|n| n.starts_with("blkio.")));
    let root = w.ls("");
    assert!(root.iter().any(|n| n == "io.stat"));
    assert!(!root.iter().any(|n| n == "io.max" || n == "io.weight"));
    assert_eq!(w.r("cgroup.controllers"), "io\n");
}

#[test]
fn io_max_format_partial_updates_and_errors() {
    let w = World::v2();
    assert_eq!(w.r("a/io.max"), "");
    w.w("a/io.max", "8:0 wbps=1048576\n").unwrap();
    assert_eq!(
        w.r("a/io.max"),
        "8:0 rbps=max wbps=1048576 riops=max wiops=max\n"
    );
    w.w("a/io.max", "8:0 riops=100 rbps=2000").unwrap();
    assert_eq!(
        w.r("a/io.max"),
        "8:0 rbps=2000 wbps=1048576 riops=100 wiops=max\n"
    );
    // Newest blkg first.
    w.w("a/io.max", "8:16 wiops=4294967294").unwrap();
    assert_eq!(
        w.r("a/io.max"),
        "8:16 rbps=max wbps=max riops=max wiops=4294967294\n\
         8:0 rbps=2000 wbps=1048576 riops=100 wiops=max\n"
    );
    // wiops=UINT_MAX is "max": the line goes.
    w.w("a/io.max", "8:16 wiops=5000000000").unwrap();
    w.w("a/io.max", "8:0 rbps=max wbps=max riops=max").unwrap();
    assert_eq!(w.r("a/io.max"), "");
    // A body with no token changes nothing (`echo 8:0 > io.max` too).
    w.w("a/io.max", "8:0 \n").unwrap();
    w.w("a/io.max", "8:0\n").unwrap();
    for (input, e) in [
        ("8:0", Error::EINVAL),
        ("8:0 rbps=0", Error::ERANGE),
        ("8:0 rbps=", Error::EINVAL),
        ("8:0 rbps", Error::EINVAL),
        ("8:0 rbps=-1", Error::EINVAL),
        ("8:0 rbps=maxx", Error::EINVAL),
        ("8:0 foo=1", Error::EINVAL),
        ("8:0 rbps=1 foo=1", Error::EINVAL),
        ("8:1 rbps=1", Error::ENODEV),
        ("9:0 rbps=1", Error::ENODEV),
        ("8-0 rbps=1", Error::EINVAL),
        ("x:0 rbps=1", Error::EINVAL),
        ("8:0 rbps=000000000000000000000001", Error::ERANGE),
        ("99999999999999999999:0 rbps=1", Error::ENODEV),
    ] {
        assert_eq!(w.w("a/io.max", input), Err(e), "{input:?}");
    }
    // The failed writes changed nothing (rbps=1 of the bad-key write was not applied).
    assert_eq!(w.r("a/io.max"), "");
    // Garbage after a number is ignored (sscanf), a huge number wraps.
    w.w("a/io.max", "8:0 rbps=5x").unwrap();
    assert_eq!(w.r("a/io.max"), "8:0 rbps=5 wbps=max riops=max wiops=max\n");
    w.w("a/io.max", "8:0 rbps=18446744073709551617").unwrap();
    assert_eq!(w.r("a/io.max"), "8:0 rbps=1 wbps=max riops=max wiops=max\n");
    // MKDEV wraps: 4104:0 is 8:0.
    w.w("a/io.max", "4104:0 rbps=max").unwrap();
    assert_eq!(w.r("a/io.max"), "");
    // Not on the root.
    assert_eq!(w.w("io.max", "8:0 rbps=1"), Err(Error::ENOENT));
    w.with_css("a", |c| {
        assert_eq!(limits(c, SDA), ([u64::MAX; 2], [u32::MAX; 2]))
    });
}

#[test]
fn io_weight() {
    let w = World::v2();
    assert_eq!(w.r("a/io.weight"), "default 100\n");
    w.w("a/io.weight", "200").unwrap();
    w.w("a/b/io.weight", "default 50\n").unwrap();
    assert_eq!(w.r("a/io.weight"), "default 200\n");
    assert_eq!(w.r("a/b/io.weight"), "default 50\n");
    w.w("a/io.weight", "8:16 300").unwrap();
    w.w("a/io.weight", "8:0 10000").unwrap();
    assert_eq!(w.r("a/io.weight"), "default 200\n8:0 10000\n8:16 300\n");
    w.with_css("a", |c| {
        assert_eq!(weight(c, SDA, true), 10000);
        assert_eq!(weight(c, SDB, true), 300);
    });
    w.w("a/io.weight", "8:16 default").unwrap();
    assert_eq!(w.r("a/io.weight"), "default 200\n8:0 10000\n");
    w.with_css("a", |c| assert_eq!(weight(c, SDB, true), 200));
    for (input, e) in [
        ("0", Error::EINVAL),
        ("10001", Error::EINVAL),
        ("default", Error::EINVAL),
        ("abc", Error::EINVAL),
        ("-5", Error::EINVAL),
        ("8:0 0", Error::EINVAL),
        ("8:0 10001", Error::EINVAL),
        ("8:0 x", Error::EINVAL),
        ("8:0", Error::EINVAL),
        ("8:2 100", Error::ENODEV),
    ] {
        assert_eq!(w.w("a/io.weight", input), Err(e), "{input:?}");
    }
    // `%u` truncates: 4294967297 is 1.
    w.w("a/io.weight", "4294967297").unwrap();
    assert_eq!(w.r("a/io.weight"), "default 1\n8:0 10000\n");
    assert_eq!(w.w("io.weight", "100"), Err(Error::ENOENT));
}

#[test]
fn io_stat_is_recursive_and_lists_blkgs() {
    let w = World::v2();
    assert_eq!(w.r("io.stat"), "8:16 \n8:0 \n");
    assert_eq!(w.r("a/io.stat"), "");
    w.with_css("a/b", |c| {
        prepare(c, SDA).unwrap();
        account(c, SDA, true, true, 10 << 20, 20);
        account(c, SDA, false, true, 4096, 1);
        assert_eq!(prepare(c, mkdev(8, 1)), Err(Error::ENODEV));
    });
    let line = "8:0 rbytes=4096 wbytes=10485760 rios=1 wios=20 dbytes=0 dios=0\n";
    assert_eq!(w.r("a/b/io.stat"), line);
    assert_eq!(w.r("a/io.stat"), line);
    assert_eq!(w.r("io.stat"), std::format!("8:16 \n{line}"));
    // A removed group's I/O stays in its parent's figures.
    w.gpc.rmdir(w.h, "a/b").unwrap();
    assert_eq!(w.r("a/io.stat"), line);
    // A configured blkg without I/O shows the device alone.
    w.w("a/io.max", "8:16 rbps=1").unwrap();
    assert_eq!(w.r("a/io.stat"), std::format!("8:16 \n{line}"));
}

#[test]
fn v1_throttle_files() {
    let w = World::v1();
    let f = "a/blkio.throttle.read_bps_device";
    assert_eq!(w.r(f), "");
    w.w(f, "8:0 1048576\n").unwrap();
    assert_eq!(w.r(f), "8:0 1048576\n");
    // The v1 and v2 interfaces share the limits.
    w.with_css("a", |c| assert_eq!(limits(c, SDA).0, [1048576, u64::MAX]));
    w.w(f, "8:0 0").unwrap();
    assert_eq!(w.r(f), "");
    let f = "a/blkio.throttle.write_iops_device";
    w.w(f, "8:16 4294967296").unwrap();
    assert_eq!(w.r(f), "8:16 0\n", "stored in an unsigned int");
    w.w(f, "8:16 18446744073709551615").unwrap();
    assert_eq!(w.r(f), "", "UINT_MAX is no limit");
    w.w(f, "8:16 7junk").unwrap();
    assert_eq!(w.r(f), "8:16 7\n");
    for (input, e) in [
        ("8:0", Error::EINVAL),
        ("8:0 ", Error::EINVAL),
        ("8:0 -1", Error::EINVAL),
        ("8:0 x", Error::EINVAL),
        ("8:3 1", Error::ENODEV),
        (":0 1", Error::EINVAL),
    ] {
        assert_eq!(w.w(f, input), Err(e), "{input:?}");
    }
    // The root may be throttled on v1.
    w.w("blkio.throttle.write_bps_device", "8:0 5").unwrap();
    assert_eq!(w.r("blkio.throttle.write_bps_device"), "8:0 5\n");
}

#[test]
fn v1_stats_and_reset() {
    let w = World::v1();
    // blk-throttle counts only once it was set up on the disk (blk_throtl_init at the
    // first throttle configuration: 0 sets no limit); bfq counts from the start.
    w.with_css("a/b", |c| {
        prepare(c, SDA).unwrap();
        account(c, SDA, false, true, 512, 1);
    });
    assert_eq!(w.r("a/b/blkio.throttle.io_serviced"), "Total 0\n");
    assert!(w.r("a/b/blkio.bfq.io_serviced").ends_with("Total 1\n"));
    w.w("a/b/blkio.reset_stats", "1\n").unwrap();
    w.w("blkio.throttle.read_bps_device", "8:0 0").unwrap();
    w.with_css("a/b", |c| {
        prepare(c, SDA).unwrap();
        account(c, SDA, false, true, 8192, 2);
        account(c, SDA, true, false, 4096, 1);
    });
    let b = "8:0 Read 8192\n8:0 Write 4096\n8:0 Sync 8192\n8:0 Async 4096\n\
             8:0 Discard 0\n8:0 Total 12288\nTotal 12288\n";
    assert_eq!(w.r("a/b/blkio.throttle.io_service_bytes"), b);
    assert_eq!(w.r("a/b/blkio.bfq.io_service_bytes"), b);
    assert_eq!(w.r("a/blkio.throttle.io_service_bytes_recursive"), b);
    let zero = "8:0 Read 0\n8:0 Write 0\n8:0 Sync 0\n8:0 Async 0\n\
                8:0 Discard 0\n8:0 Total 0\nTotal 0\n";
    assert_eq!(w.r("a/blkio.throttle.io_service_bytes"), zero);
    let ios = "8:0 Read 2\n8:0 Write 1\n8:0 Sync 2\n8:0 Async 1\n\
               8:0 Discard 0\n8:0 Total 3\nTotal 3\n";
    assert_eq!(w.r("a/b/blkio.throttle.io_serviced"), ios);
    assert_eq!(w.r("a/blkio.bfq.io_serviced_recursive"), ios);
    // A group without blkgs: the total alone.
    w.gpc.mkdir(w.h, "c").unwrap();
    assert_eq!(w.r("c/blkio.throttle.io_serviced"), "Total 0\n");
    for bad in ["x", " 1", "-1", "99999999999999999999"] {
        assert!(w.w("a/b/blkio.reset_stats", bad).is_err(), "{bad:?}");
    }
    assert_eq!(w.r("a/b/blkio.throttle.io_serviced"), ios);
    w.w("a/b/blkio.reset_stats", "1\n").unwrap();
    assert_eq!(w.r("a/b/blkio.throttle.io_serviced").lines().count(), 7);
    assert!(w.r("a/b/blkio.throttle.io_serviced").ends_with("Total 0\n"));
    assert_eq!(
        w.r("a/blkio.throttle.io_serviced_recursive"),
        "8:0 Read 0\n8:0 Write 0\n8:0 Sync 0\n8:0 Async 0\n8:0 Discard 0\n8:0 Total 0\nTotal 0\n"
    );
    assert_eq!(w.read("a/blkio.reset_stats"), Err(Error::EINVAL));
}

#[test]
fn bfq_weights() {
    let w = World::v1();
    assert_eq!(w.r("a/blkio.bfq.weight"), "100\n");
    w.w("a/blkio.bfq.weight", "500").unwrap();
    assert_eq!(w.r("a/blkio.bfq.weight"), "500\n");
    for (input, e) in [
        ("0", Error::ERANGE),
        ("1001", Error::ERANGE),
        ("x", Error::EINVAL),
        (" 5", Error::EINVAL),
        ("99999999999999999999", Error::ERANGE),
    ] {
        assert_eq!(w.w("a/blkio.bfq.weight", input), Err(e), "{input:?}");
    }
    let f = "a/blkio.bfq.weight_device";
    assert_eq!(w.r(f), "default 500\n");
    // An empty write never reaches the handler (kernfs).
    w.w(f, "").unwrap();
    w.w(f, "8:0 700\n").unwrap();
    assert_eq!(w.r(f), "default 500\n8:0 700\n");
    w.with_css("a", |c| {
        assert_eq!(weight(c, SDA, false), 700);
        assert_eq!(weight(c, SDB, false), 500);
        assert_eq!(weight(c, SDA, true), WEIGHT_DFL);
    });
    // A bare number or `default N` sets the default (hex too: simple_strtoull base 0).
    w.w(f, "0x20").unwrap();
    w.w(f, "default 40").unwrap();
    assert_eq!(w.r("a/blkio.bfq.weight"), "40\n");
    w.w(f, "8:0 default").unwrap();
    assert_eq!(w.r(f), "default 40\n");
    for (input, e) in [
        ("\n", Error::ERANGE),
        ("8:0 0", Error::ERANGE),
        ("8:0 1001", Error::ERANGE),
        ("8:0 x", Error::EINVAL),
        ("8:0 defaultx", Error::EINVAL),
        ("8:9 5", Error::ENODEV),
        ("default 0", Error::ERANGE),
        ("abc", Error::EINVAL),
    ] {
        assert_eq!(w.w(f, input), Err(e), "{input:?}");
    }
    let w = World::v2();
    w.w("a/io.bfq.weight", "8:16 9").unwrap();
    assert_eq!(w.r("a/io.bfq.weight"), "default 100\n8:16 9\n");
}

#[test]
fn set_disks_rules() {
    let w = World::v1();
    w.with_root(|r| {
        assert_eq!(set_disks(r, &[SDA, SDA]), Err(Error::EINVAL));
        assert_eq!(set_disks(r, &[0; MAX_DISKS + 1]), Err(Error::EINVAL));
        assert_eq!(disks(r).as_slice(), &[SDA, SDB]);
    });
    assert_eq!((dev_major(SDB), dev_minor(SDB)), (8, 16));
}

#[test]
fn throttle_waits_for_every_level() {
    let w = World::v2();
    w.w("a/io.max", "8:0 wbps=1048576").unwrap();
    w.w("a/b/io.max", "8:0 wiops=2").unwrap();
    w.with_css("a/b", |c| {
        // 1 MiB at 1 MiB/s: the next waits 1 s; the iops limit (0.5 s a bio) is below.
        assert_eq!(throttle(c, SDA, true, 1 << 20, 0), 0);
        assert_eq!(throttle(c, SDA, true, 1 << 20, 0), 1_000_000_000);
        // Reads are not limited; another disk neither.
        assert_eq!(throttle(c, SDA, false, 1 << 30, 0), 0);
        assert_eq!(throttle(c, SDB, true, 1 << 30, 0), 0);
        // Small bios: the iops limit of b binds (0.5 s each).
        assert_eq!(throttle(c, SDA, true, 1, 5_000_000_000), 0);
        assert_eq!(throttle(c, SDA, true, 1, 5_000_000_000), 500_000_000);
    });
    w.w("a/io.max", "8:0 wbps=max").unwrap();
    w.w("a/b/io.max", "8:0 wiops=max").unwrap();
    w.with_css("a/b", |c| {
        assert_eq!(throttle(c, SDA, true, u64::MAX, 0), 0)
    });
}
