//! A JSON body extractor whose errors name the field at fault, in words for
//! people rather than serde's.

use axum::extract::{FromRequest, Request};
use axum::http::{HeaderMap, StatusCode, header};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::ApiError;

/// Like `axum::Json`, but strict where it should be and lenient where a
/// client cannot help it:
/// - `Content-Type` must be `application/json` (any case), optionally with
///   `charset=utf-8`; anything else is 415;
/// - the body must be a JSON object (an array is 422 naming `body`);
/// - no string anywhere may hold a control character but tab and line
///   breaks (`core::text`; 422 naming the field);
/// - an integral number written as a float (`8024.0`) is an integer;
/// - other errors are 400 (not JSON) or 422 naming the field, in words.
pub struct ApiJson<T>(pub T);

/// Whether the request says its body is JSON in UTF-8.
pub(crate) fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = value.split(';');
    let essence = parts.next().unwrap_or_default().trim();
    if !essence.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|parameter| {
        let parameter = parameter.trim();
        if parameter.is_empty() {
            return true;
        }
        match parameter.split_once('=') {
            Some((name, value)) => {
                name.trim().eq_ignore_ascii_case("charset")
                    && value.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
            }
            None => false,
        }
    })
}

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(request.headers()) {
            return Err(ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "send the body as JSON with Content-Type: application/json",
            ));
        }
        let bytes = axum::body::Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                let status = rejection.status();
                let code = if status == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "bad_request"
                };
                ApiError::new(status, code, rejection.body_text())
            })?;
        let mut value: Value = serde_json::from_slice(&bytes).map_err(|e| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "malformed_json",
                format!("the body is not valid JSON: {e}"),
            )
        })?;
        if !value.is_object() {
            return Err(ApiError::invalid_field(
                "body",
                "the body must be a JSON object, such as {\"name\": ...}",
            ));
        }
        check_strings(&value, &mut String::new())?;
        integral_floats_as_integers(&mut value);
        match serde_path_to_error::deserialize(value) {
            Ok(value) => Ok(ApiJson(value)),
            Err(error) => {
                let path = error.path().to_string();
                let message = error.into_inner().to_string();
                // serde names a missing field only in its message (the path
                // is the object that lacks it).
                let missing = message
                    .strip_prefix("missing field `")
                    .and_then(|rest| rest.split('`').next());
                let field = match (missing, path.as_str()) {
                    (Some(name), ".") => name.to_owned(),
                    (Some(name), path) => format!("{path}.{name}"),
                    (None, ".") => "body".to_owned(),
                    (None, path) => path.to_owned(),
                };
                Err(ApiError::invalid_field(field, for_people(&message)))
            }
        }
    }
}

