"""The combined server: every handler's router in one FastAPI app (local development, Render).

Run: `python local_server.py` (HOST/PORT from settings) or `uvicorn local_server:app`.
This module only includes routers (and runs the scheduled sweep, SWEEP_INTERVAL_MINUTES, during the
app's lifespan); all behaviour lives in handlers/ and core/.
"""

from __future__ import annotations

from core.api import create_app
from core.config import get_settings
from core.maintenance.schedule import with_sweeper
from handlers import account, api_keys, audio, auth, openai_speech, status, synthesize, voices, web

app = create_app(
    status.router,
    auth.router,
    account.router,
    api_keys.router,
    voices.router,
    synthesize.router,
    audio.router,
    openai_speech.router,
    web.router,
)
app.router.lifespan_context = with_sweeper(app.router.lifespan_context)


def main() -> None:
    import uvicorn

    settings = get_settings()
    uvicorn.run("local_server:app", host=settings.host, port=settings.port, log_level="info")


if __name__ == "__main__":
    main()
