//! `fieldseal template validate FILE...`: checks checklist templates the way the terminal will when
//! it loads them, and prints every problem on its own line as `FILE: ITEM: [RULE] DETAIL`, so an
//! author can fix them all in one pass (and grep or sort the output).

use std::{
    io::{self, Write},
    path::{Path, PathBuf},
};

use fieldseal_core::{
    checklist::{MAX_TEMPLATE_BYTES, TemplateProblem, check_template_json},
    input_file,
};

/// Validates each file; prints every problem. Exit code 0 when all are valid, 1 when any problem
/// (or an unreadable file) was found, 2 when no file was given.
pub fn run_validate(paths: &[PathBuf]) -> i32 {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    validate_to(paths, &mut out)
}

/// [`run_validate`] writing to `out` (for tests).
pub fn validate_to(paths: &[PathBuf], out: &mut dyn Write) -> i32 {
    if paths.is_empty() {
        let _ = writeln!(out, "usage: fieldseal template validate FILE...");
        return 2;
    }
    let mut total = 0usize;
    for path in paths {
        let problems = check_file(path, out);
        total += problems;
    }
    let _ = writeln!(
        out,
        "{} file(s) checked, {total} problem(s){}",
        paths.len(),
        if total == 0 { "" } else { " — 模板有误，请按上列检查项和规则逐条修正" }
    );
    i32::from(total > 0)
}

fn check_file(path: &Path, out: &mut dyn Write) -> usize {
    let shown = path.display();
    // Bounded and non-blocking: `/dev/zero` or a FIFO is refused at once, not read for ever.
    let text = match input_file::read_bounded_text(path, MAX_TEMPLATE_BYTES as u64) {
        Ok(t) => t,
        Err(e) => {
            let rule = match e.kind() {
                io::ErrorKind::InvalidInput => "file.not_regular",
                io::ErrorKind::FileTooLarge => "file.too_large",
                _ => "file.unreadable",
            };
            let _ = writeln!(out, "{shown}: (file): [{rule}] {e}");
            return 1;
        }
    };
    let (template, problems) = check_template_json(&text);
    if problems.is_empty() {
        if let Some(t) = template {
            let items = t.items().count();
            let _ = writeln!(
                out,
                "{shown}: ok ({}@{}, {} section(s), {items} item(s))",
                t.id,
                t.version,
                t.sections.len()
            );
        }
        return 0;
    }
    for TemplateProblem { item, rule, detail } in &problems {
        let _ = writeln!(out, "{shown}: {item}: [{rule}] {detail}");
    }
    problems.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(paths: &[PathBuf]) -> (i32, String) {
        let mut buf = Vec::new();
        let code = validate_to(paths, &mut buf);
        (code, String::from_utf8(buf).unwrap())
    }

    #[test]
    fn bad_template_prints_every_problem_with_item_and_rule_and_exits_1() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.json");
        std::fs::write(
            &bad,
            r#"{"id":"tpl.bad","version":"1","title":"坏模板","sections":[{"id":"s","title":"s","items":[
                {"id":"a","check_point":"x","method":"on_site","answer":{"type":"slider"}},
                {"id":"b","check_point":"x","method":"on_site","answer":{"type":"text"},"show_if":{"item":"ghost","equals":"y"}},
                {"id":"n","check_point":"x","method":"on_site","answer":{"type":"number","unit":"mg/L","min":9,"max":1}},
                {"id":"n","check_point":"x","method":"on_site","answer":{"type":"result"}}
            ]}]}"#,
        )
        .unwrap();
        let (code, out) = run(std::slice::from_ref(&bad));
        assert_eq!(code, 1);
        let shown = bad.display().to_string();
        for line in [
            format!("{shown}: a: [answer.type.unknown]"),
            format!("{shown}: b: [condition.target.missing]"),
            format!("{shown}: n: [answer.number.min_gt_max]"),
            format!("{shown}: n: [item.id.duplicate]"),
        ] {
            assert!(out.lines().any(|l| l.starts_with(&line)), "missing {line} in\n{out}");
        }
        assert!(
            out.ends_with("1 file(s) checked, 4 problem(s) — 模板有误，请按上列检查项和规则逐条修正\n"),
            "{out}"
        );
    }

    #[test]
    fn example_templates_pass_and_missing_files_fail() {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../examples/templates");
        let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().path()).collect();
        paths.sort();
        let (code, out) = run(&paths);
        assert_eq!(code, 0, "{out}");
        assert_eq!(out.lines().filter(|l| l.contains(": ok (")).count(), paths.len());
        let (code, out) = run(&[dir.join("does-not-exist.json")]);
        assert_eq!(code, 1);
        assert!(out.contains("[file.unreadable]"));
        assert_eq!(run(&[]).0, 2);
    }

    #[cfg(unix)]
    #[test]
    fn a_device_a_fifo_and_an_oversized_file_are_refused_without_reading_them() {
        // Finding 6 of issue #10: `template validate /dev/zero` grew to 2 GB, and a FIFO hung.
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.json");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        let big = dir.path().join("big.json");
        std::fs::File::create(&big).unwrap().set_len(MAX_TEMPLATE_BYTES as u64 + 1).unwrap();
        let (code, out) = run(&[PathBuf::from("/dev/zero"), fifo.clone(), big.clone()]);
        assert_eq!(code, 1);
        assert!(
            out.contains("/dev/zero: (file): [file.not_regular] a device is not a regular file"),
            "{out}"
        );
        assert!(out.contains(&format!("{}: (file): [file.not_regular] a FIFO", fifo.display())), "{out}");
        assert!(out.contains(&format!("{}: (file): [file.too_large]", big.display())), "{out}");
    }
}
