//! Persistence of the register, templates and inspections: round trips, encryption at rest,
//! immutable versions, stale writes refused, and nothing partially saved on error.

mod inspection_support;

use fieldseal_core::{
    Error,
    checklist::{AnswerValue, ResultCode},
    crypto::software_vault::PassphraseVault,
    model::{DomainError, Inspection, RegisterSnapshot},
    store::{Store, inspections as db},
};
use inspection_support::*;

fn store(dir: &std::path::Path) -> Store {
    Store::open(dir, &PassphraseVault::with_iterations("测试口令", 1)).unwrap()
}

fn rule(e: &Error) -> String {
    match e {
        Error::Domain(d) => d.rule(),
        other => other.to_string(),
    }
}

fn database_bytes(dir: &std::path::Path) -> Vec<u8> {
    let mut all = Vec::new();
    for name in ["fieldseal.db", "fieldseal.db-wal"] {
        if let Ok(b) = std::fs::read(dir.join(name)) {
            all.extend(b);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn register_round_trips_and_no_personal_data_is_readable_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let reg = register();
    s.write(|tx, keys| db::save_register(tx, keys, &reg)).unwrap();
    let back = s.read(|conn, keys| db::load_register(conn, keys, reg.version())).unwrap();
    assert_eq!(back, reg);
    assert_eq!(s.read(db::latest_register).unwrap().unwrap().content_hash(), reg.content_hash());
    let bytes = database_bytes(dir.path());
    for personal in ["王建国", "孙国华", "苏环执〔2019〕3212001号", "13912340001"] {
        assert!(!contains(&bytes, personal), "{personal} is readable in the database file");
    }
    // Nor is the USCC or a permit number (issue 10, finding 5): a lookup goes through a keyed hash.
    assert!(!contains(&bytes, "91321200MA1MXY3K7R"));
    let by_uscc = s.read(|c, k| db::enterprise_by_uscc(c, k, "91321200MA1MXY3K7R")).unwrap().unwrap();
    assert_eq!(by_uscc.id, "ent-thermal");
    assert!(s.read(|c, k| db::enterprise_by_uscc(c, k, "91321200MA1MXY3K7Q")).unwrap().is_none());
}

#[test]
fn a_register_version_names_one_content_and_a_refused_save_leaves_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let reg = register();
    s.write(|tx, keys| db::save_register(tx, keys, &reg)).unwrap();
    s.write(|tx, keys| db::save_register(tx, keys, &reg)).unwrap(); // same content: no-op

    let text = std::fs::read_to_string(examples().join("register.json")).unwrap();
    let changed =
        RegisterSnapshot::from_json(&text.replace("2025.03-r2", "2025.04").replace("李明", "李敏")).unwrap();
    let same_version_changed = RegisterSnapshot::from_json(&text.replace("李明", "李敏")).unwrap();
    // One transaction: the new version is saved first, then the conflicting one fails.
    let err = s
        .write(|tx, keys| {
            db::save_register(tx, keys, &changed)?;
            db::save_register(tx, keys, &same_version_changed)
        })
        .unwrap_err();
    assert_eq!(rule(&err), "register.version_conflict");
    let missing = s.read(|c, k| db::load_register(c, k, "2025.04")).unwrap_err();
    assert!(matches!(missing, Error::Store(_)), "the first save rolled back with the second: {missing}");
}

#[test]
fn templates_round_trip_and_keep_their_version_content() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let t = thermal();
    s.write(|tx, _| db::save_template(tx, &t)).unwrap();
    assert_eq!(s.read(|c, _| db::load_template(c, &t.id, &t.version)).unwrap(), t);
    assert_eq!(s.read(|c, _| db::latest_template(c, &t.id)).unwrap().unwrap(), t);
    let mut edited = t.clone();
    edited.title.push_str("（修订）");
    let err = s.write(|tx, _| db::save_template(tx, &edited)).unwrap_err();
    assert_eq!(rule(&err), "template.version_conflict");
}

#[test]
fn a_template_body_edited_in_place_is_refused_on_load() {
    // Finding 6 of issue #10: with file access, someone rewrites a stored template's body (here a
    // pass criterion) and leaves its id, version and recorded hash alone.
    let dir = tempfile::tempdir().unwrap();
    let t = thermal();
    {
        let s = store(dir.path());
        s.write(|tx, _| db::save_template(tx, &t)).unwrap();
    }
    {
        let conn = rusqlite::Connection::open(dir.path().join("fieldseal.db")).unwrap();
        let body: String = conn.query_row("SELECT body FROM checklist_templates", [], |r| r.get(0)).unwrap();
        let mut edited: serde_json::Value = serde_json::from_str(&body).unwrap();
        edited["sections"][0]["items"][0]["pass_criterion"] = serde_json::json!("无需检查");
        let changed = conn.execute("UPDATE checklist_templates SET body = ?1", [edited.to_string()]).unwrap();
        assert_eq!(changed, 1);
    }
    let s = store(dir.path());
    for err in [
        s.read(|c, _| db::load_template(c, &t.id, &t.version)).unwrap_err(),
        s.read(|c, _| db::latest_template(c, &t.id)).unwrap_err(),
    ] {
        let explained = err.explain();
        assert_eq!(explained.code, "store.corrupt", "{err}");
        assert!(err.to_string().contains("content hash"), "{err}");
    }
}

