// rtnb hold button: `pressed` is true while the button is held down, by pointer (mouse,
// touch, pen) or keyboard (Space or Enter while it has focus), and false on release.
// Leaving the window or losing focus releases it, so it never sticks.

const KEYS = new Set([" ", "Enter"]);

function render({ model, el }) {
  const button = document.createElement("button");
  button.className = "jupyter-widgets jupyter-button widget-button rtnb-hold";
  // Keys pressed here are for the button, not JupyterLab's shortcuts (Enter = edit cell).
  button.dataset.lmSuppressShortcuts = "true";
  el.appendChild(button);

  const icon = document.createElement("i");
  const label = document.createElement("span");
  button.append(icon, label);

  const show = () => {
    const pressed = model.get("pressed");
    icon.className = model.get("icon") ? `fa fa-${model.get("icon")}` : "";
    label.textContent = pressed ? model.get("pressed_description") : model.get("description");
    button.disabled = model.get("disabled");
    button.title = model.get("tooltip");
    button.classList.toggle("mod-active", pressed);
  };

  const press = (down) => {
    if (down && button.disabled) return;
    if (model.get("pressed") === down) return;
    model.set("pressed", down);
    model.save_changes();
    show();
  };

  button.addEventListener("pointerdown", (e) => {
    if (e.button !== 0) return;
    button.setPointerCapture(e.pointerId); // the release counts even off the button
    e.preventDefault();
    button.focus();
    press(true);
  });
  for (const name of ["pointerup", "pointercancel", "lostpointercapture"]) {
    button.addEventListener(name, () => press(false));
  }
  button.addEventListener("keydown", (e) => {
    if (!KEYS.has(e.key)) return;
    e.preventDefault();
    e.stopPropagation();
    if (!e.repeat) press(true);
  });
  button.addEventListener("keyup", (e) => {
    if (!KEYS.has(e.key)) return;
    e.preventDefault();
    e.stopPropagation();
    press(false);
  });
  button.addEventListener("blur", () => press(false));
  const release = () => press(false);
  window.addEventListener("blur", release);

  model.on("change:pressed", show);
  model.on("change:disabled", () => {
    if (model.get("disabled")) press(false);
    show();
  });
  model.on("change:description change:icon", show);
  show();
  return () => window.removeEventListener("blur", release);
}

export default { render };
