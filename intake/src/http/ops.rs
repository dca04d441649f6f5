//! Operations: health, readiness, the OpenAPI document, the published server key, JSON answers
//! for unknown routes and methods, and every answer's `Date` read from intake's clock.

use axum::{
    Json,
    extract::State,
    http::{StatusCode, header},
    response::{IntoResponse, Response},
};
use serde_json::json;

use super::AppState;
use crate::error::IntakeError;

/// Stamps every answer's `Date` from intake's clock — the one its token grants, pull pages and
/// receipts read — so a device measuring its clock offset from any of them learns the same clock
/// (hyper keeps a `Date` it is given instead of its own).
pub async fn stamp_date(State(state): State<AppState>, mut response: Response) -> Response {
    let now = state.intake.clock.now().format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    if let Ok(value) = header::HeaderValue::from_str(&now) {
        response.headers_mut().insert(header::DATE, value);
    }
    response
}

/// The OpenAPI 3 document, as committed in `intake/openapi.json`.
pub const OPENAPI: &str = include_str!("../../openapi.json");

/// The process is up (no dependency checked).
pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({"status": "ok"}))
}

/// Metadata and blob stores both answer: ready to take uploads.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let meta = state.intake.meta.ping().await;
    let blobs = state.intake.blobs.ping().await;
    match (meta, blobs) {
        (Ok(()), Ok(())) => Json(json!({"status": "ready"})).into_response(),
        (meta, blobs) => {
            let cause = meta.err().or(blobs.err()).map(|e| e.to_string()).unwrap_or_default();
            tracing::warn!(cause, "not ready");
            (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "unavailable"}))).into_response()
        }
    }
}

pub async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

pub async fn server_key(State(state): State<AppState>) -> Result<Response, IntakeError> {
    Ok(Json(state.intake.server_key_info()?).into_response())
}

pub async fn not_found() -> IntakeError {
    IntakeError::not_found("not_found", "no such route")
}

pub async fn method_not_allowed() -> IntakeError {
    IntakeError::refused(StatusCode::METHOD_NOT_ALLOWED, "not_found", "method not allowed on this route")
}
