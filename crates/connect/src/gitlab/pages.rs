//! GitLab pagination: offset pages (`x-next-page`) and keyset pages
//! (`Link: <...>; rel="next"`), consumed one page at a time so a caller can
//! stop early or stream items into its store.

use std::marker::PhantomData;

use serde::de::DeserializeOwned;
use url::Url;

use crate::error::ConnectError;
use crate::http::{ApiResponse, HttpClient, Req};

/// An asynchronous iterator over the pages of a GitLab list endpoint.
#[derive(Debug)]
pub struct Pages<T> {
    http: HttpClient,
    next: Option<Url>,
    total: Option<u64>,
    pages: u32,
    _item: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> Pages<T> {
    pub(crate) fn new(http: HttpClient, first: Url) -> Pages<T> {
        Pages {
            http,
            next: Some(first),
            total: None,
            pages: 0,
            _item: PhantomData,
        }
    }

    /// Starts at `page` (1-based) with `per_page` items a page, for callers
    /// that show one page at a time (pickers) instead of reading them all.
    /// Offset pagination only; a keyset list ignores `page`.
    pub fn starting_at(mut self, page: u32, per_page: u32) -> Pages<T> {
        if let Some(url) = &mut self.next {
            let kept: Vec<(String, String)> = url
                .query_pairs()
                .filter(|(k, _)| k != "page" && k != "per_page")
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect();
            url.query_pairs_mut()
                .clear()
                .extend_pairs(kept)
                .append_pair("per_page", &per_page.to_string())
                .append_pair("page", &page.to_string());
        }
        self
    }

    /// The number of the page [`Pages::next_page`] reads next, when another
    /// remains and it is an offset page (keyset pages have no number).
    pub fn next_page_number(&self) -> Option<u32> {
        let url = self.next.as_ref()?;
        url.query_pairs()
            .find(|(k, _)| k == "page")
            .and_then(|(_, v)| v.parse().ok())
    }

    /// The next page's items, or `None` after the last page.
    pub async fn next_page(&mut self) -> Result<Option<Vec<T>>, ConnectError> {
        let Some(url) = self.next.take() else {
            return Ok(None);
        };
        let resp = self.http.execute(Req::get(url.clone())).await?;
        let items: Vec<T> = resp.json()?;
        self.pages += 1;
        if let Some(total) = resp.header("x-total").and_then(|t| t.trim().parse().ok()) {
            self.total = Some(total);
        }
        self.next = next_page_url(&url, &resp).filter(|next| *next != url);
        Ok(Some(items))
    }

    /// Every remaining item (for bounded lists; prefer [`Pages::next_page`] for large ones).
    pub async fn collect_all(mut self) -> Result<Vec<T>, ConnectError> {
        let mut all = Vec::new();
        while let Some(page) = self.next_page().await? {
            all.extend(page);
        }
        Ok(all)
    }

    /// `x-total` of the last page read, when GitLab sent it (not above 10,000 items).
    pub fn total(&self) -> Option<u64> {
        self.total
    }

    /// Pages read so far.
    pub fn pages_read(&self) -> u32 {
        self.pages
    }

    /// Whether another page remains.
    pub fn has_more(&self) -> bool {
        self.next.is_some()
    }
}

/// Where the next page is: `Link rel="next"` (its query, on our own base,
/// so credentials never follow a host GitLab names), else `x-next-page`.
fn next_page_url(current: &Url, resp: &ApiResponse) -> Option<Url> {
    if let Some(parsed) = resp
        .header("link")
        .and_then(|l| link_rel(l, "next"))
        .and_then(|link| Url::parse(&link).ok())
    {
        let mut next = current.clone();
        next.set_query(parsed.query());
        return Some(next);
    }
    let page = resp.header("x-next-page")?.trim();
    if page.is_empty() {
        return None;
    }
    let page: u64 = page.parse().ok()?;
    let mut next = current.clone();
    let kept: Vec<(String, String)> = current
        .query_pairs()
        .filter(|(k, _)| k != "page")
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    next.query_pairs_mut()
        .clear()
        .extend_pairs(kept)
        .append_pair("page", &page.to_string());
    Some(next)
}

/// The URL of a `Link` header entry with the given `rel`.
pub(crate) fn link_rel(header: &str, rel: &str) -> Option<String> {
    let mut rest = header;
    while let Some(start) = rest.find('<') {
        let after = &rest[start + 1..];
        let end = after.find('>')?;
        let url = &after[..end];
        let params_end = after[end..].find('<').map_or(after.len(), |i| end + i);
        let params = &after[end + 1..params_end];
        let matches = params.split(';').any(|p| {
            let p = p.trim().trim_end_matches(',').trim();
            p.strip_prefix("rel=")
                .map(|v| v.trim_matches('"').split_whitespace().any(|r| r == rel))
                .unwrap_or(false)
        });
        if matches {
            return Some(url.to_string());
        }
        rest = &after[params_end..];
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starting_at_replaces_page_and_page_size() -> Result<(), ConnectError> {
        let http = HttpClient::new(
            crate::error::Service::GitLab,
            crate::http::HttpConfig::default(),
            None,
        )?;
        let first = Url::parse("https://gl.example.com/api/v4/projects?per_page=100&search=a%2Fb")
            .map_err(|e| ConnectError::InvalidInput(e.to_string()))?;
        let pages: Pages<serde_json::Value> = Pages::new(http, first).starting_at(3, 7);
        assert_eq!(pages.next_page_number(), Some(3));
        let query = pages.next.as_ref().and_then(|u| u.query()).unwrap_or("");
        assert_eq!(query, "search=a%2Fb&per_page=7&page=3");
        Ok(())
    }

    #[test]
    fn link_header_entries_are_found_by_rel() {
        let h = r#"<https://gl.example.com/api/v4/projects/1/issues?id_after=42&per_page=2&pagination=keyset>; rel="next", <https://gl.example.com/api/v4/projects/1/issues?page=1>; rel="first""#;
        assert_eq!(
            link_rel(h, "next").as_deref(),
            Some(
                "https://gl.example.com/api/v4/projects/1/issues?id_after=42&per_page=2&pagination=keyset"
            )
        );
        assert_eq!(
            link_rel(h, "first").as_deref(),
            Some("https://gl.example.com/api/v4/projects/1/issues?page=1")
        );
        assert_eq!(link_rel(h, "last"), None);
        assert_eq!(link_rel("", "next"), None);
    }
}
