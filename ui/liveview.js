// One live view: a run's charts (and its live units) in one element (the front end of ui/liveview.py).
//
// Python sends either a complete view ({complete: true, blocks, charts: {name: {figure}}, ...}: on a new
// run, or when this element asks for it) or what changed since the message numbered `base`, the last
// one this element acknowledged: per chart, new points to append ({extend: {i, from, x, y}}:
// Plotly.extendTraces, skipping the points the trace already has), changed layout keys ({relayout}:
// Plotly.relayout, skipped when already applied) or, rarely, a whole figure ({figure}: Plotly.react);
// new unit images; changed notes. Each message carries its number `seq`; every ACK_EVERY messages the
// element acknowledges the one it has drawn (its state "ack": Python then sends only what is newer).
// An element without the base (a remount after a page switch or a reconnect) asks for the whole view
// once: it sets its state "need". Each state change reruns the fragment the element is in.
//
// A live view (a running run's, or a result whose page has a rerun to come) keeps a watchdog: its fragment
// reruns itself every poll (run_every), and should those polls stop reaching the server (a timer or a
// rerun request lost between the front end and the server: seen once in CI, a finished run whose result
// never came), the element asks for a rerun itself, setting its state "nudge", after data.watchdog
// seconds without a message. It sets no state while it may be leaving its page (see tell).
//
// plotly.js is the file inside the Python plotly package, served by the app's own server (data.library,
// relative to the app's root), loaded once per page. The first chart's width in px goes back as the
// state "width" (the finished run's line is downsampled to it).

const STATE = "__nnLiveView";
const LIBRARY = "__nnLabPlotly";
// Streamlit's default categorical chart colours (its Plotly theme's colorway), for a theme without its own.
const COLORWAY = ["#0068c9", "#83c9ff", "#ff2b2b", "#ffabab", "#29b09d", "#7defa1", "#ff8700", "#ffd16a",
                  "#6d3fc0", "#d5dae5"];
const AXIS = /^[xy]axis\d*$/;
const ACK_EVERY = 8;  // messages drawn between acknowledgements (each one reruns the fragment)
const STALE_RETRY_MS = 200;  // how soon a state held back while the element was on its way out is tried again

function appRoot() {
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
        window[LIBRARY + "Loading"] = null;
        reject(new Error(`could not load plotly.js from ${script.src}`));
      };
      document.head.appendChild(script);
    });
  }
  return window[LIBRARY + "Loading"];
}

// A live run's charts keep fixed margins: Plotly's automargin measures every tick label and redraws the
// chart again when a margin moves, at every drawing (measured: newPlot 1.8x and extendTraces 1.4x the time
// with it). The view at rest (before a run, a result) keeps Plotly's automatic margins, as it always had.
const LIVE_MARGIN = {l: 64, r: 16, t: 40, b: 48};
const LIVE_MARGIN_RIGHT_AXIS = 64;  // a second y axis on the right (a schedule's learning rate)

function theme(element, live) {
  const css = getComputedStyle(element);
  const read = (name, fallback) => (css.getPropertyValue(name) || "").trim() || fallback;
  const grid = read("--st-border-color-light", "rgba(128,128,128,0.2)");
  const colours = read("--st-chart-categorical-colors", "");
  return {
    text: read("--st-text-color", "#31333f"), font: read("--st-font", "sans-serif"),
    axis: {gridcolor: grid, zerolinecolor: grid, linecolor: grid, automargin: !live},
    live: Boolean(live),
    colorway: colours ? colours.split(",").map(c => c.trim()) : COLORWAY,
  };
}

function themedLayout(layout, look) {
  const themed = {
    paper_bgcolor: "rgba(0,0,0,0)", plot_bgcolor: "rgba(0,0,0,0)", font: {color: look.text, family: look.font},
    colorway: look.colorway, hovermode: "closest", ...layout,
  };
  for (const name of Object.keys(themed)) {
    if (AXIS.test(name)) themed[name] = {...look.axis, ...themed[name]};
  }
  if (!themed.xaxis) themed.xaxis = look.axis;
  if (!themed.yaxis) themed.yaxis = look.axis;
  if (look.live) {
    const margin = themed.margin || {};
    themed.margin = {l: Math.max(margin.l || 0, LIVE_MARGIN.l),
                     r: Math.max(margin.r || 0, themed.yaxis2 ? LIVE_MARGIN_RIGHT_AXIS : LIVE_MARGIN.r),
                     t: margin.t === undefined ? LIVE_MARGIN.t : margin.t, b: Math.max(margin.b || 0, LIVE_MARGIN.b)};
  }
  return themed;
}

