//! Suggestions for 1,000 people x 30 days (the issue's benchmark): each
//! person has three sessions a day of six activities over two or three Jira
//! keys and a GitLab issue, in one of four time zones; every person's
//! activities are turned into suggestions with `worklogs::suggest`.
//!
//! Run: `cargo bench -p cairn-core --bench suggestions`
//! (`SUGGEST_BENCH_PEOPLE=N` and `SUGGEST_BENCH_DAYS=N` change the size.)

use std::time::Instant;

use cairn_core::activity::{JiraKey, Target};
use cairn_core::worklogs::{TimedActivity, WorklogSettings, parse_time_zone, suggest};
use chrono::{Duration, TimeZone, Utc};

fn main() {
    let people: i64 = std::env::var("SUGGEST_BENCH_PEOPLE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    let days: i64 = std::env::var("SUGGEST_BENCH_DAYS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(30);
    let zones = [
        "America/Los_Angeles",
        "Asia/Kolkata",
        "Europe/Berlin",
        "UTC",
    ]
    .map(|z| parse_time_zone(z).expect("zone"));
    let keys: Vec<Option<Target>> = ["AE-12", "AE-13", "OPS-7"]
        .iter()
        .map(|k| Some(Target::jira(JiraKey::parse(k).expect("key"))))
        .chain([
            Some(Target::GitLabIssue {
                project: "northwind/checkout".into(),
                iid: 12,
            }),
            None,
        ])
        .collect();
    let start = Utc
        .with_ymd_and_hms(2026, 11, 1, 6, 0, 0)
        .single()
        .expect("start");
    let t = Instant::now();
    let mut everyone = Vec::with_capacity(people as usize);
    let mut id = 0i64;
    for person in 0..people {
        let mut activities = Vec::with_capacity((days * 18) as usize);
        for day in 0..days {
            for session in 0..3i64 {
                let begin = start
                    + Duration::days(day)
                    + Duration::hours(session * 4 + person % 5)
                    + Duration::minutes(person % 60);
                for n in 0..6i64 {
                    id += 1;
                    activities.push(TimedActivity {
                        id,
                        at: begin + Duration::minutes(n * 17),
                        target: keys
                            [((person + day + session + n / 2) % keys.len() as i64) as usize]
                            .clone(),
                    });
                }
            }
        }
        everyone.push((zones[(person % 4) as usize], activities));
    }
    let generated = t.elapsed();
    let settings = WorklogSettings::default();
    let t = Instant::now();
    let mut suggestions = 0usize;
    let mut minutes = 0u64;
    for (zone, activities) in &everyone {
        for s in suggest(&settings, *zone, activities) {
            suggestions += 1;
            minutes += u64::from(s.minutes);
        }
    }
    let elapsed = t.elapsed();
    println!(
        "{people} people x {days} days: {id} activities generated in {generated:.2?}; \
         {suggestions} suggestions ({minutes} min) computed in {elapsed:.2?}"
    );
}
