//! Ordered sets of stages and the builder that edits them.
//!
//! A client composes its pipeline from a default set (headers, bodies, snap sync, …) and adjusts
//! it: a stage inserted before or after another, one replaced by a custom implementation, one
//! disabled. Every operation that names a stage fails with [`StageSetError::Unknown`] when it is
//! not in the set, and every insertion fails with [`StageSetError::Duplicate`] when its id is
//! already taken, since two stages with one id would share one checkpoint.

use crate::{BoxedStage, Stage, StageId, StageSetError};
use snapsync_storage::StateStore;
use std::fmt;

/// An ordered list of stages with distinct ids, ready for a [`Pipeline`](crate::Pipeline).
pub struct StageSet<S: StateStore + ?Sized> {
    stages: Vec<Box<dyn BoxedStage<S>>>,
}

impl<S: StateStore + ?Sized> StageSet<S> {
    /// A builder starting from an empty set.
    pub fn builder() -> StageSetBuilder<S> {
        StageSetBuilder::default()
    }

    /// The ids of the stages, in execution order.
    pub fn ids(&self) -> Vec<StageId> {
        self.stages.iter().map(|stage| stage.id()).collect()
    }

    /// How many stages there are.
    pub fn len(&self) -> usize {
        self.stages.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// A builder starting from this set, to edit it.
    pub fn into_builder(self) -> StageSetBuilder<S> {
        StageSetBuilder {
            entries: self.stages.into_iter().map(|stage| Entry { stage, enabled: true }).collect(),
        }
    }

    pub(crate) fn into_stages(self) -> Vec<Box<dyn BoxedStage<S>>> {
        self.stages
    }
}

impl<S: StateStore + ?Sized> Default for StageSet<S> {
    fn default() -> Self {
        Self { stages: Vec::new() }
    }
}

impl<S: StateStore + ?Sized> Default for StageSetBuilder<S> {
    fn default() -> Self {
        Self { entries: Vec::new() }
    }
}

impl<S: StateStore + ?Sized> fmt::Debug for StageSet<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.stages.iter().map(|stage| stage.id())).finish()
    }
}

struct Entry<S: StateStore + ?Sized> {
    stage: Box<dyn BoxedStage<S>>,
    enabled: bool,
}

/// Builds a [`StageSet`]. Each method consumes the builder and returns it, or the error, so calls
/// chain with `?`.
///
/// ```
/// # use snapsync_stages::*;
/// # use snapsync_storage::StateStore;
/// # struct Noop(&'static str);
/// # impl<S: StateStore + ?Sized> Stage<S> for Noop {
/// #     fn id(&self) -> StageId { StageId::new(self.0) }
/// #     fn execute(&mut self, _: &mut S::Writer, i: ExecInput) -> Result<ExecOutput, StageError> {
/// #         Ok(ExecOutput::done(i.checkpoint()))
/// #     }
/// #     fn unwind(&mut self, _: &mut S::Writer, i: UnwindInput) -> Result<UnwindOutput, StageError> {
/// #         Ok(UnwindOutput { checkpoint: StageCheckpoint::new(i.unwind_to) })
/// #     }
/// # }
/// let set = StageSet::<snapsync_db::MemoryDatabase>::builder()
///     .add(Noop("Headers"))?
///     .add(Noop("Execution"))?
///     .insert_after(&StageId::HEADERS, Noop("Bodies"))?
///     .disable(&StageId::EXECUTION)?
///     .build();
/// assert_eq!(set.ids(), [StageId::HEADERS, StageId::BODIES]);
/// # Ok::<(), StageSetError>(())
/// ```
pub struct StageSetBuilder<S: StateStore + ?Sized> {
    entries: Vec<Entry<S>>,
}

impl<S: StateStore + ?Sized> fmt::Debug for StageSetBuilder<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.entries.iter().map(|entry| (entry.stage.id(), entry.enabled)))
            .finish()
    }
}

impl<S: StateStore + ?Sized> StageSetBuilder<S> {
    /// Appends `stage` at the end.
    ///
    /// # Errors
    /// [`StageSetError::Duplicate`] when its id is taken.
    #[allow(clippy::should_implement_trait, reason = "a builder step, not addition")]
    pub fn add(self, stage: impl Stage<S> + 'static) -> Result<Self, StageSetError> {
        self.add_boxed(Box::new(stage))
    }

