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
  document.querySelectorAll("[data-i18n-title]").forEach((el) => (el.title = t(el.dataset.i18nTitle)));
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
