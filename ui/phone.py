"""Fixes for phones and tablets, as one fixed script (no user input goes into it):

- The drawing canvas's toolbar is invisible over the canvas's top-right corner until a mouse hovers
  there, so a finger's stroke that starts in that corner lands on the toolbar and is lost. On a
  screen without hover it is shown above the canvas instead, in room made for it, and a finger on
  the canvas draws rather than scrolls the page (``touch-action: none``). The canvas lives in a
  shadow root, which the page's CSS cannot reach: the style is added to that root.
- Streamlit closes the sidebar after a page is picked only when the browser's user agent says
  "mobile" (tablets, and phones that ask for desktop sites, do not): here it closes whenever it
  covers most of the page.
- Less empty space above a page's title on a narrow screen, and rows of pills that wrap there.
"""

from __future__ import annotations

import json

import streamlit as st

CANVAS_CSS = ("@media (hover: none) { .dc-toolbar { opacity: 1 !important; top: -2.65rem !important; }"
              " .dc-root { margin-top: 2.65rem; } }"
              " .dc-container, .dc-container canvas { touch-action: none; }")

# On a phone, less empty space above each page's title, so the canvas, the prediction and the label
# buttons fit on one 390x844 screen.
# Pills (Draw's ten digits) wrap onto a second row rather than scroll sideways, hiding the 9.
PAGE_CSS = ("@media (max-width: 640px) { [data-testid='stMainBlockContainer'] { padding-top: 3rem; }"
            " [data-testid='stButtonGroup'] [role='radiogroup'] { flex-wrap: wrap; } }")

SCRIPT = """<script>
(() => {
  if (window.nnLabPhone) return;
  window.nnLabPhone = true;
  const css = CANVAS_CSS;
  const patch = () => document.querySelectorAll("[data-testid='stBidiComponentIsolated']").forEach(host => {
    const root = host.shadowRoot;
    if (root && root.querySelector(".dc-root") && !root.querySelector("style[data-nn-lab]")) {
      const style = document.createElement("style");
      style.dataset.nnLab = "";
      style.textContent = css;
      root.appendChild(style);
    }
  });
  const page = document.createElement("style");
  page.textContent = PAGE_CSS;
  document.head.appendChild(page);
  // A new canvas (after Clear) renders inside its shadow root, which no observer here sees; 100 ms keeps
  // the gap before its toolbar moves shorter than a finger's reach for the screen.
  setInterval(patch, 100);
  document.addEventListener("click", event => {
    if (!event.target.closest || !event.target.closest("[data-testid='stSidebarNav'] a")) return;
    const sidebar = document.querySelector("[data-testid='stSidebar']");
    if (!sidebar || sidebar.getBoundingClientRect().width < 0.6 * window.innerWidth) return;
    setTimeout(() => {
      const close = document.querySelector("[data-testid='stSidebarCollapseButton'] button");
      if (close && sidebar.getBoundingClientRect().right > 0) close.click();
    }, 50);
  }, true);
})();
</script>""".replace("CANVAS_CSS", json.dumps(CANVAS_CSS)).replace("PAGE_CSS", json.dumps(PAGE_CSS))


def phone_fixes() -> None:
    """Add the script to the sidebar (once per page load it takes effect; later runs change nothing)."""
    with st.sidebar:
        st.html(SCRIPT, unsafe_allow_javascript=True)
