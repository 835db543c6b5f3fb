//! Re-authentication for sensitive changes: a password change, or an email change that the
//! current address does not confirm, through a session older than `REAUTHENTICATION_AFTER`
//! needs proof that the person is still the account's owner. GoTrue's way is a nonce mailed by
//! `GET /reauthenticate` and sent with `PUT /user` (as upstream's
//! `SECURITY_UPDATE_PASSWORD_REQUIRE_REAUTHENTICATION`, which waives it for sessions under 24
//! hours); other dialects say "sign in again", and a fresh session is under the window.

use super::mailing::LinkTo;
use super::{Flows, FlowError};
use crate::model::{Purpose, Session, User};
use crate::ports::{Codes as _, Ports};
use crate::secret::Secret;

impl<P: Ports> Flows<P> {
    /// Mails `user` a re-authentication nonce (GoTrue's `GET /reauthenticate`).
    pub async fn send_reauthentication(&self, user: &User) -> Result<(), FlowError> {
        let email = user.email.as_deref().ok_or(FlowError::NoAddress)?;
        if !user.is_confirmed() {
            return Err(FlowError::AddressNotVerified);
        }
        let claim = self.claim_send(email, Purpose::Reauthentication).await?;
        self.send_code(user, Purpose::Reauthentication, email, claim, LinkTo::None);
        Ok(())
    }

    /// Whether a sensitive change through `session` needs re-authentication now.
    pub(super) fn needs_reauthentication(&self, session: &Session) -> bool {
        let window = self.config.reauthentication_after_secs;
        window > 0 && self.now().0 - session.created_at.0 >= window * 1000
    }

    /// Passes if `session` is recent enough, else spends `nonce` (the newest
    /// re-authentication code mailed to the account's current address).
    pub(super) async fn reauthenticate(&self, user: &User, session: &Session, nonce: Option<&Secret<String>>) -> Result<(), FlowError> {
        if !self.needs_reauthentication(session) {
            return Ok(());
        }
        let nonce = nonce.ok_or(FlowError::ReauthenticationNeeded)?;
        self.throttle_client().await?;
        let code = match user.email.as_deref() {
            Some(email) => self.codes().for_user(&user.id, Purpose::Reauthentication).await?.filter(|c| c.sent_to == email),
            None => None,
        };
        let Some(code) = code else { return Err(FlowError::ReauthenticationNotValid) };
        let now = self.now();
        match self.check_digits(&code, nonce.expose()).await {
            Ok(()) if self.codes().consume(&code.id, now).await? => Ok(()),
            Ok(()) | Err(FlowError::CodeInvalid) => Err(FlowError::ReauthenticationNotValid),
            Err(e) => Err(e),
        }
    }
}
