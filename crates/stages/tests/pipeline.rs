//! The pipeline contract, with small counter stages writing one entry per step into a test table:
//! order, resume after a restart (memory and redb), atomicity of a failed step, retries, fatal
//! errors, unwinding, events and the stage-set builder; stages running alongside earlier ones;
//! blocking work off the runtime's threads, cancellation and the command loop.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync_db::{
    Database, MemoryDatabase, RedbDatabase, RedbOptions, StageCheckpoints, Table, TableRead,
    WriteTxn,
};
use snapsync_stages::{
    CancelToken, Command, ControlFlow, ExecInput, ExecOutput, FailureKind, Pipeline,
    PipelineControl, PipelineError, PipelineEvent, RetryPolicy, Stage, StageCheckpoint, StageError,
    StageId, StageSet, StageSetError, UnwindInput, UnwindOutput,
};
use snapsync_storage::StateStore;
use std::{
    collections::VecDeque,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    time::Duration,
};
use tokio::sync::{broadcast, watch};

/// The test table: `"{stage}/{step:08}"` => step number.
struct Steps;

impl Table for Steps {
    const NAME: &'static str = "TestSteps";
    type Key = String;
    type Value = u64;
}

fn step_key(stage: &str, step: u64) -> String {
    format!("{stage}/{step:08}")
}

/// What the counter does on a given attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// `ready` fails recoverably.
    ReadyRecoverable,
    /// `execute` writes the step, then fails recoverably.
    RecoverableAfterWrite,
    /// `execute` writes the step, then fails fatally.
    FatalAfterWrite,
}

type Log = Arc<Mutex<Vec<String>>>;

/// A stage of `steps` steps; step `n` writes `step_key(name, n)` and moves the checkpoint to `n`.
struct Counter {
    name: &'static str,
    steps: u64,
    log: Log,
    /// Faults to inject: (step, fault), consumed front first when that step is attempted.
    faults: VecDeque<(u64, Fault)>,
    /// `ready` never completes once the checkpoint reaches this (a hung network).
    hang_at: Option<u64>,
    /// Blocks removed per unwind step (`u64::MAX`: all at once).
    unwind_batch: u64,
    /// Whether the stage ends at the pipeline's target (if lower than `steps`).
    stop_at_target: bool,
    /// `ready` waits until this gate is open (another stage opens it).
    waits_for: Option<watch::Receiver<bool>>,
    /// Opened when the stage writes its last step.
    opens: Option<watch::Sender<bool>>,
}

impl Counter {
    fn new(name: &'static str, steps: u64, log: &Log) -> Self {
        Self {
            name,
            steps,
            log: Arc::clone(log),
            faults: VecDeque::new(),
            hang_at: None,
            unwind_batch: u64::MAX,
            stop_at_target: false,
            waits_for: None,
            opens: None,
        }
    }

    fn waits_for(mut self, gate: watch::Receiver<bool>) -> Self {
        self.waits_for = Some(gate);
        self
    }

    fn opens(mut self, gate: watch::Sender<bool>) -> Self {
        self.opens = Some(gate);
        self
    }

    fn stop_at_target(mut self) -> Self {
        self.stop_at_target = true;
        self
    }

    fn fault(mut self, step: u64, fault: Fault) -> Self {
        self.faults.push_back((step, fault));
        self
    }

    fn hang_at(mut self, block: u64) -> Self {
        self.hang_at = Some(block);
        self
    }

    fn unwind_batch(mut self, batch: u64) -> Self {
        self.unwind_batch = batch;
        self
    }

    fn take_fault(&mut self, step: u64, ready: bool) -> Option<Fault> {
        match self.faults.front() {
            Some(&(s, fault)) if s == step && (fault == Fault::ReadyRecoverable) == ready => {
                self.faults.pop_front();
                Some(fault)
            }
            _ => None,
        }
    }

    fn record(&self, entry: String) {
        self.log.lock().unwrap().push(entry);
    }
}

impl<S: StateStore<Writer = WriteTxn> + ?Sized> Stage<S> for Counter {
    fn id(&self) -> StageId {
        StageId::new(self.name)
    }

    async fn ready(&mut self, _: &S::Reader, input: ExecInput) -> Result<(), StageError> {
        let at = input.checkpoint().block_number;
        if self.hang_at.is_some_and(|hang| at >= hang) {
            std::future::pending::<()>().await;
        }
        if let Some(gate) = &mut self.waits_for {
            gate.wait_for(|open| *open).await.expect("the gate's stage is alive");
        }
        if self.take_fault(at + 1, true).is_some() {
            return Err(StageError::recoverable(format!("no peer for step {}", at + 1)));
        }
        Ok(())
    }

    fn execute(&mut self, txn: &mut WriteTxn, input: ExecInput) -> Result<ExecOutput, StageError> {
        let at = input.checkpoint();
        let end = match input.target {
            Some(target) if self.stop_at_target => target.min(self.steps),
            _ => self.steps,
        };
        if at.block_number >= end {
            // Already done (a rerun without a target): nothing to write.
            return Ok(ExecOutput::done(at));
        }
        let step = at.block_number + 1;
        let key = step_key(self.name, step);
        if txn.get::<Steps>(&key).map_err(StageError::store)?.is_some() {
            return Err(StageError::fatal(format!("step {key} redone")));
        }
        txn.put::<Steps>(&key, &step).map_err(StageError::store)?;
        self.record(format!("{}:exec:{step}", self.name));
        match self.take_fault(step, false) {
            Some(Fault::RecoverableAfterWrite) => {
                return Err(StageError::recoverable("peer vanished"));
            }
            Some(Fault::FatalAfterWrite) => return Err(StageError::fatal("invariant broken")),
            _ => {}
        }
        let checkpoint = StageCheckpoint::new(step);
        if let Some(gate) = self.opens.as_ref().filter(|_| step >= end) {
            gate.send_replace(true);
        }
        Ok(if step >= end {
            ExecOutput::done(checkpoint)
        } else {
            ExecOutput::in_progress(checkpoint)
        })
    }

