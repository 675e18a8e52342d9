"""What a caller may do, built once from Settings: the one policy every service applies itself.

Contract:
- `Policy.of(settings)` is the whole policy, as frozen records: `synthesis` (a `SynthesisPolicy`: text
  characters per request, MAX_AUDIO_SECONDS_PER_REQUEST, the daily quota `quota.Limits` and the
  per-user synthesis rate) and `media` (a `MediaPolicy`: the decoded-sample cap of an upload, the
  process's decode slots and the per-user format conversions per hour). Handlers get it from
  `core.api.PolicyDep` and hand the part a service needs to that service, as a required argument:
  core.services.synthesis / streams apply the synthesis rate limit, the quota and per-key accounting
  themselves; core.services.voices and library apply the media caps.
- A `Caller` is who pays and whose limits count: the user, and the API key the request came through
  (None for a login session).
- Every rate limit is a `RateRule` defined once below: its bucket, its window and a typed accessor of
  the Settings field that holds its limit (0 = unlimited). `rule.of(settings)` is the `limits.Rate` a
  service or a route dependency (`core.api.limit_per_ip` / `limit_per_user`) counts against.
- `SynthesisPolicy.capped(max_text_chars=)` narrows the text limit for an API that has its own (OpenAI's
  4096); it can only lower it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

from core.config import Settings
from core.services.limits import Rate
from core.services.quota import Limits


@dataclass(frozen=True)
class Caller:
    user_id: str
    api_key_id: str | None  # the API key the request came through; None for a login session


@dataclass(frozen=True)
class RateRule:
    bucket: str
    window_s: int
    limit: Callable[[Settings], int]  # the Settings field holding the limit per window

    def of(self, settings: Settings) -> Rate:
        return Rate(bucket=self.bucket, window_s=self.window_s, limit=self.limit(settings))


REGISTER = RateRule("register", 3600, lambda s: s.rate_limit_register_per_hour)  # per client IP
LOGIN = RateRule("login", 60, lambda s: s.rate_limit_login_per_minute)  # per client IP
SYNTHESIS = RateRule("synthesis", 60, lambda s: s.rate_limit_synthesis_per_minute)  # per user
UPLOADS = RateRule("uploads", 3600, lambda s: s.rate_limit_uploads_per_hour)  # per user
CONVERSIONS = RateRule("conversions", 3600, lambda s: s.rate_limit_conversions_per_hour)  # per user
EXPORTS = RateRule("exports", 3600, lambda s: s.rate_limit_exports_per_hour)  # per user: GET /profile/export


@dataclass(frozen=True)
class SynthesisPolicy:
    max_text_chars: int  # characters per request, after whitespace normalisation
    max_audio_seconds: float  # the engine's estimate of one request's audio, at most
    quota: Limits  # per user per UTC day
    rate: Rate  # synthesis requests per user

    @classmethod
    def of(cls, settings: Settings) -> SynthesisPolicy:
        return cls(
            max_text_chars=settings.max_text_chars,
            max_audio_seconds=settings.max_audio_seconds_per_request,
            quota=Limits(
                characters=settings.quota_chars_per_day,
                audio_seconds=settings.quota_audio_seconds_per_day,
                hold_grace_s=settings.quota_hold_grace_s,
            ),
            rate=SYNTHESIS.of(settings),
        )

    def capped(self, *, max_text_chars: int) -> SynthesisPolicy:
        """This policy with at most `max_text_chars` characters per request (never more than before)."""
        return replace(self, max_text_chars=min(self.max_text_chars, max_text_chars))


@dataclass(frozen=True)
class MediaPolicy:
    max_decoded_samples: int  # an upload decoded past this many samples is refused (413)
    decode_slots: int  # audio decodes at a time in this process; 0 = any
    conversions: Rate  # format conversions of library audio per user

    @classmethod
    def of(cls, settings: Settings) -> MediaPolicy:
        return cls(
            max_decoded_samples=settings.max_upload_decoded_samples,
            decode_slots=settings.max_parallel_decodes,
            conversions=CONVERSIONS.of(settings),
        )


@dataclass(frozen=True)
class Policy:
    synthesis: SynthesisPolicy
    media: MediaPolicy

    @classmethod
    def of(cls, settings: Settings) -> Policy:
        return cls(synthesis=SynthesisPolicy.of(settings), media=MediaPolicy.of(settings))
