//! The AUTH handshake extension (handshake kind 1, reserved by the protocol):
//! a shared-key challenge-response. Wire format in `protocol/SERVER.md`.
//!
//! 1. client: REQ/HANDSHAKE kind 1, empty body (asks for a challenge);
//! 2. server: RESP/HANDSHAKE, body `int error (0)` + 32-byte nonce;
//! 3. client: REQ/HANDSHAKE kind 1, body = HMAC-SHA256(key, [`AUTH_LABEL`] ‖ nonce) (32 bytes);
//! 4. server: RESP/HANDSHAKE error 0, or ERROR AUTH and shutdown.
//!
//! Then the usual GUEST or FORK handshake follows on the same connection.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// Bytes of the server's nonce.
pub const NONCE_LEN: usize = 32;
/// Bytes of the client's proof (an HMAC-SHA256).
pub const PROOF_LEN: usize = 32;
/// Domain-separation label MAC'ed before the nonce.
pub const AUTH_LABEL: &[u8] = b"rumpsp-auth-v1\0";
/// Shortest key accepted.
pub const MIN_KEY_LEN: usize = 16;

/// Why a key cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AuthKeyError {
    /// The key file could not be read.
    #[error("cannot read the auth key file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Fewer than [`MIN_KEY_LEN`] bytes (after trailing whitespace is dropped).
    #[error("the auth key in {path} is {len} bytes; at least {MIN_KEY_LEN} are needed")]
    TooShort {
        /// The file.
        path: String,
        /// Its length.
        len: usize,
    },
}

/// Reads a key file: its bytes without trailing whitespace (a final newline).
pub fn read_key_file(path: &std::path::Path) -> Result<Vec<u8>, AuthKeyError> {
    let shown = path.display().to_string();
    let mut key = std::fs::read(path).map_err(|source| AuthKeyError::Read {
        path: shown.clone(),
        source,
    })?;
    while key.last().is_some_and(u8::is_ascii_whitespace) {
        key.pop();
    }
    if key.len() < MIN_KEY_LEN {
        return Err(AuthKeyError::TooShort {
            path: shown,
            len: key.len(),
        });
    }
    Ok(key)
}

fn mac(key: &[u8], nonce: &[u8]) -> Hmac<Sha256> {
    // HMAC takes keys of any length.
    let mut m = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(AUTH_LABEL);
    m.update(nonce);
    m
}

/// The client's proof for `nonce`.
pub fn proof(key: &[u8], nonce: &[u8]) -> [u8; PROOF_LEN] {
    mac(key, nonce).finalize().into_bytes().into()
}

/// True if `got` is the proof for `nonce` (compared in constant time).
pub fn verify(key: &[u8], nonce: &[u8], got: &[u8]) -> bool {
    mac(key, nonce).verify_slice(got).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc4231_case_2_vector() {
        // HMAC-SHA256("Jefe", "what do ya want for nothing?")
        let mut m = <Hmac<Sha256> as Mac>::new_from_slice(b"Jefe").unwrap();
        m.update(b"what do ya want for nothing?");
        let h: [u8; 32] = m.finalize().into_bytes().into();
        assert_eq!(
            h[..4],
            [0x5b, 0xdc, 0xc1, 0x46],
            "first bytes of 5bdcc146bf60754e6a042426089575c7..."
        );
    }

    #[test]
    fn a_proof_verifies_only_with_the_same_key_and_nonce() {
        let k = b"0123456789abcdef";
        let n = [7u8; NONCE_LEN];
        let p = proof(k, &n);
        assert!(verify(k, &n, &p));
        assert!(!verify(b"0123456789abcdeX", &n, &p));
        assert!(!verify(k, &[8u8; NONCE_LEN], &p));
        assert!(!verify(k, &n, &p[..31]));
    }

    #[test]
    fn key_files_are_trimmed_and_short_keys_refused() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("k");
        std::fs::write(&p, b"0123456789abcdef\n").unwrap();
        assert_eq!(read_key_file(&p).unwrap(), b"0123456789abcdef");
        std::fs::write(&p, b"short\n").unwrap();
        assert!(matches!(
            read_key_file(&p),
            Err(AuthKeyError::TooShort { len: 5, .. })
        ));
        assert!(read_key_file(&d.path().join("none")).is_err());
    }
}