    fn unwind(
        &mut self,
        txn: &mut WriteTxn,
        input: UnwindInput,
    ) -> Result<UnwindOutput, StageError> {
        let from = input.checkpoint.block_number;
        let to = from.saturating_sub(self.unwind_batch).max(input.unwind_to);
        for step in (to + 1..=from).rev() {
            assert!(txn.delete::<Steps>(&step_key(self.name, step)).map_err(StageError::store)?);
        }
        self.record(format!("{}:unwind:{from}->{to}", self.name));
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(to) })
    }
}

fn log() -> Log {
    Arc::new(Mutex::new(Vec::new()))
}

fn take_log(log: &Log) -> Vec<String> {
    std::mem::take(&mut *log.lock().unwrap())
}

fn memory() -> Arc<dyn Database> {
    Arc::new(MemoryDatabase::new())
}

fn set(stages: Vec<Counter>) -> StageSet<dyn Database> {
    stages.into_iter().try_fold(StageSet::builder(), |b, s| b.add(s)).unwrap().build()
}

fn fast_retries(max_retries: u32) -> RetryPolicy {
    RetryPolicy {
        max_retries,
        initial_backoff: Duration::from_millis(100),
        max_backoff: Duration::from_secs(1),
    }
}

/// Every step entry of `stage`, in order.
fn stored_steps(db: &dyn Database, stage: &str) -> Vec<u64> {
    let view = db.view().unwrap();
    view.iter::<Steps>()
        .unwrap()
        .map(Result::unwrap)
        .filter(|(key, _)| key.starts_with(&format!("{stage}/")))
        .map(|(_, step)| step)
        .collect()
}

fn checkpoint_of(pipeline: &Pipeline<dyn Database>, name: &'static str) -> Option<u64> {
    pipeline.checkpoint(&StageId::new(name)).unwrap().map(|c| c.block_number)
}

fn drain(events: &mut broadcast::Receiver<PipelineEvent>) -> Vec<PipelineEvent> {
    std::iter::from_fn(|| events.try_recv().ok()).collect()
}

fn execs(name: &str, steps: impl IntoIterator<Item = u64>) -> Vec<String> {
    steps.into_iter().map(|n| format!("{name}:exec:{n}")).collect()
}

#[tokio::test]
async fn runs_stages_in_order_and_commits_checkpoints() {
    let db = memory();
    let log = log();
    let stages = set(vec![Counter::new("A", 3, &log), Counter::new("B", 2, &log)]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages);
    assert_eq!(pipeline.stage_ids(), [StageId::new("A"), StageId::new("B")]);
    pipeline.run(None).await.unwrap();

    let mut expected = execs("A", 1..=3);
    expected.extend(execs("B", 1..=2));
    assert_eq!(take_log(&log), expected);
    assert_eq!(checkpoint_of(&pipeline, "A"), Some(3));
    assert_eq!(checkpoint_of(&pipeline, "B"), Some(2));
    assert_eq!(stored_steps(&*db, "A"), [1, 2, 3]);
    assert_eq!(stored_steps(&*db, "B"), [1, 2]);
}

#[tokio::test]
async fn emits_events_in_order() {
    let log = log();
    let stages = set(vec![Counter::new("A", 2, &log), Counter::new("B", 1, &log)]);
    let mut pipeline = Pipeline::new(memory(), stages);
    let mut events = pipeline.subscribe();
    pipeline.run(Some(1)).await.unwrap();

    let a = || StageId::new("A");
    let b = || StageId::new("B");
    let cp = StageCheckpoint::new;
    assert_eq!(
        drain(&mut events),
        [
            PipelineEvent::StageStarted { stage: a(), checkpoint: None, target: Some(1) },
            PipelineEvent::StageProgress { stage: a(), checkpoint: cp(1) },
            PipelineEvent::StageProgress { stage: a(), checkpoint: cp(2) },
            PipelineEvent::StageFinished { stage: a(), checkpoint: cp(2) },
            PipelineEvent::StageStarted { stage: b(), checkpoint: None, target: Some(1) },
            PipelineEvent::StageProgress { stage: b(), checkpoint: cp(1) },
            PipelineEvent::StageFinished { stage: b(), checkpoint: cp(1) },
        ]
    );

    // A second run: both checkpoints have reached the target, nothing executes.
    pipeline.run(Some(1)).await.unwrap();
    assert_eq!(
        drain(&mut events),
        [
            PipelineEvent::StageSkipped { stage: a(), checkpoint: cp(2) },
            PipelineEvent::StageSkipped { stage: b(), checkpoint: cp(1) },
        ]
    );
    assert_eq!(take_log(&log), [execs("A", 1..=2), execs("B", 1..=1)].concat());
}

/// Runs A (10 steps, hanging in `ready` after `k` commits) then B, drops the pipeline while it
/// hangs, builds a new pipeline on `reopen()`'s database and checks the run continues from the
/// checkpoint without redoing a committed step.
async fn resume_after_restart(
    first: Arc<dyn Database>,
    reopen: impl FnOnce() -> Arc<dyn Database>,
) {
    let k = 4;
    let log = log();
    let stages = set(vec![Counter::new("A", 10, &log).hang_at(k), Counter::new("B", 2, &log)]);
    let mut pipeline = Pipeline::new(first, stages);
    let mut events = pipeline.subscribe();
    let run = tokio::time::timeout(Duration::from_secs(60), pipeline.run(None)).await;
    assert!(run.is_err(), "the pipeline should hang in ready");
    let progress =
        drain(&mut events).into_iter().filter(|e| matches!(e, PipelineEvent::StageProgress { .. }));
    assert_eq!(progress.count(), 4);
    drop(pipeline);
    assert_eq!(take_log(&log), execs("A", 1..=k));

    let db = reopen();
    assert_eq!(stored_steps(&*db, "A"), [1, 2, 3, 4]);
    let stages = set(vec![Counter::new("A", 10, &log), Counter::new("B", 2, &log)]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages);
    let mut events = pipeline.subscribe();
    pipeline.run(None).await.unwrap();

    // The counter fails fatally if asked to redo a stored step; the log shows only new steps.
    assert_eq!(take_log(&log), [execs("A", k + 1..=10), execs("B", 1..=2)].concat());
    assert_eq!(
        drain(&mut events).first(),
        Some(&PipelineEvent::StageStarted {
            stage: StageId::new("A"),
            checkpoint: Some(StageCheckpoint::new(k)),
            target: None,
        })
    );
    assert_eq!(stored_steps(&*db, "A"), (1..=10).collect::<Vec<_>>());
    assert_eq!(checkpoint_of(&pipeline, "A"), Some(10));
    assert_eq!(checkpoint_of(&pipeline, "B"), Some(2));
}

