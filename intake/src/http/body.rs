//! Reading request bodies under a limit, with refusals in intake's own format (axum's extractors
//! answer in plain text).

use axum::{
    body::{Body, Bytes},
    http::{HeaderMap, StatusCode, header::CONTENT_TYPE},
};
use fieldseal_core::protocol::SignedEnvelope;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use serde::de::DeserializeOwned;

use crate::error::{IntakeError, Result};

fn too_large(limit: usize) -> IntakeError {
    IntakeError::refused(
        StatusCode::PAYLOAD_TOO_LARGE,
        "request.too_large",
        format!("body over {limit} bytes"),
    )
}

/// The whole body, refusing more than `limit` bytes (early, from Content-Length, when it is sent).
pub async fn read_limited(headers: &HeaderMap, body: Body, limit: usize) -> Result<Bytes> {
    let declared =
        headers.get(axum::http::header::CONTENT_LENGTH).and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit as u64) {
        return Err(too_large(limit));
    }
    match Limited::new(body, limit).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(too_large(limit)),
        Err(e) => Err(IntakeError::bad_request("request.malformed", format!("body could not be read: {e}"))),
    }
}

fn require_json(headers: &HeaderMap) -> Result<()> {
    let content_type = headers.get(CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return Err(IntakeError::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "request.malformed",
            "Content-Type must be application/json",
        ));
    }
    Ok(())
}

/// A signed envelope from a JSON body: strict JSON, no unknown or duplicate members.
pub async fn envelope(headers: &HeaderMap, body: Body, limit: usize) -> Result<SignedEnvelope> {
    require_json(headers)?;
    let bytes = read_limited(headers, body, limit).await?;
    let text = std::str::from_utf8(&bytes)
        .map_err(|_| IntakeError::bad_request("request.malformed", "body is not UTF-8"))?;
    SignedEnvelope::from_json_str(text)
        .map_err(|e| IntakeError::bad_request("request.malformed", e.to_string()))
}

/// A JSON body into `T`.
pub async fn json<T: DeserializeOwned>(headers: &HeaderMap, body: Body, limit: usize) -> Result<T> {
    require_json(headers)?;
    let bytes = read_limited(headers, body, limit).await?;
    serde_json::from_slice(&bytes).map_err(|e| IntakeError::bad_request("request.malformed", e.to_string()))
}

/// A JSON body as text (imports, which the service validates itself).
pub async fn json_text(headers: &HeaderMap, body: Body, limit: usize) -> Result<String> {
    require_json(headers)?;
    let bytes = read_limited(headers, body, limit).await?;
    String::from_utf8(bytes.to_vec())
        .map_err(|_| IntakeError::bad_request("request.malformed", "body is not UTF-8"))
}
