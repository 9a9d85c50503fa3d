//! The hot path's ceiling for `bench/ceiling.sh`: hyper on tokio, as
//! touchless is, serving every file of a folder from a `HashMap` behind one
//! Basic pair, compared byte for byte, and nothing else: no access log, no
//! contact log, no metrics, no limits, no per-device credentials. What
//! touchless reaches beside nginx, against what this reaches in the same
//! harness, is what everything touchless does on a request costs.
//!
//! ```text
//! ceiling DIR PORT        # serves DIR's files at /prov/<name> for prov:s3cr3t-prov
//! ```

use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper_util::rt::TokioIo;

/// `prov:s3cr3t-prov`, the shared benchmark's pair.
const EXPECTED: &[u8] = b"Basic cHJvdjpzM2NyM3QtcHJvdg==";

fn files(dir: &str) -> std::io::Result<HashMap<String, Bytes>> {
    let mut map = HashMap::new();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = format!("/prov/{}", e.file_name().to_string_lossy());
        map.insert(name, Bytes::from(std::fs::read(e.path())?));
    }
    Ok(map)
}

fn answer(files: &HashMap<String, Bytes>, req: &Request<Incoming>) -> Response<Full<Bytes>> {
    let authorized = req
        .headers()
        .get(http::header::AUTHORIZATION)
        .is_some_and(|h| h.as_bytes() == EXPECTED);
    match files.get(req.uri().path()) {
        Some(body) if authorized => Response::new(Full::new(body.clone())),
        _ => {
            let mut r = Response::new(Full::new(Bytes::new()));
            *r.status_mut() = StatusCode::UNAUTHORIZED;
            r
        }
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(port)) = (args.next(), args.next()) else {
        eprintln!("usage: ceiling DIR PORT");
        std::process::exit(2);
    };
    let port: u16 = port.parse().map_err(std::io::Error::other)?;
    let files = Arc::new(files(&dir)?);
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    loop {
        let (stream, _) = listener.accept().await?;
        // As touchless: without it a response's last segment waits for an ACK.
        stream.set_nodelay(true)?;
        let files = Arc::clone(&files);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |req: Request<Incoming>| {
                let r = answer(&files, &req);
                async move { Ok::<_, Infallible>(r) }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}
