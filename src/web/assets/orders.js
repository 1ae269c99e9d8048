// 传真 and 工单: the verification of a batch page by page, and a signed
// slip's scan sent as base64. Every other form is app.js's.
(function () {
  "use strict";
  // app.js (loaded first) posts JSON with the session's token and shows the outcome.
  var post = window.faultdesk.post;
  var say = window.faultdesk.say;

  // Each page shows the order's fields only when it is an order page.
  var form = document.getElementById("verify");
  function showRoles() {
    if (!form) return;
    form.querySelectorAll(".vpage").forEach(function (p) {
      var r = p.querySelector("input[type=radio]:checked");
      p.classList.remove("order", "continuation", "cover");
      if (r) p.classList.add(r.value);
    });
  }
  if (form) {
    showRoles();
    form.addEventListener("change", showRoles);
    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      if (!form.dataset.batch) return;
      var pages = [], orders = [], where = [];
      form.querySelectorAll(".vpage").forEach(function (p) {
        var r = p.querySelector("input[type=radio]:checked");
        var role = r ? r.value : "";
        pages.push(role);
        if (role !== "order") return;
        var o = {};
        p.querySelectorAll(".ofields [name]").forEach(function (el) {
          var v = el.value.trim();
          if (v !== "") o[el.name] = v;
        });
        orders.push(o);
        where.push(p);
      });
      form.querySelectorAll(".bad").forEach(function (el) { el.classList.remove("bad"); });
      post("/api/batches/" + form.dataset.batch + "/verify", { pages: pages, orders: orders })
        .then(function (j) {
          var n = (j.orders || []).length;
          say("已核对 " + n + " 张工单" + (j.queued ? ",已告知电信" : ""), true);
          setTimeout(function () { location.reload(); }, 600);
        })
        .catch(function (e) {
          say(e.message);
          var m = /第 (\d+) 张工单/.exec(e.message);
          var names = { "号码": "line", "账号": "account", "姓名": "name", "联系电话": "contact", "地址": "address", "户类": "service", "备注": "remarks" };
          var f = /^([^:]+):/.exec(e.message);
          if (m && f && names[f[1]] && where[m[1] - 1]) {
            var el = where[m[1] - 1].querySelector('[name="' + names[f[1]] + '"]');
            if (el) { el.classList.add("bad"); el.focus(); }
          }
        });
    });
  }

  // A signed slip: its scan read as a data: URL, or a received fax's number.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f.classList || !f.classList.contains("slip")) return;
    ev.preventDefault();
    var url = "/api/orders/" + encodeURIComponent(f.dataset.serial) + "/slip";
    var file = f.querySelector("input[type=file]").files[0];
    var fax = f.querySelector("input[name=fax]").value.trim();
    var send = function (body) {
      post(url, body).then(function () {
        say("已保存", true);
        setTimeout(function () { location.reload(); }, 300);
      }).catch(function (e) { say(e.message); });
    };
    if (file) {
      var rd = new FileReader();
      rd.onload = function () { send({ image: String(rd.result) }); };
      rd.readAsDataURL(file);
    } else if (fax !== "") {
      send({ fax: Number(fax) });
    } else {
      send({});
    }
  });
})();
