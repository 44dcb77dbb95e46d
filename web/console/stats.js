/* The console's stats tab: figures from GET /v1/stats drawn as
 * hand-rolled SVG charts. */
'use strict';

const Stats = (() => {
  const { h, s } = FD;
  const $ = (id) => document.getElementById(id);
  const REASONS = FD.REASONS;

  async function load(token) {
    const err = $('stats-error');
    try {
      const stats = await FD.api(token, 'GET', '/v1/stats');
      err.textContent = '';
      renderStats(stats || {});
    } catch (e) {
      err.textContent = e.status === 404 ? 'Statistics are not available on this server.' : e.message;
    }
  }
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
