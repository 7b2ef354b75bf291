// rtnb row list: keyed rows that update in place, so an opened row stays open and the
// scroll position holds while new rows arrive.
//
// Messages from Python:  {type: "rows", ops: [op, ...]}
//                        {type: "reset", view, ops: [op, ...]}   (answer to "ready")
//   op: {op: "put", key, after, summary, body, cls}   body null: a plain row, absent:
//       unchanged; after: the key of the row before it, null for the first row, absent for
//       the last
//       {op: "drop", key}
// Messages to Python:    {type: "ready", view}   (each new view asks for every row)
//                        {type: "action", action, call}   (a row's button was clicked:
//                        <button data-rtnb-action=… data-rtnb-call=…>)
//
// A put for a new key goes after the row `after`; for a known key
// it replaces the summary and body of the existing element. While the view is scrolled
// to the bottom it follows new rows; otherwise the first visible row stays where it is.

let views = 0;

function render({ model, el }) {
  const view = `v${Date.now().toString(36)}${(views += 1)}`;
  const box = document.createElement("div");
  box.className = "rtnb-box rtnb-rows tex2jax_ignore mathjax_ignore";
  const empty = document.createElement("div");
  empty.className = "rtnb-empty";
  box.appendChild(empty);
  el.appendChild(box);
  const rows = new Map(); // key -> element

  let follow = true; // scrolled to the bottom: keep showing the newest rows
  const atBottom = () => box.scrollHeight - box.scrollTop - box.clientHeight < 8;
  box.addEventListener("scroll", () => { if (box.clientHeight) follow = atBottom(); });
  // Hidden in a tab, the box has no size; when it shows again, catch up with the bottom.
  const resize = new ResizeObserver(() => { if (follow) box.scrollTop = box.scrollHeight; });
  resize.observe(box);

  // Buttons inside rows (Approve / Reject on a waiting tool call). Clicked once: a row
  // inside <summary> must not toggle, and both buttons of the row go grey until Python
  // replaces the row.
  box.addEventListener("click", (event) => {
    const button = event.target.closest("button[data-rtnb-action]");
    if (!button || !box.contains(button)) return;
    event.preventDefault();
    event.stopPropagation();
    for (const b of button.parentElement.querySelectorAll("button")) b.disabled = true;
    model.send({ type: "action", action: button.dataset.rtnbAction, call: button.dataset.rtnbCall });
  });

  const showEmpty = () => {
    empty.textContent = model.get("placeholder");
    empty.style.display = rows.size ? "none" : "";
  };

  function make(op) {
    const node = document.createElement(op.body == null ? "div" : "details");
    node.dataset.key = op.key;
    if (op.body != null) {
      node.append(document.createElement("summary"), document.createElement("div"));
      node.lastChild.className = "rtnb-body";
    }
    return node;
  }

  function fill(node, op) {
    node.className = `rtnb-row ${op.cls || ""}`;
    if (node.tagName !== "DETAILS") {
      if (node.innerHTML !== op.summary) node.innerHTML = op.summary;
      return;
    }
    const [summary, body] = node.children;
    if (summary.innerHTML !== op.summary) summary.innerHTML = op.summary;
    if ("body" in op && body.innerHTML !== op.body) body.innerHTML = op.body;
  }

  function put(op) {
    let node = rows.get(op.key);
    if (node && "body" in op && (node.tagName === "DETAILS") !== (op.body != null)) {
      const fresh = make(op);
      node.replaceWith(fresh);
      node = fresh;
      rows.set(op.key, node);
    }
    if (!node) {
      node = make(op);
      rows.set(op.key, node);
      const prev = op.after == null ? undefined : rows.get(op.after);
      if (op.after === null) box.insertBefore(node, empty.nextSibling); // the first row
      else if (prev) prev.after(node);
      else box.appendChild(node);
    }
    fill(node, op);
  }

  function drop(key) {
    const node = rows.get(key);
    if (node) node.remove();
    rows.delete(key);
  }

  function firstVisible() {
    for (const node of rows.values()) {
      if (node.offsetTop + node.offsetHeight > box.scrollTop) return node;
    }
    return null;
  }

  function apply(ops) {
    const anchor = follow ? null : firstVisible();
    const offset = anchor ? anchor.offsetTop - box.scrollTop : 0;
    for (const op of ops) {
      if (op.op === "put") put(op);
      else if (op.op === "drop") drop(op.key);
    }
    const max = model.get("max_rows");
    if (max > 0 && rows.size > max) {
      for (const key of [...rows.keys()].slice(0, rows.size - max)) drop(key);
    }
    showEmpty();
    if (follow) box.scrollTop = box.scrollHeight;
    else if (anchor && anchor.isConnected) box.scrollTop = anchor.offsetTop - offset;
  }

  function reset(ops) {
    for (const key of [...rows.keys()]) drop(key);
    apply(ops);
  }

  const onMessage = (msg) => {
    if (msg.type === "rows") apply(msg.ops);
    else if (msg.type === "reset" && msg.view === view) reset(msg.ops);
  };
  model.on("msg:custom", onMessage);
  model.on("change:placeholder", showEmpty);
  showEmpty();
  model.send({ type: "ready", view });
  return () => {
    model.off("msg:custom", onMessage);
    resize.disconnect();
  };
}

export default { render };
