// "Send a file through a tunnel": pick a file, open a tunnel to one member of a cluster (a tab, or the
// demo's Node "files" member), and send it with backpressure. Shows progress, throughput, the tunnel's
// route ("relay" or "direct"), and the SHA-256 on both sides, so a person can see the bytes arrived
// intact.

import type { Tunnel } from "../../../core/browser.ts";
import { blobChunks, sendFile, toHexString } from "../../shared/file-transfer.ts";
import { errorContext } from "../app-context.ts";
import type { AppContext } from "../app-context.ts";
import { describeError } from "../describe-error.ts";
import { busy, byId, formatBytes, nameFrom, showError } from "../dom.ts";

/** WebCrypto hashes whole buffers, so both sides hold the file in memory: keep it demo-sized. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export function mountFilePanel(app: AppContext): void {
  const form = byId("file-form", HTMLFormElement);
  const cluster = byId("file-cluster", HTMLInputElement);
  const input = byId("file-input", HTMLInputElement);
  const button = byId("file-send", HTMLButtonElement);
  const progress = byId("file-progress", HTMLProgressElement);
  const stats = byId("file-stats");
  const route = byId("file-route");
  const sent = byId("file-sha-sent");
  const received = byId("file-sha-received");
  const verdict = byId("file-verdict");
  const error = byId("file-error");

  // A tunnel starts on the relays and moves onto a direct WebRTC link when both ends can make one
  // (and back, without loss, if that link fails); the "route" event says when.
  const showRoute = (tunnel: Tunnel) => {
    const value = tunnel.route;
    route.textContent = value === "direct" ? "direct (WebRTC, peer to peer)" : `${value} (through the relays)`;
    route.dataset.route = value;
  };

  const send = async (name: string, file: File) => {
    for (const slot of [sent, received]) slot.textContent = "…";
    verdict.textContent = "";
    delete verdict.dataset.match;
    route.textContent = "opening a tunnel…";
    delete route.dataset.route;
    progress.max = Math.max(1, file.size);
    progress.value = 0;
    stats.textContent = `0 B of ${formatBytes(file.size)}`;
    // Hash while sending: WebCrypto runs off the main thread's critical path.
    const localHash = file
      .arrayBuffer()
      .then(async (buffer) => toHexString(new Uint8Array(await crypto.subtle.digest("SHA-256", buffer))));
    localHash.then((hex) => (sent.textContent = hex)).catch(() => {});

    const tunnel = await app.conn.tunnel(name, { timeout: 10_000 });
    app.debug.lastTunnel = tunnel;
    showRoute(tunnel);
    tunnel.on("route", ({ route: now }) => {
      showRoute(tunnel);
      app.activity.add(
        "info",
        `The tunnel to "${name}" now travels ${now === "direct" ? "over a direct WebRTC link" : "through the relays"}.`,
      );
    });

    const started = performance.now();
    let last = 0;
    const receipt = await sendFile(
      tunnel,
      { name: file.name, size: file.size, type: file.type },
      blobChunks(file),
      ({ bytes }) => {
        app.metrics.count("tunnelBytes", bytes - last);
        last = bytes;
        progress.value = bytes;
        const seconds = (performance.now() - started) / 1000;
        stats.textContent = `${formatBytes(bytes)} of ${formatBytes(file.size)} · ${(bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s`;
      },
    ).catch(async (error: unknown) => {
      // Leave no tunnel half open at the member; if the tunnel itself failed, closing just says so again.
      await tunnel.close().catch(() => {});
      throw error;
    });
    const seconds = (performance.now() - started) / 1000;
    stats.textContent = `${formatBytes(file.size)} in ${seconds.toFixed(2)} s · ${(file.size / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s · received by ${receipt.by}`;
    received.textContent = receipt.sha256;
    const ours = await localHash;
    const match = ours === receipt.sha256 && receipt.bytes === file.size;
    verdict.dataset.match = String(match);
    verdict.textContent = match
      ? "✓ The hashes match: the file arrived byte for byte."
      : "✗ The hashes differ: the file did not arrive intact.";
    app.activity.add(
      match ? "ok" : "error",
      `Sent "${file.name}" (${formatBytes(file.size)}) to ${receipt.by}: ${match ? "hashes match" : "HASHES DIFFER"}.`,
    );
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameFrom(cluster);
    const file = input.files?.[0];
    if (!name) return showError(error, "Name the cluster whose member should receive the file.");
    if (!file) return showError(error, "Choose a file first.");
    if (file.size > MAX_FILE_BYTES)
      return showError(
        error,
        `That file is ${formatBytes(file.size)}; the demo takes up to ${formatBytes(MAX_FILE_BYTES)}.`,
      );
    showError(error, null);
    app.names.learn(name);
    void busy(button, async () => {
      try {
        await send(name, file);
      } catch (cause) {
        route.textContent = route.dataset.route ? route.textContent : "–";
        showError(error, describeError(cause, errorContext(app, "cluster", name)));
      }
    });
  });
}
