//! What a well-formed reply can be.

/// A reply that is not invalid: either the data, verified, or an empty reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T> {
    /// The peer answered with nothing: it does not serve the requested root (any more). Not a
    /// fault: ask another peer, and do not ask this one for this root again.
    Unavailable,
    /// The data, verified against the request.
    Verified(T),
}

impl<T> Answer<T> {
    /// The verified data, if any.
    pub fn verified(self) -> Option<T> {
        match self {
            Self::Unavailable => None,
            Self::Verified(data) => Some(data),
        }
    }

    /// Whether the peer answered with nothing.
    pub const fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable)
    }
}
