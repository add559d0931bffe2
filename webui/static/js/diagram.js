// Deployed diagrams in the bpmn-js viewer (served locally): one loader for the case page, the audit page and
// the studio. `InsureFlowDiagram.open(el)` fetches el.dataset.xmlUrl, imports it, sizes the container to the
// diagram and resolves with {viewer, mark(ids, css), clear()}; on failure it shows el.dataset.error.
(function () {
  "use strict";

  function fail(el) {
    el.textContent = el.dataset.error;
    el.classList.add("p-3", "text-body-secondary", "diagram-failed");
  }

  function open(el, options) {
    var fit = !options || options.fitHeight !== false;
    if (!window.BpmnJS) {
      fail(el);
      return Promise.reject(new Error("bpmn-js is not loaded"));
    }
    var viewer = new window.BpmnJS({ container: el });
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
          el.style.height = Math.round(Math.max(240, Math.min(640, wanted))) + "px";
          canvas.resized();
        }
        canvas.zoom("fit-viewport", "auto");
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

  // The case page: the elements passed and waiting highlighted.
  var el = document.getElementById("diagram");
  if (el) {
    open(el).then(function (diagram) {
      diagram.mark(JSON.parse(el.dataset.done || "[]"), "if-done");
      diagram.mark(JSON.parse(el.dataset.active || "[]"), "if-active");
      diagram.ready();
    }, function () {});
  }
})();
