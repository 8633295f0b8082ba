//! Time: GitLab activity turned into suggested worklogs (issue 17).
//!
//! - [`ingest`]: project hooks into activities of connected people.
//! - [`backfill`]: the last 30 days from the Events and Commits APIs.
//! - Suggestions are computed on read from stored activity with
//!   `cairn_core::worklogs` (never stored); only decisions are kept, by the
//!   suggestion's key, so they survive recomputation.
//! - [`write`]: an accepted suggestion becomes a Jira worklog or GitLab
//!   spent time exactly once (intent row, marker, look before writing
//!   again).
//!
//! Privacy: a person reads only their own activity and suggestions; an
//! admin reads totals per person and project, never the items.

pub mod backfill;
pub mod ingest;
pub mod links;
pub mod write;

use std::collections::HashMap;
use std::sync::Arc;

use cairn_connect::{GitLabClient, HttpConfig, JiraClient};
use cairn_core::activity::Target;
use cairn_core::authz::Role;
use cairn_core::worklogs::{
    DayTotal, LoggedWork, Suggestion, SuggestionRule, TimedActivity, Tz, WorklogSettings,
    day_start, day_totals, parse_time_zone, suggest, week_start,
};
use cairn_store::time::{
    ActivityTotal, Decision, Disconnected, MatchedBy, NewTimeDecision, NewTimePerson,
    RegisteredHook, StoredActivity, TimePerson, TimeSource, TimeSourceSettings, WatchedProject,
    WorklogWrite, WriteState,
};
use cairn_store::{NewAuditEntry, Store, StoreError};
use chrono::{DateTime, Duration, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;

use crate::accounts::Authenticated;
use crate::clients::Clients;
use crate::error::EngineError;
use crate::keyring::Keyring;

pub use ingest::IngestCounts;

/// How the time engine talks to trackers.
#[derive(Debug, Clone, Default)]
pub struct TimeSettings {
    pub http: HttpConfig,
}

/// Activity, suggestions and worklogs.
pub struct TimeEngine {
    pub(crate) store: Arc<dyn Store>,
    pub(crate) clients: Clients,
}

/// What an admin sends to set the organisation's source.
#[derive(Debug, Clone)]
pub struct SourceInput {
    pub connection_id: i64,
    pub jira_connection_id: Option<i64>,
    pub enabled: bool,
    /// Projects to watch by path or id; empty: every project the token
    /// sees as Owner or Maintainer.
    pub projects: Vec<String>,
    pub settings: Option<WorklogSettings>,
}

/// Linking a person to a GitLab account.
#[derive(Debug, Clone)]
pub struct PersonInput {
    pub user_id: i64,
    pub gitlab_user_id: i64,
    pub gitlab_username: String,
    pub gitlab_email: Option<String>,
    pub time_zone: String,
    /// Their own connection (worklogs written as them).
    pub own_connection_id: Option<i64>,
    pub matched_by: MatchedBy,
}

/// The GitLab account a Cairn user matches, shown before connecting.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct PersonMatch {
    pub user_id: i64,
    pub email: String,
    pub name: String,
    pub gitlab_user_id: Option<i64>,
    pub gitlab_username: Option<String>,
    pub gitlab_email: Option<String>,
    /// `email`, `username`, or none (no match).
    pub matched_by: Option<MatchedBy>,
}

/// A suggestion as a person sees it, with what they decided.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SuggestionView {
    /// Stable while later activity joins (`Suggestion::key`).
    pub key: String,
    pub day: NaiveDate,
    pub start: DateTime<Utc>,
    pub minutes: u32,
    /// `AE-12` or `group/project#12`; none: unassigned.
    pub target: Option<String>,
    pub activity_ids: Vec<i64>,
    #[schema(value_type = Object)]
    pub rule: SuggestionRule,
    pub explanation: String,
    /// `pending`, `accepted`, `edited` or `dismissed`.
    pub state: String,
    /// The decision (and worklog marker) id once decided.
    pub decision_id: Option<i64>,
}

/// One of a person's activities.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ActivityView {
    pub id: i64,
    pub kind: String,
    pub occurred_at: DateTime<Utc>,
    pub project: String,
    pub target: Option<String>,
    pub title: String,
    pub url: Option<String>,
}

