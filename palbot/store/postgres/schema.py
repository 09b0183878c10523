"""The PostgreSQL schema, step by step like SQLite's (step N takes version N to N+1). The
columns are those of the SQLite store (text timestamps in ISO-8601 UTC, integer flags), so the
same store code and the same `palbot db copy` rows fit both."""

from __future__ import annotations

V1_V3 = [
    "CREATE TABLE meta (key text PRIMARY KEY, value text)",
    """CREATE TABLE workspaces (
        team_id text PRIMARY KEY, enterprise_id text, pal_key_enc text, pal_key_last4 text,
        key_set_by text, key_set_at text, created_at text NOT NULL,
        max_concurrent integer, max_per_day integer, max_call_duration integer,
        limits_set_by text, limits_set_at text)""",
    """CREATE TABLE conversations (
        conversation_id text PRIMARY KEY, team_id text NOT NULL, pal_id text NOT NULL,
        pal_name text, conversation_name text, channel_id text, message_ts text,
        started_by text NOT NULL, status text NOT NULL, url text, callback_token text,
        test_mode integer, created_at text NOT NULL, ended_at text, ended_by text,
        end_reason text, attempt_id text, accepted_seq bigint,
        delivered integer NOT NULL DEFAULT 0)""",
    "CREATE UNIQUE INDEX conversations_callback_token ON conversations (callback_token)",
    "CREATE UNIQUE INDEX conversations_attempt_id ON conversations (attempt_id)",
    "CREATE INDEX conversations_team_status ON conversations (team_id, status)",
    "CREATE INDEX conversations_team_created ON conversations (team_id, created_at)",
    """CREATE INDEX conversations_open ON conversations (created_at)
        WHERE status IN ('starting', 'unknown') OR delivered = 0""",
    """CREATE TABLE audit_log (
        seq bigint PRIMARY KEY, at text NOT NULL, team_id text, user_id text,
        channel_id text, action text NOT NULL, target text, outcome text NOT NULL,
        detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL)""",
    "CREATE INDEX audit_log_team_seq ON audit_log (team_id, seq)",
    """CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$""",
    """CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
        FOR EACH ROW EXECUTE FUNCTION audit_log_append_only()""",
    """CREATE TABLE conversation_events (
        conversation_id text NOT NULL, event_type text NOT NULL, received_at text,
        delivered_at text, PRIMARY KEY (conversation_id, event_type))""",
    """CREATE TABLE idempotency_keys (
        key text PRIMARY KEY, team_id text, created_at text NOT NULL)""",
    """CREATE TABLE slack_bots (
        enterprise_id text NOT NULL, team_id text NOT NULL, is_enterprise_install integer,
        installed_at double precision, data_enc text NOT NULL,
        PRIMARY KEY (enterprise_id, team_id))""",
    """CREATE TABLE slack_installations (
        enterprise_id text NOT NULL, team_id text NOT NULL, user_id text NOT NULL,
        is_enterprise_install integer, installed_at double precision, data_enc text NOT NULL,
        PRIMARY KEY (enterprise_id, team_id, user_id))""",
    "CREATE TABLE oauth_states (state text PRIMARY KEY, expire_at double precision)",
]

# PostgreSQL starts at SQLite's version 3: one step creates it all; later steps are added here
# beside their SQLite twins.
V4 = [
    "CREATE TABLE leases (name text PRIMARY KEY, holder text, expires_at double precision)",
    """CREATE TABLE form_sessions (key text PRIMARY KEY, team_id text, data_enc text NOT NULL,
        expires_at double precision NOT NULL)""",
]
V5 = [
    "ALTER TABLE conversations RENAME COLUMN callback_token TO callback_token_hash",
    "UPDATE conversations SET callback_token_hash = "
    "encode(sha256(convert_to(callback_token_hash, 'UTF8')), 'hex') "
    "WHERE callback_token_hash IS NOT NULL",
    "ALTER TABLE workspaces ADD COLUMN perm_create text",
    "ALTER TABLE workspaces ADD COLUMN perm_edit text",
    "ALTER TABLE workspaces ADD COLUMN perm_delete text",
    "ALTER TABLE workspaces ADD COLUMN permissions_set_by text",
    """CREATE TABLE pal_creators (team_id text NOT NULL, pal_id text NOT NULL,
        created_by text NOT NULL, created_at text NOT NULL, PRIMARY KEY (team_id, pal_id))""",
]
V6 = ["ALTER TABLE conversations ADD COLUMN slack_call_id text"]
V7 = [
    "ALTER TABLE conversations ADD COLUMN private integer",
    "ALTER TABLE conversations ADD COLUMN thread_ts text",
    "ALTER TABLE conversation_events ADD COLUMN link text",
]
MIGRATIONS: list[list[str]] = [V1_V3, [], [], V4, V5, V6, V7]
