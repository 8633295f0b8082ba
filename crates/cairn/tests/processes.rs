//! Real `cairn` processes: two servers sharing PostgreSQL run every job
//! exactly once; a server stops cleanly on SIGTERM; bad configuration,
//! busy ports and unknown schemas are refused with a clear message.

use std::collections::HashMap;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

use cairn::process::ServeProcess;
use cairn_store::testing::TestDb;
use cairn_store::{JobState, NewJob};
use chrono::Utc;
use serde_json::json;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cairn"))
}

/// Job ids the log says ran, with how often.
fn runs(lines: &[String]) -> HashMap<i64, u32> {
    let mut runs = HashMap::new();
    for line in lines {
        let Ok(event) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if event["message"] == "job ran"
            && let Some(id) = event["job_id"].as_i64()
        {
            *runs.entry(id).or_insert(0) += 1;
        }
    }
    runs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_servers_on_postgres_run_every_job_exactly_once() {
    let db = TestDb::postgres().await;
    let store = db.store().await;
    let data = tempfile::tempdir().expect("tempdir");
    let data_dir = data.path().to_str().expect("path");
    let args = ["--database-url", db.url.as_str(), "--data-dir", data_dir];
    let log = "warn,cairn::jobs=debug";
    let first = ServeProcess::start(binary(), &args, log, &[])
        .await
        .expect("first server");
    let second = ServeProcess::start(binary(), &args, log, &[])
        .await
        .expect("second server");

    let count = 3000;
    let now = Utc::now();
    let mut ids = Vec::new();
    for chunk in 0..(count / 500) {
        let mut tx = store.begin().await.expect("begin");
        for n in 0..500 {
            let job = NewJob::new("noop", json!({ "n": chunk * 500 + n }), now);
            ids.push(tx.enqueue(&job, now).await.expect("enqueue").expect("id"));
        }
        tx.commit().await.expect("commit");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    loop {
        let counts = store.job_counts().await.expect("counts");
        if counts.get(JobState::Done) == count as u64 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "not all jobs done: {counts:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let (status_a, lines_a) = first.terminate().await.expect("stop first");
    let (status_b, lines_b) = second.terminate().await.expect("stop second");
    assert!(status_a.success() && status_b.success());

    let runs_a = runs(&lines_a);
    let runs_b = runs(&lines_b);
    assert!(
        !runs_a.is_empty() && !runs_b.is_empty(),
        "both servers worked: {} and {}",
        runs_a.len(),
        runs_b.len()
    );
    for id in &ids {
        let total = runs_a.get(id).unwrap_or(&0) + runs_b.get(id).unwrap_or(&0);
        assert_eq!(total, 1, "job {id} ran {total} times");
    }
    assert_eq!(runs_a.len() + runs_b.len(), ids.len(), "nothing else ran");
    for job in store
        .list_jobs(Some(JobState::Done), count as u32)
        .await
        .expect("list")
    {
        assert_eq!(job.attempts, 1, "job {} was claimed more than once", job.id);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_a_server_cleanly() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let server = ServeProcess::start(
        binary(),
        &["--data-dir", data.to_str().expect("path")],
        "info",
        &[],
    )
    .await
    .expect("server");
    let body = reqwest::get(format!("http://{}/readyz", server.address))
        .await
        .expect("readyz")
        .text()
        .await
        .expect("body");
    assert!(body.contains("\"ready\""), "{body}");
    let (status, lines) = server.terminate().await.expect("stop");
    assert!(status.success(), "exit status {status}");
    assert!(
        lines.iter().any(|l| l.contains("shut down cleanly")),
        "{lines:?}"
    );
    assert!(
        data.join("cairn.db").exists(),
        "SQLite in the data directory"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&data)
            .expect("data dir")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "data directory is private");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_is_not_held_up_by_an_open_live_page() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let password = "correct horse battery staple";
    let server = ServeProcess::start(
        binary(),
        &["--data-dir", data.to_str().expect("path")],
        "info",
        &[
            ("CAIRN_ADMIN_EMAIL", "admin@example.com"),
            ("CAIRN_ADMIN_PASSWORD", password),
        ],
    )
    .await
    .expect("server");
    let client = reqwest::Client::new();
    let signed_in = client
        .post(format!("http://{}/api/v1/session", server.address))
        .json(&json!({"email": "admin@example.com", "password": password}))
        .send()
        .await
        .expect("sign in");
    assert!(signed_in.status().is_success(), "{}", signed_in.status());
    let cookie = signed_in.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    // A page's event stream, open (it would last five minutes).
    let mut live = client
        .get(format!("http://{}/live?ids=", server.address))
        .header("cookie", cookie)
        .send()
        .await
        .expect("stream");
    assert_eq!(live.headers()["content-type"], "text/event-stream");
    let started = std::time::Instant::now();
    let (status, lines) = server.terminate().await.expect("stop");
    assert!(status.success(), "exit status {status}");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "stopped in {:?}",
        started.elapsed()
    );
    assert!(
        lines.iter().any(|l| l.contains("shut down cleanly")),
        "{lines:?}"
    );
    // The stream ended rather than being cut mid-way.
    let rest = tokio::time::timeout(Duration::from_secs(5), async {
        while let Ok(Some(_)) = live.chunk().await {}
    })
    .await;
    assert!(rest.is_ok(), "the stream ended");
}

fn cairn(args: &[&str], envs: &[(&str, &str)], dir: &Path) -> (i32, String, String) {
    let output = Command::new(binary())
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(dir)
        .output()
        .expect("run cairn");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[test]
fn bad_configuration_exits_2_naming_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = cairn(
        &["serve"],
        &[("CAIRN_JOB_CONCURRENCY", "plenty")],
        dir.path(),
    );
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`job_concurrency`") && err.contains("CAIRN_JOB_CONCURRENCY"),
        "{err}"
    );

    std::fs::write(dir.path().join("cairn.toml"), "bind = 8080\n").expect("write");
    let (code, _, err) = cairn(&["serve"], &[], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("`bind`") && err.contains("cairn.toml"),
        "{err}"
    );

    let (code, _, err) = cairn(&["serve", "--log-format", "xml"], &[], dir.path());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--log-format"), "{err}");
}

#[test]
fn unknown_keys_warn_but_do_not_stop_migrate() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("cairn.toml"), "colour = \"blue\"\n").expect("write");
    let (code, out, err) = cairn(&["migrate"], &[], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("unknown key `colour`"), "{err}");
    assert!(out.contains("migrated from version 0 to"), "{out}");
    let (code, out, _) = cairn(&["migrate", "--check"], &[], dir.path());
    assert_eq!(code, 0);
    assert!(out.contains("schema is current"), "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_port_is_reported() {
    let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = holder.local_addr().expect("addr").port();
    let dir = tempfile::tempdir().expect("tempdir");
    let addr = format!("127.0.0.1:{port}");
    let (code, _, err) = cairn(&["serve", "--bind", &addr], &[], dir.path());
    assert_eq!(code, 1);
    assert!(
        err.contains(&format!("cannot listen on {addr}")) && err.contains("in use"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused_and_not_modified() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = cairn(&["migrate"], &[], dir.path());
    assert_eq!(code, 0, "{err}");
    let db = dir.path().join("cairn-data/cairn.db");
    let url = format!("sqlite://{}", db.display());
    let pool = sqlx::SqlitePool::connect(&url).await.expect("connect");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from the future', true, x'00', 0)",
    )
    .execute(&pool)
    .await
    .expect("insert");
    pool.close().await;
    let before = std::fs::read(&db).expect("read");
    for args in [&["migrate"][..], &["serve"][..]] {
        let (code, _, err) = cairn(args, &[], dir.path());
        assert_eq!(code, 1, "{args:?}: {err}");
        assert!(
            err.contains("newer than this Cairn knows") && err.contains("99990101000000"),
            "{err}"
        );
    }
    assert_eq!(
        std::fs::read(&db).expect("read"),
        before,
        "database file unchanged"
    );
}

#[test]
fn admin_commands_work_on_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (code, _, err) = cairn(&["admin", "jobs", "list"], &[], dir.path());
    assert_eq!(code, 1, "an unmigrated database is refused");
    assert!(err.contains("cairn migrate"), "{err}");
    cairn(&["migrate"], &[], dir.path());
    let (code, out, err) = cairn(&["admin", "jobs", "noop", "--count", "3"], &[], dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("enqueued 3"));
    let (_, out, _) = cairn(
        &["admin", "jobs", "list", "--state", "queued"],
        &[],
        dir.path(),
    );
    assert!(out.contains("queued 3"), "{out}");
    assert_eq!(
        out.lines().filter(|l| l.contains(" noop ")).count(),
        3,
        "{out}"
    );
    let (code, _, err) = cairn(&["admin", "jobs", "retry", "1"], &[], dir.path());
    assert_eq!(code, 1);
    assert!(err.contains("only dead jobs"), "{err}");
    let (_, out, _) = cairn(&["admin", "audit"], &[], dir.path());
    assert!(out.contains("job.noop_enqueued"), "{out}");
    let (code, _, err) = cairn(
        &["admin", "jobs", "list", "--state", "sleeping"],
        &[],
        dir.path(),
    );
    assert_eq!(code, 2);
    assert!(err.contains("not a job state"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cairn_sim_serves_gitlab_and_jira() {
    use tokio::io::AsyncBufReadExt;
    let mut child = tokio::process::Command::new(binary())
        .args([
            "sim",
            "--gitlab-addr",
            "127.0.0.1:0",
            "--jira-addr",
            "127.0.0.1:0",
        ])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("start cairn sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut lines = tokio::io::BufReader::new(stdout).lines();
    let mut urls = Vec::new();
    while urls.len() < 2 {
        let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
            .await
            .expect("sim prints its URLs")
            .expect("read")
            .expect("a line");
        if let Some(url) = line
            .split_whitespace()
            .nth(1)
            .filter(|u| u.starts_with("http://"))
        {
            urls.push(url.to_owned());
        }
    }
    let client = reqwest::Client::new();
    let user: serde_json::Value = client
        .get(format!("{}/api/v4/user", urls[0]))
        .header("PRIVATE-TOKEN", cairn_sim::DEFAULT_GITLAB_TOKEN)
        .send()
        .await
        .expect("GitLab answers")
        .json()
        .await
        .expect("JSON");
    assert!(user["username"].is_string(), "{user}");
    let info: serde_json::Value = client
        .get(format!("{}/rest/api/2/serverInfo", urls[1]))
        .basic_auth(
            cairn_sim::DEFAULT_JIRA_EMAIL,
            Some(cairn_sim::DEFAULT_JIRA_API_TOKEN),
        )
        .send()
        .await
        .expect("Jira answers")
        .json()
        .await
        .expect("JSON");
    assert_eq!(info["deploymentType"], "Cloud");
    child.kill().await.expect("stop sim");
}

fn cairn_with_stdin(args: &[&str], stdin: &str, dir: &Path) -> (i32, String, String) {
    use std::io::Write;
    let mut child = Command::new(binary())
        .args(args)
        .current_dir(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run cairn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let output = child.wait_with_output().expect("wait");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_admin_from_the_cli_and_key_rotation_across_restarts() {
    let dir = tempfile::tempdir().expect("tempdir");
    cairn(&["migrate"], &[], dir.path());
    let password = "first admin's password";
    let (code, out, err) = cairn_with_stdin(
        &[
            "admin",
            "create-user",
            "--email",
            "boss@example.com",
            "--admin",
        ],
        &format!("{password}\n"),
        dir.path(),
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("created admin boss@example.com"), "{out}");
    let (code, _, err) = cairn_with_stdin(
        &["admin", "create-user", "--email", "BOSS@example.com"],
        "another password!!\n",
        dir.path(),
    );
    assert_eq!(code, 1);
    assert!(err.contains("email is already taken"), "{err}");

    let sim = cairn_sim::start(cairn_sim::SimConfig::default())
        .await
        .expect("simulator");
    let data = dir.path().join("cairn-data");
    let args = ["--data-dir", data.to_str().expect("path")];
    let client = reqwest::Client::new();
    let server = ServeProcess::start(binary(), &args, "info", &[])
        .await
        .expect("server");
    let base = format!("http://{}", server.address);
    let login = client
        .post(format!("{base}/api/v1/session"))
        .json(&json!({"email": "boss@example.com", "password": password}))
        .send()
        .await
        .expect("login");
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .expect("cookie")
        .split(';')
        .next()
        .expect("pair")
        .to_owned();
    let login: serde_json::Value = login.json().await.expect("json");
    assert_eq!(login["user"]["role"], "admin", "{login}");
    let created: serde_json::Value = client
        .post(format!("{base}/api/v1/me/tokens"))
        .header("cookie", &cookie)
        .header("x-csrf-token", login["csrf_token"].as_str().expect("csrf"))
        .json(&json!({"name": "test"}))
        .send()
        .await
        .expect("token")
        .json()
        .await
        .expect("json");
    let token = created["value"].as_str().expect("token").to_owned();
    let connection: serde_json::Value = client
        .post(format!("{base}/api/v1/connections"))
        .bearer_auth(&token)
        .json(&json!({"kind": "gitlab", "name": "sim", "base_url": sim.gitlab_url(), "auth_kind": "private_token", "secret": cairn_sim::DEFAULT_GITLAB_TOKEN}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let id = connection["id"].as_i64().expect("id");
    let test = |base: String| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let outcome: serde_json::Value = client
                .post(format!("{base}/api/v1/connections/{id}/test"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("test")
                .json()
                .await
                .expect("json");
            outcome
        }
    };
    assert_eq!(test(base.clone()).await["ok"], true);
    // A signed notification channel: its URL and secret are sealed too.
    let channel: serde_json::Value = client
        .post(format!("{base}/api/v1/channels"))
        .bearer_auth(&token)
        .json(&json!({"name": "hook", "kind": "webhook", "url": "https://hooks.invalid/cairn"}))
        .send()
        .await
        .expect("create")
        .json()
        .await
        .expect("json");
    let channel_id = channel["id"].as_i64().expect("channel");
    let test_channel = |base: String| {
        let client = client.clone();
        let token = token.clone();
        async move {
            let attempt: serde_json::Value = client
                .post(format!("{base}/api/v1/channels/{channel_id}/test"))
                .bearer_auth(&token)
                .send()
                .await
                .expect("test")
                .json()
                .await
                .expect("json");
            attempt["error"].as_str().unwrap_or_default().to_owned()
        }
    };
    // The URL was opened (the name just does not resolve here).
    assert!(test_channel(base.clone()).await.contains("hooks.invalid"));

    // Rotation while the server runs: it keeps working, then after a restart.
    let (code, out, err) = cairn_with_stdin(&["admin", "rotate-key"], "", dir.path());
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("2 re-encrypted") && out.contains("retired keys: k"),
        "{out}"
    );
    assert!(
        test_channel(base.clone()).await.contains("hooks.invalid"),
        "the channel's URL opens under the new key"
    );
    assert_eq!(
        test(base.clone()).await["ok"],
        true,
        "the running server read the new key"
    );
    server.terminate().await.expect("stop");
    let server = ServeProcess::start(binary(), &args, "info", &[])
        .await
        .expect("restart");
    assert_eq!(
        test(format!("http://{}", server.address)).await["ok"],
        true,
        "after a restart"
    );
    server.terminate().await.expect("stop");
    sim.shutdown().await;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(data.join("master.key"))
            .expect("key file")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
