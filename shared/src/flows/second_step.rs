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

use super::factors::FactorError;
use super::{Dialect, Flows, SignedIn};
use crate::model::{Challenge, Factor, FactorKind, Session, User};
use crate::ports::{Factors as _, Ports, Sessions as _};
use crate::secret::Secret;
use crate::token::{digests_match, hash_secret, random_id, OpaqueToken};

/// A sign-in that owes its second factor.
#[derive(Debug)]
pub struct SecondStepDue {
    /// What completes it, with a code ([`Flows::complete_second_step`]).
    pub ticket: Secret<String>,
    /// The account's verified TOTP factors, one of which the code must come from (a WebAuthn
    /// factor completes no second step outside GoTrue), and its set of recovery codes when
    /// they may be used: naming it, the code is one of them.
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

    /// The account's verified TOTP factors and recovery codes (when they may be used): what a
    /// code can complete a second step with.
    async fn verified_factors(&self, user: &crate::model::UserId) -> Result<Vec<Factor>, FactorError> {
        let mut factors = self.factor_store().of_user(user).await?;
        let recovery = self.config.mfa.verify_enabled(FactorKind::RecoveryCode);
        factors.retain(|f| f.verified && (f.kind == FactorKind::Totp || (recovery && f.kind == FactorKind::RecoveryCode)));
        Ok(factors)
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
        let (session, user, ticket_id) = self.pending(dialect, ticket.expose()).await?;
        let now = self.now();
        let fresh = now < session.created_at.plus_secs(self.config.mfa.challenge_expiry_secs);
        if !fresh || super::assurance_suffices(&user, Some(&session), session.dialect) {
            return Err(FactorError::TicketInvalid);
        }
        super::may_sign_in(&user, now).map_err(|_| FactorError::TicketInvalid)?;
        // A code answers a TOTP factor only: a WebAuthn factor's ceremony is GoTrue's alone.
        let mut factors = self.verified_factors(&user.id).await?;
        factors.retain(|f| factor_id.map_or(f.kind == FactorKind::Totp, |id| f.id.as_str() == id));
        let factor = match factors.as_slice() {
            [one] => one.clone(),
            _ => return Err(FactorError::FactorNotFound),
        };
        if !self.config.mfa.verify_enabled(factor.kind) {
            return Err(FactorError::VerifyDisabled(factor.kind));
        }
        if factor.kind == FactorKind::RecoveryCode {
            return self.answer_recovery_code(&user, &session, &factor, code, ticket_id.as_deref()).await;
        }
        let challenge = Challenge {
            id: random_id(self.ports.rng()),
            factor_id: factor.id.clone(),
            created_at: now,
            verified_at: None,
            client: self.client().to_string(),
            webauthn_challenge: None,
        };
        self.factor_store().challenge(&challenge, now.plus_secs(-self.config.mfa.challenge_expiry_secs)).await?;
        self.answer(&user, &session, &factor, &challenge, code, ticket_id.as_deref()).await
    }
}
