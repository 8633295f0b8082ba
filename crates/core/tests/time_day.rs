//! A scripted day of GitLab activity for three people, one in Los Angeles
//! (UTC-8 in December), one in Kolkata (UTC+5:30), one at UTC, taken
//! through the public pipeline the engine uses: reports from hooks and the
//! Events API backstop -> deduplicate -> match to a person -> target and
//! instant -> suggestions. The expected suggestions are worked out by hand
//! in the comments.
//!
//! Also: the size of the result for 1,000 people x 30 days (the benchmark's
//! input; timing is the benchmark's job, not this test's).

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Tz;

use cairn_core::activity::{
    Activity, ActivityDetail, ActivityPerson, ActivityProject, CommentActivity, CommentOn,
    CommitActivity, DropReason, IssueAction, IssueActivity, JiraKey, MergeRequestAction,
    MergeRequestActivity, Target, deduplicate,
};
use cairn_core::worklogs::{Suggestion, TimedActivity, WorklogSettings, suggest};

const ANA: &str = "ana@northwind.example";
const RAVI: &str = "ravi@northwind.example";
const UMA: &str = "uma@northwind.example";

struct Person {
    gitlab_user_id: u64,
    email: &'static str,
    zone: Tz,
}

fn people() -> [Person; 3] {
    [
        Person {
            gitlab_user_id: 11,
            email: ANA,
            zone: chrono_tz::America::Los_Angeles,
        },
        Person {
            gitlab_user_id: 12,
            email: RAVI,
            zone: chrono_tz::Asia::Kolkata,
        },
        Person {
            gitlab_user_id: 13,
            email: UMA,
            zone: chrono_tz::UTC,
        },
    ]
}

fn project() -> ActivityProject {
    ActivityProject {
        id: 7,
        path: "northwind/checkout".into(),
    }
}

/// Local wall-clock time on December `day`, 2026, in `zone`.
fn local(zone: Tz, day: u32, h: u32, m: u32) -> DateTime<Utc> {
    zone.with_ymd_and_hms(2026, 12, day, h, m, 0)
        .single()
        .expect("an unambiguous local time")
        .with_timezone(&Utc)
}

fn commit(
    email: &str,
    sha: &str,
    message: &str,
    branch: &str,
    authored: DateTime<Utc>,
) -> Activity {
    Activity {
        person: ActivityPerson {
            gitlab_user_id: None,
            email: Some(email.into()).filter(|e: &String| !e.is_empty()),
        },
        project: project(),
        detail: ActivityDetail::Commit(CommitActivity {
            sha: sha.into(),
            author_name: email.split('@').next().unwrap_or("").into(),
            author_email: email.into(),
            authored_at: authored,
            committed_at: authored,
            message: message.into(),
            branch: Some(branch.into()),
        }),
    }
}

/// The same commit after a rebase: new SHA and committer date, same
/// author date and message.
fn rebased(original: &Activity, sha: &str, committed: DateTime<Utc>) -> Activity {
    let mut copy = original.clone();
    if let ActivityDetail::Commit(c) = &mut copy.detail {
        c.sha = sha.into();
        c.committed_at = committed;
    }
    copy
}

fn by_user(id: u64) -> ActivityPerson {
    ActivityPerson {
        gitlab_user_id: Some(id),
        email: None,
    }
}

fn mr42(person: u64, action: MergeRequestAction, at: DateTime<Utc>) -> Activity {
    Activity {
        person: by_user(person),
        project: project(),
        detail: ActivityDetail::MergeRequest(MergeRequestActivity {
            action,
            iid: 42,
            title: "AE-12 Login form".into(),
            description: "Adds the login form.".into(),
            source_branch: "feature/AE-12-login".into(),
            target_branch: "main".into(),
            linked_issues: vec![],
            at,
        }),
    }
}

fn note(person: u64, note_id: u64, on: CommentOn, body: &str, at: DateTime<Utc>) -> Activity {
    Activity {
        person: by_user(person),
        project: project(),
        detail: ActivityDetail::Comment(CommentActivity {
            note_id,
            on,
            body: body.into(),
            at,
        }),
    }
}

fn on_mr42() -> CommentOn {
    CommentOn::MergeRequest {
        iid: 42,
        title: "AE-12 Login form".into(),
        source_branch: "feature/AE-12-login".into(),
    }
}

