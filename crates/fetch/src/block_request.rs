//! [`BlockRequest`]: a part of some blocks (their bodies, their receipts), asked by block hash,
//! with the blocks' verified headers to check the answer against.

use alloy_consensus::Header;
use alloy_primitives::{B256, Sealed};
use snapsync_net::Availability;
use std::{fmt, marker::PhantomData};

/// The part of a block a [`BlockRequest`] asks for: what a peer answering with nothing lacks.
pub trait BlockPart {
    /// The mark for a peer that has not the part of the `count` blocks from `first` on.
    fn availability(first: B256, count: u64) -> Availability;
}

/// Block bodies (eth `GetBlockBodies`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodiesPart;

/// Block receipts (eth `GetReceipts`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceiptsPart;

impl BlockPart for BodiesPart {
    fn availability(first: B256, count: u64) -> Availability {
        Availability::Bodies { first, count }
    }
}

impl BlockPart for ReceiptsPart {
    fn availability(first: B256, count: u64) -> Availability {
        Availability::Receipts { first, count }
    }
}

/// What was asked: part `P` of these blocks, whose headers are verified (consecutive, rising).
pub struct BlockRequest<P> {
    /// The verified headers of the blocks, in request order.
    pub headers: Vec<Sealed<Header>>,
    part: PhantomData<fn() -> P>,
}

impl<P: BlockPart> BlockRequest<P> {
    /// Part `P` of the blocks of `headers`.
    pub const fn new(headers: Vec<Sealed<Header>>) -> Self {
        Self { headers, part: PhantomData }
    }

    /// The block hashes to send, in request order.
    pub fn hashes(&self) -> Vec<B256> {
        self.headers.iter().map(Sealed::hash).collect()
    }

    /// What a peer answering with nothing lacks.
    pub fn availability(&self) -> Availability {
        let first = self.headers.first().map_or(B256::ZERO, Sealed::hash);
        P::availability(first, u64::try_from(self.headers.len()).unwrap_or(u64::MAX))
    }
}

impl<P> fmt::Debug for BlockRequest<P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BlockRequest").field("headers", &self.headers).finish()
    }
}

impl<P> Clone for BlockRequest<P> {
    fn clone(&self) -> Self {
        Self { headers: self.headers.clone(), part: PhantomData }
    }
}

impl<P> PartialEq for BlockRequest<P> {
    fn eq(&self, other: &Self) -> bool {
        self.headers == other.headers
    }
}

impl<P> Eq for BlockRequest<P> {}

/// The bodies of some blocks.
pub type BlockBodiesRequest = BlockRequest<BodiesPart>;

/// The receipts of some blocks.
pub type BlockReceiptsRequest = BlockRequest<ReceiptsPart>;
