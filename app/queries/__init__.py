"""Read-only list and search queries, one module per object (architecture.md)."""
