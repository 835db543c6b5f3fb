//! The Portcullis edge adapter for workerd, kept thin: convert the request, call the
//! runtime-agnostic app from `portcullis-shared`, convert the response.
//!
//! This crate is the only place that knows the Workers platform: the D1 store (`d1`), mail over
//! Workers TCP sockets (`mail`, `smtp`), the `Env` to configuration step (`config`), and the
//! clock and randomness of the runtime (`Date.now()`, `crypto.getRandomValues`; `SystemTime`
//! panics on wasm32-unknown-unknown). No auth rule lives here.

pub mod config;
pub mod d1;
pub mod mail;
pub mod smtp;
mod socket;

use config::WorkerConfig;
use d1::D1Store;
use mail::SmtpMailer;
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{Clock, Ports, Rng};
use portcullis_shared::app::Answer;
use portcullis_shared::App;
use std::rc::Rc;
use wasm_bindgen::prelude::wasm_bindgen;
use worker::{console_error, event, Context, Env, Headers, Method, Request, Response, Result};

#[wasm_bindgen]
extern "C" {
    // Web Crypto's CSPRNG; wasm-bindgen copies the filled view back into the slice.
    #[wasm_bindgen(js_namespace = crypto, js_name = getRandomValues)]
    fn get_random_values(buf: &mut [u8]);
}

/// `crypto.getRandomValues`, in chunks of its 65,536-byte limit.
pub struct CryptoRng;

impl Rng for CryptoRng {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(65_536) {
            get_random_values(chunk);
        }
    }
}

/// `Date.now()`.
pub struct JsClock;

impl Clock for JsClock {
    fn now(&self) -> Timestamp {
        Timestamp(js_sys::Date::now() as i64)
    }
}

/// The ports as the edge provides them.
pub struct EdgePorts {
    store: D1Store,
    mailer: SmtpMailer,
    clock: JsClock,
    rng: CryptoRng,
}

impl Ports for EdgePorts {
    type Store = D1Store;
    type Mailer = SmtpMailer;
    type Clock = JsClock;
    type Rng = CryptoRng;

    fn store(&self) -> &D1Store {
        &self.store
    }
    fn mailer(&self) -> &SmtpMailer {
        &self.mailer
    }
    fn clock(&self) -> &JsClock {
        &self.clock
    }
    fn rng(&self) -> &CryptoRng {
        &self.rng
    }
    fn log_error(&self, error_id: &str, detail: &str) {
        console_error!("portcullis error {error_id}: {detail}");
    }
}

fn json_error(status: u16, message: &str) -> Result<Response> {
    let body = serde_json::json!({"code": status, "error_code": "unexpected_failure", "msg": message});
    Ok(Response::from_json(&body)?.with_status(status))
}

thread_local! {
    /// The isolate's app, built by the first request that needs it. workerd runs an isolate's
    /// requests on one thread, interleaved at their awaits; the app holds nothing of any one
    /// request (that travels in each request's scope), so they all share it.
    static APP: std::cell::RefCell<Option<Rc<App<EdgePorts>>>> = const { std::cell::RefCell::new(None) };
}

/// The isolate's app over the edge's ports, as configured by `env`, built on first use; `None`
/// (logged with what to fix) while the deployment is misconfigured, which is tried again on the
/// next request. Settings change with a deploy, which starts new isolates.
pub(crate) fn edge_app(env: &Env) -> Option<Rc<App<EdgePorts>>> {
    if let Some(app) = APP.with(|a| a.borrow().clone()) {
        return Some(app);
    }
    let cfg = config::load(env).map_err(|e| console_error!("portcullis is misconfigured: {e}")).ok()?;
    let db = env.d1("DB").map_err(|e| console_error!("portcullis is misconfigured: no D1 binding DB: {e}")).ok()?;
    let ports = EdgePorts {
        store: D1Store::new(db),
        mailer: SmtpMailer::new(cfg.smtp.clone()),
        clock: JsClock,
        rng: CryptoRng,
    };
    let WorkerConfig { domain, .. } = cfg;
    let app = Rc::new(App::new(ports, domain).map_err(|e| console_error!("portcullis could not start: {e}")).ok()?);
    APP.with(|a| *a.borrow_mut() = Some(Rc::clone(&app)));
    Some(app)
}

