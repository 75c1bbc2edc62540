//! [`HashedStateDb`]: revm's view of the synced state, read straight from the hashed tables.
//!
//! A snap-synced state has no preimages: accounts are stored under keccak(address) and slots
//! under keccak(slot). revm asks by address and slot, so each read hashes its key on access
//! ([`AccountHash::of`], [`SlotHash::of`]); codes are stored by their own hash, as revm asks
//! for them. BLOCKHASH reads the stored headers (the headers stage or an import stored them),
//! hashing the header's RLP.
//!
//! revm's `State` caches what it read for the block, so each key is read and hashed once per
//! block.

use crate::DatabaseError;
use alloy_primitives::{Address, B256, U256, keccak256};
use revm::{DatabaseRef, bytecode::Bytecode, state::AccountInfo};
use snapsync_primitives::{AccountHash, KECCAK_EMPTY, SlotHash};
use snapsync_storage::StateRead;

/// The state in a store, as a revm [`DatabaseRef`]. See the module docs.
pub struct HashedStateDb<'a, R: ?Sized> {
    store: &'a R,
}

impl<R: ?Sized> std::fmt::Debug for HashedStateDb<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HashedStateDb").finish_non_exhaustive()
    }
}

impl<'a, R: StateRead + ?Sized> HashedStateDb<'a, R> {
    /// A database reading `store` (a snapshot or a write transaction).
    pub const fn new(store: &'a R) -> Self {
        Self { store }
    }
}

/// The revm bytecode of stored code: analysed as legacy code unless it is an EIP-7702
/// delegation, which revm recognises by its prefix.
pub(crate) fn bytecode(code: alloy_primitives::Bytes) -> Bytecode {
    Bytecode::new_raw_checked(code.clone()).unwrap_or_else(|_| Bytecode::new_legacy(code))
}

impl<R: StateRead + ?Sized> DatabaseRef for HashedStateDb<'_, R> {
    type Error = DatabaseError;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Self::Error> {
        let Some(account) = self.store.account(&AccountHash::of(&address))? else {
            return Ok(None);
        };
        // The code is loaded on demand by hash (`code_by_hash_ref`); an account without code
        // carries the empty bytecode so revm does not ask.
        let code = (account.code_hash == KECCAK_EMPTY).then(Bytecode::default);
        Ok(Some(AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
            code,
            ..AccountInfo::default()
        }))
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Self::Error> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        // A state whose account names a code the store lacks is incomplete: the store says so.
        let code = self.store.code(&code_hash)?.ok_or(DatabaseError::MissingCode(code_hash))?;
        Ok(bytecode(code))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Self::Error> {
        let slot = SlotHash::of(&B256::from(index));
        Ok(self.store.slot(&AccountHash::of(&address), &slot)?.unwrap_or_default())
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Self::Error> {
        let header = self.store.header(number)?.ok_or(DatabaseError::MissingHeader(number))?;
        Ok(keccak256(&header))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Bytes;
    use snapsync_primitives::TrieAccount;
    use snapsync_storage::{StateStore, StateWrite, test_utils::MapStore};

    #[test]
    fn reads_hash_the_address_and_slot() {
        let store = MapStore::new();
        let address = Address::repeat_byte(0x11);
        let code = Bytes::from_static(&[0x60, 0x00, 0x60, 0x00]);
        let code_hash = keccak256(&code);
        let mut txn = store.writer().unwrap();
        let account =
            TrieAccount { nonce: 3, balance: U256::from(7), code_hash, ..TrieAccount::default() };
        txn.put_account(&AccountHash::of(&address), &account).unwrap();
        txn.put_code(&code_hash, &code).unwrap();
        let slot = B256::with_last_byte(1);
        txn.put_slot(&AccountHash::of(&address), &SlotHash::of(&slot), U256::from(9)).unwrap();
        txn.commit().unwrap();

        let view = store.reader().unwrap();
        let db = HashedStateDb::new(&view);
        let info = db.basic_ref(address).unwrap().unwrap();
        assert_eq!((info.nonce, info.balance, info.code_hash), (3, U256::from(7), code_hash));
        assert_eq!(db.code_by_hash_ref(code_hash).unwrap().original_bytes(), code);
        assert_eq!(db.storage_ref(address, U256::from(1)).unwrap(), U256::from(9));
        assert_eq!(db.storage_ref(address, U256::from(2)).unwrap(), U256::ZERO);
        assert!(db.basic_ref(Address::repeat_byte(0x22)).unwrap().is_none());
        assert!(matches!(db.block_hash_ref(5), Err(DatabaseError::MissingHeader(5))));
    }
}
