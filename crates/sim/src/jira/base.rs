//! Request plumbing shared by every Jira handler: the error shape,
//! authentication per flavour and the API version of the path.

use crate::model::*;
use crate::req::json_response;
use crate::req::{Params, authorization};
use crate::{JiraFlavour, Shared};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::{Map, Value, json};

/// The message Jira Cloud answers on the removed search endpoints.
pub const SEARCH_REMOVED: &str = "The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. A full migration guideline is available at https://developer.atlassian.com/changelog/#CHANGE-2046";

/// An error in Jira's `{errorMessages, errors}` shape.
#[derive(Debug)]
pub(crate) struct JErr(
    pub(crate) StatusCode,
    pub(crate) Vec<String>,
    pub(crate) Map<String, Value>,
);

impl JErr {
    pub(crate) fn msg(status: StatusCode, m: impl Into<String>) -> JErr {
        JErr(status, vec![m.into()], Map::new())
    }
    pub(crate) fn field(field: &str, m: impl Into<String>) -> JErr {
        let mut errors = Map::new();
        errors.insert(field.into(), json!(m.into()));
        JErr(StatusCode::BAD_REQUEST, vec![], errors)
    }
    pub(crate) fn unauthorized() -> JErr {
        JErr::msg(
            StatusCode::UNAUTHORIZED,
            "You are not authenticated. Authentication required to perform this operation.",
        )
    }
    pub(crate) fn issue_not_found() -> JErr {
        JErr::msg(
            StatusCode::NOT_FOUND,
            "Issue does not exist or you do not have permission to see it.",
        )
    }
    pub(crate) fn not_found() -> JErr {
        JErr::msg(StatusCode::NOT_FOUND, "Not Found")
    }
}

impl IntoResponse for JErr {
    fn into_response(self) -> Response {
        json_response(
            self.0,
            &json!({"errorMessages": self.1, "errors": self.2}),
            HeaderMap::new(),
        )
    }
}

pub(crate) type JResult = Result<Response, JErr>;

pub(crate) fn ok(v: &Value) -> JResult {
    Ok(json_response(StatusCode::OK, v, HeaderMap::new()))
}

/// API version of a request: 2 or 3.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ver {
    V2,
    V3,
}

pub(crate) struct Ctx {
    pub(crate) account: String,
    pub(crate) ver: Ver,
    pub(crate) params: Params,
    pub(crate) body: Option<Value>,
}

pub(crate) fn check_version(s: &Shared, ver: &str) -> Result<Ver, JErr> {
    match (ver, s.flavour) {
        ("2" | "latest", _) => Ok(Ver::V2),
        ("3", JiraFlavour::Cloud) => Ok(Ver::V3),
        _ => Err(JErr::not_found()),
    }
}

pub(crate) fn ctx(
    s: &Shared,
    ver: &str,
    headers: &HeaderMap,
    q: Option<String>,
    body: &[u8],
) -> Result<Ctx, JErr> {
    let ver = check_version(s, ver)?;
    let account = authenticate(s, headers)?;
    let body = if body.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        Some(serde_json::from_slice::<Value>(body).map_err(|e| {
            JErr::msg(
                StatusCode::BAD_REQUEST,
                format!("Unexpected character in the request body: {e}"),
            )
        })?)
    };
    Ok(Ctx {
        account,
        ver,
        params: Params::from_query(q.as_deref()),
        body,
    })
}

pub(crate) fn authenticate(s: &Shared, headers: &HeaderMap) -> Result<String, JErr> {
    let (scheme, cred) = authorization(headers).ok_or_else(JErr::unauthorized)?;
    let w = s.read();
    let user = match (s.flavour, scheme.as_str()) {
        (JiraFlavour::Cloud, "basic") => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(cred.as_bytes())
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(JErr::unauthorized)?;
            let (email, token) = decoded.split_once(':').ok_or_else(JErr::unauthorized)?;
            w.jira.users.iter().find(|u| {
                u.active
                    && !u.api_token.is_empty()
                    && u.email.eq_ignore_ascii_case(email)
                    && u.api_token == token
            })
        }
        (JiraFlavour::Datacenter, "bearer") => w
            .jira
            .users
            .iter()
            .find(|u| u.active && !u.pat.is_empty() && u.pat == cred),
        _ => None,
    };
    user.map(|u| u.account_id.clone())
        .ok_or_else(JErr::unauthorized)
}

pub(crate) fn api(s: &Shared, ver: Ver) -> String {
    format!(
        "{}/rest/api/{}",
        s.jira_base(),
        if ver == Ver::V3 { 3 } else { 2 }
    )
}

pub(crate) fn parse_max(v: Option<&str>, default: usize, cap: usize) -> Result<usize, JErr> {
    match v {
        None | Some("") => Ok(default),
        Some(v) => v
            .parse::<i64>()
            .map(|n| {
                if n < 0 {
                    default
                } else {
                    (n as usize).min(cap)
                }
            })
            .map_err(|_| {
                JErr::msg(
                    StatusCode::BAD_REQUEST,
                    format!("The value '{v}' is invalid for maxResults."),
                )
            }),
    }
}

pub(crate) fn find_issue(jira: &Jira, key: &str) -> Result<usize, JErr> {
    jira.issue_index(key).ok_or_else(JErr::issue_not_found)
}

pub(crate) fn obj_str(v: Option<&Value>, keys: &[&str]) -> Option<String> {
    let v = v?;
    if let Some(s) = v.as_str() {
        return Some(s.to_string());
    }
    keys.iter().find_map(|k| {
        v.get(*k).and_then(|x| {
            x.as_str()
                .map(str::to_string)
                .or_else(|| x.as_u64().map(|n| n.to_string()))
        })
    })
}
