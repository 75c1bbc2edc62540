//! Fuzz targets for the transport's decoders, as proptest properties (cargo-fuzz needs
//! nightly), through the public API over in-memory pipes: an initiator and a recipient whose
//! bytes pass through the test, which mutates one message on the way (`byte_edits` from
//! `snapsync_primitives::test_utils::fuzz`):
//!
//! - `mutated_auth_or_ack`: the EIP-8 `auth` reaching the recipient, or the `ack` reaching the
//!   initiator, edited: the handshake fails with an error (never a panic, never a hang: the
//!   writer side is closed after the message), unless the edit left the message itself intact;
//! - `mutated_frames`: a frame after a real handshake, edited: reading it fails (a MAC, a size
//!   over the bound) or yields exactly the data sent.
//!
//! CI runs 64 cases each; a long run sets `PROPTEST_CASES`, e.g.
//! `PROPTEST_CASES=20000 cargo test --release -p snapsync-devp2p --test fuzz_transport`.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::{collection::vec, prelude::*};
use snapsync_devp2p::{HEADER_LEN, NodeKey, RlpxConfig, RlpxStream, body_len};
use snapsync_primitives::test_utils::{ByteEdit, apply_byte_edits, byte_edits, fuzz_config};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream, duplex};

fn config() -> RlpxConfig {
    RlpxConfig { handshake_timeout: Duration::from_secs(2), ..RlpxConfig::default() }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

/// One EIP-8 handshake message from `wire`: the size prefix and what it announces.
async fn read_message(wire: &mut DuplexStream) -> Vec<u8> {
    let mut prefix = [0u8; 2];
    wire.read_exact(&mut prefix).await.unwrap();
    let mut message = prefix.to_vec();
    message.resize(2 + usize::from(u16::from_be_bytes(prefix)), 0);
    wire.read_exact(&mut message[2..]).await.unwrap();
    message
}

/// Which handshake message the test edits.
#[derive(Debug, Clone, Copy)]
enum Target {
    Auth,
    Ack,
}

/// Runs a handshake whose `target` message is edited; whether the side that read it failed.
async fn handshake_with(target: Target, edits: &[ByteEdit]) -> (bool, bool) {
    let (initiator_key, recipient_key) = (NodeKey::generate(), NodeKey::generate());
    let recipient_id = recipient_key.id();
    let (a_io, mut a_wire) = duplex(1 << 16);
    let (b_io, mut b_wire) = duplex(1 << 16);
    let initiator = tokio::spawn(async move {
        RlpxStream::connect(a_io, &initiator_key, recipient_id, &config()).await.map(drop)
    });
    let recipient =
        tokio::spawn(
            async move { RlpxStream::accept(b_io, &recipient_key, &config()).await.map(drop) },
        );
    let auth = read_message(&mut a_wire).await;
    let sent_auth = match target {
        Target::Auth => apply_byte_edits(auth.clone(), edits),
        Target::Ack => auth.clone(),
    };
    b_wire.write_all(&sent_auth).await.unwrap();
    if let Target::Auth = target {
        drop(b_wire);
        let result = recipient.await.unwrap();
        initiator.abort();
        return (result.is_err(), intact(&auth, &sent_auth));
    }
    let ack = read_message(&mut b_wire).await;
    let sent_ack = apply_byte_edits(ack.clone(), edits);
    a_wire.write_all(&sent_ack).await.unwrap();
    drop(a_wire);
    let result = initiator.await.unwrap();
    recipient.abort();
    (result.is_err(), intact(&ack, &sent_ack))
}

/// Whether `sent` starts with all of `original` (an edit after its end changes nothing read).
fn intact(original: &[u8], sent: &[u8]) -> bool {
    sent.len() >= original.len() && sent[..original.len()] == *original
}

/// A frame of `data` after a real handshake, edited on the way; what the recipient read.
async fn frame_with(data: &[u8], edits: &[ByteEdit]) -> (Result<Vec<u8>, String>, bool) {
    let (initiator_key, recipient_key) = (NodeKey::generate(), NodeKey::generate());
    let recipient_id = recipient_key.id();
    let (a_io, mut a_wire) = duplex(1 << 20);
    let (b_io, mut b_wire) = duplex(1 << 20);
    let initiator = tokio::spawn(async move {
        RlpxStream::connect(a_io, &initiator_key, recipient_id, &config()).await.unwrap()
    });
    let recipient =
        tokio::spawn(
            async move { RlpxStream::accept(b_io, &recipient_key, &config()).await.unwrap() },
        );
    let auth = read_message(&mut a_wire).await;
    b_wire.write_all(&auth).await.unwrap();
    let ack = read_message(&mut b_wire).await;
    a_wire.write_all(&ack).await.unwrap();
    let (mut initiator, mut recipient) = (initiator.await.unwrap(), recipient.await.unwrap());
    initiator.write_frame(data).await.unwrap();
    let mut frame = vec![0u8; HEADER_LEN + body_len(data.len())];
    a_wire.read_exact(&mut frame).await.unwrap();
    let sent = apply_byte_edits(frame.clone(), edits);
    b_wire.write_all(&sent).await.unwrap();
    drop(b_wire);
    let read = recipient.read_frame().await.map_err(|error| error.to_string());
    (read, intact(&frame, &sent))
}

proptest! {
    #![proptest_config(fuzz_config(64))]

    #[test]
    fn mutated_auth_or_ack(ack in any::<bool>(), edits in byte_edits(4)) {
        let target = if ack { Target::Ack } else { Target::Auth };
        let (failed, intact) = runtime().block_on(handshake_with(target, &edits));
        prop_assert!(failed || intact, "an edited {target:?} was accepted: {edits:?}");
    }

    #[test]
    fn mutated_frames(payload in vec(any::<u8>(), 1..300), edits in byte_edits(4)) {
        let (read, intact) = runtime().block_on(frame_with(&payload, &edits));
        match read {
            Ok(read) => prop_assert!(intact && read == payload, "an edited frame was read: {edits:?}"),
            Err(error) => prop_assert!(!intact, "an intact frame was refused: {error}"),
        }
    }
}
