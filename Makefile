# The two commands of the README: `make run` and `make test`. Both install what is missing first.
FLASK = .venv/bin/flask
PG_TEST_URL ?= postgresql+psycopg://postgres@127.0.0.1:5432/test

.PHONY: setup run serve test test-sqlite test-postgresql

setup:
	@scripts/setup.sh

run: setup
	@$(FLASK) etc init $(if $(ADMIN_PASSWORD),--admin-password $(ADMIN_PASSWORD),)
	@$(FLASK) etc demo
	@echo "Tollbook: http://127.0.0.1:5000 を開き、上に表示したユーザーでログインしてください。終了は Ctrl+C。"
	@.venv/bin/python run.py

# Production: gunicorn (gunicorn.conf.py: WORKERS=3 processes × THREADS=4, the scheduler in one of them, JSON logs),
# TOLLBOOK_ENV=production. Refuses to start without SECRET_KEY in the environment (docs/security.md). Run
# `TOLLBOOK_ENV=production $(FLASK) etc init` once first (marks the database as production). docs/operations.md.
serve: setup
	@TOLLBOOK_ENV=production .venv/bin/python run.py

# Every test once on SQLite, then the database tests again on PostgreSQL.
test: setup
	.venv/bin/python -m pytest -q tests
	TEST_DATABASE_URL=$(PG_TEST_URL) .venv/bin/python -m pytest -q tests/integration tests/e2e

test-sqlite: setup
	.venv/bin/python -m pytest -q tests

test-postgresql: setup
	TEST_DATABASE_URL=$(PG_TEST_URL) .venv/bin/python -m pytest -q tests/integration tests/e2e

# Usage import benchmark (docs/performance.md): 1M-row cp932 file, SQLite and PostgreSQL, ~4 minutes.
.PHONY: bench
bench: setup
	BENCH_PG_URL=$(PG_TEST_URL) .venv/bin/python bench/bench_import.py

# Billing benchmark (docs/performance.md, "Billing run"): 10,000 members, 50,000 cards, 1M usage rows, ~4 minutes.
.PHONY: bench-billing
bench-billing: setup
	BENCH_PG_URL=$(PG_TEST_URL) .venv/bin/python bench/bench_billing.py

# Documents benchmark (docs/performance.md, "Documents"): 1,000 one-page invoices, Tollbook's batch on 2 worker
# processes against xhtml2pdf alone in a plain loop on one core, ~5 minutes.
.PHONY: bench-documents
bench-documents: setup
	.venv/bin/python bench/bench_documents.py

# Member portal benchmark (docs/performance.md, "Member portal"): 10,000 members × 60 closed months (4.8M issued
# documents), the production server (make serve's command), 50 concurrent members browsing the document list and
# opening PDFs, against the same server's static-file rate; ~20 minutes (most of it generating the data once).
.PHONY: bench-portal
bench-portal: setup
	.venv/bin/python bench/bench_portal.py

# Backup benchmark (docs/performance.md, "Backup and restore"): flask etc backup / restore of the billing benchmark's
# 1M-row database against sqlite3 .backup/.restore and pg_dump/pg_restore alone, ~10 minutes.
.PHONY: bench-backup
bench-backup: setup
	BENCH_PG_URL=$(PG_TEST_URL) .venv/bin/python bench/bench_backup.py
