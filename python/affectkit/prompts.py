"""Zero-shot prompt ensembling for audio-language (CLAP-style) classification, and
entropy-aware score selection for the late fusion of two classifiers.

- :func:`entropy_weights`: learns, without labels, one weight per prompt template (per
  dataset or per sample) so that the weighted logits give confident predictions (El
  Khoury, Zanella et al., arXiv 2601.05011); solved in the C++ core.
- :func:`ensemble`: the baselines it is compared with (one template, mean of text
  embeddings, mean of logits, mean of probabilities, majority vote, per-sample
  minimum-entropy prompt).
- :func:`prompt_logits`: the zero-shot logits (cosine similarities) from embeddings.
- :class:`EntropyScoreSelector`: switches from model 1 to model 2 where model 1 is
  uncertain (high entropy, low varentropy), with thresholds per predicted class fitted
  on a labelled development set (Chua et al., arXiv 2508.20796).

See docs/prompts.md for the objective, the validation study and the chosen defaults.
"""

from __future__ import annotations

from typing import Any, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

from . import _core
from ._checks import as_float, as_int, num_threads as _num_threads

__all__ = ["ENSEMBLE_METHODS", "EntropyScoreSelector", "PromptWeights", "ensemble", "entropy_varentropy",
           "entropy_weights", "prompt_logits", "SimulatedZeroShot",
           "simulated_zero_shot"]

# The core's bound on |logits| / tau (prompt_weights.cpp): far beyond any real logit,
# and small enough that no product in the gradient overflows.
_MAX_SCALED_LOGIT = 1e100

ENSEMBLE_METHODS = ("template", "text_mean", "logit_mean", "prob_mean", "vote", "min_entropy")


class PromptWeights(NamedTuple):
    """Result of :func:`entropy_weights`."""

    weights: np.ndarray  # (P,) or (N, P) per sample, float64, on the simplex; 0 for pruned prompts
    predictions: np.ndarray  # (N, C) softmax(sum_j weights_j logits_j / tau), dtype of the logits
    objective: List[np.ndarray]  # J after each update, one array per solve (the first before any pruning)
    kept: np.ndarray  # bool, shape of weights: the prompts that survived pruning


def _float_array(name: str, value: Any, ndim: int) -> np.ndarray:
    if not isinstance(value, np.ndarray):
        raise TypeError(f"invalid argument '{name}': must be a numpy array, got {type(value).__name__}")
    if value.dtype.kind != "f" or value.dtype.itemsize not in (4, 8):
        raise TypeError(f"invalid argument '{name}': must be float32 or float64, got {value.dtype}")
    if value.ndim != ndim:
        raise ValueError(f"invalid argument '{name}': must have {ndim} dimensions, got shape {value.shape}")
    return value


def prompt_logits(audio_embeddings: np.ndarray, text_embeddings: np.ndarray, *,
                  num_threads: Optional[int] = None) -> np.ndarray:
    """Zero-shot logits of a CLAP-style model: cosine similarities of every audio clip
    with every prompt's class text, ``logits[i, j, c] = <a_i, t_jc> / (|a_i| |t_jc|)``
    (the model's logit scale is left out: it is ``1 / tau``).

    Parameters
    ----------
    audio_embeddings : ndarray (N, d)
        float32 or float64.
    text_embeddings : ndarray (P, C, d)
        Text embedding of class c written with prompt template j; dtype of the audio.
    num_threads : int, optional
        Threads; default all.

    Returns
    -------
    ndarray (N, P, C), dtype of the inputs.
    """
    _float_array("audio_embeddings", audio_embeddings, 2)
    _float_array("text_embeddings", text_embeddings, 3)
    return _core.prompt_logits(audio_embeddings, text_embeddings, _num_threads(num_threads))


def _logits(logits: Optional[np.ndarray], audio_embeddings: Optional[np.ndarray],
            text_embeddings: Optional[np.ndarray], num_threads: int) -> np.ndarray:
    """The (N, P, C) logits: given, or from the embeddings (exactly one of the two)."""
    if logits is not None:
        if audio_embeddings is not None or text_embeddings is not None:
            raise ValueError("invalid argument 'logits': give either logits or audio_embeddings and "
                             "text_embeddings, not both")
        return _float_array("logits", logits, 3)
    if audio_embeddings is None or text_embeddings is None:
        raise ValueError("invalid argument 'logits': give logits, or both audio_embeddings and text_embeddings")
    return prompt_logits(audio_embeddings, text_embeddings, num_threads=num_threads)


