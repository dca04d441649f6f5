//! Stores made by an earlier version, with rows in the form that version wrote, opened by this one:
//! the migrations that re-seal rows convert them, and the converted rows keep their protections.

use std::path::Path;

use rusqlite::{Connection, params};

use super::{DATABASE_FILE, Keyring, Store, inspections, migrations, trail};
use crate::{
    crypto::software_vault::KeyFileVault,
    model::{Inspection, RegisterSnapshot, Task, TaskSource},
};

fn no_keys(_: &rusqlite::Transaction<'_>) -> crate::Result<Option<Keyring>> {
    Ok(None)
}

fn at(s: &str) -> chrono::DateTime<chrono::FixedOffset> {
    chrono::DateTime::parse_from_rfc3339(s).unwrap()
}

fn task() -> Task {
    Task {
        id: "task-1".into(),
        title: "泰州华宁热电双随机抽查".into(),
        source: TaskSource::DoubleRandom,
        enterprise_id: "ent-thermal".into(),
        template_id: "tpl.thermal-power.permit".into(),
        planned_date: chrono::NaiveDate::from_ymd_opt(2025, 3, 18).unwrap(),
    }
}

fn example_register() -> RegisterSnapshot {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../examples/register.json");
    RegisterSnapshot::from_json(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The example register stored the way versions 2 to 10 stored it: USCC, ids and permit numbers
/// plain, enterprises sealed under `register_enterprises:<version>:<id>`, permits as plain JSON.
fn save_register_as_version_5(tx: &rusqlite::Transaction<'_>, keys: &Keyring, snapshot: &RegisterSnapshot) {
    let version = snapshot.version();
    let reg = snapshot.register();
    tx.execute(
        "INSERT INTO registers (version, content_hash, published_at, loaded_at) VALUES (?1, ?2, ?3, '2025-03-01T00:00:00.000Z')",
        params![version, snapshot.content_hash(), reg.published_at],
    )
    .unwrap();
    for (pos, i) in reg.inspectors.iter().enumerate() {
        tx.execute(
            "INSERT INTO register_inspectors (register_version, position, id, certificate_lookup, certified, valid_from, valid_until, record_enc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                version,
                pos as i64,
                i.id,
                keys.lookup.hash("certificate_no", i.certificate_no.trim()),
                i.certified,
                i.valid_from.to_string(),
                i.valid_until.to_string(),
                keys.column.seal(&format!("register_inspectors:{version}:{}", i.id), &serde_json::to_vec(i).unwrap()).unwrap()
            ],
        )
        .unwrap();
    }
    for (pos, e) in reg.enterprises.iter().enumerate() {
        tx.execute(
            "INSERT INTO register_enterprises (register_version, position, id, uscc, key_polluter, positive_list, record_enc)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                version,
                pos as i64,
                e.id,
                e.uscc,
                e.key_polluter,
                e.positive_list,
                keys.column.seal(&format!("register_enterprises:{version}:{}", e.id), &serde_json::to_vec(e).unwrap()).unwrap()
            ],
        )
        .unwrap();
    }
    for (pos, p) in reg.permits.iter().enumerate() {
        tx.execute(
            "INSERT INTO register_permits (register_version, position, id, enterprise_id, permit_no, record)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                version,
                pos as i64,
                p.id,
                p.enterprise_id,
                p.permit_no,
                serde_json::to_string(p).unwrap()
            ],
        )
        .unwrap();
    }
}

/// A version-5 store holding the example register and one inspection the way version 5 stored
/// them (the inspection as the bare body under `inspections.body:<id>`, with its trail).
fn version_5_store(dir: &Path, vault: &KeyFileVault) -> Inspection {
    std::fs::create_dir_all(dir).unwrap();
    let mut conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    migrations::migrate_to(&mut conn, 5, &no_keys).unwrap();
    let tx = conn.transaction().unwrap();
    let keys = Keyring::load_or_create(&tx, vault, false).unwrap();
    save_register_as_version_5(&tx, &keys, &example_register());
    let (mut inspection, mut events) =
        Inspection::create("insp-old", task(), at("2025-03-17T08:00:00+08:00")).unwrap();
    events.extend(inspection.approve("科长", at("2025-03-17T08:01:00+08:00")).unwrap());
    for event in &events {
        trail::append_unfollowed(&tx, &keys, event).unwrap();
    }
    let body =
        keys.column.seal("inspections.body:insp-old", &serde_json::to_vec(&inspection).unwrap()).unwrap();
    tx.execute(
        "INSERT INTO inspections (id, state, revision, enterprise_id, planned_date, template_id, updated_at, body_enc)
         VALUES ('insp-old', ?1, ?2, 'ent-thermal', '2025-03-18', 'tpl.thermal-power.permit', '2025-03-17T00:00:00.000Z', ?3)",
        params![inspection.state().code(), inspection.revision() as i64, body],
    )
    .unwrap();
    tx.commit().unwrap();
    inspection
}

