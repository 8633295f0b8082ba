//! An item's synced fields in one tracker-neutral form, and fingerprints of
//! them: what the decisions compare.
//!
//! The engine reads each side into [`ItemValues`]: descriptions as GitLab
//! Markdown (Jira's ADF and wiki markup converted by `cairn-markup`, Cairn's
//! own marker removed), Jira statuses as opened or closed through the pair's
//! status mapping, labels as a set.

use std::collections::BTreeSet;

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::people::Assignee;
use super::releases::ReleaseValue;
use super::settings::SyncField;

stable_names! {
    error: SyncError;
    /// GitLab's two issue states, which every Jira status maps to.
    pub enum ItemState {
        Opened => "opened",
        Closed => "closed",
    }
}

/// One field's value.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum FieldValue {
    Text(String),
    State(ItemState),
    Labels(BTreeSet<String>),
    Date(Option<NaiveDate>),
    /// Before `Person`: values are untagged, and a release's field names
    /// are its own, so it is never read as a person (nor one as it).
    Release(ReleaseValue),
    Person(Assignee),
}

impl FieldValue {
    /// A stable fingerprint: equal values, equal fingerprints, whatever
    /// the process or platform.
    pub fn fingerprint(&self) -> Fingerprint {
        let canonical = match self {
            FieldValue::Text(t) => format!("t:{t}"),
            FieldValue::State(s) => format!("s:{s}"),
            FieldValue::Labels(l) => {
                let mut out = String::from("l:");
                for label in l {
                    // Length-prefixed, so no label can fake a boundary.
                    out.push_str(&format!("{}:{label};", label.len()));
                }
                out
            }
            FieldValue::Date(d) => format!("d:{}", d.map(|d| d.to_string()).unwrap_or_default()),
            FieldValue::Person(a) => {
                let part = |id: &Option<String>| match id {
                    Some(id) => format!("{}:{id};", id.len()),
                    None => "-;".to_owned(),
                };
                format!("p:{}{}", part(&a.left), part(&a.right))
            }
            FieldValue::Release(r) => {
                let part = |id: &Option<String>| match id {
                    Some(id) => format!("{}:{id};", id.len()),
                    None => "-;".to_owned(),
                };
                format!("r:{}{}", part(&r.left), part(&r.right))
            }
        };
        Fingerprint(crate::digest::hex128(&canonical))
    }

    /// Whether `side` can be given this value. Only an assignee known on
    /// the other side alone cannot.
    pub fn writable_to(&self, side: super::settings::Side) -> bool {
        match self {
            FieldValue::Person(a) => a.writable_to(side),
            FieldValue::Release(r) => r.writable_to(side),
            _ => true,
        }
    }

    /// A short rendering for logs, conflicts and previews.
    pub fn summary(&self, max_chars: usize) -> String {
        let full = match self {
            FieldValue::Text(t) => t.clone(),
            FieldValue::State(s) => s.to_string(),
            FieldValue::Labels(l) => l.iter().cloned().collect::<Vec<_>>().join(", "),
            FieldValue::Date(d) => d.map(|d| d.to_string()).unwrap_or_else(|| "none".into()),
            FieldValue::Person(a) => match (&a.left, &a.right) {
                (None, None) => "nobody".into(),
                (l, r) => format!(
                    "left {}, right {}",
                    l.as_deref().unwrap_or("unmapped"),
                    r.as_deref().unwrap_or("unmapped")
                ),
            },
            FieldValue::Release(r) => match (&r.left, &r.right) {
                (None, None) => "none".into(),
                (l, r) => format!(
                    "left {}, right {}",
                    l.as_deref().unwrap_or("not linked"),
                    r.as_deref().unwrap_or("not linked")
                ),
            },
        };
        if full.chars().count() <= max_chars {
            full
        } else {
            let mut cut: String = full.chars().take(max_chars).collect();
            cut.push('…');
            cut
        }
    }
}

/// The fingerprint of a [`FieldValue`]: 128 bits of SHA-256, in hex.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Fingerprint(pub String);

