// The now page refreshes its tables from /api/now (the same data as `status --json`) every
// 10 seconds, without reloading. Values are set with textContent: nothing is parsed as HTML.
(function () {
  "use strict";
  var PERIOD = 10000;

  function cell(row, label, text, cls) {
    var td = document.createElement("td");
    td.setAttribute("data-label", label);
    if (cls) { td.className = cls; }
    if (text !== undefined) { td.textContent = text; }
    row.appendChild(td);
    return td;
  }

  function badge(state) {
    var span = document.createElement("span");
    span.className = "badge state-" + state;
    span.textContent = state.toUpperCase();
    return span;
  }

  function link(href, text) {
    var a = document.createElement("a");
    a.href = href;
    a.textContent = text;
    return a;
  }

  function local(iso) {
    if (!iso) { return "-"; }
    var d = new Date(iso);
    return d.toLocaleString();
  }

  function fill(tbody, rows, columns, build) {
    while (tbody.firstChild) { tbody.removeChild(tbody.firstChild); }
    if (!rows.length) {
      var tr = document.createElement("tr");
      tr.className = "empty";
      var td = cell(tr, "", tbody.parentNode.id === "incidents" ? "No open incidents." :
                    "No check has run yet.");
      td.colSpan = columns;
      tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (r) { tbody.appendChild(build(r)); });
  }

  function incidentRow(i) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-incident", i.id);
    cell(tr, "#").appendChild(link("/incidents/" + i.id, String(i.id)));
    cell(tr, "Priority", "P" + i.priority);
    cell(tr, "State").appendChild(badge(i.state));
    var what = cell(tr, "Target/check");
    if (i.drill) {
      var tag = badge("drill");
      tag.className = "badge drill";
      tag.textContent = "[DRILL]";
      what.appendChild(tag);
      what.appendChild(document.createTextNode(" "));
    }
    what.appendChild(link("/incidents/" + i.id, i.target + "/" + i.check));
    var summary = document.createElement("div");
    summary.className = "summary";
    summary.textContent = i.summary;
    what.appendChild(summary);
    cell(tr, "Since", local(i.opened_at));
    cell(tr, "Owner", i.owner || "-");
    var ack = cell(tr, "Acknowledged");
    if (i.acked_by) { ack.textContent = "by " + i.acked_by; }
    else if (i.suppressed) { ack.textContent = "no (held: " + i.suppressed + ")"; }
    else { var b = document.createElement("strong"); b.textContent = "NO"; ack.appendChild(b); }
    return tr;
  }

  function checkRow(c) {
    var tr = document.createElement("tr");
    tr.setAttribute("data-check", c.target + "/" + c.check);
    tr.setAttribute("data-state", c.state);
    var state = cell(tr, "State");
    state.appendChild(badge(c.state));
    if (c.state_type === "soft") {
      var soft = document.createElement("small");
      soft.textContent = " (" + c.last_result + ", soft " + c.attempt + ")";
      state.appendChild(soft);
    }
    cell(tr, "Target", c.target);
    cell(tr, "Check", c.check);
    cell(tr, "Services", c.services.join(", ") || "-");
    cell(tr, "Last check", local(c.last_check));
    cell(tr, "Summary", c.summary, "summary");
    return tr;
  }

  function refresh() {
    fetch("/api/now", {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (response) {
        if (response.status === 401) { window.location = "/login?next=/"; return null; }
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (!data) { return; }
        fill(document.querySelector("#incidents tbody"), data.incidents, 7, incidentRow);
        fill(document.querySelector("#checks tbody"), data.checks, 6, checkRow);
        document.getElementById("incident-count").textContent = data.incidents.length;
        document.getElementById("check-count").textContent = data.checks.length;
        var worst = document.getElementById("worst");
        worst.className = "badge state-" + data.worst;
        worst.textContent = data.worst.toUpperCase();
        var n = data.notifications;
        document.getElementById("notifications").textContent = (n.sent || 0) + " sent, " +
          (n.pending || 0) + " waiting, " + (n.failed || 0) + " failed";
        document.getElementById("updated").textContent = local(data.generated_at);
        document.body.setAttribute("data-refreshed", data.generated_at);
      })
      .catch(function () { /* the daemon is restarting: try again next time */ });
  }

  setInterval(refresh, PERIOD);
})();
