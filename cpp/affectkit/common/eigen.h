// Eigen, for the core's sources. GCC 12 flags Eigen's AVX-512 kernels
// (_mm512_undefined_*) as maybe-uninitialized, a known false positive (GCC bug
// 105593) reported where the kernels are instantiated, so the warning is off in
// every source that includes this header, and only there.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif

#include <Eigen/Core>
