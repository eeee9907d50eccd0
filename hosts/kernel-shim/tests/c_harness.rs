//! The C side of the ABI, driven from `cargo test -p gpc-kshim`:
//!
//! 1. `include/gpc.h` compiles cleanly as C11, gnu11 and C++11 (`tests/c/header_check.c`);
//! 2. the symbols the staticlib defines and needs are exactly the header's exports and
//!    imports;
//! 3. the C harness (`tests/c/kernel.c`, the kernel stand-in, and `tests/c/harness.c`)
//!    links against the staticlib and passes: basics, failure injection, a
//!    multi-threaded fork/exit/attach storm, and a clean teardown;
//! 4. the same harness (smaller) passes under `valgrind --error-exitcode=1
//!    --leak-check=full`;
//! 5. the harness's RCU check catches a kernel whose `gpc_call_rcu` runs the callback at
//!    once instead of after a grace period (`harness --eager-call-rcu` must fail);
//! 6. the kernel-target build (`kernel-build/kernel-build.sh`, see doc/kernel-shim.md)
//!    links with a freestanding C kernel and passes its checks (only `gpc_*` global, no
//!    SSE/AVX/MMX/x87, no red zone), and the same checks fail on the host build;
//! 7. the C example (`examples/c-kernel/`) builds, runs and prints what it should.
//!
//! Prerequisites (`gcc` or `$CC`, `g++` or `$CXX`, `nm`, `valgrind` or `$VALGRIND`): a test whose tool is
//! missing prints `SKIP: <test>: <tool> not found` on stderr and passes, except under
//! `CI=true` (what CI services set), where a missing prerequisite fails the test: a CI run
//! must not report ok for a check it did not make.
//!
//! The staticlib is the kernel build (`no_std`, `panic = "abort"`): cargo builds this
//! package for its integration tests with `panic = "unwind"`, and so with std linked,
//! so the test runs `cargo build -p gpc-kshim` itself, in its own target directory
//! (`<target>/kshim-c/`, where the harness binary and the logs also go).
//!
//! Run with `--nocapture` to see the harness's operation counts and the valgrind
//! summary.

use std::env;
use std::fs;
use std::io::{Read, Write};
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

/// `$VALGRIND`, or `valgrind`.
fn valgrind() -> String {
    env::var("VALGRIND").unwrap_or_else(|_| "valgrind".into())
}

fn cxx() -> String {
    env::var("CXX").unwrap_or_else(|_| "g++".into())
}

/// Whether this run is a CI run (`CI=true`, as GitHub Actions, GitLab and most CI
/// services set it; `1` also counts).
fn under_ci() -> bool {
    env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Whether `tool` runs (`tool ARGS` exits 0).
fn tool_runs(tool: &str, args: &[&str]) -> bool {
    Command::new(tool)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Decide what a missing prerequisite means: `Ok(true)` if `present`; otherwise a
/// visible skip (`Ok(false)`, after a `SKIP:` line on stderr), or under CI a failure.
fn prerequisite(test: &str, tool: &str, present: bool, ci: bool) -> Res<bool> {
    if present {
        return Ok(true);
    }
    if ci {
        return Err(format!(
            "{test}: {tool} not found, and CI=true: a CI run must make this check \
             (install {tool})"
        ));
    }
    // Straight to the process's stderr: libtest captures `eprintln!` of a passing test,
    // and a skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "SKIP: {test}: {tool} not found; the check was NOT made (install {tool})"
    );
    Ok(false)
}

/// Every tool of `tools` (name, probe arguments) is there, or the skip/failure of the
/// first missing one.
fn require(test: &str, tools: &[(&str, &[&str])]) -> Res<bool> {
    for (tool, args) in tools {
        if !prerequisite(test, tool, tool_runs(tool, args), under_ci())? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// The tools the staticlib checks and the harness need.
fn build_tools() -> [(String, &'static [&'static str]); 2] {
    [(cc(), &["--version"]), ("nm".into(), &["--version"])]
}

fn require_build_tools(test: &str) -> Res<bool> {
    let tools = build_tools();
    let refs: Vec<(&str, &[&str])> = tools.iter().map(|(t, a)| (t.as_str(), *a)).collect();
    require(test, &refs)
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
        let compiler = cc();
        if !require(
            "header_compiles_as_c_and_cpp",
            &[(&compiler, &["--version"])],
        )? {
            return Ok(());
        }
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
        let cxx = cxx();
        if require(
            "header_compiles_as_c_and_cpp (C++11)",
            &[(&cxx, &["--version"])],
        )? {
            run(
                Command::new(&cxx)
                    .args(["-x", "c++", "-std=c++11", "-Wall", "-Wextra", "-Werror"])
                    .args(["-pedantic", "-fsyntax-only", "-I"])
                    .arg(&inc)
                    .arg(&src),
                &format!("{cxx} -std=c++11 gpc.h"),
            )?;
        }
        Ok(())
    })())
}

