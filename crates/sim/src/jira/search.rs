//! JQL search: the removed classic endpoints, `/search/jql` with page tokens
//! and the approximate count.

use super::base::*;
use super::views::*;
use crate::jql;
use crate::model::*;
use crate::{JiraFlavour, Shared};
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use base64::Engine;
use chrono::Utc;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) async fn search_old(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    if s.flavour == JiraFlavour::Cloud {
        check_version(&s, &ver)?;
        return Err(JErr::msg(StatusCode::GONE, SEARCH_REMOVED));
    }
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let p = SearchParams::from(&c);
    let w = s.read();
    let start_at = p
        .start_at
        .map(|v| v.parse::<usize>())
        .transpose()
        .map_err(|_| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                "startAt must be a non-negative integer",
            )
        })?
        .unwrap_or(0);
    let max = parse_max(p.max_results.as_deref(), 50, 1000)?;
    let matched = run_jql(&w.jira, &p.jql, &c.account)?;
    let sel = field_sel(
        p.fields,
        FieldSel::Some {
            all: false,
            navigable: true,
            include: vec![],
            exclude: vec![],
        },
        &w.jira,
    );
    let issues: Vec<Value> = matched
        .iter()
        .skip(start_at)
        .take(max)
        .map(|i| {
            let mut v = issue_json(&s, c.ver, &w.jira, *i, &sel);
            add_properties(&mut v, &w.jira.issues[*i], p.properties.as_deref());
            v
        })
        .collect();
    let mut out = json!({
        "expand": "schema,names",
        "startAt": start_at,
        "maxResults": max,
        "total": matched.len(),
        "issues": issues,
    });
    if p.expand.contains("names") {
        out["names"] = names_map(&w.jira);
    }
    ok(&out)
}

/// Search inputs from GET params or a POST body.
pub(crate) struct SearchParams {
    pub(crate) jql: String,
    pub(crate) start_at: Option<String>,
    pub(crate) max_results: Option<String>,
    pub(crate) next_page_token: Option<String>,
    pub(crate) fields: Option<Vec<String>>,
    pub(crate) expand: String,
    pub(crate) properties: Option<Vec<String>>,
}

impl SearchParams {
    pub(crate) fn from(c: &Ctx) -> SearchParams {
        if let Some(Value::Object(b)) = &c.body {
            let sv = |k: &str| {
                b.get(k).and_then(|v| match v {
                    Value::String(s) => Some(s.clone()),
                    Value::Number(n) => Some(n.to_string()),
                    _ => None,
                })
            };
            let fields = b.get("fields").map(|f| match f {
                Value::Array(a) => a
                    .iter()
                    .filter_map(|x| x.as_str().map(str::to_string))
                    .collect(),
                Value::String(s) => s.split(',').map(str::to_string).collect(),
                _ => vec![],
            });
            let expand = match b.get("expand") {
                Some(Value::Array(a)) => a
                    .iter()
                    .filter_map(Value::as_str)
                    .collect::<Vec<_>>()
                    .join(","),
                Some(Value::String(s)) => s.clone(),
                _ => String::new(),
            };
            return SearchParams {
                jql: sv("jql").unwrap_or_default(),
                start_at: sv("startAt"),
                max_results: sv("maxResults"),
                next_page_token: sv("nextPageToken"),
                fields,
                expand,
                properties: b.get("properties").map(|f| match f {
                    Value::Array(a) => a
                        .iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect(),
                    Value::String(s) => s.split(',').map(str::to_string).collect(),
                    _ => vec![],
                }),
            };
        }
        let p = &c.params;
        SearchParams {
            jql: p.get("jql").unwrap_or("").to_string(),
            start_at: p.get("startAt").map(str::to_string),
            max_results: p.get("maxResults").map(str::to_string),
            next_page_token: p.get("nextPageToken").map(str::to_string),
            fields: p.list("fields"),
            expand: p.list("expand").unwrap_or_default().join(","),
            properties: p.list("properties"),
        }
    }
}

