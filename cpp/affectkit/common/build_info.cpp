#include "affectkit/common/build_info.h"

#include "affectkit/common/fft.h"
#include "affectkit/common/thread_pool.h"

namespace affectkit {
namespace {

std::string simd_flags() {
  std::string flags;
  auto add = [&flags](const char* name) { flags += flags.empty() ? name : std::string(" ") + name; };
#if defined(__SSE2__)
  add("SSE2");
#endif
#if defined(__SSE4_2__)
  add("SSE4.2");
#endif
#if defined(__AVX__)
  add("AVX");
#endif
#if defined(__AVX2__)
  add("AVX2");
#endif
#if defined(__FMA__)
  add("FMA");
#endif
#if defined(__AVX512F__)
  add("AVX512F");
#endif
#if defined(__ARM_NEON)
  add("NEON");
#endif
  return flags.empty() ? "none" : flags;
}

std::string compiler() {
#if defined(__clang__)
  return "clang " __clang_version__;
#elif defined(__GNUC__)
  return "gcc " __VERSION__;
#else
  return "unknown";
#endif
}

}  // namespace

std::vector<std::pair<std::string, std::string>> build_info() {
  return {
      {"version", AFFECTKIT_VERSION},
      {"compiler", compiler()},
      {"cxx_standard", std::to_string(__cplusplus)},
      {"arch_flags", AFFECTKIT_ARCH_FLAGS[0] ? AFFECTKIT_ARCH_FLAGS : "(portable)"},
      {"simd", simd_flags()},
      {"fft_backend", fft_backend()},
      {"hardware_threads", std::to_string(hardware_threads())},
  };
}

}  // namespace affectkit
