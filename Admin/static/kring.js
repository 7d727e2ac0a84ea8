// Kring: one small script. The pages work without it; it only adds conveniences.
(function () {
  "use strict";
  // "/" focuses the search box, unless the person is typing somewhere.
  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) return;
    var target = event.target;
    var typing = target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
    if (typing) return;
    var box = document.querySelector("[data-shortcut='/']");
    if (box) { event.preventDefault(); box.focus(); box.select(); }
  });
  // A button or form with data-confirm asks first ("Sleutel intrekken?"); without the script the action just happens,
  // so only reversible or clearly labelled actions rely on it.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var button = event.submitter;
    var question = (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) event.preventDefault();
  });
  // A running import: poll its progress every two seconds and show the report when it is done.
  document.addEventListener("DOMContentLoaded", function () {
    var block = document.querySelector("[data-progress]");
    if (!block || !window.fetch) return;
    var bar = block.querySelector("progress");
    var text = block.querySelector("[role=status]");
    function poll() {
      fetch(block.getAttribute("data-progress"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (state) {
          if (!state) return;
          bar.value = state.percent;
          bar.textContent = state.percent + "%";
          text.textContent = state.text;
          if (state.finished) { window.location.assign(block.getAttribute("data-reload")); } else { window.setTimeout(poll, 2000); }
        })
        .catch(function () { window.setTimeout(poll, 5000); });
    }
    window.setTimeout(poll, 1000);
  });
  // An error summary takes the focus, so a screen reader announces it and the keyboard starts there.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-focus]");
    if (summary) summary.focus();
  });
  // The segment builder: draws the rule (the form's JSON field) as nested groups of conditions over the field
  // catalogue, writes every change back to that field, and asks the server for the count a moment after the last
  // change. Without the script the JSON field and the Tellen button do the same.
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-segment-builder]");
    if (!form || !window.fetch || !window.JSON) return;
    var catalogue = JSON.parse(form.getAttribute("data-catalogue"));
    var source = form.querySelector("#rule");
    var root = form.querySelector("[data-builder]");
    var countBox = form.querySelector("[data-count]");
    var sampleBox = form.querySelector("[data-sample]");
    var fields = {};
    catalogue.fields.forEach(function (field) { fields[field.name] = field; });
    var tree;
    try { tree = parse(JSON.parse(source.value)); } catch (error) { return; }  // leave the JSON field to the person
    form.querySelector("[data-rule-field]").hidden = true;
    root.hidden = false;

    function el(tag, attributes, children) {
      var node = document.createElement(tag);
      Object.keys(attributes || {}).forEach(function (key) {
        if (key === "text") node.textContent = attributes[key]; else node.setAttribute(key, attributes[key]);
      });
      (children || []).forEach(function (child) { if (child) node.appendChild(child); });
      return node;
    }
    function select(label, options, value) {
      var box = el("select", { "aria-label": label });
      options.forEach(function (option) {
        var item = el("option", { value: option.value, text: option.label });
        if (String(option.value) === String(value)) item.selected = true;
        box.appendChild(item);
      });
      return box;
    }

    // The rule as a tree of groups ({kind: all | any | none, items}) and conditions ({field, op, value}).
    function parse(rule) {
      if (rule.all) return { kind: "all", items: rule.all.map(parse) };
      if (rule.any) return { kind: "any", items: rule.any.map(parse) };
      if (rule.not) return { kind: "none", items: rule.not.any ? rule.not.any.map(parse) : [parse(rule.not)] };
      return { field: rule.field, op: rule.op, value: rule.value };
    }
    // Back to JSON; every node learns the path the server's messages use ("rule.all[1].value").
    function serialise(node, path) {
      node.path = path;
      if (!node.kind) {
        var condition = { field: node.field, op: node.op };
        if (node.value !== undefined) condition.value = node.value;
        return condition;
      }
      if (node.kind === "none") {
        if (node.items.length === 1) return { not: serialise(node.items[0], path + ".not") };
        return { not: { any: node.items.map(function (item, i) { return serialise(item, path + ".not.any[" + i + "]"); }) } };
      }
      var list = {};
      list[node.kind] = node.items.map(function (item, i) { return serialise(item, path + "." + node.kind + "[" + i + "]"); });
      return list;
    }

    function operatorOf(node) {
      var field = fields[node.field];
      if (!field) return null;
      for (var i = 0; i < field.operators.length; i++) if (field.operators[i].op === node.op) return field.operators[i];
      return field.operators[0];
    }
    // A value that fits the operator's input, so a new choice starts complete where it can.
    function startingValue(field, operator) {
      switch (operator.input) {
        case "choice": return field.options.length ? field.options[0].value : "";
        case "flag": return true;
        case "activity": case "campaign": return {};
        case "choices": case "texts": case "numbers": return [];
        case "range": case "dates": return [null, null];
        case "none": return undefined;
        default: return null;
      }
    }
    function numberOrNull(text) { return text === "" || isNaN(Number(text)) ? null : Number(text); }
    function list(text) { return text.split(",").map(function (part) { return part.trim(); }).filter(function (part) { return part; }); }

    function valueEditor(node, field, operator) {
      var value = node.value;
      var wrap = el("span", { "class": "value" });
      function input(type, label, current, onChange) {
        var box = el("input", { type: type, "aria-label": label });
        if (type === "number") { box.setAttribute("inputmode", "numeric"); box.setAttribute("step", "1"); box.className = "short"; }
        if (current !== null && current !== undefined) box.value = current;
        box.addEventListener("input", function () { onChange(box.value); changed(false); });
        return box;
      }
      var label = field.label;
      switch (operator.input) {
        case "none": return null;
        case "number": case "days":
          wrap.appendChild(input("number", label, value, function (text) { node.value = numberOrNull(text); }));
          break;
        case "date":
          wrap.appendChild(input("date", label, value, function (text) { node.value = text || null; }));
          break;
        case "text":
          wrap.appendChild(input("text", label, value, function (text) { node.value = text; }));
          break;
        case "numbers": case "texts":
          wrap.appendChild(input("text", label + " (gescheiden door komma's)", (value || []).join(", "), function (text) {
            node.value = operator.input === "numbers" ? list(text).map(Number) : list(text);
          }));
          break;
        case "range": case "dates":
          var type = operator.input === "range" ? "number" : "date";
          var pair = Array.isArray(value) ? value.slice() : [null, null];
          node.value = pair;
          wrap.appendChild(input(type, label + ", van", pair[0], function (text) { pair[0] = type === "number" ? numberOrNull(text) : text || null; }));
          wrap.appendChild(el("span", { text: " en " }));
          wrap.appendChild(input(type, label + ", tot en met", pair[1], function (text) { pair[1] = type === "number" ? numberOrNull(text) : text || null; }));
          break;
        case "choice": case "flag":
          var options = operator.input === "flag" ? [{ value: "true", label: "ja" }, { value: "false", label: "nee" }] : field.options;
          var box = select(label, options, value);
          box.addEventListener("change", function () { node.value = operator.input === "flag" ? box.value === "true" : box.value; changed(true); });
          wrap.appendChild(box);
          break;
        case "choices":
          var chosen = Array.isArray(value) ? value.slice() : [];
          node.value = chosen;
          var group = el("span", { "class": "checks", role: "group", "aria-label": label });
          field.options.forEach(function (option) {
            var check = el("input", { type: "checkbox", value: option.value });
            check.checked = chosen.indexOf(option.value) >= 0;
            check.addEventListener("change", function () {
              var at = chosen.indexOf(option.value);
              if (check.checked && at < 0) chosen.push(option.value);
              if (!check.checked && at >= 0) chosen.splice(at, 1);
              changed(true);
            });
            group.appendChild(el("label", {}, [check, document.createTextNode(" " + option.label)]));
          });
          wrap.appendChild(group);
          break;
        case "activity": case "campaign":
          var filters = value && typeof value === "object" && !Array.isArray(value) ? value : {};
          node.value = filters;
          if (operator.input === "activity") {
            var categories = [{ value: "", label: "elke categorie" }].concat(catalogue.categories);
            var category = select("Categorie", categories, filters.category || "");
            category.addEventListener("change", function () {
              if (category.value) filters.category = category.value; else delete filters.category;
              changed(true);
            });
            wrap.appendChild(category);
          }
          wrap.appendChild(el("span", { text: " in de afgelopen " }));
          wrap.appendChild(input("number", "Aantal dagen terug (leeg: ooit)", filters.within_last_days, function (text) {
            var days = numberOrNull(text);
            if (days === null) delete filters.within_last_days; else filters.within_last_days = days;
          }));
          wrap.appendChild(el("span", { text: " dagen" }));
          return wrap;
      }
      if (operator.unit) wrap.appendChild(el("span", { "class": "unit", text: " " + operator.unit }));
      return wrap;
    }

    function drawCondition(node, remove) {
      var item = el("li", { "class": "condition" });
      node.element = item;
      var groups = {};
      var fieldBox = el("select", { "aria-label": "Veld" });
      catalogue.fields.forEach(function (field) {
        if (!groups[field.group]) { groups[field.group] = el("optgroup", { label: field.group }); fieldBox.appendChild(groups[field.group]); }
        var option = el("option", { value: field.name, text: field.label });
        if (field.name === node.field) option.selected = true;
        groups[field.group].appendChild(option);
      });
      var field = fields[node.field] || catalogue.fields[0];
      var operator = operatorOf(node) || field.operators[0];
      var opBox = select("Vergelijking", field.operators.map(function (op) { return { value: op.op, label: op.label }; }), operator.op);
      fieldBox.addEventListener("change", function () {
        node.field = fieldBox.value;
        var next = fields[node.field];
        node.op = next.operators[0].op;
        node.value = startingValue(next, next.operators[0]);
        redraw();
      });
      opBox.addEventListener("change", function () {
        var before = operatorOf(node);
        node.op = opBox.value;
        var after = operatorOf(node);
        if (!before || before.input !== after.input) node.value = startingValue(fields[node.field], after);
        redraw();
      });
      var removeButton = el("button", { type: "button", "class": "link remove", text: "Verwijderen" });
      removeButton.addEventListener("click", remove);
      item.appendChild(el("div", { "class": "condition-row" }, [fieldBox, opBox, valueEditor(node, field, operator), removeButton]));
      item.appendChild(el("p", { "class": "node-error", hidden: "hidden" }));
      return item;
    }

    function drawGroup(node, remove, depth) {
      var box = el(depth ? "li" : "div", { "class": "group" });
      node.element = box;
      var kind = select("Soort groep", [
        { value: "all", label: "aan alle" }, { value: "any", label: "aan minstens één" }, { value: "none", label: "aan geen" },
      ], node.kind);
      kind.addEventListener("change", function () { node.kind = kind.value; changed(true); });
      var head = el("div", { "class": "group-head" }, [
        el("span", { text: depth ? "Die voldoen " : "Klanten die voldoen " }), kind, el("span", { text: " van deze voorwaarden" }),
      ]);
      if (remove) {
        var removeButton = el("button", { type: "button", "class": "link remove", text: "Groep verwijderen" });
        removeButton.addEventListener("click", remove);
        head.appendChild(removeButton);
      }
      box.appendChild(head);
      box.appendChild(el("p", { "class": "node-error", hidden: "hidden" }));
      var items = el("ul", { "class": "conditions" });
      node.items.forEach(function (child, index) {
        function drop() { node.items.splice(index, 1); redraw(); }
        items.appendChild(child.kind ? drawGroup(child, drop, depth + 1) : drawCondition(child, drop));
      });
      box.appendChild(items);
      var addCondition = el("button", { type: "button", text: "+ Voorwaarde" });
      addCondition.addEventListener("click", function () {
        var first = catalogue.fields[0];
        node.items.push({ field: first.name, op: first.operators[0].op, value: startingValue(first, first.operators[0]) });
        redraw();
        var selects = node.element.querySelectorAll(":scope > ul > li.condition select");
        if (selects.length) selects[selects.length - 1].focus();
      });
      var actions = el("div", { "class": "group-actions" }, [addCondition]);
      if (depth < 3) {
        var addGroup = el("button", { type: "button", text: "+ Groep" });
        addGroup.addEventListener("click", function () { node.items.push({ kind: "any", items: [] }); redraw(); });
        actions.appendChild(addGroup);
      }
      box.appendChild(actions);
      return box;
    }

    function redraw() {
      root.innerHTML = "";
      if (!tree.kind) tree = { kind: "all", items: [tree] };
      root.appendChild(drawGroup(tree, null, 0));
      changed(true);
    }

    var timer = null;
    var running = null;
    function changed(now) {
      source.value = JSON.stringify(serialise(tree, "rule"));
      window.clearTimeout(timer);
      timer = window.setTimeout(count, now ? 150 : 400);
    }
    function nodes(node, found) {
      found.push(node);
      (node.items || []).forEach(function (child) { nodes(child, found); });
      return found;
    }
    function count() {
      if (running) running.abort();
      running = window.AbortController ? new AbortController() : null;
      countBox.classList.add("counting");
      if (countBox.classList.contains("pending")) countBox.textContent = "Wordt geteld…";
      var body = new URLSearchParams();
      body.set("_csrf", form.querySelector("input[name=_csrf]").value);
      body.set("rule", source.value);
      body.set("action", "count");
      fetch(form.getAttribute("action"), {
        method: "POST", credentials: "same-origin", body: body, signal: running ? running.signal : undefined,
        headers: { "Accept": "application/json" },
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (result) {
          countBox.classList.remove("counting");
          if (!result) { countBox.textContent = "Tellen lukte niet; probeer het zo opnieuw."; return; }
          countBox.textContent = result.text;
          // The messages of a Tellen without the script are replaced by the ones at the nodes.
          Array.prototype.forEach.call(form.querySelectorAll("[data-server-error]"), function (old) { old.remove(); });
          countBox.classList.toggle("pending", result.count === null);
          if (sampleBox) {
            sampleBox.innerHTML = "";
            if (result.sample.length) {
              sampleBox.appendChild(el("h3", { text: "De eerste " + result.sample.length }));
              sampleBox.appendChild(el("ol", { "class": "sample" }, result.sample.map(function (person) {
                return el("li", {}, [el("a", { href: person.href, text: person.name })]);
              })));
            }
          }
          // Each message at the deepest node its path names.
          var all = nodes(tree, []);
          all.forEach(function (node) {
            var box = node.element.querySelector(":scope > .node-error");
            box.hidden = true; box.textContent = "";
            node.element.classList.remove("invalid");
          });
          result.errors.forEach(function (error) {
            var best = null;
            all.forEach(function (node) {
              if ((error.path === node.path || error.path.indexOf(node.path + ".") === 0) && (!best || node.path.length > best.path.length)) best = node;
            });
            if (!best) return;
            var box = best.element.querySelector(":scope > .node-error");
            box.textContent = (box.textContent ? box.textContent + " " : "") + error.message;
            box.hidden = false;
            best.element.classList.add("invalid");
          });
        })
        .catch(function (error) { if (error.name !== "AbortError") countBox.textContent = "Tellen lukte niet; probeer het zo opnieuw."; });
    }
    redraw();
  });
  // The template editor: a moment after one stops typing, the preview shows the mail as it is in the form, for the
  // person named (the same as the Voorbeeld button, without leaving the page).
  document.addEventListener("DOMContentLoaded", function () {
    var form = document.querySelector("[data-template-editor]");
    var box = form && form.querySelector("[data-preview]");
    if (!box || !window.fetch) return;
    var timer = null;
    var running = null;
    function refresh() {
      if (!form.querySelector("#recipient").value.trim()) return;
      if (running) running.abort();
      running = window.AbortController ? new AbortController() : null;
      var body = new URLSearchParams(new FormData(form));
      body.set("action", "preview");
      fetch(form.getAttribute("action"), {
        method: "POST", credentials: "same-origin", body: body, signal: running ? running.signal : undefined,
        headers: { "Accept": "application/json" },
      })
        .then(function (response) { return response.ok ? response.json() : null; })
        .then(function (preview) {
          if (!preview) return;
          var message = box.querySelector("[data-preview-message]");
          var content = box.querySelector("[data-preview-body]");
          message.textContent = preview.message;
          message.hidden = !preview.message;
          content.hidden = !!preview.message;
          if (preview.message) return;
          box.querySelector("[data-preview-subject]").textContent = preview.subject;
          // A new frame each time: a frame made while its section was hidden stays blank in Chromium.
          var old = box.querySelector("[data-preview-html]");
          var frame = old.cloneNode(false);
          frame.setAttribute("srcdoc", preview.html);
          old.parentNode.replaceChild(frame, old);
          box.querySelector("[data-preview-text]").textContent = preview.text;
          var links = box.querySelector("[data-preview-links]");
          links.innerHTML = "";
          preview.links.forEach(function (url) { var item = document.createElement("li"); item.textContent = url; links.appendChild(item); });
        })
        .catch(function () {});
    }
    ["#subject", "#html", "#text", "#recipient"].forEach(function (css) {
      var field = form.querySelector(css);
      if (field) field.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(refresh, 700); });
    });
  });
})();
