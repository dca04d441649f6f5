//! The storage suite: the same behaviour checked against every storage pair (SQLite + directory,
//! PostgreSQL + S3). Each function gets a running intake with the example register imported.

use chrono::Duration;
use fieldseal_core::protocol::{
    SignedEnvelope,
    enrolment::DeviceCertificate,
    pull::PullPage,
    receipt::{Receipt, ReceiptKind, ServerKeyInfo},
    tus,
};
use fieldseal_intake::{
    ids::sha256_hex,
    sim::{SimDevice, manifest_for, seal},
};
use reqwest::Method;
use serde_json::{Value, json};

use super::Harness;

fn photo(seed: u8, len: usize) -> Vec<u8> {
    let mut bytes = vec![0xff, 0xd8, 0xff, 0xe0];
    bytes.extend((0..len).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)));
    bytes
}

async fn server_key(h: &Harness) -> Vec<u8> {
    let info: ServerKeyInfo =
        h.http.get(h.url("/.well-known/fieldseal/server-key")).send().await.unwrap().json().await.unwrap();
    info.public_key_bytes().unwrap()
}

fn code_of(body: &Value) -> &str {
    body["error"]["code"].as_str().unwrap_or("")
}

async fn statement_count(h: &Harness) -> usize {
    h.intake.meta.statements().await.unwrap().len()
}

pub async fn enrolled_device_uploads_evidence_and_gets_a_signed_receipt_naming_its_hash(h: &Harness) {
    let code = h.enrolment_code("insp-001").await;
    let mut device = SimDevice::new(&h.base, h.http.clone());
    let enrolled = device.enrol(&code).await.unwrap();
    let key = server_key(h).await;
    assert_eq!(enrolled.server_key.public_key_bytes().unwrap(), key, "enrolment returns the published key");
    let certificate = DeviceCertificate::open(&enrolled.certificate, &key).unwrap();
    assert_eq!(certificate.inspector_id, "insp-001");
    assert_eq!(certificate.device_key_id, device.signer.key_id());
    device.login().await.unwrap();

    let bytes = photo(1, 300_000);
    let receipt = device.submit_photo("ev-1", "inspection-1", &bytes).await.unwrap();
    let receipt = Receipt::open(&serde_json::from_value::<SignedEnvelope>(receipt).unwrap(), &key).unwrap();
    assert_eq!(receipt.kind, ReceiptKind::Evidence);
    assert_eq!(receipt.object_id, "ev-1");
    assert_eq!(receipt.sha256, sha256_hex(&bytes));
    assert_eq!(receipt.device_id, enrolled.device_id);

    let report = h.intake.report().await.unwrap();
    let evidence = &report.inspections[0].evidence[0];
    assert_eq!((evidence.evidence_id.as_str(), evidence.verified), ("ev-1", true));
}

pub async fn repeating_a_manifest_returns_the_same_receipt_and_other_content_under_its_id_is_refused(
    h: &Harness,
) {
    let device = h.device().await;
    let bytes = photo(2, 50_000);
    device.upload(&bytes, 16 * 1024).await.unwrap();
    let manifest = manifest_for("ev-2", "inspection-2", &bytes, &device.signer);
    let first = device.post_envelope("/v1/evidence", &seal(&manifest, &device.signer)).await.unwrap();
    // Re-signed: a different envelope text (ECDSA is randomised) over the same statement.
    let again = device.post_envelope("/v1/evidence", &seal(&manifest, &device.signer)).await.unwrap();
    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(first, again, "a repeat answers with the first receipt");

    let other = photo(3, 50_000);
    device.upload(&other, 16 * 1024).await.unwrap();
    let conflicting = manifest_for("ev-2", "inspection-2", &other, &device.signer);
    let (status, body) =
        device.post_envelope("/v1/evidence", &seal(&conflicting, &device.signer)).await.unwrap();
    assert_eq!((status, code_of(&body)), (409, "statement.conflict"));
    assert_eq!(statement_count(h).await, 1);
}

