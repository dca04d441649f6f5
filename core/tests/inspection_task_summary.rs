//! Issue 8, cold open: the task list reads each inspection's sealed summary instead of its whole
//! body. The summary must say what the body says, follow the trail as the body does, and never let
//! a copied, swapped or rolled-back row show as current (the attacker has the files and SQLite,
//! not the keys). That no summary field is readable in the database file is checked, with every
//! other column, by `inspection_metadata`.

mod inspection_support;

use fieldseal_core::{
    model::task_list,
    store::{Store, inspections as db, trail},
    trail::DomainEvent,
};
use inspection_support::*;
use rusqlite::params;

fn sql(dir: &std::path::Path) -> rusqlite::Connection {
    rusqlite::Connection::open(dir.join("fieldseal.db")).unwrap()
}

/// The inspection as an attacker copies it: revision, body and summary.
fn raw_row(dir: &std::path::Path, id: &str) -> (i64, Vec<u8>, Vec<u8>) {
    sql(dir)
        .query_row(
            "SELECT i.revision, i.body_enc, s.summary_enc FROM inspections i
             JOIN inspection_summaries s ON s.inspection_id = i.id WHERE i.id = ?1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .unwrap()
}

fn put_back(dir: &std::path::Path, id: &str, (revision, body, summary): &(i64, Vec<u8>, Vec<u8>)) {
    let conn = sql(dir);
    let changed = conn
        .execute(
            "UPDATE inspections SET revision = ?2, body_enc = ?3 WHERE id = ?1",
            params![id, revision, body],
        )
        .unwrap();
    assert_eq!(changed, 1);
    conn.execute(
        "UPDATE inspection_summaries SET summary_enc = ?2 WHERE inspection_id = ?1",
        params![id, summary],
    )
    .unwrap();
}

fn damage_body(dir: &std::path::Path, id: &str) {
    sql(dir)
        .execute("UPDATE inspections SET body_enc = substr(body_enc, 1, 40) WHERE id = ?1", [id])
        .unwrap();
}

fn export_event(s: &Store, id: &str, n: u32) {
    let stream = format!("inspection:{id}");
    s.write(|tx, keys| {
        trail::append(tx, keys, &DomainEvent::new(&stream, "record.exported", serde_json::json!({ "n": n })))
    })
    .unwrap();
}

#[test]
fn the_task_list_from_summaries_equals_the_one_from_whole_bodies() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let mut on_site = recording();
    s.write(|tx, keys| db::save_inspection(tx, keys, &on_site, &[])).unwrap();
    answer_and_save(&s, &mut on_site, 1);
    for id in ["insp-D1", "insp-D2"] {
        s.write(|tx, keys| {
            db::create_inspection(tx, keys, id, task("ent-thermal", "tpl.thermal-power.permit"), t("08:00"))
                .map(|_| ())
        })
        .unwrap();
    }
    let from_summaries = s.read(db::list_task_rows).unwrap();
    assert!(from_summaries.unreadable.is_empty());
    let bodies = s.read(db::list_inspections).unwrap().items;
    assert_eq!(from_summaries.items, task_list(&bodies));
    assert_eq!(from_summaries.items.len(), 3);
    let row = from_summaries.items.iter().find(|r| r.inspection_id == on_site.id()).unwrap();
    assert_eq!(row.progress.answered, 1, "the summary is rewritten with each save");
}

#[test]
fn the_summary_follows_events_appended_by_others() {
    // An export appends to the inspection's stream without saving it; the body's recorded head
    // moves, and the summary's must move with it or the list would fall back to the body.
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let i = recording();
    let id = i.id().to_owned();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    export_event(&s, &id, 1);
    // With the body damaged, only a current summary can still list the row.
    damage_body(dir.path(), &id);
    let rows = s.read(db::list_task_rows).unwrap();
    assert!(rows.unreadable.is_empty(), "{:?}", rows.unreadable);
    assert_eq!(rows.items.len(), 1);
    assert_eq!(rows.items[0].inspection_id, id);
}

#[test]
fn a_rolled_back_row_with_its_summary_is_refused_by_the_task_list() {
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let mut i = recording();
    let id = i.id().to_owned();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    answer_and_save(&s, &mut i, 1);
    let one_answer = raw_row(dir.path(), &id);
    answer_and_save(&s, &mut i, 1);
    drop(s);
    put_back(dir.path(), &id, &one_answer);

    let s = open_store(dir.path());
    let rows = s.read(db::list_task_rows).unwrap();
    assert!(rows.items.is_empty(), "an older row listed as current: {:?}", rows.items);
    assert_eq!(rows.unreadable.len(), 1);
    assert_eq!(rows.unreadable[0].code, "store.inspection_older_than_trail");

    // The same after an event of another writer: a copy from before it is stale too.
    drop(s);
    let s = open_store(dir.path());
    s.write(|tx, keys| {
        db::create_inspection(
            tx,
            keys,
            "insp-other",
            task("ent-thermal", "tpl.thermal-power.permit"),
            t("08:00"),
        )
        .map(|_| ())
    })
    .unwrap();
    let other = raw_row(dir.path(), "insp-other");
    export_event(&s, "insp-other", 1);
    drop(s);
    put_back(dir.path(), "insp-other", &other);
    let s = open_store(dir.path());
    let rows = s.read(db::list_task_rows).unwrap();
    assert!(rows.items.is_empty(), "{:?}", rows.items);
    assert_eq!(rows.unreadable.len(), 2);
    assert!(
        rows.unreadable.iter().all(|r| r.code == "store.inspection_older_than_trail"),
        "{:?}",
        rows.unreadable
    );
}

#[test]
fn a_summary_moved_to_another_row_does_not_open_there() {
    // Copying A's summary into B's row must not show A's task under B: the summary opens only
    // under its own id and revision, and B is then read from its body.
    let dir = tempfile::tempdir().unwrap();
    let s = open_store(dir.path());
    let mut a = task("ent-thermal", "tpl.thermal-power.permit");
    a.title = "甲任务".into();
    let mut b = task("ent-thermal", "tpl.thermal-power.permit");
    b.title = "乙任务".into();
    s.write(|tx, keys| db::create_inspection(tx, keys, "insp-A", a, t("08:00")).map(|_| ())).unwrap();
    s.write(|tx, keys| db::create_inspection(tx, keys, "insp-B", b, t("08:00")).map(|_| ())).unwrap();
    drop(s);
    let conn = sql(dir.path());
    conn.execute(
        "UPDATE inspection_summaries
         SET summary_enc = (SELECT summary_enc FROM inspection_summaries WHERE inspection_id = 'insp-A')
         WHERE inspection_id = 'insp-B'",
        [],
    )
    .unwrap();
    let s = open_store(dir.path());
    let rows = s.read(db::list_task_rows).unwrap();
    let titles: Vec<(&str, &str)> =
        rows.items.iter().map(|r| (r.inspection_id.as_str(), r.title.as_str())).collect();
    assert_eq!(titles, [("insp-A", "甲任务"), ("insp-B", "乙任务")]);

    // Nor does a summary open as a body, or a body as a summary: each has its own context.
    let (revision, _, summary) = raw_row(dir.path(), "insp-A");
    drop(s);
    conn.execute("UPDATE inspections SET body_enc = ?2 WHERE id = ?1", params!["insp-A", summary]).unwrap();
    let s = open_store(dir.path());
    let err = s.read(|c, k| db::load_inspection(c, k, "insp-A")).unwrap_err();
    assert_eq!(err.explain().code, "crypto.integrity", "{err}");
    assert_eq!(revision, 1);
}
