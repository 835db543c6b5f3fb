//! The long-polling side of one connection: the packets waiting for the client's next poll,
//! and the one poll that may be held open for them.
//!
//! Engine.IO's long-polling client keeps one `GET` open; the server answers it as soon as
//! there is something to send (a ping comes within the ping interval, so it never waits
//! long). Here is what that takes, with no runtime: a queue bounded by one payload (a client
//! that sends without polling cannot make the server hold more than that: the connection
//! closes instead), the rule that a second poll at the same time is a protocol error, and a
//! future that is ready once packets are queued. The worker's Durable Object holds one
//! [`PollQueue`] per connection and only does the I/O.

use super::engine::{Packet, MAX_PAYLOAD};
use std::cell::RefCell;
use std::task::{Context, Poll, Waker};

/// What became of a packet queued for the next poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queued {
    /// It waits for the next poll (and wakes a waiting one).
    Yes,
    /// It does not fit in one payload: the connection must close.
    Overflow,
}

/// A second poll while one is held open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AlreadyPolling;

/// The packets waiting for the next poll, and the poll held open, if any.
#[derive(Debug, Default)]
pub struct PollQueue {
    packets: Vec<String>,
    waiting: Option<Waker>,
    polling: bool,
}

impl PollQueue {
    /// Queues an encoded packet for the next poll, waking a poll held open. The close packet
    /// always fits, so a closing connection can still say so.
    pub fn push(&mut self, packet: String) -> Queued {
        let held: usize = self.packets.iter().map(String::len).sum();
        if held + packet.len() > MAX_PAYLOAD && packet != Packet::Close.encode() {
            return Queued::Overflow;
        }
        self.packets.push(packet);
        if let Some(waker) = self.waiting.take() {
            waker.wake();
        }
        Queued::Yes
    }

    /// Takes every packet waiting (the client moved to the WebSocket, which gets them).
    pub fn take_all(&mut self) -> Vec<String> {
        std::mem::take(&mut self.packets)
    }

    /// Whether a poll is held open now.
    pub fn is_polling(&self) -> bool {
        self.polling
    }

    /// Starts a poll, unless one is held open already (upstream closes the connection then).
    pub fn begin(&mut self) -> Result<(), AlreadyPolling> {
        match self.polling {
            true => Err(AlreadyPolling),
            false => {
                self.polling = true;
                Ok(())
            }
        }
    }

    /// The waiting packets if there are any, else `Pending` with `cx`'s waker kept for
    /// [`PollQueue::push`]. Ends the poll when ready.
    pub fn poll_packets(&mut self, cx: &mut Context<'_>) -> Poll<Vec<String>> {
        if self.packets.is_empty() {
            self.waiting = Some(cx.waker().clone());
            return Poll::Pending;
        }
        self.polling = false;
        self.waiting = None;
        Poll::Ready(std::mem::take(&mut self.packets))
    }
}

/// Holds a poll open on `queue` until packets are queued, and returns them; the poll must have
/// [`PollQueue::begin`]un. The queue is borrowed only while polled, never across an await.
pub async fn next_packets(queue: &RefCell<PollQueue>) -> Vec<String> {
    std::future::poll_fn(|cx| queue.borrow_mut().poll_packets(cx)).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::future::Future;
    use std::pin::pin;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    struct CountingWaker(AtomicUsize);
    impl Wake for CountingWaker {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn a_held_poll_waits_for_a_packet_and_is_woken_by_it() {
        let queue = RefCell::new(PollQueue::default());
        queue.borrow_mut().begin().unwrap();
        let counter = Arc::new(CountingWaker(AtomicUsize::new(0)));
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let mut held = pin!(next_packets(&queue));
        assert!(held.as_mut().poll(&mut cx).is_pending());
        assert_eq!(queue.borrow_mut().push("2".into()), Queued::Yes);
        assert_eq!(counter.0.load(Ordering::SeqCst), 1, "the push woke the poll");
        assert_eq!(held.as_mut().poll(&mut cx), Poll::Ready(vec!["2".to_string()]));
        assert!(!queue.borrow().is_polling(), "the answered poll ended");
    }

    #[test]
    fn a_second_poll_while_one_is_held_is_refused() {
        let mut queue = PollQueue::default();
        assert_eq!(queue.begin(), Ok(()));
        assert_eq!(queue.begin(), Err(AlreadyPolling));
    }

    #[test]
    fn packets_queued_before_the_poll_are_answered_at_once_and_in_order() {
        let queue = RefCell::new(PollQueue::default());
        queue.borrow_mut().push("40".into());
        queue.borrow_mut().push("2".into());
        queue.borrow_mut().begin().unwrap();
        assert_eq!(pollster::block_on(next_packets(&queue)), ["40", "2"]);
    }

    #[test]
    fn more_than_one_payload_overflows_but_the_close_packet_still_fits() {
        let mut queue = PollQueue::default();
        assert_eq!(queue.push("x".repeat(MAX_PAYLOAD - 1)), Queued::Yes);
        assert_eq!(queue.push("xx".into()), Queued::Overflow);
        assert_eq!(queue.push(Packet::Close.encode()), Queued::Yes);
        assert_eq!(queue.take_all().len(), 2);
    }
}
