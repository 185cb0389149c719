#!/usr/bin/env node
// npx iris-relay: run the TypeScript relay through tsx's loader.
import { register } from "tsx/esm/api";

register();
await import("./cli.ts");
