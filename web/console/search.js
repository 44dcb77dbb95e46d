/* The console's Search tab: find past and present conversations by words
 * (customer name, email, transcript) and filters, over
 * GET /v1/conversations/search; a result opens in the inbox. */
'use strict';

const Search = (() => {
  const { h } = FD;
  const $ = (id) => document.getElementById(id);
  const STATUSES = [['bot', 'With the bot'], ['queued', 'Waiting in the queue'], ['agent', 'With an agent'], ['closed', 'Closed']];
  const LIMIT = 50;
  const TYPING_MS = 300;

  const st = { token: null, open: null, built: false, searched: false, seq: 0, timer: null, agentsLoaded: false };

  /** `token`: the agent's; `open(conversationId)`: show it in the inbox. */
  function init({ token, open }) {
    st.token = token;
    st.open = open;
  }
  const api = (path) => FD.api(st.token, 'GET', path);

  function show() {
    build();
    loadAgents();
    if (!st.searched) run();
  }

  // ---- the form ----------------------------------------------------------------
  function build() {
    if (st.built) return;
    const view = $('view-search');
    if (!view) return;
    st.built = true;
    view.classList.add('tools-view');
    view.append(
      h('div', { class: 'tools-head' }, [
        h('h2', { text: 'Search conversations' }),
        h('p', { class: 'muted', text: 'By customer name, email or words from the transcript; small typos are forgiven.' }),
      ]),
      form(),
      h('p', { id: 'search-error', class: 'form-error', role: 'alert', 'data-testid': 'search-error' }),
      h('p', { id: 'search-summary', class: 'search-summary', role: 'status', 'data-testid': 'search-summary' }),
      h('ul', { id: 'search-results', class: 'search-results', 'aria-label': 'Results', 'data-testid': 'search-results' }),
    );
  }

  function form() {
    const labelled = (id, label, input) => h('div', { class: 'search-field' }, [h('label', { for: id, text: label }), input]);
    const select = (id, any, options) => h('select', { id, 'data-testid': id, onchange: run }, [
      h('option', { value: '', text: any }),
      ...options.map(([value, text]) => h('option', { value, text })),
    ]);
    const reasons = Object.entries(FD.REASONS);
    return h('form', { id: 'search-form', class: 'search-form', role: 'search', 'aria-label': 'Search conversations', novalidate: true,
      onsubmit: (e) => { e.preventDefault(); run(); } }, [
      h('div', { class: 'search-main' }, [
        h('label', { class: 'sr', for: 'search-q', text: 'Words, name or email' }),
        h('input', { id: 'search-q', type: 'search', autocomplete: 'off', placeholder: 'Words, name or email…', 'data-testid': 'search-q', oninput: typed }),
        h('button', { type: 'submit', class: 'btn primary', 'data-testid': 'search-submit', text: 'Search' }),
        h('button', { type: 'button', class: 'btn', 'data-testid': 'search-clear', text: 'Clear', onclick: clear }),
      ]),
      h('div', { class: 'search-filters' }, [
        labelled('search-status', 'Status', select('search-status', 'Any status', STATUSES)),
        labelled('search-reason', 'Why it escalated', select('search-reason', 'Any reason', reasons)),
        labelled('search-agent', 'Agent', select('search-agent', 'Any agent', [])),
        labelled('search-label', 'Label', h('input', { id: 'search-label', type: 'text', autocomplete: 'off', placeholder: 'refund', 'data-testid': 'search-label', oninput: typed })),
        labelled('search-from', 'From', h('input', { id: 'search-from', type: 'date', 'data-testid': 'search-from', onchange: run })),
        labelled('search-to', 'To', h('input', { id: 'search-to', type: 'date', 'data-testid': 'search-to', onchange: run })),
      ]),
    ]);
  }

  function typed() {
    clearTimeout(st.timer);
    st.timer = setTimeout(run, TYPING_MS);
  }
  function clear() {
    for (const id of ['search-q', 'search-status', 'search-reason', 'search-agent', 'search-label', 'search-from', 'search-to']) $(id).value = '';
    run();
    $('search-q').focus();
  }

  async function loadAgents() {
    if (st.agentsLoaded) return;
    try {
      const agents = await api('/v1/agents');
      const select = $('search-agent');
      for (const a of Array.isArray(agents) ? agents : []) select.append(h('option', { value: a.id, text: a.name }));
      st.agentsLoaded = true;
    } catch {
      // The filter keeps "Any agent"; the search itself still works.
    }
  }

  // ---- searching -------------------------------------------------------------------
  /** The query string for the form, or an Error to show. */
  function query() {
    const params = new URLSearchParams();
    const put = (key, id) => { const v = $(id).value.trim(); if (v) params.set(key, v); };
    put('q', 'search-q');
    put('status', 'search-status');
    put('reason', 'search-reason');
    put('agent', 'search-agent');
    put('label', 'search-label');
    put('from', 'search-from');
    put('to', 'search-to');
    const from = params.get('from'), to = params.get('to');
    if (from && to && from > to) return new Error('The “From” date is after the “To” date.');
    params.set('limit', String(LIMIT));
    return params;
  }

  async function run() {
    clearTimeout(st.timer);
    if (!st.built) return;
    const params = query();
    const mine = ++st.seq;
    $('search-error').textContent = '';
    if (params instanceof Error) { $('search-error').textContent = params.message; return; }
    $('search-results').setAttribute('aria-busy', 'true');
    try {
      const found = await api('/v1/conversations/search?' + params);
      if (mine !== st.seq) return;
      st.searched = true;
      render(found || {}, params);
    } catch (e) {
      if (mine !== st.seq) return;
      $('search-error').textContent = e.status === 404 ? 'Search is not available on this server yet.' : e.message;
    } finally {
      if (mine === st.seq) $('search-results').removeAttribute('aria-busy');
    }
  }

  function render(found, params) {
    const hits = Array.isArray(found.hits) ? found.hits : [];
    const total = typeof found.total === 'number' ? found.total : hits.length;
    const order = params.get('q') ? 'best match first' : 'newest first';
    $('search-summary').textContent = !hits.length ? 'No conversation matches.'
      : (total > hits.length ? hits.length + ' of ' + total : String(total)) + (total === 1 ? ' conversation' : ' conversations') + ', ' + order + '.';
    const list = $('search-results');
    list.textContent = '';
    const words = (params.get('q') || '').split(/\s+/).filter((w) => w.length > 1);
    for (const hit of hits) list.append(result(hit, words));
  }

  function result(hit, words) {
    const who = hit.customer_name || hit.customer_email || 'Anonymous visitor';
    const reason = hit.reason ? FD.REASONS[hit.reason] || hit.reason : null;
    const when = hit.last_at || hit.opened_at;
    return h('li', {}, [h('button', {
      type: 'button', class: 'search-hit', 'data-testid': 'search-hit', 'data-conversation-id': hit.conversation_id,
      'aria-label': 'Open the conversation with ' + who + ', ' + (hit.status || 'unknown status') + (when ? ', ' + FD.day(when) : ''),
      onclick: () => openHit(hit.conversation_id),
    }, [
      h('span', { class: 'hit-line' }, [
        h('strong', { class: 'hit-name', text: who }),
        hit.customer_name && hit.customer_email ? h('span', { class: 'hit-email', text: hit.customer_email }) : null,
        h('span', { class: 'chip st-' + (hit.status || 'unknown'), 'data-testid': 'hit-status', text: hit.status || 'unknown' }),
        ...(Array.isArray(hit.labels) ? hit.labels : []).map((l) => h('span', { class: 'chip label', 'data-testid': 'hit-label', text: l })),
        h('span', { class: 'hit-date', text: when ? FD.day(when) + ' ' + FD.clock(when) : '' }),
      ]),
      hit.snippet ? h('span', { class: 'hit-snippet', 'data-testid': 'hit-snippet' }, marked(hit.snippet, words)) : null,
      h('span', { class: 'hit-meta' }, [
        reason ? 'Escalated: ' + reason : 'Not escalated',
        hit.agent && hit.agent.name ? ' · Agent: ' + hit.agent.name : '',
        hit.opened_at ? ' · Opened ' + FD.day(hit.opened_at) : '',
      ].join('')),
    ])]);
  }

  /** The snippet with the query's words marked, as text nodes and <mark>s. */
  function marked(snippet, words) {
    if (!words.length) return [snippet];
    const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    const parts = snippet.split(new RegExp('(' + escaped.join('|') + ')', 'gi'));
    return parts.map((part, i) => (i % 2 ? h('mark', { text: part }) : part)).filter((x) => x !== '');
  }

  function openHit(id) {
    if (typeof st.open === 'function') st.open(id);
    // Show the inbox unless opening it did already.
    const view = $('view-search');
    const inbox = $('tab-inbox');
    if (view && !view.hidden && inbox) inbox.click();
  }

  return { init, show, run };
})();
