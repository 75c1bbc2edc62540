//! Every metric snapsync records, by component, and their descriptions.
//!
//! The library records through the [`metrics`](https://docs.rs/metrics) facade (0.24): without
//! a recorder installed nothing is kept; an embedder installs the exporter it uses (Prometheus,
//! StatsD, its own) and calls [`describe`] once so the exporter knows each metric's type, unit
//! and meaning. Each component records where its facts are, per request, step, spill or commit
//! (never per entry):
//!
//! | component | prefix | recorded by |
//! |---|---|---|
//! | peers | `snapsync_peers_` | the [`Fetcher`](crate::fetch::Fetcher): requests by kind and outcome, timeouts, hedges, bans, penalties, peer counts |
//! | ETL | `snapsync_etl_` | the ETL [`Collector`](crate::etl::Collector): entries collected, runs spilled, merges |
//! | database | `snapsync_db_` | the typed transactions: commits, read views, sorted appends, the redb file's size |
//! | pipeline | `snapsync_pipeline_` | the [`Pipeline`](crate::stages::Pipeline)'s step loop: steps, their duration, unwinds, retries, errors, checkpoints |
//! | sync | `snapsync_sync_` | the [`SnapSyncStage`](crate::snap_sync::SnapSyncStage)'s progress |
//!
//! Names follow `snapsync_<component>_<what>[_unit]` with Prometheus' conventions (counters end
//! in `_total`, durations in `_seconds`, sizes in `_bytes`); labels are few and bounded (stage
//! id, request kind, fault, table), never a peer id. `docs/metrics.md` documents every name,
//! and a test checks that it lists every name of [`COMPONENTS`].

/// The metric names of each component, as `(component, names)`.
pub const COMPONENTS: [(&str, &[&str]); 5] = [
    ("peers", crate::fetch::METRIC_NAMES),
    ("etl", crate::etl::METRIC_NAMES),
    ("db", crate::db::METRIC_NAMES),
    ("pipeline", crate::stages::METRIC_NAMES),
    ("sync", crate::snap_sync::METRIC_NAMES),
];

/// Every metric name the library records.
pub fn names() -> impl Iterator<Item = &'static str> {
    COMPONENTS.into_iter().flat_map(|(_, names)| names.iter().copied())
}

/// Describes every metric (type, unit, meaning) to the installed recorder. Call it once after
/// installing one; without a recorder it does nothing.
pub fn describe() {
    crate::fetch::describe_metrics();
    crate::etl::describe_metrics();
    crate::db::describe_metrics();
    crate::stages::describe_metrics();
    crate::snap_sync::describe_metrics();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One check for every component: names unique across the library, each under its
    /// component's prefix.
    #[test]
    fn names_are_unique_and_follow_the_scheme() {
        let mut all: Vec<_> = names().collect();
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), names().count(), "a name is registered twice");
        for (component, names) in COMPONENTS {
            let prefix = format!("snapsync_{component}_");
            for name in names {
                assert!(name.starts_with(&prefix), "{name} is not under {prefix}");
            }
        }
    }
}
