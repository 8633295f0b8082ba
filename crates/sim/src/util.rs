//! Small helpers: durations, timestamps, a deterministic PRNG.

use chrono::{DateTime, SecondsFormat, Utc};

/// GitLab and Jira both count a day as 8 hours and a week as 5 days.
const MINUTE: i64 = 60;
const HOUR: i64 = 60 * MINUTE;
const DAY: i64 = 8 * HOUR;
const WEEK: i64 = 5 * DAY;
const MONTH: i64 = 4 * WEEK;

/// Parses a duration such as `1h30m`, `3h 30m`, `1w2d`, `45m`, `90s` or plain
/// seconds into seconds. Negative durations start with `-` (GitLab allows
/// subtracting spent time).
pub fn parse_duration(input: &str) -> Option<i64> {
    let s = input.trim();
    if s.is_empty() {
        return None;
    }
    let (neg, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest.trim_start()),
        None => (false, s),
    };
    if let Ok(n) = s.parse::<i64>() {
        return Some(if neg { -n } else { n });
    }
    let mut total: i64 = 0;
    let mut num = String::new();
    let mut any = false;
    for c in s.chars() {
        if c.is_ascii_digit() || c == '.' {
            num.push(c);
        } else if c.is_whitespace() {
            continue;
        } else {
            let n: f64 = num.parse().ok()?;
            num.clear();
            let unit = match c {
                'w' => WEEK,
                'd' => DAY,
                'h' => HOUR,
                'm' => MINUTE,
                's' => 1,
                'M' => MONTH,
                _ => return None,
            };
            total = total.checked_add((n * unit as f64) as i64)?;
            any = true;
        }
    }
    if !num.is_empty() || !any {
        return None;
    }
    Some(if neg { -total } else { total })
}

/// GitLab's human form: `1w 2d 3h 4m`, or `None` for zero.
pub fn gitlab_human(seconds: i64) -> Option<String> {
    if seconds == 0 {
        return None;
    }
    Some(human(seconds, true))
}

/// Jira's form (`3h 20m`, `1d 4h`).
pub fn jira_human(seconds: i64) -> String {
    if seconds == 0 {
        return "0m".into();
    }
    human(seconds, false)
}

fn human(seconds: i64, with_months: bool) -> String {
    let neg = seconds < 0;
    let mut s = seconds.abs();
    let mut parts = Vec::new();
    let units: &[(i64, &str)] = if with_months {
        &[
            (MONTH, "mo"),
            (WEEK, "w"),
            (DAY, "d"),
            (HOUR, "h"),
            (MINUTE, "m"),
            (1, "s"),
        ]
    } else {
        &[(WEEK, "w"), (DAY, "d"), (HOUR, "h"), (MINUTE, "m")]
    };
    for (size, name) in units {
        if s >= *size {
            parts.push(format!("{}{}", s / size, name));
            s %= size;
        }
    }
    if parts.is_empty() {
        parts.push(if with_months {
            format!("{s}s")
        } else {
            "0m".into()
        });
    }
    let joined = parts.join(" ");
    if neg { format!("-{joined}") } else { joined }
}

/// GitLab API timestamps: `2016-01-04T15:31:51.081Z`.
pub fn gl_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Jira timestamps: `2021-01-17T12:34:00.000+0000`.
pub fn jira_time(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3f+0000").to_string()
}

/// Parses the timestamps both services accept as input.
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.with_timezone(&Utc));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S %Z"] {
        if let Ok(t) = DateTime::parse_from_str(s, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    if let Ok(t) = chrono::NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return Some(t.and_utc());
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|t| t.and_utc());
    }
    None
}

/// SplitMix64: tiny, fast and stable across releases, so a seed always
/// yields the same data set.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator for a seed.
    pub fn new(seed: u64) -> Self {
        Rng(seed ^ 0x9E37_79B9_7F4A_7C15)
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when n is 0).
    pub fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next_u64() % n }
    }

    /// True with probability `p` in percent.
    pub fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }

    /// Picks an element.
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> Option<&'a T> {
        items.get(self.below(items.len() as u64) as usize)
    }

    /// 40 hex digits, for commit shas.
    pub fn sha(&mut self) -> String {
        format!(
            "{:016x}{:016x}{:08x}",
            self.next_u64(),
            self.next_u64(),
            self.next_u64() as u32
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1h30m"), Some(5400));
        assert_eq!(parse_duration("3h 30m"), Some(12600));
        assert_eq!(parse_duration("1w2d"), Some(7 * 8 * 3600));
        assert_eq!(parse_duration("90"), Some(90));
        assert_eq!(parse_duration("-30m"), Some(-1800));
        assert_eq!(parse_duration("abc"), None);
        assert_eq!(parse_duration("5"), Some(5));
        assert_eq!(parse_duration("h"), None);
        assert_eq!(parse_duration(""), None);
    }

    #[test]
    fn human_forms() {
        assert_eq!(gitlab_human(5400).as_deref(), Some("1h 30m"));
        assert_eq!(gitlab_human(0), None);
        assert_eq!(gitlab_human(8 * 3600 + 60).as_deref(), Some("1d 1m"));
        assert_eq!(jira_human(12000), "3h 20m");
    }

    #[test]
    fn rng_is_deterministic() {
        let mut a = Rng::new(42);
        let mut b = Rng::new(42);
        assert_eq!(a.next_u64(), b.next_u64());
        assert_ne!(Rng::new(1).next_u64(), Rng::new(2).next_u64());
    }
}
