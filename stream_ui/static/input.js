// Input relay of the live view: pointer, wheel, touch, keys, paste and the phone keyboard.
// Everything the person does on the picture becomes a websocket message (see session.py);
// positions are sent in displayed-image pixels with the displayed size, and the server maps
// them to page pixels with the frame's metadata.

const BUTTONS = ["left", "middle", "right", "back", "forward"];
const SPECIAL = new Set(["Enter", "Backspace", "Delete", "Tab", "Escape", "ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End"]);
const KEYCODES = { Enter: 13, Backspace: 8, Delete: 46, Tab: 9, Escape: 27, ArrowLeft: 37, ArrowUp: 38, ArrowRight: 39, ArrowDown: 40, Home: 36, End: 35 };

function modifiers(event) {
  return (event.altKey ? 1 : 0) | (event.ctrlKey ? 2 : 0) | (event.metaKey ? 4 : 0) | (event.shiftKey ? 8 : 0);
}

function isPasteShortcut(event) {
  return (event.ctrlKey || event.metaKey) && (event.key === "v" || event.key === "V");
}

/**
 * Wire the picture and the phone keyboard to ``send``.
 * @param {{canvas: HTMLCanvasElement, screen: HTMLElement, keyboard: HTMLButtonElement,
 *          keyboardInput: HTMLTextAreaElement, leave: HTMLElement}} ui
 * @param {(message: object) => boolean} send
 * @param {() => object | null} currentFrame header of the frame on screen
 * @param {boolean} touchDevice show the keyboard button
 */
export function attachInput(ui, send, currentFrame, touchDevice) {
  function point(event) {
    const rect = ui.canvas.getBoundingClientRect();
    return { x: event.clientX - rect.left, y: event.clientY - rect.top, width: rect.width, height: rect.height };
  }

  let lastDown = { time: 0, x: 0, y: 0, button: -1, count: 0 };
  let pendingMove = null;
  let touch = null;

  function clickCount(event) {
    const near = Math.abs(event.clientX - lastDown.x) < 6 && Math.abs(event.clientY - lastDown.y) < 6;
    const count = near && event.button === lastDown.button && event.timeStamp - lastDown.time < 450
      ? Math.min(lastDown.count + 1, 3) : 1;
    lastDown = { time: event.timeStamp, x: event.clientX, y: event.clientY, button: event.button, count };
    return count;
  }

  function mouse(action, event, extra) {
    if (!currentFrame()) return;
    send({
      type: "mouse", action, ...point(event),
      button: BUTTONS[event.button] || "none", buttons: event.buttons,
      clickCount: 0, modifiers: modifiers(event), ...extra,
    });
  }

  ui.canvas.addEventListener("pointerdown", (event) => {
    ui.screen.focus({ preventScroll: true });
    if (event.pointerType === "touch") {
      touch = { id: event.pointerId, x: event.clientX, y: event.clientY, start: event, time: event.timeStamp, scrolled: false };
      return;
    }
    ui.canvas.setPointerCapture(event.pointerId);
    event.preventDefault();
    mouse("down", event, { clickCount: clickCount(event) });
  });

  ui.canvas.addEventListener("pointermove", (event) => {
    if (event.pointerType === "touch") {
      if (!touch || touch.id !== event.pointerId) return;
      const dx = event.clientX - touch.x;
      const dy = event.clientY - touch.y;
      if (!touch.scrolled && Math.hypot(event.clientX - touch.start.clientX, event.clientY - touch.start.clientY) < 10) return;
      touch.scrolled = true;
      touch.x = event.clientX;
      touch.y = event.clientY;
      const scale = currentFrame() ? currentFrame().deviceWidth / ui.canvas.getBoundingClientRect().width : 1;
      mouse("wheel", touch.start, { button: "none", buttons: 0, deltaX: -dx * scale, deltaY: -dy * scale });
      return;
    }
    if (!pendingMove) requestAnimationFrame(() => { const move = pendingMove; pendingMove = null; if (move) mouse("move", move); });
    pendingMove = event;
  });

  ui.canvas.addEventListener("pointerup", (event) => {
    if (event.pointerType === "touch") {
      if (touch && touch.id === event.pointerId && !touch.scrolled && event.timeStamp - touch.time < 800 && currentFrame()) {
        send({ type: "tap", ...point(event) });
      }
      touch = null;
      return;
    }
    mouse("up", event, { clickCount: lastDown.count });
  });
  ui.canvas.addEventListener("pointercancel", () => { touch = null; });

  ui.canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    const unit = event.deltaMode === 1 ? 40 : event.deltaMode === 2 ? 800 : 1;
    mouse("wheel", event, { button: "none", deltaX: event.deltaX * unit, deltaY: event.deltaY * unit });
  }, { passive: false });
  ui.canvas.addEventListener("contextmenu", (event) => event.preventDefault());

  let lastEscape = 0;

  function keyMessage(action, event) {
    const printable = event.key.length === 1 && !event.ctrlKey && !event.metaKey;
    return {
      type: "key", action, key: event.key, code: event.code || "",
      text: action === "down" && printable ? event.key : "",
      modifiers: modifiers(event), keyCode: event.keyCode || 0,
      location: event.location || 0, repeat: event.repeat,
    };
  }

  ui.screen.addEventListener("keydown", (event) => {
    if (event.isComposing) return;
    if (isPasteShortcut(event)) return; // becomes a paste event
    if (event.key === "Escape") {
      if (event.timeStamp - lastEscape < 600) {
        ui.leave.focus();
        return;
      }
      lastEscape = event.timeStamp;
    }
    event.preventDefault();
    send(keyMessage("down", event));
  });
  ui.screen.addEventListener("keyup", (event) => {
    if (isPasteShortcut(event)) return;
    event.preventDefault();
    send(keyMessage("up", event));
  });

  document.addEventListener("paste", (event) => {
    const target = document.activeElement;
    if (target !== ui.screen && target !== ui.keyboardInput) return;
    const text = event.clipboardData ? event.clipboardData.getData("text/plain") : "";
    event.preventDefault();
    if (text) send({ type: "paste", text: text.slice(0, 10000) });
  });

  // Phones: a hidden text box raises the on-screen keyboard; what it receives is relayed.
  function pressKey(key) {
    const base = { type: "key", key, code: key, modifiers: 0, keyCode: KEYCODES[key] || 0 };
    send({ ...base, action: "down", text: key === "Enter" ? "\r" : "" });
    send({ ...base, action: "up", text: "" });
  }

  if (touchDevice) ui.keyboard.hidden = false;
  ui.keyboard.addEventListener("click", () => {
    ui.keyboardInput.value = "";
    ui.keyboardInput.focus({ preventScroll: true });
  });
  ui.keyboardInput.addEventListener("keydown", (event) => {
    if (!SPECIAL.has(event.key) || event.isComposing) return;
    event.preventDefault();
    pressKey(event.key);
  });
  ui.keyboardInput.addEventListener("compositionend", (event) => {
    if (event.data) send({ type: "text", text: event.data });
    ui.keyboardInput.value = "";
  });
  ui.keyboardInput.addEventListener("input", (event) => {
    if (event.isComposing) return;
    if (event.inputType === "deleteContentBackward") pressKey("Backspace");
    else if (event.inputType === "insertLineBreak" || event.inputType === "insertParagraph") pressKey("Enter");
    // Composed text arrives with compositionend; sending it here again would type it twice.
    else if (event.data && (event.inputType === "insertText" || event.inputType === "insertReplacementText")) {
      send({ type: "text", text: event.data });
    }
    ui.keyboardInput.value = "";
  });
}
