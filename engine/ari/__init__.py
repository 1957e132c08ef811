"""
outdial's own asyncio client for the Asterisk REST Interface (ARI).

Public API::

    from engine.ari import AriClient, AriError, AriNotFoundError, AriRequestError

    client = AriClient(base_url, username, password, app)  # base_url without /ari
    client.on("StasisStart", handler)        # async handler(event: Event)
    client.on("*", handler)                  # every event, unknown types too
    client.on_reconnect(handler)             # async handler(snapshot: AriSnapshot)
    await client.connect()                   # starts the WebSocket task
    await client.connected.wait()            # socket up and re-synced
    ...
    await client.close()                     # or: async with AriClient(...) as c

REST methods (``engine.ari.operations``): ``originate``, ``create_channel``,
``dial``, ``hangup``, ``answer``, ``ring``, ``get_channel``, ``list_channels``,
``play``, ``get_playback``, ``stop_playback``, ``set_variable``,
``get_variable``, ``snoop``, ``start_moh``/``stop_moh``, ``create_bridge``,
``get_bridge``, ``list_bridges``, ``destroy_bridge``, ``add_channel``,
``remove_channel``, ``play_on_bridge``, ``start_bridge_moh``/
``stop_bridge_moh``, ``record_bridge``, ``get_live_recording``,
``stop_recording``, ``get_stored_recording``, ``list_stored_recordings``,
``download_recording``, ``delete_stored_recording``, ``asterisk_info``,
``ping``, ``subscribe``, ``unsubscribe``. They return the typed models of
``engine.ari.models``: ``Channel``, ``Bridge``, ``Playback``,
``LiveRecording``, ``StoredRecording``.

Events are ``Event`` objects: ``type``, ``timestamp``, ``asterisk_id``,
``application``, ``raw`` (the parsed message) and, when present, ``channel``,
``peer`` (Dial), ``bridge``, ``recording``, ``playback``, ``endpoint``,
``dialstatus``, ``dialstring``, ``cause``, ``cause_txt``, ``soft``, ``args``,
``variable``, ``value``; ``event.channel_id`` is the channel it is about.

Ordering. One channel's events are handled one at a time, in arrival order
(a ``Dial`` counts for its ``peer``); different channels run concurrently.
Playback events join the queue of their target channel, recording events that
of their bridge (``bridge:<id>``), so a bridge's ``RecordingFinished`` may be
handled at the same time as a channel's ``ChannelDestroyed``. A handler that
raises is logged (``ari_handler_failed``) and the next one still runs.

Events before responses. Asterisk sends events without waiting for the HTTP
answer that caused them: ``Dial`` and ``StasisStart`` can reach a handler
before ``originate()`` has returned. The dispatcher does not wait for
responses, so callers must not depend on the response either. The dialer
chooses the channel id itself (``originate(..., channel_id=attempt_id)``) and
registers its per-call state under that id *before* sending the request;
handlers then look the call up by ``event.channel_id`` whatever the order.
Bridges work the same way: pass your own ``bridge_id`` to ``create_bridge``.

Reconnects. The WebSocket reconnects forever with capped, fully jittered
exponential backoff (``ari_reconnect_scheduled``). After every connect the
client reads ``GET /channels``, ``/bridges`` and ``/asterisk/info`` and
calls the ``on_reconnect`` handlers with an ``AriSnapshot`` (``channels``,
``bridges``, ``asterisk_id``, ``startup_time``, ``restarted`` (a changed
startup time or entity id), ``reconnect``); events received
meanwhile are delivered after it. A call the dialer knows whose channel is
not in the snapshot ended while the socket was down (``restarted`` = True:
Asterisk restarted, every call is gone). ``ApplicationReplaced`` stops the
client (``client.replaced`` is set) instead of fighting the other socket.

Errors (``engine.ari.exceptions``)::

    EngineError
    └── AriError
        ├── AriConnectionError      cannot reach Asterisk / connection broke
        ├── AriProtocolError        the answer is not ARI (not JSON)
        └── AriRequestError         error status; .status, .message, .method, .path
            └── AriNotFoundError    404, or 400 "Channel not found": the
                                    resource is gone (normal hang-up race)

Logs: ``ari_ws_connected``, ``ari_ws_disconnected``, ``ari_ws_refused``,
``ari_ws_connect_failed``, ``ari_reconnect_scheduled`` (warning, ``attempt``
and ``delay``), ``ari_resynced``, ``ari_app_replaced``, ``ari_event_received``
(debug: type and channel id only, never the payload). Credentials are kept only in the
sessions' ``Authorization`` header and never logged; no URL carries
``api_key``.
"""

from engine.ari.backoff import Backoff
from engine.ari.client import AriClient
from engine.ari.exceptions import (
    AriConnectionError,
    AriError,
    AriNotFoundError,
    AriProtocolError,
    AriRequestError,
)
from engine.ari.models import (
    AriSnapshot,
    Bridge,
    CallerId,
    Channel,
    Dialplan,
    Endpoint,
    Event,
    LiveRecording,
    Playback,
    StoredRecording,
)

__all__ = [
    "AriClient",
    "AriConnectionError",
    "AriError",
    "AriNotFoundError",
    "AriProtocolError",
    "AriRequestError",
    "AriSnapshot",
    "Backoff",
    "Bridge",
    "CallerId",
    "Channel",
    "Dialplan",
    "Endpoint",
    "Event",
    "LiveRecording",
    "Playback",
    "StoredRecording",
]
