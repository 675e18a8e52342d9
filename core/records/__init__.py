"""Typed domain records (User, Session, ApiKey, Voice, Audio, AuditRecord) and the key scheme they are stored under.

Each record is a frozen dataclass that owns its keys (`core.records.keys`) and its conversion to and
from a store item (`to_item()` / `from_item(item)`); services take and return records, and handlers
present them through the response models in core.schemas.
"""
