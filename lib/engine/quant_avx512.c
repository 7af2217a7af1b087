/*
 * The AVX2 kernels of quant_avx2.c rebuilt with AVX-512 VL/BW/VNNI (this file alone gets
 * those flags, see module.cmake): the u8 x s8 dot products become vpdpbusd on 256-bit
 * vectors and the compiler has 32 vector registers for the tiles. vpdpbusd groups the
 * same 4 bytes per int32 lane as maddubs + madd, so results equal the AVX2 ones bit for
 * bit. Chosen at run time only on CPUs (and OSes) with AVX-512 state enabled.
 */
#if defined(__x86_64__)
#define MLOPS_Q_VNNI 1
#include "quant_avx2.c"
#else
typedef int mlops__quant_avx512_unused; /* not an x86-64 build */
#endif
