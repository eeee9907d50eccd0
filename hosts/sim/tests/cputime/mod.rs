//! This thread's CPU time, for the tests that compare the cost of two amounts of work in
//! one run: the other programs of a busy machine do not count in it.
#![allow(dead_code, reason = "each test binary uses a part of it")]

use std::time::{Duration, Instant};

/// A clock of this thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), or of wall time where
/// there is none.
pub struct Clock {
    start: Instant,
    cpu: Option<Duration>,
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
pub fn thread_cpu_time() -> Option<Duration> {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout); the call only
    // writes it.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| {
        Duration::new(
            u64::try_from(ts.tv_sec).unwrap_or(0),
            u32::try_from(ts.tv_nsec).unwrap_or(0),
        )
    })
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
pub fn thread_cpu_time() -> Option<Duration> {
    None
}

impl Clock {
    /// Starts measuring.
    pub fn start() -> Clock {
        Clock {
            cpu: thread_cpu_time(),
            start: Instant::now(),
        }
    }

    /// The CPU time since [`Clock::start`].
    pub fn elapsed(&self) -> Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => self.start.elapsed(),
        }
    }
}
