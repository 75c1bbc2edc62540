//! Genesis and state-dump loading.
