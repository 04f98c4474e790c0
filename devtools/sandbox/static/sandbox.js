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
    attach: "画像・ファイルを添付（入力中のテキストも一緒に送ります）", fileDeleted: "このファイルは削除されました",
    replies1: "1 件の返信", admin: "管理者", newMessages: "新しいメッセージ ↓", edit: "編集", delete: "削除", save: "保存",
    cancel: "キャンセル", edited: "（編集済み）", editTitle: "メッセージを編集", deleteConfirm: "このメッセージを削除しますか？",
    undoTip: "⏳ 送信待ち：スタッフの返信は {n} 秒待ってから LINE に送られます。その間に ✏️ 編集すると LINE には編集後の内容が、🗑️ 削除すると何も送られません。送信後の編集には訂正の送信を提案します。",
    undoHint: "⏳ 返信は {n} 秒後に LINE へ送られます。それまでは自分のメッセージの ✏️ 編集・🗑️ 削除で変更・取り消しできます。",
    clock: "時刻", clockNow: "🕘 今（営業中）", clockClosed: "🌙 {date}（休業日）",
    clockTitle: "サンドボックスの時刻（営業時間・🌙・自動応答が従います）",
    bridgeLang: "ブリッジ自身の表示（Slack の投稿や LINE への自動応答）は BRIDGE_LANGUAGE={lang} の言語です。",
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
    attach: "Attach an image or file (sent with the text typed so far)", fileDeleted: "This file was deleted",
    replies1: "1 reply", admin: "admin", newMessages: "New messages ↓", edit: "Edit", delete: "Delete", save: "Save",
    cancel: "Cancel", edited: "(edited)", editTitle: "Edit message", deleteConfirm: "Delete this message?",
    undoTip: "⏳ Waiting to send: a staff reply goes to LINE after {n} s. Edit it ✏️ within that time and LINE gets the edited text; delete it 🗑️ and nothing is sent. An edit after sending gets the offer to send a correction.",
    undoHint: "⏳ Replies go to LINE after {n} s. Until then, ✏️ edit or 🗑️ delete your message to change or cancel it.",
    clock: "Time", clockNow: "🕘 Now (open)", clockClosed: "🌙 {date} (closed day)",
    clockTitle: "The sandbox's time (business hours, 🌙 and the auto-reply follow it)",
    bridgeLang: "What the bridge itself writes (its Slack posts, LINE auto-replies) is in BRIDGE_LANGUAGE={lang}: start the sandbox with `./scripts/demo --play --lang en` for English.",
  },
};
const AVATARS = ["🙂", "🌸", "🐱", "🐶", "🐰", "🍙", "⚽", "🎸", "👵", "👨‍💼"];
// What the reader chose survives a reload: the account, chat and open thread (local storage).
const saved = JSON.parse(localStorage.getItem("sandbox-view") || "{}");
const ui = { lang: localStorage.getItem("sandbox-lang"), account: saved.account || "default", chat: saved.chat || null, sender: null,
  me: localStorage.getItem("sandbox-me") || "USATO", thread: saved.thread || null, v: "", state: null, pickerTs: null, editing: null };
function saveView() { localStorage.setItem("sandbox-view", JSON.stringify({ account: ui.account, chat: ui.chat, thread: ui.thread })); }

