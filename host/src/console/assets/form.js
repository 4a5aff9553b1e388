// The invoke form: generated from the input message's descriptor (GET /v1/messages/{name}),
// the reply shown as JSON.

import { Unauthorized, api } from "./api.js";
import { TYPE_PREFIX, h } from "./dom.js";

/** Fills `card` with the form for `actor`; a call goes to `invokePath`, then `afterInvoke` runs. */
export async function renderInvoke(actor, card, { invokePath, afterInvoke }) {
  const actions = actor.actions.map((action) => (typeof action === "string" ? { name: action } : action));
  if (actions.length === 0) {
    card.append(h("p", { class: "muted" }, "This actor declares no actions."));
    return;
  }
  let messages = [];
  try { messages = await api(`/v1/messages?actor=${encodeURIComponent(actor.name)}`); } catch (error) { if (error instanceof Unauthorized) return; }
  const actionSelect = h("select", { id: "invoke-action", name: "action" }, actions.map((action) => h("option", { value: action.name }, action.name)));
  const typeSelect = h("select", { id: "invoke-type", name: "type" },
    h("option", { value: "" }, "(no input)"), messages.map((name) => h("option", { value: name }, name)));
  const fields = h("div", { id: "invoke-fields" });
  const reply = h("div", { id: "invoke-reply" });
  const form = h("form", { class: "invoke", id: "invoke-form" },
    h("label", {}, "Action", actionSelect),
    h("label", {}, "Input message", typeSelect),
    fields,
    h("div", { class: "row" }, h("button", { type: "submit", id: "invoke-submit" }, "Invoke")),
    reply);
  card.append(form);
  let schema = null;
  const chooseType = async () => {
    schema = typeSelect.value ? await api(`/v1/messages/${encodeURIComponent(typeSelect.value)}?actor=${encodeURIComponent(actor.name)}`) : null;
    fields.replaceChildren(...(schema ? fieldInputs(schema, "") : [h("p", { class: "muted small" }, "The action is called without input.")]));
  };
  const chooseAction = async () => {
    const action = actions.find((candidate) => candidate.name === actionSelect.value);
    typeSelect.value = inputTypeOf(action, messages);
    await chooseType();
  };
  actionSelect.onchange = chooseAction;
  typeSelect.onchange = chooseType;
  form.onsubmit = async (event) => {
    event.preventDefault();
    reply.replaceChildren();
    let value;
    try {
      value = schema ? { "@type": TYPE_PREFIX + schema.name, ...collect(schema, "") } : undefined;
    } catch (error) {
      reply.replaceChildren(h("div", { class: "error-box" }, error.message));
      return;
    }
    try {
      const answer = await api(invokePath, {
        method: "POST",
        body: { actor: { id: { name: actor.name } }, actionName: actionSelect.value, value },
      });
      reply.replaceChildren(h("h2", {}, "Reply"), h("pre", { id: "invoke-result" }, answer?.value === undefined ? "(no reply)" : JSON.stringify(answer.value, null, 2)));
      await afterInvoke();
    } catch (error) {
      if (!(error instanceof Unauthorized)) reply.replaceChildren(h("div", { class: "error-box", id: "invoke-error" }, error.message));
    }
  };
  await chooseAction();
}

/** The input type an action declares, else a message named after it (`increment` →
 * `*.Increment`), else none. */
function inputTypeOf(action, messages) {
  const declared = (action.input ?? action.input_type ?? "").replace(TYPE_PREFIX, "").replace(/^\./, "");
  if (declared && messages.includes(declared)) return declared;
  const wanted = action.name.replace(/[_-]/g, "").toLowerCase();
  return messages.find((name) => name.split(".").pop().toLowerCase() === wanted) ?? "";
}

function fieldInputs(schema, prefix) {
  return schema.fields.map((field) => {
    const id = `field-${prefix}${field.json}`;
    const label = (input, hint) => h("label", {}, h("span", {}, field.json, hint ? h("span", { class: "muted small" }, ` ${hint}`) : ""), input);
    if (field.list) return label(h("textarea", { id, placeholder: "[ … ]" }), "list, JSON");
    switch (field.type) {
      case "message": return h("fieldset", {}, h("legend", {}, `${field.json}: ${field.detail.name}`), fieldInputs(field.detail, `${prefix}${field.json}.`));
      case "bool": return label(h("input", { id, type: "checkbox" }));
      case "enum": return label(h("select", { id }, field.detail.map((name) => h("option", { value: name }, name))));
      case "integer": return label(h("input", { id, type: "number", step: "1" }));
      case "float": return label(h("input", { id, type: "number", step: "any" }));
      case "json": return label(h("textarea", { id, placeholder: "{ … }" }), typeof field.detail === "string" ? field.detail : "JSON");
      case "bytes": return label(h("input", { id, type: "text", placeholder: "base64" }));
      default: return label(h("input", { id, type: "text" }));
    }
  });
}

/** The form's values for `schema` as the message's JSON; empty inputs are left out. */
function collect(schema, prefix) {
  const out = {};
  for (const field of schema.fields) {
    if (field.type === "message" && !field.list) {
      const inner = collect(field.detail, `${prefix}${field.json}.`);
      if (Object.keys(inner).length) out[field.json] = inner;
      continue;
    }
    const input = document.getElementById(`field-${prefix}${field.json}`);
    if (field.type === "bool" && !field.list) { if (input.checked) out[field.json] = true; continue; }
    const raw = input.value.trim();
    if (raw === "") continue;
    if (field.list || field.type === "json") {
      try { out[field.json] = JSON.parse(raw); } catch { throw new Error(`${field.json}: not valid JSON`); }
    } else if (field.type === "integer" || field.type === "float") out[field.json] = Number(raw);
    else out[field.json] = raw;
  }
  return out;
}
