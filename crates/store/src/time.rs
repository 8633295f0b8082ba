//! Time: the organisation's GitLab activity source, people linked to GitLab
//! accounts, their activity, what they decided about suggestions and the
//! worklogs written for them. Suggestions themselves are not stored: they
//! are computed on read from the activity (`cairn_core::worklogs`), so only
//! decisions (by the suggestion's stable key) are kept. Written once as a
//! macro, like sync, and expanded in each backend's module.

use async_trait::async_trait;
use cairn_core::activity::{ActivityKind, Reference, Target};
use cairn_core::worklogs::WorklogSettings;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::{Result, StoreError};

/// A GitLab project the source watches, with the token's role on it (so
/// an admin sees why a project is missing: only Owner or Maintainer may
/// add hooks).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WatchedProject {
    pub id: i64,
    pub path: String,
    /// `owner`, `maintainer`, `developer`, ...
    pub role: String,
}

/// A project hook Cairn registered, removed again when the organisation
/// disconnects.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RegisteredHook {
    pub project_id: i64,
    pub hook_id: String,
}

/// What Jira development links do for one GitLab connection and one Jira
/// connection (a stored [`DevLinkPair`] turns them on): a Jira key
/// mentioned in a commit, merge request or comment adds one remote link to
/// the Jira issue, plus a comment if `comment`; with `transition`, a
/// closing phrase landing on the default branch moves the issue to done.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct DevLinks {
    pub comment: bool,
    pub transition: bool,
}

/// Development links turned on for a GitLab connection and a Jira
/// connection.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DevLinkPair {
    pub id: i64,
    pub gitlab_connection_id: i64,
    pub jira_connection_id: i64,
    pub links: DevLinks,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What an admin sets on the organisation's activity source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeSourceSettings {
    pub connection_id: i64,
    /// Where worklogs on Jira keys are written (with the connection's
    /// credentials, "for Name", unless the person linked their own).
    pub jira_connection_id: Option<i64>,
    pub enabled: bool,
    /// Watch every project the token sees as Owner or Maintainer (then
    /// `projects` is what was found when last listed).
    pub watch_all: bool,
    pub projects: Vec<WatchedProject>,
    pub settings: WorklogSettings,
}

/// The stored source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeSource {
    #[serde(flatten)]
    pub source: TimeSourceSettings,
    pub registered_hooks: Vec<RegisteredHook>,
    /// When the 30-day backfill last finished.
    pub backfilled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// How a person came to be linked to a GitLab account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchedBy {
    /// An admin's bulk connect, by the account's email.
    Email,
    /// An admin's bulk connect, by username (no email matched).
    Username,
    /// An admin picked the account.
    Manual,
    /// The person connected themselves.
    #[serde(rename = "self")]
    SelfConnected,
}

impl MatchedBy {
    pub fn as_str(self) -> &'static str {
        match self {
            MatchedBy::Email => "email",
            MatchedBy::Username => "username",
            MatchedBy::Manual => "manual",
            MatchedBy::SelfConnected => "self",
        }
    }

    pub fn parse(text: &str) -> Option<MatchedBy> {
        Some(match text {
            "email" => MatchedBy::Email,
            "username" => MatchedBy::Username,
            "manual" => MatchedBy::Manual,
            "self" => MatchedBy::SelfConnected,
            _ => return None,
        })
    }
}

/// A Cairn user linked to a GitLab account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTimePerson {
    pub user_id: i64,
    pub gitlab_user_id: i64,
    pub gitlab_username: String,
    /// Lower-cased; commit author emails are matched against it.
    pub gitlab_email: Option<String>,
    /// Worklogs are written with the person's own connection (as them)
    /// rather than the source's ("for Name").
    pub own_token: bool,
    pub own_connection_id: Option<i64>,
    /// IANA zone their days are counted in.
    pub time_zone: String,
    pub matched_by: MatchedBy,
}

/// A stored link.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimePerson {
    #[serde(flatten)]
    pub person: NewTimePerson,
    pub connected_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// Where an activity was learned from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActivitySource {
    /// A project hook (the fast path).
    Hook,
    /// The Events API (backfill and backstop).
    Events,
    /// The Commits API (pushes of more than 20 commits, or not delivered).
    Commits,
}

impl ActivitySource {
    pub fn as_str(self) -> &'static str {
        match self {
            ActivitySource::Hook => "hook",
            ActivitySource::Events => "events",
            ActivitySource::Commits => "commits",
        }
    }

    pub fn parse(text: &str) -> Option<ActivitySource> {
        Some(match text {
            "hook" => ActivitySource::Hook,
            "events" => ActivitySource::Events,
            "commits" => ActivitySource::Commits,
            _ => return None,
        })
    }
}

