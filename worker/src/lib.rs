//! The Portcullis edge adapter for workerd, kept thin: convert the request, call the
//! runtime-agnostic app from `portcullis-shared`, convert the response.
//!
//! This crate is the only place that knows the Workers platform: the D1 store (`d1`), mail over
//! Workers TCP sockets (`mail`, `smtp`), the `Env` to configuration step (`config`), the app of
//! the isolate over those ports (`edge`), the clock and randomness of the runtime (`runtime`),
//! its WebCrypto signatures (`webcrypto`),
//! request and response conversion (`convert`), Socket.IO connections in Durable Objects
//! (`socket`), and the Cron Trigger's purge of what has expired (`purge`). No auth rule lives
//! here.

pub mod config;
pub mod d1;
pub mod edge;
pub mod http_out;
pub mod convert;
pub mod mail;
pub mod purge;
pub mod runtime;
pub mod smtp;
pub mod webcrypto;
mod socket;

#[cfg(feature = "contract")]
use d1::D1Store;
use edge::{body_reading, edge_app, misconfigured};
use portcullis_shared::app::Answer;
use portcullis_shared::dialects::routes::split;
use worker::{event, Context, Env, Request, Response, Result, ScheduleContext, ScheduledEvent};
#[cfg(feature = "contract")]
use worker::Method;

#[event(fetch)]
async fn fetch(req: Request, env: Env, ctx: Context) -> Result<Response> {
    // Only in the e2e suite's build (feature `contract`): the deployed bundle has no such route
    // and none of the suite's code.
    #[cfg(feature = "contract")]
    if req.path().starts_with("/__contract") && req.method() == Method::Post {
        return split(contract(&req, &env)).await;
    }
    let Some(app) = edge_app(&env) else {
        return misconfigured();
    };
    // Socket.IO requests go to their connection's object, when the app serves them.
    if app.routes_to_socket(&req.path()) {
        return split(socket::route(req, &env)).await;
    }
    let request = convert::to_http(req, body_reading(&env)).await?;
    let Answer { response, outbox } = app.handle(request).await;
    // Mail goes out after the answer, which therefore takes as long for a known address as
    // for an unknown one; workerd keeps the isolate alive for it.
    ctx.wait_until(async move { split(app.deliver(outbox)).await });
    convert::from_http(response)
}

/// The Cron Trigger (`[triggers]` in `wrangler.toml`): removes what has expired, in bounded
/// rounds, and logs how much.
#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    purge::scheduled(&env).await;
}

/// The e2e build's test routes: `POST /__contract` runs the storage contract against the real
/// D1, `/__contract/signatures` the signature contract against WebCrypto, each reporting every
/// check; `/__contract/argon2?n=N` hashes N passwords with the default Argon2id parameters, for
/// `make bench` to measure against native Argon2; `/__contract/startup?n=N` builds the app from
/// `env` N times (configuration and keys), for `make bench` to measure what an isolate's first
/// request pays for beside compiling the module.
#[cfg(feature = "contract")]
async fn contract(req: &Request, env: &Env) -> Result<Response> {
    use portcullis_shared::ports::Clock as _;
    match req.path().as_str() {
        "/__contract" => {
            let store = D1Store::new(env.d1("DB")?);
            let nonce = portcullis_shared::token::random_hex(&runtime::CryptoRng, 8);
            report(portcullis_shared::testing::run_store_contract(&store, &nonce, runtime::JsClock.now()).await)
        }
        "/__contract/signatures" => report(portcullis_shared::testing::run_signature_contract(&webcrypto::WebCryptoSignatures).await),
        "/__contract/argon2" => {
            use portcullis_shared::password::{PasswordHasher, PasswordParams};
            let n = count(req, 100)?;
            let params = PasswordParams::default();
            let hasher = PasswordHasher::new(params).map_err(|e| worker::Error::RustError(e.to_string()))?;
            for i in 0..n {
                hasher.hash(format!("bench password {i}").as_bytes(), &[7; 16]).map_err(|e| worker::Error::RustError(e.to_string()))?;
            }
            Response::from_json(&serde_json::json!({"hashes": n, "params": format!("{params:?}")}))
        }
        "/__contract/startup" => {
            let n = count(req, 1000)?;
            for _ in 0..n {
                edge::build_app(env).ok_or_else(|| worker::Error::RustError("misconfigured".into()))?;
            }
            Response::from_json(&serde_json::json!({"built": n}))
        }
        _ => Response::error("no such contract route", 404),
    }
}

/// The request's `?n=`, 1 if absent, at most `most`.
#[cfg(feature = "contract")]
fn count(req: &Request, most: u32) -> Result<u32> {
    let href = req.inner().url();
    let query = href.split_once('?').map_or("", |(_, q)| q);
    let n = query.split('&').find_map(|pair| pair.strip_prefix("n=")).and_then(|v| v.parse().ok());
    Ok(n.unwrap_or(1).min(most))
}

/// A contract's checks as JSON: each one's name, whether it passed, and why not.
#[cfg(feature = "contract")]
fn report(results: Vec<portcullis_shared::testing::ContractResult>) -> Result<Response> {
    let body: Vec<serde_json::Value> = results
        .into_iter()
        .map(|(name, r)| serde_json::json!({"name": name, "ok": r.is_ok(), "error": r.err()}))
        .collect();
    Response::from_json(&body)
}
