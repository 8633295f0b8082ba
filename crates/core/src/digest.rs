//! The one digest Cairn's fingerprints use, so every kind of fingerprint is
//! computed and spelled the same way.

use sha2::{Digest, Sha256};

/// The first 128 bits of SHA-256 of `canonical`, as 32 lowercase hex
/// digits: stable across processes and platforms, short enough to index.
pub(crate) fn hex128(canonical: &str) -> String {
    let digest = Sha256::digest(canonical.as_bytes());
    let mut hex = String::with_capacity(32);
    for byte in &digest[..16] {
        hex.push_str(&format!("{byte:02x}"));
    }
    hex
}
