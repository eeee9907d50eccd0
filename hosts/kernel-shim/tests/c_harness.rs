//! The C side of the ABI, driven from `cargo test -p gpc-kshim`:
//!
//! 1. `include/gpc.h` compiles cleanly as C11, gnu11 and C++11 (`tests/c/header_check.c`);
//! 2. the symbols the staticlib defines and needs are exactly the header's exports and
//!    imports;
//! 3. the C harness (`tests/c/kernel.c`, the kernel stand-in, and `tests/c/harness.c`)
//!    links against the staticlib and passes: basics, failure injection, a
//!    multi-threaded fork/exit/attach storm, and a clean teardown;
//! 4. the same harness (smaller) passes under `valgrind --error-exitcode=1
//!    --leak-check=full`, or the test says clearly that valgrind is absent.
//!
//! The staticlib is the kernel build (`no_std`, `panic = "abort"`): cargo builds this
//! package for its integration tests with `panic = "unwind"`, and so with std linked,
//! so the test runs `cargo build -p gpc-kshim` itself, in its own target directory
//! (`<target>/kshim-c/`, where the harness binary and the logs also go).
//!
//! Needs `gcc` (or `$CC`) and `nm`. Run with `--nocapture` to see the harness's
//! operation counts and the valgrind summary.

use std::env;
use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

type Res<T = ()> = Result<T, String>;

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `<target>/kshim-c`, next to the directory this test binary was built in.
fn work_dir() -> Res<PathBuf> {
    let exe = env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    // <target>/<profile>/deps/c_harness-HASH
    let target = exe
        .ancestors()
        .nth(3)
        .ok_or_else(|| format!("unexpected test binary path {}", exe.display()))?;
    let dir = target.join("kshim-c");
    fs::create_dir_all(&dir).map_err(|e| format!("mkdir {}: {e}", dir.display()))?;
    Ok(dir)
}

fn cc() -> String {
    env::var("CC").unwrap_or_else(|_| "gcc".into())
}

fn show(out: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn run(cmd: &mut Command, what: &str) -> Res<Output> {
    let out = cmd
        .output()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    if !out.status.success() {
        return Err(format!("{what} failed: {}", show(&out)));
    }
    Ok(out)
}

/// Run with a deadline, killing the child past it; stdout and stderr are collected.
fn run_with_timeout(cmd: &mut Command, what: &str, limit: Duration) -> Res<Output> {
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("{what}: cannot run: {e}"))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let out_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = stdout.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let err_reader = std::thread::spawn(move || {
        let mut v = Vec::new();
        if let Some(s) = stderr.as_mut() {
            let _ = s.read_to_end(&mut v);
        }
        v
    });
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if start.elapsed() > limit => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("{what}: no result after {limit:?}: killed"));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(50)),
            Err(e) => return Err(format!("{what}: wait: {e}")),
        }
    };
    Ok(Output {
        status,
        stdout: out_reader.join().unwrap_or_default(),
        stderr: err_reader.join().unwrap_or_default(),
    })
}

/// Build the kernel staticlib once per test binary.
fn staticlib() -> Res<PathBuf> {
    static LIB: OnceLock<Res<PathBuf>> = OnceLock::new();
    LIB.get_or_init(|| {
        let dir = work_dir()?;
        let target = dir.join("cargo");
        let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        run(
            Command::new(cargo)
                .args([
                    "build",
                    "--offline",
                    "-p",
                    "gpc-kshim",
                    "--features",
                    "kernel",
                    "--lib",
                    "--target-dir",
                ])
                .arg(&target)
                .arg("--manifest-path")
                .arg(manifest_dir().join("Cargo.toml")),
            "cargo build -p gpc-kshim --features kernel (the kernel build)",
        )?;
        let lib = target.join("debug").join("libgpc_kshim.a");
        if !lib.exists() {
            return Err(format!("{} was not built", lib.display()));
        }
        Ok(lib)
    })
    .clone()
}

