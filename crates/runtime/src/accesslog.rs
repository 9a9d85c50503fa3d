//! The access log, in nginx's "combined" format or as JSON lines, written off
//! the request path.
//!
//! Handlers format a line and append it to a shared buffer; a background
//! [`Task`], [`AccessLogWriter`], swaps the buffer out and writes it to the
//! file every 100 ms, or sooner when it fills. Its final flush writes what is
//! left, so nothing is lost at shutdown. On SIGHUP it reopens the file, so
//! logrotate can move it away.

use std::cell::RefCell;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::Notify;

use crate::tasks::Task;

/// Lines accumulate here; the writer swaps the buffer out. Handlers never wake
/// the writer for a single line (a cross-thread wake per request costs more
/// than the request), only when a buffer fills up.
struct Shared {
    buf: Mutex<Vec<u8>>,
    full: Notify,
}

/// The writer flushes at least this often, so a lone request shows up at once
/// for a person tailing the log.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// A buffer this full wakes the writer early.
const HIGH_WATER: usize = 256 * 1024;

pub struct AccessLog {
    shared: Option<Arc<Shared>>,
    format: AccessLogFormat,
}

/// How each request is written: nginx's `combined`, or one JSON object a
/// line (for a log shipper).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AccessLogFormat {
    #[default]
    Combined,
    Json,
}

/// Writes the access log's buffer to its file (a [`Task`]).
pub struct AccessLogWriter {
    shared: Arc<Shared>,
    /// `None` only while a write runs on the blocking pool.
    out: Option<Box<dyn std::io::Write + Send>>,
    spare: Vec<u8>,
    tick: tokio::time::Interval,
    /// The file, reopened on SIGHUP; `None` for stdout.
    path: Option<std::path::PathBuf>,
    hangups: Option<tokio::signal::unix::Signal>,
    reopen: bool,
}

/// What one request contributes to its log line.
pub struct Entry<'a> {
    /// Seconds since the Unix epoch.
    pub time: u64,
    pub ip: Option<IpAddr>,
    pub user: Option<&'a str>,
    pub method: &'a str,
    pub uri: &'a str,
    pub version: &'a str,
    pub status: u16,
    pub bytes: usize,
    pub referer: Option<&'a [u8]>,
    pub user_agent: Option<&'a [u8]>,
}

impl AccessLog {
    /// `target` is `off`, `stdout` or a file path (appended to, created if
    /// needed). The writer is `None` when the log is off.
    pub fn open(
        target: &str,
        format: AccessLogFormat,
    ) -> std::io::Result<(Self, Option<AccessLogWriter>)> {
        let (out, path): (Box<dyn std::io::Write + Send>, _) = match target {
            "off" | "" => {
                return Ok((
                    AccessLog {
                        shared: None,
                        format,
                    },
                    None,
                ))
            }
            "stdout" => (Box::new(std::io::stdout()), None),
            // It names users and MACs: private, like the rest of the data.
            path => {
                let path = std::path::PathBuf::from(path);
                (
                    Box::new(touchless_store::private::append(&path)?),
                    Some(path),
                )
            }
        };
        let hangups = match &path {
            Some(_) => Some(tokio::signal::unix::signal(
                tokio::signal::unix::SignalKind::hangup(),
            )?),
            None => None,
        };
        let shared = Arc::new(Shared {
            buf: Mutex::new(Vec::with_capacity(HIGH_WATER)),
            full: Notify::new(),
        });
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let writer = AccessLogWriter {
            shared: Arc::clone(&shared),
            out: Some(out),
            spare: Vec::with_capacity(HIGH_WATER),
            tick,
            path,
            hangups,
            reopen: false,
        };
        Ok((
            AccessLog {
                shared: Some(shared),
                format,
            },
            Some(writer),
        ))
    }

    pub fn enabled(&self) -> bool {
        self.shared.is_some()
    }

