/* The web form's few behaviours (no inline script: the CSP allows only our own files):
   the sheet tabs, rows added and removed, the draft saved as the school types (debounced) with
   the server's version, a cell's own check as the school leaves it, Enter and the arrow keys
   moving between the grid's cells as in a spreadsheet (Tab is the browser's own: the next cell
   along the row), and the grid sent as one JSON field with «Сохранить черновик», «Проверить», «Сдать отчёт». */
(function () {
  "use strict";
  var form = document.getElementById("collect");
  if (!form) { return; }
  var readonly = form.dataset.readonly === "1";
  var base = "/collect/" + form.dataset.collection;
  var timer = null;
  var stopped = false;

  function field(name) { return form.querySelector("input[name='" + name + "']"); }

  function rowsOf(section) {
    var holders = section.dataset.kind === "card" ? section.querySelectorAll(".card-form")
                                                   : section.querySelectorAll("tbody tr");
    var rows = [];
    holders.forEach(function (holder) {
      var row = {};
      holder.querySelectorAll("[data-field]").forEach(function (input) {
        if (input.value !== "") { row[input.dataset.field] = input.value; }
      });
      rows.push(row);
    });
    return rows;
  }

  function grid() {
    var data = {};
    form.querySelectorAll("section.sheet").forEach(function (section) {
      data[section.dataset.table] = rowsOf(section);
    });
    var answers = {};
    document.querySelectorAll("input.explain").forEach(function (input) {
      if (input.value.trim() !== "") { answers[input.dataset.key] = input.value; }
    });
    data._explanations = answers;
    return data;
  }

  function serialise() { return JSON.stringify(grid()); }

  // A cell's check posts multipart, not URL-encoded: its value is mostly Cyrillic, which URL
  // encoding turns into %XX triples the server then decodes a character at a time.
  function body(extra) {
    var params = new FormData();
    params.set("csrf", field("csrf").value);
    Object.keys(extra).forEach(function (k) { params.set(k, extra[k]); });
    return params;
  }

  function save() {
    timer = null;
    if (stopped) { return; }
    // JSON with the CSRF token in a header: parsed by the server's C decoder in one call, where a
    // multipart body costs the busiest route a fifth of its time in a pure-Python parser.
    fetch(base + "/draft", {method: "POST", credentials: "same-origin",
                            headers: {"Content-Type": "application/json", "X-CSRF-Token": field("csrf").value},
                            body: JSON.stringify({version: Number(field("version").value), data: grid()})})
      .then(function (response) {
        return response.json().then(function (answer) { return [response.status, answer]; });
      })
      .then(function (result) {
        var status = result[0], answer = result[1];
        if (status === 200) {
          field("version").value = answer.version;
          document.getElementById("last-change").textContent = answer.shown;
        } else {
          stopped = status === 409;
          var box = document.getElementById("conflict");
          box.textContent = answer.message;
          box.hidden = false;
        }
      });
  }

  function changed() {
    if (readonly) { return; }
    if (timer) { clearTimeout(timer); }
    timer = setTimeout(save, 700);
  }

  function place(input) {
    var holder = input.closest("[data-row]");
    return {section: input.closest("section.sheet"), row: holder ? holder.dataset.row : "0"};
  }

  function checkCell(input) {
    if (readonly) { return; }
    var where = place(input);
    fetch(base + "/cell", {method: "POST", credentials: "same-origin",
                           body: body({sheet: where.section.dataset.table, row: where.row,
                                       field: input.dataset.field, value: input.value})})
      .then(function (response) { return response.ok ? response.json() : {messages: []}; })
      .then(function (answer) {
        var note = document.getElementById("e-" + input.id);
        if (!note) { return; }
        note.textContent = answer.messages.join(" ");
        note.hidden = answer.messages.length === 0;
        if (answer.messages.length) {
          input.setAttribute("aria-invalid", "true");
          input.setAttribute("aria-describedby", note.id);
        } else {
          input.removeAttribute("aria-invalid");
          input.removeAttribute("aria-describedby");
        }
      });
  }

  function renumber(tbody) {
    var table = tbody.closest("section.sheet").dataset.table;
    tbody.querySelectorAll("tr").forEach(function (tr, i) {
      tr.dataset.row = String(i);
      tr.querySelector(".row-number").textContent = String(i + 1);
      tr.querySelectorAll("[data-field]").forEach(function (input, j) {
        var id = "c-" + table + "-" + i + "-" + j;
        var note = input.parentElement.querySelector(".cell-error");
        input.id = id;
        if (note) { note.id = "e-" + id; }
        var label = input.getAttribute("aria-label");
        if (label) { input.setAttribute("aria-label", label.replace(/строка \d+$/, "строка " + (i + 1))); }
      });
      var remove = tr.querySelector(".remove-row");
      if (remove) { remove.setAttribute("aria-label", "Удалить строку " + (i + 1)); }
    });
  }

  function addRow(button) {
    var section = button.closest("section.sheet");
    var tbody = section.querySelector("tbody");
    if (tbody.querySelectorAll("tr").length >= Number(section.dataset.max)) { return; }
    var template = document.getElementById("new-row-" + section.dataset.table);
    var n = tbody.querySelectorAll("tr").length;
    var html = template.innerHTML.replace(/__i__/g, String(n)).replace(/__n__/g, String(n + 1));
    tbody.insertAdjacentHTML("beforeend", html);
    renumber(tbody);
    var first = tbody.lastElementChild.querySelector("[data-field]");
    if (first) { first.focus(); }
    changed();
  }

  function showTab(tab) {
    form.querySelectorAll("[role=tab]").forEach(function (other) {
      var on = other === tab;
      other.setAttribute("aria-selected", on ? "true" : "false");
      document.getElementById(other.getAttribute("aria-controls")).hidden = !on;
    });
  }

  var tabs = form.querySelectorAll("[role=tab]");
  if (tabs.length) {
    showTab(tabs[0]);
    // A link to a cell (the «Ошибки» list) opens the sheet that holds it.
    var opened = function () {
      var target = location.hash ? document.getElementById(location.hash.slice(1)) : null;
      var panel = target ? target.closest("[role=tabpanel]") : null;
      if (panel) { showTab(document.getElementById(panel.getAttribute("aria-labelledby"))); target.focus(); }
    };
    window.addEventListener("hashchange", opened);
    document.querySelectorAll(".problems a[href^='#']").forEach(function (a) {
      a.addEventListener("click", function () { setTimeout(opened, 0); });
    });
    opened();
  }

  form.addEventListener("click", function (event) {
    var target = event.target;
    if (target.matches("[role=tab]")) { showTab(target); }
    if (target.matches(".add-row")) { addRow(target); }
    if (target.matches(".remove-row")) {
      var tbody = target.closest("tbody");
      target.closest("tr").remove();
      renumber(tbody);
      changed();
    }
  });
  form.addEventListener("input", changed);
  form.addEventListener("change", changed);
  // The answers to warnings live above the form (form="collect"), and are saved with the draft.
  document.querySelectorAll("input.explain").forEach(function (input) {
    input.addEventListener("input", changed);
  });
  form.addEventListener("focusout", function (event) {
    if (event.target.matches("[data-field]")) { checkCell(event.target); }
  });
  // The cell ``dRow`` rows down (up if negative) in the same column, or ``dCol`` cells along the
  // same row, of the grid holding ``input``; null at the grid's edge or outside a grid.
  function neighbour(input, dRow, dCol) {
    var tr = input.closest("tbody tr");
    if (!tr) { return null; }
    var cells = Array.prototype.slice.call(tr.querySelectorAll("[data-field]"));
    var column = cells.indexOf(input);
    if (dCol) { return cells[column + dCol] || null; }
    var row = dRow > 0 ? tr.nextElementSibling : tr.previousElementSibling;
    return row ? row.querySelectorAll("[data-field]")[column] || null : null;
  }

  function caretAt(input, end) {
    var at = end ? input.value.length : 0;
    return input.selectionStart === at && input.selectionEnd === at;
  }

  function moveTo(target, caretAtStart) {
    target.focus();
    if (target.type === "text") {  // other kinds have no caret to place
      var at = caretAtStart ? 0 : target.value.length;
      target.setSelectionRange(at, at);
    }
  }

  var ARROWS = {ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1]};
  form.addEventListener("keydown", function (event) {
    var input = event.target;
    if (!input.matches("[data-field]")) { return; }
    var target = null;
    if (event.key === "Enter") {
      event.preventDefault();  // Enter moves down a column (Shift+Enter up), as in a spreadsheet, and sends nothing
      target = neighbour(input, event.shiftKey ? -1 : 1, 0);
      if (target) { moveTo(target, false); }
      return;
    }
    var step = ARROWS[event.key];
    if (!step || event.metaKey || event.shiftKey) { return; }
    // A select, a date and a type-to-search list use the arrows themselves (a select's value, a
    // date's parts, the suggestions): there Ctrl+arrow moves; elsewhere a plain arrow does, Left
    // and Right only from the caret's start and end (inside the text they move the caret).
    var own = input.tagName === "SELECT" || input.type === "date" || input.hasAttribute("list");
    if (own ? !event.ctrlKey : event.ctrlKey || event.altKey) { return; }
    if (!own && step[1] && !caretAt(input, step[1] > 0)) { return; }
    target = neighbour(input, step[0], step[1]);
    if (!target) { return; }
    event.preventDefault();
    moveTo(target, step[1] > 0);
  });
  form.addEventListener("submit", function () {
    if (timer) { clearTimeout(timer); timer = null; }
    stopped = true;
    field("data").value = serialise();
  });
})();