def entropy_weights(
    logits: Optional[np.ndarray] = None,
    *,
    audio_embeddings: Optional[np.ndarray] = None,
    text_embeddings: Optional[np.ndarray] = None,
    tau: float = 0.01,
    mode: str = "dataset",
    anchor: str = "mean",
    template: int = 0,
    lambda_zs: float = 0.1,
    lambda_beta: Optional[float] = None,
    damping: float = 0.5,
    max_iter: int = 50,
    tol: float = 1e-6,
    prune_rounds: int = 0,
    prune_fraction: float = 0.25,
    num_threads: Optional[int] = None,
) -> PromptWeights:
    """Prompt weights by prediction entropy (El Khoury, Zanella et al., arXiv 2601.05011).

    With logits ``L`` (N samples, P prompts, C classes), weighted logits
    ``l_i = sum_j beta_j L_ij``, predictions ``p_i = softmax(l_i / tau)`` and the anchor
    ``yhat_i`` (the zero-shot prediction ``softmax(a_i / tau)``, ``a_i`` the logits of
    prompt ``template`` when ``anchor="template"`` or the mean of all prompts' logits
    when ``anchor="mean"``), the weights ``beta`` minimise on the probability simplex::

        J(beta) = mean_i [ H(p_i) + lambda_zs * KL(yhat_i || p_i) ] - lambda_beta * H(beta)

    Stationarity on the simplex gives ``beta ∝ exp(-g / lambda_beta)`` with ``g =
    dJ_data / dbeta``; from the uniform weights, the damped update ``beta <- (1 -
    damping) beta + damping softmax(-g / lambda_beta)`` runs until ``max |change| <
    tol`` or ``max_iter`` updates. Each pass over the logits computes ``g`` and ``J``
    together, in float64, samples in parallel (results do not depend on the threads).
    Pruning: after a solve, ``floor(prune_fraction * P_kept)`` lowest-weight prompts are
    dropped (at most all but one; ties drop the lower index) and the weights are solved
    again from uniform on the survivors, ``prune_rounds`` times (fewer if nothing is left
    to drop). The anchor stays the one computed from all prompts.

    The defaults (per dataset, anchored on the mean of the prompts' logits, ``lambda_zs =
    0.1``, ``lambda_beta * tau = 0.002``, damping 0.5, no pruning) won the validation study
    in docs/prompts.md: anchoring on the single template pulls beta onto it and loses to
    the plain mean of logits; the per-sample mode rarely converges (the damped update
    cycles) and gains nothing there; pruning did not help on average.

    Parameters
    ----------
    logits : ndarray (N, P, C), optional
        float32 or float64, finite; e.g. cosine similarities from :func:`prompt_logits`.
        Or give ``audio_embeddings`` (N, d) and ``text_embeddings`` (P, C, d) instead.
    tau : float
        Temperature (> 0): 0.01 for cosine similarities, 1 for logits that already
        include a CLAP model's logit scale (about 100).
    mode : {"dataset", "sample"}
        One beta for all samples (or a batch), or one per sample (each sample's own J).
    anchor : {"template", "mean"}
        What the zero-shot term ``KL(yhat || p)`` anchors to.
    template : int
        Index of the standard template ("This is a sound of {}.") for ``anchor="template"``.
    lambda_zs : float
        Weight of the zero-shot term (>= 0; 0 drops it).
    lambda_beta : float, optional
        Weight of the entropy of beta (> 0); default ``0.002 / tau`` (``g`` scales as 1/tau).
    damping : float
        ``eta`` in (0, 1].
    max_iter, tol :
        Updates per solve and the stopping tolerance on ``max |change of beta|``.
    prune_rounds, prune_fraction :
        Pruning rounds (0: none) and the share of kept prompts dropped per round, in [0, 1).
    num_threads : int, optional
        Threads; default all.

    Returns
    -------
    PromptWeights
        ``(weights, predictions, objective, kept)``: weights (P,) or (N, P) float64;
        predictions (N, C) in the dtype of the logits; one objective trace per solve
        (``J(beta_0), ..., J(beta_final)``; per sample, the mean over samples, a converged
        sample keeping its last value); kept, a bool mask of the surviving prompts.
    """
    threads = _num_threads(num_threads)
    L = _logits(logits, audio_embeddings, text_embeddings, threads)
    params = _core.PromptWeightsParams()
    params.temperature = _temperature(tau)
    if mode not in ("dataset", "sample"):
        raise ValueError(f"invalid argument 'mode': must be 'dataset' or 'sample', got {mode!r}")
    params.per_sample = mode == "sample"
    if anchor not in ("template", "mean"):
        raise ValueError(f"invalid argument 'anchor': must be 'template' or 'mean', got {anchor!r}")
    template = as_int("template", template, minimum=0, maximum=max(L.shape[1] - 1, 0))
    params.anchor_prompt = template if anchor == "template" else -1
    params.lambda_zs = as_float("lambda_zs", lambda_zs)
    params.lambda_beta = 0.002 / params.temperature if lambda_beta is None else as_float("lambda_beta", lambda_beta)
    params.damping = as_float("damping", damping)
    params.max_iter = as_int("max_iter", max_iter, minimum=0, maximum=2**62)
    params.tol = as_float("tol", tol)
    params.prune_rounds = as_int("prune_rounds", prune_rounds, minimum=0, maximum=2**62)
    params.prune_fraction = as_float("prune_fraction", prune_fraction)
    weights, kept, predictions, objective, lengths = _core.prompt_weights(L, params, threads)
    return PromptWeights(weights, predictions, np.split(objective, np.cumsum(lengths)[:-1]), kept)


