//! Waiting for the trusted tip a consensus client sends: the target of the stages that download
//! towards it (the headers stage, the snap sync stage's pivot).

use alloy_primitives::B256;
use tokio::sync::watch;

/// The current tip hash on `tip`, waiting for the first one (`B256::ZERO` means none yet).
/// `None` when the sender is gone before any tip was sent.
pub async fn wait_for_tip(tip: &mut watch::Receiver<B256>) -> Option<B256> {
    loop {
        let hash = *tip.borrow_and_update();
        if hash != B256::ZERO {
            return Some(hash);
        }
        tip.changed().await.ok()?;
    }
}