    pub fn log(&self, e: &Entry<'_>) {
        let Some(shared) = &self.shared else { return };
        // Formatted straight into the shared buffer: a line is a few hundred
        // instructions, short enough to hold the lock for, and a copy through
        // a line buffer of its own cost a tenth of the line.
        let mut buf = shared.buf.lock().unwrap_or_else(|p| p.into_inner());
        match self.format {
            AccessLogFormat::Combined => format_line(&mut buf, e),
            AccessLogFormat::Json => format_json(&mut buf, e),
        }
        if buf.len() >= HIGH_WATER {
            shared.full.notify_one();
        }
    }
}

/// An address as text, IPv4 without `core::fmt` (its `Display` cost about
/// 1,300 instructions, against some 40 here, for every line and contact).
pub fn push_ip(out: &mut Vec<u8>, ip: IpAddr) {
    match ip {
        IpAddr::V4(ip) => {
            // Digit by digit into one buffer, copied once: a copy per octet
            // cost more than the digits.
            let mut text = [0u8; 15];
            let mut n = 0;
            for (i, octet) in ip.octets().into_iter().enumerate() {
                if i > 0 {
                    text[n] = b'.';
                    n += 1;
                }
                if octet >= 100 {
                    text[n] = b'0' + octet / 100;
                    n += 1;
                }
                if octet >= 10 {
                    text[n] = b'0' + octet / 10 % 10;
                    n += 1;
                }
                text[n] = b'0' + octet % 10;
                n += 1;
            }
            out.extend_from_slice(&text[..n]);
        }
        IpAddr::V6(_) => {
            let _ = write!(out, "{ip}");
        }
    }
}

fn format_line(line: &mut Vec<u8>, e: &Entry<'_>) {
    // Numbers without `core::fmt`: a line per request, and its formatting
    // machinery was a third of what the line cost.
    let mut num = itoa::Buffer::new();
    match e.ip {
        Some(ip) => push_ip(line, ip),
        None => line.push(b'-'),
    }
    line.extend_from_slice(b" - ");
    // Unquoted field: a space would shift every later field for a log parser.
    escape_into(line, e.user.map(str::as_bytes), 64, true);
    line.extend_from_slice(b" [");
    with_time(e.time, |t| line.extend_from_slice(t.combined.as_bytes()));
    line.extend_from_slice(b"] \"");
    line.extend_from_slice(e.method.as_bytes());
    line.push(b' ');
    escape_into(line, Some(e.uri.as_bytes()), 1024, false);
    line.push(b' ');
    line.extend_from_slice(e.version.as_bytes());
    line.extend_from_slice(b"\" ");
    line.extend_from_slice(num.format(e.status).as_bytes());
    line.push(b' ');
    line.extend_from_slice(num.format(e.bytes).as_bytes());
    line.extend_from_slice(b" \"");
    escape_into(line, e.referer, 1024, false);
    line.extend_from_slice(b"\" \"");
    escape_into(line, e.user_agent, 1024, false);
    line.extend_from_slice(b"\"\n");
}

/// The same fields as `combined`, as one JSON object. Bytes a client sent
/// that are not UTF-8 become U+FFFD; JSON's escaping keeps every value in
/// its field and the line one line.
fn format_json(line: &mut Vec<u8>, e: &Entry<'_>) {
    #[derive(serde::Serialize)]
    struct Json<'a> {
        time: &'a str,
        ip: Option<IpAddr>,
        user: Option<&'a str>,
        method: &'a str,
        uri: &'a str,
        version: &'a str,
        status: u16,
        bytes: usize,
        referer: Option<std::borrow::Cow<'a, str>>,
        user_agent: Option<std::borrow::Cow<'a, str>>,
    }
    fn cut(v: &[u8]) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&v[..v.len().min(1024)])
    }
    with_time(e.time, |t| {
        let j = Json {
            time: &t.rfc3339,
            ip: e.ip,
            user: e.user.map(|u| cut_str(u, 64)),
            method: e.method,
            uri: cut_str(e.uri, 1024),
            version: e.version,
            status: e.status,
            bytes: e.bytes,
            referer: e.referer.map(cut),
            user_agent: e.user_agent.map(cut),
        };
        let start = line.len();
        if serde_json::to_writer(&mut *line, &j).is_err() {
            // Never half a line.
            line.truncate(start);
        }
    });
    line.push(b'\n');
}

