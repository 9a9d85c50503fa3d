//! A pair in the path: for phones whose vendor's cloud (or whose own
//! settings) can carry a URL but no user and password, the pair that opens
//! their files travels as two path segments, `/ztprov/{user}/{pass}/…`.
//!
//! The segments are percent-encoded (a provisioning password may hold any
//! printable character, `/` included) and decoded once at the edge.

/// Where a vendor's phones present the pair that opens their files.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PairInPath {
    /// In an `Authorization` header, for every file.
    Never,
    /// In the path for the first-contact folder (the cloud hands out a URL
    /// only); in a header from then on (the file sets the phone's pair).
    FirstContact,
    /// In the path for both folders: the phones have no setting for a pair.
    Always,
}

/// `/ztprov/rest` → `/ztprov/{user}/{pass}/rest`.
pub fn insert(path: &str, user: &str, pass: &str) -> String {
    let (head, rest) = match path.strip_prefix('/').and_then(|p| p.split_once('/')) {
        Some((kind, rest)) => (kind, rest),
        None => return path.to_owned(),
    };
    let mut out = String::with_capacity(path.len() + user.len() + pass.len() + 8);
    out.push('/');
    out.push_str(head);
    out.push('/');
    encode_into(&mut out, user);
    out.push('/');
    encode_into(&mut out, pass);
    out.push('/');
    out.push_str(rest);
    out
}

/// `{user}/{pass}/{name}` (what follows `/ztprov/`) → the decoded pair and
/// the file name; `None` when the path does not have that shape or a
/// segment does not decode.
pub fn split(rest: &str) -> Option<(String, String, &str)> {
    // Most names carry no pair: the first search for a '/' says so (memchr:
    // `split_once` took half as long again as the rest of this call).
    let slash = |s: &str| memchr::memchr(b'/', s.as_bytes());
    let i = slash(rest)?;
    let (user, tail) = (&rest[..i], &rest[i + 1..]);
    let j = slash(tail)?;
    let (pass, name) = (&tail[..j], &tail[j + 1..]);
    if user.is_empty() || pass.is_empty() || name.contains('/') {
        return None;
    }
    Some((decode(user)?, decode(pass)?, name))
}

/// One segment as [`insert`] writes it (percent-encoded).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    encode_into(&mut out, s);
    out
}

/// `url` with the segment that is `pass` shown as `…`: what a page shows
/// of a URL that carries a pair, until asked for the password.
pub fn mask(url: &str, pass: &str) -> String {
    url.replace(&format!("/{}/", encode(pass)), "/…/")
}

fn encode_into(out: &mut String, s: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push('%');
            out.push(HEX[usize::from(b >> 4)] as char);
            out.push(HEX[usize::from(b & 15)] as char);
        }
    }
}

fn decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pair_goes_in_and_comes_back_out() {
        let p = insert("/ztprov/", "u1", "a/b %c");
        assert_eq!(p, "/ztprov/u1/a%2Fb%20%25c/");
        let rest = format!("{}0c383e112233.cfg", p.strip_prefix("/ztprov/").unwrap());
        let (u, pw, name) = split(&rest).unwrap();
        assert_eq!(
            (u.as_str(), pw.as_str(), name),
            ("u1", "a/b %c", "0c383e112233.cfg")
        );
        assert_eq!(insert("/prov/x.cfg", "u", "p"), "/prov/u/p/x.cfg");
    }

    #[test]
    fn a_masked_url_hides_the_password_only() {
        let u = format!("https://pbx{}", insert("/ztprov/", "u1", "p/w"));
        assert_eq!(mask(&u, "p/w"), "https://pbx/ztprov/u1/…/");
        assert_eq!(mask("https://pbx/prov/", "p/w"), "https://pbx/prov/");
    }

    #[test]
    fn other_shapes_are_not_pairs() {
        for bad in [
            "x.cfg",
            "u/x.cfg",
            "u/p/q/x.cfg",
            "/p/x.cfg",
            "u//x.cfg",
            "u/%zz/x.cfg",
            "u/%C3/x.cfg",
            "u/%4/x.cfg",
        ] {
            assert!(split(bad).is_none(), "{bad}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_printable_pair_round_trips(user in "[ -~]{1,30}", pass in "[ -~]{1,20}") {
            let p = insert("/ztprov/", &user, &pass);
            let rest = format!("{}f.cfg", p.strip_prefix("/ztprov/").unwrap());
            let (u, pw, name) = split(&rest).unwrap();
            proptest::prop_assert_eq!((u, pw, name), (user, pass, "f.cfg"));
        }
    }
}
