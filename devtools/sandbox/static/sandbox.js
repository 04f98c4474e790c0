// LINE–Slack Bridge sandbox page: polls /api/state and renders both sides; every action is a
// POST that the sandbox server forwards to the bridge as a signed webhook / event / command.
"use strict";

const I18N = {
  ja: {
    title: "LINE–Slack Bridge サンドボックス", newFriend: "＋友だち", newGroup: "＋グループ",
    friendName: "名前（例: 山田 花子）", followEvent: "友だち追加イベントを送る", addFriend: "友だちになる",
    groupName: "グループ名", createGroup: "グループを作る", send: "送信", reply: "返信",
    lineInput: "メッセージを入力", youAre: "あなた:", channelInput: "メッセージ、または /pending /claim 12 …",
    thread: "スレッド", threadInput: "スレッドに返信（// で始めると社内メモ）", read: "既読",
    noChat: "友だちを追加してください", noThread: "メッセージの「スレッド」を開くとここに表示されます",
    replies: "{n} 件の返信", replyInThread: "スレッドで返信", onlyYou: "あなただけに表示されています",
    broadcast: "スレッドに返信しました", dm: "アプリからのダイレクトメッセージ（あなただけ）", notMember: "チャンネル外", speakAs: "発言者",
    failed: "送信失敗", members: "メンバー:", group: "グループ", account: "公式アカウント",
    block: "ブロック", unblock: "ブロック解除", blocked: "この公式アカウントをブロックしています",
    addReaction: "リアクションを追加", bot: "アプリ", sentImage: "画像", shortcut: "会話の操作",
  },
  en: {
    title: "LINE–Slack Bridge sandbox", newFriend: "+ Friend", newGroup: "+ Group",
    friendName: "Name (e.g. Hanako Yamada)", followEvent: "Send the follow event", addFriend: "Add friend",
    groupName: "Group name", createGroup: "Create group", send: "Send", reply: "Reply",
    lineInput: "Type a message", youAre: "You are:", channelInput: "Message, or /pending /claim 12 …",
    thread: "Thread", threadInput: "Reply in thread (start with // for a note)", read: "Read",
    noChat: "Add a friend to start", noThread: "Open a message's thread to see it here",
    replies: "{n} replies", replyInThread: "Reply in thread", onlyYou: "Only visible to you",
    broadcast: "replied to a thread", dm: "Direct message from the app (only you)", notMember: "not in channel", speakAs: "Speaking",
    failed: "Not delivered", members: "Members:", group: "Group", account: "Official account",
    block: "Block", unblock: "Unblock", blocked: "You blocked this official account",
    addReaction: "Add reaction", bot: "APP", sentImage: "Image", shortcut: "Conversation",
  },
};
const AVATARS = ["🙂", "🌸", "🐱", "🐶", "🐰", "🍙", "⚽", "🎸", "👵", "👨‍💼"];
const ui = { lang: localStorage.getItem("sandbox-lang") || "ja", account: "default", chat: null, sender: null,
  me: localStorage.getItem("sandbox-me") || "USATO", thread: null, v: "", state: null, pickerTs: null };

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
function t(key, params = {}) {
  let s = I18N[ui.lang][key] ?? I18N.ja[key] ?? key;
  for (const [k, v] of Object.entries(params)) s = s.replace(`{${k}}`, v);
  return s;
}
function setHTML(el, html) { if (el._html !== html) { el._html = html; el.innerHTML = html; } }
function clock(sec) { return new Date(sec * 1000).toLocaleTimeString(ui.lang === "ja" ? "ja-JP" : "en-US", { hour: "2-digit", minute: "2-digit" }); }
function flash(msg) { const el = $("toast"); el.textContent = msg; el.hidden = false; clearTimeout(el._t); el._t = setTimeout(() => (el.hidden = true), 4000); }

async function api(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok || data.error) flash(data.error || `HTTP ${r.status}`);
  else if (data.status && data.status >= 400) flash(`bridge answered ${data.status}`);
  poll();
  return data;
}

let polling = false;
async function poll() {
  if (polling) return;
  polling = true;
  try {
    const data = await (await fetch(`/api/state?v=${ui.v}`)).json();
    if (!data.same) { ui.v = data.v; ui.state = data.state; render(); }
  } catch (e) { /* the sandbox is restarting: try again */ } finally { polling = false; }
}

// ------------------------------------------------------------------ rendering: shared
function render() {
  document.documentElement.lang = ui.lang;
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  document.querySelectorAll("[data-i18n-ph]").forEach((el) => (el.placeholder = t(el.dataset.i18nPh)));
  document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === ui.lang)));
  if (!ui.state) return;
  renderLine();
  renderSlack();
}
function keepBottom(el, fn) {
  const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 40;
  fn();
  if (atBottom) el.scrollTop = el.scrollHeight;
}
const options = (items, selected) => items.map(([v, label]) => `<option value="${esc(v)}"${v === selected ? " selected" : ""}>${esc(label)}</option>`).join("");

