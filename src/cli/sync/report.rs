//! The result of `snapsync sync`: a human summary, or one JSON line.

use super::display::{mib, rate};
use alloy_primitives::B256;
use snapsync_snap_sync::{Counts, SyncSummary};
use std::{io::Write, time::Duration};

/// How this run established that the stored state is the pivot's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum LeafVerdict {
    /// The stage finished in this run: its last step hashed the stored leaves to the pivot's
    /// root.
    CheckedByTheStage,
    /// The data directory was already finished: its stored leaves were hashed again, taking
    /// this long.
    RecheckedNow(Duration),
}

/// What the execution stage did in this run, and the block whose root the state was checked
/// against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct ExecutionFigures {
    /// The tip: the block the state must be at once every block above the pivot is executed.
    pub(super) head_block: u64,
    /// The tip's state root.
    pub(super) head_root: B256,
    /// Blocks executed in this run.
    pub(super) blocks: u64,
    /// Gas they used.
    pub(super) gas_used: u64,
    /// Time spent executing them.
    pub(super) elapsed: Duration,
}

impl ExecutionFigures {
    /// Millions of gas per second of execution (0 when nothing ran).
    fn mgas_per_second(&self) -> f64 {
        let seconds = self.elapsed.as_secs_f64();
        #[allow(clippy::cast_precision_loss, reason = "a rate for display")]
        let gas = self.gas_used as f64;
        if seconds > 0.0 { gas / seconds / 1e6 } else { 0.0 }
    }
}

/// What a sync ended with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct SyncReport {
    /// The pivot's state root, which the stored state was checked to have; `None` unless
    /// verified.
    pub(super) state_root: Option<B256>,
    /// The pivot block, once one was chosen.
    pub(super) pivot_block: Option<u64>,
    /// Whether the stored leaves were hashed to the pivot's root in this run.
    pub(super) verified: bool,
    /// How that was established, when it was.
    pub(super) check: Option<LeafVerdict>,
    /// What is stored.
    pub(super) counts: Counts,
    /// Bytes peers sent in this run (state, headers and bodies, rejected replies included).
    pub(super) bytes_downloaded: u64,
    /// Requests peers received in this run.
    pub(super) requests: u64,
    /// How long the pipeline ran in this process.
    pub(super) elapsed: Duration,
    /// Whether this run continued a sync an earlier run had started.
    pub(super) resumed: bool,
    /// The execution after the snap sync, when the pipeline has one: the state was then
    /// checked against the tip's root, not the pivot's.
    pub(super) execution: Option<ExecutionFigures>,
}

impl SyncReport {
    /// The report of the stored `summary` (if any), the check of its leaves made in this run
    /// (`None`: none was), and this run's network figures. Verified only with both a finished
    /// summary and a check.
    pub(super) fn new(
        summary: Option<&SyncSummary>,
        check: Option<LeafVerdict>,
        network: (u64, u64),
        elapsed: Duration,
        resumed: bool,
    ) -> Self {
        let verified = summary.is_some_and(SyncSummary::is_done) && check.is_some();
        Self {
            check: check.filter(|_| verified),
            state_root: summary.filter(|_| verified).map(|summary| summary.pivot.state_root),
            pivot_block: summary.map(|summary| summary.pivot.number),
            verified,
            counts: summary.map(|summary| summary.counts).unwrap_or_default(),
            bytes_downloaded: network.0,
            requests: network.1,
            elapsed,
            resumed,
            execution: None,
        }
    }

    /// The report of a pipeline that executed the blocks above the pivot: its `check` (given
    /// to [`new`](Self::new)) was of the tip's root, which is then the reported state root.
    pub(super) fn with_execution(mut self, execution: ExecutionFigures) -> Self {
        if self.verified {
            self.state_root = Some(execution.head_root);
        }
        self.execution = Some(execution);
        self
    }

    /// One JSON object on one line, with exactly the documented keys (with execution, also
    /// `head_block`, `blocks_executed`, `gas_used` and `execution_ms`). Only hex, integers,
    /// booleans and `null`, so nothing needs escaping.
    pub(super) fn json_line(&self) -> String {
        let mut line = self.snap_json();
        if let Some(execution) = &self.execution {
            line.pop();
            line.push_str(&format!(
                r#","head_block":{},"blocks_executed":{},"gas_used":{},"execution_ms":{}}}"#,
                execution.head_block,
                execution.blocks,
                execution.gas_used,
                execution.elapsed.as_millis()
            ));
        }
        line
    }

