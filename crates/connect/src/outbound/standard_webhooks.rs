//! Signed generic webhooks in the Standard Webhooks scheme
//! (<https://www.standardwebhooks.com>), so receivers can verify them with
//! any of its libraries: headers `webhook-id`, `webhook-timestamp` and
//! `webhook-signature: v1,<base64 HMAC-SHA256>` over
//! `{id}.{timestamp}.{body}`, keyed with the base64-decoded part of a
//! `whsec_` secret.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use hmac::{Hmac, Mac};
use rand::RngCore;
use serde_json::{Value, json};
use sha2::Sha256;

use cairn_core::notify::Notification;
use cairn_core::secret::Secret;

use super::{OutboundError, OutboundRequest};

/// The prefix that marks a symmetric Standard Webhooks secret.
pub const SECRET_PREFIX: &str = "whsec_";
/// Header with the message id, the same on every retry (an idempotency key).
pub const HEADER_ID: &str = "webhook-id";
/// Header with the attempt's Unix time in seconds.
pub const HEADER_TIMESTAMP: &str = "webhook-timestamp";
/// Header with the space-separated signatures.
pub const HEADER_SIGNATURE: &str = "webhook-signature";

/// Key sizes the scheme allows: at least 24 bytes, at most 64.
const KEY_MIN: usize = 24;
const KEY_MAX: usize = 64;
/// Bytes of a generated key.
const KEY_LEN: usize = 32;

/// A new signing secret: `whsec_` + base64 of 32 random bytes, registered
/// for log scrubbing. Show it to the admin once; store it encrypted.
pub fn generate_secret() -> Secret {
    let mut key = [0u8; KEY_LEN];
    rand::rng().fill_bytes(&mut key);
    Secret::new(format!("{SECRET_PREFIX}{}", BASE64.encode(key)))
}

/// A new message id, `msg_` + 24 random alphanumerics. Create it once per
/// event and delivery target and keep it across retries, so receivers can
/// drop duplicates.
pub fn new_message_id() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut rng = rand::rng();
    let id: String = (0..24)
        .map(|_| {
            let i = (rng.next_u32() as usize) % ALPHABET.len();
            char::from(ALPHABET[i])
        })
        .collect();
    format!("msg_{id}")
}

/// The HMAC key inside a secret (with or without the `whsec_` prefix).
fn key(secret: &Secret) -> Result<Vec<u8>, OutboundError> {
    let text = secret.expose().trim();
    let encoded = text.strip_prefix(SECRET_PREFIX).unwrap_or(text);
    let key = BASE64.decode(encoded).map_err(|_| {
        OutboundError::InvalidSecret("it is not `whsec_` followed by base64".into())
    })?;
    if !(KEY_MIN..=KEY_MAX).contains(&key.len()) {
        return Err(OutboundError::InvalidSecret(format!(
            "its key is {} bytes; the scheme needs {KEY_MIN} to {KEY_MAX}",
            key.len()
        )));
    }
    Ok(key)
}

/// Refuses message ids that would make the signed content ambiguous: the
/// id is followed by a `.` in it, so it must not contain one.
fn check_message_id(msg_id: &str) -> Result<(), OutboundError> {
    if msg_id.is_empty() {
        return Err(OutboundError::InvalidMessageId("it is empty".into()));
    }
    if let Some(c) = msg_id
        .chars()
        .find(|c| *c == '.' || c.is_whitespace() || c.is_control())
    {
        return Err(OutboundError::InvalidMessageId(format!(
            "it contains {c:?}, which cannot be signed unambiguously or sent in a header"
        )));
    }
    Ok(())
}

/// The `webhook-signature` value for one message: `v1,` + base64 of
/// HMAC-SHA256 over `{msg_id}.{timestamp}.{body}`.
pub fn sign(
    secret: &Secret,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Result<String, OutboundError> {
    check_message_id(msg_id)?;
    let key = key(secret)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key)
        .map_err(|_| OutboundError::InvalidSecret("the key cannot be used for HMAC".into()))?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!("v1,{}", BASE64.encode(mac.finalize().into_bytes())))
}

/// The payload: `type` (e.g. `okr.status_changed`, `sync.failing`),
/// `timestamp` (when the event happened, RFC 3339) and the event itself in
/// `data`.
pub fn payload(notification: &Notification) -> Value {
    json!({
        "type": notification.kind().webhook_type(),
        "timestamp": notification.occurred_at().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": notification,
    })
}

/// The three Standard Webhooks headers for a signed body.
pub fn headers(msg_id: &str, timestamp: i64, signature: &str) -> Vec<(String, String)> {
    vec![
        (HEADER_ID.into(), msg_id.into()),
        (HEADER_TIMESTAMP.into(), timestamp.to_string()),
        (HEADER_SIGNATURE.into(), signature.into()),
    ]
}

/// A signed request for `event`: the payload as compact JSON, signed for
/// this attempt's `timestamp` (Unix seconds, "now": receivers refuse old
/// ones, so sign again on every retry) with the message id kept across
/// retries.
pub fn request(
    event: &Notification,
    msg_id: &str,
    timestamp: i64,
    secret: &Secret,
) -> Result<OutboundRequest, OutboundError> {
    let body = payload(event).to_string().into_bytes();
    let signature = sign(secret, msg_id, timestamp, &body)?;
    let mut headers = vec![("content-type".to_owned(), "application/json".to_owned())];
    headers.extend(self::headers(msg_id, timestamp, &signature));
    Ok(OutboundRequest { headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_and_ids_have_the_expected_shape() {
        let s = generate_secret();
        let text = s.expose();
        assert!(text.starts_with("whsec_"));
        assert_eq!(key(&s).unwrap().len(), 32);
        assert_ne!(generate_secret(), s);

        let id = new_message_id();
        assert_eq!(id.len(), 28);
        assert!(id.starts_with("msg_"));
        assert!(check_message_id(&id).is_ok());
        assert_ne!(new_message_id(), id);
    }

    #[test]
    fn bad_secrets_and_ids_are_refused_without_echoing_the_secret() {
        let short = Secret::new("whsec_c2hvcnQta2V5");
        let err = sign(&short, "msg_1", 1, b"{}").unwrap_err();
        assert!(err.to_string().contains("9 bytes"), "{err}");
        let garbage = Secret::new("whsec_not base64 at all!");
        let err = sign(&garbage, "msg_1", 1, b"{}").unwrap_err();
        assert!(!err.to_string().contains("not base64 at all"), "{err}");
        let ok = generate_secret();
        assert!(sign(&ok, "msg.1", 1, b"{}").is_err());
        assert!(sign(&ok, "", 1, b"{}").is_err());
        assert!(sign(&ok, "msg 1", 1, b"{}").is_err());
    }

    #[test]
    fn secrets_work_with_and_without_the_prefix() {
        let with = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        let without = Secret::new("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assert_eq!(
            sign(&with, "msg_1", 5, b"x").unwrap(),
            sign(&without, "msg_1", 5, b"x").unwrap()
        );
    }
}
