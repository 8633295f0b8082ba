//! Why a goal setting or value was refused.

use chrono::NaiveDate;

/// A refused goal setting or value. Each error names the field at fault
/// ([`GoalError::field`]) so the API can answer with a clear 4xx and save
/// nothing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum GoalError {
    /// A name that is not one of an enum's stable names.
    #[error("`{name}` is not one of: {what}")]
    UnknownName {
        /// The names allowed, for people, e.g. `on_track, at_risk, ...`.
        what: &'static str,
        /// The name that was given.
        name: String,
    },
    /// NaN or an infinity where a number is needed.
    #[error("{field} must be a finite number")]
    NotFinite {
        /// The field at fault.
        field: &'static str,
    },
    /// A KPI whose target equals its start has no direction and no progress.
    #[error("target_value must differ from start_value ({value})")]
    TargetEqualsStart {
        /// The shared value.
        value: f64,
    },
    /// A stated direction that contradicts the start and target values.
    #[error(
        "direction `{direction}` contradicts start_value {start_value} and target_value {target_value}"
    )]
    DirectionMismatch {
        /// The stated direction's name.
        direction: &'static str,
        /// The KPI's start value.
        start_value: f64,
        /// The KPI's target value.
        target_value: f64,
    },
    /// An OKR due before it starts.
    #[error("due_date {due_date} is before start_date {start_date}")]
    DueBeforeStart {
        /// The start date.
        start_date: NaiveDate,
        /// The due date.
        due_date: NaiveDate,
    },
    /// A roll-up weight below zero.
    #[error("weight must be zero or more, got {weight}")]
    NegativeWeight {
        /// The refused weight.
        weight: f64,
    },
    /// A percent-complete check-in outside 0..=100.
    #[error("value must be between 0 and 100 for a percent complete measure, got {value}")]
    PercentOutOfRange {
        /// The refused value.
        value: f64,
    },
    /// A metric that only makes sense as a KPI (remaining estimate, progress)
    /// chosen with percent complete.
    #[error("metric `{metric}` is only available with a KPI measure, not percent complete")]
    MetricRequiresKpi {
        /// The metric's stable name.
        metric: String,
    },
    /// A setting the measure's mode needs but the link lacks.
    #[error("{field} is required with a {mode} measure")]
    SettingRequired {
        /// The missing field.
        field: &'static str,
        /// The measure mode's stable name.
        mode: &'static str,
    },
    /// A setting that has no meaning with the measure's mode.
    #[error("{field} is not allowed with a {mode} measure")]
    SettingNotAllowed {
        /// The superfluous field.
        field: &'static str,
        /// The measure mode's stable name.
        mode: &'static str,
    },
    /// A custom field metric without a field id.
    #[error("metric `custom_field` needs a field id, e.g. `custom_field:customfield_10016`")]
    MissingCustomField,
}

impl GoalError {
    /// The API field this error is about, so a 4xx can name it.
    pub fn field(&self) -> &'static str {
        match self {
            GoalError::UnknownName { .. } => "name",
            GoalError::NotFinite { field } => field,
            GoalError::TargetEqualsStart { .. } => "target_value",
            GoalError::DirectionMismatch { .. } => "direction",
            GoalError::DueBeforeStart { .. } => "due_date",
            GoalError::NegativeWeight { .. } => "weight",
            GoalError::PercentOutOfRange { .. } => "value",
            GoalError::MetricRequiresKpi { .. } => "metric",
            GoalError::SettingRequired { field, .. } => field,
            GoalError::SettingNotAllowed { field, .. } => field,
            GoalError::MissingCustomField => "metric",
        }
    }
}

/// `Ok(value)` when `value` is finite, else an error naming `field`.
pub(crate) fn finite(field: &'static str, value: f64) -> Result<f64, GoalError> {
    if value.is_finite() {
        Ok(value)
    } else {
        Err(GoalError::NotFinite { field })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_names_its_field() {
        let date = NaiveDate::from_ymd_opt(2025, 1, 1).unwrap_or_default();
        let cases = [
            (
                GoalError::UnknownName {
                    what: "on_track",
                    name: "x".into(),
                },
                "name",
            ),
            (GoalError::NotFinite { field: "value" }, "value"),
            (GoalError::TargetEqualsStart { value: 1.0 }, "target_value"),
            (
                GoalError::DirectionMismatch {
                    direction: "increasing",
                    start_value: 2.0,
                    target_value: 1.0,
                },
                "direction",
            ),
            (
                GoalError::DueBeforeStart {
                    start_date: date,
                    due_date: date,
                },
                "due_date",
            ),
            (GoalError::NegativeWeight { weight: -1.0 }, "weight"),
            (GoalError::PercentOutOfRange { value: 101.0 }, "value"),
            (
                GoalError::MetricRequiresKpi {
                    metric: "progress".into(),
                },
                "metric",
            ),
            (
                GoalError::SettingRequired {
                    field: "scope",
                    mode: "kpi",
                },
                "scope",
            ),
            (
                GoalError::SettingNotAllowed {
                    field: "state",
                    mode: "percent_complete",
                },
                "state",
            ),
            (GoalError::MissingCustomField, "metric"),
        ];
        for (error, field) in cases {
            assert_eq!(error.field(), field, "{error}");
            assert!(!error.to_string().is_empty());
        }
    }

    #[test]
    fn messages_name_the_metric_and_mode() {
        let e = GoalError::MetricRequiresKpi {
            metric: "remaining_estimate".into(),
        };
        assert!(e.to_string().contains("remaining_estimate"));
        let e = GoalError::SettingRequired {
            field: "state",
            mode: "kpi",
        };
        assert_eq!(e.to_string(), "state is required with a kpi measure");
    }

    #[test]
    fn finite_refuses_nan_and_infinity() {
        assert_eq!(finite("value", 1.5), Ok(1.5));
        assert_eq!(
            finite("value", f64::NAN),
            Err(GoalError::NotFinite { field: "value" })
        );
        assert_eq!(
            finite("start_value", f64::INFINITY),
            Err(GoalError::NotFinite {
                field: "start_value"
            })
        );
    }
}
