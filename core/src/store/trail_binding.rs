//! 链上绑定 — what inspection bodies and record documents share in binding a sealed row to its
//! inspection's trail (issue 10, finding 3): the head a sealed body names, the stream's current
//! head, and the verdict on a stored head against the head it must name. What differs stays with
//! each row's module ([`super::inspection_body`], [`super::record_body`]): the table, the
//! encryption context with its revision, the JSON member holding the row, and which head a row
//! must name.

use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize, de::DeserializeOwned};

use super::{Keyring, StoreError, trail};
use crate::{
    Result,
    trail::{GENESIS, TrailEntry},
};

/// The sealed body format both rows use: 2 added the revision context and the trail head.
pub(super) const FORMAT: u32 = 2;

/// The stream an inspection's events, and those of its evidence and records, go to.
pub(super) const STREAM_PREFIX: &str = "inspection:";

/// One event of a stream, by position and hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrailHead {
    pub seq: i64,
    pub hash: String,
}

/// Which head a stored body must name to be opened.
#[derive(Debug, Clone, Copy)]
pub enum Expected<'a> {
    /// A row that follows its trail (an inspection, a draft record) names the stream's current head.
    Current,
    /// A frozen record names the head its freeze statement signed (its `record.frozen` event).
    Frozen { seq: i64, hash: &'a str },
}

/// How a stored head stands against the head it must name.
pub(super) enum Standing {
    Current,
    /// The trail holds the very event the body names, and more after it: an older ciphertext.
    Older {
        stored_seq: i64,
        trail_seq: i64,
    },
    /// Ahead of its trail or not on it (the trail cut short, a body from another installation).
    Mismatch {
        stored_seq: i64,
        trail_seq: i64,
    },
}

pub(super) fn stream_of(inspection_id: &str) -> String {
    format!("{STREAM_PREFIX}{inspection_id}")
}

pub(super) fn current_head(conn: &Connection, inspection_id: &str) -> Result<Option<TrailHead>> {
    Ok(trail::head(conn, &stream_of(inspection_id))?.map(|(seq, hash)| TrailHead { seq, hash }))
}

/// Seals a body's JSON under `context`; `what` names the row in an error.
pub(super) fn seal_json<B: Serialize>(
    keys: &Keyring,
    context: &str,
    body: &B,
    what: &str,
) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(body).map_err(|e| corrupt(what, e.to_string()))?;
    Ok(keys.column.seal(context, &json)?)
}

/// Opens a body sealed by [`seal_json`]; `format` is the body's own `v`, refused unless
/// [`FORMAT`].
pub(super) fn open_json<B: DeserializeOwned>(
    keys: &Keyring,
    context: &str,
    sealed: &[u8],
    what: &str,
    format: impl FnOnce(&B) -> u32,
) -> Result<B> {
    let json = keys.column.open(context, sealed)?;
    let body: B = serde_json::from_slice(&json).map_err(|e| corrupt(what, e.to_string()))?;
    let v = format(&body);
    if v != FORMAT {
        return Err(corrupt(what, format!("sealed body format {v}")));
    }
    Ok(body)
}

pub(super) fn corrupt(what: &str, reason: impl Into<String>) -> crate::Error {
    StoreError::Corrupt { what: what.to_owned(), reason: reason.into() }.into()
}

/// The verdict on a body naming `stored`, which must name what `expected` asks for.
pub(super) fn standing(
    conn: &Connection,
    inspection_id: &str,
    stored: Option<&TrailHead>,
    expected: Expected<'_>,
) -> Result<Standing> {
    let (wanted, trail_seq) = match expected {
        Expected::Current => {
            let head = current_head(conn, inspection_id)?;
            // The current head is on the trail by definition: equal is enough.
            if stored == head.as_ref() {
                return Ok(Standing::Current);
            }
            let seq = head.as_ref().map_or(0, |h| h.seq);
            (head, seq)
        }
        Expected::Frozen { seq, hash } => (Some(TrailHead { seq, hash: hash.to_owned() }), seq),
    };
    let on_trail = match stored {
        None => true,
        Some(h) => event_hash(conn, inspection_id, h.seq)?.as_deref() == Some(h.hash.as_str()),
    };
    if stored == wanted.as_ref() && on_trail {
        return Ok(Standing::Current);
    }
    let stored_seq = stored.map_or(0, |h| h.seq);
    Ok(if on_trail && stored_seq < trail_seq {
        Standing::Older { stored_seq, trail_seq }
    } else {
        Standing::Mismatch { stored_seq, trail_seq }
    })
}

/// The head a body naming `stored` moves to when `appended` was just added to its stream, if the
/// body was current before that append. A body that was *not* (rolled back, damaged) gets `None`
/// and stays as it is, so it is still refused on load: following the trail never launders a
/// stale body.
pub(super) fn followed(stored: Option<&TrailHead>, appended: &TrailEntry) -> Option<TrailHead> {
    let head_before = stored.map_or(GENESIS, |h| h.hash.as_str());
    (head_before == appended.prev_hash).then(|| TrailHead { seq: appended.seq, hash: appended.hash.clone() })
}

fn event_hash(conn: &Connection, inspection_id: &str, seq: i64) -> Result<Option<String>> {
    Ok(conn
        .query_row(
            "SELECT hash FROM trail_events WHERE stream = ?1 AND seq = ?2",
            params![stream_of(inspection_id), seq],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::sql("read trail event"))?)
}