#[tokio::test(start_paused = true)]
async fn resumes_after_restart_memory() {
    let db = memory();
    let same = Arc::clone(&db);
    resume_after_restart(db, move || same).await;
}

#[tokio::test(start_paused = true)]
async fn resumes_after_restart_redb_reopened() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("stages.redb");
    let db: Arc<dyn Database> =
        Arc::new(RedbDatabase::open(&path, RedbOptions::default()).unwrap());
    // `resume_after_restart` drops the first pipeline (the only owner of the database, closing
    // the file) before calling `reopen`.
    resume_after_restart(db, || {
        Arc::new(RedbDatabase::open(&path, RedbOptions::default()).unwrap())
    })
    .await;
}

#[tokio::test]
async fn failed_step_commits_nothing_and_fatal_stops() {
    let db = memory();
    let log = log();
    let stages = set(vec![
        Counter::new("A", 5, &log).fault(3, Fault::FatalAfterWrite),
        Counter::new("B", 2, &log),
    ]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages).with_retry_policy(fast_retries(5));
    let mut events = pipeline.subscribe();
    let err = pipeline.run(None).await.unwrap_err();
    match &err {
        PipelineError::Fatal { stage, checkpoint, source } => {
            assert_eq!(stage, &StageId::new("A"));
            assert_eq!(**checkpoint, StageCheckpoint::new(2));
            assert!(!source.is_recoverable());
        }
        other => panic!("expected a fatal error, got {other:?}"),
    }
    assert!(err.to_string().contains("invariant broken"), "{err}");
    // Step 3 wrote its entry before failing: none of it is visible, the checkpoint is still 2,
    // and B never ran.
    assert_eq!(stored_steps(&*db, "A"), [1, 2]);
    assert_eq!(checkpoint_of(&pipeline, "A"), Some(2));
    assert_eq!(checkpoint_of(&pipeline, "B"), None);
    assert_eq!(take_log(&log), execs("A", 1..=3));
    match drain(&mut events).last() {
        Some(PipelineEvent::Error { stage, error, attempt: 1, will_retry: false }) => {
            assert_eq!(stage, &StageId::new("A"));
            assert_eq!(error.kind(), FailureKind::Fatal);
            assert_eq!(error.chain(), ["fatal: invariant broken", "invariant broken"]);
            assert_eq!(error.to_string(), "fatal: invariant broken");
            let typed = error.downcast_ref::<StageError>().expect("the event carries the error");
            assert!(!typed.is_recoverable());
            let PipelineError::Fatal { source, .. } = &err else { unreachable!("matched above") };
            assert!(
                std::ptr::addr_eq(error.error(), source.as_ref()),
                "the event and the returned error are one error"
            );
        }
        other => panic!("expected the fatal error's event, got {other:?}"),
    }
}

#[tokio::test(start_paused = true)]
async fn recoverable_errors_are_retried_with_backoff() {
    let db = memory();
    let log = log();
    let stages = set(vec![
        Counter::new("A", 3, &log)
            .fault(2, Fault::RecoverableAfterWrite)
            .fault(2, Fault::ReadyRecoverable)
            .fault(2, Fault::RecoverableAfterWrite),
    ]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages).with_retry_policy(fast_retries(3));
    let mut events = pipeline.subscribe();
    let started = tokio::time::Instant::now();
    pipeline.run(None).await.unwrap();

    // Backoffs of 100, 200 and 400 ms on the paused clock.
    assert!(started.elapsed() >= Duration::from_millis(700), "{:?}", started.elapsed());
    // Step 2 executed three times (the second attempt failed in `ready`; the failed attempts'
    // writes were discarded, or the counter would have refused to redo the step) and is stored
    // once.
    assert_eq!(take_log(&log), execs("A", [1, 2, 2, 2, 3]));
    assert_eq!(stored_steps(&*db, "A"), [1, 2, 3]);
    let errors: Vec<_> = drain(&mut events)
        .into_iter()
        .filter_map(|e| match e {
            PipelineEvent::Error { attempt, will_retry, error, .. } => {
                Some((attempt, will_retry, error.kind(), error.chain()[1].clone()))
            }
            _ => None,
        })
        .collect();
    let recoverable = FailureKind::Recoverable;
    assert_eq!(
        errors,
        [
            (1, true, recoverable, "peer vanished".to_owned()),
            (2, true, recoverable, "no peer for step 2".to_owned()),
            (3, true, recoverable, "peer vanished".to_owned()),
        ]
    );
}

#[tokio::test(start_paused = true)]
async fn retries_are_bounded() {
    let db = memory();
    let log = log();
    let mut counter = Counter::new("A", 3, &log);
    for _ in 0..5 {
        counter = counter.fault(2, Fault::ReadyRecoverable);
    }
    let mut pipeline =
        Pipeline::new(Arc::clone(&db), set(vec![counter])).with_retry_policy(fast_retries(2));
    match pipeline.run(None).await.unwrap_err() {
        PipelineError::RetriesExhausted { stage, checkpoint, attempts, source } => {
            assert_eq!(stage, StageId::new("A"));
            assert_eq!(*checkpoint, StageCheckpoint::new(1));
            assert_eq!(attempts, 3);
            assert!(source.is_recoverable());
        }
        other => panic!("expected exhausted retries, got {other:?}"),
    }
    assert_eq!(checkpoint_of(&pipeline, "A"), Some(1));
    // The remaining faults clear on a later run, which resumes at step 2.
    pipeline.run(None).await.unwrap();
    assert_eq!(take_log(&log), execs("A", 1..=3));
}

