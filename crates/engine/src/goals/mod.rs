//! Goals: periods, OKRs, check-ins, data links and the progress engine.
//!
//! Every number comes from [`Goals::recompute`]: it reads the OKR's inputs
//! from the store (latest check-in, children, or the link's item snapshots),
//! applies `core`'s pure rules, and writes a progress point when the value,
//! percent or status changed. A webhook, a scheduled refresh and a manual
//! refresh all end here.

mod apply;
pub mod browse;
pub mod dashboard;
pub mod gitlab_link;
pub mod history;
pub mod items;
pub mod jira_link;
pub mod teams;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_core::authz::Action;
use cairn_core::goals::forecast::{Forecast, HistoryPoint};
use cairn_core::goals::{
    CheckIn, GoalError, LinkRule, Measure, ProgressSource, RollupChild, Schedule, Status, assess,
    evaluate, roll_up,
};
use cairn_store::goals::{
    CheckInFields, CheckInRecord, Okr, OkrFields, OkrKind, OkrProgress, Period,
};
use cairn_store::{LockKey, NewAuditEntry, Store};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::accounts::{Authenticated, validate_name};
use crate::error::{EngineError, authorize, conflicts};
use crate::keyring::Keyring;

pub use apply::{Applied, ItemChanges};
pub use gitlab_link::{GitLabQuery, LinkInput};
pub use jira_link::{JiraLinkInput, JiraQuery};
pub use teams::{OkrQuery, Reassign};

/// Refresh tunables.
#[derive(Debug, Clone)]
pub struct GoalSettings {
    /// How often a link is refreshed unless it says otherwise.
    pub default_refresh: Duration,
    /// The shortest refresh interval a link may ask for.
    pub min_refresh: Duration,
    /// How often a link is read in full, to notice issues that left its
    /// selection, were deleted, moved or became invisible.
    pub full_every: Duration,
    /// Incremental refreshes look back this much before the last success,
    /// so a change made while the last one ran is not missed.
    pub overlap: Duration,
    /// HTTP settings of the clients (rate limit per connection, retries).
    pub http: cairn_connect::HttpConfig,
}

impl Default for GoalSettings {
    fn default() -> Self {
        GoalSettings {
            default_refresh: Duration::from_secs(3600),
            min_refresh: Duration::from_secs(60),
            full_every: Duration::from_secs(24 * 3600),
            overlap: Duration::from_secs(120),
            http: cairn_connect::HttpConfig {
                // 10 requests/s sustained per connection, with room for a
                // first import of 100 pages at once (GitLab.com itself
                // allows 2,000 requests a minute per user).
                burst: 100,
                ..cairn_connect::HttpConfig::default()
            },
        }
    }
}

pub(crate) fn goal_error(error: GoalError) -> EngineError {
    EngineError::invalid(error.field(), error.to_string())
}

/// What someone asks to create or change.
#[derive(Debug, Clone)]
pub struct OkrInput {
    pub kind: OkrKind,
    pub title: String,
    pub description: String,
    /// Default: the caller.
    pub owner_id: Option<i64>,
    /// The team that owns it too: `None` keeps the current one (none for
    /// a new OKR), `Some(None)` removes it.
    pub owner_team_id: Option<Option<i64>>,
    pub period_id: i64,
    pub parent_id: Option<i64>,
    /// Default: the period's start.
    pub starts_on: Option<NaiveDate>,
    /// Default: the period's end.
    pub due_on: Option<NaiveDate>,
    pub measure: Measure,
    pub weight: Option<f64>,
    pub contributes: Option<bool>,
    pub progress_source: ProgressSource,
}

/// A check-in as a person gives it.
#[derive(Debug, Clone, Default)]
pub struct CheckInInput<'a> {
    /// The number, for an OKR measured by check-ins; empty for one whose
    /// number is computed (a data link, a roll-up).
    pub value: Option<f64>,
    /// A status chosen by hand, for an OKR measured by check-ins.
    pub status_override: Option<Status>,
    /// How the author sees it: on track, behind or at risk.
    pub confidence: Option<Status>,
    pub note: &'a str,
}

/// Which items make up a number, and how.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum Explain {
    CheckIn {
        check_in: Option<CheckInRecord>,
    },
    RollUp {
        /// Each child's id, weight and progress.
        #[schema(value_type = Vec<Object>)]
        children: Vec<cairn_core::goals::RollupPart<i64>>,
        total_weight: f64,
    },
    DataLink {
        /// The items read, each with its contribution.
        #[schema(value_type = Object)]
        explanation: cairn_core::goals::Explanation,
    },
    Nothing,
}

