//! `--metrics-file`: every metric of the run, in Prometheus' text format, written at its end.
//!
//! The library records through the `metrics` facade; without a recorder nothing is kept. With
//! `--metrics-file PATH` the CLI installs a Prometheus recorder (no HTTP listener: the file is
//! the export), describes every metric (`snapsync::metrics::describe`) and writes the rendered
//! values to `PATH` when the sync ends. The names are documented in `docs/metrics.md`.

use super::report::SyncReport;
use crate::cli::CliError;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::path::{Path, PathBuf};

/// The binary's own gauges.
const ELAPSED: &str = "snapsync_cli_sync_elapsed_seconds";
const VERIFIED: &str = "snapsync_cli_sync_verified";
const BYTES: &str = "snapsync_cli_sync_bytes_downloaded";

/// The gauges the binary sets (documented in `docs/metrics.md` with the library's).
#[cfg(test)]
const CLI_NAMES: [&str; 3] = [ELAPSED, VERIFIED, BYTES];

/// The installed recorder and where its values go.
pub(super) struct MetricsFile {
    path: PathBuf,
    handle: PrometheusHandle,
}

impl MetricsFile {
    /// Installs the process's recorder, exporting to `path` when [`write`](Self::write)n.
    ///
    /// # Errors
    /// [`CliError::MetricsFile`] if a recorder is already installed.
    pub(super) fn install(path: &Path) -> Result<Self, CliError> {
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        metrics::set_global_recorder(recorder).map_err(|error| CliError::MetricsFile {
            path: path.to_owned(),
            reason: error.to_string(),
        })?;
        snapsync::metrics::describe();
        metrics::describe_gauge!(ELAPSED, metrics::Unit::Seconds, "Time the sync took");
        metrics::describe_gauge!(VERIFIED, "1 if the synced state verified, else 0");
        metrics::describe_gauge!(BYTES, metrics::Unit::Bytes, "Bytes the sync downloaded");
        Ok(Self { path: path.to_owned(), handle })
    }

    /// Writes every value recorded so far.
    ///
    /// # Errors
    /// [`CliError::MetricsFile`] when the file cannot be written.
    pub(super) fn write(&self) -> Result<(), CliError> {
        std::fs::write(&self.path, self.handle.render()).map_err(|error| CliError::MetricsFile {
            path: self.path.clone(),
            reason: error.to_string(),
        })
    }
}

/// The run's figures as the binary's gauges (the library records its own).
pub(super) fn record(report: &SyncReport) {
    metrics::gauge!(ELAPSED).set(report.elapsed.as_secs_f64());
    metrics::gauge!(VERIFIED).set(if report.verified { 1.0 } else { 0.0 });
    #[allow(clippy::cast_precision_loss, reason = "a gauge is an f64")]
    metrics::gauge!(BYTES).set(report.bytes_downloaded as f64);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_binary_gauges_are_documented() {
        let doc = include_str!("../../../docs/metrics.md");
        for name in CLI_NAMES {
            assert!(doc.contains(&format!("| `{name}` |")), "{name} not in docs/metrics.md");
        }
    }
}
