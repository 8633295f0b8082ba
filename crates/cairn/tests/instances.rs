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

fn assert_complete(report: &Report, plan: &Plan) {
    let steps = plan.issues_per_kr as usize;
    for (n, history) in report.histories.iter().enumerate() {
        // 0 %, then one point per issue closed: none twice, none missing.
        let expected: Vec<f64> = (0..=steps)
            .map(|i| 100.0 * i as f64 / steps as f64)
            .collect();
        assert_eq!(history, &expected, "key result {n}");
    }
    assert_eq!(report.objective_percent, Some(100.0));
    assert_eq!(report.unanswered, 0, "every delivery was answered");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_instances_record_the_histories_of_one_even_when_one_is_killed() {
    let one = run_on_fresh_database(&plan(1, false)).await;
    assert_complete(&one, &plan(1, false));
    assert!(one.errors.is_empty(), "{:?}", one.errors);

    let three = run_on_fresh_database(&plan(3, false)).await;
    assert_complete(&three, &plan(3, false));
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

    let killed = run_on_fresh_database(&plan(3, true)).await;
    assert_complete(&killed, &plan(3, true));
    assert!(
        differences(&one, &killed).is_empty(),
        "{:?}",
        differences(&one, &killed)
    );
}

/// A bearer token of a new admin, and a check-in key result.
async fn token_and_check_in_kr(cluster: &Cluster) -> (String, i64) {
    use cairn_core::goals::{Measure, ProgressSource};
    use cairn_engine::goals::OkrInput;
    use cairn_store::goals::OkrKind;
    let state = cluster.state().await.expect("state");
    let now = chrono::Utc::now();
    let user = state
        .accounts
        .create_user(
            None,
            "live@example.com",
            "Live",
            cairn_core::authz::Role::Admin,
            "a long enough password",
            now,
        )
        .await
        .expect("user");
    let admin = cairn_engine::accounts::Authenticated {
        user,
        session: None,
    };
    let (_, token) = state
        .accounts
        .create_api_token(&admin, "live", now)
        .await
        .expect("token");
    let today = now.date_naive();
    let period = state
        .goals
        .create_period(
            &admin,
            "Live",
            today - chrono::Duration::days(10),
            today + chrono::Duration::days(80),
            now,
        )
        .await
        .expect("period")
        .id;
    let kr = state
        .goals
        .create_okr(
            &admin,
            OkrInput {
                kind: OkrKind::KeyResult,
                title: "Checked in".into(),
                description: String::new(),
                owner_id: None,
                period_id: period,
                parent_id: None,
                starts_on: None,
                due_on: None,
                measure: Measure::PercentComplete,
                weight: None,
                contributes: None,
                progress_source: ProgressSource::CheckIn,
            },
            now,
        )
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
