//! Issue text in one document model, with codecs for GitLab Flavoured Markdown, Jira's
//! Atlassian Document Format (ADF, Cloud REST v3) and Jira wiki markup (Data Center REST v2).
//!
//! Pure: no I/O, no async. Every codec parses into [`Document`] and writes from it, so a
//! description synced between GitLab and Jira goes through one model and what a format
//! cannot express (panels, colours, mentions, task lists) is carried in a form that
//! comes back instead of being dropped.

pub mod adf;
pub mod markdown;
mod model;
pub mod wiki;

pub use model::{
    Alignment, Block, Cell, Document, Inline, List, ListItem, Mark, PanelKind, Raw, Table,
};

/// Why an ADF document could not be read. Markdown and wiki markup accept any string.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum Error {
    /// The text is not JSON at all.
    #[error("ADF is not valid JSON: {0}")]
    Json(String),
    /// The JSON is not an ADF `doc` node (or a node is malformed where its type demands a shape).
    #[error("not an ADF document: {0}")]
    NotAdf(String),
}

/// Converts GitLab Markdown to ADF JSON (Jira Cloud).
pub fn markdown_to_adf(md: &str) -> serde_json::Value {
    adf::write(&markdown::parse(md))
}

/// Converts GitLab Markdown to Jira wiki markup (Jira Data Center).
pub fn markdown_to_wiki(md: &str) -> String {
    wiki::write(&markdown::parse(md))
}

/// Converts ADF JSON to GitLab Markdown.
pub fn adf_to_markdown(adf: &serde_json::Value) -> Result<String, Error> {
    Ok(markdown::write(&adf::parse(adf)?))
}

/// Converts Jira wiki markup to GitLab Markdown.
pub fn wiki_to_markdown(wiki: &str) -> String {
    markdown::write(&wiki::parse(wiki))
}
