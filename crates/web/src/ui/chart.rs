//! An OKR's history chart, drawn by the server as SVG: actual progress
//! against the expected line. Only numbers and dates reach the SVG, and
//! askama escapes them anyway.
//!
//! The time axis reads at any zoom: hours when the history spans less than
//! a day (a key result linked this morning), days otherwise (the schedule,
//! from the start date to the due date). The plot stretches to the page's
//! width while its labels keep their size: lines are drawn in a stretched
//! inner SVG (with strokes that do not scale), the time labels in percent
//! of the plot's width and the percent labels in a column beside it, so
//! they stay readable at 375 px.

use cairn_core::goals::Schedule;
use cairn_store::goals::{Okr, ProgressPoint};
use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, Timelike, Utc};

/// Height of the whole chart, in CSS pixels.
pub(crate) const HEIGHT: f64 = 240.0;
/// Width of the stretched plot's coordinates.
pub(crate) const PLOT_WIDTH: f64 = 1000.0;
/// Where the plot starts and how tall it is, in CSS pixels.
pub(crate) const PLOT_TOP: f64 = 16.0;
pub(crate) const PLOT_HEIGHT: f64 = 196.0;
/// At most this many labels on the time axis: five short labels fit side
/// by side on a 375 px phone.
const MAX_TICKS: usize = 5;

pub(crate) struct Tick {
    pub x: String,
    pub y: String,
    pub text: String,
    /// `start`, `middle` or `end`: labels at the edges stay inside.
    pub anchor: &'static str,
}

pub(crate) struct Dot {
    pub x: String,
    pub y: String,
    pub label: String,
}

pub(crate) struct Chart {
    pub actual: String,
    pub expected: String,
    pub dots: Vec<Dot>,
    pub x_ticks: Vec<Tick>,
    /// The percent labels, top to bottom, beside the grid lines (the
    /// stylesheet places them in a column of their own).
    pub y_ticks: Vec<String>,
    /// Horizontal grid lines (plot y) at 0, 50 and 100 %.
    pub grid: Vec<String>,
    pub today: Option<String>,
    pub plot_width: String,
    pub plot_height: String,
    pub plot_top: String,
    pub height: String,
    /// `hours` or `days`: what the time axis counts.
    pub unit: &'static str,
    pub empty: bool,
    /// The same as text, for people who cannot see the chart.
    pub summary: String,
}

/// What the time axis counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unit {
    Hours,
    Days,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Hours => "hours",
            Unit::Days => "days",
        }
    }
}

/// The time axis: its unit, the instants at its ends and its labels.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Axis {
    pub unit: Unit,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub ticks: Vec<(DateTime<Utc>, String)>,
}

fn at_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

fn floor_hour(at: DateTime<Utc>) -> DateTime<Utc> {
    at.date_naive()
        .and_hms_opt(at.hour(), 0, 0)
        .map_or(at, |t| t.and_utc())
}

/// The time axis for a history running from `first` to `last` (the last
/// point, or now if later) of an OKR scheduled from `starts_on` to
/// `due_on`: hours around the data when it spans less than a day, else
/// days over the schedule (widened to any point outside it). At most
/// [`MAX_TICKS`] labels, on whole hours or days (the 1st of each month
/// when the axis is long).
pub(crate) fn axis(
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    starts_on: NaiveDate,
    due_on: NaiveDate,
) -> Axis {
    if last - first < Duration::days(1) {
        let from = floor_hour(first);
        let hours = ((last - from).num_minutes() + 59) / 60;
        let hours = hours.max(1);
        let step = [1, 2, 3, 4, 6, 8, 12]
            .into_iter()
            .find(|s| hours / s < MAX_TICKS as i64)
            .unwrap_or(12);
        // Whole steps, so the axis ends on a label.
        let to = from + Duration::hours((hours + step - 1) / step * step);
        let ticks = (0..)
            .map(|k| from + Duration::hours(k * step))
            .take_while(|at| *at <= to)
            .map(|at| (at, at.format("%H:%M").to_string()))
            .collect();
        return Axis {
            unit: Unit::Hours,
            from,
            to,
            ticks,
        };
    }
    let from = at_midnight(starts_on.min(first.date_naive()));
    let to = at_midnight(due_on.max(last.date_naive())) + Duration::days(1);
    let days = (to - from).num_days();
    let label = |at: DateTime<Utc>| at.format("%b %-d").to_string();
    let ticks: Vec<(DateTime<Utc>, String)> = match [1, 2, 3, 7, 14]
        .into_iter()
        .find(|s| days / s < MAX_TICKS as i64)
    {
        Some(step) => (0..)
            .map(|k| from + Duration::days(k * step))
            .take_while(|at| *at <= to)
            .map(|at| (at, label(at)))
            .collect(),
        None => {
            // Months: the 1st of each, every n-th so at most MAX_TICKS.
            let months: Vec<DateTime<Utc>> = (0..)
                .map_while(|k| {
                    let first_day = from.date_naive().with_day(1)?;
                    first_day.checked_add_months(chrono::Months::new(k))
                })
                .map(at_midnight)
                .skip_while(|at| *at < from)
                .take_while(|at| *at <= to)
                .collect();
            let every = months.len().div_ceil(MAX_TICKS).max(1);
            months
                .into_iter()
                .step_by(every)
                .map(|at| (at, label(at)))
                .collect()
        }
    };
    Axis {
        unit: Unit::Days,
        from,
        to,
        ticks,
    }
}

