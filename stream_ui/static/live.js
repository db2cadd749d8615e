// Live view page: shows the automation's browser and relays what the person does.
// No dependencies. The token comes from the URL fragment (never sent by the browser on its
// own) and is presented as a Bearer header (HTTP) or as the first websocket message.
// Input relay lives in input.js.
// Once read, the token leaves the address bar and history (a shared screen, a copied address
// or a synced history must not carry it); it stays in memory for reconnects, and in this
// tab's sessionStorage so a reload still shows the pause (or why it ended).
import { attachInput } from "./input.js";

(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = "optexity-live-token";
  const { token, malformed } = readToken();
  const touchDevice = matchMedia("(pointer: coarse)").matches || "ontouchstart" in window;

  const ui = {
    connection: $("connection"), connectionText: $("connection-text"),
    name: $("automation-name"), instructions: $("instructions"),
    timer: $("timer"), timeLeft: $("time-left"), timeFill: $("time-fill"), deadline: $("deadline"),
    tabs: $("tabs"), requests: $("requests"), address: $("address"), addressUrl: $("address-url"),
    screen: $("screen"), canvas: $("picture"), placeholder: $("placeholder"),
    placeholderText: $("placeholder-text"),
    done: $("done"), reject: $("reject"), keyboard: $("keyboard"), keyboardInput: $("keyboard-input"),
    layout: $("layout"), ended: $("ended"), endedIcon: $("ended-icon"),
    endedTitle: $("ended-title"), endedMessage: $("ended-message"),
    rejectDialog: $("reject-dialog"), rejectForm: $("reject-form"), rejectReason: $("reject-reason"),
    rejectCount: $("reject-count"), rejectError: $("reject-error"), rejectCancel: $("reject-cancel"),
    rejectSend: $("reject-send"), toast: $("toast"),
  };
  const context = ui.canvas.getContext("2d");

  let ws = null;
  let ended = false;
  let attempts = 0;
  let frame = null; // header of the frame on screen: deviceWidth/Height, seq, ...
  let decoding = false;
  let pendingFrame = null;
  let lastSeq = 0;
  let deadlineAt = 0; // performance.now() milliseconds
  let totalSeconds = 0;
  let lastState = null;
  let sentSize = "";

  function readToken() {
    const fragment = location.hash.replace(/^#/, "");
    let stored = "";
    try { stored = sessionStorage.getItem(TOKEN_KEY) || ""; } catch (error) { /* storage off */ }
    if (!fragment) return { token: stored, malformed: false };
    history.replaceState(null, "", location.pathname + location.search);
    let value;
    try {
      value = decodeURIComponent(fragment);
    } catch (error) {
      return { token: "", malformed: true }; // a damaged link, e.g. cut in the middle of %XX
    }
    try { sessionStorage.setItem(TOKEN_KEY, value); } catch (error) { /* storage off */ }
    return { token: value, malformed: false };
  }

  // ---------------------------------------------------------------- connection
  function setConnection(state, text) {
    ui.connection.dataset.state = state;
    ui.connectionText.textContent = text;
  }

  function send(message) {
    if (ws && ws.readyState === WebSocket.OPEN) {
      ws.send(JSON.stringify(message));
      return true;
    }
    return false;
  }

  function connect() {
    if (ended) return;
    setConnection(attempts ? "reconnecting" : "connecting", attempts ? "Reconnecting…" : "Connecting…");
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const socket = new WebSocket(`${scheme}//${location.host}/ws`);
    socket.binaryType = "arraybuffer";
    ws = socket;
    socket.onopen = () => {
      sentSize = viewportKey();
      socket.send(JSON.stringify({ token, viewport: viewportSize() }));
    };
    socket.onmessage = (event) => {
      if (typeof event.data === "string") onMessage(JSON.parse(event.data));
      else onFrame(event.data);
    };
    socket.onclose = (event) => {
      if (ws !== socket || ended) return;
      ws = null;
      if (event.code === 4403 || event.code === 4410) return; // told why before closing
      attempts += 1;
      const delay = Math.min(10000, 500 * 2 ** Math.min(attempts - 1, 5)) * (0.8 + Math.random() * 0.4);
      setConnection("reconnecting", "Reconnecting…");
      setTimeout(() => (navigator.onLine === false ? addEventListener("online", connect, { once: true }) : connect()), delay);
    };
  }

  function onMessage(message) {
    switch (message.type) {
      case "hello":
        attempts = 0;
        setConnection("live", "Live");
        render(message.state);
        break;
      case "state":
        render(message.state);
        break;
      case "time":
        setTimeLeft(message.seconds_left);
        break;
      case "ended":
      case "denied":
        end(message.outcome ? message.outcome.outcome : "denied", message.message);
        break;
      case "error":
        toast(message.message);
        break;
    }
  }

  // ---------------------------------------------------------------- frames
  function onFrame(buffer) {
    const view = new DataView(buffer);
    const length = view.getUint32(0);
    const header = JSON.parse(new TextDecoder().decode(new Uint8Array(buffer, 4, length)));
    if (header.seq <= lastSeq) return;
    lastSeq = header.seq;
    pendingFrame = { header, blob: new Blob([new Uint8Array(buffer, 4 + length)], { type: "image/jpeg" }) };
    if (!decoding) drawNext();
  }

  async function drawNext() {
    decoding = true;
    while (pendingFrame) {
      const { header, blob } = pendingFrame;
      pendingFrame = null;
      try {
        const image = await decode(blob);
        if (ui.canvas.width !== image.width || ui.canvas.height !== image.height) {
          ui.canvas.width = image.width;
          ui.canvas.height = image.height;
        }
        context.drawImage(image, 0, 0);
        if (image.close) image.close();
        const resized = !frame || frame.deviceWidth !== header.deviceWidth || frame.deviceHeight !== header.deviceHeight;
        frame = header;
        ui.screen.classList.remove("waiting");
        ui.placeholder.hidden = true;
        if (resized) fit();
      } catch (error) {
        // A corrupt or truncated frame: the next one replaces it.
      }
    }
    decoding = false;
  }

  function decode(blob) {
    if (window.createImageBitmap) return createImageBitmap(blob);
    return new Promise((resolve, reject) => {
      const image = new Image();
      const url = URL.createObjectURL(blob);
      image.onload = () => { URL.revokeObjectURL(url); resolve(image); };
      image.onerror = () => { URL.revokeObjectURL(url); reject(new Error("bad frame")); };
      image.src = url;
    });
  }

  // The picture keeps the page's proportions: as wide as the stage, and on a large screen
  // no taller than the window. On a phone it fits the width and the page scrolls.
  function room() {
    const width = ui.screen.clientWidth;
    const narrow = innerWidth <= 900;
    const top = ui.screen.getBoundingClientRect().top + scrollY;
    const height = narrow ? width * 3 : Math.max(240, innerHeight - top - 56);
    return { width, height };
  }

  function fit() {
    const { width, height } = room();
    if (!frame) return;
    const aspect = frame.deviceWidth / frame.deviceHeight;
    const shownWidth = Math.floor(Math.min(width, height * aspect));
    ui.canvas.style.width = `${shownWidth}px`;
    ui.canvas.style.height = `${Math.floor(shownWidth / aspect)}px`;
  }

  function viewportSize() {
    const { width, height } = room();
    const ratio = Math.min(window.devicePixelRatio || 1, 2);
    const clamp = (value) => Math.max(50, Math.min(8192, Math.round(value * ratio)));
    return { width: clamp(width), height: clamp(height) };
  }

  function viewportKey() {
    const size = viewportSize();
    return `${size.width}x${size.height}`;
  }

  let resizeTimer = 0;
  addEventListener("resize", () => {
    fit();
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => {
      if (viewportKey() !== sentSize && send({ type: "resize", ...viewportSize() })) sentSize = viewportKey();
    }, 250);
  });

  attachInput(
    { canvas: ui.canvas, screen: ui.screen, keyboard: ui.keyboard, keyboardInput: ui.keyboardInput, leave: ui.done },
    send, () => frame, touchDevice,
  );

  // ---------------------------------------------------------------- state
  function render(state) {
    lastState = state;
    ui.name.textContent = state.automation || "Automation";
    document.title = `${state.automation || "Automation"} · Live view`;
    if (state.instructions) ui.instructions.textContent = state.instructions;
    setTimeLeft(state.seconds_left, state.deadline);
    renderTabs(state.tabs || []);
    renderRequests(state.dialogs || [], state.file_choosers || []);
    if (state.outcome) end(state.outcome.outcome, state.outcome.message);
  }

  function setTimeLeft(seconds, deadlineIso) {
    deadlineAt = performance.now() + seconds * 1000;
    totalSeconds = Math.max(totalSeconds, seconds);
    if (deadlineIso) {
      const at = new Date(Date.now() + seconds * 1000);
      ui.deadline.textContent = `The link stops working at ${at.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" })}.`;
    }
    tick();
  }

  function tick() {
    if (!deadlineAt) return;
    const left = Math.max(0, (deadlineAt - performance.now()) / 1000);
    const whole = Math.ceil(left);
    ui.timeLeft.textContent = `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
    ui.timeFill.style.width = `${totalSeconds ? (100 * left) / totalSeconds : 0}%`;
    ui.timer.dataset.level = left <= 20 ? "urgent" : left <= 60 ? "soon" : "ok";
  }
  setInterval(tick, 250);

  function hostOf(url) {
    try { return new URL(url).host; } catch (error) { return ""; }
  }

  function renderTabs(tabs) {
    const viewed = tabs.find((tab) => tab.viewed);
    ui.addressUrl.textContent = viewed && viewed.url !== "about:blank" ? viewed.url : "";
    ui.address.dataset.secure = String(Boolean(viewed && viewed.url.startsWith("https:")));
    const key = JSON.stringify(tabs);
    if (ui.tabs.dataset.key === key) return;
    ui.tabs.dataset.key = key;
    ui.tabs.dataset.count = String(tabs.length);
    ui.tabs.replaceChildren(...tabs.map((tab) => {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "tab";
      button.setAttribute("role", "tab");
      button.setAttribute("aria-selected", String(tab.viewed));
      button.title = tab.url;
      const title = document.createElement("span");
      title.className = "tab-title";
      title.textContent = tab.title || hostOf(tab.url) || "New tab";
      const host = document.createElement("span");
      host.className = "tab-host";
      host.textContent = tab.title ? hostOf(tab.url) : "";
      button.append(title, host);
      button.addEventListener("click", () => {
        if (!tab.viewed) send({ type: "switch_tab", index: tab.index });
      });
      return button;
    }));
  }

  const DIALOG_TITLES = {
    alert: "The page shows a message",
    confirm: "The page asks you to confirm",
    prompt: "The page asks for an answer",
    beforeunload: "Leave this page? Changes you made may not be saved.",
  };

  function element(tag, props, ...children) {
    const node = Object.assign(document.createElement(tag), props);
    node.append(...children);
    return node;
  }

  function renderRequests(dialogs, choosers) {
    const key = JSON.stringify([dialogs, choosers]);
    if (ui.requests.dataset.key === key) return;
    ui.requests.dataset.key = key;
    const cards = dialogs.map(dialogCard).concat(choosers.map(chooserCard));
    ui.requests.replaceChildren(...cards);
    ui.screen.classList.toggle("blocked", dialogs.length > 0);
    const first = ui.requests.querySelector("input[type=text], input[type=file], .button.primary");
    if (first) first.focus({ preventScroll: false });
  }

  function dialogCard(dialog) {
    const card = element("div", { className: "request", role: "group" });
    const titleId = `dialog-${dialog.id}`;
    card.setAttribute("aria-labelledby", titleId);
    card.append(element("h2", { id: titleId, textContent: DIALOG_TITLES[dialog.type] || "The page asks" }));
    if (dialog.message && dialog.type !== "beforeunload") card.append(element("p", { className: "request-message", textContent: dialog.message }));
    const row = element("div", { className: "request-row" });
    let input = null;
    if (dialog.type === "prompt") {
      input = element("input", { type: "text", value: dialog.default_value || "" });
      input.setAttribute("aria-label", "Your answer");
      input.addEventListener("keydown", (event) => { if (event.key === "Enter") answer(true); });
      row.append(input);
    }
    const answer = (accept) => {
      if (!send({ type: "dialog_answer", id: dialog.id, accept, text: input ? input.value : null })) toast("Not connected. Trying again…");
    };
    const labels = dialog.type === "beforeunload" ? ["Leave", "Stay"] : ["OK", "Cancel"];
    const ok = element("button", { type: "button", className: "button primary", textContent: labels[0] });
    ok.addEventListener("click", () => answer(true));
    row.append(ok);
    if (dialog.type !== "alert") {
      const cancel = element("button", { type: "button", className: "button", textContent: labels[1] });
      cancel.addEventListener("click", () => answer(false));
      row.append(cancel);
    }
    card.append(row);
    return card;
  }

  function chooserCard(chooser) {
    const card = element("div", { className: "request", role: "group" });
    const titleId = `chooser-${chooser.id}`;
    card.setAttribute("aria-labelledby", titleId);
    card.append(element("h2", { id: titleId, textContent: chooser.multiple ? "The page asks for files" : "The page asks for a file" }));
    card.append(element("p", { className: "request-message", textContent: "Pick from this device; it is sent to the automation's browser." }));
    const input = element("input", { type: "file", multiple: chooser.multiple, id: `file-${chooser.id}` });
    input.setAttribute("aria-label", chooser.multiple ? "Files to upload" : "File to upload");
    const upload = element("button", { type: "button", className: "button primary", textContent: "Upload" });
    const cancel = element("button", { type: "button", className: "button", textContent: "Cancel" });
    const submit = async (files) => {
      const body = new FormData();
      body.append("chooser_id", chooser.id);
      for (const file of files) body.append("files", file, file.name);
      upload.disabled = cancel.disabled = true;
      const reply = await post("/api/pause/files", body);
      upload.disabled = cancel.disabled = false;
      if (reply && !reply.ok && reply.status !== 410) toast(reply.body.detail || "The upload failed.");
    };
    upload.addEventListener("click", () => {
      if (!input.files.length) { toast("Choose a file first."); input.focus(); return; }
      submit(Array.from(input.files));
    });
    cancel.addEventListener("click", () => submit([]));
    card.append(element("div", { className: "request-row" }, input, upload, cancel));
    return card;
  }

  // ---------------------------------------------------------------- done and reject
  async function post(path, body) {
    const headers = { Authorization: `Bearer ${token}` };
    if (!(body instanceof FormData)) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await fetch(path, {
        method: "POST", headers, credentials: "omit", cache: "no-store",
        body: body instanceof FormData ? body : JSON.stringify(body || {}),
      });
    } catch (error) {
      toast("Could not reach the automation. Check your connection and try again.");
      return null;
    }
    let data = {};
    try { data = await response.json(); } catch (error) { /* not JSON */ }
    if (response.status === 410 || response.status === 403 || response.status === 401) {
      end(data.outcome ? data.outcome.outcome : "denied", data.detail);
    }
    return { ok: response.ok, status: response.status, body: data };
  }

  ui.done.addEventListener("click", async () => {
    ui.done.disabled = true;
    const reply = await post("/api/pause/done");
    ui.done.disabled = false;
    if (reply && reply.ok) end(reply.body.outcome.outcome, reply.body.outcome.message);
  });

  ui.reject.addEventListener("click", () => {
    ui.rejectError.textContent = "";
    if (ui.rejectDialog.showModal) ui.rejectDialog.showModal();
    else ui.rejectDialog.setAttribute("open", "");
    ui.rejectReason.focus();
  });
  ui.rejectCancel.addEventListener("click", () => ui.rejectDialog.close());
  ui.rejectReason.addEventListener("input", () => {
    ui.rejectCount.textContent = `${ui.rejectReason.value.length} / 500`;
    ui.rejectError.textContent = "";
  });
  ui.rejectForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const reason = ui.rejectReason.value.trim();
    if (!reason) { ui.rejectError.textContent = "Please say why."; ui.rejectReason.focus(); return; }
    ui.rejectSend.disabled = true;
    const reply = await post("/api/pause/reject", { reason });
    ui.rejectSend.disabled = false;
    if (reply && reply.status === 422) ui.rejectError.textContent = reply.body.detail;
    else if (reply && reply.ok) end(reply.body.outcome.outcome, reply.body.outcome.message);
  });

  // ---------------------------------------------------------------- ended
  const ENDINGS = {
    done: ["Thank you, the automation is continuing", '<path d="M5 12.5l4.5 4.5L19 7.5"/>'],
    rejected: ["The automation was stopped", '<path d="M7 7l10 10M17 7L7 17"/>'],
    timed_out: ["This pause has expired", '<circle cx="12" cy="12" r="8"/><path d="M12 8v4.5l3 2"/>'],
    cancelled: ["The run has stopped", '<circle cx="12" cy="12" r="8"/><path d="M9 9h6v6H9z"/>'],
    denied: ["This link does not work", '<circle cx="12" cy="12" r="8"/><path d="M12 8v5M12 16h.01"/>'],
  };

  function end(kind, message) {
    if (ended) return;
    ended = true;
    const [title, icon] = ENDINGS[kind] || ENDINGS.denied;
    setConnection("ended", "Ended");
    ui.endedIcon.dataset.kind = kind in ENDINGS ? kind : "denied";
    ui.endedIcon.innerHTML = `<svg viewBox="0 0 24 24">${icon}</svg>`;
    ui.endedTitle.textContent = title;
    ui.endedMessage.textContent = message || "";
    ui.layout.hidden = true;
    ui.ended.hidden = false;
    if (ui.rejectDialog.open) ui.rejectDialog.close();
    document.title = `${title} · Live view`;
    if (ws) { const socket = ws; ws = null; socket.close(); }
  }

  let toastTimer = 0;
  function toast(text) {
    ui.toast.textContent = text;
    ui.toast.hidden = false;
    clearTimeout(toastTimer);
    toastTimer = setTimeout(() => { ui.toast.hidden = true; }, 4000);
  }

  // ---------------------------------------------------------------- start
  ui.screen.classList.add("waiting");
  if (malformed) {
    end("denied", "This link is not valid. Open the link from the message you received, unchanged.");
  } else if (!token) {
    end("denied", "This link is incomplete. Open the whole link from the message you received.");
  } else {
    connect();
  }
  window.liveView = { get frame() { return frame; }, get state() { return lastState; } }; // for tests
})();
