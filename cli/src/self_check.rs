//! `fieldseal self-check`: proves on this machine that the store, keys, vault stream, envelopes and
//! trail work together, and that tampering with each is caught.

use std::io::{Cursor, Write};

use fieldseal_core::{
    Error,
    crypto::{
        DeviceSigner,
        signer::{SoftwareSigner, key_id},
        software_vault::KeyFileVault,
        stream::{StreamDecryptor, StreamEncryptor},
    },
    protocol::SignedEnvelope,
    store::{Store, notes},
    trail::DomainEvent,
};
use serde_json::json;

pub fn run() -> u8 {
    match check() {
        Ok(()) => {
            println!("self-check: all steps passed");
            0
        }
        Err(e) => {
            let explained = e.explain();
            eprintln!(
                "self-check failed [{}]: {}\n{}",
                explained.code, explained.message_en, explained.message_zh
            );
            1
        }
    }
}

fn step(what: &str) {
    println!("  ok  {what}");
}

fn check() -> Result<(), Error> {
    let dir =
        tempfile::tempdir().map_err(|e| fieldseal_core::crypto::CryptoError::io(std::env::temp_dir(), e))?;
    println!("fieldseal {} self-check in {}", fieldseal_core::CORE_VERSION, dir.path().display());

    let vault = KeyFileVault::open_or_create(dir.path().join("device.kek"))?;
    let store = Store::open(dir.path().join("data"), &vault)?;
    step(&format!("opened encrypted store, schema version {}", store.schema_version()?));

    let signer = SoftwareSigner::load_or_create(&vault, &dir.path().join("device-signer.key"))?;
    let public_key = signer.public_key()?;
    step(&format!("device signing key ready, key id {}", key_id(&public_key)?));

    let note = store.write(|tx, keys| notes::add(tx, keys, None, "自检", "现场备注：排口采样完成"))?;
    let read_back = store.read(|conn, keys| notes::get(conn, keys, &note.id))?;
    assert_same("note read back", read_back.body == note.body)?;
    step("sealed a field note in the database and read it back");

    let plaintext: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let mut encryptor = StreamEncryptor::new(&store.keys().stream, Vec::new())?;
    encryptor.write_all(&plaintext).map_err(|e| fieldseal_core::crypto::CryptoError::io("memory", e))?;
    let (mut sealed, summary) = encryptor.finish()?;
    let mut decryptor = StreamDecryptor::open(&store.keys().stream, Cursor::new(&sealed))?;
    assert_same("vault range read", decryptor.read_range(100_000, 5_000)? == plaintext[100_000..105_000])?;
    step(&format!(
        "vault stream: {} bytes in {} segments, random-access read verified",
        summary.plaintext_len, summary.segments
    ));
    let middle = sealed.len() / 2;
    sealed[middle] ^= 0x01;
    let tampered =
        StreamDecryptor::open(&store.keys().stream, Cursor::new(&sealed)).and_then(|mut d| d.verify_all());
    assert_same("flipped vault byte detected", tampered.is_err())?;
    step("vault stream: a flipped byte is detected");

    let payload = json!({ "type": "self-check", "v": 1, "statement": "以上笔录属实", "at": "2026-11-23T09:30:00+08:00" });
    let envelope = SignedEnvelope::seal(&payload, &signer)?;
    envelope.verify(&public_key)?;
    step(&format!("signed envelope verified ({} by {})", envelope.alg, envelope.key_id));
    let mut forged = envelope.clone();
    forged.payload["statement"] = json!("以上笔录不属实");
    assert_same("altered envelope rejected", forged.verify(&public_key).is_err())?;
    step("signed envelope: changing one character of the payload fails verification");

    store.write(|tx, keys| {
        fieldseal_core::store::trail::append(
            tx,
            keys,
            &DomainEvent::new("device", "self_check.run", payload.clone()),
        )
    })?;
    let entries =
        store.read(|conn, keys| fieldseal_core::store::trail::verify_stream(conn, keys, "device"))?;
    step(&format!("trail: {} event(s) chained and verified", entries.len()));

    drop(store);
    let other = KeyFileVault::open_or_create(dir.path().join("other.kek"))?;
    let wrong = Store::open(dir.path().join("data"), &other);
    assert_same("wrong key refused", matches!(&wrong, Err(e) if e.explain().code == "crypto.wrong_key"))?;
    step("reopening with another device's key is refused; the database is left untouched");
    Ok(())
}

fn assert_same(what: &str, ok: bool) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(fieldseal_core::crypto::CryptoError::integrity(format!("self-check step '{what}'")).into())
    }
}
