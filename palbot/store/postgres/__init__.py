"""The PostgreSQL backend (`DATABASE_URL`): the SQLite store's classes over PostgreSQL."""
