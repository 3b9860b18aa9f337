"""Compatibility presets give the numbers of the library they are named after.

torchaudio has no CPU wheel here, so its pipeline is written out below in PyTorch from
torchaudio's source (transforms.MelSpectrogram, AmplitudeToDB, MFCC; functional
melscale_fbanks and create_dct), with its defaults; librosa and kaldi-native-fbank are
the real libraries.
"""

import math

import numpy as np
import pytest

import affectkit as ak

torch = pytest.importorskip("torch")
knf = pytest.importorskip("kaldi_native_fbank")
librosa = pytest.importorskip("librosa")

# torchaudio's empty-filter situation (128 mels over 201 bins) warns in both libraries.
pytestmark = pytest.mark.filterwarnings("ignore:Empty filters:UserWarning")


def torchaudio_melspectrogram(y, sr, n_fft=400, n_mels=128):
    """torchaudio.transforms.MelSpectrogram(sample_rate=sr) applied to y (float32)."""
    hop = n_fft // 2
    x = torch.from_numpy(y)
    spec = torch.stft(x, n_fft, hop, n_fft, window=torch.hann_window(n_fft), center=True, pad_mode="reflect",
                      normalized=False, onesided=True, return_complex=True).abs() ** 2
    n_freqs = n_fft // 2 + 1
    all_freqs = torch.linspace(0, sr // 2, n_freqs)
    hz_to_mel = lambda f: 2595.0 * math.log10(1.0 + f / 700.0)  # noqa: E731
    m_pts = torch.linspace(hz_to_mel(0.0), hz_to_mel(sr / 2), n_mels + 2)
    f_pts = 700.0 * (10 ** (m_pts / 2595.0) - 1.0)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts.unsqueeze(0) - all_freqs.unsqueeze(1)
    down = (-1.0 * slopes[:, :-2]) / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = torch.max(torch.zeros(1), torch.min(down, up))  # (n_freqs, n_mels)
    return torch.matmul(spec.transpose(-1, -2), fb).transpose(-1, -2)


def torchaudio_db(x, top_db):
    """AmplitudeToDB('power', top_db): 10 log10(clamp(x, 1e-10)), clamp at max - top_db."""
    db = 10.0 * torch.log10(torch.clamp(x, min=1e-10))
    return db if top_db is None else torch.max(db, db.max() - top_db)


def torchaudio_mfcc(y, sr, n_mfcc=40):
    mel = torchaudio_db(torchaudio_melspectrogram(y, sr), 80.0)
    n_mels = mel.shape[-2]
    n = torch.arange(n_mels, dtype=torch.float32)
    k = torch.arange(n_mfcc, dtype=torch.float32).unsqueeze(1)
    dct = torch.cos(math.pi / n_mels * (n + 0.5) * k)  # create_dct(n_mfcc, n_mels, 'ortho')
    dct[0] *= 1.0 / math.sqrt(2.0)
    dct *= math.sqrt(2.0 / n_mels)
    return torch.matmul(mel.transpose(-1, -2), dct.t()).transpose(-1, -2)


def voice(sr, seconds=1.0, seed=0):
    t = np.arange(int(sr * seconds)) / sr
    rng = np.random.default_rng(seed)
    return (0.3 * sum(np.sin(2 * np.pi * k * 160 * t) / k for k in range(1, 12))
            + 0.01 * rng.standard_normal(t.size)).astype(np.float32)


def test_torchaudio_preset():
    y = voice(16000)
    front = ak.preset("torchaudio")
    expected = torchaudio_melspectrogram(y, 16000).numpy()
    actual = front.melspectrogram(y, sr=16000)
    assert actual.shape == expected.shape
    assert np.max(np.abs(actual - expected)) / np.max(expected) < 1e-5
    expected_db = torchaudio_db(torch.from_numpy(expected), None).numpy()
    # dB of near-empty bands carries float32 FFT rounding: bound relative to the dB scale
    assert np.max(np.abs(front.log_mel(y, sr=16000) - expected_db)) / np.max(np.abs(expected_db)) < 1e-4
    expected_mfcc = torchaudio_mfcc(y, 16000).numpy()
    actual_mfcc = front.mfcc(y, sr=16000)
    assert actual_mfcc.shape == expected_mfcc.shape == (40, 81)
    assert np.max(np.abs(actual_mfcc - expected_mfcc)) / np.max(np.abs(expected_mfcc)) < 1e-5


def test_librosa_preset():
    y = voice(22050)
    np.testing.assert_allclose(ak.preset("librosa").mfcc(y, sr=22050), librosa.feature.mfcc(y=y, sr=22050),
                               rtol=0, atol=1e-3)


@pytest.mark.parametrize("name, scale", [("kaldi", 32768.0), ("kaldi-native-fbank", 1.0)])
def test_kaldi_presets(name, scale):
    y = voice(16000)
    for function, options in (("fbank", knf.FbankOptions()), ("kaldi_mfcc", knf.MfccOptions())):
        options.frame_opts.dither = 0.0
        computer = (knf.OnlineFbank if function == "fbank" else knf.OnlineMfcc)(options)
        computer.accept_waveform(16000, (y * scale).tolist())
        computer.input_finished()
        expected = np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)])
        actual = getattr(ak.preset(name), function)(y)
        assert np.max(np.abs(actual - expected)) < 1e-3 * max(1.0, np.abs(expected).max())


