//! Sync over a bad network and through crashes, against a real intake on 127.0.0.1:
//! - a proxy injecting a fault into 30 % of requests (resets, cut bodies, truncated answers, 5xx,
//!   delays) while 200 sealed photos go up: each acknowledged exactly once, none twice at intake;
//! - intake killed mid-upload (its runtime dropped with every connection) and started again over
//!   the same stores: the upload resumes from the offset intake reports;
//! - the terminal process SIGKILLed mid-upload and started again: it resumes from the server's
//!   offset (HEAD), sending at most one chunk again, losing and duplicating nothing.
//!
//! Re-sent bytes are counted at the proxy: every PATCH body byte it forwards to intake.

use fieldseal_test_support as support;
mod sync_support;

use std::{
    process::{Command, Stdio},
    sync::{Arc, atomic::Ordering},
    time::{Duration, Instant},
};

use fieldseal_core::{
    crypto::signer::SoftwareSigner,
    outbox::{Backoff, Driver, NetworkPolicy, NetworkState},
    sync::{ClientOptions, IntakeClient, Trust, enrolment},
};
use support::harness::{key_vault, open_store};
use sync_support::*;

const CHILD_ENV: &str = "FIELDSEAL_SYNC_CHILD";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_percent_faults_over_200_items_acknowledge_each_exactly_once() {
    const ITEMS: usize = 200;
    let intake = TestIntake::start(None).await;
    let (base, proxy) = Proxy::start(intake.addr, Mode::Faults(30), None).await;
    let terminal = Terminal::new();
    let sealing = Instant::now();
    let ids = terminal.seal_photos(ITEMS, 48);
    println!("sealed {ITEMS} photos in {:?}", sealing.elapsed());
    let draining = Instant::now();
    // Two chunks per photo (about 5 KiB each), so cuts land between chunks too; no more, since
    // every request costs intake a durable commit and the run must stay short.
    let client = terminal.client(&base, &Trust::LoopbackPlain, 4096);
    enrol(&terminal, &client, &intake).await;

    let report = terminal.driver(&client).drain(Instant::now() + Duration::from_secs(90)).await.unwrap();
    let faults = *proxy.faults.lock().unwrap();
    println!("drained in {:?}; faults injected: {faults}; {report:?}", draining.elapsed());
    assert!(faults >= ITEMS as u64 / 2, "the proxy injected only {faults} faults");
    let stuck: Vec<_> =
        ids.iter().map(|id| terminal.item(id)).filter(|i| i.state != "acknowledged").collect();
    assert!(stuck.is_empty(), "{stuck:#?}");
    assert_eq!((report.acknowledged, report.wedged), (ITEMS as u64, 0), "{report:?}");

    let receipts = terminal.receipts();
    assert_eq!(receipts.len(), ITEMS, "one receipt per item");
    let mut named: Vec<&str> = receipts.iter().map(|r| r.object_id.as_str()).collect();
    named.sort_unstable();
    named.dedup();
    assert_eq!(named.len(), ITEMS, "each item acknowledged once");
    let mut held = intake.evidence().await;
    assert_eq!(held.len(), ITEMS, "intake holds each item once");
    held.sort();
    held.dedup();
    assert_eq!(held.len(), ITEMS);
    assert!(held.iter().all(|(id, verified)| *verified && ids.contains(id)));
    assert_eq!(intake.intake.meta.statements().await.unwrap().len(), ITEMS, "no duplicate statement");
}

fn client_for(base: &str, signer: Arc<SoftwareSigner>, chunk: usize) -> IntakeClient {
    let options = ClientOptions {
        connect_timeout: Duration::from_secs(2),
        request_timeout: Duration::from_secs(5),
        chunk_size: chunk,
    };
    IntakeClient::new(base, &Trust::LoopbackPlain, options, signer).unwrap()
}

fn driver<'a>(
    store: &'a fieldseal_core::store::Store,
    client: &'a IntakeClient,
    signer: &'a SoftwareSigner,
) -> Driver<'a> {
    Driver {
        store,
        client,
        signer,
        backoff: Backoff { base: Duration::from_millis(5), cap: Duration::from_millis(50) },
        network: NetworkPolicy::new(NetworkState::Unmetered),
    }
}

/// One photo spanning many chunks, and its size.
fn one_large_photo(terminal: &Terminal, chunk: usize) -> (String, u64) {
    let id = terminal.seal_photos(1, 1024).remove(0);
    let size = terminal.manifest(&id).size;
    assert!(size > 8 * chunk as u64, "the photo spans many chunks ({size} bytes)");
    (id, size)
}

