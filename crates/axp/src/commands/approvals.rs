//! `axp approvals decide <approval_id> --approve|--reject [-c …]`: records a decision
//! (`POST /v1/approvals/{id}/decision`, contract §5.2). The id of an intent waiting for a person
//! answers its human task. Deciding again the same way is a no-op; the other way is refused
//! (409, exit code 1).

use axp_client::{Approval, ApprovalId, Client, Decision};

use crate::cli::Global;
use crate::exit::{Exit, usage};
use crate::output::{Output, Style};

/// The verbs.
#[derive(clap::Subcommand, Debug)]
pub enum Command {
    /// Approve or reject; an intent's id answers its open human task.
    Decide(DecideArgs),
}

/// `approvals decide` options.
#[derive(clap::Args, Debug)]
#[command(group(clap::ArgGroup::new("decision").required(true).args(["approve", "reject"])))]
pub struct DecideArgs {
    /// The approval's id: any UUID, or the id of an intent waiting for a person.
    approval_id: String,
    /// Decide `approve`.
    #[arg(long)]
    approve: bool,
    /// Decide `reject`.
    #[arg(long)]
    reject: bool,
    /// Why (at most 1000 characters).
    #[arg(short = 'c', long)]
    comment: Option<String>,
}

fn pairs(out: &Output, approval: &Approval) -> Vec<(String, String)> {
    let style = if approval.decision == "approve" { Style::Green } else { Style::Red };
    vec![
        ("approval_id".into(), approval.approval_id.to_string()),
        ("decision".into(), out.paint(&approval.decision, style)),
        ("comment".into(), approval.comment.clone().unwrap_or_default()),
        ("decided_at".into(), approval.decided_at.to_string()),
    ]
}

/// Runs one `approvals` verb.
pub async fn run(global: &Global, out: &Output, command: Command) -> anyhow::Result<Exit> {
    let client: Client = super::target(global)?.client()?;
    match command {
        Command::Decide(args) => {
            let id: ApprovalId = args
                .approval_id
                .trim()
                .parse()
                .map_err(|_| usage(format!("{:?} is not an approval id (a UUID)", args.approval_id)))?;
            let decision = if args.approve { Decision::Approve } else { Decision::Reject };
            let approval = client.decide_approval(id, decision, args.comment.as_deref()).await?;
            out.object(&serde_json::to_value(&approval)?, || pairs(out, &approval));
        }
    }
    Ok(Exit::Ok)
}
