"""A readable NumPy twin of the core's eGeMAPS F0 (cpp/affectkit/features/egemaps_voice.cpp):
openSMILE's cSpecScale + cPitchShs + cPitchSmootherViterbi chain as its source computes it.
Slow (Python loops); for the differential test only."""

import numpy as np

from affectkit import _core

def gauss_window(n, sigma=0.4):
    i = np.arange(n, dtype=np.float64)
    t = (i - (n - 1) / 2.0) / (sigma * (n - 1) / 2.0)
    return np.exp(-0.5 * t * t)

def natural_spline_y2(x, y):
    n = len(x); y2 = np.zeros(n); u = np.zeros(n)
    for i in range(1, n - 1):
        sig = (x[i] - x[i-1]) / (x[i+1] - x[i-1])
        p = sig * y2[i-1] + 2.0
        y2[i] = (sig - 1.0) / p
        u[i] = (y[i+1] - y[i]) / (x[i+1] - x[i]) - (y[i] - y[i-1]) / (x[i] - x[i-1])
        u[i] = (6.0 * u[i] / (x[i+1] - x[i-1]) - sig * u[i-1]) / p
    y2[n-1] = 0.0
    for k in range(n - 2, -1, -1):
        y2[k] = y2[k] * y2[k+1] + u[k]
    return y2

def splint(xa, ya, y2a, x):
    khi = np.searchsorted(xa, x, side="right")
    khi = np.clip(khi, 1, len(xa) - 1); klo = khi - 1
    h = xa[khi] - xa[klo]
    a = (xa[khi] - x) / h; b = (x - xa[klo]) / h
    return a * ya[klo] + b * ya[khi] + ((a**3 - a) * y2a[klo] + (b**3 - b) * y2a[khi]) * h * h / 6.0

def spec_enhance(a):
    n = len(a); a = a.copy()
    pos = []
    if a[0] > a[1]: pos.append(0)
    for i in range(1, n - 1):
        if a[i] > a[i-1] and a[i] >= a[i+1]: pos.append(i)
    if a[n-1] > a[n-2]: pos.append(n - 1)
    if len(pos) == 1:
        a[3:] = 0.0  # openSMILE reads posmax[1] (0) here
    else:
        for i in range(1, len(pos)):
            lo, hi = pos[i-1] + 3, pos[i] - 3
            if hi >= lo: a[lo:hi+1] = 0.0
    return a

def spec_smooth(a):
    a = a.copy(); prev = 0.0
    for i in range(len(a) - 1):
        ai = a[i]; a[i] = (prev + 2.0 * ai + a[i+1]) / 4.0; prev = ai
    return a

def octave_spectrum(mag, sr, n_fft):
    n = len(mag)
    fs_sec = np.float32(0.060 * (n_fft / _core.egemaps_framing(sr)[2]))  # configured 60 ms, not length / sr
    df = 1.0 / float(fs_sec)
    max_f = df * (n - 1); min_f = 25.0
    f_t = np.empty(n); f_t[1:] = np.log2(np.arange(1, n) * df); f_t[0] = 2 * f_t[1] - f_t[2]
    fmin_t, fmax_t = np.log2(min_f), np.log2(max_f)
    x = fmin_t + np.arange(n) * ((fmax_t - fmin_t) / (n - 1))
    y = spec_smooth(spec_enhance(mag))
    out = splint(f_t, y, natural_spline_y2(f_t, y), x)
    n_oct = np.log2(max_f / min_f); ppo = n / n_oct
    atan_s = ppo * np.log2(65.0 / 50.0) - 1.0
    audw = 0.5 + np.arctan(3.0 * (np.arange(n) + 1 - atan_s) / ppo) / np.pi
    out = np.where(out > 0, out * audw, 0.0)
    return out, fmin_t, (fmax_t - fmin_t) / (n - 1), ppo

def quad3(x1, y1, x2, y2, x3, y3):
    den = x1*x1*x2 + x2*x2*x3 + x3*x3*x1 - x3*x3*x2 - x2*x2*x1 - x1*x1*x3
    if den != 0:
        a = (y1*x2 + y2*x3 + y3*x1 - y3*x2 - y2*x1 - y1*x3) / den
        b = (x1*x1*y2 + x2*x2*y3 + x3*x3*y1 - x3*x3*y2 - x2*x2*y1 - x1*x1*y3) / den
        c = (x1*x1*x2*y3 + x2*x2*x3*y1 + x3*x3*x1*y2 - x3*x3*x2*y1 - x2*x2*x1*y3 - x1*x1*x3*y2) / den
        if a != 0:
            x = -b / (2*a); return x, c - a*x*x
    if y1 > y2 and y1 > y3: return x1, y1
    if y2 > y1 and y2 > y3: return x2, y2
    if y3 > y1 and y3 > y2: return x3, y3
    return x1, y1

