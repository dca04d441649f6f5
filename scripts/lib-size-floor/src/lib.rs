//! One exported function per dependency, each using it for real, so the linker keeps what an app
//! that uses the dependency would keep. Nothing calls these; they exist to be linked.

use std::{io::Cursor, sync::Arc};

uniffi::setup_scaffolding!();

/// SQLite (rusqlite, bundled).
#[uniffi::export]
pub fn sqlite_rows(sql: String) -> i64 {
    rusqlite::Connection::open_in_memory().and_then(|c| c.query_row(&sql, [], |r| r.get(0))).unwrap_or(-1)
}

/// ring: SHA-256, AES-256-GCM and an ECDSA P-256 signature, what the core uses.
#[uniffi::export]
pub fn seal(key: Vec<u8>, pkcs8: Vec<u8>, bytes: Vec<u8>) -> Vec<u8> {
    use ring::{aead, digest, rand, signature};
    let mut out = digest::digest(&digest::SHA256, &bytes).as_ref().to_vec();
    if let Ok(k) = aead::UnboundKey::new(&aead::AES_256_GCM, &key) {
        let mut data = bytes.clone();
        let nonce = aead::Nonce::assume_unique_for_key([0; 12]);
        if aead::LessSafeKey::new(k).seal_in_place_append_tag(nonce, aead::Aad::empty(), &mut data).is_ok() {
            out.extend(data);
        }
    }
    let rng = rand::SystemRandom::new();
    if let Ok(pair) =
        signature::EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_ASN1_SIGNING, &pkcs8, &rng)
        && let Ok(sig) = pair.sign(&rng, &bytes)
    {
        out.extend_from_slice(sig.as_ref());
    }
    out
}

/// image: decode a JPEG or PNG, scale it down and encode a JPEG thumbnail.
#[uniffi::export]
pub fn thumbnail(bytes: Vec<u8>) -> Vec<u8> {
    let Ok(img) = image::load_from_memory(&bytes) else { return Vec::new() };
    let mut out = Vec::new();
    let _ = img.thumbnail(160, 160).write_to(&mut Cursor::new(&mut out), image::ImageFormat::Jpeg);
    out
}

/// kamadak-exif: read a JPEG's EXIF fields.
#[uniffi::export]
pub fn exif_fields(bytes: Vec<u8>) -> Vec<String> {
    exif::Reader::new()
        .read_from_container(&mut Cursor::new(bytes))
        .map(|e| e.fields().map(|f| f.display_value().to_string()).collect())
        .unwrap_or_default()
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Stamp {
    at: chrono::DateTime<chrono::FixedOffset>,
    note: String,
}

/// serde + chrono: a timestamped JSON value read and written back.
#[uniffi::export]
pub fn restamp(json: String) -> String {
    serde_json::from_str::<Stamp>(&json)
        .map(|mut s| {
            s.at = s.at + chrono::Duration::seconds(1);
            serde_json::to_string(&s).unwrap_or_default()
        })
        .unwrap_or_default()
}

/// reqwest over rustls with ring, on the tokio runtime uniffi drives.
#[uniffi::export(async_runtime = "tokio")]
pub async fn status_of(url: String, ca_der: Vec<u8>) -> u16 {
    let mut roots = rustls::RootCertStore::empty();
    let _ = roots.add(ca_der.into());
    let Ok(config) =
        rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
    else {
        return 0;
    };
    let config = config.with_root_certificates(roots).with_no_client_auth();
    let Ok(client) = reqwest::Client::builder().use_preconfigured_tls(config).build() else { return 0 };
    match client.get(url).send().await {
        Ok(r) => r.status().as_u16(),
        Err(_) => 0,
    }
}
