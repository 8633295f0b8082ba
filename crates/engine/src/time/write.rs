//! Accepting a suggestion: the decision and the intent of the worklog
//! write are committed together before the remote call; the outcome after.
//!
//! Exactly once: the worklog's comment ends with the marker
//! `[cairn:suggestion:<decision id>]`. A write whose outcome is unknown (a
//! timeout, an answer cut off after Jira stored it) stays `intent`; trying
//! it again first reads the issue's worklogs and takes one carrying the
//! marker as the outcome, so it is never logged twice. A refusal (4xx)
//! fails the write at once.
//!
//! GitLab spent time: GitLab's REST API lists no timelogs to look for the
//! marker in, so an interrupted GitLab write is not made again blindly: it
//! is failed with a message asking the person to check the issue.

use cairn_connect::ConnectError;
use cairn_connect::gitlab::ProjectRef;
use cairn_connect::jira::NewWorklog;
use cairn_core::activity::{JiraKey, Target};
use cairn_core::worklogs::{AcceptedWorklog, gitlab_spent_time, has_marker, jira_worklog};
use cairn_store::time::{
    Decision, NewTimeDecision, NewWorklogWrite, WorklogTracker, WorklogWrite, WriteState,
};
use chrono::{DateTime, Utc};

use super::{TimeEngine, WorklogView, decided, worklog_view, zone_of};
use crate::accounts::Authenticated;
use crate::error::EngineError;

/// How a person accepts a suggestion: as is, or edited.
#[derive(Debug, Clone, Default)]
pub struct AcceptInput {
    /// Another length (1 to 1440).
    pub minutes: Option<u32>,
    /// What they did, written with the worklog.
    pub description: Option<String>,
    /// A Jira key for an unassigned suggestion (or to log elsewhere).
    pub target: Option<String>,
}

impl TimeEngine {
    /// Accepts a suggestion of the person's own and writes its worklog.
    /// When the write's outcome is unknown the answer is the error and the
    /// write stays open: [`TimeEngine::retry_write`] finishes it.
    pub async fn accept(
        &self,
        by: &Authenticated,
        user_id: i64,
        key: &str,
        input: AcceptInput,
        now: DateTime<Utc>,
    ) -> Result<WorklogView, EngineError> {
        if by.user.id != user_id {
            return Err(EngineError::NotFound("no such person".to_owned()));
        }
        let person = self
            .store
            .get_time_person(user_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("not connected to GitLab".to_owned()))?;
        let suggestion = self.find_suggestion(&person, key).await?;
        let target = match input.target.as_deref().map(str::trim) {
            Some(text) if !text.is_empty() => Target::jira(
                JiraKey::parse(text)
                    .map_err(|_| EngineError::invalid("target", "not a Jira key such as AE-12"))?,
            ),
            _ => suggestion.target.clone().ok_or_else(|| {
                EngineError::invalid(
                    "target",
                    "this suggestion names no issue: give a Jira key to log it against",
                )
            })?,
        };
        let minutes = input.minutes.unwrap_or(suggestion.minutes);
        let description = input.description.unwrap_or_default();
        let edited = minutes != suggestion.minutes
            || !description.trim().is_empty()
            || Some(&target) != suggestion.target.as_ref();
        let source = self
            .store
            .get_time_source()
            .await?
            .ok_or_else(|| EngineError::invalid("source", "no activity source is set up"))?;
        let (tracker, connection_id) = match &target {
            Target::Jira { .. } => {
                let connection = match (person.person.own_token, person.person.own_connection_id) {
                    (true, Some(own)) => own,
                    _ => source.source.jira_connection_id.ok_or_else(|| {
                        EngineError::invalid(
                            "target",
                            "no Jira connection is set for worklogs on Jira keys",
                        )
                    })?,
                };
                (WorklogTracker::Jira, connection)
            }
            Target::GitLabIssue { .. } => (
                WorklogTracker::Gitlab,
                match (person.person.own_token, person.person.own_connection_id) {
                    (true, Some(own)) => own,
                    _ => source.source.connection_id,
                },
            ),
        };
        let written_for = if person.person.own_token {
            None
        } else {
            Some(by.user.name.clone())
        };
        let mut tx = self.store.begin().await?;
        let decision_id = tx
            .insert_time_decision(
                &NewTimeDecision {
                    user_id,
                    suggestion_key: key.to_owned(),
                    day: suggestion.day,
                    target: Some(target.clone()),
                    decision: if edited {
                        Decision::Edited
                    } else {
                        Decision::Accepted
                    },
                    started_at: suggestion.start,
                    minutes,
                    description: description.clone(),
                },
                now,
            )
            .await
            .map_err(decided)?;
        let accepted = AcceptedWorklog {
            suggestion_id: decision_id,
            start: suggestion.start,
            minutes,
            summary: description,
            written_for,
        };
        accepted
            .validate()
            .map_err(|e| EngineError::invalid(e.field(), e.to_string()))?;
        let write_id = tx
            .insert_worklog_write(
                &NewWorklogWrite {
                    user_id,
                    decision_id,
                    tracker,
                    connection_id,
                    target,
                    started_at: suggestion.start,
                    minutes,
                    comment: accepted.comment(),
                },
                now,
            )
            .await?;
        tx.commit().await?;
        let write = self
            .store
            .get_worklog_write(write_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("worklog write".to_owned()))?;
        self.carry_out(&write, false, &person).await
    }

