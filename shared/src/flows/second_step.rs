//! The second step outside GoTrue: a password sign-in of an account with a verified factor,
//! through Feathers or graphql-jwt, starts its session below `aal2`, where no token of it is
//! honoured (`bearer`, `refresh`), and answers a ticket instead of tokens; the ticket and a
//! code from the account's factor complete the sign-in (`complete_second_step`), raising the
//! session to `aal2` through the same answer GoTrue's `/factors/{id}/verify` records.
//!
//! The ticket is the session's first refresh token (Feathers hands out none otherwise, and
//! graphql-jwt's refresh refuses a session below `aal2` of such an account): single use, dead
//! once the step is taken, and good for `MFA_CHALLENGE_EXPIRY_DURATION` after the password.
//! The passwordless emailed sign-in has no password: its session token is its ticket, which
//! the step raises in place (no token of a session below `aal2` is honoured before).
//!
//! A WebAuthn factor takes the step in two calls: the ticket asks for a challenge
//! (`second_step_webauthn_challenge`, the options of `navigator.credentials.get`), and the
//! ticket with the assertion answers it (`complete_second_step_webauthn`), checked as GoTrue's
//! verify checks it.

use super::factor_webauthn::WebauthnAnswer;
use super::factors::{FactorError, Issued};
use super::{Dialect, Flows, SignedIn};
use crate::model::{Factor, FactorKind, Session, User};
use crate::ports::{Factors as _, Ports, Sessions as _};
use crate::secret::Secret;
use crate::token::{digests_match, hash_secret, OpaqueToken};

/// A sign-in that owes its second factor.
#[derive(Debug)]
pub struct SecondStepDue {
    /// What completes it, with a code ([`Flows::complete_second_step`]).
    pub ticket: Secret<String>,
    /// The account's verified factors that may complete the step: TOTP factors (a code),
    /// WebAuthn factors (an assertion) and the set of recovery codes (naming it, the code is
    /// one of them), each kind while its verification is switched on.
    pub factors: Vec<Factor>,
}

impl<P: Ports> Flows<P> {
    /// `signed_in` if its session is a full one in its dialect; otherwise what the client
    /// needs to take the second step.
    pub async fn second_step_due(&self, signed_in: SignedIn) -> Result<Result<SignedIn, SecondStepDue>, FactorError> {
        if super::assurance_suffices(&signed_in.user, Some(&signed_in.session), signed_in.session.dialect) {
            return Ok(Ok(signed_in));
        }
        let factors = self.verified_factors(&signed_in.user.id).await?;
        Ok(Err(SecondStepDue { ticket: Secret::new(signed_in.refresh_token.expose().to_string()), factors }))
    }

    /// The passwordless sign-in `token` (a session token) for `session` of `user` if it is a
    /// full one; otherwise the token is the ticket of its second step (raised in place, it
    /// then works as it is).
    pub(super) async fn token_or_second_step(&self, user: &User, session: &Session, token: Secret<String>)
        -> Result<Result<Secret<String>, SecondStepDue>, FactorError> {
        if super::assurance_suffices(user, Some(session), session.dialect) {
            return Ok(Ok(token));
        }
        Ok(Err(SecondStepDue { ticket: token, factors: self.verified_factors(&user.id).await? }))
    }

    /// The account's verified factors that can complete a second step: TOTP factors (a
    /// switched-off verification answers as such), and WebAuthn factors and recovery codes
    /// while theirs is on.
    async fn verified_factors(&self, user: &crate::model::UserId) -> Result<Vec<Factor>, FactorError> {
        let mut factors = self.factor_store().of_user(user).await?;
        factors.retain(|f| f.verified && (f.kind == FactorKind::Totp || self.config.mfa.verify_enabled(f.kind)));
        Ok(factors)
    }

    /// The pending session of `ticket`, its account and ticket id, while the step can still be
    /// taken, and the account's verified factor of kind `kind` named `factor_id` (or its only
    /// one of that kind).
    async fn step_of(&self, dialect: Dialect, ticket: &Secret<String>, factor_id: Option<&str>, kind: FactorKind)
        -> Result<(Session, User, Option<String>, Factor), FactorError> {
        let (session, user, ticket_id) = self.pending(dialect, ticket.expose()).await?;
        let now = self.now();
        let fresh = now < session.created_at.plus_secs(self.config.mfa.challenge_expiry_secs);
        if !fresh || super::assurance_suffices(&user, Some(&session), session.dialect) {
            return Err(FactorError::TicketInvalid);
        }
        super::may_sign_in(&user, now).map_err(|_| FactorError::TicketInvalid)?;
        let mut factors = self.verified_factors(&user.id).await?;
        factors.retain(|f| factor_id.map_or(f.kind == kind, |id| f.id.as_str() == id));
        match factors.as_slice() {
            [one] => Ok((session, user, ticket_id, one.clone())),
            _ => Err(FactorError::FactorNotFound),
        }
    }

