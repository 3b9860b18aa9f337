"""ak.pyin against librosa.pyin itself, and against the truth of synthetic voices.

librosa's algorithm is reproduced step by step (framing, FFT autocorrelation, the
cumulative mean normalised difference, troughs, beta and Boltzmann priors, parabolic
interpolation, pitch bins, and the Viterbi decoder to the tie), so the tolerances are
tight: the voiced flag identical on at least 99.5% of the frames of every signal (it is
100% on all of them today), the voiced probability within 1e-6 (absolute; it agrees to
~1e-15), and F0 within 1e-6 relative wherever both call a frame voiced (the same pitch
bin; the bin frequencies differ by numpy's and libm's pow only).

What cannot be compared: with ``fill_na=None`` the "best guess" pitch of unvoiced frames
is the argmax over unvoiced states whose values tie to within rounding, so librosa
itself moves it when its observation probabilities change by one ulp (see
test_unvoiced_best_guess_is_ill_conditioned_in_librosa_itself); FFTW's and numpy's
FFTs differ by that much.
"""

import warnings

import numpy as np
import pytest

import affectkit as ak
from affectkit import _core
from affectkit.prosody.pyin import PyinTrack, pyin  # also ak.pyin once exported
from speech import espeak, human_voices

librosa = pytest.importorskip("librosa")

C2, C7 = 65.40639132514966, 2093.004522404789  # librosa.note_to_hz("C2"), ("C7")


