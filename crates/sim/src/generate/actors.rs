//! [`Actors`]: who transacts on an [`ExecutedChain`](crate::ExecutedChain), and the
//! transactions they sign.
//!
//! A generated state has no preimages (accounts by hash only), so nothing in it can be sent
//! to or called by address. The chain's transactions come from accounts added to it: EOAs whose
//! keys are derived from the seed, each funded with [`SENDER_BALANCE`], and contracts at known
//! addresses running [`STORE_CODE`], which writes the (slot, value) pairs of its calldata (a
//! zero value clears the slot). Contract creations deploy the same code (their constructor
//! writes slot 0), so later calls can write to them too. The EIP-4788 beacon-roots contract is
//! added because the chain runs Cancun, whose every block writes it.
//!
//! Transactions are EIP-1559, signed with k256 (already in the build through alloy's `k256`
//! feature, which recovers them), with nonces tracked here so that every one is valid when its
//! block is built.

use crate::{GeneratedAccount, GeneratedState};
use alloy_consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy_eips::eip4788::{BEACON_ROOTS_ADDRESS, BEACON_ROOTS_CODE};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use k256::ecdsa::SigningKey;
use snapsync_primitives::{AccountHash, test_utils::TestRng};

/// The chain id transactions are signed for.
pub const CHAIN_ID: u64 = 1337;
/// Each sender's balance at genesis: 10^24 wei (a million ether), enough for millions of
/// transactions at [`MAX_FEE_PER_GAS`].
const SENDER_BALANCE: u128 = 1_000_000 * 1_000_000_000_000_000_000;
/// Most a transaction pays per gas: 100 gwei.
const MAX_FEE_PER_GAS: u128 = 100_000_000_000;
/// The priority fee: 1 gwei.
const PRIORITY_FEE_PER_GAS: u128 = 1_000_000_000;

/// Runtime code writing each 64-byte (slot, value) pair of its calldata:
/// `for (o = 0; o < calldatasize; o += 64) sstore(calldataload(o), calldataload(o + 32))`.
pub const STORE_CODE: [u8; 26] = [
    0x60, 0x00, // PUSH1 0           offset
    0x5b, // JUMPDEST (0x02)         loop
    0x36, 0x81, 0x10, 0x15, // CALLDATASIZE DUP2 LT ISZERO: offset >= size
    0x60, 0x18, 0x57, // PUSH1 0x18 JUMPI: to the end
    0x80, 0x60, 0x20, 0x01, 0x35, // DUP1 PUSH1 32 ADD CALLDATALOAD: value
    0x81, 0x35, 0x55, // DUP2 CALLDATALOAD SSTORE: slot = value
    0x60, 0x40, 0x01, // PUSH1 64 ADD
    0x60, 0x02, 0x56, // PUSH1 2 JUMP
    0x5b, 0x00, // JUMPDEST (0x18) STOP
];

/// Init code deploying [`STORE_CODE`] after writing 1 to slot 0.
fn create_code() -> Bytes {
    let mut code = vec![
        0x60, 0x01, 0x60, 0x00, 0x55, // sstore(0, 1)
        0x60, 0x1a, 0x80, // PUSH1 26 DUP1: size, size
        0x60, 0x10, 0x60, 0x00, 0x39, // PUSH1 16 PUSH1 0 CODECOPY: the runtime to memory 0
        0x60, 0x00, 0xf3, // PUSH1 0 RETURN: memory[0..26]
    ];
    code.extend_from_slice(&STORE_CODE);
    code.into()
}

/// Gas of a transfer.
const TRANSFER_GAS: u64 = 21_000;
/// Gas limit of a creation (it uses about 100,000).
const CREATE_GAS: u64 = 200_000;
/// Gas limit of a call: this much plus [`GAS_PER_SLOT`] per written slot (unused gas is
/// refunded, so a generous limit costs nothing).
const CALL_BASE_GAS: u64 = 30_000;
const GAS_PER_SLOT: u64 = 25_000;
/// Contracts running [`STORE_CODE`] at genesis, at `0x…c0de00`, `0x…c0de01`, ...
const GENESIS_CONTRACTS: u8 = 4;
/// Slots a storage call picks from in each contract: small, so calls overwrite and clear.
const SLOT_SPACE: usize = 256;

/// A signing key and its address.
#[derive(Debug, Clone)]
struct Sender {
    key: SigningKey,
    address: Address,
    nonce: u64,
}

/// The chain's EOAs and contracts, and the state of their nonces. See the module docs.
#[derive(Debug, Clone)]
pub struct Actors {
    senders: Vec<Sender>,
    /// Contracts running [`STORE_CODE`]: the genesis ones, then every one created.
    contracts: Vec<Address>,
    /// Addresses transfers and withdrawals may go to again.
    recipients: Vec<Address>,
    next_sender: usize,
}

/// The kinds of transactions a block carries, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TxKindMix {
    /// A value transfer, to a known address or a new one.
    Transfer,
    /// A call to a storage contract writing, overwriting or clearing slots.
    StorageCall,
    /// A contract creation.
    Create,
}

impl TxKindMix {
    /// The kind of a block's `index`-th transaction.
    pub const fn of(index: usize) -> Self {
        match index % 3 {
            0 => Self::Transfer,
            1 => Self::StorageCall,
            _ => Self::Create,
        }
    }
}

