//! The most items an eth message may carry; more is refused before it is built.
//!
//! geth serves at most 1024 headers, bodies or receipt lists per request (`maxHeadersServe`,
//! `maxBodiesServe`, `maxReceiptsServe`) and snapsync never asks for more, so a larger list is
//! either hostile or an answer to a question not asked.

/// Most headers in `BlockHeaders`, and most hashes in `GetBlockBodies` / `GetReceipts`.
pub const MAX_HEADERS: usize = 1024;
/// Most hashes in `GetBlockBodies` or `GetReceipts`.
pub const MAX_HASHES: usize = 1024;
/// Most bodies in `BlockBodies`.
pub const MAX_BODIES: usize = 1024;
/// Most per-block receipt lists in `Receipts`.
pub const MAX_RECEIPT_LISTS: usize = 1024;
/// Most receipts of one block: a 300M-gas block of 21,000-gas transfers has 14,285.
pub const MAX_RECEIPTS_PER_BLOCK: usize = 16_384;
