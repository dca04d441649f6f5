//! Bad templates: each is refused with every problem, each naming its item and rule.

use fieldseal_core::checklist::{TemplateProblem, check_template_json, parse_template};
use serde_json::{Value, json};

fn item(id: &str, answer: Value) -> Value {
    json!({ "id": id, "check_point": "检查要点", "method": "on_site", "answer": answer })
}

fn template(items: Vec<Value>) -> Value {
    json!({ "id": "tpl.test", "version": "1", "title": "测试", "sections": [{ "id": "s1", "title": "第一部分", "items": items }] })
}

fn problems(t: &Value) -> Vec<TemplateProblem> {
    check_template_json(&t.to_string()).1
}

fn rules_for(t: &Value, item: &str) -> Vec<&'static str> {
    problems(t).into_iter().filter(|p| p.item == item).map(|p| p.rule).collect()
}

#[test]
fn a_good_template_has_no_problems() {
    let t = template(vec![item("a", json!({ "type": "result" })), item("b", json!({ "type": "date" }))]);
    assert_eq!(problems(&t), vec![]);
}

#[test]
fn unknown_answer_type_is_named_with_its_item() {
    let t = template(vec![item("a", json!({ "type": "slider" })), item("b", json!({ "type": "result" }))]);
    assert_eq!(rules_for(&t, "a"), vec!["answer.type.unknown"]);
    assert!(rules_for(&t, "b").is_empty());
}

#[test]
fn condition_on_a_missing_item() {
    let mut b = item("b", json!({ "type": "text" }));
    b["show_if"] = json!({ "item": "nope", "equals": "fail" });
    let t = template(vec![item("a", json!({ "type": "result" })), b]);
    assert_eq!(rules_for(&t, "b"), vec!["condition.target.missing"]);
}

#[test]
fn a_condition_on_an_item_that_failed_to_parse_is_not_reported_missing() {
    let mut b = item("b", json!({ "type": "text" }));
    b["show_if"] = json!({ "item": "a", "equals": "x" });
    let t = template(vec![item("a", json!({ "type": "slider" })), b]);
    assert_eq!(problems(&t).iter().map(|p| p.rule).collect::<Vec<_>>(), vec!["answer.type.unknown"]);
}

#[test]
fn circular_conditions_name_every_item_on_the_cycle() {
    let mut a = item("a", json!({ "type": "result" }));
    let mut b = item("b", json!({ "type": "result" }));
    let mut c = item("c", json!({ "type": "result" }));
    a["show_if"] = json!({ "item": "c", "equals": "pass" });
    b["show_if"] = json!({ "item": "a", "equals": "pass" });
    c["show_if"] = json!({ "item": "b", "equals": "pass" });
    let t = template(vec![a, b, c, item("d", json!({ "type": "result" }))]);
    for id in ["a", "b", "c"] {
        assert_eq!(rules_for(&t, id), vec!["condition.cycle"], "{id}");
    }
    assert!(rules_for(&t, "d").is_empty());
}

#[test]
fn duplicate_item_and_section_ids() {
    let mut t = template(vec![item("a", json!({ "type": "result" })), item("a", json!({ "type": "text" }))]);
    t["sections"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "id": "s1", "title": "again", "items": [item("z", json!({ "type": "date" }))] }));
    let p = problems(&t);
    assert!(p.iter().any(|p| p.item == "a" && p.rule == "item.id.duplicate"), "{p:?}");
    assert!(p.iter().any(|p| p.item == "section:s1" && p.rule == "section.id.duplicate_or_empty"), "{p:?}");
}

#[test]
fn number_limits_min_greater_than_max() {
    let t = template(vec![item("n", json!({ "type": "number", "unit": "mg/L", "min": 10, "max": 1 }))]);
    assert_eq!(rules_for(&t, "n"), vec!["answer.number.min_gt_max"]);
}

#[test]
fn choice_without_options_and_with_duplicate_options() {
    let t = template(vec![
        item("c1", json!({ "type": "single_choice", "options": [] })),
        item(
            "c2",
            json!({ "type": "multiple_choice", "options": [{ "value": "x", "label": "X" }, { "value": "x", "label": "X2" }] }),
        ),
    ]);
    assert_eq!(rules_for(&t, "c1"), vec!["answer.choice.no_options"]);
    assert_eq!(rules_for(&t, "c2"), vec!["answer.choice.option.duplicate"]);
}

