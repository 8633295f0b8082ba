//! Project labels.

use super::base::*;
use crate::Shared;
use crate::model::*;
use axum::extract::{Path, RawQuery, State};
use axum::http::HeaderMap;
use serde_json::{Value, json};
use std::sync::Arc;

pub(crate) fn ensure_labels(gl: &mut GitLab, pidx: usize, labels: &[String]) {
    for l in labels {
        if !gl.projects[pidx]
            .labels
            .iter()
            .any(|x| x.name.eq_ignore_ascii_case(l))
        {
            let id = gl.alloc_id();
            gl.projects[pidx].labels.push(GlLabel {
                id,
                name: l.clone(),
                color: "#6699cc".into(),
                description: None,
            });
        }
    }
}

pub(crate) async fn list_labels(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> GlResult {
    let c = ctx(&s, &headers, q, &[])?;
    let w = s.read();
    let pidx = visible_project(&w.gitlab, c.user, &id)?;
    let p = &w.gitlab.projects[pidx];
    let with_counts = c.params.bool("with_counts").unwrap_or(false);
    let out: Vec<Value> = p
        .labels
        .iter()
        .map(|l| {
            let mut v = json!({
                "id": l.id,
                "name": l.name,
                "color": l.color,
                "text_color": "#FFFFFF",
                "description": l.description,
                "description_html": l.description.clone().unwrap_or_default(),
                "priority": null,
                "is_project_label": true,
                "subscribed": false,
            });
            if with_counts {
                let has = |i: &&GlIssue| i.labels.iter().any(|x| x.eq_ignore_ascii_case(&l.name));
                v["open_issues_count"] = json!(
                    p.issues
                        .iter()
                        .filter(|i| i.state == "opened")
                        .filter(has)
                        .count()
                );
                v["closed_issues_count"] = json!(
                    p.issues
                        .iter()
                        .filter(|i| i.state == "closed")
                        .filter(has)
                        .count()
                );
                v["open_merge_requests_count"] = json!(0);
            }
            v
        })
        .collect();
    let base = s.gitlab_base();
    paged_json(
        &out,
        &c.params,
        &format!("{base}/api/v4/projects/{}/labels", p.id),
    )
}
