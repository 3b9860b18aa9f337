"""Compatibility presets: the defaults of the library a user comes from, so that
their pipeline's numbers come out of affectkit unchanged.

>>> front = ak.preset("torchaudio")
>>> M = front.mfcc(y, sr=16000)          # torchaudio.transforms.MFCC() defaults
>>> S = front.log_mel(y, sr=16000, n_mels=80)  # keywords override the preset

=====================  =====================================================================
preset                 defaults
=====================  =====================================================================
``librosa``            affectkit's own defaults: librosa's (n_fft 2048, hop 512, Hann,
                       ``center=True`` with constant padding, Slaney mel with Slaney norm,
                       triangles in Hz, power_to_db with ref 1, amin 1e-10, top_db 80;
                       MFCC: 20 coefficients, DCT-II ortho).
``torchaudio``         ``torchaudio.transforms.MelSpectrogram`` / ``MFCC``: n_fft 400,
                       win_length 400, hop 200, periodic Hann, ``center=True`` with
                       reflect padding, power 2, 128 HTK mels from 0 Hz to sr/2 without
                       norm; log_mel = ``AmplitudeToDB('power', top_db=None)``; MFCC: 40
                       coefficients, DCT-II ortho of ``AmplitudeToDB('power', top_db=80)``
                       (per clip).
``kaldi``              Kaldi's ``compute-fbank-feats`` / ``compute-mfcc-feats`` on audio in
                       [-1, 1] scaled to int16 range (x 32768), as Kaldi reads wav files:
                       25 ms povey window, 10 ms shift, preemphasis 0.97, DC removal,
                       23 triangles in the mel domain (20 Hz - Nyquist), log floored at
                       float epsilon; MFCC 13 coefficients, lifter 22, C0 = log energy.
                       Dither 0 (Kaldi's is 1.0; see affectkit.features.kaldi).
``kaldi-native-fbank`` The same Kaldi options on audio as given (kaldi-native-fbank's [-1, 1]
                       convention), dither 0 (knf's default is 3e-5).
``htk``                HTK's HCopy with the HTK Book's tutorial configuration (TARGETRATE
                       10 ms, WINDOWSIZE 25 ms, USEHAMMING, PREEMCOEF 0.97, NUMCHANS 26,
                       CEPLIFTER 22, NUMCEPS 12, MFCC_0), on int16-scale input: magnitude
                       spectrum (USEPOWER F), 26 triangles in the mel domain from 0 Hz to
                       Nyquist, no DC removal, log floored at 1.0 (HTK's melfloor); MFCC: 12
                       coefficients then C0 (HTK's sqrt(2/N) DCT scale), i.e. 13 values.
=====================  =====================================================================

The ``htk`` preset is Kaldi's algorithm with HTK's settings and Kaldi's ``htk_compat``
ordering (Kaldi's front end was written to reproduce HTK's). It is tested against
kaldi-native-fbank with the same options; no HTK binary is available to test against
HCopy itself.
"""

from __future__ import annotations

from typing import Any, Dict

from . import kaldi, mel

__all__ = ["Preset", "preset", "PRESETS"]

_TORCHAUDIO_MEL = dict(n_fft=400, win_length=400, hop_length=200, window="hann", center=True,
                       pad_mode="reflect", power=2.0, n_mels=128, fmin=0.0, fmax=None, htk=True)

_HTK_FRONT_END = dict(frame_length=25.0, frame_shift=10.0, window_type="hamming", preemphasis_coefficient=0.97,
                      remove_dc_offset=False, num_mel_bins=26, low_freq=0.0, high_freq=0.0, use_power=False,
                      mel_floor=1.0, htk_compat=True)

PRESETS: Dict[str, Dict[str, Any]] = {
    "librosa": dict(scale=1.0, melspectrogram={}, log_mel={}, mfcc={}),
    "torchaudio": dict(
        scale=1.0,
        melspectrogram=dict(_TORCHAUDIO_MEL, norm=None),
        log_mel=dict(_TORCHAUDIO_MEL, norm=None, top_db=None),
        mfcc=dict(_TORCHAUDIO_MEL, mel_norm=None, n_mfcc=40, top_db=80.0),
    ),
    "kaldi": dict(scale=32768.0, fbank={}, kaldi_mfcc={}),
    "kaldi-native-fbank": dict(scale=1.0, fbank={}, kaldi_mfcc={}),
    "htk": dict(
        scale=32768.0,
        fbank=dict(_HTK_FRONT_END),
        kaldi_mfcc=dict(_HTK_FRONT_END, num_ceps=13, cepstral_lifter=22.0, use_energy=False),
    ),
}

_FUNCTIONS = {"melspectrogram": mel.melspectrogram, "log_mel": mel.log_mel, "mfcc": mel.mfcc,
              "fbank": kaldi.fbank, "kaldi_mfcc": kaldi.kaldi_mfcc}


class Preset:
    """The functions of one preset; keyword arguments override its defaults."""

    def __init__(self, name: str):
        if name not in PRESETS:
            raise ValueError(f"invalid argument 'name': must be one of {sorted(PRESETS)}, got {name!r}")
        self.name = name
        self._settings = PRESETS[name]

    def defaults(self, function: str) -> Dict[str, Any]:
        """The keyword arguments this preset passes to ``function``."""
        if function not in self._settings:
            offered = sorted(k for k in self._settings if k != "scale")
            raise ValueError(f"invalid argument 'function': the {self.name!r} preset offers {offered}, not {function!r}")
        return dict(self._settings[function])

    def _call(self, function: str, y, kwargs):
        arguments = {**self.defaults(function), **kwargs}
        scale = self._settings["scale"]
        if scale != 1.0:
            y = [s * s.dtype.type(scale) for s in y] if isinstance(y, list) else y * y.dtype.type(scale)
        return _FUNCTIONS[function](y, **arguments)

    def melspectrogram(self, y, **kwargs):
        return self._call("melspectrogram", y, kwargs)

    def log_mel(self, y, **kwargs):
        return self._call("log_mel", y, kwargs)

    def mfcc(self, y, **kwargs):
        return self._call("mfcc", y, kwargs)

    def fbank(self, y, **kwargs):
        return self._call("fbank", y, kwargs)

    def kaldi_mfcc(self, y, **kwargs):
        return self._call("kaldi_mfcc", y, kwargs)

    def __repr__(self) -> str:
        return f"affectkit.preset({self.name!r})"


def preset(name: str) -> Preset:
    """One of :data:`PRESETS` ('librosa', 'torchaudio', 'kaldi', 'kaldi-native-fbank', 'htk');
    the table of their defaults is in ``help(affectkit.features.presets)``."""
    return Preset(name)
