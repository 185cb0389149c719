// The operations a benchmark role needs, behind one interface, so the roles run the very same
// measuring loop against iris-mesh and against NATS. Each system's adapter lives in its own file.

import type { Endpoint } from "../protocol.ts";
import { openIrisClient } from "./iris-client.ts";
import { openNatsClient } from "./nats-client.ts";

/** The writing end of a stream (an iris-mesh tunnel). */
export interface StreamWriter {
  /** Resolves when the stream can take more: awaiting it is the stream's flow control. */
  send(bytes: Uint8Array): Promise<void>;
  /** Resolves once the other end has everything and has confirmed the close. */
  close(): Promise<void>;
}

export interface BenchClient {
  subscribe(subject: string, onMessage: (body: Uint8Array) => void): Promise<void>;
  /**
   * Publishes one message. A promise back means "wait before publishing more": that is the client's own
   * flow control, which each adapter exposes in its system's idiomatic way.
   */
  publish(subject: string, body: Uint8Array): Promise<void> | undefined;
  /** Resolves once everything published so far has left this process and reached the server. */
  flush(): Promise<void>;
  /**
   * Answers every request on `subject` with what `answer` returns. On NATS, members that name the same
   * `group` form a queue group, which balances requests over them; iris-mesh balances over a cluster's
   * members anyway.
   */
  serve(subject: string, answer: (body: Uint8Array) => Uint8Array, group?: string): Promise<void>;
  request(subject: string, body: Uint8Array, timeoutMs: number): Promise<Uint8Array>;
  /** Opens a tunnel to a member of `subject` (iris-mesh only: NATS has none). */
  openTunnel(subject: string): Promise<StreamWriter>;
  /** Hands every tunnel opened to this member of `subject` to `onTunnel` (iris-mesh only). */
  serveTunnels(subject: string, onTunnel: (messages: AsyncIterable<Uint8Array>) => Promise<void>): Promise<void>;
  /** Calls `listener` whenever the client loses its connection to its server (it reconnects by itself). */
  onDrop(listener: (reason: string) => void): void;
  /** Calls `listener` whenever the client is connected again after a drop, with the server it reached. */
  onReconnect(listener: (server: string) => void): void;
  close(): Promise<void>;
}

export function openClient(endpoint: Endpoint): Promise<BenchClient> {
  return endpoint.system === "iris" ? openIrisClient(endpoint.relay, endpoint.keys) : openNatsClient(endpoint.server);
}
