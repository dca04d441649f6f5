//! Issue 10, finding 3 for records: a stored on-site record (现场检查笔录) cannot be rolled back to
//! an older ciphertext of itself.
//!
//! The attacker has the app's files (a rooted or seized phone) and SQLite, but not the keys: they
//! put an older `records` row back — document ciphertext, revision and document hash — as raw SQL.
//! The store must refuse to load it rather than have people sign, or a bundle carry, an earlier
//! version than the trail records.

mod inspection_support;
mod record_support;
use fieldseal_test_support as support;

use fieldseal_core::{
    record::{PartyStatement, RevisionRequest, SignerRole, persist, service},
    store::{Store, trail},
};
use inspection_support::*;
use record_support::*;
use rusqlite::params;

/// The stored row as an attacker copies it.
#[derive(Clone)]
struct RawRow {
    revision: i64,
    document_hash: String,
    state: String,
    body: Vec<u8>,
    freeze: Option<Vec<u8>>,
}

fn db(v: &Visit) -> rusqlite::Connection {
    rusqlite::Connection::open(v.dir.path().join("data").join("fieldseal.db")).unwrap()
}

fn raw_row(v: &Visit, id: &str) -> RawRow {
    db(v)
        .query_row(
            "SELECT revision, document_hash, state, body_enc, freeze_enc FROM records WHERE id = ?1",
            [id],
            |r| {
                Ok(RawRow {
                    revision: r.get(0)?,
                    document_hash: r.get(1)?,
                    state: r.get(2)?,
                    body: r.get(3)?,
                    freeze: r.get(4)?,
                })
            },
        )
        .unwrap()
}

/// Puts `row` back, lifting the frozen-row trigger as an attacker with SQLite can.
fn put_back(v: &Visit, id: &str, row: &RawRow) {
    let conn = db(v);
    conn.execute_batch("DROP TRIGGER IF EXISTS records_frozen_no_update").unwrap();
    let changed = conn
        .execute(
            "UPDATE records SET revision = ?2, document_hash = ?3, state = ?4, body_enc = ?5, freeze_enc = ?6 WHERE id = ?1",
            params![id, row.revision, row.document_hash, row.state, row.body, row.freeze],
        )
        .unwrap();
    assert_eq!(changed, 1);
}

fn revise(v: &Visit, record_id: &str) -> service::RecordView {
    service::revise(
        &v.store,
        record_id,
        RevisionRequest {
            reason: "当事人要求补充意见".into(),
            by: "insp-002".into(),
            party_statement: Some(PartyStatement {
                objection: true, text: "对第3项结论有异议".into()
            }),
            at: t("10:40"),
        },
    )
    .unwrap()
}

fn reopen(v: Visit) -> Visit {
    let Visit { dir, store, signer, inspection_id } = v;
    drop(store);
    let store = support::harness::open_store(dir.path());
    Visit { dir, store, signer, inspection_id }
}

fn load_code(s: &Store, record_id: &str) -> &'static str {
    service::load(s, record_id).unwrap_err().explain().code
}

/// Revision 1 of the draft, then revision 2: revision 1's row (ciphertext, revision, hash) is put
/// back. It decrypts, but is older than the trail, and is refused everywhere it is read.
#[test]
fn an_older_draft_put_back_with_its_revision_is_refused_as_older_than_the_trail() {
    let v = visit();
    let r = build(&v);
    let first = raw_row(&v, &r.record_id);
    let revised = revise(&v, &r.record_id);
    assert_eq!(revised.revision, 2);
    assert_eq!(service::load(&v.store, &r.record_id).unwrap().revision, 2);
    put_back(&v, &r.record_id, &first);
    let v = reopen(v);

    let err = service::load(&v.store, &r.record_id).unwrap_err();
    let explained = err.explain();
    assert_eq!(explained.code, "store.record_older_than_trail", "{err}");
    assert!(explained.message_zh.contains("旧备份") && explained.message_zh.contains("请勿签字"));
    assert!(explained.message_en.contains("older than its trail"), "{}", explained.message_en);
    assert!(!explained.message_en.contains("tamper"), "a rollback is not called tampering");
    // The trail itself still verifies: the record is what is out of date, and it is not loaded.
    let stream = format!("inspection:{}", v.inspection_id);
    assert!(v.store.read(|c, k| trail::verify_stream(c, k, &stream)).is_ok());
    assert_eq!(
        service::record_of_inspection(&v.store, &v.inspection_id).unwrap_err().explain().code,
        "store.record_older_than_trail"
    );
    // Nobody can sign the old version, nor freeze it.
    let stale = service::RecordView { document_hash: first.document_hash.clone(), ..r.clone() };
    let sign = sign_as(&v, &stale, SignerRole::Inspector, Some("insp-001"), 1).unwrap_err();
    assert_eq!(sign.explain().code, "store.record_older_than_trail");
    let freeze = service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap_err();
    assert_eq!(freeze.explain().code, "store.record_older_than_trail");
    // A later event on the stream does not launder the stale draft: it stays refused.
    v.store
        .write(|tx, keys| {
            trail::append(
                tx,
                keys,
                &fieldseal_core::trail::DomainEvent::new(&stream, "record.exported", serde_json::json!({})),
            )
        })
        .unwrap();
    assert_eq!(load_code(&v.store, &r.record_id), "store.record_older_than_trail");
}

/// The old ciphertext under the current revision does not even decrypt: the revision is in its
/// encryption context.
#[test]
fn an_older_draft_under_the_current_revision_does_not_open() {
    let v = visit();
    let r = build(&v);
    let first = raw_row(&v, &r.record_id);
    revise(&v, &r.record_id);
    let now = raw_row(&v, &r.record_id);
    put_back(&v, &r.record_id, &RawRow { body: first.body, ..now });
    let v = reopen(v);
    assert_eq!(load_code(&v.store, &r.record_id), "crypto.integrity");
}

