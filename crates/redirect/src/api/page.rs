//! Pagination as SRAPS does it: `page`/`page_size`, bare arrays, `Link` headers.

use axum::response::{IntoResponse, Response};
use http::{header, HeaderValue};
use serde::Deserialize;
use serde::Serialize;

use super::*;

#[derive(Deserialize, Default)]
pub(super) struct PageQuery {
    page: Option<String>,
    page_size: Option<String>,
}

/// Bounds `page` so that `(page - 1) * page_size` fits any database's offset
/// (PostgreSQL's is a signed 64-bit integer) with room to spare.
pub(super) const MAX_PAGE: u64 = 1_000_000_000;

pub(super) struct Page {
    pub(super) number: u64,
    pub(super) size: u64,
}

impl Page {
    pub(super) fn parse(query: &str) -> ApiResult<Page> {
        let q: PageQuery = serde_urlencoded_lite(query);
        let number = match q.page.as_deref() {
            None | Some("") => 1,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|n| (1..=MAX_PAGE).contains(n))
                .ok_or_else(|| {
                    SrapsError::bad(format!("page: must be an integer from 1 to {MAX_PAGE}"))
                })?,
        };
        let size = match q.page_size.as_deref() {
            None | Some("") => 20,
            Some(p) => p
                .parse::<u64>()
                .ok()
                .filter(|n| *n >= 1)
                .ok_or_else(|| SrapsError::bad("page_size: must be a positive integer"))?
                .min(1000),
        };
        Ok(Page { number, size })
    }

    pub(super) fn offset(&self) -> u64 {
        (self.number - 1) * self.size
    }

    /// A bare JSON array with RFC 8288 `Link` headers for the neighbours.
    pub(super) fn respond<T: Serialize>(&self, items: Vec<T>, total: u64, url: &str) -> Response {
        let mut links = Vec::new();
        if self.offset() + self.size < total {
            links.push(format!(
                "<{url}?page={}&page_size={}>; rel=\"next\"",
                self.number + 1,
                self.size
            ));
        }
        if self.number > 1 {
            links.push(format!(
                "<{url}?page={}&page_size={}>; rel=\"prev\"",
                self.number - 1,
                self.size
            ));
        }
        let mut r = axum::Json(items).into_response();
        if !links.is_empty() {
            if let Ok(v) = HeaderValue::from_str(&links.join(", ")) {
                r.headers_mut().insert(header::LINK, v);
            }
        }
        if let Ok(v) = HeaderValue::from_str(&total.to_string()) {
            r.headers_mut().insert("x-total-count", v);
        }
        r
    }

    pub(super) fn slice<T: Serialize>(&self, items: Vec<T>, url: &str) -> Response {
        let total = items.len() as u64;
        let page = items
            .into_iter()
            .skip(self.offset() as usize)
            .take(self.size as usize)
            .collect::<Vec<T>>();
        self.respond(page, total, url)
    }
}

/// `a=1&b=2` into the two fields we read; percent-decoding is not needed for
/// numbers, and anything else simply fails to parse as one.
pub(super) fn serde_urlencoded_lite(query: &str) -> PageQuery {
    let mut q = PageQuery::default();
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("page", v)) => q.page = Some(v.to_owned()),
            Some(("page_size", v)) => q.page_size = Some(v.to_owned()),
            _ => {}
        }
    }
    q
}
