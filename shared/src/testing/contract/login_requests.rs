//! The contract of the `LoginRequests` port: a passwordless emailed sign-in request goes through
//! its pages, one decision and one claim, and nothing moves it after expiry. The session a claim
//! leads to is the flows' business, not this check's.

use super::support::{ensure, err, rotation_user};
use crate::model::{LoginRequest, LoginRequestId, LoginState, Timestamp};
use crate::ports::{LoginRequests, Users};

pub(super) async fn login_requests<U: Users, R: LoginRequests>(users: &U, requests: &R, nonce: &str, now: Timestamp) -> Result<(), String> {
    let user = rotation_user(users, nonce, "login", now).await?;
    let request = |id: &str| LoginRequest {
        id: LoginRequestId::new(format!("{id}-{nonce}")),
        user_id: user.id.clone(),
        platform: "Contract Phone".into(),
        link_hash: format!("link-{id}-{nonce}"),
        page_hash: None,
        state: LoginState::Pending,
        created_at: now,
        expires_at: now.plus_secs(600),
    };
    let r = request("lr1");
    requests.put(&r).await.map_err(err)?;
    ensure!(requests.by_id(&r.id).await.map_err(err)?.as_ref() == Some(&r), "by_id differs");
    ensure!(requests.by_link_hash(&r.link_hash).await.map_err(err)?.as_ref() == Some(&r), "by_link_hash differs");
    ensure!(!requests.claim(&r.id, now).await.map_err(err)?, "a pending request was claimed");
    ensure!(!requests.decide(&r.id, "p1", LoginState::Confirmed, now).await.map_err(err)?, "decided without a page");
    ensure!(requests.show_page(&r.id, "p1", now).await.map_err(err)?, "page refused");
    ensure!(requests.show_page(&r.id, "p2", now).await.map_err(err)?, "second page refused");
    ensure!(!requests.decide(&r.id, "p1", LoginState::Confirmed, now).await.map_err(err)?, "an older page's token decided");
    ensure!(requests.decide(&r.id, "p2", LoginState::Confirmed, now).await.map_err(err)?, "the current page's token did not decide");
    ensure!(!requests.decide(&r.id, "p2", LoginState::Denied, now).await.map_err(err)?, "decided twice");
    ensure!(!requests.show_page(&r.id, "p3", now).await.map_err(err)?, "a page for a decided request");
    ensure!(requests.claim(&r.id, now).await.map_err(err)?, "a confirmed request was not claimed");
    ensure!(!requests.claim(&r.id, now).await.map_err(err)?, "claimed twice");
    let late = request("lr2");
    requests.put(&late).await.map_err(err)?;
    requests.show_page(&late.id, "q", now).await.map_err(err)?;
    ensure!(!requests.decide(&late.id, "q", LoginState::Confirmed, late.expires_at).await.map_err(err)?, "decided at expiry");
    let denied = request("lr3");
    requests.put(&denied).await.map_err(err)?;
    requests.show_page(&denied.id, "d", now).await.map_err(err)?;
    ensure!(requests.decide(&denied.id, "d", LoginState::Denied, now).await.map_err(err)?, "deny refused");
    ensure!(!requests.claim(&denied.id, now).await.map_err(err)?, "a denied request was claimed");
    let state = requests.by_id(&denied.id).await.map_err(err)?.map(|r| r.state);
    ensure!(state == Some(LoginState::Denied), "state {state:?}");
    Ok(())
}
