//! `cairn demo` as a real process: it seeds a period, objectives and key
//! results linked to the simulator, prints a login that works, moves
//! progress through the simulator, and stops cleanly on SIGTERM.

use std::path::Path;
use std::time::Duration;

use cairn::process::ServeProcess;
use serde_json::{Value, json};

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cairn"))
}

/// The value after `label` on the first stdout line that has it.
fn printed(lines: &[String], label: &str) -> String {
    lines
        .iter()
        .find_map(|l| l.trim().strip_prefix(label).map(|v| v.trim().to_owned()))
        .unwrap_or_else(|| panic!("no `{label}` line in {lines:?}"))
}

/// An API client signed in with the session cookie, as the UI is.
struct Api {
    http: reqwest::Client,
    base: String,
    cookie: String,
    csrf: String,
}

impl Api {
    async fn sign_in(base: &str, email: &str, password: &str) -> Api {
        let http = reqwest::Client::new();
        let response = http
            .post(format!("{base}/api/v1/session"))
            .json(&json!({"email": email, "password": password}))
            .send()
            .await
            .expect("sign-in answers");
        assert_eq!(response.status(), 200, "the printed login works");
        let cookie = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with("cairn_session="))
            .and_then(|v| v.split(';').next())
            .expect("session cookie")
            .to_owned();
        let body: Value = response.json().await.expect("JSON");
        assert_eq!(body["user"]["role"], "admin", "{body}");
        let csrf = body["csrf_token"].as_str().expect("csrf token").to_owned();
        Api {
            http,
            base: base.to_owned(),
            cookie,
            csrf,
        }
    }

    async fn call(&self, method: reqwest::Method, path: &str) -> Value {
        let response = self
            .http
            .request(method.clone(), format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .header("x-csrf-token", &self.csrf)
            .send()
            .await
            .expect("Cairn answers");
        let status = response.status();
        let text = response.text().await.expect("body");
        assert!(status.is_success(), "{method} {path}: {status} {text}");
        serde_json::from_str(&text).expect("JSON")
    }

    async fn get(&self, path: &str) -> Value {
        self.call(reqwest::Method::GET, path).await
    }

    /// A page, as the signed-in browser sees it.
    async fn page(&self, path: &str) -> String {
        let response = self
            .http
            .get(format!("{}{path}", self.base))
            .header("cookie", &self.cookie)
            .send()
            .await
            .expect("Cairn answers");
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
        response.text().await.expect("body")
    }

    async fn post(&self, path: &str) -> Value {
        self.call(reqwest::Method::POST, path).await
    }
}

fn percent(okr: &Value) -> f64 {
    okr["progress"]["percent"]
        .as_f64()
        .unwrap_or_else(|| panic!("no progress: {okr}"))
}

fn by_title<'a>(okrs: &'a [Value], title: &str) -> &'a Value {
    okrs.iter()
        .find(|o| o["title"] == title)
        .unwrap_or_else(|| panic!("no OKR `{title}`"))
}

fn assert_close(actual: f64, expected: f64, what: &str) {
    assert!(
        (actual - expected).abs() < 0.01,
        "{what}: {actual} is not {expected}"
    );
}

/// Every objective's progress is the equal-weight average of its key results'.
fn assert_rolled_up(okrs: &[Value]) {
    for objective in okrs.iter().filter(|o| o["kind"] == "objective") {
        let children: Vec<f64> = okrs
            .iter()
            .filter(|o| o["parent_id"] == objective["id"])
            .map(percent)
            .collect();
        assert!(!children.is_empty(), "{objective}");
        let mean = children.iter().sum::<f64>() / children.len() as f64;
        assert_close(percent(objective), mean, "objective roll-up");
    }
}

/// A running `cairn demo` whose simulator changes an issue every
/// `tick_secs` seconds on average (never with "0"), signed in as the
/// printed login.
struct Demo {
    process: ServeProcess,
    api: Api,
    password: String,
    /// What it printed at start.
    out: Vec<String>,
    _data: tempfile::TempDir,
}

