//! The contract of the `OauthFlows` port: a flow comes back as stored, is taken once, and the
//! next flow's start drops those past their expiry but keeps the live ones.

use super::support::{ensure, err};
use crate::model::{Dialect, OauthFlow, PkceChallenge, PkceMethod, SessionId, Timestamp, UserId};
use crate::ports::OauthFlows;

pub(super) async fn oauth_flows<S: OauthFlows>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String> {
    let flow = |n: &str, challenge: Option<PkceChallenge>, expires_at: Timestamp| OauthFlow {
        state_hash: format!("{n}-{nonce}"),
        provider: "acme".into(),
        dialect: Dialect::Gotrue,
        redirect_to: format!("https://app.example.com/cb?n={nonce}&ü=1"),
        challenge,
        link: None,
        created_at: now,
        expires_at,
    };
    let pkce = flow("of1", Some(PkceChallenge { method: PkceMethod::S256, challenge: "c".repeat(43) }), now.plus_secs(300));
    let implicit = OauthFlow {
        dialect: Dialect::Feathers,
        link: Some((UserId::new(format!("u-{nonce}")), SessionId::new(format!("s-{nonce}")))),
        ..flow("of2", None, now.plus_secs(300))
    };
    let stale = flow("of3", None, now.plus_secs(-1));
    for f in [&stale, &pkce, &implicit] {
        store.put_oauth_flow(f, now.plus_secs(-3600)).await.map_err(err)?;
    }
    let taken = store.take_oauth_flow(&pkce.state_hash).await.map_err(err)?;
    ensure!(taken.as_ref() == Some(&pkce), "take returned {taken:?}");
    ensure!(store.take_oauth_flow(&pkce.state_hash).await.map_err(err)?.is_none(), "a flow was taken twice");
    ensure!(store.take_oauth_flow(&format!("none-{nonce}")).await.map_err(err)?.is_none(), "an unknown flow was taken");
    // A new flow's start drops the expired one, not the live one.
    store.put_oauth_flow(&flow("of4", None, now.plus_secs(300)), now).await.map_err(err)?;
    ensure!(store.take_oauth_flow(&stale.state_hash).await.map_err(err)?.is_none(), "an expired flow outlived the next start");
    let kept = store.take_oauth_flow(&implicit.state_hash).await.map_err(err)?;
    ensure!(kept.as_ref() == Some(&implicit), "a live flow was dropped: {kept:?}");
    Ok(())
}
