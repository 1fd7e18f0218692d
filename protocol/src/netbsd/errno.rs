//! NetBSD errno values and their names and messages (netbsd-abi.md §3,
//! `sys/sys/errno.h`).

/// NetBSD errno names and messages, index = errno (errno.h 1.42, ELAST 98).
const ERRNOS: [(&str, &str); 99] = [
    ("0", "Success"),
    ("EPERM", "Operation not permitted"),
    ("ENOENT", "No such file or directory"),
    ("ESRCH", "No such process"),
    ("EINTR", "Interrupted system call"),
    ("EIO", "Input/output error"),
    ("ENXIO", "Device not configured"),
    ("E2BIG", "Argument list too long"),
    ("ENOEXEC", "Exec format error"),
    ("EBADF", "Bad file descriptor"),
    ("ECHILD", "No child processes"),
    ("EDEADLK", "Resource deadlock avoided"),
    ("ENOMEM", "Cannot allocate memory"),
    ("EACCES", "Permission denied"),
    ("EFAULT", "Bad address"),
    ("ENOTBLK", "Block device required"),
    ("EBUSY", "Device busy"),
    ("EEXIST", "File exists"),
    ("EXDEV", "Cross-device link"),
    ("ENODEV", "Operation not supported by device"),
    ("ENOTDIR", "Not a directory"),
    ("EISDIR", "Is a directory"),
    ("EINVAL", "Invalid argument"),
    ("ENFILE", "Too many open files in system"),
    ("EMFILE", "Too many open files"),
    ("ENOTTY", "Inappropriate ioctl for device"),
    ("ETXTBSY", "Text file busy"),
    ("EFBIG", "File too large"),
    ("ENOSPC", "No space left on device"),
    ("ESPIPE", "Illegal seek"),
    ("EROFS", "Read-only file system"),
    ("EMLINK", "Too many links"),
    ("EPIPE", "Broken pipe"),
    ("EDOM", "Numerical argument out of domain"),
    ("ERANGE", "Result too large or too small"),
    ("EAGAIN", "Resource temporarily unavailable"),
    ("EINPROGRESS", "Operation now in progress"),
    ("EALREADY", "Operation already in progress"),
    ("ENOTSOCK", "Socket operation on non-socket"),
    ("EDESTADDRREQ", "Destination address required"),
    ("EMSGSIZE", "Message too long"),
    ("EPROTOTYPE", "Protocol wrong type for socket"),
    ("ENOPROTOOPT", "Protocol option not available"),
    ("EPROTONOSUPPORT", "Protocol not supported"),
    ("ESOCKTNOSUPPORT", "Socket type not supported"),
    ("EOPNOTSUPP", "Operation not supported"),
    ("EPFNOSUPPORT", "Protocol family not supported"),
    (
        "EAFNOSUPPORT",
        "Address family not supported by protocol family",
    ),
    ("EADDRINUSE", "Address already in use"),
    ("EADDRNOTAVAIL", "Can't assign requested address"),
    ("ENETDOWN", "Network is down"),
    ("ENETUNREACH", "Network is unreachable"),
    ("ENETRESET", "Network dropped connection on reset"),
    ("ECONNABORTED", "Software caused connection abort"),
    ("ECONNRESET", "Connection reset by peer"),
    ("ENOBUFS", "No buffer space available"),
    ("EISCONN", "Socket is already connected"),
    ("ENOTCONN", "Socket is not connected"),
    ("ESHUTDOWN", "Can't send after socket shutdown"),
    ("ETOOMANYREFS", "Too many references: can't splice"),
    ("ETIMEDOUT", "Operation timed out"),
    ("ECONNREFUSED", "Connection refused"),
    ("ELOOP", "Too many levels of symbolic links"),
    ("ENAMETOOLONG", "File name too long"),
    ("EHOSTDOWN", "Host is down"),
    ("EHOSTUNREACH", "No route to host"),
    ("ENOTEMPTY", "Directory not empty"),
    ("EPROCLIM", "Too many processes"),
    ("EUSERS", "Too many users"),
    ("EDQUOT", "Disc quota exceeded"),
    ("ESTALE", "Stale NFS file handle"),
    ("EREMOTE", "Too many levels of remote in path"),
    ("EBADRPC", "RPC struct is bad"),
    ("ERPCMISMATCH", "RPC version wrong"),
    ("EPROGUNAVAIL", "RPC prog. not avail"),
    ("EPROGMISMATCH", "Program version wrong"),
    ("EPROCUNAVAIL", "Bad procedure for program"),
    ("ENOLCK", "No locks available"),
    ("ENOSYS", "Function not implemented"),
    ("EFTYPE", "Inappropriate file type or format"),
    ("EAUTH", "Authentication error"),
    ("ENEEDAUTH", "Need authenticator"),
    ("EIDRM", "Identifier removed"),
    ("ENOMSG", "No message of desired type"),
    ("EOVERFLOW", "Value too large to be stored in data type"),
    ("EILSEQ", "Illegal byte sequence"),
    ("ENOTSUP", "Not supported"),
    ("ECANCELED", "Operation canceled"),
    ("EBADMSG", "Bad or Corrupt message"),
    ("ENODATA", "No message available"),
    ("ENOSR", "No STREAM resources"),
    ("ENOSTR", "Not a STREAM"),
    ("ETIME", "STREAM ioctl timeout"),
    ("ENOATTR", "Attribute not found"),
    ("EMULTIHOP", "Multihop attempted"),
    ("ENOLINK", "Link has been severed"),
    ("EPROTO", "Protocol error"),
    ("EOWNERDEAD", "Previous owner died"),
    ("ENOTRECOVERABLE", "State not recoverable"),
];

