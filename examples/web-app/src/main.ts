// A chat room on one topic. Every tab holding the room's key subscribes to "chat" and publishes what
// its user types; the relays in between only ever see sealed bytes.
//
// The key is the room: it lives in the link's #fragment (`#key=...`), which browsers never send to a
// server. A link without one starts a new room. Relays come from `?relay=ws://...` (repeatable).

import { connect, generateKey, UnreachableError } from "iris-mesh";

const status = document.querySelector<HTMLParagraphElement>("#status")!;
const invite = document.querySelector<HTMLAnchorElement>("#invite")!;
const form = document.querySelector<HTMLFormElement>("#compose")!;
const input = document.querySelector<HTMLInputElement>("#message")!;
const send = form.querySelector<HTMLButtonElement>("button")!;
const list = document.querySelector<HTMLUListElement>("#messages")!;

const relays = new URLSearchParams(location.search).getAll("relay");
if (relays.length === 0) relays.push("ws://127.0.0.1:7600");

let key = new URLSearchParams(location.hash.slice(1)).get("key");
if (!key) {
  key = generateKey();
  history.replaceState(null, "", `#key=${key}`);
}
invite.href = location.href;

function show(text: string, from: string): void {
  const item = document.createElement("li");
  item.textContent = `${from}: ${text}`;
  list.append(item);
}

try {
  const conn = await connect({ relays, keys: { chat: key } });
  const me = conn.peerId.slice(0, 6);
  await conn.subscribe("chat", (body, { origin }) => {
    show(new TextDecoder().decode(body), origin === conn.peerId ? "me" : origin.slice(0, 6));
  });
  conn.on("drop", () => (status.textContent = "relay lost, reconnecting…"));
  conn.on("reconnect", ({ relay }) => (status.textContent = `connected to ${relay} as ${me}`));
  status.textContent = `connected to ${conn.relay} as ${me}`;
  send.disabled = false;

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    conn.publish("chat", text).catch((error: Error) => show(`not sent: ${error.message}`, "!"));
  });
} catch (error) {
  status.textContent =
    error instanceof UnreachableError
      ? `no relay would take the connection: ${error.causes.map((cause) => cause.relay).join(", ")}`
      : `could not connect: ${(error as Error).message}`;
}