#[test]
fn an_inspection_and_its_events_commit_together() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let reg = register();
    let (mut i, mut events) =
        Inspection::create("insp-S", task("ent-thermal", "tpl.thermal-power.permit"), t("08:00")).unwrap();
    events.extend(i.approve("科长", t("08:01")).unwrap());
    events.extend(i.schedule(date(DAY), t("08:02")).unwrap());
    events.extend(i.assign_inspectors(&reg, &["insp-001".into(), "insp-002".into()], t("08:03")).unwrap());
    events.extend(i.prepare_offline(&reg, &thermal(), t("08:04")).unwrap());
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &events)).unwrap();

    let loaded = s.read(|c, k| db::load_inspection(c, k, "insp-S")).unwrap();
    assert_eq!(loaded, i);
    let chain =
        s.read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, "inspection:insp-S")).unwrap();
    assert_eq!(chain.len(), events.len());
    assert_eq!(chain.last().unwrap().kind, "inspection.ready_offline");
    let rows = s.read(db::task_rows).unwrap();
    assert_eq!(rows[0].enterprise_name, "泰州华宁热电有限公司");

    // A later operation whose save fails after the inspection row was written leaves nothing.
    let mut next = loaded.clone();
    let more = next.check_in(check_in_at(t("09:00"))).unwrap();
    let err = s
        .write(|tx, keys| {
            db::save_inspection(tx, keys, &next, &more)?;
            Err::<(), _>(DomainError::not_allowed("test.fail_after_save", "simulated failure").into())
        })
        .unwrap_err();
    assert_eq!(rule(&err), "test.fail_after_save");
    assert_eq!(s.read(|c, k| db::load_inspection(c, k, "insp-S")).unwrap().state(), i.state());
    assert_eq!(
        s.read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, "inspection:insp-S")).unwrap().len(),
        events.len()
    );
}

#[test]
fn a_stale_copy_cannot_overwrite_a_newer_inspection() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut i = recording();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &[])).unwrap();
    let stale = i.clone();
    let e = i
        .set_answer(
            "permit.valid",
            AnswerValue::Result { code: ResultCode::Pass, reason: None },
            "insp-001",
            None,
            t("09:10"),
        )
        .unwrap();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &e)).unwrap();
    let err = s.write(|tx, keys| db::save_inspection(tx, keys, &stale, &[])).unwrap_err();
    assert_eq!(rule(&err), "inspection.stale_revision");
    let loaded = s.read(|c, k| db::load_inspection(c, k, i.id())).unwrap();
    assert!(loaded.answer("permit.valid").is_some());
}

#[test]
fn answers_and_the_person_in_charge_are_not_readable_on_disk() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let mut i = recording();
    fill_header(&mut i);
    let remark = AnswerValue::Text { value: "现场负责人称脱硫剂由宏达物流供应".into() };
    let e = i.set_answer("ledger.remarks", remark, "insp-001", None, t("09:20")).unwrap();
    s.write(|tx, keys| db::save_inspection(tx, keys, &i, &e)).unwrap();
    let bytes = database_bytes(dir.path());
    for secret in ["周安全", "宏达物流", "13800000000"] {
        assert!(!contains(&bytes, secret), "{secret} is readable");
    }
}

#[test]
fn modify_inspection_is_one_atomic_step_through_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let reg = register();
    s.write(|tx, keys| db::save_register(tx, keys, &reg)).unwrap();
    s.write(|tx, _| db::save_template(tx, &thermal())).unwrap();
    s.write(|tx, keys| {
        db::create_inspection(tx, keys, "insp-M", task("ent-thermal", "tpl.thermal-power.permit"), t("08:00"))
    })
    .unwrap();
    let err = s
        .write(|tx, keys| db::create_inspection(tx, keys, "insp-M", task("ent-thermal", "x"), t("08:00")))
        .unwrap_err();
    assert_eq!(rule(&err), "inspection.id.exists");
    s.write(|tx, keys| db::modify_inspection(tx, keys, "insp-M", |i| i.approve("科长", t("08:01")))).unwrap();
    s.write(|tx, keys| db::modify_inspection(tx, keys, "insp-M", |i| i.schedule(date(DAY), t("08:02"))))
        .unwrap();
    s.write(|tx, keys| {
        let reg = db::latest_register(tx, keys)?.unwrap();
        let tpl = db::latest_template(tx, "tpl.thermal-power.permit")?.unwrap();
        db::modify_inspection(tx, keys, "insp-M", |i| {
            let mut e = i.assign_inspectors(&reg, &["insp-001".into()], t("08:03"))?;
            e.extend(i.prepare_offline(&reg, &tpl, t("08:04"))?);
            Ok(e)
        })
    })
    .unwrap();
    // Refused: one inspector. Nothing changes, no event is appended.
    let before =
        s.read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, "inspection:insp-M")).unwrap().len();
    let err = s
        .write(|tx, keys| db::modify_inspection(tx, keys, "insp-M", |i| i.check_in(check_in_at(t("09:00")))))
        .unwrap_err();
    assert_eq!(rule(&err), "inspectors.fewer_than_two_valid");
    let i = s.read(|c, k| db::load_inspection(c, k, "insp-M")).unwrap();
    assert_eq!(i.state(), fieldseal_core::model::InspectionState::ReadyOffline);
    assert_eq!(
        s.read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, "inspection:insp-M")).unwrap().len(),
        before
    );
    assert_eq!(before, 5, "created, approved, scheduled, inspectors assigned, ready offline");
}

