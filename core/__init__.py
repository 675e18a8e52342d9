"""Shared core library of the Chatterbox TTS API (shipped to Lambda as a layer)."""

__version__ = "0.1.0"
