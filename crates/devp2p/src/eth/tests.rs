//! Round trips of every eth message through its encoder and decoder, for arbitrary values, and
//! arbitrary or mutated bytes through every decoder: an error or a value, never a panic, never
//! more items than the bounds.

use super::*;
use crate::EthWireError;
use alloy_consensus::{
    BlockBody, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, Signed, TxEnvelope, TxLegacy,
    TxReceipt, TxType,
};
use alloy_primitives::{Address, B256, Bytes, Log, LogData, Signature, TxKind, U256};
use proptest::{collection::vec, prelude::*};
use snapsync_genesis::{ForkHash, ForkId};
use snapsync_net::{BlockHashOrNumber, HeadersDirection, HeadersRequest};

fn b256() -> impl Strategy<Value = B256> {
    any::<[u8; 32]>().prop_map(B256::from)
}

fn fork_id() -> impl Strategy<Value = ForkId> {
    (any::<[u8; 4]>(), any::<u64>()).prop_map(|(hash, next)| ForkId { hash: ForkHash(hash), next })
}

fn status() -> impl Strategy<Value = Status> {
    let eth68 = (any::<u64>(), any::<[u8; 32]>(), b256(), b256(), fork_id()).prop_map(
        |(network_id, td, head, genesis, fork_id)| {
            Status::Eth68(StatusEth68 {
                network_id,
                total_difficulty: U256::from_be_bytes(td),
                head,
                genesis,
                fork_id,
            })
        },
    );
    let eth69 = (any::<u64>(), b256(), fork_id(), any::<u64>(), any::<u64>(), b256()).prop_map(
        |(network_id, genesis, fork_id, earliest, latest, latest_hash)| {
            Status::Eth69(StatusEth69 {
                network_id,
                genesis,
                fork_id,
                earliest,
                latest,
                latest_hash,
            })
        },
    );
    prop_oneof![eth68, eth69]
}

fn header() -> impl Strategy<Value = Header> {
    (
        b256(),
        any::<u64>(),
        any::<u64>(),
        vec(any::<u8>(), 0..40),
        any::<Option<u64>>(),
        any::<bool>(),
    )
        .prop_map(|(parent_hash, number, gas_limit, extra, base_fee, cancun)| Header {
            parent_hash,
            number,
            gas_limit,
            extra_data: extra.into(),
            base_fee_per_gas: base_fee.or(cancun.then_some(7)),
            withdrawals_root: cancun.then_some(B256::ZERO),
            blob_gas_used: cancun.then_some(1),
            excess_blob_gas: cancun.then_some(2),
            parent_beacon_block_root: cancun.then_some(parent_hash),
            ..Header::default()
        })
}

fn transaction() -> impl Strategy<Value = TxEnvelope> {
    (any::<u64>(), any::<u64>(), any::<[u8; 20]>(), vec(any::<u8>(), 0..64), 1u64..u64::MAX / 2)
        .prop_map(|(nonce, gas_limit, to, input, r)| {
            let tx = TxLegacy {
                chain_id: Some(1),
                nonce,
                gas_price: 7,
                gas_limit,
                to: TxKind::Call(Address::from(to)),
                value: U256::from(nonce),
                input: Bytes::from(input),
            };
            let signature = Signature::new(U256::from(r), U256::from(r + 1), nonce % 2 == 0);
            TxEnvelope::Legacy(Signed::new_unhashed(tx, signature))
        })
}

fn body() -> impl Strategy<Value = snapsync_net::EthBlockBody> {
    (vec(transaction(), 0..4), vec(header(), 0..2), any::<bool>()).prop_map(
        |(transactions, ommers, shanghai)| BlockBody {
            transactions,
            ommers,
            withdrawals: shanghai.then(Default::default),
        },
    )
}

fn receipt() -> impl Strategy<Value = ReceiptEnvelope> {
    let log = (any::<[u8; 20]>(), vec(b256(), 0..4), vec(any::<u8>(), 0..40)).prop_map(
        |(address, topics, data)| Log {
            address: Address::from(address),
            data: LogData::new_unchecked(topics, data.into()),
        },
    );
    (0u8..5, any::<bool>(), any::<u64>(), vec(log, 0..3)).prop_map(|(ty, success, gas, logs)| {
        let receipt = Receipt { status: success.into(), cumulative_gas_used: gas, logs };
        let bloom = receipt.bloom();
        let ty = TxType::try_from(ty).unwrap_or(TxType::Legacy);
        ReceiptEnvelope::from_typed(ty, ReceiptWithBloom::new(receipt, bloom))
    })
}