/// Every report Cairn receives during the day, in arrival order, with
/// repeats (rebase, force-push, the Events API backstop) and bad input.
fn reports() -> Vec<Activity> {
    let la = chrono_tz::America::Los_Angeles;
    let kol = chrono_tz::Asia::Kolkata;
    let utc = chrono_tz::UTC;
    let mut out = Vec::new();

    // Ana (Los Angeles): pushes to two branches in the morning.
    let c1 = commit(
        ANA,
        "a1",
        "Login form skeleton",
        "feature/AE-12-login",
        local(la, 1, 8, 50),
    );
    let c2 = commit(
        ANA,
        "a2",
        "AE-12 validate input",
        "feature/AE-12-login",
        local(la, 1, 9, 20),
    );
    let c3 = commit(
        ANA,
        "a3",
        "Raise timeout (see ae-12)",
        "bugfix/OPS-7-timeout",
        local(la, 1, 9, 35),
    );
    let c4 = commit(ANA, "a4", "wip", "feature/AE-12-login", local(la, 1, 10, 5));
    out.extend([c1.clone(), c2.clone(), c3, c4.clone()]);
    // Opens MR !42 and comments on it.
    out.push(mr42(11, MergeRequestAction::Opened, local(la, 1, 13, 30)));
    out.push(note(
        11,
        501,
        on_mr42(),
        "Please review",
        local(la, 1, 13, 50),
    ));
    // Rebases onto main and force-pushes at 15:00 with one new commit: the
    // three rebased copies are the same work.
    let replayed = local(la, 1, 15, 0);
    out.extend([
        rebased(&c1, "b1", replayed),
        rebased(&c2, "b2", replayed),
        rebased(&c4, "b4", replayed),
        commit(
            ANA,
            "b5",
            "Address review",
            "feature/AE-12-login",
            local(la, 1, 14, 55),
        ),
    ]);
    // A late fix at 23:40 local, 07:40 UTC on the 2nd: still her 1st.
    out.push(commit(
        ANA,
        "a6",
        "late fix",
        "feature/AE-12-login",
        local(la, 1, 23, 40),
    ));

    // Ravi (Kolkata): a push of 25 commits, one every 5 minutes from 10:00
    // to 12:00; the 13th (11:00) says which other issue it fixes.
    let push: Vec<Activity> = (0..25)
        .map(|i| {
            let message = if i == 12 {
                "Fixes PAY-9 rounding".to_owned()
            } else {
                format!("Refund step {}", i + 1)
            };
            commit(
                RAVI,
                &format!("r{i}"),
                &message,
                "feature/PAY-3-refunds",
                local(kol, 1, 10, 0) + Duration::minutes(5 * i),
            )
        })
        .collect();
    out.extend(push.iter().cloned());
    // Reviews Ana's MR: a comment and an approval, by hook...
    let review = note(
        12,
        502,
        on_mr42(),
        "Looks good, one nit",
        local(kol, 1, 14, 0),
    );
    let approval = mr42(12, MergeRequestAction::Approved, local(kol, 1, 14, 20));
    out.extend([review.clone(), approval.clone()]);
    // ...and closes issue #4 at 18:00.
    out.push(Activity {
        person: by_user(12),
        project: project(),
        detail: ActivityDetail::Issue(IssueActivity {
            action: IssueAction::Closed,
            iid: 4,
            title: "Crash on refund".into(),
            at: local(kol, 1, 18, 0),
        }),
    });

    // Uma (UTC).
    out.push(commit(
        UMA,
        "u1",
        "Fixes AE-12 flaky test",
        "main",
        local(utc, 1, 16, 0),
    ));
    out.push(commit(UMA, "u2", "tidy", "main", local(utc, 1, 16, 20)));
    out.push(note(
        13,
        503,
        CommentOn::Issue { iid: 5 },
        "Reproduced",
        local(utc, 1, 16, 50),
    ));
    out.push(commit(
        UMA,
        "u3",
        "update readme",
        "docs",
        local(utc, 1, 21, 0),
    ));
    out.push(commit(
        UMA,
        "u4",
        "Export to CSV",
        "feature/OPS-8-export",
        local(utc, 1, 23, 30),
    ));
    out.push(commit(
        UMA,
        "u5",
        "Export: headers",
        "feature/OPS-8-export",
        local(utc, 2, 0, 10),
    ));

    // The Events API backstop later reports Ravi's push and review again.
    out.extend(push);
    out.extend([review, approval]);

    // Bad input: a commit without an author email, and one by somebody
    // Cairn does not know, on a branch naming 50 keys.
    out.push(commit("", "x1", "anonymous", "main", local(utc, 1, 12, 0)));
    let fifty: Vec<String> = (1..=50).map(|n| format!("AE-{n}")).collect();
    out.push(commit(
        "stranger@elsewhere.example",
        "x2",
        "many",
        &fifty.join("-"),
        local(utc, 1, 12, 0),
    ));
    out
}

