# lib/guard: SHA-256 and HMAC (Base58Check wallet checksums, keyed pseudonyms) come
# from OpenSSL's libcrypto.
find_package(OpenSSL REQUIRED)
list(APPEND MLOPS_DEPS OpenSSL::Crypto)
string(APPEND MLOPS_PC_REQUIRES " libcrypto")
