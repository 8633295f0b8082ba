//! The GitLab client and test connection against the simulator.

mod common;

use cairn_connect::gitlab::*;
use cairn_connect::{DiagnosisCode, Secret};
use cairn_sim::{FaultKind, FaultSpec, Service, SimConfig, SimHandle};
use common::fast_http;

async fn sim() -> SimHandle {
    cairn_sim::start(SimConfig::default()).await.expect("sim")
}

fn settings(base: &str, token: &str) -> GitLabSettings {
    let mut s = GitLabSettings::new(base, GitLabAuth::PrivateToken(Secret::new(token)));
    s.http = fast_http();
    s
}

fn client(sim: &SimHandle) -> GitLabClient {
    GitLabClient::new(&settings(
        &sim.gitlab_url(),
        cairn_sim::DEFAULT_GITLAB_TOKEN,
    ))
    .expect("client")
}

fn checkout() -> ProjectRef {
    ProjectRef::from("northwind/checkout")
}

#[tokio::test]
async fn test_connection_reports_user_and_version_whatever_the_base_url_form() {
    let sim = sim().await;
    for base in [
        sim.gitlab_url(),
        format!("{}/", sim.gitlab_url()),
        format!("{}/api/v4", sim.gitlab_url()),
        format!("{}/api/v4/", sim.gitlab_url()),
    ] {
        let id = test_gitlab(&settings(&base, cairn_sim::DEFAULT_GITLAB_TOKEN))
            .await
            .expect(&base);
        assert_eq!(id.username, "root");
        assert_eq!(id.name, "Administrator");
        assert_eq!(id.version, "17.5.0-ee");
        assert!(!id.revision.is_empty());
    }
    // OAuth bearer tokens are accepted too.
    let mut s = settings(&sim.gitlab_url(), "unused-token");
    s.auth = GitLabAuth::OAuth(Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN));
    assert_eq!(test_gitlab(&s).await.expect("oauth").username, "root");
    sim.shutdown().await;
}

#[tokio::test]
async fn test_connection_diagnoses_bad_tokens_and_paths() {
    let sim = sim().await;
    let e = test_gitlab(&settings(&sim.gitlab_url(), "glpat-wrong-token-xyz"))
        .await
        .expect_err("bad token");
    assert_eq!(e.code(), DiagnosisCode::Unauthorized);
    assert!(!format!("{e} {e:?}").contains("glpat-wrong-token-xyz"));

    let doubled = format!("{}/api/v4/api/v4", sim.gitlab_url());
    let e = test_gitlab(&settings(&doubled, cairn_sim::DEFAULT_GITLAB_TOKEN))
        .await
        .expect_err("doubled path");
    assert_eq!(e.code(), DiagnosisCode::NotFound);

    let e = test_gitlab(&settings("gitlab.example.com", "x"))
        .await
        .expect_err("no scheme");
    assert_eq!(e.code(), DiagnosisCode::MalformedUrl);

    sim.inject(&FaultSpec {
        token: Some(cairn_sim::DEFAULT_GITLAB_TOKEN.into()),
        ..FaultSpec::new(Service::Gitlab, FaultKind::RevokeToken)
    });
    let e = test_gitlab(&settings(
        &sim.gitlab_url(),
        cairn_sim::DEFAULT_GITLAB_TOKEN,
    ))
    .await
    .expect_err("revoked");
    assert_eq!(e.code(), DiagnosisCode::Unauthorized);
    sim.shutdown().await;
}

#[tokio::test]
async fn projects_are_listed_and_searched() {
    let sim = sim().await;
    let gl = client(&sim);
    let all = gl
        .projects(&ProjectFilter {
            membership: true,
            per_page: Some(1),
            ..Default::default()
        })
        .collect_all()
        .await
        .expect("projects");
    assert_eq!(all.len(), 3, "{all:?}");
    let found = gl
        .projects(&ProjectFilter {
            search: Some("checkout".into()),
            ..Default::default()
        })
        .collect_all()
        .await
        .expect("search");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].path_with_namespace, "northwind/checkout");
    let by_path = gl.project(&checkout()).await.expect("by path");
    let by_id = gl
        .project(&ProjectRef::Id(found[0].id))
        .await
        .expect("by id");
    assert_eq!(by_path, by_id);
    sim.shutdown().await;
}

