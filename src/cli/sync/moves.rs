//! `--pivot-moves`: a chain whose tip advances while the sync runs, as a live network's does.
//!
//! The peers serve a chain longer than the first tip. The tip announced to the sync starts at
//! `2 × distance` (pivot at block `distance`) and jumps `move_distance − distance + 1` blocks
//! at a time — just far enough for the stage's `move_distance` rule to move its pivot — each
//! jump once the network has sent another equal share of the download expected for the state.
//! The state of every block that will be a pivot is served from the start (so that no move
//! waits for a state to be built); after each jump, the states more than 128 blocks behind the
//! new tip are forgotten, as peers forget them.

use alloy_primitives::B256;
use snapsync_sim::Scenario;
use snapsync_snap_sync::PivotConfig;

/// How many blocks behind their tip peers keep states.
const SERVED_WINDOW: u64 = 128;

/// The tips the sync is shown, and when.
#[derive(Debug, Clone)]
pub(super) struct TipSchedule {
    distance: u64,
    stride: u64,
    moves: u64,
    /// Network bytes after which the next move happens.
    share: u64,
    /// Moves made so far.
    made: u64,
    /// Moves made before this run.
    resumed_at: u64,
}

impl TipSchedule {
    /// `moves` tip jumps under `pivot`'s rules, spread over a download of about
    /// `expected_bytes`.
    pub(super) fn new(pivot: &PivotConfig, moves: u64, expected_bytes: u64) -> Self {
        let stride = pivot.move_distance.saturating_sub(pivot.distance) + 1;
        let share = expected_bytes / (moves + 1);
        Self {
            distance: pivot.distance,
            stride,
            moves,
            share: share.max(1),
            made: 0,
            resumed_at: 0,
        }
    }

    /// The tip after `moves` jumps.
    pub(super) const fn tip_block(&self, moves: u64) -> u64 {
        2 * self.distance + moves * self.stride
    }

    /// The pivot the sync takes after `moves` jumps.
    pub(super) const fn pivot_block(&self, moves: u64) -> u64 {
        self.tip_block(moves) - self.distance
    }

    /// The chain's last block: the final tip.
    pub(super) const fn head(&self) -> u64 {
        self.tip_block(self.moves)
    }

    /// Every block whose state is served at the start: each pivot the sync will take.
    pub(super) fn served_blocks(&self) -> impl Iterator<Item = u64> + '_ {
        (0..=self.moves).map(|moves| self.pivot_block(moves))
    }

    /// Continues a sync whose stored record says the pivot moved `moves` times already: the
    /// tip starts where those moves left it, and only the rest are still to come (each after
    /// its share of this run's download).
    pub(super) fn resume_after(&mut self, scenario: &Scenario, moves: u64) {
        self.made = moves.min(self.moves);
        self.resumed_at = self.made;
        self.share = self.share.saturating_mul(self.moves + 1) / (self.moves - self.made + 1);
        self.forget_behind_tip(scenario);
    }

    /// The tip hash of the next jump, if `bytes_sent` (in this run) has reached its share and
    /// the sync has taken the jumps before (`moves_taken`, its pivot moves so far): two jumps
    /// seen at once would move the pivot once. The states past the served window behind the new
    /// tip are forgotten.
    pub(super) fn next_tip(
        &mut self,
        scenario: &Scenario,
        bytes_sent: u64,
        moves_taken: u64,
    ) -> Option<B256> {
        let made_here = self.made - self.resumed_at;
        if self.made >= self.moves
            || moves_taken < self.made
            || bytes_sent < self.share * (made_here + 1)
        {
            return None;
        }
        self.made += 1;
        self.forget_behind_tip(scenario);
        scenario.chain.header(self.tip_block(self.made)).map(|header| header.hash())
    }

    /// Forgets the served states more than the window behind the current tip.
    fn forget_behind_tip(&self, scenario: &Scenario) {
        let tip = self.tip_block(self.made);
        for moves in 0..self.made {
            if self.pivot_block(moves) + SERVED_WINDOW < tip {
                scenario.forget_state_of(self.pivot_block(moves));
            }
        }
    }

    /// The current tip's block.
    pub(super) const fn current_block(&self) -> u64 {
        self.tip_block(self.made)
    }

    /// Moves still to come.
    pub(super) const fn moves_ahead(&self) -> u64 {
        self.moves - self.made
    }

    /// The current tip's hash.
    pub(super) fn current_tip(&self, scenario: &Scenario) -> B256 {
        let tip = self.tip_block(self.made);
        scenario.chain.header(tip).map(|header| header.hash()).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_jump_is_just_enough_to_move_the_pivot() {
        let pivot = PivotConfig { distance: 64, move_distance: 120 };
        let schedule = TipSchedule::new(&pivot, 3, 4_000);
        assert_eq!((schedule.tip_block(0), schedule.pivot_block(0)), (128, 64));
        for moves in 1..=3 {
            let behind = schedule.tip_block(moves) - schedule.pivot_block(moves - 1);
            assert_eq!(behind, pivot.move_distance + 1);
        }
        assert_eq!(schedule.head(), 128 + 3 * 57);
        assert_eq!(schedule.served_blocks().collect::<Vec<_>>(), vec![64, 121, 178, 235]);
        assert_eq!(schedule.share, 1_000);
    }
}
