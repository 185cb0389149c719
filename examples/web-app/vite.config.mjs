import { defineConfig } from "vite";

// Top-level await in src/main.ts needs a target that has it (every current browser does).
export default defineConfig({ build: { target: "es2022" } });
