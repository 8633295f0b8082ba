//! The pages in real headless Chromium, driven over WebDriver (chromedriver
//! started here): sign in, connect the simulated GitLab, create an objective
//! and a key result linked to a milestone through the pickers, turn on
//! real-time from the hook setup page, close issues in the simulator and see
//! the bar move and change colour without a reload; the live JQL preview and
//! Jira's own error; a `<script>` title shown as text. Screenshots of the
//! main pages at 1440 and 375 px go to `target/screenshots/`.
//!
//! Never skipped: without chromedriver (`CAIRN_CHROMEDRIVER`, else
//! `chromedriver` on the PATH) or Chromium (`CAIRN_CHROMIUM`, else
//! `/usr/bin/chromium`) the test fails saying so.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use cairn_engine::notify::NotifySettings;
use common::{Harness, PASSWORD, Receiver, Running};
use fantoccini::key::Key;
use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{Value, json};

const PROJECT: &str = "northwind/checkout";
const XSS: &str = "<script>alert(1)</script>";
const DEADLINE: Duration = Duration::from_secs(30);

/// chromedriver on a free port, killed on drop, with its own profile dir.
struct Driver {
    child: Child,
    url: String,
    _profile: tempfile::TempDir,
    profile_path: PathBuf,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(name))
            .find(|p| p.is_file())
    })
}

fn chromium() -> PathBuf {
    let path = std::env::var_os("CAIRN_CHROMIUM")
        .map(PathBuf::from)
        .or_else(|| which("chromium"))
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        path.is_file(),
        "Chromium not found at {}: install Debian's `chromium` (scripts/test does, as root or with CI=true) or set CAIRN_CHROMIUM",
        path.display()
    );
    path
}

impl Driver {
    async fn start() -> Driver {
        let binary = std::env::var_os("CAIRN_CHROMEDRIVER")
            .map(PathBuf::from)
            .or_else(|| which("chromedriver"))
            .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"));
        assert!(
            binary.is_file(),
            "chromedriver not found at {}: install Debian's `chromium-driver` (scripts/test does, as root or with CI=true) or set CAIRN_CHROMEDRIVER",
            binary.display()
        );
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let child = Command::new(&binary)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let profile = tempfile::tempdir().expect("profile dir");
        let driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            profile_path: profile.path().to_owned(),
            _profile: profile,
        };
        let status = format!("{}/status", driver.url);
        let deadline = tokio::time::Instant::now() + DEADLINE;
        loop {
            let ready = reqwest::get(&status)
                .await
                .ok()
                .filter(|r| r.status().is_success());
            if let Some(reply) = ready {
                let body: Value = reply.json().await.unwrap_or_default();
                if body["value"]["ready"] == true {
                    break;
                }
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "chromedriver did not come up"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        driver
    }

    async fn browser(&self) -> Client {
        let mut caps = serde_json::Map::new();
        caps.insert("browserName".into(), json!("chrome"));
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium(),
                "args": [
                    "--headless=new",
                    "--no-sandbox",
                    "--disable-dev-shm-usage",
                    "--disable-gpu",
                    "--hide-scrollbars",
                    format!("--user-data-dir={}", self.profile_path.display()),
                    "--window-size=1440,900",
                ],
            }),
        );
        ClientBuilder::rustls()
            .expect("TLS roots")
            .capabilities(caps)
            .connect(&self.url)
            .await
            .expect("a Chromium session")
    }
}

/// Runs `js` (a function body returning a value) until it returns `true`.
async fn wait_js(c: &Client, what: &str, js: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        if c.execute(js, vec![]).await.expect("script runs") == json!(true) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what} on {}",
            c.current_url()
                .await
                .map(|u| u.to_string())
                .unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until the page's path is `path`-like (a prefix check for `*`).
async fn wait_path(c: &Client, what: &str, test: impl Fn(&str) -> bool) -> String {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        let url = c.current_url().await.expect("url");
        let ready = c
            .execute("return document.readyState === 'complete';", vec![])
            .await
            .expect("script runs");
        if test(url.path()) && ready == json!(true) {
            return url.path().to_owned();
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}; at {url}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn fill(c: &Client, id: &str, value: &str) {
    let field = c.find(Locator::Id(id)).await.expect(id);
    field.clear().await.expect("clear");
    field.send_keys(value).await.expect("type");
}

async fn select(c: &Client, id: &str, value: &str) {
    c.find(Locator::Id(id))
        .await
        .expect(id)
        .select_by_value(value)
        .await
        .expect("option");
}

async fn click(c: &Client, css: &str) {
    c.find(Locator::Css(css))
        .await
        .expect(css)
        .click()
        .await
        .expect("click");
}

/// Signs in through the form as `email`.
async fn sign_in(c: &Client, base: &str, email: &str) {
    c.goto(&format!("{base}/login")).await.expect("login");
    fill(c, "email", email).await;
    fill(c, "password", PASSWORD).await;
    click(c, "form button[type=submit]").await;
    wait_path(c, "signed in", |p| p == "/").await;
}

/// `target/screenshots/` of the workspace.
fn screenshot_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/screenshots");
    std::fs::create_dir_all(&dir).expect("screenshot dir");
    dir
}

/// Full-page screenshots of the page at 375 and 1440 px wide (the window
/// stays 1440 px wide after); nothing may scroll sideways.
async fn screenshots(c: &Client, base: &str, path: &str, name: &str) {
    for (width, height) in [(375u32, 812u32), (1440, 900)] {
        c.set_window_size(width, height).await.expect("resize");
        c.goto(&format!("{base}{path}")).await.expect("page");
        wait_js(c, "the page", "return document.readyState === 'complete';").await;
        let inner: Value = c
            .execute("return window.innerWidth;", vec![])
            .await
            .expect("width");
        assert!(
            inner.as_u64().is_some_and(|w| w <= width as u64),
            "{name}: viewport {inner} at {width}"
        );
        let overflow: Value = c
            .execute(
                "return document.documentElement.scrollWidth - window.innerWidth;",
                vec![],
            )
            .await
            .expect("overflow");
        assert!(
            overflow.as_i64().is_some_and(|o| o <= 0),
            "{name} scrolls sideways by {overflow} px at {width}"
        );
        shot(c, &format!("{name}-{width}")).await;
    }
}

/// A full-page screenshot of the page as it is now, as `name.png`.
async fn shot(c: &Client, name: &str) {
    let (width, height) = c.get_window_size().await.expect("size");
    // The whole page: the window as tall as the document, then back.
    let heights: Value = c
        .execute(
            "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight];",
            vec![],
        )
        .await
        .expect("heights");
    let full = heights[0].as_u64().unwrap_or(height) + heights[1].as_u64().unwrap_or(0);
    c.set_window_size(width as u32, full.clamp(height, 6000) as u32)
        .await
        .expect("resize");
    let png = c.screenshot().await.expect("screenshot");
    std::fs::write(screenshot_dir().join(format!("{name}.png")), png).expect("write png");
    c.set_window_size(width as u32, height as u32)
        .await
        .expect("resize");
}

/// Asserts no `alert()` is open.
async fn no_alert(c: &Client) {
    match c.get_alert_text().await {
        Err(e) if e.is_no_such_alert() => {}
        Err(e) => panic!("checking for an alert: {e}"),
        Ok(text) => panic!("an alert fired: {text}"),
    }
}

