/* Canned responses: reply snippets every agent shares (REST /v1/canned).
 * The Replies tab lists, creates, edits and deletes them; in the reply
 * composer `/` at the start of a word opens a picker that inserts one with
 * its placeholders filled in for the customer at hand. */
'use strict';

const Canned = (() => {
  const { h } = FD;
  const $ = (id) => document.getElementById(id);
  const KEY = 'frontdesk:agent-token';
  /** The server's limits (POST /v1/canned), in characters. */
  const LIMITS = { shortcut: 32, title: 80, text: 2000 };
  const SHORTCUT = /^[a-z0-9_-]+$/;
  const PLACEHOLDERS = ['{{first_name}}', '{{name}}', '{{email}}', '{{agent}}'];
  const SHOWN = 8; // options in the picker at most
  const STALE_MS = 60000; // reload the shared list when older than this

  const st = {
    token: null,
    replies: [], // sorted by shortcut
    loadedAt: 0,
    loading: null, // the load in flight
    error: '',
    editing: null, // the reply in the form, null for a new one
    deleteArmed: null, // id of the reply whose Delete asks for a second click
    built: false,
  };

  /** The token from `init`, else the console's signed-in one. */
  const tokenOf = () => st.token || FD.token(KEY);
  const api = (method, path, body) => FD.api(tokenOf(), method, path, body);
  const chars = (text) => [...text].length;
  const byShortcut = (a, b) => (a.shortcut < b.shortcut ? -1 : a.shortcut > b.shortcut ? 1 : 0);

  function init({ token }) {
    st.token = token || null;
  }

  // ---- the shared list -------------------------------------------------------
  function load() {
    if (st.loading) return st.loading;
    st.loading = api('GET', '/v1/canned')
      .then((list) => {
        st.replies = (Array.isArray(list) ? list : []).slice().sort(byShortcut);
        st.error = '';
      })
      .catch((e) => {
        st.error = e.status === 404 ? 'Saved replies are not available on this server.' : e.message;
      })
      .finally(() => {
        st.loadedAt = Date.now();
        st.loading = null;
        if (st.built) renderList();
      });
    return st.loading;
  }
  function remember(reply) {
    st.replies = st.replies.filter((r) => r.id !== reply.id).concat([reply]).sort(byShortcut);
  }

  /** A reply's text for one customer: placeholders filled in. */
  function fillIn(text, ctx) {
    const name = String((ctx && ctx.name) || '').trim();
    const values = {
      name: name || 'there',
      first_name: name.split(/\s+/)[0] || 'there',
      email: String((ctx && ctx.email) || ''),
      agent: String((ctx && ctx.agent) || ''),
    };
    return text.replace(/\{\{\s*(name|first_name|email|agent)\s*\}\}/g, (_, key) => values[key]);
  }

  /** Replies for what follows the `/`: shortcut prefix first, then
   * shortcut or title containing it. */
  function matching(query) {
    const q = query.toLowerCase();
    const rank = (r) => r.shortcut.startsWith(q) ? 0
      : r.shortcut.includes(q) ? 1 : String(r.title || '').toLowerCase().includes(q) ? 2 : 3;
    return st.replies
      .map((r) => ({ r, rank: rank(r) }))
      .filter((x) => x.rank < 3)
      .sort((a, b) => a.rank - b.rank || byShortcut(a.r, b.r))
      .slice(0, SHOWN)
      .map((x) => x.r);
  }

  // ---- the picker in the composer ----------------------------------------------
  /** The `/word` ending at the caret, when the `/` starts a word. */
  function slashWord(textarea) {
    const caret = textarea.selectionStart;
    if (caret !== textarea.selectionEnd) return null;
    const m = /(^|\s)\/([A-Za-z0-9_-]*)$/.exec(textarea.value.slice(0, caret));
    return m ? { start: caret - m[2].length - 1, end: caret, query: m[2] } : null;
  }

  /** Wire the picker to a composer's textarea; `context()` gives the open
   * conversation's `{ name, email, agent }`. */
  function attach(textarea, context) {
    if (!textarea || textarea.dataset.canned) return;
    textarea.dataset.canned = 'on';
    const host = textarea.closest('form') || textarea.parentElement;
    host.classList.add('canned-host');
    const list = h('ul', { id: 'canned-picker', class: 'canned-picker', role: 'listbox', 'aria-label': 'Saved replies', 'data-testid': 'canned-picker', hidden: true });
    const empty = h('p', { class: 'canned-empty', 'data-testid': 'canned-empty', hidden: true });
    const status = h('div', { class: 'sr', role: 'status', 'aria-live': 'polite' });
    host.append(list, empty, status);
    textarea.setAttribute('aria-autocomplete', 'list');
    textarea.setAttribute('aria-controls', list.id);
    textarea.setAttribute('aria-expanded', 'false');
    const ctx = () => (typeof context === 'function' && context()) || {};
    const p = { textarea, context: ctx, list, empty, status, word: null, matches: [], active: 0, dismissed: -1 };

    textarea.addEventListener('input', () => update(p));
    textarea.addEventListener('click', () => update(p));
    textarea.addEventListener('keyup', (e) => { if (e.key === 'ArrowLeft' || e.key === 'ArrowRight') update(p); });
    textarea.addEventListener('blur', () => close(p));
    // Capturing on the form runs before the composer's own Enter-sends.
    host.addEventListener('keydown', (e) => onKey(p, e), true);
    load();
  }

  function update(p) {
    const word = slashWord(p.textarea);
    if (!word || word.start === p.dismissed) {
      if (!word) p.dismissed = -1;
      close(p);
      return;
    }
    if (!st.loadedAt || Date.now() - st.loadedAt > STALE_MS) load().then(() => { if (p.word) { p.word = null; update(p); } });
    const same = p.word && p.word.start === word.start && p.word.query === word.query;
    p.word = word;
    if (same && !p.list.hidden) return;
    p.matches = matching(word.query);
    p.active = 0;
    render(p);
  }

  function render(p) {
    const { list, empty, textarea } = p;
    list.textContent = '';
    const open = p.matches.length > 0;
    list.hidden = !open;
    textarea.setAttribute('aria-expanded', String(open));
    p.matches.forEach((r, i) => list.append(option(p, r, i)));
    empty.hidden = open || !p.word;
    empty.textContent = !st.loadedAt ? 'Loading saved replies…'
      : st.replies.length ? 'No saved reply matches “/' + p.word.query + '”.'
        : 'No saved replies yet. Add them in the Replies tab.';
    setActive(p, 0);
    p.status.textContent = open
      ? p.matches.length + (p.matches.length === 1 ? ' saved reply matches' : ' saved replies match') + '. Arrow keys choose, Enter inserts, Escape closes.'
      : '';
  }
  function option(p, r, i) {
    return h('li', {
      id: 'canned-option-' + i, role: 'option', class: 'canned-option', 'aria-selected': 'false',
      'data-testid': 'canned-option', 'data-shortcut': r.shortcut,
      onmousedown: (e) => e.preventDefault(), // keep the focus in the textarea
      onclick: () => insert(p, r),
      onmousemove: () => { if (p.active !== i) setActive(p, i); },
    }, [
      h('span', { class: 'canned-shortcut', text: '/' + r.shortcut }),
      h('span', { class: 'canned-title', text: r.title }),
      h('span', { class: 'canned-preview', text: preview(fillIn(r.text, p.context())) }),
    ]);
  }
  const preview = (text) => (chars(text) > 90 ? [...text].slice(0, 89).join('') + '…' : text);

  function setActive(p, i) {
    const options = [...p.list.children];
    if (!options.length) { p.textarea.removeAttribute('aria-activedescendant'); return; }
    p.active = (i + options.length) % options.length;
    options.forEach((o, j) => o.setAttribute('aria-selected', String(j === p.active)));
    p.textarea.setAttribute('aria-activedescendant', options[p.active].id);
    options[p.active].scrollIntoView({ block: 'nearest' });
  }

  function close(p) {
    p.word = null;
    p.matches = [];
    p.list.hidden = true;
    p.empty.hidden = true;
    p.list.textContent = '';
    p.status.textContent = '';
    p.textarea.setAttribute('aria-expanded', 'false');
    p.textarea.removeAttribute('aria-activedescendant');
  }

  function onKey(p, e) {
    if (e.target !== p.textarea || e.isComposing || !p.word) return;
    const open = p.matches.length > 0;
    const plain = !e.shiftKey && !e.altKey && !e.ctrlKey && !e.metaKey;
    if (e.key === 'Escape') {
      p.dismissed = p.word.start;
      close(p);
    } else if (open && e.key === 'ArrowDown') {
      setActive(p, p.active + 1);
    } else if (open && e.key === 'ArrowUp') {
      setActive(p, p.active - 1);
    } else if (open && plain && (e.key === 'Enter' || e.key === 'Tab')) {
      insert(p, p.matches[p.active]);
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }

  function insert(p, reply) {
    const word = p.word;
    if (!reply || !word) return;
    const text = fillIn(reply.text, p.context());
    close(p);
    p.textarea.focus();
    p.textarea.setRangeText(text, word.start, word.end, 'end');
    p.textarea.dispatchEvent(new Event('input', { bubbles: true }));
  }

  // ---- the Replies tab -----------------------------------------------------------
  function show() {
    build();
    load();
  }

  function build() {
    if (st.built) return;
    const view = $('view-replies');
    if (!view) return;
    st.built = true;
    view.classList.add('tools-view');
    view.append(
      h('div', { class: 'tools-head' }, [
        h('h2', { text: 'Saved replies' }),
        h('p', { class: 'muted', text: 'Shared by every agent. In a reply, type / and the shortcut to insert one.' }),
      ]),
      h('p', { id: 'canned-load-error', class: 'form-error', role: 'alert' }),
      h('div', { class: 'replies' }, [
        h('section', { class: 'card replies-list', 'aria-labelledby': 'canned-list-title' }, [
          h('h3', { id: 'canned-list-title', text: 'All replies' }),
          h('ul', { id: 'canned-list', class: 'canned-list', 'data-testid': 'canned-list' }),
        ]),
        form(),
      ]),
    );
    view.querySelector('#canned-form').addEventListener('input', checkForm);
    fillForm(null);
  }

  function form() {
    const field = (id, label, input, extra) => h('div', { class: 'field' }, [h('label', { for: id, text: label }), input, ...(extra || [])]);
    return h('form', { id: 'canned-form', class: 'card canned-form', novalidate: true, 'aria-labelledby': 'canned-form-title', onsubmit: save }, [
      h('h3', { id: 'canned-form-title', text: 'New reply' }),
      h('div', { id: 'canned-error', class: 'faq-error', role: 'alert', 'data-testid': 'canned-error' }),
      field('canned-shortcut', 'Shortcut', h('div', { class: 'shortcut-input' }, [
        h('span', { class: 'slash', 'aria-hidden': 'true', text: '/' }),
        h('input', { id: 'canned-shortcut', type: 'text', autocomplete: 'off', spellcheck: 'false', placeholder: 'refund', 'data-testid': 'canned-shortcut', 'aria-describedby': 'canned-shortcut-error canned-shortcut-hint' }),
      ]), [
        h('p', { id: 'canned-shortcut-error', class: 'field-error', 'aria-live': 'polite' }),
        h('p', { id: 'canned-shortcut-hint', class: 'hint', text: 'What agents type after /: lower-case letters, digits, - and _, up to 32.' }),
      ]),
      field('canned-title', 'Title', h('input', { id: 'canned-title', type: 'text', autocomplete: 'off', placeholder: 'Refund timeline', 'data-testid': 'canned-title', 'aria-describedby': 'canned-title-error' }), [
        h('p', { id: 'canned-title-error', class: 'field-error', 'aria-live': 'polite' }),
      ]),
      field('canned-text', 'Text', h('textarea', { id: 'canned-text', rows: 6, 'data-testid': 'canned-text', 'aria-describedby': 'canned-text-count canned-text-error canned-text-hint' }), [
        h('p', { id: 'canned-text-count', class: 'counter', 'data-testid': 'canned-text-count' }),
        h('p', { id: 'canned-text-error', class: 'field-error', 'aria-live': 'polite' }),
        h('p', { id: 'canned-text-hint', class: 'hint' }, [
          'Filled in when inserted: ',
          ...PLACEHOLDERS.flatMap((ph, i) => [i ? ' ' : '', h('button', { type: 'button', class: 'placeholder', title: 'Insert ' + ph, text: ph, onclick: () => putPlaceholder(ph) })]),
          '. Without a name, {{name}} and {{first_name}} read “there”.',
        ]),
      ]),
      h('div', { class: 'editor-actions' }, [
        h('button', { id: 'canned-save', type: 'submit', class: 'btn primary', 'data-testid': 'canned-save', text: 'Save reply' }),
        h('button', { id: 'canned-cancel', type: 'button', class: 'btn', text: 'New reply', onclick: () => fillForm(null) }),
      ]),
    ]);
  }
  function putPlaceholder(ph) {
    const text = $('canned-text');
    text.focus();
    text.setRangeText(ph, text.selectionStart, text.selectionEnd, 'end');
    checkForm();
  }

  function renderList() {
    const ul = $('canned-list');
    if (!ul) return;
    $('canned-load-error').textContent = st.error;
    ul.textContent = '';
    for (const r of st.replies) ul.append(item(r));
    if (!st.replies.length) ul.append(h('li', { class: 'muted pad', text: st.loadedAt ? 'No saved replies yet. Write the first one.' : 'Loading…' }));
  }
  function item(r) {
    const armed = st.deleteArmed === r.id;
    return h('li', { class: 'canned-item' + (st.editing && st.editing.id === r.id ? ' editing' : ''), 'data-testid': 'canned-item', 'data-shortcut': r.shortcut }, [
      h('div', { class: 'canned-item-head' }, [
        h('code', { class: 'canned-shortcut', text: '/' + r.shortcut }),
        h('strong', { text: r.title }),
      ]),
      h('p', { class: 'canned-item-text', text: r.text }),
      h('div', { class: 'canned-item-actions' }, [
        h('button', { type: 'button', class: 'btn small', 'data-testid': 'canned-edit', 'aria-label': 'Edit /' + r.shortcut, text: 'Edit', onclick: () => fillForm(r) }),
        h('button', { type: 'button', class: 'btn small danger', 'data-testid': 'canned-delete', 'aria-label': (armed ? 'Confirm: delete /' : 'Delete /') + r.shortcut,
          text: armed ? 'Click again to delete' : 'Delete', onclick: () => remove(r) }),
      ]),
    ]);
  }

  /** Keep the focus on a row's button when the list is drawn again. */
  function focusIn(r, testid) {
    const row = [...$('canned-list').children].find((li) => li.dataset.shortcut === r.shortcut);
    const button = row && row.querySelector(`[data-testid=${testid}]`);
    if (button) button.focus();
  }

  function fillForm(r) {
    st.editing = r;
    $('canned-form-title').textContent = r ? 'Edit /' + r.shortcut : 'New reply';
    $('canned-shortcut').value = r ? r.shortcut : '';
    $('canned-title').value = r ? r.title : '';
    $('canned-text').value = r ? r.text : '';
    $('canned-error').textContent = '';
    checkForm();
    renderList();
    if (r) $('canned-title').focus();
  }

  /** What is wrong with the form, per field; counters; Save only when it fits. */
  function checkForm() {
    const shortcut = $('canned-shortcut').value.trim().replace(/^\//, '');
    const title = $('canned-title').value.trim();
    const text = $('canned-text').value.trim();
    const problems = {
      'canned-shortcut': shortcut && !SHORTCUT.test(shortcut) ? 'Use lower-case letters, digits, - and _ only.'
        : chars(shortcut) > LIMITS.shortcut ? 'At most ' + LIMITS.shortcut + ' characters; this is ' + chars(shortcut) + '.' : '',
      'canned-title': chars(title) > LIMITS.title ? 'At most ' + LIMITS.title + ' characters; this is ' + chars(title) + '.' : '',
      'canned-text': chars(text) > LIMITS.text ? 'The text is ' + chars(text) + ' characters, ' + (chars(text) - LIMITS.text) + ' over the limit of ' + LIMITS.text + '. Shorten it to save.' : '',
    };
    let ok = true;
    for (const [id, problem] of Object.entries(problems)) {
      $(id + '-error').textContent = problem;
      $(id).setAttribute('aria-invalid', String(!!problem));
      if (problem) ok = false;
    }
    const n = chars(text);
    $('canned-text-count').textContent = n + ' of ' + LIMITS.text + ' characters' + (n > LIMITS.text ? ' · ' + (n - LIMITS.text) + ' too many' : '');
    $('canned-text-count').classList.toggle('over', n > LIMITS.text);
    $('canned-save').disabled = !ok;
    return ok ? { shortcut, title, text } : null;
  }

  async function save(e) {
    e.preventDefault();
    const error = $('canned-error');
    error.textContent = '';
    const draft = checkForm();
    if (!draft) return;
    if (!draft.shortcut || !draft.title || !draft.text) {
      error.textContent = 'A shortcut, a title and a text are all needed.';
      $(!draft.shortcut ? 'canned-shortcut' : !draft.title ? 'canned-title' : 'canned-text').focus();
      return;
    }
    const editing = st.editing;
    $('canned-save').disabled = true;
    try {
      const saved = editing
        ? await api('PUT', '/v1/canned/' + encodeURIComponent(editing.id), draft)
        : await api('POST', '/v1/canned', draft);
      remember(saved);
      fillForm(null);
      FD.toast('Saved /' + saved.shortcut + '. Type it after / in a reply.');
    } catch (err) {
      error.textContent = err.code === 'conflict' ? 'The shortcut /' + draft.shortcut + ' is taken; pick another.' : err.message;
    } finally {
      checkForm();
    }
  }

  async function remove(r) {
    if (st.deleteArmed !== r.id) {
      st.deleteArmed = r.id;
      renderList();
      focusIn(r, 'canned-delete');
      setTimeout(() => { if (st.deleteArmed === r.id) { st.deleteArmed = null; renderList(); } }, 5000);
      return;
    }
    st.deleteArmed = null;
    try {
      await api('DELETE', '/v1/canned/' + encodeURIComponent(r.id));
      st.replies = st.replies.filter((x) => x.id !== r.id);
      if (st.editing && st.editing.id === r.id) fillForm(null); else renderList();
      FD.toast('Deleted /' + r.shortcut + '.');
    } catch (err) {
      renderList();
      FD.toast(err.message, 'error');
    }
  }

  return { init, attach, show, load, fillIn };
})();
