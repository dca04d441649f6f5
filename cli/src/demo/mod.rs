//! `fieldseal demo [--keep DIR] [--intake URL] [--offline]`: a whole inspection on the embedded
//! example register and thermal-plant template, sent to a real intake. Intake is started here on
//! 127.0.0.1 (its data in the demo folder), or reached at `--intake URL` with the admin token from
//! `FIELDSEAL_ADMIN_TOKEN`; either way it is seeded through its admin API with the register, the
//! templates and the demo's task, and issues the enrolment code the device enrols with. Two
//! inspectors check in, show credentials, answer the checklist, take photos with real EXIF and a
//! short video, record a finding with a rectification deadline; the record is built, signed by
//! both inspectors and the party with synthetic strokes and frozen; the outbox is synced with
//! progress bars, every receipt checked, and the bundle exported with its PDF and verified
//! offline. Online the device imports nothing from files: the register, the templates and the
//! task reach it by the first pull, as on a phone. `--offline` skips intake (the demo of the record
//! issue) and loads the embedded examples instead. With `--keep DIR` the store, intake's data and
//! the bundle stay in DIR.

mod intake;
mod photo;
mod upload;
mod video;

use std::{
    path::{Path, PathBuf},
    sync::Arc,
};

use chrono::{DateTime, Duration, FixedOffset, NaiveDate, Utc};
use fieldseal_core::{
    Clock, Error, FixedClock, InspectionSession, Installation, Location, SyncEngine, SyncSettings,
    checklist::{AnswerValue, ResultCode, parse_template},
    crypto::{signer::SoftwareSigner, software_vault::KeyFileVault},
    evidence::{CancelToken, CaptureClock, EvidenceKind, IngestRequest, LocationFix},
    model::{GeoPoint, Handling, HeaderField, ItemView, NewFinding, Site, Task, TaskSource},
    outbox::{NetworkPolicy, NetworkState},
    record::{PartyStatement, SignerRole, Strokes},
    store::StoreError,
    verify::{VerifyOptions, verify_bundle_file},
};
use fieldseal_render::{KrillaRenderer, PdfTextReader, PinnedFont};

const REGISTER: &str = include_str!("../../../examples/register.json");
const TEMPLATE: &str = include_str!("../../../examples/templates/thermal-power-permit.json");
const ENTERPRISE: &str = "ent-thermal";
/// Two inspectors whose certificates are valid for years to come.
const TEAM: [&str; 2] = ["insp-001", "insp-004"];

const TEMPLATES: [&str; 3] = [
    TEMPLATE,
    include_str!("../../../examples/templates/hazardous-waste-storage.json"),
    include_str!("../../../examples/templates/wastewater-online-monitoring.json"),
];

/// Where the demo sends the inspection.
pub enum Target {
    /// No intake: the record issue's offline demo.
    Offline,
    /// Intake started here on 127.0.0.1.
    Local,
    /// An intake already running; the CA (PEM file) when it serves HTTPS from a private CA.
    Remote { url: String, ca: Option<PathBuf> },
}

