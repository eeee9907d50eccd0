//! Writes of arbitrary bytes to every control file of every controller, through gpc-core
//! with every controller of gpc-subsystems (the simulator's stack).
//!
//! Input: a header byte picks the hierarchy layout, then records of
//! `[container, file, len_lo, len_hi, bytes...]`. Each record is one `write(2)` as root to
//! that file (of the root, `a` or `a/b`); tasks exist so that `tasks` writes can move them.
//! Checked: no panic; a refused write gives one of the errnos Linux's write paths give and
//! leaves every file of the hierarchy as it was; every file stays readable (or gives the
//! errno of a write-only file); at the end everything is torn down cleanly (ASan: no use
//! after free, no leak).
#![no_main]

use gpc_core::testing::{TaskList, TestHost};
use gpc_core::{Creds, Entry, Error, Gpc, HierarchyId};
use libfuzzer_sys::fuzz_target;

const LAYOUTS: [&[&str]; 3] = [
    &[
        "cpuset,cpu,cpuacct",
        "memory,pids,devices",
        "freezer,net_cls,ns,debug",
    ],
    &[
        "cpuset,noprefix",
        "cpu,cpuacct,memory",
        "pids,devices,freezer,net_cls,debug",
    ],
    &["all", "none,name=n"],
];

const CONTAINERS: [&str; 3] = ["", "a", "a/b"];

const ERRNOS: [Error; 13] = [
    Error::EINVAL,
    Error::ERANGE,
    Error::EOVERFLOW,
    Error::E2BIG,
    Error::EBUSY,
    Error::ENOSPC,
    Error::ESRCH,
    Error::EPERM,
    Error::EACCES,
    Error::ENODEV,
    Error::EAGAIN,
    Error::EBADF,
    Error::ENOENT,
];

struct World {
    gpc: Gpc<TestHost>,
    tasks: TaskList,
}

impl World {
    fn read(&self, h: HierarchyId, path: &str) -> Result<Vec<u8>, Error> {
        let mut buf = Vec::new();
        self.gpc
            .read(h, path, &self.tasks.caller(Creds::ROOT, Some(1)), &mut buf)?;
        Ok(buf)
    }

    fn files(&self, h: HierarchyId, dir: &str, out: &mut Vec<String>) {
        let Ok(mut entries) = self.gpc.list(h, dir) else {
            return;
        };
        entries.sort();
        for e in entries {
            let p = format!("{dir}/{e}");
            match self.gpc.stat(h, &p) {
                Ok(Entry::Dir { .. }) => self.files(h, &p, out),
                Ok(Entry::File { .. }) => out.push(p),
                Err(e) => panic!("{p}: listed but {e:?}"),
            }
        }
    }

    fn dump(&self, h: HierarchyId) -> Vec<(String, Result<Vec<u8>, Error>)> {
        let mut files = Vec::new();
        self.files(h, "", &mut files);
        files
            .into_iter()
            .map(|f| {
                let r = self.read(h, &f);
                (f, r)
            })
            .collect()
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&layout, mut rest)) = data.split_first() else {
        return;
    };
    let subsystems = gpc_subsystems::all();
    let Ok(gpc) = Gpc::new(TestHost::new(4, 2), &subsystems) else {
        return;
    };
    let mut w = World {
        gpc,
        tasks: TaskList::new(),
    };
    w.tasks.add_init(&w.gpc).expect("init");
    for _ in 0..3 {
        let World { gpc, tasks } = &mut w;
        let p = tasks.fork(gpc, 1, false).expect("fork");
        tasks.fork(gpc, p, true).expect("thread");
    }
    let layout = LAYOUTS[usize::from(layout) % LAYOUTS.len()];
    let hs: Vec<HierarchyId> = layout
        .iter()
        .map(|o| {
            w.gpc
                .mount(o, &w.tasks.caller(Creds::ROOT, None))
                .expect("mount")
        })
        .collect();
    for &h in &hs {
        w.gpc.mkdir(h, "a").expect("mkdir a");
        w.gpc.mkdir(h, "a/b").expect("mkdir a/b");
    }
    while let [cont, file, lo, hi, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*lo, *hi])).min(tail.len());
        let (bytes, next) = tail.split_at(len);
        rest = next;
        let h = hs[usize::from(*cont) % hs.len()];
        let dir = CONTAINERS[usize::from(*cont / 8) % CONTAINERS.len()];
        let files: Vec<String> = w
            .gpc
            .list(h, dir)
            .unwrap_or_default()
            .into_iter()
            .map(|e| format!("{dir}/{e}"))
            .filter(|p| matches!(w.gpc.stat(h, p), Ok(Entry::File { .. })))
            .collect();
        let mut files = files;
        files.sort();
        let Some(path) = files.get(usize::from(*file) % files.len().max(1)) else {
            continue;
        };
        let before = w.dump(h);
        let r = w
            .gpc
            .write(h, path, bytes, &w.tasks.caller(Creds::ROOT, Some(1)));
        let after = w.dump(h);
        if let Err(e) = r {
            assert!(ERRNOS.contains(&e), "{path} <- {bytes:?}: {e:?}");
            assert!(
                before == after,
                "{path} <- {bytes:?}: {e:?}, but the files changed"
            );
        }
        for (f, r) in after {
            if let Err(e) = r {
                assert!(e == Error::EINVAL, "{f}: read {e:?}");
            }
        }
    }
    let World { gpc, mut tasks } = w;
    tasks.exit_all(&gpc);
    for &h in &hs {
        let _ = gpc.rmdir(h, "a/b");
        let _ = gpc.rmdir(h, "a");
        let _ = gpc.umount(h);
    }
});
