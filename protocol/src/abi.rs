//! The data model both peers share.
//!
//! rump_sp copies C structures to the socket in host layout, so the width of
//! `size_t`, pointers and `register_t`, and the byte order, are part of the
//! wire format. Every codec routine takes an [`Abi`] so that another data model
//! can be added without touching the callers; LP64 little-endian (amd64,
//! aarch64) is the only one implemented.

/// A data model: byte order and the sizes of the C types that travel on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Abi {
    /// 64-bit `long`, pointers and `size_t`; little-endian (amd64, aarch64).
    #[default]
    Lp64Le,
}

impl Abi {
    /// Size in bytes of `size_t`, pointers and `register_t` (one syscall argument slot).
    pub const fn word_size(self) -> usize {
        match self {
            Abi::Lp64Le => 8,
        }
    }

    /// Size of one syscall argument slot.
    pub const fn slot_size(self) -> usize {
        self.word_size()
    }

    /// Body size of a SYSCALL response: `int error`, padding, two `register_t`.
    pub const fn syscall_resp_body(self) -> usize {
        match self {
            Abi::Lp64Le => 24,
        }
    }

    /// Size of the `{size_t len; void *addr}` descriptor of COPYIN/COPYOUT requests.
    pub const fn copy_descriptor(self) -> usize {
        2 * self.word_size()
    }

    /// The short name used in trace headers (`lp64-le`).
    pub const fn name(self) -> &'static str {
        match self {
            Abi::Lp64Le => "lp64-le",
        }
    }

    /// Looks an ABI up by its [`Abi::name`].
    pub fn from_name(name: &str) -> Option<Abi> {
        match name {
            "lp64-le" => Some(Abi::Lp64Le),
            _ => None,
        }
    }

    /// Reads a `size_t`/pointer-sized unsigned word. `bytes` must hold at least `word_size()` bytes.
    pub fn read_word(self, bytes: &[u8]) -> Option<u64> {
        match self {
            Abi::Lp64Le => Some(u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?)),
        }
    }

    /// Appends a `size_t`/pointer-sized word.
    pub(crate) fn put_word(self, out: &mut Vec<u8>, v: u64) {
        match self {
            Abi::Lp64Le => out.extend_from_slice(&v.to_le_bytes()),
        }
    }

    /// Reads an `i32` at the start of `bytes`.
    pub fn read_i32(self, bytes: &[u8]) -> Option<i32> {
        match self {
            Abi::Lp64Le => Some(i32::from_le_bytes(bytes.get(..4)?.try_into().ok()?)),
        }
    }

    /// Appends an `i32`.
    pub(crate) fn put_i32(self, out: &mut Vec<u8>, v: i32) {
        match self {
            Abi::Lp64Le => out.extend_from_slice(&v.to_le_bytes()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lp64_sizes_match_the_spec() {
        let abi = Abi::Lp64Le;
        assert_eq!(abi.word_size(), 8);
        assert_eq!(abi.syscall_resp_body(), 24);
        assert_eq!(abi.copy_descriptor(), 16);
        assert_eq!(Abi::from_name(abi.name()), Some(abi));
        assert_eq!(Abi::from_name("ilp32-le"), None);
    }

    #[test]
    fn words_are_little_endian() {
        let mut v = Vec::new();
        Abi::Lp64Le.put_word(&mut v, 0x0102_0304_0506_0708);
        assert_eq!(v, [8, 7, 6, 5, 4, 3, 2, 1]);
        assert_eq!(Abi::Lp64Le.read_word(&v), Some(0x0102_0304_0506_0708));
        assert_eq!(Abi::Lp64Le.read_word(&v[..7]), None);
    }
}
