//! Request parameter handling shared by both services: query strings, form
//! bodies and JSON bodies all become one list of key/value pairs, the way
//! GitLab's Grape API treats them.

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::Value;

/// Flattened request parameters.
#[derive(Debug, Default, Clone)]
pub(crate) struct Params(pub Vec<(String, String)>);

impl Params {
    /// Parses a raw query string; undecodable pairs are dropped, as a lenient server would.
    pub fn from_query(q: Option<&str>) -> Params {
        let Some(q) = q else {
            return Params::default();
        };
        Params(serde_urlencoded::from_str::<Vec<(String, String)>>(q).unwrap_or_default())
    }

    /// Adds the parameters of a body (JSON object or form).
    pub fn add_body(&mut self, headers: &HeaderMap, body: &[u8]) -> Result<(), String> {
        if body.iter().all(|b| b.is_ascii_whitespace()) {
            return Ok(());
        }
        let ct = headers
            .get(axum::http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("");
        if ct.starts_with("application/x-www-form-urlencoded") {
            let pairs: Vec<(String, String)> =
                serde_urlencoded::from_bytes(body).map_err(|e| e.to_string())?;
            self.0.extend(pairs);
            return Ok(());
        }
        let v: Value = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        let Value::Object(map) = v else {
            return Err("body must be a JSON object".into());
        };
        for (k, v) in map {
            match v {
                Value::Array(items) => {
                    if items.is_empty() {
                        self.0.push((format!("{k}[]"), String::new()));
                    }
                    for it in items {
                        self.0.push((format!("{k}[]"), scalar(&it)));
                    }
                }
                other => self.0.push((k, scalar(&other))),
            }
        }
        Ok(())
    }

    /// The last value of a key (later values win, so a body overrides the query).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// Whether a key is present (with any value).
    pub fn has(&self, key: &str) -> bool {
        self.0
            .iter()
            .any(|(k, _)| k == key || k == &format!("{key}[]"))
    }

    /// All values of `key[]` and `key`, with comma-separated values split.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        let arr = format!("{key}[]");
        let mut out = Vec::new();
        let mut found = false;
        for (k, v) in &self.0 {
            if k == key || *k == arr {
                found = true;
                out.extend(
                    v.split(',')
                        .map(str::trim)
                        .filter(|s| !s.is_empty())
                        .map(str::to_string),
                );
            }
        }
        found.then_some(out)
    }

    /// An integer parameter; `Err` names the parameter as GitLab does.
    pub fn int(&self, key: &str) -> Result<Option<i64>, String> {
        match self.get(key) {
            None => Ok(None),
            Some("") => Ok(None),
            Some(v) => v
                .trim()
                .parse()
                .map(Some)
                .map_err(|_| format!("{key} is invalid")),
        }
    }

    /// A boolean parameter.
    pub fn bool(&self, key: &str) -> Option<bool> {
        self.get(key).map(|v| matches!(v, "true" | "1" | "yes"))
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Extracts a bearer token or the password of basic auth.
pub(crate) fn authorization(headers: &HeaderMap) -> Option<(String, String)> {
    let v = headers
        .get(axum::http::header::AUTHORIZATION)?
        .to_str()
        .ok()?;
    let (scheme, rest) = v.split_once(' ')?;
    Some((scheme.to_ascii_lowercase(), rest.trim().to_string()))
}

/// A JSON response with the given status and headers, as both services send.
pub(crate) fn json_response<T: Serialize + ?Sized>(
    status: StatusCode,
    body: &T,
    mut headers: HeaderMap,
) -> Response {
    let bytes = serde_json::to_vec(body).unwrap_or_else(|_| b"{}".to_vec());
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    (status, headers, bytes).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_json_bodies() {
        let mut p = Params::from_query(Some("iids[]=1&iids[]=2&labels=a,b&state=opened"));
        assert_eq!(p.list("iids"), Some(vec!["1".into(), "2".into()]));
        assert_eq!(p.list("labels"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(p.list("nope"), None);
        let mut h = HeaderMap::new();
        h.insert(
            axum::http::header::CONTENT_TYPE,
            axum::http::HeaderValue::from_static("application/json"),
        );
        p.add_body(&h, br#"{"state":"closed","assignee_ids":[3,4],"weight":2}"#)
            .expect("json body");
        assert_eq!(p.get("state"), Some("closed"));
        assert_eq!(p.list("assignee_ids"), Some(vec!["3".into(), "4".into()]));
        assert_eq!(p.int("weight"), Ok(Some(2)));
        assert!(p.add_body(&h, b"[1,2]").is_err());
        assert!(p.add_body(&h, b"{bad").is_err());
    }
}
