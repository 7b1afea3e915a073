//! The inbox: who sees which thread (an intent), their change feed, and the thread's own
//! entries; approvals.

use async_trait::async_trait;
use axp_core::Timestamp;
use axp_core::ids::{ApprovalId, IntentId, WorkspaceId};
use axp_core::inbox::{Approval, TimelineEntry};

use crate::{Membership, Participant, Result};

/// Tables `thread_participants`, `thread_entries`, `approvals`.
///
/// **Change cursors** (`change_seq`, per owner) follow the agent cursor rule of
/// [`crate::tables::QueueTable`]: unique and increasing per owner, visible in order.
#[async_trait]
pub trait InboxTable {
    /// Adds each participant to `thread` or touches their row: the thread moves to the end of
    /// their change feed (a new change cursor) and becomes unread if `unread` (it stays unread
    /// if it was).
    async fn touch_participants(
        &mut self,
        ws: WorkspaceId,
        thread: IntentId,
        who: &[Participant<'_>],
        now: Timestamp,
    ) -> Result<()>;

    /// Everyone who can see the thread.
    async fn participants(&mut self, ws: WorkspaceId, thread: IntentId) -> Result<Vec<String>>;

    /// `owner`'s view state of the thread, if they can see it (locked with `for_update`).
    async fn membership(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        thread: IntentId,
        for_update: bool,
    ) -> Result<Option<Membership>>;

    /// Sets `owner`'s unread flag and hidden message ids for the thread.
    async fn set_membership(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        thread: IntentId,
        unread: bool,
        hidden: &[String],
    ) -> Result<()>;

    /// `owner`'s threads as `(thread, change cursor)`: newest change first, or with `after`,
    /// the changes after that cursor in cursor order (visible in order).
    async fn owner_threads(
        &mut self,
        ws: WorkspaceId,
        owner: &str,
        after: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(IntentId, u64)>>;

    /// Adds an entry to the thread's own timeline.
    async fn insert_entry(&mut self, ws: WorkspaceId, thread: IntentId, e: &TimelineEntry) -> Result<()>;

    /// The thread's entries not deleted, oldest first.
    async fn entries(&mut self, ws: WorkspaceId, thread: IntentId) -> Result<Vec<TimelineEntry>>;

    /// Deletes an entry for everyone.
    async fn delete_entry(&mut self, ws: WorkspaceId, thread: IntentId, entry: &str) -> Result<()>;

    /// One approval decision.
    async fn approval(&mut self, ws: WorkspaceId, id: ApprovalId) -> Result<Option<Approval>>;

    /// Records an approval decision. Errors: [`crate::Error::Conflict`] when the id exists.
    async fn insert_approval(&mut self, ws: WorkspaceId, a: &Approval) -> Result<()>;
}
