//! Persistence of the register, checklist templates and inspections (with findings).
//!
//! Writes take the caller's `&Transaction`, so one [`super::Store::write`] makes a whole operation
//! atomic: an inspection's new state, its findings index and its trail events commit together or
//! not at all. Personal data is sealed with the column key, with `table:version:id` as context, so a
//! sealed value moved to another row does not open. Events reach the trail only through
//! [`append_events`].

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::{Serialize, de::DeserializeOwned};

use super::{Keyring, StoreError, inspection_body, inspection_summary, now_timestamp};
use crate::{
    Result,
    checklist::Template,
    model::{
        DomainError, Enterprise, Inspection, Inspector, Permit, Register, RegisterSnapshot, TaskRow,
        register::content_hash, task_row,
    },
    trail::DomainEvent,
};

fn seal<T: Serialize>(keys: &Keyring, context: &str, value: &T) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(value)
        .map_err(|e| StoreError::Corrupt { what: context.to_owned(), reason: e.to_string() })?;
    Ok(keys.column.seal(context, &json)?)
}

fn open<T: DeserializeOwned>(keys: &Keyring, context: &str, sealed: &[u8]) -> Result<T> {
    let json = keys.column.open(context, sealed)?;
    serde_json::from_slice(&json)
        .map_err(|e| StoreError::Corrupt { what: context.to_owned(), reason: e.to_string() }.into())
}

fn parse<T: DeserializeOwned>(what: &str, text: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Corrupt { what: what.to_owned(), reason: e.to_string() }.into())
}

/// The one place domain events enter the trail, in the caller's transaction.
pub fn append_events(tx: &Transaction<'_>, keys: &Keyring, events: &[DomainEvent]) -> Result<()> {
    for event in events {
        crate::store::trail::append(tx, keys, event)?;
    }
    Ok(())
}

// ---- register ----

/// Stores a register snapshot. Storing the same version again is a no-op when the content is the
/// same and refused when it differs: a version names exactly one content (requirement 11).
pub fn save_register(tx: &Transaction<'_>, keys: &Keyring, snapshot: &RegisterSnapshot) -> Result<()> {
    let version = snapshot.version();
    let stored: Option<String> = tx
        .query_row("SELECT content_hash FROM registers WHERE version = ?1", [version], |r| r.get(0))
        .optional()
        .map_err(StoreError::sql("read register version"))?;
    match stored {
        Some(hash) if hash == snapshot.content_hash() => return Ok(()),
        Some(_) => {
            return Err(DomainError::not_allowed(
                "register.version_conflict",
                format!("register version {version} is already stored with different content"),
            )
            .into());
        }
        None => {}
    }
    let reg = snapshot.register();
    tx.execute(
        "INSERT INTO registers (version, content_hash, published_at, loaded_at) VALUES (?1, ?2, ?3, ?4)",
        params![version, snapshot.content_hash(), reg.published_at, now_timestamp()],
    )
    .map_err(StoreError::sql("save register"))?;
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
                seal(keys, &format!("register_inspectors:{version}:{}", i.id), i)?
            ],
        )
        .map_err(StoreError::sql("save register inspector"))?;
    }
    // Enterprises and permits are keyed by position: their ids, USCC and permit numbers are inside
    // the sealed records (issue 10, finding 5); the USCC is kept only as a keyed hash for lookups.
    for (pos, e) in reg.enterprises.iter().enumerate() {
        tx.execute(
            "INSERT INTO register_enterprises (register_version, position, uscc_lookup, record_enc)
             VALUES (?1, ?2, ?3, ?4)",
            params![
                version,
                pos as i64,
                uscc_lookup(keys, &e.uscc),
                seal(keys, &enterprise_context(version, pos as i64), e)?
            ],
        )
        .map_err(StoreError::sql("save register enterprise"))?;
    }
    for (pos, p) in reg.permits.iter().enumerate() {
        tx.execute(
            "INSERT INTO register_permits (register_version, position, record_enc) VALUES (?1, ?2, ?3)",
            params![version, pos as i64, seal(keys, &permit_context(version, pos as i64), p)?],
        )
        .map_err(StoreError::sql("save register permit"))?;
    }
    Ok(())
}

/// The encryption context of a register enterprise's record: a record moved to another position or
/// register version does not open.
pub(super) fn enterprise_context(version: &str, position: i64) -> String {
    format!("register_enterprises:{version}:p{position}")
}

