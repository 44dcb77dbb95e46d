/* The console's inbox: the queue snapshot (docs/protocol.md, "The
 * queue") as three tabs, Mine, Queued and All open, and the agents.
 *
 * Snapshots come whole and often, and the queue may hold hundreds of
 * conversations: rows are keyed by conversation and rebuilt only when
 * what they show changed (FD.reconcile), bursts of snapshots are drawn
 * once, and the waiting times tick in place. So the selection, the focus
 * and the scroll position survive every snapshot. */
'use strict';

const Inbox = (() => {
  const { h } = FD;
  const $ = (id) => document.getElementById(id);
  const REASONS = FD.REASONS;
  const WHO = { customer: 'Customer', bot: 'Bot', agent: 'Agent', system: 'System' };
  const EMPTY = { mine: 'No conversations of yours right now.', queued: 'Nobody is waiting.', all: 'No open conversations.' };
  const rows = new Map(); // conversation_id -> {el, sig}
  let desk = null; // {st, open(id), claim(id)} from app.js
  let tab = 'queued';
  let timer = 0;

  const isQueued = (i) => i.status === 'queued' || (!i.assigned && i.status !== 'agent');
  const isMine = (i) => !!(desk.st.me && i.assigned && i.assigned.id === desk.st.me.agent_id);
  const TABS = { mine: isMine, queued: isQueued, all: () => true };
  /** The customer's name, else their email; null for an anonymous one. */
  const customerName = (i) => i.customer_name || i.customer_email || null;
  const reasonText = (reason) => (reason && (REASONS[reason.code] || reason.code)) || 'Escalated';
  const agentNames = (agents) => agents.map((a) => a.name || 'an agent').join(', ');

  function me() {
    const st = desk.st;
    return st.me ? st.agents.find((a) => a.id === st.me.agent_id) : null;
  }
  /** My load against my capacity, from the snapshot's agents (the
   * welcome's capacity while I am not listed). */
  function workload() {
    const a = me();
    const st = desk.st;
    const capacity = a && typeof a.capacity === 'number' ? a.capacity : st.me && st.me.capacity;
    const active = a && typeof a.active === 'number' ? a.active : st.items.filter(isMine).length;
    return { active, capacity, full: typeof capacity === 'number' && active >= capacity };
  }
  function capacityText() {
    const { active } = workload();
    return `You have ${active} conversation${active === 1 ? '' : 's'}, the most you may have at once: ` +
      'close, release or transfer one to claim another.';
  }
  /** The other agents who have a conversation open, each once. */
  function othersViewing(id) {
    const st = desk.st;
    const mine = st.me && st.me.agent_id;
    const seen = new Set();
    return (st.viewers.get(id) || []).filter((a) => a && a.id !== mine && !seen.has(a.id) && seen.add(a.id));
  }

  /** Snapshots come in bursts: draw once per burst. */
  function schedule() {
    if (!timer) timer = setTimeout(() => { timer = 0; render(); }, 16);
  }
  function render() {
    const st = desk.st;
    for (const t of Object.keys(TABS)) {
      $('count-' + t).textContent = String(st.items.filter(TABS[t]).length);
      const b = $('qtab-' + t);
      b.setAttribute('aria-selected', String(t === tab));
      b.tabIndex = t === tab ? 0 : -1;
    }
    $('queue-panel').setAttribute('aria-labelledby', 'qtab-' + tab);
    const shown = st.items.filter(TABS[tab]);
    const { full } = workload();
    FD.reconcile($('queue-list'), rows, shown, (i) => i.conversation_id, (i) => signature(i, full), (i) => row(i, full));
    markSelection();
    $('queue-empty').hidden = shown.length > 0;
    $('queue-empty').textContent = EMPTY[tab];
    $('queue-auto').hidden = !(tab === 'queued' && st.me && st.me.assignment === 'auto');
    $('queue-full').hidden = !(tab !== 'mine' && full);
    $('queue-full').textContent = full ? capacityText() : '';
    agentList();
  }
  /** Everything a row shows but the waiting time, which ticks by itself
   * (viewers count without me: `othersViewing`). */
  function signature(item, full) {
    const { waiting_secs: _waiting, viewers: _viewers, ...shown } = item;
    const st = desk.st;
    const id = item.conversation_id;
    return JSON.stringify([shown, full, st.claiming.has(id), st.unread.get(id) || 0, othersViewing(id), st.me && st.me.agent_id]);
  }
  function markSelection() {
    for (const [id, r] of rows) {
      const on = id === desk.st.open;
      r.el.classList.toggle('selected', on);
      r.el.querySelector('.qmain').setAttribute('aria-current', String(on));
    }
  }

  function row(item, full) {
    const id = item.conversation_id;
    const reason = item.reason || {};
    const queued = isQueued(item);
    const name = customerName(item);
    const unread = desk.st.unread.get(id) || 0;
    const others = othersViewing(id);
    return h('li', {
      class: 'queue-item ' + FD.sentimentClass(item.sentiment) + (item.overdue ? ' overdue' : '') + (queued ? ' can-claim' : ''),
      'data-testid': 'queue-item', 'data-conversation-id': id, 'data-status': item.status || '',
    }, [
      h('button', { type: 'button', class: 'qmain', 'data-testid': 'queue-open', onclick: () => desk.open(id),
        'aria-label': 'Open the conversation with ' + (name || 'a customer') + (unread ? ', ' + unread + ' unread' : '') }, [
        h('span', { class: 'sent-dot', title: item.sentiment ? 'Sentiment: ' + item.sentiment.label : 'No sentiment yet' }),
        h('span', { class: 'qtext' }, [
          h('span', { class: 'qline top' }, [
            h('strong', { class: 'qname', 'data-testid': 'queue-name', title: name, text: name || 'Customer' }),
            unread ? h('span', { class: 'badge green', 'data-testid': 'unread', text: String(unread) }) : null,
            h('span', { class: 'wait', 'data-testid': 'wait', 'data-conversation-id': id, text: FD.duration(waited(item)) }),
          ]),
          h('span', { class: 'qline sub' }, [
            h('span', { class: 'reason', title: reason.message || '', text: reasonText(reason) }),
            queued && item.position ? h('span', { class: 'pos', text: '#' + item.position }) : null,
            item.overdue ? h('span', { class: 'badge red', 'data-testid': 'overdue', text: 'Overdue' }) : null,
            item.assigned && !isMine(item) ? h('span', { class: 'with', text: 'with ' + item.assigned.name }) : null,
          ]),
          preview(item.last_message),
          labels(item.labels),
          others.length ? h('span', { class: 'qviewers', 'data-testid': 'queue-viewers', text: 'Open for ' + agentNames(others) }) : null,
        ]),
      ]),
      queued ? claimButton(id, name, full) : null,
    ]);
  }
  function claimButton(id, name, full) {
    const busy = desk.st.claiming.has(id);
    return h('button', { type: 'button', class: 'btn primary small claim', 'data-testid': 'claim',
      disabled: full || busy, 'aria-busy': busy ? 'true' : null, title: full ? capacityText() : null,
      'aria-describedby': full ? 'queue-full' : null,
      'aria-label': 'Claim the conversation with ' + (name || 'a customer'), onclick: () => desk.claim(id) }, [busy ? 'Claiming…' : 'Claim']);
  }
  /** The last message on one line: who, then what. */
  function preview(last) {
    if (!last || typeof last.text !== 'string') return null;
    return h('span', { class: 'qpreview', 'data-testid': 'preview', dir: 'auto', title: last.text }, [
      h('b', { text: (WHO[last.from] || last.from || '') + ': ' }), last.text,
    ]);
  }
  function labels(list) {
    if (!Array.isArray(list) || !list.length) return null;
    return h('span', { class: 'chips', 'aria-label': 'Labels' },
      list.map((l) => h('span', { class: 'chip label', 'data-testid': 'queue-label', text: l })));
  }

  function waited(item) {
    const base = typeof item.waiting_secs === 'number' ? item.waiting_secs
      : (Date.now() - Date.parse(item.escalated_at)) / 1000;
    return base + (Date.now() - desk.st.queueAt) / 1000;
  }
  function tick() {
    for (const el of $('queue-list').querySelectorAll('.wait[data-conversation-id]')) {
      const item = desk.st.byId.get(el.dataset.conversationId);
      const text = item ? FD.duration(waited(item)) : null;
      if (text && el.textContent !== text) el.textContent = text;
    }
  }

  function agentList() {
    const st = desk.st;
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

  function init(d) {
    desk = d;
    const bar = document.querySelector('.queue-tabs');
    const show = (b) => { tab = b.dataset.tab; render(); };
    for (const b of bar.querySelectorAll('[role=tab]')) b.addEventListener('click', () => show(b));
    bar.addEventListener('keydown', (e) => FD.arrowTabs(e, show));
    setInterval(tick, 1000);
  }

  return {
    init, schedule, render, markSelection,
    isQueued, isMine, customerName, reasonText, agentNames, workload, capacityText, othersViewing,
  };
})();
