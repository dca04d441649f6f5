//! Changing any byte of a stored blob or of its manifest makes verification of that item fail.

use fieldseal_test_support as support;

use std::{fs, path::PathBuf};

use fieldseal_core::{
    crypto::{DeviceSigner, signer::SoftwareSigner},
    evidence::{EvidenceKind, verify_item, view},
    protocol::SignedEnvelope,
    store::evidence as rows,
};
use rusqlite::{Connection, params};
use support::{
    harness::{Env, request},
    testmedia::{self, PhotoSpec},
};

fn blob_paths(env: &Env, id: &str) -> (PathBuf, Option<PathBuf>) {
    let row = env.store.read(|c, k| rows::get(c, k, id)).unwrap();
    let vault = env.store.vault();
    (vault.blob_path(&row.blob_id).unwrap(), row.thumbnail_blob_id.map(|t| vault.blob_path(&t).unwrap()))
}

/// A raw connection, as an attacker with the database file has; the immutability triggers are
/// dropped first, as such an attacker could.
fn raw_db(env: &Env) -> Connection {
    let conn = Connection::open(env.data_dir().join("fieldseal.db")).unwrap();
    conn.execute_batch("DROP TRIGGER IF EXISTS evidence_no_update;").unwrap();
    conn
}

fn assert_every_flip_fails(
    env: &Env,
    id: &str,
    path: &PathBuf,
    positions: impl Iterator<Item = usize>,
) -> usize {
    let original = fs::read(path).unwrap();
    let pk = env.public_key();
    let mut checked = 0;
    for i in positions {
        let mut bytes = original.clone();
        bytes[i] ^= 0x01;
        fs::write(path, &bytes).unwrap();
        assert!(
            verify_item(&env.store, id, &pk).is_err(),
            "flipping byte {i} of {} went unnoticed",
            path.display()
        );
        checked += 1;
    }
    fs::write(path, &original).unwrap();
    verify_item(&env.store, id, &pk).unwrap();
    checked
}

#[test]
fn flipping_any_byte_of_a_stored_blob_fails_verification() {
    let env = Env::new();
    let out = env
        .ingest(&request(&env.capture_file("memo.wav", &testmedia::wav(0.05)), EvidenceKind::Audio))
        .unwrap();
    let (blob, _) = blob_paths(&env, &out.evidence_id);
    let len = fs::metadata(&blob).unwrap().len() as usize;
    // Every byte of the header and of the recording's own ciphertext; the zero padding to its size
    // class (tens of KiB, authenticated the same way) at a spread, and every byte of its end: the
    // length trailer and the final tag.
    let data_end = 48 + out.manifest.size as usize;
    let positions = (0..data_end).chain((data_end..len - 32).step_by(97)).chain(len - 32..len);
    let expected = positions.clone().count();
    assert_eq!(assert_every_flip_fails(&env, &out.evidence_id, &blob, positions), expected);
}

#[test]
fn flipping_bytes_of_a_photo_and_its_thumbnail_fails_verification() {
    let env = Env::new();
    let photo = |name: &str, quality: u8| {
        env.ingest(&request(
            &env.capture_file(name, &testmedia::photo(&PhotoSpec { quality, ..Default::default() })),
            EvidenceKind::Photo,
        ))
        .unwrap()
    };
    let out = photo("a.jpg", 85);
    let (blob, thumb) = blob_paths(&env, &out.evidence_id);
    assert!(thumb.is_none(), "the thumbnail is sealed in the row, not in a vault file of its own");
    let len = fs::metadata(&blob).unwrap().len() as usize;
    // Every header byte, then a spread through the segments and the final tag.
    let positions = (0..64).chain((64..len).step_by(97)).chain(len - 16..len);
    assert_every_flip_fails(&env, &out.evidence_id, &blob, positions);

    // The sealed thumbnail, as an attacker with the database file could change it.
    let db = raw_db(&env);
    let read = |id: &str| -> Vec<u8> {
        db.query_row("SELECT thumbnail_enc FROM evidence WHERE id = ?1", [id], |r| r.get(0)).unwrap()
    };
    let write = |id: &str, bytes: &[u8]| {
        db.execute("UPDATE evidence SET thumbnail_enc = ?1 WHERE id = ?2", params![bytes, id]).unwrap();
    };
    let sealed = read(&out.evidence_id);
    let pk = env.public_key();
    for i in (0..sealed.len()).step_by(61).chain(sealed.len() - 16..sealed.len()) {
        let mut bytes = sealed.clone();
        bytes[i] ^= 0x01;
        write(&out.evidence_id, &bytes);
        assert!(verify_item(&env.store, &out.evidence_id, &pk).is_err(), "thumbnail byte {i}");
    }
    // Another item's thumbnail is sealed under that item's id: moved here, it does not open.
    let other = photo("b.jpg", 60);
    write(&out.evidence_id, &read(&other.evidence_id));
    assert!(verify_item(&env.store, &out.evidence_id, &pk).is_err(), "thumbnail moved from another row");
    write(&out.evidence_id, &sealed);
    verify_item(&env.store, &out.evidence_id, &pk).unwrap();
}

