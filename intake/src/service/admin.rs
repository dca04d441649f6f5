//! 管理 — what operators do: import the register, templates and tasks (the same JSON the examples
//! use), issue enrolment codes, revoke devices. Shared by the `admin` command and the admin API.

use fieldseal_core::{
    checklist::check_template_json,
    model::{RegisterSnapshot, Task},
    protocol::{canonicalize, parse_strict, pull::PullKind},
};
use serde::{Deserialize, Serialize};

use super::Intake;
use crate::{
    error::{IntakeError, Result},
    ids,
    store::CatalogEntry,
};

/// What an import published.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportSummary {
    pub kind: PullKind,
    pub ids: Vec<String>,
}

/// A task and the inspectors it is assigned to (only their devices pull it).
#[derive(Debug, Clone, Deserialize)]
struct AssignedTask {
    #[serde(flatten)]
    task: Task,
    inspectors: Vec<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum TaskFile {
    Wrapped { tasks: Vec<AssignedTask> },
    Bare(Vec<AssignedTask>),
}

fn invalid(detail: impl Into<String>) -> IntakeError {
    IntakeError::unprocessable("catalog.invalid", detail)
}

impl Intake {
    /// 名录 — the register: inspectors, enterprises, permits; validated as the terminal validates it.
    pub async fn import_register(&self, json: &str) -> Result<ImportSummary> {
        let snapshot = RegisterSnapshot::from_json(json).map_err(|e| invalid(e.to_string()))?;
        let body = serde_json::to_value(snapshot.register()).map_err(IntakeError::internal)?;
        self.meta
            .publish(&CatalogEntry {
                kind: PullKind::Register,
                id: "register".into(),
                version: snapshot.version().to_owned(),
                audience: String::new(),
                body,
            })
            .await?;
        Ok(ImportSummary { kind: PullKind::Register, ids: vec!["register".into()] })
    }

    /// 检查清单 — one template, or an array of them; every problem of every template is reported.
    pub async fn import_templates(&self, json: &str) -> Result<ImportSummary> {
        let value = parse_strict(json).map_err(|e| invalid(e.to_string()))?;
        let texts: Vec<String> = match value {
            serde_json::Value::Array(items) => items.iter().map(|t| t.to_string()).collect(),
            single => vec![single.to_string()],
        };
        let mut templates = Vec::new();
        for text in &texts {
            let (template, problems) = check_template_json(text);
            match template {
                Some(t) if problems.is_empty() => templates.push(t),
                _ => {
                    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
                    return Err(invalid(format!("template problems: {}", listed.join("; "))));
                }
            }
        }
        let mut ids = Vec::new();
        for template in templates {
            let body = serde_json::to_value(&template).map_err(IntakeError::internal)?;
            self.meta
                .publish(&CatalogEntry {
                    kind: PullKind::Template,
                    id: template.id.clone(),
                    version: template.version.clone(),
                    audience: String::new(),
                    body,
                })
                .await?;
            ids.push(template.id);
        }
        Ok(ImportSummary { kind: PullKind::Template, ids })
    }

    /// 检查任务 — `{"tasks": [...]}` or `[...]`, each a task with `inspectors` (register ids).
    pub async fn import_tasks(&self, json: &str) -> Result<ImportSummary> {
        let file: TaskFile = serde_json::from_str(json).map_err(|e| invalid(e.to_string()))?;
        let tasks = match file {
            TaskFile::Wrapped { tasks } | TaskFile::Bare(tasks) => tasks,
        };
        let mut ids = Vec::new();
        for assigned in tasks {
            if assigned.inspectors.is_empty() {
                return Err(invalid(format!("task {} is assigned to no inspector", assigned.task.id)));
            }
            let body = serde_json::to_value(&assigned.task).map_err(IntakeError::internal)?;
            let canonical = canonicalize(&body).map_err(|e| invalid(e.to_string()))?;
            let version = ids::sha256_hex(canonical.as_bytes())[..12].to_owned();
            for inspector in &assigned.inspectors {
                self.meta
                    .publish(&CatalogEntry {
                        kind: PullKind::Task,
                        id: assigned.task.id.clone(),
                        version: version.clone(),
                        audience: inspector.clone(),
                        body: body.clone(),
                    })
                    .await?;
            }
            ids.push(assigned.task.id);
        }
        Ok(ImportSummary { kind: PullKind::Task, ids })
    }

    /// Revokes a device: its tokens stop working at once and the revocation enters the pull feed.
    pub async fn revoke(&self, device_id: &str) -> Result<()> {
        if !ids::is_hex_id(device_id) || !self.meta.revoke_device(device_id, self.clock.now()).await? {
            return Err(IntakeError::not_found("not_found", "no such device"));
        }
        tracing::info!(device_id, "device revoked");
        Ok(())
    }
}
