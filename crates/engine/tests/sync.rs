//! Two-way sync against the simulator, on both backends, driven by the
//! reconciliation scan and the job worker (webhooks are tested through
//! the web layer): GitLab to GitLab here; Jira in the web tests.

use std::sync::Arc;
use std::time::Duration;

use cairn_connect::gitlab::{IssueChanges, IssueFilter, IssueState, ProjectRef, StateEvent};
use cairn_connect::{GitLabAuth, GitLabClient, GitLabSettings, Secret};
use cairn_core::authz::Role;
use cairn_core::sync::{Marker, OperationKind, Side, SyncItemState};
use cairn_engine::accounts::{Accounts, Authenticated};
use cairn_engine::connections::{ConnectionInput, Connections};
use cairn_engine::jobs::{JobSignal, Registry, Worker, WorkerConfig};
use cairn_engine::keyring::Keyring;
use cairn_engine::sync::{PairInput, SideInput, SyncEngine, SyncSettings};
use cairn_store::sync::NewSyncOperation;
use cairn_store::testing::TestDb;
use cairn_store::{Backend, Store};
use chrono::Utc;
use tokio_util::sync::CancellationToken;

const LEFT: &str = "northwind/checkout";
const RIGHT: &str = "northwind/mobile-app";

struct Harness {
    _db: TestDb,
    _keys: tempfile::TempDir,
    store: Arc<dyn Store>,
    _sim: cairn_sim::SimHandle,
    sync: Arc<SyncEngine>,
    by: Authenticated,
    gitlab: GitLabClient,
    jira: cairn_connect::JiraClient,
    connection: i64,
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
        let keys = tempfile::tempdir().expect("tempdir");
        let keyring =
            Arc::new(Keyring::load(None, &keys.path().join("master.key")).expect("keyring"));
        let user = Accounts::new(store.clone())
            .create_user(
                None,
                "sync@example.com",
                "Sync Owner",
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
        let connection = Connections::new(store.clone(), keyring.clone())
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
        let jira_connection = Connections::new(store.clone(), keyring.clone())
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
                // Every scan also looks for deleted items.
                full_scan_every: Duration::ZERO,
                http: cairn_connect::HttpConfig {
                    requests_per_second: 1_000.0,
                    burst: 1_000,
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
        let gitlab = GitLabClient::new(&GitLabSettings::new(
            sim.gitlab_url(),
            GitLabAuth::PrivateToken(Secret::new(cairn_sim::DEFAULT_GITLAB_TOKEN)),
        ))
        .expect("client");
        let jira = cairn_connect::JiraClient::new(&cairn_connect::JiraSettings::new(
            sim.jira_url(),
            cairn_connect::JiraAuth::CloudBasic {
                email: cairn_sim::DEFAULT_JIRA_EMAIL.into(),
                api_token: Secret::new(cairn_sim::DEFAULT_JIRA_API_TOKEN),
            },
        ))
        .expect("jira client");
        Harness {
            _db: db,
            _keys: keys,
            store,
            _sim: sim,
            sync,
            by,
            gitlab,
            jira,
            connection,
            jira_connection,
            shutdown,
        }
    }

    fn input(&self) -> PairInput {
        PairInput {
            name: "checkout <-> mobile".into(),
            left: SideInput {
                connection_id: self.connection,
                project: LEFT.into(),
                labels: vec![],
                jql: None,
            },
            right: SideInput {
                connection_id: self.connection,
                project: RIGHT.into(),
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
            delete_comment_copies: false,
            scan_overlap_secs: None,
            auto_map_people: false,
        }
    }

    async fn issues(&self, project: &str) -> Vec<cairn_connect::gitlab::Issue> {
        self.gitlab
            .issues(
                &ProjectRef::from(project),
                &IssueFilter {
                    state: Some(IssueState::All),
                    ..IssueFilter::default()
                },
            )
            .collect_all()
            .await
            .expect("issues")
    }

    async fn create(&self, project: &str, title: &str, description: &str) -> u64 {
        self.gitlab
            .create_issue(
                &ProjectRef::from(project),
                &IssueChanges {
                    title: Some(title.into()),
                    description: Some(description.into()),
                    labels: Some(vec!["bug".into()]),
                    ..IssueChanges::default()
                },
            )
            .await
            .expect("create")
            .iid
    }

    async fn edit(&self, project: &str, iid: u64, changes: IssueChanges) {
        self.gitlab
            .update_issue(&ProjectRef::from(project), iid, &changes)
            .await
            .expect("edit");
    }

    /// Scans and waits until no sync job is left.
    async fn settle(&self, pair: i64) {
        self.settle_with_failing(pair, 0).await;
    }

    /// As [`Harness::settle`], leaving `expected` items failing.
    async fn settle_with_failing(&self, pair: i64, expected: i64) {
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
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
                if failing == expected && busy("running") == 0 {
                    // Failing items keep their retry jobs queued.
                    let queued_retries = busy("queued") as i64;
                    if queued_retries <= expected {
                        break;
                    }
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
            assert!(std::time::Instant::now() < deadline, "scans keep failing");
        }
    }

    /// Moves an issue's update time, so "newer wins" has a clear answer.
    fn age(&self, global_id: u64, by: chrono::Duration) {
        self._sim.with_world_mut(|w| {
            let issues = w
                .gitlab
                .projects
                .iter_mut()
                .flat_map(|p| p.issues.iter_mut());
            if let Some(issue) = issues.into_iter().find(|i| i.id == global_id) {
                issue.updated_at += by;
            }
        });
    }

    /// Field writes (creates and edits of items; links to the twin and
    /// comments are counted apart).
    async fn writes(&self, pair: i64) -> usize {
        self.store
            .list_sync_operations(pair, None, 100_000)
            .await
            .expect("ops")
            .iter()
            .filter(|op| !matches!(op.kind, OperationKind::Backlink | OperationKind::Comment))
            .count()
    }
}

impl Drop for Harness {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn titled<'a>(
    issues: &'a [cairn_connect::gitlab::Issue],
    title: &str,
) -> Vec<&'a cairn_connect::gitlab::Issue> {
    issues.iter().filter(|i| i.title == title).collect()
}

async fn gitlab_to_gitlab(backend: Backend) {
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let before_right = h.issues(RIGHT).await.len();
    h.settle(pair).await;
    assert_eq!(
        h.issues(RIGHT).await.len(),
        before_right,
        "switching a pair on brings no history across"
    );

    // A new issue on the left gets exactly one twin on the right.
    let iid = h
        .create(
            LEFT,
            "Checkout fails on Safari",
            "Steps:\n\n1. open\n2. **pay**",
        )
        .await;
    h.settle(pair).await;
    h.settle(pair).await;
    let right = h.issues(RIGHT).await;
    let twins = titled(&right, "Checkout fails on Safari");
    assert_eq!(twins.len(), 1, "one twin, however often the scan sees it");
    let twin = twins[0];
    let (text, marker) = cairn_core::sync::split_marker(twin.description.as_deref().unwrap_or(""));
    assert_eq!(text, "Steps:\n\n1. open\n2. **pay**");
    assert_eq!(
        marker,
        Some(Marker {
            pair_id: pair,
            origin: Side::Left,
            origin_id: iid.to_string()
        })
    );
    assert_eq!(twin.labels, vec!["bug".to_owned()]);
    let item = h
        .store
        .find_sync_item(pair, Side::Left, &iid.to_string())
        .await
        .expect("find")
        .expect("linked");
    assert_eq!(item.state, SyncItemState::Synced);
    assert_eq!(
        item.right.as_ref().map(|r| r.id.clone()),
        Some(twin.iid.to_string())
    );

    // A change on the right comes back left; nothing else is written.
    let writes = h.writes(pair).await;
    h.edit(
        RIGHT,
        twin.iid,
        IssueChanges {
            title: Some("Checkout fails on Safari 17".into()),
            state_event: Some(StateEvent::Close),
            ..IssueChanges::default()
        },
    )
    .await;
    h.settle(pair).await;
    let left = h
        .gitlab
        .issue(&ProjectRef::from(LEFT), iid)
        .await
        .expect("left");
    assert_eq!(left.title, "Checkout fails on Safari 17");
    assert_eq!(left.state, "closed");
    assert_eq!(
        h.writes(pair).await,
        writes + 1,
        "one update of the left side"
    );

    // Its echo (the left issue's own change) is not carried back, and a
    // scan with nothing new writes nothing.
    h.settle(pair).await;
    h.settle(pair).await;
    assert_eq!(h.writes(pair).await, writes + 1, "no echo");
    let twin_now = h
        .gitlab
        .issue(&ProjectRef::from(RIGHT), twin.iid)
        .await
        .expect("twin");
    assert_eq!(twin_now.title, "Checkout fails on Safari 17");

    // Both sides change the title: the newer wins, and the conflict is kept.
    h.edit(
        LEFT,
        iid,
        IssueChanges {
            title: Some("from the left".into()),
            ..IssueChanges::default()
        },
    )
    .await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    h.edit(
        RIGHT,
        twin.iid,
        IssueChanges {
            title: Some("from the right, later".into()),
            ..IssueChanges::default()
        },
    )
    .await;
    h.settle(pair).await;
    let left = h
        .gitlab
        .issue(&ProjectRef::from(LEFT), iid)
        .await
        .expect("left");
    assert_eq!(left.title, "from the right, later");
    let conflicts = h
        .sync
        .list_conflicts(&h.by, pair, 10)
        .await
        .expect("conflicts");
    assert_eq!(conflicts.len(), 1);
    assert_eq!(conflicts[0].field, "title");
    assert_eq!(conflicts[0].left_value, "from the left");
    assert_eq!(conflicts[0].right_value, "from the right, later");
    assert_eq!(conflicts[0].winner, Side::Right);
}

/// A create interrupted after GitLab made the issue and before Cairn
/// recorded it: the retry finds the issue by its mark and links it.
async fn an_interrupted_create_is_finished_not_repeated(backend: Backend) {
    let h = Harness::new(backend).await;
    let mut input = h.input();
    input.active = false;
    let pair = h
        .sync
        .create_pair(&h.by, &input, Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let iid = h.create(LEFT, "Half-made twin", "body").await;
    // What a crash leaves: the item noted, the intent recorded, the twin
    // made on the right with Cairn's mark, no link.
    let mut tx = h.store.begin().await.expect("begin");
    let (item, _) = tx
        .note_sync_item(
            pair,
            Side::Left,
            &cairn_store::sync::RemoteRef {
                id: iid.to_string(),
                key: format!("#{iid}"),
                url: String::new(),
            },
            None,
            Utc::now(),
        )
        .await
        .expect("note");
    tx.insert_sync_operation(
        &NewSyncOperation {
            pair_id: pair,
            item_id: item,
            side: Side::Right,
            kind: OperationKind::Create,
            fields: Default::default(),
        },
        Utc::now(),
    )
    .await
    .expect("intent");
    tx.commit().await.expect("commit");
    let marker = Marker {
        pair_id: pair,
        origin: Side::Left,
        origin_id: iid.to_string(),
    };
    h.create(
        RIGHT,
        "Half-made twin",
        &cairn_core::sync::with_marker("body", &marker),
    )
    .await;
    // Activate with a date before the issue, so the scan sees it.
    let mut input = h.input();
    input.created_after = Some(Utc::now() - chrono::Duration::hours(1));
    h.sync
        .update_pair(&h.by, pair, &input, Utc::now())
        .await
        .expect("activate");
    h.settle(pair).await;
    h.settle(pair).await;
    let right = h.issues(RIGHT).await;
    let ops = h
        .store
        .list_sync_operations(pair, None, 10)
        .await
        .expect("ops");
    assert_eq!(
        titled(&right, "Half-made twin").len(),
        1,
        "no second twin: {ops:#?}"
    );
    let linked = h
        .store
        .get_sync_item(item)
        .await
        .expect("get")
        .expect("item");
    assert_eq!(
        linked.state,
        SyncItemState::Synced,
        "{:?}",
        linked.last_error
    );
    assert!(linked.right.is_some());
    let ops = h
        .store
        .list_sync_operations(pair, Some(item), 10)
        .await
        .expect("ops");
    assert!(
        ops.iter()
            .any(|o| o.error.as_deref() == Some("found after an interruption")),
        "{ops:?}"
    );
}

/// Issues created since `since` in a project, by title.
async fn new_issues(
    h: &Harness,
    project: &str,
    since: chrono::DateTime<Utc>,
) -> std::collections::BTreeMap<String, Vec<cairn_connect::gitlab::Issue>> {
    let mut by_title = std::collections::BTreeMap::<String, Vec<_>>::new();
    for issue in h.issues(project).await {
        if issue.created_at.is_some_and(|c| c >= since) {
            by_title.entry(issue.title.clone()).or_default().push(issue);
        }
    }
    by_title
}

/// Many items on each side, created while faults strike both ways (429
/// with Retry-After, 503 bursts, answers cut off after GitLab stored the
/// issue): each is linked exactly once.
async fn many_items_with_faults_are_linked_exactly_once(backend: Backend) {
    use cairn_sim::{FaultKind, FaultSpec, Service};
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let since = Utc::now();
    const N: usize = 60;
    for i in 0..N {
        h.create(LEFT, &format!("left {i}"), "from the left").await;
        h.create(RIGHT, &format!("right {i}"), "from the right")
            .await;
    }
    let mut truncate = FaultSpec::new(Service::Gitlab, FaultKind::Truncate);
    truncate.count = Some(12);
    h._sim.inject(&truncate);
    let mut errors = FaultSpec::new(Service::Gitlab, FaultKind::ServerError);
    errors.count = Some(10);
    h._sim.inject(&errors);
    let mut limited = FaultSpec::new(Service::Gitlab, FaultKind::RateLimit);
    limited.count = Some(5);
    limited.retry_after = Some(1);
    h._sim.inject(&limited);
    h.settle(pair).await;
    h.settle(pair).await;
    h._sim.clear_faults();
    for project in [LEFT, RIGHT] {
        let found = new_issues(&h, project, since).await;
        assert_eq!(found.len(), 2 * N, "{project}: every title on both sides");
        let doubled: Vec<_> = found
            .iter()
            .filter(|(_, v)| v.len() != 1)
            .map(|(t, _)| t)
            .collect();
        assert!(doubled.is_empty(), "{project}: duplicated {doubled:?}");
    }
    let counts = h.store.sync_item_counts(pair).await.expect("counts");
    assert_eq!(counts.synced as usize, 2 * N, "{counts:?}");
    assert_eq!((counts.pending, counts.failing, counts.paused), (0, 0, 0));
}

/// An item edited while the scan reads the pages of a side (here the
/// first one listed, just after page 1 was read) makes no other item slip
/// past the page boundary unseen: every issue of the side gets its item.
async fn an_edit_during_the_scan_hides_no_item(backend: Backend) {
    use cairn_sim::{FaultKind, FaultSpec, Service};
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let since = Utc::now();
    const N: usize = 120; // more than one page of 100
    for i in 0..N {
        h.create(LEFT, &format!("paged {i}"), "on two pages").await;
    }
    let created = new_issues(&h, LEFT, since).await;
    assert_eq!(created.len(), N);
    let first = created["paged 0"][0].id;
    h._sim.clear_requests();
    let mut slow = FaultSpec::new(Service::Gitlab, FaultKind::Latency);
    slow.latency_ms = Some(1_000);
    h._sim.inject(&slow);
    let scan = {
        let sync = h.sync.clone();
        tokio::spawn(async move { sync.scan(pair).await })
    };
    // Page 1 has been answered; page 2 is asked for and waits out the
    // latency: the first issue is edited now, as a person might.
    let listed = |r: &cairn_sim::RequestRecord| {
        r.method == "GET"
            && r.path.ends_with("/issues")
            && r.query
                .as_deref()
                .is_some_and(|q| q.contains("updated_after"))
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !h._sim.requests().iter().any(listed) {
        assert!(
            std::time::Instant::now() < deadline,
            "the scan never listed"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    h._sim.with_world_mut(|w| {
        let issues = w
            .gitlab
            .projects
            .iter_mut()
            .flat_map(|p| p.issues.iter_mut());
        if let Some(issue) = issues.into_iter().find(|i| i.id == first) {
            issue.updated_at = Utc::now();
        }
    });
    scan.await.expect("join").expect("scan");
    h._sim.clear_faults();
    let pages = h._sim.requests().into_iter().filter(listed).count();
    assert!(pages >= 2, "the side was read in {pages} pages");
    let items = h
        .store
        .list_sync_items(pair, None, 0, 1_000)
        .await
        .expect("items");
    let known: std::collections::HashSet<String> = items
        .iter()
        .filter_map(|i| i.left.as_ref().map(|r| r.key.clone()))
        .collect();
    let unseen: Vec<_> = created
        .iter()
        .filter(|(_, v)| !known.contains(&format!("#{}", v[0].iid)))
        .map(|(t, _)| t.clone())
        .collect();
    assert!(unseen.is_empty(), "never seen by the scan: {unseen:?}");
}

/// Ten rounds of random edits on both sides, some to the same field at
/// once and some several times in a row: afterwards both sides agree as
/// the policy says (the newer edit wins), and Cairn wrote exactly once per
/// side that had something to learn: no echo.
async fn random_edits_converge_with_no_echo(backend: Backend) {
    use rand::{Rng, SeedableRng};
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    const N: usize = 12;
    let mut items = Vec::new();
    for i in 0..N {
        let iid = h
            .create(LEFT, &format!("item {i}"), &format!("text {i}"))
            .await;
        items.push(iid);
    }
    h.settle(pair).await;
    // Each item's twin.
    let mut twins = Vec::new();
    for iid in &items {
        let item = h
            .store
            .find_sync_item(pair, Side::Left, &iid.to_string())
            .await
            .expect("find")
            .expect("linked");
        let right: u64 = item.right.expect("twin").id.parse().expect("iid");
        twins.push(right);
    }
    let mut rng = rand::rngs::StdRng::seed_from_u64(0x5eed);
    for round in 0..10 {
        let writes_before = h.writes(pair).await;
        let mut expected_writes = 0;
        for n in 0..N {
            let (l, r) = (items[n], twins[n]);
            let scenario = rng.random_range(0..8);
            let title = |side: &str, k: usize| format!("r{round} {side} {k} of item {n}");
            match scenario {
                0 => {
                    // Several quick edits of one field on one side.
                    for k in 0..3 {
                        h.edit(
                            LEFT,
                            l,
                            IssueChanges {
                                title: Some(title("left", k)),
                                ..Default::default()
                            },
                        )
                        .await;
                    }
                    expected_writes += 1;
                }
                1 => {
                    h.edit(
                        RIGHT,
                        r,
                        IssueChanges {
                            description: Some(format!("**r{round}** right\n\n- a\n- b")),
                            ..Default::default()
                        },
                    )
                    .await;
                    expected_writes += 1;
                }
                2 => {
                    let now = h
                        .gitlab
                        .issue(&ProjectRef::from(LEFT), l)
                        .await
                        .expect("left");
                    let event = if now.state == "closed" {
                        StateEvent::Reopen
                    } else {
                        StateEvent::Close
                    };
                    h.edit(
                        LEFT,
                        l,
                        IssueChanges {
                            state_event: Some(event),
                            ..Default::default()
                        },
                    )
                    .await;
                    expected_writes += 1;
                }
                3 => {
                    h.edit(
                        RIGHT,
                        r,
                        IssueChanges {
                            add_labels: vec![format!("r{round}")],
                            ..Default::default()
                        },
                    )
                    .await;
                    expected_writes += 1;
                }
                4 => {
                    // Both sides edit the title; the right's edit is newer.
                    h.edit(
                        LEFT,
                        l,
                        IssueChanges {
                            title: Some(title("left", 0)),
                            ..Default::default()
                        },
                    )
                    .await;
                    h.edit(
                        RIGHT,
                        r,
                        IssueChanges {
                            title: Some(title("right", 0)),
                            ..Default::default()
                        },
                    )
                    .await;
                    let global = h
                        .gitlab
                        .issue(&ProjectRef::from(RIGHT), r)
                        .await
                        .expect("right")
                        .id;
                    h.age(global, chrono::Duration::seconds(5));
                    expected_writes += 1;
                }
                5 => {
                    // Different fields on each side: both are carried.
                    h.edit(
                        LEFT,
                        l,
                        IssueChanges {
                            title: Some(title("left", 0)),
                            ..Default::default()
                        },
                    )
                    .await;
                    h.edit(
                        RIGHT,
                        r,
                        IssueChanges {
                            add_labels: vec![format!("both{round}")],
                            ..Default::default()
                        },
                    )
                    .await;
                    expected_writes += 2;
                }
                _ => {}
            }
        }
        h.settle(pair).await;
        h.settle(pair).await;
        let paused = h
            .store
            .list_sync_items(pair, Some(SyncItemState::Paused), 0, 100)
            .await
            .expect("paused");
        assert!(paused.is_empty(), "round {round}: {paused:?}");
        assert_eq!(
            h.writes(pair).await - writes_before,
            expected_writes,
            "round {round}: one write per side with something to learn"
        );
        for n in 0..N {
            let left = h
                .gitlab
                .issue(&ProjectRef::from(LEFT), items[n])
                .await
                .expect("left");
            let right = h
                .gitlab
                .issue(&ProjectRef::from(RIGHT), twins[n])
                .await
                .expect("right");
            let text = |i: &cairn_connect::gitlab::Issue| {
                cairn_core::sync::split_marker(i.description.as_deref().unwrap_or("")).0
            };
            let mut labels = (left.labels.clone(), right.labels.clone());
            labels.0.sort();
            labels.1.sort();
            assert_eq!(
                (
                    &left.title,
                    text(&left),
                    &left.state,
                    &labels.0,
                    left.due_date
                ),
                (
                    &right.title,
                    text(&right),
                    &right.state,
                    &labels.1,
                    right.due_date
                ),
                "round {round}, item {n} differs"
            );
        }
    }
    assert!(
        h.sync
            .list_conflicts(&h.by, pair, 500)
            .await
            .expect("conflicts")
            .iter()
            .all(|c| c.winner == Side::Right)
    );
}

fn jira_input(h: &Harness, mapping: Option<Vec<cairn_engine::sync::StatusMapInput>>) -> PairInput {
    PairInput {
        name: "checkout <-> OPS".into(),
        left: SideInput {
            connection_id: h.connection,
            project: LEFT.into(),
            labels: vec![],
            jql: None,
        },
        right: SideInput {
            connection_id: h.jira_connection,
            project: "OPS".into(),
            labels: vec![],
            jql: None,
        },
        active: true,
        created_after: None,
        fields: Default::default(),
        status_mapping: mapping,
        transition_defaults: None,
        jira_issue_type: None,
        scan_interval_secs: None,
        delete_comment_copies: false,
        scan_overlap_secs: None,
        auto_map_people: false,
    }
}

fn map(
    status: &str,
    state: cairn_core::sync::ItemState,
    primary: bool,
) -> cairn_engine::sync::StatusMapInput {
    cairn_engine::sync::StatusMapInput {
        status: status.into(),
        state,
        primary,
    }
}

async fn twin_key(h: &Harness, pair: i64, iid: u64) -> String {
    h.store
        .find_sync_item(pair, Side::Left, &iid.to_string())
        .await
        .expect("find")
        .and_then(|i| i.right)
        .expect("linked to a Jira issue")
        .key
}

async fn jira_status(h: &Harness, key: &str) -> String {
    h.jira
        .issue_with(key, &["status"], &[], false)
        .await
        .expect("issue")
        .fields
        .status
        .expect("status")
        .name
}

/// GitLab to Jira: the description converted (ADF on Cloud), labels with
/// spaces made Jira labels, Cairn's mark as an entity property, a status
/// two transitions away reached, Jira's edits carried back, no echo.
async fn gitlab_to_jira_through_the_workflow(backend: Backend) {
    use cairn_core::sync::ItemState::{Closed, Opened};
    let h = Harness::new(backend).await;
    let mapping = vec![
        map("To Do", Opened, true),
        map("In Progress", Opened, false),
        map("In Review", Closed, true),
        map("Done", Closed, false),
    ];
    let pair = h
        .sync
        .create_pair(&h.by, &jira_input(&h, Some(mapping)), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let markdown = "Steps:\n\n- open **checkout**\n- pay with `card`\n\n> it fails";
    let iid = h
        .gitlab
        .create_issue(
            &ProjectRef::from(LEFT),
            &IssueChanges {
                title: Some("Login broken".into()),
                description: Some(markdown.into()),
                labels: Some(vec!["bug".into(), "needs triage".into()]),
                ..IssueChanges::default()
            },
        )
        .await
        .expect("create")
        .iid;
    h.settle(pair).await;
    let key = twin_key(&h, pair, iid).await;
    // Never tested: the sync's own calls to both sides make them ok.
    for id in [h.connection, h.jira_connection] {
        let c = h
            .store
            .get_connection(id)
            .await
            .expect("get")
            .expect("connection");
        assert!(
            c.last_ok_at.is_some() && c.last_error_at.is_none(),
            "connection {id} is ok from the sync's calls"
        );
    }
    let twin = h
        .jira
        .issue_with(
            &key,
            &["summary", "description", "labels"],
            &["cairn.sync"],
            false,
        )
        .await
        .expect("twin");
    assert_eq!(twin.fields.summary.as_deref(), Some("Login broken"));
    let adf = twin.fields.description.clone().expect("a description");
    assert_eq!(
        adf.get("type").and_then(|t| t.as_str()),
        Some("doc"),
        "ADF on Cloud"
    );
    assert_eq!(
        cairn_markup::adf_to_markdown(&adf).expect("ADF").trim_end(),
        markdown
    );
    let mut labels = twin.fields.labels.clone();
    labels.sort();
    assert_eq!(labels, ["bug", "needs_triage"]);
    assert_eq!(
        twin.properties.get("cairn.sync"),
        Some(&serde_json::json!({"pair_id": pair, "origin": "left", "origin_id": iid.to_string()}))
    );

    // Closing in GitLab walks To Do -> In Progress -> In Review.
    h._sim.clear_requests();
    h.edit(
        LEFT,
        iid,
        IssueChanges {
            state_event: Some(StateEvent::Close),
            ..Default::default()
        },
    )
    .await;
    h.settle(pair).await;
    assert_eq!(jira_status(&h, &key).await, "In Review");
    let transitions = h
        ._sim
        .requests()
        .iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/transitions"))
        .count();
    assert_eq!(transitions, 2, "two steps through the workflow");

    // No echo: the labels' underscore form and the ADF reading back count
    // as what Cairn wrote.
    let writes = h.writes(pair).await;
    h.settle(pair).await;
    h.settle(pair).await;
    assert_eq!(h.writes(pair).await, writes, "no echo");

    // Jira's edit comes back to GitLab.
    let mut fields = serde_json::Map::new();
    fields.insert(
        "summary".into(),
        serde_json::json!("Login broken on Safari"),
    );
    h.jira.edit_issue(&key, fields).await.expect("edit");
    h.settle(pair).await;
    let left = h
        .gitlab
        .issue(&ProjectRef::from(LEFT), iid)
        .await
        .expect("left");
    assert_eq!(left.title, "Login broken on Safari");
    assert_eq!(left.state, "closed", "In Review is closed in this mapping");
    let mut left_labels = left.labels.clone();
    left_labels.sort();
    assert_eq!(
        left_labels,
        ["bug", "needs triage"],
        "GitLab keeps its spelling"
    );
    assert_eq!(h.writes(pair).await, writes + 1);

    // GitLab rejects the token: the next scan makes that connection
    // failing with the reason (the Jira one stays ok).
    h._sim.inject(&cairn_sim::FaultSpec::new(
        cairn_sim::Service::Gitlab,
        cairn_sim::FaultKind::RevokeToken,
    ));
    h.sync.scan(pair).await.expect("scan");
    let gitlab = h
        .store
        .get_connection(h.connection)
        .await
        .expect("get")
        .expect("connection");
    assert_eq!(gitlab.last_error_code.as_deref(), Some("unauthorized"));
    assert!(
        gitlab.last_error_at > gitlab.last_ok_at,
        "failing: {:?} after {:?}",
        gitlab.last_error_at,
        gitlab.last_ok_at
    );
    assert!(gitlab.last_error.is_some_and(|e| e.contains("401")));
    let jira = h
        .store
        .get_connection(h.jira_connection)
        .await
        .expect("get")
        .expect("connection");
    assert!(jira.last_error_at.is_none(), "Jira is not at fault");
}

/// A transition whose screen requires a resolution gets the pair's
/// default; a status Jira's workflow cannot reach puts that item alone on
/// the error list, naming both statuses, while the others sync.
async fn required_fields_and_unreachable_statuses(backend: Backend) {
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &jira_input(&h, None), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let a = h.create(LEFT, "item A", "a").await;
    let b = h.create(LEFT, "item B", "b").await;
    h.settle(pair).await;
    let key_a = twin_key(&h, pair, a).await;
    // Someone moves A to In Review in Jira (still "opened" by default).
    for id in ["11", "41"] {
        h.jira
            .transition_with_fields(&key_a, id, serde_json::Map::new())
            .await
            .expect("move in Jira");
    }
    h.settle(pair).await;
    assert_eq!(jira_status(&h, &key_a).await, "In Review");
    // Closing A in GitLab takes "Resolve", which requires a resolution.
    h.edit(
        LEFT,
        a,
        IssueChanges {
            state_event: Some(StateEvent::Close),
            ..Default::default()
        },
    )
    .await;
    h.settle(pair).await;
    assert_eq!(jira_status(&h, &key_a).await, "Done");

    // Now nothing leads out of Done: reopening A cannot be carried.
    h._sim.with_world_mut(|w| {
        for project in &mut w.jira.projects {
            project
                .workflow
                .retain(|t| t.to != "10000" || !t.from.contains(&"10001".to_owned()));
        }
    });
    h.edit(
        LEFT,
        a,
        IssueChanges {
            state_event: Some(StateEvent::Reopen),
            ..Default::default()
        },
    )
    .await;
    h.edit(
        LEFT,
        b,
        IssueChanges {
            title: Some("item B, renamed".into()),
            ..Default::default()
        },
    )
    .await;
    h.settle_with_failing(pair, 1).await;
    let failing = h
        .store
        .list_sync_items(pair, Some(SyncItemState::Failing), 0, 10)
        .await
        .expect("failing");
    assert_eq!(failing.len(), 1);
    assert_eq!(
        failing[0].left.as_ref().map(|l| l.id.clone()),
        Some(a.to_string())
    );
    let error = failing[0].last_error.clone().unwrap_or_default();
    assert!(
        error.contains("from `Done` to `To Do`"),
        "names both statuses: {error}"
    );
    let key_b = twin_key(&h, pair, b).await;
    let twin_b = h
        .jira
        .issue_with(&key_b, &["summary"], &[], false)
        .await
        .expect("B");
    assert_eq!(
        twin_b.fields.summary.as_deref(),
        Some("item B, renamed"),
        "the others sync"
    );
}

/// GitLab sends no webhook for a deleted issue: the scan's look at the
/// whole scope finds it, and the item pauses (its twin is never deleted).
async fn a_deleted_issue_pauses_its_item_and_keeps_the_twin(backend: Backend) {
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let iid = h.create(LEFT, "Soon gone", "x").await;
    h.settle(pair).await;
    let item = h
        .store
        .find_sync_item(pair, Side::Left, &iid.to_string())
        .await
        .expect("find")
        .expect("linked");
    let twin: u64 = item.right.clone().expect("twin").id.parse().expect("iid");
    h._sim.with_world_mut(|w| {
        for project in &mut w.gitlab.projects {
            if project.path_with_namespace == LEFT {
                project.issues.retain(|i| i.iid != iid);
            }
        }
    });
    h.settle(pair).await;
    let item = h
        .store
        .get_sync_item(item.id)
        .await
        .expect("get")
        .expect("item");
    assert_eq!(item.state, SyncItemState::Paused);
    assert!(
        item.last_error
            .as_deref()
            .is_some_and(|e| e.contains("no longer exists")),
        "{:?}",
        item.last_error
    );
    assert!(
        h.gitlab.issue(&ProjectRef::from(RIGHT), twin).await.is_ok(),
        "the twin stays"
    );
}

/// A field rewritten on one side and then the other, over and over
/// within two minutes, pauses its item with a reason naming the field,
/// instead of flipping forever; a retry resumes it.
async fn a_flipping_field_trips_the_fuse(backend: Backend) {
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let iid = h.create(LEFT, "flip 0", "x").await;
    h.settle(pair).await;
    let item = h
        .store
        .find_sync_item(pair, Side::Left, &iid.to_string())
        .await
        .expect("find")
        .expect("linked");
    let twin: u64 = item.right.clone().expect("twin").id.parse().expect("iid");
    for k in 1..=8 {
        let (project, number) = if k % 2 == 1 {
            (RIGHT, twin)
        } else {
            (LEFT, iid)
        };
        h.edit(
            project,
            number,
            IssueChanges {
                title: Some(format!("flip {k}")),
                ..Default::default()
            },
        )
        .await;
        h.settle(pair).await;
        let state = h
            .store
            .get_sync_item(item.id)
            .await
            .expect("get")
            .expect("item")
            .state;
        if state == SyncItemState::Paused {
            assert_eq!(k, 7, "the seventh alternating write trips it");
            let paused = h
                .store
                .get_sync_item(item.id)
                .await
                .expect("get")
                .expect("item");
            assert!(
                paused
                    .last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("title was written 7 times")),
                "{:?}",
                paused.last_error
            );
            h.sync
                .retry_item(&h.by, pair, item.id, Utc::now())
                .await
                .expect("retry");
            h.settle(pair).await;
            let resumed = h
                .store
                .get_sync_item(item.id)
                .await
                .expect("get")
                .expect("item");
            assert_eq!(resumed.state, SyncItemState::Synced);
            return;
        }
    }
    panic!("eight alternating edits never tripped the fuse");
}

/// Five hundred issues on each side of an active GitLab <-> Jira pair:
/// afterwards each side has a thousand, every one linked exactly once.
async fn five_hundred_on_each_side_of_a_jira_pair(backend: Backend) {
    let h = Harness::new(backend).await;
    let view = h
        .sync
        .create_pair(&h.by, &jira_input(&h, None), Utc::now())
        .await
        .expect("pair");
    let pair = view.pair.id;
    let issue_type = view
        .pair
        .settings
        .jira_issue_type
        .clone()
        .expect("issue type");
    let since = Utc::now();
    const N: usize = 500;
    for i in 0..N {
        h.create(LEFT, &format!("from GitLab {i}"), "gitlab *text*")
            .await;
        let mut fields = serde_json::Map::new();
        fields.insert("project".into(), serde_json::json!({"key": "OPS"}));
        fields.insert("issuetype".into(), serde_json::json!({"id": issue_type}));
        fields.insert(
            "summary".into(),
            serde_json::json!(format!("from Jira {i}")),
        );
        h.jira.create_issue(fields, &[]).await.expect("jira issue");
    }
    h.settle(pair).await;
    let gitlab = new_issues(&h, LEFT, since).await;
    assert_eq!(gitlab.len(), 2 * N, "every title on GitLab");
    assert!(gitlab.values().all(|v| v.len() == 1), "no GitLab duplicate");
    let jira = h
        .jira
        .search(
            &format!("project = OPS AND created >= {}", since.timestamp_millis()),
            &["summary"],
        )
        .collect_all()
        .await
        .expect("search");
    let mut titles = std::collections::BTreeMap::<String, usize>::new();
    for issue in &jira {
        *titles
            .entry(issue.fields.summary.clone().unwrap_or_default())
            .or_default() += 1;
    }
    assert_eq!(titles.len(), 2 * N, "every title on Jira");
    assert!(titles.values().all(|n| *n == 1), "no Jira duplicate");
    let counts = h.store.sync_item_counts(pair).await.expect("counts");
    assert_eq!(counts.synced as usize, 2 * N, "{counts:?}");
}

/// A Jira Cloud webhook carries Jira's wiki rendering of an ADF
/// description; when that rendering differs from what Cairn wrote (Jira's
/// converter is not Cairn's), the item is read through the API instead of
/// the rendering being written over GitLab's Markdown.
async fn a_jira_rendering_never_overwrites_gitlab(backend: Backend) {
    let h = Harness::new(backend).await;
    let pair = h
        .sync
        .create_pair(&h.by, &jira_input(&h, None), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    let markdown = "A **bold** claim\n\n- one\n- two";
    let iid = h.create(LEFT, "Formatted", markdown).await;
    h.settle(pair).await;
    let key = twin_key(&h, pair, iid).await;
    let writes = h.writes(pair).await;

    let mut delivered = h
        .jira
        .issue_with(
            &key,
            &[
                "summary",
                "description",
                "status",
                "labels",
                "duedate",
                "updated",
                "created",
                "issuetype",
                "project",
            ],
            &["cairn.sync"],
            false,
        )
        .await
        .expect("twin");
    delivered.fields.description = Some(serde_json::json!("A bold claim\n\nonetwo"));
    let noted = h
        .sync
        .note_jira_issue(h.jira_connection, &delivered, true, Utc::now())
        .await
        .expect("noted");
    assert_eq!(noted, 1, "a description that looks changed is looked at");
    h.settle(pair).await;
    assert_eq!(h.writes(pair).await, writes, "nothing written");
    let left = h
        .gitlab
        .issue(&ProjectRef::from(LEFT), iid)
        .await
        .expect("left");
    assert_eq!(
        left.description.as_deref().map(str::trim_end),
        Some(markdown)
    );
}

/// A Jira webhook cannot say whether its issue matches the pair's JQL
/// scope: Jira is asked before a twin is made, so a delivery of an issue
/// outside the scope never reaches GitLab.
async fn a_jira_delivery_outside_the_jql_scope_makes_no_twin(backend: Backend) {
    let h = Harness::new(backend).await;
    let mut input = jira_input(&h, None);
    input.right.jql = Some("labels = checkout".into());
    let pair = h
        .sync
        .create_pair(&h.by, &input, Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    h.settle(pair).await;
    let before = h.issues(LEFT).await.len();
    let view = h.sync.get_pair(&h.by, pair).await.expect("pair view");
    let issue_type = view.pair.settings.jira_issue_type.clone().expect("type");
    let mut keys = Vec::new();
    for (summary, labels) in [("Out of scope", vec![]), ("In scope", vec!["checkout"])] {
        let mut fields = serde_json::Map::new();
        fields.insert("project".into(), serde_json::json!({"key": "OPS"}));
        fields.insert("issuetype".into(), serde_json::json!({"id": issue_type}));
        fields.insert("summary".into(), serde_json::json!(summary));
        fields.insert("labels".into(), serde_json::json!(labels));
        let created = h.jira.create_issue(fields, &[]).await.expect("jira issue");
        keys.push(created.key);
    }
    for key in &keys {
        let delivered = h
            .jira
            .issue_with(
                key,
                &[
                    "summary",
                    "description",
                    "status",
                    "labels",
                    "duedate",
                    "updated",
                    "created",
                    "issuetype",
                    "project",
                ],
                &["cairn.sync"],
                false,
            )
            .await
            .expect("issue");
        h.sync
            .note_jira_issue(h.jira_connection, &delivered, true, Utc::now())
            .await
            .expect("noted");
    }
    h.settle(pair).await;
    let titles: Vec<String> = h.issues(LEFT).await.into_iter().map(|i| i.title).collect();
    assert_eq!(titles.len(), before + 1, "{titles:?}");
    assert!(titles.iter().any(|t| t == "In scope"), "{titles:?}");
    assert!(!titles.iter().any(|t| t == "Out of scope"), "{titles:?}");
}

/// The seed's time offset: a tracker that stamps a change earlier than
/// changes the scan has already seen (its clock is behind, or its
/// transaction was slow) is missed by a scan whose overlap is shorter than
/// the gap, and found once the pair's overlap reaches back that far.
async fn the_time_offset_reaches_changes_stamped_behind_the_last_scan(backend: Backend) {
    let h = Harness::new(backend).await;
    let mut input = h.input();
    input.scan_overlap_secs = Some(60);
    let pair = h
        .sync
        .create_pair(&h.by, &input, Utc::now())
        .await
        .expect("pair")
        .pair;
    assert_eq!(pair.settings.scan_overlap_secs, 60);
    h.create(LEFT, "Seen first", "").await;
    h.settle(pair.id).await;
    assert_eq!(titled(&h.issues(RIGHT).await, "Seen first").len(), 1);

    let late = h.create(LEFT, "Stamped five minutes late", "").await;
    let global_id = h
        .issues(LEFT)
        .await
        .iter()
        .find(|i| i.iid == late)
        .expect("the late issue")
        .id;
    h.age(global_id, -chrono::Duration::minutes(5));
    h.settle(pair.id).await;
    assert!(
        titled(&h.issues(RIGHT).await, "Stamped five minutes late").is_empty(),
        "a 60 s overlap does not reach 5 minutes back"
    );

    input.scan_overlap_secs = Some(600);
    let updated = h
        .sync
        .update_pair(&h.by, pair.id, &input, Utc::now())
        .await
        .expect("update");
    assert_eq!(updated.pair.settings.scan_overlap_secs, 600);
    h.settle(pair.id).await;
    assert_eq!(
        titled(&h.issues(RIGHT).await, "Stamped five minutes late").len(),
        1,
        "a 10 minute overlap finds it"
    );

    input.scan_overlap_secs = Some(86_401);
    let refused = h
        .sync
        .update_pair(&h.by, pair.id, &input, Utc::now())
        .await
        .expect_err("over a day");
    assert!(
        refused.to_string().contains("scan_overlap_secs"),
        "{refused}"
    );
    let stored = h
        .store
        .get_sync_pair(pair.id)
        .await
        .expect("read")
        .expect("pair");
    assert_eq!(stored.settings.scan_overlap_secs, 600, "nothing saved");
}

/// Waits until no job is queued or running.
async fn jobs_idle(h: &Harness) {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counts = h.store.job_counts().await.expect("counts");
        let busy = |s: &str| counts.0.get(s).copied().unwrap_or(0);
        if busy("running") == 0 && busy("queued") == 0 {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "jobs never idle: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Items created before the pair was activated: the pair leaves them out
/// until an initial sync from a date brings them across, previewed first,
/// with progress that moves, stops while paused and finishes once resumed;
/// no item is made twice. Bad dates are refused and nothing is saved.
async fn an_initial_sync_brings_history_across(backend: Backend) {
    use cairn_engine::EngineError;
    let h = Harness::new(backend).await;
    let since = Utc::now() - chrono::Duration::seconds(2);
    const N: usize = 60;
    for i in 0..N {
        h.create(LEFT, &format!("old left {i}"), "history").await;
        h.create(RIGHT, &format!("old right {i}"), "history").await;
    }
    // The pair's scope begins at its activation, kept to the millisecond as
    // the trackers' creation dates are: an item created in the same
    // millisecond counts as in scope (never lost), so the pair starts in a
    // later one.
    tokio::time::sleep(Duration::from_millis(2)).await;
    let pair = h
        .sync
        .create_pair(&h.by, &h.input(), Utc::now())
        .await
        .expect("pair")
        .pair
        .id;
    h.settle(pair).await;
    let counts = h.store.sync_item_counts(pair).await.expect("counts");
    assert_eq!(counts.synced, 0, "older items are out of the pair's scope");

    let field_of = |e: EngineError| match e {
        EngineError::Invalid { field, .. } => field,
        other => panic!("not a refusal: {other:?}"),
    };
    let now = Utc::now();
    let future = h
        .sync
        .start_initial_sync(&h.by, pair, now + chrono::Duration::days(1), now)
        .await
        .expect_err("future");
    assert_eq!(field_of(future), "since");
    let too_late = h
        .sync
        .start_initial_sync(&h.by, pair, now, now)
        .await
        .expect_err("not before the scope");
    assert_eq!(field_of(too_late), "since");
    assert!(
        h.sync
            .initial_sync(&h.by, pair, now)
            .await
            .expect("read")
            .is_none(),
        "nothing saved"
    );

    let preview = h
        .sync
        .preview_initial_sync(&h.by, pair, since, Utc::now())
        .await
        .expect("preview");
    assert_eq!((preview.left, preview.right), (N as i64, N as i64));
    let started = h
        .sync
        .start_initial_sync(&h.by, pair, since, Utc::now())
        .await
        .expect("start");
    assert_eq!(started.done, 0);
    let twice = h
        .sync
        .start_initial_sync(&h.by, pair, since, Utc::now())
        .await
        .expect_err("already running");
    assert_eq!(field_of(twice), "since");

    // Progress moves...
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let moving = loop {
        let p = h
            .sync
            .initial_sync(&h.by, pair, Utc::now())
            .await
            .expect("progress")
            .expect("run");
        if p.done >= 10 {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "no progress: {p:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    assert_eq!(moving.total, Some(2 * N as i64));
    assert!(moving.rate_per_minute.is_some(), "{moving:?}");
    // ...stops while paused (items already in hand are finished)...
    h.sync
        .pause_initial_sync(&h.by, pair, Utc::now())
        .await
        .expect("pause");
    jobs_idle(&h).await;
    let paused = h
        .sync
        .initial_sync(&h.by, pair, Utc::now())
        .await
        .expect("progress")
        .expect("run");
    assert_eq!(paused.state, "paused");
    assert!(
        paused.done < 2 * N as i64,
        "paused before the end: {paused:?}"
    );
    h.sync.enqueue_due(Utc::now()).await.expect("due");
    jobs_idle(&h).await;
    let still = h
        .sync
        .initial_sync(&h.by, pair, Utc::now())
        .await
        .expect("progress")
        .expect("run");
    assert_eq!(still.done, paused.done, "nothing moves while paused");
    let again = h
        .sync
        .pause_initial_sync(&h.by, pair, Utc::now())
        .await
        .expect_err("not running");
    assert_eq!(field_of(again), "state");

    // ...and finishes once resumed.
    h.sync
        .resume_initial_sync(&h.by, pair, Utc::now())
        .await
        .expect("resume");
    let deadline = std::time::Instant::now() + Duration::from_secs(120);
    let done = loop {
        let p = h
            .sync
            .initial_sync(&h.by, pair, Utc::now())
            .await
            .expect("progress")
            .expect("run");
        if p.state == "done" {
            break p;
        }
        assert!(std::time::Instant::now() < deadline, "never done: {p:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    assert_eq!((done.done, done.percent), (2 * N as i64, Some(100)));
    jobs_idle(&h).await;
    for project in [LEFT, RIGHT] {
        let found = new_issues(&h, project, since).await;
        assert_eq!(found.len(), 2 * N, "{project}: every title");
        let doubled: Vec<_> = found.iter().filter(|(_, v)| v.len() != 1).collect();
        assert!(doubled.is_empty(), "{project}: duplicated {doubled:?}");
    }
    let counts = h.store.sync_item_counts(pair).await.expect("counts");
    assert_eq!(counts.synced as usize, 2 * N, "{counts:?}");
    assert_eq!((counts.pending, counts.failing), (0, 0), "{counts:?}");
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
    gitlab_to_gitlab,
    an_interrupted_create_is_finished_not_repeated,
    many_items_with_faults_are_linked_exactly_once,
    an_edit_during_the_scan_hides_no_item,
    random_edits_converge_with_no_echo,
    gitlab_to_jira_through_the_workflow,
    required_fields_and_unreachable_statuses,
    a_deleted_issue_pauses_its_item_and_keeps_the_twin,
    a_flipping_field_trips_the_fuse,
    a_jira_rendering_never_overwrites_gitlab,
    a_jira_delivery_outside_the_jql_scope_makes_no_twin,
    the_time_offset_reaches_changes_stamped_behind_the_last_scan,
    an_initial_sync_brings_history_across
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn five_hundred_on_each_side_of_a_jira_pair_on_sqlite() {
    five_hundred_on_each_side_of_a_jira_pair(Backend::Sqlite).await;
}