/// The function names declared between `/* BEGIN X */` and `/* END X */` in gpc.h.
fn header_names(section: &str) -> Res<Vec<String>> {
    let h = fs::read_to_string(manifest_dir().join("include/gpc.h"))
        .map_err(|e| format!("gpc.h: {e}"))?;
    let begin = format!("/* BEGIN {section} */");
    let end = format!("/* END {section} */");
    let body = h
        .split_once(&begin)
        .and_then(|(_, rest)| rest.split_once(&end))
        .map(|(body, _)| body)
        .ok_or_else(|| format!("gpc.h has no {section} section"))?;
    let mut names: Vec<String> = Vec::new();
    for (i, _) in body.match_indices("gpc_") {
        let rest = body.get(i..).unwrap_or("");
        let name: String = rest
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let after = rest.get(name.len()..).unwrap_or("").trim_start();
        let before = body.get(..i).unwrap_or("").chars().last();
        // A declaration: `type name(` or `type *name(`, not a call inside a macro.
        if after.starts_with('(') && matches!(before, Some(' ' | '*')) {
            let line_start = body
                .get(..i)
                .and_then(|b| b.rfind('\n'))
                .map_or(0, |p| p + 1);
            let line = body.get(line_start..i).unwrap_or("");
            let code = line.trim_start();
            let comment = code.starts_with("/*") || code.starts_with('*');
            if !comment && !line.contains("#define") && !line.starts_with('\t') {
                names.push(name);
            }
        }
    }
    names.sort();
    names.dedup();
    Ok(names)
}

/// `nm` symbols of the staticlib starting with `gpc_`: (defined text, undefined).
fn lib_symbols(lib: &Path) -> Res<(Vec<String>, Vec<String>)> {
    let out = run(Command::new("nm").arg("-g").arg(lib), "nm")?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut defined = Vec::new();
    let mut undefined = Vec::new();
    for line in text.lines() {
        let parts: Vec<&str> = line.split_whitespace().collect();
        match parts.as_slice() {
            [_, "T", name] if name.starts_with("gpc_") => defined.push((*name).to_owned()),
            ["U", name] if name.starts_with("gpc_") => undefined.push((*name).to_owned()),
            _ => {}
        }
    }
    for v in [&mut defined, &mut undefined] {
        v.sort();
        v.dedup();
    }
    // A symbol defined in one object and used by another is not an import.
    undefined.retain(|u| !defined.contains(u));
    Ok((defined, undefined))
}

fn report(r: Res) -> Res {
    if let Err(e) = &r {
        eprintln!("{e}");
    }
    r
}

#[test]
fn header_compiles_as_c_and_cpp() -> Res {
    report((|| {
        let dir = work_dir()?;
        let inc = manifest_dir().join("include");
        let src = manifest_dir().join("tests/c/header_check.c");
        for std in ["-std=c11", "-std=gnu11"] {
            run(
                Command::new(cc())
                    .args([
                        std,
                        "-Wall",
                        "-Wextra",
                        "-Werror",
                        "-pedantic",
                        "-Wstrict-prototypes",
                    ])
                    .args(["-Wmissing-prototypes", "-Wconversion", "-c", "-o"])
                    .arg(dir.join("header_check.o"))
                    .arg("-I")
                    .arg(&inc)
                    .arg(&src),
                &format!("{} {std} gpc.h", cc()),
            )?;
        }
        let cxx = env::var("CXX").unwrap_or_else(|_| "g++".into());
        match Command::new(&cxx).arg("--version").output() {
            Ok(o) if o.status.success() => {
                run(
                    Command::new(&cxx)
                        .args(["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror"])
                        .args(["-pedantic", "-fsyntax-only", "-I"])
                        .arg(&inc)
                        .arg(&src),
                    "g++ -std=c++11 gpc.h",
                )?;
            }
            _ => println!("{cxx} not found: the C++ check of gpc.h is skipped"),
        }
        Ok(())
    })())
}