/// A NetBSD errno value as it travels in a SYSCALL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Errno(pub i32);

impl Errno {
    /// The symbolic name (`ENOENT`), if the value is a known errno (1..=98).
    pub fn name(self) -> Option<&'static str> {
        usize::try_from(self.0)
            .ok()
            .filter(|&i| i > 0)
            .and_then(|i| ERRNOS.get(i))
            .map(|e| e.0)
    }

    /// NetBSD's message for it (`No such file or directory`).
    pub fn message(self) -> Option<&'static str> {
        usize::try_from(self.0)
            .ok()
            .filter(|&i| i > 0)
            .and_then(|i| ERRNOS.get(i))
            .map(|e| e.1)
    }

    /// Looks an errno up by name (`EAGAIN`; `EWOULDBLOCK` is accepted as its alias).
    pub fn from_name(name: &str) -> Option<Errno> {
        let name = if name == "EWOULDBLOCK" {
            "EAGAIN"
        } else {
            name
        };
        ERRNOS
            .iter()
            .position(|e| e.0 == name)
            .filter(|&i| i > 0)
            .map(|i| Errno(i as i32))
    }
}

impl std::fmt::Display for Errno {
    /// `No such file or directory (ENOENT)`, or `errno 123` for an unknown value.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (self.message(), self.name()) {
            (Some(m), Some(n)) => write!(f, "{m} ({n})"),
            _ => write!(f, "errno {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errno_names() {
        assert_eq!(Errno(2).name(), Some("ENOENT"));
        assert_eq!(Errno(35).name(), Some("EAGAIN"));
        assert_eq!(Errno(63).name(), Some("ENAMETOOLONG"));
        assert_eq!(Errno(78).name(), Some("ENOSYS"));
        assert_eq!(Errno(98).name(), Some("ENOTRECOVERABLE"));
        assert_eq!(Errno(0).name(), None);
        assert_eq!(Errno(99).name(), None);
        assert_eq!(Errno(-3).name(), None);
        assert_eq!(Errno::from_name("EWOULDBLOCK"), Some(Errno(35)));
        assert_eq!(Errno(2).to_string(), "No such file or directory (ENOENT)");
        assert_eq!(Errno(200).to_string(), "errno 200");
    }
}
