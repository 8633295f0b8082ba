//! References to work items found in text: Jira issue keys, GitLab issue
//! references, and which of them a closing phrase names. Hand-written
//! scanning (no regex): linear in the text, never panics, and every
//! candidate that is not taken is reported with the reason, so bad input
//! is counted instead of lost silently.
//!
//! The rules (also in docs/decisions.md, "Time: activity and suggestions"):
//! - A Jira key is `[A-Z][A-Z0-9_]+-[1-9][0-9]*`, word-bounded: the
//!   characters just before and after are not letters, digits or `_`
//!   (`feature/AE-12-login` and `(AE-12)` name AE-12; `xAE-12` and
//!   `AE-12a` name nothing).
//! - Lowercase or mixed-case keys (`ae-12`, `Ae-12`) are not keys (Jira's
//!   are uppercase); one made of letters only before the dash is reported
//!   as dropped (`not_uppercase`). `AE-012` and `AE-0` are dropped
//!   (`leading_zero`): Jira numbers never start with 0.
//! - A GitLab issue reference is `#12` (this project) or
//!   `group/project#12` (a full path, at least one `/`), after the start
//!   of the text, a space or an opening punctuation mark, and not followed
//!   by a letter, digit or `_`. Bare `project#12`, URLs and `#012` are not
//!   taken (too many false positives: `C#12`, `page#12`).
//! - A closing phrase follows GitLab's default pattern: `Close`, `Fix`,
//!   `Resolve` or `Implement` in any tense (`Closes`, `Fixed`,
//!   `Resolving`...; first letter in either case, the rest lowercase), an
//!   optional `:`, spaces, an optional `issue`/`issues`, then one or more
//!   references separated by `,`, spaces or ` and `. It closes GitLab
//!   issues and Jira keys alike (`Fixes AE-12`).
//! - At most [`MAX_REFERENCES_PER_TEXT`] distinct references are taken
//!   from one text, in order of appearance; the rest are dropped
//!   (`over_limit`). The same reference twice in a text counts once
//!   (closing if any mention closes it).

use std::fmt;

use serde::{Deserialize, Serialize};

use super::error::ActivityError;

/// The most distinct references taken from one text (a branch name with 50
/// keys is somebody's mistake, not 50 pieces of work).
pub const MAX_REFERENCES_PER_TEXT: usize = 10;

/// Longest project part of a Jira key accepted (Jira's own limit is lower;
/// this only keeps garbage out).
const MAX_PROJECT_LEN: usize = 255;

/// Longest issue number accepted, in digits (fits in a `u64`).
const MAX_NUMBER_DIGITS: usize = 18;

/// A Jira issue key such as `AE-12`: uppercase project key, a dash, a
/// number without leading zero.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct JiraKey {
    text: String,
    dash: usize,
}

impl JiraKey {
    /// The key in `text`, which must be exactly one key.
    pub fn parse(text: &str) -> Result<JiraKey, ActivityError> {
        let refused = || ActivityError::NotAJiraKey {
            text: text.to_owned(),
        };
        let dash = text.rfind('-').ok_or_else(refused)?;
        let (project, number) = (&text[..dash], &text[dash + 1..]);
        match classify_key(project, number) {
            Some(Ok(())) => Ok(JiraKey {
                text: text.to_owned(),
                dash,
            }),
            _ => Err(refused()),
        }
    }

    /// The key as written, e.g. `AE-12`.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The project key, e.g. `AE`.
    pub fn project(&self) -> &str {
        &self.text[..self.dash]
    }

    /// The issue number, e.g. 12.
    pub fn number(&self) -> u64 {
        // Checked by `classify_key`: at most 18 digits.
        self.text[self.dash + 1..].parse().unwrap_or(0)
    }
}

impl fmt::Display for JiraKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl TryFrom<String> for JiraKey {
    type Error = ActivityError;
    fn try_from(text: String) -> Result<Self, Self::Error> {
        JiraKey::parse(&text)
    }
}

