// Small DOM and formatting helpers: the dashboard is plain TypeScript on the DOM, and these keep the
// panels short. Text always goes in through textContent, never innerHTML: peer agents, message bodies
// and file names come from other people.

type Attributes = Record<string, string | number | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** The element with this id, of the expected type; throws at startup if index.html lacks it. */
export function byId<T extends HTMLElement = HTMLElement>(id: string, type?: new () => T): T {
  const element = document.getElementById(id);
  if (!element) throw new Error(`index.html has no #${id}`);
  if (type && !(element instanceof type)) throw new Error(`#${id} is not a ${type.name}`);
  return element as T;
}

export function svgById(id: string): SVGSVGElement {
  const element = document.getElementById(id);
  if (!(element instanceof SVGSVGElement)) throw new Error(`index.html has no <svg id="${id}">`);
  return element;
}

/** Creates an element with attributes (false and undefined skip one) and children. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  setAttributes(element, attributes);
  for (const child of children) if (child) element.append(child);
  return element;
}

const SVG_NS = "http://www.w3.org/2000/svg";

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attributes: Attributes = {},
  ...children: Child[]
): SVGElementTagNameMap[K] {
  const element = document.createElementNS(SVG_NS, tag);
  setAttributes(element, attributes);
  for (const child of children) if (child) element.append(child);
  return element;
}

function setAttributes(element: Element, attributes: Attributes): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? "" : String(value));
  }
}

/** Keeps a list at most `max` items long, newest first. */
export function prepend(list: HTMLElement, item: HTMLElement, max = 30): void {
  list.prepend(item);
  while (list.children.length > max) list.lastElementChild?.remove();
}

/** Shows a message in an error slot (role=alert, so screen readers hear it), or clears it. */
export function showError(slot: HTMLElement, message: string | null): void {
  slot.textContent = message ?? "";
  slot.hidden = message === null;
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  if (bytes < 1024 * 1024 * 1024) return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
  return `${(bytes / 1024 / 1024 / 1024).toFixed(2)} GiB`;
}

/** Bytes per second, in the same units as formatBytes. */
export function formatByteRate(bytesPerSecond: number): string {
  return `${formatBytes(Math.round(bytesPerSecond))}/s`;
}

/** A rate of events per second, to one decimal below 10. */
export function formatRate(perSecond: number): string {
  return perSecond < 10 ? perSecond.toFixed(1) : String(Math.round(perSecond));
}

/** A length of time as people say it: "8 s", "3 min 12 s", "2 h 5 min". */
export function formatDuration(ms: number): string {
  const seconds = Math.max(0, Math.floor(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export function formatMs(ms: number): string {
  return ms < 10 ? `${ms.toFixed(2)} ms` : ms < 1000 ? `${ms.toFixed(1)} ms` : `${(ms / 1000).toFixed(2)} s`;
}

/** A peer or relay id short enough to read: its first 6 hex digits. */
export function short(id: string): string {
  return id.slice(0, 6);
}

/** Wall-clock time as HH:MM:SS, the one time format of the page (feeds, charts, axes). */
export function clock(at: number = Date.now()): string {
  const date = new Date(at);
  return [date.getHours(), date.getMinutes(), date.getSeconds()].map((n) => String(n).padStart(2, "0")).join(":");
}

/** A trimmed, non-empty name from a text input, or null. */
export function nameFrom(input: HTMLInputElement): string | null {
  const name = input.value.trim();
  return name.length > 0 ? name : null;
}

/** Runs a button's async action with the button disabled meanwhile, so a double click does not repeat it. */
export async function busy<T>(button: HTMLButtonElement, action: () => Promise<T>): Promise<T> {
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await action();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}
