//! 下行同步 — what a terminal pulls from intake, by cursor.
//!
//! Intake keeps one ordered change feed: tasks for an inspector, checklist templates, the register
//! and device revocations. Each change has a sequence number; the cursor is the last one the
//! terminal holds, so a pull returns exactly what changed since, and each item carries the version
//! of the object so the terminal knows what it holds.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// What a pulled item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PullKind {
    /// 检查任务, assigned to the device's inspector.
    Task,
    /// 检查清单 — a checklist template.
    Template,
    /// The register: inspectors, enterprises, permits.
    Register,
    /// A revoked device key: the terminal stops trusting statements from it.
    Revocation,
}

impl PullKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PullKind::Task => "task",
            PullKind::Template => "template",
            PullKind::Register => "register",
            PullKind::Revocation => "revocation",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        [PullKind::Task, PullKind::Template, PullKind::Register, PullKind::Revocation]
            .into_iter()
            .find(|k| k.as_str() == text)
    }
}

/// A position in intake's change feed. Opaque to the terminal; travels as `c<sequence>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct PullCursor(pub u64);

impl PullCursor {
    pub fn encode(self) -> String {
        format!("c{}", self.0)
    }

    /// Reads a cursor; an empty string is the start of the feed.
    pub fn parse(text: &str) -> Option<Self> {
        if text.is_empty() {
            return Some(PullCursor(0));
        }
        let digits = text.strip_prefix('c')?;
        if digits.is_empty() || digits.len() > 19 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        // Stores keep sequence numbers as signed 64-bit integers.
        digits.parse::<u64>().ok().filter(|n| *n <= i64::MAX as u64).map(PullCursor)
    }
}

/// One changed object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullItem {
    pub kind: PullKind,
    pub id: String,
    /// The object's own version (a template's, the register's) or intake's revision of it.
    pub version: String,
    /// The object as intake holds it: a `Task`, a `Template`, a `Register`, or a revocation.
    pub body: Value,
}

/// One page of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PullPage {
    pub items: Vec<PullItem>,
    /// Pass this back to continue after the last item.
    pub cursor: String,
    /// True when more changes wait beyond this page.
    pub more: bool,
    pub server_time: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursor_round_trips_and_refuses_anything_else() {
        assert_eq!(PullCursor::parse(""), Some(PullCursor(0)));
        assert_eq!(PullCursor::parse(&PullCursor(42).encode()), Some(PullCursor(42)));
        for bad in ["42", "c", "c-1", "c1x", "c99999999999999999999", "c9223372036854775808", "d1"] {
            assert_eq!(PullCursor::parse(bad), None, "{bad}");
        }
    }
}
