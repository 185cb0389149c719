// Vite's client types: CSS imports (style.css, uPlot's stylesheet) and import.meta.env in the page.
/// <reference types="vite/client" />