impl Demo {
    async fn start(tick_secs: &str) -> Demo {
        let data = tempfile::tempdir().expect("tempdir");
        let data_dir = data.path().join("demo");
        let data_dir = data_dir.to_str().expect("utf-8 path");
        let mut process = ServeProcess::start_command(
            binary(),
            "demo",
            &["--data-dir", data_dir, "--tick-secs", tick_secs],
            "warn,cairn::demo=info",
            &[],
        )
        .await
        .expect("cairn demo starts");
        let out = process
            .wait_for_stdout(Duration::from_secs(60), |lines| {
                lines.iter().any(|l| l.contains("Ctrl-C stops the demo"))
            })
            .await
            .expect("the login is printed");
        let url = printed(&out, "Cairn demo is running at");
        assert_eq!(url, format!("http://{}", process.address));
        let email = printed(&out, "sign in as");
        let password = printed(&out, "password");
        let api = Api::sign_in(&url, &email, &password).await;
        Demo {
            process,
            api,
            password,
            out,
            _data: data,
        }
    }

    /// The sync pair the demo printed, once the checkout project's 7 issues
    /// have their Jira twins; its operations path.
    async fn synced_pair(&self) -> String {
        let pair_id: i64 = printed(&self.out, "sync")
            .split("pair ")
            .nth(1)
            .and_then(|s| s.split(',').next().and_then(|n| n.trim().parse().ok()))
            .expect("the pair's id is printed");
        let pairs = self.api.get("/api/v1/sync-pairs").await;
        assert_eq!(pairs.as_array().map(Vec::len), Some(1), "{pairs}");
        assert_eq!(pairs[0]["id"], pair_id, "{pairs}");
        assert_eq!(pairs[0]["active"], true, "{pairs}");
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        loop {
            let pair = self.api.get(&format!("/api/v1/sync-pairs/{pair_id}")).await;
            if pair["items"]["synced"] == 7 {
                assert_eq!(pair["items"]["failing"], 0, "{pair}");
                break;
            }
            assert!(tokio::time::Instant::now() < deadline, "not synced: {pair}");
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        format!("/api/v1/sync-pairs/{pair_id}/operations")
    }

    /// Stops it with SIGTERM: a clean exit, and the password never logged.
    async fn stop(self) -> Vec<String> {
        let (status, log) = self.process.terminate().await.expect("stops");
        assert!(status.success(), "exit status {status}: {log:?}");
        assert!(
            log.iter().any(|l| l.contains("shut down cleanly")),
            "{log:?}"
        );
        assert!(
            !log.iter().any(|l| l.contains(&self.password)),
            "the password never reaches the log"
        );
        log
    }
}

/// The seeded numbers, read while the simulator changes nothing (so a
/// change cannot race the reads).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_seeds_okrs_linked_to_the_simulator_and_prints_a_login() {
    let demo = Demo::start("0").await;
    let api = &demo.api;

    // A period covering today.
    let periods = api.get("/api/v1/periods").await;
    let periods = periods.as_array().expect("periods");
    assert_eq!(periods.len(), 1, "{periods:?}");
    let today = chrono::Utc::now().date_naive().to_string();
    let (starts, ends) = (
        periods[0]["starts_on"].as_str().unwrap_or_default(),
        periods[0]["ends_on"].as_str().unwrap_or_default(),
    );
    assert!(
        starts <= today.as_str() && today.as_str() <= ends,
        "{periods:?}"
    );