/// An activity of a person, ready to store.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewActivity {
    pub user_id: i64,
    pub project_id: i64,
    pub project_path: String,
    pub kind: ActivityKind,
    /// When it counts (a commit's author date), UTC.
    pub occurred_at: DateTime<Utc>,
    /// `Activity::fingerprint`: unique per person.
    pub fingerprint: String,
    pub target: Option<Target>,
    pub refs: Vec<Reference>,
    pub source_url: Option<String>,
    /// One line for the feed: the commit's first line, the MR title.
    pub title: String,
    pub source: ActivitySource,
    /// The whole `cairn_core::activity::Activity`, as JSON.
    pub detail: serde_json::Value,
}

/// A stored activity.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredActivity {
    pub id: i64,
    #[serde(flatten)]
    pub activity: NewActivity,
    pub created_at: DateTime<Utc>,
}

/// What a person did with a suggestion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Decision {
    /// Accepted as suggested.
    Accepted,
    /// Accepted with another length or description.
    Edited,
    Dismissed,
}

impl Decision {
    pub fn as_str(self) -> &'static str {
        match self {
            Decision::Accepted => "accepted",
            Decision::Edited => "edited",
            Decision::Dismissed => "dismissed",
        }
    }

    pub fn parse(text: &str) -> Option<Decision> {
        Some(match text {
            "accepted" => Decision::Accepted,
            "edited" => Decision::Edited,
            "dismissed" => Decision::Dismissed,
            _ => return None,
        })
    }
}

/// A decision about one suggestion (by `Suggestion::key`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewTimeDecision {
    pub user_id: i64,
    pub suggestion_key: String,
    pub day: NaiveDate,
    pub target: Option<Target>,
    pub decision: Decision,
    /// What was accepted (or what was suggested, for a dismissal).
    pub started_at: DateTime<Utc>,
    pub minutes: u32,
    pub description: String,
}

/// A stored decision; its id is the suggestion id of the worklog marker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TimeDecision {
    pub id: i64,
    #[serde(flatten)]
    pub decision: NewTimeDecision,
    pub created_at: DateTime<Utc>,
}

/// Where a worklog is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WorklogTracker {
    Jira,
    Gitlab,
}

impl WorklogTracker {
    pub fn as_str(self) -> &'static str {
        match self {
            WorklogTracker::Jira => "jira",
            WorklogTracker::Gitlab => "gitlab",
        }
    }

    pub fn parse(text: &str) -> Option<WorklogTracker> {
        Some(match text {
            "jira" => WorklogTracker::Jira,
            "gitlab" => WorklogTracker::Gitlab,
            _ => return None,
        })
    }
}

/// How a worklog write stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WriteState {
    /// About to be written, or interrupted: look for the marker first.
    Intent,
    Written,
    Failed,
}

impl WriteState {
    pub fn as_str(self) -> &'static str {
        match self {
            WriteState::Intent => "intent",
            WriteState::Written => "written",
            WriteState::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<WriteState> {
        Some(match text {
            "intent" => WriteState::Intent,
            "written" => WriteState::Written,
            "failed" => WriteState::Failed,
            _ => return None,
        })
    }
}

/// A worklog about to be written for an accepted decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NewWorklogWrite {
    pub user_id: i64,
    pub decision_id: i64,
    pub tracker: WorklogTracker,
    pub connection_id: i64,
    pub target: Target,
    pub started_at: DateTime<Utc>,
    pub minutes: u32,
    /// The comment as written, marker included.
    pub comment: String,
}

/// A worklog write and how it went.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WorklogWrite {
    pub id: i64,
    #[serde(flatten)]
    pub write: NewWorklogWrite,
    pub state: WriteState,
    pub remote_id: Option<String>,
    pub error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
}

/// One person's activity in one project over a period: the admin's totals
/// (counts, never the items).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ActivityTotal {
    pub user_id: i64,
    pub project_path: String,
    pub activities: i64,
}

/// What disconnecting removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Disconnected {
    pub people: u64,
    pub activities: u64,
    pub decisions: u64,
}

/// Reading time state.
#[async_trait]
pub trait TimeStore: Send + Sync {
    async fn get_time_source(&self) -> Result<Option<TimeSource>>;
    /// Every pair with development links, by id.
    async fn list_dev_link_pairs(&self) -> Result<Vec<DevLinkPair>>;
    /// The pairs whose GitLab side is `gitlab_connection_id`.
    async fn dev_link_pairs_of(&self, gitlab_connection_id: i64) -> Result<Vec<DevLinkPair>>;

