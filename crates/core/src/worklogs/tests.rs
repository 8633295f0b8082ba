//! Suggestion rules on small hand-worked cases: the split, attribution,
//! gaps, lone activities, midnight, DST and many activities.

use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use chrono_tz::America::Los_Angeles;

use super::*;
use crate::activity::{JiraKey, Target};

fn key(k: &str) -> Option<Target> {
    Some(Target::jira(JiraKey::parse(k).unwrap()))
}

/// Local `hh:mm` on `day` of December 2026 in `zone`, as an instant.
fn local(zone: Tz, day: u32, h: u32, m: u32) -> DateTime<Utc> {
    zone.with_ymd_and_hms(2026, 12, day, h, m, 0)
        .single()
        .unwrap()
        .with_timezone(&Utc)
}

fn act(id: i64, at: DateTime<Utc>, target: Option<Target>) -> TimedActivity {
    TimedActivity { id, at, target }
}

/// (day, local start, minutes, target, activity ids)
fn brief(zone: Tz, s: &Suggestion) -> (NaiveDate, String, u32, String, Vec<i64>) {
    (
        s.day,
        s.start.with_timezone(&zone).format("%H:%M:%S").to_string(),
        s.minutes,
        s.target
            .as_ref()
            .map_or_else(|| "-".into(), Target::to_string),
        s.activity_ids.clone(),
    )
}

fn dec(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, d).unwrap()
}

#[test]
fn a_session_is_shared_between_its_targets_by_activity_count() {
    let z = Los_Angeles;
    let acts = [
        act(1, local(z, 1, 9, 40), key("AE-12")),
        act(2, local(z, 1, 9, 55), key("AE-7")),
        act(3, local(z, 1, 10, 5), key("AE-12")),
        act(4, local(z, 1, 10, 20), key("AE-7")),
        act(5, local(z, 1, 10, 40), key("AE-12")),
    ];
    let out = suggest(&WorklogSettings::default(), z, &acts);
    // Session 09:10-10:40 (lead-in 30 before 09:40) = 90 min.
    // AE-12: 90 x 3/5 = 54 -> 60 (nearest 15); AE-7: 90 x 2/5 = 36 -> 30.
    // AE-7 starts where AE-12's unrounded share ends: 09:10 + 54 = 10:04.
    assert_eq!(
        out.iter().map(|s| brief(z, s)).collect::<Vec<_>>(),
        [
            (dec(1), "09:10:00".into(), 60, "AE-12".into(), vec![1, 3, 5]),
            (dec(1), "10:04:00".into(), 30, "AE-7".into(), vec![2, 4]),
        ]
    );
    assert_eq!(
        out[0].explanation,
        "09:10-10:40 session (first activity 09:40, lead-in 30 min), 3 of 5 activities on AE-12: \
         share 54 min, rounded to 60 min"
    );
    assert_eq!(out[1].rule.share_seconds, 36 * 60);
    assert_eq!(out[1].rule.in_part, 5);
    assert_eq!(out[0].key(), "2026-12-01/AE-12/1");
    // Input order does not matter.
    let mut reversed = acts.to_vec();
    reversed.reverse();
    assert_eq!(suggest(&WorklogSettings::default(), z, &reversed), out);
}

#[test]
fn a_gap_exactly_the_setting_keeps_the_session_and_a_second_more_splits_it() {
    let z = chrono_tz::UTC;
    let settings = WorklogSettings::default();
    let same = suggest(
        &settings,
        z,
        &[
            act(1, local(z, 1, 9, 0), key("AE-1")),
            act(2, local(z, 1, 10, 30), key("AE-1")),
        ],
    );
    // 08:30-10:30, one session.
    assert_eq!(
        same.iter().map(|s| brief(z, s)).collect::<Vec<_>>(),
        [(dec(1), "08:30:00".into(), 120, "AE-1".into(), vec![1, 2])]
    );
    let later = local(z, 1, 10, 30) + chrono::Duration::seconds(1);
    let split = suggest(
        &settings,
        z,
        &[
            act(1, local(z, 1, 9, 0), key("AE-1")),
            act(2, later, key("AE-1")),
        ],
    );
    // Two sessions of a lead-in each: 08:30-09:00 and 10:00:01-10:30:01.
    assert_eq!(
        split.iter().map(|s| brief(z, s)).collect::<Vec<_>>(),
        [
            (dec(1), "08:30:00".into(), 30, "AE-1".into(), vec![1]),
            (dec(1), "10:00:01".into(), 30, "AE-1".into(), vec![2]),
        ]
    );
}

