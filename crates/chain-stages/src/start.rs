//! [`StageStart`]: where a chain stage's work begins, fixed or after another stage's.
//!
//! In the default pipeline (snap sync, headers, bodies, execution) the first block the later
//! stages handle is the snap sync pivot + 1, and the pivot is known only once the snap sync stage
//! has committed. [`StageStart::AfterStage`] names that stage; the later stages read its committed
//! checkpoint from `StageCheckpoints` when they plan new work and start at its block + 1.
//!
//! The start is a floor: a stage never works below it, whatever its own checkpoint says. On the
//! first run (no own checkpoint) it is the first block; afterwards the stage continues above its
//! own checkpoint, unless the named stage has moved past that (a new pivot, or a checkpoint lowered
//! by an unwind), in which case the stage continues after the named stage's block again.
//!
//! The named stage must have finished: a missing checkpoint, unfinished progress or block 0 mean
//! that the pipeline runs the stages in the wrong order (or without that stage), which no retry
//! mends, so they are fatal [`StartError`]s.

use crate::StartError;
use snapsync_stages::{StageCheckpoint, StageId};
use snapsync_storage::StateRead;

/// Where a stage begins: a fixed block, or the block after the one another stage's committed
/// checkpoint reached.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum StageStart {
    /// This block (for example 1, for a full chain).
    Block(u64),
    /// The block after the one this stage's committed, finished checkpoint reached (for the
    /// snap sync stage: its pivot + 1).
    AfterStage(StageId),
}

impl StageStart {
    /// The first block, reading the named stage's checkpoint from `view` when the start is
    /// [`StageStart::AfterStage`].
    ///
    /// # Errors
    /// For [`StageStart::AfterStage`]: [`StartError::NoCheckpoint`],
    /// [`StartError::Unfinished`], [`StartError::NothingYet`], [`StartError::NoBlockAfter`],
    /// [`StartError::CorruptCheckpoint`] and [`StartError::Database`].
    pub fn first_block(&self, view: &(impl StateRead + ?Sized)) -> Result<u64, StartError> {
        match self {
            Self::Block(number) => Ok(*number),
            Self::AfterStage(stage) => finished_block(view, stage)?
                .checked_add(1)
                .ok_or_else(|| StartError::NoBlockAfter { stage: stage.clone() }),
        }
    }

    /// The stage named by [`StageStart::AfterStage`], if any.
    pub const fn after(&self) -> Option<&StageId> {
        match self {
            Self::Block(_) => None,
            Self::AfterStage(stage) => Some(stage),
        }
    }
}

impl From<u64> for StageStart {
    fn from(number: u64) -> Self {
        Self::Block(number)
    }
}

/// The block `stage`'s committed, finished checkpoint reached (see [`finished_checkpoint`]).
///
/// # Errors
/// As [`StageStart::first_block`], but for [`StartError::NoBlockAfter`].
pub(crate) fn finished_block(
    view: &(impl StateRead + ?Sized),
    stage: &StageId,
) -> Result<u64, StartError> {
    Ok(finished_checkpoint(view, stage)?.block_number)
}

/// The block `stage`'s committed checkpoint reached, finished or not; `None` before it has
/// committed a block above 0.
///
/// # Errors
/// [`StartError::CorruptCheckpoint`] and [`StartError::Database`].
pub(crate) fn committed_block(
    view: &(impl StateRead + ?Sized),
    stage: &StageId,
) -> Result<Option<u64>, StartError> {
    let Some(bytes) = view.checkpoint(stage.as_str())? else { return Ok(None) };
    let checkpoint = StageCheckpoint::decode(&bytes)
        .map_err(|source| StartError::CorruptCheckpoint { stage: stage.clone(), source })?;
    Ok(Some(checkpoint.block_number).filter(|&block| block > 0))
}

/// `stage`'s committed checkpoint, which must exist, be finished and have reached a block.
fn finished_checkpoint(
    view: &(impl StateRead + ?Sized),
    stage: &StageId,
) -> Result<StageCheckpoint, StartError> {
    let Some(bytes) = view.checkpoint(stage.as_str())? else {
        return Err(StartError::NoCheckpoint { stage: stage.clone() });
    };
    let checkpoint = StageCheckpoint::decode(&bytes)
        .map_err(|source| StartError::CorruptCheckpoint { stage: stage.clone(), source })?;
    if checkpoint.progress.is_some() {
        return Err(StartError::Unfinished {
            stage: stage.clone(),
            block: checkpoint.block_number,
        });
    }
    if checkpoint.block_number == 0 {
        return Err(StartError::NothingYet { stage: stage.clone() });
    }
    Ok(checkpoint)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use snapsync_db::{Database, MemoryDatabase, StageCheckpoints};
    use snapsync_stages::{EntitiesCheckpoint, StageError, StageProgress};

    /// The id of the stage the starts below follow.
    const SNAP: StageId = StageId::new("SnapSync");

    fn db_with(checkpoint: Option<Vec<u8>>) -> MemoryDatabase {
        let db = MemoryDatabase::new();
        if let Some(bytes) = checkpoint {
            let mut txn = db.write().unwrap();
            txn.put::<StageCheckpoints>(&SNAP.to_string(), &bytes.into()).unwrap();
            txn.commit().unwrap();
        }
        db
    }

    fn first_block(checkpoint: Option<Vec<u8>>) -> Result<u64, StartError> {
        let db = db_with(checkpoint);
        StageStart::AfterStage(SNAP).first_block(&db.view().unwrap())
    }

    #[test]
    fn a_fixed_block_needs_no_checkpoint() {
        let db = MemoryDatabase::new();
        assert_eq!(StageStart::Block(7).first_block(&db.view().unwrap()).unwrap(), 7);
        assert_eq!(StageStart::from(3), StageStart::Block(3));
        assert_eq!(StageStart::Block(3).after(), None);
    }

    #[test]
    fn after_a_finished_stage_is_its_block_plus_one() {
        assert_eq!(first_block(Some(StageCheckpoint::new(536).encode())).unwrap(), 537);
        let start = StageStart::AfterStage(SNAP);
        assert_eq!(start.after(), Some(&SNAP));
    }

    #[test]
    fn an_unready_stage_is_a_fatal_ordering_error() {
        let missing = first_block(None).unwrap_err();
        assert!(matches!(&missing, StartError::NoCheckpoint { stage } if *stage == SNAP));
        assert!(missing.to_string().contains("SnapSync"), "{missing}");

        let progress = StageProgress::Entities(EntitiesCheckpoint { processed: 1, total: 2 });
        let unfinished = StageCheckpoint::new(536).with_progress(progress).encode();
        let unfinished = first_block(Some(unfinished)).unwrap_err();
        assert!(matches!(unfinished, StartError::Unfinished { block: 536, .. }), "{unfinished}");

        let nothing = first_block(Some(StageCheckpoint::new(0).encode())).unwrap_err();
        assert!(matches!(nothing, StartError::NothingYet { .. }), "{nothing}");

        let last = first_block(Some(StageCheckpoint::new(u64::MAX).encode())).unwrap_err();
        assert!(matches!(last, StartError::NoBlockAfter { .. }), "{last}");

        let corrupt = first_block(Some(vec![9, 9])).unwrap_err();
        assert!(matches!(corrupt, StartError::CorruptCheckpoint { .. }), "{corrupt}");

        for error in [missing, unfinished, nothing, last, corrupt] {
            let error = StageError::from(error);
            assert!(matches!(error, StageError::Fatal { .. }), "{error}");
        }
    }
}
