//! What `snapsync sync` shows while it runs: progress bars on a terminal, plain lines otherwise.
//!
//! Fed from three sources: the snap sync stage's [`SyncProgress`] snapshots and the network's
//! count of timed-out requests (read at every tick), and the pipeline's [`PipelineEvent`]s
//! (stage starts, finishes, failures, and the headers and bodies stages' committed blocks).
//! Timed-out requests show on every status line once there is one, so a sync whose peers
//! answer too late says so while it waits. Writing progress never fails the sync: a closed stderr only
//! loses the display.

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use snapsync_snap_sync::{SNAP_SYNC, SyncProgress};
use snapsync_stages::{FailureKind, PipelineEvent, StageId};
use std::{
    io::Write,
    time::{Duration, Instant},
};

/// How often the bars are redrawn.
const BAR_TICK: Duration = Duration::from_millis(200);
/// How often a plain progress line is written.
const LINE_TICK: Duration = Duration::from_secs(2);
/// Resolution of the account bar: tenths of a percent.
const ACCOUNT_STEPS: u64 = 1_000;

/// The progress display of one sync.
pub(super) struct ProgressView {
    bars: Option<Bars>,
    started: Instant,
    /// The account fraction when this process first saw one, for the ETA.
    start_fraction: Option<f64>,
    /// The stages running now, in the order they started (the chain stages run alongside the
    /// snap stage), each with the block its last step committed.
    running: Vec<(StageId, Option<u64>)>,
}

/// The terminal bars: the account hash space, and a status line.
struct Bars {
    multi: MultiProgress,
    accounts: ProgressBar,
    status: ProgressBar,
}

impl ProgressView {
    /// Bars when `terminal`, plain lines otherwise.
    pub(super) fn new(terminal: bool) -> Self {
        Self {
            bars: terminal.then(Bars::new),
            started: Instant::now(),
            start_fraction: None,
            running: Vec::new(),
        }
    }

    /// How often [`ProgressView::on_tick`] wants to be called.
    pub(super) const fn tick_interval(&self) -> Duration {
        if self.bars.is_some() { BAR_TICK } else { LINE_TICK }
    }

    /// Shows what the pipeline did.
    pub(super) fn on_event(&mut self, event: &PipelineEvent, err: &mut dyn Write) {
        match event {
            PipelineEvent::StageStarted { stage, .. } => {
                self.running.retain(|(running, _)| running != stage);
                self.running.push((stage.clone(), None));
            }
            PipelineEvent::StageProgress { stage, checkpoint } => {
                if let Some((_, block)) = self.running.iter_mut().find(|(id, _)| id == stage) {
                    *block = Some(checkpoint.block_number);
                }
            }
            PipelineEvent::StageFinished { stage, .. } => {
                self.running.retain(|(running, _)| running != stage);
            }
            _ => {}
        }
        if let Some(line) = event_line(event) {
            self.print(&line, err);
        }
    }

    /// Shows the stage's latest snapshot and the requests timed out so far (all stages):
    /// redraws the bars, or writes a line.
    pub(super) fn on_tick(&mut self, progress: &SyncProgress, timeouts: u64, err: &mut dyn Write) {
        if progress.pivot.is_some() && progress.phase == snapsync_snap_sync::SnapPhase::Accounts {
            self.start_fraction.get_or_insert(progress.accounts_fraction);
        }
        let mut status = self.status(progress);
        if timeouts > 0 {
            let requests = if timeouts == 1 { "request" } else { "requests" };
            status.push_str(&format!(", {timeouts} {requests} timed out"));
        }
        match &self.bars {
            Some(bars) => bars.update(progress, self.eta(progress), status),
            None => {
                let elapsed = self.started.elapsed().as_secs_f64();
                let _ = writeln!(err, "[{elapsed:7.1}s] {status}");
            }
        }
    }

    /// Removes the bars.
    pub(super) fn finish(&self) {
        if let Some(bars) = &self.bars {
            bars.accounts.finish_and_clear();
            bars.status.finish_and_clear();
        }
    }

    /// Writes `line` above the bars, or to `err`.
    fn print(&self, line: &str, err: &mut dyn Write) {
        match &self.bars {
            Some(bars) => {
                let _ = bars.multi.println(line);
            }
            None => {
                let _ = writeln!(err, "{line}");
            }
        }
    }

    fn eta(&self, progress: &SyncProgress) -> Option<Duration> {
        progress.accounts_eta(self.start_fraction.unwrap_or(0.0))
    }

    /// The one-line status: the snap sync figures, or the chain stage's block.
    /// The snap stage's status while it runs (the chain stages beside it are brief), else the
    /// chain stage that started first.
    fn status(&self, progress: &SyncProgress) -> String {
        let snap_running = self.running.iter().any(|(stage, _)| *stage == SNAP_SYNC);
        match self.running.first() {
            Some((stage, block)) if !snap_running => match block {
                Some(block) => format!("{stage}: up to block {block}"),
                None => format!("{stage}: starting"),
            },
            _ => snap_status(progress, self.eta(progress)),
        }
    }
}

