"""What the Chatterbox engine, the RunPod proxy and the RunPod worker agree on, written once.

Contract: a voice prepared by `ChatterboxEngine.prepare_voice` (here or on the worker) is bytes in
the `VOICE_FORMAT` layout (chatterbox's `Conditionals.save`, a conds.pt file), stored under that name
and usable by either engine; both engines offer one built-in voice, `DEFAULT_VOICE_ID` (the
checkpoint's conds.pt), and speak at `SAMPLE_RATE` Hz (S3Gen's output rate). Changing a value here
changes the wire format between the API and deployed workers: deploy both together.
"""

from __future__ import annotations

VOICE_FORMAT = "chatterbox-conds-v1"
DEFAULT_VOICE_ID = "chatterbox-default"
DEFAULT_VOICE_NAME = "Chatterbox default"
SAMPLE_RATE = 24_000
