//! The process's file descriptor limit, and the connection cap derived from it (issue 12:
//! "accept failed with EMFILE and every client timed out").

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors kept for everything but client connections: the database files and WAL, the
/// listener, logs, and headroom (the PostgreSQL pool and push connections are added on top).
const RESERVED_FDS: usize = 128;

/// The smallest default connection cap, whatever the descriptor limit says.
const MIN_CONNECTIONS: usize = 16;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit (what `axp serve` does at start), so the
/// connection cap follows what the operator allowed rather than a distribution's 1,024
/// default. Returns the soft limit in force afterwards (`None`: unlimited); a refusal is
/// logged and leaves the limit as it was.
pub fn raise_fd_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    if let Some(hard) = limit.maximum
        && limit.current.is_some_and(|soft| soft < hard)
    {
        match setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: Some(hard) }) {
            Ok(()) => return Some(hard),
            Err(e) => tracing::warn!(error = %e, hard, "cannot raise the open-file limit to its hard limit"),
        }
    }
    limit.current
}

/// The default connection cap: the soft `RLIMIT_NOFILE` less [`RESERVED_FDS`] and `others`
/// (database pool, push concurrency), at least [`MIN_CONNECTIONS`].
pub(crate) fn default_max_connections(others: usize) -> usize {
    let soft = getrlimit(Resource::Nofile).current.unwrap_or(1 << 20);
    cap_for(soft, others)
}

fn cap_for(soft: u64, others: usize) -> usize {
    usize::try_from(soft).unwrap_or(usize::MAX).saturating_sub(RESERVED_FDS + others).max(MIN_CONNECTIONS)
}

/// Whether an `accept` error means the process or system ran out of descriptors.
pub(crate) fn is_fd_exhaustion(error: &std::io::Error) -> bool {
    let errno = rustix::io::Errno::from_io_error(error);
    errno == Some(rustix::io::Errno::MFILE) || errno == Some(rustix::io::Errno::NFILE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_room_and_has_a_floor() {
        assert_eq!(cap_for(1024, 16 + 16), 1024 - 128 - 32);
        assert_eq!(cap_for(100, 32), MIN_CONNECTIONS);
        assert!(is_fd_exhaustion(&std::io::Error::from_raw_os_error(
            rustix::io::Errno::MFILE.raw_os_error()
        )));
        assert!(!is_fd_exhaustion(&std::io::Error::from(std::io::ErrorKind::ConnectionAborted)));
    }
}
