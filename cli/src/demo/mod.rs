//! `fieldseal demo [--keep DIR]`: a whole inspection offline, on the embedded example register and
//! thermal-plant template: two inspectors check in, show credentials, answer the checklist, take
//! photos with real EXIF, record a finding with a rectification deadline; the record is built,
//! signed by both inspectors and the party with synthetic strokes, frozen, exported with its PDF,
//! and the bundle verified offline. With `--keep DIR` the store and the bundle stay in DIR.

mod photo;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Duration, FixedOffset, Utc};
use fieldseal_core::{
    Error, Result, bundle,
    checklist::{AnswerType, AnswerValue, ResultCode, parse_template},
    crypto::{DeviceSigner, signer::SoftwareSigner, software_vault::KeyFileVault},
    evidence::{
        CancelToken, CaptureClock, EvidenceKind, IngestContext, IngestPolicy, IngestRequest, LocationFix,
        StoredInspectionGuard, ingest,
    },
    model::{CheckIn, GeoPoint, Handling, HeaderField, NewFinding, RegisterSnapshot, Site, Task, TaskSource},
    record::{BuildRequest, PartyStatement, SignRequest, SignerRole, Strokes, service},
    store::{Store, StoreError, inspections as db},
    verify::{VerifyOptions, verify_bundle_file},
};
use fieldseal_render::{KrillaRenderer, PdfTextReader, PinnedFont};

const REGISTER: &str = include_str!("../../../examples/register.json");
const TEMPLATE: &str = include_str!("../../../examples/templates/thermal-power-permit.json");
const ENTERPRISE: &str = "ent-thermal";
/// Two inspectors whose certificates are valid for years to come.
const TEAM: [&str; 2] = ["insp-001", "insp-004"];

pub fn run(keep: Option<&Path>) -> u8 {
    let temp;
    let dir = match keep {
        Some(d) => d.to_owned(),
        None => match tempfile::tempdir() {
            Ok(t) => {
                temp = t;
                temp.path().to_owned()
            }
            Err(e) => {
                eprintln!("demo: cannot create a temporary folder: {e}");
                return 2;
            }
        },
    };
    match demo(&dir) {
        Ok(true) => {
            match keep {
                Some(d) => println!(
                    "kept: store in {}, bundle in {}",
                    d.join("data").display(),
                    d.join("bundle.zip").display()
                ),
                None => {
                    println!("(temporary folder removed; use --keep DIR to keep the store and the bundle)")
                }
            }
            0
        }
        Ok(false) => 1,
        Err(e) => {
            let x = e.explain();
            eprintln!("demo failed [{}]: {}\n{}", x.code, x.message_en, x.message_zh);
            1
        }
    }
}

fn step(what: impl AsRef<str>) {
    println!("  ok  {}", what.as_ref());
}

fn china_now() -> DateTime<FixedOffset> {
    let tz = FixedOffset::east_opt(8 * 3600).expect("UTC+8 is a valid offset");
    // Whole minutes: the record shows times to the minute.
    let now = Utc::now().with_timezone(&tz);
    now - Duration::seconds(i64::from(chrono::Timelike::second(&now)))
}

fn other(what: &str, reason: impl std::fmt::Display) -> Error {
    StoreError::Corrupt { what: what.into(), reason: reason.to_string() }.into()
}

fn passing(spec: &AnswerType) -> AnswerValue {
    match spec {
        AnswerType::Result => AnswerValue::Result { code: ResultCode::Pass, reason: None },
        // A plausible hourly concentration in mg/m³, within whatever limits the item sets.
        AnswerType::Number { min, max, .. } => {
            AnswerValue::Number { value: 18.5f64.max(min.unwrap_or(f64::MIN)).min(max.unwrap_or(f64::MAX)) }
        }
        AnswerType::Text { .. } => AnswerValue::Text { value: "台账齐全，记录连续".into() },
        AnswerType::SingleChoice { options } => AnswerValue::SingleChoice { value: options[0].value.clone() },
        AnswerType::MultipleChoice { options } => {
            AnswerValue::MultipleChoice { values: vec![options[0].value.clone()] }
        }
        AnswerType::Date => AnswerValue::Date { value: Utc::now().date_naive() },
    }
}

