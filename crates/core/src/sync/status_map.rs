//! Jira statuses to GitLab's two states, as the seed describes: every
//! status of the project maps to `opened` or `closed`, and exactly one
//! status per state is *primary*, the one Cairn moves a Jira issue to when
//! GitLab's state changes.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::error::SyncError;
use super::values::ItemState;

stable_names! {
    error: SyncError;
    /// Jira's status categories (`statusCategory.key`).
    pub enum StatusCategory {
        New => "new",
        Indeterminate => "indeterminate",
        Done => "done",
    }
}

/// A status of the project's workflows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JiraStatus {
    pub id: String,
    pub name: String,
    pub category: StatusCategory,
}

/// One status's place in the mapping.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusMapEntry {
    pub status_id: String,
    /// The status's name when the mapping was saved, for messages.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    pub state: ItemState,
    #[serde(default)]
    pub primary: bool,
}

/// A pair's status mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct StatusMapping(pub Vec<StatusMapEntry>);

impl StatusMapping {
    /// A first mapping for a project: `done` statuses are closed, the rest
    /// opened; the primary for each state is the first status of its
    /// category in Jira's order (`new` for opened, `done` for closed), else
    /// the first status mapped to it.
    pub fn suggest(statuses: &[JiraStatus]) -> StatusMapping {
        let state_of = |s: &JiraStatus| match s.category {
            StatusCategory::Done => ItemState::Closed,
            _ => ItemState::Opened,
        };
        let pick = |state: ItemState, category: StatusCategory| {
            statuses
                .iter()
                .find(|s| s.category == category)
                .or_else(|| statuses.iter().find(|s| state_of(s) == state))
                .map(|s| s.id.clone())
        };
        let primaries = [
            pick(ItemState::Opened, StatusCategory::New),
            pick(ItemState::Closed, StatusCategory::Done),
        ];
        StatusMapping(
            statuses
                .iter()
                .map(|s| StatusMapEntry {
                    status_id: s.id.clone(),
                    name: s.name.clone(),
                    state: state_of(s),
                    primary: primaries.contains(&Some(s.id.clone())),
                })
                .collect(),
        )
    }

    /// Checks the seed's rules against the project's statuses, naming the
    /// first status at fault.
    pub fn validate(&self, statuses: &[JiraStatus]) -> Result<(), SyncError> {
        let name = |id: &str| {
            statuses
                .iter()
                .find(|s| s.id == id)
                .map(|s| s.name.clone())
                .unwrap_or_else(|| id.to_owned())
        };
        let mut seen = BTreeSet::new();
        for entry in &self.0 {
            if !statuses.iter().any(|s| s.id == entry.status_id) {
                return Err(SyncError::StatusUnknown {
                    status: entry.status_id.clone(),
                });
            }
            if !seen.insert(entry.status_id.as_str()) {
                return Err(SyncError::StatusMappedTwice {
                    status: name(&entry.status_id),
                });
            }
        }
        if let Some(missing) = statuses.iter().find(|s| !seen.contains(s.id.as_str())) {
            return Err(SyncError::StatusUnmapped {
                status: missing.name.clone(),
            });
        }
        for state in ItemState::ALL {
            let mapped: Vec<&StatusMapEntry> =
                self.0.iter().filter(|e| e.state == *state).collect();
            let primaries: Vec<String> = mapped
                .iter()
                .filter(|e| e.primary)
                .map(|e| format!("`{}`", name(&e.status_id)))
                .collect();
            let problem = match primaries.len() {
                1 => continue,
                0 if mapped.is_empty() => "no status is mapped to it".to_owned(),
                0 => "none of its statuses is primary".to_owned(),
                _ => format!("{} are all primary", primaries.join(" and ")),
            };
            return Err(SyncError::PrimaryStatus {
                state: state.as_str(),
                problem,
            });
        }
        Ok(())
    }

    /// The state a status maps to.
    pub fn state_of(&self, status_id: &str) -> Option<ItemState> {
        self.0
            .iter()
            .find(|e| e.status_id == status_id)
            .map(|e| e.state)
    }