impl From<JiraKey> for String {
    fn from(key: JiraKey) -> String {
        key.text
    }
}

/// A GitLab issue reference as written: `#12` (project `None`: the
/// activity's own project) or `group/project#12`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GitLabIssueRef {
    /// Full path of another project, or `None` for the activity's own.
    pub project: Option<String>,
    pub iid: u64,
}

impl GitLabIssueRef {
    /// The issue's full project path, resolving `#12` against the project
    /// the activity happened in.
    pub fn resolve(&self, own_project: &str) -> Target {
        Target::GitLabIssue {
            project: self
                .project
                .clone()
                .unwrap_or_else(|| own_project.to_owned()),
            iid: self.iid,
        }
    }
}

/// A reference found in text.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Reference {
    Jira {
        key: JiraKey,
    },
    #[serde(rename = "gitlab_issue")]
    GitLabIssue(GitLabIssueRef),
}

impl Reference {
    /// The Jira key, when it is one.
    pub fn jira_key(&self) -> Option<&JiraKey> {
        match self {
            Reference::Jira { key } => Some(key),
            Reference::GitLabIssue(_) => None,
        }
    }
}

/// The work item time is logged against: a Jira issue, or a GitLab issue
/// by its project's full path (the engine resolves the path to an id).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Target {
    Jira {
        key: JiraKey,
    },
    #[serde(rename = "gitlab_issue")]
    GitLabIssue {
        project: String,
        iid: u64,
    },
}

impl Target {
    /// A Jira target from a key.
    pub fn jira(key: JiraKey) -> Target {
        Target::Jira { key }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Jira { key } => write!(f, "{key}"),
            Target::GitLabIssue { project, iid } => write!(f, "{project}#{iid}"),
        }
    }
}

stable_names! {
    error: ActivityError;
    /// Which text of an activity a reference was found in.
    pub enum TextSource {
        Branch => "branch",
        CommitMessage => "commit_message",
        MergeRequestTitle => "merge_request_title",
        MergeRequestDescription => "merge_request_description",
        /// The issues GitLab lists as linked to (closed by) a merge request.
        LinkedIssues => "linked_issues",
        Comment => "comment",
        IssueTitle => "issue_title",
        /// The issue an issue event or a comment on an issue is about.
        Subject => "subject",
    }
}

stable_names! {
    error: ActivityError;
    /// Why a candidate reference was not taken.
    pub enum DropReason {
        /// Looks like a Jira key but is not all uppercase (`ae-12`).
        NotUppercase => "not_uppercase",
        /// A number starting with 0 (`AE-012`, `AE-0`).
        LeadingZero => "leading_zero",
        /// A project part or number too long to be real.
        TooLong => "too_long",
        /// Beyond [`MAX_REFERENCES_PER_TEXT`] in one text.
        OverLimit => "over_limit",
    }
}

/// A reference taken from an activity's text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FoundReference {
    pub reference: Reference,
    /// Named by a closing phrase (`Fixes AE-12`, `Closes #3`).
    pub closing: bool,
    /// The first text it was found in.
    pub source: TextSource,
}

/// A candidate that was not taken, and why: counted, never an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DroppedReference {
    /// The candidate as written.
    pub text: String,
    pub reason: DropReason,
    pub source: TextSource,
}

/// Every reference found in one or more texts, in order of appearance
/// (texts in the order scanned), each once; and what was dropped.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferenceScan {
    pub found: Vec<FoundReference>,
    pub dropped: Vec<DroppedReference>,
}

impl ReferenceScan {
    /// Scans one text and adds what it refers to. A reference already
    /// found in an earlier text is not repeated (but becomes closing if
    /// this text closes it).
    pub fn scan(&mut self, source: TextSource, text: &str) {
        let tokens = tokenize(text);
        let mut taken: Vec<(Reference, bool)> = Vec::new();
        for token in tokens {
            match token.kind {
                TokenKind::Dropped(reason) => self.dropped.push(DroppedReference {
                    text: text[token.start..token.end].to_owned(),
                    reason,
                    source,
                }),
                TokenKind::Found(reference) => {
                    if let Some(seen) = taken.iter_mut().find(|(r, _)| *r == reference) {
                        seen.1 |= token.closing;
                    } else if taken.len() < MAX_REFERENCES_PER_TEXT {
                        taken.push((reference, token.closing));
                    } else {
                        self.dropped.push(DroppedReference {
                            text: text[token.start..token.end].to_owned(),
                            reason: DropReason::OverLimit,
                            source,
                        });
                    }
                }
            }
        }
        self.merge(source, taken);
    }

