//! Second factors, for every dialect's accounts (GoTrue's MFA API is the one that manages
//! them): enrolling a TOTP or WebAuthn factor, challenging it, answering a challenge (which
//! raises the session to `aal2` and ends the account's other sessions below it), and removing
//! a factor. WebAuthn's ceremonies are in `factor_webauthn`; what every answer records is
//! [`Flows::record_answer`]'s.
//!
//! Rules beyond upstream's: a code is single use (the factor keeps the last step it took a
//! code for and takes no code of that step or an earlier one again), and wrong codes are
//! budgeted per account across clients (`OTP_MAX_WRONG_PER_ADDRESS` in `OTP_WRONG_WINDOW`, the
//! budget of mailed codes), a right one giving its unit back. Factor secrets are sealed with a
//! key derived from `JWT_SECRET`, bound to their factor and account.

use super::factor_webauthn::{Ceremony, WebauthnAnswer};
use super::{Bearer, Flows, FlowError, SignedIn};
use crate::model::{Aal, Challenge, ChallengeId, Factor, FactorId, FactorKind, MfaState, RefreshToken, SecondStep, Session, Timestamp, User};
use crate::ports::{Answer, Budgets as _, Enrolled, Factors as _, Ports, Progress, Rng as _};
use crate::secret::Secret;
use crate::token::{random_id, OpaqueToken};
use crate::totp;

/// Longest friendly name or issuer accepted, in bytes.
pub const MAX_FACTOR_LABEL_BYTES: usize = 256;

/// A new factor and, for TOTP, what an authenticator app needs to add it (shown once).
#[derive(Debug)]
pub struct Enrollment {
    /// The factor, unverified until a challenge is answered with it.
    pub factor: Factor,
    /// A TOTP factor's secret; `None` for WebAuthn, whose credential comes with its first
    /// challenge's answer.
    pub totp: Option<TotpSetup>,
}

/// What an authenticator app needs to add a TOTP factor.
#[derive(Debug)]
pub struct TotpSetup {
    /// The secret in base32.
    pub secret: Secret<String>,
    /// The `otpauth://` URI.
    pub uri: Secret<String>,
    /// The URI as a QR code, SVG.
    pub qr_svg: Secret<String>,
}

/// A challenge and until when it can be answered.
#[derive(Debug)]
pub struct Issued {
    /// The challenge.
    pub challenge: Challenge,
    /// Its expiry.
    pub expires_at: Timestamp,
    /// For a WebAuthn factor, the ceremony the client runs (registration or assertion).
    pub ceremony: Option<Ceremony>,
}

/// Which sensitive step asked for `aal2` (GoTrue answers each with its own status and words).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AalNeed {
    /// Enrolling another factor once one is verified.
    Enroll,
    /// Removing a verified factor.
    Unenroll,
    /// Generating, regenerating or removing recovery codes.
    RecoveryCodes,
}

/// Why a second-factor flow refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FactorError {
    /// Not a factor type this deployment knows.
    #[error("unknown factor type")]
    UnknownType,
    /// Enrolling factors of this kind is switched off.
    #[error("enroll disabled")]
    EnrollDisabled(FactorKind),
    /// Challenging and verifying factors of this kind is switched off.
    #[error("verify disabled")]
    VerifyDisabled(FactorKind),
    /// Anonymous accounts have no factors.
    #[error("anonymous")]
    Anonymous,
    /// A TOTP factor is named after the account's address, and it has none.
    #[error("no address")]
    NoAddress,
    /// A friendly name or issuer over [`MAX_FACTOR_LABEL_BYTES`].
    #[error("label too long")]
    LabelTooLong,
    /// The account has a factor of this name.
    #[error("name taken")]
    NameTaken(String),
    /// The account has as many factors as it may.
    #[error("too many factors")]
    TooMany,
    /// The session is below `aal2` and the step needs it.
    #[error("insufficient aal")]
    InsufficientAal(AalNeed),
    /// No factor of the account has this id.
    #[error("factor not found")]
    FactorNotFound,
    /// No challenge of the factor has this id.
    #[error("challenge not found")]
    ChallengeNotFound,
    /// The challenge was answered already, or was asked for by another client.
    #[error("challenge answered or from elsewhere")]
    ChallengeMismatch,
    /// The challenge expired.
    #[error("challenge expired")]
    ChallengeExpired(ChallengeId),
    /// No code was given.
    #[error("code missing")]
    CodeMissing,
    /// The code is wrong, or was used already.
    #[error("wrong code")]
    WrongCode,
    /// The recovery code is wrong, used already, or missing.
    #[error("wrong recovery code")]
    WrongRecoveryCode,
    /// Too many wrong recovery codes lately.
    #[error("recovery codes locked")]
    RecoveryCodesLocked,
    /// The account has a set of recovery codes already.
    #[error("recovery codes exist")]
    RecoveryCodesExist,
    /// Recovery codes would be the account's only factor.
    #[error("recovery codes alone")]
    SoleFactor,
    /// A request member is missing or malformed; the text says which, in upstream's words.
    #[error("invalid: {0}")]
    Invalid(&'static str),
    /// A WebAuthn response did not verify, or its challenge or counter was taken already.
    #[error("webauthn refused")]
    WebauthnRefused,
    /// The WebAuthn credential is some factor's already, of this account or another.
    #[error("credential taken")]
    CredentialTaken,
    /// A second step's ticket that is unknown, used, expired, or not this dialect's.
    #[error("ticket invalid")]
    TicketInvalid,
    /// Too many wrong codes or requests lately.
    #[error("too many requests")]
    TooManyRequests,
    /// Something broke; the text is for the log only.
    #[error("internal: {0}")]
    Internal(String),
}

