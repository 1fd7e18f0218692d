//! Syscall argument slots (spec §5.3.1, netbsd-abi.md §1).
//!
//! An argument block is one slot per declared argument (PAD slots included),
//! each the size of `register_t`. On a little-endian host a value smaller than
//! a slot sits in the slot's first bytes and the rest is zero; 4-byte types are
//! read from the low 4 bytes only (AT_FDCWD arrives as `9c ff ff ff 00 00 00 00`).

use crate::abi::Abi;

/// The maximum number of argument slots (`SYS_MAXSYSARGS`).
pub const MAX_SLOTS: usize = 8;

/// A slot the argument block does not contain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("argument slot {slot} is missing: the block has {len} bytes")]
pub struct MissingSlot {
    /// The slot index asked for.
    pub slot: usize,
    /// The block's length in bytes.
    pub len: usize,
}

/// Read access to an argument block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyscallArgs<'a> {
    block: &'a [u8],
    abi: Abi,
}

impl<'a> SyscallArgs<'a> {
    /// Wraps an argument block.
    pub fn new(block: &'a [u8], abi: Abi) -> SyscallArgs<'a> {
        SyscallArgs { block, abi }
    }

    /// The raw block.
    pub fn bytes(&self) -> &'a [u8] {
        self.block
    }

    /// How many whole slots the block holds.
    pub fn slot_count(&self) -> usize {
        self.block.len() / self.abi.slot_size()
    }

    /// The raw bytes of slot `i`.
    pub fn slot(&self, i: usize) -> Result<&'a [u8], MissingSlot> {
        let n = self.abi.slot_size();
        i.checked_mul(n)
            .and_then(|start| self.block.get(start..start.checked_add(n)?))
            .ok_or(MissingSlot {
                slot: i,
                len: self.block.len(),
            })
    }

    /// An `int`-sized value (int, mode_t, uid_t, pid_t, …) from slot `i`.
    pub fn int(&self, i: usize) -> Result<i32, MissingSlot> {
        let s = self.slot(i)?;
        match self.abi {
            Abi::Lp64Le => Ok(i32::from_le_bytes([s[0], s[1], s[2], s[3]])),
        }
    }

    /// An unsigned `int`-sized value from slot `i`.
    pub fn uint(&self, i: usize) -> Result<u32, MissingSlot> {
        self.int(i).map(|v| v as u32)
    }

    /// A full-slot unsigned value (pointer, size_t) from slot `i`.
    pub fn word(&self, i: usize) -> Result<u64, MissingSlot> {
        let s = self.slot(i)?;
        Ok(self.abi.read_word(s).unwrap_or_default())
    }

    /// A client pointer from slot `i`.
    pub fn ptr(&self, i: usize) -> Result<u64, MissingSlot> {
        self.word(i)
    }

    /// A `size_t` from slot `i`.
    pub fn size(&self, i: usize) -> Result<u64, MissingSlot> {
        self.word(i)
    }

    /// A signed full-slot value (`off_t`, `ssize_t`, `long`) from slot `i`.
    pub fn off(&self, i: usize) -> Result<i64, MissingSlot> {
        self.word(i).map(|v| v as i64)
    }
}

/// Builds an argument block slot by slot; unset slots (PADs) stay zero.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ArgsBuilder {
    block: Vec<u8>,
    abi: Abi,
}

impl ArgsBuilder {
    /// A zeroed block of `slots` slots.
    pub fn new(slots: usize, abi: Abi) -> ArgsBuilder {
        ArgsBuilder {
            block: vec![0; slots * abi.slot_size()],
            abi,
        }
    }

    fn slot_mut(&mut self, i: usize) -> &mut [u8] {
        let n = self.abi.slot_size();
        let end = (i + 1) * n;
        if self.block.len() < end {
            self.block.resize(end, 0);
        }
        &mut self.block[i * n..end]
    }

    /// Stores an `int`-sized value in slot `i` (low bytes; the rest zero, never sign-extended).
    pub fn int(mut self, i: usize, v: i32) -> Self {
        let s = self.slot_mut(i);
        s.fill(0);
        s[..4].copy_from_slice(&v.to_le_bytes());
        self
    }

    /// Stores a full-slot unsigned value in slot `i`.
    pub fn word(mut self, i: usize, v: u64) -> Self {
        self.slot_mut(i).copy_from_slice(&v.to_le_bytes());
        self
    }

    /// Stores a client pointer in slot `i`.
    pub fn ptr(self, i: usize, v: u64) -> Self {
        self.word(i, v)
    }

    /// Stores a `size_t` in slot `i`.
    pub fn size(self, i: usize, v: u64) -> Self {
        self.word(i, v)
    }

    /// Stores an `off_t` in slot `i`.
    pub fn off(self, i: usize, v: i64) -> Self {
        self.word(i, v as u64)
    }

    /// Marks slot `i` as a PAD (zero).
    pub fn pad(mut self, i: usize) -> Self {
        self.slot_mut(i).fill(0);
        self
    }

    /// The finished block.
    pub fn build(self) -> Vec<u8> {
        self.block
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_example_from_the_spec() {
        // read(3, 0x00007f0000001000, 16)
        let block = [
            3, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0, 0, 0, 0x7f, 0, 0, 0x10, 0, 0, 0, 0, 0, 0, 0,
        ];
        let a = SyscallArgs::new(&block, Abi::Lp64Le);
        assert_eq!(a.slot_count(), 3);
        assert_eq!(a.int(0), Ok(3));
        assert_eq!(a.ptr(1), Ok(0x7f00_0000_1000));
        assert_eq!(a.size(2), Ok(16));
        assert_eq!(a.int(3), Err(MissingSlot { slot: 3, len: 24 }));
        let built = ArgsBuilder::new(3, Abi::Lp64Le)
            .int(0, 3)
            .ptr(1, 0x7f00_0000_1000)
            .size(2, 16)
            .build();
        assert_eq!(built, block);
    }

    #[test]
    fn lseek_with_pad_slot() {
        // lseek(fd, PAD, offset, whence): offset at byte 16, whence at byte 24
        let block = ArgsBuilder::new(4, Abi::Lp64Le)
            .int(0, 4)
            .pad(1)
            .off(2, -2)
            .int(3, 2)
            .build();
        assert_eq!(block.len(), 32);
        assert_eq!(&block[16..24], &(-2i64).to_le_bytes());
        assert_eq!(block[24], 2);
        let a = SyscallArgs::new(&block, Abi::Lp64Le);
        assert_eq!(a.off(2), Ok(-2));
        assert_eq!(a.int(3), Ok(2));
        assert_eq!(a.word(1), Ok(0));
    }

    #[test]
    fn negative_ints_are_not_sign_extended() {
        let block = ArgsBuilder::new(1, Abi::Lp64Le).int(0, -100).build();
        assert_eq!(block, [0x9c, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
        let a = SyscallArgs::new(&block, Abi::Lp64Le);
        assert_eq!(a.int(0), Ok(-100));
        assert_eq!(a.uint(0), Ok(0xffff_ff9c));
        assert_eq!(a.word(0), Ok(0xffff_ff9c));
    }

    #[test]
    fn partial_slot_is_missing() {
        let a = SyscallArgs::new(&[1, 2, 3], Abi::Lp64Le);
        assert_eq!(a.slot_count(), 0);
        assert!(a.int(0).is_err());
        assert!(a.slot(usize::MAX).is_err());
    }
}