// ------------------------------------------------------------------ LINE
function renderLine() {
  const line = ui.state.line;
  setHTML($("account"), options(line.accounts.map((a) => [a.id, `🏪 ${a.name}`]), ui.account));
  $("account").title = t("account");
  const acct = line.account[ui.account];
  if (!acct.chats.find((c) => c.id === ui.chat)) ui.chat = acct.chats.length ? acct.chats[acct.chats.length - 1].id : null;
  setHTML($("chat"), options(acct.chats.map((c) => [c.id, (c.kind === "group" ? "👥 " : "") + c.name]), ui.chat));
  const friends = acct.chats.filter((c) => c.kind === "user");
  setHTML($("group-members"), `<span>${t("members")}</span>` + friends.map((f) =>
    `<label><input type="checkbox" name="member" value="${esc(f.id)}"> ${esc(f.name)}</label>`).join(" "));
  setHTML($("stickers"), acct.stickers.map((s, i) => `<button type="button" data-sticker="${i}">${s}</button>`).join(""));
  const chat = acct.chats.find((c) => c.id === ui.chat);
  const sender = $("line-sender");
  sender.hidden = !chat || chat.kind !== "group";
  if (chat && chat.kind === "group") {
    if (!chat.members.includes(ui.sender)) ui.sender = chat.members[0];
    setHTML(sender, options(chat.members.map((m) => [m, `${t("speakAs")}: ${acct.people[m]?.name ?? m}`]), ui.sender));
  }
  setHTML($("line-head"), chat ? `<img src="${esc(chat.icon)}" alt=""><b>${esc(chat.name)}</b>` +
    (chat.kind === "group" ? ` <small>(${chat.members.length})</small>` : "") + `<small style="margin-left:auto">⇄ ${esc(acct.name)}</small>` +
    (chat.kind === "user" ? ` <button class="btn" data-act="block" data-blocked="${!chat.blocked}">${t(chat.blocked ? "unblock" : "block")}</button>` : "") : "");
  $("line-text").disabled = !chat || chat.blocked;
  $("line-text").placeholder = chat && chat.blocked ? t("blocked") : t("lineInput");
  keepBottom($("line-msgs"), () => setHTML($("line-msgs"), chat ? lineTimeline(acct, chat) : `<div class="empty">${t("noChat")}</div>`));
}
function lineTimeline(acct, chat) {
  const botIcon = "/avatar.svg?e=%F0%9F%8F%AA&c=06c755";
  const rows = chat.timeline.map((m) => {
    let body;
    if (m.type === "sticker") body = `<div class="bubble sticker">${esc(m.sticker)}</div>`;
    else if (m.type === "image" && m.mine) body = `<div class="bubble"><img class="photo" alt="${t("sentImage")}" src="/api/line/${esc(acct.id)}/content/${esc(m.image)}"></div>`;
    else if (m.type === "image") body = `<div class="bubble">🖼️ <a href="${esc(m.url)}" target="_blank">${t("sentImage")}</a></div>`;
    else body = `<div class="bubble">${esc(m.text)}</div>`;
    if (!m.mine) return `<div class="lm" data-testid="line-bot-message"><img class="avatar" src="${botIcon}" alt="">${body}<div class="meta">${clock(m.time)}</div></div>`;
    const who = chat.kind === "group" ? `<div class="who">${esc(acct.people[m.from]?.name ?? "")}</div>` : "";
    const status = m.status && m.status !== 200 ? `<div class="failed">${t("failed")} (${m.status})</div>` : "";
    const read = m.read ? `<div data-testid="line-read">${t("read")}</div>` : "";
    return `<div class="lm mine" data-testid="line-my-message"><div>${who}${body}</div><div class="meta">${status}${read}${clock(m.time)}</div></div>`;
  });
  if (chat.loading) rows.push(`<div class="lm loading" data-testid="line-loading"><img class="avatar" src="${botIcon}" alt=""><div class="bubble">•••</div></div>`);
  return rows.join("") || `<div class="empty">${esc(chat.name)}</div>`;
}

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
function imgSrc(url) { return !url || /\.invalid\//.test(url) ? "/avatar.svg?e=%F0%9F%A4%96&c=4a154b" : url; }

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
  if (el.type === "image") return `<img class="bk-acc-img" src="${esc(imgSrc(el.image_url))}" alt="${esc(el.alt_text)}">`;
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
      case "context": return `<div class="bk-context">${b.elements.map((e) => (e.type === "image" ? `<img src="${esc(imgSrc(e.image_url))}" alt="">` : `<span>${textObj(e)}</span>`)).join("")}</div>`;
      case "actions": return `<div class="bk-actions">${b.elements.map((e) => element(e, ctx)).join("")}</div>`;
      case "image": return `<div class="bk-image">${b.title ? `<div>${textObj(b.title)}</div>` : ""}<img src="${esc(imgSrc(b.image_url))}" alt="${esc(b.alt_text)}"></div>`;
      default: return `<div class="bk-unknown">[${esc(b.type)}]</div>`;
    }
  }).join("");
}
function body(m, ctx) {
  const bs = (m.blocks || []).filter((b) => b.type !== "rich_text");
  return bs.length ? blocks(bs, ctx) : `<div class="text">${mrkdwn(m.text)}</div>`;
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
  const rx = (m.reactions || []).map((r) => `<button class="rx${mine(r) ? " mine" : ""}" data-act="toggle-rx" data-ts="${esc(m.ts)}" data-name="${esc(r.name)}" data-mine="${mine(r)}" title="${esc(r.users.map(userName).join(", "))} :${esc(r.name)}:">${emo(r.name) || ":" + esc(r.name) + ":"} ${r.count}</button>`).join("");
  const add = `<button class="rx add" data-act="pick-rx" data-ts="${esc(m.ts)}" title="${t("addReaction")}">☺＋</button>` +
    `<button class="rx add" data-act="shortcut" data-ts="${esc(m.ts)}" title="${t("shortcut")}">⋯</button>`;
  const thread = !inThread && m.subtype !== "thread_broadcast"
    ? `<button class="replies" data-act="open-thread" data-ts="${esc(m.ts)}">${m.reply_count ? "💬 " + t("replies", { n: m.reply_count }) : t("replyInThread")}</button>` : "";
  const bc = m.subtype === "thread_broadcast" ? `<div class="broadcast">↪ ${t("broadcast")}</div>` : "";
  const cls = !inThread && m.ts === ui.thread ? " open" : "";
  return `<div class="sm${cls}" data-testid="slack-message" data-ts="${esc(m.ts)}"><img class="avatar" src="${esc(imgSrc(a.icon))}" alt="">` +
    `<div class="main"><div><span class="name">${esc(a.name)}</span>${a.app ? `<span class="app">${t("bot")}</span>` : ""}` +
    `<span class="time">${clock(Number(m.ts))}</span></div>${bc}${body(m, { ts: m.ts })}<div class="rxs">${rx}${add}</div>${thread}</div></div>`;
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
  setHTML($("me"), options(s.staff.map((id) => [id, `@${s.users[id].name}${s.users[id].member ? "" : ` (${t("notMember")})`}`]), ui.me));
  $("channel-name").textContent = `#${s.channel.name}`;
  $("channel-title").textContent = `#${s.channel.name}`;
  const mine = s.ephemerals.filter((e) => e.user === ui.me);
  keepBottom($("channel-msgs"), () => setHTML($("channel-msgs"), timeline(s.messages, mine.filter((e) => !e.thread_ts), false)));
  const parent = s.messages.find((m) => m.ts === ui.thread);
  const open = Boolean(parent);
  $("thread-text").disabled = !open;
  $("thread-compose").querySelector("button").disabled = !open;
  keepBottom($("thread-msgs"), () => setHTML($("thread-msgs"), open
    ? message(parent, true) + `<hr class="bk-divider">` + timeline(s.threads[parent.ts] || [], mine.filter((e) => e.thread_ts === parent.ts), true)
    : `<div class="empty">${t("noThread")}</div>`));
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

// ------------------------------------------------------------------ actions
function showPicker(btn) {
  const p = $("picker");
  ui.pickerTs = btn.dataset.ts;
  setHTML(p, ui.state.slack.reactions.map((r) => `<button type="button" data-reaction="${esc(r.name)}" title=":${esc(r.name)}: ${esc(r.does)}">${emo(r.name) || r.name}</button>`).join(""));
  const box = btn.getBoundingClientRect();
  p.style.left = `${Math.min(box.left, innerWidth - 240)}px`;
  p.style.top = `${Math.min(box.bottom + 4, innerHeight - 120)}px`;
  p.hidden = false;
}
document.addEventListener("click", (ev) => {
  const el = ev.target.closest("[data-act], [data-reaction], [data-sticker], [data-lang]");
  if (!el || el.tagName === "SELECT") { if (!ev.target.closest("#picker")) $("picker").hidden = true; return; }
  const d = el.dataset;
  if (el.tagName === "A") ev.preventDefault();
  if (d.lang) { ui.lang = d.lang; localStorage.setItem("sandbox-lang", ui.lang); setHTML($("picker"), ""); document.querySelectorAll("[data-i18n], .msgs, .line-msgs, select").forEach((x) => (x._html = null)); render(); return; }
  if (d.sticker !== undefined) { $("stickers").hidden = true; api(`/api/line/${ui.account}/send`, { chat: ui.chat, sender: ui.sender, kind: "sticker", sticker: Number(d.sticker) }); return; }
  if (d.reaction) { $("picker").hidden = true; api("/api/slack/reaction", { user: ui.me, ts: ui.pickerTs, name: d.reaction }); return; }
  if (d.act === "pick-rx") { showPicker(el); return; }
  $("picker").hidden = true;
  if (d.act === "toggle-rx") api("/api/slack/reaction", { user: ui.me, ts: d.ts, name: d.name, removed: d.mine === "true" });
  if (d.act === "open-thread") { ui.thread = d.ts; renderSlack(); $("thread-text").focus(); }
  if (d.act === "block") api(`/api/line/${ui.account}/block`, { chat: ui.chat, blocked: d.blocked === "true" });
  if (d.act === "shortcut") api("/api/slack/shortcut", { user: ui.me, ts: d.ts });
  if (d.act === "modal-close") api("/api/slack/view", { user: ui.me, view_id: d.view });
  if (d.act === "modal-submit") api("/api/slack/view", { user: ui.me, view_id: d.view, values: modalValues() });
  if (d.act === "button") api("/api/slack/action", { user: ui.me, ts: d.ts, ephemeral: d.eph, action_id: d.actionId, value: d.value });
});
document.addEventListener("change", (ev) => {
  const el = ev.target;
  const d = el.dataset;
  if (!el.value || !d.act) return;
  if (d.act === "select") api("/api/slack/action", { user: ui.me, ts: d.ts, ephemeral: d.eph, action_id: d.actionId, option: { text: { type: "plain_text", text: el.selectedOptions[0].text }, value: el.value } });
  if (d.act === "users") api("/api/slack/action", { user: ui.me, ts: d.ts, ephemeral: d.eph, action_id: d.actionId, selected_user: el.value });
});
function submitter(formId, inputId, send) {
  $(formId).addEventListener("submit", (ev) => {
    ev.preventDefault();
    const input = $(inputId);
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    send(text);
  });
}
submitter("line-compose", "line-text", (text) => api(`/api/line/${ui.account}/send`, { chat: ui.chat, sender: ui.sender, kind: "text", text }));
submitter("channel-compose", "channel-text", (text) => (text.startsWith("/")
  ? api("/api/slack/command", { user: ui.me, text }) : api("/api/slack/message", { user: ui.me, text })));
submitter("thread-compose", "thread-text", (text) => api("/api/slack/message", { user: ui.me, text, thread_ts: ui.thread }));
$("friend-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await api(`/api/line/${ui.account}/friends`, { name: $("friend-name").value, emoji: $("friend-emoji").value, color: $("friend-color").value, follow: $("friend-follow").checked });
  if (r.chat) { ui.chat = r.chat; $("friend-name").value = ""; $("friend-form").hidden = true; }
});
$("group-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const members = [...document.querySelectorAll("#group-members input:checked")].map((i) => i.value);
  const r = await api(`/api/line/${ui.account}/groups`, { name: $("group-name").value, members, emoji: $("group-emoji").value });
  if (r.chat) { ui.chat = r.chat; $("group-name").value = ""; $("group-form").hidden = true; }
});
$("new-friend").addEventListener("click", () => { $("friend-form").hidden = !$("friend-form").hidden; $("group-form").hidden = true; $("friend-name").focus(); });
$("new-group").addEventListener("click", () => { $("group-form").hidden = !$("group-form").hidden; $("friend-form").hidden = true; });
$("chat").addEventListener("change", (ev) => { ui.chat = ev.target.value; renderLine(); });
$("account").addEventListener("change", (ev) => { ui.account = ev.target.value; ui.chat = null; renderLine(); });
$("line-sender").addEventListener("change", (ev) => { ui.sender = ev.target.value; });
$("me").addEventListener("change", (ev) => { ui.me = ev.target.value; localStorage.setItem("sandbox-me", ui.me); renderSlack(); });
$("close-thread").addEventListener("click", () => { ui.thread = null; renderSlack(); });
$("sticker-btn").addEventListener("click", () => { $("stickers").hidden = !$("stickers").hidden; });
$("image-btn").addEventListener("click", () => $("image-file").click());
$("image-file").addEventListener("change", (ev) => {
  const file = ev.target.files[0];
  if (!file) return;
  const reader = new FileReader();
  reader.onload = () => api(`/api/line/${ui.account}/send`, { chat: ui.chat, sender: ui.sender, kind: "image", image: reader.result });
  reader.readAsDataURL(file);
  ev.target.value = "";
});
for (const id of ["friend-emoji", "group-emoji"]) $(id).innerHTML = AVATARS.concat(["👥"]).map((e) => `<option>${e}</option>`).join("");
$("group-emoji").value = "👥";
render();
poll();
setInterval(poll, 700);