impl From<FlowError> for FactorError {
    fn from(e: FlowError) -> Self {
        match e {
            FlowError::TooManyRequests => FactorError::TooManyRequests,
            other => FactorError::Internal(format!("FactorError cannot be {other:?}")),
        }
    }
}

impl From<crate::ports::StoreError> for FactorError {
    fn from(e: crate::ports::StoreError) -> Self {
        FactorError::Internal(e.to_string())
    }
}

impl<P: Ports> Flows<P> {
    /// Enrolls a new, unverified factor of type `kind` for the bearer's account.
    pub async fn enroll_factor(&self, bearer: &Bearer, kind: &str, friendly_name: &str, issuer: Option<&str>) -> Result<Enrollment, FactorError> {
        // Recovery codes have their own endpoints (`recovery_codes`).
        let kind = FactorKind::parse(kind).filter(|k| *k != FactorKind::RecoveryCode).ok_or(FactorError::UnknownType)?;
        if !self.config.mfa.enroll_enabled(kind) {
            return Err(FactorError::EnrollDisabled(kind));
        }
        let user = &bearer.user;
        if user.is_anonymous {
            return Err(FactorError::Anonymous);
        }
        if friendly_name.len() > MAX_FACTOR_LABEL_BYTES || issuer.is_some_and(|i| i.len() > MAX_FACTOR_LABEL_BYTES) {
            return Err(FactorError::LabelTooLong);
        }
        let account = match kind {
            FactorKind::Totp => user.email.clone().ok_or(FactorError::NoAddress)?,
            FactorKind::Webauthn | FactorKind::RecoveryCode => String::new(),
        };
        let own = self.factor_store().of_user(&user.id).await?;
        if own.iter().any(|f| f.friendly_name == friendly_name) {
            return Err(FactorError::NameTaken(friendly_name.into()));
        }
        let verified = own.iter().filter(|f| f.verified).count();
        if verified >= self.config.mfa.max_verified_factors as usize {
            return Err(FactorError::TooMany);
        }
        if verified > 0 && bearer.session.aal() < Aal::Aal2 {
            return Err(FactorError::InsufficientAal(AalNeed::Enroll));
        }
        let now = self.now();
        let id: FactorId = random_id(self.ports.rng());
        let mut factor = Factor {
            id,
            user_id: user.id.clone(),
            friendly_name: friendly_name.into(),
            kind,
            verified: false,
            sealed_secret: String::new(),
            last_step: None,
            created_at: now,
            updated_at: now,
            last_challenged_at: None,
            credential: None,
        };
        // Everything that can fail before anything is stored.
        let setup = match kind {
            FactorKind::Totp => Some(self.totp_setup(&mut factor, &account, issuer)?),
            FactorKind::Webauthn | FactorKind::RecoveryCode => None,
        };
        let stale_before = now.plus_secs(-self.config.mfa.factor_expiry_secs);
        let max = self.config.mfa.max_enrolled_factors;
        match self.factor_store().enroll(&factor, &bearer.session.id, max, stale_before).await? {
            Enrolled::Stored => {}
            Enrolled::NameTaken => return Err(FactorError::NameTaken(friendly_name.into())),
            Enrolled::TooMany => return Err(FactorError::TooMany),
            // A factor was verified meanwhile (or the session ended): what this session had to
            // prove changed under it.
            Enrolled::Refused => return Err(FactorError::InsufficientAal(AalNeed::Enroll)),
        }
        Ok(Enrollment { factor, totp: setup })
    }

