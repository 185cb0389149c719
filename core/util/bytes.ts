// Byte helpers shared by every layer. Uint8Array is the only byte type in core;
// adapters at the edge convert Buffer and ArrayBuffer into it.

const textEncoder = new TextEncoder();
// Fatal, so invalid UTF-8 is refused; ignoreBOM, so a leading U+FEFF is kept as a character rather than
// silently dropped (which would make fromUtf8(utf8(s)) !== s).
const textDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return textEncoder.encode(text);
}

/** Decodes UTF-8, throwing a TypeError on invalid sequences rather than inventing U+FFFD. */
export function fromUtf8(bytes: Uint8Array): string {
  return textDecoder.decode(bytes);
}

export function concat(...parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const hexDigits = "0123456789abcdef";
/** Both digits of every byte: one string append per byte instead of two. */
const hexPairs: string[] = Array.from({ length: 256 }, (_, byte) => hexDigits[byte >> 4]! + hexDigits[byte & 15]!);

export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i++) out += hexPairs[bytes[i]!]!;
  return out;
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new TypeError(`not a hex string: ${JSON.stringify(hex.slice(0, 40))}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const b64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const b64Lookup = new Int16Array(128).fill(-1);
for (let i = 0; i < b64Alphabet.length; i++) b64Lookup[b64Alphabet.charCodeAt(i)] = i;

/** base64url without padding (RFC 4648 section 5), the form keys take in config and URLs. */
export function toBase64Url(bytes: Uint8Array): string {
  let out = "";
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += b64Alphabet[n >> 18]! + b64Alphabet[(n >> 12) & 63]! + b64Alphabet[(n >> 6) & 63]! + b64Alphabet[n & 63]!;
  }
  const rest = bytes.length - i;
  if (rest === 1) {
    const n = bytes[i]! << 16;
    out += b64Alphabet[n >> 18]! + b64Alphabet[(n >> 12) & 63]!;
  } else if (rest === 2) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8);
    out += b64Alphabet[n >> 18]! + b64Alphabet[(n >> 12) & 63]! + b64Alphabet[(n >> 6) & 63]!;
  }
  return out;
}

export function fromBase64Url(text: string): Uint8Array {
  const clean = text.replace(/=+$/, "");
  if (clean.length % 4 === 1) throw new TypeError("not base64url: impossible length");
  const out = new Uint8Array(Math.floor((clean.length * 3) / 4));
  let bits = 0;
  let value = 0;
  let offset = 0;
  for (let i = 0; i < clean.length; i++) {
    const code = clean.charCodeAt(i);
    const digit = code < 128 ? b64Lookup[code]! : -1;
    if (digit < 0) throw new TypeError(`not base64url: bad character at ${i}`);
    value = (value << 6) | digit;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[offset++] = (value >> bits) & 0xff;
    }
  }
  return out;
}

// Every sealed message needs a nonce and a message id; one getRandomValues call per few hundred of them
// instead of two per message (measured: 13% of a publisher's time). Each pooled byte is handed out once.
const POOL_BYTES = 8192;
const POOLED_MAX = 64;
let pool = new Uint8Array(0);
let poolOffset = 0;

/** Cryptographically strong random bytes through the Web Crypto API, present in browsers and Node >= 19. */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  if (length <= POOLED_MAX) {
    fillRandom(out);
    return out;
  }
  // getRandomValues refuses more than 65,536 bytes per call.
  for (let offset = 0; offset < length; offset += 65536) {
    globalThis.crypto.getRandomValues(out.subarray(offset, Math.min(length, offset + 65536)));
  }
  return out;
}

/** Fills `target` (at most 64 bytes: a nonce, say) with random bytes from the pool, allocating nothing. */
export function fillRandom(target: Uint8Array): void {
  const length = target.length;
  if (length > POOLED_MAX) throw new RangeError(`fillRandom takes at most ${POOLED_MAX} bytes`);
  if (poolOffset + length > pool.length) {
    pool = new Uint8Array(POOL_BYTES);
    globalThis.crypto.getRandomValues(pool);
    poolOffset = 0;
  }
  for (let i = 0; i < length; i++) target[i] = pool[poolOffset + i]!;
  poolOffset += length;
}
