//! What the provisioning listener runs for each request: a fetch (`GET`,
//! `HEAD`) to the handler, at once; an upload (`PUT`) and a firmware image
//! (`/firmware/`) to their boxed futures. The one place that knows all three,
//! so none of them imports another.

use std::sync::Arc;

use http::{Method, Request, Response};

use crate::handler::{handle, Body, ProvState};

/// The handler for [`touchless_runtime::serve::run`]: no router, no boxing,
/// no await for what phones fetch; only an upload (`PUT`, rare: it reads a
/// body) and a firmware image (it opens a file) are boxed futures.
pub fn handler(
    state: Arc<ProvState>,
) -> impl Fn(Request<hyper::body::Incoming>, &touchless_runtime::serve::Conn) -> Reply
       + Clone
       + Send
       + Sync
       + 'static {
    move |req, conn| {
        if req.uri().path().starts_with("/firmware/") {
            Reply::Later(Box::pin(crate::images::serve(
                Arc::clone(&state),
                req,
                conn.peer,
            )))
        } else if req.method() == Method::PUT {
            Reply::Later(Box::pin(crate::upload::upload(
                Arc::clone(&state),
                req,
                conn.peer,
            )))
        } else {
            Reply::Now(Some(handle(&state, &req, conn.peer)))
        }
    }
}

/// The handler's answer: ready at once, or later (an upload, an image).
pub enum Reply {
    Now(Option<Response<Body>>),
    Later(std::pin::Pin<Box<dyn std::future::Future<Output = Response<Body>> + Send>>),
}

impl std::future::Future for Reply {
    type Output = Response<Body>;
    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Response<Body>> {
        match self.get_mut() {
            Reply::Now(r) => std::task::Poll::Ready(r.take().expect("a Reply is polled once")),
            Reply::Later(f) => f.as_mut().poll(cx),
        }
    }
}
