//! Converting between workerd's requests and responses and the `http` types the app speaks,
//! reading bodies chunk by chunk within the app's limit.

use crate::config::BodyReading;
use worker::{Headers, Method, Request, Response, Result};

/// Most body bytes read from a client, declared or chunked (unless bodies are read
/// [whole](BodyReading::Whole)): past the app's limit the rest is read (and dropped) up to
/// here, so a client that is still sending sees the 413 instead of a reset connection, then
/// reading stops.
pub const READ_LIMIT: usize = 1 << 20;

impl BodyReading {
    /// The most bytes to read of a body of which at most `limit` count: `limit`, or all of it.
    pub fn stop_after(self, limit: usize) -> usize {
        match self {
            BodyReading::Bounded => limit,
            BodyReading::Whole => usize::MAX,
        }
    }
}

/// Converts the workerd request. The body is read chunk by chunk, keeping at most one byte
/// over the app's limit (enough for it to answer 413), and never more than [`READ_LIMIT`]
/// bytes in all, or, with [`BodyReading::Whole`], to its end. A header the `http` crate cannot
/// hold (a name with byte 0xff, say) is dropped and the request marked, so the app answers
/// 400 in the dialect's shape.
pub async fn to_http(mut req: Request, reading: BodyReading) -> Result<http::Request<Vec<u8>>> {
    let mut builder = http::Request::builder()
        .method(req.method().as_ref())
        // The runtime's URL as it is (already WHATWG-serialized): parsing it with the `url`
        // crate first brought IDNA's tables into the worker for nothing.
        .uri(req.inner().url());
    let mut malformed = false;
    for (name, value) in req.headers().entries() {
        // Only this adapter sets the marker.
        if name.eq_ignore_ascii_case(MALFORMED_HEADER) {
            continue;
        }
        match (http::HeaderName::from_bytes(name.as_bytes()), http::HeaderValue::from_str(&value)) {
            (Ok(name), Ok(value)) => builder = builder.header(name, value),
            _ => malformed = true,
        }
    }
    if malformed {
        builder = builder.header(MALFORMED_HEADER, "1");
    }
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let stop_after = reading.stop_after(READ_LIMIT);
    let body = match req.method() {
        Method::Get | Method::Head | Method::Options => Vec::new(),
        _ if declared > stop_after as u64 => Vec::new(),
        _ => read_bounded(&mut req, portcullis_shared::app::MAX_BODY_BYTES + 1, stop_after).await?,
    };
    builder.body(body).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// The request marker for a header that could not be converted (see [`to_http`]).
const MALFORMED_HEADER: &str = portcullis_shared::app::MALFORMED_HEADER_MARK;

/// At most `keep` bytes of the body, reading no more than `stop_after` (so a caller that
/// keeps one byte over its limit can tell an oversized body); `usize::MAX` reads to the end.
pub async fn read_bounded(req: &mut Request, keep: usize, stop_after: usize) -> Result<Vec<u8>> {
    match req.stream() {
        Ok(stream) => read_stream(stream, keep, stop_after).await,
        // No body at all.
        Err(_) => Ok(Vec::new()),
    }
}

/// [`read_bounded`] for any body's stream (a request's, or a reply's to an outbound fetch).
pub async fn read_stream(mut stream: worker::ByteStream, keep: usize, stop_after: usize) -> Result<Vec<u8>> {
    use futures_core::Stream;
    let mut body = Vec::new();
    let mut seen = 0usize;
    while let Some(chunk) = std::future::poll_fn(|cx| std::pin::Pin::new(&mut stream).poll_next(cx)).await {
        let chunk = chunk?;
        seen += chunk.len();
        let room = keep.saturating_sub(body.len());
        body.extend_from_slice(&chunk[..chunk.len().min(room)]);
        if seen > stop_after {
            break;
        }
    }
    Ok(body)
}

/// Converts the app's response for workerd (header values that are not text are dropped).
pub fn from_http(res: http::Response<Vec<u8>>) -> Result<Response> {
    let headers = Headers::new();
    for (name, value) in res.headers() {
        if let Ok(v) = value.to_str() {
            headers.append(name.as_str(), v)?;
        }
    }
    let status = res.status().as_u16();
    Ok(Response::from_bytes(res.into_body())?
        .with_status(status)
        .with_headers(headers))
}
