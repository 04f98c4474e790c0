"""The history page's HTML (jinja2, autoescaped: every string from LINE or Slack is text, never markup).

No script at all; the one inline stylesheet is allowed by its hash in a strict
Content-Security-Policy (:data:`CSP`), images and files come only from this server (the media
route under the same token). Search is a GET form; the matches are numbered anchors
(``#hit-1``…) with a link to the next one, so ``/history 12 予約`` opens the page at its first match.
Printable: the print stylesheet drops the search bar and keeps day separators with their messages.
A long conversation is paged (:mod:`bridge.history.paging`): the page says which range it shows
and links to the older and newer pages at its top and bottom (plain links, no script).
"""
from __future__ import annotations

import base64
import hashlib

from jinja2 import Environment, select_autoescape

from bridge.history.view import HistoryView
from bridge.i18n import t

CSS = """
:root{color-scheme:light;--in:#f1f5f9;--out:#e8f5e9;--note:#fff8e1;--auto:#eef2ff;--ink:#1f2937;--mute:#6b7280}
*{box-sizing:border-box}
body{margin:0;font:15px/1.55 system-ui,-apple-system,"Hiragino Sans","Noto Sans CJK JP","Yu Gothic",sans-serif;color:var(--ink);background:#fff}
header{padding:16px 20px;border-bottom:1px solid #e5e7eb}
header h1{margin:0 0 4px;font-size:20px}
header p{margin:0;color:var(--mute);font-size:13px}
form.search{display:flex;gap:8px;margin-top:10px;flex-wrap:wrap;align-items:center}
form.search input{flex:1;min-width:12em;padding:6px 10px;font:inherit;border:1px solid #d1d5db;border-radius:6px}
form.search button{padding:6px 14px;font:inherit;border:1px solid #9ca3af;border-radius:6px;background:#f9fafb}
.hits{font-size:13px;color:var(--mute)}
main{padding:8px 20px 40px;max-width:860px}
h2.day{position:relative;text-align:center;font-size:13px;color:var(--mute);font-weight:600;margin:22px 0 10px}
h2.day::before{content:"";position:absolute;left:0;right:0;top:50%;border-top:1px solid #e5e7eb;z-index:-1}
h2.day span{background:#fff;padding:0 10px}
.msg{display:grid;grid-template-columns:3.6em 1fr;gap:0 10px;margin:6px 0;break-inside:avoid}
.msg time{color:var(--mute);font-size:12px;padding-top:6px;text-align:right}
.bubble{padding:6px 10px;border-radius:8px;background:var(--in);overflow-wrap:anywhere}
.out .bubble{background:var(--out)} .note .bubble{background:var(--note);border:1px dashed #d4a72c}
.auto .bubble{background:var(--auto)} .failed .bubble{border:1px solid #dc2626}
.who{font-weight:600;font-size:13px}
.label{display:inline-block;margin-left:6px;padding:0 6px;border-radius:4px;background:#fff;border:1px solid #d1d5db;font-size:11px;font-weight:500}
.flag{margin-left:6px;font-size:11px;color:var(--mute)} .failed .flag{color:#b91c1c}
.text{white-space:pre-wrap}
.event{margin:4px 0 4px 4.6em;font-size:12px;color:var(--mute)}
.media img{display:block;max-width:min(100%,420px);max-height:420px;margin-top:6px;border-radius:6px}
.media video{display:block;max-width:min(100%,420px);margin-top:6px}
.media a,.links a{display:inline-block;margin-top:4px}
mark{background:#fde68a;padding:0 1px}
a.next{font-size:11px;margin-left:8px}
.bubble:target,.event:target{outline:2px solid #f59e0b}
.empty{color:var(--mute);margin:30px 0}
p.range{margin-top:4px;color:var(--ink)}
nav.pages{display:flex;justify-content:space-between;gap:12px;margin:14px 0;font-size:14px}
nav.pages a{padding:6px 12px;border:1px solid #d1d5db;border-radius:6px;text-decoration:none}
nav.pages a.newer{margin-left:auto}
@media print{form.search,a.next,.hits,nav.pages{display:none}header{border:0}main{max-width:none}
.msg,.event{break-inside:avoid}.media img{max-height:300px}a{color:inherit;text-decoration:none}}
"""

CSP = ("default-src 'none'; img-src 'self'; media-src 'self'; "
       f"style-src 'sha256-{base64.b64encode(hashlib.sha256(CSS.encode()).digest()).decode()}'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")

#: Headers of every history answer: the URL is a personal credential (no Referer, no caching, no indexing).
HEADERS = {"Content-Security-Policy": CSP, "Referrer-Policy": "no-referrer", "Cache-Control": "no-store, private",
           "X-Content-Type-Options": "nosniff", "X-Robots-Tag": "noindex, nofollow", "X-Frame-Options": "DENY"}