/// Events appended while the record is a draft (signatures, evidence, the inspection saved) keep
/// the draft current: it loads, signs and freezes as before.
#[test]
fn a_draft_follows_its_trail_through_signing_and_freezing() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    assert_eq!(service::load(&v.store, &r.record_id).unwrap().entries.len(), 3);
    let frozen = service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    assert!(frozen.frozen);
    let v = reopen(v);
    // Exporting appends to the stream after the freeze: the frozen record still loads.
    fieldseal_core::bundle::export(
        &v.store,
        &v.signer,
        &r.record_id,
        &v.dir.path().join("b.zip"),
        None,
        t("11:00"),
    )
    .unwrap();
    assert!(service::load(&v.store, &r.record_id).unwrap().frozen);
}

/// A frozen record's row rolled back to its last draft (state, revision, hash and ciphertext as
/// they were before the freeze) is refused: the trail has moved past that draft.
#[test]
fn a_frozen_record_rolled_back_to_its_draft_is_refused() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    let draft = raw_row(&v, &r.record_id);
    assert_eq!(draft.state, "draft");
    service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    put_back(&v, &r.record_id, &draft);
    let v = reopen(v);
    assert_eq!(load_code(&v.store, &r.record_id), "store.record_older_than_trail");
}

/// An older document put into a frozen row (its old revision and hash too, the freeze statement
/// kept) is refused: a frozen document names the head its freeze statement signed.
#[test]
fn an_older_document_in_a_frozen_row_is_refused() {
    let v = visit();
    let r = build(&v);
    let first = raw_row(&v, &r.record_id);
    let revised = revise(&v, &r.record_id);
    sign_all(&v, &revised);
    service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    let frozen = raw_row(&v, &r.record_id);
    assert_eq!(frozen.state, "frozen");
    put_back(
        &v,
        &r.record_id,
        &RawRow { revision: first.revision, document_hash: first.document_hash, body: first.body, ..frozen },
    );
    let v = reopen(v);
    assert_eq!(load_code(&v.store, &r.record_id), "store.record_older_than_trail");
}

/// The other direction: the trail cut back below what the draft was written at.
#[test]
fn a_trail_shorter_than_the_draft_is_refused_as_a_mismatch() {
    let v = visit();
    let r = build(&v);
    let id = &v.inspection_id;
    db(&v)
        .execute_batch(&format!(
            "DROP TRIGGER trail_events_no_delete;
             DELETE FROM trail_events WHERE stream = 'inspection:{id}'
                 AND seq = (SELECT MAX(seq) FROM trail_events WHERE stream = 'inspection:{id}');"
        ))
        .unwrap();
    let v = reopen(v);
    assert_eq!(load_code(&v.store, &r.record_id), "store.record_trail_mismatch");
}

/// A store written before migration 12 (documents sealed bare under `records.body:<id>`) opens:
/// the migration re-seals a draft and a frozen record, and both load and keep their protection.
#[test]
fn records_stored_before_migration_12_are_re_sealed_and_stay_bound() {
    let v = visit();
    let r = build(&v);
    sign_all(&v, &r);
    service::freeze(&v.store, &v.signer, &r.record_id, t("10:50")).unwrap();
    let addendum = service::add_addendum(
        &v.store,
        &r.record_id,
        &fieldseal_core::record::AddendumRequest {
            text: "补充：3号排口采样编号更正".into(),
            by: "insp-001".into(),
            party_statement: PartyStatement::confirmed(),
            at: t("11:10"),
        },
    )
    .unwrap();
    // Rewrite both documents the way version 11 sealed them, and mark the file version 11.
    let old_form: Vec<(String, Vec<u8>)> = [&r.record_id, &addendum.record_id]
        .into_iter()
        .map(|id| {
            let stored = v.store.read(|c, k| persist::load_record(c, k, id)).unwrap();
            let text = stored.document.to_canonical().unwrap();
            (id.clone(), v.store.keys().column.seal_str(&format!("records.body:{id}"), &text).unwrap())
        })
        .collect();
    let conn = db(&v);
    conn.execute_batch("DROP TRIGGER records_frozen_no_update").unwrap();
    for (id, body) in &old_form {
        conn.execute("UPDATE records SET body_enc = ?2 WHERE id = ?1", params![id, body]).unwrap();
    }
    conn.execute_batch(
        "CREATE TRIGGER records_frozen_no_update BEFORE UPDATE ON records WHEN OLD.state = 'frozen'
         BEGIN SELECT RAISE(ABORT, 'a frozen record never changes; add an addendum'); END;
         PRAGMA user_version = 11;",
    )
    .unwrap();
    drop(conn);
    let v = reopen(v);
    assert!(v.store.schema_version().unwrap() >= 12);
    assert!(service::load(&v.store, &r.record_id).unwrap().frozen);
    assert!(!service::load(&v.store, &addendum.record_id).unwrap().frozen);
    // The frozen row keeps its trigger.
    let refused = db(&v).execute("UPDATE records SET revision = 9 WHERE id = ?1", [&r.record_id]);
    assert!(refused.is_err());
    // The re-sealed draft follows its trail and an earlier copy of it is refused.
    let resealed = raw_row(&v, &addendum.record_id);
    sign_as(&v, &addendum, SignerRole::Inspector, Some("insp-001"), 4).unwrap();
    assert_eq!(service::load(&v.store, &addendum.record_id).unwrap().entries.len(), 1);
    put_back(&v, &addendum.record_id, &resealed);
    let v = reopen(v);
    assert_eq!(load_code(&v.store, &addendum.record_id), "store.record_older_than_trail");
}