    /// [`add`](Self::add) for an already boxed stage.
    ///
    /// # Errors
    /// As [`add`](Self::add).
    pub fn add_boxed(mut self, stage: Box<dyn BoxedStage<S>>) -> Result<Self, StageSetError> {
        self.check_free(&stage.id())?;
        self.entries.push(Entry { stage, enabled: true });
        Ok(self)
    }

    /// Appends every stage of `set`, in order.
    ///
    /// # Errors
    /// [`StageSetError::Duplicate`] for the first id already taken.
    pub fn add_set(self, set: StageSet<S>) -> Result<Self, StageSetError> {
        set.into_stages().into_iter().try_fold(self, Self::add_boxed)
    }

    /// Inserts `stage` just before the stage `before`.
    ///
    /// # Errors
    /// [`StageSetError::Unknown`] when `before` is not in the set, [`StageSetError::Duplicate`]
    /// when `stage`'s id is taken.
    pub fn insert_before(
        mut self,
        before: &StageId,
        stage: impl Stage<S> + 'static,
    ) -> Result<Self, StageSetError> {
        let at = self.position(before)?;
        self.check_free(&stage.id())?;
        self.entries.insert(at, Entry { stage: Box::new(stage), enabled: true });
        Ok(self)
    }

    /// Inserts `stage` just after the stage `after`.
    ///
    /// # Errors
    /// As [`insert_before`](Self::insert_before).
    pub fn insert_after(
        mut self,
        after: &StageId,
        stage: impl Stage<S> + 'static,
    ) -> Result<Self, StageSetError> {
        let at = self.position(after)?;
        self.check_free(&stage.id())?;
        self.entries.insert(at + 1, Entry { stage: Box::new(stage), enabled: true });
        Ok(self)
    }

    /// Replaces the stage `id` by `stage`, in the same position and enabled state. The new stage
    /// may have another id (then it must be free), but keeping the id keeps the checkpoint.
    ///
    /// # Errors
    /// [`StageSetError::Unknown`] when `id` is not in the set, [`StageSetError::Duplicate`] when
    /// `stage` has a different id that is taken.
    pub fn replace(
        mut self,
        id: &StageId,
        stage: impl Stage<S> + 'static,
    ) -> Result<Self, StageSetError> {
        let at = self.position(id)?;
        let new_id = stage.id();
        if &new_id != id {
            self.check_free(&new_id)?;
        }
        self.entries[at].stage = Box::new(stage);
        Ok(self)
    }

    /// Leaves the stage `id` out of the built set. It keeps its place, so later insertions
    /// relative to it still work, and [`enable`](Self::enable) brings it back.
    ///
    /// # Errors
    /// [`StageSetError::Unknown`] when `id` is not in the set.
    pub fn disable(mut self, id: &StageId) -> Result<Self, StageSetError> {
        let at = self.position(id)?;
        self.entries[at].enabled = false;
        Ok(self)
    }

    /// Undoes [`disable`](Self::disable).
    ///
    /// # Errors
    /// [`StageSetError::Unknown`] when `id` is not in the set.
    pub fn enable(mut self, id: &StageId) -> Result<Self, StageSetError> {
        let at = self.position(id)?;
        self.entries[at].enabled = true;
        Ok(self)
    }

    /// The set of enabled stages, in order.
    pub fn build(self) -> StageSet<S> {
        StageSet {
            stages: self
                .entries
                .into_iter()
                .filter(|entry| entry.enabled)
                .map(|entry| entry.stage)
                .collect(),
        }
    }

    fn position(&self, id: &StageId) -> Result<usize, StageSetError> {
        self.entries
            .iter()
            .position(|entry| &entry.stage.id() == id)
            .ok_or_else(|| StageSetError::Unknown(id.clone()))
    }

    fn check_free(&self, id: &StageId) -> Result<(), StageSetError> {
        match self.position(id) {
            Ok(_) => Err(StageSetError::Duplicate(id.clone())),
            Err(_) => Ok(()),
        }
    }
}
