// InsureFlow's properties in bpmn-js's properties panel: what bpmn/README.md's conventions need —
// service operator and its parameters, lane role, form, decision, four eyes, due date, priority,
// assignee variable, instructions, scripts, timers and sequence-flow conditions.
import { h } from "@bpmn-io/properties-panel/preact";
import { SelectEntry, TextAreaEntry, TextFieldEntry, isSelectEntryEdited, isTextAreaEntryEdited,
  isTextFieldEntryEdited } from "@bpmn-io/properties-panel";
import { useService } from "bpmn-js-properties-panel";
import { getBusinessObject, is } from "bpmn-js/lib/util/ModelUtil";

const ISO_DURATION = /^P(?!$)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?$/;

/** Lane "Claims clerk" → role claims_clerk (engine/workflow/roles.py's rule). */
export function laneRole(name) {
  const text = (name || "").trim().toLowerCase();
  return text ? text.split(/\s+/).join("_") : "";
}

function laneName(role) {
  const words = role.split("_").join(" ");
  return words.charAt(0).toUpperCase() + words.slice(1);
}

// --- moddle helpers -------------------------------------------------------------------------------

function extensions(bo, type) {
  const ext = bo.get("extensionElements");
  return ext ? (ext.get("values") || []).filter(function (v) { return is(v, type); }) : [];
}

function ensureExtensionElements(element, bo, svc) {
  let ext = bo.get("extensionElements");
  if (!ext) {
    ext = svc.bpmnFactory.create("bpmn:ExtensionElements", { values: [] });
    ext.$parent = bo;
    svc.modeling.updateModdleProperties(element, bo, { extensionElements: ext });
  }
  return ext;
}

function ensureExtension(element, type, svc) {
  const bo = getBusinessObject(element);
  const found = extensions(bo, type)[0];
  if (found) {
    return found;
  }
  const ext = ensureExtensionElements(element, bo, svc);
  const child = svc.bpmnFactory.create(type, {});
  child.$parent = ext;
  svc.modeling.updateModdleProperties(element, ext, { values: (ext.get("values") || []).concat([child]) });
  return child;
}

function removeExtension(element, child, svc) {
  const ext = child.$parent;
  svc.modeling.updateModdleProperties(element, ext, {
    values: ext.get("values").filter(function (v) { return v !== child; }),
  });
}

export function spiffProperty(bo, name) {
  const props = extensions(bo, "spiffworkflow:Properties")[0];
  const found = props && (props.get("properties") || []).find(function (p) { return p.name === name; });
  return found ? found.value || "" : "";
}

function setSpiffProperty(element, name, value, svc) {
  const props = ensureExtension(element, "spiffworkflow:Properties", svc);
  const list = props.get("properties") || [];
  const existing = list.find(function (p) { return p.name === name; });
  if (!value) {
    if (existing) {
      svc.modeling.updateModdleProperties(element, props, { properties: list.filter(function (p) { return p !== existing; }) });
    }
    return;
  }
  if (existing) {
    svc.modeling.updateModdleProperties(element, existing, { value: value });
    return;
  }
  const created = svc.bpmnFactory.create("spiffworkflow:Property", { name: name, value: value });
  created.$parent = props;
  svc.modeling.updateModdleProperties(element, props, { properties: list.concat([created]) });
}

function bodyOf(bo, type) {
  const found = extensions(bo, type)[0];
  return found ? found.value || "" : "";
}

function setBody(element, type, value, svc) {
  const bo = getBusinessObject(element);
  const found = extensions(bo, type)[0];
  if (!value) {
    if (found) {
      removeExtension(element, found, svc);
    }
    return;
  }
  svc.modeling.updateModdleProperties(element, found || ensureExtension(element, type, svc), { value: value });
}

function services() {
  return {
    modeling: useService("modeling"),
    bpmnFactory: useService("bpmnFactory"),
    debounce: useService("debounceInput"),
    elementRegistry: useService("elementRegistry"),
  };
}

// --- entries --------------------------------------------------------------------------------------

// Components are module-level functions: a component defined anew on each render would be a new type
// to Preact, which would then replace the input under the user's fingers.
function TextComponent(props) {
  const svc = services();
  const options = props.options || {};
  const entry = {
    id: props.id, element: props.element, label: props.label, debounce: svc.debounce,
    getValue: function () { return props.read(); },
    setValue: function (value) { props.write(value, svc); },
    description: typeof options.description === "function" ? options.description(svc) : options.description,
    validate: options.validate ? function (value) { return options.validate(value, svc); } : undefined,
  };
  if (options.area) {
    return h(TextAreaEntry, Object.assign(entry, { rows: 3, monospace: !!options.monospace, autoResize: true }));
  }
  return h(TextFieldEntry, entry);
}

