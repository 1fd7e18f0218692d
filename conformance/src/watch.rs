//! [`BannerWatch`]: a [`Wire`] that passes everything through and keeps the
//! banner line of every connection, so a run can compare the banners with the
//! recording's (the replayer does not).

use crate::wire::{Wire, WireConn, WireError};

/// Passes through to `inner`; remembers each connection's banner line.
pub struct BannerWatch<'a> {
    inner: &'a mut dyn Wire,
    /// The banner lines received, in connection order (newline included).
    pub banners: Vec<Vec<u8>>,
}

impl<'a> BannerWatch<'a> {
    /// Watches `inner`.
    pub fn new(inner: &'a mut dyn Wire) -> BannerWatch<'a> {
        BannerWatch {
            inner,
            banners: Vec::new(),
        }
    }

    /// The first banner that differs from `want` (compared without its newline).
    pub fn mismatch(&self, want: &[u8]) -> Option<&[u8]> {
        let trim = |b: &[u8]| -> Vec<u8> { b.strip_suffix(b"\n").unwrap_or(b).to_vec() };
        let want = trim(want);
        self.banners
            .iter()
            .find(|b| trim(b) != want)
            .map(|b| b.as_slice())
    }
}

impl Wire for BannerWatch<'_> {
    fn connect(&mut self) -> Result<(WireConn, Vec<u8>), WireError> {
        let (c, bytes) = self.inner.connect()?;
        let line = match bytes.iter().position(|&b| b == b'\n') {
            Some(i) => &bytes[..=i],
            None => &bytes[..],
        };
        self.banners.push(line.to_vec());
        Ok((c, bytes))
    }

    fn send(&mut self, c: WireConn, bytes: &[u8]) -> Result<(), WireError> {
        self.inner.send(c, bytes)
    }

    fn recv(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.inner.recv(c)
    }

    fn recv_now(&mut self, c: WireConn) -> Result<(Vec<u8>, bool), WireError> {
        self.inner.recv_now(c)
    }

    fn close(&mut self, c: WireConn) {
        self.inner.close(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::InProcess;

    #[test]
    fn a_banner_that_differs_is_found() {
        let mut w = InProcess::with_kernel(rumpsp_sim_kernel::SimKernel::default()).unwrap();
        let mut watch = BannerWatch::new(&mut w);
        let (c, _) = watch.connect().unwrap();
        watch.close(c);
        assert_eq!(watch.mismatch(b"RUMPSP-0.4-NetBSD-7.99.34/amd64\n"), None);
        assert_eq!(watch.mismatch(b"RUMPSP-0.4-NetBSD-7.99.34/amd64"), None);
        assert!(watch.mismatch(b"RUMPSP-0.4-NetBSD-10.0/amd64\n").is_some());
    }
}
