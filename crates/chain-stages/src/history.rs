//! [`History`]: how much of the chain below the snap sync pivot a node keeps.
//!
//! A snap-synced node has the state of its pivot, not the blocks that led there. It still
//! needs the headers down to the genesis (each hash-linked to the one above it, from the trusted
//! tip: they are what makes every older block provable), and it may want the bodies and receipts
//! of those blocks (to serve them, to answer receipt queries) or not (to save the space). The
//! headers stage therefore always runs from block 1; the bodies and receipts stages start where
//! the history setting says, the receipts stage ending at the pivot (above it, execution makes
//! the receipts).

use crate::{
    BlockDataConfig, BlockDataEnd, BodiesStage, HeadersConfig, HeadersStage, ReceiptsStage,
    StageStart,
};
use alloy_primitives::B256;
use snapsync_fetch::Fetcher;
use snapsync_stages::StageId;
use std::{fmt, str::FromStr, sync::Arc};
use tokio::sync::watch;

/// The bodies and receipts a node keeps below its pivot. The headers are always kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum History {
    /// Nothing below the pivot: bodies from the pivot + 1, no receipts.
    None,
    /// From the merge block on (the proof-of-stake chain).
    PostMerge,
    /// From block 1. The default.
    #[default]
    All,
}

/// The chain stages of a pipeline after the snap sync stage.
#[derive(Debug)]
pub struct ChainStages {
    /// Headers from the tip down to block 1.
    pub headers: HeadersStage,
    /// Bodies from the history's first block up to the tip.
    pub bodies: BodiesStage,
    /// Receipts from the history's first block up to the pivot; `None` for [`History::None`].
    pub receipts: Option<ReceiptsStage>,
}

impl History {
    /// Every value, in the order of their names.
    pub const ALL: [Self; 3] = [Self::None, Self::PostMerge, Self::All];

    /// The setting's name: `none`, `post-merge`, `all`.
    pub const fn name(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::PostMerge => "post-merge",
            Self::All => "all",
        }
    }

    /// Where bodies start below (or after) the pivot, `pivot_stage` being the snap sync stage
    /// and `merge_block` the chain's first proof-of-stake block.
    pub fn bodies_start(self, pivot_stage: &StageId, merge_block: u64) -> StageStart {
        match self {
            Self::None => StageStart::AfterStage(pivot_stage.clone()),
            Self::PostMerge => StageStart::Block(merge_block.max(1)),
            Self::All => StageStart::Block(1),
        }
    }

    /// The headers, bodies and receipts stages for this history, sharing `fetcher` and
    /// following `tip`, after the stage `pivot_stage` (the snap sync stage, whose finished
    /// checkpoint is the pivot).
    pub fn chain_stages(
        self,
        fetcher: &Arc<Fetcher>,
        tip: watch::Receiver<B256>,
        pivot_stage: &StageId,
        merge_block: u64,
    ) -> ChainStages {
        let start = self.bodies_start(pivot_stage, merge_block);
        let bodies = BlockDataConfig { start: start.clone(), ..BlockDataConfig::default() };
        let receipts = (self != Self::None).then(|| {
            let end = BlockDataEnd::AtStage(pivot_stage.clone());
            ReceiptsStage::new(
                fetcher.clone(),
                BlockDataConfig { start, end, ..BlockDataConfig::default() },
            )
        });
        ChainStages {
            headers: HeadersStage::new(fetcher.clone(), tip, HeadersConfig::new(1)),
            bodies: BodiesStage::new(fetcher.clone(), bodies),
            receipts,
        }
    }
}

impl fmt::Display for History {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A history setting that is none of `none`, `post-merge`, `all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown history {0:?}: expected one of none, post-merge, all")]
pub struct UnknownHistory(pub String);

impl FromStr for History {
    type Err = UnknownHistory;

    fn from_str(name: &str) -> Result<Self, UnknownHistory> {
        Self::ALL
            .into_iter()
            .find(|history| history.name() == name)
            .ok_or_else(|| UnknownHistory(name.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for history in History::ALL {
            assert_eq!(history.name().parse::<History>(), Ok(history));
        }
        assert_eq!(History::default(), History::All);
        let error = "most".parse::<History>().unwrap_err();
        assert!(error.to_string().contains("none, post-merge, all"), "{error}");
    }

    #[test]
    fn bodies_start_where_the_history_says() {
        let snap = StageId::new("SnapSync");
        assert_eq!(History::All.bodies_start(&snap, 500), StageStart::Block(1));
        assert_eq!(History::PostMerge.bodies_start(&snap, 500), StageStart::Block(500));
        assert_eq!(History::PostMerge.bodies_start(&snap, 0), StageStart::Block(1));
        assert_eq!(History::None.bodies_start(&snap, 500), StageStart::AfterStage(snap));
    }
}
