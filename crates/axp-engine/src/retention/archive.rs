//! The archive: finished intents written before retention removes them (`docs/retention.md`).
//!
//! A directory of one file per UTC day, `intents-YYYY-MM-DD.jsonl.gz`: each line is one
//! [`ArchivedIntent`] as JSON. Every batch the pruner archives is appended as one more gzip
//! member and fsynced before the intents are removed, so a crash between the two archives a
//! batch twice (a reader takes the last line for an id) and never loses one. Any gzip reader
//! reads the concatenated members as one stream (`zcat`, `gzip -dc`).

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use axp_core::Timestamp;
use axp_core::ids::IntentId;
use axp_core::retention::ArchivedIntent;
use flate2::Compression;
use flate2::read::MultiGzDecoder;
use flate2::write::GzEncoder;

/// An archive directory.
#[derive(Clone, Debug)]
pub struct ArchiveDir {
    dir: PathBuf,
}

impl ArchiveDir {
    /// The archive in `dir`, created (with its parents) if missing.
    ///
    /// Errors: the directory cannot be created.
    pub fn open(dir: &Path) -> io::Result<Self> {
        fs::create_dir_all(dir)?;
        Ok(Self { dir: dir.to_path_buf() })
    }

    /// The file of `now`'s UTC day.
    pub fn file_for(&self, now: Timestamp) -> PathBuf {
        let day = now.to_string();
        self.dir.join(format!("intents-{}.jsonl.gz", &day[..10]))
    }

    /// Appends `records` as one gzip member to the file of `now`'s day, and fsyncs it (and, for
    /// a new file, the directory) before returning. Blocking: call it off the async threads.
    ///
    /// Errors: the file cannot be written or synced; nothing may be removed then.
    pub fn append(&self, now: Timestamp, records: &[ArchivedIntent]) -> io::Result<PathBuf> {
        let path = self.file_for(now);
        let new = !path.exists();
        let mut gz = GzEncoder::new(Vec::new(), Compression::default());
        for record in records {
            serde_json::to_writer(&mut gz, record)?;
            gz.write_all(b"\n")?;
        }
        let member = gz.finish()?;
        let mut file = OpenOptions::new().create(true).append(true).open(&path)?;
        file.write_all(&member)?;
        file.sync_all()?;
        if new {
            File::open(&self.dir)?.sync_all()?;
        }
        Ok(path)
    }
}

/// The intent `id` in archive file `path` (gzip, or plain JSON lines), if it is there: the last
/// line for it wins. A line that is not an archived intent is an error naming its number.
pub fn find(path: &Path, id: IntentId) -> io::Result<Option<ArchivedIntent>> {
    let mut file = File::open(path)?;
    let mut magic = [0u8; 2];
    let gzip = file.read(&mut magic)? == 2 && magic == [0x1f, 0x8b];
    let file = File::open(path)?;
    let reader: Box<dyn BufRead> = if gzip {
        Box::new(BufReader::new(MultiGzDecoder::new(file)))
    } else {
        Box::new(BufReader::new(file))
    };
    let needle = format!("\"intent_id\":\"{id}\"");
    let mut found = None;
    for (n, line) in reader.lines().enumerate() {
        let line = line?;
        if line.trim().is_empty() || !line.contains(&needle) {
            continue;
        }
        let record: ArchivedIntent = serde_json::from_str(&line).map_err(|e| {
            io::Error::new(io::ErrorKind::InvalidData, format!("{}: line {}: {e}", path.display(), n + 1))
        })?;
        if record.intent.intent_id == id {
            found = Some(record);
        }
    }
    Ok(found)
}
