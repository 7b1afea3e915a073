//! Agent addresses and their normalisation (contract §2.1, §2.2).
//!
//! Canonical form: `agent://{org_slug}/{workspace_slug}/{name}`. Shorter `agent://` forms
//! (`agent://alice`, `agent://conformance/receiver`) are valid and stored verbatim, because
//! clients compare them with the exact strings they sent. Bare forms are made absolute relative
//! to the caller's organization and workspace: `name` becomes `agent://{org}/{ws}/name`, and a bare
//! path with two or more segments (`org/ws/bot`, what `listen()` puts in a URL after stripping
//! `agent://`) becomes `agent://org/ws/bot`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The scheme prefix of every agent address.
pub const SCHEME: &str = "agent://";

/// Longest accepted address, in bytes (contract §2.1: SPEC allows 383 on create).
pub const MAX_LEN: usize = 383;

/// A syntactically valid, normalised agent address such as `agent://acme/prod/approver`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(example = "agent://acme/prod/approver"))]
pub struct AgentAddress(String);

/// Why a string is not an agent address. Maps to 422 `invalid_agent_address`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Empty input, or `agent://` with nothing after it.
    #[error("agent address is empty")]
    Empty,
    /// Longer than [`MAX_LEN`] or shorter than 3 characters once normalised.
    #[error("agent address must be 3 to {MAX_LEN} characters")]
    Length,
    /// A segment is empty or has a character outside `[A-Za-z0-9._@-]`.
    #[error("agent address segment {0:?} must match [A-Za-z0-9._@-]+")]
    Segment(String),
}

/// The organization and workspace slugs a bare address is made absolute against.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AddressScope<'a> {
    /// Organization slug, e.g. `default`.
    pub org_slug: &'a str,
    /// Workspace slug, e.g. `default`.
    pub workspace_slug: &'a str,
}

fn valid_segment(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'@' | b'-'))
}

impl AgentAddress {
    /// Parses and normalises `input` (full `agent://…` form or a bare form) against `scope`.
    ///
    /// Errors: [`AddressError`] when a segment has a forbidden character or the result is not
    /// 3 to 383 characters long.
    pub fn parse(input: &str, scope: &AddressScope<'_>) -> Result<Self, AddressError> {
        let input = input.trim();
        let (path, bare) = match input.strip_prefix(SCHEME) {
            Some(rest) => (rest, false),
            None => (input, true),
        };
        if path.is_empty() {
            return Err(AddressError::Empty);
        }
        let mut segments = 0usize;
        for segment in path.split('/') {
            if !valid_segment(segment) {
                return Err(AddressError::Segment(segment.to_owned()));
            }
            segments += 1;
        }
        let normalised = if bare && segments == 1 {
            for slug in [scope.org_slug, scope.workspace_slug] {
                if !valid_segment(slug) {
                    return Err(AddressError::Segment(slug.to_owned()));
                }
            }
            format!("{SCHEME}{}/{}/{path}", scope.org_slug, scope.workspace_slug)
        } else {
            format!("{SCHEME}{path}")
        };
        if normalised.len() > MAX_LEN || normalised.len() < 3 {
            return Err(AddressError::Length);
        }
        Ok(Self(normalised))
    }

    /// The canonical address of a service account: `agent://{org}/{ws}/{name}`.
    pub fn for_service_account(scope: &AddressScope<'_>, name: &str) -> Result<Self, AddressError> {
        Self::parse(name, scope)
    }

    /// Wraps a string already known to be a normalised address (read back from a store).
    pub fn from_trusted(s: String) -> Self {
        Self(s)
    }

    /// The address as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last path segment, used as a display name (`approver` for `agent://acme/prod/approver`).
    pub fn name(&self) -> &str {
        self.0.rsplit('/').next().unwrap_or(&self.0)
    }

    /// The address as an owned string.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl fmt::Display for AgentAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCOPE: AddressScope<'static> = AddressScope { org_slug: "acme", workspace_slug: "prod" };

    fn parse(s: &str) -> Result<String, AddressError> {
        AgentAddress::parse(s, &SCOPE).map(AgentAddress::into_string)
    }

    #[test]
    fn full_forms_are_kept_verbatim() {
        assert_eq!(
            parse("agent://acme-corp/production/approver").unwrap(),
            "agent://acme-corp/production/approver"
        );
        assert_eq!(parse("agent://conformance/receiver").unwrap(), "agent://conformance/receiver");
        assert_eq!(parse("agent://alice").unwrap(), "agent://alice");
        assert_eq!(
            parse("agent://user/0190b2c4-1111-7000-8000-000000000000").unwrap(),
            "agent://user/0190b2c4-1111-7000-8000-000000000000"
        );
    }

    #[test]
    fn bare_forms_are_made_absolute() {
        assert_eq!(parse("report-api-demo").unwrap(), "agent://acme/prod/report-api-demo");
        assert_eq!(parse("org/ws/bot").unwrap(), "agent://org/ws/bot");
        assert_eq!(parse("conformance/receiver").unwrap(), "agent://conformance/receiver");
    }

    #[test]
    fn rejects_bad_input() {
        assert_eq!(parse(""), Err(AddressError::Empty));
        assert_eq!(parse("agent://"), Err(AddressError::Empty));
        assert!(matches!(parse("agent://a//b"), Err(AddressError::Segment(_))));
        assert!(matches!(parse("agent://has space"), Err(AddressError::Segment(_))));
        assert!(matches!(parse("http://x"), Err(AddressError::Segment(_))));
        assert_eq!(parse(&format!("agent://{}", "a".repeat(400))), Err(AddressError::Length));
    }

    #[test]
    fn name_is_the_last_segment() {
        assert_eq!(AgentAddress::parse("agent://a/b/c", &SCOPE).unwrap().name(), "c");
    }
}
