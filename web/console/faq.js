/* FAQ authoring: list, search, create, edit and delete entries over the
 * REST API (docs/api.md), and show that a saved entry is live. Signing in
 * checks the token's role (GET /v1/me); unsaved edits are never dropped
 * without asking, and text over a limit is never cut, only flagged. */
'use strict';

(() => {
  const { h } = FD;
  const $ = (id) => document.getElementById(id);
  const KEY = 'frontdesk:author-token';
  /** The server's limits on an entry (docs/api.md, POST /v1/faq), in characters. */
  const LIMITS = { question: 500, answer: 5000, phrasing: 500, tag: 40, id: 64, items: 30 };
  const FORM_FIELDS = ['faq-question', 'faq-phrasings', 'faq-answer', 'faq-tags', 'faq-id'];
  const st = {
    token: null, entries: [], selected: null, hits: null, deleteArmed: false,
    baseline: '', // the form's values as last filled in or saved
    pending: null, // what to do once the author agrees to discard their changes
    saving: false,
  };
  let searchTimer = null;
  let searchSeq = 0;

  const api = (method, path, body) => FD.api(st.token, method, path, body);

  function renderList() {
    const list = $('faq-list');
    const items = st.hits || st.entries;
    list.textContent = '';
    $('faq-count').textContent = st.hits
      ? st.hits.length + (st.hits.length === 1 ? ' match' : ' matches') + ', best first'
      : st.entries.length + (st.entries.length === 1 ? ' entry' : ' entries');
    for (const e of items) {
      list.append(h('li', {}, [h('button', {
        type: 'button', class: 'faq-item', 'data-id': e.id, 'data-testid': 'faq-item',
        'aria-current': st.selected && st.selected.id === e.id ? 'true' : 'false',
        onclick: () => { if (!st.selected || st.selected.id !== e.id) guard(() => select(e.id)); },
      }, [
        h('span', { class: 'q', text: e.question }),
        h('span', { class: 'id', text: e.id }),
        e.tags && e.tags.length ? h('span', { class: 'tags' }, e.tags.map((t) => h('span', { class: 'chip', text: t }))) : null,
        typeof e.score === 'number' ? h('span', { class: 'score', text: 'relevance ' + e.score.toFixed(1) }) : null,
      ])]));
    }
    if (!items.length) list.append(h('li', { class: 'muted pad', text: st.hits ? 'Nothing matches.' : 'No entries yet.' }));
  }

  // ---- search ----------------------------------------------------------------
  $('faq-search').addEventListener('input', () => {
    clearTimeout(searchTimer);
    searchTimer = setTimeout(search, 200);
  });
  $('faq-search-form').addEventListener('submit', (e) => { e.preventDefault(); clearTimeout(searchTimer); search(); });
  async function search() {
    const q = $('faq-search').value.trim();
    const mine = ++searchSeq;
    if (!q) { st.hits = null; renderList(); return; }
    try {
      const hits = await api('GET', '/v1/faq/search?limit=20&q=' + encodeURIComponent(q));
      if (mine === searchSeq) { st.hits = hits; renderList(); }
    } catch (e) {
      FD.toast(e.message, 'error');
    }
  }

  // ---- unsaved changes -------------------------------------------------------
  const snapshot = () => JSON.stringify(FORM_FIELDS.map((id) => $(id).value));
  const dirty = () => !!st.token && snapshot() !== st.baseline;
  const markClean = () => { st.baseline = snapshot(); };

  /** Run `proceed` at once when nothing is unsaved; otherwise ask first. */
  function guard(proceed) {
    if (!dirty()) { hideConfirm(); proceed(); return; }
    st.pending = proceed;
    $('faq-confirm-text').textContent = 'Discard your changes to ' + editingName() + '?';
    $('faq-confirm').hidden = false;
    $('faq-confirm-keep').focus();
  }
  function editingName() {
    return st.selected ? '“' + st.selected.question + '”' : 'the new entry';
  }
  function hideConfirm() {
    st.pending = null;
    $('faq-confirm').hidden = true;
  }
  $('faq-confirm-discard').addEventListener('click', () => {
    const proceed = st.pending;
    hideConfirm();
    markClean();
    if (proceed) proceed();
  });
  $('faq-confirm-keep').addEventListener('click', () => {
    hideConfirm();
    $('faq-question').focus();
  });
  window.addEventListener('beforeunload', (e) => {
    if (!dirty()) return;
    e.preventDefault();
    e.returnValue = '';
  });
  // Links away from the page ask in the page, like the list does.
  for (const a of document.querySelectorAll('.topbar a[href]')) {
    a.addEventListener('click', (e) => {
      if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey || !dirty()) return;
      e.preventDefault();
      guard(() => { location.href = a.href; });
    });
  }

  // ---- lengths ---------------------------------------------------------------
  const chars = (text) => [...text].length; // as the server counts: code points
  const items = (text, sep) => text.split(sep).map((x) => x.trim()).filter(Boolean);
  const tooLong = (what, n, limit) =>
    `${what} is ${n} characters, ${n - limit} over the limit of ${limit}. Shorten it to save.`;

  /** Each field's problem with its length, or '' when it fits. */
  const CHECKS = {
    'faq-question': (v) => { const n = chars(v.trim()); return n > LIMITS.question ? tooLong('The question', n, LIMITS.question) : ''; },
    'faq-answer': (v) => { const n = chars(v.trim()); return n > LIMITS.answer ? tooLong('The answer', n, LIMITS.answer) : ''; },
    'faq-phrasings': (v) => listProblem(items(v, '\n'), 'phrasing', 'Line', LIMITS.phrasing),
    'faq-tags': (v) => listProblem(items(v, ','), 'tag', 'Tag', LIMITS.tag),
    'faq-id': (v) => { const n = chars(v.trim()); return n > LIMITS.id ? tooLong('The id', n, LIMITS.id) : ''; },
  };
  function listProblem(list, noun, label, limit) {
    if (list.length > LIMITS.items) return `There are ${list.length} ${noun}s; at most ${LIMITS.items} fit. Remove some to save.`;
    const i = list.findIndex((x) => chars(x) > limit);
    return i < 0 ? '' : tooLong(`${label} ${i + 1}`, chars(list[i]), limit);
  }
  const COUNTED = { 'faq-question': LIMITS.question, 'faq-answer': LIMITS.answer };

  /** Show counters and length errors; Save only while everything fits. */
  function checkLengths() {
    let ok = true;
    for (const [id, check] of Object.entries(CHECKS)) {
      const problem = check($(id).value);
      $(id + '-error').textContent = problem;
      $(id).setAttribute('aria-invalid', String(!!problem));
      if (problem) ok = false;
    }
    for (const [id, limit] of Object.entries(COUNTED)) {
      const n = chars($(id).value.trim());
      const counter = $(id + '-count');
      counter.textContent = n + ' of ' + limit + ' characters' + (n > limit ? ' · ' + (n - limit) + ' too many' : '');
      counter.classList.toggle('over', n > limit);
    }
    $('faq-save').disabled = !ok || st.saving;
    $('faq-save-hint').textContent = ok ? '' : 'Shorten the marked text to save.';
    return ok;
  }
  $('faq-form').addEventListener('input', checkLengths);

  // ---- the editor ------------------------------------------------------------
  function select(id) {
    const e = st.entries.find((x) => x.id === id) || (st.hits || []).find((x) => x.id === id);
    if (!e) return;
    st.selected = e;
    fill(e);
    renderList();
    $('faq-question').focus();
  }
  function fill(e) {
    disarmDelete();
    hideConfirm();
    $('faq-error').textContent = '';
    $('faq-live').textContent = '';
    $('faq-form-title').textContent = e ? 'Edit entry' : 'New entry';
    $('faq-form-sub').textContent = e
      ? 'Last saved ' + FD.day(e.updated_at) + ' at ' + FD.clock(e.updated_at) + '. Changes are live from the next customer message.'
      : 'The bot answers with this entry from the very next customer message.';
    $('faq-id').value = e ? e.id : '';
    $('faq-id').disabled = !!e;
    $('faq-question').value = e ? e.question : '';
    $('faq-phrasings').value = e ? e.phrasings.join('\n') : '';
    $('faq-answer').value = e ? e.answer : '';
    $('faq-tags').value = e ? e.tags.join(', ') : '';
    $('faq-delete').hidden = !e;
    markClean();
    checkLengths();
  }
  function newEntry() {
    st.selected = null;
    fill(null);
    renderList();
    $('faq-question').focus();
  }
  $('faq-new').addEventListener('click', () => guard(newEntry));
  $('faq-cancel').addEventListener('click', () => {
    fill(st.selected);
  });

  $('faq-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const error = $('faq-error');
    const live = $('faq-live');
    error.textContent = '';
    live.textContent = '';
    if (st.saving) return;
    if (!checkLengths()) {
      error.textContent = 'Some text is over its limit; shorten the marked fields to save.';
      return;
    }
    const draft = {
      question: $('faq-question').value.trim(),
      phrasings: items($('faq-phrasings').value, '\n'),
      answer: $('faq-answer').value.trim(),
      tags: items($('faq-tags').value, ','),
    };
    if (!draft.question || !draft.answer) {
      error.textContent = 'A question and an answer are both needed.';
      $(draft.question ? 'faq-answer' : 'faq-question').focus();
      return;
    }
    const id = $('faq-id').value.trim();
    if (id && !st.selected) draft.id = id;
    st.saving = true;
    $('faq-save').disabled = true;
    try {
      const saved = st.selected
        ? await api('PUT', '/v1/faq/' + encodeURIComponent(st.selected.id), draft)
        : await api('POST', '/v1/faq', draft);
      const i = st.entries.findIndex((x) => x.id === saved.id);
      if (i >= 0) st.entries[i] = saved; else st.entries.push(saved);
      st.entries.sort((a, b) => (a.id < b.id ? -1 : 1));
      st.selected = saved;
      fill(saved);
      if (st.hits) await search(); else renderList();
      await showLive(saved);
      live.scrollIntoView({ block: 'nearest' });
    } catch (e) {
      error.textContent = e.code && !e.code.startsWith('http_') && e.code !== 'network' ? e.message + ' (' + e.code + ')' : e.message;
      error.scrollIntoView({ block: 'nearest' });
    } finally {
      st.saving = false;
      checkLengths();
    }
  });

  /** Ask the search what it returns for the entry's own question. */
  async function showLive(entry) {
    const live = $('faq-live');
    live.classList.remove('warn');
    try {
      const hits = await api('GET', '/v1/faq/search?limit=5&q=' + encodeURIComponent(entry.question));
      const rank = hits.findIndex((x) => x.id === entry.id);
      if (rank === 0) {
        live.textContent = 'Live: the bot now answers “' + entry.question + '” with this answer (saved ' + FD.clock(entry.updated_at) + ').';
      } else {
        live.classList.add('warn');
        live.textContent = rank > 0
          ? 'Saved and live. For its own question the search ranks it #' + (rank + 1) + ', after “' + hits[0].question + '”. Add phrasings to make it stand out.'
          : 'Saved. The search does not return it for its own question yet; add phrasings with the words customers use.';
      }
    } catch (e) {
      live.classList.add('warn');
      live.textContent = 'Saved, but checking the search failed: ' + e.message;
    }
  }

  function disarmDelete() {
    st.deleteArmed = false;
    $('faq-delete').textContent = 'Delete';
  }
  $('faq-delete').addEventListener('click', async () => {
    if (!st.selected) return;
    if (!st.deleteArmed) {
      st.deleteArmed = true;
      $('faq-delete').textContent = 'Click again to delete';
      setTimeout(disarmDelete, 5000);
      return;
    }
    const gone = st.selected;
    try {
      await api('DELETE', '/v1/faq/' + encodeURIComponent(gone.id));
      st.entries = st.entries.filter((x) => x.id !== gone.id);
      if (st.hits) st.hits = st.hits.filter((x) => x.id !== gone.id);
      st.selected = null;
      fill(null);
      renderList();
      FD.toast('Deleted “' + gone.question + '”. The bot no longer uses it.');
    } catch (e) {
      disarmDelete();
      $('faq-error').textContent = e.message;
    }
  });

  // ---- signing in ----------------------------------------------------------------
  /** The token's owner and role; null from a server without `/v1/me`. */
  async function whoAmI() {
    try {
      return await api('GET', '/v1/me');
    } catch (e) {
      if (e.status === 401) throw new Error('That token is not valid.');
      if (e.status === 404) return null;
      throw e;
    }
  }
  /** Only authors and operators may edit; say so before anything is typed. */
  function refuseRole(me) {
    if (!me || me.role === 'author' || me.role === 'operator') return;
    if (me.role === 'agent') {
      throw new Error('This is an agent token; FAQ authoring needs an author token. Agents sign in at /console.');
    }
    throw new Error('This token may not edit the FAQ; FAQ authoring needs an author token.');
  }
  async function loadEntries() {
    try {
      return await api('GET', '/v1/faq');
    } catch (e) {
      if (e.status === 401) throw new Error('That token is not valid.');
      if (e.status === 403) throw new Error('This token may not read the FAQ.');
      throw e;
    }
  }

  $('signout').addEventListener('click', () => guard(() => { markClean(); FD.signOut(KEY); }));
  FD.signIn({
    key: KEY,
    check: async (token) => {
      st.token = token;
      try {
        const me = await whoAmI();
        refuseRole(me);
        return { me, entries: await loadEntries() };
      } catch (e) {
        st.token = null;
        throw e;
      }
    },
    onReady: (_token, { me, entries }) => {
      $('me-name').textContent = me ? me.name + ' · ' + me.role : '';
      st.entries = entries || [];
      renderList();
      fill(null);
    },
  });
})();
