//! CAPTCHA verification, upstream's `SECURITY_CAPTCHA_*`: the response token a client got from
//! hCaptcha or Turnstile is checked with the provider, server side, through the `Http` port.
//!
//! A verified response is a [`Human`]: it lets a password sign-in past the per-account budget
//! (`throttle`), so that a person whose account a guesser has throttled gets through where a
//! script does not. Which requests must carry a response is the dialect's (GoTrue's, as
//! upstream: sign-up, password sign-in, `/otp`, `/recover`, `/resend`); the other dialects'
//! clients have no field for it, and sign in as before, within the per-account budget.

use super::{FlowError, Flows};
use crate::ports::{Http as _, Ports};
use serde::Deserialize;

/// Whether a request proved that a person sent it. Only [`Flows::check_captcha`] makes a
/// proven one.
#[derive(Debug, Clone, Copy)]
pub struct Human(bool);

impl Human {
    /// A request that proved nothing (CAPTCHA off, or a dialect without it).
    pub fn unproven() -> Self {
        Human(false)
    }

    pub(super) fn is_proven(self) -> bool {
        self.0
    }
}

/// What hCaptcha's and Turnstile's `siteverify` answer (the part read).
#[derive(Deserialize)]
struct Verdict {
    success: bool,
}

impl<P: Ports> Flows<P> {
    /// With CAPTCHA on, verifies `response` with the provider, refusing with
    /// [`FlowError::CaptchaFailed`] a missing or rejected one; off, every request passes,
    /// unproven.
    pub async fn check_captcha(&self, response: Option<&str>) -> Result<Human, FlowError> {
        let Some(captcha) = &self.config.captcha else { return Ok(Human::unproven()) };
        let response = response
            .filter(|r| !r.is_empty())
            .ok_or(FlowError::CaptchaFailed { reason: "no captcha response (captcha_token) found in request" })?;
        let mut form = vec![("secret", captcha.secret.expose().as_str()), ("response", response)];
        let client = self.client();
        if client != "unknown" {
            form.push(("remoteip", client));
        }
        let reply = self.ports.http().post_form(&captcha.verify_url, &form, captcha.timeout_secs * 1000).await;
        let verdict = match reply {
            Ok(r) if r.status == 200 => serde_json::from_str::<Verdict>(&r.body).ok(),
            Ok(r) => {
                self.report(&format_args!("captcha: the provider answered {}", r.status));
                None
            }
            Err(e) => {
                self.report(&format_args!("captcha: {e}"));
                None
            }
        };
        match verdict {
            Some(Verdict { success: true }) => Ok(Human(true)),
            Some(_) => Err(FlowError::CaptchaFailed { reason: "captcha verification process failed" }),
            // Fails closed: no verdict lets nothing through.
            None => Err(FlowError::CaptchaFailed { reason: "captcha verification could not be completed" }),
        }
    }
}
