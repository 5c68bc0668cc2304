//! The fault switches 🔒: seed 003's transient errors, and Lab 4.4's bug.

use std::sync::Arc;

use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::IntoResponse;
use axum::Json;
use serde::Deserialize;
use serde_json::json;

use super::auth::Admin;
use super::body::bad_query;
use super::errors::AppResult;
use crate::state::AppState;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Switch {
    enabled: bool,
}

pub(super) async fn simulate_transient_error(
    _admin: Admin,
    State(state): State<Arc<AppState>>,
    query: Result<Query<Switch>, QueryRejection>,
) -> AppResult {
    let Query(switch) = query.map_err(bad_query)?;
    state.switches.set_simulate_transient_error(switch.enabled);
    Ok(Json(json!({"success": true, "simulateTransientError": switch.enabled})).into_response())
}

pub(super) async fn zero_decimal_bug(
    _admin: Admin,
    State(state): State<Arc<AppState>>,
    query: Result<Query<Switch>, QueryRejection>,
) -> AppResult {
    let Query(switch) = query.map_err(bad_query)?;
    state.switches.set_zero_decimal_bug(switch.enabled);
    Ok(Json(json!({"success": true, "zeroDecimalBug": switch.enabled})).into_response())
}
