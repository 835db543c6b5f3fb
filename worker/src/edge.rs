//! The app as the edge runs it: the ports over D1, SMTP and the runtime ([`EdgePorts`]), and the
//! one `App` of the isolate, built from `Env` on first use ([`edge_app`]) with how far the
//! isolate reads request bodies ([`body_reading`]), or the answer while the deployment is
//! misconfigured.

use crate::config::{self, BodyReading, WorkerConfig};
use crate::d1::D1Store;
use crate::http_out::FetchHttp;
use crate::mail::SmtpMailer;
use crate::runtime::{CryptoRng, JsClock};
use crate::webcrypto::WebCryptoSignatures;
use portcullis_shared::ports::Ports;
use portcullis_shared::App;
use std::rc::Rc;
use worker::{console_error, console_warn, Env, Response, Result};

/// The ports as the edge provides them.
pub struct EdgePorts {
    store: D1Store,
    mailer: SmtpMailer,
    clock: JsClock,
    rng: CryptoRng,
    http: FetchHttp,
}

impl Ports for EdgePorts {
    type Store = D1Store;
    type Mailer = SmtpMailer;
    type Clock = JsClock;
    type Rng = CryptoRng;
    type Http = FetchHttp;
    type Signatures = WebCryptoSignatures;

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
    fn http(&self) -> &FetchHttp {
        &self.http
    }
    fn signatures(&self) -> &WebCryptoSignatures {
        &WebCryptoSignatures
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
    /// How far this isolate reads request bodies, set with [`APP`].
    static BODIES: std::cell::Cell<BodyReading> = const { std::cell::Cell::new(BodyReading::Bounded) };
}

/// The isolate's app over the edge's ports, as configured by `env`, built on first use; `None`
/// (logged with what to fix) while the deployment is misconfigured, which is tried again on the
/// next request. Settings change with a deploy, which starts new isolates.
pub fn edge_app(env: &Env) -> Option<Rc<App<EdgePorts>>> {
    if let Some(app) = APP.with(|a| a.borrow().clone()) {
        return Some(app);
    }
    let (app, bodies) = build_app(env)?;
    let app = Rc::new(app);
    BODIES.with(|b| b.set(bodies));
    APP.with(|a| *a.borrow_mut() = Some(Rc::clone(&app)));
    Some(app)
}

/// The app `env` configures, and how far it reads bodies: what the first request of an
/// isolate pays for, beside compiling the module. `None` (logged) while misconfigured.
pub fn build_app(env: &Env) -> Option<(App<EdgePorts>, BodyReading)> {
    if let Some(refused) = config::secret_in_vars(config::SECRETS_IN_VARS) {
        console_error!("portcullis is misconfigured: {refused}");
        return None;
    }
    let cfg = config::load(env).map_err(|e| console_error!("portcullis is misconfigured: {e}")).ok()?;
    if cfg.domain.rate_limit_header.is_none() && env.var("RATE_LIMIT_HEADER").is_err() && env.secret("RATE_LIMIT_HEADER").is_err() {
        // Unset (an `[env.*]` section does not inherit `[vars]`), not `none` by choice: say so
        // once per isolate, since every throttle then counts all clients as one.
        console_warn!(
            "portcullis: RATE_LIMIT_HEADER is not set, so every request counts as one client for the throttles; \
             on Cloudflare set it to CF-Connecting-IP (or to none to mean this)"
        );
    }
    let db = env.d1("DB").map_err(|e| console_error!("portcullis is misconfigured: no D1 binding DB: {e}")).ok()?;
    let ports = EdgePorts {
        store: D1Store::new(db),
        mailer: SmtpMailer::new(cfg.smtp.clone()),
        clock: JsClock,
        rng: CryptoRng,
        http: FetchHttp,
    };
    let WorkerConfig { domain, bodies, .. } = cfg;
    let app = App::new(ports, domain).map_err(|e| console_error!("portcullis could not start: {e}")).ok()?;
    Some((app, bodies))
}

/// How far this isolate reads request bodies, as configured by `env` (bounded while the
/// deployment is misconfigured).
pub fn body_reading(env: &Env) -> BodyReading {
    match edge_app(env) {
        Some(_) => BODIES.with(|b| b.get()),
        None => BodyReading::Bounded,
    }
}

/// The answer while [`edge_app`] fails; it says what to do when a secret is a plain var.
pub fn misconfigured() -> Result<Response> {
    let refused = config::secret_in_vars(config::SECRETS_IN_VARS);
    json_error(500, &config::misconfigured_message(refused.as_ref()))
}
