# lib/engine: the AVX2/FMA/F16C kernels get their instruction-set flags on their own file
# only; the rest of the library stays baseline x86-64 and picks kernels at run time.
if(CMAKE_SYSTEM_PROCESSOR MATCHES "^(x86_64|AMD64|amd64)$")
  set_source_files_properties(${MLOPS_MODULE_DIR}/quant_avx2.c
    PROPERTIES COMPILE_OPTIONS "-mavx2;-mfma;-mf16c")
endif()