#[test]
fn symbols_match_the_header() -> Res {
    report((|| {
        let lib = staticlib()?;
        let (defined, undefined) = lib_symbols(&lib)?;
        let exports = header_names("EXPORTS")?;
        let imports = header_names("IMPORTS")?;
        if defined != exports {
            return Err(format!(
                "exports differ:\n  library: {defined:?}\n  gpc.h:   {exports:?}"
            ));
        }
        if undefined != imports {
            return Err(format!(
                "imports differ:\n  library: {undefined:?}\n  gpc.h:   {imports:?}"
            ));
        }
        println!(
            "{} exports, {} imports, as gpc.h says",
            exports.len(),
            imports.len()
        );
        Ok(())
    })())
}

/// The harness binary, built once.
fn harness() -> Res<PathBuf> {
    static BIN: OnceLock<Res<PathBuf>> = OnceLock::new();
    BIN.get_or_init(|| {
        let lib = staticlib()?;
        let dir = work_dir()?;
        let c = manifest_dir().join("tests/c");
        let bin = dir.join("harness");
        run(
            Command::new(cc())
                .args([
                    "-std=gnu11",
                    "-O1",
                    "-g",
                    "-pthread",
                    "-Wall",
                    "-Wextra",
                    "-Werror",
                ])
                .arg("-I")
                .arg(manifest_dir().join("include"))
                .arg(c.join("kernel.c"))
                .arg(c.join("harness.c"))
                .arg(&lib)
                .args(["-lpthread", "-lm", "-o"])
                .arg(&bin),
            "building the C harness",
        )?;
        Ok(bin)
    })
    .clone()
}

/// One harness run at a time (two would fight over two cores).
static RUNS: Mutex<()> = Mutex::new(());

#[test]
fn c_harness() -> Res {
    report((|| {
        let bin = harness()?;
        let _one = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        let out = run_with_timeout(
            Command::new(&bin).args(["4", "20000"]),
            "the C harness",
            Duration::from_secs(600),
        )?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let _ = fs::write(work_dir()?.join("harness.log"), show(&out));
        println!("{stdout}");
        if !out.status.success() || !stdout.contains(" 0 failed") {
            return Err(format!("the C harness failed: {}", show(&out)));
        }
        Ok(())
    })())
}

#[test]
fn c_harness_under_valgrind() -> Res {
    report((|| {
        let found = Command::new("valgrind")
            .arg("--version")
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            println!(
                "valgrind not found: the memcheck run of the C harness is SKIPPED \
                 (install it: apt-get install valgrind)"
            );
            return Ok(());
        }
        let bin = harness()?;
        let _one = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        let out = run_with_timeout(
            Command::new("valgrind")
                .args([
                    "--error-exitcode=1",
                    "--leak-check=full",
                    "--show-leak-kinds=all",
                ])
                .args([
                    "--errors-for-leak-kinds=definite,possible",
                    "--track-origins=yes",
                ])
                .arg(&bin)
                .args(["3", "500"]),
            "the C harness under valgrind",
            Duration::from_secs(900),
        )?;
        let _ = fs::write(work_dir()?.join("valgrind.log"), show(&out));
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let summary: Vec<&str> = stderr
            .lines()
            .filter(|l| {
                l.contains("ERROR SUMMARY")
                    || l.contains("in use at exit")
                    || l.contains("heap blocks were freed")
                    || l.contains("definitely lost")
            })
            .collect();
        println!("{}", stdout.lines().last().unwrap_or(""));
        for l in &summary {
            println!("{l}");
        }
        let clean = stderr.contains("ERROR SUMMARY: 0 errors from 0 contexts");
        if !out.status.success() || !clean || !stdout.contains(" 0 failed") {
            return Err(format!("valgrind memcheck failed: {}", show(&out)));
        }
        Ok(())
    })())
}
