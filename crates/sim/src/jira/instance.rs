//! Instance information: server info and the field list.

use super::base::*;
use super::views::*;
use crate::util::jira_time;
use crate::{JiraFlavour, Shared};
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn server_info(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
) -> JResult {
    check_version(&s, &ver)?;
    // serverInfo is readable anonymously on both flavours.
    let _ = headers;
    let (version, numbers, deployment) = match s.flavour {
        JiraFlavour::Cloud => ("1001.0.0-SNAPSHOT", json!([1001, 0, 0]), "Cloud"),
        JiraFlavour::Datacenter => ("10.3.0", json!([10, 3, 0]), "Server"),
    };
    let mut info = json!({
        "baseUrl": s.jira_base(),
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": deployment,
        "buildNumber": 100204,
        "buildDate": "2026-01-01T00:00:00.000+0000",
        "serverTime": jira_time(&Utc::now()),
        "scmInfo": "948b370c557f4bbf768b92203f3aca5d86ee9758",
        "serverTitle": "Jira",
    });
    if s.flavour == JiraFlavour::Datacenter {
        info["defaultLocale"] = json!({"locale": "en_US"});
    }
    ok(&info)
}

pub(crate) async fn fields(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> JResult {
    let _c = ctx(&s, &ver, &headers, q, &[])?;
    let w = s.read();
    let mut out: Vec<Value> = SYSTEM_FIELDS
        .iter()
        .map(|(id, name, ty, nav, ord, search, clauses)| {
            json!({
                "id": id, "key": id, "name": name, "custom": false,
                "orderable": ord, "navigable": nav, "searchable": search,
                "clauseNames": clauses,
                "schema": {"type": ty, "system": id},
            })
        })
        .collect();
    for cf in &w.jira.custom_fields {
        let n = cf.number();
        out.push(json!({
            "id": cf.id, "key": cf.id, "name": cf.name, "custom": true,
            "orderable": true, "navigable": true, "searchable": true,
            "clauseNames": [format!("cf[{n}]"), cf.name],
            "schema": {"type": cf.schema_type, "custom": cf.custom_type, "customId": n},
        }));
    }
    ok(&Value::Array(out))
}
