//! [`StateRoot`]: the state root after a block's writes.

use crate::{BlockError, Touched};
use alloy_primitives::B256;
use snapsync_primitives::AccountHash;
use snapsync_storage::{StateWrite, compute_state_root, compute_storage_root};

/// The state root of a store after writes. See the module docs.
#[derive(Debug, Clone, Copy)]
pub struct StateRoot;

impl StateRoot {
    /// The root of `account`'s storage over its slots in `txn`.
    ///
    /// # Errors
    /// Store failures.
    pub fn storage_root<W: StateWrite + ?Sized>(
        txn: &mut W,
        account: AccountHash,
    ) -> Result<B256, BlockError> {
        Ok(compute_storage_root(&*txn, account)?)
    }

    /// The state root of `txn`, every stored trie node rewritten.
    ///
    /// # Errors
    /// Store failures.
    pub fn rebuild<W: StateWrite + ?Sized>(txn: &mut W) -> Result<B256, BlockError> {
        Ok(compute_state_root(&*txn)?.state_root)
    }

    /// The state root of `txn` after the leaves in `touched` changed.
    ///
    /// # Errors
    /// Store failures.
    pub fn update<W: StateWrite + ?Sized>(
        txn: &mut W,
        touched: &Touched,
    ) -> Result<B256, BlockError> {
        let _ = touched;
        Ok(compute_state_root(&*txn)?.state_root)
    }
}
