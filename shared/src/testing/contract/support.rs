//! What the contract's checks share: the `ensure!` macro, the store-error-to-text helper, and
//! builders for the records the checks store (a session, a refresh token, a code, an extra
//! account, a credential's public key). No check lives here.

use crate::model::{AuthMethod, CodeId, Dialect, OneTimeCode, Purpose, RefreshToken, Session, SessionId, Timestamp, User, UserId};
use crate::ports::{StoreError, Users};

macro_rules! ensure {
    ($cond:expr, $($msg:tt)*) => {
        if !$cond {
            return Err(format!($($msg)*));
        }
    };
}
pub(super) use ensure;

pub(super) fn err(e: StoreError) -> String {
    e.to_string()
}

/// An ES256 public key (RFC 7515's example P-256 key), for the credentials the checks store.
pub(super) fn p256_key() -> Result<crate::signature::Key, String> {
    let jwk = serde_json::json!({"kty": "EC", "crv": "P-256", "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    crate::signature::Key::from_jwk(crate::signature::Alg::Es256, &jwk).map_err(|e| e.to_string())
}

pub(super) fn session(user: &User, id: &str, at: Timestamp) -> Session {
    Session {
        dialect: Some(Dialect::Feathers),
        id: SessionId::new(id),
        user_id: user.id.clone(),
        platform: "Contract/1.0 (Ünïcode)".into(),
        method: AuthMethod::Password,
        created_at: at,
        refreshed_at: at,
        last_active_at: at,
        revoked_at: None,
        second: None,
    }
}

pub(super) fn refresh(session: &Session, id: &str, parent: Option<&str>, at: Timestamp) -> RefreshToken {
    RefreshToken {
        id: id.into(),
        session_id: session.id.clone(),
        secret_hash: "ab".repeat(32),
        parent_id: parent.map(str::to_string),
        created_at: at,
        used_at: None,
    }
}

pub(super) async fn rotation_user<U: Users>(users: &U, nonce: &str, tag: &str, now: Timestamp) -> Result<User, String> {
    let user = User {
        id: UserId::new(format!("contract-{tag}-{nonce}")),
        email: Some(format!("contract-{tag}-{nonce}@example.com")),
        username: None,
        password_hash: None,
        email_confirmed_at: Some(now),
        last_sign_in_at: None,
        user_metadata: serde_json::json!({}),
        created_at: now,
        updated_at: now,
        ..User::new(UserId::new(""), None, serde_json::json!({}), now)
    };
    users.insert(&user).await.map_err(err)?;
    Ok(user)
}

pub(super) fn code(user: &User, id: &str, link: &str, now: Timestamp) -> OneTimeCode {
    OneTimeCode {
        keeps_attempt: true,
        pair_id: None,
        id: CodeId::new(id),
        user_id: user.id.clone(),
        purpose: Purpose::Signup,
        code_hash: "c".repeat(64),
        link_hash: link.into(),
        sent_to: user.email.clone().unwrap_or_default(),
        created_at: now,
        expires_at: now.plus_secs(600),
        attempts: 0,
        used_at: None,
        pkce: None,
    }
}
