//! Two snapsync-devp2p endpoints, in process, over loopback TCP: Status exchanged and validated
//! on both sides, then every eth request and response and all eight snap/1 messages, in eth/68
//! and eth/69, decoded per negotiated capability with the id offsets applied.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use alloy_consensus::{
    BlockBody, Header, Receipt, ReceiptEnvelope, ReceiptWithBloom, TxReceipt, TxType,
};
use alloy_primitives::{B256, Bytes, U256};
use common::{Reader, Writer, config, connections, protocols, spec};
use snapsync_devp2p::{
    ChainStatus, PeerMessage,
    eth::{BlockBodies, BlockHeaders, BlockRangeUpdate, EthMessage, EthVersion, Receipts, Status},
};
use snapsync_net::{BlockHashOrNumber, HeadersRequest};
use snapsync_primitives::{
    AccountEntry, AccountHash, AccountRange, ByteCodes, GetAccountRange, GetByteCodes,
    GetStorageRanges, GetTrieNodes, RawTrieNodePathSet, SlimAccount, SnapMessage, StorageRanges,
    StorageSlot, TrieNodes,
};
use std::time::Duration;

fn header(number: u64) -> Header {
    Header { number, gas_limit: 30_000_000, base_fee_per_gas: Some(7), ..Header::default() }
}

fn body(hash: B256) -> snapsync_net::EthBlockBody {
    BlockBody {
        transactions: vec![],
        ommers: vec![header(u64::from(hash[0]))],
        withdrawals: Some(Default::default()),
    }
}

fn receipts(hash: B256) -> Vec<ReceiptEnvelope> {
    [TxType::Legacy, TxType::Eip1559, TxType::Eip4844]
        .into_iter()
        .enumerate()
        .map(|(i, ty)| {
            let receipt = Receipt {
                status: (i % 2 == 0).into(),
                cumulative_gas_used: 21_000 * (i as u64 + 1) + u64::from(hash[0]),
                logs: vec![],
            };
            let bloom = receipt.bloom();
            ReceiptEnvelope::from_typed(ty, ReceiptWithBloom::new(receipt, bloom))
        })
        .collect()
}

fn snap_answer(request: &SnapMessage) -> SnapMessage {
    let request_id = request.request_id();
    match request {
        SnapMessage::GetAccountRange(r) => SnapMessage::AccountRange(AccountRange {
            request_id,
            accounts: vec![AccountEntry { hash: r.starting_hash, account: SlimAccount::EMPTY }],
            proof: vec![Bytes::from_static(&[0xc0])],
        }),
        SnapMessage::GetStorageRanges(r) => SnapMessage::StorageRanges(StorageRanges {
            request_id,
            slots: r
                .account_hashes
                .iter()
                .map(|_| vec![StorageSlot::from_value(B256::repeat_byte(3).into(), U256::from(9))])
                .collect(),
            proof: vec![],
        }),
        SnapMessage::GetByteCodes(r) => SnapMessage::ByteCodes(ByteCodes {
            request_id,
            codes: r.hashes.iter().map(|h| Bytes::copy_from_slice(&h[..4])).collect(),
        }),
        SnapMessage::GetTrieNodes(r) => SnapMessage::TrieNodes(TrieNodes {
            request_id,
            nodes: r.paths.iter().map(|_| Bytes::from_static(&[0x80])).collect(),
        }),
        other => panic!("not a snap request: {other:?}"),
    }
}

/// The serving side: answers every request the way the expectations below assume.
async fn serve(mut reader: Reader, mut writer: Writer, version: EthVersion) {
    if version == EthVersion::Eth69 {
        let update =
            BlockRangeUpdate { earliest: 0, latest: 99, latest_hash: B256::repeat_byte(9) };
        writer.send_eth(&EthMessage::BlockRangeUpdate(update)).await.unwrap();
    }
    loop {
        let Ok(message) = reader.recv().await else { return };
        match message {
            PeerMessage::Ping => writer.pong().await.unwrap(),
            PeerMessage::Eth(EthMessage::GetBlockHeaders(r)) => {
                let BlockHashOrNumber::Number(start) = r.request.start else { panic!() };
                let headers = (start..start + r.request.limit).map(header).collect();
                let answer = BlockHeaders { request_id: r.request_id, headers };
                writer.send_eth(&EthMessage::BlockHeaders(answer)).await.unwrap();
            }
            PeerMessage::Eth(EthMessage::GetBlockBodies(r)) => {
                let bodies = r.hashes.iter().copied().map(body).collect();
                let answer = BlockBodies { request_id: r.request_id, bodies };
                writer.send_eth(&EthMessage::BlockBodies(answer)).await.unwrap();
            }
            PeerMessage::Eth(EthMessage::GetReceipts(r)) => {
                let receipts = r.hashes.iter().copied().map(receipts).collect();
                let answer = Receipts { request_id: r.request_id, receipts };
                writer.send_eth(&EthMessage::Receipts(answer)).await.unwrap();
            }
            PeerMessage::Snap(request) => writer.send_snap(&snap_answer(&request)).await.unwrap(),
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// The next response, answering Pings and skipping announcements, within 5 s.
async fn response(reader: &mut Reader) -> PeerMessage {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let message = reader.recv().await.unwrap();
            if message.is_response() {
                return message;
            }
        }
    })
    .await
    .expect("a response within 5 s")
}

