// DEBUGGING ONLY: records every frame a relay receives and sends into a file, as
// [direction u8: 0 in, 1 out][length u32 big-endian][frame bytes]. Tests use it to prove that nothing a
// relay handles contains plaintext.

import { openSync, writeSync, closeSync } from "node:fs";
import { LinkWrapper } from "../core/internal.node.ts";
import type { Link, LinkHandlers } from "../core/internal.node.ts";

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
    return new TappedLink(link, this);
  }

  close(): void {
    closeSync(this.fd);
  }
}

class TappedLink extends LinkWrapper {
  constructor(
    inner: Link,
    private readonly tap: FrameTap,
  ) {
    super(inner);
  }

  override listen(handlers: LinkHandlers): void {
    this.inner.listen({
      frame: (bytes) => {
        this.tap.record("in", bytes);
        handlers.frame(bytes);
      },
      close: (code, reason) => handlers.close(code, reason),
    });
  }

  override send(frame: Uint8Array): void {
    this.tap.record("out", frame);
    this.inner.send(frame);
  }
}
