"""The combined server: every handler's router in one FastAPI app (local development, Render).

Run: `python local_server.py` (HOST/PORT from settings): uvicorn with the header timeout and keep-alive
settings and without uvicorn's own proxy-header handling (`core.edge.server`; client addresses behind
proxies follow FORWARDED_ALLOW_IPS in the app). Plain `uvicorn local_server:app` also serves it, but
then pass `--no-proxy-headers` (uvicorn otherwise believes X-Forwarded-For from 127.0.0.1) and know that
slow headers are not timed out. This module only includes routers (and, during the app's lifespan, runs the
scheduled sweep, SWEEP_INTERVAL_MINUTES, and promotes the ADMIN_USERNAMES accounts at start); all
behaviour lives in handlers/ and core/.
"""

from __future__ import annotations

from core.admin import with_listed_admins
from core.api import create_app
from core.edge.server import serve
from core.maintenance.schedule import with_sweeper
from handlers import account, admin, api_keys, audio, auth, openai_speech, status, synthesize, voices, web

app = create_app(
    status.router,
    auth.router,
    account.router,
    api_keys.router,
    admin.router,
    voices.router,
    synthesize.router,
    audio.router,
    openai_speech.router,
    web.router,
)
app.router.lifespan_context = with_listed_admins(with_sweeper(app.router.lifespan_context))


def main() -> None:
    serve("local_server:app")


if __name__ == "__main__":
    main()
