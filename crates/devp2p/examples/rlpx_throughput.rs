//! Transfer only: snap/1 `AccountRange` replies of realistic size pushed through one loopback
//! RLPx connection (frames encrypted with AES-256-CTR and MACed with keccak, p2p v5 snappy,
//! RLP), with nothing else running, so that a profiler sees the transport's own costs.
//!
//! ```sh
//! cargo run --release -p snapsync-devp2p --example rlpx_throughput -- [ACCOUNTS] [ROUNDS] [profile]
//! ```
//!
//! With `profile`, only the transfer runs after the replies are made, and the process prints
//! its id and waits 2 s first, for a profiler to attach to the transfer alone:
//!
//! ```sh
//! target/release/examples/rlpx_throughput 100000 40 profile > out & sleep 1
//! until grep -q pid out; do sleep 0.2; done
//! perf record -F 2999 -p "$(sed -n 's/^pid //p' out)" -o perf.data
//! perf report -i perf.data --no-children --sort dso,symbol
//! ```
//!
//! Build with `--features alloy-primitives/asm-keccak` to measure what the `snapsync` binary
//! runs (its default `asm-keccak` feature turns it on for every crate of the build): the MAC's
//! keccak is otherwise the portable one, about four times slower here.
//!
//! The replies are made first, outside the measurement, by a snap server walking a generated
//! state of `ACCOUNTS` accounts (default 50,000) with 512 KiB budgets, as a syncing client asks
//! for them. They are then sent `ROUNDS` times (default 40) over a connection pair on
//! 127.0.0.1, one side writing while the other reads and decodes each message. Printed: the
//! rate through RLPx, the rate of RLP encoding and decoding alone (the floor of any
//! transport, and what the in-process simulated network does per reply), and snappy's
//! compression ratio on these replies.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/mod.rs"]
mod common;

use alloy_primitives::{B256, U256};
use snapsync_devp2p::{PeerMessage, eth::EthVersion};
use snapsync_primitives::{AccountHash, GetAccountRange, SnapMessage};
use snapsync_sim::{GeneratedChain, StateSpec};
use std::time::{Duration, Instant};

const REPLY_BYTES: u64 = 512 * 1024;

/// Every account range reply of a walk over the whole key space, in order.
fn replies(accounts: usize) -> Vec<SnapMessage> {
    let chain = GeneratedChain::new(3, &StateSpec::small().with_accounts(accounts), 1, 0);
    let root = chain.head().state_root;
    let (_db, server) = common::serving_store(&chain, 1);
    let mut replies = Vec::new();
    let mut start = U256::ZERO;
    loop {
        let request = SnapMessage::GetAccountRange(GetAccountRange {
            request_id: replies.len() as u64,
            root_hash: root,
            starting_hash: AccountHash::from(B256::from(start)),
            limit_hash: AccountHash::from(B256::from(U256::MAX)),
            response_bytes: REPLY_BYTES,
        });
        let Some(SnapMessage::AccountRange(reply)) = server.handle(&request).unwrap() else {
            panic!("an account range")
        };
        let Some(last) = reply.accounts.last() else { break };
        let last = U256::from_be_bytes(B256::from(last.hash).0);
        replies.push(SnapMessage::AccountRange(reply));
        if last == U256::MAX {
            break;
        }
        start = last + U256::from(1);
    }
    replies
}

fn encoded(message: &SnapMessage) -> Vec<u8> {
    let mut out = Vec::new();
    message.encode(&mut out);
    out
}

fn mb_per_s(bytes: usize, took: Duration) -> f64 {
    bytes as f64 / 1e6 / took.as_secs_f64()
}

