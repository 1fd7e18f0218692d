//! Path calls, one module per concept: [`namei`] (where a path starts, what a
//! lookup is for, the checks the calls share), [`names`] and [`rename`] (the
//! calls that create, link or remove names) and [`attrs`] (the calls that read
//! or change a node's attributes). The handlers are re-exported here, so the
//! syscall table and the other modules name them `file::…`.

mod attrs;
mod namei;
mod names;
mod rename;

pub(crate) use attrs::{
    access, chmod, chown, faccessat, fchmod, fchmodat, fchown, fchownat, fstatat, futimens,
    futimes, lchmod, lchown, lstat, lutimes, posix_chown, posix_fchown, posix_lchown, stat,
    truncate, utimensat, utimes,
};
pub(crate) use namei::{cred, existing, fd_node, lookup, lookup_for, may_modify_dir, name_ok, Op};
pub(crate) use names::{
    create, link, linkat, mkdir, mkdirat, open, openat, readlink, readlinkat, rmdir, symlink,
    symlinkat, unlink, unlinkat,
};
pub(crate) use rename::{posix_rename, rename, renameat};
