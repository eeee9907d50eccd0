//! The kernel's up-front bounds (`budget::ScriptShape`) hold, measured on the kernel's
//! own first-fit [`Heap`] for ordinary and adversarial scripts:
//!
//! * what gpc-script's `Script::parse` takes: the extent of the heap it used (its
//!   highest byte: what a heap must have for the same allocations to succeed) is within
//!   `parse_bound`;
//! * what the interpreter allocates between machine calls (the machine's own
//!   allocations are not counted: they go to the main tier and the reserve) is within
//!   the interpreter's tier, `ScriptShape::emergency`.
//!
//! If gpc-script's representation or interpreter grows, this fails before a kernel
//! stops half-way through a script it accepted.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::sync::Mutex;

use gpc_hobby::budget::ScriptShape;
use gpc_hobby::gate::MemoryGate;
use gpc_hobby::heap::{Heap, GRANULE};
use gpc_hobby::sync::SpinCell;

/// Allocations of the thread that measures go to the arena while it measures; all
/// others go to the system.
struct Measuring;

static ARENA: SpinCell<Heap> = SpinCell::new(Heap::empty());

std::thread_local! {
    static ON: Cell<bool> = const { Cell::new(false) };
    static BASE: Cell<usize> = const { Cell::new(0) };
    static EXTENT: Cell<usize> = const { Cell::new(0) };
}

// SAFETY: the arena's `Heap::alloc` returns null or a fresh piece of the layout's size
// and alignment; pieces are given back to whichever allocator's region holds them.
unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !ON.with(Cell::get) {
            // SAFETY: forwarded.
            return unsafe { System.alloc(layout) };
        }
        let p = ARENA.lock().alloc(layout);
        if !p.is_null() {
            let size = layout.size().max(1).next_multiple_of(GRANULE);
            let end = p as usize + size - BASE.with(Cell::get);
            EXTENT.with(|e| e.set(e.get().max(end)));
        }
        p
    }

    unsafe fn dealloc(&self, p: *mut u8, layout: Layout) {
        let mut arena = ARENA.lock();
        if arena.contains(p) {
            // SAFETY: from the arena with this layout.
            unsafe { arena.dealloc(p, layout) }
        } else {
            drop(arena);
            // SAFETY: from the system with this layout.
            unsafe { System.dealloc(p, layout) }
        }
    }
}

#[global_allocator]
static ALLOC: Measuring = Measuring;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn arena() {
    const SIZE: usize = 512 << 20;
    let mut free = 0;
    ARENA.lock().free_blocks(&mut |_, s| free += s);
    if free != 0 {
        return;
    }
    let space: &'static mut [u8] = Vec::leak(vec![0u8; SIZE]);
    let base = space.as_mut_ptr() as usize;
    // SAFETY: leaked: valid forever and used by nothing else.
    unsafe { ARENA.lock().init(space.as_mut_ptr(), SIZE) };
    let _ = base;
}

/// The extent of the arena that parsing `source` used.
fn parse_extent(source: &[u8]) -> usize {
    let mut first = 0;
    ARENA.lock().free_blocks(&mut |a, _| {
        if first == 0 {
            first = a;
        }
    });
    BASE.with(|b| b.set(first));
    EXTENT.with(|e| e.set(0));
    ON.with(|o| o.set(true));
    let parsed = gpc_script::Script::parse(source);
    ON.with(|o| o.set(false));
    if let Err(e) = &parsed {
        panic!(
            "a test script does not parse: {e}: {:?}",
            String::from_utf8_lossy(source.get(..200).unwrap_or(source))
        );
    }
    drop(parsed);
    EXTENT.with(Cell::get)
}

/// The interpreter's side of a run: allocations go to the arena except during machine
/// calls.
struct InterpreterOnly;

impl MemoryGate for InterpreterOnly {
    fn admit(&self) -> bool {
        true
    }
    fn enter_machine(&self) {
        ON.with(|o| o.set(false));
    }
    fn leave_machine(&self) {
        ON.with(|o| o.set(true));
    }
}

/// The kernel's consoles: serial ports, which allocate nothing.
struct Discard;

impl gpc_script::Output for Discard {
    fn write_bytes(&mut self, _: &[u8]) {}
}

/// The extent of the arena the interpreter used running `source` in `mode`.
fn interpreter_extent(source: &[u8], mode: gpc_script::Mode) -> usize {
    let script = gpc_script::Script::parse(source).expect("a test script parses");
    let mut machine = gpc_hobby::host::KernelMachine::new().expect("a machine");
    let mut out = Discard;
    let mut first = 0;
    ARENA.lock().free_blocks(&mut |a, _| {
        if first == 0 {
            first = a;
        }
    });
    BASE.with(|b| b.set(first));
    EXTENT.with(|e| e.set(0));
    let gate = InterpreterOnly;
    let mut gated = gpc_hobby::gate::GatedMachine::new(&mut machine, &gate);
    gate.leave_machine();
    script.run(&mut gated, mode, &mut out);
    ON.with(|o| o.set(false));
    drop(script);
    EXTENT.with(Cell::get)
}

/// A small deterministic generator (xorshift).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> usize {
        (self.next() % n) as usize
    }
}

