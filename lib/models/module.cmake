# lib/models: artifact hashes are SHA-256 from OpenSSL's libcrypto.
find_package(OpenSSL REQUIRED)
list(APPEND MLOPS_DEPS OpenSSL::Crypto)
string(APPEND MLOPS_PC_REQUIRES " libcrypto")
