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

use config::WorkerConfig;
use d1::D1Store;
use mail::SmtpMailer;
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{Clock, Ports, Rng};
use portcullis_shared::App;
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

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    let cfg = match config::load(&env) {
        Ok(c) => c,
        Err(e) => {
            console_error!("portcullis is misconfigured: {e}");
            return json_error(500, "Service is misconfigured; the worker log says what to fix");
        }
    };
    let store = D1Store::new(env.d1("DB")?);
    // Only in the e2e suite's build (feature `contract`): the deployed bundle has no such route
    // and none of the suite's code.
    #[cfg(feature = "contract")]
    if req.path() == "/__contract" && req.method() == Method::Post {
        return contract(&store).await;
    }
    let rng = CryptoRng;
    let nonce = portcullis_shared::token::random_hex(&rng, 16);
    let ports = EdgePorts {
        store,
        mailer: SmtpMailer::new(cfg.smtp.clone(), JsClock.now(), nonce),
        clock: JsClock,
        rng,
    };
    let WorkerConfig { domain, .. } = cfg;
    let app = match App::new(ports, domain) {
        Ok(app) => app,
        Err(e) => {
            console_error!("portcullis could not start: {e}");
            return json_error(500, "Service is misconfigured; the worker log says what to fix");
        }
    };
    let request = to_http(req).await?;
    let response = app.handle(request).await;
    // Mail goes out after the answer, which therefore takes as long for a known address as
    // for an unknown one; workerd keeps the isolate alive for it.
    ctx.wait_until(async move { app.send_queued().await });
    from_http(response)
}

/// Bodies declared up to this size are read even when over the app's limit (which then answers
/// 413), so the client finishes sending and sees the answer instead of a reset connection.
const READ_LIMIT: u64 = 1 << 20;

/// Converts the workerd request; bodies declared larger than [`READ_LIMIT`] are not read (the
/// app answers 413 from the declared length).
async fn to_http(mut req: Request) -> Result<http::Request<Vec<u8>>> {
    let mut builder = http::Request::builder()
        .method(req.method().as_ref())
        .uri(req.url()?.as_str());
    for (name, value) in req.headers().entries() {
        builder = builder.header(name, value);
    }
    let declared = req
        .headers()
        .get("content-length")?
        .and_then(|v| v.trim().parse::<u64>().ok())
        .unwrap_or(0);
    let body = match req.method() {
        Method::Get | Method::Head | Method::Options => Vec::new(),
        _ if declared > READ_LIMIT => Vec::new(),
        _ => req.bytes().await?,
    };
    builder.body(body).map_err(|e| worker::Error::RustError(e.to_string()))
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