    /// Adds references known without scanning (a merge request's linked
    /// issues, the issue a comment is on), limited like a text.
    pub fn add(&mut self, source: TextSource, references: impl IntoIterator<Item = Reference>) {
        let mut taken: Vec<(Reference, bool)> = Vec::new();
        for reference in references {
            if taken.iter().any(|(r, _)| *r == reference) {
                continue;
            }
            if taken.len() < MAX_REFERENCES_PER_TEXT {
                taken.push((reference, false));
            } else {
                self.dropped.push(DroppedReference {
                    text: reference_text(&reference),
                    reason: DropReason::OverLimit,
                    source,
                });
            }
        }
        self.merge(source, taken);
    }

    fn merge(&mut self, source: TextSource, taken: Vec<(Reference, bool)>) {
        for (reference, closing) in taken {
            match self.found.iter_mut().find(|f| f.reference == reference) {
                Some(found) => found.closing |= closing,
                None => self.found.push(FoundReference {
                    reference,
                    closing,
                    source,
                }),
            }
        }
    }

    /// The Jira keys found, in order.
    pub fn jira_keys(&self) -> impl Iterator<Item = &JiraKey> {
        self.found.iter().filter_map(|f| f.reference.jira_key())
    }

    /// The Jira keys a closing phrase names, in order.
    pub fn closing_jira_keys(&self) -> impl Iterator<Item = &JiraKey> {
        self.found
            .iter()
            .filter(|f| f.closing)
            .filter_map(|f| f.reference.jira_key())
    }

    /// The GitLab issues referred to, in order.
    pub fn gitlab_issues(&self) -> impl Iterator<Item = &GitLabIssueRef> {
        self.found.iter().filter_map(|f| match &f.reference {
            Reference::GitLabIssue(r) => Some(r),
            Reference::Jira { .. } => None,
        })
    }

    /// The work item time goes to: the first Jira key found, else the first
    /// GitLab issue (resolved against `own_project`), else none. Jira keys
    /// come first because an organisation that names Jira keys in GitLab
    /// keeps its time in Jira.
    pub fn target(&self, own_project: &str) -> Option<Target> {
        if let Some(key) = self.jira_keys().next() {
            return Some(Target::jira(key.clone()));
        }
        self.gitlab_issues().next().map(|r| r.resolve(own_project))
    }
}

/// Scans one text on its own.
pub fn scan_text(source: TextSource, text: &str) -> ReferenceScan {
    let mut scan = ReferenceScan::default();
    scan.scan(source, text);
    scan
}

fn reference_text(reference: &Reference) -> String {
    match reference {
        Reference::Jira { key } => key.to_string(),
        Reference::GitLabIssue(r) => match &r.project {
            Some(p) => format!("{p}#{}", r.iid),
            None => format!("#{}", r.iid),
        },
    }
}

enum TokenKind {
    Found(Reference),
    Dropped(DropReason),
}

