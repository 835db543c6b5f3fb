//! Outbound HTTP through the runtime's `fetch`, as the domain's `Http` port: a CAPTCHA
//! provider's verify endpoint, identity providers' documents, keys, token and user endpoints.
//! Each request gives up after its timeout (the fetch is aborted), and a reply body is read as
//! it arrives, up to 64 KiB: a longer one is refused, its rest never fetched.

use crate::convert::read_stream;
use portcullis_shared::ports::{Http, HttpError, HttpReply};
use std::future::Future;
use std::pin::pin;
use std::task::Poll;
use std::time::Duration;
use wasm_bindgen::JsValue;
use worker::{AbortController, Delay, Fetch, Headers, Method, Request, RequestInit};

/// Longest reply body taken, in bytes.
const MAX_REPLY_BYTES: usize = 64 * 1024;

/// `fetch`, with a timeout.
pub struct FetchHttp;

impl Http for FetchHttp {
    async fn post_form(&self, url: &str, form: &[(&str, &str)], timeout_ms: u32) -> Result<HttpReply, HttpError> {
        let body = JsValue::from_str(&encode_form(form));
        send(url, Method::Post, Some(body), None, timeout_ms).await
    }

    async fn get(&self, url: &str, bearer: Option<&str>, timeout_ms: u32) -> Result<HttpReply, HttpError> {
        send(url, Method::Get, None, bearer, timeout_ms).await
    }
}

/// One request: a form body if given, a bearer token if given; JSON asked for, redirects not
/// followed (an identity provider's endpoints answer where they are).
async fn send(url: &str, method: Method, form: Option<JsValue>, bearer: Option<&str>, timeout_ms: u32) -> Result<HttpReply, HttpError> {
    let failed = |e: worker::Error| HttpError(e.to_string());
    let headers = Headers::new();
    headers.set("accept", "application/json").map_err(failed)?;
    headers.set("user-agent", "Portcullis").map_err(failed)?;
    if form.is_some() {
        headers.set("content-type", "application/x-www-form-urlencoded").map_err(failed)?;
    }
    if let Some(token) = bearer {
        headers.set("authorization", &format!("Bearer {token}")).map_err(failed)?;
    }
    let mut init = RequestInit::new();
    init.with_method(method).with_headers(headers).with_body(form).with_redirect(worker::RequestRedirect::Manual);
    let request = Request::new_with_init(url, &init).map_err(failed)?;
    let controller = AbortController::default();
    let signal = controller.signal();
    let answered = async {
        let mut response = Fetch::Request(request).send_with_signal(&signal).await?;
        let status = response.status_code();
        // Read as it arrives, never more than one byte over the limit: a provider that answers
        // without end costs the isolate 64 KiB, not its memory. A reply over the limit is
        // refused whole: a cut one could still parse (a form-encoded token reply would give
        // a token cut short).
        let body = match response.stream() {
            Ok(stream) => read_stream(stream, MAX_REPLY_BYTES + 1, MAX_REPLY_BYTES + 1).await?,
            Err(_) => Vec::new(),
        };
        if body.len() > MAX_REPLY_BYTES {
            return Err(worker::Error::RustError(format!("reply over {MAX_REPLY_BYTES} bytes")));
        }
        Ok::<_, worker::Error>(HttpReply { status, body: text_of(body) })
    };
    let reply = first_of(answered, Delay::from(Duration::from_millis(u64::from(timeout_ms)))).await;
    // Whatever the reply did not send yet is not wanted: the fetch stops here.
    controller.abort();
    match reply {
        Some(reply) => reply.map_err(failed),
        None => Err(HttpError(format!("no answer within {timeout_ms} ms"))),
    }
}

/// A reply body as text, as `Response::text` reads it: a leading byte-order mark dropped, bytes
/// that are not UTF-8 read as U+FFFD.
fn text_of(bytes: Vec<u8>) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(&bytes);
    String::from_utf8_lossy(bytes).into_owned()
}

/// `work`'s output, or `None` if `deadline` comes first.
async fn first_of<T>(work: impl Future<Output = T>, deadline: impl Future<Output = ()>) -> Option<T> {
    let (mut work, mut deadline) = (pin!(work), pin!(deadline));
    std::future::poll_fn(|cx| {
        if let Poll::Ready(out) = work.as_mut().poll(cx) {
            return Poll::Ready(Some(out));
        }
        match deadline.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(None),
            Poll::Pending => Poll::Pending,
        }
    })
    .await
}

/// `application/x-www-form-urlencoded`: every byte but the unreserved ones percent-encoded.
fn encode_form(form: &[(&str, &str)]) -> String {
    let encode = |s: &str| -> String {
        s.bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
                _ => format!("%{b:02X}"),
            })
            .collect()
    };
    form.iter().map(|(k, v)| format!("{}={}", encode(k), encode(v))).collect::<Vec<_>>().join("&")
}

#[cfg(test)]
mod tests {
    use super::{encode_form, text_of};

    #[test]
    fn a_reply_reads_as_response_text_reads_it() {
        // Some hosts start their JSON with a byte-order mark, which serde_json would refuse.
        assert_eq!(text_of(b"\xEF\xBB\xBF{\"keys\":[]}".to_vec()), "{\"keys\":[]}");
        assert_eq!(text_of(b"a\xffb".to_vec()), "a\u{fffd}b");
        assert_eq!(text_of("ü\u{feff}".as_bytes().to_vec()), "ü\u{feff}");
    }

    #[test]
    fn form_values_are_percent_encoded() {
        assert_eq!(encode_form(&[("secret", "a b&c=d"), ("response", "ü")]), "secret=a%20b%26c%3Dd&response=%C3%BC");
    }
}
