//! pipe (42) and pipe2 (453).

use crate::consts::*;
use crate::proc::{FileKind, Pipe};
use crate::{err, Ctx, SimKernel, Stop, SysResult};

/// A pipe's buffer is taken from the memory pool whole when it is created
/// ([`crate::PIPE_MEM`]), as NetBSD's pipe_create allocates it with
/// pipespace: no room fails pipe(2) with ENOMEM, and a write never needs
/// more memory (a full pipe blocks or says EAGAIN, as before).
fn make(k: &mut SimKernel, pid: i32, flags: i32) -> Result<(i32, i32), Stop> {
    let extra = flags & (O_NONBLOCK | O_NOSIGPIPE);
    k.check_pool(crate::PIPE_MEM, ENOMEM)?;
    let id = k.t.next_pipe;
    k.t.next_pipe += 1;
    k.t.pipes.insert(
        id,
        Pipe {
            readers: 1,
            writers: 1,
            ..Default::default()
        },
    );
    let r = k.t.new_file(FileKind::PipeRead(id), extra);
    let w = k.t.new_file(FileKind::PipeWrite(id), O_WRONLY | extra);
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = match k.install_fd(pid, r, cloexec) {
        Ok(fd) => fd,
        Err(e) => {
            k.file_unref(r);
            k.file_unref(w);
            return Err(e);
        }
    };
    match k.install_fd(pid, w, cloexec) {
        Ok(wfd) => Ok((rfd, wfd)),
        Err(e) => {
            let _ = k.close_fd(pid, rfd);
            k.file_unref(w);
            Err(e)
        }
    }
}

/// Both descriptors in the return values, no memory written.
pub(crate) fn pipe(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (r, w) = make(k, c.pid, 0)?;
    Ok((i64::from(r), i64::from(w)))
}

/// Descriptors copied out (8 bytes); retval[0] = 0 and retval[1] = the write end, as a rump kernel answers.
pub(crate) fn pipe2(k: &mut SimKernel, c: &mut Ctx<'_, '_>) -> SysResult {
    let (fildes, flags) = (c.word(0), c.int(1));
    if flags & !(O_CLOEXEC | O_NONBLOCK | O_NOSIGPIPE) != 0 {
        return err(EINVAL);
    }
    if fildes == 0 {
        return err(EFAULT);
    }
    let (r, w) = make(k, c.pid, flags)?;
    let mut out = r.to_le_bytes().to_vec();
    out.extend_from_slice(&w.to_le_bytes());
    c.copyout(fildes, out)?;
    Ok((0, i64::from(w)))
}