    /// A new TOTP secret for `factor`, sealed into it, and how an app adds it.
    fn totp_setup(&self, factor: &mut Factor, account: &str, issuer: Option<&str>) -> Result<TotpSetup, FactorError> {
        let mut raw = [0u8; totp::SECRET_BYTES];
        self.ports.rng().fill(&mut raw);
        factor.sealed_secret = self
            .factor_key
            .seal(self.ports.rng(), &raw, &seal_context(factor.user_id.as_str(), factor.id.as_str()))
            .ok_or_else(|| FactorError::Internal("factor key unusable".into()))?;
        let issuer = issuer.filter(|i| !i.is_empty()).map_or_else(|| self.site_host(), str::to_string);
        let secret = totp::base32(&raw);
        let uri = totp::uri(&issuer, account, &secret);
        let qr_svg = totp::qr_svg(&uri).ok_or(FactorError::LabelTooLong)?;
        Ok(TotpSetup { secret: Secret::new(secret), uri: Secret::new(uri), qr_svg: Secret::new(qr_svg) })
    }

    /// The account's factors, verified or not, oldest first.
    pub async fn factors_of(&self, user: &crate::model::User) -> Result<Vec<Factor>, FactorError> {
        match user.mfa {
            MfaState::Off => Ok(Vec::new()),
            MfaState::Enrolling | MfaState::On => Ok(self.factor_store().of_user(&user.id).await?),
        }
    }

    /// A new challenge for the bearer's factor `factor_id`, answerable from this client only.
    pub async fn challenge_factor(&self, bearer: &Bearer, factor_id: &str) -> Result<Issued, FactorError> {
        self.throttle_client().await?;
        let factor = self.own_factor(bearer, factor_id).await?;
        if !self.config.mfa.verify_enabled(factor.kind) {
            return Err(FactorError::VerifyDisabled(factor.kind));
        }
        let mut challenge = self.new_challenge(&factor);
        let ceremony = match factor.kind {
            FactorKind::Totp => None,
            FactorKind::RecoveryCode => return Err(FactorError::Invalid("recovery codes are used with POST /factors/recovery-codes/verify")),
            FactorKind::Webauthn => Some(self.ceremony(&bearer.user, &factor, &mut challenge).await?),
        };
        self.issue(challenge, ceremony).await
    }

    /// A new challenge of `factor`, made now and answerable from this client only; not stored.
    pub(super) fn new_challenge(&self, factor: &Factor) -> Challenge {
        Challenge {
            id: random_id(self.ports.rng()),
            factor_id: factor.id.clone(),
            created_at: self.now(),
            verified_at: None,
            client: self.client().to_string(),
            webauthn_challenge: None,
        }
    }

    /// Stores `challenge` (dropping its factor's expired ones) and says until when it can be
    /// answered.
    pub(super) async fn issue(&self, challenge: Challenge, ceremony: Option<Ceremony>) -> Result<Issued, FactorError> {
        let lifetime = self.config.mfa.challenge_expiry_secs;
        self.factor_store().challenge(&challenge, challenge.created_at.plus_secs(-lifetime)).await?;
        Ok(Issued { expires_at: challenge.created_at.plus_secs(lifetime), challenge, ceremony })
    }

    /// The challenge `challenge_id` of `factor`, if it is unanswered and was asked for from
    /// this client.
    pub(super) async fn open_challenge(&self, factor: &Factor, challenge_id: &str) -> Result<Challenge, FactorError> {
        let challenge = self
            .factor_store()
            .get_challenge(&factor.id, &ChallengeId::new(challenge_id))
            .await?
            .ok_or(FactorError::ChallengeNotFound)?;
        if challenge.verified_at.is_some() || challenge.client != self.client() {
            return Err(FactorError::ChallengeMismatch);
        }
        Ok(challenge)
    }

