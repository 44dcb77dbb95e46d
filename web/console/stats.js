/* The console's stats tab: figures from GET /v1/stats for a period of
 * UTC days, drawn as hand-rolled SVG charts and labelled tables. */
'use strict';

const Stats = (() => {
  const { h, s } = FD;
  const $ = (id) => document.getElementById(id);
  const REASONS = FD.REASONS;
  const DAY_MS = 86400000;
  const DEFAULT_DAYS = 30;
  const st = { token: null, seq: 0 };

  /** A UTC day as `YYYY-MM-DD`, `back` days before today. */
  const utcDay = (back) => new Date(Date.now() - (back || 0) * DAY_MS).toISOString().slice(0, 10);
  const daysBetween = (from, to) => Math.round((Date.parse(to) - Date.parse(from)) / DAY_MS) + 1;

  async function load(token) {
    if (token) st.token = token;
    ensureControls();
    const err = $('stats-error');
    const range = chosenRange();
    if (range instanceof Error) { err.textContent = range.message; return; }
    const mine = ++st.seq;
    try {
      const { stats, note } = await fetchStats(range);
      if (mine !== st.seq) return;
      err.textContent = '';
      $('stats-note').textContent = note;
      $('stats-period').textContent = 'From ' + FD.day(range.from + 'T12:00:00Z') + ' to ' + FD.day(range.to + 'T12:00:00Z') + ', whole days in UTC.';
      renderStats(stats || {});
      renderReports(stats || {});
    } catch (e) {
      if (mine !== st.seq) return;
      err.textContent = e.status === 404 ? 'Statistics are not available on this server.' : e.message;
    }
  }

  /** The figures for the range; a server without ranges gets `days`. */
  async function fetchStats(range) {
    const path = '/v1/stats?from=' + range.from + '&to=' + range.to;
    try {
      return { stats: await FD.api(st.token, 'GET', path), note: '' };
    } catch (e) {
      if (e.status !== 400 || !/unknown field/.test(e.message)) throw e;
      const days = Math.min(3660, Math.max(1, daysBetween(range.from, utcDay(0))));
      const stats = await FD.api(st.token, 'GET', '/v1/stats?days=' + days);
      return { stats, note: 'This server only reports up to now: showing the last ' + plural(days, 'day') + '.' };
    }
  }

  // ---- the period ------------------------------------------------------------
  function ensureControls() {
    if ($('stats-range')) return;
    const head = document.querySelector('#view-stats .stats-head');
    const preset = (days) => h('button', { type: 'button', class: 'btn small', 'data-testid': 'stats-last-' + days,
      text: 'Last ' + days + ' days', onclick: () => setRange(utcDay(days - 1), utcDay(0)) });
    const date = (id, label, value) => h('span', { class: 'range-field' }, [
      h('label', { for: id, text: label }),
      h('input', { id, type: 'date', value, max: utcDay(0), 'data-testid': id, onchange: () => load() }),
    ]);
    const form = h('form', { id: 'stats-range', class: 'stats-range', role: 'group', 'aria-label': 'Period', novalidate: true,
      onsubmit: (e) => { e.preventDefault(); load(); } }, [
      date('stats-from', 'From', utcDay(DEFAULT_DAYS - 1)),
      date('stats-to', 'To', utcDay(0)),
      preset(7), preset(30), preset(90),
    ]);
    if (head) head.insertBefore(form, $('stats-refresh'));
    const error = $('stats-error');
    error.after(
      h('p', { id: 'stats-period', class: 'muted stats-period', 'data-testid': 'stats-period' }),
      h('p', { id: 'stats-note', class: 'hint', 'data-testid': 'stats-note' }),
    );
    const charts = document.querySelector('#view-stats .charts');
    const reports = h('div', { id: 'reports', class: 'reports', 'data-testid': 'reports' });
    if (charts) charts.after(reports); else $('view-stats').append(reports);
  }
  function setRange(from, to) {
    $('stats-from').value = from;
    $('stats-to').value = to;
    load();
  }
  function chosenRange() {
    const from = $('stats-from').value || utcDay(DEFAULT_DAYS - 1);
    const to = $('stats-to').value || utcDay(0);
    return from > to ? new Error('The “From” date is after the “To” date.') : { from, to };
  }

  // ---- the figures -----------------------------------------------------------
  function renderStats(x) {
    const esc = x.escalations || {};
    const sent = x.sentiment || {};
    const csat = x.csat || {};
    const kpis = $('kpis');
    kpis.textContent = '';
    const kpi = (label, value, note, id) => h('div', { class: 'kpi', 'data-testid': 'kpi-' + id }, [
      h('span', { class: 'kpi-label', text: label }), h('span', { class: 'kpi-value', text: value }), h('span', { class: 'kpi-note', text: note || '' })]);
    kpis.append(
      kpi('Conversations', String(x.conversations ?? '—'), (x.closed ?? 0) + ' closed', 'conversations'),
      kpi('Resolved by the bot', String(x.bot_resolved ?? '—'), 'closed without reaching a person', 'bot-resolved'),
      kpi('Deflection', FD.pct(x.deflection_rate), 'solved without a person', 'deflection'),
      kpi('Escalations', String(esc.total ?? 0), 'handed to agents', 'escalations'),
      kpi('Sentiment', sent.average == null ? '—' : (sent.average >= 0 ? '+' : '') + FD.num(sent.average, 2), plural(sent.messages ?? 0, 'message') + ' analysed', 'sentiment'),
      kpi('CSAT', csat.average == null ? '—' : FD.num(csat.average, 1) + ' / 5', plural(csat.ratings ?? 0, 'rating'), 'csat'),
    );
    const reasons = Object.entries(esc.by_reason || {}).map(([k, v]) => ({ label: REASONS[k] || k, value: Number(v) || 0 }))
      .sort((a, b) => b.value - a.value);
    Charts.bars($('chart-reasons'), reasons);
    const days = (Array.isArray(sent.by_day) ? sent.by_day : []).filter((d) => d && d.day);
    Charts.line($('chart-sentiment'), days);
    Charts.ring($('chart-deflection'), x.deflection_rate, 'answered by the bot alone',
      plural(x.closed ?? 0, 'closed conversation') + ', ' + (esc.total ?? 0) + ' escalated');
    Charts.ring($('chart-csat'), csat.satisfied_share, 'satisfied (4–5 stars)',
      csat.average == null ? 'No ratings yet' : '★ ' + FD.num(csat.average, 1) + ' average from ' + plural(csat.ratings, 'rating'));
  }

  // ---- reports: response times, per agent, per reason, labels ----------------
  const secs = (v) => (typeof v !== 'number' || !isFinite(v) ? '—' : v > 0 && v < 1 ? 'under 1s' : FD.duration(v));
  const count = (v) => (typeof v === 'number' && isFinite(v) ? String(v) : '—');

  function renderReports(x) {
    const box = $('reports');
    box.textContent = '';
    const r = x.reports && typeof x.reports === 'object' ? x.reports : null;
    if (!r && !x.labels) return; // a server from before the reports
    box.append(
      card('Response times', 'report-times', timesTable(r || {})),
      card('By agent', 'report-agents', agentsTable(Array.isArray(r && r.by_agent) ? r.by_agent : [])),
      card('By escalation reason', 'report-reasons', reasonsTable(Array.isArray(r && r.by_reason) ? r.by_reason : [])),
      card('Labels', 'report-labels', labelsTable(x.labels && typeof x.labels === 'object' ? x.labels : {})),
    );
  }
  function card(title, id, body) {
    return h('section', { class: 'card report', 'aria-labelledby': id + '-title', 'data-testid': id }, [h('h3', { id: id + '-title', text: title }), body]);
  }
  function table(caption, heads, rows, empty) {
    if (!rows.length) return h('p', { class: 'muted', text: empty });
    return h('table', { class: 'figures' }, [
      h('caption', { class: 'sr', text: caption }),
      h('thead', {}, [h('tr', {}, heads.map((t, i) => h('th', { scope: 'col', class: i ? 'num' : null, text: t })))]),
      h('tbody', {}, rows),
    ]);
  }
  const row = (testid, attrs, head, cells) => h('tr', Object.assign({ 'data-testid': testid }, attrs), [
    h('th', { scope: 'row' }, head),
    ...cells.map(([key, text]) => h('td', { class: 'num', 'data-testid': key, text })),
  ]);

  function timesTable(r) {
    const line = (id, name, what, m) => row(id, {}, [h('span', { text: name }), h('span', { class: 'muted small block', text: what })], [
      ['median', secs(m && m.median_secs)], ['p90', secs(m && m.p90_secs)], ['count', count(m ? m.count : 0)]]);
    return table('Response times: median, 90th percentile and how many conversations were measured',
      ['Measure', 'Median', '90th percentile', 'Conversations measured'], [
        line('report-first-response', 'First response', 'from escalation to the first agent message', r.first_response),
        line('report-resolution', 'Resolution', 'from escalation to closing', r.resolution),
      ], '');
  }
  function agentsTable(list) {
    const rows = list.map((a) => row('report-agent', { 'data-agent-id': a.agent_id }, [a.name || a.agent_id || 'Agent'], [
      ['conversations', count(a.conversations)], ['first-response', secs(a.first_response_median_secs)],
      ['resolution', secs(a.resolution_median_secs)], ['csat', typeof a.csat_average === 'number' ? FD.num(a.csat_average, 1) + ' / 5' : '—']]));
    return table('Per agent: conversations, median first response, median resolution, average rating',
      ['Agent', 'Conversations', 'Median first response', 'Median resolution', 'Average rating'], rows,
      'No agent handled a conversation in this period.');
  }
  function reasonsTable(list) {
    const rows = list.map((x) => row('report-reason', { 'data-code': x.code }, [h('span', { title: x.code, text: REASONS[x.code] || x.code })], [
      ['conversations', count(x.conversations)], ['first-response', secs(x.first_response_median_secs)], ['resolution', secs(x.resolution_median_secs)]]));
    return table('Per escalation reason: conversations, median first response, median resolution',
      ['Reason', 'Conversations', 'Median first response', 'Median resolution'], rows,
      'Nothing escalated in this period.');
  }
  function labelsTable(labels) {
    const rows = Object.entries(labels).map(([label, n]) => ({ label, n: Number(n) || 0 }))
      .sort((a, b) => b.n - a.n || (a.label < b.label ? -1 : 1))
      .map(({ label, n }) => row('report-label', { 'data-label': label }, [h('span', { class: 'chip label', text: label })], [['conversations', String(n)]]));
    return table('Conversations per label', ['Label', 'Conversations'], rows, 'No labelled conversations in this period.');
  }

  const plural = (n, word) => n + ' ' + word + (n === 1 ? '' : 's');

  /** Hand-rolled SVG charts. */
  const Charts = {
    bars(box, rows) {
      box.textContent = '';
      if (!rows.length || rows.every((r) => !r.value)) { box.append(h('p', { class: 'muted', text: 'No escalations yet.' })); return; }
      const max = Math.max(...rows.map((r) => r.value));
      const W = 560, row = 30, L = 170, H = rows.length * row + 8;
      const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'data-testid': 'chart-reasons',
        'aria-label': rows.map((r) => r.label + ' ' + r.value).join(', ') });
      rows.forEach((r, i) => {
        const y = i * row + 4;
        const w = Math.max(2, ((W - L - 50) * r.value) / max);
        svg.append(
          s('text', { x: L - 10, y: y + 17, class: 'axis-label', 'text-anchor': 'end' }, [r.label]),
          s('rect', { x: L, y: y + 3, width: w, height: row - 10, rx: 4, class: 'bar' }),
          s('text', { x: L + w + 8, y: y + 17, class: 'bar-value' }, [String(r.value)]),
        );
      });
      box.append(svg);
    },
    line(box, days) {
      box.textContent = '';
      if (!days.length) { box.append(h('p', { class: 'muted', text: 'No analysed messages yet.' })); return; }
      const W = 560, H = 250, L = 40, R = 16, T = 14, B = 24, V = 36; // V: the volume band
      const n = days.length;
      const x = (i) => n === 1 ? (L + W - R) / 2 : L + (i * (W - L - R)) / (n - 1);
      const y = (v) => T + ((1 - v) / 2) * (H - T - B - V - 10);
      const maxCount = Math.max(1, ...days.map((d) => d.messages || 0));
      const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart-svg', role: 'img', 'data-testid': 'chart-sentiment',
        'aria-label': days.map((d) => d.day + ': ' + FD.num(d.average, 2)).join(', ') });
      for (const v of [1, 0.5, 0, -0.5, -1]) {
        svg.append(s('line', { x1: L, x2: W - R, y1: y(v), y2: y(v), class: v === 0 ? 'grid zero' : 'grid' }),
          s('text', { x: L - 8, y: y(v) + 4, class: 'axis-label', 'text-anchor': 'end' }, [(v > 0 ? '+' : '') + v]));
      }
      const bw = Math.max(4, Math.min(28, (W - L - R) / n / 2));
      svg.append(s('text', { x: L - 8, y: H - B - 4, class: 'axis-label', 'text-anchor': 'end' }, ['msgs']));
      days.forEach((d, i) => {
        const bh = Math.max(1, ((d.messages || 0) / maxCount) * V);
        svg.append(s('rect', { x: x(i) - bw / 2, y: H - B - bh, width: bw, height: bh, rx: 2, class: 'volume' }, [s('title', {}, [plural(d.messages || 0, 'message')])]));
      });
      const pts = days.map((d, i) => [x(i), y(typeof d.average === 'number' ? d.average : 0)]);
      if (n > 1) {
        svg.append(s('path', { d: 'M' + pts[0][0] + ',' + y(0) + ' L' + pts.map((p) => p.join(',')).join(' L') + ' L' + pts[n - 1][0] + ',' + y(0) + 'Z', class: 'area' }));
        svg.append(s('polyline', { points: pts.map((p) => p.join(',')).join(' '), class: 'line' }));
      }
      const every = Math.ceil(n / 8);
      days.forEach((d, i) => {
        svg.append(s('circle', { cx: pts[i][0], cy: pts[i][1], r: 4, class: 'point' }, [s('title', {}, [d.day + ': ' + FD.num(d.average, 2)])]));
        if (i % every === 0 || i === n - 1) svg.append(s('text', { x: pts[i][0], y: H - 6, class: 'axis-label', 'text-anchor': 'middle' }, [String(d.day).slice(5)]));
      });
      box.append(svg, h('p', { class: 'legend', text: 'Average of positive − negative per day (+1 happy, −1 angry); the bars below show how many messages.' }));
    },
    ring(box, share, label, note) {
      box.textContent = '';
      const R = 52, C = 2 * Math.PI * R;
      const ok = typeof share === 'number' && isFinite(share);
      const svg = s('svg', { viewBox: '0 0 140 140', class: 'ring', role: 'img', 'aria-label': label + ': ' + FD.pct(share) }, [
        s('circle', { cx: 70, cy: 70, r: R, class: 'ring-bg' }),
        ok && share > 0 ? s('circle', { cx: 70, cy: 70, r: R, class: 'ring-fg', 'stroke-dasharray': `${C * Math.max(0, Math.min(1, share))} ${C}`, transform: 'rotate(-90 70 70)' }) : null,
        s('text', { x: 70, y: 78, 'text-anchor': 'middle', class: 'ring-value' }, [FD.pct(share)]),
      ]);
      box.append(h('div', { class: 'ring-wrap' }, [svg, h('div', {}, [h('p', { class: 'ring-label', text: label }), h('p', { class: 'muted', text: note })])]));
    },
  };

  return { load };
})();
