//! Comments both ways and back links, people, and milestones <-> Jira
//! versions, GitLab <-> Jira against the
//! simulator, on both backends, driven by the reconciliation scan and the
//! job worker (webhooks are tested through the web layer). Everyone is
//! unmapped unless a test maps people, so copies say who wrote them.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use cairn_connect::gitlab::{IssueChanges, ProjectRef};
use cairn_connect::{GitLabAuth, GitLabClient, GitLabSettings, JiraClient, Secret};
use cairn_core::authz::Role;
use cairn_core::sync::{OperationKind, OperationState, Side, SyncItemState};
use cairn_engine::accounts::{Accounts, Authenticated};
use cairn_engine::connections::{ConnectionInput, Connections};
use cairn_engine::jobs::{JobSignal, Registry, Worker, WorkerConfig};
use cairn_engine::keyring::Keyring;
use cairn_engine::sync::{PairInput, SideInput, SyncEngine, SyncSettings};
use cairn_store::testing::TestDb;
use cairn_store::{Backend, Store};
use chrono::Utc;
use serde_json::{Value, json};
use tokio_util::sync::CancellationToken;

const LEFT: &str = "northwind/checkout";
/// The GitLab account's name (the connection's, and the test's author).
const GITLAB_NAME: &str = "Ana Silva";
/// The Jira account's display name.
const JIRA_NAME: &str = "Bruno Costa";

struct Harness {
    _db: TestDb,
    _keys: tempfile::TempDir,
    store: Arc<dyn Store>,
    sim: cairn_sim::SimHandle,
    sync: Arc<SyncEngine>,
    by: Authenticated,
    gitlab: GitLabClient,
    jira: JiraClient,
    gitlab_connection: i64,
    jira_connection: i64,
    shutdown: CancellationToken,
}