#[tokio::test]
async fn issues_page_through_offset_and_keyset_pagination() {
    let sim = sim().await;
    let gl = client(&sim);
    let mut pages = gl.issues(
        &checkout(),
        &IssueFilter {
            per_page: Some(2),
            ..Default::default()
        },
    );
    let mut iids = Vec::new();
    while let Some(page) = pages.next_page().await.expect("page") {
        assert!(page.len() <= 2);
        iids.extend(page.iter().map(|i| i.iid));
    }
    assert_eq!(pages.pages_read(), 4);
    assert_eq!(pages.total(), Some(7));
    iids.sort();
    assert_eq!(iids, vec![1, 2, 3, 4, 5, 6, 7]);

    let keyset = gl
        .issues(
            &checkout(),
            &IssueFilter {
                per_page: Some(3),
                keyset: true,
                order_by: Some("created_at".into()),
                sort: Some(Sort::Asc),
                ..Default::default()
            },
        )
        .collect_all()
        .await
        .expect("keyset");
    let mut keyset_iids: Vec<u64> = keyset.iter().map(|i| i.iid).collect();
    keyset_iids.sort();
    assert_eq!(keyset_iids, iids);
    assert!(
        sim.requests()
            .iter()
            .any(|r| r.query.as_deref().is_some_and(|q| q.contains("cursor="))),
        "the keyset cursor of the Link header was followed"
    );
    sim.shutdown().await;
}

#[tokio::test]
async fn issue_filters_and_fields() {
    let sim = sim().await;
    let gl = client(&sim);
    let list = |f: IssueFilter| {
        let gl = gl.clone();
        async move {
            gl.issues(&checkout(), &f)
                .collect_all()
                .await
                .expect("issues")
        }
    };
    let apple = list(IssueFilter {
        milestone: Some("Q1 2026".into()),
        state: Some(IssueState::Opened),
        labels: vec!["payments".into(), "feature".into()],
        ..Default::default()
    })
    .await;
    assert_eq!(apple.len(), 1, "{apple:?}");
    let issue = &apple[0];
    assert_eq!(issue.title, "Support Apple Pay in checkout");
    assert_eq!(issue.state, "opened");
    assert_eq!(
        issue.task_completion_status,
        Some(TaskCompletionStatus {
            count: 4,
            completed_count: 2
        })
    );
    assert_eq!(issue.weight, Some(5));
    assert_eq!(issue.assignees[0].username, "amartin");
    assert_eq!(
        issue.milestone.as_ref().map(|m| m.title.as_str()),
        Some("Q1 2026")
    );
    let stats = issue.time_stats.clone().expect("time stats");
    assert_eq!(stats.total_time_spent, 10 * 3600);
    assert!(
        issue
            .web_url
            .as_deref()
            .is_some_and(|u| u.ends_with("/issues/1"))
    );

    let closed = list(IssueFilter {
        state: Some(IssueState::Closed),
        ..Default::default()
    })
    .await;
    assert_eq!(closed.len(), 2);
    assert!(
        closed
            .iter()
            .all(|i| i.is_closed() && i.closed_at.is_some())
    );

    let bruno = list(IssueFilter {
        assignee: Some(AssigneeFilter::Username("bokafor".into())),
        ..Default::default()
    })
    .await;
    let mut titles: Vec<&str> = bruno.iter().map(|i| i.title.as_str()).collect();
    titles.sort();
    assert_eq!(
        titles,
        [
            "Cart total rounds wrongly for JPY",
            "Remember the last used card",
            "Write runbook for payment outages"
        ]
    );
    let bruno_id = bruno[0]
        .assignees
        .iter()
        .find(|u| u.username == "bokafor")
        .expect("assignee")
        .id;
    let by_id = list(IssueFilter {
        assignee: Some(AssigneeFilter::Id(bruno_id)),
        ..Default::default()
    })
    .await;
    assert_eq!(by_id.len(), 3);

    let picked = list(IssueFilter {
        iids: vec![1, 3],
        ..Default::default()
    })
    .await;
    let mut iids: Vec<u64> = picked.iter().map(|i| i.iid).collect();
    iids.sort();
    assert_eq!(iids, [1, 3]);

    let future = list(IssueFilter {
        updated_after: Some(chrono::Utc::now() + chrono::Duration::days(365)),
        ..Default::default()
    })
    .await;
    assert!(future.is_empty());

    let searched = list(IssueFilter {
        search: Some("coupon".into()),
        ..Default::default()
    })
    .await;
    assert_eq!(searched.len(), 1);

    let one = gl.issue(&checkout(), 2).await.expect("issue 2");
    assert_eq!(one.title, "Cart total rounds wrongly for JPY");
    let e = gl.issue(&checkout(), 999).await.expect_err("missing");
    assert_eq!(e.code(), DiagnosisCode::NotFound);
    sim.shutdown().await;
}