pub(super) fn permit_context(version: &str, position: i64) -> String {
    format!("register_permits:{version}:p{position}")
}

/// The keyed hash a USCC is found by; the code itself is never stored readable.
pub(super) fn uscc_lookup(keys: &Keyring, uscc: &str) -> String {
    keys.lookup.hash("uscc", uscc.trim())
}

/// The enterprise with this USCC (统一社会信用代码) in the newest stored register that lists it, e.g.
/// to find an enterprise from the code on its business licence.
pub fn enterprise_by_uscc(conn: &Connection, keys: &Keyring, uscc: &str) -> Result<Option<Enterprise>> {
    let row: Option<(String, i64, Vec<u8>)> = conn
        .query_row(
            "SELECT e.register_version, e.position, e.record_enc FROM register_enterprises e
             JOIN registers r ON r.version = e.register_version
             WHERE e.uscc_lookup = ?1 ORDER BY r.loaded_at DESC, r.rowid DESC LIMIT 1",
            [uscc_lookup(keys, uscc)],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()
        .map_err(StoreError::sql("find enterprise by USCC"))?;
    row.map(|(version, position, sealed)| {
        open::<Enterprise>(keys, &enterprise_context(&version, position), &sealed)
    })
    .transpose()
}

/// Loads a stored register and proves it is the one stored: the recomputed hash must match.
pub fn load_register(conn: &Connection, keys: &Keyring, version: &str) -> Result<RegisterSnapshot> {
    let row: Option<(String, String)> = conn
        .query_row("SELECT content_hash, published_at FROM registers WHERE version = ?1", [version], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(StoreError::sql("read register"))?;
    let (hash, published_at) =
        row.ok_or_else(|| StoreError::NotFound { what: format!("register {version}") })?;

    let sealed_rows = |sql: &str, what: &'static str| -> Result<Vec<(i64, Vec<u8>)>> {
        let mut stmt = conn.prepare(sql).map_err(StoreError::sql(what))?;
        let rows = stmt
            .query_map([version], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(StoreError::sql(what))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql(what))?;
        Ok(rows)
    };
    let inspectors: Vec<(String, Vec<u8>)> = {
        let mut stmt = conn
            .prepare("SELECT id, record_enc FROM register_inspectors WHERE register_version = ?1 ORDER BY position")
            .map_err(StoreError::sql("read register inspectors"))?;
        stmt.query_map([version], |r| Ok((r.get(0)?, r.get(1)?)))
            .map_err(StoreError::sql("read register inspectors"))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(StoreError::sql("read register inspectors"))?
    };
    let inspectors = inspectors
        .into_iter()
        .map(|(id, sealed)| open::<Inspector>(keys, &format!("register_inspectors:{version}:{id}"), &sealed))
        .collect::<Result<Vec<_>>>()?;
    let enterprises = sealed_rows(
        "SELECT position, record_enc FROM register_enterprises WHERE register_version = ?1 ORDER BY position",
        "read register enterprises",
    )?
    .into_iter()
    .map(|(pos, sealed)| open::<Enterprise>(keys, &enterprise_context(version, pos), &sealed))
    .collect::<Result<Vec<_>>>()?;
    let permits = sealed_rows(
        "SELECT position, record_enc FROM register_permits WHERE register_version = ?1 ORDER BY position",
        "read register permits",
    )?
    .into_iter()
    .map(|(pos, sealed)| open::<Permit>(keys, &permit_context(version, pos), &sealed))
    .collect::<Result<Vec<_>>>()?;

    let register = Register { version: version.to_owned(), published_at, inspectors, enterprises, permits };
    let corrupt = |reason: String| StoreError::Corrupt { what: format!("register {version}"), reason };
    let snapshot = RegisterSnapshot::new(register).map_err(|e| corrupt(e.to_string()))?;
    if snapshot.content_hash() != hash {
        return Err(corrupt("content hash differs from the one stored".into()).into());
    }
    Ok(snapshot)
}

/// The most recently stored register, if any.
pub fn latest_register(conn: &Connection, keys: &Keyring) -> Result<Option<RegisterSnapshot>> {
    let version: Option<String> = conn
        .query_row("SELECT version FROM registers ORDER BY loaded_at DESC, rowid DESC LIMIT 1", [], |r| {
            r.get(0)
        })
        .optional()
        .map_err(StoreError::sql("read latest register"))?;
    version.map(|v| load_register(conn, keys, &v)).transpose()
}

// ---- templates ----

/// Stores a validated template; like a register, an (id, version) names exactly one content.
pub fn save_template(tx: &Transaction<'_>, template: &Template) -> Result<()> {
    let problems = crate::checklist::validate(template);
    if !problems.is_empty() {
        return Err(crate::checklist::ChecklistError::Template {
            template: format!("{}@{}", template.id, template.version),
            problems,
        }
        .into());
    }
    let hash = content_hash(template)?;
    let stored: Option<String> = tx
        .query_row(
            "SELECT content_hash FROM checklist_templates WHERE id = ?1 AND version = ?2",
            params![template.id, template.version],
            |r| r.get(0),
        )
        .optional()
        .map_err(StoreError::sql("read template version"))?;
    match stored {
        Some(h) if h == hash => Ok(()),
        Some(_) => Err(DomainError::not_allowed(
            "template.version_conflict",
            format!("template {}@{} is already stored with different content", template.id, template.version),
        )
        .into()),
        None => {
            let body = serde_json::to_string(template)
                .map_err(|e| StoreError::Corrupt { what: "template".into(), reason: e.to_string() })?;
            tx.execute(
                "INSERT INTO checklist_templates (id, version, content_hash, body, loaded_at) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![template.id, template.version, hash, body, now_timestamp()],
            )
            .map_err(StoreError::sql("save template"))?;
            Ok(())
        }
    }
}

/// Loads a stored template and proves it is the one stored: like a register, its recomputed
/// content hash must match the one recorded when it was saved, so a body edited in place is
/// refused instead of loading under the same version.
pub fn load_template(conn: &Connection, id: &str, version: &str) -> Result<Template> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT body, content_hash FROM checklist_templates WHERE id = ?1 AND version = ?2",
            params![id, version],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("read template"))?;
    let (body, hash) =
        row.ok_or_else(|| StoreError::NotFound { what: format!("template {id}@{version}") })?;
    checked_template(&body, &hash)
}

