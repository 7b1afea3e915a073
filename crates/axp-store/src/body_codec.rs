//! How stored JSON bodies are compressed, for both backends (issue 16, "disk per intent"):
//! `intent_events` rows ([`crate::pack_events`]) and `intents` rows ([`crate::pack_intent`]).
//!
//! A body is its JSON text compressed with zstd and a dictionary of what its kind of row
//! repeats: a leading byte naming the dictionary ([`Dictionary::byte`]), then one zstd frame
//! (its header gives the text's length). New bodies are written with the v2 dictionaries
//! ([`Dictionary::EVENTS`], [`Dictionary::INTENTS`]); every dictionary ever written with is
//! read.
//! - [`Dictionary::EventsV2`], byte `0x03`, `event_dict_v2.zdict`, and
//!   [`Dictionary::IntentsV2`], byte `0x04`, `intent_dict_v2.zdict`: zstd dictionaries trained
//!   on rows of every kind with varied values (`body_codec/training.rs` says how). Besides the
//!   content rows repeat, they hold entropy tables, so a small body does not build its own
//!   (measured on one row of each kind, `bench/REPORT.md`, issue 16 tenth stop): a create's
//!   row of two events (537 bytes of JSON) stores in 110 bytes (v1: 131) in 1.3 µs (v1: 2.1),
//!   a completion event (223) in 74 (v1: 90) in 1.0 µs (v1: 1.8), and a finished simple intent
//!   (555) in 182 (v1: 185) in 1.8 µs (v1: 2.1).
//! - [`Dictionary::EventsV1`], byte `0x01`, `event_dict_v1.txt`, and
//!   [`Dictionary::IntentsV1`], byte `0x02`, `intent_dict_v1.txt`: raw-content dictionaries
//!   (stored rows end to end, with typical values), written until the v2 ones came.
//!
//! Bodies written before compression are the JSON text itself, which starts with `{` or `[`,
//! never with a dictionary's byte: [`decode`] reads them too, so old rows need no rewrite.
//!
//! A dictionary must never change: the rows compressed with it need it to be read. A new one
//! goes beside it, under a new leading byte, with a schema step so that an older axp, which
//! could not read its rows, refuses the database (SQLite `0026`, PostgreSQL `20261213000000`
//! for v2).

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::OnceLock;
use std::thread::LocalKey;

use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::{Error, Result};

#[cfg(test)]
mod training;

/// The largest text a body may decompress to, bytes: past it the row is called corrupt rather
/// than allocated.
const MAX_TEXT: u64 = 256 << 20;

/// A compression dictionary (module doc). Never edit one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dictionary {
    /// `intent_events` bodies, raw content; read only.
    EventsV1,
    /// `intents` bodies, raw content; read only.
    IntentsV1,
    /// `intent_events` bodies, trained.
    EventsV2,
    /// `intents` bodies, trained.
    IntentsV2,
}

/// Every dictionary, indexed by [`Dictionary::index`].
const ALL: [Dictionary; 4] =
    [Dictionary::EventsV1, Dictionary::IntentsV1, Dictionary::EventsV2, Dictionary::IntentsV2];

impl Dictionary {
    /// The dictionary new `intent_events` bodies are written with.
    pub(crate) const EVENTS: Self = Self::EventsV2;
    /// The dictionary new `intents` bodies are written with.
    pub(crate) const INTENTS: Self = Self::IntentsV2;

    /// The leading byte of a body compressed with this dictionary.
    pub(crate) const fn byte(self) -> u8 {
        match self {
            Self::EventsV1 => 0x01,
            Self::IntentsV1 => 0x02,
            Self::EventsV2 => 0x03,
            Self::IntentsV2 => 0x04,
        }
    }

    const fn index(self) -> usize {
        self.byte() as usize - 1
    }

    fn of_byte(byte: u8) -> Option<Self> {
        ALL.into_iter().find(|d| d.byte() == byte)
    }

    /// The zstd level bodies are compressed at (decompression takes any).
    /// - v2: 1, zstd's fastest positive level. With the trained tables, -1 saved under 0.3 µs
    ///   per body and left them larger (an intent 228 bytes instead of 182).
    /// - v1 (tests only, to write old rows): events 1; intents -1, which left literals
    ///   uncompressed because building their Huffman table took half of each compression.
    const fn level(self) -> i32 {
        match self {
            Self::IntentsV1 => -1,
            Self::EventsV1 | Self::EventsV2 | Self::IntentsV2 => 1,
        }
    }

    fn bytes(self) -> &'static [u8] {
        match self {
            Self::EventsV1 => include_bytes!("event_dict_v1.txt"),
            Self::IntentsV1 => include_bytes!("intent_dict_v1.txt"),
            Self::EventsV2 => include_bytes!("event_dict_v2.zdict"),
            Self::IntentsV2 => include_bytes!("intent_dict_v2.zdict"),
        }
    }
}

