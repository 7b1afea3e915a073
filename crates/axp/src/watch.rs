//! The live lifecycle view: `intents watch`, `scenarios apply --watch` and `demo` all render an
//! intent's events with it, one line per event on stdout (or one JSON object per line in JSON
//! modes), a spinner on stderr while the intent waits, and an exit code for the final status.

use std::pin::pin;
use std::time::Duration;

use anyhow::Context as _;
use axp_client::axp_core::EventType;
use axp_client::{Client, Intent, IntentEvent, IntentId, Status};
use futures::StreamExt;
use serde_json::Value;

use crate::commands::brief;
use crate::exit::Exit;
use crate::output::{Output, Style};

const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
const TICK: Duration = Duration::from_millis(100);

/// How a watch ended.
#[derive(Debug)]
pub struct Watched {
    /// The intent as last read (after the terminal event, or when the watch gave up).
    pub intent: Intent,
    /// The exit code its status maps to ([`Exit::StillRunning`] when `--timeout` elapsed).
    pub exit: Exit,
}

/// Follows intent `id` from event `since` (exclusive) until it is terminal or `timeout` passes,
/// rendering each event as it arrives.
pub async fn watch(
    client: &Client,
    out: &Output,
    id: IntentId,
    since: u64,
    timeout: Option<Duration>,
) -> anyhow::Result<Watched> {
    let intent = client.get_intent(id).await.with_context(|| format!("reading intent {id}"))?;
    let created = intent.created_at;
    if intent.status.is_terminal() && intent.last_seq <= since {
        summary(out, &intent);
        let exit = Exit::for_status(intent.status);
        return Ok(Watched { intent, exit });
    }
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    let mut events = pin!(client.observe(id, since));
    let spinner =
        out.spinner(&FRAMES, TICK, |idle| format!(" · {} since the last event", human_duration(idle)));
    spinner.show(&spinner_text(out, intent.status, intent.waiting_reason.map(reason_name), intent.last_seq));
    let mut last_seq = intent.last_seq;
    loop {
        let next = tokio::select! {
            next = events.next() => next,
            () = sleep_until(deadline) => {
                spinner.clear();
                let intent = client.get_intent(id).await?;
                if intent.status.is_terminal() {
                    summary(out, &intent);
                    let exit = Exit::for_status(intent.status);
                    return Ok(Watched { intent, exit });
                }
                out.note(&format!(
                    "{} still {} after {} (--timeout); it keeps going: axp intents watch {id} --since {}",
                    out.paint("…", Style::Yellow),
                    intent.status,
                    human_duration(timeout.unwrap_or_default()),
                    last_seq,
                ));
                return Ok(Watched { intent, exit: Exit::StillRunning });
            }
        };
        match next {
            Some(Ok(event)) => {
                last_seq = event.seq;
                if out.is_machine() {
                    out.json_line(&serde_json::to_value(&event)?);
                } else {
                    spinner.suspend(|| out.line(&event_line(out, &event, created.as_millis())));
                    spinner.show(&spinner_text(
                        out,
                        event.status,
                        event.waiting_reason.map(reason_name),
                        event.seq,
                    ));
                }
                if event.is_terminal() {
                    break;
                }
            }
            Some(Err(e)) => {
                spinner.clear();
                return Err(e).with_context(|| format!("watching intent {id}"));
            }
            None => break,
        }
    }
    spinner.clear();
    let intent = client.get_intent(id).await.with_context(|| format!("reading intent {id}"))?;
    summary(out, &intent);
    let exit = Exit::for_status(intent.status);
    Ok(Watched { intent, exit })
}

async fn sleep_until(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// What the spinner says after its frame: `WAITING (WAITING_FOR_HUMAN)  seq 3`.
fn spinner_text(out: &Output, status: Status, reason: Option<&str>, seq: u64) -> String {
    let label = match reason {
        Some(reason) => format!("{status} ({reason})"),
        None => status.to_string(),
    };
    format!("{}  seq {seq}", out.paint(&label, Style::for_status(status.as_str())))
}

/// The final line on stderr (people only).
fn summary(out: &Output, intent: &Intent) {
    if out.is_machine() {
        return;
    }
    let took = human_duration(Duration::from_millis(
        u64::try_from(intent.updated_at.as_millis() - intent.created_at.as_millis()).unwrap_or(0),
    ));
    let (mark, style) = match intent.status {
        Status::Completed => ("✓", Style::Green),
        Status::Failed | Status::TimedOut => ("✗", Style::Red),
        _ => ("■", Style::Yellow),
    };
    out.note(&format!(
        "{} {} {} after {took} ({} events)",
        out.paint(mark, style),
        intent.intent_id,
        out.paint(intent.status.as_str(), style),
        intent.last_seq
    ));
}

/// The wire name of a waiting reason (`WAITING_FOR_HUMAN`, …).
pub fn reason_name(reason: axp_client::axp_core::WaitingReason) -> &'static str {
    use axp_client::axp_core::WaitingReason;
    match reason {
        WaitingReason::WaitingForHuman => "WAITING_FOR_HUMAN",
        WaitingReason::WaitingForTool => "WAITING_FOR_TOOL",
        WaitingReason::WaitingForAgent => "WAITING_FOR_AGENT",
        WaitingReason::WaitingForTime => "WAITING_FOR_TIME",
    }
}

