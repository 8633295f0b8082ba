//! Time (issue 17) on both backends: the activity source, people linked to
//! GitLab accounts, activity deduplicated by fingerprint, decisions and
//! worklog writes, and disconnecting (activity goes, written worklogs stay).

use std::sync::Arc;

use cairn_core::activity::{ActivityKind, JiraKey, Reference, Target};
use cairn_core::worklogs::WorklogSettings;
use cairn_store::testing::TestDb;
use cairn_store::time::{
    ActivitySource, Decision, DevLinks, MatchedBy, NewActivity, NewTimeDecision, NewTimePerson,
    NewWorklogWrite, RegisteredHook, TimeSourceSettings, WatchedProject, WorklogTracker,
    WriteState,
};
use cairn_store::{
    Backend, IntegrationKind, NewConnection, NewUser, Role, SealedSecret, Store, StoreError,
};
use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use serde_json::json;

macro_rules! conformance {
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

conformance!(
    the_source_round_trips_and_keeps_its_hooks,
    development_links_are_one_row_per_connection_pair_and_go_with_a_connection,
    people_link_to_one_gitlab_account_and_are_found_by_id_email_then_username,
    activity_is_stored_once_per_fingerprint_and_read_by_time,
    decisions_are_unique_per_suggestion_and_writes_record_intent_then_outcome,
    disconnecting_removes_activity_and_dismissals_but_keeps_written_worklogs,
);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0)
        .single()
        .expect("valid time")
}

async fn store(backend: Backend) -> (TestDb, Arc<dyn Store>) {
    let db = TestDb::new(backend).await;
    let store = db.store().await;
    (db, store)
}

async fn user(store: &Arc<dyn Store>, email: &str) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let id = tx
        .create_user(
            &NewUser {
                email: email.into(),
                name: email.split('@').next().unwrap_or("x").into(),
                role: Role::Member,
                password_hash: "$argon2id$fake".into(),
            },
            t0(),
        )
        .await
        .expect("create user");
    tx.commit().await.expect("commit");
    id
}

async fn connection(store: &Arc<dyn Store>, owner: i64, kind: IntegrationKind, name: &str) -> i64 {
    let mut tx = store.begin().await.expect("begin");
    let id = tx
        .create_connection(
            &NewConnection {
                kind,
                name: name.into(),
                base_url: "https://tracker.example.com".into(),
                auth_kind: "private_token".into(),
                username: None,
                secret: SealedSecret {
                    key_id: "k1".into(),
                    bytes: b"token".to_vec(),
                },
                owner_id: owner,
                shared: true,
            },
            t0(),
        )
        .await
        .expect("connection");
    tx.commit().await.expect("commit");
    id
}

fn person(user_id: i64, gitlab_user_id: i64, username: &str, email: Option<&str>) -> NewTimePerson {
    NewTimePerson {
        user_id,
        gitlab_user_id,
        gitlab_username: username.into(),
        gitlab_email: email.map(str::to_owned),
        own_token: false,
        own_connection_id: None,
        time_zone: "America/Los_Angeles".into(),
        matched_by: MatchedBy::Email,
    }
}

fn key(text: &str) -> JiraKey {
    JiraKey::parse(text).expect("a Jira key")
}

fn activity(
    user_id: i64,
    fingerprint: &str,
    at: DateTime<Utc>,
    target: Option<&str>,
) -> NewActivity {
    NewActivity {
        user_id,
        project_id: 7,
        project_path: "northwind/checkout".into(),
        kind: ActivityKind::Commit,
        occurred_at: at,
        fingerprint: fingerprint.into(),
        target: target.map(|k| Target::jira(key(k))),
        refs: target
            .map(|k| vec![Reference::Jira { key: key(k) }])
            .unwrap_or_default(),
        source_url: Some(format!("https://gitlab.example.com/c/{fingerprint}")),
        title: format!("commit {fingerprint}"),
        source: ActivitySource::Hook,
        detail: json!({ "fingerprint": fingerprint }),
    }
}

async fn insert(store: &Arc<dyn Store>, a: &NewActivity) -> Option<i64> {
    let mut tx = store.begin().await.expect("begin");
    let id = tx.insert_activity(a, t0()).await.expect("insert activity");
    tx.commit().await.expect("commit");
    id
}

async fn link(store: &Arc<dyn Store>, p: &NewTimePerson) -> Result<(), StoreError> {
    let mut tx = store.begin().await.expect("begin");
    tx.save_time_person(p, t0()).await?;
    tx.commit().await.expect("commit");
    Ok(())
}