fn headers_request() -> impl Strategy<Value = HeadersRequest> {
    let start = prop_oneof![
        any::<u64>().prop_map(BlockHashOrNumber::Number),
        b256().prop_map(BlockHashOrNumber::Hash)
    ];
    (start, any::<u64>(), any::<u64>(), any::<bool>()).prop_map(|(start, limit, skip, reverse)| {
        let direction = if reverse { HeadersDirection::Falling } else { HeadersDirection::Rising };
        HeadersRequest { start, limit, skip, direction }
    })
}

fn version() -> impl Strategy<Value = EthVersion> {
    prop_oneof![Just(EthVersion::Eth68), Just(EthVersion::Eth69)]
}

/// Any message that can be sent, with a version it can be sent in.
fn message() -> impl Strategy<Value = (EthVersion, EthMessage)> {
    let request_id = any::<u64>();
    prop_oneof![
        status().prop_map(|s| (s.version(), EthMessage::Status(s))),
        (version(), request_id, headers_request()).prop_map(|(v, request_id, request)| {
            (v, EthMessage::GetBlockHeaders(GetBlockHeaders { request_id, request }))
        }),
        (version(), any::<u64>(), vec(header(), 0..5)).prop_map(|(v, request_id, headers)| {
            (v, EthMessage::BlockHeaders(BlockHeaders { request_id, headers }))
        }),
        (version(), any::<u64>(), vec(b256(), 0..5)).prop_map(|(v, request_id, hashes)| {
            (v, EthMessage::GetBlockBodies(GetBlockBodies { request_id, hashes }))
        }),
        (version(), any::<u64>(), vec(body(), 0..3)).prop_map(|(v, request_id, bodies)| {
            (v, EthMessage::BlockBodies(BlockBodies { request_id, bodies }))
        }),
        (version(), any::<u64>(), vec(b256(), 0..5)).prop_map(|(v, request_id, hashes)| {
            (v, EthMessage::GetReceipts(GetReceipts { request_id, hashes }))
        }),
        (version(), any::<u64>(), vec(vec(receipt(), 0..4), 0..3)).prop_map(
            |(v, request_id, receipts)| (
                v,
                EthMessage::Receipts(Receipts { request_id, receipts })
            )
        ),
        (any::<u64>(), any::<u64>(), b256()).prop_map(|(a, b, latest_hash)| {
            let update = BlockRangeUpdate { earliest: a.min(b), latest: a.max(b), latest_hash };
            (EthVersion::Eth69, EthMessage::BlockRangeUpdate(update))
        }),
    ]
}

const ALL_IDS: [u64; 15] = [
    ids::STATUS,
    ids::NEW_BLOCK_HASHES,
    ids::TRANSACTIONS,
    ids::GET_BLOCK_HEADERS,
    ids::BLOCK_HEADERS,
    ids::GET_BLOCK_BODIES,
    ids::BLOCK_BODIES,
    ids::NEW_BLOCK,
    ids::NEW_POOLED_TRANSACTION_HASHES,
    ids::GET_POOLED_TRANSACTIONS,
    ids::POOLED_TRANSACTIONS,
    ids::GET_RECEIPTS,
    ids::RECEIPTS,
    ids::BLOCK_RANGE_UPDATE,
    0x0b,
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn every_message_round_trips((version, message) in message()) {
        let payload = message.encode(version).expect("sendable in its version");
        let decoded = EthMessage::decode(version, message.id(), &payload).unwrap();
        prop_assert_eq!(&decoded, &message);
        prop_assert_eq!(decoded.request_id(), message.request_id());
    }

    #[test]
    fn mutated_messages_never_panic(
        (version, message) in message(),
        flips in vec((any::<prop::sample::Index>(), any::<u8>()), 1..4),
        cut in any::<prop::sample::Index>(),
    ) {
        let mut payload = message.encode(version).expect("sendable");
        for (at, byte) in flips {
            let index = at.index(payload.len());
            payload[index] ^= byte;
        }
        for id in ALL_IDS {
            let _ = EthMessage::decode(version, id, &payload);
            let _ = EthMessage::decode(version, id, &payload[..cut.index(payload.len() + 1)]);
        }
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..512), version in version()) {
        for id in ALL_IDS {
            // What decodes is within the bounds.
            if let Ok(EthMessage::BlockHeaders(m)) = EthMessage::decode(version, id, &bytes) {
                prop_assert!(m.headers.len() <= limits::MAX_HEADERS);
            }
        }
    }
}

