//! The access log, in nginx's "combined" format, written off the request path.
//!
//! Handlers format a line and hand it to a channel; one thread owns the file and
//! writes through a buffer, flushing whenever the channel runs dry. Closing
//! drains the channel, flushes and joins the thread, so nothing is lost at shutdown.

use std::cell::RefCell;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::IpAddr;
use std::sync::mpsc::{channel, Receiver, RecvTimeoutError, Sender};
use std::sync::Mutex;
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

enum Msg {
    Line(String),
    Close,
}

pub struct AccessLog {
    tx: Option<Sender<Msg>>,
    thread: Mutex<Option<JoinHandle<()>>>,
}

/// What one request contributes to its log line.
pub struct Entry<'a> {
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
    /// `target` is `off`, `stdout` or a file path (appended to, created if needed).
    pub fn open(target: &str) -> std::io::Result<Self> {
        let out: Box<dyn std::io::Write + Send> = match target {
            "off" | "" => {
                return Ok(AccessLog {
                    tx: None,
                    thread: Mutex::new(None),
                })
            }
            "stdout" => Box::new(std::io::stdout()),
            path => {
                if let Some(dir) = std::path::Path::new(path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)?;
                    }
                }
                Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)?,
                )
            }
        };
        let (tx, rx) = channel();
        let thread = std::thread::Builder::new()
            .name("access-log".into())
            .spawn(move || writer(rx, out))?;
        Ok(AccessLog {
            tx: Some(tx),
            thread: Mutex::new(Some(thread)),
        })
    }

    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    pub fn log(&self, e: &Entry<'_>) {
        let Some(tx) = &self.tx else { return };
        let mut line = String::with_capacity(200);
        match e.ip {
            Some(ip) => {
                let _ = write!(line, "{ip}");
            }
            None => line.push('-'),
        }
        line.push_str(" - ");
        escape_into(&mut line, e.user.map(str::as_bytes), false);
        line.push_str(" [");
        with_time(|t| line.push_str(t));
        let _ = write!(line, "] \"{} ", e.method);
        escape_into(&mut line, Some(e.uri.as_bytes()), false);
        let _ = write!(line, " {}\" {} {} \"", e.version, e.status, e.bytes);
        escape_into(&mut line, e.referer, true);
        line.push_str("\" \"");
        escape_into(&mut line, e.user_agent, true);
        line.push_str("\"\n");
        let _ = tx.send(Msg::Line(line));
    }

    /// Writes out everything logged so far and stops the writer.
    pub fn close(&self) {
        if let Some(tx) = &self.tx {
            let _ = tx.send(Msg::Close);
        }
        if let Some(t) = self.thread.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = t.join();
        }
    }
}

fn writer(rx: Receiver<Msg>, out: Box<dyn std::io::Write + Send>) {
    use std::sync::mpsc::TryRecvError;
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    'run: loop {
        match rx.recv_timeout(Duration::from_secs(1)) {
            Ok(Msg::Line(l)) => {
                let _ = out.write_all(l.as_bytes());
                // Write the whole burst, then flush once the channel runs dry: large
                // writes under load, and a lone request still shows up at once.
                loop {
                    match rx.try_recv() {
                        Ok(Msg::Line(l)) => {
                            let _ = out.write_all(l.as_bytes());
                        }
                        Ok(Msg::Close) | Err(TryRecvError::Disconnected) => break 'run,
                        Err(TryRecvError::Empty) => break,
                    }
                }
                let _ = out.flush();
            }
            Ok(Msg::Close) | Err(RecvTimeoutError::Disconnected) => break,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
    let _ = out.flush();
}

/// nginx escapes `"`, `\` and bytes outside printable ASCII as `\xHH`; `-` stands
/// for a missing value.
fn escape_into(out: &mut String, v: Option<&[u8]>, quoted: bool) {
    let Some(v) = v.filter(|v| !v.is_empty()) else {
        out.push('-');
        return;
    };
    for &b in v.iter().take(1024) {
        if (b == b'"' || b == b'\\') && quoted || !(0x20..0x7f).contains(&b) {
            let _ = write!(out, "\\x{b:02X}");
        } else {
            out.push(b as char);
        }
    }
}

thread_local! {
    static TIME: RefCell<(u64, String)> = const { RefCell::new((0, String::new())) };
}

/// `10/Oct/2000:13:55:36 +0000`, formatted once per second per thread.
fn with_time(f: impl FnOnce(&str)) {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    TIME.with(|cell| {
        let mut c = cell.borrow_mut();
        if c.0 != secs || c.1.is_empty() {
            let t = chrono::DateTime::from_timestamp(secs as i64, 0).unwrap_or_default();
            c.1 = t.format("%d/%b/%Y:%H:%M:%S +0000").to_string();
            c.0 = secs;
        }
        f(&c.1)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_combined_lines_and_flushes_on_close() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("logs/access.log");
        let log = AccessLog::open(path.to_str().unwrap()).unwrap();
        for i in 0..1000 {
            log.log(&Entry {
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
        log.close();
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
}
