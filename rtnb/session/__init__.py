"""Sessions: a realtime conversation, its event log, transcript, metrics and recordings.

Layers: :mod:`.machine` decides (pure), :mod:`.session` runs it (I/O), transports
(:mod:`.transport`, :mod:`.scripted`, :mod:`.replay`) carry the events.
"""

from .errors import CredentialRefused, SessionError
from .recording import Recording, load
from .replay import ReplayTransport
from .scripted import ScriptedTransport
from .session import Session
from .sync import SyncSession
from .transport import SDKTransport, Transport, TransportClosed

__all__ = ["Session", "SessionError", "CredentialRefused", "SyncSession", "Recording", "load",
           "Transport", "TransportClosed", "SDKTransport", "ScriptedTransport",
           "ReplayTransport"]
