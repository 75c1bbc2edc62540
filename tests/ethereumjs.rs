//! Interop with an Ethereum client written by others: `@ethereumjs/client` 0.10.5, run offline on
//! loopback on hive's chain (`../shared/fixtures/geth-hive`, 600 blocks, Shanghai at genesis,
//! Cancun at 6, Prague at 12; `snapsync_devp2p::test_utils::ethereumjs` starts it), in one test
//! so the node starts once:
//!
//! 1. Our own connection: eth/68 Status exchanged and accepted by both sides, headers 1..=600,
//!    every body and (through its JSON-RPC, since it does not answer `GetReceipts`) every
//!    receipt list, checked against `chain.rlp`.
//! 2. `snapsync sync --peer <ethereumjs> --peer <snapsync serve --withhold headers,bodies>`:
//!    both handshakes, Statuses and fork ids accepted, verified at block 600's root, and the
//!    share of each peer asserted from the per-peer counts of the sync's JSON line (`peers`:
//!    per kind, requests asked, answers, items). The snapsync peer answers headers and bodies
//!    with empty lists, as a pruned node does, so ethereumjs serves all of them (601 headers:
//!    the pivot's, then 600 down to block 1; 600 bodies), deterministically; the snapsync peer
//!    serves 0 headers and 0 bodies, every receipt (ethereumjs 0.10.5's `GetReceipts` handler
//!    throws on every eth version: it destructures the decoded request object as an array) and
//!    all the state, and is not banned for its empty answers. ethereumjs advertises snap/1 but
//!    never answers: it is asked (a new peer gets probes), answers none, and its silence is
//!    marked, not waited on: the state phase, timed from the sync's stderr lines, stays under
//!    10 s (0.1–1.7 s measured; a waited-out snap request would cost 30 s).
//!
//! The earlier run where both peers raced for the history is gone: whether ethereumjs served
//! any of it depended on load and on which node id sorted first, and this run covers more.
//!
//! Costs: `npm install` once (about 20 s, cached under `CARGO_TARGET_TMPDIR`); ethereumjs imports
//! and executes the chain at start (about 25–35 s); our exchange about 30 s (mostly receipts by
//! JSON-RPC); the sync about 7–10 s (ethereumjs serving 600 headers and bodies). Skips with a
//! `SKIPPED` line when node/npm, the fixtures or the npm registry are unavailable.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use alloy_consensus::proofs::{
    calculate_receipt_root, calculate_transaction_root, calculate_withdrawals_root,
};
use alloy_consensus::{Receipt, ReceiptEnvelope, ReceiptWithBloom, TxReceipt, TxType};
use alloy_primitives::{Bytes, Log, LogData, hex};
use snapsync_devp2p::{
    ChainStatus, Connection, ConnectionReader, ConnectionWriter, DisconnectReason, Hello, NodeKey,
    P2P_VERSION, PeerMessage, RlpxConfig, RlpxStream, Session,
    eth::{EthMessage, EthVersion, Receipts, Status},
    protocols,
    test_utils::ethereumjs::Ethereumjs,
};
use snapsync_genesis::{ChainSpec, ForkHash, ForkId};
use snapsync_net::HeadersRequest;
use snapsync_primitives::test_utils::require_fixture;
use snapsync_sim::ChainFixture;
use std::time::{Duration, Instant};
use tokio::{
    io::{ReadHalf, WriteHalf},
    net::TcpStream,
};

const HIVE_NETWORK_ID: u64 = 3_503_995_874_084_926;

/// `eth_getBlockReceipts` for blocks `numbers`, as one JSON-RPC batch over plain HTTP/1.1 on
/// loopback; the results in block order.
fn block_receipts(port: u16, numbers: std::ops::RangeInclusive<u64>) -> Vec<serde_json::Value> {
    use std::io::{Read, Write};
    let calls: Vec<_> = numbers
        .map(|n| {
            serde_json::json!({"jsonrpc": "2.0", "id": n, "method": "eth_getBlockReceipts",
                "params": [format!("{n:#x}")]})
        })
        .collect();
    let body = serde_json::Value::from(calls).to_string();
    let mut socket = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    socket.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        socket,
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut response = String::new();
    socket.read_to_string(&mut response).unwrap();
    let json = response.split_once("\r\n\r\n").expect("HTTP response").1;
    let mut results: Vec<serde_json::Value> = serde_json::from_str(json).expect("JSON-RPC batch");
    results.sort_by_key(|r| r["id"].as_u64());
    results
        .into_iter()
        .map(|mut r| {
            assert!(r["error"].is_null(), "eth_getBlockReceipts: {}", r["error"]);
            r["result"].take()
        })
        .collect()
}

