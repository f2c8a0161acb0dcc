"""Background and scheduled jobs: each calls a service (architecture.md)."""
