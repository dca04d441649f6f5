//! Template validation on load: every problem at once, each naming its item and rule.
//!
//! Loading happens in stages so one bad item does not hide the others: strict JSON (duplicate keys
//! refused), the template's frame, then each item on its own. An item that does not parse (an
//! unknown answer type, a misspelt field) is reported and still counts as an existing id, so it
//! causes no false "condition on a missing item" elsewhere.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{AnswerType, ChecklistError, Item, ResultCode, Section, Template};

/// One broken rule. `item` is the item id (or `section:<id>`, or `(template)`), `rule` a stable name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TemplateProblem {
    pub item: String,
    pub rule: &'static str,
    pub detail: String,
}

impl std::fmt::Display for TemplateProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: [{}] {}", self.item, self.rule, self.detail)
    }
}

const TEMPLATE: &str = "(template)";

#[derive(Deserialize)]
struct RawTemplate {
    id: String,
    version: String,
    title: String,
    #[serde(default)]
    title_en: Option<String>,
    #[serde(default)]
    description: String,
    sections: Vec<RawSection>,
}

#[derive(Deserialize)]
struct RawSection {
    id: String,
    title: String,
    #[serde(default)]
    title_en: Option<String>,
    items: Vec<serde_json::Value>,
}

/// Parses and validates a template; the error lists every problem.
pub fn parse_template(json: &str) -> Result<Template, ChecklistError> {
    let (template, problems) = check_template_json(json);
    match template {
        Some(t) if problems.is_empty() => Ok(t),
        t => Err(ChecklistError::Template {
            template: t.map_or_else(|| "?".to_owned(), |t| format!("{}@{}", t.id, t.version)),
            problems,
        }),
    }
}

/// Every problem of a template file, plus the template when its frame could be read (for tools that
/// report problems and still want the id).
pub fn check_template_json(json: &str) -> (Option<Template>, Vec<TemplateProblem>) {
    let mut problems = Vec::new();
    let problem = |rule, detail: String| TemplateProblem { item: TEMPLATE.into(), rule, detail };
    let value = match crate::protocol::parse_strict(json) {
        Ok(v) => v,
        Err(e) => return (None, vec![problem("template.json", e.to_string())]),
    };
    let raw: RawTemplate = match serde_json::from_value(value) {
        Ok(r) => r,
        Err(e) => return (None, vec![problem("template.malformed", e.to_string())]),
    };
    let mut unparsed = Unparsed::default();
    let mut sections = Vec::new();
    for s in raw.sections {
        let mut items = Vec::new();
        for (index, v) in s.items.into_iter().enumerate() {
            match serde_json::from_value::<Item>(v.clone()) {
                Ok(item) => items.push(item),
                Err(e) => {
                    let id = v.get("id").and_then(|i| i.as_str()).map(str::to_owned);
                    let name = id.clone().unwrap_or_else(|| format!("section:{}[{index}]", s.id));
                    problems.push(item_parse_problem(name, &v, e));
                    unparsed.ids.extend(id);
                    unparsed.sections.insert(s.id.clone());
                }
            }
        }
        sections.push(Section { id: s.id, title: s.title, title_en: s.title_en, items });
    }
    let template = Template {
        id: raw.id,
        version: raw.version,
        title: raw.title,
        title_en: raw.title_en,
        description: raw.description,
        sections,
    };
    problems.extend(validate_with(&template, &unparsed));
    (Some(template), problems)
}

fn item_parse_problem(item: String, v: &serde_json::Value, e: serde_json::Error) -> TemplateProblem {
    match v.get("answer").map(|a| a.get("type")) {
        None => {
            TemplateProblem { item, rule: "answer.missing", detail: "the item has no answer type".into() }
        }
        Some(Some(serde_json::Value::String(t))) if !AnswerType::TYPE_NAMES.contains(&t.as_str()) => {
            TemplateProblem {
                item,
                rule: "answer.type.unknown",
                detail: format!("'{t}' is not one of {}", AnswerType::TYPE_NAMES.join(", ")),
            }
        }
        _ => TemplateProblem { item, rule: "item.malformed", detail: e.to_string() },
    }
}

/// Items that were in the file but did not parse: their ids exist, their sections are not empty.
#[derive(Default)]
struct Unparsed {
    ids: Vec<String>,
    sections: HashSet<String>,
}

/// Every broken rule of an already-typed template.
pub fn validate(template: &Template) -> Vec<TemplateProblem> {
    validate_with(template, &Unparsed::default())
}

