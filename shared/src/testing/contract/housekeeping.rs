//! The contract of the `Housekeeping` port: a purge removes what its cutoffs name, at most its
//! limit of each kind a round, a session with its tokens, and keeps everything else; a round
//! with nothing expired removes nothing. Its records are dated ten years back, so what the
//! other checks (and earlier runs against the same database) stored is never old enough to go.

use super::support::{code, ensure, err, refresh, rotation_user, session};
use crate::model::{
    AuthMethod, Challenge, ChallengeId, Factor, FactorId, FactorKind, FlowState, LoginRequest, OauthFlow, LoginRequestId, LoginState, LogoutScope, OneTimeCode, PkceChallenge,
    PkceMethod, Purpose, Session, Timestamp, User, UserId,
};
use crate::ports::{
    Budgets, Codes, Enrolled, Expired, Factors, FlowStates, Housekeeping, LoginRequests, OauthFlows, Purged, SendLimits, Sessions, Users,
};

const DAY: i64 = 86_400;

/// Rounds of at most `limit` until one removes nothing (at most 20); what they removed in all.
async fn drain<H: Housekeeping>(store: &H, expired: &Expired, limit: u32) -> Result<Purged, String> {
    let mut total = Purged::default();
    for _ in 0..20 {
        let round = store.purge(expired, limit).await.map_err(err)?;
        ensure!(round.most() <= limit as usize, "a round of limit {limit} removed {round:?}");
        if round == Purged::default() {
            return Ok(total);
        }
        total.add(&round);
    }
    Err(format!("rounds of {limit} never ran out: {total:?} so far"))
}

/// Starts `s` with a refresh token of its own (`<session id>-t`).
async fn start<S: Sessions>(sessions: &S, s: &Session) -> Result<(), String> {
    let token = refresh(s, &format!("{}-t", s.id.as_str()), None, s.created_at);
    ensure!(sessions.start(s, &token, None, None).await.map_err(err)?, "session {} did not start", s.id.as_str());
    Ok(())
}

async fn gone<S: Sessions>(sessions: &S, s: &Session) -> Result<bool, String> {
    Ok(sessions.get(&s.id).await.map_err(err)?.is_none())
}

async fn code_is_there<C: Codes>(codes: &C, c: &OneTimeCode) -> Result<bool, String> {
    Ok(codes.by_link_hash(&c.link_hash).await.map_err(err)?.is_some())
}

