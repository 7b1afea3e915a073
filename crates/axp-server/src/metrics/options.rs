//! [`MetricsOptions`]: who may scrape `/metrics`, which intent types get a label of their own,
//! and how often the store's figures are read.

use std::fmt;
use std::time::Duration;

use axp_core::validate::{INTENT_TYPE, INTENT_TYPE_MAX_LEN};
use axp_engine::IntentTypeLabels;
use axp_engine::metrics::OTHER;

/// Who may read `/metrics` (`docs/metrics.md`, "Access").
#[derive(Clone, Default, PartialEq, Eq)]
pub enum MetricsAccess {
    /// Neither setting: `/metrics` answers 404 saying how to turn it on, and no recorder is
    /// installed (the series cost nothing).
    #[default]
    Off,
    /// `AXP_METRICS_TOKEN`: only `Authorization: Bearer <token>` opens it.
    Token(String),
    /// `AXP_METRICS_PUBLIC=1`: anyone who reaches the listener may read it.
    Public,
}

impl fmt::Debug for MetricsAccess {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            MetricsAccess::Off => "Off",
            MetricsAccess::Token(_) => "Token(<redacted>)",
            MetricsAccess::Public => "Public",
        })
    }
}

/// The metrics settings of `axp serve` ([`MetricsOptions::from_env`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MetricsOptions {
    /// Who may scrape.
    pub access: MetricsAccess,
    /// The intent types counted under their own `intent_type` label value; every other type is
    /// `other` (`AXP_METRICS_INTENT_TYPES`).
    pub intent_types: IntentTypeLabels,
    /// How often the store's figures (rows per table, sizes, oldest unfinished intent, dead
    /// letters, queue depths) are read in the background (`AXP_METRICS_REFRESH_SECONDS`,
    /// default [`MetricsOptions::DEFAULT_REFRESH`]).
    pub refresh: Duration,
}

impl Default for MetricsOptions {
    fn default() -> Self {
        Self {
            access: MetricsAccess::Off,
            intent_types: IntentTypeLabels::default(),
            refresh: Self::DEFAULT_REFRESH,
        }
    }
}

impl MetricsOptions {
    /// Counting every row of every table takes seconds on a large database: twice a minute.
    pub const DEFAULT_REFRESH: Duration = Duration::from_secs(30);

    /// The fewest characters of `AXP_METRICS_TOKEN`.
    pub const MIN_TOKEN_LEN: usize = 16;

    /// The most intent types `AXP_METRICS_INTENT_TYPES` may name: each is a label value of
    /// every intent series, and labels stay bounded.
    pub const MAX_INTENT_TYPES: usize = 100;

    /// Whether `/metrics` is served (a token or public) and so the recorder is installed.
    pub fn enabled(&self) -> bool {
        self.access != MetricsAccess::Off
    }

    /// The settings as read by `var`:
    ///
    /// - `AXP_METRICS_TOKEN`: the bearer token of `/metrics`, at least
    ///   [`Self::MIN_TOKEN_LEN`] visible ASCII characters (`openssl rand -hex 32` makes one);
    /// - `AXP_METRICS_PUBLIC`: `1`/`true` opens `/metrics` without a token, `0`/`false` (the
    ///   default) does not;
    /// - `AXP_METRICS_INTENT_TYPES`: comma-separated intent types (at most
    ///   [`Self::MAX_INTENT_TYPES`]) counted under their own label value;
    /// - `AXP_METRICS_REFRESH_SECONDS`: how often the store's figures are read (default 30, at
    ///   least 1).
    ///
    /// Errors name the variable: a short or malformed token, both a token and public, a value
    /// of `AXP_METRICS_PUBLIC` that is not a boolean, an intent type that is not one (or is
    /// `other`, the label of every type off the list), too many types, a refresh that is not a
    /// whole number of at least 1.
    pub fn from_env(var: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let token = var("AXP_METRICS_TOKEN").map(|t| t.trim().to_owned());
        if let Some(t) = &token {
            anyhow::ensure!(
                t.len() >= Self::MIN_TOKEN_LEN && t.bytes().all(|b| b.is_ascii_graphic()),
                "AXP_METRICS_TOKEN must be at least {} visible ASCII characters, no spaces",
                Self::MIN_TOKEN_LEN
            );
        }
        let public = match var("AXP_METRICS_PUBLIC").map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("0" | "false") => false,
            Some("1" | "true") => true,
            Some(other) => anyhow::bail!("AXP_METRICS_PUBLIC must be 1 or 0 (true or false), not {other:?}"),
        };
        let access = match (token, public) {
            (Some(_), true) => anyhow::bail!(
                "AXP_METRICS_TOKEN and AXP_METRICS_PUBLIC=1 contradict each other: set one of them"
            ),
            (Some(token), false) => MetricsAccess::Token(token),
            (None, true) => MetricsAccess::Public,
            (None, false) => MetricsAccess::Off,
        };
        let types = var("AXP_METRICS_INTENT_TYPES").map(|list| parse_types(&list)).transpose()?;
        let refresh = match var("AXP_METRICS_REFRESH_SECONDS") {
            None => Self::DEFAULT_REFRESH,
            Some(v) => match v.trim().parse::<u64>() {
                Ok(n) if n >= 1 => Duration::from_secs(n),
                _ => anyhow::bail!(
                    "AXP_METRICS_REFRESH_SECONDS must be a whole number of at least 1, not {v:?}"
                ),
            },
        };
        Ok(Self { access, intent_types: IntentTypeLabels::new(types.unwrap_or_default()), refresh })
    }
}

