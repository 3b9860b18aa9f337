"""pad=True: a list of clips gives one zero-padded array and each clip's length."""

import numpy as np
import pytest

import affectkit as ak

CLIPS = [np.random.default_rng(n).standard_normal(n).astype(np.float32) for n in (4000, 9000, 2500)]

CASES = [  # function, keyword arguments, axis that grows with the clip
    (ak.stft, dict(n_fft=512, hop_length=160), -1),
    (ak.power_spectrogram, dict(n_fft=512, hop_length=160), -1),
    (ak.melspectrogram, dict(sr=16000, n_fft=512, hop_length=160, n_mels=40), -1),
    (ak.log_mel, dict(sr=16000, n_fft=512, hop_length=160, n_mels=40), -1),
    (ak.log_mel, dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, ref=np.max), -1),
    (ak.mfcc, dict(sr=16000, n_fft=512, hop_length=160, n_mels=40, n_mfcc=13), -1),
    (ak.fbank, dict(num_mel_bins=40), -2),
    (ak.kaldi_mfcc, dict(), -2),
    (ak.cochleagram, dict(n_channels=16), -1),
    (lambda y, **kw: ak.resample(y, orig_sr=16000, target_sr=8000, **kw), dict(), -1),
]


@pytest.mark.parametrize("function, kwargs, axis", CASES, ids=range(len(CASES)))
def test_pad_true_stacks_the_list_output(function, kwargs, axis):
    items = function(CLIPS, **kwargs)
    batch, lengths = function(CLIPS, pad=True, **kwargs)
    assert batch.shape[0] == len(CLIPS) and batch.dtype == items[0].dtype
    assert list(lengths) == [item.shape[axis] for item in items]
    assert batch.shape[axis] == max(lengths)
    for i, item in enumerate(items):
        index = [slice(None)] * item.ndim
        index[axis] = slice(0, item.shape[axis])
        np.testing.assert_array_equal(batch[(i, *index)], item)
        tail = [slice(None)] * item.ndim
        tail[axis] = slice(item.shape[axis], None)
        assert np.all(batch[(i, *tail)] == 0)


def test_pad_on_an_array_returns_equal_lengths_shaped_like_the_batch():
    y = np.stack([CLIPS[0][:2000]] * 6).reshape(2, 3, 2000)
    S, lengths = ak.log_mel(y, sr=16000, n_fft=512, hop_length=160, n_mels=40, pad=True)
    assert S.shape == (2, 3, 40, 13) and lengths.shape == (2, 3) and np.all(lengths == 13)
    r, lengths = ak.resample(y, orig_sr=16000, target_sr=8000, pad=True)
    assert r.shape == (2, 3, 1000) and np.all(lengths == 1000)


def test_pad_batch_checks_shapes():
    with pytest.raises(ValueError, match="'items'"):
        ak.pad_batch([np.zeros((3, 4)), np.zeros((5, 4))], axis=-1)
    with pytest.raises(ValueError, match="'items'"):
        ak.pad_batch([])
    with pytest.raises(TypeError, match="'pad'"):
        ak.stft(CLIPS, pad="yes")
    batch, lengths = ak.pad_batch([np.ones(2), np.ones(5)], pad_value=-1.0)
    np.testing.assert_array_equal(batch, [[1, 1, -1, -1, -1], [1] * 5])
