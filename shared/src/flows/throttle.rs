//! Throttles on what an attacker repeats: password checks, code verifications and mail sends,
//! counted exactly in the store's budgets (D1), so they hold across isolates and locations.
//!
//! Per client (the request scope's client: the header `RATE_LIMIT_HEADER` names, on Cloudflare
//! `CF-Connecting-IP`, which the edge sets; without it every request is one client):
//! - `login:<client>:<account name>`: password checks of one account from one client
//!   (`LOGIN_MAX_PER_CLIENT` per `THROTTLE_WINDOW`). A stranger who hammers an account uses
//!   up only their own client's budget: the owner's next sign-in, from anywhere else, meets
//!   none of it. A right password gives its unit back.
//! - `client:<client>`: everything throttled that one client does, across accounts
//!   (`CLIENT_MAX_ATTEMPTS` per `THROTTLE_WINDOW`), against spraying many accounts.
//!
//!
//! And per account, across clients:
//! - `account:<account name>`: password checks of one account from every client together
//!   (`LOGIN_MAX_PER_ACCOUNT` per `THROTTLE_WINDOW`), so that a guesser with many addresses
//!   gets a bounded number of guesses. Only guesses count: a sign-in gives its unit back. While
//!   it is used up, passwords of that account are refused from everywhere, the owner's too; the
//!   owner keeps the mailbox (magic link and code, recovery), which this budget does not touch,
//!   and, with CAPTCHA on, a sign-in with a verified response (`captcha`), which skips it.
//!
//! Codes have their own per-address budget of wrong guesses (`verify`).

use super::{Flows, FlowError, Human};
use crate::model::User;
use crate::ports::{AccountName, Budgets as _, Ports};

impl<P: Ports> Flows<P> {
    /// The request's client as throttles key it.
    pub(super) fn client(&self) -> &str {
        self.scope.client()
    }

    fn client_key(&self) -> String {
        format!("client:{}", self.client())
    }

    fn login_key(&self, account: &str) -> String {
        format!("login:{}:{}", self.client(), account.to_lowercase())
    }

    fn account_key(account: &str) -> String {
        format!("account:{}", account.to_lowercase())
    }

    /// Takes one password check of the account `name` names by this client (and of the
    /// account across clients), or refuses with [`FlowError::TooManyRequests`]; and finds that
    /// account, in the same round trip, before any hashing. A request that proved a person
    /// sent it ([`Human`]) is not held to the account's budget.
    pub(super) async fn throttle_login(&self, name: AccountName<'_>, human: Human) -> Result<Option<User>, FlowError> {
        let account = name.as_str();
        let (window, now) = (self.config.throttle_window_secs, self.now());
        let (login, client, across) = (self.login_key(account), self.client_key(), Self::account_key(account));
        let mut uses = vec![
            (login.as_str(), self.config.login_max_per_client),
            (client.as_str(), self.config.client_max_attempts),
        ];
        if !human.is_proven() {
            uses.push((across.as_str(), self.config.login_max_per_account));
        }
        match self.budgets_and_users().take_all_and_find(&uses, now, window, name).await? {
            (true, user) => Ok(user),
            (false, _) => Err(FlowError::TooManyRequests),
        }
    }

    /// A sign-in: gives back its units of this client's and the account's budgets for
    /// `account`, after the answer (with the mail, `mailing`), so it costs the sign-in no
    /// round trip.
    pub(super) fn login_succeeded(&self, account: &str, human: Human) {
        self.give_back_later(self.login_key(account));
        if !human.is_proven() {
            self.give_back_later(Self::account_key(account));
        }
    }

    /// Takes one throttled action (a code verification, a mail send) by this client, or
    /// refuses with [`FlowError::TooManyRequests`].
    pub(super) async fn throttle_client(&self) -> Result<(), FlowError> {
        let (window, max) = (self.config.throttle_window_secs, self.config.client_max_attempts);
        match self.budgets().take(&self.client_key(), self.now(), window, max).await? {
            true => Ok(()),
            false => Err(FlowError::TooManyRequests),
        }
    }
}
