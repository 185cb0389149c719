// Keys and modes. Development mode (no keys in the link) derives keys from names: insecure, and the
// banner says so in red, but it talks to the demo's Node peers with zero setup. Private keys are made
// here with generateKey(), kept in the link's #fragment (which browsers never send to a server), and
// shared by sharing the link: a tab that opens it joins the same services; a tab with another key for
// the same name is in a different cluster and sees no one.

import type { AppContext } from "../app-context.ts";
import { byId, el, nameFrom, showError } from "../dom.ts";
import { linkWith, switchKeys, withNewKey } from "../settings.ts";

export function renderModeBanner(development: boolean, keys: Record<string, string>): void {
  const banner = byId("mode-banner");
  banner.dataset.mode = development ? "development" : "private";
  if (development) {
    banner.replaceChildren(
      el("strong", {}, "Development mode: INSECURE. "),
      "Keys are derived from service names, so anyone can read these messages and join these clusters. " +
        "It is how this page talks to the demo's Node peers with no setup. For anything private, generate keys under ",
      el("a", { href: "#keys-panel" }, "Keys"),
      ".",
    );
  } else {
    const names = Object.keys(keys);
    banner.replaceChildren(
      el("strong", {}, "Private keys. "),
      `${names.length} service${names.length === 1 ? "" : "s"} (${names.join(", ")}) keyed in this link's #fragment, which the browser never sends to any server. ` +
        "Share the link to let another tab join; the demo's development services are out of reach in this mode.",
    );
  }
}

export function mountKeysPanel(app: AppContext, keys: Record<string, string>): void {
  const list = byId("key-list");
  const form = byId("key-form", HTMLFormElement);
  const name = byId("key-name", HTMLInputElement);
  const error = byId("key-error");
  const share = byId("share-link", HTMLInputElement);
  const copy = byId("share-copy", HTMLButtonElement);
  const leave = byId("development-mode", HTMLButtonElement);

  share.value = linkWith(keys);
  leave.hidden = app.development;
  list.replaceChildren(
    ...(Object.keys(keys).length === 0
      ? [el("li", {}, "None: development mode.")]
      : Object.entries(keys).map(([service, key]) =>
          el(
            "li",
            { "data-key-name": service },
            el("strong", {}, service),
            " ",
            el("code", { title: "the key, base64url" }, `${key.slice(0, 6)}…`),
          ),
        )),
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const service = nameFrom(name);
    if (!service) return showError(error, "Name the cluster or topic to make a key for.");
    if (keys[service]) return showError(error, `This link already has a key for "${service}".`);
    showError(error, null);
    app.activity.add("info", `Generated a private key for "${service}"; reconnecting with it.`);
    switchKeys(withNewKey(keys, service));
  });

  copy.addEventListener("click", () => {
    share.select();
    navigator.clipboard?.writeText(share.value).then(
      () => (copy.textContent = "Copied"),
      () => (copy.textContent = "Selected: copy it"),
    );
  });

  leave.addEventListener("click", () => switchKeys({}));
}
