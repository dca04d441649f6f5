//! 版面 — the page model: the record laid out into fixed-size pages of positioned lines.
//!
//! The apps and the PDF draw exactly this model, and it is what is hashed, so what the signer
//! sees is what is signed. Geometry is in PDF points on an A4 page (595 × 842), origin top left,
//! `y` the text baseline. Each page ends with the same closing block: the signature slots of the
//! party and the inspectors (every page is signed) and "第x页共y页".
//!
//! Widths are estimated, not measured (the core has no font): a CJK or full-width character is
//! one em, anything else 0.55 em. Lines wrap at 95 % of the text width so proportional Latin in the
//! real font never overruns the margin. The estimate is part of layout v1: a verifier re-running
//! the layout gets the same pages.

use serde::{Deserialize, Serialize};

use super::content::{DocumentKind, RecordContent};

pub const LAYOUT_VERSION: u32 = 1;
pub const PAGE_WIDTH: u32 = 595;
pub const PAGE_HEIGHT: u32 = 842;
const MARGIN_X: u32 = 56;
const TOP: u32 = 70;
/// Where the closing block (signature slots, page number) starts.
const CLOSING_TOP: u32 = 700;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum LineStyle {
    Title,
    Heading,
    Body,
    Small,
}

impl LineStyle {
    /// Font size in points.
    pub fn size(self) -> f32 {
        match self {
            LineStyle::Title => 18.0,
            LineStyle::Heading => 12.0,
            LineStyle::Body => 10.5,
            LineStyle::Small => 9.0,
        }
    }

