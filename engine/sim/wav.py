"""
WAV files for simulated recordings: 8 kHz, 16-bit, mono PCM.

The audio is a quiet tone in one-second blocks, built once and repeated, so
a recording of any length costs one ``bytes`` join.
"""

import math
import struct

RATE = 8000
SAMPLE_BYTES = 2


def _second_of_audio() -> bytes:
    samples = (int(400 * math.sin(2 * math.pi * 425 * n / RATE)) for n in range(RATE))

    return struct.pack(f"<{RATE}h", *samples)


_SECOND = _second_of_audio()


def header(data_bytes: int) -> bytes:
    """The 44-byte RIFF header of a PCM file with ``data_bytes`` of audio."""
    return struct.pack(
        "<4sI4s4sIHHIIHH4sI",
        b"RIFF",
        36 + data_bytes,
        b"WAVE",
        b"fmt ",
        16,
        1,
        1,
        RATE,
        RATE * SAMPLE_BYTES,
        SAMPLE_BYTES,
        16,
        b"data",
        data_bytes,
    )


def wav_bytes(seconds: float) -> bytes:
    """A complete WAV file of ``seconds`` of audio."""
    samples = max(int(seconds * RATE), 0)
    whole, rest = divmod(samples * SAMPLE_BYTES, len(_SECOND))
    data = b"".join([_SECOND] * whole) + _SECOND[:rest]

    return header(len(data)) + data
