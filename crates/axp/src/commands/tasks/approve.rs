//! `axp tasks approve|reject <intent_id> [-c …]`: answers the open human task through the
//! owner's inbox (`POST /v1/inbox/{id}/approve|reject`, contract §5.1), which gives it the task
//! type's outcome: `approved`/`rejected` for an approval, `confirmed` for a confirmation, the
//! first (or the `rejected`/last) of its `allowed_outcomes`. Tasks that need form fields or
//! another outcome are answered with `tasks submit`.
//!
//! The inbox records an approve on a thread with nothing to answer too (it only adds a timeline
//! entry), so the command checks both ways: the intent must be waiting for a person before, and
//! the thread must show the lifecycle step the answer caused afterwards. Either miss exits 1.

use axp_client::axp_core::WaitingReason;
use axp_client::axp_core::human_task::decision_outcome;
use axp_client::{Client, Status, Thread};
use serde_json::Value;

use crate::commands::inbox::Owner;
use crate::commands::intent_id;
use crate::commands::intents::intent_pairs;
use crate::exit::Exit;
use crate::output::Output;

/// `tasks approve|reject` options.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The intent waiting for a person.
    intent_id: String,
    /// A comment (required by tasks with `required_comment`).
    #[arg(short = 'c', long)]
    comment: Option<String>,
    #[command(flatten)]
    owner: Owner,
}

/// Whether `thread` shows a lifecycle event after `seq` caused by its owner: the answer took.
fn answered_after(thread: &Thread, seq: u64) -> bool {
    thread.timeline.iter().any(|e| {
        e.event_type.starts_with("lifecycle.")
            && e.actor == thread.owner_agent
            && e.details.get("seq").and_then(Value::as_u64).is_some_and(|s| s > seq)
    })
}

/// Approves (`approve`) or rejects the task; prints the intent as it is afterwards.
pub async fn run(client: &Client, out: &Output, approve: bool, args: Args) -> anyhow::Result<Exit> {
    let id = intent_id(&args.intent_id)?;
    let before = client.get_intent(id).await?;
    let waiting =
        before.status == Status::Waiting && before.waiting_reason == Some(WaitingReason::WaitingForHuman);
    let Some(task) = before.human_task.as_ref().filter(|_| waiting) else {
        anyhow::bail!("intent {id} is {}: no human task is waiting for an answer", before.status);
    };
    let outcome = decision_outcome(task, approve);
    let comment = args.comment.as_deref();
    let owner = args.owner.get();
    let thread = if approve {
        client.approve_inbox_thread(id, comment, owner).await?
    } else {
        client.reject_inbox_thread(id, comment, owner).await?
    };
    if !answered_after(&thread, before.last_seq) {
        anyhow::bail!("the task of intent {id} was answered by someone else first; see `axp logs {id}`");
    }
    let body = client.get_intent_raw(id).await?;
    let intent = body.get("intent").cloned().unwrap_or(Value::Null);
    out.object(&intent, || intent_pairs(&intent));
    out.tip(&format!(
        "task answered ({outcome})  ·  thread: axp inbox show {id}  ·  follow it: axp intents watch {id}"
    ));
    Ok(Exit::Ok)
}

#[cfg(test)]
mod tests {
    use axp_client::IntentId;
    use serde_json::json;

    use super::*;

    fn thread(entries: Value) -> Thread {
        let id = IntentId::new();
        serde_json::from_value(json!({
            "thread_id": id, "intent_id": id, "status": "done", "owner_agent": "agent://o/w/me",
            "from_agent": "agent://o/w/me", "to_agent": "agent://o/w/fin", "intent_type": "a.b.v1",
            "created_at": "2026-02-28T00:00:10Z", "updated_at": "2026-02-28T00:00:10Z",
            "last_message_at": null, "unread": false, "timeline": entries
        }))
        .unwrap()
    }

    fn entry(event_type: &str, actor: &str, seq: u64) -> Value {
        json!({"event_id": uuid::Uuid::new_v4(), "event_type": event_type, "actor": actor,
               "at": "2026-02-28T00:00:10Z", "details": {"seq": seq}})
    }

    #[test]
    fn an_answer_shows_as_a_later_lifecycle_entry_by_the_owner() {
        let t = thread(json!([entry("lifecycle.intent.completed", "agent://o/w/me", 5)]));
        assert!(answered_after(&t, 4));
        assert!(!answered_after(&t, 5), "an event the intent already had is not our answer");
        let t = thread(json!([entry("lifecycle.intent.completed", "agent://o/w/other", 5)]));
        assert!(!answered_after(&t, 4), "someone else's answer");
        let t = thread(json!([entry("approved", "agent://o/w/me", 5)]));
        assert!(!answered_after(&t, 4), "only the inbox entry: nothing was answered");
    }
}
