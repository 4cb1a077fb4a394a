"""Shared infrastructure: database connections, schema and migrations."""
