//! Block header requests (eth `GetBlockHeaders`).

use alloy_primitives::B256;

/// The first block of a header request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BlockHashOrNumber {
    /// The block with this hash.
    Hash(B256),
    /// The canonical block at this height.
    Number(u64),
}

impl From<B256> for BlockHashOrNumber {
    fn from(hash: B256) -> Self {
        Self::Hash(hash)
    }
}

impl From<u64> for BlockHashOrNumber {
    fn from(number: u64) -> Self {
        Self::Number(number)
    }
}

/// Which way a header request walks from its start.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum HeadersDirection {
    /// Towards higher block numbers (eth `reverse = false`).
    #[default]
    Rising,
    /// Towards lower block numbers, to the genesis (eth `reverse = true`).
    Falling,
}

/// An eth `GetBlockHeaders` request: `limit` headers from `start`, every `skip + 1`-th block, in
/// `direction`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HeadersRequest {
    /// The first header.
    pub start: BlockHashOrNumber,
    /// Most headers to return.
    pub limit: u64,
    /// Blocks left out between two returned headers.
    pub skip: u64,
    /// Which way to walk.
    pub direction: HeadersDirection,
}

impl HeadersRequest {
    /// `limit` consecutive headers from `start` upwards.
    pub fn rising(start: impl Into<BlockHashOrNumber>, limit: u64) -> Self {
        Self { start: start.into(), limit, skip: 0, direction: HeadersDirection::Rising }
    }

    /// `limit` consecutive headers from `start` downwards.
    pub fn falling(start: impl Into<BlockHashOrNumber>, limit: u64) -> Self {
        Self { start: start.into(), limit, skip: 0, direction: HeadersDirection::Falling }
    }

    /// The number the `index`-th returned header must have when the first has number
    /// `first`, or `None` past the limit or beyond `u64` (below the genesis when falling).
    pub fn nth_number(&self, first: u64, index: u64) -> Option<u64> {
        if index >= self.limit {
            return None;
        }
        let distance = index.checked_mul(self.skip.checked_add(1)?)?;
        match self.direction {
            HeadersDirection::Rising => first.checked_add(distance),
            HeadersDirection::Falling => first.checked_sub(distance),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rising_numbers_step_by_skip_plus_one() {
        let request = HeadersRequest { skip: 2, ..HeadersRequest::rising(100, 3) };
        assert_eq!(request.nth_number(100, 0), Some(100));
        assert_eq!(request.nth_number(100, 2), Some(106));
        assert_eq!(request.nth_number(100, 3), None);
    }

    #[test]
    fn falling_numbers_stop_at_genesis_and_overflow_is_none() {
        let request = HeadersRequest::falling(B256::ZERO, 10);
        assert_eq!(request.start, BlockHashOrNumber::Hash(B256::ZERO));
        assert_eq!(request.nth_number(5, 5), Some(0));
        assert_eq!(request.nth_number(5, 6), None);
        let huge = HeadersRequest { skip: u64::MAX, ..HeadersRequest::rising(0, 10) };
        assert_eq!(huge.nth_number(0, 1), None);
    }
}
