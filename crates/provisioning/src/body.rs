//! The provisioning listener's response body: a buffer (every configuration
//! file, every error) or a file read as it is sent (a firmware image), so
//! that many phones fetching a large image at once hold a chunk each, not
//! the image.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{Bytes, BytesMut};
use http_body_util::Full;
use hyper::body::{Frame, SizeHint};

/// What a read of a file hands the connection at a time.
const CHUNK: usize = 64 * 1024;

pub enum Body {
    Full(Full<Bytes>),
    /// Boxed: every configuration file's response stays as small as a
    /// buffer's.
    File(Box<FileBody>),
}

/// `len` bytes of an open file from `offset`, read as the connection takes
/// them. Each read is a positioned read on the worker thread: an image
/// phones fetch is in the page cache, where 64 KiB take microseconds, and
/// a read needs no thread of its own, no buffer but the chunk it hands over,
/// and no seek.
pub struct FileBody {
    file: std::fs::File,
    offset: u64,
    remaining: u64,
}

impl FileBody {
    pub fn new(file: std::fs::File, offset: u64, len: u64) -> Self {
        FileBody {
            file,
            offset,
            remaining: len,
        }
    }
}

impl hyper::body::Body for Body {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        match self.get_mut() {
            Body::Full(f) => Pin::new(f)
                .poll_frame(cx)
                .map(|o| o.map(|r| r.map_err(|never| match never {}))),
            Body::File(f) => f.poll_chunk(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Body::Full(f) => f.is_end_stream(),
            Body::File(f) => f.remaining == 0,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Body::Full(f) => f.size_hint(),
            Body::File(f) => SizeHint::with_exact(f.remaining),
        }
    }
}

impl FileBody {
    fn poll_chunk(
        &mut self,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, io::Error>>> {
        use std::os::unix::fs::FileExt as _;
        if self.remaining == 0 {
            return Poll::Ready(None);
        }
        let want = usize::try_from(self.remaining).map_or(CHUNK, |r| r.min(CHUNK));
        let mut buf = BytesMut::zeroed(want);
        match self.file.read_at(&mut buf, self.offset) {
            Err(e) => Poll::Ready(Some(Err(e))),
            // The file shrank under us: end the response short rather than
            // send a wrong length.
            Ok(0) => Poll::Ready(Some(Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "firmware image shorter than when it was opened",
            )))),
            Ok(n) => {
                self.offset += n as u64;
                self.remaining -= n as u64;
                buf.truncate(n);
                Poll::Ready(Some(Ok(Frame::data(buf.freeze()))))
            }
        }
    }
}

impl From<Bytes> for Body {
    fn from(b: Bytes) -> Self {
        Body::Full(Full::new(b))
    }
}

impl From<String> for Body {
    fn from(s: String) -> Self {
        Body::Full(Full::new(Bytes::from(s)))
    }
}

impl From<&'static str> for Body {
    fn from(s: &'static str) -> Self {
        Body::Full(Full::new(Bytes::from_static(s.as_bytes())))
    }
}
