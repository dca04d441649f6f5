//! The demo's sync: enrol with the code the administrator issued, drain the outbox in one pass
//! while progress bars follow the status read model (bytes intake holds per item, and overall),
//! then check every kept receipt again. The bars read only `SyncEngine::status`, as the app's
//! upload screen does.

use std::time::Duration;

use fieldseal_core::{
    PassEnd, SyncEngine, SyncItem, SyncItemState, SyncOutcome, evidence::CancelToken, outbox::NetworkPolicy,
    outbox::NetworkState, outbox::OutboxKind,
};
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

fn style(template: &str) -> ProgressStyle {
    // The templates are constants written here; a typo is a bug caught on the first run.
    ProgressStyle::with_template(template).unwrap_or_else(|_| ProgressStyle::default_bar())
}

fn label(item: &SyncItem) -> String {
    // A trail head is named `inspection:<id>`: the id is the part that tells items apart.
    let name = item.object_id.rsplit(':').next().unwrap_or(&item.object_id);
    let short: String = name.chars().take(12).collect();
    match item.kind {
        OutboxKind::Evidence => format!("evidence {short}"),
        OutboxKind::Record => format!("record   {short}"),
        OutboxKind::TrailHead => format!("trail    {short}"),
    }
}

/// (done, total) of one item for its bar: bytes for evidence, one step for statements.
fn progress(item: &SyncItem) -> (u64, u64) {
    match &item.state {
        SyncItemState::Pending { bytes_done, bytes_total, .. }
        | SyncItemState::Uploading { bytes_done, bytes_total } => (*bytes_done, bytes_total.unwrap_or(1)),
        SyncItemState::Acknowledged => (u64::MAX, 0),
        _ => (0, 1),
    }
}

/// One pass, drawn; returns the pass's outcome.
pub fn sync_with_bars(
    runtime: &tokio::runtime::Runtime,
    engine: &SyncEngine,
) -> fieldseal_core::Result<SyncOutcome> {
    let first = engine.status()?;
    let bars = MultiProgress::new();
    let total = bars.add(ProgressBar::new(first.bytes_total.max(1)));
    total.set_style(style("  {prefix:14} [{bar:32.green}] {bytes}/{total_bytes} {msg}"));
    total.set_prefix("all evidence");
    let item_style = style("  {prefix:21} [{bar:25.cyan}] {percent:>3}% {msg}");
    let item_bars: Vec<(i64, ProgressBar)> = first
        .items
        .iter()
        .map(|item| {
            let bar = bars.add(ProgressBar::new(progress(item).1.max(1)));
            bar.set_style(item_style.clone());
            bar.set_prefix(label(item));
            (item.item_id, bar)
        })
        .collect();
    let pass = {
        let engine = engine.clone();
        let network = NetworkPolicy::new(NetworkState::Unmetered);
        runtime.spawn(
            async move { engine.sync_now(network, &CancelToken::new(), Duration::from_secs(300)).await },
        )
    };
    let draw = |status: &fieldseal_core::SyncStatus| {
        total.set_length(status.bytes_total.max(1));
        total.set_position(status.bytes_done);
        for item in &status.items {
            let Some((_, bar)) = item_bars.iter().find(|(id, _)| *id == item.item_id) else { continue };
            let (done, length) = progress(item);
            match &item.state {
                SyncItemState::Acknowledged => {
                    bar.set_position(bar.length().unwrap_or(1));
                    bar.set_message("已回执 acknowledged");
                }
                SyncItemState::Wedged { reason } => bar.set_message(format!("stopped: {}", reason.code)),
                SyncItemState::Uploading { .. } => {
                    bar.set_length(length.max(1));
                    bar.set_position(done);
                    bar.set_message("uploading");
                }
                _ => {
                    bar.set_length(length.max(1));
                    bar.set_position(done);
                }
            }
        }
    };
    while !pass.is_finished() {
        draw(&engine.status()?);
        std::thread::sleep(Duration::from_millis(80));
    }
    let outcome = runtime.block_on(pass).map_err(|e| fieldseal_core::store::StoreError::Corrupt {
        what: "sync pass".into(),
        reason: e.to_string(),
    })??;
    draw(&engine.status()?);
    total.finish();
    for (_, bar) in &item_bars {
        bar.finish();
    }
    if outcome.ended != PassEnd::Done {
        eprintln!("  sync pass ended early: {:?}", outcome.ended);
    }
    Ok(outcome)
}
