//! 清单式检查 — checklist-driven inspections: the register and templates the provincial system
//! publishes, the task list, and one [`InspectionSession`] per visit.

mod inputs;
mod records;
mod session;

use std::sync::Arc;

use chrono::{DateTime, FixedOffset};
use fieldseal_core::{checklist, model, store::inspections as stored};

pub use inputs::{
    AbortReason, AnswerInput, CheckResult, EvidenceKind, FindingCategory, GeoPoint, Handling, HeaderField,
    Location, NewFinding, NewTask, ProblemAction, TaskSource,
};
pub use records::{
    Blocker, ChecklistView, ChoiceOption, EvidenceNeed, FindingView, InspectionState, ItemState, ItemView,
    Method, ProblemState, Progress, RecordHeader, RegisterInspector, RegisterSummary, SectionView, TaskRow,
    TemplateSummary, TrailEvent,
};
pub use session::InspectionSession;

use crate::{Fieldseal, FieldsealError, guard::guard};

/// The device clock, with its UTC offset: the record shows local time, and the local date is the one
/// certificates and deadlines are checked against. The one place the FFI reads the time.
pub(crate) fn device_now() -> DateTime<FixedOffset> {
    chrono::Local::now().fixed_offset()
}

#[uniffi::export]
impl Fieldseal {
    /// Stores a register snapshot (JSON, as the provincial system publishes it) after validating it;
    /// every problem is reported. The same version again is a no-op; other content under it is refused.
    pub fn import_register(&self, json: String) -> Result<RegisterSummary, FieldsealError> {
        guard(|| {
            let snapshot = model::RegisterSnapshot::from_json(&json).map_err(fieldseal_core::Error::from)?;
            self.store.write(|tx, keys| stored::save_register(tx, keys, &snapshot))?;
            Ok(RegisterSummary::from(&snapshot))
        })
    }

    /// Stores a checklist template (JSON) after validating it; an error names the item and the rule.
    pub fn import_template(&self, json: String) -> Result<TemplateSummary, FieldsealError> {
        guard(|| {
            let template = checklist::parse_template(&json).map_err(fieldseal_core::Error::from)?;
            self.store.write(|tx, _| stored::save_template(tx, &template))?;
            Ok(TemplateSummary::from(&template))
        })
    }

    /// The inspectors of the newest register on the device, with whether each certificate can be used
    /// today. Empty before a register is imported.
    pub fn register_inspectors(&self) -> Result<Vec<RegisterInspector>, FieldsealError> {
        guard(|| {
            let register = self.store.read(stored::latest_register)?;
            let today = device_now().date_naive();
            Ok(register
                .map(|r| r.register().inspectors.iter().map(|i| RegisterInspector::on(i, today)).collect())
                .unwrap_or_default())
        })
    }

    /// The task list, soonest first.
    pub fn task_list(&self) -> Result<Vec<TaskRow>, FieldsealError> {
        guard(|| Ok(self.store.read(stored::task_rows)?.into_iter().map(Into::into).collect()))
    }

    /// Creates a draft inspection for a task, with a fresh id.
    pub fn create_inspection(&self, task: NewTask) -> Result<Arc<InspectionSession>, FieldsealError> {
        guard(|| {
            let task = model::Task::try_from(task)?;
            let id = fieldseal_core::id::new_id()?;
            self.store.write(|tx, keys| stored::create_inspection(tx, keys, &id, task, device_now()))?;
            Ok(Arc::new(InspectionSession { store: self.store.clone(), id }))
        })
    }

    /// Opens a stored inspection; `NotFound` when there is none with this id.
    pub fn inspection(&self, id: String) -> Result<Arc<InspectionSession>, FieldsealError> {
        guard(|| {
            self.store.read(|conn, keys| stored::load_inspection(conn, keys, &id))?;
            Ok(Arc::new(InspectionSession { store: self.store.clone(), id }))
        })
    }
}