    // Three objectives, eight key results, three linked to the simulated
    // GitLab and three to the simulated Jira with the shortest refresh
    // interval; every number as the sample data says.
    let okrs = api.get("/api/v1/okrs").await;
    let okrs = okrs.as_array().expect("okrs").clone();
    assert_eq!(okrs.iter().filter(|o| o["kind"] == "objective").count(), 3);
    assert_eq!(okrs.iter().filter(|o| o["kind"] == "key_result").count(), 8);
    let linked: Vec<&Value> = okrs.iter().filter(|o| o["link"].is_object()).collect();
    assert_eq!(linked.len(), 6, "{linked:?}");
    for okr in &linked {
        assert_eq!(okr["link"]["refresh_interval_secs"], 60, "{okr}");
        assert_eq!(okr["link"]["stale"], false, "{okr}");
    }
    // Milestone Q1 2026: 4 + 1 + 2 + 1 + 1 units, 2 + 1 + 1 + 1 + 0 done.
    let milestone = by_title(&okrs, "Finish the Q1 2026 checkout milestone");
    assert_close(percent(milestone), 500.0 / 9.0, "milestone percent");
    // Label payments: 4 + 1 + 1 units, 2 + 1 + 0 done.
    assert_close(
        percent(by_title(&okrs, "Complete all payments work")),
        50.0,
        "payments percent",
    );
    // KPI: closed issues of Release 4.2, start 0, target 3; one is closed.
    let release = by_title(&okrs, "Close all 3 issues of Release 4.2");
    assert_eq!(release["progress"]["value"], 1.0, "{release}");
    assert_eq!(release["measure"]["mode"], "kpi", "{release}");
    // Check-ins: NPS 40 on the way from 30 to 45.
    let nps = by_title(&okrs, "Raise checkout NPS from 30 to 45");
    assert_close(percent(nps), 10.0 / 15.0 * 100.0, "NPS percent");
    let check_ins = api
        .get(&format!("/api/v1/okrs/{}/check-ins", nps["id"]))
        .await;
    assert_eq!(check_ins.as_array().map(Vec::len), Some(2), "{check_ins}");
    // Jira: epic OPS-1 has 3 stories, OPS-2 done (its sub-task and the
    // sync's twins are not in the epic).
    assert_close(
        percent(by_title(&okrs, "Finish the zero-downtime database upgrade")),
        100.0 / 3.0,
        "epic percent",
    );
    // Release 2026.2: OPS-3 (5 points) and OPS-5 (8), neither done.
    assert_close(
        percent(by_title(
            &okrs,
            "Deliver the story points of release 2026.2",
        )),
        0.0,
        "release points percent",
    );
    // Bugs: OPS-6 is done, the only one; the KPI counts completed only.
    let bugs = by_title(&okrs, "Fix 20 bugs");
    assert_eq!(bugs["progress"]["value"], 1.0, "{bugs}");
    assert_rolled_up(&okrs);
    // Every key result has a history of more than one point: the linked
    // ones from the period's start, reconstructed from the simulator's
    // dates, then measured today; the objectives' rolled up from theirs,
    // with no 0 % point nobody measured.
    for okr in &okrs {
        let history = api
            .get(&format!("/api/v1/okrs/{}/history?limit=1000", okr["id"]))
            .await;
        let points = history.as_array().expect("history");
        assert!(points.len() > 1, "{}: {history}", okr["title"]);
        if okr["kind"] == "objective" {
            assert!(
                !points
                    .iter()
                    .any(|p| p["source"] == "edit" && p["percent"] == 0.0),
                "no 0 % point when created without children: {history}"
            );
        }
        if okr["kind"] == "objective" || okr["link"].is_object() {
            let oldest = points.last().expect("a point");
            assert_eq!(oldest["source"], "backfill", "{}: {history}", okr["title"]);
            assert!(
                oldest["at"].as_str().unwrap_or_default() >= starts,
                "{}: {history}",
                okr["title"]
            );
            assert_ne!(
                points[0]["source"], "backfill",
                "{}: {history}",
                okr["title"]
            );
        }
    }
    // Every number is assessed today (same dates, same expected progress),
    // even those whose history starts with backdated check-ins.
    // (Assessed seconds apart, by a refresh or a webhook: equal to within
    // 0.01 points, about ten minutes of a quarter.)
    let expected: Vec<f64> = okrs
        .iter()
        .filter_map(|o| o["progress"]["expected_percent"].as_f64())
        .collect();
    assert_eq!(expected.len(), okrs.len(), "{okrs:?}");
    assert!(
        expected.iter().all(|e| (e - expected[0]).abs() < 0.01),
        "{expected:?}"
    );

