// The kinds of value a relay setting takes, each read from two shapes: the text of a flag or an
// environment variable, and the JSON value of a config-file key. A kind refuses what it cannot use by
// throwing InvalidValue with the end of a sentence ("must be ..."); the loader puts the name of the
// flag, variable or key in front, so the operator reads it in the words they used.

import { resolve } from "node:path";
import { KEY_BYTES } from "../core/crypto/keys.ts";
import { fromBase64Url } from "../core/util/bytes.ts";

export class InvalidValue extends Error {}

export interface Kind<T> {
  /** What the docs call the type: "integer, 0 to 65535", "ws:// or wss:// URL". */
  readonly type: string;
  /** The placeholder after the flag in --help: `<n>`, `<url>`, `<file>`. */
  readonly placeholder: string;
  fromText(text: string): T;
  /** `base` is the config file's folder: relative paths in a file are relative to the file. */
  fromJson(value: unknown, base: string): T;
}

function shown(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

export function integer(min: number, max: number, unit?: "bytes" | "ms"): Kind<number> {
  const range = `from ${min} to ${max}`;
  const type = unit === "bytes" ? `bytes, ${range}` : unit === "ms" ? `milliseconds, ${range}` : `integer, ${range}`;
  const check = (value: number, original: unknown): number => {
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new InvalidValue(`must be an integer ${range}${unit ? ` (${unit})` : ""}, not ${shown(original)}`);
    }
    return value;
  };
  return {
    type,
    placeholder: unit === "ms" ? "<ms>" : unit === "bytes" ? "<bytes>" : "<n>",
    // Number("") is 0 and Number(" 1 ") is 1: only digits are an integer here.
    fromText: (text) => check(/^-?\d+$/.test(text) ? Number(text) : Number.NaN, text),
    fromJson: (value) => check(typeof value === "number" ? value : Number.NaN, value),
  };
}

export function text(type: string, placeholder: string): Kind<string> {
  const check = (value: unknown): string => {
    if (typeof value !== "string" || value.trim() === "")
      throw new InvalidValue(`must be ${type}, not ${shown(value)}`);
    return value;
  };
  return { type, placeholder, fromText: check, fromJson: check };
}

/** A secret that gates access: long enough that guessing it is not a plan. */
export function secret(minLength: number): Kind<string> {
  const type = `a secret of at least ${minLength} characters`;
  const check = (value: unknown): string => {
    if (typeof value !== "string") throw new InvalidValue(`must be ${type}`);
    // The value itself is never echoed: it may be a real secret with a typo.
    if (value.length < minLength) throw new InvalidValue(`must be ${type}, not ${value.length}`);
    return value;
  };
  return { type, placeholder: "<secret>", fromText: check, fromJson: check };
}

export function choice<const T extends string>(values: readonly T[]): Kind<T> {
  const list = values.length === 2 ? `${values[0]} or ${values[1]}` : values.join(", ");
  const check = (value: unknown): T => {
    if (typeof value === "string" && (values as readonly string[]).includes(value)) return value as T;
    throw new InvalidValue(`must be one of ${list}, not ${shown(value)}`);
  };
  return { type: values.join(" | "), placeholder: `<${values.join("|")}>`, fromText: check, fromJson: check };
}

function checkUrl(value: unknown): string {
  if (typeof value === "string") {
    try {
      const url = new URL(value);
      if ((url.protocol === "ws:" || url.protocol === "wss:") && url.host !== "") return value;
    } catch {
      // Not a URL at all: refused below, in the same words.
    }
  }
  throw new InvalidValue(`must be a ws:// or wss:// URL, not ${shown(value)}`);
}

export function webSocketUrl(): Kind<string> {
  return { type: "ws:// or wss:// URL", placeholder: "<url>", fromText: checkUrl, fromJson: checkUrl };
}

/** Several URLs: repeated flags, a comma-separated variable, or a list in the file. */
export function webSocketUrls(): Kind<string[]> {
  return {
    type: "list of ws:// or wss:// URLs",
    placeholder: "<url>",
    fromText: (value) =>
      value
        .split(/[\s,]+/)
        .filter(Boolean)
        .map(checkUrl),
    fromJson: (value) => {
      if (!Array.isArray(value)) throw new InvalidValue(`must be a list of ws:// or wss:// URLs, not ${shown(value)}`);
      return value.map(checkUrl);
    },
  };
}

export function filePath(): Kind<string> {
  const check = (value: unknown): string => {
    if (typeof value !== "string" || value === "") throw new InvalidValue(`must be a file path, not ${shown(value)}`);
    return value;
  };
  return {
    type: "file path",
    placeholder: "<file>",
    fromText: check,
    fromJson: (value, base) => resolve(base, check(value)),
  };
}

/** A 32-byte key in base64url, as generateKey() makes. */
export function key(): Kind<Uint8Array> {
  const check = (value: unknown): Uint8Array => {
    if (typeof value !== "string") throw new InvalidValue(`must be a key: ${KEY_BYTES} bytes in base64url`);
    let bytes: Uint8Array;
    try {
      bytes = fromBase64Url(value.trim());
    } catch {
      // The value is a secret: say what is wrong with it, never what it is.
      throw new InvalidValue(`must be ${KEY_BYTES} bytes in base64url (as generateKey() makes); it is not base64url`);
    }
    if (bytes.length !== KEY_BYTES) {
      throw new InvalidValue(
        `must be ${KEY_BYTES} bytes in base64url (as generateKey() makes), not ${bytes.length} bytes`,
      );
    }
    return bytes;
  };
  return { type: `${KEY_BYTES}-byte key, base64url`, placeholder: "<key>", fromText: check, fromJson: check };
}
