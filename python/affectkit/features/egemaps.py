"""openSMILE's eGeMAPSv02 set, batched over clips: the energy and spectral low-level
descriptors (:func:`egemaps_lld`) and the 88 functionals (:func:`egemaps`).

These are openSMILE's measures (Eyben et al. 2016, as openSMILE 3 / the ``opensmile``
package computes them), not Praat's: loudness is openSMILE's auditory-spectrum
loudness, the MFCCs are its HTK-style MFCCs, F0 is its subharmonic summation, and so
on. docs/egemaps.md lists what is not yet openSMILE's computation.
"""

from __future__ import annotations

from typing import Any, Dict, List, Optional, Union

import numpy as np

from .. import _core
from ..prosody.formants import formants as _formants
from ._egemaps_functionals import FUNCTIONAL_NAMES, functionals
from .._checks import num_threads as _num_threads
from .spectrum import Signal, _signals

__all__ = ["egemaps", "egemaps_lld", "EGEMAPS_LLD_NAMES", "EGEMAPS_NAMES"]

#: The per-frame columns of :func:`egemaps_lld`, as openSMILE names them.
EGEMAPS_LLD_NAMES = tuple(_core.EGEMAPS_LLD_NAMES)

#: The 88 columns of :func:`egemaps`, named and ordered as openSMILE's eGeMAPSv02 functionals.
EGEMAPS_NAMES = FUNCTIONAL_NAMES

LLDs = Dict[str, Any]


def _sample_rate(sr: Any) -> float:
    if isinstance(sr, (bool, np.bool_, str, bytes)):
        raise TypeError(f"invalid argument 'sr': must be a number (Hz), got {sr!r}")
    try:
        return float(sr)
    except (TypeError, ValueError):
        raise TypeError(f"invalid argument 'sr': must be a number (Hz), got {sr!r}") from None


def egemaps_lld(y: Signal, *, sr: float, num_threads: Optional[int] = None) -> Union[LLDs, List[LLDs]]:
    """The energy/spectral LLDs of openSMILE's eGeMAPSv02 set, as openSMILE computes them.

    Equal, row by row, to the columns of the same names in
    ``opensmile.Smile(feature_set=eGeMAPSv02, feature_level=LowLevelDescriptors)``
    (to float32 rounding; see "Matching the opensmile package" below):

    ``Loudness_sma3``
        openSMILE's loudness (cMelspec + cPlp): the power spectrum in 26 triangular mel
        bands from 20 to 8000 Hz, each floored at 9.3e-10, weighted by Hermansky's
        equal-loudness curve at the band centre and raised to the power 0.33; the mean
        over the bands.
    ``alphaRatio_sma3``
        10 log10 of the power from 1 to 5 kHz over the power below 1 kHz (dB).
    ``hammarbergIndex_sma3``
        10 log10 of the strongest bin below 2 kHz over the strongest from 2 to 5 kHz (dB).
    ``slope0-500_sma3``, ``slope500-1500_sma3``
        Least-squares slope (dB/Hz) of the power spectrum in dB over the band, with
        openSMILE's fractional end bins and its point count (one less than the bins).
    ``spectralFlux_sma3``
        ``sqrt(mean((|X_t| - |X_t-1|)**2))`` over the bins below 5 kHz (0 for the
        first frame).
    ``mfcc1_sma3`` ... ``mfcc4_sma3``
        openSMILE's HTK-compatible MFCCs on the same 26 mel bands: DCT-II of
        ``ln(max(band * 32767**2, 1))``, cepstral lifter 22, scaled by ``sqrt(2/26)``.

    Each LLD is taken on 20 ms Hamming frames every 10 ms (``round(0.020 sr)`` and
    ``round(0.010 sr)`` samples, no padding; row ``t`` starts at sample ``t * hop``),
    from the unnormalised FFT magnitude zero-padded to a power of 2, and smoothed by
    openSMILE's 3-frame moving average (``_sma3``; the first frame repeats at the
    start). There are ``(n - round(0.060 sr)) // hop + 2`` rows, as in openSMILE's LLD
    table, whose row count comes from its 60 ms F0 frames: the 20 ms frames run 2-3
    frames further, and openSMILE drops those rows (they still enter the smoothing of
    the last rows here, as there).

    ``equivalentSoundLevel_dBp`` (one value per clip) is eGeMAPS's equivalent sound
    level: ``10 log10`` of the mean over all 20 ms frames of the frame's mean square
    (unwindowed), floored at 1e-12.

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio, full scale +-1, at least 60 ms long. Spectra are
        computed in the input's precision, every reduction in float64; openSMILE itself
        works in float32.
    sr : float
        Sample rate (Hz), 8000 to 768000. openSMILE analyses any rate as it is (a 48 kHz
        clip gets 960-sample frames and a 1024-point FFT); so does this function.
    num_threads : int, optional
        Threads for a batch (default: all cores).

    Returns
    -------
    dict, or list of dicts for a list
        ``{name: array (..., n_frames)}`` for the names in :data:`EGEMAPS_LLD_NAMES`,
        plus ``"equivalentSoundLevel_dBp"`` (shape ``(...)``, a scalar for one clip),
        in the input's dtype.

    Matching the opensmile package
    ------------------------------
    ``opensmile.Smile.process_signal`` hands openSMILE 16-bit samples
    ``int16(y * 32768)`` (truncated towards zero; 1.0 and above wrap around), which
    openSMILE reads back as ``/ 32767``. On speech this moves levels by about 0.001 dB;
    in (near-)silent stretches it decides the values, as samples under one step become
    exact zeros, where openSMILE's fallbacks apply (ratios and MFCCs 0).
    ``egemaps_lld(np.trunc(y * 32768) / 32767, sr=sr)`` reproduces the package's numbers
    to float32 rounding; ``egemaps_lld(y, sr=sr)`` is openSMILE's computation on the
    samples as given (as ``SMILExtract`` on a float WAV file).

    Examples
    --------
    >>> import pandas as pd
    >>> lld = ak.egemaps_lld(y, sr=16000)
    >>> frame = pd.DataFrame({k: lld[k] for k in ak.EGEMAPS_LLD_NAMES})
    """
    batch, _, batch_shape = _signals(y)
    rate = _sample_rate(sr)
    if batch_shape is None and not batch:
        _core.egemaps_framing(rate)  # still refuse a bad sr
        return []
    llds, leq = _core.egemaps_lld(batch, rate, True, _num_threads(num_threads))

    def named(values: np.ndarray, level) -> LLDs:
        result: LLDs = {name: values[..., i, :] for i, name in enumerate(EGEMAPS_LLD_NAMES)}
        result["equivalentSoundLevel_dBp"] = level
        return result

    if batch_shape is None:
        return [named(values, leq[i]) for i, values in enumerate(llds)]
    stacked = np.asarray(llds)  # a 2-D input gives one (rows, 10, n_frames) array
    return named(stacked.reshape(tuple(batch_shape) + stacked.shape[1:]), leq.reshape(tuple(batch_shape))[()])


