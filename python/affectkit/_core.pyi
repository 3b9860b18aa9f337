# Type stub for the compiled numpy module (bindings/module.cpp). Use the public
# functions in affectkit instead; these take already-validated arguments.
from typing import List, Optional, Sequence, Tuple, Union

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
