//! [`Pending`]: one peer's requests awaiting their replies, by request id and kind.
//!
//! A reply is delivered only to the request with its id *and* of its kind; anything else is
//! reported back as unsolicited or mismatched for the peer loop to count. Closing the table
//! fails every waiting request with [`RequestError::Disconnected`] and refuses new ones, so
//! no request outlives its connection.
//!
//! Each entry holds its request's slot of the peer's in-flight bound
//! ([`NetworkConfig::max_requests_per_peer`](crate::NetworkConfig)) until the request is
//! answered or its deadline passes, *not* until its caller stops waiting: a caller that gives
//! up early (a hedge answered elsewhere, a stopped sync) leaves the request outstanding on the
//! wire, and it keeps counting against the bound. Its late reply, if it comes before the
//! deadline, is still taken as an answer (the peer did nothing wrong), not as unsolicited.

use snapsync_net::{PeerId, RequestError, RequestKind, Response};
use std::{collections::HashMap, sync::Mutex};
use tokio::{
    sync::{OwnedSemaphorePermit, oneshot},
    time::Instant,
};

/// What a waiting request receives.
pub(crate) type Reply = Result<Response, RequestError>;

/// What became of a reply handed to [`Pending::resolve`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolution {
    /// It went to the request that asked for it.
    Delivered,
    /// No request of ours has its id (never sent, timed out, or answered already).
    Unsolicited,
    /// The request with its id asked for another kind; the request keeps waiting.
    Mismatched {
        /// The kind asked.
        expected: RequestKind,
        /// The kind of the reply.
        got: RequestKind,
    },
}

/// A request on the wire.
#[derive(Debug)]
struct Entry {
    kind: RequestKind,
    /// After this, the request is forgotten and a reply to it is unsolicited.
    deadline: Instant,
    /// Where the reply goes (its receiver is gone if the caller stopped waiting).
    sender: oneshot::Sender<Reply>,
    /// The request's slot of the peer's in-flight bound, freed with the entry.
    _slot: OwnedSemaphorePermit,
}

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    closed: bool,
    waiting: HashMap<u64, Entry>,
}

/// One peer's requests in flight.
#[derive(Debug)]
pub(crate) struct Pending {
    peer: PeerId,
    table: Mutex<Table>,
}

impl Pending {
    /// An empty table for `peer`.
    pub(crate) fn new(peer: PeerId) -> Self {
        Self { peer, table: Mutex::new(Table::default()) }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        // A poisoned table only means a panic elsewhere while it was held; its data is a map
        // of channels that stays consistent, so keep using it.
        self.table.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a request of `kind`, holding `slot` until it is answered or `deadline`
    /// passes, under a fresh id; `None` once the table is closed.
    pub(crate) fn insert(
        &self,
        kind: RequestKind,
        deadline: Instant,
        slot: OwnedSemaphorePermit,
    ) -> Option<(u64, oneshot::Receiver<Reply>)> {
        let mut table = self.table();
        if table.closed {
            return None;
        }
        let id = table.next_id;
        table.next_id = table.next_id.wrapping_add(1);
        let (sender, receiver) = oneshot::channel();
        table.waiting.insert(id, Entry { kind, deadline, sender, _slot: slot });
        Some((id, receiver))
    }

    /// Forgets the request `id` (it was never sent, or its deadline passed), freeing its slot.
    pub(crate) fn remove(&self, id: u64) {
        self.table().waiting.remove(&id);
    }

    /// Forgets the requests whose deadline passed by `now`, freeing their slots (those whose
    /// callers still wait time out on their own).
    pub(crate) fn expire(&self, now: Instant) {
        self.table().waiting.retain(|_, entry| entry.deadline > now);
    }

    /// Hands `response` (carrying request id `id`) to the request waiting for it.
    pub(crate) fn resolve(&self, id: u64, response: Response) -> Resolution {
        let mut table = self.table();
        let Some(entry) = table.waiting.get(&id) else { return Resolution::Unsolicited };
        let (expected, got) = (entry.kind, response.kind());
        if expected != got {
            return Resolution::Mismatched { expected, got };
        }
        if let Some(entry) = table.waiting.remove(&id) {
            // The receiver may have gone (its caller stopped waiting): the answer still
            // counts, and the slot is freed with the entry.
            let _ = entry.sender.send(Ok(response));
        }
        Resolution::Delivered
    }

    /// Requests waiting now.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.table().waiting.len()
    }

