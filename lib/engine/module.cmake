# lib/engine: the SIMD kernels get their instruction-set flags on their own files only;
# the rest of the library stays baseline x86-64 and picks kernels at run time
# (quant_dispatch.c). quant_avx512.c recompiles quant_avx2.c with AVX-512 VL/BW/VNNI.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set_source_files_properties(${MLOPS_MODULE_DIR}/quant_avx2.c
    PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
  set_source_files_properties(${MLOPS_MODULE_DIR}/quant_avx512.c
    PROPERTIES COMPILE_OPTIONS
    "-mavx2;-mfma;-mf16c;-mavx512f;-mavx512vl;-mavx512bw;-mavx512vnni;-mprefer-vector-width=256")
endif()