/// The newest stored version of a template (by load time), for preparing a task offline.
pub fn latest_template(conn: &Connection, id: &str) -> Result<Option<Template>> {
    let row: Option<(String, String)> = conn
        .query_row(
            "SELECT body, content_hash FROM checklist_templates WHERE id = ?1
             ORDER BY loaded_at DESC, rowid DESC LIMIT 1",
            [id],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .optional()
        .map_err(StoreError::sql("read template"))?;
    row.map(|(body, hash)| checked_template(&body, &hash)).transpose()
}

fn checked_template(body: &str, stored_hash: &str) -> Result<Template> {
    let template: Template = parse("template", body)?;
    if content_hash(&template)? != stored_hash {
        return Err(StoreError::Corrupt {
            what: format!("template {}@{}", template.id, template.version),
            reason: "its content differs from the content hash recorded when it was loaded".into(),
        }
        .into());
    }
    Ok(template)
}

// ---- inspections ----

/// Saves an inspection after an operation, with the events that operation returned. Refuses to
/// overwrite a newer revision (two screens acting on stale copies must not undo each other).
pub fn save_inspection(
    tx: &Transaction<'_>,
    keys: &Keyring,
    inspection: &Inspection,
    events: &[DomainEvent],
) -> Result<()> {
    let id = inspection.id();
    let stored: Option<i64> = tx
        .query_row("SELECT revision FROM inspections WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(StoreError::sql("read inspection revision"))?;
    let revision = inspection.revision() as i64;
    if stored.is_some_and(|s| s >= revision) {
        return Err(DomainError::not_allowed(
            "inspection.stale_revision",
            format!("inspection {id} was changed elsewhere; reload it and repeat the operation"),
        )
        .into());
    }
    // The events first: the sealed body records the stream's head after them (see
    // `inspection_body`). These are the inspection's own events, so the stored body need not follow.
    for event in events {
        crate::store::trail::append_unfollowed(tx, keys, event)?;
    }
    let sealed = inspection_body::seal(tx, keys, inspection)?;
    // Only what the store itself needs stays plain (issue 10, finding 5): the enterprise, dates,
    // state, checklist and findings are inside the sealed body, and what the task list shows of
    // them inside the sealed summary written with it.
    let checklist = inspection.checklist();
    tx.execute(
        "INSERT INTO inspections (id, revision, register_version, register_hash, updated_at, body_enc)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (id) DO UPDATE SET revision = excluded.revision,
             register_version = excluded.register_version, register_hash = excluded.register_hash,
             updated_at = excluded.updated_at, body_enc = excluded.body_enc",
        params![
            id,
            revision,
            checklist.map(|c| c.register_version.as_str()),
            checklist.map(|c| c.register_hash.as_str()),
            now_timestamp(),
            sealed.body
        ],
    )
    .map_err(StoreError::sql("save inspection"))?;
    inspection_summary::store(tx, id, &sealed.summary)
}

/// Loads an inspection inside the write transaction, runs one operation on it and saves the result
/// with the operation's events: the whole step is atomic, and a refused operation saves nothing.
/// This is the shape every FFI call that changes an inspection takes:
/// `store.write(|tx, keys| modify_inspection(tx, keys, id, |i| i.check_in(fix)))`.
pub fn modify_inspection(
    tx: &Transaction<'_>,
    keys: &Keyring,
    id: &str,
    operation: impl FnOnce(&mut Inspection) -> Result<Vec<DomainEvent>>,
) -> Result<Inspection> {
    let mut inspection = load_inspection(tx, keys, id)?;
    let events = operation(&mut inspection)?;
    if !events.is_empty() || inspection.revision() > load_revision(tx, id)? {
        save_inspection(tx, keys, &inspection, &events)?;
    }
    Ok(inspection)
}

/// Creates and saves a new draft inspection with its `inspection.created` event.
pub fn create_inspection(
    tx: &Transaction<'_>,
    keys: &Keyring,
    id: &str,
    task: crate::model::Task,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Inspection> {
    let exists: Option<i64> = tx
        .query_row("SELECT 1 FROM inspections WHERE id = ?1", [id], |r| r.get(0))
        .optional()
        .map_err(StoreError::sql("read inspection"))?;
    if exists.is_some() {
        return Err(DomainError::not_allowed(
            "inspection.id.exists",
            format!("inspection {id} already exists"),
        )
        .into());
    }
    let (inspection, events) = Inspection::create(id, task, at)?;
    save_inspection(tx, keys, &inspection, &events)?;
    Ok(inspection)
}

/// 组队 — assigns the team, checking certificates against the newest register on the device.
pub fn assign_inspectors(
    tx: &Transaction<'_>,
    keys: &Keyring,
    id: &str,
    inspector_ids: &[String],
    at: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Inspection> {
    let register = newest_register(tx, keys)?;
    modify_inspection(tx, keys, id, |i| i.assign_inspectors(&register, inspector_ids, at))
}

/// 离线就绪 — expands the newest stored version of the task's template over the enterprise's
/// permits in the newest register on the device, and freezes both versions into the inspection.
pub fn prepare_offline(
    tx: &Transaction<'_>,
    keys: &Keyring,
    id: &str,
    at: chrono::DateTime<chrono::FixedOffset>,
) -> Result<Inspection> {
    let register = newest_register(tx, keys)?;
    let template_id = load_inspection(tx, keys, id)?.task().template_id.clone();
    let template = latest_template(tx, &template_id)?
        .ok_or_else(|| StoreError::NotFound { what: format!("template {template_id}") })?;
    modify_inspection(tx, keys, id, |i| i.prepare_offline(&register, &template, at))
}

fn newest_register(conn: &Connection, keys: &Keyring) -> Result<RegisterSnapshot> {
    latest_register(conn, keys)?.ok_or_else(|| StoreError::NotFound { what: "register".into() }.into())
}

fn load_revision(conn: &Connection, id: &str) -> Result<u64> {
    let rev: i64 = conn
        .query_row("SELECT revision FROM inspections WHERE id = ?1", [id], |r| r.get(0))
        .map_err(StoreError::sql("read inspection revision"))?;
    Ok(rev.max(0) as u64)
}

/// Loads an inspection; refuses a body older than its trail (a restored backup, a rollback) with
/// [`StoreError::InspectionOlderThanTrail`] rather than showing fewer answers than were recorded.
pub fn load_inspection(conn: &Connection, keys: &Keyring, id: &str) -> Result<Inspection> {
    let row: Option<(i64, Vec<u8>)> = conn
        .query_row("SELECT revision, body_enc FROM inspections WHERE id = ?1", [id], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()
        .map_err(StoreError::sql("read inspection"))?;
    let (revision, sealed) = row.ok_or_else(|| StoreError::NotFound { what: format!("inspection {id}") })?;
    inspection_body::open(conn, keys, id, revision.max(0) as u64, &sealed)
}

/// A list read from sealed rows: what opened, and the rows that did not.
///
/// One row that fails to open (its ciphertext damaged, or written under another key) must not
/// hide every other inspection from the inspector: it is left out of `items` and named in
/// `unreadable`, so the screen can still work and the failure is reported, not swallowed.
#[derive(Debug)]
pub struct Listed<T> {
    pub items: Vec<T>,
    pub unreadable: Vec<UnreadableRow>,
}

/// A stored row that could not be read: its id and the stable code of why (no content).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnreadableRow {
    pub id: String,
    pub code: &'static str,
}

/// Every stored inspection, soonest planned first; rows that do not open are reported apart. The
/// date is inside the sealed body, so the order is made after opening.
pub fn list_inspections(conn: &Connection, keys: &Keyring) -> Result<Listed<Inspection>> {
    let mut stmt = conn
        .prepare("SELECT id, revision, body_enc FROM inspections ORDER BY id")
        .map_err(StoreError::sql("list inspections"))?;
    let rows = stmt
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?, r.get::<_, Vec<u8>>(2)?)))
        .map_err(StoreError::sql("list inspections"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(StoreError::sql("list inspections"))?;
    let mut listed = Listed { items: Vec::with_capacity(rows.len()), unreadable: Vec::new() };
    for (id, revision, sealed) in rows {
        match inspection_body::open(conn, keys, &id, revision.max(0) as u64, &sealed) {
            Ok(inspection) => listed.items.push(inspection),
            Err(e) => listed.unreadable.push(UnreadableRow { code: e.explain().code, id }),
        }
    }
    listed.items.sort_by(|a, b| {
        let day = |i: &Inspection| i.scheduled_for().unwrap_or(i.task().planned_date);
        (day(a), a.id()).cmp(&(day(b), b.id()))
    });
    Ok(listed)
}

/// The task list read model, soonest planned first. Rows that do not open are left out (see
/// [`Listed`]); [`list_task_rows`] names them.
pub fn task_rows(conn: &Connection, keys: &Keyring) -> Result<Vec<TaskRow>> {
    Ok(list_task_rows(conn, keys)?.items)
}

/// The task list from each row's sealed summary ([`super::inspection_summary`]), each checked
/// against its stream's head in the same query; a row whose summary is missing, does not open or
/// is not at that head is read from its body instead, which refuses a stale or damaged one as
/// [`load_inspection`] does.
pub fn list_task_rows(conn: &Connection, keys: &Keyring) -> Result<Listed<TaskRow>> {
    // The head of each inspection's stream (`inspection:<id>`, see `inspection_body`).
    let mut stmt = conn
        .prepare(
            "SELECT i.id, i.revision, s.summary_enc, h.seq, h.hash FROM inspections i
             LEFT JOIN inspection_summaries s ON s.inspection_id = i.id
             LEFT JOIN trail_events h ON h.stream = 'inspection:' || i.id
                 AND h.seq = (SELECT MAX(s.seq) FROM trail_events s WHERE s.stream = 'inspection:' || i.id)
             ORDER BY i.id",
        )
        .map_err(StoreError::sql("list task summaries"))?;
    type Row = (String, i64, Option<Vec<u8>>, Option<i64>, Option<String>);
    let rows = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)))
        .map_err(StoreError::sql("list task summaries"))?
        .collect::<Result<Vec<Row>, _>>()
        .map_err(StoreError::sql("list task summaries"))?;
    let mut listed = Listed { items: Vec::with_capacity(rows.len()), unreadable: Vec::new() };
    for (id, revision, summary, seq, hash) in rows {
        let head = seq.zip(hash).map(|(seq, hash)| inspection_body::TrailHead { seq, hash });
        let revision = revision.max(0) as u64;
        let current =
            summary.and_then(|s| inspection_summary::open_current(keys, &id, revision, &s, head.as_ref()));
        let row = match current {
            Some(summary) => Ok(summary.into_row(id.clone())),
            None => load_inspection(conn, keys, &id).map(|i| task_row(&i)),
        };
        match row {
            Ok(row) => listed.items.push(row),
            Err(e) => listed.unreadable.push(UnreadableRow { code: e.explain().code, id }),
        }
    }
    listed.items.sort_by(|a, b| (a.planned_date, &a.inspection_id).cmp(&(b.planned_date, &b.inspection_id)));
    Ok(listed)
}
