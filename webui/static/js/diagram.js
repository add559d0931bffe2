// The case's diagram (bpmn-js viewer, served locally) with the elements passed and waiting highlighted.
(function () {
  "use strict";
  var el = document.getElementById("diagram");
  if (!el) {
    return;
  }
  function fail() {
    el.textContent = el.dataset.error;
    el.classList.add("p-3", "text-body-secondary", "diagram-failed");
  }
  if (!window.BpmnJS) {
    fail();
    return;
  }
  var viewer = new window.BpmnJS({ container: el });
  fetch(el.dataset.xmlUrl, { credentials: "same-origin" })
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
      function mark(ids, css) {
        ids.forEach(function (id) {
          if (registry.get(id)) {
            canvas.addMarker(id, css);
          }
        });
      }
      mark(JSON.parse(el.dataset.done || "[]"), "if-done");
      mark(JSON.parse(el.dataset.active || "[]"), "if-active");
      // As tall as the diagram needs at the container's width (wide diagrams stay short), then fit.
      var inner = canvas.viewbox().inner;
      if (inner.width > 0) {
        var wanted = el.clientWidth * inner.height / inner.width + 40;
        el.style.height = Math.round(Math.max(240, Math.min(640, wanted))) + "px";
        canvas.resized();
      }
      canvas.zoom("fit-viewport", "auto");
      el.classList.add("diagram-ready");
    })
    .catch(fail);
})();