fn quantity(value: &serde_json::Value) -> u64 {
    u64::from_str_radix(value.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// A receipt as JSON-RPC gives it, in its consensus form.
fn receipt_from_json(json: &serde_json::Value) -> ReceiptEnvelope {
    let logs = json["logs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|log| Log {
            address: log["address"].as_str().unwrap().parse().unwrap(),
            data: LogData::new_unchecked(
                log["topics"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|t| t.as_str().unwrap().parse().unwrap())
                    .collect(),
                log["data"].as_str().unwrap().parse::<Bytes>().unwrap(),
            ),
        })
        .collect();
    let receipt = Receipt {
        status: (quantity(&json["status"]) == 1).into(),
        cumulative_gas_used: quantity(&json["cumulativeGasUsed"]),
        logs,
    };
    let bloom = receipt.bloom();
    let ty = TxType::try_from(u8::try_from(quantity(&json["type"])).unwrap()).unwrap();
    ReceiptEnvelope::from_typed(ty, ReceiptWithBloom::new(receipt, bloom))
}

type Reader = ConnectionReader<ReadHalf<TcpStream>>;
type Writer = ConnectionWriter<WriteHalf<TcpStream>>;

/// The response to `request_id`, answering Pings (ethereumjs disconnects a peer that does not)
/// and skipping gossip, within 20 s.
async fn response(reader: &mut Reader, writer: &mut Writer, request_id: u64) -> EthMessage {
    tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            match reader.recv().await.expect("ethereumjs keeps the connection") {
                // ethereumjs also asks us for headers, under its own request ids.
                PeerMessage::Eth(message)
                    if message.is_response() && message.request_id() == Some(request_id) =>
                {
                    return message;
                }
                PeerMessage::Ping => writer.pong().await.unwrap(),
                _ => {}
            }
        }
    })
    .await
    .expect("ethereumjs answers within 20 s")
}

#[tokio::test]
async fn ethereumjs_interop_and_sync_from_it() {
    let test = "ethereumjs_interop_and_sync_from_it";
    let (Some(genesis), Some(chain_file), Some(hive_state)) = (
        require_fixture(test, "geth-hive/genesis.json"),
        require_fixture(test, "geth-hive/chain.rlp"),
        require_fixture(test, "geth-hive/headstate.json"),
    ) else {
        return;
    };
    let spec = ChainSpec::load(&genesis).unwrap();
    let chain = ChainFixture::load(&chain_file).unwrap();

    let started = Instant::now();
    let cache = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"));
    let node = match Ethereumjs::start(cache, &genesis, &chain_file) {
        Ok(node) => node,
        Err(reason) => {
            return eprintln!("SKIPPED ethereumjs_interop_and_sync_from_it: {reason}");
        }
    };
    let node_ready = started.elapsed();
    raw_exchange(&node, &spec, &chain, node_ready).await;
    sync_from_ethereumjs_and_serve(&node, &genesis, &chain_file, &hive_state);
}