/// The key result's page with its explain panel open, at 375 and 1440 px:
/// the panel's lines wrap, nothing scrolls sideways.
async fn explain_screenshots(c: &Client, base: &str, kr: i64) {
    for (width, height) in [(375u32, 812u32), (1440, 900)] {
        c.set_window_size(width, height).await.expect("resize");
        c.goto(&format!("{base}/okrs/{kr}")).await.expect("page");
        wait_js(c, "the page", "return document.readyState === 'complete';").await;
        click(c, "#explain details.explain > summary").await;
        let overflow: Value = c
            .execute(
                "return document.querySelector('#explain details').open
                   ? document.documentElement.scrollWidth - window.innerWidth : null;",
                vec![],
            )
            .await
            .expect("overflow");
        assert!(
            overflow.as_i64().is_some_and(|o| o <= 0),
            "the open panel scrolls sideways by {overflow} px at {width}"
        );
        shot(c, &format!("key-result-explain-{width}")).await;
    }
}

/// The fill width, status and label of the bar of `okr` on the page.
async fn bar(c: &Client, okr: i64) -> Value {
    c.execute(
        "var n = document.querySelector('.progress[data-okr-id=\"' + arguments[0] + '\"]');
         if (!n) { return null; }
         return { status: n.getAttribute('data-status'),
                  width: n.querySelector('rect.fill').getAttribute('width'),
                  class: n.querySelector('svg.bar').getAttribute('class'),
                  fill: getComputedStyle(n.querySelector('rect.fill')).fill,
                  label: n.querySelector('.pct').textContent };",
        vec![json!(okr)],
    )
    .await
    .expect("bar")
}

