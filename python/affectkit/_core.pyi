# Type stub for the compiled numpy module (bindings/module.cpp). Use the public
# functions in affectkit instead; these take already-validated arguments.
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

_Signals = Union[np.ndarray, Sequence[np.ndarray]]

class InvalidArgument(ValueError): ...

def build_info() -> List[Tuple[str, str]]: ...
def stft(
    y: _Signals, window: np.ndarray, n_fft: int, hop_length: int, center: bool, pad_mode: str,
    num_threads: int,
) -> Union[np.ndarray, List[np.ndarray]]: ...
def power_spectrogram(
    y: _Signals, window: np.ndarray, n_fft: int, hop_length: int, center: bool, pad_mode: str,
    power: float, num_threads: int,
) -> Union[np.ndarray, List[np.ndarray]]: ...
def istft(
    stft_matrix: np.ndarray, window: np.ndarray, n_fft: int, hop_length: int, center: bool,
    length: Optional[int], num_threads: int,
) -> np.ndarray: ...
def filterbank_spectrogram(
    y: _Signals, window: np.ndarray, mel_basis: np.ndarray, n_fft: int, hop_length: int,
    center: bool, pad_mode: str, power: float, decibels: bool, amin: float, ref: float,
    top_db: Optional[float], num_threads: int,
) -> Union[np.ndarray, List[np.ndarray]]: ...

class KaldiOptions:
    sample_frequency: float
    frame_shift_ms: float
    frame_length_ms: float
    dither: float
    seed: int
    preemphasis_coefficient: float
    remove_dc_offset: bool
    window_type: str
    round_to_power_of_two: bool
    blackman_coeff: float
    snip_edges: bool
    num_mel_bins: int
    low_freq: float
    high_freq: float
    use_energy: bool
    energy_floor: float
    raw_energy: bool
    use_log_fbank: bool
    use_power: bool
    mel_floor: float
    htk_compat: bool
    num_ceps: int
    cepstral_lifter: float
    def __init__(self) -> None: ...

def kaldi_num_frames(n_samples: int, options: KaldiOptions) -> int: ...
def kaldi_window_size(options: KaldiOptions) -> int: ...
def kaldi_window_shift(options: KaldiOptions) -> int: ...
def kaldi_features(
    y: _Signals, options: KaldiOptions, first_frame: Optional[Sequence[int]], num_threads: int,
) -> Union[np.ndarray, List[np.ndarray]]: ...

class ResampleParams:
    up: int
    down: int
    cutoff: float
    zeros: float
    kaiser_beta: float
    def __init__(self) -> None: ...

def resample(y: _Signals, params: ResampleParams, num_threads: int) -> Union[np.ndarray, List[np.ndarray]]: ...
def cochleagram(
    y: _Signals, coefficients: np.ndarray, win_length: int, hop_length: int, num_threads: int,
) -> Union[np.ndarray, List[np.ndarray]]: ...

class PraatPitchParams:
    sample_rate: float
    time_step: float
    pitch_floor: float
    pitch_ceiling: float
    max_candidates: int
    cross_correlation: bool
    periods_per_window: float
    very_accurate: bool
    silence_threshold: float
    voicing_threshold: float
    octave_cost: float
    octave_jump_cost: float
    voiced_unvoiced_cost: float
    def __init__(self) -> None: ...

def pitch_frames(n_samples: int, params: PraatPitchParams) -> Tuple[int, float, float]: ...
def pitch(y: _Signals, params: PraatPitchParams, num_threads: int) -> Union[np.ndarray, List[np.ndarray]]: ...

_FormantTuple = Tuple[np.ndarray, np.ndarray, np.ndarray]

def formants(
    y: _Signals, sr: float, time_step: float, max_number_of_formants: float, maximum_formant: float,
    window_length: float, pre_emphasis_from: float, num_threads: int,
) -> Union[_FormantTuple, List[_FormantTuple]]: ...
def lpc_burg(x: np.ndarray, order: int) -> Tuple[np.ndarray, float]: ...
def polynomial_roots(coefficients: np.ndarray) -> np.ndarray: ...

class VoiceReportParams:
    sample_rate: float
    from_time: float
    to_time: float
    period_floor: float
    period_ceiling: float
    max_period_factor: float
    max_amplitude_factor: float
    def __init__(self) -> None: ...

