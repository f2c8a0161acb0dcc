"""Serves Tollbook.

`python run.py` (what `make run` does): Werkzeug's development server on http://127.0.0.1:5000.
`make serve` (TOLLBOOK_ENV=production python run.py): the production server, Waitress, one process
with several threads (the background usage import runs in a thread of this process). Production
refuses to start without a SECRET_KEY of its own (docs/security.md); put it behind a reverse proxy
that terminates TLS, since the session cookie is sent over HTTPS only.
"""
import os

from app import create_app
from app.security.secret_key import is_production

app = create_app()

if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "5000"))
    if is_production():
        from waitress import serve

        serve(app, host=host, port=port, threads=int(os.environ.get("THREADS", "8")), ident="Tollbook")
    else:
        app.run(host=host, port=port, debug=bool(os.environ.get("FLASK_DEBUG")), use_reloader=False)