#[tokio::main]
async fn main() {
    let mut args = std::env::args().skip(1);
    let accounts: usize = args.next().map_or(50_000, |a| a.parse().expect("ACCOUNTS"));
    let rounds: usize = args.next().map_or(40, |r| r.parse().expect("ROUNDS"));
    let profile = args.next().is_some_and(|a| a == "profile");
    let replies = replies(accounts);
    let sizes: Vec<Vec<u8>> = replies.iter().map(encoded).collect();
    let per_round: usize = sizes.iter().map(Vec::len).sum();
    let compressed: usize =
        sizes.iter().map(|raw| snap::raw::Encoder::new().compress_vec(raw).unwrap().len()).sum();
    println!(
        "{} replies of {:.0} KiB on average ({:.1} MB a round); snappy makes them {:.1}% of that",
        replies.len(),
        per_round as f64 / replies.len() as f64 / 1024.0,
        per_round as f64 / 1e6,
        compressed as f64 * 100.0 / per_round as f64
    );

    // RLP alone: encode and decode every reply, as many rounds.
    let rlp_rounds = if profile { 0 } else { rounds };
    let started = Instant::now();
    for _ in 0..rlp_rounds {
        for message in &replies {
            let bytes = encoded(message);
            let decoded = SnapMessage::decode(message.id(), &bytes).unwrap();
            std::hint::black_box(decoded);
        }
    }
    let rlp = started.elapsed();

    let status = common::status();
    let protocols = common::protocols(&[EthVersion::Eth68, EthVersion::Eth69]);
    let (a, b) = common::connections(
        (protocols.clone(), status.clone()),
        (protocols, status),
        common::config(),
    )
    .await;
    let ((_, mut writer, _), (mut reader, _, _)) = (a.unwrap(), b.unwrap());
    if profile {
        println!("pid {}", std::process::id());
        tokio::time::sleep(Duration::from_secs(2)).await;
    }
    let expected = replies.len() * rounds;
    let started = Instant::now();
    let reading = tokio::spawn(async move {
        let mut received = 0;
        while received < expected {
            match reader.recv().await.unwrap() {
                PeerMessage::Snap(message) => {
                    std::hint::black_box(&message);
                    received += 1;
                }
                other => panic!("unexpected {other:?}"),
            }
        }
        received
    });
    // Both ends on the runtime's workers ("tokio-runtime-w"), the preparation on the main
    // thread: `perf report --comms tokio-runtime-w` shows the transfer alone.
    let writing = tokio::spawn(async move {
        for _ in 0..rounds {
            for message in &replies {
                writer.send_snap(message).await.unwrap();
            }
        }
    });
    writing.await.unwrap();
    assert_eq!(reading.await.unwrap(), expected);
    let rlpx = started.elapsed();
    let total = per_round * rounds;
    println!(
        "RLPx loopback: {:.0} MB of replies in {:.2} s: {:.1} MB/s",
        total as f64 / 1e6,
        rlpx.as_secs_f64(),
        mb_per_s(total, rlpx)
    );
    if profile {
        return;
    }
    println!(
        "RLP encode + decode alone: {:.2} s: {:.1} MB/s",
        rlp.as_secs_f64(),
        mb_per_s(total, rlp)
    );
    components(&sizes, rounds, rlpx, rlp);
}

/// What each stage of the transport costs per byte, alone, on the same replies: each byte
/// sent is RLP-encoded, compressed, encrypted and MACed by the writer, then MACed, decrypted,
/// decompressed and decoded by the reader. Shares are of the RLPx run's wall time (both ends
/// on one core when pinned with `taskset -c N`).
fn components(raw: &[Vec<u8>], rounds: usize, rlpx: Duration, rlp: Duration) {
    use aes::cipher::{KeyIvInit, StreamCipher};
    let time = |f: &mut dyn FnMut()| {
        let started = Instant::now();
        for _ in 0..rounds {
            f();
        }
        started.elapsed()
    };
    let mut compressed = Vec::new();
    let compress = time(&mut || {
        compressed =
            raw.iter().map(|r| snap::raw::Encoder::new().compress_vec(r).unwrap()).collect();
    });
    let decompress = time(&mut || {
        for c in &compressed {
            std::hint::black_box(snap::raw::Decoder::new().decompress_vec(c).unwrap());
        }
    });
    let mut buffers = compressed;
    let mut cipher = ctr::Ctr128BE::<aes::Aes256>::new(&[7u8; 32].into(), &[0u8; 16].into());
    let aes = time(&mut || buffers.iter_mut().for_each(|b| cipher.apply_keystream(b)));
    let keccak = time(&mut || {
        for b in &buffers {
            let mut mac = alloy_primitives::Keccak256::new();
            mac.update(b);
            std::hint::black_box(mac.finalize());
        }
    });
    let share = |took: Duration| took.as_secs_f64() * 100.0 / rlpx.as_secs_f64();
    println!(
        "alone, as a share of the RLPx run's time (each counted for both ends where both do it):"
    );
    println!("  keccak MAC (2 passes):         {:5.1}%", share(keccak * 2));
    println!("  AES-256-CTR (2 passes):        {:5.1}%", share(aes * 2));
    println!("  snappy compress:               {:5.1}%", share(compress));
    println!("  snappy decompress:             {:5.1}%", share(decompress));
    println!("  RLP encode + decode:           {:5.1}%", share(rlp));
    let rest = rlpx.saturating_sub(keccak * 2 + aes * 2 + compress + decompress + rlp);
    println!("  the rest (copies, syscalls, TCP, tasks): {:5.1}%", share(rest));
}