/// Refuses control characters in every string of the body, naming where.
fn check_strings(value: &Value, path: &mut String) -> Result<(), ApiError> {
    let field = |path: &str| {
        if path.is_empty() {
            "body".to_owned()
        } else {
            path.to_owned()
        }
    };
    match value {
        Value::String(text) => cairn_core::text::check_text(text)
            .map_err(|e| ApiError::invalid_field(field(path), e.to_string())),
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        Value::Object(map) => {
            for (key, item) in map {
                let len = path.len();
                if !path.is_empty() {
                    path.push('.');
                }
                path.push_str(key);
                check_strings(item, path)?;
                path.truncate(len);
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// `8024.0` becomes `8024`: an integer field accepts it, a number field
/// reads the same value.
fn integral_floats_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if n.is_f64() => {
            if let Some(f) = n.as_f64()
                && f.fract() == 0.0
                && f.abs() < 9.0e15
            {
                // Exact: every integer below 2^53 is a float exactly.
                #[allow(clippy::cast_possible_truncation)]
                let i = f as i64;
                *value = Value::from(i);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral_floats_as_integers),
        Value::Object(map) => map.values_mut().for_each(integral_floats_as_integers),
        _ => {}
    }
}

/// serde's message in words for people: no Rust type names, no positions.
fn for_people(message: &str) -> String {
    let message = match message.find(" at line ") {
        Some(at) => &message[..at],
        None => message,
    };
    let split = |rest: &str| {
        rest.split_once(", expected ")
            .map(|(a, b)| (a.to_owned(), b.to_owned()))
    };
    if let Some((got, want)) = message
        .strip_prefix("invalid type: ")
        .or_else(|| message.strip_prefix("invalid value: "))
        .and_then(split)
    {
        return format!("must be {}, not {}", expected(&want), given(&got));
    }
    if let Some((_, want)) = message.strip_prefix("invalid length ").and_then(split) {
        return format!("must be {}", expected(&want));
    }
    if let Some((name, want)) = message.strip_prefix("unknown variant ").and_then(split) {
        return format!("{name} is not one of: {}", names(&want));
    }
    if let Some((_, want)) = message.strip_prefix("unknown field ").and_then(split) {
        return format!("is not a field here; the fields are: {}", names(&want));
    }
    if message.starts_with("unknown field ") {
        return "is not a field here".to_owned();
    }
    if message.starts_with("missing field ") {
        return "is required".to_owned();
    }
    // chrono's parse errors.
    if matches!(
        message,
        "input contains invalid characters"
            | "premature end of input"
            | "trailing input"
            | "input is out of range"
            | "no possible date and time matching input"
            | "input is not enough for unique date and time"
    ) {
        return format!(
            "is not a valid date (YYYY-MM-DD) or time (RFC 3339, e.g. 2027-04-01T09:00:00Z): {message}"
        );
    }
    message.to_owned()
}

/// What serde expected, in words.
fn expected(want: &str) -> String {
    let want = want.trim();
    let words = match want {
        "i8" | "i16" | "i32" | "i64" | "i128" | "isize" => "an integer",
        "u8" | "u16" | "u32" | "u64" | "u128" | "usize" => "a whole number of zero or more",
        "f32" | "f64" => "a number",
        "a boolean" => "true or false",
        "a sequence" => "a list",
        "a map" => "an object",
        "a string" | "a borrowed string" => "text",
        "a character" | "char" => "a single character",
        "variant identifier" => "one of the allowed names",
        "field identifier" => "a field name",
        _ if want.starts_with("struct ") || want.contains("tagged enum") => "an object",
        _ if want.starts_with("enum ") => "one of the allowed names",
        _ if want.starts_with("one of ") || want.starts_with('`') => {
            return format!("one of: {}", names(want));
        }
        _ => want,
    };
    words.to_owned()
}

/// What was sent, in words.
fn given(got: &str) -> String {
    let got = got.trim();
    for prefix in [
        "floating point ",
        "integer ",
        "boolean ",
        "string ",
        "unsigned integer ",
    ] {
        if let Some(value) = got.strip_prefix(prefix) {
            return value.trim_matches('`').to_owned();
        }
    }
    match got {
        "sequence" => "a list".to_owned(),
        "map" => "an object".to_owned(),
        "unit value" => "null".to_owned(),
        other => other.to_owned(),
    }
}

/// serde's "one of `a`, `b`" or "`a` or `b`" as "a, b".
fn names(list: &str) -> String {
    list.trim()
        .trim_start_matches("one of ")
        .replace(" or ", ", ")
        .replace('`', "")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_messages_become_words() {
        assert_eq!(
            for_people("invalid type: floating point `1.5`, expected i64"),
            "must be an integer, not 1.5"
        );
        assert_eq!(
            for_people("invalid type: sequence, expected struct Measure"),
            "must be an object, not a list"
        );
        assert_eq!(
            for_people("unknown variant `sideways`, expected one of `up`, `down`"),
            "`sideways` is not one of: up, down"
        );
        assert_eq!(
            for_people("unknown field `colour`, expected `name` or `url`"),
            "is not a field here; the fields are: name, url"
        );
        assert_eq!(
            for_people("invalid length 3, expected struct OkrRequest with 12 elements"),
            "must be an object"
        );
        assert_eq!(for_people("missing field `name`"), "is required");
    }

    #[test]
    fn content_types() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, v.parse().expect("header"));
            is_json(&h)
        };
        for ok in [
            "application/json",
            "Application/JSON",
            "application/json; charset=utf-8",
            "application/json;charset=\"UTF-8\"",
        ] {
            assert!(with(ok), "{ok}");
        }
        for bad in [
            "text/plain",
            "application/jsonx",
            "application/json-patch+json",
            "application/json; charset=latin1",
            "application/x-www-form-urlencoded",
        ] {
            assert!(!with(bad), "{bad}");
        }
        assert!(!is_json(&HeaderMap::new()));
    }
}