/// A random echo line: words of literals, variables and quotes, of random lengths.
fn random_line(rng: &mut Rng) -> String {
    let mut line = String::from(if rng.below(2) == 0 { "echo" } else { "echo -n" });
    for _ in 0..rng.below(40) {
        line.push(' ');
        for _ in 0..1 + rng.below(6) {
            match rng.below(6) {
                0 => line.push_str("$A"),
                1 => line.push_str("${B}."),
                2 => line.push_str("''"),
                3 => line.push_str("\"$A x\""),
                _ => line.push_str(&"x".repeat(1 + rng.below(30))),
            }
        }
    }
    if rng.below(3) == 0 {
        line.push_str(" > /cg/a/tasks");
    }
    line.push('\n');
    line
}

#[test]
fn parsing_stays_within_the_kernel_bound() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    arena();
    type Gen = fn(usize) -> String;
    let gens: [(&str, Gen); 14] = [
        ("spawn", |i| format!("spawn T{i}\n")),
        ("move", |i| format!("echo $T{i} > /cg/a/tasks\n")),
        ("ps", |_| String::from("ps\n")),
        ("x", |_| String::from("x=1\n").replace("x=1", "ps")),
        ("as", |_| String::from("as 1 as 2 as 3 as 4 ps\n")),
        ("one-letter words", |_| {
            format!("echo {}\n", "a ".repeat(50))
        }),
        ("empty words", |_| format!("echo {}\n", "'' ".repeat(50))),
        ("redirections", |_| String::from("echo a>b\n")),
        ("vars", |_| format!("echo {}\n", "$a".repeat(50))),
        ("vars and text", |_| {
            format!("echo \"{}\"\n", "$a/".repeat(50))
        }),
        ("braced", |_| format!("echo {}\n", "${a}.".repeat(40))),
        ("mount", |_| {
            String::from("mount -t cgroup -o cpu,cpuacct -o x -oy -o z none /cg\n")
        }),
        ("mkdir -p", |_| {
            format!("mkdir -p /cg/{}\n", "ab/".repeat(300))
        }),
        ("crlf", |i| format!("fork 1 T{i}\r\n")),
    ];
    let mut worst: f64 = 0.0;
    let mut check = |what: &str, source: &str| {
        let extent = parse_extent(source.as_bytes());
        let bound = ScriptShape::of(source.as_bytes()).parse_bound;
        assert!(
            extent <= bound,
            "{what}: parsing took {extent} bytes of heap, over the kernel's bound {bound}"
        );
        worst = worst.max(extent as f64 / bound as f64);
    };
    for (what, gen) in gens {
        // Around powers of two: where the script's line vector has just doubled.
        for n in [1, 2, 3, 5, 9, 17, 100, 129, 1025, 2049] {
            // Long lines cost per byte, not per line: a few of them show it (and keep
            // the test quick in a debug build).
            if n > 129 && gen(0).len() > 100 {
                continue;
            }
            let source: String = (0..n).map(gen).collect();
            check(what, &source);
        }
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    for round in 0..30 {
        let n = 1 + rng.below(if round % 10 == 0 { 2000 } else { 200 });
        let source: String = (0..n).map(|_| random_line(&mut rng)).collect();
        check("random", &source);
    }
    // One long line of everything.
    let long: String = (0..200)
        .map(|_| {
            random_line(&mut rng)
                .replace(" > /cg/a/tasks", "")
                .replace('\n', " ")
        })
        .collect();
    check("long line", &format!("{long}\n"));
    eprintln!("parse extent / kernel bound: at most {worst:.2}");
}

#[test]
fn the_interpreter_stays_within_its_tier() {
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    arena();
    let setup = "mount -t cgroup -o pids,cpu none /cg\nmkdir /cg/a\nspawn A\nfork A B\n";
    let n = 400;
    let lines: [String; 10] = [
        format!("echo {}", "$A".repeat(n)),
        format!("echo {} > /cg/a/tasks", "$B ".repeat(n)),
        format!("echo -n \"{}\"", "${A}x".repeat(n)),
        format!("run {}", "\u{1}$A".repeat(n)),
        format!("run {}", "\u{85}".repeat(n)),
        format!("as {} ps", "\u{1}".repeat(n)),
        format!("chown {}:{} /cg/a", "$A".repeat(n), "\u{7f}".repeat(n)),
        format!("open A {} 1:1 r", "\u{1}".repeat(n)),
        format!("mkdir -p /cg/{}", "$A/".repeat(n / 8)),
        format!("cat /cg/a/{}", "\u{1}".repeat(n)),
    ];
    let mut worst: f64 = 0.0;
    for line in &lines {
        let source = format!("{setup}{line}\nls /cg/a\nreleases\n");
        let tier = ScriptShape::of(source.as_bytes()).emergency();
        for mode in [gpc_script::Mode::Echo, gpc_script::Mode::Plain] {
            let extent = interpreter_extent(source.as_bytes(), mode);
            assert!(
                extent <= tier,
                "{line:.40}... ({mode:?}): the interpreter took {extent} bytes, its tier \
                 is {tier}"
            );
            worst = worst.max(extent as f64 / tier as f64);
        }
    }
    eprintln!("interpreter extent / its tier: at most {worst:.2}");
}