#[test]
fn a_lone_activity_is_its_lead_in_and_never_less_than_one_step() {
    let z = chrono_tz::UTC;
    let one = [act(9, local(z, 1, 14, 0), key("AE-1"))];
    let out = suggest(&WorklogSettings::default(), z, &one);
    assert_eq!(
        brief(z, &out[0]),
        (dec(1), "13:30:00".into(), 30, "AE-1".into(), vec![9])
    );
    let no_lead_in = WorklogSettings {
        lead_in_minutes: 0,
        ..WorklogSettings::default()
    };
    let out = suggest(&no_lead_in, z, &one);
    assert_eq!(
        brief(z, &out[0]),
        (dec(1), "14:00:00".into(), 15, "AE-1".into(), vec![9])
    );
    assert_eq!(
        out[0].explanation,
        "14:00-14:00 session (first activity 14:00, no lead-in), 1 of 1 activities on AE-1: \
         share 0 min, rounded to 15 min"
    );
    assert!(suggest(&WorklogSettings::default(), z, &[]).is_empty());
    // Unvalidated settings do not panic: a zero step counts as 1 minute.
    let zero_step = WorklogSettings {
        rounding_minutes: 0,
        ..WorklogSettings::default()
    };
    assert_eq!(suggest(&zero_step, z, &one)[0].minutes, 30);
}

#[test]
fn rounding_is_to_the_nearest_step_with_halves_up() {
    let z = chrono_tz::UTC;
    // A lead-in of L minutes and one activity: a share of exactly L.
    for (lead_in, rounded) in [
        (1, 15),
        (7, 15),
        (22, 15),
        (23, 30),
        (37, 30),
        (38, 45),
        (60, 60),
    ] {
        let settings = WorklogSettings {
            lead_in_minutes: lead_in,
            ..WorklogSettings::default()
        };
        let out = suggest(&settings, z, &[act(1, local(z, 1, 12, 0), key("AE-1"))]);
        assert_eq!(out[0].minutes, rounded, "lead-in {lead_in}");
    }
    // 7 min 30 s is a half: up.
    let out = suggest(
        &WorklogSettings {
            lead_in_minutes: 0,
            ..WorklogSettings::default()
        },
        z,
        &[
            act(1, local(z, 1, 12, 0), key("AE-1")),
            act(
                2,
                local(z, 1, 12, 22) + chrono::Duration::seconds(30),
                key("AE-1"),
            ),
        ],
    );
    assert_eq!((out[0].rule.share_seconds, out[0].minutes), (1350, 30));
}

#[test]
fn activities_without_a_reference_count_for_the_nearest_one() {
    let z = chrono_tz::UTC;
    let acts = [
        act(1, local(z, 1, 9, 0), key("AE-1")),
        // 15 min from each: a tie goes to the earlier (AE-1).
        act(2, local(z, 1, 9, 15), None),
        // 20 min after AE-1, 10 before AE-2: AE-2.
        act(3, local(z, 1, 9, 20), None),
        act(4, local(z, 1, 9, 30), key("AE-2")),
    ];
    let out = suggest(&WorklogSettings::default(), z, &acts);
    // 08:30-09:30 = 60 min, two activities each: 30 and 30, AE-2 from 09:00.
    assert_eq!(
        out.iter().map(|s| brief(z, s)).collect::<Vec<_>>(),
        [
            (dec(1), "08:30:00".into(), 30, "AE-1".into(), vec![1, 2]),
            (dec(1), "09:00:00".into(), 30, "AE-2".into(), vec![3, 4]),
        ]
    );
    assert_eq!(
        out[0].explanation,
        "08:30-09:30 session (first activity 09:00, lead-in 30 min), 2 of 4 activities on AE-1 \
         (1 without a reference, counted for the nearest): share 30 min, rounded to 30 min"
    );
    // Nothing referenced in the session: unassigned.
    let out = suggest(
        &WorklogSettings::default(),
        z,
        &[
            act(1, local(z, 1, 9, 0), None),
            act(2, local(z, 1, 9, 45), None),
        ],
    );
    assert_eq!(
        out.iter().map(|s| brief(z, s)).collect::<Vec<_>>(),
        [(dec(1), "08:30:00".into(), 75, "-".into(), vec![1, 2])]
    );
    assert!(
        out[0]
            .explanation
            .contains("2 of 2 activities without a reference: share 75 min")
    );
    assert_eq!(out[0].key(), "2026-12-01/unassigned/1");
}

#[test]
fn a_session_across_local_midnight_is_cut_there() {
    let z = Los_Angeles;
    let acts = [
        act(1, local(z, 1, 23, 50), key("AE-1")),
        act(2, local(z, 2, 0, 20), key("AE-1")),
    ];
    let out = suggest(&WorklogSettings::default(), z, &acts);
    // Session 23:20-00:20: 40 min on the 1st (-> 45), 20 min on the 2nd
    // from midnight, with no second lead-in (-> 15).
    assert_eq!(
        out.iter().map(|s| brief(z, s)).collect::<Vec<_>>(),
        [
            (dec(1), "23:20:00".into(), 45, "AE-1".into(), vec![1]),
            (dec(2), "00:00:00".into(), 15, "AE-1".into(), vec![2]),
        ]
    );
    assert_eq!(
        out[0].explanation,
        "23:20-24:00 session (first activity 23:50, lead-in 30 min), cut at midnight, 1 of 1 \
         activities on AE-1: share 40 min, rounded to 45 min"
    );
    assert_eq!(
        out[1].explanation,
        "00:00-00:20 session continued from the day before (first activity today 00:20), 1 of 1 \
         activities on AE-1: share 20 min, rounded to 15 min"
    );
    // Local midnight, not UTC's: 23:50 in Los Angeles is 07:50 UTC the next day.
    assert_eq!(out[0].start.date_naive(), dec(2));
    // A lead-in never reaches into the day before.
    let out = suggest(
        &WorklogSettings::default(),
        z,
        &[act(1, local(z, 2, 0, 10), key("AE-1"))],
    );
    assert_eq!(
        brief(z, &out[0]),
        (dec(2), "00:00:00".into(), 15, "AE-1".into(), vec![1])
    );
    assert_eq!(out[0].rule.lead_in_seconds, 600);
    assert!(out[0].explanation.contains("lead-in 10 min"));
}

