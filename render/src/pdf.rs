//! [`KrillaRenderer`]: the record's page model drawn exactly, as PDF/A-2b.
//!
//! Every line of the page model is drawn at its position in its style's size with the pinned font,
//! embedded as a per-document subset with a ToUnicode map (so the text can be selected, searched
//! and extracted). Nothing else is written as text: the verifier compares the PDF's text with the
//! signed pages. Signatures are drawn as vector paths from their strokes, scaled into the slots of
//! their role on every page. krilla's PDF/A-2b validation stays on: a glyph missing from the font
//! fails the export instead of printing a blank box in a legal record.

use fieldseal_core::{
    bundle::{format::PdfProvenance, pdf::PdfRenderer},
    record::{RecordDocument, SignerRole, Strokes, layout::Slot},
};
use krilla::{
    Document, SerializeSettings,
    configure::{Archival, ConfigurationBuilder},
    geom::{PathBuilder, Point},
    metadata::{DateTime, Metadata},
    page::PageSettings,
    paint::{LineCap, LineJoin, Stroke},
    text::{Font, TextDirection},
};

use crate::font::{FAMILY, PinnedFont, SC_INDEX};

pub struct KrillaRenderer {
    font: PinnedFont,
}

impl KrillaRenderer {
    pub fn new(font: PinnedFont) -> Self {
        Self { font }
    }
}

/// `YYYY-MM-DD HH:MM` (the record's end time) as the PDF's creation date.
fn creation_date(minute: &str) -> DateTime {
    let num =
        |range: std::ops::Range<usize>| minute.get(range).and_then(|s| s.parse::<u16>().ok()).unwrap_or(0);
    DateTime::new(num(0..4).max(2000))
        .month(num(5..7) as u8)
        .day(num(8..10) as u8)
        .hour(num(11..13) as u8)
        .minute(num(14..16) as u8)
}

/// Draws `strokes` scaled to fit `area` (x, y, w, h), keeping the aspect ratio.
fn draw_strokes(surface: &mut krilla::surface::Surface<'_>, strokes: &Strokes, area: (f32, f32, f32, f32)) {
    let (x, y, w, h) = area;
    let scale = (w / strokes.pad.width as f32).min(h / strokes.pad.height as f32);
    for stroke in &strokes.strokes {
        let mut pb = PathBuilder::new();
        let Some(first) = stroke.first() else { continue };
        pb.move_to(x + first.x as f32 * scale, y + first.y as f32 * scale);
        if stroke.len() == 1 {
            pb.line_to(x + first.x as f32 * scale + 0.5, y + first.y as f32 * scale);
        }
        for p in &stroke[1..] {
            pb.line_to(x + p.x as f32 * scale, y + p.y as f32 * scale);
        }
        if let Some(path) = pb.finish() {
            surface.set_fill(None);
            surface.set_stroke(Some(Stroke {
                width: 1.0,
                line_cap: LineCap::Round,
                line_join: LineJoin::Round,
                ..Stroke::default()
            }));
            surface.draw_path(&path);
        }
    }
}

fn slot_for(role: SignerRole) -> SignerRole {
    match role {
        SignerRole::Inspector => SignerRole::Inspector,
        // A witness signs where the party would have.
        SignerRole::Party | SignerRole::Witness => SignerRole::Party,
    }
}

impl PdfRenderer for KrillaRenderer {
    fn provenance(&self) -> PdfProvenance {
        PdfProvenance {
            renderer: format!("fieldseal-render {} (krilla 0.8)", env!("CARGO_PKG_VERSION")),
            font_family: FAMILY.into(),
            font_file: self
                .font
                .path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            font_sha256: self.font.sha256.clone(),
            standard: "PDF/A-2b".into(),
        }
    }

    fn render(
        &self,
        document: &RecordDocument,
        signatures: &[(SignerRole, Strokes)],
    ) -> Result<Vec<u8>, String> {
        let font =
            Font::new(self.font.bytes.clone().into(), SC_INDEX).ok_or("the record font cannot be read")?;
        let configuration = ConfigurationBuilder::new()
            .with_archival_validator(Archival::A2_B)
            .finish()
            .map_err(|e| format!("PDF configuration: {e:?}"))?;
        let mut pdf = Document::new_with(SerializeSettings { configuration, ..SerializeSettings::default() });
        let content = &document.content;
        pdf.set_metadata(
            Metadata::new()
                .title(content.title.clone())
                .language("zh-CN".into())
                .creator("fieldseal".into())
                .creation_date(creation_date(&content.header.ended_at)),
        );
        for page in &document.pages {
            let settings = PageSettings::from_wh(page.width as f32, page.height as f32).ok_or("page size")?;
            let mut p = pdf.start_page_with(settings);
            let mut surface = p.surface();
            for line in &page.lines {
                surface.draw_text(
                    Point::from_xy(line.x as f32, line.y as f32),
                    font.clone(),
                    line.style.size(),
                    &line.text,
                    false,
                    TextDirection::Auto,
                );
            }
            for slot in &page.slots {
                let Slot { role, x, y, width, height } = slot.clone();
                let mine: Vec<&Strokes> =
                    signatures.iter().filter(|(r, _)| slot_for(*r) == role).map(|(_, s)| s).collect();
                let n = mine.len().max(1) as f32;
                let each = width as f32 / n;
                for (i, strokes) in mine.into_iter().enumerate() {
                    draw_strokes(
                        &mut surface,
                        strokes,
                        (x as f32 + i as f32 * each, y as f32, each, height as f32),
                    );
                }
            }
            surface.finish();
            p.finish();
        }
        pdf.finish().map_err(|e| format!("PDF/A-2b export refused: {e:?}"))
    }
}
