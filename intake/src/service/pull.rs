//! 下行同步 — the change feed a device pulls by cursor.

use fieldseal_core::protocol::pull::{PullCursor, PullPage};

use super::Intake;
use crate::{
    error::{IntakeError, Result},
    store::Device,
};

/// Items per page; a terminal keeps pulling while `more` is true.
pub const PAGE_SIZE: u32 = 200;

impl Intake {
    pub async fn pull(&self, device: &Device, cursor: Option<&str>) -> Result<PullPage> {
        let after = PullCursor::parse(cursor.unwrap_or("")).ok_or_else(|| {
            IntakeError::bad_request("request.malformed", "cursor is not one intake issued")
        })?;
        let mut rows = self.meta.pull(&device.inspector_id, after.0, PAGE_SIZE + 1).await?;
        let more = rows.len() > PAGE_SIZE as usize;
        rows.truncate(PAGE_SIZE as usize);
        let last = rows.last().map(|(seq, _)| PullCursor(*seq)).unwrap_or(after);
        Ok(PullPage {
            items: rows.into_iter().map(|(_, item)| item).collect(),
            cursor: last.encode(),
            more,
            server_time: self.clock.now(),
        })
    }
}