#[tokio::test]
async fn unwinds_in_reverse_order_with_checkpoints() {
    let db = memory();
    let log = log();
    let stages = set(vec![
        Counter::new("A", 5, &log),
        Counter::new("B", 5, &log).unwind_batch(1),
        Counter::new("C", 5, &log),
        Counter::new("D", 1, &log),
    ]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages);
    pipeline.run(None).await.unwrap();
    take_log(&log);
    let mut events = pipeline.subscribe();

    assert_eq!(pipeline.unwind_to(2).await.unwrap(), ControlFlow::Unwound { block: 2 });
    // D is at 1, below the target: untouched. B unwinds one block per transaction.
    assert_eq!(
        take_log(&log),
        ["C:unwind:5->2", "B:unwind:5->4", "B:unwind:4->3", "B:unwind:3->2", "A:unwind:5->2"]
    );
    let unwound: Vec<_> = drain(&mut events)
        .into_iter()
        .map(|e| match e {
            PipelineEvent::Unwound { stage, checkpoint } => {
                (stage.to_string(), checkpoint.block_number)
            }
            other => panic!("unexpected event {other:?}"),
        })
        .collect();
    assert_eq!(
        unwound,
        [("C".into(), 2), ("B".into(), 4), ("B".into(), 3), ("B".into(), 2), ("A".into(), 2)]
    );
    for name in ["A", "B", "C"] {
        assert_eq!(checkpoint_of(&pipeline, name), Some(2));
        assert_eq!(stored_steps(&*db, name), [1, 2]);
    }
    assert_eq!(checkpoint_of(&pipeline, "D"), Some(1));

    // Running again redoes exactly the unwound steps.
    pipeline.run(None).await.unwrap();
    assert_eq!(take_log(&log), [execs("A", 3..=5), execs("B", 3..=5), execs("C", 3..=5)].concat());
    // D (never unwound) was called again without a target and reported done at once.
}

/// A stage whose unwind does not lower its checkpoint.
struct Stuck;

impl<S: StateStore<Writer = WriteTxn> + ?Sized> Stage<S> for Stuck {
    fn id(&self) -> StageId {
        StageId::new("Stuck")
    }

    fn execute(&mut self, _: &mut WriteTxn, _: ExecInput) -> Result<ExecOutput, StageError> {
        Ok(ExecOutput::done(StageCheckpoint::new(9)))
    }

    fn unwind(&mut self, _: &mut WriteTxn, input: UnwindInput) -> Result<UnwindOutput, StageError> {
        Ok(UnwindOutput { checkpoint: input.checkpoint })
    }
}

#[tokio::test]
async fn unwind_that_does_not_progress_is_an_error() {
    let stages = StageSet::builder().add(Stuck).unwrap().build();
    let mut pipeline = Pipeline::new(memory(), stages);
    pipeline.run(None).await.unwrap();
    match pipeline.unwind_to(3).await.unwrap_err() {
        PipelineError::UnwindStalled { stage, from: 9, target: 3 } => {
            assert_eq!(stage, StageId::new("Stuck"));
        }
        other => panic!("expected a stalled unwind, got {other:?}"),
    }
}

#[tokio::test]
async fn corrupt_stored_checkpoint_is_an_error() {
    let db = memory();
    let mut txn = db.write().unwrap();
    txn.put::<StageCheckpoints>(&"A".to_owned(), &vec![1u8, 0, 0].into()).unwrap();
    txn.commit().unwrap();
    let log = log();
    let mut pipeline = Pipeline::new(db, set(vec![Counter::new("A", 1, &log)]));
    match pipeline.run(None).await.unwrap_err() {
        PipelineError::CorruptCheckpoint { stage, .. } => assert_eq!(stage, StageId::new("A")),
        other => panic!("expected a corrupt checkpoint, got {other:?}"),
    }
    assert!(take_log(&log).is_empty());
}

#[test]
fn run_future_is_send() {
    fn assert_send<T: Send>(_: &T) {}
    let mut pipeline = Pipeline::new(memory(), StageSet::default());
    let run = pipeline.run(None);
    assert_send(&run);
}

