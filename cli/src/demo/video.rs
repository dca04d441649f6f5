//! The demo's short video: a real two-second MP4 from ffmpeg's test pattern when ffmpeg is on the
//! machine; otherwise a minimal ISO-BMFF file (`ftyp`, `mdat` of pattern bytes, `moov` with its
//! `mvhd`) made here, which ingest seals as a video container but no player will show. The caller
//! says which one it got.

use std::{path::Path, process::Command};

/// What stands in the file.
pub enum Video {
    Encoded,
    ContainerOnly,
}

pub fn make(path: &Path) -> std::io::Result<Video> {
    let encoded = Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i"])
        .arg("testsrc=duration=2:size=320x240:rate=10")
        .args(["-c:v", "mpeg4", "-q:v", "5", "-movflags", "+faststart"])
        .arg(path)
        .output();
    if matches!(&encoded, Ok(out) if out.status.success()) && path.metadata().is_ok_and(|m| m.len() > 0) {
        return Ok(Video::Encoded);
    }
    std::fs::write(path, container())?;
    Ok(Video::ContainerOnly)
}

fn boxed(kind: &[u8; 4], body: &[u8]) -> Vec<u8> {
    let mut out = ((8 + body.len()) as u32).to_be_bytes().to_vec();
    out.extend_from_slice(kind);
    out.extend_from_slice(body);
    out
}

fn container() -> Vec<u8> {
    let mut ftyp = b"mp42".to_vec();
    ftyp.extend_from_slice(&0u32.to_be_bytes());
    ftyp.extend_from_slice(b"isommp42");
    let mdat: Vec<u8> = (0..64 * 1024u32).map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8).collect();
    // mvhd version 0: flags, creation and modification (seconds since 1904), timescale, duration.
    let created = 3_880_000_000u32;
    let mut mvhd = vec![0u8; 4];
    mvhd.extend_from_slice(&created.to_be_bytes());
    mvhd.extend_from_slice(&created.to_be_bytes());
    mvhd.extend_from_slice(&1000u32.to_be_bytes());
    mvhd.extend_from_slice(&2000u32.to_be_bytes());
    mvhd.resize(100, 0);
    let mut file = boxed(b"ftyp", &ftyp);
    file.extend(boxed(b"mdat", &mdat));
    file.extend(boxed(b"moov", &boxed(b"mvhd", &mvhd)));
    file
}
