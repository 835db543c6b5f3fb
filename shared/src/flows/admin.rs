//! The service role's account management (GoTrue's admin API, `supabase.auth.admin.*`):
//! listing, creating, reading, changing and deleting accounts, handing out links without
//! mailing them, and invitations.
//!
//! Only a JWT signed with the GoTrue key whose `role` is an admin role ([`ADMIN_ROLES`], what
//! a Supabase service-role key carries) passes [`Flows::authorize_admin`], unless its `jti` is
//! revoked (`SERVICE_ROLE_REVOKED_IDS`) or it has none while ids are required
//! (`SERVICE_ROLE_REQUIRE_ID`): [`AdminError::KeyRevoked`]; every other token is
//! [`AdminError::NotAdmin`] or a bad token. The service role is trusted with what it asks: it
//! may set a confirmed address or a password directly. The rules that protect accounts still
//! hold: a password meets the policy; a ban or a new password ends the account's sessions in
//! every dialect; confirming an address nobody had proven is a first proof, which ends them
//! too and removes a password the request does not set; deletion takes every session with the
//! account, and a soft-deleted account never signs in or changes again.

use super::mailing::Landing;
use super::{check_new_password, merged, Flows, FlowError};
use crate::model::{LogoutScope, Purpose, SessionId, Timestamp, User, UserId};
use crate::ports::{FirstProof, Ports, Sessions as _, StoreError, Users as _};
use crate::secret::{LinkToken, Password, Secret};
use crate::token::random_id;
use serde::Deserialize;
use serde_json::{Map, Value};

/// The `role` claims that the admin API takes (upstream's default `GOTRUE_JWT_ADMIN_ROLES`).
pub const ADMIN_ROLES: &[&str] = &["service_role", "supabase_admin"];

/// Most accounts one page of the list holds (upstream has no cap).
pub const MAX_PER_PAGE: u32 = 1000;

/// A ban: lifted, or for this many milliseconds from now (GoTrue's `ban_duration`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ban {
    /// `"none"`.
    Lift,
    /// A duration; one that is not positive bans nobody.
    ForMs(i64),
}

/// A new account, as the service role describes it (`POST /admin/users`).
#[derive(Debug, Default)]
pub struct NewAccount<'a> {
    /// The address, as typed.
    pub email: &'a str,
    /// Its password, if it has one.
    pub password: Option<&'a Password>,
    /// Whether the address counts as confirmed at once.
    pub email_confirm: bool,
    /// `user_metadata`.
    pub user_metadata: Option<Map<String, Value>>,
    /// `app_metadata` (besides `provider` and `providers`).
    pub app_metadata: Option<Map<String, Value>>,
    /// A ban from the start.
    pub ban: Option<Ban>,
}

/// A change to an account by the service role (`PUT /admin/users/{id}`); `None` leaves a
/// field as it is. Metadata merge into what is there, a `null` value removing its key.
#[derive(Debug, Default)]
pub struct AccountChange<'a> {
    /// A new address, set at once (no mail).
    pub email: Option<&'a str>,
    /// A new password; the account's sessions end.
    pub password: Option<&'a Password>,
    /// `true` confirms the address (`false` changes nothing, as upstream).
    pub email_confirm: Option<bool>,
    /// Keys to merge into `user_metadata`.
    pub user_metadata: Option<Map<String, Value>>,
    /// Keys to merge into `app_metadata`.
    pub app_metadata: Option<Map<String, Value>>,
    /// A ban, or lifting it.
    pub ban: Option<Ban>,
}

/// What kind of link the service role asks for (`POST /admin/generate_link`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum LinkKind {
    /// Confirms a sign-up (creating the account, with the given password, if there is none).
    Signup,
    /// An invitation (creating the account, without a password, if there is none).
    Invite,
    /// Signs in (creating the account if there is none, as upstream).
    MagicLink,
    /// Signs in to set a new password.
    Recovery,
    /// Moves the account to `new_email`.
    EmailChangeNew,
}

