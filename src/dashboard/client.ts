/**
 * The dashboard's browser script (plain ES2020, inlined into the page).
 *
 * Consistency: the page counts from a `/switchyard/stats` snapshot plus the
 * decision events whose sequence number (the SSE event id) is above the
 * snapshot's `seq`; it re-takes a snapshot every few seconds (for the
 * percentiles and breaker states) and replays the newer events it kept, so
 * its totals equal the server's at every moment.
 *
 * History: the first snapshot carries the last decisions and the series
 * since start (`recent`, `series`), so a page opened late shows what
 * happened before it; the page then adds a point of its own every second.
 * Time series are drawn against time (server clock), rates and percentages
 * on separate axes.
 */
export const DASHBOARD_SCRIPT = String.raw`
(function () {
  'use strict';
  var base = location.pathname.replace(/\/dashboard\/?$/, '');
  var COLORS = ['#5ab0f6', '#5bd18b', '#f2c14e', '#b48ef5', '#ef6b6b', '#4fd1c5', '#f6a05a', '#9aa5b8'];
  var state = null, lastSeq = 0, kept = [], history = [], names = { models: [], upstreams: [], tiers: [] };
  var seeded = false, clockOffset = 0, tierByLower = {};
  var $ = function (id) { return document.getElementById(id); };
  var NS = 'http://www.w3.org/2000/svg';

  function el(tag, attrs, text) {
    var e = document.createElementNS(NS, tag);
    for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function usd(v) { return v === 0 ? '$0' : '$' + v.toFixed(v >= 100 ? 2 : v >= 0.01 ? 4 : 6); }
  function ms(v) { return v >= 1000 ? (v / 1000).toFixed(2) + ' s' : Math.round(v) + ' ms'; }
  function num(v) { return v >= 1e6 ? (v / 1e6).toFixed(2) + 'M' : v >= 1e4 ? (v / 1e3).toFixed(1) + 'k' : String(v); }
  function bump(m, k, by) { m[k] = (m[k] || 0) + (by === undefined ? 1 : by); }
  function label(list, v) { return v === undefined || v === null ? 'none' : list.indexOf(v) >= 0 ? v : 'other'; }
  // As the server's LabelSets.recordTier: the routed tier (any case), else the tier a switchyard/<tier> model pinned.
  function tierOf(r) {
    if (r.tier !== undefined && r.tier !== null) return names.tiers.indexOf(r.tier) >= 0 ? r.tier : tierByLower[String(r.tier).toLowerCase()] || 'other';
    var m = /^switchyard\/(.+)$/.exec(r.requested || '');
    return (m && tierByLower[m[1].toLowerCase()]) || 'none';
  }

  function apply(r) {
    var q = state.requests;
    q.total++;
    if (r.status >= 400 || r.error !== undefined) q.errors++;
    bump(q.byTier, tierOf(r));
    bump(q.byUpstream, label(names.upstreams, r.upstream));
    bump(q.byModel, label(names.models, r.model));
    bump(q.byCache, r.cache);
    if (r.cache !== 'off') state.cache.lookups++;
    if (r.cache === 'hit-exact' || r.cache === 'hit-semantic') state.cache.hits++;
    state.cache.hitRate = state.cache.lookups ? state.cache.hits / state.cache.lookups : 0;
    state.tokens.input += r.inputTokens || 0;
    state.tokens.output += r.outputTokens || 0;
    if (r.costUsd) state.costUsd += r.costUsd;
    if (r.savingsUsd) state.savingsUsd += r.savingsUsd;
  }

  function onEvent(ev) {
    var seq = Number(ev.lastEventId);
    var r = JSON.parse(ev.data);
    kept.push({ seq: seq, r: r });
    if (kept.length > 2000) kept.shift();
    if (seeded) addRecent(r);
    if (!state || seq <= lastSeq) return;
    lastSeq = seq;
    apply(r);
    render();
  }

  function point(p) {
    return { t: p.t, total: p.total, hitRate: p.lookups ? p.hits / p.lookups * 100 : 0, cost: p.costUsd, savings: p.savingsUsd, p50: p.p50, p90: p.p90, p99: p.p99 };
  }

  /** The first snapshot: the series since start and the last decisions (then the events that came after it). */
  function seed(s) {
    seeded = true;
    history = (s.series || []).map(point);
    clear($('recent'));
    var recent = s.recent || [];
    recent.forEach(function (r) { addRecent(r); });
    kept.forEach(function (k) { if (k.seq > s.seq) addRecent(k.r); });
    drawSeries();
  }

  function onSnapshot(s) {
    names = s.labels;
    tierByLower = {};
    names.tiers.forEach(function (t) { tierByLower[t.toLowerCase()] = t; });
    clockOffset = Date.parse(s.now) - Date.now();
    if (state && s.seq < lastSeq) {
      // Events newer than the snapshot arrived first: replay them on top of it.
      state = s;
      kept.forEach(function (k) { if (k.seq > s.seq) apply(k.r); });
    } else {
      state = s;
      lastSeq = s.seq;
    }
    if (!seeded) seed(s);
    $('since').textContent = 'since ' + new Date(s.startedAt).toLocaleString();
    $('reference').textContent = s.referenceModel ? 'savings vs ' + s.referenceModel : '';
    $('kpi-savings-ref').textContent = s.referenceModel ? 'vs ' + s.referenceModel : 'no reference model';
    render();
  }

  function poll() {
    fetch(base + '/stats', { cache: 'no-store' }).then(function (r) { return r.json(); }).then(onSnapshot).catch(function () {});
  }

  function sample() {
    if (!state) return;
    history.push({ t: Date.now() + clockOffset, total: state.requests.total, hitRate: state.cache.hitRate * 100, cost: state.costUsd, savings: state.savingsUsd,
      p50: state.latencyMs.p50, p90: state.latencyMs.p90, p99: state.latencyMs.p99 });
    if (history.length > 900) history.splice(1, 1); // keep the start, drop the oldest after it
    drawSeries();
  }

  function render() {
    var s = state;
    $('kpi-requests').textContent = String(s.requests.total);
    $('kpi-errors').textContent = String(s.requests.errors);
    $('kpi-inflight').textContent = String(s.inFlight);
    $('kpi-hit-rate').textContent = (s.cache.hitRate * 100).toFixed(1) + '%';
    $('kpi-hits').textContent = String(s.cache.hits);
    $('kpi-lookups').textContent = String(s.cache.lookups);
    $('kpi-cost').textContent = usd(s.costUsd);
    $('kpi-savings').textContent = usd(s.savingsUsd);
    $('kpi-tokens').textContent = num(s.tokens.input + s.tokens.output);
    $('kpi-p50').textContent = s.latencyMs.count ? ms(s.latencyMs.p50) : '–';
    $('kpi-p90').textContent = s.latencyMs.count ? ms(s.latencyMs.p90) : '–';
    $('kpi-p99').textContent = s.latencyMs.count ? ms(s.latencyMs.p99) : '–';
    $('kpi-ttft').textContent = s.ttftMs.count ? ms(s.ttftMs.p50) : '–';
    bars($('chart-models'), s.requests.byModel);
    bars($('chart-tiers'), s.requests.byTier);
    donut($('chart-cache'), s.requests.byCache);
    breakers(s);
    deployments(s);
  }

  function bars(svg, counts) {
    clear(svg);
    var entries = Object.keys(counts).map(function (k) { return [k, counts[k]]; }).sort(function (a, b) { return b[1] - a[1]; }).slice(0, 7);
    var W = svg.clientWidth || 300, rowH = 22, max = 1, lw = 110;
    entries.forEach(function (e) { if (e[1] > max) max = e[1]; });
    if (!entries.length) svg.appendChild(el('text', { x: 4, y: 20 }, 'no requests yet'));
    entries.forEach(function (e, i) {
      var y = 6 + i * rowH, w = Math.max(2, (W - lw - 50) * e[1] / max);
      svg.appendChild(el('text', { x: 0, y: y + 13 }, e[0].length > 16 ? e[0].slice(0, 15) + '…' : e[0]));
      svg.appendChild(el('rect', { x: lw, y: y + 2, width: w, height: rowH - 8, rx: 3, fill: COLORS[i % COLORS.length], 'data-key': e[0], 'data-value': e[1] }));
      svg.appendChild(el('text', { x: lw + w + 6, y: y + 13 }, String(e[1])));
    });
  }

  function donut(svg, counts) {
    clear(svg);
    var keys = Object.keys(counts).sort(), total = 0;
    keys.forEach(function (k) { total += counts[k]; });
    var cx = 80, cy = 82, R = 62, r = 38, a0 = -Math.PI / 2;
    if (!total) { svg.appendChild(el('text', { x: 4, y: 20 }, 'no lookups yet')); return; }
    keys.forEach(function (k, i) {
      var frac = counts[k] / total, a1 = a0 + frac * 2 * Math.PI, big = frac > 0.5 ? 1 : 0, color = COLORS[i % COLORS.length];
      if (frac >= 0.9999) {
        svg.appendChild(el('circle', { cx: cx, cy: cy, r: (R + r) / 2, fill: 'none', stroke: color, 'stroke-width': R - r }));
      } else {
        var p = function (a, rad) { return (cx + rad * Math.cos(a)).toFixed(2) + ' ' + (cy + rad * Math.sin(a)).toFixed(2); };
        svg.appendChild(el('path', { d: 'M' + p(a0, R) + ' A' + R + ' ' + R + ' 0 ' + big + ' 1 ' + p(a1, R) + ' L' + p(a1, r) + ' A' + r + ' ' + r + ' 0 ' + big + ' 0 ' + p(a0, r) + ' Z', fill: color }));
      }
      svg.appendChild(el('rect', { x: 170, y: 14 + i * 20, width: 10, height: 10, rx: 2, fill: color }));
      svg.appendChild(el('text', { x: 186, y: 23 + i * 20 }, k + '  ' + counts[k] + ' (' + Math.round(frac * 100) + '%)'));
      a0 = a1;
    });
  }

  /**
   * Time series against time. Each series has values aligned with history;
   * series with axis 'right' use a 0..100 % scale drawn on the right.
   */
  function line(svg, legend, series, fmt, axisFmt) {
    axisFmt = axisFmt || fmt;
    clear(svg);
    var hasRight = series.some(function (s) { return s.axis === 'right'; });
    var W = svg.clientWidth || 500, H = Number(svg.getAttribute('height')), L = 64, R = hasRight ? W - 44 : W, B = 18, T = 8;
    var max = 0;
    series.forEach(function (s) { if (s.axis !== 'right') s.values.forEach(function (v) { if (v > max) max = v; }); });
    if (max <= 0) max = 1;
    for (var g = 0; g <= 4; g++) {
      var gy = T + (H - T - B) * (1 - g / 4);
      svg.appendChild(el('line', { x1: L, x2: R, y1: gy, y2: gy, stroke: '#263040' }));
      svg.appendChild(el('text', { x: L - 6, y: gy + 4, 'text-anchor': 'end', 'class': 'axis-left' }, axisFmt(max * g / 4)));
      if (hasRight) svg.appendChild(el('text', { x: R + 6, y: gy + 4, 'class': 'axis-right' }, String(g * 25) + '%'));
    }
    var n = history.length, t0 = n ? history[0].t : 0, t1 = n ? history[n - 1].t : 1, span = Math.max(1, t1 - t0);
    if (n > 1) {
      svg.appendChild(el('text', { x: L, y: H - 3 }, new Date(t0).toLocaleTimeString()));
      svg.appendChild(el('text', { x: R, y: H - 3, 'text-anchor': 'end' }, new Date(t1).toLocaleTimeString()));
    }
    series.forEach(function (s) {
      if (s.values.length < 2) return;
      var top = s.axis === 'right' ? 100 : max;
      var pts = s.values.map(function (v, i) {
        return (L + (R - L) * (history[i].t - t0) / span).toFixed(1) + ',' + (T + (H - T - B) * (1 - Math.min(v, top) / top)).toFixed(1);
      }).join(' ');
      svg.appendChild(el('polyline', { points: pts, fill: 'none', stroke: s.color, 'stroke-width': 2, 'stroke-linejoin': 'round',
        'data-series': s.name, 'data-axis': s.axis || 'left', 'data-points': String(s.values.length) }));
    });
    clear(legend);
    series.forEach(function (s) {
      var span = document.createElement('span');
      var dot = document.createElement('i');
      dot.style.background = s.color;
      span.appendChild(dot);
      var f = s.axis === 'right' ? function (v) { return v.toFixed(1) + '%'; } : fmt;
      span.appendChild(document.createTextNode(s.name + (s.axis === 'right' ? ' (right axis)' : '') + (s.values.length ? ': ' + f(s.values[s.values.length - 1]) : '')));
      legend.appendChild(span);
    });
  }

  function drawSeries() {
    // Requests per second between points (points are not evenly spaced: the server's start at most 1/s while busy).
    var perSecond = history.map(function (h, i) {
      if (i === 0) return 0;
      var dt = (h.t - history[i - 1].t) / 1000;
      return dt > 0 ? Math.max(0, h.total - history[i - 1].total) / dt : 0;
    });
    line($('chart-traffic'), $('legend-traffic'), [
      { name: 'requests per second', color: COLORS[0], values: perSecond },
      { name: 'cache hit rate', color: COLORS[1], axis: 'right', values: history.map(function (h) { return h.hitRate; }) },
    ], function (v) { return v >= 10 ? v.toFixed(0) : v.toFixed(1); });
    line($('chart-cost'), $('legend-cost'), [
      { name: 'cost', color: COLORS[4], values: history.map(function (h) { return h.cost; }) },
      { name: 'savings', color: COLORS[1], values: history.map(function (h) { return h.savings; }) },
    ], usd, function (v) { return v === 0 ? '$0' : '$' + (v >= 1 ? v.toFixed(2) : v.toPrecision(2)); });
    line($('chart-latency'), $('legend-latency'), [
      { name: 'p50', color: COLORS[0], values: history.map(function (h) { return h.p50; }) },
      { name: 'p90', color: COLORS[2], values: history.map(function (h) { return h.p90; }) },
      { name: 'p99', color: COLORS[4], values: history.map(function (h) { return h.p99; }) },
    ], function (v) { return v.toFixed(0); });
  }

  function deployments(s) {
    var tb = $('deployments');
    clear(tb);
    (s.deployments || []).forEach(function (d) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-deployment', d.model + '@' + d.upstream);
      [d.model, d.upstream, null, d.reason || ''].forEach(function (v) {
        var td = document.createElement('td');
        if (v === null) {
          var pill = document.createElement('span');
          pill.className = 'pill ' + (d.usable ? d.state : 'open');
          pill.textContent = d.usable ? d.state : d.state === 'closed' ? 'unusable' : d.state;
          td.appendChild(pill);
        } else td.textContent = v;
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
  }

  function breakers(s) {
    var tb = $('breakers');
    clear(tb);
    s.breakers.forEach(function (b) {
      var tr = document.createElement('tr');
      tr.setAttribute('data-upstream', b.upstream);
      [b.upstream, null, String(b.inFlight), String(s.requests.byUpstream[b.upstream] || 0)].forEach(function (v) {
        var td = document.createElement('td');
        if (v === null) {
          var pill = document.createElement('span');
          pill.className = 'pill ' + b.state;
          pill.textContent = b.available ? b.state : 'unavailable';
          td.appendChild(pill);
        } else td.textContent = v;
        tr.appendChild(td);
      });
      tb.appendChild(tr);
    });
  }

  function addRecent(r) {
    var tb = $('recent');
    var tr = document.createElement('tr');
    tr.setAttribute('data-id', r.id);
    var route = r.protocol === 'anthropic' ? '/v1/messages' : r.operation === 'embedding' ? '/v1/embeddings' : r.operation === 'completion' ? '/v1/completions' : '/v1/chat/completions';
    var tokens = (r.inputTokens || 0) + (r.outputTokens || 0);
    [new Date(r.time).toLocaleTimeString(), route, r.cache, r.tier || '–', r.upstream || '–', r.model || '–', String(r.status),
      String(Math.round(r.durationMs)), tokens ? String(tokens) : '–', r.costUsd !== undefined ? usd(r.costUsd) : '–', r.reason || r.error || ''].forEach(function (v, i) {
      var td = document.createElement('td');
      td.textContent = v;
      if (i === 6) td.className = 'st' + String(r.status).charAt(0);
      if (i === 10) td.title = v;
      tr.appendChild(td);
    });
    tb.insertBefore(tr, tb.firstChild);
    while (tb.children.length > 15) tb.removeChild(tb.lastChild);
  }

  var es = new EventSource(base + '/events');
  es.addEventListener('decision', onEvent);
  es.onopen = function () { $('conn').textContent = 'live'; $('conn').className = 'on'; poll(); };
  es.onerror = function () { $('conn').textContent = 'reconnecting'; $('conn').className = ''; };
  poll();
  setInterval(poll, 3000);
  setInterval(sample, 1000);
  window.addEventListener('resize', function () { if (state) { render(); drawSeries(); } });
})();
`;
