// Cairn's progressive enhancement. Every page works without this file:
// it adds live progress bars, search-as-you-type pickers, the live JQL
// preview and a refresh button that does not reload the page.
// Remote text is only ever set with textContent, never as HTML.
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      clearTimeout(timer);
      timer = setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function getJson(url) {
    return fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        return r.json().then(function (body) { return { ok: r.ok, status: r.status, body: body }; });
      });
  }

  function postJson(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        Accept: "application/json",
        "Content-Type": "application/json",
        "X-CSRF-Token": csrfToken()
      },
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (r) {
      return r.json().catch(function () { return null; }).then(function (b) {
        return { ok: r.ok, status: r.status, body: b };
      });
    });
  }

  function errorMessage(reply) {
    if (reply && reply.body && reply.body.error && reply.body.error.message) {
      return reply.body.error.message;
    }
    return "Request failed (" + (reply ? reply.status : "network") + ")";
  }

  // ---- Live progress bars -------------------------------------------------

  // An explain panel says how the numbers were made when the page was
  // built; once the bar moves live, it says that it is behind.
  function markExplainStale(okrId) {
    var panels = document.querySelectorAll('details.explain[data-explain-okr-id="' + okrId + '"] .explain-stale');
    Array.prototype.forEach.call(panels, function (note) { note.hidden = false; });
  }

  function applyBar(bar) {
    var nodes = document.querySelectorAll('.progress[data-okr-id="' + bar.okr_id + '"]');
    Array.prototype.forEach.call(nodes, function (node) {
      node.setAttribute("data-status", bar.status);
      var svg = node.querySelector("svg.bar");
      if (svg) {
        svg.setAttribute("class", "bar status-" + bar.status);
        svg.setAttribute("aria-label", bar.percent_label + " done, " + bar.expected_label + " expected: " + bar.status_label);
        var fill = svg.querySelector(".fill");
        if (fill) { fill.setAttribute("width", bar.width); }
        var marker = svg.querySelector(".expected");
        if (marker) { marker.setAttribute("x1", bar.expected); marker.setAttribute("x2", bar.expected); }
      }
      var pct = node.querySelector(".pct");
      var exp0 = node.querySelector(".exp");
      if ((pct && pct.textContent !== bar.value_label) || (exp0 && exp0.textContent !== bar.expected_label)) {
        markExplainStale(bar.okr_id);
      }
      if (pct) { pct.textContent = bar.value_label; }
      var label = node.querySelector(".status-label");
      if (label) {
        label.textContent = bar.status_label;
        label.setAttribute("class", "status-label status-text-" + bar.status);
      }
      var exp = node.querySelector(".exp");
      if (exp) { exp.textContent = bar.expected_label; }
    });
  }

  // The tree's summary strip counts the bars shown by status: once a bar
  // moves live, it is counted again from the bars.
  function recountSummary() {
    var strip = document.querySelector(".summary-strip");
    var tree = document.querySelector(".tree");
    if (!strip || !tree) { return; }
    var counts = {};
    Array.prototype.forEach.call(tree.querySelectorAll(".progress[data-status]"), function (node) {
      var status = node.getAttribute("data-status");
      counts[status] = (counts[status] || 0) + 1;
    });
    Array.prototype.forEach.call(strip.querySelectorAll("li[data-summary-status]"), function (item) {
      var count = item.querySelector("strong");
      if (count) { count.textContent = String(counts[item.getAttribute("data-summary-status")] || 0); }
    });
  }

  // "synced 3 min ago": the server writes it; the script counts it up
  // (every 30 s) and moves it when a live update says the link synced.
  function agoText(ms) {
    var secs = Math.max(0, Math.floor(ms / 1000));
    if (secs < 60) { return "just now"; }
    if (secs < 3600) { return Math.floor(secs / 60) + " min ago"; }
    if (secs < 86400) { return Math.floor(secs / 3600) + " h ago"; }
    return Math.floor(secs / 86400) + " days ago";
  }

  function renderAgo(el) {
    var at = Date.parse(el.getAttribute("datetime") || "");
    if (!isNaN(at)) { el.textContent = agoText(Date.now() - at); }
  }

  function renderAllAgo() {
    Array.prototype.forEach.call(document.querySelectorAll("time[data-ago][datetime]"), renderAgo);
  }

  function applySynced(bar) {
    if (!bar.synced_at) { return; }
    var times = document.querySelectorAll('time[data-ago][data-okr-id="' + bar.okr_id + '"]');
    Array.prototype.forEach.call(times, function (el) {
      if (el.getAttribute("datetime") !== bar.synced_at) {
        el.setAttribute("datetime", bar.synced_at);
        el.setAttribute("title", bar.synced_at);
        renderAgo(el);
      }
    });
  }

  function applyBars(bars) {
    if (Array.isArray(bars)) { bars.forEach(applyBar); bars.forEach(applySynced); recountSummary(); }
  }

  var liveIds = [];
  var pollTimer = null;

  function pollOnce() {
    if (!liveIds.length) { return Promise.resolve(); }
    return getJson("/live.json?ids=" + liveIds.join(","))
      .then(function (reply) { if (reply.ok) { applyBars(reply.body); } })
      .catch(function () {});
  }

  function startPolling() {
    if (pollTimer) { return; }
    pollTimer = setInterval(pollOnce, 5000);
  }

  function startLive() {
    var seen = {};
    Array.prototype.forEach.call(document.querySelectorAll("[data-live]"), function (el) {
      (el.getAttribute("data-live") || "").split(",").forEach(function (id) {
        if (/^\d+$/.test(id) && !seen[id]) { seen[id] = true; liveIds.push(id); }
      });
    });
    if (!liveIds.length) { return; }
    document.documentElement.setAttribute("data-live-mode", "starting");
    if (!window.EventSource) {
      document.documentElement.setAttribute("data-live-mode", "polling");
      startPolling();
      return;
    }
    var failures = 0;
    var source = new EventSource("/live?ids=" + liveIds.join(","));
    source.addEventListener("progress", function (event) {
      failures = 0;
      document.documentElement.setAttribute("data-live-mode", "sse");
      try { applyBars(JSON.parse(event.data)); } catch (e) { /* ignore a bad event */ }
    });
    source.addEventListener("error", function () {
      failures += 1;
      // The stream ends every few minutes and the browser reconnects; only
      // repeated failures fall back to polling.
      if (failures >= 3 || source.readyState === EventSource.CLOSED) {
        source.close();
        document.documentElement.setAttribute("data-live-mode", "polling");
        startPolling();
      }
    });
  }

  // ---- Refresh without reloading -------------------------------------------

  function enhanceRefresh() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-refresh]"), function (form) {
      var status = form.querySelector("[data-refresh-status]");
      var button = form.querySelector("button");
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        if (button) { button.disabled = true; }
        if (status) { status.textContent = "Refreshing…"; }
        postJson(form.getAttribute("data-refresh")).then(function (reply) {
          if (!status) { return; }
          if (!reply.ok) {
            status.textContent = errorMessage(reply);
          } else if (reply.body && reply.body.error) {
            status.textContent = "Refresh failed: " + reply.body.error.summary + " " + reply.body.error.hint;
          } else {
            var n = reply.body ? reply.body.items_read : 0;
            status.textContent = "Refreshed: " + n + " items read. Reload to see the items and chart.";
          }
          return pollOnce();
        }).catch(function () {
          if (status) { status.textContent = "Refresh failed: no answer from the server."; }
        }).then(function () {
          if (button) { button.disabled = false; }
        });
      });
    });
  }

  // ---- OKR form: KPI fields only for KPIs -----------------------------------

  function enhanceMeasure() {
    var select = document.getElementById("measure");
    var fields = document.querySelector("[data-show-when-measure]");
    if (!select || !fields || select.tagName !== "SELECT") { return; }
    var update = function () { fields.hidden = select.value !== fields.getAttribute("data-show-when-measure"); };
    select.addEventListener("change", update);
    update();
  }

  // ---- GitLab pickers ----------------------------------------------------------

  function enhanceGitLab() {
    var form = document.querySelector("form[data-gitlab-pickers]");
    if (!form) { return; }
    var connection = form.querySelector("[data-connection]");
    var project = form.querySelector('[data-picker="projects"]');
    var base = function () { return "/api/v1/connections/" + encodeURIComponent(connection.value) + "/gitlab/projects"; };
    var inProject = function (what) {
      return base() + "/" + encodeURIComponent(project.value.trim()) + "/" + what;
    };
    var pickers = {
      projects: { url: function () { return base(); }, value: function (p) { return p.path_with_namespace; }, label: function (p) { return p.name_with_namespace || p.name; } },
      milestones: { url: function () { return inProject("milestones"); }, value: function (m) { return m.title; }, label: function (m) { return m.state || ""; } },
      members: { url: function () { return inProject("members"); }, value: function (u) { return u.username; }, label: function (u) { return u.name; } },
      labels: { url: function () { return inProject("labels"); }, value: function (l) { return l.name; }, label: function (l) { return l.description || ""; } }
    };
    Array.prototype.forEach.call(form.querySelectorAll("[data-picker]"), function (input) {
      var kind = input.getAttribute("data-picker");
      var picker = pickers[kind];
      var list = document.getElementById(input.getAttribute("list"));
      if (!picker || !list) { return; }
      var search = debounce(function () {
        if (kind !== "projects" && !project.value.trim()) { return; }
        var text = input.value;
        var prefix = "";
        if (kind === "labels") {
          var cut = text.lastIndexOf(",");
          prefix = cut >= 0 ? text.slice(0, cut + 1) + " " : "";
          text = cut >= 0 ? text.slice(cut + 1) : text;
        }
        getJson(picker.url() + "?per_page=20&search=" + encodeURIComponent(text.trim())).then(function (reply) {
          while (list.firstChild) { list.removeChild(list.firstChild); }
          if (!reply.ok || !reply.body || !reply.body.items) { return; }
          reply.body.items.forEach(function (item) {
            var option = document.createElement("option");
            option.value = prefix + picker.value(item);
            option.textContent = picker.label(item);
            list.appendChild(option);
          });
        }).catch(function () {});
      }, 250);
      input.addEventListener("input", search);
      input.addEventListener("focus", search);
    });

    var box = form.querySelector("[data-issue-search]");
    var iids = form.querySelector('[name="iids"]');
    if (!box || !iids) { return; }
    box.hidden = false;
    var query = box.querySelector("input");
    var results = box.querySelector("ul");
    var findIssues = debounce(function () {
      if (!project.value.trim()) { return; }
      getJson(inProject("issues") + "?per_page=10&search=" + encodeURIComponent(query.value.trim())).then(function (reply) {
        while (results.firstChild) { results.removeChild(results.firstChild); }
        if (!reply.ok) {
          var li = document.createElement("li");
          li.textContent = errorMessage(reply);
          results.appendChild(li);
          return;
        }
        (reply.body.items || []).forEach(function (issue) {
          var li = document.createElement("li");
          var add = document.createElement("button");
          add.type = "button";
          add.className = "secondary";
          add.textContent = "Add #" + issue.iid;
          add.addEventListener("click", function () {
            var have = iids.value.split(/[\s,]+/).map(function (w) { return w.replace(/^#/, ""); });
            if (have.indexOf(String(issue.iid)) < 0) {
              iids.value = (iids.value.trim() ? iids.value.trim() + ", " : "") + "#" + issue.iid;
            }
          });
          li.appendChild(add);
          li.appendChild(document.createTextNode(" " + issue.title + " (" + issue.state + ")"));
          results.appendChild(li);
        });
      }).catch(function () {});
    }, 300);
    query.addEventListener("input", findIssues);
  }

  // ---- Jira: live JQL preview and the connection's metrics -----------------------

  function enhanceJira() {
    var form = document.querySelector("form[data-jira]");
    if (!form) { return; }
    var connection = form.querySelector("[data-connection]");
    var jql = form.querySelector("[data-jql]");
    var error = form.querySelector("[data-jql-error]");
    var preview = form.querySelector("[data-preview]");
    var metric = form.querySelector("[data-metric]");
    var isKpi = !!form.querySelector('[name="completed_only"]');
    var counter = 0;

    var showError = function (message) {
      error.textContent = message;
      error.hidden = false;
      jql.setAttribute("aria-invalid", "true");
    };

    var runPreview = debounce(function () {
      var text = jql.value.trim();
      if (!text) { return; }
      var mine = ++counter;
      preview.setAttribute("aria-busy", "true");
      postJson("/api/v1/connections/" + encodeURIComponent(connection.value) + "/jira/preview", { jql: text })
        .then(function (reply) {
          if (mine !== counter) { return; }
          preview.removeAttribute("aria-busy");
          while (preview.firstChild) { preview.removeChild(preview.firstChild); }
          if (!reply.ok) { showError(errorMessage(reply)); return; }
          error.hidden = true;
          error.textContent = "";
          jql.setAttribute("aria-invalid", "false");
          var p = document.createElement("p");
          var strong = document.createElement("strong");
          strong.className = "count";
          strong.textContent = String(reply.body.count);
          p.appendChild(strong);
          p.appendChild(document.createTextNode(" tickets match."));
          preview.appendChild(p);
          var ul = document.createElement("ul");
          (reply.body.tickets || []).slice(0, 10).forEach(function (t) {
            var li = document.createElement("li");
            var key = document.createElement("span");
            key.className = "key";
            key.textContent = t.key;
            li.appendChild(key);
            li.appendChild(document.createTextNode(" " + t.summary + " (" + t.status + ")"));
            ul.appendChild(li);
          });
          preview.appendChild(ul);
        })
        .catch(function () { if (mine === counter) { showError("No answer from the server."); } });
    }, 600);

    var loadMetrics = function () {
      getJson("/api/v1/connections/" + encodeURIComponent(connection.value) + "/jira/fields").then(function (reply) {
        if (!reply.ok || !reply.body || !reply.body.metrics) { return; }
        var current = metric.value;
        while (metric.firstChild) { metric.removeChild(metric.firstChild); }
        reply.body.metrics.forEach(function (m) {
          if (m.kpi_only && !isKpi) { return; }
          var option = document.createElement("option");
          option.value = m.metric;
          option.textContent = m.label;
          option.selected = m.metric === current;
          metric.appendChild(option);
        });
      }).catch(function () {});
    };

    jql.addEventListener("input", runPreview);
    connection.addEventListener("change", function () { loadMetrics(); runPreview(); });
  }

  // ---- The pair wizard's status mapping, checked as it is edited --------
  // The seed's rule (exactly one primary status per GitLab state) said
  // next to the mapping at once; the server checks it again on submit.

  function enhanceStatusMapping() {
    var fieldset = document.querySelector("fieldset.status-mapping");
    if (!fieldset) { return; }
    var message = document.getElementById("status_mapping-error");
    if (!message) {
      message = document.createElement("p");
      message.className = "field-error";
      message.id = "status_mapping-error";
      message.setAttribute("aria-live", "polite");
      fieldset.insertBefore(message, fieldset.querySelector(".table-wrap"));
    }
    var check = function () {
      var primaries = { opened: [], closed: [], mapped: { opened: 0, closed: 0 } };
      Array.prototype.forEach.call(fieldset.querySelectorAll('select[name^="state."]'), function (select) {
        var id = select.name.slice("state.".length);
        var box = document.getElementById("primary." + id);
        var name = select.closest("tr").querySelector("th").textContent;
        primaries.mapped[select.value] += 1;
        if (box && box.checked) { primaries[select.value].push("`" + name + "`"); }
      });
      var problem = "";
      ["opened", "closed"].some(function (state) {
        var found = primaries[state];
        if (found.length === 1) { return false; }
        var what = found.length > 1 ? found.join(" and ") + " are all primary"
          : primaries.mapped[state] === 0 ? "no status is mapped to it" : "none of its statuses is primary";
        problem = what + ": exactly one Jira status must be primary for `" + state + "`";
        return true;
      });
      message.textContent = problem;
      fieldset.setAttribute("aria-invalid", problem ? "true" : "false");
    };
    fieldset.addEventListener("change", check);
  }

  // ---- Refused forms: the summary of every problem -------------------------

  // A refused form comes back with its summary first in the page: focus it,
  // so a screen reader reads every problem and the keyboard starts there;
  // each of its links moves focus to its field.
  function focusErrorSummary() {
    var summary = document.getElementById("error-summary");
    if (!summary) { return; }
    summary.focus();
    summary.addEventListener("click", function (event) {
      var link = event.target.closest ? event.target.closest('a[href^="#"]') : null;
      var field = link ? document.getElementById(link.getAttribute("href").slice(1)) : null;
      if (!field) { return; }
      event.preventDefault();
      field.focus();
      field.scrollIntoView({ block: "center" });
    });
  }

  // Filter forms (the OKR tree's period, owner, team, status) apply a
  // choice as soon as it is made; without JavaScript, their button does.
  function enhanceAutosubmit() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-autosubmit]"), function (form) {
      form.addEventListener("change", function (event) {
        if (event.target && event.target.tagName === "SELECT") {
          form.submit();
        }
      });
    });
  }

  // A pair's initial sync while it plans or runs: the page reads itself
  // again every few seconds and puts the run's new figures and buttons in place,
  // as the server words them, until the run is paused or done.
  function followInitialSync() {
    var figures = document.querySelector(".initial-run[data-follow]");
    if (!figures || !window.DOMParser || !window.fetch) { return; }
    var timer = setInterval(function () {
      fetch(location.pathname, { credentials: "same-origin", headers: { "Accept": "text/html" } })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) { return; }
          var fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".initial-run");
          var shown = document.querySelector(".initial-run");
          if (!fresh || !shown) { return; }
          shown.parentNode.replaceChild(document.importNode(fresh, true), shown);
          if (!fresh.hasAttribute("data-follow")) { clearInterval(timer); }
        })
        .catch(function () {});
    }, 2000);
  }

  function start() {
    focusErrorSummary();
    followInitialSync();
    renderAllAgo();
    setInterval(renderAllAgo, 30000);
    startLive();
    enhanceAutosubmit();
    enhanceRefresh();
    enhanceMeasure();
    enhanceGitLab();
    enhanceJira();
    enhanceStatusMapping();
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
