// The page's side of the stack's relay controls (web-demo/relay-control.ts): read each relay process's
// state, stop one (kill or drain), start it again. Only the stack that served this page offers them,
// and only to a page on this machine; the header proves the request comes from this page's own code.

import type { ControlStatus } from "../topology/model.ts";

const HEADER = { "x-iris-control": "1" };

export type StopMode = "kill" | "drain";

export interface ControlledRelay extends ControlStatus {
  index: number;
}

export class ControlClient {
  constructor(private readonly base: string = "./api/relays") {}

  async statuses(): Promise<ControlledRelay[]> {
    const response = await fetch(this.base, { cache: "no-store" });
    if (!response.ok) throw new Error(await reason(response));
    const body = (await response.json()) as { relays?: ControlledRelay[] };
    return body.relays ?? [];
  }

  /** Resolves once the relay's process is gone. */
  async stop(index: number, mode: StopMode): Promise<void> {
    const response = await fetch(`${this.base}/${index}/stop?mode=${mode}`, { method: "POST", headers: HEADER });
    if (!response.ok) throw new Error(await reason(response));
  }

  /** Resolves once the relay listens again. */
  async start(index: number): Promise<void> {
    const response = await fetch(`${this.base}/${index}/start`, { method: "POST", headers: HEADER });
    if (!response.ok) throw new Error(await reason(response));
  }
}

async function reason(response: Response): Promise<string> {
  try {
    const body = (await response.json()) as { error?: string };
    return body.error ?? `HTTP ${response.status}`;
  } catch {
    return `HTTP ${response.status}`;
  }
}