#[test]
fn truncating_extending_or_swapping_blobs_fails_verification() {
    let env = Env::new();
    let pk = env.public_key();
    // Two recordings of exactly the same length, differing in one sample: only the hash differs.
    let wav_a = testmedia::wav(0.3);
    let mut wav_b = wav_a.clone();
    let last = wav_b.len() - 1;
    wav_b[last] ^= 0x40;
    let a = env.ingest(&request(&env.capture_file("a.wav", &wav_a), EvidenceKind::Audio)).unwrap();
    let b = env.ingest(&request(&env.capture_file("b.wav", &wav_b), EvidenceKind::Audio)).unwrap();
    let (pa, _) = blob_paths(&env, &a.evidence_id);
    let (pb, _) = blob_paths(&env, &b.evidence_id);
    let (ba, bb) = (fs::read(&pa).unwrap(), fs::read(&pb).unwrap());

    fs::write(&pa, &ba[..ba.len() - 1]).unwrap();
    assert!(verify_item(&env.store, &a.evidence_id, &pk).is_err(), "truncation");
    let mut longer = ba.clone();
    longer.push(0);
    fs::write(&pa, &longer).unwrap();
    assert!(verify_item(&env.store, &a.evidence_id, &pk).is_err(), "appended byte");

    // Both blobs decrypt under the vault key; only the signed hash tells them apart.
    fs::write(&pa, &bb).unwrap();
    fs::write(&pb, &ba).unwrap();
    let err = verify_item(&env.store, &a.evidence_id, &pk).unwrap_err();
    assert_eq!(err.explain().code, "evidence.verification", "{err:?}");
    assert!(verify_item(&env.store, &b.evidence_id, &pk).is_err());
    fs::write(&pa, &ba).unwrap();
    fs::write(&pb, &bb).unwrap();
    verify_item(&env.store, &a.evidence_id, &pk).unwrap();
}

#[test]
fn flipping_any_byte_of_the_sealed_manifest_fails_verification() {
    let env = Env::new();
    let out =
        env.ingest(&request(&env.capture_file("m.wav", &testmedia::wav(0.05)), EvidenceKind::Audio)).unwrap();
    let db = raw_db(&env);
    let sealed: Vec<u8> = db
        .query_row("SELECT manifest_enc FROM evidence WHERE id = ?1", [&out.evidence_id], |r| r.get(0))
        .unwrap();
    let pk = env.public_key();
    for i in 0..sealed.len() {
        let mut bytes = sealed.clone();
        bytes[i] ^= 0x80;
        db.execute("UPDATE evidence SET manifest_enc = ?1 WHERE id = ?2", params![bytes, out.evidence_id])
            .unwrap();
        assert!(verify_item(&env.store, &out.evidence_id, &pk).is_err(), "manifest byte {i}");
    }
    db.execute("UPDATE evidence SET manifest_enc = ?1 WHERE id = ?2", params![sealed, out.evidence_id])
        .unwrap();
    verify_item(&env.store, &out.evidence_id, &pk).unwrap();
}

