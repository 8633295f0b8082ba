//! The rules of durable background jobs: their states and when a failed job
//! runs again. The store keeps jobs; the engine runs them; this decides.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Where a job is in its life. `Dead` jobs are kept with their last error
/// until an admin retries or prunes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobState {
    Queued,
    Running,
    Done,
    Dead,
}

impl JobState {
    pub const ALL: [JobState; 4] = [
        JobState::Queued,
        JobState::Running,
        JobState::Done,
        JobState::Dead,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            JobState::Queued => "queued",
            JobState::Running => "running",
            JobState::Done => "done",
            JobState::Dead => "dead",
        }
    }

    pub fn parse(s: &str) -> Option<JobState> {
        JobState::ALL.into_iter().find(|state| state.as_str() == s)
    }
}

/// How often and how soon a failed job is tried again.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts in all, the first run included; after the last one the job is dead.
    pub max_attempts: u32,
    /// Delay before the second attempt; doubled for each one after.
    pub base_delay: Duration,
    /// No delay grows beyond this.
    pub max_delay: Duration,
    /// Share of the delay randomised either way (0.2 = ±20%), so that jobs
    /// that failed together do not all retry in the same instant.
    pub jitter: f64,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 8,
            base_delay: Duration::seconds(5),
            max_delay: Duration::hours(1),
            jitter: 0.2,
        }
    }
}

/// What happens to a job whose attempt failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureOutcome {
    RetryAt(DateTime<Utc>),
    Dead,
}

impl RetryPolicy {
    /// Decides the fate of a job after its `attempts`-th attempt failed.
    /// `unit_random` is a number in [0, 1) supplied by the caller, so the rule
    /// stays pure and testable.
    pub fn after_failure(
        &self,
        attempts: u32,
        now: DateTime<Utc>,
        unit_random: f64,
    ) -> FailureOutcome {
        if attempts >= self.max_attempts {
            return FailureOutcome::Dead;
        }
        FailureOutcome::RetryAt(now + self.delay(attempts, unit_random))
    }

    /// Exponential delay after the `attempts`-th failed attempt, with jitter.
    pub fn delay(&self, attempts: u32, unit_random: f64) -> Duration {
        let exponent = attempts.saturating_sub(1).min(30);
        let base_ms = self.base_delay.num_milliseconds().max(0) as f64;
        let cap_ms = self.max_delay.num_milliseconds().max(0) as f64;
        let raw = (base_ms * 2f64.powi(exponent as i32)).min(cap_ms);
        let jitter = self.jitter.clamp(0.0, 1.0);
        let factor = 1.0 + jitter * (2.0 * unit_random.clamp(0.0, 1.0) - 1.0);
        Duration::milliseconds((raw * factor).round() as i64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> RetryPolicy {
        RetryPolicy {
            max_attempts: 5,
            base_delay: Duration::seconds(10),
            max_delay: Duration::seconds(60),
            jitter: 0.2,
        }
    }

    #[test]
    fn delay_doubles_per_attempt_up_to_the_cap() {
        let p = policy();
        // unit_random 0.5 means no jitter.
        assert_eq!(p.delay(1, 0.5), Duration::seconds(10));
        assert_eq!(p.delay(2, 0.5), Duration::seconds(20));
        assert_eq!(p.delay(3, 0.5), Duration::seconds(40));
        assert_eq!(p.delay(4, 0.5), Duration::seconds(60));
        assert_eq!(p.delay(30, 0.5), Duration::seconds(60));
    }

    #[test]
    fn jitter_stays_within_its_share() {
        let p = policy();
        assert_eq!(p.delay(1, 0.0), Duration::seconds(8));
        assert_eq!(p.delay(1, 1.0), Duration::seconds(12));
        for i in 0..100 {
            let d = p.delay(2, i as f64 / 100.0);
            assert!(
                d >= Duration::seconds(16) && d <= Duration::seconds(24),
                "{d}"
            );
        }
    }

    #[test]
    fn last_attempt_makes_the_job_dead() {
        let p = policy();
        let now = Utc::now();
        assert_eq!(
            p.after_failure(4, now, 0.5),
            FailureOutcome::RetryAt(now + Duration::seconds(60))
        );
        assert_eq!(p.after_failure(5, now, 0.5), FailureOutcome::Dead);
        assert_eq!(p.after_failure(9, now, 0.5), FailureOutcome::Dead);
    }

    #[test]
    fn job_states_round_trip_through_their_names() {
        for state in JobState::ALL {
            assert_eq!(JobState::parse(state.as_str()), Some(state));
        }
        assert_eq!(JobState::parse("bogus"), None);
    }
}
