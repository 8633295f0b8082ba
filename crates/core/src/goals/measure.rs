//! How an OKR is measured, and the progress a value amounts to.

use serde::{Deserialize, Serialize};

use super::error::{GoalError, finite};

stable_names! {
    /// Whether an OKR is measured as percent complete or as a KPI. Data links
    /// use it to refuse metrics and settings that do not fit.
    pub enum MeasureMode {
        /// 0 to 100 % of the work done.
        PercentComplete => "percent_complete",
        /// A number moving from a start value to a target value.
        Kpi => "kpi",
    }
}

stable_names! {
    /// Which way a KPI moves. Derived from start and target value, never
    /// stored apart from them, so the two cannot disagree.
    pub enum Direction {
        /// The target is above the start ("close 30 issues").
        Increasing => "increasing",
        /// The target is below the start ("open bugs down to 10").
        Decreasing => "decreasing",
    }
}

stable_names! {
    /// Where an OKR's progress comes from; also recorded on each progress
    /// point in the history.
    pub enum ProgressSource {
        /// People record values by hand.
        CheckIn => "check_in",
        /// The weighted average of the children's progress.
        RollUp => "roll_up",
        /// A GitLab or Jira data link.
        DataLink => "data_link",
    }
}

/// A KPI ("success metric"): a value with a unit moving from a start value to
/// a target value. Always valid: finite values and a target that differs from
/// the start, so progress is always defined.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "KpiSpec", into = "KpiSpec")]
pub struct Kpi {
    unit: String,
    start_value: f64,
    target_value: f64,
}

/// A KPI as the API and the database spell it. `direction` is optional on
/// input (derived when absent, checked when present) and always written on
/// output so the UI need not derive it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KpiSpec {
    /// What the value counts ("issues", "hours", "%").
    pub unit: String,
    /// The value at the start, where progress is 0 %.
    pub start_value: f64,
    /// The value at which progress is 100 % and the target is reached.
    pub target_value: f64,
    /// Optional check of the direction.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direction: Option<Direction>,
}

impl Kpi {
    /// A KPI, refused when a value is not finite or the target equals the
    /// start (no direction, progress undefined).
    pub fn new(
        unit: impl Into<String>,
        start_value: f64,
        target_value: f64,
    ) -> Result<Kpi, GoalError> {
        let start_value = finite("start_value", start_value)?;
        let target_value = finite("target_value", target_value)?;
        if start_value == target_value {
            return Err(GoalError::TargetEqualsStart { value: start_value });
        }
        Ok(Kpi {
            unit: unit.into(),
            start_value,
            target_value,
        })
    }

    /// Like [`Kpi::new`], also refusing a stated direction that the values
    /// contradict (a form that says "decrease" with target above start).
    pub fn with_direction(
        unit: impl Into<String>,
        start_value: f64,
        target_value: f64,
        direction: Direction,
    ) -> Result<Kpi, GoalError> {
        let kpi = Kpi::new(unit, start_value, target_value)?;
        if kpi.direction() != direction {
            return Err(GoalError::DirectionMismatch {
                direction: direction.as_str(),
                start_value,
                target_value,
            });
        }
        Ok(kpi)
    }

    /// What the value counts.
    pub fn unit(&self) -> &str {
        &self.unit
    }

    /// The value where progress is 0 %.
    pub fn start_value(&self) -> f64 {
        self.start_value
    }

    /// The value where progress is 100 %.
    pub fn target_value(&self) -> f64 {
        self.target_value
    }

    /// Increasing when the target is above the start, else decreasing.
    pub fn direction(&self) -> Direction {
        if self.target_value > self.start_value {
            Direction::Increasing
        } else {
            Direction::Decreasing
        }
    }

    /// Whether `value` has reached the target: at or beyond it in the KPI's
    /// direction. Compared exactly, not after rounding.
    pub fn is_reached(&self, value: f64) -> bool {
        match self.direction() {
            Direction::Increasing => value >= self.target_value,
            Direction::Decreasing => value <= self.target_value,
        }
    }

    /// The progress `value` amounts to: (value - start) / (target - start),
    /// clamped to 0..=100 % for the bar while the raw value and raw percent
    /// are kept. Works for decreasing KPIs (both differences negative).
    pub fn progress(&self, value: f64) -> Result<Progress, GoalError> {
        let value = finite("value", value)?;
        let raw = (value - self.start_value) / (self.target_value - self.start_value) * 100.0;
        Ok(Progress::new(value, raw, self.is_reached(value)))
    }
}

