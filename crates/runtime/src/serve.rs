//! The accept loop every listener uses: plain or TLS, HTTP/1.1, graceful shutdown.
//!
//! axum's own `serve` has no TLS, so connections are driven by hyper directly.
//! On shutdown the loop stops accepting, lets in-flight requests finish (up to
//! [`DRAIN`]), then returns; idle keep-alive connections are closed at once.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use http::{Request, Response};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt as _;

use crate::limits::{Limits, Refused, Shed};

/// The peer of a connection, put in every request's extensions.
#[derive(Clone, Copy, Debug)]
pub struct ClientAddr(pub SocketAddr);

/// The DER certificate a TLS client presented (only with a client CA configured).
#[derive(Clone, Debug)]
pub struct ClientCert(pub Arc<Vec<u8>>);

/// What a handler knows about the connection a request came on.
#[derive(Clone, Debug)]
pub struct Conn {
    pub peer: SocketAddr,
    pub client_cert: Option<ClientCert>,
}

/// How long shutdown waits for in-flight requests.
pub const DRAIN: Duration = Duration::from_secs(20);
/// Request heads (request line and headers) larger than this get `431`.
const MAX_HEAD: usize = 16 * 1024;

/// Serves `handler` on `listener`. The handler gets each request with the
/// peer's address; the provisioning server plugs in a plain function (no router
/// on its hot path), the admin API its axum [`Router`] via [`router_handler`].
///
/// `limits` are checked before anything else: a connection over the per-source
/// or total count is answered (`429`/`503` on plain HTTP, closed under TLS)
/// and closed; a request over the per-source or total rate gets `429`/`503`
/// with `Retry-After` without reaching `handler`.
pub async fn run<H, Fut, B>(
    name: &'static str,
    listener: TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: Arc<Limits>,
    handler: H,
    mut shutdown: watch::Receiver<bool>,
) where
    H: Fn(Request<Incoming>, &Conn) -> Fut + Clone + Send + Sync + 'static,
    Fut: std::future::Future<Output = Response<B>> + Send + 'static,
    B: hyper::body::Body<Data = bytes::Bytes> + From<String> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let graceful = GracefulShutdown::new();
    let acceptor = tls.map(TlsAcceptor::from);
    // Accepted sockets inherit TCP_NODELAY from the listener (Linux and the
    // BSDs): set once here, it saves a system call on every connection.
    // Without it a response's last segment waits for the client's ACK.
    nodelay(&listener);
    // One wait for shutdown for the whole loop: made anew for every accept,
    // it was put on and taken off the channel's waiter list each time.
    let stopped = shutdown.changed();
    tokio::pin!(stopped);
    loop {
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => c,
                Err(e) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(listener = name, error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stopped => break,
        };
        if let Err(refused) = limits.conns.admit(peer.ip()) {
            turn_away(name, stream, peer, refused, acceptor.is_some());
            continue;
        }
        let guard = ConnGuard {
            limits: Arc::clone(&limits),
            peer,
        };
        let handler = handler.clone();
        let limits = Arc::clone(&limits);
        let service = move |conn: Arc<Conn>, fd: Option<std::os::fd::RawFd>| {
            let limits = Arc::clone(&limits);
            hyper::service::service_fn(move |req: Request<Incoming>| {
                // A connection's last answer is corked, so its FIN rides on
                // the answer's last segment (as nginx's tcp_nopush does): one
                // packet less for the client, and wrk then made 4% more
                // connections a second (CLOSE=1, 10 alternating rounds).
                if let Some(fd) = fd {
                    if last_request(&req) {
                        cork(fd);
                    }
                }
                let shed = limits.request(conn.peer.ip()).err();
                let fut = shed.is_none().then(|| handler(req, &conn));
                async move {
                    Ok::<_, std::convert::Infallible>(match (fut, shed) {
                        (Some(fut), _) => fut.await,
                        (None, shed) => shed_response(shed),
                    })
                }
            })
        };
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(Duration::from_secs(15))
            .max_buf_size(MAX_HEAD)
            .keep_alive(true);
        match &acceptor {
            None => {
                use std::os::fd::AsRawFd as _;
                let fd = stream.as_raw_fd();
                let svc = service(
                    Arc::new(Conn {
                        peer,
                        client_cert: None,
                    }),
                    Some(fd),
                );
                let conn = builder.serve_connection(TokioIo::new(stream), svc);
                let conn = graceful.watch(conn);
                // Boxed, the task holds a pointer: a connection's state is a
                // few kilobytes, and the task copied all of it on spawn and
                // again on every change of its stage (6% of a short
                // connection's instructions went to those copies).
                tokio::spawn(Box::pin(async move {
                    let _guard = guard;
                    if let Err(e) = conn.await {
                        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                    }
                }));
            }
            Some(acceptor) => {
                let acceptor = acceptor.clone();
                let watcher = graceful.watcher();
                tokio::spawn(async move {
                    let _guard = guard;
                    let tls = match tokio::time::timeout(
                        Duration::from_secs(10),
                        acceptor.accept(stream),
                    )
                    .await
                    {
                        Ok(Ok(s)) => s,
                        Ok(Err(e)) => {
                            tracing::debug!(peer = %peer, error = %e, "TLS handshake failed");
                            return;
                        }
                        Err(_) => return,
                    };
                    let client_cert = tls
                        .get_ref()
                        .1
                        .peer_certificates()
                        .and_then(|c| c.first())
                        .map(|c| ClientCert(Arc::new(c.as_ref().to_vec())));
                    let svc = service(Arc::new(Conn { peer, client_cert }), None);
                    let conn = builder.serve_connection(TokioIo::new(tls), svc);
                    if let Err(e) = watcher.watch(conn).await {
                        tracing::debug!(peer = %peer, error = %e, "connection ended with an error");
                    }
                });
            }
        }
    }
    drop(listener);
    if tokio::time::timeout(DRAIN, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            listener = name,
            "requests still running after the drain period; closing"
        );
    }
}

