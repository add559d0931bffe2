// A version's diagram in the studio (diagram.js's viewer), with the diff's markers.
(function () {
  "use strict";
  document.querySelectorAll(".studio-viewer").forEach(function (el) {
    window.InsureFlowDiagram.open(el, { fitHeight: false }).then(function (diagram) {
      var markers = JSON.parse(el.dataset.markers || "{}");
      Object.keys(markers).forEach(function (id) {
        diagram.mark([id], "if-" + markers[id]);
      });
      diagram.ready();
    }, function () {});
  });
})();
