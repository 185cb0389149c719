#!/usr/bin/env node
// `npx iris-relay`: the relay's command line, as the package installs it (compiled to
// dist/relay-server/bin.js, run by plain Node). In this repository `npm run relay` runs cli.ts with tsx.
import "./cli.ts";