def htk_fbank(y):
    """kaldi-native-fbank set up as HTK's HCopy tutorial config (FBANK: log magnitude,
    melfloor 1), written out here independently of the preset's table; int16 scale."""
    options = knf.FbankOptions()
    frame = options.frame_opts
    frame.dither, frame.window_type, frame.remove_dc_offset, frame.preemph_coeff = 0.0, "hamming", False, 0.97
    options.mel_opts.num_bins, options.mel_opts.low_freq, options.mel_opts.high_freq = 26, 0.0, 0.0
    options.use_power, options.eps = False, 1.0
    computer = knf.OnlineFbank(options)
    computer.accept_waveform(16000, (y * 32768.0).tolist())
    computer.input_finished()
    return np.array([computer.get_frame(i) for i in range(computer.num_frames_ready)])


def htk_mfcc_0(fbank, num_ceps=12, lifter=22.0):
    """HTK's MFCC_0 from log filterbank values (HTK Book 5.6): c_i = sqrt(2/N) sum_j
    m_j cos(pi i (j - 0.5) / N), liftered by 1 + L/2 sin(pi i / L), C0 appended last."""
    n = fbank.shape[-1]
    i = np.arange(num_ceps + 1)[:, None]
    basis = np.sqrt(2.0 / n) * np.cos(np.pi * i * (np.arange(1, n + 1) - 0.5) / n)
    c = fbank.astype(np.float64) @ basis.T
    c *= 1 + lifter / 2 * np.sin(np.pi * np.arange(num_ceps + 1) / lifter)
    return np.concatenate([c[:, 1:], c[:, :1]], axis=1)


def test_htk_preset():
    """FBANK against kaldi-native-fbank in HTK's setup; MFCC_0 against HTK's DCT and
    lifter formulas applied to that filterbank (magnitude spectrum, C0 last)."""
    y = voice(16000)
    y[4000:6000] = 0.0  # digital silence: HTK's melfloor gives log(1) = 0, not log(eps)
    front = ak.preset("htk")
    fbank = front.fbank(y)
    expected = htk_fbank(y)
    assert fbank.shape == expected.shape == (98, 26)
    assert np.max(np.abs(fbank - expected)) < 1e-4 * np.abs(expected).max()
    assert np.all(fbank[26:34] == 0.0)  # frames wholly inside the silence
    mfcc = front.kaldi_mfcc(y)
    expected = htk_mfcc_0(htk_fbank(y))
    assert mfcc.shape == expected.shape == (98, 13)
    assert np.max(np.abs(mfcc - expected)) < 1e-4 * np.abs(expected).max()


def test_keywords_override_and_bad_names():
    y = voice(16000)
    assert ak.preset("torchaudio").log_mel(y, sr=16000, n_mels=40).shape == (40, 81)
    assert ak.preset("torchaudio").defaults("mfcc")["n_mfcc"] == 40
    with pytest.raises(ValueError, match="'name'"):
        ak.preset("hcopy")
    with pytest.raises(ValueError, match="'function'"):
        ak.preset("kaldi").log_mel(y, sr=16000)