pub(crate) fn jql_err(e: jql::JqlError) -> JErr {
    JErr::msg(StatusCode::BAD_REQUEST, e.message)
}

pub(crate) fn compile_jql(jira: &Jira, q: &str, account: &str) -> Result<jql::Compiled, JErr> {
    let parsed = jql::parse(q).map_err(jql_err)?;
    let ctx = jql::EvalCtx {
        current_user: account.to_string(),
        now: Utc::now(),
    };
    jql::Compiled::new(&parsed, jira, &ctx).map_err(jql_err)
}

pub(crate) fn run_jql(jira: &Jira, q: &str, account: &str) -> Result<Vec<usize>, JErr> {
    let c = compile_jql(jira, q, account)?;
    let mut idx: Vec<usize> = (0..jira.issues.len())
        .filter(|i| c.matches(jira, &jira.issues[*i]))
        .collect();
    c.sort(jira, &mut idx);
    Ok(idx)
}

pub(crate) fn encode_token(offset: usize, jql: &str) -> String {
    let h = jql.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    });
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("{offset}:{h:x}"))
}

pub(crate) fn decode_token(t: &str, jql: &str) -> Option<usize> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(t)
        .ok()?;
    let s = String::from_utf8(raw).ok()?;
    let (off, _) = s.split_once(':')?;
    let offset = off.parse().ok()?;
    (encode_token(offset, jql) == t).then_some(offset)
}

pub(crate) async fn search_jql(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    if s.flavour != JiraFlavour::Cloud {
        return Err(JErr::not_found());
    }
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let p = SearchParams::from(&c);
    let w = s.read();
    let compiled = compile_jql(&w.jira, &p.jql, &c.account)?;
    if !compiled.is_bounded() {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    let sel = field_sel(p.fields, FieldSel::IdOnly, &w.jira);
    let cap = if matches!(sel, FieldSel::IdOnly) {
        5000
    } else {
        100
    };
    let max = parse_max(p.max_results.as_deref(), 50, cap)?.max(1);
    let offset = match &p.next_page_token {
        None => 0,
        Some(t) if t.is_empty() => 0,
        Some(t) => decode_token(t, &p.jql).ok_or_else(|| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                "The provided next page token is invalid or expired.",
            )
        })?,
    };
    let mut idx: Vec<usize> = (0..w.jira.issues.len())
        .filter(|i| compiled.matches(&w.jira, &w.jira.issues[*i]))
        .collect();
    compiled.sort(&w.jira, &mut idx);
    let end = (offset + max).min(idx.len());
    let start = offset.min(end);
    let issues: Vec<Value> = idx[start..end]
        .iter()
        .map(|i| {
            let mut v = issue_json(&s, c.ver, &w.jira, *i, &sel);
            add_properties(&mut v, &w.jira.issues[*i], p.properties.as_deref());
            v
        })
        .collect();
    let is_last = end >= idx.len();
    let mut out = json!({"issues": issues, "isLast": is_last});
    if !is_last {
        out["nextPageToken"] = json!(encode_token(end, &p.jql));
    }
    if p.expand.contains("names") {
        out["names"] = names_map(&w.jira);
    }
    ok(&out)
}

pub(crate) async fn approximate_count(
    State(s): State<Arc<Shared>>,
    Path(ver): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> JResult {
    if s.flavour != JiraFlavour::Cloud {
        return Err(JErr::not_found());
    }
    let c = ctx(&s, &ver, &headers, q, &body)?;
    let jql = c
        .body
        .as_ref()
        .and_then(|b| b.get("jql"))
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    let w = s.read();
    let compiled = compile_jql(&w.jira, &jql, &c.account)?;
    if !compiled.is_bounded() {
        return Err(JErr::msg(
            StatusCode::BAD_REQUEST,
            "Unbounded JQL queries are not allowed here. Please add a search restriction to your query.",
        ));
    }
    let count = w
        .jira
        .issues
        .iter()
        .filter(|i| compiled.matches(&w.jira, i))
        .count();
    ok(&json!({"count": count}))
}
