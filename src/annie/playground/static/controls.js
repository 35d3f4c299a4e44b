// The controls of a tab, built from the server's description of each one (kind, range,
// choices), so the page and the server agree on what is valid. A change is sent as it is
// typed; the server checks it and an error is shown beside the control.
"use strict";

const Controls = (() => {
  const NUMBER_INPUTS = new Set(["seed"]);  // besides log-scale controls: typed, not slid

  function step(d) {
    if (d.kind === "int") return 1;
    const span = d.high - d.low;
    return span <= 1 ? 0.01 : span / 100;
  }

  function errorElement(section, name) {
    return section.querySelector(`[data-error="${name}"]`);
  }

  // Make the widget of one control inside its placeholder; onChange(name, value) sends it.
  function buildOne(section, d, onChange) {
    const holder = section.querySelector(`[data-control="${d.name}"]`);
    if (!holder || d.kind === "sizes") return;
    holder.textContent = "";
    if (d.name === "dataset") {  // data sets as buttons
      for (const choice of d.choices) {
        const button = document.createElement("button");
        button.textContent = choice === "upload" ? "your CSV" : choice;
        button.dataset.value = choice;
        button.addEventListener("click", () => onChange(d.name, choice));
        holder.appendChild(button);
      }
      return;
    }
    const caption = document.createElement("span");
    caption.textContent = d.label;
    holder.appendChild(caption);
    let input, shown = null;
    if (d.kind === "choice") {
      input = document.createElement("select");
      for (const choice of d.choices) {
        const option = document.createElement("option");
        option.value = choice; option.textContent = choice.replaceAll("_", " ");
        input.appendChild(option);
      }
      input.addEventListener("change", () => onChange(d.name, input.value));
    } else if (d.kind === "bool") {
      input = document.createElement("input");
      input.type = "checkbox";
      input.addEventListener("change", () => onChange(d.name, input.checked));
    } else {
      input = document.createElement("input");
      const typed = d.log || NUMBER_INPUTS.has(d.name);
      input.type = typed ? "number" : "range";
      input.min = d.low; input.max = d.high;
      input.step = typed ? "any" : step(d);
      if (!typed) {
        shown = document.createElement("span");
        shown.className = "value";
        input.addEventListener("input", () => { shown.textContent = input.value; });
      }
      input.addEventListener("change", () => {
        const text = input.value.trim();
        const number = Number(text);
        onChange(d.name, text === "" || Number.isNaN(number) ? input.value : number);
      });
    }
    input.name = d.name;
    holder.appendChild(input);
    if (shown) { holder.appendChild(shown); holder.shownValue = shown; }
    const error = document.createElement("span");
    error.className = "control-error";
    error.dataset.error = d.name;
    holder.appendChild(error);
  }

  function build(section, descriptions, onChange) {
    for (const d of descriptions) buildOne(section, d, onChange);
  }

  // Show the server's settings in the widgets (leaving alone the one being edited).
  function show(section, settings, disabled = {}) {
    for (const [name, value] of Object.entries(settings)) {
      const holder = section.querySelector(`[data-control="${name}"]`);
      if (!holder) continue;
      if (name === "dataset") {
        for (const button of holder.querySelectorAll("button")) {
          button.classList.toggle("selected", button.dataset.value === value);
        }
        continue;
      }
      const input = holder.querySelector("input, select");
      if (!input) continue;
      input.disabled = Boolean(disabled[name]);
      if (document.activeElement === input || input.classList.contains("invalid")) continue;
      if (input.type === "checkbox") input.checked = Boolean(value);
      else input.value = String(value);
      if (holder.shownValue) holder.shownValue.textContent = String(value);
    }
  }

  function showError(section, name, message) {
    const holder = name && section.querySelector(`[data-control="${name}"]`);
    const input = holder && holder.querySelector("input, select");
    if (input) input.classList.add("invalid");
    const target = name && errorElement(section, name);
    if (target) { target.textContent = message; return true; }
    return false;
  }

  function clearErrors(section) {
    for (const element of section.querySelectorAll(".control-error")) element.textContent = "";
    for (const element of section.querySelectorAll(".invalid")) element.classList.remove("invalid");
  }

  return { build, show, showError, clearErrors };
})();
