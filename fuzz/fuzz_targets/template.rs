//! Checklist templates come from the province, but a template file is still input: loading one
//! must report every problem and never panic, recurse without bound or take quadratic time.
#![no_main]

use fieldseal_core::checklist::{check_template_json, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (template, problems) = check_template_json(text);
    if let Some(template) = template
        && problems.is_empty()
    {
        // What loaded cleanly validates cleanly again: the two paths agree.
        assert!(validate(&template).is_empty(), "a template that loaded without problems fails validate()");
    }
});