def shs_candidates(spec, fmin_t, fstep, ppo, n_harm=15, comp=0.85, n_cand=6, min_pitch=55.0, max_pitch=1000.0):
    N = len(spec); ss = spec.copy(); scale = comp
    for i in range(2, n_harm + 1):
        shift = int(np.floor(ppo * np.log2(i)))
        ss[:N-shift] += spec[shift:] * scale
        scale *= comp
    ss = np.maximum(ss / n_harm, 0.0)
    cand_i = [0.0]*n_cand; score = [0.0]*n_cand; n = 0
    for i in range(1, N - 1):
        if ss[i-1] < ss[i] and ss[i] > ss[i+1]:
            for j in range(n_cand):
                if score[j] == 0.0 or score[j] < ss[i]:
                    cand_i[j+1:] = cand_i[j:-1]; score[j+1:] = score[j:-1]
                    cand_i[j] = i; score[j] = ss[i]; n = min(n + 1, n_cand); break
    mean = ss.mean()
    f0 = [0.0]*n_cand; voice = [0.0]*n_cand; sc = [0.0]*n_cand
    for k in range(n):
        j = int(cand_i[k])
        x = [float(i) * float(fstep) + float(fmin_t) for i in (j - 1, j, j + 1)]  # the scale's float metadata, in double
        fx, s = quad3(x[0], ss[j-1], x[1], ss[j], x[2], ss[j+1])
        f0[k] = 2.0 ** fx; sc[k] = s
        voice[k] = 1.0 - mean / s if (s > 0 and s > mean) else 0.0
    # cPitchBase: drop candidates out of range, then the best score first
    i = 0
    while i < n_cand and n > 0:
        if f0[i] > max_pitch or f0[i] < min_pitch:
            orig = f0[i]
            f0 = f0[:i] + f0[i+1:] + [0.0]; voice = voice[:i] + voice[i+1:] + [0.0]; sc = sc[:i] + sc[i+1:] + [0.0]
            if orig > 0: n -= 1; i -= 1
        i += 1
    m = int(np.argmax(sc))
    if m > 0:
        f0[0], f0[m] = f0[m], f0[0]; voice[0], voice[m] = voice[m], voice[0]; sc[0], sc[m] = sc[m], sc[0]
    return np.array(f0), np.array(voice), np.array(sc), n

def fweight(f):
    if 0 < f < 100: return -f / 100.0 + 1.0
    if 100 <= f < 350: return 0.0
    if 350 <= f < 600: return (f - 350.0) / 250.0
    if f >= 600: return 1.2
    return 2.0

def viterbi(F, V, thresh=0.7, buflen=40, wLocal=2.0, wTvv=10.0, wTvuv=10.0, wThr=4.0, wRange=1.0, wTuu=0.0):
    wTvvd = wTvv  # setWeights copies tvv into tvvd
    T, C = F.shape; S = C + 1
    def local(t, i):
        if i < S - 1:
            pv = min(max(V[t, i], 0.01), 1.0)
            thr = wThr if pv < thresh else 0.0
            return (-np.log(pv) + thr) * wLocal + fweight(F[t, i]) * wRange
        flag = wThr if np.any(V[t] >= thresh) else 0.0
        return wLocal * flag
    last_change = [1.0]
    def trans(i, j, t):  # j: previous state, i: current
        if i < S - 1 and j < S - 1:
            f0, f1 = F[t-1, j], F[t, i]
            if f0 == 0 or f1 == 0: return 999.0
            r = np.log(f1 / f0)
            x = wTvv * abs(r) + wTvvd * abs(r - last_change[0]); last_change[0] = r
            return x
        if (i == S - 1) != (j == S - 1):
            last_change[0] = 0.0; return wTvuv
        return 1.0  # u->u: openSMILE's (i == j == nStates-1) test never holds
    costs = np.array([local(0, i) for i in range(S)])
    paths = [[i] for i in range(S)]  # full histories
    best = [None] * T; conv = -1
    for t in range(1, T + 1):
        if t < T:
            new_costs = np.empty(S); new_paths = []
            for i in range(S):
                cand = [trans(i, j, t) + costs[j] for j in range(S)]
                m = int(np.argmin(cand))  # first minimum
                new_costs[i] = cand[m] + local(t, i); new_paths.append(paths[m] + [i])
            costs, paths = new_costs, new_paths
            path_len = t + 1
            if path_len - conv > buflen:
                m = int(np.argmin(costs)); conv += 1; best[conv] = paths[m][conv]
            else:
                for n in range(conv + 1, path_len):
                    x = paths[0][n]
                    if all(p[n] == x for p in paths): conv += 1; best[conv] = x
                    else: break
    m = int(np.argmin(costs))
    for n in range(conv + 1, T): best[n] = paths[m][n]
    out = np.array([F[t, s] if s < S - 1 else 0.0 for t, s in enumerate(best)])
    return out


def f0_semitones(y, sr):
    """F0 in semitones above 27.5 Hz per 60 ms frame (0 unvoiced), as egemaps_voice's row 0."""
    _, hop, length, _ = _core.egemaps_framing(sr)
    n_fft = 1 << (length - 1).bit_length()
    count = (len(y) - length) // hop + 1
    frames = np.stack([y[t * hop:t * hop + length] for t in range(count)]) * gauss_window(length)
    magnitude = np.abs(np.fft.rfft(frames, n_fft))
    F, V = [], []
    for t in range(count):
        spec, fmin_t, fstep, ppo = octave_spectrum(magnitude[t], sr, n_fft)
        f, v, _, _ = shs_candidates(spec, np.float32(fmin_t), np.float32(fstep), ppo)
        F.append(f)
        V.append(v)
    hz = viterbi(np.array(F), np.array(V), thresh=float(np.float32(0.7)))
    hz = np.where(np.sqrt(np.mean(frames ** 2, axis=1)) < 0.001, 0.0, hz)
    return np.where(hz > 29.136, 12 * np.log2(np.maximum(hz, 1e-9) / 27.5), np.where(hz > 0, 1.0, 0.0))
