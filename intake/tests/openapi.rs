//! The OpenAPI document matches the routes intake really serves.

mod common;

use std::collections::BTreeSet;

use common::Harness;
use fieldseal_intake::http::ROUTES;
use serde_json::Value;

fn document() -> Value {
    serde_json::from_str(include_str!("../openapi.json")).expect("openapi.json is JSON")
}

fn documented() -> BTreeSet<(String, String)> {
    let doc = document();
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().expect("path item").keys() {
            if ["get", "post", "put", "patch", "delete", "head", "options"].contains(&method.as_str()) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let routes: BTreeSet<(String, String)> =
        ROUTES.iter().map(|(m, p)| ((*m).to_owned(), (*p).to_owned())).collect();
    let documented = documented();
    assert_eq!(
        routes.difference(&documented).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "undocumented routes"
    );
    assert_eq!(
        documented.difference(&routes).collect::<Vec<_>>(),
        Vec::<&(String, String)>::new(),
        "documented but not served"
    );
    assert_eq!(document()["openapi"].as_str().map(|v| v.starts_with("3.")), Some(true));
}

#[test]
fn every_operation_documents_its_error_response_and_every_reference_resolves() {
    let doc = document();
    let text = doc.to_string();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            assert!(
                operation["responses"]["default"].is_object(),
                "{method} {path} lacks a default error response"
            );
            assert!(operation["operationId"].is_string(), "{method} {path} lacks an operationId");
        }
    }
    for reference in text.split("\"$ref\":\"").skip(1).map(|rest| rest.split('"').next().unwrap()) {
        let pointer = reference.strip_prefix('#').expect("local reference");
        assert!(doc.pointer(pointer).is_some(), "dangling reference {reference}");
    }
}

/// Each documented route answers on the real server with something other than "no such route" or
/// "method not allowed", and the served document is the committed one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_server_serves_every_documented_route_and_the_document_itself() {
    let harness = Harness::sqlite().await;
    for (method, path) in documented() {
        let concrete = path
            .replace("{upload_id}", "0123456789abcdef0123456789abcdef")
            .replace("{device_id}", "0123456789abcdef0123456789abcdef");
        let method = reqwest::Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
        let response = harness.http.request(method.clone(), harness.url(&concrete)).send().await.unwrap();
        let status = response.status().as_u16();
        assert_ne!(status, 405, "{method} {path}");
        let body: Value = response.json().await.unwrap_or(Value::Null);
        assert_ne!(body["error"]["detail"], "no such route", "{method} {path}");
    }
    let served: Value =
        harness.http.get(harness.url("/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert_eq!(served, document());
    let unknown = harness.http.get(harness.url("/v1/nothing-here")).send().await.unwrap();
    assert_eq!(unknown.status(), 404);
}

/// The trail-head payload documented is the one a fieldseal terminal signs, member for member,
/// and what intake requires of it is marked required.
#[test]
fn the_documented_trail_head_statement_is_what_a_terminal_sends() {
    use fieldseal_core::protocol::trail_head::{
        AnchorRef, TRAIL_HEAD_TYPE, TRAIL_HEAD_VERSION, TrailHeadStatement,
    };
    let doc = document();
    let body =
        &doc["paths"]["/v1/trail-heads"]["post"]["requestBody"]["content"]["application/json"]["schema"];
    assert_eq!(body["$ref"], "#/components/schemas/TrailHeadEnvelope");
    let schema = &doc["components"]["schemas"]["TrailHeadStatement"];
    let statement = TrailHeadStatement {
        statement: TRAIL_HEAD_TYPE.into(),
        v: TRAIL_HEAD_VERSION,
        trail_id: "inspection:a@7".into(),
        inspection_id: "a".into(),
        stream: "inspection:a".into(),
        seq: 7,
        hash: "ab".repeat(32),
        at: "2026-12-01T02:30:00.000Z".into(),
        record_id: "r".into(),
        device_key_id: "k".into(),
        anchor: Some(AnchorRef { counter: 3, anchor_hash: "cd".repeat(32) }),
    };
    let sent = serde_json::to_value(&statement).unwrap();
    let members = |v: &Value| v.as_object().unwrap().keys().cloned().collect::<BTreeSet<_>>();
    assert_eq!(
        members(&sent),
        members(&schema["properties"]),
        "documented members differ from the terminal's"
    );
    assert_eq!(
        members(&sent["anchor"]),
        members(&schema["properties"]["anchor"]["properties"]),
        "documented anchor members differ"
    );
    assert_eq!(schema["properties"]["type"]["enum"], serde_json::json!([TRAIL_HEAD_TYPE]));
    let required: BTreeSet<String> =
        schema["required"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
    assert_eq!(
        required,
        ["trail_id".to_owned(), "type".to_owned()].into_iter().collect(),
        "what intake checks"
    );
}
