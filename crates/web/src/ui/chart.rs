//! An OKR's history chart, drawn by the server as SVG: actual progress
//! against the expected line from the start date (0 %) to the due date
//! (100 %). Only numbers reach the SVG, and askama escapes them anyway.

use cairn_store::goals::{Okr, ProgressPoint};
use chrono::{DateTime, NaiveDate, NaiveTime, Utc};

pub(crate) const WIDTH: f64 = 640.0;
pub(crate) const HEIGHT: f64 = 240.0;
const LEFT: f64 = 44.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 32.0;

pub(crate) struct Tick {
    pub x: String,
    pub y: String,
    pub text: String,
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
    pub y_ticks: Vec<Tick>,
    pub today: Option<String>,
    pub plot_left: String,
    pub plot_right: String,
    pub plot_top: String,
    pub plot_bottom: String,
    pub empty: bool,
    /// The same as text, for people who cannot see the chart.
    pub summary: String,
}

fn at_midnight(day: NaiveDate) -> DateTime<Utc> {
    day.and_time(NaiveTime::MIN).and_utc()
}

fn coord(v: f64) -> String {
    format!("{v:.1}")
}

impl Chart {
    pub fn new(okr: &Okr, history: &[ProgressPoint], now: DateTime<Utc>) -> Chart {
        let start = at_midnight(okr.fields.starts_on);
        let end = at_midnight(okr.fields.due_on + chrono::Duration::days(1));
        let span = (end - start).num_seconds().max(1) as f64;
        let plot_w = WIDTH - LEFT - RIGHT;
        let plot_h = HEIGHT - TOP - BOTTOM;
        let x = |at: DateTime<Utc>| {
            let t = ((at - start).num_seconds() as f64 / span).clamp(0.0, 1.0);
            LEFT + t * plot_w
        };
        let y = |percent: f64| TOP + (1.0 - percent.clamp(0.0, 100.0) / 100.0) * plot_h;
        let mut points: Vec<&ProgressPoint> = history.iter().collect();
        points.sort_by_key(|p| (p.at, p.id));
        let mut actual = Vec::new();
        let mut dots = Vec::new();
        let mut last: Option<f64> = None;
        for p in &points {
            // A step: the value holds until the next change.
            if let Some(prev) = last {
                actual.push(format!("{},{}", coord(x(p.at)), coord(y(prev))));
            }
            actual.push(format!("{},{}", coord(x(p.at)), coord(y(p.percent))));
            dots.push(Dot {
                x: coord(x(p.at)),
                y: coord(y(p.percent)),
                label: format!(
                    "{}: {} % (expected {} %)",
                    p.at.format("%Y-%m-%d %H:%M"),
                    p.percent.floor(),
                    p.expected_percent.floor()
                ),
            });
            last = Some(p.percent);
        }
        if let Some(prev) = last {
            actual.push(format!("{},{}", coord(x(now.min(end))), coord(y(prev))));
        }
        let expected = format!(
            "{},{} {},{}",
            coord(x(start)),
            coord(y(0.0)),
            coord(x(end)),
            coord(y(100.0))
        );
        let x_ticks = [0.0, 0.5, 1.0]
            .iter()
            .map(|t| {
                let at = start + chrono::Duration::seconds((span * t) as i64);
                let day = if *t >= 1.0 {
                    okr.fields.due_on
                } else {
                    at.date_naive()
                };
                Tick {
                    x: coord(LEFT + t * plot_w),
                    y: coord(HEIGHT - 10.0),
                    text: day.to_string(),
                }
            })
            .collect();
        let y_ticks = [0.0, 50.0, 100.0]
            .iter()
            .map(|p| Tick {
                x: coord(LEFT - 6.0),
                y: coord(y(*p) + 4.0),
                text: format!("{p} %"),
            })
            .collect();
        let today = (now > start && now < end).then(|| coord(x(now)));
        let summary = match points.last() {
            Some(p) => format!(
                "{} changes; latest {} % against {} % expected",
                points.len(),
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
            today,
            plot_left: coord(LEFT),
            plot_right: coord(WIDTH - RIGHT),
            plot_top: coord(TOP),
            plot_bottom: coord(TOP + plot_h),
            empty: points.is_empty(),
            summary,
        }
    }
}
