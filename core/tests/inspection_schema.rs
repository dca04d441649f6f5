//! The JSON Schema for template authors says what the validator accepts: its enumerations match
//! the Rust types, so neither can gain a value the other does not know.

use fieldseal_core::{
    checklist::{AnswerType, EvidenceKind, ResultCode},
    model::{FindingCategory, HandlingKind, PermitItemKind},
};
use serde::Serialize;
use serde_json::Value;

fn schema() -> Value {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/checklist-template.schema.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn names<T: Serialize>(values: &[T]) -> Vec<String> {
    values.iter().map(|v| serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()).collect()
}

fn schema_enum(s: &Value, pointer: &str) -> Vec<String> {
    s.pointer(pointer)
        .unwrap_or_else(|| panic!("{pointer}"))
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn schema_enumerations_match_the_validator() {
    let s = schema();
    assert_eq!(schema_enum(&s, "/$defs/answer/properties/type/enum"), AnswerType::TYPE_NAMES);
    assert_eq!(schema_enum(&s, "/$defs/result_code/enum"), names(&ResultCode::ALL));
    assert_eq!(schema_enum(&s, "/$defs/permit_item_kind/enum"), names(&PermitItemKind::ALL));
    assert_eq!(
        schema_enum(&s, "/$defs/evidence_rule/properties/kind/enum"),
        names(&[
            EvidenceKind::Photo,
            EvidenceKind::Video,
            EvidenceKind::Audio,
            EvidenceKind::Document,
            EvidenceKind::Data
        ])
    );
    use FindingCategory as C;
    assert_eq!(
        schema_enum(&s, "/$defs/finding_template/properties/category/enum"),
        names(&[
            C::Water,
            C::Air,
            C::SolidWaste,
            C::HazardousWaste,
            C::Noise,
            C::Eia,
            C::Permit,
            C::Monitoring,
            C::Other
        ])
    );
    use HandlingKind as H;
    assert_eq!(
        schema_enum(&s, "/$defs/finding_template/properties/default_handling/enum"),
        names(&[H::FixOnSite, H::RectifyByDeadline, H::OpenCase, H::NoPenalty, H::Transfer])
    );
}

#[test]
fn schema_lists_every_item_field_the_validator_accepts() {
    let s = schema();
    let props: Vec<_> =
        s.pointer("/$defs/item/properties").unwrap().as_object().unwrap().keys().cloned().collect();
    // An item using every field round-trips through the typed template (deny_unknown_fields).
    let item = serde_json::json!({
        "id": "a", "check_point": "x", "check_point_en": "x", "pass_criterion": "x", "method": "on_site",
        "legal_basis": [], "required": true, "answer": { "type": "result" }, "expand_over": "outlet",
        "show_if": { "item": "b", "equals": "pass" }, "evidence": [], "finding": { "category": "water", "default_handling": "fix_on_site" }
    });
    let keys: Vec<_> = item.as_object().unwrap().keys().cloned().collect();
    let mut a = props.clone();
    let mut b = keys.clone();
    a.sort();
    b.sort();
    assert_eq!(a, b);
    serde_json::from_value::<fieldseal_core::checklist::Item>(item).unwrap();
}
