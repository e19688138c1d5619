"""Chromium as RepostWatch runs it: launch arguments and the guard proxy in front of it."""