async fn the_source_round_trips_and_keeps_its_hooks(backend: Backend) {
    let (_db, store) = store(backend).await;
    assert!(store.get_time_source().await.expect("read").is_none());
    let admin = user(&store, "admin@example.com").await;
    let gitlab = connection(&store, admin, IntegrationKind::Gitlab, "gitlab").await;
    let jira = connection(&store, admin, IntegrationKind::Jira, "jira").await;
    let mut settings = TimeSourceSettings {
        connection_id: gitlab,
        jira_connection_id: Some(jira),
        enabled: false,
        watch_all: true,
        projects: vec![WatchedProject {
            id: 7,
            path: "northwind/checkout".into(),
            role: "maintainer".into(),
        }],
        settings: WorklogSettings::default(),
    };
    let mut tx = store.begin().await.expect("begin");
    tx.save_time_source(&settings, t0()).await.expect("save");
    tx.commit().await.expect("commit");
    let read = store
        .get_time_source()
        .await
        .expect("read")
        .expect("a source");
    assert_eq!(read.source, settings);
    assert!(read.registered_hooks.is_empty());
    assert_eq!(read.backfilled_at, None);

    let hooks = vec![RegisteredHook {
        project_id: 7,
        hook_id: "31".into(),
    }];
    let later = t0() + Duration::minutes(5);
    let mut tx = store.begin().await.expect("begin");
    tx.save_time_source_hooks(&hooks, later)
        .await
        .expect("hooks");
    tx.mark_time_backfilled(later).await.expect("backfilled");
    tx.commit().await.expect("commit");

    // Saving the settings again (enabling, another gap) keeps the hooks
    // and the backfill: there is one source, replaced in place.
    settings.enabled = true;
    settings.settings.session_gap_minutes = 60;
    let mut tx = store.begin().await.expect("begin");
    tx.save_time_source(&settings, later + Duration::minutes(1))
        .await
        .expect("save again");
    tx.commit().await.expect("commit");
    let read = store
        .get_time_source()
        .await
        .expect("read")
        .expect("a source");
    assert_eq!(read.source, settings);
    assert_eq!(read.registered_hooks, hooks);
    assert_eq!(read.backfilled_at, Some(later));
    assert_eq!(read.created_at, t0());
    assert_eq!(read.updated_at, later + Duration::minutes(1));
}

async fn people_link_to_one_gitlab_account_and_are_found_by_id_email_then_username(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let ana = user(&store, "ana@example.com").await;
    let bo = user(&store, "bo@example.com").await;
    let cy = user(&store, "cy@example.com").await;
    link(
        &store,
        &person(ana, 101, "ana", Some("Ana.Lima@Corp.example")),
    )
    .await
    .expect("link ana");
    link(&store, &person(bo, 102, "bo", None))
        .await
        .expect("link bo");

    // Another person cannot take a linked GitLab account.
    let err = link(&store, &person(cy, 101, "ana", None))
        .await
        .expect_err("account taken");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "gitlab_user_id"
            }
        ),
        "{err:?}"
    );

    let stored = store
        .get_time_person(ana)
        .await
        .expect("read")
        .expect("ana");
    // Emails are kept lower-cased, so author emails match in any case.
    assert_eq!(
        stored.person.gitlab_email.as_deref(),
        Some("ana.lima@corp.example")
    );
    assert_eq!(stored.person.matched_by, MatchedBy::Email);
    assert_eq!(store.list_time_people().await.expect("list").len(), 2);

    let found = |id: Option<i64>, email: Option<&'static str>, name: Option<&'static str>| {
        let store = store.clone();
        async move {
            store
                .find_time_person(id, email, name)
                .await
                .expect("find")
                .map(|p| p.person.user_id)
        }
    };
    assert_eq!(found(Some(102), None, None).await, Some(bo));
    // The account's email, in another case, or the Cairn user's email.
    assert_eq!(
        found(None, Some(" ANA.LIMA@corp.example "), None).await,
        Some(ana)
    );
    assert_eq!(found(None, Some("bo@example.com"), None).await, Some(bo));
    // Email before username: an email naming ana wins over bo's username.
    assert_eq!(
        found(None, Some("ana@example.com"), Some("bo")).await,
        Some(ana)
    );
    assert_eq!(
        found(None, Some("nobody@example.com"), Some("bo")).await,
        Some(bo)
    );
    // An unknown id falls through to the email.
    assert_eq!(
        found(Some(999), Some("bo@example.com"), None).await,
        Some(bo)
    );
    assert_eq!(found(Some(999), Some(""), Some("  ")).await, None);
    assert_eq!(found(None, None, None).await, None);

    // Relinking replaces the account; the old one is free again.
    let mut moved = person(ana, 103, "ana2", None);
    moved.time_zone = "Asia/Kolkata".into();
    moved.matched_by = MatchedBy::SelfConnected;
    link(&store, &moved).await.expect("relink");
    let stored = store
        .get_time_person(ana)
        .await
        .expect("read")
        .expect("ana");
    assert_eq!(stored.person, moved);
    assert_eq!(stored.connected_at, t0());
    link(&store, &person(cy, 101, "ana", None))
        .await
        .expect("101 is free now");
}