pub async fn an_upload_can_be_resumed_from_the_offset_the_server_reports(h: &Harness) {
    let device = h.device().await;
    let bytes = photo(4, 200_000);
    let sha = sha256_hex(&bytes);
    let url = device.create_upload(bytes.len() as u64, &sha).await.unwrap();
    assert_eq!(device.patch(&url, 0, &bytes[..70_000]).await.unwrap(), (204, Some(70_000)));
    // The terminal lost its connection and its idea of the offset: it asks.
    let head = h
        .http
        .head(&url)
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), 200);
    assert_eq!(head.headers()[tus::HEADER_UPLOAD_OFFSET], "70000");
    assert_eq!(head.headers()[tus::HEADER_UPLOAD_LENGTH], "200004");
    assert_eq!(device.patch(&url, 70_000, &bytes[70_000..]).await.unwrap(), (204, Some(bytes.len() as u64)));
    assert!(h.intake.meta.blob(&sha).await.unwrap().is_some());
    assert_eq!(h.intake.blobs.rehash(&sha).await.unwrap(), Some((sha, bytes.len() as u64)));
}

pub async fn an_offset_that_does_not_match_is_refused_with_409(h: &Harness) {
    let device = h.device().await;
    let bytes = photo(5, 10_000);
    let url = device.create_upload(bytes.len() as u64, &sha256_hex(&bytes)).await.unwrap();
    assert_eq!(device.patch(&url, 100, &bytes[100..]).await.unwrap().0, 409);
    assert_eq!(device.patch(&url, 0, &bytes[..5000]).await.unwrap().0, 204);
    assert_eq!(device.patch(&url, 0, &bytes[..5000]).await.unwrap().0, 409, "the same chunk twice");
    assert_eq!(device.patch(&url, 5000, &bytes[5000..]).await.unwrap().0, 204);
}

pub async fn a_chunk_whose_checksum_does_not_match_is_refused_with_460_and_not_kept(h: &Harness) {
    let device = h.device().await;
    let bytes = photo(6, 10_000);
    let url = device.create_upload(bytes.len() as u64, &sha256_hex(&bytes)).await.unwrap();
    let wrong = tus::encode_checksum("sha256", &[0u8; 32]);
    let response = h
        .http
        .patch(&url)
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .header(tus::HEADER_UPLOAD_OFFSET, "0")
        .header(tus::HEADER_UPLOAD_CHECKSUM, wrong)
        .header("content-type", tus::OFFSET_CONTENT_TYPE)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 460);
    assert_eq!(
        device.patch(&url, 0, &bytes).await.unwrap(),
        (204, Some(bytes.len() as u64)),
        "offset stayed at 0"
    );
}

pub async fn a_blob_that_does_not_hash_to_its_declared_sha256_is_refused_and_nothing_is_stored(h: &Harness) {
    let device = h.device().await;
    let bytes = photo(7, 30_000);
    let declared = sha256_hex(b"something else");
    let url = device.create_upload(bytes.len() as u64, &declared).await.unwrap();
    let response = h
        .http
        .patch(&url)
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .header(tus::HEADER_UPLOAD_OFFSET, "0")
        .header("content-type", tus::OFFSET_CONTENT_TYPE)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 422);
    let body: Value = response.json().await.unwrap();
    assert_eq!(code_of(&body), "upload.sha256_mismatch");
    assert!(h.intake.meta.blob(&declared).await.unwrap().is_none());
    assert!(h.intake.meta.blob(&sha256_hex(&bytes)).await.unwrap().is_none());
    assert_eq!(h.intake.blobs.rehash(&declared).await.unwrap(), None);
    // The same in two chunks: assembled from parts, hashed, refused, nothing kept.
    let url = device.create_upload(bytes.len() as u64, &declared).await.unwrap();
    assert_eq!(device.patch(&url, 0, &bytes[..10_000]).await.unwrap(), (204, Some(10_000)));
    assert_eq!(device.patch(&url, 10_000, &bytes[10_000..]).await.unwrap().0, 422);
    assert!(h.intake.meta.blob(&declared).await.unwrap().is_none());
    assert_eq!(h.intake.blobs.rehash(&declared).await.unwrap(), None);
    // The manifest for those bytes therefore finds no blob.
    let manifest = seal(&manifest_for("ev-7", "inspection-7", &bytes, &device.signer), &device.signer);
    let (status, body) = device.post_envelope("/v1/evidence", &manifest).await.unwrap();
    assert_eq!((status, code_of(&body)), (409, "evidence.blob_missing"));
    assert_eq!(statement_count(h).await, 0);
}

