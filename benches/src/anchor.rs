//! The real-kernel anchor: a NOP thread created and joined on this machine's kernel
//! (the seed's own benchmark of "no overhead" fork and exit).

use crate::BenchError;

#[cfg(target_os = "linux")]
mod ffi {
    use core::ffi::{c_int, c_ulong, c_void};

    /// `pthread_t` on Linux (glibc and musl): an unsigned long.
    pub type PthreadT = c_ulong;

    extern "C" {
        pub fn pthread_create(
            thread: *mut PthreadT,
            attr: *const c_void,
            start: extern "C" fn(*mut c_void) -> *mut c_void,
            arg: *mut c_void,
        ) -> c_int;
        pub fn pthread_join(thread: PthreadT, retval: *mut *mut c_void) -> c_int;
    }

    pub extern "C" fn nop(_: *mut c_void) -> *mut c_void {
        core::ptr::null_mut()
    }
}

/// `pthread_create` of a thread that returns at once, then `pthread_join` (default
/// attributes: the C library's default stack, cached between threads by glibc). On
/// systems other than Linux, [`std_spawn_join`].
///
/// # Errors
///
/// The errno of `pthread_create` or `pthread_join`.
#[cfg(target_os = "linux")]
pub fn pthread_create_join() -> Result<(), BenchError> {
    let mut t: ffi::PthreadT = 0;
    // SAFETY: `t` is a valid out-pointer, a null attribute pointer means the defaults,
    // and `nop` is an `extern "C"` function of the right type that ignores its argument.
    let rc =
        unsafe { ffi::pthread_create(&mut t, core::ptr::null(), ffi::nop, core::ptr::null_mut()) };
    if rc != 0 {
        return Err(BenchError::new(format_args!("pthread_create: errno {rc}")));
    }
    // SAFETY: `t` was just created, is joinable and is joined once; a null retval
    // pointer means the result is not wanted.
    let rc = unsafe { ffi::pthread_join(t, core::ptr::null_mut()) };
    if rc != 0 {
        return Err(BenchError::new(format_args!("pthread_join: errno {rc}")));
    }
    Ok(())
}

/// See the Linux version.
///
/// # Errors
///
/// As [`std_spawn_join`].
#[cfg(not(target_os = "linux"))]
pub fn pthread_create_join() -> Result<(), BenchError> {
    std_spawn_join()
}

/// `std::thread::spawn` of an empty closure, then `join`: pthread_create and join plus
/// std's own bookkeeping (thread handle, result packet, an alternate signal stack).
///
/// # Errors
///
/// If the thread cannot be made or panicked.
pub fn std_spawn_join() -> Result<(), BenchError> {
    std::thread::Builder::new()
        .spawn(|| {})?
        .join()
        .map_err(|_| BenchError::new("thread panicked"))
}