    /// Answers the challenge `challenge_id` of the bearer's factor `factor_id` with `code`
    /// (TOTP) or `webauthn` (a WebAuthn factor's registration or assertion): the factor is
    /// verified, the session raised to `aal2` with a new refresh token (its earlier ones stop
    /// working), and the account's other sessions below `aal2` end. Returns the raised session
    /// and the account's factors.
    pub async fn verify_factor(&self, bearer: &Bearer, factor_id: &str, challenge_id: &str, code: &str, webauthn: Option<&WebauthnAnswer>)
        -> Result<(SignedIn, Vec<Factor>), FactorError> {
        self.throttle_client().await?;
        let mut factors = self.factor_store().of_user(&bearer.user.id).await?;
        let factor = factors.iter().find(|f| f.id.as_str() == factor_id).cloned().ok_or(FactorError::FactorNotFound)?;
        if !self.config.mfa.verify_enabled(factor.kind) {
            return Err(FactorError::VerifyDisabled(factor.kind));
        }
        let webauthn = match factor.kind {
            FactorKind::Totp if code.is_empty() => return Err(FactorError::CodeMissing),
            FactorKind::Totp => None,
            FactorKind::Webauthn => Some(super::factor_webauthn::given(webauthn)?),
            FactorKind::RecoveryCode => return Err(FactorError::Invalid("recovery codes are used with POST /factors/recovery-codes/verify")),
        };
        let challenge = self.open_challenge(&factor, challenge_id).await?;
        // Verifying a new factor is the end of enrolling it: once the account has a verified
        // factor, only a session that used it may add another (the store checks this again as
        // it writes).
        if !factor.verified && factors.iter().any(|f| f.verified) && bearer.session.aal() < Aal::Aal2 {
            return Err(FactorError::InsufficientAal(AalNeed::Enroll));
        }
        let signed_in = match webauthn {
            None => self.answer(&bearer.user, &bearer.session, &factor, &challenge, code, None).await?,
            Some(given) => self.answer_webauthn(&bearer.user, &bearer.session, &factor, &challenge, &given, None).await?,
        };
        if factor.kind == FactorKind::Webauthn {
            // Its credential (or counter) is the store's now.
            return Ok((signed_in, self.factor_store().of_user(&bearer.user.id).await?));
        }
        let now = self.now();
        factors.retain(|f| f.id == factor.id || f.verified || f.kind != factor.kind);
        for f in factors.iter_mut().filter(|f| f.id == factor.id) {
            (f.verified, f.updated_at) = (true, now);
        }
        Ok((signed_in, factors))
    }

    /// Answers `challenge` of `factor` with `code` for `session` of `user`: the one place a
    /// code is checked. Counts the guess against the account's budget before comparing (a
    /// right one gives it back), takes a code only for a step after the factor's last, and
    /// records the answer at once (`Factors::answer`), raising the session to `aal2` with a
    /// new refresh token. `ticket` is the second step's ticket (its refresh token's public id)
    /// the answer completes, if it completes one.
    pub(super) async fn answer(
        &self,
        user: &User,
        session: &Session,
        factor: &Factor,
        challenge: &Challenge,
        code: &str,
        ticket: Option<&str>,
    ) -> Result<SignedIn, FactorError> {
        // Only a TOTP factor takes a code (a WebAuthn one named in a second step, say).
        if factor.kind != FactorKind::Totp {
            return Err(FactorError::WrongCode);
        }
        let now = self.now();
        let key = self.take_guess(user, challenge).await?;
        let secret = self
            .factor_key
            .open(&factor.sealed_secret, &seal_context(user.id.as_str(), factor.id.as_str()))
            .ok_or_else(|| FactorError::Internal(format!("factor {} does not open", factor.id)))?;
        let step = totp::matching_step(secret.expose(), code, now.unix_seconds())
            .filter(|step| factor.last_step.is_none_or(|last| *step > last))
            .ok_or(FactorError::WrongCode)?;
        self.budgets().give_back(&key).await?;
        self.record_answer(user, session, factor, challenge, Progress::Step(step), ticket).await
    }

    /// Refuses an expired challenge, then counts a guess against the account's budget of
    /// wrong answers (`OTP_MAX_WRONG_PER_ADDRESS` in `OTP_WRONG_WINDOW`); returns the budget's
    /// key, for a right answer to give its unit back.
    pub(super) async fn take_guess(&self, user: &User, challenge: &Challenge) -> Result<String, FactorError> {
        let now = self.now();
        if challenge.created_at <= now.plus_secs(-self.config.mfa.challenge_expiry_secs) {
            return Err(FactorError::ChallengeExpired(challenge.id.clone()));
        }
        let key = format!("factor:{}", user.id);
        let (max, window) = (self.config.otp_max_wrong_per_address, self.config.otp_wrong_window_secs);
        if !self.budgets().take(&key, now, window, max).await? {
            return Err(FactorError::TooManyRequests);
        }
        Ok(key)
    }

