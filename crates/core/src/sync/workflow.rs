//! Moving a Jira issue through its workflow. Jira only offers the
//! transitions leaving an issue's current status, so Cairn learns the
//! workflow as it reads them (on any issue of the project, per issue type)
//! and plans the shortest known path; each step is checked against the
//! transitions Jira offers at that moment before it is taken.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use serde::{Deserialize, Serialize};

/// A transition Jira offers from some status.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub id: String,
    pub name: String,
    /// The status it leads to.
    pub to: String,
    /// Fields its screen requires (`resolution`, ...).
    #[serde(default)]
    pub required_fields: Vec<String>,
}

/// The transitions known to leave each status of one workflow.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Workflow(BTreeMap<String, Vec<Transition>>);

/// What to do next to bring an issue to a status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// It is there already.
    Arrived,
    /// Take this transition (offered now), then look again.
    Take(Transition),
    /// No known path; the message names both statuses.
    Unreachable,
}

impl Workflow {
    /// Records what Jira offers from `status`, replacing what was known.
    pub fn learn(&mut self, status: &str, offered: &[Transition]) {
        self.0.insert(status.to_owned(), offered.to_vec());
    }

    /// Whether anything is known about `status`.
    pub fn knows(&self, status: &str) -> bool {
        self.0.contains_key(status)
    }

    /// The shortest known chain of transitions from `from` to `to` (empty
    /// when they are the same), or `None`.
    pub fn path(&self, from: &str, to: &str) -> Option<Vec<Transition>> {
        if from == to {
            return Some(Vec::new());
        }
        let mut previous: BTreeMap<&str, (&str, &Transition)> = BTreeMap::new();
        let mut seen = BTreeSet::from([from]);
        let mut queue = VecDeque::from([from]);
        while let Some(status) = queue.pop_front() {
            for t in self.0.get(status).into_iter().flatten() {
                if !seen.insert(t.to.as_str()) {
                    continue;
                }
                previous.insert(t.to.as_str(), (status, t));
                if t.to == to {
                    let mut chain = Vec::new();
                    let mut at = to;
                    while let Some((before, t)) = previous.get(at) {
                        chain.push((*t).clone());
                        at = before;
                    }
                    chain.reverse();
                    return Some(chain);
                }
                queue.push_back(t.to.as_str());
            }
        }
        None
    }

    /// Learns what is offered at `current`, then the next step to `target`.
    pub fn next_step(&mut self, current: &str, offered: &[Transition], target: &str) -> Step {
        self.learn(current, offered);
        if current == target {
            return Step::Arrived;
        }
        match self
            .path(current, target)
            .and_then(|p| p.into_iter().next())
        {
            Some(first) => Step::Take(first),
            None => Step::Unreachable,
        }
    }
}

/// The required fields of `transition` that `defaults` does not fill.
pub fn unfilled_fields<'a>(
    transition: &'a Transition,
    defaults: &BTreeMap<String, String>,
) -> Vec<&'a str> {
    transition
        .required_fields
        .iter()
        .filter(|f| !defaults.contains_key(f.as_str()))
        .map(String::as_str)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(id: &str, to: &str) -> Transition {
        Transition {
            id: id.into(),
            name: format!("to {to}"),
            to: to.into(),
            required_fields: Vec::new(),
        }
    }

    /// To Do (1) -> In Progress (3) -> In Review (4) -> Done (10, needs a
    /// resolution); Blocked (5) only from In Progress; anything back to
    /// To Do.
    fn learned() -> Workflow {
        let mut w = Workflow::default();
        w.learn("1", &[t("11", "3")]);
        w.learn("3", &[t("21", "4"), t("51", "5"), t("1", "1")]);
        let mut done = t("31", "10");
        done.required_fields = vec!["resolution".into()];
        w.learn("4", &[done, t("1", "1")]);
        w.learn("5", &[t("11", "3")]);
        w.learn("10", &[t("1", "1")]);
        w
    }

    #[test]
    fn the_shortest_known_path_is_taken_one_step_at_a_time() {
        let mut w = learned();
        let path: Vec<String> = w
            .path("1", "10")
            .unwrap()
            .into_iter()
            .map(|t| t.id)
            .collect();
        assert_eq!(path, ["11", "21", "31"]);
        assert_eq!(w.path("10", "10"), Some(vec![]));
        assert_eq!(
            w.next_step("1", &[t("11", "3")], "5"),
            Step::Take(t("11", "3"))
        );
        assert_eq!(w.next_step("5", &[t("11", "3")], "5"), Step::Arrived);
    }

    #[test]
    fn what_jira_offers_now_replaces_what_was_known() {
        let mut w = learned();
        // The workflow changed: In Progress now goes straight to Done.
        assert_eq!(
            w.next_step("3", &[t("99", "10")], "10"),
            Step::Take(t("99", "10"))
        );
        // And Blocked lost its way out.
        assert_eq!(w.next_step("5", &[], "10"), Step::Unreachable);
    }

    #[test]
    fn unknown_statuses_are_unreachable() {
        let mut w = Workflow::default();
        assert_eq!(w.next_step("1", &[t("11", "3")], "10"), Step::Unreachable);
        assert!(w.knows("1") && !w.knows("3"));
    }

    #[test]
    fn required_fields_without_a_default_are_named() {
        let w = learned();
        let done = &w.path("4", "10").unwrap()[0];
        assert_eq!(unfilled_fields(done, &BTreeMap::new()), ["resolution"]);
        let defaults = BTreeMap::from([("resolution".to_owned(), "Done".to_owned())]);
        assert!(unfilled_fields(done, &defaults).is_empty());
    }
}