def _temperature(tau: Any) -> float:
    tau = as_float("tau", tau)
    if not (np.isfinite(tau) and tau > 0):  # checked here too: the default lambda_beta divides by it
        raise ValueError(f"invalid argument 'tau': must be positive and finite, got {tau}")
    return tau


def _softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _entropy(p: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)


def ensemble(
    logits: Optional[np.ndarray] = None,
    *,
    method: str = "logit_mean",
    audio_embeddings: Optional[np.ndarray] = None,
    text_embeddings: Optional[np.ndarray] = None,
    tau: float = 0.01,
    template: int = 0,
    num_threads: Optional[int] = None,
) -> np.ndarray:
    """Class probabilities (N, C) of the prompt-ensembling baselines.

    With ``p_ij = softmax(L_ij / tau)``, the prediction of sample i with prompt j:

    - ``"template"``: ``p_i,template`` (the standard template alone, zero-shot).
    - ``"text_mean"``: the mean over prompts of the L2-normalised text embeddings of each
      class, renormalised, as one prompt (CLIP's prompt ensembling); needs the embeddings.
    - ``"logit_mean"``: ``softmax(mean_j L_ij / tau)``.
    - ``"prob_mean"``: ``mean_j p_ij``.
    - ``"vote"``: the share of prompts whose argmax is each class (argmax of it: majority
      vote, ties to the lower class index).
    - ``"min_entropy"``: ``p_ij`` of the prompt with the lowest entropy for that sample
      (ties: the lower prompt index).

    Parameters
    ----------
    logits : ndarray (N, P, C), optional
        As in :func:`entropy_weights`; or ``audio_embeddings`` (N, d) and
        ``text_embeddings`` (P, C, d).
    method : str
        One of ``ENSEMBLE_METHODS``.
    tau : float
        Temperature (> 0).
    template : int
        Prompt index for ``"template"``.

    Returns
    -------
    ndarray (N, C), float64 probabilities (rows sum to 1).
    """
    if method not in ENSEMBLE_METHODS:
        raise ValueError(f"invalid argument 'method': must be one of {', '.join(map(repr, ENSEMBLE_METHODS))}, "
                         f"got {method!r}")
    tau = _temperature(tau)
    threads = _num_threads(num_threads)
    if method == "text_mean":
        if audio_embeddings is None or text_embeddings is None:
            raise ValueError("invalid argument 'method': 'text_mean' needs audio_embeddings and text_embeddings")
        _float_array("text_embeddings", text_embeddings, 3)
        if text_embeddings.shape[0] < 1 or text_embeddings.shape[1] < 2:
            raise ValueError(f"invalid argument 'text_embeddings': needs at least one prompt and two classes, "
                             f"got shape {text_embeddings.shape}")
        text = text_embeddings.astype(np.float64)
        if not np.all(np.isfinite(text)):
            raise ValueError("invalid argument 'text_embeddings': must be finite")
        peak = np.abs(text).max(axis=-1, keepdims=True, initial=0.0)
        if not np.all(peak > 0):
            raise ValueError("invalid argument 'text_embeddings': every embedding must have a non-zero norm")
        text = text / peak  # scaled first, so that the norms cannot overflow
        mean_text = (text / np.linalg.norm(text, axis=-1, keepdims=True)).mean(axis=0)[None]  # (1, C, d)
        logits = prompt_logits(audio_embeddings, mean_text.astype(text_embeddings.dtype), num_threads=threads)
        audio_embeddings = text_embeddings = None
        method, template = "template", 0
    L = _logits(logits, audio_embeddings, text_embeddings, threads)
    N, P, C = L.shape
    if P < 1 or C < 2:
        raise ValueError(f"invalid argument 'logits': needs at least one prompt and two classes, got shape {L.shape}")
    if not np.all(np.isfinite(L)):
        raise ValueError("invalid argument 'logits': must be finite")
    largest = float(np.abs(L).max(initial=0.0)) / tau
    if largest > _MAX_SCALED_LOGIT:
        raise ValueError(f"invalid argument 'logits': logits / tau must stay below {_MAX_SCALED_LOGIT:g} in "
                         f"magnitude, got {largest:g}")
    template = as_int("template", template, minimum=0, maximum=P - 1)
    L = L.astype(np.float64, copy=False)
    # One prompt at a time: O(N C) memory however many prompts there are.
    if method == "template":
        return _softmax(L[:, template] / tau)
    if method == "logit_mean":
        return _softmax(L.mean(axis=1) / tau)
    result = np.zeros((N, C))
    best = np.full(N, np.inf)
    for j in range(P):
        p = _softmax(L[:, j] / tau)
        if method == "prob_mean":
            result += p / P
        elif method == "vote":
            result[np.arange(N), p.argmax(axis=1)] += 1.0 / P
        else:  # min_entropy
            h = _entropy(p)
            better = h < best
            best[better] = h[better]
            result[better] = p[better]
    return result


