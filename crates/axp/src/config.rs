//! Named contexts (server URL + API key, or a person's actor token) saved by `axp login`, in
//! `$XDG_CONFIG_HOME/axp/config.json` (default `~/.config/axp/config.json`), mode 0600.
//!
//! ```json
//! {"active_context": "local",
//!  "contexts": {"local": {"base_url": "http://127.0.0.1:7420", "api_key": "axme_sa_…"},
//!               "me": {"base_url": "http://127.0.0.1:7420", "actor_token": "axme_at_…"}}}
//! ```

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::{Deserialize, Serialize};

use crate::exit::usage;

/// The name `axp login` uses when none is given.
pub const DEFAULT_CONTEXT: &str = "default";

/// One saved server.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Context {
    /// The server's base URL, e.g. `http://127.0.0.1:7420`.
    pub base_url: String,
    /// The API key to send, if one was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    /// A person's actor token (`axp login --token`), sent as `Authorization: Bearer`, if one
    /// was saved.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_token: Option<String>,
}

/// The whole config file.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Config {
    /// The context used when none is named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_context: Option<String>,
    /// Every saved context by name.
    #[serde(default)]
    pub contexts: BTreeMap<String, Context>,
}

/// `$XDG_CONFIG_HOME/axp/config.json`, else `$HOME/.config/axp/config.json`; `None` when
/// neither variable is set.
pub fn path() -> Option<PathBuf> {
    let base =
        std::env::var_os("XDG_CONFIG_HOME").filter(|v| !v.is_empty()).map(PathBuf::from).or_else(|| {
            std::env::var_os("HOME").filter(|v| !v.is_empty()).map(|h| PathBuf::from(h).join(".config"))
        })?;
    Some(base.join("axp").join("config.json"))
}

impl Config {
    /// Reads the config file; a missing file is an empty config.
    pub fn load() -> anyhow::Result<Self> {
        match path() {
            Some(path) => Self::load_from(&path),
            None => Ok(Self::default()),
        }
    }

    /// Reads `path`; a missing file is an empty config.
    pub fn load_from(path: &Path) -> anyhow::Result<Self> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map_err(|e| usage(format!("{} is not a valid axp config: {e}", path.display()))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Self::default()),
            Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }

    /// Writes the config file (creating its directory), readable by the owner only. Returns the
    /// path written.
    pub fn save(&self) -> anyhow::Result<PathBuf> {
        let path =
            path().ok_or_else(|| usage("cannot locate the config directory: set XDG_CONFIG_HOME or HOME"))?;
        self.save_to(&path)?;
        Ok(path)
    }

    /// Writes to `path` atomically (temporary file, then rename), mode 0600.
    pub fn save_to(&self, path: &Path) -> anyhow::Result<()> {
        let dir = path.parent().context("config path has no directory")?;
        create_private_dir(dir)?;
        let tmp = path.with_extension("json.tmp");
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(0o600);
        }
        let mut file = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        let mut text = serde_json::to_string_pretty(self)?;
        text.push('\n');
        file.write_all(text.as_bytes())?;
        file.sync_all()?;
        std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
        Ok(())
    }

    /// The context named `name`, or the active one when `name` is `None`.
    pub fn context(&self, name: Option<&str>) -> Option<(&str, &Context)> {
        let name = name.or(self.active_context.as_deref())?;
        self.contexts.get_key_value(name).map(|(k, v)| (k.as_str(), v))
    }
}

fn create_private_dir(dir: &Path) -> anyhow::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).with_context(|| format!("creating {}", dir.display()))
}

/// `****` plus the last four characters of a secret, for display.
pub fn hint(secret: &str) -> String {
    let chars: Vec<char> = secret.trim().chars().collect();
    let tail: String = chars[chars.len().saturating_sub(4)..].iter().collect();
    format!("****{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_a_private_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/axp/config.json");
        assert_eq!(Config::load_from(&path).unwrap(), Config::default());
        let mut config = Config::default();
        config.contexts.insert(
            "local".into(),
            Context {
                base_url: "http://127.0.0.1:7420".into(),
                api_key: Some("axme_sa_x_y".into()),
                actor_token: None,
            },
        );
        config.active_context = Some("local".into());
        config.contexts.insert(
            "me".into(),
            Context {
                base_url: "http://127.0.0.1:7420".into(),
                api_key: None,
                actor_token: Some("axme_at_x".into()),
            },
        );
        config.save_to(&path).unwrap();
        assert_eq!(Config::load_from(&path).unwrap(), config);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert_eq!(config.context(None).unwrap().0, "local");
        assert!(config.context(Some("other")).is_none());
    }

    #[test]
    fn a_broken_file_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.json");
        std::fs::write(&path, "{not json").unwrap();
        let e = Config::load_from(&path).unwrap_err();
        assert_eq!(crate::exit::for_error(&e), crate::exit::Exit::Usage);
    }

    #[test]
    fn hints_show_the_last_four() {
        assert_eq!(hint("axme_sa_abc_secretWXYZ"), "****WXYZ");
        assert_eq!(hint("ab"), "****ab");
    }
}
