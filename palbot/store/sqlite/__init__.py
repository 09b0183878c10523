"""The SQLite backend of palbot's store."""
