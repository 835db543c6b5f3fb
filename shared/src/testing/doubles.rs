//! Test doubles for the non-storage ports: a clock that stands still until moved, seeded
//! randomness, a mailer that keeps what it sends (or fails on demand), and outbound HTTP
//! answered by a script.

use crate::model::{Mail, Timestamp};
use crate::ports::{Clock, Http, HttpError, HttpReply, MailError, Mailer, Rng};
use std::cell::{Cell, RefCell};

/// A clock that stands still until moved.
#[derive(Debug)]
pub struct FixedClock(Cell<i64>);

impl FixedClock {
    /// Stopped at `ms` unix milliseconds.
    pub fn at(ms: i64) -> Self {
        Self(Cell::new(ms))
    }

    /// Moves the clock forward.
    pub fn advance_secs(&self, secs: i64) {
        self.0.set(self.0.get() + secs * 1000);
    }

    /// Moves the clock forward by milliseconds.
    pub fn advance_ms(&self, ms: i64) {
        self.0.set(self.0.get() + ms);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.get())
    }
}

/// Deterministic randomness (splitmix64): the same seed gives the same ids and codes.
#[derive(Debug)]
pub struct SeededRng(Cell<u64>);

impl SeededRng {
    /// Starts from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(Cell::new(seed))
    }
}

impl Rng for SeededRng {
    fn fill(&self, buf: &mut [u8]) {
        for chunk in buf.chunks_mut(8) {
            let mut z = self.0.get().wrapping_add(0x9E37_79B9_7F4A_7C15);
            self.0.set(z);
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            chunk.copy_from_slice(&z.to_le_bytes()[..chunk.len()]);
        }
    }
}

/// Keeps sent mails for inspection; can be told to fail.
#[derive(Debug, Default)]
pub struct MemoryMailer {
    /// Everything sent so far.
    pub sent: RefCell<Vec<Mail>>,
    /// When set, every send fails.
    pub fail: Cell<bool>,
}

impl Mailer for MemoryMailer {
    async fn send(&self, mail: &Mail) -> Result<(), MailError> {
        if self.fail.get() {
            return Err(MailError("connection refused (test)".into()));
        }
        self.sent.borrow_mut().push(mail.clone());
        Ok(())
    }
}

/// One outbound request as made: the URL and the form.
pub type SentRequest = (String, Vec<(String, String)>);
/// What answers an outbound request in a test.
type Script = Box<dyn Fn(&str, &[(&str, &str)]) -> Result<HttpReply, HttpError>>;

/// Outbound HTTP answered by a script: each request is recorded, and answered by the function
/// set with [`ScriptedHttp::answer_with`] (by default: no answer, as a network failure).
#[derive(Default)]
pub struct ScriptedHttp {
    /// Every request made: `(url, form)`.
    pub requests: RefCell<Vec<SentRequest>>,
    script: RefCell<Option<Script>>,
}

impl std::fmt::Debug for ScriptedHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptedHttp").field("requests", &self.requests.borrow().len()).finish()
    }
}

impl ScriptedHttp {
    /// Answers every later request with `script(url, form)`.
    pub fn answer_with(&self, script: impl Fn(&str, &[(&str, &str)]) -> Result<HttpReply, HttpError> + 'static) {
        *self.script.borrow_mut() = Some(Box::new(script));
    }
}

impl Http for ScriptedHttp {
    async fn post_form(&self, url: &str, form: &[(&str, &str)], _timeout_ms: u32) -> Result<HttpReply, HttpError> {
        self.requests.borrow_mut().push((url.to_string(), form.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()));
        match self.script.borrow().as_ref() {
            Some(script) => script(url, form),
            None => Err(HttpError("no script".into())),
        }
    }

    /// Recorded and scripted as a request whose only form field is its `authorization`
    /// header, if it has one.
    async fn get(&self, url: &str, bearer: Option<&str>, timeout_ms: u32) -> Result<HttpReply, HttpError> {
        let auth = bearer.map(|b| format!("Bearer {b}"));
        let fields: Vec<(&str, &str)> = auth.as_deref().map(|a| ("authorization", a)).into_iter().collect();
        self.post_form(url, &fields, timeout_ms).await
    }
}