/// An attacker who holds the data key (so can re-seal database values) but not the device key
/// still cannot change one field of the manifest, nor re-sign it with a key of their own.
#[test]
fn changing_any_manifest_field_with_the_data_key_fails_the_signature() {
    let env = Env::new();
    let mut req =
        request(&env.capture_file("a.jpg", &testmedia::photo(&PhotoSpec::default())), EvidenceKind::Photo);
    req.location.as_mut().unwrap().mocked = true;
    let out = env.ingest(&req).unwrap();
    let pk = env.public_key();
    let original = env.store.read(|c, k| rows::get(c, k, &out.evidence_id)).unwrap().envelope;

    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        ("size", Box::new(|p| p["size"] = (p["size"].as_u64().unwrap() + 1).into())),
        ("sha256", Box::new(|p| p["sha256"] = "00".repeat(32).into())),
        ("flags", Box::new(|p| p["flags"] = serde_json::json!([]))),
        ("supports_presence", Box::new(|p| p["supports_presence"] = true.into())),
        ("location", Box::new(|p| p["location"]["lat"] = 30.0.into())),
        ("operator", Box::new(|p| p["operator"] = "someone-else".into())),
        ("wall_clock", Box::new(|p| p["captured"]["wall_clock"] = "2024-05-06T09:00:00+08:00".into())),
    ];
    for (what, edit) in edits {
        let mut forged = original.clone();
        edit(&mut forged.payload);
        reseal(&env, &out.evidence_id, &forged);
        let err = verify_item(&env.store, &out.evidence_id, &pk).unwrap_err();
        assert_eq!(err.explain().code, "protocol.bad_signature", "{what}: {err:?}");
    }
    // Re-signed by another key: the envelope names that key, which is not the device's.
    let mut payload = original.payload.clone();
    payload["supports_presence"] = true.into();
    let other = SoftwareSigner::generate(&support::harness::key_vault(env.dir.path())).unwrap().0;
    reseal(&env, &out.evidence_id, &SignedEnvelope::seal(&payload, &other).unwrap());
    assert!(verify_item(&env.store, &out.evidence_id, &pk).is_err());
    // Even checked against the forger's own key, the manifest still names the device's key.
    let err = verify_item(&env.store, &out.evidence_id, &other.public_key().unwrap()).unwrap_err();
    assert_eq!(err.explain().code, "evidence.verification", "{err:?}");

    reseal(&env, &out.evidence_id, &original);
    verify_item(&env.store, &out.evidence_id, &pk).unwrap();
}

/// Writes `envelope` as the item's manifest, sealed properly with the store's column key.
fn reseal(env: &Env, id: &str, envelope: &SignedEnvelope) {
    let text = envelope.to_json_string().unwrap();
    let sealed = env.store.keys().column.seal_str(&format!("evidence.manifest:{id}"), &text).unwrap();
    raw_db(env).execute("UPDATE evidence SET manifest_enc = ?1 WHERE id = ?2", params![sealed, id]).unwrap();
}

/// One unreadable row (a damaged manifest, as a bad sector or an edit leaves it) must not hide the
/// other items from the inspector: the display list skips and names it. The record's own listing
/// still refuses, because a signed record must never leave an item out without saying so.
#[test]
fn one_corrupt_row_is_skipped_and_named_by_the_list_but_refused_by_the_record() {
    let env = Env::new();
    let a =
        env.ingest(&request(&env.capture_file("a.wav", &testmedia::wav(0.05)), EvidenceKind::Audio)).unwrap();
    let b =
        env.ingest(&request(&env.capture_file("b.wav", &testmedia::wav(0.06)), EvidenceKind::Audio)).unwrap();
    let db = raw_db(&env);
    let mut sealed: Vec<u8> = db
        .query_row("SELECT manifest_enc FROM evidence WHERE id = ?1", [&a.evidence_id], |r| r.get(0))
        .unwrap();
    sealed[20] ^= 0x80;
    db.execute("UPDATE evidence SET manifest_enc = ?1 WHERE id = ?2", params![sealed, a.evidence_id])
        .unwrap();

    let list = view::evidence_list(&env.store, support::harness::INSPECTION).unwrap();
    let listed: Vec<&str> = list.items.iter().map(|i| i.evidence_id.as_str()).collect();
    assert_eq!(listed, [b.evidence_id.as_str()]);
    assert_eq!((list.skipped, list.skipped_ids), (1, vec![a.evidence_id.clone()]));
    assert!(env.store.read(|c, k| rows::list_for_inspection(c, k, support::harness::INSPECTION)).is_err());
}