/// The intent types of a comma-separated list; empty entries are skipped.
fn parse_types(list: &str) -> anyhow::Result<Vec<String>> {
    let types: Vec<String> =
        list.split(',').map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned).collect();
    for t in &types {
        anyhow::ensure!(
            t.len() <= INTENT_TYPE_MAX_LEN && INTENT_TYPE.is_match(t) && t != OTHER,
            "AXP_METRICS_INTENT_TYPES: {t:?} is not an intent type (a dotted lowercase name other than {OTHER:?})"
        );
    }
    anyhow::ensure!(
        types.len() <= MetricsOptions::MAX_INTENT_TYPES,
        "AXP_METRICS_INTENT_TYPES names {} types; at most {} get a label of their own",
        types.len(),
        MetricsOptions::MAX_INTENT_TYPES
    );
    Ok(types)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "0123456789abcdef0123";

    fn from(pairs: &[(&str, &str)]) -> anyhow::Result<MetricsOptions> {
        let pairs: Vec<(String, String)> = pairs.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect();
        MetricsOptions::from_env(&|name| pairs.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn off_by_default() {
        let o = from(&[]).unwrap();
        assert_eq!(o, MetricsOptions::default());
        assert!(!o.enabled());
        assert_eq!(o.refresh, Duration::from_secs(30));
        assert_eq!(o.intent_types.label("notify.message.v1"), OTHER);
    }

    #[test]
    fn a_token_or_public_turns_it_on_but_not_both() {
        let o = from(&[("AXP_METRICS_TOKEN", TOKEN)]).unwrap();
        assert_eq!(o.access, MetricsAccess::Token(TOKEN.into()));
        assert_eq!(format!("{:?}", o.access), "Token(<redacted>)", "the token never reaches a log");
        assert_eq!(from(&[("AXP_METRICS_PUBLIC", "1")]).unwrap().access, MetricsAccess::Public);
        assert_eq!(from(&[("AXP_METRICS_PUBLIC", "TRUE")]).unwrap().access, MetricsAccess::Public);
        assert_eq!(from(&[("AXP_METRICS_PUBLIC", "0")]).unwrap().access, MetricsAccess::Off);
        let both = from(&[("AXP_METRICS_TOKEN", TOKEN), ("AXP_METRICS_PUBLIC", "1")]).unwrap_err();
        assert!(both.to_string().contains("contradict"), "{both}");
        assert!(from(&[("AXP_METRICS_PUBLIC", "yes please")]).is_err());
        for bad in ["short", "0123456789 abcdef0123"] {
            let err = from(&[("AXP_METRICS_TOKEN", bad)]).unwrap_err();
            assert!(err.to_string().contains("AXP_METRICS_TOKEN"), "{err}");
        }
    }

    #[test]
    fn the_allow_list_labels_its_types_and_everything_else_is_other() {
        let o = from(&[("AXP_METRICS_INTENT_TYPES", " invoice.pay.v1, ,notify.message.v1 ")]).unwrap();
        assert_eq!(o.intent_types.types(), ["invoice.pay.v1", "notify.message.v1"]);
        assert_eq!(o.intent_types.label("invoice.pay.v1"), "invoice.pay.v1");
        assert_eq!(o.intent_types.label("invoice.refund.v1"), OTHER);
        assert_eq!(o.intent_types.label("agent://o/w/a"), OTHER);
    }

    #[test]
    fn the_allow_list_refuses_what_is_no_intent_type_and_stays_bounded() {
        for bad in ["Invoice.Pay", "a b", "other", "x/y", &"a".repeat(INTENT_TYPE_MAX_LEN + 1)] {
            let err = from(&[("AXP_METRICS_INTENT_TYPES", bad)]).unwrap_err();
            assert!(err.to_string().contains("AXP_METRICS_INTENT_TYPES"), "{bad}: {err}");
        }
        let many: Vec<String> = (0..=MetricsOptions::MAX_INTENT_TYPES).map(|i| format!("t{i}")).collect();
        let err = from(&[("AXP_METRICS_INTENT_TYPES", &many.join(","))]).unwrap_err();
        assert!(err.to_string().contains("at most 100"), "{err}");
    }

    #[test]
    fn the_refresh_is_whole_seconds() {
        assert_eq!(from(&[("AXP_METRICS_REFRESH_SECONDS", "5")]).unwrap().refresh, Duration::from_secs(5));
        for bad in ["0", "1.5", "soon"] {
            assert!(from(&[("AXP_METRICS_REFRESH_SECONDS", bad)]).is_err(), "{bad}");
        }
    }
}
