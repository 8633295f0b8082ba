//! Lenient serde helpers: real payloads put `null` where a list is
//! expected and use several time formats.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// `null` becomes the type's default (an empty list, zero, ...).
pub(crate) fn null_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// An optional time in any format GitLab or Jira sends (see [`crate::parse_time`]);
/// an empty string is `None`, an unreadable one an error.
pub(crate) fn flex_time<'de, D>(d: D) -> Result<Option<DateTime<Utc>>, D::Error>
where
    D: Deserializer<'de>,
{
    match Option::<String>::deserialize(d)? {
        None => Ok(None),
        Some(s) if s.trim().is_empty() => Ok(None),
        Some(s) => crate::http::parse_time(&s)
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("unreadable time `{s}`"))),
    }
}

/// An optional string that some payloads send as a number.
pub(crate) fn scalar_string<'de, D>(d: D) -> Result<Option<String>, D::Error>
where
    D: Deserializer<'de>,
{
    Ok(match Option::<serde_json::Value>::deserialize(d)? {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::String(s)) => Some(s),
        Some(other) => Some(other.to_string()),
    })
}