/// The key result's history chart at 375 px: minutes of history count
/// hours, and every label is drawn at least 11 px tall, inside the chart,
/// without touching its neighbour.
async fn history_chart_reads_at_375_px(c: &Client, base: &str, kr: i64) {
    c.set_window_size(375, 812).await.expect("resize");
    c.goto(&format!("{base}/okrs/{kr}")).await.expect("page");
    wait_js(c, "the page", "return document.readyState === 'complete';").await;
    let chart: Value = c
        .execute(
            "var svg = document.querySelector('.chart svg.history');
             var box = svg.getBoundingClientRect();
             var ticks = Array.from(document.querySelectorAll('.chart .tick')).map(function (t) {
               var r = t.getBoundingClientRect();
               return {text: t.textContent, axis: t.classList.contains('x') ? 'x' : 'y',
                       left: r.left, right: r.right, height: r.height,
                       size: parseFloat(getComputedStyle(t).fontSize)};
             });
             var plot = svg.querySelector('svg.plot').getBoundingClientRect();
             return {unit: svg.getAttribute('data-unit'), left: box.left, right: box.right, ticks: ticks,
                     plot_left: plot.left, plot_width: plot.width,
                     caption: document.querySelector('.chart figcaption').textContent};",
            vec![],
        )
        .await
        .expect("chart");
    assert_eq!(chart["unit"], "hours", "{chart}");
    let ticks = chart["ticks"].as_array().expect("ticks");
    let x: Vec<&Value> = ticks.iter().filter(|t| t["axis"] == "x").collect();
    assert!(x.len() >= 2, "{chart}");
    for t in ticks {
        assert!(t["size"].as_f64().is_some_and(|s| s >= 11.0), "{t}");
        assert!(t["height"].as_f64().is_some_and(|h| h >= 11.0), "{t}");
        if t["axis"] == "y" {
            continue;
        }
        let (left, right) = (
            t["left"].as_f64().unwrap_or(-1.0),
            t["right"].as_f64().unwrap_or(1e9),
        );
        assert!(
            left >= chart["left"].as_f64().unwrap_or(0.0) - 0.5
                && right <= chart["right"].as_f64().unwrap_or(0.0) + 0.5,
            "inside the chart: {t} {chart}"
        );
    }
    // The percent labels sit in a gutter left of the plot, which takes
    // the rest of the width.
    let plot_left = chart["plot_left"].as_f64().unwrap_or(0.0);
    for t in ticks.iter().filter(|t| t["axis"] == "y") {
        assert!(
            t["right"].as_f64().is_some_and(|r| r <= plot_left),
            "{t} {chart}"
        );
    }
    assert!(
        chart["plot_width"].as_f64().is_some_and(|w| w > 250.0),
        "{chart}"
    );
    for pair in x.windows(2) {
        assert!(
            pair[0]["right"].as_f64() < pair[1]["left"].as_f64(),
            "labels apart: {chart}"
        );
    }
    assert!(
        chart["caption"]
            .as_str()
            .is_some_and(|c| c.contains(" changes;") || c.contains("1 change;")),
        "{chart}"
    );
    c.set_window_size(1440, 900).await.expect("resize");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ui_in_chromium_links_a_key_result_and_follows_the_simulator_live() {
    let h = Harness::new(cairn_store::Backend::Sqlite)
        .await
        .with_loopback_notify(NotifySettings::default().disable_after);
    let receiver = Receiver::start().await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let base = format!("http://{address}");
    let today = chrono::Utc::now().date_naive();
    let period = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(json!({"name": "This quarter", "starts_on": (today - chrono::Duration::days(30)).to_string(), "ends_on": (today + chrono::Duration::days(30)).to_string()})),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("period");
    h.gitlab(
        "POST",
        "/projects/northwind%2Fcheckout/milestones",
        Some(json!({"title": "UI pages"})),
    )
    .await;
    let mut iids = Vec::new();
    for title in [XSS, "Second", "Third", "Fourth"] {
        let iid = h
            .control(
                "gitlab/issues",
                json!({"project": PROJECT, "title": title, "milestone": "UI pages"}),
            )
            .await["iid"]
            .as_u64()
            .expect("iid");
        iids.push(iid);
    }

    let driver = Driver::start().await;
    let c = driver.browser().await;

    // Sign in through the form.
    screenshots(&c, &base, "/login", "sign-in").await;
    fill(&c, "email", &h.admin.email).await;
    fill(&c, "password", PASSWORD).await;
    // Keyboard: Tab moves from the password to the button, which shows a
    // visible focus ring; Enter signs in.
    c.find(Locator::Id("password"))
        .await
        .expect("password")
        .send_keys(&Key::Tab.to_string())
        .await
        .expect("tab");
    let focus: Value = c
        .execute(
            "var a = document.activeElement; var s = getComputedStyle(a);
             return { tag: a.tagName, outline: s.outlineStyle, width: s.outlineWidth };",
            vec![],
        )
        .await
        .expect("focus");
    assert_eq!(focus["tag"], "BUTTON", "{focus}");
    assert_eq!(focus["outline"], "solid", "a visible focus ring: {focus}");
    c.active_element()
        .await
        .expect("button")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("enter");
    wait_path(&c, "the OKR tree after signing in", |p| p == "/").await;

    // A connection to the simulated GitLab, through the admin pages.
    c.goto(&format!("{base}/connections")).await.expect("page");
    select(&c, "kind", "gitlab").await;
    fill(&c, "name", "Simulated GitLab").await;
    fill(&c, "base_url", &h.sim.gitlab_url()).await;
    select(&c, "auth_kind", "private_token").await;
    fill(&c, "secret", cairn_sim::DEFAULT_GITLAB_TOKEN).await;
    click(&c, "#shared").await;
    click(&c, "form[action='/connections'] button[type=submit]").await;
    let path = wait_path(&c, "the new connection's page", |p| {
        p.starts_with("/connections/")
    })
    .await;
    let connection: i64 = path
        .trim_start_matches("/connections/")
        .parse()
        .expect("connection id");
    click(&c, "form[action$='/test'] button").await;
    wait_js(
        &c,
        "the connection test",
        "var o = document.getElementById('test-outcome'); return !!o && o.className === 'success';",
    )
    .await;

    // An objective, then a key result under it linked to the milestone.
    c.goto(&format!("{base}/okrs/new?period={period}"))
        .await
        .expect("page");
    select(&c, "kind", "objective").await;
    fill(&c, "title", "Ship the new checkout").await;
    select(&c, "progress_source", "roll_up").await;
    click(&c, "form[action='/okrs'] button[type=submit]").await;
    let path = wait_path(&c, "the objective's page", |p| {
        p.starts_with("/okrs/") && !p.ends_with("/new")
    })
    .await;
    let objective: i64 = path.trim_start_matches("/okrs/").parse().expect("id");
    c.goto(&format!("{base}/okrs/new?period={period}"))
        .await
        .expect("page");
    select(&c, "kind", "key_result").await;
    fill(&c, "title", "Close the UI milestone").await;
    select(&c, "parent_id", &objective.to_string()).await;
    select(&c, "progress_source", "data_link").await;
    click(&c, "form[action='/okrs'] button[type=submit]").await;
    let path = wait_path(&c, "the link form", |p| p.ends_with("/link")).await;
    let kr: i64 = path
        .trim_start_matches("/okrs/")
        .trim_end_matches("/link")
        .parse()
        .expect("id");

    // The pickers search as one types.
    select(&c, "gl-connection_id", &connection.to_string()).await;
    fill(&c, "gl-project", "checkout").await;
    wait_js(
        &c,
        "the project picker",
        &format!(
            "return !!document.querySelector('#gl-project-list option[value=\"{PROJECT}\"]');"
        ),
    )
    .await;
    fill(&c, "gl-project", PROJECT).await;
    fill(&c, "gl-milestone", "UI").await;
    wait_js(
        &c,
        "the milestone picker",
        "return !!document.querySelector('#gl-milestone-list option[value=\"UI pages\"]');",
    )
    .await;
    fill(&c, "gl-milestone", "UI pages").await;
    shot(&c, "link-form-gitlab-pickers-1440").await;
    click(&c, "#gitlab-form button[type=submit]").await;
    wait_path(&c, "the key result's page", |p| p == format!("/okrs/{kr}")).await;

    // The XSS title is text, and no alert fired.
    wait_js(
        &c,
        "the items behind the number",
        "return document.querySelectorAll('td.item-title').length === 4;",
    )
    .await;
    let titles: Value = c
        .execute(
            "return Array.prototype.map.call(document.querySelectorAll('td.item-title'), function (t) { return t.textContent; });",
            vec![],
        )
        .await
        .expect("titles");
    assert!(
        titles.as_array().expect("titles").contains(&json!(XSS)),
        "{titles}"
    );
    let injected: Value = c
        .execute(
            "return Array.prototype.some.call(document.querySelectorAll('td.item-title'), function (t) { return t.querySelector('script') !== null; });",
            vec![],
        )
        .await
        .expect("no element");
    assert_eq!(injected, json!(false), "the title made no element");
    no_alert(&c).await;
    let before = bar(&c, kr).await;
    assert_eq!(before["width"], "0", "{before}");
    assert_eq!(before["status"], "at_risk", "{before}");

    // Real-time on, from the hook setup page: Cairn registers the hook.
    c.goto(&format!("{base}/admin/hooks")).await.expect("page");
    fill(&c, &format!("projects-{connection}"), PROJECT).await;
    click(
        &c,
        &format!("form[action='/admin/hooks/{connection}/enable'] button"),
    )
    .await;
    wait_js(
        &c,
        "the hook registered",
        "var r = document.querySelector('ul.registered'); return !!r && r.textContent.indexOf('created') >= 0;",
    )
    .await;
    shot(&c, "admin-hooks-enabled-1440").await;
    screenshots(&c, &base, "/admin/hooks", "admin-hooks").await;
    screenshots(&c, &base, "/admin/time", "admin-time").await;

    // A signed webhook channel to a local receiver, subscribed to every
    // OKR, so the bar's moves below are delivered; its secret shows once.
    c.goto(&format!("{base}/admin/notifications"))
        .await
        .expect("page");
    fill(&c, "name", "Ops webhook").await;
    select(&c, "kind", "webhook").await;
    fill(&c, "url", &receiver.url("/cairn-events")).await;
    click(&c, "form[action='/admin/notifications'] button").await;
    wait_js(
        &c,
        "the signing secret",
        "var s = document.querySelector('code.channel-secret'); return !!s && s.textContent.indexOf('whsec_') === 0;",
    )
    .await;
    let channel = h
        .call("GET", "/api/v1/channels", Some(&h.admin.token), None)
        .await
        .body[0]["id"]
        .as_i64()
        .expect("channel");
    let channel_path = format!("/admin/notifications/{channel}");
    c.goto(&format!("{base}{channel_path}"))
        .await
        .expect("page");
    click(&c, "form[action$='/subscriptions'] button").await;
    wait_js(
        &c,
        "the subscription listed",
        "var s = document.querySelector('.subscription-scope'); return !!s && s.textContent === 'Every OKR';",
    )
    .await;
    click(&c, "form[action$='/test'] button").await;
    wait_js(
        &c,
        "the test message's outcome",
        "var t = document.getElementById('test-outcome'); return !!t && t.textContent.indexOf('arrived') >= 0;",
    )
    .await;
    assert!(
        receiver
            .received("/cairn-events")
            .iter()
            .any(|r| String::from_utf8_lossy(&r.body).contains("Test message for Ops webhook")),
        "the test message reached the receiver"
    );

    // The key result's page, marked so a reload would show.
    c.goto(&format!("{base}/okrs/{kr}")).await.expect("page");
    wait_js(&c, "the page", "return document.readyState === 'complete';").await;
    c.execute(
        "window.cairnNotReloaded = 'still here'; return true;",
        vec![],
    )
    .await
    .expect("marker");
    let at_risk_fill = bar(&c, kr).await["fill"].clone();
    // "How is this calculated?" opens under the bar, with the numbers in
    // words; nothing says it is behind yet.
    click(&c, "details.explain > summary").await;
    let panel: Value = c
        .execute(
            "var d = document.querySelector('details.explain');
             return { open: d.open, text: d.innerText, stale: d.querySelector('.explain-stale').hidden };",
            vec![],
        )
        .await
        .expect("panel");
    assert_eq!(panel["open"], true, "{panel}");
    let text = panel["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("Done units over all units: 0 of 4 = 0 %.")
            && text.contains("points below the expected")
            && text.contains(": at risk."),
        "{panel}"
    );
    assert_eq!(panel["stale"], true, "still current: {panel}");

    // The simulator closes three of four issues and sends its webhooks.
    for iid in &iids[..3] {
        h.control(
            "gitlab/issues/close",
            json!({"project": PROJECT, "iid": iid}),
        )
        .await;
    }
    wait_js(
        &c,
        "the bar at 75 % and on track",
        &format!(
            "var n = document.querySelector('.progress[data-okr-id=\"{kr}\"]');
             return !!n && n.getAttribute('data-status') === 'on_track'
               && n.querySelector('rect.fill').getAttribute('width') === '75';"
        ),
    )
    .await;
    let after = bar(&c, kr).await;
    assert_eq!(after["class"], "bar status-on_track", "{after}");
    assert_eq!(after["label"], "75 %", "{after}");
    assert_ne!(after["fill"], at_risk_fill, "the colour changed: {after}");
    let marker = c
        .execute("return window.cairnNotReloaded || null;", vec![])
        .await
        .expect("marker");
    assert_eq!(marker, json!("still here"), "the page was not reloaded");
    // "Last synced … ago" follows a refresh live: the live message carries
    // the new time and the script writes it into the <time data-ago>.
    let synced = |c: &Client| {
        let c = c.clone();
        async move {
            c.execute(
                &format!(
                    "var t = document.querySelector('time[data-ago][data-okr-id=\"{kr}\"]');
                     return t ? {{ at: t.getAttribute('datetime'), text: t.textContent }} : null;"
                ),
                vec![],
            )
            .await
            .expect("synced")
        }
    };
    let synced_before = synced(&c).await;
    assert!(synced_before["at"].is_string(), "{synced_before}");
    let refreshed = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{kr}/refresh"),
            Some(&h.admin.token),
            None,
        )
        .await;
    assert_eq!(
        refreshed.status,
        axum::http::StatusCode::OK,
        "{}",
        refreshed.text
    );
    wait_js(
        &c,
        "the synced time moved live",
        &format!(
            "var t = document.querySelector('time[data-ago][data-okr-id=\"{kr}\"]');
             return !!t && t.getAttribute('datetime') !== {} && t.textContent === 'just now';",
            synced_before["at"]
        ),
    )
    .await;
    let synced_after = synced(&c).await;
    assert_ne!(synced_after["at"], synced_before["at"], "{synced_after}");
    let marker = c
        .execute("return window.cairnNotReloaded || null;", vec![])
        .await
        .expect("marker");
    assert_eq!(marker, json!("still here"), "still not reloaded");
    // The open panel says its numbers are behind the bar now.
    wait_js(
        &c,
        "the explain panel marked behind",
        "return document.querySelector('details.explain .explain-stale').hidden === false;",
    )
    .await;
    shot(&c, "key-result-moved-live-1440").await;
    explain_screenshots(&c, &base, kr).await;
    screenshots(&c, &base, &format!("/okrs/{kr}"), "key-result").await;
    history_chart_reads_at_375_px(&c, &base, kr).await;
    // The forecast under the chart says why it has no date yet.
    c.set_window_size(1440, 900).await.expect("resize");
    c.goto(&format!("{base}/okrs/{kr}")).await.expect("page");
    let forecast = c
        .find(Locator::Id("forecast"))
        .await
        .expect("forecast")
        .text()
        .await
        .expect("text");
    assert!(
        forecast.contains("not enough data: a forecast needs 48 hours of history"),
        "{forecast}"
    );
    // A check-in on the linked key result: a note and a confidence, and
    // the number stays the link's.
    fill(&c, "note", "Three of four closed; the last waits on review").await;
    select(&c, "confidence", "on_track").await;
    click(&c, "#check-ins form button[type=submit]").await;
    wait_js(
        &c,
        "the check-in listed",
        "var l = document.querySelector('ul.check-ins');
         return !!l && l.textContent.indexOf('confidence: on track') >= 0;",
    )
    .await;
    assert_eq!(bar(&c, kr).await["label"], "75 %", "the number stays");
    screenshots(&c, &base, &format!("/okrs/{kr}"), "key-result-checked-in").await;
    screenshots(&c, &base, &format!("/?period={period}"), "okr-tree").await;
    no_alert(&c).await;

    // Jira: the live JQL preview, and Jira's own error for a bad query.
    let jira = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.admin.token),
            Some(json!({"kind": "jira", "name": "Simulated Jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                   "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("jira");
    let from_jira = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.admin.token),
            Some(json!({"kind": "key_result", "title": "Ops tickets done", "period_id": period, "parent_id": objective,
                   "measure": {"mode": "percent_complete"}, "progress_source": "data_link"})),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("okr");
    c.goto(&format!("{base}/okrs/{from_jira}/link"))
        .await
        .expect("page");
    select(&c, "jira-connection_id", &jira.to_string()).await;
    fill(&c, "jql", "project = OPS").await;
    wait_js(
        &c,
        "the preview",
        "var p = document.querySelector('[data-preview]');
         return !!p.querySelector('strong.count') && p.querySelectorAll('li .key').length > 0;",
    )
    .await;
    let preview: Value = c
        .execute(
            "var p = document.querySelector('[data-preview]');
             return { count: Number(p.querySelector('strong.count').textContent),
                      first: p.querySelector('li .key').textContent };",
            vec![],
        )
        .await
        .expect("preview");
    assert!(
        preview["count"].as_u64().is_some_and(|n| n > 0),
        "{preview}"
    );
    assert!(
        preview["first"]
            .as_str()
            .is_some_and(|k| k.starts_with("OPS-")),
        "{preview}"
    );
    shot(&c, "link-form-jira-preview-1440").await;
    screenshots(&c, &base, &format!("/okrs/{from_jira}/link"), "link-form").await;
    select(&c, "jira-connection_id", &jira.to_string()).await;
    fill(&c, "jql", "project = = AE").await;
    wait_js(
        &c,
        "Jira's error",
        "var e = document.querySelector('[data-jql-error]');
         return !e.hidden && e.textContent.length > 0
           && document.getElementById('jql').getAttribute('aria-invalid') === 'true';",
    )
    .await;
    let error = c
        .find(Locator::Css("[data-jql-error]"))
        .await
        .expect("error")
        .text()
        .await
        .expect("text");
    assert!(!error.contains("Request failed"), "Jira's message: {error}");
    // A good query again, saved: the key result reads Jira.
    fill(&c, "jql", "project = OPS").await;
    click(&c, "#jira-form button[value=save]").await;
    wait_path(&c, "the Jira key result's page", |p| {
        p == format!("/okrs/{from_jira}")
    })
    .await;
    wait_js(
        &c,
        "the Jira icon and items",
        "return !!document.querySelector('svg.icon.jira') && document.querySelectorAll('td.item-title').length > 0;",
    )
    .await;

    // The bar's moves reached the channel: its page lists the deliveries.
    common::eventually("a delivery to the channel", || async {
        h.call(
            "GET",
            &format!("/api/v1/channels/{channel}/deliveries"),
            Some(&h.admin.token),
            None,
        )
        .await
        .body
        .as_array()
        .is_some_and(|d| d.iter().any(|d| d["state"] == "delivered"))
    })
    .await;

    // A notice, as when a channel answers 410, shows above the admin pages.
    let now = chrono::Utc::now();
    let mut tx = h.state.store.begin().await.expect("tx");
    tx.insert_notice(
        "The notification channel \u{201c}Old Slack\u{201d} (https://hooks.slack.com) was disabled: 410 Gone. Fix its URL and enable it again.",
        now,
    )
    .await
    .expect("notice");
    tx.commit().await.expect("commit");

    // A title with a long unbroken URL wraps, on its page and in the tree,
    // instead of making either scroll sideways at 375 px.
    let unbroken = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.admin.token),
            Some(json!({"kind": "objective", "period_id": period, "progress_source": "roll_up",
                   "measure": {"mode": "percent_complete"},
                   "title": "Close https://gitlab.example.com/northwind/checkout/-/issues/?label_name=customer-reported"})),
        )
        .await;
    let unbroken = unbroken.body["id"]
        .as_i64()
        .unwrap_or_else(|| panic!("okr: {}", unbroken.body));
    let unbroken_path = format!("/okrs/{unbroken}");
    let tree_path = format!("/?period={period}");

    // The other main pages, at both widths.
    for (path, name) in [
        (unbroken_path.as_str(), "objective-long-title"),
        (tree_path.as_str(), "okr-tree-long-title"),
        ("/admin/integrations", "admin-integrations"),
        ("/connections", "connections"),
        ("/admin/users", "admin-users"),
        ("/admin/notifications", "admin-notifications"),
        (channel_path.as_str(), "admin-notification-channel"),
        ("/tokens", "tokens"),
    ] {
        screenshots(&c, &base, path, name).await;
    }
    c.goto(&format!("{base}{channel_path}"))
        .await
        .expect("page");
    click(&c, ".notice form button").await;
    wait_js(
        &c,
        "the notice dismissed",
        "return document.readyState === 'complete' && !!document.getElementById('deliveries') && !document.querySelector('.notice');",
    )
    .await;
    no_alert(&c).await;

    c.close().await.expect("close the browser");
    drop(driver);
    // The open event stream does not hold the shutdown up.
    tokio::time::timeout(Duration::from_secs(10), running.stop())
        .await
        .expect("the server stops although pages were open");
}