pub(super) async fn purge<S>(store: &S, nonce: &str, now: Timestamp) -> Result<(), String>
where
    S: Users + Sessions + Codes + FlowStates + OauthFlows + LoginRequests + Budgets + SendLimits + Factors + Housekeeping,
{
    let long_ago = now.plus_secs(-3650 * DAY);
    let cutoff = long_ago.plus_secs(DAY);
    let later = long_ago.plus_secs(2 * DAY);
    let user = rotation_user(store, nonce, "purge", now).await?;
    let unconfirmed = User {
        id: UserId::new(format!("contract-purge-pending-{nonce}")),
        email: Some(format!("contract-purge-pending-{nonce}@example.com")),
        email_confirmed_at: None,
        ..user.clone()
    };
    Users::insert(store, &unconfirmed).await.map_err(err)?;

    // Sessions: ended long ago, ended after the cutoff, idle since long ago, started long ago
    // but refreshed or used now, and one started now whose tokens were used long ago, after
    // the cutoff, and not yet.
    let at = |id: &str, t: Timestamp| session(&user, &format!("pg-{id}-{nonce}"), t);
    let (ended, ended_later, idle) = (at("ended", long_ago), at("ended-later", long_ago), at("idle", long_ago));
    let refreshed = Session { refreshed_at: now, ..at("refreshed", long_ago) };
    let used = Session { last_active_at: now, ..at("used", long_ago) };
    let chain = at("chain", now);
    for s in [&ended, &ended_later, &idle, &refreshed, &used, &chain] {
        start(store, s).await?;
    }
    store.revoke(&user.id, &ended.id, LogoutScope::Local, long_ago).await.map_err(err)?;
    store.revoke(&user.id, &ended_later.id, LogoutScope::Local, later).await.map_err(err)?;
    let token = |n: &str| format!("{}-{n}", chain.id.as_str());
    store.rotate(&token("t"), &refresh(&chain, &token("t2"), Some(&token("t")), long_ago), long_ago).await.map_err(err)?;
    store.rotate(&token("t2"), &refresh(&chain, &token("t3"), Some(&token("t2")), later), later).await.map_err(err)?;

    // Codes: expired long ago (a recovery code, and the sign-up code of a confirmed account),
    // expiring after the cutoff, live, and the expired sign-up code of an unconfirmed account.
    let mailed = |who: &User, purpose: Purpose, id: &str, t: Timestamp| OneTimeCode {
        purpose,
        ..code(who, &format!("pg-{id}-{nonce}"), &format!("pg-link-{id}-{nonce}"), t)
    };
    let old_recovery = mailed(&user, Purpose::Recovery, "recovery", long_ago);
    let old_signup = mailed(&user, Purpose::Signup, "signup", long_ago);
    let later_change = OneTimeCode { expires_at: later, ..mailed(&user, Purpose::EmailChange, "change", long_ago) };
    let live_link = mailed(&user, Purpose::MagicLink, "magic", now);
    let pending_signup = mailed(&unconfirmed, Purpose::Signup, "pending", long_ago);
    for c in [&old_recovery, &old_signup, &later_change, &live_link, &pending_signup] {
        Codes::put(store, c).await.map_err(err)?;
    }

    // Auth codes, sign-in requests, budgets and send limits: one long expired, one live.
    let flow = |n: &str, t: Timestamp| FlowState {
        auth_code_hash: format!("pg-{n}-{nonce}"),
        user_id: user.id.clone(),
        method: AuthMethod::MagicLink,
        challenge: PkceChallenge { method: PkceMethod::S256, challenge: "c".repeat(43) },
        created_at: t,
        expires_at: t.plus_secs(300),
        provider_tokens: None,
    };
    let (old_flow, live_flow) = (flow("flow-old", long_ago), flow("flow-live", now));
    let request = |n: &str, t: Timestamp| LoginRequest {
        id: LoginRequestId::new(format!("pg-{n}-{nonce}")),
        user_id: user.id.clone(),
        platform: "Contract Phone".into(),
        link_hash: format!("pg-link-{n}-{nonce}"),
        page_hash: None,
        state: LoginState::Pending,
        created_at: t,
        expires_at: t.plus_secs(600),
    };
    let (old_request, live_request) = (request("request-old", long_ago), request("request-live", now));
    for f in [&old_flow, &live_flow] {
        FlowStates::put(store, f).await.map_err(err)?;
    }
    // A sign-in through a provider's pages, long expired and live: purged with the auth codes.
    let oauth = |n: &str, t: Timestamp| OauthFlow {
        state_hash: format!("pg-{n}-{nonce}"),
        provider: "acme".into(),
        dialect: crate::model::Dialect::Gotrue,
        redirect_to: "https://app.example.com/".into(),
        challenge: None,
        link: None,
        created_at: t,
        expires_at: t.plus_secs(300),
    };
    let (old_oauth, live_oauth) = (oauth("oauth-old", long_ago), oauth("oauth-live", now));
    for f in [&old_oauth, &live_oauth] {
        store.put_oauth_flow(f, long_ago.plus_secs(-DAY)).await.map_err(err)?;
    }
    for r in [&old_request, &live_request] {
        LoginRequests::put(store, r).await.map_err(err)?;
    }
    let (old_key, live_key) = (format!("pg-old:{nonce}"), format!("pg-live:{nonce}"));
    let (old_address, live_address) = (format!("pg-old-{nonce}@example.com"), format!("pg-live-{nonce}@example.com"));
    ensure!(Budgets::take(store, &old_key, long_ago, 3600, 1).await.map_err(err)?, "the old budget was refused");
    ensure!(Budgets::take(store, &live_key, now, 3600, 1).await.map_err(err)?, "the live budget was refused");
    ensure!(SendLimits::claim(store, &old_address, Purpose::Recovery, long_ago, 60).await.map_err(err)?.is_none(), "the old send was refused");
    ensure!(SendLimits::claim(store, &live_address, Purpose::Recovery, now, 60).await.map_err(err)?.is_none(), "the live send was refused");

    // Second factors: one enrolled long ago and never verified (it goes), one enrolled now with
    // a challenge made long ago (the challenge goes) and one made now (both stay).
    let factor = |n: &str, t: Timestamp| Factor {
        id: FactorId::new(format!("pg-{n}-{nonce}")),
        user_id: user.id.clone(),
        friendly_name: format!("pg-{n}"),
        kind: FactorKind::Totp,
        verified: false,
        sealed_secret: "v1.sealed".into(),
        last_step: None,
        created_at: t,
        updated_at: t,
        last_challenged_at: None,
        credential: None,
    };
    let (old_factor, live_factor) = (factor("factor-old", long_ago), factor("factor-live", now));
    for f in [&old_factor, &live_factor] {
        let stored = Factors::enroll(store, f, &chain.id, 100, long_ago.plus_secs(-DAY)).await.map_err(err)?;
        ensure!(stored == Enrolled::Stored, "factor {} was {stored:?}", f.id);
    }
    let challenge = |n: &str, t: Timestamp| Challenge {
        id: ChallengeId::new(format!("pg-{n}-{nonce}")),
        factor_id: live_factor.id.clone(),
        created_at: t,
        verified_at: None,
        client: String::new(),
        webauthn_challenge: None,
    };
    let (old_challenge, live_challenge) = (challenge("challenge-old", long_ago), challenge("challenge-live", now));
    for c in [&old_challenge, &live_challenge] {
        Factors::challenge(store, c, long_ago.plus_secs(-DAY)).await.map_err(err)?;
    }

    // Without a timebox or inactivity timeout: one of each kind a round, then the rest.
    let mut expired = Expired {
        ended_before: cutoff,
        started_before: None,
        idle_before: None,
        used_before: cutoff,
        codes_before: cutoff,
        flow_states_before: cutoff,
        login_requests_before: cutoff,
        windows_before: cutoff,
        sent_before: cutoff,
        challenges_before: cutoff,
        enrollments_before: cutoff,
    };
    let one_each = Purged {
        sessions: 1,
        refresh_tokens: 1,
        codes: 1,
        // An auth code and a provider's flow: one of each kind per round.
        flow_states: 2,
        login_requests: 1,
        budgets: 1,
        send_limits: 1,
        challenges: 1,
        factors: 1,
    };
    let first = store.purge(&expired, 1).await.map_err(err)?;
    ensure!(first == one_each, "a first round of limit 1 removed {first:?}");
    let rest = drain(store, &expired, 1).await?;
    ensure!(rest == Purged { codes: 1, ..Purged::default() }, "the rounds after the first removed {rest:?}");

    ensure!(gone(store, &ended).await?, "a session ended long ago stayed");
    ensure!(store.refresh_token(&format!("{}-t", ended.id.as_str())).await.map_err(err)?.is_none(), "an ended session's token stayed");
    for s in [&ended_later, &idle, &refreshed, &used, &chain] {
        ensure!(!gone(store, s).await?, "session {} went without a timebox or timeout", s.id.as_str());
    }
    ensure!(store.refresh_token(&token("t")).await.map_err(err)?.is_none(), "a token used long ago stayed");
    ensure!(store.refresh_token(&token("t2")).await.map_err(err)?.is_some(), "a token used after the cutoff went");
    ensure!(store.refresh_token(&token("t3")).await.map_err(err)?.is_some(), "a token never used went");
    ensure!(!code_is_there(store, &old_recovery).await?, "an expired code stayed");
    ensure!(!code_is_there(store, &old_signup).await?, "a confirmed account's expired sign-up code stayed");
    ensure!(code_is_there(store, &later_change).await?, "a code expiring after the cutoff went");
    ensure!(code_is_there(store, &live_link).await?, "a live code went");
    ensure!(code_is_there(store, &pending_signup).await?, "an unconfirmed account's sign-up code went");
    ensure!(LoginRequests::by_id(store, &old_request.id).await.map_err(err)?.is_none(), "an expired sign-in request stayed");
    let factors: Vec<FactorId> = Factors::of_user(store, &user.id).await.map_err(err)?.into_iter().map(|f| f.id).collect();
    ensure!(factors == [live_factor.id.clone()], "the factors left are {factors:?}");
    ensure!(Factors::get_challenge(store, &live_factor.id, &old_challenge.id).await.map_err(err)?.is_none(), "an old challenge stayed");
    ensure!(Factors::get_challenge(store, &live_factor.id, &live_challenge.id).await.map_err(err)?.is_some(), "a live challenge went");
    ensure!(LoginRequests::by_id(store, &live_request.id).await.map_err(err)?.is_some(), "a live sign-in request went");

    // The inactivity timeout: sessions last active long ago go, ended or not; a refresh or a
    // use counts as activity.
    expired.idle_before = Some(cutoff);
    let idle_round = drain(store, &expired, 1).await?;
    ensure!(idle_round == Purged { sessions: 2, ..Purged::default() }, "the inactivity timeout removed {idle_round:?}");
    ensure!(gone(store, &idle).await? && gone(store, &ended_later).await?, "an idle session stayed");
    ensure!(!gone(store, &refreshed).await? && !gone(store, &used).await?, "a session refreshed or used now went");

    // The timebox: sessions started long ago go, however active.
    expired.started_before = Some(cutoff);
    let timebox_round = drain(store, &expired, 10).await?;
    ensure!(timebox_round == Purged { sessions: 2, ..Purged::default() }, "the timebox removed {timebox_round:?}");
    ensure!(gone(store, &refreshed).await? && gone(store, &used).await?, "a session started long ago stayed");
    ensure!(!gone(store, &chain).await?, "a session started now went");
    ensure!(store.refresh_token(&token("t3")).await.map_err(err)?.is_some(), "the live session's token went");

    // Nothing is left to remove; what stayed still counts.
    let again = store.purge(&expired, 10).await.map_err(err)?;
    ensure!(again == Purged::default(), "a round with nothing expired removed {again:?}");
    ensure!(FlowStates::take(store, &live_flow.auth_code_hash).await.map_err(err)?.is_some(), "a live auth code went");
    ensure!(FlowStates::take(store, &old_flow.auth_code_hash).await.map_err(err)?.is_none(), "an expired auth code stayed");
    ensure!(store.take_oauth_flow(&live_oauth.state_hash).await.map_err(err)?.is_some(), "a live provider flow went");
    ensure!(store.take_oauth_flow(&old_oauth.state_hash).await.map_err(err)?.is_none(), "an expired provider flow stayed");
    ensure!(!Budgets::take(store, &live_key, now.plus_secs(1), 3600, 1).await.map_err(err)?, "a budget in its window went");
    ensure!(SendLimits::claim(store, &live_address, Purpose::Recovery, now.plus_secs(1), 60).await.map_err(err)? == Some(now), "a live send limit went");
    // Within its old window, a purged budget counts from one again, and a purged send limit
    // is free: both are written anew, dated long ago, and the next round removes them.
    ensure!(Budgets::take(store, &old_key, long_ago.plus_secs(1), 3600, 1).await.map_err(err)?, "a budget whose window passed stayed");
    ensure!(SendLimits::claim(store, &old_address, Purpose::Recovery, long_ago.plus_secs(1), 60).await.map_err(err)?.is_none(), "an old send limit stayed");
    let last = drain(store, &expired, 10).await?;
    ensure!(last == Purged { budgets: 1, send_limits: 1, ..Purged::default() }, "the last rounds removed {last:?}");
    Ok(())
}
