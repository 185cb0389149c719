// Keys and modes. Development mode (no keys in the link) derives keys from names: insecure, and the
// banner says so, but it talks to the demo's Node peers with zero setup. A private key is made here
// with generateKey() and handed to the running connection (useKey), so the tab keeps its session: the
// same peer id, memberships, subscriptions and history. The key goes into the link's #fragment (which
// browsers never send to a server) without reloading; sharing the link lets another tab join the same
// cluster, and a tab with another key for the same name is in a different cluster and sees no one.

import type { AppContext } from "../app-context.ts";
import { byId, el, nameFrom, showError } from "../dom.ts";
import { linkWith, newKey } from "../settings.ts";

export interface KeyState {
  keys: Record<string, string>;
  development: boolean;
}

export function renderModeBanner(state: KeyState): void {
  const banner = byId("mode-banner");
  const names = Object.keys(state.keys);
  banner.dataset.mode = state.development ? (names.length > 0 ? "mixed" : "development") : "private";
  const keysLink = el("a", { href: "#keys-panel" }, "Keys");
  if (state.development && names.length === 0) {
    banner.replaceChildren(
      el("strong", {}, "Development mode: INSECURE. "),
      "Keys are derived from service names, so anyone can read these messages and join these clusters; it is how this page reaches the demo's Node peers with no setup. For anything private, see ",
      keysLink,
      ".",
    );
  } else if (state.development) {
    banner.replaceChildren(
      el("strong", {}, "Development mode, with private keys. "),
      `${list(names)} use${names.length === 1 ? "s" : ""} a private key from this link's #fragment (never sent to a server); every other name uses an INSECURE key derived from it. See `,
      keysLink,
      ".",
    );
  } else {
    banner.replaceChildren(
      el("strong", {}, "Private keys only. "),
      `${list(names)}: keyed in this link's #fragment, which the browser never sends to any server. The demo's development services (echo, ticks, files) are out of reach in this mode. See `,
      keysLink,
      ".",
    );
  }
}

function list(names: string[]): string {
  return names.map((name) => `"${name}"`).join(", ");
}

export function mountKeysPanel(app: AppContext, state: KeyState, changed: () => void): void {
  const keyList = byId("key-list");
  const form = byId("key-form", HTMLFormElement);
  const name = byId("key-name", HTMLInputElement);
  const generate = byId("key-generate", HTMLButtonElement);
  const error = byId("key-error");
  const share = byId("share-link", HTMLInputElement);
  const privateOnly = byId("share-private", HTMLInputElement);
  const copy = byId("share-copy", HTMLButtonElement);
  const withoutKeys = byId("without-keys", HTMLAnchorElement);

  const render = () => {
    const names = Object.keys(state.keys);
    privateOnly.disabled = names.length === 0;
    share.value = linkWith(state.keys, state.development && !privateOnly.checked);
    withoutKeys.hidden = names.length === 0;
    withoutKeys.href = linkWith({}, true);
    keyList.replaceChildren(
      ...(names.length === 0
        ? [el("li", {}, "None: development mode.")]
        : Object.entries(state.keys).map(([service, key]) =>
            el(
              "li",
              { "data-key-name": service },
              el("strong", {}, service),
              " ",
              el("code", { title: "the start of the key, base64url" }, `${key.slice(0, 6)}…`),
            ),
          )),
    );
    renderModeBanner(state);
  };
  render();
  privateOnly.addEventListener("change", render);

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const service = nameFrom(name);
    if (!service) return showError(error, "Name the cluster or topic to make a key for.");
    if (state.keys[service]) return showError(error, `This link already has a key for "${service}".`);
    showError(error, null);
    const key = newKey();
    generate.disabled = true;
    app.conn
      .useKey(service, key)
      .then(() => {
        state.keys = { ...state.keys, [service]: key };
        // The address bar holds the link to share; replacing it loads nothing and keeps the tab as it is.
        history.replaceState(null, "", linkWith(state.keys, state.development));
        app.names.learn(service);
        render();
        changed();
        app.activity.add(
          "ok",
          `Generated a private key for "${service}". This tab kept its session (same peer id, memberships and subscriptions); its link now carries the key.`,
        );
        name.value = "";
      })
      .catch((cause: unknown) => showError(error, `Could not use the key: ${(cause as Error).message}`))
      .finally(() => (generate.disabled = false));
  });

  copy.addEventListener("click", () => {
    share.select();
    navigator.clipboard?.writeText(share.value).then(
      () => (copy.textContent = "Copied"),
      () => (copy.textContent = "Selected: copy it"),
    );
  });
}
