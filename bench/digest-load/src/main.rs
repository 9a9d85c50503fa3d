//! digest-load: an HTTP load generator that authenticates as a phone does.
//!
//! Each connection asks once without credentials, answers the 401's MD5
//! Digest challenge, then sends authenticated GETs on that nonce with an
//! incrementing `nc` (RFC 7616 qop=auth), computing every response as a phone
//! must (HA2 per URI). A `stale=true` challenge is answered again on the
//! same connection. `--basic` sends precomputed Basic credentials instead,
//! so the two schemes are compared by the same client. It prints its own
//! CPU use beside the rate, so that a reader can see it was not the limit.
//!
//! ```text
//! digest-load http://prov:s3cr3t-prov@127.0.0.1:18090/prov/ paths.txt [--conns 64] [--secs 10] [--threads 1] [--basic]
//! ```
//! `paths.txt`: one path or file name per line; its last segment is
//! requested under the URL's path.

use std::fmt::Write as _;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: String,
    host: String,
    prefix: String,
    user: String,
    pass: String,
    names: Vec<String>,
    conns: usize,
    secs: u64,
    threads: usize,
    basic: bool,
}

#[derive(Default)]
struct Tally {
    ok: u64,
    challenges: u64,
    errors: u64,
    latencies_us: Vec<u32>,
}

fn usage() -> ! {
    eprintln!("usage: digest-load http://user:pass@host:port/prefix/ PATHS_FILE [--conns N] [--secs S] [--threads T] [--basic]");
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let url = it.next().unwrap_or_else(|| usage());
    let paths = it.next().unwrap_or_else(|| usage());
    let (mut conns, mut secs, mut threads, mut basic) = (64, 10, 1, false);
    while let Some(flag) = it.next() {
        let mut num = || -> u64 {
            it.next()
                .and_then(|v| v.parse().ok())
                .unwrap_or_else(|| usage())
        };
        match flag.as_str() {
            "--conns" => conns = num() as usize,
            "--secs" => secs = num(),
            "--threads" => threads = num() as usize,
            "--basic" => basic = true,
            _ => usage(),
        }
    }
    let rest = url.strip_prefix("http://").unwrap_or_else(|| usage());
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (cred, host) = authority
        .rsplit_once('@')
        .unwrap_or(("prov:s3cr3t-prov", authority));
    let (user, pass) = cred.split_once(':').unwrap_or_else(|| usage());
    let names = std::fs::read_to_string(&paths)
        .unwrap_or_else(|e| {
            eprintln!("{paths}: {e}");
            std::process::exit(2)
        })
        .lines()
        .filter_map(|l| l.trim().rsplit('/').next().map(str::to_owned))
        .filter(|n| !n.is_empty())
        .collect::<Vec<_>>();
    if names.is_empty() {
        usage();
    }
    Args {
        addr: host.to_owned(),
        host: host.to_owned(),
        prefix: format!("/{path}"),
        user: user.to_owned(),
        pass: pass.to_owned(),
        names,
        conns: conns.max(1),
        secs,
        threads: threads.max(1),
        basic,
    }
}

