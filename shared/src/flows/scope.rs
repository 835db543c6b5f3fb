//! What belongs to one request, as opposed to the long-lived service ([`super::Auth`]), which
//! holds only what every request shares (settings, derived keys, ports).
//!
//! A [`Scope`] goes into every flow call with the request: who asked (the client, as the
//! throttles key it), the request's id (under which its internal errors are logged), and the
//! one instant the request's decisions are taken at. What the flows leave to do after the
//! answer (mail to store and send, budget units to give back) collects in the scope and comes
//! back out as an [`Outbox`], which the adapter hands to [`super::Auth::deliver`] once the
//! answer is on its way. So one service can answer any number of requests at once without one
//! request's client, mail or give-backs reaching another's.

use super::mailing::Outgoing;
use crate::model::Timestamp;
use std::cell::RefCell;

/// One request's scope.
#[derive(Debug)]
pub struct Scope {
    /// The client, in the form the throttles key it (see [`throttle_key`]).
    client: String,
    /// The request's id: the error id of its internal errors.
    request_id: String,
    /// When the request is answered.
    now: Timestamp,
    /// What the flows left to do after the answer.
    outbox: RefCell<Outbox>,
}

impl Scope {
    /// A scope for a request from `client` (an IP address as the platform reports it, or
    /// whatever identifies the caller), with `request_id`, answered at `now`.
    pub fn new(client: &str, request_id: String, now: Timestamp) -> Self {
        let outbox = Outbox { request_id: request_id.clone(), ..Outbox::default() };
        Self { client: throttle_key(client), request_id, now, outbox: RefCell::new(outbox) }
    }

    /// The client, as the throttles key it.
    pub fn client(&self) -> &str {
        &self.client
    }

    /// The request's id.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// When the request is answered.
    pub fn now(&self) -> Timestamp {
        self.now
    }

    /// Queues mail (with the records it needs stored first) for after the answer.
    pub(super) fn queue_mail(&self, outgoing: Outgoing) {
        self.outbox.borrow_mut().mails.push(outgoing);
    }

    /// Queues a budget unit to give back after the answer.
    pub(super) fn queue_give_back(&self, key: String) {
        self.outbox.borrow_mut().give_backs.push(key);
    }

    /// What the request left to do after its answer; the scope's outbox is empty afterwards.
    pub fn take_outbox(&self) -> Outbox {
        let request_id = self.request_id.clone();
        std::mem::replace(&mut *self.outbox.borrow_mut(), Outbox { request_id, ..Outbox::default() })
    }
}

/// What one request left to do after its answer: mail to store and send, budget units to give
/// back. Nothing in it is shown to the client.
#[derive(Debug, Default)]
pub struct Outbox {
    /// The request's id, for errors while delivering.
    pub(super) request_id: String,
    /// Mail, each with what it needs stored first.
    pub(super) mails: Vec<Outgoing>,
    /// `Budgets` keys to give a unit back to.
    pub(super) give_backs: Vec<String>,
}

impl Outbox {
    /// Whether there is nothing to do.
    pub fn is_empty(&self) -> bool {
        self.mails.is_empty() && self.give_backs.is_empty()
    }

    /// The addresses of the mails queued, in order (for tests and logs; never the contents).
    pub fn recipients(&self) -> Vec<&str> {
        self.mails.iter().flat_map(Outgoing::recipients).collect()
    }
}

/// The client as throttles key it: an IPv6 client counts as its /64, which one host typically
/// holds whole (per address it could take 2^64 budgets); anything that is not an address is
/// cut to 64 characters, since it may be the client's own word.
fn throttle_key(client: &str) -> String {
    let client = client.trim();
    match client.parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(v6)) => {
            let prefix = u128::from(v6) & !((1u128 << 64) - 1);
            format!("{}/64", std::net::Ipv6Addr::from(prefix))
        }
        Ok(std::net::IpAddr::V4(v4)) => v4.to_string(),
        Err(_) => client.chars().take(64).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_client_is_keyed_by_its_64_prefix_and_junk_is_cut() {
        assert_eq!(throttle_key("2001:db8:1:2:3:4:5:6"), "2001:db8:1:2::/64");
        assert_eq!(throttle_key(" 192.0.2.7 "), "192.0.2.7");
        assert_eq!(throttle_key(&"x".repeat(100)).len(), 64);
    }

    #[test]
    fn taking_the_outbox_leaves_it_empty() {
        let scope = Scope::new("192.0.2.7", "abc".into(), Timestamp(0));
        scope.queue_give_back("login:x".into());
        let out = scope.take_outbox();
        assert_eq!((out.give_backs.len(), out.request_id.as_str()), (1, "abc"));
        assert!(scope.take_outbox().is_empty());
    }
}
