//! NetBSD errno values (1..=98) to Linux ones.

/// Linux errno for each NetBSD errno, index = NetBSD value.
const TO_LINUX: [i32; 99] = [
    0,
    libc::EPERM,
    libc::ENOENT,
    libc::ESRCH,
    libc::EINTR,
    libc::EIO,
    libc::ENXIO,
    libc::E2BIG,
    libc::ENOEXEC,
    libc::EBADF,
    libc::ECHILD,
    libc::EDEADLK,
    libc::ENOMEM,
    libc::EACCES,
    libc::EFAULT,
    libc::ENOTBLK,
    libc::EBUSY,
    libc::EEXIST,
    libc::EXDEV,
    libc::ENODEV,
    libc::ENOTDIR,
    libc::EISDIR,
    libc::EINVAL,
    libc::ENFILE,
    libc::EMFILE,
    libc::ENOTTY,
    libc::ETXTBSY,
    libc::EFBIG,
    libc::ENOSPC,
    libc::ESPIPE,
    libc::EROFS,
    libc::EMLINK,
    libc::EPIPE,
    libc::EDOM,
    libc::ERANGE,
    libc::EAGAIN,
    libc::EINPROGRESS,
    libc::EALREADY,
    libc::ENOTSOCK,
    libc::EDESTADDRREQ,
    libc::EMSGSIZE,
    libc::EPROTOTYPE,
    libc::ENOPROTOOPT,
    libc::EPROTONOSUPPORT,
    libc::ESOCKTNOSUPPORT,
    libc::EOPNOTSUPP,
    libc::EPFNOSUPPORT,
    libc::EAFNOSUPPORT,
    libc::EADDRINUSE,
    libc::EADDRNOTAVAIL,
    libc::ENETDOWN,
    libc::ENETUNREACH,
    libc::ENETRESET,
    libc::ECONNABORTED,
    libc::ECONNRESET,
    libc::ENOBUFS,
    libc::EISCONN,
    libc::ENOTCONN,
    libc::ESHUTDOWN,
    libc::ETOOMANYREFS,
    libc::ETIMEDOUT,
    libc::ECONNREFUSED,
    libc::ELOOP,
    libc::ENAMETOOLONG,
    libc::EHOSTDOWN,
    libc::EHOSTUNREACH,
    libc::ENOTEMPTY,
    libc::EUSERS, // EPROCLIM: Linux has none
    libc::EUSERS,
    libc::EDQUOT,
    libc::ESTALE,
    libc::EREMOTE,
    libc::EIO, // EBADRPC
    libc::EIO, // ERPCMISMATCH
    libc::EIO, // EPROGUNAVAIL
    libc::EIO, // EPROGMISMATCH
    libc::EIO, // EPROCUNAVAIL
    libc::ENOLCK,
    libc::ENOSYS,
    libc::EINVAL, // EFTYPE
    libc::EACCES, // EAUTH
    libc::EACCES, // ENEEDAUTH
    libc::EIDRM,
    libc::ENOMSG,
    libc::EOVERFLOW,
    libc::EILSEQ,
    libc::ENOTSUP,
    libc::ECANCELED,
    libc::EBADMSG,
    libc::ENODATA,
    libc::ENOSR,
    libc::ENOSTR,
    libc::ETIME,
    libc::ENODATA, // ENOATTR
    libc::EMULTIHOP,
    libc::ENOLINK,
    libc::EPROTO,
    libc::EOWNERDEAD,
    libc::ENOTRECOVERABLE,
];

/// The Linux errno for a NetBSD one; an unknown value becomes EIO.
pub fn to_linux(netbsd: i32) -> i32 {
    usize::try_from(netbsd)
        .ok()
        .filter(|&i| i > 0)
        .and_then(|i| TO_LINUX.get(i).copied())
        .unwrap_or(libc::EIO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_classic_mismatches_are_translated() {
        assert_eq!(to_linux(2), libc::ENOENT);
        assert_eq!(to_linux(35), libc::EAGAIN);
        assert_eq!(to_linux(35), 11);
        assert_eq!(to_linux(11), libc::EDEADLK);
        assert_eq!(to_linux(66), libc::ENOTEMPTY);
        assert_eq!(to_linux(66), 39);
        assert_eq!(to_linux(63), libc::ENAMETOOLONG);
        assert_eq!(to_linux(62), libc::ELOOP);
        assert_eq!(to_linux(78), libc::ENOSYS);
        assert_eq!(to_linux(86), libc::ENOTSUP);
        assert_eq!(to_linux(45), libc::EOPNOTSUPP);
        assert_eq!(to_linux(98), libc::ENOTRECOVERABLE);
        // names agree with the protocol crate's table for every value
        for i in 1..=98 {
            assert!(rumpsp_protocol::netbsd::Errno(i).name().is_some());
            assert_ne!(to_linux(i), 0);
        }
        assert_eq!(to_linux(0), libc::EIO);
        assert_eq!(to_linux(99), libc::EIO);
        assert_eq!(to_linux(-1), libc::EIO);
    }
}
