// The studio's translation table: for a diagram or decision table of the draft, each text people read (element and
// lane names, instructions, a table's labels and annotations) with its English and an input for its Chinese. The
// rows come from the server (the engine's own rule of what is translated); typing writes the draft's translation
// file (claims.zh.json beside claims.bpmn), which is saved, validated and deployed with the other files.
(function () {
  "use strict";
  var editor = window.InsureFlowEditor;
  var select = document.getElementById("translation-source");
  if (!editor || !select) { return; }
  var texts = JSON.parse(document.getElementById("studio-texts").textContent);
  var table = document.getElementById("translation-table");
  var body = table.querySelector("tbody");
  var current = null;

  function sources() {
    return Object.keys(editor.files()).filter(function (n) { return /\.(bpmn|dmn)$/.test(n); }).sort();
  }
  function write() {
    var files = editor.files();
    var data;
    try { data = JSON.parse(files[current.file] || "{}"); } catch (err) { data = {}; }
    if (!data || typeof data !== "object" || Array.isArray(data)) { data = {}; }
    data.names = {};
    if (/\.bpmn$/.test(current.source)) { data.instructions = {}; }
    current.rows.forEach(function (row) {
      if (row.text.trim()) { data[row.section][row.id] = row.text; }
    });
    files[current.file] = JSON.stringify(data, null, 2) + "\n";
  }
  function cell(tag, className, text) {
    var node = document.createElement(tag);
    node.className = className;
    node.textContent = text;
    return node;
  }
  function render(answer) {
    current = answer;
    body.innerHTML = "";
    answer.rows.forEach(function (row, index) {
      var line = document.createElement("tr");
      line.dataset.element = row.id;
      line.dataset.section = row.section;
      var head = cell("th", "small font-monospace", row.id);
      head.scope = "row";
      head.appendChild(cell("div", "text-body-secondary fw-normal", row.section === "instructions" ? texts.instructions : row.what));
      var input = document.createElement(row.section === "instructions" ? "textarea" : "input");
      input.className = "form-control form-control-sm translation-input";
      input.id = "translation-" + index;
      input.value = row.text;
      input.placeholder = row.standIn || "";
      input.setAttribute("aria-label", texts.chineseOf.replace("{value}", row.english.slice(0, 80)));
      if (row.section === "instructions") { input.rows = 4; }
      input.addEventListener("input", function () { row.text = input.value; write(); });
      var field = document.createElement("td");
      field.appendChild(input);
      line.append(head, cell("td", "small", row.english), field);
      body.appendChild(line);
    });
    document.getElementById("translation-file").textContent = answer.file;
    table.classList.add("translations-ready");
  }
  function load() {
    table.classList.remove("translations-ready");
    return editor.collect().then(function () {
      return fetch(editor.setup.urls.translations, { method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": editor.csrf },
        body: JSON.stringify({ files: editor.files(), source: select.value }) });
    }).then(function (response) { return response.json(); }).then(function (answer) {
      if (answer.ok) { render(Object.assign({ source: select.value }, answer)); }
    });
  }

  sources().forEach(function (name) {
    var option = document.createElement("option");
    option.value = name;
    option.textContent = name;
    select.appendChild(option);
  });
  select.value = editor.setup.main || sources()[0] || "";
  select.addEventListener("change", load);
  document.getElementById("tab-translations-button").addEventListener("shown.bs.tab", load);
})();
