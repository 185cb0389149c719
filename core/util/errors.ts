// Anything thrown, as an Error: handlers and third-party callbacks may throw strings or plain objects,
// and everything that reports a failure wants a message and a stack.

export function asError(error: unknown): Error {
  return error instanceof Error ? error : new Error(String(error));
}
