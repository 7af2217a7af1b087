# lib/gateway: virtual keys hash their secrets with OpenSSL's libcrypto (SHA-256,
# CRYPTO_memcmp). Gateway I may add its own lines here; keep this block as is.
find_package(OpenSSL REQUIRED)
list(APPEND MLOPS_DEPS OpenSSL::Crypto)
string(APPEND MLOPS_PC_REQUIRES " libcrypto")