const $ = (id) => document.getElementById(id);
const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
function t(key, params = {}) {
  let s = I18N[ui.lang || "ja"][key] ?? I18N.ja[key] ?? key;
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
let pollAgain = false;
async function poll() {
  if (polling) { pollAgain = true; return; }  // after the one under way: it may predate what was just done
  polling = true;
  try {
    const data = await (await fetch(`/api/state?v=${ui.v}`)).json();
    if (!data.same) { ui.v = data.v; ui.state = data.state; ui.lang ||= data.state.bridge.lang; render(); }
  } catch (e) { /* the sandbox is restarting: try again */ } finally {
    polling = false;
    if (pollAgain) { pollAgain = false; poll(); }
  }
}
function chosen(chat) {  // a chat just created: shown as soon as the state has it, kept until then
  ui.chat = ui.pendingChat = chat;
  saveView();
  poll();
}

// ------------------------------------------------------------------ rendering: shared
function render() {
  document.documentElement.lang = ui.lang || "ja";
  document.querySelectorAll("[data-i18n]").forEach((el) => (el.textContent = t(el.dataset.i18n)));
  document.querySelectorAll("[data-i18n-ph]").forEach((el) => (el.placeholder = t(el.dataset.i18nPh)));
  document.querySelectorAll("[data-i18n-title]").forEach((el) => (el.title = t(el.dataset.i18nTitle)));
  document.querySelectorAll("[data-lang]").forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.lang === ui.lang)));
  if (!ui.state) return;
  const note = $("bridge-lang");
  note.hidden = ui.lang === ui.state.bridge.lang;
  note.textContent = t("bridgeLang", { lang: ui.state.bridge.lang });
  $("undo-hint").textContent = t("undoHint", { n: ui.state.bridge.send_delay });
  renderClock(ui.state.bridge.clock);
  renderLine();
  renderSlack();
  saveView();
}
function renderClock(c) {  // the sandbox's "now": today (open) or its closed day
  $("clock-box").hidden = !c;
  if (!c) return;
  const day = new Date((Date.now() / 1000 + c.closed_in_days * 86400) * 1000)
    .toLocaleDateString(ui.lang === "en" ? "en-US" : "ja-JP", { month: "short", day: "numeric", timeZone: "Asia/Tokyo" });
  $("clock").title = t("clockTitle");
  setHTML($("clock"), options([["0", t("clockNow")], [String(c.closed_in_days), t("clockClosed", { date: day })]],
    String(Math.round(c.offset / 86400))));
}
$("clock").addEventListener("change", (ev) => api("/api/clock", { days: Number(ev.target.value) }));
// ------------------------------------------------------------------ scrolling: follow the newest message
// A list follows new messages while its reader is at the bottom (also when a picture loads later
// and makes it taller); a reader who scrolled up keeps their place and gets a "new messages" marker.
const atBottom = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 40;
function toBottom(el) {
  // A scroll we make ourselves is not the reader's: its scroll event (delivered later, maybe after a
  // picture made the list taller again) must not count as "scrolled up".
  if (el.scrollHeight - el.clientHeight - el.scrollTop > 1) el._auto = true;
  el.scrollTop = el.scrollHeight; el._stick = true; el._marker.hidden = true;
}
function keepBottom(el, fn, reset = false) {
  const before = el._html;
  fn();
  if (reset || el._stick !== false) toBottom(el);
  else if (el._html !== before) el._marker.hidden = false;
}
for (const id of ["line-msgs", "channel-msgs", "thread-msgs"]) {
  const el = $(id);
  const wrap = document.createElement("div");
  wrap.className = "scroll-wrap";
  el.replaceWith(wrap);
  wrap.append(el);
  el._marker = Object.assign(document.createElement("button"), { type: "button", className: "new-msgs", hidden: true });
  el._marker.dataset.testid = "new-messages";
  el._marker.dataset.i18n = "newMessages";
  el._marker.addEventListener("click", () => toBottom(el));
  wrap.append(el._marker);
  el.addEventListener("scroll", () => {
    if (el._auto) { el._auto = false; if (el._stick !== false) return; }
    el._stick = atBottom(el); if (el._stick) el._marker.hidden = true;
  });
}
document.addEventListener("load", (ev) => {  // a picture loaded: the list grew under its reader
  const el = ev.target.tagName === "IMG" && ev.target.closest(".msgs, .line-msgs");
  if (el && el._stick !== false) toBottom(el);
}, true);
const options = (items, selected) => items.map(([v, label]) => `<option value="${esc(v)}"${v === selected ? " selected" : ""}>${esc(label)}</option>`).join("");

