/* Sort and search the report's tables; no network, no library. */
(function () {
  "use strict";
  function key(td) {
    var k = td.getAttribute("data-sort");
    if (k !== null && k !== "") { var v = parseFloat(k); if (!isNaN(v)) { return v; } }
    return null;
  }
  function sortBy(table, col, th) {
    var tbody = table.tBodies[0];
    var rows = Array.prototype.slice.call(tbody.rows);
    var asc = th.getAttribute("aria-sort") !== "ascending";
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (c) {
      c.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var ca = a.cells[col], cb = b.cells[col];
      var ka = key(ca), kb = key(cb), r;
      if (ka !== null && kb !== null) { r = ka - kb; }
      else if (ka === null && kb === null) {
        r = ca.textContent.localeCompare(cb.textContent, undefined, {numeric: true});
      } else { r = ka === null ? 1 : -1; }
      return asc ? r : -r;
    });
    rows.forEach(function (r) { tbody.appendChild(r); });
  }
  function search(box, input) {
    var q = input.value.toLowerCase(), shown = 0;
    var rows = box.querySelectorAll("tbody tr");
    Array.prototype.forEach.call(rows, function (r) {
      var hit = r.textContent.toLowerCase().indexOf(q) !== -1;
      r.style.display = hit ? "" : "none";
      if (hit) { shown += 1; }
    });
    var out = box.querySelector(".tcount");
    if (out) { out.textContent = q ? shown + " of " + rows.length + " rows match" : ""; }
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (t) {
    Array.prototype.forEach.call(t.tHead.rows[0].cells, function (th, i) {
      th.addEventListener("click", function () { sortBy(t, i, th); });
    });
  });
  Array.prototype.forEach.call(document.querySelectorAll(".tablebox"), function (box) {
    var input = box.querySelector("input.tsearch");
    if (input) { input.addEventListener("input", function () { search(box, input); }); }
  });
})();