#[tokio::test]
async fn builder_edits_by_id() {
    let log = log();
    let c = |name| Counter::new(name, 1, &log);
    let id = StageId::new;

    let set = StageSet::<dyn Database>::builder()
        .add(c("Headers"))
        .unwrap()
        .add(c("Execution"))
        .unwrap()
        .insert_after(&StageId::HEADERS, c("Bodies"))
        .unwrap()
        .insert_before(&StageId::HEADERS, c("First"))
        .unwrap()
        .insert_before(&StageId::EXECUTION, c("SnapSync"))
        .unwrap()
        .build();
    assert_eq!(
        set.ids(),
        [id("First"), StageId::HEADERS, StageId::BODIES, id("SnapSync"), StageId::EXECUTION]
    );

    // Disable keeps the position for later edits; enable brings the stage back.
    let builder = set.into_builder().disable(&StageId::BODIES).unwrap();
    let builder = builder.insert_after(&StageId::BODIES, c("AfterBodies")).unwrap();
    let set = builder.build();
    assert_eq!(
        set.ids(),
        [id("First"), StageId::HEADERS, id("AfterBodies"), id("SnapSync"), StageId::EXECUTION]
    );

    // Replacing keeps the position; a new id must be free.
    let builder = set.into_builder().replace(&id("First"), c("Zeroth")).unwrap();
    assert_eq!(builder.build().ids()[0], id("Zeroth"));

    // Errors name the stage.
    let dup = StageSet::<dyn Database>::builder().add(c("A")).unwrap().add(c("A")).unwrap_err();
    assert_eq!(dup, StageSetError::Duplicate(id("A")));
    assert_eq!(dup.to_string(), "stage A is already in the set");
    let builder = StageSet::<dyn Database>::builder().add(c("A")).unwrap().add(c("B")).unwrap();
    let unknown = builder.insert_before(&id("X"), c("C")).unwrap_err();
    assert_eq!(unknown, StageSetError::Unknown(id("X")));
    let builder = StageSet::<dyn Database>::builder().add(c("A")).unwrap().add(c("B")).unwrap();
    assert_eq!(
        builder.insert_after(&id("A"), c("B")).unwrap_err(),
        StageSetError::Duplicate(id("B"))
    );
    let builder = StageSet::<dyn Database>::builder().add(c("A")).unwrap().add(c("B")).unwrap();
    assert_eq!(builder.replace(&id("A"), c("B")).unwrap_err(), StageSetError::Duplicate(id("B")));
    let builder = StageSet::<dyn Database>::builder().add(c("A")).unwrap();
    assert_eq!(builder.disable(&id("B")).unwrap_err(), StageSetError::Unknown(id("B")));
    let builder = StageSet::<dyn Database>::builder().add(c("A")).unwrap();
    assert_eq!(builder.replace(&id("Q"), c("Q")).unwrap_err(), StageSetError::Unknown(id("Q")));
    // A disabled stage still takes its id.
    let builder =
        StageSet::<dyn Database>::builder().add(c("A")).unwrap().disable(&id("A")).unwrap();
    assert_eq!(builder.add(c("A")).unwrap_err(), StageSetError::Duplicate(id("A")));

    // Sets compose, and a disabled stage is not run.
    let tail =
        StageSet::<dyn Database>::builder().add(c("T1")).unwrap().add(c("T2")).unwrap().build();
    let set = StageSet::<dyn Database>::builder()
        .add(c("A"))
        .unwrap()
        .add_set(tail)
        .unwrap()
        .disable(&id("T1"))
        .unwrap()
        .build();
    take_log(&log);
    let mut pipeline = Pipeline::new(memory(), set);
    pipeline.run(None).await.unwrap();
    assert_eq!(take_log(&log), ["A:exec:1", "T2:exec:1"]);
}

/// A stage whose `execute` blocks its thread for `pause` per step, flagging while it does.
struct Sleeper {
    steps: u64,
    pause: Duration,
    executing: Arc<AtomicBool>,
}

impl<S: StateStore<Writer = WriteTxn> + ?Sized> Stage<S> for Sleeper {
    fn id(&self) -> StageId {
        StageId::new("Sleeper")
    }

    fn execute(&mut self, txn: &mut WriteTxn, input: ExecInput) -> Result<ExecOutput, StageError> {
        self.executing.store(true, Ordering::SeqCst);
        std::thread::sleep(self.pause);
        self.executing.store(false, Ordering::SeqCst);
        let step = input.checkpoint().block_number + 1;
        txn.put::<Steps>(&step_key("Sleeper", step), &step).map_err(StageError::store)?;
        let checkpoint = StageCheckpoint::new(step);
        Ok(if step >= self.steps {
            ExecOutput::done(checkpoint)
        } else {
            ExecOutput::in_progress(checkpoint)
        })
    }

    fn unwind(&mut self, _: &mut WriteTxn, input: UnwindInput) -> Result<UnwindOutput, StageError> {
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}

/// On a current-thread runtime (the one thread that runs every task), a stage blocking in
/// `execute` must not stop other tasks: the pipeline runs it on the blocking pool. Run inline,
/// the ticker could not tick once while a step executes.
#[tokio::test(flavor = "current_thread")]
async fn a_blocking_execute_does_not_stall_other_tasks() {
    let executing = Arc::new(AtomicBool::new(false));
    let stage =
        Sleeper { steps: 3, pause: Duration::from_millis(150), executing: Arc::clone(&executing) };
    let db = memory();
    let mut pipeline =
        Pipeline::new(Arc::clone(&db), StageSet::builder().add(stage).unwrap().build());
    let ticks_while_executing = Arc::new(AtomicU64::new(0));
    let ticker = tokio::spawn({
        let ticks = Arc::clone(&ticks_while_executing);
        async move {
            let mut interval = tokio::time::interval(Duration::from_millis(5));
            loop {
                interval.tick().await;
                if executing.load(Ordering::SeqCst) {
                    ticks.fetch_add(1, Ordering::SeqCst);
                }
            }
        }
    });
    let flow = pipeline.run(None).await.unwrap();
    ticker.abort();
    assert_eq!(flow, ControlFlow::Finished { target: None });
    assert_eq!(stored_steps(&*db, "Sleeper"), [1, 2, 3]);
    // 450 ms of blocked execution at a 5 ms tick: about 90 ticks; 10 leaves room for a busy
    // machine, and inline execution would give 0.
    let ticks = ticks_while_executing.load(Ordering::SeqCst);
    assert!(ticks >= 10, "only {ticks} ticks while a step executed");
}

/// Waits for the `StageProgress` event of `stage` at `block`.
async fn progress_of(
    events: &mut broadcast::Receiver<PipelineEvent>,
    stage: &'static str,
    block: u64,
) {
    loop {
        match events.recv().await.unwrap() {
            PipelineEvent::StageProgress { stage: s, checkpoint }
                if s == StageId::new(stage) && checkpoint.block_number == block =>
            {
                return;
            }
            _ => {}
        }
    }
}

/// Every stored step entry and checkpoint of stages A and B.
fn outcome(db: &Arc<dyn Database>) -> (Vec<u64>, Vec<u64>, Option<u64>, Option<u64>) {
    let pipeline = Pipeline::new(Arc::clone(db), StageSet::default());
    (
        stored_steps(&**db, "A"),
        stored_steps(&**db, "B"),
        checkpoint_of(&pipeline, "A"),
        checkpoint_of(&pipeline, "B"),
    )
}

#[tokio::test]
async fn cancelled_in_ready_then_a_new_pipeline_resumes_to_the_same_result() {
    // What an uninterrupted run stores.
    let reference = memory();
    let log = log();
    let stages = set(vec![Counter::new("A", 10, &log), Counter::new("B", 2, &log)]);
    Pipeline::new(Arc::clone(&reference), stages).run(None).await.unwrap();
    take_log(&log);

    // A hangs in `ready` after 4 commits (a network that never answers) until cancelled.
    let db = memory();
    let stages = set(vec![Counter::new("A", 10, &log).hang_at(4), Counter::new("B", 2, &log)]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages);
    let token = pipeline.cancel_token();
    let mut events = pipeline.subscribe();
    let mut watcher = pipeline.subscribe();
    let cancel_after_4 = async {
        progress_of(&mut watcher, "A", 4).await;
        token.cancel();
    };
    let (flow, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(pipeline.run(None), cancel_after_4)
    })
    .await
    .expect("the cancellation ends the hanging run");
    assert_eq!(flow.unwrap(), ControlFlow::Cancelled { stage: Some(StageId::new("A")) });
    assert_eq!(
        drain(&mut events).last(),
        Some(&PipelineEvent::Cancelled { stage: Some(StageId::new("A")) })
    );
    assert_eq!(take_log(&log), execs("A", 1..=4));
    assert_eq!(outcome(&db), (vec![1, 2, 3, 4], vec![], Some(4), None));