/// Our own connection to the node: Status (both sides accept), 600 headers, 600 bodies, the
/// GetReceipts it does not answer, and the receipts from its JSON-RPC through our codec.
async fn raw_exchange(
    node: &Ethereumjs,
    spec: &ChainSpec,
    chain: &ChainFixture,
    node_ready: Duration,
) {
    let (enode, rpc_port) = (node.enode, Some(node.rpc_port));
    let head = chain.header(600).unwrap();

    // Dial, Hello, Status.
    let exchange_started = Instant::now();
    let key = NodeKey::generate();
    let protocols = protocols();
    let hello = Hello {
        protocol_version: P2P_VERSION,
        client_id: "snapsync-devp2p/interop".into(),
        capabilities: protocols.iter().map(|p| p.capability.clone()).collect(),
        listen_port: 0,
        id: key.id(),
    };
    let config = RlpxConfig::default();
    let socket = TcpStream::connect(enode.addr).await.unwrap();
    let stream = RlpxStream::connect(socket, &key, enode.id, &config).await.unwrap();
    let (reader, writer, session) =
        Session::establish(stream, &hello, &protocols, &config).await.unwrap();
    let ours = ChainStatus::at_genesis(spec);
    assert_eq!(ours.network_id(), HIVE_NETWORK_ID);
    let (mut reader, mut writer, info) =
        Connection::establish(reader, writer, session, &ours, &config).await.unwrap();
    assert_eq!(info.eth, EthVersion::Eth68, "ethereumjs speaks eth/66-68");
    let Status::Eth68(theirs) = info.peer_status else { panic!("eth/68 Status") };
    assert_eq!(theirs.network_id, HIVE_NETWORK_ID);
    assert_eq!(theirs.genesis, spec.genesis_hash());
    assert_eq!(theirs.head, head.hash());
    assert_eq!(theirs.fork_id, ForkId { hash: ForkHash(hex!("377aaa78")), next: 0 });
    assert_eq!(theirs.fork_id, spec.fork_id(600, head.timestamp));
    eprintln!("ethereumjs: {} (snap/1 shared: {})", info.session.remote.client_id, info.snap);

    // Headers 1..=600 in batches of 100, checked equal to chain.rlp and linked to our genesis.
    let mut parent = spec.genesis_hash();
    let mut hashes = Vec::new();
    for start in (1..=600).step_by(100) {
        let id = writer.get_block_headers(HeadersRequest::rising(start, 100)).await.unwrap();
        let EthMessage::BlockHeaders(answer) = response(&mut reader, &mut writer, id).await else {
            panic!("BlockHeaders expected")
        };
        assert_eq!(answer.headers.len(), 100, "batch from {start}");
        for (header, number) in answer.headers.iter().zip(start..) {
            let expected = chain.header(number).unwrap();
            assert_eq!(header, expected.inner(), "header {number}");
            assert_eq!(header.parent_hash, parent, "header {number} links to its parent");
            parent = header.hash_slow();
            hashes.push(parent);
        }
    }
    assert_eq!(parent, head.hash());

    let headers_time = exchange_started.elapsed();
    // Bodies, in batches of 50: transactions and withdrawals roots as the headers commit.
    let mut transactions = 0;
    for (batch, chunk) in hashes.chunks(50).enumerate() {
        let id = writer.get_block_bodies(chunk.to_vec()).await.unwrap();
        let EthMessage::BlockBodies(answer) = response(&mut reader, &mut writer, id).await else {
            panic!("BlockBodies expected")
        };
        assert_eq!(answer.bodies.len(), chunk.len());
        for (i, body) in answer.bodies.iter().enumerate() {
            let number = (batch * 50 + i + 1) as u64;
            let header = chain.header(number).unwrap();
            assert_eq!(calculate_transaction_root(&body.transactions), header.transactions_root);
            let withdrawals = body.withdrawals.as_ref().expect("Shanghai: withdrawals");
            assert_eq!(Some(calculate_withdrawals_root(withdrawals)), header.withdrawals_root);
            assert_eq!(body, chain.body(number).unwrap(), "body {number}");
            transactions += body.transactions.len();
        }
    }

    // Receipts over eth: ethereumjs 0.10.5 does not answer GetReceipts (its handler
    // destructures the decoded request as an array and throws "object is not iterable"). Ask
    // anyway, accept an answer if one comes, and check the connection survives the question.
    let id = writer.get_receipts(hashes[..50].to_vec()).await.unwrap();
    let answered =
        tokio::time::timeout(Duration::from_secs(3), response(&mut reader, &mut writer, id)).await;
    match answered {
        Ok(EthMessage::Receipts(answer)) => {
            for (block, number) in answer.receipts.iter().zip(1u64..) {
                let root = chain.header(number).unwrap().receipts_root;
                assert_eq!(calculate_receipt_root(block), root, "receipts {number}");
            }
            eprintln!("ethereumjs answered GetReceipts over eth/68");
        }
        Ok(other) => panic!("Receipts expected, got {other:?}"),
        Err(_) => eprintln!("ethereumjs 0.10.5 did not answer GetReceipts over eth/68 (known bug)"),
    }
    let id = writer.get_block_headers(HeadersRequest::rising(600, 1)).await.unwrap();
    let EthMessage::BlockHeaders(last) = response(&mut reader, &mut writer, id).await else {
        panic!("BlockHeaders expected")
    };
    assert_eq!(last.headers, vec![head.inner().clone()], "the connection is still served");
    writer.disconnect(DisconnectReason::ClientQuitting).await.unwrap();
    let bodies_time = exchange_started.elapsed() - headers_time;

    // Receipts from ethereumjs' JSON-RPC instead (it executed every block and kept them), put
    // through our Receipts codec in both shapes — eth/68 with blooms, eth/69 without, the bloom
    // recomputed on decoding — and checked against every header's receipts root.
    let mut receipts = 0;
    if let Some(rpc_port) = rpc_port {
        for (json, number) in block_receipts(rpc_port, 1..=600).iter().zip(1u64..) {
            let block: Vec<ReceiptEnvelope> =
                json.as_array().unwrap().iter().map(receipt_from_json).collect();
            let message = Receipts { request_id: number, receipts: vec![block] };
            for version in [EthVersion::Eth68, EthVersion::Eth69] {
                let decoded = Receipts::decode(version, &message.encode(version)).unwrap();
                assert_eq!(decoded, message, "block {number} through {version}");
                let root = chain.header(number).unwrap().receipts_root;
                assert_eq!(calculate_receipt_root(&decoded.receipts[0]), root, "receipts {number}");
            }
            receipts += message.receipts[0].len();
        }
    } else {
        receipts = transactions;
        eprintln!("no JSON-RPC port (SNAPSYNC_ETHEREUMJS_ENODE set): receipts not checked");
    }
    assert_eq!(receipts, transactions);
    let exchange = exchange_started.elapsed();
    eprintln!(
        "ethereumjs interop: node ready in {node_ready:.1?}; Status, 600 headers, 600 bodies \
         ({transactions} transactions) and {receipts} receipts exchanged and verified in \
         {exchange:.1?} (Status and headers {headers_time:.1?}, then bodies and the receipts \
         request {bodies_time:.1?}; receipts by JSON-RPC the rest)"
    );
}

