//! The storage contract: one suite every storage backend must pass. The memory store runs it
//! natively (`cargo test`); the D1 store runs it inside workerd, in a worker built with the
//! `contract` feature for the e2e suite only (never in a deployed bundle).
//!
//! This file holds the suite's entry point and its list of checks, by name and in the order they
//! run: later checks build on what earlier ones stored, and the e2e suite counts them by name.
//! The checks themselves live in one file per storage port (`users`, `sessions`, `codes`,
//! `limits` for budgets and send limits, `login_requests`, `flow_states`, `first_proof`,
//! `factors` for WebAuthn factors' credentials and counters, `passkeys` for passkeys and their
//! challenges, `recovery_codes` for sets of recovery codes, `identities` for provider identities, `oauth_flows` for sign-ins through a provider's pages,
//! `housekeeping` for the purge of what has expired), with what they share in `support`. How a backend stores
//! anything never appears here.

mod codes;
mod factors;
mod first_proof;
mod flow_states;
mod housekeeping;
mod identities;
mod oauth_flows;
mod limits;
mod login_requests;
mod passkeys;
mod recovery_codes;
mod sessions;
mod signatures;
mod support;
mod users;

use crate::model::{Timestamp, User, UserId};
use crate::ports::{Housekeeping, Store};
use codes::{codes_attempts, codes_consume, codes_pair, codes_recipient, codes_replace};
use factors::webauthn_factors;
use first_proof::first_proof;
use flow_states::flow_states;
use housekeeping::purge;
use identities::{identities, identities_go_with_the_account};
use oauth_flows::oauth_flows;
use limits::{budgets_take, limits_claim};
use login_requests::login_requests;
use passkeys::passkeys;
use recovery_codes::recovery_codes;
use sessions::{sessions_revoke, sessions_rotate, sessions_start, sessions_start_guarded, sessions_tokens};
pub use signatures::run_signature_contract;
use users::{users_admin, users_conflict, users_delete, users_email_change, users_round_trip, users_updates};

/// One named check of the storage contract and how it went.
pub type ContractResult = (&'static str, Result<(), String>);

/// Runs the storage contract against a backend. `nonce` makes ids and addresses unique, so the
/// suite can run repeatedly against a persistent database; `now` is the time it pretends.
pub async fn run_store_contract<S: Store + Housekeeping>(store: &S, nonce: &str, now: Timestamp) -> Vec<ContractResult> {
    let (users, sessions, codes, limits, requests) = (store, store, store, store, store);
    let user = User {
        id: UserId::new(format!("contract-user-{nonce}")),
        email: Some(format!("contract-{nonce}@example.com")),
        username: Some(format!("Contract_{nonce}")),
        password_hash: Some("$argon2id$v=19$m=8,t=1,p=1$c2FsdHNhbHQ$aGFzaA".into()),
        email_confirmed_at: None,
        last_sign_in_at: None,
        user_metadata: serde_json::json!({"name": "Contract", "n": 1}),
        created_at: now,
        updated_at: now,
        ..User::new(UserId::new(""), None, serde_json::json!({}), now)
    };
    vec![
        ("users: insert then read back by email and by id", users_round_trip(users, &user).await),
        ("users: a second account with the same email is a conflict", users_conflict(users, &user, nonce).await),
        ("users: confirm and password changes are stored", users_updates(users, &user, now).await),
        ("sessions: start stores session and token and records the sign-in", sessions_start(users, sessions, &user, nonce, now).await),
        ("sessions: a start guarded by a replaced password stores nothing", sessions_start_guarded(users, sessions, &user, nonce, now).await),
        ("codes: put replaces the earlier code of the same purpose", codes_replace(codes, &user, nonce, now).await),
        ("codes: a pair is stored whole, replacing both purposes' codes; a keep can be forfeited", codes_pair(store, &user, nonce, now).await),
        ("codes: tries are capped and counted atomically", codes_attempts(codes, &user, nonce, now).await),
        ("codes: a code is consumed once and never when expired", codes_consume(codes, &user, nonce, now).await),
        ("codes: the newest code sent to an address is found by it", codes_recipient(codes, &user, nonce, now).await),
        ("users: an address can move only to a free address", users_email_change(users, &user, nonce, now).await),
        ("users: a first proof of the mailbox is one step, and ends what its sessions asked for", first_proof(store, nonce, now).await),
        ("sessions: rotation marks the parent once and stores one successor", sessions_rotate(sessions, nonce, now).await),
        ("sessions: logout scopes end the right sessions", sessions_revoke(users, sessions, nonce, now).await),
        ("send limits: one claim per interval, released claims free the slot", limits_claim(limits, nonce, now).await),
        ("budgets: counted per key and window, given back", budgets_take(store, nonce, now).await),
        ("sessions: token sessions are listed, touched at most once per interval", sessions_tokens(users, sessions, nonce, now).await),
        ("login requests: pages, one decision, one claim, nothing after expiry", login_requests(users, requests, nonce, now).await),
        ("users: deleting an account takes its sessions and codes and frees its address", users_delete(users, sessions, codes, nonce, now).await),
        ("users: service-role changes, pages newest first, soft deletion empties the account", users_admin(store, nonce, now).await),
        ("flow states: a code keeps its PKCE challenge; an auth code is taken once, and goes with its account", flow_states(store, nonce, now).await),
        ("factors: a WebAuthn credential is registered once across accounts, its counter only grows", webauthn_factors(store, nonce, now).await),
        ("passkeys: a challenge is taken once; a credential id is one passkey's or factor's; the counter moves from what was checked", passkeys(store, nonce, now).await),
        ("recovery codes: a set beside another factor from aal2, each code once, replaced whole with what the old codes raised lowered, gone with the last factor", recovery_codes(store, nonce, now).await),
        ("identities: a subject is one account's; an account stored with its identity is stored whole; a link lands only while the account is as seen", identities(store, nonce, now).await),
        ("identities: a first proof that forgets takes them, one that does not keeps them; a deletion, soft or not, takes them", identities_go_with_the_account(store, nonce, now).await),
        ("oauth flows: stored whole, taken once; a new start drops the expired, keeps the live", oauth_flows(store, nonce, now).await),
        ("housekeeping: a purge removes what expired, a bounded number a round, and keeps the rest", purge(store, nonce, now).await),
    ]
}
