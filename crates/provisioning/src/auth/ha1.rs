//! What a phone's password is kept as: its Digest HA1 values, in binary,
//! and the stack-only hex the hot path compares hashes in.

use md5::Md5;
use sha2::Sha256;

use touchless_runtime::config::DigestAlgorithm;

/// A password's Digest HA1 values (`H(user:realm:pass)`), in binary. The
/// password itself is not kept: Basic hashes what the phone sent and compares
/// HA1s, Digest needs only HA1. So the view holds 48 bytes per secret.
#[derive(Clone)]
pub struct Ha1 {
    pub(super) md5: [u8; 16],
    pub(super) sha256: [u8; 32],
}

impl Ha1 {
    pub fn new(user: &str, pass: &str, realm: &str) -> Self {
        Ha1 {
            md5: ha1::<Md5>(user, realm, pass).into(),
            sha256: ha1::<Sha256>(user, realm, pass).into(),
        }
    }

    pub(super) fn get(&self, alg: DigestAlgorithm) -> &[u8] {
        match alg {
            DigestAlgorithm::Md5 => &self.md5,
            DigestAlgorithm::Sha256 => &self.sha256,
        }
    }
}

/// A user name a phone may present, with its password's HA1 values.
#[derive(Clone)]
pub struct Credentials {
    pub user: Box<str>,
    pub ha1: Ha1,
}

impl Credentials {
    pub fn new(user: &str, pass: &str, realm: &str) -> Self {
        Credentials {
            user: user.into(),
            ha1: Ha1::new(user, pass, realm),
        }
    }

    pub fn expected(&self) -> Expected<'_> {
        Expected {
            user: &self.user,
            ha1: &self.ha1,
        }
    }
}

/// What a request is checked against: borrowed, so a device's user name is
/// stored once (in its facts), not again beside its HA1 values.
#[derive(Clone, Copy)]
pub struct Expected<'a> {
    pub user: &'a str,
    pub ha1: &'a Ha1,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Credentials({:?}, ***)", self.user)
    }
}

pub(super) fn ha1<D: sha2::Digest>(
    user: impl AsRef<[u8]>,
    realm: &str,
    pass: impl AsRef<[u8]>,
) -> sha2::digest::Output<D> {
    D::new()
        .chain_update(user)
        .chain_update(b":")
        .chain_update(realm)
        .chain_update(b":")
        .chain_update(pass)
        .finalize()
}

/// Lower-case hex of up to 32 bytes, on the stack: the hot path formats
/// every hash it compares, and an allocation each would show.
pub(super) struct Hex {
    buf: [u8; 64],
    len: usize,
}

impl Hex {
    pub(super) fn of(bytes: &[u8]) -> Hex {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut buf = [0u8; 64];
        let n = bytes.len().min(32);
        for (i, b) in bytes[..n].iter().enumerate() {
            buf[2 * i] = DIGITS[usize::from(b >> 4)];
            buf[2 * i + 1] = DIGITS[usize::from(b & 0xf)];
        }
        Hex { buf, len: 2 * n }
    }

    pub(super) fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }
}

#[cfg(test)]
pub(super) fn hex_md5(data: &[u8]) -> String {
    hex(&<Md5 as sha2::Digest>::digest(data))
}

#[cfg(test)]
pub(super) fn hex_sha256(data: &[u8]) -> String {
    hex(&<Sha256 as sha2::Digest>::digest(data))
}

#[cfg(test)]
pub(super) fn hex(bytes: &[u8]) -> String {
    String::from_utf8(Hex::of(bytes).as_bytes().to_vec()).expect("hex is ASCII")
}
