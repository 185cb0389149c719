// "Send a file through a tunnel": choose or drop a file, open a tunnel to one member of a cluster (a
// tab, or the demo's Node "files" member), and send it with backpressure; cancel at any time. Shows
// progress, throughput, the tunnel's route ("relay" or "direct"), and the SHA-256 on both sides, so a
// person can see the bytes arrived intact.

import type { Tunnel } from "../../../core/browser.ts";
import { blobChunks, sendFile, toHexString } from "../../shared/file-transfer.ts";
import type { AppContext } from "../app-context.ts";
import { diagnose } from "../diagnosis.ts";
import { byId, formatBytes, nameFrom, showError } from "../dom.ts";

/** WebCrypto hashes whole buffers, so both sides hold the file in memory: keep it demo-sized. */
const MAX_FILE_BYTES = 256 * 1024 * 1024;

export function mountFilePanel(app: AppContext): void {
  const form = byId("file-form", HTMLFormElement);
  const cluster = byId("file-cluster", HTMLInputElement);
  const input = byId("file-input", HTMLInputElement);
  const drop = byId("file-drop");
  const chosenText = byId("file-chosen");
  const button = byId("file-send", HTMLButtonElement);
  const cancel = byId("file-cancel", HTMLButtonElement);
  const progress = byId("file-progress", HTMLProgressElement);
  const stats = byId("file-stats");
  const route = byId("file-route");
  const sent = byId("file-sha-sent");
  const received = byId("file-sha-received");
  const verdict = byId("file-verdict");
  const error = byId("file-error");
  let chosen: File | null = null;
  let running: AbortController | null = null;

  const choose = (file: File | null) => {
    chosen = file;
    chosenText.textContent = file ? `${file.name} (${formatBytes(file.size)})` : "No file chosen yet.";
    drop.dataset.chosen = String(file !== null);
  };
  choose(null);
  input.addEventListener("change", () => choose(input.files?.[0] ?? null));
  drop.addEventListener("dragover", (event) => {
    event.preventDefault();
    drop.classList.add("dragging");
  });
  drop.addEventListener("dragleave", () => drop.classList.remove("dragging"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("dragging");
    choose(event.dataTransfer?.files[0] ?? null);
  });

  // A tunnel starts on the relays and moves onto a direct WebRTC link when both ends can make one
  // (and back, without loss, if that link fails); the "route" event says when.
  const showRoute = (tunnel: Tunnel) => {
    const value = tunnel.route;
    route.textContent = value === "direct" ? "direct (WebRTC, peer to peer)" : `${value} (through the relays)`;
    route.dataset.route = value;
  };

  const reset = (file: File) => {
    for (const slot of [sent, received]) slot.textContent = "…";
    verdict.textContent = "";
    delete verdict.dataset.match;
    showError(error, null);
    route.textContent = "opening a tunnel…";
    delete route.dataset.route;
    progress.max = Math.max(1, file.size);
    progress.value = 0;
    stats.textContent = `0 B of ${formatBytes(file.size)}`;
  };

  const send = async (name: string, file: File, signal: AbortSignal) => {
    reset(file);
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
        app.showTunnelPiece(tunnel);
        app.metrics.count("tunnelBytes", bytes - last);
        last = bytes;
        progress.value = bytes;
        const seconds = (performance.now() - started) / 1000;
        stats.textContent = `${formatBytes(bytes)} of ${formatBytes(file.size)} · ${(bytes / 1e6 / Math.max(seconds, 0.001)).toFixed(1)} MB/s`;
      },
      signal,
    ).catch(async (failure: unknown) => {
      // Leave no tunnel half open at the member; if the tunnel itself failed, closing just says so again.
      await tunnel.close().catch(() => {});
      throw failure;
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

  cancel.addEventListener("click", () => running?.abort(new Error("cancelled")));

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = nameFrom(cluster);
    const file = chosen;
    if (!name) return showError(error, "Name the cluster whose member should receive the file.");
    if (!file) return showError(error, "Choose a file first, or drop one on the box.");
    if (file.size > MAX_FILE_BYTES) {
      return showError(
        error,
        `That file is ${formatBytes(file.size)}; the demo takes up to ${formatBytes(MAX_FILE_BYTES)}.`,
      );
    }
    app.names.learn(name);
    const controller = new AbortController();
    running = controller;
    button.disabled = true;
    cancel.hidden = false;
    void send(name, file, controller.signal)
      .catch((cause: unknown) => {
        if (controller.signal.aborted) {
          route.textContent = route.dataset.route ? route.textContent : "–";
          verdict.textContent = `Cancelled after ${formatBytes(progress.value)}: the member was told the file ends there.`;
          received.textContent = "–";
          app.activity.add("info", `Cancelled sending "${file.name}".`);
          return;
        }
        route.textContent = route.dataset.route ? route.textContent : "–";
        const diagnosis = diagnose(cause, app.diagnosisContext("cluster", name));
        showError(error, `${diagnosis.what} ${diagnosis.next}`.trim());
      })
      .finally(() => {
        running = null;
        button.disabled = false;
        cancel.hidden = true;
      });
  });
}
