#pragma once

#include <string>
#include <utility>
#include <vector>

namespace affectkit {

// Facts about this build of the core: version, compiler, SIMD, FFT backend, threads.
std::vector<std::pair<std::string, std::string>> build_info();

}  // namespace affectkit
