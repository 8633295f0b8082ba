//! Users: the current user.

use super::base::*;
use super::views::*;
use crate::Shared;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::json;
use std::sync::Arc;

pub(crate) async fn myself(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let mut u = user_json(&s, c.ver, &w.jira, &c.account);
    u["locale"] = json!("en_US");
    u["groups"] = json!({"size": 1, "items": []});
    u["applicationRoles"] = json!({"size": 1, "items": []});
    ok(&u)
}
