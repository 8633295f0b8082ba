//! Several `cairn serve` processes on one PostgreSQL database behave as
//! one: the same histories as one process, with one of them SIGKILLed
//! half-way, a live page on one instance following a change made through
//! another, a PostgreSQL restart survived, and an older binary refusing a
//! newer schema.

use std::path::Path;
use std::time::Duration;

use cairn::instances::{Cluster, Plan, Report, differences, run};
use cairn_store::testing::TestDb;

fn binary() -> &'static Path {
    Path::new(env!("CARGO_BIN_EXE_cairn"))
}

fn plan(instances: usize, kill_one: bool) -> Plan {
    Plan {
        instances,
        key_results: 50,
        issues_per_kr: 4,
        projects: 5,
        change_interval: Duration::from_millis(400),
        kill_one,
        lease_secs: 2,
    }
}

async fn run_on_fresh_database(plan: &Plan) -> Report {
    let db = TestDb::postgres().await;
    run(binary(), &db.url, plan)
        .await
        .unwrap_or_else(|e| panic!("{plan:?}: {e:#}"))
}

/// 0 %, then one point per issue closed: none twice, none missing.
fn expected_history(plan: &Plan) -> Vec<f64> {
    let steps = plan.issues_per_kr as usize;
    (0..=steps)
        .map(|i| 100.0 * i as f64 / steps as f64)
        .collect()
}

