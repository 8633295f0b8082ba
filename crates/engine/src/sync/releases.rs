//! Releases across a pair: GitLab milestones and Jira versions (or two
//! projects' milestones) linked one to one, as the seed's "Release
//! Mapping" describes (`cairn_core::sync::releases` holds the rules).
//!
//! Before anything is created, releases with equal names are linked; a
//! release still unlinked is then created on the other side (when the
//! pair's milestone direction carries from its side) and linked. This runs
//! on every scan, so a new milestone appears as a version without an issue
//! naming it, and when an item names a release not linked yet, before its
//! milestone is carried. Releases that exist on both sides under other
//! names are linked by hand (the seed's "GitLab ID" field); the pair's
//! preview lists what would be created so a person can do that first.

use cairn_connect::ConnectError;
use cairn_connect::gitlab::NewMilestone;
use cairn_connect::jira::NewJiraVersion;
use cairn_core::sync::{
    FieldDirection, NameChange, NamedLink, Release, ReleaseLink, ReleaseLinkHow, Side, SyncField,
    check_new_link, link_by_name, renames, to_create,
};
use cairn_store::sync::{RemoteRef, SyncPair};
use cairn_store::sync_releases::{NewSyncReleaseLink, SyncReleaseLink};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::json;

use super::SyncEngine;
use super::item::{Carry, CarryError};
use super::pairs::{PreviewEntry, audit};
use super::side::{Failure, RemoteItem, SideClient};
use crate::accounts::Authenticated;
use crate::error::EngineError;

impl SideClient {
    /// The side's releases: a GitLab project's milestones, or a Jira
    /// project's versions (archived ones left out: Jira offers them to no
    /// issue).
    pub async fn releases(&self) -> Result<Vec<Release>, ConnectError> {
        match self {
            SideClient::GitLab(g) => {
                let mut pages = g.client.milestones(&g.project, None);
                let mut releases = Vec::new();
                while let Some(page) = pages.next_page().await? {
                    releases.extend(page.into_iter().map(|m| Release {
                        id: m.id.to_string(),
                        name: m.title,
                        closed: m.state.as_deref() == Some("closed"),
                        due: m.due_date,
                    }));
                }
                Ok(releases)
            }
            SideClient::Jira(j) => Ok(j
                .client
                .project_versions(&j.project_key)
                .await?
                .into_iter()
                .filter(|v| !v.archived)
                .map(|v| Release {
                    id: v.id,
                    name: v.name,
                    closed: v.released,
                    due: v.release_date,
                })
                .collect()),
        }
    }

    /// Creates the twin of `origin` here: same name, due date as release
    /// date (and back), closed as released (and back).
    pub async fn create_release(&self, origin: &Release) -> Result<Release, ConnectError> {
        match self {
            SideClient::GitLab(g) => {
                let made = g
                    .client
                    .create_milestone(
                        &g.project,
                        &NewMilestone {
                            title: origin.name.clone(),
                            description: None,
                            due_date: origin.due,
                        },
                    )
                    .await?;
                let made = if origin.closed {
                    g.client.close_milestone(&g.project, made.id).await?
                } else {
                    made
                };
                Ok(Release {
                    id: made.id.to_string(),
                    name: made.title,
                    closed: made.state.as_deref() == Some("closed"),
                    due: made.due_date,
                })
            }
            SideClient::Jira(j) => {
                let made = j
                    .client
                    .create_version(
                        &j.project_key,
                        &NewJiraVersion {
                            name: origin.name.clone(),
                            description: None,
                            released: origin.closed,
                            release_date: origin.due,
                        },
                    )
                    .await?;
                Ok(Release {
                    id: made.id,
                    name: made.name,
                    closed: made.released,
                    due: made.release_date,
                })
            }
        }
    }

    /// Renames release `id` here: a rename on the other side, carried.
    pub async fn rename_release(&self, id: &str, name: &str) -> Result<(), ConnectError> {
        match self {
            SideClient::GitLab(g) => {
                let id = id.parse::<u64>().map_err(|_| {
                    ConnectError::InvalidInput(format!("`{id}` is not a milestone id"))
                })?;
                g.client.rename_milestone(&g.project, id, name).await?;
            }
            SideClient::Jira(j) => {
                j.client.rename_version(id, name).await?;
            }
        }
        Ok(())
    }

