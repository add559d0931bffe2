// Policy look-up beside a form field marked `x-lookup: policy` (rendered with data-lookup="policy"): the clerk
// types a policy number, the holder's ID number or part of a name; the matches come from POST
// /api/policies/lookup (in the body, never in a URL); picking one fills the field and the fields named in
// data-lookup-fill (e.g. the claimant's name with the holder's).
(function () {
  "use strict";
  var textsBlock = document.getElementById("lookup-texts");
  if (!textsBlock) { return; }
  var texts = JSON.parse(textsBlock.textContent);

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function attach(input) {
    var fill = JSON.parse(input.getAttribute("data-lookup-fill") || "{}");
    var box = element("div", "input-group input-group-sm mt-2 policy-lookup");
    var query = element("input", "form-control");
    query.type = "search";
    query.id = input.id + "-lookup";
    query.maxLength = 100;
    query.placeholder = texts.placeholder;
    query.setAttribute("aria-label", texts.placeholder);
    var button = element("button", "btn btn-outline-secondary", texts.button);
    button.type = "button";
    button.id = input.id + "-lookup-button";
    var results = element("ul", "list-group list-group-flush small mt-1 policy-lookup-results");
    results.id = input.id + "-lookup-results";
    results.setAttribute("aria-live", "polite");
    box.appendChild(query);
    box.appendChild(button);
    input.insertAdjacentElement("afterend", results);
    input.insertAdjacentElement("afterend", box);

    function pick(policy) {
      input.value = policy.number;
      Object.keys(fill).forEach(function (key) {
        var target = document.getElementById("f-" + fill[key]);
        if (target && !target.value && policy[key]) { target.value = policy[key]; }
      });
      results.textContent = "";
      input.focus();
    }

    function show(policies) {
      results.textContent = "";
      if (!policies.length) { results.appendChild(element("li", "list-group-item text-body-secondary", texts.none)); }
      policies.forEach(function (policy) {
        var item = element("li", "list-group-item p-0");
        var choice = element("button", "btn btn-link btn-sm text-start w-100 policy-lookup-choice");
        choice.type = "button";
        choice.setAttribute("data-policy", policy.number);
        choice.textContent = policy.number + " · " + policy.product + " · " + texts.holder + " " + policy.holder
          + (policy.insured && policy.insured !== policy.holder ? " · " + texts.insured + " " + policy.insured : "")
          + (policy.status === "terminated" ? " (" + texts.terminated + ")" : "");
        choice.addEventListener("click", function () { pick(policy); });
        item.appendChild(choice);
        results.appendChild(item);
      });
    }

    function search() {
      var text = query.value.trim();
      if (!text) { return; }
      fetch("/api/policies/lookup", {
        method: "POST", credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": texts.csrf },
        body: JSON.stringify({ text: text })
      }).then(function (response) {
        if (!response.ok) { throw new Error(String(response.status)); }
        return response.json();
      }).then(function (body) { show(body.policies); }).catch(function () {
        results.textContent = "";
        results.appendChild(element("li", "list-group-item text-danger", texts.failed));
      });
    }

    button.addEventListener("click", search);
    query.addEventListener("keydown", function (event) {
      if (event.key === "Enter") { event.preventDefault(); search(); }
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll("input[data-lookup=policy]"), attach);
}());
