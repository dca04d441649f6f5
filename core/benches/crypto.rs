//! Crypto throughput on this machine: the vault stream against ring's raw primitives (and OpenSSL
//! when it is on PATH), all on one buffer in one run, so a slow stream shows up as a gap to the
//! primitive rather than as a bare number.
//!
//! `cargo bench -p fieldseal-core --bench crypto`; `FIELDSEAL_BENCH_MB` sets the buffer size
//! (default 64), `FIELDSEAL_BENCH_RUNS` the number of runs whose median is shown (default 5).
//! The evidence ingest goal is SHA-256 + stream encrypt >= 0.8 GB/s.

use std::{
    hint::black_box,
    io::{self, Cursor, Write},
    process::Command,
    time::{Duration, Instant},
};

use fieldseal_core::crypto::{
    DataKey, SubKey,
    stream::{StreamDecryptor, StreamEncryptor, encrypted_len},
};
use ring::{
    aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey},
    digest,
    rand::{SecureRandom, SystemRandom},
};

/// Chunk the stream writer is fed with, as a file reader would.
const FEED: usize = 1024 * 1024;
/// The vault's segment size, used for the raw AES-GCM comparison.
const SEGMENT: usize = 64 * 1024;

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).filter(|&v| v > 0).unwrap_or(default)
}

fn median(mut runs: Vec<Duration>) -> Duration {
    runs.sort();
    runs[runs.len() / 2]
}

/// Times `f` `runs` times after one warm-up run.
fn measure(runs: usize, mut f: impl FnMut()) -> Duration {
    f();
    median(
        (0..runs)
            .map(|_| {
                let start = Instant::now();
                f();
                start.elapsed()
            })
            .collect(),
    )
}

fn stream_key() -> SubKey {
    DataKey::generate(&SystemRandom::new()).expect("system random").derive("vault-stream")
}

fn encrypt<W: Write>(key: &SubKey, data: &[u8], out: W) -> W {
    let mut enc = StreamEncryptor::new(key, out).expect("header");
    for chunk in data.chunks(FEED) {
        enc.write_all(chunk).expect("encrypt");
    }
    enc.finish().expect("finish").0
}

/// `openssl speed` for one algorithm on 64 KiB blocks, in MB/s; None when unavailable.
fn openssl_speed(args: &[&str], row_prefix: &str) -> Option<f64> {
    let output = Command::new("openssl")
        .arg("speed")
        .args(["-seconds", "1", "-bytes", "65536"])
        .args(args)
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&output.stdout);
    // The result row is "<alg> <rate>k" with the rate in 1000s of bytes per second.
    let row = text.lines().rev().find(|l| l.to_ascii_lowercase().starts_with(row_prefix))?;
    let rate = row.split_whitespace().last()?.strip_suffix('k')?;
    rate.parse::<f64>().ok().map(|k| k / 1000.0)
}

fn main() {
    let mb = env_usize("FIELDSEAL_BENCH_MB", 64);
    let runs = env_usize("FIELDSEAL_BENCH_RUNS", 5);
    let len = mb * 1024 * 1024;
    let mut data = vec![0u8; len];
    SystemRandom::new().fill(&mut data).expect("system random");
    let key = stream_key();
    let ciphertext = encrypt(&key, &data, Vec::with_capacity(encrypted_len(len as u64) as usize));

    let mut rows: Vec<(&str, Duration)> = Vec::new();

    rows.push((
        "sha256 (ring, raw)",
        measure(runs, || {
            black_box(digest::digest(&digest::SHA256, black_box(&data)));
        }),
    ));

    let mut work = data.clone();
    let mut raw_key = [0u8; 32];
    SystemRandom::new().fill(&mut raw_key).expect("system random");
    let aead = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &raw_key).expect("32-byte key"));
    rows.push((
        "aes-256-gcm (ring, 64 KiB seal_in_place)",
        measure(runs, || {
            for (i, chunk) in work.chunks_mut(SEGMENT).enumerate() {
                let mut nonce = [0u8; NONCE_LEN];
                nonce[4..].copy_from_slice(&(i as u64).to_be_bytes());
                let tag = aead
                    .seal_in_place_separate_tag(Nonce::assume_unique_for_key(nonce), Aad::empty(), chunk)
                    .expect("seal");
                black_box(tag.as_ref()[0]);
            }
        }),
    ));

    rows.push((
        "stream encrypt (-> io::sink)",
        measure(runs, || {
            black_box(encrypt(&key, black_box(&data), io::sink()));
        }),
    ));

    rows.push((
        "stream decrypt (Cursor -> io::sink)",
        measure(runs, || {
            let mut dec = StreamDecryptor::open(&key, Cursor::new(black_box(&ciphertext))).expect("open");
            black_box(dec.decrypt_to(io::sink()).expect("decrypt"));
        }),
    ));

    rows.push((
        "sha256 + stream encrypt (one pass)",
        measure(runs, || {
            let mut hash = digest::Context::new(&digest::SHA256);
            let mut enc = StreamEncryptor::new(&key, io::sink()).expect("header");
            for chunk in black_box(&data).chunks(FEED) {
                hash.update(chunk);
                enc.write_all(chunk).expect("encrypt");
            }
            black_box(enc.finish().expect("finish"));
            black_box(hash.finish());
        }),
    ));

    println!();
    println!("fieldseal crypto bench: {mb} MiB buffer, median of {runs} runs (MB = 10^6 bytes)");
    println!("{:<42} {:>10} {:>10}", "operation", "MB/s", "ms");
    for (name, t) in &rows {
        let mbps = len as f64 / t.as_secs_f64() / 1e6;
        println!("{name:<42} {mbps:>10.0} {:>10.1}", t.as_secs_f64() * 1e3);
    }
    let openssl = [
        ("openssl speed sha256 (64 KiB)", openssl_speed(&["sha256"], "sha256")),
        ("openssl speed -evp aes-256-gcm (64 KiB)", openssl_speed(&["-evp", "aes-256-gcm"], "aes-256-gcm")),
    ];
    for (name, mbps) in openssl {
        match mbps {
            Some(v) => println!("{name:<42} {v:>10.0} {:>10}", "-"),
            None => println!("{name:<42} {:>10} {:>10}", "n/a", "-"),
        }
    }
}
