//! 清单式检查 — expanding a template over an enterprise's permit, and freezing the result.
//!
//! An item with `expand_over: outlet` becomes one item per outlet of the enterprise's permits, with
//! id `<item>#<permit-item-id>` and `{permit_item}` / `{permit_item.<attribute>}` filled in. A condition
//! between two items expanding over the same kind binds to the same permit item. The result carries
//! the template id, version and hash and the register version and hash it was made from, so the
//! record can name them (requirement 11); it is never re-expanded once an inspection holds it.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::{PermitItem, PermitItemKind, RegisterSnapshot, register::content_hash};
use crate::checklist::{
    AnswerType, ChecklistError, Condition, EvidenceRule, FindingTemplate, Item, Method, Template, validate,
};

/// The permit item an expanded item is about.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermitItemRef {
    pub permit_id: String,
    pub id: String,
    pub kind: PermitItemKind,
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpandedItem {
    /// `<template item id>` or `<template item id>#<permit item id>`.
    pub id: String,
    pub template_item_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permit_item: Option<PermitItemRef>,
    pub check_point: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub check_point_en: Option<String>,
    pub pass_criterion: String,
    pub method: Method,
    pub legal_basis: Vec<String>,
    pub required: bool,
    pub answer: AnswerType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub show_if: Option<Condition>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub evidence: Vec<EvidenceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<FindingTemplate>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpandedSection {
    pub id: String,
    pub title: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_en: Option<String>,
    pub items: Vec<ExpandedItem>,
}

/// The checklist one inspection works through, frozen with the versions it was built from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExpandedChecklist {
    pub template_id: String,
    pub template_version: String,
    /// SHA-256 of the template's canonical JSON.
    pub template_hash: String,
    pub register_version: String,
    pub register_hash: String,
    pub enterprise_id: String,
    pub permit_ids: Vec<String>,
    pub title: String,
    pub sections: Vec<ExpandedSection>,
}

impl ExpandedChecklist {
    pub fn items(&self) -> impl Iterator<Item = &ExpandedItem> {
        self.sections.iter().flat_map(|s| s.items.iter())
    }

    pub fn item(&self, id: &str) -> Option<&ExpandedItem> {
        self.items().find(|i| i.id == id)
    }
}

/// Expands `template` for `enterprise_id` using its permits in `register`.
pub fn expand(
    template: &Template,
    register: &RegisterSnapshot,
    enterprise_id: &str,
) -> Result<ExpandedChecklist, ChecklistError> {
    let problems = validate(template);
    if !problems.is_empty() {
        return Err(ChecklistError::Template {
            template: format!("{}@{}", template.id, template.version),
            problems,
        });
    }
    if register.enterprise(enterprise_id).is_none() {
        return Err(ChecklistError::Expansion {
            rule: "expand.enterprise.missing",
            detail: format!("enterprise {enterprise_id} is not in register {}", register.version()),
        });
    }
    let permits: Vec<_> = register.permits_of(enterprise_id).collect();
    let mut ids = HashSet::new();
    let mut sections = Vec::new();
    for s in &template.sections {
        let mut items = Vec::new();
        for item in &s.items {
            match item.expand_over {
                None => items.push(plain(item)),
                Some(kind) => {
                    for p in &permits {
                        for pi in p.items.iter().filter(|pi| pi.kind == kind) {
                            items.push(per_permit_item(item, template, &p.id, pi));
                        }
                    }
                }
            }
        }
        for i in &items {
            if !ids.insert(i.id.clone()) {
                return Err(ChecklistError::Expansion {
                    rule: "expand.item_id.duplicate",
                    detail: format!("two permits of the enterprise give the expanded id {}", i.id),
                });
            }
        }
        sections.push(ExpandedSection {
            id: s.id.clone(),
            title: s.title.clone(),
            title_en: s.title_en.clone(),
            items,
        });
    }
    let template_hash = content_hash(template)
        .map_err(|e| ChecklistError::Expansion { rule: "expand.template.hash", detail: e.to_string() })?;
    Ok(ExpandedChecklist {
        template_id: template.id.clone(),
        template_version: template.version.clone(),
        template_hash,
        register_version: register.version().to_owned(),
        register_hash: register.content_hash().to_owned(),
        enterprise_id: enterprise_id.to_owned(),
        permit_ids: permits.iter().map(|p| p.id.clone()).collect(),
        title: template.title.clone(),
        sections,
    })
}

fn plain(item: &Item) -> ExpandedItem {
    ExpandedItem {
        id: item.id.clone(),
        template_item_id: item.id.clone(),
        permit_item: None,
        check_point: item.check_point.clone(),
        check_point_en: item.check_point_en.clone(),
        pass_criterion: item.pass_criterion.clone(),
        method: item.method,
        legal_basis: item.legal_basis.clone(),
        required: item.required,
        answer: item.answer.clone(),
        show_if: item.show_if.clone(),
        evidence: item.evidence.clone(),
        finding: item.finding.clone(),
    }
}

fn per_permit_item(item: &Item, template: &Template, permit_id: &str, pi: &PermitItem) -> ExpandedItem {
    let fill = |text: &str| fill_placeholders(text, pi);
    let mut e = plain(item);
    e.id = format!("{}#{}", item.id, pi.id);
    e.permit_item = Some(PermitItemRef {
        permit_id: permit_id.to_owned(),
        id: pi.id.clone(),
        kind: pi.kind,
        name: pi.name.clone(),
    });
    e.check_point = fill(&item.check_point);
    e.check_point_en = item.check_point_en.as_deref().map(fill);
    e.pass_criterion = fill(&item.pass_criterion);
    if let Some(cond) = &mut e.show_if {
        // Validation guarantees an expanding target expands over the same kind as this item.
        if template.item(&cond.item).is_some_and(|t| t.expand_over.is_some()) {
            cond.item = format!("{}#{}", cond.item, pi.id);
        }
    }
    e
}

fn fill_placeholders(text: &str, pi: &PermitItem) -> String {
    let mut out = text.replace("{permit_item}", &pi.name);
    for (k, v) in &pi.attributes {
        out = out.replace(&format!("{{permit_item.{k}}}"), v);
    }
    out
}