// Each dictionary prepared on first use: a server that only writes v2 never prepares v1's
// encoders, and one whose rows are all v2 never its decoders.
static ENCODERS: [OnceLock<EncoderDictionary<'static>>; 4] = [const { OnceLock::new() }; 4];
static DECODERS: [OnceLock<DecoderDictionary<'static>>; 4] = [const { OnceLock::new() }; 4];

/// A lazily made zstd context per dictionary.
type Contexts<T> = RefCell<[Option<T>; 4]>;

thread_local! {
    // One zstd context per thread, direction and dictionary, made on first use (a context is
    // not `Sync`; making one per body would cost more than the compression).
    static COMPRESSORS: Contexts<Compressor<'static>> = const { RefCell::new([None, None, None, None]) };
    static DECOMPRESSORS: Contexts<Decompressor<'static>> = const { RefCell::new([None, None, None, None]) };
}

fn internal(what: &str, e: std::io::Error) -> Error {
    Error::Internal(format!("{what}: {e}"))
}

/// Runs `f` with this thread's context of `contexts` for `dictionary`, made with `make` on
/// first use.
fn with_context<C: 'static, R>(
    contexts: &'static LocalKey<Contexts<C>>,
    dictionary: Dictionary,
    make: impl FnOnce(Dictionary) -> std::io::Result<C>,
    f: impl FnOnce(&mut C) -> Result<R>,
) -> Result<R> {
    contexts.with_borrow_mut(|slots| {
        let context = match &mut slots[dictionary.index()] {
            Some(c) => c,
            slot @ None => slot.insert(make(dictionary).map_err(|e| internal("zstd context", e))?),
        };
        f(context)
    })
}

/// `json` as a stored body compressed with `dictionary`.
///
/// Errors: [`Error::Internal`] if zstd fails (it does not on valid input short of running out
/// of memory).
pub(crate) fn encode(dictionary: Dictionary, json: &str) -> Result<Vec<u8>> {
    let make = |d: Dictionary| {
        let prepared = ENCODERS[d.index()].get_or_init(|| EncoderDictionary::copy(d.bytes(), d.level()));
        Compressor::with_prepared_dictionary(prepared)
    };
    with_context(&COMPRESSORS, dictionary, make, |compressor| {
        let frame = compressor.compress(json.as_bytes()).map_err(|e| internal("zstd compress", e))?;
        let mut body = Vec::with_capacity(1 + frame.len());
        body.push(dictionary.byte());
        body.extend_from_slice(&frame);
        Ok(body)
    })
}

/// The JSON text of a stored body: decompressed when it starts with a dictionary's byte, as it
/// is when it was written before compression (module doc).
///
/// Errors: [`Error::Internal`] naming a corrupt row: a frame that does not decompress with its
/// dictionary, gives no length or one past 256 MiB.
pub(crate) fn decode(body: &[u8]) -> Result<Cow<'_, [u8]>> {
    let Some((dictionary, frame)) =
        body.split_first().and_then(|(b, frame)| Some((Dictionary::of_byte(*b)?, frame)))
    else {
        return Ok(Cow::Borrowed(body));
    };
    let len = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(len)) if len <= MAX_TEXT => len as usize,
        _ => {
            return Err(Error::Internal(
                "corrupt row: a stored body's zstd frame gives no usable length".into(),
            ));
        }
    };
    let make = |d: Dictionary| {
        Decompressor::with_prepared_dictionary(
            DECODERS[d.index()].get_or_init(|| DecoderDictionary::copy(d.bytes())),
        )
    };
    with_context(&DECOMPRESSORS, dictionary, make, |decompressor| {
        let text = decompressor.decompress(frame, len).map_err(|e| internal("corrupt row: zstd", e))?;
        Ok(Cow::Owned(text))
    })
}

/// The value a stored body holds ([`decode`], then JSON).
///
/// Errors: [`Error::Internal`] naming a corrupt row.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T> {
    serde_json::from_slice(&decode(body)?).map_err(|e| Error::Internal(format!("corrupt row: {e}")))
}

/// `intent` as its stored `intents.body`: its JSON compressed with [`Dictionary::INTENTS`] (a
/// BLOB in SQLite, `bytea` in PostgreSQL).
///
/// Errors: [`Error::Internal`] if it cannot be serialized.
pub fn pack_intent(intent: &axp_core::Intent) -> Result<Vec<u8>> {
    encode(Dictionary::INTENTS, &crate::to_json(intent)?)
}

