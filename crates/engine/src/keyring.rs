//! Master keys and the sealing of secrets at rest (XChaCha20-Poly1305).
//!
//! Every sealed secret carries the id of the key that sealed it, so keys can
//! rotate: the current key seals, every listed key opens. Keys come from
//! `CAIRN_MASTER_KEY` (`id:base64key[,id:base64key...]`, current first) or
//! from a key file in the data directory, created with mode 0600 on first
//! start. A running server that meets an unknown key id re-reads the file,
//! so `cairn admin rotate-key` needs no restart.

use std::path::{Path, PathBuf};
use std::sync::RwLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use cairn_core::secret::Secret;
use cairn_store::SealedSecret;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};

/// Binds ciphertexts to their purpose: a sealed connection secret cannot be
/// passed off as anything else.
const AAD: &[u8] = b"cairn/connection-secret/v1";
const NONCE_LEN: usize = 24;

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error(
        "CAIRN_MASTER_KEY is malformed: {0} (expected id:base64-of-32-bytes, current key first)"
    )]
    MalformedEnv(String),
    #[error("key file {path} is malformed: {reason}")]
    MalformedFile { path: String, reason: String },
    #[error("cannot read or write key file {path}: {reason}")]
    Io { path: String, reason: String },
    #[error("key file {path} is readable by others (mode {mode:o}); run chmod 600 on it")]
    Permissions { path: String, mode: u32 },
    #[error("secret sealed under key `{0}`, which is not in the keyring")]
    UnknownKey(String),
    #[error(
        "secret under key `{0}` failed authentication: the data was altered or the key is wrong"
    )]
    Tampered(String),
    #[error(
        "keys from CAIRN_MASTER_KEY cannot be rotated by Cairn: put the new key first in CAIRN_MASTER_KEY on every instance, then run rotate-key"
    )]
    EnvManaged,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
    raw: [u8; 32],
}

/// Where the keys come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    Env,
    File(PathBuf),
}

/// The master keys; the first seals.
pub struct Keyring {
    keys: RwLock<Vec<Key>>,
    source: KeySource,
}

fn parse_key(id: &str, b64: &str) -> Result<Key, String> {
    let id = id.trim();
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("key id `{id}` must be letters, digits, - or _"));
    }
    let bytes = STANDARD
        .decode(b64.trim())
        .map_err(|e| format!("key `{id}` is not base64: {e}"))?;
    let raw: [u8; 32] = bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("key `{id}` is {} bytes, must be 32", b.len()))?;
    let cipher = XChaCha20Poly1305::new_from_slice(&raw).map_err(|e| format!("key `{id}`: {e}"))?;
    Ok(Key {
        id: id.to_owned(),
        cipher,
        raw,
    })
}

fn parse_list(text: &str, separator: char) -> Result<Vec<Key>, String> {
    let keys = text
        .split(separator)
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|entry| {
            let (id, b64) = entry
                .split_once(':')
                .ok_or_else(|| "an entry lacks `id:`".to_owned())?;
            parse_key(id, b64)
        })
        .collect::<Result<Vec<_>, _>>()?;
    if keys.is_empty() {
        return Err("no keys".to_owned());
    }
    Ok(keys)
}

fn new_key() -> Key {
    let raw: [u8; 32] = rand::random();
    let id = format!("k{:08x}", rand::random::<u32>());
    let cipher = XChaCha20Poly1305::new(&raw.into());
    Key { id, cipher, raw }
}

fn render(keys: &[Key]) -> String {
    let mut out =
        String::from("# Cairn master keys: the first seals, all open. Keep this file secret.\n");
    for key in keys {
        out.push_str(&format!("{}:{}\n", key.id, STANDARD.encode(key.raw)));
    }
    out
}

fn io_error(path: &Path, error: impl std::fmt::Display) -> KeyringError {
    KeyringError::Io {
        path: path.display().to_string(),
        reason: error.to_string(),
    }
}

