//! Secrets: random tokens from the OS CSPRNG, constant-time comparison, and
//! argon2id password hashes (console accounts).

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;

const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";

/// `len` characters from an alphabet without look-alikes (no 0/O, 1/l/I), so an
/// admin can read a password off a screen. 57 symbols: 5.8 bits per character.
pub fn random_token(len: usize) -> String {
    let mut out = String::with_capacity(len);
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the OS random number generator failed");
        // Rejection sampling keeps the distribution uniform: 57 * 4 = 228.
        for &b in &buf {
            if b < 228 && out.len() < len {
                out.push(ALPHABET[usize::from(b % 57)] as char);
            }
        }
    }
    out
}

/// `2 * n` lowercase hex characters from `n` random bytes (object ids).
pub fn random_hex(n: usize) -> String {
    let mut buf = vec![0u8; n];
    getrandom::fill(&mut buf).expect("the OS random number generator failed");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// Constant-time equality; the length may leak, the content does not.
///
/// Every byte pair is folded into one accumulator with no early exit, and
/// the accumulator passes through `black_box` before the one comparison,
/// so the compiler can neither stop at the first difference nor branch on a
/// byte. (subtle's slice comparison does the same a byte at a time through
/// an optimisation barrier each: a fifth of a Basic check's instructions on
/// the request path.)
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let diff = a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// An argon2id hash (PHC string) of `password` with a fresh salt.
pub fn hash_password(password: &str) -> Result<String, argon2::password_hash::Error> {
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|_| argon2::password_hash::Error::Crypto)?;
    let salt = SaltString::encode_b64(&salt)?;
    Ok(Argon2::default()
        .hash_password(password.as_bytes(), &salt)?
        .to_string())
}

/// Whether `password` matches a stored hash (constant time in the password).
pub fn verify_password(password: &str, stored: &str) -> bool {
    PasswordHash::new(stored)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash computed for a user that does not exist, so a wrong name costs as
/// long as a wrong password and does not tell the two apart.
pub fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| hash_password(&random_token(16)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_have_the_length_and_alphabet() {
        let t = random_token(20);
        assert_eq!(t.len(), 20);
        assert!(t.bytes().all(|c| ALPHABET.contains(&c)));
        assert_ne!(random_token(20), random_token(20));
    }

    #[test]
    fn compares() {
        assert!(ct_eq(b"abc", b"abc"));
        assert!(!ct_eq(b"abc", b"abd"));
        assert!(!ct_eq(b"abc", b"abcd"));
    }

    #[test]
    fn a_password_verifies_against_its_own_hash_only() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("correct horsf", &h));
        assert!(!verify_password("correct horse", "not a hash"));
        assert_ne!(h, hash_password("correct horse").unwrap(), "salted");
    }
}