/// A link request by the service role.
#[derive(Debug)]
pub struct LinkRequest<'a> {
    /// What the link does.
    pub kind: LinkKind,
    /// The account's address.
    pub email: &'a str,
    /// Where an email change moves the account.
    pub new_email: Option<&'a str>,
    /// The password of an account a sign-up link creates.
    pub password: Option<&'a Password>,
    /// `user_metadata` of an account the link creates.
    pub data: Option<Map<String, Value>>,
    /// Where the link lands.
    pub redirect_to: Option<&'a str>,
}

/// A link handed to the service role instead of being mailed.
#[derive(Debug)]
pub struct HandedOut {
    /// The account, as it is now.
    pub user: User,
    /// The whole link (GoTrue's `action_link`).
    pub link: String,
    /// The 6 digits (GoTrue's `email_otp`).
    pub digits: Secret<String>,
    /// The link's token (GoTrue's `hashed_token`, what `/verify` takes as `token_hash`).
    pub link_token: LinkToken,
    /// The link's `type` (GoTrue's `verification_type`), as in the link.
    pub link_type: &'static str,
    /// Where the link lands.
    pub redirect_to: String,
}

/// Why the service role's request was refused: the few cases only the admin API has, or a
/// rule every flow shares.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AdminError {
    /// The caller's token is valid but not the service role's.
    #[error("not admin")]
    NotAdmin,
    /// A service-role key whose `jti` is in `SERVICE_ROLE_REVOKED_IDS`, or that has none while
    /// `SERVICE_ROLE_REQUIRE_ID` is on.
    #[error("service-role key revoked")]
    KeyRevoked,
    /// No account with this id.
    #[error("no such user")]
    NoSuchUser,
    /// No account with this address, where the service role named one (`generate_link` for
    /// recovery and email change).
    #[error("no user with this email")]
    NoUserWithEmail,
    /// A rule every flow shares (a bad token, an invalid address, a weak password...).
    #[error(transparent)]
    Flow(#[from] FlowError),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> Self {
        AdminError::Flow(e.into())
    }
}

#[derive(Debug, Clone, Deserialize)]
struct RoleClaims {
    #[serde(default)]
    role: Option<String>,
    /// The key's id, which `SERVICE_ROLE_REVOKED_IDS` may name (Supabase's keys have none).
    #[serde(default)]
    jti: Option<String>,
}

impl<P: Ports> Flows<P> {
    /// Lets `presented` use the admin API if it is a JWT signed with the GoTrue key whose
    /// `role` is an admin role, and its `jti` is not revoked (nor missing, where ids are
    /// required); the token names no session (a service-role key has none).
    pub async fn authorize_admin(&self, presented: &str) -> Result<(), AdminError> {
        let verified = self.keys.gotrue.verify::<RoleClaims>(self.signatures(), presented, self.now(), |why| drop(self.report(&why))).await.map_err(|e| AdminError::Flow(FlowError::BadToken(e)))?;
        if !verified.claims.role.as_deref().is_some_and(|role| ADMIN_ROLES.contains(&role)) {
            return Err(AdminError::NotAdmin);
        }
        match verified.claims.jti.as_deref() {
            Some(id) if self.config.service_role_revoked_ids.iter().any(|r| r == id) => Err(AdminError::KeyRevoked),
            None if self.config.service_role_require_id => Err(AdminError::KeyRevoked),
            _ => Ok(()),
        }
    }

    /// One page of the accounts, newest first (`page` from 1, at most [`MAX_PER_PAGE`] a
    /// page), and how many there are.
    pub async fn admin_list_users(&self, page: u32, per_page: u32) -> Result<(Vec<User>, u64), AdminError> {
        let per_page = per_page.clamp(1, MAX_PER_PAGE);
        let offset = u64::from(page.max(1) - 1) * u64::from(per_page);
        Ok(self.users().page(offset, per_page).await?)
    }

    /// The account with this id.
    pub async fn admin_get_user(&self, id: &UserId) -> Result<User, AdminError> {
        self.users().by_id(id).await?.ok_or(AdminError::NoSuchUser)
    }

