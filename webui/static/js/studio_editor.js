// The studio's editor of a draft: the BPMN modeler with InsureFlow's properties panel, the decision
// tables in dmn-js, the forms as JSON with a live preview rendered by the server; save, validate
// (bpmnlint in the browser and the engine's validation), problems listed and marked on the canvas,
// deploy after a clean validation.
(function () {
  "use strict";
  var setup = JSON.parse(document.getElementById("studio-setup").textContent);
  var texts = JSON.parse(document.getElementById("studio-texts").textContent);
  var csrf = document.querySelector("meta[name=csrf-token]").content;
  var state = { files: setup.files, revision: setup.revision, bpmn: setup.main, dmn: null, form: null, problems: [] };
  var statusEl = document.getElementById("draft-status");
  var modelerEl = document.getElementById("modeler");

  function names(kind) { // the forms are the .json files that are no translation (claims.zh.json)
    return Object.keys(state.files).filter(function (n) {
      return n.slice(-kind.length - 1) === "." + kind && !(kind === "json" && /\.[a-z]{2}\.json$/.test(n));
    }).sort();
  }
  function basename(name) { return name.split("/").pop(); }
  function decisionIds() {
    var ids = [];
    names("dmn").forEach(function (name) {
      var re = /<(?:[\w-]+:)?decision\s[^>]*?\bid="([^"]+)"/g;
      var found;
      while ((found = re.exec(state.files[name])) !== null) {
        ids.push(found[1]);
      }
    });
    return ids.sort();
  }
  function fillSelect(select, options, chosen) {
    select.innerHTML = "";
    options.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      option.selected = name === chosen;
      select.appendChild(option);
    });
  }

  if (!window.InsureFlowStudio) {
    modelerEl.textContent = modelerEl.dataset.error;
    return;
  }
  var modeler = window.InsureFlowStudio.createModeler(modelerEl, "#properties", {
    operators: setup.operators, roles: setup.roles, roleLabels: setup.roleLabels, texts: texts,
    forms: function () { return names("json").map(basename); }, decisions: decisionIds,
  });
  var dmnModeler = window.DmnJS ? new window.DmnJS({ container: "#dmn-modeler" }) : null;

  // --- loading and collecting the files -----------------------------------------------------------
  function openBpmn(name) {
    state.bpmn = name;
    return modeler.importXML(state.files[name]).then(function () {
      modeler.get("canvas").zoom("fit-viewport", "auto");
      markProblems();
      listElements();
      modelerEl.classList.add("modeler-ready");
    }).catch(function (err) {
      modelerEl.classList.add("modeler-failed");
      showProblems([{ file: name, element: null, message: String(err.message || err), source: "engine" }]);
    });
  }
  function openDmn(name) {
    state.dmn = name;
    if (!dmnModeler || !name) {
      return Promise.resolve();
    }
    return dmnModeler.importXML(state.files[name]).then(function () {
      // Analysts change rules in the table: open it rather than the requirements diagram.
      var table = dmnModeler.getViews().filter(function (v) { return v.type === "decisionTable"; })[0];
      var active = dmnModeler.getActiveView();
      return table && (!active || active.type !== "decisionTable") ? dmnModeler.open(table) : null;
    }).then(function () {
      document.getElementById("dmn-modeler").classList.add("dmn-ready");
      document.getElementById("dmn-modeler").dataset.file = name;
    });
  }
  function openForm(name) {
    state.form = name;
    document.getElementById("form-json").value = name ? state.files[name] : "";
    preview();
  }
  function collect() {
    var work = [];
    if (state.bpmn) {
      work.push(modeler.saveXML({ format: true }).then(function (r) { state.files[state.bpmn] = r.xml; }));
    }
    if (dmnModeler && state.dmn && dmnModeler.getActiveViewer()) {
      work.push(dmnModeler.saveXML({ format: true }).then(function (r) { state.files[state.dmn] = r.xml; }));
    }
    if (state.form) {
      state.files[state.form] = document.getElementById("form-json").value;
    }
    return Promise.all(work);
  }

  // --- finding an element by id or name (large diagrams) -------------------------------------------
  function listElements() {
    var list = document.getElementById("element-ids");
    list.innerHTML = "";
    modeler.get("elementRegistry").filter(function (e) { return !e.labelTarget && e.type !== "label"; })
      .forEach(function (e) {
        var option = document.createElement("option");
        option.value = e.id;
        option.label = (e.businessObject && e.businessObject.name) || e.id;
        list.appendChild(option);
      });
  }
  function selectElement(id) {
    var element = id && modeler.get("elementRegistry").get(id);
    if (element) {
      modeler.get("selection").select(element);
      modeler.get("canvas").scrollToElement(element);
    }
    return !!element;
  }
  document.getElementById("element-search").addEventListener("change", function (event) {
    selectElement(event.target.value.trim());
  });

  // --- problems ------------------------------------------------------------------------------------
  var marked = [];
  function markProblems() {
    var canvas = modeler.get("canvas");
    var registry = modeler.get("elementRegistry");
    marked.forEach(function (m) { if (registry.get(m[0])) { canvas.removeMarker(m[0], m[1]); } });
    marked = [];
    state.problems.forEach(function (p) {
      var here = p.source === "lint" || p.file === state.bpmn;
      if (here && p.element && registry.get(p.element)) {
        var css = p.category === "warn" ? "if-warning" : "if-problem";
        canvas.addMarker(p.element, css);
        marked.push([p.element, css]);
      }
    });
  }
  function showProblems(problems) {
    state.problems = problems;
    var list = document.getElementById("problem-list");
    list.innerHTML = "";
    problems.forEach(function (p) {
      var item = document.createElement("li");
      item.className = "list-group-item problem problem-" + p.source + (p.category === "warn" ? " text-body-secondary" : "");
      item.dataset.element = p.element || "";
      item.dataset.file = p.file || "";
      item.dataset.source = p.source;
      item.textContent = "[" + (p.source === "lint" ? texts.lint : texts.engine) + "] " + (p.file || "") +
        (p.line ? ":" + p.line : "") + (p.element ? " [" + p.element + "]" : "") + ": " + p.message;
      list.appendChild(item);
    });
    document.getElementById("problem-count").textContent = String(problems.length);
    document.getElementById("problem-card").classList.toggle("d-none", problems.length === 0);
    markProblems();
  }
  document.getElementById("problem-list").addEventListener("click", function (event) {
    var item = event.target.closest(".problem");
    if (item) {
      selectElement(item.dataset.element);
    }
  });

  function lint() {
    var definitions = modeler.getDefinitions();
    return window.InsureFlowStudio.lintDefinitions(definitions).then(function (found) {
      return found.map(function (f) {
        return { file: state.bpmn, element: f.element, message: f.message + " (" + f.rule + ")", category: f.category,
          source: "lint" };
      });
    });
  }
  function engineProblems() {
    var body = new FormData();
    Object.keys(state.files).forEach(function (name) {
      body.append("files", new Blob([state.files[name]], { type: "application/octet-stream" }), name);
    });
    return fetch(setup.urls.validate, { method: "POST", body: body, credentials: "same-origin",
      headers: { "X-CSRFToken": csrf } }).then(function (response) {
      return response.json().then(function (answer) {
        if (response.ok) {
          return [];
        }
        var details = (answer.error && answer.error.details) || {};
        return (details.problems || [{ file: "", element: null, message: answer.error ? answer.error.message : "" }])
          .map(function (p) { return Object.assign({ source: "engine" }, p); });
      });
    });
  }
  function validate() {
    statusEl.textContent = texts.validating;
    return collect().then(function () {
      return Promise.all([lint(), engineProblems()]);
    }).then(function (found) {
      var engine = found[1];
      showProblems(engine.concat(found[0]));
      statusEl.textContent = engine.length ? engine.length + " · " + texts.notDeployed : texts.noProblems;
      return engine;
    });
  }

  // --- save and deploy -----------------------------------------------------------------------------
  function save() {
    statusEl.textContent = texts.saving;
    return collect().then(function () {
      return fetch(setup.urls.draft, {
        method: "PUT", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf },
        body: JSON.stringify({ files: state.files, revision: state.revision, base_deployment_id: setup.base_deployment_id }),
      });
    }).then(function (response) {
      return response.json().then(function (answer) {
        if (!response.ok) {
          statusEl.textContent = response.status === 409 ? texts.conflict : texts.saveFailed + ": " + answer.error.message;
          var problems = (answer.error.details || {}).problems || [];
          showProblems(problems.map(function (p) { return Object.assign({ source: "engine" }, p); }));
          throw new Error("not saved");
        }
        state.revision = answer.revision;
        statusEl.textContent = texts.saved;
        document.body.dataset.draftRevision = String(answer.revision);
      });
    });
  }
  document.getElementById("save-draft").addEventListener("click", function () { save().catch(function () {}); });
  document.getElementById("validate-draft").addEventListener("click", function () { validate(); });
  document.getElementById("deploy-button").addEventListener("click", function () {
    var form = document.getElementById("deploy-form");
    if (!form.reportValidity()) {
      return;
    }
    save().then(validate).then(function (engine) {
      if (!engine.length) {
        form.submit();
      }
    }).catch(function () {});
  });

  // --- forms: validation as you type and the server's rendering as the preview ---------------------
  var previewTimer = null;
  function preview() {
    var text = document.getElementById("form-json").value;
    var error = document.getElementById("form-json-error");
    var target = document.getElementById("form-preview");
    if (!state.form) {
      target.innerHTML = "";
      return;
    }
    try {
      JSON.parse(text);
    } catch (err) {
      error.textContent = texts.invalidJson + ": " + err.message;
      return;
    }
    fetch(setup.urls.preview, { method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": csrf }, body: JSON.stringify({ schema: text }) })
      .then(function (response) { return response.json(); })
      .then(function (answer) {
        error.textContent = answer.message || (answer.problems || []).join(" ");
        if (answer.html) {
          target.innerHTML = answer.html;
          target.classList.add("preview-ready");
        }
      });
  }
  document.getElementById("form-json").addEventListener("input", function () {
    window.clearTimeout(previewTimer);
    previewTimer = window.setTimeout(preview, 300);
  });

  // --- file pickers --------------------------------------------------------------------------------
  var bpmnSelect = document.getElementById("bpmn-file");
  var dmnSelect = document.getElementById("dmn-file");
  var formSelect = document.getElementById("form-file");
  fillSelect(bpmnSelect, names("bpmn"), state.bpmn);
  fillSelect(dmnSelect, names("dmn"), names("dmn")[0]);
  fillSelect(formSelect, names("json"), names("json")[0]);
  bpmnSelect.addEventListener("change", function () { collect().then(function () { openBpmn(bpmnSelect.value); }); });
  dmnSelect.addEventListener("change", function () { collect().then(function () { openDmn(dmnSelect.value); }); });
  formSelect.addEventListener("change", function () { collect().then(function () { openForm(formSelect.value); }); });
  // dmn-js lays its table out when it is visible: the first table opens with its tab.
  document.getElementById("tab-dmn-button").addEventListener("shown.bs.tab", function () {
    if (state.dmn === null) {
      openDmn(dmnSelect.value || null);
    }
  });

  // The dry-run panel (studio_dry_run.js) runs the same files this editor saves and marks its canvas.
  window.InsureFlowEditor = { modeler: modeler, setup: setup, csrf: csrf, files: function () { return state.files; },
    collect: collect, showProblems: function (problems) {
      showProblems(problems.map(function (p) { return Object.assign({ source: "engine" }, p); }));
    } };

  if (setup.problems.length) {
    showProblems(setup.problems.map(function (p) { return Object.assign({ source: "engine" }, p); }));
  }
  openBpmn(state.bpmn || names("bpmn")[0]);
  openForm(formSelect.value || null);
})();