def check_voice_report_params(params: VoiceReportParams) -> None: ...
def point_process(
    y: _Signals, f0: _Signals, first_times: Sequence[float], time_steps: Sequence[float], sr: float,
    num_threads: int,
) -> List[np.ndarray]: ...
def voice_report(
    y: _Signals, f0: _Signals, first_times: Sequence[float], time_steps: Sequence[float],
    params: VoiceReportParams, num_threads: int,
) -> Dict[str, np.ndarray]: ...
def pyin(
    y: _Signals, sr: float, fmin: float, fmax: float, frame_length: int, hop_length: int,
    threshold_prior: np.ndarray, boltzmann_parameter: float, resolution: float, max_transition_rate: float,
    switch_prob: float, no_trough_prob: float, center: bool, pad_mode: str, num_threads: int,
) -> Union[np.ndarray, List[np.ndarray]]: ...
def pyin_viterbi(
    observation_probs: np.ndarray, n_pitch_bins: int, transition_width: int, switch_prob: float,
) -> np.ndarray: ...

EGEMAPS_LLD_NAMES: Tuple[str, ...]
def egemaps_framing(sr: float) -> Tuple[int, int, int, int]: ...
def egemaps_lld(
    y: _Signals, sr: float, smooth: bool, num_threads: int,
) -> Tuple[Union[np.ndarray, List[np.ndarray]], np.ndarray]: ...

class TransformerEncoder:
    @property
    def d_model(self) -> int: ...
    @property
    def input_dim(self) -> int: ...
    def __init__(
        self, state_dict: Dict[str, np.ndarray], num_layers: int, num_heads: int, norm_first: bool,
        activation: str, layer_norm_eps: float, positional: str,
    ) -> None: ...
    def forward(self, features: np.ndarray, key_padding_mask: Optional[np.ndarray], num_threads: int) -> np.ndarray: ...

def statistics_pooling(x: np.ndarray, key_padding_mask: Optional[np.ndarray], eps: float, num_threads: int) -> np.ndarray: ...
def attentive_statistics_pooling(
    x: np.ndarray, key_padding_mask: Optional[np.ndarray], state_dict: Dict[str, np.ndarray], eps: float,
    num_threads: int,
) -> np.ndarray: ...
def frame_attention_pooling(
    x: np.ndarray, key_padding_mask: Optional[np.ndarray], state_dict: Dict[str, np.ndarray], num_heads: int,
    num_threads: int,
) -> np.ndarray: ...

# ot.cpp
def sinkhorn(
    a: np.ndarray, b: np.ndarray, M: np.ndarray, reg: float, reg_m: float, method: str, numItermax: int,
    stopThr: float, epsilon_scaling: float, tau: float, n_sizes: Optional[np.ndarray],
    m_sizes: Optional[np.ndarray], num_threads: int,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def pairwise_cost(x: np.ndarray, y: np.ndarray, metric: str, num_threads: int) -> np.ndarray: ...
class PromptWeightsParams:
    temperature: float
    lambda_zs: float
    lambda_beta: float
    damping: float
    max_iter: int
    tol: float
    prune_rounds: int
    prune_fraction: float
    anchor_prompt: int
    per_sample: bool
    def __init__(self) -> None: ...

def prompt_weights(
    logits: np.ndarray, params: PromptWeightsParams, num_threads: int,
) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]: ...
def prompt_logits(audio_embeddings: np.ndarray, text_embeddings: np.ndarray, num_threads: int) -> np.ndarray: ...
def selective_scan(
    u: np.ndarray, delta: np.ndarray, A: np.ndarray, B: np.ndarray, C: np.ndarray, D: Optional[np.ndarray],
    z: Optional[np.ndarray], delta_bias: Optional[np.ndarray], delta_softplus: bool, num_threads: int,
) -> Tuple[np.ndarray, np.ndarray]: ...
def mamba_stack(
    weights: Dict[str, np.ndarray], x: np.ndarray, conv_state: Optional[np.ndarray], ssm_state: Optional[np.ndarray],
    lengths: Optional[np.ndarray], n_layer: int, d_inner: int, d_state: int, d_conv: int, dt_rank: int,
    norm_eps: float, combine: str, num_threads: int,
) -> Tuple[np.ndarray, Optional[np.ndarray], Optional[np.ndarray]]: ...
EGEMAPS_VOICE_NAMES: Tuple[str, ...]
def egemaps_voice(y: _Signals, sr: float, num_threads: int) -> Union[np.ndarray, List[np.ndarray]]: ...