async fn activity_is_stored_once_per_fingerprint_and_read_by_time(backend: Backend) {
    let (_db, store) = store(backend).await;
    let ana = user(&store, "ana@example.com").await;
    let bo = user(&store, "bo@example.com").await;
    let first = activity(ana, "f1", t0() + Duration::minutes(30), Some("AE-12"));
    let id = insert(&store, &first).await.expect("stored");
    // The same work again (a rebased copy, the Events API backstop).
    let mut again = first.clone();
    again.source = ActivitySource::Events;
    again.occurred_at = t0() + Duration::hours(5);
    assert_eq!(insert(&store, &again).await, None);
    // The same fingerprint is someone else's work too (pair programming).
    assert!(
        insert(&store, &activity(bo, "f1", t0(), None))
            .await
            .is_some()
    );
    insert(&store, &activity(ana, "f2", t0(), None))
        .await
        .expect("stored");
    insert(&store, &activity(ana, "f3", t0() + Duration::days(1), None))
        .await
        .expect("stored");

    let day = store
        .list_activities(ana, t0(), t0() + Duration::days(1))
        .await
        .expect("list");
    let prints: Vec<&str> = day
        .iter()
        .map(|a| a.activity.fingerprint.as_str())
        .collect();
    assert_eq!(prints, ["f2", "f1"], "in time order, end excluded");
    assert_eq!(day[1].id, id);
    assert_eq!(
        day[1].activity, first,
        "read back whole, the first report kept"
    );
    assert_eq!(store.count_activities(ana).await.expect("count"), 3);
    assert_eq!(store.count_activities(bo).await.expect("count"), 1);

    let totals = store
        .activity_totals(t0(), t0() + Duration::days(1))
        .await
        .expect("totals");
    let totals: Vec<(i64, &str, i64)> = totals
        .iter()
        .map(|t| (t.user_id, t.project_path.as_str(), t.activities))
        .collect();
    assert_eq!(
        totals,
        [
            (ana, "northwind/checkout", 2),
            (bo, "northwind/checkout", 1)
        ]
    );
}

fn decision(user_id: i64, key: &str, decision: Decision) -> NewTimeDecision {
    NewTimeDecision {
        user_id,
        suggestion_key: key.into(),
        day: NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        target: Some(Target::jira(JiraKey::parse("AE-12").expect("key"))),
        decision,
        started_at: t0(),
        minutes: 45,
        description: "Login form".into(),
    }
}

