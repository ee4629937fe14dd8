//! Secrets at rest: ChaCha20-Poly1305 with a random nonce per value, stored as
//! `v2:<kid>:<base64 nonce+ciphertext>`, where `kid` names the key (`key_id`). A `SecretBox`
//! encrypts with the current key and decrypts with it or any previous key still configured
//! (rotation: `b24wa rekey` re-encrypts everything, then the previous key can go). Values from
//! before key ids (`v1:<base64>`) are tried with the current key, then the previous ones.

use std::path::Path;

use base64::{engine::general_purpose::STANDARD as B64, Engine};
use chacha20poly1305::{
    aead::{Aead, AeadCore, KeyInit, OsRng},
    ChaCha20Poly1305, Nonce,
};
use rand::RngCore;
use secrecy::{ExposeSecret, SecretString};

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("encryption key must be base64 of 32 bytes")]
    BadKey,
    #[error("previous encryption key number {0} must be base64 of 32 bytes")]
    BadPreviousKey(usize),
    #[error("stored secret is malformed")]
    Malformed,
    #[error("stored secret cannot be decrypted with this key")]
    Decrypt,
    #[error(
        "stored secret was encrypted with key {kid}, which is not configured \
         (list it in B24WA_ENCRYPTION_PREVIOUS_KEYS until `b24wa rekey` has run)"
    )]
    UnknownKey { kid: String },
    #[error("key file {path}: {source}")]
    KeyFile {
        path: String,
        source: std::io::Error,
    },
}

/// A key's id: the first 8 hex digits of the SHA-256 of the key material. Not secret (it is
/// stored next to every value and may be logged); admin API JWT keys use the same convention.
pub fn key_id(key: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(&sha2::Sha256::digest(key)[..4])
}

const NONCE_LEN: usize = 12;

#[derive(Clone)]
struct Keyed {
    kid: String,
    cipher: ChaCha20Poly1305,
}

impl Keyed {
    fn from_base64(key: &SecretString) -> Option<Self> {
        let bytes = B64.decode(key.expose_secret().trim()).ok()?;
        let cipher = ChaCha20Poly1305::new_from_slice(&bytes).ok()?;
        Some(Self {
            kid: key_id(&bytes),
            cipher,
        })
    }

    fn open(&self, sealed: &[u8]) -> Result<SecretString, CryptoError> {
        if sealed.len() < NONCE_LEN {
            return Err(CryptoError::Malformed);
        }
        let (nonce, ct) = sealed.split_at(NONCE_LEN);
        let plain = self
            .cipher
            .decrypt(Nonce::from_slice(nonce), ct)
            .map_err(|_| CryptoError::Decrypt)?;
        let s = String::from_utf8(plain).map_err(|_| CryptoError::Malformed)?;
        Ok(SecretString::from(s))
    }
}

/// The current key (encrypts and decrypts) and previous keys (decrypt only).
#[derive(Clone)]
pub struct SecretBox {
    current: Keyed,
    previous: Vec<Keyed>,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Key ids only: they name the keys without revealing them.
        f.debug_struct("SecretBox")
            .field("kid", &self.current.kid)
            .field("previous", &self.previous_kids())
            .finish()
    }
}

/// The key id of a `v2:` value (`None` for `v1:` values and anything else).
pub fn stored_kid(stored: &str) -> Option<&str> {
    stored
        .strip_prefix("v2:")
        .and_then(|rest| rest.split_once(':'))
        .map(|(kid, _)| kid)
}

impl SecretBox {
    /// One key, no previous ones.
    pub fn from_base64(key: &SecretString) -> Result<Self, CryptoError> {
        Self::with_previous(key, &[])
    }

    /// `current` encrypts; it and `previous` decrypt. A previous key equal to the current one
    /// (or listed twice) is ignored.
    pub fn with_previous(
        current: &SecretString,
        previous: &[SecretString],
    ) -> Result<Self, CryptoError> {
        let current = Keyed::from_base64(current).ok_or(CryptoError::BadKey)?;
        let mut kept: Vec<Keyed> = Vec::new();
        for (i, key) in previous.iter().enumerate() {
            let k = Keyed::from_base64(key).ok_or(CryptoError::BadPreviousKey(i + 1))?;
            if k.kid != current.kid && kept.iter().all(|p| p.kid != k.kid) {
                kept.push(k);
            }
        }
        Ok(Self {
            current,
            previous: kept,
        })
    }