function SelectComponent(props) {
  const svc = services();
  return h(SelectEntry, {
    id: props.id, element: props.element, label: props.label, getOptions: props.choices,
    getValue: function () { return props.read(); },
    setValue: function (value) { props.write(value, svc); },
  });
}

function textEntry(id, element, label, read, write, options) {
  return { id: id, element: element, label: label, read: read, write: write, options: options,
    component: TextComponent, isEdited: options && options.area ? isTextAreaEntryEdited : isTextFieldEntryEdited };
}

function selectEntry(id, element, label, read, write, choices) {
  return { id: id, element: element, label: label, read: read, write: write, choices: choices,
    component: SelectComponent, isEdited: isSelectEntryEdited };
}

function withCurrent(options, value, unknownLabel) {
  if (value && !options.some(function (o) { return o.value === value; })) {
    return options.concat([{ value: value, label: unknownLabel.replace("{value}", value) }]);
  }
  return options;
}

// --- groups ---------------------------------------------------------------------------------------

function operatorGroup(element, ctx) {
  const t = ctx.texts;
  const bo = getBusinessObject(element);
  const operator = extensions(bo, "spiffworkflow:ServiceTaskOperator")[0];
  const name = operator ? operator.get("id") || "" : "";
  const handler = ctx.operators.find(function (o) { return o.name === name; });
  const params = operator && operator.get("parameters") ? operator.get("parameters").get("parameters") || [] : [];
  const paramValue = function (pid) {
    const p = params.find(function (x) { return x.id === pid; });
    return p ? p.value || "" : "";
  };

  function setOperator(value, svc) {
    const op = ensureExtension(element, "spiffworkflow:ServiceTaskOperator", svc);
    const chosen = ctx.operators.find(function (o) { return o.name === value; });
    const old = op.get("parameters") ? op.get("parameters").get("parameters") || [] : [];
    const container = svc.bpmnFactory.create("spiffworkflow:Parameters", {});
    container.$parent = op;
    // The chosen operator's required parameters, keeping the expressions already written for them.
    container.parameters = (chosen ? chosen.required : []).map(function (pid) {
      const before = old.find(function (p) { return p.id === pid; });
      const created = svc.bpmnFactory.create("spiffworkflow:Parameter", {
        id: pid, type: before ? before.type || "any" : "any", value: before ? before.value || "" : "" });
      created.$parent = container;
      return created;
    });
    svc.modeling.updateModdleProperties(element, op, { id: value, parameters: container,
      resultVariable: op.get("resultVariable") || (value ? value + "_result" : undefined) });
  }

  function setParameter(pid, value, svc) {
    const op = ensureExtension(element, "spiffworkflow:ServiceTaskOperator", svc);
    let container = op.get("parameters");
    if (!container) {
      container = svc.bpmnFactory.create("spiffworkflow:Parameters", { parameters: [] });
      container.$parent = op;
      svc.modeling.updateModdleProperties(element, op, { parameters: container });
    }
    const list = container.get("parameters") || [];
    const existing = list.find(function (p) { return p.id === pid; });
    const required = handler && handler.required.indexOf(pid) >= 0;
    if (!value && !required) {
      if (existing) {
        svc.modeling.updateModdleProperties(element, container, { parameters: list.filter(function (p) { return p !== existing; }) });
      }
      return;
    }
    if (existing) {
      svc.modeling.updateModdleProperties(element, existing, { value: value });
      return;
    }
    const created = svc.bpmnFactory.create("spiffworkflow:Parameter", { id: pid, type: "any", value: value });
    created.$parent = container;
    svc.modeling.updateModdleProperties(element, container, { parameters: list.concat([created]) });
  }

  const entries = [
    selectEntry("serviceOperator", element, t.operator, function () { return name; }, setOperator, function () {
      const options = [{ value: "", label: t.choose }].concat(ctx.operators.map(function (o) {
        return { value: o.name, label: o.name };
      }));
      return withCurrent(options, name, t.unknownOperator);
    }),
    textEntry("resultVariable", element, t.resultVariable, function () {
      return operator ? operator.get("resultVariable") || "" : "";
    }, function (value, svc) {
      svc.modeling.updateModdleProperties(element, ensureExtension(element, "spiffworkflow:ServiceTaskOperator", svc),
        { resultVariable: value || undefined });
    }),
  ];
  const names = handler ? handler.required.concat(handler.optional) : params.map(function (p) { return p.id; });
  names.forEach(function (pid) {
    const required = handler && handler.required.indexOf(pid) >= 0;
    entries.push(textEntry("parameter-" + pid, element, pid + (required ? " *" : ""), function () {
      return paramValue(pid);
    }, function (value, svc) { setParameter(pid, value, svc); }, {
      description: t.parameterHelp,
      validate: function (value) { return required && !value ? t.required : null; },
    }));
  });
  return { id: "insureflow-operator", label: t.serviceGroup, shouldOpen: true, entries: entries };
}

