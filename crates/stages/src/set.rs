//! Ordered sets of stages and the builder that edits them.
//!
//! A client composes its pipeline from a default set (headers, bodies, snap sync, …) and adjusts
//! it: a stage inserted before or after another, one replaced by a custom implementation, one
//! disabled. Every operation that names a stage fails with [`StageSetError::Unknown`] when it is
//! not in the set, and every insertion fails with [`StageSetError::Duplicate`] when its id is
//! already taken, since two stages with one id would share one checkpoint.
//!
//! The order is also the order of dependence: a stage starts once every stage before it has
//! finished, unless it was declared to run [alongside](StageSetBuilder::alongside) some of
//! them (the headers of a snap-syncing node need nothing of the state download, so they can
//! download while it does).

use crate::{BoxedStage, Stage, StageId, StageSetError};
use snapsync_storage::StateStore;
use std::fmt;

/// An ordered list of stages with distinct ids, ready for a [`Pipeline`](crate::Pipeline), each
/// with the earlier stages it runs alongside of (see [`StageSetBuilder::alongside`]).
pub struct StageSet<S: StateStore + ?Sized> {
    stages: Vec<Scheduled<S>>,
}

/// A stage of a set, with the ids of the earlier stages it need not wait for.
pub(crate) struct Scheduled<S: StateStore + ?Sized> {
    /// The stage.
    pub(crate) stage: Box<dyn BoxedStage<S>>,
    /// Earlier stages this one may run alongside of.
    pub(crate) alongside: Vec<StageId>,
}

impl<S: StateStore + ?Sized> StageSet<S> {
    /// A builder starting from an empty set.
    pub fn builder() -> StageSetBuilder<S> {
        StageSetBuilder::default()
    }

    /// The ids of the stages, in execution order.
    pub fn ids(&self) -> Vec<StageId> {
        self.stages.iter().map(|entry| entry.stage.id()).collect()
    }

    /// The earlier stages stage `id` runs alongside of (empty: it waits for every stage before
    /// it, or it is not in the set).
    pub fn alongside(&self, id: &StageId) -> &[StageId] {
        self.stages
            .iter()
            .find(|entry| &entry.stage.id() == id)
            .map_or(&[], |entry| entry.alongside.as_slice())
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
            entries: self
                .stages
                .into_iter()
                .map(|Scheduled { stage, alongside }| Entry { stage, alongside, enabled: true })
                .collect(),
        }
    }

    pub(crate) fn into_stages(self) -> Vec<Scheduled<S>> {
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
        f.debug_list().entries(self.stages.iter().map(|entry| entry.stage.id())).finish()
    }
}

struct Entry<S: StateStore + ?Sized> {
    stage: Box<dyn BoxedStage<S>>,
    alongside: Vec<StageId>,
    enabled: bool,
}

impl<S: StateStore + ?Sized> Entry<S> {
    fn new(stage: Box<dyn BoxedStage<S>>) -> Self {
        Self { stage, alongside: Vec::new(), enabled: true }
    }
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
        self.entries.push(Entry::new(stage));
        Ok(self)
    }

    /// Appends every stage of `set`, in order, each still running alongside the stages it did.
    ///
    /// # Errors
    /// [`StageSetError::Duplicate`] for the first id already taken.
    pub fn add_set(self, set: StageSet<S>) -> Result<Self, StageSetError> {
        set.into_stages().into_iter().try_fold(
            self,
            |mut builder, Scheduled { stage, alongside }| {
                builder.check_free(&stage.id())?;
                builder.entries.push(Entry { stage, alongside, enabled: true });
                Ok(builder)
            },
        )
    }

    /// Lets stage `id` run alongside the earlier stage `earlier`: it no longer waits for
    /// `earlier` to finish before it starts (it still waits for every other stage before it,
    /// unless declared alongside those too). For a stage whose work does not depend on the
    /// other's, such as headers and bodies downloading while the state does.
    ///
    /// A stage that finishes while an earlier stage it runs alongside is still running runs
    /// again once that stage has finished (see [`Pipeline::run`](crate::Pipeline::run)), so
    /// whatever the earlier stage changed meanwhile (a new tip it followed) is caught up.
    ///
    /// # Errors
    /// [`StageSetError::Unknown`] when either stage is not in the set,
    /// [`StageSetError::NotBefore`] when `earlier` does not come before `id`.
    pub fn alongside(mut self, id: &StageId, earlier: &StageId) -> Result<Self, StageSetError> {
        let at = self.position(id)?;
        if self.position(earlier)? >= at {
            return Err(StageSetError::NotBefore { stage: id.clone(), earlier: earlier.clone() });
        }
        let alongside = &mut self.entries[at].alongside;
        if !alongside.contains(earlier) {
            alongside.push(earlier.clone());
        }
        Ok(self)
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
        self.entries.insert(at, Entry::new(Box::new(stage)));
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
        self.entries.insert(at + 1, Entry::new(Box::new(stage)));
        Ok(self)
    }

    /// Replaces the stage `id` by `stage`, in the same position and enabled state, running
    /// alongside the same stages. The new stage may have another id (then it must be free), but
    /// keeping the id keeps the checkpoint.
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

    /// The set of enabled stages, in order. A stage runs alongside only the stages it was
    /// declared alongside of that are still before it (an insertion may have moved it).
    pub fn build(self) -> StageSet<S> {
        let enabled: Vec<_> = self.entries.into_iter().filter(|entry| entry.enabled).collect();
        let ids: Vec<StageId> = enabled.iter().map(|entry| entry.stage.id()).collect();
        let stages = enabled
            .into_iter()
            .enumerate()
            .map(|(at, Entry { stage, mut alongside, .. })| {
                alongside.retain(|earlier| ids[..at].contains(earlier));
                Scheduled { stage, alongside }
            })
            .collect();
        StageSet { stages }
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
