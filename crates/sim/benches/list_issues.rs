//! Lists a 100,000-issue project at 100 per page through the HTTP API and
//! reports issues per second. Server and client share one thread
//! (a current-thread runtime), so the number is a one-core number.
//!
//! Run: `cargo bench -p cairn-sim --bench list_issues`

use std::time::Instant;

use cairn_sim::{DataSource, SimConfig};

fn main() {
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot build runtime: {e}");
            std::process::exit(1);
        }
    };
    rt.block_on(run());
}

async fn run() {
    let issues: u64 = std::env::var("SIM_BENCH_ISSUES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let spec = format!("projects=1,issues={issues},users=20,jira_projects=0,seed=42");
    let t = Instant::now();
    let sim = cairn_sim::start(SimConfig {
        data: DataSource::Generate(spec.parse().expect("valid spec")),
        ..SimConfig::default()
    })
    .await
    .expect("simulator starts");
    println!("seeded {issues} issues in {:.2?}", t.elapsed());
    let client = reqwest::Client::new();
    let base = format!(
        "{}/api/v4/projects/acme%2Fproject-1/issues",
        sim.gitlab_url()
    );
    for mode in ["offset", "keyset"] {
        let t = Instant::now();
        let mut total = 0u64;
        let mut bytes = 0usize;
        let mut page = 1;
        let mut next = Some(match mode {
            "offset" => format!("{base}?per_page=100&page=1"),
            _ => format!("{base}?pagination=keyset&per_page=100&order_by=id&sort=asc"),
        });
        while let Some(url) = next.take() {
            let r = client
                .get(&url)
                .header("PRIVATE-TOKEN", cairn_sim::DEFAULT_GITLAB_TOKEN)
                .send()
                .await
                .expect("request");
            let h = r.headers().clone();
            let body = r.bytes().await.expect("body");
            bytes += body.len();
            let items: Vec<serde::de::IgnoredAny> =
                serde_json::from_slice(&body).expect("json array");
            total += items.len() as u64;
            next = if mode == "offset" {
                let n = h
                    .get("x-next-page")
                    .and_then(|v| v.to_str().ok())
                    .unwrap_or("");
                (!n.is_empty()).then(|| {
                    page += 1;
                    format!("{base}?per_page=100&page={page}")
                })
            } else {
                h.get("link")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|l| l.split(';').next())
                    .map(|u| {
                        u.trim()
                            .trim_start_matches('<')
                            .trim_end_matches('>')
                            .to_string()
                    })
            };
        }
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(total, issues, "{mode}: every issue listed once");
        println!(
            "{mode}: {total} issues in {secs:.2} s = {:.0} issues/s ({:.1} MB of JSON, client checks the JSON array)",
            total as f64 / secs,
            bytes as f64 / 1e6
        );
    }
    sim.shutdown().await;
}