    /// What the tracker calls a release.
    fn release_word(&self) -> &'static str {
        match self {
            SideClient::GitLab(_) => "milestone",
            SideClient::Jira(_) => "version",
        }
    }
}

fn links_of(stored: &[SyncReleaseLink]) -> Vec<ReleaseLink> {
    stored
        .iter()
        .map(|l| ReleaseLink {
            left_id: l.left_id.clone(),
            right_id: l.right_id.clone(),
            how: l.how,
        })
        .collect()
}

fn name_of(releases: &[Release], id: &str) -> String {
    releases
        .iter()
        .find(|r| r.id == id)
        .map(|r| r.name.clone())
        .unwrap_or_default()
}

/// A side's releases, with the failure named as sync reports it.
async fn side_releases(side: Side, client: &SideClient) -> Result<Vec<Release>, Failure> {
    client.releases().await.map_err(|e| {
        Failure::from_connect(
            client.tracker(),
            &format!("listing the {side} side's {}s", client.release_word()),
            &e,
        )
    })
}

/// Both sides' releases.
async fn both_releases(
    left: &SideClient,
    right: &SideClient,
) -> Result<(Vec<Release>, Vec<Release>), Failure> {
    Ok((
        side_releases(Side::Left, left).await?,
        side_releases(Side::Right, right).await?,
    ))
}

/// A pair's releases as the API and the pair's page show them.
#[derive(Debug, Clone, Serialize)]
pub struct ReleasesView {
    /// The links, oldest first.
    pub links: Vec<SyncReleaseLink>,
    pub left: Vec<Release>,
    pub right: Vec<Release>,
    /// Releases the pair would create on the other side now (after
    /// linking equal names): link them by hand first if they exist there
    /// under another name.
    pub to_create: Vec<ReleaseToCreate>,
}

/// A release the pair would create on the other side.
#[derive(Debug, Clone, Serialize)]
pub struct ReleaseToCreate {
    /// The side it is on.
    pub side: Side,
    pub id: String,
    pub name: String,
}

/// The links equal names would make, and what would be created then,
/// writing nothing.
fn plan(
    pair: &SyncPair,
    left: &[Release],
    right: &[Release],
    stored: &[SyncReleaseLink],
) -> Vec<ReleaseToCreate> {
    let direction = pair.settings.fields.get(SyncField::Milestone).direction;
    let mut links = links_of(stored);
    links.extend(link_by_name(left, right, &links));
    let mut out = Vec::new();
    for (side, own, other) in [(Side::Left, left, right), (Side::Right, right, left)] {
        if !direction.carries(side) {
            continue;
        }
        for r in to_create(side, own, other, &links) {
            out.push(ReleaseToCreate {
                side,
                id: r.id.clone(),
                name: r.name.clone(),
            });
        }
    }
    out
}