    /// Creates an account; no mail goes out. [`FlowError::EmailExists`] if the address has one.
    pub async fn admin_create_user(&self, new: NewAccount<'_>) -> Result<User, AdminError> {
        let email = self.checked_address(new.email)?;
        if let Some(p) = new.password {
            check_new_password(&self.config, p.expose())?;
        }
        let now = self.now();
        let password_hash = new.password.map(|p| self.hash_new_password(p.expose())).transpose()?;
        let user = User {
            password_hash,
            email_confirmed_at: new.email_confirm.then_some(now),
            app_metadata: merged(&Value::Object(Map::new()), new.app_metadata.unwrap_or_default()),
            banned_until: self.ban_end(new.ban, now),
            ..User::new(random_id(self.ports.rng()), Some(&email), Value::Object(new.user_metadata.unwrap_or_default()), now)
        };
        match self.users().insert(&user).await {
            Ok(()) => Ok(user),
            Err(StoreError::Conflict(_)) => Err(FlowError::EmailExists.into()),
            Err(e) => Err(e.into()),
        }
    }

    /// Applies `change` to the account `id`, after checking all of it; no mail goes out. A new
    /// password or a ban ends every session of the account.
    pub async fn admin_update_user(&self, id: &UserId, change: AccountChange<'_>) -> Result<User, AdminError> {
        // A soft-deleted account stays deleted: nothing brings it back.
        let user = self.admin_get_user(id).await?;
        if user.deleted_at.is_some() {
            return Err(AdminError::NoSuchUser);
        }
        let email = change.email.map(|e| self.checked_address(e)).transpose()?.filter(|e| !user.has_email(e));
        if let Some(p) = change.password {
            check_new_password(&self.config, p.expose())?;
        }
        let now = self.now();
        let users = self.users();
        let confirm = change.email_confirm == Some(true);
        // The service role vouches for the address, not for whoever set the account up: as at
        // any first proof of an address, the password and metadata the request does not set
        // go, and so does every session (a stranger may have registered the address and
        // signed in through Feathers).
        let first_proof = confirm && !user.is_confirmed() && (email.is_some() || user.email.is_some());
        let moved = match (first_proof, &email) {
            // One step, as every first proof: a password change a stranger's session asked for
            // lands wholly before it (and goes with it) or not at all. The password and
            // `user_metadata` set before go; this request sets its own after.
            (true, _) => users.first_proof(id, FirstProof { new_email: email.as_deref(), forget: true }, now).await,
            (false, Some(email)) => users.set_email(id, email, user.is_confirmed(), now).await,
            (false, None) => Ok(()),
        };
        match moved {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => return Err(FlowError::EmailExists.into()),
            Err(e) => return Err(e.into()),
        }
        if let Some(data) = change.user_metadata {
            let before = if first_proof { Value::Object(Map::new()) } else { user.user_metadata.clone() };
            users.set_metadata(id, &merged(&before, data), now, None).await?;
        }
        if let Some(data) = change.app_metadata {
            users.set_app_metadata(id, &merged(&user.app_metadata, data), now).await?;
        }
        let mut end_sessions = false;
        if let Some(p) = change.password {
            let hash = self.hash_new_password(p.expose())?;
            users.set_password_hash(id, &hash, now, None).await?;
            end_sessions = true;
        }
        if let Some(ban) = change.ban {
            let until = self.ban_end(Some(ban), now);
            users.set_banned_until(id, until, now).await?;
            end_sessions |= until.is_some();
        }
        if end_sessions {
            self.sessions().revoke(id, &SessionId::new(""), LogoutScope::Global, now).await?;
        }
        self.admin_get_user(id).await
    }

    /// Deletes the account `id` with every session of it, in every dialect; soft deletion
    /// keeps an emptied record (`deleted_at`), which frees its address.
    pub async fn admin_delete_user(&self, id: &UserId, soft: bool) -> Result<(), AdminError> {
        let existed = match soft {
            true => self.users().soft_delete(id, self.now()).await?,
            false => self.users().delete(id).await?,
        };
        existed.then_some(()).ok_or(AdminError::NoSuchUser)
    }

