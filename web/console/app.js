/* The agent console: the /v1/agent socket (docs/protocol.md, "Agent
 * socket") for the queue and conversations, REST for the stats. */
'use strict';

(() => {
  const { h, s } = FD;
  const $ = (id) => document.getElementById(id);
  const KEY = 'frontdesk:agent-token';
  const WS_URL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/agent';
  const REASONS = FD.REASONS;

  const st = {
    token: null,
    me: null, // welcome: agent_id, agent_name, presence, capacity
    items: [],
    agents: [],
    queueAt: 0, // when the last queue snapshot arrived (ms)
    open: null, // conversation_id in view
    convs: new Map(), // conversation_id -> view model
    claiming: new Set(),
  };
  let ws = null;
  let attempt = 0;
  let lastTyping = 0;
  let typingTimer = null;

  // ---- the socket ----------------------------------------------------------
  /** Open the socket and sign in; resolves with the welcome frame, rejects
   * with a message for the sign-in card. */
  function connect(token, first) {
    return new Promise((resolve, reject) => {
      let welcomed = false;
      let refusal = null;
      const sock = new WebSocket(WS_URL);
      ws = sock;
      setConn('connecting', attempt ? 'Reconnecting…' : 'Connecting…');
      sock.onopen = () => sock.send(JSON.stringify({ type: 'hello', token }));
      sock.onmessage = (e) => {
        let f;
        try { f = JSON.parse(e.data); } catch { return; }
        if (!welcomed && f.type === 'error') {
          refusal = f.code === 'forbidden'
            ? 'This token may not use the agent console. FAQ authors sign in at /console/faq.'
            : f.code === 'unauthorized' ? 'That token is not valid.' : f.message;
          return;
        }
        if (f.type === 'welcome') {
          welcomed = true;
          attempt = 0;
          resolve(f);
        }
        if (ws === sock) onFrame(f);
      };
      sock.onclose = () => {
        if (!welcomed) {
          if (ws === sock) ws = null;
          if (refusal || first) {
            reject(new Error(refusal || 'The agent service cannot be reached. Check the server address and try again.'));
            return;
          }
        }
        if (ws !== sock) return;
        ws = null;
        setConn('offline', 'Reconnecting…');
        const base = Math.min(30000, 500 * 2 ** attempt++);
        setTimeout(() => {
          connect(st.token, false).then(onWelcomeAgain, (e) => {
            FD.toast(e.message, 'error');
            FD.signOut(KEY);
          });
        }, base / 2 + Math.random() * base / 2);
      };
    });
  }
  function onWelcomeAgain() {
    // Get the open conversation again, with everything missed meanwhile.
    if (st.open) send({ type: 'watch', conversation_id: st.open });
  }
  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      FD.toast('Not connected; try again in a moment.', 'error');
      return false;
    }
    ws.send(JSON.stringify(frame));
    return true;
  }
  function setConn(state, text) {
    const el = $('conn');
    el.dataset.state = state;
    el.textContent = text;
  }

  function onFrame(f) {
    switch (f.type) {
      case 'welcome':
        st.me = f;
        $('agent-name').textContent = f.agent_name || '';
        setPresence(f.presence || 'online');
        setConn('online', 'Connected');
        break;
      case 'queue': {
        st.items = Array.isArray(f.items) ? f.items : [];
        st.agents = Array.isArray(f.agents) ? f.agents : [];
        st.queueAt = Date.now();
        const mine = st.agents.find((a) => st.me && a.id === st.me.agent_id);
        if (mine && mine.presence && mine.presence !== 'offline') setPresence(mine.presence);
        renderQueue();
        renderAgents();
        if (st.open) renderHeader();
        break;
      }
      case 'conversation': onConversation(f); break;
      case 'message': onMessage(f); break;
      case 'note': onNote(f); break;
      case 'typing': onTyping(f); break;
      case 'status': onStatus(f); break;
      case 'ack': onAck(f); break;
      case 'error': onError(f); break;
    }
  }

  // ---- presence --------------------------------------------------------------
  function setPresence(p) {
    const b = $('presence');
    b.dataset.presence = p;
    b.textContent = p === 'away' ? 'Away' : 'Online';
    b.setAttribute('aria-pressed', String(p !== 'away'));
    b.title = p === 'away' ? 'You are away: no new conversations. Click to go online.' : 'You are online. Click to go away.';
  }
  $('presence').addEventListener('click', () => {
    const next = $('presence').dataset.presence === 'away' ? 'online' : 'away';
    if (send({ type: 'presence', status: next })) setPresence(next);
  });

  // ---- queue -----------------------------------------------------------------
  function waited(item) {
    const base = typeof item.waiting_secs === 'number' ? item.waiting_secs
      : (Date.now() - Date.parse(item.escalated_at)) / 1000;
    return base + (Date.now() - st.queueAt) / 1000;
  }
  function sentimentClass(sent) {
    if (!sent) return 's-none';
    const v = (sent.negative || 0) - (sent.positive || 0);
    if (sent.label === 'negative' || v > 0.4) return 's-neg';
    if (sent.label === 'positive' || v < -0.4) return 's-pos';
    return 's-neu';
  }
  function renderQueue() {
    const list = $('queue-list');
    const me = st.me && st.me.agent_id;
    const groups = [
      ['Waiting', st.items.filter((i) => i.status === 'queued' || (!i.assigned && i.status !== 'agent'))],
      ['Mine', st.items.filter((i) => i.assigned && i.assigned.id === me)],
      ['With other agents', st.items.filter((i) => i.assigned && i.assigned.id !== me)],
    ];
    list.textContent = '';
    $('queue-count').textContent = String(groups[0][1].length);
    for (const [title, items] of groups) {
      if (!items.length && title !== 'Waiting') continue;
      list.append(h('h3', { class: 'group-title', text: title + ' · ' + items.length }));
      if (!items.length) {
        list.append(h('p', { class: 'muted pad', text: 'Nobody is waiting.' }));
        continue;
      }
      const ul = h('ul', { class: 'items' });
      for (const item of items) ul.append(queueItem(item, me));
      list.append(ul);
    }
  }
  function queueItem(item, me) {
    const id = item.conversation_id;
    const reason = item.reason || {};
    const queued = !item.assigned;
    const li = h('li', {
      class: 'queue-item ' + sentimentClass(item.sentiment) + (item.overdue ? ' overdue' : '') + (st.open === id ? ' selected' : ''),
      'data-testid': 'queue-item', 'data-conversation-id': id, 'data-status': item.status || '',
    });
    const main = h('button', { type: 'button', class: 'qmain', onclick: () => openConversation(id),
      'aria-label': 'Open the conversation with ' + (item.customer_name || 'a customer') }, [
      h('span', { class: 'sent-dot', title: item.sentiment ? 'Sentiment: ' + item.sentiment.label : 'No sentiment yet' }),
      h('span', { class: 'qtext' }, [
        h('span', { class: 'qline' }, [
          h('strong', { text: item.customer_name || 'Customer' }),
          queued && item.position ? h('span', { class: 'pos', text: '#' + item.position }) : null,
          item.overdue ? h('span', { class: 'badge red', 'data-testid': 'overdue', text: 'Overdue' }) : null,
        ]),
        h('span', { class: 'qline sub' }, [
          h('span', { class: 'reason', title: reason.message || '', text: REASONS[reason.code] || reason.code || 'Escalated' }),
          h('span', { class: 'wait', 'data-testid': 'wait', text: FD.duration(waited(item)) }),
        ]),
        item.assigned && item.assigned.id !== me ? h('span', { class: 'qline sub', text: 'With ' + item.assigned.name }) : null,
      ]),
    ]);
    main.querySelector('.wait').dataset.conversationId = id;
    li.append(main);
    if (queued) {
      li.append(h('button', { type: 'button', class: 'btn primary small claim', 'data-testid': 'claim',
        onclick: () => claim(id) }, ['Claim']));
    }
    return li;
  }
  setInterval(() => {
    for (const el of document.querySelectorAll('.wait[data-conversation-id]')) {
      const item = st.items.find((i) => i.conversation_id === el.dataset.conversationId);
      if (item) el.textContent = FD.duration(waited(item));
    }
  }, 1000);
  function renderAgents() {
    const ul = $('agents');
    ul.textContent = '';
    for (const a of st.agents) {
      ul.append(h('li', { class: 'agent p-' + (a.presence || 'offline') }, [
        h('span', { class: 'dot', 'aria-hidden': 'true' }),
        h('span', { class: 'grow', text: a.name + (st.me && a.id === st.me.agent_id ? ' (you)' : '') }),
        h('span', { class: 'muted', text: (a.active ?? 0) + '/' + (a.capacity ?? '–') }),
      ]));
    }
    if (!st.agents.length) ul.append(h('li', { class: 'muted', text: 'No agents yet.' }));
  }

  // ---- one conversation ------------------------------------------------------
  function claim(id) {
    st.claiming.add(id);
    if (send({ type: 'claim', conversation_id: id })) st.open = id;
  }
  function openConversation(id) {
    if (st.open && st.open !== id && !isMine(st.open)) send({ type: 'unwatch', conversation_id: st.open });
    st.open = id;
    send({ type: 'watch', conversation_id: id });
    renderQueue();
  }
  function ownerOf(id) {
    const c = st.convs.get(id);
    const item = st.items.find((i) => i.conversation_id === id);
    if (item) return item.assigned ? item.assigned.id : null;
    return c ? c.owner : null;
  }
  function isMine(id) {
    return !!st.me && ownerOf(id) === st.me.agent_id;
  }
  function onConversation(f) {
    const header = f.conversation || {};
    const id = header.id || f.conversation_id;
    if (!id) return;
    const prev = st.convs.get(id);
    const c = {
      id,
      header,
      customer: f.customer || {},
      messages: Array.isArray(f.messages) ? f.messages.slice() : [],
      notes: Array.isArray(f.notes) ? f.notes.slice() : [],
      escalation: f.escalation || null,
      timeline: f.timeline,
      suggestions: Array.isArray(f.suggestions) ? f.suggestions : [],
      pending: prev ? prev.pending : new Map(),
      owner: (header.assigned && header.assigned.id) || (header.agent && header.agent.id) || header.agent_id || (prev && prev.owner) || null,
    };
    if (st.claiming.delete(id) && st.me) c.owner = st.me.agent_id;
    st.convs.set(id, c);
    st.open = id;
    renderConversation();
    renderQueue();
    if (isMine(id)) $('reply-input').focus();
  }
  function onMessage(f) {
    const c = st.convs.get(f.conversation_id);
    if (!c) return;
    const m = Object.assign({}, f);
    delete m.type;
    if (c.messages.some((x) => x.seq === m.seq)) return;
    c.messages.push(m);
    c.messages.sort((a, b) => a.seq - b.seq);
    for (const [cid, p] of c.pending) {
      if (cid === m.client_id || (p.seq && p.seq === m.seq)) c.pending.delete(cid);
    }
    if (m.from === 'customer') $('customer-typing').hidden = true;
    if (st.open === c.id) { renderTranscript(); renderSparkline(); }
  }
  function onNote(f) {
    const c = st.convs.get(f.conversation_id);
    if (!c) return;
    c.notes.push(f);
    if (st.open === c.id) renderTranscript();
  }
  function onTyping(f) {
    if (f.conversation_id !== st.open) return;
    const el = $('customer-typing');
    el.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { el.hidden = true; }, 6000);
  }
  function onStatus(f) {
    const c = st.convs.get(f.conversation_id);
    if (!c) return;
    c.header.status = f.status;
    c.owner = f.agent ? f.agent.id : null;
    if (f.agent) c.header.agent = f.agent;
    if (st.open === c.id) renderHeader();
  }
  function onAck(f) {
    const c = st.convs.get(f.conversation_id);
    const p = c && c.pending.get(f.client_id);
    if (!p) return;
    p.seq = f.seq;
    if (c.messages.some((m) => m.seq === f.seq)) c.pending.delete(f.client_id);
    if (st.open === c.id) renderTranscript();
  }
  function onError(f) {
    if (f.conversation_id) st.claiming.delete(f.conversation_id);
    const c = f.conversation_id && st.convs.get(f.conversation_id);
    if (c && f.client_id && c.pending.has(f.client_id)) {
      c.pending.get(f.client_id).error = f.message;
      if (st.open === c.id) renderTranscript();
    }
    const text = f.code === 'conflict' && !f.client_id
      ? 'Someone else got there first: ' + f.message : f.message || 'That did not work.';
    FD.toast(text, 'error');
  }

  function renderConversation() {
    const c = st.convs.get(st.open);
    $('conv-empty').hidden = !!c;
    $('conv').hidden = !c;
    if (!c) return;
    $('conv').dataset.conversationId = c.id;
    renderHeader();
    renderTranscript(true);
    renderSparkline();
    renderWhy(c);
    renderCustomer(c);
    renderTimeline(c);
    renderSuggestions(c);
  }
  function renderHeader() {
    const c = st.convs.get(st.open);
    if (!c) return;
    const cu = c.customer;
    const status = statusOf(c);
    const mine = isMine(c.id);
    const owner = ownerOf(c.id);
    $('conv-title').textContent = cu.name || cu.email || 'Customer';
    const sub = $('conv-sub');
    sub.textContent = '';
    sub.append(...[
      h('span', { class: 'chip st-' + status, 'data-testid': 'conv-status', text: status }),
      cu.email ? h('span', { text: cu.email }) : null,
      c.header.opened_at ? h('span', { text: 'opened ' + FD.day(c.header.opened_at) + ' ' + FD.clock(c.header.opened_at) }) : null,
      mine ? h('span', { class: 'chip mine', text: 'yours' }) : owner ? h('span', { text: 'with another agent' }) : h('span', { text: 'read-only' }),
    ].filter(Boolean));
    const open = status !== 'closed';
    $('btn-claim').hidden = mine || !open || (owner && !mine);
    $('btn-claim').textContent = status === 'bot' ? 'Take over' : 'Claim';
    for (const id of ['btn-hand-back', 'btn-release', 'btn-transfer', 'btn-close', 'transfer-to', 'resolution']) {
      $(id).disabled = !mine || !open;
    }
    $('conv-actions').classList.toggle('readonly', !mine);
    const select = $('transfer-to');
    const keep = select.value;
    select.textContent = '';
    const others = st.agents.filter((a) => a.presence === 'online' && (!st.me || a.id !== st.me.agent_id));
    if (!others.length) select.append(h('option', { value: '', text: 'No other agent online' }));
    for (const a of others) {
      const full = typeof a.capacity === 'number' && (a.active || 0) >= a.capacity;
      select.append(h('option', { value: a.id, disabled: full, text: a.name + (full ? ' (full)' : '') }));
    }
    if (keep) select.value = keep;
    $('btn-transfer').disabled = $('btn-transfer').disabled || !others.length;
    const input = $('reply-input');
    const noting = $('composer').dataset.mode === 'note';
    input.disabled = !noting && (!mine || !open);
    $('reply-send').disabled = input.disabled;
    $('composer-hint').textContent = noting ? 'Internal notes are seen by agents only, never by the customer.'
      : !open ? 'This conversation is closed.' : mine ? '' : 'Claim the conversation to reply. You can still leave internal notes.';
  }
  function statusOf(c) {
    const item = st.items.find((i) => i.conversation_id === c.id);
    return (item && item.status) || c.header.status || 'bot';
  }

  function renderTranscript(toBottom) {
    const c = st.convs.get(st.open);
    const box = $('transcript');
    const near = toBottom === true || box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const top = box.scrollTop;
    box.textContent = '';
    const rows = [
      ...c.messages.map((m) => ({ at: m.at, seq: m.seq, el: messageEl(m) })),
      ...c.notes.map((n) => ({ at: n.at, seq: Infinity, el: noteEl(n) })),
    ];
    rows.sort((a, b) => (Date.parse(a.at) || 0) - (Date.parse(b.at) || 0) || a.seq - b.seq);
    for (const r of rows) box.append(r.el);
    for (const [cid, p] of c.pending) {
      if (p.seq && c.messages.some((m) => m.seq === p.seq)) continue;
      const el = messageEl({ from: 'agent', text: p.text, agent_name: st.me && st.me.agent_name, client_id: cid });
      el.classList.add(p.error ? 'failed' : 'pending');
      el.querySelector('.meta').append(h('span', { text: p.error ? ' · not sent: ' + p.error : p.seq ? ' · sent' : ' · sending…' }));
      box.append(el);
    }
    if (!rows.length && !c.pending.size) box.append(h('p', { class: 'muted pad', text: 'No messages yet.' }));
    box.scrollTop = near ? box.scrollHeight : top;
  }
  function messageEl(m) {
    const a = m.analysis && m.analysis.sentiment;
    const cls = m.from === 'customer' ? ' ' + sentimentClass(a) : '';
    const who = m.from === 'customer' ? 'Customer' : m.from === 'agent' ? (m.agent_name || 'Agent') : m.from === 'bot' ? 'Bot' : 'System';
    const el = h('div', {
      class: 'msg from-' + m.from + cls, 'data-testid': 'transcript-message',
      'data-seq': m.seq ? String(m.seq) : null, 'data-from': m.from,
    }, [
      h('div', { class: 'meta' }, [h('b', { text: who }), h('span', { text: ' · ' + FD.clock(m.at) })]),
      h('div', { class: 'bubble', text: m.text }),
    ]);
    if (a) {
      const v = (a.negative || 0) - (a.positive || 0);
      el.append(h('div', { class: 'analysis' }, [
        h('span', { class: 'pill ' + sentimentClass(a), title: 'negative ' + FD.num(a.negative, 2) + ' · neutral ' + FD.num(a.neutral, 2) + ' · positive ' + FD.num(a.positive, 2),
          text: a.label + ' ' + (v >= 0 ? '+' : '') + v.toFixed(2) }),
        m.analysis.intent && m.analysis.intent.name ? h('span', { class: 'pill', text: 'intent: ' + m.analysis.intent.name }) : null,
        m.analysis.language && m.analysis.language !== 'en'
          ? h('span', { class: 'pill', 'data-testid': 'language', title: 'The customer writes in this language', text: 'language: ' + m.analysis.language }) : null,
      ]));
    }
    if (m.faq_id) el.append(h('div', { class: 'analysis' }, [h('span', { class: 'pill', text: 'FAQ: ' + m.faq_id })]));
    return el;
  }
  function noteEl(n) {
    return h('div', { class: 'note', 'data-testid': 'note' }, [
      h('div', { class: 'meta' }, [h('b', { text: 'Internal note' }), h('span', { text: ' · ' + (n.agent_name || 'Agent') + ' · ' + FD.clock(n.at) })]),
      h('div', { class: 'bubble', text: n.text }),
    ]);
  }

  /** A sparkline of negative − positive over the customer's messages. */
  function renderSparkline() {
    const c = st.convs.get(st.open);
    const box = $('sparkline');
    box.textContent = '';
    const values = c.messages
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
  function renderWhy(c) {
    const box = $('why-body');
    box.textContent = '';
    const item = st.items.find((i) => i.conversation_id === c.id);
    const e = c.escalation || (item && item.reason) || null;
    if (!e) { box.append(h('p', { class: 'muted', text: 'Not escalated: the bot is answering.' })); return; }
    box.append(
      h('p', {}, [h('span', { class: 'chip reason', 'data-testid': 'reason-code', text: e.code || 'unknown' }), ' ', REASONS[e.code] || '']),
      e.message ? h('p', { class: 'why-msg', text: e.message }) : null,
    );
    if (e.scores && typeof e.scores === 'object') {
      const dl = h('dl', { class: 'kv scores' });
      for (const [k, v] of Object.entries(e.scores)) if (v !== null) dl.append(h('dt', { text: k.replace(/_/g, ' ') }), h('dd', { text: typeof v === 'number' ? FD.num(v, 2) : String(v) }));
      box.append(dl);
    }
    if (e.at) box.append(h('p', { class: 'muted small', text: 'at ' + FD.clock(e.at) }));
  }
  function renderCustomer(c) {
    const dl = $('customer-info');
    dl.textContent = '';
    const cu = c.customer;
    const rows = [['Name', cu.name], ['Email', cu.email], ['Own id', cu.external_id], ['Customer since', FD.day(cu.created_at)]];
    for (const [k, v] of rows) if (v) dl.append(h('dt', { text: k }), h('dd', { text: v }));
    if (!dl.childElementCount) dl.append(h('dd', { class: 'muted', text: 'Anonymous visitor' }));
  }
  /** The customer's history: counts, then their earlier conversations.
   * Unknown fields are shown as they come. */
  function renderTimeline(c) {
    const box = $('timeline');
    box.textContent = '';
    const t = c.timeline;
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
  function renderSuggestions(c) {
    const list = $('suggested-list');
    list.textContent = '';
    // A suggestion the models gave no confidence at all is noise.
    const useful = c.suggestions.filter((x) => typeof x.confidence !== 'number' || x.confidence > 0);
    $('suggested').hidden = !useful.length;
    for (const sug of useful) {
      list.append(h('button', { type: 'button', class: 'suggested-reply', 'data-testid': 'suggested-reply', title: sug.answer,
        onclick: () => { setMode('reply'); const i = $('reply-input'); i.value = sug.answer; i.focus(); } }, [
        h('span', { class: 'q', text: sug.question || sug.faq_id }),
        typeof sug.confidence === 'number' ? h('span', { class: 'conf', text: FD.pct(sug.confidence) }) : null,
      ]));
    }
  }

  // ---- composer and actions --------------------------------------------------
  function setMode(mode) {
    $('composer').dataset.mode = mode;
    $('mode-reply').setAttribute('aria-checked', String(mode === 'reply'));
    $('mode-note').setAttribute('aria-checked', String(mode === 'note'));
    const input = $('reply-input');
    input.setAttribute('aria-label', mode === 'note' ? 'Internal note' : 'Reply to the customer');
    input.placeholder = mode === 'note' ? 'Internal note — only agents see this' : 'Write a reply… (Enter sends, Shift+Enter for a new line)';
    $('reply-send').textContent = mode === 'note' ? 'Add note' : 'Send';
    renderHeader();
  }
  $('mode-reply').addEventListener('click', () => setMode('reply'));
  $('mode-note').addEventListener('click', () => setMode('note'));
  $('composer').addEventListener('submit', (e) => {
    e.preventDefault();
    const c = st.convs.get(st.open);
    const input = $('reply-input');
    const text = input.value.trim();
    if (!c || !text) return;
    if ($('composer').dataset.mode === 'note') {
      if (send({ type: 'note', conversation_id: c.id, text })) input.value = '';
      return;
    }
    const clientId = 'a-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
    if (!send({ type: 'message', conversation_id: c.id, client_id: clientId, text })) return;
    c.pending.set(clientId, { text });
    input.value = '';
    renderTranscript(true);
  });
  $('reply-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('reply-input').addEventListener('input', () => {
    const now = Date.now();
    if ($('composer').dataset.mode === 'reply' && st.open && isMine(st.open) && now - lastTyping > 3000) {
      lastTyping = now;
      send({ type: 'typing', conversation_id: st.open });
    }
  });
  const act = (type, extra) => () => st.open && send(Object.assign({ type, conversation_id: st.open }, extra ? extra() : {}));
  $('btn-claim').addEventListener('click', () => st.open && claim(st.open));
  $('btn-hand-back').addEventListener('click', act('hand_back'));
  $('btn-release').addEventListener('click', act('release'));
  $('btn-transfer').addEventListener('click', () => {
    const to = $('transfer-to').value;
    if (!to) { FD.toast('No other agent is online to take it.', 'error'); return; }
    act('transfer', () => ({ agent_id: to }))();
  });
  $('btn-close').addEventListener('click', act('close', () => ({ resolution: $('resolution').value })));

  // ---- stats -------------------------------------------------------------------
  function showTab(name) {
    for (const t of ['inbox', 'stats']) {
      $('tab-' + t).setAttribute('aria-selected', String(t === name));
      $('view-' + t).hidden = t !== name;
    }
    if (name === 'stats') Stats.load(st.token);
  }
  $('tab-inbox').addEventListener('click', () => showTab('inbox'));
  $('tab-stats').addEventListener('click', () => showTab('stats'));
  $('stats-refresh').addEventListener('click', () => Stats.load(st.token));
  setInterval(() => { if (!$('view-stats').hidden && st.token) Stats.load(st.token); }, 30000);

  // ---- start -------------------------------------------------------------------
  $('signout').addEventListener('click', () => FD.signOut(KEY));
  FD.signIn({
    key: KEY,
    check: async (token) => {
      st.token = token;
      return connect(token, true);
    },
    onReady: () => {
      $('conv-empty').hidden = false;
      showTab('inbox');
    },
  });
})();
