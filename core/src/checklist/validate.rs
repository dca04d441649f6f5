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

/// The largest template text accepted (16 MiB). The largest real templates are tens of kilobytes
/// and a 10,000-item one is about 3 MB; the limit keeps a hostile file from exhausting memory in
/// the parser, wherever the text came from (a file, a pull, the FFI).
pub const MAX_TEMPLATE_BYTES: usize = 16 << 20;

/// Every problem of a template file, plus the template when its frame could be read (for tools that
/// report problems and still want the id).
pub fn check_template_json(json: &str) -> (Option<Template>, Vec<TemplateProblem>) {
    let mut problems = Vec::new();
    let problem = |rule, detail: String| TemplateProblem { item: TEMPLATE.into(), rule, detail };
    if json.len() > MAX_TEMPLATE_BYTES {
        let detail = format!("{} bytes; a template may have at most {MAX_TEMPLATE_BYTES}", json.len());
        return (None, vec![problem("template.too_large", detail)]);
    }
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

    let cycles = ConditionCycles::find(t.items().map(|i| (i.id.as_str(), condition_target(i))));
    for item in t.items() {
        if let Some(path) = cycles.path_from(&item.id) {
            push(&item.id, "condition.cycle", format!("conditions form a cycle: {path}"));
        }
    }
    out
}

fn condition_target(item: &Item) -> Option<&str> {
    item.show_if.as_ref().map(|c| c.item.as_str())
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

/// The items whose `show_if` conditions lead back to themselves.
///
/// Each item has at most one condition, so the conditions form a functional graph: every walk ends
/// at an item without a condition, a missing target, or a cycle. One walk per item that stops at
/// the first item an earlier walk already settled visits each item once, so a template of 10,000
/// items is checked in 10,000 steps (walking every item's chain on its own took minutes).
struct ConditionCycles<'a> {
    /// For each item on a cycle: the cycle's members in walk order and this item's place in it.
    members: HashMap<&'a str, (usize, usize)>,
    cycles: Vec<Vec<&'a str>>,
    /// Conditions followed while searching, for the test that the search is linear.
    steps: usize,
}

/// How many ids of a long cycle a problem names before it says how many there are.
const CYCLE_PATH_SHOWN: usize = 12;

impl<'a> ConditionCycles<'a> {
    fn find(items: impl Iterator<Item = (&'a str, Option<&'a str>)>) -> Self {
        let mut next: HashMap<&'a str, Option<&'a str>> = HashMap::new();
        let mut order = Vec::new();
        for (id, target) in items {
            // A duplicate id is reported elsewhere; like every lookup by id, the last one counts.
            if next.insert(id, target).is_none() {
                order.push(id);
            }
        }
        // The walk that first reached an item; an item reached again by the same walk closes a cycle.
        let mut settled_by: HashMap<&'a str, usize> = HashMap::with_capacity(order.len());
        let mut found = ConditionCycles { members: HashMap::new(), cycles: Vec::new(), steps: 0 };
        for (walk, &start) in order.iter().enumerate() {
            let mut path = Vec::new();
            let mut current = start;
            loop {
                match settled_by.get(current) {
                    Some(&w) if w == walk => {
                        let first = path.iter().position(|id| *id == current).unwrap_or(0);
                        found.add_cycle(path.split_off(first));
                        break;
                    }
                    Some(_) => break,
                    None => {}
                }
                settled_by.insert(current, walk);
                path.push(current);
                found.steps += 1;
                match next.get(current).copied().flatten() {
                    Some(target) if next.contains_key(target) => current = target,
                    _ => break,
                }
            }
        }
        found
    }

    fn add_cycle(&mut self, cycle: Vec<&'a str>) {
        let index = self.cycles.len();
        for (place, id) in cycle.iter().enumerate() {
            self.members.insert(id, (index, place));
        }
        self.cycles.push(cycle);
    }

    /// `a → b → a` from `id` around its cycle, when `id` is on one; a long cycle is shortened.
    fn path_from(&self, id: &str) -> Option<String> {
        let &(index, place) = self.members.get(id)?;
        let cycle = &self.cycles[index];
        let around = cycle[place..].iter().chain(&cycle[..place]);
        let mut shown: Vec<&str> = around.take(CYCLE_PATH_SHOWN).copied().collect();
        if cycle.len() > CYCLE_PATH_SHOWN {
            shown.push("…");
            let more = format!("({} items in all)", cycle.len());
            return Some(format!("{} → {id} {more}", shown.join(" → ")));
        }
        shown.push(id);
        Some(shown.join(" → "))
    }
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
        assert_eq!(problems[0].detail, "conditions form a cycle: a → a");
    }

    fn chain(ids: &[(&'static str, Option<&'static str>)]) -> ConditionCycles<'static> {
        ConditionCycles::find(ids.iter().copied())
    }

    #[test]
    fn only_the_members_of_a_cycle_are_on_it_and_each_path_starts_at_its_item() {
        // x → a → b → c → a, and y → missing: x leads into the cycle but is not on it.
        let found = chain(&[
            ("x", Some("a")),
            ("a", Some("b")),
            ("b", Some("c")),
            ("c", Some("a")),
            ("y", Some("missing")),
            ("z", None),
        ]);
        assert_eq!(found.path_from("b").as_deref(), Some("b → c → a → b"));
        assert_eq!(found.path_from("a").as_deref(), Some("a → b → c → a"));
        for outside in ["x", "y", "z", "missing"] {
            assert_eq!(found.path_from(outside), None, "{outside}");
        }
    }

    #[test]
    fn the_cycle_search_follows_each_condition_once_on_ten_thousand_items() {
        // A 5,000-item chain feeding a 5,000-item cycle: walking each item's chain separately
        // follows ~37 million conditions; the search may follow each one once.
        let n = 10_000;
        let ids: Vec<String> = (0..n).map(|i| format!("i{i}")).collect();
        let target = |i: usize| if i + 1 < n { i + 1 } else { n / 2 };
        let found = ConditionCycles::find((0..n).map(|i| (ids[i].as_str(), Some(ids[target(i)].as_str()))));
        assert!(found.steps <= n, "{} steps for {n} items", found.steps);
        assert_eq!(found.members.len(), n / 2);
        let long = found.path_from("i7000").unwrap();
        assert!(long.starts_with("i7000 → i7001 → "), "{long}");
        assert!(long.ends_with("… → i7000 (5000 items in all)"), "{long}");
    }
}
