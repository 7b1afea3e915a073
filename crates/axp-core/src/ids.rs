//! Typed identifiers.
//!
//! Every id is a UUID on the wire (the contract and the official clients require UUID strings,
//! §1.3), typed here so that an intent id can never be passed where a workspace id is expected.
//! New ids are UUIDv7, so they sort by creation time.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered (v7) id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = uuid::Error;

            /// Parses a UUID string in any of the forms the `uuid` crate accepts
            /// (hyphenated, simple, braced, urn).
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self)
            }
        }
    };
}

typed_id!(
    /// Identifies one intent, globally. Also its inbox thread id (contract §5.1).
    IntentId
);
typed_id!(
    /// Identifies an organization.
    OrgId
);
typed_id!(
    /// Identifies a workspace: the tenancy boundary. Every stored row carries one.
    WorkspaceId
);
typed_id!(
    /// Identifies a service account (an agent identity).
    ServiceAccountId
);
typed_id!(
    /// Identifies one API key of a service account.
    ApiKeyId
);
typed_id!(
    /// Identifies a person (a user, contract §6 "Users"); their owner address is
    /// `agent://user/<user_id>`.
    UserId
);
typed_id!(
    /// Identifies one actor token (a person's session credential).
    ActorTokenId
);
typed_id!(
    /// Identifies one membership: an actor's role in an organization or one of its workspaces.
    MemberId
);
typed_id!(
    /// Identifies a principal of a workspace's directory (contract §6 "Principals, aliases").
    PrincipalId
);
typed_id!(
    /// Identifies one alias bound to a principal.
    AliasId
);
typed_id!(
    /// Identifies an access request (contract §6 "Access requests").
    AccessRequestId
);
typed_id!(
    /// Identifies one push delivery (an agent push or a webhook event to one subscription).
    DeliveryId
);
typed_id!(
    /// Identifies a webhook subscription.
    SubscriptionId
);
typed_id!(
    /// Identifies a webhook event (contract §5.4); not an intent's or a thread's event.
    EventId
);
typed_id!(
    /// Identifies one approval decision (contract §5.2).
    ApprovalId
);
typed_id!(
    /// Identifies a routing endpoint (a route) of a principal (contract §6 "routing").
    RouteId
);
typed_id!(
    /// Identifies a transport binding of a principal (contract §5.6).
    TransportBindingId
);
typed_id!(
    /// Identifies one media upload (contract §6 "Media").
    UploadId
);

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        #[test]
        fn display_parse_round_trip(bytes in any::<[u8; 16]>()) {
            let id = IntentId(Uuid::from_bytes(bytes));
            let parsed: IntentId = id.to_string().parse().unwrap();
            prop_assert_eq!(id, parsed);
            let json = serde_json::to_string(&id).unwrap();
            prop_assert_eq!(json, format!("\"{id}\""));
        }
    }

    #[test]
    fn rejects_non_uuid() {
        assert!("not-a-uuid".parse::<IntentId>().is_err());
    }
}