impl Bars {
    fn new() -> Self {
        let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
        let accounts = multi.add(ProgressBar::new(ACCOUNT_STEPS).with_style(style(
            "accounts [{bar:40.cyan/blue}] {percent:>3}% of the hash space {msg}",
        )));
        let status =
            multi.add(ProgressBar::new_spinner().with_style(style("{spinner} {wide_msg}")));
        Self { multi, accounts, status }
    }

    fn update(&self, progress: &SyncProgress, eta: Option<Duration>, status: String) {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "a fraction in 0..=1 times 1000"
        )]
        let position = (progress.accounts_fraction.clamp(0.0, 1.0) * ACCOUNT_STEPS as f64) as u64;
        self.accounts.set_position(position);
        self.accounts
            .set_message(eta.map_or_else(String::new, |eta| format!("ETA {}", duration(eta))));
        self.status.set_message(status);
        self.status.tick();
    }
}

/// A bar style from a template that is known to parse (else the default style).
fn style(template: &str) -> ProgressStyle {
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

/// E.g. `Storages: 45.3% of the account hash space, 123456 accounts, 7890 slots, 12 codes,
/// 45.6 MiB (11.4 MiB/s), 321 requests`.
fn snap_status(progress: &SyncProgress, eta: Option<Duration>) -> String {
    let Some(pivot) = progress.pivot else {
        return "SnapSync: choosing the pivot".to_owned();
    };
    let counts = &progress.counts;
    if progress.phase == snapsync_snap_sync::SnapPhase::Healing {
        return format!(
            "Healing at pivot {} (moved {} times): {} trie nodes healed, {} items pending, {} \
             ({}/s), {} requests",
            pivot.number,
            counts.pivot_moves,
            counts.healed_nodes,
            progress.heal_pending,
            mib(progress.bytes_downloaded),
            mib(rate(progress.bytes_downloaded, progress.elapsed)),
            progress.requests
        );
    }
    let eta = eta.map_or_else(String::new, |eta| format!(" (ETA {})", duration(eta)));
    format!(
        "{:?} at pivot {}: {:.1}% of the account hash space{eta}, {} accounts, {} slots, {} \
         codes, {} ({}/s), {} requests",
        progress.phase,
        pivot.number,
        progress.accounts_fraction * 100.0,
        counts.accounts,
        counts.slots,
        counts.codes,
        mib(progress.bytes_downloaded),
        mib(rate(progress.bytes_downloaded, progress.elapsed)),
        progress.requests
    )
}

/// The line an event deserves, if any (committed steps show in the status instead).
fn event_line(event: &PipelineEvent) -> Option<String> {
    Some(match event {
        PipelineEvent::StageStarted { stage, checkpoint: Some(checkpoint), .. } => {
            format!("{stage}: started, resuming from block {}", checkpoint.block_number)
        }
        PipelineEvent::StageStarted { stage, checkpoint: None, .. } => {
            format!("{stage}: started")
        }
        PipelineEvent::StageSkipped { stage, checkpoint } => {
            format!("{stage}: already at block {}", checkpoint.block_number)
        }
        PipelineEvent::StageFinished { stage, checkpoint } => {
            format!("{stage}: finished at block {}", checkpoint.block_number)
        }
        PipelineEvent::Error { stage, error, attempt, will_retry } => {
            let next = if *will_retry { "retrying" } else { "giving up" };
            let kind = match error.kind() {
                FailureKind::Recoverable => "",
                FailureKind::Fatal => "fatal, ",
                FailureKind::Local => "local storage, ",
            };
            // The stage error's source: the stage error's own message only prefixes it with the
            // kind, shown above.
            let cause = error.chain().get(1).map_or(error.message(), String::as_str);
            format!("warning: {stage} failed ({kind}attempt {attempt}, {next}): {cause}")
        }
        PipelineEvent::Cancelled { stage: Some(stage) } => format!("{stage}: cancelled"),
        PipelineEvent::Cancelled { stage: None } => "cancelled".to_owned(),
        PipelineEvent::StageProgress { .. } | PipelineEvent::Unwound { .. } => return None,
    })
}

/// Bytes per second over `elapsed`.
pub(super) fn rate(bytes: u64, elapsed: Duration) -> u64 {
    let seconds = elapsed.as_secs_f64();
    if seconds <= 0.0 {
        return 0;
    }
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss,
        reason = "a non-negative rate, far below 2^64"
    )]
    let rate = (bytes as f64 / seconds) as u64;
    rate
}

