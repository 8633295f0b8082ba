//! Secrets (tokens, passwords, keys) and the rule that keeps them out of logs.
//!
//! A [`Secret`] never prints its value through `Debug` or `Display`, and every
//! secret created is registered so the log writer can scrub it from any line,
//! even one that reached a log through a string the secret was copied into.

use std::fmt;
use std::sync::{OnceLock, RwLock};

/// What the log writer prints in place of a secret.
pub const REDACTED: &str = "[REDACTED]";

/// Values shorter than this are not scrubbed from log lines: replacing every
/// "ab" in every line would destroy logs without protecting anything.
pub const MIN_REDACTED_LEN: usize = 6;

fn registry() -> &'static RwLock<Vec<String>> {
    static REGISTRY: OnceLock<RwLock<Vec<String>>> = OnceLock::new();
    REGISTRY.get_or_init(|| RwLock::new(Vec::new()))
}

/// Registers a value that must never appear in a log line.
pub fn register(value: &str) {
    if value.len() < MIN_REDACTED_LEN {
        return;
    }
    let mut values = registry().write().unwrap_or_else(|e| e.into_inner());
    if !values.iter().any(|v| v == value) {
        values.push(value.to_owned());
        // Longest first, so a secret containing another is scrubbed whole.
        values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    }
}

/// Replaces every registered secret in `text`; returns `None` when there was
/// nothing to replace, so the common case costs no allocation.
pub fn scrub(text: &str) -> Option<String> {
    let values = registry().read().unwrap_or_else(|e| e.into_inner());
    if !values.iter().any(|v| text.contains(v.as_str())) {
        return None;
    }
    let mut out = text.to_owned();
    for value in values.iter() {
        if out.contains(value.as_str()) {
            out = out.replace(value.as_str(), REDACTED);
        }
    }
    Some(out)
}

/// A secret value: redacted in `Debug` and `Display`, registered for log
/// scrubbing on creation. Read it only where it is sent or encrypted.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        let value = value.into();
        register(&value);
        Secret(value)
    }

    /// The plain value, for the one place that must send or encrypt it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_and_display_never_show_the_value() {
        let s = Secret::new("glpat-abcdefghijkl");
        assert_eq!(format!("{s:?}"), REDACTED);
        assert_eq!(format!("{s}"), REDACTED);
        assert_eq!(s.expose(), "glpat-abcdefghijkl");
    }

    #[test]
    fn scrub_replaces_registered_values_anywhere_in_a_line() {
        let _s = Secret::new("tok-1234567890");
        let line = "calling https://x/?t=tok-1234567890&u=1 with tok-1234567890";
        assert_eq!(
            scrub(line).as_deref(),
            Some("calling https://x/?t=[REDACTED]&u=1 with [REDACTED]")
        );
        assert_eq!(scrub("nothing secret here"), None);
    }

    #[test]
    fn longer_secret_containing_a_shorter_one_is_scrubbed_whole() {
        register("abcdefgh");
        register("xxabcdefghyy");
        assert_eq!(scrub("v=xxabcdefghyy").as_deref(), Some("v=[REDACTED]"));
    }

    #[test]
    fn short_values_are_not_registered() {
        register("abc");
        assert_eq!(scrub("abc abc"), None);
    }
}