    // The token stays cancelled: the pipeline does nothing more.
    let again = pipeline.run(None).await.unwrap();
    assert_eq!(again, ControlFlow::Cancelled { stage: Some(StageId::new("A")) });
    assert!(take_log(&log).is_empty());
    drop(pipeline);

    // A new pipeline resumes from the stored checkpoints and ends where the reference did.
    let stages = set(vec![Counter::new("A", 10, &log), Counter::new("B", 2, &log)]);
    let flow = Pipeline::new(Arc::clone(&db), stages).run(None).await.unwrap();
    assert_eq!(flow, ControlFlow::Finished { target: None });
    assert_eq!(take_log(&log), [execs("A", 5..=10), execs("B", 1..=2)].concat());
    assert_eq!(outcome(&db), outcome(&reference));
    assert_eq!(outcome(&db), ((1..=10).collect(), vec![1, 2], Some(10), Some(2)));
}

/// A stage whose step `at` writes its entry, says so, then blocks until released.
struct Gated {
    at: u64,
    started: Option<tokio::sync::oneshot::Sender<()>>,
    release: std::sync::mpsc::Receiver<()>,
}

impl<S: StateStore<Writer = WriteTxn> + ?Sized> Stage<S> for Gated {
    fn id(&self) -> StageId {
        StageId::new("Gated")
    }

    fn execute(&mut self, txn: &mut WriteTxn, input: ExecInput) -> Result<ExecOutput, StageError> {
        let step = input.checkpoint().block_number + 1;
        txn.put::<Steps>(&step_key("Gated", step), &step).map_err(StageError::store)?;
        if step == self.at {
            if let Some(started) = self.started.take() {
                started.send(()).unwrap();
            }
            self.release.recv().unwrap();
        }
        Ok(ExecOutput::in_progress(StageCheckpoint::new(step)))
    }

    fn unwind(&mut self, _: &mut WriteTxn, input: UnwindInput) -> Result<UnwindOutput, StageError> {
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}

#[tokio::test]
async fn cancelled_during_execute_the_step_is_dropped() {
    let (started_tx, started) = tokio::sync::oneshot::channel();
    let (release_tx, release) = std::sync::mpsc::channel();
    let stage = Gated { at: 3, started: Some(started_tx), release };
    let db = memory();
    let token = CancelToken::new();
    let mut pipeline =
        Pipeline::new(Arc::clone(&db), StageSet::builder().add(stage).unwrap().build())
            .with_cancel_token(token.clone());
    let cancel_in_step_3 = async {
        started.await.unwrap();
        // Step 3 has written its entry and is blocked in `execute`.
        token.cancel();
        release_tx.send(()).unwrap();
    };
    let (flow, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(pipeline.run(None), cancel_in_step_3)
    })
    .await
    .unwrap();
    assert_eq!(flow.unwrap(), ControlFlow::Cancelled { stage: Some(StageId::new("Gated")) });
    // Nothing of step 3 was committed: its entry is absent and the checkpoint is still 2.
    assert_eq!(stored_steps(&*db, "Gated"), [1, 2]);
    assert_eq!(pipeline.checkpoint(&StageId::new("Gated")).unwrap(), Some(StageCheckpoint::new(2)));
}

/// Serves queued commands (then [`Command::Stop`]) and records the flows it was shown.
struct Script {
    commands: VecDeque<Command>,
    seen: Vec<ControlFlow>,
}

impl PipelineControl for Script {
    async fn next(&mut self, flow: &ControlFlow) -> Command {
        self.seen.push(flow.clone());
        self.commands.pop_front().unwrap_or(Command::Stop)
    }
}

#[tokio::test]
async fn run_loop_follows_commands_until_stop() {
    let db = memory();
    let log = log();
    let stages = set(vec![
        Counter::new("A", 100, &log).stop_at_target(),
        Counter::new("B", 100, &log).stop_at_target(),
    ]);
    let mut pipeline = Pipeline::new(Arc::clone(&db), stages);
    let mut script = Script {
        commands: VecDeque::from([
            Command::Continue { target: Some(5) },
            Command::Unwind { to: 2 },
            Command::Continue { target: Some(4) },
        ]),
        seen: Vec::new(),
    };
    let last = pipeline.run_loop(Some(3), &mut script).await.unwrap();

    assert_eq!(last, ControlFlow::Finished { target: Some(4) });
    assert_eq!(
        script.seen,
        [
            ControlFlow::Finished { target: Some(3) },
            ControlFlow::Finished { target: Some(5) },
            ControlFlow::Unwound { block: 2 },
            ControlFlow::Finished { target: Some(4) },
        ]
    );
    let mut expected =
        [execs("A", 1..=3), execs("B", 1..=3), execs("A", 4..=5), execs("B", 4..=5)].concat();
    expected.extend(["B:unwind:5->2".to_owned(), "A:unwind:5->2".to_owned()]);
    expected.extend([execs("A", 3..=4), execs("B", 3..=4)].concat());
    assert_eq!(take_log(&log), expected);
    assert_eq!(outcome(&db), (vec![1, 2, 3, 4], vec![1, 2, 3, 4], Some(4), Some(4)));
}