/// The goals use cases.
pub struct Goals {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) keyring: Arc<Keyring>,
    pub(crate) settings: GoalSettings,
    pub(crate) clients: gitlab_link::ClientCache,
    pub(crate) jira_clients: jira_link::JiraClientCache,
    /// Small writes (progress points, webhook deliveries, a hook's item
    /// changes) share transactions (see [`crate::batch`]).
    pub(crate) batcher: crate::batch::Batcher,
    /// OKRs as last read for live pages, and when that read started (see
    /// [`Goals::get_okr_since`]).
    recent: tokio::sync::Mutex<HashMap<i64, (tokio::time::Instant, Okr)>>,
    /// Parents a task of this process is waiting to roll up and has not
    /// started reading yet: a child that changes meanwhile leaves its
    /// parent to that task, which will read it (many children changing at
    /// once make one roll-up of their parent, not one each).
    rolling_up: std::sync::Mutex<std::collections::HashSet<i64>>,
}

/// Most OKRs [`Goals::get_okr_since`] remembers before forgetting old ones.
const RECENT_OKRS: usize = 10_000;

/// Records an OKR's new progress (one write of a batch).
struct RecordProgress {
    okr_id: i64,
    progress: OkrProgress,
    source: String,
    note: String,
    /// The notification the change makes (a status change, the target
    /// reached), enqueued in the same transaction.
    event: Option<cairn_core::notify::NotificationEvent>,
    /// The point counts the OKR's pending item changes: clear its mark.
    settles: bool,
}

#[async_trait::async_trait]
impl crate::batch::BatchWrite for RecordProgress {
    type Output = ();

    async fn write(
        &mut self,
        tx: &mut dyn cairn_store::StoreTx,
    ) -> Result<(), cairn_store::StoreError> {
        tx.record_progress(
            self.okr_id,
            &self.progress,
            &self.source,
            &self.note,
            self.settles,
        )
        .await?;
        if let Some(event) = &self.event {
            crate::notify::enqueue_event(tx, event, self.progress.computed_at).await?;
        }
        Ok(())
    }
}

fn audit(
    by: &Authenticated,
    action: &str,
    subject: String,
    detail: serde_json::Value,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: by.user.email.clone(),
        action: action.to_owned(),
        subject,
        detail,
    }
}

impl Goals {
    pub fn new(store: Arc<dyn Store>, keyring: Arc<Keyring>, settings: GoalSettings) -> Self {
        Goals {
            batcher: crate::batch::Batcher::new(store.clone()),
            store,
            keyring,
            settings,
            clients: gitlab_link::ClientCache::default(),
            jira_clients: jira_link::JiraClientCache::default(),
            recent: tokio::sync::Mutex::new(HashMap::new()),
            rolling_up: std::sync::Mutex::new(std::collections::HashSet::new()),
        }
    }