#[test]
fn eth69_receipts_drop_the_bloom_and_decode_with_it_recomputed() {
    let log = Log {
        address: Address::repeat_byte(1),
        data: LogData::new_unchecked(vec![B256::repeat_byte(2)], Bytes::new()),
    };
    let receipt = Receipt { status: true.into(), cumulative_gas_used: 21_000, logs: vec![log] };
    let bloom = receipt.bloom();
    let envelope =
        ReceiptEnvelope::from_typed(TxType::Eip1559, ReceiptWithBloom::new(receipt, bloom));
    let message = Receipts { request_id: 3, receipts: vec![vec![envelope]] };
    let eth68 = message.encode(EthVersion::Eth68);
    let eth69 = message.encode(EthVersion::Eth69);
    // The 256-byte bloom is the difference.
    assert!(eth68.len() >= eth69.len() + 256);
    assert_eq!(Receipts::decode(EthVersion::Eth69, &eth69).unwrap(), message);
    assert_eq!(Receipts::decode(EthVersion::Eth68, &eth68).unwrap(), message);
    // Each shape is rejected in the other version.
    assert!(Receipts::decode(EthVersion::Eth69, &eth68).is_err());
    assert!(Receipts::decode(EthVersion::Eth68, &eth69).is_err());
}

#[test]
fn lists_over_the_bounds_are_refused() {
    let hashes = GetBlockBodies { request_id: 1, hashes: vec![B256::ZERO; limits::MAX_HASHES + 1] };
    assert_eq!(
        GetBlockBodies::decode(&hashes.encode()),
        Err(EthWireError::TooManyItems { message: "GetBlockBodies", max: limits::MAX_HASHES })
    );
    let headers =
        BlockHeaders { request_id: 1, headers: vec![Header::default(); limits::MAX_HEADERS + 1] };
    assert!(matches!(
        BlockHeaders::decode(&headers.encode()),
        Err(EthWireError::TooManyItems { max: limits::MAX_HEADERS, .. })
    ));
    let exactly =
        BlockHeaders { request_id: 1, headers: vec![Header::default(); limits::MAX_HEADERS] };
    assert_eq!(BlockHeaders::decode(&exactly.encode()).unwrap().headers.len(), limits::MAX_HEADERS);
}

#[test]
fn status_of_another_version_trailing_bytes_and_unknown_ids_are_typed_errors() {
    let status = Status::Eth68(StatusEth68 {
        network_id: 1,
        total_difficulty: U256::from(1),
        head: B256::ZERO,
        genesis: B256::ZERO,
        fork_id: ForkId { hash: ForkHash([0; 4]), next: 0 },
    });
    assert_eq!(
        Status::decode(EthVersion::Eth69, &status.encode()),
        Err(EthWireError::StatusVersion { negotiated: EthVersion::Eth69, announced: 68 })
    );
    let mut trailing = status.encode();
    trailing.push(0x80);
    assert_eq!(
        Status::decode(EthVersion::Eth68, &trailing),
        Err(EthWireError::TrailingBytes { message: "Status" })
    );
    assert_eq!(
        EthMessage::decode(EthVersion::Eth68, ids::BLOCK_RANGE_UPDATE, &[0xc0]),
        Err(EthWireError::UnknownMessage {
            version: EthVersion::Eth68,
            id: ids::BLOCK_RANGE_UPDATE
        })
    );
    let update = BlockRangeUpdate { earliest: 5, latest: 4, latest_hash: B256::ZERO };
    assert_eq!(
        BlockRangeUpdate::decode(&update.encode()),
        Err(EthWireError::InvalidRange { earliest: 5, latest: 4 })
    );
}

#[test]
fn gossip_is_checked_and_dropped() {
    let payload = alloy_rlp::encode(vec![B256::ZERO, B256::ZERO]);
    let message =
        EthMessage::decode(EthVersion::Eth68, ids::NEW_POOLED_TRANSACTION_HASHES, &payload)
            .unwrap();
    assert_eq!(
        message,
        EthMessage::Gossip(Gossip {
            kind: GossipKind::NewPooledTransactionHashes,
            bytes: payload.len()
        })
    );
    assert_eq!(message.encode(EthVersion::Eth68), None);
    assert!(EthMessage::decode(EthVersion::Eth69, ids::NEW_BLOCK, &[0x80]).is_err());
}

#[test]
fn get_block_headers_matches_the_spec_encoding() {
    // devp2p's eth spec: GetBlockHeaders [request-id: P, [startblock: {P, B_32}, limit: P, skip: P, reverse: {0, 1}]]
    let message = GetBlockHeaders {
        request_id: 1111,
        request: HeadersRequest {
            start: BlockHashOrNumber::Number(9999),
            limit: 5,
            skip: 5,
            direction: HeadersDirection::Falling,
        },
    };
    assert_eq!(alloy_primitives::hex::encode(message.encode()), "ca820457c682270f050501");
}
