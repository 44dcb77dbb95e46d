/* What the console shows of one conversation besides its header: the
 * transcript's messages and notes, the sentiment trend, why it escalated,
 * the customer and their history. Pure drawing from the `conversation`
 * frame (docs/protocol.md, "The conversation frame"); no state here. */
'use strict';

const Briefing = (() => {
  const { h, s } = FD;
  /** Scores that are probabilities read as percentages. */
  const PROBABILITIES = new Set(['negative', 'neutral', 'positive', 'trend', 'confidence', 'intent_confidence']);
  /** What the customer's words said, when they escalated
   * (`scores.phrase`; docs/protocol.md, "Escalation"). */
  const PHRASES = {
    handoff: 'asks for a person', safety: 'reports harm', fraud: 'reports fraud', legal: 'threatens legal steps',
    leaving: 'threatens to leave', asked_before: 'says they asked before', restated: 'asks again in other words',
    anger: 'angry words',
  };

  /** One message of the transcript; text direction and links from the text. */
  function message(m) {
    const a = m.analysis && m.analysis.sentiment;
    const cls = m.from === 'customer' ? ' ' + FD.sentimentClass(a) : '';
    const who = m.from === 'customer' ? 'Customer' : m.from === 'agent' ? (m.agent_name || 'Agent') : m.from === 'bot' ? 'Bot' : 'System';
    const el = h('div', {
      class: 'msg from-' + m.from + cls, 'data-testid': 'transcript-message',
      'data-seq': m.seq ? String(m.seq) : null, 'data-from': m.from,
    }, [
      h('div', { class: 'meta' }, [h('b', { text: who }), h('span', { text: ' · ' + FD.clock(m.at) })]),
      h('div', { class: 'bubble', dir: 'auto' }, FD.linkify(m.text)),
    ]);
    if (a) {
      el.append(h('div', { class: 'analysis' }, [
        sentimentPill(a),
        m.analysis.intent && m.analysis.intent.name ? h('span', { class: 'pill', text: 'intent: ' + m.analysis.intent.name }) : null,
        m.analysis.language && m.analysis.language !== 'en'
          ? h('span', { class: 'pill', 'data-testid': 'language', title: 'The customer writes in this language', text: 'language: ' + m.analysis.language }) : null,
      ]));
    }
    if (m.faq_id) el.append(h('div', { class: 'analysis' }, [h('span', { class: 'pill', text: 'FAQ: ' + m.faq_id })]));
    return el;
  }
  /** "negative 97%": the label and how sure the model is of it. */
  function sentimentPill(a) {
    return h('span', {
      class: 'pill ' + FD.sentimentClass(a), 'data-testid': 'sentiment',
      title: 'negative ' + FD.pct(a.negative) + ' · neutral ' + FD.pct(a.neutral) + ' · positive ' + FD.pct(a.positive),
      text: a.label + ' ' + FD.pct(a[a.label]),
    });
  }
  function note(n) {
    return h('div', { class: 'note', 'data-testid': 'note' }, [
      h('div', { class: 'meta' }, [h('b', { text: 'Internal note' }), h('span', { text: ' · ' + (n.agent_name || 'Agent') + ' · ' + FD.clock(n.at) })]),
      h('div', { class: 'bubble', dir: 'auto' }, FD.linkify(n.text)),
    ]);
  }

  /** A sparkline of negative − positive over the customer's messages. */
  function sparkline(box, messages) {
    box.textContent = '';
    const values = messages
      .filter((m) => m.from === 'customer' && m.analysis && m.analysis.sentiment)
      .map((m) => (m.analysis.sentiment.negative || 0) - (m.analysis.sentiment.positive || 0));
    if (!values.length) { box.append(h('p', { class: 'muted', text: 'No analysed customer messages yet.' })); return; }
    const W = 260, H = 64, P = 6;
    const x = (i) => values.length === 1 ? W / 2 : P + (i * (W - 2 * P)) / (values.length - 1);
    const y = (v) => H / 2 - v * (H / 2 - P);
    const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'spark', role: 'img', 'data-testid': 'sparkline',
      'aria-label': 'Sentiment trend: ' + values.map((v) => v.toFixed(2)).join(', ') });
    svg.append(
      s('rect', { x: 0, y: 0, width: W, height: H / 2, class: 'spark-neg' }),
      s('line', { x1: 0, x2: W, y1: H / 2, y2: H / 2, class: 'spark-zero' }),
    );
    if (values.length > 1) {
      svg.append(s('polyline', { points: values.map((v, i) => x(i) + ',' + y(v)).join(' '), class: 'spark-line' }));
    }
    values.forEach((v, i) => svg.append(s('circle', { cx: x(i), cy: y(v), r: 3.5, class: 'spark-dot ' + (v > 0.2 ? 's-neg' : v < -0.2 ? 's-pos' : 's-neu') })));
    const last = values[values.length - 1];
    box.append(svg, h('p', { class: 'spark-last' }, ['Latest: ', h('b', { class: last > 0.2 ? 'neg' : last < -0.2 ? 'pos' : '', text: (last >= 0 ? '+' : '') + last.toFixed(2) })]));
  }

  /** Why it escalated: the reason, what the customer was told, and the
   * scores in words ("unresolved turns: 3", "negative: 98%"). */
  function why(box, e) {
    box.textContent = '';
    if (!e) { box.append(h('p', { class: 'muted', text: 'Not escalated: the bot is answering.' })); return; }
    box.append(
      h('p', {}, [h('span', { class: 'chip reason', 'data-testid': 'reason-code', text: e.code || 'unknown' }), ' ', FD.REASONS[e.code] || '']),
      e.message ? h('p', { class: 'why-msg', text: e.message }) : null,
    );
    const scores = Object.entries(e.scores && typeof e.scores === 'object' ? e.scores : {})
      .filter(([, v]) => v !== null && v !== undefined);
    if (scores.length) {
      box.append(h('ul', { class: 'scores', 'aria-label': 'Scores' },
        scores.map(([k, v]) => h('li', {
          'data-testid': 'score',
          text: k === 'phrase' ? 'in words: ' + phrase(v) : k.replace(/_/g, ' ') + ': ' + score(k, v),
        }))));
    }
    if (e.at) box.append(h('p', { class: 'muted small', text: 'at ' + FD.clock(e.at) }));
  }
  /** A phrase score in words: "anger:de" reads "angry words (German)". */
  function phrase(v) {
    const [kind, code] = String(v).split(':');
    const what = PHRASES[kind] || kind.replace(/_/g, ' ');
    return code ? what + ' (' + languageName(code) + ')' : what;
  }
  function languageName(code) {
    try {
      return new Intl.DisplayNames(['en'], { type: 'language' }).of(code) || code;
    } catch {
      return code;
    }
  }
  function score(key, v) {
    if (typeof v !== 'number') return String(v).replace(/_/g, ' ');
    if (PROBABILITIES.has(key) && v >= 0 && v <= 1) return FD.pct(v);
    return Number.isInteger(v) ? String(v) : FD.num(v, 2);
  }

  function customer(dl, cu) {
    dl.textContent = '';
    const rows = [['Name', cu.name], ['Email', cu.email], ['Own id', cu.external_id], ['Customer since', FD.day(cu.created_at)]];
    for (const [k, v] of rows) if (v) dl.append(h('dt', { text: k }), h('dd', { text: v }));
    if (!dl.childElementCount) dl.append(h('dd', { class: 'muted', text: 'Anonymous visitor' }));
  }

  /** The customer's history: counts, then their earlier conversations.
   * Unknown fields are shown as they come. */
  function timeline(box, t) {
    box.textContent = '';
    if (!t || typeof t !== 'object') { box.append(h('p', { class: 'muted', text: 'No earlier history.' })); return; }
    const dl = h('dl', { class: 'kv' });
    const row = (k, v) => dl.append(h('dt', { text: k }), h('dd', { text: v }));
    if (t.conversations != null) row('Conversations', String(t.conversations));
    if (t.escalations != null) row('Escalations', String(t.escalations));
    if (t.ratings) row('Ratings', t.ratings + (t.average_rating != null ? ' · ★ ' + FD.num(t.average_rating, 1) + ' average' : ''));
    if (t.first_seen) row('First seen', FD.day(t.first_seen));
    const known = new Set(['conversations', 'escalations', 'ratings', 'average_rating', 'first_seen', 'previous']);
    for (const [k, v] of Object.entries(t)) {
      if (!known.has(k) && v !== null && typeof v !== 'object') row(k.replace(/_/g, ' '), String(v));
    }
    box.append(dl);
    const previous = Array.isArray(t.previous) ? t.previous : [];
    if (!previous.length) { box.append(h('p', { class: 'muted small', text: 'No earlier conversations.' })); return; }
    const ul = h('ul', { class: 'events', 'data-testid': 'previous-conversations' });
    for (const p of previous) {
      const bits = [FD.day(p.opened_at), (p.messages ?? 0) + ' messages'];
      if (p.escalated) bits.push('escalated');
      bits.push(p.closed ? 'closed' : 'open');
      if (p.rating) bits.push('★ ' + p.rating);
      if (p.resolution) bits.push(p.resolution.replace(/_/g, ' '));
      ul.append(h('li', { text: bits.join(' · ') }));
    }
    box.append(h('p', { class: 'muted small', text: 'Earlier conversations' }), ul);
  }

  return { message, note, sparkline, why, customer, timeline };
})();
