//! The snap sync stage's identity in a pipeline and the phases it goes through.
//!
//! Both belong to this stage alone: the generic pipeline knows a stage by its [`StageId`] and
//! knows only whether it has finished; where snap sync stands lives in its own progress record.

use snapsync_stages::StageId;

/// The snap sync stage's id: the key of its checkpoint, and what the stages that start after the
/// pivot name (`StageStart::AfterStage(SNAP_SYNC)`). Part of the on-disk format: never renamed.
pub const SNAP_SYNC: StageId = StageId::new("SnapSync");

/// The phases of snap sync, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum SnapPhase {
    /// Downloading account ranges.
    Accounts,
    /// Downloading storage ranges.
    Storages,
    /// Downloading bytecodes.
    Bytecodes,
    /// Healing the trie after the pivot moved.
    Healing,
    /// Verifying the stored state root against the pivot's.
    Verifying,
    /// Finished.
    Done,
}

impl SnapPhase {
    /// Every phase, in order.
    pub const ALL: [Self; 6] = [
        Self::Accounts,
        Self::Storages,
        Self::Bytecodes,
        Self::Healing,
        Self::Verifying,
        Self::Done,
    ];

    /// Whether the phase downloads ranges and codes (accounts, storage, bytecodes: one flow).
    pub(crate) const fn is_download(self) -> bool {
        matches!(self, Self::Accounts | Self::Storages | Self::Bytecodes)
    }

    /// The phase's stored byte (its position in [`SnapPhase::ALL`]).
    pub const fn to_byte(self) -> u8 {
        match self {
            Self::Accounts => 0,
            Self::Storages => 1,
            Self::Bytecodes => 2,
            Self::Healing => 3,
            Self::Verifying => 4,
            Self::Done => 5,
        }
    }

    /// The phase stored as `byte`; `None` for a byte no phase has.
    pub const fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            0 => Self::Accounts,
            1 => Self::Storages,
            2 => Self::Bytecodes,
            3 => Self::Healing,
            4 => Self::Verifying,
            5 => Self::Done,
            _ => return None,
        })
    }
}
