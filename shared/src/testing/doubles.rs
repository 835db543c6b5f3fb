//! Test doubles for the non-storage ports: a clock that stands still until moved, seeded
//! randomness, and a mailer that keeps what it sends (or fails on demand).

use crate::model::{Mail, Timestamp};
use crate::ports::{Clock, MailError, Mailer, Rng};
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
