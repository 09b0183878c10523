"""Domain services: what palbot's actions mean, whichever Slack surface triggers them."""
