//! The integration catalog's kinds.

use serde::{Deserialize, Serialize};

/// A kind of integration an admin can enable or disable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IntegrationKind {
    Gitlab,
    Jira,
    Slack,
    Teams,
    Webhook,
}

impl IntegrationKind {
    pub const ALL: [IntegrationKind; 5] = [
        IntegrationKind::Gitlab,
        IntegrationKind::Jira,
        IntegrationKind::Slack,
        IntegrationKind::Teams,
        IntegrationKind::Webhook,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            IntegrationKind::Gitlab => "gitlab",
            IntegrationKind::Jira => "jira",
            IntegrationKind::Slack => "slack",
            IntegrationKind::Teams => "teams",
            IntegrationKind::Webhook => "webhook",
        }
    }

    pub fn parse(s: &str) -> Option<IntegrationKind> {
        IntegrationKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The name people know it by.
    pub fn title(self) -> &'static str {
        match self {
            IntegrationKind::Gitlab => "GitLab",
            IntegrationKind::Jira => "Jira",
            IntegrationKind::Slack => "Slack",
            IntegrationKind::Teams => "Microsoft Teams",
            IntegrationKind::Webhook => "Generic webhook",
        }
    }

    /// Whether connections of this kind are trackers Cairn reads from.
    pub fn is_tracker(self) -> bool {
        matches!(self, IntegrationKind::Gitlab | IntegrationKind::Jira)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip() {
        for kind in IntegrationKind::ALL {
            assert_eq!(IntegrationKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(IntegrationKind::parse("github"), None);
    }
}