fn assert_complete(what: &str, report: &Report, plan: &Plan) {
    let expected = expected_history(plan);
    for (n, history) in report.histories.iter().enumerate() {
        assert_eq!(history, &expected, "{what}: key result {n}");
    }
    assert_eq!(report.objective_percent, Some(100.0), "{what}");
    assert_eq!(report.unanswered, 0, "{what}: every delivery was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_record_the_histories_of_one_even_when_one_is_killed() {
    let one = run_on_fresh_database(&plan(1, false)).await;
    assert_complete("one instance", &one, &plan(1, false));
    assert!(one.errors.is_empty(), "{:?}", one.errors);
    // Without a fault no change is found still pending by the next.
    assert_eq!(one.mended, 0, "one instance");

    let three = run_on_fresh_database(&plan(3, false)).await;
    assert_complete("three instances", &three, &plan(3, false));
    assert!(
        differences(&one, &three).is_empty(),
        "{:?}",
        differences(&one, &three)
    );
    assert!(
        three.per_instance.iter().all(|n| *n > 0),
        "every instance took deliveries: {:?}",
        three.per_instance
    );
    assert!(three.errors.is_empty(), "{:?}", three.errors);
    assert_eq!(three.mended, 0, "three instances");

    // A change whose items the killed instance committed but whose point
    // it did not is recorded before the next change (or by its retry):
    // the same histories still, no step folded into the next.
    let killed = run_on_fresh_database(&plan(3, true)).await;
    eprintln!(
        "three, one killed: {} point(s) of changes in flight recorded after the kill",
        killed.mended
    );
    assert_complete("three, one killed", &killed, &plan(3, true));
    assert!(
        differences(&one, &killed).is_empty(),
        "{:?}",
        differences(&one, &killed)
    );
}

/// A bearer token of a new admin, and a check-in key result.
async fn token_and_check_in_kr(cluster: &Cluster) -> (String, i64) {
    use cairn_core::goals::ProgressSource;
    use cairn_store::goals::OkrKind;
    let state = cluster.state().await.expect("state");
    let (admin, token, period) = cairn::instances::admin_with_token(&state, "live@example.com")
        .await
        .expect("admin");
    let input = cairn::instances::percent_okr(
        OkrKind::KeyResult,
        "Checked in",
        period,
        None,
        ProgressSource::CheckIn,
    );
    let kr = state
        .goals
        .create_okr(&admin, input, chrono::Utc::now())
        .await
        .expect("kr")
        .id;
    state.store.close().await;
    (token.expose().to_owned(), kr)
}

/// Reads the event stream until a chunk contains `needle`.
async fn until_event(
    body: &mut reqwest::Response,
    needle: &str,
    limit: Duration,
) -> Result<String, String> {
    let mut seen = String::new();
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let next = tokio::time::timeout_at(deadline, body.chunk()).await;
        match next {
            Ok(Ok(Some(chunk))) => {
                seen.push_str(&String::from_utf8_lossy(&chunk));
                if seen.contains(needle) {
                    return Ok(seen);
                }
            }
            Ok(_) => return Err(format!("stream ended: {seen}")),
            Err(_) => return Err(format!("not within {limit:?}: {seen}")),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_on_one_instance_sees_a_change_made_through_another_within_a_second() {
    let db = TestDb::postgres().await;
    let cluster = Cluster::start(binary(), &db.url, 2, 60)
        .await
        .expect("two instances");
    let (token, kr) = token_and_check_in_kr(&cluster).await;
    let (a, b) = (
        cluster.address(0).expect("a"),
        cluster.address(1).expect("b"),
    );
    let client = reqwest::Client::new();
    let response = client
        .get(format!("http://{a}/live?ids={kr}"))
        .bearer_auth(&token)
        .send()
        .await
        .expect("live on A");
    assert!(response.status().is_success(), "{}", response.status());
    let mut body = response;
    // The first event: every bar as it is (no progress yet).
    until_event(&mut body, "event: progress", Duration::from_secs(5))
        .await
        .expect("first event");
    for value in [40.0, 70.0] {
        let sent = tokio::time::Instant::now();
        let reply = client
            .post(format!("http://{b}/api/v1/okrs/{kr}/check-ins"))
            .bearer_auth(&token)
            .json(&serde_json::json!({"value": value, "note": "through B"}))
            .send()
            .await
            .expect("check in on B");
        assert!(reply.status().is_success(), "{}", reply.status());
        let seen = until_event(
            &mut body,
            &format!("\"width\":\"{value:.0}\""),
            Duration::from_secs(1),
        )
        .await
        .expect("A's page shows B's change within a second");
        assert!(sent.elapsed() < Duration::from_secs(1), "{seen}");
    }
    drop(body);
    let errors = cluster.stop().await.expect("stop");
    assert!(errors.is_empty(), "{errors:?}");
}

/// A PostgreSQL server of this test's own (`initdb` into a temporary
/// directory, a free port), so stopping and starting it harms no other
/// test on the shared server. Fails, never skips, when it cannot.
struct OwnPostgres {
    dir: tempfile::TempDir,
    bin: std::path::PathBuf,
    port: u16,
    as_postgres: bool,
}

impl OwnPostgres {
    fn start() -> OwnPostgres {
        use std::os::unix::fs::MetadataExt;
        let bin = std::env::var_os("CAIRN_TEST_PG_BIN")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                let mut found: Vec<_> = std::fs::read_dir("/usr/lib/postgresql")
                    .ok()?
                    .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
                    .filter(|p| p.join("initdb").exists())
                    .collect();
                found.sort();
                found.pop()
            })
            .expect("PostgreSQL's initdb (in /usr/lib/postgresql/*/bin, or CAIRN_TEST_PG_BIN)");
        let dir = tempfile::tempdir().expect("tempdir");
        // initdb refuses to run as root: then the server runs as `postgres`.
        let as_postgres = std::fs::metadata(dir.path()).expect("stat").uid() == 0;
        if as_postgres {
            let id = |flag: &str| -> u32 {
                let out = std::process::Command::new("id")
                    .args([flag, "postgres"])
                    .output()
                    .expect("id postgres");
                String::from_utf8_lossy(&out.stdout)
                    .trim()
                    .parse()
                    .expect("the postgres user's ids")
            };
            std::os::unix::fs::chown(dir.path(), Some(id("-u")), Some(id("-g")))
                .expect("chown the server's directory");
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .expect("a free port")
            .local_addr()
            .expect("addr")
            .port();
        let pg = OwnPostgres {
            dir,
            bin,
            port,
            as_postgres,
        };
        let data = pg.data();
        pg.run(
            "initdb",
            &["-D", &data, "-U", "postgres", "-A", "trust", "--no-sync"],
        );
        pg.start_again();
        pg
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let out = command.args(args).output().expect("run a PostgreSQL tool");
        assert!(
            out.status.success(),
            "{tool} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn start_again(&self) {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off",
            self.port,
            self.dir.path().display()
        );
        let log = self.dir.path().join("server.log").display().to_string();
        let data = self.data();
        self.run(
            "pg_ctl",
            &["-D", &data, "-l", &log, "-w", "-o", &options, "start"],
        );
    }

    fn stop(&self) {
        let data = self.data();
        self.run("pg_ctl", &["-D", &data, "-m", "fast", "-w", "stop"]);
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let data = self.data();
        let program = self.bin.join("pg_ctl");
        let mut command = if self.as_postgres {
            let mut c = std::process::Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            std::process::Command::new(&program)
        };
        let _ = command
            .args(["-D", &data, "-m", "immediate", "stop"])
            .output();
    }
}

async fn readyz(address: std::net::SocketAddr) -> Option<u16> {
    reqwest::Client::new()
        .get(format!("http://{address}/readyz"))
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_database_restart_under_load_is_survived_by_every_instance() {
    let pg = OwnPostgres::start();
    let plan = Plan {
        instances: 2,
        key_results: 20,
        issues_per_kr: 4,
        projects: 4,
        change_interval: Duration::from_millis(800),
        kill_one: false,
        lease_secs: 2,
    };
    let pg = &pg;
    let report = cairn::instances::run_with(binary(), &pg.url(), &plan, |addresses| async move {
        tokio::task::block_in_place(|| pg.stop());
        // Every instance says it is not ready while the database is down...
        for address in &addresses {
            let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
            while readyz(*address).await != Some(503) {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "{address} still ready with the database down"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        // ... and stays up (no crash loop) while changes keep coming.
        tokio::time::sleep(Duration::from_secs(2)).await;
        for address in &addresses {
            assert_eq!(readyz(*address).await, Some(503), "{address}");
        }
        tokio::task::block_in_place(|| pg.start_again());
        for address in &addresses {
            cairn::instances::wait_ready(*address, Duration::from_secs(30)).await?;
        }
        Ok(())
    })
    .await
    .unwrap_or_else(|e| panic!("{e:#}"));
    // The changes made while the database was down arrived once it was
    // back, each with its own point: the history of one process.
    eprintln!(
        "database restarted: {} point(s) of changes in flight recorded afterwards",
        report.mended
    );
    assert_complete("database restarted", &report, &plan);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_older_binary_refuses_a_newer_postgres_schema_and_says_why() {
    let db = TestDb::postgres().await;
    let store = db.store().await;
    store.migrate().await.expect("migrate");
    let pool = sqlx::PgPool::connect(&db.url).await.expect("connect");
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (99990101000000, 'from a newer Cairn', true, '\\x00', 0)",
    )
    .execute(&pool)
    .await
    .expect("a migration from the future");
    let data = tempfile::tempdir().expect("tempdir");
    let started = cairn::process::ServeProcess::start(
        binary(),
        &[
            "--database-url",
            &db.url,
            "--data-dir",
            data.path().to_str().expect("path"),
        ],
        "info",
        &[],
    )
    .await;
    let Err(error) = started else {
        panic!("an older binary started against a newer schema");
    };
    let message = format!("{error:#}");
    assert!(
        message.contains("newer than this Cairn knows") && message.contains("99990101000000"),
        "{message}"
    );
    // Nothing was changed: the future migration is still the newest.
    let newest: i64 = sqlx::query_scalar("SELECT MAX(version) FROM _sqlx_migrations")
        .fetch_one(&pool)
        .await
        .expect("read");
    assert_eq!(newest, 99990101000000);
    pool.close().await;
}