/// Whether hyper closes the connection after answering `req`: HTTP/1.1 with
/// `Connection: close`, or HTTP/1.0 without `keep-alive`.
fn last_request<B>(req: &Request<B>) -> bool {
    let token = |t: &str| {
        req.headers()
            .get_all(hyper::header::CONNECTION)
            .iter()
            .any(|v| {
                v.as_bytes()
                    .split(|&b| b == b',')
                    .any(|p| p.trim_ascii().eq_ignore_ascii_case(t.as_bytes()))
            })
    };
    match req.version() {
        hyper::Version::HTTP_11 => token("close"),
        hyper::Version::HTTP_10 => !token("keep-alive"),
        _ => false,
    }
}

/// Sets TCP_CORK so the response is queued, not sent, until the connection
/// is shut down: the shutdown's FIN then rides on the response's last segment.
/// A failure only costs the merged segment, so it is not reported.
fn cork(fd: std::os::fd::RawFd) {
    let _ = tcp_option_on(fd, libc::TCP_CORK);
}

/// Sets TCP_NODELAY on a listener, for the sockets it accepts.
fn nodelay(listener: &TcpListener) {
    use std::os::fd::AsRawFd as _;
    if let Err(e) = tcp_option_on(listener.as_raw_fd(), libc::TCP_NODELAY) {
        tracing::warn!(error = %e, "TCP_NODELAY on the listener failed");
    }
}

