// Sending a file through a tunnel, as the dashboard and the demo's Node "files" member agree to do it.
// Runtime-neutral (the page and Node both import it), so no Node module and no DOM here.
//
// The caller sends a header (JSON: name, size, type), then the bytes in messages of FILE_CHUNK; the
// member hashes what arrives and, once `size` bytes are in, answers with a receipt (JSON: bytes,
// SHA-256, who it is). The caller reads the receipt and closes. The receipt must come before the close
// because a tunnel's close is a handshake that ends both directions: after it, nothing can be said.

import type { Tunnel } from "../../core/index.ts";

/** Bytes per tunnel message: small enough for a smooth progress bar, large enough to be cheap. */
export const FILE_CHUNK = 256 * 1024;

export interface FileHeader {
  kind: "iris-file";
  name: string;
  size: number;
  type: string;
}

export interface FileReceipt {
  kind: "iris-file-receipt";
  bytes: number;
  sha256: string;
  /** Who received it, for people: "tab 1a2b3c" or "files member (Node)". */
  by: string;
}

/** Incremental SHA-256: node:crypto in Node, WebCrypto (which hashes only whole buffers) in the page. */
export interface Hasher {
  update(bytes: Uint8Array): void;
  /** Lowercase hex. */
  digest(): Promise<string>;
}

export interface Progress {
  bytes: number;
  total: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeHeader(header: Omit<FileHeader, "kind">): Uint8Array {
  return encoder.encode(JSON.stringify({ kind: "iris-file", ...header } satisfies FileHeader));
}

/** The header, or null for a tunnel that does not start with one (a plain stream of bytes). */
export function parseHeader(bytes: Uint8Array): FileHeader | null {
  const value = parseJson(bytes);
  if (value?.kind !== "iris-file") return null;
  const { name, size, type } = value;
  if (typeof name !== "string" || typeof type !== "string") return null;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return null;
  return { kind: "iris-file", name: name.slice(0, 256), size, type: type.slice(0, 128) };
}

export function encodeReceipt(receipt: Omit<FileReceipt, "kind">): Uint8Array {
  return encoder.encode(JSON.stringify({ kind: "iris-file-receipt", ...receipt } satisfies FileReceipt));
}

export function parseReceipt(bytes: Uint8Array): FileReceipt | null {
  const value = parseJson(bytes);
  if (value?.kind !== "iris-file-receipt") return null;
  const { bytes: count, sha256, by } = value;
  if (typeof count !== "number" || typeof sha256 !== "string" || !/^[0-9a-f]{64}$/.test(sha256)) return null;
  return { kind: "iris-file-receipt", bytes: count, sha256, by: typeof by === "string" ? by.slice(0, 80) : "a member" };
}

function parseJson(bytes: Uint8Array): Record<string, unknown> | null {
  // A header is small; anything long is file data, not worth decoding.
  if (bytes.length > 4096 || bytes[0] !== 0x7b /* { */) return null;
  try {
    const value: unknown = JSON.parse(decoder.decode(bytes));
    return typeof value === "object" && value !== null ? (value as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/**
 * Caller side: sends the header and every chunk (each send waits for the tunnel's credit, so progress
 * follows what the receiver has room for), then waits for the receipt and closes the tunnel. An abort
 * (`signal`) stops between chunks and closes the tunnel: the member sees the file end short.
 */
export async function sendFile(
  tunnel: Tunnel,
  header: Omit<FileHeader, "kind">,
  chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  onProgress: (progress: Progress) => void = () => {},
  signal?: AbortSignal,
): Promise<FileReceipt> {
  await tunnel.send(encodeHeader(header));
  let bytes = 0;
  for await (const chunk of chunks) {
    if (signal?.aborted) {
      await tunnel.close().catch(() => {});
      throw signal.reason instanceof Error ? signal.reason : new Error("cancelled");
    }
    await tunnel.send(chunk);
    bytes += chunk.length;
    onProgress({ bytes, total: header.size });
  }
  if (bytes !== header.size)
    throw new Error(`the file changed while it was read: ${bytes} bytes, expected ${header.size}`);
  const answer = await tunnel.receive();
  if (answer === null) throw new Error("the member closed the tunnel without a receipt");
  const receipt = parseReceipt(answer);
  if (!receipt) throw new Error("the member's answer is not a file receipt");
  await tunnel.close();
  return receipt;
}

/** Member side, once the header is known: hashes `header.size` bytes, answers, waits for the close. */
export async function receiveFile(
  tunnel: Tunnel,
  header: FileHeader,
  hasher: Hasher,
  by: string,
  onProgress: (progress: Progress) => void = () => {},
): Promise<FileReceipt> {
  let bytes = 0;
  while (bytes < header.size) {
    const chunk = await tunnel.receive();
    if (chunk === null) throw new Error(`the sender closed after ${bytes} of ${header.size} bytes`);
    if (bytes + chunk.length > header.size)
      throw new Error(`the sender sent more than the ${header.size} bytes announced`);
    hasher.update(chunk);
    bytes += chunk.length;
    onProgress({ bytes, total: header.size });
  }
  const receipt: FileReceipt = { kind: "iris-file-receipt", bytes, sha256: await hasher.digest(), by };
  await tunnel.send(encodeReceipt(receipt));
  // The caller closes once it has read the receipt; anything else it sends now breaks the agreement.
  for await (const extra of tunnel) throw new Error(`unexpected ${extra.length} bytes after the file`);
  return receipt;
}

/** Reads a Blob (a File from an <input type=file>) in FILE_CHUNK slices. */
export async function* blobChunks(blob: Blob): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < blob.size; offset += FILE_CHUNK) {
    yield new Uint8Array(await blob.slice(offset, offset + FILE_CHUNK).arrayBuffer());
  }
}

export function toHexString(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, "0")).join("");
}
