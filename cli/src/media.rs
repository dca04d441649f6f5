//! `fieldseal media probe FILE [--json]`: what ingest would record from a file (media type, hash,
//! EXIF, GPS, orientation, thumbnail) and whether it would accept it. Stores nothing.
//!
//! Exit status: 0 ingest would accept the file, 1 ingest would refuse it, 2 it cannot be read.

use std::path::Path;

use fieldseal_core::{
    evidence::probe::{ProbeReport, probe},
    explain::Explain,
};

pub fn run_probe(path: &Path, json: bool) -> i32 {
    let report = match probe(path) {
        Ok(report) => report,
        Err(e) => {
            let x = e.explain();
            eprintln!("{}: {}\n{}", x.code, x.message_en, x.message_zh);
            return 2;
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("cannot write JSON: {e}");
                return 2;
            }
        }
    } else {
        print!("{}", render(&report));
    }
    if report.refusal.is_some() { 1 } else { 0 }
}

fn render(r: &ProbeReport) -> String {
    let mut out = String::new();
    let mut line = |label: &str, value: String| out.push_str(&format!("{label:<14} {value}\n"));
    line("media type", r.media_type.unwrap_or("unknown").to_string());
    line("size", format!("{} bytes", r.size));
    line("sha256", r.sha256.clone());
    match &r.exif {
        None => line("exif", "none".into()),
        Some(e) => {
            let text = |v: &Option<String>| v.clone().unwrap_or_else(|| "-".into());
            line("make", text(&e.make));
            line("model", text(&e.model));
            let taken = match (e.date_time_original, e.offset_minutes) {
                (Some(t), Some(m)) => {
                    format!("{t} {}{:02}:{:02}", if m < 0 { '-' } else { '+' }, m.abs() / 60, m.abs() % 60)
                }
                (Some(t), None) => format!("{t} (no offset)"),
                _ => "-".into(),
            };
            line("taken", taken);
            line(
                "orientation",
                e.orientation.map_or("-".into(), |o| format!("{o} ({})", orientation_name(o))),
            );
            match &e.gps {
                None => line("gps", "none".into()),
                Some(g) => {
                    let mut gps = match g.position() {
                        Some(p) => format!("{:.6}, {:.6} (WGS-84)", p.lat, p.lon),
                        None => "no position".to_string(),
                    };
                    if let Some(alt) = g.altitude_m {
                        gps.push_str(&format!(", altitude {alt:.1} m"));
                    }
                    if let Some(err) = g.h_positioning_error_m {
                        gps.push_str(&format!(", ±{err:.1} m"));
                    }
                    line("gps", gps);
                    if let Some(gcj) = &r.gps_gcj02 {
                        line("gps (GCJ-02)", format!("{:.6}, {:.6}", gcj.lat, gcj.lon));
                    }
                }
            }
            if !e.unreadable.is_empty() {
                line("unreadable", e.unreadable.join(", "));
            }
            if !e.irregular.is_empty() {
                line("irregular", e.irregular.join(", "));
            }
        }
    }
    if let Some(m) = &r.movie {
        line("created", m.created_utc.map_or("-".into(), |t| t.to_rfc3339()));
        line("duration", m.duration_s.map_or("-".into(), |d| format!("{d:.3} s")));
        line(
            "location",
            m.location.as_ref().map_or("none".into(), |l| format!("{:.6}, {:.6} (WGS-84)", l.lat, l.lon)),
        );
    }
    line("thumbnail", r.thumbnail.map_or("none".to_string(), |t| format!("yes ({t})")));
    for f in &r.flags {
        line("flag", format!("{} — {}", f.code(), f.message().en));
    }
    match &r.refusal {
        None => line("verdict", "ingest would accept this file".into()),
        Some(x) => {
            line("verdict", format!("REFUSED ({})", x.code));
            line("", x.message_en.clone());
            line("", x.message_zh.clone());
        }
    }
    out
}

fn orientation_name(o: u8) -> &'static str {
    match o {
        1 => "upright",
        2 => "mirrored",
        3 => "rotated 180°",
        4 => "mirrored, rotated 180°",
        5 => "mirrored, rotated 90° counter-clockwise",
        6 => "rotated 90° clockwise",
        7 => "mirrored, rotated 90° clockwise",
        8 => "rotated 90° counter-clockwise",
        _ => "invalid",
    }
}
