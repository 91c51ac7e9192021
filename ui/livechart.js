// A live Plotly chart, drawn once and updated in place (the front end of ui/livechart.py).
//
// Streamlit calls this module's default export when the element mounts and again each time its data
// changes, with the same parentElement. The first call makes a div and draws it with Plotly.newPlot;
// every later call hands the new figure to Plotly.react on that same div, which updates the traces in
// place instead of building a new plot. Updates that arrive while a draw is under way are coalesced:
// only the newest is drawn next.
//
// plotly.js itself is the file shipped inside the Python plotly package, served by the app's own
// server (data.library, a path relative to the app's root), loaded once per page by a script element.
// Once drawn, the chart reports its width in px as its state "width" (data.width: what the page knows).

const STATE = "__nnLiveChart";
const LIBRARY = "__nnLabPlotly";
// Streamlit's default categorical chart colours (its Plotly theme's colorway), for a theme without its own.
const COLORWAY = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a",
                  "#6d3fc0", "#d5dae5"];

function appRoot() {
  // The app's root URL: where Streamlit's own front-end bundle was loaded from (behind any proxy or
  // base path), else the page's folder.
  const own = [...document.querySelectorAll("script[src]")].map(s => s.src).find(src => /\/static\/js\//.test(src));
  return own ? own.slice(0, own.indexOf("/static/js/") + 1) : new URL("./", document.baseURI).href;
}

function loadPlotly(path) {
  if (window[LIBRARY]) return Promise.resolve(window[LIBRARY]);
  if (!window[LIBRARY + "Loading"]) {
    window[LIBRARY + "Loading"] = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = new URL(path, appRoot()).href;
      script.async = true;
      script.onload = () => {
        if (window.Plotly) {
          window[LIBRARY] = window.Plotly;
          resolve(window.Plotly);
        } else {
          reject(new Error("plotly.js loaded but defined no Plotly"));
        }
      };
      script.onerror = () => {
        window[LIBRARY + "Loading"] = null;  // a later update tries again
        reject(new Error(`could not load plotly.js from ${script.src}`));
      };
      document.head.appendChild(script);
    });
  }
  return window[LIBRARY + "Loading"];
}

function themed(figure, element) {
  // The figure in the app's theme: its text colour and font, transparent backgrounds, light grid lines.
  const css = getComputedStyle(element);
  const read = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
  const text = read("--st-text-color", "#31333f");
  const grid = read("--st-border-color-light", "rgba(128,128,128,0.2)");
  const colours = read("--st-chart-categorical-colors", "");
  const axis = {gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: true};
  const layout = {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)",
    font: {color: text, family: read("--st-font", "sans-serif")},
    colorway: colours ? colours.split(",").map(c => c.trim()) : COLORWAY,
    hovermode: "closest", ...figure.layout,
  };
  for (const name of Object.keys(layout)) {
    if (/^[xy]axis\d*$/.test(name)) layout[name] = {...axis, ...layout[name]};
  }
  if (!layout.xaxis) layout.xaxis = axis;
  if (!layout.yaxis) layout.yaxis = axis;
  return {data: figure.data, layout, config: {responsive: true, ...(figure.config || {})}};
}

async function drawPending(state) {
  if (state.busy) return;
  state.busy = true;
  try {
    const Plotly = await loadPlotly(state.library);
    while (state.pending) {
      const figure = themed(state.pending, state.parent);
      state.pending = null;
      if (!state.drawn) {
        await Plotly.newPlot(state.div, figure.data, figure.layout, figure.config);
        state.drawn = true;
      } else {
        await Plotly.react(state.div, figure.data, figure.layout, figure.config);
      }
    }
  } catch (error) {
    state.div.textContent = `The live chart could not be drawn: ${error.message}`;
  } finally {
    state.busy = false;
  }
}

function reportWidth(state, known, setStateValue) {
  // The page downsamples long lines to one point per pixel: tell it the chart's width when it does
  // not know it yet, or it has changed by more than a tenth (a resized window).
  const width = Math.round(state.div.clientWidth);
  const told = state.reported || known || 0;
  if (width > 0 && Math.abs(width - told) > 0.1 * width) {
    state.reported = width;
    setStateValue("width", width);
  }
}

export default function liveChart({data, parentElement, setStateValue}) {
  let state = parentElement[STATE];
  if (!state) {
    const div = document.createElement("div");
    div.className = "nn-live-chart";
    parentElement.appendChild(div);
    state = parentElement[STATE] = {div, parent: parentElement, drawn: false, busy: false, pending: null,
                                    library: data.library};
    state.cleanup = () => {
      if (window[LIBRARY] && state.drawn) window[LIBRARY].purge(div);
      div.remove();
      delete parentElement[STATE];
    };
  }
  state.pending = data.figure;
  drawPending(state).then(() => reportWidth(state, data.width, setStateValue));
  return state.cleanup;
}
