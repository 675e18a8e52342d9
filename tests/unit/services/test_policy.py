"""core.services.policy: one policy from Settings, typed rate rules, and no way to call synthesis without it."""

from __future__ import annotations

import inspect

import pytest

from core.config import Settings
from core.services import library, policy, streams, synthesis, voices
from core.services.limits import Rate
from core.services.quota import Limits


def test_the_policy_is_built_from_settings() -> None:
    settings = Settings(
        max_text_chars=700,
        max_audio_seconds_per_request=42.5,
        quota_chars_per_day=900,
        quota_audio_seconds_per_day=80,
        quota_hold_grace_s=30,
        rate_limit_synthesis_per_minute=7,
        max_upload_decoded_samples=2_345_678,
        max_parallel_decodes=3,
        rate_limit_conversions_per_hour=11,
    )
    built = policy.Policy.of(settings)
    assert built.synthesis == policy.SynthesisPolicy(
        max_text_chars=700,
        max_audio_seconds=42.5,
        quota=Limits(characters=900, audio_seconds=80, hold_grace_s=30),
        rate=Rate(bucket="synthesis", window_s=60, limit=7),
    )
    assert built.media == policy.MediaPolicy(
        max_decoded_samples=2_345_678, decode_slots=3, conversions=Rate(bucket="conversions", window_s=3600, limit=11)
    )


@pytest.mark.parametrize(
    ("rule", "field", "window_s"),
    [
        (policy.REGISTER, "rate_limit_register_per_hour", 3600),
        (policy.LOGIN, "rate_limit_login_per_minute", 60),
        (policy.SYNTHESIS, "rate_limit_synthesis_per_minute", 60),
        (policy.UPLOADS, "rate_limit_uploads_per_hour", 3600),
        (policy.CONVERSIONS, "rate_limit_conversions_per_hour", 3600),
    ],
)
def test_each_rate_rule_reads_its_own_setting(rule: policy.RateRule, field: str, window_s: int) -> None:
    rate = rule.of(Settings.model_validate({field: 9}))
    assert (rate.limit, rate.window_s) == (9, window_s)
    assert rule.of(Settings.model_validate({field: 0})).limit == 0  # 0 = unlimited, a deliberate setting


def test_capped_only_lowers_the_text_limit() -> None:
    base = policy.SynthesisPolicy.of(Settings(max_text_chars=5000))
    assert base.capped(max_text_chars=4096).max_text_chars == 4096
    assert base.capped(max_text_chars=4096).quota == base.quota
    assert policy.SynthesisPolicy.of(Settings(max_text_chars=100)).capped(max_text_chars=4096).max_text_chars == 100


@pytest.mark.parametrize(
    ("service", "name"),
    [
        (synthesis.synthesize, "policy"),
        (synthesis.start, "policy"),
        (synthesis.prepare, "policy"),
        (streams.stream, "policy"),
        (synthesis.synthesize, "caller"),
        (streams.stream, "caller"),
        (voices.create, "policy"),
        (library.download, "policy"),
    ],
)
def test_services_require_the_policy_and_the_caller(service: object, name: str) -> None:
    """No default that would mean "unlimited": a caller that forgets the policy fails at once."""
    parameter = inspect.signature(service).parameters[name]  # type: ignore[arg-type]
    assert parameter.default is inspect.Parameter.empty
    assert parameter.kind is inspect.Parameter.KEYWORD_ONLY