    /// A status's name as saved, else its id.
    pub fn name_of<'a>(&'a self, status_id: &'a str) -> &'a str {
        self.0
            .iter()
            .find(|e| e.status_id == status_id && !e.name.is_empty())
            .map_or(status_id, |e| e.name.as_str())
    }

    /// The status Cairn moves a Jira issue to for `state`.
    pub fn primary(&self, state: ItemState) -> Option<&str> {
        self.0
            .iter()
            .find(|e| e.state == state && e.primary)
            .map(|e| e.status_id.as_str())
    }
}

#[cfg(test)]
pub(crate) mod fixtures {
    use super::*;

    /// To Do, In Progress, In Review, Blocked, Done, Won't Do.
    pub fn statuses() -> Vec<JiraStatus> {
        [
            ("1", "To Do", StatusCategory::New),
            ("3", "In Progress", StatusCategory::Indeterminate),
            ("4", "In Review", StatusCategory::Indeterminate),
            ("5", "Blocked", StatusCategory::Indeterminate),
            ("10", "Done", StatusCategory::Done),
            ("11", "Won't Do", StatusCategory::Done),
        ]
        .into_iter()
        .map(|(id, name, category)| JiraStatus {
            id: id.into(),
            name: name.into(),
            category,
        })
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::fixtures::statuses;
    use super::*;

    #[test]
    fn the_suggestion_follows_categories_and_is_valid() {
        let mapping = StatusMapping::suggest(&statuses());
        assert_eq!(mapping.validate(&statuses()), Ok(()));
        assert_eq!(mapping.primary(ItemState::Opened), Some("1"));
        assert_eq!(mapping.primary(ItemState::Closed), Some("10"));
        assert_eq!(mapping.state_of("4"), Some(ItemState::Opened));
        assert_eq!(mapping.state_of("11"), Some(ItemState::Closed));
        assert_eq!(mapping.state_of("99"), None);
        assert_eq!(mapping.name_of("4"), "In Review");
        assert_eq!(mapping.name_of("99"), "99");
    }

    #[test]
    fn every_rule_of_the_seed_is_checked_naming_the_status() {
        let good = StatusMapping::suggest(&statuses());

        let mut unmapped = good.clone();
        unmapped.0.retain(|e| e.status_id != "5");
        assert_eq!(
            unmapped.validate(&statuses()),
            Err(SyncError::StatusUnmapped {
                status: "Blocked".into()
            })
        );

        let mut two_primaries = good.clone();
        for e in &mut two_primaries.0 {
            if e.status_id == "11" {
                e.primary = true;
            }
        }
        let err = two_primaries.validate(&statuses()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "`Done` and `Won't Do` are all primary: exactly one Jira status must be primary for `closed`"
        );
        assert_eq!(err.field(), "status_mapping");

        let mut no_primary = good.clone();
        for e in &mut no_primary.0 {
            if e.state == ItemState::Opened {
                e.primary = false;
            }
        }
        assert_eq!(
            no_primary.validate(&statuses()),
            Err(SyncError::PrimaryStatus {
                state: "opened",
                problem: "none of its statuses is primary".into()
            })
        );

        let mut nothing_closed = good.clone();
        for e in &mut nothing_closed.0 {
            e.state = ItemState::Opened;
            e.primary = e.status_id == "1";
        }
        assert!(matches!(
            nothing_closed.validate(&statuses()),
            Err(SyncError::PrimaryStatus { state: "closed", ref problem }) if problem == "no status is mapped to it"
        ));

        let mut twice = good.clone();
        twice.0.push(StatusMapEntry {
            status_id: "3".into(),
            name: String::new(),
            state: ItemState::Closed,
            primary: false,
        });
        assert_eq!(
            twice.validate(&statuses()),
            Err(SyncError::StatusMappedTwice {
                status: "In Progress".into()
            })
        );

        let mut stranger = good;
        stranger.0.push(StatusMapEntry {
            status_id: "404".into(),
            name: String::new(),
            state: ItemState::Closed,
            primary: false,
        });
        assert_eq!(
            stranger.validate(&statuses()),
            Err(SyncError::StatusUnknown {
                status: "404".into()
            })
        );
    }
}