/// `1.2s`, `45.0s`, `3m07s`, `2h05m`.
pub fn human_duration(d: Duration) -> String {
    let ms = d.as_millis();
    if ms < 60_000 {
        format!("{:.1}s", d.as_secs_f64())
    } else if ms < 3_600_000 {
        format!("{}m{:02}s", ms / 60_000, (ms / 1000) % 60)
    } else {
        format!("{}h{:02}m", ms / 3_600_000, (ms / 60_000) % 60)
    }
}

/// One event as a line: `#seq  +elapsed  STATUS  event_type  detail`, the elapsed time counted
/// from the intent's creation (`created_ms`).
pub fn event_line(out: &Output, event: &IntentEvent, created_ms: i64) -> String {
    let elapsed = Duration::from_millis(u64::try_from(event.at.as_millis() - created_ms).unwrap_or(0));
    let status = event.status.as_str();
    let status_cell = format!("{status:<11}");
    format!(
        "#{:<3} {:>8}  {}  {:<27} {}",
        event.seq,
        format!("+{}", human_duration(elapsed)),
        out.paint(&status_cell, Style::for_status(status)),
        event.event_type.as_str(),
        detail(event)
    )
    .trim_end()
    .to_owned()
}

fn detail(event: &IntentEvent) -> String {
    let d = &event.details;
    let get = |k: &str| d.get(k).map(|v| brief(v, 70)).unwrap_or_default();
    let pending = match &event.pending_with {
        Some(p) if p.kind == "human" => "a person".to_owned(),
        Some(p) if p.name.is_empty() => p.reference.clone(),
        Some(p) => p.name.clone(),
        None => String::new(),
    };
    match event.event_type {
        EventType::Created => {
            let kind = get("intent_type");
            if kind.is_empty() { format!("by {}", event.actor) } else { format!("{kind} by {}", event.actor) }
        }
        EventType::Delivered | EventType::Transfer => format!("→ {}", event.handler),
        EventType::Waiting | EventType::HumanTaskAssigned => {
            let mut parts = Vec::new();
            if let Some(reason) = event.waiting_reason {
                parts.push(reason_name(reason).to_owned());
            }
            if !pending.is_empty() {
                parts.push(format!("pending with {pending}"));
            }
            if let Some(title) =
                event.human_task.as_ref().and_then(|t| t.get("title")).and_then(Value::as_str)
            {
                parts.push(format!("task {title:?}"));
            }
            parts.join(" · ")
        }
        EventType::Reminder => format!("reminder {} to {pending}", get("remind_count")),
        EventType::Escalated => format!("→ {}", get("escalated_to")),
        EventType::Completed => format!("result {}", get("result")),
        EventType::Failed => format!("error {}", get("error")),
        EventType::Canceled => format!("reason {}", get("reason")),
        EventType::TimedOut => format!("deadline {}", get("deadline_at")),
        EventType::DeliveryFailed => {
            format!("after {} of {} delivery attempts", get("delivery_attempt"), get("max_delivery_attempts"))
        }
        EventType::Submitted | EventType::Acknowledged | EventType::InProgress => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use axp_client::axp_core::Timestamp;
    use serde_json::{Map, json};

    use super::*;
    use crate::output::Format;

    #[test]
    fn durations_read_well() {
        assert_eq!(human_duration(Duration::from_millis(1234)), "1.2s");
        assert_eq!(human_duration(Duration::from_secs(187)), "3m07s");
        assert_eq!(human_duration(Duration::from_secs(7500)), "2h05m");
    }

    #[test]
    fn event_lines_show_seq_elapsed_status_and_why() {
        let out = Output::new(Format::Table);
        let mut details = Map::new();
        details.insert("result".into(), json!({"report_url": "https://r/1"}));
        let event = IntentEvent {
            intent_id: IntentId::new(),
            seq: 5,
            event_type: EventType::Completed,
            status: Status::Completed,
            waiting_reason: None,
            handler: "agent://o/w/bot".into(),
            actor: "agent://o/w/bot".into(),
            at: Timestamp::from_millis(2_500),
            details,
            pending_with: None,
            human_task: None,
        };
        let line = anstream::adapter::strip_str(&event_line(&out, &event, 1_000)).to_string();
        assert!(line.starts_with("#5      +1.5s  COMPLETED"), "{line}");
        assert!(
            line.ends_with(r#"intent.completed            result {"report_url":"https://r/1"}"#),
            "{line}"
        );
    }
}
