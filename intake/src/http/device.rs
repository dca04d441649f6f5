//! Device endpoints: enrolment, tokens, statements, pull.

use axum::{
    Json,
    body::Body,
    extract::{Query, State},
    http::{HeaderMap, StatusCode, header::AUTHORIZATION},
    response::{IntoResponse, Response},
};
use fieldseal_core::protocol::{
    enrolment::{Challenge, EnrolmentResponse},
    receipt::ReceiptKind,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{AppState, body};
use crate::{
    error::{IntakeError, Result},
    service::enrol::{PURPOSE_ENROL, PURPOSE_TOKEN},
    store::{Device, StatementRow},
};

pub(super) async fn device(state: &AppState, headers: &HeaderMap) -> Result<Device> {
    let authorization = headers.get(AUTHORIZATION).map(|v| v.to_str().unwrap_or(""));
    state.intake.authenticate(authorization).await
}

pub async fn enrolment_challenge(State(state): State<AppState>) -> Result<Json<Challenge>> {
    Ok(Json(state.intake.challenge(PURPOSE_ENROL).await?))
}

pub async fn enrol(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let envelope = body::envelope(&headers, body, state.intake.policy.max_json_size).await?;
    let response: EnrolmentResponse = state.intake.enrol(&envelope).await?;
    Ok((StatusCode::CREATED, Json(response)).into_response())
}

pub async fn auth_challenge(State(state): State<AppState>) -> Result<Json<Challenge>> {
    Ok(Json(state.intake.challenge(PURPOSE_TOKEN).await?))
}

pub async fn token(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let envelope = body::envelope(&headers, body, state.intake.policy.max_json_size).await?;
    Ok(Json(state.intake.issue_token(&envelope).await?).into_response())
}

fn receipt_response(row: StatementRow) -> Result<Response> {
    let receipt: Value = serde_json::from_str(&row.receipt).map_err(IntakeError::internal)?;
    Ok(Json(json!({"receipt": receipt})).into_response())
}

pub async fn evidence(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let device = device(&state, &headers).await?;
    let envelope = body::envelope(&headers, body, state.intake.policy.max_json_size).await?;
    receipt_response(state.intake.submit_evidence(&device, &envelope).await?)
}

async fn statement(state: AppState, headers: HeaderMap, body: Body, kind: ReceiptKind) -> Result<Response> {
    let device = device(&state, &headers).await?;
    let envelope = body::envelope(&headers, body, state.intake.policy.max_json_size).await?;
    receipt_response(state.intake.submit_record(&device, kind, &envelope).await?)
}

pub async fn record(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    statement(state, headers, body, ReceiptKind::Record).await
}

pub async fn trail_head(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    statement(state, headers, body, ReceiptKind::TrailHead).await
}

#[derive(Deserialize)]
pub struct PullQuery {
    cursor: Option<String>,
}

pub async fn pull(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: std::result::Result<Query<PullQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Response> {
    let device = device(&state, &headers).await?;
    let Query(query) = query.map_err(|e| IntakeError::bad_request("request.malformed", e.body_text()))?;
    Ok(Json(state.intake.pull(&device, query.cursor.as_deref()).await?).into_response())
}
