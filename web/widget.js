/* frontdesk chat widget: one <script src=".../widget.js"> tag, protocol v1
 * (docs/protocol.md). Vanilla JS in a Shadow DOM; no dependencies.
 * Attributes: data-title, data-color, data-greeting, data-customer-name,
 * data-customer-email, data-external-id with data-signature (the site
 * backend's HMAC of the id; docs/protocol.md). */
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script || window.frontdeskWidget) return;
  var SRC = new URL(script.src, location.href);
  var WS_URL = (SRC.protocol === 'https:' ? 'wss://' : 'ws://') + SRC.host + '/v1/chat';
  var KEY = 'frontdesk:' + SRC.origin;
  var MAX_CHARS = 2000, KEEP = 200;
  var ds = script.dataset;
  var title = ds.title || 'Chat with us';
  var greeting = ds.greeting || 'Hi! How can we help you today?';
  // Replaced by the server's own wording (bot.disclosure) on welcome.
  var DISCLOSURE = 'You are chatting with our automated assistant. You can ask for a person at any time.';
  var color = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.test(ds.color || '') ? ds.color : '#1f6f5c';
  var customer = {};
  if (ds.customerName) customer.name = ds.customerName;
  if (ds.customerEmail) customer.email = ds.customerEmail;
  if (ds.externalId) customer.external_id = ds.externalId;
  if (ds.signature) customer.signature = ds.signature;

  // ---- state, persisted per server origin --------------------------------
  var st = load();
  function load() {
    var s = {};
    try { s = JSON.parse(localStorage.getItem(KEY)) || {}; } catch (e) { s = {}; }
    return {
      token: s.token || null,
      lastSeq: s.lastSeq || 0,
      messages: Array.isArray(s.messages) ? s.messages : [],
      pending: Array.isArray(s.pending) ? s.pending : [],
      status: s.status || 'bot',
      statusFrame: s.statusFrame || null,
      voted: s.voted || {},
      rated: s.rated || 0,
      contactSent: !!s.contactSent,
      disclosure: typeof s.disclosure === 'string' ? s.disclosure : DISCLOSURE
    };
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* private mode */ }
  }
  var ws = null, welcomed = false, attempt = 0, retryTimer = null, stopped = false;
  var lastTyping = 0, typingTimer = null, unread = 0;

  // ---- DOM ---------------------------------------------------------------
  function h(tag, attrs, kids) {
    var el = document.createElement(tag);
    for (var k in attrs || {}) {
      if (k === 'text') el.textContent = attrs[k];
      else if (k === 'html') el.innerHTML = attrs[k];
      else if (k.slice(0, 2) === 'on') el.addEventListener(k.slice(2), attrs[k]);
      else if (attrs[k] !== null && attrs[k] !== false) el.setAttribute(k, attrs[k] === true ? '' : attrs[k]);
    }
    (kids || []).forEach(function (c) { if (c) el.appendChild(typeof c === 'string' ? document.createTextNode(c) : c); });
    return el;
  }
  var ICON_CHAT = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z"/></svg>';
  var ICON_X = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M6 6l12 12M18 6L6 18"/></svg>';
  var ICON_SEND = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M3 20l18-8L3 4l3 8-3 8zm3-8h8"/></svg>';
  var ICON_END = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M15 4h3a2 2 0 0 1 2 2v12a2 2 0 0 1-2 2h-3M10 17l5-5-5-5M15 12H4"/></svg>';
  var ICON_UP = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M7 10v11H3V10zm0 0l4-8a3 3 0 0 1 3 3v4h5.5a2 2 0 0 1 2 2.3l-1.4 8A2 2 0 0 1 18.1 21H7"/></svg>';
  var ICON_DOWN = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M17 14V3h4v11zm0 0l-4 8a3 3 0 0 1-3-3v-4H4.5a2 2 0 0 1-2-2.3l1.4-8A2 2 0 0 1 5.9 3H17"/></svg>';
  var ICON_STAR = '<svg viewBox="0 0 24 24" aria-hidden="true"><path d="M12 2.5l2.9 6.1 6.6.8-4.9 4.6 1.3 6.6L12 17.3l-5.9 3.3 1.3-6.6-4.9-4.6 6.6-.8z"/></svg>';

  var host = h('div', { id: 'frontdesk-widget' });
  host.style.setProperty('display', 'none');
  host.style.setProperty('--fd-accent', color);
  host.style.setProperty('--fd-on-accent', onAccent(color));
  var root = host.attachShadow({ mode: 'open' });
  var css = h('link', { rel: 'stylesheet', href: new URL('widget.css', SRC).href });
  css.addEventListener('load', function () { host.style.removeProperty('display'); });
  css.addEventListener('error', function () { host.style.removeProperty('display'); });

  var badge = h('span', { class: 'badge', 'data-testid': 'unread', hidden: true });
  var launcher = h('button', { class: 'launcher', id: 'launcher', 'data-testid': 'launcher', type: 'button',
    'aria-label': 'Open chat', 'aria-expanded': 'false', 'aria-controls': 'panel', onclick: function () { toggle(true); } },
    [h('span', { html: ICON_CHAT }), badge]);
  var subtitle = h('p', { class: 'subtitle', id: 'subtitle', 'data-testid': 'connection' }, ['Connecting…']);
  var endBtn = h('button', { class: 'icon', type: 'button', id: 'end', 'data-testid': 'end-chat', 'aria-label': 'End chat',
    title: 'End chat', html: ICON_END, onclick: askEnd });
  var closeBtn = h('button', { class: 'icon', type: 'button', id: 'close', 'data-testid': 'close', 'aria-label': 'Close chat window',
    html: ICON_X, onclick: function () { toggle(false); } });
  var confirmBar = h('div', { class: 'confirm', id: 'confirm', hidden: true }, [
    h('span', { text: 'End this conversation?' }),
    h('button', { type: 'button', class: 'btn-primary', 'data-testid': 'end-confirm', onclick: endChat }, ['End chat']),
    h('button', { type: 'button', class: 'btn-ghost', onclick: function () { confirmBar.hidden = true; endBtn.focus(); } }, ['Cancel'])
  ]);
  var banner = h('div', { class: 'banner', id: 'banner', 'data-testid': 'status-banner', role: 'status', hidden: true });
  var log = h('div', { class: 'log', id: 'log', 'data-testid': 'log', role: 'log', 'aria-live': 'polite',
    'aria-label': 'Conversation', tabindex: '0' });
  var typing = h('div', { class: 'typing', id: 'typing', 'data-testid': 'typing', hidden: true }, [
    h('span', { class: 'dots', 'aria-hidden': 'true' }, [h('i'), h('i'), h('i')]), h('span', { class: 'who' })]);
  var input = h('textarea', { id: 'input', 'data-testid': 'input', rows: '1', maxlength: String(MAX_CHARS),
    placeholder: 'Type your message…', 'aria-label': 'Your message' });
  var sendBtn = h('button', { type: 'submit', class: 'send', id: 'send', 'data-testid': 'send', 'aria-label': 'Send message', html: ICON_SEND });
  var composer = h('form', { class: 'composer', id: 'composer', 'data-testid': 'composer', novalidate: true }, [input, sendBtn]);
  var contactEmail = h('input', { type: 'email', id: 'contact-email', 'data-testid': 'contact-email', required: true,
    autocomplete: 'email', placeholder: 'you@example.com', value: customer.email || null });
  var contactText = h('textarea', { id: 'contact-text', 'data-testid': 'contact-text', rows: '3', required: true, maxlength: String(MAX_CHARS) });
  var contactError = h('p', { class: 'form-error', role: 'alert' });
  var contact = h('form', { class: 'card contact', id: 'contact', 'data-testid': 'contact-form', hidden: true, novalidate: true }, [
    h('h3', { text: 'Nobody is available right now' }),
    h('p', { text: 'Leave your email and a message, and we will get back to you.' }),
    h('label', { for: 'contact-email' }, ['Email']), contactEmail,
    h('label', { for: 'contact-text' }, ['Message']), contactText, contactError,
    h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'contact-submit' }, ['Send'])
  ]);
  var stars = h('div', { class: 'stars', role: 'group', 'aria-label': 'Rate this conversation' });
  for (var i = 1; i <= 5; i++) stars.appendChild(h('button', { type: 'button', class: 'star', 'data-score': String(i),
    'data-testid': 'rating-star', 'aria-label': i + (i === 1 ? ' star' : ' stars'), html: ICON_STAR, onclick: rate }));
  var rated = h('p', { class: 'thanks', 'data-testid': 'rating-thanks', hidden: true });
  var closed = h('div', { class: 'card closed', id: 'closed', 'data-testid': 'closed', hidden: true }, [
    h('h3', { text: 'This conversation has ended' }),
    h('p', { text: 'How did we do?' }), stars, rated,
    h('button', { type: 'button', class: 'btn-primary', id: 'new', 'data-testid': 'new-conversation', onclick: restart }, ['Start a new conversation'])
  ]);
  var panel = h('div', { class: 'panel', id: 'panel', 'data-testid': 'panel', role: 'dialog', 'aria-modal': 'false',
    'aria-labelledby': 'title', hidden: true }, [
    h('header', { class: 'head' }, [
      h('div', { class: 'avatar', 'aria-hidden': 'true', html: ICON_CHAT }),
      h('div', { class: 'titles' }, [h('h2', { id: 'title', text: title }), subtitle]),
      endBtn, closeBtn
    ]),
    confirmBar, banner, log, typing, contact, closed, composer,
    h('p', { class: 'powered' }, ['Powered by frontdesk'])
  ]);
  root.append(css, launcher, panel);

  function onAccent(hex) {
    var c = hex.length === 4 ? hex.replace(/[0-9a-f]/gi, '$&$&').slice(1) : hex.slice(1);
    var rgb = [0, 2, 4].map(function (i) { var v = parseInt(c.substr(i, 2), 16) / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
    return 0.2126 * rgb[0] + 0.7152 * rgb[1] + 0.0722 * rgb[2] > 0.45 ? '#111827' : '#ffffff';
  }

  // ---- panel ---------------------------------------------------------------
  function toggle(open, quiet) {
    panel.hidden = !open;
    launcher.setAttribute('aria-expanded', String(open));
    host.toggleAttribute('data-open', open);
    try { sessionStorage.setItem(KEY + ':open', open ? '1' : ''); } catch (e) { /* ignore */ }
    if (open) {
      unread = 0; showUnread();
      if (!ws) connect();
      scrollDown();
      if (!quiet) (composer.hidden ? (closed.hidden ? closeBtn : closed.querySelector('button')) : input).focus();
    } else {
      confirmBar.hidden = true;
      if (!quiet) launcher.focus();
    }
  }
  panel.addEventListener('keydown', function (e) {
    if (e.key === 'Escape') { e.preventDefault(); toggle(false); }
  });
  function showUnread() {
    badge.hidden = !unread;
    badge.textContent = unread > 9 ? '9+' : String(unread);
    launcher.setAttribute('aria-label', unread ? 'Open chat (' + unread + ' new)' : 'Open chat');
  }
  function scrollDown() { log.scrollTop = log.scrollHeight; stick = true; }
  // Keep the newest message in view when the panel resizes (rotation, the
  // phone keyboard) unless the reader scrolled up. Only the reader's own
  // scrolling counts: a resize may move scrollTop by itself.
  var stick = true, touched = 0;
  ['wheel', 'touchmove', 'keydown', 'pointerdown'].forEach(function (t) {
    log.addEventListener(t, function (e) {
      if (t !== 'pointerdown' || e.target === log) touched = Date.now(); // the scrollbar, not a button
    }, { passive: true });
  });
  log.addEventListener('scroll', function () {
    if (Date.now() - touched < 1000) stick = log.scrollHeight - log.scrollTop - log.clientHeight < 40;
  });
  if (window.ResizeObserver) new ResizeObserver(function () { if (stick) log.scrollTop = log.scrollHeight; }).observe(log);

  // ---- transcript --------------------------------------------------------
  function who(m) {
    if (m.from === 'agent') return m.agent_name || 'Support';
    if (m.from === 'customer') return 'You';
    if (m.from === 'system') return '';
    return 'Assistant';
  }
  function clock(at) {
    var d = at ? new Date(at) : null;
    return d && !isNaN(d) ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
  }
  function messageEl(m) {
    var el = h('div', { class: 'msg from-' + m.from, 'data-testid': 'message', 'data-from': m.from,
      'data-seq': m.seq ? String(m.seq) : null, 'data-client-id': m.client_id || null, 'data-faq-id': m.faq_id || null });
    var meta = [who(m), clock(m.at)].filter(Boolean).join(' · ');
    if (m.from === 'agent') el.appendChild(h('span', { class: 'agent-initial', 'aria-hidden': 'true', text: who(m).charAt(0).toUpperCase() }));
    el.appendChild(h('div', { class: 'body' }, [
      h('div', { class: 'meta', 'data-testid': 'message-meta', text: meta }),
      h('div', { class: 'bubble', 'data-testid': 'message-text', text: m.text })
    ]));
    var body = el.lastChild;
    if (m.from === 'bot' && m.suggestions && m.suggestions.length) {
      body.appendChild(h('div', { class: 'chips' }, m.suggestions.map(function (s) {
        return h('button', { type: 'button', class: 'chip', 'data-testid': 'suggestion', onclick: function () { send(s); } }, [s]);
      })));
    } else if (m.from === 'bot' && m.seq && m.faq_id) {
      body.appendChild(feedbackEl(m.seq));
    }
    return el;
  }
  function feedbackEl(seq) {
    var box = h('div', { class: 'feedback', 'data-testid': 'feedback' });
    function done() { box.textContent = st.voted[seq] ? 'Thanks for your feedback!' : 'Thanks — we will use this to improve.'; }
    function vote(helpful) {
      return function () {
        if (!frame({ type: 'feedback', seq: seq, helpful: helpful })) return;
        st.voted[seq] = helpful; save(); done();
      };
    }
    if (seq in st.voted) { done(); return box; }
    box.append(h('span', { text: 'Was this helpful?' }),
      h('button', { type: 'button', class: 'vote', 'data-testid': 'feedback-yes', 'aria-label': 'Yes, this helped', title: 'Yes', html: ICON_UP, onclick: vote(true) }),
      h('button', { type: 'button', class: 'vote', 'data-testid': 'feedback-no', 'aria-label': 'No, this did not help', title: 'No', html: ICON_DOWN, onclick: vote(false) }));
    return box;
  }
  function insert(el, seq) {
    var after = null;
    if (seq) {
      var nodes = log.querySelectorAll('[data-seq]');
      for (var i = 0; i < nodes.length; i++) if (+nodes[i].dataset.seq > seq) { after = nodes[i]; break; }
    }
    log.insertBefore(el, after);
    tidyChips();
  }
  function tidyChips() {
    var msgs = log.querySelectorAll('.msg');
    for (var i = 0; i < msgs.length; i++) {
      var c = msgs[i].querySelector('.chips');
      if (c) c.hidden = i !== msgs.length - 1;
    }
  }
  function notice(text, kind) {
    log.appendChild(h('div', { class: 'notice' + (kind ? ' ' + kind : ''), 'data-testid': 'notice', text: text }));
    scrollDown();
  }
  function pendingEl(p) {
    var el = messageEl({ from: 'customer', text: p.text, client_id: p.client_id });
    el.classList.add('pending');
    el.querySelector('.meta').textContent = 'You · sending…';
    return el;
  }
  function byClientId(id) { return log.querySelector('.msg[data-client-id="' + CSS.escape(id) + '"]'); }
  function render() {
    log.textContent = '';
    log.appendChild(h('div', { class: 'msg from-bot greeting', 'data-testid': 'greeting' }, [
      h('div', { class: 'body' }, [h('div', { class: 'meta', text: 'Assistant' }), h('div', { class: 'bubble' }, [
        h('div', { text: greeting }),
        h('div', { class: 'disclosure', 'data-testid': 'disclosure', text: st.disclosure })])])]));
    st.messages.forEach(function (m) { insert(messageEl(m), m.seq); });
    st.pending.forEach(function (p) { log.appendChild(pendingEl(p)); if (p.failed) failed(p, p.failed); });
    applyStatus(st.statusFrame || { status: st.status }, false);
    scrollDown();
  }

  // ---- socket --------------------------------------------------------------
  function setConn(state, text) {
    host.setAttribute('data-connection', state);
    subtitle.textContent = text;
  }
  function connect() {
    clearTimeout(retryTimer);
    stopped = false; welcomed = false;
    setConn('connecting', attempt ? 'Reconnecting…' : 'Connecting…');
    var sock;
    try { sock = new WebSocket(WS_URL); } catch (e) { return retry(); }
    ws = sock;
    sock.onopen = function () {
      var hello = { type: 'hello' };
      if (st.token) { hello.resume_token = st.token; hello.last_seq = st.lastSeq; }
      if (Object.keys(customer).length) hello.customer = customer;
      sock.send(JSON.stringify(hello));
    };
    sock.onmessage = function (e) {
      if (ws !== sock) return;
      var f;
      try { f = JSON.parse(e.data); } catch (err) { return; }
      onFrame(f);
    };
    sock.onclose = function (e) {
      if (ws !== sock) return;
      ws = null; welcomed = false;
      if (e.code === 4001) {
        // The conversation was erased: keep nothing of it here either.
        stopped = true;
        var disclosure = st.disclosure;
        try { localStorage.removeItem(KEY); } catch (err) { /* private mode */ }
        st = load(); st.disclosure = disclosure;
        render();
        setConn('offline', 'Conversation deleted');
        notice('This conversation has been deleted.', 'info');
        log.lastChild.appendChild(h('button', { type: 'button', class: 'link', 'data-testid': 'reconnect',
          onclick: function () { attempt = 0; connect(); } }, ['Start a new chat']));
      } else if (e.code === 1008 || e.code === 1009) {
        stopped = true;
        setConn('offline', 'Disconnected');
        notice(e.reason === 'too many connections' ? 'Too many chats are open from your network. Close a few and reconnect.'
          : 'The chat was disconnected.', 'error');
        log.lastChild.appendChild(h('button', { type: 'button', class: 'link', 'data-testid': 'reconnect',
          onclick: function () { attempt = 0; connect(); } }, ['Reconnect']));
      } else retry();
    };
  }
  function retry() {
    setConn('offline', 'Reconnecting…');
    var base = Math.min(30000, 500 * Math.pow(2, attempt++));
    retryTimer = setTimeout(connect, base / 2 + Math.random() * base / 2);
  }
  window.addEventListener('online', function () { if (!ws && !stopped && (st.token || !panel.hidden)) { attempt = 0; connect(); } });
  function frame(f) {
    if (!ws || !welcomed || ws.readyState !== 1) return false;
    ws.send(JSON.stringify(f));
    return true;
  }

  function onFrame(f) {
    switch (f.type) {
      case 'welcome': return onWelcome(f);
      case 'message': return onMessage(f);
      case 'ack': return onAck(f);
      case 'typing': return showTyping(f.from);
      case 'status': return applyStatus(f, true);
      case 'error': return onError(f);
    }
  }
  function onWelcome(f) {
    attempt = 0; welcomed = true;
    if (!f.resumed && st.token && st.token !== f.resume_token) {
      // The server did not know the old conversation: start clean.
      st.messages = []; st.lastSeq = 0; st.voted = {}; st.rated = 0; st.contactSent = false; st.statusFrame = null;
      render();
    }
    st.token = f.resume_token;
    if (typeof f.disclosure === 'string' && f.disclosure !== st.disclosure) {
      st.disclosure = f.disclosure;
      var d = log.querySelector('[data-testid="disclosure"]');
      if (d) d.textContent = f.disclosure;
    }
    var detail = st.statusFrame && st.statusFrame.status === f.status ? st.statusFrame : { status: f.status };
    applyStatus(detail, false);
    save();
    setConn('online', st.status === 'agent' && detail.agent_name ? 'Chatting with ' + detail.agent_name : 'Online · replies in seconds');
    if (f.status === 'closed') {
      st.pending.forEach(function (p) { failed(p, 'This conversation has ended.'); });
    } else {
      st.pending.forEach(function (p) { if (!p.failed) transmit(p); });
    }
  }
  function onMessage(f) {
    if (!f.seq || f.seq <= st.lastSeq || log.querySelector('[data-seq="' + f.seq + '"]')) return; // seen: never twice
    var m = { seq: f.seq, from: f.from, text: f.text, at: f.at };
    ['client_id', 'agent_name', 'suggestions', 'faq_id'].forEach(function (k) { if (f[k]) m[k] = f[k]; });
    st.lastSeq = f.seq;
    st.messages.push(m);
    if (st.messages.length > KEEP) st.messages.splice(0, st.messages.length - KEEP);
    var local = m.client_id && byClientId(m.client_id);
    if (local) local.remove();
    st.pending = st.pending.filter(function (p) { return p.client_id !== m.client_id; });
    save();
    var near = log.scrollHeight - log.scrollTop - log.clientHeight < 80;
    insert(messageEl(m), m.seq);
    if (m.from !== 'customer') {
      hideTyping();
      if (panel.hidden) { unread++; showUnread(); }
    }
    if (near || m.from === 'customer') scrollDown();
  }
  function onAck(f) {
    var p = st.pending.filter(function (q) { return q.client_id === f.client_id; })[0];
    if (!p) return;
    st.pending.splice(st.pending.indexOf(p), 1);
    if (p.kind === 'contact') {
      st.contactSent = true;
      contact.hidden = true;
      notice('Thanks! We will get back to you at ' + p.email + '.');
    }
    save();
    var el = byClientId(f.client_id);
    if (el && el.classList.contains('pending')) {
      el.classList.remove('pending');
      el.querySelector('.meta').textContent = 'You · sent';
    }
  }
  function showTyping(from) {
    typing.querySelector('.who').textContent = (from === 'agent' ? (st.statusFrame && st.statusFrame.agent_name || 'An agent') : 'Assistant') + ' is typing…';
    typing.hidden = false;
    clearTimeout(typingTimer);
    typingTimer = setTimeout(hideTyping, from === 'agent' ? 6000 : 20000);
    scrollDown();
  }
  function hideTyping() { typing.hidden = true; clearTimeout(typingTimer); }

  var FRIENDLY = {
    rate_limited: 'You are sending messages quickly. We will send this in a moment.',
    too_large: 'That message is too long. Please shorten it.',
    conflict: 'This conversation has ended. Start a new one to keep chatting.',
    unavailable: 'The assistant cannot answer right now. Please try again in a moment.',
    internal: 'Something went wrong on our side. Please try again.'
  };
  function onError(f) {
    var text = FRIENDLY[f.code] || 'Sorry, that did not work. Please try again.';
    var p = f.client_id && st.pending.filter(function (q) { return q.client_id === f.client_id; })[0];
    if (!p) { if (f.code !== 'conflict') notice(text, 'error'); hideTyping(); return; }
    if (f.code === 'rate_limited' || f.code === 'unavailable' || f.code === 'internal') {
      setTimeout(function () { if (st.pending.indexOf(p) >= 0) transmit(p); }, 2000 + Math.random() * 2000);
      return;
    }
    if (f.code === 'conflict') applyStatus({ status: 'closed' }, false);
    failed(p, text);
  }
  function failed(p, text) {
    p.failed = text; save();
    var el = byClientId(p.client_id);
    if (!el) return;
    el.classList.remove('pending'); el.classList.add('failed');
    el.querySelector('.meta').textContent = 'You · not sent';
    var old = el.querySelector('.fail');
    if (old) old.remove();
    var box = h('div', { class: 'fail', role: 'alert', 'data-testid': 'message-error' }, [text + ' ']);
    if (p.kind !== 'contact') box.appendChild(h('button', { type: 'button', class: 'link', onclick: function () {
      st.pending.splice(st.pending.indexOf(p), 1); save(); el.remove();
      if (p.text.length <= MAX_CHARS && st.status !== 'closed') send(p.text); else input.value = p.text;
    } }, [p.text.length > MAX_CHARS ? 'Edit' : 'Retry']));
    el.querySelector('.body').appendChild(box);
  }

  // ---- status: queued, agent, bot, closed --------------------------------
  function applyStatus(f, live) {
    var prev = st.status;
    st.status = f.status;
    st.statusFrame = f;
    save();
    var s = f.status;
    banner.hidden = s !== 'queued';
    banner.dataset.status = s;
    if (s === 'queued') {
      banner.textContent = f.position ? 'You are number ' + f.position + ' in line for a person from our team.' : 'Waiting for a person from our team…';
    } else if (s === 'agent') {
      banner.textContent = 'You are chatting with ' + (f.agent_name || 'our team') + '.';
      if (welcomed) setConn('online', 'Chatting with ' + (f.agent_name || 'our team'));
    } else if (welcomed) setConn('online', 'Online · replies in seconds');
    contact.hidden = !(s === 'queued' && f.agents_online === false && !st.contactSent);
    closed.hidden = s !== 'closed';
    composer.hidden = s === 'closed';
    endBtn.hidden = s === 'closed';
    if (s === 'closed') { hideTyping(); confirmBar.hidden = true; showRated(); }
    if (live && (f.reason || s !== prev)) {
      var text = f.reason || { queued: 'Bringing in a person from our team…', agent: (f.agent_name || 'An agent') + ' joined the conversation.',
        bot: 'You are chatting with our assistant again.', closed: 'The conversation has ended.' }[s];
      if (text) notice(text, 'status');
    }
    if (s === 'closed' && !panel.hidden && live) closed.querySelector('.star').focus();
  }

  // ---- actions -------------------------------------------------------------
  function id() { return 'w-' + Date.now().toString(36) + '-' + Math.random().toString(36).slice(2, 10); }
  function send(text) {
    text = text.trim();
    if (!text || st.status === 'closed') return;
    var p = { client_id: id(), text: text };
    st.pending.push(p); save();
    log.appendChild(pendingEl(p));
    tidyChips(); scrollDown();
    if (text.length > MAX_CHARS) return failed(p, FRIENDLY.too_large);
    if (!ws && !retryTimer) connect();
    transmit(p);
  }
  function transmit(p) {
    if (p.kind === 'contact') frame({ type: 'contact', client_id: p.client_id, email: p.email, text: p.text });
    else frame({ type: 'message', client_id: p.client_id, text: p.text });
    // Not sent now? The pending list is resent after the next welcome.
  }
  composer.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    input.value = ''; grow();
    send(text);
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
  });
  input.addEventListener('input', function () {
    grow();
    var now = Date.now();
    if (input.value.trim() && now - lastTyping > 4000 && frame({ type: 'typing' })) lastTyping = now;
  });
  function grow() {
    input.style.setProperty('height', 'auto');
    input.style.setProperty('height', Math.min(input.scrollHeight, 120) + 'px');
  }
  contact.addEventListener('submit', function (e) {
    e.preventDefault();
    var email = contactEmail.value.trim(), text = contactText.value.trim();
    if (!contactEmail.checkValidity() || !email) { contactError.textContent = 'Please enter a valid email address.'; return contactEmail.focus(); }
    if (!text) { contactError.textContent = 'Please write a short message.'; return contactText.focus(); }
    contactError.textContent = '';
    var p = { client_id: id(), text: text, email: email, kind: 'contact' };
    st.pending.push(p); save();
    log.appendChild(pendingEl(p));
    contact.hidden = true;
    transmit(p);
  });
  function askEnd() { confirmBar.hidden = false; confirmBar.querySelector('button').focus(); }
  function endChat() {
    confirmBar.hidden = true;
    if (!frame({ type: 'close' })) notice('You are offline; try again when the chat has reconnected.', 'error');
  }
  function rate(e) {
    var score = +e.currentTarget.dataset.score;
    if (!frame({ type: 'rating', score: score })) return;
    st.rated = score; save(); showRated();
  }
  function showRated() {
    var buttons = stars.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].classList.toggle('on', i < st.rated);
      buttons[i].setAttribute('aria-pressed', String(i < st.rated));
    }
    rated.hidden = !st.rated;
    rated.textContent = st.rated ? 'Thanks for rating us ' + st.rated + ' out of 5!' : '';
  }
  function restart() {
    var old = ws;
    ws = null;
    if (old) old.close(1000);
    clearTimeout(retryTimer); retryTimer = null; attempt = 0;
    st = { token: null, lastSeq: 0, messages: [], pending: [], status: 'bot', statusFrame: null, voted: {}, rated: 0, contactSent: false };
    save();
    render();
    connect();
    input.focus();
  }

  // ---- start ---------------------------------------------------------------
  function start() {
    document.body.appendChild(host);
    render();
    var wasOpen = false;
    try { wasOpen = !!sessionStorage.getItem(KEY + ':open'); } catch (e) { /* ignore */ }
    if (wasOpen) toggle(true, true);
    else if (st.token) connect();
  }
  window.frontdeskWidget = { open: function () { toggle(true); }, close: function () { toggle(false); } };
  if (document.body) start(); else document.addEventListener('DOMContentLoaded', start);
})();
