//! The pinned wire-format vectors: `tests/vectors/protocol_canonical_v1.json`,
//! `tests/vectors/protocol_envelope_v1.json` and `protocol_envelope_v2.json` (v1 under the low-S rule). Intake and any third-party verifier must reproduce
//! them byte for byte; a failure here means the wire format changed, which needs a new version
//! file, never an edit to these.

use fieldseal_core::{
    Error,
    crypto::{
        DeviceSigner,
        signer::{SoftwareSigner, is_low_s, key_id},
    },
    protocol::{SignedEnvelope, base64url, canonicalize, envelope::signing_input, parse_strict},
};
use serde::Deserialize;
use serde_json::Value;

const CANONICAL: &str = include_str!("vectors/protocol_canonical_v1.json");
const ENVELOPE: &str = include_str!("vectors/protocol_envelope_v1.json");
const ENVELOPE_V2: &str = include_str!("vectors/protocol_envelope_v2.json");

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CanonicalVectors {
    format: String,
    description: String,
    cases: Vec<CanonicalCase>,
    rejected: Vec<Rejected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CanonicalCase {
    name: String,
    input: String,
    canonical: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Rejected {
    name: String,
    input: String,
    error: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeVectors {
    format: String,
    description: String,
    signing_domain: String,
    test_key: TestKey,
    cases: Vec<EnvelopeCase>,
    tampered: Vec<Rejected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeVectorsV2 {
    format: String,
    description: String,
    signing_domain: String,
    test_key: TestKey,
    cases: Vec<EnvelopeCase>,
    high_s: Vec<Rejected>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TestKey {
    warning: String,
    pkcs8_hex: String,
    public_key_hex: String,
    key_id: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeCase {
    name: String,
    payload: Value,
    canonical_payload: String,
    signing_input_hex: String,
    envelope: Value,
    envelope_json: String,
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    assert!(s.len() % 2 == 0, "odd hex length");
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

/// Whether an envelope's signature is in low-S form (v1 pinned two high-S ones, from before the rule).
fn low_s(envelope: &SignedEnvelope) -> bool {
    let sig: [u8; 64] = base64url::decode(&envelope.signature).unwrap().try_into().unwrap();
    is_low_s(&sig)
}

/// v1's envelopes verify when their signature is low-S; a high-S one is the same genuine
/// signature in the form the core no longer accepts, refused as malformed (never as tampering).
fn verify_v1(envelope: &SignedEnvelope, public: &[u8], name: &str) {
    match (low_s(envelope), envelope.verify(public)) {
        (true, Ok(())) => {}
        (false, Err(e)) => assert_eq!(code(&e), "crypto.malformed", "{name}: {e}"),
        (low, result) => panic!("{name}: low-S {low}, verification {result:?}"),
    }
}

fn code(e: &Error) -> &'static str {
    e.explain().code
}

fn test_signer(v: &EnvelopeVectors) -> SoftwareSigner {
    SoftwareSigner::from_pkcs8_for_tests(&unhex(&v.test_key.pkcs8_hex)).unwrap()
}

#[test]
fn canonical_v1_vectors_reproduce_byte_for_byte() {
    let v: CanonicalVectors = serde_json::from_str(CANONICAL).unwrap();
    assert!(v.format.contains("version 1") && !v.description.is_empty());
    assert!(v.cases.len() >= 9 && v.rejected.len() >= 10);
    for case in &v.cases {
        let value = parse_strict(&case.input).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        let got = canonicalize(&value).unwrap_or_else(|e| panic!("{}: {e}", case.name));
        assert_eq!(got.as_bytes(), case.canonical.as_bytes(), "{}", case.name);
        // The canonical text is itself an input whose canonical form it is.
        assert_eq!(
            canonicalize(&parse_strict(&got).unwrap()).unwrap(),
            got,
            "{} is not a fixed point",
            case.name
        );
    }
}

#[test]
fn canonical_v1_rejected_inputs_fail_with_their_codes() {
    let v: CanonicalVectors = serde_json::from_str(CANONICAL).unwrap();
    for case in &v.rejected {
        let result = parse_strict(&case.input).and_then(|value| canonicalize(&value));
        match result {
            Ok(text) => panic!("{}: accepted as {text}", case.name),
            Err(e) => assert_eq!(code(&Error::from(e)), case.error, "{}", case.name),
        }
    }
}

#[test]
fn envelope_v1_test_key_is_the_one_pinned() {
    let v: EnvelopeVectors = serde_json::from_str(ENVELOPE).unwrap();
    assert!(v.format.contains("version 1") && !v.description.is_empty() && !v.test_key.warning.is_empty());
    assert_eq!(v.signing_domain.as_bytes(), fieldseal_core::protocol::envelope::SIGNING_DOMAIN);
    let signer = test_signer(&v);
    let public = signer.public_key().unwrap();
    assert_eq!(hex(&public), v.test_key.public_key_hex);
    assert_eq!(key_id(&public).unwrap(), v.test_key.key_id);
}

#[test]
fn envelope_v1_pinned_envelopes_verify_and_reserialise_exactly() {
    let v: EnvelopeVectors = serde_json::from_str(ENVELOPE).unwrap();
    let public = unhex(&v.test_key.public_key_hex);
    assert!(v.cases.len() >= 3);
    for case in &v.cases {
        let name = &case.name;
        assert_eq!(canonicalize(&case.payload).unwrap(), case.canonical_payload, "{name}");
        assert_eq!(hex(&signing_input(&case.payload).unwrap()), case.signing_input_hex, "{name}");

        let envelope = SignedEnvelope::from_json_str(&case.envelope_json).unwrap();
        // Compared canonically: the file's payload spells -0 as -0.0, the envelope as 0.
        assert_eq!(canonicalize(&envelope.payload).unwrap(), case.canonical_payload, "{name}");
        assert_eq!(
            canonicalize(&serde_json::to_value(&envelope).unwrap()).unwrap(),
            canonicalize(&case.envelope).unwrap(),
            "{name}"
        );
        assert_eq!(envelope.to_json_string().unwrap(), case.envelope_json, "{name}");
        assert_eq!(envelope.key_id, v.test_key.key_id, "{name}");
        verify_v1(&envelope, &public, name);
    }
}

#[test]
fn envelope_v1_sealing_again_with_the_test_key_gives_a_verifying_envelope() {
    // ECDSA is randomised: a new signature differs from the pinned one but must verify, and
    // everything except the signature must be identical.
    let v: EnvelopeVectors = serde_json::from_str(ENVELOPE).unwrap();
    let signer = test_signer(&v);
    let public = unhex(&v.test_key.public_key_hex);
    for case in &v.cases {
        let fresh = SignedEnvelope::seal(&case.payload, &signer).unwrap();
        fresh.verify(&public).unwrap();
        let pinned = SignedEnvelope::from_json_str(&case.envelope_json).unwrap();
        let same_but_signature = SignedEnvelope { signature: pinned.signature.clone(), ..fresh.clone() };
        assert_eq!(same_but_signature.to_json_string().unwrap(), case.envelope_json, "{}", case.name);
        // The pinned signature is still a signature over the same signing input.
        verify_v1(&same_but_signature, &public, &case.name);
        assert!(low_s(&fresh), "{}: sealing made a high-S signature", case.name);
    }
}

#[test]
fn envelope_v1_tampered_envelopes_fail_with_their_codes() {
    let v: EnvelopeVectors = serde_json::from_str(ENVELOPE).unwrap();
    let public = unhex(&v.test_key.public_key_hex);
    assert!(v.tampered.len() >= 8);
    for case in &v.tampered {
        let result = SignedEnvelope::from_json_str(&case.input).and_then(|e| e.verify(&public));
        match result {
            Ok(()) => panic!("{}: tampered envelope verified", case.name),
            Err(e) => assert_eq!(code(&e), case.error, "{}: {e}", case.name),
        }
    }
}

#[test]
fn envelope_v1_every_one_character_change_to_a_pinned_payload_fails() {
    let v: EnvelopeVectors = serde_json::from_str(ENVELOPE).unwrap();
    let public = unhex(&v.test_key.public_key_hex);
    let mut tried = 0;
    for case in &v.cases {
        let pinned = SignedEnvelope::from_json_str(&case.envelope_json).unwrap();
        let text: Vec<char> = case.canonical_payload.chars().collect();
        for i in 0..text.len() {
            for replacement in ['0', '7', 'a', 'Z', ' ', '"', '}'] {
                if text[i] == replacement {
                    continue;
                }
                let mut changed = text.clone();
                changed[i] = replacement;
                let changed: String = changed.into_iter().collect();
                // Only changes that still parse to a different document are meaningful.
                let Ok(payload) = parse_strict(&changed) else { continue };
                if canonicalize(&payload).ok().as_deref() == Some(case.canonical_payload.as_str()) {
                    continue;
                }
                let forged = SignedEnvelope { payload, ..pinned.clone() };
                assert!(
                    forged.verify(&public).is_err(),
                    "{}: change at {i} to {replacement:?} verified",
                    case.name
                );
                tried += 1;
            }
        }
    }
    assert!(tried > 500, "only {tried} variants tried");
}

#[test]
fn envelope_v2_low_s_twins_of_the_v1_envelopes_verify_and_reserialise_exactly() {
    let v1: EnvelopeVectors = serde_json::from_str(ENVELOPE).unwrap();
    let v2: EnvelopeVectorsV2 = serde_json::from_str(ENVELOPE_V2).unwrap();
    assert!(v2.format.contains("low-S") && !v2.description.is_empty());
    assert_eq!(v2.signing_domain, v1.signing_domain);
    assert_eq!(v2.test_key.public_key_hex, v1.test_key.public_key_hex);
    let public = unhex(&v2.test_key.public_key_hex);
    assert_eq!(v2.cases.len(), v1.cases.len());
    for (case, old) in v2.cases.iter().zip(&v1.cases) {
        let name = &case.name;
        assert_eq!(case.canonical_payload, old.canonical_payload, "{name}");
        assert_eq!(hex(&signing_input(&case.payload).unwrap()), case.signing_input_hex, "{name}");
        let envelope = SignedEnvelope::from_json_str(&case.envelope_json).unwrap();
        assert_eq!(envelope.to_json_string().unwrap(), case.envelope_json, "{name}");
        assert!(low_s(&envelope), "{name}");
        envelope.verify(&public).unwrap_or_else(|e| panic!("{name}: {e}"));
        // The same r as v1's signature: the twin, not a new signing.
        let v1_sig = base64url::decode(&SignedEnvelope::from_json_str(&old.envelope_json).unwrap().signature);
        assert_eq!(v1_sig.unwrap()[..32], base64url::decode(&envelope.signature).unwrap()[..32], "{name}");
    }
}

#[test]
fn envelope_v2_high_s_envelopes_are_refused_with_their_codes() {
    // Finding 6 of issue #10: ECDSA low-S was not enforced, so (r, n − s) of a genuine envelope
    // verified too: a second, different-looking valid copy anyone could make.
    let v2: EnvelopeVectorsV2 = serde_json::from_str(ENVELOPE_V2).unwrap();
    let public = unhex(&v2.test_key.public_key_hex);
    assert!(!v2.high_s.is_empty());
    for case in &v2.high_s {
        let envelope = SignedEnvelope::from_json_str(&case.input).unwrap();
        assert!(!low_s(&envelope), "{}", case.name);
        match envelope.verify(&public) {
            Ok(()) => panic!("{}: a high-S envelope verified", case.name),
            Err(e) => assert_eq!(code(&e), case.error, "{}: {e}", case.name),
        }
    }
}

/// Prints a new envelope vector file with a freshly generated key. Run by hand only when minting a
/// new version (`cargo test -p fieldseal-core --test protocol_vectors -- --ignored --nocapture`),
/// then save it under a new name; never overwrite a published version.
#[test]
#[ignore = "mints new vectors; run by hand for a new format version only"]
fn mint_envelope_vectors() {
    use ring::{
        rand::SystemRandom,
        signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair},
    };
    use serde_json::json;

    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new()).unwrap();
    let signer = SoftwareSigner::from_pkcs8_for_tests(pkcs8.as_ref()).unwrap();
    let public = signer.public_key().unwrap();
    let payloads = [
        ("evidence manifest", manifest_payload()),
        ("minimal", json!({"type": "ping", "v": 1})),
        (
            "record page with escapes and nesting",
            json!({"type": "record.page", "v": 1, "page": 2, "pages": 3,
                   "lines": ["以上笔录属实", "tab\there", "quote \" backslash \\", "\u{1}"],
                   "signers": [{"role": "inspector", "cert": "浙执 0012"}, {"role": "party", "refused": true}],
                   "ratio": 0.1, "big": 1e21, "small": 1e-7, "neg_zero": -0.0}),
        ),
    ];
    let mut cases = Vec::new();
    for (name, payload) in payloads {
        let envelope = SignedEnvelope::seal(&payload, &signer).unwrap();
        cases.push(json!({
            "name": name,
            "payload": payload,
            "canonical_payload": canonicalize(&payload).unwrap(),
            "signing_input_hex": hex(&signing_input(&payload).unwrap()),
            "envelope": serde_json::to_value(&envelope).unwrap(),
            "envelope_json": envelope.to_json_string().unwrap(),
        }));
    }
    let first = SignedEnvelope::seal(&manifest_payload(), &signer).unwrap();
    let text = first.to_json_string().unwrap();
    let with = |f: &dyn Fn(&mut SignedEnvelope)| {
        let mut e = first.clone();
        f(&mut e);
        e.to_json_string().unwrap()
    };
    let sig_char = |s: &str| {
        // Change a middle character so the text stays valid base64url of 64 bytes.
        let mut c: Vec<char> = s.chars().collect();
        c[20] = if c[20] == 'A' { 'B' } else { 'A' };
        c.into_iter().collect::<String>()
    };
    let tampered = [
        (
            "one character of a payload string changed",
            with(&|e| e.payload["caption"] = json!("1号排污口 outlet No. 2")),
            "protocol.bad_signature",
        ),
        (
            "a payload number changed",
            with(&|e| e.payload["size"] = json!(4_811_224)),
            "protocol.bad_signature",
        ),
        ("a payload member added", with(&|e| e.payload["note"] = json!("")), "protocol.bad_signature"),
        (
            "one signature character changed",
            with(&|e| e.signature = sig_char(&e.signature)),
            "protocol.bad_signature",
        ),
        ("signature with base64 padding", with(&|e| e.signature.push('=')), "protocol.bad_base64"),
        ("alg ES384", with(&|e| e.alg = "ES384".into()), "protocol.wrong_alg"),
        ("alg none", with(&|e| e.alg = "none".into()), "protocol.wrong_alg"),
        ("key id of another key", with(&|e| e.key_id = "00".repeat(16)), "protocol.key_id_mismatch"),
        ("unknown member", text.replacen('{', r#"{"note":"unsigned","#, 1), "protocol.malformed"),
        ("duplicate member", text.replacen('{', r#"{"alg":"none","#, 1), "protocol.malformed"),
        (
            "signature missing",
            text.replacen(&format!(r#","signature":"{}""#, first.signature), "", 1),
            "protocol.malformed",
        ),
    ];
    let doc = json!({
        "format": "fieldseal signed envelope, version 1",
        "description": "ES256 over signing_domain ‖ canonical(payload) (RFC 8785). For each case: canonical(payload) == canonical_payload, the signing input is signing_input_hex, envelope_json is the canonical envelope and verifies with test_key. Each tampered input must fail with its error code. ECDSA is randomised: re-signing gives a different, equally valid signature. Never edit: add a new version.",
        "signing_domain": String::from_utf8(fieldseal_core::protocol::envelope::SIGNING_DOMAIN.to_vec()).unwrap(),
        "test_key": {
            "warning": "Published test key: its private key is in this file. Never enrol or trust it.",
            "pkcs8_hex": hex(pkcs8.as_ref()),
            "public_key_hex": hex(&public),
            "key_id": key_id(&public).unwrap(),
        },
        "cases": cases,
        "tampered": tampered.iter().map(|(name, input, error)| json!({"name": name, "input": input, "error": error})).collect::<Vec<_>>(),
    });
    println!("{}", serde_json::to_string_pretty(&doc).unwrap());
}

fn manifest_payload() -> Value {
    serde_json::json!({"type": "evidence.manifest", "v": 1, "evidence_id": "ev-20240601-0007",
        "sha256": "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "size": 4_811_223, "media_type": "image/jpeg", "captured_at": "2024-06-01T09:41:07+08:00",
        "location": {"lat": 30.274085, "lon": 120.15507, "accuracy_m": 4.5, "provider": "gps", "mocked": false},
        "caption": "1号排污口 outlet No. 1"})
}
