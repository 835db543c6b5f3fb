//! The contract of the `FlowStates` port: a code keeps its PKCE challenge, an auth code is taken
//! once (with a provider's sealed tokens, if it has them), and it goes with its account. The rest of `Codes` is checked in `codes`.

use super::support::{code, ensure, err, rotation_user};
use crate::model::{AuthMethod, FlowState, OneTimeCode, PkceChallenge, PkceMethod, Timestamp};
use crate::ports::{Codes, FlowStates, Users};

pub(super) async fn flow_states<S: Users + Codes + FlowStates>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(store, nonce, "flow", now).await?;
    let challenge = PkceChallenge { method: PkceMethod::S256, challenge: format!("{}{nonce}", "c".repeat(43)) };
    let with_pkce = OneTimeCode {
        pkce: Some(challenge.clone()),
        ..code(&user, &format!("pk-{nonce}"), &format!("pk-link-{nonce}"), now)
    };
    Codes::put(store, &with_pkce).await.map_err(err)?;
    let got = store.by_link_hash(&with_pkce.link_hash).await.map_err(err)?;
    ensure!(got.as_ref() == Some(&with_pkce), "the code came back as {got:?}");
    let state = |n: &str| FlowState {
        auth_code_hash: format!("{n}-{nonce}"),
        user_id: user.id.clone(),
        method: AuthMethod::Recovery,
        challenge: PkceChallenge { method: PkceMethod::Plain, ..challenge.clone() },
        created_at: now,
        expires_at: now.plus_secs(300),
        provider_tokens: None,
    };
    // The first with a provider's sealed tokens, which come back as they went in.
    let (first, second) = (FlowState { provider_tokens: Some(format!("sealed-{nonce}")), ..state("fs1") }, state("fs2"));
    FlowStates::put(store, &first).await.map_err(err)?;
    FlowStates::put(store, &second).await.map_err(err)?;
    let taken = store.take(&first.auth_code_hash).await.map_err(err)?;
    ensure!(taken.as_ref() == Some(&first), "take returned {taken:?}");
    ensure!(store.take(&first.auth_code_hash).await.map_err(err)?.is_none(), "an auth code was taken twice");
    ensure!(store.take(&format!("none-{nonce}")).await.map_err(err)?.is_none(), "an unknown auth code was taken");
    ensure!(Users::delete(store, &user.id).await.map_err(err)?, "the account was not deleted");
    ensure!(store.take(&second.auth_code_hash).await.map_err(err)?.is_none(), "an auth code outlived its account");
    Ok(())
}
