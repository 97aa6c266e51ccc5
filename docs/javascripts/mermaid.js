// Mermaid, vendored (docs/assets/vendor), loaded only when a page with a diagram is shown: it is
// 2.75 MB, and two pages have a diagram. The theme draws each `pre.mermaid` with the global
// `mermaid` (`initialize` once, then `render` per diagram), and fetches that global from a CDN when
// there is none. This stand-in is the global until the first diagram: that diagram's `render` loads
// the vendored library, which takes the name `mermaid` itself, is given the theme's settings, and
// draws every diagram from then on, also after an instant navigation.
(() => {
  if (window.mermaid) return;
  const src = new URL("../assets/vendor/mermaid-11.12.2.min.js", document.currentScript.src).href;
  let settings = {};
  let library;
  const load = () =>
    (library ||= new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = () => {
        window.mermaid.initialize(settings);
        resolve(window.mermaid);
      };
      script.onerror = () => reject(new Error(`Mermaid did not load from ${src}`));
      document.head.appendChild(script);
    }));
  window.mermaid = {
    initialize(config) {
      // Diagrams at their own size (text as large as the page's), not shrunk to the column: a
      // wider one scrolls in its own box (stylesheets/extra.css), so a phone can read it.
      settings = { ...config, flowchart: { ...config.flowchart, useMaxWidth: false } };
    },
    async render(id, text) {
      return (await load()).render(id, text);
    },
  };
})();
