//! Stores made by an earlier version, with rows in the form that version wrote, opened by this one:
//! the migrations that re-seal rows convert them, and the converted rows keep their protections.

use std::path::Path;

use rusqlite::{Connection, params};

use super::{DATABASE_FILE, Keyring, Store, inspections, migrations, trail};
use crate::{
    crypto::software_vault::KeyFileVault,
    model::{Inspection, Task, TaskSource},
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

/// A version-5 store holding one inspection the way version 5 sealed it (the bare inspection
/// under `inspections.body:<id>`), with its trail.
fn version_5_store(dir: &Path, vault: &KeyFileVault) -> Inspection {
    std::fs::create_dir_all(dir).unwrap();
    let mut conn = Connection::open(dir.join(DATABASE_FILE)).unwrap();
    migrations::migrate_to(&mut conn, 5, &no_keys).unwrap();
    let tx = conn.transaction().unwrap();
    let keys = Keyring::load_or_create(&tx, vault, false).unwrap();
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
}
