"""ak.fbank / ak.kaldi_mfcc against kaldi-native-fbank (dither 0): max abs error below
1e-4 in the log domain (the issue's bound; knf computes in float32 throughout).
Streaming equals one-shot, dither included."""

import numpy as np
import pytest

import affectkit as ak

knf = pytest.importorskip("kaldi_native_fbank")

FRAME = {  # ak option -> knf frame_opts field
    "sample_frequency": "samp_freq", "frame_length": "frame_length_ms", "frame_shift": "frame_shift_ms",
    "preemphasis_coefficient": "preemph_coeff", "remove_dc_offset": "remove_dc_offset",
    "window_type": "window_type", "round_to_power_of_two": "round_to_power_of_two",
    "blackman_coeff": "blackman_coeff", "snip_edges": "snip_edges",
}
MEL = {"num_mel_bins": "num_bins", "low_freq": "low_freq", "high_freq": "high_freq"}


def reference(y, mfcc=False, **options):
    opts = knf.MfccOptions() if mfcc else knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    for name, value in options.items():
        if name in FRAME:
            setattr(opts.frame_opts, FRAME[name], value)
        elif name in MEL:
            setattr(opts.mel_opts, MEL[name], value)
        elif name == "mel_floor":
            opts.eps = value
        else:
            setattr(opts, name, value)
    computer = knf.OnlineMfcc(opts) if mfcc else knf.OnlineFbank(opts)
    computer.accept_waveform(options.get("sample_frequency", 16000), y.astype(np.float32).tolist())
    computer.input_finished()
    return np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)])


def speech_like(n, sr, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(n) / sr
    voiced = sum(np.sin(2 * np.pi * k * 140 * t) / k for k in range(1, 20))
    return (0.2 * voiced * (1 + np.sin(2 * np.pi * 3 * t)) + 0.02 * rng.standard_normal(n)).astype(np.float32)


GRID = [
    {},
    dict(num_mel_bins=80),
    dict(num_mel_bins=40, snip_edges=False, use_energy=True),
    dict(window_type="hamming", round_to_power_of_two=False, low_freq=60.0, high_freq=-400.0),
    dict(window_type="hanning", preemphasis_coefficient=0.0, remove_dc_offset=False, use_power=False),
    dict(window_type="rectangular", use_energy=True, raw_energy=False, energy_floor=1.0),
    dict(window_type="blackman", frame_length=50.0, frame_shift=12.5, high_freq=7000.0),
    dict(sample_frequency=8000.0, num_mel_bins=15, use_log_fbank=False),
    dict(use_energy=True, htk_compat=True, num_mel_bins=26),
    dict(mel_floor=1.0, use_power=False, window_type="hamming"),  # HTK's melfloor on quiet input
]


@pytest.mark.parametrize("options", GRID, ids=range(len(GRID)))
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fbank_matches_kaldi_native_fbank(options, dtype):
    sr = int(options.get("sample_frequency", 16000))
    y = speech_like(int(1.37 * sr), sr).astype(dtype)
    expected = reference(y, **options)
    actual = ak.fbank(y, **options)
    assert actual.shape == expected.shape and actual.dtype == dtype
    scale = 1.0 if options.get("use_log_fbank", True) else np.abs(expected).max()
    assert np.max(np.abs(actual - expected)) / scale < 1e-4


@pytest.mark.parametrize("options", [{}, dict(num_ceps=20, num_mel_bins=40, cepstral_lifter=0.0),
                                     dict(use_energy=False, snip_edges=False), dict(num_ceps=23, energy_floor=2.0),
                                     dict(htk_compat=True), dict(htk_compat=True, use_energy=False, num_ceps=12)])
def test_mfcc_matches_kaldi_native_fbank(options):
    y = speech_like(20000, 16000, seed=1)
    expected = reference(y, mfcc=True, **options)
    actual = ak.kaldi_mfcc(y, **options)
    assert actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) < 1e-4 * max(1.0, np.abs(expected).max())


def test_int16_scale_shifts_log_energies_only():
    y = speech_like(16000, 16000)
    np.testing.assert_allclose(ak.fbank(y * 32768.0), ak.fbank(y) + 2 * np.log(32768.0), atol=1e-3)


