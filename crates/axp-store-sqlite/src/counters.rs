//! Per-key sequences the writer hands out from memory: agent queue cursors (per agent address)
//! and thread `change_seq`s (per owner).
//!
//! Each grows by one per row written for its key. Finding the next value with `MAX(...)` costs
//! an index probe per row; the writer instead keeps the last value it handed out, loading it
//! from disk once per key. The writer thread is the only writer of the database, so memory and
//! disk agree, except after a job or a batch fails: its rows roll back but the memory would
//! not. The writer then clears every counter ([`Counters::clear`]) and they reload lazily from
//! what the transaction holds, so a value is never handed out twice.

use std::collections::HashMap;

use axp_core::ids::WorkspaceId;
use axp_store::Result;

/// Keys one sequence remembers before it starts over (a reload per key costs one `MAX` probe).
const MAX_KEYS: usize = 65_536;

/// One sequence per (workspace, key).
#[derive(Default)]
pub(crate) struct Sequence {
    last: HashMap<WorkspaceId, HashMap<String, u64>>,
}

impl Sequence {
    /// The next value for `key` in `ws`: one past the last one handed out, or, the first time,
    /// one past `load()` (the highest value on disk, 0 for none).
    ///
    /// Errors: those of `load`.
    pub(crate) fn next(
        &mut self,
        ws: WorkspaceId,
        key: &str,
        load: impl FnOnce() -> Result<u64>,
    ) -> Result<u64> {
        if let Some(last) = self.last.get_mut(&ws).and_then(|keys| keys.get_mut(key)) {
            *last += 1;
            return Ok(*last);
        }
        let next = load()? + 1;
        if self.last.values().map(HashMap::len).sum::<usize>() >= MAX_KEYS {
            self.clear();
        }
        self.last.entry(ws).or_default().insert(key.to_owned(), next);
        Ok(next)
    }

    fn clear(&mut self) {
        self.last.clear();
    }
}

/// The writer's sequences.
#[derive(Default)]
pub(crate) struct Counters {
    /// Agent queue cursors, by agent address.
    pub(crate) cursors: Sequence,
    /// Thread `change_seq`s, by owner.
    pub(crate) change_seqs: Sequence,
}

impl Counters {
    /// Forgets every value: call when rows written under them may have been rolled back.
    pub(crate) fn clear(&mut self) {
        self.cursors.clear();
        self.change_seqs.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_once_then_counts_in_memory() {
        let ws = WorkspaceId(uuid::Uuid::now_v7());
        let mut seq = Sequence::default();
        assert_eq!(seq.next(ws, "a", || Ok(41)).unwrap(), 42);
        assert_eq!(seq.next(ws, "a", || panic!("loaded twice")).unwrap(), 43);
        assert_eq!(seq.next(ws, "b", || Ok(0)).unwrap(), 1);
        let other = WorkspaceId(uuid::Uuid::now_v7());
        assert_eq!(seq.next(other, "a", || Ok(7)).unwrap(), 8);
    }

    #[test]
    fn a_failed_load_hands_out_nothing() {
        let ws = WorkspaceId(uuid::Uuid::now_v7());
        let mut seq = Sequence::default();
        assert!(seq.next(ws, "a", || Err(axp_store::Error::Internal("boom".into()))).is_err());
        assert_eq!(seq.next(ws, "a", || Ok(3)).unwrap(), 4);
    }

    #[test]
    fn clearing_reloads_from_disk() {
        let ws = WorkspaceId(uuid::Uuid::now_v7());
        let mut counters = Counters::default();
        assert_eq!(counters.cursors.next(ws, "a", || Ok(0)).unwrap(), 1);
        assert_eq!(counters.change_seqs.next(ws, "a", || Ok(5)).unwrap(), 6);
        counters.clear();
        // What a rolled-back job had taken is on disk no more: the reload says so.
        assert_eq!(counters.cursors.next(ws, "a", || Ok(0)).unwrap(), 1);
        assert_eq!(counters.change_seqs.next(ws, "a", || Ok(5)).unwrap(), 6);
    }
}