struct Token {
    start: usize,
    end: usize,
    kind: TokenKind,
    closing: bool,
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

fn prev_char(text: &str, at: usize) -> Option<char> {
    text.get(..at).and_then(|t| t.chars().next_back())
}

fn next_char(text: &str, at: usize) -> Option<char> {
    text.get(at..).and_then(|t| t.chars().next())
}

/// All candidates in `text`, by position, closing ones marked.
fn tokenize(text: &str) -> Vec<Token> {
    let mut tokens = Vec::new();
    scan_keys(text, &mut tokens);
    scan_gitlab_refs(text, &mut tokens);
    tokens.sort_by_key(|t| t.start);
    mark_closing(text, &mut tokens);
    tokens
}

/// `None`: not key-shaped; `Some(Err(reason))`: key-shaped but dropped.
fn classify_key(project: &str, number: &str) -> Option<Result<(), DropReason>> {
    let p = project.as_bytes();
    if p.len() < 2
        || !p[0].is_ascii_alphabetic()
        || !p.iter().all(|b| b.is_ascii_alphanumeric() || *b == b'_')
        || number.is_empty()
        || !number.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let uppercase = p
        .iter()
        .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || *b == b'_');
    if !uppercase {
        // Only letter-only candidates are worth reporting (`ae-12`); `x86-64`
        // and `v1-2` are not mistakes for keys.
        return if p.iter().all(|b| b.is_ascii_alphabetic()) {
            Some(Err(DropReason::NotUppercase))
        } else {
            None
        };
    }
    if number.starts_with('0') {
        return Some(Err(DropReason::LeadingZero));
    }
    if p.len() > MAX_PROJECT_LEN || number.len() > MAX_NUMBER_DIGITS {
        return Some(Err(DropReason::TooLong));
    }
    Some(Ok(()))
}

/// Positions of ASCII letters that start a word (an ASCII letter is
/// always at a character boundary).
fn word_starts(text: &str) -> impl Iterator<Item = usize> + '_ {
    text.bytes()
        .enumerate()
        .filter(move |(i, b)| b.is_ascii_alphabetic() && !prev_char(text, *i).is_some_and(is_word))
        .map(|(i, _)| i)
}

/// The end of the run of bytes from `from` that satisfy `keep`.
fn run_end(bytes: &[u8], from: usize, keep: impl Fn(u8) -> bool) -> usize {
    bytes[from..]
        .iter()
        .position(|b| !keep(*b))
        .map_or(bytes.len(), |n| from + n)
}

fn scan_keys(text: &str, tokens: &mut Vec<Token>) {
    let bytes = text.as_bytes();
    for i in word_starts(text) {
        let j = run_end(bytes, i, |b| b.is_ascii_alphanumeric() || b == b'_');
        if j < bytes.len() && bytes[j] == b'-' {
            let k = run_end(bytes, j + 1, |b| b.is_ascii_digit());
            if k > j + 1 && !next_char(text, k).is_some_and(is_word) {
                let outcome = classify_key(&text[i..j], &text[j + 1..k]);
                let kind = match outcome {
                    Some(Ok(())) => Some(TokenKind::Found(Reference::Jira {
                        key: JiraKey {
                            text: text[i..k].to_owned(),
                            dash: j - i,
                        },
                    })),
                    Some(Err(reason)) => Some(TokenKind::Dropped(reason)),
                    None => None,
                };
                if let Some(kind) = kind {
                    tokens.push(Token {
                        start: i,
                        end: k,
                        kind,
                        closing: false,
                    });
                }
            }
        }
    }
}

/// Characters a reference may follow directly.
fn opens_reference(c: char) -> bool {
    c.is_whitespace() || "([{<\"'`,;:*>!?".contains(c)
}

fn is_path_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'/')
}

fn scan_gitlab_refs(text: &str, tokens: &mut Vec<Token>) {
    let bytes = text.as_bytes();
    for (hash, _) in text.match_indices('#') {
        let end = run_end(bytes, hash + 1, |b| b.is_ascii_digit());
        let digits = &text[hash + 1..end];
        if digits.is_empty()
            || digits.starts_with('0')
            || digits.len() > MAX_NUMBER_DIGITS
            || next_char(text, end).is_some_and(is_word)
        {
            continue;
        }
        let Ok(iid) = digits.parse::<u64>() else {
            continue;
        };
        let mut start = hash;
        while start > 0 && is_path_byte(bytes[start - 1]) {
            start -= 1;
        }
        if !prev_char(text, start).is_none_or(opens_reference) {
            continue;
        }
        let path = &text[start..hash];
        let project = if path.is_empty() {
            None
        } else if path.contains('/')
            && path
                .split('/')
                .all(|s| !s.is_empty() && s != "." && s != "..")
        {
            Some(path.to_owned())
        } else {
            continue;
        };
        tokens.push(Token {
            start,
            end,
            kind: TokenKind::Found(Reference::GitLabIssue(GitLabIssueRef { project, iid })),
            closing: false,
        });
    }
}