@pytest.mark.parametrize("mfcc", [False, True])
def test_streaming_equals_one_shot_with_dither(mfcc):
    y = speech_like(16000 + 123, 16000, seed=2)
    options = dict(dither=0.5, seed=7, num_mel_bins=40)
    whole = (ak.kaldi_mfcc if mfcc else ak.fbank)(y, **options)
    stream = ak.KaldiFbankStream(mfcc=mfcc, **options)
    cuts = [0, 1, 100, 399, 400, 401, 5000, 5001, 9000, y.size]
    pieces = [stream.accept_waveform(y[a:b]) for a, b in zip(cuts[:-1], cuts[1:])]
    np.testing.assert_array_equal(np.concatenate(pieces), whole)
    assert stream.num_frames_done == whole.shape[0]


def test_dither_is_seeded_and_thread_independent():
    clips = [speech_like(n, 16000, seed=n) for n in (3000, 16000, 8000)]
    a = ak.fbank(clips, dither=1.0, seed=3, num_threads=1)
    b = ak.fbank(clips, dither=1.0, seed=3, num_threads=2)
    c = ak.fbank(clips, dither=1.0, seed=4, num_threads=2)
    for x, y_, z in zip(a, b, c):
        np.testing.assert_array_equal(x, y_)
        assert not np.array_equal(x, z)


def test_batch_and_list_match_single_calls():
    clips = [speech_like(n, 16000, seed=n) for n in (400, 16000, 1234)]
    listed = ak.fbank(clips, num_mel_bins=30)
    for clip, features in zip(clips, listed):
        np.testing.assert_array_equal(features, ak.fbank(clip, num_mel_bins=30))
    batch = np.stack([clips[1][:8000], clips[1][8000:]])
    np.testing.assert_array_equal(ak.fbank(batch)[1], ak.fbank(clips[1][8000:]))


def test_short_signal_gives_zero_frames_with_a_warning():
    with pytest.warns(UserWarning, match="'y'.*shorter than one frame"):
        assert ak.fbank(np.zeros(100)).shape == (0, 23)
    assert ak.fbank(np.zeros(100), snip_edges=False).shape == (1, 23)


@pytest.mark.parametrize(
    "call, error, argument",
    [
        (lambda y: ak.fbank(y, window_type="hann"), ValueError, "window_type"),
        (lambda y: ak.fbank(y, high_freq=9000.0), ValueError, "high_freq"),
        (lambda y: ak.fbank(y, low_freq=8000.0), ValueError, "low_freq"),
        (lambda y: ak.fbank(y, num_mel_bins=200), ValueError, "num_mel_bins"),
        (lambda y: ak.fbank(y, frame_length=0.05), ValueError, "frame_length"),
        (lambda y: ak.fbank(y, frame_shift=0.0), ValueError, "frame_shift"),
        (lambda y: ak.fbank(y, dither=-1.0), ValueError, "dither"),
        (lambda y: ak.fbank(y, sample_frequency=0.0), ValueError, "sample_frequency"),
        (lambda y: ak.fbank(y.astype(np.int16)), TypeError, "y"),
        (lambda y: ak.fbank(np.where(np.arange(y.size) == 9, np.inf, y)), ValueError, "y"),
        (lambda y: ak.kaldi_mfcc(y, num_ceps=0), ValueError, "num_ceps"),
        (lambda y: ak.kaldi_mfcc(y, num_ceps=30), ValueError, "num_ceps"),
        (lambda y: ak.KaldiFbankStream(snip_edges=False), ValueError, "snip_edges"),
        (lambda y: ak.KaldiFbankStream(n_mels=40), TypeError, "n_mels"),
    ],
)
def test_bad_input_names_the_argument(call, error, argument):
    y = speech_like(4000, 16000)
    with pytest.raises(error, match=f"'{argument}'"):
        call(y)


@pytest.mark.parametrize("options", [{}, dict(snip_edges=False, use_energy=True, num_bins=40),
                                     dict(window="hamming", high_freq=-1000.0, frame_length=32.0)])
def test_float64_fbank_matches_the_numpy_reference(options):
    """In float64 the kernel equals Kaldi's definition far below knf's float32 noise."""
    from reference import kaldi_fbank_ref

    y = np.random.default_rng(5).standard_normal(12345)
    expected = kaldi_fbank_ref(y, **options)
    ak_options = {{"num_bins": "num_mel_bins", "window": "window_type"}.get(k, k): v for k, v in options.items()}
    np.testing.assert_allclose(ak.fbank(y, **ak_options), expected, rtol=0, atol=1e-9)
