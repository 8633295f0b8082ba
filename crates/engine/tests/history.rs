//! A linked key result's history reconstructed from its items' dates
//! (issue 19), against the simulator with its sample spread over the
//! period so far, on both backends: the points agree with the simulator's
//! own dates, are what the stored items give again, come before the first
//! real measurement, and are added once; an objective's are its children's
//! rolled up.

use std::sync::Arc;

use cairn_connect::Secret;
use cairn_core::authz::Role;
use cairn_core::goals::forecast::Forecast;
use cairn_core::goals::{
    IssueState, JiraMetric, Kpi, LinkRule, Measure, ProgressSource, evaluate, items_at,
};
use cairn_engine::accounts::{Accounts, Authenticated};
use cairn_engine::connections::{ConnectionInput, Connections};
use cairn_engine::error::EngineError;
use cairn_engine::goals::history::BACKFILL_SOURCE;
use cairn_engine::goals::{GitLabQuery, GoalSettings, Goals, JiraLinkInput, LinkInput, OkrInput};
use cairn_engine::keyring::Keyring;
use cairn_store::goals::{OkrKind, ProgressPoint};
use cairn_store::testing::TestDb;
use cairn_store::{Backend, Store};
use chrono::{Duration, NaiveTime, Utc};

macro_rules! both {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(cairn_store::Backend::Sqlite).await })*
        }
        mod postgres {
            $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $name() { super::$name(cairn_store::Backend::Postgres).await })*
        }
    };
}

both!(a_linked_key_result_gets_the_history_its_items_dates_give);

fn okr(
    kind: OkrKind,
    title: &str,
    period: i64,
    parent: Option<i64>,
    measure: Measure,
    source: ProgressSource,
) -> OkrInput {
    OkrInput {
        kind,
        title: title.into(),
        description: String::new(),
        owner_id: None,
        owner_team_id: None,
        period_id: period,
        parent_id: parent,
        starts_on: None,
        due_on: None,
        measure,
        weight: None,
        contributes: None,
        progress_source: source,
    }
}

/// Oldest first.
async fn history(goals: &Goals, by: &Authenticated, okr: i64) -> Vec<ProgressPoint> {
    let mut points = goals.history(by, okr, 10_000).await.expect("history");
    points.reverse();
    points
}

