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

  return { REASONS, h, s, token, setToken, api, ApiError, duration, clock, day, pct, num, toast, signIn, signOut };
})();
