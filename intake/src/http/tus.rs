//! The tus 1.0 endpoints (core protocol, creation and checksum extensions).

use axum::{
    body::Body,
    extract::{Path, State},
    http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header},
    response::{IntoResponse, Response},
};
use fieldseal_core::protocol::tus::{
    HEADER_BLOB_SHA256, HEADER_TUS_RESUMABLE, HEADER_UPLOAD_CHECKSUM, HEADER_UPLOAD_LENGTH,
    HEADER_UPLOAD_METADATA, HEADER_UPLOAD_OFFSET, OFFSET_CONTENT_TYPE, TUS_CHECKSUM_ALGORITHMS,
    TUS_EXTENSIONS, TUS_VERSION,
};

use super::{AppState, body, device::device};
use crate::{
    error::{IntakeError, Result},
    service::uploads::UploadState,
};

fn header_text<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>> {
    headers
        .get(name)
        .map(|v| {
            v.to_str()
                .map_err(|_| IntakeError::bad_request("request.bad_header", format!("{name} is not ASCII")))
        })
        .transpose()
}

fn number(headers: &HeaderMap, name: &str) -> Result<u64> {
    let text = header_text(headers, name)?
        .ok_or_else(|| IntakeError::bad_request("request.bad_header", format!("{name} missing")))?;
    // tus: a non-negative decimal integer; no signs, no spaces.
    if text.is_empty() || text.len() > 19 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(IntakeError::bad_request(
            "request.bad_header",
            format!("{name} is not a non-negative integer"),
        ));
    }
    text.parse().map_err(|_| IntakeError::bad_request("request.bad_header", format!("{name} out of range")))
}

/// Every request but OPTIONS must say it speaks tus 1.0.0.
fn require_tus(headers: &HeaderMap) -> Result<()> {
    match header_text(headers, HEADER_TUS_RESUMABLE)? {
        Some(TUS_VERSION) => Ok(()),
        _ => Err(IntakeError::refused(
            StatusCode::PRECONDITION_FAILED,
            "tus.unsupported_version",
            "Tus-Resumable must be 1.0.0",
        )),
    }
}

fn with_headers(mut response: Response, pairs: &[(&str, String)]) -> Response {
    let headers = response.headers_mut();
    headers.insert(HEADER_TUS_RESUMABLE, HeaderValue::from_static(TUS_VERSION));
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in pairs {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(*name), HeaderValue::try_from(value.as_str())) {
            headers.insert(name, value);
        }
    }
    response
}

fn state_headers(state: &UploadState) -> Vec<(&'static str, String)> {
    let mut pairs = vec![
        (HEADER_UPLOAD_OFFSET, state.offset.to_string()),
        (HEADER_UPLOAD_LENGTH, state.length.to_string()),
    ];
    if let Some(sha) = &state.blob_sha256 {
        pairs.push((HEADER_BLOB_SHA256, sha.clone()));
    }
    pairs
}

pub async fn options(State(state): State<AppState>) -> Response {
    with_headers(
        StatusCode::NO_CONTENT.into_response(),
        &[
            ("tus-version", TUS_VERSION.to_owned()),
            ("tus-extension", TUS_EXTENSIONS.to_owned()),
            ("tus-max-size", state.intake.policy.max_blob_size.to_string()),
            ("tus-checksum-algorithm", TUS_CHECKSUM_ALGORITHMS.to_owned()),
        ],
    )
}

pub async fn create(State(state): State<AppState>, headers: HeaderMap, body: Body) -> Result<Response> {
    let device = device(&state, &headers).await?;
    require_tus(&headers)?;
    if headers.contains_key("upload-defer-length") {
        return Err(IntakeError::bad_request("request.bad_header", "Upload-Defer-Length is not supported"));
    }
    let length = number(&headers, HEADER_UPLOAD_LENGTH)?;
    let metadata = header_text(&headers, HEADER_UPLOAD_METADATA)?;
    // creation-with-upload is not offered; a body here is ignored but must stay small.
    body::read_limited(&headers, body, 0).await?;
    let upload = state.intake.create_upload(&device, length, metadata).await?;
    let location = format!("/v1/uploads/{}", upload.upload_id);
    let mut pairs = state_headers(&upload);
    pairs.push(("location", location));
    Ok(with_headers(StatusCode::CREATED.into_response(), &pairs))
}

pub async fn head(
    State(state): State<AppState>,
    Path(upload_id): Path<String>,
    headers: HeaderMap,
) -> Result<Response> {
    let device = device(&state, &headers).await?;
    require_tus(&headers)?;
    let upload = state.intake.upload_state(&device, &upload_id).await?;
    Ok(with_headers(StatusCode::OK.into_response(), &state_headers(&upload)))
}

pub async fn patch(
    State(state): State<AppState>,
    Path(upload_id): Path<String>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response> {
    let device = device(&state, &headers).await?;
    require_tus(&headers)?;
    let content_type = header_text(&headers, header::CONTENT_TYPE.as_str())?.unwrap_or("");
    if !content_type.eq_ignore_ascii_case(OFFSET_CONTENT_TYPE) {
        return Err(IntakeError::refused(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "tus.wrong_content_type",
            "Content-Type must be application/offset+octet-stream",
        ));
    }
    let offset = number(&headers, HEADER_UPLOAD_OFFSET)?;
    let checksum = header_text(&headers, HEADER_UPLOAD_CHECKSUM)?.map(str::to_owned);
    let declared = header_text(&headers, header::CONTENT_LENGTH.as_str())?.and_then(|v| v.parse().ok());
    // Streamed into the blob store as it arrives: a chunk is never held whole.
    let upload = state
        .intake
        .patch_upload(&device, &upload_id, offset, checksum.as_deref(), declared, body.into_data_stream())
        .await?;
    Ok(with_headers(StatusCode::NO_CONTENT.into_response(), &state_headers(&upload)))
}
