//! Large files stream through ingest with flat memory. Alone in its binary so no other test's
//! allocations run in parallel with the measurement.

use fieldseal_test_support as support;

use std::fs;

use fieldseal_core::evidence::{CancelToken, EvidenceKind, ingest, verify_item};
use support::{
    harness::{Env, request},
    testmedia,
};

/// Peak and current resident memory of this process, in KiB, from `/proc/self/status`.
fn memory_kib() -> (u64, u64) {
    let status = fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

#[test]
fn a_multi_hundred_megabyte_video_streams_with_flat_memory() {
    let env = Env::new();
    let source = env.dir.path().join("VID_long.mp4");
    let size = 320u64 << 20;
    testmedia::write_video_like(&source, size).unwrap();
    // Reset the peak so it measures ingest alone (Linux: "5" clears VmHWM).
    let _ = fs::write("/proc/self/clear_refs", "5");
    let (_, rss_before) = memory_kib();
    let mut last = 0;
    let out = ingest(&env.context(), &request(&source, EvidenceKind::Video), &CancelToken::new(), &mut |p| {
        last = p.done;
    })
    .unwrap();
    let (peak, _) = memory_kib();
    assert_eq!(last, size);
    assert_eq!(out.manifest.size, size);
    let growth_mib = peak.saturating_sub(rss_before) / 1024;
    eprintln!("sealing {} MiB grew peak RSS by {growth_mib} MiB", size >> 20);
    assert!(growth_mib <= 32, "resident memory grew by {growth_mib} MiB while sealing {} MiB", size >> 20);
    verify_item(&env.store, &out.evidence_id, &env.public_key()).unwrap();
}
