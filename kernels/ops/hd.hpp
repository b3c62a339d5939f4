// SLUICE_HD: marks functions callable from host and device code (plain inline without nvcc).
#pragma once

#if defined(__CUDACC__)
#define SLUICE_HD __host__ __device__
#else
#define SLUICE_HD
#endif