#[test]
fn condition_value_that_can_never_be_an_answer() {
    let mut b = item("b", json!({ "type": "text" }));
    b["show_if"] = json!({ "item": "a", "equals": "不合格" });
    let t = template(vec![item("a", json!({ "type": "result" })), b]);
    assert_eq!(rules_for(&t, "b"), vec!["condition.value.not_allowed"]);
}

#[test]
fn condition_with_both_or_neither_test() {
    let mut b = item("b", json!({ "type": "text" }));
    b["show_if"] = json!({ "item": "a", "equals": "fail", "one_of": ["pass"] });
    let mut c = item("c", json!({ "type": "text" }));
    c["show_if"] = json!({ "item": "a" });
    let t = template(vec![item("a", json!({ "type": "result" })), b, c]);
    assert_eq!(rules_for(&t, "b"), vec!["condition.test.ambiguous"]);
    assert_eq!(rules_for(&t, "c"), vec!["condition.test.missing"]);
}

#[test]
fn condition_across_different_expansions() {
    let mut a = item("a", json!({ "type": "result" }));
    a["expand_over"] = json!("outlet");
    let mut b = item("b", json!({ "type": "text" }));
    b["show_if"] = json!({ "item": "a", "equals": "fail" });
    let t = template(vec![a, b]);
    assert_eq!(rules_for(&t, "b"), vec!["condition.target.expansion_mismatch"]);
}

#[test]
fn evidence_and_finding_rules_need_a_result_item() {
    let mut n = item("n", json!({ "type": "number", "unit": "t" }));
    n["evidence"] = json!([{ "kind": "photo", "min": 0, "when_result": "fail" }]);
    n["finding"] = json!({ "category": "water", "default_handling": "fix_on_site" });
    let t = template(vec![n]);
    assert_eq!(
        rules_for(&t, "n"),
        vec!["evidence.min.zero", "evidence.when_result.not_result_item", "finding.not_result_item"]
    );
}

#[test]
fn reserved_characters_empty_check_points_and_misspelt_fields() {
    let mut a = item("a#1", json!({ "type": "result" }));
    a["check_point"] = json!(" ");
    let mut b = item("b", json!({ "type": "result" }));
    b["legal_basiss"] = json!([]);
    let t = template(vec![a, b]);
    assert_eq!(rules_for(&t, "a#1"), vec!["item.id.reserved_character", "item.check_point.missing"]);
    assert_eq!(rules_for(&t, "b"), vec!["item.malformed"]);
}

#[test]
fn broken_json_and_duplicate_keys_are_reported_not_panicked() {
    assert_eq!(check_template_json("{").1[0].rule, "template.json");
    let dup = r#"{"id":"a","id":"b","version":"1","title":"t","sections":[]}"#;
    assert_eq!(check_template_json(dup).1[0].rule, "template.json");
    assert_eq!(check_template_json(r#"{"id":"a"}"#).1[0].rule, "template.malformed");
}

#[test]
fn all_problems_are_returned_together_and_the_load_fails() {
    let mut b = item("b", json!({ "type": "text" }));
    b["show_if"] = json!({ "item": "ghost", "equals": "x" });
    let t = template(vec![
        item("a", json!({ "type": "slider" })),
        b,
        item("n", json!({ "type": "number", "unit": "mg/L", "min": 5, "max": 1 })),
        item("n", json!({ "type": "result" })),
    ]);
    let rules: Vec<_> = problems(&t).into_iter().map(|p| (p.item, p.rule)).collect();
    assert_eq!(rules.len(), 4, "{rules:?}");
    let err = parse_template(&t.to_string()).unwrap_err();
    assert!(err.to_string().contains("4 problem(s)"), "{err}");
}

#[test]
fn a_ten_thousand_item_template_with_a_long_condition_cycle_is_checked_and_every_member_named() {
    // 5,000 items in a chain that runs into a 5,000-item cycle. Checked item by item this took
    // minutes; the problems must still name exactly the cycle's members.
    let n = 10_000;
    let items = (0..n)
        .map(|i| {
            let mut it = item(&format!("i{i}"), json!({ "type": "result" }));
            let target = if i + 1 < n { i + 1 } else { n / 2 };
            it["show_if"] = json!({ "item": format!("i{target}"), "equals": "pass" });
            it
        })
        .collect();
    let p = problems(&template(items));
    assert!(
        p.iter().all(|p| p.rule == "condition.cycle"),
        "{:?}",
        p.iter().find(|p| p.rule != "condition.cycle")
    );
    let mut named: Vec<usize> = p.iter().map(|p| p.item[1..].parse().unwrap()).collect();
    named.sort_unstable();
    assert_eq!(named, (n / 2..n).collect::<Vec<_>>());
}