#[tokio::test]
async fn milestones_members_and_labels() {
    let sim = sim().await;
    let gl = client(&sim);
    let q2 = gl
        .milestones(&checkout(), Some("Q2"))
        .collect_all()
        .await
        .expect("milestones");
    assert_eq!(q2.len(), 1);
    assert_eq!(q2[0].title, "Q2 2026");
    assert_eq!(q2[0].due_date, chrono::NaiveDate::from_ymd_opt(2026, 6, 30));
    let members = gl
        .members(&checkout())
        .collect_all()
        .await
        .expect("members");
    assert!(members.iter().any(|m| m.username == "amartin"));
    let found = gl.users("okafor").collect_all().await.expect("users");
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].username, "bokafor");
    let stats = gl.time_stats(&checkout(), 1).await.expect("time stats");
    assert_eq!(stats.total_time_spent, 10 * 3600);
    assert_eq!(stats.time_estimate, 3 * 8 * 3600);
    let labels = gl.labels(&checkout()).collect_all().await.expect("labels");
    let mut names: Vec<&str> = labels.iter().map(|l| l.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["bug", "feature", "payments", "ux"]);
    sim.shutdown().await;
}

#[tokio::test]
async fn project_hooks_crud() {
    let sim = sim().await;
    let gl = client(&sim);
    let hook = NewProjectHook {
        url: "http://127.0.0.1:9/hooks/gitlab/1".into(),
        token: Some(Secret::new("hook-secret-123456")),
        events: HookEvents::default(),
        enable_ssl_verification: true,
    };
    let created = gl.create_hook(&checkout(), &hook).await.expect("create");
    assert!(created.issues_events && created.note_events && created.push_events);
    assert!(!created.tag_push_events);
    let listed = gl.hooks(&checkout()).collect_all().await.expect("list");
    assert!(listed.iter().any(|h| h.id == created.id));
    let changed = NewProjectHook {
        events: HookEvents {
            push: false,
            ..HookEvents::default()
        },
        ..hook
    };
    let updated = gl
        .update_hook(&checkout(), created.id, &changed)
        .await
        .expect("update");
    assert!(!updated.push_events);
    gl.delete_hook(&checkout(), created.id)
        .await
        .expect("delete");
    let listed = gl.hooks(&checkout()).collect_all().await.expect("list");
    assert!(listed.iter().all(|h| h.id != created.id));
    sim.shutdown().await;
}

