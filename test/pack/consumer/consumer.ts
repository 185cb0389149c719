// A strict TypeScript application's use of the package, type-checked from the packed tarball under
// `module: nodenext` (the Node entry's declarations) and `moduleResolution: bundler` (the browser
// entry's). Never run: the type checker is the test.

import {
  AlreadyRegisteredError,
  ClosedError,
  connect,
  DeniedError,
  generateKey,
  IrisError,
  KeyError,
  MAX_DURATION,
  NoMembersError,
  onlyAddresses,
  OverloadedError,
  ProtocolError,
  RemoteError,
  TimeoutError,
  TooLargeError,
  UnreachableError,
} from "iris-mesh";
import type {
  Connection,
  ConnectOptions,
  IrisErrorCode,
  MessageInfo,
  RelaySnapshot,
  RequestHandler,
  ServiceHandlers,
  Subscription,
  Tunnel,
  TunnelHandler,
} from "iris-mesh";

const options: ConnectOptions = {
  relays: ["ws://127.0.0.1:7600"],
  keys: { db: generateKey() },
  connectTimeout: 5000,
  reconnect: { initialDelay: 100, maxDelay: MAX_DURATION },
  tunnels: { gapTimeout: Number.POSITIVE_INFINITY },
};

const echo: RequestHandler = (body: Uint8Array, info: MessageInfo) => `${info.origin}: ${body.length}`;
const tunnel: TunnelHandler = async (t: Tunnel) => {
  for await (const chunk of t) await t.send(chunk);
};
const handlers: ServiceHandlers = { request: echo, tunnel };

export async function main(signal: AbortSignal): Promise<string> {
  const conn: Connection = await connect({
    ...options,
    signal,
    webrtc: { maxLinks: 4, candidateFilter: onlyAddresses(["127.0.0.1"]) },
  });
  conn.on("drop", ({ code, reason }) => console.log(code.toFixed(0), reason.trim()));
  // @ts-expect-error events are typed exactly: a misspelt name does not compile
  conn.on("dorp", () => {});
  const registration = await conn.register("db", handlers, { limits: { concurrency: 4 }, signal });
  const sub: Subscription = await conn.subscribe("news", (body) => console.log(body.byteLength), {
    timeout: 1000,
    signal,
  });
  await conn.publish("news", "hi", { timeout: 1000, signal, sensitive: true });
  await conn.broadcast("db", new Uint8Array(4), { signal });
  const opened: Tunnel = await conn.tunnel("db", { timeout: 1000, signal });
  opened.on("route", ({ route }) => route satisfies "relay" | "direct");
  // @ts-expect-error the keyring is internal: stripped from the published declarations
  conn.keyring.development;
  // @ts-expect-error signalingOnly is internal, not a tunnel option
  await conn.tunnel("db", { signalingOnly: true });
  const report: RelaySnapshot = await conn.inspect(undefined, { timeout: 1000, signal });
  let reply: Uint8Array;
  try {
    reply = await conn.request("db", "ping", { timeout: Number.POSITIVE_INFINITY, signal });
  } catch (error) {
    if (error instanceof UnreachableError) return error.causes.map((cause) => cause.reason).join();
    if (error instanceof IrisError) {
      const code: IrisErrorCode = error.code;
      return code;
    }
    const known = [
      AlreadyRegisteredError,
      ClosedError,
      DeniedError,
      KeyError,
      NoMembersError,
      OverloadedError,
      ProtocolError,
      RemoteError,
      TimeoutError,
      TooLargeError,
    ];
    return String(known.length);
  }
  await opened.close();
  await sub.unsubscribe();
  await registration.unregister();
  await conn.close();
  return `${report.relayId} ${reply.length}`;
}