async fn a_linked_key_result_gets_the_history_its_items_dates_give(backend: Backend) {
    let db = TestDb::new(backend).await;
    let store: Arc<dyn Store> = db.store().await;
    let sim = cairn_sim::start(cairn_sim::SimConfig::default())
        .await
        .expect("simulator");
    let now = Utc::now();
    let starts_on = (now - Duration::days(60)).date_naive();
    let ends_on = (now + Duration::days(30)).date_naive();
    let from = starts_on.and_time(NaiveTime::MIN).and_utc();
    sim.with_world_mut(|w| cairn_sim::seed::spread_dates(w, from, now - Duration::hours(1)));

    let keys = tempfile::tempdir().expect("tempdir");
    let keyring = Arc::new(Keyring::load(None, &keys.path().join("master.key")).expect("keyring"));
    let user = Accounts::new(store.clone())
        .create_user(
            None,
            "admin@example.com",
            "Ada",
            Role::Admin,
            "a long enough password",
            now,
        )
        .await
        .expect("user");
    let by = Authenticated {
        user,
        session: None,
    };
    let connections = Connections::new(store.clone(), keyring.clone());
    let gitlab = connections
        .create(
            &by,
            ConnectionInput {
                kind: "gitlab".into(),
                name: "gitlab".into(),
                base_url: Some(sim.gitlab_url()),
                auth_kind: "private_token".into(),
                username: None,
                secret: Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN),
                shared: true,
            },
            now,
        )
        .await
        .expect("gitlab")
        .id;
    let jira = connections
        .create(
            &by,
            ConnectionInput {
                kind: "jira".into(),
                name: "jira".into(),
                base_url: Some(sim.jira_url()),
                auth_kind: "basic".into(),
                username: Some(cairn_sim::DEFAULT_JIRA_EMAIL.into()),
                secret: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
                shared: true,
            },
            now,
        )
        .await
        .expect("jira")
        .id;
    let goals = Goals::new(store.clone(), keyring, GoalSettings::default());
    let period = goals
        .create_period(&by, "This quarter", starts_on, ends_on, None, now)
        .await
        .expect("period");
    let objective = goals
        .create_okr(
            &by,
            okr(
                OkrKind::Objective,
                "Ship",
                period.id,
                None,
                Measure::PercentComplete,
                ProgressSource::RollUp,
            ),
            now,
        )
        .await
        .expect("objective");
    assert_eq!(
        objective.progress, None,
        "no children: nothing measured, no 0 % point"
    );
    assert!(history(&goals, &by, objective.id).await.is_empty());

    // A KPI counting the closed issues of a milestone.
    let kpi = Measure::Kpi(Kpi::new("issues", 0.0, 3.0).expect("kpi"));
    let closed = goals
        .create_okr(
            &by,
            okr(
                OkrKind::KeyResult,
                "Close Release 4.2",
                period.id,
                Some(objective.id),
                kpi.clone(),
                ProgressSource::DataLink,
            ),
            now,
        )
        .await
        .expect("kr");
    goals
        .set_gitlab_link(
            &by,
            closed.id,
            LinkInput {
                connection_id: gitlab,
                query: GitLabQuery {
                    project: "northwind/mobile-app".into(),
                    milestone: Some("Release 4.2".into()),
                    assignee: None,
                    labels: Vec::new(),
                    iids: Vec::new(),
                },
                state: Some(IssueState::Closed),
                refresh_interval_secs: None,
            },
            now,
        )
        .await
        .expect("link");
    let measured = history(&goals, &by, closed.id).await;
    assert_eq!(measured.len(), 1, "one measurement when the link is saved");
    let added = goals
        .backfill_history(&by, closed.id, now)
        .await
        .expect("backfill");
    let points = history(&goals, &by, closed.id).await;
    assert!(
        added > 1,
        "a history of more than the first point: {points:?}"
    );
    assert_eq!(points.len(), added + 1);
    let (past, real) = points.split_at(added);
    assert!(past.iter().all(|p| p.source == BACKFILL_SOURCE));
    assert!(
        past.windows(2).all(|w| w[0].at < w[1].at),
        "one point per change, in order"
    );
    assert!(
        past.iter().all(|p| p.at < real[0].at),
        "before the first measurement"
    );
    assert!(past[0].at >= from, "nothing before the start");

    // Each value is the number of the milestone's issues the simulator says
    // were closed by then (its own dates, not Cairn's).
    let closed_by = |at: chrono::DateTime<Utc>| {
        sim.with_world(|w| {
            let project = w
                .gitlab
                .projects
                .iter()
                .find(|p| p.path_with_namespace == "northwind/mobile-app")
                .expect("project");
            let milestone = project
                .milestones
                .iter()
                .find(|m| m.title == "Release 4.2")
                .expect("milestone")
                .id;
            project
                .issues
                .iter()
                .filter(|i| i.milestone_id == Some(milestone))
                .filter(|i| i.closed_at.is_some_and(|c| c <= at))
                .count() as f64
        })
    };
    for point in past {
        assert_eq!(point.value, closed_by(point.at), "at {}", point.at);
    }
    assert!(
        past.first().expect("first").value < real[0].value,
        "the line rises"
    );

    // Computing them again from the stored items gives the same numbers.
    let link = goals.link_of(&by, closed.id).await.expect("link");
    let rule: LinkRule = serde_json::from_value(link.rule.clone()).expect("rule");
    let items = store.link_items(link.id).await.expect("items");
    assert!(
        items.iter().all(|i| i.created_at.is_some()),
        "creation dates kept"
    );
    for point in past {
        let again = evaluate(&kpi, &rule, &items_at(&items, point.at)).expect("evaluate");
        assert_eq!(
            (again.progress.value, again.progress.percent),
            (point.value, point.percent)
        );
    }

    // Once only.
    assert_eq!(
        goals
            .backfill_history(&by, closed.id, now)
            .await
            .expect("again"),
        0
    );
    assert_eq!(history(&goals, &by, closed.id).await.len(), points.len());

    // The forecast reads this history: the recent pace is the change over
    // the last 14 days, the value held then being the last point before.
    let at = Utc::now();
    let latest = points.last().expect("a point");
    match goals.forecast(&by, closed.id, at).await.expect("forecast") {
        Forecast::Reached { reached_at } => {
            assert!(latest.percent >= 100.0, "{points:?}");
            assert!(points.iter().any(|p| p.at == reached_at));
        }
        Forecast::Paced(pace) => {
            let since = at - Duration::days(14);
            let then = points
                .iter()
                .rev()
                .find(|p| p.at <= since)
                .expect("history older than the window");
            assert_eq!(pace.since, since);
            assert_eq!(pace.percent_then, then.percent);
            assert_eq!(pace.percent_now, latest.percent);
            assert!(
                (pace.points_per_day - (latest.percent - then.percent) / 14.0).abs() < 1e-6,
                "{pace:?}"
            );
            assert_eq!(
                pace.due_at,
                (ends_on + Duration::days(1))
                    .and_time(NaiveTime::MIN)
                    .and_utc(),
                "the end of the due date"
            );
        }
        other => panic!("60 days of history make a forecast: {other:?}"),
    }

    // Jira: the share of OPS bugs done.
    let bugs_kr = goals
        .create_okr(
            &by,
            okr(
                OkrKind::KeyResult,
                "Fix the OPS bugs",
                period.id,
                Some(objective.id),
                Measure::PercentComplete,
                ProgressSource::DataLink,
            ),
            now,
        )
        .await
        .expect("kr");
    goals
        .set_jira_link(
            &by,
            bugs_kr.id,
            JiraLinkInput {
                connection_id: jira,
                jql: "project = OPS AND issuetype = Bug".into(),
                metric: JiraMetric::Count,
                scope: None,
                refresh_interval_secs: None,
            },
            now,
        )
        .await
        .expect("jira link");
    let added = goals
        .backfill_history(&by, bugs_kr.id, now)
        .await
        .expect("backfill");
    let points = history(&goals, &by, bugs_kr.id).await;
    assert!(added > 1, "{points:?}");
    let link = goals.link_of(&by, bugs_kr.id).await.expect("link");
    let rule: LinkRule = serde_json::from_value(link.rule.clone()).expect("rule");
    let items = store.link_items(link.id).await.expect("items");
    assert!(
        items.iter().filter(|i| i.done).all(|i| i.done_at.is_some()),
        "done dates kept"
    );
    for point in &points[..added] {
        let again = evaluate(
            &Measure::PercentComplete,
            &rule,
            &items_at(&items, point.at),
        )
        .expect("evaluate");
        assert_eq!(again.progress.percent, point.percent, "at {}", point.at);
    }

    // The objective's past: its children's points rolled up as they stood.
    let added = goals
        .backfill_history(&by, objective.id, now)
        .await
        .expect("objective backfill");
    let points = history(&goals, &by, objective.id).await;
    assert!(added > 1, "{points:?}");
    let children = [
        history(&goals, &by, closed.id).await,
        history(&goals, &by, bugs_kr.id).await,
    ];
    for point in &points[..added] {
        assert_eq!(point.source, BACKFILL_SOURCE);
        let then: Vec<f64> = children
            .iter()
            .filter_map(|c| c.iter().rfind(|p| p.at <= point.at).map(|p| p.percent))
            .collect();
        let mean = then.iter().sum::<f64>() / then.len() as f64;
        assert!(
            (point.percent - mean).abs() < 1e-9,
            "at {}: {point:?} {then:?}",
            point.at
        );
    }
    assert!(
        points[added - 1].at < points[added].at,
        "before its first roll-up"
    );
    assert_eq!(
        goals
            .backfill_history(&by, objective.id, now)
            .await
            .expect("again"),
        0
    );

    // A key result read from check-ins has no items to go by.
    let manual = goals
        .create_okr(
            &by,
            okr(
                OkrKind::KeyResult,
                "NPS",
                period.id,
                Some(objective.id),
                Measure::PercentComplete,
                ProgressSource::CheckIn,
            ),
            now,
        )
        .await
        .expect("kr");
    let refused = goals.backfill_history(&by, manual.id, now).await;
    assert!(
        matches!(refused, Err(EngineError::Conflict { .. })),
        "{refused:?}"
    );
    sim.shutdown().await;
}