/// "My work" in Chromium at 375 and 1440 px: the week of suggestions
/// (no sideways scrolling), accepted from the keyboard (Enter in the length
/// field submits its form) and dismissed with Tab then Enter on the
/// button.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn my_work_in_chromium_at_375_and_1440_px_from_the_keyboard() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let base = format!("http://{address}");
    let gitlab = h.gitlab_connection(&h.admin, "sim gitlab", true).await;
    let jira = h
        .call(
            "POST",
            "/api/v1/connections",
            Some(&h.admin.token),
            Some(json!({"kind": "jira", "name": "sim jira", "base_url": h.sim.jira_url(), "auth_kind": "basic",
                "username": cairn_sim::DEFAULT_JIRA_EMAIL, "secret": cairn_sim::DEFAULT_JIRA_API_TOKEN, "shared": true})),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("jira");
    let request = axum::http::Request::builder()
        .method("PUT")
        .uri("/api/v1/time/source")
        .header("authorization", format!("Bearer {}", h.admin.token))
        .header("content-type", "application/json")
        .header("host", address.to_string())
        .body(axum::body::Body::from(
            json!({"connection_id": gitlab, "jira_connection_id": jira, "enabled": true, "projects": [PROJECT]})
                .to_string(),
        ))
        .expect("request");
    assert_eq!(h.send(request).await.status, axum::http::StatusCode::OK);
    let (amartin, email) = h.sim.with_world(|w| {
        w.gitlab
            .user_by_name("amartin")
            .map(|u| (u.id, u.email.clone()))
            .expect("user")
    });
    let reply = h
        .call(
            "PUT",
            "/api/v1/time/people/me",
            Some(&h.owner.token),
            Some(json!({"gitlab_user_id": amartin, "gitlab_username": "amartin", "gitlab_email": email,
                "time_zone": "Asia/Kolkata"})),
        )
        .await;
    assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.text);
    for (branch, message, at) in [
        (
            "feature/OPS-1-login",
            "Add the login form with a rather long message to wrap",
            "2026-12-01T04:00:00Z",
        ),
        (
            "feature/OPS-1-login",
            "Validate email",
            "2026-12-01T04:20:00Z",
        ),
        ("fix/OPS-2", "Fix rounding", "2026-12-01T09:00:00Z"),
    ] {
        h.control(
            "gitlab/push",
            json!({"project": PROJECT, "as": "amartin", "branch": branch, "messages": [message],
                   "authored_at": at}),
        )
        .await;
    }
    common::eventually("Alice's activity", || async {
        h.state
            .store
            .count_activities(h.owner.id)
            .await
            .unwrap_or(0)
            == 3
    })
    .await;

    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_in(&c, &base, &h.owner.email).await;
    screenshots(&c, &base, "/my-work?day=2026-12-01", "my-work").await;

    // Accept from the keyboard: a new length (60 for the suggested 45),
    // Enter submits.
    let minutes = c.find(Locator::Id("minutes-1")).await.expect("minutes");
    minutes.clear().await.expect("clear");
    minutes
        .send_keys(&format!("60{}", Key::Enter))
        .await
        .expect("enter");
    wait_js(
        &c,
        "the first suggestion accepted",
        "return document.body.textContent.includes('edited');",
    )
    .await;
    // Dismiss: from the description field, Tab to Accept, Tab to Dismiss.
    c.find(Locator::Id("description-2"))
        .await
        .expect("description")
        .send_keys(&format!("{}{}", Key::Tab, Key::Tab))
        .await
        .expect("tab");
    let focused: Value = c
        .execute("return document.activeElement.textContent;", vec![])
        .await
        .expect("focus");
    assert!(
        focused.as_str().is_some_and(|t| t.contains("Dismiss")),
        "{focused}"
    );
    c.active_element()
        .await
        .expect("button")
        .send_keys(&Key::Enter.to_string())
        .await
        .expect("enter");
    wait_js(
        &c,
        "the second suggestion dismissed",
        "return document.body.textContent.includes('dismissed');",
    )
    .await;
    screenshots(&c, &base, "/my-work?day=2026-12-01", "my-work-decided").await;
    no_alert(&c).await;
    running.stop().await;
}