    /// A challenge of the account's WebAuthn factor `factor_id` (or its only one) for the
    /// second step of `ticket`: what `navigator.credentials.get` signs, answerable from this
    /// client only.
    pub async fn second_step_webauthn_challenge(&self, dialect: Dialect, ticket: &Secret<String>, factor_id: Option<&str>)
        -> Result<Issued, FactorError> {
        self.throttle_client().await?;
        let (_, user, _, factor) = self.step_of(dialect, ticket, factor_id, FactorKind::Webauthn).await?;
        if factor.kind != FactorKind::Webauthn {
            return Err(FactorError::FactorNotFound);
        }
        let mut challenge = self.new_challenge(&factor);
        let ceremony = self.ceremony(&user, &factor, &mut challenge).await?;
        self.issue(challenge, Some(ceremony)).await
    }

    /// Completes the second step of `ticket` with `credential` (`PublicKeyCredential.toJSON()`
    /// of an assertion) answering `challenge_id` of the WebAuthn factor `factor_id` (or the
    /// account's only one).
    pub async fn complete_second_step_webauthn(
        &self,
        dialect: Dialect,
        ticket: &Secret<String>,
        factor_id: Option<&str>,
        challenge_id: &str,
        credential: Option<&serde_json::Value>,
    ) -> Result<SignedIn, FactorError> {
        self.throttle_client().await?;
        let (session, user, ticket_id, factor) = self.step_of(dialect, ticket, factor_id, FactorKind::Webauthn).await?;
        if factor.kind != FactorKind::Webauthn {
            return Err(FactorError::FactorNotFound);
        }
        let answer = WebauthnAnswer { kind: Some("request".into()), credential_response: credential.cloned() };
        let given = super::factor_webauthn::given(Some(&answer))?;
        let challenge = self.open_challenge(&factor, challenge_id).await?;
        self.answer_webauthn(&user, &session, &factor, &challenge, &given, ticket_id.as_deref()).await
    }

    /// The session a second step's ticket stands for, with its account and, for a refresh
    /// token's ticket, that token's public id (which the answer requires to still exist).
    async fn pending(&self, dialect: Dialect, ticket: &str) -> Result<(Session, User, Option<String>), FactorError> {
        let (id, secret) = OpaqueToken::parse(ticket).ok_or(FactorError::TicketInvalid)?;
        if dialect == Dialect::Passwordless {
            let (token, session, user) = self
                .sessions()
                .session_token(id)
                .await?
                .filter(|(t, s, _)| s.is_active() && s.belongs_to(dialect) && digests_match(&hash_secret(secret), &t.secret_hash))
                .ok_or(FactorError::TicketInvalid)?;
            let _ = token;
            return Ok((session, user, None));
        }
        let (token, session, user) = self.live_refresh_token(id, secret, dialect).await.map_err(|_| FactorError::TicketInvalid)?;
        if token.used_at.is_some() {
            return Err(FactorError::TicketInvalid);
        }
        Ok((session, user, Some(token.id)))
    }

    /// Completes a sign-in of `dialect` that owes its second factor with `ticket` and a
    /// `code` of the factor `factor_id` (or of the account's only verified TOTP factor); when
    /// `factor_id` names the account's recovery codes, `code` is one of them.
    pub async fn complete_second_step(&self, dialect: Dialect, ticket: &Secret<String>, factor_id: Option<&str>, code: &str)
        -> Result<SignedIn, FactorError> {
        self.throttle_client().await?;
        if code.is_empty() {
            return Err(FactorError::CodeMissing);
        }
        let (session, user, ticket_id, factor) = self.step_of(dialect, ticket, factor_id, FactorKind::Totp).await?;
        if !self.config.mfa.verify_enabled(factor.kind) {
            return Err(FactorError::VerifyDisabled(factor.kind));
        }
        match factor.kind {
            // A code never answers a WebAuthn factor.
            FactorKind::Webauthn => return Err(FactorError::FactorNotFound),
            FactorKind::RecoveryCode => return self.answer_recovery_code(&user, &session, &factor, code, ticket_id.as_deref()).await,
            FactorKind::Totp => {}
        }
        let issued = self.issue(self.new_challenge(&factor), None).await?;
        self.answer(&user, &session, &factor, &issued.challenge, code, ticket_id.as_deref()).await
    }
}