PAGE = """{% macro pages() %}{% if older or newer %}<nav class="pages" aria-label="pages">{% if older %}<a class="older" href="{{ older }}" rel="prev" data-testid="history-older">{{ tr('history.page.older') }}</a>{% endif %}{% if newer %}<a class="newer" href="{{ newer }}" rel="next" data-testid="history-newer">{{ tr('history.page.newer') }}</a>{% endif %}</nav>{% endif %}{% endmacro %}<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="robots" content="noindex">
<title>{{ title }}</title><style>{{ css|safe }}</style></head>
<body><header><h1 data-testid="history-title">{{ title }}</h1>
<p>{{ summary }}</p>
{% if range %}<p class="range" data-testid="history-range">{{ range }}</p>{% endif %}
<form class="search" method="get" action="{{ self_url }}#hit-1" role="search">
<input type="search" name="q" value="{{ query }}" placeholder="{{ tr('history.search.placeholder') }}" aria-label="{{ tr('history.search.placeholder') }}">
<button type="submit">{{ tr('history.search.button') }}</button>
{% if query %}<span class="hits" data-testid="history-hits">{% if hits_total == view.hits %}{{ tr('history.search.hits', count=view.hits, query=query) }}{% else %}{{ tr('history.search.hits.page', count=view.hits, total=hits_total, query=query) }}{% endif %}</span>{% endif %}
</form></header>
<main>
{{ pages() }}
{% if not view.days %}<p class="empty">{{ tr('history.empty') }}</p>{% endif %}
{% for day in view.days %}<section class="day"><h2 class="day"><span>{{ day.title }}</span></h2>
{% for m in day.items %}{% if m.dir == 'event' %}<div class="event" id="{% if m.hit %}hit-{{ m.hit }}{% else %}{{ m.anchor }}{% endif %}" data-testid="history-event">{{ m.time }} · {{ m.who }}: {% for s, hit in m.segments %}{% if hit %}<mark>{{ s }}</mark>{% else %}{{ s }}{% endif %}{% endfor %}</div>
{% else %}<article class="msg {{ m.dir }}{% if m.failed %} failed{% endif %}" id="{{ m.anchor }}" data-testid="history-message">
<time>{{ m.time }}</time><div class="bubble"{% if m.hit %} id="hit-{{ m.hit }}"{% endif %}>
<div><span class="who">{{ m.who }}</span>{% if m.label %}<span class="label">{{ m.label }}</span>{% endif %}{% for f in m.flags %}<span class="flag">{{ f }}</span>{% endfor %}{% if m.hit and m.hit < view.hits %}<a class="next" href="#hit-{{ m.hit + 1 }}">{{ tr('history.search.next') }}</a>{% endif %}</div>
{% if m.segments %}<div class="text">{% for s, hit in m.segments %}{% if hit %}<mark>{{ s }}</mark>{% else %}{{ s }}{% endif %}{% endfor %}</div>{% endif %}
{% if m.media %}<div class="media">{% for f in m.media %}{% if f.kind == 'image' %}<a href="{{ f.url }}"><img src="{{ f.url }}" alt="{{ f.name }}" loading="lazy" data-testid="history-image"></a>
{% elif f.kind == 'video' %}<video src="{{ f.url }}" controls preload="none"></video>
{% elif f.kind == 'audio' %}<audio src="{{ f.url }}" controls preload="none"></audio>
{% else %}<a href="{{ f.url }}?download=1" data-testid="history-file">📎 {{ f.name }}{% if f.size %} ({{ f.size }}){% endif %}</a>{% endif %}{% endfor %}</div>{% endif %}
{% if m.links %}<div class="links">{% for u in m.links %}<a href="{{ u }}" rel="noopener noreferrer">📎 {{ tr('history.slack_file') }}</a> {% endfor %}</div>{% endif %}
</div></article>
{% endif %}{% endfor %}</section>
{% endfor %}
{{ pages() }}
</main></body></html>
"""


NOTICE = """<!doctype html>
<html lang="{{ lang }}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{{ title }}</title><style>{{ css|safe }}</style></head>
<body><header><h1 data-testid="history-refused">{{ title }}</h1><p>{{ text }}</p>
{% if link %}<p><a href="{{ link }}" data-testid="history-newest">{{ link_text }}</a></p>{% endif %}</header></body></html>
"""

_env = Environment(autoescape=select_autoescape(default=True, default_for_string=True), trim_blocks=False)
_page = _env.from_string(PAGE)
_notice = _env.from_string(NOTICE)


def page_html(view: HistoryView, *, title: str, summary: str, query: str, self_url: str, lang: str,
              range_line: str = "", older: str = "", newer: str = "", hits_total: int | None = None) -> str:
    """The page; ``older`` / ``newer``: the URLs of the neighbouring pages ("" where there is none);
    ``hits_total``: the search's matches in the whole conversation (default: those on this page)."""
    return _page.render(view=view, title=title, summary=summary, query=query, self_url=self_url, lang=lang,
                        css=CSS, tr=lambda key, **kw: t(key, lang, **kw), range=range_line, older=older, newer=newer,
                        hits_total=view.hits if hits_total is None else hits_total)


def notice_html(key: str, lang: str, link: str = "") -> str:
    """A refusal (expired, not a member, unknown link, no such page) as a plain page; ``link``: where to go instead."""
    return _notice.render(title=t(f"history.refused.{key}.title", lang), text=t(f"history.refused.{key}.text", lang),
                          lang=lang, css=CSS, link=link, link_text=t("history.page.newest", lang) if link else "")
