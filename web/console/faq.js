/* FAQ authoring: list, search, create, edit and delete entries over the
 * REST API (docs/api.md), and show that a saved entry is live. */
'use strict';

(() => {
  const { h } = FD;
  const $ = (id) => document.getElementById(id);
  const KEY = 'frontdesk:author-token';
  const st = { token: null, entries: [], selected: null, hits: null, deleteArmed: false };
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
        onclick: () => select(e.id),
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
  }
  $('faq-new').addEventListener('click', () => {
    st.selected = null;
    fill(null);
    renderList();
    $('faq-question').focus();
  });
  $('faq-cancel').addEventListener('click', () => {
    fill(st.selected);
  });

  $('faq-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const error = $('faq-error');
    const live = $('faq-live');
    error.textContent = '';
    live.textContent = '';
    const draft = {
      question: $('faq-question').value.trim(),
      phrasings: $('faq-phrasings').value.split('\n').map((x) => x.trim()).filter(Boolean),
      answer: $('faq-answer').value.trim(),
      tags: $('faq-tags').value.split(',').map((x) => x.trim()).filter(Boolean),
    };
    if (!draft.question || !draft.answer) {
      error.textContent = 'A question and an answer are both needed.';
      $(draft.question ? 'faq-answer' : 'faq-question').focus();
      return;
    }
    const id = $('faq-id').value.trim();
    if (id && !st.selected) draft.id = id;
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
      $('faq-save').disabled = false;
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

  // ---- start -------------------------------------------------------------------
  $('signout').addEventListener('click', () => FD.signOut(KEY));
  FD.signIn({
    key: KEY,
    check: async (token) => {
      st.token = token;
      try {
        return await api('GET', '/v1/faq');
      } catch (e) {
        if (e.status === 401) throw new Error('That token is not valid.');
        if (e.status === 403) throw new Error('This token may not read the FAQ.');
        throw e;
      }
    },
    onReady: (_token, entries) => {
      st.entries = entries || [];
      renderList();
      fill(null);
    },
  });
})();
