//! The whole pipeline embedded over a store that is not snapsync-db: `MapStore`
//! (`snapsync_storage::test_utils`), plain ordered maps behind the storage seam. The default stages (snap
//! sync, then headers and bodies from the pivot + 1 to the tip), as `examples/embed_stage.rs`
//! wires them; afterwards the synced state and chain are read back through the same interface.

// This target is given every dependency and dev-dependency of its package, most of them for
// other targets; `.ci/check-dev-deps` checks that each dev-dependency is used by some target.
#![allow(unused_crate_dependencies)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use snapsync::DefaultStages;
use snapsync_sim::{GeneratedChain, StateSpec};
use snapsync_sim::{Link, Scenario, SimPeer};
use snapsync_snap_sync::{SNAP_SYNC, SnapSyncConfig, stored_summary};
use snapsync_stages::{ControlFlow, Pipeline, StageId};
use snapsync_storage::test_utils::MapStore;
use snapsync_storage::{KeyRange, StateRead, StateStore, compute_state_root};
use std::sync::Arc;
use tokio::sync::watch;

const TIP: u64 = 70;
const PIVOT: u64 = 6;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_store_that_is_not_snapsync_db_holds_the_synced_state_and_chain() {
    let spec = StateSpec::small().with_accounts(2_000).with_huge_contracts(1, 3_000);
    let chain = GeneratedChain::new(21, &spec, TIP, 0);
    let peers = (0..3).map(|_| SimPeer::honest(Link::INSTANT)).collect();
    let scenario = Scenario::new(chain, peers, [PIVOT]).unwrap();

    // What an embedder writes: its own store, the stages, one pipeline owning the store.
    let store = Arc::new(MapStore::new());
    let datadir = tempfile::tempdir().unwrap();
    let (_tip_tx, tip) = watch::channel(scenario.tip());
    let mut config = SnapSyncConfig::default();
    config.step.max_bytes = Some(256 * 1024);
    let stages = DefaultStages::new(scenario.network.clone(), tip, config, datadir.path()).unwrap();
    let mut pipeline = Pipeline::new(Arc::clone(&store), stages.build().unwrap());
    let flow = pipeline.run(None).await.unwrap();
    assert_eq!(flow, ControlFlow::Finished { target: None });
    for (stage, block) in [(SNAP_SYNC, PIVOT), (StageId::HEADERS, TIP), (StageId::BODIES, TIP)] {
        let checkpoint = pipeline.checkpoint(&stage).unwrap().unwrap();
        assert_eq!(checkpoint.block_number, block, "{stage}");
    }
    drop(pipeline);

    // Reading the synced state afterwards, through the interface.
    let view = store.reader().unwrap();
    let pivot = scenario.chain.header(PIVOT).unwrap();
    let state = scenario.chain.state_at(PIVOT).unwrap();
    assert_eq!(state.compare_with_store(&view, 5).unwrap(), vec![], "stored state differs");
    let report = compute_state_root(&view).unwrap();
    assert_eq!(report.state_root, pivot.state_root);
    assert!(report.is_consistent());
    let summary = stored_summary(&view).unwrap().unwrap();
    assert!(summary.is_done() && summary.verified_nodes, "{summary:?}");
    let headers: Vec<u64> =
        view.headers(KeyRange::all()).unwrap().map(|entry| entry.unwrap().0).collect();
    assert_eq!(headers, (PIVOT..=TIP).collect::<Vec<_>>(), "the pivot's header and those above");
    let bodies: Vec<u64> =
        view.bodies(KeyRange::all()).unwrap().map(|entry| entry.unwrap().0).collect();
    assert_eq!(bodies, (PIVOT + 1..=TIP).collect::<Vec<_>>());
    let tip_hash = scenario.chain.header(TIP).unwrap().hash();
    assert_eq!(view.header_number(&tip_hash).unwrap(), Some(TIP));
}