#[test]
fn symbols_match_the_header() -> Res {
    report((|| {
        if !require_build_tools("symbols_match_the_header")? {
            return Ok(());
        }
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
                // `staticlib` builds the debug profile: the harness also checks what
                // only debug builds check (gpc.h: re-init of an attached slot, the
                // lookup of another instance's task).
                .arg("-DGPC_KSHIM_DEBUG=1")
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
        if !require_build_tools("c_harness")? {
            return Ok(());
        }
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
        let deferred = stdout.contains("the state it saw: freed by a callback after it left");
        // Every lock was the kernel's, classed (doc/lock-order.md): the class check ran.
        let classes = stdout.contains("gpc_css_group_trans") && stdout.contains("devices_group");
        if !out.status.success() || !stdout.contains(" 0 failed") || !deferred || !classes {
            return Err(format!("the C harness failed: {}", show(&out)));
        }
        Ok(())
    })())
}

/// The harness's RCU check is not vacuous: with a kernel whose `gpc_call_rcu` frees at
/// once (`harness --eager-call-rcu`), it must fail, on the state freed under a reader.
#[test]
fn c_harness_catches_an_eager_call_rcu() -> Res {
    report((|| {
        if !require_build_tools("c_harness_catches_an_eager_call_rcu")? {
            return Ok(());
        }
        let bin = harness()?;
        let _one = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        let out = run_with_timeout(
            Command::new(&bin).arg("--eager-call-rcu"),
            "the C harness with an eager call_rcu",
            Duration::from_secs(120),
        )?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let caught = stderr.contains("was still inside its read-side section")
            && stderr.contains("callbacks invoked under a reader");
        if out.status.success() || !caught || stdout.contains(" 0 failed") {
            return Err(format!(
                "an eager gpc_call_rcu was not caught by the RCU check: {}",
                show(&out)
            ));
        }
        // The scenario itself ran: only the deferral checks failed.
        let fails = stderr.lines().filter(|l| l.starts_with("FAIL ")).count();
        if fails != 2 {
            return Err(format!(
                "expected the 2 deferral checks to fail: {}",
                show(&out)
            ));
        }
        Ok(())
    })())
}

