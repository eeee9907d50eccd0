//! [`OneHierarchy`]: a machine with one mounted hierarchy, the harness every
//! controller's unit tests share.

use std::string::String;
use std::vec::Vec;

use crate::host::cred::Creds;
use crate::host::task::Pid;
use crate::subsys::DynSubsystem;
use crate::testing::{TaskList, TestHost};
use crate::{Error, Gpc, HierarchyId, Result};

/// gpc on a [`TestHost`] with init, and one hierarchy mounted.
pub struct OneHierarchy {
    /// Its tasks (init is pid 1). Declared first, so dropped before the instance: a
    /// task slot still linked when gpc goes would keep its css_group leaked.
    pub tasks: TaskList,
    /// The instance.
    pub gpc: Gpc<TestHost>,
    /// The mounted hierarchy.
    pub h: HierarchyId,
}

impl OneHierarchy {
    /// `subsystems` on a host with `cpus` CPUs and `mems` memory nodes, init, and one
    /// hierarchy mounted with `options` (as root).
    ///
    /// # Errors
    ///
    /// Those of `Gpc::new`, `TaskList::add_init` and `Gpc::mount`.
    pub fn new(
        subsystems: &[&'static dyn DynSubsystem],
        options: &str,
        cpus: usize,
        mems: usize,
    ) -> Result<Self> {
        let gpc = Gpc::new(TestHost::new(cpus, mems), subsystems)?;
        let mut tasks = TaskList::new();
        tasks.add_init(&gpc)?;
        let h = gpc.mount(options, &tasks.caller(Creds::ROOT, None))?;
        Ok(OneHierarchy { gpc, tasks, h })
    }

    /// Read `path` as root from task `pid`.
    ///
    /// # Errors
    ///
    /// Those of `Gpc::read`; `EILSEQ` for contents that are not UTF-8.
    pub fn read_as(&self, path: &str, pid: Pid) -> Result<String> {
        let mut buf = Vec::new();
        self.gpc.read(
            self.h,
            path,
            &self.tasks.caller(Creds::ROOT, Some(pid)),
            &mut buf,
        )?;
        String::from_utf8(buf).map_err(|_| Error::EILSEQ)
    }

    /// Read `path` as root from init.
    ///
    /// # Errors
    ///
    /// As for [`OneHierarchy::read_as`].
    pub fn read(&self, path: &str) -> Result<String> {
        self.read_as(path, 1)
    }

    /// One write of `data` to `path`, as root from init.
    ///
    /// # Errors
    ///
    /// Those of `Gpc::write`.
    pub fn write(&self, path: &str, data: &[u8]) -> Result {
        self.gpc
            .write(self.h, path, data, &self.tasks.caller(Creds::ROOT, Some(1)))
    }

    /// The entries of directory `path`, sorted; a failure lists as one `error: ERRNO`
    /// entry, so a comparison with the expected names fails visibly.
    pub fn ls(&self, path: &str) -> Vec<String> {
        match self.gpc.list(self.h, path) {
            Ok(mut v) => {
                v.sort();
                v
            }
            Err(e) => std::vec![std::format!("error: {}", e.name())],
        }
    }

    /// Task `parent` forks a process.
    ///
    /// # Errors
    ///
    /// Those of `TaskList::fork`.
    pub fn fork(&mut self, parent: Pid) -> Result<Pid> {
        self.tasks.fork(&self.gpc, parent, false)
    }

    /// Task `parent` makes a thread.
    ///
    /// # Errors
    ///
    /// Those of `TaskList::fork`.
    pub fn thread(&mut self, parent: Pid) -> Result<Pid> {
        self.tasks.fork(&self.gpc, parent, true)
    }

    /// Task `pid` exits (a leader with its whole thread group).
    ///
    /// # Errors
    ///
    /// Those of `TaskList::exit`.
    pub fn exit(&mut self, pid: Pid) -> Result {
        self.tasks.exit(&self.gpc, pid)
    }

    /// Move task `pid` into the container at `path` (no permission check).
    ///
    /// # Errors
    ///
    /// `ESRCH` for an unknown task, and those of `Gpc::attach`.
    pub fn move_to(&self, path: &str, pid: Pid) -> Result {
        let t = self.tasks.task_ref(pid).ok_or(Error::ESRCH)?;
        self.gpc.attach(self.h, path, &t)
    }
}

/// Define `$name` as a newtype over [`OneHierarchy`] (with `Deref`/`DerefMut` to it), so
/// a test module can add its own helpers in an `impl $name` block.
#[macro_export]
macro_rules! one_hierarchy_harness {
    ($name:ident) => {
        /// The shared one-hierarchy harness, plus this module's helpers.
        struct $name($crate::testing::OneHierarchy);

        impl ::core::ops::Deref for $name {
            type Target = $crate::testing::OneHierarchy;
            fn deref(&self) -> &$crate::testing::OneHierarchy {
                &self.0
            }
        }

        impl ::core::ops::DerefMut for $name {
            fn deref_mut(&mut self) -> &mut $crate::testing::OneHierarchy {
                &mut self.0
            }
        }
    };
}
