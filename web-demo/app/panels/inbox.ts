// Files that arrive at this tab through tunnels, as a member of a cluster: each shows its progress, its
// SHA-256 (to compare with the sender's), and a link to save it. The hash is WebCrypto's, which takes
// whole buffers only, so the tab holds a file in memory until it is hashed; fine for a demo's files.

import type { Tunnel } from "../../../core/browser.ts";
import { parseHeader, receiveFile } from "../../shared/file-transfer.ts";
import type { Hasher } from "../../shared/file-transfer.ts";
import { toHexString } from "../../shared/file-transfer.ts";
import type { AppContext } from "../app-context.ts";
import { diagnose } from "../diagnosis.ts";
import { byId, el, formatBytes, prepend } from "../dom.ts";

export interface Inbox {
  receive(tunnel: Tunnel): Promise<void>;
}

export function mountInbox(app: AppContext): Inbox {
  const list = byId("received-files");
  const me = app.peers.name(app.conn.peerId);
  return {
    async receive(tunnel) {
      const first = await tunnel.receive();
      if (first === null) return;
      const header = parseHeader(first);
      if (!header) {
        // Not a file: someone else's tunnel protocol. Say so, and end it.
        app.activity.add("warn", `A tunnel to "${tunnel.name}" did not start with a file header; closed it.`);
        await tunnel.close().catch(() => {});
        return;
      }
      const progress = el("progress", { max: Math.max(1, header.size), value: 0 });
      const status = el("span", { class: "received-status" }, "receiving…");
      const hash = el("code", { class: "sha256" }, "…");
      const item = el(
        "li",
        { "data-file": header.name },
        el("strong", {}, header.name),
        ` (${formatBytes(header.size)}, cluster "${tunnel.name}", from ${app.peers.name(tunnel.remotePeer)}) `,
        status,
        el("br"),
        progress,
        el("span", { class: "hash-line" }, "SHA-256 received: ", hash),
      );
      progress.setAttribute("aria-label", `Receiving ${header.name}`);
      prepend(list, item, 10);
      app.activity.add(
        "info",
        `Receiving "${header.name}" (${formatBytes(header.size)}) through a tunnel to "${tunnel.name}".`,
      );
      const parts: Uint8Array[] = [];
      let last = 0;
      try {
        const receipt = await receiveFile(tunnel, header, collectingHasher(parts), me, ({ bytes }) => {
          progress.value = bytes;
          app.metrics.count("tunnelBytes", bytes - last);
          last = bytes;
        });
        hash.textContent = receipt.sha256;
        item.dataset.sha256 = receipt.sha256;
        status.textContent = "received";
        const blob = new Blob(parts as BlobPart[], { type: header.type || "application/octet-stream" });
        item.append(" ", el("a", { href: URL.createObjectURL(blob), download: header.name }, `Save ${header.name}`));
        app.activity.add(
          "ok",
          `Received "${header.name}": ${formatBytes(receipt.bytes)}, SHA-256 ${receipt.sha256.slice(0, 16)}…`,
        );
      } catch (error) {
        const message = diagnose(error, app.diagnosisContext("cluster", tunnel.name)).what;
        status.textContent = `stopped: ${message}`;
        item.classList.add("failed");
        app.activity.add("warn", `Receiving "${header.name}" stopped: ${message}`);
      }
    },
  };
}

/** Keeps the chunks (for hashing and saving) and hashes them all at the end. */
function collectingHasher(parts: Uint8Array[]): Hasher {
  return {
    update: (bytes) => void parts.push(bytes),
    digest: async () => {
      const whole = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
      let offset = 0;
      for (const part of parts) {
        whole.set(part, offset);
        offset += part.length;
      }
      return toHexString(new Uint8Array(await crypto.subtle.digest("SHA-256", whole)));
    },
  };
}