#[tokio::test]
async fn run_loop_waiting_for_a_command_is_cancellable() {
    let log = log();
    let mut pipeline = Pipeline::new(memory(), set(vec![Counter::new("A", 2, &log)]));
    let token = pipeline.cancel_token();
    let (commands, mut control) = tokio::sync::mpsc::channel(4);
    let mut events = pipeline.subscribe();
    let client = async {
        // After the first pass, ask for another one; once it has finished too, the loop waits
        // on the (still open) channel: cancel it there.
        finished(&mut events).await;
        commands.send(Command::Continue { target: None }).await.unwrap();
        finished(&mut events).await;
        token.cancel();
    };
    let (flow, ()) = tokio::time::timeout(Duration::from_secs(60), async {
        tokio::join!(pipeline.run_loop(None, &mut control), client)
    })
    .await
    .unwrap();
    assert_eq!(flow.unwrap(), ControlFlow::Cancelled { stage: None });
    // The second pass called A again (no target), which reported done at once.
    assert_eq!(take_log(&log), execs("A", 1..=2));
    assert_eq!(pipeline.checkpoint(&StageId::new("A")).unwrap(), Some(StageCheckpoint::new(2)));
}

/// Waits for the next `StageFinished` event.
async fn finished(events: &mut broadcast::Receiver<PipelineEvent>) {
    while !matches!(events.recv().await.unwrap(), PipelineEvent::StageFinished { .. }) {}
}

/// A stage whose `execute` panics.
struct Panics;

impl<S: StateStore<Writer = WriteTxn> + ?Sized> Stage<S> for Panics {
    fn id(&self) -> StageId {
        StageId::new("Panics")
    }

    fn execute(&mut self, txn: &mut WriteTxn, _: ExecInput) -> Result<ExecOutput, StageError> {
        txn.put::<Steps>(&step_key("Panics", 1), &1).map_err(StageError::store)?;
        panic!("a bug in the stage");
    }

    fn unwind(&mut self, _: &mut WriteTxn, input: UnwindInput) -> Result<UnwindOutput, StageError> {
        Ok(UnwindOutput { checkpoint: StageCheckpoint::new(input.unwind_to) })
    }
}

#[tokio::test]
async fn a_panicking_execute_is_a_typed_error_and_commits_nothing() {
    let db = memory();
    let mut pipeline =
        Pipeline::new(Arc::clone(&db), StageSet::builder().add(Panics).unwrap().build());
    let mut events = pipeline.subscribe();
    match pipeline.run(None).await.unwrap_err() {
        PipelineError::StepAborted { stage, source } => {
            assert_eq!(stage, StageId::new("Panics"));
            assert!(source.is_panic());
        }
        other => panic!("expected an aborted step, got {other:?}"),
    }
    match drain(&mut events).last() {
        Some(PipelineEvent::Error { error, will_retry: false, .. }) => {
            assert_eq!(error.kind(), FailureKind::Fatal);
            assert!(error.message().contains("a bug in the stage"), "{error}");
        }
        other => panic!("expected the failure's event, got {other:?}"),
    }
    assert!(stored_steps(&*db, "Panics").is_empty());
    assert_eq!(pipeline.checkpoint(&StageId::new("Panics")).unwrap(), None);
}

/// Polls `future` to completion on this thread, without any runtime.
fn block_on<F: std::future::Future>(future: F) -> F::Output {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = std::task::Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut context = std::task::Context::from_waker(&waker);
    let mut future = std::pin::pin!(future);
    loop {
        if let std::task::Poll::Ready(output) = future.as_mut().poll(&mut context) {
            return output;
        }
        std::thread::park();
    }
}

#[test]
fn without_a_runtime_steps_run_inline() {
    assert!(tokio::runtime::Handle::try_current().is_err());
    let db = memory();
    let log = log();
    let mut pipeline = Pipeline::new(Arc::clone(&db), set(vec![Counter::new("A", 3, &log)]));
    assert_eq!(block_on(pipeline.run(None)).unwrap(), ControlFlow::Finished { target: None });
    assert_eq!(block_on(pipeline.unwind_to(1)).unwrap(), ControlFlow::Unwound { block: 1 });
    assert_eq!(take_log(&log), [execs("A", 1..=3), vec!["A:unwind:3->1".to_owned()]].concat());
    assert_eq!(stored_steps(&*db, "A"), [1]);
}

/// How many times each of `names` started, from the events.
fn starts(events: &[PipelineEvent], name: &'static str) -> usize {
    let id = StageId::new(name);
    events
        .iter()
        .filter(|event| matches!(event, PipelineEvent::StageStarted { stage, .. } if *stage == id))
        .count()
}

/// The position of `entry` in `log`.
fn at(log: &[String], entry: &str) -> usize {
    log.iter().position(|e| e == entry).unwrap_or_else(|| panic!("{entry} not in {log:?}"))
}

/// `Snap` (2 steps) waits in `ready` until `Bodies` (1 step) has written its last step, and
/// `Bodies` follows `Headers` (3 steps): the pipeline can only finish if both run alongside
/// `Snap`. `Exec` waits for all.
///
/// `Snap` waits for the last of the two, not for `Headers`: then both have finished before
/// `Snap` writes anything, so both must run again once it is done. Had it waited for `Headers`,
/// `Bodies` and `Snap`'s second step would race for the writer, and whether `Bodies` runs again
/// would depend on which won.
fn alongside_set(log: &Log, declare: bool) -> StageSet<dyn Database> {
    let (open, opened) = watch::channel(false);
    let id = StageId::new;
    let builder = StageSet::<dyn Database>::builder()
        .add(Counter::new("Snap", 2, log).waits_for(opened))
        .unwrap()
        .add(Counter::new("Headers", 3, log))
        .unwrap()
        .add(Counter::new("Bodies", 1, log).opens(open))
        .unwrap()
        .add(Counter::new("Exec", 1, log))
        .unwrap();
    if !declare {
        return builder.build();
    }
    let set = builder
        .alongside(&id("Headers"), &id("Snap"))
        .unwrap()
        .alongside(&id("Bodies"), &id("Snap"))
        .unwrap()
        .build();
    assert_eq!(set.alongside(&id("Bodies")), [id("Snap")]);
    assert!(set.alongside(&id("Exec")).is_empty());
    set
}

