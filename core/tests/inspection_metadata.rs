//! Issue 10, finding 5: a copied database does not tell which enterprise is to be inspected when,
//! in which state the inspection is, or what was found and how it is to be handled.
//!
//! The attacker here has the database file and its `-wal` and plain SQLite, but not the keys. After
//! a real visit (register and template loaded, a 双随机 task planned, findings recorded with 立案查处
//! and a rectification deadline), every value of every column of every table is checked, and the
//! raw bytes of both files.

mod inspection_support;

use fieldseal_core::{
    checklist::{AnswerValue, ResultCode},
    crypto::software_vault::PassphraseVault,
    model::{Handling, InspectionState, NewFinding},
    store::{Store, inspections as db},
};
use inspection_support::*;
use rusqlite::types::ValueRef;

const USCC: &str = "91321200MA1MXY3K7R";
const PERMIT_NO: &str = "91321200MA1MXY3K7R001P";
const ENTERPRISE_NAME: &str = "泰州华宁热电有限公司";
const ENTERPRISE_ID: &str = "ent-thermal";
const DEADLINE: &str = "2025-04-17";

fn store(dir: &std::path::Path) -> Store {
    Store::open(dir, &PassphraseVault::with_iterations("测试口令", 1)).unwrap()
}

fn fail() -> AnswerValue {
    AnswerValue::Result { code: ResultCode::Fail, reason: Some("现场未见".into()) }
}

/// A recording inspection of the thermal plant with two findings: one to be put on file as a case
/// (立案查处), one to be rectified by [`DEADLINE`].
fn visit(s: &Store) -> String {
    let reg = register();
    s.write(|tx, keys| db::save_register(tx, keys, &reg)).unwrap();
    s.write(|tx, _| db::save_template(tx, &thermal())).unwrap();
    let id = "insp-meta";
    s.write(|tx, keys| {
        db::create_inspection(tx, keys, id, task(ENTERPRISE_ID, "tpl.thermal-power.permit"), t("08:00"))?;
        db::modify_inspection(tx, keys, id, |i| i.approve("科长", t("08:01")))?;
        db::modify_inspection(tx, keys, id, |i| i.schedule(date(DAY), t("08:02")))?;
        db::assign_inspectors(tx, keys, id, &["insp-001".into(), "insp-002".into()], t("08:03"))?;
        db::prepare_offline(tx, keys, id, t("08:04"))
    })
    .unwrap();
    s.write(|tx, keys| {
        db::modify_inspection(tx, keys, id, |i| {
            let mut e = i.check_in(check_in_at(t("09:00")))?;
            e.extend(i.show_credentials("电子执法证二维码", t("09:01"))?);
            e.extend(i.answer_recusal(false, None, t("09:02"))?);
            e.extend(i.start_recording(t("09:03"))?);
            e.extend(i.set_answer("permit.valid", fail(), "insp-001", None, t("09:10"))?);
            e.extend(i.set_answer("outlet.sign#DA002", fail(), "insp-001", None, t("09:11"))?);
            let finding = |item: &str, handling| NewFinding {
                item_id: item.into(),
                category: None,
                description: "现场检查发现的问题".into(),
                legal_basis: vec![],
                evidence_ids: vec![],
                handling,
            };
            e.extend(
                i.add_finding(
                    finding("permit.valid", Handling::OpenCase { note: String::new() }),
                    t("09:12"),
                )?
                .1,
            );
            let rectify =
                Handling::RectifyByDeadline { measures: "设置标志牌".into(), deadline: date(DEADLINE) };
            e.extend(i.add_finding(finding("outlet.sign#DA002", rectify), t("09:13"))?.1);
            Ok(e)
        })
    })
    .unwrap();
    let i = s.read(|c, k| db::load_inspection(c, k, id)).unwrap();
    assert_eq!(i.state(), InspectionState::Recording);
    assert_eq!(i.findings().len(), 2);
    id.to_owned()
}

/// Text that must not be readable anywhere, as part of any value or file.
const NEEDLES: &[&str] =
    &[USCC, PERMIT_NO, ENTERPRISE_NAME, ENTERPRISE_ID, DAY, DEADLINE, "立案查处", "限期整改"];

/// Codes that a plain column would hold as its whole value (the published template mentions some
/// of them as defaults, so they are looked for as values, not as bytes in the file).
const CODES: &[&str] = &["recording", "permit", "open_case", "rectify_by_deadline", "open", "double_random"];

/// Every (table, column, problem) where a readable value gives the visit away.
fn readable_metadata(db: &std::path::Path) -> Vec<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert!(tables.len() > 10, "the scan sees the schema: {tables:?}");
    let mut found = Vec::new();
    let mut values = 0;
    for table in tables {
        let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
        let columns: Vec<String> = stmt.column_names().map(|c| c.to_string()).collect();
        let mut rows = stmt.query([]).unwrap();
        while let Some(row) = rows.next().unwrap() {
            for (n, column) in columns.iter().enumerate() {
                values += 1;
                let bytes: Vec<u8> = match row.get_ref(n).unwrap() {
                    ValueRef::Text(b) | ValueRef::Blob(b) => b.to_vec(),
                    ValueRef::Integer(v) => v.to_string().into_bytes(),
                    ValueRef::Real(v) => v.to_string().into_bytes(),
                    ValueRef::Null => continue,
                };
                for needle in NEEDLES {
                    if contains(&bytes, needle.as_bytes()) {
                        found.push(format!("{table}.{column} contains {needle}"));
                    }
                }
                for code in CODES {
                    if bytes == code.as_bytes() {
                        found.push(format!("{table}.{column} = {code}"));
                    }
                }
            }
        }
    }
    assert!(values > 100, "the scan read the stored values ({values})");
    found
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn no_column_and_no_byte_of_the_database_or_its_wal_tells_the_enterprise_date_state_or_findings() {
    let dir = tempfile::tempdir().unwrap();
    let s = store(dir.path());
    let id = visit(&s);
    // Still usable through the keys: the lookups that remain work.
    let rows = s.read(db::task_rows).unwrap();
    assert_eq!(
        (rows[0].inspection_id.as_str(), rows[0].enterprise_id.as_str()),
        (id.as_str(), ENTERPRISE_ID)
    );
    let found = s.read(|c, k| db::enterprise_by_uscc(c, k, USCC)).unwrap().unwrap();
    assert_eq!(found.name, ENTERPRISE_NAME);

    // The scan runs while the store is open, so the -wal is as the app leaves it between writes.
    let db_file = dir.path().join("fieldseal.db");
    let leaks = readable_metadata(&db_file);
    assert!(leaks.is_empty(), "readable metadata: {leaks:#?}");
    for file in ["fieldseal.db", "fieldseal.db-wal"] {
        let Ok(bytes) = std::fs::read(dir.path().join(file)) else { continue };
        for needle in NEEDLES {
            assert!(!contains(&bytes, needle.as_bytes()), "{needle} is readable in {file}");
        }
    }
}