#[test]
fn dst_changes_count_real_time() {
    let z = Los_Angeles;
    let at = |mo, d, h, mi, s| Utc.with_ymd_and_hms(2026, mo, d, h, mi, s).unwrap();
    // 2026-03-08: 01:45 PST (09:45 UTC), then clocks jump 02:00 -> 03:00;
    // 03:15 PDT is 10:15 UTC. 30 real minutes apart: one session from
    // 01:15 PST (09:15 UTC) to 10:15 UTC = 60 min, not the 2 h the wall
    // clock shows.
    let out = suggest(
        &WorklogSettings::default(),
        z,
        &[
            act(1, at(3, 8, 9, 45, 0), key("AE-1")),
            act(2, at(3, 8, 10, 15, 0), key("AE-1")),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].day, NaiveDate::from_ymd_opt(2026, 3, 8).unwrap());
    assert_eq!(out[0].minutes, 60);
    assert_eq!(
        out[0].explanation,
        "01:15-03:15 session (first activity 01:45, lead-in 30 min), 2 of 2 activities on AE-1: \
         share 60 min, rounded to 60 min"
    );
    // 2026-11-01: 01:30 PDT (08:30 UTC), clocks fall back 02:00 -> 01:00;
    // 01:20 PST is 09:20 UTC. Session 08:00-09:20 UTC = 80 min -> 75.
    let out = suggest(
        &WorklogSettings::default(),
        z,
        &[
            act(1, at(11, 1, 8, 30, 0), key("AE-1")),
            act(2, at(11, 1, 9, 20, 0), key("AE-1")),
        ],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].day, NaiveDate::from_ymd_opt(2026, 11, 1).unwrap());
    assert_eq!((out[0].rule.share_seconds, out[0].minutes), (80 * 60, 75));
    assert!(out[0].explanation.starts_with("01:00-01:20 session"));
}

#[test]
fn hundreds_of_activities_in_one_session() {
    let z = chrono_tz::UTC;
    // 600 activities a minute apart from 08:00 to 17:59, in threes: AE-1,
    // AE-2, none (a tie between AE-2 before and AE-1 after: AE-2; the last
    // has only AE-2 before it).
    let acts: Vec<TimedActivity> = (0..600)
        .map(|i| {
            let target = match i % 3 {
                0 => key("AE-1"),
                1 => key("AE-2"),
                _ => None,
            };
            act(i, local(z, 1, 8, 0) + chrono::Duration::minutes(i), target)
        })
        .collect();
    let out = suggest(&WorklogSettings::default(), z, &acts);
    // Session 07:30-17:59 = 629 min = 37,740 s.
    // AE-1: 200/600 -> 12,580 s (209 min 40 s) -> 210.
    // AE-2: 400/600 -> 25,160 s (419 min 20 s) -> 420, from 07:30 + 12,580 s
    // (3 h 29 min 40 s) = 10:59:40.
    assert_eq!(out.len(), 2);
    assert_eq!(
        (
            out[0].rule.share_seconds,
            out[0].minutes,
            out[0].activity_ids.len()
        ),
        (12_580, 210, 200)
    );
    assert_eq!(
        (
            out[1].rule.share_seconds,
            out[1].minutes,
            out[1].activity_ids.len()
        ),
        (25_160, 420, 400)
    );
    assert_eq!(out[1].rule.attributed, 200);
    assert_eq!(brief(z, &out[1]).1, "10:59:40");
}

#[test]
fn suggestions_come_in_start_order_over_several_days() {
    let z = chrono_tz::Asia::Kolkata;
    let acts: Vec<TimedActivity> = (1..=3)
        .flat_map(|d| {
            [
                act(i64::from(d) * 10, local(z, d, 9, 0), key("AE-1")),
                act(i64::from(d) * 10 + 1, local(z, d, 15, 0), key("AE-2")),
            ]
        })
        .collect();
    let out = suggest(&WorklogSettings::default(), z, &acts);
    assert_eq!(out.len(), 6);
    assert!(out.windows(2).all(|w| w[0].start < w[1].start));
    assert_eq!(
        out.iter().map(|s| s.day).collect::<Vec<_>>(),
        [dec(1), dec(1), dec(2), dec(2), dec(3), dec(3)]
    );
}