/// `bytes` in MiB with one decimal, e.g. `45.6 MiB`.
pub(super) fn mib(bytes: u64) -> String {
    #[allow(clippy::cast_precision_loss, reason = "display only")]
    let mib = bytes as f64 / (1024.0 * 1024.0);
    format!("{mib:.1} MiB")
}

/// E.g. `45s`, `3m 05s`.
fn duration(duration: Duration) -> String {
    let seconds = duration.as_secs();
    if seconds < 60 {
        format!("{seconds}s")
    } else {
        format!("{}m {:02}s", seconds / 60, seconds % 60)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapsync_snap_sync::Pivot;
    use snapsync_stages::{StageCheckpoint, StageError, StepFailure};

    #[test]
    fn plain_lines_show_the_figures() {
        let mut progress = SyncProgress::default();
        let mut view = ProgressView::new(false);
        let mut err = Vec::new();
        view.on_tick(&progress, 0, &mut err);
        view.on_tick(&progress, 3, &mut err);
        progress.pivot =
            Some(Pivot { number: 64, hash: Default::default(), state_root: Default::default() });
        progress.accounts_fraction = 0.5;
        progress.counts.accounts = 1234;
        progress.bytes_downloaded = 3 * 1024 * 1024;
        progress.elapsed = Duration::from_secs(2);
        view.on_tick(&progress, 1, &mut err);
        let text = String::from_utf8(err).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].ends_with("SnapSync: choosing the pivot"), "{text}");
        assert!(lines[1].ends_with("choosing the pivot, 3 requests timed out"), "{text}");
        assert!(lines[2].ends_with(", 1 request timed out"), "{text}");
        assert!(text.contains("Accounts at pivot 64: 50.0% of the account hash space"), "{text}");
        assert!(text.contains("1234 accounts"), "{text}");
        assert!(text.contains("3.0 MiB (1.5 MiB/s)"), "{text}");
    }

    #[test]
    fn the_snap_stage_shows_while_chain_stages_run_beside_it() {
        let mut view = ProgressView::new(false);
        let mut err = Vec::new();
        let started =
            |stage: StageId| PipelineEvent::StageStarted { stage, checkpoint: None, target: None };
        view.on_event(&started(SNAP_SYNC), &mut err);
        view.on_event(&started(StageId::HEADERS), &mut err);
        let progress = PipelineEvent::StageProgress {
            stage: StageId::HEADERS,
            checkpoint: StageCheckpoint::new(70),
        };
        view.on_event(&progress, &mut err);
        view.on_tick(&SyncProgress::default(), 0, &mut err);
        let finished =
            PipelineEvent::StageFinished { stage: SNAP_SYNC, checkpoint: StageCheckpoint::new(64) };
        view.on_event(&finished, &mut err);
        view.on_tick(&SyncProgress::default(), 0, &mut err);
        let text = String::from_utf8(err).unwrap();
        let ticks: Vec<&str> = text.lines().filter(|line| line.starts_with('[')).collect();
        assert!(ticks[0].ends_with("SnapSync: choosing the pivot"), "{text}");
        assert!(ticks[1].ends_with("Headers: up to block 70"), "{text}");
    }

    #[test]
    fn events_and_chain_stages_show() {
        let mut view = ProgressView::new(false);
        let mut err = Vec::new();
        let stage = StageId::HEADERS;
        view.on_event(
            &PipelineEvent::StageStarted { stage: stage.clone(), checkpoint: None, target: None },
            &mut err,
        );
        view.on_event(
            &PipelineEvent::StageProgress {
                stage: stage.clone(),
                checkpoint: StageCheckpoint::new(70),
            },
            &mut err,
        );
        view.on_tick(&SyncProgress::default(), 0, &mut err);
        view.on_event(
            &PipelineEvent::Error {
                stage: stage.clone(),
                error: StepFailure::from(StageError::recoverable("no peer")),
                attempt: 2,
                will_retry: false,
            },
            &mut err,
        );
        view.on_event(
            &PipelineEvent::Error {
                stage,
                error: StepFailure::from(StageError::local("disk full")),
                attempt: 1,
                will_retry: false,
            },
            &mut err,
        );
        let text = String::from_utf8(err).unwrap();
        assert!(text.contains("Headers: started\n"), "{text}");
        assert!(text.contains("Headers: up to block 70"), "{text}");
        assert!(
            text.contains("warning: Headers failed (attempt 2, giving up): no peer\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "warning: Headers failed (local storage, attempt 1, giving up): disk full"
            ),
            "{text}"
        );
    }

    #[test]
    fn figures_format() {
        assert_eq!(duration(Duration::from_secs(185)), "3m 05s");
        assert_eq!(duration(Duration::from_secs(7)), "7s");
        assert_eq!(rate(10, Duration::ZERO), 0);
        assert_eq!(mib(1024 * 1024 / 2), "0.5 MiB");
    }
}