    fn advance(self) -> u32 {
        match self {
            LineStyle::Title => 32,
            LineStyle::Heading => 22,
            LineStyle::Body => 17,
            LineStyle::Small => 14,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Line {
    pub style: LineStyle,
    pub x: u32,
    /// Baseline.
    pub y: u32,
    pub text: String,
}

/// Who signs in a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "snake_case")]
pub enum SignerRole {
    /// 执法人员.
    Inspector,
    /// 当事人 / 现场负责人.
    Party,
    /// 见证人 — witnesses a refusal.
    Witness,
}

impl SignerRole {
    pub fn code(self) -> &'static str {
        match self {
            SignerRole::Inspector => "inspector",
            SignerRole::Party => "party",
            SignerRole::Witness => "witness",
        }
    }

    pub fn label_zh(self) -> &'static str {
        match self {
            SignerRole::Inspector => "执法人员",
            SignerRole::Party => "当事人",
            SignerRole::Witness => "见证人",
        }
    }
}

/// A box where signatures of one role are drawn on a page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Slot {
    pub role: SignerRole,
    pub x: u32,
    pub y: u32,
    pub width: u32,
    pub height: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Page {
    pub layout: u32,
    pub number: u32,
    pub total: u32,
    pub width: u32,
    pub height: u32,
    pub lines: Vec<Line>,
    pub slots: Vec<Slot>,
}

impl Page {
    /// The page's text in reading order, as a PDF text extractor should find it.
    pub fn text(&self) -> String {
        self.lines.iter().map(|l| l.text.as_str()).collect::<Vec<_>>().join("\n")
    }
}

/// Estimated width of `text` in points at `size`.
fn width(text: &str, size: f32) -> f32 {
    text.chars().map(|c| if is_wide(c) { 1.0 } else { 0.55 }).sum::<f32>() * size
}

fn is_wide(c: char) -> bool {
    matches!(c as u32, 0x1100..=0x11FF | 0x2E80..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// Splits `text` into lines that fit `max` points at `size`; never returns an empty list.
fn wrap(text: &str, size: f32, max: f32) -> Vec<String> {
    let mut out = Vec::new();
    for paragraph in text.split('\n') {
        let mut line = String::new();
        let mut w = 0.0;
        for c in paragraph.chars() {
            let cw = width(c.encode_utf8(&mut [0; 4]), size);
            if w + cw > max && !line.is_empty() {
                out.push(std::mem::take(&mut line));
                w = 0.0;
            }
            // Control characters never reach a page.
            if !c.is_control() {
                line.push(c);
                w += cw;
            }
        }
        out.push(line);
    }
    out
}

/// Lines before pagination: style, indent and text.
struct Flow(Vec<(LineStyle, u32, String)>);

impl Flow {
    fn push(&mut self, style: LineStyle, indent: u32, text: impl AsRef<str>) {
        let max = (PAGE_WIDTH - 2 * MARGIN_X - indent) as f32 * 0.95;
        for piece in wrap(text.as_ref(), style.size(), max) {
            if !piece.trim().is_empty() {
                self.0.push((style, indent, piece));
            }
        }
    }
}

fn flow(c: &RecordContent) -> Flow {
    let mut f = Flow(Vec::new());
    let h = &c.header;
    f.push(LineStyle::Heading, 0, "一、基本情况");
    f.push(LineStyle::Body, 0, format!("被检查单位：{}", h.enterprise_name));
    f.push(LineStyle::Body, 0, format!("统一社会信用代码：{}", h.uscc));
    f.push(LineStyle::Body, 0, format!("法定代表人：{}", h.legal_representative));
    f.push(LineStyle::Body, 0, format!("地址：{}", h.address));
    f.push(LineStyle::Body, 0, format!("检查地点：{}", h.place));
    let p = &h.person_in_charge;
    f.push(LineStyle::Body, 0, format!("现场负责人：{}　职务：{}", p.name, p.post));
    f.push(LineStyle::Body, 0, format!("身份证件号码：{}　联系电话：{}", p.id_number, p.phone));
    f.push(LineStyle::Body, 0, format!("检查时间：{} 至 {}", h.started_at, h.ended_at));
    let team: Vec<String> =
        h.inspectors.iter().map(|i| format!("{}（执法证号 {}）", i.name, i.certificate_no)).collect();
    f.push(LineStyle::Body, 0, format!("执法人员：{}", team.join("、")));
    f.push(LineStyle::Body, 0, format!("记录人：{}　任务来源：{}", h.recorder.name, h.task_source));
    if let Some(reason) = &c.back_filled {
        f.push(LineStyle::Body, 0, format!("后补说明：{reason}"));
    }
    if let Some(a) = &c.amends {
        f.push(LineStyle::Heading, 0, "二、补充内容");
        f.push(LineStyle::Small, 0, format!("补充笔录所补充的笔录：{}", a.record_id));
        f.push(LineStyle::Small, 0, format!("原笔录文档哈希：{}", a.document_hash));
        if let Some(text) = &c.addendum_text {
            f.push(LineStyle::Body, 0, text);
        }
    }
    if let Some(pr) = &c.procedure {
        f.push(LineStyle::Heading, 0, "二、程序事项");
        f.push(
            LineStyle::Body,
            0,
            format!("执法人员于 {} 出示执法证件（{}）。", pr.credentials_shown_at, pr.credentials_method),
        );
        if pr.rights_explained {
            f.push(LineStyle::Body, 0, "已告知当事人依法享有的陈述、申辩等权利和配合检查的义务。");
        }
        let answer = if pr.recusal_requested { "申请回避" } else { "不申请回避" };
        f.push(
            LineStyle::Body,
            0,
            format!("{} 询问当事人是否申请执法人员回避，当事人答复：{answer}。", pr.recusal_asked_at),
        );
    }
    if c.kind == DocumentKind::Record {
        f.push(LineStyle::Heading, 0, "三、检查情况");
        for (n, item) in c.items.iter().enumerate() {
            f.push(LineStyle::Body, 0, format!("{}. {}：{}", n + 1, item.check_point, item.result));
            if let Some(r) = &item.remark {
                f.push(LineStyle::Small, 16, format!("说明：{r}"));
            }
            for corr in &item.corrections {
                f.push(
                    LineStyle::Small,
                    16,
                    format!("更正：原为“{}”，{} 更正，理由：{}", corr.previous, corr.at, corr.reason),
                );
            }
        }
        f.push(LineStyle::Heading, 0, "四、发现的问题");
        if c.findings.is_empty() {
            f.push(LineStyle::Body, 0, "未发现问题。");
        }
        for (n, finding) in c.findings.iter().enumerate() {
            f.push(LineStyle::Body, 0, format!("{}. [{}] {}", n + 1, finding.category, finding.description));
            if !finding.legal_basis.is_empty() {
                f.push(LineStyle::Small, 16, format!("依据：{}", finding.legal_basis.join("；")));
            }
            let mut handling = format!("处理：{}", finding.handling);
            if let Some(m) = &finding.measures {
                handling.push_str(&format!("，{m}"));
            }
            if let Some(d) = &finding.deadline {
                handling.push_str(&format!("，整改期限 {d}"));
            }
            f.push(LineStyle::Small, 16, handling);
        }
        f.push(LineStyle::Heading, 0, "五、证据清单");
        if c.evidence.is_empty() {
            f.push(LineStyle::Body, 0, "无。");
        }
        for (n, e) in c.evidence.iter().enumerate() {
            f.push(
                LineStyle::Body,
                0,
                format!("{}. {} {}，{} 字节，采集于 {}", n + 1, e.kind, e.media_type, e.size, e.captured_at),
            );
            f.push(LineStyle::Small, 16, format!("SHA-256：{}", e.sha256));
        }
    }
    if !c.revisions.is_empty() {
        f.push(LineStyle::Heading, 0, "修改记录");
        for r in &c.revisions {
            f.push(
                LineStyle::Small,
                0,
                format!("第{}版 {} 由 {} 修改，理由：{}", r.revision, r.at, r.by, r.reason),
            );
        }
    }
    if let Some(v) = &c.versions {
        f.push(
            LineStyle::Small,
            0,
            format!(
                "检查清单 {} 版本 {}；名录版本 {}",
                v.template_id, v.template_version, v.register_version
            ),
        );
    }
    let label = if c.party_statement.objection { "当事人异议" } else { "当事人意见" };
    f.push(LineStyle::Heading, 0, format!("{label}：{}", c.party_statement.text));
    f
}

/// Lays the content out into pages.
pub fn layout(content: &RecordContent) -> Vec<Page> {
    let flow = flow(content);
    let mut bodies: Vec<Vec<Line>> = Vec::new();
    let title = Line {
        style: LineStyle::Title,
        x: centred(&content.title, LineStyle::Title),
        y: TOP,
        text: content.title.clone(),
    };
    let mut current = vec![title];
    let mut y = TOP + LineStyle::Title.advance();
    for (style, indent, text) in flow.0 {
        let advance = style.advance();
        if y + advance > CLOSING_TOP {
            bodies.push(std::mem::take(&mut current));
            y = TOP;
        }
        current.push(Line { style, x: MARGIN_X + indent, y, text });
        y += advance;
    }
    bodies.push(current);
    let total = bodies.len() as u32;
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, mut lines)| {
            let number = i as u32 + 1;
            lines.push(Line {
                style: LineStyle::Body,
                x: MARGIN_X,
                y: CLOSING_TOP + 24,
                text: "当事人（签名）：".into(),
            });
            lines.push(Line {
                style: LineStyle::Body,
                x: 310,
                y: CLOSING_TOP + 24,
                text: "执法人员（签名）：".into(),
            });
            let footer = format!("第{number}页共{total}页");
            lines.push(Line {
                style: LineStyle::Small,
                x: centred(&footer, LineStyle::Small),
                y: 812,
                text: footer,
            });
            Page {
                layout: LAYOUT_VERSION,
                number,
                total,
                width: PAGE_WIDTH,
                height: PAGE_HEIGHT,
                lines,
                slots: vec![
                    Slot {
                        role: SignerRole::Party,
                        x: MARGIN_X,
                        y: CLOSING_TOP + 32,
                        width: 230,
                        height: 60,
                    },
                    Slot { role: SignerRole::Inspector, x: 310, y: CLOSING_TOP + 32, width: 229, height: 60 },
                ],
            }
        })
        .collect()
}

fn centred(text: &str, style: LineStyle) -> u32 {
    let w = width(text, style.size()) as u32;
    (PAGE_WIDTH.saturating_sub(w)) / 2
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_character_and_fits_the_width() {
        let text = "排污口标志牌设置不规范，".repeat(20) + "COD 35.2 mg/L";
        let lines = wrap(&text, 10.5, 400.0);
        assert!(lines.len() > 3);
        assert_eq!(lines.concat(), text);
        assert!(lines.iter().all(|l| width(l, 10.5) <= 400.0));
    }
}
