//! Validation of the base URLs people type into a connection form, and
//! building endpoint URLs under them (keeping any context path).

use url::Url;

use crate::error::ConnectError;

/// Checks a base URL: parseable, http or https, a host, no credentials,
/// no query or fragment. The error names the problem.
pub fn validate_base_url(input: &str) -> Result<Url, ConnectError> {
    let trimmed = input.trim();
    if trimmed.is_empty() {
        return Err(ConnectError::malformed_url(input, "the URL is empty"));
    }
    let url = Url::parse(trimmed).map_err(|e| {
        let reason = match e {
            url::ParseError::RelativeUrlWithoutBase => {
                "it has no scheme: start it with https:// (or http://)".to_string()
            }
            url::ParseError::EmptyHost => "it has no host name".to_string(),
            url::ParseError::InvalidPort => "the port is not a number from 1 to 65535".to_string(),
            other => other.to_string(),
        };
        ConnectError::malformed_url(input, reason)
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ConnectError::malformed_url(
            input,
            format!(
                "the scheme is `{}`: only http and https are supported",
                url.scheme()
            ),
        ));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConnectError::malformed_url(
            input,
            "it contains a user name or password: remove them and put the credentials in the token fields",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ConnectError::malformed_url(input, "it has no host name"));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(ConnectError::malformed_url(
            input,
            "it contains a query (?...) or fragment (#...): give the site's address only",
        ));
    }
    Ok(url)
}

/// The path segments of a base URL without empty ones (trailing slashes).
pub(crate) fn base_segments(url: &Url) -> Vec<String> {
    url.path_segments()
        .map(|s| s.filter(|p| !p.is_empty()).map(str::to_string).collect())
        .unwrap_or_default()
}

/// `base` with `segments` appended, each percent-encoded as one segment
/// (so a GitLab project path `group/project` becomes `group%2Fproject`).
pub(crate) fn join(base: &Url, segments: &[&str]) -> Url {
    let mut url = base.clone();
    let existing = base_segments(base);
    if let Ok(mut path) = url.path_segments_mut() {
        path.clear();
        path.extend(existing.iter().map(String::as_str));
        path.extend(segments.iter().copied());
    }
    url
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::DiagnosisCode;

    fn reason(input: &str) -> String {
        let e = validate_base_url(input).expect_err("must be refused");
        assert_eq!(e.code(), DiagnosisCode::MalformedUrl);
        e.to_string()
    }

    #[test]
    fn good_urls_pass_normalised() {
        // Trimmed, with the root path `/` added to a bare host and a
        // context path kept as typed (`join` drops its trailing slash).
        for (input, normalised) in [
            ("https://gitlab.com", "https://gitlab.com/"),
            ("http://localhost:8080/", "http://localhost:8080/"),
            (
                " https://jira.example.com/jira ",
                "https://jira.example.com/jira",
            ),
            (
                "HTTPS://GitLab.Example.COM:443/",
                "https://gitlab.example.com/",
            ),
            ("http://localhost:80/gitlab/", "http://localhost/gitlab/"),
        ] {
            assert_eq!(
                validate_base_url(input).expect(input).as_str(),
                normalised,
                "{input}"
            );
        }
    }

    #[test]
    fn bad_urls_name_the_problem() {
        for (input, expected) in [
            ("", "invalid URL ``: the URL is empty"),
            ("   ", "invalid URL `   `: the URL is empty"),
            (
                "gitlab.example.com",
                "invalid URL `gitlab.example.com`: it has no scheme: start it with https:// (or http://)",
            ),
            (
                "ftp://gitlab.example.com",
                "invalid URL `ftp://gitlab.example.com`: the scheme is `ftp`: only http and https are supported",
            ),
            (
                "https://gitlab.example.com:99999",
                "invalid URL `https://gitlab.example.com:99999`: the port is not a number from 1 to 65535",
            ),
            (
                "https://gitlab.example.com/?a=1",
                "invalid URL `https://gitlab.example.com/?a=1`: it contains a query (?...) or fragment (#...): give the site's address only",
            ),
            (
                "https://gitlab.example.com/#top",
                "invalid URL `https://gitlab.example.com/#top`: it contains a query (?...) or fragment (#...): give the site's address only",
            ),
            (
                "https://bob:hunter2secret@gitlab.example.com",
                "invalid URL `https://***@gitlab.example.com`: it contains a user name or password: remove them and put the credentials in the token fields",
            ),
        ] {
            assert_eq!(reason(input), expected, "{input:?}");
        }
    }

    #[test]
    fn join_keeps_context_paths_and_encodes_segments() {
        let base = Url::parse("https://jira.example.com/jira/").expect("url");
        assert_eq!(
            join(&base, &["rest", "api", "2", "myself"]).as_str(),
            "https://jira.example.com/jira/rest/api/2/myself"
        );
        let gl = Url::parse("https://gitlab.example.com/api/v4").expect("url");
        assert_eq!(
            join(&gl, &["projects", "group/sub/project", "issues"]).as_str(),
            "https://gitlab.example.com/api/v4/projects/group%2Fsub%2Fproject/issues"
        );
    }
}
