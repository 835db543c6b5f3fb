//! The scheduled purge (the Cron Trigger in `wrangler.toml`): what has expired, how much one run
//! removes, and what it logs.
//!
//! A record goes a day ([`GRACE_SECS`]) after the last moment any flow could use it, so a run
//! never races a live flow and a clock a little off changes nothing:
//!
//! - a session a day after it ended, or after its timebox or inactivity timeout
//!   (`SESSION_TIMEBOX`, `SESSION_INACTIVITY_TIMEOUT`) ran out, with its tokens; with neither
//!   set, a session lives until it is ended, and is kept until then;
//! - a refresh token a day after its reuse window (`REFRESH_TOKEN_REUSE_INTERVAL`) closed, once
//!   it was exchanged; a replay after that is refused as unknown instead of ending the session
//!   (as upstream GoTrue, which deletes used tokens after a day);
//! - a code, PKCE auth code, sign-in through a provider's pages or emailed sign-in request a day
//!   after it expired, except the sign-up code of an account that is still unconfirmed (a
//!   retried or re-sent sign-up reads it, expired or not);
//! - a budget a day after the longest window any budget counts in could have ended, a send limit
//!   a day after its interval (`SMTP_MAX_FREQUENCY`).
//!
//! A run makes at most [`ROUNDS`] rounds of at most [`BATCH`] records of each kind, and stops
//! early once a round finds fewer than that of every kind; a backlog goes over later runs. It
//! logs only counts.

use crate::d1::D1Store;
use crate::runtime::JsClock;
use portcullis_shared::model::Timestamp;
use portcullis_shared::ports::{Clock as _, Expired, Housekeeping, Purged, StoreError};
use portcullis_shared::Config;
use worker::{console_error, console_log, Env};

/// How long a record is kept after the last moment a flow could use it, seconds.
pub const GRACE_SECS: i64 = 86_400;

/// The longest window a budget counts in, seconds: `THROTTLE_WINDOW`, `OTP_WRONG_WINDOW` and
/// `SMTP_ADDRESS_WINDOW` may be at most a day; anonymous sign-ups count per hour.
const LONGEST_BUDGET_WINDOW_SECS: i64 = 86_400;

/// Records of each kind one round removes at most: one short write per table.
const BATCH: u32 = 1_000;

/// Rounds one run makes at most. At one run an hour that is up to 50,000 records of each kind
/// an hour, far beyond what one D1 database can be written at.
const ROUNDS: u32 = 50;

/// What has expired at `now` under `config`.
pub fn expired(config: &Config, now: Timestamp) -> Expired {
    let before = |secs: i64| now.plus_secs(-secs.saturating_add(GRACE_SECS));
    let bound = |secs: i64| (secs > 0).then(|| before(secs));
    Expired {
        ended_before: before(0),
        started_before: bound(config.session_timebox_secs),
        idle_before: bound(config.session_inactivity_timeout_secs),
        used_before: before(config.refresh_reuse_interval_secs),
        codes_before: before(0),
        flow_states_before: before(0),
        login_requests_before: before(0),
        windows_before: before(LONGEST_BUDGET_WINDOW_SECS),
        sent_before: before(config.mail_min_interval_secs),
        challenges_before: before(config.mfa.challenge_expiry_secs),
        enrollments_before: before(config.mfa.factor_expiry_secs),
    }
}

/// What one run removed, and in how many rounds.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Run {
    /// Records removed, by kind.
    pub purged: Purged,
    /// Rounds made.
    pub rounds: u32,
}

impl std::fmt::Display for Run {
    /// `kind=count ...`: counts only, never a key, an address or a token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let p = &self.purged;
        write!(
            f,
            "sessions={} refresh_tokens={} codes={} flow_states={} login_requests={} budgets={} send_limits={} \
             challenges={} factors={} rounds={}",
            p.sessions,
            p.refresh_tokens,
            p.codes,
            p.flow_states,
            p.login_requests,
            p.budgets,
            p.send_limits,
            p.challenges,
            p.factors,
            self.rounds
        )
    }
}

/// Purges what `expired` names from `store` in rounds of [`BATCH`], at most [`ROUNDS`] of them;
/// on a failure, what was removed before it, with the error.
pub async fn run<H: Housekeeping>(store: &H, expired: &Expired) -> Result<Run, (Run, StoreError)> {
    let mut done = Run::default();
    while done.rounds < ROUNDS {
        let round = match store.purge(expired, BATCH).await {
            Ok(round) => round,
            Err(e) => return Err((done, e)),
        };
        done.purged.add(&round);
        done.rounds += 1;
        if round.most() < BATCH as usize {
            break;
        }
    }
    Ok(done)
}

