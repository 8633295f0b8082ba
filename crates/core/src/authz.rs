//! Who may do what: the one place Cairn's access rules live. Handlers ask
//! [`decide`]; none of them re-implements a rule.
//!
//! A member who asks for another member's private connection hears "not
//! found", not "forbidden", so its existence is not revealed.

use serde::{Deserialize, Serialize};

/// A user's role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Admin,
    Member,
}

impl Role {
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        match s {
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// The signed-in user a request acts for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Actor {
    pub user_id: i64,
    pub role: Role,
}

/// What can be done to a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionOp {
    /// See it in lists and read its non-secret fields and health.
    View,
    /// Link OKRs to it, browse through it, test it. Never reveals the secret.
    Use,
    /// Change its name, URL, secret or sharing.
    Edit,
    Delete,
}

/// The facts about a connection that decide access to it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionFacts {
    pub owner_id: i64,
    pub shared: bool,
}

/// Everything that needs a permission.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Read the integration catalog.
    ViewCatalog,
    /// Enable or disable an integration.
    ManageCatalog,
    /// List, create and change users.
    ManageUsers,
    /// Read the audit log.
    ViewAudit,
    /// Create a connection (owned by the actor).
    CreateConnection,
    Connection(ConnectionOp, ConnectionFacts),
    /// Read and manage one's own profile and API tokens.
    OwnAccount,
    /// Create periods (quarters); organisation-wide, so admins only.
    ManagePeriods,
    /// See periods, OKRs, their progress and history; OKRs are open to the
    /// whole organisation.
    ViewGoals,
    /// Create an OKR owned by the actor.
    CreateOkr,
    /// Edit, delete, link or check in on an OKR with this owner.
    ChangeOkr {
        owner_id: i64,
    },
    /// Make `new_owner_id` the owner of an OKR, when creating it
    /// (`current_owner_id` is `None`) or by a handover. A member may create
    /// OKRs owned by themselves only, and may hand an OKR they own to
    /// another user; an admin may give any OKR to anyone. That the new owner
    /// is an active user is a validation, not a permission.
    AssignOkr {
        current_owner_id: Option<i64>,
        new_owner_id: i64,
    },
    /// Create, rename, delete teams and change their lead and members:
    /// organisation-wide, so admins only. Everyone signed in sees teams
    /// ([`Action::ViewGoals`]).
    ManageTeams,
    /// Make a team an owner of an OKR (when creating or changing it): a
    /// member may give OKRs to a team they belong to; an admin to any.
    AssignOkrTeam {
        member_of_team: bool,
    },
    /// Edit or delete a check-in by this author.
    ChangeCheckIn {
        author_id: i64,
    },
    /// Create a notification channel (Slack, Teams, signed webhook). A
    /// channel posts to a place the whole organisation may read and holds
    /// a credential, so admins only.
    CreateChannel,
    /// See, change, test, delete a channel, rotate its secret, read its
    /// deliveries, and manage subscriptions: admins only (they manage all
    /// channels).
    ManageChannel,
    /// Read and dismiss notices for admins (a channel was disabled, ...).
    ViewNotices,
    /// Create a sync pair (owned by the actor), through connections the
    /// actor may use.
    CreateSyncPair,
    /// See, change, run, retry or delete a sync pair with this owner: its
    /// owner and admins. Others are told it does not exist, since a pair's
    /// items come from the owner's connections.
    SyncPair {
        owner_id: i64,
    },
}

/// The answer, with the status a web layer gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    /// Nobody is signed in: 401.
    Unauthenticated,
    /// Signed in, may know the thing exists, may not do this: 403.
    Forbidden,
    /// May not even know the thing exists: 404.
    NotFound,
}