impl SyncEngine {
    /// Links a pair's releases with equal names, then creates each
    /// release still unlinked on the other side (as the pair's milestone
    /// direction allows) and links it; returns the links as they are now.
    /// A pair that never carries milestones only reads its links.
    pub(crate) async fn sync_releases(
        &self,
        pair: &SyncPair,
        left: &SideClient,
        right: &SideClient,
    ) -> Result<Vec<ReleaseLink>, CarryError> {
        let direction = pair.settings.fields.get(SyncField::Milestone).direction;
        if direction == FieldDirection::Never {
            return Ok(links_of(
                &self.store.list_sync_release_links(pair.id).await?,
            ));
        }
        let _one_at_a_time = self.release_sync.lock().await;
        let (left_releases, right_releases) = both_releases(left, right).await?;
        let stored = self.store.list_sync_release_links(pair.id).await?;
        let by_name = link_by_name(&left_releases, &right_releases, &links_of(&stored));
        if !by_name.is_empty() {
            let mut tx = self.store.begin().await?;
            for link in &by_name {
                tx.insert_sync_release_link(
                    &NewSyncReleaseLink {
                        pair_id: pair.id,
                        left_id: link.left_id.clone(),
                        left_name: name_of(&left_releases, &link.left_id),
                        right_id: link.right_id.clone(),
                        right_name: name_of(&right_releases, &link.right_id),
                        how: ReleaseLinkHow::ByName,
                    },
                    Utc::now(),
                )
                .await?;
            }
            tx.commit().await?;
        }
        // As stored, with what another worker linked meanwhile.
        let stored = self.store.list_sync_release_links(pair.id).await?;
        self.carry_renames(
            pair,
            &stored,
            (left, &left_releases),
            (right, &right_releases),
        )
        .await?;
        let mut links = links_of(&stored);
        for (side, own, other, target) in [
            (Side::Left, &left_releases, &right_releases, right),
            (Side::Right, &right_releases, &left_releases, left),
        ] {
            if !direction.carries(side) {
                continue;
            }
            let wanted: Vec<Release> = to_create(side, own, other, &links)
                .into_iter()
                .cloned()
                .collect();
            for origin in wanted {
                let made = target.create_release(&origin).await.map_err(|e| {
                    Failure::from_connect(
                        target.tracker(),
                        &format!(
                            "creating {} `{}` as the twin of the {side} side's",
                            target.release_word(),
                            origin.name
                        ),
                        &e,
                    )
                })?;
                let (left_release, right_release) = match side {
                    Side::Left => (&origin, &made),
                    Side::Right => (&made, &origin),
                };
                let link = NewSyncReleaseLink {
                    pair_id: pair.id,
                    left_id: left_release.id.clone(),
                    left_name: left_release.name.clone(),
                    right_id: right_release.id.clone(),
                    right_name: right_release.name.clone(),
                    how: ReleaseLinkHow::Created,
                };
                let mut tx = self.store.begin().await?;
                tx.insert_sync_release_link(&link, Utc::now()).await?;
                tx.commit().await?;
                metrics::counter!("cairn_sync_releases_created_total", "side" => side.other().as_str())
                    .increment(1);
                links.push(ReleaseLink {
                    left_id: link.left_id,
                    right_id: link.right_id,
                    how: ReleaseLinkHow::Created,
                });
            }
        }
        Ok(links)
    }

    /// A release renamed on one side since its link last saw it is renamed
    /// on the other, as the pair's milestone direction allows
    /// (`cairn_core::sync::renames`); the link then remembers the names.
    async fn carry_renames(
        &self,
        pair: &SyncPair,
        stored: &[SyncReleaseLink],
        (left, left_releases): (&SideClient, &[Release]),
        (right, right_releases): (&SideClient, &[Release]),
    ) -> Result<(), CarryError> {
        let direction = pair.settings.fields.get(SyncField::Milestone).direction;
        let named: Vec<NamedLink> = stored
            .iter()
            .map(|l| NamedLink {
                left_id: l.left_id.clone(),
                left_name: l.left_name.clone(),
                right_id: l.right_id.clone(),
                right_name: l.right_name.clone(),
            })
            .collect();
        for (i, change) in renames(&named, left_releases, right_releases, |from| {
            direction.carries(from)
        }) {
            let link = &stored[i];
            let (left_name, right_name) = match change {
                NameChange::Carry { to, id, name } => {
                    let target = match to {
                        Side::Left => left,
                        Side::Right => right,
                    };
                    match target.rename_release(&id, &name).await {
                        Ok(()) => {
                            metrics::counter!("cairn_sync_releases_renamed_total", "side" => to.as_str())
                                .increment(1);
                            (name.clone(), name)
                        }
                        // Refused (a name taken there, say): the items
                        // still carry through the link; the link
                        // remembers the names so it is not tried again.
                        Err(error) => {
                            tracing::warn!(
                                pair = pair.id,
                                release = %id,
                                name = %name,
                                %error,
                                "a release's rename was not carried to the other side"
                            );
                            match to {
                                Side::Right => (name, link.right_name.clone()),
                                Side::Left => (link.left_name.clone(), name),
                            }
                        }
                    }
                }
                NameChange::Remember {
                    left_name,
                    right_name,
                } => (left_name, right_name),
            };
            let mut tx = self.store.begin().await?;
            tx.rename_sync_release_link(pair.id, link.id, &left_name, &right_name)
                .await?;
            tx.commit().await?;
        }
        Ok(())
    }