    // The items behind the numbers are the simulator's issues.
    let explain = api
        .get(&format!("/api/v1/okrs/{}/explain", milestone["id"]))
        .await;
    let mut keys: Vec<&str> = explain["explanation"]["contributions"]
        .as_array()
        .expect("contributions")
        .iter()
        .filter_map(|c| c["key"].as_str())
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "northwind/checkout#1",
            "northwind/checkout#2",
            "northwind/checkout#3",
            "northwind/checkout#5",
            "northwind/checkout#7"
        ],
        "{explain}"
    );
    let explain = api
        .get(&format!("/api/v1/okrs/{}/explain", release["id"]))
        .await;
    assert_eq!(
        explain["explanation"]["contributions"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "{explain}"
    );

    // Sync: the checkout project's 7 issues get their Jira twins, each
    // side linked to the other once and their comments copied, with
    // nothing else written.
    let operations = demo.synced_pair().await;
    let ops = api.get(&operations).await;
    let ops = ops.as_array().expect("operations");
    let of = |kind: &str| ops.iter().filter(|o| o["kind"] == kind).collect::<Vec<_>>();
    assert_eq!(of("create").len(), 7, "{ops:?}");
    assert!(
        of("create").iter().all(|o| o["side"] == "right"),
        "one twin per issue, in Jira: {ops:?}"
    );
    assert_eq!(of("backlink").len(), 14, "a link each way: {ops:?}");
    assert_eq!(
        ops.len(),
        7 + 14 + of("comment").len(),
        "nothing else: {ops:?}"
    );
    assert!(ops.iter().all(|o| o["state"] == "done"), "{ops:?}");
    // The banner's page of the pair shows the same: 7 synced, OPS keys.
    let pair_page = printed(&demo.out, "sync")
        .rsplit(' ')
        .next()
        .map(str::to_owned)
        .expect("the pair's page");
    let path = pair_page
        .split_once("/sync-pairs/")
        .map(|(_, id)| format!("/sync-pairs/{id}"))
        .expect("a /sync-pairs/ URL");
    let html = api.page(&path).await;
    assert!(html.contains("class=\"count-synced\">7<"), "{html}");
    assert!(html.contains(">OPS-"), "{html}");

    // The period's dashboard: both teams, and the key results whose status
    // moved in the last 7 days of the seeded history.
    let dashboard = api
        .get(&format!("/api/v1/periods/{}/dashboard", periods[0]["id"]))
        .await;
    let teams: Vec<&str> = dashboard["teams"]
        .as_array()
        .expect("teams")
        .iter()
        .filter_map(|t| t["name"].as_str())
        .collect();
    assert_eq!(teams, ["Checkout", "Platform", "No team"], "{dashboard}");
    let moved: Vec<(&str, &str, &str)> = dashboard["status_changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["title"].as_str().unwrap_or_default(),
                c["from"].as_str().unwrap_or_default(),
                c["to"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert!(
        moved.contains(&(
            "Crash-free sessions from 98 % to 99.5 %",
            "at_risk",
            "on_track"
        )),
        "{dashboard}"
    );
    assert_eq!(
        dashboard["stale_links"],
        serde_json::json!([]),
        "{dashboard}"
    );
    assert_eq!(
        dashboard["failing_connections"],
        serde_json::json!([]),
        "{dashboard}"
    );

    // Time: the simulated GitLab is the activity source for the checkout
    // project, and the admin is connected to the simulated amartin.
    let source = api.get("/api/v1/time/source").await;
    assert_eq!(source["enabled"], true, "{source}");
    let me = api.get("/api/v1/time/people/me").await;
    assert_eq!(me["gitlab_username"], "amartin", "{me}");
    let links = api.get("/api/v1/time/dev-links").await;
    assert_eq!(links.as_array().map(Vec::len), Some(1), "{links}");

    let log = demo.stop().await;
    assert!(
        !log.iter().any(|l| l.contains("the simulator changed")),
        "no change with --tick-secs 0: {log:?}"
    );
}

/// With the simulator changing issues, a refresh moves progress, the
/// objectives roll it up, and the history records the move.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_simulator_moves_progress_and_the_history_records_it() {
    let demo = Demo::start("1").await;
    let api = &demo.api;
    let okrs = api.get("/api/v1/okrs").await;
    let okrs = okrs.as_array().expect("okrs").clone();
    let linked: Vec<&Value> = okrs.iter().filter(|o| o["link"].is_object()).collect();
    assert_eq!(linked.len(), 6);

    // The simulator moves a Jira ticket every tick too: a Jira key result
    // changes by webhook, with no refresh asked for (their next scheduled
    // read is a minute away).
    let jira_titles = [
        "Finish the zero-downtime database upgrade",
        "Deliver the story points of release 2026.2",
        "Fix 20 bugs",
    ];
    let jira_values = |okrs: &[Value]| -> Vec<f64> {
        jira_titles
            .iter()
            .map(|t| percent(by_title(okrs, t)))
            .collect()
    };
    let jira_before = jira_values(&okrs);
    let jira_changes = || {
        demo.process
            .lines()
            .iter()
            .filter(|l| l.contains("the simulator changed a Jira ticket"))
            .count()
    };
    // The changes start once the sync pair's first pass is done.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while jira_changes() == 0 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Jira change in 60 s: {:?}",
            demo.process.lines()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let now = api.get("/api/v1/okrs").await;
        if jira_values(now.as_array().expect("okrs")) != jira_before {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no Jira key result moved by webhook in 30 s: {:?}",
            demo.process.lines()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Time: the connected admin's pushes (one a tick) reach "My work" as
    // activity today, with a suggested worklog for OPS-3.
    let me = api.get("/api/v1/time/people/me").await;
    let week = format!(
        "/api/v1/time/people/{}/week",
        me["user_id"].as_i64().expect("the admin is connected")
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let view = api.get(&week).await;
        let activities = view["activities"].as_array().map_or(0, Vec::len);
        let suggested = view["suggestions"]
            .as_array()
            .is_some_and(|s| s.iter().any(|s| s.to_string().contains("OPS-3")));
        if activities > 0 && suggested {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no activity or suggestion in My work: {view}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    // Jira development links: the pushes naming OPS-3 are linked on the
    // ticket in the simulated Jira, one link per commit.
    let banner = printed(&demo.out, "simulator");
    let jira = banner
        .split("Jira ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .expect("the simulated Jira's address");
    let links: Value = reqwest::Client::new()
        .get(format!("{jira}/rest/api/2/issue/OPS-3/remotelink"))
        .basic_auth(
            cairn_sim::DEFAULT_JIRA_EMAIL,
            Some(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        )
        .send()
        .await
        .expect("remote links")
        .json()
        .await
        .expect("json");
    assert!(
        links
            .as_array()
            .is_some_and(|l| l.iter().any(|l| l["globalId"]
                .as_str()
                .is_some_and(|g| g.starts_with("cairn:commit:")))),
        "no development link on OPS-3: {links}"
    );

    // The simulator changes an issue every second or so; a refresh shows it.
    let before: f64 = linked.iter().map(|o| percent(o)).sum();
    let changed = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            if demo
                .process
                .lines()
                .iter()
                .any(|l| l.contains("the simulator changed an issue"))
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    })
    .await;
    assert!(
        changed.is_ok(),
        "no change in 30 s: {:?}",
        demo.process.lines()
    );
    // Not every change moves a number (a task of an issue a KPI counts
    // only when closed, say): refresh until one does, within a deadline.
    let mut after = before;
    let mut okrs = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while after <= before && tokio::time::Instant::now() < deadline {
        for okr in &linked {
            let outcome = api
                .post(&format!("/api/v1/okrs/{}/refresh", okr["id"]))
                .await;
            assert_eq!(outcome["error"], Value::Null, "{outcome}");
        }
        okrs = api
            .get("/api/v1/okrs")
            .await
            .as_array()
            .expect("okrs")
            .clone();
        after = okrs
            .iter()
            .filter(|o| o["link"].is_object())
            .map(percent)
            .sum();
        if after <= before {
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }
    assert!(after > before, "progress moved: {before} -> {after}");
    assert_rolled_up(&okrs);

    // The move is in the history: for each key result that moved, the
    // number now shown was recorded after the one shown before, and the
    // objective above it recorded its new roll-up.
    let mut moved = 0;
    for old in &linked {
        let now = okrs
            .iter()
            .find(|o| o["id"] == old["id"])
            .unwrap_or_else(|| panic!("{old} is gone"));
        let (was, is) = (percent(old), percent(now));
        if (was - is).abs() < 0.01 {
            continue;
        }
        moved += 1;
        let history = api
            .get(&format!("/api/v1/okrs/{}/history", now["id"]))
            .await;
        let points = history.as_array().expect("history");
        let at = |p: &Value| p["at"].as_str().unwrap_or_default().to_owned();
        let close = |p: &Value, value: f64| {
            p["percent"]
                .as_f64()
                .is_some_and(|v| (v - value).abs() < 0.01)
        };
        let recorded = points
            .iter()
            .find(|p| close(p, is))
            .unwrap_or_else(|| panic!("{is} is not in the history: {history}"));
        assert!(
            points.iter().any(|p| close(p, was) && at(p) < at(recorded)),
            "{was} before {is}: {history}"
        );
        let parent = okrs
            .iter()
            .find(|o| o["id"] == now["parent_id"])
            .unwrap_or_else(|| panic!("no parent: {now}"));
        let history = api
            .get(&format!("/api/v1/okrs/{}/history", parent["id"]))
            .await;
        assert!(
            history
                .as_array()
                .expect("history")
                .iter()
                .any(|p| { p["source"] == "roll_up" && close(p, percent(parent)) }),
            "{parent}: {history}"
        );
    }
    assert!(moved > 0, "a key result moved");

    // Sync: the simulator's changes to the checkout project's issues reach
    // Jira (a closed issue's status, a ticked task in a description) by
    // webhook.
    let operations = demo.synced_pair().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let ops = api.get(&operations).await;
        let ops = ops.as_array().expect("operations");
        assert!(ops.iter().all(|o| o["state"] != "failed"), "{ops:?}");
        let creates = ops.iter().filter(|o| o["kind"] == "create").count();
        assert_eq!(creates, 7, "one twin per issue, in Jira: {ops:?}");
        assert!(
            ops.iter()
                .filter(|o| o["kind"] == "create")
                .all(|o| o["side"] == "right")
        );
        if ops
            .iter()
            .any(|o| o["kind"] != "create" && o["side"] == "right" && o["state"] == "done")
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "no change carried to Jira in 60 s: {ops:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }

    demo.stop().await;
}

#[test]
fn demo_refuses_a_data_directory_that_is_not_its_own() {
    let data = tempfile::tempdir().expect("tempdir");
    std::fs::write(data.path().join("cairn.db"), "real data").expect("write");
    let output = std::process::Command::new(binary())
        .args(["demo", "--bind", "127.0.0.1:0", "--data-dir"])
        .arg(data.path())
        .output()
        .expect("runs");
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--data-dir"), "{stderr}");
    assert_eq!(
        std::fs::read_to_string(data.path().join("cairn.db"))
            .ok()
            .as_deref(),
        Some("real data"),
        "nothing is deleted"
    );
}