/// A stored `intents.body` read back: compressed ([`pack_intent`]) or, written before, JSON
/// text.
///
/// Errors: [`Error::Internal`] naming a corrupt row.
pub fn unpack_intent(body: &[u8]) -> Result<axp_core::Intent> {
    decode_json(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = r#"[{"actor":"agent://acme/prod/billing-ui","at":"2026-12-06T20:45:32.858Z","details":{"intent_type":"invoice.send.v1"},"event_type":"intent.created","handler":"agent://acme/prod/mailer","pending_with":{"name":"mailer","ref":"agent://acme/prod/mailer","type":"agent"},"seq":1,"status":"CREATED"},{"actor":"gateway","at":"2026-12-06T20:45:32.858Z","details":{},"event_type":"intent.submitted","handler":"agent://acme/prod/mailer","pending_with":{"name":"mailer","ref":"agent://acme/prod/mailer","type":"agent"},"seq":2,"status":"SUBMITTED"}]"#;

    #[test]
    fn a_body_round_trips_and_a_create_row_takes_a_quarter_of_its_json() {
        let body = encode(Dictionary::EVENTS, CREATE).unwrap();
        assert_eq!(body[0], 0x03);
        assert!(body.len() * 4 < CREATE.len(), "{} bytes for {} of JSON", body.len(), CREATE.len());
        assert_eq!(&*decode(&body).unwrap(), CREATE.as_bytes());
    }

    #[test]
    fn rows_written_with_the_v1_dictionaries_read_back() {
        let intent: axp_core::Intent = serde_json::from_str(INTENT).unwrap();
        let old_intent = encode(Dictionary::IntentsV1, &crate::to_json(&intent).unwrap()).unwrap();
        let old_events = encode(Dictionary::EventsV1, CREATE).unwrap();
        assert_eq!((old_intent[0], old_events[0]), (0x02, 0x01));
        assert_eq!(unpack_intent(&old_intent).unwrap(), intent);
        assert_eq!(&*decode(&old_events).unwrap(), CREATE.as_bytes());
        // And v2 writes events smaller.
        assert!(encode(Dictionary::EVENTS, CREATE).unwrap().len() < old_events.len());
    }

    /// A finished simple intent as the disk scenario stores it.
    const INTENT: &str = r#"{"intent_id":"01a24da1-57c9-70f6-b391-20c1d2340d25","intent_type":"bench.report.generate.v1","correlation_id":"95cd0fa2-65fb-4b3f-9604-95be56676ec8","from_agent":"agent://default/default/admin","to_agent":"agent://default/default/bench-worker","payload":{"pages":12,"quarter":"Q1","region":"emea"},"status":"COMPLETED","waiting_reason":null,"created_at":"2026-12-06T23:12:29.129Z","updated_at":"2026-12-06T23:12:29.347Z","remind_count":0,"delivery_attempt":0,"policy_generation":0,"controls":{},"grants":{},"envelope":{},"result":{"ok":true},"last_seq":3}"#;

    #[test]
    fn an_intent_round_trips_in_a_third_of_its_json() {
        let intent: axp_core::Intent = serde_json::from_str(INTENT).unwrap();
        let body = pack_intent(&intent).unwrap();
        assert_eq!(body[0], 0x04);
        assert!(body.len() * 3 < INTENT.len(), "{} bytes for {} of JSON", body.len(), INTENT.len());
        assert_eq!(unpack_intent(&body).unwrap(), intent);
        // Written before: the JSON text.
        assert_eq!(unpack_intent(INTENT.as_bytes()).unwrap(), intent);
    }

    #[test]
    fn json_written_before_reads_back_as_it_is() {
        for old in [CREATE, r#"{"seq":3}"#] {
            assert!(matches!(decode(old.as_bytes()).unwrap(), Cow::Borrowed(b) if b == old.as_bytes()));
        }
    }

    #[test]
    fn large_and_empty_texts_round_trip() {
        let large = format!(r#"{{"details":{{"result":"{}"}}}}"#, "x".repeat(1 << 20));
        for text in ["", large.as_str()] {
            assert_eq!(&*decode(&encode(Dictionary::EVENTS, text).unwrap()).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn a_damaged_frame_is_a_corrupt_row_not_a_panic() {
        let body = encode(Dictionary::EVENTS, CREATE).unwrap();
        for cut in [1, 4, body.len() / 2, body.len() - 1] {
            let err = decode(&body[..cut]).unwrap_err();
            assert!(err.to_string().contains("corrupt row"), "{err}");
        }
        let mut flipped = body;
        let mid = flipped.len() / 2;
        flipped[mid] ^= 0xff;
        // A damaged byte either fails to decompress or gives other bytes; never a panic.
        if let Ok(text) = decode(&flipped) {
            assert_ne!(&*text, CREATE.as_bytes());
        }
    }

    #[test]
    fn the_dictionaries_are_the_ones_rows_were_written_with() {
        // Rows compressed with it need exactly these bytes to be read (module doc).
        use sha2::Digest;
        let digest = |d: Dictionary| hex::encode(sha2::Sha256::digest(d.bytes()));
        let digests = ALL.map(digest);
        assert_eq!(
            digests,
            [
                "25e53cfa6da27cc9eefcf3460f30533a3b1c86bd4d8d2596a6e0ae4a39565f1b",
                "a438733a8a14de6cfd2ce66a97e72ac93729f91407c95c2038964101b758eef6",
                "1b7034c6634390d58dd9b44c8301a9485c3444d1e18e4b5a2a5deab8ea64aa16",
                "22e446c421476c06df3894fce781f29af6cd9b12ed36d992b9f5f33e264147b6",
            ]
        );
    }
}
