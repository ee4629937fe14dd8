//! Password rules and argon2id hashing.

use std::sync::OnceLock;

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

/// Shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 12;

/// Why a password is refused (`Display`: in words for the person choosing it, in English; the
/// admin API says it in the caller's language).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordProblem {
    #[error("the password is too short ({0} characters): use at least {MIN_PASSWORD_LEN}")]
    TooShort(usize),
    #[error("the password is one character repeated")]
    Repeated,
}

/// Why a password is refused; `None` if it is fine.
pub fn password_problem(password: &str) -> Option<PasswordProblem> {
    let n = password.chars().count();
    if n < MIN_PASSWORD_LEN {
        Some(PasswordProblem::TooShort(n))
    } else if password
        .chars()
        .all(|c| c == password.chars().next().unwrap_or(' '))
    {
        Some(PasswordProblem::Repeated)
    } else {
        None
    }
}

/// Argon2id PHC string with a random salt. CPU-heavy: call it off the actor threads
/// (`web::block`).
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let salt = SaltString::encode_b64(&rand::random::<[u8; 16]>())?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Checks `password` against a PHC string; `None` checks it against a dummy hash so that an
/// unknown account costs the same time as a known one. CPU-heavy: call it off the actor threads.
pub fn verify_password(hash: Option<&str>, password: &str) -> bool {
    static DUMMY: OnceLock<String> = OnceLock::new();
    let dummy = DUMMY.get_or_init(|| {
        hash_password(&hex::encode(rand::random::<[u8; 16]>())).unwrap_or_default()
    });
    let known = hash.is_some();
    let Ok(parsed) = PasswordHash::new(hash.unwrap_or(dummy)) else {
        return false;
    };
    let ok = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    ok && known
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("correct horse battery").expect("hash");
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password(Some(&h), "correct horse battery"));
        assert!(!verify_password(Some(&h), "wrong horse battery"));
        assert!(!verify_password(None, "correct horse battery"));
        assert!(password_problem("short").is_some());
        assert!(password_problem("aaaaaaaaaaaaaaaa").is_some());
        assert!(password_problem("a fine long passphrase").is_none());
    }
}
