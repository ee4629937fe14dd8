//! Secrets at rest: ChaCha20-Poly1305 with a random nonce per value, stored as `v1:<base64>`.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    ChaCha20Poly1305, Key, Nonce,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("encryption key must be base64 of 32 bytes")]
    BadKey,
    #[error("stored secret is malformed")]
    Malformed,
    #[error("stored secret cannot be decrypted with this key")]
    Decrypt,
    #[error("key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

#[derive(Clone)]
pub struct SecretBox {
    cipher: ChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

impl SecretBox {
    pub fn from_base64(key: &SecretString) -> Result<Self, CryptoError> {
        let bytes = B64
            .decode(key.expose_secret().trim())
            .map_err(|_| CryptoError::BadKey)?;
        if bytes.len() != 32 {
            return Err(CryptoError::BadKey);
        }
        Ok(Self {
            cipher: ChaCha20Poly1305::new(Key::from_slice(&bytes)),
        })
    }

    pub fn encrypt(&self, plain: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption with a valid key and in-memory buffer cannot fail.
        let ct = self
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v1:{}", B64.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> Result<SecretString, CryptoError> {
        let raw = stored.strip_prefix("v1:").ok_or(CryptoError::Malformed)?;
        let bytes = B64.decode(raw).map_err(|_| CryptoError::Malformed)?;
        if bytes.len() < 12 {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = bytes.split_at(12);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)?;
        let s = String::from_utf8(plain).map_err(|_| CryptoError::Malformed)?;
        Ok(SecretString::from(s))
    }
}

/// A random 32-byte token, hex (e.g. what a gateway's webhooks must present).
pub fn random_token() -> String {
    use rand::RngCore;
    let mut b = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut b);
    hex::encode(b)
}

/// A short stable digest (hex SHA-256, first 16 bytes) for idempotency keys built from content.
pub fn digest_hex(s: &str) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(s.as_bytes())[..16])
}

/// Reads a base64 key from `path`, creating a fresh random one if the file does not exist.
/// Returns the key and whether it was created now.
pub fn load_or_create_key(path: &Path) -> Result<(SecretString, bool), CryptoError> {
    let err = |source| CryptoError::KeyFile {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read_to_string(path) {
        Ok(s) => Ok((SecretString::from(s.trim().to_string()), false)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir).map_err(err)?;
            }
            let mut key = [0u8; 32];
            rand::thread_rng().fill_bytes(&mut key);
            let encoded = B64.encode(key);
            write_private(path, &encoded).map_err(err)?;
            Ok((SecretString::from(encoded), true))
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(unix)]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(contents.as_bytes())
}

#[cfg(not(unix))]
fn write_private(path: &Path, contents: &str) -> std::io::Result<()> {
    std::fs::write(path, contents)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let key = SecretString::from(B64.encode([7u8; 32]));
        let sb = SecretBox::from_base64(&key).expect("key");
        let enc = sb.encrypt("token-123");
        assert!(!enc.contains("token-123"));
        assert_eq!(sb.decrypt(&enc).expect("dec").expose_secret(), "token-123");
        let mut raw = B64.decode(&enc[3..]).expect("b64");
        let last = raw.len() - 1;
        raw[last] ^= 0x01;
        let tampered = format!("v1:{}", B64.encode(raw));
        assert!(matches!(sb.decrypt(&tampered), Err(CryptoError::Decrypt)));
        assert!(SecretBox::from_base64(&SecretString::from("short".to_string())).is_err());
    }
}