fn hex_md5(parts: &[&[u8]]) -> String {
    let mut h = Md5::new();
    for p in parts {
        h.update(p);
    }
    let mut s = String::with_capacity(32);
    for b in h.finalize() {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// One response: status, the MD5 Digest challenge's realm and nonce if any.
struct Response {
    status: u16,
    challenge: Option<(String, String)>,
}

/// Reads one response (Content-Length bodies only, as the servers send).
async fn read_response(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<Response> {
    buf.clear();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let mut chunk = [0u8; 16384];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let mut len = 0usize;
    let mut challenge = None;
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        if k.eq_ignore_ascii_case("content-length") {
            len = v.trim().parse().unwrap_or(0);
        } else if k.eq_ignore_ascii_case("www-authenticate")
            && v.trim_start().starts_with("Digest")
            && v.contains("algorithm=MD5")
        {
            let param = |name: &str| {
                v.split(&format!("{name}=\"")[..])
                    .nth(1)
                    .and_then(|r| r.split('"').next())
                    .map(str::to_owned)
            };
            if let (Some(realm), Some(nonce)) = (param("realm"), param("nonce")) {
                challenge = Some((realm, nonce));
            }
        }
    }
    while buf.len() < head_end + len {
        let mut chunk = [0u8; 16384];
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(Response { status, challenge })
}

async fn connection(args: Arc<Args>, id: usize, deadline: Instant) -> Tally {
    let mut t = Tally::default();
    let basic = format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", args.user, args.pass))
    );
    let cnonce = format!("c{id:08x}");
    'reconnect: while Instant::now() < deadline {
        let Ok(mut s) = TcpStream::connect(&args.addr).await else {
            t.errors += 1;
            tokio::time::sleep(Duration::from_millis(10)).await;
            continue;
        };
        let _ = s.set_nodelay(true);
        let mut buf = Vec::with_capacity(16384);
        // (HA1, realm, nonce, nc) once challenged
        let mut digest: Option<(String, String, String, u32)> = None;
        let mut i = id;
        while Instant::now() < deadline {
            let name = &args.names[i % args.names.len()];
            let uri = format!("{}{name}", args.prefix);
            let auth = if args.basic {
                Some(basic.clone())
            } else {
                digest.as_mut().map(|(ha1, realm, nonce, nc)| {
                    *nc += 1;
                    let nc = format!("{:08x}", *nc);
                    let ha2 = hex_md5(&[b"GET:", uri.as_bytes()]);
                    let resp = hex_md5(&[
                        ha1.as_bytes(),
                        b":",
                        nonce.as_bytes(),
                        b":",
                        nc.as_bytes(),
                        b":",
                        cnonce.as_bytes(),
                        b":auth:",
                        ha2.as_bytes(),
                    ]);
                    format!(
                        "Digest username=\"{}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", \
                         algorithm=MD5, qop=auth, nc={nc}, cnonce=\"{cnonce}\", response=\"{resp}\"",
                        args.user
                    )
                })
            };
            let mut req = format!("GET {uri} HTTP/1.1\r\nHost: {}\r\n", args.host);
            if let Some(a) = auth {
                req.push_str("Authorization: ");
                req.push_str(&a);
                req.push_str("\r\n");
            }
            req.push_str("\r\n");
            let started = Instant::now();
            if s.write_all(req.as_bytes()).await.is_err() {
                t.errors += 1;
                continue 'reconnect;
            }
            let r = match read_response(&mut s, &mut buf).await {
                Ok(r) => r,
                Err(_) => {
                    t.errors += 1;
                    continue 'reconnect;
                }
            };
            match (r.status, r.challenge) {
                (200, _) => {
                    t.ok += 1;
                    t.latencies_us
                        .push(started.elapsed().as_micros().min(u32::MAX as u128) as u32);
                    i += args.conns;
                }
                (401, Some((realm, nonce))) if !args.basic => {
                    // First contact, or a stale nonce: answer it; the same
                    // file is asked for again.
                    t.challenges += 1;
                    let ha1 = hex_md5(&[
                        args.user.as_bytes(),
                        b":",
                        realm.as_bytes(),
                        b":",
                        args.pass.as_bytes(),
                    ]);
                    digest = Some((ha1, realm, nonce, 0));
                }
                _ => {
                    t.errors += 1;
                    i += args.conns;
                }
            }
        }
    }
    t
}

/// CPU seconds this process has used (user + system).
fn cpu_secs() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of stat: 12 and 13 after ')'.
    (ticks(11) + ticks(12)) / 100.0
}

fn main() {
    let args = Arc::new(parse_args());
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.threads)
        .enable_all()
        .build()
        .expect("a tokio runtime");
    let (cpu0, wall0) = (cpu_secs(), Instant::now());
    let deadline = wall0 + Duration::from_secs(args.secs);
    let tallies: Vec<Tally> = rt.block_on(async {
        let tasks: Vec<_> = (0..args.conns)
            .map(|id| tokio::spawn(connection(Arc::clone(&args), id, deadline)))
            .collect();
        let mut out = Vec::new();
        for t in tasks {
            out.push(t.await.expect("a connection task"));
        }
        out
    });
    let wall = wall0.elapsed().as_secs_f64();
    let cpu = cpu_secs() - cpu0;
    let mut all = Tally::default();
    for t in tallies {
        all.ok += t.ok;
        all.challenges += t.challenges;
        all.errors += t.errors;
        all.latencies_us.extend(t.latencies_us);
    }
    all.latencies_us.sort_unstable();
    let pct = |q: f64| {
        let v = &all.latencies_us;
        if v.is_empty() {
            return 0.0;
        }
        f64::from(v[((v.len() - 1) as f64 * q).round() as usize]) / 1000.0
    };
    println!(
        "{} {:.0} req/s  p50 {:.3} ms  p99 {:.3} ms  ok {}  challenges {}  errors {}  generator cpu {:.2} cores over {:.1} s",
        if args.basic { "basic " } else { "digest" },
        all.ok as f64 / wall,
        pct(0.5),
        pct(0.99),
        all.ok,
        all.challenges,
        all.errors,
        cpu / wall,
        wall
    );
}
