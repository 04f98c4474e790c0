"""Triage: claims, assignees, marks (対応マーク)."""
