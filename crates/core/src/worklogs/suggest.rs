//! Suggested worklogs from one person's activity: sessions, lead-in, the
//! split by work item, rounding, and the explanation of each length.
//!
//! The rules (also in docs/decisions.md, "Time: activity and suggestions"):
//! 1. Activities are ordered by the instant they count at. A gap longer
//!    than `session_gap_minutes` starts a new session; a gap exactly that
//!    long does not.
//! 2. A session starts `lead_in_minutes` before its first activity, but
//!    never before the local midnight of that activity's day, and ends at
//!    its last activity.
//! 3. A session that runs past local midnight is cut there: each day gets
//!    its own part (the later part starts at midnight, with no new
//!    lead-in), holding the activities of that day.
//! 4. An activity without a target counts for the target of the nearest
//!    activity of the same session that has one (the earlier on a tie);
//!    in a session where none has one, all go to "unassigned" (no target).
//! 5. A day's part is shared between its targets by the number of its
//!    activities on each: `share = length x on target / in part`.
//! 6. Each share is rounded to the nearest `rounding_minutes` (halves up),
//!    at least one `rounding_minutes`: any work is worth a worklog.
//!    Shares are rounded separately, so a session's suggestions may add up
//!    to a little more or less than the session.
//! 7. Within a part, targets are laid out one after another from its start
//!    in the order of their first activity; each starts where the
//!    unrounded shares before it end, so every suggestion starts inside
//!    its part (on the right day).
//!
//! Work is O(n log n) in the person's activities (one sort, then linear).

use chrono::{DateTime, Duration, NaiveDate, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

use super::day::{day_start, local_day};
use super::settings::WorklogSettings;
use crate::activity::Target;

/// One activity as the suggestion rules see it: its stored id, the instant
/// it counts at ([`crate::activity::Activity::counts_at`]) and its target
/// ([`crate::activity::Activity::target`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimedActivity {
    pub id: i64,
    pub at: DateTime<Utc>,
    pub target: Option<Target>,
}

/// The numbers behind a suggestion's length, so a person can see why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuggestionRule {
    /// Start of the session's part on this day (after lead-in).
    pub part_start: DateTime<Utc>,
    /// End of the session's part on this day.
    pub part_end: DateTime<Utc>,
    /// The first activity of the session on this day.
    pub first_activity_at: DateTime<Utc>,
    /// Lead-in counted before it: the setting, less what would fall on the
    /// day before; 0 for a part continuing from the day before.
    pub lead_in_seconds: i64,
    /// The part continues a session from the day before (starts at midnight).
    pub continued_from_previous_day: bool,
    /// The session goes on after midnight (the part ends at midnight).
    pub continues_next_day: bool,
    /// Activities of the part counted for this target...
    pub on_target: usize,
    /// ...of which this many had no target of their own (rule 4).
    pub attributed: usize,
    /// All activities of the part.
    pub in_part: usize,
    /// The unrounded share of the part's length, in seconds.
    pub share_seconds: i64,
    /// The rounding step applied.
    pub rounding_minutes: u32,
}

/// A suggested worklog: a person's time on one target during one session
/// on one local day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Suggestion {
    /// The person's local day.
    pub day: NaiveDate,
    pub start: DateTime<Utc>,
    /// Rounded length.
    pub minutes: u32,
    /// What to log against; `None`: unassigned (the person picks one).
    pub target: Option<Target>,
    /// The activities it came from, in time order.
    pub activity_ids: Vec<i64>,
    pub rule: SuggestionRule,
    /// The rule in words, times in the person's zone, e.g. `09:10-10:40
    /// session (first activity 09:40, lead-in 30 min), 3 of 5 activities on
    /// AE-12: share 54 min, rounded to 60`.
    pub explanation: String,
}

