//! A JSON body extractor whose errors name the field at fault.

use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;

use crate::ApiError;

/// Like `axum::Json`, but a bad body answers 400/415/422 with the JSON error
/// body and, where serde can tell, the path of the offending field.
pub struct ApiJson<T>(pub T);

impl<S, T> FromRequest<S> for ApiJson<T>
where
    S: Send + Sync,
    T: DeserializeOwned,
{
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let is_json = request
            .headers()
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("application/json"));
        if !is_json {
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
        let deserializer = &mut serde_json::Deserializer::from_slice(&bytes);
        match serde_path_to_error::deserialize(deserializer) {
            Ok(value) => Ok(ApiJson(value)),
            Err(error) => {
                let path = error.path().to_string();
                let inner = error.into_inner();
                let message = inner.to_string();
                let syntax = inner.is_syntax() || inner.is_eof();
                // serde names a missing field only in its message.
                let field = if path == "." {
                    message
                        .strip_prefix("missing field `")
                        .and_then(|rest| rest.split('`').next())
                        .map(str::to_owned)
                } else {
                    Some(path)
                };
                Err(ApiError {
                    status: if syntax {
                        StatusCode::BAD_REQUEST
                    } else {
                        StatusCode::UNPROCESSABLE_ENTITY
                    },
                    code: if syntax {
                        "malformed_json"
                    } else {
                        "invalid_field"
                    },
                    message,
                    field: field.filter(|_| !syntax),
                    retry_after_secs: None,
                })
            }
        }
    }
}