/// The engine's matching, as the test needs it: by GitLab user id, else
/// by email (case-insensitive).
fn owner(activity: &Activity, people: &[Person]) -> Option<usize> {
    people.iter().position(|p| {
        activity.person.gitlab_user_id == Some(p.gitlab_user_id)
            || activity
                .person
                .email
                .as_deref()
                .is_some_and(|e| e.eq_ignore_ascii_case(p.email))
    })
}

/// (local day, local start, minutes, target, explanation)
type Row = (String, String, u32, String, String);

fn rows(zone: Tz, suggestions: &[Suggestion]) -> Vec<Row> {
    suggestions
        .iter()
        .map(|s| {
            (
                s.day.to_string(),
                s.start.with_timezone(&zone).format("%H:%M:%S").to_string(),
                s.minutes,
                s.target
                    .as_ref()
                    .map_or_else(|| "unassigned".into(), Target::to_string),
                s.explanation.clone(),
            )
        })
        .collect()
}

fn row(day: &str, start: &str, minutes: u32, target: &str, explanation: &str) -> Row {
    (
        day.into(),
        start.into(),
        minutes,
        target.into(),
        explanation.into(),
    )
}

#[test]
fn a_scripted_day_for_three_people_gives_the_hand_worked_suggestions() {
    let people = people();
    let reports = reports();
    assert_eq!(reports.len(), 4 + 2 + 4 + 1 + 25 + 2 + 1 + 6 + 25 + 2 + 2);

    // Deduplication: 3 rebased copies + 25 backstop commits + the backstop
    // comment and approval = 30 repeats.
    let unique = deduplicate(reports);
    assert_eq!(unique.repeats, 30);
    assert_eq!(unique.kept.len(), 44);

    // Bad input is counted, never an error: two commits match nobody (one
    // has no email at all), Ana's `ae-12` and the stranger's 40 keys over
    // the limit are dropped with their reasons.
    let unmatched: Vec<&Activity> = unique
        .kept
        .iter()
        .filter(|a| owner(a, &people).is_none())
        .collect();
    assert_eq!(unmatched.len(), 2);
    assert!(!unmatched[0].person.is_identified());
    let dropped: Vec<DropReason> = unique
        .kept
        .iter()
        .flat_map(|a| a.references().dropped)
        .map(|d| d.reason)
        .collect();
    assert_eq!(
        dropped
            .iter()
            .filter(|r| **r == DropReason::NotUppercase)
            .count(),
        1
    );
    assert_eq!(
        dropped
            .iter()
            .filter(|r| **r == DropReason::OverLimit)
            .count(),
        40
    );

    // Jira development links: Uma's `Fixes AE-12` landed on main: one
    // transition; nothing else closes anything.
    let closing: Vec<(String, Vec<JiraKey>)> = unique
        .kept
        .iter()
        .map(|a| (a.link_title(), a.closes_jira_issues("main")))
        .filter(|(_, keys)| !keys.is_empty())
        .collect();
    assert_eq!(
        closing,
        [(
            "GitLab commit u1: Fixes AE-12 flaky test".to_owned(),
            vec![JiraKey::parse("AE-12").unwrap()]
        )]
    );

    // Stored ids are the positions in `kept`.
    let mut per_person: Vec<Vec<TimedActivity>> = vec![Vec::new(); people.len()];
    for (id, activity) in unique.kept.iter().enumerate() {
        if let Some(p) = owner(activity, &people) {
            per_person[p].push(TimedActivity {
                id: id as i64,
                at: activity.counts_at(),
                target: activity.target(),
            });
        }
    }
    let settings = WorklogSettings::default();
    let suggested: Vec<Vec<Row>> = people
        .iter()
        .zip(&per_person)
        .map(|(p, acts)| rows(p.zone, &suggest(&settings, p.zone, acts)))
        .collect();

    // Ana, Los Angeles (UTC-8).
    // Morning: 08:50 AE-12 (branch), 09:20 AE-12, 09:35 OPS-7 (branch;
    // `ae-12` in the message is not a key), 10:05 AE-12 (`wip` on the
    // AE-12 branch). Gaps 30, 15, 30: one session 08:20-10:05 = 105 min.
    //   AE-12: 105 x 3/4 = 78 min 45 s -> 75 (nearest 15).
    //   OPS-7: 105 x 1/4 = 26 min 15 s -> 30, from 08:20 + 78:45 = 09:38:45.
    // Gap 10:05 -> 13:30 = 205 min > 90: new session.
    // Afternoon: MR !42 opened 13:30 (AE-12 in its title), comment 13:50
    // (on !42: AE-12), 14:55 new commit of the force-push (branch AE-12).
    // The rebased copies count at their author dates (already counted):
    // no work at 15:00. Session 13:00-14:55 = 115 min -> 120.
    // Night: 23:40 local (07:40 UTC on the 2nd) is still her 1st:
    // 23:10-23:40 = 30.
    assert_eq!(
        suggested[0],
        [
            row(
                "2026-12-01",
                "08:20:00",
                75,
                "AE-12",
                "08:20-10:05 session (first activity 08:50, lead-in 30 min), 3 of 4 activities \
                 on AE-12: share 78 min 45 s, rounded to 75 min"
            ),
            row(
                "2026-12-01",
                "09:38:45",
                30,
                "OPS-7",
                "08:20-10:05 session (first activity 08:50, lead-in 30 min), 1 of 4 activities \
                 on OPS-7: share 26 min 15 s, rounded to 30 min"
            ),
            row(
                "2026-12-01",
                "13:00:00",
                120,
                "AE-12",
                "13:00-14:55 session (first activity 13:30, lead-in 30 min), 3 of 3 activities \
                 on AE-12: share 115 min, rounded to 120 min"
            ),
            row(
                "2026-12-01",
                "23:10:00",
                30,
                "AE-12",
                "23:10-23:40 session (first activity 23:40, lead-in 30 min), 1 of 1 activities \
                 on AE-12: share 30 min, rounded to 30 min"
            ),
        ]
    );

    // Ravi, Kolkata (UTC+5:30).
    // The push: 25 commits 10:00-12:00, 5 min apart: one session
    // 09:30-12:00 = 150 min. 24 on PAY-3 (branch), the 11:00 one on PAY-9
    // (its message names a key: the message wins over the branch).
    //   PAY-3: 150 x 24/25 = 144 -> 150.
    //   PAY-9: 150 x 1/25 = 6 -> 15 (at least one step), from 09:30 + 144 = 11:54.
    // Review of !42: comment 14:00, approval 14:20, both AE-12 through the
    // merge request: 13:30-14:20 = 50 -> 45. Counted once each although
    // reported twice.
    // Closing issue #4 at 18:00: 17:30-18:00 = 30 on northwind/checkout#4.
    assert_eq!(
        suggested[1],
        [
            row(
                "2026-12-01",
                "09:30:00",
                150,
                "PAY-3",
                "09:30-12:00 session (first activity 10:00, lead-in 30 min), 24 of 25 activities \
                 on PAY-3: share 144 min, rounded to 150 min"
            ),
            row(
                "2026-12-01",
                "11:54:00",
                15,
                "PAY-9",
                "09:30-12:00 session (first activity 10:00, lead-in 30 min), 1 of 25 activities \
                 on PAY-9: share 6 min, rounded to 15 min"
            ),
            row(
                "2026-12-01",
                "13:30:00",
                45,
                "AE-12",
                "13:30-14:20 session (first activity 14:00, lead-in 30 min), 2 of 2 activities \
                 on AE-12: share 50 min, rounded to 45 min"
            ),
            row(
                "2026-12-01",
                "17:30:00",
                30,
                "northwind/checkout#4",
                "17:30-18:00 session (first activity 18:00, lead-in 30 min), 1 of 1 activities \
                 on northwind/checkout#4: share 30 min, rounded to 30 min"
            ),
        ]
    );

    // Uma, UTC.
    // 16:00 `Fixes AE-12` (AE-12), 16:20 `tidy` on main (no reference:
    // nearest is AE-12, 20 min before, vs #5, 30 min after), 16:50
    // comment on issue #5. Session 15:30-16:50 = 80 min.
    //   AE-12: 80 x 2/3 = 53 min 20 s -> 60.
    //   #5: 80 x 1/3 = 26 min 40 s -> 30, from 15:30 + 53:20 = 16:23:20.
    // 21:00 `update readme` on `docs`: nothing referenced in its session:
    // 20:30-21:00 = 30, unassigned.
    // 23:30 and 00:10 on the OPS-8 branch: one session 23:00-00:10 cut at
    // midnight: 60 min on the 1st, 10 min (-> 15) on the 2nd.
    assert_eq!(
        suggested[2],
        [
            row(
                "2026-12-01",
                "15:30:00",
                60,
                "AE-12",
                "15:30-16:50 session (first activity 16:00, lead-in 30 min), 2 of 3 activities \
                 on AE-12 (1 without a reference, counted for the nearest): share 53 min 20 s, \
                 rounded to 60 min"
            ),
            row(
                "2026-12-01",
                "16:23:20",
                30,
                "northwind/checkout#5",
                "15:30-16:50 session (first activity 16:00, lead-in 30 min), 1 of 3 activities \
                 on northwind/checkout#5: share 26 min 40 s, rounded to 30 min"
            ),
            row(
                "2026-12-01",
                "20:30:00",
                30,
                "unassigned",
                "20:30-21:00 session (first activity 21:00, lead-in 30 min), 1 of 1 activities \
                 without a reference: share 30 min, rounded to 30 min"
            ),
            row(
                "2026-12-01",
                "23:00:00",
                60,
                "OPS-8",
                "23:00-24:00 session (first activity 23:30, lead-in 30 min), cut at midnight, \
                 1 of 1 activities on OPS-8: share 60 min, rounded to 60 min"
            ),
            row(
                "2026-12-02",
                "00:00:00",
                15,
                "OPS-8",
                "00:00-00:10 session continued from the day before (first activity today \
                 00:10), 1 of 1 activities on OPS-8: share 10 min, rounded to 15 min"
            ),
        ]
    );
}

