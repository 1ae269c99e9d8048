// faultdesk console: forms post JSON with the session's token; the live
// stream updates the fixed slots (top bar, banner, call card, rows) only.
(function () {
  "use strict";
  var csrf = (document.querySelector('meta[name="csrf"]') || {}).content || "";
  var page = document.body.dataset.page || "";
  var msg = document.getElementById("msg");

  function say(text, ok) {
    if (!msg) return;
    msg.textContent = text;
    msg.className = ok ? "msg ok" : "msg";
    msg.hidden = false;
  }

  // A ticket's forms say which version of the ticket they were made from;
  // the server refuses a form older than the stored ticket (409).
  function post(url, body, holder) {
    var headers = { "Content-Type": "application/json", "X-CSRF-Token": csrf };
    if (holder && holder.dataset.version) headers["X-Ticket-Version"] = holder.dataset.version;
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: headers,
      body: JSON.stringify(body || {})
    }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (j) {
        if (!r.ok) {
          var e = new Error(j.error || ("请求未成功(" + r.status + ")")); e.field = j.field;
          if (r.status === 409 && holder) staleNotice();
          throw e;
        }
        if (holder && j.version !== undefined) holder.dataset.version = String(j.version);
        return j;
      });
    });
  }

  function staleNotice() {
    var s = document.getElementById("stale");
    if (!s) return;
    s.textContent = "此障碍单已有改动 [载入最新]"; s.hidden = false;
    s.onclick = function () { location.reload(); };
  }

  // The element holding the version of the ticket a form belongs to.
  function versionHolder(form) {
    if (!/^\/api\/tickets\//.test(form.dataset.api || "")) return null;
    return form.closest("[data-version]") || document.querySelector(".tickethead[data-version]");
  }

  function formBody(form) {
    var o = {};
    new FormData(form).forEach(function (v, k) {
      if (/\[\]$/.test(k)) { k = k.slice(0, -2); (o[k] = o[k] || []).push(Number(v)); }
      else o[k] = String(v);
    });
    return o;
  }

  function markField(form, field) {
    form.querySelectorAll(".bad").forEach(function (el) { el.classList.remove("bad"); });
    if (!field) return;
    var names = { "业务类型": "service_type", "上报人": "reporter", "故障现象": "fault", "故障原因": "cause",
      "备注": "remarks", "归属维护处": "depot", "作废原因": "reason", "合并到": "into", "用户": "subscriber",
      "区域": "estate", "满意度": "satisfaction", "重新登记原因": "note", "结果": "result", "分类": "class" };
    var el = form.querySelector('[name="' + (names[field] || field) + '"]');
    if (el) { el.classList.add("bad"); el.focus(); }
  }

  // A quick form: fill in the record, then classify (the card's form).
  function submitForm(form) {
    var body = formBody(form);
    var api = form.dataset.api;
    var then = form.dataset.then;
    var holder = versionHolder(form);
    var first;
    if (then) {
      var fields = { service_type: body.service_type, reporter: body.reporter, fault: body.fault };
      first = post(api, fields, holder).then(function () {
        return post(then, { "class": body["class"], reason: body.reason || null }, holder);
      });
    } else {
      Object.keys(body).forEach(function (k) { if (body[k] === "" && /retag|merge|step|callback|done/.test(api)) delete body[k]; });
      first = post(api, body, holder);
    }
    first.then(function () {
      say("已保存", true);
      if (page !== "live") setTimeout(function () { location.reload(); }, 300);
    }).catch(function (e) { say(e.message); markField(form, e.field); });
  }

  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (f.dataset && f.dataset.api) { ev.preventDefault(); submitForm(f); }
  });

  function claim(id) {
    post("/api/calls/" + encodeURIComponent(id) + "/claim").then(function (j) {
      say("已认领:" + j.claimed_by + (j.ticket ? "(" + j.ticket + ")" : ""), true);
      loadCard(id);
    }).catch(function (e) { say(e.message); });
  }

  // 我接的 by its key (J): the call this agent most plausibly took.
  //  1. the call the agent opened (弹屏, or typing in its card), if it may still be claimed;
  //  2. else the call answered elsewhere most recently while this page watched the line;
  //  3. else the newest ringing call (picked up before its CANCEL arrived);
  //  4. else the newest call of the list answered elsewhere and not yet claimed.
  var seen = {};          // call_id -> { state: ringing|answered|abandoned|timed_out|claimed, at }
  var focusedCall = null; // the call the agent opened
  function mayClaim(id) {
    var s = seen[id];
    if (s) return s.state === "answered" || s.state === "ringing";
    return !!document.querySelector('[data-claim="' + CSS.escape(id) + '"]');
  }
  function newestSeen(state) {
    var best = null;
    Object.keys(seen).forEach(function (id) {
      if (seen[id].state === state && mayClaim(id) && (!best || seen[id].at > seen[best].at)) best = id;
    });
    return best;
  }
  function plausibleCall() {
    if (focusedCall && mayClaim(focusedCall)) return focusedCall;
    var id = newestSeen("answered") || newestSeen("ringing");
    if (id) return id;
    var row = document.querySelector("#calls tr.answered [data-claim]");
    return row ? row.dataset.claim : null;
  }

  document.addEventListener("click", function (ev) {
    if (ev.target.closest("[data-print]")) { window.print(); return; }
    var t = ev.target.closest("[data-claim],[data-card],[data-post]");
    if (!t) return;
    ev.preventDefault();
    if (t.dataset.claim) claim(t.dataset.claim);
    else if (t.dataset.card) { focusedCall = t.dataset.card; loadCard(t.dataset.card); }
    else if (t.dataset.post) post(t.dataset.post).then(function () { location.reload(); }).catch(function (e) { say(e.message); });
  });

  var cardCall = null;
  // Typing in a call's card is opening it.
  document.addEventListener("focusin", function (ev) {
    var slot = document.getElementById("card");
    if (slot && cardCall && slot.contains(ev.target)) focusedCall = cardCall;
  });
  function loadCard(id) {
    var slot = document.getElementById("card");
    if (!slot) return;
    var editing = slot.contains(document.activeElement) && /INPUT|SELECT|TEXTAREA/.test(document.activeElement.tagName);
    if (editing && cardCall === id) return; // never overwrite a field being edited
    fetch("/live/card/" + encodeURIComponent(id), { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : null; })
      .then(function (html) { if (html) { slot.innerHTML = html; cardCall = id; } });
  }

  var refreshTimer = null;
  function refreshCalls() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(function () {
      refreshTimer = null;
      fetch("/live", { credentials: "same-origin" }).then(function (r) { return r.text(); }).then(function (html) {
        var d = new DOMParser().parseFromString(html, "text/html");
        var c = d.getElementById("calls"), b = d.getElementById("banner");
        if (c) document.getElementById("calls").innerHTML = c.innerHTML;
        if (b) document.getElementById("banner").innerHTML = b.innerHTML;
      });
    }, 300);
  }

  var bannerTimer = null;
  function refreshBanner() {
    if (bannerTimer) return;
    bannerTimer = setTimeout(function () {
      bannerTimer = null;
      fetch("/board/banner", { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { var b = document.getElementById("banner"); if (b && html !== null) b.innerHTML = html; });
    }, 300);
  }

  function refreshRow(number) {
    var row = document.querySelector('#rows tr[data-number="' + number + '"]');
    if (row) {
      fetch("/board/row/" + encodeURIComponent(number), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) {
          if (!html) return;
          var t = document.createElement("tbody"); t.innerHTML = html.trim();
          var fresh = t.firstElementChild; if (!fresh) return;
          fresh.classList.add("fresh-row");
          row.replaceWith(fresh);
          setTimeout(function () { fresh.classList.remove("fresh-row"); }, 10000);
        });
    } else if (page === "board") {
      var f = document.getElementById("fresh");
      var n = (parseInt(f.dataset.n || "0", 10) || 0) + 1;
      f.dataset.n = n; f.textContent = "↑ 新到 " + n + " 条 [显示]"; f.hidden = false;
      f.onclick = function () { location.reload(); };
    }
    var head = document.querySelector('.tickethead[data-ticket="' + number + '"]');
    if (head) staleNotice();
  }

  // The live stream, on every page: snapshot on (re)connect, then events.
  var conn = document.getElementById("conn");
  if (conn && window.EventSource) {
    var last = "";
    var es = new EventSource("/live/stream");
    es.onopen = function () { conn.textContent = "● 实时"; conn.className = "conn"; };
    es.onerror = function () { conn.textContent = "○ 重连中…" + (last ? "(最后更新 " + last + ")" : ""); conn.className = "conn down"; };
    function stamp() { var d = new Date(); last = ("0" + d.getHours()).slice(-2) + ":" + ("0" + d.getMinutes()).slice(-2); }
    es.addEventListener("snapshot", function (e) {
      stamp();
      var s = JSON.parse(e.data);
      var calls = document.getElementById("calls");
      if (calls && s.calls_html !== undefined) calls.innerHTML = s.calls_html;
      var banner = document.getElementById("banner");
      if (banner && s.banner_html !== undefined && (page === "live" || page === "board")) banner.innerHTML = s.banner_html;
      if (s.ringing && s.ringing.length) loadCard(s.ringing[0]);
    });
    es.addEventListener("call", function (e) {
      stamp();
      var c = JSON.parse(e.data);
      window.lastCallEvent = c;
      if (c.call_id) seen[c.call_id] = { state: c.call, at: Date.now() };
      if (c.call === "ringing") {
        var line = document.getElementById("ringline");
        if (line) line.textContent = "振铃 " + (c.caller || "") + " " + (c.ticket || "") + " [J]";
        window.ringingCall = c.call_id;
      }
      if (page === "live") {
        if (c.call === "ringing" || c.call_id === cardCall) loadCard(c.call_id);
        refreshCalls();
      }
    });
    es.addEventListener("ticket", function (e) {
      stamp();
      var t = JSON.parse(e.data);
      if (t.number) refreshRow(t.number);
      if (page === "live") refreshCalls();
      if (page === "board") refreshBanner();
    });
  }

  // Keys: only outside text fields; the key is printed on its button.
  document.addEventListener("keydown", function (ev) {
    if (ev.isComposing) return;
    var inField = /INPUT|SELECT|TEXTAREA/.test((document.activeElement || {}).tagName || "");
    if (ev.ctrlKey && ev.key === "Enter") {
      var f = (document.activeElement && document.activeElement.form) || document.querySelector("form[data-api]");
      if (f && f.dataset.api) { ev.preventDefault(); submitForm(f); }
      return;
    }
    if (inField || ev.ctrlKey || ev.altKey || ev.metaKey) return;
    var tab = document.querySelector('.top a[data-key="' + ev.key + '"]');
    if (tab) { location.href = tab.getAttribute("href"); return; }
    if (ev.code === "KeyJ") {
      var id = plausibleCall();
      if (id) claim(id); else say("没有可认领的来电");
    } else if (ev.key === "/") {
      var s = document.querySelector("[data-search]");
      if (s) { ev.preventDefault(); s.focus(); }
    } else if (ev.key === "Enter" && page === "live") {
      var open = document.querySelector("#card a.button");
      if (open) location.href = open.getAttribute("href");
    }
  });
  // For the pages' own scripts (orders.js): one way to post and to say.
  window.faultdesk = { post: post, say: say };
})();
