//! 名录 — the register the terminal holds offline: inspectors, enterprises, permits.
//!
//! A register arrives as one versioned snapshot. Its content hash (SHA-256 of its RFC 8785 canonical
//! JSON) travels with every checklist expanded from it, so a record names exactly which register it
//! was made with (requirement 11) and a reviewer can tell two snapshots with the same version apart.

use std::collections::{BTreeMap, HashSet};

use chrono::NaiveDate;
use ring::digest;
use serde::{Deserialize, Serialize};

use super::{DomainError, Site, Uscc};
use crate::crypto::column::hex;

/// 执法人员 — a certified inspector and their enforcement certificate (执法证).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inspector {
    pub id: String,
    pub name: String,
    /// 执法证号 — the enforcement certificate number.
    pub certificate_no: String,
    /// The authority that issued the certificate.
    pub issuer: String,
    /// 所属单位 — the inspector's enforcement unit.
    #[serde(default)]
    pub unit: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    /// False for uncertified assistants, who may accompany but never inspect or sign as inspectors.
    pub certified: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
}

/// Why a certificate cannot be used on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CertificateProblem {
    NotCertified,
    NotYetValid,
    Expired,
}

impl CertificateProblem {
    pub fn rule(self) -> &'static str {
        match self {
            CertificateProblem::NotCertified => "certificate.not_certified",
            CertificateProblem::NotYetValid => "certificate.not_yet_valid",
            CertificateProblem::Expired => "certificate.expired",
        }
    }
}

impl Inspector {
    /// What stops this inspector from inspecting on `date`, if anything. Validity is inclusive.
    pub fn certificate_problem(&self, date: NaiveDate) -> Option<CertificateProblem> {
        if !self.certified {
            Some(CertificateProblem::NotCertified)
        } else if date < self.valid_from {
            Some(CertificateProblem::NotYetValid)
        } else if date > self.valid_until {
            Some(CertificateProblem::Expired)
        } else {
            None
        }
    }
}

/// 被检查单位 — an enterprise that can be inspected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Enterprise {
    pub id: String,
    pub name: String,
    /// Kept as text so a register with one bad code still loads for the rest; [`Register::problems`]
    /// rejects it, and the record header re-checks it before signature (requirement 2).
    pub uscc: String,
    /// 法定代表人.
    pub legal_representative: String,
    /// 注册地址.
    pub registered_address: String,
    /// 生产经营场所地址.
    pub operating_address: String,
    #[serde(default)]
    pub industry: String,
    pub site: Site,
    /// 重点排污单位.
    #[serde(default)]
    pub key_polluter: bool,
    /// 正面清单: inspected less often, mostly off-site.
    #[serde(default)]
    pub positive_list: bool,
}

pub use crate::vocabulary::PermitItemKind;

/// 排污许可证 — a discharge permit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Permit {
    pub id: String,
    pub enterprise_id: String,
    /// 许可证编号.
    pub permit_no: String,
    pub issuer: String,
    pub valid_from: NaiveDate,
    pub valid_until: NaiveDate,
    pub items: Vec<PermitItem>,
}

/// 许可事项 — one item of a permit; `attributes` carry its figures (limits, frequencies, codes).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PermitItem {
    pub id: String,
    pub kind: PermitItemKind,
    pub name: String,
    #[serde(default)]
    pub attributes: BTreeMap<String, String>,
}

/// The register as published: a version string and its records.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Register {
    pub version: String,
    #[serde(default)]
    pub published_at: String,
    pub inspectors: Vec<Inspector>,
    pub enterprises: Vec<Enterprise>,
    pub permits: Vec<Permit>,
}

/// One broken rule in a register: which record, which rule, and a detail without personal data.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisterProblem {
    pub record: String,
    pub rule: String,
    pub detail: String,
}

impl std::fmt::Display for RegisterProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: [{}] {}", self.record, self.rule, self.detail)
    }
}