#[test]
fn a_version_5_inspection_is_resealed_bound_to_its_revision_and_trail() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
    let old = version_5_store(&data, &vault);
    let legacy_body: Vec<u8> = {
        let conn = Connection::open(data.join(DATABASE_FILE)).unwrap();
        conn.query_row("SELECT body_enc FROM inspections", [], |r| r.get(0)).unwrap()
    };

    let store = Store::open(&data, &vault).unwrap();
    assert_eq!(store.schema_version().unwrap(), migrations::LATEST_VERSION);
    assert_eq!(store.read(|c, k| inspections::load_inspection(c, k, "insp-old")).unwrap(), old);
    // Migration 13 sealed its task summary: the list reads it, and it says what the body says.
    let summaries: i64 = store
        .read(|c, _| Ok(c.query_row("SELECT count(*) FROM inspection_summaries", [], |r| r.get(0)).unwrap()))
        .unwrap();
    assert_eq!(summaries, 1);
    assert_eq!(store.read(inspections::task_rows).unwrap(), vec![crate::model::task_row(&old)]);
    // It keeps working: a change saves and loads.
    let changed = store
        .write(|tx, keys| {
            inspections::modify_inspection(tx, keys, "insp-old", |i| {
                i.schedule(
                    chrono::NaiveDate::from_ymd_opt(2025, 3, 19).unwrap(),
                    at("2025-03-17T08:02:00+08:00"),
                )
            })
        })
        .unwrap();
    assert_eq!(store.read(|c, k| inspections::load_inspection(c, k, "insp-old")).unwrap(), changed);
    drop(store);

    // The version-5 ciphertext put back (its revision too) no longer opens at all.
    {
        let conn = Connection::open(data.join(DATABASE_FILE)).unwrap();
        conn.execute(
            "UPDATE inspections SET revision = ?1, body_enc = ?2",
            params![old.revision() as i64, legacy_body],
        )
        .unwrap();
    }
    let store = Store::open(&data, &vault).unwrap();
    let err = store.read(|c, k| inspections::load_inspection(c, k, "insp-old")).unwrap_err();
    assert_eq!(err.explain().code, "crypto.integrity", "{err}");
}

#[test]
fn a_version_5_row_that_does_not_open_is_left_as_it_is_and_the_store_still_opens() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
    version_5_store(&data, &vault);
    {
        let conn = Connection::open(data.join(DATABASE_FILE)).unwrap();
        conn.execute("UPDATE inspections SET body_enc = substr(body_enc, 1, 40)", []).unwrap();
    }
    let store = Store::open(&data, &vault).unwrap();
    let listed = store.read(inspections::list_inspections).unwrap();
    assert!(listed.items.is_empty());
    assert_eq!(listed.unreadable.len(), 1);
    // No summary was sealed from it, so the task list reads the body and reports it too.
    let rows = store.read(inspections::list_task_rows).unwrap();
    assert!(rows.items.is_empty());
    assert_eq!(rows.unreadable.len(), 1);
}

#[test]
fn a_version_5_register_is_sealed_by_position_and_its_uscc_kept_only_as_a_keyed_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let data = tmp.path().join("data");
    let vault = KeyFileVault::open_or_create(tmp.path().join("kek")).unwrap();
    version_5_store(&data, &vault);
    let file = data.join(DATABASE_FILE);
    let contains = |needle: &str| {
        let bytes = std::fs::read(&file).unwrap();
        bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
    };
    assert!(contains("91321200MA1MXY3K7R001P"), "the version-5 store holds the permit number readable");

    let store = Store::open(&data, &vault).unwrap();
    let register = example_register();
    // The content hash is re-checked on load: every enterprise and permit came through unchanged.
    assert_eq!(store.read(|c, k| inspections::load_register(c, k, register.version())).unwrap(), register);
    let found = store.read(|c, k| inspections::enterprise_by_uscc(c, k, "91321200MA1MXY3K7R")).unwrap();
    assert_eq!(found.unwrap().id, "ent-thermal");
    drop(store);
    for needle in ["91321200MA1MXY3K7R", "ent-thermal", "2025-03-18"] {
        assert!(!contains(needle), "{needle} is still readable after the upgrade");
    }
    for suffix in ["-wal"] {
        if let Ok(bytes) = std::fs::read(data.join(format!("{DATABASE_FILE}{suffix}"))) {
            assert!(!bytes.windows(18).any(|w| w == b"91321200MA1MXY3K7R"), "USCC in the {suffix}");
        }
    }
}
