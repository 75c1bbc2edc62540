//! The trie node exchange: [`GetTrieNodes`] (0x06) and [`TrieNodes`] (0x07).

use alloy_primitives::{B256, Bytes};
use alloy_rlp::RlpEncodable;

use crate::{
    DecodeError, FromRlp, RawTrieNodePathSet,
    decoder::{self, ListReader},
    from_rlp::decodable_via_from_rlp,
};

/// Request for trie nodes by path, in the state rooted at `root_hash`, up to about
/// `response_bytes` of data.
///
/// `[reqID: P, rootHash: B_32, paths: [[accPath: B, slotPath: B, ...], ...], bytes: P]`
///
/// The path sets stay in wire form ([`RawTrieNodePathSet`]) so that a request with an invalid
/// set still decodes and can be answered or penalised; validate each with
/// [`RawTrieNodePathSet::to_typed`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodable)]
pub struct GetTrieNodes {
    /// Request ID, echoed by the response.
    pub request_id: u64,
    /// State root of the account trie to serve.
    pub root_hash: B256,
    /// The nodes wanted, grouped by account.
    pub paths: Vec<RawTrieNodePathSet>,
    /// Soft limit of the response size in bytes.
    pub response_bytes: u64,
}

impl GetTrieNodes {
    /// The snap/1 message code.
    pub const ID: u8 = 0x06;
}

impl FromRlp for GetTrieNodes {
    const NAME: &'static str = "GetTrieNodes";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 4)?;
        let message = Self {
            request_id: list.u64("GetTrieNodes.request_id")?,
            root_hash: list.b256("GetTrieNodes.root_hash")?,
            paths: list.list("GetTrieNodes.paths", RawTrieNodePathSet::decode_prefix)?,
            response_bytes: list.u64("GetTrieNodes.response_bytes")?,
        };
        list.finish()?;
        Ok(message)
    }
}

/// Trie nodes, in request order.
///
/// `[reqID: P, nodes: [node: B, ...]]`
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, RlpEncodable)]
pub struct TrieNodes {
    /// ID of the request this answers.
    pub request_id: u64,
    /// The RLP-encoded nodes.
    pub nodes: Vec<Bytes>,
}

impl TrieNodes {
    /// The snap/1 message code.
    pub const ID: u8 = 0x07;
}

impl FromRlp for TrieNodes {
    const NAME: &'static str = "TrieNodes";

    fn decode_prefix(buf: &mut &[u8]) -> Result<Self, DecodeError> {
        let mut list = ListReader::open(buf, Self::NAME, 2)?;
        let message = Self {
            request_id: list.u64("TrieNodes.request_id")?,
            nodes: list.list("TrieNodes.nodes", |buf| decoder::decode_bytes(buf, "node"))?,
        };
        list.finish()?;
        Ok(message)
    }
}

decodable_via_from_rlp!(GetTrieNodes, TrieNodes);

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;
    use crate::{AccountHash, PathSetError, TrieNodePathSet};
    use alloy_primitives::hex;
    use nybbles::Nibbles;

    #[test]
    fn get_trie_nodes_is_byte_exact() {
        let account = AccountHash(B256::repeat_byte(0x44));
        let message = GetTrieNodes {
            request_id: 3,
            root_hash: B256::repeat_byte(0x11),
            paths: vec![
                TrieNodePathSet::account(Nibbles::new()).to_raw(),
                TrieNodePathSet::storage(
                    account,
                    vec![Nibbles::new(), Nibbles::from_nibbles([0xb])],
                )
                .unwrap()
                .to_raw(),
            ],
            response_bytes: 1024,
        };
        // [3, root, [[0x00], [account, 0x00, 0x1b]], 1024]
        let expected = [
            &hex!("f84c 03 a0")[..],
            &[0x11; 32],
            &hex!("e6 c100 e3 a0"),
            &[0x44; 32],
            &hex!("00 1b 820400"),
        ]
        .concat();
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(GetTrieNodes::from_rlp(&expected), Ok(message));
    }

    #[test]
    fn empty_path_sets_decode_but_do_not_validate() {
        // [1, root, [[]], 1]
        let bytes = [&hex!("e5 01 a0")[..], &[0x11; 32], &hex!("c1c0 01")].concat();
        let message = GetTrieNodes::from_rlp(&bytes).unwrap();
        assert_eq!(message.paths, vec![RawTrieNodePathSet::default()]);
        assert_eq!(message.paths[0].to_typed(), Err(PathSetError::Empty));
    }

    #[test]
    fn trie_nodes_is_byte_exact() {
        let message =
            TrieNodes { request_id: 3, nodes: vec![Bytes::from_static(&hex!("c0")), Bytes::new()] };
        let expected = hex!("c5 03 c3 81c0 80");
        assert_eq!(alloy_rlp::encode(&message), expected);
        assert_eq!(TrieNodes::from_rlp(&expected), Ok(message));
    }
}