#[test]
fn one_corrupt_inspection_row_is_skipped_and_reported_and_the_others_still_list() {
    // Finding 6 of issue #10: one damaged row made the whole task list fail.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    for id in ["insp-A", "insp-B", "insp-C"] {
        s.write(|tx, keys| {
            db::create_inspection(tx, keys, id, task("ent-thermal", "tpl.thermal-power.permit"), t("08:00"))
                .map(|_| ())
        })
        .unwrap();
    }
    {
        let conn = rusqlite::Connection::open(dir.path().join("fieldseal.db")).unwrap();
        let changed = conn
            .execute("UPDATE inspections SET body_enc = substr(body_enc, 1, 40) WHERE id = 'insp-B'", [])
            .unwrap();
        assert_eq!(changed, 1);
    }
    let s = store(dir.path());
    let listed = s.read(db::list_inspections).unwrap();
    let ids: Vec<&str> = listed.items.iter().map(|i| i.id()).collect();
    assert_eq!(ids, ["insp-A", "insp-C"]);
    assert_eq!(listed.unreadable.len(), 1);
    assert_eq!(listed.unreadable[0].id, "insp-B");
    assert!(listed.unreadable[0].code.starts_with("crypto."), "{:?}", listed.unreadable[0]);
    // The task list reads each row's sealed summary (issue 8): insp-B's is intact, so it still
    // shows there, and opening it reports the damage. With its summary damaged too, the list
    // leaves it out and names it.
    assert_eq!(s.read(db::task_rows).unwrap().len(), 3);
    {
        let conn = rusqlite::Connection::open(dir.path().join("fieldseal.db")).unwrap();
        conn.execute(
            "UPDATE inspection_summaries SET summary_enc = substr(summary_enc, 1, 40)
             WHERE inspection_id = 'insp-B'",
            [],
        )
        .unwrap();
    }
    let rows = s.read(db::list_task_rows).unwrap();
    let ids: Vec<&str> = rows.items.iter().map(|r| r.inspection_id.as_str()).collect();
    assert_eq!(ids, ["insp-A", "insp-C"]);
    assert_eq!(rows.unreadable.len(), 1);
    assert_eq!(rows.unreadable[0].id, "insp-B");
    assert!(rows.unreadable[0].code.starts_with("crypto."), "{:?}", rows.unreadable[0]);
}

#[test]
fn a_superseded_inspection_body_does_not_linger_in_the_database_or_its_wal() {
    // Finding 3 of issue #10: an older ciphertext of an inspection body was still in the -wal
    // file, and putting it back rolled the inspection back. Every body superseded here (by the
    // inspection's own saves, by an event of another writer that moves the body's trail head, and
    // with the read connection used in between) must be gone from both files.
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let body = || -> Vec<u8> {
        s.read(|c, _| Ok(c.query_row("SELECT body_enc FROM inspections", [], |r| r.get(0)).unwrap())).unwrap()
    };
    s.write(|tx, keys| {
        db::create_inspection(tx, keys, "insp-W", task("ent-thermal", "tpl.thermal-power.permit"), t("08:00"))
            .map(|_| ())
    })
    .unwrap();
    let mut superseded = vec![body()];
    s.write(|tx, keys| {
        db::modify_inspection(tx, keys, "insp-W", |i| i.approve("科长", t("08:01"))).map(|_| ())
    })
    .unwrap();
    superseded.push(body());
    s.read(db::task_rows).unwrap();
    s.write(|tx, keys| {
        db::modify_inspection(tx, keys, "insp-W", |i| i.schedule(date(DAY), t("08:02"))).map(|_| ())
    })
    .unwrap();
    superseded.push(body());
    s.write(|tx, keys| {
        let event = fieldseal_core::trail::DomainEvent::new(
            "inspection:insp-W",
            "record.exported",
            serde_json::json!({}),
        );
        fieldseal_core::store::trail::append(tx, keys, &event).map(|_| ())
    })
    .unwrap();
    let current = body();
    assert!(!superseded.contains(&current));
    let on_disk = database_bytes(dir.path());
    let find = |needle: &[u8]| on_disk.windows(needle.len()).any(|w| w == needle);
    assert!(find(&current[..32]), "the test must see the current body on disk");
    for (n, old) in superseded.iter().enumerate() {
        assert!(!find(&old[..32]), "superseded body {n} is still on disk");
    }
}