/// At most `max` bytes of `s`, cut at a character boundary.
fn cut_str(s: &str, max: usize) -> &str {
    let mut i = max.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    &s[..i]
}

impl AccessLogWriter {
    /// After a SIGHUP: what is buffered goes to the old file, then the path
    /// is opened again (logrotate has moved the old one away).
    async fn reopen(&mut self) -> anyhow::Result<()> {
        self.write_out().await?;
        if let Some(path) = &self.path {
            let f = touchless_store::private::append(path)
                .map_err(|e| anyhow::anyhow!("reopening the access log {}: {e}", path.display()))?;
            self.out = Some(Box::new(f));
            tracing::info!(path = %path.display(), "access log reopened");
        }
        Ok(())
    }

    /// Writes what is buffered, on the blocking pool (a file write may stall).
    async fn write_out(&mut self) -> anyhow::Result<()> {
        std::mem::swap(
            &mut *self.shared.buf.lock().unwrap_or_else(|p| p.into_inner()),
            &mut self.spare,
        );
        if self.spare.is_empty() {
            return Ok(());
        }
        let mut out = self
            .out
            .take()
            .expect("the writer is back after each write");
        let mut data = std::mem::take(&mut self.spare);
        let (out, data, result) = tokio::task::spawn_blocking(move || {
            let r = out.write_all(&data).and_then(|_| out.flush());
            data.clear();
            (out, data, r)
        })
        .await?;
        self.out = Some(out);
        self.spare = data;
        result.map_err(|e| anyhow::anyhow!("writing the access log: {e}"))
    }
}

#[async_trait::async_trait]
impl Task for AccessLogWriter {
    async fn wake(&mut self) {
        let hangup = async {
            match self.hangups.as_mut() {
                Some(h) => h.recv().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            _ = self.tick.tick() => {}
            _ = self.shared.full.notified() => {}
            _ = hangup => self.reopen = true,
        }
    }

    async fn work(&mut self) -> anyhow::Result<()> {
        if std::mem::take(&mut self.reopen) {
            return self.reopen().await;
        }
        self.write_out().await
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        self.write_out().await
    }
}

/// As nginx does in every field: `"`, `\` and bytes outside printable ASCII
/// become `\xHH` (and spaces, with `space`), so no client-chosen value (a
/// Digest username, a URI, a User-Agent) can forge a field or a line. At most
/// `max` bytes are kept; `-` stands for a missing value.
fn escape_into(out: &mut Vec<u8>, v: Option<&[u8]>, max: usize, space: bool) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        out.push(b'-');
        return;
    };
    let mut rest = &v[..v.len().min(max)];
    while let Some(i) = next_escaped(rest, space) {
        let b = rest[i];
        out.extend_from_slice(&rest[..i]);
        out.extend_from_slice(&[
            b'\\',
            b'x',
            HEX[usize::from(b >> 4)],
            HEX[usize::from(b & 15)],
        ]);
        rest = &rest[i + 1..];
    }
    out.extend_from_slice(rest);
}