#[tokio::test(start_paused = true)]
async fn stages_alongside_run_concurrently_and_catch_up_after_the_earlier_one() {
    let log = log();
    let db = memory();
    let mut pipeline = Pipeline::new(db.clone(), alongside_set(&log, true));
    assert_eq!(pipeline.alongside(&StageId::new("Bodies")), [StageId::new("Snap")]);
    assert!(pipeline.alongside(&StageId::new("Exec")).is_empty());
    let mut events = pipeline.subscribe();
    let flow = tokio::time::timeout(Duration::from_secs(60), pipeline.run(None))
        .await
        .expect("Headers ran while Snap waited for it")
        .unwrap();
    assert_eq!(flow, ControlFlow::Finished { target: None });
    let log = take_log(&log);
    // Headers wrote everything, then Bodies, before Snap's first step; Exec last.
    assert!(at(&log, "Headers:exec:3") < at(&log, "Bodies:exec:1"), "{log:?}");
    assert!(at(&log, "Bodies:exec:1") < at(&log, "Snap:exec:1"), "{log:?}");
    assert_eq!(log.last().map(String::as_str), Some("Exec:exec:1"), "{log:?}");
    assert_eq!(log.len(), 7, "every step written once: {log:?}");
    // Headers and Bodies finished before Snap, so they ran again once it was done (each rerun a
    // step that found nothing to do); Snap and Exec ran once.
    let events = drain(&mut events);
    assert_eq!(
        [starts(&events, "Snap"), starts(&events, "Headers"), starts(&events, "Bodies")],
        [1, 2, 2]
    );
    assert_eq!(starts(&events, "Exec"), 1);
    let snap_finished = events
        .iter()
        .position(
            |e| matches!(e, PipelineEvent::StageFinished { stage, .. } if stage.as_str() == "Snap"),
        )
        .unwrap();
    let exec_started = events
        .iter()
        .position(
            |e| matches!(e, PipelineEvent::StageStarted { stage, .. } if stage.as_str() == "Exec"),
        )
        .unwrap();
    assert!(snap_finished < exec_started);
    for name in ["Snap", "Headers", "Bodies", "Exec"] {
        assert_eq!(checkpoint_of(&pipeline, name), Some(stored_steps(&*db, name).len() as u64));
    }
}

#[tokio::test(start_paused = true)]
async fn without_alongside_a_stage_waits_for_every_earlier_one() {
    let log = log();
    let mut pipeline = Pipeline::new(memory(), alongside_set(&log, false));
    let waited = tokio::time::timeout(Duration::from_secs(60), pipeline.run(None)).await;
    assert!(waited.is_err(), "Snap waits for Bodies, which waits for Snap");
    assert!(take_log(&log).is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_failing_stage_alongside_stops_the_run_with_its_error() {
    let log = log();
    let set = StageSet::<dyn Database>::builder()
        .add(Counter::new("Snap", 2, &log).hang_at(0))
        .unwrap()
        .add(Counter::new("Headers", 3, &log).fault(2, Fault::FatalAfterWrite))
        .unwrap()
        .alongside(&StageId::new("Headers"), &StageId::new("Snap"))
        .unwrap()
        .build();
    let db = memory();
    let mut pipeline = Pipeline::new(db.clone(), set);
    let error = tokio::time::timeout(Duration::from_secs(60), pipeline.run(None))
        .await
        .expect("the failure ends the run although Snap still waits")
        .unwrap_err();
    assert!(
        matches!(&error, PipelineError::Fatal { stage, .. } if stage.as_str() == "Headers"),
        "{error}"
    );
    assert_eq!(stored_steps(&*db, "Headers"), [1], "the failed step is not committed");
    assert_eq!(checkpoint_of(&pipeline, "Snap"), None);
}

#[test]
fn alongside_names_an_earlier_stage_of_the_set() {
    let log = log();
    let id = StageId::new;
    let builder = || {
        StageSet::<dyn Database>::builder()
            .add(Counter::new("A", 1, &log))
            .unwrap()
            .add(Counter::new("B", 1, &log))
            .unwrap()
    };
    let later = builder().alongside(&id("A"), &id("B")).unwrap_err();
    assert_eq!(later, StageSetError::NotBefore { stage: id("A"), earlier: id("B") });
    assert!(later.to_string().contains("B does not come before it"), "{later}");
    let itself = builder().alongside(&id("A"), &id("A")).unwrap_err();
    assert!(matches!(itself, StageSetError::NotBefore { .. }), "{itself}");
    assert_eq!(
        builder().alongside(&id("B"), &id("X")).unwrap_err(),
        StageSetError::Unknown(id("X"))
    );
    // A disabled earlier stage is not waited for at all, so nothing is left to run alongside;
    // the declaration survives editing the set.
    let set = builder().alongside(&id("B"), &id("A")).unwrap().build();
    assert_eq!(set.alongside(&id("B")), [id("A")]);
    let set = set.into_builder().disable(&id("A")).unwrap().build();
    assert!(set.alongside(&id("B")).is_empty());
    let set = StageSet::<dyn Database>::builder()
        .add(Counter::new("C", 1, &log))
        .unwrap()
        .add_set(builder().alongside(&id("B"), &id("A")).unwrap().build())
        .unwrap()
        .build();
    assert_eq!(set.alongside(&id("B")), [id("A")]);
}
