//! An account's identity at an identity provider ([`Identity`]): who the provider says signed
//! in (its subject), what it said about them, and which account that identity signs in. One
//! provider's subject is one identity of one account, never two. And a sign-in through the
//! provider's pages on its way there and back ([`OauthFlow`]).

use super::code::PkceChallenge;
use super::dialect::Dialect;
use super::id::{IdentityId, SessionId, UserId};
use super::time::Timestamp;

/// An identity at an OpenID Connect or OAuth 2 provider, held by one account.
#[derive(Debug, Clone, PartialEq)]
pub struct Identity {
    /// UUID v4 (GoTrue's `identity_id`).
    pub id: IdentityId,
    /// The account it signs in.
    pub user_id: UserId,
    /// The provider's configured name (`google`, `github`, or an issuer's name), lower case.
    pub provider: String,
    /// The provider's stable id of the person (`sub`; GitHub's numeric id as text).
    pub subject: String,
    /// The address the provider gave, normalised, if it gave one (verified or not: see
    /// `data.email_verified`).
    pub email: Option<String>,
    /// What the provider said at the latest sign-in, as GoTrue's `identity_data` (standard
    /// claims, with `email_verified` always present).
    pub data: serde_json::Value,
    /// When it was linked.
    pub created_at: Timestamp,
    /// When `data` last changed.
    pub updated_at: Timestamp,
    /// The latest sign-in through it.
    pub last_sign_in_at: Option<Timestamp>,
}

/// A sign-in through a provider's pages, between the redirect to the provider and its
/// callback: what the callback needs to finish it. Its `state` (a random UUID the provider
/// carries back) is stored only as a hash, taken (deleted) by the callback that presents it,
/// so a callback is answered once, and lives [`OauthFlow::expires_at`].
#[derive(Debug, Clone, PartialEq)]
pub struct OauthFlow {
    /// SHA-256 of the state, hex.
    pub state_hash: String,
    /// The provider's configured name.
    pub provider: String,
    /// The dialect whose client started it, which its callback answers as.
    pub dialect: Dialect,
    /// Where the callback sends the browser back (already checked against the allow-list).
    pub redirect_to: String,
    /// GoTrue's PKCE flow: the client's challenge; the callback then gives an auth code.
    pub challenge: Option<PkceChallenge>,
    /// Linking by hand (`/user/identities/authorize`): the account the identity is for, and
    /// the session that asked, which must still be live when it lands.
    pub link: Option<(UserId, SessionId)>,
    /// When it was started.
    pub created_at: Timestamp,
    /// Dead from this time on.
    pub expires_at: Timestamp,
}
