// MathJax, vendored (docs/assets/vendor), loaded only by a page that has a formula: it is 2 MB,
// and most pages have none. The first page with a formula loads it, and MathJax typesets that page
// when it starts; after that, every page the reader reaches by instant navigation is typeset here.
window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
const MATHJAX_SRC = new URL("../assets/vendor/mathjax-3.2.2-tex-svg.js", document.currentScript.src).href;

document$.subscribe(() => {
  if (!document.querySelector(".arithmatex")) return;
  if (!window.MathJax.version) {  // not loaded yet (MathJax sets its version once it runs)
    if (!document.querySelector(`script[src="${MATHJAX_SRC}"]`)) {
      const script = document.createElement("script");
      script.src = MATHJAX_SRC;
      script.async = true;
      document.head.appendChild(script);
    }
    return;
  }
  // The SVG output (the vendored tex-svg build) clears its font cache with clearFontCache;
  // clearCache is the CHTML output's name, and calling it broke every page after instant navigation.
  MathJax.startup.output.clearFontCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
