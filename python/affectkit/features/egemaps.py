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
from ._egemaps_functionals import FUNCTIONAL_NAMES, functionals
from .._checks import as_float, num_threads as _num_threads
from .spectrum import Signal, _signals

__all__ = ["egemaps", "egemaps_lld", "EGEMAPS_LLD_NAMES", "EGEMAPS_NAMES"]

#: The per-frame columns of :func:`egemaps_lld`, as openSMILE names them.
EGEMAPS_LLD_NAMES = tuple(_core.EGEMAPS_LLD_NAMES)

#: The 88 columns of :func:`egemaps`, named and ordered as openSMILE's eGeMAPSv02 functionals.
EGEMAPS_NAMES = FUNCTIONAL_NAMES

LLDs = Dict[str, Any]


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
    rate = as_float("sr", sr)
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
    - the voice LLDs (computed in the core, :data:`affectkit._core.EGEMAPS_VOICE_NAMES`):
      openSMILE's subharmonic-summation F0 on 60 ms Gaussian frames with its Viterbi
      smoother, its waveform-matching jitter and shimmer (cPitchJitter), its ACF HNR
      and harmonic differences (cHarmonics), and its LPC formants on 20 ms frames
      resampled to 11 kHz (cSpecResample, cLpc, cFormantLpc). F0, jitter, shimmer, HNR,
      H1-H2, H1-A3 and the formant amplitudes equal openSMILE's frame by frame; formant
      frequencies and bandwidths to a median 1e-4 relative, with a few percent of frames
      further off (openSMILE's float32 LPC is ill-conditioned there). docs/egemaps.md
      has the agreement per column.

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
    rate = as_float("sr", sr)
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
        for values, voice, level in zip(spectral, voices, leq):
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
