//! How an `intent_events` body is stored: compressed with zstd and a dictionary of what stored
//! events share, for both backends (issue 16, "disk per intent").
//!
//! A body is the JSON text [`crate::pack_events`] makes, compressed: the byte [`ZSTD_V1`], then
//! one zstd frame (its header gives the text's length) made with the dictionary
//! `event_dict_v1.txt`. That dictionary holds the field names, event types, statuses and value
//! shapes every stored event repeats, so a create's row of two events (about 600 bytes of JSON)
//! stores in about 150 bytes, and a single event (about 220) in about 95.
//!
//! Bodies written before are the JSON text itself, which starts with `{` or `[`, never with
//! [`ZSTD_V1`]: [`decode`] reads both, so old rows need no migration.
//!
//! The dictionary must never change: the rows compressed with it need it to be read. A new one
//! goes beside it, under a new leading byte.

use std::borrow::Cow;
use std::cell::RefCell;
use std::sync::LazyLock;

use zstd::bulk::{Compressor, Decompressor};
use zstd::dict::{DecoderDictionary, EncoderDictionary};

use crate::{Error, Result};

/// The leading byte of a body compressed with zstd and `event_dict_v1.txt`.
pub(crate) const ZSTD_V1: u8 = 0x01;

/// The dictionary of [`ZSTD_V1`] bodies: a raw-content zstd dictionary (stored events end to
/// end, with typical values). Never edit it (module doc).
static DICTIONARY_V1: &[u8] = include_bytes!("event_dict_v1.txt");

/// zstd's fastest level. On the disk scenario's rows, level 3 gives the same sizes (a create's
/// row: 150 bytes at both) and level 19 a fifth less (122) for many times the CPU, both with
/// larger dictionary tables.
const LEVEL: i32 = 1;

/// The largest text a body may decompress to, bytes: past it the row is called corrupt rather
/// than allocated.
const MAX_TEXT: u64 = 256 << 20;

static ENCODER: LazyLock<EncoderDictionary<'static>> =
    LazyLock::new(|| EncoderDictionary::copy(DICTIONARY_V1, LEVEL));
static DECODER: LazyLock<DecoderDictionary<'static>> =
    LazyLock::new(|| DecoderDictionary::copy(DICTIONARY_V1));

thread_local! {
    // One zstd context per thread and direction, made on first use (a context is not `Sync`;
    // making one per body would cost more than the compression).
    static COMPRESSOR: RefCell<Option<Compressor<'static>>> = const { RefCell::new(None) };
    static DECOMPRESSOR: RefCell<Option<Decompressor<'static>>> = const { RefCell::new(None) };
}

fn internal(what: &str, e: std::io::Error) -> Error {
    Error::Internal(format!("{what}: {e}"))
}

/// `json` as a stored body ([`ZSTD_V1`]).
///
/// Errors: [`Error::Internal`] if zstd fails (it does not on valid input short of running out
/// of memory).
pub(crate) fn encode(json: &str) -> Result<Vec<u8>> {
    COMPRESSOR.with_borrow_mut(|slot| {
        let compressor = match slot {
            Some(c) => c,
            None => slot.insert(
                Compressor::with_prepared_dictionary(&ENCODER).map_err(|e| internal("zstd compressor", e))?,
            ),
        };
        let frame = compressor.compress(json.as_bytes()).map_err(|e| internal("zstd compress", e))?;
        let mut body = Vec::with_capacity(1 + frame.len());
        body.push(ZSTD_V1);
        body.extend_from_slice(&frame);
        Ok(body)
    })
}

/// The JSON text of a stored body: decompressed when it starts with [`ZSTD_V1`], as it is when
/// it was written before compression (module doc).
///
/// Errors: [`Error::Internal`] naming a corrupt row: a frame that does not decompress with the
/// dictionary, gives no length or one past 256 MiB.
pub(crate) fn decode(body: &[u8]) -> Result<Cow<'_, [u8]>> {
    let Some((&ZSTD_V1, frame)) = body.split_first() else {
        return Ok(Cow::Borrowed(body));
    };
    let len = match zstd::zstd_safe::get_frame_content_size(frame) {
        Ok(Some(len)) if len <= MAX_TEXT => len as usize,
        _ => {
            return Err(Error::Internal(
                "corrupt row: an event body's zstd frame gives no usable length".into(),
            ));
        }
    };
    DECOMPRESSOR.with_borrow_mut(|slot| {
        let decompressor = match slot {
            Some(d) => d,
            None => slot.insert(
                Decompressor::with_prepared_dictionary(&DECODER)
                    .map_err(|e| internal("zstd decompressor", e))?,
            ),
        };
        let text = decompressor.decompress(frame, len).map_err(|e| internal("corrupt row: zstd", e))?;
        Ok(Cow::Owned(text))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CREATE: &str = r#"[{"actor":"agent://acme/prod/billing-ui","at":"2026-12-06T20:45:32.858Z","details":{"intent_type":"invoice.send.v1"},"event_type":"intent.created","handler":"agent://acme/prod/mailer","pending_with":{"name":"mailer","ref":"agent://acme/prod/mailer","type":"agent"},"seq":1,"status":"CREATED"},{"actor":"gateway","at":"2026-12-06T20:45:32.858Z","details":{},"event_type":"intent.submitted","handler":"agent://acme/prod/mailer","pending_with":{"name":"mailer","ref":"agent://acme/prod/mailer","type":"agent"},"seq":2,"status":"SUBMITTED"}]"#;

    #[test]
    fn a_body_round_trips_and_a_create_row_takes_a_third_of_its_json() {
        let body = encode(CREATE).unwrap();
        assert_eq!(body[0], ZSTD_V1);
        assert!(body.len() * 3 < CREATE.len(), "{} bytes for {} of JSON", body.len(), CREATE.len());
        assert_eq!(&*decode(&body).unwrap(), CREATE.as_bytes());
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
            assert_eq!(&*decode(&encode(text).unwrap()).unwrap(), text.as_bytes());
        }
    }

    #[test]
    fn a_damaged_frame_is_a_corrupt_row_not_a_panic() {
        let body = encode(CREATE).unwrap();
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
    fn the_dictionary_is_the_one_rows_were_written_with() {
        // Rows compressed with it need exactly these bytes to be read (module doc).
        use sha2::Digest;
        let digest = hex::encode(sha2::Sha256::digest(DICTIONARY_V1));
        assert_eq!(digest, "25e53cfa6da27cc9eefcf3460f30533a3b1c86bd4d8d2596a6e0ae4a39565f1b");
    }
}