#[tokio::test]
async fn notes_time_and_events() {
    let sim = sim().await;
    let gl = client(&sim);
    let note = gl
        .create_note(&checkout(), 3, "Progress synced from Cairn")
        .await
        .expect("note");
    assert!(!note.system);
    let notes = gl.notes(&checkout(), 3).collect_all().await.expect("notes");
    assert!(
        notes
            .iter()
            .any(|n| n.id == note.id && n.body == "Progress synced from Cairn")
    );

    let before = gl.issue(&checkout(), 3).await.expect("issue");
    let spent_before = before.time_stats.map_or(0, |t| t.total_time_spent);
    let stats = gl
        .add_spent_time(&checkout(), 3, "1h30m", Some("pairing"))
        .await
        .expect("time");
    assert_eq!(stats.total_time_spent, spent_before + 5400);
    let e = gl
        .add_spent_time(&checkout(), 3, " ", None)
        .await
        .expect_err("empty");
    assert_eq!(e.code(), DiagnosisCode::InvalidInput);

    let me = gl.current_user().await.expect("me");
    let events = gl
        .user_events(me.id, None)
        .collect_all()
        .await
        .expect("user events");
    assert!(
        events
            .iter()
            .any(|e| e.target_type.as_deref() == Some("Note") || e.note.is_some()),
        "{events:?}"
    );
    gl.project_events(&checkout(), None)
        .collect_all()
        .await
        .expect("project events");
    sim.shutdown().await;
}

#[tokio::test]
async fn simulator_faults_are_retried_or_diagnosed() {
    let sim = sim().await;
    let gl = client(&sim);
    sim.inject(&FaultSpec {
        count: Some(2),
        retry_after: Some(0),
        ..FaultSpec::new(Service::Gitlab, FaultKind::RateLimit)
    });
    let before = gl.api_calls();
    gl.current_user().await.expect("after two 429s");
    assert_eq!(gl.api_calls() - before, 3);

    sim.inject(&FaultSpec {
        count: Some(1),
        status: Some(502),
        ..FaultSpec::new(Service::Gitlab, FaultKind::ServerError)
    });
    gl.version().await.expect("after a 502");

    sim.inject(&FaultSpec {
        count: Some(1),
        ..FaultSpec::new(Service::Gitlab, FaultKind::Hang)
    });
    let mut impatient = settings(&sim.gitlab_url(), cairn_sim::DEFAULT_GITLAB_TOKEN);
    impatient.http.request_timeout = std::time::Duration::from_millis(300);
    let e = GitLabClient::new(&impatient)
        .expect("client")
        .current_user()
        .await
        .expect_err("hang");
    assert_eq!(e.code(), DiagnosisCode::Timeout);

    sim.inject(&FaultSpec {
        count: Some(1),
        ..FaultSpec::new(Service::Gitlab, FaultKind::Malformed)
    });
    let e = gl.current_user().await.expect_err("malformed");
    assert_eq!(e.code(), DiagnosisCode::UnexpectedResponse);
    sim.shutdown().await;
}

#[tokio::test]
async fn issues_are_created_closed_and_relabelled() {
    let sim = sim().await;
    let gl = client(&sim);
    let e = gl
        .create_issue(&checkout(), &IssueChanges::default())
        .await
        .expect_err("no title");
    assert_eq!(e.code(), DiagnosisCode::InvalidInput);
    let created = gl
        .create_issue(
            &checkout(),
            &IssueChanges {
                title: Some("Synced from Jira OPS-5".into()),
                description: Some("Created by Cairn".into()),
                labels: Some(vec!["feature".into()]),
                ..Default::default()
            },
        )
        .await
        .expect("create");
    assert_eq!(created.iid, 8);
    assert_eq!(created.labels, ["feature"]);
    let closed = gl
        .update_issue(
            &checkout(),
            created.iid,
            &IssueChanges {
                state_event: Some(StateEvent::Close),
                add_labels: vec!["ux".into()],
                ..Default::default()
            },
        )
        .await
        .expect("close");
    assert!(closed.is_closed());
    let mut labels = closed.labels.clone();
    labels.sort();
    assert_eq!(labels, ["feature", "ux"]);
    let reopened = gl
        .update_issue(
            &checkout(),
            created.iid,
            &IssueChanges {
                state_event: Some(StateEvent::Reopen),
                remove_labels: vec!["feature".into()],
                ..Default::default()
            },
        )
        .await
        .expect("reopen");
    assert_eq!(reopened.state, "opened");
    assert_eq!(reopened.labels, ["ux"]);
    sim.shutdown().await;
}