impl TryFrom<KpiSpec> for Kpi {
    type Error = GoalError;

    fn try_from(spec: KpiSpec) -> Result<Kpi, GoalError> {
        match spec.direction {
            Some(direction) => {
                Kpi::with_direction(spec.unit, spec.start_value, spec.target_value, direction)
            }
            None => Kpi::new(spec.unit, spec.start_value, spec.target_value),
        }
    }
}

impl From<Kpi> for KpiSpec {
    fn from(kpi: Kpi) -> KpiSpec {
        let direction = Some(kpi.direction());
        KpiSpec {
            unit: kpi.unit,
            start_value: kpi.start_value,
            target_value: kpi.target_value,
            direction,
        }
    }
}

/// How an OKR is measured. Serialised with a `mode` tag:
/// `{"mode":"percent_complete"}` or
/// `{"mode":"kpi","unit":"bugs","start_value":0,"target_value":20,"direction":"increasing"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum Measure {
    /// Progress is the share of the work done, 0 to 100 %.
    PercentComplete,
    /// Progress is where a value stands between start and target.
    Kpi(Kpi),
}

impl Measure {
    /// The measure's mode, for validating data links.
    pub fn mode(&self) -> MeasureMode {
        match self {
            Measure::PercentComplete => MeasureMode::PercentComplete,
            Measure::Kpi(_) => MeasureMode::Kpi,
        }
    }

    /// The progress a value amounts to (a check-in, a computed KPI value or a
    /// computed percent). For percent complete the value is the percent and
    /// must lie in 0..=100; it reaches the target at 100.
    pub fn progress(&self, value: f64) -> Result<Progress, GoalError> {
        match self {
            Measure::PercentComplete => {
                let value = finite("value", value)?;
                if !(0.0..=100.0).contains(&value) {
                    return Err(GoalError::PercentOutOfRange { value });
                }
                Ok(Progress::new(value, value, value >= 100.0))
            }
            Measure::Kpi(kpi) => kpi.progress(value),
        }
    }
}

/// Where an OKR stands: its value, its percent, and whether the target is
/// reached. For percent complete `value` is the percent itself; for a KPI it
/// is the KPI's own value ("17 bugs").
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// The measured value, unrounded.
    pub value: f64,
    /// The percent before clamping: below 0 when a KPI moved away from its
    /// target, above 100 when it overshot. Kept for the API and history.
    pub percent_raw: f64,
    /// The percent clamped to 0..=100, for the bar, statuses and roll-ups.
    pub percent: f64,
    /// Whether the target is reached, decided exactly (never by a rounded
    /// percent), so 99.6 % is not done although it displays as 99.
    pub target_reached: bool,
}

impl Progress {
    fn new(value: f64, percent_raw: f64, target_reached: bool) -> Progress {
        let percent = if percent_raw.is_nan() {
            0.0
        } else {
            percent_raw.clamp(0.0, 100.0)
        };
        Progress {
            value,
            percent_raw,
            percent,
            target_reached,
        }
    }

    /// Percent complete from an exact ratio `numerator / denominator`.
    /// A denominator of zero or less (nothing to measure) gives 0 % and not
    /// reached; otherwise the target is reached when numerator >= denominator.
    pub fn from_ratio(numerator: f64, denominator: f64) -> Progress {
        if denominator > 0.0 && numerator.is_finite() && denominator.is_finite() {
            let percent = numerator / denominator * 100.0;
            Progress::new(percent, percent, numerator >= denominator)
        } else {
            Progress::new(0.0, 0.0, false)
        }
    }

    /// The whole percent to show, see [`display_percent`].
    pub fn display_percent(&self) -> u8 {
        if self.target_reached {
            100
        } else {
            display_percent(self.percent)
        }
    }
}