/// Turns a boolean TCP option on for the socket `fd`.
fn tcp_option_on(fd: std::os::fd::RawFd, option: libc::c_int) -> std::io::Result<()> {
    let on: libc::c_int = 1;
    // SAFETY: `fd` is a socket its caller holds open for the call; the
    // pointer is to an int of the size given, which the call only reads.
    let rc = unsafe {
        libc::setsockopt(
            fd,
            libc::IPPROTO_TCP,
            option,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Gives a connection's place back when it ends, however it ends.
struct ConnGuard {
    limits: Arc<Limits>,
    peer: SocketAddr,
}

impl Drop for ConnGuard {
    fn drop(&mut self) {
        self.limits.conns.release(self.peer.ip());
    }
}

fn shed_response<B: From<String>>(shed: Option<Shed>) -> Response<B> {
    let (status, wait, why) = match shed {
        Some(Shed::Total(w)) => (
            http::StatusCode::SERVICE_UNAVAILABLE,
            w,
            "the server is at its request limit",
        ),
        Some(Shed::Source(w)) => (
            http::StatusCode::TOO_MANY_REQUESTS,
            w,
            "too many requests from this address",
        ),
        None => (
            http::StatusCode::TOO_MANY_REQUESTS,
            Duration::from_secs(1),
            "too many requests from this address",
        ),
    };
    let secs = wait.as_secs().max(1);
    let mut r = Response::new(B::from(format!("{why}; retry in {secs} s\n")));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from(secs));
    r.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// A connection over a limit: a plain-HTTP client gets a short answer that
/// says so; a TLS one is closed (answering would cost a handshake).
fn turn_away(
    name: &'static str,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    refused: Refused,
    tls: bool,
) {
    tracing::debug!(listener = name, %peer, ?refused, "connection turned away");
    if tls {
        return;
    }
    let (status, why) = match refused {
        Refused::Source => (
            "429 Too Many Requests",
            "too many connections from this address",
        ),
        Refused::Total => (
            "503 Service Unavailable",
            "the server is at its connection limit",
        ),
    };
    let text = format!(
        "HTTP/1.1 {status}\r\nRetry-After: 1\r\nContent-Type: text/plain; charset=utf-8\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{why}\n",
        why.len() + 1
    );
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt as _;
        let mut stream = stream;
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = stream.write_all(text.as_bytes()).await;
            let _ = stream.shutdown().await;
        })
        .await;
    });
}

/// Adapts an axum router to [`run`], with the peer (and client certificate) in
/// the request extensions.
pub fn router_handler(
    router: Router,
) -> impl Fn(Request<Incoming>, &Conn) -> BoxFuture<Response<axum::body::Body>>
       + Clone
       + Send
       + Sync
       + 'static {
    move |req, conn| {
        let mut req = req.map(axum::body::Body::new);
        req.extensions_mut().insert(ClientAddr(conn.peer));
        if let Some(c) = &conn.client_cert {
            req.extensions_mut().insert(c.clone());
        }
        let router = router.clone();
        Box::pin(async move {
            match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            }
        })
    }
}