pub async fn tampered_or_foreign_manifests_are_refused_and_nothing_is_stored(h: &Harness) {
    let device = h.device().await;
    let other = h.device().await;
    let bytes = photo(8, 20_000);
    device.upload(&bytes, 8192).await.unwrap();
    let manifest = manifest_for("ev-8", "inspection-8", &bytes, &device.signer);

    let mut tampered = seal(&manifest, &device.signer);
    tampered.payload["operator"] = json!("insp-002");
    let (status, body) = device.post_envelope("/v1/evidence", &tampered).await.unwrap();
    assert_eq!((status, code_of(&body)), (422, "statement.bad_signature"));

    // Signed by another enrolled device but submitted by this one.
    let foreign = seal(&manifest_for("ev-8", "inspection-8", &bytes, &other.signer), &other.signer);
    let (status, body) = device.post_envelope("/v1/evidence", &foreign).await.unwrap();
    assert_eq!((status, code_of(&body)), (403, "statement.foreign_key"));

    // Claims this device's key id but is signed by the other key.
    let mut relabelled = seal(&manifest, &other.signer);
    relabelled.key_id = device.signer.key_id().to_owned();
    let (status, body) = device.post_envelope("/v1/evidence", &relabelled).await.unwrap();
    assert_eq!((status, code_of(&body)), (422, "statement.bad_signature"));

    let mut wrong_size = manifest.clone();
    wrong_size.size += 1;
    let (status, body) =
        device.post_envelope("/v1/evidence", &seal(&wrong_size, &device.signer)).await.unwrap();
    assert_eq!((status, code_of(&body)), (422, "evidence.size_mismatch"));
    assert_eq!(statement_count(h).await, 0);
}

