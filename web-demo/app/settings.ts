// Where the page's settings come from. Relays: `?relay=ws://...` (repeatable), else the stack's
// /iris-config.json, else ws://127.0.0.1:7600. Direct WebRTC links: on, with every ICE candidate, unless
// `?direct=off`, or `?candidates=127.0.0.1` (or the stack's config) keeps them to some addresses.
// Keys: the URL fragment, `#key.<name>=<base64url key>`, which browsers never send to a server, so a
// link carries its keys from tab to tab and nowhere else. No keys in the fragment means development
// mode: keys derived from names, insecure, zero setup. Keys with `dev=1` beside them: both, the keys
// for their names and development keys for every other name (what a development tab becomes when it
// generates a key, so it keeps talking to the demo's services).

import { generateKey } from "../../core/browser.ts";

export const DEFAULT_RELAY = "ws://127.0.0.1:7600";
const KEY_PREFIX = "key.";
const DEVELOPMENT_FLAG = "dev";

export interface PageSettings {
  relays: string[];
  /** Where the relay list came from, for the status line and error messages. */
  relaySource: "query" | "stack" | "default";
  /** Cluster and topic keys by name, from the fragment. */
  keys: Record<string, string>;
  /** No key in the fragment, or `dev=1` beside them: connect({ development: true }). */
  development: boolean;
  /** Where the stack offers relay controls (its /iris-config.json says so). */
  controls: boolean;
  /** Open direct WebRTC links to other peers (tunnels move onto them). */
  direct: boolean;
  /** Only ICE candidates on these addresses, or null for all. */
  candidates: string[] | null;
}

interface StackConfig {
  relays: string[];
  candidates: string[] | null;
  controls: boolean;
}

export async function loadSettings(location: Location = window.location): Promise<PageSettings> {
  const keys = keysFromFragment(location.hash);
  const development = developmentFromFragment(location.hash);
  const query = new URLSearchParams(location.search);
  const stack = await stackConfig();
  const direct = query.get("direct") !== "off";
  const candidates = query.has("candidates") ? addressList(query.get("candidates") ?? "") : stack.candidates;
  // Relay controls belong to the stack that served the page: not to relays named in the link.
  const common = { keys, development, direct, candidates, controls: stack.controls && !query.has("relay") };
  const fromQuery = query.getAll("relay").filter(isRelayAddress);
  if (fromQuery.length > 0) return { relays: fromQuery, relaySource: "query", ...common };
  if (stack.relays.length > 0) return { relays: stack.relays, relaySource: "stack", ...common };
  return { relays: [DEFAULT_RELAY], relaySource: "default", ...common };
}

function addressList(text: string): string[] | null {
  const addresses = text
    .split(",")
    .map((address) => address.trim())
    .filter(Boolean);
  return addresses.length > 0 ? addresses : null;
}

function isRelayAddress(text: string): boolean {
  return /^wss?:\/\/[^\s]+$/.test(text);
}

/** What `npm start` serves beside the page; nothing when the page is served some other way. */
async function stackConfig(): Promise<StackConfig> {
  const none: StackConfig = { relays: [], candidates: null, controls: false };
  try {
    const response = await fetch("./iris-config.json", { cache: "no-store" });
    if (!response.ok || !response.headers.get("content-type")?.includes("json")) return none;
    const config = (await response.json()) as { relays?: unknown; candidates?: unknown; controls?: unknown };
    const strings = (value: unknown) =>
      Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
    const candidates = strings(config.candidates);
    return {
      relays: strings(config.relays).filter(isRelayAddress),
      candidates: candidates.length > 0 ? candidates : null,
      controls: config.controls === true,
    };
  } catch {
    return none;
  }
}

export function keysFromFragment(hash: string): Record<string, string> {
  const keys: Record<string, string> = {};
  for (const [field, value] of new URLSearchParams(hash.replace(/^#/, ""))) {
    if (!field.startsWith(KEY_PREFIX)) continue;
    const name = field.slice(KEY_PREFIX.length);
    if (name.length > 0 && /^[A-Za-z0-9_-]{43}$/.test(value)) keys[name] = value;
  }
  return keys;
}

/** Development mode: no key at all, or the `dev=1` flag beside the keys. */
export function developmentFromFragment(hash: string): boolean {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  return Object.keys(keysFromFragment(hash)).length === 0 || params.get(DEVELOPMENT_FLAG) === "1";
}

export function fragmentFor(keys: Record<string, string>, development: boolean): string {
  const params = new URLSearchParams();
  if (development && Object.keys(keys).length > 0) params.set(DEVELOPMENT_FLAG, "1");
  for (const [name, key] of Object.entries(keys)) params.set(`${KEY_PREFIX}${name}`, key);
  const text = params.toString();
  return text ? `#${text}` : "";
}

/** This page's link with these keys in its fragment (and its relay query kept). */
export function linkWith(
  keys: Record<string, string>,
  development: boolean,
  location: Location = window.location,
): string {
  return `${location.origin}${location.pathname}${location.search}${fragmentFor(keys, development)}`;
}

/** A fresh key, base64url, as generateKey() makes them. */
export function newKey(): string {
  return generateKey();
}
