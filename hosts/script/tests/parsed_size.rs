//! What a script costs in memory, counted by a global allocator wrapper: a parsed
//! script per command (a mix of typical commands), and a streamed one (a
//! [`Session`] fed line by line) not at all, whatever its length.
//!
//! The tests of this file share the one counter, so they take a lock to run one at a
//! time.

use std::sync::Mutex;

use gpc_core::testing::FailingAlloc;
use gpc_core::{Error, Result};
use gpc_script::{Machine, MachineConfig, Mode, Pid, Script, Session};

/// Counts live heap bytes (and can fail allocations, unused here).
#[global_allocator]
static GLOBAL: FailingAlloc = FailingAlloc::new();

/// Live heap bytes now.
fn live() -> usize {
    GLOBAL.stats().live_bytes
}

const MIX: &str = "\
spawn A
echo $A > /cg/a/tasks
mount -t cgroup -o cpuset,cpu cgroup /cg
mkdir -p /cg/a/b
cat /cg/a/tasks
as 1000 echo 1 > /cg/a/notify_on_release
fork A B
exit B
";

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// A parsed command costs its text, 8 bytes per word piece and a 48-byte header (293
/// bytes for this mix when every word was a vector of owned strings).
#[test]
fn bytes_per_parsed_command() {
    let _serial = ONE_AT_A_TIME.lock();
    let copies = 2_000;
    let source = MIX.repeat(copies);
    let before = live();
    let script = Script::parse(source.as_bytes());
    let after = live();
    let commands = script.as_ref().map_or(0, Script::len);
    assert_eq!(commands, copies * MIX.lines().count(), "{script:?}");
    let per_command = after.saturating_sub(before) / commands;
    println!("{per_command} bytes per parsed command ({commands} commands)");
    assert!(per_command <= 100, "{per_command} bytes per command");
}

/// A machine that does nothing and always succeeds (`spawn` counts pids up).
#[derive(Default)]
struct Null {
    next_pid: Pid,
}

impl Machine for Null {
    fn configure(&mut self, _: &MachineConfig<'_>) -> Result {
        Ok(())
    }
    fn set_user(&mut self, _: Option<u32>) {}
    fn mount(&mut self, _: &str, _: &str, _: &str, _: &str) -> Result {
        Ok(())
    }
    fn umount(&mut self, _: &str) -> Result {
        Ok(())
    }
    fn mkdir(&mut self, _: &str, _: bool) -> Result {
        Ok(())
    }
    fn rmdir(&mut self, _: &str) -> Result {
        Ok(())
    }
    fn write(&mut self, _: &str, _: &[u8]) -> Result {
        Ok(())
    }
    fn read(&mut self, _: &str) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
    fn list(&mut self, _: &str) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
    fn chown(&mut self, _: u32, _: Option<u32>, _: &str) -> Result {
        Ok(())
    }
    fn spawn(&mut self) -> Result<Pid> {
        self.next_pid = self.next_pid.checked_add(1).ok_or(Error::EAGAIN)?;
        Ok(self.next_pid)
    }
    fn fork(&mut self, _: Pid) -> Result<Pid> {
        self.spawn()
    }
    fn thread(&mut self, _: Pid) -> Result<Pid> {
        self.spawn()
    }
    fn exit(&mut self, _: Pid) -> Result {
        Ok(())
    }
    fn run(&mut self, _: u64) -> Result {
        Ok(())
    }
    fn set_busy(&mut self, _: Pid, _: bool) -> Result {
        Ok(())
    }
    fn memory(&mut self, _: Pid, _: u64, _: bool) -> Result {
        Ok(())
    }
    fn open_device(&mut self, _: Pid, _: u8, _: u32, _: u32, _: &str) -> Result {
        Ok(())
    }
    fn unshare(&mut self, _: Pid) -> Result {
        Ok(())
    }
    fn ps(&mut self) -> Result<Vec<u8>> {
        Ok(Vec::new())
    }
    fn take_releases(&mut self) -> Result<Vec<String>> {
        Ok(Vec::new())
    }
}

/// A script run line by line keeps nothing of the lines it ran: after 100,000 lines the
/// session holds what it held after 1,000 (its variables), not 100 times more.
#[test]
fn a_streamed_script_runs_in_memory_that_does_not_grow() {
    let _serial = ONE_AT_A_TIME.lock();
    let mut session = Session::new(Mode::Echo);
    let mut machine = Null::default();
    let mut transcript_bytes = 0usize;
    let mut live_after = Vec::new();
    let base = live();
    for round in 0..100_000usize {
        let line = MIX.lines().nth(round % 8).unwrap_or("");
        let mut out = Vec::new();
        let ran = session.run_line(line.as_bytes(), &mut machine, &mut out);
        assert!(ran.is_ok(), "{ran:?}");
        transcript_bytes = transcript_bytes.saturating_add(out.len());
        if round == 999 || round == 99_999 {
            live_after.push(live().saturating_sub(base));
        }
    }
    assert_eq!(session.summary().commands, 100_000);
    assert!(transcript_bytes > 1_000_000);
    let [small, large] = live_after.as_slice() else {
        unreachable!("two samples")
    };
    println!("live after 1,000 lines: {small} bytes; after 100,000: {large} bytes");
    assert!(*large <= small + 1024, "{small} -> {large}");
}