impl Register {
    /// Every broken rule, not just the first: a register author fixes them in one pass.
    pub fn problems(&self) -> Vec<RegisterProblem> {
        let mut out = Vec::new();
        let mut push = |record: String, rule: &str, detail: String| {
            out.push(RegisterProblem { record, rule: rule.to_owned(), detail })
        };
        if self.version.trim().is_empty() {
            push("register".into(), "register.version.missing", "the register has no version".into());
        }
        let mut ids = HashSet::new();
        let mut certs = HashSet::new();
        for i in &self.inspectors {
            let rec = format!("inspector:{}", i.id);
            if i.id.trim().is_empty() || !ids.insert(format!("i:{}", i.id)) {
                push(rec.clone(), "inspector.id.duplicate_or_empty", "inspector ids must be unique".into());
            }
            if i.certificate_no.trim().is_empty() {
                push(rec.clone(), "certificate.missing", "no certificate number".into());
            } else if !certs.insert(i.certificate_no.trim().to_owned()) {
                push(
                    rec.clone(),
                    "certificate.duplicate",
                    "certificate number held by another inspector".into(),
                );
            }
            if i.valid_from > i.valid_until {
                push(rec, "certificate.dates", "valid_from is after valid_until".into());
            }
        }
        for e in &self.enterprises {
            let rec = format!("enterprise:{}", e.id);
            if e.id.trim().is_empty() || !ids.insert(format!("e:{}", e.id)) {
                push(rec.clone(), "enterprise.id.duplicate_or_empty", "enterprise ids must be unique".into());
            }
            if let Err(err) = Uscc::parse(&e.uscc) {
                push(rec.clone(), err.rule(), err.to_string());
            }
            if e.name.trim().is_empty() {
                push(rec.clone(), "enterprise.name.missing", "no enterprise name".into());
            }
            if let Some(rule) = e.site.problem() {
                push(
                    rec,
                    rule,
                    "the site needs valid WGS-84 coordinates and a positive radius or 3+ points".into(),
                );
            }
        }
        for p in &self.permits {
            let rec = format!("permit:{}", p.id);
            if p.id.trim().is_empty() || !ids.insert(format!("p:{}", p.id)) {
                push(rec.clone(), "permit.id.duplicate_or_empty", "permit ids must be unique".into());
            }
            if !self.enterprises.iter().any(|e| e.id == p.enterprise_id) {
                push(
                    rec.clone(),
                    "permit.enterprise.missing",
                    format!("enterprise {} is not in the register", p.enterprise_id),
                );
            }
            if p.valid_from > p.valid_until {
                push(rec.clone(), "permit.dates", "valid_from is after valid_until".into());
            }
            let mut item_ids = HashSet::new();
            for it in &p.items {
                // '#' joins template item and permit item ids in expanded checklists.
                if it.id.trim().is_empty() || it.id.contains('#') || !item_ids.insert(it.id.as_str()) {
                    push(
                        format!("{rec}/{}", it.id),
                        "permit_item.id.invalid",
                        "permit item ids must be unique within the permit, non-empty and without '#'".into(),
                    );
                }
            }
        }
        out
    }
}

/// A register that passed validation, with its content hash. The only way to get one is
/// [`RegisterSnapshot::new`] or [`RegisterSnapshot::from_json`], so every snapshot is valid.
#[derive(Debug, Clone, PartialEq)]
pub struct RegisterSnapshot {
    register: Register,
    content_hash: String,
}

impl RegisterSnapshot {
    pub fn new(register: Register) -> Result<Self, DomainError> {
        let problems = register.problems();
        if !problems.is_empty() {
            return Err(DomainError::Register { problems });
        }
        let content_hash = content_hash(&register)?;
        Ok(Self { register, content_hash })
    }

    pub fn from_json(text: &str) -> Result<Self, DomainError> {
        let register: Register = serde_json::from_str(text).map_err(|e| DomainError::Register {
            problems: vec![RegisterProblem {
                record: "register".into(),
                rule: "register.malformed".into(),
                detail: e.to_string(),
            }],
        })?;
        Self::new(register)
    }

    pub fn register(&self) -> &Register {
        &self.register
    }
    pub fn version(&self) -> &str {
        &self.register.version
    }
    /// SHA-256 (hex) of the register's canonical JSON.
    pub fn content_hash(&self) -> &str {
        &self.content_hash
    }
    pub fn inspector(&self, id: &str) -> Option<&Inspector> {
        self.register.inspectors.iter().find(|i| i.id == id)
    }
    pub fn enterprise(&self, id: &str) -> Option<&Enterprise> {
        self.register.enterprises.iter().find(|e| e.id == id)
    }
    pub fn permits_of<'a>(&'a self, enterprise_id: &'a str) -> impl Iterator<Item = &'a Permit> + 'a {
        self.register.permits.iter().filter(move |p| p.enterprise_id == enterprise_id)
    }
}

/// SHA-256 over the RFC 8785 canonical form, so the hash does not depend on field order or spacing.
pub(crate) fn content_hash<T: Serialize>(value: &T) -> Result<String, DomainError> {
    let json = serde_json::to_value(value)
        .map_err(|e| DomainError::Invalid { field: "content".into(), reason: e.to_string() })?;
    let canonical = crate::protocol::canonical::canonicalize(&json)
        .map_err(|e| DomainError::Invalid { field: "content".into(), reason: e.to_string() })?;
    Ok(hex(digest::digest(&digest::SHA256, canonical.as_bytes()).as_ref()))
}
