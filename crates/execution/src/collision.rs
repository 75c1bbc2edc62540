//! [`StorageCollision`]: EIP-7610's rule that a contract cannot be created at an address whose
//! storage is not empty, which revm does not apply (it checks the nonce and code only).
//!
//! Mainnet has a few such accounts (storage, no nonce, no code: left by pre-EIP-161 creations),
//! and ethereum/tests checks the rule. A revm inspector sees every contract creation before it
//! happens: when the created address's stored account has no nonce and no code but a storage
//! root, the creation fails as revm fails a nonce or code collision — the caller's nonce bumped,
//! the address warmed, all the gas given to the creation consumed, no address returned. Where
//! revm would fail the creation first (call depth, the caller's balance or nonce), the
//! inspector leaves it to revm.
//!
//! The storage is read from the state before the block: within a block nothing can give such an
//! account storage (it has no code to write it).

use alloy_primitives::Bytes;
use revm::{
    Inspector,
    context_interface::{ContextTr, JournalTr, journaled_state::account::JournaledAccountTr},
    interpreter::{CreateInputs, CreateOutcome, Gas, InstructionResult, InterpreterResult},
    primitives::constants::CALL_STACK_LIMIT,
};
use snapsync_primitives::{AccountHash, EMPTY_ROOT_HASH, KECCAK_EMPTY};
use snapsync_storage::StateRead;

/// The EIP-7610 inspector over the pre-block state in `store`. See the module docs.
pub(crate) struct StorageCollision<'a, R: ?Sized> {
    store: &'a R,
}

impl<'a, R: StateRead + ?Sized> StorageCollision<'a, R> {
    pub(crate) const fn new(store: &'a R) -> Self {
        Self { store }
    }

    /// Whether an account at the address's hash has storage but no nonce and no code.
    fn storage_only(&self, address: &alloy_primitives::Address) -> bool {
        matches!(
            self.store.account(&AccountHash::of(address)),
            Ok(Some(account)) if account.nonce == 0
                && account.code_hash == KECCAK_EMPTY
                && account.storage_root != EMPTY_ROOT_HASH
        )
    }
}

impl<CTX: ContextTr, R: StateRead + ?Sized> Inspector<CTX> for StorageCollision<'_, R> {
    fn create(&mut self, context: &mut CTX, inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        let journal = context.journal_mut();
        if u64::try_from(journal.depth()).unwrap_or(u64::MAX) > CALL_STACK_LIMIT {
            return None;
        }
        let caller = journal.load_account_mut(inputs.caller()).ok()?;
        if *caller.data.balance() < inputs.value() || caller.data.nonce() == u64::MAX {
            return None;
        }
        let address = inputs.created_address(caller.data.nonce());
        drop(caller);
        if !self.storage_only(&address) {
            return None;
        }
        let mut caller = journal.load_account_mut(inputs.caller()).ok()?;
        caller.data.bump_nonce();
        drop(caller);
        journal.load_account(address).ok()?;
        let gas = Gas::new_with_regular_gas_and_reservoir(inputs.gas_limit(), inputs.reservoir());
        Some(CreateOutcome {
            result: InterpreterResult::new(InstructionResult::CreateCollision, Bytes::new(), gas),
            address: None,
            charged_create_state_gas: inputs.charged_create_state_gas(),
        })
    }
}
