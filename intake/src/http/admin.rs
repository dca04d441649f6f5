//! The admin API: the operator commands over HTTP, behind a bearer token (`--admin-token`).

use axum::{
    Json,
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{IntoResponse, Response},
};
use serde::Deserialize;
use serde_json::json;

use super::{AppState, body};
use crate::error::{IntakeError, Result};

/// Compares in time independent of where the strings differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn require_admin(state: &AppState, headers: &HeaderMap) -> Result<()> {
    let presented =
        headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("Bearer "));
    match (&state.admin_token, presented) {
        (Some(expected), Some(given)) if same(expected.as_bytes(), given.as_bytes()) => Ok(()),
        _ => Err(IntakeError::unauthorized("admin.unauthorized", "admin token missing or wrong")),
    }
}

async fn import(state: AppState, headers: HeaderMap, body: Body, kind: &str) -> Result<Response> {
    require_admin(&state, &headers)?;
    let text = body::json_text(&headers, body, state.intake.policy.max_json_size).await?;
    let summary = match kind {
        "register" => state.intake.import_register(&text).await?,
        "templates" => state.intake.import_templates(&text).await?,
        _ => state.intake.import_tasks(&text).await?,
    };
    Ok(Json(summary).into_response())
}

pub async fn register(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    import(state, headers, body, "register").await
}

pub async fn templates(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    import(state, headers, body, "templates").await
}

pub async fn tasks(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    import(state, headers, body, "tasks").await
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodeRequest {
    inspector_id: String,
}

pub async fn enrolment_code(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    require_admin(&state, &headers)?;
    let request: CodeRequest = body::json(&headers, body, 4096).await?;
    let (code, row) = state.intake.issue_enrolment_code(&request.inspector_id).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"code": code, "inspector_id": row.inspector_id, "expires_at": row.expires_at})),
    )
        .into_response())
}

pub async fn devices(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    require_admin(&state, &headers)?;
    Ok(Json(json!({"devices": state.intake.meta.devices().await?})).into_response())
}

pub async fn revoke(
    State(state): State<AppState>,
    Path(device_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    require_admin(&state, &headers)?;
    state.intake.revoke(&device_id).await?;
    Ok(Json(json!({"device_id": device_id, "revoked": true})).into_response())
}

pub async fn report(State(state): State<AppState>, headers: HeaderMap) -> Result<Response> {
    require_admin(&state, &headers)?;
    Ok(Json(state.intake.report().await?).into_response())
}