def entropy_varentropy(probabilities: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Entropy ``H = -sum_c p_c log p_c`` and varentropy ``V = sum_c p_c (log p_c + H)^2``
    (the variance of the surprisal ``-log p``) of each row of (N, C) probabilities, in nats."""
    p = _probabilities("probabilities", probabilities)
    with np.errstate(divide="ignore", invalid="ignore"):
        log_p = np.where(p > 0, np.log(np.where(p > 0, p, 1.0)), 0.0)
    h = -(p * log_p).sum(axis=1)
    v = (p * (log_p + h[:, None]) ** 2).sum(axis=1)
    return h, np.maximum(v, 0.0)


def _probabilities(name: str, value: Any, classes: Optional[int] = None) -> np.ndarray:
    p = np.asarray(_float_array(name, value, 2), dtype=np.float64)
    if p.shape[1] < 2:
        raise ValueError(f"invalid argument '{name}': needs at least two classes, got shape {p.shape}")
    if classes is not None and p.shape[1] != classes:
        raise ValueError(f"invalid argument '{name}': must have {classes} classes, got shape {p.shape}")
    if not np.all(np.isfinite(p)) or np.any(p < 0):
        raise ValueError(f"invalid argument '{name}': must be finite and non-negative")
    if not np.allclose(p.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError(f"invalid argument '{name}': rows must sum to 1 (probabilities, not logits)")
    return p


class EntropyScoreSelector:
    """Entropy-aware score selection (Chua et al., arXiv 2508.20796): keep model 1's
    decision unless it is uncertain -- entropy ``H >= theta_H[c]`` and varentropy ``V <=
    theta_V[c]``, ``c`` model 1's predicted class -- and then take model 2's.

    Model 2 may predict other classes: ``class_map[c]`` is model 2's class that model 1's
    class ``c`` belongs to (e.g. emotions angry, sad, happy, neutral -> sentiments
    negative 0, negative 0, positive 2, neutral 1: ``class_map=[0, 0, 2, 1]``). A switched
    sample then gets model 1's most probable class among those that map to model 2's
    predicted class (model 1's own prediction when none does). Without ``class_map``
    both models predict the same classes and a switch takes model 2's argmax.

    ``fit`` chooses, for each predicted class separately, the pair of thresholds that
    maximises the accuracy of the fused decisions on a labelled development set: a grid
    of the quantiles of H and V among the samples predicted as that class, plus "never
    switch" (which wins ties, then the fewest switches).

    Attributes after ``fit``: ``theta_h_`` and ``theta_v_`` (C,), ``inf`` / ``-inf``
    where the class never switches.
    """

    def __init__(self, class_map: Optional[Sequence[int]] = None, n_grid: int = 20):
        self.class_map = None if class_map is None else np.asarray(class_map)
        if self.class_map is not None and (self.class_map.ndim != 1 or self.class_map.dtype.kind not in "iu"
                                           or np.any(self.class_map < 0)):
            raise ValueError(f"invalid argument 'class_map': must be a 1-D array of non-negative class indices, "
                             f"got {class_map!r}")
        self.n_grid = as_int("n_grid", n_grid, minimum=1, maximum=10**4)

    def _decisions(self, p1: np.ndarray, p2: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """Model 1's and model 2's decisions in model 1's classes, and H, V of model 1."""
        C = p1.shape[1]
        p2 = _probabilities("probabilities_2", p2, C if self.class_map is None else None)
        if p2.shape[0] != p1.shape[0]:
            raise ValueError(f"invalid argument 'probabilities_2': must have {p1.shape[0]} rows, got {p2.shape[0]}")
        first = p1.argmax(axis=1)
        if self.class_map is None:
            return first, p2.argmax(axis=1)
        if self.class_map.shape[0] != C or np.any(self.class_map >= p2.shape[1]):
            raise ValueError(f"invalid argument 'class_map': needs one class of model 2 (< {p2.shape[1]}) for "
                             f"each of model 1's {C} classes, got {self.class_map.tolist()}")
        allowed = self.class_map[None, :] == p2.argmax(axis=1)[:, None]  # (N, C)
        restricted = np.where(allowed, p1, -1.0).argmax(axis=1)
        return first, np.where(allowed.any(axis=1), restricted, first)

    def fit(self, probabilities_1: np.ndarray, probabilities_2: np.ndarray, labels: np.ndarray
            ) -> "EntropyScoreSelector":
        """Fits the per-class thresholds on a development set: model 1's and model 2's
        probabilities (N, C1) and (N, C2), and the true classes (N,) in model 1's classes."""
        p1 = _probabilities("probabilities_1", probabilities_1)
        first, second = self._decisions(p1, probabilities_2)
        labels = np.asarray(labels)
        if labels.shape != (p1.shape[0],) or labels.dtype.kind not in "iu":
            raise ValueError(f"invalid argument 'labels': must be {p1.shape[0]} integer classes, got "
                             f"{labels.dtype} of shape {labels.shape}")
        h, v = entropy_varentropy(p1)
        C = p1.shape[1]
        self.theta_h_ = np.full(C, np.inf)
        self.theta_v_ = np.full(C, -np.inf)
        quantiles = np.linspace(0, 1, self.n_grid + 1)
        for c in range(C):
            rows = first == c
            if not rows.any():
                continue
            gain = (second[rows] == labels[rows]).astype(int) - (first[rows] == labels[rows])
            best = (0, 0)  # (accuracy gain, -switches): never switching
            for theta_h in np.quantile(h[rows], quantiles):
                for theta_v in np.quantile(v[rows], quantiles):
                    switch = (h[rows] >= theta_h) & (v[rows] <= theta_v)
                    score = (int(gain[switch].sum()), -int(switch.sum()))
                    if score > best:
                        best = score
                        self.theta_h_[c], self.theta_v_[c] = theta_h, theta_v
        return self

    def switches(self, probabilities_1: np.ndarray) -> np.ndarray:
        """(N,) bool: where model 1 is uncertain enough to take model 2's decision."""
        if not hasattr(self, "theta_h_"):
            raise ValueError("invalid argument 'self': call fit first")
        p1 = _probabilities("probabilities_1", probabilities_1, self.theta_h_.shape[0])
        h, v = entropy_varentropy(p1)
        c = p1.argmax(axis=1)
        return (h >= self.theta_h_[c]) & (v <= self.theta_v_[c])

    def apply(self, probabilities_1: np.ndarray, probabilities_2: np.ndarray) -> np.ndarray:
        """(N,) fused class decisions, in model 1's classes."""
        switch = self.switches(probabilities_1)
        first, second = self._decisions(np.asarray(probabilities_1, dtype=np.float64), probabilities_2)
        return np.where(switch, second, first)


class SimulatedZeroShot(NamedTuple):
    """Result of :func:`simulated_zero_shot`."""

    audio_embeddings: np.ndarray  # (N, dim)
    text_embeddings: np.ndarray  # (P, C, dim)
    labels: np.ndarray  # (N,) true classes
    good: np.ndarray  # (P,) bool: the prompts written like the classes' true descriptions
    kind: np.ndarray  # (P,) str: "good", "noisy" or "biased"


def simulated_zero_shot(n_samples: int = 2000, n_prompts: int = 24, n_classes: int = 10, *, dim: int = 64,
                        n_good: int = 6, n_biased: int = 6, audio_noise: float = 1.2, good_noise: float = 0.4,
                        noisy_noise: float = 1.5, bias: float = 0.6, gap: float = 1.0, seed: int = 0
                        ) -> SimulatedZeroShot:
    """CLAP-like embeddings with a known set of good prompts, for validating prompt
    ensembling (the study in benchmarks/study_prompts.py and the tests).

    Each class has a random unit direction ``u_c``; audio and text share a modality gap
    (a constant offset ``gap * m_audio`` on every audio embedding and ``gap * m_text`` on
    every text embedding, as in CLAP's cone effect). Sample i of class y_i is
    ``u_y + audio_noise * xi_i``. Prompt 0 (the standard template) and the next
    ``n_good - 1`` are good: ``u_c + good_noise * eps_jc``; the next ``n_biased`` are
    biased: good ones that also lean towards one class k_j for every clip (``+ bias *
    (m_audio + mean_c u_c)`` on class k_j, confident wrong predictions); the rest are
    noisy: ``u_c + noisy_noise * eps_jc``. All embeddings are L2-normalised.
    """
    n_samples = as_int("n_samples", n_samples, minimum=1, maximum=10**8)
    n_prompts = as_int("n_prompts", n_prompts, minimum=1, maximum=10**6)
    n_classes = as_int("n_classes", n_classes, minimum=2, maximum=10**6)
    dim = as_int("dim", dim, minimum=1, maximum=10**6)
    n_good = as_int("n_good", n_good, minimum=1, maximum=n_prompts)
    n_biased = as_int("n_biased", n_biased, minimum=0, maximum=n_prompts - n_good)
    rng = np.random.default_rng(as_int("seed", seed, minimum=0))

    def unit(x: np.ndarray) -> np.ndarray:
        return x / np.linalg.norm(x, axis=-1, keepdims=True)

    u = unit(rng.standard_normal((n_classes, dim)))
    m_audio, m_text = unit(rng.standard_normal((2, dim)))
    labels = rng.integers(0, n_classes, n_samples)
    audio = unit(u[labels] + audio_noise * rng.standard_normal((n_samples, dim)) / np.sqrt(dim) + gap * m_audio)
    kind = np.array(["good"] * n_good + ["biased"] * n_biased + ["noisy"] * (n_prompts - n_good - n_biased))
    noise = np.where(kind == "noisy", noisy_noise, good_noise)[:, None, None]
    text = u[None] + noise * rng.standard_normal((n_prompts, n_classes, dim)) / np.sqrt(dim) + gap * m_text
    lean = unit(m_audio + u.mean(axis=0))
    for j in np.flatnonzero(kind == "biased"):
        text[j, rng.integers(n_classes)] += bias * lean
    return SimulatedZeroShot(audio, unit(text), labels, kind == "good", kind)


# ----------------------------------------------------------------------------------
# Readable NumPy reference of the solver (the tests compare the core with it).


def _reference_objective(logits: np.ndarray, beta: np.ndarray, anchor: np.ndarray, tau: float, lambda_zs: float,
                         lambda_beta: float) -> Tuple[np.ndarray, np.ndarray]:
    """J and g = dJ_data/dbeta at beta: (scalar, (P,)) for beta (P,), or per sample
    ((N,), (N, P)) for beta (N, P). anchor: the (N, C) probabilities yhat."""
    B = np.broadcast_to(beta, logits.shape[:2])
    z = np.einsum("npc,np->nc", logits, B) / tau
    log_p = z - z.max(axis=1, keepdims=True)
    log_p -= np.log(np.exp(log_p).sum(axis=1, keepdims=True))
    p = np.exp(log_p)
    h = -(p * log_p).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        kl = np.where(anchor > 0, anchor * (np.log(anchor) - log_p), 0.0).sum(axis=1)
    dz = -p * (log_p + h[:, None]) + lambda_zs * (p - anchor)  # dJ_i/dz
    g = np.einsum("npc,nc->np", logits, dz) / tau
    h_beta = _entropy(beta)
    if beta.ndim == 2:
        return h + lambda_zs * kl - lambda_beta * h_beta, g
    return np.mean(h + lambda_zs * kl) - lambda_beta * h_beta, g.mean(axis=0)


def _reference_entropy_weights(logits: np.ndarray, tau: float = 0.01, mode: str = "dataset",
                               anchor: str = "mean", template: int = 0, lambda_zs: float = 0.1,
                               lambda_beta: Optional[float] = None, damping: float = 0.5, max_iter: int = 50,
                               tol: float = 1e-6, prune_rounds: int = 0, prune_fraction: float = 0.25
                               ) -> PromptWeights:
    """:func:`entropy_weights` as straight NumPy (float64; all samples at once in the
    per-sample mode, each stopping when its own change is below tol)."""
    L = np.asarray(logits, dtype=np.float64)
    N, P, C = L.shape
    lambda_beta = 0.002 / tau if lambda_beta is None else lambda_beta
    yhat = _softmax((L[:, template] if anchor == "template" else L.mean(axis=1)) / tau)
    per_sample = mode == "sample"
    kept = np.ones((N, P) if per_sample else P, dtype=bool)
    drops, count = [], P
    for _ in range(prune_rounds):
        drop = min(int(np.floor(prune_fraction * count)), count - 1)
        if drop <= 0:
            break
        drops.append(drop)
        count -= drop
    traces = []
    for solve in range(len(drops) + 1):
        if solve > 0:  # drop the lowest weights, ties by index: a stable sort of (weight, index)
            order = np.argsort(np.where(kept, beta, np.inf), axis=-1, kind="stable")[..., :drops[solve - 1]]
            np.put_along_axis(kept, order, False, axis=-1)
        beta = kept / kept.sum(axis=-1, keepdims=True)
        J, g = _reference_objective(L, beta, yhat, tau, lambda_zs, lambda_beta)
        trace, active = [J], np.ones(N if per_sample else 1, dtype=bool)
        for _ in range(max_iter):
            target = np.where(kept, -g / lambda_beta, -np.inf)
            target = _softmax(target)
            updated = (1 - damping) * beta + damping * target
            change = np.abs(updated - beta).max(axis=-1)
            if per_sample:  # converged samples keep their weights
                beta = np.where(active[:, None], updated, beta)
                newly_done = active & (change < tol)
            else:
                beta, newly_done = updated, np.array([change < tol])
            J, g = _reference_objective(L, beta, yhat, tau, lambda_zs, lambda_beta)
            trace.append(J)
            active &= ~newly_done
            if not active.any():
                break
        traces.append(np.array([np.mean(j) for j in trace]))
    predictions = _softmax(np.einsum("npc,np->nc", L, np.broadcast_to(beta, (N, P))) / tau)
    return PromptWeights(beta, predictions, traces, kept)
