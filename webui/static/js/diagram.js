// Deployed diagrams in the bpmn-js viewer (served locally): one component for the case page, the audit page
// and the studio. `InsureFlowDiagram.open(el)` fetches el.dataset.xmlUrl, imports it, sizes the container to
// the diagram, adds zoom in / zoom out / fit / reset buttons, lets the mouse wheel scroll the page (zooming
// only with Ctrl held), shows a node's history entries when it is clicked (from the JSON block named by
// el.dataset.historyFrom: element id → [{at, who, what}]) and resolves with {viewer, mark(ids, css), clear()};
// on failure it shows el.dataset.error.
(function () {
  "use strict";

  var READABLE = 0.6; // below this scale the labels are too small to read: zoom in on the case's step instead
  var texts = (function () {
    var block = document.getElementById("ui-texts");
    return block ? JSON.parse(block.textContent) : {};
  }());

  function fail(el) {
    el.textContent = el.dataset.error;
    el.classList.add("p-3", "text-body-secondary", "diagram-failed");
  }

  function button(label, symbol, id, onClick) {
    var node = document.createElement("button");
    node.type = "button";
    node.className = "btn btn-sm btn-light border";
    node.id = id;
    node.title = label;
    node.setAttribute("aria-label", label);
    node.textContent = symbol;
    node.addEventListener("click", onClick);
    return node;
  }

  // The buttons, the wheel and the node-history panel of a diagram box, made once per box; a box that opens
  // another diagram (the audit slider after a migration) points them at the new viewer (state.canvas).
  function tools(el) {
    if (el.insureflowTools) { return el.insureflowTools; }
    var state = { canvas: null, entries: {}, panel: null };
    var bar = document.createElement("div");
    bar.className = "diagram-toolbar btn-group btn-group-sm";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", texts.diagram_tools || "Diagram");
    var prefix = el.id || "diagram";
    function zoomBy(factor) { if (state.canvas) { state.canvas.zoom(state.canvas.zoom() * factor, "auto"); } }
    function zoomTo(level) { if (state.canvas) { state.canvas.zoom(level, "auto"); } }
    bar.appendChild(button(texts.zoom_in || "Zoom in", "+", prefix + "-zoom-in", function () { zoomBy(1.25); }));
    bar.appendChild(button(texts.zoom_out || "Zoom out", "−", prefix + "-zoom-out", function () { zoomBy(0.8); }));
    bar.appendChild(button(texts.fit || "Fit", "⤢", prefix + "-fit", function () { zoomTo("fit-viewport"); }));
    bar.appendChild(button(texts.reset || "Reset", "1:1", prefix + "-reset", function () { zoomTo(1.0); }));
    el.parentNode.insertBefore(bar, el);
    state.bar = bar;
    // The wheel scrolls the page; with Ctrl (or ⌘) held it zooms the diagram around the pointer.
    el.addEventListener("wheel", function (event) {
      if (!(event.ctrlKey || event.metaKey) || !state.canvas) { return; }
      event.preventDefault();
      var box = el.getBoundingClientRect();
      var factor = event.deltaY < 0 ? 1.1 : 1 / 1.1;
      state.canvas.zoom(state.canvas.zoom() * factor, { x: event.clientX - box.left, y: event.clientY - box.top });
    }, { passive: false });
    var block = el.dataset.historyFrom && document.getElementById(el.dataset.historyFrom);
    if (block) {
      state.entries = JSON.parse(block.textContent);
      state.panel = document.createElement("div");
      state.panel.className = "diagram-node-history small px-3 py-2 border-top";
      state.panel.id = prefix + "-node-history";
      state.panel.setAttribute("aria-live", "polite");
      state.panel.hidden = true;
      el.insertAdjacentElement("afterend", state.panel);
    }
    el.insureflowTools = state;
    return state;
  }

  var CONTAINERS = ["bpmn:Process", "bpmn:Collaboration", "bpmn:Participant", "bpmn:Lane"];

  // Clicking a node lists its history entries under the diagram.
  function showHistory(state, element) {
    var panel = state.panel;
    if (!panel) { return; }
    if (!element || !element.businessObject || CONTAINERS.indexOf(element.type) >= 0) {
      panel.hidden = true;
      return;
    }
    panel.textContent = "";
    var heading = document.createElement("div");
    heading.className = "fw-semibold mb-1";
    heading.textContent = element.businessObject.name || element.id;
    panel.appendChild(heading);
    var found = state.entries[element.id] || [];
    if (!found.length) {
      var none = document.createElement("div");
      none.className = "text-body-secondary";
      none.textContent = texts.no_history || "Nothing happened here yet.";
      panel.appendChild(none);
    }
    var list = document.createElement("ul");
    list.className = "list-unstyled mb-0";
    found.forEach(function (entry) {
      var item = document.createElement("li");
      item.textContent = entry.at + " · " + entry.who + " · " + entry.what;
      list.appendChild(item);
    });
    panel.appendChild(list);
    panel.hidden = false;
  }

  function open(el, options) {
    var fit = !options || options.fitHeight !== false;
    if (!window.BpmnJS) {
      fail(el);
      return Promise.reject(new Error("bpmn-js is not loaded"));
    }
    // The wheel is ours (tools): bpmn-js would pan on it and re-enable itself on every mouse-over.
    var viewer = new window.BpmnJS({ container: el, zoomScroll: { enabled: false } });
    return fetch(el.dataset.xmlUrl, { credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.text();
      })
      .then(function (xml) {
        return viewer.importXML(xml);
      })
      .then(function () {
        var canvas = viewer.get("canvas");
        var registry = viewer.get("elementRegistry");
        var marked = [];
        // As tall as the diagram needs at the container's width (wide diagrams stay short), then fit.
        var inner = canvas.viewbox().inner;
        if (fit && inner.width > 0) {
          var wanted = el.clientWidth * inner.height / inner.width + 40;
          el.style.height = Math.round(Math.max(320, Math.min(640, wanted))) + "px";
          canvas.resized();
        }
        canvas.zoom("fit-viewport", "auto");
        var state = tools(el);
        state.canvas = canvas;
        viewer.get("eventBus").on("element.click", function (event) { showHistory(state, event.element); });
        return {
          viewer: viewer,
          // Highlight the elements of `ids` the diagram has; returns those it has.
          mark: function (ids, css) {
            return ids.filter(function (id) {
              if (!registry.get(id)) {
                return false;
              }
              canvas.addMarker(id, css);
              marked.push([id, css]);
              return true;
            });
          },
          clear: function () {
            marked.forEach(function (item) {
              canvas.removeMarker(item[0], item[1]);
            });
            marked = [];
          },
          // Fitted too small to read: show the step the case is at (else the start) at a readable scale.
          focus: function (ids) {
            if (canvas.zoom() >= READABLE) { return; }
            var target = (ids || []).map(function (id) { return registry.get(id); }).filter(Boolean)[0];
            canvas.zoom(READABLE);
            if (target) {
              var box = canvas.viewbox();
              var scale = canvas.zoom();
              canvas.scroll({ dx: (box.x + box.width / 2 - (target.x + (target.width || 0) / 2)) * scale,
                              dy: (box.y + box.height / 2 - (target.y + (target.height || 0) / 2)) * scale });
            }
          },
          ready: function () {
            el.classList.add("diagram-ready");
          },
        };
      })
      .catch(function (error) {
        fail(el);
        throw error;
      });
  }

  window.InsureFlowDiagram = { open: open };

  // The case page: the elements passed and waiting highlighted; the step waited at shown readably.
  var el = document.getElementById("diagram");
  if (el) {
    open(el).then(function (diagram) {
      diagram.mark(JSON.parse(el.dataset.done || "[]"), "if-done");
      var active = diagram.mark(JSON.parse(el.dataset.active || "[]"), "if-active");
      diagram.focus(active);
      diagram.ready();
    }, function () {});
  }
})();
