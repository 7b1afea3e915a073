//! The closed vocabularies of contract §6 "Organizations", "Principals, aliases" and "Access
//! requests" (each enum is the `enum` of its field in `api.organizations.*`, `api.principals.*`,
//! `api.aliases.*` and `api.access_requests.*.v1.json`), and the slugs of new organizations and
//! workspaces.
//!
//! ```
//! use axp_core::tenancy::{Environment, ReviewDecision, AccessRequestState};
//!
//! assert_eq!("staging".parse::<Environment>(), Ok(Environment::Staging));
//! assert_eq!(serde_json::to_value(Environment::Sandbox)?, serde_json::json!("sandbox"));
//! assert_eq!(ReviewDecision::Waitlist.state(), AccessRequestState::Waitlisted);
//! assert_eq!(
//!     "qa".parse::<Environment>().unwrap_err().to_string(),
//!     "must be one of sandbox, staging, production"
//! );
//! # Ok::<(), serde_json::Error>(())
//! ```

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A value outside a closed vocabulary; its message lists the allowed values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be one of {}", .allowed.join(", "))]
pub struct UnknownValue {
    /// Every allowed wire value.
    pub allowed: &'static [&'static str],
}

/// A closed set of wire strings: the enum, `ALL`, `as_str`, `Display` and `FromStr`.
macro_rules! wire_enum {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $wire:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the schema's order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];
            const WIRE: &'static [&'static str] = &[$($wire),+];

            /// The wire string.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err(UnknownValue { allowed: Self::WIRE }),
                }
            }
        }
    };
}

pub(crate) use wire_enum;

wire_enum!(
    /// An organization's status.
    OrgStatus {
        /// Not yet in use.
        Pending => "pending",
        /// In use (the default of a new organization).
        Active => "active",
        /// Held by an operator.
        Suspended => "suspended",
        /// Kept for the record only.
        Archived => "archived",
    }
);

wire_enum!(
    /// A workspace's status.
    WorkspaceStatus {
        /// In use (the default of a new workspace).
        Active => "active",
        /// Held by an operator.
        Suspended => "suspended",
        /// Kept for the record only.
        Archived => "archived",
    }
);

wire_enum!(
    /// What a workspace is for.
    Environment {
        /// Trying things out.
        Sandbox => "sandbox",
        /// Rehearsal before production.
        Staging => "staging",
        /// Real traffic (the environment of the bootstrap workspace).
        Production => "production",
    }
);

wire_enum!(
    /// What a directory principal stands for.
    PrincipalType {
        /// A person.
        User => "user",
        /// An agent acting as a service.
        ServiceAgent => "service_agent",
        /// A service account.
        ServiceAccount => "service_account",
    }
);

wire_enum!(
    /// A directory principal's status.
    PrincipalStatus {
        /// In use (the default).
        Active => "active",
        /// Held.
        Suspended => "suspended",
        /// No longer in use.
        Inactive => "inactive",
    }
);

wire_enum!(
    /// What an alias is used for.
    AliasType {
        /// A name people address.
        Communication => "communication",
        /// A service name.
        Service => "service",
        /// A name in another system.
        External => "external",
    }
);

wire_enum!(
    /// An alias's status: only active aliases resolve.
    AliasStatus {
        /// Bound and resolving.
        Active => "active",
        /// Revoked: kept for the record, resolves no more.
        Revoked => "revoked",
    }
);

wire_enum!(
    /// What an access request asks for.
    AccessRequestType {
        /// A new organization (for `company_name`).
        CreateOrganization => "create_organization",
        /// A membership of `org_id` (or of its workspace `workspace_id`).
        JoinOrganization => "join_organization",
        /// A stronger role there.
        ElevatedRole => "elevated_role",
    }
);

wire_enum!(
    /// Where an access request stands. Only `pending` and `under_review` requests may be
    /// reviewed.
    AccessRequestState {
        /// Waiting for a reviewer (the state of a new request).
        Pending => "pending",
        /// Being looked at.
        UnderReview => "under_review",
        /// Granted.
        Approved => "approved",
        /// Refused.
        Rejected => "rejected",
        /// Put off.
        Waitlisted => "waitlisted",
        /// Lapsed.
        Expired => "expired",
    }
);