/// Where the first byte `escape_into` escapes is. Every request escapes its
/// URI and User-Agent, and clean text is the rule: eight bytes are checked
/// at once (a byte at a time through the table was some 600 instructions a
/// request, `benches/handle.rs` under callgrind); the eight that hold one
/// are then searched through the table.
fn next_escaped(v: &[u8], space: bool) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // Any byte of `w` zero; exact as to whether there is one.
    let zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGH;
    let below = if space { 0x21 } else { 0x20 };
    let mut start = 0;
    for c in v.chunks_exact(8) {
        let w = u64::from_le_bytes(c.try_into().expect("eight bytes"));
        // Bytes from 0x80 up; below `below` (0x20, or 0x21 to take the space);
        // and `"`, `\` and DEL.
        let hit = (w & HIGH)
            | (w.wrapping_sub(ONES * below) & !w & HIGH)
            | zero(w ^ (ONES * u64::from(b'"')))
            | zero(w ^ (ONES * u64::from(b'\\')))
            | zero(w ^ (ONES * 0x7f));
        if hit != 0 {
            break;
        }
        start += 8;
    }
    let needs = |b: &u8| ESCAPED[usize::from(*b)] || (space && *b == b' ');
    v[start..].iter().position(needs).map(|i| start + i)
}

/// The bytes every field escapes: `"`, `\` and all outside printable ASCII.
const ESCAPED: [bool; 256] = {
    let mut t = [true; 256];
    let mut b = 0x20;
    while b < 0x7f {
        t[b] = false;
        b += 1;
    }
    t[b'"' as usize] = true;
    t[b'\\' as usize] = true;
    t
};

/// A second's time in both formats, formatted once per second per thread.
struct Times {
    secs: u64,
    /// `10/Oct/2000:13:55:36 +0000`, for `combined`.
    combined: String,
    /// `2000-10-10T13:55:36Z`, for JSON.
    rfc3339: String,
}

thread_local! {
    static TIME: RefCell<Times> = const {
        RefCell::new(Times { secs: 0, combined: String::new(), rfc3339: String::new() })
    };
}

