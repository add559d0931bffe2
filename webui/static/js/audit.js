// The audit page's step slider: the exact deployed diagram (bpmn-js viewer) with the path taken up to the
// chosen step and what waited after it highlighted, and the case data as it was then.
(function () {
  "use strict";
  var slider = document.getElementById("step-slider");
  var source = document.getElementById("step-data");
  if (!slider || !source) {
    return;
  }
  var steps = JSON.parse(source.textContent || "[]");
  var label = document.getElementById("step-label");
  var unmaskStep = document.getElementById("unmask-step");
  var el = document.getElementById("audit-diagram");
  var diagram = null;
  var loadedUrl = null;

  // Each step shows the diagram it ran on: after a migration, earlier steps ran on the older version.
  function load(url) {
    if (!el || !url || url === loadedUrl) {
      return;
    }
    loadedUrl = url;
    if (diagram) {
      diagram.viewer.destroy();
      diagram = null;
    }
    el.classList.remove("diagram-ready");
    el.dataset.xmlUrl = url;
    window.InsureFlowDiagram.open(el).then(function (opened) {
      if (el.dataset.xmlUrl !== url) {
        opened.viewer.destroy();  // the slider moved on to another version meanwhile
        return;
      }
      diagram = opened;
      show(parseInt(slider.value, 10));
      diagram.ready();
    }, function () {});
  }

  function mark(step) {
    if (step && step.diagram && step.diagram !== loadedUrl) {
      load(step.diagram);
      return;
    }
    if (!diagram) {
      return;
    }
    diagram.clear();
    el.dataset.step = String(step.number);
    el.dataset.done = JSON.stringify(diagram.mark(step.path, "if-done"));
    el.dataset.active = JSON.stringify(diagram.mark(step.active, "if-active"));
  }

  function show(number) {
    var n = Math.max(1, Math.min(steps.length, number));
    slider.value = String(n);
    document.querySelectorAll(".step-panel").forEach(function (panel) {
      panel.hidden = panel.dataset.step !== String(n);
    });
    if (label) {
      label.textContent = label.dataset.template.replace("{n}", String(n));
    }
    if (unmaskStep) {
      unmaskStep.value = n === steps.length ? "" : String(n);
    }
    mark(steps[n - 1]);
  }

  slider.addEventListener("input", function () {
    show(parseInt(slider.value, 10));
  });
  document.getElementById("step-prev").addEventListener("click", function () {
    show(parseInt(slider.value, 10) - 1);
  });
  document.getElementById("step-next").addEventListener("click", function () {
    show(parseInt(slider.value, 10) + 1);
  });
  document.addEventListener("keydown", function (event) {
    // The slider handles its own arrows; elsewhere (not while typing) the arrows move it too.
    var target = event.target;
    if (target === slider || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName) || target.isContentEditable) {
      return;
    }
    if (event.key === "ArrowLeft" || event.key === "ArrowRight") {
      event.preventDefault();
      show(parseInt(slider.value, 10) + (event.key === "ArrowLeft" ? -1 : 1));
    }
  });
  show(steps.length);

  if (!el) {
    return;
  }
  load(steps.length ? steps[steps.length - 1].diagram : el.dataset.xmlUrl);
})();
