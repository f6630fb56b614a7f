"""Turning a fetched source into the FLAC that is stored and served, with libsndfile (``soundfile``).

Downloads are labelled ``audio/flac``: whatever the source's format (WAV, MP3, FLAC, or any other
format libsndfile reads), what is stored must be FLAC. Both files live on local disk in the
fetch's private temporary directory; audio is read and written in blocks, so memory stays flat
whatever the recording's length.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile

# Frames per block read and written (per channel): a few MB of samples at most.
BLOCK_FRAMES = 64 * 1024
# FLAC's limit on channels.
MAX_CHANNELS = 8
# Source encodings kept at 24 bits (FLAC's deepest in libsndfile); every other one becomes 16-bit.
_DEEP = frozenset({"PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ALAC_24", "ALAC_32"})
_EIGHT_BITS = frozenset({"PCM_S8", "PCM_U8"})


class NotAudio(Exception):
    """The source is not audio libsndfile can read (or write as FLAC); the text says why."""


class TranscodeTimeout(Exception):
    """The deadline passed while decoding or encoding."""


class TranscodeTooLarge(Exception):
    """The FLAC grew beyond the size limit."""


@dataclass(frozen=True)
class Flac:
    """The FLAC to store: ``path`` (the source itself when it already was FLAC) and the source's format."""

    path: Path
    source_format: str
    duration_seconds: float


def _reason(error: Exception) -> str:
    # libsndfile's own sentence, without the local path soundfile prefixes it with.
    return getattr(error, "error_string", None) or str(error)


def flac_from(source: Path, target: Path, *, deadline: float, max_bytes: int) -> Flac:
    """The FLAC of the audio file ``source``, written to ``target`` unless ``source`` is one already.

    1. Open ``source`` with libsndfile: a file it cannot read as audio raises :class:`NotAudio`.
    2. A FLAC source is decoded to its end (a corrupt frame raises :class:`NotAudio`) and kept byte
       for byte: re-encoding lossless audio would only change its checksum.
    3. Anything else is decoded block by block and encoded to ``target`` as FLAC with the same rate
       and channels, 24-bit from deep sources (24/32-bit, float), 8-bit from 8-bit ones, else
       16-bit; float samples are clipped to full scale first.
    Between blocks: past ``deadline`` (``time.monotonic()``) raises :class:`TranscodeTimeout`, and a
    FLAC above ``max_bytes`` raises :class:`TranscodeTooLarge`.
    """
    try:
        reader = soundfile.SoundFile(source)
    except (soundfile.SoundFileError, RuntimeError) as error:
        raise NotAudio(_reason(error)) from None
    with reader:
        source_format = reader.format
        if reader.channels > MAX_CHANNELS:
            raise NotAudio(f"{reader.channels} channels; FLAC holds at most {MAX_CHANNELS}")
        if source_format == "FLAC":
            frames = _drain(reader, deadline)
            return Flac(path=source, source_format=source_format, duration_seconds=frames / reader.samplerate)
        subtype = "PCM_24" if reader.subtype in _DEEP else "PCM_S8" if reader.subtype in _EIGHT_BITS else "PCM_16"
        integral = reader.subtype.startswith("PCM_")
        try:
            writer = soundfile.SoundFile(
                target, "w", samplerate=reader.samplerate, channels=reader.channels, format="FLAC", subtype=subtype
            )
        except (soundfile.SoundFileError, RuntimeError) as error:
            raise NotAudio(f"cannot be written as FLAC: {_reason(error)}") from None
        frames = 0
        with writer:
            try:
                for block in reader.blocks(BLOCK_FRAMES, dtype="int32" if integral else "float32", always_2d=True):
                    _check_deadline(deadline)
                    writer.write(block if integral else np.clip(block, -1.0, 1.0))
                    frames += len(block)
                    if os.path.getsize(target) > max_bytes:
                        raise TranscodeTooLarge(f"the recording exceeds {max_bytes} bytes once encoded as FLAC")
            except (soundfile.SoundFileError, RuntimeError) as error:
                raise NotAudio(_reason(error)) from None
    return Flac(path=target, source_format=source_format, duration_seconds=frames / reader.samplerate)


def _drain(reader: soundfile.SoundFile, deadline: float) -> int:
    frames = 0
    try:
        for block in reader.blocks(BLOCK_FRAMES, dtype="int32", always_2d=True):
            _check_deadline(deadline)
            frames += len(block)
    except (soundfile.SoundFileError, RuntimeError) as error:
        raise NotAudio(_reason(error)) from None
    return frames


def _check_deadline(deadline: float) -> None:
    if time.monotonic() >= deadline:
        raise TranscodeTimeout()


class NotJoinable(Exception):
    """Two files that cannot become one stereo file (different sample rates); the text says why."""


def stereo_flac(left: Path, right: Path, target: Path) -> None:
    """One stereo FLAC of two recordings: ``left`` (the agent) in the left channel, ``right`` (the
    customer) in the right, each mixed down to mono, the shorter padded with silence.

    Block by block, so memory stays flat whatever the length; both must share a sample rate
    (:class:`NotJoinable` otherwise: nothing here resamples).
    """
    with soundfile.SoundFile(left) as one, soundfile.SoundFile(right) as other:
        if one.samplerate != other.samplerate:
            raise NotJoinable(f"sample rates {one.samplerate} Hz and {other.samplerate} Hz differ")
        subtype = "PCM_24" if "PCM_24" in (one.subtype, other.subtype) else "PCM_16"
        with soundfile.SoundFile(
            target, "w", samplerate=one.samplerate, channels=2, format="FLAC", subtype=subtype
        ) as writer:
            while True:
                a = one.read(BLOCK_FRAMES, dtype="float64", always_2d=True)
                b = other.read(BLOCK_FRAMES, dtype="float64", always_2d=True)
                frames = max(len(a), len(b))
                if not frames:
                    return
                block = np.zeros((frames, 2))
                block[: len(a), 0] = a.mean(axis=1)
                block[: len(b), 1] = b.mean(axis=1)
                writer.write(np.clip(block, -1.0, 1.0))