async fn exchange_everything(version: EthVersion) {
    let chain = ChainStatus::at_genesis(&spec(7, 30_000_000, 100));
    let (a, b) = connections(
        (protocols(&[EthVersion::Eth68, EthVersion::Eth69]), chain.clone()),
        (protocols(&[version]), chain.clone()),
        config(),
    )
    .await;
    let (mut reader, mut writer, info) = a.unwrap();
    let (b_reader, b_writer, b_info) = b.unwrap();
    assert_eq!(info.eth, version);
    assert_eq!(b_info.eth, version);
    assert!(info.snap && b_info.snap);
    // Each side received the other's Status, in the negotiated version's shape.
    assert_eq!(info.peer_status, chain.status(version));
    assert_eq!(b_info.peer_status, chain.status(version));
    assert!(matches!(
        (version, info.peer_status),
        (EthVersion::Eth68, Status::Eth68(_)) | (EthVersion::Eth69, Status::Eth69(_))
    ));
    let server = tokio::spawn(serve(b_reader, b_writer, version));

    if version == EthVersion::Eth69 {
        let update = reader.recv().await.unwrap();
        assert!(
            matches!(update, PeerMessage::Eth(EthMessage::BlockRangeUpdate(u)) if u.latest == 99)
        );
    }

    let id = writer.get_block_headers(HeadersRequest::rising(5, 3)).await.unwrap();
    let PeerMessage::Eth(EthMessage::BlockHeaders(headers)) = response(&mut reader).await else {
        panic!("expected BlockHeaders")
    };
    assert_eq!(headers.request_id, id);
    assert_eq!(headers.headers, vec![header(5), header(6), header(7)]);

    let hashes = vec![B256::repeat_byte(1), B256::repeat_byte(2)];
    let id = writer.get_block_bodies(hashes.clone()).await.unwrap();
    let PeerMessage::Eth(EthMessage::BlockBodies(bodies)) = response(&mut reader).await else {
        panic!("expected BlockBodies")
    };
    assert_eq!(bodies.request_id, id);
    assert_eq!(bodies.bodies, hashes.iter().copied().map(body).collect::<Vec<_>>());

    let id = writer.get_receipts(hashes.clone()).await.unwrap();
    let PeerMessage::Eth(EthMessage::Receipts(answer)) = response(&mut reader).await else {
        panic!("expected Receipts")
    };
    assert_eq!(answer.request_id, id);
    // eth/69 carries no bloom: the decoder recomputed it.
    assert_eq!(answer.receipts, hashes.iter().copied().map(receipts).collect::<Vec<_>>());

    let requests = [
        SnapMessage::GetAccountRange(GetAccountRange {
            request_id: writer.next_request_id(),
            root_hash: B256::repeat_byte(4),
            starting_hash: AccountHash::from(B256::repeat_byte(5)),
            limit_hash: AccountHash::from(B256::repeat_byte(6)),
            response_bytes: 1000,
        }),
        SnapMessage::GetStorageRanges(GetStorageRanges {
            request_id: writer.next_request_id(),
            root_hash: B256::repeat_byte(4),
            account_hashes: vec![AccountHash::from(B256::repeat_byte(7))],
            starting_hash: None,
            limit_hash: None,
            response_bytes: 1000,
        }),
        SnapMessage::GetByteCodes(GetByteCodes {
            request_id: writer.next_request_id(),
            hashes: vec![B256::repeat_byte(8)],
            response_bytes: 1000,
        }),
        SnapMessage::GetTrieNodes(GetTrieNodes {
            request_id: writer.next_request_id(),
            root_hash: B256::repeat_byte(4),
            paths: vec![RawTrieNodePathSet(vec![Bytes::from_static(&[0x00])])],
            response_bytes: 1000,
        }),
    ];
    for request in requests {
        writer.send_snap(&request).await.unwrap();
        let PeerMessage::Snap(answer) = response(&mut reader).await else {
            panic!("expected snap")
        };
        assert_eq!(answer.request_id(), request.request_id());
        assert_eq!(answer, snap_answer(&request));
    }

    // Keep-alives pass through the connection too.
    writer.ping().await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), reader.recv()).await.unwrap().unwrap();
    assert_eq!(pong, PeerMessage::Pong);

    drop((reader, writer));
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap();
}

#[tokio::test]
async fn eth68_status_and_every_message() {
    exchange_everything(EthVersion::Eth68).await;
}

#[tokio::test]
async fn eth69_status_and_every_message() {
    exchange_everything(EthVersion::Eth69).await;
}
