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
    return fresh(s);
  }
  // The saved state from `s`, or an empty conversation for `{}`. `messages`
  // holds the transcript in order: stored messages (with `seq`) and the
  // status lines between them (with `line`, no `seq`).
  function fresh(s) {
    return {
      token: s.token || null,
      lastSeq: s.lastSeq || 0,
      messages: Array.isArray(s.messages) ? s.messages : [],
      pending: Array.isArray(s.pending) ? s.pending : [],
      status: s.status || 'bot',
      statusFrame: s.statusFrame || null,
      voted: s.voted || {},
      rated: s.rated || 0,
      ratingComment: typeof s.ratingComment === 'string' ? s.ratingComment : '',
      contactSent: !!s.contactSent,
      disclosure: typeof s.disclosure === 'string' ? s.disclosure : DISCLOSURE
    };
  }
  function save() {
    try { localStorage.setItem(KEY, JSON.stringify(st)); } catch (e) { /* private mode */ }
  }
  var ws = null, welcomed = false, attempt = 0, retryTimer = null, stopped = false;
  var lastTyping = 0, typingTimer = null, unread = 0;
  // The outbox: `st.pending` in order, one message on the wire at a time.
  // `inFlight` is the client_id sent and not yet acked on this socket;
  // `holdTimer` runs while the server asked us to wait (rate_limited).
  var inFlight = null, holdTimer = null, heldUntil = 0;
  // What the team's availability is (welcome.availability, kept current
  // by queued status frames); null when the server does not say.
  var availability = null;
  // After resuming a queued or agent conversation the server repeats the
  // current status once; `resumeStatus` says whether that one is news.
  var resumeStatus = null;

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
    h('button', { type: 'button', class: 'btn-ghost', 'data-testid': 'end-cancel', onclick: dismissEnd }, ['Cancel'])
  ]);
  var banner = h('div', { class: 'banner', id: 'banner', 'data-testid': 'status-banner', role: 'status', hidden: true });
  var log = h('div', { class: 'log', id: 'log', 'data-testid': 'log', role: 'log', 'aria-live': 'polite',
    'aria-label': 'Conversation', tabindex: '0' });
  var typing = h('div', { class: 'typing', id: 'typing', 'data-testid': 'typing', hidden: true }, [
    h('span', { class: 'dots', 'aria-hidden': 'true' }, [h('i'), h('i'), h('i')]), h('span', { class: 'who' })]);
  var input = h('textarea', { id: 'input', 'data-testid': 'input', rows: '1', dir: 'auto',
    placeholder: 'Type your message…', 'aria-label': 'Your message', 'aria-describedby': 'counter' });
  var sendBtn = h('button', { type: 'submit', class: 'send', id: 'send', 'data-testid': 'send', 'aria-label': 'Send message', html: ICON_SEND });
  // The count is read with the box (aria-describedby); only the warning
  // is announced, once, when the text goes over the limit.
  var counted = h('span'), tooLong = h('span', { class: 'too-long', role: 'status' });
  var counter = h('p', { class: 'counter', id: 'counter', 'data-testid': 'char-count', hidden: true }, [counted, tooLong]);
  var composer = h('form', { class: 'composer', id: 'composer', 'data-testid': 'composer', novalidate: true }, [counter, input, sendBtn]);
  var contactEmail = h('input', { type: 'email', id: 'contact-email', 'data-testid': 'contact-email', required: true,
    autocomplete: 'email', placeholder: 'you@example.com', value: customer.email || null });
  var contactText = h('textarea', { id: 'contact-text', 'data-testid': 'contact-text', rows: '2', required: true, dir: 'auto' });
  var contactError = h('p', { class: 'form-error', role: 'alert' });
  var contact = h('form', { class: 'card contact', id: 'contact', 'data-testid': 'contact-form', hidden: true, novalidate: true,
    'aria-labelledby': 'contact-title' }, [
    h('h3', { id: 'contact-title', text: 'Leave us a message' }),
    h('p', { text: 'We reply by email.' }),
    h('label', { for: 'contact-email' }, ['Email']), contactEmail,
    h('label', { for: 'contact-text' }, ['Message']), contactText, contactError,
    h('div', { class: 'actions' }, [
      h('button', { type: 'submit', class: 'btn-primary', 'data-testid': 'contact-submit' }, ['Send']),
      h('button', { type: 'button', class: 'link', 'data-testid': 'back-to-bot', onclick: backToBot }, ['Back to the assistant'])
    ])
  ]);
  var stars = h('div', { class: 'stars', role: 'group', 'aria-label': 'Rate this conversation' });
  for (var i = 1; i <= 5; i++) stars.appendChild(h('button', { type: 'button', class: 'star', 'data-score': String(i),
    'data-testid': 'rating-star', 'aria-label': i + (i === 1 ? ' star' : ' stars'), html: ICON_STAR, onclick: rate }));
  var rated = h('p', { class: 'thanks', 'data-testid': 'rating-thanks', hidden: true });
  var commentText = h('textarea', { id: 'rating-comment', 'data-testid': 'rating-comment', rows: '2', dir: 'auto' });
  var commentError = h('p', { class: 'form-error', role: 'alert' });
  var commentForm = h('form', { class: 'comment', 'data-testid': 'rating-comment-form', hidden: true, novalidate: true }, [
    h('label', { for: 'rating-comment' }, ['Anything you would like to add? (optional)']), commentText, commentError,
    h('button', { type: 'submit', class: 'btn-ghost', 'data-testid': 'rating-comment-submit' }, ['Send feedback'])
  ]);
  var commentThanks = h('p', { class: 'thanks', 'data-testid': 'rating-comment-thanks', tabindex: '-1', hidden: true },
    ['Thanks for your feedback!']);
  var closed = h('div', { class: 'card closed', id: 'closed', 'data-testid': 'closed', hidden: true }, [
    h('h3', { text: 'This conversation has ended' }),
    h('p', { text: 'How did we do?' }), stars, rated, commentForm, commentThanks,
    h('button', { type: 'button', class: 'btn-primary', id: 'new', 'data-testid': 'new-conversation', onclick: function () { restart(); } },
      ['Start a new conversation'])
  ]);
  var panel = h('div', { class: 'panel', id: 'panel', 'data-testid': 'panel', role: 'dialog', 'aria-modal': 'false',
    'aria-labelledby': 'title', hidden: true }, [
    h('header', { class: 'head' }, [
      h('div', { class: 'avatar', 'aria-hidden': 'true', html: ICON_CHAT }),
      h('div', { class: 'titles' }, [h('h2', { id: 'title', text: title }), subtitle]),
      endBtn, closeBtn
    ]),
    confirmBar, banner, log, typing, contact, closed, composer,
    h('p', { class: 'powered', 'data-testid': 'powered' }, ['Powered by frontdesk'])
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
      if (!quiet) firstField().focus();
    } else {
      confirmBar.hidden = true;
      if (!quiet) launcher.focus();
    }
  }
  // Where the focus goes when the panel opens: what the visitor can do now.
  function firstField() {
    if (!composer.hidden) return input;
    if (!contact.hidden) return contactEmail.value ? contactText : contactEmail;
    return closed.hidden ? closeBtn : closed.querySelector('button');
  }
  // Escape closes the innermost thing: the "End this conversation?" bar
  // if it is open, else the panel.
  panel.addEventListener('keydown', function (e) {
    if (e.key !== 'Escape') return;
    e.preventDefault();
    if (!confirmBar.hidden) dismissEnd(); else toggle(false);
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
      h('div', { class: 'bubble', 'data-testid': 'message-text', dir: 'auto' },
        [m.from === 'bot' || m.from === 'agent' ? linkify(m.text) : m.text])
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
  // http(s) URLs in `text` as links, the rest as text; built with DOM
  // nodes only, so markup in the text is shown, never run. Punctuation
  // that ends a sentence is not part of the link.
  function linkify(text) {
    var frag = document.createDocumentFragment(), re = /\bhttps?:\/\/[^\s<>"]+/gi, last = 0, m;
    while ((m = re.exec(text))) {
      var url = trimUrl(m[0]), href = safeHref(url);
      if (!href) continue;
      frag.append(text.slice(last, m.index),
        h('a', { href: href, target: '_blank', rel: 'noopener noreferrer', 'data-testid': 'message-link' }, [url]));
      last = re.lastIndex = m.index + url.length;
    }
    frag.append(text.slice(last));
    return frag;
  }
  function trimUrl(url) {
    for (var c = url.slice(-1); /[.,;:!?'"*)\]}]/.test(c); c = url.slice(-1)) {
      // "(see https://x.test/a)" ends before ")"; "https://x.test/a_(b)" keeps it.
      if (c === ')' && count(url, '(') >= count(url, ')')) break;
      url = url.slice(0, -1);
    }
    return url;
  }
  function count(text, c) { return text.split(c).length - 1; }
  function safeHref(url) {
    try {
      var u = new URL(url);
      return (u.protocol === 'https:' || u.protocol === 'http:') && u.hostname ? u.href : null;
    } catch (e) { return null; }
  }
  function feedbackEl(seq) {
    var box = h('div', { class: 'feedback', 'data-testid': 'feedback' });
    function done() {
      var focused = box.contains(root.activeElement);
      box.textContent = '';
      var thanks = h('span', { 'data-testid': 'feedback-thanks', tabindex: '-1',
        text: st.voted[seq] ? 'Thanks for your feedback!' : 'Thanks — we will use this to improve.' });
      box.appendChild(thanks);
      // The button pressed is gone: keep the focus here, not on <body>.
      if (focused) thanks.focus();
    }
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
  function noticeEl(text, kind) {
    return h('div', { class: 'notice' + (kind ? ' ' + kind : ''), 'data-testid': 'notice', 'data-kind': kind || null, text: text });
  }
  function notice(text, kind) {
    log.appendChild(noticeEl(text, kind));
    scrollDown();
  }
  // A line of the transcript that is not a message (an agent joined, the
  // bot is back): kept in the saved transcript where it happened.
  function statusLine(text, kind) {
    remember({ line: kind || 'status', text: text });
    save();
    notice(text, kind || 'status');
  }
  function remember(m) {
    st.messages.push(m);
    if (st.messages.length > KEEP) st.messages.splice(0, st.messages.length - KEEP);
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
      h('div', { class: 'body' }, [h('div', { class: 'meta', text: 'Assistant' }), h('div', { class: 'bubble', dir: 'auto' }, [
        h('div', { text: greeting }),
        h('div', { class: 'disclosure', 'data-testid': 'disclosure', text: st.disclosure })])])]));
    st.messages.forEach(function (m) {
      if (m.line) log.appendChild(noticeEl(m.text, m.line));
      else insert(messageEl(m), m.seq);
    });
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
      ws = null; welcomed = false; inFlight = null;
      if (e.code === 4001) {
        // The conversation was erased: keep nothing of it here either.
        stopped = true;
        var disclosure = st.disclosure;
        try { localStorage.removeItem(KEY); } catch (err) { /* private mode */ }
        st = fresh({ disclosure: disclosure });
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
      case 'status': return onStatus(f);
      case 'error': return onError(f);
    }
  }
  function onWelcome(f) {
    attempt = 0; welcomed = true;
    if (!f.resumed && st.token && st.token !== f.resume_token) {
      // The server did not know the old conversation: start clean.
      st = fresh({ disclosure: st.disclosure, pending: st.pending });
      render();
    }
    st.token = f.resume_token;
    if (typeof f.disclosure === 'string' && f.disclosure !== st.disclosure) {
      st.disclosure = f.disclosure;
      var d = log.querySelector('[data-testid="disclosure"]');
      if (d) d.textContent = f.disclosure;
    }
    availability = f.availability && typeof f.availability === 'object' ? f.availability : null;
    resumeStatus = f.resumed && (f.status === 'queued' || f.status === 'agent') ? { changed: st.status !== f.status } : null;
    var detail = st.statusFrame && st.statusFrame.status === f.status ? st.statusFrame : { status: f.status };
    applyStatus(detail, false);
    save();
    showHeader();
    pump();
  }
  // The repeat of the current status after a resume adds no status line
  // unless the status changed while the visitor was away.
  function onStatus(f) {
    var resumed = resumeStatus;
    resumeStatus = null;
    applyStatus(f, !resumed || resumed.changed);
  }
  function onMessage(f) {
    if (!f.seq || f.seq <= st.lastSeq || log.querySelector('[data-seq="' + f.seq + '"]')) return; // seen: never twice
    var m = { seq: f.seq, from: f.from, text: f.text, at: f.at };
    ['client_id', 'agent_name', 'suggestions', 'faq_id'].forEach(function (k) { if (f[k]) m[k] = f[k]; });
    st.lastSeq = f.seq;
    remember(m);
    var local = m.client_id && byClientId(m.client_id);
    if (local) local.remove();
    st.pending = st.pending.filter(function (p) { return p.client_id !== m.client_id; });
    save();
    if (m.client_id) settled(m.client_id);
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
      statusLine('Thanks! We will get back to you at ' + p.email + '.', 'info');
      applyStatus(st.statusFrame || { status: st.status }, false);
      if (!panel.hidden && !panel.contains(root.activeElement)) firstField().focus();
    }
    save();
    var el = byClientId(f.client_id);
    if (el && el.classList.contains('pending')) {
      el.classList.remove('pending');
      el.querySelector('.meta').textContent = 'You · sent';
    }
    settled(f.client_id);
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
    // A frame too big to parse comes back without its client_id.
    var id = f.client_id || (f.code === 'too_large' ? inFlight : null);
    var p = id && st.pending.filter(function (q) { return q.client_id === id; })[0];
    if (!p) {
      if (f.code === 'rate_limited' && welcomed) return hold(f.retry_after_ms); // a typing frame: nothing lost
      if (f.code !== 'conflict') notice(text, 'error');
      hideTyping();
      return;
    }
    if (p.client_id === inFlight) inFlight = null;
    // Not done, try again later: the same message, still first in line.
    if (f.code === 'rate_limited') return hold(f.retry_after_ms);
    if (f.code === 'unavailable' || f.code === 'internal') return hold(2000);
    // Failed for good: say so, and the rest of the queue goes on.
    if (f.code === 'conflict') applyStatus({ status: 'closed' }, false);
    failed(p, text);
    pump();
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
      if (chars(p.text) <= MAX_CHARS && st.status !== 'closed') send(p.text);
      else { input.value = p.text; grow(); countChars(); input.focus(); }
    } }, [chars(p.text) > MAX_CHARS ? 'Edit' : 'Retry']));
    el.querySelector('.body').appendChild(box);
  }

  // ---- status: queued, agent, bot, closed --------------------------------
  function applyStatus(f, live) {
    var prev = st.status;
    st.status = f.status;
    st.statusFrame = f;
    save();
    var s = f.status;
    // Whatever the bot was about to say, the conversation moved on.
    hideTyping();
    if (live && typeof f.agents_online === 'boolean') availability = merge(availability, { agents_online: f.agents_online });
    var nobody = s === 'queued' && f.agents_online === false;
    banner.hidden = s !== 'queued';
    banner.dataset.status = s;
    if (nobody) {
      banner.textContent = 'Nobody from our team is online right now.' + (st.contactSent ? ' We will reply by email.' : '');
    } else if (s === 'queued') {
      banner.textContent = f.position ? 'You are number ' + f.position + ' in line for a person from our team.' : 'Waiting for a person from our team…';
    }
    var hadFocus = panel.contains(root.activeElement) && (root.activeElement === input || root.activeElement === sendBtn);
    // With nobody online, the contact form takes the message box's place.
    contact.hidden = !(nobody && !st.contactSent);
    closed.hidden = s !== 'closed';
    composer.hidden = s === 'closed' || !contact.hidden;
    endBtn.hidden = s === 'closed';
    if (s === 'closed') { confirmBar.hidden = true; showRated(); }
    showHeader();
    if (live && (f.reason || s !== prev)) {
      var text = f.reason || { queued: 'Bringing in a person from our team…', agent: (f.agent_name || 'An agent') + ' joined the conversation.',
        bot: 'You are chatting with our assistant again.', closed: 'The conversation has ended.' }[s];
      if (text) statusLine(text);
    }
    if (s === 'closed' && !panel.hidden && live) closed.querySelector('.star').focus();
    else if (hadFocus && composer.hidden && !panel.hidden) firstField().focus();
  }
  function merge(a, b) {
    var out = {}, k;
    for (k in a || {}) out[k] = a[k];
    for (k in b) out[k] = b[k];
    return out;
  }

  // ---- header: who answers, and when ---------------------------------------
  function showHeader() {
    if (!welcomed) return;
    var f = st.statusFrame || {};
    if (st.status === 'agent') {
      host.removeAttribute('data-away');
      return setConn('online', 'Chatting with ' + (f.agent_name || 'our team'));
    }
    var a = availability || {};
    host.toggleAttribute('data-away', a.open === false || a.agents_online === false);
    setConn('online', availabilityText(a));
  }
  function availabilityText(a) {
    if (a.open === false) return a.opens_at && dayTime(a.opens_at) ? 'Back ' + dayTime(a.opens_at) : 'Away · we reply by email';
    if (a.agents_online === false) return 'Away · we reply by email';
    return a.reply_time ? 'Online · usually replies in ' + a.reply_time : 'Online';
  }
  // "Monday 9:00 AM" in the visitor's own time zone and language.
  function dayTime(at) {
    var d = new Date(at);
    if (isNaN(d)) return '';
    return d.toLocaleDateString([], { weekday: 'long' }) + ' ' + d.toLocaleTimeString([], { hour: 'numeric', minute: '2-digit' });
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
    if (chars(text) > MAX_CHARS) return failed(p, FRIENDLY.too_large);
    if (!ws && !retryTimer) connect();
    pump();
  }
  // Send the first pending message unless one is on the wire or the
  // server asked us to wait; the next goes once it is acked, so the
  // transcript keeps the order they were typed in.
  function pump() {
    if (inFlight || holdTimer || !welcomed) return;
    if (st.status === 'closed') {
      st.pending.forEach(function (q) { if (!q.failed) failed(q, FRIENDLY.conflict); });
      return;
    }
    var p = st.pending.filter(function (q) { return !q.failed; })[0];
    if (p && frame(p.kind === 'contact' ? { type: 'contact', client_id: p.client_id, email: p.email, text: p.text }
      : { type: 'message', client_id: p.client_id, text: p.text })) inFlight = p.client_id;
    // Not sent now? pump() runs again after the next welcome.
  }
  function settled(clientId) {
    if (inFlight === clientId) inFlight = null;
    pump();
  }
  // Wait as long as the server asked (rate_limited), then resend the head.
  function hold(ms) {
    ms = typeof ms === 'number' && ms > 0 ? Math.min(ms, 60000) : 1000;
    clearTimeout(holdTimer);
    heldUntil = Date.now() + ms;
    holdTimer = setTimeout(function () { holdTimer = null; pump(); }, ms);
  }
  composer.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = input.value;
    if (!text.trim()) return;
    if (chars(text) > MAX_CHARS) { countChars(); return input.focus(); }
    input.value = ''; grow(); countChars();
    send(text);
  });
  input.addEventListener('keydown', function (e) {
    if (e.key === 'Enter' && !e.shiftKey && !e.isComposing) { e.preventDefault(); composer.requestSubmit(); }
  });
  input.addEventListener('input', function () {
    grow(); countChars();
    var now = Date.now();
    if (input.value.trim() && now - lastTyping > 4000 && now > heldUntil && frame({ type: 'typing' })) lastTyping = now;
  });
  // Fit the box to its text, one line up to 120 px; a scrollbar only
  // beyond that.
  function grow() {
    input.style.removeProperty('height');
    var border = input.offsetHeight - input.clientHeight, needed = input.scrollHeight + border;
    input.style.setProperty('height', Math.min(needed, 120) + 'px');
    input.style.setProperty('overflow-y', needed > 120 ? 'auto' : 'hidden');
  }
  // Characters as the server counts them: code points of the trimmed text.
  function chars(text) { return Array.from(text.trim()).length; }
  // Long text is never cut: near the limit a counter shows, over it
  // sending waits until the visitor shortens it.
  function countChars() {
    var n = chars(input.value), over = n > MAX_CHARS;
    counter.hidden = n <= MAX_CHARS - 200;
    counter.classList.toggle('over', over);
    counted.textContent = n.toLocaleString() + ' / ' + MAX_CHARS.toLocaleString();
    var warning = over ? ' · Too long to send: please shorten it.' : '';
    if (tooLong.textContent !== warning) tooLong.textContent = warning;
    input.setAttribute('aria-invalid', String(over));
    sendBtn.disabled = over;
  }
  contact.addEventListener('submit', function (e) {
    e.preventDefault();
    var email = contactEmail.value.trim(), text = contactText.value.trim();
    if (!contactEmail.checkValidity() || !email) { contactError.textContent = 'Please enter a valid email address.'; return contactEmail.focus(); }
    if (!text) { contactError.textContent = 'Please write a short message.'; return contactText.focus(); }
    if (chars(text) > MAX_CHARS) { contactError.textContent = 'Please keep your message under ' + MAX_CHARS.toLocaleString() + ' characters.'; return contactText.focus(); }
    contactError.textContent = '';
    var p = { client_id: id(), text: text, email: email, kind: 'contact' };
    st.pending.push(p); save();
    log.appendChild(pendingEl(p));
    contact.hidden = true;
    pump();
  });
  // Nobody to talk to: leave the queue and start over with the assistant.
  function backToBot() {
    frame({ type: 'close' });
    restart();
    statusLine('You are chatting with our assistant. Ask for a person again any time.');
  }
  function askEnd() { confirmBar.hidden = false; confirmBar.querySelector('button').focus(); }
  function dismissEnd() {
    confirmBar.hidden = true;
    endBtn.focus();
  }
  function endChat() {
    confirmBar.hidden = true;
    if (!frame({ type: 'close' })) notice('You are offline; try again when the chat has reconnected.', 'error');
  }
  // The server keeps the last rating of a conversation: a new score
  // replaces the old one, with the comment already sent.
  function rate(e) {
    var score = +e.currentTarget.dataset.score;
    if (!frame(ratingFrame(score, st.ratingComment))) return;
    st.rated = score; save(); showRated();
  }
  function ratingFrame(score, comment) {
    var f = { type: 'rating', score: score };
    if (comment) f.comment = comment;
    return f;
  }
  commentForm.addEventListener('submit', function (e) {
    e.preventDefault();
    var text = commentText.value.trim();
    if (!text) { commentError.textContent = 'Please write a few words first.'; return commentText.focus(); }
    if (chars(text) > MAX_CHARS) { commentError.textContent = 'Please keep it under ' + MAX_CHARS.toLocaleString() + ' characters.'; return commentText.focus(); }
    if (!st.rated || !frame(ratingFrame(st.rated, text))) {
      commentError.textContent = 'You are offline; try again when the chat has reconnected.';
      return;
    }
    commentError.textContent = '';
    st.ratingComment = text; save(); showRated();
    commentThanks.focus();
  });
  function showRated() {
    var buttons = stars.querySelectorAll('button');
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].classList.toggle('on', i < st.rated);
      buttons[i].setAttribute('aria-pressed', String(i < st.rated));
    }
    rated.hidden = !st.rated;
    rated.textContent = st.rated ? 'Thanks for rating us ' + st.rated + ' out of 5!' : '';
    commentForm.hidden = !st.rated || !!st.ratingComment;
    commentThanks.hidden = !st.ratingComment;
  }
  function restart() {
    var old = ws;
    ws = null;
    if (old) old.close(1000);
    clearTimeout(retryTimer); retryTimer = null; attempt = 0;
    clearTimeout(holdTimer); holdTimer = null; heldUntil = 0; inFlight = null;
    availability = null; resumeStatus = null;
    st = fresh({ disclosure: st.disclosure });
    commentText.value = ''; commentError.textContent = '';
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
