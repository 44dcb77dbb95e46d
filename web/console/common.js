/* Shared by the agent console (app.js) and FAQ authoring (faq.js):
 * DOM helpers, the signed-in token, REST calls, formatting, toasts. */
'use strict';

const FD = (() => {
  /** Escalation reason codes (docs/protocol.md) in words. */
  const REASONS = {
    handoff_requested: 'Asked for a person',
    intent_needs_human: 'Needs a person',
    negative_sentiment: 'Negative sentiment',
    negative_trend: 'Negative trend',
    not_helpful: 'Answers not helpful',
    unresolved: 'Unresolved',
    agent_takeover: 'Agent takeover',
    churn_risk: 'Threatens to leave',
    legal_threat: 'Legal threat',
    safety_incident: 'Safety incident',
    fraud_suspected: 'Possible fraud',
    repeated_question: 'Asked again',
    customer_waiting: 'Waiting for an answer',
  };

  function h(tag, attrs, kids) {
    const el = document.createElement(tag);
    put(el, attrs, kids);
    return el;
  }
  function s(tag, attrs, kids) {
    const el = document.createElementNS('http://www.w3.org/2000/svg', tag);
    put(el, attrs, kids);
    return el;
  }
  function put(el, attrs, kids) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
    for (const c of kids || []) {
      if (c !== null && c !== undefined && c !== false) el.append(c);
    }
  }

  /** The token lives in sessionStorage: gone when the tab closes. */
  function token(key) {
    try { return sessionStorage.getItem(key); } catch { return null; }
  }
  function setToken(key, value) {
    try {
      if (value) sessionStorage.setItem(key, value); else sessionStorage.removeItem(key);
    } catch { /* storage disabled: the token lives only in memory */ }
  }

  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }
  /** A REST call with the bearer token; errors become ApiError with the
   * server's {"error":{"code","message"}} when it sent one. */
  async function api(tokenValue, method, path, body) {
    const init = { method, headers: { Authorization: 'Bearer ' + tokenValue } };
    if (body !== undefined) {
      init.headers['Content-Type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    let r;
    try {
      r = await fetch(path, init);
    } catch {
      throw new ApiError(0, 'network', 'The server cannot be reached. Check your connection and try again.');
    }
    const text = await r.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = null; }
    if (!r.ok) {
      const e = data && data.error;
      throw new ApiError(r.status, e ? e.code : 'http_' + r.status, e ? e.message : text || r.statusText);
    }
    return data;
  }

  function duration(secs) {
    secs = Math.max(0, Math.floor(secs));
    if (secs < 60) return secs + 's';
    const m = Math.floor(secs / 60), r = secs % 60;
    if (m < 60) return m + 'm ' + String(r).padStart(2, '0') + 's';
    const hrs = Math.floor(m / 60);
    return hrs + 'h ' + String(m % 60).padStart(2, '0') + 'm';
  }
  function clock(at) {
    const d = at ? new Date(at) : null;
    return d && !isNaN(d) ? d.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) : '';
  }
  function day(at) {
    const d = at ? new Date(at) : null;
    return d && !isNaN(d) ? d.toLocaleDateString([], { day: 'numeric', month: 'short', year: 'numeric' }) : '';
  }
  function pct(x) {
    return typeof x === 'number' && isFinite(x) ? Math.round(x * 100) + '%' : '—';
  }
  function num(x, digits) {
    return typeof x === 'number' && isFinite(x) ? x.toFixed(digits) : '—';
  }

  let toastBox = null;
  function toast(text, kind) {
    if (!toastBox) {
      toastBox = h('div', { class: 'toasts', role: 'status', 'aria-live': 'polite' });
      document.body.append(toastBox);
    }
    const t = h('div', { class: 'toast ' + (kind || ''), 'data-testid': 'toast', text });
    toastBox.append(t);
    setTimeout(() => t.remove(), kind === 'error' ? 8000 : 4000);
  }

  /** The sentiment of a message or conversation as a class: s-neg,
   * s-neu, s-pos, or s-none before any analysis. */
  function sentimentClass(sent) {
    if (!sent) return 's-none';
    const v = (sent.negative || 0) - (sent.positive || 0);
    if (sent.label === 'negative' || v > 0.4) return 's-neg';
    if (sent.label === 'positive' || v < -0.4) return 's-pos';
    return 's-neu';
  }

  /** `text` as nodes, each http(s) URL in it a link that opens in a new
   * tab without access to this page. Built with the DOM: nothing in the
   * text is ever parsed as HTML, and no other scheme becomes a link. */
  function linkify(text) {
    text = String(text ?? '');
    const out = [];
    let last = 0;
    for (const m of text.matchAll(/\bhttps?:\/\/[^\s<>"'`]+/gi)) {
      const url = trimUrl(m[0]);
      const href = safeHref(url);
      if (!href) continue;
      if (m.index > last) out.push(text.slice(last, m.index));
      out.push(h('a', { href, target: '_blank', rel: 'noopener noreferrer', text: url }));
      last = m.index + url.length;
    }
    if (last < text.length) out.push(text.slice(last));
    return out;
  }
  /** Punctuation ending a sentence is not part of a URL, nor is a closing
   * bracket the URL did not open. */
  function trimUrl(url) {
    const count = (ch) => url.split(ch).length - 1;
    for (;;) {
      const before = url;
      url = url.replace(/[.,;:!?]+$/, '');
      if (url.endsWith(')') && count(')') > count('(')) url = url.slice(0, -1);
      if (url.endsWith(']') && count(']') > count('[')) url = url.slice(0, -1);
      if (url === before) return url;
    }
  }
  function safeHref(url) {
    try {
      const u = new URL(url);
      return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
    } catch {
      return null;
    }
  }

  /** Left/Right/Home/End move between the tabs of a tablist. */
  function arrowTabs(e, select) {
    const tabs = [...e.currentTarget.querySelectorAll('[role=tab]')];
    const at = tabs.indexOf(document.activeElement);
    const to = { ArrowRight: at + 1, ArrowLeft: at - 1, Home: 0, End: tabs.length - 1 }[e.key];
    if (at < 0 || to === undefined) return;
    e.preventDefault();
    const next = tabs[(to + tabs.length) % tabs.length];
    next.focus();
    select(next);
  }

  /** Keep `list`'s children in the order of `items`, building an element
   * only for a new key or a changed signature: an unchanged row keeps its
   * element, and with it focus and the list's scroll position. `rows`
   * (key -> {el, sig}) belongs to the caller and lives between calls. */
  function reconcile(list, rows, items, key, sig, build) {
    const keep = new Set();
    let prev = null;
    for (const item of items) {
      const k = key(item);
      const s = sig(item);
      let row = rows.get(k);
      if (!row || row.sig !== s) {
        const el = build(item);
        if (row) swap(row.el, el);
        row = { el, sig: s };
        rows.set(k, row);
      }
      keep.add(k);
      const want = prev ? prev.nextSibling : list.firstChild;
      if (want !== row.el) list.insertBefore(row.el, want);
      prev = row.el;
    }
    for (const [k, row] of rows) {
      if (!keep.has(k)) { row.el.remove(); rows.delete(k); }
    }
  }
  /** Replace `old` by `el`, moving the focus to the same control in it. */
  function swap(old, el) {
    const focused = old.contains(document.activeElement) ? document.activeElement.dataset.testid : null;
    old.replaceWith(el);
    if (focused) {
      const again = el.querySelector(`[data-testid="${focused}"]`);
      if (again) again.focus();
    }
  }

  /** Wire a sign-in card: calls `check(token)` which resolves when the
   * token works and throws an Error with a message to show otherwise. */
  function signIn({ key, check, onReady }) {
    const form = document.getElementById('signin-form');
    const input = document.getElementById('signin-token');
    const error = document.getElementById('signin-error');
    const button = document.getElementById('signin-submit');
    async function attempt(value, quiet) {
      button.disabled = true;
      error.textContent = quiet ? '' : 'Signing in…';
      try {
        const info = await check(value);
        setToken(key, value);
        error.textContent = '';
        document.getElementById('signin').hidden = true;
        document.getElementById('app').hidden = false;
        onReady(value, info);
      } catch (e) {
        setToken(key, null);
        error.textContent = e.message;
        input.focus();
      } finally {
        button.disabled = false;
      }
    }
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      const value = input.value.trim();
      if (!value) { error.textContent = 'Paste your token first.'; input.focus(); return; }
      attempt(value, false);
    });
    const saved = token(key);
    if (saved) attempt(saved, true);
    else input.focus();
  }
  function signOut(key) {
    setToken(key, null);
    location.reload();
  }

  return {
    REASONS, h, s, token, setToken, api, ApiError, duration, clock, day, pct, num, toast, signIn, signOut,
    linkify, reconcile, sentimentClass, arrowTabs,
  };
})();
