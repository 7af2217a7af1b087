module mlops-examples

go 1.19

require mlops v0.0.0

replace mlops => ../../bindings/go
