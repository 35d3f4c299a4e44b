// The page's session with the server: create it, stream the labs' snapshots (server-sent
// events), send control changes and commands, upload a CSV, download exports.
"use strict";

const playground = (() => {
  const labs = { mlp: Mlp, rnn: Rnn };
  const states = {};
  let session = null, stream = null;

  const status = (text) => { document.getElementById("status").textContent = text; };

  function showMessage(text) {
    const element = document.getElementById("message");
    element.textContent = text || "";
    element.hidden = !text;
  }

  async function request(method, path, body, headers = {}) {
    const response = await fetch(path, { method, body, headers });
    const text = await response.text();
    let payload = null;
    try { payload = JSON.parse(text); } catch (error) { payload = { error: text.slice(0, 200) }; }
    if (!response.ok) {
      const problem = new Error((payload && payload.error) || `${response.status} ${response.statusText}`);
      problem.control = payload && payload.control;
      problem.status = response.status;
      throw problem;
    }
    return payload;
  }

  function render(lab, state) {
    if (states[lab] && state.version < states[lab].version) return;  // an older snapshot
    states[lab] = state;
    labs[lab].render(state);
    const section = document.getElementById(lab);
    section.querySelector(".epoch").textContent = state.epoch.toFixed(2);
    section.querySelector(".play").hidden = state.running;
    section.querySelector(".pause").hidden = !state.running;
    renderExports(lab, state.export);
    if (state.message) showMessage(state.message);
    const running = Object.entries(states).filter(([, s]) => s.running).map(([name]) => name.toUpperCase());
    status(running.length ? `training (${running.join(", ")})` : "paused");
  }

  function renderExports(lab, problems) {
    const section = document.getElementById(lab);
    const notes = [];
    for (const link of section.querySelectorAll("[data-export]")) {
      const problem = problems[link.dataset.export];
      link.classList.toggle("disabled", Boolean(problem));
      link.title = problem || `download ${link.textContent}`;
      if (problem) notes.push(`${link.textContent}: ${problem}`);
    }
    if (lab === "mlp" && !problems.config) {
      notes.push("config.toml trains this run again with `annie train config.toml` in the folder that holds data.csv");
    }
    section.querySelector(".export-note").textContent = notes.join(". ");
  }

  function failed(lab, error) {
    const section = document.getElementById(lab);
    if (!Controls.showError(section, error.control, error.message)) showMessage(error.message);
    if (error.status === 404) status("session ended: reload the page");
  }

  async function change(lab, changes) {
    const section = document.getElementById(lab);
    try {
      const reply = await request("POST", `/api/sessions/${session}/${lab}/settings`,
                                  JSON.stringify(changes), { "Content-Type": "application/json" });
      Controls.clearErrors(section);
      showMessage("");
      render(lab, reply.state);
    } catch (error) {
      Controls.clearErrors(section);
      failed(lab, error);
      if (states[lab]) labs[lab].render(states[lab]);
    }
  }

  async function action(lab, name) {
    try {
      const reply = await request("POST", `/api/sessions/${session}/${lab}/${name}`);
      if (name !== "pause") showMessage("");
      render(lab, reply.state);
    } catch (error) { failed(lab, error); }
  }

  async function upload(file) {
    const section = document.getElementById("mlp");
    Controls.clearErrors(section);
    try {
      const reply = await request("POST", `/api/sessions/${session}/mlp/upload?name=${encodeURIComponent(file.name)}`,
                                  file, { "Content-Type": "text/csv" });
      showMessage("");
      render("mlp", reply.state);
    } catch (error) {
      failed("mlp", { ...error, control: "dataset", message: error.message, status: error.status });
    }
  }

  async function download(lab, what, filename) {
    if (!session) return;  // the page has no session: its message says why
    try {
      const response = await fetch(`/api/sessions/${session}/${lab}/export/${what}`);
      if (!response.ok) {
        const payload = await response.json().catch(() => ({ error: response.statusText }));
        throw new Error(payload.error);
      }
      const url = URL.createObjectURL(await response.blob());
      const link = document.createElement("a");
      link.href = url; link.download = filename;
      document.body.appendChild(link); link.click(); link.remove();
      setTimeout(() => URL.revokeObjectURL(url), 10000);
    } catch (error) { showMessage(`${filename}: ${error.message}`); }
  }

  async function showCode(lab) {
    const section = document.getElementById(lab);
    const pre = section.querySelector(".code");
    try {
      const response = await fetch(`/api/sessions/${session}/${lab}/export/code`);
      if (!response.ok) throw new Error((await response.json()).error);
      pre.textContent = await response.text();
      pre.hidden = false;
    } catch (error) { showMessage(error.message); }
  }

  function switchTab(name) {
    for (const lab of Object.keys(labs)) {
      document.getElementById(lab).hidden = lab !== name;
      document.getElementById(`tab-${lab}`).classList.toggle("active", lab === name);
    }
  }

  function copy(id) {
    return document.getElementById(id).content.cloneNode(true);
  }

  function wire() {
    for (const tab of document.querySelectorAll(".tab")) tab.addEventListener("click", () => switchTab(tab.dataset.tab));
    for (const lab of Object.keys(labs)) {
      const section = document.getElementById(lab);
      section.querySelector(".toolbar").prepend(copy("run-buttons"));
      section.appendChild(copy("export-block"));
      if (lab !== "mlp") section.querySelector('[data-export="model"]').textContent = `${lab}_model.annie`;
      for (const button of section.querySelectorAll("[data-action]")) {
        button.addEventListener("click", () => action(lab, button.dataset.action));
      }
      for (const link of section.querySelectorAll("[data-export]")) {
        link.addEventListener("click", (event) => {
          event.preventDefault();
          if (!link.classList.contains("disabled")) download(lab, link.dataset.export, link.textContent);
          else showMessage(link.title);
        });
      }
      section.querySelector(".show-code").addEventListener("click", () => showCode(lab));
    }
  }

  // A browser opens at most six connections to one server, and each event stream holds one:
  // a tab that is not shown closes its stream (six playground tabs would otherwise leave no
  // connection for a seventh tab, or for any button), only tells the server it is still
  // there, and streams again when shown (the stream starts with the current snapshots).
  const HEARTBEAT_MS = 30000;  // the server pauses training unseen for 120 s
  let heartbeat = null;

  function followVisibility() {
    document.addEventListener("visibilitychange", () => {
      if (!session) return;
      if (document.hidden) {
        if (stream) { stream.close(); stream = null; }
        heartbeat = setInterval(() => request("GET", `/api/sessions/${session}/state`).catch(() => {}),
                                HEARTBEAT_MS);
      } else {
        clearInterval(heartbeat);
        heartbeat = null;
        if (!stream) listen();
      }
    });
  }

  function listen() {
    const source = new EventSource(`/api/sessions/${session}/events`);
    stream = source;
    source.addEventListener("state", (event) => {
      const state = JSON.parse(event.data);
      render(state.lab, state);
    });
    source.addEventListener("error", async () => {
      status("reconnecting...");
      try {
        await request("GET", `/api/sessions/${session}/state`);
      } catch (error) {  // the server restarted (or this tab was idle too long): say so
        if (error.status === 404) {
          source.close();
          status("session ended");
          showMessage(error.message);
        }
      }
    });
  }

  async function start() {
    wire();
    try {
      const options = await request("GET", "/api/options");
      document.getElementById("version").textContent = options.version;
      for (const [lab, module] of Object.entries(labs)) {
        module.init(document.getElementById(lab), options.controls[lab], api);
      }
      let created;
      try {
        created = await request("POST", "/api/sessions");
      } catch (error) {  // e.g. every session is taken: say why, and offer no dead controls
        for (const element of document.querySelectorAll("main button, main input, main select")) {
          element.disabled = true;
        }
        throw error;
      }
      session = created.session;
      for (const [lab, state] of Object.entries(created.states)) render(lab, state);
      listen();
      followVisibility();
      window.addEventListener("pagehide", () => {
        if (stream) stream.close();
        navigator.sendBeacon(`/api/sessions/${session}/close`);
      });
    } catch (error) {
      status("no session");
      showMessage(error.message);
    }
  }

  const api = { change, action, upload };
  document.addEventListener("DOMContentLoaded", start);
  return {
    get session() { return session; },
    states,
    charts: () => ({ mlp: Mlp.charts(), rnn: Rnn.charts() }),
    switchTab,
  };
})();
window.playground = playground;