async fn decisions_are_unique_per_suggestion_and_writes_record_intent_then_outcome(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let ana = user(&store, "ana@example.com").await;
    let jira = connection(&store, ana, IntegrationKind::Jira, "jira").await;
    let accepted = decision(ana, "2026-12-01/AE-12/1", Decision::Edited);
    let mut tx = store.begin().await.expect("begin");
    let decision_id = tx
        .insert_time_decision(&accepted, t0())
        .await
        .expect("decide");
    let write = NewWorklogWrite {
        user_id: ana,
        decision_id,
        tracker: WorklogTracker::Jira,
        connection_id: jira,
        target: Target::jira(key("AE-12")),
        started_at: t0(),
        minutes: 45,
        comment: format!("Login form\n[cairn:suggestion:{decision_id}]"),
    };
    let write_id = tx.insert_worklog_write(&write, t0()).await.expect("intent");
    tx.commit().await.expect("commit");

    // A second decision on the same suggestion is refused.
    let mut tx = store.begin().await.expect("begin");
    let err = tx
        .insert_time_decision(
            &decision(ana, "2026-12-01/AE-12/1", Decision::Dismissed),
            t0(),
        )
        .await
        .expect_err("decided already");
    assert!(
        matches!(
            err,
            StoreError::Conflict {
                field: "suggestion"
            }
        ),
        "{err:?}"
    );
    drop(tx);
    // ...and a second write for one decision too.
    let mut tx = store.begin().await.expect("begin");
    let err = tx
        .insert_worklog_write(&write, t0())
        .await
        .expect_err("one write per decision");
    assert!(
        matches!(err, StoreError::Conflict { field: "decision" }),
        "{err:?}"
    );
    drop(tx);

    let open = store.open_worklog_writes(10).await.expect("open");
    assert_eq!(open.len(), 1);
    assert_eq!(open[0].id, write_id);
    assert_eq!(open[0].state, WriteState::Intent);
    assert_eq!(open[0].write, write);

    let done = t0() + Duration::seconds(3);
    let mut tx = store.begin().await.expect("begin");
    tx.finish_worklog_write(write_id, WriteState::Written, Some("10001"), None, done)
        .await
        .expect("finish");
    tx.commit().await.expect("commit");
    assert!(
        store
            .open_worklog_writes(10)
            .await
            .expect("open")
            .is_empty()
    );
    let read = store
        .worklog_write_for_decision(decision_id)
        .await
        .expect("read")
        .expect("the write");
    assert_eq!(read.state, WriteState::Written);
    assert_eq!(read.remote_id.as_deref(), Some("10001"));
    assert_eq!(read.finished_at, Some(done));
    assert_eq!(
        store.get_worklog_write(write_id).await.expect("read"),
        Some(read.clone())
    );
    let listed = store
        .list_worklog_writes(ana, t0(), t0() + Duration::days(1))
        .await
        .expect("list");
    assert_eq!(listed, vec![read]);

    let decisions = store
        .list_time_decisions(
            ana,
            NaiveDate::from_ymd_opt(2026, 11, 30).expect("date"),
            NaiveDate::from_ymd_opt(2026, 12, 1).expect("date"),
        )
        .await
        .expect("list");
    assert_eq!(decisions.len(), 1);
    assert_eq!(decisions[0].decision, accepted);
    assert!(
        store
            .list_time_decisions(
                ana,
                NaiveDate::from_ymd_opt(2026, 12, 2).expect("date"),
                NaiveDate::from_ymd_opt(2026, 12, 8).expect("date"),
            )
            .await
            .expect("list")
            .is_empty()
    );
    // An accepted decision that wrote a worklog cannot be undone.
    let mut tx = store.begin().await.expect("begin");
    assert!(!tx.delete_time_decision(decision_id).await.expect("delete"));
    let dismissed = tx
        .insert_time_decision(
            &decision(ana, "2026-12-01/AE-12/9", Decision::Dismissed),
            t0(),
        )
        .await
        .expect("dismiss");
    assert!(tx.delete_time_decision(dismissed).await.expect("undo"));
    tx.commit().await.expect("commit");
    assert!(
        store
            .get_time_decision(dismissed)
            .await
            .expect("read")
            .is_none()
    );
}