    /// Finishes a write left open (its outcome unknown): the marker is
    /// looked for first. The person's own, or any for an admin.
    pub async fn retry_write(
        &self,
        by: &Authenticated,
        write_id: i64,
    ) -> Result<WorklogView, EngineError> {
        let write = self
            .store
            .get_worklog_write(write_id)
            .await?
            .filter(|w| w.write.user_id == by.user.id)
            .ok_or_else(|| EngineError::NotFound("no such worklog".to_owned()))?;
        if write.state != WriteState::Intent {
            return Ok(worklog_view(&write));
        }
        let person = self
            .store
            .get_time_person(write.write.user_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("not connected to GitLab".to_owned()))?;
        self.carry_out(&write, true, &person).await
    }

    async fn carry_out(
        &self,
        write: &WorklogWrite,
        again: bool,
        person: &cairn_store::time::TimePerson,
    ) -> Result<WorklogView, EngineError> {
        let outcome = match (&write.write.target, write.write.tracker) {
            (Target::Jira { key }, WorklogTracker::Jira) => {
                self.write_jira(write, key.as_str(), again, person).await
            }
            (Target::GitLabIssue { project, iid }, WorklogTracker::Gitlab) => {
                if again {
                    Err(Outcome::Refused(Refused(
                        "the first attempt's outcome is unknown and GitLab cannot be searched for it: check the issue's time tracking".to_owned(),
                    )))
                } else {
                    self.write_gitlab(write, project, *iid).await
                }
            }
            _ => Err(Outcome::Refused(Refused(
                "the worklog's target and tracker disagree".to_owned(),
            ))),
        };
        let now = Utc::now();
        if outcome.is_ok() {
            // Written with the connection: it works.
            crate::health::worked(self.store.as_ref(), write.write.connection_id, now).await?;
        }
        let mut tx = self.store.begin().await?;
        let result = match outcome {
            Ok(remote_id) => {
                tx.finish_worklog_write(write.id, WriteState::Written, Some(&remote_id), None, now)
                    .await?;
                Ok(())
            }
            Err(Outcome::Refused(Refused(why))) => {
                tx.finish_worklog_write(write.id, WriteState::Failed, None, Some(&why), now)
                    .await?;
                Ok(())
            }
            Err(Outcome::Unknown(error)) => Err(error),
        };
        tx.commit().await?;
        metrics::counter!("cairn_time_worklogs_total", "tracker" => write.write.tracker.as_str(), "outcome" => if result.is_ok() { "finished" } else { "unknown" })
            .increment(1);
        result?;
        let done = self
            .store
            .get_worklog_write(write.id)
            .await?
            .ok_or_else(|| EngineError::NotFound("worklog write".to_owned()))?;
        Ok(worklog_view(&done))
    }

    async fn write_jira(
        &self,
        write: &WorklogWrite,
        key: &str,
        again: bool,
        person: &cairn_store::time::TimePerson,
    ) -> Result<String, Outcome> {
        let client = self
            .jira_client(write.write.connection_id)
            .await
            .map_err(Outcome::Unknown)?;
        let marker_id = write.write.decision_id;
        if again {
            let logs = client.worklogs(key).await.map_err(unknown_or_refused)?;
            if let Some(found) = logs
                .iter()
                .find(|w| has_marker(&w.comment.to_string(), marker_id))
            {
                return Ok(found.id.clone().unwrap_or_default());
            }
        }
        let zone = zone_of(person).map_err(Outcome::Unknown)?;
        let accepted = AcceptedWorklog {
            suggestion_id: marker_id,
            start: write.write.started_at,
            minutes: write.write.minutes,
            summary: String::new(),
            written_for: None,
        };
        // The stored comment is what is written; `jira_worklog` checks the
        // length and is the one place `started` is formatted in the zone.
        let planned =
            jira_worklog(&accepted, zone).map_err(|e| Outcome::Refused(Refused(e.to_string())))?;
        let started = chrono::DateTime::parse_from_str(&planned.started, "%Y-%m-%dT%H:%M:%S%.3f%z")
            .map_err(|e| Outcome::Refused(Refused(e.to_string())))?;
        let created = client
            .add_worklog(
                key,
                &NewWorklog {
                    seconds: i64::from(planned.time_spent_seconds),
                    started,
                    comment: Some(write.write.comment.clone()),
                    adjust_estimate: None,
                },
            )
            .await
            .map_err(unknown_or_refused)?;
        Ok(created.id.unwrap_or_default())
    }

    async fn write_gitlab(
        &self,
        write: &WorklogWrite,
        project: &str,
        iid: u64,
    ) -> Result<String, Outcome> {
        let client = self
            .gitlab_client(write.write.connection_id)
            .await
            .map_err(Outcome::Unknown)?;
        let accepted = AcceptedWorklog {
            suggestion_id: write.write.decision_id,
            start: write.write.started_at,
            minutes: write.write.minutes,
            summary: String::new(),
            written_for: None,
        };
        let spent =
            gitlab_spent_time(&accepted).map_err(|e| Outcome::Refused(Refused(e.to_string())))?;
        client
            .add_spent_time(
                &ProjectRef::Path(project.to_owned()),
                iid,
                &spent.duration,
                Some(&write.write.comment),
            )
            .await
            .map_err(unknown_or_refused)?;
        Ok(format!("{project}#{iid}"))
    }
}

/// A tracker's refusal: the write is failed, never tried again blindly.
struct Refused(String);

enum Outcome {
    Refused(Refused),
    /// The write may or may not have happened: left open.
    Unknown(EngineError),
}

fn unknown_or_refused(error: ConnectError) -> Outcome {
    match error.status() {
        // 429 is "not now", not a refusal.
        Some(status) if (400..500).contains(&status) && status != 429 => {
            let d = error.diagnosis();
            Outcome::Refused(Refused(format!("{} {}", d.summary, d.hint)))
        }
        _ => Outcome::Unknown(EngineError::Upstream(error.diagnosis())),
    }
}
