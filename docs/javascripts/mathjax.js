window.MathJax = {
  tex: { inlineMath: [["\\(", "\\)"]], displayMath: [["\\[", "\\]"]], processEscapes: true, processEnvironments: true },
  options: { ignoreHtmlClass: ".*|", processHtmlClass: "arithmatex" },
};
document$.subscribe(() => {
  // The SVG output (the vendored tex-svg build) clears its font cache with clearFontCache;
  // clearCache is the CHTML output's name, and calling it broke every page after instant navigation.
  MathJax.startup.output.clearFontCache();
  MathJax.typesetClear();
  MathJax.texReset();
  MathJax.typesetPromise();
});
