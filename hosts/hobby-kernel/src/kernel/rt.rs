//! What the host target's precompiled `core` and `alloc` expect from a C runtime and an
//! unwinder: the C memory functions, and the two unwinding symbols (never used: the
//! kernel is built with `panic=abort`, but the precompiled libraries were not).
//!
//! The copies use `rep movsb`/`rep stosb` (fast on every CPU since Ivy Bridge, and in
//! qemu's TCG), written in assembly so that the compiler cannot turn them back into calls
//! to themselves. The direction flag is clear on entry (System V ABI) and on return.

use core::arch::asm;

/// C `memcpy`.
///
/// # Safety
///
/// `dest` and `src` must be valid for `n` bytes and not overlap.
#[no_mangle]
pub unsafe extern "C" fn memcpy(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees both ranges; `rep movsb` copies `rcx` bytes forward.
    unsafe {
        asm!(
            "rep movsb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            inout("rsi") src => _,
            options(nostack, preserves_flags)
        )
    };
    dest
}

/// C `memmove`.
///
/// # Safety
///
/// `dest` and `src` must be valid for `n` bytes; they may overlap.
#[no_mangle]
pub unsafe extern "C" fn memmove(dest: *mut u8, src: *const u8, n: usize) -> *mut u8 {
    if (dest as usize).wrapping_sub(src as usize) >= n {
        // `dest` before `src`, or no overlap: a forward copy is right.
        // SAFETY: forwarded; a forward copy never overwrites source bytes not yet read.
        return unsafe { memcpy(dest, src, n) };
    }
    // SAFETY: `dest` overlaps the end of `src`: copy backward from the last byte, with
    // the direction flag set for the copy and cleared again after it.
    unsafe {
        asm!(
            "std",
            "rep movsb",
            "cld",
            inout("rcx") n => _,
            inout("rdi") dest.add(n - 1) => _,
            inout("rsi") src.add(n - 1) => _,
            options(nostack)
        )
    };
    dest
}

/// C `memset`.
///
/// # Safety
///
/// `dest` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memset(dest: *mut u8, c: i32, n: usize) -> *mut u8 {
    // SAFETY: the caller guarantees the range; `rep stosb` stores `al` `rcx` times.
    unsafe {
        asm!(
            "rep stosb",
            inout("rcx") n => _,
            inout("rdi") dest => _,
            in("al") c as u8,
            options(nostack, preserves_flags)
        )
    };
    dest
}

/// C `memcmp`.
///
/// # Safety
///
/// `a` and `b` must be valid for `n` bytes.
#[no_mangle]
pub unsafe extern "C" fn memcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    let mut i = 0;
    while i < n {
        // SAFETY: `i < n`, within both ranges.
        let (x, y) = unsafe { (a.add(i).read(), b.add(i).read()) };
        if x != y {
            return i32::from(x) - i32::from(y);
        }
        i += 1;
    }
    0
}

/// C `bcmp` (zero if equal).
///
/// # Safety
///
/// As for [`memcmp`].
#[no_mangle]
pub unsafe extern "C" fn bcmp(a: *const u8, b: *const u8, n: usize) -> i32 {
    // SAFETY: forwarded.
    unsafe { memcmp(a, b, n) }
}

/// The unwinder's resume: unreachable with `panic=abort` (no landing pad runs).
#[no_mangle]
pub extern "C" fn _Unwind_Resume() -> ! {
    gpc_hobby::fatal("_Unwind_Resume called in a panic=abort kernel")
}

/// The personality routine of the precompiled libraries' unwind tables: never called,
/// since nothing unwinds.
#[no_mangle]
pub extern "C" fn rust_eh_personality() {}