    /// Makes the link (and code) of `req` and hands it out; nothing is mailed.
    pub async fn admin_generate_link(&self, req: LinkRequest<'_>) -> Result<HandedOut, AdminError> {
        let email = self.checked_address(req.email)?;
        let existing = self.users().by_email(&email).await?;
        let (user, purpose, to, keeps) = match (req.kind, existing) {
            (LinkKind::Signup | LinkKind::Invite, Some(u)) if u.is_confirmed() => return Err(FlowError::EmailExists.into()),
            (LinkKind::Signup, Some(u)) => (u, Purpose::Signup, email, false),
            (LinkKind::Invite, Some(u)) => (u, Purpose::Invite, email, false),
            (LinkKind::MagicLink, Some(u)) => (u, Purpose::MagicLink, email, false),
            (LinkKind::Recovery, Some(u)) => (u, Purpose::Recovery, email, false),
            (LinkKind::Recovery | LinkKind::EmailChangeNew, None) => return Err(AdminError::NoUserWithEmail),
            (LinkKind::EmailChangeNew, Some(u)) => {
                let new = self.checked_address(req.new_email.unwrap_or_default())?;
                if self.users().by_email(&new).await?.is_some() {
                    return Err(FlowError::EmailExists.into());
                }
                (u, Purpose::EmailChange, new, false)
            }
            (kind @ (LinkKind::Signup | LinkKind::Invite | LinkKind::MagicLink), None) => {
                let password = match kind {
                    LinkKind::Signup => req.password,
                    _ => None,
                };
                let new = NewAccount {
                    email: &email,
                    password,
                    user_metadata: req.data,
                    ..NewAccount::default()
                };
                let user = self.admin_create_user(new).await?;
                let purpose = match kind {
                    LinkKind::Signup => Purpose::Signup,
                    LinkKind::Invite => Purpose::Invite,
                    _ => Purpose::MagicLink,
                };
                (user, purpose, email, true)
            }
        };
        let landing = Landing::to(req.redirect_to);
        let issued = self.hand_out_code(&user, purpose, &to, keeps, landing).await?;
        Ok(HandedOut {
            user,
            link: issued.link,
            digits: issued.digits,
            link_token: issued.link_token,
            link_type: super::mailing::link_type(purpose),
            redirect_to: self.allowed_redirect(req.redirect_to),
        })
    }

    /// Invites `email` (GoTrue's `/invite`): creates the account without a password (with
    /// `data` as its `user_metadata`), or re-invites an unconfirmed one, and mails the
    /// invitation, whose link confirms the address and signs in; the invitee then sets a
    /// password. [`FlowError::EmailExists`] for a confirmed account.
    pub async fn invite(&self, email: &str, data: Map<String, Value>, landing: Landing<'_>) -> Result<User, AdminError> {
        let email = self.checked_address(email)?;
        let existing = self.users().by_email(&email).await?;
        if existing.as_ref().is_some_and(User::is_confirmed) {
            return Err(FlowError::EmailExists.into());
        }
        // Claimed first: an invitation over the send limit creates nothing.
        let claimed = self.claim_send(&email, Purpose::Invite).await?;
        let (user, created) = match existing {
            Some(u) => (u, false),
            None => {
                let new = NewAccount { email: &email, user_metadata: Some(data), ..NewAccount::default() };
                match self.admin_create_user(new).await {
                    Ok(u) => (u, true),
                    Err(e) => {
                        self.give_back(claimed).await;
                        return Err(e);
                    }
                }
            }
        };
        self.send_code_keeping(&user, Purpose::Invite, &email, claimed, super::mailing::LinkTo::Verify(landing), created);
        Ok(user)
    }

    fn ban_end(&self, ban: Option<Ban>, now: Timestamp) -> Option<Timestamp> {
        // The end of 9999, so that every ban is a date a client can read.
        const LATEST: Timestamp = Timestamp(253_402_300_799_000);
        match ban {
            Some(Ban::ForMs(ms)) if ms > 0 => Some(Timestamp(now.0.saturating_add(ms)).min(LATEST)),
            Some(Ban::ForMs(_) | Ban::Lift) | None => None,
        }
    }
}
