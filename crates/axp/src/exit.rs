//! Exit codes: what a script can learn from `$?` (documented in `docs/dev/cli-style.md`).

use std::process::ExitCode;

use axp_client::Status;

/// How a command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exit {
    /// The command did what was asked; a watched intent ended COMPLETED.
    Ok = 0,
    /// The server refused the request (any non-2xx), could not be reached, or answered
    /// something unexpected; a scenario bundle is invalid.
    Error = 1,
    /// The command line or the local setup is wrong: a bad flag value, unreadable JSON, no API
    /// key, an unknown context. (clap uses 2 for its own usage errors too.)
    Usage = 2,
    /// A watched intent ended FAILED.
    Failed = 3,
    /// A watched intent ended CANCELED.
    Canceled = 4,
    /// A watched intent ended TIMED_OUT.
    TimedOut = 5,
    /// `--timeout` elapsed before the watched intent reached a terminal status.
    StillRunning = 6,
}

impl Exit {
    /// The exit code for a watched intent that reached `status` (terminal), or
    /// [`Exit::StillRunning`] for a status that is not terminal.
    pub fn for_status(status: Status) -> Self {
        match status {
            Status::Completed => Exit::Ok,
            Status::Failed => Exit::Failed,
            Status::Canceled => Exit::Canceled,
            Status::TimedOut => Exit::TimedOut,
            _ => Exit::StillRunning,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(exit: Exit) -> Self {
        ExitCode::from(exit as u8)
    }
}

/// An error that is the user's to fix (exit code 2), as opposed to one the server or the network
/// caused (exit code 1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// Shorthand for a [`UsageError`] as an `anyhow::Error`.
pub fn usage(message: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(message.into()))
}

/// The exit code for an error that ended a command.
pub fn for_error(error: &anyhow::Error) -> Exit {
    if error.chain().any(|e| e.is::<UsageError>()) { Exit::Usage } else { Exit::Error }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terminal_statuses_map_to_distinct_codes() {
        assert_eq!(Exit::for_status(Status::Completed) as u8, 0);
        assert_eq!(Exit::for_status(Status::Failed) as u8, 3);
        assert_eq!(Exit::for_status(Status::Canceled) as u8, 4);
        assert_eq!(Exit::for_status(Status::TimedOut) as u8, 5);
        assert_eq!(Exit::for_status(Status::Waiting) as u8, 6);
    }

    #[test]
    fn usage_errors_are_found_through_context() {
        let e = usage("no key").context("connecting");
        assert_eq!(for_error(&e), Exit::Usage);
        assert_eq!(for_error(&anyhow::anyhow!("boom")), Exit::Error);
    }
}
