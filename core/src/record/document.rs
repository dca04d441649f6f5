//! 文档哈希 — the content hashes of the pages and of the whole document.
//!
//! ```text
//! page_hash     = hex(SHA-256("fieldseal-page-v1\n"   ‖ JCS(page)))
//! document_hash = hex(SHA-256("fieldseal-record-v1\n" ‖ JCS({"content": content, "page_hashes": [...]})))
//! ```
//!
//! The document hash covers the content and, through the page hashes, every positioned line the
//! signer saw. Signatures bind to the document hash and to every page hash.

use ring::digest;
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::{
    RecordError,
    content::RecordContent,
    layout::{Page, layout},
};
use crate::{crypto::column::hex, protocol::canonicalize};

const PAGE_DOMAIN: &[u8] = b"fieldseal-page-v1\n";
const DOCUMENT_DOMAIN: &[u8] = b"fieldseal-record-v1\n";

/// A record document as exported (`record/<id>/document.json`): content and the pages laid out
/// from it. Hashes are never stored in it; they are recomputed by whoever reads it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct RecordDocument {
    pub content: RecordContent,
    pub pages: Vec<Page>,
}

fn domain_hash(domain: &[u8], value: &serde_json::Value) -> Result<String, RecordError> {
    let text = canonicalize(value).map_err(|e| RecordError::invalid("record", e.to_string()))?;
    let mut ctx = digest::Context::new(&digest::SHA256);
    ctx.update(domain);
    ctx.update(text.as_bytes());
    Ok(hex(ctx.finish().as_ref()))
}

fn to_value<T: Serialize>(value: &T) -> Result<serde_json::Value, RecordError> {
    serde_json::to_value(value).map_err(|e| RecordError::invalid("record", e.to_string()))
}

pub fn page_hash(page: &Page) -> Result<String, RecordError> {
    domain_hash(PAGE_DOMAIN, &to_value(page)?)
}

impl RecordDocument {
    /// Lays out `content` into its pages.
    pub fn from_content(content: RecordContent) -> Self {
        let pages = layout(&content);
        Self { content, pages }
    }

    pub fn page_hashes(&self) -> Result<Vec<String>, RecordError> {
        self.pages.iter().map(page_hash).collect()
    }

    pub fn document_hash(&self) -> Result<String, RecordError> {
        let page_hashes = self.page_hashes()?;
        domain_hash(
            DOCUMENT_DOMAIN,
            &json!({ "content": to_value(&self.content)?, "page_hashes": page_hashes }),
        )
    }

    /// Whether the pages are exactly the layout of the content (layout v1).
    pub fn pages_match_content(&self) -> bool {
        layout(&self.content) == self.pages
    }

    /// The document as canonical JSON: its exported form.
    pub fn to_canonical(&self) -> Result<String, RecordError> {
        canonicalize(&to_value(self)?).map_err(|e| RecordError::invalid("record", e.to_string()))
    }
}