# openSMILE's frame step, which its functionals use as the time unit whatever the
# rounding of the hop in samples (cFunctionals' input period).
_FRAME_PERIOD = 0.010
# The voice LLDs that are still Praat-family stand-ins (the rest of the 14 are NaN).
_STAND_INS = ("F1frequency", "F1bandwidth", "F2frequency", "F2bandwidth", "F3frequency", "F3bandwidth")


def _at(times: np.ndarray, values: np.ndarray, centres: np.ndarray) -> np.ndarray:
    """values of the track frame nearest to each centre (NaN where the track is empty)."""
    if times.size == 0:
        return np.full(centres.shape, np.nan)
    step = times[1] - times[0] if times.size > 1 else 1.0
    index = np.clip(np.rint((centres - times[0]) / step).astype(np.int64), 0, times.size - 1)
    return values[index]


def _stand_ins(clip: np.ndarray, sr: float, voice: np.ndarray, hop: int, frame60: int) -> None:
    """Fills the stand-in rows of voice (egemaps_voice's, 0 off voicing as openSMILE's):
    F1-F3 and bandwidths from ak.formants (Praat's Burg), read at the centres of the
    60 ms frames."""
    n60 = voice.shape[1]
    centres = (np.arange(n60) * hop + frame60 / 2.0) / sr
    voiced = voice[0] > 0
    rows = {}
    track = _formants(clip, sr=sr, time_step=_FRAME_PERIOD, maximum_formant=min(5500.0, sr / 2.0), num_threads=1)
    for k in range(3):
        for kind, values in (("frequency", track.frequencies), ("bandwidth", track.bandwidths)):
            column = values[:, k] if values.shape[-1] > k else np.full(track.times.shape, np.nan)
            rows[f"F{k + 1}{kind}"] = _at(track.times, column, centres)
    for name, values in rows.items():
        voice[_VOICE_ROW[name]] = np.where(voiced & np.isfinite(values), values, 0.0)


