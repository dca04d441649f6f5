//! 签名笔迹 — the raw stroke data of a handwritten signature, its checks and its image.
//!
//! The strokes are the primary record of a signature (the image is derived from them). Layout after
//! ISO/IEC 19794-7 (signature/sign time series): the pad's size and resolution, then for each pen-down
//! stroke its points with x, y (pad pixels, origin top left), t (milliseconds since the first point)
//! and pressure (0–1023, 0 when the pad reports none); a pen-up separates strokes. Integers only, so
//! the canonical JSON is exact on every platform.
//!
//! Stroke data is biometric: it is sealed at rest like evidence and only leaves the device inside
//! an exported bundle.

use serde::{Deserialize, Serialize};

use super::RecordError;

/// Bounds that no real signature pad and signature exceed.
const MAX_PAD_PX: u32 = 8192;
const MIN_PAD_PX: u32 = 64;
const MAX_POINTS: usize = 20_000;
const MAX_STROKES: usize = 200;
const MAX_DURATION_MS: u32 = 5 * 60 * 1000;
pub const MAX_PRESSURE: u16 = 1023;
/// The image is rendered at most this wide or high; larger pads are scaled down.
const MAX_IMAGE_PX: u32 = 2048;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Pad {
    pub width: u32,
    pub height: u32,
    pub dpi: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct StrokePoint {
    pub x: u32,
    pub y: u32,
    pub t: u32,
    pub p: u16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[serde(deny_unknown_fields)]
pub struct Strokes {
    pub pad: Pad,
    /// Pen-down strokes in the order drawn.
    pub strokes: Vec<Vec<StrokePoint>>,
}

impl Strokes {
    /// Refuses strokes that cannot be a signature: empty, a dot, off the pad, time running
    /// backwards, implausibly long or large. The rule names what is wrong.
    pub fn check(&self) -> Result<(), RecordError> {
        let bad = |rule| Err(RecordError::Strokes { rule });
        let pad = self.pad;
        if !(MIN_PAD_PX..=MAX_PAD_PX).contains(&pad.width) || !(MIN_PAD_PX..=MAX_PAD_PX).contains(&pad.height)
        {
            return bad("strokes.pad.size");
        }
        if !(72..=1200).contains(&pad.dpi) {
            return bad("strokes.pad.dpi");
        }
        if self.strokes.is_empty() || self.strokes.iter().all(|s| s.is_empty()) {
            return bad("strokes.empty");
        }
        if self.strokes.len() > MAX_STROKES {
            return bad("strokes.too_many_strokes");
        }
        if self.strokes.iter().any(|s| s.is_empty()) {
            return bad("strokes.empty_stroke");
        }
        let points: Vec<&StrokePoint> = self.strokes.iter().flatten().collect();
        if points.len() > MAX_POINTS {
            return bad("strokes.too_many_points");
        }
        if points.len() < 2 {
            return bad("strokes.single_point");
        }
        let mut last_t = 0;
        for pt in &points {
            if pt.x > pad.width || pt.y > pad.height {
                return bad("strokes.point_off_pad");
            }
            if pt.p > MAX_PRESSURE {
                return bad("strokes.pressure_out_of_range");
            }
            if pt.t < last_t {
                return bad("strokes.time_backwards");
            }
            last_t = pt.t;
        }
        if points[0].t != 0 {
            return bad("strokes.time_not_from_zero");
        }
        if last_t == 0 {
            return bad("strokes.no_duration");
        }
        if last_t > MAX_DURATION_MS {
            return bad("strokes.too_long");
        }
        let (min_x, max_x) = points.iter().fold((u32::MAX, 0), |(lo, hi), p| (lo.min(p.x), hi.max(p.x)));
        let (min_y, max_y) = points.iter().fold((u32::MAX, 0), |(lo, hi), p| (lo.min(p.y), hi.max(p.y)));
        // A signature spans more than a speck: at least 2 % of the pad in one direction.
        if (max_x - min_x) * 50 < pad.width && (max_y - min_y) * 50 < pad.height {
            return bad("strokes.too_small");
        }
        Ok(())
    }

    /// Renders the strokes black on transparent, anti-aliased, 0.6 mm wide, as PNG. Deterministic
    /// for the same strokes and the same build, though the image is never re-derived for
    /// verification: its own hash is signed.
    pub fn render_png(&self) -> Result<Vec<u8>, RecordError> {
        self.check()?;
        let scale = (MAX_IMAGE_PX as f32 / self.pad.width.max(self.pad.height) as f32).min(1.0);
        let (w, h) =
            ((self.pad.width as f32 * scale).ceil() as u32, (self.pad.height as f32 * scale).ceil() as u32);
        let mut pixmap = tiny_skia::Pixmap::new(w.max(1), h.max(1))
            .ok_or(RecordError::Strokes { rule: "strokes.pad.size" })?;
        let mut paint = tiny_skia::Paint::default();
        paint.set_color_rgba8(0, 0, 0, 255);
        paint.anti_alias = true;
        let pen = (self.pad.dpi as f32 * 0.6 / 25.4 * scale).max(1.0);
        for stroke in &self.strokes {
            let mut pb = tiny_skia::PathBuilder::new();
            let first = stroke[0];
            pb.move_to(first.x as f32 * scale, first.y as f32 * scale);
            if stroke.len() == 1 {
                // A tap: a short dash so it shows.
                pb.line_to(first.x as f32 * scale + pen / 2.0, first.y as f32 * scale);
            }
            for p in &stroke[1..] {
                pb.line_to(p.x as f32 * scale, p.y as f32 * scale);
            }
            if let Some(path) = pb.finish() {
                let stroke_style = tiny_skia::Stroke {
                    width: pen,
                    line_cap: tiny_skia::LineCap::Round,
                    line_join: tiny_skia::LineJoin::Round,
                    ..tiny_skia::Stroke::default()
                };
                pixmap.stroke_path(&path, &paint, &stroke_style, tiny_skia::Transform::identity(), None);
            }
        }
        pixmap.encode_png().map_err(|e| RecordError::invalid("signature image", e.to_string()))
    }

    /// A plausible synthetic signature for demos and tests: `seed` varies the shape.
    pub fn synthetic(seed: u32) -> Strokes {
        let pad = Pad { width: 600, height: 200, dpi: 160 };
        let mut strokes = Vec::new();
        let mut t = 0;
        for s in 0..3u32 {
            let mut stroke = Vec::new();
            for i in 0..40u32 {
                let x = 40 + s * 180 + i * 4;
                let phase = (i as f32 / 6.0 + seed as f32 + s as f32).sin();
                let y = (100.0 + 60.0 * phase) as u32;
                stroke.push(StrokePoint { x, y, t, p: 400 + ((i * 13 + seed) % 500) as u16 });
                t += 12;
            }
            t += 150;
            strokes.push(stroke);
        }
        Strokes { pad, strokes }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_signature_passes_and_renders_a_png() {
        let s = Strokes::synthetic(7);
        s.check().unwrap();
        let png = s.render_png().unwrap();
        assert_eq!(&png[1..4], b"PNG");
    }

    #[test]
    fn empty_or_absurd_strokes_are_refused_with_their_rule() {
        let rule = |s: &Strokes| match s.check() {
            Err(RecordError::Strokes { rule }) => rule,
            other => panic!("expected a strokes error, got {other:?}"),
        };
        let good = Strokes::synthetic(1);
        let mut empty = good.clone();
        empty.strokes.clear();
        assert_eq!(rule(&empty), "strokes.empty");
        let mut dot = good.clone();
        dot.strokes =
            vec![vec![StrokePoint { x: 10, y: 10, t: 0, p: 1 }, StrokePoint { x: 11, y: 10, t: 5, p: 1 }]];
        assert_eq!(rule(&dot), "strokes.too_small");
        let mut off = good.clone();
        off.strokes[0][3].x = 10_000;
        assert_eq!(rule(&off), "strokes.point_off_pad");
        let mut backwards = good.clone();
        backwards.strokes[1][0].t = 1;
        assert_eq!(rule(&backwards), "strokes.time_backwards");
        let mut pad = good.clone();
        pad.pad.width = 1;
        assert_eq!(rule(&pad), "strokes.pad.size");
        let mut pressure = good.clone();
        pressure.strokes[0][0].p = 5000;
        assert_eq!(rule(&pressure), "strokes.pressure_out_of_range");
        let mut long = good.clone();
        long.strokes[2].last_mut().unwrap().t = 3_600_000;
        assert_eq!(rule(&long), "strokes.too_long");
        let mut many = good;
        many.strokes = vec![vec![StrokePoint { x: 1, y: 1, t: 0, p: 0 }; 10]; 300];
        assert_eq!(rule(&many), "strokes.too_many_strokes");
    }
}
