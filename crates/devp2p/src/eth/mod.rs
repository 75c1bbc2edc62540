//! The eth wire protocol, versions 68 and 69: the messages a syncing node exchanges with a full
//! node (Status, headers, bodies, receipts), and the gossip it must tolerate.
//!
//! Every decoder here bounds what it builds before building it: list counts are capped
//! ([`limits`]), lists grow one decoded item at a time (never pre-sized from a length field),
//! and every item consumes input bytes, so memory is bounded by the message, itself bounded by
//! [`RlpxConfig::max_message_bytes`](crate::RlpxConfig::max_message_bytes).

mod bodies;
mod gossip;
mod headers;
pub mod limits;
mod message;
mod receipts;
mod rlp;
mod status;
mod version;

pub use bodies::{BlockBodies, GetBlockBodies};
pub use gossip::{BlockRangeUpdate, Gossip, GossipKind};
pub use headers::{BlockHeaders, GetBlockHeaders};
pub use message::{EthMessage, ids};
pub use receipts::{GetReceipts, Receipts};
pub use status::{Status, StatusEth68, StatusEth69};
pub use version::EthVersion;

#[cfg(test)]
mod tests;
