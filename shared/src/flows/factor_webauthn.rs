//! WebAuthn factors' ceremonies, as supabase/auth drives go-webauthn for `factor_type:
//! "webauthn"`: a challenge of an unverified factor asks the client to register a credential
//! (`create`), one of a verified factor to sign with it (`request`); the answer is checked by
//! `crate::webauthn` against the challenge's bytes, the configured relying party and origins
//! (never the client's `rpId`/`rpOrigins`), and recorded as every answer is
//! ([`Flows::record_answer`]): a registration stores the credential, whose id no other factor
//! may hold; an assertion stores the new signature counter, which must grow unless it stays 0.
//! A counter that went back is refused and logged: the authenticator may have been cloned.

use super::factors::FactorError;
use super::{Flows, SignedIn};
use crate::model::{Challenge, Factor, FactorKind, Session, User, WebauthnCredential};
use crate::ports::{Budgets as _, Factors as _, Ports, Progress, Rng as _};
use crate::webauthn::{self, AuthenticationResponse, Expected, RegistrationResponse, StoredCredential, WebauthnError};
use serde_json::Value;

/// Bytes of a ceremony's challenge (go-webauthn's is 32 too).
pub const CHALLENGE_BYTES: usize = 32;

/// A credential as options name it (`excludeCredentials`, `allowCredentials`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// The credential id.
    pub id: Vec<u8>,
    /// The transports its registration named.
    pub transports: Vec<String>,
}

/// The ceremony a WebAuthn challenge asks the client to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ceremony {
    /// Registering a credential for an unverified factor (`navigator.credentials.create`).
    Create {
        /// The bytes to sign.
        challenge: Vec<u8>,
        /// `user.id`: the account id as text, as GoTrue's `WebAuthnID` is.
        user_handle: Vec<u8>,
        /// `user.name` and `displayName`: the account's address, or empty (auth-js then
        /// names the user itself).
        user_name: String,
        /// The account's verified WebAuthn credentials, which must not register again.
        exclude: Vec<Descriptor>,
    },
    /// Signing with the verified factor's credential (`navigator.credentials.get`).
    Request {
        /// The bytes to sign.
        challenge: Vec<u8>,
        /// The factor's credential.
        allow: Vec<Descriptor>,
    },
}

/// What a client sent to answer a WebAuthn challenge (the `webauthn` member of GoTrue's verify).
#[derive(Debug, Clone, Default)]
pub struct WebauthnAnswer {
    /// `create` or `request`.
    pub kind: Option<String>,
    /// The credential as `PublicKeyCredential.toJSON()` renders it: an object, or a string
    /// holding one.
    pub credential_response: Option<Value>,
}

/// A WebAuthn answer whose shape was checked.
#[derive(Debug)]
pub(super) enum Given {
    /// A registration response.
    Create(Box<RegistrationResponse>),
    /// An assertion response.
    Request(Box<AuthenticationResponse>),
}

/// Checks the shape of a WebAuthn answer, in upstream's order and words.
pub(super) fn given(answer: Option<&WebauthnAnswer>) -> Result<Given, FactorError> {
    let answer = answer.ok_or(FactorError::Invalid("WebAuthn config required"))?;
    let kind = answer.kind.as_deref().filter(|k| matches!(*k, "create" | "request"));
    let kind = kind.ok_or(FactorError::Invalid("WebAuthn type must be create or request"))?;
    let invalid = || FactorError::Invalid("Invalid credential_response");
    let response = match &answer.credential_response {
        None | Some(Value::Null) => return Err(FactorError::Invalid("credential_response required")),
        Some(Value::String(text)) => serde_json::from_str(text).map_err(|_| invalid())?,
        Some(v) => v.clone(),
    };
    Ok(match kind {
        "create" => Given::Create(Box::new(serde_json::from_value(response).map_err(|_| invalid())?)),
        _ => Given::Request(Box::new(serde_json::from_value(response).map_err(|_| invalid())?)),
    })
}

/// What a refused response answers: malformed is the client's request, anything else a
/// failed verification.
fn refusal(e: &WebauthnError) -> FactorError {
    match e {
        WebauthnError::Malformed(_) => FactorError::Invalid("Invalid credential_response"),
        _ => FactorError::WebauthnRefused,
    }
}

