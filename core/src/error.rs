//! Errors: one [`Error`] type wrapping a Linux errno.
//!
//! Every fallible operation of gpc returns [`Result`]. The numbers and symbolic names are
//! Linux's (`include/uapi/asm-generic/errno-base.h` and `errno.h`), so a C host can hand
//! `-err.to_errno()` straight back to user space and a script transcript can print the
//! same `EBUSY` a real kernel gives.

use core::fmt;

/// A Linux errno. The value is always positive and always one of the named constants.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Error(u16);

/// The result type of every fallible gpc operation (Rust-for-Linux shape).
pub type Result<T = (), E = Error> = core::result::Result<T, E>;

macro_rules! errnos {
    ($($name:ident = $num:expr, $text:expr;)*) => {
        impl Error {
            $(
                #[doc = $text]
                pub const $name: Error = Error($num);
            )*

            /// The symbolic name, as Linux spells it (`"EBUSY"`).
            pub const fn name(self) -> &'static str {
                match self.0 {
                    $($num => stringify!($name),)*
                    _ => "EUNKNOWN",
                }
            }

            /// A short description, like `strerror(3)`.
            pub const fn description(self) -> &'static str {
                match self.0 {
                    $($num => $text,)*
                    _ => "Unknown error",
                }
            }

            /// The error with errno `num`, if `num` is one gpc knows.
            pub const fn from_errno(num: i32) -> Option<Error> {
                match num {
                    $($num => Some(Error($num)),)*
                    _ => None,
                }
            }

            /// The error whose symbolic name is `name` (`"EBUSY"`).
            pub fn from_name(name: &str) -> Option<Error> {
                match name {
                    $(stringify!($name) => Some(Error($num)),)*
                    _ => None,
                }
            }
        }
    };
}

errnos! {
    EPERM = 1, "Operation not permitted";
    ENOENT = 2, "No such file or directory";
    ESRCH = 3, "No such process";
    EINTR = 4, "Interrupted system call";
    EIO = 5, "Input/output error";
    ENXIO = 6, "No such device or address";
    E2BIG = 7, "Argument list too long";
    EBADF = 9, "Bad file descriptor";
    ECHILD = 10, "No child processes";
    EAGAIN = 11, "Resource temporarily unavailable";
    ENOMEM = 12, "Cannot allocate memory";
    EACCES = 13, "Permission denied";
    EFAULT = 14, "Bad address";
    ENOTBLK = 15, "Block device required";
    EBUSY = 16, "Device or resource busy";
    EEXIST = 17, "File exists";
    EXDEV = 18, "Invalid cross-device link";
    ENODEV = 19, "No such device";
    ENOTDIR = 20, "Not a directory";
    EISDIR = 21, "Is a directory";
    EINVAL = 22, "Invalid argument";
    ENFILE = 23, "Too many open files in system";
    EMFILE = 24, "Too many open files";
    ENOTTY = 25, "Inappropriate ioctl for device";
    EFBIG = 27, "File too large";
    ENOSPC = 28, "No space left on device";
    ESPIPE = 29, "Illegal seek";
    EROFS = 30, "Read-only file system";
    EMLINK = 31, "Too many links";
    EPIPE = 32, "Broken pipe";
    EDOM = 33, "Numerical argument out of domain";
    ERANGE = 34, "Numerical result out of range";
    EDEADLK = 35, "Resource deadlock avoided";
    ENAMETOOLONG = 36, "File name too long";
    ENOSYS = 38, "Function not implemented";
    ENOTEMPTY = 39, "Directory not empty";
    ELOOP = 40, "Too many levels of symbolic links";
    ENODATA = 61, "No data available";
    EOVERFLOW = 75, "Value too large for defined data type";
    EILSEQ = 84, "Invalid or incomplete multibyte or wide character";
    EOPNOTSUPP = 95, "Operation not supported";
    ECANCELED = 125, "Operation canceled";
}

impl Error {
    /// The positive errno number.
    pub const fn to_errno(self) -> i32 {
        self.0 as i32
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name(), self.description())
    }
}

impl From<alloc::collections::TryReserveError> for Error {
    fn from(_: alloc::collections::TryReserveError) -> Self {
        Error::ENOMEM
    }
}

impl From<hashbrown::TryReserveError> for Error {
    fn from(_: hashbrown::TryReserveError) -> Self {
        Error::ENOMEM
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_and_names_are_linux() {
        assert_eq!(Error::EBUSY.to_errno(), 16);
        assert_eq!(Error::EBUSY.name(), "EBUSY");
        assert_eq!(Error::ENAMETOOLONG.to_errno(), 36);
        assert_eq!(Error::from_name("ENOSPC"), Some(Error::ENOSPC));
        assert_eq!(Error::from_errno(28), Some(Error::ENOSPC));
        assert_eq!(Error::from_errno(9999), None);
        assert_eq!(Error::from_name("nope"), None);
    }
}
