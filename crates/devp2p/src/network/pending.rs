//! [`Pending`]: one peer's requests awaiting their replies, by request id and kind.
//!
//! A reply is delivered only to the request with its id *and* of its kind; anything else is
//! reported back as unsolicited or mismatched for the peer loop to count. Closing the table
//! fails every waiting request with [`RequestError::Disconnected`] and refuses new ones, so
//! no request outlives its connection.

use snapsync_net::{PeerId, RequestError, RequestKind, Response};
use std::{collections::HashMap, sync::Mutex};
use tokio::sync::oneshot;

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

#[derive(Debug, Default)]
struct Table {
    next_id: u64,
    closed: bool,
    waiting: HashMap<u64, (RequestKind, oneshot::Sender<Reply>)>,
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

    /// Registers a request of `kind` under a fresh id; `None` once the table is closed.
    pub(crate) fn insert(&self, kind: RequestKind) -> Option<(u64, oneshot::Receiver<Reply>)> {
        let mut table = self.table();
        if table.closed {
            return None;
        }
        let id = table.next_id;
        table.next_id = table.next_id.wrapping_add(1);
        let (sender, receiver) = oneshot::channel();
        table.waiting.insert(id, (kind, sender));
        Some((id, receiver))
    }

    /// Forgets the request `id` (its caller stopped waiting).
    pub(crate) fn remove(&self, id: u64) {
        self.table().waiting.remove(&id);
    }

    /// Hands `response` (carrying request id `id`) to the request waiting for it.
    pub(crate) fn resolve(&self, id: u64, response: Response) -> Resolution {
        let mut table = self.table();
        let Some((expected, _)) = table.waiting.get(&id) else { return Resolution::Unsolicited };
        let (expected, got) = (*expected, response.kind());
        if expected != got {
            return Resolution::Mismatched { expected, got };
        }
        if let Some((_, sender)) = table.waiting.remove(&id) {
            // The receiver may have gone (its deadline passed a moment ago): nothing to do.
            let _ = sender.send(Ok(response));
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
        for (_, (_, sender)) in waiting {
            let _ = sender.send(Err(RequestError::Disconnected { peer: self.peer }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_reach_only_their_request() {
        let pending = Pending::new(PeerId::from_index(1));
        let (id, mut receiver) = pending.insert(RequestKind::BlockHeaders).unwrap();
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
    }

    #[test]
    fn closing_fails_the_waiting_and_refuses_new_requests() {
        let peer = PeerId::from_index(2);
        let pending = Pending::new(peer);
        let (_, mut receiver) = pending.insert(RequestKind::TrieNodes).unwrap();
        pending.close();
        assert_eq!(receiver.try_recv().unwrap(), Err(RequestError::Disconnected { peer }));
        assert!(pending.insert(RequestKind::TrieNodes).is_none());
        assert_eq!(pending.len(), 0);
    }
}
