"""The Slack app manifest: the single list of scopes, events and URLs."""

from __future__ import annotations

import copy
import json
from importlib import resources
from typing import Any

import yaml

PLACEHOLDER = "https://palbot.example.com"


def load_manifest() -> dict[str, Any]:
    text = resources.files("palbot").joinpath("manifest.yml").read_text(encoding="utf-8")
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def bot_scopes() -> list[str]:
    return list(load_manifest()["oauth_config"]["scopes"]["bot"])


def render(url: str | None = None, socket: bool = False) -> dict[str, Any]:
    """The manifest with every request URL under `url` (or Socket Mode switched on)."""
    manifest = copy.deepcopy(load_manifest())
    base = (url or PLACEHOLDER).rstrip("/")

    def swap(value: str) -> str:
        return value.replace(PLACEHOLDER, base)

    settings = manifest["settings"]
    if socket:
        settings["socket_mode_enabled"] = True
        settings["event_subscriptions"].pop("request_url", None)
        settings["interactivity"].pop("request_url", None)
        settings["interactivity"].pop("message_menu_options_url", None)
        for command in manifest["features"]["slash_commands"]:
            command.pop("url", None)
        manifest["oauth_config"].pop("redirect_urls", None)
        return manifest
    settings["event_subscriptions"]["request_url"] = swap(
        settings["event_subscriptions"]["request_url"]
    )
    for key in ("request_url", "message_menu_options_url"):
        settings["interactivity"][key] = swap(settings["interactivity"][key])
    for command in manifest["features"]["slash_commands"]:
        command["url"] = swap(command["url"])
    manifest["oauth_config"]["redirect_urls"] = [
        swap(u) for u in manifest["oauth_config"].get("redirect_urls", [])
    ]
    return manifest


def to_yaml(manifest: dict[str, Any]) -> str:
    return yaml.safe_dump(manifest, sort_keys=False, allow_unicode=True, width=100)


def to_json(manifest: dict[str, Any]) -> str:
    return json.dumps(manifest, indent=2, ensure_ascii=False) + "\n"