/// "1 change", "2 changes".
pub(crate) fn changes(n: usize) -> String {
    if n == 1 {
        "1 change".to_owned()
    } else {
        format!("{n} changes")
    }
}

fn coord(v: f64) -> String {
    format!("{v:.1}")
}

impl Chart {
    pub fn new(okr: &Okr, history: &[ProgressPoint], now: DateTime<Utc>) -> Chart {
        let mut points: Vec<&ProgressPoint> = history.iter().collect();
        points.sort_by_key(|p| (p.at, p.id));
        let start = at_midnight(okr.fields.starts_on);
        let end = at_midnight(okr.fields.due_on) + Duration::days(1);
        let (first, last) = match (points.first(), points.last()) {
            (Some(first), Some(last)) => (first.at, last.at.max(now.min(end))),
            _ => (start, end),
        };
        let axis = axis(first, last, okr.fields.starts_on, okr.fields.due_on);
        let span = (axis.to - axis.from).num_seconds().max(1) as f64;
        let fraction =
            |at: DateTime<Utc>| ((at - axis.from).num_seconds() as f64 / span).clamp(0.0, 1.0);
        let x = |at: DateTime<Utc>| fraction(at) * PLOT_WIDTH;
        let y = |percent: f64| (1.0 - percent.clamp(0.0, 100.0) / 100.0) * PLOT_HEIGHT;
        let mut actual = Vec::new();
        let mut dots = Vec::new();
        let mut previous: Option<f64> = None;
        for p in &points {
            // A step: the value holds until the next change.
            if let Some(prev) = previous {
                actual.push(format!("{},{}", coord(x(p.at)), coord(y(prev))));
            }
            actual.push(format!("{},{}", coord(x(p.at)), coord(y(p.percent))));
            dots.push(Dot {
                x: coord(x(p.at)),
                y: coord(y(p.percent)),
                label: format!(
                    "{}: {} % (expected {} %){}",
                    p.at.format("%Y-%m-%d %H:%M"),
                    p.percent.floor(),
                    p.expected_percent.floor(),
                    if p.source == "backfill" {
                        ", reconstructed from the dates of the items"
                    } else {
                        ""
                    }
                ),
            });
            previous = Some(p.percent);
        }
        if let Some(prev) = previous {
            actual.push(format!("{},{}", coord(x(now.min(end))), coord(y(prev))));
        }
        // The expected line: linear over the schedule, flat outside it.
        let expected = match Schedule::new(okr.fields.starts_on, okr.fields.due_on) {
            Ok(schedule) => {
                let mut corners = vec![axis.from];
                corners.extend(
                    [start, end]
                        .into_iter()
                        .filter(|at| *at > axis.from && *at < axis.to),
                );
                corners.push(axis.to);
                corners
                    .into_iter()
                    .map(|at| {
                        format!(
                            "{},{}",
                            coord(x(at)),
                            coord(y(schedule.expected_percent(at.naive_utc())))
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" ")
            }
            Err(_) => String::new(),
        };
        let x_ticks = axis
            .ticks
            .iter()
            .map(|(at, text)| {
                let f = fraction(*at);
                Tick {
                    x: format!("{:.2}%", f * 100.0),
                    y: coord(HEIGHT - 8.0),
                    text: text.clone(),
                    anchor: if f < 0.05 {
                        "start"
                    } else if f > 0.95 {
                        "end"
                    } else {
                        "middle"
                    },
                }
            })
            .collect();
        let y_ticks = [100.0, 50.0, 0.0]
            .iter()
            .map(|p| format!("{p} %"))
            .collect();
        let grid = [100.0, 50.0, 0.0].iter().map(|p| coord(y(*p))).collect();
        let today = (now > axis.from && now < axis.to).then(|| coord(x(now)));
        let summary = match points.last() {
            Some(p) => format!(
                "{}; latest {} % against {} % expected",
                changes(points.len()),
                p.percent.floor(),
                p.expected_percent.floor()
            ),
            None => "no progress recorded yet".to_owned(),
        };
        Chart {
            actual: actual.join(" "),
            expected,
            dots,
            x_ticks,
            y_ticks,
            grid,
            today,
            plot_width: coord(PLOT_WIDTH),
            plot_height: coord(PLOT_HEIGHT),
            plot_top: coord(PLOT_TOP),
            height: coord(HEIGHT),
            unit: axis.unit.as_str(),
            empty: points.is_empty(),
            summary,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn t(month: u32, day: u32, hour: u32, minute: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, month, day, hour, minute, 0)
            .unwrap()
    }

    fn d(month: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, month, day).unwrap()
    }

    fn labels(axis: &Axis) -> Vec<&str> {
        axis.ticks.iter().map(|(_, l)| l.as_str()).collect()
    }

    #[test]
    fn less_than_a_day_of_data_counts_hours_around_it() {
        let a = axis(t(12, 7, 9, 12), t(12, 7, 11, 40), d(10, 1), d(12, 31));
        assert_eq!(a.unit, Unit::Hours);
        assert_eq!((a.from, a.to), (t(12, 7, 9, 0), t(12, 7, 12, 0)));
        assert_eq!(labels(&a), ["09:00", "10:00", "11:00", "12:00"]);
        // Minutes apart: one hour.
        let a = axis(t(12, 7, 9, 12), t(12, 7, 9, 14), d(10, 1), d(12, 31));
        assert_eq!(labels(&a), ["09:00", "10:00"]);
        // Most of a day: fewer, wider steps.
        let a = axis(t(12, 7, 1, 0), t(12, 7, 23, 30), d(10, 1), d(12, 31));
        assert!(a.ticks.len() <= MAX_TICKS, "{a:?}");
        assert_eq!(labels(&a)[..2], ["01:00", "07:00"]);
    }

    #[test]
    fn a_day_or_more_counts_days_over_the_schedule() {
        let a = axis(t(12, 1, 9, 0), t(12, 7, 9, 0), d(12, 1), d(12, 7));
        assert_eq!(a.unit, Unit::Days);
        assert_eq!((a.from, a.to), (t(12, 1, 0, 0), t(12, 8, 0, 0)));
        assert_eq!(labels(&a), ["Dec 1", "Dec 3", "Dec 5", "Dec 7"]);
        // Exactly a day of data is days.
        assert_eq!(
            axis(t(12, 1, 9, 0), t(12, 2, 9, 0), d(12, 1), d(12, 7)).unit,
            Unit::Days
        );
        // A quarter: the 1st of each month.
        let a = axis(t(10, 1, 0, 0), t(12, 7, 2, 0), d(10, 1), d(12, 31));
        assert_eq!(labels(&a), ["Oct 1", "Nov 1", "Dec 1", "Jan 1"]);
        // A month: weekly.
        let a = axis(t(11, 1, 0, 0), t(11, 20, 0, 0), d(11, 1), d(11, 30));
        assert_eq!(a.unit, Unit::Days);
        assert!(a.ticks.len() <= MAX_TICKS && a.ticks.len() >= 3, "{a:?}");
        assert_eq!(labels(&a)[..2], ["Nov 1", "Nov 8"]);
    }

    #[test]
    fn points_outside_the_schedule_widen_the_axis() {
        let a = axis(t(9, 20, 9, 0), t(12, 7, 9, 0), d(10, 1), d(12, 31));
        assert_eq!(a.from, t(9, 20, 0, 0));
        assert!(a.ticks.iter().all(|(at, _)| *at >= a.from && *at <= a.to));
    }

    #[test]
    fn plurals() {
        assert_eq!(changes(0), "0 changes");
        assert_eq!(changes(1), "1 change");
        assert_eq!(changes(2), "2 changes");
    }
}
