// DEBUGGING ONLY: records every frame a relay receives and sends into a file, as
// [direction u8: 0 in, 1 out][length u32 big-endian][frame bytes]. Tests use it to prove that nothing a
// relay handles contains plaintext.

import { openSync, writeSync, closeSync } from "node:fs";
import type { Link, LinkHandlers } from "../core/node.ts";

export class FrameTap {
  private readonly fd: number;

  constructor(path: string) {
    this.fd = openSync(path, "a");
  }

  record(direction: "in" | "out", bytes: Uint8Array): void {
    const header = new Uint8Array(5);
    header[0] = direction === "in" ? 0 : 1;
    new DataView(header.buffer).setUint32(1, bytes.length);
    writeSync(this.fd, header);
    writeSync(this.fd, bytes);
  }

  /** Wraps a link so both directions are recorded. */
  wrap(link: Link): Link {
    const tap = this;
    return {
      kind: link.kind,
      remote: link.remote,
      get bufferedAmount() {
        return link.bufferedAmount;
      },
      get closed() {
        return link.closed;
      },
      listen(handlers: LinkHandlers) {
        link.listen({
          frame: (bytes) => {
            tap.record("in", bytes);
            handlers.frame(bytes);
          },
          close: (code, reason) => handlers.close(code, reason),
        });
      },
      send(frame: Uint8Array) {
        tap.record("out", frame);
        link.send(frame);
      },
      close: (code?: number, reason?: string) => link.close(code, reason),
    };
  }

  close(): void {
    closeSync(this.fd);
  }
}