/// The Cron Trigger's run: the domain settings and the `DB` binding from `env`, the runtime's
/// clock, and one line in the log.
pub async fn scheduled(env: &Env) {
    let config = match crate::config::domain(env) {
        Ok(config) => config,
        Err(e) => return console_error!("portcullis purge: misconfigured: {e}"),
    };
    let db = match env.d1("DB") {
        Ok(db) => db,
        Err(e) => return console_error!("portcullis purge: no D1 binding DB: {e}"),
    };
    match run(&D1Store::new(db), &expired(&config, JsClock.now())).await {
        Ok(done) => console_log!("portcullis purge: {done}"),
        Err((done, e)) => console_error!("portcullis purge: failed after {done}: {e}"),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use portcullis_shared::model::{Session, SessionId, UserId};
    use portcullis_shared::ports::{Budgets as _, Sessions as _, Users as _};
    use portcullis_shared::testing::MemoryStore;

    const NOW: Timestamp = Timestamp(1_800_000_000_000);
    const HOUR: i64 = 3_600;
    const DAY: i64 = 86_400;

    fn config(extra: &[(&str, &str)]) -> Config {
        let mut vars = vec![
            ("SITE_URL", "http://127.0.0.1:3000"),
            ("API_EXTERNAL_URL", "http://127.0.0.1:8787"),
            ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
        ];
        vars.extend_from_slice(extra);
        Config::from_lookup(|k| vars.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())).unwrap()
    }

    #[test]
    fn by_default_sessions_live_until_ended_and_everything_else_goes_a_day_after_its_use() {
        let e = expired(&config(&[]), NOW);
        assert_eq!(e.ended_before, NOW.plus_secs(-DAY));
        assert_eq!((e.started_before, e.idle_before), (None, None), "no timebox, no inactivity timeout");
        assert_eq!(e.used_before, NOW.plus_secs(-DAY - 10), "a day past the 10 s reuse window");
        assert_eq!(e.codes_before, NOW.plus_secs(-DAY));
        assert_eq!(e.flow_states_before, NOW.plus_secs(-DAY));
        assert_eq!(e.login_requests_before, NOW.plus_secs(-DAY));
        assert_eq!(e.windows_before, NOW.plus_secs(-2 * DAY), "a day past the longest window");
        assert_eq!(e.sent_before, NOW.plus_secs(-DAY - 60), "a day past the 60 s send interval");
    }

    #[test]
    fn session_limits_and_windows_follow_the_settings() {
        let e = expired(
            &config(&[
                ("SESSION_TIMEBOX", "604800"),
                ("SESSION_INACTIVITY_TIMEOUT", "43200"),
                ("REFRESH_TOKEN_REUSE_INTERVAL", "3600"),
                ("SMTP_MAX_FREQUENCY", "86400"),
                ("THROTTLE_WINDOW", "86400"),
            ]),
            NOW,
        );
        assert_eq!(e.started_before, Some(NOW.plus_secs(-7 * DAY - DAY)));
        assert_eq!(e.idle_before, Some(NOW.plus_secs(-12 * HOUR - DAY)));
        assert_eq!(e.used_before, NOW.plus_secs(-HOUR - DAY));
        assert_eq!(e.sent_before, NOW.plus_secs(-2 * DAY));
        assert_eq!(e.windows_before, NOW.plus_secs(-2 * DAY), "no window is longer than a day");
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_run_stops_once_a_round_finds_less_than_a_batch_or_after_its_last_round() {
        let store = MemoryStore::default();
        let e = expired(&config(&[]), NOW);
        let old = NOW.plus_secs(-30 * DAY);
        let backlog = BATCH as usize * ROUNDS as usize + 7;
        for i in 0..backlog {
            assert!(store.take(&format!("k{i}"), old, 3600, 1).await.unwrap());
        }
        let first = run(&store, &e).await.unwrap();
        assert_eq!((first.purged.budgets, first.rounds), (BATCH as usize * ROUNDS as usize, ROUNDS));
        let second = run(&store, &e).await.unwrap();
        assert_eq!((second.purged.budgets, second.rounds), (7, 1));
        assert_eq!(run(&store, &e).await.unwrap(), Run { purged: Purged::default(), rounds: 1 });
    }

    #[tokio::test(flavor = "current_thread")]
    async fn a_session_ended_a_day_ago_goes_and_one_ended_just_now_stays() {
        let store = MemoryStore::default();
        let user = portcullis_shared::model::User::new(UserId::new("u"), Some("u@example.com"), serde_json::json!({}), NOW);
        store.insert(&user).await.unwrap();
        for (id, ended) in [("long", NOW.plus_secs(-DAY - 1)), ("just", NOW.plus_secs(-DAY + 1))] {
            let session = Session {
                id: SessionId::new(id),
                user_id: user.id.clone(),
                platform: String::new(),
                method: portcullis_shared::model::AuthMethod::Password,
                dialect: None,
                created_at: ended,
                refreshed_at: ended,
                last_active_at: ended,
                revoked_at: Some(ended),
                second: None,
            };
            let token = portcullis_shared::model::SessionToken {
                id: format!("{id}-t"),
                session_id: session.id.clone(),
                secret_hash: String::new(),
                created_at: ended,
            };
            assert!(store.start_with_token(&session, &token).await.unwrap());
        }
        let done = run(&store, &expired(&config(&[]), NOW)).await.unwrap();
        assert_eq!(done.purged.sessions, 1);
        assert!(store.get(&SessionId::new("long")).await.unwrap().is_none());
        assert!(store.get(&SessionId::new("just")).await.unwrap().is_some());
        assert!(done.to_string().starts_with("sessions=1 refresh_tokens=0 codes=0"), "{done}");
    }
}
