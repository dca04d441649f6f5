//! Every route intake serves. [`ROUTES`] is the list the OpenAPI document is checked against.

use std::{sync::Arc, time::Duration};

use axum::{
    Router,
    routing::{MethodFilter, get, on, post},
};
use tower_http::{timeout::TimeoutLayer, trace::TraceLayer};

use super::{admin, device, ops, tus};
use crate::service::Intake;

/// What handlers share.
#[derive(Clone)]
pub struct AppState {
    pub intake: Intake,
    /// The admin API's bearer token; None disables the admin API.
    pub admin_token: Option<Arc<str>>,
}

/// `(method, path)` of every route, in OpenAPI path syntax.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/openapi.json"),
    ("get", "/.well-known/fieldseal/server-key"),
    ("post", "/v1/enrolment/challenge"),
    ("post", "/v1/enrolment"),
    ("post", "/v1/auth/challenge"),
    ("post", "/v1/auth/token"),
    ("options", "/v1/uploads"),
    ("post", "/v1/uploads"),
    ("head", "/v1/uploads/{upload_id}"),
    ("patch", "/v1/uploads/{upload_id}"),
    ("post", "/v1/evidence"),
    ("post", "/v1/records"),
    ("post", "/v1/trail-heads"),
    ("get", "/v1/pull"),
    ("post", "/admin/v1/register"),
    ("post", "/admin/v1/templates"),
    ("post", "/admin/v1/tasks"),
    ("post", "/admin/v1/enrolment-codes"),
    ("get", "/admin/v1/devices"),
    ("post", "/admin/v1/devices/{device_id}/revoke"),
    ("get", "/admin/v1/report"),
];

pub fn router(state: AppState, request_timeout: Duration) -> Router {
    Router::new()
        .route("/healthz", get(ops::healthz))
        .route("/readyz", get(ops::readyz))
        .route("/openapi.json", get(ops::openapi))
        .route(fieldseal_core::protocol::receipt::SERVER_KEY_PATH, get(ops::server_key))
        .route("/v1/enrolment/challenge", post(device::enrolment_challenge))
        .route("/v1/enrolment", post(device::enrol))
        .route("/v1/auth/challenge", post(device::auth_challenge))
        .route("/v1/auth/token", post(device::token))
        .route("/v1/uploads", on(MethodFilter::OPTIONS, tus::options).post(tus::create))
        .route("/v1/uploads/{upload_id}", on(MethodFilter::HEAD, tus::head).patch(tus::patch))
        .route("/v1/evidence", post(device::evidence))
        .route("/v1/records", post(device::record))
        .route("/v1/trail-heads", post(device::trail_head))
        .route("/v1/pull", get(device::pull))
        .route("/admin/v1/register", post(admin::register))
        .route("/admin/v1/templates", post(admin::templates))
        .route("/admin/v1/tasks", post(admin::tasks))
        .route("/admin/v1/enrolment-codes", post(admin::enrolment_code))
        .route("/admin/v1/devices", get(admin::devices))
        .route("/admin/v1/devices/{device_id}/revoke", post(admin::revoke))
        .route("/admin/v1/report", get(admin::report))
        .fallback(ops::not_found)
        .method_not_allowed_fallback(ops::method_not_allowed)
        .layer(axum::middleware::map_response_with_state(state.clone(), ops::stamp_date))
        .layer(TimeoutLayer::with_status_code(axum::http::StatusCode::REQUEST_TIMEOUT, request_timeout))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
