//! Secrets: generated from the OS CSPRNG, compared in constant time.

use subtle::ConstantTimeEq;

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
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.ct_eq(b).into()
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
}
