//! The simulated phone's firmware: where each vendor's files name the image
//! to install (a hint), fetching it with the phone's pair, and the version
//! it then reports in its User-Agent, from the next boot on.

use anyhow::bail;

use super::{Phone, PhoneState, Simulated, Step};

/// What a file says about firmware.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Hint {
    /// Install this image (of this version, where the file says).
    Image {
        url: String,
        version: Option<String>,
    },
    /// Fetch this file for the image (a setting names the file that names it).
    Pointer(String),
}

/// What the simulator's own images start with, so a fetched image says
/// its version (`touchless-sim-firmware 10.1.46.12`); a real image is
/// read for its version from its file name instead.
pub(super) const SIM_IMAGE_MAGIC: &str = "touchless-sim-firmware ";

/// The version an image installs: what the file said, else the image's own
/// header, else the first dotted number in its file name.
pub(super) fn version_of(said: Option<String>, image: &[u8], url: &str) -> Option<String> {
    if said.is_some() {
        return said;
    }
    if let Some(rest) = image.strip_prefix(SIM_IMAGE_MAGIC.as_bytes()) {
        let line = rest.split(|b| *b == b'\n').next().unwrap_or(rest);
        if let Ok(v) = std::str::from_utf8(line) {
            if !v.trim().is_empty() {
                return Some(v.trim().to_owned());
            }
        }
    }
    let name = url.rsplit('/').next().unwrap_or(url);
    name.split(|c: char| !(c.is_ascii_alphanumeric() || c == '.'))
        .map(|part| part.trim_matches('.'))
        .filter_map(|part| {
            // `66.86.0.15.rom` → `66.86.0.15`: a file's extension is no part.
            let mut segs: Vec<&str> = part.split('.').filter(|s| !s.is_empty()).collect();
            while segs
                .last()
                .is_some_and(|s| s.bytes().all(|c| c.is_ascii_alphabetic()))
            {
                segs.pop();
            }
            let first_digit = segs
                .first()
                .is_some_and(|s| s.starts_with(|c: char| c.is_ascii_digit()));
            (segs.len() >= 2 && first_digit).then(|| segs.join("."))
        })
        .next()
}

/// Refuses an image that is no image: an empty body.
pub(super) fn check_image(url: &str, status: u16, len: usize) -> anyhow::Result<()> {
    if status != 200 {
        bail!("firmware: {url} answered {status}");
    }
    if len == 0 {
        bail!("firmware: {url} is empty");
    }
    Ok(())
}

impl Phone {
    /// Follows a firmware hint to its image, fetches it with the phone's
    /// pair and installs it: the version it reports from the next boot on.
    pub(super) async fn install(
        &self,
        http: &reqwest::Client,
        sim: &dyn Simulated,
        hint: Hint,
        state: &mut PhoneState,
        steps: &mut Vec<Step>,
    ) -> anyhow::Result<Option<String>> {
        let (url, said) = match hint {
            Hint::Image { url, version } => (url, version),
            Hint::Pointer(u) => {
                let (status, body, note_auth) = self
                    .fetch(http, "firmware", &self.expand(&u), state, steps)
                    .await?;
                match sim.firmware_hint(&body, &[]) {
                    Some(Hint::Image { url, version }) if status == 200 => {
                        super::finish_note(steps, &note_auth, &[format!("the image {url}")]);
                        (url, version)
                    }
                    _ => {
                        super::finish_note(steps, &note_auth, &["no image to install".into()]);
                        return Ok(None);
                    }
                }
            }
        };
        let (status, image, note_auth) = self.fetch(http, "firmware", &url, state, steps).await?;
        check_image(&url, status, image.len())?;
        let Some(v) = version_of(said, image.as_bytes(), &url) else {
            bail!("firmware: cannot tell the version of {url}");
        };
        super::finish_note(steps, &note_auth, &[format!("image of {v}")]);
        if v == self.firmware {
            return Ok(None);
        }
        state.firmware = Some(v.clone());
        Ok(Some(v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_version_comes_from_the_file_the_image_or_its_name() {
        assert_eq!(version_of(Some("2.1".into()), b"", "x"), Some("2.1".into()));
        assert_eq!(
            version_of(
                None,
                b"touchless-sim-firmware 10.1.46.12\nrest",
                "http://h/a.bin"
            ),
            Some("10.1.46.12".into())
        );
        assert_eq!(
            version_of(
                None,
                b"\x7fELF",
                "https://h/fw/snomD785-10.1.175.10-SIP-r.bin"
            ),
            Some("10.1.175.10".into())
        );
        assert_eq!(
            version_of(None, b"", "http://h/66.86.0.15.rom"),
            Some("66.86.0.15".into())
        );
        assert_eq!(version_of(None, b"", "http://h/sip.ld"), None);
    }
}
