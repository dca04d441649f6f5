//! 校验报告 — what was checked and exactly what failed where.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Passed,
    Failed,
    /// Could not be checked (it rests on a member that failed, or no PDF reader in this build).
    NotChecked,
}

/// One check: a stable name, the member or item it concerns, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub check: &'static str,
    pub subject: String,
    pub outcome: Outcome,
    pub detail: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Report {
    pub checks: Vec<Check>,
}

impl Report {
    pub fn pass(&mut self, check: &'static str, subject: impl Into<String>, detail: impl Into<String>) {
        self.push(check, subject, Outcome::Passed, detail);
    }

    pub fn fail(&mut self, check: &'static str, subject: impl Into<String>, detail: impl Into<String>) {
        self.push(check, subject, Outcome::Failed, detail);
    }

    pub fn skip(&mut self, check: &'static str, subject: impl Into<String>, detail: impl Into<String>) {
        self.push(check, subject, Outcome::NotChecked, detail);
    }

    /// Passed when `result` is `Ok`, failed with its error otherwise; returns whether it passed.
    pub fn check<T, E: std::fmt::Display>(
        &mut self,
        check: &'static str,
        subject: impl Into<String>,
        passed_detail: impl Into<String>,
        result: Result<T, E>,
    ) -> Option<T> {
        match result {
            Ok(v) => {
                self.pass(check, subject, passed_detail);
                Some(v)
            }
            Err(e) => {
                self.fail(check, subject, e.to_string());
                None
            }
        }
    }

    fn push(
        &mut self,
        check: &'static str,
        subject: impl Into<String>,
        outcome: Outcome,
        detail: impl Into<String>,
    ) {
        self.checks.push(Check { check, subject: subject.into(), outcome, detail: detail.into() });
    }

    /// True only when there was something to check and every check passed.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.outcome == Outcome::Passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.outcome != Outcome::Passed)
    }

    pub fn count(&self, outcome: Outcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    /// The report for a person: every check on a line, failures first in the summary.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.outcome {
                Outcome::Passed => "  ok  ",
                Outcome::Failed => "  FAIL",
                Outcome::NotChecked => "  --  ",
            };
            out.push_str(&format!("{mark} {:<26} {}  {}\n", c.check, c.subject, c.detail));
        }
        let (passed, failed, skipped) =
            (self.count(Outcome::Passed), self.count(Outcome::Failed), self.count(Outcome::NotChecked));
        if self.ok() {
            out.push_str(&format!("verified: {passed} checks passed / 校验通过：{passed} 项\n"));
        } else {
            out.push_str(&format!(
                "NOT verified: {failed} failed, {skipped} not checked, {passed} passed / 校验未通过：{failed} 项失败，{skipped} 项未能校验\n"
            ));
            for c in self.failures() {
                out.push_str(&format!("  -> {} at {}: {}\n", c.check, c.subject, c.detail));
            }
        }
        out
    }
}