fn with_time(secs: u64, f: impl FnOnce(&Times)) {
    TIME.with(|cell| {
        let mut c = cell.borrow_mut();
        if c.secs != secs || c.combined.is_empty() {
            let t = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            c.combined = t.format("%d/%b/%Y:%H:%M:%S +0000").to_string();
            c.rfc3339 = t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            c.secs = secs;
        }
        f(&c)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_word_at_a_time_search_finds_what_the_table_finds() {
        for space in [false, true] {
            let needs = |b: &u8| ESCAPED[usize::from(*b)] || (space && *b == b' ');
            for b in 0..=255u8 {
                for at in 0..21 {
                    // Clean text around one byte, and a second one later.
                    let mut v = b"Mozilla/4.0 snomD785-".to_vec();
                    v[at] = b;
                    let want = v.iter().position(needs);
                    assert_eq!(
                        next_escaped(&v, space),
                        want,
                        "{b:#x} at {at}, space {space}"
                    );
                    v.extend_from_slice(&[b'a', b, b'"', b'z']);
                    let want = v.iter().position(needs);
                    assert_eq!(
                        next_escaped(&v, space),
                        want,
                        "{b:#x} at {at}, space {space}"
                    );
                }
            }
        }
        let mut out = Vec::new();
        escape_into(
            &mut out,
            Some("/prov/a\"b c\u{e4}\x7f.htm".as_bytes()),
            100,
            true,
        );
        assert_eq!(out, b"/prov/a\\x22b\\x20c\\xC3\\xA4\\x7F.htm");
    }

    #[test]
    fn addresses_read_as_the_standard_library_writes_them() {
        for o in 0..=255u8 {
            for ip in [[o, 0, 255, 9], [10, o, 1, 100], [1, 2, o, o]] {
                let ip = IpAddr::from(ip);
                let mut out = Vec::new();
                push_ip(&mut out, ip);
                assert_eq!(String::from_utf8(out).unwrap(), ip.to_string());
            }
        }
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        let mut out = Vec::new();
        push_ip(&mut out, ip);
        assert_eq!(out, b"2001:db8::1");
    }

    #[tokio::test]
    async fn writes_combined_lines_and_flushes_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/access.log");
        let (log, writer) =
            AccessLog::open(path.to_str().unwrap(), AccessLogFormat::Combined).unwrap();
        let mut tasks = crate::tasks::Tasks::new();
        tasks.spawn("access-log", writer.unwrap());
        for i in 0..1000 {
            log.log(&Entry {
                time: 1_700_000_000,
                ip: Some([192, 0, 2, 1].into()),
                user: if i == 0 { Some("prov") } else { None },
                method: "GET",
                uri: "/prov/snomD717-000413AABBCC.htm",
                version: "HTTP/1.1",
                status: 200,
                bytes: 1234,
                referer: None,
                user_agent: Some(b"Mozilla/4.0 (compatible; snomD717-SIP 10.1 \"q\")\x01"),
            });
        }
        tasks.stop(&[]).await;
        let text = std::fs::read_to_string(&path).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1000);
        let re_ok = lines[0].starts_with("192.0.2.1 - prov [")
            && lines[0].ends_with(
                "] \"GET /prov/snomD717-000413AABBCC.htm HTTP/1.1\" 200 1234 \"-\" \"Mozilla/4.0 (compatible; snomD717-SIP 10.1 \\x22q\\x22)\\x01\"",
            );
        assert!(re_ok, "{}", lines[0]);
        assert!(lines[1].starts_with("192.0.2.1 - - ["));
    }

    #[test]
    fn json_lines_keep_hostile_values_in_their_fields() {
        let (log, _writer) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async { AccessLog::open("stdout", AccessLogFormat::Json).unwrap() });
        let mut line = Vec::new();
        let e = Entry {
            time: 1_700_000_000,
            ip: Some([192, 0, 2, 1].into()),
            user: Some("prov\"\n{\"x\":1}"),
            method: "GET",
            uri: "/prov/snomD717-000413AABBCC.htm",
            version: "HTTP/1.1",
            status: 200,
            bytes: 1234,
            referer: None,
            user_agent: Some(b"snomD717-SIP \xff\n\"evil\""),
        };
        assert_eq!(log.format, AccessLogFormat::Json);
        format_json(&mut line, &e);
        let line = String::from_utf8(line).unwrap();
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        let v: serde_json::Value = serde_json::from_str(line.trim_end()).unwrap();
        assert_eq!(v["time"], "2023-11-14T22:13:20Z");
        assert_eq!(v["ip"], "192.0.2.1");
        assert_eq!(v["user"], "prov\"\n{\"x\":1}");
        assert_eq!(v["status"], 200);
        assert_eq!(v["bytes"], 1234);
        assert_eq!(v["referer"], serde_json::Value::Null);
        assert_eq!(v["user_agent"], "snomD717-SIP \u{fffd}\n\"evil\"");
    }

    /// A Digest username is the client's choice; it must not be able to close
    /// the field, open a quoted one or start a new line.
    #[test]
    fn client_chosen_values_cannot_forge_fields() {
        let mut line = Vec::new();
        let evil = "x\" 200 9 \"-\" \"evil\"\n1.2.3.4 - admin [";
        format_line(
            &mut line,
            &Entry {
                time: 1_700_000_000,
                ip: Some([192, 0, 2, 1].into()),
                user: Some(&format!("{evil}{}", "a".repeat(500))),
                method: "GET",
                uri: "/prov/\"x\"",
                version: "HTTP/1.1",
                status: 401,
                bytes: 24,
                referer: None,
                user_agent: None,
            },
        );
        let line = String::from_utf8(line).unwrap();
        assert_eq!(line.matches('\n').count(), 1, "{line}");
        assert_eq!(line.matches('"').count(), 6, "{line}");
        assert!(
            line.starts_with("192.0.2.1 - x\\x22\\x20200\\x209\\x20\\x22-\\x22\\x20\\x22evil\\x22\\x0A1.2.3.4\\x20-\\x20admin\\x20[aaa"),
            "{line}"
        );
        let user_field = line.split(' ').nth(2).unwrap();
        assert!(user_field.len() < 64 * 4, "{user_field}");
        assert!(
            line.contains("\"GET /prov/\\x22x\\x22 HTTP/1.1\" 401"),
            "{line}"
        );
    }
}