/// An item's synced fields, read from one side.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemValues {
    pub title: String,
    /// GitLab Markdown.
    pub description: String,
    pub state: ItemState,
    pub labels: BTreeSet<String>,
    pub due_date: Option<NaiveDate>,
    /// Hints stored before assignees were synced have none.
    #[serde(default)]
    pub assignee: Assignee,
    /// GitLab's milestone, Jira's carried fix version; hints stored
    /// before milestones were synced have none.
    #[serde(default)]
    pub milestone: ReleaseValue,
}

impl ItemValues {
    pub fn get(&self, field: SyncField) -> FieldValue {
        match field {
            SyncField::Title => FieldValue::Text(self.title.clone()),
            SyncField::Description => FieldValue::Text(self.description.clone()),
            SyncField::State => FieldValue::State(self.state),
            SyncField::Labels => FieldValue::Labels(self.labels.clone()),
            SyncField::DueDate => FieldValue::Date(self.due_date),
            SyncField::Assignee => FieldValue::Person(self.assignee.clone()),
            SyncField::Milestone => FieldValue::Release(self.milestone.clone()),
        }
    }

    /// Sets a field; a value of the wrong kind for the field is ignored
    /// (the decisions only ever pass a field its own kind).
    pub fn set(&mut self, field: SyncField, value: FieldValue) {
        match (field, value) {
            (SyncField::Title, FieldValue::Text(t)) => self.title = t,
            (SyncField::Description, FieldValue::Text(t)) => self.description = t,
            (SyncField::State, FieldValue::State(s)) => self.state = s,
            (SyncField::Labels, FieldValue::Labels(l)) => self.labels = l,
            (SyncField::DueDate, FieldValue::Date(d)) => self.due_date = d,
            (SyncField::Assignee, FieldValue::Person(a)) => self.assignee = a,
            (SyncField::Milestone, FieldValue::Release(r)) => self.milestone = r,
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    pub fn values(title: &str) -> ItemValues {
        ItemValues {
            title: title.into(),
            description: String::new(),
            state: ItemState::Opened,
            labels: BTreeSet::new(),
            due_date: None,
            assignee: Assignee::default(),
            milestone: ReleaseValue::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(names: &[&str]) -> FieldValue {
        FieldValue::Labels(names.iter().map(|s| s.to_string()).collect())
    }

    #[test]
    fn fingerprints_tell_values_apart_and_ignore_label_order() {
        assert_eq!(
            labels(&["a", "b"]).fingerprint(),
            labels(&["b", "a"]).fingerprint()
        );
        assert_ne!(
            labels(&["a;1:b"]).fingerprint(),
            labels(&["a", "b"]).fingerprint()
        );
        assert_ne!(
            FieldValue::Text("opened".into()).fingerprint(),
            FieldValue::State(ItemState::Opened).fingerprint()
        );
        assert_ne!(
            FieldValue::Date(None).fingerprint(),
            FieldValue::Text(String::new()).fingerprint()
        );
        assert_eq!(FieldValue::Text("x".into()).fingerprint().0.len(), 32);
        // Stable across builds, since stored fingerprints must keep
        // matching: SHA-256 of "t:x", worked out with Python's hashlib.
        assert_eq!(
            FieldValue::Text("x".into()).fingerprint().0,
            "e76563248618b95d50d3c05cba375457"
        );
    }

    #[test]
    fn get_and_set_cover_every_field() {
        let mut v = fixtures::values("a");
        for field in SyncField::ALL {
            let value = v.get(*field);
            v.set(*field, value.clone());
            assert_eq!(v.get(*field), value);
        }
        v.set(SyncField::Title, FieldValue::Text("b".into()));
        assert_eq!(v.title, "b");
        v.set(SyncField::Title, FieldValue::State(ItemState::Closed));
        assert_eq!(v.title, "b", "a value of the wrong kind is ignored");
    }

    #[test]
    fn summaries_are_cut_on_characters() {
        assert_eq!(FieldValue::Text("ééé".into()).summary(2), "éé…");
        assert_eq!(FieldValue::Date(None).summary(10), "none");
        assert_eq!(labels(&["b", "a"]).summary(10), "a, b");
    }
}