function themedUpdate(update, look) {
  const themed = {};
  for (const [name, value] of Object.entries(update)) {
    themed[name] = AXIS.test(name) && value && typeof value === "object" ? {...look.axis, ...value} : value;
  }
  return themed;
}

function decode(text) {
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return bytes;
}

function build(view, blocks) {
  // The view's elements, in order: rows of charts (each with its caption), headings, notes, the units.
  view.root.replaceChildren();
  view.charts = {};
  view.notes = {};
  view.units = null;
  for (const block of blocks) {
    if (block.kind === "row") {
      const row = document.createElement("div");
      row.className = "nn-live-row";
      row.style.cssText = "display:flex;gap:1rem;width:100%;flex-wrap:wrap";
      for (const chart of block.charts) {
        const cell = document.createElement("div");
        cell.style.cssText = `flex:${chart.grow || 1} 1 0;min-width:240px`;
        const div = document.createElement("div");
        div.className = "nn-live-chart";
        div.dataset.chart = chart.name;
        cell.appendChild(div);
        if (chart.caption) {
          const caption = document.createElement("div");
          caption.className = "nn-live-caption";
          caption.style.cssText = "font-size:0.875rem;opacity:0.7;margin:0.25rem 0 0.75rem";
          caption.textContent = chart.caption;  // text, never HTML
          cell.appendChild(caption);
        }
        row.appendChild(cell);
        view.charts[chart.name] = {div, drawn: false, run: null, applied: {}};
      }
      view.root.appendChild(row);
    } else if (block.kind === "heading" || block.kind === "note") {
      const line = document.createElement("div");
      line.className = block.kind === "heading" ? "nn-live-heading" : "nn-live-note";
      line.style.cssText = block.kind === "heading" ? "font-size:1.5rem;font-weight:600;margin:1rem 0 0.5rem"
                                                    : "font-size:0.875rem;opacity:0.7;margin:0.25rem 0";
      line.textContent = block.text || "";
      if (block.id) view.notes[block.id] = line;
      view.root.appendChild(line);
    } else if (block.kind === "units") {
      const box = document.createElement("div");
      box.className = "nn-live-units";
      const canvas = document.createElement("canvas");
      canvas.style.cssText = "image-rendering:pixelated;max-width:100%";
      const caption = document.createElement("div");
      caption.className = "nn-live-caption";
      caption.style.cssText = "font-size:0.875rem;opacity:0.7;margin:0.25rem 0 0.75rem";
      box.append(canvas, caption);
      box.style.display = "none";  // until units come
      view.root.appendChild(box);
      view.units = {box, canvas, caption, palette: block.palette ? decode(block.palette) : null,
                    zoom: block.zoom || 2, gap: block.gap || 2};
    }
  }
}

function drawUnits(view, units) {
  // units: {codes (base64 of n x 28 x 28 uint8: palette indices), n, columns, caption}
  const place = view.units;
  if (!place || !place.palette) return;
  const codes = decode(units.codes);
  const n = units.n, columns = Math.min(units.columns, n), rows = Math.ceil(n / columns), gap = place.gap;
  const width = columns * (28 + gap) - gap, height = rows * (28 + gap) - gap;
  const canvas = place.canvas;
  if (canvas.width !== width || canvas.height !== height) {
    canvas.width = width;
    canvas.height = height;
    canvas.style.width = `${width * place.zoom}px`;
  }
  const context = canvas.getContext("2d");
  const image = context.createImageData(width, height);
  const pixels = image.data, palette = place.palette;
  for (let i = 0; i < width * height; i++) {  // the background: palette entry 0
    pixels[4 * i] = palette[0]; pixels[4 * i + 1] = palette[1]; pixels[4 * i + 2] = palette[2]; pixels[4 * i + 3] = 255;
  }
  for (let unit = 0; unit < n; unit++) {
    const left = (unit % columns) * (28 + gap), top = Math.floor(unit / columns) * (28 + gap);
    for (let r = 0; r < 28; r++) {
      for (let c = 0; c < 28; c++) {
        const code = codes[unit * 784 + r * 28 + c], at = 4 * ((top + r) * width + left + c);
        pixels[at] = palette[3 * code]; pixels[at + 1] = palette[3 * code + 1]; pixels[at + 2] = palette[3 * code + 2];
      }
    }
  }
  context.putImageData(image, 0, 0);
  place.caption.textContent = units.caption || "";
  place.box.style.display = "";
}