/// `snapsync sync` from the ethereumjs node and a `snapsync serve` of the imported hive chain
/// and head state that withholds headers and bodies (`--withhold headers,bodies`), as two
/// processes beside the node: the headers and bodies can only come from ethereumjs, the
/// receipts (which ethereumjs does not answer) and the state only from the snapsync peer.
fn sync_from_ethereumjs_and_serve(
    node: &Ethereumjs,
    genesis: &std::path::Path,
    chain: &std::path::Path,
    state: &std::path::Path,
) {
    use std::process::Command;
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (dir.path().join("a"), dir.path().join("b"));
    // Executed from the genesis, so the serving datadir has every block's receipts too.
    support::Hive { genesis: genesis.into(), chain: chain.into(), state: state.into() }
        .import_executed(&a);
    let server = support::Server::start_with(&a, &["--withhold", "headers,bodies"]);
    let ethereumjs = node.enode.to_string();
    let sync = support::TimedRun::run(
        Command::new(env!("CARGO_BIN_EXE_snapsync"))
            .args(["sync", "--json", "--history", "all", "--pivot-distance", "0", "--datadir"])
            .arg(&b)
            .arg("--genesis")
            .arg(genesis)
            .args(["--peer", &ethereumjs, "--peer", &server.enode])
            .args(["--tip", support::Hive::HEAD_HASH]),
    );
    let stderr = sync.stderr();
    eprintln!("{stderr}");
    assert!(sync.status.success(), "{stderr}");
    let json: serde_json::Value = serde_json::from_str(sync.stdout.trim()).unwrap();
    assert_eq!(json["verified"], true, "{json}");
    assert_eq!(json["state_root"], support::Hive::HEAD_ROOT);
    assert_eq!(json["pivot_block"], 600);
    let peers = json["peers"].as_array().unwrap();
    assert_eq!(peers.len(), 2, "both handshakes and Statuses accepted: {json}");
    let ours = node.enode.id.to_string();
    let (ejs, snap): (Vec<_>, Vec<_>) = peers.iter().partition(|peer| peer["id"] == ours);
    let (ejs, snap) = (ejs[0], snap[0]);
    let count =
        |peer: &serde_json::Value, kind: &str, what: &str| peer[kind][what].as_u64().unwrap();
    let items = |peer, kind| count(peer, kind, "items");
    let snap_kinds = ["GetAccountRange", "GetStorageRanges", "GetByteCodes", "GetTrieNodes"];
    let state = |peer| snap_kinds.iter().map(|kind| items(peer, kind)).sum::<u64>();

    // The history: headers and bodies from ethereumjs alone (the snapsync peer answered what it
    // was asked of them with empty lists, as a pruned node does, and stayed connected).
    assert!(items(ejs, "GetBlockHeaders") >= 601, "the pivot's header and 600 down to 1: {ejs}");
    assert!(items(ejs, "GetBlockBodies") >= 600, "every body from ethereumjs: {ejs}");
    assert_eq!(items(snap, "GetBlockHeaders"), 0, "headers withheld: {snap}");
    assert_eq!(items(snap, "GetBlockBodies"), 0, "bodies withheld: {snap}");
    assert_eq!(snap["ended"], "the network shut down", "not banned for its empty replies");
    assert_eq!(ejs["ended"], "the network shut down", "{ejs}");
    // Receipts: ethereumjs 0.10.5's GetReceipts handler throws, so from the snapsync peer.
    assert_eq!(items(ejs, "GetReceipts"), 0, "{ejs}");
    assert!(items(snap, "GetReceipts") >= 600, "{snap}");
    assert!(stderr.contains("headers 600 (1..=600)"), "{stderr}");
    assert!(stderr.contains("bodies 600 (1..=600)"), "{stderr}");
    assert!(stderr.contains("receipts 600 (1..=600)"), "{stderr}");
    // The state: from the snapsync peer alone; ethereumjs answered no snap request.
    for kind in snap_kinds {
        assert_eq!(count(ejs, kind, "answers"), 0, "ethereumjs never answers snap/1: {ejs}");
    }
    let snap_asked: u64 = snap_kinds.iter().map(|kind| count(ejs, kind, "asked")).sum();
    assert!(snap_asked > 0, "ethereumjs (unmeasured, advertising snap/1) was asked: {ejs}");
    assert!(state(snap) >= 194 + 2164 / 100, "the state came from the snapsync peer: {snap}");
    // Its silence on snap was marked, not waited on: the state phase (from the pipeline's start,
    // the pivot's header from ethereumjs included, to the snap sync's end) stays far below the
    // 30 s a snap request to it would take to time out.
    let phase = |from: &str, to: &str| {
        let (from, to) = (sync.at(from).expect(from), sync.at(to).expect(to));
        to.saturating_sub(from)
    };
    let state_phase = phase("pipeline:", "SnapSync: finished");
    assert!(state_phase < Duration::from_secs(10), "the state took {state_phase:?}");
    let after_state = phase("SnapSync: finished", "Receipts: finished");
    let elapsed = json["elapsed_ms"].as_u64().unwrap();
    assert!(elapsed < 60_000, "the sync took {elapsed} ms");
    eprintln!(
        "sync from ethereumjs and snapsync serve --withhold headers,bodies: verified in \
         {elapsed} ms (state phase {state_phase:.1?}; the history, downloaded alongside, ended \
         {after_state:.1?} after it); \
         ethereumjs served {} headers and {} bodies in {} and {} answers, and answered none of \
         the {snap_asked} snap requests it was sent; the snapsync peer {} headers and {} bodies \
         (in {} and {} empty answers), {} receipts and {} state items",
        items(ejs, "GetBlockHeaders"),
        items(ejs, "GetBlockBodies"),
        count(ejs, "GetBlockHeaders", "answers"),
        count(ejs, "GetBlockBodies", "answers"),
        items(snap, "GetBlockHeaders"),
        items(snap, "GetBlockBodies"),
        count(snap, "GetBlockHeaders", "answers"),
        count(snap, "GetBlockBodies", "answers"),
        items(snap, "GetReceipts"),
        state(snap)
    );
    drop(server);
}
