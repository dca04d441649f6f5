//! Issue 10, finding 3: a stored inspection cannot be rolled back to an older ciphertext of itself.
//!
//! The attacker has the app's files (a rooted or seized phone) and SQLite, but not the keys: they
//! put an older `body_enc` back, with its old revision, as raw SQL. The store must refuse to load
//! it rather than show an inspection with fewer answers than its trail records.

mod inspection_support;

use fieldseal_core::{
    model::HeaderField,
    store::{inspections as db, trail},
    trail::DomainEvent,
};
use inspection_support::*;
use rusqlite::params;

/// The stored row as an attacker copies it: revision and ciphertext.
fn raw_row(dir: &std::path::Path, id: &str) -> (i64, Vec<u8>) {
    let conn = rusqlite::Connection::open(dir.join("fieldseal.db")).unwrap();
    conn.query_row("SELECT revision, body_enc FROM inspections WHERE id = ?1", [id], |r| {
        Ok((r.get(0)?, r.get(1)?))
    })
    .unwrap()
}

fn put_back(dir: &std::path::Path, id: &str, (revision, body): &(i64, Vec<u8>)) {
    let conn = rusqlite::Connection::open(dir.join("fieldseal.db")).unwrap();
    let changed = conn
        .execute(
            "UPDATE inspections SET revision = ?2, body_enc = ?3 WHERE id = ?1",
            params![id, revision, body],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

/// One answer saved, then six: the one-answer ciphertext (with its revision) is put back.
#[test]
fn an_older_ciphertext_put_back_with_its_revision_is_refused_as_older_than_the_trail() {
    let dir = tempfile::tempdir().unwrap();
    let id;
    let one_answer;
    {
        let s = open_store(dir.path());
        let mut i = recording();
        id = i.id().to_owned();
        s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
        answer_and_save(&s, &mut i, 1);
        one_answer = raw_row(dir.path(), &id);
        answer_and_save(&s, &mut i, 5);
        let loaded = s.read(|c, k| db::load_inspection(c, k, &id)).unwrap();
        assert_eq!(loaded.answers().len(), 6);
        assert!(raw_row(dir.path(), &id).0 > one_answer.0);
    }
    put_back(dir.path(), &id, &one_answer);

    let s = open_store(dir.path());
    let err = s.read(|c, k| db::load_inspection(c, k, &id)).unwrap_err();
    let explained = err.explain();
    assert_eq!(explained.code, "store.inspection_older_than_trail", "{err}");
    assert!(explained.message_zh.contains("旧备份"), "{}", explained.message_zh);
    assert!(explained.message_en.contains("older than its trail"), "{}", explained.message_en);
    // The trail itself still verifies: the body is what is out of date, and it is not loaded.
    assert!(s.read(|c, k| trail::verify_stream(c, k, &format!("inspection:{id}"))).is_ok());
    // Nor is it listed, nor can it be changed.
    let listed = s.read(db::list_inspections).unwrap();
    assert!(listed.items.is_empty());
    assert_eq!(listed.unreadable.len(), 1);
    assert_eq!(listed.unreadable[0].code, "store.inspection_older_than_trail");
    assert!(s.read(db::task_rows).unwrap().is_empty());
    let write = s.write(|tx, keys| {
        db::modify_inspection(tx, keys, &id, |i| i.set_header(HeaderField::Place, "脱硫区域", t("09:40")))
    });
    assert_eq!(write.unwrap_err().explain().code, "store.inspection_older_than_trail");
}

/// The old ciphertext under the current revision does not even decrypt: the revision is in its
/// encryption context.
#[test]
fn an_older_ciphertext_under_the_current_revision_does_not_open() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let mut i = recording();
    let id = i.id().to_owned();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    answer_and_save(&s, &mut i, 1);
    let (_, old_body) = raw_row(dir.path(), &id);
    answer_and_save(&s, &mut i, 1);
    let (revision, _) = raw_row(dir.path(), &id);
    drop(s);
    put_back(dir.path(), &id, &(revision, old_body));
    let s = open_store(dir.path());
    let err = s.read(|c, k| db::load_inspection(c, k, &id)).unwrap_err();
    assert_eq!(err.explain().code, "crypto.integrity", "{err}");
}

/// Evidence, records and exports append to the inspection's stream without saving the inspection:
/// the body follows, so it still loads, and a copy from before such an event is still refused.
#[test]
fn events_appended_by_others_keep_the_body_current_and_an_earlier_copy_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let mut i = recording();
    let id = i.id().to_owned();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    answer_and_save(&s, &mut i, 1);
    let before_export = raw_row(dir.path(), &id);
    let stream = format!("inspection:{id}");
    s.write(|tx, keys| {
        trail::append(tx, keys, &DomainEvent::new(&stream, "record.exported", serde_json::json!({ "n": 1 })))
    })
    .unwrap();
    assert_eq!(s.read(|c, k| db::load_inspection(c, k, &id)).unwrap(), i);
    // Saving again afterwards works from the followed body.
    answer_and_save(&s, &mut i, 1);
    assert_eq!(s.read(|c, k| db::load_inspection(c, k, &id)).unwrap().answers().len(), 2);
    drop(s);

    put_back(dir.path(), &id, &before_export);
    let s = open_store(dir.path());
    let err = s.read(|c, k| db::load_inspection(c, k, &id)).unwrap_err();
    assert_eq!(err.explain().code, "store.inspection_older_than_trail", "{err}");
    // A later event does not launder the stale body: it stays refused.
    s.write(|tx, keys| {
        trail::append(tx, keys, &DomainEvent::new(&stream, "record.exported", serde_json::json!({ "n": 2 })))
    })
    .unwrap();
    let err = s.read(|c, k| db::load_inspection(c, k, &id)).unwrap_err();
    assert_eq!(err.explain().code, "store.inspection_older_than_trail", "{err}");
}

/// The other direction: the trail cut back below what the body was written at.
#[test]
fn a_trail_shorter_than_the_body_is_refused_as_a_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let mut i = recording();
    let id = i.id().to_owned();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    answer_and_save(&s, &mut i, 2);
    drop(s);
    {
        let conn = rusqlite::Connection::open(dir.path().join("fieldseal.db")).unwrap();
        conn.execute_batch(&format!(
            "DROP TRIGGER trail_events_no_delete;
             DELETE FROM trail_events WHERE stream = 'inspection:{id}'
                 AND seq = (SELECT MAX(seq) FROM trail_events WHERE stream = 'inspection:{id}');"
        ))
        .unwrap();
    }
    let s = open_store(dir.path());
    let err = s.read(|c, k| db::load_inspection(c, k, &id)).unwrap_err();
    assert_eq!(err.explain().code, "store.inspection_trail_mismatch", "{err}");
}
