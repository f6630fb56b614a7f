"""Real audio for tests, made by libsndfile at test time (no binary fixtures)."""

from __future__ import annotations

import io

import numpy as np
import soundfile


def audio(kind: str = "FLAC", *, seconds: float = 3.0, rate: int = 16000, seed: int = 12) -> bytes:
    """A real audio file of ``kind`` (a libsndfile format: FLAC, WAV, MP3…): seeded noise over a
    440 Hz tone, made by libsndfile at test time, byte for byte the same on every run."""
    rng = np.random.default_rng(seed)
    frames = int(seconds * rate)
    signal = 0.2 * np.sin(2 * np.pi * 440 * np.arange(frames) / rate) + 0.2 * rng.standard_normal(frames)
    out = io.BytesIO()
    soundfile.write(out, signal.clip(-1, 1), rate, format=kind, **({"subtype": "PCM_16"} if kind != "MP3" else {}))
    return out.getvalue()
