//! A state stored by an import (`snapsync import --state`) and recorded with
//! `record_imported_state` is a finished snap sync: the stage, started on it with the same
//! pivot, downloads nothing, and the stored state is the pivot's.

#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alloy_primitives::Bytes;
use snapsync_db::test_utils::memory_db;
use snapsync_etl::CollectorConfig;
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{
    Counts, Pivot, SNAP_SYNC, SnapSyncConfig, SnapSyncStage, record_imported_state, stored_summary,
};
use snapsync_stages::{Pipeline, StageSet};
use snapsync_storage::{StateRead, StateStore, StateWrite, compute_state_root};
use std::sync::Arc;
use tokio::sync::watch;

#[tokio::test]
async fn an_imported_state_is_a_finished_sync_that_downloads_nothing() {
    let spec = StateSpec::small().with_accounts(2_000);
    let chain = GeneratedChain::new(8, &spec, 70, 0);
    let scenario = Scenario::new(chain, vec![SimPeer::honest(Link::INSTANT)], [6]).unwrap();
    let header = scenario.chain.header(6).unwrap().clone();
    let state = scenario.chain.state_at(6).unwrap();

    let db = memory_db().db;
    let imported = state.import_into(&*db, &CollectorConfig::new(1 << 20)).unwrap();
    assert_eq!(imported.state_root, header.state_root);
    let pivot = Pivot { number: 6, hash: header.hash(), state_root: header.state_root };
    let counts = Counts {
        accounts: imported.accounts,
        slots: imported.storage_slots,
        codes: imported.bytecodes,
        ..Counts::default()
    };
    let mut txn = db.writer().unwrap();
    txn.put_header(6, &pivot.hash, &Bytes::from(alloy_rlp::encode(header.inner()))).unwrap();
    record_imported_state(&mut txn, pivot, counts).unwrap();
    txn.commit().unwrap();

    let summary = stored_summary(&db.reader().unwrap()).unwrap().unwrap();
    assert!(summary.is_done());
    assert_eq!((summary.pivot, summary.counts), (pivot, counts));

    let etl = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let stage =
        SnapSyncStage::new(scenario.network.clone(), tip, SnapSyncConfig::default(), etl.path())
            .unwrap();
    let mut pipeline =
        Pipeline::new(Arc::clone(&db), StageSet::builder().add(stage).unwrap().build());
    pipeline.run(None).await.unwrap();
    assert_eq!(scenario.network.bytes_sent(), 0, "a finished state is not downloaded again");
    assert_eq!(pipeline.checkpoint(&SNAP_SYNC).unwrap().unwrap().block_number, 6);
    let view = db.reader().unwrap();
    assert_eq!(compute_state_root(&view).unwrap().state_root, header.state_root);
    assert_eq!(state.compare_with_store(&view, 5).unwrap(), vec![]);
    assert_eq!(view.header_number(&pivot.hash).unwrap(), Some(6));
}
