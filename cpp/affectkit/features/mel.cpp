#include "affectkit/features/mel.h"

#include <algorithm>
#include <cmath>

#include "affectkit/common/check.h"
#include "affectkit/common/thread_pool.h"
#include "affectkit/common/vector_math.h"
#include "affectkit/features/frame_blocks.h"

namespace affectkit {

template <typename T>
FilterBank<T> sparse_filterbank(const T* dense, std::int64_t n_bands, std::int64_t n_bins) {
  AK_CHECK(n_bands >= 1, "n_mels", "must be at least 1, got " << n_bands);
  check_finite(dense, n_bands * n_bins, "mel_basis");
  FilterBank<T> bank;
  bank.n_bands = n_bands;
  bank.n_bins = n_bins;
  for (std::int64_t m = 0; m < n_bands; ++m) {
    const T* row = dense + m * n_bins;
    std::int64_t begin = 0, end = n_bins;
    while (begin < n_bins && row[begin] == T(0)) ++begin;
    while (end > begin && row[end - 1] == T(0)) --end;
    bank.first.push_back(begin);
    bank.size.push_back(end - begin);
    bank.offset.push_back(static_cast<std::int64_t>(bank.weights.size()));
    bank.weights.insert(bank.weights.end(), row + begin, row + end);
  }
  return bank;
}

template <typename T>
void filterbank_spectrogram(const SignalBatch<T>& batch, const T* window, const StftParams& params,
                            T power, const FilterBank<T>& bank, const DecibelParams& db,
                            T* const* out, int num_threads) {
  AK_CHECK(std::isfinite(power) && power > 0, "power", "must be a positive number, got " << power);
  AK_CHECK(bank.n_bins == params.n_fft / 2 + 1, "mel_basis",
           "has " << bank.n_bins << " frequency bins but n_fft = " << params.n_fft << " gives "
                  << params.n_fft / 2 + 1);
  if (db.enabled) {
    AK_CHECK(db.amin > 0, "amin", "must be strictly positive, got " << db.amin);
    AK_CHECK(std::isfinite(db.ref), "ref", "must be finite, got " << db.ref);
  }
  // As librosa: in the input's precision, 10 * log10(max(amin, x)) - 10 * log10(max(amin, |ref|)).
  const T amin = static_cast<T>(db.amin);
  const T ref_db = static_cast<T>(10.0 * std::log10(std::max(db.amin, std::abs(db.ref))));
  detail::for_each_frame_block(
      batch, window, params, power, num_threads,
      [&](std::int64_t signal, std::int64_t frames, std::int64_t t0, std::int64_t count,
          const std::complex<T>* spectra, std::int64_t stride, T* magnitude) {
        // Power spectrum bin-major ([bin][frame]) so each band's weighted sum runs
        // over kFrameBlock contiguous frames at once, one SIMD register wide.
        constexpr std::int64_t B = detail::kFrameBlock;
        const std::int64_t bins = bank.n_bins;
        detail::block_power(spectra, stride, count, power, magnitude);
        T* by_bin = magnitude + B * stride;  // scratch holds 2 * kFrameBlock * stride
        for (std::int64_t f = 0; f < bins; ++f) {
          for (std::int64_t j = 0; j < B; ++j) by_bin[f * B + j] = j < count ? magnitude[j * stride + f] : T(0);
        }
        T* dst = out[signal] + t0;
        for (std::int64_t m = 0; m < bank.n_bands; ++m) {
          const T* w = bank.weights.data() + bank.offset[m];
          const T* s = by_bin + bank.first[m] * B;
          T sum[B] = {};
          for (std::int64_t k = 0; k < bank.size[m]; ++k) {
            for (std::int64_t j = 0; j < B; ++j) sum[j] += w[k] * s[k * B + j];
          }
          T* row = dst + m * frames;
          std::copy(sum, sum + count, row);
          if (db.enabled) power_to_db_inplace(row, count, amin, ref_db);
        }
      });
  if (!db.enabled || db.top_db < 0) return;
  // top_db needs each clip's maximum, known only once all its blocks are done.
  const T top_db = static_cast<T>(db.top_db);
  parallel_for(batch.count, num_threads, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const std::int64_t n = bank.n_bands * stft_num_frames(batch.lengths[i], params);
      T* values = out[i];
      const T floor = *std::max_element(values, values + n) - top_db;
      for (std::int64_t k = 0; k < n; ++k) values[k] = std::max(values[k], floor);
    }
  });
}

template FilterBank<float> sparse_filterbank<float>(const float*, std::int64_t, std::int64_t);
template FilterBank<double> sparse_filterbank<double>(const double*, std::int64_t, std::int64_t);
template void filterbank_spectrogram<float>(const SignalBatch<float>&, const float*,
                                            const StftParams&, float, const FilterBank<float>&,
                                            const DecibelParams&, float* const*, int);
template void filterbank_spectrogram<double>(const SignalBatch<double>&, const double*,
                                             const StftParams&, double, const FilterBank<double>&,
                                             const DecibelParams&, double* const*, int);

}  // namespace affectkit