    /// The snap sync's keys, as one JSON object.
    fn snap_json(&self) -> String {
        let counts = &self.counts;
        format!(
            concat!(
                r#"{{"state_root":{},"pivot_block":{},"verified":{},"accounts":{},"#,
                r#""storage_slots":{},"bytecodes":{},"trie_nodes":{},"healed_trie_nodes":{},"#,
                r#""pivot_moves":{},"bytes_downloaded":{},"requests":{},"elapsed_ms":{},"#,
                r#""resumed":{}}}"#
            ),
            self.state_root.map_or_else(|| "null".to_owned(), |root| format!("\"{root}\"")),
            self.pivot_block.map_or_else(|| "null".to_owned(), |block| block.to_string()),
            self.verified,
            counts.accounts,
            counts.slots,
            counts.codes,
            counts.trie_nodes,
            counts.healed_nodes,
            counts.pivot_moves,
            self.bytes_downloaded,
            self.requests,
            self.elapsed.as_millis(),
            self.resumed
        )
    }

    /// The human summary, ending with the verified state root (or why there is none).
    pub(super) fn write_human(&self, out: &mut dyn Write) -> std::io::Result<()> {
        let counts = &self.counts;
        let seconds = self.elapsed.as_secs_f64();
        let pivot = self.pivot_block.map_or_else(|| "none chosen".to_owned(), |b| b.to_string());
        let leaves = counts.accounts + counts.slots;
        writeln!(out, "pivot block       {pivot}")?;
        writeln!(out, "accounts          {}", counts.accounts)?;
        writeln!(out, "storage slots     {}", counts.slots)?;
        writeln!(out, "bytecodes         {}", counts.codes)?;
        writeln!(out, "trie nodes        {} ({} healed)", counts.trie_nodes, counts.healed_nodes)?;
        writeln!(out, "pivot moves       {}", counts.pivot_moves)?;
        writeln!(
            out,
            "downloaded        {} in {} requests",
            mib(self.bytes_downloaded),
            self.requests
        )?;
        writeln!(
            out,
            "time              {seconds:.1} s ({} leaves/s, {}/s)",
            rate(leaves, self.elapsed),
            mib(rate(self.bytes_downloaded, self.elapsed))
        )?;
        if let Some(execution) = &self.execution {
            writeln!(
                out,
                "executed          {} blocks to block {}, {} gas in {:.1} s ({:.1} Mgas/s)",
                execution.blocks,
                execution.head_block,
                execution.gas_used,
                execution.elapsed.as_secs_f64(),
                execution.mgas_per_second()
            )?;
        }
        writeln!(out, "resumed           {}", if self.resumed { "yes" } else { "no" })?;
        if let (Some(execution), Some(root), Some(LeafVerdict::RecheckedNow(took))) =
            (&self.execution, self.state_root, self.check)
        {
            return writeln!(
                out,
                "verified: the stored leaves, hashed in this run ({:.1} s), make the root of the \
                 tip, block {}\n{root}",
                took.as_secs_f64(),
                execution.head_block
            );
        }
        match (self.state_root, self.check) {
            (Some(root), Some(LeafVerdict::RecheckedNow(took))) => writeln!(
                out,
                "verified: already synced; the stored leaves, hashed again in this run ({:.1} s), \
                 make the pivot's root\n{root}",
                took.as_secs_f64()
            ),
            (Some(root), _) => writeln!(
                out,
                "verified: the stored leaves, hashed in this run, make the pivot's root\n{root}"
            ),
            (None, _) => writeln!(out, "NOT verified: the sync did not finish"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use snapsync_snap_sync::Pivot;
    use snapsync_snap_sync::SnapPhase;

    fn summary(phase: SnapPhase) -> SyncSummary {
        let pivot =
            Pivot { number: 64, hash: B256::repeat_byte(1), state_root: B256::repeat_byte(2) };
        let counts =
            Counts { accounts: 10, slots: 20, codes: 3, trie_nodes: 40, ..Counts::default() };
        SyncSummary { pivot, phase, counts, verified_nodes: false }
    }

    #[test]
    fn a_finished_sync_reports_its_root() {
        let report = SyncReport::new(
            Some(&summary(SnapPhase::Done)),
            Some(LeafVerdict::CheckedByTheStage),
            (1000, 7),
            Duration::from_millis(1500),
            true,
        );
        let json: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
        assert_eq!(json["state_root"], format!("{}", B256::repeat_byte(2)));
        assert_eq!(json["verified"], true);
        assert_eq!(json["storage_slots"], 20);
        assert_eq!(json["elapsed_ms"], 1500);
        assert_eq!(json["resumed"], true);
        assert_eq!(json.as_object().unwrap().len(), 13);
        let mut text = Vec::new();
        report.write_human(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(text.ends_with(&format!("{}\n", B256::repeat_byte(2))), "{text}");
        assert!(text.contains("20 leaves/s"), "{text}");
    }

    #[test]
    fn a_finished_sync_without_a_check_in_this_run_is_not_verified() {
        let report =
            SyncReport::new(Some(&summary(SnapPhase::Done)), None, (0, 0), Duration::ZERO, true);
        let json: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
        assert_eq!(json["verified"], false);
        assert_eq!(json["state_root"], serde_json::Value::Null);
        let rechecked = SyncReport::new(
            Some(&summary(SnapPhase::Done)),
            Some(LeafVerdict::RecheckedNow(Duration::from_millis(1200))),
            (0, 0),
            Duration::ZERO,
            true,
        );
        let mut text = Vec::new();
        rechecked.write_human(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("already synced; the stored leaves, hashed again in this run (1.2 s)"),
            "{text}"
        );
    }

    #[test]
    fn an_executed_sync_reports_the_tips_root_and_its_figures() {
        let execution = ExecutionFigures {
            head_block: 128,
            head_root: B256::repeat_byte(9),
            blocks: 64,
            gas_used: 3_000_000,
            elapsed: Duration::from_millis(500),
        };
        let report = SyncReport::new(
            Some(&summary(SnapPhase::Done)),
            Some(LeafVerdict::RecheckedNow(Duration::from_millis(300))),
            (1000, 7),
            Duration::from_millis(1500),
            false,
        )
        .with_execution(execution);
        let json: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
        assert_eq!(json["state_root"], format!("{}", B256::repeat_byte(9)));
        assert_eq!(json["pivot_block"], 64);
        assert_eq!(json["head_block"], 128);
        assert_eq!(json["blocks_executed"], 64);
        assert_eq!(json["gas_used"], 3_000_000);
        assert_eq!(json["execution_ms"], 500);
        assert_eq!(json.as_object().unwrap().len(), 17);
        let mut text = Vec::new();
        report.write_human(&mut text).unwrap();
        let text = String::from_utf8(text).unwrap();
        assert!(
            text.contains("64 blocks to block 128, 3000000 gas in 0.5 s (6.0 Mgas/s)"),
            "{text}"
        );
        assert!(text.contains("make the root of the tip, block 128"), "{text}");
        assert!(text.ends_with(&format!("{}\n", B256::repeat_byte(9))), "{text}");

        let failed =
            SyncReport::new(Some(&summary(SnapPhase::Done)), None, (0, 0), Duration::ZERO, false)
                .with_execution(execution);
        let json: serde_json::Value = serde_json::from_str(&failed.json_line()).unwrap();
        assert_eq!(json["state_root"], serde_json::Value::Null);
        assert_eq!(json["verified"], false);
    }

    #[test]
    fn an_unfinished_sync_has_no_root() {
        let report = SyncReport::new(
            Some(&summary(SnapPhase::Storages)),
            None,
            (0, 0),
            Duration::ZERO,
            false,
        );
        let json: serde_json::Value = serde_json::from_str(&report.json_line()).unwrap();
        assert_eq!(json["state_root"], serde_json::Value::Null);
        assert_eq!(json["pivot_block"], 64);
        assert_eq!(json["verified"], false);
        let none = SyncReport::new(None, None, (0, 0), Duration::ZERO, false);
        let json: serde_json::Value = serde_json::from_str(&none.json_line()).unwrap();
        assert_eq!(json["pivot_block"], serde_json::Value::Null);
    }
}
