// The smartworkers dashboard: plain browser JavaScript, no build step. It reads one stream of
// server-sent events (GET /api/events) through fetch — EventSource cannot send the token in a
// header, and the token must never be put in a URL — and posts actions as JSON with the token.
// Rows are updated in place (keyed by worker, entry, task): a button keeps the keyboard focus
// across updates. Unknown fields are tolerated; missing ones are shown as "–".
'use strict';
(() => {
  const $ = (id) => document.getElementById(id);
  const TOKEN_KEY = 'smartworkers-status-token';
  const HISTORY = 600; // points kept per chart: 10 minutes at one a second
  const STATE_ORDER = ['starting', 'ready', 'retiring', 'waiting-for-tasks', 'draining', 'stopping', 'failed-boot', 'exited'];
  const KNOWN_WORKER_FIELDS = new Set([
    'app', 'id', 'slot', 'pid', 'generation', 'state', 'uptimeMs', 'served', 'requestLimit', 'inflight', 'connections',
    'activeTasks', 'activeTasksByType', 'rssBytes', 'cpuPercent', 'loopDelayMs', 'heartbeatAgeMs', 'restarts', 'retireReason',
  ]);
  const KNOWN_TOP = new Set(['version', 'primary', 'apps', 'workers', 'totals']);

  let token = sessionStorage.getItem(TOKEN_KEY) || '';
  let last = null; // last payload
  let canAct = false;

  // ---------------------------------------------------------------- formatting

  const dash = '–';
  const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const fmtInt = (v) => (num(v) === null ? dash : Math.round(v).toLocaleString('en'));
  const fmtMB = (b) => {
    if (num(b) === null) return dash;
    if (b >= 1073741824) return `${(b / 1073741824).toFixed(b % 1073741824 === 0 ? 0 : 1)} GB`;
    return `${(b / 1048576).toFixed(b < 10485760 ? 1 : 0)} MB`;
  };
  const fmtMs = (ms) => {
    if (num(ms) === null) return dash;
    if (ms < 1000) return `${Math.round(ms)} ms`;
    if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
    if (ms < 3600000) return `${Math.floor(ms / 60000)} min ${Math.floor((ms % 60000) / 1000)} s`;
    return `${Math.floor(ms / 3600000)} h ${Math.floor((ms % 3600000) / 60000)} min`;
  };
  const fmtTime = (t) => new Date(t).toLocaleTimeString('en-GB', { hour12: false });
  const byType = (m) => {
    const entries = Object.entries(m || {}).filter(([, n]) => n > 0);
    return entries.length === 0 ? dash : entries.map(([t, n]) => `${t} ${n}`).join(', ');
  };

  /** A text element; `cls` optional. */
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined) node.textContent = text;
    return node;
  }
  function setText(node, text) {
    if (node.textContent !== text) node.textContent = text;
  }

  /** A bar with its numbers written on it: readable without colour. */
  function bar() {
    const root = el('div', 'bar');
    const fill = el('div', 'fill');
    const soft = el('div', 'mark');
    const label = el('span', 'bar-label');
    root.append(fill, soft, label);
    root.setAttribute('role', 'img');
    return { root, fill, soft, label };
  }
  function setBar(b, value, max, text, { softAt = null, warnAt = 0.9 } = {}) {
    const ratio = num(value) !== null && max > 0 ? Math.min(1, value / max) : 0;
    b.fill.style.width = `${(ratio * 100).toFixed(1)}%`;
    b.root.classList.toggle('warn', max > 0 && ratio >= warnAt);
    b.root.classList.toggle('nolimit', !(max > 0));
    if (softAt !== null && max > 0) {
      b.soft.hidden = false;
      b.soft.style.left = `${Math.min(100, (softAt / max) * 100).toFixed(1)}%`;
    } else b.soft.hidden = true;
    setText(b.label, text);
    b.root.setAttribute('aria-label', text);
  }

  /** Keeps one row per key in `tbody`, in the given order; `make` builds a row once, `update` refreshes it. */
  function syncRows(tbody, items, key, make, update) {
    const rows = tbody._rows || (tbody._rows = new Map());
    const seen = new Set();
    let before = tbody.firstChild;
    for (const item of items) {
      const k = key(item);
      seen.add(k);
      let row = rows.get(k);
      if (!row) {
        row = make(item);
        row.dataset.key = String(k);
        rows.set(k, row);
      }
      update(row, item);
      if (row !== before) tbody.insertBefore(row, before);
      else before = before.nextSibling;
    }
    for (const [k, row] of rows) {
      if (!seen.has(k)) {
        row.remove();
        rows.delete(k);
      }
    }
  }

  // ---------------------------------------------------------------- connection

  function headers(extra) {
    return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
  }

  function setLink(text, ok) {
    const link = $('link');
    setText(link, text);
    link.classList.toggle('down', !ok);
  }

  /** One fetch of the session: does this tab hold a good token? */
  async function session() {
    for (;;) {
      try {
        return await (await fetch('/api/session', { headers: headers(), cache: 'no-store' })).json();
      } catch (error) {
        setLink(`reconnecting (${error.message})`, false);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  // Tabs of one browser share one stream: a browser opens at most 6 connections to a host
  // (HTTP/1.1), so one stream per tab would leave the 7th tab unable to load anything. The tab
  // holding a Web Lock reads the stream and passes each message on a BroadcastChannel; when it
  // closes, the lock goes to another tab. Tabs with another token form another group. Without
  // the Web Locks API (a page over plain http from another machine is not a secure context), each
  // tab reads its own stream.
  const canShare = typeof BroadcastChannel === 'function' && typeof navigator.locks?.request === 'function';
  let channel = null;
  let generation = 0; // a new login ends the loops of the previous one

  async function connect() {
    const mine = ++generation;
    const s = await session();
    if (mine !== generation) return;
    if (!s.authorized) {
      showLogin(token ? 'That token was refused.' : '');
      return;
    }
    await loadHistory();
    if (mine !== generation) return;
    if (!canShare) {
      await stream(mine);
      return;
    }
    const group = `smartworkers-dashboard:${token}`;
    channel?.close();
    channel = new BroadcastChannel(group);
    let leading = false;
    setLink('live (waiting for the shared stream)', true);
    let heardAt = Date.now();
    channel.onmessage = (event) => {
      if (leading || mine !== generation) return;
      if (event.data && event.data.payload) {
        heardAt = Date.now();
        setLink('live (stream shared with another tab)', true);
        onPayload(event.data.payload);
      }
    };
    // The tab reading the stream is reconnecting (or throttled in the background): say so.
    const watch = setInterval(() => {
      if (mine !== generation) clearInterval(watch);
      else if (!leading && Date.now() - heardAt > 5000) setLink('waiting for the tab reading the stream', false);
    }, 2000);
    navigator.locks.request(group, async () => {
      if (mine !== generation) return;
      leading = true;
      try {
        await stream(mine, (p) => channel.postMessage({ payload: p }));
      } finally {
        leading = false;
      }
    });
  }

  /** Reads the stream until the token is refused or a new login starts. */
  async function stream(mine, share) {
    while (mine === generation) {
      try {
        const res = await fetch('/api/events', { headers: headers({ Accept: 'text/event-stream' }), cache: 'no-store' });
        if (res.status === 401) {
          showLogin(token ? 'That token was refused.' : '');
          return;
        }
        if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
        setLink('live', true);
        const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
        let buffered = '';
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          if (mine !== generation) {
            reader.cancel();
            return;
          }
          buffered += value;
          let end;
          while ((end = buffered.indexOf('\n\n')) >= 0) {
            const block = buffered.slice(0, end);
            buffered = buffered.slice(end + 2);
            const data = block.split('\n').filter((l) => l.startsWith('data: ')).map((l) => l.slice(6)).join('\n');
            if (!data) continue;
            const payload = JSON.parse(data);
            onPayload(payload);
            if (share) share(payload);
          }
        }
        setLink('reconnecting (stream ended)', false);
      } catch (error) {
        setLink(`reconnecting (${error.message})`, false);
      }
      await new Promise((r) => setTimeout(r, 2000));
    }
  }

  /** The charts' last minutes, kept by the primary: a reloaded page draws them at once. */
  async function loadHistory() {
    try {
      const res = await fetch('/api/history', { headers: headers(), cache: 'no-store' });
      if (!res.ok) return;
      const { samples } = await res.json();
      charts.replay(samples || []);
    } catch {
      // the charts fill from the stream
    }
  }

  function showLogin(message) {
    $('login').hidden = false;
    $('main').hidden = true;
    setText($('login-error'), message);
    setLink('needs the token', false);
    $('token').focus();
  }

  $('login').addEventListener('submit', (event) => {
    event.preventDefault();
    token = $('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, token);
    $('token').value = '';
    $('login').hidden = true;
    $('main').hidden = false;
    connect();
  });

  // ---------------------------------------------------------------- rendering

  function onPayload(p) {
    last = p;
    canAct = Boolean(p.canAct);
    const snap = p.snapshot || {};
    renderPrimary(snap);
    renderApps(snap);
    renderTimeline(p.timeline || [], snap);
    renderTasks(p.tasks, snap);
    renderActions(p.actions || [], snap);
    renderExtra(snap);
    charts.update(p.time || Date.now(), snap, true);
    document.body.dataset.updated = String(p.time);
  }

  function renderPrimary(snap) {
    const pr = snap.primary || {};
    const apps = snap.apps || [];
    const ready = apps.reduce((n, a) => n + (a.readyWorkers || 0), 0);
    const desired = apps.reduce((n, a) => n + (a.desiredWorkers || 0), 0);
    setText($('primary'), `primary pid ${pr.pid ?? dash} · ${pr.phase ?? dash} · up ${fmtMs(pr.uptimeMs)} · ${fmtMB(pr.rssBytes)} · Node ${pr.node ?? dash} · ${ready}/${desired} workers ready · config ${pr.configSource ?? dash}`);
    // Without a token no action button exists at all (not merely hidden).
    if (canAct && !$('stop')) {
      const stop = el('button', 'danger', 'Stop the cluster…');
      stop.type = 'button';
      stop.id = 'stop';
      stop.addEventListener('click', () => ask('Stop the whole cluster? Workers finish their requests and tasks, then the primary exits.', 'stop', {}));
      $('cluster-actions').append(stop);
    }
    $('cluster-actions').hidden = !canAct;
    $('readonly-hint').hidden = canAct;
    $('actions').hidden = !canAct && (last.actions || []).length === 0;
  }

  const appViews = new Map();

  function renderApps(snap) {
    const host = $('apps');
    const apps = snap.apps || [];
    const workers = snap.workers || [];
    const names = new Set(apps.map((a) => a.name));
    for (const w of workers) if (!names.has(w.app)) apps.push({ name: w.app }) && names.add(w.app);
    for (const [name, view] of appViews) {
      if (!names.has(name)) {
        view.root.remove();
        appViews.delete(name);
      }
    }
    for (const app of apps) {
      let view = appViews.get(app.name);
      if (!view) {
        view = makeAppView(app.name);
        appViews.set(app.name, view);
        host.append(view.root);
      }
      updateAppView(view, app, workers.filter((w) => w.app === app.name));
    }
  }

  function makeAppView(name) {
    const root = el('article', 'app');
    root.dataset.app = name;
    const head = el('div', 'app-head');
    const h = el('h3', null, name);
    const summary = el('p', 'app-summary');
    const tools = el('div', 'actions');
    const reload = el('button', null, `Reload ${name}…`);
    reload.type = 'button';
    reload.dataset.action = 'reload';
    reload.addEventListener('click', () => ask(`Reload every worker of ${name}? Each is replaced after its successor serves (surge, then retire).`, 'reload', { app: name }));
    const scaleLabel = el('label', 'scale');
    const scaleInput = el('input');
    scaleInput.type = 'number';
    scaleInput.min = '1';
    scaleInput.max = '1024';
    scaleInput.setAttribute('aria-label', `workers for ${name}`);
    const scaleButton = el('button', null, 'Scale…');
    scaleButton.type = 'button';
    scaleButton.addEventListener('click', () => {
      const n = Number(scaleInput.value);
      if (!Number.isInteger(n) || n < 1) return scaleInput.focus();
      ask(`Scale ${name} to ${n} worker(s)?`, 'scale', { app: name, workers: n });
    });
    scaleLabel.append('workers ', scaleInput);
    tools.append(reload, scaleLabel, scaleButton);
    head.append(h, summary);
    if (canAct) head.append(tools);
    const scroll = el('div', 'scroll');
    scroll.tabIndex = 0;
    scroll.setAttribute('role', 'region');
    scroll.setAttribute('aria-label', `workers of ${name}`);
    const table = el('table', 'workers');
    const thead = el('thead');
    const tr = el('tr');
    for (const col of ['slot', 'pid', 'gen', 'state', 'uptime', 'served / max_requests', 'RSS / max_memory', 'CPU', 'loop delay', 'heartbeat', 'in flight', 'connections', 'tasks', '']) {
      const th = el('th', null, col);
      th.scope = 'col';
      tr.append(th);
    }
    thead.append(tr);
    const tbody = el('tbody');
    table.append(thead, tbody);
    scroll.append(table);
    root.append(head, scroll);
    return { root, summary, tools, scaleInput, tbody, name };
  }

  function updateAppView(view, app, workers) {
    const limits = [];
    if (app.maxRequests > 0) limits.push(`max_requests ${fmtInt(app.maxRequests)}`);
    if (app.maxMemoryBytes > 0) limits.push(`max_memory ${fmtMB(app.maxMemoryBytes)}`);
    if (app.maxMemoryHardBytes > 0) limits.push(`max_memory_hard ${fmtMB(app.maxMemoryHardBytes)}`);
    const stopped = (app.stoppedSlots || []).map((s) => `slot ${s.slot} stopped (${s.reason})`);
    setText(view.summary, [`${app.readyWorkers ?? dash}/${app.desiredWorkers ?? dash} ready`, app.script, ...limits, ...stopped].filter(Boolean).join(' · '));
    view.tools.hidden = !canAct;
    if (document.activeElement !== view.scaleInput && app.desiredWorkers) view.scaleInput.value = String(app.desiredWorkers);
    syncRows(view.tbody, workers, (w) => w.id, makeWorkerRow, (row, w) => updateWorkerRow(row, w, app));
  }

  function makeWorkerRow(w) {
    const tr = el('tr');
    const c = {};
    for (const k of ['slot', 'pid', 'gen', 'state', 'uptime', 'served', 'rss', 'cpu', 'loop', 'hb', 'inflight', 'conns', 'tasks', 'act']) {
      c[k] = el('td', `c-${k}`);
      tr.append(c[k]);
    }
    c.stateBadge = el('span', 'state');
    c.state.append(c.stateBadge);
    c.servedBar = bar();
    c.served.append(c.servedBar.root);
    c.rssBar = bar();
    c.rss.append(c.rssBar.root);
    const recycle = el('button', null, 'Recycle…');
    recycle.type = 'button';
    recycle.addEventListener('click', () => {
      const cur = tr._worker;
      ask(`Recycle ${cur.app} slot ${cur.slot} (worker ${cur.id}, pid ${cur.pid})? Its replacement serves first; its tasks are waited for.`, 'recycle', { app: cur.app, slot: cur.slot });
    });
    c.recycle = recycle;
    if (canAct) c.act.append(recycle);
    tr._cells = c;
    return tr;
  }

  function updateWorkerRow(tr, w, app) {
    tr._worker = w;
    const c = tr._cells;
    setText(c.slot, String(w.slot ?? dash));
    setText(c.pid, w.pid == null ? dash : String(w.pid));
    setText(c.gen, String(w.generation ?? dash));
    const state = w.state || 'unknown';
    setText(c.stateBadge, w.retireReason ? `${state} (${w.retireReason})` : state);
    c.stateBadge.className = `state s-${STATE_ORDER.includes(state) ? state : 'other'}`;
    tr.dataset.state = state;
    setText(c.uptime, fmtMs(w.uptimeMs));
    const limit = num(w.requestLimit) || 0;
    setBar(c.servedBar, w.served, limit, limit > 0 ? `${fmtInt(w.served)} / ${fmtInt(limit)}` : `${fmtInt(w.served)} (no limit)`);
    const soft = num(app.maxMemoryBytes) || 0;
    const hard = num(app.maxMemoryHardBytes) || 0;
    const top = hard || soft;
    const rssText = top > 0 ? `${fmtMB(w.rssBytes)} / ${[soft && fmtMB(soft), hard && `${fmtMB(hard)} hard`].filter(Boolean).join(' · ')}` : `${fmtMB(w.rssBytes)} (no ceiling)`;
    setBar(c.rssBar, w.rssBytes, top, rssText, { softAt: hard && soft ? soft : null, warnAt: hard && soft ? soft / hard : 0.9 });
    setText(c.cpu, num(w.cpuPercent) === null ? dash : `${w.cpuPercent.toFixed(0)} %`);
    setText(c.loop, num(w.loopDelayMs) === null ? dash : `${w.loopDelayMs.toFixed(1)} ms`);
    setText(c.hb, w.heartbeatAgeMs == null ? dash : `${fmtMs(w.heartbeatAgeMs)} ago`);
    setText(c.inflight, fmtInt(w.inflight));
    // Connections, and whatever else the core reports per worker (long-lived connections…).
    const extras = Object.entries(w).filter(([k, v]) => !KNOWN_WORKER_FIELDS.has(k) && (typeof v === 'number' || typeof v === 'string'));
    setText(c.conns, [fmtInt(w.connections), ...extras.map(([k, v]) => `${k} ${v}`)].join(' · '));
    setText(c.tasks, w.activeTasks > 0 ? `${w.activeTasks}: ${byType(w.activeTasksByType)}` : '0');
    c.act.hidden = !canAct;
    c.recycle.disabled = state !== 'ready';
  }

  function renderTimeline(entries, snap) {
    const live = new Map((snap.workers || []).map((w) => [w.id, w]));
    $('timeline-empty').hidden = entries.length > 0;
    const t = snap.totals || {};
    const reasons = Object.entries(t.recyclesByReason || {}).filter(([, n]) => n > 0).map(([r, n]) => `${r} ${n}`).join(', ');
    setText($('timeline-totals'), `Since the start: ${reasons || 'no recycle'} · delayed by tasks ${fmtInt(t.recyclesDelayedByTasks)} · task wait ${fmtMs(t.taskWaitTotalMs)} · tasks lost ${fmtInt(t.tasksLost)}`);
    syncRows($('timeline-rows'), entries, (e) => e.workerId, () => {
      const tr = el('tr');
      tr._c = ['when', 'where', 'worker', 'reason', 'served', 'wait', 'lost', 'status', 'by'].map((k) => {
        const td = el('td', `c-${k}`);
        tr.append(td);
        return td;
      });
      return tr;
    }, (tr, e) => {
      const [when, where, worker, reason, served, wait, lost, status, by] = tr._c;
      setText(when, fmtTime(e.at));
      setText(where, `${e.app} · ${e.slot}`);
      setText(worker, `#${e.workerId} pid ${e.pid ?? dash} gen ${e.generation}`);
      setText(reason, e.reason);
      tr.dataset.reason = e.reason;
      setText(served, fmtInt(e.served));
      const still = e.exitedAt === null ? live.get(e.workerId) : null;
      setText(wait, e.exitedAt === null && still && still.state === 'waiting-for-tasks' ? `waiting (${byType(still.activeTasksByType)})` : e.taskWaitMs > 0 ? fmtMs(e.taskWaitMs) : '0');
      setText(lost, String(e.tasksLost ?? 0));
      lost.classList.toggle('bad', e.tasksLost > 0);
      setText(status, e.exitedAt === null ? `draining: ${still ? still.state : 'exiting'}` : `exited${e.signal ? ` ${e.signal}` : e.code !== null ? ` code ${e.code}` : ''} after ${fmtMs(e.exitedAt - e.at)}`);
      setText(by, e.replacementId == null ? dash : `#${e.replacementId}`);
    });
  }

  function renderTasks(tasks, snap) {
    const t = snap.totals || {};
    setText($('task-totals'), `Running ${byType(t.activeTasksByType)} · started ${fmtInt(t.tasksStarted)} · completed ${fmtInt(t.tasksCompleted)} · failed ${fmtInt(t.tasksFailed)} · cancelled ${fmtInt(t.tasksCancelled)} · lost ${fmtInt(t.tasksLost)}`);
    const list = (tasks && tasks.list) || [];
    const now = Date.now();
    $('tasks-empty').hidden = list.length > 0;
    syncRows($('task-rows'), list, (x) => `${x.workerId}/${x.id}`, () => {
      const tr = el('tr');
      tr._c = [0, 1, 2, 3, 4, 5].map(() => {
        const td = el('td');
        tr.append(td);
        return td;
      });
      return tr;
    }, (tr, x) => {
      const [type, what, where, running, estimate, status] = tr._c;
      const age = now - x.startedAt;
      const overdue = num(x.estimatedMs) !== null && age > x.estimatedMs;
      setText(type, x.type);
      setText(what, x.description ? `${x.description} (${x.id})` : x.id);
      setText(where, `${x.app} · ${x.slot} · ${x.pid ?? dash}`);
      setText(running, fmtMs(age));
      setText(estimate, num(x.estimatedMs) === null ? dash : fmtMs(x.estimatedMs));
      setText(status, x.state || (overdue ? 'OVERDUE' : 'running'));
      status.classList.toggle('bad', overdue);
    });
  }

  /** Parts of the status document this page does not know yet (queues, …): shown as they are. */
  function renderExtra(snap) {
    const extra = Object.keys(snap).filter((k) => !KNOWN_TOP.has(k));
    const host = $('extra');
    const text = extra.map((k) => `${k}: ${JSON.stringify(snap[k], null, 1)}`).join('\n');
    if (!text) {
      host.replaceChildren();
      return;
    }
    let pre = host.querySelector('pre');
    if (!pre) {
      const details = el('details');
      details.append(el('summary', null, 'More from the status document'));
      pre = el('pre');
      details.append(pre);
      host.append(details);
    }
    setText(pre, text);
  }

  function renderActions(actions, snap) {
    const live = new Map((snap.workers || []).map((w) => [w.id, w]));
    syncRows($('action-list'), actions, (a) => a.id, () => {
      const li = el('li');
      li._label = el('span', 'action-label');
      li._progress = el('progress');
      li._message = el('span', 'action-message');
      li.append(li._label, li._progress, li._message);
      return li;
    }, (li, a) => {
      const done = a.finishedAt !== null;
      const targets = a.targets || [];
      const gone = targets.filter((id) => !live.has(id) || !['ready', 'starting'].includes(live.get(id).state)).length;
      setText(li._label, `${fmtTime(a.startedAt)} ${a.label}`);
      li._progress.max = Math.max(1, targets.length);
      li._progress.value = done ? li._progress.max : gone;
      li._progress.setAttribute('aria-label', `${a.label}: ${done ? 'done' : `${gone} of ${targets.length}`}`);
      const state = done ? (a.ok ? 'done' : 'failed') : targets.length > 0 ? `running: ${gone} of ${targets.length} worker(s) retired` : 'running';
      setText(li._message, `${state}${done ? `: ${a.message}` : ''}`);
      li.className = done ? (a.ok ? 'ok' : 'failed') : 'running';
    });
  }

  // ---------------------------------------------------------------- actions

  let pending = null;
  function ask(text, kind, body) {
    if (!canAct) return;
    pending = { kind, body, opener: document.activeElement };
    setText($('confirm-text'), text);
    $('confirm').showModal();
  }
  $('confirm-cancel').addEventListener('click', () => $('confirm').close('cancel'));
  $('confirm-ok').addEventListener('click', () => $('confirm').close('ok'));
  $('confirm').addEventListener('close', () => {
    const chosen = $('confirm').returnValue === 'ok' ? pending : null;
    const opener = pending && pending.opener;
    pending = null;
    $('confirm').returnValue = '';
    if (opener && opener.focus) opener.focus();
    if (chosen) post(chosen.kind, chosen.body);
  });

  async function post(kind, body) {
    $('actions').hidden = false;
    try {
      const res = await fetch(`/api/actions/${kind}`, {
        method: 'POST',
        headers: headers({ 'Content-Type': 'application/json' }),
        body: JSON.stringify(body),
        cache: 'no-store',
      });
      const answer = await res.json().catch(() => ({ message: `HTTP ${res.status}` }));
      if (!res.ok) showRefusal(`${kind} refused: ${answer.message}`);
    } catch (error) {
      showRefusal(`${kind} failed: ${error.message}`);
    }
  }
  function showRefusal(text) {
    const li = el('li', 'failed', text);
    $('action-list').prepend(li);
  }

  // ---------------------------------------------------------------- charts

  const PALETTE = ['#1f77b4', '#d62728', '#2ca02c', '#9467bd', '#ff7f0e', '#17becf', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22'];

  /** A chart over the last HISTORY points, one series per key; rebuilt when a key appears. */
  function makeChart(id, fmt) {
    const host = $(id);
    const times = [];
    const series = new Map(); // key → { label, values[], dash }
    let plot = null;
    let keys = '';
    const width = () => Math.max(240, host.clientWidth || 300);
    function build() {
      if (plot) plot.destroy();
      if (typeof uPlot === 'undefined') return;
      const list = [...series.entries()];
      plot = new uPlot({
        width: width(),
        height: 180,
        legend: { show: true },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true } },
        // Whole seconds at least on the time axis: samples come once a second.
        axes: [{ incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600] }, { size: 56, values: (u, vals) => vals.map(fmt) }],
        series: [{}, ...list.map(([, s], i) => ({ label: s.label, stroke: s.color || PALETTE[i % PALETTE.length], width: s.dash ? 1 : 1.5, dash: s.dash ? [6, 4] : undefined, spanGaps: false, value: (u, v) => (v == null ? dash : fmt(v)) }))],
      }, [times, ...list.map(([, s]) => s.values)], host);
    }
    return {
      reset() {
        times.length = 0;
        series.clear();
      },
      draw() {
        host.dataset.points = String(times.length); // what the browser test reads
        const now = [...series.keys()].join('|');
        if (now !== keys || !plot) {
          keys = now;
          build();
        } else plot.setData([times, ...[...series.values()].map((s) => s.values)]);
      },
      push(t, points, draw) {
        // Older than what is drawn (a sample of the history replayed after a live one): skipped.
        if (times.length > 0 && t / 1000 <= times[times.length - 1]) return;
        times.push(t / 1000);
        for (const s of series.values()) s.values.push(null);
        for (const p of points) {
          let s = series.get(p.key);
          if (!s) {
            s = { label: p.label, values: times.map(() => null), dash: p.dash, color: p.color };
            series.set(p.key, s);
          }
          s.label = p.label;
          s.values[s.values.length - 1] = p.value;
        }
        if (times.length > HISTORY) {
          times.shift();
          for (const s of series.values()) s.values.shift();
        }
        // Series with no point left in the window go.
        for (const [k, s] of series) if (s.values.every((v) => v == null)) series.delete(k);
        if (draw) this.draw();
      },
      resize() {
        if (plot) plot.setSize({ width: width(), height: 180 });
      },
    };
  }

  const charts = (() => {
    const rps = makeChart('chart-rps', (v) => v.toFixed(0));
    const rss = makeChart('chart-rss', (v) => v.toFixed(0));
    const loop = makeChart('chart-loop', (v) => v.toFixed(1));
    const tasks = makeChart('chart-tasks', (v) => v.toFixed(0));
    let prev = null; // { t, served: Map(workerId → served) }
    const all = [rps, rss, loop, tasks];
    window.addEventListener('resize', () => all.forEach((c) => c.resize()));
    return {
      /** Draws the primary's history (oldest first), then live updates go on from its end. */
      replay(samples) {
        all.forEach((c) => c.reset());
        prev = null;
        for (const s of samples) this.update(s.time, s.snapshot, false);
        all.forEach((c) => c.draw());
        document.body.dataset.history = String(samples.length);
      },
      update(t, snap, draw) {
        if (prev && t <= prev.t) return; // already drawn (history and stream overlap by a second)
        const workers = snap.workers || [];
        // Requests per second per app, from each worker's own count (a new worker starts at 0).
        const served = new Map(workers.map((w) => [w.id, w.served || 0]));
        if (prev && t > prev.t) {
          const perApp = new Map();
          for (const w of workers) {
            const before = prev.served.get(w.id) ?? 0;
            perApp.set(w.app, (perApp.get(w.app) || 0) + Math.max(0, (w.served || 0) - before));
          }
          rps.push(t, [...perApp].map(([app, n]) => ({ key: app, label: app, value: (n * 1000) / (t - prev.t) })), draw);
        }
        prev = { t, served };
        const apps = snap.apps || [];
        const ceilings = [];
        for (const a of apps) {
          if (a.maxMemoryBytes > 0) ceilings.push({ key: `soft:${a.name}`, label: `${a.name} max_memory`, value: a.maxMemoryBytes / 1048576, dash: true, color: '#e6a100' });
          if (a.maxMemoryHardBytes > 0) ceilings.push({ key: `hard:${a.name}`, label: `${a.name} max_memory_hard`, value: a.maxMemoryHardBytes / 1048576, dash: true, color: '#c00000' });
        }
        const label = (w) => `${w.app}#${w.slot} (${w.id})`;
        rss.push(t, [...ceilings, ...workers.filter((w) => num(w.rssBytes) !== null).map((w) => ({ key: w.id, label: label(w), value: w.rssBytes / 1048576 }))], draw);
        loop.push(t, workers.filter((w) => num(w.loopDelayMs) !== null).map((w) => ({ key: w.id, label: label(w), value: w.loopDelayMs })), draw);
        const byTask = (snap.totals && snap.totals.activeTasksByType) || {};
        const total = workers.reduce((n, w) => n + (w.activeTasks || 0), 0);
        tasks.push(t, [{ key: '*', label: 'all', value: total }, ...Object.entries(byTask).map(([type, n]) => ({ key: `t:${type}`, label: type, value: n }))], draw);
      },
    };
  })();

  connect();
})();
