// Figures full size: a plot is drawn to fit the column (a phone shows a wide one at a quarter of
// its size), so a click, a tap, Enter or Space on it opens it at its own size in a dialog, which
// scrolls where the figure is larger than the window. Escape, a click or the button closes it.
// Runs on every page, also after an instant navigation (Material's `document$`).
(() => {
  const FIGURES = ".md-typeset img[src*='generated/'][src$='.png']";
  let dialog;

  const make = () => {
    dialog = document.createElement("dialog");
    dialog.className = "atlas-lightbox";
    dialog.setAttribute("aria-label", "Figure at full size");
    dialog.innerHTML =
      '<button type="button" class="atlas-lightbox-close" aria-label="Close">×</button>' +
      "<figure><img alt=''><figcaption></figcaption></figure>";
    // A click anywhere closes it: the dialog has nothing else to click.
    dialog.addEventListener("click", () => dialog.close());
    document.body.appendChild(dialog);
  };

  const open = (img) => {
    if (!dialog || !dialog.isConnected) make();
    const full = dialog.querySelector("img");
    full.src = img.currentSrc || img.src;
    full.alt = img.alt;
    dialog.querySelector("figcaption").textContent = img.alt;
    dialog.showModal();
    dialog.scrollTo(0, 0);
  };

  document$.subscribe(() => {
    if (dialog && dialog.open) dialog.close(); // left open when the reader went back a page
    for (const img of document.querySelectorAll(FIGURES)) {
      if (img.closest("a") || img.dataset.lightbox) continue; // a linked image goes to its link
      img.dataset.lightbox = "ready";
      img.tabIndex = 0;
      img.setAttribute("role", "button");
      img.setAttribute("aria-label", `Open full size: ${img.alt || "figure"}`);
      img.title = "Open full size";
      img.addEventListener("click", () => open(img));
      // Enter opens on its press, Space on its release, as a button does (opened on the press,
      // the release would land on the dialog's close button, which then has the focus).
      img.addEventListener("keydown", (event) => {
        if (event.key === "Enter" || event.key === " ") event.preventDefault();
        if (event.key === "Enter") open(img);
      });
      img.addEventListener("keyup", (event) => {
        if (event.key === " ") open(img);
      });
    }
  });
})();