async fn wait_for_patch_bytes(proxy: &Proxy, at_least: u64) {
    let give_up = Instant::now() + Duration::from_secs(60);
    while proxy.forwarded_patch_bytes.load(Ordering::Relaxed) < at_least {
        assert!(Instant::now() < give_up, "the upload never got going");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intake_killed_mid_upload_and_restarted_resumes_from_its_offset() {
    const CHUNK: usize = 1024;
    let data = Arc::new(tempfile::tempdir().unwrap());
    let mut intake = KillableIntake::start(data.clone(), true);
    let (base, proxy) = Proxy::start(intake.addr, Mode::SlowPatches, None).await;
    let terminal = Terminal::new();
    let (id, size) = one_large_photo(&terminal, CHUNK);
    let client = client_for(&base, terminal.signer.clone(), CHUNK);
    let code = intake.reader().await.issue_enrolment_code(INSPECTOR).await.unwrap().0;
    enrolment::enrol(&terminal.store, &client, terminal.signer.as_ref(), &code, None).await.unwrap();

    let terminal_driver = driver(&terminal.store, &client, &terminal.signer);
    let drain = terminal_driver.drain(Instant::now() + Duration::from_secs(60));
    let crash = async {
        wait_for_patch_bytes(&proxy, 4 * CHUNK as u64).await;
        intake.kill();
        // Down for a moment: the terminal's requests fail and back off meanwhile.
        tokio::time::sleep(Duration::from_millis(100)).await;
        intake = KillableIntake::start(data.clone(), false);
        proxy.set_upstream(intake.addr);
    };
    let (report, ()) = tokio::join!(drain, crash);
    let report = report.unwrap();
    assert_eq!((report.acknowledged, report.wedged), (1, 0), "{report:?}");
    assert!(report.retried >= 1, "the kill cut the upload: {report:?}");
    assert_eq!(terminal.item(&id).state, "acknowledged");

    let forwarded = proxy.forwarded_patch_bytes.load(Ordering::Relaxed);
    let resent = forwarded.saturating_sub(size);
    println!("blob {size} bytes, {forwarded} PATCH bytes reached intake, re-sent {resent}");
    assert!(resent <= CHUNK as u64, "re-sent {resent} bytes, more than one chunk");
    let reader = intake.reader().await;
    assert_eq!(evidence_held(&reader).await, vec![(id, true)], "held once, verified");
    assert_eq!(reader.meta.statements().await.unwrap().len(), 1);
}

/// The child: drains the outbox of the store in the given directory until SIGKILLed.
#[test]
fn upload_child() {
    let Ok(spec) = std::env::var(CHILD_ENV) else { return };
    let (dir, rest) = spec.split_once('|').unwrap();
    let (base, chunk) = rest.split_once('|').unwrap();
    let dir = std::path::Path::new(dir);
    let store = open_store(dir);
    let signer = Arc::new(SoftwareSigner::load_or_create(&key_vault(dir), &dir.join("device.key")).unwrap());
    let client = client_for(base, signer.clone(), chunk.parse().unwrap());
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    runtime.block_on(async {
        driver(&store, &client, &signer).drain(Instant::now() + Duration::from_secs(60)).await.unwrap();
    });
    panic!("the upload finished before the parent killed this child");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_terminal_sigkilled_mid_upload_resumes_from_the_server_offset_sending_at_most_one_chunk_again() {
    if std::env::var(CHILD_ENV).is_ok() {
        return;
    }
    const CHUNK: usize = 1024;
    let intake = TestIntake::start(None).await;
    let (base, proxy) = Proxy::start(intake.addr, Mode::SlowPatches, None).await;
    let terminal = Terminal::new();
    let (id, size) = one_large_photo(&terminal, CHUNK);
    let client = client_for(&base, terminal.signer.clone(), CHUNK);
    enrol(&terminal, &client, &intake).await;
    drop(client);
    // The child owns the store while it runs, as the app process would.
    let Terminal { dir, store, signer } = terminal;
    drop(store);

    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "upload_child", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, format!("{}|{base}|{CHUNK}", dir.path().display()))
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    wait_for_patch_bytes(&proxy, 4 * CHUNK as u64).await;
    assert!(child.try_wait().unwrap().is_none(), "the child exited before the kill");
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    let before_restart = proxy.forwarded_patch_bytes.load(Ordering::Relaxed);
    assert!(before_restart < size, "killed mid-upload ({before_restart} of {size} bytes)");

    // Started again: the row is found in flight, the server says how far it got.
    let terminal = Terminal { store: open_store(dir.path()), dir, signer };
    let item = terminal.item(&id);
    assert!(item.upload_url.is_some(), "the upload's URL survived the kill: {item:?}");
    let client = client_for(&base, terminal.signer.clone(), CHUNK);
    let report = driver(&terminal.store, &client, &terminal.signer)
        .drain(Instant::now() + Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!((report.acknowledged, report.wedged), (1, 0), "{report:?}");

    let forwarded = proxy.forwarded_patch_bytes.load(Ordering::Relaxed);
    let resent = forwarded.saturating_sub(size);
    println!(
        "blob {size} bytes; {before_restart} PATCH bytes before the kill, {forwarded} in all; re-sent {resent}"
    );
    assert!(resent <= CHUNK as u64, "re-sent {resent} bytes, more than one chunk");
    assert_eq!(intake.evidence().await, vec![(id.clone(), true)], "held once, verified");
    assert_eq!(intake.intake.meta.statements().await.unwrap().len(), 1);
    assert_eq!(terminal.receipts().len(), 1);
}