impl Suggestion {
    /// A key that stays the same while later activity joins the session
    /// (day, target, its first activity), so a dismissed or accepted
    /// suggestion is recognised when suggestions are recomputed. An
    /// earlier activity arriving late (the backstop) gives a new key.
    pub fn key(&self) -> String {
        let target = self
            .target
            .as_ref()
            .map_or_else(|| String::from("unassigned"), Target::to_string);
        let first = self.activity_ids.first().copied().unwrap_or_default();
        format!("{}/{target}/{first}", self.day)
    }
}

/// The suggestions for one person's activities (any order, any number of
/// days) in their time zone, ordered by start. `settings` must be valid
/// ([`WorklogSettings::validate`]). For days `from..=to`, pass the
/// activities from 12 hours before `from` (a session may start the
/// evening before) and keep the suggestions whose `day` is in range.
pub fn suggest(
    settings: &WorklogSettings,
    zone: Tz,
    activities: &[TimedActivity],
) -> Vec<Suggestion> {
    let mut order: Vec<&TimedActivity> = activities.iter().collect();
    order.sort_by_key(|a| (a.at, a.id));
    let gap = Duration::minutes(i64::from(settings.session_gap_minutes));
    let mut out = Vec::new();
    let mut start = 0;
    for i in 1..=order.len() {
        if i == order.len() || order[i].at - order[i - 1].at > gap {
            suggest_session(settings, zone, &order[start..i], &mut out);
            start = i;
        }
    }
    out
}

/// Rule 4: each activity's effective target and whether it was attributed.
fn attribute<'a>(session: &[&'a TimedActivity]) -> Vec<(Option<&'a Target>, bool)> {
    let n = session.len();
    // Nearest referenced activity before and after each position.
    let mut before: Vec<Option<usize>> = vec![None; n];
    let mut last = None;
    for (i, a) in session.iter().enumerate() {
        if a.target.is_some() {
            last = Some(i);
        }
        before[i] = last;
    }
    let mut after: Vec<Option<usize>> = vec![None; n];
    let mut next = None;
    for i in (0..n).rev() {
        if session[i].target.is_some() {
            next = Some(i);
        }
        after[i] = next;
    }
    session
        .iter()
        .enumerate()
        .map(|(i, a)| {
            if let Some(t) = &a.target {
                return (Some(t), false);
            }
            let nearest = match (before[i], after[i]) {
                (Some(b), Some(f)) => {
                    if session[f].at - a.at < a.at - session[b].at {
                        Some(f)
                    } else {
                        Some(b)
                    }
                }
                (b, f) => b.or(f),
            };
            match nearest {
                Some(j) => (session[j].target.as_ref(), true),
                None => (None, false),
            }
        })
        .collect()
}

fn suggest_session(
    settings: &WorklogSettings,
    zone: Tz,
    session: &[&TimedActivity],
    out: &mut Vec<Suggestion>,
) {
    let Some(first) = session.first() else {
        return;
    };
    let effective = attribute(session);
    let days: Vec<NaiveDate> = session.iter().map(|a| local_day(zone, a.at)).collect();
    let lead_in = Duration::minutes(i64::from(settings.lead_in_minutes));
    let mut part_from = 0;
    for i in 1..=session.len() {
        if i < session.len() && days[i] == days[part_from] {
            continue;
        }
        let day = days[part_from];
        let midnight = day_start(zone, day);
        let part_first = session[part_from].at;
        let continued = part_from > 0;
        let part_start = if continued {
            midnight
        } else {
            (first.at - lead_in).max(midnight)
        };
        let continues = i < session.len();
        let part_end = if continues {
            day.succ_opt()
                .map_or(session[i - 1].at, |next| day_start(zone, next))
        } else {
            session[i - 1].at
        };
        let part = Part {
            day,
            start: part_start,
            end: part_end,
            first_at: part_first,
            lead_in_seconds: if continued {
                0
            } else {
                (part_first - part_start).num_seconds()
            },
            continued,
            continues,
        };
        split_part(
            settings,
            zone,
            &part,
            &session[part_from..i],
            &effective[part_from..i],
            out,
        );
        part_from = i;
    }
}

struct Part {
    day: NaiveDate,
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    first_at: DateTime<Utc>,
    lead_in_seconds: i64,
    continued: bool,
    continues: bool,
}