#[test]
fn a_thousand_people_for_thirty_days() {
    // Each person: every day, 8 activities 20 minutes apart from 09:00 on
    // two keys (4 each), then after a 3-hour gap 4 more from 14:00 with no
    // reference on the first; people spread over five time zones.
    // Per day: morning session -> 2 suggestions, afternoon session -> 1
    // (the unreferenced one counts for the nearest key): 3 per day.
    let settings = WorklogSettings::default();
    let zones = [
        chrono_tz::UTC,
        chrono_tz::America::Los_Angeles,
        chrono_tz::Asia::Kolkata,
        chrono_tz::Europe::Berlin,
        chrono_tz::Australia::Sydney,
    ];
    let keys: Vec<Target> = (1..=50)
        .map(|n| Target::jira(JiraKey::parse(&format!("AE-{n}")).unwrap()))
        .collect();
    let first_day = NaiveDate::from_ymd_opt(2026, 11, 1).unwrap();
    let mut total = 0usize;
    let mut activities_seen = 0usize;
    for person in 0..1000usize {
        let zone = zones[person % zones.len()];
        let mut acts = Vec::with_capacity(30 * 12);
        for d in 0..30i64 {
            let day = first_day + Duration::days(d);
            let nine = zone
                .from_local_datetime(&day.and_hms_opt(9, 0, 0).unwrap())
                .earliest()
                .unwrap()
                .with_timezone(&Utc);
            for i in 0..8i64 {
                acts.push(TimedActivity {
                    id: acts.len() as i64,
                    at: nine + Duration::minutes(20 * i),
                    target: Some(keys[(person + (i as usize % 2)) % keys.len()].clone()),
                });
            }
            for i in 0..4i64 {
                acts.push(TimedActivity {
                    id: acts.len() as i64,
                    at: nine + Duration::hours(5) + Duration::minutes(15 * i),
                    target: if i == 0 {
                        None
                    } else {
                        Some(keys[person % keys.len()].clone())
                    },
                });
            }
        }
        activities_seen += acts.len();
        let out = suggest(&settings, zone, &acts);
        // Every activity in exactly one suggestion.
        assert_eq!(
            out.iter().map(|s| s.activity_ids.len()).sum::<usize>(),
            acts.len()
        );
        total += out.len();
    }
    assert_eq!(activities_seen, 1000 * 30 * 12);
    assert_eq!(total, 1000 * 30 * 3);
}
