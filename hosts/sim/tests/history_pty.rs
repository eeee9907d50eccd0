//! `gpc shell` on a pseudo-terminal: the history is kept across sessions in the file
//! `GPC_HISTFILE` names, made with mode 0600 in a directory made with 0700, and a
//! history file that cannot be written is a warning, never the end of the session.
//!
//! A machine without pseudo-terminals prints SKIP (and fails under `CI=true`).

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A pseudo-terminal pair: (controller, terminal).
fn openpty() -> Option<(OwnedFd, OwnedFd)> {
    let (mut controller, mut terminal) = (-1, -1);
    let size = libc::winsize {
        ws_row: 24,
        ws_col: 80,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty writes two file descriptors into the integers it is given and
    // reads the window size; the name and termios pointers may be null.
    let r = unsafe {
        libc::openpty(
            &mut controller,
            &mut terminal,
            std::ptr::null_mut(),
            std::ptr::null(),
            &size,
        )
    };
    if r != 0 {
        return None;
    }
    // SAFETY: openpty succeeded, so both are open descriptors that nothing else owns.
    Some(unsafe {
        (
            OwnedFd::from_raw_fd(controller),
            OwnedFd::from_raw_fd(terminal),
        )
    })
}

fn skip(why: &str) {
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "no pseudo-terminal under CI: {why}"
    );
    println!("SKIP: history_pty: {why}");
}

/// Runs `gpc shell` on a terminal, typing `keys` (each after a pause), and returns
/// what it printed once it exited.
fn session(histfile: &Path, keys: &[&str]) -> Option<String> {
    let (controller, terminal) = openpty()?;
    let stdio = |fd: &OwnedFd| fd.try_clone().ok().map(Stdio::from);
    let mut child = Command::new(env!("CARGO_BIN_EXE_gpc"))
        .arg("shell")
        .env("GPC_HISTFILE", histfile)
        .env("TERM", "xterm")
        .env("LANG", "C.UTF-8")
        .stdin(stdio(&terminal)?)
        .stdout(stdio(&terminal)?)
        .stderr(stdio(&terminal)?)
        .spawn()
        .ok()?;
    drop(terminal);
    let output = Arc::new(Mutex::new(Vec::new()));
    let mut reader = File::from(controller.try_clone().ok()?);
    let mut writer = File::from(controller);
    let mut answer = writer.try_clone().ok()?;
    let seen = Arc::clone(&output);
    let thread = std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        while let Ok(n) = reader.read(&mut buf) {
            let Some(chunk) = buf.get(..n).filter(|c| !c.is_empty()) else {
                break;
            };
            // The line editor asks where the cursor is: the first column.
            if chunk.windows(4).any(|w| w == b"\x1b[6n") {
                let _ = answer.write_all(b"\x1b[1;1R");
            }
            if let Ok(mut o) = seen.lock() {
                o.extend_from_slice(chunk);
            }
        }
    });
    for key in keys {
        std::thread::sleep(Duration::from_millis(300));
        writer.write_all(key.as_bytes()).ok()?;
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            unreachable!("gpc shell did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(status.success(), "{status}");
    drop(writer);
    let _ = thread.join();
    let bytes = output.lock().map(|o| o.clone()).unwrap_or_default();
    Some(String::from_utf8_lossy(&bytes).into_owned())
}

#[test]
fn history_survives_the_session() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("history_pty");
    let _ = std::fs::remove_dir_all(&dir);
    let histfile = dir.join("state").join("history");
    let Some(first) = session(&histfile, &["cd /proc\r", "pwd\r", "quit\r"]) else {
        return skip("openpty failed");
    };
    assert!(first.contains("/proc\r\n"), "{first:?}");
    let saved = std::fs::read_to_string(&histfile).unwrap_or_default();
    assert!(saved.contains("cd /proc"), "{saved:?}");
    let mode = |p: &Path| {
        std::fs::metadata(p)
            .map(|m| m.permissions().mode() & 0o777)
            .unwrap_or(0)
    };
    assert_eq!(mode(&histfile), 0o600);
    assert_eq!(mode(&dir.join("state")), 0o700);

    // A new session: the up arrow three times brings back `cd /proc` (then `pwd`
    // and `quit` are newer), so `pwd` prints /proc again.
    let Some(second) = session(&histfile, &["\x1b[A\x1b[A\x1b[A\r", "pwd\r", "quit\r"]) else {
        return skip("openpty failed");
    };
    assert!(second.contains("/proc\r\n"), "{second:?}");
}

#[test]
fn an_unwritable_history_is_a_warning() {
    // A file where the directory should be.
    let blocker = Path::new(env!("CARGO_TARGET_TMPDIR")).join("history_blocker");
    let _ = std::fs::write(&blocker, b"");
    let Some(out) = session(&blocker.join("history"), &["pwd\r", "quit\r"]) else {
        return skip("openpty failed");
    };
    assert!(out.contains("/\r\n"), "{out:?}");
    assert!(out.contains("warning: cannot save history"), "{out:?}");
}
