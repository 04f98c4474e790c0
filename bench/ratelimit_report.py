"""The rate-limit benchmark's report (see ``bench/ratelimit_bench.py``)."""
from __future__ import annotations

import os
from typing import Any

from bench.ratelimit_stack import B_BEFORE, EMU_POST_LIMIT, RateBench


def pct(x: float, y: float) -> str:
    return f"{100.0 * x / y:.1f} %" if y else "-"


def report_d(C: dict[str, Any]) -> None:
    print(f"D. {C['n']} staff replies typed in one thread within 2 s (achieved {C['rate']:.1f}/s), both limiters on")
    print(f"   last accepted by LINE after        {C['last_line_s']:.2f} s from the first reply's event "
          f"(first to last delivery {C['spread_s']:.2f} s; in order: {C['in_order']}; all: {C['complete']})")
    print(f"   last 🆓/🔢 mark in Slack after      {C['last_mark_s']:.2f} s   (reactions.add calls {C['reactions']}, "
          f"{C['reactions_429']} x 429)")
    print(f"   LINE quota/consumption requests    {C['quota_reads']}")


def report(b: RateBench, res: dict[str, Any], setup_s: float, elapsed: float, redis_desc: str) -> None:
    a = b.args
    A, B = res.get("A") or {}, res.get("B") or {}
    print()
    print("=" * 96)
    print("LINE ↔ Slack bridge — rate-limit benchmark (issue #10)")
    print("=" * 96)
    print(f"  Slack emulator limiter  chat.postMessage {EMU_POST_LIMIT[0]:g}/s per channel, burst {EMU_POST_LIMIT[1]:g}, "
          "429 + Retry-After beyond; chat.update / reactions: own buckets (emulator defaults)")
    limits = {k: os.environ.get(k) for k in ("SLACK_RATE_POST", "SLACK_RATE_UPDATE", "SLACK_RATE_REACTIONS") if os.environ.get(k)}
    print(f"  bridge limiter          {limits or 'defaults (posts 1/s per channel, burst 4; chat.update and reactions 50/min, burst 5)'}")
    print(f"  bridge                  Procfile web (gunicorn) + 2 x Procfile worker; Redis: {redis_desc}")
    print(f"  setup                   {len(b.friends)} threads created with both limiters off in {setup_s:.1f} s")
    for c in b.commands:
        print(f"    {c}")
    print()
    if a.staff_only:
        report_d(res["D"])
        print(f"total run time {elapsed:.1f} s")
        return
    print(f"A. {A['n']} messages from {a.friends} friends whose threads exist, sent evenly over {a.seconds:g} s "
          f"(achieved {A['rate']:.1f} msg/s), pattern '{a.pattern}'")
    print(f"   lost                               {A['lost']}   (duplicates {A['duplicates']})")
    print(f"   per-friend order kept              {A['order_ok']}/{A['order_checked']} friends")
    for line in A["disorder"][:3]:
        print(f"     out of order: {line}")
    print(f"   all visible after                  {A['visible_s']:.1f} s from the first send   (target ≤ 110 s; floor ≈ 95 s)")
    print(f"   chat.postMessage calls             {A['posts']} ({A['posts_ok']} ok, {A['posts_429']} refused with 429 = "
          f"{pct(A['posts_429'], A['posts'])})")
    print(f"   calls the limit allowed            {A['capacity']} in [first post, last post] = {A['last_post'] - A['first_post']:.1f} s;"
          f" used {A['posts_ok']} = {pct(A['posts_ok'], A['capacity'])}   (target ≥ 90 %)")
    print(f"   messages per post                  {A['n'] / max(1, A['posts_ok']):.2f}")
    print(f"   all Slack calls in the window      {A['all_calls']}, 429s {A['all_429']} = {pct(A['all_429'], A['all_calls'])}"
          f"   (target ≤ 5 %); chat.update {A['updates']} ({A['updates_429']} x 429)")
    print()
    print(f"B. {B['n']} new friends writing once each within {a.new_seconds:g} s (achieved {B['rate']:.1f} msg/s)")
    print(f"   lost                               {B['lost']}   (duplicates {B['duplicates']})")
    print(f"   last one visible after             {B['visible_s']:.1f} s  (first {B['first_visible_s']:.1f} s, "
          f"median {B['median_visible_s']:.1f} s)")
    print(f"   chat.postMessage calls             {B['posts']} ({B['posts_ok']} ok: thread parents + messages; "
          f"{B['posts_429']} x 429 = {pct(B['posts_429'], B['posts'])})")
    print(f"   calls the limit allowed            {B['capacity']}; used {B['posts_ok']} = {pct(B['posts_ok'], B['capacity'])}")
    print(f"   all Slack calls in the window      {B['all_calls']}, 429s {B['all_429']} = {pct(B['all_429'], B['all_calls'])};"
          f" chat.update {B['updates']} ({B['updates_429']} x 429)")
    print(f"   before (two posts per new chat)    last visible after {B_BEFORE['visible_s']:.0f} s; now "
          f"{B['visible_s']:.1f} s, {B['posts_ok'] / max(1, B['n']):.2f} posts per new chat   (target ≤ 110 s, floor ≈ 100 s)")
    C = res.get("C")
    if C:
        print()
        print(f"C. reply storm after a broadcast to {a.storm_audience} friends: {C['chats']} reply within "
              f"{a.storm_seconds:g} s, half of them twice ({C['n']} messages, sent over {C['send_s']:.1f} s)")
        print(f"   lost                               {C['lost']}   (duplicates {C['duplicates']})")
        print(f"   last reply visible after           {C['visible_s']:.1f} s from the first send")
        print(f"   chat.postMessage calls             {C['posts']} ({C['posts_ok']} ok, {C['posts_429']} x 429 = "
              f"{pct(C['posts_429'], C['posts'])})")
        print(f"   calls the limit allowed            {C['capacity']} in [first post, last post] = "
              f"{C['last_post'] - C['first_post']:.1f} s; used {C['posts_ok']} = {pct(C['posts_ok'], C['capacity'])}")
        print(f"   /pending listed the chat after     max {C['lag_max']:.2f} s, p99 {C['lag_p99']:.2f} s, median "
              f"{C['lag_p50']:.2f} s from its webhook's 200 ({C['listed']}/{C['chats']} chats; target ≤ 1 s)")
        print(f"   all Slack calls in the window      {C['all_calls']}, 429s {C['all_429']} = {pct(C['all_429'], C['all_calls'])};"
              f" chat.update {C['updates']} ({C['updates_429']} x 429)")
    if res.get("D"):
        print()
        report_d(res["D"])
    print()
    print(f"total run time {elapsed:.1f} s")