/// Decides whether `actor` (None when nobody is signed in) may do `action`.
pub fn decide(actor: Option<Actor>, action: Action) -> Decision {
    let Some(actor) = actor else {
        return Decision::Unauthenticated;
    };
    if actor.role == Role::Admin {
        return Decision::Allow;
    }
    match action {
        Action::ViewCatalog
        | Action::CreateConnection
        | Action::OwnAccount
        | Action::ViewGoals
        | Action::CreateOkr
        | Action::CreateSyncPair => Decision::Allow,
        Action::ManageCatalog
        | Action::ManageUsers
        | Action::ViewAudit
        | Action::ManagePeriods
        | Action::ManageTeams
        | Action::CreateChannel
        | Action::ManageChannel
        | Action::ViewNotices => Decision::Forbidden,
        Action::ChangeOkr { owner_id } if owner_id == actor.user_id => Decision::Allow,
        Action::AssignOkr {
            current_owner_id: None,
            new_owner_id,
        } if new_owner_id == actor.user_id => Decision::Allow,
        Action::AssignOkr {
            current_owner_id: Some(owner_id),
            ..
        } if owner_id == actor.user_id => Decision::Allow,
        Action::AssignOkr { .. } => Decision::Forbidden,
        Action::AssignOkrTeam { member_of_team } => {
            if member_of_team {
                Decision::Allow
            } else {
                Decision::Forbidden
            }
        }
        Action::ChangeCheckIn { author_id } if author_id == actor.user_id => Decision::Allow,
        Action::ChangeOkr { .. } | Action::ChangeCheckIn { .. } => Decision::Forbidden,
        Action::SyncPair { owner_id } if owner_id == actor.user_id => Decision::Allow,
        Action::SyncPair { .. } => Decision::NotFound,
        Action::Connection(op, facts) => {
            let owner = facts.owner_id == actor.user_id;
            match (owner, facts.shared, op) {
                (true, _, _) => Decision::Allow,
                (false, true, ConnectionOp::View | ConnectionOp::Use) => Decision::Allow,
                (false, true, ConnectionOp::Edit | ConnectionOp::Delete) => Decision::Forbidden,
                (false, false, _) => Decision::NotFound,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADMIN: Actor = Actor {
        user_id: 1,
        role: Role::Admin,
    };
    const OWNER: Actor = Actor {
        user_id: 2,
        role: Role::Member,
    };
    const OTHER: Actor = Actor {
        user_id: 3,
        role: Role::Member,
    };

    fn conn(op: ConnectionOp, shared: bool) -> Action {
        Action::Connection(
            op,
            ConnectionFacts {
                owner_id: OWNER.user_id,
                shared,
            },
        )
    }

    #[test]
    fn members_create_okrs_for_themselves_and_hand_over_only_their_own() {
        let assign = |current_owner_id, new_owner_id| Action::AssignOkr {
            current_owner_id,
            new_owner_id,
        };
        let me = OWNER.user_id;
        let them = OTHER.user_id;
        assert_eq!(decide(Some(OWNER), assign(None, me)), Decision::Allow);
        assert_eq!(
            decide(Some(OWNER), assign(None, them)),
            Decision::Forbidden,
            "creating work for someone else"
        );
        assert_eq!(decide(Some(OWNER), assign(Some(me), them)), Decision::Allow);
        assert_eq!(
            decide(Some(OWNER), assign(Some(them), me)),
            Decision::Forbidden,
            "taking someone's OKR"
        );
        assert_eq!(decide(Some(ADMIN), assign(None, them)), Decision::Allow);
        assert_eq!(decide(Some(ADMIN), assign(Some(me), them)), Decision::Allow);
        assert_eq!(decide(None, assign(None, me)), Decision::Unauthenticated);
    }

    #[test]
    fn admins_manage_teams_and_members_give_okrs_to_their_own_teams() {
        assert_eq!(decide(Some(ADMIN), Action::ManageTeams), Decision::Allow);
        assert_eq!(
            decide(Some(OWNER), Action::ManageTeams),
            Decision::Forbidden
        );
        assert_eq!(decide(None, Action::ManageTeams), Decision::Unauthenticated);
        let team = |member_of_team| Action::AssignOkrTeam { member_of_team };
        assert_eq!(decide(Some(OWNER), team(true)), Decision::Allow);
        assert_eq!(decide(Some(OWNER), team(false)), Decision::Forbidden);
        assert_eq!(decide(Some(ADMIN), team(false)), Decision::Allow);
    }

    #[test]
    fn nobody_signed_in_may_do_nothing() {
        for action in [
            Action::ViewCatalog,
            Action::OwnAccount,
            conn(ConnectionOp::View, true),
        ] {
            assert_eq!(decide(None, action), Decision::Unauthenticated);
        }
    }

    #[test]
    fn sync_pairs_belong_to_their_owner_and_admins() {
        let pair = Action::SyncPair {
            owner_id: OWNER.user_id,
        };
        assert_eq!(decide(Some(OWNER), pair), Decision::Allow);
        assert_eq!(decide(Some(ADMIN), pair), Decision::Allow);
        assert_eq!(decide(Some(OTHER), pair), Decision::NotFound);
        assert_eq!(decide(None, pair), Decision::Unauthenticated);
        assert_eq!(decide(Some(OTHER), Action::CreateSyncPair), Decision::Allow);
    }

    #[test]
    fn admins_may_do_everything() {
        for action in [
            Action::ManageCatalog,
            Action::ManageUsers,
            Action::ViewAudit,
            conn(ConnectionOp::Edit, false),
            conn(ConnectionOp::Delete, false),
        ] {
            assert_eq!(decide(Some(ADMIN), action), Decision::Allow);
        }
    }

    #[test]
    fn members_may_not_administer() {
        for action in [
            Action::ManageCatalog,
            Action::ManageUsers,
            Action::ViewAudit,
            Action::CreateChannel,
            Action::ManageChannel,
            Action::ViewNotices,
        ] {
            assert_eq!(decide(Some(OTHER), action), Decision::Forbidden);
            assert_eq!(decide(Some(ADMIN), action), Decision::Allow);
        }
        for action in [
            Action::ViewCatalog,
            Action::CreateConnection,
            Action::OwnAccount,
        ] {
            assert_eq!(decide(Some(OTHER), action), Decision::Allow);
        }
    }

    #[test]
    fn okrs_belong_to_their_owner_and_check_ins_to_their_author() {
        let owned = Action::ChangeOkr {
            owner_id: OWNER.user_id,
        };
        let authored = Action::ChangeCheckIn {
            author_id: OWNER.user_id,
        };
        for action in [owned, authored] {
            assert_eq!(decide(Some(OWNER), action), Decision::Allow);
            assert_eq!(decide(Some(OTHER), action), Decision::Forbidden);
            assert_eq!(decide(Some(ADMIN), action), Decision::Allow);
        }
        assert_eq!(decide(Some(OTHER), Action::ViewGoals), Decision::Allow);
        assert_eq!(
            decide(Some(OTHER), Action::ManagePeriods),
            Decision::Forbidden
        );
        assert_eq!(decide(None, Action::ViewGoals), Decision::Unauthenticated);
    }

    #[test]
    fn connection_matrix() {
        use ConnectionOp::*;
        use Decision::*;
        // (op, shared, owner's answer, other member's answer)
        let table = [
            (View, false, Allow, NotFound),
            (Use, false, Allow, NotFound),
            (Edit, false, Allow, NotFound),
            (Delete, false, Allow, NotFound),
            (View, true, Allow, Allow),
            (Use, true, Allow, Allow),
            (Edit, true, Allow, Forbidden),
            (Delete, true, Allow, Forbidden),
        ];
        for (op, shared, owner, other) in table {
            assert_eq!(
                decide(Some(OWNER), conn(op, shared)),
                owner,
                "{op:?} shared={shared}"
            );
            assert_eq!(
                decide(Some(OTHER), conn(op, shared)),
                other,
                "{op:?} shared={shared}"
            );
            assert_eq!(decide(Some(ADMIN), conn(op, shared)), Allow);
        }
    }
}