async function applyChart(Plotly, view, name, change, run, look, config) {
  const chart = view.charts[name];
  if (!chart) return;
  if (change.figure && !change.complete) {
    const text = JSON.stringify(change.figure);
    if (chart.applied.figure === text) return;  // in an earlier message since the base: drawn already
    chart.applied = {figure: text};
  } else if (change.figure) {
    chart.applied = {};
  }
  if (change.figure) {
    const layout = themedLayout(change.figure.layout || {}, look);
    const options = {responsive: true, ...config, ...(change.figure.config || {})};
    if (chart.drawn && chart.run === run) {
      await Plotly.react(chart.div, change.figure.data, layout, options);
    } else {
      if (chart.drawn) Plotly.purge(chart.div);
      await Plotly.newPlot(chart.div, change.figure.data, layout, options);
      chart.drawn = true;
      chart.run = run;
    }
    return;
  }
  if (!chart.drawn) return;
  const update = {};  // the layout's changed keys not yet applied
  for (const [key, value] of Object.entries(change.relayout || {})) {
    const text = JSON.stringify(value);
    if (chart.applied[key] !== text) {
      update[key] = value;
      chart.applied[key] = text;
    }
  }
  const indices = [], xs = [], ys = [];
  if (change.extend && change.extend.i.length) {
    // Only the points past what each trace has (an earlier message since the base may have brought some).
    change.extend.i.forEach((trace, k) => {
      const has = ((chart.div.data[trace] || {}).x || []).length, start = change.extend.from[k];
      if (has < start) throw new Error("a gap in the points");
      if (has - start < change.extend.x[k].length) {
        indices.push(trace);
        xs.push(change.extend.x[k].slice(has - start));
        ys.push(change.extend.y[k].slice(has - start));
      }
    });
  }
  if (indices.length) {
    // New points and a new layout in one drawing: the layout's keys set in place, then extendTraces draws
    // the chart once with both (Plotly.relayout after it was a second drawing, of every axis and margin).
    for (const [key, value] of Object.entries(themedUpdate(update, look))) {
      if (value === null) delete chart.div.layout[key];
      else chart.div.layout[key] = value;
    }
    await Plotly.extendTraces(chart.div, {x: xs, y: ys}, indices);
  } else if (Object.keys(update).length) {
    await Plotly.relayout(chart.div, themedUpdate(update, look));
  }
}

async function apply(view, message) {
  const Plotly = await loadPlotly(view.library);
  const look = theme(view.parent, message.live);
  if (message.complete) build(view, message.blocks || []);
  for (const [name, change] of Object.entries(message.charts || {})) {
    await applyChart(Plotly, view, name, message.complete ? {...change, complete: true} : change, message.run, look,
                     message.config || {});
  }
  for (const [id, text] of Object.entries(message.notes || {})) {
    if (view.notes[id]) view.notes[id].textContent = text;
  }
  if (message.units && message.units.version !== view.unitsVersion) {
    view.unitsVersion = message.units.version;
    drawUnits(view, message.units);
  }
  else if (message.complete && view.units) view.units.box.style.display = "none";
}

async function drain(view) {
  if (view.busy) return;
  view.busy = true;
  try {
    while (view.queue.length) {
      await apply(view, view.queue.shift());
    }
  } catch (error) {
    // Not drawable from what it has (a gap): ask for the whole view.
    view.queue = [];
    view.seq = null;
    tell(view, "need", fresh());
  } finally {
    view.busy = false;
  }
}

// A click on a link to a page (the sidebar's, a page link) or a step back or forward in the history: the
// page is about to be replaced (see tell). Watched once per page, from the capture phase.
const NAVIGATED = "__nnLabNavigated";
if (!window[NAVIGATED + "Watched"]) {
  window[NAVIGATED + "Watched"] = true;
  const navigated = () => { window[NAVIGATED] = performance.now(); };
  document.addEventListener("click", event => {
    const link = event.target instanceof Element ? event.target.closest("a[href]") : null;
    if (link && link.target !== "_blank" && new URL(link.href, location.href).origin === location.origin) navigated();
  }, true);
  window.addEventListener("popstate", navigated);
}

function fresh() {
  // A state's value never set before: a request ("need", "nudge") that reruns the fragment each time.
  return `${Date.now()}-${Math.random()}`;
}

function leaving(view) {
  // Perhaps on its way out: stale (Streamlit keeps the old page's elements, marked stale, until the new
  // page's run has drawn it), or a page's link was clicked since its last message (the server has not
  // answered yet; a view of the page that comes, or of the same page again, has a message after the click).
  return Boolean(view.parent.closest('[data-stale="true"]')) || (window[NAVIGATED] ?? -Infinity) > view.seenAt;
}

