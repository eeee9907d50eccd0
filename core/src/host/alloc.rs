//! Fallible allocation.
//!
//! gpc allocates through `alloc`'s global allocator, which the host provides
//! (`#[global_allocator]` in a kernel: kmalloc with GFP flags; the system allocator in the
//! simulator). The host's allocator must return null on failure and never abort. gpc
//! itself only calls the fallible entry points: `try_reserve` before every push or
//! insert, and [`try_box`] instead of `Box::new`, so an allocation failure surfaces as
//! `ENOMEM` with every structure as it was. A test allocator that fails the Nth
//! allocation proves it (`testing::FailingAlloc`).

use alloc::alloc::{alloc, Layout};
use alloc::boxed::Box;
use alloc::string::String;
use alloc::vec::Vec;
use core::ptr::NonNull;

use crate::error::{Error, Result};

/// `Box::new`, returning `ENOMEM` instead of aborting.
pub fn try_box<T>(value: T) -> Result<Box<T>> {
    let layout = Layout::new::<T>();
    if layout.size() == 0 {
        return Ok(Box::new(value));
    }
    // SAFETY: the layout has a non-zero size.
    let raw = unsafe { alloc(layout) }.cast::<T>();
    let ptr = NonNull::new(raw).ok_or(Error::ENOMEM)?;
    // SAFETY: `ptr` is a fresh, suitably aligned allocation of `T`'s layout.
    unsafe { ptr.as_ptr().write(value) };
    // SAFETY: the allocation was made by the global allocator with `T`'s layout and now
    // holds an initialised `T`: exactly what `Box::from_raw` requires.
    Ok(unsafe { Box::from_raw(ptr.as_ptr()) })
}

/// `Vec::push`, returning `ENOMEM` instead of aborting.
pub fn try_push<T>(vec: &mut Vec<T>, value: T) -> Result {
    vec.try_reserve(1)?;
    vec.push(value);
    Ok(())
}

/// A copy of `s` as a `String`, or `ENOMEM`.
pub fn try_string(s: &str) -> Result<String> {
    let mut out = String::new();
    out.try_reserve_exact(s.len())?;
    out.push_str(s);
    Ok(out)
}

/// A copy of `bytes` as a `Vec`, or `ENOMEM`.
pub fn try_vec_from(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.try_reserve_exact(bytes.len())?;
    out.extend_from_slice(bytes);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helpers_copy() {
        assert_eq!(*try_box(5u64).ok().unwrap_or_default(), 5);
        let mut v = Vec::new();
        assert!(try_push(&mut v, 1).is_ok());
        assert_eq!(v, [1]);
        assert_eq!(try_string("abc").ok().as_deref(), Some("abc"));
        assert!(try_box(()).is_ok());
    }
}