fn demo(dir: &Path) -> Result<bool> {
    std::fs::create_dir_all(dir).map_err(|e| other("demo folder", e))?;
    let bundle_path = dir.join("bundle.zip");
    if bundle_path.exists() || dir.join("data").exists() {
        return Err(other("demo folder", "already holds a demo; choose an empty folder"));
    }
    println!("fieldseal {} demo in {}", fieldseal_core::CORE_VERSION, dir.display());
    let font = PinnedFont::locate().map_err(|e| other("record font", e))?;
    let vault = KeyFileVault::open_or_create(dir.join("device.kek"))?;
    let store = Store::open(dir.join("data"), &vault)?;
    let signer = SoftwareSigner::load_or_create(&vault, &dir.join("device-signer.key"))?;
    step(format!(
        "encrypted store opened, device key {}",
        fieldseal_core::crypto::signer::key_id(&signer.public_key()?)?
    ));

    let register = RegisterSnapshot::from_json(REGISTER)?;
    let template = parse_template(TEMPLATE).map_err(|e| other("example template", e))?;
    store.write(|tx, keys| {
        db::save_register(tx, keys, &register)?;
        db::save_template(tx, &template)
    })?;
    step(format!(
        "register {} and checklist {}@{} loaded",
        register.version(),
        template.id,
        template.version
    ));

    let mut t = china_now();
    let mut tick = |minutes: i64| {
        t += Duration::minutes(minutes);
        t
    };
    let start = tick(0);
    let enterprise =
        register.enterprise(ENTERPRISE).ok_or_else(|| other("register", "no example enterprise"))?.clone();
    let site = match &enterprise.site {
        Site::Radius { center, .. } => *center,
        Site::Polygon { points } => points.first().copied().unwrap_or(GeoPoint::new(32.47, 119.948)),
    };
    let id = format!("demo-{}", Utc::now().format("%Y%m%d-%H%M%S"));
    let task = Task {
        id: format!("task-{id}"),
        title: "双随机抽查（演示）".into(),
        source: TaskSource::DoubleRandom,
        enterprise_id: ENTERPRISE.into(),
        template_id: template.id.clone(),
        planned_date: start.date_naive(),
    };
    let team: Vec<String> = TEAM.iter().map(|s| s.to_string()).collect();
    store.write(|tx, keys| {
        db::create_inspection(tx, keys, &id, task, start)?;
        db::modify_inspection(tx, keys, &id, |i| i.approve("执法科 科长", start))?;
        db::modify_inspection(tx, keys, &id, |i| i.schedule(start.date_naive(), start))?;
        db::assign_inspectors(tx, keys, &id, &team, start)?;
        db::prepare_offline(tx, keys, &id, start)
    })?;
    step(format!(
        "inspection {id} of {} approved, team {} and {}, ready offline",
        enterprise.name, TEAM[0], TEAM[1]
    ));

    let arrive = tick(30);
    store.write(|tx, keys| {
        db::modify_inspection(tx, keys, &id, |i| {
            i.check_in(CheckIn {
                at: arrive,
                location: site,
                accuracy_m: Some(6.0),
                provider: "gps".into(),
                mocked: false,
            })
        })?;
        db::modify_inspection(tx, keys, &id, |i| i.show_credentials("电子执法证二维码", arrive))?;
        db::modify_inspection(tx, keys, &id, |i| i.answer_recusal(false, None, arrive))?;
        db::modify_inspection(tx, keys, &id, |i| i.start_recording(arrive))?;
        for (field, value) in [
            (HeaderField::Place, "1#、2#机组脱硫区域、DA001排放口及CEMS小屋"),
            (HeaderField::PersonInChargeName, "周安全"),
            (HeaderField::PersonInChargePost, "环保部经理"),
            (HeaderField::PersonInChargeIdNumber, "320102198001010011"),
            (HeaderField::PersonInChargePhone, "13800000000"),
            (HeaderField::RecorderId, TEAM[1]),
        ] {
            db::modify_inspection(tx, keys, &id, |i| i.set_header(field, value, arrive))?;
        }
        Ok(())
    })?;
    step("checked in on site, credentials shown, recusal declined, header filled");

    // Answers: every shown item passes except the first outlet sign, which fails.
    let inspection = store.read(|c, k| db::load_inspection(c, k, &id))?;
    let items: Vec<_> =
        inspection.checklist().ok_or_else(|| other("checklist", "missing"))?.items().cloned().collect();
    let failing = items.iter().find(|i| i.template_item_id == "outlet.sign").map(|i| i.id.clone());
    let answered_at = tick(20);
    store.write(|tx, keys| {
        for item in &items {
            let value = if Some(&item.id) == failing.as_ref() {
                AnswerValue::Result {
                    code: ResultCode::Fail, reason: Some("排放口标志牌缺失".into())
                }
            } else {
                passing(&item.answer)
            };
            db::modify_inspection(tx, keys, &id, |i| {
                if i.is_visible(&item.id) {
                    i.set_answer(&item.id, value, TEAM[0], None, answered_at)
                } else {
                    Ok(Vec::new())
                }
            })?;
        }
        Ok(())
    })?;
    step(format!("{} checklist items answered, 1 不合格", items.len()));

    let mut finding_id = String::new();
    if let Some(item) = &failing {
        let deadline = answered_at.date_naive() + Duration::days(15);
        store.write(|tx, keys| {
            db::modify_inspection(tx, keys, &id, |i| {
                let (fid, events) = i.add_finding(
                    NewFinding {
                        item_id: item.clone(),
                        category: None,
                        description: "DA001废气排放口未设置规范的标志牌。".into(),
                        legal_basis: Vec::new(),
                        evidence_ids: Vec::new(),
                        handling: Handling::RectifyByDeadline {
                            measures: "按GB 15562.1设置排放口标志牌并报送整改照片".into(),
                            deadline,
                        },
                    },
                    answered_at,
                )?;
                finding_id = fid;
                Ok(events)
            })
        })?;
        step(format!("finding {finding_id}: 限期整改 by {deadline}"));
    }

    // Photos with real EXIF: one per running facility, and one of the failed outlet.
    let cx = IngestContext {
        store: &store,
        signer: &signer,
        guard: &StoredInspectionGuard,
        policy: IngestPolicy::default(),
    };
    let mut shots: Vec<(Option<String>, Option<String>)> = items
        .iter()
        .filter(|i| i.template_item_id == "facility.running")
        .map(|i| (Some(i.id.clone()), None))
        .collect();
    if let Some(item) = &failing {
        shots.push((Some(item.clone()), Some(finding_id.clone())));
    }
    let captures = dir.join("captures");
    std::fs::create_dir_all(&captures).map_err(|e| other("captures", e))?;
    for (n, (item_id, finding)) in shots.iter().enumerate() {
        let at = tick(2);
        let path = captures.join(format!("IMG_{n:04}.jpg"));
        let bytes = photo::photo(n as u32, at, site.lat, site.lon).map_err(|e| other("demo photo", e))?;
        std::fs::write(&path, bytes).map_err(|e| other("demo photo", e))?;
        let request = IngestRequest {
            source_path: path,
            inspection_id: id.clone(),
            item_id: item_id.clone(),
            finding_id: finding.clone().filter(|f| !f.is_empty()),
            kind: EvidenceKind::Photo,
            operator: TEAM[0].into(),
            location: Some(LocationFix {
                lat: site.lat,
                lon: site.lon,
                altitude_m: Some(8.0),
                accuracy_m: 5.0,
                provider: "gps".into(),
                fix_time: at.with_timezone(&Utc),
                mocked: false,
                satellites: Some(16),
            }),
            clock: CaptureClock {
                wall_clock: at,
                monotonic_ms: 3_600_000 + n as u64 * 120_000,
                gnss_time: Some(at.with_timezone(&Utc)),
                server_offset_ms: None,
            },
            parent: None,
            derivation: None,
            app_version: format!("fieldseal-cli {}", env!("CARGO_PKG_VERSION")),
        };
        ingest(&cx, &request, &CancelToken::new(), &mut |_| {})?;
    }
    step(format!(
        "{} photos sealed (SHA-256 before processing, encrypted, EXIF read, manifest signed)",
        shots.len()
    ));

    let submitted = tick(10);
    store.write(|tx, keys| db::modify_inspection(tx, keys, &id, |i| i.submit_for_signature(submitted)))?;
    let record = service::build(
        &store,
        &id,
        BuildRequest {
            party_statement: PartyStatement::confirmed(),
            rights_explained: true,
            back_fill_reason: None,
            at: tick(1),
        },
    )?;
    step(format!(
        "record built: {} pages, document hash {}",
        record.pages.len(),
        &record.document_hash[..16]
    ));

    let sign_at = tick(3);
    let clock = CaptureClock {
        wall_clock: sign_at,
        monotonic_ms: 9_000_000,
        gnss_time: None,
        server_offset_ms: None,
    };
    for (seed, (role, inspector)) in [
        (SignerRole::Inspector, Some(TEAM[0])),
        (SignerRole::Inspector, Some(TEAM[1])),
        (SignerRole::Party, None),
    ]
    .into_iter()
    .enumerate()
    {
        service::sign(
            &store,
            &signer,
            &SignRequest {
                record_id: record.record_id.clone(),
                shown_document_hash: record.document_hash.clone(),
                role,
                inspector_id: inspector.map(str::to_owned),
                witness_name: None,
                strokes: Strokes::synthetic(seed as u32 + 1),
                clock: clock.clone(),
                location: None,
            },
        )?;
    }
    step("signed by both inspectors and the person in charge (strokes kept, image rendered, device-signed)");
    let frozen = service::freeze(&store, &signer, &record.record_id, tick(1))?;
    let state = store.read(|c, k| db::load_inspection(c, k, &id))?.state();
    step(format!("record frozen; inspection is now {}", state.label_zh()));

    let renderer = KrillaRenderer::new(font);
    let summary = bundle::export(&store, &signer, &frozen.record_id, &bundle_path, Some(&renderer), tick(1))?;
    step(format!(
        "bundle exported: {} members, {} bytes, PDF/A-2b with Noto Sans CJK SC",
        summary.members, summary.bytes
    ));

    let events = store
        .read(|c, k| fieldseal_core::store::trail::verify_stream(c, k, &format!("inspection:{id}")))?
        .len();
    let report = verify_bundle_file(
        &bundle_path,
        &VerifyOptions {
            pdf_text: Some(&PdfTextReader),
            trusted_key: Some(signer.public_key()?),
            fail_fast: false,
        },
    );
    if report.ok() {
        step(format!("bundle verified offline: {} checks passed", report.checks.len()));
    } else {
        print!("{}", report.render_text());
    }
    println!(
        "summary: inspection {id}, {} pages, {} signatures, {} photos, {} trail events, bundle {}",
        frozen.pages.len(),
        frozen.entries.len(),
        shots.len(),
        events,
        display(&bundle_path)
    );
    Ok(report.ok())
}

fn display(p: &Path) -> String {
    PathBuf::from(p).display().to_string()
}