pub async fn malformed_json_and_oversize_bodies_are_refused(h: &Harness) {
    let device = h.device().await;
    for body in ["{", "[]", r#"{"payload":{},"alg":"ES256","key_id":"x","signature":"y","extra":1}"#, "\u{0}"]
    {
        let response = h
            .http
            .post(h.url("/v1/evidence"))
            .header("authorization", device.bearer())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{body:?}");
        let json: Value = response.json().await.unwrap();
        assert_eq!(code_of(&json), "request.malformed");
    }
    // An oversize body is refused from its Content-Length, before it is sent: speak HTTP by hand so
    // the refusal is read instead of racing the upload of 4 MB the server never reads.
    let address = h.base.trim_start_matches("http://").to_owned();
    let mut stream = tokio::net::TcpStream::connect(&address).await.unwrap();
    let request = format!(
        "POST /v1/evidence HTTP/1.1\r\nHost: {address}\r\nAuthorization: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
        device.bearer(),
        h.intake.policy.max_json_size + 1
    );
    tokio::io::AsyncWriteExt::write_all(&mut stream, request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    let mut buffer = [0u8; 1024];
    while !answer.contains("request.too_large") && answer.len() < 8192 {
        let n = tokio::io::AsyncReadExt::read(&mut stream, &mut buffer).await.unwrap();
        if n == 0 {
            break;
        }
        answer.push_str(&String::from_utf8_lossy(&buffer[..n]));
    }
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("request.too_large"), "{answer}");
    let too_long = h.intake.policy.max_blob_size + 1;
    let response = h
        .http
        .post(h.url("/v1/uploads"))
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .header(tus::HEADER_UPLOAD_LENGTH, too_long.to_string())
        .header(tus::HEADER_UPLOAD_METADATA, tus::encode_metadata(&[("sha256", &"a".repeat(64))]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 413);
    assert_eq!(statement_count(h).await, 0);
}

pub async fn paths_that_try_to_escape_the_blob_directory_name_nothing(h: &Harness) {
    let device = h.device().await;
    for path in [
        "/v1/uploads/..%2F..%2F..%2Fetc%2Fpasswd",
        "/v1/uploads/%2e%2e%2fintake.db",
        "/v1/uploads/../../intake.db",
        "/v1/uploads/0123456789abcdef0123456789abcdeg",
    ] {
        let response = h
            .http
            .head(h.url(path))
            .header("authorization", device.bearer())
            .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{path}");
    }
    // A declared hash that is a path is refused at creation.
    let response = h
        .http
        .post(h.url("/v1/uploads"))
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .header(tus::HEADER_UPLOAD_LENGTH, "4")
        .header(tus::HEADER_UPLOAD_METADATA, tus::encode_metadata(&[("sha256", "../../../../etc/passwd")]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let mut manifest = manifest_for("ev-9", "i", b"abcd", &device.signer);
    manifest.sha256 = "../".repeat(21) + "x";
    let (status, body) =
        device.post_envelope("/v1/evidence", &seal(&manifest, &device.signer)).await.unwrap();
    assert_eq!((status, code_of(&body)), (400, "evidence.bad_hash"));
}

pub async fn enrolment_codes_work_once_and_expire(h: &Harness) {
    let code = h.enrolment_code("insp-002").await;
    let mut first = SimDevice::new(&h.base, h.http.clone());
    first.enrol(&code).await.unwrap();
    let mut second = SimDevice::new(&h.base, h.http.clone());
    let reused = second.enrol(&code).await.unwrap_err();
    assert!(reused.contains("enrol.code_used"), "{reused}");

    let expiring = h.enrolment_code("insp-002").await;
    h.clock.advance(h.intake.policy.enrolment_code_ttl + Duration::minutes(1));
    let expired = second.enrol(&expiring).await.unwrap_err();
    assert!(expired.contains("enrol.code_expired"), "{expired}");
    let unknown = second.enrol("ZZZZZ-ZZZZZ").await.unwrap_err();
    assert!(unknown.contains("enrol.code_unknown"), "{unknown}");
    let (status, body) =
        h.admin(Method::POST, "/admin/v1/enrolment-codes", Some(json!({"inspector_id": "nobody"}))).await;
    assert_eq!((status, code_of(&body)), (404, "enrol.inspector_unknown"));
    assert_eq!(h.intake.meta.devices().await.unwrap().len(), 1);
}

pub async fn enrolment_needs_proof_of_possession_of_the_presented_key(h: &Harness) {
    let code = h.enrolment_code("insp-001").await;
    let honest = SimDevice::new(&h.base, h.http.clone());
    let thief = SimDevice::new(&h.base, h.http.clone());
    let mut request = honest.enrolment_request(&code).await.unwrap();
    // The thief signs the honest device's request (its public key) with their own key.
    let forged = seal(&request.payload, &thief.signer);
    request.signature = forged.signature;
    let response = h.http.post(h.url("/v1/enrolment")).json(&request).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert!(h.intake.meta.devices().await.unwrap().is_empty());
}

pub async fn token_requests_cannot_be_replayed_and_challenges_expire_by_server_time(h: &Harness) {
    let mut device = h.device().await;
    let request = device.token_request(Duration::zero()).await.unwrap();
    let first = h.http.post(h.url("/v1/auth/token")).json(&request).send().await.unwrap();
    assert_eq!(first.status(), 200);
    let replay = h.http.post(h.url("/v1/auth/token")).json(&request).send().await.unwrap();
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(code_of(&body), "auth.challenge_unknown");

    // A device clock three hours off does not matter: expiries are by the server's clock.
    let skewed = device.token_request(Duration::hours(3)).await.unwrap();
    assert_eq!(h.http.post(h.url("/v1/auth/token")).json(&skewed).send().await.unwrap().status(), 200);
    let skewed = device.token_request(-Duration::hours(3)).await.unwrap();
    assert_eq!(h.http.post(h.url("/v1/auth/token")).json(&skewed).send().await.unwrap().status(), 200);

    // A challenge answered after it expired on the server's clock is refused.
    let late = device.token_request(Duration::zero()).await.unwrap();
    h.clock.advance(h.intake.policy.challenge_ttl + Duration::seconds(1));
    let response = h.http.post(h.url("/v1/auth/token")).json(&late).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(code_of(&response.json::<Value>().await.unwrap()), "auth.challenge_expired");

    // Tokens expire by the server's clock too.
    device.login().await.unwrap();
    h.clock.advance(h.intake.policy.token_ttl + Duration::seconds(1));
    let response =
        h.http.get(h.url("/v1/pull")).header("authorization", device.bearer()).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(code_of(&response.json::<Value>().await.unwrap()), "auth.bad_token");
}

pub async fn unknown_and_revoked_devices_are_refused(h: &Harness) {
    let mut stranger = SimDevice::new(&h.base, h.http.clone());
    stranger.device_id = Some("0123456789abcdef0123456789abcdef".into());
    let request = stranger.token_request(Duration::zero()).await.unwrap();
    let response = h.http.post(h.url("/v1/auth/token")).json(&request).send().await.unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(code_of(&response.json::<Value>().await.unwrap()), "auth.unknown_device");
    for bearer in ["", "Bearer ", "Bearer not-a-token", "Basic abc"] {
        let response = h.http.get(h.url("/v1/pull")).header("authorization", bearer).send().await.unwrap();
        assert_eq!(response.status(), 401, "{bearer:?}");
    }
    assert_eq!(h.http.get(h.url("/v1/pull")).send().await.unwrap().status(), 401);

    let mut device = h.device().await;
    let device_id = device.device_id.clone().unwrap();
    let (status, _) = h.admin(Method::POST, &format!("/admin/v1/devices/{device_id}/revoke"), None).await;
    assert_eq!(status, 200);
    let bytes = photo(10, 1000);
    let response = h
        .http
        .post(h.url("/v1/uploads"))
        .header("authorization", device.bearer())
        .header(tus::HEADER_TUS_RESUMABLE, tus::TUS_VERSION)
        .header(tus::HEADER_UPLOAD_LENGTH, bytes.len().to_string())
        .header(tus::HEADER_UPLOAD_METADATA, tus::encode_metadata(&[("sha256", &sha256_hex(&bytes))]))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401, "the revoked device's token stopped working");
    let again = device.login().await.unwrap_err();
    assert!(again.contains("auth.device_revoked"), "{again}");
    assert!(h.intake.meta.statements().await.unwrap().is_empty());
}

pub async fn records_and_trail_heads_are_verified_stored_once_and_receipted(h: &Harness) {
    let device = h.device().await;
    let key = server_key(h).await;
    let record = json!({"type": "onsite_record", "v": 1, "record_id": "rec-1", "inspection_id": "inspection-r",
                        "document_sha256": "ab".repeat(32)});
    let envelope = seal(&record, &device.signer);
    let (status, body) = device.post_envelope("/v1/records", &envelope).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let receipt = Receipt::open(&serde_json::from_value(body["receipt"].clone()).unwrap(), &key).unwrap();
    assert_eq!((receipt.kind, receipt.object_id.as_str()), (ReceiptKind::Record, "rec-1"));
    assert_eq!(
        device.post_envelope("/v1/records", &seal(&record, &device.signer)).await.unwrap(),
        (status, body)
    );

    let head = json!({"type": "trail_head", "v": 1, "trail_id": "inspection-r", "inspection_id": "inspection-r",
                      "seq": 7, "head": "cd".repeat(32)});
    let (status, body) = device.post_envelope("/v1/trail-heads", &seal(&head, &device.signer)).await.unwrap();
    assert_eq!(status, 200, "{body}");
    let mut tampered = seal(&head, &device.signer);
    tampered.payload["seq"] = json!(8);
    let (status, body) = device.post_envelope("/v1/trail-heads", &tampered).await.unwrap();
    assert_eq!((status, code_of(&body)), (422, "statement.bad_signature"));
    let (status, _) = device
        .post_envelope("/v1/trail-heads", &seal(&json!({"type": "trail_head", "v": 1}), &device.signer))
        .await
        .unwrap();
    assert_eq!(status, 400, "no trail id");
    assert_eq!(statement_count(h).await, 2);
}

pub async fn pull_returns_register_templates_tasks_and_revocations_by_cursor(h: &Harness) {
    let template: Value =
        serde_json::from_str(&super::example("templates/thermal-power-permit.json")).unwrap();
    let (status, body) = h.admin(Method::POST, "/admin/v1/templates", Some(template)).await;
    assert_eq!(status, 200, "{body}");
    let tasks = json!({"tasks": [
        {"id": "task-1", "title": "双随机抽查", "source": "double_random", "enterprise_id": "ent-001",
         "template_id": "tpl.thermal-power.permit", "planned_date": "2026-12-02", "inspectors": ["insp-001", "insp-002"]},
        {"id": "task-2", "title": "投诉核查", "source": "complaint", "enterprise_id": "ent-001",
         "template_id": "tpl.thermal-power.permit", "planned_date": "2026-12-03", "inspectors": ["insp-004"]}
    ]});
    let (status, body) = h.admin(Method::POST, "/admin/v1/tasks", Some(tasks)).await;
    assert_eq!(status, 200, "{body}");

    let device = h.device().await; // insp-001
    let pull = |cursor: String| {
        let request =
            h.http.get(h.url(&format!("/v1/pull?cursor={cursor}"))).header("authorization", device.bearer());
        async move { request.send().await.unwrap().json::<PullPage>().await.unwrap() }
    };
    let page = pull(String::new()).await;
    let kinds: Vec<(String, String)> =
        page.items.iter().map(|i| (i.kind.as_str().to_owned(), i.id.clone())).collect();
    assert!(kinds.contains(&("register".into(), "register".into())), "{kinds:?}");
    assert!(kinds.contains(&("template".into(), "tpl.thermal-power.permit".into())));
    assert!(kinds.contains(&("task".into(), "task-1".into())));
    assert!(!kinds.contains(&("task".into(), "task-2".into())), "another inspector's task");
    let template_item = page.items.iter().find(|i| i.kind.as_str() == "template").unwrap();
    assert_eq!(template_item.version, "2025.1");
    assert!(pull(page.cursor.clone()).await.items.is_empty(), "nothing new since the cursor");

    let victim = h.device().await;
    let victim_id = victim.device_id.clone().unwrap();
    h.admin(Method::POST, &format!("/admin/v1/devices/{victim_id}/revoke"), None).await;
    let next = pull(page.cursor.clone()).await;
    assert_eq!(next.items.len(), 1);
    assert_eq!(next.items[0].kind.as_str(), "revocation");
    assert_eq!(next.items[0].body["device_id"], json!(victim_id));
    let response = h
        .http
        .get(h.url("/v1/pull?cursor=DROP%20TABLE"))
        .header("authorization", device.bearer())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
}

pub async fn a_duplicate_submitted_concurrently_is_stored_once(h: &Harness) {
    let device = h.device().await;
    let bytes = photo(11, 40_000);
    let (a, b) = tokio::join!(device.upload(&bytes, 8192), device.upload(&bytes, 8192));
    assert_eq!(a.unwrap(), b.unwrap());
    let manifest = manifest_for("ev-11", "inspection-11", &bytes, &device.signer);
    let (one, two) = (seal(&manifest, &device.signer), seal(&manifest, &device.signer));
    let (x, y) =
        tokio::join!(device.post_envelope("/v1/evidence", &one), device.post_envelope("/v1/evidence", &two));
    let (x, y) = (x.unwrap(), y.unwrap());
    assert_eq!(x.0, 200);
    assert_eq!(x, y, "both answered with the one receipt");
    assert_eq!(statement_count(h).await, 1);
}

pub async fn a_frozen_record_is_accepted_only_with_its_own_device_key(h: &Harness) {
    let device = h.device().await;
    let freeze = |key_id: &str| {
        json!({"type": "fieldseal.record_freeze", "v": 1, "record_id": "rec-frozen", "inspection_id": "inspection-f",
               "kind": "onsite", "revision": 1, "document_hash": "ab".repeat(32), "page_hashes": ["cd".repeat(32)],
               "entries": [], "trail_head": {"stream": "inspection-f", "seq": 12, "hash": "ef".repeat(32)},
               "frozen_at": "2026-12-01T10:00:00+08:00", "device_key_id": key_id})
    };
    let other = fieldseal_intake::sim::new_signer();
    let (status, body) =
        device.post_envelope("/v1/records", &seal(&freeze(other.key_id()), &device.signer)).await.unwrap();
    assert_eq!((status, code_of(&body)), (403, "statement.foreign_key"));
    let mut unknown_member = freeze(device.signer.key_id());
    unknown_member["note"] = json!("not part of the format");
    let (status, _) =
        device.post_envelope("/v1/records", &seal(&unknown_member, &device.signer)).await.unwrap();
    assert_eq!(status, 400);
    let (status, body) = device
        .post_envelope("/v1/records", &seal(&freeze(device.signer.key_id()), &device.signer))
        .await
        .unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["receipt"]["payload"]["object_id"], "rec-frozen");
    assert_eq!(statement_count(h).await, 1);
}
