// Preloaded (node --import) into every relay `npm start` runs. The stack stops its relays itself on
// Ctrl-C or SIGTERM; but should the stack die without doing so (SIGKILL, a crash), the pipe on each
// relay's stdin closes, and the relay exits too rather than live on as an orphan holding its port.

process.stdin.on("end", () => process.exit(0));
process.stdin.on("error", () => process.exit(0));
process.stdin.resume();
