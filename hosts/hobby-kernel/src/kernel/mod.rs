//! The kernel proper: the entry point after the boot stub, the heap, the panic handler.
//!
//! `kernel_main` runs on the boot stack, in long mode, with SSE on, interrupts off (for
//! good: there is no IDT), the first GiB identity-mapped and `.bss` zeroed. It sets up the
//! serial ports, reads the multiboot information, bounds what the script (the first
//! multiboot module, or the one built into the image) will take of the heap before the
//! first allocation (`budget`: a script too large is refused, and the heap's tiers are
//! sized for it), sets up the heap, runs the script on gpc-machine's model over the
//! kernel host with every command passing the heap's watermark (`gate`), and leaves qemu
//! with the script's exit status.

use core::fmt::Write as _;
use core::panic::PanicInfo;

use gpc_hobby::arch::{self, Serial};
use gpc_hobby::budget::{self, ScriptShape, TooLarge};
use gpc_hobby::console::PortWriter;
use gpc_hobby::heap::{KernelHeap, Tier};
use gpc_hobby::multiboot::{self, Options, BOOTLOADER_MAGIC};
use gpc_hobby::run::{self, EXIT_BAD_SCRIPT, EXIT_PANIC};

mod boot;
mod rt;

/// Bytes of the heap.
const HEAP_SIZE: usize = 48 << 20;

/// The heap's memory: in `.bss.kheap`, which the boot stub does not zero (the allocator
/// does not need zeroed memory), and which lies inside the image qemu loads, so no boot
/// module lands on it.
#[link_section = ".bss.kheap"]
static mut HEAP_SPACE: [u8; HEAP_SIZE] = [0; HEAP_SIZE];

#[global_allocator]
static HEAP: KernelHeap = KernelHeap::new();

/// The script built into the image (`GPC_SCRIPT=FILE` when building; empty otherwise).
static BUILTIN_SCRIPT: &[u8] = include_bytes!(concat!(env!("OUT_DIR"), "/builtin.cgsh"));

/// Called by the boot stub with the multiboot magic and information address.
#[no_mangle]
extern "C" fn kernel_main(magic: u32, info: u32) -> ! {
    Serial::COM1.init();
    Serial::COM2.init();
    let mut diag = Serial::COM2;
    let boot = if magic == BOOTLOADER_MAGIC {
        // SAFETY: a multiboot loader passed `info` in ebx; the boot stub identity-maps
        // the first GiB, where qemu puts the information, command line and modules, and
        // nothing writes there.
        unsafe { multiboot::read(info) }
    } else {
        let _ = writeln!(
            PortWriter(&mut diag),
            "gpc-hobby: not booted by a multiboot loader (magic {magic:#x})"
        );
        multiboot::BootInfo::default()
    };
    let heap_size = multiboot::heap_limit(boot.cmdline).map_or(HEAP_SIZE, |n| n.min(HEAP_SIZE));
    // Decided before the first allocation: whether the script fits the heap at all
    // (refused below, once the options are read, if not), and how large the reserve and
    // the interpreter's tier are for it.
    let source = script_source(&boot);
    let plan = budget::plan(heap_size, &ScriptShape::of(source));
    // SAFETY: `HEAP_SPACE` is used by nothing but the heap, which gets (part of) it once,
    // here, before any allocation; it lives forever.
    unsafe {
        HEAP.init_tiers(
            core::ptr::addr_of_mut!(HEAP_SPACE).cast::<u8>(),
            heap_size,
            plan.unwrap_or_default(),
        )
    };
    let (report, stats) = run_boot(&boot, source, plan.err(), &mut diag);
    if stats {
        let s = HEAP.stats();
        let tier = |t| HEAP.tier_stats(t);
        let (main, reserve, emergency) =
            (tier(Tier::Main), tier(Tier::Reserve), tier(Tier::Emergency));
        let _ = writeln!(
            PortWriter(&mut diag),
            "gpc-hobby: heap {} KiB (main {} KiB, reserve {} KiB, interpreter {} KiB), peak {} KiB \
             in use (reserve {} KiB, interpreter {} KiB), {} allocations, {} refused, {} \
             commands refused for memory, {} live after teardown",
            s.size >> 10,
            main.size >> 10,
            reserve.size >> 10,
            emergency.size >> 10,
            s.peak >> 10,
            reserve.peak >> 10,
            emergency.peak >> 10,
            s.allocs,
            s.failed,
            report.refused,
            s.live
        );
    }
    arch::exit_qemu(report.status)
}

/// The script the loader gave, or the built-in one (empty: none).
fn script_source(boot: &multiboot::BootInfo) -> &'static [u8] {
    match boot.module {
        Some(m) => m.data,
        None => BUILTIN_SCRIPT,
    }
}

/// Run the script the loader gave (or the built-in one) as the options say, unless it
/// is `too_large` for the heap. Returns what the run did and whether to report
/// statistics; everything it allocated is freed by then.
fn run_boot(
    boot: &multiboot::BootInfo,
    source: &[u8],
    too_large: Option<TooLarge>,
    diag: &mut Serial,
) -> (run::RunReport, bool) {
    let opts = Options::parse(boot.cmdline);
    let default_name = if boot.module.is_some() {
        "script.cgsh"
    } else {
        "builtin.cgsh"
    };
    let name = opts.name.as_deref().unwrap_or(default_name);
    let refused = |status| run::RunReport { status, refused: 0 };
    let report = if let Some((start, end)) = boot.bad_module {
        let _ = writeln!(
            PortWriter(diag),
            "gpc: {name}: the boot loader could not hold the script in memory (module at \
             {start:#x}..{end:#x}, beyond the RAM or the first GiB): boot with more memory"
        );
        refused(EXIT_BAD_SCRIPT)
    } else if source.is_empty() && boot.module.is_none() {
        let _ = writeln!(
            PortWriter(diag),
            "gpc-hobby: no script: boot with a multiboot module (qemu -initrd FILE) or \
             build with GPC_SCRIPT=FILE"
        );
        refused(EXIT_BAD_SCRIPT)
    } else if let Some(why) = too_large {
        refused(run::refuse_too_large(name, &why, diag))
    } else {
        let mut com1 = Serial::COM1;
        run::run_script(source, name, opts.echo, &HEAP, &mut com1, diag)
    };
    (report, opts.stats)
}

#[panic_handler]
fn panic(info: &PanicInfo<'_>) -> ! {
    let mut diag = Serial::COM2;
    let _ = writeln!(PortWriter(&mut diag), "gpc-hobby: kernel panic: {info}");
    arch::exit_qemu(EXIT_PANIC)
}
