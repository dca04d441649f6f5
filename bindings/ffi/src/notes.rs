//! 现场备注 — encrypted field notes.

use fieldseal_core::store::notes;

use crate::{Fieldseal, FieldsealError, guard::guard};

#[derive(Debug, Clone, uniffi::Record)]
pub struct Note {
    pub id: String,
    pub inspection_id: Option<String>,
    pub created_at: String,
    pub title: String,
    pub body: String,
}

impl From<notes::Note> for Note {
    fn from(n: notes::Note) -> Self {
        Note {
            id: n.id,
            inspection_id: n.inspection_id,
            created_at: n.created_at,
            title: n.title,
            body: n.body,
        }
    }
}

#[uniffi::export]
impl Fieldseal {
    pub fn add_note(
        &self,
        inspection_id: Option<String>,
        title: String,
        body: String,
    ) -> Result<Note, FieldsealError> {
        guard(|| {
            Ok(self
                .store
                .write(|tx, keys| notes::add(tx, keys, inspection_id.as_deref(), &title, &body))?
                .into())
        })
    }

    pub fn note(&self, id: String) -> Result<Note, FieldsealError> {
        guard(|| Ok(self.store.read(|conn, keys| notes::get(conn, keys, &id))?.into()))
    }

    /// Notes newest first.
    pub fn notes(&self) -> Result<Vec<Note>, FieldsealError> {
        guard(|| Ok(self.store.read(notes::list)?.into_iter().map(Note::from).collect()))
    }
}