function tell(view, name, value) {
  // Set one of the element's states (each reruns the fragment it is in), unless the element is on its way
  // out. A state set while another page is coming (the view at rest reporting its width once plotly.js had
  // loaded) is sent with that page's address, or reaches the server after that page's run: either way
  // Streamlit runs this page's fragment for it, its elements land on the new page's, the front end fails
  // ("'setIn' cannot be called on an ElementNode") and the whole app goes blank (seen in CI: Draw empty
  // after a switch from Train). So a state is dropped once the element is gone or its page's address has
  // changed since its last message (the new page has begun), and waits (the newest of each) while it may
  // be leaving.
  if (view.gone || !view.root.isConnected || location.pathname !== view.path) return;
  if (leaving(view)) {
    view.waiting = {...(view.waiting || {}), [name]: value};
    if (!view.retry) {
      view.retry = setTimeout(() => {
        const waiting = view.waiting || {};
        view.retry = undefined;
        view.waiting = undefined;
        for (const [key, kept] of Object.entries(waiting)) tell(view, key, kept);
      }, STALE_RETRY_MS);
    }
    return;
  }
  view.setStateValue(name, value);
}

function watch(view, seconds) {
  // (Re)arm the watchdog at each message of a live view; a view at rest has none.
  clearTimeout(view.watchdog);
  view.watchdog = undefined;
  if (view.waiting) delete view.waiting.nudge;  // a message came: a nudge held back is not needed
  if (!(seconds > 0)) return;
  const nudge = () => {
    tell(view, "nudge", fresh());
    view.watchdog = setTimeout(nudge, seconds * 1000);  // again, should that one be lost too
  };
  view.watchdog = setTimeout(nudge, seconds * 1000);
}

function reportWidth(view, known) {
  const first = Object.values(view.charts || {})[0];
  const width = first ? Math.round(first.div.clientWidth) : 0;
  const told = view.reported || known || 0;
  if (width > 0 && Math.abs(width - told) > 0.1 * width) {
    view.reported = width;
    tell(view, "width", width);
  }
}

export default function liveView({data, parentElement, setStateValue}) {
  let view = parentElement[STATE];
  if (!view) {
    const root = document.createElement("div");
    root.className = "nn-live-view";
    parentElement.appendChild(root);
    view = parentElement[STATE] = {root, parent: parentElement, charts: {}, notes: {}, units: null, queue: [],
                                   busy: false, seq: null, run: undefined, library: data.library};
    view.cleanup = () => {
      view.gone = true;  // what it still finishes drawing reports nothing (see tell)
      clearTimeout(view.watchdog);
      clearTimeout(view.retry);
      for (const chart of Object.values(view.charts)) {
        if (window[LIBRARY] && chart.drawn) window[LIBRARY].purge(chart.div);
      }
      root.remove();
      delete parentElement[STATE];
    };
  }
  view.setStateValue = setStateValue;
  view.path = location.pathname;  // the page it is on (see tell)
  watch(view, data.watchdog);
  if (data.seq === view.seq && data.run === view.run) return view.cleanup;  // drawn already
  view.seenAt = performance.now();  // when it last heard something new from its page (see leaving)
  if (data.complete) {
    view.queue = [data];  // the whole view: what was still waiting is in it
    view.acked = data.seq;  // its own base
  } else if (data.run === view.run && view.seq !== null && data.base <= view.seq && data.seq > view.seq) {
    view.queue.push(data);
    // Acknowledged at once when a chart came whole (the messages after it are then sent what is new since
    // it, not the whole figure again), else every ACK_EVERY messages.
    const whole = Object.values(data.charts || {}).some(change => change.figure);
    if (whole || data.seq - view.acked >= ACK_EVERY) {
      view.acked = data.seq;
      view.ackPending = data.seq;  // acknowledged once it is drawn
    }
  } else if (data.run === view.run && view.seq !== null && data.seq < view.seq) {
    return view.cleanup;  // an older message than the one drawn: nothing new in it
  } else {
    // Not the message after the one drawn: ask for the whole view once (a new value each time).
    if (view.asked !== data.seq) {
      view.asked = data.seq;
      tell(view, "need", fresh());
    }
    return view.cleanup;
  }
  view.seq = data.seq;
  view.run = data.run;
  drain(view).then(() => {
    if (view.ackPending !== undefined && view.seq !== null) {
      tell(view, "ack", view.ackPending);
      view.ackPending = undefined;
    }
    reportWidth(view, data.width);
  });
  return view.cleanup;
}