const CLOSING_VERBS: &[&str] = &[
    "close",
    "closes",
    "closed",
    "closing",
    "fix",
    "fixes",
    "fixed",
    "fixing",
    "resolve",
    "resolves",
    "resolved",
    "resolving",
    "implement",
    "implements",
    "implemented",
    "implementing",
];

fn is_closing_verb(word: &str) -> bool {
    let mut chars = word.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest = chars.as_str();
    CLOSING_VERBS
        .iter()
        .any(|verb| verb.starts_with(first.to_ascii_lowercase()) && verb.get(1..) == Some(rest))
}

fn skip_spaces(bytes: &[u8], at: usize) -> usize {
    run_end(bytes, at, |b| b == b' ')
}

fn mark_closing(text: &str, tokens: &mut [Token]) {
    if tokens.is_empty() {
        return;
    }
    let bytes = text.as_bytes();
    for i in word_starts(text) {
        let j = run_end(bytes, i, |b| b.is_ascii_alphabetic());
        if next_char(text, j).is_some_and(is_word) || !is_closing_verb(&text[i..j]) {
            continue;
        }
        let mut at = j;
        if bytes.get(at) == Some(&b':') {
            at += 1;
        }
        let after_verb = skip_spaces(bytes, at);
        if after_verb == at {
            continue;
        }
        at = after_verb;
        for word in ["issues", "issue"] {
            if text[at..].starts_with(word) {
                let after = skip_spaces(bytes, at + word.len());
                if after > at + word.len() {
                    at = after;
                }
                break;
            }
        }
        // One or more references, separated by `,`, spaces or ` and `.
        while let Ok(index) = tokens.binary_search_by_key(&at, |t| t.start) {
            let token = &mut tokens[index];
            if !matches!(token.kind, TokenKind::Found(_)) {
                break;
            }
            token.closing = true;
            at = token.end;
            let before_sep = at;
            at = skip_spaces(bytes, at);
            if bytes.get(at) == Some(&b',') {
                at = skip_spaces(bytes, at + 1);
            }
            if at > before_sep && text[at..].starts_with("and ") {
                at = skip_spaces(bytes, at + 3);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> JiraKey {
        JiraKey::parse(text).unwrap()
    }

    fn keys(scan: &ReferenceScan) -> Vec<&str> {
        scan.jira_keys().map(JiraKey::as_str).collect()
    }

    fn dropped(scan: &ReferenceScan) -> Vec<(&str, DropReason)> {
        scan.dropped
            .iter()
            .map(|d| (d.text.as_str(), d.reason))
            .collect()
    }

    #[test]
    fn keys_are_found_where_people_write_them() {
        let cases: &[(&str, &[&str])] = &[
            ("feature/AE-12-login", &["AE-12"]),
            ("AE-12", &["AE-12"]),
            ("(AE-12) fix", &["AE-12"]),
            (
                "AE-12: fix, see OPS-3 and AE_2-7.",
                &["AE-12", "OPS-3", "AE_2-7"],
            ),
            ("https://jira.example.com/browse/AE-12", &["AE-12"]),
            ("AE-12/AE-13", &["AE-12", "AE-13"]),
            ("feature_AE-12", &[]),
            ("xAE-12 AE-12a AE12 A-12 AE- -12", &[]),
            ("2019-12-01 x86-64 v1-2", &[]),
            ("AE-12-13", &["AE-12"]),
            ("éAE-12 —AE-13", &["AE-13"]),
        ];
        for (text, want) in cases {
            assert_eq!(
                keys(&scan_text(TextSource::CommitMessage, text)),
                *want,
                "{text}"
            );
        }
    }

    #[test]
    fn lowercase_and_zero_padded_keys_are_dropped_and_counted() {
        let scan = scan_text(TextSource::Branch, "ae-12 Ae-13 AE-012 AE-0 utf-8 OK-1");
        assert_eq!(keys(&scan), ["OK-1"]);
        assert_eq!(
            dropped(&scan),
            [
                ("ae-12", DropReason::NotUppercase),
                ("Ae-13", DropReason::NotUppercase),
                ("AE-012", DropReason::LeadingZero),
                ("AE-0", DropReason::LeadingZero),
                ("utf-8", DropReason::NotUppercase),
            ]
        );
        let long = format!("AE-{}", "9".repeat(19));
        assert_eq!(
            dropped(&scan_text(TextSource::Branch, &long)),
            [(long.as_str(), DropReason::TooLong)]
        );
    }

    #[test]
    fn a_branch_with_fifty_keys_keeps_ten_and_counts_forty() {
        let branch: Vec<String> = (1..=50).map(|n| format!("AE-{n}")).collect();
        let scan = scan_text(TextSource::Branch, &branch.join("-"));
        assert_eq!(scan.found.len(), MAX_REFERENCES_PER_TEXT);
        assert_eq!(keys(&scan)[..2], ["AE-1", "AE-2"]);
        assert_eq!(keys(&scan)[9], "AE-10");
        assert_eq!(scan.dropped.len(), 40);
        assert!(
            scan.dropped
                .iter()
                .all(|d| d.reason == DropReason::OverLimit)
        );
        assert_eq!(scan.dropped[0].text, "AE-11");
    }

    #[test]
    fn repeats_count_once_and_do_not_use_up_the_limit() {
        let text = "AE-1 ".repeat(100) + "AE-2";
        let scan = scan_text(TextSource::Comment, &text);
        assert_eq!(keys(&scan), ["AE-1", "AE-2"]);
        assert!(scan.dropped.is_empty());
    }

    #[test]
    fn texts_without_references_find_nothing() {
        for text in [
            "",
            "wip",
            "#",
            "#0 #012 ##",
            "a#1 C#12 page#3 http://h/p#4",
            "AE-",
        ] {
            let scan = scan_text(TextSource::CommitMessage, text);
            assert_eq!(scan, ReferenceScan::default(), "{text}");
        }
    }

    #[test]
    fn gitlab_issue_references() {
        let scan = scan_text(
            TextSource::MergeRequestDescription,
            "See #12, (#3) and group/sub/project#7; not a/#1 or /abs#2 or x/../y#5.",
        );
        let refs: Vec<_> = scan.gitlab_issues().cloned().collect();
        assert_eq!(
            refs,
            [
                GitLabIssueRef {
                    project: None,
                    iid: 12
                },
                GitLabIssueRef {
                    project: None,
                    iid: 3
                },
                GitLabIssueRef {
                    project: Some("group/sub/project".into()),
                    iid: 7
                },
            ]
        );
        assert_eq!(
            refs[0].resolve("northwind/checkout"),
            Target::GitLabIssue {
                project: "northwind/checkout".into(),
                iid: 12
            }
        );
        assert_eq!(
            refs[2].resolve("northwind/checkout").to_string(),
            "group/sub/project#7"
        );
    }

    fn closing(text: &str) -> Vec<String> {
        scan_text(TextSource::CommitMessage, text)
            .found
            .into_iter()
            .filter(|f| f.closing)
            .map(|f| reference_text(&f.reference))
            .collect()
    }

    #[test]
    fn closing_phrases_follow_gitlabs_default_pattern() {
        assert_eq!(closing("Closes #12"), ["#12"]);
        assert_eq!(closing("fixes: #12"), ["#12"]);
        assert_eq!(closing("Resolved issue #4"), ["#4"]);
        assert_eq!(
            closing("implementing issues #4, #5 and g/p#6"),
            ["#4", "#5", "g/p#6"]
        );
        assert_eq!(
            closing(
                "Fix #20, Fixes #21 and Closes group/other#22. Related to #17 and fixes #18, #19"
            ),
            ["#20", "#21", "group/other#22", "#18", "#19"]
        );
        assert_eq!(closing("Fixes AE-12"), ["AE-12"]);
        assert_eq!(closing("Closes AE-1, AE-2 and #3"), ["AE-1", "AE-2", "#3"]);
        // Not closing: no space, other words, shouting, prefixes.
        for text in [
            "Closes#12",
            "Closesx #12",
            "Unfixes #12",
            "CLOSES #12",
            "Fixes the bug in #12",
            "fixes ae-12",
            "Related to AE-12",
        ] {
            assert!(closing(text).is_empty(), "{text}");
        }
        // The reference is still found, only not closing.
        let scan = scan_text(TextSource::CommitMessage, "Fixes the bug in #12");
        assert_eq!(scan.found.len(), 1);
    }

    #[test]
    fn a_later_closing_mention_makes_a_reference_closing() {
        let mut scan = scan_text(TextSource::Branch, "AE-12-login");
        assert!(!scan.found[0].closing);
        scan.scan(TextSource::CommitMessage, "Work. Fixes AE-12");
        assert_eq!(scan.found.len(), 1);
        assert!(scan.found[0].closing);
        assert_eq!(scan.found[0].source, TextSource::Branch);
        assert_eq!(
            scan.closing_jira_keys().collect::<Vec<_>>(),
            [&key("AE-12")]
        );
    }

    #[test]
    fn targets_prefer_jira_keys_then_gitlab_issues() {
        let mut scan = scan_text(TextSource::CommitMessage, "Closes #4");
        assert_eq!(
            scan.target("g/p"),
            Some(Target::GitLabIssue {
                project: "g/p".into(),
                iid: 4
            })
        );
        scan.scan(TextSource::Branch, "AE-9-x");
        assert_eq!(scan.target("g/p"), Some(Target::jira(key("AE-9"))));
        assert_eq!(ReferenceScan::default().target("g/p"), None);
    }

    #[test]
    fn added_references_are_limited_like_text() {
        let mut scan = ReferenceScan::default();
        scan.add(
            TextSource::LinkedIssues,
            (1..=12).map(|iid| Reference::GitLabIssue(GitLabIssueRef { project: None, iid })),
        );
        assert_eq!(scan.found.len(), 10);
        assert_eq!(
            dropped(&scan),
            [
                ("#11", DropReason::OverLimit),
                ("#12", DropReason::OverLimit)
            ]
        );
    }

    #[test]
    fn jira_keys_parse_strictly_and_serialize_as_text() {
        let k = key("MY_PROJ2-42");
        assert_eq!((k.project(), k.number()), ("MY_PROJ2", 42));
        for bad in ["ae-1", "AE-01", "AE12", "A-1", "AE-1 ", "AE-x", "-1", ""] {
            assert_eq!(
                JiraKey::parse(bad),
                Err(ActivityError::NotAJiraKey { text: bad.into() }),
                "{bad}"
            );
        }
        assert_eq!(serde_json::to_string(&k).unwrap(), r#""MY_PROJ2-42""#);
        assert!(serde_json::from_str::<JiraKey>(r#""ae-1""#).is_err());
        let target = Target::jira(key("AE-12"));
        assert_eq!(
            serde_json::to_value(&target).unwrap(),
            serde_json::json!({"kind": "jira", "key": "AE-12"})
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut text = String::new();
        for c in [
            '#',
            '-',
            'A',
            'é',
            '1',
            '0',
            ' ',
            '/',
            ',',
            'x',
            '_',
            ':',
            '\u{1F600}',
        ] {
            text.push(c);
            for start in 0..text.len() {
                if let Some(t) = text.get(start..) {
                    let _ = scan_text(TextSource::Comment, t);
                    let _ = scan_text(TextSource::Comment, &format!("Fixes {t}"));
                }
            }
        }
    }
}
