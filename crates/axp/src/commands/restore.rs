//! `axp restore SRC --data-dir DIR`: a new data dir from a backup file, on this machine. `axp
//! serve --data-dir DIR` then starts on it, and the keys of the backed-up server work (no new
//! admin key is made: keep the old `admin.key`, or copy it into DIR).

use std::path::PathBuf;

use serde_json::json;

use crate::cli::Global;
use crate::connect::env;
use crate::exit::{Exit, usage};
use crate::output::Output;

/// `axp restore` options (the data dir is the global `--data-dir`, or `AXP_DATA_DIR`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The backup file (`axp backup DEST`).
    pub src: PathBuf,
}

/// Restores; exit code 1 when DIR holds a database or a lock, or the backup is not whole,
/// damaged (`PRAGMA integrity_check`) or from a newer axp. Nothing is left in DIR then.
pub fn run(global: &Global, out: &Output, args: Args) -> anyhow::Result<Exit> {
    let dir = global
        .data_dir
        .clone()
        .or_else(|| env("AXP_DATA_DIR").map(PathBuf::from))
        .ok_or_else(|| usage("give the new data dir: axp restore SRC --data-dir DIR"))?;
    let manifest = axp_server::restore(&args.src, &dir)?;
    let value = json!({
        "ok": true,
        "data_dir": dir,
        "schema_version": manifest.schema_version,
        "created_at": manifest.created_at,
        "media_objects": manifest.media_objects,
    });
    out.object(&value, || {
        vec![
            ("data_dir".into(), dir.display().to_string()),
            ("backup_taken_at".into(), manifest.created_at.to_string()),
            ("schema_version".into(), manifest.schema_version.to_string()),
            ("media_objects".into(), manifest.media_objects.to_string()),
        ]
    });
    out.tip(&format!("start it with: axp serve --data-dir {}", dir.display()));
    Ok(Exit::Ok)
}