impl Harness {
    async fn new(backend: Backend) -> Harness {
        let db = TestDb::new(backend).await;
        let store = db.store().await;
        let sim = cairn_sim::start(cairn_sim::SimConfig::default())
            .await
            .expect("simulator");
        sim.with_world_mut(|w| {
            if let Some(root) = w.gitlab.users.iter_mut().find(|u| u.username == "root") {
                root.name = GITLAB_NAME.into();
            }
            if let Some(admin) = w.jira.users.first_mut() {
                admin.display_name = JIRA_NAME.into();
            }
        });
        let keys = tempfile::tempdir().expect("tempdir");
        let keyring =
            Arc::new(Keyring::load(None, &keys.path().join("master.key")).expect("keyring"));
        let user = Accounts::new(store.clone())
            .create_user(
                None,
                "comments@example.com",
                "Comments Owner",
                Role::Member,
                "a long enough password",
                Utc::now(),
            )
            .await
            .expect("user");
        let by = Authenticated {
            user,
            session: None,
        };
        let connections = Connections::new(store.clone(), keyring.clone());
        let gitlab_connection = connections
            .create(
                &by,
                ConnectionInput {
                    kind: "gitlab".into(),
                    name: "sim".into(),
                    base_url: Some(sim.gitlab_url()),
                    auth_kind: "private_token".into(),
                    username: None,
                    secret: Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN),
                    shared: false,
                },
                Utc::now(),
            )
            .await
            .expect("connection")
            .id;
        let jira_connection = connections
            .create(
                &by,
                ConnectionInput {
                    kind: "jira".into(),
                    name: "sim jira".into(),
                    base_url: Some(sim.jira_url()),
                    auth_kind: "basic".into(),
                    username: Some(cairn_sim::DEFAULT_JIRA_EMAIL.into()),
                    secret: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
                    shared: false,
                },
                Utc::now(),
            )
            .await
            .expect("jira connection")
            .id;
        let sync = Arc::new(SyncEngine::new(
            store.clone(),
            keyring,
            SyncSettings {
                retry_base: Duration::from_millis(50),
                retry_cap: Duration::from_millis(400),
                full_scan_every: Duration::ZERO,
                http: cairn_connect::HttpConfig {
                    requests_per_second: 5_000.0,
                    burst: 5_000,
                    ..cairn_connect::HttpConfig::default()
                },
                ..SyncSettings::default()
            },
        ));
        let mut registry = Registry::with_builtins();
        sync.register(&mut registry);
        let shutdown = CancellationToken::new();
        let worker = Worker::new(
            store.clone(),
            registry,
            WorkerConfig {
                concurrency: 4,
                poll_interval: Duration::from_millis(20),
                ..WorkerConfig::default()
            },
            Worker::new_id(),
            JobSignal::default(),
        );
        tokio::spawn(worker.run(shutdown.clone()));
        // The test's own clients write as fast as the simulator takes it.
        let fast = cairn_connect::HttpConfig {
            requests_per_second: 5_000.0,
            burst: 5_000,
            ..cairn_connect::HttpConfig::default()
        };
        let mut gitlab_settings = GitLabSettings::new(
            sim.gitlab_url(),
            GitLabAuth::PrivateToken(Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN)),
        );
        gitlab_settings.http = fast.clone();
        let gitlab = GitLabClient::new(&gitlab_settings).expect("client");
        let mut jira_settings = cairn_connect::JiraSettings::new(
            sim.jira_url(),
            cairn_connect::JiraAuth::CloudBasic {
                email: cairn_sim::DEFAULT_JIRA_EMAIL.into(),
                api_token: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
            },
        );
        jira_settings.http = fast;
        let jira = JiraClient::new(&jira_settings).expect("jira client");
        Harness {
            _db: db,
            _keys: keys,
            store,
            sim,
            sync,
            by,
            gitlab,
            jira,
            gitlab_connection,
            jira_connection,
            shutdown,
        }
    }

    fn input(&self, delete_comment_copies: bool) -> PairInput {
        PairInput {
            name: "checkout <-> OPS".into(),
            left: SideInput {
                connection_id: self.gitlab_connection,
                project: LEFT.into(),
                labels: vec![],
                jql: None,
            },
            right: SideInput {
                connection_id: self.jira_connection,
                project: "OPS".into(),
                labels: vec![],
                jql: None,
            },
            active: true,
            created_after: None,
            fields: Default::default(),
            status_mapping: None,
            transition_defaults: None,
            jira_issue_type: None,
            scan_interval_secs: None,
            delete_comment_copies,
            scan_overlap_secs: None,
            auto_map_people: false,
        }
    }

    async fn pair(&self, delete_comment_copies: bool) -> (i64, String) {
        self.pair_of(&self.input(delete_comment_copies)).await
    }

    /// Creates a pair; its id and the Jira issue type it creates.
    async fn pair_of(&self, input: &PairInput) -> (i64, String) {
        let view = self
            .sync
            .create_pair(&self.by, input, Utc::now())
            .await
            .expect("pair");
        let issue_type = view
            .pair
            .settings
            .jira_issue_type
            .clone()
            .expect("issue type");
        (view.pair.id, issue_type)
    }

    /// Scans and waits until no sync job is left and `expected` items
    /// fail.
    async fn settle(&self, pair: i64, expected: i64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(300);
        loop {
            self.sync.scan(pair).await.expect("scan");
            let scan_failed = self
                .store
                .list_sync_runs(pair, 20)
                .await
                .expect("runs")
                .iter()
                .find(|r| r.triggered_by == "scan")
                .is_some_and(|r| r.counts.failed > 0);
            loop {
                self.sync.enqueue_due(Utc::now()).await.expect("due");
                let counts = self.store.job_counts().await.expect("counts");
                let busy = |s: &str| counts.0.get(s).copied().unwrap_or(0);
                let failing = self
                    .store
                    .sync_item_counts(pair)
                    .await
                    .expect("items")
                    .failing;
                if failing == expected && busy("running") == 0 && busy("queued") as i64 <= expected
                {
                    break;
                }
                if std::time::Instant::now() >= deadline {
                    let items = self
                        .store
                        .list_sync_items(pair, Some(SyncItemState::Failing), 0, 5)
                        .await
                        .expect("failing");
                    let errors: Vec<_> = items.iter().map(|i| i.last_error.clone()).collect();
                    panic!("sync did not settle: {counts:?}, {failing} failing: {errors:?}");
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            if !scan_failed {
                return;
            }
        }
    }

    async fn gitlab_issue(&self, title: &str) -> u64 {
        self.gitlab
            .create_issue(
                &ProjectRef::from(LEFT),
                &IssueChanges {
                    title: Some(title.into()),
                    description: Some("from GitLab".into()),
                    ..IssueChanges::default()
                },
            )
            .await
            .expect("create")
            .iid
    }

    async fn jira_issue(&self, issue_type: &str, title: &str) -> String {
        let mut fields = serde_json::Map::new();
        fields.insert("project".into(), json!({"key": "OPS"}));
        fields.insert("issuetype".into(), json!({"id": issue_type}));
        fields.insert("summary".into(), json!(title));
        self.jira
            .create_issue(fields, &[])
            .await
            .expect("jira issue")
            .key
    }

    /// The linked (GitLab iid, Jira key) of every item of the pair.
    async fn linked(&self, pair: i64) -> Vec<(u64, String)> {
        let items = self
            .store
            .list_sync_items(pair, None, 0, 10_000)
            .await
            .expect("items");
        items
            .iter()
            .filter_map(|i| {
                Some((
                    i.left.as_ref()?.id.parse().ok()?,
                    i.right.as_ref()?.key.clone(),
                ))
            })
            .collect()
    }

    /// A GitLab issue's people's notes (no system note, no back link).
    async fn notes(&self, iid: u64) -> Vec<cairn_connect::gitlab::Note> {
        let mut notes = self
            .gitlab
            .notes(&ProjectRef::from(LEFT), iid)
            .collect_all()
            .await
            .expect("notes");
        notes.retain(|n| !n.system && !n.body.contains("<!-- cairn-sync backlink"));
        notes.sort_by_key(|n| n.id);
        notes
    }

    async fn backlink_notes(&self, iid: u64) -> usize {
        self.gitlab
            .notes(&ProjectRef::from(LEFT), iid)
            .collect_all()
            .await
            .expect("notes")
            .iter()
            .filter(|n| n.body.contains("<!-- cairn-sync backlink"))
            .count()
    }

    /// A Jira issue's comments as Markdown, oldest first: (id, text).
    async fn comments(&self, key: &str) -> Vec<(String, String)> {
        self.jira
            .comments(key)
            .await
            .expect("comments")
            .iter()
            .map(|c| {
                (
                    c.id.clone().unwrap_or_default(),
                    cairn_markup::adf_to_markdown(&c.body)
                        .expect("ADF")
                        .trim_end()
                        .to_owned(),
                )
            })
            .collect()
    }

    async fn jira_comment(&self, key: &str, markdown: &str) -> String {
        self.jira
            .add_comment_body(key, cairn_markup::markdown_to_adf(markdown))
            .await
            .expect("jira comment")
            .id
            .expect("id")
    }

    async fn ops(&self, pair: i64, kind: OperationKind) -> Vec<cairn_store::sync::SyncOperation> {
        self.store
            .list_sync_operations(pair, None, 500)
            .await
            .expect("ops")
            .into_iter()
            .filter(|o| o.kind == kind)
            .collect()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// The text of a copy: the attribution line, then the original's text.
fn copy_of(text: &str) -> String {
    text.split_once("\n\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default()
}

/// Checks one linked item: each side holds its own comments with their
/// latest text once, and exactly one copy of each of the other side's,
/// attributed, with the latest text; nothing else (no copy of a copy).
async fn check_item(h: &Harness, iid: u64, key: &str, gitlab: &[String], jira: &[String]) {
    let notes: Vec<String> = h
        .notes(iid)
        .await
        .into_iter()
        .map(|n| n.body.trim_end().to_owned())
        .collect();
    let comments: Vec<String> = h.comments(key).await.into_iter().map(|c| c.1).collect();
    let gitlab_prefix = format!("{JIRA_NAME} in [Jira](");
    let jira_prefix = format!("{GITLAB_NAME} in [GitLab](");
    let (copies, own): (Vec<&String>, Vec<&String>) =
        notes.iter().partition(|n| n.starts_with(&gitlab_prefix));
    assert_eq!(
        own.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        gitlab.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "#{iid}: GitLab's own comments"
    );
    let mut got: Vec<String> = copies.iter().map(|c| copy_of(c)).collect();
    let mut want = jira.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want, "#{iid}: Jira's comments, once each, in GitLab");
    let (copies, own): (Vec<&String>, Vec<&String>) =
        comments.iter().partition(|c| c.starts_with(&jira_prefix));
    assert_eq!(
        own.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        jira.iter().map(|s| s.as_str()).collect::<Vec<_>>(),
        "{key}: Jira's own comments"
    );
    let mut got: Vec<String> = copies.iter().map(|c| copy_of(c)).collect();
    let mut want = gitlab.to_vec();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{key}: GitLab's comments, once each, in Jira");
}

/// The acceptance test: `n` linked items (half made in GitLab, half in
/// Jira), then ten rounds in which every item gets a new comment on each
/// side and the previous round's comments are edited on both: every
/// comment exists once on each side with its latest text, nothing lost,
/// nothing doubled, no copy of a copy.
async fn ten_rounds_of_comments_on_both_sides(backend: Backend, n: usize) {
    let h = Harness::new(backend).await;
    let (pair, issue_type) = h.pair(false).await;
    for i in 0..n {
        if i % 2 == 0 {
            h.gitlab_issue(&format!("item {i}")).await;
        } else {
            h.jira_issue(&issue_type, &format!("item {i}")).await;
        }
    }
    h.settle(pair, 0).await;
    let linked = h.linked(pair).await;
    assert_eq!(linked.len(), n, "every item linked");
    // What each side should hold: its comments' latest texts, and the ids.
    let mut gitlab: BTreeMap<u64, Vec<(u64, String)>> = BTreeMap::new();
    let mut jira: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    let started = std::time::Instant::now();
    let mut writing = Duration::ZERO;
    for round in 0..10 {
        let round_started = std::time::Instant::now();
        for (i, (iid, key)) in linked.iter().enumerate() {
            let on_gitlab = gitlab.entry(*iid).or_default();
            if let Some((id, text)) = on_gitlab.last_mut() {
                *text = format!("{text} (edited in round {round})");
                h.gitlab
                    .update_note(&ProjectRef::from(LEFT), *iid, *id, text)
                    .await
                    .expect("edit note");
            }
            let text = format!("Round {round} on item {i}: **bold** and `code` from GitLab");
            let note = h
                .gitlab
                .create_note(&ProjectRef::from(LEFT), *iid, &text)
                .await
                .expect("note");
            on_gitlab.push((note.id, text));
            let on_jira = jira.entry(key.clone()).or_default();
            if let Some((id, text)) = on_jira.last_mut() {
                *text = format!("{text} (edited in round {round})");
                h.jira
                    .update_comment(key, id, cairn_markup::markdown_to_adf(text))
                    .await
                    .expect("edit comment");
            }
            let text = format!("Round {round} on item {i}: *emphasis* from Jira");
            let id = h.jira_comment(key, &text).await;
            on_jira.push((id, text));
        }
        writing += round_started.elapsed();
        h.settle(pair, 0).await;
        if round == 0 || round == 9 {
            for (iid, key) in &linked {
                let g: Vec<String> = gitlab[iid].iter().map(|c| c.1.clone()).collect();
                let j: Vec<String> = jira[key].iter().map(|c| c.1.clone()).collect();
                check_item(&h, *iid, key, &g, &j).await;
            }
        }
    }
    eprintln!(
        "{n} items, 10 rounds of comments and edits on both sides: {:?} ({writing:?} of it the test's own writes)",
        started.elapsed()
    );
    // Every copy was written once and every edit of an original once.
    let ops = h.ops(pair, OperationKind::Comment).await;
    assert!(ops.iter().all(|o| o.state == OperationState::Done));
    let counts = h.store.sync_item_counts(pair).await.expect("counts");
    assert_eq!(counts.synced as usize, n, "{counts:?}");
    // And one more scan finds nothing to write.
    let before = h
        .store
        .list_sync_operations(pair, None, 100_000)
        .await
        .expect("ops")
        .len();
    h.settle(pair, 0).await;
    h.settle(pair, 0).await;
    assert_eq!(
        h.store
            .list_sync_operations(pair, None, 100_000)
            .await
            .expect("ops")
            .len(),
        before,
        "no echo"
    );
}

/// An unmapped author's comment is copied with "Name in Tracker:" linking
/// the original; the Markdown is converted (ADF in Jira Cloud) both ways.
async fn an_unmapped_authors_comment_carries_the_attribution(backend: Backend) {
    let h = Harness::new(backend).await;
    let (pair, issue_type) = h.pair(false).await;
    let iid = h.gitlab_issue("Attributed").await;
    h.settle(pair, 0).await;
    let key = h.linked(pair).await[0].1.clone();
    let note = h
        .gitlab
        .create_note(
            &ProjectRef::from(LEFT),
            iid,
            "Repro:\n\n- open **checkout**\n- pay",
        )
        .await
        .expect("note");
    h.jira_comment(&key, "Seen on *staging* too").await;
    // GitLab's own system note and an internal note stay in GitLab.
    h.sim.with_world_mut(|w| {
        let ids = [w.gitlab.alloc_id(), w.gitlab.alloc_id()];
        let now = Utc::now();
        let project = w.gitlab.project_index(LEFT).expect("project");
        let issue = w.gitlab.projects[project]
            .issues
            .iter_mut()
            .find(|i| i.iid == iid)
            .expect("issue");
        for (id, system) in [(ids[0], true), (ids[1], false)] {
            issue.notes.push(cairn_sim::model::GlNote {
                id,
                body: if system {
                    "changed the description".into()
                } else {
                    "internal only".into()
                },
                author_id: 1,
                system,
                created_at: now,
                updated_at: now,
                internal: !system,
            });
        }
        issue.updated_at = now;
    });
    h.settle(pair, 0).await;
    let comments = h.comments(&key).await;
    assert_eq!(
        comments.len(),
        2,
        "no system or internal note carried: {comments:?}"
    );
    let copy = comments
        .iter()
        .find(|c| c.1.starts_with(GITLAB_NAME))
        .expect("the copy in Jira");
    let web_url = h
        .gitlab
        .issue(&ProjectRef::from(LEFT), iid)
        .await
        .expect("issue")
        .web_url
        .expect("url");
    assert_eq!(
        copy.1,
        format!(
            "{GITLAB_NAME} in [GitLab]({web_url}#note_{}):\n\nRepro:\n\n- open **checkout**\n- pay",
            note.id
        )
    );
    let raw = h.jira.comments(&key).await.expect("raw");
    assert!(
        raw.iter()
            .all(|c| c.body.get("type") == Some(&json!("doc"))),
        "ADF on Cloud"
    );
    let notes = h.notes(iid).await;
    let back = notes
        .iter()
        .find(|n| n.body.starts_with(JIRA_NAME))
        .expect("the copy in GitLab");
    assert!(
        back.body.starts_with(&format!(
            "{JIRA_NAME} in [Jira]({}/browse/{key}?focusedCommentId=",
            h.sim.jira_url().trim_end_matches('/')
        )),
        "{}",
        back.body
    );
    assert!(
        back.body.ends_with("Seen on *staging* too"),
        "{}",
        back.body
    );
    let _ = issue_type;
}

/// A comment Jira refuses (over 32,767 characters) fails alone: its
/// operation is failed with Jira's words and the item is listed failing,
/// while the other comments of the item (and of other items) arrive.
async fn a_refused_comment_fails_alone(backend: Backend) {
    let h = Harness::new(backend).await;
    let (pair, _) = h.pair(false).await;
    let first = h.gitlab_issue("Long comments").await;
    let second = h.gitlab_issue("Short comments").await;
    h.settle(pair, 0).await;
    let linked: BTreeMap<u64, String> = h.linked(pair).await.into_iter().collect();
    let project = ProjectRef::from(LEFT);
    h.gitlab
        .create_note(&project, first, "before the long one")
        .await
        .expect("note");
    h.gitlab
        .create_note(&project, first, &"a".repeat(40_000))
        .await
        .expect("long note");
    h.gitlab
        .create_note(&project, first, "after the long one")
        .await
        .expect("note");
    h.gitlab
        .create_note(&project, second, "on the other item")
        .await
        .expect("note");
    h.settle(pair, 1).await;
    let texts: Vec<String> = h
        .comments(&linked[&first])
        .await
        .into_iter()
        .map(|c| copy_of(&c.1))
        .collect();
    assert_eq!(texts, ["before the long one", "after the long one"]);
    let other: Vec<String> = h
        .comments(&linked[&second])
        .await
        .into_iter()
        .map(|c| copy_of(&c.1))
        .collect();
    assert_eq!(other, ["on the other item"]);
    let failing = h
        .store
        .list_sync_items(pair, Some(SyncItemState::Failing), 0, 10)
        .await
        .expect("failing");
    assert_eq!(failing.len(), 1);
    assert_eq!(
        failing[0].left.as_ref().map(|r| r.id.clone()),
        Some(first.to_string())
    );
    let error = failing[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("32,767") && error.contains(GITLAB_NAME),
        "{error}"
    );
    let failed: Vec<_> = h
        .ops(pair, OperationKind::Comment)
        .await
        .into_iter()
        .filter(|o| o.state == OperationState::Failed)
        .collect();
    assert!(!failed.is_empty());
    assert!(
        failed
            .iter()
            .all(|o| o.error.as_deref().is_some_and(|e| e.contains("400")))
    );
    // Shortened, it goes on the next attempt and the item is well again.
    let notes = h.notes(first).await;
    let long = notes.iter().find(|n| n.body.len() > 30_000).expect("long");
    h.gitlab
        .update_note(&project, first, long.id, "now short")
        .await
        .expect("shorten");
    h.settle(pair, 0).await;
    let texts: Vec<String> = h
        .comments(&linked[&first])
        .await
        .into_iter()
        .map(|c| copy_of(&c.1))
        .collect();
    assert_eq!(
        texts,
        ["before the long one", "after the long one", "now short"]
    );
}

/// Each side links to its twin exactly once (a remote link in Jira, one
/// note in GitLab) and each comment goes once, while answers are lost
/// after the tracker acted (responses cut in half, which hit whichever
/// requests come next: lists, reads, creates, writes). The cases where
/// the lost answer is exactly a back link's or a copy's are made certain
/// by the two interruption tests below.
async fn back_links_and_comments_once_when_answers_are_lost(backend: Backend) {
    let h = Harness::new(backend).await;
    let (pair, issue_type) = h.pair(false).await;
    let n = 12;
    for i in 0..n {
        if i % 2 == 0 {
            h.gitlab_issue(&format!("lossy {i}")).await;
        } else {
            h.jira_issue(&issue_type, &format!("lossy {i}")).await;
        }
    }
    // Responses cut in half after the trackers acted on the request.
    for service in [cairn_sim::Service::Gitlab, cairn_sim::Service::Jira] {
        let mut fault = cairn_sim::FaultSpec::new(service, cairn_sim::FaultKind::Truncate);
        fault.count = Some(15);
        h.sim.inject(&fault);
    }
    h.settle(pair, 0).await;
    let linked = h.linked(pair).await;
    assert_eq!(linked.len(), n);
    for (iid, key) in &linked {
        let note = h
            .gitlab
            .create_note(&ProjectRef::from(LEFT), *iid, &format!("note on {key}"))
            .await
            .expect("note");
        let _ = note;
        h.jira_comment(key, &format!("comment on #{iid}")).await;
    }
    for service in [cairn_sim::Service::Gitlab, cairn_sim::Service::Jira] {
        let mut fault = cairn_sim::FaultSpec::new(service, cairn_sim::FaultKind::Truncate);
        fault.count = Some(15);
        h.sim.inject(&fault);
    }
    h.settle(pair, 0).await;
    h.settle(pair, 0).await;
    for (iid, key) in &linked {
        check_item(
            &h,
            *iid,
            key,
            &[format!("note on {key}")],
            &[format!("comment on #{iid}")],
        )
        .await;
        assert_eq!(
            h.backlink_notes(*iid).await,
            1,
            "#{iid}: one back link note"
        );
        let links = h.jira.remote_links(key).await.expect("links");
        let web_url = h
            .gitlab
            .issue(&ProjectRef::from(LEFT), *iid)
            .await
            .expect("issue")
            .web_url
            .expect("url");
        assert_eq!(links.len(), 1, "{key}: one remote link: {links:?}");
        assert_eq!(
            links[0].pointer("/object/url").and_then(Value::as_str),
            Some(web_url.as_str())
        );
    }
}

/// Deleting an original deletes its copy only when the pair says so;
/// GitLab sends nothing for a deleted note, and the scan finds it.
async fn deleted_originals_delete_copies_only_when_the_pair_says_so(backend: Backend) {
    for delete in [false, true] {
        let h = Harness::new(backend).await;
        let (pair, _) = h.pair(delete).await;
        let iid = h.gitlab_issue("Deletions").await;
        h.settle(pair, 0).await;
        let key = h.linked(pair).await[0].1.clone();
        let project = ProjectRef::from(LEFT);
        let note = h
            .gitlab
            .create_note(&project, iid, "to be deleted in GitLab")
            .await
            .expect("note");
        let comment = h.jira_comment(&key, "to be deleted in Jira").await;
        h.settle(pair, 0).await;
        assert_eq!(h.comments(&key).await.len(), 2);
        assert_eq!(h.notes(iid).await.len(), 2);
        h.gitlab
            .delete_note(&project, iid, note.id)
            .await
            .expect("delete note");
        h.jira
            .delete_comment(&key, &comment)
            .await
            .expect("delete comment");
        h.settle(pair, 0).await;
        let left_in_jira = h.comments(&key).await.len();
        let left_in_gitlab = h.notes(iid).await.len();
        if delete {
            assert_eq!((left_in_jira, left_in_gitlab), (0, 0), "copies deleted");
        } else {
            assert_eq!((left_in_jira, left_in_gitlab), (1, 1), "copies kept");
        }
        // Either way nothing is copied again.
        h.settle(pair, 0).await;
        assert_eq!(h.comments(&key).await.len(), left_in_jira);
        assert_eq!(h.notes(iid).await.len(), left_in_gitlab);
    }
}

/// A copy made by an attempt that was interrupted before recording it is
/// found by the original's address it names and adopted, not made again.
async fn an_interrupted_copy_is_adopted_not_repeated(backend: Backend) {
    let h = Harness::new(backend).await;
    let (pair, _) = h.pair(false).await;
    let iid = h.gitlab_issue("Interrupted").await;
    h.settle(pair, 0).await;
    let key = h.linked(pair).await[0].1.clone();
    let item = h
        .store
        .find_sync_item(pair, Side::Left, &iid.to_string())
        .await
        .expect("find")
        .expect("item");
    let project = ProjectRef::from(LEFT);
    let note = h
        .gitlab
        .create_note(&project, iid, "made once")
        .await
        .expect("note");
    // What a crash leaves: the link recorded, the copy made, no copy id.
    let mut tx = h.store.begin().await.expect("begin");
    tx.insert_sync_comment(
        pair,
        item.id,
        Side::Left,
        &note.id.to_string(),
        &cairn_core::sync::comment_fingerprint("made once"),
        Utc::now(),
    )
    .await
    .expect("intent");
    tx.commit().await.expect("commit");
    let web_url = item.left.as_ref().expect("left").url.clone();
    let copy = format!(
        "{GITLAB_NAME} in [GitLab]({web_url}#note_{}):\n\nmade once",
        note.id
    );
    h.jira_comment(&key, &copy).await;
    h.settle(pair, 0).await;
    h.settle(pair, 0).await;
    let comments = h.comments(&key).await;
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert_eq!(h.notes(iid).await.len(), 1, "and not copied back");
    let links = h.store.list_sync_comments(item.id).await.expect("links");
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].copy_id.as_deref(), Some(comments[0].0.as_str()));
}

/// What an attempt that wrote a back link and never heard back leaves in
/// Cairn: the item noted and the link's intent.
async fn lost_backlink_attempt(h: &Harness, pair: i64, side: Side, id: &str, key: &str, url: &str) {
    let mut tx = h.store.begin().await.expect("begin");
    let (item, _) = tx
        .note_sync_item(
            pair,
            side,
            &cairn_store::sync::RemoteRef {
                id: id.into(),
                key: key.into(),
                url: url.into(),
            },
            None,
            Utc::now(),
        )
        .await
        .expect("note");
    tx.insert_sync_operation(
        &cairn_store::sync::NewSyncOperation {
            pair_id: pair,
            item_id: item,
            side,
            kind: OperationKind::Backlink,
            fields: Default::default(),
        },
        Utc::now(),
    )
    .await
    .expect("intent");
    tx.commit().await.expect("commit");
}

/// A back link written by an attempt whose answer never came (a timeout
/// after the tracker wrote it) is found before writing and not written
/// again: the Jira remote link by its globalId (no second POST at all),
/// the GitLab note by its mark.
async fn a_back_link_written_before_an_interruption_is_not_written_again(backend: Backend) {
    let h = Harness::new(backend).await;
    let mut input = h.input(false);
    input.active = false;
    let view = h
        .sync
        .create_pair(&h.by, &input, Utc::now())
        .await
        .expect("pair");
    let pair = view.pair.id;
    let issue_type = view.pair.settings.jira_issue_type.clone().expect("type");
    // A Jira issue whose GitLab twin will be the project's next issue.
    let key = h.jira_issue(&issue_type, "Linked before").await;
    let next_iid = h
        .gitlab
        .issues(
            &ProjectRef::from(LEFT),
            &cairn_connect::gitlab::IssueFilter {
                state: Some(cairn_connect::gitlab::IssueState::All),
                ..Default::default()
            },
        )
        .collect_all()
        .await
        .expect("issues")
        .iter()
        .map(|i| i.iid)
        .max()
        .unwrap_or(0)
        + 1;
    let twin_url = format!(
        "{}/{LEFT}/-/issues/{next_iid}",
        h.sim.gitlab_url().trim_end_matches('/')
    );
    // What the lost attempt left: its intent in Cairn, the link in Jira.
    let jira_id = h
        .jira
        .issue_with(&key, &["summary"], &[], false)
        .await
        .expect("issue")
        .id;
    let browse = format!("{}/browse/{key}", h.sim.jira_url().trim_end_matches('/'));
    lost_backlink_attempt(&h, pair, Side::Right, &jira_id, &key, &browse).await;
    h.jira
        .put_remote_link_to(
            &key,
            &format!("cairn-sync:pair={pair}:{twin_url}"),
            ("com.gitlab", "GitLab"),
            &twin_url,
            "written before",
        )
        .await
        .expect("link");
    let mut input = h.input(false);
    input.created_after = Some(Utc::now() - chrono::Duration::hours(1));
    h.sync
        .update_pair(&h.by, pair, &input, Utc::now())
        .await
        .expect("activate");
    h.sim.clear_requests();
    h.settle(pair, 0).await;
    let linked = h.linked(pair).await;
    assert_eq!(
        linked,
        vec![(next_iid, key.clone())],
        "the twin is the next issue"
    );
    let links = h.jira.remote_links(&key).await.expect("links");
    assert_eq!(links.len(), 1, "{links:?}");
    assert_eq!(
        links[0].pointer("/object/title").and_then(Value::as_str),
        Some("written before"),
        "found, not written over"
    );
    let posts = h
        .sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/remotelink"))
        .count();
    assert_eq!(posts, 0, "looked for before writing");
    assert_eq!(h.backlink_notes(next_iid).await, 1);

    // The same for a GitLab note naming a Jira twin not recorded yet.
    let iid = h.gitlab_issue("Noted before").await;
    let web_url = format!(
        "{}/{LEFT}/-/issues/{iid}",
        h.sim.gitlab_url().trim_end_matches('/')
    );
    lost_backlink_attempt(
        &h,
        pair,
        Side::Left,
        &iid.to_string(),
        &format!("#{iid}"),
        &web_url,
    )
    .await;
    let next_key = format!(
        "OPS-{}",
        key.trim_start_matches("OPS-")
            .parse::<u64>()
            .expect("number")
            + 1
    );
    let jira_url = format!(
        "{}/browse/{next_key}",
        h.sim.jira_url().trim_end_matches('/')
    );
    h.gitlab
        .create_note(
            &ProjectRef::from(LEFT),
            iid,
            &cairn_core::sync::backlink_note(pair, &next_key, &jira_url),
        )
        .await
        .expect("note");
    h.settle(pair, 0).await;
    let linked: BTreeMap<u64, String> = h.linked(pair).await.into_iter().collect();
    assert_eq!(
        linked.get(&iid),
        Some(&next_key),
        "the twin is the next key"
    );
    assert_eq!(h.backlink_notes(iid).await, 1, "one back link note");
    assert!(
        h.notes(iid).await.is_empty(),
        "the back link is not a comment"
    );
    assert!(h.comments(&next_key).await.is_empty(), "nor copied as one");
}

/// Adds people to the simulator: GitLab users (user name, name, public
/// email) made members of the pair's project, and Jira users (account id,
/// display name, visible email). Returns the GitLab users' ids.
fn add_people(
    h: &Harness,
    gitlab: &[(&str, &str, &str)],
    jira: &[(&str, &str, &str)],
) -> BTreeMap<String, u64> {
    h.sim.with_world_mut(|w| {
        let mut ids = BTreeMap::new();
        for (username, name, email) in gitlab {
            let id = w.gitlab.users.iter().map(|u| u.id).max().unwrap_or(0) + 1;
            w.gitlab.users.push(cairn_sim::model::GlUser {
                id,
                username: (*username).into(),
                name: (*name).into(),
                email: (*email).into(),
                admin: false,
                state: "active".into(),
            });
            let project = w
                .gitlab
                .projects
                .iter_mut()
                .find(|p| p.path_with_namespace == LEFT)
                .expect("project");
            project.members.push((id, 30));
            ids.insert((*username).to_owned(), id);
        }
        for (account, name, email) in jira {
            w.jira.users.push(cairn_sim::model::JiraUser {
                account_id: (*account).into(),
                name: (*account).into(),
                display_name: (*name).into(),
                email: (*email).into(),
                api_token: String::new(),
                pat: String::new(),
                active: true,
                email_visible: !email.is_empty(),
            });
        }
        ids
    })
}

impl Harness {
    async fn ctl(&self, path: &str, body: Value) {
        let reply = reqwest::Client::new()
            .post(format!("{}{path}", self.sim.gitlab_url()))
            .json(&body)
            .send()
            .await
            .expect("control");
        assert!(reply.status().is_success(), "{path}: {}", reply.status());
    }

    async fn gitlab_assignee(&self, iid: u64) -> Option<u64> {
        let issue = self
            .gitlab
            .issue(&ProjectRef::from(LEFT), iid)
            .await
            .expect("issue");
        issue.assignees.first().map(|a| a.id)
    }

    async fn jira_assignee(&self, key: &str) -> Option<String> {
        let issue = self.jira.issue(key, &["assignee"]).await.expect("issue");
        issue.fields.assignee.and_then(|a| a.account_id)
    }

    async fn assign_in_jira(&self, key: &str, account: &str) {
        let mut fields = serde_json::Map::new();
        fields.insert("assignee".into(), json!({ "accountId": account }));
        self.jira.edit_issue(key, fields).await.expect("assign");
    }
}

/// Issue 16's people: two Jira users with one display name are never
/// auto-mapped, an email match is, a manual mapping wins over both, an
/// unmapped author's comment carries the attribution (a mapped author's
/// does not), and assignees follow the mapping both ways (an unmapped
/// one leaves the other side as it is).
async fn people_are_mapped_by_email_by_hand_and_never_by_a_shared_name(backend: Backend) {
    use cairn_core::sync::PersonMapping;
    let h = Harness::new(backend).await;
    let gitlab = add_people(
        &h,
        &[
            ("carla", "Carla Dias", "carla@example.com"),
            ("dora", "Dora Lima", ""),
            ("eva", "Eva Reis", "eva@example.com"),
        ],
        &[
            // Another name, the same email: mapped by email.
            ("acc-carla", "C. Dias", "carla@example.com"),
            // Two Jira users named Dora Lima: neither is mapped.
            ("acc-dora-1", "Dora Lima", ""),
            ("acc-dora-2", "Dora Lima", ""),
            // Eva's old account matches by email; a manual mapping to her
            // new one wins.
            ("acc-eva-old", "Eva Reis", "eva@example.com"),
            ("acc-eva", "Eva R.", ""),
        ],
    );
    let (carla, dora, eva) = (gitlab["carla"], gitlab["dora"], gitlab["eva"]);
    let mut input = h.input(false);
    input.auto_map_people = true;
    let (pair, _) = h.pair_of(&input).await;
    let mapping = h
        .sync
        .map_person(&h.by, pair, &eva.to_string(), "acc-eva", Utc::now())
        .await
        .expect("manual mapping");
    assert_eq!(mapping.right_name, "Eva R.");
    // Eva mapped twice on the left: refused naming the field, not saved.
    let twice = h
        .sync
        .map_person(&h.by, pair, &eva.to_string(), "acc-eva-old", Utc::now())
        .await;
    assert!(
        matches!(&twice, Err(cairn_engine::EngineError::Invalid { field, .. }) if field == "left_id"),
        "{twice:?}"
    );

    let people = h.sync.list_people(&h.by, pair).await.expect("people");
    assert_eq!(people.manual.len(), 1, "the refused mapping was not saved");
    let how = |side: Side, id: &str| {
        let p = people
            .people
            .iter()
            .find(|p| p.side == side && p.id == id)
            .unwrap_or_else(|| panic!("{side} {id} listed"));
        (p.mapping, p.mapped_to.clone())
    };
    assert_eq!(
        how(Side::Left, &carla.to_string()),
        (PersonMapping::AutoByEmail, Some("acc-carla".into()))
    );
    assert_eq!(
        how(Side::Left, &dora.to_string()),
        (PersonMapping::AmbiguousName, None)
    );
    assert_eq!(
        how(Side::Right, "acc-dora-2"),
        (PersonMapping::AmbiguousName, None)
    );
    assert_eq!(
        how(Side::Left, &eva.to_string()),
        (PersonMapping::Manual, Some("acc-eva".into()))
    );
    assert_eq!(
        how(Side::Right, "acc-eva-old"),
        (PersonMapping::Unmapped, None)
    );

    // An assignee crosses through the mapping, both ways.
    let iid = h
        .gitlab
        .create_issue(
            &ProjectRef::from(LEFT),
            &IssueChanges {
                title: Some("Checkout button misaligned".into()),
                assignee_ids: Some(vec![carla]),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("issue")
        .iid;
    h.settle(pair, 0).await;
    let key = h
        .linked(pair)
        .await
        .into_iter()
        .find(|(i, _)| *i == iid)
        .expect("linked")
        .1;
    assert_eq!(h.jira_assignee(&key).await.as_deref(), Some("acc-carla"));
    h.assign_in_jira(&key, "acc-eva").await;
    h.settle(pair, 0).await;
    assert_eq!(
        h.gitlab_assignee(iid).await,
        Some(eva),
        "the manual mapping wins"
    );
    // Someone unmapped on Jira: GitLab keeps its assignee.
    h.assign_in_jira(&key, "acc-dora-1").await;
    h.settle(pair, 0).await;
    assert_eq!(h.gitlab_assignee(iid).await, Some(eva));
    assert_eq!(h.jira_assignee(&key).await.as_deref(), Some("acc-dora-1"));

    // Comments: a mapped author's copy does not name them; an unmapped
    // author's does.
    for (who, text) in [("carla", "Fixed on my side"), ("dora", "Not for me")] {
        h.ctl(
            "/_sim/gitlab/notes",
            json!({"project": LEFT, "iid": iid, "as": who, "body": text}),
        )
        .await;
    }
    h.ctl(
        "/_sim/jira/comment",
        json!({"key": key, "as": "acc-eva", "body": "Thanks"}),
    )
    .await;
    h.settle(pair, 0).await;
    let comments: Vec<String> = h.comments(&key).await.into_iter().map(|c| c.1).collect();
    let carla_copy = comments
        .iter()
        .find(|c| c.ends_with("Fixed on my side"))
        .expect("Carla's copy");
    assert!(carla_copy.starts_with("[GitLab]("), "{carla_copy}");
    let dora_copy = comments
        .iter()
        .find(|c| c.ends_with("Not for me"))
        .expect("Dora's copy");
    assert!(
        dora_copy.starts_with("Dora Lima in [GitLab]("),
        "{dora_copy}"
    );
    let notes = h.notes(iid).await;
    let eva_copy = notes
        .iter()
        .find(|n| n.body.trim_end().ends_with("Thanks"))
        .expect("Eva's copy");
    assert!(eva_copy.body.starts_with("[Jira]("), "{}", eva_copy.body);
    // Copies are written by the connection's account either way.
    assert_eq!(
        eva_copy.author.as_ref().map(|a| a.username.as_str()),
        Some("root")
    );

    // Deleting the manual mapping: Eva falls back to the automatic one
    // (her old account, by email).
    h.sync
        .unmap_person(&h.by, pair, mapping.id, Utc::now())
        .await
        .expect("unmap");
    let people = h.sync.list_people(&h.by, pair).await.expect("people");
    let eva_now = people
        .people
        .iter()
        .find(|p| p.side == Side::Left && p.id == eva.to_string())
        .expect("eva");
    assert_eq!(eva_now.mapping, PersonMapping::AutoByEmail);
    assert_eq!(eva_now.mapped_to.as_deref(), Some("acc-eva-old"));
}

impl Harness {
    /// The GitLab project's milestones, by title → (id, closed).
    async fn milestones(&self) -> BTreeMap<String, (u64, bool)> {
        let mut pages = self.gitlab.milestones(&ProjectRef::from(LEFT), None);
        let mut out = BTreeMap::new();
        while let Some(page) = pages.next_page().await.expect("milestones") {
            for m in page {
                out.insert(m.title, (m.id, m.state.as_deref() == Some("closed")));
            }
        }
        out
    }

    /// The Jira project's versions, by name → (id, released).
    async fn versions(&self) -> BTreeMap<String, (String, bool)> {
        self.jira
            .project_versions("OPS")
            .await
            .expect("versions")
            .into_iter()
            .map(|v| (v.name, (v.id, v.released)))
            .collect()
    }

    async fn add_milestone(&self, title: &str) -> u64 {
        self.gitlab
            .create_milestone(
                &ProjectRef::from(LEFT),
                &cairn_connect::gitlab::NewMilestone {
                    title: title.into(),
                    description: None,
                    due_date: None,
                },
            )
            .await
            .expect("milestone")
            .id
    }

    async fn add_version(&self, name: &str, released: bool) -> String {
        self.jira
            .create_version(
                "OPS",
                &cairn_connect::jira::NewJiraVersion {
                    name: name.into(),
                    description: None,
                    released,
                    release_date: None,
                },
            )
            .await
            .expect("version")
            .id
    }

    async fn gitlab_milestone(&self, iid: u64) -> Option<String> {
        let issue = self
            .gitlab
            .issue(&ProjectRef::from(LEFT), iid)
            .await
            .expect("issue");
        issue.milestone.map(|m| m.title)
    }

    async fn fix_versions(&self, key: &str) -> Vec<String> {
        let issue = self.jira.issue(key, &["fixVersions"]).await.expect("issue");
        issue
            .fields
            .fix_versions
            .into_iter()
            .map(|v| v.name)
            .collect()
    }
}

/// Issue 16's releases: milestones and versions with equal names before
/// the pair starts are linked, none created; those under other names are
/// listed by the preview and linked by hand first; a new milestone
/// appears as a version (and a new version as a milestone); an issue's
/// milestone moves its fix version, and a fix version moves it back.
async fn milestones_and_versions_are_linked_created_and_followed(backend: Backend) {
    use cairn_core::sync::ReleaseLinkHow;
    let h = Harness::new(backend).await;
    // The sample has milestones Q1 2026, Q2 2026 and versions 2026.1,
    // 2026.2: give each its namesake, and one pair under other names.
    h.add_version("Q1 2026", false).await;
    h.add_version("q2 2026", false).await;
    h.add_milestone("2026.1").await;
    h.add_milestone("2026.2").await;
    let winter = h.add_milestone("Winter").await;
    let hiver = h.add_version("Hiver", false).await;
    let mut input = h.input(false);
    input.active = false;
    let (pair, _) = h.pair_of(&input).await;

    // The preview lists what would be created, so a person links it first.
    let preview = h
        .sync
        .preview(&h.by, pair, Utc::now())
        .await
        .expect("preview");
    let would: Vec<(bool, String)> = preview
        .iter()
        .filter(|e| e.action == "create_release")
        .map(|e| (e.left.is_some(), e.title.clone()))
        .collect();
    assert_eq!(
        would,
        vec![(true, "Winter".to_owned()), (false, "Hiver".to_owned())]
    );
    // Bad input: unknown ids and a release linked twice, the field named.
    let refused = |e: cairn_engine::EngineError| match e {
        cairn_engine::EngineError::Invalid { field, .. } => field,
        other => panic!("not refused: {other}"),
    };
    let err = h
        .sync
        .link_release(&h.by, pair, "999999", &hiver, Utc::now())
        .await
        .expect_err("unknown milestone");
    assert_eq!(refused(err), "left_id");
    let err = h
        .sync
        .link_release(&h.by, pair, &winter.to_string(), "999999", Utc::now())
        .await
        .expect_err("unknown version");
    assert_eq!(refused(err), "right_id");
    let link = h
        .sync
        .link_release(&h.by, pair, &winter.to_string(), &hiver, Utc::now())
        .await
        .expect("linked by hand");
    assert_eq!(link.how, ReleaseLinkHow::Manual);
    let other_version = h.versions().await["2026.2"].0.clone();
    let err = h
        .sync
        .link_release(&h.by, pair, &winter.to_string(), &other_version, Utc::now())
        .await
        .expect_err("a milestone linked to two versions");
    assert_eq!(refused(err), "left_id");
    assert_eq!(
        h.sync
            .list_releases(&h.by, pair)
            .await
            .expect("releases")
            .links
            .len(),
        1,
        "nothing saved"
    );
    let preview = h
        .sync
        .preview(&h.by, pair, Utc::now())
        .await
        .expect("preview");
    assert!(preview.iter().all(|e| e.action != "create_release"));

    // Activated: equal names are linked, nothing is created.
    let (milestones, versions) = (h.milestones().await, h.versions().await);
    let mut active = h.input(false);
    active.created_after = Some(Utc::now() - chrono::Duration::seconds(1));
    h.sync
        .update_pair(&h.by, pair, &active, Utc::now())
        .await
        .expect("activate");
    h.settle(pair, 0).await;
    assert_eq!(h.milestones().await, milestones, "no milestone created");
    assert_eq!(h.versions().await, versions, "no version created");
    let view = h.sync.list_releases(&h.by, pair).await.expect("releases");
    let by_name: Vec<(&str, &str)> = view
        .links
        .iter()
        .filter(|l| l.how == ReleaseLinkHow::ByName)
        .map(|l| (l.left_name.as_str(), l.right_name.as_str()))
        .collect();
    assert_eq!(by_name.len(), 4, "{by_name:?}");
    assert!(by_name.contains(&("Q2 2026", "q2 2026")));
    assert!(view.to_create.is_empty());

    // A new milestone appears as a version, a released version as a
    // closed milestone, each once.
    h.add_milestone("Q3 2026").await;
    h.add_version("2026.3", true).await;
    h.settle(pair, 0).await;
    h.settle(pair, 0).await;
    let versions = h.versions().await;
    assert!(versions.contains_key("Q3 2026"), "{versions:?}");
    let milestones = h.milestones().await;
    assert_eq!(milestones.get("2026.3").map(|m| m.1), Some(true));
    assert_eq!(versions.len(), 7, "{versions:?}");
    assert_eq!(milestones.len(), 7, "{milestones:?}");
    let created = h
        .sync
        .list_releases(&h.by, pair)
        .await
        .expect("releases")
        .links
        .iter()
        .filter(|l| l.how == ReleaseLinkHow::Created)
        .count();
    assert_eq!(created, 2);

    // An issue's milestone follows as its fix version, and back.
    let iid = h.gitlab_issue("Ship the new checkout").await;
    h.gitlab
        .update_issue(
            &ProjectRef::from(LEFT),
            iid,
            &IssueChanges {
                milestone_id: Some(milestones["Q1 2026"].0),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("milestone");
    h.settle(pair, 0).await;
    let key = h
        .linked(pair)
        .await
        .into_iter()
        .find(|(i, _)| *i == iid)
        .expect("twin")
        .1;
    assert_eq!(h.fix_versions(&key).await, vec!["Q1 2026".to_owned()]);
    h.gitlab
        .update_issue(
            &ProjectRef::from(LEFT),
            iid,
            &IssueChanges {
                milestone_id: Some(milestones["Q3 2026"].0),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("milestone");
    h.settle(pair, 0).await;
    assert_eq!(h.fix_versions(&key).await, vec!["Q3 2026".to_owned()]);
    let mut fields = serde_json::Map::new();
    fields.insert(
        "fixVersions".into(),
        json!([{ "id": versions["2026.2"].0 }]),
    );
    h.jira.edit_issue(&key, fields).await.expect("fix version");
    h.settle(pair, 0).await;
    assert_eq!(h.gitlab_milestone(iid).await.as_deref(), Some("2026.2"));
    // A milestone made after the item was linked, set on the issue before
    // any scan saw it: linked (created) first, then carried.
    let late = h.add_milestone("Hotfix 7").await;
    h.gitlab
        .update_issue(
            &ProjectRef::from(LEFT),
            iid,
            &IssueChanges {
                milestone_id: Some(late),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("milestone");
    h.settle(pair, 0).await;
    assert_eq!(h.fix_versions(&key).await, vec!["Hotfix 7".to_owned()]);
    // Removing the milestone removes the fix version.
    h.gitlab
        .update_issue(
            &ProjectRef::from(LEFT),
            iid,
            &IssueChanges {
                milestone_id: Some(0),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("no milestone");
    h.settle(pair, 0).await;
    assert!(h.fix_versions(&key).await.is_empty());
    // Nothing was ever created twice.
    let names = h.versions().await;
    assert_eq!(names.len(), 8, "{names:?}");
    assert_eq!(h.milestones().await.len(), 8);

    // A rename on either side is carried to its twin; renamed on both
    // sides, neither is overwritten.
    let (milestones, versions) = (h.milestones().await, h.versions().await);
    let project = ProjectRef::from(LEFT);
    h.gitlab
        .rename_milestone(&project, milestones["Q3 2026"].0, "Q3 2026 (autumn)")
        .await
        .expect("rename milestone");
    h.jira
        .rename_version(&versions["2026.2"].0, "2026.2 final")
        .await
        .expect("rename version");
    h.gitlab
        .rename_milestone(&project, milestones["Q1 2026"].0, "Q1 left")
        .await
        .expect("rename milestone");
    h.jira
        .rename_version(&versions["Q1 2026"].0, "Q1 right")
        .await
        .expect("rename version");
    h.settle(pair, 0).await;
    let (milestones, versions) = (h.milestones().await, h.versions().await);
    assert!(
        versions.contains_key("Q3 2026 (autumn)") && !versions.contains_key("Q3 2026"),
        "{versions:?}"
    );
    assert!(
        milestones.contains_key("2026.2 final") && !milestones.contains_key("2026.2"),
        "{milestones:?}"
    );
    assert!(
        milestones.contains_key("Q1 left") && versions.contains_key("Q1 right"),
        "renamed on both sides: neither overwritten: {milestones:?} {versions:?}"
    );
    assert_eq!(
        (versions.len(), milestones.len()),
        (8, 8),
        "renamed, none created"
    );
    let links = h
        .sync
        .list_releases(&h.by, pair)
        .await
        .expect("releases")
        .links;
    let names: Vec<(&str, &str)> = links
        .iter()
        .map(|l| (l.left_name.as_str(), l.right_name.as_str()))
        .collect();
    for expected in [
        ("Q3 2026 (autumn)", "Q3 2026 (autumn)"),
        ("2026.2 final", "2026.2 final"),
        ("Q1 left", "Q1 right"),
    ] {
        assert!(names.contains(&expected), "{expected:?} in {names:?}");
    }
    // Settled: the next scan renames nothing more.
    h.settle(pair, 0).await;
    assert_eq!(
        (h.milestones().await, h.versions().await),
        (milestones, versions)
    );
}

macro_rules! both_backends {
    ($($name:ident),*) => {
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

both_backends!(
    an_unmapped_authors_comment_carries_the_attribution,
    a_refused_comment_fails_alone,
    back_links_and_comments_once_when_answers_are_lost,
    deleted_originals_delete_copies_only_when_the_pair_says_so,
    an_interrupted_copy_is_adopted_not_repeated,
    a_back_link_written_before_an_interruption_is_not_written_again,
    people_are_mapped_by_email_by_hand_and_never_by_a_shared_name,
    milestones_and_versions_are_linked_created_and_followed
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rounds_of_comments_on_200_items_on_sqlite() {
    ten_rounds_of_comments_on_both_sides(Backend::Sqlite, 200).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_rounds_of_comments_on_50_items_on_postgres() {
    ten_rounds_of_comments_on_both_sides(Backend::Postgres, 50).await;
}
