"""Sessions: a realtime conversation, its event log, transcript, metrics and recordings."""

from .recording import Recording, load
from .session import Session, SessionError
from .sync import SyncSession

__all__ = ["Session", "SessionError", "SyncSession", "Recording", "load"]