def librosa_pyin(y, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # librosa's "less than two periods" advice
        return librosa.pyin(y, **kwargs)


def assert_matches_librosa(y, **kwargs):
    """Compares ak.pyin with librosa.pyin on y; returns ak's track."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        track = pyin(y, num_threads=1, **kwargs)
    f0, voiced_flag, voiced_prob = librosa_pyin(y, **kwargs)
    assert track.f0.shape == f0.shape and track.voiced_flag.shape == voiced_flag.shape
    assert track.voiced_flag.dtype == bool and track.f0.dtype == np.float64
    agreement = np.mean(track.voiced_flag == voiced_flag)
    assert agreement >= 0.995, f"voiced flags agree on {agreement:.2%} of frames"
    np.testing.assert_allclose(track.voiced_prob, voiced_prob, rtol=0, atol=1e-6)
    both = track.voiced_flag & voiced_flag
    np.testing.assert_allclose(track.f0[both], f0[both], rtol=1e-6)
    unvoiced = ~track.voiced_flag
    fill = kwargs.get("fill_na", np.nan)
    if fill is None:  # a bin frequency: fmin * 2 ** (k / bins per octave)
        assert np.all((track.f0 >= kwargs["fmin"] * (1 - 1e-12)) & (track.f0 <= kwargs["fmax"] * 1.001))
    else:
        np.testing.assert_array_equal(track.f0[unvoiced], np.full(unvoiced.sum(), fill))
    return track


def wobbling_voice(sr, seed=0, duration=1.5, **kwargs):
    return ak.synthetic_voice(sr=sr, duration=duration, f0=lambda t: 140 + 40 * np.sin(2 * np.pi * 1.5 * t),
                              jitter=0.01, shimmer=0.05, seed=seed, snr_db=25,
                              voiced=[(0.1, 0.6), (0.8, 1.4)], **kwargs)


@pytest.mark.parametrize("sr", [8000, 16000, 22050, 44100])
def test_synthetic_voices_match_librosa(sr):
    y = wobbling_voice(sr, seed=sr, vowel="a").y
    assert_matches_librosa(y, sr=sr, fmin=60.0, fmax=500.0, frame_length=2048 if sr > 20000 else 1024)
    assert_matches_librosa(y, sr=sr, fmin=C2, fmax=min(C7, sr / 2))


@pytest.mark.parametrize("options", [
    dict(fmin=65.0, fmax=1000.0, frame_length=2048),
    dict(fmin=60.0, fmax=500.0, frame_length=1024, hop_length=256, center=False),
    dict(fmin=80.0, fmax=400.0, frame_length=2048, hop_length=128, resolution=0.2),
    dict(fmin=50.0, fmax=800.0, frame_length=4096, hop_length=512, resolution=1.0),
    dict(fmin=100.0, fmax=300.0, frame_length=1024, hop_length=100, resolution=0.05),
    dict(fmin=70.0, fmax=600.0, frame_length=1536, hop_length=333, resolution=0.3),  # odd band widths
    dict(fmin=60.0, fmax=500.0, frame_length=999, hop_length=160, resolution=0.5),  # odd frame
])
def test_parameter_grid_matches_librosa(options):
    for y, sr in [(wobbling_voice(16000, seed=3, vowel="o").y, 16000), human_voices()[0][1:]]:
        assert_matches_librosa(y, sr=sr, **options)


def test_fine_resolution_matches_librosa():
    """1 cent bins: 1902 bins, a band of 301 (librosa's dense decoder is slow here: short clips)."""
    y = wobbling_voice(16000, seed=13).y[:9600]
    assert_matches_librosa(y, sr=16000, fmin=100.0, fmax=300.0, frame_length=1024, hop_length=512, resolution=0.01)


@pytest.mark.parametrize("options", [
    dict(pad_mode="reflect"), dict(pad_mode="edge"), dict(pad_mode="wrap"), dict(pad_mode="symmetric"),
    dict(n_thresholds=20, beta_parameters=(1, 5)),
    dict(n_thresholds=250, beta_parameters=(2.5, 10.0)),
    dict(boltzmann_parameter=0.5, no_trough_prob=0.2),
    dict(switch_prob=0.2, max_transition_rate=10.0),
    dict(switch_prob=0.0),
    dict(max_transition_rate=0.0),  # a band of one bin
    dict(fill_na=None),
    dict(fill_na=0.0),
])
def test_other_parameters_match_librosa(options):
    y = wobbling_voice(16000, seed=11, vowel="e").y
    assert_matches_librosa(y, sr=16000, fmin=60.0, fmax=500.0, frame_length=1024, **options)


def test_human_voices_and_synthetic_speech_match_librosa():
    for name, y, sr in human_voices():
        assert_matches_librosa(y, sr=sr, fmin=C2, fmax=C7)
        assert_matches_librosa(y, sr=sr, fmin=60.0, fmax=500.0, frame_length=4096, hop_length=480)
    y, sr = espeak("The quick brown fox jumps over the lazy dog, while the angry bird sings.", pitch=70)
    track = assert_matches_librosa(y, sr=sr, fmin=60.0, fmax=400.0, frame_length=1024, hop_length=220)
    assert 0.3 < np.mean(track.voiced_flag) < 0.9  # speech: voiced and unvoiced stretches
    assert_matches_librosa(y, sr=sr, fmin=C2, fmax=C7, fill_na=None)


def test_tones_noise_silence_and_clicks_match_librosa():
    sr = 16000
    t = np.arange(sr) / sr
    rng = np.random.default_rng(0)
    signals = {
        "tone": 0.5 * np.sin(2 * np.pi * 220 * t),
        "tone at fmax": 0.5 * np.sin(2 * np.pi * 500 * t),
        "two tones": np.sin(2 * np.pi * 150 * t) + 0.5 * np.sin(2 * np.pi * 330 * t),
        "chirp": np.sin(2 * np.pi * (80 + 200 * t) * t),
        "noise": rng.standard_normal(sr),
        "quiet noise": 1e-6 * rng.standard_normal(sr),
        "silence": np.zeros(sr),
        "dc": np.full(sr, 0.25),
        "clicks": np.where(np.arange(sr) % 123 == 0, 1.0, 0.0),
        "tone then silence": np.where(t < 0.5, np.sin(2 * np.pi * 180 * t), 0.0),
        "short": 0.3 * np.sin(2 * np.pi * 200 * t[:300]),  # one frame (centred)
    }
    for name, y in signals.items():
        track = assert_matches_librosa(y, sr=sr, fmin=60.0, fmax=500.0, frame_length=1024)
        if name == "silence":
            assert not track.voiced_flag.any() and np.all(track.voiced_prob == 0)
        if name == "tone":
            assert track.voiced_flag[2:-2].all()
            np.testing.assert_allclose(track.f0[2:-2], 220.0, rtol=0.003)  # half a bin


def test_multichannel_batch_list_and_threads_agree():
    clips = [wobbling_voice(16000, seed=s).y[:n] for s, n in ((1, 24000), (2, 9000), (3, 16000), (4, 16000))]
    kwargs = dict(sr=16000, fmin=60.0, fmax=500.0, frame_length=1024)
    singles = [pyin(c, num_threads=1, **kwargs) for c in clips]
    listed = pyin(clips, num_threads=3, **kwargs)
    assert isinstance(listed, list) and all(isinstance(t, PyinTrack) for t in listed)
    for single, track in zip(singles, listed):
        for a, b in zip(single, track):
            np.testing.assert_array_equal(a, b)
    batch = np.stack([c[:9000] for c in clips]).reshape(2, 2, 9000)
    stacked = pyin(batch, num_threads=2, **kwargs)
    expected = librosa_pyin(batch, **kwargs)  # librosa's multichannel layout
    assert stacked.f0.shape == expected[0].shape == (2, 2, singles[1].f0.size)
    np.testing.assert_array_equal(stacked.voiced_flag, expected[1])
    for a, b in zip(stacked, singles[1]):
        np.testing.assert_array_equal(a[0, 1], b)
    # unpacks as librosa's tuple
    f0, voiced_flag, voiced_prob = pyin(clips[1], **kwargs)
    np.testing.assert_array_equal(f0, singles[1].f0)
    assert pyin([], **kwargs) == []


def test_float32_is_analysed_in_float64():
    y = wobbling_voice(16000, seed=5).y.astype(np.float32)
    kwargs = dict(sr=16000, fmin=60.0, fmax=500.0, frame_length=1024)
    for a, b in zip(pyin(y, **kwargs), pyin(y.astype(np.float64), **kwargs)):
        np.testing.assert_array_equal(a, b)
    assert_matches_librosa(y.astype(np.float64), **kwargs)


@pytest.mark.parametrize("sr, vowel, snr_db, frame_length", [(16000, "a", 20, 1024), (8000, "u", 15, 512),
                                                              (44100, "i", 30, 2048)])
def test_synthetic_truth_f0_within_one_percent(sr, vowel, snr_db, frame_length):
    """An intonation-like contour (110-170 Hz at 0.7 Hz) in noise: F0 within 1% of the
    contour on every clearly voiced frame (the bins are 0.1 semitone, 0.6%), voicing right
    on more than 95% of the frames whose window lies wholly inside or outside the voice."""
    voice = ak.synthetic_voice(sr=sr, duration=1.5, f0=lambda t: 140 + 30 * np.sin(2 * np.pi * 0.7 * t),
                               seed=7, snr_db=snr_db, vowel=vowel, voiced=[(0.1, 0.6), (0.8, 1.4)])
    track = pyin(voice.y, sr=sr, fmin=60.0, fmax=400.0, frame_length=frame_length)
    times = np.arange(track.f0.size) * (frame_length // 4) / sr  # centred frames
    truth = voice.f0(times)
    edges = np.array([t for interval in voice.voiced_intervals for t in interval])
    clear = np.min(np.abs(times[:, None] - edges[None, :]), axis=1) > frame_length / sr / 2 + 0.01
    voiced_truth = ~np.isnan(truth)
    assert np.mean(track.voiced_flag[clear] == voiced_truth[clear]) > 0.95
    both = clear & voiced_truth & track.voiced_flag
    assert both.sum() > 20
    assert np.max(np.abs(track.f0[both] - truth[both]) / truth[both]) < 0.01


# ---------------------------------------------------------------- the decoder

def banded_viterbi_ref(prob, n_bins, width, switch_prob):
    """pYIN's Viterbi decoder written plainly, the way the core takes it: librosa's
    recursion value[j] <- log_prob[j] + max_k (value[k] + log_trans[k, j]) with the first
    maximising k, where the max over k is split into the band of transition_local around
    bin j in each voicing block, and every other state, whose transition probability is
    0: log(0 + tiny), one constant, so that the best of them is one argmax over three
    ranges of states."""
    tiny = np.finfo(np.float64).tiny
    local = librosa.sequence.transition_local(n_bins, width, window="triangle", wrap=False)
    loop = librosa.sequence.transition_loop(2, 1 - switch_prob)
    h, n, n_states = width // 2, n_bins, 2 * n_bins
    log_prob = np.log(prob + tiny)
    value = log_prob[:, 0] + np.log(np.ones(n_states) / n_states + tiny)
    pointers = []
    for t in range(1, prob.shape[1]):
        new, pointer = np.empty(n_states), np.empty(n_states, dtype=np.int64)
        for b in range(2):
            for j in range(n):
                lo, hi = max(0, j - h), min(n - 1, j + h)
                rows = np.arange(lo, hi + 1)
                candidates = []  # (score, state)
                for a in range(2):
                    scores = value[a * n + rows] + np.log(loop[a, b] * local[rows, j] + tiny)
                    best = np.argmax(scores)
                    candidates.append((scores[best], a * n + rows[best]))
                outside = np.r_[0:lo, hi + 1:n + lo, n + hi + 1:n_states]
                if outside.size:
                    scores = value[outside] + np.log(0 + tiny)
                    best = np.argmax(scores)
                    candidates.append((scores[best], outside[best]))
                score, state = max(candidates, key=lambda c: (c[0], -c[1]))  # ties: the first state
                new[b * n + j] = log_prob[b * n + j, t] + score
                pointer[b * n + j] = state
        value = new
        pointers.append(pointer)
    states = [int(np.argmax(value))]
    for pointer in reversed(pointers):
        states.append(int(pointer[states[-1]]))
    return np.array(states[::-1])


def dense_viterbi(prob, n_bins, width, switch_prob):
    transition = np.kron(librosa.sequence.transition_loop(2, 1 - switch_prob),
                         librosa.sequence.transition_local(n_bins, width, window="triangle", wrap=False))
    return librosa.sequence.viterbi(prob, transition, p_init=np.ones(2 * n_bins) / (2 * n_bins)).astype(np.int64)


def pyin_like_observations(rng, n_bins, n_frames, ties=False):
    """A few voiced bins per frame (often none; jumps far beyond the band), the rest of
    the mass spread over the unvoiced states, as pyin's observation_probs."""
    prob = np.zeros((2 * n_bins, n_frames))
    for t in range(n_frames):
        bins = rng.integers(0, n_bins, rng.integers(0, 4))
        prob[bins, t] = 0.25 if ties else rng.uniform(0, 0.4, bins.size)
        prob[n_bins:, t] = max(0.0, 1 - prob[:n_bins, t].sum()) / n_bins
    return prob


@pytest.mark.parametrize("n_bins, width, switch_prob", [(12, 5, 0.01), (20, 4, 0.1), (9, 9, 0.3), (16, 1, 0.01),
                                                        (30, 7, 0.0), (25, 11, 0.5), (40, 21, 0.01)])
def test_banded_viterbi_is_librosas_dense_viterbi(n_bins, width, switch_prob):
    rng = np.random.default_rng(n_bins * 100 + width)
    cases = [pyin_like_observations(rng, n_bins, 30), pyin_like_observations(rng, n_bins, 30, ties=True),
             rng.uniform(0, 1, (2 * n_bins, 30)) * (rng.uniform(0, 1, (2 * n_bins, 30)) < 0.3),
             np.full((2 * n_bins, 5), 0.5), np.zeros((2 * n_bins, 4)), rng.uniform(0, 1, (2 * n_bins, 1))]
    for prob in cases:
        dense = dense_viterbi(prob, n_bins, width, switch_prob)
        np.testing.assert_array_equal(banded_viterbi_ref(prob, n_bins, width, switch_prob), dense)
        np.testing.assert_array_equal(_core.pyin_viterbi(prob, n_bins, width, switch_prob), dense)


def librosa_observations(y, sr, fmin=C2, fmax=C7, frame_length=2048, hop_length=512):
    """(observation_probs, n_bins, transition width) as librosa.pyin builds them
    (default parameters otherwise), from librosa's own helpers."""
    import scipy.stats
    from librosa.core import pitch as librosa_pitch

    frames = librosa.util.frame(np.pad(y, frame_length // 2), frame_length=frame_length, hop_length=hop_length)
    min_period, max_period = int(np.floor(sr / fmax)), min(int(np.ceil(sr / fmin)), frame_length - 1)
    yin = librosa_pitch._cumulative_mean_normalized_difference(frames, min_period, max_period)
    shifts = librosa_pitch._parabolic_interpolation(yin)
    thresholds = np.linspace(0, 1, 101)
    prior = np.diff(scipy.stats.beta.cdf(thresholds, 2, 18))
    n_bins = int(np.floor(120 * np.log2(fmax / fmin))) + 1
    observations, _ = getattr(librosa_pitch, "__pyin_helper")(yin, shifts, sr, thresholds, 2, prior, 0.01,
                                                               min_period, fmin, n_bins, 10)
    return observations[0], n_bins, round(35.92 * 12 * hop_length / sr) * 10 + 1


def test_banded_viterbi_on_librosas_own_observations():
    """The core's decoder on the observation probabilities librosa builds (601 bins, a
    band of 101) gives librosa's states to the last frame, unvoiced frames included."""
    for name, y, sr in human_voices()[:3]:
        observations, n_bins, width = librosa_observations(y, sr)
        np.testing.assert_array_equal(_core.pyin_viterbi(observations, n_bins, width, 0.01),
                                      dense_viterbi(observations, n_bins, width, 0.01))


def test_unvoiced_best_guess_is_ill_conditioned_in_librosa_itself():
    """Why the best-guess pitch of unvoiced frames (fill_na=None) is not compared with
    librosa's: changes of one ulp in librosa's own observation probabilities move it
    (here on a recording where it does), never the voicing or the voiced pitch."""
    name, y, sr = next(voice for voice in human_voices() if voice[0] == "Rear_Center.wav")
    observations, n_bins, width = librosa_observations(y, sr)
    states = dense_viterbi(observations, n_bins, width, 0.01)
    rng = np.random.default_rng(0)
    moved = 0
    for _ in range(6):
        nudged = np.clip(observations * (1 + 2e-16 * rng.standard_normal(observations.shape)), 0, 1)
        other = dense_viterbi(nudged, n_bins, width, 0.01)
        np.testing.assert_array_equal(other < n_bins, states < n_bins)
        voiced = states < n_bins
        np.testing.assert_array_equal(other[voiced], states[voiced])
        np.testing.assert_array_equal(_core.pyin_viterbi(nudged, n_bins, width, 0.01), other)
        moved += not np.array_equal(other, states)
    assert moved > 0


# ---------------------------------------------------------------- bad input

@pytest.mark.parametrize("kwargs, error, argument", [
    (dict(fmin=500.0, fmax=400.0), ValueError, "'fmin'"),
    (dict(fmin=400.0, fmax=400.0), ValueError, "'fmin'"),
    (dict(fmin=0.0), ValueError, "'fmin'"),
    (dict(fmin=-50.0), ValueError, "'fmin'"),
    (dict(fmax=9000.0), ValueError, "'fmax'"),
    (dict(fmin=np.nan), ValueError, "'fmin'"),
    (dict(frame_length=256), ValueError, "'frame_length'"),  # 16000 / 60 = 267 samples
    (dict(frame_length=0), ValueError, "'frame_length'"),
    (dict(hop_length=0), ValueError, "'hop_length'"),
    (dict(hop_length=2.5), TypeError, "'hop_length'"),
    (dict(sr=0.0), ValueError, "'sr'"),
    (dict(n_thresholds=0), ValueError, "'n_thresholds'"),
    (dict(beta_parameters=(0, 18)), ValueError, "'beta_parameters'"),
    (dict(beta_parameters=2), TypeError, "'beta_parameters'"),
    (dict(boltzmann_parameter=0.0), ValueError, "'boltzmann_parameter'"),
    (dict(resolution=0.0), ValueError, "'resolution'"),
    (dict(resolution=1e-4), ValueError, "'resolution'"),  # more states than librosa's uint16 decoder holds
    (dict(switch_prob=1.5), ValueError, "'switch_prob'"),
    (dict(no_trough_prob=-0.1), ValueError, "'no_trough_prob'"),
    (dict(max_transition_rate=-1.0), ValueError, "'max_transition_rate'"),
    (dict(hop_length=4096), ValueError, "'max_transition_rate'"),  # a band wider than the grid: librosa fails too
    (dict(fill_na="none"), TypeError, "'fill_na'"),
    (dict(center="yes"), TypeError, "'center'"),
    (dict(pad_mode="mean"), ValueError, "'pad_mode'"),
    (dict(num_threads=0), ValueError, "'num_threads'"),
    (dict(fmin="low"), TypeError, "'fmin'"),
])
def test_bad_parameters_name_the_argument(kwargs, error, argument):
    arguments = dict(sr=16000.0, fmin=60.0, fmax=500.0, frame_length=1024)
    arguments.update(kwargs)
    with pytest.raises(error, match=argument):
        pyin(np.zeros(16000), **arguments)


def test_bad_signals_name_the_argument():
    kwargs = dict(sr=16000, fmin=60.0, fmax=500.0, frame_length=1024)
    with pytest.raises(TypeError, match="'y'"):
        pyin(np.zeros(16000, np.int16), **kwargs)
    with pytest.raises(TypeError, match="'y'"):
        pyin([np.zeros(16000), np.zeros(16000, np.float32)], **kwargs)
    with pytest.raises(ValueError, match="'y'.*finite"):
        pyin(np.where(np.arange(16000) == 5, np.nan, 0.0), **kwargs)
    with pytest.raises(ValueError, match="'y'.*finite"):
        pyin([np.zeros(16000), np.full(3000, np.inf)], **kwargs)
    with pytest.raises(ValueError, match="'y'"):
        pyin(np.zeros(1000), center=False, **kwargs)  # shorter than one frame
    with pytest.raises(ValueError, match="'y'"):
        pyin(np.zeros(0), pad_mode="reflect", **kwargs)
    with pytest.raises(ValueError, match="'y'"):
        pyin(np.array(1.0), **kwargs)
    with pytest.raises(TypeError, match="'y'"):
        pyin(1.0, **kwargs)
    with pytest.raises(ValueError, match="'observation_probs'"):
        _core.pyin_viterbi(np.full((20, 3), 1.5), 10, 3, 0.01)


def test_warnings_as_librosa():
    y = np.zeros(16000)
    with pytest.warns(UserWarning, match="less than two periods"):
        pyin(y, sr=16000, fmin=60.0, fmax=500.0, frame_length=512)  # 267 samples of 512
    with pytest.warns(FutureWarning, match="win_length"):
        pyin(y, sr=16000, fmin=60.0, fmax=500.0, frame_length=1024, win_length=512)