/// The whole percent to show for `percent`. Rule: round to the nearest whole
/// percent, halves away from zero (3/11 = 27.27 % shows 27, 2/3 shows 67),
/// clamped to 0..=100, except that anything strictly between 0 and 100 shows
/// 1 to 99: "100 %" always means complete and "0 %" always means nothing
/// done. NaN shows 0. Computations never use the rounded number.
pub fn display_percent(percent: f64) -> u8 {
    if percent.is_nan() || percent <= 0.0 {
        0
    } else if percent >= 100.0 {
        100
    } else {
        // In 1.0..=99.0 after the clamp, so the cast is exact.
        percent.round().clamp(1.0, 99.0) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kpi(start: f64, target: f64) -> Kpi {
        Kpi::new("issues", start, target).unwrap()
    }

    #[test]
    fn names_round_trip() {
        for mode in MeasureMode::ALL {
            assert_eq!(MeasureMode::parse(mode.as_str()), Some(*mode));
            assert_eq!(mode.to_string().parse::<MeasureMode>(), Ok(*mode));
        }
        for d in Direction::ALL {
            assert_eq!(Direction::parse(d.as_str()), Some(*d));
        }
        for s in ProgressSource::ALL {
            assert_eq!(ProgressSource::parse(s.as_str()), Some(*s));
        }
        assert_eq!(MeasureMode::Kpi.as_str(), "kpi");
        assert_eq!(MeasureMode::PercentComplete.as_str(), "percent_complete");
        assert_eq!(ProgressSource::RollUp.as_str(), "roll_up");
        assert_eq!(
            "sideways".parse::<Direction>(),
            Err(GoalError::UnknownName {
                what: Direction::NAMES,
                name: "sideways".into()
            })
        );
    }

    #[test]
    fn kpi_refuses_target_equal_to_start() {
        assert_eq!(
            Kpi::new("x", 5.0, 5.0),
            Err(GoalError::TargetEqualsStart { value: 5.0 })
        );
    }

    #[test]
    fn kpi_refuses_non_finite_values() {
        assert_eq!(
            Kpi::new("x", f64::NAN, 5.0),
            Err(GoalError::NotFinite {
                field: "start_value"
            })
        );
        assert_eq!(
            Kpi::new("x", 0.0, f64::INFINITY),
            Err(GoalError::NotFinite {
                field: "target_value"
            })
        );
        assert_eq!(
            kpi(0.0, 10.0).progress(f64::NAN),
            Err(GoalError::NotFinite { field: "value" })
        );
    }

    #[test]
    fn direction_is_derived() {
        assert_eq!(kpi(0.0, 30.0).direction(), Direction::Increasing);
        assert_eq!(kpi(50.0, 10.0).direction(), Direction::Decreasing);
        assert_eq!(kpi(-5.0, -1.0).direction(), Direction::Increasing);
    }

    #[test]
    fn stated_direction_must_agree() {
        assert!(Kpi::with_direction("x", 0.0, 10.0, Direction::Increasing).is_ok());
        assert!(Kpi::with_direction("x", 10.0, 0.0, Direction::Decreasing).is_ok());
        assert_eq!(
            Kpi::with_direction("x", 0.0, 10.0, Direction::Decreasing),
            Err(GoalError::DirectionMismatch {
                direction: "decreasing",
                start_value: 0.0,
                target_value: 10.0
            })
        );
    }

    #[test]
    fn spec_round_trip_validates() {
        let k = Kpi::new("bugs", 0.0, 20.0).unwrap();
        let spec = KpiSpec::from(k.clone());
        assert_eq!(spec.direction, Some(Direction::Increasing));
        assert_eq!(spec.unit, "bugs");
        assert_eq!(Kpi::try_from(spec), Ok(k));
        let bad = KpiSpec {
            unit: "bugs".into(),
            start_value: 3.0,
            target_value: 3.0,
            direction: None,
        };
        assert!(Kpi::try_from(bad).is_err());
        let contradicting = KpiSpec {
            unit: "bugs".into(),
            start_value: 0.0,
            target_value: 3.0,
            direction: Some(Direction::Decreasing),
        };
        assert_eq!(
            Kpi::try_from(contradicting).unwrap_err().field(),
            "direction"
        );
    }

    #[test]
    fn kpi_progress_increasing() {
        // "Resolve 30 issues": start 0, target 30.
        let k = kpi(0.0, 30.0);
        let p = k.progress(15.0).unwrap();
        assert_eq!(p.value, 15.0);
        assert_eq!(p.percent, 50.0);
        assert!(!p.target_reached);
        let p = k.progress(30.0).unwrap();
        assert_eq!(p.percent, 100.0);
        assert!(p.target_reached);
    }

    #[test]
    fn kpi_progress_with_nonzero_start() {
        let k = kpi(10.0, 20.0);
        assert_eq!(k.progress(10.0).unwrap().percent, 0.0);
        assert_eq!(k.progress(12.5).unwrap().percent, 25.0);
    }

    #[test]
    fn kpi_progress_clamps_for_the_bar_but_keeps_raw() {
        let k = kpi(10.0, 20.0);
        let over = k.progress(25.0).unwrap();
        assert_eq!(over.value, 25.0);
        assert_eq!(over.percent_raw, 150.0);
        assert_eq!(over.percent, 100.0);
        assert!(over.target_reached);
        let under = k.progress(5.0).unwrap();
        assert_eq!(under.percent_raw, -50.0);
        assert_eq!(under.percent, 0.0);
        assert!(!under.target_reached);
    }

    #[test]
    fn kpi_progress_decreasing() {
        // Open bugs from 50 down to 10.
        let k = kpi(50.0, 10.0);
        assert_eq!(k.progress(50.0).unwrap().percent, 0.0);
        assert_eq!(k.progress(30.0).unwrap().percent, 50.0);
        let done = k.progress(10.0).unwrap();
        assert_eq!(done.percent, 100.0);
        assert!(done.target_reached);
        let beyond = k.progress(0.0).unwrap();
        assert_eq!(beyond.percent_raw, 125.0);
        assert_eq!(beyond.percent, 100.0);
        assert!(beyond.target_reached);
        let worse = k.progress(60.0).unwrap();
        assert_eq!(worse.percent_raw, -25.0);
        assert_eq!(worse.percent, 0.0);
        assert!(!worse.target_reached);
    }

    #[test]
    fn percent_measure_takes_percent_values() {
        let m = Measure::PercentComplete;
        assert_eq!(m.mode(), MeasureMode::PercentComplete);
        let p = m.progress(40.0).unwrap();
        assert_eq!((p.value, p.percent, p.target_reached), (40.0, 40.0, false));
        assert!(m.progress(100.0).unwrap().target_reached);
        assert_eq!(m.progress(0.0).unwrap().percent, 0.0);
        assert_eq!(
            m.progress(100.5),
            Err(GoalError::PercentOutOfRange { value: 100.5 })
        );
        assert_eq!(
            m.progress(-1.0),
            Err(GoalError::PercentOutOfRange { value: -1.0 })
        );
        assert_eq!(
            m.progress(f64::NAN),
            Err(GoalError::NotFinite { field: "value" })
        );
    }

    #[test]
    fn kpi_measure_delegates() {
        let m = Measure::Kpi(kpi(0.0, 20.0));
        assert_eq!(m.mode(), MeasureMode::Kpi);
        assert_eq!(m.progress(5.0).unwrap().percent, 25.0);
        assert_eq!(m.progress(-5.0).unwrap().percent, 0.0);
    }

    #[test]
    fn ratio_progress() {
        let p = Progress::from_ratio(3.0, 10.0);
        assert!((p.percent - 30.0).abs() < 1e-12);
        assert_eq!(p.display_percent(), 30);
        assert!(!p.target_reached);
        let full = Progress::from_ratio(7.0, 7.0);
        assert_eq!(full.percent, 100.0);
        assert!(full.target_reached);
        let empty = Progress::from_ratio(0.0, 0.0);
        assert_eq!((empty.percent, empty.target_reached), (0.0, false));
        let negative = Progress::from_ratio(1.0, -2.0);
        assert_eq!((negative.percent, negative.target_reached), (0.0, false));
    }

    #[test]
    fn display_rounding() {
        assert_eq!(display_percent(3.0 / 11.0 * 100.0), 27);
        assert_eq!(display_percent(2.0 / 3.0 * 100.0), 67);
        assert_eq!(display_percent(12.5), 13);
        assert_eq!(display_percent(12.49), 12);
        assert_eq!(display_percent(0.0), 0);
        assert_eq!(display_percent(-3.0), 0);
        assert_eq!(display_percent(f64::NAN), 0);
        assert_eq!(display_percent(0.2), 1);
        assert_eq!(display_percent(99.6), 99);
        assert_eq!(display_percent(99.4), 99);
        assert_eq!(display_percent(100.0), 100);
        assert_eq!(display_percent(250.0), 100);
    }

    #[test]
    fn display_of_reached_target_is_100() {
        let p = Progress::from_ratio(199.0, 200.0);
        assert_eq!(p.display_percent(), 99);
        assert_eq!(Progress::from_ratio(200.0, 200.0).display_percent(), 100);
    }
}