/// Loads `path` again and again until `js` returns `true` on it: a page
/// without live updates, polled the way a person reloads it.
async fn reload_until(c: &Client, base: &str, path: &str, what: &str, js: &str) {
    let deadline = tokio::time::Instant::now() + DEADLINE;
    loop {
        c.goto(&format!("{base}{path}")).await.expect("page");
        wait_js(c, "the page", "return document.readyState === 'complete';").await;
        if c.execute(js, vec![]).await.expect("script runs") == json!(true) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what} on {path}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Issue 16's browser test: a person builds a pair in the wizard, sees the
/// preview, activates it, closes the GitLab issue in the simulator and
/// sees the Jira side follow on the pair's page. Screenshots of every step
/// and of the pair's page at 375 and 1440 px, none scrolling sideways.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pair_built_in_the_wizard_carries_a_closed_gitlab_issue_to_jira_in_chromium() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let base = format!("http://{address}");
    let gitlab = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let jira = h.jira_connection(&h.owner, "sim jira", false).await;
    // Real-time on both connections, Cairn reached at `address`.
    for (connection, body) in [(gitlab, json!({"projects": [PROJECT]})), (jira, json!({}))] {
        let request = axum::http::Request::builder()
            .method("POST")
            .uri(format!("/api/v1/connections/{connection}/hooks/enable"))
            .header("authorization", format!("Bearer {}", h.owner.token))
            .header("content-type", "application/json")
            .header("host", address.to_string())
            .body(axum::body::Body::from(body.to_string()))
            .expect("request");
        let reply = h.send(request).await;
        assert_eq!(reply.status, axum::http::StatusCode::OK, "{}", reply.text);
    }
    let iid = h
        .control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": "Close me in GitLab"}),
        )
        .await["iid"]
        .as_u64()
        .expect("iid");

    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_in(&c, &base, &h.owner.email).await;

    // Connections.
    screenshots(&c, &base, "/sync-pairs", "sync-pairs").await;
    click(&c, "#new-pair").await;
    wait_path(&c, "the wizard", |p| p == "/sync-pairs/new").await;
    screenshots(&c, &base, "/sync-pairs/new", "wizard-1-connections").await;
    fill(&c, "name", "Checkout <-> OPS").await;
    select(&c, "left.connection_id", &gitlab.to_string()).await;
    select(&c, "right.connection_id", &jira.to_string()).await;
    click(&c, "form[action='/sync-pairs/new/projects'] button").await;
    wait_path(&c, "the projects", |p| p == "/sync-pairs/new/projects").await;

    // Projects, listed from the connections.
    let url = c.current_url().await.expect("url");
    let step = format!("{}?{}", url.path(), url.query().unwrap_or_default());
    screenshots(&c, &base, &step, "wizard-2-projects").await;
    select(&c, "left.project", PROJECT).await;
    select(&c, "right.project", "OPS").await;
    click(&c, "form[action='/sync-pairs/new/projects'] button").await;
    let scope = wait_path(&c, "the scope", |p| p.ends_with("/setup/scope")).await;
    let pair: i64 = scope
        .trim_start_matches("/sync-pairs/")
        .trim_end_matches("/setup/scope")
        .parse()
        .expect("the draft's id");

    // Scope: issues created since today, so the one above comes across.
    screenshots(&c, &base, &scope, "wizard-3-scope").await;
    let today = chrono::Utc::now().date_naive().to_string();
    c.execute(
        "document.getElementById('created_after').value = arguments[0];",
        vec![json!(today)],
    )
    .await
    .expect("date");
    click(&c, "form[action$='/setup/scope'] button").await;
    let fields = wait_path(&c, "the fields", |p| p.ends_with("/setup/fields")).await;
    screenshots(&c, &base, &fields, "wizard-4-fields").await;
    click(&c, "form[action$='/setup/fields'] button").await;
    let statuses = wait_path(&c, "the statuses", |p| p.ends_with("/setup/statuses")).await;
    screenshots(&c, &base, &statuses, "wizard-5-statuses").await;

    // Every opened status primary: said as it is edited, then refused by
    // the server, next to the mapping.
    c.execute(
        "document.querySelectorAll('select[id^=\"state.\"]').forEach(function (s) {
           if (s.value === 'opened') {
             var box = document.getElementById('primary.' + s.id.slice(6));
             if (!box.checked) { box.click(); }
           }
         });",
        vec![],
    )
    .await
    .expect("primaries");
    wait_js(
        &c,
        "the mapping checked as it is edited",
        "var e = document.getElementById('status_mapping-error');
         return !!e && e.textContent.includes('are all primary');",
    )
    .await;
    click(&c, "form[action$='/setup/statuses'] button").await;
    wait_js(
        &c,
        "the mapping refused",
        // The server's own message (the live one carries aria-live).
        "var e = document.getElementById('status_mapping-error');
         return document.readyState === 'complete' && !!e && !e.hasAttribute('aria-live')
           && e.textContent.includes('are all primary')
           && document.querySelector('fieldset.status-mapping').getAttribute('aria-invalid') === 'true';",
    )
    .await;
    shot(&c, "wizard-5-statuses-refused-1440").await;
    // As suggested: one primary per state.
    c.goto(&format!("{base}{statuses}")).await.expect("page");
    click(&c, "form[action$='/setup/statuses'] button").await;
    // People: both sides listed; mapped automatically from here on.
    let people = wait_path(&c, "the people", |p| p.ends_with("/setup/people")).await;
    wait_js(
        &c,
        "the people",
        "var t = document.querySelector('table.sync-people');
         return !!t && t.querySelectorAll('tbody tr').length > 1;",
    )
    .await;
    screenshots(&c, &base, &people, "wizard-6-people").await;
    c.goto(&format!("{base}{people}")).await.expect("page");
    click(&c, "#auto_map_people").await;
    click(&c, "form[action$='/setup/people'] button").await;
    let preview = wait_path(&c, "the preview", |p| p.ends_with("/setup/preview")).await;

    // The preview: the issue's twin would be created; nothing is yet.
    wait_js(
        &c,
        "the preview",
        "var t = document.querySelector('table.sync-preview');
         return !!t && t.textContent.includes('Close me in GitLab') && t.textContent.includes('create its twin');",
    )
    .await;
    screenshots(&c, &base, &preview, "wizard-7-preview").await;
    let twins = || {
        h.sim.with_world(|w| {
            w.jira
                .issues
                .iter()
                .filter(|i| i.summary == "Close me in GitLab")
                .map(|i| i.status.clone())
                .collect::<Vec<_>>()
        })
    };
    assert!(twins().is_empty(), "the preview wrote nothing");
    click(&c, "#activate").await;
    let page = format!("/sync-pairs/{pair}");
    wait_path(&c, "the pair's page", |p| p == page).await;
    wait_js(
        &c,
        "the activation said",
        "return document.body.textContent.includes('The pair is active');",
    )
    .await;

    // Linked by the activation's scan, then closed in GitLab: the Jira
    // twin follows, and the pair's page shows the write.
    reload_until(
        &c,
        &base,
        &page,
        "the twin linked",
        "var t = document.querySelector('table.sync-items');
         return !!t && /OPS-\\d+/.test(t.textContent);",
    )
    .await;
    assert_eq!(twins().len(), 1, "one twin");
    h.control(
        "gitlab/issues/edit",
        json!({"project": PROJECT, "iid": iid, "state_event": "close"}),
    )
    .await;
    reload_until(
        &c,
        &base,
        &page,
        "the Jira side following",
        "return Array.from(document.querySelectorAll('table.sync-operations tbody tr')).some(function (r) {
           var c = Array.from(r.cells).map(function (x) { return x.textContent.trim(); });
           return c[1] === 'Right' && c[2] === 'update' && c[4] === 'state' && c[5] === 'done';
         });",
    )
    .await;
    assert_eq!(twins(), vec!["10001".to_owned()], "the twin is Done");
    screenshots(&c, &base, &page, "sync-pair").await;
    no_alert(&c).await;
    running.stop().await;
}

