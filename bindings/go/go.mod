module mlops

go 1.19