/// Writes a file readable only by its owner, atomically.
fn write_private(path: &Path, text: &str) -> Result<(), KeyringError> {
    use std::io::Write;
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
    file.write_all(text.as_bytes())
        .map_err(|e| io_error(&tmp, e))?;
    file.sync_all().map_err(|e| io_error(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io_error(path, e))
}

impl Keyring {
    /// Keys from `CAIRN_MASTER_KEY` when given, else from `key_file`
    /// (created with one new key if missing).
    pub fn load(env_value: Option<&str>, key_file: &Path) -> Result<Keyring, KeyringError> {
        if let Some(value) = env_value {
            let keys = parse_list(value, ',').map_err(KeyringError::MalformedEnv)?;
            return Ok(Keyring {
                keys: RwLock::new(keys),
                source: KeySource::Env,
            });
        }
        let keys = if key_file.exists() {
            read_file(key_file)?
        } else {
            let keys = vec![new_key()];
            write_private(key_file, &render(&keys))?;
            tracing::info!(path = %key_file.display(), "created a new master key file");
            keys
        };
        Ok(Keyring {
            keys: RwLock::new(keys),
            source: KeySource::File(key_file.to_owned()),
        })
    }

    pub fn source(&self) -> &KeySource {
        &self.source
    }

    /// The id of the key that seals.
    pub fn current_key_id(&self) -> String {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.first().map(|k| k.id.clone()).unwrap_or_default()
    }

    pub fn key_ids(&self) -> Vec<String> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        keys.iter().map(|k| k.id.clone()).collect()
    }

    pub fn seal(&self, secret: &Secret) -> SealedSecret {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        // A keyring is never empty: load refuses an empty list.
        let key = &keys[0];
        let nonce_bytes: [u8; NONCE_LEN] = rand::random();
        let nonce = XNonce::from(nonce_bytes);
        let payload = Payload {
            msg: secret.expose().as_bytes(),
            aad: AAD,
        };
        let ciphertext = key.cipher.encrypt(&nonce, payload).unwrap_or_default();
        let mut bytes = nonce_bytes.to_vec();
        bytes.extend_from_slice(&ciphertext);
        SealedSecret {
            key_id: key.id.clone(),
            bytes,
        }
    }

    pub fn open(&self, sealed: &SealedSecret) -> Result<Secret, KeyringError> {
        match self.try_open(sealed) {
            Err(KeyringError::UnknownKey(_)) if matches!(self.source, KeySource::File(_)) => {
                // Another process may have rotated the key file.
                self.reload()?;
                self.try_open(sealed)
            }
            other => other,
        }
    }

    fn try_open(&self, sealed: &SealedSecret) -> Result<Secret, KeyringError> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner());
        let key = keys
            .iter()
            .find(|k| k.id == sealed.key_id)
            .ok_or_else(|| KeyringError::UnknownKey(sealed.key_id.clone()))?;
        if sealed.bytes.len() < NONCE_LEN {
            return Err(KeyringError::Tampered(sealed.key_id.clone()));
        }
        let (nonce, ciphertext) = sealed.bytes.split_at(NONCE_LEN);
        let nonce =
            XNonce::try_from(nonce).map_err(|_| KeyringError::Tampered(sealed.key_id.clone()))?;
        let plain = key
            .cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: AAD,
                },
            )
            .map_err(|_| KeyringError::Tampered(sealed.key_id.clone()))?;
        let text =
            String::from_utf8(plain).map_err(|_| KeyringError::Tampered(sealed.key_id.clone()))?;
        Ok(Secret::new(text))
    }

    fn reload(&self) -> Result<(), KeyringError> {
        if let KeySource::File(path) = &self.source {
            let fresh = read_file(path)?;
            *self.keys.write().unwrap_or_else(|e| e.into_inner()) = fresh;
        }
        Ok(())
    }

    /// Puts a new key first in the key file; old keys still open.
    pub fn add_new_current_key(&self) -> Result<String, KeyringError> {
        let KeySource::File(path) = &self.source else {
            return Err(KeyringError::EnvManaged);
        };
        self.reload()?;
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        keys.insert(0, new_key());
        write_private(path, &render(&keys))?;
        Ok(keys[0].id.clone())
    }

    /// Drops every key but the current one from the key file, once nothing
    /// is sealed under them any more.
    pub fn retire_old_keys(&self) -> Result<Vec<String>, KeyringError> {
        let KeySource::File(path) = &self.source else {
            return Ok(Vec::new());
        };
        let mut keys = self.keys.write().unwrap_or_else(|e| e.into_inner());
        let retired: Vec<String> = keys.iter().skip(1).map(|k| k.id.clone()).collect();
        keys.truncate(1);
        write_private(path, &render(&keys))?;
        Ok(retired)
    }
}

