// The studio's BPMN modeler, bundled by esbuild (`make assets`) into webui/static/vendor/studio/:
// bpmn-js's modeler, the properties panel with InsureFlow's provider, the spiffworkflow moddle
// descriptor and bpmnlint's rules. The page script (webui/static/js/studio_editor.js) uses it
// through window.InsureFlowStudio.
import BpmnModeler from "bpmn-js/lib/Modeler";
import { BpmnPropertiesPanelModule, BpmnPropertiesProviderModule } from "bpmn-js-properties-panel";

import { lintDefinitions } from "./lint";
import { InsureFlowPropertiesProvider, laneRole, spiffProperty } from "./properties";
import spiffworkflow from "./spiffworkflow.json";

const InsureFlowModule = {
  __init__: ["insureflowPropertiesProvider"],
  insureflowPropertiesProvider: ["type", InsureFlowPropertiesProvider],
  // Every edit in the panel is applied at once, so that saving right after typing never loses it.
  debounceInput: ["value", function (fn) { return fn; }],
};

/** A modeler in `container` with the properties panel in `panel`; `insureflow` holds the handler
 * catalogue, the roles, the draft's forms and decisions and the translated texts. */
function createModeler(container, panel, insureflow) {
  return new BpmnModeler({
    container: container,
    propertiesPanel: { parent: panel },
    additionalModules: [BpmnPropertiesPanelModule, BpmnPropertiesProviderModule, InsureFlowModule],
    moddleExtensions: { spiffworkflow: spiffworkflow },
    insureflow: insureflow,
  });
}

window.InsureFlowStudio = {
  createModeler: createModeler,
  lintDefinitions: lintDefinitions,
  laneRole: laneRole,
  spiffProperty: spiffProperty,
};