    /// The scan's part: new releases on either side are linked or created
    /// even when no issue names them. A failure is logged and left to the
    /// next scan (and to the items naming a release, which fail alone).
    pub(crate) async fn scan_releases(&self, pair: &SyncPair) {
        if pair.settings.fields.get(SyncField::Milestone).direction == FieldDirection::Never {
            return;
        }
        let result = match (
            self.side_client(pair, Side::Left).await,
            self.side_client(pair, Side::Right).await,
        ) {
            (Ok(left), Ok(right)) => self
                .sync_releases(pair, &left, &right)
                .await
                .map(|_| ())
                .map_err(|e| e.to_string()),
            (Err(e), _) | (_, Err(e)) => Err(e.to_string()),
        };
        if let Err(error) = result {
            tracing::warn!(pair = pair.id, %error, "sync scan could not link the pair's releases");
        }
    }

    /// The pair's release links, both sides' releases read now, and what
    /// the pair would create.
    pub async fn list_releases(
        &self,
        by: &Authenticated,
        pair_id: i64,
    ) -> Result<ReleasesView, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let (left, right) = self.read_releases(&pair).await?;
        let links = self.store.list_sync_release_links(pair.id).await?;
        let to_create = plan(&pair, &left, &right, &links);
        Ok(ReleasesView {
            links,
            left,
            right,
            to_create,
        })
    }

    async fn read_releases(
        &self,
        pair: &SyncPair,
    ) -> Result<(Vec<Release>, Vec<Release>), EngineError> {
        let left = self.side_client(pair, Side::Left).await?;
        let right = self.side_client(pair, Side::Right).await?;
        both_releases(&left, &right)
            .await
            .map_err(|f| EngineError::invalid("releases", f.message().to_owned()))
    }

    /// The preview's part: each release the pair would create on the
    /// other side, as a `create_release` entry naming it on its side.
    pub(crate) async fn preview_releases(
        &self,
        pair: &SyncPair,
        left: &SideClient,
        right: &SideClient,
    ) -> Result<Vec<PreviewEntry>, EngineError> {
        if pair.settings.fields.get(SyncField::Milestone).direction == FieldDirection::Never {
            return Ok(Vec::new());
        }
        let (left_releases, right_releases) = both_releases(left, right)
            .await
            .map_err(|f| EngineError::invalid("releases", f.message().to_owned()))?;
        let links = self.store.list_sync_release_links(pair.id).await?;
        Ok(plan(pair, &left_releases, &right_releases, &links)
            .into_iter()
            .map(|r| {
                let reference = Some(RemoteRef {
                    id: r.id.clone(),
                    key: r.name.clone(),
                    url: String::new(),
                });
                let (l, rr) = match r.side {
                    Side::Left => (reference, None),
                    Side::Right => (None, reference),
                };
                PreviewEntry {
                    action: "create_release",
                    left: l,
                    right: rr,
                    title: r.name,
                    changes: Vec::new(),
                }
            })
            .collect())
    }

    /// Links a release on the left to one on the right by hand (the
    /// seed's "GitLab ID"). Refused (422, naming `left_id` or `right_id`,
    /// nothing saved) when either is not one of its side's releases or is
    /// linked already.
    pub async fn link_release(
        &self,
        by: &Authenticated,
        pair_id: i64,
        left_id: &str,
        right_id: &str,
        now: DateTime<Utc>,
    ) -> Result<SyncReleaseLink, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let (left_id, right_id) = (left_id.trim(), right_id.trim());
        let stored = self.store.list_sync_release_links(pair.id).await?;
        check_new_link(&links_of(&stored), left_id, right_id)
            .map_err(|e| EngineError::invalid(e.field(), format!("{e}; remove that link first")))?;
        let (left, right) = self.read_releases(&pair).await?;
        let name = |side: Side, releases: &[Release], id: &str| {
            let field = match side {
                Side::Left => "left_id",
                Side::Right => "right_id",
            };
            releases
                .iter()
                .find(|r| r.id == id)
                .map(|r| r.name.clone())
                .ok_or_else(|| {
                    EngineError::invalid(
                        field,
                        format!("`{id}` is not one of the {side} side's milestones or versions"),
                    )
                })
        };
        let left_name = name(Side::Left, &left, left_id)?;
        let right_name = name(Side::Right, &right, right_id)?;
        let mut tx = self.store.begin().await?;
        let id = tx
            .insert_sync_release_link(
                &NewSyncReleaseLink {
                    pair_id: pair.id,
                    left_id: left_id.to_owned(),
                    left_name,
                    right_id: right_id.to_owned(),
                    right_name,
                    how: ReleaseLinkHow::Manual,
                },
                now,
            )
            .await?
            .ok_or_else(|| {
                // Linked meanwhile (by name, by a scan, or by someone).
                EngineError::invalid(
                    "left_id",
                    "one of these releases was linked meanwhile; reload and try again",
                )
            })?;
        tx.append_audit(
            &audit(
                by,
                "sync_pair.link_release",
                pair.id,
                json!({ "left_id": left_id, "right_id": right_id }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        self.store
            .list_sync_release_links(pair.id)
            .await?
            .into_iter()
            .find(|l| l.id == id)
            .ok_or_else(|| EngineError::NotFound(format!("no release link {id}")))
    }

    /// Removes a link. Nothing is deleted on either tracker; a release
    /// whose name matches one on the other side is linked again by name
    /// by the next scan, so unlinking is for relinking by hand.
    pub async fn unlink_release(
        &self,
        by: &Authenticated,
        pair_id: i64,
        link_id: i64,
        now: DateTime<Utc>,
    ) -> Result<(), EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        let mut tx = self.store.begin().await?;
        if !tx.delete_sync_release_link(pair.id, link_id).await? {
            return Err(EngineError::NotFound(format!(
                "no release link {link_id} in sync pair {pair_id}"
            )));
        }
        tx.append_audit(
            &audit(
                by,
                "sync_pair.unlink_release",
                pair.id,
                json!({ "link_id": link_id }),
            ),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

impl Carry<'_> {
    /// Places the items' milestones through the pair's release links;
    /// a release not linked yet (on a side the pair carries milestones
    /// from) is linked or created first.
    pub(super) async fn place_releases(
        &self,
        reads: &mut [(Side, &mut RemoteItem)],
    ) -> Result<(), CarryError> {
        if reads
            .iter()
            .all(|(_, r)| r.observed.values.milestone.is_none())
        {
            return Ok(());
        }
        let direction = self
            .pair
            .settings
            .fields
            .get(SyncField::Milestone)
            .direction;
        let mut links = links_of(
            &self
                .engine
                .store
                .list_sync_release_links(self.pair.id)
                .await?,
        );
        let unlinked = reads.iter().any(|(side, read)| {
            direction.carries(*side)
                && read.observed.values.milestone.id(*side).is_some_and(|id| {
                    cairn_core::sync::releases::counterpart(&links, *side, id).is_none()
                })
        });
        if unlinked {
            links = self
                .engine
                .sync_releases(self.pair, self.left, self.right)
                .await?;
        }
        for (side, read) in reads.iter_mut() {
            let values = &mut read.observed.values;
            values.milestone = values.milestone.place(*side, &links);
        }
        Ok(())
    }
}

/// Places an item's milestone, as read on `side`, through `links` (the
/// preview's, which creates nothing).
pub(crate) fn place_release(links: &[ReleaseLink], side: Side, item: &mut RemoteItem) {
    let values = &mut item.observed.values;
    values.milestone = values.milestone.place(side, links);
}

impl SyncEngine {
    /// The pair's links, for placing without creating.
    pub(crate) async fn release_links(
        &self,
        pair_id: i64,
    ) -> Result<Vec<ReleaseLink>, EngineError> {
        Ok(links_of(
            &self.store.list_sync_release_links(pair_id).await?,
        ))
    }
}

impl SyncEngine {
    /// One of the pair's links, from Cairn's own records (no tracker is
    /// asked), for the page that asks before removing it.
    pub async fn release_link(
        &self,
        by: &Authenticated,
        pair_id: i64,
        link_id: i64,
    ) -> Result<SyncReleaseLink, EngineError> {
        let pair = self.pair_for(by, pair_id).await?;
        self.store
            .list_sync_release_links(pair.id)
            .await?
            .into_iter()
            .find(|l| l.id == link_id)
            .ok_or_else(|| {
                EngineError::NotFound(format!("no release link {link_id} in sync pair {pair_id}"))
            })
    }
}