/// The answer while [`edge_app`] fails.
pub(crate) fn misconfigured() -> Result<Response> {
    json_error(500, "Service is misconfigured; the worker log says what to fix")
}

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    // Only in the e2e suite's build (feature `contract`): the deployed bundle has no such route
    // and none of the suite's code.
    #[cfg(feature = "contract")]
    if req.path() == "/__contract" && req.method() == Method::Post {
        return contract(&D1Store::new(env.d1("DB")?)).await;
    }
    let Some(app) = edge_app(&env) else {
        return misconfigured();
    };
    // Socket.IO requests go to their connection's object, when the app serves them.
    if app.routes_to_socket(&req.path()) {
        return socket::route(req, &env).await;
    }
    let request = to_http(req).await?;
    let Answer { response, outbox } = app.handle(request).await;
    // Mail goes out after the answer, which therefore takes as long for a known address as
    // for an unknown one; workerd keeps the isolate alive for it.
    ctx.wait_until(async move { app.deliver(outbox).await });
    from_http(response)
}

/// Most body bytes read from a client, declared or chunked: past the app's limit the rest is
/// read (and dropped) up to here, so a client that is still sending sees the 413 instead of a
/// reset connection, then reading stops.
const READ_LIMIT: usize = 1 << 20;

/// Converts the workerd request. The body is read chunk by chunk, keeping at most one byte
/// over the app's limit (enough for it to answer 413), and never more than [`READ_LIMIT`]
/// bytes in all. A header the `http` crate cannot hold (a name with byte 0xff, say) is dropped
/// and the request marked, so the app answers 400 in the dialect's shape.
async fn to_http(mut req: Request) -> Result<http::Request<Vec<u8>>> {
    let mut builder = http::Request::builder()
        .method(req.method().as_ref())
        .uri(req.url()?.as_str());
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
    let body = match req.method() {
        Method::Get | Method::Head | Method::Options => Vec::new(),
        _ if declared > READ_LIMIT as u64 => Vec::new(),
        _ => read_bounded(&mut req, portcullis_shared::app::MAX_BODY_BYTES + 1, READ_LIMIT).await?,
    };
    builder.body(body).map_err(|e| worker::Error::RustError(e.to_string()))
}

/// The request marker for a header that could not be converted (see [`to_http`]).
const MALFORMED_HEADER: &str = portcullis_shared::app::MALFORMED_HEADER_MARK;

/// At most `keep` bytes of the body, reading no more than `stop_after` (so a caller that
/// keeps one byte over its limit can tell an oversized body).
pub(crate) async fn read_bounded(req: &mut Request, keep: usize, stop_after: usize) -> Result<Vec<u8>> {
    use futures_core::Stream;
    let mut stream = match req.stream() {
        Ok(s) => s,
        // No body at all.
        Err(_) => return Ok(Vec::new()),
    };
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

fn from_http(res: http::Response<Vec<u8>>) -> Result<Response> {
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

/// Runs the shared storage contract against the real D1 and reports each check.
#[cfg(feature = "contract")]
async fn contract(store: &D1Store) -> Result<Response> {
    let rng = CryptoRng;
    let nonce = portcullis_shared::token::random_hex(&rng, 8);
    let results = portcullis_shared::testing::run_store_contract(store, &nonce, JsClock.now()).await;
    let body: Vec<serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| serde_json::json!({"name": name, "ok": r.is_ok(), "error": r.err()}))
        .collect();
    Response::from_json(&body)
}
