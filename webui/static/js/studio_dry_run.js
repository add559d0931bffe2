// The editor's dry-run panel: a scenario (initial data, steps, handler outcomes) run against the draft
// files the editor holds (POST /api/dry-runs, nothing kept), the result in words, the path taken
// marked on the canvas until the diagram changes, and the scenarios saved with the process.
(function () {
  "use strict";
  var editor = window.InsureFlowEditor;
  if (!editor) {
    return;
  }
  var texts = JSON.parse(document.getElementById("dry-run-texts").textContent);
  var setup = editor.setup;
  var modeler = editor.modeler;
  var saved = [];
  var marked = [];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) {
      node.className = className;
    }
    if (text !== undefined && text !== null) {
      node.textContent = text;
    }
    return node;
  }
  function format(template, value) {
    return template.replace("{value}", value);
  }
  function pretty(value) {
    return JSON.stringify(value, null, 2);
  }
  function request(method, url, body) {
    var headers = { "X-CSRFToken": editor.csrf };
    if (body !== undefined && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(body);
    }
    return fetch(url, { method: method, credentials: "same-origin", headers: headers, body: body })
      .then(function (response) {
        if (response.status === 204) {
          return { ok: true, status: 204, body: null };
        }
        return response.json().then(function (answer) {
          return { ok: response.ok, status: response.status, body: answer };
        });
      });
  }
  function errorText(answer) {
    var error = (answer && answer.error) || {};
    var details = error.details || {};
    var fields = details.fields || {};
    var parts = Object.keys(fields).map(function (name) { return name + ": " + fields[name]; });
    return (error.message || texts.failed) + (parts.length ? " (" + parts.join("; ") + ")" : "");
  }

  // --- what the diagram offers: user tasks, timers, messages ----------------------------------------
  function elementsOf(test) {
    return modeler.get("elementRegistry").filter(function (e) { return e.type !== "label" && test(e); })
      .map(function (e) { return { id: e.id, label: (e.businessObject.name || e.id) + " (" + e.id + ")" }; })
      .sort(function (a, b) { return a.label.localeCompare(b.label); });
  }
  function hasDefinition(e, type) {
    return (e.businessObject.eventDefinitions || []).some(function (d) { return d.$type === type; });
  }
  function targets(kind) {
    if (kind === "task") {
      return elementsOf(function (e) { return e.type === "bpmn:UserTask" || e.type === "bpmn:ManualTask"; });
    }
    if (kind === "timer") {
      return elementsOf(function (e) { return hasDefinition(e, "bpmn:TimerEventDefinition"); });
    }
    var definitions = modeler.getDefinitions();
    return ((definitions && definitions.rootElements) || []).filter(function (r) { return r.$type === "bpmn:Message"; })
      .map(function (m) { return { id: m.name || m.id, label: m.name || m.id }; });
  }
  function processIds() {
    var definitions = modeler.getDefinitions();
    return ((definitions && definitions.rootElements) || []).filter(function (r) { return r.$type === "bpmn:Process"; })
      .map(function (r) { return r.id; });
  }

  // --- the scenario editor -------------------------------------------------------------------------
  var stepsEl = document.getElementById("scenario-steps");
  var outcomesEl = document.getElementById("scenario-outcomes");
  var errorEl = document.getElementById("scenario-error");

  function select(options, chosen, className, label) {
    var node = el("select", "form-select form-select-sm " + className);
    node.setAttribute("aria-label", label);
    var known = false;
    options.forEach(function (o) {
      var option = el("option", null, o.label);
      option.value = o.id;
      option.selected = o.id === chosen;
      known = known || o.id === chosen;
      node.appendChild(option);
    });
    if (chosen && !known) {  // a saved scenario may name what this draft no longer has: keep it, visibly
      var missing = el("option", null, format(texts.notInDiagram, chosen));
      missing.value = chosen;
      missing.selected = true;
      node.appendChild(missing);
    }
    return node;
  }
  function dataBox(value, className, label) {
    var box = el("textarea", "form-control form-control-sm font-monospace " + className);
    box.rows = 3;
    box.spellcheck = false;
    box.value = value === undefined ? "{}" : pretty(value);
    box.setAttribute("aria-label", label);
    return box;
  }
  function removeButton(row) {
    var button = el("button", "btn btn-sm btn-outline-danger remove-row", texts.remove);
    button.type = "button";
    button.addEventListener("click", function () { row.remove(); });
    return button;
  }
  function addStep(kind, step) {
    step = step || {};
    var row = el("li", "scenario-step list-group-item d-flex flex-column gap-1");
    row.dataset.kind = kind;
    var head = el("div", "d-flex gap-2 align-items-center");
    head.appendChild(el("span", "badge text-bg-light step-kind", texts.kinds[kind]));
    head.appendChild(select(targets(kind), step[kind], "step-target", texts.kinds[kind]));
    head.appendChild(removeButton(row));
    row.appendChild(head);
    if (kind !== "timer") {
      row.appendChild(dataBox(step.data, "step-data", kind === "task" ? texts.answer : texts.payload));
    }
    stepsEl.appendChild(row);
    return row;
  }
  function addOutcome(operator, outcome) {
    var row = el("div", "scenario-outcome d-flex flex-column gap-1 border rounded p-2");
    var head = el("div", "d-flex gap-2 align-items-center");
    var operators = setup.operators.map(function (o) { return { id: o.name, label: o.name }; });
    head.appendChild(select(operators, operator, "outcome-operator", texts.operator));
    head.appendChild(removeButton(row));
    row.appendChild(head);
    row.appendChild(dataBox(outcome === undefined ? { result: {} } : outcome, "outcome-data", texts.outcome));
    outcomesEl.appendChild(row);
    return row;
  }
  document.querySelectorAll("[data-add-step]").forEach(function (button) {
    button.addEventListener("click", function () { addStep(button.dataset.addStep); });
  });
  document.getElementById("add-outcome").addEventListener("click", function () { addOutcome(); });

  function parsed(box, what) {
    try {
      var value = JSON.parse(box.value || "{}");
      if (value === null || typeof value !== "object" || Array.isArray(value)) {
        throw new Error(texts.notObject);
      }
      box.classList.remove("is-invalid");
      return value;
    } catch (err) {
      box.classList.add("is-invalid");
      box.focus();
      throw new Error(what + ": " + texts.invalidJson + " (" + err.message + ")");
    }
  }
  function scenario() {
    var result = { process: setup.key, data: parsed(document.getElementById("scenario-data"), texts.initialData),
      steps: [], outcomes: {} };
    stepsEl.querySelectorAll(".scenario-step").forEach(function (row, number) {
      var kind = row.dataset.kind;
      var step = {};
      step[kind] = row.querySelector(".step-target").value;
      var box = row.querySelector(".step-data");
      if (box) {
        step.data = parsed(box, format(texts.stepNumber, number + 1));
      }
      result.steps.push(step);
    });
    outcomesEl.querySelectorAll(".scenario-outcome").forEach(function (row) {
      var operator = row.querySelector(".outcome-operator").value;
      (result.outcomes[operator] = result.outcomes[operator] || []).push(parsed(row.querySelector(".outcome-data"),
        operator));
    });
    return result;
  }
  function show(s) {
    document.getElementById("scenario-data").value = pretty(s.data || {});
    stepsEl.innerHTML = "";
    (s.steps || []).forEach(function (step) {
      var kind = ["task", "timer", "message"].filter(function (k) { return k in step; })[0];
      if (kind) {
        addStep(kind, step);
      }
    });
    outcomesEl.innerHTML = "";
    Object.keys(s.outcomes || {}).forEach(function (operator) {
      s.outcomes[operator].forEach(function (outcome) { addOutcome(operator, outcome); });
    });
  }

  // --- the canvas: the path taken, until the diagram changes ---------------------------------------
  function unmark() {
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    marked.forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
    marked = [];
    document.getElementById("modeler").classList.remove("dry-run-marked");
  }
  function mark(result) {
    unmark();
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    var here = processIds();
    function add(items, css) {
      items.forEach(function (item) {
        // A called process's elements are on another diagram; its ids may repeat here.
        if (here.indexOf(item.process) >= 0 && registry.get(item.element) && !canvas.hasMarker(item.element, css)) {
          canvas.addMarker(item.element, css);
          marked.push([item.element, css]);
        }
      });
    }
    add(result.path, "if-done");
    add(result.waiting, "if-active");
    document.getElementById("modeler").classList.add("dry-run-marked");
  }
  modeler.on("commandStack.changed", unmark);
  modeler.on("import.done", function () { marked = []; });

  // --- the result in words -------------------------------------------------------------------------
  function sentence(result) {
    if (result.status === "completed") {
      return texts.completed;
    }
    if (result.status === "waiting") {
      return format(texts.waitingAt, result.waiting.map(function (w) {
        return w.name + " (" + (texts.kinds[w.kind] || w.kind) + ")";
      }).join(", ") || "—");
    }
    return format(texts.stoppedBecause, result.reason);
  }
  function cell(row, text, className) {
    var td = el("td", className, text);
    row.appendChild(td);
    return td;
  }
  function showResult(result) {
    var box = document.getElementById("dry-run-result");
    box.hidden = false;
    box.dataset.status = result.status;
    var status = document.getElementById("dry-run-status");
    status.className = "alert mb-2 alert-" + ({ completed: "success", waiting: "info" }[result.status] || "warning");
    status.textContent = sentence(result);
    var path = document.getElementById("dry-run-path");
    path.innerHTML = "";
    result.path.forEach(function (p) {
      var item = el("li", "path-step", p.name);
      item.dataset.element = p.element;
      if (p.process !== result.process) {
        item.appendChild(el("span", "small text-body-secondary ms-1", "(" + p.process + ")"));
      }
      path.appendChild(item);
    });
    var tasks = document.querySelector("#dry-run-tasks tbody");
    tasks.innerHTML = "";
    result.tasks.forEach(function (t) {
      var row = el("tr", "dry-run-task");
      row.dataset.task = t.task;
      cell(row, t.name);
      cell(row, t.role ? (setup.roleLabels[t.role] || t.role) : texts.starter);
      cell(row, t.answer === null ? texts.notAnswered : pretty(t.answer), "small font-monospace text-break answer");
      var errors = cell(row, "", "small text-danger field-errors");
      Object.keys(t.errors || {}).forEach(function (name) {
        errors.appendChild(el("div", null, (name || texts.form) + ": " + t.errors[name]));
      });
      tasks.appendChild(row);
    });
    var handlers = document.querySelector("#dry-run-handlers tbody");
    handlers.innerHTML = "";
    result.handlers.forEach(function (h) {
      var row = el("tr", "dry-run-handler");
      cell(row, h.operator, "font-monospace");
      cell(row, h.task, "font-monospace small");
      cell(row, h.simulated ? texts.fromScenario : texts.ranForReal);
      cell(row, h.result === null || h.result === undefined ? "—" : pretty(h.result), "small font-monospace text-break");
      handlers.appendChild(row);
    });
    document.getElementById("dry-run-data").textContent = pretty(result.data);
    mark(result);
  }

  // --- run, save, load, delete ---------------------------------------------------------------------
  var statusEl = document.getElementById("scenario-status");
  function say(text, bad) {
    errorEl.textContent = bad ? text : "";
    statusEl.textContent = bad ? "" : text;
  }
  function current() {
    try {
      return scenario();
    } catch (err) {
      say(err.message, true);
      return null;
    }
  }
  document.getElementById("run-dry-run").addEventListener("click", function () {
    var s = current();
    if (!s) {
      return;
    }
    say(texts.running);
    editor.collect().then(function () {
      var body = new FormData();
      var files = editor.files();
      Object.keys(files).forEach(function (name) {
        body.append("files", new Blob([files[name]], { type: "application/octet-stream" }), name);
      });
      body.append("scenario", JSON.stringify(s));
      return request("POST", setup.urls.dryRun, body);
    }).then(function (answer) {
      if (!answer.ok) {
        var problems = ((answer.body.error || {}).details || {}).problems;
        if (problems) {
          editor.showProblems(problems);
        }
        say(problems ? texts.draftProblems : errorText(answer.body), true);
        return;
      }
      say(texts.finished);
      showResult(answer.body);
    }).catch(function (err) { say(String(err.message || err), true); });
  });

  var savedSelect = document.getElementById("scenario-saved");
  var nameInput = document.getElementById("scenario-name");
  function refresh(chosen) {
    return request("GET", setup.urls.scenarios).then(function (answer) {
      saved = answer.ok ? answer.body.items : [];
      savedSelect.innerHTML = "";
      var fresh = el("option", null, texts.newScenario);
      fresh.value = "";
      savedSelect.appendChild(fresh);
      saved.forEach(function (item) {
        var option = el("option", null, item.name);
        option.value = String(item.id);
        option.selected = item.id === chosen;
        savedSelect.appendChild(option);
      });
      document.getElementById("scenario-delete").disabled = !savedSelect.value;
    });
  }
  savedSelect.addEventListener("change", function () {
    var item = saved.filter(function (s) { return String(s.id) === savedSelect.value; })[0];
    document.getElementById("scenario-delete").disabled = !item;
    if (item) {
      nameInput.value = item.name;
      show(item.scenario);
      say(format(texts.loaded, item.name));
    }
  });
  document.getElementById("scenario-save").addEventListener("click", function () {
    var s = current();
    var name = nameInput.value.trim();
    if (!s) {
      return;
    }
    if (!name) {
      nameInput.classList.add("is-invalid");
      say(texts.nameNeeded, true);
      return;
    }
    nameInput.classList.remove("is-invalid");
    var id = savedSelect.value;
    var url = id ? setup.urls.scenarios + "/" + id : setup.urls.scenarios;
    request(id ? "PUT" : "POST", url, { name: name, scenario: s }).then(function (answer) {
      if (!answer.ok) {
        say(errorText(answer.body), true);
        return;
      }
      refresh(answer.body.id).then(function () { say(format(texts.savedAs, answer.body.name)); });
    });
  });
  document.getElementById("scenario-delete").addEventListener("click", function () {
    var id = savedSelect.value;
    if (!id) {
      return;
    }
    var name = savedSelect.selectedOptions[0].textContent;
    request("DELETE", setup.urls.scenarios + "/" + id).then(function (answer) {
      if (!answer.ok) {
        say(errorText(answer.body), true);
        return;
      }
      nameInput.value = "";
      refresh(null).then(function () { say(format(texts.deleted, name)); });
    });
  });
  document.getElementById("show-path").addEventListener("click", function () {
    document.getElementById("tab-diagram-button").click();
  });

  refresh(null).then(function () {
    document.getElementById("tab-dry-run").classList.add("dry-run-ready");
  });
})();
