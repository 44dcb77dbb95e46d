/* The agent console: the /v1/agent socket (docs/protocol.md, "Agent
 * socket") for the inbox and conversations, REST for the stats. The inbox
 * is drawn by inbox.js, a conversation's panels by briefing.js, alerts by
 * alerts.js. Fields newer servers add (labels, viewers, last_message,
 * refusal, assignment, …) are optional: without them nothing breaks. */
'use strict';

(() => {
  const { h } = FD;
  const $ = (id) => document.getElementById(id);
  const KEY = 'frontdesk:agent-token';
  const WS_URL = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + '/v1/agent';
  const LABEL = /^[\p{L}\p{N} _-]{1,32}$/u;
  const MAX_LABELS = 10;
  const { isQueued, customerName } = Inbox;
  const mineItem = Inbox.isMine;

  const st = {
    token: null,
    me: null, // welcome: agent_id, agent_name, presence, capacity, assignment
    items: [],
    byId: new Map(), // conversation_id -> queue item
    agents: [],
    queueAt: 0, // when the last queue snapshot arrived (ms)
    snapshots: 0, // queue snapshots since the last welcome
    open: null, // conversation_id in view
    convs: new Map(), // conversation_id -> view model
    claiming: new Map(), // conversation_id -> was it in view when claimed
    following: new Set(), // conversations this socket watches or claimed
    noticed: new Set(), // conversations of mine the agent knows are theirs
    unread: new Map(), // conversation_id (mine) -> customer messages not seen
    viewers: new Map(), // conversation_id -> agents who have it open
    labelling: null, // {id, before, sent}: a label change not confirmed yet
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
    if (st.open) follow(st.open, true);
  }
  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) {
      FD.toast('Not connected; try again in a moment.', 'error');
      return false;
    }
    ws.send(JSON.stringify(frame));
    return true;
  }
  /** Watch a conversation: its frames come to this console from now on. */
  function follow(id, fresh) {
    if ((fresh || !st.following.has(id)) && send({ type: 'watch', conversation_id: id })) st.following.add(id);
  }
  function unfollow(id) {
    if (st.following.delete(id)) send({ type: 'unwatch', conversation_id: id });
  }
  function setConn(state, text) {
    const el = $('conn');
    el.dataset.state = state;
    el.textContent = text;
  }

  function onFrame(f) {
    switch (f.type) {
      case 'welcome': onWelcome(f); break;
      case 'queue': onQueue(f); break;
      case 'conversation': onConversation(f); break;
      case 'message': onMessage(f); break;
      case 'note': onNote(f); break;
      case 'typing': onTyping(f); break;
      case 'status': onStatus(f); break;
      case 'ack': onAck(f); break;
      case 'labels': onLabels(f); break;
      case 'viewers': onViewers(f); break;
      case 'assigned': onAssigned(f); break;
      case 'error': onError(f); break;
    }
  }
  function onWelcome(f) {
    st.me = f;
    st.snapshots = 0;
    st.following.clear(); // a new socket follows nothing yet
    $('agent-name').textContent = f.agent_name || '';
    setPresence(f.presence || 'online');
    setConn('online', 'Connected');
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

  // ---- the queue snapshot ------------------------------------------------------
  function onQueue(f) {
    const before = st.snapshots++ ? st.byId : null;
    st.items = Array.isArray(f.items) ? f.items : [];
    st.byId = new Map(st.items.map((i) => [i.conversation_id, i]));
    st.agents = Array.isArray(f.agents) ? f.agents : [];
    st.queueAt = Date.now();
    for (const i of st.items) {
      if (Array.isArray(i.viewers)) st.viewers.set(i.conversation_id, i.viewers);
      const c = st.convs.get(i.conversation_id);
      if (c && Array.isArray(i.labels) && !(st.labelling && st.labelling.id === c.id)) c.labels = i.labels;
    }
    const mine = myAgent();
    if (mine && mine.presence && mine.presence !== 'offline') setPresence(mine.presence);
    if (before) announce(before);
    trackMine();
    Inbox.schedule();
    if (st.open) renderHeader();
    updateTitle();
  }
  function myAgent() {
    return st.me ? st.agents.find((a) => a.id === st.me.agent_id) : null;
  }
  /** What is new since the last snapshot: a conversation waiting, or one
   * that became mine without my claim (a transfer or an automatic
   * assignment, when the server sends no `assigned` frame for it). */
  function announce(before) {
    for (const item of st.items) {
      const id = item.conversation_id;
      const was = before.get(id);
      if (isQueued(item) && !(was && (isQueued(was) || mineItem(was)))) {
        alertAgent('Waiting: ' + (customerName(item) || 'a customer'), Inbox.reasonText(item.reason), id);
      }
      if (mineItem(item) && !st.noticed.has(id) && !st.claiming.has(id)) {
        const by = was && was.assigned && !mineItem(was) ? was.assigned : null;
        tellAssigned(id, by, customerName(item));
      }
    }
  }
  /** Follow every conversation of mine, so its messages come here; forget
   * what is no longer mine. */
  function trackMine() {
    for (const id of st.noticed) if (!isMine(id) && !st.claiming.has(id)) st.noticed.delete(id);
    for (const id of st.unread.keys()) if (!isMine(id)) st.unread.delete(id);
    for (const id of st.following) if (id !== st.open && !isMine(id) && !st.claiming.has(id)) unfollow(id);
    for (const item of st.items) {
      if (!mineItem(item)) continue;
      st.noticed.add(item.conversation_id);
      follow(item.conversation_id);
    }
  }
  function onAssigned(f) {
    const id = f.conversation_id;
    if (!id || st.noticed.has(id)) return;
    const item = st.byId.get(id);
    tellAssigned(id, f.by, f.customer_name || (item && customerName(item)));
    follow(id);
  }
  function tellAssigned(id, by, customer) {
    st.noticed.add(id);
    const text = by && by.name
      ? `${by.name} transferred a conversation with ${customer || 'a customer'} to you`
      : 'A conversation was assigned to you';
    FD.toast(text);
    alertAgent('A conversation for you', text, id);
  }
  // ---- alerts ------------------------------------------------------------------
  /** The tab title counts what waits for me: queued conversations and
   * unread customer messages in mine. */
  function updateTitle() {
    let n = st.items.filter(isQueued).length;
    for (const [id, count] of st.unread) if (isMine(id)) n += count;
    Alerts.count(n);
  }
  function alertAgent(title, body, id) {
    Alerts.notify(title, body, { tag: 'frontdesk-' + id, onClick: () => openConversation(id) });
  }
  document.addEventListener('visibilitychange', () => {
    if (!document.hidden && st.open && st.unread.delete(st.open)) { Inbox.schedule(); updateTitle(); }
  });

  // ---- opening, claiming, watching -----------------------------------------------
  function claim(id) {
    if (!send({ type: 'claim', conversation_id: id })) return;
    st.claiming.set(id, st.open === id);
    st.following.add(id); // a won claim follows the conversation
    if (st.open !== id) {
      if (st.open && !isMine(st.open)) unfollow(st.open);
      select(id);
    }
    Inbox.schedule();
  }
  function openConversation(id) {
    showTab('inbox');
    if (st.open && st.open !== id && !isMine(st.open)) unfollow(st.open);
    select(id);
    follow(id, !st.convs.has(id));
  }
  /** Put a conversation in view (or none), with what is known of it. */
  function select(id) {
    st.open = id;
    if (id && st.unread.delete(id)) updateTitle();
    renderConversation();
    Inbox.markSelection();
    Inbox.schedule();
  }
  function ownerOf(id) {
    const c = st.convs.get(id);
    const item = st.byId.get(id);
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
    const item = st.byId.get(id);
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
      labels: Array.isArray(header.labels) ? header.labels : (item && Array.isArray(item.labels) ? item.labels : (prev ? prev.labels : [])),
      owner: (header.assigned && header.assigned.id) || (header.agent && header.agent.id) || header.agent_id || (prev && prev.owner) || null,
    };
    if (st.claiming.has(id) && st.me) {
      st.claiming.delete(id);
      st.noticed.add(id);
      c.owner = st.me.agent_id;
      Inbox.schedule();
    }
    st.convs.set(id, c);
    st.following.add(id);
    if (st.open !== id) return;
    renderConversation();
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
    const inView = st.open === c.id && !document.hidden;
    if (m.from === 'customer' && isMine(c.id) && !inView) {
      st.unread.set(c.id, (st.unread.get(c.id) || 0) + 1);
      alertAgent('New message from ' + (c.customer.name || c.customer.email || 'your customer'), m.text, c.id);
      Inbox.schedule();
      updateTitle();
    }
    if (st.open !== c.id) return;
    if (m.from === 'customer') $('customer-typing').hidden = true;
    renderTranscript();
    Briefing.sparkline($('sparkline'), c.messages);
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
  function onLabels(f) {
    const labels = Array.isArray(f.labels) ? f.labels : [];
    const l = st.labelling;
    if (l && l.id === f.conversation_id && --l.sent <= 0) st.labelling = null;
    const item = st.byId.get(f.conversation_id);
    if (item) { item.labels = labels; Inbox.schedule(); }
    const c = st.convs.get(f.conversation_id);
    if (!c || (st.labelling && st.labelling.id === c.id)) return;
    c.labels = labels;
    if (st.open === c.id) renderLabels(c);
  }
  function onViewers(f) {
    if (!f.conversation_id) return;
    st.viewers.set(f.conversation_id, Array.isArray(f.agents) ? f.agents : []);
    if (st.byId.has(f.conversation_id)) Inbox.schedule();
    if (st.open === f.conversation_id) renderViewers();
  }
  function onError(f) {
    const id = f.conversation_id;
    const wasOpen = id ? st.claiming.get(id) : undefined;
    if (wasOpen !== undefined) {
      // A claim that lost: do not leave an empty pane selected.
      st.claiming.delete(id);
      if (!wasOpen && st.open === id) select(null);
      Inbox.schedule();
    }
    const c = id && st.convs.get(id);
    if (c && f.client_id && c.pending.has(f.client_id)) {
      c.pending.get(f.client_id).error = f.message;
      if (st.open === c.id) renderTranscript();
    }
    const l = st.labelling;
    if (l && f.code === 'bad_frame' && (!id || id === l.id)) {
      // The server refused the labels (or does not know labels yet).
      st.labelling = null;
      const lc = st.convs.get(l.id);
      if (lc) { lc.labels = l.before; if (st.open === lc.id) renderLabels(lc); }
    }
    FD.toast(refusalText(f), 'error');
  }
  /** Only a lost race (`refusal: "taken"`) is someone else being first. */
  function refusalText(f) {
    const text = f.message || 'That did not work.';
    return f.refusal === 'taken' ? 'Someone else got there first: ' + text : text;
  }

  // ---- one conversation --------------------------------------------------------
  function renderConversation() {
    const c = st.convs.get(st.open);
    $('conv-empty').hidden = !!c;
    $('conv').hidden = !c;
    if (!c) return;
    $('conv').dataset.conversationId = c.id;
    renderHeader();
    renderTranscript(true);
    Briefing.sparkline($('sparkline'), c.messages);
    Briefing.why($('why-body'), c.escalation || (st.byId.get(c.id) || {}).reason || null);
    Briefing.customer($('customer-info'), c.customer);
    Briefing.timeline($('timeline'), c.timeline);
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
      cu.email && cu.name ? h('span', { text: cu.email }) : null,
      c.header.opened_at ? h('span', { text: 'opened ' + FD.day(c.header.opened_at) + ' ' + FD.clock(c.header.opened_at) }) : null,
      mine ? h('span', { class: 'chip mine', text: 'yours' }) : owner ? h('span', { text: 'with another agent' }) : h('span', { text: 'read-only' }),
    ].filter(Boolean));
    renderViewers();
    renderLabels(c);
    const open = status !== 'closed';
    const { full } = Inbox.workload();
    const claimBtn = $('btn-claim');
    claimBtn.hidden = mine || !open || (owner && !mine);
    claimBtn.textContent = status === 'bot' ? 'Take over' : 'Claim';
    claimBtn.disabled = full || st.claiming.has(c.id);
    claimBtn.title = full ? Inbox.capacityText() : '';
    for (const id of ['btn-hand-back', 'btn-release', 'btn-transfer', 'btn-close', 'transfer-to', 'resolution']) {
      $(id).disabled = !mine || !open;
    }
    $('conv-actions').classList.toggle('readonly', !mine);
    renderTransferTargets();
    const input = $('reply-input');
    const noting = $('composer').dataset.mode === 'note';
    input.disabled = !noting && (!mine || !open);
    $('reply-send').disabled = input.disabled;
    $('composer-hint').textContent = noting ? 'Internal notes are seen by agents only, never by the customer.'
      : !open ? 'This conversation is closed.' : mine ? '' : 'Claim the conversation to reply. You can still leave internal notes.';
  }
  function renderTransferTargets() {
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
  }
  function statusOf(c) {
    const item = st.byId.get(c.id);
    return (item && item.status) || c.header.status || 'bot';
  }
  function renderViewers() {
    const others = Inbox.othersViewing(st.open);
    const el = $('conv-viewers');
    el.hidden = !others.length;
    el.textContent = others.length ? 'Also viewing: ' + Inbox.agentNames(others) : '';
  }

  // ---- labels ------------------------------------------------------------------
  function renderLabels(c) {
    const ul = $('label-list');
    ul.textContent = '';
    for (const label of c.labels) {
      ul.append(h('li', { class: 'chip label', 'data-testid': 'label', 'data-label': label }, [
        h('span', { text: label }),
        h('button', { type: 'button', class: 'chip-x', 'data-testid': 'label-remove', 'aria-label': 'Remove the label ' + label,
          title: 'Remove', onclick: () => { setLabels(c, c.labels.filter((l) => l !== label)); $('label-input').focus(); } }, ['×']),
      ]));
    }
    const full = c.labels.length >= MAX_LABELS;
    $('label-input').disabled = full;
    $('label-add').disabled = full;
    $('label-input').placeholder = full ? 'At most 10 labels' : 'Add a label';
    const known = new Set();
    for (const i of st.items) for (const l of i.labels || []) if (!c.labels.includes(l)) known.add(l);
    $('label-options').replaceChildren(...[...known].sort().map((l) => h('option', { value: l })));
  }
  function setLabels(c, labels) {
    if (!send({ type: 'label', conversation_id: c.id, labels })) return;
    const l = st.labelling;
    if (l && l.id === c.id) l.sent++;
    else st.labelling = { id: c.id, before: c.labels, sent: 1 };
    c.labels = labels;
    renderLabels(c);
  }
  $('label-form').addEventListener('submit', (e) => {
    e.preventDefault();
    const c = st.convs.get(st.open);
    if (!c) return;
    const input = $('label-input');
    const label = input.value.trim().toLowerCase().replace(/\s+/g, ' ');
    const problem = !label ? 'Type a label first.'
      : !LABEL.test(label) ? 'A label has 1 to 32 letters, digits, spaces, - or _.'
        : c.labels.length >= MAX_LABELS ? 'A conversation has at most 10 labels.' : '';
    $('label-error').textContent = problem;
    if (problem) return;
    input.value = '';
    if (!c.labels.includes(label)) setLabels(c, [...c.labels, label]);
  });
  $('label-input').addEventListener('input', () => { $('label-error').textContent = ''; });

  // ---- the transcript ------------------------------------------------------------
  function renderTranscript(toBottom) {
    const c = st.convs.get(st.open);
    const box = $('transcript');
    const near = toBottom === true || box.scrollHeight - box.scrollTop - box.clientHeight < 120;
    const top = box.scrollTop;
    box.textContent = '';
    const items = [
      ...c.messages.map((m) => ({ at: m.at, seq: m.seq, el: Briefing.message(m) })),
      ...c.notes.map((n) => ({ at: n.at, seq: Infinity, el: Briefing.note(n) })),
    ];
    items.sort((a, b) => (Date.parse(a.at) || 0) - (Date.parse(b.at) || 0) || a.seq - b.seq);
    for (const r of items) box.append(r.el);
    for (const [cid, p] of c.pending) {
      if (p.seq && c.messages.some((m) => m.seq === p.seq)) continue;
      const el = Briefing.message({ from: 'agent', text: p.text, agent_name: st.me && st.me.agent_name, client_id: cid });
      el.classList.add(p.error ? 'failed' : 'pending');
      el.querySelector('.meta').append(h('span', { text: p.error ? ' · not sent: ' + p.error : p.seq ? ' · sent' : ' · sending…' }));
      box.append(el);
    }
    if (!items.length && !c.pending.size) box.append(h('p', { class: 'muted pad', text: 'No messages yet.' }));
    box.scrollTop = near ? box.scrollHeight : top;
  }
  function renderSuggestions(c) {
    const list = $('suggested-list');
    list.textContent = '';
    // A suggestion the models gave no confidence at all is noise.
    const useful = c.suggestions.filter((x) => typeof x.confidence !== 'number' || x.confidence > 0);
    $('suggested').hidden = !useful.length;
    for (const sug of useful) {
      list.append(h('button', { type: 'button', class: 'suggested-reply', 'data-testid': 'suggested-reply', title: sug.answer,
        onclick: () => { setMode('reply'); const i = $('reply-input'); i.value = sug.answer; fitComposer(); i.focus(); } }, [
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
  /** The composer grows with its text up to a limit, then scrolls; sent,
   * it is one line again. */
  function fitComposer() {
    const input = $('reply-input');
    input.style.height = 'auto';
    const needed = input.scrollHeight + input.offsetHeight - input.clientHeight;
    const max = Math.max(120, Math.round(window.innerHeight * 0.3));
    input.style.height = Math.min(needed, max) + 'px';
    input.style.overflowY = needed > max ? 'auto' : 'hidden';
  }
  function clearComposer() {
    const input = $('reply-input');
    input.value = '';
    input.style.height = '';
    input.style.overflowY = '';
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
      if (send({ type: 'note', conversation_id: c.id, text })) clearComposer();
      return;
    }
    const clientId = 'a-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10);
    if (!send({ type: 'message', conversation_id: c.id, client_id: clientId, text })) return;
    c.pending.set(clientId, { text });
    clearComposer();
    renderTranscript(true);
  });
  $('reply-input').addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      $('composer').requestSubmit();
    }
  });
  $('reply-input').addEventListener('input', () => {
    fitComposer();
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

  // ---- views: inbox, stats and the tools ------------------------------------------
  const VIEWS = ['inbox', 'stats', 'search', 'replies'];
  const tool = (name) => (name === 'search' ? (typeof Search !== 'undefined' ? Search : null)
    : name === 'replies' ? (typeof Canned !== 'undefined' ? Canned : null) : null);
  function showTab(name) {
    const current = VIEWS.find((t) => $('tab-' + t) && $('tab-' + t).getAttribute('aria-selected') === 'true');
    for (const t of VIEWS) {
      const tab = $('tab-' + t);
      if (!tab) continue;
      tab.setAttribute('aria-selected', String(t === name));
      tab.tabIndex = t === name ? 0 : -1;
      $('view-' + t).hidden = t !== name;
    }
    if (name === current && name !== 'stats') return;
    if (name === 'stats') Stats.load(st.token);
    const t = tool(name);
    if (t && typeof t.show === 'function') t.show();
  }
  for (const t of VIEWS) {
    const tab = $('tab-' + t);
    if (tab) tab.addEventListener('click', () => showTab(t));
  }
  $('tab-inbox').parentElement.addEventListener('keydown', (e) => FD.arrowTabs(e, (tab) => showTab(tab.id.slice(4))));
  if ($('stats-refresh')) $('stats-refresh').addEventListener('click', () => Stats.load(st.token));
  setInterval(() => { if (!$('view-stats').hidden && st.token) Stats.load(st.token); }, 30000);

  /** The tools other scripts add (canned replies, search), when present. */
  function attachTools() {
    const canned = tool('replies');
    if (canned && typeof canned.init === 'function') canned.init({ token: st.token });
    if (canned && typeof canned.attach === 'function') {
      canned.attach($('reply-input'), () => {
        const c = st.convs.get(st.open);
        const cu = (c && c.customer) || {};
        return { name: cu.name || '', email: cu.email || '', agent: (st.me && st.me.agent_name) || '' };
      });
    }
    const search = tool('search');
    if (search && typeof search.init === 'function') search.init({ token: st.token, open: openConversation });
  }

  // ---- start -------------------------------------------------------------------
  Inbox.init({ st, open: openConversation, claim });
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
      attachTools();
    },
  });
})();
