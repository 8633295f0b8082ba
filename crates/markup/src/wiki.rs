//! Jira wiki markup (placeholder while the codec is written).
use crate::model::Document;
/// Parses wiki markup.
pub fn parse(_s: &str) -> Document {
    Document::default()
}
/// Writes wiki markup.
pub fn write(_d: &Document) -> String {
    String::new()
}
