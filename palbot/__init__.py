"""palbot: create, tune and talk to Tavus PALs without leaving Slack."""

__version__ = "0.1.0"
