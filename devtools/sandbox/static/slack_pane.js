// The Slack pane of the sandbox page: mrkdwn, Block Kit, messages with their files, threads,
// ephemerals and modals, rendered from /api/state (loaded before sandbox.js, which owns `ui`).
"use strict";

// ------------------------------------------------------------------ Slack: mrkdwn and Block Kit
const unent = (s) => s.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
function emo(name) { return ui.state.slack.emoji[name] || ui.state.slack.emoji[name.split("::")[0]]; }
function userName(id) { return ui.state.slack.users[id]?.name ?? id; }
function mrkdwn(text) {
  return String(text ?? "").split(/(<[^<>\n]+>)/).map((p, i) => (i % 2 ? token(p.slice(1, -1)) : inline(p))).join("");
}
function inline(s) {
  return esc(unent(s))
    .replace(/```([\s\S]*?)```/g, "<pre>$1</pre>").replace(/`([^`\n]+)`/g, "<code>$1</code>")
    .replace(/(^|[^\w*])\*([^*\n]+)\*(?!\w)/g, "$1<b>$2</b>").replace(/(^|[^\w])_([^_\n]+)_(?!\w)/g, "$1<i>$2</i>")
    .replace(/(^|[^\w~])~([^~\n]+)~(?!\w)/g, "$1<s>$2</s>")
    .replace(/:([a-z0-9_+\-]+(?:::skin-tone-[2-6])?):/g, (m, n) => emo(n) || m).replace(/\n/g, "<br>");
}
function token(inner) {
  const [target, label] = [inner.split("|")[0], inner.split("|").slice(1).join("|")];
  if (target.startsWith("@")) return `<span class="mention">@${esc(label || userName(target.slice(1)))}</span>`;
  if (target.startsWith("#")) return `<span class="mention">#${esc(label || (target.slice(1) === ui.state.slack.channel.id ? ui.state.slack.channel.name : target.slice(1)))}</span>`;
  if (target.startsWith("!date^")) {
    const sec = Number(target.split("^")[1]);
    return esc(new Date(sec * 1000).toLocaleString(ui.lang === "ja" ? "ja-JP" : "en-US", { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }));
  }
  if (target.startsWith("!")) return `<span class="mention">@${esc(label || target.slice(1).split("^")[0])}</span>`;
  const permalink = /\/archives\/[A-Z0-9]+\/p(\d{10})(\d{6})(?:\?thread_ts=([\d.]+))?/.exec(unent(target));
  if (permalink) return `<a href="#" data-act="open-thread" data-ts="${esc(permalink[3] || `${permalink[1]}.${permalink[2]}`)}">${inline(label || target)}</a>`;
  return `<a href="${esc(unent(target))}" target="_blank" rel="noreferrer">${inline(label || target)}</a>`;
}
const textObj = (o) => (!o ? "" : o.type === "plain_text" ? esc(o.text).replace(/:([a-z0-9_+\-]+):/g, (m, n) => (o.emoji !== false && emo(n)) || m) : mrkdwn(o.text));
function imgSrc(url) {
  if (!url || /\.invalid\//.test(url)) return "/avatar.svg?e=%F0%9F%A4%96&c=4a154b";
  const sticker = /^https:\/\/stickershop\.line-scdn\.net\/stickershop\/v1\/sticker\/(\d+)\//.exec(url);
  return sticker ? `/sticker.svg?id=${sticker[1]}` : url;  // offline sandbox: a local picture, not LINE's CDN
}
// An image (block or element) shows a URL, or a Slack file (slack_file {id} or {url}): that one from the emulator's store.
function imageOf(i) {
  const ref = i.slack_file;
  const id = ref && (ref.id || (/\/(F[A-Z0-9]+)\//.exec(ref.url || "") || [])[1]);
  return ref ? (id ? `/api/slack/files/${encodeURIComponent(id)}` : "") : imgSrc(i.image_url);
}

function element(el, ctx) {
  const data = `data-ts="${esc(ctx.ts)}" data-eph="${esc(ctx.eph || "")}" data-action-id="${esc(el.action_id || "")}"`;
  if (el.type === "button") return `<button class="bk-btn ${esc(el.style || "")}" data-act="button" data-value="${esc(el.value ?? "")}" ${data}>${textObj(el.text)}</button>`;
  if (el.type === "static_select" || el.type === "overflow") {
    const opts = (el.options || []).concat(...(el.option_groups || []).map((g) => g.options));
    const chosen = el.initial_option?.value;
    return `<select data-act="select" ${data}><option value="">${textObj(el.placeholder) || "…"}</option>` +
      opts.map((o) => `<option value="${esc(o.value)}"${o.value === chosen ? " selected" : ""}>${esc(o.text.text)}</option>`).join("") + "</select>";
  }
  if (el.type === "users_select") {
    const users = Object.entries(ui.state.slack.users).filter(([, u]) => !u.bot);
    return `<select data-act="users" ${data}><option value="">${textObj(el.placeholder) || "…"}</option>` +
      users.map(([id, u]) => `<option value="${esc(id)}"${id === el.initial_user ? " selected" : ""}>@${esc(u.name)}</option>`).join("") + "</select>";
  }
  if (el.type === "image") return `<img class="bk-acc-img" src="${esc(imageOf(el))}" alt="${esc(el.alt_text)}">`;
  return `<span class="bk-unknown">[${esc(el.type)}]</span>`;
}
function blocks(list, ctx) {
  return list.map((b) => {
    switch (b.type) {
      case "section": {
        const fields = b.fields ? `<div class="bk-fields">${b.fields.map((f) => `<div>${textObj(f)}</div>`).join("")}</div>` : "";
        return `<div class="bk-section"><div class="bk-text">${textObj(b.text)}${fields}</div>${b.accessory ? element(b.accessory, ctx) : ""}</div>`;
      }
      case "header": return `<div class="bk-header">${textObj(b.text)}</div>`;
      case "divider": return `<hr class="bk-divider">`;
      case "context": return `<div class="bk-context">${b.elements.map((e) => (e.type === "image" ? `<img src="${esc(imageOf(e))}" alt="">` : `<span>${textObj(e)}</span>`)).join("")}</div>`;
      case "actions": return `<div class="bk-actions">${b.elements.map((e) => element(e, ctx)).join("")}</div>`;
      case "image": return `<div class="bk-image">${b.title ? `<div>${textObj(b.title)}</div>` : ""}<img data-testid="${b.slack_file ? "slack-file-image" : "slack-block-image"}" src="${esc(imageOf(b))}" alt="${esc(b.alt_text)}"></div>`;
      default: return `<div class="bk-unknown">[${esc(b.type)}]</div>`;
    }
  }).join("");
}
function body(m, ctx) {
  const bs = (m.blocks || []).filter((b) => b.type !== "rich_text");
  return bs.length ? blocks(bs, ctx) : `<div class="text">${mrkdwn(m.text)}</div>`;
}

// ------------------------------------------------------------------ Slack: files on messages
function size(n) {
  return n >= 1048576 ? `${(n / 1048576).toFixed(1)} MB` : n >= 1024 ? `${Math.round(n / 1024)} KB` : `${n} B`;
}
function files(m) {
  const out = (m.files || []).map((f) => {
    if (f.mode === "tombstone") return `<div class="file gone">🗑️ ${t("fileDeleted")}</div>`;
    const src = `/api/slack/files/${encodeURIComponent(f.id)}`;  // the emulator's stored bytes
    if (/^image\//.test(f.mimetype || "") && f.thumb_360) {
      return `<a class="file-img" href="${src}" target="_blank" title="${esc(f.name)}"><img data-testid="slack-file-image" src="${src}" alt="${esc(f.title || f.name)}"></a>`;
    }
    return `<a class="file" data-testid="slack-file" href="${src}?download=1">📎 <b>${esc(f.name)}</b> <small>${esc(f.pretty_type || "")} · ${size(f.size || 0)}</small></a>`;
  });
  return out.length ? `<div class="files">${out.join("")}</div>` : "";
}

// ------------------------------------------------------------------ Slack: messages
function author(m) {
  const u = ui.state.slack.users[m.user];
  if (m.username) return { name: m.username, icon: m.icon_url || m.icons?.image_48, app: true };
  return { name: u?.name ?? m.user, icon: u?.image, app: Boolean(m.bot_id) };
}
function message(m, inThread) {
  const a = author(m);
  const mine = (r) => r.users.includes(ui.me);
  const rx = (m.reactions || []).map((r) => `<button class="rx${mine(r) ? " mine" : ""}" data-act="toggle-rx" data-ts="${esc(m.ts)}" data-name="${esc(r.name)}" data-mine="${mine(r)}" title="${esc(rxTitle(r))}">${emo(r.name) || ":" + esc(r.name) + ":"} ${r.count}</button>`).join("");
  const add = `<button class="rx add" data-act="pick-rx" data-ts="${esc(m.ts)}" title="${t("addReaction")}">☺＋</button>` +
    `<button class="rx add" data-act="shortcut" data-ts="${esc(m.ts)}" title="${t("shortcut")}">⋯</button>` + ownActions(m);
  const thread = !inThread && m.subtype !== "thread_broadcast"
    ? `<button class="replies" data-act="open-thread" data-ts="${esc(m.ts)}">${m.reply_count ? "💬 " + t(m.reply_count === 1 ? "replies1" : "replies", { n: m.reply_count }) : t("replyInThread")}</button>` : "";
  const bc = m.subtype === "thread_broadcast" ? `<div class="broadcast">↪ ${t("broadcast")}</div>` : "";
  const cls = !inThread && m.ts === ui.thread ? " open" : "";
  return `<div class="sm${cls}" data-testid="slack-message" data-ts="${esc(m.ts)}"><img class="avatar" src="${esc(imgSrc(a.icon))}" alt="">` +
    `<div class="main"><div><span class="name">${esc(a.name)}</span>${a.app ? `<span class="app">${t("bot")}</span>` : ""}` +
    `<span class="time">${clock(Number(m.ts))}</span>${m.edited && !m.bot_id ? `<span class="time" data-testid="edited">${t("edited")}</span>` : ""}</div>${bc}${body(m, { ts: m.ts })}${files(m)}<div class="rxs">${rx}${add}</div>${thread}</div></div>`;
}
function rxTitle(r) {  // who reacted; ⏳ explains the undo window
  const who = `${r.users.map(userName).join(", ")} :${r.name}:`;
  return r.name === "hourglass_flowing_sand" ? `${t("undoTip", { n: ui.state.bridge.send_delay })} (${who})` : who;
}
function ownActions(m) {  // a person's own message: edit / delete, as in the Slack client
  if (m.user !== ui.me || m.bot_id || m.username || m.subtype === "tombstone") return "";
  return `<button class="rx add" data-act="edit" data-ts="${esc(m.ts)}" title="${t("edit")}">✏️</button>` +
    `<button class="rx add" data-act="delete" data-ts="${esc(m.ts)}" title="${t("delete")}">🗑️</button>`;
}
function ephemeral(e) {
  const cmd = e.command ? `<div class="text"><code>${esc(e.command)}</code></div>` : "";
  return `<div class="sm ephemeral" data-testid="ephemeral"><img class="avatar" src="${imgSrc("")}" alt=""><div class="main">` +
    `<div class="eph-note">${e.dm ? "✉️ " + t("dm") : "👁 " + t("onlyYou")}</div>${cmd}${body(e, { ts: "", eph: e.id })}</div></div>`;
}
function timeline(msgs, ephs, inThread) {
  const rows = msgs.map((m) => [Number(m.ts), message(m, inThread)]).concat(ephs.map((e) => [e.time, ephemeral(e)]));
  return rows.sort((a, b) => a[0] - b[0]).map((r) => r[1]).join("");
}
function renderSlack() {
  const s = ui.state.slack;
  const role = (u) => (u.admin ? ` (${t("admin")})` : u.member ? "" : ` (${t("notMember")})`);
  setHTML($("me"), options(s.staff.map((id) => [id, `@${s.users[id].name}${role(s.users[id])}`]), ui.me));
  $("channel-name").textContent = `#${s.channel.name}`;
  $("channel-title").textContent = `#${s.channel.name}`;
  const mine = s.ephemerals.filter((e) => e.user === ui.me);
  keepBottom($("channel-msgs"), () => setHTML($("channel-msgs"), timeline(s.messages, mine.filter((e) => !e.thread_ts), false)));
  const parent = s.messages.find((m) => m.ts === ui.thread);
  const open = Boolean(parent);
  $("thread-text").disabled = !open;
  $("thread-compose").querySelectorAll("button").forEach((b) => (b.disabled = !open));
  const reset = ui.thread !== ui.threadShown;
  ui.threadShown = ui.thread;
  keepBottom($("thread-msgs"), () => setHTML($("thread-msgs"), open
    ? message(parent, true) + `<hr class="bk-divider">` + timeline(s.threads[parent.ts] || [], mine.filter((e) => e.thread_ts === parent.ts), true)
    : `<div class="empty">${t("noThread")}</div>`), reset);
  renderModal(s.modals.filter((m) => m.user === ui.me).at(-1));
}

// ------------------------------------------------------------------ Slack: a modal (views.open)
function modalInput(b) {
  const e = b.element;
  const key = `data-block="${esc(b.block_id)}" data-aid="${esc(e.action_id)}" data-type="${esc(e.type)}"`;
  if (e.type === "checkboxes") return e.options.map((o) => `<label><input type="checkbox" ${key} value="${esc(o.value)}"> ${textObj(o.text)}</label>`).join("<br>");
  if (e.type === "static_select" || e.type === "users_select") return element(e, { ts: "" }).replace(/data-act="\w+"/, key);
  return `<input ${key}>`;
}
function renderModal(m) {
  const el = $("modal");
  if (!m) { el.hidden = true; el._key = null; return; }
  if (el._key !== m.id + m.hash) {
    el._key = m.id + m.hash;
    const inner = m.blocks.map((b) => (b.type === "input" ? `<div class="bk-input"><div>${textObj(b.label)}</div>${modalInput(b)}</div>` : blocks([b], { ts: "" }))).join("");
    const submit = m.submit ? `<button class="bk-btn primary" data-act="modal-submit" data-view="${esc(m.id)}">${textObj(m.submit)}</button>` : "";
    el.innerHTML = `<div class="modal"><h2>${textObj(m.title)}</h2>${inner}<div class="foot">` +
      `<button class="bk-btn" data-act="modal-close" data-view="${esc(m.id)}">${textObj(m.close) || "✕"}</button>${submit}</div></div>`;
  }
  el.hidden = false;
}
function modalValues() {
  const values = {};
  document.querySelectorAll("#modal [data-block]").forEach((el) => {
    const v = (values[el.dataset.block] ??= {});
    const aid = el.dataset.aid;
    const text = (s) => ({ type: "plain_text", text: s });
    if (el.dataset.type === "checkboxes") {
      v[aid] ??= { type: "checkboxes", selected_options: [] };
      if (el.checked) v[aid].selected_options.push({ value: el.value, text: text(el.parentElement.textContent.trim()) });
    } else if (el.dataset.type === "static_select") v[aid] = { type: "static_select", selected_option: el.value ? { value: el.value, text: text(el.selectedOptions[0].text) } : null };
    else if (el.dataset.type === "users_select") v[aid] = { type: "users_select", selected_user: el.value || null };
    else v[aid] = { type: "plain_text_input", value: el.value };
  });
  return values;
}

