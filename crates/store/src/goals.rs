//! Periods, OKRs, check-ins, data links, item snapshots and progress
//! history. Written once as a macro, like the accounts, and expanded in each
//! backend's module, where `to_db`/`from_db` convert times and
//! `json_to_db`/`json_from_db` convert JSON columns.

use async_trait::async_trait;
use cairn_core::goals::{ItemSnapshot, Measure, ProgressSource, Status};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::Result;

/// Whether an OKR is an objective or a key result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OkrKind {
    Objective,
    KeyResult,
}

impl OkrKind {
    pub fn as_str(self) -> &'static str {
        match self {
            OkrKind::Objective => "objective",
            OkrKind::KeyResult => "key_result",
        }
    }

    pub fn parse(s: &str) -> Option<OkrKind> {
        match s {
            "objective" => Some(OkrKind::Objective),
            "key_result" => Some(OkrKind::KeyResult),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Period {
    pub id: i64,
    pub name: String,
    pub starts_on: NaiveDate,
    pub ends_on: NaiveDate,
    /// A key result whose latest check-in is older than this is marked
    /// "check-in due" (weekly unless set otherwise).
    pub check_in_every_days: i64,
    pub created_at: DateTime<Utc>,
}

/// The fields of an OKR a person sets.
#[derive(Debug, Clone, PartialEq)]
pub struct OkrFields {
    pub kind: OkrKind,
    pub title: String,
    pub description: String,
    /// The person who owns it.
    pub owner_id: i64,
    /// The team that owns it too, if any.
    pub owner_team_id: Option<i64>,
    pub period_id: i64,
    pub parent_id: Option<i64>,
    pub starts_on: NaiveDate,
    pub due_on: NaiveDate,
    pub measure: Measure,
    pub weight: f64,
    pub contributes: bool,
    pub progress_source: ProgressSource,
}

/// Which OKRs to list; `None` parts do not filter.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OkrFilter {
    pub period_id: Option<i64>,
    /// Owned by this person.
    pub owner_id: Option<i64>,
    /// Owned by this team.
    pub team_id: Option<i64>,
    /// With this last computed status (an OKR never computed has none).
    pub status: Option<Status>,
    /// "My OKRs": owned by this person or by a team they are a member of.
    pub mine_of: Option<i64>,
}

/// The last computed progress of an OKR.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct OkrProgress {
    pub value: f64,
    pub percent: f64,
    pub expected_percent: f64,
    #[schema(value_type = String, example = "on_track")]
    pub status: Status,
    pub computed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Okr {
    pub id: i64,
    pub fields: OkrFields,
    pub progress: Option<OkrProgress>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct CheckInRecord {
    pub id: i64,
    pub okr_id: i64,
    pub author_id: i64,
    pub value: f64,
    #[schema(value_type = Option<String>, example = "at_risk")]
    pub status_override: Option<Status>,
    /// How the author sees it (`on_track`, `behind`, `at_risk`), beside the
    /// number and the status, never instead of them.
    #[schema(value_type = Option<String>, example = "behind")]
    pub confidence: Option<Status>,
    pub note: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a check-in records, as written to the store.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckInFields<'a> {
    pub value: f64,
    pub status_override: Option<Status>,
    pub confidence: Option<Status>,
    pub note: &'a str,
}

/// A key result's link to a tracker.
#[derive(Debug, Clone, PartialEq)]
pub struct DataLink {
    pub id: i64,
    pub okr_id: i64,
    pub connection_id: i64,
    /// core's `LinkRule` as JSON.
    pub rule: serde_json::Value,
    /// The tracker's selection (GitLab filter or Jira JQL) as JSON.
    pub query: serde_json::Value,
    /// Overrides the global refresh interval.
    pub refresh_interval_secs: Option<i64>,
    pub next_refresh_at: DateTime<Utc>,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_full_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_error_code: Option<String>,
    /// Failed refreshes since the last success.
    pub failures: i64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// What a link is set to; the rest is refresh bookkeeping.
#[derive(Debug, Clone, PartialEq)]
pub struct LinkFields {
    pub connection_id: i64,
    pub rule: serde_json::Value,
    pub query: serde_json::Value,
    pub refresh_interval_secs: Option<i64>,
}

/// The outcome of one refresh of a link.
#[derive(Debug, Clone, PartialEq)]
pub enum RefreshRecord {
    Succeeded {
        full: bool,
        next_refresh_at: DateTime<Utc>,
    },
    Failed {
        code: String,
        message: String,
        next_refresh_at: DateTime<Utc>,
    },
}

/// A change to a key result's items whose progress point is not recorded
/// yet (see [`GoalTx::mark_recompute_pending`]).
#[derive(Debug, Clone, PartialEq)]
pub struct PendingRecompute {
    /// When the change was applied: the point's time.
    pub at: DateTime<Utc>,
    /// The change's note: the point's note.
    pub note: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ProgressPoint {
    pub id: i64,
    pub okr_id: i64,
    pub at: DateTime<Utc>,
    pub value: f64,
    pub percent: f64,
    pub expected_percent: f64,
    #[schema(value_type = String, example = "on_track")]
    pub status: Status,
    /// `check_in`, `roll_up`, `data_link`, `schedule`, `edit`, or
    /// `backfill` (a point before the first one recorded, reconstructed
    /// from the items' dates or the children's history).
    pub source: String,
    pub note: String,
}

/// Reading goals.
#[async_trait]
pub trait GoalStore: Send + Sync {
    async fn list_periods(&self) -> Result<Vec<Period>>;
    async fn get_period(&self, id: i64) -> Result<Option<Period>>;
    async fn get_okr(&self, id: i64) -> Result<Option<Okr>>;
    /// All OKRs, or those of one period, ordered by id.
    async fn list_okrs(&self, period_id: Option<i64>) -> Result<Vec<Okr>>;
    /// The OKRs every set part of `filter` holds for, ordered by id.
    async fn filter_okrs(&self, filter: &OkrFilter) -> Result<Vec<Okr>>;
    async fn child_okrs(&self, parent_id: i64) -> Result<Vec<Okr>>;
    async fn list_check_ins(&self, okr_id: i64) -> Result<Vec<CheckInRecord>>;
    /// When each OKR of a period was last checked in on (OKRs without a
    /// check-in are left out).
    async fn latest_check_ins(&self, period_id: i64) -> Result<Vec<(i64, DateTime<Utc>)>>;
    async fn get_check_in(&self, id: i64) -> Result<Option<CheckInRecord>>;
    async fn get_link(&self, id: i64) -> Result<Option<DataLink>>;
    async fn link_for_okr(&self, okr_id: i64) -> Result<Option<DataLink>>;
    /// Links whose next refresh is due, oldest due first.
    async fn due_links(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<DataLink>>;
    async fn links_for_connection(&self, connection_id: i64) -> Result<Vec<DataLink>>;
    /// The links whose selection holds the connection's item `key`.
    async fn links_with_item(&self, connection_id: i64, key: &str) -> Result<Vec<i64>>;
    /// The snapshots of the items that make up a link's number.
    async fn link_items(&self, link_id: i64) -> Result<Vec<ItemSnapshot>>;
    /// The same items with only what the rules read (no title, URL or
    /// state text): recomputing a 100,000-item key result reads less.
    async fn link_item_numbers(&self, link_id: i64) -> Result<Vec<ItemSnapshot>>;
    /// Newest first.
    async fn progress_points(&self, okr_id: i64, limit: u32) -> Result<Vec<ProgressPoint>>;
    /// The links of a period's OKRs, ordered by OKR: one read for a page
    /// that shows every link of a period.
    async fn links_in_period(&self, period_id: i64) -> Result<Vec<DataLink>>;
    /// The statuses a period's OKRs were recorded at since `since`, each
    /// OKR's last one before it too (where its window starts from), by
    /// OKR and time.
    async fn status_points_since(
        &self,
        period_id: i64,
        since: DateTime<Utc>,
    ) -> Result<Vec<(i64, cairn_core::goals::StatusPoint)>>;
}

/// Goal changes, made inside a [`crate::StoreTx`].
#[async_trait]
pub trait GoalTx: Send {
    async fn create_period(
        &mut self,
        name: &str,
        starts_on: NaiveDate,
        ends_on: NaiveDate,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    /// Sets how often the key results of a period are checked in on.
    async fn set_check_in_cadence(&mut self, period_id: i64, every_days: i64) -> Result<bool>;
    /// Records that the key result's check-in due at `due_since` is
    /// reminded of; false when it was already (by this or another
    /// instance), so the reminder goes out once.
    async fn mark_check_in_reminded(
        &mut self,
        okr_id: i64,
        due_since: DateTime<Utc>,
    ) -> Result<bool>;
    async fn create_okr(&mut self, fields: &OkrFields, now: DateTime<Utc>) -> Result<i64>;
    async fn update_okr(&mut self, id: i64, fields: &OkrFields, now: DateTime<Utc>)
    -> Result<bool>;
    /// Deletes an OKR; its children are detached (become top-level).
    async fn delete_okr(&mut self, id: i64) -> Result<bool>;
    async fn create_check_in(
        &mut self,
        okr_id: i64,
        author_id: i64,
        fields: &CheckInFields<'_>,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn update_check_in(
        &mut self,
        id: i64,
        fields: &CheckInFields<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool>;
    async fn delete_check_in(&mut self, id: i64) -> Result<bool>;
    /// Creates or replaces an OKR's link; a changed link is due at once.
    async fn put_link(
        &mut self,
        okr_id: i64,
        fields: &LinkFields,
        now: DateTime<Utc>,
    ) -> Result<i64>;
    async fn delete_link_of_okr(&mut self, okr_id: i64) -> Result<bool>;
    async fn record_refresh(
        &mut self,
        link_id: i64,
        record: &RefreshRecord,
        now: DateTime<Utc>,
    ) -> Result<()>;
    /// Moves a link's next refresh to `until`: done when its refresh is
    /// enqueued, so the scheduler does not enqueue it again meanwhile.
    async fn defer_link(&mut self, link_id: i64, until: DateTime<Utc>) -> Result<()>;
    /// Inserts or updates snapshots; returns their ids in the same order.
    async fn upsert_items(
        &mut self,
        connection_id: i64,
        items: &[ItemSnapshot],
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>>;
    /// As [`GoalTx::upsert_items`], but a stored snapshot the tracker
    /// changed later than the given one is kept: its id is `None`. For
    /// changes that may arrive late or out of order (webhooks).
    async fn upsert_items_if_newer(
        &mut self,
        connection_id: i64,
        items: &[ItemSnapshot],
        now: DateTime<Utc>,
    ) -> Result<Vec<Option<i64>>>;
    /// Adds and removes items of a link's selection.
    async fn change_link_items(&mut self, link_id: i64, add: &[i64], remove: &[i64]) -> Result<()>;
    /// Makes `items` exactly the link's selection.
    async fn replace_link_items(&mut self, link_id: i64, items: &[i64]) -> Result<()>;
    /// Removes the snapshots of these keys from a link's selection.
    async fn remove_link_items_by_key(&mut self, link_id: i64, keys: &[String]) -> Result<u64>;
    /// Marks an OKR "recompute pending" in the transaction that changes
    /// its items, so a change whose point a fault kept from being recorded
    /// is still known afterwards. Unless `replace`, an earlier mark is kept
    /// and returned (nothing is written); `None` when this one is set (or
    /// the OKR is gone).
    async fn mark_recompute_pending(
        &mut self,
        okr_id: i64,
        pending: &PendingRecompute,
        replace: bool,
    ) -> Result<Option<PendingRecompute>>;
    /// Removes the mark: the OKR's progress counts every change made.
    async fn clear_recompute_pending(&mut self, okr_id: i64) -> Result<()>;
    /// Stores the computed progress and appends it to the history; with
    /// `settles`, also clears the OKR's "recompute pending" mark (in the
    /// same statement: the point counts the marked change).
    async fn record_progress(
        &mut self,
        okr_id: i64,
        progress: &OkrProgress,
        source: &str,
        note: &str,
        settles: bool,
    ) -> Result<()>;
    /// Adds points to an OKR's history at past instants (each progress's
    /// `computed_at`), leaving its current progress alone: a history
    /// reconstructed from its items (see `core::goals::history`).
    async fn insert_past_progress(
        &mut self,
        okr_id: i64,
        points: &[OkrProgress],
        source: &str,
        note: &str,
    ) -> Result<()>;
}

pub(crate) fn date_to_db(d: NaiveDate) -> String {
    d.format("%Y-%m-%d").to_string()
}

pub(crate) fn date_from_db(s: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .map_err(|e| crate::StoreError::InvalidData(format!("date `{s}`: {e}")))
}

/// One item as the backends aggregate it: `[key, title, url, state, done,
/// tasks_total, tasks_done, time_spent, original_estimate, remaining_estimate,
/// story_points, custom_fields, remote_updated_at, created_at, done_at]`;
/// the stored `numbers` tuples end at `remote_updated_at` (the rules never
/// read the dates).
#[derive(serde::Deserialize)]
struct ItemTuple(
    String,
    String,
    String,
    String,
    serde_json::Value,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<f64>,
    serde_json::Value,
    serde_json::Value,
    #[serde(default)] serde_json::Value,
    #[serde(default)] serde_json::Value,
);

/// A time as the backends aggregate it: Unix milliseconds (SQLite) or
/// RFC 3339 text (PostgreSQL); `null` is `None`.
fn item_time(value: &serde_json::Value) -> Result<Option<DateTime<Utc>>> {
    match value {
        serde_json::Value::Null => Ok(None),
        serde_json::Value::Number(n) => n
            .as_i64()
            .and_then(DateTime::from_timestamp_millis)
            .map(Some)
            .ok_or_else(|| invalid("item time", &value.to_string())),
        serde_json::Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| invalid("item time", s)),
        other => Err(invalid("item time", &other.to_string())),
    }
}

/// Reads the items of a link from the JSON array the store aggregated, in
/// the order they joined the store. Booleans may come as 0/1 (SQLite) and times as Unix
/// milliseconds (SQLite) or RFC 3339 text (PostgreSQL).
pub(crate) fn items_from_json(text: &str) -> Result<Vec<ItemSnapshot>> {
    let tuples: Vec<ItemTuple> = serde_json::from_str(text)
        .map_err(|e| crate::StoreError::InvalidData(format!("link items: {e}")))?;
    let mut items = Vec::with_capacity(tuples.len());
    for ItemTuple(
        key,
        title,
        url,
        state,
        done,
        total,
        completed,
        spent,
        original,
        remaining,
        points,
        custom,
        updated,
        created,
        done_time,
    ) in tuples
    {
        let done = done
            .as_bool()
            .unwrap_or_else(|| done.as_i64().is_some_and(|n| n != 0));
        // SQLite hands custom fields over as the stored text, PostgreSQL as
        // an object; "{}" (the common case) needs no parsing at all.
        let custom: std::collections::BTreeMap<String, f64> = match custom {
            serde_json::Value::String(text) if text == "{}" => Default::default(),
            serde_json::Value::String(text) => serde_json::from_str(&text)
                .map_err(|e| crate::StoreError::InvalidData(format!("item custom fields: {e}")))?,
            other => serde_json::from_value(other)
                .map_err(|e| crate::StoreError::InvalidData(format!("item custom fields: {e}")))?,
        };
        let updated_at = item_time(&updated)?.ok_or_else(|| invalid("item time", "null"))?;
        items.push(ItemSnapshot {
            key,
            title,
            url,
            state,
            done,
            tasks_total: u32::try_from(total.max(0)).unwrap_or(u32::MAX),
            tasks_done: u32::try_from(completed.max(0)).unwrap_or(u32::MAX),
            time_spent_seconds: spent,
            original_estimate_seconds: original,
            remaining_estimate_seconds: remaining,
            story_points: points,
            custom_fields: custom,
            updated_at,
            created_at: item_time(&created)?,
            done_at: item_time(&done_time)?,
        });
    }
    Ok(items)
}

/// The `numbers` column of an item: the tuple [`items_from_json`] reads,
/// without title, URL and state text.
pub(crate) fn numbers_json(item: &ItemSnapshot) -> String {
    serde_json::json!([
        item.key,
        "",
        "",
        "",
        item.done,
        item.tasks_total,
        item.tasks_done,
        item.time_spent_seconds,
        item.original_estimate_seconds,
        item.remaining_estimate_seconds,
        item.story_points,
        item.custom_fields,
        item.updated_at.timestamp_millis(),
    ])
    .to_string()
}

pub(crate) fn invalid(what: &str, value: &str) -> crate::StoreError {
    crate::StoreError::InvalidData(format!("{what} `{value}`"))
}

/// Rows per multi-row statement: 16 columns × 500 stays far below SQLite's
/// and PostgreSQL's limits on bound parameters, and a 10,000-item import is
/// 20 statements instead of 10,000.
pub(crate) const ROWS_PER_STATEMENT: usize = 500;

macro_rules! impl_goals {
    ($store:ty, $tx:ty) => {
        const OKR_COLUMNS: &str = "id, kind, title, description, owner_id, owner_team_id, period_id, parent_id, \
            starts_on, due_on, measure, weight, contributes, progress_source, value, percent, \
            expected_percent, status, computed_at, created_at, updated_at";
        const LINK_COLUMNS: &str = "id, okr_id, connection_id, rule, query, refresh_interval_secs, \
            next_refresh_at, last_attempt_at, last_success_at, last_full_at, last_error, \
            last_error_code, failures, created_at, updated_at";
        const CHECK_IN_COLUMNS: &str =
            "id, okr_id, author_id, value, status_override, confidence, note, created_at, updated_at";

        fn okr_from_row(row: &DbRow) -> Result<crate::goals::Okr> {
            use crate::goals::{date_from_db, invalid};
            let kind: String = row.try_get("kind")?;
            let source: String = row.try_get("progress_source")?;
            let measure = json_from_db(row.try_get("measure")?)?;
            let status: Option<String> = row.try_get("status")?;
            let progress = match (
                row.try_get::<Option<f64>, _>("value")?,
                row.try_get::<Option<f64>, _>("percent")?,
                row.try_get::<Option<f64>, _>("expected_percent")?,
                status,
                opt_from_db(row.try_get("computed_at")?)?,
            ) {
                (Some(value), Some(percent), Some(expected_percent), Some(status), Some(computed_at)) => {
                    Some(crate::goals::OkrProgress {
                        value,
                        percent,
                        expected_percent,
                        status: cairn_core::goals::Status::parse(&status)
                            .ok_or_else(|| invalid("status", &status))?,
                        computed_at,
                    })
                }
                _ => None,
            };
            Ok(crate::goals::Okr {
                id: row.try_get("id")?,
                fields: crate::goals::OkrFields {
                    kind: crate::goals::OkrKind::parse(&kind).ok_or_else(|| invalid("okr kind", &kind))?,
                    title: row.try_get("title")?,
                    description: row.try_get("description")?,
                    owner_id: row.try_get("owner_id")?,
                    owner_team_id: row.try_get("owner_team_id")?,
                    period_id: row.try_get("period_id")?,
                    parent_id: row.try_get("parent_id")?,
                    starts_on: date_from_db(&row.try_get::<String, _>("starts_on")?)?,
                    due_on: date_from_db(&row.try_get::<String, _>("due_on")?)?,
                    measure: serde_json::from_value(measure)
                        .map_err(|e| StoreError::InvalidData(format!("okr measure: {e}")))?,
                    weight: row.try_get("weight")?,
                    contributes: row.try_get("contributes")?,
                    progress_source: cairn_core::goals::ProgressSource::parse(&source)
                        .ok_or_else(|| invalid("progress source", &source))?,
                },
                progress,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn link_from_row(row: &DbRow) -> Result<crate::goals::DataLink> {
            Ok(crate::goals::DataLink {
                id: row.try_get("id")?,
                okr_id: row.try_get("okr_id")?,
                connection_id: row.try_get("connection_id")?,
                rule: json_from_db(row.try_get("rule")?)?,
                query: json_from_db(row.try_get("query")?)?,
                refresh_interval_secs: row.try_get("refresh_interval_secs")?,
                next_refresh_at: from_db(row.try_get("next_refresh_at")?)?,
                last_attempt_at: opt_from_db(row.try_get("last_attempt_at")?)?,
                last_success_at: opt_from_db(row.try_get("last_success_at")?)?,
                last_full_at: opt_from_db(row.try_get("last_full_at")?)?,
                last_error: row.try_get("last_error")?,
                last_error_code: row.try_get("last_error_code")?,
                failures: i64::from(row.try_get::<i32, _>("failures")?),
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn check_in_from_row(row: &DbRow) -> Result<crate::goals::CheckInRecord> {
            let status: Option<String> = row.try_get("status_override")?;
            Ok(crate::goals::CheckInRecord {
                id: row.try_get("id")?,
                okr_id: row.try_get("okr_id")?,
                author_id: row.try_get("author_id")?,
                value: row.try_get("value")?,
                status_override: status
                    .map(|s| cairn_core::goals::Status::parse(&s).ok_or_else(|| crate::goals::invalid("status", &s)))
                    .transpose()?,
                confidence: row
                    .try_get::<Option<String>, _>("confidence")?
                    .map(|s| cairn_core::goals::Status::parse(&s).ok_or_else(|| crate::goals::invalid("confidence", &s)))
                    .transpose()?,
                note: row.try_get("note")?,
                created_at: from_db(row.try_get("created_at")?)?,
                updated_at: from_db(row.try_get("updated_at")?)?,
            })
        }

        fn period_from_row(row: &DbRow) -> Result<crate::goals::Period> {
            Ok(crate::goals::Period {
                id: row.try_get("id")?,
                name: row.try_get("name")?,
                starts_on: crate::goals::date_from_db(&row.try_get::<String, _>("starts_on")?)?,
                ends_on: crate::goals::date_from_db(&row.try_get::<String, _>("ends_on")?)?,
                check_in_every_days: i64::from(row.try_get::<i32, _>("check_in_every_days")?),
                created_at: from_db(row.try_get("created_at")?)?,
            })
        }

        fn measure_json(measure: &cairn_core::goals::Measure) -> Result<serde_json::Value> {
            serde_json::to_value(measure).map_err(|e| StoreError::InvalidData(format!("okr measure: {e}")))
        }

        #[async_trait::async_trait]
        impl crate::goals::GoalStore for $store {
            async fn list_periods(&self) -> Result<Vec<crate::goals::Period>> {
                let rows = sqlx::query("SELECT id, name, starts_on, ends_on, check_in_every_days, created_at FROM periods ORDER BY starts_on, id")
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(period_from_row).collect()
            }

            async fn get_period(&self, id: i64) -> Result<Option<crate::goals::Period>> {
                let row = sqlx::query("SELECT id, name, starts_on, ends_on, check_in_every_days, created_at FROM periods WHERE id = $1")
                    .bind(id)
                    .fetch_optional(&self.pool)
                    .await?;
                row.as_ref().map(period_from_row).transpose()
            }

            async fn get_okr(&self, id: i64) -> Result<Option<crate::goals::Okr>> {
                let sql = format!("SELECT {OKR_COLUMNS} FROM okrs WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(okr_from_row).transpose()
            }

            async fn list_okrs(&self, period_id: Option<i64>) -> Result<Vec<crate::goals::Okr>> {
                let sql = format!(
                    "SELECT {OKR_COLUMNS} FROM okrs WHERE ($1 IS NULL OR period_id = $1) ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(period_id).fetch_all(&self.pool).await?;
                rows.iter().map(okr_from_row).collect()
            }

            async fn filter_okrs(&self, f: &crate::goals::OkrFilter) -> Result<Vec<crate::goals::Okr>> {
                let sql = format!(
                    "SELECT {OKR_COLUMNS} FROM okrs WHERE ($1 IS NULL OR period_id = $1) \
                     AND ($2 IS NULL OR owner_id = $2) AND ($3 IS NULL OR owner_team_id = $3) \
                     AND ($4 IS NULL OR status = $4) \
                     AND ($5 IS NULL OR owner_id = $5 OR owner_team_id IN \
                          (SELECT team_id FROM team_members WHERE user_id = $5)) ORDER BY id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(f.period_id)
                    .bind(f.owner_id)
                    .bind(f.team_id)
                    .bind(f.status.map(|s| s.as_str()))
                    .bind(f.mine_of)
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(okr_from_row).collect()
            }

            async fn child_okrs(&self, parent_id: i64) -> Result<Vec<crate::goals::Okr>> {
                let sql = format!("SELECT {OKR_COLUMNS} FROM okrs WHERE parent_id = $1 ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(parent_id).fetch_all(&self.pool).await?;
                rows.iter().map(okr_from_row).collect()
            }

            async fn latest_check_ins(&self, period_id: i64) -> Result<Vec<(i64, DateTime<Utc>)>> {
                let rows = sqlx::query(
                    "SELECT c.okr_id, MAX(c.created_at) AS latest FROM check_ins c \
                     JOIN okrs o ON o.id = c.okr_id WHERE o.period_id = $1 GROUP BY c.okr_id",
                )
                .bind(period_id)
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| Ok((row.try_get("okr_id")?, from_db(row.try_get("latest")?)?)))
                    .collect()
            }

            async fn list_check_ins(&self, okr_id: i64) -> Result<Vec<crate::goals::CheckInRecord>> {
                let sql = format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE okr_id = $1 ORDER BY created_at, id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(okr_id).fetch_all(&self.pool).await?;
                rows.iter().map(check_in_from_row).collect()
            }

            async fn get_check_in(&self, id: i64) -> Result<Option<crate::goals::CheckInRecord>> {
                let sql = format!("SELECT {CHECK_IN_COLUMNS} FROM check_ins WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(check_in_from_row).transpose()
            }

            async fn get_link(&self, id: i64) -> Result<Option<crate::goals::DataLink>> {
                let sql = format!("SELECT {LINK_COLUMNS} FROM data_links WHERE id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
                row.as_ref().map(link_from_row).transpose()
            }

            async fn link_for_okr(&self, okr_id: i64) -> Result<Option<crate::goals::DataLink>> {
                let sql = format!("SELECT {LINK_COLUMNS} FROM data_links WHERE okr_id = $1");
                let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(okr_id).fetch_optional(&self.pool).await?;
                row.as_ref().map(link_from_row).transpose()
            }

            async fn due_links(&self, now: DateTime<Utc>, limit: u32) -> Result<Vec<crate::goals::DataLink>> {
                let sql = format!(
                    "SELECT {LINK_COLUMNS} FROM data_links WHERE next_refresh_at <= $1 ORDER BY next_refresh_at, id LIMIT $2"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                    .bind(to_db(now))
                    .bind(i64::from(limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(link_from_row).collect()
            }

            async fn links_for_connection(&self, connection_id: i64) -> Result<Vec<crate::goals::DataLink>> {
                let sql = format!("SELECT {LINK_COLUMNS} FROM data_links WHERE connection_id = $1 ORDER BY id");
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(connection_id).fetch_all(&self.pool).await?;
                rows.iter().map(link_from_row).collect()
            }

            async fn links_with_item(&self, connection_id: i64, key: &str) -> Result<Vec<i64>> {
                let ids: Vec<i64> = sqlx::query_scalar(
                    "SELECT l.link_id FROM items i JOIN link_items l ON l.item_id = i.id \
                     WHERE i.connection_id = $1 AND i.key = $2 ORDER BY l.link_id",
                )
                .bind(connection_id)
                .bind(key)
                .fetch_all(&self.pool)
                .await?;
                Ok(ids)
            }

            async fn link_items(&self, link_id: i64) -> Result<Vec<cairn_core::goals::ItemSnapshot>> {
                // One JSON document instead of one row per item: a link can
                // hold 100,000 items and decoding rows one by one costs far
                // more than the rules applied to them.
                let text: Option<String> = sqlx::query_scalar(LINK_ITEMS_AS_JSON)
                    .bind(link_id)
                    .fetch_one(&self.pool)
                    .await?;
                crate::goals::items_from_json(text.as_deref().unwrap_or("[]"))
            }

            async fn link_item_numbers(&self, link_id: i64) -> Result<Vec<cairn_core::goals::ItemSnapshot>> {
                let text: Option<String> = sqlx::query_scalar(LINK_ITEM_NUMBERS_AS_JSON)
                    .bind(link_id)
                    .fetch_one(&self.pool)
                    .await?;
                crate::goals::items_from_json(text.as_deref().unwrap_or("[]"))
            }

            async fn links_in_period(&self, period_id: i64) -> Result<Vec<crate::goals::DataLink>> {
                let sql = format!(
                    "SELECT {LINK_COLUMNS} FROM data_links \
                     WHERE okr_id IN (SELECT id FROM okrs WHERE period_id = $1) ORDER BY okr_id"
                );
                let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(period_id).fetch_all(&self.pool).await?;
                rows.iter().map(link_from_row).collect()
            }

            async fn status_points_since(
                &self,
                period_id: i64,
                since: DateTime<Utc>,
            ) -> Result<Vec<(i64, cairn_core::goals::StatusPoint)>> {
                let rows = sqlx::query(
                    "SELECT p.okr_id, p.at, p.status FROM progress_points p JOIN okrs o ON o.id = p.okr_id \
                     WHERE o.period_id = $1 AND (p.at >= $2 OR p.id = \
                       (SELECT q.id FROM progress_points q WHERE q.okr_id = p.okr_id AND q.at < $2 \
                        ORDER BY q.at DESC, q.id DESC LIMIT 1)) \
                     ORDER BY p.okr_id, p.at, p.id",
                )
                .bind(period_id)
                .bind(to_db(since))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let status: String = row.try_get("status")?;
                        Ok((
                            row.try_get("okr_id")?,
                            cairn_core::goals::StatusPoint {
                                at: from_db(row.try_get("at")?)?,
                                status: cairn_core::goals::Status::parse(&status)
                                    .ok_or_else(|| crate::goals::invalid("status", &status))?,
                            },
                        ))
                    })
                    .collect()
            }

            async fn progress_points(&self, okr_id: i64, limit: u32) -> Result<Vec<crate::goals::ProgressPoint>> {
                let rows = sqlx::query(
                    "SELECT id, okr_id, at, value, percent, expected_percent, status, source, note \
                     FROM progress_points WHERE okr_id = $1 ORDER BY at DESC, id DESC LIMIT $2",
                )
                .bind(okr_id)
                .bind(i64::from(limit))
                .fetch_all(&self.pool)
                .await?;
                rows.iter()
                    .map(|row| {
                        let status: String = row.try_get("status")?;
                        Ok(crate::goals::ProgressPoint {
                            id: row.try_get("id")?,
                            okr_id: row.try_get("okr_id")?,
                            at: from_db(row.try_get("at")?)?,
                            value: row.try_get("value")?,
                            percent: row.try_get("percent")?,
                            expected_percent: row.try_get("expected_percent")?,
                            status: cairn_core::goals::Status::parse(&status)
                                .ok_or_else(|| crate::goals::invalid("status", &status))?,
                            source: row.try_get("source")?,
                            note: row.try_get("note")?,
                        })
                    })
                    .collect()
            }
        }

        #[async_trait::async_trait]
        impl crate::goals::GoalTx for $tx {
            async fn create_period(&mut self, name: &str, starts_on: chrono::NaiveDate, ends_on: chrono::NaiveDate, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO periods (name, starts_on, ends_on, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
                )
                .bind(name)
                .bind(crate::goals::date_to_db(starts_on))
                .bind(crate::goals::date_to_db(ends_on))
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await
                .map_err(crate::error::conflict_on("name"))?;
                Ok(id)
            }

            async fn set_check_in_cadence(&mut self, period_id: i64, every_days: i64) -> Result<bool> {
                let result = sqlx::query("UPDATE periods SET check_in_every_days = $1 WHERE id = $2")
                    .bind(every_days as i32)
                    .bind(period_id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn mark_check_in_reminded(&mut self, okr_id: i64, due_since: DateTime<Utc>) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE okrs SET check_in_reminded_for = $1 WHERE id = $2 \
                     AND (check_in_reminded_for IS NULL OR check_in_reminded_for < $1)",
                )
                .bind(to_db(due_since))
                .bind(okr_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn create_okr(&mut self, f: &crate::goals::OkrFields, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO okrs (kind, title, description, owner_id, period_id, parent_id, starts_on, due_on, \
                     measure, weight, contributes, progress_source, created_at, updated_at, owner_team_id) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13, $14) RETURNING id",
                )
                .bind(f.kind.as_str())
                .bind(&f.title)
                .bind(&f.description)
                .bind(f.owner_id)
                .bind(f.period_id)
                .bind(f.parent_id)
                .bind(crate::goals::date_to_db(f.starts_on))
                .bind(crate::goals::date_to_db(f.due_on))
                .bind(json_to_db(&measure_json(&f.measure)?))
                .bind(f.weight)
                .bind(f.contributes)
                .bind(f.progress_source.as_str())
                .bind(to_db(now))
                .bind(f.owner_team_id)
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn update_okr(&mut self, id: i64, f: &crate::goals::OkrFields, now: DateTime<Utc>) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE okrs SET kind = $1, title = $2, description = $3, owner_id = $4, period_id = $5, \
                     parent_id = $6, starts_on = $7, due_on = $8, measure = $9, weight = $10, contributes = $11, \
                     progress_source = $12, updated_at = $13, owner_team_id = $15 WHERE id = $14",
                )
                .bind(f.kind.as_str())
                .bind(&f.title)
                .bind(&f.description)
                .bind(f.owner_id)
                .bind(f.period_id)
                .bind(f.parent_id)
                .bind(crate::goals::date_to_db(f.starts_on))
                .bind(crate::goals::date_to_db(f.due_on))
                .bind(json_to_db(&measure_json(&f.measure)?))
                .bind(f.weight)
                .bind(f.contributes)
                .bind(f.progress_source.as_str())
                .bind(to_db(now))
                .bind(id)
                .bind(f.owner_team_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn delete_okr(&mut self, id: i64) -> Result<bool> {
                sqlx::query("UPDATE okrs SET parent_id = NULL WHERE parent_id = $1")
                    .bind(id)
                    .execute(&mut *self.tx)
                    .await?;
                let result = sqlx::query("DELETE FROM okrs WHERE id = $1").bind(id).execute(&mut *self.tx).await?;
                Ok(result.rows_affected() == 1)
            }

            async fn create_check_in(
                &mut self,
                okr_id: i64,
                author_id: i64,
                f: &crate::goals::CheckInFields<'_>,
                now: DateTime<Utc>,
            ) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO check_ins (okr_id, author_id, value, status_override, note, created_at, updated_at, confidence) \
                     VALUES ($1, $2, $3, $4, $5, $6, $6, $7) RETURNING id",
                )
                .bind(okr_id)
                .bind(author_id)
                .bind(f.value)
                .bind(f.status_override.map(|s| s.as_str()))
                .bind(f.note)
                .bind(to_db(now))
                .bind(f.confidence.map(|s| s.as_str()))
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn update_check_in(
                &mut self,
                id: i64,
                f: &crate::goals::CheckInFields<'_>,
                now: DateTime<Utc>,
            ) -> Result<bool> {
                let result = sqlx::query(
                    "UPDATE check_ins SET value = $1, status_override = $2, note = $3, updated_at = $4, confidence = $6 WHERE id = $5",
                )
                .bind(f.value)
                .bind(f.status_override.map(|s| s.as_str()))
                .bind(f.note)
                .bind(to_db(now))
                .bind(id)
                .bind(f.confidence.map(|s| s.as_str()))
                .execute(&mut *self.tx)
                .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn delete_check_in(&mut self, id: i64) -> Result<bool> {
                let result = sqlx::query("DELETE FROM check_ins WHERE id = $1").bind(id).execute(&mut *self.tx).await?;
                Ok(result.rows_affected() == 1)
            }

            async fn put_link(&mut self, okr_id: i64, f: &crate::goals::LinkFields, now: DateTime<Utc>) -> Result<i64> {
                let id = sqlx::query_scalar(
                    "INSERT INTO data_links (okr_id, connection_id, rule, query, refresh_interval_secs, \
                     next_refresh_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6, $6) \
                     ON CONFLICT (okr_id) DO UPDATE SET connection_id = excluded.connection_id, \
                     rule = excluded.rule, query = excluded.query, \
                     refresh_interval_secs = excluded.refresh_interval_secs, \
                     next_refresh_at = excluded.next_refresh_at, updated_at = excluded.updated_at, \
                     last_full_at = NULL, failures = 0 \
                     RETURNING id",
                )
                .bind(okr_id)
                .bind(f.connection_id)
                .bind(json_to_db(&f.rule))
                .bind(json_to_db(&f.query))
                .bind(f.refresh_interval_secs)
                .bind(to_db(now))
                .fetch_one(&mut *self.tx)
                .await?;
                Ok(id)
            }

            async fn delete_link_of_okr(&mut self, okr_id: i64) -> Result<bool> {
                let result = sqlx::query("DELETE FROM data_links WHERE okr_id = $1")
                    .bind(okr_id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(result.rows_affected() == 1)
            }

            async fn record_refresh(&mut self, link_id: i64, record: &crate::goals::RefreshRecord, now: DateTime<Utc>) -> Result<()> {
                match record {
                    crate::goals::RefreshRecord::Succeeded { full, next_refresh_at } => {
                        let okr_id: Option<i64> = sqlx::query_scalar(
                            "UPDATE data_links SET last_attempt_at = $1, last_success_at = $1, \
                             last_full_at = CASE WHEN $2 THEN $1 ELSE last_full_at END, \
                             next_refresh_at = $3, failures = 0, last_error = NULL, last_error_code = NULL \
                             WHERE id = $4 RETURNING okr_id",
                        )
                        .bind(to_db(now))
                        .bind(*full)
                        .bind(to_db(*next_refresh_at))
                        .bind(link_id)
                        .fetch_optional(&mut *self.tx)
                        .await?;
                        // Live pages show when the link last synced: they
                        // hear of every refresh, not only of new numbers.
                        if let Some(okr_id) = okr_id {
                            self.changed.push(okr_id);
                        }
                    }
                    crate::goals::RefreshRecord::Failed { code, message, next_refresh_at } => {
                        sqlx::query(
                            "UPDATE data_links SET last_attempt_at = $1, last_error_code = $2, last_error = $3, \
                             next_refresh_at = $4, failures = failures + 1 WHERE id = $5",
                        )
                        .bind(to_db(now))
                        .bind(code)
                        .bind(message)
                        .bind(to_db(*next_refresh_at))
                        .bind(link_id)
                        .execute(&mut *self.tx)
                        .await?;
                    }
                }
                Ok(())
            }

            async fn defer_link(&mut self, link_id: i64, until: DateTime<Utc>) -> Result<()> {
                sqlx::query("UPDATE data_links SET next_refresh_at = $1 WHERE id = $2")
                    .bind(to_db(until))
                    .bind(link_id)
                    .execute(&mut *self.tx)
                    .await?;
                Ok(())
            }

            async fn upsert_items(
                &mut self,
                connection_id: i64,
                items: &[cairn_core::goals::ItemSnapshot],
                now: DateTime<Utc>,
            ) -> Result<Vec<i64>> {
                let ids = self.write_items(connection_id, items, now, false).await?;
                ids.into_iter()
                    .map(|id| id.ok_or_else(|| StoreError::InvalidData("an upserted item has no id".into())))
                    .collect()
            }

            async fn upsert_items_if_newer(
                &mut self,
                connection_id: i64,
                items: &[cairn_core::goals::ItemSnapshot],
                now: DateTime<Utc>,
            ) -> Result<Vec<Option<i64>>> {
                self.write_items(connection_id, items, now, true).await
            }

            async fn change_link_items(&mut self, link_id: i64, add: &[i64], remove: &[i64]) -> Result<()> {
                for chunk in add.chunks(crate::goals::ROWS_PER_STATEMENT) {
                    let mut insert =
                        sqlx::QueryBuilder::<Db>::new("INSERT INTO link_items (link_id, item_id) ");
                    insert.push_values(chunk, |mut row, item| {
                        row.push_bind(link_id).push_bind(*item);
                    });
                    insert.push(" ON CONFLICT DO NOTHING");
                    insert.build().execute(&mut *self.tx).await?;
                }
                for chunk in remove.chunks(crate::goals::ROWS_PER_STATEMENT) {
                    let mut delete = sqlx::QueryBuilder::<Db>::new("DELETE FROM link_items WHERE link_id = ");
                    delete.push_bind(link_id).push(" AND item_id IN (");
                    let mut ids = delete.separated(", ");
                    for item in chunk {
                        ids.push_bind(*item);
                    }
                    delete.push(")");
                    delete.build().execute(&mut *self.tx).await?;
                }
                Ok(())
            }

            async fn replace_link_items(&mut self, link_id: i64, items: &[i64]) -> Result<()> {
                sqlx::query("DELETE FROM link_items WHERE link_id = $1")
                    .bind(link_id)
                    .execute(&mut *self.tx)
                    .await?;
                self.change_link_items(link_id, items, &[]).await
            }

            async fn remove_link_items_by_key(&mut self, link_id: i64, keys: &[String]) -> Result<u64> {
                let mut removed = 0;
                for key in keys {
                    removed += sqlx::query(
                        "DELETE FROM link_items WHERE link_id = $1 AND item_id IN \
                         (SELECT i.id FROM items i JOIN data_links d ON d.connection_id = i.connection_id \
                          WHERE d.id = $1 AND i.key = $2)",
                    )
                    .bind(link_id)
                    .bind(key)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                }
                Ok(removed)
            }

            async fn mark_recompute_pending(
                &mut self,
                okr_id: i64,
                pending: &crate::goals::PendingRecompute,
                replace: bool,
            ) -> Result<Option<crate::goals::PendingRecompute>> {
                let sql = if replace {
                    "UPDATE okrs SET recompute_pending_at = $1, recompute_pending_note = $2 WHERE id = $3"
                } else {
                    "UPDATE okrs SET recompute_pending_at = $1, recompute_pending_note = $2 \
                     WHERE id = $3 AND recompute_pending_at IS NULL"
                };
                let marked = sqlx::query(sql)
                    .bind(to_db(pending.at))
                    .bind(pending.note.as_str())
                    .bind(okr_id)
                    .execute(&mut *self.tx)
                    .await?
                    .rows_affected();
                if marked > 0 || replace {
                    return Ok(None);
                }
                // Rare: a change before this one is still to be recorded.
                let row = sqlx::query(
                    "SELECT recompute_pending_at, recompute_pending_note FROM okrs WHERE id = $1",
                )
                .bind(okr_id)
                .fetch_optional(&mut *self.tx)
                .await?;
                let Some(row) = row else {
                    return Ok(None);
                };
                let Some(at) = opt_from_db(row.try_get("recompute_pending_at")?)? else {
                    return Ok(None);
                };
                let note: Option<String> = row.try_get("recompute_pending_note")?;
                Ok(Some(crate::goals::PendingRecompute {
                    at,
                    note: note.unwrap_or_default(),
                }))
            }

            async fn clear_recompute_pending(&mut self, okr_id: i64) -> Result<()> {
                sqlx::query(
                    "UPDATE okrs SET recompute_pending_at = NULL, recompute_pending_note = NULL \
                     WHERE id = $1 AND recompute_pending_at IS NOT NULL",
                )
                .bind(okr_id)
                .execute(&mut *self.tx)
                .await?;
                Ok(())
            }

            async fn record_progress(
                &mut self,
                okr_id: i64,
                p: &crate::goals::OkrProgress,
                source: &str,
                note: &str,
                settles: bool,
            ) -> Result<()> {
                let sql = if settles {
                    "UPDATE okrs SET value = $1, percent = $2, expected_percent = $3, status = $4, computed_at = $5, \
                     recompute_pending_at = NULL, recompute_pending_note = NULL WHERE id = $6"
                } else {
                    "UPDATE okrs SET value = $1, percent = $2, expected_percent = $3, status = $4, computed_at = $5 \
                     WHERE id = $6"
                };
                sqlx::query(sql)
                .bind(p.value)
                .bind(p.percent)
                .bind(p.expected_percent)
                .bind(p.status.as_str())
                .bind(to_db(p.computed_at))
                .bind(okr_id)
                .execute(&mut *self.tx)
                .await?;
                sqlx::query(
                    "INSERT INTO progress_points (okr_id, at, value, percent, expected_percent, status, source, note) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(okr_id)
                .bind(to_db(p.computed_at))
                .bind(p.value)
                .bind(p.percent)
                .bind(p.expected_percent)
                .bind(p.status.as_str())
                .bind(source)
                .bind(note)
                .execute(&mut *self.tx)
                .await?;
                self.changed.push(okr_id);
                Ok(())
            }

            async fn insert_past_progress(
                &mut self,
                okr_id: i64,
                points: &[crate::goals::OkrProgress],
                source: &str,
                note: &str,
            ) -> Result<()> {
                for chunk in points.chunks(crate::goals::ROWS_PER_STATEMENT) {
                    let mut insert = sqlx::QueryBuilder::<Db>::new(
                        "INSERT INTO progress_points (okr_id, at, value, percent, expected_percent, status, source, note) ",
                    );
                    insert.push_values(chunk, |mut row, p| {
                        row.push_bind(okr_id)
                            .push_bind(to_db(p.computed_at))
                            .push_bind(p.value)
                            .push_bind(p.percent)
                            .push_bind(p.expected_percent)
                            .push_bind(p.status.as_str())
                            .push_bind(source)
                            .push_bind(note);
                    });
                    insert.build().execute(&mut *self.tx).await?;
                }
                Ok(())
            }
        }

        impl $tx {
            /// Writes item snapshots; with `only_newer`, a stored snapshot
            /// the tracker changed later is kept (and its id is `None`).
            async fn write_items(
                &mut self,
                connection_id: i64,
                items: &[cairn_core::goals::ItemSnapshot],
                now: DateTime<Utc>,
                only_newer: bool,
            ) -> Result<Vec<Option<i64>>> {
                // One statement may not touch a row twice: the n-th snapshot of
                // a key goes in the n-th round, so repeated keys are written in
                // order, as if one by one.
                let mut seen: std::collections::HashMap<&str, usize> =
                    std::collections::HashMap::with_capacity(items.len());
                let mut rounds: Vec<Vec<(usize, &cairn_core::goals::ItemSnapshot)>> = Vec::new();
                for (position, item) in items.iter().enumerate() {
                    let round = seen.entry(item.key.as_str()).or_insert(0);
                    if rounds.len() <= *round {
                        rounds.push(Vec::new());
                    }
                    rounds[*round].push((position, item));
                    *round += 1;
                }
                let mut written = vec![None; items.len()];
                for round in &rounds {
                    let mut ids: std::collections::HashMap<String, i64> =
                        std::collections::HashMap::with_capacity(round.len());
                    let unique: Vec<&cairn_core::goals::ItemSnapshot> = round.iter().map(|(_, item)| *item).collect();
                    for chunk in unique.chunks(crate::goals::ROWS_PER_STATEMENT) {
                        let customs = chunk
                            .iter()
                            .map(|item| {
                                serde_json::to_value(&item.custom_fields).map_err(|e| {
                                    StoreError::InvalidData(format!("item custom fields: {e}"))
                                })
                            })
                            .collect::<Result<Vec<_>>>()?;
                        let mut insert = sqlx::QueryBuilder::<Db>::new(
                            "INSERT INTO items (connection_id, key, title, url, state, done, tasks_total, tasks_done, \
                             time_spent_seconds, original_estimate_seconds, remaining_estimate_seconds, story_points, \
                             custom_fields, remote_updated_at, fetched_at, numbers, created_at, done_at) ",
                        );
                        insert.push_values(chunk.iter().zip(&customs), |mut row, (item, custom)| {
                            row.push_bind(connection_id)
                                .push_bind(item.key.as_str())
                                .push_bind(item.title.as_str())
                                .push_bind(item.url.as_str())
                                .push_bind(item.state.as_str())
                                .push_bind(item.done)
                                .push_bind(i32::try_from(item.tasks_total).unwrap_or(i32::MAX))
                                .push_bind(i32::try_from(item.tasks_done).unwrap_or(i32::MAX))
                                .push_bind(item.time_spent_seconds)
                                .push_bind(item.original_estimate_seconds)
                                .push_bind(item.remaining_estimate_seconds)
                                .push_bind(item.story_points)
                                .push_bind(json_to_db(custom))
                                .push_bind(to_db(item.updated_at))
                                .push_bind(to_db(now))
                                .push_bind(crate::goals::numbers_json(item))
                                .push_bind(item.created_at.map(to_db))
                                .push_bind(item.done_at.map(to_db));
                        });
                        insert.push(
                            " ON CONFLICT (connection_id, key) DO UPDATE SET title = excluded.title, url = excluded.url, \
                             state = excluded.state, done = excluded.done, tasks_total = excluded.tasks_total, \
                             tasks_done = excluded.tasks_done, time_spent_seconds = excluded.time_spent_seconds, \
                             original_estimate_seconds = excluded.original_estimate_seconds, \
                             remaining_estimate_seconds = excluded.remaining_estimate_seconds, \
                             story_points = excluded.story_points, custom_fields = excluded.custom_fields, \
                             remote_updated_at = excluded.remote_updated_at, fetched_at = excluded.fetched_at, \
                             numbers = excluded.numbers, created_at = COALESCE(excluded.created_at, items.created_at), \
                             done_at = CASE WHEN excluded.done THEN COALESCE(excluded.done_at, items.done_at) END",
                        );
                        if only_newer {
                            // A late or reordered delivery never overwrites a newer snapshot.
                            insert.push(" WHERE items.remote_updated_at <= excluded.remote_updated_at");
                        }
                        insert.push(" RETURNING id, key");
                        for row in insert.build().fetch_all(&mut *self.tx).await? {
                            ids.insert(row.try_get("key")?, row.try_get("id")?);
                        }
                    }
                    for (position, item) in round {
                        written[*position] = ids.get(&item.key).copied();
                    }
                }
                Ok(written)
            }
        }
    };
}

pub(crate) use impl_goals;