    pub async fn create_period(
        &self,
        by: &Authenticated,
        name: &str,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        check_in_every_days: Option<i64>,
        now: DateTime<Utc>,
    ) -> Result<Period, EngineError> {
        authorize(Some(by.actor()), Action::ManagePeriods)?;
        let name = validate_name("name", name)?;
        if ends_on < starts_on {
            return Err(EngineError::invalid(
                "ends_on",
                "must not be before starts_on",
            ));
        }
        if let Some(days) = check_in_every_days {
            validate_cadence(days)?;
        }
        let mut tx = self.store.begin().await?;
        let id = tx
            .create_period(&name, starts_on, ends_on, now)
            .await
            .map_err(conflicts)?;
        if let Some(days) = check_in_every_days {
            tx.set_check_in_cadence(id, days).await?;
        }
        tx.append_audit(
            &audit(
                by,
                "period.created",
                format!("period:{id}"),
                json!({"name": name}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .get_period(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no period {id}")))
    }

    /// Sets how often a period's key results are checked in on.
    pub async fn set_check_in_cadence(
        &self,
        by: &Authenticated,
        period_id: i64,
        every_days: i64,
        now: DateTime<Utc>,
    ) -> Result<Period, EngineError> {
        authorize(Some(by.actor()), Action::ManagePeriods)?;
        validate_cadence(every_days)?;
        let mut tx = self.store.begin().await?;
        if !tx.set_check_in_cadence(period_id, every_days).await? {
            return Err(EngineError::NotFound(format!("no period {period_id}")));
        }
        tx.append_audit(
            &audit(
                by,
                "period.check_in_cadence",
                format!("period:{period_id}"),
                json!({"check_in_every_days": every_days}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .get_period(period_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no period {period_id}")))
    }

    pub async fn list_periods(&self, by: &Authenticated) -> Result<Vec<Period>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self.store.list_periods().await?)
    }

    pub async fn list_okrs(
        &self,
        by: &Authenticated,
        period_id: Option<i64>,
    ) -> Result<Vec<Okr>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        Ok(self.store.list_okrs(period_id).await?)
    }

    pub async fn get_okr(&self, by: &Authenticated, id: i64) -> Result<Okr, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load(id).await
    }

    /// An OKR as read at or after `since` (when a live page heard it
    /// changed): when a thousand pages hear of one change at once, one of
    /// them reads it and the others share that read. Reads of this process
    /// take turns, so they do not all go to the database together.
    pub async fn get_okr_since(
        &self,
        by: &Authenticated,
        id: i64,
        since: tokio::time::Instant,
    ) -> Result<Okr, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        let mut recent = self.recent.lock().await;
        if let Some((read_at, okr)) = recent.get(&id)
            && *read_at >= since
        {
            return Ok(okr.clone());
        }
        let started = tokio::time::Instant::now();
        let okr = self.load(id).await?;
        if recent.len() >= RECENT_OKRS {
            let old = started - Duration::from_secs(60);
            recent.retain(|_, (at, _)| *at > old);
        }
        recent.insert(id, (started, okr.clone()));
        Ok(okr)
    }

    pub(crate) async fn load(&self, id: i64) -> Result<Okr, EngineError> {
        self.store
            .get_okr(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no OKR {id}")))
    }

    /// Checks an OKR's fields, filling defaults from the period.
    async fn fields(
        &self,
        by: &Authenticated,
        input: OkrInput,
        id: Option<i64>,
        current_owner: Option<i64>,
        current_team: Option<i64>,
    ) -> Result<OkrFields, EngineError> {
        let title = validate_name("title", &input.title)?;
        crate::accounts::validate_text("description", &input.description)?;
        if input.description.chars().count() > 10_000 {
            return Err(EngineError::invalid(
                "description",
                "must be at most 10000 characters",
            ));
        }
        let period = self
            .store
            .get_period(input.period_id)
            .await?
            .ok_or_else(|| {
                EngineError::invalid(
                    "period_id",
                    format!("there is no period {}", input.period_id),
                )
            })?;
        let starts_on = input.starts_on.unwrap_or(period.starts_on);
        let due_on = input.due_on.unwrap_or(period.ends_on);
        if due_on < starts_on {
            return Err(EngineError::invalid(
                "due_on",
                format!("{due_on} is before the start date {starts_on}"),
            ));
        }
        Schedule::new(starts_on, due_on).map_err(goal_error)?;
        let weight = input.weight.unwrap_or(cairn_core::goals::DEFAULT_WEIGHT);
        if !weight.is_finite() || weight < 0.0 {
            return Err(EngineError::invalid("weight", "must be zero or more"));
        }
        // A Measure is valid by construction (serde goes through KpiSpec).
        if input.progress_source == ProgressSource::DataLink && input.kind != OkrKind::KeyResult {
            return Err(EngineError::invalid(
                "progress_source",
                "only key results read their progress from a data link",
            ));
        }
        let owner_id = input
            .owner_id
            .unwrap_or(current_owner.unwrap_or(by.user.id));
        if Some(owner_id) != current_owner {
            authorize(
                Some(by.actor()),
                Action::AssignOkr {
                    current_owner_id: current_owner,
                    new_owner_id: owner_id,
                },
            )
            .map_err(|e| match e {
                EngineError::Forbidden(_) => EngineError::Forbidden(
                    if current_owner.is_none() {
                        "members create OKRs owned by themselves; an admin can create one for someone else"
                    } else {
                        "only the OKR's owner or an admin can hand it to someone else"
                    }
                    .to_owned(),
                ),
                other => other,
            })?;
            match self.store.get_user(owner_id).await? {
                None => {
                    return Err(EngineError::invalid(
                        "owner_id",
                        format!("there is no user {owner_id}"),
                    ));
                }
                Some(user) if user.disabled_at.is_some() => {
                    return Err(EngineError::invalid(
                        "owner_id",
                        format!("user {owner_id} is disabled and cannot own an OKR"),
                    ));
                }
                Some(_) => {}
            }
        }
        let owner_team_id = input.owner_team_id.unwrap_or(current_team);
        if let Some(team_id) = owner_team_id
            && Some(team_id) != current_team
        {
            let Some(team) = self.store.get_team(team_id).await? else {
                return Err(EngineError::invalid(
                    "owner_team_id",
                    format!("there is no team {team_id}"),
                ));
            };
            authorize(
                Some(by.actor()),
                Action::AssignOkrTeam {
                    member_of_team: team.member_ids.contains(&by.user.id),
                },
            )
            .map_err(|e| match e {
                EngineError::Forbidden(_) => EngineError::Forbidden(format!(
                    "members give OKRs only to teams they belong to, and you are not in {}",
                    team.name
                )),
                other => other,
            })?;
        }
        if let Some(parent_id) = input.parent_id {
            if self.store.get_okr(parent_id).await?.is_none() {
                return Err(EngineError::invalid(
                    "parent_id",
                    format!("there is no OKR {parent_id}"),
                ));
            }
            if let Some(id) = id {
                // Walk up from the new parent: meeting this OKR means a cycle.
                let mut cursor = Some(parent_id);
                let mut steps = 0;
                while let Some(current) = cursor {
                    if current == id {
                        return Err(EngineError::invalid(
                            "parent_id",
                            "that parent would make a cycle",
                        ));
                    }
                    steps += 1;
                    if steps > 10_000 {
                        return Err(EngineError::invalid(
                            "parent_id",
                            "the alignment chain is too deep",
                        ));
                    }
                    cursor = self
                        .store
                        .get_okr(current)
                        .await?
                        .and_then(|o| o.fields.parent_id);
                }
            }
        }
        Ok(OkrFields {
            kind: input.kind,
            title,
            description: input.description,
            owner_id,
            owner_team_id,
            period_id: period.id,
            parent_id: input.parent_id,
            starts_on,
            due_on,
            measure: input.measure,
            weight,
            contributes: input.contributes.unwrap_or(true),
            progress_source: input.progress_source,
        })
    }

    pub async fn create_okr(
        &self,
        by: &Authenticated,
        input: OkrInput,
        now: DateTime<Utc>,
    ) -> Result<Okr, EngineError> {
        authorize(Some(by.actor()), Action::CreateOkr)?;
        let fields = self.fields(by, input, None, None, None).await?;
        let mut tx = self.store.begin().await?;
        let id = tx.create_okr(&fields, now).await?;
        tx.append_audit(
            &audit(
                by,
                "okr.created",
                format!("okr:{id}"),
                json!({"title": fields.title, "kind": fields.kind.as_str()}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.recompute(id, now, "edit", "created").await?;
        self.load(id).await
    }

    pub async fn update_okr(
        &self,
        by: &Authenticated,
        id: i64,
        input: OkrInput,
        now: DateTime<Utc>,
    ) -> Result<Okr, EngineError> {
        let current = self.load_to_change(by, id).await?;
        let fields = self
            .fields(
                by,
                input,
                Some(id),
                Some(current.fields.owner_id),
                current.fields.owner_team_id,
            )
            .await?;
        let mut tx = self.store.begin().await?;
        tx.update_okr(id, &fields, now).await?;
        if fields.progress_source != ProgressSource::DataLink {
            tx.delete_link_of_okr(id).await?;
        }
        tx.append_audit(
            &audit(
                by,
                "okr.updated",
                format!("okr:{id}"),
                json!({"title": fields.title}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.recompute(id, now, "edit", "edited").await?;
        if current.fields.parent_id != fields.parent_id
            && let Some(old_parent) = current.fields.parent_id
        {
            self.recompute(old_parent, now, "roll_up", "a child moved away")
                .await?;
        }
        self.load(id).await
    }

    /// An OKR its owner or an admin is about to change.
    pub(crate) async fn load_to_change(
        &self,
        by: &Authenticated,
        id: i64,
    ) -> Result<Okr, EngineError> {
        let okr = self.load(id).await?;
        authorize(
            Some(by.actor()),
            Action::ChangeOkr {
                owner_id: okr.fields.owner_id,
            },
        )?;
        Ok(okr)
    }

    /// An OKR's data link, for anyone who may see goals.
    pub async fn link_of(
        &self,
        by: &Authenticated,
        okr_id: i64,
    ) -> Result<cairn_store::goals::DataLink, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load(okr_id).await?;
        self.store
            .link_for_okr(okr_id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("OKR {okr_id} has no data link")))
    }

    /// Removes an OKR's data link (its owner or an admin). The progress
    /// keeps the last number read.
    pub async fn delete_link(
        &self,
        by: &Authenticated,
        okr_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        self.load_to_change(by, okr_id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_link_of_okr(okr_id).await? {
            return Err(EngineError::NotFound(format!(
                "OKR {okr_id} has no data link"
            )));
        }
        tx.append_audit(
            &audit(by, "link.deleted", format!("okr:{okr_id}"), json!({})),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_okr(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let current = self.load_to_change(by, id).await?;
        let mut tx = self.store.begin().await?;
        tx.delete_okr(id).await?;
        tx.append_audit(
            &audit(
                by,
                "okr.deleted",
                format!("okr:{id}"),
                json!({"title": current.fields.title}),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        if let Some(parent) = current.fields.parent_id {
            self.recompute(parent, now, "roll_up", "a child was deleted")
                .await?;
        }
        Ok(())
    }

    /// Records a check-in. On an OKR measured by check-ins its value is the
    /// number (and may override the status); on one whose number is
    /// computed (a data link, a roll-up) it records a note and the author's
    /// confidence beside the number as it stands, changing nothing.
    pub async fn check_in(
        &self,
        by: &Authenticated,
        okr_id: i64,
        input: &CheckInInput<'_>,
        now: DateTime<Utc>,
    ) -> Result<CheckInRecord, EngineError> {
        let okr = self.load(okr_id).await?;
        authorize(
            Some(by.actor()),
            Action::ChangeOkr {
                owner_id: okr.fields.owner_id,
            },
        )?;
        let value = validate_check_in(&okr, input)?;
        let recorded = value.unwrap_or_else(|| okr.progress.as_ref().map_or(0.0, |p| p.value));
        let mut tx = self.store.begin().await?;
        let id = tx
            .create_check_in(
                okr_id,
                by.user.id,
                &CheckInFields {
                    value: recorded,
                    status_override: input.status_override,
                    confidence: input.confidence,
                    note: input.note,
                },
                now,
            )
            .await?;
        tx.commit().await?;
        if value.is_some() {
            self.recompute(okr_id, now, "check_in", input.note).await?;
        }
        self.store
            .get_check_in(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no check-in {id}")))
    }

    /// Edits a check-in; one on a computed OKR keeps the number it recorded.
    pub async fn update_check_in(
        &self,
        by: &Authenticated,
        id: i64,
        input: &CheckInInput<'_>,
        now: DateTime<Utc>,
    ) -> Result<CheckInRecord, EngineError> {
        let current = self.load_check_in(id).await?;
        authorize(
            Some(by.actor()),
            Action::ChangeCheckIn {
                author_id: current.author_id,
            },
        )?;
        let okr = self.load(current.okr_id).await?;
        let value = validate_check_in(&okr, input)?;
        let mut tx = self.store.begin().await?;
        tx.update_check_in(
            id,
            &CheckInFields {
                value: value.unwrap_or(current.value),
                status_override: input.status_override,
                confidence: input.confidence,
                note: input.note,
            },
            now,
        )
        .await?;
        tx.commit().await?;
        if value.is_some() {
            self.recompute(current.okr_id, now, "check_in", "check-in edited")
                .await?;
        }
        self.load_check_in(id).await
    }

    pub async fn delete_check_in(
        &self,
        by: &Authenticated,
        id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let current = self.load_check_in(id).await?;
        authorize(
            Some(by.actor()),
            Action::ChangeCheckIn {
                author_id: current.author_id,
            },
        )?;
        let mut tx = self.store.begin().await?;
        tx.delete_check_in(id).await?;
        tx.commit().await?;
        self.recompute(current.okr_id, now, "check_in", "check-in deleted")
            .await?;
        Ok(())
    }

    /// The key results of a period whose check-in is due at `now`, each
    /// with since when (see [`cairn_core::goals::check_in_due_since`]).
    pub async fn check_ins_due(
        &self,
        by: &Authenticated,
        period_id: i64,
        now: DateTime<Utc>,
    ) -> Result<HashMap<i64, DateTime<Utc>>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        let Some(period) = self.store.get_period(period_id).await? else {
            return Err(EngineError::NotFound(format!("no period {period_id}")));
        };
        Ok(self
            .due_in(&period, now)
            .await?
            .into_iter()
            .map(|(okr, since)| (okr.id, since))
            .collect())
    }

    async fn due_in(
        &self,
        period: &Period,
        now: DateTime<Utc>,
    ) -> Result<Vec<(Okr, DateTime<Utc>)>, EngineError> {
        let latest: HashMap<i64, DateTime<Utc>> = self
            .store
            .latest_check_ins(period.id)
            .await?
            .into_iter()
            .collect();
        let mut due = Vec::new();
        for okr in self.store.list_okrs(Some(period.id)).await? {
            if okr.fields.kind != OkrKind::KeyResult {
                continue;
            }
            let Ok(schedule) = Schedule::new(okr.fields.starts_on, okr.fields.due_on) else {
                continue;
            };
            let done = okr
                .progress
                .as_ref()
                .is_some_and(|p| p.status == Status::Done);
            if let Some(since) = cairn_core::goals::check_in_due_since(
                latest.get(&okr.id).copied(),
                schedule.starts_at().and_utc(),
                schedule.ends_at().and_utc(),
                period.check_in_every_days,
                done,
                now,
            ) {
                due.push((okr, since));
            }
        }
        Ok(due)
    }

    /// The "check-in due" reminder: for each key result of the periods
    /// running at `now` whose check-in is due, one `check_in_due` event
    /// per missed check-in, to the channels subscribed to it (none
    /// subscribed, none sent). Safe to run from every instance: the first
    /// to mark a missed check-in sends it. Returns how many were sent.
    pub async fn remind_due_check_ins(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let today = now.date_naive();
        let mut reminded = 0;
        for period in self.store.list_periods().await? {
            if today < period.starts_on || today > period.ends_on {
                continue;
            }
            for (okr, since) in self.due_in(&period, now).await? {
                let mut tx = self.store.begin().await?;
                if tx.mark_check_in_reminded(okr.id, since).await? {
                    let detail = cairn_core::notify::EventDetail::CheckInDue {
                        due_since: since,
                        every_days: period.check_in_every_days,
                    };
                    crate::notify::enqueue_event(
                        &mut *tx,
                        &crate::notify::okr_event(&okr, detail, now),
                        now,
                    )
                    .await?;
                    reminded += 1;
                }
                tx.commit().await?;
            }
        }
        Ok(reminded)
    }

    pub async fn list_check_ins(
        &self,
        by: &Authenticated,
        okr_id: i64,
    ) -> Result<Vec<CheckInRecord>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load(okr_id).await?;
        Ok(self.store.list_check_ins(okr_id).await?)
    }

    async fn load_check_in(&self, id: i64) -> Result<CheckInRecord, EngineError> {
        self.store
            .get_check_in(id)
            .await?
            .ok_or_else(|| EngineError::NotFound(format!("no check-in {id}")))
    }

    pub async fn history(
        &self,
        by: &Authenticated,
        okr_id: i64,
        limit: u32,
    ) -> Result<Vec<cairn_store::goals::ProgressPoint>, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.load(okr_id).await?;
        Ok(self
            .store
            .progress_points(okr_id, limit.clamp(1, 10_000))
            .await?)
    }

    /// When the OKR reaches its target at its recent pace, and the pace its
    /// due date needs (the rule: `cairn_core::goals::forecast`).
    pub async fn forecast(
        &self,
        by: &Authenticated,
        okr_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Forecast, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        let okr = self.load(okr_id).await?;
        let history = self.store.progress_points(okr_id, 10_000).await?;
        forecast_of(&okr, &history, now)
    }

    /// The inputs behind an OKR's number, each with its contribution.
    pub async fn explain(&self, by: &Authenticated, okr_id: i64) -> Result<Explain, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        let okr = self.load(okr_id).await?;
        self.explain_from(&okr, true).await
    }

    /// The same numbers for an OKR already read (a list's), its link's
    /// items without their titles, URLs and state text: a page explaining
    /// every OKR of a period reads only what the rules read.
    pub async fn explain_numbers(
        &self,
        by: &Authenticated,
        okr: &Okr,
    ) -> Result<Explain, EngineError> {
        authorize(Some(by.actor()), Action::ViewGoals)?;
        self.explain_from(okr, false).await
    }

    async fn explain_from(&self, okr: &Okr, detail: bool) -> Result<Explain, EngineError> {
        Ok(match self.inputs_with(okr, detail).await? {
            Inputs::CheckIn(check_in) => Explain::CheckIn { check_in },
            Inputs::RollUp(rollup) => Explain::RollUp {
                total_weight: rollup.total_weight,
                children: rollup.parts,
            },
            Inputs::DataLink(evaluation) => Explain::DataLink {
                explanation: evaluation.explanation,
            },
            Inputs::Nothing => Explain::Nothing,
        })
    }

    /// With `detail` false, a link's items come without title, URL and
    /// state text, which the rules never read.
    async fn inputs_with(&self, okr: &Okr, detail: bool) -> Result<Inputs, EngineError> {
        Ok(match okr.fields.progress_source {
            ProgressSource::CheckIn => {
                let check_ins = self.store.list_check_ins(okr.id).await?;
                Inputs::CheckIn(check_ins.into_iter().max_by_key(|c| (c.created_at, c.id)))
            }
            ProgressSource::RollUp => {
                let children: Vec<RollupChild<i64>> = self
                    .store
                    .child_okrs(okr.id)
                    .await?
                    .into_iter()
                    .filter_map(|child| {
                        let progress = child.progress?;
                        Some(RollupChild {
                            id: child.id,
                            percent: progress.percent,
                            weight: child.fields.weight,
                            contributes: child.fields.contributes,
                        })
                    })
                    .collect();
                Inputs::RollUp(roll_up(&children).map_err(goal_error)?)
            }
            ProgressSource::DataLink => match self.store.link_for_okr(okr.id).await? {
                None => Inputs::Nothing,
                Some(link) => {
                    let rule: LinkRule = serde_json::from_value(link.rule.clone())
                        .map_err(|e| EngineError::invalid("rule", e.to_string()))?;
                    let items = if detail {
                        self.store.link_items(link.id).await?
                    } else {
                        self.store.link_item_numbers(link.id).await?
                    };
                    Inputs::DataLink(
                        evaluate(&okr.fields.measure, &rule, &items).map_err(goal_error)?,
                    )
                }
            },
        })
    }

    /// Progress changes as they commit, in every instance: what live pages
    /// wait on instead of reading the store every second.
    pub fn watch_progress(&self) -> tokio::sync::broadcast::Receiver<cairn_store::ProgressSignal> {
        self.store.progress_feed()
    }

    /// Recomputes every OKR that has progress, so statuses follow the clock
    /// (expected progress rises every day even when nothing is checked in).
    /// Returns how many changed.
    pub async fn reassess_all(&self, now: DateTime<Utc>) -> Result<usize, EngineError> {
        let mut changed = 0;
        for okr in self.store.list_okrs(None).await? {
            if okr.progress.is_none() {
                continue;
            }
            if self
                .recompute(okr.id, now, "schedule", "status reassessed")
                .await?
            {
                changed += 1;
            }
        }
        Ok(changed)
    }

    /// Recomputes an OKR from the store and, when its value, percent or
    /// status changed, records a progress point; then its parents'. Returns
    /// whether the status of `okr_id` itself changed.
    pub async fn recompute(
        &self,
        okr_id: i64,
        now: DateTime<Utc>,
        source: &str,
        note: &str,
    ) -> Result<bool, EngineError> {
        Ok(self
            .recompute_settling(okr_id, now, source, note, false)
            .await?
            .status_changed)
    }

    /// [`Goals::recompute`]; with `settles` (a data link's changes, applied
    /// under the link's lock), a point recorded for `okr_id` also clears
    /// its "recompute pending" mark. Says whether a point was recorded for
    /// `okr_id`: when not, its progress already counted every change.
    pub(crate) async fn recompute_settling(
        &self,
        okr_id: i64,
        now: DateTime<Utc>,
        source: &str,
        note: &str,
        settles: bool,
    ) -> Result<Recomputed, EngineError> {
        let mut recorded = false;
        let mut next = Some((okr_id, source.to_owned(), note.to_owned()));
        let mut guard = 0;
        let mut status_changed = false;
        while let Some((id, source, note)) = next.take() {
            guard += 1;
            if guard > 1_000 {
                break;
            }
            // One recompute of an OKR at a time in every instance, so two
            // changes applied at once (two webhooks, a hook and a poll)
            // neither record the same progress twice nor let the older
            // reading be written last. Read and written under the lock;
            // released before its parent is taken.
            let roll_up = id != okr_id;
            if roll_up
                && !self
                    .rolling_up
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id)
            {
                // Another task will read this parent after our child's
                // change was committed.
                break;
            }
            let locked = self.store.lock(LockKey::Okr(id)).await;
            if roll_up {
                self.rolling_up
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .remove(&id);
            }
            let _recomputing = locked?;
            let Some(okr) = self.store.get_okr(id).await? else {
                break;
            };
            let (progress, status_override) = match self.inputs_with(&okr, false).await? {
                Inputs::CheckIn(Some(record)) => {
                    let check_in = CheckIn {
                        value: record.value,
                        status_override: record.status_override,
                        note: record.note.clone(),
                        recorded_at: record.created_at,
                    };
                    (
                        Some(check_in.progress(&okr.fields.measure).map_err(goal_error)?),
                        record.status_override,
                    )
                }
                // An objective with no children has nothing to measure: no
                // point at 0 % that nobody measured.
                Inputs::RollUp(rollup)
                    if rollup.note == Some(cairn_core::goals::RollupNote::NoChildren) =>
                {
                    (None, None)
                }
                Inputs::RollUp(rollup) => (Some(rollup.progress), None),
                Inputs::DataLink(evaluation) => (Some(evaluation.progress), None),
                Inputs::CheckIn(None) | Inputs::Nothing => (None, None),
            };
            let Some(progress) = progress else {
                break;
            };
            let schedule =
                Schedule::new(okr.fields.starts_on, okr.fields.due_on).map_err(goal_error)?;
            let assessment = assess(&progress, &schedule, now.naive_utc(), status_override);
            let new = OkrProgress {
                value: progress.value,
                percent: progress.percent,
                expected_percent: assessment.expected_percent,
                status: assessment.status,
                computed_at: now,
            };
            let changed = okr.progress.as_ref().is_none_or(|old| {
                old.value != new.value || old.percent != new.percent || old.status != new.status
            });
            if id == okr_id {
                status_changed = okr.progress.as_ref().map(|old| old.status) != Some(new.status);
            }
            if changed {
                // Key results announce status moves; the first computation
                // is not one.
                let event = (okr.fields.kind == OkrKind::KeyResult)
                    .then(|| {
                        cairn_core::notify::status_event(
                            okr.progress.as_ref().map(|old| old.status),
                            new.status,
                        )
                    })
                    .flatten()
                    .map(|detail| {
                        let mut now_okr = okr.clone();
                        now_okr.progress = Some(new.clone());
                        crate::notify::okr_event(&now_okr, detail, now)
                    });
                // Still under the OKR's lock: committed before the next
                // recompute of it reads.
                self.batcher
                    .write(RecordProgress {
                        okr_id: id,
                        progress: new.clone(),
                        source: source.clone(),
                        note: note.clone(),
                        event,
                        settles: settles && id == okr_id,
                    })
                    .await?;
                if id == okr_id {
                    recorded = true;
                }
                tracing::debug!(
                    okr = id,
                    percent = new.percent,
                    status = new.status.as_str(),
                    "progress changed"
                );
            }
            if let Some(parent) = okr.fields.parent_id
                && changed
            {
                next = Some((parent, "roll_up".to_owned(), format!("child {id} changed")));
            }
        }
        Ok(Recomputed {
            status_changed,
            recorded,
        })
    }
}

/// What [`Goals::recompute_settling`] did to the OKR it was asked about.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Recomputed {
    pub(crate) status_changed: bool,
    pub(crate) recorded: bool,
}

enum Inputs {
    CheckIn(Option<CheckInRecord>),
    RollUp(cairn_core::goals::Rollup<i64>),
    DataLink(cairn_core::goals::Evaluation),
    Nothing,
}

fn validate_cadence(days: i64) -> Result<(), EngineError> {
    if cairn_core::goals::CHECK_IN_EVERY_DAYS.contains(&days) {
        Ok(())
    } else {
        Err(EngineError::invalid(
            "check_in_every_days",
            format!(
                "must be from {} to {} days",
                cairn_core::goals::CHECK_IN_EVERY_DAYS.start(),
                cairn_core::goals::CHECK_IN_EVERY_DAYS.end()
            ),
        ))
    }
}

/// Checks a check-in against its OKR; returns the number it sets, for an
/// OKR measured by check-ins (none for a computed one).
fn validate_check_in(okr: &Okr, input: &CheckInInput<'_>) -> Result<Option<f64>, EngineError> {
    crate::accounts::validate_text("note", input.note)?;
    if input.note.chars().count() > 10_000 {
        return Err(EngineError::invalid(
            "note",
            "must be at most 10000 characters",
        ));
    }
    if let Some(confidence) = input.confidence
        && !matches!(
            confidence,
            Status::OnTrack | Status::Behind | Status::AtRisk
        )
    {
        return Err(EngineError::invalid(
            "confidence",
            "must be on_track, behind or at_risk: how the owner sees it",
        ));
    }
    if okr.fields.progress_source == ProgressSource::CheckIn {
        let value = input.value.ok_or_else(|| {
            EngineError::invalid(
                "value",
                "is required: this OKR's number comes from check-ins",
            )
        })?;
        okr.fields.measure.progress(value).map_err(goal_error)?;
        return Ok(Some(value));
    }
    let source = match okr.fields.progress_source {
        ProgressSource::DataLink => "its data link",
        _ => "its children",
    };
    if input.value.is_some() {
        return Err(EngineError::invalid(
            "value",
            format!(
                "must be empty: this OKR's number comes from {source}; a check-in here records a note and a confidence"
            ),
        ));
    }
    if input.status_override.is_some() {
        return Err(EngineError::invalid(
            "status_override",
            format!(
                "must be empty: this OKR's status follows its number from {source}; give your confidence instead"
            ),
        ));
    }
    if input.note.trim().is_empty() && input.confidence.is_none() {
        return Err(EngineError::invalid(
            "note",
            "is required, or a confidence: a check-in here says how it is going",
        ));
    }
    Ok(None)
}

/// The forecast of `okr` from its recorded `history` (any order), for
/// pages that have read the history already.
pub fn forecast_of(
    okr: &Okr,
    history: &[cairn_store::goals::ProgressPoint],
    now: DateTime<Utc>,
) -> Result<Forecast, EngineError> {
    let schedule = Schedule::new(okr.fields.starts_on, okr.fields.due_on).map_err(goal_error)?;
    let points: Vec<HistoryPoint> = history
        .iter()
        .map(|p| HistoryPoint {
            at: p.at,
            percent: p.percent,
        })
        .collect();
    Ok(cairn_core::goals::forecast::forecast(
        &points, &schedule, now,
    ))
}