/// Feedback in Chromium: a refused OKR form comes back with its summary of
/// every problem focused, and each of its links moves focus to its field
/// (with the focus ring drawn); Delete asks on its own page and the page
/// after says it worked. Screenshots at 375 and 1440 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_form_focuses_its_summary_and_delete_asks_first_in_chromium() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let base = format!("http://{address}");
    let period = common::period(&h).await;
    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_in(&c, &base, &h.owner.email).await;

    for width in [375u32, 1440] {
        c.set_window_size(width, 900).await.expect("resize");
        c.goto(&format!("{base}/okrs/new?period={period}"))
            .await
            .expect("form");
        wait_path(&c, "the OKR form", |p| p == "/okrs/new").await;
        fill(&c, "title", "   ").await;
        fill(&c, "weight", "heavy").await;
        click(&c, "form.grid-form button[type=submit]").await;
        wait_js(
            &c,
            "the summary focused",
            "var s = document.getElementById('error-summary');
             return s !== null && document.activeElement === s;",
        )
        .await;
        let listed: Value = c
            .execute(
                "return Array.prototype.map.call(document.querySelectorAll('#error-summary li'),
                   function (li) { return li.textContent.trim(); });",
                vec![],
            )
            .await
            .expect("the list");
        assert_eq!(
            listed,
            json!(["Title: is required", "Weight: must be a number"]),
            "at {width} px"
        );
        shot(&c, &format!("okr-form-refused-{width}")).await;
        click(&c, "#error-summary a[href='#weight']").await;
        wait_js(
            &c,
            "the weight field focused",
            "return document.activeElement && document.activeElement.id === 'weight';",
        )
        .await;
        let ring: Value = c
            .execute(
                "var s = getComputedStyle(document.activeElement);
                 return [s.outlineStyle, s.outlineWidth, s.outlineColor];",
                vec![],
            )
            .await
            .expect("the focus ring");
        assert_eq!(
            ring,
            json!(["solid", "3px", "rgb(0, 0, 0)"]),
            "at {width} px"
        );
    }

    // Delete is a link to a page that asks; its button deletes.
    let okr = h
        .call(
            "POST",
            "/api/v1/okrs",
            Some(&h.owner.token),
            Some(
                json!({"kind": "objective", "title": "Doomed objective", "period_id": period,
                "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
            ),
        )
        .await
        .body["id"]
        .as_i64()
        .expect("okr");
    c.goto(&format!("{base}/okrs/{okr}")).await.expect("okr");
    click(&c, &format!("a[href='/okrs/{okr}/delete']")).await;
    wait_path(&c, "the question", |p| p == format!("/okrs/{okr}/delete")).await;
    screenshots(&c, &base, &format!("/okrs/{okr}/delete"), "okr-delete").await;
    let asked = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{okr}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(
        asked.status,
        axum::http::StatusCode::OK,
        "nothing deleted yet"
    );
    click(&c, "form button.danger").await;
    wait_path(&c, "the period", |p| p == "/").await;
    wait_js(
        &c,
        "the success message",
        "var s = document.querySelector('main > [role=status]');
         return s !== null && s.textContent === 'The OKR is deleted.';",
    )
    .await;
    screenshots(
        &c,
        &base,
        &format!("/?period={period}&done=okr_deleted"),
        "okr-deleted",
    )
    .await;
    let gone = h
        .call(
            "GET",
            &format!("/api/v1/okrs/{okr}"),
            Some(&h.owner.token),
            None,
        )
        .await;
    assert_eq!(gone.status, axum::http::StatusCode::NOT_FOUND);
    no_alert(&c).await;
    running.stop().await;
}

/// Issue 18 item 4 in Chromium: the tree's selects apply a choice as soon
/// as it is made, "My OKRs" and "All OKRs" switch, an objective's aligned
/// OKRs collapse and expand; the tree, the teams page and the delete
/// question at 375 and 1440 px.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_tree_filters_and_teams_in_chromium_at_375_and_1440_px() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let base = format!("http://{address}");
    let period = common::period(&h).await;
    let reply = h
        .call(
            "POST",
            "/api/v1/teams",
            Some(&h.admin.token),
            Some(json!({"name": "Platform", "lead_id": h.admin.id})),
        )
        .await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::CREATED,
        "{}",
        reply.text
    );
    let team = reply.body["id"].as_i64().expect("team");
    let create = |token: String, body: Value| {
        let h = &h;
        async move {
            let reply = h
                .call("POST", "/api/v1/okrs", Some(&token), Some(body))
                .await;
            assert_eq!(
                reply.status,
                axum::http::StatusCode::CREATED,
                "{}",
                reply.text
            );
            reply.body["id"].as_i64().expect("okr")
        }
    };
    let objective = create(
        h.admin.token.clone(),
        json!({"kind": "objective", "title": "Admin objective", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "roll_up"}),
    )
    .await;
    let teams_kr = create(
        h.admin.token.clone(),
        json!({"kind": "key_result", "title": "Team result", "period_id": period, "parent_id": objective,
            "owner_team_id": team, "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
    )
    .await;
    let owners_kr = create(
        h.owner.token.clone(),
        json!({"kind": "key_result", "title": "Owner result", "period_id": period,
            "measure": {"mode": "percent_complete"}, "progress_source": "check_in"}),
    )
    .await;
    for (okr, token, value) in [
        (teams_kr, &h.admin.token, 100.0),
        (owners_kr, &h.owner.token, 0.0),
    ] {
        let reply = h
            .call(
                "POST",
                &format!("/api/v1/okrs/{okr}/check-ins"),
                Some(token),
                Some(json!({"value": value})),
            )
            .await;
        assert_eq!(
            reply.status,
            axum::http::StatusCode::CREATED,
            "{}",
            reply.text
        );
    }

    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_in(&c, &base, &h.admin.email).await;
    screenshots(&c, &base, &format!("/?period={period}"), "okr-tree-filters").await;

    // Choosing a status applies it at once (no button pressed).
    c.goto(&format!("{base}/?period={period}"))
        .await
        .expect("tree");
    wait_js(&c, "the tree", "return document.readyState === 'complete';").await;
    select(&c, "status", "done").await;
    wait_js(
        &c,
        "the status filter applied",
        "return document.readyState === 'complete' && location.search.includes('status=done') \
         && document.body.textContent.includes('Team result') \
         && !document.body.textContent.includes('Owner result');",
    )
    .await;
    select(&c, "team", &team.to_string()).await;
    wait_js(
        &c,
        "the team filter applied",
        &format!(
            "return document.readyState === 'complete' && location.search.includes('team={team}') \
             && location.search.includes('status=done');"
        ),
    )
    .await;
    screenshots(
        &c,
        &base,
        &format!("/?view=all&period={period}&team={team}&status=done"),
        "okr-tree-filtered",
    )
    .await;

    // My OKRs and back; the objective's key results fold away and back.
    c.goto(&format!("{base}/?view=all&period={period}"))
        .await
        .expect("tree");
    wait_js(&c, "the tree", "return document.readyState === 'complete';").await;
    click(&c, ".view-switch a[href^=\"/?view=mine\"]").await;
    wait_js(
        &c,
        "my OKRs",
        "return document.readyState === 'complete' && location.search.includes('view=mine') \
         && document.body.textContent.includes('Admin objective') \
         && !document.body.textContent.includes('Owner result');",
    )
    .await;
    wait_js(
        &c,
        "the key results shown",
        "var d = document.querySelector('details.children'); return !!d && d.open && \
         d.querySelector('.okr-title').checkVisibility();",
    )
    .await;
    click(&c, "details.children > summary").await;
    wait_js(
        &c,
        "the key results folded away",
        "var d = document.querySelector('details.children'); return !d.open && \
         !d.querySelector('.okr-title').checkVisibility();",
    )
    .await;
    shot(&c, "okr-tree-collapsed-1440").await;
    click(&c, "details.children > summary").await;
    wait_js(
        &c,
        "the key results back",
        "return document.querySelector('details.children').open;",
    )
    .await;

    screenshots(&c, &base, "/admin/teams", "admin-teams").await;
    screenshots(
        &c,
        &base,
        &format!("/admin/teams/{team}/delete"),
        "admin-team-delete",
    )
    .await;
    no_alert(&c).await;
    running.stop().await;
}

/// Issue 18 item 5: the dashboard at 375 and 1440 px, its period select
/// applied on change, and its entries leading to the places to act.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_dashboard_leads_to_the_places_to_act_in_chromium_at_375_and_1440_px() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    let running = Running::server_and_worker(&h).await;
    let address = running.address.expect("listening");
    let base = format!("http://{address}");
    let s = common::dashboard_scenario(&h).await;
    let later = h
        .call(
            "POST",
            "/api/v1/periods",
            Some(&h.admin.token),
            Some(json!({"name": "Later", "starts_on": "2031-01-01", "ends_on": "2031-03-31"})),
        )
        .await;
    let later = later.body["id"].as_i64().expect("period");

    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_in(&c, &base, &h.owner.email).await;
    screenshots(
        &c,
        &base,
        &format!("/dashboard?period={}", s.period),
        "dashboard",
    )
    .await;

    // From the menu, then the period chosen applies at once.
    c.goto(&base).await.expect("home");
    click(&c, "nav.menu a[href=\"/dashboard\"]").await;
    wait_path(&c, "the dashboard", |p| p == "/dashboard").await;
    select(&c, "period", &later.to_string()).await;
    wait_js(
        &c,
        "the later period's dashboard",
        &format!(
            "return document.readyState === 'complete' && location.search.includes('period={later}') \
             && document.body.textContent.includes('No check-in is due.');"
        ),
    )
    .await;

    // The team's done count opens the tree with that key result.
    c.goto(&format!("{base}/dashboard?period={}", s.period))
        .await
        .expect("dashboard");
    wait_js(
        &c,
        "the dashboard",
        "return document.readyState === 'complete';",
    )
    .await;
    click(
        &c,
        &format!(
            "a[href=\"/?view=all&period={}&team={}&status=done\"]",
            s.period, s.team
        ),
    )
    .await;
    wait_js(
        &c,
        "the tree filtered to the team's done OKRs",
        "return document.readyState === 'complete' && location.search.includes('status=done') \
         && document.body.textContent.includes('Cut build time') \
         && !document.body.textContent.includes('Answer every ticket');",
    )
    .await;

    // The stale link opens the key result at its link; the failing
    // connection its page.
    c.back().await.expect("back");
    wait_js(
        &c,
        "the dashboard again",
        "return document.readyState === 'complete' && location.pathname === '/dashboard';",
    )
    .await;
    click(&c, &format!("a[href=\"/okrs/{}#link\"]", s.linked)).await;
    wait_js(
        &c,
        "the key result at its stale link",
        "return document.readyState === 'complete' && location.hash === '#link' \
         && document.getElementById('link').textContent.includes('Stale');",
    )
    .await;
    c.goto(&format!("{base}/dashboard?period={}", s.period))
        .await
        .expect("dashboard");
    wait_js(
        &c,
        "the dashboard",
        "return document.readyState === 'complete';",
    )
    .await;
    click(&c, &format!("a[href=\"/connections/{}\"]", s.connection)).await;
    wait_path(&c, "the connection", |p| {
        p == format!("/connections/{}", s.connection)
    })
    .await;

    // On the tree, the summary strip counts again when a bar moves live.
    c.goto(&format!("{base}/?view=all&period={}", s.period))
        .await
        .expect("tree");
    let count = "function count(s) { return document.querySelector('.summary-strip li[data-summary-status=\"' + s + '\"] strong').textContent; }";
    wait_js(
        &c,
        "the strip before",
        &format!("{count} return document.readyState === 'complete' && document.documentElement.getAttribute('data-live-mode') === 'sse' && count('done') === '1' && count('on_track') === '2';"),
    )
    .await;
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/okrs/{}/check-ins", s.steady),
            Some(&h.owner.token),
            Some(json!({"value": 100.0, "note": "all answered"})),
        )
        .await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::CREATED,
        "{}",
        reply.text
    );
    wait_js(
        &c,
        "the strip counting the key result done",
        &format!("{count} return count('done') === '2' && count('on_track') === '1';"),
    )
    .await;
    no_alert(&c).await;
    running.stop().await;
}