type BoxFuture<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// Loads a PEM certificate chain and private key into a rustls server config.
/// With `client_ca`, clients may present a certificate, which must chain to one
/// of those CAs (a certificate from elsewhere fails the handshake); whether one
/// is required is the handler's decision, since API clients on the same
/// listener have none.
pub fn load_tls(
    cert: &str,
    key: &str,
    client_ca: Option<&str>,
) -> anyhow::Result<(Arc<rustls::ServerConfig>, Arc<crate::certs::ReloadingCert>)> {
    use anyhow::Context as _;
    use rustls_pki_types::pem::PemObject as _;
    use rustls_pki_types::CertificateDer;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let resolver = Arc::new(crate::certs::ReloadingCert::load(
        cert,
        key,
        Arc::clone(&provider),
    )?);
    let builder = rustls::ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .context("TLS protocol versions")?;
    let builder = match client_ca {
        None => builder.with_no_client_auth(),
        Some(ca) => {
            let mut roots = rustls::RootCertStore::empty();
            for c in CertificateDer::pem_file_iter(ca)
                .with_context(|| format!("cannot read client CA bundle {ca}"))?
            {
                roots
                    .add(c.with_context(|| format!("cannot parse client CA bundle {ca}"))?)
                    .with_context(|| format!("bad CA certificate in {ca}"))?;
            }
            let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
                Arc::new(roots),
                provider,
            )
            .allow_unauthenticated()
            .build()
            .context("building the client certificate verifier")?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let mut cfg = builder.with_cert_resolver(Arc::clone(&resolver) as _);
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok((Arc::new(cfg), resolver))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What the accept loop relies on instead of a call per connection.
    #[tokio::test]
    async fn accepted_sockets_inherit_nodelay_from_the_listener() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        nodelay(&listener);
        let addr = listener.local_addr().unwrap();
        let _client = tokio::net::TcpStream::connect(addr).await.unwrap();
        let (accepted, _) = listener.accept().await.unwrap();
        assert!(accepted.nodelay().unwrap());
    }

    #[test]
    fn the_last_request_is_told_by_version_and_connection_header() {
        let req = |v, conn: Option<&str>| {
            let mut b = Request::builder().version(v);
            if let Some(c) = conn {
                b = b.header("connection", c);
            }
            b.body(()).unwrap()
        };
        use hyper::Version as V;
        assert!(!last_request(&req(V::HTTP_11, None)));
        assert!(last_request(&req(V::HTTP_11, Some("close"))));
        assert!(last_request(&req(V::HTTP_11, Some("TE, Close"))));
        assert!(!last_request(&req(V::HTTP_11, Some("keep-alive"))));
        assert!(!last_request(&req(V::HTTP_11, Some("closed"))));
        assert!(last_request(&req(V::HTTP_10, None)));
        assert!(!last_request(&req(V::HTTP_10, Some("Keep-Alive"))));
    }

    /// Corked, a response waits in the socket; the shutdown sends it with the
    /// FIN, and the peer reads all of it, then the end.
    #[tokio::test]
    async fn a_corked_response_is_flushed_by_the_shutdown() {
        use std::os::fd::AsRawFd as _;
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut client = tokio::net::TcpStream::connect(listener.local_addr().unwrap())
            .await
            .unwrap();
        let (mut accepted, _) = listener.accept().await.unwrap();
        cork(accepted.as_raw_fd());
        let mut on: libc::c_int = 0;
        let mut len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
        // SAFETY: a live socket; pointers to an int and its length.
        let rc = unsafe {
            libc::getsockopt(
                accepted.as_raw_fd(),
                libc::IPPROTO_TCP,
                libc::TCP_CORK,
                (&mut on as *mut libc::c_int).cast(),
                &mut len,
            )
        };
        assert_eq!((rc, on), (0, 1), "TCP_CORK is set");
        accepted.write_all(b"the whole answer").await.unwrap();
        accepted.shutdown().await.unwrap();
        let mut got = Vec::new();
        client.read_to_end(&mut got).await.unwrap();
        assert_eq!(got, b"the whole answer");
    }

    /// Raw HTTP/1.0 and `Connection: close` requests through the accept loop:
    /// each is answered in full and the connection then ends.
    #[tokio::test]
    async fn closing_requests_are_answered_in_full_then_closed() {
        use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = watch::channel(false);
        let limits = Arc::new(Limits::new(&crate::config::LimitsConfig::default()));
        let body = "x".repeat(3000);
        let handler = {
            let body = body.clone();
            move |_req: Request<Incoming>, _conn: &Conn| {
                let body = body.clone();
                async move { Response::new(axum::body::Body::from(body)) }
            }
        };
        let server = tokio::spawn(run("test", listener, None, limits, handler, stopped));
        for head in [
            "GET /a HTTP/1.0\r\n\r\n",
            "GET /a HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
        ] {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            c.write_all(head.as_bytes()).await.unwrap();
            let mut got = String::new();
            c.read_to_string(&mut got).await.unwrap();
            assert!(got.starts_with("HTTP/1."), "{head:?}: {got}");
            assert!(got.ends_with(&body), "{head:?}: body cut short");
        }
        stop.send(true).unwrap();
        server.await.unwrap();
    }
}