impl AccessRequestState {
    /// Whether a reviewer may still decide it (`pending`, `under_review`).
    pub fn open(self) -> bool {
        matches!(self, AccessRequestState::Pending | AccessRequestState::UnderReview)
    }
}

wire_enum!(
    /// A reviewer's decision on an access request.
    ReviewDecision {
        /// Grant it.
        Approve => "approve",
        /// Refuse it.
        Reject => "reject",
        /// Put it off.
        Waitlist => "waitlist",
    }
);

impl ReviewDecision {
    /// The state the decision leaves the request in.
    pub fn state(self) -> AccessRequestState {
        match self {
            ReviewDecision::Approve => AccessRequestState::Approved,
            ReviewDecision::Reject => AccessRequestState::Rejected,
            ReviewDecision::Waitlist => AccessRequestState::Waitlisted,
        }
    }
}

wire_enum!(
    /// A membership's status (`api.organizations.members.*.v1.json`); only `active` ones give a
    /// role.
    MemberStatus {
        /// Gives its role.
        Active => "active",
        /// Not yet accepted.
        Invited => "invited",
        /// Held.
        Suspended => "suspended",
        /// Ended.
        Removed => "removed",
    }
);

/// Longest slug derived from a name, in characters.
pub const SLUG_MAX: usize = 40;

/// The slug of a new organization or workspace named `name`: lowercase, every run of
/// characters outside `[a-z0-9]` one `-`, no `-` at either end, at most [`SLUG_MAX`]
/// characters; `fallback` when nothing is left. Slugs are the first two segments of agent
/// addresses (`agent://{org_slug}/{workspace_slug}/{name}`, contract §2.1), so they never
/// change once given; a taken slug gets a suffix ([`slug_with_suffix`]).
///
/// ```
/// use axp_core::tenancy::slug;
///
/// assert_eq!(slug("Acme Corp.", "org"), "acme-corp");
/// assert_eq!(slug("  R&D / Europe ", "ws"), "r-d-europe");
/// assert_eq!(slug("Ünïcode", "org"), "n-code");
/// assert_eq!(slug("!!!", "org"), "org");
/// ```
pub fn slug(name: &str, fallback: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        let c = c.to_ascii_lowercase();
        if c.is_ascii_lowercase() || c.is_ascii_digit() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with('-') {
            out.push('-');
        }
    }
    out.truncate(SLUG_MAX);
    let trimmed = out.trim_end_matches('-');
    if trimmed.is_empty() { fallback.to_owned() } else { trimmed.to_owned() }
}

/// The `n`-th alternative of a taken slug (`n` ≥ 2): `acme-2`, `acme-3`, …
///
/// ```
/// assert_eq!(axp_core::tenancy::slug_with_suffix("acme", 2), "acme-2");
/// ```
pub fn slug_with_suffix(slug: &str, n: u32) -> String {
    format!("{slug}-{n}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips() {
        for s in OrgStatus::ALL {
            assert_eq!(s.as_str().parse::<OrgStatus>(), Ok(*s));
            assert_eq!(serde_json::to_value(s).unwrap(), serde_json::json!(s.as_str()));
        }
        for s in AccessRequestState::ALL {
            assert_eq!(s.as_str().parse::<AccessRequestState>(), Ok(*s));
        }
        assert_eq!("service_agent".parse::<PrincipalType>(), Ok(PrincipalType::ServiceAgent));
        assert!("Active".parse::<AliasStatus>().is_err());
    }

    #[test]
    fn only_open_requests_are_reviewed() {
        let open: Vec<_> = AccessRequestState::ALL.iter().filter(|s| s.open()).collect();
        assert_eq!(open, [&AccessRequestState::Pending, &AccessRequestState::UnderReview]);
    }

    #[test]
    fn slugs_are_address_segments() {
        for name in ["Acme", "a--b", "-x-", "ÄÖÜ", &"long name ".repeat(10)] {
            let s = slug(name, "org");
            assert!(!s.is_empty() && s.len() <= SLUG_MAX, "{s}");
            assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-'), "{s}");
            assert!(!s.starts_with('-') && !s.ends_with('-'), "{s}");
        }
    }
}