    /// Records a right answer to `challenge` of `factor` that proves `progress` (`Factors::answer`,
    /// all at once): raises `session` to `aal2` with a new refresh token. `ticket` is the
    /// second step's ticket (its refresh token's public id) the answer completes, if any.
    pub(super) async fn record_answer(
        &self,
        user: &User,
        session: &Session,
        factor: &Factor,
        challenge: &Challenge,
        progress: Progress<'_>,
        ticket: Option<&str>,
    ) -> Result<SignedIn, FactorError> {
        let now = self.now();
        let made_after = now.plus_secs(-self.config.mfa.challenge_expiry_secs);
        let token = OpaqueToken::generate(self.ports.rng());
        let refresh = RefreshToken {
            id: token.id,
            session_id: session.id.clone(),
            secret_hash: token.secret_hash,
            parent_id: None,
            created_at: now,
            used_at: None,
        };
        let answer = Answer {
            user_id: &user.id,
            factor_id: &factor.id,
            kind: factor.kind,
            challenge_id: &challenge.id,
            progress,
            made_after,
            session_id: &session.id,
            refresh_token: &refresh,
            ticket,
            at: now,
        };
        if !self.factor_store().answer(&answer).await? {
            // Another answer took this challenge, step, counter or credential first, or the
            // session ended.
            return Err(match factor.kind {
                FactorKind::Totp => FactorError::WrongCode,
                FactorKind::Webauthn => FactorError::WebauthnRefused,
                FactorKind::RecoveryCode => FactorError::WrongRecoveryCode,
            });
        }
        let mut user = user.clone();
        user.mfa = MfaState::On;
        let mut session = session.clone();
        session.second = Some(SecondStep { factor_id: factor.id.clone(), kind: factor.kind, at: now });
        Ok(SignedIn { user, session, refresh_token: token.token.into() })
    }

    /// Removes the bearer's factor `factor_id`; a verified one only from an `aal2` session.
    pub async fn unenroll_factor(&self, bearer: &Bearer, factor_id: &str) -> Result<FactorId, FactorError> {
        let factor = self.own_factor(bearer, factor_id).await?;
        if factor.verified && bearer.session.aal() < Aal::Aal2 {
            return Err(FactorError::InsufficientAal(AalNeed::Unenroll));
        }
        match self.factor_store().remove(&bearer.user.id, &factor.id, self.now()).await? {
            true => Ok(factor.id),
            false => Err(FactorError::FactorNotFound),
        }
    }

    /// The service role's removal of `user`'s factor `factor_id`, whatever it is; answers the
    /// factor removed.
    pub async fn admin_remove_factor(&self, user: &crate::model::User, factor_id: &str) -> Result<Factor, FactorError> {
        let factor = self.factor_of(&user.id, factor_id).await?;
        match self.factor_store().remove(&user.id, &factor.id, self.now()).await? {
            true => Ok(factor),
            false => Err(FactorError::FactorNotFound),
        }
    }

    async fn own_factor(&self, bearer: &Bearer, factor_id: &str) -> Result<Factor, FactorError> {
        if bearer.user.is_anonymous {
            return Err(FactorError::Anonymous);
        }
        self.factor_of(&bearer.user.id, factor_id).await
    }

    /// The account's factor `factor_id`; [`FactorError::FactorNotFound`] for any other id.
    async fn factor_of(&self, user: &crate::model::UserId, factor_id: &str) -> Result<Factor, FactorError> {
        let factors = self.factor_store().of_user(user).await?;
        factors.into_iter().find(|f| f.id.as_str() == factor_id).ok_or(FactorError::FactorNotFound)
    }

    /// `SITE_URL`'s host and port: GoTrue's default TOTP issuer.
    fn site_host(&self) -> String {
        let url = &self.config.site_url;
        let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
        rest.split(['/', '?', '#']).next().unwrap_or(rest).to_string()
    }
}

/// What a factor's sealed secret is bound to: its account and itself.
fn seal_context(user_id: &str, factor_id: &str) -> String {
    format!("factor:{user_id}:{factor_id}")
}
