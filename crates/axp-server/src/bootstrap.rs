//! First start: the default organization, workspace and admin key (DESIGN.md "Auth and tenancy").

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use axp_core::Timestamp;
use axp_store::{KeyHash, Principal, Store, TenantSpec};

/// Slug of the organization and workspace created on first start.
pub(crate) const DEFAULT_SLUG: &str = "default";

/// What a first start created.
#[derive(Clone, Debug)]
pub struct Bootstrapped {
    /// The admin principal.
    pub principal: Principal,
    /// Its API key (also written to `admin.key`).
    pub api_key: String,
    /// Where the key was written.
    pub key_file: PathBuf,
}

/// Shortest `AXP_BOOTSTRAP_KEY` accepted: the admin key must not be guessable.
const MIN_BOOTSTRAP_KEY_CHARS: usize = 32;

/// An `AXP_BOOTSTRAP_KEY` is at least [`MIN_BOOTSTRAP_KEY_CHARS`] visible ASCII characters (a key
/// travels in HTTP headers); anything else stops the start with this error.
fn check_bootstrap_key(key: &str) -> anyhow::Result<()> {
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        anyhow::bail!("AXP_BOOTSTRAP_KEY must be visible ASCII characters only (it is sent in HTTP headers)");
    }
    if key.len() < MIN_BOOTSTRAP_KEY_CHARS {
        anyhow::bail!("AXP_BOOTSTRAP_KEY must be at least {MIN_BOOTSTRAP_KEY_CHARS} characters long");
    }
    Ok(())
}

/// On an empty store with no `<data_dir>/admin.key`, creates org `default`, workspace `default`
/// and service account `admin` (`agent://default/default/admin`) with a new key, writes the key to `<data_dir>/admin.key`
/// (one line, mode 0600) and returns it. On a store that was bootstrapped before, returns `None`.
///
/// With `fixed_key` (`AXP_BOOTSTRAP_KEY`), that is the admin key instead of a random one (an
/// `axme_sa_<uuid>_…` key also fixes the admin's service account id). A replica joining a
/// database another one bootstrapped writes it to its own `admin.key` when it has none and the
/// key is valid, so the local CLI works on every replica.
///
/// Errors: an empty store beside an existing `admin.key` (the database was emptied or lost)
/// stops the start, and the key file is left as it was.
pub(crate) async fn run(
    store: &dyn Store,
    data_dir: &Path,
    now: Timestamp,
    fixed_key: Option<&str>,
) -> anyhow::Result<Option<Bootstrapped>> {
    if let Some(key) = fixed_key.filter(|k| !k.is_empty()) {
        check_bootstrap_key(key)?;
    }
    let (mut spec, mut api_key) =
        TenantSpec::with_admin(DEFAULT_SLUG, DEFAULT_SLUG, "bootstrap", now).context("the default tenant")?;
    if let Some(token) = fixed_key.filter(|k| !k.is_empty()) {
        if let Some(id) = token
            .strip_prefix("axme_sa_")
            .and_then(|rest| rest.split_once('_'))
            .and_then(|(id, _)| id.parse().ok())
        {
            spec.admin.id = axp_core::ids::ServiceAccountId(id);
        }
        spec.key.hash = KeyHash::of(token);
        spec.key.hint = format!("****{}", &token[token.len().saturating_sub(4)..]);
        api_key = token.to_owned();
    }
    let key_file = data_dir.join("admin.key");
    if key_file.exists() && !store.has_tenant().await.context("reading the store")? {
        anyhow::bail!(
            "{} exists but the database has no organization: the database was emptied or lost. \
             Restore it from a backup (axp will not bootstrap a new admin over the old key), or, \
             to really start over, move {} away",
            key_file.display(),
            key_file.display()
        );
    }
    let Some(principal) = store.bootstrap(spec).await.context("bootstrapping the store")? else {
        if let Some(token) = fixed_key.filter(|k| !k.is_empty())
            && !key_file.exists()
            && store
                .authenticate(&KeyHash::of(token), now)
                .await
                .context("checking AXP_BOOTSTRAP_KEY")?
                .is_some()
        {
            write_secret(&key_file, token).with_context(|| format!("writing {}", key_file.display()))?;
        }
        return Ok(None);
    };
    write_secret(&key_file, &api_key).with_context(|| format!("writing {}", key_file.display()))?;
    Ok(Some(Bootstrapped { principal, api_key, key_file }))
}

fn write_secret(path: &Path, secret: &str) -> std::io::Result<()> {
    let mut options = std::fs::OpenOptions::new();
    // Never over an existing key: that would lock its holder out.
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(path)?;
    writeln!(file, "{secret}")?;
    file.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bootstrap_key_is_long_visible_ascii() {
        assert!(check_bootstrap_key(&"k".repeat(32)).is_ok());
        assert!(check_bootstrap_key("axme_sa_01970000-0000-7000-8000-0000000000ad_0123456789abcdef").is_ok());
        assert!(check_bootstrap_key("x").is_err(), "one character");
        assert!(check_bootstrap_key(&"k".repeat(31)).is_err());
        assert!(check_bootstrap_key(&format!("{}é", "k".repeat(40))).is_err(), "non-ASCII");
        assert!(check_bootstrap_key(&format!("{} k", "k".repeat(40))).is_err(), "a space");
    }
}