fn descriptor(c: &WebauthnCredential) -> Descriptor {
    Descriptor { id: c.id.clone(), transports: c.transports.clone() }
}

impl<P: Ports> Flows<P> {
    /// The ceremony for a challenge of `factor` of `user`, its bytes (from the Rng port) kept
    /// in `challenge`.
    pub(super) async fn ceremony(&self, user: &User, factor: &Factor, challenge: &mut Challenge) -> Result<Ceremony, FactorError> {
        let mut bytes = vec![0u8; CHALLENGE_BYTES];
        self.ports.rng().fill(&mut bytes);
        challenge.webauthn_challenge = Some(bytes.clone());
        if let (true, Some(credential)) = (factor.verified, &factor.credential) {
            return Ok(Ceremony::Request { challenge: bytes, allow: vec![descriptor(credential)] });
        }
        let factors = self.factor_store().of_user(&user.id).await?;
        let exclude = factors
            .iter()
            .filter(|f| f.verified && f.kind == FactorKind::Webauthn)
            .filter_map(|f| f.credential.as_ref().map(descriptor))
            .collect();
        Ok(Ceremony::Create {
            challenge: bytes,
            user_handle: user.id.as_str().as_bytes().to_vec(),
            user_name: user.email.clone().unwrap_or_default(),
            exclude,
        })
    }

    /// Answers `challenge` of the WebAuthn `factor` with `given`: a registration of an
    /// unverified factor, an assertion of a verified one. Counts against the account's budget
    /// of wrong answers as a code does. `ticket` is the second step's ticket the answer
    /// completes, if it completes one.
    pub(super) async fn answer_webauthn(
        &self,
        user: &User,
        session: &Session,
        factor: &Factor,
        challenge: &Challenge,
        given: &Given,
        ticket: Option<&str>,
    ) -> Result<SignedIn, FactorError> {
        let rp = self.config.mfa.relying_party.as_ref().ok_or_else(|| FactorError::Internal("WebAuthn on without a relying party".into()))?;
        let key = self.take_guess(user, challenge).await?;
        let expected = Expected {
            challenge: challenge.webauthn_challenge.as_deref().unwrap_or_default(),
            origins: &rp.origins,
            rp_id: &rp.id,
            user_verification: false,
        };
        let sigs = self.ports.signatures();
        let registered;
        let progress = match (given, &factor.credential) {
            (Given::Create(response), None) if !factor.verified => {
                let r = webauthn::verify_registration(sigs, &expected, response).await.map_err(|e| refusal(&e))?;
                if self.factor_store().credential_taken(&r.credential_id).await? {
                    return Err(FactorError::CredentialTaken);
                }
                registered = WebauthnCredential {
                    id: r.credential_id,
                    public_key: r.key,
                    sign_count: r.sign_count,
                    aaguid: r.aaguid,
                    backup_eligible: r.flags.backup_eligible,
                    transports: r.transports,
                };
                Progress::Register(&registered)
            }
            (Given::Request(response), Some(c)) if factor.verified => {
                let stored = StoredCredential {
                    id: &c.id,
                    key: &c.public_key,
                    sign_count: c.sign_count,
                    backup_eligible: c.backup_eligible,
                    user_handle: user.id.as_str().as_bytes(),
                };
                match webauthn::verify_authentication(sigs, &expected, &stored, response).await {
                    Ok(assertion) => Progress::Counter(assertion.sign_count),
                    Err(e @ WebauthnError::CounterRegression { .. }) => {
                        self.report(&format!("webauthn factor {} of {}: {e}; the authenticator may have been cloned", factor.id, user.id));
                        return Err(FactorError::WebauthnRefused);
                    }
                    Err(e) => return Err(refusal(&e)),
                }
            }
            // The other ceremony than the factor's.
            _ => return Err(FactorError::WebauthnRefused),
        };
        self.budgets().give_back(&key).await?;
        self.record_answer(user, session, factor, challenge, progress, ticket).await
    }
}