    async fn get_time_person(&self, user_id: i64) -> Result<Option<TimePerson>>;
    /// Every linked person, by user id.
    async fn list_time_people(&self) -> Result<Vec<TimePerson>>;
    /// The person GitLab's author data names, in this order: the GitLab
    /// user id, then the email (lower-cased; the account's or the Cairn
    /// user's), then the username.
    async fn find_time_person(
        &self,
        gitlab_user_id: Option<i64>,
        email: Option<&str>,
        username: Option<&str>,
    ) -> Result<Option<TimePerson>>;

    /// A person's activities counting in `[from, to)`, in time order.
    async fn list_activities(
        &self,
        user_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<StoredActivity>>;
    /// How many activities a person has (all time).
    async fn count_activities(&self, user_id: i64) -> Result<i64>;
    /// Activities counting in `[from, to)` per person and project.
    async fn activity_totals(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<ActivityTotal>>;

    /// A person's decisions about days `from..=to`.
    async fn list_time_decisions(
        &self,
        user_id: i64,
        from: NaiveDate,
        to: NaiveDate,
    ) -> Result<Vec<TimeDecision>>;
    async fn get_time_decision(&self, id: i64) -> Result<Option<TimeDecision>>;

    async fn get_worklog_write(&self, id: i64) -> Result<Option<WorklogWrite>>;
    async fn worklog_write_for_decision(&self, decision_id: i64) -> Result<Option<WorklogWrite>>;
    /// A person's writes started in `[from, to)`, in time order.
    async fn list_worklog_writes(
        &self,
        user_id: i64,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<WorklogWrite>>;
    /// Writes still in `intent` (interrupted), oldest first.
    async fn open_worklog_writes(&self, limit: u32) -> Result<Vec<WorklogWrite>>;
}

/// Time changes, made inside a [`crate::StoreTx`].
#[async_trait]
pub trait TimeTx: Send {
    /// Creates or replaces the source; hooks and backfill time are kept.
    async fn save_time_source(
        &mut self,
        source: &TimeSourceSettings,
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn save_time_source_hooks(
        &mut self,
        hooks: &[RegisteredHook],
        now: DateTime<Utc>,
    ) -> Result<()>;
    async fn mark_time_backfilled(&mut self, at: DateTime<Utc>) -> Result<()>;
    /// Turns development links on (or changes them) for a pair of
    /// connections.
    async fn save_dev_link_pair(
        &mut self,
        gitlab_connection_id: i64,
        jira_connection_id: i64,
        links: DevLinks,
        now: DateTime<Utc>,
    ) -> Result<DevLinkPair>;
    /// Turns them off; false when there was no such pair.
    async fn delete_dev_link_pair(&mut self, id: i64) -> Result<bool>;
    /// Removes the source and everyone's links, activity and decisions
    /// that wrote nothing (written worklogs and their decisions stay).
    async fn delete_time_source(&mut self) -> Result<Disconnected>;

    /// Links a person (replacing their link); a GitLab account linked to
    /// someone else is refused ([`StoreError::Conflict`] on
    /// `gitlab_user_id`).
    async fn save_time_person(&mut self, person: &NewTimePerson, now: DateTime<Utc>) -> Result<()>;
    /// Unlinks a person: their activity and decisions that wrote nothing
    /// go; written worklogs stay.
    async fn delete_time_person(&mut self, user_id: i64) -> Result<Disconnected>;

    /// Stores an activity; `None` when the person has it already (same
    /// fingerprint).
    async fn insert_activity(
        &mut self,
        activity: &NewActivity,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>>;

    /// Records a decision; a second one for the same suggestion key is
    /// refused ([`StoreError::Conflict`] on `suggestion`).
    async fn insert_time_decision(
        &mut self,
        decision: &NewTimeDecision,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// Undoes a dismissal (accepted decisions with a write stay).
    async fn delete_time_decision(&mut self, id: i64) -> Result<bool>;

    /// The intent, committed before the remote write.
    async fn insert_worklog_write(
        &mut self,
        write: &NewWorklogWrite,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn finish_worklog_write(
        &mut self,
        id: i64,
        state: WriteState,
        remote_id: Option<&str>,
        error: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<()>;
}

pub(crate) fn target_to_db(target: Option<&Target>) -> Result<Option<String>> {
    target
        .map(|t| {
            serde_json::to_string(t).map_err(|e| StoreError::InvalidData(format!("target: {e}")))
        })
        .transpose()
}

pub(crate) fn target_from_db(text: Option<String>) -> Result<Option<Target>> {
    text.map(|t| {
        serde_json::from_str(&t).map_err(|e| StoreError::InvalidData(format!("target: {e}")))
    })
    .transpose()
}

pub(crate) fn minutes_from_db(minutes: i64) -> Result<u32> {
    u32::try_from(minutes).map_err(|_| StoreError::InvalidData(format!("minutes {minutes}")))
}

pub(crate) fn day_from_db(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text, "%Y-%m-%d")
        .map_err(|e| StoreError::InvalidData(format!("day `{text}`: {e}")))
}

pub(crate) fn invalid(what: &str, text: &str) -> StoreError {
    StoreError::InvalidData(format!("{what} `{text}`"))
}

macro_rules! impl_time {
    ($store:ty, $tx:ty) => {
        const TIME_SOURCE_COLUMNS: &str = "connection_id, jira_connection_id, enabled, watch_all, projects, settings, \
            registered_hooks, backfilled_at, created_at, updated_at";
        const DEV_LINK_COLUMNS: &str =
            "id, gitlab_connection_id, jira_connection_id, comment, transition, created_at, updated_at";

        fn dev_link_pair_from_row(row: &DbRow) -> Result<crate::time::DevLinkPair> {
            Ok(crate::time::DevLinkPair {
                id: row.try_get("id")?,
                gitlab_connection_id: row.try_get("gitlab_connection_id")?,
                jira_connection_id: row.try_get("jira_connection_id")?,
                links: crate::time::DevLinks {
                    comment: row.try_get("comment")?,
                    transition: row.try_get("transition")?,
                },
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }
        const TIME_PERSON_COLUMNS: &str = "user_id, gitlab_user_id, gitlab_username, gitlab_email, own_token, \
            own_connection_id, time_zone, matched_by, connected_at, updated_at";
        const ACTIVITY_COLUMNS: &str = "id, user_id, project_id, project_path, kind, occurred_at, fingerprint, \
            target, refs, source_url, title, source, detail, created_at";
        const DECISION_COLUMNS: &str =
            "id, user_id, suggestion_key, day, target, decision, started_at, minutes, description, created_at";
        const WRITE_COLUMNS: &str = "id, user_id, decision_id, tracker, connection_id, target, started_at, \
            minutes, comment, state, remote_id, error, created_at, finished_at";

        fn time_source_from_row(row: &DbRow) -> Result<crate::time::TimeSource> {
            use crate::sync::from_json;
            Ok(crate::time::TimeSource {
                source: crate::time::TimeSourceSettings {
                    connection_id: row.try_get("connection_id")?,
                    jira_connection_id: row.try_get("jira_connection_id")?,
                    enabled: row.try_get("enabled")?,
                    watch_all: row.try_get("watch_all")?,
                    projects: from_json("watched projects", json_from_db(row.try_get("projects")?)?)?,
                    settings: from_json("worklog settings", json_from_db(row.try_get("settings")?)?)?,
                },
                registered_hooks: from_json(
                    "registered hooks",
                    json_from_db(row.try_get("registered_hooks")?)?,
                )?,
                backfilled_at: opt_from_db(row.try_get("backfilled_at")?)?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn time_person_from_row(row: &DbRow) -> Result<crate::time::TimePerson> {
            let matched: String = row.try_get("matched_by")?;
            Ok(crate::time::TimePerson {
                person: crate::time::NewTimePerson {
                    user_id: row.try_get("user_id")?,
                    gitlab_user_id: row.try_get("gitlab_user_id")?,
                    gitlab_username: row.try_get("gitlab_username")?,
                    gitlab_email: row.try_get("gitlab_email")?,
                    own_token: row.try_get("own_token")?,
                    own_connection_id: row.try_get("own_connection_id")?,
                    time_zone: row.try_get("time_zone")?,
                    matched_by: crate::time::MatchedBy::parse(&matched)
                        .ok_or_else(|| crate::time::invalid("matched_by", &matched))?,
                },
                connected_at: from_db(row.try_get("connected_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn activity_from_row(row: &DbRow) -> Result<crate::time::StoredActivity> {
            use crate::sync::from_json;
            let kind: String = row.try_get("kind")?;
            let source: String = row.try_get("source")?;
            Ok(crate::time::StoredActivity {
                id: row.try_get("id")?,
                activity: crate::time::NewActivity {
                    user_id: row.try_get("user_id")?,
                    project_id: row.try_get("project_id")?,
                    project_path: row.try_get("project_path")?,
                    kind: cairn_core::activity::ActivityKind::parse(&kind)
                        .ok_or_else(|| crate::time::invalid("activity kind", &kind))?,
                    occurred_at: from_db(row.try_get("occurred_at")?)?,
                    fingerprint: row.try_get("fingerprint")?,
                    target: crate::time::target_from_db(row.try_get("target")?)?,
                    refs: from_json("activity refs", json_from_db(row.try_get("refs")?)?)?,
                    source_url: row.try_get("source_url")?,
                    title: row.try_get("title")?,
                    source: crate::time::ActivitySource::parse(&source)
                        .ok_or_else(|| crate::time::invalid("activity source", &source))?,
                    detail: json_from_db(row.try_get("detail")?)?,
                },
                created_at: from_db(row.try_get("created_at")?)?,
            })
        }

        fn decision_from_row(row: &DbRow) -> Result<crate::time::TimeDecision> {
            let day: String = row.try_get("day")?;
            let decision: String = row.try_get("decision")?;
            Ok(crate::time::TimeDecision {
                id: row.try_get("id")?,
                decision: crate::time::NewTimeDecision {
                    user_id: row.try_get("user_id")?,
                    suggestion_key: row.try_get("suggestion_key")?,
                    day: crate::time::day_from_db(&day)?,
                    target: crate::time::target_from_db(row.try_get("target")?)?,
                    decision: crate::time::Decision::parse(&decision)
                        .ok_or_else(|| crate::time::invalid("decision", &decision))?,
                    started_at: from_db(row.try_get("started_at")?)?,
                    minutes: crate::time::minutes_from_db(row.try_get("minutes")?)?,
                    description: row.try_get("description")?,
                },
                created_at: from_db(row.try_get("created_at")?)?,
            })
        }

        fn write_from_row(row: &DbRow) -> Result<crate::time::WorklogWrite> {
            let tracker: String = row.try_get("tracker")?;
            let state: String = row.try_get("state")?;
            let target: Option<String> = row.try_get("target")?;
            Ok(crate::time::WorklogWrite {
                id: row.try_get("id")?,
                write: crate::time::NewWorklogWrite {
                    user_id: row.try_get("user_id")?,
                    decision_id: row.try_get("decision_id")?,
                    tracker: crate::time::WorklogTracker::parse(&tracker)
                        .ok_or_else(|| crate::time::invalid("worklog tracker", &tracker))?,
                    connection_id: row.try_get("connection_id")?,
                    target: crate::time::target_from_db(target)?
                        .ok_or_else(|| crate::time::invalid("worklog target", ""))?,
                    started_at: from_db(row.try_get("started_at")?)?,
                    minutes: crate::time::minutes_from_db(row.try_get("minutes")?)?,
                    comment: row.try_get("comment")?,
                },
                state: crate::time::WriteState::parse(&state)
                    .ok_or_else(|| crate::time::invalid("write state", &state))?,
                remote_id: row.try_get("remote_id")?,
                error: row.try_get("error")?,
                created_at: from_db(row.try_get("created_at")?)?,
                finished_at: opt_from_db(row.try_get("finished_at")?)?,
            })
        }

        #[async_trait::async_trait]
        impl crate::time::TimeStore for $store {
            async fn get_time_source(&self) -> Result<Option<crate::time::TimeSource>> {
                let sql = format!("SELECT {TIME_SOURCE_COLUMNS} FROM time_sources WHERE id = 1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&self.pool).await?;
                row.as_ref().map(time_source_from_row).transpose()
            }

            async fn list_dev_link_pairs(&self) -> Result<Vec<crate::time::DevLinkPair>> {
                let sql = format!("SELECT {DEV_LINK_COLUMNS} FROM dev_links ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                rows.iter().map(dev_link_pair_from_row).collect()
            }

            async fn dev_link_pairs_of(&self, gitlab_connection_id: i64) -> Result<Vec<crate::time::DevLinkPair>> {
                let sql = format!(
                    "SELECT {DEV_LINK_COLUMNS} FROM dev_links WHERE gitlab_connection_id = $1 ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(gitlab_connection_id)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(dev_link_pair_from_row).collect()
            }

            async fn get_time_person(&self, user_id: i64) -> Result<Option<crate::time::TimePerson>> {
                let sql = format!("SELECT {TIME_PERSON_COLUMNS} FROM time_people WHERE user_id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_optional(&self.pool).await?;
                row.as_ref().map(time_person_from_row).transpose()
            }

            async fn list_time_people(&self) -> Result<Vec<crate::time::TimePerson>> {
                let sql = format!("SELECT {TIME_PERSON_COLUMNS} FROM time_people ORDER BY user_id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
                rows.iter().map(time_person_from_row).collect()
            }

            async fn find_time_person(
                &self,
                gitlab_user_id: Option<i64>,
                email: Option<&str>,
                username: Option<&str>,
            ) -> Result<Option<crate::time::TimePerson>> {
                if let Some(id) = gitlab_user_id {
                    let sql = format!("SELECT {TIME_PERSON_COLUMNS} FROM time_people WHERE gitlab_user_id = $1");
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                    if let Some(row) = row {
                        return time_person_from_row(&row).map(Some);
                    }
                }
                if let Some(email) = email.map(|e| e.trim().to_lowercase()).filter(|e| !e.is_empty()) {
                    let sql = format!(
                        "SELECT {TIME_PERSON_COLUMNS} FROM time_people WHERE gitlab_email = $1 \
                         OR user_id IN (SELECT id FROM users WHERE email = $1) ORDER BY user_id LIMIT 1"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(email).fetch_optional(&self.pool).await?;
                    if let Some(row) = row {
                        return time_person_from_row(&row).map(Some);
                    }
                }
                if let Some(username) = username.filter(|u| !u.trim().is_empty()) {
                    let sql = format!(
                        "SELECT {TIME_PERSON_COLUMNS} FROM time_people WHERE gitlab_username = $1 \
                         ORDER BY user_id LIMIT 1"
                    );
                    let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                        .bind(username.trim())
                        .fetch_optional(&self.pool)
                        .await?;
                    if let Some(row) = row {
                        return time_person_from_row(&row).map(Some);
                    }
                }
                Ok(None)
            }

            async fn list_activities(
                &self,
                user_id: i64,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<Vec<crate::time::StoredActivity>> {
                let sql = format!(
                    "SELECT {ACTIVITY_COLUMNS} FROM time_activities WHERE user_id = $1 AND occurred_at >= $2 \
                     AND occurred_at < $3 ORDER BY occurred_at, id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(to_db(from))
                    .bind(to_db(to))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(activity_from_row).collect()
            }

            async fn count_activities(&self, user_id: i64) -> Result<i64> {
                let n = sqlx::query_scalar("SELECT count(*) FROM time_activities WHERE user_id = $1")
                    .bind(user_id)
                    .fetch_one(&self.pool)
                    .await?;
                Ok(n)
            }

            async fn activity_totals(
                &self,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<Vec<crate::time::ActivityTotal>> {
                let rows = sqlx::query(
                    "SELECT user_id, project_path, count(*) AS n FROM time_activities \
                     WHERE occurred_at >= $1 AND occurred_at < $2 GROUP BY user_id, project_path \
                     ORDER BY user_id, project_path",
                )
                .bind(to_db(from))
                .bind(to_db(to))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        Ok(crate::time::ActivityTotal {
                            user_id: row.try_get("user_id")?,
                            project_path: row.try_get("project_path")?,
                            activities: row.try_get("n")?,
                        })
                    })
                    .collect()
            }

            async fn list_time_decisions(
                &self,
                user_id: i64,
                from: chrono::NaiveDate,
                to: chrono::NaiveDate,
            ) -> Result<Vec<crate::time::TimeDecision>> {
                let sql = format!(
                    "SELECT {DECISION_COLUMNS} FROM time_decisions WHERE user_id = $1 AND day >= $2 AND day <= $3 \
                     ORDER BY day, id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(from.format("%Y-%m-%d").to_string())
                    .bind(to.format("%Y-%m-%d").to_string())
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(decision_from_row).collect()
            }

            async fn get_time_decision(&self, id: i64) -> Result<Option<crate::time::TimeDecision>> {
                let sql = format!("SELECT {DECISION_COLUMNS} FROM time_decisions WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(decision_from_row).transpose()
            }

            async fn get_worklog_write(&self, id: i64) -> Result<Option<crate::time::WorklogWrite>> {
                let sql = format!("SELECT {WRITE_COLUMNS} FROM time_worklog_writes WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(write_from_row).transpose()
            }

            async fn worklog_write_for_decision(&self, decision_id: i64) -> Result<Option<crate::time::WorklogWrite>> {
                let sql = format!("SELECT {WRITE_COLUMNS} FROM time_worklog_writes WHERE decision_id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(decision_id).fetch_optional(&self.pool).await?;
                row.as_ref().map(write_from_row).transpose()
            }

            async fn list_worklog_writes(
                &self,
                user_id: i64,
                from: DateTime<Utc>,
                to: DateTime<Utc>,
            ) -> Result<Vec<crate::time::WorklogWrite>> {
                let sql = format!(
                    "SELECT {WRITE_COLUMNS} FROM time_worklog_writes WHERE user_id = $1 AND started_at >= $2 \
                     AND started_at < $3 ORDER BY started_at, id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(user_id)
                    .bind(to_db(from))
                    .bind(to_db(to))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(write_from_row).collect()
            }

            async fn open_worklog_writes(&self, limit: u32) -> Result<Vec<crate::time::WorklogWrite>> {
                let sql = format!(
                    "SELECT {WRITE_COLUMNS} FROM time_worklog_writes WHERE state = 'intent' ORDER BY id LIMIT $1"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(write_from_row).collect()
            }
        }

        #[async_trait::async_trait]
        impl crate::time::TimeTx for $tx {
            async fn save_time_source(
                &mut self,
                s: &crate::time::TimeSourceSettings,
                now: DateTime<Utc>,
            ) -> Result<()> {
                use crate::sync::to_json;
                sqlx::query(
                    "INSERT INTO time_sources (id, connection_id, enabled, watch_all, projects, settings, \
                     registered_hooks, created_at, updated_at, jira_connection_id) \
                     VALUES (1, $1, $2, $3, $4, $5, $6, $7, $7, $8) \
                     ON CONFLICT (id) DO UPDATE SET connection_id = excluded.connection_id, \
                     jira_connection_id = excluded.jira_connection_id, \
                     enabled = excluded.enabled, watch_all = excluded.watch_all, projects = excluded.projects, \
                     settings = excluded.settings, updated_at = excluded.updated_at",
                )
                .bind(s.connection_id)
                .bind(s.enabled)
                .bind(s.watch_all)
                .bind(json_to_db(&to_json("watched projects", &s.projects)?))
                .bind(json_to_db(&to_json("worklog settings", &s.settings)?))
                .bind(json_to_db(&serde_json::json!([])))
                .bind(to_db(now))
                .bind(s.jira_connection_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn save_dev_link_pair(
                &mut self,
                gitlab_connection_id: i64,
                jira_connection_id: i64,
                links: crate::time::DevLinks,
                now: DateTime<Utc>,
            ) -> Result<crate::time::DevLinkPair> {
                let sql = format!(
                    "INSERT INTO dev_links (gitlab_connection_id, jira_connection_id, comment, transition, \
                     created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
                     ON CONFLICT (gitlab_connection_id, jira_connection_id) DO UPDATE SET \
                     comment = excluded.comment, transition = excluded.transition, updated_at = excluded.updated_at \
                     RETURNING {DEV_LINK_COLUMNS}"
                );
                let row = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(gitlab_connection_id)
                    .bind(jira_connection_id)
                    .bind(links.comment)
                    .bind(links.transition)
                    .bind(to_db(now))
                    .fetch_one(&mut *self.tx)
                    .await?;
                dev_link_pair_from_row(&row)
            }

            async fn delete_dev_link_pair(&mut self, id: i64) -> Result<bool> {
                let done = sqlx::query("DELETE FROM dev_links WHERE id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(done.rows_affected() > 0)
            }

            async fn save_time_source_hooks(
                &mut self,
                hooks: &[crate::time::RegisteredHook],
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query("UPDATE time_sources SET registered_hooks = $1, updated_at = $2 WHERE id = 1")
                    .bind(json_to_db(&crate::sync::to_json("registered hooks", &hooks)?))
                    .bind(to_db(now))
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn mark_time_backfilled(&mut self, at: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE time_sources SET backfilled_at = $1 WHERE id = 1")
                    .bind(to_db(at))
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn delete_time_source(&mut self) -> Result<crate::time::Disconnected> {
                let activities = sqlx::query("DELETE FROM time_activities")
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                let decisions = sqlx::query(
                    "DELETE FROM time_decisions WHERE id NOT IN (SELECT decision_id FROM time_worklog_writes)",
                )
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                let people = sqlx::query("DELETE FROM time_people").execute(&mut *self.tx).await?.rows_affected();
                sqlx::query("DELETE FROM time_sources").execute(&mut *self.tx).await?;
                Ok(crate::time::Disconnected { people, activities, decisions })
            }

            async fn save_time_person(
                &mut self,
                p: &crate::time::NewTimePerson,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "INSERT INTO time_people (user_id, gitlab_user_id, gitlab_username, gitlab_email, own_token, \
                     own_connection_id, time_zone, matched_by, connected_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                     ON CONFLICT (user_id) DO UPDATE SET gitlab_user_id = excluded.gitlab_user_id, \
                     gitlab_username = excluded.gitlab_username, gitlab_email = excluded.gitlab_email, \
                     own_token = excluded.own_token, own_connection_id = excluded.own_connection_id, \
                     time_zone = excluded.time_zone, matched_by = excluded.matched_by, \
                     updated_at = excluded.updated_at",
                )
                .bind(p.user_id)
                .bind(p.gitlab_user_id)
                .bind(&p.gitlab_username)
                .bind(p.gitlab_email.as_ref().map(|e| e.trim().to_lowercase()))
                .bind(p.own_token)
                .bind(p.own_connection_id)
                .bind(&p.time_zone)
                .bind(p.matched_by.as_str())
                .bind(to_db(now))
                .execute(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("gitlab_user_id"))?;
                Ok(())
            }

            async fn delete_time_person(&mut self, user_id: i64) -> Result<crate::time::Disconnected> {
                let activities = sqlx::query("DELETE FROM time_activities WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                let decisions = sqlx::query(
                    "DELETE FROM time_decisions WHERE user_id = $1 \
                     AND id NOT IN (SELECT decision_id FROM time_worklog_writes WHERE user_id = $1)",
                )
                .bind(user_id)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                let people = sqlx::query("DELETE FROM time_people WHERE user_id = $1")
                    .bind(user_id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                Ok(crate::time::Disconnected { people, activities, decisions })
            }

            async fn insert_activity(
                &mut self,
                a: &crate::time::NewActivity,
                now: DateTime<Utc>,
            ) -> Result<Option<i64>> {
                let id = sqlx::query_scalar(
                    "INSERT INTO time_activities (user_id, project_id, project_path, kind, occurred_at, fingerprint, \
                     target, refs, source_url, title, source, detail, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
                     ON CONFLICT (user_id, fingerprint) DO NOTHING RETURNING id",
                )
                .bind(a.user_id)
                .bind(a.project_id)
                .bind(&a.project_path)
                .bind(a.kind.as_str())
                .bind(to_db(a.occurred_at))
                .bind(&a.fingerprint)
                .bind(crate::time::target_to_db(a.target.as_ref())?)
                .bind(json_to_db(&crate::sync::to_json("activity refs", &a.refs)?))
                .bind(&a.source_url)
                .bind(&a.title)
                .bind(a.source.as_str())
                .bind(json_to_db(&a.detail))
                .bind(to_db(now))
                .fetch_optional(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn insert_time_decision(
                &mut self,
                d: &crate::time::NewTimeDecision,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO time_decisions (user_id, suggestion_key, day, target, decision, started_at, minutes, \
                     description, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
                )
                .bind(d.user_id)
                .bind(&d.suggestion_key)
                .bind(d.day.format("%Y-%m-%d").to_string())
                .bind(crate::time::target_to_db(d.target.as_ref())?)
                .bind(d.decision.as_str())
                .bind(to_db(d.started_at))
                .bind(i64::from(d.minutes))
                .bind(&d.description)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("suggestion"))?;
                Ok(id)
            }

            async fn delete_time_decision(&mut self, id: i64) -> Result<bool> {
                let deleted = sqlx::query(
                    "DELETE FROM time_decisions WHERE id = $1 \
                     AND id NOT IN (SELECT decision_id FROM time_worklog_writes)",
                )
                .bind(id)
                .execute(&mut *self.tx)
                .await?
                .rows_affected();
                Ok(deleted == 1)
            }

            async fn insert_worklog_write(
                &mut self,
                w: &crate::time::NewWorklogWrite,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO time_worklog_writes (user_id, decision_id, tracker, connection_id, target, \
                     started_at, minutes, comment, state, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'intent', $9) RETURNING id",
                )
                .bind(w.user_id)
                .bind(w.decision_id)
                .bind(w.tracker.as_str())
                .bind(w.connection_id)
                .bind(crate::time::target_to_db(Some(&w.target))?)
                .bind(to_db(w.started_at))
                .bind(i64::from(w.minutes))
                .bind(&w.comment)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("decision"))?;
                Ok(id)
            }

            async fn finish_worklog_write(
                &mut self,
                id: i64,
                state: crate::time::WriteState,
                remote_id: Option<&str>,
                error: Option<&str>,
                now: DateTime<Utc>,
            ) -> Result<()> {
                sqlx::query(
                    "UPDATE time_worklog_writes SET state = $1, remote_id = COALESCE($2, remote_id), error = $3, \
                     finished_at = $4 WHERE id = $5",
                )
                .bind(state.as_str())
                .bind(remote_id)
                .bind(error)
                .bind(to_db(now))
                .bind(id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_time;