fn validate_with(t: &Template, unparsed: &Unparsed) -> Vec<TemplateProblem> {
    let mut out = Vec::new();
    let mut push = |item: &str, rule: &'static str, detail: String| {
        out.push(TemplateProblem { item: item.to_owned(), rule, detail })
    };
    for (field, value) in [("id", &t.id), ("version", &t.version), ("title", &t.title)] {
        if value.trim().is_empty() {
            push(TEMPLATE, "template.field.missing", format!("the template has no {field}"));
        }
    }
    if t.sections.is_empty() {
        push(TEMPLATE, "template.no_sections", "a template needs at least one section".into());
    }

    let mut section_ids = HashSet::new();
    for s in &t.sections {
        let name = format!("section:{}", s.id);
        if s.id.trim().is_empty() || !section_ids.insert(s.id.as_str()) {
            push(&name, "section.id.duplicate_or_empty", "section ids must be unique and non-empty".into());
        }
        if s.items.is_empty() && !unparsed.sections.contains(&s.id) {
            push(&name, "section.empty", "a section needs at least one item".into());
        }
    }

    let mut seen: HashSet<&str> = HashSet::new();
    for id in &unparsed.ids {
        if !seen.insert(id) {
            push(id, "item.id.duplicate", "another item has the same id".into());
        }
    }
    for item in t.items() {
        let id = item.id.as_str();
        if id.trim().is_empty() {
            push(id, "item.id.missing", "every item needs an id".into());
        } else if !seen.insert(id) {
            push(id, "item.id.duplicate", "another item has the same id".into());
        }
        if id.contains('#') {
            push(id, "item.id.reserved_character", "'#' is reserved for expanded item ids".into());
        }
        if item.check_point.trim().is_empty() {
            push(id, "item.check_point.missing", "the item has no check point".into());
        }
        check_answer_type(item, &mut push);
        for rule in &item.evidence {
            if rule.min == 0 {
                push(
                    id,
                    "evidence.min.zero",
                    format!("a {} rule with min 0 requires nothing", rule.kind.code()),
                );
            }
            if rule.when_result.is_some() && item.answer != AnswerType::Result {
                push(id, "evidence.when_result.not_result_item", "when_result needs a result answer".into());
            }
        }
        if item.finding.is_some() && item.answer != AnswerType::Result {
            push(id, "finding.not_result_item", "only a result item can fail and produce a finding".into());
        }
    }

    let by_id: HashMap<&str, &Item> = t.items().map(|i| (i.id.as_str(), i)).collect();
    for item in t.items() {
        let Some(cond) = &item.show_if else { continue };
        let id = item.id.as_str();
        match (&cond.equals, &cond.one_of) {
            (None, None) => push(id, "condition.test.missing", "give `equals` or `one_of`".into()),
            (Some(_), Some(_)) => {
                push(id, "condition.test.ambiguous", "give `equals` or `one_of`, not both".into())
            }
            (None, Some(v)) if v.is_empty() => push(id, "condition.test.missing", "`one_of` is empty".into()),
            _ => {}
        }
        let Some(target) = by_id.get(cond.item.as_str()) else {
            if !unparsed.ids.contains(&cond.item) {
                push(id, "condition.target.missing", format!("item '{}' does not exist", cond.item));
            }
            continue;
        };
        if target.expand_over.is_some() && target.expand_over != item.expand_over {
            push(
                id,
                "condition.target.expansion_mismatch",
                format!(
                    "'{}' expands over a permit item kind; a condition on it must expand over the same kind",
                    cond.item
                ),
            );
        }
        for v in cond.values() {
            if let Some(why) = value_not_allowed(&target.answer, v) {
                push(id, "condition.value.not_allowed", format!("{v} {why} of '{}'", cond.item));
            }
        }
    }

    for item in t.items() {
        if let Some(path) = cycle_through(&item.id, &by_id) {
            push(&item.id, "condition.cycle", format!("conditions form a cycle: {}", path.join(" → ")));
        }
    }
    out
}

fn check_answer_type(item: &Item, push: &mut impl FnMut(&str, &'static str, String)) {
    let id = item.id.as_str();
    match &item.answer {
        AnswerType::Number { unit, min, max } => {
            if unit.trim().is_empty() {
                push(
                    id,
                    "answer.number.unit.missing",
                    "give a unit (use 无量纲 for dimensionless values)".into(),
                );
            }
            if let (Some(min), Some(max)) = (min, max)
                && min > max
            {
                push(id, "answer.number.min_gt_max", format!("min {min} is greater than max {max}"));
            }
        }
        AnswerType::SingleChoice { options } | AnswerType::MultipleChoice { options } => {
            if options.is_empty() {
                push(id, "answer.choice.no_options", "a choice needs at least one option".into());
            }
            let mut values = HashSet::new();
            for o in options {
                if o.value.trim().is_empty() || o.label.trim().is_empty() {
                    push(
                        id,
                        "answer.choice.option.incomplete",
                        "every option needs a value and a label".into(),
                    );
                } else if !values.insert(o.value.as_str()) {
                    push(id, "answer.choice.option.duplicate", format!("option '{}' appears twice", o.value));
                }
            }
        }
        AnswerType::Result | AnswerType::Text { .. } | AnswerType::Date => {}
    }
}

/// Why `v` can never be an answer of an item of type `answer`, if it cannot.
fn value_not_allowed(answer: &AnswerType, v: &serde_json::Value) -> Option<&'static str> {
    let s = v.as_str();
    let ok = match answer {
        AnswerType::Result => s.and_then(ResultCode::from_code).is_some(),
        AnswerType::Number { .. } => v.is_number(),
        AnswerType::Text { .. } => s.is_some(),
        AnswerType::SingleChoice { options } | AnswerType::MultipleChoice { options } => {
            s.is_some_and(|s| options.iter().any(|o| o.value == s))
        }
        AnswerType::Date => s.is_some_and(|s| s.parse::<chrono::NaiveDate>().is_ok()),
    };
    (!ok).then_some("is not a possible answer")
}

/// The cycle of conditions that leads from `start` back to itself, if there is one.
fn cycle_through(start: &str, by_id: &HashMap<&str, &Item>) -> Option<Vec<String>> {
    let mut path = vec![start.to_owned()];
    let mut current = start;
    // Each item has at most one condition, so a walk longer than the item count must repeat.
    for _ in 0..=by_id.len() {
        let next = by_id.get(current)?.show_if.as_ref()?.item.as_str();
        path.push(next.to_owned());
        if next == start {
            return Some(path);
        }
        current = next;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_condition_on_itself_is_a_cycle() {
        let json = r#"{"id":"t","version":"1","title":"t","sections":[{"id":"s","title":"s","items":[
            {"id":"a","check_point":"x","method":"on_site","answer":{"type":"result"},
             "show_if":{"item":"a","equals":"pass"}}]}]}"#;
        let (_, problems) = check_template_json(json);
        assert_eq!(problems.iter().map(|p| p.rule).collect::<Vec<_>>(), vec!["condition.cycle"]);
    }
}
