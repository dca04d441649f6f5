//! The pinned evidence manifest vectors: `tests/vectors/evidence_manifest_v1.json` (what terminals
//! sealed before v2: the v1 field set) and `evidence_manifest_v2.json` (movie metadata, HEIF/AVIF,
//! partial EXIF GPS, the irregularity flags). Each envelope must verify under the published test
//! key, open as a manifest of its version, and re-serialise to exactly its pinned canonical payload;
//! each refused case must fail with its code. A failure means the manifest format changed, which
//! needs a new version and a new file, never an edit to these (docs/formats/evidence-manifest.md).

use fieldseal_core::{
    crypto::{DeviceSigner, signer::SoftwareSigner},
    evidence::{
        EvidenceManifest,
        manifest::{self, MANIFEST_VERSION, SUPPORTED_MANIFEST_VERSIONS},
    },
    protocol::{SignedEnvelope, canonicalize},
};
use serde::Deserialize;
use serde_json::{Value, json};

const V1: &str = include_str!("vectors/evidence_manifest_v1.json");
const V2: &str = include_str!("vectors/evidence_manifest_v2.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Vectors {
    format: String,
    description: String,
    manifest_version: u32,
    test_key: TestKey,
    cases: Vec<Case>,
    refused: Vec<Refused>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestKey {
    warning: String,
    pkcs8_hex: String,
    public_key_hex: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    canonical_payload: String,
    envelope_json: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Refused {
    name: String,
    envelope_json: String,
    error: String,
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn load(text: &str) -> Vectors {
    let v: Vectors = serde_json::from_str(text).unwrap();
    assert!(!v.format.is_empty() && !v.description.is_empty() && !v.test_key.warning.is_empty());
    assert!(!v.cases.is_empty() && !v.refused.is_empty());
    // The published key is the pair it claims to be.
    let signer = SoftwareSigner::from_pkcs8_for_tests(&unhex(&v.test_key.pkcs8_hex)).unwrap();
    assert_eq!(signer.public_key().unwrap(), unhex(&v.test_key.public_key_hex));
    v
}

fn check_file(text: &str) {
    let vectors = load(text);
    let public = unhex(&vectors.test_key.public_key_hex);
    for case in &vectors.cases {
        let envelope = SignedEnvelope::from_json_str(&case.envelope_json).unwrap();
        let opened = manifest::open_signed(&envelope, &public)
            .unwrap_or_else(|e| panic!("{}: {e} ({})", case.name, e.explain().code));
        assert_eq!(opened.v, vectors.manifest_version, "{}", case.name);
        // The struct says exactly what was signed: nothing dropped, renamed or reordered.
        let again = canonicalize(&serde_json::to_value(&opened).unwrap()).unwrap();
        assert_eq!(again, case.canonical_payload, "{}: the manifest format changed", case.name);
        assert_eq!(canonicalize(&envelope.payload).unwrap(), case.canonical_payload, "{}", case.name);
    }
    for refused in &vectors.refused {
        let result = SignedEnvelope::from_json_str(&refused.envelope_json)
            .and_then(|envelope| manifest::open_signed(&envelope, &public));
        match result {
            Ok(m) => panic!("{}: accepted v{}", refused.name, m.v),
            Err(e) => assert_eq!(e.explain().code, refused.error, "{}: {e}", refused.name),
        }
    }
}

#[test]
fn manifest_v1_vectors_still_verify_and_refuse_what_v1_cannot_say() {
    assert!(SUPPORTED_MANIFEST_VERSIONS.contains(&1));
    check_file(V1);
}

#[test]
fn manifest_v2_vectors_verify_and_reserialise_exactly() {
    assert_eq!(MANIFEST_VERSION, 2, "ingest writes the newest version");
    check_file(V2);
}

/// A v1 vector with any v2-only field is refused even when properly signed: what v1 means must
/// not change under a v1 verifier's feet.
#[test]
fn every_v2_feature_in_a_v1_manifest_is_refused() {
    let v2 = load(V2);
    let payload = SignedEnvelope::from_json_str(&v2.cases[0].envelope_json).unwrap().payload;
    let mut as_v1 = payload.clone();
    as_v1["v"] = json!(1);
    let m: EvidenceManifest = serde_json::from_value(as_v1).unwrap();
    let reason = m.check_format().unwrap_err();
    assert!(reason.contains("only v2"), "{reason}");
}

/// Prints the two vector files, signed with the published test key of
/// `protocol_envelope_v2.json`. Run by hand only when minting a new version
/// (`cargo test -p fieldseal-core --test evidence_manifest_vectors -- --ignored --nocapture`),
/// then save under a new name; never overwrite a published version.
#[test]
#[ignore = "mints new vectors; run by hand for a new format version only"]
fn mint_manifest_vectors() {
    let key: Value = serde_json::from_str(include_str!("vectors/protocol_envelope_v2.json")).unwrap();
    let pkcs8 = key["test_key"]["pkcs8_hex"].as_str().unwrap().to_owned();
    let public = key["test_key"]["public_key_hex"].as_str().unwrap().to_owned();
    let key_id = key["test_key"]["key_id"].as_str().unwrap().to_owned();
    let signer = SoftwareSigner::from_pkcs8_for_tests(&unhex(&pkcs8)).unwrap();
    let seal = |payload: &Value| {
        // Through the struct, so every pinned payload is one the code can write.
        let m: EvidenceManifest = serde_json::from_value(payload.clone()).unwrap();
        let value = serde_json::to_value(&m).unwrap();
        SignedEnvelope::seal(&value, &signer).unwrap()
    };
    let case = |name: &str, payload: Value| {
        let envelope = seal(&payload);
        json!({
            "name": name,
            "canonical_payload": canonicalize(&envelope.payload).unwrap(),
            "envelope_json": envelope.to_json_string().unwrap(),
        })
    };
    let signed_raw =
        |payload: Value| SignedEnvelope::seal(&payload, &signer).unwrap().to_json_string().unwrap();
    let refused = |name: &str, envelope_json: String, error: &str| json!({"name": name, "envelope_json": envelope_json, "error": error});
    let tampered = |payload: &Value, f: &dyn Fn(&mut Value)| {
        let mut envelope = seal(payload);
        f(&mut envelope.payload);
        envelope.to_json_string().unwrap()
    };

    let signed_by_test_key = |mut v: Value| {
        v["device_key_id"] = json!(key_id);
        v
    };
    let v1_photo = signed_by_test_key(v1_photo());
    let v1_video = signed_by_test_key(v1_video());
    let v2_video = signed_by_test_key(v2_video());
    let v2_avif = signed_by_test_key(v2_avif());
    let with = |base: &Value, f: &dyn Fn(&mut Value)| {
        let mut v = base.clone();
        f(&mut v);
        v
    };
    let doc = |version: u32, cases: Vec<Value>, refused: Vec<Value>| {
        json!({
            "format": format!("fieldseal evidence manifest, version {version} (core/src/evidence/manifest.rs)"),
            "description": "Each envelope_json is a signed envelope (protocol_envelope_v2.json) whose payload is an evidence manifest of this version. It verifies under test_key, opens as a manifest of manifest_version, and canonical(payload) == canonical_payload, which the reference parser re-serialises unchanged. Each refused envelope must fail with its error code. ECDSA is randomised: re-signing gives another, equally valid signature. Never edit: add a new version.",
            "manifest_version": version,
            "test_key": {
                "warning": "Published test key (the one in protocol_envelope_v2.json): its private key is in this file. Never enrol or trust it.",
                "pkcs8_hex": pkcs8,
                "public_key_hex": public,
            },
            "cases": cases,
            "refused": refused,
        })
    };
    let v1 = doc(
        1,
        vec![
            case("photo with EXIF, GPS and a time mismatch", v1_photo.clone()),
            case("video, no EXIF", v1_video.clone()),
        ],
        vec![
            refused(
                "v1 naming image/avif",
                signed_raw(with(&v1_photo, &|v| v["media_type"] = json!("image/avif"))),
                "protocol.malformed",
            ),
            refused(
                "v1 with a movie summary",
                signed_raw(with(&v1_video, &|v| v["movie"] = json!({"duration_s": 12.5}))),
                "protocol.malformed",
            ),
            refused(
                "v1 with the exif_irregular flag",
                signed_raw(with(&v1_photo, &|v| {
                    v["flags"] = json!([{"flag": "exif_irregular", "details": ["unexpected_next_ifd"]}])
                })),
                "protocol.malformed",
            ),
            refused(
                "v1 EXIF GPS with only an altitude",
                signed_raw(with(&v1_photo, &|v| v["exif"]["gps"] = json!({"altitude_m": 12.0}))),
                "protocol.malformed",
            ),
            refused(
                "names another device key than the one that signed",
                signed_raw(with(&v1_photo, &|v| v["device_key_id"] = json!("00".repeat(16)))),
                "protocol.malformed",
            ),
            refused(
                "size changed after signing",
                tampered(&v1_photo, &|v| v["size"] = json!(2_261_837)),
                "protocol.bad_signature",
            ),
        ],
    );
    let v2 = doc(
        2,
        vec![
            case("video with movie metadata and a location atom", v2_video.clone()),
            case("AVIF with irregular EXIF, altitude-only GPS and a preview over budget", v2_avif.clone()),
            case("v1 photo fields under v2", with(&v1_photo, &|v| v["v"] = json!(2))),
        ],
        vec![
            refused("version 3", signed_raw(with(&v2_video, &|v| v["v"] = json!(3))), "protocol.malformed"),
            refused(
                "unknown member",
                signed_raw(with(&v2_video, &|v| v["note"] = json!("added later"))),
                "protocol.malformed",
            ),
            refused(
                "another statement type",
                signed_raw(with(&v2_avif, &|v| v["type"] = json!("evidence_note"))),
                "protocol.malformed",
            ),
            refused(
                "movie duration changed after signing",
                tampered(&v2_video, &|v| v["movie"]["duration_s"] = json!(13.0)),
                "protocol.bad_signature",
            ),
        ],
    );
    println!("=== evidence_manifest_v1.json\n{}", serde_json::to_string_pretty(&v1).unwrap());
    println!("=== evidence_manifest_v2.json\n{}", serde_json::to_string_pretty(&v2).unwrap());
}

fn common(v: u32, id: &str, sha: &str, size: u64, media: &str, kind: &str) -> Value {
    json!({
        "type": "evidence_manifest", "v": v, "evidence_id": id, "sha256": sha, "size": size,
        "media_type": media, "kind": kind,
        "captured": {"wall_clock": "2024-06-01T09:41:07+08:00", "monotonic_ms": 86_400_123,
                     "gnss_time": "2024-06-01T01:41:06Z", "server_offset_ms": -350},
        "location": {"lat": 30.274085, "lon": 120.15507, "altitude_m": 12.5, "accuracy_m": 4.5,
                     "provider": "fused", "fix_time": "2024-06-01T01:41:03Z", "mocked": false, "satellites": 17},
        "distance_to_site_m": 0.0,
        "flags": [],
        "supports_presence": true,
        "device_key_id": "set to the test key's id",
        "operator": "inspector-0012",
        "inspection_id": "insp-20240601-03",
        "item_id": "item-water-outlet-1",
        "app_version": "1.4.0",
        "core_version": "0.1.0",
    })
}

fn v1_photo() -> Value {
    let mut v = common(
        1,
        "ev-20240601-0007",
        "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        2_261_836,
        "image/jpeg",
        "photo",
    );
    v["exif"] = json!({"date_time_original": "2024-06-01T09:39:02", "offset_minutes": 480, "make": "HUAWEI",
        "model": "ELS-AN00", "orientation": 6, "has_thumbnail": true,
        "gps": {"lat": 30.27411, "lon": 120.155049, "altitude_m": 11.8, "time_utc": "2024-06-01T01:39:01Z"}});
    v["flags"] = json!([{"flag": "exif_time_mismatch", "delta_secs": -125, "tolerance_secs": 120, "offset_known": true}]);
    v["thumbnail_sha256"] = json!("2c26b46b68ffc68ff99b453c1d30413413422d706483bfa0f98a5e886266e7ae");
    v
}

fn v1_video() -> Value {
    let mut v = common(
        1,
        "ev-20240601-0008",
        "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9",
        48_211_002,
        "video/mp4",
        "video",
    );
    v["finding_id"] = json!("finding-1");
    v
}

fn v2_video() -> Value {
    let mut v = common(
        2,
        "ev-20240601-0009",
        "b5bb9d8014a0f9b1d61e21e796d78dccdf1352f23cd32812f4850b878ae4944c",
        31_457_280,
        "video/quicktime",
        "video",
    );
    v["movie"] = json!({"created_utc": "2024-06-01T01:42:10Z", "creation_date": "2024-06-01T09:42:10+08:00",
        "duration_s": 12.5, "location": {"lat": 30.2741, "lon": 120.1551, "altitude_m": 12.0}});
    v["flags"] = json!([{"flag": "media_irregular", "details": ["isobmff_trailing_bytes"]}]);
    v
}

fn v2_avif() -> Value {
    let mut v = common(
        2,
        "ev-20240601-0010",
        "7d865e959b2466918c9863afca942d0fb89d7c9ac0c99bafc3749504ded97730",
        1_048_913,
        "image/avif",
        "photo",
    );
    v["exif"] = json!({"make": "Xiaomi", "model": "23127PN0CC", "has_thumbnail": false,
        "gps": {"altitude_m": 11.8}, "irregular": ["unexpected_next_ifd", "ifd_visited_twice"]});
    v["flags"] = json!([
        {"flag": "exif_irregular", "details": ["unexpected_next_ifd", "ifd_visited_twice"]},
        {"flag": "preview_over_budget", "needed_bytes": 155_189_248, "budget_bytes": 50_331_648},
    ]);
    v
}