function laneGroup(element, ctx) {
  const t = ctx.texts;
  const role = laneRole(getBusinessObject(element).name);
  return {
    id: "insureflow-lane", shouldOpen: true, label: t.laneGroup, entries: [
      selectEntry("laneRole", element, t.role, function () { return role; }, function (value, svc) {
        svc.modeling.updateProperties(element, { name: value ? laneName(value) : "" });
      }, function () {
        const options = [{ value: "", label: t.choose }, { value: "system", label: t.systemLane }].concat(
          ctx.roles.map(function (r) { return { value: r, label: (ctx.roleLabels[r] || r) + " (" + r + ")" }; }));
        return withCurrent(options, role, t.unknownRole);
      }),
    ],
  };
}

function userTaskGroup(element, ctx) {
  const t = ctx.texts;
  const bo = getBusinessObject(element);
  const prop = function (name) { return function () { return spiffProperty(bo, name); }; };
  const setProp = function (name) { return function (value, svc) { setSpiffProperty(element, name, (value || "").trim(), svc); }; };
  const userTaskIds = function (svc) {
    return svc.elementRegistry.filter(function (e) { return is(e, "bpmn:UserTask") || is(e, "bpmn:ManualTask"); })
      .map(function (e) { return e.id; });
  };
  return {
    id: "insureflow-user-task", shouldOpen: true, label: t.userTaskGroup, entries: [
      selectEntry("form", element, t.form, prop("formJsonSchemaFilename"), setProp("formJsonSchemaFilename"), function () {
        const options = [{ value: "", label: t.noForm }].concat(ctx.forms().map(function (f) { return { value: f, label: f }; }));
        return withCurrent(options, spiffProperty(bo, "formJsonSchemaFilename"), t.missingFile);
      }),
      textEntry("dueIn", element, t.dueIn, prop("dueIn"), setProp("dueIn"), {
        description: t.dueInHelp,
        validate: function (value) { return value && !ISO_DURATION.test(value.trim()) ? t.notDuration : null; },
      }),
      textEntry("priority", element, t.priority, prop("priority"), setProp("priority"), {
        validate: function (value) {
          return value && !(/^\d+$/.test(value.trim()) && Number(value) <= 100) ? t.notPriority : null;
        },
      }),
      textEntry("assignTo", element, t.assignTo, prop("assignTo"), setProp("assignTo"), {
        description: t.assignToHelp,
        validate: function (value) { return value && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(value.trim()) ? t.notVariable : null; },
      }),
      textEntry("separateFrom", element, t.separateFrom, prop("separateFrom"), setProp("separateFrom"), {
        description: function (svc) {
          return t.separateFromHelp + " " + userTaskIds(svc).filter(function (id) { return id !== element.id; }).join(", ");
        },
        validate: function (value, svc) {
          const known = userTaskIds(svc);
          const wrong = (value || "").split(/[\s,]+/).filter(function (id) {
            return id && (known.indexOf(id) < 0 || id === element.id);
          });
          return wrong.length ? t.notUserTask.replace("{value}", wrong.join(", ")) : null;
        },
      }),
      textEntry("instructions", element, t.instructions, function () {
        return bodyOf(bo, "spiffworkflow:InstructionsForEndUser");
      }, function (value, svc) { setBody(element, "spiffworkflow:InstructionsForEndUser", value, svc); }, { area: true }),
    ],
  };
}