    /// Fails every waiting request with [`RequestError::Disconnected`] and refuses new ones.
    pub(crate) fn close(&self) {
        let waiting = {
            let mut table = self.table();
            table.closed = true;
            std::mem::take(&mut table.waiting)
        };
        for entry in waiting.into_values() {
            let _ = entry.sender.send(Err(RequestError::Disconnected { peer: self.peer }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::{sync::Arc, time::Duration};
    use tokio::sync::Semaphore;

    fn slot(slots: &Arc<Semaphore>) -> OwnedSemaphorePermit {
        Arc::clone(slots).try_acquire_owned().expect("a free slot")
    }

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(60)
    }

    #[test]
    fn replies_reach_only_their_request() {
        let pending = Pending::new(PeerId::from_index(1));
        let slots = Arc::new(Semaphore::new(1));
        let (id, mut receiver) =
            pending.insert(RequestKind::BlockHeaders, later(), slot(&slots)).unwrap();
        assert_eq!(
            pending.resolve(id + 1, Response::BlockHeaders(vec![])),
            Resolution::Unsolicited
        );
        assert_eq!(
            pending.resolve(id, Response::BlockBodies(vec![])),
            Resolution::Mismatched {
                expected: RequestKind::BlockHeaders,
                got: RequestKind::BlockBodies
            }
        );
        assert!(receiver.try_recv().is_err(), "a mismatched reply is not delivered");
        assert_eq!(pending.resolve(id, Response::BlockHeaders(vec![])), Resolution::Delivered);
        assert_eq!(receiver.try_recv().unwrap(), Ok(Response::BlockHeaders(vec![])));
        assert_eq!(pending.resolve(id, Response::BlockHeaders(vec![])), Resolution::Unsolicited);
        assert_eq!(slots.available_permits(), 1, "the answer freed the slot");
    }

    #[test]
    fn an_abandoned_request_keeps_its_slot_until_answered_or_expired() {
        let pending = Pending::new(PeerId::from_index(3));
        let slots = Arc::new(Semaphore::new(2));
        let now = Instant::now();
        let (answered, receiver) =
            pending.insert(RequestKind::BlockBodies, later(), slot(&slots)).unwrap();
        let deadline = now + Duration::from_secs(1);
        let (_, expiring) =
            pending.insert(RequestKind::BlockBodies, deadline, slot(&slots)).unwrap();
        // Both callers stop waiting: the requests are still on the wire.
        drop((receiver, expiring));
        assert_eq!(slots.available_permits(), 0);
        pending.expire(now);
        assert_eq!(pending.len(), 2);
        // A late answer is an answer, not unsolicited, and frees its slot.
        assert_eq!(pending.resolve(answered, Response::BlockBodies(vec![])), Resolution::Delivered);
        assert_eq!(slots.available_permits(), 1);
        // The other is forgotten at its deadline.
        pending.expire(deadline);
        assert_eq!(pending.len(), 0);
        assert_eq!(slots.available_permits(), 2);
    }

    #[test]
    fn closing_fails_the_waiting_and_refuses_new_requests() {
        let peer = PeerId::from_index(2);
        let pending = Pending::new(peer);
        let slots = Arc::new(Semaphore::new(2));
        let (_, mut receiver) =
            pending.insert(RequestKind::TrieNodes, later(), slot(&slots)).unwrap();
        pending.close();
        assert_eq!(receiver.try_recv().unwrap(), Err(RequestError::Disconnected { peer }));
        assert!(pending.insert(RequestKind::TrieNodes, later(), slot(&slots)).is_none());
        assert_eq!(pending.len(), 0);
        assert_eq!(slots.available_permits(), 2, "closing freed every slot");
    }
}