/// Rules 5 to 7 for one day's part of a session.
fn split_part(
    settings: &WorklogSettings,
    zone: Tz,
    part: &Part,
    activities: &[&TimedActivity],
    effective: &[(Option<&Target>, bool)],
    out: &mut Vec<Suggestion>,
) {
    // Groups by target in order of first activity. Few targets per part,
    // so a linear search stays cheap.
    let mut groups: Vec<(Option<&Target>, Vec<i64>, usize)> = Vec::new();
    for (a, (target, attributed)) in activities.iter().zip(effective) {
        match groups.iter_mut().find(|g| g.0 == *target) {
            Some(g) => {
                g.1.push(a.id);
                g.2 += usize::from(*attributed);
            }
            None => groups.push((*target, vec![a.id], usize::from(*attributed))),
        }
    }
    let length = (part.end - part.start).num_seconds().max(0);
    let in_part = activities.len() as i64;
    // Settings are validated before use; a zero step must still not divide by zero.
    let step = i64::from(settings.rounding_minutes.max(1)) * 60;
    let mut before = 0i64;
    for (target, ids, attributed) in groups {
        let on_target = ids.len() as i64;
        let share = length * on_target / in_part;
        let offset = length * before / in_part;
        before += on_target;
        let steps = ((share + step / 2) / step).max(1);
        let minutes = u32::try_from(steps * step / 60).unwrap_or(u32::MAX);
        let rule = SuggestionRule {
            part_start: part.start,
            part_end: part.end,
            first_activity_at: part.first_at,
            lead_in_seconds: part.lead_in_seconds,
            continued_from_previous_day: part.continued,
            continues_next_day: part.continues,
            on_target: ids.len(),
            attributed,
            in_part: activities.len(),
            share_seconds: share,
            rounding_minutes: settings.rounding_minutes,
        };
        let explanation = explain(zone, part.day, &rule, target, minutes);
        out.push(Suggestion {
            day: part.day,
            start: part.start + Duration::seconds(offset),
            minutes,
            target: target.cloned(),
            activity_ids: ids,
            rule,
            explanation,
        });
    }
}

fn clock(zone: Tz, day: NaiveDate, at: DateTime<Utc>) -> String {
    let local = at.with_timezone(&zone);
    if local.date_naive() > day {
        // The end of a part cut at midnight.
        String::from("24:00")
    } else {
        local.format("%H:%M").to_string()
    }
}

fn minutes_text(seconds: i64) -> String {
    let (m, s) = (seconds / 60, seconds % 60);
    if s == 0 {
        format!("{m} min")
    } else {
        format!("{m} min {s} s")
    }
}

fn explain(
    zone: Tz,
    day: NaiveDate,
    rule: &SuggestionRule,
    target: Option<&Target>,
    minutes: u32,
) -> String {
    let span = format!(
        "{}-{}",
        clock(zone, day, rule.part_start),
        clock(zone, day, rule.part_end)
    );
    let first = clock(zone, day, rule.first_activity_at);
    let mut text = if rule.continued_from_previous_day {
        format!("{span} session continued from the day before (first activity today {first})")
    } else if rule.lead_in_seconds == 0 {
        format!("{span} session (first activity {first}, no lead-in)")
    } else {
        format!(
            "{span} session (first activity {first}, lead-in {})",
            minutes_text(rule.lead_in_seconds)
        )
    };
    if rule.continues_next_day {
        text.push_str(", cut at midnight");
    }
    let on = match target {
        Some(t) => format!("on {t}"),
        None => String::from("without a reference"),
    };
    text.push_str(&format!(
        ", {} of {} activities {on}",
        rule.on_target, rule.in_part
    ));
    if rule.attributed > 0 {
        text.push_str(&format!(
            " ({} without a reference, counted for the nearest)",
            rule.attributed
        ));
    }
    text.push_str(&format!(
        ": share {}, rounded to {minutes} min",
        minutes_text(rule.share_seconds)
    ));
    text
}
