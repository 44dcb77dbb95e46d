/* The console's alerts: a count in the tab title, and (each off until
 * the agent turns it on in the top bar) a beep and desktop notifications.
 * The settings are kept in localStorage, for the next sign-in too. */
'use strict';

const Alerts = (() => {
  const $ = (id) => document.getElementById(id);
  const KEY = 'frontdesk:alerts';
  const TITLE = document.title;
  let settings = read();
  let audio = null;
  let lastBeep = 0;

  function read() {
    const off = { sound: false, desktop: false };
    try {
      const saved = JSON.parse(localStorage.getItem(KEY) || 'null');
      return saved && typeof saved === 'object' ? Object.assign(off, saved) : off;
    } catch {
      return off;
    }
  }
  function save(change) {
    settings = Object.assign({}, settings, change);
    try { localStorage.setItem(KEY, JSON.stringify(settings)); } catch { /* storage disabled: this page only */ }
    render();
  }
  function render() {
    const N = window.Notification;
    $('alert-sound').setAttribute('aria-pressed', String(settings.sound));
    $('alert-desktop').setAttribute('aria-pressed', String(settings.desktop && !!N && N.permission !== 'denied'));
  }

  /** "(3) Agent console · frontdesk": what waits for the agent. */
  function count(n) {
    const title = n > 0 ? `(${n}) ${TITLE}` : TITLE;
    if (document.title !== title) document.title = title;
  }

  /** Beep and/or notify, as the agent chose; `onClick` runs when the
   * notification is clicked. */
  function notify(title, body, { tag, onClick } = {}) {
    if (settings.sound && Date.now() - lastBeep > 1000) {
      lastBeep = Date.now();
      beep();
    }
    const N = window.Notification;
    if (!settings.desktop || !N || N.permission !== 'granted') return;
    try {
      const n = new N(title, { body, tag });
      n.onclick = () => {
        window.focus();
        if (onClick) onClick();
      };
    } catch { /* some browsers show notifications only from a service worker */ }
  }

  /** A short, soft beep through WebAudio; nothing to download. */
  function beep() {
    const Ctx = window.AudioContext || window.webkitAudioContext;
    if (!Ctx) return;
    try {
      audio = audio || new Ctx();
      if (audio.state === 'suspended') audio.resume();
      const t = audio.currentTime;
      const osc = audio.createOscillator();
      const gain = audio.createGain();
      osc.frequency.setValueAtTime(880, t);
      gain.gain.setValueAtTime(0.0001, t);
      gain.gain.exponentialRampToValueAtTime(0.15, t + 0.02);
      gain.gain.exponentialRampToValueAtTime(0.0001, t + 0.25);
      osc.connect(gain).connect(audio.destination);
      osc.start(t);
      osc.stop(t + 0.26);
    } catch { /* no audio output: stay silent */ }
  }

  async function toggleDesktop() {
    if (settings.desktop) { save({ desktop: false }); return; }
    const N = window.Notification;
    if (!N) { FD.toast('This browser cannot show desktop notifications.', 'error'); return; }
    let permission = N.permission;
    if (permission === 'default') {
      // Asked only now, when the agent turns notifications on.
      try { permission = await N.requestPermission(); } catch { permission = 'denied'; }
    }
    if (permission !== 'granted') {
      FD.toast('Desktop notifications are blocked for this site: allow them in the browser settings.', 'error');
      render();
      return;
    }
    save({ desktop: true });
  }

  $('alert-sound').addEventListener('click', () => {
    save({ sound: !settings.sound });
    if (settings.sound) beep(); // how it sounds; this click also lets audio play
  });
  $('alert-desktop').addEventListener('click', toggleDesktop);
  render();

  return { count, notify };
})();