async fn disconnecting_removes_activity_and_dismissals_but_keeps_written_worklogs(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let ana = user(&store, "ana@example.com").await;
    let bo = user(&store, "bo@example.com").await;
    let jira = connection(&store, ana, IntegrationKind::Jira, "jira").await;
    let gitlab = connection(&store, ana, IntegrationKind::Gitlab, "gitlab").await;
    let mut tx = store.begin().await.expect("begin");
    tx.save_time_source(
        &TimeSourceSettings {
            connection_id: gitlab,
            jira_connection_id: Some(jira),
            enabled: true,
            watch_all: true,
            projects: Vec::new(),
            settings: WorklogSettings::default(),
        },
        t0(),
    )
    .await
    .expect("source");
    tx.commit().await.expect("commit");
    for (who, id) in [(ana, 101), (bo, 102)] {
        link(&store, &person(who, id, &format!("u{id}"), None))
            .await
            .expect("link");
        for n in 0..3 {
            insert(
                &store,
                &activity(who, &format!("f{n}"), t0(), Some("AE-12")),
            )
            .await
            .expect("stored");
        }
    }
    let mut tx = store.begin().await.expect("begin");
    let kept = tx
        .insert_time_decision(&decision(ana, "k1", Decision::Accepted), t0())
        .await
        .expect("accept");
    tx.insert_worklog_write(
        &NewWorklogWrite {
            user_id: ana,
            decision_id: kept,
            tracker: WorklogTracker::Jira,
            connection_id: jira,
            target: Target::jira(key("AE-12")),
            started_at: t0(),
            minutes: 45,
            comment: "[cairn:suggestion:1]".into(),
        },
        t0(),
    )
    .await
    .expect("write");
    let gone = tx
        .insert_time_decision(&decision(ana, "k2", Decision::Dismissed), t0())
        .await
        .expect("dismiss");
    let bos = tx
        .insert_time_decision(&decision(bo, "k2", Decision::Dismissed), t0())
        .await
        .expect("dismiss");
    tx.commit().await.expect("commit");

    let mut tx = store.begin().await.expect("begin");
    let removed = tx.delete_time_person(ana).await.expect("disconnect ana");
    tx.commit().await.expect("commit");
    assert_eq!(
        (removed.people, removed.activities, removed.decisions),
        (1, 3, 1)
    );
    assert!(store.get_time_person(ana).await.expect("read").is_none());
    assert_eq!(store.count_activities(ana).await.expect("count"), 0);
    assert!(store.get_time_decision(gone).await.expect("read").is_none());
    assert!(store.get_time_decision(kept).await.expect("read").is_some());
    assert_eq!(
        store
            .list_worklog_writes(ana, t0(), t0() + Duration::days(1))
            .await
            .expect("writes")
            .len(),
        1,
        "the written worklog stays"
    );
    // Nobody else's.
    assert!(store.get_time_person(bo).await.expect("read").is_some());
    assert_eq!(store.count_activities(bo).await.expect("count"), 3);
    assert!(store.get_time_decision(bos).await.expect("read").is_some());

    let mut tx = store.begin().await.expect("begin");
    let removed = tx.delete_time_source().await.expect("disconnect all");
    tx.commit().await.expect("commit");
    assert_eq!(
        (removed.people, removed.activities, removed.decisions),
        (1, 3, 1)
    );
    assert!(store.get_time_source().await.expect("read").is_none());
    assert!(store.list_time_people().await.expect("list").is_empty());
    assert_eq!(store.count_activities(bo).await.expect("count"), 0);
    assert!(store.get_time_decision(kept).await.expect("read").is_some());
}

async fn development_links_are_one_row_per_connection_pair_and_go_with_a_connection(
    backend: Backend,
) {
    let (_db, store) = store(backend).await;
    let admin = user(&store, "admin@example.com").await;
    let gitlab = connection(&store, admin, IntegrationKind::Gitlab, "gitlab").await;
    let other_gitlab = connection(&store, admin, IntegrationKind::Gitlab, "gitlab 2").await;
    let jira = connection(&store, admin, IntegrationKind::Jira, "jira").await;
    let mut tx = store.begin().await.expect("begin");
    let first = tx
        .save_dev_link_pair(gitlab, jira, DevLinks::default(), t0())
        .await
        .expect("save");
    // Saving the same pair again changes it in place.
    let changed = tx
        .save_dev_link_pair(
            gitlab,
            jira,
            DevLinks {
                comment: true,
                transition: true,
            },
            t0() + Duration::minutes(1),
        )
        .await
        .expect("save again");
    let second = tx
        .save_dev_link_pair(other_gitlab, jira, DevLinks::default(), t0())
        .await
        .expect("another pair");
    tx.commit().await.expect("commit");
    assert_eq!(changed.id, first.id);
    assert_eq!(changed.created_at, t0());
    assert_eq!(changed.updated_at, t0() + Duration::minutes(1));
    assert!(changed.links.comment && changed.links.transition);
    assert_eq!(
        store.list_dev_link_pairs().await.expect("list"),
        vec![changed.clone(), second.clone()]
    );
    assert_eq!(
        store.dev_link_pairs_of(gitlab).await.expect("of gitlab"),
        vec![changed.clone()]
    );
    assert!(
        store
            .dev_link_pairs_of(jira)
            .await
            .expect("of jira")
            .is_empty()
    );

    let mut tx = store.begin().await.expect("begin");
    assert!(tx.delete_dev_link_pair(second.id).await.expect("delete"));
    assert!(!tx.delete_dev_link_pair(second.id).await.expect("again"));
    tx.commit().await.expect("commit");
    // Deleting a connection takes its pairs with it.
    let mut tx = store.begin().await.expect("begin");
    tx.delete_connection(jira).await.expect("delete jira");
    tx.commit().await.expect("commit");
    assert!(store.list_dev_link_pairs().await.expect("list").is_empty());
}