// ------------------------------------------------------------------ LINE
function renderLine() {
  const line = ui.state.line;
  setHTML($("account"), options(line.accounts.map((a) => [a.id, `🏪 ${a.name}`]), ui.account));
  $("account").title = t("account");
  if (!line.account[ui.account]) ui.account = "default";
  const acct = line.account[ui.account];
  const known = acct.chats.some((c) => c.id === ui.chat);
  if (known && ui.chat === ui.pendingChat) ui.pendingChat = null;
  if (!known && !(ui.chat && ui.chat === ui.pendingChat)) ui.chat = acct.chats.length ? acct.chats[acct.chats.length - 1].id : null;
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
  const shown = `${ui.account}/${ui.chat}`;
  keepBottom($("line-msgs"), () => setHTML($("line-msgs"), chat ? lineTimeline(acct, chat) : `<div class="empty">${t("noChat")}</div>`), shown !== ui.lineShown);
  ui.lineShown = shown;
}
function lineTimeline(acct, chat) {
  const botIcon = "/avatar.svg?e=%F0%9F%8F%AA&c=06c755";
  const rows = chat.timeline.map((m) => {
    let body;
    if (m.type === "sticker") body = `<div class="bubble sticker">${esc(m.sticker)}</div>`;
    else if (m.type === "image" && m.mine) body = `<div class="bubble image"><img class="photo" alt="${t("sentImage")}" src="/api/line/${esc(acct.id)}/content/${esc(m.image)}"></div>`;
    else if (m.type === "image") body = `<div class="bubble image"><a href="${esc(m.full || m.url)}" target="_blank"><img class="photo" data-testid="line-bot-image" alt="${t("sentImage")}" src="${esc(m.url)}"></a></div>`;
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
  if (d.act === "open-thread") { ui.thread = d.ts; renderSlack(); saveView(); $("thread-text").focus(); }
  if (d.act === "edit") openEditor(d.ts);
  if (d.act === "delete" && confirm(t("deleteConfirm"))) api("/api/slack/delete", { user: ui.me, ts: d.ts });
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
$("thread-attach").addEventListener("click", () => $("thread-file").click());
$("thread-file").addEventListener("change", (ev) => {  // a staff upload into the thread (Slack's file_share)
  const file = ev.target.files[0];
  if (!file || !ui.thread) return;
  const [thread, text, reader] = [ui.thread, $("thread-text").value.trim(), new FileReader()];
  $("thread-text").value = "";
  reader.onload = () => api("/api/slack/message", { user: ui.me, text, thread_ts: thread, file: { name: file.name, type: file.type, data: reader.result } });
  reader.readAsDataURL(file);
  ev.target.value = "";
});
$("friend-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const r = await api(`/api/line/${ui.account}/friends`, { name: $("friend-name").value, emoji: $("friend-emoji").value, color: $("friend-color").value, follow: $("friend-follow").checked });
  if (r.chat) { ui.chat = r.chat; $("friend-name").value = ""; $("friend-form").hidden = true; chosen(r.chat); }
});
$("group-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const members = [...document.querySelectorAll("#group-members input:checked")].map((i) => i.value);
  const r = await api(`/api/line/${ui.account}/groups`, { name: $("group-name").value, members, emoji: $("group-emoji").value });
  if (r.chat) { ui.chat = r.chat; $("group-name").value = ""; $("group-form").hidden = true; chosen(r.chat); }
});
$("new-friend").addEventListener("click", () => { $("friend-form").hidden = !$("friend-form").hidden; $("group-form").hidden = true; $("friend-name").focus(); });
$("new-group").addEventListener("click", () => { $("group-form").hidden = !$("group-form").hidden; $("friend-form").hidden = true; });
$("chat").addEventListener("change", (ev) => { ui.chat = ev.target.value; renderLine(); saveView(); });
$("account").addEventListener("change", (ev) => { ui.account = ev.target.value; ui.chat = null; renderLine(); saveView(); });
$("line-sender").addEventListener("change", (ev) => { ui.sender = ev.target.value; });
$("me").addEventListener("change", (ev) => { ui.me = ev.target.value; localStorage.setItem("sandbox-me", ui.me); renderSlack(); });
$("close-thread").addEventListener("click", () => { ui.thread = null; renderSlack(); saveView(); });
// ------------------------------------------------------------------ editing one's own message (message_changed)
function openEditor(ts) {
  const all = [...ui.state.slack.messages, ...Object.values(ui.state.slack.threads).flat()];
  const m = all.find((x) => x.ts === ts);
  if (!m) return;
  ui.editing = ts;
  // What the person typed: Slack's escaping undone, <@U…> mentions back to @handle.
  $("edit-text").value = unent(String(m.text || "").replace(/<@(U[A-Z0-9]+)(?:\|[^>]*)?>/g, (_, id) => `@${userName(id)}`));
  $("edit-box").hidden = false;
  $("edit-text").focus();
}
$("edit-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const text = $("edit-text").value.trim();
  if (text && ui.editing) api("/api/slack/edit", { user: ui.me, ts: ui.editing, text });
  ui.editing = null;
  $("edit-box").hidden = true;
});
$("edit-cancel").addEventListener("click", () => { ui.editing = null; $("edit-box").hidden = true; });
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
