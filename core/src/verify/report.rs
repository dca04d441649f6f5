//! 校验报告 — what was checked and exactly what failed where.

use serde::Serialize;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum CheckOutcome {
    Passed,
    Failed,
    /// Could not be checked (it rests on a member that failed, or no PDF reader in this build).
    NotChecked,
}

/// One check: a stable name, the member or item it concerns, and what was found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct VerificationCheck {
    /// Stable dotted name (`member.hash`, `record.signature`...), listed in docs/formats/bundle.md.
    pub check: String,
    pub subject: String,
    pub outcome: CheckOutcome,
    pub detail: String,
}

/// 校验报告 — every check of one verification run, in the order made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct VerificationReport {
    pub checks: Vec<VerificationCheck>,
}

impl VerificationReport {
    pub fn pass(&mut self, check: &'static str, subject: impl Into<String>, detail: impl Into<String>) {
        self.push(check, subject, CheckOutcome::Passed, detail);
    }

    pub fn fail(&mut self, check: &'static str, subject: impl Into<String>, detail: impl Into<String>) {
        self.push(check, subject, CheckOutcome::Failed, detail);
    }

    pub fn skip(&mut self, check: &'static str, subject: impl Into<String>, detail: impl Into<String>) {
        self.push(check, subject, CheckOutcome::NotChecked, detail);
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
        outcome: CheckOutcome,
        detail: impl Into<String>,
    ) {
        self.checks.push(VerificationCheck {
            check: check.to_owned(),
            subject: subject.into(),
            outcome,
            detail: detail.into(),
        });
    }

    /// True only when there was something to check and every check passed.
    pub fn ok(&self) -> bool {
        !self.checks.is_empty() && self.checks.iter().all(|c| c.outcome == CheckOutcome::Passed)
    }

    pub fn failures(&self) -> impl Iterator<Item = &VerificationCheck> {
        self.checks.iter().filter(|c| c.outcome != CheckOutcome::Passed)
    }

    pub fn count(&self, outcome: CheckOutcome) -> usize {
        self.checks.iter().filter(|c| c.outcome == outcome).count()
    }

    /// The report for a person: every check on a line, failures first in the summary.
    pub fn render_text(&self) -> String {
        let mut out = String::new();
        for c in &self.checks {
            let mark = match c.outcome {
                CheckOutcome::Passed => "  ok  ",
                CheckOutcome::Failed => "  FAIL",
                CheckOutcome::NotChecked => "  --  ",
            };
            out.push_str(&format!("{mark} {:<26} {}  {}\n", c.check, c.subject, c.detail));
        }
        let (passed, failed, skipped) = (
            self.count(CheckOutcome::Passed),
            self.count(CheckOutcome::Failed),
            self.count(CheckOutcome::NotChecked),
        );
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

/// A finished verification as an app shows it: the verdict, the counts, every check, and the
/// text report a person reads (the same text `fieldseal verify` prints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct BundleVerification {
    /// True only when there was something to check and every check passed.
    pub verified: bool,
    pub passed: u32,
    pub failed: u32,
    pub not_checked: u32,
    pub checks: Vec<VerificationCheck>,
    pub text: String,
}

impl From<VerificationReport> for BundleVerification {
    fn from(report: VerificationReport) -> Self {
        let count = |o| u32::try_from(report.count(o)).unwrap_or(u32::MAX);
        Self {
            verified: report.ok(),
            passed: count(CheckOutcome::Passed),
            failed: count(CheckOutcome::Failed),
            not_checked: count(CheckOutcome::NotChecked),
            text: report.render_text(),
            checks: report.checks,
        }
    }
}