/// A worklog Cairn wrote (or is writing) for the person.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WorklogView {
    pub id: i64,
    pub decision_id: i64,
    pub tracker: String,
    pub target: String,
    pub started_at: DateTime<Utc>,
    pub minutes: u32,
    pub state: String,
    pub remote_id: Option<String>,
    pub error: Option<String>,
}

/// A person's week: days Monday to Sunday in their zone.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct WeekView {
    pub user_id: i64,
    pub time_zone: String,
    pub week_start: NaiveDate,
    #[schema(value_type = Vec<Object>)]
    pub days: Vec<DayTotal>,
    pub suggestions: Vec<SuggestionView>,
    pub activities: Vec<ActivityView>,
    pub worklogs: Vec<WorklogView>,
}

/// An admin's view: activity counts and minutes written per person and
/// project, never the items.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct TotalsView {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    #[schema(value_type = Vec<Object>)]
    pub activities: Vec<ActivityTotal>,
    /// Per user id: minutes of worklogs written.
    pub written_minutes: Vec<(i64, u64)>,
}

impl TimeEngine {
    pub fn new(store: Arc<dyn Store>, keyring: Arc<Keyring>, settings: TimeSettings) -> Self {
        TimeEngine {
            clients: Clients::new(keyring, settings.http),
            store,
        }
    }

    /// The source when it is enabled and reads `connection_id`.
    pub(crate) async fn active_source(
        &self,
        connection_id: i64,
    ) -> Result<Option<TimeSource>, EngineError> {
        Ok(self
            .store
            .get_time_source()
            .await?
            .filter(|s| s.source.enabled && s.source.connection_id == connection_id))
    }

    /// Whether pushes, merge requests and comments delivered by this GitLab
    /// connection are wanted: for people's activity (the enabled source)
    /// or for Jira development links.
    pub(crate) async fn reads_gitlab_activity(
        &self,
        connection_id: i64,
    ) -> Result<bool, EngineError> {
        Ok(self.active_source(connection_id).await?.is_some()
            || !self
                .store
                .dev_link_pairs_of(connection_id)
                .await?
                .is_empty())
    }

    pub(crate) async fn gitlab_client(
        &self,
        connection_id: i64,
    ) -> Result<GitLabClient, EngineError> {
        let connection = self
            .store
            .get_connection(connection_id)
            .await?
            .ok_or_else(|| EngineError::invalid("connection_id", "no such connection"))?;
        self.clients.gitlab(&connection)
    }

    pub(crate) async fn jira_client(&self, connection_id: i64) -> Result<JiraClient, EngineError> {
        let connection = self
            .store
            .get_connection(connection_id)
            .await?
            .ok_or_else(|| EngineError::invalid("jira_connection_id", "no such connection"))?;
        self.clients.jira(&connection)
    }

    // ------------------------------------------------------------ source

