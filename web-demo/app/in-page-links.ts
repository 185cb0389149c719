// In-page links ("Skip to the panels", "Keys", "Go to the relay list") scroll and move focus without
// touching the fragment, which holds the keys: following one must not drop them from the link.

export function wireInPageLinks(): void {
  document.addEventListener("click", (event) => {
    const link = event.target instanceof Element ? event.target.closest<HTMLAnchorElement>('a[href^="#"]') : null;
    const target = link ? document.getElementById(link.getAttribute("href")!.slice(1)) : null;
    if (!target) return;
    event.preventDefault();
    target.scrollIntoView({ block: "start" });
    if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
    target.focus({ preventScroll: true });
  });
}