/// A pair's initial sync in Chromium: its figures and buttons follow the
/// run without a reload, from "listing both sides" to done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_initial_sync_is_followed_without_a_reload_in_chromium() {
    let h = Harness::new(cairn_store::Backend::Sqlite).await;
    // The server alone first: the run waits, planning, until a worker runs.
    let server = Running::server(&h).await;
    let address = server.address.expect("listening");
    let base = format!("http://{address}");
    let g = h.gitlab_connection(&h.owner, "sim gitlab", false).await;
    let j = h.jira_connection(&h.owner, "sim jira", false).await;
    let since = (chrono::Utc::now() - chrono::Duration::seconds(5)).to_rfc3339();
    for i in 0..3 {
        h.control(
            "gitlab/issues",
            json!({"project": PROJECT, "title": format!("history {i}")}),
        )
        .await;
    }
    let reply = h
        .call(
            "POST",
            "/api/v1/sync-pairs",
            Some(&h.owner.token),
            Some(
                json!({"name": "history", "left": {"connection_id": g, "project": PROJECT},
                "right": {"connection_id": j, "project": "OPS"}, "active": true}),
            ),
        )
        .await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::CREATED,
        "{}",
        reply.text
    );
    let pair = reply.body["id"].as_i64().expect("pair");
    let reply = h
        .call(
            "POST",
            &format!("/api/v1/sync-pairs/{pair}/initial-sync"),
            Some(&h.owner.token),
            Some(json!({"since": since})),
        )
        .await;
    assert_eq!(
        reply.status,
        axum::http::StatusCode::ACCEPTED,
        "{}",
        reply.text
    );

    let driver = Driver::start().await;
    let c = driver.browser().await;
    sign_in(&c, &base, &h.owner.email).await;
    c.goto(&format!("{base}/sync-pairs/{pair}"))
        .await
        .expect("pair");
    wait_js(
        &c,
        "the run planning",
        "return document.readyState === 'complete' \
         && document.querySelector('.initial-run[data-follow] .initial-state').textContent.includes('planning') \
         && !!document.querySelector('form[action$=\"/initial-sync/pause\"]');",
    )
    .await;
    c.execute(
        "window.cairnNotReloaded = 'still here'; return true;",
        vec![],
    )
    .await
    .expect("marker");

    // A worker takes the jobs: the page follows the run to its end.
    let worker = Running::worker(&h).await;
    wait_js(
        &c,
        "the run done on the page",
        "var run = document.querySelector('.initial-run'); \
         return !!run && run.querySelector('.initial-state').textContent.includes('done') \
           && !run.hasAttribute('data-follow') \
           && !document.querySelector('form[action$=\"/initial-sync/pause\"]');",
    )
    .await;
    let marker = c
        .execute("return window.cairnNotReloaded || null;", vec![])
        .await
        .expect("marker");
    assert_eq!(marker, json!("still here"), "the page was not reloaded");
    shot(&c, "sync-pair-initial-done-1440").await;
    no_alert(&c).await;
    worker.stop().await;
    server.stop().await;
}