    /// Sets the organisation's source (admin). Projects named are checked
    /// on GitLab; none named: every project the token sees as Owner or
    /// Maintainer, with its role.
    pub async fn set_source(
        &self,
        by: &Authenticated,
        input: SourceInput,
        now: DateTime<Utc>,
    ) -> Result<TimeSource, EngineError> {
        require_admin(by)?;
        let settings = input.settings.unwrap_or_default();
        settings
            .validate()
            .map_err(|e| EngineError::invalid(e.field(), e.to_string()))?;
        let connection = self
            .store
            .get_connection(input.connection_id)
            .await?
            .ok_or_else(|| EngineError::invalid("connection_id", "no such connection"))?;
        if connection.kind != cairn_core::integrations::IntegrationKind::Gitlab {
            return Err(EngineError::invalid(
                "connection_id",
                "the activity source is a GitLab connection",
            ));
        }
        if let Some(jira) = input.jira_connection_id {
            let ok = self
                .store
                .get_connection(jira)
                .await?
                .is_some_and(|c| c.kind == cairn_core::integrations::IntegrationKind::Jira);
            if !ok {
                return Err(EngineError::invalid(
                    "jira_connection_id",
                    "not a Jira connection",
                ));
            }
        }
        let client = self.clients.gitlab(&connection)?;
        let watch_all = input.projects.is_empty();
        let projects = self.watched_projects(&client, &input.projects).await?;
        let before = self.store.get_time_source().await?;
        let source = TimeSourceSettings {
            connection_id: connection.id,
            jira_connection_id: input.jira_connection_id,
            enabled: input.enabled,
            watch_all,
            projects,
            settings,
        };
        let mut tx = self.store.begin().await?;
        tx.save_time_source(&source, now).await?;
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "time.source_saved".to_owned(),
                subject: format!("connection:{}", connection.id),
                detail: json!({
                    "enabled": source.enabled,
                    "projects": source.projects.iter().map(|p| &p.path).collect::<Vec<_>>(),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        // Enabling fills the last 30 days (once; hooks keep it current).
        let was_enabled = before.as_ref().is_some_and(|b| {
            b.source.enabled && b.source.connection_id == connection.id && b.backfilled_at.is_some()
        });
        if source.enabled && !was_enabled {
            self.enqueue_backfill(now).await?;
        }
        self.store
            .get_time_source()
            .await?
            .ok_or_else(|| EngineError::NotFound("no activity source".to_owned()))
    }

    async fn watched_projects(
        &self,
        client: &GitLabClient,
        named: &[String],
    ) -> Result<Vec<WatchedProject>, EngineError> {
        use cairn_connect::gitlab::{ProjectFilter, ProjectRef};
        let upstream = |e: cairn_connect::ConnectError| EngineError::Upstream(e.diagnosis());
        let role_of = |p: &cairn_connect::gitlab::Project| role_name(access_level(p));
        if named.is_empty() {
            let all = client
                .projects(&ProjectFilter {
                    membership: true,
                    ..ProjectFilter::default()
                })
                .collect_all()
                .await
                .map_err(upstream)?;
            return Ok(all
                .into_iter()
                .filter(|p| access_level(p) >= 40)
                .map(|p| WatchedProject {
                    id: i64::try_from(p.id).unwrap_or(i64::MAX),
                    role: role_of(&p),
                    path: p.path_with_namespace,
                })
                .collect());
        }
        let mut out = Vec::new();
        for name in named {
            let name = name.trim();
            let project_ref = match name.parse::<u64>() {
                Ok(id) => ProjectRef::Id(id),
                Err(_) => ProjectRef::Path(name.to_owned()),
            };
            let p = client.project(&project_ref).await.map_err(|e| {
                if e.status() == Some(404) {
                    EngineError::invalid("projects", format!("no project `{name}` on GitLab"))
                } else {
                    upstream(e)
                }
            })?;
            out.push(WatchedProject {
                id: i64::try_from(p.id).unwrap_or(i64::MAX),
                role: role_of(&p),
                path: p.path_with_namespace,
            });
        }
        Ok(out)
    }

    /// Records the hooks registered for the source (by "enable real-time"),
    /// so disconnecting removes exactly those.
    pub async fn record_hooks(
        &self,
        hooks: &[RegisteredHook],
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let mut tx = self.store.begin().await?;
        tx.save_time_source_hooks(hooks, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Registers an enabled source's project hooks with GitLab ("enable
    /// real-time", reached at `base`) and records them; `None` when the
    /// source is disabled or watches no project.
    pub async fn register_source_hooks(
        &self,
        hooks: &crate::hooks::Hooks,
        by: &Authenticated,
        source: &TimeSource,
        base: Option<&str>,
        now: DateTime<Utc>,
    ) -> Result<Option<crate::hooks::setup::RealTime>, EngineError> {
        if !source.source.enabled || source.source.projects.is_empty() {
            return Ok(None);
        }
        let paths: Vec<String> = source
            .source
            .projects
            .iter()
            .map(|p| p.path.clone())
            .collect();
        let outcome = hooks
            .enable_real_time(by, source.source.connection_id, base, paths, now)
            .await?;
        let registered: Vec<RegisteredHook> = outcome
            .registered
            .iter()
            .filter_map(|r| {
                let project = source.source.projects.iter().find(|p| p.path == r.target)?;
                Some(RegisteredHook {
                    project_id: project.id,
                    hook_id: r.hook_id.clone(),
                })
            })
            .collect();
        self.record_hooks(&registered, now).await?;
        Ok(Some(outcome))
    }

    pub async fn source(&self, by: &Authenticated) -> Result<Option<TimeSource>, EngineError> {
        require_admin(by)?;
        Ok(self.store.get_time_source().await?)
    }

    /// Disconnects the organisation (admin): the hooks Cairn registered are
    /// removed from GitLab, then every link, activity and undecided
    /// suggestion goes (written worklogs stay); audited.
    pub async fn disconnect_organisation(
        &self,
        by: &Authenticated,
        now: DateTime<Utc>,
    ) -> Result<Disconnected, EngineError> {
        require_admin(by)?;
        let Some(source) = self.store.get_time_source().await? else {
            return Err(EngineError::NotFound("no activity source".to_owned()));
        };
        let mut removed_hooks = Vec::new();
        let mut failed_hooks = Vec::new();
        if !source.registered_hooks.is_empty() {
            let client = self.gitlab_client(source.source.connection_id).await?;
            for hook in &source.registered_hooks {
                let (Ok(project), Ok(id)) =
                    (u64::try_from(hook.project_id), hook.hook_id.parse::<u64>())
                else {
                    continue;
                };
                let project_ref = cairn_connect::gitlab::ProjectRef::Id(project);
                match client.delete_hook(&project_ref, id).await {
                    Ok(()) => removed_hooks.push(hook.clone()),
                    // Already gone is what we wanted.
                    Err(e) if e.status() == Some(404) => removed_hooks.push(hook.clone()),
                    Err(e) => failed_hooks.push((hook.clone(), e.diagnosis().summary)),
                }
            }
        }
        let mut tx = self.store.begin().await?;
        let gone = tx.delete_time_source().await?;
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "time.organisation_disconnected".to_owned(),
                subject: format!("connection:{}", source.source.connection_id),
                detail: json!({
                    "people": gone.people,
                    "activities": gone.activities,
                    "hooks_removed": removed_hooks.len(),
                    "hooks_not_removed": failed_hooks.iter().map(|(h, why)| json!({
                        "project_id": h.project_id, "hook_id": h.hook_id, "reason": why,
                    })).collect::<Vec<_>>(),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(gone)
    }

    // ------------------------------------------------------------ people

    /// Links a person to a GitLab account: an admin for anyone, a member
    /// for themselves.
    pub async fn connect_person(
        &self,
        by: &Authenticated,
        input: PersonInput,
        now: DateTime<Utc>,
    ) -> Result<TimePerson, EngineError> {
        require_self_or_admin(by, input.user_id)?;
        parse_time_zone(&input.time_zone)
            .map_err(|e| EngineError::invalid("time_zone", e.to_string()))?;
        if input.gitlab_username.trim().is_empty() {
            return Err(EngineError::invalid(
                "gitlab_username",
                "a GitLab username is required",
            ));
        }
        if self.store.get_user(input.user_id).await?.is_none() {
            return Err(EngineError::invalid("user_id", "no such user"));
        }
        if let Some(own) = input.own_connection_id {
            let connection =
                self.store.get_connection(own).await?.ok_or_else(|| {
                    EngineError::invalid("own_connection_id", "no such connection")
                })?;
            if connection.owner_id != input.user_id {
                return Err(EngineError::invalid(
                    "own_connection_id",
                    "the person's own connection must be theirs",
                ));
            }
        }
        let person = NewTimePerson {
            user_id: input.user_id,
            gitlab_user_id: input.gitlab_user_id,
            gitlab_username: input.gitlab_username.trim().to_owned(),
            gitlab_email: input.gitlab_email.map(|e| e.trim().to_lowercase()),
            own_token: input.own_connection_id.is_some(),
            own_connection_id: input.own_connection_id,
            time_zone: input.time_zone,
            matched_by: if by.user.id == input.user_id && by.user.role != Role::Admin {
                MatchedBy::SelfConnected
            } else {
                input.matched_by
            },
        };
        let mut tx = self.store.begin().await?;
        tx.save_time_person(&person, now)
            .await
            .map_err(crate::error::conflicts)?;
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "time.person_connected".to_owned(),
                subject: format!("user:{}", person.user_id),
                detail: json!({
                    "gitlab_user_id": person.gitlab_user_id,
                    "matched_by": person.matched_by.as_str(),
                }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .get_time_person(person.user_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("no such person".to_owned()))
    }

    /// The GitLab account each Cairn user would be linked to (admin),
    /// for confirmation before a bulk connect: by email, else by the
    /// username the email's local part names; none when neither matches.
    pub async fn match_people(
        &self,
        by: &Authenticated,
        user_ids: &[i64],
    ) -> Result<Vec<PersonMatch>, EngineError> {
        require_admin(by)?;
        let source =
            self.store.get_time_source().await?.ok_or_else(|| {
                EngineError::invalid("source", "set up the activity source first")
            })?;
        let client = self.gitlab_client(source.source.connection_id).await?;
        let upstream = |e: cairn_connect::ConnectError| EngineError::Upstream(e.diagnosis());
        let mut out = Vec::new();
        for &user_id in user_ids {
            let user =
                self.store.get_user(user_id).await?.ok_or_else(|| {
                    EngineError::invalid("user_ids", format!("no user {user_id}"))
                })?;
            let email = user.email.to_lowercase();
            // GitLab's user search matches an email exactly (for an
            // admin's token) but may not show it: one answer is the match.
            let mut found_by_email = client.users(&email).collect_all().await.map_err(upstream)?;
            let shown = found_by_email
                .iter()
                .position(|u| u.email.as_deref().map(str::to_lowercase).as_deref() == Some(&email));
            let by_email = match shown {
                Some(i) => Some(found_by_email.swap_remove(i)),
                None if found_by_email.len() == 1 => found_by_email.pop(),
                None => None,
            };
            let local = email.split('@').next().unwrap_or_default().to_owned();
            let found = match by_email {
                Some(u) => Some((u, MatchedBy::Email)),
                None => client
                    .users(&local)
                    .collect_all()
                    .await
                    .map_err(upstream)?
                    .into_iter()
                    .find(|u| u.username.eq_ignore_ascii_case(&local))
                    .map(|u| (u, MatchedBy::Username)),
            };
            out.push(PersonMatch {
                user_id,
                email: user.email.clone(),
                name: user.name.clone(),
                gitlab_user_id: found
                    .as_ref()
                    .map(|(u, _)| i64::try_from(u.id).unwrap_or(i64::MAX)),
                gitlab_username: found.as_ref().map(|(u, _)| u.username.clone()),
                gitlab_email: found.as_ref().and_then(|(u, _)| u.email.clone()),
                matched_by: found.map(|(_, m)| m),
            });
        }
        Ok(out)
    }

    /// Unlinks a person (themselves, or an admin): their activity and
    /// undecided suggestions go; worklogs already written stay.
    pub async fn disconnect_person(
        &self,
        by: &Authenticated,
        user_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Disconnected, EngineError> {
        require_self_or_admin(by, user_id)?;
        let mut tx = self.store.begin().await?;
        let gone = tx.delete_time_person(user_id).await?;
        if gone.people == 0 {
            return Err(EngineError::NotFound("not connected".to_owned()));
        }
        tx.append_audit(
            &NewAuditEntry {
                actor: by.user.email.clone(),
                action: "time.person_disconnected".to_owned(),
                subject: format!("user:{user_id}"),
                detail: json!({ "activities": gone.activities }),
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(gone)
    }

    pub async fn person(
        &self,
        by: &Authenticated,
        user_id: i64,
    ) -> Result<Option<TimePerson>, EngineError> {
        require_self_or_admin(by, user_id)?;
        Ok(self.store.get_time_person(user_id).await?)
    }

    pub async fn people(&self, by: &Authenticated) -> Result<Vec<TimePerson>, EngineError> {
        require_admin(by)?;
        Ok(self.store.list_time_people().await?)
    }

    // ------------------------------------------------------- suggestions

    /// A person's week (only their own): activity, suggestions with what
    /// was decided, worklogs written and day totals, in their zone.
    pub async fn week(
        &self,
        by: &Authenticated,
        user_id: i64,
        day: NaiveDate,
    ) -> Result<WeekView, EngineError> {
        require_self(by, user_id)?;
        let person = self
            .store
            .get_time_person(user_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("not connected to GitLab".to_owned()))?;
        let settings = self.settings().await?;
        let zone = zone_of(&person)?;
        let monday = week_start(day);
        let sunday = monday + Duration::days(6);
        let from = day_start(zone, monday);
        let to = day_start(zone, sunday + Duration::days(1));
        let activities = self
            .store
            .list_activities(user_id, from - Duration::hours(12), to)
            .await?;
        let suggestions: Vec<Suggestion> = suggestions_of(&settings, zone, &activities)
            .into_iter()
            .filter(|s| s.day >= monday && s.day <= sunday)
            .collect();
        let decisions: HashMap<String, (i64, Decision)> = self
            .store
            .list_time_decisions(user_id, monday, sunday)
            .await?
            .into_iter()
            .map(|d| (d.decision.suggestion_key, (d.id, d.decision.decision)))
            .collect();
        let writes = self.store.list_worklog_writes(user_id, from, to).await?;
        let logged: Vec<LoggedWork> = writes
            .iter()
            .filter(|w| w.state == WriteState::Written)
            .map(|w| LoggedWork {
                started: w.write.started_at,
                seconds: w.write.minutes.saturating_mul(60),
            })
            .collect();
        let pending: Vec<Suggestion> = suggestions
            .iter()
            .filter(|s| !decisions.contains_key(&s.key()))
            .cloned()
            .collect();
        let days = day_totals(
            zone,
            monday,
            7,
            settings.daily_target_minutes,
            &logged,
            &pending,
        );
        Ok(WeekView {
            user_id,
            time_zone: person.person.time_zone.clone(),
            week_start: monday,
            days,
            suggestions: suggestions
                .into_iter()
                .map(|s| {
                    let key = s.key();
                    let (decision_id, state) = match decisions.get(&key) {
                        Some((id, d)) => (Some(*id), d.as_str().to_owned()),
                        None => (None, "pending".to_owned()),
                    };
                    SuggestionView {
                        key,
                        day: s.day,
                        start: s.start,
                        minutes: s.minutes,
                        target: s.target.as_ref().map(Target::to_string),
                        activity_ids: s.activity_ids,
                        rule: s.rule,
                        explanation: s.explanation,
                        state,
                        decision_id,
                    }
                })
                .collect(),
            activities: activities
                .into_iter()
                .filter(|a| a.activity.occurred_at >= from)
                .map(|a| ActivityView {
                    id: a.id,
                    kind: a.activity.kind.as_str().to_owned(),
                    occurred_at: a.activity.occurred_at,
                    project: a.activity.project_path,
                    target: a.activity.target.as_ref().map(Target::to_string),
                    title: a.activity.title,
                    url: a.activity.source_url,
                })
                .collect(),
            worklogs: writes.iter().map(worklog_view).collect(),
        })
    }

    /// The organisation's worklog settings (defaults without a source).
    pub(crate) async fn settings(&self) -> Result<WorklogSettings, EngineError> {
        Ok(self
            .store
            .get_time_source()
            .await?
            .map(|s| s.source.settings)
            .unwrap_or_default())
    }

    /// The suggestion with `key` of a person, recomputed now.
    pub(crate) async fn find_suggestion(
        &self,
        person: &TimePerson,
        key: &str,
    ) -> Result<Suggestion, EngineError> {
        let not_found = || EngineError::NotFound(format!("no suggestion `{key}`"));
        let day = key
            .split('/')
            .next()
            .and_then(|d| NaiveDate::parse_from_str(d, "%Y-%m-%d").ok())
            .ok_or_else(not_found)?;
        let zone = zone_of(person)?;
        let settings = self.settings().await?;
        let from = day_start(zone, day) - Duration::hours(12);
        let to = day_start(zone, day + Duration::days(1));
        let activities = self
            .store
            .list_activities(person.person.user_id, from, to)
            .await?;
        suggestions_of(&settings, zone, &activities)
            .into_iter()
            .find(|s| s.key() == key)
            .ok_or_else(not_found)
    }

    /// Dismisses a suggestion (the person's own); the next one shows.
    pub async fn dismiss(
        &self,
        by: &Authenticated,
        user_id: i64,
        key: &str,
        now: DateTime<Utc>,
    ) -> Result<i64, EngineError> {
        require_self(by, user_id)?;
        let person = self
            .store
            .get_time_person(user_id)
            .await?
            .ok_or_else(|| EngineError::NotFound("not connected to GitLab".to_owned()))?;
        let suggestion = self.find_suggestion(&person, key).await?;
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_time_decision(
                &NewTimeDecision {
                    user_id,
                    suggestion_key: key.to_owned(),
                    day: suggestion.day,
                    target: suggestion.target.clone(),
                    decision: Decision::Dismissed,
                    started_at: suggestion.start,
                    minutes: suggestion.minutes,
                    description: String::new(),
                },
                now,
            )
            .await
            .map_err(decided)?;
        tx.commit().await?;
        Ok(id)
    }

    /// Admin totals for `[from, to)`: counts per person and project, and
    /// minutes written per person; never the items.
    pub async fn totals(
        &self,
        by: &Authenticated,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<TotalsView, EngineError> {
        require_admin(by)?;
        let activities = self.store.activity_totals(from, to).await?;
        let mut written = Vec::new();
        for person in self.store.list_time_people().await? {
            let minutes: u64 = self
                .store
                .list_worklog_writes(person.person.user_id, from, to)
                .await?
                .iter()
                .filter(|w| w.state == WriteState::Written)
                .map(|w| u64::from(w.write.minutes))
                .sum();
            written.push((person.person.user_id, minutes));
        }
        Ok(TotalsView {
            from,
            to,
            activities,
            written_minutes: written,
        })
    }
}

/// Suggestions of stored activities in a zone.
pub(crate) fn suggestions_of(
    settings: &WorklogSettings,
    zone: Tz,
    activities: &[StoredActivity],
) -> Vec<Suggestion> {
    let timed: Vec<TimedActivity> = activities
        .iter()
        .map(|a| TimedActivity {
            id: a.id,
            at: a.activity.occurred_at,
            target: a.activity.target.clone(),
        })
        .collect();
    suggest(settings, zone, &timed)
}

pub(crate) fn zone_of(person: &TimePerson) -> Result<Tz, EngineError> {
    parse_time_zone(&person.person.time_zone)
        .map_err(|e| EngineError::invalid("time_zone", e.to_string()))
}

pub(crate) fn worklog_view(w: &WorklogWrite) -> WorklogView {
    WorklogView {
        id: w.id,
        decision_id: w.write.decision_id,
        tracker: w.write.tracker.as_str().to_owned(),
        target: w.write.target.to_string(),
        started_at: w.write.started_at,
        minutes: w.write.minutes,
        state: w.state.as_str().to_owned(),
        remote_id: w.remote_id.clone(),
        error: w.error.clone(),
    }
}

/// A second decision on one suggestion: 409 naming it.
pub(crate) fn decided(error: StoreError) -> EngineError {
    match error {
        StoreError::Conflict { .. } => EngineError::Conflict {
            field: Some("key".to_owned()),
            message: "this suggestion was decided already".to_owned(),
        },
        other => EngineError::Store(other),
    }
}

pub(crate) fn require_admin(by: &Authenticated) -> Result<(), EngineError> {
    if by.user.role == Role::Admin {
        Ok(())
    } else {
        Err(EngineError::Forbidden(
            "only an admin may do this".to_owned(),
        ))
    }
}

fn require_self_or_admin(by: &Authenticated, user_id: i64) -> Result<(), EngineError> {
    if by.user.id == user_id || by.user.role == Role::Admin {
        Ok(())
    } else {
        // Whether someone else is connected is not a member's business.
        Err(EngineError::NotFound("no such person".to_owned()))
    }
}

/// Activity and suggestions are the person's own: not even an admin
/// reads another's items (admins read totals).
fn require_self(by: &Authenticated, user_id: i64) -> Result<(), EngineError> {
    if by.user.id == user_id {
        Ok(())
    } else {
        Err(EngineError::NotFound("no such person".to_owned()))
    }
}

fn access_level(p: &cairn_connect::gitlab::Project) -> u64 {
    let perms = p.permissions.as_ref();
    let project = perms
        .and_then(|x| x.project_access.as_ref())
        .map_or(0, |a| a.access_level);
    let group = perms
        .and_then(|x| x.group_access.as_ref())
        .map_or(0, |a| a.access_level);
    project.max(group)
}

fn role_name(level: u64) -> String {
    match level {
        50.. => "owner",
        40..=49 => "maintainer",
        30..=39 => "developer",
        20..=29 => "reporter",
        10..=19 => "guest",
        _ => "none",
    }
    .to_owned()
}