fn read_file(path: &Path) -> Result<Vec<Key>, KeyringError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(path)
            .map_err(|e| io_error(path, e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(KeyringError::Permissions {
                path: path.display().to_string(),
                mode: mode & 0o777,
            });
        }
    }
    let text = std::fs::read_to_string(path).map_err(|e| io_error(path, e))?;
    parse_list(&text, '\n').map_err(|reason| KeyringError::MalformedFile {
        path: path.display().to_string(),
        reason,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_round_trip_with_a_fresh_nonce_each_time() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ring = Keyring::load(None, &dir.path().join("master.key")).expect("keyring");
        let secret = Secret::new("glpat-round-trip-123");
        let a = ring.seal(&secret);
        let b = ring.seal(&secret);
        assert_ne!(a.bytes, b.bytes, "fresh nonce");
        assert!(
            !a.bytes.windows(8).any(|w| w == b"glpat-ro"),
            "no plaintext in ciphertext"
        );
        assert_eq!(
            ring.open(&a).expect("open").expose(),
            "glpat-round-trip-123"
        );
    }

    #[test]
    fn key_file_is_created_private_and_reused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let first = Keyring::load(None, &path).expect("create");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("file").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = first.seal(&Secret::new("persisted-secret"));
        let second = Keyring::load(None, &path).expect("reload");
        assert_eq!(
            second.open(&sealed).expect("open").expose(),
            "persisted-secret"
        );
    }

    #[test]
    fn a_world_readable_key_file_is_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        Keyring::load(None, &path).expect("create");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
            assert!(matches!(
                Keyring::load(None, &path),
                Err(KeyringError::Permissions { .. })
            ));
        }
    }

    #[test]
    fn tampering_and_unknown_keys_are_detected() {
        let dir = tempfile::tempdir().expect("tempdir");
        let ring = Keyring::load(None, &dir.path().join("master.key")).expect("keyring");
        let mut sealed = ring.seal(&Secret::new("tamper-me-please"));
        let last = sealed.bytes.len() - 1;
        sealed.bytes[last] ^= 1;
        assert!(matches!(ring.open(&sealed), Err(KeyringError::Tampered(_))));
        sealed.key_id = "nope".into();
        assert!(matches!(
            ring.open(&sealed),
            Err(KeyringError::UnknownKey(_))
        ));
    }

    #[test]
    fn env_keys_parse_and_bad_ones_are_named() {
        let key = STANDARD.encode([7u8; 32]);
        let old = STANDARD.encode([9u8; 32]);
        let ring = Keyring::load(
            Some(&format!("new:{key},old:{old}")),
            Path::new("/nonexistent"),
        )
        .expect("env keyring");
        assert_eq!(ring.key_ids(), vec!["new", "old"]);
        assert_eq!(ring.current_key_id(), "new");
        for bad in [
            "",
            "nocolon",
            "k:!!!",
            &format!("k:{}", STANDARD.encode([1u8; 16])),
        ] {
            assert!(
                matches!(
                    Keyring::load(Some(bad), Path::new("/x")),
                    Err(KeyringError::MalformedEnv(_))
                ),
                "{bad}"
            );
        }
        let err = Keyring::load(Some("k:!!!"), Path::new("/x"))
            .err()
            .expect("error");
        assert!(
            !err.to_string().contains("!!!"),
            "key material not echoed: {err}"
        );
    }

    #[test]
    fn rotation_keeps_old_secrets_readable_and_another_process_sees_new_keys() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("master.key");
        let server = Keyring::load(None, &path).expect("server's keyring");
        let admin = Keyring::load(None, &path).expect("admin's keyring");
        let old = server.seal(&Secret::new("sealed-before-rotation"));
        let new_id = admin.add_new_current_key().expect("rotate");
        let resealed = admin.seal(&admin.open(&old).expect("open old"));
        assert_eq!(resealed.key_id, new_id);
        // The server has not seen the new key yet: it re-reads the file.
        assert_eq!(
            server.open(&resealed).expect("open new").expose(),
            "sealed-before-rotation"
        );
        let retired = admin.retire_old_keys().expect("retire");
        assert_eq!(retired, vec![old.key_id.clone()]);
        let fresh = Keyring::load(None, &path).expect("reload");
        assert!(matches!(fresh.open(&old), Err(KeyringError::UnknownKey(_))));
        assert_eq!(
            fresh.open(&resealed).expect("open").expose(),
            "sealed-before-rotation"
        );
    }
}
