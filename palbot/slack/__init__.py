"""The Slack surface: Bolt listeners, Block Kit builders, and the adapters that implement the
domain's ports (palbot/services/ports.py) for Slack. Imports point into the domain, never back."""