_VOICE_ROW = {name: i for i, name in enumerate(_core.EGEMAPS_VOICE_NAMES)}


def egemaps(y: Signal, *, sr: float, num_threads: Optional[int] = None):
    """The 88 eGeMAPSv02 functionals per clip, with openSMILE's column names and order.

    One row per clip of ``opensmile.Smile(feature_set=eGeMAPSv02,
    feature_level=Functionals)``'s table (:data:`EGEMAPS_NAMES`). The functionals are
    openSMILE's, as its source computes them: 3-frame smoothing (``_sma3``; ``_sma3nz``
    smooths over non-zero frames only), means and ``stddevNorm`` (population standard
    deviation over the signed mean) over voiced frames for ``nz`` contours, linearly
    interpolated 20/50/80th percentiles and their range, Peaks2's rising/falling slopes
    (per second) and loudness peaks per second, voiced/unvoiced segment statistics
    (segments of at least 3 frames, lengths in seconds as openSMILE counts them),
    voiced (V) and unvoiced (UV) means of the spectral LLDs split before smoothing, and
    the equivalent sound level. Given openSMILE's own LLDs these reproduce its
    functionals (see tests/python/test_egemaps.py and docs/egemaps.md).

    The LLDs they start from:

    - energy/spectral (loudness, alpha ratio, Hammarberg index, slopes, flux, MFCC 1-4,
      Leq): :func:`egemaps_lld`'s, equal to openSMILE's.
    - F0 and voicing: openSMILE's subharmonic-summation pitch on 60 ms Gaussian frames
      with its Viterbi smoother; ``jitterLocal`` and ``shimmerLocaldB``: its
      waveform-matching cPitchJitter; ``HNRdBACF`` and ``logRelF0-H1-H2``: its
      cHarmonics (all in the core; equal to openSMILE's frame by frame).
    - **not yet openSMILE's**: ``F1-F3 frequency/bandwidth`` from :func:`ak.formants`
      (Praat's Burg) instead of openSMILE's LPC formants on 11 kHz-resampled frames, read
      at the centre of the 60 ms frames, on the frames our F0 calls voiced.
      ``logRelF0-H1-A3`` and ``F1-F3 amplitudeLogRelF0`` (which need openSMILE's LPC
      formants) are not computed: their 8 columns are NaN. docs/egemaps.md has the
      agreement per column.

    Parameters
    ----------
    y : ndarray (..., n_samples) or list of 1-D arrays
        float32 or float64 audio, full scale +-1, at least 60 ms per clip (openSMILE
        gives no row for shorter clips); 16-bit PCM scaled as ``opensmile`` does it:
        see :func:`egemaps_lld`.
    sr : float
        Sample rate (Hz), 8000 to 768000.
    num_threads : int, optional
        Threads for the LLDs of a batch (default: all cores).

    Returns
    -------
    pandas.DataFrame, or a numpy structured array if pandas is not installed
        One row per clip (in order, a batch's leading axes flattened), the 88 columns
        of :data:`EGEMAPS_NAMES` in the input's dtype. Silence or a clip with no voiced
        frame gives openSMILE's fills: 0 for the functionals of an empty contour.
    """
    batch, _, batch_shape = _signals(y)
    rate = _sample_rate(sr)
    hop, frame60 = _core.egemaps_framing(rate)[1:3]
    clips = list(batch)
    if not clips:
        _core.egemaps_framing(rate)
        dtype = np.float64
        rows: List[Dict[str, float]] = []
    else:
        spectral, leq = _core.egemaps_lld(batch, rate, False, _num_threads(num_threads))
        dtype = spectral[0].dtype
        voices = _core.egemaps_voice(batch, rate, _num_threads(num_threads))
        rows = []
        for clip, values, voice, level in zip(clips, spectral, voices, leq):
            _stand_ins(np.asarray(clip, np.float64), rate, voice, hop, frame60)
            rows.append(functionals(np.asarray(values, np.float64), voice[0], voice[1:], float(level), _FRAME_PERIOD))
    table = np.zeros(len(rows), dtype=[(name, dtype) for name in EGEMAPS_NAMES])
    for i, row in enumerate(rows):
        for name in EGEMAPS_NAMES:
            table[name][i] = row[name]
    try:
        import pandas as pd
    except ImportError:
        return table
    return pd.DataFrame({name: table[name] for name in EGEMAPS_NAMES}, columns=list(EGEMAPS_NAMES))