#[test]
fn c_harness_under_valgrind() -> Res {
    report((|| {
        if !require_build_tools("c_harness_under_valgrind")?
            || !require("c_harness_under_valgrind", &[(&valgrind(), &["--version"])])?
        {
            return Ok(());
        }
        let bin = harness()?;
        let _one = RUNS.lock().unwrap_or_else(PoisonError::into_inner);
        let out = run_with_timeout(
            Command::new(valgrind())
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

/// `kernel-build/kernel-build.sh`'s exit status when a prerequisite is missing (the
/// target, a tool); its stderr says which.
const KBUILD_MISSING: i32 = 77;

fn kernel_build_script() -> PathBuf {
    manifest_dir().join("kernel-build/kernel-build.sh")
}

/// Run `kernel-build.sh ARGS`: `Ok(None)` after a visible skip (or `Err` under CI) when
/// it reports a missing prerequisite, else its output.
fn kernel_build(test: &str, args: &[&std::ffi::OsStr]) -> Res<Option<Output>> {
    if !require(test, &[("bash", &["--version"])])? {
        return Ok(None);
    }
    let cargo = env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = run_with_timeout(
        Command::new("bash")
            .arg(kernel_build_script())
            .args(args)
            .env("CARGO", cargo),
        "kernel-build.sh",
        Duration::from_secs(1200),
    )?;
    if out.status.code() == Some(KBUILD_MISSING) {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let what = stderr
            .lines()
            .find_map(|l| l.strip_prefix("kernel-build: MISSING: "))
            .unwrap_or("a prerequisite");
        if under_ci() {
            return Err(format!(
                "{test}: missing {what}, and CI=true: a CI run must make this check"
            ));
        }
        let _ = writeln!(
            std::io::stderr(),
            "SKIP: {test}: missing {what}; the check was NOT made"
        );
        return Ok(None);
    }
    Ok(Some(out))
}

/// The kernel-target build (`x86_64-unknown-none`: soft-float, no red zone,
/// `code-model=kernel`), reduced to one relocatable object whose only global symbols
/// are gpc.h's exports and whose only undefined ones are its imports, free of
/// SSE/AVX/MMX/x87 and red-zone accesses, and linked with a freestanding C kernel
/// (`kernel-build/kstub.c`, built with the kernel's C flags) into a static image at a
/// kernel address. The script states each count; the test checks the verdicts.
#[test]
fn kernel_target_build_links_with_a_c_kernel() -> Res {
    report((|| {
        let dir = work_dir()?.join("kernel-build");
        let Some(out) = kernel_build(
            "kernel_target_build_links_with_a_c_kernel",
            &["--out".as_ref(), dir.as_os_str()],
        )?
        else {
            return Ok(());
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!("{stdout}");
        let _ = fs::write(dir.join("kernel-build.log"), show(&out));
        let exports = header_names("EXPORTS")?.len();
        let imports = header_names("IMPORTS")?.len();
        let want = [
            "gpc-kshim.o: ".to_owned(),
            format!(
                "{exports} global symbols (gpc.h: {exports} exports), {imports} undefined \
                 (gpc.h: {imports} imports)"
            ),
            "SSE/AVX/MMX/x87: 0; red-zone accesses: 0".into(),
            "gpc-kernel.elf: kstub.o + gpc-kshim.o".into(),
            "kernel-build: ok".into(),
        ];
        let clean_twice = stdout
            .matches("SSE/AVX/MMX/x87: 0; red-zone accesses: 0")
            .count()
            == 2;
        if !out.status.success() || want.iter().any(|w| !stdout.contains(w)) || !clean_twice {
            return Err(format!("the kernel-target build failed: {}", show(&out)));
        }
        Ok(())
    })())
}

/// The kernel-build checks are not vacuous: on the host-target staticlib (SSE2, red
/// zone, libc's memory functions and `_Unwind_Resume` undefined) they must fail, each.
#[test]
fn kernel_build_checks_catch_the_host_build() -> Res {
    report((|| {
        if !require_build_tools("kernel_build_checks_catch_the_host_build")? {
            return Ok(());
        }
        let lib = staticlib()?;
        let dir = work_dir()?.join("kernel-build-host");
        let Some(out) = kernel_build(
            "kernel_build_checks_catch_the_host_build",
            &[
                "--check-only".as_ref(),
                lib.as_os_str(),
                "--out".as_ref(),
                dir.as_os_str(),
            ],
        )?
        else {
            return Ok(());
        };
        let stdout = String::from_utf8_lossy(&out.stdout);
        let caught = [
            "instructions use SSE/AVX/MMX/x87 state",
            "accesses below %rsp (red zone)",
            "undefined symbols beyond gpc.h's imports",
        ];
        if out.status.code() != Some(1) || caught.iter().any(|c| !stdout.contains(c)) {
            return Err(format!(
                "the kernel-build checks passed a host build: {}",
                show(&out)
            ));
        }
        Ok(())
    })())
}

/// The C example (`examples/c-kernel/kernel.c`) builds against the staticlib, runs, and
/// prints `examples/c-kernel/expected.txt`.
#[test]
fn c_example_runs() -> Res {
    report((|| {
        if !require_build_tools("c_example_runs")? {
            return Ok(());
        }
        let lib = staticlib()?;
        let example = manifest_dir().join("../../examples/c-kernel");
        let bin = work_dir()?.join("c-kernel");
        run(
            Command::new(cc())
                .args(["-std=gnu11", "-O1", "-Wall", "-Wextra", "-Werror", "-I"])
                .arg(manifest_dir().join("include"))
                .arg(example.join("kernel.c"))
                .arg(&lib)
                .arg("-o")
                .arg(&bin),
            "building examples/c-kernel",
        )?;
        let out = run_with_timeout(
            &mut Command::new(&bin),
            "examples/c-kernel",
            Duration::from_secs(60),
        )?;
        let want = fs::read_to_string(example.join("expected.txt"))
            .map_err(|e| format!("expected.txt: {e}"))?;
        let got = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() || got != want {
            return Err(format!(
                "examples/c-kernel: want\n{want}\ngot {}",
                show(&out)
            ));
        }
        print!("{got}");
        // And without a memory error or a leak.
        if !require(
            "c_example_runs (valgrind)",
            &[(&valgrind(), &["--version"])],
        )? {
            return Ok(());
        }
        let out = run_with_timeout(
            Command::new(valgrind())
                .args(["--error-exitcode=1", "--leak-check=full"])
                .args(["--errors-for-leak-kinds=definite,possible"])
                .arg(&bin),
            "examples/c-kernel under valgrind",
            Duration::from_secs(300),
        )?;
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success()
            || !stderr.contains("ERROR SUMMARY: 0 errors from 0 contexts")
            || String::from_utf8_lossy(&out.stdout) != want
        {
            return Err(format!("examples/c-kernel under valgrind: {}", show(&out)));
        }
        Ok(())
    })())
}

#[test]
fn a_missing_prerequisite_is_a_visible_skip_or_a_ci_failure() {
    assert_eq!(prerequisite("t", "tool", true, false), Ok(true));
    assert_eq!(prerequisite("t", "tool", true, true), Ok(true));
    assert_eq!(
        prerequisite("(self-test of the skip line)", "tool", false, false),
        Ok(false)
    );
    let ci = prerequisite("t", "tool", false, true);
    assert!(ci.as_ref().is_err_and(|e| e.contains("CI=true")), "{ci:?}");
    assert!(!tool_runs("gpc-kshim-no-such-tool", &["--version"]));
}

/// Run one test of this binary in a child process with `env` set (and `CI` removed
/// unless given): its exit status and stderr.
fn run_self(test: &str, env: &[(&str, &str)]) -> Res<(bool, String)> {
    let exe = env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.args([test, "--exact", "--test-threads=1"])
        .env_remove("CI");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = run_with_timeout(&mut cmd, test, Duration::from_secs(120))?;
    Ok((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

/// End to end: a missing valgrind (or C compiler) is a `SKIP:` line on stderr, and a
/// failure under `CI=true`; never a silent ok.
#[test]
fn missing_tools_skip_visibly_and_fail_under_ci() -> Res {
    report((|| {
        let no_valgrind = [("VALGRIND", "gpc-kshim-no-such-valgrind")];
        if !require_build_tools("missing_tools_skip_visibly_and_fail_under_ci")? {
            return Ok(());
        }
        let (ok, stderr) = run_self("c_harness_under_valgrind", &no_valgrind)?;
        if !ok
            || !stderr
                .contains("SKIP: c_harness_under_valgrind: gpc-kshim-no-such-valgrind not found")
        {
            return Err(format!(
                "without valgrind, not a visible skip: ok={ok}\n{stderr}"
            ));
        }
        let (ok, stderr) = run_self(
            "c_harness_under_valgrind",
            &[no_valgrind[0], ("CI", "true")],
        )?;
        if ok || stderr.contains("SKIP:") {
            return Err(format!(
                "without valgrind under CI=true, not a failure:\n{stderr}"
            ));
        }
        let no_cc = [("CC", "gpc-kshim-no-such-cc")];
        let (ok, stderr) = run_self("header_compiles_as_c_and_cpp", &no_cc)?;
        if !ok
            || !stderr
                .contains("SKIP: header_compiles_as_c_and_cpp: gpc-kshim-no-such-cc not found")
        {
            return Err(format!(
                "without a C compiler, not a visible skip: ok={ok}\n{stderr}"
            ));
        }
        let (ok, _) = run_self("header_compiles_as_c_and_cpp", &[no_cc[0], ("CI", "true")])?;
        if ok {
            return Err("without a C compiler under CI=true, the test passed".into());
        }
        // The kernel-target build: the script reports the missing compiler (status 77).
        let kbuild = "kernel_target_build_links_with_a_c_kernel";
        let (ok, stderr) = run_self(kbuild, &no_cc)?;
        if !ok || !stderr.contains(&format!("SKIP: {kbuild}: missing gpc-kshim-no-such-cc")) {
            return Err(format!(
                "kernel build without a C compiler, not a visible skip: ok={ok}\n{stderr}"
            ));
        }
        let (ok, _) = run_self(kbuild, &[no_cc[0], ("CI", "true")])?;
        if ok {
            return Err("kernel build without a C compiler under CI=true: passed".into());
        }
        Ok(())
    })())
}
