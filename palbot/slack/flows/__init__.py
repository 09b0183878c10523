"""Flows that several Slack entries share, written once (the patch form, a start's answer)."""
