// An instrument's preview on the shopper's checklist page (admin, publishing): the same items
// shown and hidden by the same show_if rules (static/js/show_if.js), the same progress line
// and the same "this answer is required" marks on submit, but nothing is kept on the phone or
// sent: checklist.js, which saves and submits, is not loaded here.
(function () {
  "use strict";
  var form = document.getElementById("checklist");
  var dataEl = document.getElementById("checklist-data");
  if (!form || !dataEl || !window.showIf) return;
  var data = JSON.parse(dataEl.textContent), msg = data.messages;
  var items = Array.prototype.slice.call(form.querySelectorAll(".item[data-item]"));

  function answerOf(el) {
    var id = el.dataset.item, type = el.dataset.type;
    var input = el.querySelector('[name="item_' + id + '"]'), raw;
    if (input && input.type === "radio") {
      var checked = el.querySelector('input[type=radio][name="item_' + id + '"]:checked');
      raw = checked ? checked.value : "";
    } else raw = input ? input.value : "";
    if (raw === undefined || raw === "") return null;
    if (raw !== "na" && (type === "scale" || type === "nps" || type === "number")) {
      var n = Number(raw); return isNaN(n) ? raw : n;
    }
    return raw;
  }
  function refresh() {
    var shown = {}, done = 0, total = 0;
    items.forEach(function (el) {
      var id = el.dataset.item, visible = window.showIf.evaluate(data.conditions[id], shown);
      el.hidden = !visible;
      if (!visible) return;
      var answer = answerOf(el);
      if (answer !== null) shown[id] = answer;
      if (el.hasAttribute("data-required")) { total += 1; if (answer !== null) done += 1; }
    });
    var pct = total ? Math.round(100 * done / total) : 100;
    document.getElementById("progress-bar").style.width = pct + "%";
    document.getElementById("progress-text").textContent =
      msg.progress.replace("{done}", done).replace("{total}", total);
    return shown;
  }
  function mark(el, text) {
    el.classList.toggle("has-error", !!text);
    var p = el.querySelector(".field-error");
    if (p) { p.textContent = text || ""; p.hidden = !text; }
  }
  form.addEventListener("change", refresh);
  form.addEventListener("input", refresh);
  form.addEventListener("submit", function (e) {
    e.preventDefault();  // a preview sends nothing
    var shown = refresh(), first = null;
    items.forEach(function (el) {
      var missing = !el.hidden && el.hasAttribute("data-required") && !(el.dataset.item in shown);
      mark(el, missing ? msg.required : "");
      if (missing && !first) first = el;
    });
    if (first) first.scrollIntoView({ block: "center" });
  });
  refresh();
})();