function decisionGroup(element, ctx) {
  const t = ctx.texts;
  const bo = getBusinessObject(element);
  return {
    id: "insureflow-decision", shouldOpen: true, label: t.decisionGroup, entries: [
      selectEntry("calledDecisionId", element, t.decision, function () {
        return bodyOf(bo, "spiffworkflow:CalledDecisionId");
      }, function (value, svc) { setBody(element, "spiffworkflow:CalledDecisionId", value, svc); }, function () {
        const options = [{ value: "", label: t.choose }].concat(ctx.decisions().map(function (d) { return { value: d, label: d }; }));
        return withCurrent(options, bodyOf(bo, "spiffworkflow:CalledDecisionId"), t.missingDecision);
      }),
    ],
  };
}

function conditionGroup(element, ctx) {
  const t = ctx.texts;
  const bo = getBusinessObject(element);
  return {
    id: "insureflow-condition", shouldOpen: true, label: t.conditionGroup, entries: [
      textEntry("condition", element, t.condition, function () {
        return bo.conditionExpression ? bo.conditionExpression.body || "" : "";
      }, function (value, svc) {
        const expression = value ? svc.bpmnFactory.create("bpmn:FormalExpression", { body: value }) : undefined;
        svc.modeling.updateProperties(element, { conditionExpression: expression });
      }, { area: true, monospace: true, description: t.conditionHelp }),
    ],
  };
}

const TIMER_KINDS = ["timeDuration", "timeDate", "timeCycle"];

function timerGroup(element, ctx, timer) {
  const t = ctx.texts;
  const kind = function () { return TIMER_KINDS.find(function (k) { return timer.get(k); }) || ""; };
  const setTimer = function (newKind, body, svc) {
    const update = { timeDuration: undefined, timeDate: undefined, timeCycle: undefined };
    if (newKind) {
      update[newKind] = svc.bpmnFactory.create("bpmn:FormalExpression", { body: body });
    }
    svc.modeling.updateModdleProperties(element, timer, update);
  };
  return {
    id: "insureflow-timer", shouldOpen: true, label: t.timerGroup, entries: [
      selectEntry("timerKind", element, t.timerKind, kind, function (value, svc) {
        const current = kind() ? timer.get(kind()).body || "" : "";
        setTimer(value, current, svc);
      }, function () {
        return [{ value: "", label: t.choose }, { value: "timeDuration", label: t.timeDuration },
          { value: "timeDate", label: t.timeDate }, { value: "timeCycle", label: t.timeCycle }];
      }),
      textEntry("timerExpression", element, t.timerExpression, function () {
        return kind() ? timer.get(kind()).body || "" : "";
      }, function (value, svc) { setTimer(kind() || "timeDuration", value, svc); }, { description: t.timerHelp }),
    ],
  };
}

function scriptGroup(element, ctx) {
  const t = ctx.texts;
  return {
    id: "insureflow-script", shouldOpen: true, label: t.scriptGroup, entries: [
      textEntry("script", element, t.script, function () { return getBusinessObject(element).script || ""; },
        function (value, svc) { svc.modeling.updateProperties(element, { script: value }); },
        { area: true, monospace: true }),
    ],
  };
}

/** The provider: registered with the panel, it adds InsureFlow's groups after bpmn-js's own. */
export function InsureFlowPropertiesProvider(propertiesPanel, config) {
  const ctx = config;
  this.getGroups = function (element) {
    return function (groups) {
      const bo = getBusinessObject(element);
      if (is(element, "bpmn:ServiceTask")) {
        groups.push(operatorGroup(element, ctx));
      }
      if (is(element, "bpmn:Lane")) {
        groups.push(laneGroup(element, ctx));
      }
      if (is(element, "bpmn:UserTask") || is(element, "bpmn:ManualTask")) {
        groups.push(userTaskGroup(element, ctx));
      }
      if (is(element, "bpmn:BusinessRuleTask")) {
        groups.push(decisionGroup(element, ctx));
      }
      if (is(element, "bpmn:ScriptTask")) {
        groups.push(scriptGroup(element, ctx));
      }
      if (is(element, "bpmn:SequenceFlow") && bo.sourceRef && (is(bo.sourceRef, "bpmn:ExclusiveGateway") ||
          is(bo.sourceRef, "bpmn:InclusiveGateway") || bo.conditionExpression)) {
        groups.push(conditionGroup(element, ctx));
      }
      const timer = (bo.eventDefinitions || []).find(function (d) { return is(d, "bpmn:TimerEventDefinition"); });
      if (timer) {
        groups.push(timerGroup(element, ctx, timer));
      }
      return groups;
    };
  };
  propertiesPanel.registerProvider(500, this);
}

InsureFlowPropertiesProvider.$inject = ["propertiesPanel", "config.insureflow"];