impl Actors {
    /// `senders` EOAs with keys derived from `seed`.
    pub fn new(seed: u64, senders: usize) -> Self {
        let senders: Vec<Sender> = (0..senders as u64).map(|index| sender(seed, index)).collect();
        let contracts: Vec<Address> = (0..GENESIS_CONTRACTS).map(contract_address).collect();
        let recipients = senders.iter().map(|sender| sender.address).collect();
        Self { senders, contracts, recipients, next_sender: 0 }
    }

    /// Adds the actors' accounts to `state`: the senders funded, the storage contracts and the
    /// beacon-roots contract deployed.
    pub fn add_to(&self, state: &mut GeneratedState) {
        for sender in &self.senders {
            state.insert_account(
                AccountHash::of(&sender.address),
                GeneratedAccount::new(0, U256::from(SENDER_BALANCE)),
            );
        }
        for contract in &self.contracts {
            let account = GeneratedAccount::new(1, U256::ZERO).with_code(STORE_CODE.into());
            state.insert_account(AccountHash::of(contract), account);
        }
        let beacon_roots =
            GeneratedAccount::new(1, U256::ZERO).with_code(BEACON_ROOTS_CODE.clone());
        state.insert_account(AccountHash::of(&BEACON_ROOTS_ADDRESS), beacon_roots);
    }

    /// An address a transfer or withdrawal may go to: a known one or, half the time, a new one
    /// (then known from here on).
    pub fn recipient(&mut self, rng: &mut TestRng) -> Address {
        if self.recipients.is_empty() || rng.below(2) == 0 {
            let address = Address::from_slice(&rng.bytes(20));
            self.recipients.push(address);
            return address;
        }
        self.recipients[rng.below(self.recipients.len())]
    }

    /// The next transaction of `kind`, signed by the next sender in turn; a storage call writes
    /// up to `slots_per_call` slots.
    pub fn transaction(
        &mut self,
        kind: TxKindMix,
        slots_per_call: usize,
        rng: &mut TestRng,
    ) -> TxEnvelope {
        let (to, value, input, gas_limit) = match kind {
            TxKindMix::Transfer => {
                let to = self.recipient(rng);
                let value = U256::from(1 + rng.below(1_000_000_000_000));
                (TxKind::Call(to), value, Bytes::new(), TRANSFER_GAS)
            }
            TxKindMix::StorageCall => {
                let contract = self.contracts[rng.below(self.contracts.len())];
                let slots = 1 + rng.below(slots_per_call.max(1));
                let input = storage_writes(slots, rng);
                (
                    TxKind::Call(contract),
                    U256::ZERO,
                    input,
                    CALL_BASE_GAS + GAS_PER_SLOT * slots as u64,
                )
            }
            TxKindMix::Create => (TxKind::Create, U256::ZERO, create_code(), CREATE_GAS),
        };
        let turn = self.next_sender;
        self.next_sender = (turn + 1) % self.senders.len();
        let sender = &mut self.senders[turn];
        let nonce = sender.nonce;
        sender.nonce += 1;
        if kind == TxKindMix::Create {
            self.contracts.push(sender.address.create(nonce));
        }
        let tx = TxEip1559 {
            chain_id: CHAIN_ID,
            nonce,
            gas_limit,
            max_fee_per_gas: MAX_FEE_PER_GAS,
            max_priority_fee_per_gas: PRIORITY_FEE_PER_GAS,
            to,
            value,
            access_list: Default::default(),
            input,
        };
        sign(&sender.key, tx)
    }

    /// Every contract running [`STORE_CODE`] so far (genesis ones, then created ones).
    pub fn contracts(&self) -> &[Address] {
        &self.contracts
    }
}

/// Calldata writing `slots` random slots of [`SLOT_SPACE`]: a quarter of the values zero
/// (clearing the slot if set).
fn storage_writes(slots: usize, rng: &mut TestRng) -> Bytes {
    let mut input = Vec::with_capacity(64 * slots);
    for _ in 0..slots {
        input.extend_from_slice(&B256::from(U256::from(rng.below(SLOT_SPACE))).0);
        let value = if rng.below(4) == 0 { U256::ZERO } else { U256::from(rng.next_u64() | 1) };
        input.extend_from_slice(&B256::from(value).0);
    }
    input.into()
}

/// The `index`-th storage contract's address: `0x00…00c0de` followed by the index.
fn contract_address(index: u8) -> Address {
    let mut bytes = [0u8; 20];
    bytes[17] = 0xc0;
    bytes[18] = 0xde;
    bytes[19] = index;
    Address::from(bytes)
}

/// The `index`-th sender of `seed`: its key is keccak(seed, index), hashed again in the
/// (astronomically unlikely) case it is not a valid secp256k1 scalar.
fn sender(seed: u64, index: u64) -> Sender {
    let mut material = keccak256([seed.to_be_bytes(), index.to_be_bytes()].concat());
    loop {
        if let Ok(key) = SigningKey::from_slice(material.as_slice()) {
            let point = key.verifying_key().to_encoded_point(false);
            // The uncompressed point is 0x04 followed by the 64 bytes an address hashes.
            let address = Address::from_raw_public_key(&point.as_bytes()[1..]);
            return Sender { key, address, nonce: 0 };
        }
        material = keccak256(material);
    }
}

/// `tx` signed by `key`.
fn sign(key: &SigningKey, tx: TxEip1559) -> TxEnvelope {
    let hash = tx.signature_hash();
    // Signing a 32-byte prehash with a valid key cannot fail (k256 fails only for a zero
    // scalar or an empty digest).
    #[allow(clippy::expect_used)]
    let signature =
        key.sign_prehash_recoverable(hash.as_slice()).expect("a valid key signs a hash");
    TxEnvelope::Eip1559(tx.into_signed(signature.into()))
}