    /// The current key's id (what new values carry).
    pub fn kid(&self) -> &str {
        &self.current.kid
    }

    /// The previous keys' ids.
    pub fn previous_kids(&self) -> Vec<&str> {
        self.previous.iter().map(|k| k.kid.as_str()).collect()
    }

    pub fn encrypt(&self, plain: &str) -> String {
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption with a valid key and in-memory buffer cannot fail.
        let ct = self
            .current
            .cipher
            .encrypt(&nonce, plain.as_bytes())
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ct);
        format!("v2:{}:{}", self.current.kid, B64.encode(out))
    }

    pub fn decrypt(&self, stored: &str) -> Result<SecretString, CryptoError> {
        if let Some(rest) = stored.strip_prefix("v2:") {
            let (kid, raw) = rest.split_once(':').ok_or(CryptoError::Malformed)?;
            if kid.len() != 8 || !kid.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(CryptoError::Malformed);
            }
            let key = std::iter::once(&self.current)
                .chain(&self.previous)
                .find(|k| k.kid == kid)
                .ok_or_else(|| CryptoError::UnknownKey {
                    kid: kid.to_string(),
                })?;
            let bytes = B64.decode(raw).map_err(|_| CryptoError::Malformed)?;
            return key.open(&bytes);
        }
        let raw = stored.strip_prefix("v1:").ok_or(CryptoError::Malformed)?;
        let bytes = B64.decode(raw).map_err(|_| CryptoError::Malformed)?;
        // No key id: the key whose tag verifies is the one (a wrong key fails authentication).
        let mut last = CryptoError::Decrypt;
        for key in std::iter::once(&self.current).chain(&self.previous) {
            match key.open(&bytes) {
                Ok(plain) => return Ok(plain),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Whether `stored` is already encrypted with the current key (by its key id).
    pub fn is_current(&self, stored: &str) -> bool {
        stored_kid(stored) == Some(self.current.kid.as_str())
    }

    /// `stored` re-encrypted with the current key, or `None` when it already is.
    pub fn reseal(&self, stored: &str) -> Result<Option<String>, CryptoError> {
        if self.is_current(stored) {
            return Ok(None);
        }
        let plain = self.decrypt(stored)?;
        Ok(Some(self.encrypt(plain.expose_secret())))
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

    fn key(byte: u8) -> SecretString {
        SecretString::from(B64.encode([byte; 32]))
    }

    fn sb(current: u8, previous: &[u8]) -> SecretBox {
        let previous: Vec<_> = previous.iter().map(|b| key(*b)).collect();
        SecretBox::with_previous(&key(current), &previous).expect("keys")
    }

    /// A value as stored before key ids: `v1:` + base64(nonce + ciphertext).
    fn legacy_v1(byte: u8, plain: &str) -> String {
        let cipher = ChaCha20Poly1305::new_from_slice(&[byte; 32]).expect("key");
        let nonce = ChaCha20Poly1305::generate_nonce(&mut OsRng);
        let mut out = nonce.to_vec();
        out.extend(cipher.encrypt(&nonce, plain.as_bytes()).expect("seal"));
        format!("v1:{}", B64.encode(out))
    }

    fn flip_last_bit(stored: &str) -> String {
        let (prefix, raw) = stored.rsplit_once(':').expect("prefix");
        let mut raw = B64.decode(raw).expect("b64");
        let last = raw.len() - 1;
        raw[last] ^= 0x01;
        format!("{prefix}:{}", B64.encode(raw))
    }

    #[test]
    fn v2_round_trip_carries_the_key_id() {
        let a = sb(7, &[]);
        assert_eq!(a.kid(), key_id(&[7u8; 32]));
        assert_eq!(a.kid().len(), 8);
        let enc = a.encrypt("token-123");
        assert!(!enc.contains("token-123"));
        assert!(enc.starts_with(&format!("v2:{}:", a.kid())), "{enc}");
        assert_eq!(stored_kid(&enc), Some(a.kid()));
        assert_eq!(a.decrypt(&enc).expect("dec").expose_secret(), "token-123");
        // A fresh nonce each time.
        assert_ne!(a.encrypt("token-123"), enc);
        assert_eq!(
            a.decrypt(&a.encrypt("")).expect("empty").expose_secret(),
            ""
        );
    }

    #[test]
    fn v1_values_decrypt_with_the_current_or_a_previous_key() {
        let old = legacy_v1(7, "from-before-kids");
        assert_eq!(stored_kid(&old), None);
        for b in [sb(7, &[]), sb(9, &[7]), sb(9, &[8, 7])] {
            assert_eq!(
                b.decrypt(&old).expect("v1").expose_secret(),
                "from-before-kids"
            );
            assert!(!b.is_current(&old));
        }
        assert!(matches!(
            sb(9, &[8]).decrypt(&old),
            Err(CryptoError::Decrypt)
        ));
    }

    #[test]
    fn previous_keys_decrypt_and_never_encrypt() {
        let a = sb(7, &[]);
        let rotated = sb(9, &[7]);
        let under_a = a.encrypt("secret-a");
        assert_eq!(
            rotated.decrypt(&under_a).expect("previous").expose_secret(),
            "secret-a"
        );
        let under_b = rotated.encrypt("secret-b");
        assert_eq!(stored_kid(&under_b), Some(rotated.kid()));
        assert_ne!(rotated.kid(), a.kid());
        // Re-sealing moves old values to the current key and leaves current ones alone.
        let resealed = rotated.reseal(&under_a).expect("reseal").expect("changed");
        assert!(rotated.is_current(&resealed));
        assert_eq!(
            sb(9, &[])
                .decrypt(&resealed)
                .expect("b only")
                .expose_secret(),
            "secret-a"
        );
        assert!(rotated.reseal(&under_b).expect("reseal").is_none());
        let v1 = rotated
            .reseal(&legacy_v1(7, "v1"))
            .expect("v1")
            .expect("changed");
        assert!(rotated.is_current(&v1));
        // The current key listed as previous too, or a key listed twice, counts once.
        assert_eq!(sb(9, &[9, 7, 7]).previous_kids(), [key_id(&[7u8; 32])]);
    }

    #[test]
    fn an_unknown_key_id_is_named_in_a_typed_error() {
        let a = sb(7, &[]);
        let under_a = a.encrypt("secret-a");
        let err = sb(9, &[8]).decrypt(&under_a).expect_err("unknown kid");
        match &err {
            CryptoError::UnknownKey { kid } => assert_eq!(kid, a.kid()),
            other => panic!("expected UnknownKey, got {other:?}"),
        }
        let text = err.to_string();
        assert!(text.contains(a.kid()), "{text}");
        assert!(!text.contains(key(7).expose_secret()), "{text}");
        assert!(!format!("{:?}", sb(9, &[7])).contains(key(7).expose_secret()));
        assert!(matches!(
            sb(9, &[]).reseal(&under_a),
            Err(CryptoError::UnknownKey { .. })
        ));
    }

    #[test]
    fn tampering_and_malformed_values_are_refused() {
        let b = sb(9, &[7]);
        let enc = b.encrypt("token-123");
        assert!(matches!(
            b.decrypt(&flip_last_bit(&enc)),
            Err(CryptoError::Decrypt)
        ));
        let v1 = legacy_v1(7, "token-123");
        assert!(matches!(
            b.decrypt(&flip_last_bit(&v1)),
            Err(CryptoError::Decrypt)
        ));
        // Relabelled with another configured key's id: authentication fails.
        let relabelled = enc.replacen(b.kid(), &key_id(&[7u8; 32]), 1);
        assert!(matches!(b.decrypt(&relabelled), Err(CryptoError::Decrypt)));
        for bad in [
            "",
            "token-123",
            "v1:",
            "v1:!!",
            "v2:",
            "v2:abc",
            "v2:zzzzzzzz:AAAA",
            "v3:x",
        ] {
            assert!(
                matches!(b.decrypt(bad), Err(CryptoError::Malformed)),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn bad_keys_are_refused() {
        let short = SecretString::from("short".to_string());
        assert!(matches!(
            SecretBox::from_base64(&short),
            Err(CryptoError::BadKey)
        ));
        assert!(matches!(
            SecretBox::with_previous(&key(9), &[key(7), short]),
            Err(CryptoError::BadPreviousKey(2))
        ));
    }
}