pub fn run(keep: Option<&Path>, target: Target) -> u8 {
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
    match demo(&dir, &target) {
        Ok(true) => {
            match keep {
                Some(d) => println!(
                    "kept: store in {}, bundle in {}{}",
                    d.join("data").display(),
                    d.join("bundle.zip").display(),
                    if matches!(target, Target::Local) {
                        format!(", intake's data in {}", d.join("intake").display())
                    } else {
                        String::new()
                    }
                ),
                None => println!(
                    "(temporary folder removed; use --keep DIR to keep the store, intake's data and the bundle)"
                ),
            }
            0
        }
        Ok(false) => 1,
        Err(DemoError::Core(e)) => {
            let x = e.explain();
            eprintln!("demo failed [{}]: {}\n{}", x.code, x.message_en, x.message_zh);
            1
        }
        Err(DemoError::Step { what, reason }) => {
            eprintln!("demo failed at {what}: {reason}");
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

/// Why the demo stopped: a core error (explained in Chinese and English), or a step of the demo
/// itself (its folder, its media, the intake it talks to) with what went wrong.
#[derive(Debug)]
pub enum DemoError {
    Core(Error),
    Step { what: String, reason: String },
}

impl From<Error> for DemoError {
    fn from(e: Error) -> Self {
        DemoError::Core(e)
    }
}

/// Every module error of the core reaches the demo as the core's `Error`, explained the same way.
macro_rules! from_core {
    ($($module_error:ty),*) => {$(
        impl From<$module_error> for DemoError {
            fn from(e: $module_error) -> Self {
                DemoError::Core(e.into())
            }
        }
    )*};
}
from_core!(
    fieldseal_core::crypto::CryptoError,
    StoreError,
    fieldseal_core::protocol::ProtocolError,
    fieldseal_core::model::DomainError,
    fieldseal_core::record::RecordError,
    fieldseal_core::bundle::BundleError,
    fieldseal_core::sync::SyncError
);

type DemoResult<T> = std::result::Result<T, DemoError>;

fn other(what: &str, reason: impl std::fmt::Display) -> DemoError {
    DemoError::Step { what: what.into(), reason: reason.to_string() }
}

/// A passing answer for an item as the checklist screen shows it.
fn passing(item: &ItemView, today: NaiveDate) -> AnswerValue {
    let first = || item.options.first().map(|o| o.value.clone()).unwrap_or_default();
    match item.answer_type.as_str() {
        // A plausible hourly concentration in mg/m³, within whatever limits the item sets.
        "number" => AnswerValue::Number {
            value: 18.5f64.max(item.min.unwrap_or(f64::MIN)).min(item.max.unwrap_or(f64::MAX)),
        },
        "text" => AnswerValue::Text { value: "台账齐全，记录连续".into() },
        "single_choice" => AnswerValue::SingleChoice { value: first() },
        "multiple_choice" => AnswerValue::MultipleChoice { values: vec![first()] },
        "date" => AnswerValue::Date { value: today },
        _ => AnswerValue::Result { code: ResultCode::Pass, reason: None },
    }
}

/// The demo's link to intake: the runtime sync runs on, the intake and the device's engine.
struct Online {
    runtime: tokio::runtime::Runtime,
    intake: intake::DemoIntake,
    engine: SyncEngine,
}

fn demo(dir: &Path, target: &Target) -> DemoResult<bool> {
    std::fs::create_dir_all(dir).map_err(|e| other("demo folder", e))?;
    let bundle_path = dir.join("bundle.zip");
    if bundle_path.exists() || dir.join("data").exists() {
        return Err(other("demo folder", "already holds a demo; choose an empty folder"));
    }
    println!("fieldseal {} demo in {}", fieldseal_core::CORE_VERSION, dir.display());
    let font = PinnedFont::locate().map_err(|e| other("record font", e))?;
    let vault = KeyFileVault::open_or_create(dir.join("device.kek"))?;
    let device_signer = Arc::new(SoftwareSigner::load_or_create(&vault, &dir.join("device-signer.key"))?);
    // The visit runs on a simulated clock that each step moves on, so what the installation
    // stamps itself (a pulled task, the freeze) fits between the steps' own times.
    let clock = Arc::new(FixedClock::new(china_now()));
    let installation = Installation::open(dir.join("data"), &vault, device_signer.clone(), clock.clone())?;
    step(format!("encrypted store opened, device key {}", installation.device_key_id()?));

    let tick = |minutes: i64| {
        clock.advance(Duration::minutes(minutes));
        clock.now()
    };
    let start = tick(0);
    // The task the administrator assigns (online it is seeded into intake and pulled from there).
    let admin_template = parse_template(TEMPLATE).map_err(|e| other("example template", e))?;
    let task = Task {
        id: format!("task-demo-{}", Utc::now().format("%Y%m%d-%H%M%S")),
        title: "双随机抽查（演示）".into(),
        source: TaskSource::DoubleRandom,
        enterprise_id: ENTERPRISE.into(),
        template_id: admin_template.id.clone(),
        planned_date: start.date_naive(),
    };
    let inspections = installation.inspections();
    let (online, session) = match target {
        Target::Offline => {
            // No intake to pull from: the embedded examples stand in for what a pull delivers.
            let register = inspections.import_register(REGISTER)?;
            let template = inspections.import_template(TEMPLATE)?;
            step(format!(
                "offline: register {} and checklist {}@{} loaded from the embedded examples",
                register.version, template.id, template.version
            ));
            (None, inspections.create(task.clone())?)
        }
        _ => {
            let online = go_online(dir, target, &installation, &task)?;
            let session = pull_assignment(&online, &installation, &task)?;
            (Some(online), session)
        }
    };
    let id = session.id().to_owned();
    session.approve("执法科 科长")?;
    session.schedule(start.date_naive())?;
    session.assign_inspectors(&TEAM.map(str::to_owned))?;
    session.prepare_offline()?;
    let prepared = session.checklist()?;
    let enterprise = session.enterprise()?.ok_or_else(|| other("register", "no example enterprise"))?;
    let site = match &enterprise.site {
        Site::Radius { center, .. } => *center,
        Site::Polygon { points } => points.first().copied().unwrap_or(GeoPoint::new(32.47, 119.948)),
    };
    step(format!(
        "inspection {id} of {} approved, team {} and {}, ready offline (register {}, checklist {}@{})",
        enterprise.name,
        TEAM[0],
        TEAM[1],
        prepared.register_version,
        prepared.template_id,
        prepared.template_version
    ));

    tick(30);
    session.check_in(Location {
        lat: site.lat,
        lon: site.lon,
        accuracy_m: Some(6.0),
        provider: "gps".into(),
        mocked: false,
    })?;
    session.show_credentials("电子执法证二维码")?;
    session.answer_recusal(false, None)?;
    session.start_recording()?;
    for (field, value) in [
        (HeaderField::Place, "1#、2#机组脱硫区域、DA001排放口及CEMS小屋"),
        (HeaderField::PersonInChargeName, "周安全"),
        (HeaderField::PersonInChargePost, "环保部经理"),
        (HeaderField::PersonInChargeIdNumber, "320102198001010011"),
        (HeaderField::PersonInChargePhone, "13800000000"),
        (HeaderField::RecorderId, TEAM[1]),
    ] {
        session.set_header(field, value)?;
    }
    step("checked in on site, credentials shown, recusal declined, header filled");

    // Answers, as the checklist screen gives them: every item shown and not yet answered (an answer
    // can show further items) passes, except the first outlet sign, which fails.
    let today = tick(20).date_naive();
    let mut failing: Option<String> = None;
    let mut answered = 0;
    loop {
        let view = session.checklist()?;
        let next = view.sections.iter().flat_map(|s| &s.items).find(|i| i.visible && i.answer.is_none());
        let Some(item) = next else { break };
        let value = if item.template_item_id == "outlet.sign" && failing.is_none() {
            failing = Some(item.id.clone());
            AnswerValue::Result { code: ResultCode::Fail, reason: Some("排放口标志牌缺失".into()) }
        } else {
            passing(item, today)
        };
        session.set_answer(&item.id, value, TEAM[0], None)?;
        answered += 1;
    }
    step(format!("{answered} checklist items answered, {} 不合格", usize::from(failing.is_some())));

    let mut finding_id = None;
    if let Some(item) = &failing {
        let deadline = today + Duration::days(15);
        let finding = session.add_finding(NewFinding {
            item_id: item.clone(),
            category: None,
            description: "DA001废气排放口未设置规范的标志牌。".into(),
            legal_basis: Vec::new(),
            evidence_ids: Vec::new(),
            handling: Handling::RectifyByDeadline {
                measures: "按GB 15562.1设置排放口标志牌并报送整改照片".into(),
                deadline,
            },
        })?;
        step(format!("finding {finding}: 限期整改 by {deadline}"));
        finding_id = Some(finding);
    }

    // Photos with real EXIF: one per running facility shown, and one of the failed outlet.
    let evidence = installation.evidence();
    let mut shots: Vec<(Option<String>, Option<String>)> = session
        .checklist()?
        .sections
        .iter()
        .flat_map(|s| &s.items)
        .filter(|i| i.visible && i.template_item_id == "facility.running")
        .map(|i| (Some(i.id.clone()), None))
        .collect();
    if let Some(item) = &failing {
        shots.push((Some(item.clone()), finding_id.clone()));
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
            finding_id: finding.clone(),
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
        evidence.ingest(&request, &CancelToken::new(), &mut |_| {})?;
    }
    step(format!(
        "{} photos sealed (SHA-256 before processing, encrypted, EXIF read, manifest signed)",
        shots.len()
    ));

    // A short video of the outlet, as the camera app would hand it over.
    let at = tick(2);
    let video_path = captures.join("VID_0001.mp4");
    let made = video::make(&video_path).map_err(|e| other("demo video", e))?;
    let request = IngestRequest {
        source_path: video_path,
        inspection_id: id.clone(),
        item_id: failing.clone(),
        finding_id: finding_id.clone(),
        kind: EvidenceKind::Video,
        operator: TEAM[1].into(),
        location: Some(LocationFix {
            lat: site.lat,
            lon: site.lon,
            altitude_m: None,
            accuracy_m: 8.0,
            provider: "fused".into(),
            fix_time: at.with_timezone(&Utc),
            mocked: false,
            satellites: None,
        }),
        clock: CaptureClock {
            wall_clock: at,
            monotonic_ms: 3_600_000 + shots.len() as u64 * 120_000,
            gnss_time: None,
            server_offset_ms: None,
        },
        parent: None,
        derivation: None,
        app_version: format!("fieldseal-cli {}", env!("CARGO_PKG_VERSION")),
    };
    let video = evidence.ingest(&request, &CancelToken::new(), &mut |_| {})?;
    step(match made {
        video::Video::Encoded => {
            format!("video sealed: 2 s from ffmpeg's test pattern, {} bytes", video.manifest.size)
        }
        video::Video::ContainerOnly => format!(
            "video sealed: ffmpeg not found, so a minimal MP4 container ({} bytes, no frames) stands in",
            video.manifest.size
        ),
    });

    tick(10);
    session.submit_for_signature()?;
    tick(1);
    let records = installation.records(&id);
    let record = records.build(PartyStatement::confirmed(), true, None)?;
    step(format!(
        "record built: {} pages, document hash {}",
        record.pages.len(),
        &record.document_hash[..16]
    ));

    let sign_clock = CaptureClock {
        wall_clock: tick(3),
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
        records.sign(
            &record.record_id,
            &record.document_hash,
            role,
            inspector.map(str::to_owned),
            None,
            Strokes::synthetic(seed as u32 + 1),
            sign_clock.clone(),
            None,
        )?;
    }
    step("signed by both inspectors and the person in charge (strokes kept, image rendered, device-signed)");
    // The installation signs the trail head at the freeze (the anchor the province countersigns
    // when it receives the trail head).
    tick(1);
    let frozen = records.freeze(&record.record_id)?;
    step(format!("record frozen; inspection is now {}", session.state()?.label_zh()));

    let mut synced = String::new();
    if let Some(online) = &online {
        synced = sync(online)?;
        // The trail head's receipt is the province's countersignature of the freeze's anchor.
        let trail = installation.verify_trail()?;
        if !trail.all_good {
            for p in &trail.problems {
                eprintln!("  trail: {}", p.message_en);
            }
            return Err(other("trail", "the device's trail does not verify"));
        }
        step(format!(
            "trail verified on the device: {} streams, {} signed heads, {} countersigned by the province — {}",
            trail.streams_checked,
            trail.anchors_checked,
            trail.anchors_countersigned,
            trail.anchor_message_en
        ));
    }

    let renderer = KrillaRenderer::new(font);
    tick(1);
    let summary = records.export_with_pdf(&frozen.record_id, &bundle_path, &renderer)?;
    step(format!(
        "bundle exported: {} members, {} bytes, PDF/A-2b with Noto Sans CJK SC",
        summary.members, summary.bytes
    ));

    let events = session.trail()?.len();
    let report = verify_bundle_file(
        &bundle_path,
        &VerifyOptions {
            pdf_text: Some(&PdfTextReader),
            trusted_key: Some(installation.device_public_key()?),
            fail_fast: false,
        },
    );
    if report.ok() {
        step(format!("bundle verified offline: {} checks passed", report.checks.len()));
    } else {
        print!("{}", report.render_text());
    }
    println!(
        "summary: inspection {id}, {} pages, {} signatures, {} photos and 1 video, {} trail events{synced}, bundle {}",
        frozen.pages.len(),
        frozen.entries.len(),
        shots.len(),
        events,
        display(&bundle_path)
    );
    Ok(report.ok())
}

/// Starts or reaches intake, seeds it through its admin API and enrols the device.
fn go_online(dir: &Path, target: &Target, installation: &Installation, task: &Task) -> DemoResult<Online> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("fieldseal-demo")
        .enable_all()
        .build()
        .map_err(|e| other("demo runtime", e))?;
    let (intake, ca_pem) = match target {
        Target::Remote { url, ca } => {
            let pem = ca
                .as_ref()
                .map(|path| {
                    std::fs::read_to_string(path)
                        .map_err(|e| other("--ca", format!("{}: {e}", path.display())))
                })
                .transpose()?;
            (intake::DemoIntake::connect(url, pem.as_deref()).map_err(|e| other("intake", e))?, pem)
        }
        _ => {
            let data = dir.join("intake");
            let started =
                runtime.block_on(intake::DemoIntake::start(&data)).map_err(|e| other("intake", e))?;
            (started, None)
        }
    };
    let code = runtime
        .block_on(intake.seed(REGISTER, &TEMPLATES, task, &TEAM))
        .map_err(|e| other("seeding intake", e))?;
    step(format!(
        "intake at {} seeded through its admin API: register, {} templates, task {}; enrolment code issued for {}",
        intake.base_url,
        TEMPLATES.len(),
        task.id,
        TEAM[0]
    ));
    let settings = SyncSettings { intake_url: intake.base_url.clone(), province_ca_pem: ca_pem };
    let engine = installation.sync(&settings)?;
    let enrolled = runtime.block_on(engine.enrol(&code, Some("fieldseal demo".into())))?;
    step(format!(
        "device enrolled as {} for {}; receipts will be checked under intake key {}",
        &enrolled.device_id[..12.min(enrolled.device_id.len())],
        enrolled.inspector_id,
        enrolled.server_key_id
    ));
    Ok(Online { runtime, intake, engine })
}

/// The first pass, with nothing to upload yet, pulls what the administrator published: the
/// register, the templates and the task, which becomes a draft inspection on the device. Returns
/// that inspection.
fn pull_assignment(
    online: &Online,
    installation: &Installation,
    task: &Task,
) -> DemoResult<InspectionSession> {
    let network = NetworkPolicy::new(NetworkState::Unmetered);
    let cancel = CancelToken::new();
    let pass = online.engine.sync_now(network, &cancel, std::time::Duration::from_secs(60));
    let pulled = online.runtime.block_on(pass)?;
    if let Some(stopped) = pulled.pull_stopped {
        return Err(other("pull", stopped.message_en));
    }
    // A reused intake may hold earlier demo tasks for the same inspector: find this one by its id.
    let inspections = installation.inspections();
    for row in inspections.task_list()? {
        let session = inspections.open(&row.inspection_id)?;
        if session.task()?.id == task.id {
            step(format!(
                "pulled from intake: register, templates and task {} ({} new) — inspection {}",
                task.id,
                pulled.new_tasks,
                session.id()
            ));
            return Ok(session);
        }
    }
    Err(other("pull", format!("task {} did not arrive from intake", task.id)))
}

/// Syncs the outbox with progress bars and checks every receipt; returns the summary's words.
fn sync(online: &Online) -> DemoResult<String> {
    println!("  ..  syncing to intake");
    let outcome = upload::sync_with_bars(&online.runtime, &online.engine)?;
    let status = online.engine.status()?;
    let checks = online.engine.check_receipts()?;
    let bad: Vec<_> = checks.iter().filter(|c| c.problem.is_some()).collect();
    if status.acknowledged as usize != status.items.len() || !bad.is_empty() {
        for c in &bad {
            eprintln!("  receipt for {} refused: {}", c.object_id, c.problem.as_deref().unwrap_or(""));
        }
        return Err(other(
            "sync",
            format!(
                "{} of {} uploads acknowledged ({:?})",
                status.acknowledged,
                status.items.len(),
                outcome.ended
            ),
        ));
    }
    step(format!(
        "synced: {} uploads acknowledged ({} bytes of evidence), every receipt verified under intake's key and naming what was sent",
        checks.len(),
        status.bytes_total
    ));
    let (held, verified, records, heads) =
        online.runtime.block_on(online.intake.holdings()).map_err(|e| other("intake report", e))?;
    step(format!(
        "intake holds {held} evidence items ({verified} verified), {records} record(s) and {heads} trail head(s)"
    ));
    Ok(format!(", {} receipts verified", checks.len()))
}

fn display(p: &Path) -> String {
    PathBuf::from(p).display().to_string()
}
